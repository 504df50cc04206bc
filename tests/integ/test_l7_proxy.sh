#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwd's L7 proxy on real sockets: a client netns talks to gwd (gateway netns,
# listening on 198.18.1.1:80), which proxies to three python origins
# (l7_backend.py). Checks routing (404, respond, strip_prefix, header
# add/remove), forwarded headers, keep-alive and upstream pooling,
# pipelining, Content-Length/chunked bodies both ways (100 MB with sha256
# on both ends), Expect: 100-continue, a WebSocket tunnel, refusal of
# malformed requests (never forwarded), 502/503/504 answered quickly,
# smooth round-robin weights, gwctl upstream/route commands and live
# server changes, metrics, reload, a wrk smoke run and the SIGTERM drain.
# vm: skip (the L7 proxy: user space, over plain sockets)
. "$(dirname "$0")/lib.sh"
it_init l7
it_gwd_setup 3 curl
BE1=198.18.11.2
BE2=198.18.12.2
BE3=198.18.13.2
T0=$(date +%s)

it_l7_backends 1200

# The JWT route adds 40 fields and removes 20 besides what its auth stage
# adds (forward_claims) and removes: every one applies (at most 32 adds fit
# once, and only 16 removes applied beside a stage's own).
JWT_HDRS="{ add: { $(for ((i = 0; i < 40; i++)); do printf 'X-Add%d: v%d, ' $i $i; done | sed 's/, $//') }, remove: [ $(for ((i = 0; i < 20; i++)); do printf 'X-Rm%d, ' $i; done | sed 's/, $//') ] }"

# write_cfg EXTRA_ROUTE: the config; EXTRA_ROUTE is appended to routes.
write_cfg() {
	{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  metrics: $GW:9100
  access_log: $IT_TMP/access.log
  workers: 2
  drain_timeout: 5s
filter:
  ban: { auth_failures: 3/m, duration: 60s }
tls:
  certificates:
    - { cert: $IT_TMP/api.crt, key: $IT_TMP/api.key }
listeners:
  - { name: http, address: "$GW:80" }
  - { name: https, address: "$GW:443", tls: true }
  - { name: http6, address: "[fd00:1::1]:80" }
upstreams:
  - name: web
    balance: round_robin
    servers:
      - { address: $BE1:8080, weight: 3 }
      - { address: $BE2:8080, weight: 1 }
    timeouts: { connect: 1s, response: 5s, idle: 30s }
    retries: 1
  - name: one
    servers: [$BE1:8080]
    timeouts: { connect: 1s, response: 1s, idle: 30s }
  - name: bulk
    servers: [$BE1:8080]
    timeouts: { connect: 1s, response: 30s, idle: 30s }
  - name: load
    servers: [$BE1:8080]
    timeouts: { connect: 1s, response: 10s, idle: 30s }
  - name: dead
    servers: [$BE3:9]
    retries: 0
  - name: retry
    servers: [$BE3:9, $BE2:8080]
    retries: 1
  - name: six
    servers: ["[fd00:12::2]:8080"]
  - name: checked
    servers: [$BE3:9, $BE2:8080]
    health: { path: /hc, interval: 100ms, timeout: 100ms, healthy: 1, unhealthy: 1 }
    retries: 0
auth:
  api_keys:
    - { name: partners, header: X-API-Key, keys: $IT_TMP/keys.txt }
  jwt:
    - name: main
      jwks: $IT_TMP/jwks.json
      issuer: https://id.test/
      audiences: [api]
      algorithms: [ES256]
      forward_claims: { sub: X-User-Id }
routes:
  - match: { path_exact: /healthz }
    respond: { status: 200, body: "ok\n" }
  - match: { path_prefix: /api/ }
    upstream: web
    strip_prefix: true
    request_headers: { add: { X-Gateway: gw }, remove: [X-Debug] }
  - match: { path_prefix: /one/ }
    upstream: one
    strip_prefix: true
  - match: { path_prefix: /dead/ }
    upstream: dead
  - match: { path_prefix: /retry/ }
    upstream: retry
  - match: { path_prefix: /ws }
    upstream: one
  - match: { path_prefix: /nows/ }
    upstream: one
    strip_prefix: true
    upgrade: []
  - match: { path_prefix: /small/ }
    upstream: one
    strip_prefix: true
    max_body: 1k
  - match: { path_prefix: /checked/ }
    upstream: checked
  - match: { path_prefix: /six/ }
    upstream: six
    strip_prefix: true
  - match: { path_prefix: /keyed/ }
    upstream: one
    strip_prefix: true
    auth: partners
  - match: { path_prefix: /jwt/ }
    upstream: one
    strip_prefix: true
    auth: main
    request_headers: $JWT_HDRS
  - match: { path_prefix: /limited/ }
    upstream: one
    strip_prefix: true
    rate_limit: { rate: 1/m, burst: 3, key: ip }
  - match: { path_prefix: /bulk/ }
    upstream: bulk
    strip_prefix: true
  - match: { path_prefix: /load/ }
    upstream: load
    strip_prefix: true
$1
YAML
}

gwctl() { "$GWCTL" -s "$SOCK" "$@"; }
# get PATH [CURL ARGS]: the body; fails the test when curl fails.
get() {
	local p=$1
	shift
	cl curl -sS -m 60 "$@" "http://$GW$p" || it_fail "curl $p failed"
}
# rawp PORT TEXT: sends TEXT (printf escapes) on one connection to PORT,
# prints the answer (until the close, or what came within 4 s).
rawp() {
	cl timeout 15 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4)
s.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except OSError:
    pass
sys.stdout.write(out.decode("latin-1"))
' "$GW" "$1" "$2"
}
raw() { rawp 80 "$1"; }


openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=api.test -addext subjectAltName=DNS:api.test -keyout "$IT_TMP/api.key" \
	-out "$IT_TMP/api.crt" >/dev/null 2>&1 || it_skip "openssl cannot make a certificate"
