#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwctl change-to-datapath latency: N filter changes (deny add / deny del
# of the prober's address, alternately) while a client probes a `nat`
# service every 0.5 ms (bench/probe_latency.py). Prints the median and p99
# of: gwctl's round trip, the time from gwctl's return to the datapath
# showing the change (target: < 10 ms; negative: before gwctl returned),
# and from gwctl's start. Runs in its own network namespaces (the
# integration tests' lab); needs root and `make all`.
# Usage: bench/gwctl_latency.sh [--changes N]
. "$(dirname "$0")/lib.sh"
N=200
[ "${1:-}" = --changes ] && N=$2
it_init bench-gwctl
[ -x "$BUILD/bin/gwd" ] && [ -x "$BUILD/bin/gwctl" ] || it_skip "run make all first"
it_topology 1
it_servers 8080 600
CFG=$IT_TMP/gateway.yaml
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/gwd.sock
{ it_gw_yaml false "$SOCK"; cat <<YAML; } >"$CFG"
services:
  - { name: probe, vip: ${IT_VIPS4[0]}, port: 53, protocol: udp, forwarding: nat,
      backends: [198.18.11.2:8080] }
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"
res=$(nsx "$IT_CL1" timeout 600 "$PY" "$IT_ROOT/bench/probe_latency.py" --host "${IT_VIPS4[0]}" \
	--port 53 --cidr 198.18.1.2/32 --iterations "$N" --toggle -- "$BUILD/bin/gwctl" -s "$SOCK") ||
	it_fail "probe failed: $res"
"$PY" - "$res" <<'PYEOF'
import json, statistics, sys
r = json.loads(sys.argv[1])
ch = [c for c in r["changes"] if "error" not in c]
bad = len(r["changes"]) - len(ch)
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
print("gwctl change-to-datapath latency: %d changes (deny add/del alternately), probes every "
      "%.1f ms, %d never seen" % (len(r["changes"]), r["interval_ms"], bad))
print("%-40s %9s %9s %9s" % ("", "median", "p99", "max"))
for key, what in (("gwctl_ms", "gwctl round trip (ms)"),
                  ("after_return_ms", "in force after gwctl returned (ms)"),
                  ("after_start_ms", "in force after gwctl started (ms)")):
    v = [c[key] for c in ch]
    print("%-40s %9.2f %9.2f %9.2f" % (what, statistics.median(v), pct(v, 99), max(v)))
p99 = pct([c["after_return_ms"] for c in ch], 99)
print("target: in force < 10 ms after gwctl returns (p99): %s" % ("met" if p99 < 10 and not bad else "NOT met"))
PYEOF
