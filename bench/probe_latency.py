#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""How soon a gwctl filter change reaches the datapath, seen by probes.

Run in the client's network namespace. It sends a UDP probe every INTERVAL
to HOST:PORT (a service whose backend answers every datagram) and, between
probes, runs the change commands: `GWCTL... filter deny add CIDR` and, when
--toggle, `... filter deny del CIDR` alternately, ITERATIONS in all, each
after the previous one returned and SETTLE seconds of probing. CIDR must
cover this host, so a deny stops the answers and its removal restores them.

For each change, the moment the datapath showed it is the send time of the
first probe of the last run of probes that behave as the new state says
(unanswered after an add, answered after a del) before the next change;
the latency is that moment minus the time gwctl returned (negative: the
change was in place before gwctl returned, as it should be; the resolution
is one probe interval). Prints one JSON object: per change kind, the
latencies after gwctl returned and after it was started (ms), and gwctl's
own round trip.
"""
import argparse
import json
import select
import socket
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cidr", required=True)
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--toggle", action="store_true")
    ap.add_argument("--interval", type=float, default=0.0005)
    ap.add_argument("--settle", type=float, default=0.05)
    ap.add_argument("--baseline", type=float, default=0.2)
    ap.add_argument("gwctl", nargs="+")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    s.setblocking(False)
    sent = []          # send time (ns) of probe i
    answered = set()
    changes = []       # (kind, t_start, t_return, first probe index after it)
    seq = 0

    def probe_until(deadline_ns, proc=None):
        """Probes until deadline (or until proc ends); returns its end time."""
        nonlocal seq
        while True:
            now = time.monotonic_ns()
            if proc is not None and proc.poll() is not None:
                return now
            if now >= deadline_ns:
                return now
            if not sent or now - sent[-1] >= a.interval * 1e9:
                s.sendto(b"p%d" % seq, (a.host, a.port))
                sent.append(time.monotonic_ns())
                seq += 1
            r, _, _ = select.select([s], [], [], a.interval / 4)
            while r:
                try:
                    d = s.recv(2048)
                except BlockingIOError:
                    break
                tok = d.split()[-1]
                if tok.startswith(b"p"):
                    answered.add(int(tok[1:]))

    probe_until(time.monotonic_ns() + int(a.baseline * 1e9))
    for i in range(a.iterations):
        kind = "del" if a.toggle and i % 2 else "add"
        cmd = a.gwctl + ["filter", "deny", kind, a.cidr]
        first = seq
        t0 = time.monotonic_ns()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = probe_until(t0 + 10 * 10**9, p)
        if p.wait() != 0:
            sys.exit("%s failed: %s" % (" ".join(cmd), p.stderr.read().decode().strip()))
        changes.append((kind, t0, t1, first))
        probe_until(t1 + int(a.settle * 1e9))
    probe_until(time.monotonic_ns() + 300 * 10**6)  # late answers

    res = {"probes": len(sent), "interval_ms": a.interval * 1e3, "changes": []}
    for i, (kind, t0, t1, first) in enumerate(changes):
        end = changes[i + 1][3] if i + 1 < len(changes) else len(sent)
        want_answered = kind == "del"
        k = end
        while k > first and ((k - 1) in answered) == want_answered:
            k -= 1
        if k == end:
            res["changes"].append({"kind": kind, "error": "the change never showed"})
            continue
        t_vis = sent[k]  # an upper bound: the change was there by then
        res["changes"].append({"kind": kind, "gwctl_ms": (t1 - t0) / 1e6,
                               "after_return_ms": (t_vis - t1) / 1e6,
                               "after_start_ms": (t_vis - t0) / 1e6,
                               "probes_before": first, "baseline_answered":
                               sum(1 for j in range(first) if j in answered)})
    json.dump(res, sys.stdout)
    print()


if __name__ == "__main__":
    main()
