/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* STUB: replaced by the IP filter. Returns GW_R_NONE, DROP_FILTER or DROP_BAN. */
#ifndef GW_BPF_FILTER_H
#define GW_BPF_FILTER_H
#include "ctx.h"
#include "maps.h"
static __always_inline __u32 gw_filter(struct gw_pkt *p, const struct gw_config *cfg, __u64 now)
{
	return GW_R_NONE;
}
#endif
