#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP/2 from clients (docs/http2.md): curl --http2 over TLS (ALPN h2,
# certificates made here) and curl --http2-prior-knowledge on an h2c
# listener; every per-request feature per stream: routing on :authority and
# the normalized :path, strip_prefix, request_headers, respond, api-key
# auth (401), a rate limit whose 429 ends the stream only, X-Forwarded-For,
# X-Request-Id, traceparent, request bodies with and without
# content-length, a big chunked response, the access log ("HTTP/2") and the
# metrics; a plain listener without h2c still refuses the preface (505);
# a bounded h2load run (many streams on few connections); SIGTERM drains
# a stream in flight.
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init l7h2
it_gwd_setup 1 openssl curl
D=$IT_TMP
it_l7_backends 120

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=api.test -addext subjectAltName=DNS:api.test \
	-keyout "$D/api.key" -out "$D/api.crt" >/dev/null 2>&1 || it_skip "openssl cannot make a cert"
APIKEY=k-$RANDOM$RANDOM
printf 'acme %s\n' "$(printf '%s' "$APIKEY" | sha256sum | cut -d' ' -f1)" >"$D/keys.txt"

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  metrics: $GW:9100
  access_log: $D/access.log
tls:
  certificates:
    - { cert: $D/api.crt, key: $D/api.key }
  alpn: [h2, http/1.1]
listeners:
  - { name: https, address: "$GW:443", tls: true }
  - name: h2c
    address: "$GW:80"
    h2c: true
    http2: { max_concurrent_streams: 50, initial_window_size: 32k }
  - { name: plain, address: "$GW:81" }
upstreams:
  - { name: web, servers: [198.18.11.2:8080] }
auth:
  api_keys:
    - { name: partners, header: X-API-Key, keys: $D/keys.txt }
routes:
  - match: { path_exact: /healthz }
    respond: { status: 200, body: "ok\n" }
  - match: { host: other.test, path_prefix: / }
    respond: { status: 200, body: "other\n" }
  - match: { path_prefix: /api/ }
    upstream: web
    strip_prefix: true
    request_headers: { add: { X-Gateway: gw }, remove: [X-Debug] }
  - match: { path_prefix: /keyed/ }
    upstream: web
    strip_prefix: true
    auth: partners
  - match: { path_prefix: /limited/ }
    upstream: web
    strip_prefix: true
    rate_limit: { rate: 1/m, burst: 2, key: ip }
  - match: { path_prefix: / }
    upstream: web
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"

H2S=(curl -sS --http2 --cacert "$D/api.crt" --resolve "api.test:443:$GW" --max-time 10)
H2C=(curl -sS --http2-prior-knowledge --max-time 10)

