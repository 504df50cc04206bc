#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# An HTTPS origin for the upstream TLS tests (test_l7_uptls.sh): thread per
# connection, keep-alive, GET only. Each request is logged to LOG as
# "NAME METHOD PATH reused=0|1 client=SUBJECT" (reused: the TLS session was
# resumed; client: the verified client certificate's CN, "-" without one).
#
#   tls_origin.py NAME ADDR PORT CERT KEY LOG LIFE [CLIENT_CA]
#
# With CLIENT_CA a client certificate signed by it is required. A path
# containing "/close" is answered with "Connection: close", so the next
# request needs a new connection (and shows session reuse). The answer is
# "NAME METHOD PATH" and the request's headers, one a line.
import socket
import ssl
import sys
import threading
import time

name, addr, port, cert, key, logf, life = sys.argv[1:8]
port, life = int(port), float(life)
client_ca = sys.argv[8] if len(sys.argv) > 8 else None
lock = threading.Lock()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if client_ca:
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED


def log(line):
    with lock, open(logf, "a") as f:
        f.write(line + "\n")


def subject_cn(s):
    c = s.getpeercert()
    if not c:
        return "-"
    for rdn in c.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return "?"


def serve(raw):
    raw.settimeout(10)
    s = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
    try:
        s.do_handshake()
    except (ssl.SSLError, OSError) as e:
        log("%s handshake-failed %s" % (name, type(e).__name__))
        # a lingering close: closing with the client's request unread
        # would reset the connection and could drop the alert before the
        # client reads it (s has taken raw's descriptor)
        try:
            s.shutdown(socket.SHUT_WR)
            s.settimeout(1)
            while s.recv(4096):
                pass
        except (ssl.SSLError, OSError):
            pass
        s.close()
        return
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    return
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            log("%s %s %s reused=%d client=%s" % (name, method, path, int(s.session_reused),
                                                  subject_cn(s)))
            body = ("%s %s %s\n" % (name, method, path) + "\n".join(lines[1:]) + "\n").encode()
            close = "/close" in path
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n"
                      % (len(body), b"Connection: close\r\n" if close else b"") + body)
            if close:
                return
    except (ssl.SSLError, OSError):
        return
    finally:
        try:
            s.close()
        except OSError:
            pass


fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
ls = socket.socket(fam, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(128)
ls.settimeout(0.5)
end = time.time() + life
while time.time() < end:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
