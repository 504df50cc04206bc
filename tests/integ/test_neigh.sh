#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Cold neighbour tables (issue 10): nothing of a service is lost to a
# neighbour the gateway has not resolved. The gateway pings nobody first:
# - the first requests (TCP and UDP, IPv4 and IPv6) are all answered;
# - `ip neigh flush all` in the middle of a counted UDP stream loses no
#   datagram (the kernel's neighbour layer queues while it resolves);
# - a backend added live takes new flows and its first connection succeeds;
# - the same again after a flush, over IPv6.
# Counters: no_neigh counts the packets sent through the neighbour layer,
# no_tc_helper (dropped for want of gw_tc_neigh) stays 0.
. "$(dirname "$0")/lib.sh"
it_dp_setup neigh 3

VIP4=${IT_VIPS4[0]} VIP6=${IT_VIPS6[0]} PORT=9000
dpctl service set "$VIP4:80" tcp nat 198.18.11.2:8080 198.18.12.2:8080 ||
	it_fail "service set (v4 tcp)"
dpctl service set "[$VIP6]:80" tcp nat "[fd00:11::2]:8080" "[fd00:12::2]:8080" ||
	it_fail "service set (v6 tcp)"
dpctl service set "$VIP4:$PORT" udp nat 198.18.11.2:$PORT 198.18.12.2:$PORT ||
	it_fail "service set (v4 udp)"

# it_request's timeout (2 s) leaves room for one TCP SYN retransmit (1 s):
# a first packet that waited for resolution passes, one that was lost
# would too, so the count of no_neigh and no_tc_helper below tells.
requests() {	# requests WHAT N: N new flows over v4 (cl1), then N over v6 (cl2)
	it_check_requests tcp4 "$IT_CL1" tcp "$VIP4" 80 "$1" "$2" 'be[1-3]'
	it_check_requests tcp6 "$IT_CL2" tcp "$VIP6" 80 "$1-6" "$2" 'be[1-3]'
	[ "$IT_BAD" = 0 ] || it_fail "$1: $IT_BAD request(s) went unanswered"
}

requests cold 8
[ "$(it_reason no_neigh)" -gt 0 ] || it_log "note: every neighbour was resolved ahead"

it_counting_servers "$PORT"
it_stream_rate "$IT_CL1" "$VIP4" "$PORT" 400
PPS=$IT_STREAM_PPS
it_udp_stream "$IT_CL1" "$VIP4" "$PORT" $((PPS * 3)) "$PPS" 16 "$IT_TMP/stream.json"
sleep 1
nsx "$IT_GW" ip neigh flush all
nsx "$IT_GW" ip -6 neigh flush all
it_log "neighbours flushed in the middle of the stream"
wait "$IT_STREAM_PID"
it_stream_check "$IT_TMP/stream.json" "$(it_counted_total)" "UDP stream across ip neigh flush" ||
	it_fail "the stream lost datagrams across the flush"

# A backend added live: new flows reach it, every one answered.
nsx "$IT_GW" ip neigh flush all
nsx "$IT_GW" ip -6 neigh flush all
dpctl backend add "$VIP4:80" tcp 198.18.13.2:8080 || it_fail "backend add (v4)"
dpctl backend add "[$VIP6]:80" tcp "[fd00:13::2]:8080" || it_fail "backend add (v6)"
requests live 24
for p in tcp4 tcp6; do
	[ -n "${IT_SEEN[$p:be3]:-}" ] || it_fail "$p: the backend added live got no flow of 24"
done

dpctl stats
[ "$(it_reason no_tc_helper)" = 0 ] || it_fail "packets dropped for want of gw_tc_neigh"
echo "PASS"
