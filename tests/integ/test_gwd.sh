#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwd on real traffic: starts from gateway.yaml (attaches, filter, service),
# SIGHUP applies a changed file, an invalid file leaves the running config
# in place with FILE:LINE:COL errors, kill -9 leaves the datapath serving and
# a new gwd adopts it, and without keep_datapath_on_exit SIGTERM detaches
# and removes every pin. `gwd --check` exits 0 or 1.
. "$(dirname "$0")/lib.sh"
it_init gwd
it_need_datapath
it_gwd_setup 1
it_servers 8080

VIP4=${IT_VIPS4[0]}

# write_cfg KEEP DENY: the gateway's config with one deny prefix.
write_cfg() {
	{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  interfaces: [${IT_GW_IFS[0]}, { name: ${IT_GW_IFS[1]}, xdp_mode: native }, ${IT_GW_IFS[2]}]
  keep_datapath_on_exit: $1
  metrics: 127.0.0.1:9100
filter:
  deny: [$2]
services:
$(it_yaml_service web "$VIP4" "[198.18.11.2:8080]")
YAML
}

start_gwd() {
	it_gwd_start "$CFG" "$LOG"
	GWD_PID=$IT_GWD_PID
}

# wait_log TEXT MSG: waits (at most 10 s) until the log has TEXT.
wait_log() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "$1" "$LOG" && return 0
		sleep 0.1
	done
	cat "$LOG"
	it_fail "$2"
}

ok() { it_answered "$1" "$VIP4" "$2" "$LOG"; }
blocked() { it_unanswered "$1" "$VIP4" "$2"; }

# --check
write_cfg true 198.18.2.0/24
"$GWD" --check -c "$CFG" >/dev/null || it_fail "gwd --check rejected a valid file"
printf 'version: 1\nfilter: { deny: [198.18.2.1/24] }\n' >"$IT_TMP/bad.yaml"
out=$("$GWD" --check -c "$IT_TMP/bad.yaml" 2>&1) && it_fail "gwd --check accepted a bad file"
grep -q "bad.yaml:2:18: deny:" <<<"$out" || it_fail "no FILE:LINE:COL error: $out"
# every problem in one pass: the file's own and a missing file it names;
# --syntax-only leaves the files out
printf 'version: 1\nfilter: { deny: [nope] }\nauth: { jwt: [ { name: j, jwks: %s/none.json, algorithms: [RS256] } ] }\n' \
	"$IT_TMP" >"$IT_TMP/bad2.yaml"
out=$("$GWD" --check -c "$IT_TMP/bad2.yaml" 2>&1) && it_fail "gwd --check accepted bad2"
grep -q "bad2.yaml:2:18: deny:" <<<"$out" && grep -q "bad2.yaml:3:.*none.json: No such file" <<<"$out" ||
	it_fail "--check did not report both problems in one pass: $out"
out=$("$GWD" --check --syntax-only -c "$IT_TMP/bad2.yaml" 2>&1)
grep -q "none.json" <<<"$out" && it_fail "--syntax-only opened the files: $out"
"$GWD" --check --syntax-only -c "$IT_ROOT/examples/gateway.example.yaml" >/dev/null ||
	it_fail "the example config is not valid by --syntax-only"

# Start: the deny applies, the service answers.
start_gwd
ok "$IT_CL1" start-cl1
blocked "$IT_CL2" start-cl2-denied

# SIGHUP with a changed file: client 2 allowed, client 1 denied.
write_cfg true 198.18.1.0/24
kill -HUP "$GWD_PID"
wait_log "generation 2" "reload was not applied"
ok "$IT_CL2" reload-cl2
blocked "$IT_CL1" reload-cl1-denied

# SIGHUP with an invalid file: the running config stays, errors are shown.
printf 'version: 1\nfilter: { deny: [not-an-address] }\n' >"$CFG"
kill -HUP "$GWD_PID"
wait_log "is invalid; the running config stays" "invalid reload not reported"
grep -q "gateway.yaml:2:18: deny: not an IPv4 or IPv6 prefix: 'not-an-address'" "$LOG" ||
	it_fail "no position in the reload error"
