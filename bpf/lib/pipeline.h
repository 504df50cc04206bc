/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L3/L4 pipeline, the same for XDP and TC ingress:
 *
 *   parse -> filter (allow/deny, bans) -> NAT replies -> rate limit
 *         -> fragments / tagged frames to the stack -> L4 services -> stack
 *
 * Each stage returns GW_R_NONE to go on, or the reason of its verdict. NAT
 * replies come before the per-source rate limit so that a busy backend is not
 * limited as if it were a client; they still pass the filter. The filter and
 * the rate limit run together in gw_admit(): the filter's verdict for the
 * source comes from the per-CPU verdict cache when it holds a current one
 * (verdict.h), else from the LPM walks, which refill it; the rate limit runs
 * only for a source the filter passed. Whether a packet is a NAT reply is
 * found (map lookup only) before gw_admit() runs. The clock is read lazily
 * (gw_clock), at most once, by the stages that need it; the coarse clock
 * unless a rate-limit bucket needs the precise one (ratelimit.h:
 * gw_gcra_coarse_ok).
 */
#ifndef GW_BPF_PIPELINE_H
#define GW_BPF_PIPELINE_H

#include "ctx.h"
#include "maps.h"
#include "stats.h"
#include "parse.h"
#include "filter.h"
#include "ratelimit.h"
#include "verdict.h"
#include "lb.h"

#define GW_ADMIT_FILTER 1	/* the IP filter (its verdict cached) */
#define GW_ADMIT_LIMIT 2	/* the per-source rate limit */

/* The per-source stages `what` (GW_ADMIT_*) of the flow f: the filter (its
 * verdict cached per CPU) and the rate limit. *now is the lazy clock. A
 * global function: the verifier checks it once, apart from the pipeline's
 * states (inlined, its paths -- families, cache hit or miss, bans, new
 * sources -- multiplied them past the verifier's limit); its arguments hold
 * no packet pointers. Returns GW_R_NONE or a drop reason. */
__noinline __u32 gw_admit(const struct gw_flow *f, __u32 tcp_flags, __u64 *now, __u32 what)
{
	const struct gw_config *cfg;
	struct gw_verdict_ent *v;
	struct gw_rl_ctx rl;
	__u32 zero = 0, tag, r;

	cfg = bpf_map_lookup_elem(&gw_config, &zero);
	if (!f || !now || !cfg)
		return GW_R_NONE;
	gw_rl_prepare(f, (__u8)tcp_flags, cfg, &rl);
	if (what & GW_ADMIT_FILTER) {
		tag = gw_filter_tag(cfg);
		v = gw_verdict_slot(f);
		r = v ? gw_verdict_get(v, f, tag, gw_clock(now, rl.precise)) : GW_VERDICT_MISS;
		if (r == GW_VERDICT_MISS) {
			r = gw_filter(f, cfg);
			if (v)
				gw_verdict_put(v, f, tag, gw_clock(now, rl.precise), r);
		}
		if (r != GW_R_NONE)
			return r;
	}
	if (!rl.on || !(what & GW_ADMIT_LIMIT))
		return GW_R_NONE;
	/* the precise clock when a bucket's error bound needs it (docs) */
	return gw_ratelimit(f, cfg, &rl, gw_clock(now, rl.precise));
}

static __always_inline __u32 gw_pipeline(struct gw_pkt *p, struct gw_fwd *fwd,
					  const enum gw_hook hook)
{
	const struct gw_config *cfg;
	__u64 now = 0;	/* read lazily: gw_clock() */
	struct gw_nat *nat;
	__u32 zero = 0;
	int kind;
	__u32 r;

	r = gw_parse(p);
	if (r != GW_R_NONE)
		return r;

	cfg = bpf_map_lookup_elem(&gw_config, &zero);
	if (!cfg)
		return GW_R_PASS_LOCAL;

	/* NAT replies are filtered but not rate limited; an ICMP error that
	 * turns out to be about no flow of ours is limited after. */
	kind = gw_nat_reply_kind(p, cfg, &nat);
	r = gw_admit(&p->flow, p->tcp_flags, &now,
		     GW_ADMIT_FILTER | (kind == GW_NR_NONE ? GW_ADMIT_LIMIT : 0));
	if (r != GW_R_NONE)
		return r;
	if (kind != GW_NR_NONE) {
		r = gw_nat_reply_run(p, kind, nat, fwd, hook);
		if (r != GW_R_NONE)
			return r;
		r = gw_admit(&p->flow, p->tcp_flags, &now, GW_ADMIT_LIMIT);
		if (r != GW_R_NONE)
			return r;
	}
	if (p->frag != GW_FRAG_NONE)
		return GW_R_PASS_FRAGMENT;
	if (p->vlan_depth)
		return GW_R_PASS_VLAN;
	r = gw_service(p, cfg, &now, fwd, hook);
	if (r != GW_R_NONE)
		return r;
	return GW_R_PASS_LOCAL;
}

/* Whether XDP must hand a packet forwarded to `egress` to TC: that
 * interface cannot take XDP frames (gwd's GW_IFADDR_F_XDP_SLOW; checked
 * only while some interface has it). Returns 1 or 0. */
