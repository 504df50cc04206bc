#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Request latency while an auth key file is rewritten: an open-loop load on gwd on a
# route with `auth: api_keys` whose key file has 100 000 keys, first with
# the file left alone, then while it is replaced (write + rename) every
# --interval seconds. gwd reads the file again after each change; this
# measures what that costs the requests in flight. A control phase replaces
# another file of the same size the same way (gwd does not read it): what
# the replacements cost the machine whoever reads them.
#
#   bench/auth_reread.sh [--keys N] [--duration S] [--interval S]
#                        [--connections N] [--rate R] [--rounds N]
#                        [--before GWD]
#
# The load is open-loop (see bench below): --rate requests/s (default 1000)
# over --connections keep-alive connections (default 8), far from
# saturating the CPUs, so that p99 shows how long requests wait for a
# reread, not how the CPUs are shared.
#
# Beside the load, a probe sends {"cmd":"status"} on gwd's admin socket
# every 10 ms (open loop too, one connection): the admin socket is served by
# gwd's main loop, so its latency is the main loop's stall (the "admin"
# rows). The key file's reread must not stall it.
#
# --before GWD also runs an older gwd binary (e.g. one built from the commit
# before the reread moved off the request path), alternating with this
# tree's for --rounds rounds (default 3), and prints the ratios of the
# medians (p99, max, req/s while rewriting). Both use the same files,
# origin and load.
# The origin is nginx serving a 2-byte body; gwd has 2 workers.
# Results also go to build/bench/auth_reread.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
GWD=$ROOT/$BUILD/bin/gwd
BEFORE=
KEYS=100000
DURATION=10
INTERVAL=1
CONNS=8
RATE=1000
ROUNDS=3
WORKERS=2

usage() {
	echo "usage: bench/auth_reread.sh [--keys N] [--duration S] [--interval S]" \
		"[--connections N] [--rate R] [--rounds N] [--before GWD]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--keys) KEYS=$2 ;;
	--duration) DURATION=$2 ;;
	--interval) INTERVAL=$2 ;;
	--connections) CONNS=$2 ;;
	--rounds) ROUNDS=$2 ;;
	--rate) RATE=$2 ;;
	--before) BEFORE=$2 ;;
	*) usage ;;
	esac
	shift 2
done

for t in nginx python3 curl; do
	command -v "$t" >/dev/null || { echo "bench/auth_reread: $t missing (make bench-deps)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/auth_reread: needs root (a network namespace)" >&2; exit 1; }
[ -x "$GWD" ] || { echo "bench/auth_reread: $GWD missing: make all" >&2; exit 1; }
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "bench/auth_reread: $BEFORE is not executable" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

NS=gwb-auth-$$
DIR=$(mktemp -d /tmp/gw-bench-auth.XXXXXX)
PIN=/sys/fs/bpf/gwb-auth-$$
PIDS=()
mkdir -p "$ROOT/$BUILD/bench"
OUT=$ROOT/$BUILD/bench/auth_reread.txt
: >"$OUT"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$PIN" "$PIN-before" "$DIR"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ip netns add "$NS"
# gwd, the origin and the load run at nice -15: other work on a shared machine
# disturbs the latencies less (the same for both binaries).
inns() { nsenter --net="/run/netns/$NS" nice -n -15 "$@"; }
inns ip link set lo up
say() { echo "$*" | tee -a "$OUT"; }

ORIGIN=127.0.0.1:8080
. bench/origin.sh	# (the working directory is the repo root)
APIKEY=bench-key-0

# Two versions of the key file, each with every key "bench-key-I", differing
# in one extra line so that every replacement changes the keys.
python3 - "$DIR" "$KEYS" <<'EOF'
import hashlib, sys
d, n = sys.argv[1], int(sys.argv[2])
body = "".join("c%d %s\n" % (i, hashlib.sha256(b"bench-key-%d" % i).hexdigest())
               for i in range(n))
for v in ("a", "b"):
    extra = "extra-%s %s\n" % (v, hashlib.sha256(("extra-" + v).encode()).hexdigest())
    open("%s/keys.%s" % (d, v), "w").write(body + extra)
EOF
cp "$DIR/keys.a" "$DIR/keys.txt"

origin_conf "$DIR/origin.conf" "$DIR" "$ORIGIN"

gw_config() {	# file, pin root, admin socket
	cat >"$1" <<EOF
version: 1
gateway:
  pin_root: $2
  admin_socket: $3
  workers: $WORKERS
listeners:
  - { name: plain, address: "127.0.0.1:8083" }
upstreams:
  - name: origin
    servers: [ "$ORIGIN" ]
auth:
  api_keys:
    - { name: keys, header: X-API-Key, keys: $DIR/keys.txt }
routes:
  - match: { path_prefix: / }
    upstream: origin
    auth: keys
EOF
}

start() {	# name, command...: its pid in LAST
	local name=$1
	shift
	# exec: LAST is the command's own pid (nsenter and nice exec it), so
	# that killing LAST stops it (killing a subshell running inns did not,
	# and the next gwd found the port taken)
	(exec nsenter --net="/run/netns/$NS" nice -n -15 "$@") >"$DIR/$name.log" 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
}