ok "$IT_CL2" invalid-reload-cl2
blocked "$IT_CL1" invalid-reload-cl1
# A node of the wrong kind inside a list (crashed the parser's later
# checks): an error with its position; gwd keeps running.
printf 'version: 1\ntls: { alpn: [{a: b}] }\n' >"$CFG"
kill -HUP "$GWD_PID"
wait_log "gateway.yaml:2:15: alpn: expected a value, found a mapping" "a mapping in a list was not reported"
kill -0 "$GWD_PID" 2>/dev/null || it_fail "gwd died reloading a mapping in a string list"
ok "$IT_CL2" wrong-kind-reload-cl2

# Prometheus text on gateway.metrics (inside the gateway's netns).
metric() {	# metric NAME{LABELS}: its value
	nsx "$IT_GW" "$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=3).read().decode())' |
		awk -v m="$1" '$1 == m { print $2 }'
}
[ "$(metric 'gw_xdp_packets_total{action="drop",reason="filter"}')" -gt 0 ] ||
	it_fail "metrics: no filter drops"
[ "$(metric 'gw_service_packets_total{service="web"}')" -gt 0 ] ||
	it_fail "metrics: no packets for service web"
[ "$(metric 'gw_config_reloads_total{result="success"}')" = 1 ] ||
	it_fail "metrics: reload successes"
[ "$(metric 'gw_config_reloads_total{result="failure"}')" = 2 ] ||
	it_fail "metrics: reload failures"
[ -n "$(metric 'gw_backend_packets_total{service="web",backend="198.18.11.2:8080"}')" ] ||
	it_fail "metrics: no backend row"
[ "$(metric 'gw_build_info{version="'"$("$GWD" --version | cut -d' ' -f2)"'"}')" = 1 ] ||
	it_fail "metrics: no gw_build_info with gwd's version"
for m in process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
	process_max_fds process_start_time_seconds; do
	[ -n "$(metric "$m")" ] || it_fail "metrics: no $m"
done
[ "$(metric process_resident_memory_bytes)" -gt 1000000 ] || it_fail "metrics: RSS too small"
[ -z "$(metric 'gw_ratelimited_total{layer="xdp"}')" ] ||
	it_fail "metrics: packets counted under gw_ratelimited_total"
# GET PATH on the metrics listener: "CODE BODY"
mget() {
	nsx "$IT_GW" "$PY" -c 'import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://127.0.0.1:9100" + sys.argv[1], timeout=3)
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())' "$1"
}
mget / | grep -q '^200 <!DOCTYPE html>' || it_fail "metrics: no status page at /: $(mget / | head -c 300)"
mget /ready | grep -q '^200 ready: config generation 2' || it_fail "metrics: /ready: $(mget /ready)"
mget /config | grep -q 'pin_root:' || it_fail "metrics: /config does not show the file"
mget /nope | grep -q '^404' || it_fail "metrics: /nope is not 404"

# kill -9: the datapath keeps serving; a new gwd adopts it.
kill -9 "$GWD_PID"
wait "$GWD_PID" 2>/dev/null
ok "$IT_CL2" gwd-down
write_cfg true 198.18.1.0/24
: >"$LOG"
start_gwd
grep -q "attached to" "$LOG" && it_fail "the restarted gwd re-attached instead of adopting"
ok "$IT_CL2" adopted
blocked "$IT_CL1" adopted-cl1

# Without keep_datapath_on_exit, SIGTERM detaches and unpins everything.
write_cfg false 198.18.1.0/24
kill -HUP "$GWD_PID"
wait_log "generation 2" "second reload was not applied"
kill -TERM "$GWD_PID"
wait "$GWD_PID"
rc=$?
[ "$rc" = 0 ] || it_fail "gwd exited $rc on SIGTERM"
grep -q "datapath detached and unpinned" "$LOG" || it_fail "no detach message"
[ -z "$(ls -A "$IT_PIN" 2>/dev/null)" ] || it_fail "pins left: $(ls -A "$IT_PIN")"
nsx "$IT_GW" ip -o link show "${IT_GW_IFS[0]}" | grep -q xdp && it_fail "XDP still attached"
echo "PASS"
