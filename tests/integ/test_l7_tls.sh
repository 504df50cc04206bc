#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gwd's TLS termination seen by openssl s_client and a python client: the
# certificate picked by SNI (exact name, wildcard, default without SNI or
# without a match), min_version (TLS 1.1 refused, 1.2 and 1.3 served),
# ALPN (http/1.1 chosen, h2 alone refused), session resumption by ticket in
# TLS 1.2 and 1.3 (a TLS 1.3 resumption renewing its ticket), and a
# certificate replaced on SIGHUP: the connection opened before the reload
# keeps working on the old certificate while new connections get the new
# one.
# vm: skip (TLS termination: OpenSSL in user space)
. "$(dirname "$0")/lib.sh"
it_init l7tls
it_gwd_setup 1 openssl
D=$IT_TMP
it_l7_backends 1200

# A CA and three leaves signed by it: api.test (the default: listed first),
# other.test and *.wild.test.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=gw-test-ca -keyout "$D/ca.key" -out "$D/ca.crt" >/dev/null 2>&1 ||
	it_skip "openssl cannot make a CA"
leaf() {	# leaf NAME CN SAN SERIAL
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
		-keyout "$D/$1.key" -out "$D/$1.csr" >/dev/null 2>&1 &&
	printf 'subjectAltName=%s\n' "$3" >"$D/$1.ext" &&
	openssl x509 -req -in "$D/$1.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -set_serial "$4" \
		-days 1 -extfile "$D/$1.ext" -out "$D/$1.crt" >/dev/null 2>&1 ||
		it_fail "cannot make the $1 certificate"
}
leaf api api.test DNS:api.test 101
leaf other other.test DNS:other.test 102
leaf wild '*.wild.test' 'DNS:*.wild.test' 103

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
tls:
  certificates:
    - { cert: $D/api.crt, key: $D/api.key, sni: [api.test] }
    - { cert: $D/other.crt, key: $D/other.key, sni: [other.test] }
    - { cert: $D/wild.crt, key: $D/wild.key, sni: ["*.wild.test"] }
  min_version: "1.2"
  alpn: [http/1.1]
listeners:
  - { name: https, address: "$GW:443", tls: true }
upstreams:
  - { name: web, servers: [198.18.11.2:8080] }
routes:
  - match: { path_prefix: / }
    upstream: web
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"

# sc ARGS...: one s_client session from the client netns that sends a
# request and prints everything (handshake summary and answer).
sc() {
	printf 'GET /tls HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n' |
		nsx "$IT_CL1" timeout 10 openssl s_client -connect "$GW:443" -CAfile "$D/ca.crt" \
		-ign_eof "$@" 2>&1
}
# serial_of ARGS...: the serial of the certificate gwd presents.
serial_of() {
	nsx "$IT_CL1" timeout 10 openssl s_client -connect "$GW:443" "$@" </dev/null 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed 's/serial=//'
}

# --- SNI ----------------------------------------------------------------------------
[ "$(serial_of -servername api.test)" = 65 ] || it_fail "SNI api.test: not the api certificate"
[ "$(serial_of -servername other.test)" = 66 ] || it_fail "SNI other.test: wrong certificate"
[ "$(serial_of -servername a.wild.test)" = 67 ] || it_fail "SNI a.wild.test: not the wildcard"
[ "$(serial_of -servername unknown.test)" = 65 ] || it_fail "unknown SNI: not the default"
[ "$(serial_of -noservername)" = 65 ] || it_fail "no SNI: not the default"
out=$(sc -servername other.test)
grep -q 'Verify return code: 0 (ok)' <<<"$out" || it_fail "other.test does not verify: $out"
grep -q '^be1 GET /tls$' <<<"$out" || it_fail "no answer over TLS: $out"
it_log "SNI: exact, wildcard, default without SNI and without a match"

# --- versions and ALPN ------------------------------------------------------------------
out=$(sc -servername api.test -tls1_2)
grep -q 'Protocol *: TLSv1.2' <<<"$out" || it_fail "TLS 1.2 not served: $out"
grep -q '^be1 GET /tls$' <<<"$out" || it_fail "no answer over TLS 1.2"
out=$(sc -servername api.test -tls1_3)
grep -q 'Protocol *: TLSv1.3' <<<"$out" || it_fail "TLS 1.3 not served"
out=$(sc -servername api.test -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
grep -q '^be1 GET /tls$' <<<"$out" && it_fail "TLS 1.1 was served (min_version 1.2)"
grep -qiE 'protocol version|no protocols available|alert' <<<"$out" ||
	it_fail "TLS 1.1: no handshake failure seen: $out"
out=$(sc -servername api.test -alpn http/1.1)
grep -q 'ALPN protocol: http/1.1' <<<"$out" || it_fail "ALPN http/1.1 not chosen: $out"
out=$(sc -servername api.test -alpn h2)
grep -q '^be1 GET /tls$' <<<"$out" && it_fail "a client offering only h2 was served"
grep -qi 'no application protocol' <<<"$out" || it_fail "h2 only: no no_application_protocol alert: $out"
it_log "versions: 1.1 refused, 1.2 and 1.3 served; ALPN http/1.1, h2 alone refused"

# --- resumption ---------------------------------------------------------------------------
for v in tls1_2 tls1_3; do
	rm -f "$D/sess"
	out=$(sc -servername api.test -$v -sess_out "$D/sess")
	grep -q '^be1 GET /tls$' <<<"$out" || it_fail "$v: first connection not answered"
	[ -s "$D/sess" ] || it_fail "$v: no session ticket received"
	out=$(sc -servername api.test -$v -sess_in "$D/sess")
	grep -q '^Reused' <<<"$out" || it_fail "$v: session not resumed: $(grep -E '^(New|Reused)' <<<"$out")"
	grep -q '^be1 GET /tls$' <<<"$out" || it_fail "$v: resumed connection not answered"
done
# TLS 1.3 clients use a ticket once: a resumption brings a new ticket, and
# that one resumes too (before, OpenSSL clients resumed every other time).
rm -f "$D/sess2"
out=$(sc -servername api.test -tls1_3 -sess_in "$D/sess" -sess_out "$D/sess2")
grep -q '^Reused' <<<"$out" || it_fail "tls1_3: second resumption failed"
grep -q 'Post-Handshake New Session Ticket arrived' <<<"$out" ||
	it_fail "tls1_3: no new ticket on a resumed connection"
out=$(sc -servername api.test -tls1_3 -sess_in "$D/sess2")
grep -q '^Reused' <<<"$out" || it_fail "tls1_3: the ticket of a resumed connection does not resume"
it_log "resumption by ticket: TLS 1.2 and 1.3; a TLS 1.3 resumption gets a new ticket"

# --- certificate replaced on SIGHUP ---------------------------------------------------
# A python client opens a keep-alive connection, asks once, waits for
# "go", asks again on the same connection and prints both answers and the
# serial it saw.
cat >"$D/client.py" <<'PYEOF'
import os, socket, ssl, sys, time
ca, host, go = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((host, 443), timeout=10), server_hostname="api.test")
def ask(path):
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: api.test\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
    return body.decode().splitlines()[0]
