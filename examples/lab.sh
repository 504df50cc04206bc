#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gw lab (`make run`): builds a small network out of namespaces and veths,
# runs gwd on the gateway with examples/lab.yaml, and shows it at work:
#
#   cl1 ---\                  /--- be1   each backend runs a TCP echo server
#           gw (gwd: XDP+L7) ---- be2   on :7000 ("beK <request>"), the HTTP
#   cl2 ---/                  \--- be3   backend l7_backend.py on :8080, and
#                                        gw-decap (XDP) for ipip
#
#   L4  198.18.100.1:80    tcp nat  -> be1..be3:7000 (weights 1, 1, 2)
#       198.18.100.2:7000  tcp ipip -> be1..be3 (DSR: backends answer directly)
#       [fd00:100::1]:80   tcp nat  -> be1..be3 over IPv6
#       deny 198.18.2.64/26 (cl2's 198.18.2.66), per-source rate limits
#   L7  http://198.18.1.1/ and https://lab.gw.test/ (self-signed) with
#       /healthz (answered by gwd), /api/ (proxied), /keyed/ (API key),
#       /limited/ (rate limited)
#   a second node gw-b (198.18.5.2, behind gw) with Redis beside it:
#       /shared rate-limited for both nodes, bans made on gw-b dropped in
#       gw's XDP (examples/lab-b.yaml)
#
# It shows requests and who answered, a denied client, a flood being
# limited, gwctl tables, live changes, a reload, the access log and
# metrics, then cleans everything up. It ends by itself in about ten seconds;
# with --hold it stays up until Ctrl-C so you can try the commands it
# prints. Every name carries a unique suffix; nothing touches the host's
# own interfaces.
#
# Usage: examples/lab.sh [--hold]   (root; run `make` first, or `make run`)
set -u
HOLD=0
case "${1:-}" in
--hold) HOLD=1 ;;
"") ;;
-h | --help)
	sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: $0 [--hold]" >&2
	exit 2
	;;
esac
if [ "$(id -u)" != 0 ]; then
	echo "lab: needs root (network namespaces, XDP)" >&2
	exit 1
fi

# The integration tests' helpers build the same kind of topology and
# remove it (namespaces, pins, processes) on exit.
. "$(dirname "$0")/../tests/integ/lib.sh"
# In the lab a missing piece is an error, not a "skip".
it_skip() {
	echo "lab: cannot run: $*" >&2
	exit 1
}

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
show() {	# show CMD...: prints the command, then runs it
	printf '\033[2m$ %s\033[0m\n' "$*"
	"$@"
}

it_init lab
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
trap 'echo; echo "lab: interrupted, cleaning up"; exit 130' INT TERM
for f in gwd gwctl; do
	[ -x "$BUILD/bin/$f" ] || it_skip "missing $BUILD/bin/$f (run make)"
done
command -v curl >/dev/null || it_skip "missing curl (make deps)"
life=150
[ "$HOLD" = 1 ] && life=86400
GWCTL=$BUILD/bin/gwctl
SOCK=$IT_TMP/gwd.sock
CFG=$IT_TMP/lab.yaml
LOG=$IT_TMP/gwd.log
GW=198.18.1.1
VIP_NAT=198.18.100.1 VIP_DSR=198.18.100.2 VIP6=fd00:100::1
gwctl() { "$GWCTL" -s "$SOCK" "$@"; }
# lcurl ARGS...: curl from cl1 (prints the command as a user would type it)
lcurl() {
	printf '\033[2m$ ip netns exec %s curl' "$IT_CL1"
	printf ' %q' "$@"
	printf '\033[0m\n'
	nsx "$IT_CL1" curl -sS -m 5 "$@"
}

bold "building the topology (suffix $IT_SUF)"
it_topology 3
# cl2's second address, inside the prefix the config denies
nsx "$IT_CL2" ip addr add 198.18.2.66/24 dev "c2-$IT_SUF"
echo "namespaces: ${IT_NETNS[*]}"

bold "backends: TCP echo on :7000, HTTP on :8080, gw-decap for ipip"
it_decap_backends
it_l7_backends "$life"
it_servers 7000 "$life"

bold "a self-signed certificate for lab.gw.test, an API key and a JWT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=lab.gw.test -addext subjectAltName=DNS:lab.gw.test \
	-keyout "$IT_TMP/lab.key" -out "$IT_TMP/lab.crt" >/dev/null 2>&1 ||
	it_skip "openssl cannot make a certificate"
