/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: no atomics, no shared cache lines on the fast path. */
#ifndef GW_BPF_STATS_H
#define GW_BPF_STATS_H

#include "maps.h"

static __always_inline void gw_count(void *map, __u32 idx, __u32 bytes)
{
	struct gw_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* The action a reason implies (see the grouping rule in abi.h). */
static __always_inline int gw_reason_action(__u32 reason)
{
	if (reason >= GW_R_FIRST_DROP)
		return GW_ACT_DROP;
	if (reason >= GW_R_FIRST_FORWARD)
		return GW_ACT_FORWARD;
	return GW_ACT_PASS;
}

#endif /* GW_BPF_STATS_H */