print(ask(b"/before"), flush=True)
end = time.time() + 20
while not os.path.exists(go) and time.time() < end:
    time.sleep(0.05)
print(ask(b"/after"), flush=True)
print("serial", s.getpeercert()["serialNumber"], flush=True)
PYEOF
ip netns exec "$IT_CL1" "$PY" "$D/client.py" "$D/ca.crt" "$GW" "$D/go" >"$D/client.out" 2>&1 &
cpid=$!
IT_PIDS+=("$cpid")
for ((i = 0; i < 100; i++)); do
	grep -q 'be1 GET /before' "$D/client.out" && break
	sleep 0.1
done
grep -q 'be1 GET /before' "$D/client.out" || it_fail "keep-alive TLS client: $(cat "$D/client.out")"
leaf api api.test DNS:api.test 201
kill -HUP "$IT_GWD_PID"
for ((i = 0; i < 100; i++)); do
	[ "$(serial_of -servername api.test)" = C9 ] && break
	sleep 0.1
done
[ "$(serial_of -servername api.test)" = C9 ] || it_fail "new connections do not get the new certificate"
touch "$D/go"
wait "$cpid"
grep -q 'be1 GET /after' "$D/client.out" || it_fail "the connection from before the reload broke: $(cat "$D/client.out")"
grep -q '^serial 65$' "$D/client.out" || it_fail "the old connection's certificate: $(cat "$D/client.out")"
it_log "SIGHUP: new certificate for new connections, the open connection kept"

# --- a listener that cannot bind fails the reload -----------------------------------
# Another program of the same uid holds 198.18.1.1:8443 with SO_REUSEPORT
# set, as gwd's own workers do: a file adding a listener there is still
# refused as a whole (gwd would otherwise share the port with it), and the
# running listeners stay.
ip netns exec "$IT_GW" "$PY" -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("198.18.1.1", 8443)); s.listen(1); time.sleep(60)' &
IT_PIDS+=($!)
for ((i = 0; i < 50; i++)); do
	nsx "$IT_GW" ss -ltn | grep -q '198.18.1.1:8443 ' && break
	sleep 0.1
done
sed -i "s|^  - { name: https, address: \"$GW:443\", tls: true }|&\\n  - { name: taken, address: \"$GW:8443\" }|" "$CFG"
grep -q 'name: taken' "$CFG" || it_fail "test bug: the listener was not added to the file"
out=$(nsenter --net="/run/netns/$IT_GW" "$GWCTL_BIN" -s "$SOCK" reload 2>&1) &&
	it_fail "a reload with an unbindable listener succeeded: $out"
grep -q 'stays' <<<"$out" || it_fail "the refused reload does not say the running config stays: $out"
[ "$(serial_of -servername api.test)" = C9 ] || it_fail "the running TLS listener is gone"
it_log "reload with an unbindable listener: refused ($out)"

# A gwd started (detaching, as by default) with that file exits 1 before it
# detaches, saying why; so does one whose certificate file is missing.
sed -e "s|pin_root: $IT_PIN|pin_root: $IT_PIN-2|" -e "s|$SOCK|$SOCK-2|" "$CFG" >"$D/second.yaml"
rc=0
nsenter --net="/run/netns/$IT_GW" "$GWD" -c "$D/second.yaml" >"$D/second.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "gwd with an unbindable listener: exit $rc (want 1): $(cat "$D/second.log")"
grep -q 'cannot bind' "$D/second.log" || it_fail "gwd did not say why: $(cat "$D/second.log")"
sed -i -e "s|$D/other.crt|$D/missing.crt|" -e '/name: taken/d' "$D/second.yaml"
rc=0
nsenter --net="/run/netns/$IT_GW" "$GWD" -c "$D/second.yaml" >"$D/second.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "gwd with a missing certificate: exit $rc (want 1)"
grep -q 'missing.crt' "$D/second.log" || it_fail "gwd did not name the file: $(cat "$D/second.log")"
[ -d "$IT_PIN-2" ] && it_fail "a refused start left pins in $IT_PIN-2"
it_log "a start that cannot work exits 1 before detaching, saying why"
echo "PASS"
