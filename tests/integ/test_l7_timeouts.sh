#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The L7 proxy's client-side timeouts (listeners[].timeouts) on real
# sockets, with bounded timing checks (never before the timeout, at most
# 1 s after it):
#   - header: a slowloris client that dribbles a head gets 408 with
#     Connection: close; a connection that sends nothing is closed silently;
#   - idle: a keep-alive connection idle between requests is closed without
#     a byte;
#   - body: a stalled upload gets 408, and the upstream request is abandoned
#     (the origin sees its connection close; the server is not blamed);
#   - send: a client that does not read its answer is cut;
#   - tls_handshake: a handshake that never completes is closed;
#   - clients within the timeouts (a head and a body in pieces, keep-alive
#     requests, a slow upstream) are not affected;
#   - a reload changes the timeouts of new connections, open ones keep theirs;
#   - every timeout counted in gw_http_client_timeouts_total{listener,phase}.
# And the all-down policy of L7 upstreams: an upstream whose health checks
# fail on every server still serves (panic, fail open, in metrics and gwctl);
# one whose servers all refuse ends in 503 once passive ejection has them
# all out. Route names label the metrics and gwctl route list.
# vm: skip (client timeouts of the L7 proxy)
. "$(dirname "$0")/lib.sh"
it_init l7to
it_gwd_setup 2 curl openssl
BE1=198.18.11.2
BE2=198.18.12.2

it_l7_backends 1200
# A sink origin on be2:8081: reads a request until its connection closes,
# then logs "closed BYTES" (so the test sees gwd abandon an upload).
cat >"$IT_TMP/sink.py" <<'EOF'
import socket, sys, threading, time
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 8081))
ls.listen(64)
ls.settimeout(1)
def serve(s):
    n = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            n += len(d)
    except OSError:
        pass
    with open(sys.argv[1], "a") as f:
        f.write("closed %d\n" % n)
end = time.time() + 1200  # killed at cleanup; outlives a slow guest
while time.time() < end:
    try:
        s, _ = ls.accept()
    except socket.timeout:
        continue
    s.settimeout(60)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
EOF
it_bg "${IT_BE[1]}" "$IT_TMP/sink.out" "$PY" "$IT_TMP/sink.py" "$IT_TMP/sink.log"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=api.test -addext subjectAltName=DNS:api.test -keyout "$IT_TMP/api.key" \
	-out "$IT_TMP/api.crt" >/dev/null 2>&1 ||
	it_skip "openssl cannot make a certificate"

# write_cfg IDLE: the config, with the http listener's idle timeout IDLE.
write_cfg() {
	{ it_gw_head "$SOCK"; cat <<YAML; } >"$CFG"
  metrics: $GW:9100
  workers: 2
tls:
  certificates:
    - { cert: $IT_TMP/api.crt, key: $IT_TMP/api.key }
listeners:
  - name: http
    address: "$GW:80"
    timeouts: { header: 1500ms, idle: $1, body: 1s, send: 1s }
  - name: https
    address: "$GW:443"
    tls: true
    timeouts: { tls_handshake: 1s, header: 5s }
upstreams:
  - name: web
    servers: [$BE1:8080]
    timeouts: { connect: 1s, response: 5s, idle: 30s }
  - name: sink
    servers: [$BE2:8081]
    timeouts: { connect: 1s, response: 10s, idle: 30s }
  - name: allfail
    servers: [$BE1:8080, $BE2:8080]
    health: { path: /garbage, interval: 100ms, timeout: 100ms, healthy: 1, unhealthy: 1 }
    retries: 0
  - name: alldead
    servers: [$BE1:9, $BE2:9]
    health: { interval: 100ms, timeout: 100ms, healthy: 1, unhealthy: 1 }
    retries: 0
routes:
  - name: web
    match: { path_prefix: /web/ }
    upstream: web
    strip_prefix: true
  - name: sink
    match: { path_prefix: /sink/ }
    upstream: sink
  - name: panic
    match: { path_prefix: /panic/ }
    upstream: allfail
    strip_prefix: true
  - match: { path_prefix: /dead/ }
    upstream: alldead
YAML
}

