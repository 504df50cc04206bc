#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A hostile and a conformance HTTP/2 client for gwd's h2c listener
# (test_l7_h2_abuse.sh), with python3-h2 (state machine, HPACK) and raw
# frames from hyperframe where h2 would refuse to send them.
#
#   h2_hostile.py HOST PORT
#
# Prints "ok NAME" per check, "FAIL NAME: why" and exits 1 on the first
# failure. Every wait is bounded (socket timeout 5 s).
import socket
import sys

import h2.config
import h2.connection
import h2.events
import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

HOST, PORT = sys.argv[1], int(sys.argv[2])
PROTOCOL_ERROR, ENHANCE_YOUR_CALM = 1, 11
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def fail(name, why):
    print(f"FAIL {name}: {why}", flush=True)
    sys.exit(1)


def ok(name):
    print(f"ok {name}", flush=True)


class Client:
    """h2 with outbound validation off: it sends what the test says."""

    def __init__(self):
        self.s = socket.create_connection((HOST, PORT), timeout=5)
        cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                        normalize_outbound_headers=False,
                                        validate_inbound_headers=False)
        self.c = h2.connection.H2Connection(cfg)
        self.c.initiate_connection()
        self.flush()
        self.status, self.body, self.done, self.term = {}, {}, {}, None

    def flush(self):
        d = self.c.data_to_send()
        if d:
            self.s.sendall(d)

    def request(self, headers, body=None, end=True):
        sid = self.c.get_next_available_stream_id()
        self.c.send_headers(sid, headers, end_stream=body is None and end)
        if body is not None:
            self.c.send_data(sid, body, end_stream=end)
        self.flush()
        return sid

    def outcome(self, sid):
        """Returns (status, body) or ("reset", code) or ("closed", code)."""
        while sid not in self.done:
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return ("timeout", None)
            if not d:
                return ("closed", None)
            try:
                events = self.c.receive_data(d)
            except h2.exceptions.ProtocolError as e:
                return ("protocol", str(e))
            for e in events:
                self.event(e)
            self.flush()
            if self.term is not None:
                return self.done.get(sid, ("closed", self.term))
        return self.done[sid]

    def event(self, e):
        sid = getattr(e, "stream_id", None)
        if isinstance(e, h2.events.ResponseReceived):
            self.status[sid] = int(dict(e.headers)[b":status"])
        elif isinstance(e, h2.events.DataReceived):
            self.body[sid] = self.body.get(sid, b"") + e.data
            self.c.acknowledge_received_data(e.flow_controlled_length, sid)
        elif isinstance(e, h2.events.StreamEnded):
            self.done[sid] = (self.status.get(sid), self.body.get(sid, b""))
        elif isinstance(e, h2.events.StreamReset):
            self.done[sid] = ("reset", e.error_code)
        elif isinstance(e, h2.events.ConnectionTerminated):
            self.term = e.error_code
        elif isinstance(e, h2.events.TrailersReceived):
            self.done[("trailers", sid)] = dict(e.headers)
        elif isinstance(e, h2.events.InformationalResponseReceived):
            self.done[("1xx", sid)] = int(dict(e.headers)[b":status"])


def base(path="/api/x", method="GET"):
    return [(":method", method), (":path", path), (":scheme", "http"), (":authority", "h2.test")]


def expect_reset(name, headers, body=None):
    c = Client()
    r = c.outcome(c.request(headers, body))
    if r[0] != "reset" or r[1] != PROTOCOL_ERROR:
        fail(name, f"expected RST_STREAM PROTOCOL_ERROR, got {r}")
    # the connection goes on
    r = c.outcome(c.request(base()))
    if r[0] != 200:
        fail(name, f"the next stream on the connection: {r}")
    ok(name)


def conformance():
    expect_reset("uppercase field name", base() + [("X-Upper", "1")])
    expect_reset("connection-specific field", base() + [("connection", "keep-alive")])
    expect_reset("transfer-encoding field", base() + [("transfer-encoding", "chunked")])
    expect_reset("te other than trailers", base() + [("te", "gzip")])
    expect_reset("pseudo-header after a field", [("x-a", "1")] + base())
    expect_reset("unknown pseudo-header", base() + [(":foo", "1")])
    expect_reset("response pseudo-header", base() + [(":status", "200")])
    expect_reset("duplicate :method", base() + [(":method", "GET")])
    expect_reset("no :path", [h for h in base() if h[0] != ":path"])
    expect_reset("empty :path", [(":path", "") if h[0] == ":path" else h for h in base()])
    expect_reset("content-length above DATA",
                 base("/sha", "POST") + [("content-length", "5")], b"abc")
    expect_reset("content-length below DATA",
                 base("/sha", "POST") + [("content-length", "2")], b"abc")
    c = Client()
    r = c.outcome(c.request(base() + [("te", "trailers")]))
    if r[0] != 200:
        fail("te: trailers", str(r))
    ok("te: trailers passes")
    r = c.outcome(c.request(base("/sha", "POST") + [("content-length", "3")], b"abc"))
    if r != (200, b"be1 sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad len=3\n"):
        fail("body with content-length", str(r))
    r = c.outcome(c.request(base("/sha", "POST"), b"abc"))
    if r[0] != 200 or b"len=3" not in r[1]:
        fail("body without content-length", str(r))
    ok("request framing with and without content-length")
    for i in range(5):
        r = c.outcome(c.request(base("/api/seq%d" % i)))
        if r[0] != 200 or (b"/seq%d" % i) not in r[1]:
            fail("sequential streams", f"stream {i}: {r}")
    ok("sequential streams on one connection")
    r = c.outcome(c.request(base("/api/x") + [("cookie", "a=1"), ("cookie", "b=2")]))
    if r[0] != 200 or b"cookie: a=1; b=2" not in r[1]:
        fail("cookie crumbs", str(r))
    ok("cookie crumbs joined (RFC 9113 8.2.3)")


