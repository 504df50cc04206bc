/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-source rate limiting with the generic cell rate algorithm (GCRA): one
 * theoretical arrival time (TAT) per bucket and source, in the LRU hashes
 * gw_rl_v4 (key: source address) and gw_rl_v6 (key: source masked to
 * cfg->rl_v6_prefix bits). A packet at `now` conforms when
 *     max(TAT, now) - now <= tolerance
 * and then moves TAT to max(TAT, now) + interval. TAT moves by
 * compare-and-swap on the map value: exact across CPUs, no lock, no per-CPU
 * split. Two buckets: every packet, and TCP SYN without ACK. A packet
 * dropped by one bucket is charged to none. The entry also caches the
 * filter's passing verdict (gw_filter_cached), so a known source skips the
 * LPM walks. `now` is the coarse clock when every bucket that applies holds
 * a burst long enough that the coarse clock's lag is noise beside it
 * (gw_gcra_coarse_ok), else the precise one. docs/datapath-l3.md derives
 * the error bound and what a spoofed-source flood does to the maps.
 */
#ifndef GW_BPF_RATELIMIT_H
#define GW_BPF_RATELIMIT_H

#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "maps.h"

/* Compare-and-swap attempts on one TAT. Each failed attempt means another
 * CPU changed the TAT meanwhile (admitted or refunded a packet of the same
 * source); after this many the packet counts as over its rate. */
#define GW_RL_CAS_TRIES 8

#ifndef GW_TCP_SYN
#define GW_TCP_SYN 0x02
#define GW_TCP_ACK 0x10
#endif

/* Takes one packet from the bucket whose TAT is *tat. Returns 1 when the
 * packet conforms (TAT advanced), 0 when it is over the rate. */
static __always_inline int gw_gcra_take(__u64 *tat, __u64 now, __u64 interval, __u64 tolerance)
{
	int i;

	for (i = 0; i < GW_RL_CAS_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 base = old > now ? old : now;

		if (base - now > tolerance)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, base + interval) == old)
			return 1;
	}
	return 0;
}

/* Gives back one packet's interval taken by gw_gcra_take(). Never moves a
 * TAT below `interval` (an entry recycled under us could hold anything). */
static __always_inline void gw_gcra_refund(__u64 *tat, __u64 interval)
{
	int i;

	for (i = 0; i < GW_RL_CAS_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;

		if (old < interval)
			return;
		if (__sync_val_compare_and_swap(tat, old, old - interval) == old)
			return;
	}
}

/* A bucket may be run on the coarse clock when its burst spans at least
 * this long: (burst - 1) * T + T = tolerance + interval. The coarse clock's
 * lag (at most GW_COARSE_LAG_NS) then admits at most lag / T packets more
 * per window than the precise clock would, at most 1/64 of the burst. */
#define GW_RL_COARSE_SPAN_NS (64 * GW_COARSE_LAG_NS)

/* Returns 1 when bucket g may run on the coarse clock. */
static __always_inline int gw_gcra_coarse_ok(const struct gw_gcra *g)
{
	return g->tolerance_ns + g->interval_ns >= GW_RL_COARSE_SPAN_NS;
}

/* The bucket key of an IPv6 source: its first `bits` bits. */
static __always_inline void gw_rl_v6_key_make(struct gw_rl_v6_key *k, const __be32 *a, __u32 bits)
{
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u32 b = bits > 32 * (__u32)i ? bits - 32 * (__u32)i : 0;
		__u32 mask = b >= 32 ? 0xffffffffu : b ? ~0u << (32 - b) : 0;

		k->addr[i] = a[i] & bpf_htonl(mask);
	}
}

/* How long a cached filter verdict stands without a new LPM walk even when
 * gw_config's filter_gen is unchanged: bounds the damage of a gw_config
 * writer that drops filter_gen, and makes a wrap of the 32-bit generation
 * harmless (2^31 filter changes within a second are impossible). */
#define GW_FILTER_CACHE_NS 1000000000ull

/* The rate limiter's view of one packet, prepared before the filter so the
 * source's entry (looked up once) also carries the filter's cached verdict. */
struct gw_rl_ctx {
	struct gw_rl_state *s;	/* the source's entry; NULL: none (yet) */
	__u64 ipkt, isyn;	/* intervals of the buckets that apply, 0: off */
	__u32 tag;		/* filter tag read before the filter ran */
	__u8 on;		/* a bucket applies: s was looked up */
	__u8 cache;		/* the entry's key is the whole source address */
	__u8 v6;
	__u8 late;		/* s not looked up yet: gw_rl_apply does */
	__u8 precise;		/* a bucket needs bpf_ktime_get_ns() */
	__be32 k4;		/* keys on this stack: kernels before 6.x refuse */
	struct gw_rl_v6_key k6;	/* a global function's argument memory as a key */
};

