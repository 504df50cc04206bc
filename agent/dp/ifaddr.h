/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The addresses of the gateway's interfaces, read from the kernel over
 * rtnetlink (libmnl), written into gw_ifaddr: the datapath takes the source
 * of NATed and encapsulated packets leaving an interface from there.
 * Every function returns 0 or a negative errno.
 */
#ifndef GW_IFADDR_H
#define GW_IFADDR_H

#include <stddef.h>
#include "gw/abi.h"

/* Fills *out with the addresses of ifindex: the first primary global IPv4
 * address and the first global IPv6 address that is neither tentative nor
 * deprecated (link-local and ULA-less hosts fall back to none). flags says
 * which were found; -ENODEV when the interface does not exist. */
int gw_ifaddr_read(int ifindex, struct gw_ifaddr *out);

/* Reads ifindex's addresses and writes them to the gw_ifaddr map (an entry
 * with no address is still written: it marks the interface as gw's). */
int gw_ifaddr_sync_one(int map_fd, int ifindex);

/* Refreshes every entry of the map; entries of interfaces that no longer
 * exist are removed. *n (optional) gets the number of entries kept. */
int gw_ifaddr_sync_all(int map_fd, unsigned int *n);

/* Sets then clears flags (GW_IFADDR_F_TC_HELPER, _XDP_SLOW) of the
 * gw_ifaddr entry of ifindex, which must exist (else -ENOENT); the sync
 * functions above keep them. */
int gw_ifaddr_flags_set(int map_fd, int ifindex, __u32 set, __u32 clear);

#endif /* GW_IFADDR_H */
