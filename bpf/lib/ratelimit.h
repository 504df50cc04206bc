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
 * dropped by one bucket is charged to none. The limiter runs after the
 * filter (whose verdicts verdict.h caches): a denied source never gets an
 * entry. `now` is the coarse clock when every bucket that applies holds
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

/* The rate limiter's view of one packet: the buckets that apply and the
 * source's key. */
struct gw_rl_ctx {
	__u64 ipkt, isyn;	/* intervals of the buckets that apply, 0: off */
	__u8 on;		/* a bucket applies */
	__u8 v6;
	__u8 precise;		/* a bucket needs bpf_ktime_get_ns() */
	__be32 k4;		/* keys on this stack: kernels before 6.x refuse */
	struct gw_rl_v6_key k6;	/* a global function's argument memory as a key */
};

/* Finds the buckets that apply to the packet and makes the source's key.
 * No map work and no clock yet: the filter runs first. */
static __always_inline void gw_rl_prepare(const struct gw_flow *f, __u8 tcp_flags,
					  const struct gw_config *cfg, struct gw_rl_ctx *rl)
{
	__u32 bits;

	rl->on = 0;
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
	if (f->family == GW_FAMILY_V4) {
		rl->v6 = 0;
		rl->k4 = f->saddr[0];
		return;
	}
	bits = cfg->rl_v6_prefix;
	if (!bits)
		bits = 64;	/* an unset record must not pool all of IPv6 */
	rl->v6 = 1;
	gw_rl_v6_key_make(&rl->k6, f->saddr, bits);
}

/* Takes the packet from the source's buckets; a new source gets its entry
 * (in `map`, a constant after inlining). Returns GW_R_NONE,
 * GW_R_DROP_RATELIMIT or GW_R_DROP_SYN_RATELIMIT. */
static __always_inline __u32 gw_rl_apply(void *map, const void *key, const struct gw_config *cfg,
					 struct gw_rl_ctx *rl, __u64 now)
{
	__u64 ipkt = rl->ipkt, isyn = rl->isyn;
	struct gw_rl_state *s, fresh;

	s = bpf_map_lookup_elem(map, key);
	/* Keeps clang from merging the v4 and v6 calls into one call site
	 * fed by either map: the verifier inlines the lookup only where one
	 * map reaches the call (else the generic helper, an indirect call). */
	gw_lookup_apart(s);
	if (!s) {
		/* A new source: its first packet conforms to both buckets. */
		fresh.tat_pkt = ipkt ? now + ipkt : 0;
		fresh.tat_syn = isyn ? now + isyn : 0;
		fresh.unused[0] = 0;
		fresh.unused[1] = 0;
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
