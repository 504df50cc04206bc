#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwctl against a running gwd (its admin socket under the test's tmp dir):
# status, a live deny under traffic (and its removal), filter list --json,
# ratelimit set, backend add/drain/del on the configured service, stats
# --json and --watch, reload dropping the live changes, an emergency deny
# through the pins with gwd down, a refused unprivileged peer (connect()
# and SO_PEERCRED), usage errors (exit 2, one line, "did you mean"), the
# honest L7 errors, rows in the same order every time (config order, then
# sorted), -q, --version, and the completions' live names.
. "$(dirname "$0")/lib.sh"
it_init gwctl
it_need_datapath
it_gwd_setup 1
it_servers 8080

VIP4=${IT_VIPS4[0]}
SOCK=$IT_TMP/run/gwd.sock

{ it_gw_yaml true "$SOCK"; cat <<YAML; } >"$CFG"
filter:
  deny: [198.18.99.0/24]
services:
$(it_yaml_service web "$VIP4" "[198.18.11.2:8080]")
$(it_yaml_service api "${IT_VIPS4[1]}" "[198.18.11.2:8080]")
YAML

# gwctl in the gateway netns (interface names resolve there).
gwctl() {
	nsenter --net="/run/netns/$IT_GW" "$GWCTL_BIN" -s "$SOCK" --pin-root "$IT_PIN" "$@"
}
is_json() {
	"$PY" -c 'import json,sys; json.load(sys.stdin)' || it_fail "$1: output is not JSON"
}

start_gwd() {
	it_gwd_start "$CFG" "$LOG" "$SOCK"
	GWD_PID=$IT_GWD_PID
}

ok() { it_answered "$1" "$VIP4" "$2" "$LOG"; }
blocked() { it_unanswered "$1" "$VIP4" "$2"; }

start_gwd
ok "$IT_CL1" start

# status: generation and interfaces.
out=$(gwctl status) || it_fail "status failed: $out"
grep -q "generation 1" <<<"$out" || it_fail "status shows no generation 1: $out"
for ifc in "${IT_GW_IFS[@]}"; do
	grep -q "^$ifc " <<<"$out" || it_fail "status lacks interface $ifc: $out"
done
gwctl --json status | is_json "status --json"
sed 's/^/    /' <<<"$out"
# status: the loaded program is the one on the interfaces, the modes and the
# kernel features in use agree with what the kernel reports.
xdp_id=$(nsx "$IT_GW" ip -d link show "${IT_GW_IFS[0]}" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1)
gwctl --json status | "$PY" -c '
import json, sys
d, xdp_id = json.load(sys.stdin), int(sys.argv[1])
progs = {p["name"]: p for p in d["programs"]}
assert "gw_xdp" in progs, d["programs"]
ifs = d["interfaces"]
assert all(i["hook"] == "xdp-native" for i in ifs), ifs
disp = {i["xdp_dispatcher"] for i in ifs}
assert disp <= {True, False} and len(disp) == 1, ifs
f = d["features"]
assert "xdp native" in f and "kernel btf" in f and "map btf" in f, f
if disp == {True}:
    assert "libxdp multiprog dispatcher" in f, f
else:
    # attached alone: the interface runs gw_xdp itself
    assert progs["gw_xdp"]["id"] == xdp_id, (progs, xdp_id)
    assert any(x.startswith("xdp attached alone") for x in f), f
assert progs["gw_xdp"]["jited"] and progs["gw_xdp"]["btf"], progs
' "${xdp_id:-0}" || it_fail "status: programs, modes or features wrong: $(gwctl status)"
grep -q "^program    gw_xdp (xdp) id [0-9]" <<<"$out" || it_fail "status table shows no program"
# The interfaces in the file's order.
[ "$(gwctl status | sed -n '/^INTERFACE/,$p' | awk 'NR > 1 { print $1 }' | xargs)" = \
	"${IT_GW_IFS[*]}" ] || it_fail "status: interfaces not in config order: $(gwctl status)"