APIKEY=k-$RANDOM$RANDOM$RANDOM
printf 'acme %s\n' "$(printf '%s' "$APIKEY" | sha256sum | cut -d' ' -f1)" >"$IT_TMP/keys.txt"
# An ES256 key: its public half as the JWKS, tokens signed with the rest.
"$PY" - "$IT_TMP" <<'EOF' || it_skip "python3-cryptography cannot make an EC key"
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = k.public_key().public_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
                     "x": b(n.x), "y": b(n.y)}]}, open(sys.argv[1] + "/jwks.json", "w"))
open(sys.argv[1] + "/jwt.pem", "wb").write(k.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
# jwt SUB TTL: a token for SUB expiring TTL seconds from now (negative: expired),
# signed with $JWT_PEM (default jwt.pem) under kid $JWT_KID (default k1).
jwt() {
	"$PY" - "${JWT_PEM:-$IT_TMP/jwt.pem}" "$1" "$2" "${JWT_KID:-k1}" <<'EOF'
import base64, json, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
k = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
e = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=")
now = int(time.time())
h = e(json.dumps({"alg": "ES256", "kid": sys.argv[4], "typ": "JWT"}).encode())
p = e(json.dumps({"sub": sys.argv[2], "iss": "https://id.test/", "aud": "api",
                  "iat": now - 600, "exp": now + int(sys.argv[3])}).encode())
r, s = utils.decode_dss_signature(k.sign(h + b"." + p, ec.ECDSA(hashes.SHA256())))
print((h + b"." + p + b"." + e(r.to_bytes(32, "big") + s.to_bytes(32, "big"))).decode())
EOF
}
write_cfg ""
it_gwd_start "$CFG" "$LOG" "$SOCK"
for ((i = 0; i < 50; i++)); do
	[ "$(code /healthz)" = 200 ] && break
	sleep 0.1
done

# --- routing ---------------------------------------------------------------
[ "$(get /healthz)" = ok ] || it_fail "respond route: wrong body"
[ "$(code /nothing/here)" = 404 ] || it_fail "unmatched path: expected 404"
# gw's own answers carry a Date (RFC 9110 6.6.1)
cl curl -s -D - -o /dev/null "http://$GW/nothing/there" | grep -qE '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT' ||
	it_fail "gw's 404 has no Date"
out=$(get /one/hello?x=1 -H 'X-Request-Id: abc-123')
grep -q '^be1 GET /hello?x=1$' <<<"$out" || it_fail "strip_prefix/route: got '$out'"
grep -qi '^X-Forwarded-For: 198.18.1.2$' <<<"$out" || it_fail "no X-Forwarded-For: $out"
grep -qi '^X-Forwarded-Proto: http$' <<<"$out" || it_fail "no X-Forwarded-Proto: $out"
grep -qi '^X-Request-Id: abc-123$' <<<"$out" || it_fail "X-Request-Id not propagated: $out"
grep -qiE '^traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$' <<<"$out" ||
	it_fail "no traceparent: $out"
out=$(get /api/x -H 'X-Debug: 1' -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: 1')
grep -q '^X-Gateway: gw$' <<<"$out" || it_fail "request_headers.add missing: $out"
grep -qi '^X-Debug' <<<"$out" && it_fail "request_headers.remove ignored: $out"
grep -qi '^X-Hop' <<<"$out" && it_fail "a field named in Connection was forwarded: $out"
grep -qiE '^X-Request-Id: [0-9a-f]{32}$' <<<"$out" || it_fail "no generated X-Request-Id: $out"
# IPv6 on both sides: a v6 listener, a v6 upstream
out=$(cl curl -sS -m 5 "http://[fd00:1::1]/six/v6") || it_fail "IPv6 request failed"
grep -q '^be2 GET /v6$' <<<"$out" || it_fail "IPv6: got '$out'"
grep -qi '^X-Forwarded-For: fd00:1::2$' <<<"$out" || it_fail "IPv6 X-Forwarded-For: $out"
it_log "routing, forwarded headers, IPv6: ok"

# --- bodies ------------------------------------------------------------------
out=$(get /one/sha --data-binary 'hello world')
want=$(printf 'hello world' | sha256sum | cut -d' ' -f1)
[ "$out" = "be1 sha256=$want len=11" ] || it_fail "POST Content-Length: got '$out'"
head -c 300000 /dev/urandom >"$IT_TMP/chunk.bin"
want=$(sha256sum <"$IT_TMP/chunk.bin" | cut -d' ' -f1)
out=$(get /one/sha -H 'Transfer-Encoding: chunked' --data-binary @"$IT_TMP/chunk.bin")
[ "$out" = "be1 sha256=$want len=300000" ] || it_fail "chunked upload: got '$out'"
head -c 100000000 /dev/urandom >"$IT_TMP/big.bin"
want=$(sha256sum <"$IT_TMP/big.bin" | cut -d' ' -f1)
# curl sends Expect: 100-continue for a body this large; gwd forwards it and
# relays the origin's 100.
got=$(cl curl -sS -m 60 --data-binary @"$IT_TMP/big.bin" "http://$GW/bulk/echo" | sha256sum |
	cut -d' ' -f1)
[ "$got" = "$want" ] || it_fail "100 MB echo: sha256 differs"
grep -q "^sha $want 100000000$" "$IT_TMP/be1.log" && it_fail "echo is not /sha"
out=$(get /bulk/sha --data-binary @"$IT_TMP/big.bin")
[ "$out" = "be1 sha256=$want len=100000000" ] || it_fail "100 MB upload: got '$out'"
got=$(get /bulk/big?n=50000000 | sha256sum | cut -d' ' -f1)
want=$("$PY" -c 'import hashlib; p = bytes(range(256)) * 256; n = 50000000
h = hashlib.sha256()
while n: k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())')
[ "$got" = "$want" ] || it_fail "50 MB chunked download: sha256 differs"
# an HTTP/1.0 client gets the chunked answer's payload, delimited by close
got=$(get /one/big?n=300000 -0 | sha256sum | cut -d' ' -f1)
want=$("$PY" -c 'import hashlib; p = bytes(range(256)) * 256
print(hashlib.sha256((p * 5)[:300000]).hexdigest())')
[ "$got" = "$want" ] || it_fail "HTTP/1.0 client: chunked payload not de-chunked"
it_log "bodies (CL, chunked, 100 MB both ways, Expect): ok"

# --- keep-alive and pooling ----------------------------------------------------
before=$(get /one/conns | sed 's/.*conns=//')
urls=()
for ((i = 0; i < 20; i++)); do urls+=("http://$GW/one/ka$i"); done
out=$(cl curl -sS -m 10 -v "${urls[@]}" 2>&1)
[ "$(grep -c '^be1 GET /ka' <<<"$out")" = 20 ] || it_fail "keep-alive: not 20 answers"
grep -q 'Re-using existing connection' <<<"$out" || it_fail "client connection not reused"
after=$(get /one/conns | sed 's/.*conns=//')
# two workers may each hold one pooled connection to be1
[ $((after - before)) -le 2 ] || it_fail "upstream connections not pooled: $before -> $after"
it_log "keep-alive: 20 requests, upstream connections $before -> $after"

# --- pipelining ---------------------------------------------------------------------
out=$(raw 'GET /one/p1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /one/sha HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /one/p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
order=$(grep -oE '^be1 (GET /p1|GET /p3|sha256=[0-9a-f]+)' <<<"$out" | tr '\n' ' ')
want=$(printf abc | sha256sum | cut -d' ' -f1)
[ "$order" = "be1 GET /p1 be1 sha256=$want be1 GET /p3 " ] ||
	it_fail "pipelined answers out of order or missing: '$order'"
# 500 pipelined requests (more than the 16 KiB buffer holds), in one write
many=$(for ((i = 0; i < 499; i++)); do printf 'GET /healthz HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'; done)
out=$(raw "${many}GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
n=$(grep -c '^HTTP/1.1 200' <<<"$out")
[ "$n" = 500 ] || it_fail "500 pipelined requests: $n answers"
it_log "pipelining: ok (3 mixed, 500 in one write)"

# --- refused requests ---------------------------------------------------------------
out=$(raw 'POST /one/smuggle1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /one/smuggle2 HTTP/1.1\r\nHost: a\r\n\r\n')
grep -q '^HTTP/1.1 400' <<<"$out" || it_fail "CL+TE: expected 400, got '$(head -1 <<<"$out")'"
grep -qi '^Connection: close' <<<"$out" || it_fail "CL+TE: connection not closed"
out=$(raw 'GET /one/fold HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n')
grep -q '^HTTP/1.1 400' <<<"$out" || it_fail "obs-fold: expected 400"
out=$(raw 'GET /one/v2 HTTP/2.0\r\nHost: a\r\n\r\n')
grep -q '^HTTP/1.1 505' <<<"$out" || it_fail "HTTP/2.0 line: expected 505, got '$(head -1 <<<"$out")'"
big=$(head -c 9000 /dev/zero | tr '\0' a)
out=$(raw "GET /one/long?$big HTTP/1.1\r\nHost: a\r\n\r\n")
grep -q '^HTTP/1.1 414' <<<"$out" || it_fail "long target: expected 414, got '$(head -1 <<<"$out")'"
out=$(raw "GET /one/hdr HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n")
grep -q '^HTTP/1.1 431' <<<"$out" || it_fail "large field: expected 431, got '$(head -1 <<<"$out")'"
out=$(raw 'GET /one/../../etc/%00 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
grep -q '^HTTP/1.1 400' <<<"$out" || it_fail "%00 in the path: expected 400, got '$(head -1 <<<"$out")'"
sleep 0.2
grep -qE 'smuggle|/fold|/v2|/long|/hdr|/etc' "$IT_TMP/be1.log" &&
	it_fail "a refused request reached the backend: $(grep -E 'smuggle|fold|v2|long|hdr|etc' "$IT_TMP/be1.log")"
it_log "refused requests (CL+TE, obs-fold, 505, 414, 431, %00): never forwarded"

# --- upstream failures ----------------------------------------------------------------
s=$(date +%s%N)
c=$(code /dead/x); [ "$c" = 502 ] || { cat "$LOG" | tail -20; it_fail "refused upstream: expected 502, got $c"; }
[ $((($(date +%s%N) - s) / 1000000)) -lt 1000 ] || it_fail "502 took more than 1 s"
# retry: the first server refuses, the second answers (GET is idempotent)
ok=0
for ((i = 0; i < 8; i++)); do
	[ "$(code /retry/r$i)" = 200 ] && ok=$((ok + 1))
done
[ $ok = 8 ] || it_fail "retry on connect failure: $ok/8 answered"
# Three consecutive failures eject the refusing server (passive check). Each
# worker's round robin starts with it, so 8 requests over any split between
# the two workers try it at least 4 times.

# Counted by its consecutive ejections, which only a success resets: the
# ejection itself (1 s) may be over by now on a slow (emulated) machine.
out=$(gwctl --json upstream list)
"$PY" -c '
import json, sys
ups = {u["name"]: u for u in json.load(sys.stdin)}
s = [v for v in ups["retry"]["servers"] if v["address"] == "198.18.13.2:9"][0]
sys.exit(0 if s["ejections"] >= 1 and s["failures"] >= 3 else 1)' <<<"$out" ||
	it_fail "refusing server not ejected: $(gwctl upstream list)"
# A POST is never retried: with the refusing server ejected it goes to be2.
# Sent only while the ejection has at least 1.5 s left, so a slow (emulated)
# machine cannot let it lapse between the look and the POST. When too little
# is left, wait it out: on probation one failed GET ejects the server again,
# for twice as long (2, 4, 8 s).
ejected_ms() {
	gwctl --json upstream list | "$PY" -c '
import json, sys
ups = {u["name"]: u for u in json.load(sys.stdin)}
print([v for v in ups["retry"]["servers"] if v["address"] == "198.18.13.2:9"][0]["ejected_ms"])'
}
posted=
for ((round = 0; round < 5; round++)); do
	left=$(ejected_ms)
	if [ "$left" -ge 1500 ]; then
		c=$(code /retry/p -X POST --data x)
		[ "$c" = 200 ] || it_fail "POST to the ejected upstream: expected 200 from be2, got $c"
		posted=1
		break
	fi
	sleep "$(((left + 100) / 1000)).$(printf '%03d' $(((left + 100) % 1000)))"
	for ((i = 0; i < 4; i++)); do code /retry/e$i >/dev/null; done
done
[ -n "$posted" ] || it_fail "the refusing server never stayed ejected for 1.5 s (last: ${left} ms)"
s=$(date +%s%N)
c=$(code '/one/slow?ms=3000')
ms=$((($(date +%s%N) - s) / 1000000))
[ "$c" = 504 ] || it_fail "slow upstream: expected 504, got $c"
[ $ms -lt 2500 ] || it_fail "504 took ${ms} ms (response timeout 1 s)"
[ "$(code /dead/x -X POST --data x)" = 502 ] || it_fail "refused upstream (POST): expected 502"
[ "$(code /one/garbage)" = 502 ] || it_fail "a garbage answer: expected 502"
# an answer cut short: the head went out, so the client connection is cut
cl curl -s -m 5 -o /dev/null "http://$GW/one/short"
[ $? = 18 ] || it_fail "a truncated answer: curl did not see a partial transfer"
# a client that goes away in the middle of an upload leaves gwd serving
cl timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=4)
s.sendall(b"POST /one/sha HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 5000)
s.close()' "$GW"
[ "$(code /one/after-abort)" = 200 ] || it_fail "gwd does not answer after a client abort"
it_log "upstream failures: 502 fast, retry, 504 after ${ms} ms, garbage 502, truncation cuts"

# --- active health checks -------------------------------------------------------------
# be3:9 refuses: one failed check takes it out, so no request goes there
# (retries 0 would turn a pick of it into a 502). be2 passes its checks, so
# the upstream is not in panic (all servers down by checks: fail open,
# test_l7_timeouts.sh) and these expectations are unchanged by it.
for ((i = 0; i < 30; i++)); do
	gwctl upstream list --json | grep -q '"health": "down"' && break
	sleep 0.1
done
out=$(gwctl upstream list)
grep -qE "198.18.13.2:9 +1 +down" <<<"$out" || it_fail "health check did not mark be3:9 down: $out"
ok=0
for ((i = 0; i < 10; i++)); do
	[ "$(code /checked/h$i)" = 200 ] && ok=$((ok + 1))
done
[ $ok = 10 ] || it_fail "requests reached the server health checks took out ($ok/10 answered)"
grep -q '^GET /hc$' "$IT_TMP/be2.log" || it_fail "no http health check reached be2"
it_log "active health checks: be3:9 down, all requests answered by be2"

# --- rate limit stage -------------------------------------------------------------------
codes=""
for ((i = 0; i < 5; i++)); do codes+="$(code /limited/l$i) "; done
[ "$codes" = "200 200 200 429 429 " ] || it_fail "rate limit 1/m burst 3: got $codes"
hdrs=$(cl curl -s -D - -o /dev/null -m 5 "http://$GW/limited/l9")
grep -qi '^Retry-After: [1-9]' <<<"$hdrs" || it_fail "429 without Retry-After: $hdrs"
grep -qi '^RateLimit-Limit: 3' <<<"$hdrs" || it_fail "429 without RateLimit-Limit: $hdrs"
grep -qE '^/l[3-9]' <(grep -oE '/l[0-9]$' "$IT_TMP/be1.log") && it_fail "a limited request was forwarded"
it_log "rate limit: 3 admitted, then 429 with Retry-After and RateLimit-*"

# --- round robin weights -------------------------------------------------------------
urls=()
for ((i = 0; i < 40; i++)); do urls+=("http://$GW/api/rr$i"); done
out=$(cl curl -sS -m 10 "${urls[@]}")
n1=$(grep -c '^be1 GET /rr' <<<"$out")
n2=$(grep -c '^be2 GET /rr' <<<"$out")
[ $((n1 + n2)) = 40 ] || it_fail "round robin: $n1 + $n2 answers, not 40"
[ "$n1" -ge 26 ] && [ "$n1" -le 34 ] || it_fail "weights 3:1 not honoured: be1 $n1, be2 $n2"
it_log "round robin 3:1: be1 $n1, be2 $n2"

# --- WebSocket tunnel ------------------------------------------------------------------
out=$(cl timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=4)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, rest = buf.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode())
for msg in (b"ping-1", b"x" * 100000):
    s.sendall(msg)
    got = rest
    while len(got) < len(msg):
        got += s.recv(65536)
    rest = got[len(msg):]
    print("echo-ok" if got[:len(msg)] == msg else "echo-bad")
' "$GW")
[ "$out" = "HTTP/1.1 101 Switching Protocols
echo-ok
echo-ok" ] || it_fail "websocket tunnel: '$out'"
# Upgrade passes only where the route allows it: h2c never (an h2c tunnel
# would carry requests past routing, auth and limits), websocket not on a
# route with upgrade: []. The request goes up as a plain one.
out=$(get /one/up -H 'Upgrade: h2c' -H 'Connection: Upgrade, HTTP2-Settings' \
	-H 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA')
grep -q '^be1 GET /up$' <<<"$out" || it_fail "an h2c Upgrade request was not served: $out"
grep -qi '^Upgrade:\|^HTTP2-Settings:' <<<"$out" && it_fail "an h2c Upgrade reached the origin: $out"
out=$(get /nows/ws -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
	-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 13')
grep -q '^be1 GET /ws$' <<<"$out" || it_fail "upgrade: [] route did not serve the request: $out"
grep -qi '^Upgrade:' <<<"$out" && it_fail "a websocket Upgrade passed a route with upgrade: []: $out"
# Request bodies above the route's max_body (1k): 413, by Content-Length at
# once, chunked when the count passes it; never forwarded whole.
head -c 1024 /dev/zero >"$IT_TMP/1k"
head -c 1025 /dev/zero >"$IT_TMP/1k1"
[ "$(code /small/sha --data-binary @"$IT_TMP/1k")" = 200 ] || it_fail "a body of max_body refused"
[ "$(code /small/sha --data-binary @"$IT_TMP/1k1")" = 413 ] || it_fail "Content-Length above max_body: not 413"
[ "$(code /small/sha -H 'Transfer-Encoding: chunked' --data-binary @"$IT_TMP/1k1")" = 413 ] ||
	it_fail "a chunked body above max_body: not 413"
grep -q '^sha [0-9a-f]* 1025$' "$IT_TMP/be1.log" && it_fail "a body above max_body reached the origin"
# An HTTP/1.0 client gets no 1xx (RFC 9110 15.2): the origin's 100 Continue
# is dropped, the final answer comes.
out=$(raw 'POST /one/echo HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc')
head -1 <<<"$out" | grep -q '^HTTP/1.1 200' || it_fail "HTTP/1.0 client: first line '$(head -1 <<<"$out")'"
grep -q '^HTTP/1.1 100' <<<"$out" && it_fail "a 100 Continue went to an HTTP/1.0 client: $out"
it_log "websocket: 101 and a byte tunnel both ways"

# --- auth stage: API keys and JWT ---------------------------------------------------------
[ "$(code /keyed/k)" = 401 ] || it_fail "API key missing: expected 401"
hdrs=$(cl curl -s -D - -o /dev/null -m 5 -H 'X-API-Key: wrong' "http://$GW/keyed/k")
grep -q '^HTTP/1.1 401' <<<"$hdrs" || it_fail "bad API key: expected 401"
grep -qi '^WWW-Authenticate: ApiKey' <<<"$hdrs" || it_fail "401 without WWW-Authenticate: $hdrs"
out=$(get /keyed/k1 -H "X-API-Key: $APIKEY")
grep -q '^be1 GET /k1$' <<<"$out" || it_fail "good API key refused: $out"
[ "$(code /keyed/k2 -H "X-API-Key: $APIKEY" -H "X-API-Key: $APIKEY")" = 400 ] ||
	it_fail "two API key fields: expected 400"
grep -q '^GET /k$' "$IT_TMP/be1.log" && it_fail "a refused request reached the backend"
rm_args=()
for ((i = 0; i < 20; i++)); do
	rm_args+=(-H "X-Rm$i: spoofed")
done
out=$(get /jwt/j1 -H "Authorization: Bearer $(jwt alice 300)" -H 'X-User-Id: mallory' "${rm_args[@]}")
grep -q '^be1 GET /j1$' <<<"$out" || it_fail "valid JWT refused: $out"
grep -q '^X-Rm' <<<"$out" && it_fail "a field the route removes reached the origin: $(grep '^X-Rm' <<<"$out")"
[ "$(grep -c '^X-Add[0-9]*: v[0-9]*$' <<<"$out")" = 40 ] ||
	it_fail "the route's 40 added fields did not all arrive: $(grep -c '^X-Add' <<<"$out")"
grep -q '^X-User-Id: alice$' <<<"$out" || it_fail "forwarded claim missing: $out"
grep -q 'mallory' <<<"$out" && it_fail "a client-sent X-User-Id was forwarded: $out"
[ "$(code /jwt/j2 -H "Authorization: Bearer $(jwt alice -300)")" = 401 ] ||
	it_fail "expired JWT: expected 401"
[ "$(code /jwt/j3)" = 401 ] || it_fail "no JWT: expected 401"
# Two wrong credentials so far (a bad key, an expired token; a missing one
# does not count): two more make four within a minute, one over 3/m, and
# the client's address is banned in the filter maps (this test attaches
# no XDP, so traffic goes on).
gwctl filter list | grep -q '^198.18.1.2/32' && it_fail "banned before the limit"
code /keyed/b1 -H 'X-API-Key: bad1' >/dev/null
code /keyed/b2 -H 'X-API-Key: bad2' >/dev/null
gwctl filter list | grep -qE '^198.18.1.2/32 +deny' ||
	it_fail "repeated auth failures did not ban: $(gwctl filter list)"
it_log "auth: API keys (401, 400 for two, 200), ES256 JWT (claims forwarded, expiry), ban"

# Key files changed under the running gwd: its loop sees the change
# (inotify, else a 1 s stat) and publishes the new keys; requests never
# read the files. wait_code WANT PATH [CURL ARGS]: polls every 50 ms, up to
# 3 s, until PATH answers WANT; WAITED_MS is how long it took.
wait_code() {
	local want=$1 t0 i
	shift
	t0=$(date +%s%N)
	for ((i = 0; i < 60; i++)); do
		if [ "$(code "$@")" = "$want" ]; then
			WAITED_MS=$((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.05
	done
	it_fail "$1: still not $want 3 s after its key file changed"
}
keyline() { printf '%s %s\n' "$1" "$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)"; }
NEWKEY=n-$RANDOM$RANDOM$RANDOM
[ "$(code /keyed/n0 -H "X-API-Key: $NEWKEY")" = 401 ] || it_fail "unknown API key accepted"
{ keyline acme "$APIKEY"; keyline beta "$NEWKEY"; } >"$IT_TMP/keys.txt.new"
mv "$IT_TMP/keys.txt.new" "$IT_TMP/keys.txt" # an atomic replacement
wait_code 200 /keyed/n1 -H "X-API-Key: $NEWKEY"
added_ms=$WAITED_MS
keyline beta "$NEWKEY" >"$IT_TMP/keys.txt" # rewritten in place, acme gone
wait_code 401 /keyed/n2 -H "X-API-Key: $APIKEY"
removed_ms=$WAITED_MS
[ "$(code /keyed/n3 -H "X-API-Key: $NEWKEY")" = 200 ] || it_fail "the kept API key was refused"
# JWKS: a second key is added (its tokens accepted), then the first removed:
# its token, verified and cached before, is refused.
"$PY" - "$IT_TMP" <<'EOF' || it_fail "cannot make a second EC key"
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = k.public_key().public_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
jwk = {"kty": "EC", "crv": "P-256", "kid": "k2", "alg": "ES256", "use": "sig",
       "x": b(n.x), "y": b(n.y)}
old = json.load(open(sys.argv[1] + "/jwks.json"))
json.dump({"keys": old["keys"] + [jwk]}, open(sys.argv[1] + "/jwks.both", "w"))
json.dump({"keys": [jwk]}, open(sys.argv[1] + "/jwks.k2", "w"))
open(sys.argv[1] + "/jwt2.pem", "wb").write(k.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
TOK1=$(jwt alice 300)
TOK2=$(JWT_PEM=$IT_TMP/jwt2.pem JWT_KID=k2 jwt bob 300)
[ "$(code /jwt/t1 -H "Authorization: Bearer $TOK1")" = 200 ] || it_fail "k1 token refused"
cp "$IT_TMP/jwks.both" "$IT_TMP/jwks.json.new"
mv "$IT_TMP/jwks.json.new" "$IT_TMP/jwks.json"
wait_code 200 /jwt/t2 -H "Authorization: Bearer $TOK2"
jwks_added_ms=$WAITED_MS
cp "$IT_TMP/jwks.k2" "$IT_TMP/jwks.json.new"
mv "$IT_TMP/jwks.json.new" "$IT_TMP/jwks.json"
wait_code 401 /jwt/t3 -H "Authorization: Bearer $TOK1"
jwks_removed_ms=$WAITED_MS
[ "$(code /jwt/t4 -H "Authorization: Bearer $TOK2")" = 200 ] ||
	it_fail "the kept JWT key was refused"
it_log "auth: key files reread live: API key added in ${added_ms} ms, removed in" \
	"${removed_ms} ms; JWKS key added in ${jwks_added_ms} ms, removed in ${jwks_removed_ms} ms"

# --- TLS termination ----------------------------------------------------------------------
# tls PATH [CURL ARGS]: as get, over TLS. Both allow 60 s: the big bodies
# take long in an emulated VM.
tls() {
	local p=$1
	shift
	cl curl -sS -m 60 --cacert "$IT_TMP/api.crt" --resolve "api.test:443:$GW" "$@" \
		"https://api.test$p" || it_fail "curl https $p failed"
}
out=$(tls /one/tls)
grep -q '^be1 GET /tls$' <<<"$out" || it_fail "TLS: got '$out'"
grep -qi '^X-Forwarded-Proto: https$' <<<"$out" || it_fail "TLS: X-Forwarded-Proto not https"
urls=()
for ((i = 0; i < 5; i++)); do urls+=("https://api.test/one/tka$i"); done
out=$(cl curl -sS -m 10 -v --cacert "$IT_TMP/api.crt" --resolve "api.test:443:$GW" "${urls[@]}" 2>&1)
[ "$(grep -c '^be1 GET /tka' <<<"$out")" = 5 ] || it_fail "TLS keep-alive: not 5 answers"
grep -q 'Re-using existing connection' <<<"$out" || it_fail "TLS connection not reused"
grep -q 'SSL connection using TLSv1.3' <<<"$out" || it_fail "TLS 1.3 not negotiated"
head -c 5000000 /dev/urandom >"$IT_TMP/tls.bin"
want=$(sha256sum <"$IT_TMP/tls.bin" | cut -d' ' -f1)
got=$(tls /bulk/echo --data-binary @"$IT_TMP/tls.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || it_fail "TLS 5 MB echo: sha256 differs"
got=$(tls /bulk/big?n=20000000 | sha256sum | cut -d' ' -f1)
want=$("$PY" -c 'import hashlib; p = bytes(range(256)) * 256; n = 20000000
h = hashlib.sha256()
while n: k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())')
[ "$got" = "$want" ] || it_fail "TLS 20 MB download: sha256 differs"
# a client that is no TLS client gets nothing and gwd goes on
out=$(rawp 443 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
grep -q 'HTTP/1.1 200' <<<"$out" && it_fail "plain HTTP answered on the TLS listener"
[ "$(code /healthz)" = 200 ] || it_fail "gwd unwell after a non-TLS client on 443"
it_log "TLS: 1.3, keep-alive, 5 MB up, 20 MB down, X-Forwarded-Proto https"

# --- access log ----------------------------------------------------------------------
sleep 0.2
"$PY" - "$IT_TMP/access.log" <<'EOF' || it_fail "access log lines wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def one(pred, what):
    for l in lines:
        if pred(l):
            return l
    print("FAIL: no access log line for", what)
    sys.exit(1)
l = one(lambda l: l["path"] == "/one/hello", "/one/hello")
assert l["status"] == 200 and l["request_id"] == "abc-123" and l["route"] == "*/one/*" \
    and l["upstream"] == "198.18.11.2:8080" and l["client"] == "198.18.1.2" \
    and l["method"] == "GET", l
assert l["reason"] is None, l
l = one(lambda l: l["path"] == "/nothing/here", "the 404")
assert l["status"] == 404 and l["route"] is None and l["upstream"] is None \
    and l["reason"] == "no_route", l
# gw's own answers have a request id and count their body ("Not Found\n")
assert len(l["request_id"] or "") == 32 and l["bytes_out"] == 10 and l["method"] == "GET", l
# every answer of gwd's own says why
why = {"/dead/x": (502, "connect_failed"), "/one/slow": (504, "upstream_timeout"),
       "/one/garbage": (502, "upstream_failed"), "/healthz": (200, "respond"),
       "/limited/l3": (429, "rate_limited"), "/jwt/j3": (401, "auth")}
for path, (st, reason) in why.items():
    l = one(lambda l: l["path"] == path and l["status"] == st, path)
    assert l["reason"] == reason, l
one(lambda l: l["status"] == 400 and l["route"] is None and l["reason"] == "bad_request",
    "a refused head with its reason")
one(lambda l: l["status"] == 431 and l["reason"] == "head_too_large", "a 431 with its reason")
# a refused head still names its method and path when its request line does
one(lambda l: l["status"] == 505 and l["method"] and l["path"] and l["request_id"]
    and l["reason"] == "bad_request", "a 505 with method, path and request id")
l = one(lambda l: l["path"] == "/bulk/sha" and l["bytes_in"] == 100000000, "the 100 MB upload")
assert l["status"] == 200, l
l = one(lambda l: l["path"] == "/keyed/k1", "the request with an API key")
assert l["consumer"] == "acme", l
l = one(lambda l: l["path"] == "/jwt/j1", "the request with a JWT")
assert l["consumer"] == "alice", l
l = one(lambda l: l["path"] == "/one/tls", "the TLS request")
assert l["tls"] == "TLSv1.3", l
EOF
mv "$IT_TMP/access.log" "$IT_TMP/access.log.1"
kill -USR1 "$IT_GWD_PID"
sleep 0.2
get /one/rotated >/dev/null
sleep 0.2
grep -q '"path":"/one/rotated"' "$IT_TMP/access.log" 2>/dev/null ||
	it_fail "SIGUSR1: the access log was not reopened"
it_log "access log: fields, SIGUSR1 reopen: ok"

# --- gwctl and live server changes ------------------------------------------------------
out=$(gwctl upstream list) || it_fail "gwctl upstream list failed"
grep -q "^web (round_robin" <<<"$out" || it_fail "upstream list lacks web: $out"
grep -qE "198.18.11.2:8080 +3 +up" <<<"$out" || it_fail "upstream list lacks be1: $out"
out=$(gwctl route list) || it_fail "gwctl route list failed"
grep -q "respond 200" <<<"$out" || it_fail "route list lacks the respond route: $out"
grep -q "upstream web, strip_prefix" <<<"$out" || it_fail "route list lacks /api/: $out"
gwctl upstream server drain one $BE1:8080 >/dev/null 2>&1 || it_fail "server drain failed"
[ "$(code /one/x)" = 503 ] || it_fail "no usable server: expected 503"
gwctl upstream server add one $BE2:8080 --weight 2 >/dev/null 2>&1 || it_fail "server add failed"
out=$(get /one/x)
grep -q '^be2 GET /x' <<<"$out" || it_fail "added server not used: $out"
gwctl upstream server del one $BE2:8080 >/dev/null 2>&1 || it_fail "server del failed"
gwctl upstream server add one $BE1:8080 >/dev/null 2>&1 || it_fail "undrain failed"
grep -q '^be1 GET /x' <<<"$(get /one/x)" || it_fail "undrained server not used"
gwctl upstream server del nosuch $BE1:8080 >/dev/null 2>&1 && it_fail "unknown upstream accepted"
# bash completion: upstreams and their servers, in the file's order.
out=$(it_complete "$SOCK" upstream server drain)
[[ "$out " == "web one "* ]] || it_fail "completion of upstreams: $out"
out=$(it_complete "$SOCK" upstream server del one)
[ "$out" = "$BE1:8080" ] || it_fail "completion of one's servers: $out"
it_log "gwctl upstream/route list, server drain/add/del: ok"

# --- metrics ---------------------------------------------------------------------------
m=$(cl curl -sS -m 5 "http://$GW:9100/metrics")
grep -qE '^gw_http_requests_total\{route="\*/healthz",code="200"\} [1-9]' <<<"$m" ||
	it_fail "no request count for the respond route: $(grep gw_http <<<"$m" | head -5)"
grep -qE '^gw_http_requests_total\{route="none",code="404"\} [1-9]' <<<"$m" ||
	it_fail "no 404 count"
grep -qE '^gw_http_requests_total\{route="\*/dead/\*",code="502"\} [1-9]' <<<"$m" ||
	it_fail "no 502 count for /dead/"
# gwd's own answers, by reason
for want in 'route="none",code="404",reason="no_route"' \
	'route="\*/dead/\*",code="502",reason="connect_failed"' \
	'route="\*/one/\*",code="504",reason="upstream_timeout"' \
	'route="\*/healthz",code="200",reason="respond"' \
	'route="[^"]*/limited/\*",code="429",reason="rate_limited"' \
	'route="[^"]*/jwt/\*",code="401",reason="auth"'; do
	grep -qE "^gw_http_gateway_answers_total\{$want\} [1-9]" <<<"$m" ||
		it_fail "no gw_http_gateway_answers_total{$want}: $(grep gateway_answers <<<"$m")"
done
grep -qE '^gw_http_gateway_answers_total\{route="\*/one/\*",code="200"' <<<"$m" &&
	it_fail "an upstream's answer counted as gwd's own"
grep -qE '^gw_http_request_duration_seconds_count\{route="\*/one/\*"\} [1-9]' <<<"$m" ||
	it_fail "no duration histogram"
grep -qE '^gw_upstream_server_up\{upstream="web",server="198.18.11.2:8080"\} 1' <<<"$m" ||
	it_fail "no gw_upstream_server_up"
grep -qE '^gw_ratelimited_total\{layer="l7"\} [3-9]' <<<"$m" || it_fail "no l7 rate-limit count"
grep -qE '^gw_upstream_server_up\{upstream="checked",server="198.18.13.2:9"\} 0' <<<"$m" ||
	it_fail "the server health checks took out is not reported down"
it_log "metrics: ok"

# --- reload -------------------------------------------------------------------------------
write_cfg '  - match: { path_exact: /new }
    respond: { status: 201, body: "new\n" }'
kill -HUP "$IT_GWD_PID"
for ((i = 0; i < 50; i++)); do
	[ "$(code /new)" = 201 ] && break
	sleep 0.1
done
[ "$(code /new)" = 201 ] || it_fail "reload: the new route does not answer"
[ "$(code /healthz)" = 200 ] || it_fail "reload: the old route is gone"
# a file that parses but whose certificate does not load: all of it is refused
cp "$IT_TMP/api.crt" "$IT_TMP/api.crt.good"
echo garbage >"$IT_TMP/api.crt"
write_cfg '  - match: { path_exact: /newer }
    respond: { status: 202, body: "newer\n" }'
kill -HUP "$IT_GWD_PID"
for ((i = 0; i < 50; i++)); do
	grep -q 'L7 cannot run' "$LOG" && break
	sleep 0.1
done
grep -q 'L7 cannot run' "$LOG" || it_fail "reload with a bad certificate not refused"
[ "$(code /newer)" = 404 ] || it_fail "a refused reload changed the routes"
[ "$(code /new)" = 201 ] || it_fail "a refused reload lost the running routes"
mv "$IT_TMP/api.crt.good" "$IT_TMP/api.crt"
it_log "reload: ok; a bad certificate keeps the running config"

grep -q 'l7: 2 workers' "$LOG" || it_fail "gateway.workers: 2 not honoured"

# --- a reload that removes every listener drains in the background --------------------------
# The slow request (3 s) outlives the reload's round trip by far: gwctl
# answers at once while the old runtime finishes the request on its own.
cl curl -s -m 10 -o "$IT_TMP/bgdrain.out" -w '%{http_code}' "http://$GW/api/slow?ms=3000" \
	>"$IT_TMP/bgdrain.code" &
cpid=$!
sleep 0.5
cp "$CFG" "$IT_TMP/with-listeners.yaml"
"$PY" - "$CFG" <<'EOF2'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"^listeners:\n(  - .*\n)+", "", s, flags=re.M)
open(p, "w").write(s)
EOF2
grep -q '^listeners:' "$CFG" && it_fail "the test could not remove the listeners"
dt0=$(grep -c 'drain timeout, closing' "$LOG")
t0=$(date +%s%N)
gwctl reload >/dev/null || it_fail "gwctl reload without listeners failed"
rt_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rt_ms" -lt 1000 ] || it_fail "a reload removing the listeners took $rt_ms ms (it waited on the drain)"
gwctl status >/dev/null || it_fail "the admin socket does not answer during the drain"
wait "$cpid"
[ "$(cat "$IT_TMP/bgdrain.code")" = 200 ] ||
	it_fail "the in-flight request was not drained: $(cat "$IT_TMP/bgdrain.code")"
# the drain ends when the last connection closes (polled every 50 ms), at
# the latest at drain_timeout (5 s): wait past that, then say which it was
for ((i = 0; i < 80; i++)); do
	grep -q 'the stopped runtime has drained' "$LOG" && break
	sleep 0.1
done
grep -q 'the stopped runtime has drained' "$LOG" ||
	it_fail "the background drain did not finish: $(grep 'l7:' "$LOG" | tail -5)"
[ "$(grep -c 'drain timeout, closing' "$LOG")" = "$dt0" ] ||
	it_fail "the drain waited for a connection other than the in-flight one: $(grep 'l7:' "$LOG" | tail -5)"
cp "$IT_TMP/with-listeners.yaml" "$CFG"
gwctl reload >/dev/null || it_fail "reload with the listeners back failed"
[ "$(code /healthz)" = 200 ] || it_fail "the listeners did not come back"
it_log "reload removing the listeners: gwctl answered in $rt_ms ms, the in-flight request got 200"

# --- wrk smoke run ----------------------------------------------------------------------------
# On its own upstream (be1, response timeout 10 s): the thread-per-connection
# python origin, starved of CPU in an emulated guest, answered some requests
# after more than the 1 s of upstream `one` (issue 17: 504s, wrk's latency max
# 1.07 s). A slow origin is no gwd error; every answer of gwd's own still
# fails the run, and its reason is printed.
if command -v wrk >/dev/null; then
	out=$(cl timeout 30 wrk -t2 -c32 -d3s --timeout 15s -s "$IT_ROOT/tests/integ/wrk_status.lua" \
		"http://$GW/load/w" 2>&1)
	echo "$out" | grep -E 'Requests/sec|Latency|Socket errors|Non-2xx|^status '
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
		# which answers, and why gw made them (the access log's reason)
		sleep 0.2
		grep -v '"status":200,' "$IT_TMP/access.log" | tail -20
		cl curl -s -m 5 "http://$GW:9100/metrics" | grep '^gw_http_gateway_answers_total'
		it_fail "wrk saw non-2xx answers or socket errors: $(grep '^status ' <<<"$out" | tr '\n' ' ')"
	fi
	grep -q 'Requests/sec' <<<"$out" || it_fail "wrk did not run: $out"
fi

# --- SIGTERM drains ---------------------------------------------------------------------------
cl curl -s -m 10 -o "$IT_TMP/drain.out" -w '%{http_code}' "http://$GW/api/slow?ms=1500" \
	>"$IT_TMP/drain.code" &
cpid=$!
sleep 0.5
kill -TERM "$IT_GWD_PID"
wait "$cpid"
[ "$(cat "$IT_TMP/drain.code")" = 200 ] || it_fail "in-flight request not drained: $(cat "$IT_TMP/drain.code")"
for ((i = 0; i < 50; i++)); do
	kill -0 "$IT_GWD_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$IT_GWD_PID" 2>/dev/null && it_fail "gwd did not exit after the drain"
wait "$IT_GWD_PID"
rc=$?
[ $rc = 0 ] || it_fail "gwd exited $rc after SIGTERM"
[ "$(code /healthz)" = 000 ] || it_fail "gwd still answers after SIGTERM"
it_log "SIGTERM: in-flight request answered, gwd exited 0 ($(($(date +%s) - T0)) s in all)"
echo PASS
