#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Cluster rate limits against node rate limits, same run: wrk against one
# gwd on two `respond` routes whose limit never refuses (rate 10M/s, burst
# 1M), one `scope: node`, one `scope: cluster` (tokens leased from a
# redis-server in the same private network namespace, on loopback).
#
#   bench/cluster.sh [--duration S] [--connections N] [--runs N]
#
# Prints requests/s of each, their ratio (target >= 0.9), and the Redis
# round trips per 1000 requests of the cluster route (from gwd's metrics:
# gw_cluster_redis_round_trips_total over gw_cluster_shared_decisions_total,
# polls and heartbeats included). Each run alternates node, cluster; the
# median ratio of --runs runs is the result. Results also go to
# build/bench/cluster.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
GWD=$ROOT/$BUILD/bin/gwd
DURATION=5
CONNS=64
RUNS=3

while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--connections) CONNS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	*) echo "usage: bench/cluster.sh [--duration S] [--connections N] [--runs N]" >&2; exit 2 ;;
	esac
done
for t in wrk redis-server curl; do
	command -v "$t" >/dev/null || { echo "bench/cluster.sh: missing $t" >&2; exit 1; }
done
[ -x "$GWD" ] || { echo "bench/cluster.sh: build gwd first (make)" >&2; exit 1; }

SUF=$(printf '%04x' $((RANDOM & 0xffff)))
NS=gwbench-cl-$SUF
TMP=$(mktemp -d /tmp/gw-bench-cluster.XXXXXX)
PIN=/sys/fs/bpf/gwbench-cl-$SUF
mkdir -p "$ROOT/$BUILD/bench"
OUT=$ROOT/$BUILD/bench/cluster.txt
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ip netns add "$NS"
inns() { nsenter --net="/run/netns/$NS" "$@"; }
inns ip link set lo up

inns redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --dir "$TMP" \
	--daemonize no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/gw.yaml" <<YAML
version: 1
gateway:
  pin_root: $PIN
  admin_socket: $TMP/gwd.sock
  metrics: 127.0.0.1:9100
  workers: 2
listeners:
  - { name: http, address: "127.0.0.1:8080" }
routes:
  - match: { path_exact: /node }
    rate_limit: { rate: 10000000/s, burst: 1000000, key: route }
    respond: { status: 200, body: "ok" }
  - match: { path_exact: /cluster }
    rate_limit: { rate: 10000000/s, burst: 1000000, key: route, scope: cluster }
    respond: { status: 200, body: "ok" }
cluster:
  node: bench
  redis: { address: 127.0.0.1:6379, timeout: 50ms }
YAML
inns "$GWD" -c "$TMP/gw.yaml" --foreground >"$TMP/gwd.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	inns curl -s -m 1 http://127.0.0.1:9100/metrics 2>/dev/null | grep -q '^gw_cluster_redis_up 1' && break
	sleep 0.1
done
inns curl -s -m 1 http://127.0.0.1:9100/metrics | grep -q '^gw_cluster_redis_up 1' ||
	{ echo "gwd did not reach Redis: $(tail -5 "$TMP/gwd.log")" >&2; exit 1; }

metric() { inns curl -s -m 2 http://127.0.0.1:9100/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
# rps PATH: requests/s of wrk against PATH.
rps() {
	inns wrk -t2 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:8080$1" 2>/dev/null |
		awk '/^Requests\/sec:/ { print int($2) }'
}

ratios=()
{
	echo "bench/cluster.sh: wrk -t2 -c$CONNS -d${DURATION}s, gwd with 2 workers, redis-server on loopback"
	printf '%-4s %12s %12s %8s %14s\n' run node_rps cluster_rps ratio rtt_per_1000
	for ((r = 1; r <= RUNS; r++)); do
		n=$(rps /node)
		rt0=$(metric gw_cluster_redis_round_trips_total)
		d0=$(metric gw_cluster_shared_decisions_total)
		c=$(rps /cluster)
		rt1=$(metric gw_cluster_redis_round_trips_total)
		d1=$(metric gw_cluster_shared_decisions_total)
		ratio=$(awk -v a="$c" -v b="$n" 'BEGIN { printf "%.3f", a / b }')
		per=$(awk -v r=$((rt1 - rt0)) -v d=$((d1 - d0)) 'BEGIN { printf "%.2f", d ? 1000 * r / d : 0 }')
		ratios+=("$ratio")
		printf '%-4s %12s %12s %8s %14s\n' "$r" "$n" "$c" "$ratio" "$per"
	done
	med=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	fb=$(metric gw_cluster_fallback_total)
	echo "median cluster/node ratio: $med (target >= 0.9); node-local fallbacks: $fb"
} | tee "$OUT"
