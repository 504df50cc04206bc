#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# How long gwd takes to apply a big config, as gwd measures it (its log
# line "apply: done in N ms"): from an empty config to 100k deny prefixes +
# 1000 services, the same big config again (a no-op reload), and back to
# empty. Target: < 1 s each. Runs in its own network namespaces (the
# integration tests' lab); needs root and `make all`.
# Usage: bench/reload.sh [--prefixes N] [--services N]
. "$(dirname "$0")/lib.sh"
bench_sizes "bench/reload.sh [--prefixes N] [--services N]" "$@"
it_init bench-reload
GWCTL_BIN=$BUILD/bin/gwctl
[ -x "$BUILD/bin/gwd" ] && [ -x "$GWCTL_BIN" ] || it_skip "run make all first"
it_topology 1
CFG=$IT_TMP/gateway.yaml
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/gwd.sock
gen() {
	"$PY" "$IT_ROOT/bench/gen_config.py" --pin-root "$IT_PIN" --admin-socket "$SOCK" \
		--iface "${IT_GW_IFS[0]}" --prefixes "$1" --services "$2" "$CFG"
}
gwctl() { nsenter --net="/run/netns/$IT_GW" "$GWCTL_BIN" -s "$SOCK" "$@"; }
# reload_ms WHAT: reloads and prints gwd's apply time of it.
reload_ms() {
	local before ms
	before=$(grep -c "apply: done in" "$LOG")
	gwctl reload >/dev/null || it_fail "$1: reload failed: $(tail -3 "$LOG")"
	[ "$(grep -c "apply: done in" "$LOG")" -gt "$before" ] || it_fail "$1: no apply line"
	ms=$(grep "apply: done in" "$LOG" | tail -1 | sed 's/.*apply: done in \([0-9.]*\) ms.*/\1/')
	printf '%-44s %10s ms   %s\n' "$1" "$ms" \
		"$(awk -v m="$ms" 'BEGIN { print (m < 1000) ? "target < 1000 ms: met" : "target < 1000 ms: NOT met" }')"
}

gen 0 0
IT_GWD_FILTER_SIZE=$((NPFX + 1024)) it_gwd_start "$CFG" "$LOG" "$SOCK"
gen "$NPFX" "$NSVC"
echo "gwd reload ($NPFX deny prefixes, $NSVC services), apply time measured by gwd:"
reload_ms "empty -> big"
reload_ms "big -> big (no-op)"
gen "$((NPFX - NPFX / 10))" "$((NSVC - NSVC / 10))"
reload_ms "big -> 90% of it (10% removed)"
gen 0 0
reload_ms "big -> empty"
grep "apply: done in" "$LOG" | sed 's/^/    gwd: /'
