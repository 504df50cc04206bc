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
 * (gw_gcra_coarse_ok), else the precise one. A bucket whose burst is at
 * least 2 * GW_RL_LEASE_SHARE packets is leased per CPU: a CPU charges up
 * to GW_RL_LEASE_MAX packets at once to the shared TAT and admits them
 * from its own slot (gw_rl_lease), touching no shared memory; unused
 * tokens go back when the slot changes hands. docs/datapath-l3.md derives
 * the error bounds and what a spoofed-source flood does to the maps.
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

/* Takes n packets at once from the bucket whose TAT is *tat: all n
 * conform when the last of them would, arriving now. Returns 1 when they
 * do (TAT advanced by n intervals), 0 when not (TAT untouched). */
static __always_inline int gw_gcra_take(__u64 *tat, __u64 now, __u64 interval, __u64 tolerance,
					__u64 n)
{
	int i;

	for (i = 0; i < GW_RL_CAS_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 base = old > now ? old : now;

		if (base + (n - 1) * interval - now > tolerance)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, base + n * interval) == old)
			return 1;
	}
	return 0;
}

/* Gives back `amount` ns of TAT taken by gw_gcra_take() and not used.
 * Never moves a TAT below `amount` (an entry recycled under us could hold
 * anything; a TAT in the past is worth nothing anyway). */
static __always_inline void gw_gcra_refund(__u64 *tat, __u64 amount)
{
	int i;

	for (i = 0; i < GW_RL_CAS_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;

		if (old < amount)
			return;
		if (__sync_val_compare_and_swap(tat, old, old - amount) == old)
			return;
	}
}

/* Leases: a bucket of burst B is leased in slices of n = min(B /
 * GW_RL_LEASE_SHARE, GW_RL_LEASE_MAX) packets (none when n < 2). One slot
 * per CPU and bucket key at most, so a source is at most (n - 1) packets
 * per CPU ahead of the exact count in any window (docs). */
#define GW_RL_LEASE_SHARE 64
#define GW_RL_LEASE_MAX 32

/* Returns the lease size of bucket g (interval_ns != 0): 0 or 1 means no
 * lease. */
static __always_inline __u32 gw_rl_lease_size(const struct gw_gcra *g)
{
	__u64 n = (g->tolerance_ns / g->interval_ns + 1) / GW_RL_LEASE_SHARE;

	return n > GW_RL_LEASE_MAX ? GW_RL_LEASE_MAX : (__u32)n;
}

/* A source that has no entry in the table yet is inserted at its second
 * packet on a CPU within an epoch of 2^GW_RL_EPOCH_SHIFT ns, not at its
 * first: a spoofed flood's one-packet sources cost no LRU insert (and
 * evict no one). The first packet of a source not in the table passes
 * uncharged, at most once per CPU and epoch (~119/s per CPU). Only for
 * buckets whose interval is at most 1/64 of an epoch: that is at most 1/64
 * of the rate more (docs/datapath-l3.md). gw_rl_seen_map remembers the
 * sources of the epoch (never forgets one within it: a collision only
 * makes a source look seen, i.e. inserted at once, as without this). */
#define GW_RL_EPOCH_SHIFT 23
#define GW_RL_DEFER_MAX_T ((1ull << GW_RL_EPOCH_SHIFT) / 64)

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
	__u8 defer;		/* a new source's first packet may skip the table */
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
	rl->defer = rl->ipkt <= GW_RL_DEFER_MAX_T && rl->isyn <= GW_RL_DEFER_MAX_T;
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

/* Returns 1 when the bucket key k (4 words) was seen on this CPU in now's
 * epoch, else 0 after marking it seen: two 8-bit stamps of the epoch in one
 * 8-byte cell of gw_rl_seen_map (a blocked Bloom filter whose cells expire
 * with the epoch; a stamp 255 epochs old reads as current: seen). */
static __always_inline int gw_rl_seen(const __be32 *k, __u64 now)
{
	__u32 x = (__u32)k[0] ^ (__u32)k[1] ^ (__u32)k[2] ^ (__u32)k[3];
	__u32 idx = (x * 0x9e3779b1u) >> (32 - GW_RL_SEEN_BITS);
	__u32 h = x * 0x85ebca77u + 0x27d4eb2fu;
	__u32 b1 = h >> 29, b2 = (h >> 26) & 7;
	__u8 epoch = (__u8)((now >> GW_RL_EPOCH_SHIFT) % 255 + 1), *st;

	st = bpf_map_lookup_elem(&gw_rl_seen_map, &idx);
	if (!st)
		return 1;	/* insert at once */
	if (st[b1] == epoch && st[b2] == epoch)
		return 1;
	st[b1] = epoch;
	st[b2] = epoch;
	return 0;
}

/* Returns 1 when lease slot l holds the bucket of rl's key. */
static __always_inline int gw_rl_lease_is(const struct gw_rl_lease *l, const struct gw_rl_ctx *rl)
{
	if (l->v6 != rl->v6)
		return 0;
	if (!rl->v6)
		return l->key[0] == rl->k4;
	return !((l->key[0] ^ rl->k6.addr[0]) | (l->key[1] ^ rl->k6.addr[1]) |
		 (l->key[2] ^ rl->k6.addr[2]) | (l->key[3] ^ rl->k6.addr[3]));
}

/* Gives the unused tokens of lease slot l back to its bucket (in gw_rl_v4
 * or gw_rl_v6) and empties it: called before the slot changes hands. */
