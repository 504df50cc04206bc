/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `ipip` forwarding (direct server return): the client's packet, unchanged
 * but for its TTL, inside an outer IP header from the gateway's egress
 * address to the backend. The outer family is the backend's:
 *
 *   inner IPv4, backend IPv4   IPIP      (outer protocol 4)
 *   inner IPv6, backend IPv6   IP6IP6    (outer next header 41)
 *   inner IPv4, backend IPv6   4in6      (outer next header 4)
 *   inner IPv6, backend IPv4   6in4      (outer protocol 41)
 *
 * The outer header copies the inner DSCP/ECN and DF (IPv6 inner: DF set);
 * an IPv6 outer header carries the flow hash in its flow label so the
 * backend's NIC spreads flows over its queues.
 */
#ifndef GW_BPF_ENCAP_H
#define GW_BPF_ENCAP_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "csum.h"
#include "nat.h"

#define GW_ENCAP_TTL 64

/* Returns the outer header length of an encapsulation toward a backend of
 * family `family`. */
static __always_inline __u32 gw_encap_len(__u8 family)
{
	return family == GW_FAMILY_V4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* Encapsulates the untagged packet p toward the backend `dst` (family
 * `family`) from `src`, decrementing the inner TTL first when dec_ttl.
 * Packet pointers are reloaded. Returns GW_R_NONE, or DROP_ENCAP when the
 * headers are not there or the packet cannot grow. */
static __always_inline __u32 gw_ipip_encap(struct gw_pkt *p, __u8 family, const __be32 *dst,
					   const __be32 *src, __u32 hash, int dec_ttl,
					   const enum gw_hook hook)
{
	__u32 inner_len = p->l3_len, hlen = gw_encap_len(family);
	__u8 inner_v4 = p->flow.family == GW_FAMILY_V4;
	__u8 nexthdr = inner_v4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	__u16 mac[6];
	__be16 df;
	__u8 tos;

	{
		struct ethhdr *eth = p->data;
		void *l3 = p->data + ETH_HLEN;

		if (l3 + sizeof(struct ipv6hdr) > p->data_end && !inner_v4)
			return GW_R_DROP_ENCAP;
		if (l3 + sizeof(struct iphdr) > p->data_end)
			return GW_R_DROP_ENCAP;
		__builtin_memcpy(mac, eth, 12);
		if (inner_v4) {
			struct iphdr *ip = l3;

			tos = ip->tos;
			df = ip->frag_off & bpf_htons(0x4000);
		} else {
			struct ipv6hdr *ip6 = l3;

			tos = (__u8)(ip6->priority << 4 | ip6->flow_lbl[0] >> 4);
			df = bpf_htons(0x4000);
		}
	}
	if (dec_ttl && gw_ip_dec_ttl(p))
		return GW_R_DROP_ENCAP;

	if (gw_pkt_adjust_head(p, (int)hlen,
			       family == GW_FAMILY_V4 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 :
							BPF_F_ADJ_ROOM_ENCAP_L3_IPV6,
			       hook))
		return GW_R_DROP_ENCAP;

	if (family == GW_FAMILY_V4) {
		struct ethhdr *eth = p->data;
		struct iphdr *ip = p->data + ETH_HLEN;

		if ((void *)(ip + 1) > p->data_end)
			return GW_R_DROP_ENCAP;
		if (hook == GW_HOOK_XDP)
			__builtin_memcpy(eth, mac, 12);
		eth->h_proto = bpf_htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = tos;
		ip->tot_len = bpf_htons((__u16)(inner_len + hlen));
		ip->id = 0;
		ip->frag_off = df;
		ip->ttl = GW_ENCAP_TTL;
		ip->protocol = nexthdr;
		ip->check = 0;
		ip->saddr = src[0];
		ip->daddr = dst[0];
		ip->check = gw_csum_words((const __u32 *)ip, 5);
	} else {
		struct ethhdr *eth = p->data;
		struct ipv6hdr *ip6 = p->data + ETH_HLEN;
		__be32 vtcfl;

		if ((void *)(ip6 + 1) > p->data_end)
			return GW_R_DROP_ENCAP;
		if (hook == GW_HOOK_XDP)
			__builtin_memcpy(eth, mac, 12);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		vtcfl = bpf_htonl(6u << 28 | (__u32)tos << 20 | (hash & 0xfffff));
		*(__be32 *)ip6 = vtcfl;
		ip6->payload_len = bpf_htons((__u16)inner_len);
		ip6->nexthdr = nexthdr;
		ip6->hop_limit = GW_ENCAP_TTL;
		__builtin_memcpy(ip6->saddr.in6_u.u6_addr32, src, 16);
		__builtin_memcpy(ip6->daddr.in6_u.u6_addr32, dst, 16);
	}
	return GW_R_NONE;
}

#endif /* GW_BPF_ENCAP_H */
