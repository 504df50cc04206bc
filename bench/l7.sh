#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# L7 benchmark: wrk against gwd, HAProxy and nginx proxying to the same
# origin, in one run, on the loopback of a private network namespace.
#
#   bench/l7.sh [--duration S] [--connections N] [--only CASES] [--runs N]
#               [--keys 'ec rsa'] [--perf] [--ab GWD_B]
#
# Cases (each prints requests/s, p99 and CPU time per request for every
# proxy and gw's ratios to HAProxy and nginx):
#   plain      keep-alive HTTP/1.1
#   tls        keep-alive over TLS 1.3
#   tls-new    a new TLS connection per request (Connection: close); wrk
#              keeps its last session, so these resume (PSK + ECDHE)
#   tls-full   the same with every connection a full handshake (wrk under
#              wrk_tls_shim.so with GW_SHIM_FULL=1: the session is dropped
#              before each reconnect)
#   jwt        gwd plain keep-alive with RS256 JWT auth on, against gwd
#              with auth off (the cost of auth)
#   up-tls     plain keep-alive from the client, TLS 1.3 to the origin
#              (verified against its certificate, SNI, sessions reused;
#              the upstream connections are kept alive as in the others)
#   comp-uptls up-tls with gzip response compression on: the origin sends
#              a 16 KiB JSON body, the client sends Accept-Encoding: gzip,
#              each proxy compresses at level 1 (HAProxy's default
#              tune.comp.maxlevel; gwd `compression: { level: 1 }`, nginx
#              gzip_comp_level 1); checked once with curl first. Debian's
#              HAProxy compresses with libslz (stateless, no levels): its
#              output is ~40% larger than zlib level 1's, and cheaper
# Every proxy gets the same number of workers (2: this machine's cores),
# the same certificate, upstream keep-alive, and no access logging. The
# origin is nginx serving a fixed 2-byte body. Absolute numbers drift; the
# ratios are the result: each case runs --runs times (haproxy, nginx, gwd
# back to back each time) and ends with the median ratio and its spread.
# TLS cases run once per server key type in --keys (ec: P-256, rsa: 2048
# bits; default ec) and print what wrk negotiated with each server
# (connections, resumed, session tickets, protocol, cipher). --perf also
# records gwd and HAProxy under tls-full and comp-uptls with perf
# (build/bench/perf-*.txt).
# Each run's ratios also go to build/bench/l7.tsv (case, key, run,
# gwd/haproxy req/s, gwd/nginx req/s, gwd/haproxy p99, gwd/nginx p99),
# which bench/plot.sh draws.
# --ab GWD_B also runs a second gwd binary (another build, for an A/B of a
# change) beside gwd in the plain and TLS cases and prints gwd / gwd-b.
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
ONLY="plain tls tls-new tls-full jwt up-tls comp-uptls"
RUNS=1
KEYS=ec
PERF=0
GWD_B=

while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--connections) CONNS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--keys) KEYS=$2; shift 2 ;;
	--perf) PERF=1; shift ;;
	--ab) GWD_B=$(realpath "$2"); shift 2 ;;
	*) echo "usage: bench/l7.sh [--duration S] [--connections N] [--only 'CASES']" \
		"[--runs N] [--keys 'ec rsa'] [--perf] [--ab GWD_B]" >&2
	   exit 2 ;;
	esac
done

case $RUNS in ''|*[!0-9]*|0) echo "bench/l7: --runs wants a count" >&2; exit 2 ;; esac
for k in $KEYS; do
	case $k in ec|rsa) ;; *) echo "bench/l7: --keys: ec or rsa, not $k" >&2; exit 2 ;; esac
done
for t in wrk haproxy nginx openssl python3 curl cc; do
	command -v "$t" >/dev/null || { echo "bench/l7: $t missing (make bench-deps)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/l7: needs root (a network namespace)" >&2; exit 1; }
