#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The loader and gw-dpctl: TC ingress attachment (tcx where the kernel has
# it, clsact otherwise) carries real traffic; generic XDP works; detach and
# re-attach adopt the pinned maps (services, counters and the config
# survive, as for a restarted agent); programs are pinned for bpftool;
# attaching twice is refused; usage errors exit 2; unload removes every pin.
. "$(dirname "$0")/lib.sh"
it_init loader
it_need_datapath
it_topology 1
it_servers 8080

G1=${IT_GW_IFS[0]} G2=${IT_GW_IFS[1]} H1=${IT_GW_IFS[2]}
VIP4=${IT_VIPS4[0]}
opts=(--size ct=4096 --size nat=4096 --size rl_v4=1024 --size rl_v6=1024)

# Mixed hooks: TC on the first client link, generic XDP on the second,
# native XDP toward the backend.
dpctl attach "$G1" --tc "${opts[@]}" || it_fail "attach --tc"
dpctl attach "$G2" --xdp-mode generic "${opts[@]}" || it_fail "attach generic"
dpctl attach "$H1" --xdp-mode native "${opts[@]}" || it_fail "attach native"
dpctl status | tee "$IT_TMP/status"
grep -Eq "^$G1 .*(tcx|tc-clsact)" "$IT_TMP/status" || it_fail "status does not show TC on $G1"
grep -Eq "^$G2 .*xdp-generic" "$IT_TMP/status" || it_fail "status does not show generic XDP"
grep -Eq "^$H1 .*xdp-native .*198\.18\.11\.1 .*fd00:11::1" "$IT_TMP/status" ||
	it_fail "status does not show $H1's addresses"

bpftool prog show pinned "$IT_PIN/progs/gw_xdp" || it_fail "gw_xdp is not pinned"
bpftool prog show pinned "$IT_PIN/progs/gw_tc" || it_fail "gw_tc is not pinned"
bpftool map show pinned "$IT_PIN/gw_ct" | grep -q 'max_entries 4096' ||
	it_fail "gw_ct was not sized by --size ct=4096"

dpctl service set "$VIP4:80" tcp nat 198.18.11.2:8080 || it_fail "service set"
dpctl filter add deny 198.18.99.0/24 || it_fail "filter add"
dpctl ratelimit set syn --rate 1000/s --burst 2000 || it_fail "ratelimit set"
for c in "$IT_CL1" "$IT_CL2"; do
	a=$(it_request "$c" tcp "$VIP4" 80 "via-$c")
	[[ $a == "be1 via-$c" ]] || it_fail "no answer through $c's hook: '$a'"
done
nat0=$(it_reason nat)

# Attaching twice is refused, and leaves the first attachment working.
dpctl attach "$G1" --tc 2>/dev/null && it_fail "a second attach to $G1 succeeded"
dpctl attach "$G2" 2>/dev/null && it_fail "a second attach to $G2 succeeded"

# Detach everything and attach again: the maps are adopted from the pins.
for i in "$G1" "$G2" "$H1"; do
	dpctl detach "$i" || it_fail "detach $i"
done
[ -e "$IT_PIN/progs/gw_xdp" ] && it_fail "program pins outlived the last interface"
dpctl detach "$G1" 2>/dev/null && it_fail "detaching a detached interface succeeded"
a=$(it_request "$IT_CL1" tcp "$VIP4" 80 "detached" 1)
[ -z "$a" ] || it_fail "the service answered with gw detached: '$a'"
for i in "$G1" "$G2" "$H1"; do
	dpctl attach "$i" || it_fail "re-attach $i"
done
dpctl service list | grep -q "198.18.11.2:8080" || it_fail "the service did not survive"
dpctl filter list | grep -q "198.18.99.0/24" || it_fail "the filter did not survive"
dpctl ratelimit show | grep -q "^syn *1000/s" || it_fail "the rate limit did not survive"
a=$(it_request "$IT_CL1" tcp "$VIP4" 80 "re-attached")
[[ $a == "be1 re-attached" ]] || it_fail "no answer after re-attach: '$a'"
[ "$(it_reason nat)" -gt "$nat0" ] || it_fail "counters restarted instead of being adopted"
# A new address is picked up by sync-addrs (netlink, no `ip`).
nsx "$IT_GW" ip addr flush dev "$H1"
nsx "$IT_GW" ip addr add 198.18.11.9/24 dev "$H1"
dpctl sync-addrs | grep -q "3 interface" || it_fail "sync-addrs"
dpctl status | grep -Eq "^$H1 .*198\.18\.11\.9 " || it_fail "sync-addrs missed the new address"

# Usage errors exit 2, failures 1.
dpctl service set "$VIP4" tcp nat 198.18.11.2:8080 >/dev/null 2>&1
[ $? = 2 ] || it_fail "a VIP without port is not a usage error"
dpctl filter add deny 198.18.1.1/8 >/dev/null 2>&1
[ $? = 2 ] || it_fail "a CIDR with host bits is not a usage error"
dpctl frobnicate >/dev/null 2>&1
[ $? = 2 ] || it_fail "an unknown command is not a usage error"
"$DPCTL" --pin-root "$IT_PIN-missing" stats >/dev/null 2>&1
[ $? = 1 ] || it_fail "stats without a datapath did not fail with 1"

dpctl unload || it_fail "unload"
[ -d "$IT_PIN" ] && it_fail "unload left $IT_PIN: $(ls -R "$IT_PIN")"
nsx "$IT_GW" ip link show "$H1" | grep -q xdp && it_fail "unload left XDP on $H1"
echo "PASS"
