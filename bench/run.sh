#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gw's datapath benchmark (`make bench` runs it after `make all`).
# Builds what it needs into build/bench/ and runs bench_xdp, which prints
# ns/packet of gw beside the floor and xdp-filter, and live-frame rates;
# then the control-plane benchmarks: bench/reload.sh (gwd's apply time of
# 100k prefixes + 1000 services), bench/gwctl_latency.sh (change to
# datapath) and bench/rss.sh (gwd's idle memory).
# Arguments go to bench_xdp (e.g. --quick, --rounds 7, --cpu -1).
# The table is also written to build/bench/results.txt, and each row's
# ratio to the floor to build/bench/xdp.tsv (bench/plot.sh draws it).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=$BUILD/bench
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
MULTIARCH=$($CC -dumpmachine)
V=${V:-0}

run() {
	[ "$V" = 1 ] && echo "$*"
	"$@"
}

DPLIBS="$BUILD/lib/libgw-dp.a $BUILD/lib/libgw-config.a $BUILD/lib/libgw-core.a"
for f in "$BUILD/bpf/gw.bpf.o" $DPLIBS; do
	if [ ! -f "$f" ]; then
		echo "bench: $f is missing: run 'make all' first (or 'make bench')" >&2
		exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF programs, a network namespace)" >&2
	exit 1
fi

mkdir -p "$OUT"
WARN="-Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
-Wstrict-prototypes -Wmissing-prototypes"

# Rebuild only when a source is newer than its output.
newer() {
	local out=$1 f
	shift
	[ -f "$out" ] || return 0
	for f in "$@"; do
		[ "$f" -nt "$out" ] && return 0
	done
	return 1
}

if newer "$OUT/floor.bpf.o" bench/floor.bpf.c; then
	echo "  BPF      $OUT/floor.bpf.o"
	run "$CLANG" -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
		-I/usr/include/"$MULTIARCH" -c bench/floor.bpf.c -o "$OUT/floor.bpf.o"
fi
if newer "$OUT/bench_xdp" bench/bench_xdp.c tests/bpf/pkt.c tests/bpf/pkt.h \
	$DPLIBS include/gw/*.h agent/*/*.h; then
	echo "  CC       $OUT/bench_xdp"
	# shellcheck disable=SC2086
	run "$CC" -O2 -g -std=gnu11 $WARN -D_GNU_SOURCE -Iinclude -Iagent -Itests/bpf \
		-I"$BUILD/bpf" bench/bench_xdp.c tests/bpf/pkt.c $DPLIBS -o "$OUT/bench_xdp" \
		-lbpf -lxdp -lmnl -lyaml -ljansson -lcap-ng -lelf -lz
fi

# The ingress interface the bench uses needs bpffs for nothing, but libbpf
# wants a raised memlock limit on older kernels; harmless here.
ulimit -l unlimited 2>/dev/null || true

"$OUT/bench_xdp" --gw "$BUILD/bpf/gw.bpf.o" --floor "$OUT/floor.bpf.o" "$@" |
	tee "$OUT/results.txt"
rc=${PIPESTATUS[0]}
# Each row's ratio to its floor, for bench/plot.sh.
awk 'BEGIN { print "# row\tx floor" }
	match($0, / +repeat=/) { print substr($0, 1, RSTART - 1) "\t" $NF }' \
	"$OUT/results.txt" >"$OUT/xdp.tsv"

# The control plane: reload time, gwctl change-to-datapath latency, idle
# memory (each in its own network namespaces; see the scripts' headers).
changes=200
for a in "$@"; do
	[ "$a" = --quick ] && changes=50
done
for b in "bench/reload.sh" "bench/gwctl_latency.sh --changes $changes" "bench/rss.sh"; do
	echo
	# shellcheck disable=SC2086
	BUILD=$(cd "$BUILD" && pwd) bash $b 2>&1 | tee -a "$OUT/results.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
done
exit "$rc"