[ -x "$GWD" ] || { echo "bench/l7: $GWD missing: make all" >&2; exit 1; }
[ -z "$GWD_B" ] || [ -x "$GWD_B" ] || { echo "bench/l7: --ab: $GWD_B missing" >&2; exit 1; }
[ "$PERF" = 0 ] || command -v perf >/dev/null || { echo "bench/l7: --perf: perf missing" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

NS=gwb-l7-$$
DIR=$(mktemp -d /tmp/gw-bench-l7.XXXXXX)
PIN=/sys/fs/bpf/gwb-l7-$$
declare -A PID_OF	# name -> pid of what start() runs
mkdir -p "$ROOT/$BUILD/bench"
OUT=$ROOT/$BUILD/bench/l7.txt
: >"$OUT"
TSV=$ROOT/$BUILD/bench/l7.tsv
printf '# case\tkey\trun\tgwd/haproxy req/s\tgwd/nginx req/s\tgwd/haproxy p99\tgwd/nginx p99\n' \
	>"$TSV"

. bench/l7lib.sh	# (the working directory is the repo root)
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ip netns add "$NS"
inns ip link set lo up

# --- certificates (one per key type), the client shim and a JWT ----------------
for k in $KEYS; do mkcert "$k"; done
cc -O2 -shared -fPIC "$ROOT/bench/wrk_tls_shim.c" -o "$DIR/wrk_tls_shim.so" -ldl -lssl -lcrypto ||
	{ echo "bench/l7: cannot build bench/wrk_tls_shim.c (libssl-dev?)" >&2; exit 1; }
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

# Addresses on the namespace's loopback: origin :8080, haproxy :8081/8443,
# nginx :8082/8444, gwd :8083/8445 (+ :8084 with JWT auth, :8085/8447 the
# --ab binary).
ORIGIN=127.0.0.1:8080
. bench/origin.sh	# (the working directory is the repo root)

# --- the origin ---------------------------------------------------------------
mkdir -p "$DIR/www/comp"	# a 16 KiB compressible JSON body (comp-uptls),
chmod o+x "$DIR"		# readable by the origin's worker (nobody)
python3 -c 'import json, sys
recs = [{"id": i, "name": "user-%d" % i, "active": i % 3 != 0, "roles": ["read", "write"],
         "email": "user-%d@example.com" % i} for i in range(400)]
s = json.dumps(recs)[:16384 - 2]
sys.stdout.write(s[:s.rindex("}") + 1] + "]")' >"$DIR/www/comp/body.json"
ORIGIN_TLS=127.0.0.1:8090
KEY0=${KEYS%% *}
origin_conf "$DIR/origin.conf" "$DIR" "$ORIGIN" "$ORIGIN_TLS" "$DIR/$KEY0.cert.pem" \
	"$DIR/$KEY0.key.pem"
start origin nginx -c "$DIR/origin.conf" -g "daemon off;"
wait_http "http://$ORIGIN/" || { echo "bench/l7: origin did not start" >&2; exit 1; }

# --- the peers, on the certificate of one key type ------------------------------
peers_start() {	# key type
	cat >"$DIR/haproxy.cfg" <<EOF
global
	nbthread $WORKERS
	maxconn 8000
	tune.ssl.default-dh-param 2048
	ssl-default-bind-options ssl-min-ver TLSv1.2
	stats socket $DIR/haproxy.sock
defaults
	mode http
	timeout connect 1s
	timeout client 60s
	timeout server 15s
	option http-keep-alive
	http-reuse always
frontend plain
	bind 127.0.0.1:8081
	use_backend origin_tls if { path_beg /up-tls/ }
	use_backend origin_comp if { path_beg /comp/ }
	default_backend origin
frontend tls
	bind 127.0.0.1:8443 ssl crt $DIR/$1.haproxy.pem alpn http/1.1
	default_backend origin
backend origin
	server o1 $ORIGIN
backend origin_tls
	server o1 $ORIGIN_TLS ssl verify required ca-file $DIR/$KEY0.cert.pem sni str(bench.gw.test)
backend origin_comp
	compression algo gzip
	compression type application/json
	server o1 $ORIGIN_TLS ssl verify required ca-file $DIR/$KEY0.cert.pem sni str(bench.gw.test)
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
	upstream origin_tls { server $ORIGIN_TLS; keepalive 128; }
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_certificate $DIR/$1.cert.pem;
	ssl_certificate_key $DIR/$1.key.pem;
	server {
		listen 127.0.0.1:8082 reuseport;
		listen 127.0.0.1:8444 ssl reuseport;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
		location /up-tls/ {
			proxy_pass https://origin_tls;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_ssl_server_name on;
			proxy_ssl_name bench.gw.test;
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate $DIR/$KEY0.cert.pem;
			proxy_ssl_session_reuse on;
		}
		location /comp/ {
			proxy_pass https://origin_tls;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_ssl_server_name on;
			proxy_ssl_name bench.gw.test;
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate $DIR/$KEY0.cert.pem;
			proxy_ssl_session_reuse on;
			gzip on;
			gzip_types application/json;
			gzip_comp_level 1;
			gzip_proxied any;
		}
	}
}
EOF
	start haproxy haproxy -f "$DIR/haproxy.cfg" -db
	start nginx nginx -c "$DIR/nginx.conf" -g "daemon off;"
	wait_http http://127.0.0.1:8081/ || { echo "bench/l7: haproxy did not start" >&2; exit 1; }
	wait_http http://127.0.0.1:8082/ || { echo "bench/l7: nginx did not start" >&2; exit 1; }
}