wait_http() {	# curl args: until it answers 200 (20 s: a 100k-key file loads first)
	local i
	for i in $(seq 200); do
		[ "$(inns curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@")" = 200 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# bench: an open-loop load for DURATION s: CONNS keep-alive connections,
# each sending a request every CONNS / RATE s on a fixed schedule; a
# request's latency counts from its scheduled time, so a stall is charged
# to every request that should have gone out during it (no coordinated
# omission). Prints "REQS P99_MS MAX_MS ERRORS".
bench() {
	inns python3 - "$CONNS" "$RATE" "$DURATION" "$APIKEY" <<'EOF'
import socket, sys, threading, time
conns, rate, dur, key = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
req = ("GET / HTTP/1.1\r\nHost: bench\r\nX-API-Key: %s\r\n\r\n" % key).encode()
period = conns / rate
lat, errs = [], [0]
lock = threading.Lock()
start = time.monotonic() + 0.2
def run(i):
    mine, bad, k = [], 0, 0
    s = socket.create_connection(("127.0.0.1", 8083))
    while True:
        due = start + i * period / conns + k * period
        if due > start + dur:
            break
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        try:
            s.sendall(req)
            buf = b""
            while not (b"\r\n\r\n" in buf and buf.endswith(b"ok")):
                d = s.recv(65536)
                if not d:
                    raise OSError("closed")
                buf += d
            bad += not buf.startswith(b"HTTP/1.1 200")
        except OSError:
            bad += 1
            s = socket.create_connection(("127.0.0.1", 8083))
        mine.append(time.monotonic() - due)
        k += 1
    with lock:
        lat.extend(mine)
        errs[0] += bad
ts = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
lat.sort()
print("%.0f %.2f %.2f %d" % (len(lat) / dur, lat[int(len(lat) * 0.99)] * 1000, lat[-1] * 1000,
                             errs[0]))
EOF
}

# probe SOCKET: for DURATION s, {"cmd":"status"} on the admin socket every
# 10 ms on a fixed schedule (latency from the scheduled time); writes
# "PROBES P99_MS MAX_MS ERRORS" to $DIR/probe.out.
probe() {
	python3 - "$1" "$DURATION" >"$DIR/probe.out" <<'EOF'
import socket, sys, time
path, dur = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.connect(path)
f = s.makefile("rb")
lat, bad, k = [], 0, 0
start = time.monotonic() + 0.2
while True:
    due = start + k * 0.01
    if due > start + dur:
        break
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    s.sendall(b'{"cmd":"status"}\n')
    line = f.readline()
    bad += not line.startswith(b'{"ok":true')
    lat.append(time.monotonic() - due)
    k += 1
lat.sort()
print("%d %.2f %.2f %d" % (len(lat), lat[int(len(lat) * 0.99)] * 1000, lat[-1] * 1000, bad))
EOF
}

row() {	# label, "REQS P99 MAX ERR"
	local reqs p99 mx errs
	read -r reqs p99 mx errs <<<"$2"
	say "$(printf '  %-34s %8.0f req/s   p99 %8s ms   max %8s ms   errors %s' \
		"$1" "$reqs" "$p99" "$mx" "$errs")"
}

arow() {	# label, "PROBES P99 MAX ERR"
	local n p99 mx errs
	read -r n p99 mx errs <<<"$2"
	say "$(printf '  %-34s %8s probes  p99 %8s ms   max %8s ms   errors %s' \
		"$1" "$n" "$p99" "$mx" "$errs")"
}

# rewrite FILE: replaces FILE (write beside it, rename over it) every
# INTERVAL s, alternating the two versions, until $DIR/stop exists; the
# number of replacements goes to $DIR/rewrites.
rewrite() {
	local v=b n=0
	set +e
	while [ ! -e "$DIR/stop" ]; do
		cp "$DIR/keys.$v" "$DIR/$1.new" && mv "$DIR/$1.new" "$DIR/$1" && n=$((n + 1))
		[ $v = a ] && v=b || v=a
		sleep "$INTERVAL"
	done
	echo "$n" >"$DIR/rewrites"
}

# phase FILE: the load and the admin probe while FILE is replaced every
# INTERVAL s; prints the load's result (the probe's is in $DIR/probe.out).
phase() {
	local rpid ppid
	rm -f "$DIR/stop"
	rewrite "$1" &
	rpid=$!
	probe "$DIR/gwd.sock" &
	ppid=$!
	bench
	touch "$DIR/stop"
	wait "$ppid" || echo "- - - probe-failed" >"$DIR/probe.out"
	wait "$rpid" || true
}

# run LABEL GWD PIN [control]: quiet and rewriting rows; sets QUIET and BUSY
# ("REQS P99 MAX ERR") and ADMIN_QUIET, ADMIN_BUSY ("PROBES P99 MAX ERR");
# with "control", also CONTROL: the same rewrites of a
# file gwd does not read (what replacing 7 MiB costs the machine itself).
run() {
	local label=$1 bin=$2 pin=$3 gpid loads ppid
	cp "$DIR/keys.a" "$DIR/keys.txt"
	gw_config "$DIR/gw.yaml" "$pin" "$DIR/gwd.sock"
	start "gwd-$label" "$bin" --foreground -c "$DIR/gw.yaml"
	gpid=$LAST
	wait_http -H "X-API-Key: $APIKEY" http://127.0.0.1:8083/ ||
		{ tail -5 "$DIR/gwd-$label.log" >&2; echo "bench/auth_reread: gwd did not answer" >&2; exit 1; }
	[ "$(inns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8083/)" = 401 ] ||
		{ echo "bench/auth_reread: a request without a key was not refused" >&2; exit 1; }
	probe "$DIR/gwd.sock" &
	ppid=$!
	QUIET=$(bench)
	wait "$ppid" || echo "- - - probe-failed" >"$DIR/probe.out"
	ADMIN_QUIET=$(cat "$DIR/probe.out")
	row "$label: file unchanged" "$QUIET"
	arow "$label: admin, file unchanged" "$ADMIN_QUIET"
	BUSY=$(phase keys.txt)
	ADMIN_BUSY=$(cat "$DIR/probe.out")
	loads=$(grep -c 'api keys .* keys loaded' "$DIR/gwd-$label.log" || true)
	row "$label: rewritten every ${INTERVAL}s" "$BUSY"
	arow "$label: admin, rewritten" "$ADMIN_BUSY"
	say "  $label: $(cat "$DIR/rewrites") replacements; the file was loaded $loads times" \
		"(the first at start)"
	if [ "${4:-}" = control ]; then
		CONTROL=$(phase other.txt)
		row "control: another file rewritten" "$CONTROL"
	fi
	if ! kill "$gpid" 2>/dev/null; then
		say "  $label: gwd had exited during the run; its log's end:"
		tail -5 "$DIR/gwd-$label.log" | sed 's/^/    /' | tee -a "$OUT"
	fi
	wait "$gpid" 2>/dev/null || true
	rm -rf "$pin"
}

ratio() {	# label, a, b
	say "$(python3 -c "import sys; a,b=float(sys.argv[2]),float(sys.argv[3]); \
print('  %-34s %.1fx' % (sys.argv[1], a / b if b else float('nan')))" "$@")"
}

start origin nginx -c "$DIR/origin.conf" -g "daemon off;"
for i in $(seq 100); do
	inns curl -s -o /dev/null --max-time 1 "http://$ORIGIN/" && break
	sleep 0.1
done

say "bench/auth_reread: $KEYS API keys, $RATE requests/s open loop on $CONNS connections" \
	"for ${DURATION}s, $WORKERS workers, the file replaced every ${INTERVAL}s"
[ -n "$BEFORE" ] || ROUNDS=1
B_ALL=() A_ALL=() C_ALL=() BA_ALL=() AA_ALL=()
for ((r = 1; r <= ROUNDS; r++)); do
	[ "$ROUNDS" = 1 ] || say "round $r"
	if [ -n "$BEFORE" ]; then
		run before "$BEFORE" "$PIN-before"
		B_ALL+=("$BUSY")
		BA_ALL+=("$ADMIN_BUSY")
	fi
	run after "$GWD" "$PIN" control
	A_ALL+=("$BUSY")
	AA_ALL+=("$ADMIN_BUSY")
	C_ALL+=("$CONTROL")
done

# median FIELD RUNS...: the median of field FIELD (1 req/s, 2 p99, 3 max).
median() {
	local f=$1
	shift
	printf '%s\n' "$@" | cut -d' ' -f"$f" | sort -g | awk '{v[NR] = $1}
		END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
if [ -n "$BEFORE" ]; then
	say "medians of $ROUNDS rounds while rewriting: before p99 $(median 2 "${B_ALL[@]}") ms," \
		"max $(median 3 "${B_ALL[@]}") ms; after p99 $(median 2 "${A_ALL[@]}") ms," \
		"max $(median 3 "${A_ALL[@]}") ms; control p99 $(median 2 "${C_ALL[@]}") ms," \
		"max $(median 3 "${C_ALL[@]}") ms"
	ratio "p99 while rewriting, before/after" "$(median 2 "${B_ALL[@]}")" \
		"$(median 2 "${A_ALL[@]}")"
	ratio "max while rewriting, before/after" "$(median 3 "${B_ALL[@]}")" \
		"$(median 3 "${A_ALL[@]}")"
	say "admin socket (the main loop) while rewriting: before p99" \
		"$(median 2 "${BA_ALL[@]}") ms, max $(median 3 "${BA_ALL[@]}") ms; after p99" \
		"$(median 2 "${AA_ALL[@]}") ms, max $(median 3 "${AA_ALL[@]}") ms"
	ratio "admin p99 while rewriting, before/after" "$(median 2 "${BA_ALL[@]}")" \
		"$(median 2 "${AA_ALL[@]}")"
	ratio "admin max while rewriting, before/after" "$(median 3 "${BA_ALL[@]}")" \
		"$(median 3 "${AA_ALL[@]}")"
	ratio "req/s while rewriting, after/before" "$(median 1 "${A_ALL[@]}")" \
		"$(median 1 "${B_ALL[@]}")"
fi