gwctl() { "$GWCTL" -s "$SOCK" "$@"; }
probe() { cl timeout 30 "$PY" "$IT_TMP/probe.py" "$@"; }
# field LINE KEY: the value of KEY=... in a probe's line
field() { sed -nE "s/.*(^| )$2=([^ ]*).*/\2/p" <<<"$1"; }
# within VALUE LO HI: LO <= VALUE <= HI (decimals)
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }
# metric NAME{LABELS}: its value on the metrics endpoint (empty if absent)
metric() {
	cl curl -sS -m 5 "http://$GW:9100/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

cat >"$IT_TMP/probe.py" <<'EOF'
#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Clients for test_l7_timeouts.sh: each connects to HOST PORT, behaves as
# named, and prints one line "key=value ..." with what it saw; times are
# seconds as measured by the client (time.monotonic()).
#
#   slowloris HOST PORT GAP      a head, one field every GAP s, never ending:
#                                elapsed (from the first byte) to the answer,
#                                its status line, Connection: close, then EOF
#   silent HOST PORT             connects, sends nothing: elapsed (from the
#                                connect) to EOF, bytes
#   idle HOST PORT PATH          one keep-alive request, its answer, then
#                                nothing: elapsed (from the request) to EOF, bytes
#   keepalive HOST PORT PATH N GAP  N requests on one connection GAP s apart:
#                                how many were answered 200
#   stall HOST PORT PATH LEN SENT   a POST of LEN body bytes that stops after
#                                SENT: elapsed (from the last byte) to the
#                                answer, its status line, then EOF
#   pieces HOST PORT PATH HGAP BGAP  a head in 3 pieces HGAP s apart, then a
#                                body in 4 pieces BGAP s apart: status and
#                                the answer's first line
#   noread HOST PORT PATH WAIT   a GET whose answer is not read for WAIT s:
#                                bytes then read, and how the connection ended
#   tlspartial HOST PORT         the start of a TLS record, nothing more:
#                                elapsed (from the connect) to EOF, bytes
import socket
import sys
import time


def conn(host, port):
    s = socket.create_connection((host, int(port)), timeout=15)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_head(s, buf=b""):
    """Reads until the end of a response head; returns (head, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return buf, None
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def content_length(head):
    for ln in head.split(b"\r\n")[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            return int(v.strip())
    return 0


def read_answer(s, buf=b""):
    """One answer with Content-Length; returns (head, body, leftover)."""
    head, rest = read_head(s, buf)
    if rest is None:
        return head, None, b""
    n = content_length(head)
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    return head, rest[:n], rest[n:]


def until_eof(s):
    """Reads until EOF (or a reset); returns the bytes."""
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    return out


def status(head):
    """The status code of a head ("408"), or "none"."""
    parts = head.split(b"\r\n")[0].split(b" ") if head else []
    return parts[1].decode("latin-1") if len(parts) > 1 else "none"


def closes(head):
    return any(ln.lower() == b"connection: close" for ln in head.split(b"\r\n"))


def slowloris(host, port, gap):
    s = conn(host, port)
    s.settimeout(float(gap))
    t0 = time.monotonic()
    s.sendall(b"GET /slow-head HTTP/1.1\r\nHost: a\r\n")
    buf, i = b"", 0
    while True:
        try:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            if b"\r\n\r\n" in buf:
                break
        except socket.timeout:
            try:
                s.sendall(b"X-Drip-%d: x\r\n" % i)
            except OSError:
                break
            i += 1
    t = time.monotonic() - t0
    s.settimeout(5)
    head = buf.split(b"\r\n\r\n")[0]
    rest = until_eof(s)
    print("elapsed=%.3f status=%s close=%d eof=1 fields=%d extra=%d" %
          (t, status(head), closes(head), i, len(rest)))


def silent(host, port):
    t0 = time.monotonic()  # before the connect: gwd's clock starts at accept
    s = conn(host, port)
    out = until_eof(s)
    print("elapsed=%.3f bytes=%d" % (time.monotonic() - t0, len(out)))


def idle(host, port, path):
    s = conn(host, port)
    t0 = time.monotonic()  # before the request: gwd's clock starts at its end
    s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
    head, body, left = read_answer(s)
    out = until_eof(s)
    print("elapsed=%.3f status=%s bytes=%d" % (time.monotonic() - t0, status(head),
                                               len(left) + len(out)))


def keepalive(host, port, path, n, gap):
    s = conn(host, port)
    ok, buf = 0, b""
    for i in range(int(n)):
        if i:
            time.sleep(float(gap))
        s.sendall(b"GET %s%d HTTP/1.1\r\nHost: a\r\n\r\n" % (path.encode(), i))
        head, body, buf = read_answer(s, buf)
        if head.startswith(b"HTTP/1.1 200"):
            ok += 1
    print("answered=%d" % ok)


def stall(host, port, path, length, sent):
    s = conn(host, port)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" %
              (path.encode(), int(length)) + b"x" * int(sent))
    t0 = time.monotonic()
    head, rest = read_head(s)
    t = time.monotonic() - t0
    out = until_eof(s) if rest is not None else b""
    print("elapsed=%.3f status=%s close=%d eof=1 bytes=%d" %
          (t, status(head if rest is not None else b""), closes(head) if rest is not None else 0,
           len(out)))


def pieces(host, port, path, hgap, bgap):
    body = b"0123456789" * 1000
    head = b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (path.encode(),
                                                                         len(body))
    s = conn(host, port)
    third = len(head) // 3
    for k, p in enumerate((head[:third], head[third:2 * third], head[2 * third:])):
        if k:
            time.sleep(float(hgap))
        s.sendall(p)
    q = len(body) // 4
    for k in range(4):
        time.sleep(float(bgap))
        s.sendall(body[k * q:(k + 1) * q])
    h, b, _ = read_answer(s)
    print("status=%s body=%s" % (status(h), (b or b"").decode("latin-1").split("\n")[0]
                                 .replace(" ", "_")))


def noread(host, port, path, wait):
    s = conn(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
    time.sleep(float(wait))
    s.settimeout(10)
    n, how = 0, "eof"
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            n += len(d)
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "open"
    print("bytes=%d end=%s" % (n, how))


def tlspartial(host, port):
    t0 = time.monotonic()  # before the connect: gwd's clock starts at accept
    s = conn(host, port)
    s.sendall(b"\x16\x03\x01\x01\x00")  # a handshake record of 256 bytes, never sent
    out = until_eof(s)
    print("elapsed=%.3f bytes=%d" % (time.monotonic() - t0, len(out)))


cmds = {"slowloris": slowloris, "silent": silent, "idle": idle, "keepalive": keepalive,
        "stall": stall, "pieces": pieces, "noread": noread, "tlspartial": tlspartial}
cmds[sys.argv[1]](*sys.argv[2:])
EOF

write_cfg 1s
it_gwd_start "$CFG" "$LOG" "$SOCK"
for ((i = 0; i < 50; i++)); do
	[ "$(code /web/up)" = 200 ] && break
	sleep 0.1
done
[ "$(code /web/up)" = 200 ] || it_fail "gwd does not serve: $(tail -5 "$LOG")"

# --- header ------------------------------------------------------------------------
out=$(probe slowloris "$GW" 80 0.3)
it_log "slowloris: $out"
[ "$(field "$out" status)" = 408 ] || it_fail "slowloris: no 408: $out"
[ "$(field "$out" close)" = 1 ] || it_fail "slowloris: the 408 lacks Connection: close: $out"
within "$(field "$out" elapsed)" 1.5 2.5 ||
	it_fail "slowloris: 408 after $(field "$out" elapsed) s, header is 1.5 s"
[ "$(field "$out" fields)" -ge 3 ] || it_fail "slowloris: the client did not dribble: $out"
out=$(probe silent "$GW" 80)
it_log "a connection that sends nothing: $out"
[ "$(field "$out" bytes)" = 0 ] || it_fail "a silent connection got bytes: $out"
within "$(field "$out" elapsed)" 1.5 2.5 ||
	it_fail "a silent connection closed after $(field "$out" elapsed) s, header is 1.5 s"

# --- idle ---------------------------------------------------------------------------
out=$(probe idle "$GW" 80 /web/idle)
it_log "keep-alive idle: $out"
[ "$(field "$out" status)" = 200 ] || it_fail "idle: the request failed: $out"
[ "$(field "$out" bytes)" = 0 ] || it_fail "idle: bytes after the answer (no 408 when idle): $out"
within "$(field "$out" elapsed)" 1.0 2.0 ||
	it_fail "idle: closed after $(field "$out" elapsed) s, idle is 1 s"

# --- body ---------------------------------------------------------------------------
: >"$IT_TMP/sink.log"
out=$(probe stall "$GW" 80 /sink/up 100000 1000)
it_log "a stalled upload: $out"
[ "$(field "$out" status)" = 408 ] || it_fail "stalled body: no 408: $out"
[ "$(field "$out" close)" = 1 ] || it_fail "stalled body: 408 without Connection: close"
within "$(field "$out" elapsed)" 1.0 2.0 ||
	it_fail "stalled body: 408 after $(field "$out" elapsed) s, body is 1 s"
for ((i = 0; i < 20; i++)); do
	grep -q '^closed' "$IT_TMP/sink.log" && break
	sleep 0.1
done
sk=$(head -1 "$IT_TMP/sink.log")
[ -n "$sk" ] || it_fail "stalled body: the upstream connection was not closed"
[ "${sk#closed }" -lt 100000 ] || it_fail "stalled body: the origin got the whole body: $sk"
it_log "the origin saw: $sk"
fails=$(gwctl --json upstream list | "$PY" -c '
import json, sys
print([u for u in json.load(sys.stdin) if u["name"] == "sink"][0]["servers"][0]["failures"])')
[ "$fails" = 0 ] || it_fail "a client's stalled body counted as an upstream failure ($fails)"

# --- send ---------------------------------------------------------------------------
out=$(probe noread "$GW" 80 /web/big?n=50000000 3)
it_log "a client that does not read: $out"
[ "$(field "$out" end)" != open ] || it_fail "a client that does not read was not cut: $out"
[ "$(field "$out" bytes)" -lt 50000000 ] || it_fail "send: the whole answer went out: $out"

# --- tls_handshake ----------------------------------------------------------------------
out=$(probe tlspartial "$GW" 443)
it_log "a TLS handshake that stops: $out"
[ "$(field "$out" bytes)" = 0 ] || it_fail "tls_handshake: bytes sent: $out"
within "$(field "$out" elapsed)" 1.0 2.0 ||
	it_fail "tls_handshake: closed after $(field "$out" elapsed) s, not 1 s (header is 5 s)"
out=$(cl curl -sS -m 5 --cacert "$IT_TMP/api.crt" --resolve "api.test:443:$GW" \
	https://api.test/web/tls) || it_fail "a TLS request failed"
grep -q '^be1 GET /tls$' <<<"$out" || it_fail "a TLS request: $out"

# --- clients within the timeouts --------------------------------------------------------
out=$(probe pieces "$GW" 80 /web/sha 0.3 0.6)
want=$("$PY" -c 'import hashlib; print(hashlib.sha256(b"0123456789" * 1000).hexdigest())')
[ "$out" = "status=200 body=be1_sha256=${want}_len=10000" ] ||
	it_fail "a head and a body in pieces within the timeouts: $out"
out=$(probe keepalive "$GW" 80 /web/ka 4 0.6)
[ "$out" = answered=4 ] || it_fail "keep-alive requests 0.6 s apart (idle 1 s): $out"
s=$(date +%s%N)
c=$(code '/web/slow?ms=2500')
[ "$c" = 200 ] || it_fail "an upstream slower than every client timeout: $c (want 200)"
ms=$((($(date +%s%N) - s) / 1000000))
it_log "within the timeouts: pieces, keep-alive, a 2.5 s upstream: ok (${ms} ms)"

# --- counted ------------------------------------------------------------------------------
for ph in header idle body send; do
	v=$(metric "gw_http_client_timeouts_total{listener=\"http\",phase=\"$ph\"}")
	[ -n "$v" ] && [ "$v" -ge 1 ] || it_fail "no $ph timeout counted (got '$v')"
done
v=$(metric 'gw_http_client_timeouts_total{listener="http",phase="header"}')
[ "$v" -ge 2 ] || it_fail "header: 2 timeouts (slowloris, silent), counted $v"
v=$(metric 'gw_http_client_timeouts_total{listener="https",phase="tls_handshake"}')
[ "$v" = 1 ] || it_fail "tls_handshake: counted '$v'"
v=$(metric 'gw_http_requests_total{route="sink",code="408"}')
[ "$v" = 1 ] || it_fail "the stalled upload's 408 not counted under route sink: '$v'"
v=$(metric 'gw_http_requests_total{route="web",code="200"}')
[ -n "$v" ] && [ "$v" -ge 5 ] || it_fail "route names do not label the metrics: '$v'"
out=$(gwctl route list)
grep -qE '^0 +web +upstream web' <<<"$out" || it_fail "gwctl route list lacks the name: $out"
grep -qE '^3 +\*/dead/\* +upstream alldead' <<<"$out" ||
	it_fail "an unnamed route lost its label derived from its match: $out"
it_log "metrics: timeouts by listener and phase, named route labels: ok"

# --- reload: new connections take the new timeouts ----------------------------------------
write_cfg 2500ms
gwctl reload >/dev/null || it_fail "reload failed"
out=$(probe idle "$GW" 80 /web/idle2)
it_log "keep-alive idle after the reload: $out"
within "$(field "$out" elapsed)" 2.5 3.5 ||
	it_fail "after a reload to idle 2.5 s, closed after $(field "$out" elapsed) s"
# a timeout out of range is refused with its position; the running config stays
sed -i 's/idle: 2500ms/idle: 50ms/' "$CFG"
out=$("$GWD" --check -c "$CFG" 2>&1) && it_fail "idle: 50ms accepted"
grep -qE "gateway.yaml:[0-9]+:[0-9]+: idle: 50ms is out of range" <<<"$out" ||
	it_fail "no positioned error for idle: 50ms: $out"
gwctl reload >/dev/null 2>&1 && it_fail "a reload with idle: 50ms succeeded"
out=$(probe idle "$GW" 80 /web/idle3)
within "$(field "$out" elapsed)" 2.5 3.5 || it_fail "a refused reload changed the timeouts: $out"
# back to 1 s while a connection accepted with 2.5 s is open: it keeps its own
probe idle "$GW" 80 /web/before >"$IT_TMP/before.out" &
ppid=$!
# reload only once its request reached an origin: the connection was
# accepted with 2.5 s then (a slow guest may take long to start the probe)
for ((i = 0; i < 100; i++)); do
	grep -qs ' /before$' "$IT_TMP"/be*.log && break
	sleep 0.1
done
grep -qs ' /before$' "$IT_TMP"/be*.log || it_fail "the probe's request never reached an origin"
write_cfg 1s
gwctl reload >/dev/null || it_fail "reload back to idle 1 s failed"
out=$(probe idle "$GW" 80 /web/after)
within "$(field "$out" elapsed)" 1.0 2.0 || it_fail "after a reload to idle 1 s: $out"
wait "$ppid"
before=$(cat "$IT_TMP/before.out")
within "$(field "$before" elapsed)" 2.5 3.5 ||
	it_fail "a connection accepted before the reload lost its idle timeout: $before"
it_log "reload: idle 1 s -> 2.5 s -> 1 s for new connections, open ones keep theirs"

# --- panic: every server down by health checks ------------------------------------------
for ((i = 0; i < 50; i++)); do
	gwctl --json upstream list | "$PY" -c '
import json, sys
u = {u["name"]: u for u in json.load(sys.stdin)}
sys.exit(0 if u["allfail"]["panic"] and u["alldead"]["panic"] else 1)' && break
	sleep 0.1
done
out=$(gwctl upstream list)
grep -A1 '^allfail' <<<"$out" | grep -q 'panic' || it_fail "allfail is not in panic: $out"
ok=0
for ((i = 0; i < 8; i++)); do
	b=$(cl curl -s -m 5 "http://$GW/panic/p$i")
	grep -qE '^be[12] GET /p' <<<"$b" && ok=$((ok + 1))
	echo "$b" | head -1 >>"$IT_TMP/panic.out"
done
[ $ok = 8 ] || it_fail "an upstream whose checks fail everywhere does not serve ($ok/8)"
grep -q '^be1' "$IT_TMP/panic.out" && grep -q '^be2' "$IT_TMP/panic.out" ||
	it_fail "panic does not spread over every server: $(sort "$IT_TMP/panic.out" | uniq -c)"
[ "$(metric 'gw_upstream_panic{upstream="allfail"}')" = 1 ] || it_fail "gw_upstream_panic not 1"
[ "$(metric 'gw_upstream_panic{upstream="web"}')" = 0 ] || it_fail "web reported in panic"
[ "$(metric 'gw_upstream_server_up{upstream="allfail",server="198.18.11.2:8080"}')" = 0 ] ||
	it_fail "a server the checks have down is reported up"
grep -q 'upstream allfail: every server is down by health checks' "$LOG" ||
	it_fail "panic not logged"
it_log "panic: allfail (checks fail on both) served 8/8 by both servers"
# Both servers refuse: in panic they are tried (502), each failure counts,
# passive ejection takes them out, and then the answer is 503, at once.
got503=
for ((i = 0; i < 30; i++)); do
	# curl's own time: a loaded guest can take seconds to start a process
	# (no process substitution: the guest has no /dev/fd)
	out=$(code /dead/d$i -w '%{http_code} %{time_total}')
	c=${out%% *}
	t=${out#* }
	ms=$(awk -v t="${t:-99}" 'BEGIN { printf "%d", t * 1000 }')
	[ "$c" = 502 ] || [ "$c" = 503 ] || it_fail "alldead: got $c"
	if [ "$c" = 503 ]; then
		got503=$ms
		break
	fi
done
[ -n "$got503" ] || it_fail "alldead: never 503 after passive ejection"
[ "$got503" -lt 500 ] || it_fail "alldead: the 503 took $got503 ms"
it_log "panic with every server ejected: 503 in $got503 ms after $i requests"
echo PASS