/* The filter tag under which a verdict is cached: the filter generation
 * and the default action (a default flip changes every verdict). */
static __always_inline __u32 gw_filter_tag(const struct gw_config *cfg)
{
	return cfg->filter_gen * 2 + ((cfg->flags & GW_CFG_F_DEFAULT_DENY) ? 1 : 0);
}

/* Finds the buckets that apply to the packet and, when any does, looks its
 * source's entry up. The clock is not read yet: a denied source (which has
 * no entry) is dropped without it. */
static __always_inline void gw_rl_prepare(const struct gw_flow *f, __u8 tcp_flags,
					  const struct gw_config *cfg, struct gw_rl_ctx *rl)
{
	__u32 bits;

	rl->s = NULL;
	rl->on = 0;
	rl->cache = 0;
	rl->late = 0;
	rl->precise = 0;
	rl->ipkt = cfg->rl_pkt.interval_ns;
	rl->isyn = cfg->rl_syn.interval_ns;
	if (f->proto != IPPROTO_TCP ||
	    (tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) != GW_TCP_SYN)
		rl->isyn = 0;
	if (!rl->ipkt && !rl->isyn)
		return;		/* nothing to limit: no map work, no clock */
	rl->on = 1;
	rl->precise = (rl->ipkt && !gw_gcra_coarse_ok(&cfg->rl_pkt)) ||
		      (rl->isyn && !gw_gcra_coarse_ok(&cfg->rl_syn));
	rl->tag = gw_filter_tag(cfg);
	if (f->family == GW_FAMILY_V4) {
		struct gw_rl_state *s4;

		rl->v6 = 0;
		rl->cache = 1;
		rl->k4 = f->saddr[0];
		s4 = bpf_map_lookup_elem(&gw_rl_v4, &rl->k4);
		/* Keeps clang from merging this call with gw_rl_v6's below
		 * into one call site fed by either map: the verifier inlines
		 * the lookup only where one map reaches the call (else the
		 * generic helper: an indirect call). gw_lookup_apart. */
		gw_lookup_apart(s4);
		rl->s = s4;
		return;
	}
	bits = cfg->rl_v6_prefix;
	if (!bits)
		bits = 64;	/* an unset record must not pool all of IPv6 */
	rl->v6 = 1;
	rl->cache = bits >= 128;	/* a shared bucket holds no one source's verdict */
	gw_rl_v6_key_make(&rl->k6, f->saddr, bits);
	/* Without a cache the entry is looked up after the filter (by
	 * gw_rl_apply): a denied source costs no lookup. */
	if (rl->cache)
		rl->s = bpf_map_lookup_elem(&gw_rl_v6, &rl->k6);
	else
		rl->late = 1;
}

/* Returns 1 when the source passed the filter under the current tag less
 * than GW_FILTER_CACHE_NS ago (the LPM walks can be skipped), else 0. Only
 * passing verdicts are cached: a denied source never gets an entry. The
 * time may come from the other clock than the stored one (a SYN can need
 * the precise clock where an ACK takes the coarse one): a stored time up
 * to GW_COARSE_LAG_NS ahead of now counts as current. */
static __always_inline int gw_filter_cached(const struct gw_rl_ctx *rl, __u64 *now)
{
	const struct gw_rl_state *s = rl->s;
	__u64 age;

	if (!s || !rl->cache || *(volatile __u32 *)&s->filter_tag != rl->tag)
		return 0;
	age = gw_clock(now, rl->precise) + GW_COARSE_LAG_NS - *(volatile __u64 *)&s->filter_ok_ns;
	return age < GW_FILTER_CACHE_NS + GW_COARSE_LAG_NS;
}

/* Records that the source passed the filter under rl->tag (read before the
 * walk: a change made during it leaves a tag already out of date). */
static __always_inline void gw_filter_cache_put(const struct gw_rl_ctx *rl, __u64 now)
{
	struct gw_rl_state *s = rl->s;

	if (!s || !rl->cache)
		return;
	s->filter_ok_ns = now;
	s->filter_tag = rl->tag;
}