if it_host_part "gwctl --version, usage errors, no gwd and no pins"; then
	# --version: gwd's; -q; usage errors in one line.
	v=$("$GWCTL_BIN" --version) || it_fail "gwctl --version failed"
	[ "${v#gwctl }" = "$("$BUILD/bin/gwd" --version | sed 's/^gwd //')" ] ||
		it_fail "gwctl --version '$v' is not gwd's"
	usage_line() {	# usage_line WANT ARGS...: exit 2 and exactly the line WANT
		local out
		out=$(gwctl "${@:2}" 2>&1 >/dev/null)
		[ $? = 2 ] || it_fail "'gwctl ${*:2}' did not exit 2: $out"
		[ "$out" = "$1" ] || it_fail "'gwctl ${*:2}' said '$out', not '$1'"
	}
	usage_line "gwctl: banana: not an IP prefix" filter deny add banana
	usage_line "gwctl: unknown option '--wieght': did you mean --weight?" backend add web \
		198.18.11.9:8080 --wieght 2
	usage_line "gwctl: unknown command 'statsu': did you mean stats?" statsu
	usage_line "gwctl: 'banana': expected ADDRESS:PORT" backend drain web banana
	# Neither gwd nor pins: one sentence, no library line.
	out=$("$GWCTL_BIN" -s "$IT_TMP/none.sock" --pin-root "$IT_TMP/nopins" filter list 2>&1)
	[ $? = 1 ] || it_fail "no gwd and no pins: not exit 1: $out"
	[ "$(wc -l <<<"$out")" = 1 ] && grep -q "^gwctl: gwd is not running .* no datapath is pinned" \
		<<<"$out" || it_fail "no gwd and no pins: $out"
fi

# filter deny add under live traffic: blocks cl1 within a bounded wait.
# A client loop keeps connecting meanwhile.
# ip netns exec, not nsx (a function): $! must be the client itself, so
# that `kill $BG` ends it (timeout passes the signal on). Through nsx, the
# kill ended only a subshell and the client went on connecting, and a
# backend added below caught one of its new flows.
ip netns exec "$IT_CL1" timeout 10 "$PY" - "$VIP4" >/dev/null 2>&1 <<'PYEOF' &
import socket, sys, time
end = time.time() + 8
while time.time() < end:
    try:
        s = socket.create_connection((sys.argv[1], 80), timeout=0.2)
        s.sendall(b"bg\n"); s.recv(64); s.close()
    except OSError:
        pass
    time.sleep(0.02)
PYEOF
BG=$!
IT_PIDS+=("$BG")
t0=$(date +%s%N)
out=$(gwctl filter deny add 198.18.1.0/24 2>&1) || it_fail "deny add failed: $out"
t1=$(date +%s%N)
grep -q "config file replaces it on the next reload" <<<"$out" ||
	it_fail "deny add does not say the change is ephemeral: $out"
for ((i = 1; i <= 20; i++)); do
	a=$(it_request "$IT_CL1" tcp "$VIP4" 80 deny-check 1)
	[ -z "$a" ] && break
done
[ -z "$a" ] || it_fail "cl1 still served after filter deny add"
it_log "deny: gwctl round trip $(( (t1 - t0) / 1000000 )) ms; probe $i after it returned was" \
	"the first one blocked"
blocked "$IT_CL1" denied
ok "$IT_CL2" cl2-unaffected
gwctl filter list | grep -E "^198\.18\.1\.0/24 +deny +list +cli" >/dev/null ||
	it_fail "deny not in filter list: $(gwctl filter list)"