static __always_inline void gw_rl_lease_return(struct gw_rl_lease *l)
{
	struct gw_rl_state *s;
	__u64 amount = (__u64)l->tokens * l->interval_ns;

	l->tokens = 0;
	if (!amount)
		return;
	if (l->v6) {
		s = bpf_map_lookup_elem(&gw_rl_v6, l->key);
		gw_lookup_apart(s);
	} else {
		s = bpf_map_lookup_elem(&gw_rl_v4, l->key);
	}
	if (s)
		gw_gcra_refund(&s->tat_pkt, amount);
}

/* Records in slot l the lease of rl's key just taken: `tokens` packets
 * charged and not yet admitted, at interval `interval`. */
static __always_inline void gw_rl_lease_set(struct gw_rl_lease *l, const struct gw_rl_ctx *rl,
					    __u32 tokens, __u64 interval)
{
	if (l->tokens && !gw_rl_lease_is(l, rl))
		gw_rl_lease_return(l);
	l->v6 = rl->v6;
	if (rl->v6) {
		l->key[0] = rl->k6.addr[0];
		l->key[1] = rl->k6.addr[1];
		l->key[2] = rl->k6.addr[2];
		l->key[3] = rl->k6.addr[3];
	} else {
		l->key[0] = rl->k4;
		l->key[1] = l->key[2] = l->key[3] = 0;
	}
	l->interval_ns = interval;
	l->tokens = tokens;
}

/* Takes the packet from the source's buckets; a new source gets its entry
 * (in `map`, a constant after inlining). l is this CPU's lease slot of the
 * key, or NULL: a packet that is no SYN (or whose SYN bucket is off) takes
 * from it without touching the map, and refills it when empty (one slice
 * charged at once). Returns GW_R_NONE, GW_R_DROP_RATELIMIT or
 * GW_R_DROP_SYN_RATELIMIT. */
static __always_inline __u32 gw_rl_apply(void *map, const void *key, const struct gw_config *cfg,
					 struct gw_rl_ctx *rl, __u64 now, struct gw_rl_lease *l)
{
	__u64 ipkt = rl->ipkt, isyn = rl->isyn;
	struct gw_rl_state *s, fresh;
	__u32 n = 0;

	if (l && isyn)
		l = NULL;	/* a SYN takes from both buckets in the map */
	if (l) {
		/* ipkt != 0 here: rl->on without a SYN bucket for it */
		if (l->tokens && l->interval_ns == ipkt && gw_rl_lease_is(l, rl)) {
			l->tokens--;
			return GW_R_NONE;
		}
		n = gw_rl_lease_size(&cfg->rl_pkt);
		if (n < 2)
			l = NULL;
	}
	/* A source's first packet of the epoch on this CPU passes uncharged
	 * (GW_RL_EPOCH_SHIFT): no table lookup (a miss is a few cache misses
	 * into a table of a quarter million entries), no insert. */
	if (rl->defer) {
		__be32 k4[4] = { rl->k4, 0, 0, 0 };

		if (!gw_rl_seen(rl->v6 ? rl->k6.addr : k4, now))
			return GW_R_NONE;
	}
	s = bpf_map_lookup_elem(map, key);
	/* Keeps clang from merging the v4 and v6 calls into one call site
	 * fed by either map: the verifier inlines the lookup only where one
	 * map reaches the call (else the generic helper, an indirect call). */
	gw_lookup_apart(s);
	if (!s) {
		/* A new source: its first packet conforms to both buckets. It
		 * leases nothing yet: a spoofed flood's one-packet sources
		 * never hold tokens to give back. */
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
	if (isyn && !gw_gcra_take(&s->tat_syn, now, isyn, cfg->rl_syn.tolerance_ns, 1))
		return GW_R_DROP_SYN_RATELIMIT;
	if (!ipkt)
		return GW_R_NONE;
	if (l && gw_gcra_take(&s->tat_pkt, now, ipkt, cfg->rl_pkt.tolerance_ns, n)) {
		gw_rl_lease_set(l, rl, n - 1, ipkt);
		return GW_R_NONE;
	}
	/* No lease, or no room for a whole slice: exactly one packet. */
	if (!gw_gcra_take(&s->tat_pkt, now, ipkt, cfg->rl_pkt.tolerance_ns, 1)) {
		if (isyn)
			gw_gcra_refund(&s->tat_syn, isyn);
		return GW_R_DROP_RATELIMIT;
	}
	return GW_R_NONE;
}

/* This CPU's lease slot of rl's key, or NULL. */
static __always_inline struct gw_rl_lease *gw_rl_lease_slot(const struct gw_rl_ctx *rl)
{
	__be32 k[4] = { rl->k4, 0, 0, 0 };
	__u32 idx;

	if (rl->v6)
		idx = gw_verdict_slot_of(rl->k6.addr);
	else
		idx = gw_verdict_slot_of(k);
	idx >>= GW_VERDICT_SLOT_BITS - GW_RL_LEASE_BITS;
	return bpf_map_lookup_elem(&gw_rl_lease, &idx);
}

/* Returns GW_R_NONE, GW_R_DROP_RATELIMIT or GW_R_DROP_SYN_RATELIMIT. */
static __always_inline __u32 gw_ratelimit(const struct gw_flow *f, const struct gw_config *cfg,
					  struct gw_rl_ctx *rl, __u64 now)
{
	struct gw_rl_lease *l;

	if (!rl->on)
		return GW_R_NONE;
	l = gw_rl_lease_slot(rl);
	if (!rl->v6)
		return gw_rl_apply(&gw_rl_v4, &rl->k4, cfg, rl, now, l);
	return gw_rl_apply(&gw_rl_v6, &rl->k6, cfg, rl, now, l);
}

#endif /* GW_BPF_RATELIMIT_H */
