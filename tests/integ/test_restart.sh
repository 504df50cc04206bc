#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A gwd restart loses nothing: with keep_datapath_on_exit: true, gwd is
# killed with SIGKILL in the middle of a counted, paced UDP stream through a
# `nat` service and of an established TCP connection through another; a new
# gwd adopts the pinned datapath. Every datagram must reach a backend and be
# answered, no flow may change backend, the TCP connection keeps working
# (same backend, every line answered), and the conntrack entries survive
# (gw_ct's count and the TCP flow's entry, before and after). Without
# keep_datapath_on_exit, SIGTERM detaches and unpins: no pin, no XDP and no
# gw TC program left on any interface.
. "$(dirname "$0")/lib.sh"
it_init restart
it_need_datapath
it_need_gwd
it_topology 2
it_servers 8080 120

VIP=${IT_VIPS4[0]}
PORT=5353
CFG=$IT_TMP/gateway.yaml
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/gwd.sock
PPS=${RESTART_PPS:-2000}

gwctl() { nsenter --net="/run/netns/$IT_GW" "$GWCTL_BIN" -s "$SOCK" --pin-root "$IT_PIN" "$@"; }

write_cfg() {
	{ it_gw_yaml "$1" "$SOCK"; cat <<YAML; } >"$CFG"
filter:
  deny: [198.18.99.0/24]
services:
  - name: counted
    vip: $VIP
    port: $PORT
    protocol: udp
    forwarding: nat
    backends: [198.18.11.2:$PORT, 198.18.12.2:$PORT]
  - name: web
    vip: $VIP
    port: 80
    protocol: tcp
    forwarding: nat
    backends: [198.18.11.2:8080, 198.18.12.2:8080]
YAML
}

# ct_total: how many flows gw_ct holds (gwd, or the pins while it is down).
ct_total() {
	gwctl --json conntrack list --limit 0 2>/dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}

# ct_has CLIENT: 1 if gw_ct has a flow from CLIENT (addr:port), else 0.
ct_has() {
	gwctl --json conntrack list --limit 0 2>/dev/null | "$PY" -c '
import json, sys
print(int(any(f["client"] == sys.argv[1] for f in json.load(sys.stdin)["flows"])))' "$1"
}

write_cfg true
it_gwd_start "$CFG" "$LOG" "$SOCK"
# A counted UDP stream and an established TCP connection, through the kill.
it_counted_traffic "$IT_CL1" "$VIP" "$PORT" "$PPS" 60
TCP_SRC=$IT_TCP_SRC
sleep 0.5	# traffic flowing before the kill
before=$(ct_total)
[ "$(ct_has "$TCP_SRC")" = 1 ] || it_fail "the TCP flow $TCP_SRC is not in gw_ct before the kill"
kill -9 "$IT_GWD_PID"
{ wait "$IT_GWD_PID"; } 2>/dev/null
down=$(ct_total)	# through the pins
[ "$(ct_has "$TCP_SRC")" = 1 ] || it_fail "the TCP flow left gw_ct with gwd down"
: >"$LOG"
it_gwd_start "$CFG" "$LOG" "$SOCK"
grep -q "attached to" "$LOG" && it_fail "the new gwd re-attached instead of adopting"
after=$(ct_total)
[ "$(ct_has "$TCP_SRC")" = 1 ] || it_fail "the TCP flow left gw_ct across the restart"
it_log "gw_ct flows: $before before the kill, $down with gwd down, $after after the restart"
[ "$before" -ge 17 ] || it_fail "gw_ct holds $before flows, expected the 16 UDP + 1 TCP"
[ "$after" -ge "$before" ] || it_fail "gw_ct lost entries across the restart: $before -> $after"
sleep 0.5	# traffic after the restart too
it_counted_traffic_end "stream across kill -9 + restart"

# Without keep_datapath_on_exit: SIGTERM detaches and unpins everything.
write_cfg false
out=$(gwctl reload 2>&1) || it_fail "reload failed: $out"
kill -TERM "$IT_GWD_PID"
wait "$IT_GWD_PID"
rc=$?
[ "$rc" = 0 ] || it_fail "gwd exited $rc on SIGTERM"
grep -q "datapath detached and unpinned" "$LOG" || it_fail "no detach message"
[ -z "$(find "$IT_PIN" -mindepth 1 ! -type d 2>/dev/null)" ] ||
	it_fail "pins left: $(find "$IT_PIN" -mindepth 1)"
for ifc in "${IT_GW_IFS[@]}"; do
	nsx "$IT_GW" ip -o link show "$ifc" | grep -q "xdp" && it_fail "XDP still attached to $ifc"
	if command -v bpftool >/dev/null; then
		nsenter --net="/run/netns/$IT_GW" bpftool -j net show dev "$ifc" 2>/dev/null |
			grep -q '"gw_' && it_fail "a gw program is still attached to $ifc"
	fi
done
echo "PASS"
