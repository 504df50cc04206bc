/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forwarding: where a rewritten packet leaves (bpf_fib_lookup) and what the
 * lookup's answer means for the verdict.
 *
 *   SUCCESS                      rewrite, set MACs, forward (TX / redirect)
 *   NO_NEIGH                     rewrite, then FWD_NO_NEIGH: the kernel's
 *                                neighbour layer resolves and queues
 *                                (bpf_redirect_neigh at TC; XDP hands the
 *                                packet to gw_tc_neigh through metadata,
 *                                or drops it untouched, NO_TC_HELPER, when
 *                                the ingress has no gw_tc_neigh)
 *   BLACKHOLE/UNREACHABLE/PROHIBIT  DROP_UNROUTABLE (before rewriting)
 *   FRAG_NEEDED                  DROP_MTU (before rewriting)
 *   anything else                PASS_FIB (the packet untouched)
 *
 * Toward a backend the answer is cached per CPU and backend slot
 * (gw_fib_lookup_be): a SUCCESS is reused for the same backend address,
 * family and ingress interface, a packet no longer than the one it was
 * looked up with, while gw_config.fib_gen is unchanged (gwd bumps it on
 * every route, neighbour, rule, netconf and link event) and for at most
 * GW_FIB_CACHE_NS. docs/datapath-l4.md says what that means.
 */
#ifndef GW_BPF_FWD_H
#define GW_BPF_FWD_H

#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "maps.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Looks up the route to `dst` (family GW_FAMILY_*) for a packet of
 * `tot_len` L3 bytes as it will leave (0: let the kernel check the skb).
 * Returns the BPF_FIB_LKUP_RET_* code; fib holds the result. */
static __always_inline int gw_fib_lookup(struct gw_pkt *p, struct bpf_fib_lookup *fib, __u8 family,
					 const __be32 *dst, __u8 l4_proto, __be16 sport, __be16 dport,
					 __u16 tot_len, const enum gw_hook hook)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = p->ifindex;
	fib->l4_protocol = l4_proto;
	fib->sport = sport;
	fib->dport = dport;
	fib->tot_len = tot_len;
	if (family == GW_FAMILY_V4) {
		fib->family = AF_INET;
		fib->ipv4_dst = dst[0];
	} else {
		fib->family = AF_INET6;
		fib->ipv6_dst[0] = dst[0];
		fib->ipv6_dst[1] = dst[1];
		fib->ipv6_dst[2] = dst[2];
		fib->ipv6_dst[3] = dst[3];
	}
	return bpf_fib_lookup(p->ctx, fib, sizeof(*fib), 0);
}

/* How long a cached FIB answer is used without asking the kernel again,
 * whatever fib_gen says: bounds what a change nobody bumped fib_gen for
 * (gwd not running, a lost event) can do. */
#define GW_FIB_CACHE_NS 1000000000ull

/* gw_fib_lookup() toward backend slot be_id (address dst, family), through
 * the per-CPU cache: gen is gw_config.fib_gen, now the packet's clock.
 * tot_len 0 (TC, a GSO packet: the kernel checks the MTU) bypasses it.
 * Returns the BPF_FIB_LKUP_RET_* code; fib holds ifindex, dmac and smac
 * (all of it after a real lookup). */
