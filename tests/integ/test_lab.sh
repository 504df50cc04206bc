#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The lab (`make run`, examples/lab.sh) runs end to end: it exits 0 within
# its time bound, shows answers from the backends over every L4 service,
# the denied client unanswered, the L7 statuses (200 /healthz, 401 without
# the API key, 200 with it, 429, 404), the gwctl tables, the second node
# gw-b (cluster status, /shared limited across both nodes, gw-b's ban in
# gw-a's XDP), and leaves nothing behind: no namespace, no pin directory,
# no gwd it started.
. "$(dirname "$0")/lib.sh"
it_init lab-test
command -v curl >/dev/null || it_skip "missing curl"
[ -x "$BUILD/bin/gwd" ] || it_skip "missing gwd (run make)"

OUT=$IT_TMP/lab.out
timeout 240 "$IT_ROOT/examples/lab.sh" >"$OUT" 2>&1
rc=$?
# colours off for matching
sed -i 's/\x1b\[[0-9;]*m//g' "$OUT"
[ "$rc" = 0 ] || { tail -n 40 "$OUT"; it_fail "lab.sh exited $rc"; }

# need REGEX WHAT: the lab's output must contain a line matching REGEX
need() {
	grep -qE "$1" "$OUT" || { tail -n 60 "$OUT"; it_fail "lab output lacks $2 ($1)"; }
}
suf=$(sed -n 's/^== building the topology (suffix \([0-9a-f]*\))$/\1/p' "$OUT")
[ -n "$suf" ] || it_fail "lab output has no topology suffix"
need '^   cl1 request [0-9] -> be[123] nat-[0-9]$' "an answer over the v4 nat service"
need '^   cl2 request [0-9] -> be[123] dsr-[0-9]$' "an answer over the ipip service"
need '^   cl1 request [0-9] -> be[123] v6-[0-9]$' "an answer over the v6 nat service"
need '^   from 198\.18\.2\.66 -> \(no answer' "the denied client unanswered"
need '^   from 198\.18\.2\.2  -> be[123] allowed$' "cl2's allowed address answered"
need '^ratelimit +drop +[1-9][0-9]* ' "rate-limit drops in gwctl stats"
need '^HTTP/1.1 200 OK' "the /healthz answer"
need '^X-Gateway: gw-lab' "the added request header at the backend"
need '^be[123] GET /hello$' "a proxied /api/ request with the prefix stripped"
need '^be[123] GET /tls$' "a request over TLS"
need '^   request [0-9] -> be[123] GET /rr-[0-9]$' "round-robin answers"
need '^X-User-Id: alice$' "the JWT's sub forwarded to the backend"
# the statuses in the order the lab asks for them: 401, 200 (API key),
# 401, 200 (JWT), 200, 200, 429 (limited), 404
got=$(grep -oE '^status [0-9]+$' "$OUT" | cut -d' ' -f2 | tr '\n' ' ')
[ "$got" = "401 200 401 200 200 200 429 404 " ] || it_fail "L7 statuses: got '$got'"
need '^SERVICE +VIP +PROTO +FWD' "the gwctl service table"
need '^  backend 198\.18\.13\.2:7000 +weight 2 ' "a backend row of web4"
need '^  SERVER +WEIGHT +STATE' "the gwctl upstream table"
need '^  198\.18\.1[123]\.2:8080 +[12] +up ' "an upstream server up"
need '^INDEX ROUTE +ACTION' "the gwctl route table"
need '^   cl1 -> \(no answer' "cl1 blocked after gwctl filter deny add"
need '^198\.18\.13\.2:7000 draining web4' "the drain"
need '^reloaded .*config generation 2' "the reload"
need '"status":429' "the access log"
need '^gw_xdp_packets_total\{' "metrics"
drained=$(sed -n '/^== live change: drain/,/^== reload/p' "$OUT" | grep -c 'be3 drained-')
[ "$drained" = 0 ] || it_fail "drained be3 still got $drained new connections"
need '^gw-b +yes ' "the second node in gwctl cluster status"
need '^status 429 from 198\.18\.5\.2$' "the /shared limit across both nodes (the 4th of a burst of 3)"
need '^198\.18\.1\.2/32 +deny +ban +auto-ban +[0-9]+s +gw-b$' "gw-b's ban in gw-a's filter, with its node"
need 'no answer: banned in gw-a' "cl1 dropped by gw-a after gw-b banned it"
need '^lab: done' "the end of the lab"

# nothing left behind
left=$(ip netns list | grep -c "gwit-$suf-")
[ "$left" = 0 ] || it_fail "$left lab namespaces left: $(ip netns list | grep "gwit-$suf-")"
[ -e "/sys/fs/bpf/gw-it-$suf" ] && it_fail "lab pins left in /sys/fs/bpf/gw-it-$suf"
pgrep -f "gw-it-lab\.[A-Za-z0-9]+/lab.yaml" >/dev/null && it_fail "a lab gwd still runs"
for d in /tmp/gw-it-lab.*; do
	[ -e "$d/lab.yaml" ] && grep -q "gw-it-$suf" "$d/lab.yaml" && it_fail "lab temp dir left: $d"
done
it_log "lab: ok (suffix $suf)"
