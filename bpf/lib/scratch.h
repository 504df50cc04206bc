/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU scratch space of the L4 paths. The FIB lookup's parameters, map
 * keys and values being built and addresses being moved around live here
 * rather than on the 512-byte BPF stack that the whole pipeline shares. A
 * program runs to completion on its CPU, so one entry per CPU suffices.
 * Nothing in it outlives a packet; it is never cleared as a whole (each
 * user initialises what it uses).
 */
#ifndef GW_BPF_SCRATCH_H
#define GW_BPF_SCRATCH_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "gw/abi.h"

/* The flow a quoted header (of an ICMP error) names, as it was sent. */
struct gw_quote {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct gw_lb_tmp {
	struct bpf_fib_lookup fib;
	struct gw_flow key;	/* gw_nat / gw_ct keys being built */
	struct gw_nat nat;	/* reverse entry being inserted */
	struct gw_ct ct;	/* conntrack entry being inserted */
	struct gw_quote q;
	__be32 src[4];		/* addresses of the packet being built */
	__be32 dst[4];
	__be32 a[4];
	__be32 b[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_lb_tmp);
	__uint(max_entries, 1);
} gw_lb_tmp SEC(".maps");

/* Returns this CPU's scratch entry (never NULL in practice; callers treat
 * NULL as "not handled"). */
static __always_inline struct gw_lb_tmp *gw_lb_tmp_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&gw_lb_tmp, &zero);
}

#endif /* GW_BPF_SCRATCH_H */
