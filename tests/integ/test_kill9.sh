#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fault test: gwd (keep_datapath_on_exit: true) is killed with SIGKILL at
# random moments, 20 rounds, during reloads, during steady traffic and
# while a new gwd starts; each time a new gwd must adopt the pinned
# datapath. Through the whole test a counted, paced UDP stream (16 flows)
# crosses a `nat` service and one established TCP connection exchanges a
# line every 50 ms through another. Each round waits 0-1.5 s, then either
# kills gwd as it is (steady traffic), or writes the other of two files (the
# counted service's backend weights 1:1 <-> 1:3, a Maglev table swap, and
# 5000 deny prefixes that match no host of the test, added or removed),
# asks for a reload (SIGHUP or `gwctl reload`) and kills gwd 0-300 ms later
# (often in the middle of the apply), or kills it as it is and kills the
# next gwd too, 0-150 ms into its start. With gwd down the pins must hold
# the same programs (same ids) and every flow gw_ct had at the start, with
# its backend (the stream's 16, the TCP one); the new gwd must attach
# nothing (adopt, not re-create) and keep the programs and the flows. At the end every datagram sent must
# have reached a backend once and been answered, no UDP flow and not the
# TCP connection may have changed backend, and the last gwd answers
# `gwctl status` and still reloads.
#
# The rounds are drawn from a seed, printed first: KILL9_SEED=N replays a
# run's sequence (the moments are the same; the machine's timing is not).
# KILL9_ROUNDS=N changes the number of rounds (20; fewer when they take
# longer than KILL9_BUDGET=150 s, as on a TCG guest; 60 s in the VM run,
# GW_KERNEL_ONLY=1, where the host's run already holds the 20 kills and the
# guest checks the adoption on its kernel), KILL9_PREFIXES the
# size of the deny list that comes and goes (5000), KILL9_PPS the stream's
# rate (2000/s, halved until a quiet stream is lossless).
. "$(dirname "$0")/lib.sh"
it_init kill9
it_need_datapath
it_gwd_setup 2	# CFG, SOCK
it_servers 8080 300

VIP=${IT_VIPS4[0]}
PORT=5353
PPS=${KILL9_PPS:-2000}
ROUNDS=${KILL9_ROUNDS:-20}
# seconds for the rounds, at most (the host takes ~25)
if [ "${GW_KERNEL_ONLY:-0}" = 1 ]; then BUDGET=${KILL9_BUDGET:-60}; else BUDGET=${KILL9_BUDGET:-150}; fi
SEED=${KILL9_SEED:-$(( $(date +%s%N) / 1000 % 32768 ))}

gwctl() { nsenter --net="/run/netns/$IT_GW" "$GWCTL_BIN" -s "$SOCK" --pin-root "$IT_PIN" "$@"; }

# The two files a reload alternates between, written once: variant 0 has
# the counted service's backends weighted 1:1 and one deny prefix, variant 1
# weights 1:3 (a Maglev table swap) and $PREFIXES more deny prefixes (none
# holds a host of the test: bench/gen_config.py), so that its apply, and the
# way back, take long enough for a kill to land in the middle of them.
PREFIXES=${KILL9_PREFIXES:-5000}
IT_GWD_FILTER_SIZE=16384	# every gwd's filter maps hold them (and the pins' size)
for v in 0 1; do
	{
		it_yaml_counted "$VIP" "$PORT" 1 $((v ? 3 : 1))
		it_yaml_service web "$VIP" "[198.18.11.2:8080, 198.18.12.2:8080]"
	} >"$IT_TMP/tested.yaml"
	# shellcheck disable=SC2046 # one --iface per interface
	"$PY" "$IT_ROOT/bench/gen_config.py" --pin-root "$IT_PIN" --admin-socket "$SOCK" \
		$(printf -- '--iface %s ' "${IT_GW_IFS[@]}") --keep --prefixes $((v * PREFIXES)) \
		--extra "$IT_TMP/tested.yaml" "$IT_TMP/variant$v.yaml" ||
		it_fail "cannot write the config"
done

# write_cfg VARIANT: the file gwd reads becomes VARIANT, atomically (a gwd
# starting or reloading never reads half of it).
write_cfg() {
	cp "$IT_TMP/variant$1.yaml" "$CFG.new" && mv "$CFG.new" "$CFG"
}