static __always_inline int gw_xdp_egress_slow(__u32 egress)
{
	const struct gw_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&gw_config, &zero);
	if (!cfg || !(cfg->flags & GW_CFG_F_XDP_SLOW_ANY))
		return 0;
	return !!(gw_if_flags(egress) & GW_IFADDR_F_XDP_SLOW);
}

/* XDP: marks the (rewritten) packet for gw_tc_neigh at the ingress's TC
 * hook, which the packet reaches once passed: its Ethernet addresses
 * become GW_MARK_* and the egress (abi.h). Returns 0, or -1 when the
 * ingress has no gw_tc_neigh. */
static __always_inline int gw_xdp_handoff(struct xdp_md *ctx, __u32 ifindex, __u32 egress)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return -1;
	if (!(gw_if_flags(ifindex) & GW_IFADDR_F_TC_HELPER))
		return -1;
	eth->h_dest[0] = GW_MARK_0;
	eth->h_dest[1] = GW_MARK_1;
	eth->h_dest[2] = GW_MARK_2;
	eth->h_dest[3] = GW_MARK_NEIGH;
	eth->h_dest[4] = 0;
	eth->h_dest[5] = 0;
	__builtin_memcpy(eth->h_source, &egress, 4);
	eth->h_source[4] = 0;
	eth->h_source[5] = 0;
	return 0;
}

/* Returns 1 when the frame at data carries a destination only gw_xdp's
 * marks have (GW_MARK_0..2), else 0. */
static __always_inline int gw_eth_marked(const void *data, const void *end)
{
	const struct ethhdr *eth = data;

	if ((const void *)(eth + 1) > end)
		return 0;
	return eth->h_dest[0] == GW_MARK_0 && eth->h_dest[1] == GW_MARK_1 &&
	       eth->h_dest[2] == GW_MARK_2;
}

/* XDP: a packet to forward that XDP cannot send itself (its neighbour is
 * unresolved, or its egress takes no XDP frames) goes to gw_tc_neigh.
 * Returns the reason to count: FWD_NO_NEIGH, FWD_XDP_SLOW, `reason` when
 * XDP sends it, or DROP_NO_TC_HELPER when no handoff is possible. */
static __always_inline __u32 gw_xdp_fwd_check(struct xdp_md *ctx, __u32 ifindex, __u32 reason,
					      __u32 egress)
{
	if (reason != GW_R_FWD_NO_NEIGH) {
		if (!gw_xdp_egress_slow(egress))
			return reason;
		reason = GW_R_FWD_XDP_SLOW;
	}
	if (gw_xdp_handoff(ctx, ifindex, egress))
		return GW_R_DROP_NO_TC_HELPER;
	return reason;
}

/* Runs the pipeline, counts its verdict and turns it into the hook's
 * return code. */
static __always_inline int gw_run(void *ctx, const enum gw_hook hook)
{
	struct gw_fwd fwd = {};
	struct gw_pkt p;
	__u32 reason;
	int act;

	gw_pkt_init(&p, ctx, hook);
	reason = gw_pipeline(&p, &fwd, hook);
	act = gw_reason_action(reason);
	if (hook == GW_HOOK_XDP) {
		struct xdp_md *x = ctx;

		if (act == GW_ACT_FORWARD)
			reason = gw_xdp_fwd_check(x, p.ifindex, reason, fwd.ifindex);
		else if (act == GW_ACT_PASS &&
			 gw_eth_marked((void *)(long)x->data, (void *)(long)x->data_end))
			reason = GW_R_DROP_MALFORMED_L2;	/* a forged mark */
		act = gw_reason_action(reason);
	}
	gw_count(&gw_stats, reason, p.len);

	if (act == GW_ACT_DROP)
		return hook == GW_HOOK_XDP ? XDP_DROP : TC_ACT_SHOT;
	if (act == GW_ACT_PASS)
		return hook == GW_HOOK_XDP ? XDP_PASS : TC_ACT_OK;
	if (hook == GW_HOOK_XDP) {
		if (reason == GW_R_FWD_NO_NEIGH || reason == GW_R_FWD_XDP_SLOW)
			return XDP_PASS;	/* to gw_tc_neigh */
		return fwd.ifindex == p.ifindex ? XDP_TX : bpf_redirect(fwd.ifindex, 0);
	}
	if (reason == GW_R_FWD_NO_NEIGH)
		return bpf_redirect_neigh(fwd.ifindex, NULL, 0, 0);
	return bpf_redirect(fwd.ifindex, 0);
}

/* gw_tc_neigh, at the TC ingress of an interface where gw_xdp runs: sends
 * what gw_xdp marked for it (GW_MARK_*) through the kernel's neighbour
 * layer, lets everything else pass untouched. Returns the TC action. */
static __always_inline int gw_tc_handoff(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 egress;

	if (!gw_eth_marked(data, end) || (void *)(eth + 1) > end ||
	    eth->h_dest[3] != GW_MARK_NEIGH)
		return TC_ACT_OK;
	__builtin_memcpy(&egress, eth->h_source, 4);
	bpf_skb_change_type(skb, 0);	/* PACKET_HOST: the mark was no MAC of ours */
	return bpf_redirect_neigh(egress, NULL, 0, 0);
}

#endif /* GW_BPF_PIPELINE_H */
