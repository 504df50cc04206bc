#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwd's main loop never waits on a client of its own sockets:
# - 16 metrics scrapers that ask for a large exposition (400 routes) and
#   never read it: gwctl status answers at once meanwhile, a normal scrape
#   still works, and the stuck scrapers are cut after 10 s; the status page
#   of those 400 routes is served whole at once;
# - 16 idle admin connections (the table's size) cannot lock gwctl out: an
#   idle client gives its slot up to a new one;
# - one user holding 8 busy admin connections (its share) gets a clear
#   "busy" for a 9th, and everyone else is still served.
# vm: skip (gwd's loop and its own sockets)
. "$(dirname "$0")/lib.sh"
it_init dio
it_gwd_setup 1 curl
it_l7_backends 300

{
	it_gw_head "$SOCK"
	cat <<YAML
  metrics: $GW:9100
listeners:
  - { name: http, address: "$GW:80" }
upstreams:
  - { name: web, servers: [198.18.11.2:8080] }
routes:
YAML
	for ((i = 0; i < 400; i++)); do
		printf '  - { name: route-with-a-long-name-%03d, match: { path_prefix: /r%d/ }, upstream: web }\n' "$i" "$i"
	done
} >"$CFG"
it_gwd_start "$CFG" "$LOG" "$SOCK"
gwctl() { "$GWCTL_BIN" -s "$SOCK" "$@"; }

# ms CMD...: runs CMD, prints how long it took in ms.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# One request a route: each then has its series (codes, histogram).
urls=()
for ((i = 0; i < 400; i++)); do
	urls+=("http://$GW/r$i/x")
done
nsx "$IT_CL1" curl -s -m 60 -o /dev/null "${urls[@]}" || it_fail "requests to the routes failed"
size=$(nsx "$IT_CL1" curl -s -m 5 "http://$GW:9100/metrics" | wc -c)
[ "$size" -gt 100000 ] || it_fail "the exposition is only $size bytes"
it_log "metrics exposition: $size bytes"

# 16 scrapers that send a request and never read (small receive buffers).
nsx "$IT_CL1" "$PY" - "$GW" 16 11.5 <<'PYEOF' >"$IT_TMP/stuck.out" 2>&1 &
import socket, sys, time
host, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, 9100))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
print("holding", len(socks), flush=True)
time.sleep(wait)
# gwd cut a scraper when its stream ends before the whole answer
cut = 0
for s in socks:
    s.settimeout(2)
    got = b""
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
    except OSError:
        pass
    head, _, body = got.partition(b"\r\n\r\n")
    want = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    if want and len(body) < want[0]:
        cut += 1
print("cut by gwd", cut, flush=True)
PYEOF
stuck=$!
IT_PIDS+=("$stuck")
sleep 1.5
worst=0
for i in 1 2 3 4 5; do
	t=$(ms gwctl status)
	[ "$t" -gt "$worst" ] && worst=$t
done
it_log "gwctl status with 16 stuck scrapers: worst of 5 took $worst ms"
[ "$worst" -lt 1000 ] || it_fail "the admin socket waited on the stuck scrapers ($worst ms)"
wait "$stuck"
grep -q "cut by gwd 16" "$IT_TMP/stuck.out" ||
	it_fail "gwd did not cut the stuck scrapers: $(cat "$IT_TMP/stuck.out")"
size2=$(nsx "$IT_CL1" curl -s -m 5 "http://$GW:9100/metrics" | wc -c)
[ "$size2" -gt 100000 ] || it_fail "a normal scrape after the stuck ones got $size2 bytes"
# The status page over the same 400 routes: whole, and served at once.
t=$(ms nsx "$IT_CL1" curl -sf -m 5 -o "$IT_TMP/status.html" "http://$GW:9100/status")
rows=$(grep -c '<tr data-route="route-with-a-long-name-' "$IT_TMP/status.html")
[ "$rows" = 400 ] || it_fail "the status page shows $rows of the 400 routes"
[ "$t" -lt 1000 ] || it_fail "the status page with 400 routes took $t ms"
it_log "status page with 400 routes: $(wc -c <"$IT_TMP/status.html") bytes in $t ms"

# hold N BUSY: N admin connections (as root) for 30 s; BUSY 1 sends a
# request on each every 0.3 s. Prints "held N" once all are open.
hold() {
	"$PY" - "$SOCK" "$1" "$2" <<'PYEOF' >"$IT_TMP/hold.$1.$2.out" 2>&1 &
import socket, sys, time
path, n, busy = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    socks.append(s)
print("held", len(socks), flush=True)
end = time.time() + 30
while time.time() < end:
    time.sleep(0.3)
    if busy:
        for s in socks:
            try:
                s.sendall(b'{"cmd":"status"}\n')
                s.recv(65536)
            except OSError:
                pass
PYEOF
	IT_PIDS+=("$!")
	HOLD_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q held "$IT_TMP/hold.$1.$2.out" && return
		sleep 0.1
	done
	it_fail "could not open $1 admin connections: $(cat "$IT_TMP/hold.$1.$2.out")"
}

# 16 idle connections fill the table; after a second gwctl gets in.
hold 16 0
sleep 1.2
out=$(gwctl status 2>&1) || it_fail "16 idle admin connections locked gwctl out: $out"
it_log "16 idle admin connections: gwctl still served"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null

# One user (root here) holding its share of busy connections: the next is
# refused with a clear message, not left hanging.
hold 8 1
sleep 0.5
out=$(gwctl status 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "busy: too many admin connections of this user" <<<"$out" ||
	it_fail "a 9th busy connection of one user: rc $rc: $out"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
sleep 0.3
gwctl status >/dev/null || it_fail "gwctl not served after the busy user left"
it_log "one user's 8 busy connections: the 9th is told busy"
echo PASS
