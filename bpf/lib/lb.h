/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* STUB: replaced by L4 service steering. */
#ifndef GW_BPF_LB_H
#define GW_BPF_LB_H
#include "ctx.h"
#include "maps.h"
/* A reply from a backend of a `nat` service: translate back and forward.
 * Returns GW_R_NONE when the packet is no such reply. */
static __always_inline __u32 gw_nat_reply(struct gw_pkt *p, const struct gw_config *cfg,
					  struct gw_fwd *fwd, const enum gw_hook hook)
{
	return GW_R_NONE;
}
/* A packet to a service VIP: pick the backend (conntrack, then Maglev),
 * translate or encapsulate, and forward. GW_R_NONE when no service matches. */
static __always_inline __u32 gw_service(struct gw_pkt *p, const struct gw_config *cfg, __u64 now,
					struct gw_fwd *fwd, const enum gw_hook hook)
{
	return GW_R_NONE;
}
#endif
