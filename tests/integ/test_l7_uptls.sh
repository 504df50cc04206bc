#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# TLS from gwd to its upstreams (upstreams[].tls), against a python ssl
# origin, with certificates made here: a verified server (by name and by
# address), a wrong CA and a wrong name refused with 502 and the reason
# upstream_tls counted, mTLS to an origin that requires a client
# certificate (with it: served; without: refused), TLS sessions resumed on
# new upstream connections, health checks over the same TLS; `gwd --check`
# naming a missing CA file and a key that is no PEM.
# vm: skip (user space only: OpenSSL in gwd)
. "$(dirname "$0")/lib.sh"
it_init uptls
it_gwd_setup 1 openssl curl
D=$IT_TMP
BE=198.18.11.2

# Two CAs; the origin's certificate (origin.test and the backend's address)
# and gwd's client certificate, both by the first.
mkca() {	# mkca NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=$1" -keyout "$D/$1.key" -out "$D/$1.crt" >/dev/null 2>&1 ||
		it_skip "openssl cannot make a CA"
}
leaf() {	# leaf NAME CN SAN SERIAL
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
		-keyout "$D/$1.key" -out "$D/$1.csr" >/dev/null 2>&1 &&
	printf 'subjectAltName=%s\n' "$3" >"$D/$1.ext" &&
	openssl x509 -req -in "$D/$1.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -set_serial "$4" \
		-days 1 -extfile "$D/$1.ext" -out "$D/$1.crt" >/dev/null 2>&1 ||
		it_fail "cannot make the $1 certificate"
}
mkca ca
mkca otherca
leaf origin origin.test "DNS:origin.test,IP:$BE" 201
leaf gwclient gw-client "DNS:gw-client" 202

it_bg "${IT_BE[0]}" "$D/o1.out" "$PY" "$IT_ROOT/tests/integ/tls_origin.py" o1 0.0.0.0 8443 \
	"$D/origin.crt" "$D/origin.key" "$D/o1.log" 60
it_bg "${IT_BE[0]}" "$D/o2.out" "$PY" "$IT_ROOT/tests/integ/tls_origin.py" o2 0.0.0.0 8444 \
	"$D/origin.crt" "$D/origin.key" "$D/o2.log" 60 "$D/ca.crt"
it_bg "${IT_BE[0]}" "$D/s3.out" timeout 60 openssl s_server -accept 8445 -www -cert "$D/origin.crt" \
	-key "$D/origin.key" -naccept 20

up() {	# up NAME PORT TLS-FLOW [MORE]
	printf '  - name: %s\n    servers: ["%s:%s"]\n    tls: %s\n%s' "$1" "$BE" "$2" "$3" "${4:-}"
}
{
	it_gw_head "$SOCK"
	printf '  metrics: %s:9100\n' "$GW"
	cat <<YAML
listeners:
  - { name: http, address: "$GW:80" }
upstreams:
YAML
	up good 8443 "{ ca: $D/ca.crt, sni: origin.test }" \
		$'    health: { path: /healthz, interval: 300ms, timeout: 250ms }\n'
	up byaddr 8443 "{ ca: $D/ca.crt }"
	up wrongca 8443 "{ ca: $D/otherca.crt, sni: origin.test }"
	up wrongname 8443 "{ ca: $D/ca.crt, sni: evil.test }"
	up vname 8443 "{ ca: $D/ca.crt, sni: evil.test, verify_name: origin.test }"
	up system 8443 "{ sni: origin.test }"
	up noverify 8443 "{ ca: $D/otherca.crt, sni: evil.test, verify: false }"
	up hcbad 8443 "{ ca: $D/otherca.crt, sni: origin.test }" \
		$'    health: { path: /healthz, interval: 300ms, timeout: 250ms }\n'
	up mtls 8444 "{ ca: $D/ca.crt, sni: origin.test, cert: $D/gwclient.crt, key: $D/gwclient.key }"
	up nocert 8444 "{ ca: $D/ca.crt, sni: origin.test }"
	up sserver 8445 "{ ca: $D/ca.crt, sni: origin.test }"
	echo "routes:"
	for r in sserver good byaddr wrongca wrongname vname system noverify hcbad mtls nocert; do
		printf '  - { match: { path_prefix: /%s/ }, upstream: %s }\n' "$r" "$r"
	done
} >"$CFG"
"$BUILD/bin/gwd" --check -c "$CFG" >"$D/check.out" 2>&1 || { cat "$D/check.out"; it_fail "--check refused a good config"; }
for i in $(seq 50); do
	nsx "${IT_BE[0]}" ss -ltn | grep -q ':8444 ' && break
	sleep 0.1
