#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# L7 benchmark: wrk against gwd, HAProxy and nginx proxying to the same
# origin, in one run, on the loopback of a private network namespace.
#
#   bench/l7.sh [--duration S] [--connections N] [--only CASES]
#
# Cases (each prints requests/s and p99 for every proxy and gw's ratio to
# HAProxy):
#   plain      keep-alive HTTP/1.1
#   tls        keep-alive over TLS 1.3
#   tls-new    a new TLS connection per request (Connection: close)
#   jwt        gwd plain keep-alive with RS256 JWT auth on, against gwd
#              with auth off (the cost of auth)
# Every proxy gets the same number of workers (2: this machine's cores),
# upstream keep-alive, and no access logging. The origin is nginx serving a
# fixed 2-byte body. Absolute numbers drift; the ratios are the result.
# Results also go to build/bench/l7.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
GWD=$ROOT/$BUILD/bin/gwd
DURATION=5
CONNS=64
THREADS=2
WORKERS=2
ONLY="plain tls tls-new jwt"

while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--connections) CONNS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	*) echo "usage: bench/l7.sh [--duration S] [--connections N] [--only 'CASES']" >&2
	   exit 2 ;;
	esac
done

for t in wrk haproxy nginx openssl python3 curl; do
	command -v "$t" >/dev/null || { echo "bench/l7: $t missing (make bench-deps)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/l7: needs root (a network namespace)" >&2; exit 1; }
[ -x "$GWD" ] || { echo "bench/l7: $GWD missing: make all" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

NS=gwb-l7-$$
DIR=$(mktemp -d /tmp/gw-bench-l7.XXXXXX)
PIN=/sys/fs/bpf/gwb-l7-$$
PIDS=()
mkdir -p "$ROOT/$BUILD/bench"
OUT=$ROOT/$BUILD/bench/l7.txt
: >"$OUT"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$PIN" "$DIR"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ip netns add "$NS"
inns() { nsenter --net="/run/netns/$NS" "$@"; }
inns ip link set lo up

say() { echo "$*" | tee -a "$OUT"; }

# Addresses on the namespace's loopback: origin :8080, haproxy :8081/8443,
# nginx :8082/8444, gwd :8083/8445 (+ :8084 with JWT auth).
ORIGIN=127.0.0.1:8080

# --- certificates and a JWT ---------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=bench.gw.test -addext subjectAltName=DNS:bench.gw.test \
	-keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
cat "$DIR/cert.pem" "$DIR/key.pem" >"$DIR/haproxy.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/jwt.key" 2>/dev/null
python3 - "$DIR" <<'EOF'
import base64, json, subprocess, sys, time
d = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
txt = subprocess.run(["openssl", "rsa", "-in", f"{d}/jwt.key", "-noout", "-text"],
                     capture_output=True, text=True, check=True).stdout
def field(name, nxt):
    s = txt.split(name + ":", 1)[1].split(nxt + ":", 1)[0]
    return bytes.fromhex("".join(s.split()).replace(":", ""))
n = field("modulus", "publicExponent").lstrip(b"\0")
e = int(txt.split("publicExponent:")[1].split()[0])
jwk = {"kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig",
       "n": b64(n), "e": b64(e.to_bytes((e.bit_length() + 7) // 8, "big"))}
json.dump({"keys": [jwk]}, open(f"{d}/jwks.json", "w"))
now = int(time.time())
hdr = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "bench"}).encode())
pl = b64(json.dumps({"iss": "https://id.bench.test/", "aud": "api", "sub": "bench",
                     "iat": now, "exp": now + 3600}).encode())
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{d}/jwt.key"],
                     input=f"{hdr}.{pl}".encode(), capture_output=True, check=True).stdout
open(f"{d}/token", "w").write(f"{hdr}.{pl}.{b64(sig)}")
EOF
TOKEN=$(cat "$DIR/token")

# --- the origin ---------------------------------------------------------------
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

# --- the peers ------------------------------------------------------------------
cat >"$DIR/haproxy.cfg" <<EOF
global
	nbthread $WORKERS
	maxconn 8000
	tune.ssl.default-dh-param 2048
	ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
	mode http
	timeout connect 1s
	timeout client 60s
	timeout server 15s
	option http-keep-alive
	http-reuse always
frontend plain
	bind 127.0.0.1:8081
	default_backend origin
frontend tls
	bind 127.0.0.1:8443 ssl crt $DIR/haproxy.pem alpn http/1.1
	default_backend origin
