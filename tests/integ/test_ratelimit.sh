#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The per-source rate limiter on real traffic: a bounded UDP flood from one
# client is cut to its rate in XDP (reason ratelimit) while the other client
# keeps getting answers, during and after the flood; a SYN limit drops the
# excess of a burst of connection attempts (reason syn_ratelimit).
. "$(dirname "$0")/lib.sh"
it_dp_setup ratelimit 1

VIP4=${IT_VIPS4[0]}
dpctl service set "$VIP4:80" tcp nat 198.18.11.2:8080 || it_fail "service set tcp"
dpctl service set "$VIP4:53" udp nat 198.18.11.2:8080 || it_fail "service set udp"
dpctl ratelimit set packets --rate 200/s --burst 200 || it_fail "ratelimit set"
dpctl ratelimit show

a=$(it_request "$IT_CL2" tcp "$VIP4" 80 before)
[[ $a == "be1 before" ]] || it_fail "no answer before the flood: '$a'"

# At most 30000 datagrams in at most 3 s from cl1.
it_flood "$IT_CL1" "$VIP4" 53 30000 3 >"$IT_TMP/flood.out" &
flood=$!
IT_PIDS+=("$flood")
sleep 0.5
during=0
for i in 1 2 3 4; do
	a=$(it_request "$IT_CL2" tcp "$VIP4" 80 "during-$i" 2)
	[[ $a == "be1 during-$i" ]] && during=$((during + 1))
	sleep 0.3
done
wait "$flood"
sent=$(cat "$IT_TMP/flood.out")
dropped=$(it_reason ratelimit)
echo "flood: sent $sent, dropped by the rate limiter $dropped; other client answered $during/4"
dpctl stats

[ "${sent:-0}" -gt 2000 ] || it_skip "the flood sent only ${sent:-0} packets: too slow a machine to tell"
# 200/s with a burst of 200 over ~3 s lets ~800 through at most.
[ "$dropped" -ge $((sent - 1000)) ] ||
	it_fail "only $dropped of $sent flood packets were rate limited"
[ "$during" -ge 3 ] || it_fail "the other client got $during/4 answers during the flood"
a=$(it_request "$IT_CL2" tcp "$VIP4" 80 after)
[[ $a == "be1 after" ]] || it_fail "no answer after the flood: '$a'"

# SYNs: 5/s, burst 5; 30 connection attempts at once from cl1.
dpctl ratelimit set packets --rate 0/s || it_fail "ratelimit off"
dpctl ratelimit set syn --rate 5/s --burst 5 || it_fail "ratelimit set syn"
s0=$(it_reason syn_ratelimit)
nsx "$IT_CL1" timeout 5 "$PY" - "$VIP4" <<'PYEOF'
import socket, sys
socks = []
for i in range(30):
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect((sys.argv[1], 80))
    except BlockingIOError:
        pass
    socks.append(s)
import time; time.sleep(0.5)
PYEOF
s1=$(it_reason syn_ratelimit)
echo "syn_ratelimit: $s0 -> $s1"
[ "$s1" -ge $((s0 + 20)) ] || it_fail "expected >= 20 SYNs over the limit, got $((s1 - s0))"
echo "PASS"
