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
 * dropped by one bucket is charged to none. docs/datapath-l3.md derives the
 * error bound and what a spoofed-source flood does to the maps.
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

/* Takes the packet from the buckets of the source `key` in `map` (a
 * constant after inlining, so each map keeps its own inlined lookups).
 * Returns GW_R_NONE, GW_R_DROP_RATELIMIT or GW_R_DROP_SYN_RATELIMIT. */
static __always_inline __u32 gw_rl_apply(void *map, const void *key, const struct gw_config *cfg,
					 __u64 now, __u64 ipkt, __u64 isyn)
{
	struct gw_rl_state *s, fresh;

	s = bpf_map_lookup_elem(map, key);
	if (!s) {
		/* A new source: its first packet conforms to both buckets. */
		fresh.tat_pkt = ipkt ? now + ipkt : 0;
		fresh.tat_syn = isyn ? now + isyn : 0;
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
static __always_inline __u32 gw_ratelimit(struct gw_pkt *p, const struct gw_config *cfg, __u64 now)
{
	__u64 ipkt = cfg->rl_pkt.interval_ns, isyn = cfg->rl_syn.interval_ns;
	struct gw_rl_v6_key k6;
	__u32 bits;

	if (p->flow.proto != IPPROTO_TCP ||
	    (p->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) != GW_TCP_SYN)
		isyn = 0;
	if (!ipkt && !isyn)
		return GW_R_NONE;	/* nothing to limit: no map work */

	if (p->flow.family == GW_FAMILY_V4)
		return gw_rl_apply(&gw_rl_v4, &p->flow.saddr[0], cfg, now, ipkt, isyn);

	bits = cfg->rl_v6_prefix;
	if (!bits)
		bits = 64;	/* an unset record must not pool all of IPv6 */
	gw_rl_v6_key_make(&k6, p->flow.saddr, bits);
	return gw_rl_apply(&gw_rl_v6, &k6, cfg, now, ipkt, isyn);
}

#endif /* GW_BPF_RATELIMIT_H */
