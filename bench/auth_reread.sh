#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Request latency while an auth key file is rewritten: wrk against gwd on a
# route with `auth: api_keys` whose key file has 100 000 keys, first with
# the file left alone, then while it is replaced (write + rename) every
# --interval seconds. gwd reads the file again after each change; this
# measures what that costs the requests in flight.
#
#   bench/auth_reread.sh [--keys N] [--duration S] [--interval S]
#                        [--connections N] [--before GWD]
#
# --before GWD also runs an older gwd binary (e.g. one built from the commit
# before the reread moved off the request path) and prints the ratios of
# its p99 to this tree's. Both runs use the same files, origin and load.
# The origin is nginx serving a 2-byte body; 2 workers, wrk -t2.
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
CONNS=32
THREADS=2
WORKERS=2

usage() {
	echo "usage: bench/auth_reread.sh [--keys N] [--duration S] [--interval S]" \
		"[--connections N] [--before GWD]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--keys) KEYS=$2 ;;
	--duration) DURATION=$2 ;;
	--interval) INTERVAL=$2 ;;
	--connections) CONNS=$2 ;;
	--before) BEFORE=$2 ;;
	*) usage ;;
	esac
	shift 2
done

for t in wrk nginx python3 curl; do
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
inns() { nsenter --net="/run/netns/$NS" "$@"; }
inns ip link set lo up
say() { echo "$*" | tee -a "$OUT"; }

ORIGIN=127.0.0.1:8080
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

cat >"$DIR/origin.conf" <<EOF
worker_processes 1;
pid $DIR/origin.pid;
error_log $DIR/origin.err;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	server {
		listen $ORIGIN reuseport backlog=4096;
		location / { return 200 "ok"; }
	}
}
EOF

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
	inns "$@" >"$DIR/$name.log" 2>&1 &
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

# wrk: prints "REQS P99_MS MAX_MS ERRORS" for one run.
bench() {
	local out
	out=$(inns wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
		-H "X-API-Key: $APIKEY" http://127.0.0.1:8083/ 2>&1) || true
	python3 - "$out" <<'EOF'
import re, sys
t = sys.argv[1]
scale = {"us": 0.001, "ms": 1, "s": 1000}
def ms(m):
    return "%.2f" % (float(m.group(1)) * scale[m.group(2)]) if m else "nan"
r = re.search(r"Requests/sec:\s+([\d.]+)", t)
p = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", t, re.M)
mx = re.search(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b", t, re.M)
errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errs += int(non2xx.group(1)) if non2xx else 0
print(r.group(1) if r else "0", ms(p), ms(mx), errs)
EOF
}

row() {	# label, "REQS P99 MAX ERR"
	local reqs p99 mx errs
	read -r reqs p99 mx errs <<<"$2"
	say "$(printf '  %-34s %8.0f req/s   p99 %8s ms   max %8s ms   errors %s' \
		"$1" "$reqs" "$p99" "$mx" "$errs")"
}

# rewrite: replaces keys.txt (write beside it, rename over it) every
# INTERVAL s, alternating the two versions, until killed.
rewrite() {
	local v=b
	while :; do
		cp "$DIR/keys.$v" "$DIR/keys.txt.new"
		mv "$DIR/keys.txt.new" "$DIR/keys.txt"
		[ $v = a ] && v=b || v=a
		sleep "$INTERVAL"
	done
}

# run LABEL GWD PIN: quiet and rewriting rows; sets QUIET and BUSY ("REQS
# P99 MAX ERR").
run() {
	local label=$1 bin=$2 pin=$3 gpid rpid loads
	cp "$DIR/keys.a" "$DIR/keys.txt"
	gw_config "$DIR/gw.yaml" "$pin" "$DIR/gwd.sock"
	start "gwd-$label" "$bin" --foreground -c "$DIR/gw.yaml"
	gpid=$LAST
	wait_http -H "X-API-Key: $APIKEY" http://127.0.0.1:8083/ ||
		{ tail -5 "$DIR/gwd-$label.log" >&2; echo "bench/auth_reread: gwd did not answer" >&2; exit 1; }
	[ "$(inns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8083/)" = 401 ] ||
		{ echo "bench/auth_reread: a request without a key was not refused" >&2; exit 1; }
	QUIET=$(bench)
	row "$label: file unchanged" "$QUIET"
	rewrite &
	rpid=$!
	BUSY=$(bench)
	kill "$rpid"
	wait "$rpid" 2>/dev/null || true
	loads=$(grep -c 'api keys .* keys loaded' "$DIR/gwd-$label.log" || true)
	row "$label: rewritten every ${INTERVAL}s" "$BUSY"
	say "  $label: the file was loaded $loads times (the first at start)"
	kill "$gpid"
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

say "bench/auth_reread: $KEYS API keys, wrk -t$THREADS -c$CONNS -d${DURATION}s," \
	"$WORKERS workers, the file replaced every ${INTERVAL}s"
if [ -n "$BEFORE" ]; then
	run before "$BEFORE" "$PIN-before"
	B_QUIET=$QUIET B_BUSY=$BUSY
fi
run after "$GWD" "$PIN"
if [ -n "$BEFORE" ]; then
	ratio "p99 while rewriting, before/after" "$(cut -d' ' -f2 <<<"$B_BUSY")" \
		"$(cut -d' ' -f2 <<<"$BUSY")"
	ratio "max while rewriting, before/after" "$(cut -d' ' -f3 <<<"$B_BUSY")" \
		"$(cut -d' ' -f3 <<<"$BUSY")"
	ratio "req/s while rewriting, after/before" "$(cut -d' ' -f1 <<<"$BUSY")" \
		"$(cut -d' ' -f1 <<<"$B_BUSY")"
fi