gwctl --json filter list | is_json "filter list --json"
gwctl --json filter list | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert any(e["prefix"] == "198.18.1.0/24" and e["origin"] == "cli" for e in d["entries"]), d
' || it_fail "filter list --json lacks the cli deny"
out=$(gwctl filter deny add 198.18.1.1/24 2>&1)
[ $? = 1 ] || it_fail "a prefix with host bits was accepted: $out"
gwctl filter deny del 198.18.1.0/24 >/dev/null 2>&1 || it_fail "deny del failed"
ok "$IT_CL1" restored
gwctl filter deny del 198.18.1.0/24 >/dev/null 2>&1 && it_fail "deleting a missing deny succeeded"
kill "$BG" 2>/dev/null
wait "$BG" 2>/dev/null

# allow add/del and a ban with --ttl.
gwctl filter allow add 198.18.99.7 >/dev/null 2>&1 || it_fail "allow add failed"
gwctl filter allow del 198.18.99.7 >/dev/null 2>&1 || it_fail "allow del failed"
gwctl filter deny add 198.18.77.0/24 --ttl 30s >/dev/null 2>&1 || it_fail "deny --ttl failed"
gwctl filter list | grep -E "^198\.18\.77\.0/24 +deny +ban +cli +[0-9]+s" >/dev/null ||
	it_fail "ttl deny not listed as a ban: $(gwctl filter list)"
gwctl filter deny del 198.18.77.0/24 >/dev/null 2>&1 || it_fail "deleting the ban failed"
if it_host_part "gwctl -q, the filter list's order"; then
	# -q: no note; the filter sorted by prefix.
	out=$(gwctl -q filter deny add 198.18.5.0/24 2>&1) || it_fail "deny add -q failed: $out"
	[ "$out" = "198.18.5.0/24 added deny" ] || it_fail "-q did not silence the note: $out"
	gwctl -q filter deny add 10.0.0.0/8 >/dev/null 2>&1 || it_fail "deny add 10/8"
	gwctl -q filter deny add 198.18.5.0/25 >/dev/null 2>&1 || it_fail "deny add /25"
	[ "$(gwctl filter list | awk 'NR > 2 { print $1 }' | xargs)" = \
		"10.0.0.0/8 198.18.5.0/24 198.18.5.0/25 198.18.99.0/24" ] ||
		it_fail "filter list is not sorted by prefix: $(gwctl filter list)"
	for p in 10.0.0.0/8 198.18.5.0/24 198.18.5.0/25; do
		gwctl -q filter deny del $p >/dev/null 2>&1 || it_fail "deny del $p"
	done
fi

# ratelimit set / show.
gwctl ratelimit set packets --rate 5000 --burst 100 >/dev/null 2>&1 || it_fail "ratelimit set failed"
gwctl ratelimit show | grep -q "^packets  5000/s burst 100" ||
	it_fail "ratelimit not set: $(gwctl ratelimit show)"
gwctl --json ratelimit show | is_json "ratelimit show --json"

# backends of the service, by its config name.
gwctl backend add web 198.18.11.9:8080 --weight 2 >/dev/null 2>&1 || it_fail "backend add failed"
gwctl service list | grep -qE "backend 198\.18\.11\.9:8080 +weight 2 +active" ||
	it_fail "added backend not listed: $(gwctl service list)"
# be_packets ADDR: packets gw counted for backend ADDR of service web.
be_packets() {
	gwctl --json service list | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(b["packets"] for s in d for b in s.get("backends", [])
          if b["address"] == sys.argv[1]))' "$1"
}
# No client talks now (the background client is gone): an added backend
# must see nothing. (It once saw a packet: the background client was still
# running, its new flows were hashed to the new backend.)
[ "$(be_packets 198.18.11.9:8080)" = 0 ] || it_fail "a new backend got packets no client sent"
gwctl backend drain web 198.18.11.9:8080 >/dev/null 2>&1 || it_fail "backend drain failed"
gwctl service list | grep -qE "backend 198\.18\.11\.9:8080 +weight 2 +draining " ||
	it_fail "backend not draining: $(gwctl service list)"
