#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Runs gw's test suites, prints one line per test with its duration
# ("ok   integ/test_x (12 s)") and a closing line "N passed, N failed,
# N skipped". Usage: tests/run.sh [unit|bpf|integ|all] [NAME-REGEX]
#   unit   C unit tests (cmocka), plain and under ASan+UBSan, the
#          include layering check (tests/check_layers.sh) and one replay
#          of each fuzz target's corpus (tests/fuzz, built by `make fuzz-build`)
#   bpf    BPF programs through bpf_prog_test_run_opts (cmocka)
#   integ  real traffic between network namespaces (tests/integ/test_*.sh)
# Each test's log goes to a directory $TMPDIR/gw-test-logs.*, removed when
# nothing failed unless GW_KEEP_LOGS=1. An integration test is stopped after
# GW_TEST_TIMEOUT seconds (300).
# Exit status: 0 when nothing failed.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
suite=${1:-all}
filter=${2:-}
passed=0 failed=0 skipped=0
failures=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/gw-test-logs.XXXXXX")

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: the BPF and netns suites need root" >&2
fi
# bpffs is not mounted at boot on these machines.
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi

# libxdp keeps its state under /sys/fs/bpf/xdp; removed afterwards when
# empty (also when an overlapping run created it: that run could not).

# Runs one cmocka binary with TAP output and counts its cases.
run_cmocka() {
	local bin=$1 name log out rc t0 took
	name=${bin#"$BUILD"/tests/}
	log="$logdir/${name//\//_}.log"
	t0=$SECONDS
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$bin" >"$log" 2>&1
	rc=$?
	took="$((SECONDS - t0)) s"
	local ok nok skip
	ok=$(grep -cE '^ok [0-9]+ - ' "$log")
	skip=$(grep -cE '^ok [0-9]+ # SKIP' "$log")
	nok=$(grep -cE '^not ok [0-9]+' "$log")
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	failed=$((failed + nok))
	if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
		# Crashed or failed in setup before reporting a case.
		failed=$((failed + 1))
		nok=1
	fi
	if [ "$nok" != 0 ]; then
		failures+=("$name")
		echo "FAIL $name ($took, log: $log)"
		sed 's/^/    /' "$log" | tail -40
	else
		if [ "$skip" != 0 ]; then
			echo "ok   $name ($ok passed, $skip skipped, $took)"
		else
			echo "ok   $name ($ok passed, $took)"
		fi
	fi
}

# Runs one integration script: exit 0 pass, 77 skip (reason on stdout).
# With GW_KERNEL_ONLY=1 (the VM run), a script whose header says
# "# vm: skip (WHY)" is skipped: it tests user space only, which the host
# run covers; the VM's time goes to what depends on the kernel.
run_script() {
	local script=$1 name log rc why t0 took
	name=integ/$(basename "$script" .sh)
	if [ "${GW_KERNEL_ONLY:-0}" = 1 ] &&
		why=$(sed -n 's/^# vm: skip (\(.*\))$/\1/p' "$script" | head -1) && [ -n "$why" ]; then
		skipped=$((skipped + 1))
		echo "skip $name: user space only ($why): run on the host"
		return
	fi
	log="$logdir/${name//\//_}.log"
	t0=$SECONDS
	timeout "${GW_TEST_TIMEOUT:-300}" bash "$script" >"$log" 2>&1
	rc=$?
	took="$((SECONDS - t0)) s"
	case $rc in
	0) passed=$((passed + 1)); echo "ok   $name ($took)" ;;
	77) skipped=$((skipped + 1)); echo "skip $name: $(tail -1 "$log") ($took)" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   echo "FAIL $name (exit $rc, $took, log: $log)"; sed 's/^/    /' "$log" | tail -60 ;;
	esac
}

want() { [ "$suite" = all ] || [ "$suite" = "$1" ]; }
match() { [ -z "$filter" ] || [[ $1 =~ $filter ]]; }	# an extended regex: "reload|l7"

# Runs the layer check (docs/architecture.md's table) as one test.
run_layers() {
	local log="$logdir/layers.log"
	if tests/check_layers.sh >"$log" 2>&1; then
		passed=$((passed + 1)); echo "ok   layers ($(tail -1 "$log"))"
	else
		failed=$((failed + 1)); failures+=(layers)
		echo "FAIL layers (log: $log)"; sed 's/^/    /' "$log" | tail -40
	fi
}

# Builds the fuzz targets (tests/fuzz/fuzz.mk) and runs each once over its
# committed corpus, one test per target; fuzz_xdp needs root (skipped
# without it).
run_fuzz_replay() {
	local src t log rc targets=()
	for src in tests/fuzz/fuzz_*.c; do
		t=$(basename "$src" .c)
		match "fuzz/$t" && targets+=("$t")
	done
	[ ${#targets[@]} = 0 ] && return
	log="$logdir/fuzz-build.log"
	if ! make --no-print-directory -s BUILD="$BUILD" fuzz-build >"$log" 2>&1; then
		failed=$((failed + 1)); failures+=(fuzz-build)
		echo "FAIL fuzz-build (log: $log)"; sed 's/^/    /' "$log" | tail -40
		return
	fi
	for t in "${targets[@]}"; do
		if [ "$t" = fuzz_xdp ] && [ "$(id -u)" != 0 ]; then
			skipped=$((skipped + 1)); echo "skip fuzz/$t: needs root"
			continue
		fi
		log="$logdir/$t.log"
		timeout 300 "$BUILD/fuzz/$t" -runs=0 -artifact_prefix="$logdir/$t-" \
			"tests/fuzz/corpus/${t#fuzz_}" >"$log" 2>&1
		rc=$?
		case $rc in
		0) passed=$((passed + 1))
		   echo "ok   fuzz/$t ($(ls "tests/fuzz/corpus/${t#fuzz_}" | wc -l) inputs)" ;;
		*) failed=$((failed + 1)); failures+=("fuzz/$t")
		   echo "FAIL fuzz/$t (exit $rc, log: $log)"; sed 's/^/    /' "$log" | tail -40 ;;
		esac
	done
}

if want unit; then
	match layers && run_layers
	run_fuzz_replay
	for bin in "$BUILD"/tests/unit/test_* "$BUILD"/tests/unit-san/test_*; do
		[ -x "$bin" ] && match "$bin" && run_cmocka "$bin"
	done
fi
if want bpf; then
	for bin in "$BUILD"/tests/bpf/test_*; do
		[ -x "$bin" ] && match "$bin" && run_cmocka "$bin"
	done
fi
if want integ; then
	for script in tests/integ/test_*.sh; do
		[ -f "$script" ] && match "$script" && run_script "$script"
	done
fi

rmdir /sys/fs/bpf/xdp 2>/dev/null || true
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
[ "$failed" = 0 ] && [ "${GW_KEEP_LOGS:-0}" != 1 ] && rm -rf "$logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