/* The deny cache: sources the filter's walk dropped with
 * GW_R_DROP_FILTER (a static deny, or no match under default deny), per
 * CPU, in a direct-mapped table (a hash of the source picks the slot; a
 * flood of denied sources only overwrites slots). Valid under the same
 * tag and for as long as a cached passing verdict; ban drops are never
 * cached (bans expire). Returns the source's slot, or NULL. */
static __always_inline struct gw_deny_ent *gw_deny_slot(const struct gw_flow *f)
{
	__u32 h = (f->saddr[0] ^ f->saddr[1] ^ f->saddr[2] ^ f->saddr[3]) * 0x9e3779b1u;
	__u32 idx = h >> 20;	/* the top 12 bits: GW_DENY_CACHE_SLOTS */

	return bpf_map_lookup_elem(&gw_deny_cache, &idx);
}

/* Returns 1 when slot d says the filter denied f's source under `tag` less
 * than GW_FILTER_CACHE_NS ago (the same age rule as gw_filter_cached). */
static __always_inline int gw_deny_cached(const struct gw_deny_ent *d, const struct gw_flow *f,
					  __u32 tag, __u64 now)
{
	if (d->family != f->family || d->tag != tag ||
	    ((d->addr[0] ^ f->saddr[0]) | (d->addr[1] ^ f->saddr[1]) |
	     (d->addr[2] ^ f->saddr[2]) | (d->addr[3] ^ f->saddr[3])))
		return 0;
	return now + GW_COARSE_LAG_NS - d->stamp_ns < GW_FILTER_CACHE_NS + GW_COARSE_LAG_NS;
}

/* Records that the filter denied f's source under `tag` (read before the
 * walk) at now. */
static __always_inline void gw_deny_put(struct gw_deny_ent *d, const struct gw_flow *f, __u32 tag,
					__u64 now)
{
	d->addr[0] = f->saddr[0];
	d->addr[1] = f->saddr[1];
	d->addr[2] = f->saddr[2];
	d->addr[3] = f->saddr[3];
	d->stamp_ns = now;
	d->tag = tag;
	d->family = f->family;
}

/* Takes the packet from the source's buckets; a new source gets its entry
 * (in `map`, a constant after inlining) with the filter's verdict cached.
 * Returns GW_R_NONE, GW_R_DROP_RATELIMIT or GW_R_DROP_SYN_RATELIMIT. */
static __always_inline __u32 gw_rl_apply(void *map, const void *key, const struct gw_config *cfg,
					 struct gw_rl_ctx *rl, __u64 now)
{
	__u64 ipkt = rl->ipkt, isyn = rl->isyn;
	struct gw_rl_state *s = rl->s, fresh;

	if (rl->late)
		s = bpf_map_lookup_elem(map, key);
	if (!s) {
		/* A new source: its first packet conforms to both buckets. */
		fresh.tat_pkt = ipkt ? now + ipkt : 0;
		fresh.tat_syn = isyn ? now + isyn : 0;
		fresh.filter_ok_ns = rl->cache ? now : 0;
		fresh.filter_tag = rl->cache ? rl->tag : 0;
		fresh.pad = 0;
		if (!bpf_map_update_elem(map, key, &fresh, BPF_NOEXIST))
			return GW_R_NONE;
		/* Another CPU inserted it first: take from its entry. */
		s = bpf_map_lookup_elem(map, key);
		if (!s)
			return GW_R_NONE;	/* fail open (documented) */
	}
	if (isyn && !gw_gcra_take(&s->tat_syn, now, isyn, cfg->rl_syn.tolerance_ns))
		return GW_R_DROP_SYN_RATELIMIT;
	if (ipkt && !gw_gcra_take(&s->tat_pkt, now, ipkt, cfg->rl_pkt.tolerance_ns)) {
		if (isyn)
			gw_gcra_refund(&s->tat_syn, isyn);
		return GW_R_DROP_RATELIMIT;
	}
	return GW_R_NONE;
}

/* Returns GW_R_NONE, GW_R_DROP_RATELIMIT or GW_R_DROP_SYN_RATELIMIT. */
static __always_inline __u32 gw_ratelimit(const struct gw_flow *f, const struct gw_config *cfg,
					  struct gw_rl_ctx *rl, __u64 now)
{
	if (!rl->on)
		return GW_R_NONE;
	if (!rl->v6)
		return gw_rl_apply(&gw_rl_v4, &rl->k4, cfg, rl, now);
	return gw_rl_apply(&gw_rl_v6, &rl->k6, cfg, rl, now);
}

#endif /* GW_BPF_RATELIMIT_H */