gw_config() {	# file, auth (none | main), plain port, tls port, key type
	cat >"$1" <<EOF
version: 1
gateway:
  pin_root: $PIN-$(basename "$1" .yaml)-$5
  admin_socket: $DIR/$(basename "$1" .yaml).sock
tls:
  certificates:
    - { cert: $DIR/$5.cert.pem, key: $DIR/$5.key.pem, sni: [bench.gw.test] }
  min_version: "1.2"
listeners:
  - { name: plain, address: "127.0.0.1:$3" }
  - { name: tls, address: "127.0.0.1:$4", tls: true }
upstreams:
  - name: origin
    servers: [ "$ORIGIN" ]
  - name: origin_tls
    servers: [ "$ORIGIN_TLS" ]
    tls: { ca: $DIR/$KEY0.cert.pem, sni: bench.gw.test }
auth:
  jwt:
    - name: main
      jwks: $DIR/jwks.json
      issuer: https://id.bench.test/
      audiences: [api]
      algorithms: [RS256]
routes:
  - match: { path_prefix: /up-tls/ }
    upstream: origin_tls
  - match: { path_prefix: /comp/ }
    upstream: origin_tls
    compression: { types: [application/json], level: 1, brotli: false }
  - match: { path_prefix: / }
    upstream: origin
    auth: $2
EOF
}

# gw_start NAME AUTH PLAIN_PORT TLS_PORT KEY [CURL_ARGS...]: one gwd (its own
# pins; the binary $GW_BIN, default $GWD) checked with --check and started;
# returns 0 once its plain listener answers (curl with CURL_ARGS), else 1
# with the end of its log shown.
gw_start() {
	local name=$1 cfg=$DIR/$1.yaml bin=${GW_BIN:-$GWD}
	gw_config "$cfg" "${@:2:4}"
	if ! inns "$bin" --check -c "$cfg" >"$DIR/$name.check" 2>&1; then
		cat "$DIR/$name.check" >&2
		exit 1
	fi
	start "$name" "$bin" --foreground -c "$cfg"
	wait_http "${@:6}" "http://127.0.0.1:$3/" && return 0
	say "  $name does not answer HTTP on 127.0.0.1:$3"
	tail -5 "$DIR/$name.log" | sed "s/^/  $name: /"
	return 1
}

# cpu_ticks PID: the CPU time (user + system, in clock ticks) PID and
# its descendants have used so far (a process's stat sums its threads).
cpu_ticks() {
	local p t
	t=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
	for p in $(pgrep -P "$1" || true); do t=$((t + $(cpu_ticks "$p"))); done
	echo "$t"
}

