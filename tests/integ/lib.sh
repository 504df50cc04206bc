# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Shared helpers of gw's netns integration tests (tests/integ/test_*.sh) and
# of the lab (examples/lab.sh). Source it; then:
#
#   it_init [NAME]        checks root/tools/build, picks unique names, traps EXIT
#   it_topology N         client netns cl1 + cl2, gateway netns gw, N backends
#   it_attach             loads gw on every gateway veth (native XDP) with small maps
#   it_servers [PORT]     a TCP+UDP server on each backend that answers "beK ..."
#
# Topology (every name carries the run's suffix, so runs never collide):
#
#   cl1 (198.18.1.2, fd00:1::2) ---\                  /--- be1 (198.18.11.2, fd00:11::2)
#                                   gw (XDP on each) ----- be2 (198.18.12.2, fd00:12::2)
#   cl2 (198.18.2.2, fd00:2::2) ---/                  \--- beN ...
#
# The gateway's end of each link is .1 / ::1. VIPs: 198.18.100.0/24 and
# fd00:100::/64 (IT_VIPS4/IT_VIPS6), routed by the clients to the gateway. Addresses come from
# 198.18.0.0/15 (RFC 2544) and fd00::/8 only. Pins live under a unique
# /sys/fs/bpf/gw-it-XXXX, removed at exit with everything else.
#
# Test scripts exit 0 (pass), 1 (fail) or 77 (skip, reason on the last line).

IT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$IT_ROOT/build}
DPCTL=$BUILD/bin/gw-dpctl
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# The VIPs services use (and backends hold on lo for ipip/DSR).
IT_VIPS4=(198.18.100.1 198.18.100.2 198.18.100.3)
IT_VIPS6=(fd00:100::1 fd00:100::2)

IT_PIDS=()
IT_NETNS=()
IT_CLEANED=0

it_log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# Ends the test as skipped; the reason is the last line of output.
it_skip() {
	echo "SKIP: $*"
	exit 77
}

it_fail() {
	echo "FAIL: $*"
	exit 1
}

it_cleanup() {
	local pid ns
	[ "$IT_CLEANED" = 1 ] && return
	IT_CLEANED=1
	for pid in "${IT_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${IT_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "${IT_PIN:-}" ] && [ -d "$IT_PIN" ]; then
		if [ -n "${IT_GW:-}" ] && [ -e "/run/netns/$IT_GW" ]; then
			nsenter --net="/run/netns/$IT_GW" "$DPCTL" --pin-root "$IT_PIN" unload \
				>/dev/null 2>&1
		fi
		# Whatever unload left (a failed run): pins, then directories.
		find "$IT_PIN" -mindepth 1 ! -type d -delete 2>/dev/null
		find "$IT_PIN" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	# Deleting a namespace deletes its veths, and with them every XDP/TC
	# attachment on them.
	for ns in "${IT_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${IT_TMP:-}" ] && rm -rf "$IT_TMP"
}

# it_init [NAME]: preconditions, unique names, cleanup trap.
it_init() {
	local name=${1:-it}
	[ "$(id -u)" = 0 ] || it_skip "needs root"
	local t
	for t in ip nsenter ethtool "$PY" timeout; do
		command -v "$t" >/dev/null 2>&1 || it_skip "missing tool: $t (make deps)"
	done
	[ -x "$DPCTL" ] || it_skip "missing $DPCTL (run make)"
	# Four hex digits of randomness and the pid: unique, and short enough
	# for 15-character interface names.
	IT_SUF=$(printf '%04x%x' $((RANDOM & 0xffff)) $(($$ & 0xfff)))
	IT_TMP=$(mktemp -d "/tmp/gw-it-$name.XXXXXX")
	IT_PIN=/sys/fs/bpf/gw-it-$IT_SUF
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
	if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
		mount -t bpf bpf /sys/fs/bpf || it_skip "cannot mount bpffs"
	fi
}

# Runs a command in netns $1 (ip netns exec: a fresh /sys, which python and
# the traffic tools do not mind).
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# gw-dpctl inside the gateway netns. nsenter, not `ip netns exec`, so that
# /sys/fs/bpf (and the pins) stay visible.
dpctl() {
	nsenter --net="/run/netns/$IT_GW" "$DPCTL" --pin-root "$IT_PIN" "$@"
}

