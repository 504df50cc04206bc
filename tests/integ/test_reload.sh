#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Reload under traffic loses nothing: a client sends a counted, paced
# stream of numbered UDP datagrams over 16 flows through a `nat` service
# while gwd is reloaded again and again (SIGHUP and `gwctl reload`) with
# files that add and remove 10k deny prefixes (none covering the client),
# change the rate limits, add and remove other services and change the
# tested service's backend weights (its Maglev table is swapped). The
# backends count what they got: every datagram must arrive once and be
# answered, and every flow must stay on its backend. Then an invalid file:
# the reload fails with FILE:LINE:COL (gwctl exits 1, gwd logs why), the
# running config stays (same generation, same filter) and a second counted
# stream loses nothing.
. "$(dirname "$0")/lib.sh"
it_init reload
it_need_datapath
it_need_gwd
it_topology 2

VIP=${IT_VIPS4[0]}
PORT=5353
CFG=$IT_TMP/gateway.yaml
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/gwd.sock
MAXCOUNT=${RELOAD_MAXCOUNT:-120000}	# a bound: the stream stops after the reloads
PPS=${RELOAD_PPS:-2000}

gwctl() { nsenter --net="/run/netns/$IT_GW" "$GWCTL_BIN" -s "$SOCK" "$@"; }

# write_cfg PREFIXES OTHER_SERVICES W1 W2 RATE: the file with PREFIXES
# extra deny prefixes, OTHER_SERVICES services beside the tested one, its
# backends weighted W1 and W2, and a per-source packet limit RATE/s.
write_cfg() {
	it_yaml_counted "$VIP" "$PORT" "$3" "$4" >"$IT_TMP/tested.yaml"
	"$PY" "$IT_ROOT/bench/gen_config.py" --pin-root "$IT_PIN" --admin-socket "$SOCK" \
		--iface "${IT_GW_IFS[0]}" --iface "${IT_GW_IFS[2]}" --iface "${IT_GW_IFS[3]}" \
		--iface "${IT_GW_IFS[1]}" --keep --prefixes "$1" --services "$2" --rate "$5/s" \
		--extra "$IT_TMP/tested.yaml" "$CFG.new" || it_fail "cannot write the config"
	mv "$CFG.new" "$CFG"
}

generation() { gwctl --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

# wait_generation N: waits (at most 20 s) until gwd reports generation N.
wait_generation() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(generation 2>/dev/null)" = "$1" ] && return 0
		sleep 0.1
	done
	tail -5 "$LOG"
	it_fail "gwd did not reach config generation $1"
}

write_cfg 0 0 1 1 100000
IT_GWD_FILTER_SIZE=16384 it_gwd_start "$CFG" "$LOG" "$SOCK"
gen=$(generation)
[ "$gen" = 1 ] || it_fail "start: generation $gen"

# The configs a reload cycles through: each changes the filter, the
# limits, the other services or the tested service's weights.
CONFIGS=(
	"10000 0 1 1 100000"	# +10k prefixes
	"0 20 1 1 100000"	# -10k prefixes, +20 services
	"0 20 1 3 50000"	# weights 1:3 (table swap), lower limit
	"10000 5 3 1 100000"	# +10k prefixes, -15 services, weights 3:1
	"0 0 1 1 100000"	# back to the start
)

# The stream runs from before the first reload to after the last: every
# config of the cycle, twice (once by each kind of reload), under traffic.
it_counting_servers "$PORT"
it_stream_rate "$IT_CL1" "$VIP" "$PORT" "$PPS"
PPS=$IT_STREAM_PPS
it_log "a quiet stream is lossless at $PPS datagrams/s: the test runs at that rate"
IT_STREAM_STOP=$IT_TMP/stream1.stop it_udp_stream "$IT_CL1" "$VIP" "$PORT" "$MAXCOUNT" "$PPS" 16 \
	"$IT_TMP/stream1.json"
sleep 0.5	# traffic flowing before the first reload
reloads=0
while ((reloads < 2 * ${#CONFIGS[@]})); do
	kill -0 "$IT_STREAM_PID" 2>/dev/null || it_fail "the stream ended before the reloads did"
	# shellcheck disable=SC2086
	write_cfg ${CONFIGS[reloads % ${#CONFIGS[@]}]}
	if ((reloads % 2)); then
		kill -HUP "$IT_GWD_PID"
		wait_generation $((gen + 1))
	else
		out=$(gwctl reload 2>&1) || it_fail "gwctl reload failed: $out"
	fi
	gen=$((gen + 1))
	reloads=$((reloads + 1))
done
sleep 0.5	# traffic after the last reload too
touch "$IT_TMP/stream1.stop"
wait "$IT_STREAM_PID"
it_log "$reloads reloads during the stream (generation $gen)"
grep "apply: done in" "$LOG" | sed 's/^/    gwd: /' | tail -n 5
it_stream_check "$IT_TMP/stream1.json" "$(it_counted_total)" "stream under reloads" ||
	it_fail "stream under reloads"
grep -q "apply: failed\|reapplying the running config" "$LOG" && it_fail "an apply failed: $(cat "$LOG")"

# An invalid file: gwctl says why and exits 1, the running config stays.
write_cfg 10000 0 1 1 100000
gwctl reload >/dev/null || it_fail "reload to the 10k file failed"
gen=$((gen + 1))
nfilt=$(gwctl --json filter list | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')
printf 'version: 1\nfilter: { deny: [198.18.1.0/33] }\n' >"$CFG"
it_counting_servers "$PORT"
it_udp_stream "$IT_CL1" "$VIP" "$PORT" "$PPS" "$PPS" 16 "$IT_TMP/stream2.json"
out=$(gwctl reload 2>&1)
rc=$?
[ "$rc" = 1 ] || it_fail "gwctl reload of an invalid file exited $rc: $out"
grep -q "gateway.yaml:2:18" <<<"$out" || it_fail "gwctl's error lacks FILE:LINE:COL: $out"
it_log "gwctl reload (invalid file) said: $(head -2 <<<"$out" | tr '\n' ' ')"
grep -q "admin: reload refused: .* is invalid" "$LOG" || it_fail "gwd did not log the refused reload"
kill -HUP "$IT_GWD_PID"
for ((i = 0; i < 100; i++)); do
	grep -q "gwd: .* is invalid; the running config stays" "$LOG" && break
	sleep 0.1
done
[ "$i" -lt 100 ] || it_fail "gwd did not log the invalid SIGHUP reload"
grep -q "gateway.yaml:2:18" "$LOG" || it_fail "gwd's log lacks FILE:LINE:COL"
wait "$IT_STREAM_PID"
it_stream_check "$IT_TMP/stream2.json" "$(it_counted_total)" "stream under invalid reloads" ||
	it_fail "stream under invalid reloads"
[ "$(generation)" = "$gen" ] || it_fail "generation moved on an invalid reload: $(generation)"
n=$(gwctl --json filter list | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')
[ "$n" = "$nfilt" ] || it_fail "filter changed on an invalid reload: $nfilt -> $n entries"
kill -0 "$IT_GWD_PID" || it_fail "gwd died"
echo "PASS"