# bench URL [WRK_ARGS...]: one wrk run (under the TLS shim when SHIM is
# 0 or 1: its GW_SHIM_FULL); prints "REQS P99_MS ERRORS CPU_US" (CPU_US:
# the CPU time per request of the server CPU_PID names, when set, else
# nan) and leaves the shim's summary in $DIR/tls.txt.
SHIM=
CPU_PID=
bench() {
	local url=$1 out pre=() t0=0 t1=0
	shift
	[ -z "$SHIM" ] || pre=(env "LD_PRELOAD=$DIR/wrk_tls_shim.so" "GW_SHIM_FULL=$SHIM")
	[ -z "$CPU_PID" ] || t0=$(cpu_ticks "$CPU_PID")
	out=$(inns "${pre[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" \
		"$url" 2>&1) || true
	[ -z "$CPU_PID" ] || t1=$(cpu_ticks "$CPU_PID")
	python3 - "$out" "$DIR/tls.txt" "${CPU_PID:+$((t1 - t0))}" "$(getconf CLK_TCK)" <<'EOF'
import re, sys
t = sys.argv[1]
r = re.search(r"Requests/sec:\s+([\d.]+)", t)
p = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", t, re.M)
errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errs += int(non2xx.group(1)) if non2xx else 0
scale = {"us": 0.001, "ms": 1, "s": 1000}
n = re.search(r"(\d+) requests in", t)
cpu = "nan"
if sys.argv[3] and n and int(n.group(1)):
    cpu = "%.1f" % (int(sys.argv[3]) * 1e6 / int(sys.argv[4]) / int(n.group(1)))
print(r.group(1) if r else "0",
      "%.2f" % (float(p.group(1)) * scale[p.group(2)]) if p else "nan", errs, cpu)
m = re.search(r"wrk-tls: conns (\d+) resumed (\d+) tickets (\d+) proto (\S+) cipher (\S+) "
              r"other (\d+)", t)
with open(sys.argv[2], "w") as f:
    if m:
        c, res, tk, other = (int(m.group(i)) for i in (1, 2, 3, 6))
        f.write("%d conns, %.0f%% resumed, %.2f tickets/conn, %s %s%s\n" % (
            c, 100.0 * res / c if c else 0, tk / c if c else 0, m.group(4), m.group(5),
            ", %d others" % other if other else ""))
EOF
}

row() {	# label, "REQS P99 ERR CPU"
	local reqs p99 errs cpu
	read -r reqs p99 errs cpu <<<"$2"
	say "$(printf '  %-26s %10.0f req/s   p99 %7s ms   errors %s%s' "$1" "$reqs" "$p99" \
		"$errs" "${cpu:+   cpu $cpu us/req}")"
}

# tids_of PID: the thread ids of PID and its descendants (nsenter may
# stand between start() and the server), comma-separated.
tids_of() {
	local p
	ls "/proc/$1/task"
	for p in $(pgrep -P "$1" || true); do tids_of "$p"; done
}

# profile NAME PID URL [WRK_ARGS...]: a system-wide perf record through
# one wrk run, reported for the threads of PID and its children only (perf
# -p recorded no samples of these processes here); the flat profile (by
# library and symbol, shares of that server's samples) goes to
# build/bench/perf-CASE-NAME-KEY.txt, a summary by library to the output.
profile() {
	local name=$1 pid=$2 f=$ROOT/$BUILD/bench/perf-$c-$1-$KEY rec tids
	shift 2
	tids=$(tids_of "$pid" | paste -sd,)
	perf record -q -a -e cpu-clock -F 999 -g -o "$f.data" -- sleep "$DURATION" \
		>/dev/null 2>&1 &
	rec=$!
	bench "$@" >/dev/null
	wait "$rec" || true
	perf report -i "$f.data" --tid "$tids" --percentage relative --stdio --no-children \
		--sort dso,sym --percent-limit 0.3 -g none >"$f.txt" 2>/dev/null || true
	say "  full profile: $f.txt"
	perf report -i "$f.data" --tid "$tids" --percentage relative --stdio --no-children \
		--sort dso,sym -g none 2>/dev/null | python3 -c '
import collections, re, sys
by = collections.Counter()
for l in sys.stdin:
    m = re.match(r"\s+([\d.]+)%\s+(\S+)", l)
    if m:
        by[m.group(2)] += float(m.group(1))
print("  %s: %s" % (sys.argv[1], ", ".join("%s %.0f%%" % (d, p) for d, p in by.most_common(6))))
' "$name" | tee -a "$OUT"
}

