#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The sockmap splice against gwd's user-space copy, in one run, on the
# loopback of a private network namespace (docs/design-sockmap.md):
#
#   bench/splice.sh [--runs N] [--mib M] [--duration S]
#
# One gwd (2 workers) in front of one nginx origin; two routes to the same
# files, /s/ with `splice: true` (the connection goes to the kernel after
# the first answer head) and /u/ with `splice: false`. Per run, in turn:
#   bulk   curl fetches /X/big (M MiB, default 512) 4 times on one
#          keep-alive connection: MB/s, and system-wide CPU seconds per GB
#          moved from /proc/stat (all CPUs' busy time, not gwd's own: the
#          kernel's part of a splice runs in softirq and kworkers)
#   small  wrk -t1 -c16 on /X/small (2 bytes) for S seconds (default 5):
#          requests/s, p50 and p99 (on spliced connections every request
#          after the first goes through the kernel)
# Prints each run and the medians' ratios spliced / user space; the
# issue's targets: CPU per GB <= 0.6x, throughput >= 1.0x, p99 <= 1.5x.
# Status: its first run (6.18, loaded machine, --mib 64) hung in the
# spliced bulk case and was killed; a fast origin against a slower client
# passes the 4 MiB lag limit, and going back to user space is the known
# issue of docs/design-sockmap.md. No figures yet.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
runs=3 mib=512 dur=5
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--duration) dur=$2; shift 2 ;;
	*) sed -n '3,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/splice.sh: needs root" >&2; exit 2; }
for t in nginx wrk curl; do
	command -v $t >/dev/null || { echo "bench/splice.sh: missing $t (make bench-deps)" >&2; exit 2; }
done
[ -x "$BUILD/bin/gwd" ] || { echo "bench/splice.sh: run make first" >&2; exit 2; }
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

NS=gwbs-$$
PIN=/sys/fs/bpf/gwbs-$$
TMP=$(mktemp -d /tmp/gw-bench-splice.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
nsx() { ip netns exec "$NS" "$@"; }

mkdir -p "$TMP/www/s" "$TMP/www/u"
head -c "${mib}M" /dev/urandom >"$TMP/www/s/big"
ln "$TMP/www/s/big" "$TMP/www/u/big"
printf 'ok' >"$TMP/www/s/small"
printf 'ok' >"$TMP/www/u/small"
cat >"$TMP/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	keepalive_requests 100000000;
	server { listen 127.0.0.1:8081; root $TMP/www; }
}
CONF
nsx nginx -c "$TMP/nginx.conf" -e "$TMP/nginx.err" &
PIDS+=($!)
cat >"$TMP/gw.yaml" <<YAML
version: 1
gateway:
  pin_root: $PIN
  admin_socket: $TMP/gwd.sock
  workers: 2
listeners:
  - { name: http, address: "127.0.0.1:8080" }
upstreams:
  - name: origin
    servers: [127.0.0.1:8081]
    timeouts: { connect: 1s, response: 60s, idle: 60s }
routes:
  - { match: { path_prefix: /s/ }, upstream: origin, splice: true }
  - { match: { path_prefix: /u/ }, upstream: origin, splice: false }
YAML
nsx "$BUILD/bin/gwd" -c "$TMP/gw.yaml" --foreground >"$TMP/gwd.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do grep -qs "gwd: running" "$TMP/gwd.log" && break; sleep 0.1; done
grep -q "splice: sockmap programs attached" "$TMP/gwd.log" ||
	{ cat "$TMP/gwd.log"; echo "bench/splice.sh: no splice on this kernel" >&2; exit 1; }

# busy and total jiffies of all CPUs
cpu() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; print b }' /proc/stat; }
hz=$(getconf CLK_TCK)

# bulk PATH: prints "MB/s cpu-s/GB"
bulk() {
	local urls=() k t0 t1 c0 c1
	for k in 1 2 3 4; do urls+=("http://127.0.0.1:8080/$1/big"); done
	c0=$(cpu)
	t0=$(date +%s%N)
	nsx curl -s -o /dev/null "${urls[@]}"
	t1=$(date +%s%N)
	c1=$(cpu)
	awk -v m="$mib" -v t=$((t1 - t0)) -v c=$((c1 - c0)) -v hz="$hz" \
		'BEGIN { mb = 4 * m * 1.048576; printf "%.0f %.3f\n", mb / (t / 1e9), (c / hz) / (mb / 1000) }'
}

# small PATH: prints "req/s p50-us p99-us"
small() {
	nsx wrk -t1 -c16 -d"${dur}s" --latency "http://127.0.0.1:8080/$1/small" | awk '
		function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; return v * 1e6 }
		/^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /^Requests\/sec/ { r = $2 }
		END { printf "%.0f %.0f %.0f\n", r, p50, p99 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

printf '%-4s %-6s %10s %12s %10s %9s %9s\n' run path "MB/s" "cpu-s/GB" "req/s" "p50 us" "p99 us"
: >"$TMP/res"
for ((r = 1; r <= runs; r++)); do
	for p in u s; do
		read -r mbs cpg < <(bulk "$p")
		read -r rps p50 p99 < <(small "$p")
		printf '%-4s %-6s %10s %12s %10s %9s %9s\n' "$r" "$([ $p = s ] && echo splice || echo user)" \
			"$mbs" "$cpg" "$rps" "$p50" "$p99"
		echo "$p $mbs $cpg $rps $p50 $p99" >>"$TMP/res"
	done
done
med() { awk -v p="$1" -v c="$2" '$1 == p { print $c }' "$TMP/res" | median; }
echo
echo "medians (splice / user space):"
for c in "2 throughput MB/s" "3 CPU s per GB" "4 small req/s" "5 small p50" "6 small p99"; do
	set -- $c
	col=$1
	shift
	u=$(med u "$col")
	s=$(med s "$col")
	awk -v n="$*" -v u="$u" -v s="$s" 'BEGIN { printf "  %-16s user %-10s splice %-10s ratio %.2fx\n", n, u, s, (u > 0 ? s / u : 0) }'
done