# Services in the file's order, a service's backends too (the live one
# after them), the same every time; "draining" in JSON too.
order() {
	gwctl --json service list | "$PY" -c '
import json, sys
for s in json.load(sys.stdin):
    print(s["name"], *[(b["address"], b["state"]) for b in s["backends"]])'
}
o1=$(order)
[ "$o1" = "web ('198.18.11.2:8080', 'active') ('198.18.11.9:8080', 'draining')
api ('198.18.11.2:8080', 'active')" ] || it_fail "service list order or states: $o1"
for i in 1 2 3; do [ "$(order)" = "$o1" ] || it_fail "service list order changed: $(order)"; done
if it_host_part "the completions (bash, fish, zsh)"; then
	# bash completion: the live names, from gwd.
	comp() { it_complete "$SOCK" "$@"; }
	[ "$(comp backend drain)" = "web api" ] || it_fail "completion of services: $(comp backend drain)"
	[ "$(comp backend del web)" = "198.18.11.2:8080 198.18.11.9:8080" ] ||
		it_fail "completion of web's backends: $(comp backend del web)"
	[ "$(comp conntrack list --service)" = "web api" ] || it_fail "completion of --service"
	[ -z "$(comp upstream server add)" ] || it_fail "completion offered upstreams without L7"
	out=$(it_complete "$IT_TMP/none.sock" --pin-root "$IT_TMP/nopins" backend del)
	[ -z "$out" ] || it_fail "completion without gwd and pins: $out"
	if command -v fish >/dev/null; then
		out=$(fish -c 'source $argv[1]; complete -C "$argv[2] -s $argv[3] backend del web "' \
			"$IT_ROOT/cli/gwctl.fish" "$GWCTL_BIN" "$SOCK" | xargs)
		[ "$out" = "198.18.11.2:8080 198.18.11.9:8080" ] || it_fail "fish completion: $out"
	else
		it_log "no fish: its completion not tried"
	fi
	if command -v zsh >/dev/null; then
		zsh -n "$IT_ROOT/cli/_gwctl" || it_fail "the zsh completion is not zsh"
		# its names function (the rest needs an interactive zsh)
		out=$(zsh -c 'ctl=($2 -s $3); eval "$(sed -n "/^_gwctl_names()/,/^}/p" $1)"
			_gwctl_names backend web' _ "$IT_ROOT/cli/_gwctl" "$GWCTL_BIN" "$SOCK" | xargs)
		[ "$out" = "198.18.11.2:8080 198.18.11.9:8080" ] || it_fail "zsh completion names: $out"
	else
		it_log "no zsh: its completion not checked"
	fi
fi

ok "$IT_CL1" with-drained-backend
gwctl backend del web 198.18.11.9:8080 >/dev/null 2>&1 || it_fail "backend del failed"
gwctl service list | grep -q "198.18.11.9" && it_fail "deleted backend still listed"
gwctl backend add nosuch 198.18.11.9:8080 >/dev/null 2>&1 && it_fail "backend add on an unknown service"
gwctl backend add web 198.18.11.9:8080 --weight 3 >/dev/null 2>&1 || it_fail "second backend add failed"

# stats and conntrack.
gwctl --json stats | is_json "stats --json"
gwctl --json stats | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert d["totals"]["forward"] > 0, d["totals"]
assert any(s["name"] == "web" and s["packets"] > 0 for s in d["services"]), d["services"]
' || it_fail "stats --json lacks forwarded packets of service web"
out=$(gwctl stats)
grep -q "^total: pass" <<<"$out" || it_fail "stats table has no totals"
sed 's/^/    /' <<<"$out"
gwctl service list | sed 's/^/    /'
n=$(gwctl --json stats --watch --count 2 | tee "$IT_TMP/watch" | wc -l)
[ "$n" = 2 ] || it_fail "stats --watch --count 2 printed $n lines"
while read -r line; do is_json "stats --watch --json" <<<"$line"; done <"$IT_TMP/watch"
# --watch rates: 1000 datagrams a second, paced, for 5 s; the middle
# intervals' total rate must be about that.
# The watch starts once the pacer runs (a slow guest takes seconds to start
# python).
nsx "$IT_CL1" timeout 20 "$PY" - "$IT_TMP/pacer.up" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
open(sys.argv[1], "w").close()
t0 = time.monotonic()
for i in range(5000):
    d = t0 + i / 1000.0 - time.monotonic()
    if d > 0:
        time.sleep(d)
    s.sendto(b"rate", ("198.18.1.1", 9))
PY
pacer=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$IT_TMP/pacer.up" ] && break
	sleep 0.1
done
sleep 0.5
gwctl --json stats --watch --count 3 --all >"$IT_TMP/rates"
wait "$pacer"
"$PY" - "$IT_TMP/rates" <<'PY' || it_fail "stats --watch rates are not ~1000 pkt/s: $(cat "$IT_TMP/rates")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 3, lines
for x in lines:
    total = sum(r["packets_per_s"] for r in x["reasons"])
    assert 0.8 <= x["interval_s"] <= 1.5, x["interval_s"]
    assert 700 <= total <= 1300, total
    print("    watch: %.0f pkt/s over %.2f s" % (total, x["interval_s"]))
PY
gwctl --json conntrack list --service web --limit 5 | is_json "conntrack list --json"
gwctl conntrack list | grep -q "flow(s)" || it_fail "conntrack list has no summary"

# reload: the file comes back; the live changes go.
gwctl filter deny add 198.18.1.0/24 >/dev/null 2>&1 || it_fail "deny add before reload failed"
blocked "$IT_CL1" before-reload
out=$(gwctl reload 2>&1) || it_fail "reload failed: $out"
grep -q "generation 2" <<<"$out" || it_fail "reload did not report generation 2: $out"
gwctl status | grep -q "generation 2" || it_fail "status after reload: $(gwctl status)"
ok "$IT_CL1" after-reload
gwctl filter list | grep -q "198.18.1.0/24" && it_fail "the live deny survived the reload"
gwctl ratelimit show | grep -q "^packets  off" || it_fail "live ratelimit survived the reload"
gwctl service list | grep -q "198.18.11.9" && it_fail "the live backend survived the reload"
cp "$CFG" "$IT_TMP/good.yaml"
printf 'version: 1\nfilter: { deny: [not-an-address] }\n' >"$CFG"
out=$(gwctl reload 2>&1) && it_fail "reload of an invalid file succeeded"
grep -q "gateway.yaml:2:18" <<<"$out" || it_fail "reload error lacks FILE:LINE:COL: $out"
cp "$IT_TMP/good.yaml" "$CFG"
ok "$IT_CL1" after-bad-reload

if it_host_part "gwctl check, L7 commands, usage errors, raw protocol, refused peers"; then
	# check FILE runs the parser locally.
	gwctl check "$CFG" >/dev/null || it_fail "check rejected a valid file"
	printf 'version: 1\nfilter: { deny: [198.18.2.1/24] }\n' >"$IT_TMP/bad.yaml"
	out=$(gwctl check "$IT_TMP/bad.yaml" 2>&1)
	[ $? = 1 ] || it_fail "check of a bad file did not exit 1"
	grep -q "bad.yaml:2:18" <<<"$out" || it_fail "check lacks FILE:LINE:COL: $out"

	# Without listeners the L7 commands say there is no L7 runtime.
	for c in "upstream list" "route list" "upstream server add api 198.18.11.2:80"; do
		out=$(gwctl $c 2>&1)
		[ $? = 1 ] || it_fail "'$c' did not exit 1"
		grep -q "not available: gwd serves no L7 listeners" <<<"$out" ||
			it_fail "'$c': $out"
	done

	# Usage errors exit 2.
	for c in "" "bogus" "filter deny add" "filter deny add 1.2.3.4 --weight 2" \
		"ratelimit set packets" "backend add web" "stats --count 2" "status extra"; do
		gwctl $c >/dev/null 2>&1
		rc=$?
		[ "$rc" = 2 ] || it_fail "'gwctl $c' exited $rc, not 2"
	done

	# The raw protocol: bad JSON, unknown commands, an oversized line, too many
	# clients at once, and several requests on one connection.
	"$PY" - "$SOCK" <<'PYEOF' || it_fail "raw protocol checks failed"
import json, socket, sys
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5); s.connect(path)
    return s, s.makefile("rb")
s, f = conn()
s.sendall(b'{"cmd":"status"}\n{"cmd":"nope"}\nnot json\n{"cmd":"filter.deny.add","args":{"cidr":"x"}}\n')
r = [json.loads(f.readline()) for _ in range(4)]
assert r[0]["ok"] and r[0]["data"]["generation"] >= 1, r[0]
assert not r[1]["ok"] and "unknown command" in r[1]["error"], r[1]
assert not r[2]["ok"] and "bad JSON" in r[2]["error"], r[2]
assert not r[3]["ok"], r[3]
s.close()
s, f = conn()
try:
    s.sendall(b"x" * (70 * 1024))
except OSError:
    pass
r = json.loads(f.readline())
assert not r["ok"] and "too long" in r["error"], r
assert f.readline() == b"", "connection not closed after an oversized line"
s.close()
held = [conn() for _ in range(16)]
s, f = conn()
r = json.loads(f.readline())
assert not r["ok"] and "too many" in r["error"], r
for h, _ in held:
    h.close()
PYEOF

	# Unprivileged peers: connect() refused by the socket's mode, then (socket
	# made world-writable) by SO_PEERCRED.
	cp "$GWCTL_BIN" "$IT_TMP/gwctl"
	chmod 0755 "$IT_TMP/gwctl"
	chmod 0711 "$IT_TMP"
	chmod 0755 "$IT_TMP/run"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups "$IT_TMP/gwctl" -s "$SOCK" \
			--pin-root "$IT_PIN" "$@"
	}
	out=$(as_nobody filter deny add 198.18.2.0/24 2>&1)
	[ $? = 1 ] || it_fail "nobody: expected exit 1: $out"
	grep -q "Permission denied" <<<"$out" || it_fail "nobody: connect() not refused: $out"
	chmod 0666 "$SOCK"
	out=$(as_nobody filter deny add 198.18.2.0/24 2>&1)
	[ $? = 1 ] || it_fail "nobody past the mode: expected exit 1: $out"
	grep -q "permission denied: only root and group gw" <<<"$out" ||
		it_fail "nobody: SO_PEERCRED check did not refuse: $out"
	chmod 0660 "$SOCK"
	grep -q "admin: refused peer uid 65534" "$LOG" || it_fail "refusal not logged"
	gwctl filter list | grep -q "198.18.2.0/24" && it_fail "a refused peer changed the filter"
	ok "$IT_CL2" after-refusal
fi

# gwd down (the datapath stays): an emergency deny through the pins.
kill -9 "$GWD_PID"
wait "$GWD_PID" 2>/dev/null
ok "$IT_CL1" gwd-down
out=$(gwctl filter deny add 198.18.1.0/24 2>&1) || it_fail "deny through the pins failed: $out"
grep -q "using the pinned maps under $IT_PIN" <<<"$out" || it_fail "fallback not announced: $out"
blocked "$IT_CL1" pins-deny
ok "$IT_CL2" pins-deny-cl2
gwctl filter list 2>/dev/null | grep -q "198.18.1.0/24" || it_fail "pins deny not listed"
gwctl status 2>/dev/null | grep -q "not running (state read from the pins)" ||
	it_fail "status through the pins: $(gwctl status 2>&1)"
gwctl --json stats 2>/dev/null | is_json "stats --json through the pins"
gwctl backend add web 198.18.11.9:8080 >/dev/null 2>&1 && it_fail "backend add without gwd succeeded"
gwctl reload >/dev/null 2>&1 && it_fail "reload without gwd succeeded"
rm -f "$SOCK"
echo "PASS"