done
it_gwd_start "$CFG" "$LOG" "$SOCK"

# openssl s_server -www says on its page whether the session was resumed;
# it closes after each page, so each request is a new upstream connection
pages=""
for i in 1 2 3; do
	pages+=$(cl curl -s -m 10 "http://$GW/sserver/" | grep -E '^(New|Reused),')$'\n'
done
[ "$(grep -c '^Reused, TLSv1.3' <<<"$pages")" -ge 2 ] ||
	it_fail "s_server: sessions not resumed: $pages"
m=$(cl curl -s -m 5 "http://$GW:9100/metrics")
grep -q '^gw_upstream_tls_handshakes_total{upstream="sserver",kind="full"} 1$' <<<"$m" &&
	grep -q '^gw_upstream_tls_handshakes_total{upstream="sserver",kind="resumed"} 2$' <<<"$m" ||
	it_fail "handshake counts: $(grep gw_upstream_tls_handshakes_total <<<"$m")"
it_log "s_server: the second and third connections resumed (and counted so)"
# --- verified, refused -------------------------------------------------------------------
body=$(cl curl -s -m 10 "http://$GW/good/a")
grep -q '^o1 GET /good/a$' <<<"$body" || it_fail "good: no answer over TLS: $body"
grep -qi '^host: ' <<<"$body" || it_fail "good: no Host upstream"
body=$(cl curl -s -m 10 "http://$GW/byaddr/a")
grep -q '^o1 GET /byaddr/a$' <<<"$body" || it_fail "verified by address: $body"
[ "$(code /wrongca/a)" = 502 ] || it_fail "a server of another CA was not refused"
[ "$(code /wrongname/a)" = 502 ] || it_fail "a server without the name was not refused"
[ "$(code /system/a)" = 502 ] || it_fail "the system store trusted the test CA"
grep -q 'GET /wrongca/\|GET /wrongname/\|GET /system/' "$D/o1.log" &&
	it_fail "a refused server got the request"
body=$(cl curl -s -m 10 "http://$GW/vname/a")
grep -q '^o1 GET /vname/a$' <<<"$body" || it_fail "verify_name: not verified by it: $body"
body=$(cl curl -s -m 10 "http://$GW/noverify/a")
grep -q '^o1 GET /noverify/a$' <<<"$body" || it_fail "verify: false: not served: $body"
m=$(cl curl -s -m 5 "http://$GW:9100/metrics")
n=$(grep '^gw_http_gateway_answers_total{.*reason="upstream_tls"' <<<"$m" | grep -c 'code="502"')
[ "$n" -ge 3 ] || it_fail "upstream_tls not counted per route: $(grep upstream_tls <<<"$m")"
it_log "verified by CA and name, by address, by verify_name; wrong CA, wrong name, system store: 502 upstream_tls"

# --- mTLS to the upstream ---------------------------------------------------------------
body=$(cl curl -s -m 10 "http://$GW/mtls/a")
grep -q '^o2 GET /mtls/a$' <<<"$body" || it_fail "mtls: not served with a client certificate: $body"
grep -q 'GET /mtls/a reused=. client=gw-client' "$D/o2.log" || it_fail "mtls: origin saw no client cert"
[ "$(code /nocert/a)" = 502 ] || it_fail "mtls: served without a client certificate"
# TLS 1.3: the origin's refusal comes as an alert after gwd's side of the
# handshake ended, on the first read; still counted as upstream_tls
cl curl -s -m 5 "http://$GW:9100/metrics" |
	grep -q '^gw_http_gateway_answers_total{route="\*/nocert/\*",code="502",reason="upstream_tls"} 1$' ||
	it_fail "mtls: the refusal is not counted as upstream_tls: $(cl curl -s -m 5 "http://$GW:9100/metrics" | grep "nocert.*502"; tail -5 "$D/o2.log")"
