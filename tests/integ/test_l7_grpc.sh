#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gRPC end to end (docs/http2.md): a python3-grpcio client on gwd's h2c
# listener, a python3-grpcio server behind an upstream with protocol: h2c.
# Unary, server streaming, client streaming (100 kB), bidirectional,
# an error status from the server (NOT_FOUND with its message), a client
# deadline, and a second call on the same channel.
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init l7grpc2
it_gwd_setup 1
/usr/bin/python3 -c 'import grpc' 2>/dev/null || it_skip "python3-grpcio missing"
it_bg "${IT_BE[0]}" "$IT_TMP/grpc.out" /usr/bin/python3 "$IT_ROOT/tests/integ/grpc_peer.py" \
	server 50051 60

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
listeners:
  - { name: h2c, address: "$GW:80", h2c: true }
upstreams:
  - { name: grpc, servers: [198.18.11.2:50051], protocol: h2c }
routes:
  - match: { path_prefix: /test.Svc/ }
    upstream: grpc
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"
for ((i = 0; i < 50; i++)); do
	nsx "${IT_BE[0]}" ss -ltn | grep -q ':50051 ' && break
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
echo "PASS"
