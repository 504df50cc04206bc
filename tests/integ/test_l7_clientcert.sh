#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Client certificates on TLS listeners (listeners[].client_ca and
# client_cert), with curl and openssl s_client and certificates made here:
# required (a client without a certificate, or with one of another CA, fails
# the handshake; the CertificateRequest names the CA), optional (served
# without one, no subject forwarded), the verified subject forwarded in the
# route's client_cert_header (a client's own value of it dropped) and used
# as the consumer of a rate limit (each subject its own bucket), and a
# session of a listener without client certificates not resumed on one
# that requires them; `gwd --check` naming a client_ca that is no PEM.
# vm: skip (user space only: OpenSSL in gwd)
. "$(dirname "$0")/lib.sh"
it_init l7cc
it_gwd_setup 1 openssl curl
D=$IT_TMP
it_l7_backends 60

mkca() {	# mkca NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=$1" -keyout "$D/$1.key" -out "$D/$1.crt" >/dev/null 2>&1 ||
		it_skip "openssl cannot make a CA"
}
leaf() {	# leaf NAME SUBJECT SAN SERIAL CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
		-keyout "$D/$1.key" -out "$D/$1.csr" >/dev/null 2>&1 &&
	printf 'subjectAltName=%s\n' "$3" >"$D/$1.ext" &&
	openssl x509 -req -in "$D/$1.csr" -CA "$D/$5.crt" -CAkey "$D/$5.key" -set_serial "$4" \
		-days 1 -extfile "$D/$1.ext" -out "$D/$1.crt" >/dev/null 2>&1 ||
		it_fail "cannot make the $1 certificate"
}
mkca ca
mkca clients-ca
mkca rogue-ca
leaf api /CN=api.test DNS:api.test 301 ca
leaf alice "/O=gw-test/CN=alice" DNS:alice 302 clients-ca
leaf bob "/O=gw-test/CN=bob" DNS:bob 303 clients-ca
leaf mallory "/O=gw-test/CN=mallory" DNS:mallory 304 rogue-ca

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
tls:
  certificates:
    - { cert: $D/api.crt, key: $D/api.key, sni: [api.test] }
listeners:
  - { name: required, address: "$GW:443", tls: true, client_ca: $D/clients-ca.crt, client_cert: required }
  - { name: optional, address: "$GW:8443", tls: true, client_ca: $D/clients-ca.crt, client_cert: optional }
  - { name: plain, address: "$GW:9443", tls: true }
upstreams:
  - { name: web, servers: [198.18.11.2:8080] }
routes:
  - match: { path_prefix: /limited/ }
    upstream: web
    client_cert_header: X-Client-Subject
    rate_limit: { rate: 2/m, burst: 2, key: consumer }
  - match: { path_prefix: / }
    upstream: web
    client_cert_header: X-Client-Subject
YAML
"$BUILD/bin/gwd" --check -c "$CFG" >"$D/check.out" 2>&1 ||
	{ cat "$D/check.out"; it_fail "--check refused a good config"; }
it_gwd_start "$CFG" "$LOG" "$SOCK"

# cu PORT PATH [CURL ARGS]: https://api.test:PORT/PATH from cl1, body and
# then the status code on the last line ("000": no answer)
cu() {
	local port=$1 path=$2
	shift 2
	cl curl -s -m 10 --cacert "$D/ca.crt" --resolve "api.test:$port:$GW" -w '\n%{http_code}' \
		"$@" "https://api.test:$port$path"
}
as() { echo --cert "$D/$1.crt" --key "$D/$1.key"; }	# as NAME: curl's client cert args

# --- required ---------------------------------------------------------------------------
# shellcheck disable=SC2046
out=$(cu 443 /r $(as alice) -H 'X-Client-Subject: spoofed')
[ "$(tail -1 <<<"$out")" = 200 ] || it_fail "required: alice not served: $out"
grep -qix 'x-client-subject: CN=alice,O=gw-test' <<<"$out" || it_fail "required: no subject upstream: $out"
grep -qi 'spoofed' <<<"$out" && it_fail "required: the client's own X-Client-Subject went upstream"
[ "$(cu 443 /r | tail -1)" = 000 ] || it_fail "required: served without a certificate"
# shellcheck disable=SC2046
[ "$(cu 443 /r $(as mallory) | tail -1)" = 000 ] || it_fail "required: served a certificate of another CA"
grep -q 'GET /r$' "$IT_TMP/be1.log" && [ "$(grep -c 'GET /r$' "$IT_TMP/be1.log")" != 1 ] &&
	it_fail "required: a refused client reached the upstream"
names=$(cl timeout 10 openssl s_client -connect "$GW:443" -servername api.test </dev/null 2>&1)
grep -A2 'Acceptable client certificate CA names' <<<"$names" | grep -q 'CN *= *clients-ca' ||
	it_fail "required: the CertificateRequest does not name the CA: $names"
it_log "required: served with a certificate of the CA, handshake refused without or with another"

# --- optional ---------------------------------------------------------------------------
out=$(cu 8443 /o -H 'X-Client-Subject: spoofed')
[ "$(tail -1 <<<"$out")" = 200 ] || it_fail "optional: not served without a certificate: $out"
grep -qi 'x-client-subject' <<<"$out" && it_fail "optional: a subject upstream without a certificate"
# shellcheck disable=SC2046
out=$(cu 8443 /o $(as bob))
grep -qix 'x-client-subject: CN=bob,O=gw-test' <<<"$out" || it_fail "optional: no subject upstream: $out"
# shellcheck disable=SC2046
[ "$(cu 8443 /o $(as mallory) | tail -1)" = 000 ] || it_fail "optional: served a certificate of another CA"
it_log "optional: served without a certificate (no subject), subject forwarded with one"

# --- the subject as the rate limit's consumer ----------------------------------------------
codes=""
for who in alice alice alice bob; do
	# shellcheck disable=SC2046
	codes+="$(cu 443 /limited/x $(as $who) | tail -1) "
done
[ "$codes" = "200 200 429 200 " ] || it_fail "rate limit by subject: $codes (want 200 200 429 200)"
it_log "rate limit keyed by the certificate's subject: alice limited, bob not"

# --- sessions do not cross into a listener that wants certificates ---------------------------
rm -f "$D/sess"
printf 'GET /p HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n' |
	cl timeout 10 openssl s_client -connect "$GW:9443" -servername api.test -CAfile "$D/ca.crt" \
	-sess_out "$D/sess" -ign_eof >/dev/null 2>&1
[ -s "$D/sess" ] || it_fail "no session from the plain listener"
out=$(printf 'GET /p2 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n' |
	cl timeout 10 openssl s_client -connect "$GW:443" -servername api.test -CAfile "$D/ca.crt" \
	-sess_in "$D/sess" -ign_eof 2>&1)
grep -q '^Reused' <<<"$out" && it_fail "a plain listener's session resumed on the required one"
grep -q '^be1 GET /p2' <<<"$out" && it_fail "served without a certificate through a session"
it_log "a session of a plain listener is not resumed where certificates are required"

# --- --check -------------------------------------------------------------------------------
echo "not a certificate" >"$D/junk.crt"
sed "0,\|client_ca: $D/clients-ca.crt|s||client_ca: $D/junk.crt|" "$CFG" >"$D/bad.yaml"
"$BUILD/bin/gwd" --check -c "$D/bad.yaml" >"$D/bad.out" 2>&1 && it_fail "--check took a junk client_ca"
grep -q "junk.crt: no PEM certificate" "$D/bad.out" || it_fail "--check: $(cat "$D/bad.out")"
it_log "--check: a client_ca that is no PEM"
echo "PASS"
