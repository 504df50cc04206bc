#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwd as a systemd service and a least-privilege process:
# - sd_notify: READY=1 after attach and apply, RELOADING=1 then READY=1
#   around each reload (STATUS= with the generation or the error),
#   WATCHDOG=1 when WATCHDOG_USEC is set, STOPPING=1 on exit, in order;
# - capabilities after start: CapEff/CapPrm/CapBnd hold only the kept set,
#   CapInh/CapAmb are empty, NoNewPrivs is set;
# - after the drop, `gwctl reload` still attaches a new interface, changes
#   services, and moves the admin socket and the metrics listener (new one
#   opened first, old one closed); a move that needs a dropped capability
#   (or a port in use) fails with a clear message and the old listener stays.
. "$(dirname "$0")/lib.sh"
it_init gwdsd
it_need_datapath
it_need_gwd
it_topology 1
it_servers 8080

VIP1=${IT_VIPS4[0]} VIP2=${IT_VIPS4[1]}
CFG=$IT_TMP/gateway.yaml
LOG=$IT_TMP/gwd.log
SOCK=$IT_TMP/gwd.sock
NOTES=$IT_TMP/notify.log

# The notify socket systemd would give: every datagram on one line.
"$PY" - "$IT_TMP/notify.sock" "$NOTES" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(1)
end = time.time() + 240
with open(sys.argv[2], "a", buffering=1) as f:
    while time.time() < end:
        try:
            d = s.recv(4096).decode()
        except socket.timeout:
            continue
        f.write(d.replace("\n", " | ") + "\n")
PY
IT_PIDS+=($!)
for ((i = 0; i < 50; i++)); do [ -S "$IT_TMP/notify.sock" ] && break; sleep 0.1; done
touch "$NOTES"

# write_cfg IFACES SERVICE_VIP SOCKET METRICS
write_cfg() {
	cat >"$CFG" <<YAML
version: 1
gateway:
  pin_root: $IT_PIN
  admin_socket: $3
  metrics: $4
  interfaces: [$1]
services:
  - name: web
    vip: $2
    port: 80
    protocol: tcp
    forwarding: nat
    backends: [198.18.11.2:8080]
YAML
}
wait_note() {	# wait_note N TEXT: until TEXT is on N or more lines of the notify log
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "$2" "$NOTES")" -ge "$1" ] && return 0
		sleep 0.1
	done
	cat "$NOTES"
	it_fail "no '$2' notification (#$1)"
}
metrics_up() {	# metrics_up PORT: 0 when gwd's metrics answer there
	nsx "$IT_GW" "$PY" -c 'import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read()' "$1" \
		>/dev/null 2>&1
}

# Start with the clients' links only: the backend's link comes with a reload.
write_cfg "${IT_GW_IFS[0]}, ${IT_GW_IFS[1]}" "$VIP1" "$SOCK" 127.0.0.1:9100
: >"$LOG"
NOTIFY_SOCKET=$IT_TMP/notify.sock WATCHDOG_USEC=400000 it_gwd_start "$CFG" "$LOG" "$SOCK"
PID=$IT_GWD_PID
wait_note 1 "READY=1"
grep -q "^READY=1 | STATUS=running, config generation 1" "$NOTES" ||
	it_fail "READY=1 without the generation: $(cat "$NOTES")"

# Capabilities: only the kept set, everywhere.
mask=0
for c in 39 38 12 10 21; do	# BPF PERFMON NET_ADMIN NET_BIND_SERVICE SYS_ADMIN
	mask=$((mask | (1 << c)))
done
want=$(printf '%016x' "$mask")
for set in CapEff CapPrm CapBnd; do
	got=$(awk -v s="$set:" '$1 == s { print $2 }' "/proc/$PID/status")
	[ "$got" = "$want" ] || it_fail "$set is $got, want $want"
done
for set in CapInh CapAmb; do
	got=$(awk -v s="$set:" '$1 == s { print $2 }' "/proc/$PID/status")
	[ "$got" = 0000000000000000 ] || it_fail "$set is $got, want none"
done
grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$PID/status" || it_fail "no_new_privs not set"
grep -q "caps: kept cap_bpf,cap_perfmon,cap_net_admin,cap_net_bind_service,cap_sys_admin" \
	"$LOG" || it_fail "the kept set is not logged"

