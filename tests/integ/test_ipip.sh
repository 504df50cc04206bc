#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Real TCP and UDP traffic through an `ipip` (DSR) service: gw
# encapsulates (IPv4 in IPv4, IPv6 in IPv6) toward backends that run
# build/bpf/decap.bpf.o in XDP and hold the VIP on lo; the backends answer
# the clients directly from the VIP (the gateway's kernel only routes the
# answers back). Every answer must come from a backend, flows must spread,
# and the datapath must count them as ipip.
. "$(dirname "$0")/lib.sh"
it_dp_setup ipip 2
it_decap_backends

VIP4=${IT_VIPS4[1]} VIP6=${IT_VIPS6[1]}
# The VIP's port is the backends' port: ipip leaves the inner packet as is.
dpctl service set "$VIP4:8080" tcp ipip 198.18.11.2 198.18.12.2 || it_fail "service set tcp"
dpctl service set "$VIP4:8080" udp ipip 198.18.11.2 198.18.12.2 || it_fail "service set udp"
dpctl service set "[$VIP6]:8080" tcp ipip fd00:11::2 fd00:12::2 || it_fail "service set v6"
dpctl service list

# 10 flows of each kind, each kind's from one client process
it_check_requests tcp4 "$IT_CL1" tcp "$VIP4" 8080 dsr 10 'be[12]'
it_check_requests udp4 "$IT_CL2" udp "$VIP4" 8080 dsru 10 'be[12]'
it_check_requests tcp6 "$IT_CL2" tcp "$VIP6" 8080 dsr6 10 'be[12]'
echo "backends seen: ${!IT_SEEN[*]}"
dpctl stats
for k in 1 2; do
	# key 2 is GW_DECAP_IPIP, 3 GW_DECAP_IP6 (include/gw/decap.h)
	echo "be$k decapsulated: $(bpftool -j map dump pinned \
		"$IT_PIN/decap-${IT_BE[k - 1]}/gw_decap_stats" 2>/dev/null | "$PY" -c '
import json, sys
d = {e["key"]: sum(v["value"]["packets"] for v in e["values"]) for e in json.load(sys.stdin)}
print("ipip %d, ip6 %d" % (d.get(2, 0), d.get(3, 0)))')"
done

[ "$IT_BAD" = 0 ] || it_fail "$IT_BAD request(s) went unanswered or wrong"
for p in tcp4 udp4 tcp6; do
	# 10 flows on one of 2 backends: (1/2)^9; a bug, not luck.
	[ -n "${IT_SEEN[$p:be1]:-}" ] && [ -n "${IT_SEEN[$p:be2]:-}" ] ||
		it_fail "$p: all flows went to one backend"
done
[ "$(it_reason ipip)" -gt 0 ] || it_fail "no packet counted as ipip"
echo "PASS"