# killed_in LOG: where the kill found a reload in LOG (a killed gwd's):
# "mid-reload" when its last reload had not finished applying, else
# "after the reload" or, when none had begun, "before the reload".
killed_in() {
	awk '/gwd: reloading/ { r = 1 } /apply: (done|failed)/ { if (r) r = 2 }
		END { print r == 1 ? "mid-reload" : r == 2 ? "after the reload" : "before the reload" }' "$1"
}

# status_field EXPR: a python expression over the status JSON (d), from
# gwd or, with gwd down, from the pins.
status_field() {
	gwctl --json status 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# dp_state: what must survive every kill, from gwd or (gwd down) the pins,
# as lines, sorted (for comm): "programs NAME:ID ..." and gw_ct's flows,
# "flow CLIENT VIP BACKEND". One python for both: a slow guest starts it
# in about a second.
dp_state() {
	{ gwctl --json status; gwctl --json conntrack list --limit 0; } 2>/dev/null | "$PY" -c '
import json, sys
text, dec, docs = sys.stdin.read(), json.JSONDecoder(), []
i = 0
while len(docs) < 2:
    while i < len(text) and text[i].isspace():
        i += 1
    d, i = dec.raw_decode(text, i)
    docs.append(d)
print("programs", " ".join(sorted("%s:%d" % (p["name"], p["id"]) for p in docs[0]["programs"])))
for f in docs[1]["flows"]:
    print("flow", f["client"], f["vip"], f["backend"])' | LC_ALL=C sort
}

# ms N: sleeps N milliseconds.
ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# drop_pid PID: PID (dead) leaves IT_PIDS, so that the cleanup never
# signals a number the system may have given to another process.
drop_pid() {
	local p keep=()
	for p in "${IT_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	IT_PIDS=("${keep[@]}")
}

it_log "seed $SEED (KILL9_SEED=$SEED replays the sequence), $ROUNDS kills"
RANDOM=$SEED

variant=0
write_cfg $variant
n=0	# the gwd instance: its log is gwd-N.log
it_gwd_start "$CFG" "$IT_TMP/gwd-$n.log" "$SOCK"

# A counted UDP stream and an established TCP connection, through every
# kill.
it_counted_traffic "$IT_CL1" "$VIP" "$PORT" "$PPS" 240
TCP_SRC=$IT_TCP_SRC
sleep 0.5	# traffic flowing before the first kill
dp_state >"$IT_TMP/dp0"	# the programs, every flow with its backend: they must stay
grep -q "^programs .*gw_xdp:" "$IT_TMP/dp0" ||
	it_fail "no gw_xdp in gwctl status: $(grep ^programs "$IT_TMP/dp0")"
grep -q "^flow $TCP_SRC " "$IT_TMP/dp0" || it_fail "the TCP flow $TCP_SRC is not in gw_ct"
CT0=$(grep -c " $VIP:$PORT " "$IT_TMP/dp0")
[ "$CT0" -ge 16 ] || it_fail "gw_ct holds $CT0 flows of the stream, expected 16"
it_log "$(grep ^programs "$IT_TMP/dp0"); gw_ct: $(grep -c ^flow "$IT_TMP/dp0") flows" \
	"(the calibration's, the stream's, the TCP one)"

# kill_gwd: kill -9 of the running gwd, reaped.
kill_gwd() {
	kill -9 "$IT_GWD_PID" || it_fail "round $r: gwd (pid $IT_GWD_PID) was not running"
	{ wait "$IT_GWD_PID"; } 2>/dev/null
	drop_pid "$IT_GWD_PID"
}

# check_dp WHEN: the pins (gwd down) or gwd hold the programs the test
# began with and every flow it had then, each with its backend.
check_dp() {
	local lost
	dp_state >"$IT_TMP/dp"
	lost=$(LC_ALL=C comm -23 "$IT_TMP/dp0" "$IT_TMP/dp")
	[ -z "$lost" ] ||
		it_fail "round $r, $1: lost or changed: $lost (now $(grep ^programs "$IT_TMP/dp"))"
}

# start_gwd: the next gwd, waited for; it must adopt (attach nothing).
start_gwd() {
	local t0 t
	n=$((n + 1))
	t0=$(date +%s%N)
	it_gwd_start "$CFG" "$IT_TMP/gwd-$n.log" "$SOCK"
	t=$((($(date +%s%N) - t0) / 1000000))
	((t > slowest)) && slowest=$t
	it_log "  gwd $n running after $t ms: $(grep -o 'apply: .*' "$IT_TMP/gwd-$n.log" | head -1)"
	if grep -q "attached to" "$IT_TMP/gwd-$n.log"; then
		cat "$IT_TMP/gwd-$n.log"
		it_fail "round $r: the new gwd attached instead of adopting"
	fi
}

# Each round: a random moment (0-1.5 s), then one of: a kill in steady
# traffic; a reload (SIGHUP or gwctl) to the other variant and a kill 0-300
# ms later; or a kill in steady traffic and a second one 0-150 ms into the
# start of the next gwd (which takes 100-300 ms on the host).
reloads=0 starts=0 slowest=0 t_rounds=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
	if ((SECONDS - t_rounds >= BUDGET)); then
		# A slow guest (TCG: a gwd starts in 1-10 s) stops here rather
		# than at tests/run.sh's timeout; the host never gets close.
		((r > 5)) || it_fail "only $((r - 1)) rounds in ${BUDGET} s: too slow a machine"
		it_log "the rounds' budget of $BUDGET s is spent: $((r - 1)) rounds of $ROUNDS"
		break
	fi
	kill -0 "$IT_STREAM_PID" 2>/dev/null || it_fail "round $r: the stream ended early"
	delay=$((RANDOM % 1501))
	mode=$((RANDOM % 4))	# 0 steady, 1 SIGHUP, 2 gwctl reload, 3 steady + during the start
	after=$((RANDOM % 301))
	ms "$delay"
	RPID=
	case $mode in
	0|3) what="steady traffic" ;;
	1|2)
		variant=$((1 - variant))
		write_cfg $variant
		if [ "$mode" = 1 ]; then
			what="SIGHUP reload to variant $variant, +$after ms"
			kill -HUP "$IT_GWD_PID"
		else
			what="gwctl reload to variant $variant, +$after ms"
			gwctl reload >/dev/null 2>&1 &
			RPID=$!
		fi
		reloads=$((reloads + 1))
		ms "$after"
		;;
	esac
	kill_gwd
	[ -n "$RPID" ] && wait "$RPID"	# gwctl answered or lost its peer: either
	[ "$mode" = 0 ] || [ "$mode" = 3 ] || what="$what: $(killed_in "$IT_TMP/gwd-$n.log")"
	it_log "round $r: kill -9 after ${delay} ms, $what"
	check_dp "gwd down"
	if [ "$mode" = 3 ]; then
		n=$((n + 1))
		IT_GWD_WAIT=0 it_gwd_start "$CFG" "$IT_TMP/gwd-$n.log"
		ms $((after / 2))
		kill_gwd
		starts=$((starts + 1))
		it_log "  and gwd $n killed $((after / 2)) ms into its start; its last line:" \
			"$(tail -n 1 "$IT_TMP/gwd-$n.log" 2>/dev/null)"
		check_dp "gwd down again"
	fi
	start_gwd
	check_dp "after the restart"