it_log "mTLS: served with gwd's client certificate, 502 without"

# --- session reuse ---------------------------------------------------------------------
# each /close answer closes the upstream connection: four connections,
# the first of them may be full, the others resume the cached session
for i in 1 2 3 4; do
	body=$(cl curl -s -m 10 "http://$GW/good/close$i")
	grep -q "^o1 GET /good/close$i\$" <<<"$body" || it_fail "reuse: request $i: $body"
done
reused=$(grep -c 'GET /good/close. reused=1' "$D/o1.log")
[ "$reused" -ge 3 ] || { grep DBG "$LOG" | tail -20; it_fail "sessions not resumed: $(grep /good/close "$D/o1.log")"; }
it_log "sessions resumed on new upstream connections ($reused of 4)"

# --- health checks over TLS ---------------------------------------------------------------
for i in $(seq 30); do
	grep -q 'GET /healthz reused=' "$D/o1.log" && break
	sleep 0.1
done
grep -q 'GET /healthz reused=' "$D/o1.log" || it_fail "no health check over TLS reached the origin"
health() {	# health UPSTREAM: the health state of its server
	"$GWCTL" -s "$SOCK" --json upstream list | "$PY" -c '
import json, sys
u = {u["name"]: u for u in json.load(sys.stdin)}
print(u[sys.argv[1]]["servers"][0].get("health"))' "$1"
}
[ "$(health good)" = up ] || it_fail "good: health $(health good), not up"
[ "$(health hcbad)" = down ] || it_fail "a server failing the TLS check: health $(health hcbad)"
it_log "health checks over TLS: up when it verifies, down when it does not"

# --- reload and live server changes keep TLS ------------------------------------------------
cp "$CFG" "$D/orig.yaml"
sed -i "s|ca: $D/otherca.crt, sni: origin.test }|ca: $D/ca.crt, sni: origin.test }|" "$CFG"
kill -HUP "$IT_GWD_PID"
for i in $(seq 50); do
	[ "$(code /wrongca/b)" = 200 ] && break
	sleep 0.1
done
[ "$(code /wrongca/b)" = 200 ] || it_fail "reload: the corrected CA did not take"
"$GWCTL" -s "$SOCK" upstream server add good "$BE:8444" >/dev/null 2>&1 ||
	it_fail "gwctl upstream server add"
"$GWCTL" -s "$SOCK" upstream server drain good "$BE:8443" >/dev/null 2>&1 ||
	it_fail "gwctl upstream server drain"
# the new server wants a client certificate that upstream good has none
# of: a 502 upstream_tls proves the live change kept the TLS context
[ "$(code /good/live)" = 502 ] || it_fail "a server added live: not talked to over TLS"
cl curl -s -m 5 "http://$GW:9100/metrics" |
	grep -q '^gw_http_gateway_answers_total{route="\*/good/\*",code="502",reason="upstream_tls"} 1$' ||
	it_fail "the live server's 502 is not upstream_tls: $(cl curl -s -m 5 "http://$GW:9100/metrics" | grep "good.*502")"
it_log "reload applies a new CA; a server added live is talked to over TLS"

# --- --check ------------------------------------------------------------------------------
sed "s|$D/otherca.crt|$D/missing.crt|" "$D/orig.yaml" >"$D/bad1.yaml"
"$BUILD/bin/gwd" --check -c "$D/bad1.yaml" >"$D/bad1.out" 2>&1 && it_fail "--check took a missing CA"
grep -q "missing.crt: No such file" "$D/bad1.out" || it_fail "--check: $(cat "$D/bad1.out")"
echo garbage >"$D/garbage.key"
sed "s|$D/gwclient.key|$D/garbage.key|" "$D/orig.yaml" >"$D/bad2.yaml"
"$BUILD/bin/gwd" --check -c "$D/bad2.yaml" >"$D/bad2.out" 2>&1 && it_fail "--check took a bad key"
grep -q "garbage.key: no PEM private key" "$D/bad2.out" || it_fail "--check: $(cat "$D/bad2.out")"
it_log "--check: a missing CA file and a key that is no PEM"
echo "PASS"
