#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# An HTTP/2 origin (python3-h2, asyncio) that counts what gwd does to it,
# for test_l7_h2_upstream.sh.
#
#   h2_origin.py PORT LOG LIFE [--streams N] [--goaway K] [--delay S]
#                [--tls CERT KEY] [--alpn http/1.1]
#
# Answers every request after S seconds (default 0.3, so that streams
# overlap) with 200 and the body "ok PATH\n" (a POST: "ok PATH LEN\n").
# --streams N advertises SETTINGS_MAX_CONCURRENT_STREAMS N. --goaway K:
# on each of the first two connections, at its K-th request, answers only
# the streams up to the (K-2)-th request's, then sends GOAWAY with that
# last stream ID and closes. --tls serves TLS with ALPN (h2 unless --alpn). LOG gets one
# line per event: "accept C", "conc C N" (streams open at once on
# connection C), "req C ID PATH", "goaway C LAST".
import argparse
import asyncio
import ssl

import h2.config
import h2.connection
import h2.events
import h2.settings

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("log")
ap.add_argument("life", type=float)
ap.add_argument("--streams", type=int, default=0)
ap.add_argument("--goaway", type=int, default=0)
ap.add_argument("--delay", type=float, default=0.3)
ap.add_argument("--tls", nargs=2)
ap.add_argument("--alpn", default="h2")
args = ap.parse_args()
logf = open(args.log, "a", buffering=1)
nconn = 0


def log(*a):
    logf.write(" ".join(str(x) for x in a) + "\n")


async def serve(reader, writer):
    global nconn
    nconn += 1
    cid = nconn
    log("accept", cid)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    if args.streams:
        conn.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: args.streams})
    writer.write(conn.data_to_send())
    open_ = {}
    bodies = {}
    nreq = 0
    last = None
    ids = []
    top = 0

    async def answer(sid, path, n):
        await asyncio.sleep(args.delay)
        if sid not in open_:
            return
        body = (f"ok {path} {n}\n" if n is not None else f"ok {path}\n").encode()
        try:
            conn.send_headers(sid, [(":status", "200"), ("content-length", str(len(body)))])
            conn.send_data(sid, body, end_stream=True)
            writer.write(conn.data_to_send())
        except Exception:
            pass
        open_.pop(sid, None)

    tasks = []
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    h = dict(ev.headers)
                    path = h.get(b":path", b"").decode()
                    nreq += 1
                    ids.append(ev.stream_id)
                    log("req", cid, ev.stream_id, path)
                    if last is not None and ev.stream_id > last:
                        continue
                    open_[ev.stream_id] = (path, h.get(b":method") == b"POST")
                    bodies[ev.stream_id] = 0
                    top = max(top, len(open_))
                    log("conc", cid, len(open_))
                    if args.goaway and nreq == args.goaway and last is None and cid <= 2:
                        last = ids[-3] if len(ids) >= 3 else 0
                        for s in list(open_):
                            if s > last:
                                open_.pop(s)
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if ev.stream_id in bodies:
                        bodies[ev.stream_id] += len(ev.data)
                elif isinstance(ev, h2.events.StreamEnded):
                    if ev.stream_id in open_:
                        path, post = open_[ev.stream_id]
                        n = bodies[ev.stream_id] if post else None
                        tasks.append(asyncio.ensure_future(answer(ev.stream_id, path, n)))
                elif isinstance(ev, h2.events.StreamReset):
                    open_.pop(ev.stream_id, None)
            writer.write(conn.data_to_send())
            if last is not None:
                # the streams up to last are answered, then GOAWAY (h2
                # sends nothing after its GOAWAY) and the end
                await asyncio.gather(*tasks)
                conn.close_connection(last_stream_id=last)
                writer.write(conn.data_to_send())
                log("goaway", cid, last)
                break
    except Exception as e:
        log("error", cid, repr(e))
    try:
        await writer.drain()
        writer.close()
    except Exception:
        pass


async def main():
    ctx = None
    if args.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        ctx.set_alpn_protocols([args.alpn])
    srv = await asyncio.start_server(serve, None, args.port, ssl=ctx)
    async with srv:
        await asyncio.sleep(args.life)

asyncio.run(main())
