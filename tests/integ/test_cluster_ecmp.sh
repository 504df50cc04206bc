#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Two gateway nodes in front of the same backends (issue 14's ECMP
# properties, docs/cluster.md): one L2 segment (a bridge in its own netns)
# joins a client, gateway netns A and B (gwd and XDP on their one link, the
# packets hairpinned with XDP_TX) and four backends. Both nodes serve a
# UDP and a TCP `ipip` service (backends decapsulate with gw-decap and
# answer the client directly). `nat` across nodes is a design in
# docs/cluster.md, not built.
#
# (a) the same backend for every flow on both nodes: 200 UDP flows (fixed
#     source ports) are sent through A, then through B (the client's route
#     to the VIPs moved), and must reach the same backend; also after the
#     same live backend changes were applied in opposite orders on A and B
#     (the files list the backends in different orders too); then through a
#     multipath route over A and B (port hashing): spread over both nodes,
#     the same backends.
# (b) a TCP connection to the ipip service moved from A to B in mid-stream
#     (the client's route replaced) keeps its backend and survives.
# The gateways run XDP in generic mode: with native XDP, XDP_TX on a veth
# whose peer is a bridge port waits for that port's next NAPI poll (frames
# held for seconds); the datapath's code is the same in both modes.
. "$(dirname "$0")/lib.sh"
it_init ecmp
it_need_gwd
it_need_datapath

NET=198.18.70
VU=${IT_VIPS4[0]}	# udp ipip
VT=${IT_VIPS4[1]}	# tcp ipip
SW=gwit-$IT_SUF-sw
CL=gwit-$IT_SUF-cl
NA=gwit-$IT_SUF-ga
NB=gwit-$IT_SUF-gb
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
for ns in "$NA" "$NB"; do
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
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
}

# cfg NODE IFACE BACKENDS...: a node's gateway.yaml.
cfg() {
	local node=$1 ifc=$2 b
	shift 2
	printf 'version: 1\ngateway:\n  pin_root: %s/%s-%s\n  admin_socket: %s/%s.sock\n' \
		"$IT_PIN" "$node" "$IT_SUF" "$IT_TMP" "$node"
	printf '  interfaces: [{ name: %s, xdp_mode: generic }]\nservices:\n' "$ifc"
	printf '  - { name: u, vip: %s, port: 7000, protocol: udp, forwarding: ipip, backends: [' "$VU"
	for b in "$@"; do printf '%s:7000, ' "$NET.2$b"; done | sed 's/, $//'
	printf '] }\n'
	printf '  - { name: t, vip: %s, port: 7000, protocol: tcp, forwarding: ipip, backends: [' "$VT"
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

# (b) a TCP connection to the ipip VIP moved from A to B in mid-stream.
via "$NET.1"
nsx "$CL" timeout 30 "$PY" - "$VT" "$IT_TMP/moved" <<'PYEOF' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7000), timeout=3)
f = s.makefile("rwb", buffering=0)
seen = []
for i in range(40):
    f.write(b"m%d\n" % i)
    seen.append(f.readline().split()[0].decode())
    time.sleep(0.05)
open(sys.argv[2], "w").write(" ".join(seen) + "\n")
PYEOF
MPID=$!
sleep 1
via "$NET.2"
wait "$MPID" || it_fail "the moved connection broke: $(cat "$IT_TMP/moved" 2>/dev/null)"
[ "$(tr ' ' '\n' <"$IT_TMP/moved" | sort -u | wc -l)" = 1 ] ||
	it_fail "the moved connection changed backends: $(cat "$IT_TMP/moved")"
[ "$(wc -w <"$IT_TMP/moved")" = 40 ] || it_fail "the moved connection lost answers: $(cat "$IT_TMP/moved")"
gwctl b conntrack list | grep -q "$VT" || it_fail "B never carried the moved connection"
it_log "ipip: a TCP connection moved from A to B in mid-stream kept $(cut -d' ' -f1 "$IT_TMP/moved") and all 40 answers"
it_log "test_cluster_ecmp passed in $(($(date +%s) - T0)) s"
