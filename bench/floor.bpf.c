// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The benchmark's reference programs: the floor every gw figure is divided
 * by (a bare XDP_PASS, and a bare XDP_DROP for the live-frame drop row), and
 * the live-frame generator that redirects every frame into a veth; and
 * the floor plus one read of each clock gw may read (the breakdown rows:
 * what a clock read costs on this machine).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Where bench_redirect sends frames: key 0 holds the ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} bench_target SEC(".maps");

/* Returns XDP_PASS: the cheapest program there is. */
SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Returns XDP_DROP. */
SEC("xdp")
int bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* XDP_PASS after bpf_ktime_get_ns() (the result kept, so the call stays). */
SEC("xdp")
int bench_ktime(struct xdp_md *ctx)
{
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_ABORTED;
}

/* XDP_PASS after bpf_ktime_get_coarse_ns(). */
SEC("xdp")
int bench_ktime_coarse(struct xdp_md *ctx)
{
	return bpf_ktime_get_coarse_ns() ? XDP_PASS : XDP_ABORTED;
}

/* Returns XDP_REDIRECT toward bench_target[0], XDP_ABORTED when unset. */
SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	__u32 zero = 0, *ifindex;

	ifindex = bpf_map_lookup_elem(&bench_target, &zero);
	if (!ifindex || !*ifindex)
		return XDP_ABORTED;
	return bpf_redirect(*ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
