#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# h2_burst.py HOST PORT PREFIX N: N GETs of /PREFIX/1 .. /PREFIX/N sent at
# once on one h2c connection (python3-h2); prints "STATUS BODY" per
# answer, in the order they end. At most 20 s.
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events

host, port, prefix, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection((host, port), timeout=20)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
s.sendall(c.data_to_send())
st, body, left = {}, {}, set()
for i in range(1, n + 1):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":authority", host),
                         (":path", f"/{prefix}/{i}")], end_stream=True)
    left.add(sid)
    body[sid] = b""
s.sendall(c.data_to_send())
end = time.time() + 20
while left and time.time() < end:
    data = s.recv(65536)
    if not data:
        break
    for ev in c.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            st[ev.stream_id] = dict(ev.headers).get(b":status", b"?").decode()
        elif isinstance(ev, h2.events.DataReceived):
            c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            body[ev.stream_id] += ev.data
        elif isinstance(ev, h2.events.StreamEnded):
            left.discard(ev.stream_id)
            print(st.get(ev.stream_id, "?"), body[ev.stream_id].decode().strip(), flush=True)
        elif isinstance(ev, h2.events.StreamReset):
            left.discard(ev.stream_id)
            print("reset", ev.error_code, flush=True)
    s.sendall(c.data_to_send())
for sid in left:
    print("unanswered", sid)
