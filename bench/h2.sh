#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP/2 benchmark: h2load against gwd, HAProxy and nginx proxying to the
# same origins, in one run, on the loopback of a private network namespace.
#
#   bench/h2.sh [--duration S] [--connections N] [--grpc-connections N]
#               [--streams M] [--only CASES] [--runs N]
#
# Cases (each prints requests/s, p99 and errors for every proxy and gw's
# ratios to HAProxy and nginx):
#   h2     HTTP/2 over TLS 1.3 (ALPN h2, the same P-256 certificate) from
#          the client, HTTP/1.1 keep-alive to the nginx origin (2-byte body)
#   h2c    the same over cleartext HTTP/2 with prior knowledge
#   grpc   gRPC unary calls (POST /test.Svc/Echo, content-type
#          application/grpc, a 5-byte message) over h2c from the client and
#          h2c to bench/grpc_origin.c (libnghttp2, one thread, a fixed
#          unary answer with grpc-status 0: fast enough not to set the
#          pace; built here with cc); gwd with `protocol: h2c` (streams
#          multiplexed, 100 per connection), HAProxy with `proto h2` on
#          both sides, nginx with grpc_pass
# h2load runs with -t2 -cN -mM for S seconds (-D; and under timeout(1));
# the grpc case with --grpc-connections (default 16) instead of -cN.
# requests/s is h2load's "finished in ..., R req/s" (every request, so the
# errors column must be 0 for it to count); p99 is the 99th percentile of
# the per-request times h2load writes with --log-file (its third column:
# from the request's start to the end of its stream, in microseconds),
# over the successful (2xx) requests. Before timing, every proxy is asked
# once with curl (h2) or a python3-grpcio client (grpc: the echo must come
# back with status OK), so a proxy that answers wrongly is seen.
# Every proxy gets 2 workers, upstream keep-alive and no access logging.
# Each case runs --runs times (haproxy, nginx, gwd back to back each time)
# and ends with the median ratio and its spread. Results go to
# build/bench/h2.txt, the ratios of each run to build/bench/h2.tsv (case,
# run, gwd/haproxy req/s, gwd/nginx req/s, gwd/haproxy p99, gwd/nginx p99);
# h2load's own output and request log of the last run of each case and
# port to build/bench/h2load-CASE-PORT.txt and .log.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
GWD=$ROOT/$BUILD/bin/gwd
DURATION=5
CONNS=32
GCONNS=16
STREAMS=10
WORKERS=2
ONLY="h2 h2c grpc"
RUNS=1

usage() {
	echo "usage: bench/h2.sh [--duration S] [--connections N] [--grpc-connections N]" \
		"[--streams M] [--only 'h2 h2c grpc'] [--runs N]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--duration) DURATION=$2 ;;
	--connections) CONNS=$2 ;;
	--grpc-connections) GCONNS=$2 ;;
	--streams) STREAMS=$2 ;;
	--only) ONLY=$2 ;;
	--runs) RUNS=$2 ;;
	*) usage ;;
	esac
	shift 2
done
for v in "$DURATION" "$CONNS" "$GCONNS" "$STREAMS" "$RUNS"; do
	case $v in ''|*[!0-9]*|0) echo "bench/h2: counts and seconds are whole numbers > 0" >&2
				 exit 2 ;; esac
done
for c in $ONLY; do
	case $c in h2|h2c|grpc) ;; *) echo "bench/h2: unknown case $c" >&2; exit 2 ;; esac
done
for t in h2load haproxy nginx openssl python3 curl timeout cc; do
	command -v "$t" >/dev/null || { echo "bench/h2: $t missing (make bench-deps)" >&2; exit 1; }
