// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw-decap: what a backend of an `ipip` service runs (XDP, or TC ingress
 * where XDP cannot). A packet whose outer IPv4/IPv6 header carries IPv4 or
 * IPv6 (protocol 4 or 41) to one of the addresses in gw_decap_addrs loses
 * that header and goes on to the stack as the client sent it (to the VIP,
 * which the backend holds on `lo`). Everything else passes untouched. No
 * ipip/ip6tnl device is needed. Counters: gw_decap_stats.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gw/abi.h"
#include "gw/decap.h"

/* bpf_skb_adjust_room() flags of 6.3+ that change the protocol on decap. */
#define GW_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define GW_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)

#ifndef GW_DECAP_ADDRS_MAX
#define GW_DECAP_ADDRS_MAX 64
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct gw_decap_key);
	__type(value, __u32);
	__uint(max_entries, GW_DECAP_ADDRS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_counter);
	__uint(max_entries, GW_DECAP_STAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_decap_stats SEC(".maps");

enum { HOOK_XDP, HOOK_TC };

static __always_inline void count(__u32 idx, __u32 bytes)
{
	struct gw_counter *c = bpf_map_lookup_elem(&gw_decap_stats, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Returns the stat of what was done; *drop is set for malformed packets. */
static __always_inline __u32 decap(void *ctx, void *data, void *data_end, const int hook)
{
	struct ethhdr *eth = data;
	struct gw_decap_key key = {};
	__u32 olen, inner_v4;
	__u8 nexthdr;

	if ((void *)(eth + 1) > data_end)
		return GW_DECAP_OTHER;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return GW_DECAP_OTHER;
		if (ip->protocol != IPPROTO_IPIP && ip->protocol != IPPROTO_IPV6)
			return GW_DECAP_OTHER;
		if (ip->ihl < 5 || ip->version != 4)
			return GW_DECAP_MALFORMED;
		if (ip->frag_off & bpf_htons(0x3fff))
			return GW_DECAP_FRAGMENT;
		olen = ip->ihl * 4;
		nexthdr = ip->protocol;
		key.addr[0] = ip->daddr;
		key.family = GW_FAMILY_V4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return GW_DECAP_OTHER;
		if (ip6->nexthdr != IPPROTO_IPIP && ip6->nexthdr != IPPROTO_IPV6)
			return GW_DECAP_OTHER;
		olen = sizeof(*ip6);
		nexthdr = ip6->nexthdr;
		__builtin_memcpy(key.addr, ip6->daddr.in6_u.u6_addr32, 16);
		key.family = GW_FAMILY_V6;
	} else {
		return GW_DECAP_OTHER;
	}
	if (!bpf_map_lookup_elem(&gw_decap_addrs, &key))
		return GW_DECAP_NOT_LOCAL;

	/* The inner header must be there and of the announced version. */
	{
		__u8 *inner = data + ETH_HLEN + olen;

		if ((void *)(inner + sizeof(struct iphdr)) > data_end)
			return GW_DECAP_MALFORMED;
		inner_v4 = nexthdr == IPPROTO_IPIP;
		if ((inner[0] >> 4) != (inner_v4 ? 4 : 6))
			return GW_DECAP_MALFORMED;
	}

	if (hook == HOOK_XDP) {
		struct ethhdr *neth = data + olen;

		if ((void *)(neth + 1) > data_end)
			return GW_DECAP_MALFORMED;
		__builtin_memmove(neth, eth, 12);
		neth->h_proto = inner_v4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
		if (bpf_xdp_adjust_head(ctx, (int)olen))
			return GW_DECAP_FAILED;
	} else {
		__u64 flags = 0;
		struct __sk_buff *skb = ctx;

		if (inner_v4 != (key.family == GW_FAMILY_V4))
			flags = inner_v4 ? GW_ADJ_ROOM_DECAP_L3_IPV4 : GW_ADJ_ROOM_DECAP_L3_IPV6;
		if (bpf_skb_adjust_room(skb, -(__s32)olen, BPF_ADJ_ROOM_MAC, flags))
			return GW_DECAP_FAILED;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		eth = data;
		if ((void *)(eth + 1) > data_end)
			return GW_DECAP_MALFORMED;
		eth->h_proto = inner_v4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	}
	return key.family == GW_FAMILY_V4 ? GW_DECAP_IPIP : GW_DECAP_IP6;
}

SEC("xdp")
int gw_decap_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 len = (__u32)(data_end - data);
	__u32 st = decap(ctx, data, data_end, HOOK_XDP);

	count(st, len);
	return st == GW_DECAP_MALFORMED ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int gw_decap_tc(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	__u32 st;

	if (skb->data + ETH_HLEN + 80 > skb->data_end && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < ETH_HLEN + 80 ? skb->len : ETH_HLEN + 80);
	st = decap(skb, (void *)(long)skb->data, (void *)(long)skb->data_end, HOOK_TC);
	count(st, len);
	return st == GW_DECAP_MALFORMED ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
