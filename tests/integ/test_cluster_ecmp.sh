#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Two gateway nodes in front of the same backends (issue 14's ECMP
# properties, docs/cluster.md): one L2 segment (a bridge in its own netns)
# joins a client, gateway netns A and B (gwd and XDP on their one link, the
# packets hairpinned with XDP_TX) and four backends. Both nodes serve a
# UDP and a TCP `ipip` service (backends decapsulate with gw-decap and
# answer the client directly) and a TCP `nat` service translated from the
# cluster's nat_source, which both nodes own and the backends route to one
# of them; the nodes share their `nat` flows through a redis-server on the
# segment.
#
# (a) the same backend for every flow on both nodes: 200 UDP flows (fixed
#     source ports) are sent through A, then through B (the client's route
#     to the VIPs moved), and must reach the same backend; also after the
#     same live backend changes were applied in opposite orders on A and B
#     (the files list the backends in different orders too); then through a
#     multipath route over A and B (port hashing): spread over both nodes,
#     the same backends.
# (b) a TCP connection to the ipip service moved from A to B in mid-stream
#     (the client's route replaced) keeps its backend and survives; so does
#     one to the nat service whose client route and then the backends'
#     return route move from A to B; and a nat connection translated by A
#     whose replies all go to B (which never sees the client's packets)
#     works from the flows B imported from Redis.
# The gateways run XDP in generic mode: with native XDP, XDP_TX on a veth
# whose peer is a bridge port waits for that port's next NAPI poll (frames
# held for seconds); the datapath's code is the same in both modes.
. "$(dirname "$0")/lib.sh"
it_init ecmp
it_need_gwd
it_need_datapath
it_need_tools redis-server redis-cli

NET=198.18.70
VU=${IT_VIPS4[0]}	# udp ipip
VT=${IT_VIPS4[1]}	# tcp ipip
VN=${IT_VIPS4[2]}	# tcp nat
NS=198.18.71.1		# cluster.nat_source
SW=gwit-$IT_SUF-sw
CL=gwit-$IT_SUF-cl
NA=gwit-$IT_SUF-ga
NB=gwit-$IT_SUF-gb
RD=gwit-$IT_SUF-rd
T0=$(date +%s)

port() {
	local ns=$1 ifc=$2 a=$3
	it_netns_add "$ns"
	it_link "$ns" "$ifc" "$SW" "p$ifc"
	nsx "$SW" ip link set "p$ifc" master br0
	nsx "$ns" ip addr add "$a/24" dev "$ifc"
}
it_netns_add "$SW"
nsx "$SW" ip link add br0 type bridge
nsx "$SW" ip link set br0 up
port "$CL" "c-$IT_SUF" "$NET.10"
port "$NA" "a-$IT_SUF" "$NET.1"
port "$NB" "b-$IT_SUF" "$NET.2"
port "$RD" "r-$IT_SUF" "$NET.5"
for ns in "$NA" "$NB"; do
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
	nsx "$ns" ip addr add "$NS/32" dev lo
done
it_bg "$RD" "$IT_TMP/redis.log" redis-server --bind "$NET.5" --port 6379 --save '' \
	--appendonly no --dir "$IT_TMP" --daemonize no --protected-mode no
for ((i = 0; i < 50; i++)); do
	nsx "$RD" redis-cli -h "$NET.5" ping 2>/dev/null | grep -q PONG && break
	sleep 0.1
done
it_server_py
IT_BE=()
for k in 1 2 3 4; do
	ns=gwit-$IT_SUF-b$k
	port "$ns" "b$k-$IT_SUF" "$NET.2$k"
	IT_BE+=("$ns")
	nsx "$ns" ip addr add "$VT/32" dev lo
	nsx "$ns" ip addr add "$VU/32" dev lo
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0
	ip netns exec "$ns" "$PY" "$IT_TMP/server.py" "be$k" 7000 120 >"$IT_TMP/be$k.log" 2>&1 &
	IT_PIDS+=($!)
	it_decap "$ns" "b$k-$IT_SUF" "$NET.2$k"
done
# via NODE_ADDR: the client's route to both VIPs.
via() {
	nsx "$CL" ip route replace "$VU/32" via "$1"
	nsx "$CL" ip route replace "$VT/32" via "$1"
	nsx "$CL" ip route replace "$VN/32" via "$1"
}
# back NODE_ADDR: the backends' route to the nat source.
back() {
	local k
	for k in 1 2 3 4; do
		nsx "gwit-$IT_SUF-b$k" ip route replace "$NS/32" via "$1"
	done
}

