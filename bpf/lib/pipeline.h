/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L3/L4 pipeline, the same for XDP and TC ingress:
 *
 *   parse -> filter (allow/deny, bans) -> NAT replies -> rate limit
 *         -> fragments / tagged frames to the stack -> L4 services -> stack
 *
 * Each stage returns GW_R_NONE to go on, or the reason of its verdict. NAT
 * replies come before the per-source rate limit so that a busy backend is not
 * limited as if it were a client; they still pass the filter.
 */
#ifndef GW_BPF_PIPELINE_H
#define GW_BPF_PIPELINE_H

#include "ctx.h"
#include "maps.h"
#include "stats.h"
#include "parse.h"
#include "filter.h"
#include "ratelimit.h"
#include "lb.h"

static __always_inline __u32 gw_pipeline(struct gw_pkt *p, struct gw_fwd *fwd,
					  const enum gw_hook hook)
{
	const struct gw_config *cfg;
	__u32 zero = 0;
	__u64 now;
	__u32 r;

	r = gw_parse(p);
	if (r != GW_R_NONE)
		return r;

	cfg = bpf_map_lookup_elem(&gw_config, &zero);
	if (!cfg)
		return GW_R_PASS_LOCAL;
	now = bpf_ktime_get_ns();

	r = gw_filter(p, cfg, now);
	if (r != GW_R_NONE)
		return r;
	r = gw_nat_reply(p, cfg, fwd, hook);
	if (r != GW_R_NONE)
		return r;
	r = gw_ratelimit(p, cfg, now);
	if (r != GW_R_NONE)
		return r;
	if (p->frag != GW_FRAG_NONE)
		return GW_R_PASS_FRAGMENT;
	if (p->vlan_depth)
		return GW_R_PASS_VLAN;
	r = gw_service(p, cfg, now, fwd, hook);
	if (r != GW_R_NONE)
		return r;
	return GW_R_PASS_LOCAL;
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
	gw_count(&gw_stats, reason, p.len);

	act = gw_reason_action(reason);
	if (act == GW_ACT_DROP)
		return hook == GW_HOOK_XDP ? XDP_DROP : TC_ACT_SHOT;
	if (act == GW_ACT_PASS)
		return hook == GW_HOOK_XDP ? XDP_PASS : TC_ACT_OK;
	if (hook == GW_HOOK_XDP)
		return fwd.ifindex == p.ifindex ? XDP_TX : bpf_redirect(fwd.ifindex, 0);
	return bpf_redirect(fwd.ifindex, 0);
}

#endif /* GW_BPF_PIPELINE_H */
