/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Whether this kernel and this OpenSSL can do kernel TLS (kTLS): the tls
 * ULP ("tls" in /proc/sys/net/ipv4/tcp_available_ulp once its module is
 * loaded) and an OpenSSL built with kTLS. gwd probes once with `load` set
 * before its TLS listeners start: TCP_ULP "tls" on an unconnected TCP
 * socket makes the kernel load the module (CAP_NET_ADMIN) and then refuse
 * the socket (ENOTCONN), so nothing is attached; that refusal is the
 * answer, in any netns. gwctl only reads (tcp_available_ulp, which 6.1
 * has in the initial netns only, or /sys/module/tls). The
 * answer is what `gwctl status` prints on its "ktls:" line (docs/tls.md).
 */
#ifndef GW_KTLSPROBE_H
#define GW_KTLSPROBE_H

#include <stddef.h>

/*
 * Probes (the first call with load = 1 may load the module; later calls
 * return what it found). Returns 1 when kTLS is available, else 0 with the
 * reason in why (e.g. "the kernel has no tls module").
 */
int gw_ktls_probe(int load, char *why, size_t len);

/* "available", or "unavailable (REASON)", in buf. Returns buf. */
char *gw_ktls_probe_line(char *buf, size_t len);

#endif /* GW_KTLSPROBE_H */
