#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Clients of test_l7_splice.sh.
#
#   splice_client.py ws HOST PORT PATH ROUNDS SEED METRICS_URL [HOLD]
#       Upgrade: websocket on PATH, then ROUNDS echo rounds of random sizes
#       (0-256 KiB, from SEED) against l7_backend.py's /ws echo, compared by
#       SHA-256 of all bytes sent and all bytes received. Before the close it
#       reads gw_spliced_connections from METRICS_URL. With HOLD (seconds) it
#       prints "holding" and keeps the tunnel open that long, echoing one
#       byte a second (for SIGTERM, kill -9 and reload tests).
#       Prints "ok ROUNDS BYTES spliced=N" or "bad ...".
#   splice_client.py flood HOST PORT PATH MIB
#       Upgrade, then MIB MiB sent by a thread while the reader waits 1 s
#       before it reads (the echo backend stalls meanwhile: the splice's
#       lag watchdog must hand the connection back to user space); then
#       every byte must come back in order. Prints "ok MIB" or "bad ...".
#   splice_client.py keepalive HOST PORT PATH1 PATH2
#       Two requests on one connection; prints each answer's status line and
#       its body's first line.
import hashlib
import random
import re
import socket
import sys
import time
import urllib.request


def metric(url, name):
    try:
        text = urllib.request.urlopen(url, timeout=3).read().decode()
    except OSError:
        return "?"
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return m.group(1) if m else "?"


def head(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("no head")
        buf += d
    h, rest = buf.split(b"\r\n\r\n", 1)
    return h.decode("latin-1"), rest


def ws(host, port, path, rounds, seed, murl, hold=0.0):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % path).encode())
    h, rest = head(s)
    if not h.startswith("HTTP/1.1 101"):
        print("bad head " + h.split("\r\n")[0])
        return
    rnd = random.Random(seed)
    tx, rx, total = hashlib.sha256(), hashlib.sha256(), 0
    for _ in range(rounds):
        n = rnd.randrange(0, 256 * 1024)
        msg = rnd.randbytes(n) if hasattr(rnd, "randbytes") else bytes(rnd.getrandbits(8) for _ in range(n))
        s.sendall(msg)
        tx.update(msg)
        got = rest
        while len(got) < n:
            d = s.recv(262144)
            if not d:
                print("bad eof")
                return
            got += d
        rx.update(got[:n])
        rest = got[n:]
        total += n
    spliced = metric(murl, "gw_spliced_connections")
    if hold:
        print("holding", flush=True)
        end = time.time() + hold
        while time.time() < end:
            try:
                s.sendall(b"h")
                if s.recv(1) != b"h":
                    print("hold-eof", flush=True)
                    return
            except OSError as e:
                print("hold-error %s" % e.__class__.__name__, flush=True)
                return
            time.sleep(0.2)
    s.shutdown(socket.SHUT_WR)
    tail = rest
    while True:
        d = s.recv(65536)
        if not d:
            break
        tail += d
    ok = tx.digest() == rx.digest() and not tail
    print("%s %d %d spliced=%s" % ("ok" if ok else "bad", rounds, total, spliced))


def flood(host, port, path, mib):
    import threading
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "\r\n" % path).encode())
    h, rest = head(s)
    if not h.startswith("HTTP/1.1 101"):
        print("bad head " + h.split("\r\n")[0])
        return
    total = mib << 20
    block = bytes(random.Random(mib).getrandbits(8) for _ in range(65536))
    tx = hashlib.sha256()

    def send():
        try:
            for _ in range(total // len(block)):
                s.sendall(block)
        except OSError:
            pass
    for _ in range(total // len(block)):
        tx.update(block)
    t = threading.Thread(target=send)
    t.start()
    time.sleep(1)
    rx, got = hashlib.sha256(), len(rest)
    rx.update(rest)
    try:
        while got < total:
            d = s.recv(262144)
            if not d:
                break
            rx.update(d)
            got += len(d)
    except ConnectionResetError:
        print("reset %d" % got)
        return
    t.join()
    print("ok %d" % mib if got == total and rx.digest() == tx.digest() else "bad %d of %d" % (got, total))


def keepalive(host, port, p1, p2):
    s = socket.create_connection((host, port), timeout=10)
    rest = b""
    for p in (p1, p2):
        s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % p).encode())
        h, rest = head(s, rest)
        m = re.search(r"^content-length: *(\d+)", h, re.I | re.M)
        n = int(m.group(1)) if m else 0
        while len(rest) < n:
            rest += s.recv(65536)
        body, rest = rest[:n], rest[n:]
        print(h.split("\r\n")[0])
        print(body.decode("latin-1").split("\n")[0])


if __name__ == "__main__":
    if sys.argv[1] == "ws":
        ws(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
           sys.argv[7], float(sys.argv[8]) if len(sys.argv) > 8 else 0.0)
    elif sys.argv[1] == "flood":
        flood(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    else:
        keepalive(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