it_netns_add() {
	ip netns add "$1" || it_fail "cannot create netns $1"
	IT_NETNS+=("$1")
	nsx "$1" ip link set lo up
}

# it_link NS_A IF_A NS_B IF_B: a veth pair between two namespaces. tx
# checksum offload is turned off on both ends: with it on, a sender leaves
# TCP/UDP checksums partial (pseudo-header only) for "the device" to finish,
# and a veth hands the packet over still marked partial. gw's XDP program
# then rewrites (NAT) or encapsulates a packet whose checksum field is not
# the real checksum, its incremental update carries that error along, and
# the final receiver, which now sees an ordinary packet, drops it as
# corrupt. With tx offload off every packet leaves with a full checksum.
# GRO is turned on so the veth runs NAPI: XDP_REDIRECT into a veth needs its
# peer to have an XDP program or NAPI, else the frames are dropped.
it_link() {
	local na=$1 ia=$2 nb=$3 ib=$4
	ip link add "$ia" netns "$na" type veth peer name "$ib" netns "$nb" ||
		it_fail "cannot create veth $ia/$ib"
	nsx "$na" ethtool -K "$ia" tx off gro on >/dev/null 2>&1
	nsx "$nb" ethtool -K "$ib" tx off gro on >/dev/null 2>&1
	nsx "$na" ip link set "$ia" up
	nsx "$nb" ip link set "$ib" up
}

# it_topology NBACKENDS: builds the namespaces and links above and fills
# the gateway's neighbour table (the datapath passes packets to a neighbour
# it does not know to the stack, which is slower to start).
it_topology() {
	local nbe=${1:-2} k
	IT_GW=gwit-$IT_SUF-gw
	IT_CL1=gwit-$IT_SUF-c1
	IT_CL2=gwit-$IT_SUF-c2
	IT_BE=()
	IT_GW_IFS=()
	it_netns_add "$IT_GW"
	nsx "$IT_GW" sysctl -qw net.ipv4.ip_forward=1
	nsx "$IT_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
	for k in 1 2; do
		local cns=gwit-$IT_SUF-c$k
		it_netns_add "$cns"
		it_link "$cns" "c$k-$IT_SUF" "$IT_GW" "g$k-$IT_SUF"
		IT_GW_IFS+=("g$k-$IT_SUF")
		nsx "$cns" ip addr add "198.18.$k.2/24" dev "c$k-$IT_SUF"
		nsx "$cns" ip -6 addr add "fd00:$k::2/64" dev "c$k-$IT_SUF" nodad
		nsx "$cns" ip route add default via "198.18.$k.1"
		nsx "$cns" ip -6 route add default via "fd00:$k::1"
		nsx "$IT_GW" ip addr add "198.18.$k.1/24" dev "g$k-$IT_SUF"
		nsx "$IT_GW" ip -6 addr add "fd00:$k::1/64" dev "g$k-$IT_SUF" nodad
	done
	for ((k = 1; k <= nbe; k++)); do
		local bns=gwit-$IT_SUF-b$k n=$((10 + k))
		it_netns_add "$bns"
		IT_BE+=("$bns")
		it_link "$bns" "b$k-$IT_SUF" "$IT_GW" "h$k-$IT_SUF"
		IT_GW_IFS+=("h$k-$IT_SUF")
		nsx "$bns" ip addr add "198.18.$n.2/24" dev "b$k-$IT_SUF"
		nsx "$bns" ip -6 addr add "fd00:$n::2/64" dev "b$k-$IT_SUF" nodad
		nsx "$bns" ip route add default via "198.18.$n.1"
		nsx "$bns" ip -6 route add default via "fd00:$n::1"
		# The VIPs on lo: ipip backends receive the decapsulated
		# packet addressed to the VIP and answer from it (DSR).
		local vip
		for vip in "${IT_VIPS4[@]}"; do
			nsx "$bns" ip addr add "$vip/32" dev lo
		done
		for vip in "${IT_VIPS6[@]}"; do
			nsx "$bns" ip -6 addr add "$vip/128" dev lo nodad
		done
		nsx "$bns" sysctl -qw net.ipv4.conf.all.rp_filter=0
		nsx "$IT_GW" ip addr add "198.18.$n.1/24" dev "h$k-$IT_SUF"
		nsx "$IT_GW" ip -6 addr add "fd00:$n::1/64" dev "h$k-$IT_SUF" nodad
	done
	it_warm_neigh
}