# --- TLS with ALPN h2 -------------------------------------------------------------
out=$(cl "${H2S[@]}" -o /dev/null -w '%{http_version} %{http_code}' https://api.test/healthz)
[ "$out" = "2 200" ] || it_fail "TLS: not HTTP/2 200 ($out)"
out=$(cl "${H2S[@]}" -H 'X-Debug: 1' -H 'X-Request-Id: rid-42' 'https://api.test/api/a/../hello?x=1')
grep -q '^be1 GET /hello?x=1$' <<<"$out" || it_fail "TLS: routing/strip_prefix: $out"
grep -q '^X-Gateway: gw$' <<<"$out" || it_fail "TLS: request_headers.add: $out"
grep -qi '^X-Debug:' <<<"$out" && it_fail "TLS: request_headers.remove: $out"
grep -q '^X-Forwarded-For: 198.18.1.2$' <<<"$out" || it_fail "TLS: X-Forwarded-For: $out"
grep -q '^X-Forwarded-Proto: https$' <<<"$out" || it_fail "TLS: X-Forwarded-Proto: $out"
grep -qi "^X-Request-Id: rid-42$" <<<"$out" || it_fail "TLS: X-Request-Id kept: $out"
grep -qi '^traceparent: 00-' <<<"$out" || it_fail "TLS: traceparent: $out"
out=$(cl "${H2S[@]}" --http1.1 -o /dev/null -w '%{http_version}' https://api.test/healthz)
[ "$out" = "1.1" ] || it_fail "TLS: http/1.1 by ALPN: $out"
it_log "TLS: ALPN h2 (and http/1.1), routing, strip_prefix, fields, forwarding ids"

# --- h2c with prior knowledge ------------------------------------------------------
out=$(cl "${H2C[@]}" -o /dev/null -w '%{http_version} %{http_code}' "http://$GW/healthz")
[ "$out" = "2 200" ] || it_fail "h2c: not HTTP/2 200 ($out)"
out=$(cl "${H2C[@]}" -H 'Host: other.test' "http://$GW/x")
[ "$out" = other ] || it_fail "h2c: routing on :authority: $out"
out=$(cl "${H2C[@]}" "http://$GW/api/x")
grep -q '^X-Forwarded-Proto: http$' <<<"$out" || it_fail "h2c: X-Forwarded-Proto: $out"
grep -qi '^X-Request-Id: [0-9a-f]\{32\}$' <<<"$out" || it_fail "h2c: new X-Request-Id: $out"
out=$(cl "${H2C[@]}" -o /dev/null -w '%{http_code}' "http://$GW/nothing/../keyed/x")
[ "$out" = 401 ] || it_fail "h2c: auth without key: $out"
out=$(cl "${H2C[@]}" -H "X-API-Key: $APIKEY" "http://$GW/keyed/x")
grep -q '^be1 GET /x$' <<<"$out" || it_fail "h2c: auth with key: $out"
# POST bodies: with content-length, and without (streamed: chunked upstream)
head -c 100000 /dev/urandom >"$D/body"
want=$(sha256sum <"$D/body" | cut -d' ' -f1)
out=$(cl "${H2C[@]}" --data-binary @"$D/body" "http://$GW/sha")
[ "$out" = "be1 sha256=$want len=100000" ] || it_fail "h2c: body with content-length: $out"
out=$(cl "${H2C[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$D/body" "http://$GW/sha")
[ "$out" = "be1 sha256=$want len=100000" ] || it_fail "h2c: body without content-length: $out"
n=$(cl "${H2C[@]}" "http://$GW/big?n=300000" | wc -c)
[ "$n" = 300000 ] || it_fail "h2c: big chunked response: $n bytes"
out=$(cl "${H2S[@]}" --data-binary @"$D/body" "https://api.test/echo" | sha256sum | cut -d' ' -f1)
[ "$out" = "$want" ] || it_fail "TLS: echo of a 100 kB body differs"
# HTTP/1.1 on the h2c listener: a POST (its first byte is the preface's)
out=$(cl curl -sS --max-time 10 --data-binary @"$D/body" -w '%{http_version}' "http://$GW/sha" | tr '\n' ' ')
[ "$out" = "be1 sha256=$want len=100000 1.1" ] || it_fail "h2c listener: HTTP/1.1 POST: $out"
it_log "h2c: :authority, auth, bodies with/without content-length, big response, echo, HTTP/1.1 too"

# --- a 429 ends the stream, not the connection -------------------------------------
# (over TLS: curl 7.88's second request on a reused prior-knowledge
# connection fails on its side; tests/integ/h2_hostile.py covers h2c reuse)
u=https://api.test
out=$(cl "${H2S[@]}" -w '%{http_code}/%{num_connects}\n' -o /dev/null "$u/limited/a" -o /dev/null \
	"$u/limited/b" -o /dev/null "$u/limited/c" -o /dev/null "$u/healthz" 2>&1)
[ "$(tr '\n' ' ' <<<"$out")" = "200/1 200/0 429/0 200/0 " ] || it_fail "rate limit per stream: $out"
it_log "rate limit: 429 on the third stream, the fourth on the same connection served"

# --- the plain listener keeps refusing the preface ---------------------------------
out=$(cl "${H2C[@]}" -o /dev/null -w '%{http_code}' "http://$GW:81/healthz" 2>/dev/null || true)
[ "$out" != 200 ] || it_fail "plain listener spoke HTTP/2"
out=$(cl curl -sS -o /dev/null -w '%{http_version} %{http_code}' "http://$GW:81/healthz")
[ "$out" = "1.1 200" ] || it_fail "plain listener: HTTP/1.1: $out"

# --- h2load: many streams on few connections (bounded) ---------------------------
if command -v h2load >/dev/null; then
	out=$(cl timeout 30 h2load -n 2000 -c 4 -m 20 "http://$GW/api/x" 2>&1)
	grep -q 'requests: 2000 total, 2000 started, 2000 done, 2000 succeeded' <<<"$out" ||
		it_fail "h2load h2c: $(grep -E 'requests:|status codes:' <<<"$out")"
	out=$(cl timeout 30 h2load -n 1000 -c 2 -m 10 "https://$GW/healthz" 2>&1)
	grep -q '1000 succeeded' <<<"$out" || it_fail "h2load TLS: $(grep requests: <<<"$out")"
	it_log "h2load: 2000 h2c requests (4 connections x 20 streams), 1000 over TLS"
fi

# --- access log and metrics -------------------------------------------------------
sleep 0.3
grep -q '"path":"/api/x".*"protocol":"HTTP/2"' "$D/access.log" ||
	it_fail "access log: no HTTP/2 line: $(tail -2 "$D/access.log")"
grep -q '"status":429.*"protocol":"HTTP/2"' "$D/access.log" || it_fail "access log: no 429"
grep -q '"tls":"TLSv1.3","protocol":"HTTP/2"' "$D/access.log" || it_fail "access log: TLS h2"
m=$(cl curl -sS "http://$GW:9100/metrics")
grep -q '^gw_http2_connections_total{listener="h2c"} [1-9]' <<<"$m" ||
	it_fail "metrics: no HTTP/2 connection counted"
grep -q '^gw_http2_abuse_total{listener="h2c"} 0$' <<<"$m" || it_fail "metrics: abuse counted"
kill -0 "$IT_GWD_PID" || it_fail "gwd died"
it_log "access log (protocol HTTP/2, tls) and metrics"

# --- SIGTERM drains: a stream in flight finishes (GOAWAY), gwd exits -----------------
cl "${H2C[@]}" -o "$D/drain.out" -w '%{http_code}' "http://$GW/slow?ms=1500" >"$D/drain.code" &
cpid=$!
sleep 0.5
kill -TERM "$IT_GWD_PID"
wait "$cpid"
[ "$(cat "$D/drain.code")" = 200 ] || it_fail "h2 stream not drained: $(cat "$D/drain.code")"
grep -q '^be1 slow$' "$D/drain.out" || it_fail "drained stream's body: $(cat "$D/drain.out")"
for ((i = 0; i < 50; i++)); do
	kill -0 "$IT_GWD_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$IT_GWD_PID" 2>/dev/null && it_fail "gwd did not exit after the drain"
wait "$IT_GWD_PID"
[ $? = 0 ] || it_fail "gwd did not exit 0 after SIGTERM"
it_log "SIGTERM: the HTTP/2 stream in flight answered, gwd exited 0"
echo "PASS"
