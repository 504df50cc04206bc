/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One pipeline, two hooks. Every feature header works on a struct gw_pkt and
 * a compile-time constant `hook`; the few operations that differ between XDP
 * and TC (packet pointers, growing the head, redirecting) live here, so the
 * entry programs instantiate the same code for xdp_md and __sk_buff and the
 * compiler drops the branches of the other hook.
 */
#ifndef GW_BPF_CTX_H
#define GW_BPF_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "gw/abi.h"

enum gw_hook {
	GW_HOOK_XDP = 0,
	GW_HOOK_TC = 1,
};

/* What the parser learned, and where the headers are. Offsets are from the
 * start of the packet (the Ethernet header). */
struct gw_pkt {
	void *ctx;		/* struct xdp_md * or struct __sk_buff * */
	void *data;
	void *data_end;
	__u32 ifindex;		/* ingress interface */
	__u32 len;		/* bytes on the wire, for the byte counters */
	__u16 l3_off;
	__u16 l4_off;		/* 0 when there is no L4 header (fragments) */
	__u16 l3_len;		/* IPv4 tot_len / IPv6 payload + 40: IP packet */
	__u8 vlan_depth;	/* 0, 1 or 2 tags */
	__u8 tcp_flags;		/* TCP flags byte (tcphdr byte 13), else 0 */
	__u8 frag;		/* GW_FRAG_* */
	__u8 icmp_type;		/* ICMP/ICMPv6 type when proto is ICMP */
	__u8 ttl;		/* IPv4 TTL / IPv6 hop limit */
	__u8 pad;
	struct gw_flow flow;	/* addresses, ports (0 without L4), proto */
};

#define GW_FRAG_NONE 0
#define GW_FRAG_FIRST 1		/* offset 0 with more fragments: has L4 */
#define GW_FRAG_LATER 2		/* offset > 0: no L4 header */

/* Where a forwarded packet leaves. */
struct gw_fwd {
	__u32 ifindex;		/* egress; == pkt->ifindex means send back */
};

/* Put right after a bpf_map_lookup_elem() whose twin on another path
 * (another map, same code) clang would otherwise merge into one call fed
 * by either map: the verifier then cannot inline the lookup (nor call the
 * map's own function), and the generic helper costs an indirect call. The
 * empty asm, on one path only, leaves the two calls' tails different. */
#define gw_lookup_apart(ptr) asm volatile("" : "+r"(ptr))

/* How far the coarse clock gw reads (gw_coarse_ns) may lag
 * bpf_ktime_get_ns(): bpf_ktime_get_coarse_ns() is the timekeeper's value
 * at its last update, up to one tick behind, and gw_coarse_ns() reuses it
 * within a jiffy, which adds at most one more tick: two ticks, 8 ms at
 * HZ=250 (Debian's; 1000 elsewhere). Stages that use it allow for this
 * much (docs/datapath-l3.md); a kernel with HZ=100 would lag up to 20 ms. */
#define GW_COARSE_LAG_NS 10000000ull

/* Per CPU: the coarse clock's last value and the jiffy it was read in. */
struct gw_clock_cpu {
	__u64 jiffies;
	__u64 coarse_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_clock_cpu);
	__uint(max_entries, 1);
} gw_clock_cpu SEC(".maps");

/* The coarse clock, read through bpf_ktime_get_coarse_ns() at most once per
 * jiffy and CPU: bpf_jiffies64() is inlined by the verifier (a load), the
 * coarse helper is a call (~20 ns on the development VM, where every call
 * pays the SRSO return thunk) and moves only at ticks anyway. Within a
 * jiffy the value is the one the first packet of the jiffy read (the tick
 * may advance jiffies just before the timekeeper: one tick more lag at
 * worst). */
static __always_inline __u64 gw_coarse_ns(void)
{
	struct gw_clock_cpu *c;
	__u32 zero = 0;
	__u64 j;

	c = bpf_map_lookup_elem(&gw_clock_cpu, &zero);
	if (!c)
		return bpf_ktime_get_coarse_ns();
	j = bpf_jiffies64();
	if (c->jiffies != j || !c->coarse_ns) {
		c->coarse_ns = bpf_ktime_get_coarse_ns();
		c->jiffies = j;
	}
	return c->coarse_ns;
}

/* The packet's clock, read at most once and only by a stage that needs it
 * (the read costs more than parsing on some machines): *now is 0 until the
 * first call. `precise`: bpf_ktime_get_ns(); else the coarse clock
 * (gw_coarse_ns(): bpf_ktime_get_coarse_ns(), kernel 5.11+, a fraction of
 * the cost, up to GW_COARSE_LAG_NS behind). The first stage to read it
 * decides: the rate limiter, which may need the precise one, runs before
 * the others (conntrack, the filter's verdict cache), which take either.
 * Returns the time. */
static __always_inline __u64 gw_clock(__u64 *now, int precise)
{
	if (!*now)
		*now = precise ? bpf_ktime_get_ns() : gw_coarse_ns();
	return *now;
}

static __always_inline void gw_pkt_reload(struct gw_pkt *p, const enum gw_hook hook)
{
	if (hook == GW_HOOK_XDP) {
		struct xdp_md *x = p->ctx;

		p->data = (void *)(long)x->data;
		p->data_end = (void *)(long)x->data_end;
	} else {
		struct __sk_buff *s = p->ctx;

		p->data = (void *)(long)s->data;
		p->data_end = (void *)(long)s->data_end;
	}
}

static __always_inline void gw_pkt_init(struct gw_pkt *p, void *ctx, const enum gw_hook hook)
{
	__builtin_memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	gw_pkt_reload(p, hook);
	if (hook == GW_HOOK_XDP) {
		struct xdp_md *x = ctx;

		p->ifindex = x->ingress_ifindex;
		p->len = (__u32)(p->data_end - p->data);
	} else {
		struct __sk_buff *s = ctx;

		p->ifindex = s->ingress_ifindex ? s->ingress_ifindex : s->ifindex;
		p->len = s->len;
		/* The stack moves the outer VLAN tag out of the frame into
		 * skb->vlan_tci before TC ingress runs: count it, or tagged
		 * frames would pass for untagged ones (parse.h counts the
		 * tags still in the frame on top of it). */
		if (s->vlan_present)
			p->vlan_depth = 1;
		/* The headers gw reads must be in the linear part. */
		if (p->data + 128 > p->data_end && s->len > (__u32)(p->data_end - p->data)) {
			bpf_skb_pull_data(s, s->len < 128 ? s->len : 128);
			gw_pkt_reload(p, hook);
		}
	}
}

/* Grows (delta > 0) or shrinks the packet at its head; pointers are
 * reloaded. Returns 0 or a negative error. For TC the new room is inserted
 * after the MAC header (encapsulation), for XDP before the packet: the
 * caller moves the Ethernet header in the XDP case. */
static __always_inline int gw_pkt_adjust_head(struct gw_pkt *p, int delta, __u64 tc_flags,
					      const enum gw_hook hook)
{
	int err;

	if (hook == GW_HOOK_XDP)
		err = bpf_xdp_adjust_head(p->ctx, -delta);
	else
		err = bpf_skb_adjust_room(p->ctx, delta, BPF_ADJ_ROOM_MAC, tc_flags);
	gw_pkt_reload(p, hook);
	return err;
}

#endif /* GW_BPF_CTX_H */
