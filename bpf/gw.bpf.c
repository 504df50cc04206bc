// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw's L3/L4 datapath: the same pipeline (lib/pipeline.h) at XDP and at TC
 * ingress. Attach gw_xdp where XDP runs (with gw_tc_neigh at TC ingress);
 * gw_tc where it cannot.
 */
#include "lib/pipeline.h"

SEC("xdp")
int gw_xdp(struct xdp_md *ctx)
{
	return gw_run(ctx, GW_HOOK_XDP);
}

SEC("tc")
int gw_tc(struct __sk_buff *skb)
{
	return gw_run(skb, GW_HOOK_TC);
}

/* Beside gw_xdp, at the same interface's TC ingress: sends the packets
 * gw_xdp could not (unresolved neighbour, an egress taking no XDP frames). */
SEC("tc")
int gw_tc_neigh(struct __sk_buff *skb)
{
	return gw_tc_handoff(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
