#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The route rules of issue 15 against the real gwd and an origin
# (l7_backend.py), with curl from two client namespaces:
#   - respond with headers: 301/302/307/308 redirects with a Location
#     templated from {scheme} {host} {path} {query}; HTTP to HTTPS as one
#     route (match.scheme: http), the HTTPS listener not redirected;
#   - request_headers.set replaces what the client sent; response_headers
#     add/set/remove on the origin's answer;
#   - rewrite by prefix and by PCRE2 regex (query kept);
#   - CORS: preflights answered by gw (204 with the Access-Control-Allow-*
#     fields, 403 for a method, header or origin not allowed), never sent
#     upstream; actual answers get Allow-Origin/Credentials/Expose and
#     Vary: Origin; a foreign origin no CORS field; an OPTIONS that is no
#     preflight on a GET route is no match (404);
#   - ip_allow/ip_deny: 403 for the client outside, counted with reason
#     ip_denied, never forwarded;
#   - compression: gzip or br on Accept-Encoding for the configured types, above
#     min_size, from Content-Length and chunked origins (the body decodes
#     to the origin's bytes, over plain and TLS; a chunk sent before a
#     pause arrives before it ends); never for a client that
#     refuses it (q=0), HTTP/1.0, HEAD, other types, small, already
#     encoded, ranged or no-transform answers;
#   - circuit breaking: max_connections (2 slow requests hold both, 2 more
#     get 503 circuit_open at once), max_pending (a connect that hangs in
#     ARP holds the one slot), metrics by limit, gauges back to 0;
#   - gwd --check reports each kind of mistake at its line.
# vm: skip (route rules of the L7 proxy: user space)
. "$(dirname "$0")/lib.sh"
it_init l7rules
it_gwd_setup 1 curl openssl
BE1=198.18.11.2
it_l7_backends 300

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=api.test -addext subjectAltName=DNS:api.test -keyout "$IT_TMP/api.key" \
	-out "$IT_TMP/api.crt" >/dev/null 2>&1 || it_skip "openssl cannot make a certificate"

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  metrics: $GW:9100
  workers: 2
tls:
  certificates:
    - { cert: $IT_TMP/api.crt, key: $IT_TMP/api.key }
listeners:
  - { name: http, address: "$GW:80" }
  - { name: https, address: "$GW:443", tls: true }
upstreams:
  - name: web
    servers: [$BE1:8080]
  - name: brk
    servers: [$BE1:8080]
    limits: { max_connections: 2, retry_budget: 20% }
  - name: black
    servers: [198.18.11.99:8080]
    timeouts: { connect: 3s }
    limits: { max_pending: 1 }
routes:
  - match: { host: old.test }
    respond: { status: 301, headers: { Location: "https://new.test{path}{query}" } }
  - match: { host: tmp.test }
    respond: { status: 307, headers: { Location: "{scheme}://{host}/moved{path}", Cache-Control: no-store }, body: "moved\n" }
  - match: { host: secure.test, scheme: http }
    respond: { status: 308, headers: { Location: "https://{host}{path}{query}" } }
  - match: { path_exact: /teapot }
    respond: { status: 418, headers: { Content-Type: application/json }, body: '{"tea":1}' }
  - match: { path_prefix: /hdr/ }
    upstream: web
    strip_prefix: true
    request_headers: { set: { X-Env: prod }, add: { X-Gateway: gw }, remove: [X-Debug] }
    response_headers: { add: { X-Served-By: gw }, set: { Cache-Control: no-store }, remove: [X-Secret] }
  - match: { path_prefix: /old/ }
    upstream: web
    rewrite: { prefix: /new/ }
  - match: { path_prefix: /items/ }
    upstream: web
    rewrite: { regex: '^/items/(\d+)/?$', replace: '/v2/item?id=\$1' }
  - match: { path_prefix: /api/, methods: [GET, POST, PUT] }
    upstream: web
    cors: { origins: ["https://app.test", "http://localhost:3000"], methods: [GET, PUT], headers: [Authorization, X-Trace], expose_headers: [X-Total], credentials: true, max_age: 10m }
  - match: { path_prefix: /capi/ }
    upstream: web
    rate_limit: { rate: 1/m, burst: 1, key: ip }
    cors: { origins: ["https://app.test"] }
  - match: { path_prefix: /open/ }
    upstream: web
    cors: { origins: ["*"] }
  - match: { path_prefix: /inside/ }
    upstream: web
    ip_allow: [198.18.1.0/24, "fd00:1::/64"]
  - match: { path_prefix: /outside/ }
    upstream: web
    ip_deny: [198.18.1.0/24]
  - match: { path_prefix: /mixed/ }
    upstream: web
    ip_allow: [198.18.0.0/16]
    ip_deny: [198.18.1.0/24]
  - match: { path_prefix: /brk/ }
    upstream: brk
    strip_prefix: true
  - match: { path_prefix: /black/ }
    upstream: black
  - match: { path_prefix: /zg/ }
    upstream: web
    strip_prefix: true
    compression: { types: [text/plain], brotli: false }
  - match: { path_prefix: /z/ }
    upstream: web
    strip_prefix: true
    compression: { types: [text/plain, "application/*"], min_size: 200, level: 6 }
