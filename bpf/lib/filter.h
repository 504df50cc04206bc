/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IP filter, by source address. Two LPM tries per family:
 *   gw_filter_v4/v6  static allow and deny prefixes (config, gwctl);
 *   gw_ban_v4/v6     time-limited denies (expires_ns against
 *                    bpf_ktime_get_ns(); an expired entry is ignored).
 * The longest matching prefix across both decides; on a tie the static
 * entry wins (allow beats a ban; a static deny reports `filter`). No match:
 * GW_CFG_F_DEFAULT_DENY decides. Every gw_rule carries its key's prefixlen,
 * which is how matches of the two tries compare.
 *
 * Cost on the pass path: one lookup per trie. The ban trie is not looked up
 * when the static match is a full-length (/32, /128) prefix, which no ban
 * can beat, nor when the agent has marked it empty (GW_CFG_F_NO_BANS_*).
 * The clock is read only to check the deadline of a matched ban.
 */
#ifndef GW_BPF_FILTER_H
#define GW_BPF_FILTER_H

#include "ctx.h"
#include "maps.h"

/* Lookups of a ban trie when the longest ban matched has expired (and the
 * agent's GC has not removed it yet): each retry asks for a shorter prefix.
 * Beyond this many expired entries nested over one address, the remaining
 * shorter bans are not seen until the GC runs (documented). */
#define GW_BAN_LOOKUPS 4

/* Reads the clock only for a matched ban with a deadline (not through the
 * lazy clock: a branch on it in this loop multiplies the verifier's work). */
static __always_inline int gw_ban_live(const struct gw_rule *b)
{
	return !b->expires_ns || b->expires_ns > bpf_ktime_get_ns();
}

/* Verdict from the static match r and the live ban match b (either NULL).
 * Returns GW_R_NONE, GW_R_DROP_FILTER or GW_R_DROP_BAN. */
static __always_inline __u32 gw_filter_decide(const struct gw_rule *r, const struct gw_rule *b,
					      const struct gw_config *cfg)
{
	if (b && (!r || b->prefixlen > r->prefixlen))
		return GW_R_DROP_BAN;
	if (r)
		return r->action == GW_RULE_ALLOW ? GW_R_NONE : GW_R_DROP_FILTER;
	return (cfg->flags & GW_CFG_F_DEFAULT_DENY) ? GW_R_DROP_FILTER : GW_R_NONE;
}

/* The longest live ban longer than `floor` bits (-1: any) in the ban trie
 * `map`, or NULL. `key` is the trie's key with the whole address; *plen is
 * its prefix length field. Expired bans are stepped over to shorter ones. */
static __always_inline const struct gw_rule *gw_ban_walk(void *map, void *key, __u32 *plen,
							 int floor)
{
	const struct gw_rule *b;
	int i;

	for (i = 0; i < GW_BAN_LOOKUPS; i++) {
		b = bpf_map_lookup_elem(map, key);
		if (!b || (int)b->prefixlen <= floor)
			return NULL;
		if (gw_ban_live(b))
			return b;
		/* Expired: look for a shorter ban around it. */
		if (!b->prefixlen)
			return NULL;
		*plen = (b->prefixlen < *plen ? b->prefixlen : *plen) - 1;
	}
	return NULL;
}

static __always_inline const struct gw_rule *gw_ban_v4_lookup(__be32 addr, int floor)
{
	struct gw_lpm_v4_key k = { .prefixlen = 32, .addr = addr };

	return gw_ban_walk(&gw_ban_v4, &k, &k.prefixlen, floor);
}

static __always_inline const struct gw_rule *gw_ban_v6_lookup(const __be32 *addr, int floor)
{
	struct gw_lpm_v6_key k;

	k.prefixlen = 128;
	k.addr[0] = addr[0];
	k.addr[1] = addr[1];
	k.addr[2] = addr[2];
	k.addr[3] = addr[3];
	return gw_ban_walk(&gw_ban_v6, &k, &k.prefixlen, floor);
}

/* Returns GW_R_NONE to go on, GW_R_DROP_FILTER or GW_R_DROP_BAN. */
static __always_inline __u32 gw_filter(const struct gw_flow *f, const struct gw_config *cfg)
{
	const struct gw_rule *r, *b = NULL;

	if (f->family == GW_FAMILY_V4) {
		struct gw_lpm_v4_key k = { .prefixlen = 32, .addr = f->saddr[0] };

		r = bpf_map_lookup_elem(&gw_filter_v4, &k);
		if ((!r || r->prefixlen < 32) && !(cfg->flags & GW_CFG_F_NO_BANS_V4))
			b = gw_ban_v4_lookup(k.addr, r ? r->prefixlen : -1);
	} else {
		struct gw_lpm_v6_key k;

		k.prefixlen = 128;
		k.addr[0] = f->saddr[0];
		k.addr[1] = f->saddr[1];
		k.addr[2] = f->saddr[2];
		k.addr[3] = f->saddr[3];
		r = bpf_map_lookup_elem(&gw_filter_v6, &k);
		if ((!r || r->prefixlen < 128) && !(cfg->flags & GW_CFG_F_NO_BANS_V6))
			b = gw_ban_v6_lookup(f->saddr, r ? r->prefixlen : -1);
	}
	return gw_filter_decide(r, b, cfg);
}

#endif /* GW_BPF_FILTER_H */
