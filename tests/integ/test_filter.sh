#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The IP filter on real traffic: a denied CIDR is dropped in XDP and
# counted (reason filter) while another client still gets through; a
# longer allow prefix inside it wins; a ban (IPv6 here) drops until its TTL
# runs out; deleting the entries restores traffic.
. "$(dirname "$0")/lib.sh"
it_dp_setup filter 1

VIP4=${IT_VIPS4[0]} VIP6=${IT_VIPS6[0]}
dpctl service set "$VIP4:80" tcp nat 198.18.11.2:8080 || it_fail "service set"
dpctl service set "[$VIP6]:80" tcp nat "[fd00:11::2]:8080" || it_fail "service set v6"

# ok NS HOST MSG: the request must be answered (within 5 s: the first SYN
# to a cold neighbour may wait for its resolution and its 1 s retransmit,
# longer in a loaded emulated guest; 2 s failed once there).
ok() { it_answered "$@"; }
blocked() {	# blocked NS HOST MSG: the request must go unanswered
	local a
	a=$(it_request "$1" tcp "$2" 80 "$3" 1)
	[ -z "$a" ] || it_fail "$3: expected no answer, got '$a'"
}

ok "$IT_CL2" "$VIP4" before-deny
dpctl filter add deny 198.18.2.0/24 || it_fail "filter add deny"
before=$(it_reason filter)
blocked "$IT_CL2" "$VIP4" denied
ok "$IT_CL1" "$VIP4" other-client
after=$(it_reason filter)
echo "filter drops: $before -> $after"
[ "$after" -gt "$before" ] || it_fail "denied packets were not counted as filter"

dpctl filter add allow 198.18.2.2/32 || it_fail "filter add allow"
ok "$IT_CL2" "$VIP4" allowed-inside-deny
dpctl filter list

dpctl filter del allow 198.18.2.2/32 || it_fail "filter del allow"
dpctl filter del deny 198.18.2.0/24 || it_fail "filter del deny"
ok "$IT_CL2" "$VIP4" after-del

# A ban: IPv6 this time, 6 seconds (the banned request must be sent
# before it ends, also from a slow emulated guest).
ok "$IT_CL1" "$VIP6" v6-before-ban
dpctl filter ban fd00:1::/64 --ttl 6 || it_fail "filter ban"
t_ban=$SECONDS
b0=$(it_reason ban)
blocked "$IT_CL1" "$VIP6" v6-banned
[ "$(it_reason ban)" -gt "$b0" ] || it_fail "banned packets were not counted as ban"
ok "$IT_CL1" "$VIP4" v4-not-banned
# The ban ends 6 s after it began: polled (1 s tries, at most 15), not slept.
for ((i = 0; i < 15; i++)); do
	a=$(it_request "$IT_CL1" tcp "$VIP6" 80 v6-ban-expired 1)
	[ "$a" = "be1 v6-ban-expired" ] && break
done
[ "$a" = "be1 v6-ban-expired" ] || it_fail "v6-ban-expired: no answer after the 6 s ban ended"
it_log "the ban expired after $((SECONDS - t_ban)) s"

# Default deny: only allowed prefixes pass.
dpctl filter default deny || it_fail "filter default deny"
dpctl filter add allow 198.18.1.0/24 || it_fail "filter add allow"
# the backend's answers come back through the filter too
dpctl filter add allow 198.18.11.0/24 || it_fail "filter add allow backend"
ok "$IT_CL1" "$VIP4" default-deny-allowed
blocked "$IT_CL2" "$VIP4" default-deny-blocked
dpctl filter default allow
dpctl stats
echo "PASS"
