# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Shared by the control-plane benchmarks (bench/reload.sh, rss.sh,
# gwctl_latency.sh): the integration tests' lab (tests/integ/lib.sh) and
# the size options. Source it.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integ/lib.sh"

# bench_sizes USAGE ARGS...: sets NPFX (--prefixes, default 100000) and
# NSVC (--services, default 1000); exits 2 with USAGE on anything else.
bench_sizes() {
	local usage=$1
	shift
	NPFX=100000 NSVC=1000
	while [ $# -gt 0 ]; do
		case $1 in
		--prefixes) NPFX=$2; shift 2 ;;
		--services) NSVC=$2; shift 2 ;;
		*) echo "usage: $usage" >&2; exit 2 ;;
		esac
	done
}
