#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gRPC requests (python3-grpcio, h2c) that gwd answers itself get gRPC
# errors (docs/http2.md): HTTP 200 with grpc-status and grpc-message:
# UNAUTHENTICATED (auth), RESOURCE_EXHAUSTED (rate limit), UNAVAILABLE (no
# server answers), UNIMPLEMENTED (no route).
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init l7grpc
it_gwd_setup 1
/usr/bin/python3 -c 'import grpc' 2>/dev/null || it_skip "python3-grpcio missing"
it_l7_backends 60
printf 'acme %s\n' "$(printf k1 | sha256sum | cut -d' ' -f1)" >"$IT_TMP/keys.txt"

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
listeners:
  - { name: h2c, address: "$GW:80", h2c: true }
upstreams:
  - { name: dead, servers: [198.18.11.2:9], retries: 0 }
auth:
  api_keys:
    - { name: partners, header: X-API-Key, keys: $IT_TMP/keys.txt }
routes:
  - match: { path_prefix: /deny.Svc/ }
    upstream: dead
    auth: partners
  - match: { path_prefix: /limited.Svc/ }
    upstream: dead
    rate_limit: { rate: 1/m, burst: 1, key: ip }
  - match: { path_prefix: /dead.Svc/ }
    upstream: dead
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"

out=$(cl timeout 30 /usr/bin/python3 - "$GW" <<'PY' 2>&1
import sys, grpc
ch = grpc.insecure_channel(f"{sys.argv[1]}:80")
def call(method):
    f = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        f(b"\x08\x01", timeout=5)
        return "OK"
    except grpc.RpcError as e:
        return f"{e.code().name} {e.details()}"
print(call("/deny.Svc/Get"))
print(call("/limited.Svc/Get"))
print(call("/limited.Svc/Get"))
print(call("/dead.Svc/Get"))
print(call("/other.Svc/Get"))
PY
)
printf '%s\n' "$out"
want='UNAUTHENTICATED Unauthorized
UNAVAILABLE Bad Gateway
RESOURCE_EXHAUSTED Too Many Requests
UNAVAILABLE Bad Gateway
UNIMPLEMENTED Not Found'
[ "$out" = "$want" ] || it_fail "gRPC errors: got '$out'"
kill -0 "$IT_GWD_PID" || it_fail "gwd died"
it_log "gRPC errors: UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE, UNIMPLEMENTED"
echo "PASS"