# Pings every host from the gateway once (bounded) so neighbours resolve.
it_warm_neigh() {
	local k
	for k in 1 2; do
		nsx "$IT_GW" ping -c1 -W1 "198.18.$k.2" >/dev/null 2>&1
		nsx "$IT_GW" ping -6 -c1 -W1 "fd00:$k::2" >/dev/null 2>&1
	done
	for ((k = 1; k <= ${#IT_BE[@]}; k++)); do
		nsx "$IT_GW" ping -c1 -W1 "198.18.$((10 + k)).2" >/dev/null 2>&1
		nsx "$IT_GW" ping -6 -c1 -W1 "fd00:$((10 + k))::2" >/dev/null 2>&1
	done
}

# Loads gw on every gateway veth, native XDP (the mode the tests are for),
# with small maps so the load is quick.
it_attach() {
	local ifc mode=${1:-native}
	for ifc in "${IT_GW_IFS[@]}"; do
		dpctl attach "$ifc" --xdp-mode "$mode" --size ct=16384 --size nat=16384 \
			--size rl_v4=4096 --size rl_v6=4096 --size filter_v4=1024 \
			--size filter_v6=1024 || it_fail "gw-dpctl attach $ifc failed"
	done
}

# The server every backend runs: TCP and UDP on PORT (v4 and v6), answers
# each line (TCP) or datagram (UDP) with "NAME <what it got>". It stops by
# itself after LIFE seconds.
it_server_py() {
	cat >"$IT_TMP/server.py" <<'EOF'
import socket, sys, threading, time
name, port, life = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def tcp_client(c):
    c.settimeout(life)
    f = c.makefile("rwb", buffering=0)
    try:
        for line in f:
            c.sendall(name.encode() + b" " + line.strip() + b"\n")
    except OSError:
        pass
    c.close()
def tcp(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port)); s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()
def udp(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    while True:
        d, a = s.recvfrom(2048)
        s.sendto(name.encode() + b" " + d.strip() + b"\n", a)
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for fn in (tcp, udp):
        threading.Thread(target=fn, args=(fam, addr), daemon=True).start()
time.sleep(life)
EOF
}

# it_servers [PORT] [LIFE]: starts the server on every backend as beK.
it_servers() {
	local port=${1:-8080} life=${2:-240} k
	it_server_py
	for ((k = 1; k <= ${#IT_BE[@]}; k++)); do
		nsx "${IT_BE[k - 1]}" "$PY" "$IT_TMP/server.py" "be$k" "$port" "$life" \
			>"$IT_TMP/server-be$k.log" 2>&1 &
		IT_PIDS+=($!)
	done
	sleep 0.5
}

# it_request NS tcp|udp HOST PORT MSG [TIMEOUT]: one request; prints the
# answer ("beK MSG") or nothing. IT_SRC=ADDR picks the source address.
it_request() {
	local ns=$1 proto=$2 host=$3 port=$4 msg=$5 to=${6:-2}
	nsx "$ns" timeout $((to + 1)) "$PY" - "$proto" "$host" "$port" "$msg" "$to" \
		"${IT_SRC:-}" <<'EOF' 2>/dev/null
import socket, sys
proto, host, port, msg, to = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
src = (sys.argv[6], 0) if sys.argv[6] else None
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
try:
    if proto == "tcp":
        s = socket.create_connection((host, port), timeout=to, source_address=src)
        s.sendall(msg.encode() + b"\n")
        print(s.makefile("rb").readline().decode().strip())
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(to)
        if src:
            s.bind(src)
        s.sendto(msg.encode(), (host, port))
        print(s.recvfrom(2048)[0].decode().strip())
except OSError:
    pass
EOF
}

# it_flood NS HOST PORT COUNT SECONDS: sends up to COUNT UDP datagrams as
# fast as it can, for at most SECONDS; prints how many it sent.
it_flood() {
	local ns=$1 host=$2 port=$3 count=$4 secs=$5
	nsx "$ns" timeout $((secs + 2)) "$PY" - "$host" "$port" "$count" "$secs" <<'EOF'
import socket, sys, time
host, port, count, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
end, n = time.time() + secs, 0
while n < count and time.time() < end:
    try:
        s.sendto(b"flood", (host, port)); n += 1
    except OSError:
        time.sleep(0.001)
print(n)
EOF
}

# Counter of one reason from `gw-dpctl stats --all`.
it_reason() {
	dpctl stats --all | awk -v r="$1" '$1 == r { print $3; found = 1 } END { if (!found) print 0 }'
}

# Passes when the datapath can steer (the stubs of an unfinished tree pass
# every packet as non_ip).
it_need_datapath() {
	if grep -l STUB "$IT_ROOT"/bpf/lib/*.h >/dev/null 2>&1; then
		it_skip "datapath stubs still present: $(grep -l STUB "$IT_ROOT"/bpf/lib/*.h | xargs -n1 basename | tr '\n' ' ')"
	fi
}

# it_expect_backend OUTPUT: the answer must come from a backend.
it_backend_of() {
	awk '{ print $1 }' <<<"$1"
}

# Hex bytes of a struct gw_decap_key for ADDR (include/gw/decap.h).
it_decap_key() {
	"$PY" - "$1" <<'PYEOF'
import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
b = a.packed + bytes(16 - len(a.packed)) + bytes([4 if a.version == 4 else 6, 0, 0, 0])
print(" ".join("%02x" % x for x in b))
PYEOF
}

# it_decap NS IFACE ADDR...: runs build/bpf/decap.bpf.o (XDP) on a backend
# and tells it its own addresses (gw_decap_addrs): tunnelled packets to
# them lose their outer header and reach the VIP on lo.
it_decap() {
	local ns=$1 ifc=$2 pin=$IT_PIN/decap-$1 a
	shift 2
	[ -f "$BUILD/bpf/decap.bpf.o" ] || it_skip "missing $BUILD/bpf/decap.bpf.o"
	command -v xdp-loader >/dev/null || it_skip "missing xdp-loader (make deps)"
	command -v bpftool >/dev/null || it_skip "missing bpftool (make deps)"
	mkdir -p "$pin"
	nsenter --net="/run/netns/$ns" xdp-loader load -m native -p "$pin" -s xdp "$ifc" \
		"$BUILD/bpf/decap.bpf.o" || it_fail "cannot load decap on $ns/$ifc"
	for a in "$@"; do
		# shellcheck disable=SC2046
		bpftool map update pinned "$pin/gw_decap_addrs" key hex $(it_decap_key "$a") \
			value hex 01 00 00 00 || it_fail "cannot add $a to gw_decap_addrs"
	done
}

# it_gwd_start CFG LOG [SOCK]: gwd in the gateway netns with small maps;
# waits (at most 10 s) until it runs and, given SOCK, its admin socket
# exists. Sets IT_GWD_PID.
it_gwd_start() {
	local cfg=$1 log=$2 sock=${3:-} i
	nsenter --net="/run/netns/$IT_GW" "$BUILD/bin/gwd" -c "$cfg" --foreground \
		--map-size ct=16384 --map-size nat=16384 --map-size rl_v4=4096 \
		--map-size rl_v6=4096 --map-size filter_v4=1024 --map-size filter_v6=1024 \
		>>"$log" 2>&1 &
	IT_GWD_PID=$!
	IT_PIDS+=("$IT_GWD_PID")
	for ((i = 0; i < 100; i++)); do
		if grep -q "gwd: running" "$log" && { [ -z "$sock" ] || [ -S "$sock" ]; }; then
			return 0
		fi
		sleep 0.1
	done
	cat "$log"
	it_fail "gwd did not start"
}

# it_answered NS HOST MSG [LOG]: a TCP request to HOST:80 must get be1's
# answer (LOG is shown when it does not).
it_answered() {
	local a
	a=$(it_request "$1" tcp "$2" 80 "$3" 2)
	if [[ $a != "be1 $3" ]]; then
		[ -n "${4:-}" ] && cat "$4"
		it_fail "$3: expected an answer from be1, got '$a'"
	fi
}

# it_unanswered NS HOST MSG: a TCP request to HOST:80 must go unanswered.
it_unanswered() {
	local a
	a=$(it_request "$1" tcp "$2" 80 "$3" 1)
	[ -z "$a" ] || it_fail "$3: expected no answer, got '$a'"
}