def raw_conn():
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(PREFACE + SettingsFrame(0).serialize())
    return s


def goaway_code(s):
    """Reads until GOAWAY or EOF. Returns its error code, or None."""
    buf = b""
    while True:
        try:
            d = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return None
        if not d:
            return None
        buf += d
        while len(buf) >= 9:
            ln = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + ln:
                break
            if buf[3] == 0x7:
                return int.from_bytes(buf[13:17], "big")
            buf = buf[9 + ln:]


def send_all(s, frames):
    try:
        s.sendall(b"".join(f.serialize() for f in frames))
    except (BrokenPipeError, ConnectionResetError):
        pass


def flood(name, frames):
    s = raw_conn()
    send_all(s, frames)
    code = goaway_code(s)
    if code != ENHANCE_YOUR_CALM:
        fail(name, f"expected GOAWAY ENHANCE_YOUR_CALM, got {code}")
    ok(name)


def headers_block(sid, path="/api/x", method="GET"):
    return hpack.Encoder().encode(base(path, method))


def floods():
    flood("PING flood", [PingFrame(0, opaque_data=b"%08d" % i) for i in range(400)])
    flood("SETTINGS flood", [SettingsFrame(0, settings={4: 65535}) for i in range(400)])
    post = HeadersFrame(1, headers_block(1, "/slow?ms=3000", "POST"), flags=["END_HEADERS"])
    flood("empty DATA flood", [post] + [DataFrame(1, b"") for i in range(400)])
    rr = []
    for i in range(400):
        sid = 1 + 2 * i
        rr.append(HeadersFrame(sid, headers_block(sid), flags=["END_HEADERS", "END_STREAM"]))
        rr.append(RstStreamFrame(sid, error_code=8))
    flood("Rapid Reset (HEADERS + RST_STREAM)", rr)
    enc = hpack.Encoder().encode(base() + [("x-pad", "a" * 10)])
    cont = [HeadersFrame(1, enc[:4], flags=["END_STREAM"])]
    cont += [ContinuationFrame(1, b"") for i in range(100)]
    flood("CONTINUATION flood", cont)


def stream_limit():
    """More streams than max_concurrent_streams: the extra ones refused."""
    c = Client()
    sids = [c.request(base("/slow?ms=300")) for i in range(12)]
    refused = 0
    for sid in sids:
        r = c.outcome(sid)
        if r[0] == "reset":
            refused += 1
        elif r[0] != 200:
            fail("max_concurrent_streams", f"stream {sid}: {r}")
    if refused != 2:
        fail("max_concurrent_streams", f"{refused} streams refused, expected 2 of 12 (limit 10)")
    ok("max_concurrent_streams: streams above the limit refused, the others served")


def raw_frames(s, until, secs=3):
    """Reads frames (type, flags, stream, payload) until until(frame) is
    true, EOF or secs pass. Returns them."""
    import time
    out, buf, end = [], b"", time.time() + secs
    s.settimeout(0.2)
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not d:
            break
        buf += d
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            ln = int.from_bytes(buf[:3], "big")
            f = (buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff, buf[9:9 + ln])
            buf = buf[9 + ln:]
            out.append(f)
            if until(f):
                return out
    return out


def stream_states():
    STREAM_CLOSED = 5
    # DATA after END_STREAM: a stream error STREAM_CLOSED (or a connection error)
    s = raw_conn()
    send_all(s, [HeadersFrame(1, headers_block(1), flags=["END_HEADERS", "END_STREAM"]),
                 DataFrame(1, b"x")])
    fr = raw_frames(s, lambda f: f[0] in (3, 7) and f[2] in (0, 1))
    codes = [(f[0], int.from_bytes(f[3][-4:] if f[0] == 3 else f[3][4:8], "big")) for f in fr
             if f[0] in (3, 7)]
    if not any(c in ((3, STREAM_CLOSED), (7, STREAM_CLOSED), (7, PROTOCOL_ERROR)) for c in codes):
        fail("DATA on a half-closed stream", f"frames: {codes}")
    ok("DATA on a half-closed (remote) stream: STREAM_CLOSED")
    # DATA on an idle stream: connection error PROTOCOL_ERROR
    s = raw_conn()
    send_all(s, [DataFrame(3, b"x")])
    if goaway_code(s) != PROTOCOL_ERROR:
        fail("DATA on an idle stream", "no GOAWAY PROTOCOL_ERROR")
    ok("DATA on an idle stream: GOAWAY PROTOCOL_ERROR")
    s = raw_conn()
    send_all(s, [HeadersFrame(2, headers_block(2), flags=["END_HEADERS", "END_STREAM"])])
    if goaway_code(s) != PROTOCOL_ERROR:
        fail("even stream id", "no GOAWAY PROTOCOL_ERROR")
    ok("HEADERS on an even stream id: GOAWAY PROTOCOL_ERROR")