YAML

"$BUILD/bin/gwd" --check -c "$CFG" || it_fail "the test's config does not pass --check"
it_gwd_start "$CFG" "$LOG" "$SOCK"

# hdrs CURL ARGS...: the answer's status line and fields (CR stripped).
hdrs() { cl curl -sS -m 10 -o /dev/null -D - "$@" | tr -d '\r'; }
# body CURL ARGS...: the answer's body.
body() { cl curl -sS -m 10 "$@"; }
# field NAME: the value of NAME in the head on stdin (case-insensitive).
field() { awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' 'tolower($1) == n { print $2 }'; }
status() { head -1 | cut -d' ' -f2; }
# hits PATH: the requests for PATH be1 saw so far.
hits() { grep -c " $1\$" "$IT_TMP/be1.log" 2>/dev/null; }
U=http://$GW

# ---- 3. respond with headers: redirects -----------------------------------------
h=$(hdrs -H 'Host: old.test' "$U/a/b?x=1&y=2")
[ "$(status <<<"$h")" = 301 ] || it_fail "old.test: expected 301: $h"
[ "$(field location <<<"$h")" = "https://new.test/a/b?x=1&y=2" ] || it_fail "301 Location: $h"
h=$(hdrs -H 'Host: old.test' "$U/")
[ "$(field location <<<"$h")" = "https://new.test/" ] || it_fail "301 Location without a query: $h"
h=$(hdrs -H 'Host: TMP.test:80' "$U/x/../y")
[ "$(status <<<"$h")" = 307 ] || it_fail "tmp.test: expected 307: $h"
[ "$(field location <<<"$h")" = "http://tmp.test/moved/y" ] || it_fail "307 Location (normalized): $h"
[ "$(field cache-control <<<"$h")" = no-store ] || it_fail "307: a second respond header: $h"
[ "$(body -H 'Host: tmp.test' "$U/z")" = moved ] || it_fail "307: the body"
# HTTP to HTTPS: the plain listener redirects, the TLS one serves
h=$(hdrs -H 'Host: secure.test' "$U/p/q?r=1")
[ "$(status <<<"$h")" = 308 ] || it_fail "secure.test over http: expected 308: $h"
[ "$(field location <<<"$h")" = "https://secure.test/p/q?r=1" ] || it_fail "308 Location: $h"
c=$(cl curl -sk -m 10 -o /dev/null -w '%{http_code}' --resolve "secure.test:443:$GW" \
	https://secure.test/p/q)
[ "$c" = 404 ] || it_fail "secure.test over https: the redirect route must not match (got $c)"
# curl follows the chain: http -> https, where no route takes it
c=$(cl curl -skL -m 10 -o /dev/null -w '%{http_code} %{url_effective}' \
	--resolve "secure.test:80:$GW" --resolve "secure.test:443:$GW" http://secure.test/f)
[ "$c" = "404 https://secure.test/f" ] || it_fail "following the redirect: $c"
h=$(hdrs "$U/teapot")
[ "$(status <<<"$h")" = 418 ] || it_fail "teapot: $h"
[ "$(field content-type <<<"$h")" = application/json ] || it_fail "respond's own Content-Type: $h"
[ "$(grep -ci '^content-type' <<<"$h")" = 1 ] || it_fail "two Content-Types: $h"
it_log "respond: 301/307/308 with templated Location, HTTP->HTTPS in one route, own Content-Type"

# ---- 4. header rules and rewrites -------------------------------------------------
b=$(body -H 'X-Env: dev' -H 'X-Debug: 1' "$U/hdr/echo-me")
grep -qx 'X-Env: prod' <<<"$b" || it_fail "request_headers.set: X-Env not prod: $b"
[ "$(grep -ci '^x-env:' <<<"$b")" = 1 ] || it_fail "request_headers.set: the client's X-Env stayed: $b"
grep -qx 'X-Gateway: gw' <<<"$b" || it_fail "request_headers.add: $b"
grep -qi '^x-debug' <<<"$b" && it_fail "request_headers.remove: $b"
h=$(hdrs "$U/hdr/resp?h=X-Secret:s3&h=Cache-Control:max-age%3D60&h=X-Keep:k")
[ "$(field x-served-by <<<"$h")" = gw ] || it_fail "response_headers.add: $h"
[ "$(field cache-control <<<"$h")" = no-store ] || it_fail "response_headers.set: $h"
[ "$(grep -ci '^cache-control' <<<"$h")" = 1 ] || it_fail "response_headers.set left the origin's: $h"
grep -qi '^x-secret' <<<"$h" && it_fail "response_headers.remove: $h"
[ "$(field x-keep <<<"$h")" = k ] || it_fail "an origin field not named: $h"
body "$U/old/a/b?q=1" >/dev/null
[ "$(hits '/new/a/b?q=1')" = 1 ] || it_fail "prefix rewrite: $(tail -3 "$IT_TMP/be1.log")"
body "$U/items/42/?z=9" >/dev/null
[ "$(hits '/v2/item?id=42&z=9')" = 1 ] || it_fail "regex rewrite: $(tail -3 "$IT_TMP/be1.log")"
body "$U/items/abc" >/dev/null
[ "$(hits '/items/abc')" = 1 ] || it_fail "regex rewrite without a match: $(tail -3 "$IT_TMP/be1.log")"
it_log "headers: request set/add/remove, response add/set/remove; rewrites by prefix and regex"

# ---- 5. CORS -----------------------------------------------------------------------
n0=$(grep -c '^OPTIONS' "$IT_TMP/be1.log")
h=$(hdrs -X OPTIONS -H 'Origin: https://app.test' -H 'Access-Control-Request-Method: PUT' \
	-H 'Access-Control-Request-Headers: authorization,x-trace' "$U/api/x")
[ "$(status <<<"$h")" = 204 ] || it_fail "preflight: expected 204: $h"
[ "$(field access-control-allow-origin <<<"$h")" = https://app.test ] || it_fail "preflight ACAO: $h"
[ "$(field access-control-allow-methods <<<"$h")" = "GET, PUT" ] || it_fail "preflight methods: $h"
[ "$(field access-control-allow-headers <<<"$h")" = "Authorization, X-Trace" ] || it_fail "preflight headers: $h"
[ "$(field access-control-allow-credentials <<<"$h")" = true ] || it_fail "preflight credentials: $h"
[ "$(field access-control-max-age <<<"$h")" = 600 ] || it_fail "preflight max-age: $h"
[ "$(field vary <<<"$h")" = Origin ] || it_fail "preflight Vary: $h"
for bad in "-H Origin:https://evil.test -H Access-Control-Request-Method:GET" \
	"-H Origin:https://app.test -H Access-Control-Request-Method:DELETE" \
	"-H Origin:https://app.test -H Access-Control-Request-Method:GET -H Access-Control-Request-Headers:X-Other"; do
	# shellcheck disable=SC2086 # the fields are words
	h=$(hdrs -X OPTIONS $bad "$U/api/x")
	[ "$(status <<<"$h")" = 403 ] || it_fail "refused preflight ($bad): expected 403: $h"
	grep -qi '^access-control-' <<<"$h" && it_fail "refused preflight has CORS fields: $h"
done
[ "$(grep -c '^OPTIONS' "$IT_TMP/be1.log")" = "$n0" ] || it_fail "a preflight went upstream"
# an OPTIONS that is no preflight: the GET/POST/PUT route took OPTIONS for CORS only
[ "$(cl curl -s -m 10 -o /dev/null -w '%{http_code}' -X OPTIONS "$U/api/x")" = 404 ] ||
	it_fail "plain OPTIONS on a CORS route without OPTIONS: expected 404"
h=$(hdrs -H 'Origin: http://localhost:3000' "$U/api/resp?h=Access-Control-Allow-Origin:*")
[ "$(status <<<"$h")" = 200 ] || it_fail "CORS GET: $h"
[ "$(field access-control-allow-origin <<<"$h")" = http://localhost:3000 ] || it_fail "CORS GET ACAO: $h"
[ "$(grep -ci '^access-control-allow-origin' <<<"$h")" = 1 ] || it_fail "the origin's ACAO stayed: $h"
[ "$(field access-control-expose-headers <<<"$h")" = X-Total ] || it_fail "CORS expose: $h"
[ "$(field access-control-allow-credentials <<<"$h")" = true ] || it_fail "CORS credentials: $h"
[ "$(field vary <<<"$h")" = Origin ] || it_fail "CORS Vary: $h"
h=$(hdrs -H 'Origin: https://evil.test' "$U/api/x")
[ "$(status <<<"$h")" = 200 ] || it_fail "foreign origin GET: $h"
grep -qi '^access-control-' <<<"$h" && it_fail "foreign origin got CORS fields: $h"
[ "$(field vary <<<"$h")" = Origin ] || it_fail "foreign origin: Vary: $h"
h=$(hdrs -X OPTIONS -H 'Origin: https://x.test' -H 'Access-Control-Request-Method: POST' "$U/open/y")
[ "$(status <<<"$h")" = 204 ] || it_fail "open preflight: $h"
[ "$(field access-control-allow-origin <<<"$h")" = '*' ] || it_fail "open ACAO: $h"
grep -qi '^vary' <<<"$h" && it_fail "open CORS: Vary needless with *: $h"
# gw's own refusal on a CORS route carries the fields (the browser reads the 429)
hdrs -H 'Origin: https://app.test' "$U/capi/a" >/dev/null
h=$(hdrs -H 'Origin: https://app.test' "$U/capi/b")
[ "$(status <<<"$h")" = 429 ] || it_fail "CORS + rate limit: expected 429: $h"
[ "$(field access-control-allow-origin <<<"$h")" = https://app.test ] || it_fail "429 without ACAO: $h"
[ -n "$(field retry-after <<<"$h")" ] || it_fail "429 lost Retry-After: $h"
it_log "CORS: preflights answered by gw (204/403, never upstream), fields on answers and gw's refusals, Vary"

# ---- 6. per-route address rules ----------------------------------------------------
c1() { cl curl -s -m 10 -o /dev/null -w '%{http_code}' "$@"; }
c2() { nsx "$IT_CL2" curl -s -m 10 -o /dev/null -w '%{http_code}' "$@"; }
[ "$(c1 "$U/inside/a")" = 200 ] || it_fail "ip_allow: c1 (198.18.1.2) refused"
[ "$(c2 "$U/inside/b")" = 403 ] || it_fail "ip_allow: c2 (198.18.2.2) not refused"
[ "$(hits /inside/b)" = 0 ] || it_fail "ip_allow: a refused request went upstream"
[ "$(c1 "$U/outside/a")" = 403 ] || it_fail "ip_deny: c1 not refused"
[ "$(c2 "$U/outside/b")" = 200 ] || it_fail "ip_deny: c2 refused"
[ "$(c1 "$U/mixed/a")" = 403 ] || it_fail "ip_allow+ip_deny: the longer deny must win for c1"
[ "$(c2 "$U/mixed/b")" = 200 ] || it_fail "ip_allow+ip_deny: c2 refused"
m=$(cl curl -sS -m 5 "http://$GW:9100/metrics")
n=$(grep 'gw_http_gateway_answers_total{' <<<"$m" | grep 'reason="ip_denied"' | grep 'code="403"' |
	awk '{ s += $NF } END { print s + 0 }')
[ "$n" = 3 ] || it_fail "ip_denied answers counted: $n (want 3): $(grep ip_denied <<<"$m")"
n=$(grep 'gw_http_gateway_answers_total{' <<<"$m" | grep 'reason="cors_preflight"' |
	awk '{ s += $NF } END { print s + 0 }')
[ "$n" = 5 ] || it_fail "cors_preflight answers counted: $n (want 5)"
it_log "ip rules: allow, deny, longest prefix; 403 counted as ip_denied"

# ---- 8. compression -------------------------------------------------------------------
# zget ARGS...: "CODE ENCODING VARY SIZE" of an answer fetched with ARGS,
# its raw body in $IT_TMP/z.raw
zget() {
	cl curl -sS -m 20 -o "$IT_TMP/z.raw" -D "$IT_TMP/z.h" -w '%{http_code}' "$@" >"$IT_TMP/z.code"
	printf '%s %s %s %s\n' "$(cat "$IT_TMP/z.code")" \
		"$(tr -d '\r' <"$IT_TMP/z.h" | field content-encoding)" \
		"$(tr -d '\r' <"$IT_TMP/z.h" | field vary)" "$(stat -c %s "$IT_TMP/z.raw")"
}
want=$(cl curl -sS -m 20 "http://$BE1:8080/resp?n=300000" | sha256sum)
for q in "n=300000&h=Content-Type:text/plain" "n=300000&chunked=1&h=Content-Type:application/json;%20charset=utf-8"; do
	r=$(zget -H 'Accept-Encoding: deflate, gzip;q=0.8' "$U/z/resp?$q")
	read -r code enc vary size <<<"$r"
	[ "$code $enc $vary" = "200 gzip Accept-Encoding" ] || it_fail "compressed ($q): $r"
	[ "$size" -lt 100000 ] || it_fail "compressed ($q): $size bytes, not smaller"
	got=$(gzip -dc <"$IT_TMP/z.raw" | sha256sum)
	[ "$got" = "$want" ] || it_fail "compressed ($q): the body does not decode to the origin's"
	grep -qi '^content-length' "$IT_TMP/z.h" && it_fail "compressed ($q) kept Content-Length"
done
# a strong ETag turns weak on a compressed answer, a weak one stays
zget -H 'Accept-Encoding: gzip' "$U/z/resp?n=5000&h=Content-Type:text/plain&h=ETag:%22v1%22" >/dev/null
[ "$(tr -d '\r' <"$IT_TMP/z.h" | field etag)" = 'W/"v1"' ] || it_fail "strong ETag not weakened: $(cat "$IT_TMP/z.h")"
[ "$(tr -d '\r' <"$IT_TMP/z.h" | grep -ci '^etag')" = 1 ] || it_fail "two ETags: $(cat "$IT_TMP/z.h")"
zget -H 'Accept-Encoding: gzip' "$U/z/resp?n=5000&h=Content-Type:text/plain&h=ETag:W/%22v2%22" >/dev/null
[ "$(tr -d '\r' <"$IT_TMP/z.h" | field etag)" = 'W/"v2"' ] || it_fail "weak ETag changed: $(cat "$IT_TMP/z.h")"
zget "$U/z/resp?n=5000&h=Content-Type:text/plain&h=ETag:%22v3%22" >/dev/null
[ "$(tr -d '\r' <"$IT_TMP/z.h" | field etag)" = '"v3"' ] || it_fail "uncompressed ETag changed: $(cat "$IT_TMP/z.h")"
# br when the client takes it (curl decodes it), on the same answers
for q in "n=300000&h=Content-Type:text/plain" "n=300000&chunked=1&h=Content-Type:application/json"; do
	r=$(zget -H 'Accept-Encoding: gzip, br' "$U/z/resp?$q")
	read -r code enc vary size <<<"$r"
	[ "$code $enc $vary" = "200 br Accept-Encoding" ] || it_fail "br ($q): $r"
	[ "$size" -lt 100000 ] || it_fail "br ($q): $size bytes, not smaller"
	got=$(cl curl -sS -m 20 --compressed -H 'Accept-Encoding: br' "$U/z/resp?$q" | sha256sum)
	[ "$got" = "$want" ] || it_fail "br ($q): the body does not decode to the origin's"
done
r=$(zget -H 'Accept-Encoding: br' "$U/zg/resp?n=5000&h=Content-Type:text/plain")
read -r code enc _ <<<"$r"
[ "$enc" != br ] || it_fail "brotli: false still offered br: $r"
# keep-alive: compressed, plain, compressed again on one connection
out=$(cl curl -sS -m 20 --compressed -o /dev/null -o /dev/null -o /dev/null \
	-w '%{http_code} %{num_connects} %{size_download}\n' \
	"$U/z/resp?n=100000&h=Content-Type:text/plain" "$U/z/resp?n=50&h=Content-Type:text/plain" \
	"$U/z/resp?n=100000&chunked=1&h=Content-Type:text/plain")
[ "$(awk '{ print $1 }' <<<"$out" | tr '\n' ' ')" = "200 200 200 " ] || it_fail "keep-alive after a compressed answer: $out"
[ "$(awk '{ s += $2 } END { print s }' <<<"$out")" = 1 ] || it_fail "keep-alive: more than one connection: $out"
# streaming: a chunk the origin sends before a pause reaches the client,
# decodable, before the pause ends (the stream is flushed when nothing more
# is there to read)
for enc in gzip br; do
	# (python starts curl: its clock runs before the first byte can come)
	cl python3 -c 'import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
p.stdout.readline(); t1 = time.monotonic()
rest = p.stdout.read()
print("%.2f %d" % (time.monotonic() - t1, len(rest)))' curl -sS -m 20 -N --compressed \
		-H "Accept-Encoding: $enc" "$U/z/resp?n=10000&chunked=1&gap=1500&h=Content-Type:text/plain" \
		>"$IT_TMP/z.stream"
	read -r after rest <"$IT_TMP/z.stream"
	python3 -c "import sys; sys.exit(not ($after >= 1.0 and $rest == 10000 - 36))" ||
		it_fail "$enc stream: the rest ($rest bytes) ${after}s after the first line"
done
got=$(cl curl -sS -m 20 --compressed -k --resolve "api.test:443:$GW" \
	"https://api.test/z/resp?n=300000&h=Content-Type:text/plain" | sha256sum)
[ "$got" = "$want" ] || it_fail "compressed over TLS: the body differs"
for args in "-H Accept-Encoding:gzip;q=0 $U/z/resp?n=5000&h=Content-Type:text/plain" \
	"$U/z/resp?n=5000&h=Content-Type:text/plain" \
	"-H Accept-Encoding:gzip $U/z/resp?n=5000&h=Content-Type:image/png" \
	"-H Accept-Encoding:gzip $U/z/resp?n=150&h=Content-Type:text/plain" \
	"-H Accept-Encoding:gzip $U/z/resp?n=5000&h=Content-Type:text/plain&h=Content-Encoding:br" \
	"-H Accept-Encoding:gzip $U/z/resp?n=5000&h=Content-Type:text/plain&h=Content-Range:bytes%200-4999/9000" \
	"-H Accept-Encoding:gzip $U/z/resp?n=5000&h=Content-Type:text/plain&h=Cache-Control:no-transform" \
	"-0 -H Accept-Encoding:gzip $U/z/resp?n=5000&h=Content-Type:text/plain" \
	"-I -H Accept-Encoding:gzip $U/z/resp?n=5000&h=Content-Type:text/plain"; do
	# shellcheck disable=SC2086 # the arguments are words
	r=$(zget $args)
	read -r code enc _ <<<"$r"
	[ "$code" = 200 ] || it_fail "uncompressed ($args): $r"
	[ "$enc" != gzip ] || it_fail "compressed what it must not ($args): $r"
	grep -qi '^content-length: ' "$IT_TMP/z.h" || it_fail "uncompressed ($args) lost Content-Length"
done
it_log "compression: gzip for the types above min_size (length and chunked origins, TLS); not when refused, HEAD, HTTP/1.0, other types, small, encoded, ranged, no-transform"

# ---- 9. circuit breaking ---------------------------------------------------------------
for i in 1 2; do
	it_bg "$IT_CL1" "$IT_TMP/slow$i" curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$U/brk/slow?ms=2000"
done
sleep 0.7
s0=$(date +%s%N)
for i in 3 4; do
	[ "$(c1 "$U/brk/x$i")" = 503 ] || it_fail "max_connections: a third request was not refused"
done
[ $((($(date +%s%N) - s0) / 1000000)) -lt 1000 ] || it_fail "max_connections: the 503s were not at once"
for i in 1 2; do
	for ((k = 0; k < 50; k++)); do [ -s "$IT_TMP/slow$i" ] && break; sleep 0.1; done
	[ "$(cat "$IT_TMP/slow$i")" = 200 ] || it_fail "max_connections: a held request got $(cat "$IT_TMP/slow$i")"
done
it_bg "$IT_CL1" "$IT_TMP/black1" curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$U/black/a"
sleep 0.5
[ "$(c1 "$U/black/b")" = 503 ] || it_fail "max_pending: a second request waiting for a connection was not refused"
for ((k = 0; k < 60; k++)); do [ -s "$IT_TMP/black1" ] && break; sleep 0.1; done
c=$(cat "$IT_TMP/black1")
[ "$c" = 502 ] || [ "$c" = 504 ] || it_fail "max_pending: the pending request ended with $c"
m=$(cl curl -sS -m 5 "http://$GW:9100/metrics")
for want in 'gw_upstream_circuit_open_total{upstream="brk",limit="max_connections"} 2' \
	'gw_upstream_circuit_open_total{upstream="black",limit="max_pending"} 1' \
	'gw_upstream_circuit_open_total{upstream="brk",limit="retry_budget"} 0' \
	'gw_upstream_active_requests{upstream="brk"} 0' 'gw_upstream_pending{upstream="black"} 0' \
	'gw_upstream_connections{upstream="black"} 0'; do
	grep -qF "$want" <<<"$m" || it_fail "metrics: no '$want' in: $(grep 'gw_upstream_[a-z_]*{upstream="b' <<<"$m")"
done
n=$(grep 'gw_http_gateway_answers_total{' <<<"$m" | grep 'reason="circuit_open"' |
	awk '{ s += $NF } END { print s + 0 }')
[ "$n" = 3 ] || it_fail "circuit_open answers counted: $n (want 3)"
it_log "circuit breaking: max_connections and max_pending answer 503 at once, counted by limit"

# ---- --check ------------------------------------------------------------------------
cat >"$IT_TMP/bad.yaml" <<'YAML'
version: 1
upstreams: [ { name: u, servers: [198.18.1.2:80], limits: { retry_budget: 120% } } ]
routes:
  - match: { path_prefix: /b/ }
    upstream: u
    rewrite: { regex: '^/b/(\d+', replace: '/items/$1' }
  - match: { host: old.example.com }
    respond: { status: 308, headers: { Location: "https://{hots}{path}" } }
  - match: { path_prefix: /c/ }
    upstream: u
    ip_allow: [10.0.0.1/8]
    cors: { origins: ["*"], credentials: true }
    compression: { types: [text] }
YAML
out=$("$BUILD/bin/gwd" --check -c "$IT_TMP/bad.yaml" 2>&1) && it_fail "--check passed a bad config"
for want in "bad.yaml:6:14: rewrite: regex does not compile at offset 8" \
	"bad.yaml:8:40: respond.headers: Location has an unknown placeholder" \
	"bad.yaml:11:16: ip_allow: not an IPv4 or IPv6 prefix" \
	"bad.yaml:12:11: cors: origin '*' stands alone and excludes credentials" \
	"compression: 'text' is not a media type" \
	"limits: retry_budget '120%' is not a share from 0% to 100%"; do
	grep -qF "$want" <<<"$out" || it_fail "--check: missing '$want' in: $out"
done
it_log "--check: each mistake at its line"
echo PASS
