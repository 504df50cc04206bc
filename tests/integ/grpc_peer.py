#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A gRPC server and client (python3-grpcio, raw bytes, no generated code)
# for test_l7_grpc.sh.
#
#   grpc_peer.py server PORT LIFE [CERT KEY]
#                                     serves test.Svc until LIFE seconds pass
#                                     (over TLS given CERT and KEY)
#   grpc_peer.py client ADDR [AUTHORITY]
#                                     calls through ADDR, prints one line per check
#
# test.Svc: Echo (unary: the request back), Count (server streaming: N
# messages "0".."N-1" for a request "N"), Sum (client streaming: the total
# length), Chat (bidirectional: each message back upper-cased), Fail
# (unary: NOT_FOUND "no such thing"), Sleep (unary: sleeps, for deadlines).
import sys
import time
from concurrent import futures

import grpc


def ident(b):
    return b


def server(port, life, tls):
    def echo(req, ctx):
        return req

    def count(req, ctx):
        for i in range(int(req)):
            yield str(i).encode()

    def total(it, ctx):
        return str(sum(len(m) for m in it)).encode()

    def chat(it, ctx):
        for m in it:
            yield m.upper()

    def fail(req, ctx):
        ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    def sleep(req, ctx):
        time.sleep(float(req))
        return b"late"

    h = grpc.method_handlers_generic_handler("test.Svc", {
        "Echo": grpc.unary_unary_rpc_method_handler(echo, ident, ident),
        "Count": grpc.unary_stream_rpc_method_handler(count, ident, ident),
        "Sum": grpc.stream_unary_rpc_method_handler(total, ident, ident),
        "Chat": grpc.stream_stream_rpc_method_handler(chat, ident, ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
        "Sleep": grpc.unary_unary_rpc_method_handler(sleep, ident, ident),
    })
    s = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    s.add_generic_rpc_handlers((h,))
    if tls:
        with open(tls[0], "rb") as c, open(tls[1], "rb") as k:
            cred = grpc.ssl_server_credentials([(k.read(), c.read())])
        s.add_secure_port(f"[::]:{port}", cred)
    else:
        s.add_insecure_port(f"[::]:{port}")
    s.start()
    time.sleep(life)
    s.stop(0)


def client(addr, authority):
    opts = [("grpc.default_authority", authority)] if authority else []
    ch = grpc.insecure_channel(addr, options=opts)
    uu = ch.unary_unary("/test.Svc/Echo")
    print("echo", uu(b"hello", timeout=5).decode())
    print("count", ",".join(m.decode() for m in ch.unary_stream("/test.Svc/Count")(b"5", timeout=5)))
    print("sum", ch.stream_unary("/test.Svc/Sum")(iter([b"ab", b"cde", b"f" * 100000]), timeout=5).decode())
    print("chat", ",".join(m.decode() for m in ch.stream_stream("/test.Svc/Chat")(iter([b"a", b"b", b"c"]), timeout=5)))
    try:
        ch.unary_unary("/test.Svc/Fail")(b"", timeout=5)
        print("fail OK")
    except grpc.RpcError as e:
        print("fail", e.code().name, e.details())
    try:
        ch.unary_unary("/test.Svc/Sleep")(b"2", timeout=0.5)
        print("deadline OK")
    except grpc.RpcError as e:
        print("deadline", e.code().name)
    print("echo", uu(b"again", timeout=5).decode())


if sys.argv[1] == "server":
    server(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:6])
else:
    client(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