# cfg NODE IFACE BACKENDS...: a node's gateway.yaml.
cfg() {
	local node=$1 ifc=$2 b
	shift 2
	printf 'version: 1\ngateway:\n  pin_root: %s/%s-%s\n  admin_socket: %s/%s.sock\n' \
		"$IT_PIN" "$node" "$IT_SUF" "$IT_TMP" "$node"
	printf '  interfaces: [{ name: %s, xdp_mode: generic }]\n' "$ifc"
	printf 'cluster: { node: %s, redis: "%s:6379", nat_source: [%s] }\n' "$node" "$NET.5" "$NS"
	printf 'services:\n'
	printf '  - { name: u, vip: %s, port: 7000, protocol: udp, forwarding: ipip, backends: [' "$VU"
	for b in "$@"; do printf '%s:7000, ' "$NET.2$b"; done | sed 's/, $//'
	printf '] }\n'
	printf '  - { name: t, vip: %s, port: 7000, protocol: tcp, forwarding: ipip, backends: [' "$VT"
	for b in "$@"; do printf '%s:7000, ' "$NET.2$b"; done | sed 's/, $//'
	printf '] }\n'
	printf '  - { name: n, vip: %s, port: 7000, protocol: tcp, forwarding: nat, backends: [' "$VN"
	for b in "$@"; do printf '%s:7000, ' "$NET.2$b"; done | sed 's/, $//'
	printf '] }\n'
}
cfg a "a-$IT_SUF" 1 2 3 >"$IT_TMP/a.yaml"
cfg b "b-$IT_SUF" 3 1 2 >"$IT_TMP/b.yaml"
start() {
	local node=$1 ns=$2 i n
	nsenter --net="/run/netns/$ns" "$GWD" -c "$IT_TMP/$node.yaml" --foreground \
		--map-size ct=4096 --map-size nat=4096 --map-size rl_v4=1024 --map-size rl_v6=1024 \
		--map-size filter_v4=256 --map-size filter_v6=256 >>"$IT_TMP/$node.log" 2>&1 &
	IT_PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		n=$(grep -sc 'gwd: running' "$IT_TMP/$node.log")
		[ "${n:-0}" -ge 1 ] && [ -S "$IT_TMP/$node.sock" ] && return 0
		sleep 0.1
	done
	it_fail "gwd $node did not start: $(tail -20 "$IT_TMP/$node.log")"
}
start a "$NA"
start b "$NB"
gwctl() { local n=$1; shift; "$GWCTL" -q -s "$IT_TMP/$n.sock" "$@"; }