done
rounds=$((r - 1))
it_log "$((rounds + starts)) kills in $((SECONDS - t_rounds)) s ($reloads during reloads," \
	"$starts during a start), $n gwd started (the slowest in $slowest ms)"
sleep 0.5	# traffic after the last restart too
it_counted_traffic_end "stream across $((rounds + starts)) kills"

# The last gwd is sane: it runs from the file, on every interface, and
# reloads (the weights it reports follow the file).
gen=$(status_field 'd["generation"] if d["agent"] else -1')
[ "$gen" -ge 1 ] 2>/dev/null || it_fail "gwctl status: no gwd ($gen)"
nifs=$(status_field 'len(d["interfaces"])')
[ "$nifs" = "${#IT_GW_IFS[@]}" ] ||
	it_fail "gwctl status lists $nifs interfaces, not ${#IT_GW_IFS[@]}"
gwctl status >/dev/null || it_fail "gwctl status failed"
variant=$((1 - variant))
write_cfg $variant
out=$(gwctl reload 2>&1) || it_fail "reload after the kills failed: $out"
gen2=$(status_field 'd["generation"]')
[ "$gen2" = $((gen + 1)) ] || it_fail "generation $gen -> $gen2 on reload"
w=$(gwctl --json service list 2>/dev/null | "$PY" -c '
import json, sys
for s in json.load(sys.stdin):
    if s["name"] == "counted":
        print(max(b["weight"] for b in s["backends"]))')
[ "$w" = $((variant ? 3 : 1)) ] || it_fail "after the reload the counted service's top weight is $w"
grep -h "apply: failed\|reapplying" "$IT_TMP"/gwd-*.log && it_fail "an apply failed"
kill -0 "$IT_GWD_PID" || it_fail "the last gwd died"
echo "PASS"