done
PY=/usr/bin/python3	# Debian's, with python3-grpcio
"$PY" -c 'import grpc' 2>/dev/null || { echo "bench/h2: python3-grpcio missing" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/h2: needs root (a network namespace)" >&2; exit 1; }
[ -x "$GWD" ] || { echo "bench/h2: $GWD missing: make all" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

NS=gwb-h2-$$
DIR=$(mktemp -d /tmp/gw-bench-h2.XXXXXX)
PIN=/sys/fs/bpf/gwb-h2-$$
declare -A PID_OF	# name -> pid of what start() runs
mkdir -p "$ROOT/$BUILD/bench"
OUT=$ROOT/$BUILD/bench/h2.txt
: >"$OUT"
TSV=$ROOT/$BUILD/bench/h2.tsv
printf '# case\trun\tgwd/haproxy req/s\tgwd/nginx req/s\tgwd/haproxy p99\tgwd/nginx p99\n' \
	>"$TSV"
. bench/l7lib.sh	# (the working directory is the repo root)
. bench/origin.sh
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ip netns add "$NS"
inns ip link set lo up
mkcert ec

# Addresses on the namespace's loopback: origin :8080, the gRPC origin
# :50051; haproxy :8081 (h2c) / :8443 (h2), nginx :8082 / :8444, gwd
# :8083 / :8445. gRPC goes to the h2c ports, path /test.Svc/.
ORIGIN=127.0.0.1:8080
GRPC=127.0.0.1:50051
origin_conf "$DIR/origin.conf" "$DIR" "$ORIGIN"
start origin nginx -c "$DIR/origin.conf" -g "daemon off;"
wait_http "http://$ORIGIN/" || { echo "bench/h2: origin did not start" >&2; exit 1; }
cc -O2 -o "$DIR/grpc_origin" bench/grpc_origin.c -lnghttp2 -lpthread ||
	{ echo "bench/h2: cannot build bench/grpc_origin.c (libnghttp2-dev)" >&2; exit 1; }
start grpc "$DIR/grpc_origin" "${GRPC##*:}" 1

cat >"$DIR/haproxy.cfg" <<EOF
global
	nbthread $WORKERS
	maxconn 8000
	ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
	mode http
	timeout connect 1s
	timeout client 60s
	timeout server 15s
	option http-keep-alive
	http-reuse always
frontend h2c
	bind 127.0.0.1:8081 proto h2
	use_backend grpc if { path_beg /test.Svc/ }
	default_backend origin
frontend h2
	bind 127.0.0.1:8443 ssl crt $DIR/ec.haproxy.pem alpn h2,http/1.1
	default_backend origin
backend origin
	server o1 $ORIGIN
backend grpc
	server g1 $GRPC proto h2
EOF
cat >"$DIR/nginx.conf" <<EOF
worker_processes $WORKERS;
pid $DIR/nginx.pid;
error_log $DIR/nginx.err;
events { worker_connections 8192; }
http {
	access_log off;
	keepalive_requests 1000000;
	upstream origin { server $ORIGIN; keepalive 128; }
	upstream grpc { server $GRPC; keepalive 128; }
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_certificate $DIR/ec.cert.pem;
	ssl_certificate_key $DIR/ec.key.pem;
	server {
		listen 127.0.0.1:8082 http2 reuseport;
		listen 127.0.0.1:8444 ssl http2 reuseport;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
		location /test.Svc/ {
			grpc_pass grpc://grpc;
		}
	}
}
EOF
cat >"$DIR/gwd.yaml" <<EOF
version: 1
gateway:
  pin_root: $PIN-gwd
  admin_socket: $DIR/gwd.sock
tls:
  certificates:
    - { cert: $DIR/ec.cert.pem, key: $DIR/ec.key.pem, sni: [bench.gw.test] }
  min_version: "1.2"
  alpn: [h2, http/1.1]
listeners:
  - { name: h2c, address: "127.0.0.1:8083", h2c: true }
  - { name: h2, address: "127.0.0.1:8445", tls: true }
upstreams:
  - name: origin
    servers: [ "$ORIGIN" ]
  - name: grpc
    servers: [ "$GRPC" ]
    protocol: h2c
routes:
  - match: { path_prefix: /test.Svc/ }
    upstream: grpc
  - match: { path_prefix: / }
    upstream: origin
EOF
inns "$GWD" --check -c "$DIR/gwd.yaml" >"$DIR/gwd.check" 2>&1 ||
	{ cat "$DIR/gwd.check" >&2; exit 1; }
start haproxy haproxy -f "$DIR/haproxy.cfg" -db
start nginx nginx -c "$DIR/nginx.conf" -g "daemon off;"
start gwd "$GWD" --foreground -c "$DIR/gwd.yaml"
for p in 8081 8082 8083; do
	wait_http --http2-prior-knowledge "http://127.0.0.1:$p/" ||
		{ echo "bench/h2: nothing answers h2c on :$p" >&2; tail -5 "$DIR"/*.log >&2; exit 1; }
done

# The gRPC request h2load sends: one message "hello" in gRPC framing
# (uncompressed flag, 4-byte big-endian length).
printf '\0\0\0\0\5hello' >"$DIR/grpc.body"

# check CASE PORT: one request through the proxy on PORT as the case sends
# it; returns 0 when the answer is right (200 "ok" over HTTP/2; for grpc,
# the echo with status OK), else 1 with what came back.
check() {
	local got
	case $1 in
	h2) got=$(inns curl -sk --http2 --max-time 5 -w ' %{http_version} %{http_code}' \
		"https://127.0.0.1:$2/" 2>&1) || true ;;
	h2c) got=$(inns curl -s --http2-prior-knowledge --max-time 5 \
		-w ' %{http_version} %{http_code}' "http://127.0.0.1:$2/" 2>&1) || true ;;
	grpc) got=$(inns timeout 20 "$PY" -c '
import sys, grpc
ch = grpc.insecure_channel(sys.argv[1])
print(ch.unary_unary("/test.Svc/Echo")(b"hello", timeout=5).decode(), "OK")
' "127.0.0.1:$2" 2>&1 | tail -1) || true ;;
	esac
	case $1:$got in
	h2:"ok 2 200"|h2c:"ok 2 200"|grpc:"hello OK") return 0 ;;
	esac
	say "  :$2 answers $1 wrongly: $got"
	return 1
}

# bench CASE PORT: one h2load run; prints "REQS P99_MS ERRORS".
bench() {
	local url args=() out c=$CONNS
	case $1 in
	h2) url=https://127.0.0.1:$2/ ;;
	h2c) url=http://127.0.0.1:$2/ ;;
	grpc) url=http://127.0.0.1:$2/test.Svc/Echo
	      args=(-d "$DIR/grpc.body" -H "content-type: application/grpc" -H "te: trailers")
	      c=$GCONNS ;;
	esac
	rm -f "$DIR/h2load.log"
	out=$(inns timeout $((DURATION + 30)) h2load -t2 -c"$c" -m"$STREAMS" \
		-D "$DURATION" --log-file="$DIR/h2load.log" "${args[@]}" "$url" 2>&1) || true
	echo "$out" >"$ROOT/$BUILD/bench/h2load-$1-$2.txt"
	cp "$DIR/h2load.log" "$ROOT/$BUILD/bench/h2load-$1-$2.log" 2>/dev/null || true
	python3 - "$out" "$DIR/h2load.log" <<'EOF'
import re, sys
t = sys.argv[1]
r = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", t)
m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
              r"(\d+) errored, (\d+) timeout", t)
errs = sum(int(m.group(i)) for i in (2, 3, 4)) if m else -1
if not re.search(r"application protocol: h2", t, re.I):
    errs = -1
lat = []
try:
    for line in open(sys.argv[2]):
        f = line.split()
        if len(f) >= 3 and f[1].startswith("2"):
            lat.append(int(f[2]))
except OSError:
    pass
lat.sort()
p99 = "%.2f" % (lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000.0) if lat else "nan"
print(r.group(1) if r and m and m.group(1) != "0" else "0", p99, errs)
EOF
}

row() {	# label, "REQS P99 ERR"
	local reqs p99 errs
	read -r reqs p99 errs <<<"$2"
	say "$(printf '  %-26s %10.0f req/s   p99 %7s ms   errors %s' "$1" "$reqs" "$p99" "$errs")"
}

# run_case CASE: RUNS runs of h2load against haproxy, nginx and gwd.
run_case() {
	local c=$1 r h n g rs=() ps=() ns=() base=8081 tsv ok=1
	[ "$c" != h2 ] || base=8443
	case $c in
	h2) say "case h2 (TLS, ALPN h2; HTTP/1.1 to the origin)" ;;
	h2c) say "case h2c (prior knowledge; HTTP/1.1 to the origin)" ;;
	grpc) say "case grpc (unary /test.Svc/Echo over h2c, h2c to bench/grpc_origin.c)" ;;
	esac
	check "$c" "$base" || ok=0
	check "$c" $((base + 1)) || ok=0
	check "$c" $((base + 2)) || ok=0
	[ "$ok" = 1 ] || { say "  skipped"; return 0; }
	for r in $(seq "$RUNS"); do
		[ "$RUNS" = 1 ] || say " run $r"
		h=$(bench "$c" "$base")
		n=$(bench "$c" $((base + 1)))
		g=$(bench "$c" $((base + 2)))
		row haproxy "$h"
		row nginx "$n"
		row gwd "$g"
		ratio "gwd / haproxy req/s" "${g%% *}" "${h%% *}"
		rs+=("$RATIO")
		tsv="$c\t$r\t$RATIO"
		ratio "gwd / nginx req/s" "${g%% *}" "${n%% *}"
		ns+=("$RATIO")
		tsv+="\t$RATIO"
		ratio "gwd / haproxy p99" "$(cut -d' ' -f2 <<<"$g")" "$(cut -d' ' -f2 <<<"$h")"
		ps+=("$RATIO")
		tsv+="\t$RATIO"
		ratio "gwd / nginx p99" "$(cut -d' ' -f2 <<<"$g")" "$(cut -d' ' -f2 <<<"$n")"
		printf '%b\t%s\n' "$tsv" "$RATIO" >>"$TSV"
	done
	if [ "$RUNS" -gt 1 ]; then
		spread "gwd / haproxy req/s" "${rs[@]}"
		spread "gwd / nginx req/s" "${ns[@]}"
		spread "gwd / haproxy p99" "${ps[@]}"
	fi
}

say "bench/h2: h2load -t2 -c$CONNS (grpc -c$GCONNS) -m$STREAMS -D $DURATION," \
	"$WORKERS workers each, $RUNS run(s)"
for c in $ONLY; do run_case "$c"; done