# Reload after the drop: a new interface, a changed service, new listeners.
it_unanswered "$IT_CL1" "$VIP1" before-reload
write_cfg "${IT_GW_IFS[0]}, ${IT_GW_IFS[1]}, ${IT_GW_IFS[2]}" "$VIP2" "$IT_TMP/new/gwd.sock" \
	127.0.0.1:9101
out=$("$GWCTL" -s "$SOCK" reload 2>&1) || it_fail "gwctl reload failed: $out"
grep -q "generation 2" <<<"$out" || it_fail "reload answer: $out"
grep -q "attached to ${IT_GW_IFS[2]}" "$LOG" || it_fail "reload did not attach ${IT_GW_IFS[2]}"
it_answered "$IT_CL1" "$VIP2" after-reload "$LOG"
it_unanswered "$IT_CL1" "$VIP1" old-vip-gone
[ -S "$IT_TMP/new/gwd.sock" ] || it_fail "no admin socket at the new path"
[ -e "$SOCK" ] && it_fail "the old admin socket was left at $SOCK"
"$GWCTL" -s "$IT_TMP/new/gwd.sock" status | grep -q "generation 2" ||
	it_fail "the new admin socket does not answer"
metrics_up 9101 || it_fail "no metrics on the new port"
metrics_up 9100 && it_fail "metrics still served on the old port"
wait_note 1 "RELOADING=1"
wait_note 1 "READY=1 | STATUS=running, config generation 2"
SOCK=$IT_TMP/new/gwd.sock

# A move that needs a dropped capability (CAP_DAC_OVERRIDE: a directory of
# another user) and a port in use: both fail clearly; the old ones stay.
mkdir -m 0700 "$IT_TMP/locked"
chown nobody "$IT_TMP/locked"
nsx "$IT_GW" "$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 9102)); s.listen(1)
open(sys.argv[1], "w").close(); time.sleep(60)' "$IT_TMP/holder.up" &
IT_PIDS+=($!)
# the port must be taken before the reload (a slow guest starts python late)
for ((i = 0; i < 100; i++)); do
	[ -e "$IT_TMP/holder.up" ] && break
	sleep 0.1
done
write_cfg "${IT_GW_IFS[0]}, ${IT_GW_IFS[1]}, ${IT_GW_IFS[2]}" "$VIP2" \
	"$IT_TMP/locked/gwd.sock" 127.0.0.1:9102
out=$("$GWCTL" -s "$SOCK" reload 2>&1) && it_fail "a reload that could not move the socket succeeded: $out"
echo "$out"
grep -q "cannot serve the admin socket at $IT_TMP/locked/gwd.sock: Permission denied (gwd dropped its capabilities after start and kept cap_bpf" <<<"$out" ||
	it_fail "the answer does not say why: $out"
grep -q "cannot serve metrics on 127.0.0.1:9102: Address already in use; the running listener stays" "$LOG" ||
	it_fail "no message for the metrics port in use"
"$GWCTL" -s "$SOCK" status >/dev/null || it_fail "the running admin socket was lost"
metrics_up 9101 || it_fail "the running metrics listener was lost"
wait_note 1 "READY=1 | STATUS=reload failed (cannot serve the admin socket"
it_answered "$IT_CL1" "$VIP2" after-failed-move "$LOG"

# SIGHUP: RELOADING=1 then READY=1 again; then the watchdog; SIGTERM: STOPPING=1.
# Metrics moved below 1024 after the drop: CAP_NET_BIND_SERVICE was kept.
write_cfg "${IT_GW_IFS[0]}, ${IT_GW_IFS[1]}, ${IT_GW_IFS[2]}" "$VIP2" "$SOCK" 127.0.0.1:99
kill -HUP "$PID"
wait_note 3 "RELOADING=1"
wait_note 1 "READY=1 | STATUS=running, config generation 4"
metrics_up 99 || it_fail "no metrics on port 99 after the drop"
metrics_up 9101 && it_fail "metrics still on 9101"
[ "$(grep -c "^WATCHDOG=1" "$NOTES")" -ge 2 ] || it_fail "fewer than 2 WATCHDOG=1 with WATCHDOG_USEC=400000"
kill -TERM "$PID"
wait "$PID" || it_fail "gwd exited $? on SIGTERM"
wait_note 1 "STOPPING=1"
# The order: READY, then per reload RELOADING followed by READY, STOPPING last.
order=$(grep -v "^WATCHDOG=1" "$NOTES" | awk '{ print $1 }' | tr '\n' ' ')
[ "$order" = "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1 " ] ||
	it_fail "notifications out of order: $order"
echo "PASS"
