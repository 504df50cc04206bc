#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP/2 conformance and abuse (docs/http2.md) with a python3-h2 client
# (h2_hostile.py) on an h2c listener: RFC 9113 8.2 field validation
# (upper-case names, connection-specific fields, TE other than trailers,
# pseudo-header rules) and content-length against DATA reset the stream
# and the connection goes on; an answer before the request's end is
# followed by RST_STREAM NO_ERROR; Expect: 100-continue gets an interim
# 100; bodies with and without content-length;
# streams above max_concurrent_streams are refused; a header block that
# never ends meets the idle timeout; stream states (DATA after END_STREAM,
# on an idle stream, an even stream id) and flow control (the client's
# stream window); PING, SETTINGS and
# empty-DATA floods, Rapid Reset and a CONTINUATION flood end their
# connection with GOAWAY ENHANCE_YOUR_CALM, counted in
# gw_http2_abuse_total, while gwd serves a new client.
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init l7h2x
it_gwd_setup 1
/usr/bin/python3 -c 'import h2, hyperframe, hpack' 2>/dev/null || it_skip "python3-h2 missing"
it_l7_backends 120

{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  metrics: $GW:9100
listeners:
  - name: h2c
    address: "$GW:80"
    h2c: true
    http2: { max_concurrent_streams: 10 }
    timeouts: { idle: 1s }
upstreams:
  - { name: web, servers: [198.18.11.2:8080] }
routes:
  - match: { path_prefix: /respond/ }
    respond: { status: 200, body: "r\n" }
  - match: { path_prefix: /api/ }
    upstream: web
    strip_prefix: true
  - match: { path_prefix: / }
    upstream: web
YAML
it_gwd_start "$CFG" "$LOG" "$SOCK"

out=$(cl timeout 50 /usr/bin/python3 "$IT_ROOT/tests/integ/h2_hostile.py" "$GW" 80 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc = 0 ] || it_fail "h2_hostile.py: $(tail -1 <<<"$out")"
m=$(cl curl -sS "http://$GW:9100/metrics")
n=$(sed -n 's/^gw_http2_abuse_total{listener="h2c"} //p' <<<"$m")
[ "${n:-0}" -ge 5 ] || it_fail "gw_http2_abuse_total: ${n:-none}, expected 5 floods counted"
kill -0 "$IT_GWD_PID" || it_fail "gwd died"
it_log "conformance checks passed; $n abusive connections ended and counted"
echo "PASS"
