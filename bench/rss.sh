#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwd's idle resident memory (VmRSS, and its parts RssAnon / RssFile, from
# /proc/PID/status) with an example-like config (a few filter entries, rate
# limits, two services, admin socket and metrics) and with 100k deny
# prefixes + 1000 services, each read after gwd applied the config and sat
# idle for a second. Target: < 16 MiB. Runs in its own network namespaces;
# needs root and `make all`.
# Usage: bench/rss.sh [--prefixes N] [--services N]
. "$(dirname "$0")/lib.sh"
bench_sizes "bench/rss.sh [--prefixes N] [--services N]" "$@"
it_init bench-rss
[ -x "$BUILD/bin/gwd" ] || it_skip "run make all first"
it_topology 2
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/gwd.sock

# rss NAME: VmRSS, RssAnon, RssFile of gwd (kB) and the verdict.
rss() {
	local st rss anon file
	st=/proc/$IT_GWD_PID/status
	rss=$(awk '/^VmRSS:/ { print $2 }' "$st")
	anon=$(awk '/^RssAnon:/ { print $2 }' "$st")
	file=$(awk '/^RssFile:/ { print $2 }' "$st")
	printf '%-36s VmRSS %6.1f MiB (anon %5.1f, file %5.1f)   %s\n' "$1" \
		"$(echo "$rss / 1024" | bc -l)" "$(echo "$anon / 1024" | bc -l)" \
		"$(echo "$file / 1024" | bc -l)" \
		"$([ "$rss" -lt 16384 ] && echo "target < 16 MiB: met" || echo "target < 16 MiB: NOT met")"
}

# stop_gwd: SIGTERM and wait.
stop_gwd() {
	kill -TERM "$IT_GWD_PID"
	wait "$IT_GWD_PID" 2>/dev/null
}

{ it_gw_yaml false "$SOCK"; cat <<YAML; } >"$IT_TMP/example.yaml"
  metrics: 127.0.0.1:9100
filter:
  default: allow
  deny: [198.18.99.0/24, "fd00:99::/48"]
  allow: [198.18.99.7/32]
  ban: { auth_failures: 20/m, duration: 10m }
rate_limits:
  packets_per_source: { rate: 20000/s, burst: 40000 }
  syn_per_source: { rate: 200/s, burst: 400 }
services:
  - name: dns
    vip: ${IT_VIPS4[0]}
    port: 53
    protocol: udp
    forwarding: nat
    backends: [198.18.11.2:53, { address: "198.18.12.2:53", weight: 2 }]
  - name: web
    vip: ${IT_VIPS4[0]}
    port: 80
    protocol: tcp
    forwarding: nat
    backends: [198.18.11.2:8080, 198.18.12.2:8080]
YAML
echo "gwd idle memory:"
it_gwd_start "$IT_TMP/example.yaml" "$LOG" "$SOCK"
sleep 1
rss "example-like config"
cp "/proc/$IT_GWD_PID/smaps_rollup" "$IT_TMP/smaps-example" 2>/dev/null
stop_gwd

"$PY" "$IT_ROOT/bench/gen_config.py" --pin-root "$IT_PIN" --admin-socket "$SOCK" \
	--iface "${IT_GW_IFS[0]}" --prefixes "$NPFX" --services "$NSVC" "$IT_TMP/big.yaml"
IT_GWD_WAIT=600 IT_GWD_FILTER_SIZE=$((NPFX + 1024)) it_gwd_start "$IT_TMP/big.yaml" "$LOG" "$SOCK"
sleep 1
rss "$NPFX prefixes + $NSVC services"
if [ -n "${RSS_VERBOSE:-}" ]; then
	sort -k2 -n -r <(awk '{ print }' "/proc/$IT_GWD_PID/smaps" | awk '
		/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "[anon]" }
		/^Rss:/ { rss[name] += $2 }
		END { for (n in rss) if (rss[n] > 100) printf "%-60s %8d kB\n", n, rss[n] }') | head -20
fi
stop_gwd