APIKEY=lab-$(openssl rand -hex 12)
# the key file holds "consumer sha256(key)", never the key itself
printf 'lab-user %s\n' "$(printf '%s' "$APIKEY" | sha256sum | cut -d' ' -f1)" \
	>"$IT_TMP/api-keys.txt"
# An RS256 key for JWTs: its public half as the JWKS, one token signed
# with openssl (exponent 65537, the genpkey default).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$IT_TMP/jwt.key" \
	2>/dev/null || it_skip "openssl cannot make an RSA key"
TOKEN=$("$PY" - "$IT_TMP" <<'PYEOF'
import base64, json, subprocess, sys, time
d = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
mod = subprocess.run(["openssl", "rsa", "-in", d + "/jwt.key", "-noout", "-modulus"],
                     capture_output=True, text=True, check=True).stdout
n = bytes.fromhex(mod.strip().split("=", 1)[1])
json.dump({"keys": [{"kty": "RSA", "kid": "lab", "alg": "RS256", "use": "sig",
                     "n": b64(n), "e": "AQAB"}]}, open(d + "/jwks.json", "w"))
now = int(time.time())
hp = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "lab"}).encode()) + "." + \
    b64(json.dumps({"iss": "https://id.lab.gw.test/", "aud": "api", "sub": "alice",
                    "iat": now, "exp": now + 86400}).encode())
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", d + "/jwt.key"],
                     input=hp.encode(), capture_output=True, check=True).stdout
print(hp + "." + b64(sig))
PYEOF
) || it_skip "cannot make a JWT"
echo "$TOKEN" >"$IT_TMP/jwt.token"
say "certificate $IT_TMP/lab.crt, API key $APIKEY, JWT (sub alice) in $IT_TMP/jwt.token"

bold "starting gwd with examples/lab.yaml"
sed -e "s|@PIN@|$IT_PIN|g" -e "s|@SOCK@|$SOCK|g" -e "s|@TMP@|$IT_TMP|g" \
	-e "s|@IF_C1@|${IT_GW_IFS[0]}|" -e "s|@IF_C2@|${IT_GW_IFS[1]}|" \
	-e "s|@IF_B1@|${IT_GW_IFS[2]}|" -e "s|@IF_B2@|${IT_GW_IFS[3]}|" \
	-e "s|@IF_B3@|${IT_GW_IFS[4]}|" "$IT_ROOT/examples/lab.yaml" >"$CFG"
left=$(grep -v '^ *#' "$CFG" | grep -E '@[A-Z0-9_]+@')
[ -n "$left" ] && it_skip "unsubstituted placeholder in $CFG: $left"
say "nsenter --net=/run/netns/$IT_GW $BUILD/bin/gwd -c $CFG --foreground"
it_gwd_start "$CFG" "$LOG" "$SOCK"
# health checks need a round or two before every backend is up
for i in $(seq 50); do
	gwctl upstream list 2>/dev/null | grep -q ' up' && break
	sleep 0.1
done
sleep 1.5
show gwctl status

bold "L4: the nat service $VIP_NAT:80 -- which backend answered? (weights 1, 1, 2)"
for i in 1 2 3 4 5 6; do
	printf '   cl1 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL1" tcp "$VIP_NAT" 80 "nat-$i" || true)"
done
bold "L4: the ipip service $VIP_DSR:7000 (direct server return: replies bypass gw)"
for i in 1 2 3 4; do
	printf '   cl2 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL2" tcp "$VIP_DSR" 7000 "dsr-$i" || true)"
done
bold "L4: IPv6 through the nat service [$VIP6]:80"
for i in 1 2 3; do
	printf '   cl1 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL1" tcp "$VIP6" 80 "v6-$i" || true)"
done

bold "filter: cl2 from 198.18.2.66 is in the denied 198.18.2.64/26"
a=$(IT_SRC=198.18.2.66 it_request "$IT_CL2" tcp "$VIP_NAT" 80 denied 1)
say "from 198.18.2.66 -> ${a:-(no answer: dropped in XDP)}"
a=$(it_request "$IT_CL2" tcp "$VIP_NAT" 80 allowed)
say "from 198.18.2.2  -> ${a:-(no answer)}"