# flows OUT: one UDP datagram from each of 200 fixed source ports; each
# answer's backend into OUT ("PORT beK", "PORT -" for none).
flows() {
	nsx "$CL" timeout 60 "$PY" - "$VU" >"$1" <<'PYEOF'
import socket, sys
vip = sys.argv[1]
for p in range(41000, 41200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.70.10", p))
    s.settimeout(1)
    got = "-"
    for _ in range(3):
        try:
            s.sendto(b"x", (vip, 7000))
            got = s.recvfrom(100)[0].split()[0].decode()
            break
        except OSError:
            pass
    s.close()
    print(p, got)
PYEOF
}
# compare WHAT: the same backend for every flow through A and through B.
compare() {
	via "$NET.1"
	flows "$IT_TMP/fa"
	via "$NET.2"
	flows "$IT_TMP/fb"
	grep -q " -$" "$IT_TMP/fa" "$IT_TMP/fb" && it_fail "$1: unanswered flows: $(grep " -$" "$IT_TMP/fa" | head -5 | xargs) $(nsenter --net="/run/netns/$NA" "$DPCTL" --pin-root "$IT_PIN/a-$IT_SUF" stats 2>&1 | head -30)"
	diff -q "$IT_TMP/fa" "$IT_TMP/fb" >/dev/null ||
		it_fail "$1: $(diff "$IT_TMP/fa" "$IT_TMP/fb" | grep -c '^<') of 200 flows reach another backend on B"
	it_log "$1: 200 flows, the same backend through A and B ($(awk '{ print $2 }' "$IT_TMP/fa" | sort | uniq -c | xargs))"
}
compare "backends listed 1 2 3 on A, 3 1 2 on B"

# The same changes, in opposite orders.
{ gwctl a backend add u "$NET.24:7000" && gwctl a backend del u "$NET.22:7000"; } >/dev/null ||
	it_fail "live changes on A"
{ gwctl b backend del u "$NET.22:7000" && gwctl b backend add u "$NET.24:7000"; } >/dev/null ||
	it_fail "live changes on B"
compare "be4 added and be2 removed, in opposite orders"

# The client's route to the VIP multipath over A and B (hashing ports,
# as a router's ECMP does): the flows spread over both nodes and still
# reach the backends the single-path runs saw.
nsx "$CL" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
nsx "$CL" ip route replace "$VU/32" nexthop via "$NET.1" nexthop via "$NET.2"
# pkts NS NODE: packets node NODE (in NS) steered to the UDP service.
pkts() {
	nsenter --net="/run/netns/$1" "$DPCTL" --pin-root "$IT_PIN/$2-$IT_SUF" stats |
		awk -v v="$VU:7000" '$1 == v { print $8 }'
}
pa0=$(pkts "$NA" a)
pb0=$(pkts "$NB" b)
flows "$IT_TMP/fm"
diff -q "$IT_TMP/fa" "$IT_TMP/fm" >/dev/null ||
	it_fail "multipath: $(diff "$IT_TMP/fa" "$IT_TMP/fm" | grep -c '^<') of 200 flows reach another backend"
pa=$(($(pkts "$NA" a) - pa0))
pb=$(($(pkts "$NB" b) - pb0))
if [ "$pa" -le 20 ] || [ "$pb" -le 20 ]; then
	it_fail "multipath: A steered $pa, B $pb of the 200 flows"
fi
it_log "multipath route: 200 flows over both nodes (A $pa, B $pb packets), the same backends"

# conn VIP N OUT: a TCP connection to VIP:7000 in the background (pid in
# MPID) sending N lines 50 ms apart; the backend of each answer into OUT.
# How long connecting took (ms) into OUT.ms.
conn() {
	nsx "$CL" timeout 30 "$PY" - "$1" "$2" "$3" <<'PYEOF' &
import socket, sys, time
# connecting may take TCP's SYN-ACK resend (1 s, 3 s) when the first
# reached a node before the flow's entry did
t0 = time.monotonic()
s = socket.create_connection((sys.argv[1], 7000), timeout=10)
t1 = time.monotonic()
s.settimeout(3)
f = s.makefile("rwb", buffering=0)
seen = []
for i in range(int(sys.argv[2])):
    f.write(b"m%d\n" % i)
    seen.append(f.readline().split()[0].decode())
    time.sleep(0.05)
open(sys.argv[3], "w").write(" ".join(seen) + "\n")
open(sys.argv[3] + ".ms", "w").write("%d\n" % ((t1 - t0) * 1000))
PYEOF
	MPID=$!
}
# answered WHAT N OUT: conn's N answers all came, from one backend.
answered() {
	[ "$(tr ' ' '\n' <"$3" | sort -u | wc -l)" = 1 ] ||
		it_fail "$1 changed backends: $(cat "$3")"
	[ "$(wc -w <"$3")" = "$2" ] || it_fail "$1 lost answers: $(cat "$3")"
}

# (b) a TCP connection to the ipip VIP moved from A to B in mid-stream.
via "$NET.1"
conn "$VT" 40 "$IT_TMP/moved"
sleep 1
via "$NET.2"
wait "$MPID" || it_fail "the moved connection broke: $(cat "$IT_TMP/moved" 2>/dev/null)"
answered "the moved connection" 40 "$IT_TMP/moved"
gwctl b conntrack list | grep -q "$VT" || it_fail "B never carried the moved connection"
it_log "ipip: a TCP connection moved from A to B in mid-stream kept $(cut -d' ' -f1 "$IT_TMP/moved") and all 40 answers"

# (b) nat: the client's route, then the backends' route back, move from A
# to B in mid-stream.
via "$NET.1"
back "$NET.1"
conn "$VN" 40 "$IT_TMP/nmoved"
sleep 1
via "$NET.2"
sleep 0.5
back "$NET.2"
wait "$MPID" || it_fail "the moved nat connection broke: $(cat "$IT_TMP/nmoved" 2>/dev/null)"
answered "the moved nat connection" 40 "$IT_TMP/nmoved"
gwctl b conntrack list | grep -q "$VN" || it_fail "B never carried the moved nat connection"
it_log "nat: a TCP connection moved from A to B in mid-stream (both ways) kept $(cut -d' ' -f1 "$IT_TMP/nmoved") and all 40 answers"

# nat: A translates, every reply goes to B, which knows the flow only from
# Redis (a reply before the flow came is dropped there; TCP sends again).
via "$NET.1"
back "$NET.2"
nat_stat() { gwctl "$1" cluster status --json | jq -r ".$2"; }
imp0=$(nat_stat b nat_imported)
conn "$VN" 10 "$IT_TMP/nsplit"
wait "$MPID" || it_fail "the nat connection answered through B broke: $(cat "$IT_TMP/nsplit" 2>/dev/null) A: $(gwctl a cluster status --json | jq -c .) B: $(gwctl b cluster status --json | jq -c .) $(nsx "$RD" redis-cli -h "$NET.5" xrange gw:nat - + | head -c 600) $(tail -5 "$IT_TMP/b.log")"
answered "the nat connection answered through B" 10 "$IT_TMP/nsplit"
imp=$(($(nat_stat b nat_imported) - imp0))
pub=$(nat_stat a nat_published)
[ "$imp" -ge 1 ] || it_fail "B imported no nat flow ($(gwctl b cluster status --json))"
it_log "nat: a connection translated by A and answered through B worked ($imp flows imported by B, $pub published by A; connected in $(cat "$IT_TMP/nsplit.ms") ms)"
it_log "test_cluster_ecmp passed in $(($(date +%s) - T0)) s"
