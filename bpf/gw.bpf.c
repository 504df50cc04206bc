// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw's L3/L4 datapath: the same pipeline (lib/pipeline.h) at XDP and at TC
 * ingress. Attach gw_xdp where XDP runs; gw_tc where it cannot.
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