# comp_check URL...: one request to each with Accept-Encoding: gzip; says
# what came back (status, Content-Encoding, bytes on the wire, bytes once
# decoded); returns 0 when each answered 200 gzip, else 1.
comp_check() {
	local u got ok=0
	for u; do
		got=$(inns curl -s -o /dev/null -H 'Accept-Encoding: gzip' \
			-w '%{http_code} %header{content-encoding} %{size_download}' "$u")
		say "  $u: $got bytes, $(inns curl -s --compressed "$u" | wc -c) decoded"
		case $got in "200 gzip "*) ;; *) ok=1 ;; esac
	done
	return $ok
}

# tls_case CASE: one TLS case, RUNS times, on the current key's servers.
tls_case() {
	local c=$1 r h n g b rs=() ps=() bs=() cs=() bc=() args=() ph pn pg pb tsv
	if [ "$c" = plain ] || [ "$c" = up-tls ] || [ "$c" = comp-uptls ]; then
		ph=http://127.0.0.1:8081/ pn=http://127.0.0.1:8082/ pg=http://127.0.0.1:8083/
		pb=http://127.0.0.1:8085/
		if [ "$c" = up-tls ]; then
			ph+=up-tls/ pn+=up-tls/ pg+=up-tls/ pb+=up-tls/
		elif [ "$c" = comp-uptls ]; then
			ph+=comp/body.json pn+=comp/body.json pg+=comp/body.json
			pb+=comp/body.json
		fi
	else
		ph=https://127.0.0.1:8443/ pn=https://127.0.0.1:8444/ pg=https://127.0.0.1:8445/
		pb=https://127.0.0.1:8447/
	fi
	SHIM=
	case $c in
	tls-new) args=(-H "Connection: close"); SHIM=0 ;;
	tls-full) args=(-H "Connection: close"); SHIM=1 ;;
	comp-uptls) args=(-H "Accept-Encoding: gzip") ;;
	esac
	say "case $c${KEYTAG}"
	if [ "$c" = comp-uptls ] && ! comp_check "$ph" "$pn" "$pg"; then
		say "  skipped: a proxy did not answer 200 with gzip"
		return 0
	fi
	for r in $(seq "$RUNS"); do
		[ "$RUNS" = 1 ] || say " run $r"
		CPU_PID=${PID_OF[haproxy]}
		h=$(bench "$ph" "${args[@]}")
		[ -z "$SHIM" ] || [ "$r" != 1 ] || say "  haproxy handshakes: $(cat "$DIR/tls.txt")"
		CPU_PID=${PID_OF[nginx]}
		n=$(bench "$pn" "${args[@]}")
		row haproxy "$h"
		row nginx "$n"
		[ "$GW_OK" = 1 ] || continue
		CPU_PID=${PID_OF[gwd]}
		g=$(bench "$pg" "${args[@]}")
		[ -z "$SHIM" ] || [ "$r" != 1 ] || say "  gwd handshakes:     $(cat "$DIR/tls.txt")"
		row gwd "$g"
		ratio "gwd / haproxy req/s" "${g%% *}" "${h%% *}"
		rs+=("$RATIO")
		tsv="$c\t$KEY\t$r\t$RATIO"
		ratio "gwd / nginx req/s" "${g%% *}" "${n%% *}"
		tsv+="\t$RATIO"
		ratio "gwd / haproxy p99" "$(cut -d' ' -f2 <<<"$g")" "$(cut -d' ' -f2 <<<"$h")"
		ps+=("$RATIO")
		tsv+="\t$RATIO"
		ratio "gwd / nginx p99" "$(cut -d' ' -f2 <<<"$g")" "$(cut -d' ' -f2 <<<"$n")"
		printf '%b\t%s\n' "$tsv" "$RATIO" >>"$TSV"
		ratio "gwd / haproxy cpu/req" "$(cut -d' ' -f4 <<<"$g")" "$(cut -d' ' -f4 <<<"$h")"
		cs+=("$RATIO")
		[ "$GWB_OK" = 1 ] || continue
		CPU_PID=${PID_OF[gwd-b]}
		b=$(bench "$pb" "${args[@]}")
		[ -z "$SHIM" ] || [ "$r" != 1 ] || say "  gwd-b handshakes:   $(cat "$DIR/tls.txt")"
		row gwd-b "$b"
		ratio "gwd / gwd-b req/s" "${g%% *}" "${b%% *}"
		bs+=("$RATIO")
		ratio "gwd / gwd-b cpu/req" "$(cut -d' ' -f4 <<<"$g")" "$(cut -d' ' -f4 <<<"$b")"
		bc+=("$RATIO")
	done
	CPU_PID=
	if [ "$RUNS" -gt 1 ] && [ "$GW_OK" = 1 ]; then
		spread "gwd / haproxy req/s" "${rs[@]}"
		spread "gwd / haproxy p99" "${ps[@]}"
		spread "gwd / haproxy cpu/req" "${cs[@]}"
		[ "$GWB_OK" = 0 ] || spread "gwd / gwd-b req/s" "${bs[@]}"
		[ "$GWB_OK" = 0 ] || spread "gwd / gwd-b cpu/req" "${bc[@]}"
	fi
	if [ "$PERF" = 1 ] && [[ $c = tls-full || $c = comp-uptls ]] && [ "$GW_OK" = 1 ]; then
		say " perf (cpu-clock, by library)"
		profile haproxy "${PID_OF[haproxy]}" "$ph" "${args[@]}"
		profile gwd "${PID_OF[gwd]}" "$pg" "${args[@]}"
	fi
}

