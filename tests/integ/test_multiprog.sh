#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gw beside xdp-filter on one interface (libxdp's multiprog dispatcher):
# xdp-filter (xdp-tools) is loaded on the gateway's client-facing veth,
# then gwd attaches there too. Both must be in the dispatcher and both must
# work: a source xdp-filter is told to drop gets no answer and never reaches
# gw (gw's counters stay), a source gw denies gets none either (gw's filter
# counter moves), and an allowed client is steered by gw's `nat` service.
# When gwd stops (no keep_datapath_on_exit) only gw leaves: xdp-filter
# stays attached and keeps dropping.
#
# Skips where libxdp cannot load its dispatcher (6.18: loading the freplace
# program fails with EPERM; libxdp then attaches one program alone, so
# there is no multiprog to join). The 6.1 VM runs it:
# make vmtest VMTEST_ARGS="integ multiprog".
. "$(dirname "$0")/lib.sh"
it_init multiprog
it_need_datapath
it_gwd_setup 1 xdp-filter xdp-loader
it_servers 8080

VIP=${IT_VIPS4[0]}
IFC=${IT_GW_IFS[0]}
# Two more client addresses: one xdp-filter drops, one gw denies.
nsx "$IT_CL1" ip addr add 198.18.1.3/24 dev "c1-$IT_SUF"
nsx "$IT_CL1" ip addr add 198.18.1.4/24 dev "c1-$IT_SUF"

in_gw() { nsenter --net="/run/netns/$IT_GW" "$@"; }
# xdp-filter keeps its pins under /sys/fs/bpf/xdp-filter: unload it from
# our interface before the namespace (and the interface) goes.
mp_cleanup() {
	[ -e "/run/netns/$IT_GW" ] && in_gw xdp-filter unload "$IFC" >/dev/null 2>&1
	it_cleanup
}
trap mp_cleanup EXIT

it_log "loading xdp-filter on $IFC"
out=$(in_gw xdp-filter load -v -m native "$IFC" 2>&1) || it_fail "xdp-filter load failed: $out"
status=$(in_gw xdp-loader status "$IFC" 2>&1)
if ! grep -q xdp_dispatcher <<<"$status"; then
	why=$(grep -m1 "dispatcher" <<<"$out" | sed 's/^ *libxdp: //')
	it_skip "libxdp cannot use its dispatcher on kernel $(uname -r) (${why:-no dispatcher}), so xdp-filter is attached alone and there is no multiprog to join; the 6.1 VM runs this test"
fi
in_gw xdp-filter ip 198.18.1.4 -m src || it_fail "xdp-filter ip failed"

{ it_gw_yaml false "$SOCK"; cat <<YAML; } >"$CFG"
filter:
  deny: [198.18.1.3/32]
services:
$(it_yaml_service web "$VIP" "[198.18.11.2:8080]")
YAML
it_log "starting gwd"
it_gwd_start "$CFG" "$LOG"
status=$(in_gw xdp-loader status "$IFC" 2>&1)
sed 's/^/    /' <<<"$status"
grep -q "xdpfilt_" <<<"$status" || it_fail "xdp-filter left the dispatcher when gwd attached"
grep -q "gw_xdp" <<<"$status" || it_fail "gw_xdp is not in the dispatcher of $IFC"

# counter REASON: gw's count of a datapath reason.
counter() { it_reason "$1"; }

it_log "traffic"
# An allowed client: gw steers it (nat) to be1.
a=$(IT_SRC=198.18.1.2 it_request "$IT_CL1" tcp "$VIP" 80 allowed 3)
[ "$a" = "be1 allowed" ] || it_fail "allowed client: expected be1's answer, got '$a'"
# gw's deny: unanswered, gw's filter counter moves.
f0=$(counter filter)
# (3 s: under TCG a python client takes a second or two to start)
a=$(IT_SRC=198.18.1.3 it_request "$IT_CL1" tcp "$VIP" 80 gw-denied 3)
[ -z "$a" ] || it_fail "gw's deny did not hold: '$a'"
f1=$(counter filter)
[ "$f1" -gt "$f0" ] || it_fail "gw's filter counter did not move ($f0 -> $f1)"
it_log "gw's deny holds"
# xdp-filter's drop: unanswered, and gw never saw it.
n0=$(counter nat)
a=$(IT_SRC=198.18.1.4 it_request "$IT_CL1" tcp "$VIP" 80 xdpfilter-denied 3)
[ -z "$a" ] || it_fail "xdp-filter's drop did not hold: '$a'"
hits=$(in_gw xdp-filter status 2>/dev/null | awk '$1 == "198.18.1.4" { print $3 }')
[ "${hits:-0}" -gt 0 ] ||
	it_fail "xdp-filter counted no hit for 198.18.1.4: $(in_gw xdp-filter status 2>&1)"
[ "$(counter filter)" = "$f1" ] || it_fail "gw saw the packets xdp-filter drops"
[ "$(counter nat)" = "$n0" ] || it_fail "gw steered packets xdp-filter drops"
it_log "both effective: gw steered and denied, xdp-filter dropped before gw"

# gwd stops: gw leaves the dispatcher, xdp-filter stays and still drops.
kill -TERM "$IT_GWD_PID"
wait "$IT_GWD_PID" || it_fail "gwd exited $? on SIGTERM"
status=$(in_gw xdp-loader status "$IFC" 2>&1)
grep -q "gw_xdp" <<<"$status" && it_fail "gw_xdp still attached after gwd stopped: $status"
grep -q "xdpfilt_" <<<"$status" || it_fail "xdp-filter went with gw: $status"
echo "PASS"