def stalled_head():
    """Half a header block, then nothing: the idle timeout (1 s in the
    test's config) still closes the connection."""
    import time
    s = raw_conn()
    t0 = time.time()
    send_all(s, [HeadersFrame(1, headers_block(1)[:3], flags=["END_STREAM"])])
    raw_frames(s, lambda f: f[0] == 7, secs=5)
    s.settimeout(1)
    try:
        eof = s.recv(1) == b""
    except (socket.timeout, ConnectionResetError) as e:
        eof = isinstance(e, ConnectionResetError)
    if not eof or time.time() - t0 > 4:
        fail("stalled header block", "the connection stayed open")
    ok("a header block that never ends: closed by the idle timeout")


def early_answer():
    """An answer before the request's end: the stream's END_STREAM, then
    RST_STREAM NO_ERROR (RFC 9113 8.1)."""
    s = raw_conn()
    send_all(s, [HeadersFrame(1, headers_block(1, "/respond/x", "POST"), flags=["END_HEADERS"])])
    fr = raw_frames(s, lambda f: f[0] == 3 and f[2] == 1)
    mine = [(f[0], f[1] & 1, f[3] if f[0] == 0 else b"") for f in fr if f[2] == 1]
    if not mine or mine[-1][0] != 3 or fr[-1][3] != b"\0\0\0\0":
        fail("early answer", f"frames of the stream: {mine}")
    if not any(t == 0 and end and d == b"r\n" for t, end, d in mine[:-1]):
        fail("early answer", f"no complete answer before the reset: {mine}")
    ok("an answer before the request's end: END_STREAM, then RST_STREAM NO_ERROR")


def expect_continue():
    """Expect: 100-continue: the upstream's 100 comes as an interim
    HEADERS frame, then the body goes up."""
    c = Client()
    sid = c.request(base("/sha", "POST") + [("expect", "100-continue"),
                                             ("content-length", "3")], end=False)
    if c.outcome(("1xx", sid)) != 100:
        fail("expect: 100-continue", "no interim 100")
    c.c.send_data(sid, b"abc", end_stream=True)
    c.flush()
    r = c.outcome(sid)
    if r[0] != 200 or b"len=3" not in r[1]:
        fail("expect: 100-continue", str(r))
    ok("expect: 100-continue: interim 100, then the body")


def trailers():
    """A chunked answer's trailers come as a trailing HEADERS frame."""
    c = Client()
    sid = c.request(base("/trailers"))
    r = c.outcome(sid)
    t = c.done.get(("trailers", sid))
    if r != (200, b"hello") or t != {b"x-trailer": b"t1", b"grpc-status": b"0"}:
        fail("trailers", f"{r} trailers {t}")
    ok("a chunked answer's trailers: a trailing HEADERS frame")


def flow_control():
    """gwd sends no more than the client's stream window, then the rest
    once the window opens."""
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(PREFACE + SettingsFrame(0, settings={4: 1000}).serialize() +
              HeadersFrame(1, headers_block(1, "/big?n=100000"),
                           flags=["END_HEADERS", "END_STREAM"]).serialize())
    fr = raw_frames(s, lambda f: False, secs=1.5)
    got = sum(len(f[3]) for f in fr if f[0] == 0 and f[2] == 1)
    if got > 1000 or got == 0:
        fail("flow control", f"{got} bytes within a window of 1000")
    s.sendall(WindowUpdateFrame(1, window_increment=200000).serialize() +
              WindowUpdateFrame(0, window_increment=200000).serialize())
    fr = raw_frames(s, lambda f: f[0] == 0 and f[2] == 1 and f[1] & 1)
    got += sum(len(f[3]) for f in fr if f[0] == 0 and f[2] == 1)
    if got != 100000:
        fail("flow control", f"{got} bytes after the window opened, expected 100000")
    ok("flow control: the stream window respected, the rest after WINDOW_UPDATE")


conformance()
trailers()
expect_continue()
early_answer()
stalled_head()
stream_states()
flow_control()
stream_limit()
floods()
c = Client()
if c.outcome(c.request(base()))[0] != 200:
    fail("after the floods", "a new client is not served")
ok("a new client is served after the floods")
