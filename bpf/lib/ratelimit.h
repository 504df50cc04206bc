/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* STUB: replaced by the rate limiter. Returns GW_R_NONE, DROP_RATELIMIT or DROP_SYN_RATELIMIT. */
#ifndef GW_BPF_RATELIMIT_H
#define GW_BPF_RATELIMIT_H
#include "ctx.h"
#include "maps.h"
static __always_inline __u32 gw_ratelimit(struct gw_pkt *p, const struct gw_config *cfg, __u64 now)
{
	return GW_R_NONE;
}
#endif
