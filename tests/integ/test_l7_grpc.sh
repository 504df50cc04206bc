#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gRPC end to end (docs/http2.md): a python3-grpcio client on gwd's h2c
# listener, a python3-grpcio server behind an upstream with protocol: h2c.
# Unary, server streaming, client streaming (100 kB), bidirectional,
# an error status from the server (NOT_FOUND with its message), a client
# deadline, and a second call on the same channel; then the same calls to
# a gRPC server over TLS behind an upstream with protocol: h2 (ALPN h2,
# a CA made here, verify_name), chosen by :authority.
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init l7grpc2
it_gwd_setup 1 openssl
/usr/bin/python3 -c 'import grpc' 2>/dev/null || it_skip "python3-grpcio missing"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=grpc.test -addext subjectAltName=DNS:grpc.test \
	-keyout "$IT_TMP/g.key" -out "$IT_TMP/g.crt" >/dev/null 2>&1 || it_skip "openssl cannot make a cert"
it_bg "${IT_BE[0]}" "$IT_TMP/grpc.out" /usr/bin/python3 "$IT_ROOT/tests/integ/grpc_peer.py" \
	server 50051 60
it_bg "${IT_BE[0]}" "$IT_TMP/grpcs.out" /usr/bin/python3 "$IT_ROOT/tests/integ/grpc_peer.py" \
	server 50052 60 "$IT_TMP/g.crt" "$IT_TMP/g.key"

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
listeners:
  - { name: h2c, address: "$GW:80", h2c: true }
upstreams:
  - { name: grpc, servers: [198.18.11.2:50051], protocol: h2c }
  - name: grpcs
    servers: [198.18.11.2:50052]
    protocol: h2
    tls: { ca: $IT_TMP/g.crt, verify_name: grpc.test }
routes:
  - match: { host: tls.test, path_prefix: /test.Svc/ }
    upstream: grpcs
  - match: { path_prefix: /test.Svc/ }
    upstream: grpc
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"
for ((i = 0; i < 50; i++)); do
	[ "$(nsx "${IT_BE[0]}" ss -ltn | grep -cE ':5005[12] ')" = 2 ] && break
	sleep 0.1
done

out=$(cl timeout 30 /usr/bin/python3 "$IT_ROOT/tests/integ/grpc_peer.py" client "$GW:80" 2>&1)
printf '%s\n' "$out"
want='echo hello
count 0,1,2,3,4
sum 100005
chat A,B,C
fail NOT_FOUND no such thing
deadline DEADLINE_EXCEEDED
echo again'
[ "$out" = "$want" ] || it_fail "gRPC through gwd: got '$out'"
kill -0 "$IT_GWD_PID" || it_fail "gwd died"
it_log "gRPC: unary, server/client/bidi streaming, status and message, deadline"
out=$(cl timeout 30 /usr/bin/python3 "$IT_ROOT/tests/integ/grpc_peer.py" client "$GW:80" \
	tls.test 2>&1)
printf '%s\n' "$out"
[ "$out" = "$want" ] || it_fail "gRPC to an h2 (TLS) upstream: got '$out'"
it_log "gRPC over protocol h2 (TLS to the server): the same calls"
echo "PASS"