bold "rate limits: a flood from cl1 (UDP, at most 20000 packets in 2 s, limit 500/s)"
it_flood "$IT_CL1" "$VIP_NAT" 80 20000 2 >"$IT_TMP/flood" &
flood=$!
sleep 0.3
a=$(it_request "$IT_CL2" tcp "$VIP_NAT" 80 during-flood)
wait "$flood"
say "cl1 sent $(cat "$IT_TMP/flood") packets"
say "cl2 during the flood -> ${a:-(no answer)}"
show gwctl stats

bold "L7: gwd answers /healthz itself, proxies /api/ (prefix stripped, X-Gateway added)"
lcurl -i "http://$GW/healthz"
echo "   the backend echoes the request it got: path without /api, X-Gateway added"
lcurl "http://$GW/api/hello"
echo "   round robin with weights 1, 1, 2 (first line of each answer)"
for i in 1 2 3 4; do
	printf '   request %d -> %s\n' "$i" \
		"$(nsx "$IT_CL1" curl -sS -m 5 "http://$GW/api/rr-$i" | head -n 1)"
done
bold "L7 over TLS (self-signed certificate, SNI lab.gw.test)"
lcurl --cacert "$IT_TMP/lab.crt" --resolve "lab.gw.test:443:$GW" https://lab.gw.test/api/tls
bold "L7: /keyed/ needs the API key"
lcurl -o /dev/null -w 'status %{http_code}\n' "http://$GW/keyed/x"
lcurl -o /dev/null -w 'status %{http_code}\n' -H "X-API-Key: $APIKEY" "http://$GW/keyed/x"
bold "L7: /jwt/ needs a bearer token (RS256); gwd forwards its sub as X-User-Id"
lcurl -o /dev/null -w 'status %{http_code}\n' "http://$GW/jwt/me"
printf '\033[2m$ ip netns exec %s curl -H "Authorization: Bearer $TOKEN" http://%s/jwt/me\033[0m\n' \
	"$IT_CL1" "$GW"
nsx "$IT_CL1" curl -sS -m 5 -w 'status %{http_code}\n' -H "Authorization: Bearer $TOKEN" \
	"http://$GW/jwt/me" | grep -E '^(be[123] |X-User-Id|status )'
bold "L7: /limited/ allows a burst of 2 per client address, then 429"
for i in 1 2 3; do
	lcurl -o /dev/null -w 'status %{http_code}\n' "http://$GW/limited/x"
done
bold "L7: no route matches"
lcurl -o /dev/null -w 'status %{http_code}\n' "http://$GW/nowhere"

bold "gwctl: the running state"
show gwctl service list
show gwctl upstream list
show gwctl route list

bold "live change: deny cl1 (198.18.1.2/32) from the CLI, then remove it"
show gwctl filter deny add 198.18.1.2/32
a=$(it_request "$IT_CL1" tcp "$VIP_NAT" 80 after-deny 1)
say "cl1 -> ${a:-(no answer: dropped in XDP)}"
show gwctl filter deny del 198.18.1.2/32
bold "live change: drain be3 from the nat service (no new connections)"
show gwctl backend drain web4 198.18.13.2:7000
for i in 1 2 3 4; do
	printf '   cl1 request %d -> %s\n' "$i" \
		"$(it_request "$IT_CL1" tcp "$VIP_NAT" 80 "drained-$i" || true)"
done

bold "reload: gwd rereads $CFG (live changes give way to the file)"
show gwctl reload
sleep 1
show gwctl service list

bold "the access log (last lines of $IT_TMP/access.log)"
tail -n 5 "$IT_TMP/access.log"

bold "metrics (Prometheus text on $GW:9100)"
printf '\033[2m$ curl -s http://%s:9100/metrics | grep -E ...\033[0m\n' "$GW"
nsx "$IT_CL1" curl -sS -m 5 "http://$GW:9100/metrics" |
	grep -E '^gw_[a-z_]+(\{[^}]*\})? ' | grep -v ' 0$' | head -n 15

