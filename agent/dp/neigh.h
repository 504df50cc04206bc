/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Asking the kernel to resolve the neighbour (next hop) toward backends
 * ahead of their first packet (agent/dp/neigh.c).
 */
#ifndef GW_NEIGH_H
#define GW_NEIGH_H

#include <stddef.h>
#include "core/addr.h"

/* Starts resolution of the next hop toward each of the n addresses (a
 * route lookup, then an RTM_NEWNEIGH with NTF_USE: no packet is sent to
 * the backend). Returns 0, or the first negative errno (the others are
 * still tried; an unroutable address gives -ENETUNREACH). */
int gw_neigh_resolve(const struct gw_ip *const *ips, size_t n);

struct gw_dp_maps;
struct mnl_socket;
struct nlmsghdr;

/* Sends nlh (which asks for an ACK) on nl and runs cb (a libmnl
 * mnl_cb_t; NULL: none) over the answer until the ACK; buf holds
 * MNL_SOCKET_BUFFER_SIZE bytes. Returns 0 or a negative errno (the
 * kernel's answer to the request). */
int gw_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, char *buf,
	       int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* gw_neigh_resolve() for every valid backend's address (gwd, when the
 * kernel reports a neighbour failed or gone). Returns 0 or a negative
 * errno. */
int gw_neigh_resolve_backends(const struct gw_dp_maps *m);

#endif /* GW_NEIGH_H */
