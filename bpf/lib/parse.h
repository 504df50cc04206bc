/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet parser: Ethernet, up to two VLAN tags, IPv4 or IPv6 (with a
 * bounded extension-header walk), then TCP, UDP or ICMP/ICMPv6. It fills
 * struct gw_pkt and returns GW_R_NONE to go on, or the reason of a verdict.
 * docs/datapath-l3.md lists every case and its verdict.
 *
 * Two lengths bound every header:
 *  - p->data_end, for the verifier: every read is checked against it first;
 *  - the packet's own lengths (frame length p->len, IPv4 tot_len, IPv6
 *    payload_len), for the semantics: a header that the IP packet does not
 *    hold is malformed even when trailing bytes (Ethernet padding) follow.
 * At TC the skb may be non-linear; gw_pkt_init() pulls the first bytes into
 * the linear area, and a header beyond them is treated as truncated (drop,
 * fail closed: nothing gets past the filter unparsed).
 *
 * Ports are kept in network order. ICMP/ICMPv6 echo requests and replies
 * carry their identifier in both flow.sport and flow.dport, so the reverse
 * of a flow is a plain swap of addresses and ports; other ICMP messages have
 * ports 0 and their type in icmp_type.
 */
#ifndef GW_BPF_PARSE_H
#define GW_BPF_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"

#define GW_IP_MF 0x2000		/* IPv4 more fragments */
#define GW_IP_OFFMASK 0x1fff	/* IPv4 fragment offset, 8-byte units */
#define GW_ICMP_HLEN 8		/* every ICMP/ICMPv6 message has 8 bytes */
#define GW_TCP_SYN 0x02
#define GW_TCP_ACK 0x10

/* An 802.1Q / 802.1ad tag as it follows the MAC addresses. */
struct gw_vlan_tag {
	__be16 tci;
	__be16 proto;		/* the next ethertype */
};

/* Fills ports, TCP flags or ICMP type from the L4 header at `off`; `end` is
 * where the IP packet ends (the header must lie within it). Returns
 * GW_R_NONE, or GW_R_DROP_MALFORMED_L4 when the header is truncated or
 * inconsistent. Protocols gw does not steer get no ports and pass. */
static __always_inline __u32 gw_parse_l4(struct gw_pkt *p, __u32 off, __u32 end, __u8 proto,
					 int v6)
{
	void *data_end = p->data_end;
	__u8 *h = p->data + off;
	__u32 room = end - off;	/* callers guarantee off <= end */

	p->l4_off = off;
	p->flow.proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)h;
		__u32 doff;

		if (room < sizeof(*th) || (void *)(th + 1) > data_end)
			return GW_R_DROP_MALFORMED_L4;
		doff = (__u32)(h[12] >> 4) << 2;
		if (doff < sizeof(*th) || doff > room)
			return GW_R_DROP_MALFORMED_L4;
		p->tcp_flags = h[13];
		p->flow.sport = th->source;
		p->flow.dport = th->dest;
		return GW_R_NONE;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = (void *)h;
		__u32 ulen;

		if (room < sizeof(*uh) || (void *)(uh + 1) > data_end)
			return GW_R_DROP_MALFORMED_L4;
		ulen = bpf_ntohs(uh->len);
		/* A first fragment holds part of the datagram: only the
		 * lower bound applies to it. */
		if (ulen < sizeof(*uh) || (ulen > room && p->frag == GW_FRAG_NONE))
			return GW_R_DROP_MALFORMED_L4;
		p->flow.sport = uh->source;
		p->flow.dport = uh->dest;
		return GW_R_NONE;
	}
	if ((!v6 && proto == IPPROTO_ICMP) || (v6 && proto == IPPROTO_ICMPV6)) {
		if (room < GW_ICMP_HLEN || (void *)(h + GW_ICMP_HLEN) > data_end)
			return GW_R_DROP_MALFORMED_L4;
		p->icmp_type = h[0];
		/* Echo request / reply: v4 8 / 0, v6 128 / 129. */
		if ((!v6 && (h[0] == 8 || h[0] == 0)) || (v6 && (h[0] == 128 || h[0] == 129))) {
			__be16 id = *(__be16 *)(h + 4);

			p->flow.sport = id;
			p->flow.dport = id;
		}
		return GW_R_NONE;
	}
	return GW_R_NONE;	/* ESP, GRE, IPIP, No Next Header, ...: no ports */
}

/* IPv4 at `off`. Returns GW_R_NONE or a verdict. */
static __always_inline __u32 gw_parse_ipv4(struct gw_pkt *p, __u32 off)
{
	struct iphdr *ip = p->data + off;
	__u32 hlen, tot, frag;

	if ((void *)(ip + 1) > p->data_end)
		return GW_R_DROP_MALFORMED_IPV4;
	if (ip->version != 4)
		return GW_R_DROP_MALFORMED_IPV4;
	hlen = (__u32)ip->ihl << 2;
	tot = bpf_ntohs(ip->tot_len);
	if (hlen < sizeof(*ip) || tot < hlen || off + tot > p->len)
		return GW_R_DROP_MALFORMED_IPV4;

	p->l3_off = off;
	p->l3_len = tot;
	p->ttl = ip->ttl;
	p->flow.family = GW_FAMILY_V4;
	p->flow.proto = ip->protocol;
	p->flow.saddr[0] = ip->saddr;
	p->flow.daddr[0] = ip->daddr;

	frag = bpf_ntohs(ip->frag_off);
	if (frag & GW_IP_OFFMASK) {
		p->frag = GW_FRAG_LATER;	/* no L4 header here */
		return GW_R_NONE;
	}
	if (frag & GW_IP_MF)
		p->frag = GW_FRAG_FIRST;
	return gw_parse_l4(p, off + hlen, off + tot, ip->protocol, 0);
}

