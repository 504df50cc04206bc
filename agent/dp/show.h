/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Names and look-ups the datapath's readers share (gw-dpctl's tables, the
 * admin protocol's JSON): protocol and origin names, endpoints in the ABI's
 * layout as text, a service's and a backend's entries by address.
 */
#ifndef GW_SHOW_H
#define GW_SHOW_H

#include <stddef.h>
#include <linux/types.h>
#include "gw/abi.h"
#include "core/addr.h"
#include "dp/dp.h"

/* "tcp", "udp", "icmp", "icmp6" or "?". */
const char *gw_proto_str(__u8 proto);

/* A filter entry's origin: "config", "cli", "auto-ban" or "?". */
const char *gw_origin_str(__u8 origin);

/* "addr:port" of an address in the ABI's layout (port in network order;
 * a zero port prints the address alone). Returns buf. */
const char *gw_abi_ep_str(const __be32 addr[4], __u8 family, __be16 port, char *buf, size_t len);

/* The gw_services entry of vip/proto. Returns 0 or -ENOENT. */
int gw_svc_lookup(const struct gw_dp_maps *m, const struct gw_endpoint *vip, __u8 proto,
		  struct gw_svc *svc);

/* The valid backend of service svc_id at ep (address and port). Returns 0
 * with *b filled, or -ENOENT. */
int gw_backend_find(const struct gw_dp_maps *m, __u32 svc_id, const struct gw_endpoint *ep,
		    struct gw_backend *b);

#endif /* GW_SHOW_H */