backend origin
	server o1 $ORIGIN
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
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_certificate $DIR/cert.pem;
	ssl_certificate_key $DIR/key.pem;
	server {
		listen 127.0.0.1:8082 reuseport;
		listen 127.0.0.1:8444 ssl reuseport;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF

gw_config() {	# $1: file, $2: auth (none | main)
	cat >"$1" <<EOF
version: 1
gateway:
  pin_root: $PIN
  admin_socket: $DIR/gwd-$2.sock
tls:
  certificates:
    - { cert: $DIR/cert.pem, key: $DIR/key.pem, sni: [bench.gw.test] }
  min_version: "1.2"
listeners:
  - { name: plain, address: "127.0.0.1:$3" }
  - { name: tls, address: "127.0.0.1:$4", tls: true }
upstreams:
  - name: origin
    servers: [ "$ORIGIN" ]
auth:
  jwt:
    - name: main
      jwks: $DIR/jwks.json
      issuer: https://id.bench.test/
      audiences: [api]
      algorithms: [RS256]
routes:
  - match: { path_prefix: / }
    upstream: origin
    auth: $2
EOF
}

start() {	# name, command...
	local name=$1
	shift
	inns "$@" >"$DIR/$name.log" 2>&1 &
	PIDS+=($!)
}

wait_http() {	# url: until it answers (10 s)
	local i
	for i in $(seq 100); do
		inns curl -sk -o /dev/null --max-time 1 "$@" && return 0
		sleep 0.1
	done
	return 1
}

start origin nginx -c "$DIR/origin.conf" -g "daemon off;"
wait_http "http://$ORIGIN/" || { echo "bench/l7: origin did not start" >&2; exit 1; }
start haproxy haproxy -f "$DIR/haproxy.cfg" -db
start nginx nginx -c "$DIR/nginx.conf" -g "daemon off;"
wait_http http://127.0.0.1:8081/ || { echo "bench/l7: haproxy did not start" >&2; exit 1; }
wait_http http://127.0.0.1:8082/ || { echo "bench/l7: nginx did not start" >&2; exit 1; }

# gwd: two instances (auth off / on) are one process each with their own
# pins; the second uses other ports.
GW_OK=1
gw_config "$DIR/gw-none.yaml" none 8083 8445
if ! inns "$GWD" --check -c "$DIR/gw-none.yaml" >"$DIR/gwcheck.log" 2>&1; then
	cat "$DIR/gwcheck.log" >&2
	exit 1
fi
start gwd "$GWD" --foreground -c "$DIR/gw-none.yaml"
if ! wait_http http://127.0.0.1:8083/; then
	GW_OK=0
	say "gwd does not answer HTTP on its listener (no L7 proxy yet?): gw rows are n/a"
	tail -5 "$DIR/gwd.log" | sed 's/^/  gwd: /'
fi

# wrk: prints "REQS P99_MS ERRORS" for one run.
bench() {	# url, extra wrk args...
	local url=$1 out
	shift
	out=$(inns wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url" 2>&1) || true
	python3 - "$out" <<'EOF'
import re, sys
t = sys.argv[1]
r = re.search(r"Requests/sec:\s+([\d.]+)", t)
p = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", t, re.M)
errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errs += int(non2xx.group(1)) if non2xx else 0
scale = {"us": 0.001, "ms": 1, "s": 1000}
print(r.group(1) if r else "0",
      "%.2f" % (float(p.group(1)) * scale[p.group(2)]) if p else "nan", errs)
EOF
}

row() {	# label, "REQS P99 ERR"
	local reqs p99 errs
	read -r reqs p99 errs <<<"$2"
	say "$(printf '  %-26s %10.0f req/s   p99 %7s ms   errors %s' "$1" "$reqs" "$p99" "$errs")"
}

ratio() {	# label, a, b
	say "$(python3 -c "import sys; a,b=float(sys.argv[2]),float(sys.argv[3]); \
print('  %-26s %.2fx' % (sys.argv[1], a / b if b else float('nan')))" "$@")"
}

say "bench/l7: wrk -t$THREADS -c$CONNS -d${DURATION}s, $WORKERS workers each, origin nginx"
for c in $ONLY; do
	case $c in
	plain|tls|tls-new)
		if [ "$c" = plain ]; then
			ph=http://127.0.0.1:8081/ pn=http://127.0.0.1:8082/ pg=http://127.0.0.1:8083/
		else
			ph=https://127.0.0.1:8443/ pn=https://127.0.0.1:8444/ pg=https://127.0.0.1:8445/
		fi
		args=()
		[ "$c" = tls-new ] && args=(-H "Connection: close")
		say "case $c"
		h=$(bench "$ph" "${args[@]}")
		n=$(bench "$pn" "${args[@]}")
		row haproxy "$h"
		row nginx "$n"
		if [ "$GW_OK" = 1 ]; then
			g=$(bench "$pg" "${args[@]}")
			row gwd "$g"
			ratio "gwd / haproxy req/s" "${g%% *}" "${h%% *}"
			p99g=$(cut -d' ' -f2 <<<"$g") p99h=$(cut -d' ' -f2 <<<"$h")
			ratio "gwd / haproxy p99" "$p99g" "$p99h"
		fi
		;;
	jwt)
		[ "$GW_OK" = 1 ] || continue
		say "case jwt (RS256, one token: the verified-token cache is hit)"
		gw_config "$DIR/gw-main.yaml" main 8084 8446
		sed -i "s|pin_root: $PIN|pin_root: $PIN-jwt|" "$DIR/gw-main.yaml"
		start gwd-jwt "$GWD" --foreground -c "$DIR/gw-main.yaml"
		wait_http -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8084/ ||
			{ say "  gwd with auth does not answer"; continue; }
		code=$(inns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8084/)
		say "  without a token: HTTP $code (expected 401)"
		off=$(bench http://127.0.0.1:8083/)
		on=$(bench http://127.0.0.1:8084/ -H "Authorization: Bearer $TOKEN")
		row "gwd auth off" "$off"
		row "gwd auth on (RS256)" "$on"
		ratio "auth on / off req/s" "${on%% *}" "${off%% *}"
		rm -rf "$PIN-jwt"
		;;
	*) echo "bench/l7: unknown case $c" >&2; exit 2 ;;
	esac
done