bold "cluster: a second node, gw-b, behind gw-a; both share bans and /shared through Redis"
command -v redis-server >/dev/null || it_skip "missing redis-server (make deps)"
GWB=gwit-$IT_SUF-gb
SOCKB=$IT_TMP/gwd-b.sock
it_netns_add "$GWB"
it_link "$IT_GW" "k1-$IT_SUF" "$GWB" "k2-$IT_SUF"
nsx "$IT_GW" ip addr add 198.18.5.1/24 dev "k1-$IT_SUF"
nsx "$GWB" ip addr add 198.18.5.2/24 dev "k2-$IT_SUF"
nsx "$GWB" ip route add default via 198.18.5.1
it_bg "$GWB" "$IT_TMP/redis.log" redis-server --bind 198.18.5.2 --port 6379 --save '' \
	--appendonly no --dir "$IT_TMP" --daemonize no --protected-mode no
sed -e "s|@PIN@|$IT_PIN/gwb-$IT_SUF|g" -e "s|@SOCK@|$SOCKB|g" -e "s|@TMP@|$IT_TMP|g" \
	-e "s|@IF_K@|k2-$IT_SUF|" "$IT_ROOT/examples/lab-b.yaml" >"$IT_TMP/lab-b.yaml"
say "nsenter --net=/run/netns/$GWB $BUILD/bin/gwd -c $IT_TMP/lab-b.yaml --foreground"
gw_a=$IT_GW
IT_GW=$GWB it_gwd_start "$IT_TMP/lab-b.yaml" "$IT_TMP/gwd-b.log" "$SOCKB"
IT_GW=$gw_a
gwctlb() { "$GWCTL" -s "$SOCKB" "$@"; }
for i in $(seq 50); do
	[ "$(gwctl --json cluster status 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))' 2>/dev/null)" = 2 ] && break
	sleep 0.1
done
show gwctl cluster status
echo "   /shared allows a burst of 3 for both nodes together"
for h in "$GW" 198.18.5.2 "$GW" 198.18.5.2; do
	lcurl -o /dev/null -w "status %{http_code} from $h\n" "http://$h/shared"
done
echo "   cl1 fails auth 6 times on gw-b: gw-b bans it, and gw-a's XDP drops it too"
for i in 1 2 3 4 5 6; do
	nsx "$IT_CL1" curl -s -o /dev/null -m 1 -H "X-API-Key: wrong" "http://198.18.5.2/keyed/x"
done
for i in $(seq 20); do
	gwctl filter list | grep -q '^198.18.1.2/32 .*gw-b' && break
	sleep 0.1
done
show gwctl filter list
a=$(it_request "$IT_CL1" tcp "$VIP_NAT" 80 banned 1)
say "cl1 -> gw-a's nat service: ${a:-(no answer: banned in gw-a's XDP by gw-b's ban)}"
say "the ban ends by itself in 15 s on both nodes"

cat <<EOF

== try it yourself
  enter:     ip netns exec $IT_CL1 bash      (clients: $IT_CL1 $IT_CL2,
             gateway: $IT_GW, backends: ${IT_BE[*]})
  L7:        ip netns exec $IT_CL1 curl -i http://$GW/api/hello
             ip netns exec $IT_CL1 curl -H 'X-API-Key: $APIKEY' http://$GW/keyed/x
             ip netns exec $IT_CL1 curl -H "Authorization: Bearer \$(cat $IT_TMP/jwt.token)" \\
                 http://$GW/jwt/me
             ip netns exec $IT_CL1 curl --cacert $IT_TMP/lab.crt \\
                 --resolve lab.gw.test:443:$GW https://lab.gw.test/api/x
  L4:        echo hello | ip netns exec $IT_CL1 nc -N $VIP_NAT 80
             echo hello | ip netns exec $IT_CL2 nc -N $VIP_DSR 7000
  cluster:   $GWCTL -s $SOCK cluster status     (gw-b: $GWCTL -s \$IT_TMP/gwd-b.sock ...)
  gwctl:     $GWCTL -s $SOCK status
             (also: stats, service list, upstream list, route list, filter list,
              filter deny add PREFIX, backend drain web4 198.18.13.2:7000, reload)
  config:    $CFG (edit, then gwctl reload)
  logs:      $LOG, $IT_TMP/access.log
  metrics:   ip netns exec $IT_CL1 curl -s http://$GW:9100/metrics
  status:    ip netns exec $IT_CL1 w3m http://$GW:9100/status (or curl; HTML)
EOF
if [ "$HOLD" = 1 ]; then
	echo
	echo "lab: holding; press Ctrl-C to tear everything down"
	while :; do sleep 1; done
else
	echo
	echo "lab: done (run with --hold to keep it up); cleaning up"
fi
