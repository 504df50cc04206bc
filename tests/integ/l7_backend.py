#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A small HTTP/1.1 origin for the L7 proxy tests (test_l7_proxy.sh).
# Thread per connection, keep-alive, Content-Length and chunked request
# bodies. Every request line is appended to LOG (so a test can prove a
# request never arrived) and every accepted connection is counted.
#
#   l7_backend.py NAME ADDR PORT LOG LIFE [DROP]   (ADDR "::": every v4 and v6 address)
#
# DROP (0 to 1, default 0): after each answer the connection is closed with
# that probability, without "Connection: close" and at a random moment
# within 3 ms, as an origin that reaps idle keep-alive connections does: a
# request the proxy sends on it meanwhile meets an EOF or a reset.
#
# Paths:
#   /conns           "NAME conns=N" (connections accepted so far)
#   /sha             the body's sha256 and length: "NAME sha256=HEX len=N"
#   /echo            the body back, streamed (Content-Length or chunked as sent)
#   /big?n=BYTES     BYTES of a fixed pattern, chunked
#   /slow?ms=MS      answers after MS milliseconds
#   /trailers        "hello" chunked, then the trailers X-Trailer: t1, Grpc-Status: 0
#   /ws              Upgrade: websocket -> 101, then echoes raw bytes
#   /resp?h=N:V&n=B  answer with field "N: V" (h repeats) and B bytes of body
#                    (numbered lines); &chunked=1: chunked, 5000 bytes a chunk;
#                    &gap=MS: MS milliseconds before each chunk but the first
#   /garbage         a line that is no HTTP, then close
#   /short           Content-Length: 100 with 10 bytes, then close
#   anything else    "NAME METHOD PATH" and the request headers, one a line
import hashlib
import random
import socket
import sys
import threading
import time
import urllib.parse

name, addr, port, logf, life = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
drop = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
lock = threading.Lock()
conns = 0
PATTERN = bytes(range(256)) * 256


def log(line):
    with lock:
        with open(logf, "a") as f:
            f.write(line + "\n")


class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise EOFError
            self.fill()
        i = self.buf.index(b"\r\n")
        ln, self.buf = self.buf[:i], self.buf[i + 2:]
        return ln

    def exact(self, n):
        out = []
        while n:
            if not self.buf:
                self.fill()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            n -= len(take)
            out.append(take)
        return b"".join(out)

    def body_chunks(self, hdrs):
        """Yields the request body in pieces (CL or chunked)."""
        if hdrs.get("transfer-encoding", "").lower().endswith("chunked"):
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    return
                left = size
                while left:
                    piece = self.exact(min(left, 65536))
                    left -= len(piece)
                    yield piece
                self.line()
        else:
            left = int(hdrs.get("content-length", "0"))
            while left:
                piece = self.exact(min(left, 65536))
                left -= len(piece)
                yield piece


def answer(c, code, body, extra=b"", close=False):
    head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (code, len(body)) + extra
    if close:
        head += b"Connection: close\r\n"
    c.s.sendall(head + b"\r\n" + body)


def serve(s):
    global conns
    with lock:
        conns += 1
    c = Conn(s)
    try:
        while True:
            req = c.line()
            while not req:
                req = c.line()
            method, target, _ = req.decode().split(" ", 2)
            log("%s %s" % (method, target))
            hdrs, raw = {}, []
            while True:
                ln = c.line()
                if not ln:
                    break
                k, v = ln.decode().split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
                raw.append(ln.decode())
            path = target.split("?")[0]
            close = hdrs.get("connection", "").lower() == "close"
            if hdrs.get("expect", "").lower() == "100-continue":
                c.s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if path == "/sha":
                h, n = hashlib.sha256(), 0
                for piece in c.body_chunks(hdrs):
                    h.update(piece)
                    n += len(piece)
                log("sha %s %d" % (h.hexdigest(), n))
                answer(c, 200, ("%s sha256=%s len=%d\n" % (name, h.hexdigest(), n)).encode(), close=close)
            elif path == "/echo":
                if "content-length" in hdrs:
                    c.s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n" % hdrs["content-length"].encode())
                    for piece in c.body_chunks(hdrs):
                        c.s.sendall(piece)
                else:
                    c.s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    for piece in c.body_chunks(hdrs):
                        c.s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    c.s.sendall(b"0\r\n\r\n")
            elif path == "/big":
                n = int(target.split("n=")[1])
                c.s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                while n:
                    piece = PATTERN[: min(n, len(PATTERN))]
                    c.s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    n -= len(piece)
                c.s.sendall(b"0\r\n\r\n")
            elif path == "/trailers":
                c.s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n"
                            b"2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\nX-Trailer: t1\r\nGrpc-Status:  0\r\n\r\n")
            elif path == "/slow":
                for _ in c.body_chunks(hdrs):
                    pass
                time.sleep(int(target.split("ms=")[1]) / 1000.0)
                answer(c, 200, ("%s slow\n" % name).encode(), close=close)
            elif path == "/garbage":
                c.s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                return
            elif path == "/short":
                c.s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                return
            elif path == "/conns":
                with lock:
                    n = conns
                answer(c, 200, ("%s conns=%d\n" % (name, n)).encode(), close=close)
            elif path == "/ws" and hdrs.get("upgrade", "").lower() == "websocket":
                c.s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            b"Connection: Upgrade\r\n\r\n")
                if c.buf:
                    c.s.sendall(c.buf)
                while True:
                    d = c.s.recv(65536)
                    if not d:
                        return
                    c.s.sendall(d)
            elif path == "/resp":
                for _ in c.body_chunks(hdrs):
                    pass
                q = urllib.parse.parse_qs(target.partition("?")[2])
                extra = "".join("%s: %s\r\n" % tuple(h.split(":", 1)) for h in q.get("h", []))
                n = int(q.get("n", ["0"])[0])
                data = (b"%08d abcdefghijklmnopqrstuvwxyz\n" * (n // 36 + 1)) % tuple(range(n // 36 + 1))
                if q.get("chunked"):
                    c.s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + extra.encode() + b"\r\n")
                    gap = int(q.get("gap", ["0"])[0])
                    for i in range(0, n, 5000):
                        if gap and i:
                            time.sleep(gap / 1000)
                        piece = data[i:min(i + 5000, n)]
                        c.s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    c.s.sendall(b"0\r\n\r\n")
                else:
                    answer(c, 200, data[:n], extra.encode(), close=close)
            else:
                for _ in c.body_chunks(hdrs):
                    pass
                body = "%s %s %s\n" % (name, method, target) + "".join(h + "\n" for h in raw)
                answer(c, 200, body.encode(), close=close)
            if close:
                return
            if drop and random.random() < drop:
                time.sleep(random.random() * 0.003)
                log("dropped")
                return
    except (EOFError, OSError, ValueError, IndexError):
        pass
    finally:
        s.close()


def main():
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if addr == "::":
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # v4 and v6
    ls.bind((addr, port))
    ls.listen(512)
    threading.Thread(target=lambda: (time.sleep(life), ls.close()), daemon=True).start()
    end = time.time() + life
    ls.settimeout(1)
    while time.time() < end:
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        s.settimeout(life)
        threading.Thread(target=serve, args=(s,), daemon=True).start()


main()
