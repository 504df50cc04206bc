#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Writes a gateway.yaml for gw's control-plane benchmarks and reload tests.

Deny prefixes are host routes in 198.19.0.0/16 and 198.18.128.0/17 (IPv4)
and /64s in fd00:ff00::/24 (IPv6): none covers the test hosts (198.18.0.0/17,
fd00:1::/32 .. fd00:ff::/32 below fd00:ff00::). Services are TCP on VIP
198.18.100.3, ports 10000 + i, `nat` to one backend each (the test's
backend 1), so they never touch the tested service on 198.18.100.1.

usage: gen_config.py --pin-root DIR --iface IF [--iface IF]... [--prefixes N]
       [--services N] [--admin-socket PATH] [--keep] [--extra FILE] OUT
--extra FILE: YAML lines appended to the services list (the tested service).
"""
import argparse
import ipaddress


def prefixes(n):
    """Yields n distinct deny prefixes (strings), IPv4 first."""
    v4 = [ipaddress.ip_network("198.19.0.0/16"), ipaddress.ip_network("198.18.128.0/17")]
    i = 0
    for net in v4:
        for k in range(net.num_addresses):
            if i == n:
                return
            yield "%s/32" % (net.network_address + k)
            i += 1
    base = int(ipaddress.ip_address("fd00:ff00::"))
    k = 0
    while i < n:
        yield "%s/64" % ipaddress.ip_address(base + (k << 64))
        k += 1
        i += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pin-root", required=True)
    ap.add_argument("--iface", action="append", required=True)
    ap.add_argument("--prefixes", type=int, default=0)
    ap.add_argument("--services", type=int, default=0)
    ap.add_argument("--admin-socket")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--rate", help="packets_per_source rate, e.g. 100000/s")
    ap.add_argument("--extra")
    ap.add_argument("out")
    a = ap.parse_args()
    if a.services > 1000:
        ap.error("at most 1000 services (gw_maglev holds 1023)")
    with open(a.out, "w") as f:
        f.write("version: 1\ngateway:\n  pin_root: %s\n" % a.pin_root)
        if a.admin_socket:
            f.write("  admin_socket: %s\n" % a.admin_socket)
        f.write("  interfaces: [%s]\n" % ", ".join(a.iface))
        f.write("  keep_datapath_on_exit: %s\n" % ("true" if a.keep else "false"))
        f.write("filter:\n  deny:\n")
        f.write("    - 198.18.99.0/24\n")
        for p in prefixes(a.prefixes):
            f.write("    - %s\n" % p)
        if a.rate:
            f.write("rate_limits:\n  packets_per_source: { rate: %s, burst: 100000 }\n" % a.rate)
        f.write("services:\n")
        for i in range(a.services):
            f.write("  - { name: s%d, vip: 198.18.100.3, port: %d, protocol: tcp, "
                    "forwarding: nat, backends: [198.18.11.2:%d] }\n" % (i, 10000 + i, 8080))
        if a.extra:
            with open(a.extra) as e:
                f.write(e.read())
        if not a.services and not a.extra:
            f.write("  []\n")


if __name__ == "__main__":
    main()
