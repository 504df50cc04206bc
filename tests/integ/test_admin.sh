#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The admin socket's access rule and its speed. gwd makes the socket
# root:gw 0660 (and lets group gw traverse its directory): a peer that is
# neither root nor in group gw is refused with a clear error and gwctl exits
# 1; a non-root peer whose primary group is gw, or who has gw among its
# supplementary groups, is served. The group `gw` is created for the test
# when the machine has none (and removed at exit); the peers are uid nobody
# with the gids set by setpriv, so no user is created. Then: a deny added
# by gwctl is in force in the datapath within 10 ms of gwctl's return,
# measured with UDP probes every 0.5 ms through a `nat` service.
. "$(dirname "$0")/lib.sh"
it_init admin
it_need_datapath
it_need_gwd
command -v setpriv >/dev/null || it_skip "missing setpriv (util-linux)"
it_topology 1
it_servers 8080 120

GROUP_CREATED=0 HAVE_GROUP=1
if ! getent group gw >/dev/null; then
	# The VM guest's /etc is the host's, read-only: no group can be made
	# there, and the member checks are left to the host run.
	if command -v groupadd >/dev/null && groupadd --system gw 2>"$IT_TMP/groupadd.err"; then
		GROUP_CREATED=1
	elif [ -w /etc/group ]; then
		it_fail "cannot create the group gw: $(cat "$IT_TMP/groupadd.err")"
	else
		HAVE_GROUP=0
		it_log "NOTE: no group gw and /etc/group is read-only: the checks of group gw's members are skipped here"
	fi
fi
admin_cleanup() {
	it_cleanup
	[ "$GROUP_CREATED" = 1 ] && groupdel gw 2>/dev/null
}
trap admin_cleanup EXIT
GW_GID=$(getent group gw | cut -d: -f3)
GW_GID=${GW_GID:-none}
NOBODY=$(id -u nobody 2>/dev/null || echo 65534)
NOGROUP=$(getent group nogroup | cut -d: -f3)
NOGROUP=${NOGROUP:-65534}
[ "$GW_GID" != "$NOGROUP" ] || it_skip "group gw has nogroup's gid"

VIP=${IT_VIPS4[0]}
CFG=$IT_TMP/gateway.yaml
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/run/gwd.sock
{ it_gw_yaml false "$SOCK"; cat <<YAML; } >"$CFG"
services:
  - name: probe
    vip: $VIP
    port: 53
    protocol: udp
    forwarding: nat
    backends: [198.18.11.2:8080]
YAML
# The peers must reach the socket's directory and run gwctl.
chmod 0711 "$IT_TMP"
cp "$GWCTL_BIN" "$IT_TMP/gwctl"
chmod 0755 "$IT_TMP/gwctl"
it_gwd_start "$CFG" "$LOG" "$SOCK"

# What gwd made: socket root:gw 0660, directory group gw with g+x.
st=$(stat -c '%a %U %G' "$SOCK")
if [ "$HAVE_GROUP" = 1 ]; then
	[ "$st" = "660 root gw" ] || it_fail "socket is '$st', expected '660 root gw'"
	[ "$(stat -c %G "$(dirname "$SOCK")")" = gw ] || it_fail "socket directory is not group gw"
	[ $(($(stat -c '%#a' "$(dirname "$SOCK")") & 8)) = 8 ] ||
		it_fail "group gw cannot traverse the socket directory"
else
	[ "$st" = "660 root root" ] || it_fail "socket is '$st', expected '660 root root'"
fi

# as UID GID [GROUPS] ARGS...: gwctl (no pins fallback) as that peer.
as() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	if [ -n "$groups" ]; then
		setpriv --reuid="$uid" --regid="$gid" --groups="$groups" "$IT_TMP/gwctl" -s "$SOCK" "$@"
	else
		setpriv --reuid="$uid" --regid="$gid" --clear-groups "$IT_TMP/gwctl" -s "$SOCK" "$@"
	fi
}

if it_host_part "the socket's access rule (peers nobody and group gw)"; then
	# nobody: refused, exit 1, a clear message.
	out=$(as "$NOBODY" "$NOGROUP" "" status 2>&1)
	rc=$?
	[ "$rc" = 1 ] || it_fail "nobody: gwctl exited $rc: $out"
	grep -qi "permission denied" <<<"$out" || it_fail "nobody: no clear refusal: $out"
	it_log "nobody is refused: $(head -1 <<<"$out")"
	# Past the file mode (made world-writable for this check), SO_PEERCRED refuses.
	chmod 0755 "$(dirname "$SOCK")"
	chmod 0666 "$SOCK"
	out=$(as "$NOBODY" "$NOGROUP" "" filter deny add 198.18.2.0/24 2>&1)
	rc=$?
	chmod 0660 "$SOCK"
	[ "$rc" = 1 ] || it_fail "nobody past the mode: gwctl exited $rc: $out"
	grep -q "permission denied: only root and group gw" <<<"$out" ||
		it_fail "nobody past the mode: not refused by the peer check: $out"
	grep -q "admin: refused peer uid $NOBODY" "$LOG" || it_fail "the refusal was not logged"

	# A member of gw (primary group, then supplementary): served.
	if [ "$HAVE_GROUP" = 1 ]; then
		out=$(as "$NOBODY" "$GW_GID" "" status 2>&1) || it_fail "primary group gw refused: $out"
		grep -q "generation 1" <<<"$out" || it_fail "primary group gw: odd status: $out"
		out=$(as "$NOBODY" "$NOGROUP" "$GW_GID" filter deny add 198.18.77.0/24 2>&1) ||
			it_fail "supplementary group gw refused: $out"
		as "$NOBODY" "$NOGROUP" "$GW_GID" filter list | grep -q "^198\.18\.77\.0/24 " ||
			it_fail "the member's deny is not listed"
		out=$(as "$NOBODY" "$NOGROUP" "$GW_GID" filter deny del 198.18.77.0/24 2>&1) ||
			it_fail "supplementary group gw: deny del failed: $out"
		it_log "group gw (primary and supplementary) is served"
	fi
fi

# Change-to-datapath latency: deny the prober's address while it probes.
res=$(nsx "$IT_CL1" timeout 30 "$PY" "$IT_ROOT/bench/probe_latency.py" --host "$VIP" --port 53 \
	--cidr 198.18.1.2/32 --iterations 1 -- "$GWCTL_BIN" -s "$SOCK") ||
	it_fail "the latency probe failed: $res"
"$PY" - "$res" <<'PYEOF' || it_fail "a gwctl change took too long to reach the datapath"
import json, sys
r = json.loads(sys.argv[1]); c = r["changes"][0]
assert "error" not in c, c
print("deny add: gwctl round trip %.2f ms; in force %.2f ms after gwctl returned "
      "(negative: before it returned; resolution %.1f ms, %d probes)" %
      (c["gwctl_ms"], c["after_return_ms"], r["interval_ms"], r["probes"]))
assert c["baseline_answered"] >= c["probes_before"] * 0.9, "probes unanswered before the change: %s" % c
assert c["after_return_ms"] < 10, "in force %.2f ms after gwctl returned (limit 10)" % c["after_return_ms"]
PYEOF
echo "PASS"