/* IPv6 at `off`, then at most GW_IPV6_EXT_MAX extension headers. Returns
 * GW_R_NONE or a verdict. */
static __always_inline __u32 gw_parse_ipv6(struct gw_pkt *p, __u32 off)
{
	struct ipv6hdr *ip6 = p->data + off;
	__u32 end, cur, i, seen_frag = 0;
	__u8 nh;

	if ((void *)(ip6 + 1) > p->data_end)
		return GW_R_DROP_MALFORMED_IPV6;
	if (ip6->version != 6)
		return GW_R_DROP_MALFORMED_IPV6;
	end = off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (end > p->len)
		return GW_R_DROP_MALFORMED_IPV6;

	p->l3_off = off;
	p->l3_len = end - off;
	p->ttl = ip6->hop_limit;
	p->flow.family = GW_FAMILY_V6;
	p->flow.saddr[0] = ip6->saddr.in6_u.u6_addr32[0];
	p->flow.saddr[1] = ip6->saddr.in6_u.u6_addr32[1];
	p->flow.saddr[2] = ip6->saddr.in6_u.u6_addr32[2];
	p->flow.saddr[3] = ip6->saddr.in6_u.u6_addr32[3];
	p->flow.daddr[0] = ip6->daddr.in6_u.u6_addr32[0];
	p->flow.daddr[1] = ip6->daddr.in6_u.u6_addr32[1];
	p->flow.daddr[2] = ip6->daddr.in6_u.u6_addr32[2];
	p->flow.daddr[3] = ip6->daddr.in6_u.u6_addr32[3];

	nh = ip6->nexthdr;
	cur = off + sizeof(*ip6);
	for (i = 0; i < GW_IPV6_EXT_MAX + 1; i++) {
		__u8 *h = p->data + cur;
		__u32 len;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_FRAGMENT && nh != IPPROTO_AH)
			break;
		/* One header more than the walk allows: give up. */
		if (i == GW_IPV6_EXT_MAX)
			return GW_R_DROP_IPV6_EXT;
		if (cur + 8 > end || (void *)(h + 8) > p->data_end)
			return GW_R_DROP_IPV6_EXT;
		/* Hop-by-hop options only ever follow the IPv6 header. */
		if (nh == IPPROTO_HOPOPTS && i != 0)
			return GW_R_DROP_IPV6_EXT;
		if (nh == IPPROTO_FRAGMENT) {
			__u32 fo = (__u32)h[2] << 8 | h[3];

			if (seen_frag)
				return GW_R_DROP_IPV6_EXT;
			seen_frag = 1;
			if (fo & 0xfff8) {
				/* Offset > 0: the rest of the chain and the
				 * L4 header are in the first fragment. */
				p->frag = GW_FRAG_LATER;
				p->flow.proto = h[0];
				return GW_R_NONE;
			}
			/* M set: first fragment. Neither: an atomic
			 * fragment (RFC 6946), a whole packet. */
			if (fo & 1)
				p->frag = GW_FRAG_FIRST;
			len = 8;
		} else if (nh == IPPROTO_AH) {
			len = ((__u32)h[1] + 2) << 2;
		} else {
			/* Routing type 0 is deprecated (RFC 5095): refused
			 * while it still has segments to visit. */
			if (nh == IPPROTO_ROUTING && h[2] == 0 && h[3] != 0)
				return GW_R_DROP_IPV6_EXT;
			len = ((__u32)h[1] + 1) << 3;
		}
		nh = h[0];
		cur += len;
		if (cur > end)
			return GW_R_DROP_IPV6_EXT;
	}
	return gw_parse_l4(p, cur, end, nh, 1);
}

static __always_inline __u32 gw_parse(struct gw_pkt *p)
{
	struct ethhdr *eth = p->data;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > p->data_end)
		return GW_R_DROP_MALFORMED_L2;
	proto = eth->h_proto;
	/* vlan_depth may already count a tag the NIC or the stack took out
	 * of the frame (see gw_pkt_init). */
#pragma unroll
	for (i = 0; i < GW_VLAN_MAX_DEPTH + 1; i++) {
		struct gw_vlan_tag *tag = p->data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (p->vlan_depth >= GW_VLAN_MAX_DEPTH)
			return GW_R_DROP_VLAN_DEPTH;
		if ((void *)(tag + 1) > p->data_end)
			return GW_R_DROP_MALFORMED_L2;
		proto = tag->proto;
		off += sizeof(*tag);
		p->vlan_depth++;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return gw_parse_ipv4(p, off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return gw_parse_ipv6(p, off);
	return GW_R_PASS_NON_IP;
}

#endif /* GW_BPF_PARSE_H */
