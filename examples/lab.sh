#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gw lab (`make run`): builds a small network out of namespaces and veths,
# loads gw's XDP datapath on the gateway with gw-dpctl, and shows it at work:
#
#   cl1 ---\                 /--- be1   each backend runs a tiny TCP/UDP
#           gw (XDP, native) ---- be2   server that answers "beK <request>",
#   cl2 ---/                 \--- be3   and gw-decap (XDP) for ipip
#
#   198.18.100.1:80   tcp nat   -> be1..be3:8080 (weights 1, 1, 2)
#   198.18.100.2:8080 tcp ipip  -> be1..be3 (DSR: backends answer directly)
#   [fd00:100::1]:80  tcp nat   -> be1..be3 over IPv6
#   deny 198.18.2.64/26 (cl2 holds 198.18.2.66 in it)
#   rate limits: 500 packets/s (burst 500) and 50 SYN/s per source
#
# Then it sends visible traffic (which backend answered, a denied client, a
# flood being limited), prints `gw-dpctl stats` and bpftool examples, and
# cleans everything up. It ends by itself in about a minute; with --hold it
# stays up until Ctrl-C so you can try the commands it prints. Every name
# carries a unique suffix; nothing touches the host's own interfaces.
#
# Usage: examples/lab.sh [--hold]   (root; run `make` first, or `make run`)
set -u
HOLD=0
case "${1:-}" in
--hold) HOLD=1 ;;
"") ;;
-h | --help)
	sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: $0 [--hold]" >&2
	exit 2
	;;
esac
if [ "$(id -u)" != 0 ]; then
	echo "lab: needs root (network namespaces, XDP)" >&2
	exit 1
fi

# The integration tests' helpers build the same kind of topology.
. "$(dirname "$0")/../tests/integ/lib.sh"
# In the lab a missing piece is an error, not a "skip".
it_skip() {
	echo "lab: cannot run: $*" >&2
	exit 1
}

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {	# show CMD...: prints the command, then runs it
	printf '\033[2m$ %s\033[0m\n' "$*"
	"$@"
}

it_init lab
trap 'echo; echo "lab: interrupted, cleaning up"; exit 130' INT TERM
life=120
[ "$HOLD" = 1 ] && life=86400

bold "building the topology (suffix $IT_SUF)"
it_topology 3
# cl2's second address, inside the prefix the lab denies
nsx "$IT_CL2" ip addr add 198.18.2.66/24 dev "c2-$IT_SUF"
echo "namespaces: ${IT_NETNS[*]}"

bold "loading gw on the gateway's veths (native XDP)"
it_attach native
dpctl status
for k in 1 2 3; do
	it_decap "${IT_BE[k - 1]}" "b$k-$IT_SUF" "198.18.$((10 + k)).2" "fd00:$((10 + k))::2"
done
it_servers 8080 "$life"

bold "configuring services, a filter and rate limits"
VIP_NAT=198.18.100.1 VIP_DSR=198.18.100.2 VIP6=fd00:100::1
show dpctl service set "$VIP_NAT:80" tcp nat 198.18.11.2:8080 198.18.12.2:8080 \
	198.18.13.2:8080:2
show dpctl service set "$VIP_DSR:8080" tcp ipip 198.18.11.2 198.18.12.2 198.18.13.2
show dpctl service set "[$VIP6]:80" tcp nat "[fd00:11::2]:8080" "[fd00:12::2]:8080" \
	"[fd00:13::2]:8080"
show dpctl filter add deny 198.18.2.64/26
show dpctl ratelimit set packets --rate 500/s --burst 500
show dpctl ratelimit set syn --rate 50/s --burst 50
show dpctl service list

bold "requests through the nat service (198.18.100.1:80): who answered?"
for i in 1 2 3 4 5 6; do
	printf '  cl1 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL1" tcp "$VIP_NAT" 80 "nat-$i" || true)"
done
bold "requests through the ipip service (198.18.100.2:8080, direct server return)"
for i in 1 2 3 4; do
	printf '  cl2 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL2" tcp "$VIP_DSR" 8080 "dsr-$i" || true)"
done
bold "IPv6 through the nat service ([fd00:100::1]:80)"
for i in 1 2 3; do
	printf '  cl1 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL1" tcp "$VIP6" 80 "v6-$i" || true)"
done

bold "a denied client: cl2 from 198.18.2.66 (in 198.18.2.64/26)"
a=$(IT_SRC=198.18.2.66 it_request "$IT_CL2" tcp "$VIP_NAT" 80 denied 1)
echo "  from 198.18.2.66 -> ${a:-(no answer: dropped in XDP)}"
a=$(it_request "$IT_CL2" tcp "$VIP_NAT" 80 allowed)
echo "  from 198.18.2.2  -> ${a:-(no answer)}"

bold "a flood from cl1 (UDP, at most 20000 packets in 2 s) while cl2 keeps working"
it_flood "$IT_CL1" "$VIP_NAT" 80 20000 2 >"$IT_TMP/flood" &
flood=$!
sleep 0.3
a=$(it_request "$IT_CL2" tcp "$VIP_NAT" 80 during-flood)
wait "$flood"
echo "  cl1 sent $(cat "$IT_TMP/flood") packets; rate limiter dropped $(it_reason ratelimit)"
echo "  cl2 during the flood -> ${a:-(no answer)}"

bold "counters"
show dpctl stats
bold "tracked connections"
show dpctl conntrack list --limit 8

bold "the same state with bpftool (maps have BTF: readable keys and values)"
show bpftool prog show pinned "$IT_PIN/progs/gw_xdp"
show bpftool map show pinned "$IT_PIN/gw_ct"
show bpftool map dump pinned "$IT_PIN/gw_config"
echo "(also: bpftool map dump pinned $IT_PIN/gw_services, .../gw_stats for per-CPU counters)"

cat <<EOF

== try it yourself
  gw-dpctl:  nsenter --net=/run/netns/$IT_GW $DPCTL --pin-root $IT_PIN stats
             (also: status, filter list, service list, conntrack list, backend drain ...)
  request:   echo hello | ip netns exec $IT_CL1 nc -N $VIP_NAT 80
  DSR:       echo hello | ip netns exec $IT_CL2 nc -N $VIP_DSR 8080
  denied:    echo hello | ip netns exec $IT_CL2 nc -N -w1 -s 198.18.2.66 $VIP_NAT 80
  drain:     nsenter --net=/run/netns/$IT_GW $DPCTL --pin-root $IT_PIN \\
                 backend drain $VIP_NAT:80 tcp 198.18.13.2:8080
  XDP:       ip -n $IT_GW link show ${IT_GW_IFS[0]}
  docs:      docs/operations-datapath.md
EOF
if [ "$HOLD" = 1 ]; then
	echo
	echo "lab: holding; press Ctrl-C to tear everything down"
	while :; do sleep 1; done
else
	echo
	echo "lab: done (run with --hold to keep it up); cleaning up"
fi
