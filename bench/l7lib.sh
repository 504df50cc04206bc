# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2004
#
# Sourced by bench/l7.sh and bench/h2.sh: running peers in the benchmark's
# network namespace and printing ratios. The caller defines NS, DIR, PIN,
# OUT (the results file) and PID_OF (an associative array) before calling
# these.

inns() { nsenter --net="/run/netns/$NS" "$@"; }

say() { echo "$*" | tee -a "$OUT"; }

cleanup() {
	local p
	for p in "${PID_OF[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PID_OF[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$PIN"-* "$DIR"
}

mkcert() {	# key type (ec | rsa): $DIR/KEY.cert.pem, KEY.key.pem, KEY.haproxy.pem
	local alg
	case $1 in
	ec) alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa) alg=(-newkey rsa:2048) ;;
	esac
	openssl req -x509 "${alg[@]}" -nodes -days 2 -subj /CN=bench.gw.test \
		-addext subjectAltName=DNS:bench.gw.test \
		-keyout "$DIR/$1.key.pem" -out "$DIR/$1.cert.pem" 2>/dev/null
	cat "$DIR/$1.cert.pem" "$DIR/$1.key.pem" >"$DIR/$1.haproxy.pem"
}

start() {	# name, command...
	local name=$1
	shift
	inns "$@" >"$DIR/$name.log" 2>&1 &
	PID_OF[$name]=$!
}

# stop NAME...: ends what start() ran under those names, the server first:
# nsenter may have forked it, and a server left running would share the
# port (SO_REUSEPORT) with the next one.
stop() {
	local n k _ kids
	for n; do
		[ -n "${PID_OF[$n]:-}" ] || continue
		mapfile -t kids < <(pgrep -P "${PID_OF[$n]}" || true)
		for k in "${kids[@]}"; do kill "$k" 2>/dev/null || true; done
		kill "${PID_OF[$n]}" 2>/dev/null || true
		wait "${PID_OF[$n]}" 2>/dev/null || true
		for k in "${kids[@]}"; do	# at most 5 s each
			for _ in $(seq 50); do
				kill -0 "$k" 2>/dev/null || break
				sleep 0.1
			done
		done
		unset "PID_OF[$n]"
	done
}

wait_http() {	# url: until it answers (10 s)
	local _
	for _ in $(seq 100); do
		inns curl -sk -o /dev/null --max-time 1 "$@" && return 0
		sleep 0.1
	done
	return 1
}

ratio() {	# label, a, b: prints a / b, and returns it in RATIO
	RATIO=$(python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); \
print('%.3f' % (a / b if b else float('nan')))" "$2" "$3")
	say "$(printf '  %-26s %.2fx' "$1" "$RATIO")"
}

spread() {	# label, ratios...: the median and the range over the runs
	say "$(python3 -c "import statistics, sys; v=[float(x) for x in sys.argv[2:]]; \
print('  %-26s median %.2fx, min %.2fx, max %.2fx over %d runs' % \
(sys.argv[1], statistics.median(v), min(v), max(v), len(v)))" "$@")"
}
