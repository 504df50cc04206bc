#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP/2 upstreams multiplexed (docs/http2.md): 40 streams from one h2c
# client (tests/integ/h2_burst.py: curl 7.88's -Z breaks on many parallel
# h2 transfers) go to python3-h2 origins (tests/integ/h2_origin.py, answering
# after 0.3 s so that they overlap) over shared upstream connections:
#   - http2.max_concurrent_streams: 10 -> at most 4 TCP connections, never
#     more than 10 streams at once on one;
#   - an origin advertising SETTINGS_MAX_CONCURRENT_STREAMS 5 -> once its
#     SETTINGS are known, never more than 5 at once on one connection;
#   - an origin sending GOAWAY mid-load (last stream ID two requests back)
#     -> the streams above it go again on a new connection, none is lost;
#   - a POST body through a shared connection;
#   - protocol h2 (TLS, ALPN h2, CA made here, verify_name): the same
#     40 streams; an origin whose ALPN offers only http/1.1 -> 502 and
#     gwd's log says why;
# every answer checked.
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init l7h2up
it_gwd_setup 1 curl openssl
D=$IT_TMP
BE=198.18.11.2
"$PY" -c 'import h2' 2>/dev/null || it_skip "python3-h2 missing"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=origin.test -addext subjectAltName=DNS:origin.test \
	-keyout "$D/o.key" -out "$D/o.crt" >/dev/null 2>&1 || it_skip "openssl cannot make a cert"

origin() {	# origin PORT NAME ARGS...
	local port=$1 name=$2
	shift 2
	it_bg "${IT_BE[0]}" "$D/$name.out" "$PY" "$IT_ROOT/tests/integ/h2_origin.py" "$port" \
		"$D/$name.log" 50 "$@"
}
origin 8081 mux
origin 8082 peer --streams 5
origin 8083 ga --goaway 6
origin 8443 tls --tls "$D/o.crt" "$D/o.key"
origin 8444 tls1 --tls "$D/o.crt" "$D/o.key" --alpn http/1.1

# one worker: sessions are per worker, and the peer check needs the
# session its first request made
{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  workers: 1
listeners:
  - { name: h2c, address: "$GW:80", h2c: true }
upstreams:
  - name: mux
    servers: [$BE:8081]
    protocol: h2c
    http2: { max_concurrent_streams: 10 }
  - { name: peer, servers: [$BE:8082], protocol: h2c }
  - name: ga
    servers: [$BE:8083]
    protocol: h2c
    http2: { max_concurrent_streams: 10 }
  - name: tls
    servers: [$BE:8443]
    protocol: h2
    tls: { ca: $D/o.crt, verify_name: origin.test }
    http2: { max_concurrent_streams: 10 }
  - name: tls1
    servers: [$BE:8444]
    protocol: h2
    tls: { ca: $D/o.crt, verify_name: origin.test }
routes:
  - { match: { path_prefix: /mux/ }, upstream: mux }
  - { match: { path_prefix: /peer/ }, upstream: peer }
  - { match: { path_prefix: /ga/ }, upstream: ga }
  - { match: { path_prefix: /tls/ }, upstream: tls }
  - { match: { path_prefix: /tls1/ }, upstream: tls1 }
YAML
"$BUILD/bin/gwd" --check -c "$CFG" >/dev/null || it_fail "gwd --check refused the config"
it_gwd_start "$CFG" "$LOG" "$SOCK"
for ((i = 0; i < 50; i++)); do
	[ "$(nsx "${IT_BE[0]}" ss -ltn | grep -cE ':(8081|8082|8083|8443|8444) ')" = 5 ] && break
	sleep 0.1
done

# burst PREFIX: 40 GETs at once on one h2c connection; every answer must
# be "ok /PREFIX/i".
burst() {
	local p=$1 got want
	got=$(cl timeout 30 "$PY" "$IT_ROOT/tests/integ/h2_burst.py" "$GW" 80 "$p" 40 2>&1 | sort)
	want=$(for ((i = 1; i <= 40; i++)); do echo "200 ok /$p/$i"; done | sort)
	[ "$got" = "$want" ] || it_fail "$p: answers: $(diff <(echo "$want") <(echo "$got") | grep "^>" | head)"
}
# most NAME FIELD: the largest "conc C N" / count of "accept" in NAME's log
most() { awk '$1 == "conc" && $3 > m { m = $3 } END { print m + 0 }' "$D/$1.log"; }
accepts() { grep -c '^accept' "$D/$1.log"; }

burst mux
a=$(accepts mux) m=$(most mux)
it_log "mux: 40 streams over $a connections, at most $m at once on one"
[ "$a" -le 4 ] || it_fail "mux: $a connections for 40 streams at 10 each"
[ "$m" -le 10 ] || it_fail "mux: $m streams at once on one connection (limit 10)"
[ "$m" -ge 2 ] || it_fail "mux: no two streams ever shared a connection"

# one request first: the session then knows the server's SETTINGS (before
# them, RFC 9113 5.1.2 lets a client open more; nghttp2 sends up to 100)
got=$(cl timeout 10 curl -sS --http2-prior-knowledge "http://$GW/peer/first")
[ "$got" = "ok /peer/first" ] || it_fail "peer: first request: '$got'"
: >"$D/peer.log"
burst peer
a=$(accepts peer) m=$(most peer)
it_log "peer: at most $m streams at once on one connection (the origin allows 5), $a new ones"
[ "$m" -le 5 ] || it_fail "peer: $m streams at once (SETTINGS_MAX_CONCURRENT_STREAMS 5)"
[ "$a" -ge 7 ] || it_fail "peer: 40 streams at 5 each over $a more connections"

burst ga
g=$(grep -c '^goaway' "$D/ga.log")
it_log "ga: $g GOAWAYs, $(accepts ga) connections, every request answered"
[ "$g" -ge 1 ] || it_fail "ga: the origin sent no GOAWAY"

# a POST body on a shared connection
got=$(cl timeout 10 curl -sS --http2-prior-knowledge --data-binary @<(head -c 100000 /dev/zero) \
	"http://$GW/mux/post")
[ "$got" = "ok /mux/post 100000" ] || it_fail "POST through mux: '$got'"

# protocol h2: TLS with ALPN h2
burst tls
a=$(accepts tls) m=$(most tls)
it_log "h2 (TLS): 40 streams over $a connections, at most $m at once"
if [ "$a" -gt 4 ] || [ "$m" -gt 10 ]; then
	it_fail "tls: $a connections, $m at once"
fi
code=$(cl timeout 10 curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge \
	"http://$GW/tls1/x")
[ "$code" = 502 ] || it_fail "an origin without h2 in ALPN: $code, not 502"
grep -q 'did not choose h2 by ALPN' "$LOG" || it_fail "gwd's log does not say why (ALPN)"

kill -0 "$IT_GWD_PID" || it_fail "gwd died"
echo "PASS"
