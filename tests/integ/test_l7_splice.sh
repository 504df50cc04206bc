#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The sockmap splice through gwd (docs/design-sockmap.md): a client netns
# talks to gwd (198.18.1.1:80 and [fd00:1::1]:80) in front of one python
# origin (l7_backend.py). Checks that a WebSocket tunnel splices after the
# 101 (v4 and v6, echo rounds of random sizes compared by SHA-256, the gauge
# 1 while open and 0 after), that `splice: false` keeps it in user space,
# that `splice: true` hands a keep-alive connection to the kernel after the
# first answer head (the second request is served through the kernel), the
# access log's "spliced" mark, gw_spliced_bytes_total, per-route counts,
# `gwctl splice list`, `bpftool map dump` of the pinned maps, the --check
# refusals, a reload with a live splice, the SIGTERM drain, and kill -9
# (the sockets close with the process; a new gwd prunes the peer map).
. "$(dirname "$0")/lib.sh"
it_init splice
it_gwd_setup 1 curl bpftool
BE1=198.18.11.2
T0=$(date +%s)
SC=$IT_ROOT/tests/integ/splice_client.py
it_l7_backends 300

write_cfg() {
	{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  metrics: $GW:9100
  access_log: $IT_TMP/access.log
  workers: 2
  drain_timeout: 2s
listeners:
  - { name: http, address: "$GW:80" }
  - { name: http6, address: "[fd00:1::1]:80" }
upstreams:
  - name: one
    servers: [$BE1:8080]
    timeouts: { connect: 1s, response: 5s, idle: 30s }
routes:
  - match: { path_prefix: /ws }
    upstream: one
    splice: true
  - match: { path_prefix: /nows/ }
    upstream: one
    strip_prefix: true
    splice: false
  - match: { path_prefix: /media/ }
    upstream: one
    splice: true
$1
YAML
}
write_cfg ""
it_gwd_start "$CFG" "$LOG" "$SOCK"
grep -q "splice: sockmap programs attached" "$LOG" || { cat "$LOG"; it_fail "gwd did not attach the sockmap programs"; }
gwctl() { "$GWCTL" -s "$SOCK" "$@"; }
st=$(gwctl status) || it_fail "gwctl status failed"
grep -q "sockmap splice" <<<"$st" || it_fail "gwctl status does not list the splice: $st"
grep -q "ktls" <<<"$st" || it_fail "gwctl status does not say whether the kernel has kTLS: $st"
it_log "gwctl status: $(grep -o 'sockmap splice\|[a-z ]*ktls[a-z ()]*' <<<"$st" | tr '\n' ';')"
MURL=http://$GW:9100/metrics
metric() { cl curl -s -m 5 "$MURL" | awk -v n="$1" '$1 == n { print $2 }'; }
ws() { cl timeout 40 "$PY" "$SC" ws "$@"; }

# --- WebSocket tunnels splice after the 101 ---------------------------------------------
out=$(ws "$GW" 80 /ws 60 1 "$MURL")
[[ $out == "ok 60 "*" spliced=1" ]] || { tail -20 "$LOG"; it_fail "v4 websocket through the splice: '$out'"; }
out=$(ws fd00:1::1 80 /ws 40 2 "$MURL")
[[ $out == "ok 40 "*" spliced=1" ]] || it_fail "v6 websocket through the splice: '$out'"
out=$(ws "$GW" 80 /nows/ws 10 3 "$MURL")
[[ $out == "ok 10 "*" spliced=0" ]] || it_fail "splice: false route: '$out'"
for ((i = 0; i < 20; i++)); do [ "$(metric gw_spliced_connections)" = 0 ] && break; sleep 0.1; done
[ "$(metric gw_spliced_connections)" = 0 ] || it_fail "gw_spliced_connections did not go back to 0"
up=$(metric 'gw_spliced_bytes_total{direction="up"}')
[ "${up:-0}" -gt 1000000 ] || it_fail "gw_spliced_bytes_total up: '$up'"
cl curl -s -m 5 "$MURL" | grep -q '^gw_spliced_connections_total{route="\*/ws\*"} 2$' ||
	it_fail "per-route splice count: $(cl curl -s -m 5 "$MURL" | grep spliced_connections_total)"
it_log "websocket: v4 and v6 spliced after the 101 (SHA-256 equal), splice: false stays in user space"

# --- a client that floods while the echo backend cannot send: the lag watchdog
# hands the connection back to user space, and every byte comes back in order.
# Opt-in (GW_SPLICE_FLOOD=1): going back can still deadlock against an echo
# backend under a flood (known issue, docs/design-sockmap.md "Not built yet").
# (where going back cannot finish within 5 s, as on 6.1 under TCG, both sides
# are reset instead: defined, counted, never a hang or a silent loss)
if [ "${GW_SPLICE_FLOOD:-0}" = 1 ]; then
out=$(cl timeout 60 "$PY" "$SC" flood "$GW" 80 /ws 48)
if [[ $out == reset* ]] && grep -q "did not finish in 5 s; both sides reset" "$LOG"; then
	it_log "flood: going back did not finish in 5 s on this kernel: both sides reset ($out)"
else
	[ "$out" = "ok 48" ] || { tail -20 "$LOG"; it_fail "flood through the lag watchdog: '$out'"; }
fi
lag=$(cl curl -s -m 5 "$MURL" | awk '$1 == "gw_splice_unspliced_total{reason=\"lag\"}" { print $2 }')
[ "${lag:-0}" -ge 1 ] || it_fail "the lag watchdog did not hand the flood back: lag=$lag"
it_log "flood: the lag watchdog handed the connection back ($lag), 48 MiB echoed in order"
fi

# --- splice: true: the connection goes to the kernel after the first answer head ---------
out=$(cl timeout 10 "$PY" "$SC" keepalive "$GW" 80 /media/a /media/b)
[ "$(sed 's/^\(HTTP\/1.1 200\) .*/\1/' <<<"$out")" = "HTTP/1.1 200
be1 GET /media/a
HTTP/1.1 200
be1 GET /media/b" ] || it_fail "splice: true keep-alive: '$out'"
sleep 0.3
grep '"path":"/media/a"' "$IT_TMP/access.log" | grep -q '"spliced":true' ||
	it_fail "access log has no spliced mark: $(grep media "$IT_TMP/access.log")"
grep -q '"path":"/media/b"' "$IT_TMP/access.log" &&
	it_fail "a request on a spliced connection was seen by gwd"
grep -q '^GET /media/b' "$IT_TMP/be1.log" || grep -q 'media/b' "$IT_TMP/be1.log" ||
	it_fail "the second request did not reach the origin"
it_log "splice: true: the second request went through the kernel, one spliced access-log line"

# --- --check refuses splice: true with what a later request could fail ------------------
write_cfg "  - match: { path_prefix: /bad/, methods: [GET] }
    upstream: one
    splice: true"
if nsx "$IT_GW" "$BUILD/bin/gwd" -c "$CFG" --check >"$IT_TMP/check.out" 2>&1; then
	it_fail "--check accepted splice: true with a method condition"
fi
grep -q "splice: true cannot go with match.methods" "$IT_TMP/check.out" ||
	it_fail "--check message: $(cat "$IT_TMP/check.out")"
write_cfg ""

# --- gwctl splice list, bpftool, reload with a live splice -------------------------------
cl timeout 40 "$PY" "$SC" ws "$GW" 80 /ws 2 4 "$MURL" 6 >"$IT_TMP/hold1.out" 2>&1 &
IT_PIDS+=($!)
hold=$!
for ((i = 0; i < 50; i++)); do grep -q holding "$IT_TMP/hold1.out" && break; sleep 0.1; done
gwctl splice list >"$IT_TMP/list.out" || it_fail "gwctl splice list failed"
grep -q "1 live" "$IT_TMP/list.out" && grep -q "$BE1:8080" "$IT_TMP/list.out" ||
	it_fail "gwctl splice list: $(cat "$IT_TMP/list.out")"
nsenter --net="/run/netns/$IT_GW" bpftool map dump pinned "$IT_PIN/gw_sk_peer" >"$IT_TMP/dump.out" ||
	it_fail "bpftool cannot dump gw_sk_peer"
grep -q '"family": 4' "$IT_TMP/dump.out" || it_fail "gw_sk_peer dump has no BTF-typed keys: $(head -20 "$IT_TMP/dump.out")"
gwctl reload >/dev/null || it_fail "reload failed"
wait "$hold"
[[ $(tail -1 "$IT_TMP/hold1.out") == "ok 2 "* ]] || it_fail "a splice did not survive a reload: $(cat "$IT_TMP/hold1.out")"
it_log "gwctl splice list, bpftool map dump, reload keeps a live splice"

# --- SIGTERM: spliced connections get the drain timeout (2 s), then close ---------------
cl timeout 40 "$PY" "$SC" ws "$GW" 80 /ws 2 5 "$MURL" 20 >"$IT_TMP/hold2.out" 2>&1 &
IT_PIDS+=($!)
hold=$!
for ((i = 0; i < 50; i++)); do grep -q holding "$IT_TMP/hold2.out" && break; sleep 0.1; done
t=$(date +%s%N)
kill -TERM "$IT_GWD_PID"
for ((i = 0; i < 100; i++)); do kill -0 "$IT_GWD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$IT_GWD_PID" 2>/dev/null && it_fail "gwd did not exit within 10 s of SIGTERM with a splice"
ms=$((($(date +%s%N) - t) / 1000000))
wait "$hold"
grep -q "hold-eof\|hold-error" "$IT_TMP/hold2.out" || it_fail "the spliced client was not closed: $(cat "$IT_TMP/hold2.out")"
[ "$ms" -ge 1500 ] || it_fail "SIGTERM closed a splice after $ms ms, before the drain timeout"
it_log "SIGTERM: the splice was closed at the drain timeout ($ms ms)"

# --- kill -9: the sockets close with the process; a new gwd prunes the peer map ----------
it_gwd_start "$CFG" "$LOG.2" "$SOCK"
cl timeout 40 "$PY" "$SC" ws "$GW" 80 /ws 2 6 "$MURL" 20 >"$IT_TMP/hold3.out" 2>&1 &
IT_PIDS+=($!)
hold=$!
for ((i = 0; i < 50; i++)); do grep -q holding "$IT_TMP/hold3.out" && break; sleep 0.1; done
kill -KILL "$IT_GWD_PID"
wait "$hold"
grep -q "hold-eof\|hold-error" "$IT_TMP/hold3.out" || it_fail "kill -9 left the client open: $(cat "$IT_TMP/hold3.out")"
n=$(nsenter --net="/run/netns/$IT_GW" bpftool map dump pinned "$IT_PIN/gw_sk_hash" 2>/dev/null | grep -c '"key"')
[ "${n:-0}" = 0 ] || it_fail "gw_sk_hash kept $n sockets after kill -9"
rm -f "$SOCK"
it_gwd_start "$CFG" "$LOG.3" "$SOCK"
grep -q "removed 2 peer entries" "$LOG.3" || it_fail "the new gwd did not prune the dead peers: $(grep splice "$LOG.3")"
out=$(ws "$GW" 80 /ws 5 7 "$MURL")
[[ $out == "ok 5 "*" spliced=1" ]] || it_fail "splicing after kill -9 and restart: '$out'"
it_log "kill -9: sockets closed, sockhash empty, peers pruned at restart"
it_log "done in $(($(date +%s) - T0)) s"
echo PASS
