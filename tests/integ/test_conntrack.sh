#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Connection tracking on real TCP: established connections through a `nat`
# service keep their backend when a backend is added (the Maglev table
# changes under them) and when their backend is drained, while new
# connections do use the new backend and avoid the drained one.
. "$(dirname "$0")/lib.sh"
it_dp_setup conntrack 2

VIP4=${IT_VIPS4[0]}
dpctl service set "$VIP4:80" tcp nat 198.18.11.2:8080 || it_fail "service set"

# 8 long-lived connections: one line each now, another line on each when
# $IT_TMP/go appears (at most 30 s), a third when go2 appears.
ip netns exec "$IT_CL1" timeout 60 "$PY" - "$VIP4" "$IT_TMP" >"$IT_TMP/long.out" 2>&1 <<'PYEOF' &
import os, socket, sys, time
vip, tmp = sys.argv[1], sys.argv[2]
conns = []
for i in range(8):
    s = socket.create_connection((vip, 80), timeout=5)
    conns.append((s, s.makefile("rb")))
def round_(tag):
    out = []
    for i, (s, f) in enumerate(conns):
        s.sendall(b"%s-%d\n" % (tag.encode(), i))
        out.append(f.readline().decode().split(" ")[0] or "none")
    print(tag, " ".join(out), flush=True)
def wait(name):
    end = time.time() + 30
    while not os.path.exists(os.path.join(tmp, name)) and time.time() < end:
        time.sleep(0.05)
round_("first")
wait("go"); round_("second")
wait("go2"); round_("third")
PYEOF
long=$!
IT_PIDS+=("$long")
for _ in $(seq 1 100); do
	grep -q '^first' "$IT_TMP/long.out" 2>/dev/null && break
	sleep 0.1
done
grep -q '^first be1 be1 be1 be1 be1 be1 be1 be1$' "$IT_TMP/long.out" ||
	it_fail "the 8 connections did not all start on be1: $(cat "$IT_TMP/long.out")"

dpctl backend add "$VIP4:80" tcp 198.18.12.2:8080 || it_fail "backend add"
dpctl conntrack list
touch "$IT_TMP/go"
# New connections now spread over both backends.
new=" $(it_requests "$IT_CL2" tcp "$VIP4" 80 new 12 | awk '{ print $1 }' | xargs)"
echo "new connections after the add:$new"
[[ $new == *be2* ]] || it_fail "no new connection reached the added backend be2"

dpctl backend drain "$VIP4:80" tcp 198.18.11.2:8080 || it_fail "backend drain"
dpctl service list
touch "$IT_TMP/go2"
wait "$long"
cat "$IT_TMP/long.out"
grep -q '^second be1 be1 be1 be1 be1 be1 be1 be1$' "$IT_TMP/long.out" ||
	it_fail "established connections changed backend when one was added"
grep -q '^third be1 be1 be1 be1 be1 be1 be1 be1$' "$IT_TMP/long.out" ||
	it_fail "established connections changed backend when theirs was drained"
drained=" $(it_requests "$IT_CL2" tcp "$VIP4" 80 drained 8 | awk '{ print $1 }' | xargs)"
echo "new connections after the drain:$drained"
[[ $drained != *be1* ]] || it_fail "a new connection went to the drained backend"
[[ $drained == *be2* ]] || it_fail "new connections got no answer after the drain"
echo "PASS"