jwt_case() {
	local r off on rs=()
	say "case jwt (RS256, one token: the verified-token cache is hit)"
	gw_start gwd-jwt main 8084 8446 "$KEY" -H "Authorization: Bearer $TOKEN" ||
		return 0
	say "  without a token: HTTP $(inns curl -s -o /dev/null -w '%{http_code}' \
		http://127.0.0.1:8084/) (expected 401)"
	SHIM=
	for r in $(seq "$RUNS"); do
		[ "$RUNS" = 1 ] || say " run $r"
		off=$(bench http://127.0.0.1:8083/)
		on=$(bench http://127.0.0.1:8084/ -H "Authorization: Bearer $TOKEN")
		row "gwd auth off" "$off"
		row "gwd auth on (RS256)" "$on"
		ratio "auth on / off req/s" "${on%% *}" "${off%% *}"
		rs+=("$RATIO")
	done
	[ "$RUNS" = 1 ] || spread "auth on / off req/s" "${rs[@]}"
	stop gwd-jwt
}

say "bench/l7: wrk -t$THREADS -c$CONNS -d${DURATION}s, $WORKERS workers each, origin nginx," \
	"$RUNS run(s), keys: $KEYS${GWD_B:+, gwd-b: $GWD_B}"
first=1
for KEY in $KEYS; do
	KEYTAG=
	[ "$KEYS" = ec ] || KEYTAG=" (key $KEY)"
	peers_start "$KEY"
	GW_OK=1 GWB_OK=0
	gw_start gwd none 8083 8445 "$KEY" || GW_OK=0
	if [ -n "$GWD_B" ] && GW_BIN=$GWD_B gw_start gwd-b none 8085 8447 "$KEY"; then
		GWB_OK=1
	fi
	for c in $ONLY; do
		case $c in
		plain|jwt|up-tls|comp-uptls) [ "$first" = 1 ] || continue ;;
		tls|tls-new|tls-full) ;;
		*) echo "bench/l7: unknown case $c" >&2; exit 2 ;;
		esac
		case $c in
		jwt) [ "$GW_OK" = 0 ] || jwt_case ;;
		*) tls_case "$c" ;;
		esac
	done
	stop gwd gwd-b haproxy nginx
	first=0
done