static __always_inline int gw_fib_lookup_be(struct gw_pkt *p, struct bpf_fib_lookup *fib,
					    __u32 be_id, __u32 gen, __u64 now, __u8 family,
					    const __be32 *dst, __u8 l4_proto, __be16 sport,
					    __be16 dport, __u16 tot_len, const enum gw_hook hook)
{
	struct gw_fib_ent *e = bpf_map_lookup_elem(&gw_fib_cache, &be_id);
	int rc;

	if (e && tot_len && e->gen == gen + 1 && e->in_ifindex == p->ifindex &&
	    tot_len <= e->len_ok && e->family == family && now - e->stamp_ns < GW_FIB_CACHE_NS &&
	    !((e->dst[0] ^ dst[0]) | (e->dst[1] ^ dst[1]) | (e->dst[2] ^ dst[2]) |
	      (e->dst[3] ^ dst[3]))) {
		fib->ifindex = e->out_ifindex;
		__builtin_memcpy(fib->dmac, e->dmac, ETH_ALEN);
		__builtin_memcpy(fib->smac, e->smac, ETH_ALEN);
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	rc = gw_fib_lookup(p, fib, family, dst, l4_proto, sport, dport, tot_len, hook);
	if (!e || !tot_len || rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	/* per CPU: no other writer; a packet preempting this one at TC (XDP
	 * runs first) would only write the same answer */
	__builtin_memcpy(e->dst, dst, 16);
	e->gen = gen + 1;
	e->in_ifindex = p->ifindex;
	e->out_ifindex = fib->ifindex;
	e->len_ok = tot_len;
	e->family = family;
	__builtin_memcpy(e->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(e->smac, fib->smac, ETH_ALEN);
	e->stamp_ns = now;
	return rc;
}

/* The L3 length to hand the FIB lookup for its MTU check: XDP always
 * checks; TC checks a GSO packet itself (segments, not the whole). Returns
 * the length, or 0 to leave the check to the kernel. */
static __always_inline __u16 gw_fib_len(struct gw_pkt *p, __u32 l3_len, const enum gw_hook hook)
{
	if (hook == GW_HOOK_TC) {
		struct __sk_buff *skb = p->ctx;

		if (skb->gso_segs > 1)
			return 0;
	}
	return l3_len > 0xffff ? 0xffff : (__u16)l3_len;
}

/* Returns the gw_ifaddr flags of ifindex (0 when gw is not there). */
static __always_inline __u32 gw_if_flags(__u32 ifindex)
{
	struct gw_ifaddr *ia = bpf_map_lookup_elem(&gw_ifaddr, &ifindex);

	return ia ? ia->flags : 0;
}

/* Returns GW_R_NONE when a lookup result lets the packet be rewritten
 * (SUCCESS, or NO_NEIGH where someone can send it: TC itself, or XDP with
 * gw_tc_neigh at the ingress), else the verdict for the untouched packet. */
static __always_inline __u32 gw_fib_verdict(const struct gw_pkt *p, int rc,
					    const enum gw_hook hook)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		return GW_R_NONE;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		if (hook == GW_HOOK_TC || (gw_if_flags(p->ifindex) & GW_IFADDR_F_TC_HELPER))
			return GW_R_NONE;
		return GW_R_DROP_NO_TC_HELPER;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return GW_R_DROP_UNROUTABLE;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return GW_R_DROP_MTU;
	default:
		return GW_R_PASS_FIB;
	}
}

/* Finishes a rewritten packet: sets the egress interface and, on
 * SUCCESS, the MACs from the lookup, and returns `reason`; on NO_NEIGH
 * returns FWD_NO_NEIGH (the kernel's neighbour layer sends it: gw_run).
 * The Ethernet header must be at the start of the packet. */
static __always_inline __u32 gw_fwd_finish(struct gw_pkt *p, const struct bpf_fib_lookup *fib,
					   int rc, struct gw_fwd *fwd, __u32 reason)
{
	struct ethhdr *eth = p->data;

	fwd->ifindex = fib->ifindex;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return GW_R_FWD_NO_NEIGH;
	if ((void *)(eth + 1) > p->data_end)
		return GW_R_DROP_ENCAP;
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	return reason;
}

/* Copies the egress interface's address of `family` into src (16 bytes).
 * Returns 0, or -1 when the interface has none. */
static __always_inline int gw_src_addr(__u32 ifindex, __u8 family, __be32 *src)
{
	struct gw_ifaddr *ia = bpf_map_lookup_elem(&gw_ifaddr, &ifindex);

	if (!ia)
		return -1;
	if (family == GW_FAMILY_V4) {
		if (!(ia->flags & GW_IFADDR_F_V4))
			return -1;
		src[0] = ia->v4;
		src[1] = src[2] = src[3] = 0;
		return 0;
	}
	if (!(ia->flags & GW_IFADDR_F_V6))
		return -1;
	__builtin_memcpy(src, ia->v6, 16);
	return 0;
}

#endif /* GW_BPF_FWD_H */
