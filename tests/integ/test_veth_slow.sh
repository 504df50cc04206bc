#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A backend veth whose peer takes no XDP frames (GRO off on the backend's
# end, no XDP program there; issue 10): XDP_REDIRECT into it would drop
# every frame silently. gwd finds it at attach and:
# - marks the gateway's end slow (gw_ifaddr GW_IFADDR_F_XDP_SLOW): the
#   forwarded packets go out through gw_tc_neigh, counted xdp_slow_egress,
#   and every connection to a nat service succeeds;
# - logs once per interface what would make it fast;
# - when GRO is turned on at the backend's end (in its netns: no event in
#   gwd's), clears the mark within a few seconds: the counter stops
#   growing, and the connections still succeed (the fast path).
. "$(dirname "$0")/lib.sh"
it_init vethslow
it_need_datapath
it_gwd_setup 2
it_servers 8080

VIP4=${IT_VIPS4[0]} N=20
H1=${IT_GW_IFS[2]} H2=${IT_GW_IFS[3]}
B1=b1-$IT_SUF B2=b2-$IT_SUF

# The backends' ends without GRO (it_link turns it on): no NAPI there.
nsx "${IT_BE[0]}" ethtool -K "$B1" gro off >/dev/null || it_fail "cannot turn GRO off on $B1"
nsx "${IT_BE[1]}" ethtool -K "$B2" gro off >/dev/null || it_fail "cannot turn GRO off on $B2"

{ it_gw_yaml false "$SOCK"; cat <<YAML; } >"$CFG"
services:
$(it_yaml_service web "$VIP4" "[198.18.11.2:8080, 198.18.12.2:8080]")
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"

# wait_log TEXT MSG: waits (at most 10 s) until the log has TEXT.
wait_log() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q -- "$1" "$LOG" && return 0
		sleep 0.1
	done
	cat "$LOG"
	it_fail "$2"
}

# requests LABEL: N connections to the service, every one answered.
requests() {
	IT_BAD=0
	it_check_requests tcp "$IT_CL1" tcp "$VIP4" 80 "$1" "$N" 'be[12]'
	[ "$IT_BAD" = 0 ] || it_fail "$1: $IT_BAD of $N connections failed"
}

for h in "$H1" "$H2"; do
	wait_log "$h: its veth peer .* has no XDP program and no GRO" "no advice for $h"
done
grep -q "ethtool -K $B1 gro on" "$LOG" || it_fail "the advice does not name $B1"

requests slow
slow=$(it_reason xdp_slow_egress)
it_log "xdp_slow_egress after $N connections: $slow"
[ "$slow" -ge "$N" ] || it_fail "xdp_slow_egress $slow: the slow egress was not used"
[ "$(it_reason no_tc_helper)" = 0 ] || it_fail "packets dropped for want of gw_tc_neigh"
for h in "$H1" "$H2"; do
	n=$(grep -c "$h: its veth peer .* has no XDP program" "$LOG")
	[ "$n" = 1 ] || it_fail "the advice for $h was logged $n times (want once)"
done

# A kernel that can tell nothing (no xdp_features, no live frames) keeps
# every such veth slow: nothing more to see.
if grep -q "assumed: this kernel cannot tell" "$LOG"; then
	grep xdpcap "$LOG"
	echo "PASS (the mark stays: this kernel cannot tell GRO at the peer)"
	exit 0
fi

# GRO on at the backends' ends: gwd sees it within a few seconds (xdp_features
# every second, or the re-probe every 3 s) and clears the mark.
nsx "${IT_BE[0]}" ethtool -K "$B1" gro on >/dev/null
nsx "${IT_BE[1]}" ethtool -K "$B2" gro on >/dev/null
for h in "$H1" "$H2"; do
	wait_log "$h: its veth peer .* takes XDP frames now" "$h: the slow mark was not cleared"
done
before=$(it_reason xdp_slow_egress)
requests fast
after=$(it_reason xdp_slow_egress)
[ "$after" = "$before" ] || it_fail "xdp_slow_egress still grows ($before -> $after)"
[ "$(grep -c "has no XDP program" "$LOG")" = 2 ] || it_fail "advice logged again"
grep xdpcap "$LOG"
echo "PASS"
