/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The filter's verdict cache: one per-CPU, direct-mapped table
 * (gw_verdict_cache, GW_VERDICT_SLOTS slots; a hash of the source picks the
 * slot) of the last verdict the LPM walks gave a source: passed, or denied
 * by the static filter (a static deny, or no match under default deny).
 * A packet whose source holds its slot under the current filter tag, set
 * less than GW_FILTER_CACHE_NS ago, skips both walks. Ban drops are never
 * cached (bans expire); any change through agent/dp/filter.c moves the tag
 * on. A source that does not hold its slot (a collision, or a flood of new
 * sources) walks the tries and takes the slot over: fixed memory, one store
 * per walk. docs/datapath-l3.md ("Verdict cache") has the correctness
 * argument. The same cache serves pass and deny, with or without rate
 * limits, for both families.
 */
#ifndef GW_BPF_VERDICT_H
#define GW_BPF_VERDICT_H

#include "ctx.h"
#include "maps.h"

/* How long a cached verdict stands without a new walk even when gw_config's
 * filter_gen is unchanged: bounds the damage of a gw_config writer that
 * drops filter_gen or a trie written behind its back, and makes a wrap of
 * the 32-bit generation harmless (2^31 filter changes within a second are
 * impossible). */
#define GW_FILTER_CACHE_NS 1000000000ull

/* What gw_verdict_get says when the slot holds nothing current. */
#define GW_VERDICT_MISS 0xffffffffu

/* The tag under which a verdict is cached: the filter generation and the
 * default action (a default flip changes every verdict). */
static __always_inline __u32 gw_filter_tag(const struct gw_config *cfg)
{
	return cfg->filter_gen * 2 + ((cfg->flags & GW_CFG_F_DEFAULT_DENY) ? 1 : 0);
}

/* Returns the slot of f's source on this CPU, or NULL. */
static __always_inline struct gw_verdict_ent *gw_verdict_slot(const struct gw_flow *f)
{
	__u32 idx = gw_verdict_slot_of(f->saddr);

	return bpf_map_lookup_elem(&gw_verdict_cache, &idx);
}

/* The cached verdict of f's source in slot v under `tag` at `now` (either
 * clock: a stamp up to GW_COARSE_LAG_NS in now's future counts as
 * current). Returns GW_R_NONE (passed), GW_R_DROP_FILTER, or
 * GW_VERDICT_MISS. */
static __always_inline __u32 gw_verdict_get(const struct gw_verdict_ent *v,
					     const struct gw_flow *f, __u32 tag, __u64 now)
{
	if (v->tag != tag || v->family != f->family ||
	    ((v->addr[0] ^ f->saddr[0]) | (v->addr[1] ^ f->saddr[1]) |
	     (v->addr[2] ^ f->saddr[2]) | (v->addr[3] ^ f->saddr[3])))
		return GW_VERDICT_MISS;
	if (now + GW_COARSE_LAG_NS - v->stamp_ns >= GW_FILTER_CACHE_NS + GW_COARSE_LAG_NS)
		return GW_VERDICT_MISS;
	if (v->kind == GW_VERDICT_PASS)
		return GW_R_NONE;
	return v->kind == GW_VERDICT_DENY ? GW_R_DROP_FILTER : GW_VERDICT_MISS;
}

/* Records the walk's verdict r for f's source in slot v, under `tag` (read
 * before the walk: a change landing during it leaves the entry already out
 * of date) at `now`. Only GW_R_NONE and GW_R_DROP_FILTER are kept. */
static __always_inline void gw_verdict_put(struct gw_verdict_ent *v, const struct gw_flow *f,
					   __u32 tag, __u64 now, __u32 r)
{
	if (r != GW_R_NONE && r != GW_R_DROP_FILTER)
		return;
	v->addr[0] = f->saddr[0];
	v->addr[1] = f->saddr[1];
	v->addr[2] = f->saddr[2];
	v->addr[3] = f->saddr[3];
	v->stamp_ns = now;
	v->tag = tag;
	v->family = f->family;
	v->kind = r == GW_R_NONE ? GW_VERDICT_PASS : GW_VERDICT_DENY;
}

#endif /* GW_BPF_VERDICT_H */
