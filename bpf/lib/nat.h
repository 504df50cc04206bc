/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `nat` forwarding: rewriting a TCP/UDP packet's addresses and ports with
 * correct checksums, and allocating the gateway's source port of a new flow
 * (with its reverse entry in gw_nat).
 */
#ifndef GW_BPF_NAT_H
#define GW_BPF_NAT_H

#include <stddef.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "maps.h"
#include "csum.h"
#include "scratch.h"
#include "fwd.h"

/* Bound of a header offset the datapath accepts (Ethernet + IPv4 options
 * or IPv6 extensions stay far below it); keeps the verifier's ranges tight. */
#define GW_L4_OFF_MAX 512

/* Returns 1 if the two 16-byte addresses are equal. */
static __always_inline int gw_addr_eq(const __be32 *a, const __be32 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

/* Decrements the TTL / hop limit of the IP header at the start of the L3
 * packet (untagged: at ETH_HLEN) and fixes the IPv4 checksum. Returns 0, or
 * -1 when the header is not there. */
static __always_inline int gw_ip_dec_ttl(struct gw_pkt *p)
{
	void *end = p->data_end;

	if (p->flow.family == GW_FAMILY_V4) {
		struct iphdr *ip = p->data + ETH_HLEN;
		__u16 old, *w;

		if ((void *)(ip + 1) > end)
			return -1;
		w = (__u16 *)&ip->ttl;
		old = *w;
		ip->ttl--;
		ip->check = gw_csum_apply(ip->check, gw_csum_add16(0, old, *w));
	} else {
		struct ipv6hdr *ip6 = p->data + ETH_HLEN;

		if ((void *)(ip6 + 1) > end)
			return -1;
		ip6->hop_limit--;
	}
	return 0;
}

/* Rewrites the addresses of the IPv4 (v6 = 0) or IPv6 header at ip, which
 * the caller has checked is in the packet, to src -> dst; the IPv4 header
 * checksum is left alone. Returns the addresses' checksum delta. */
static __always_inline __u64 gw_ip_addrs_set(void *ip, const int v6, const __be32 *src,
					     const __be32 *dst)
{
	__u64 d;

	if (!v6) {
		struct iphdr *ip4 = ip;

		d = gw_csum_add32(0, ip4->saddr, src[0]);
		d = gw_csum_add32(d, ip4->daddr, dst[0]);
		ip4->saddr = src[0];
		ip4->daddr = dst[0];
	} else {
		struct ipv6hdr *ip6 = ip;

		d = gw_csum_add128(0, ip6->saddr.in6_u.u6_addr32, src);
		d = gw_csum_add128(d, ip6->daddr.in6_u.u6_addr32, dst);
		__builtin_memcpy(ip6->saddr.in6_u.u6_addr32, src, 16);
		__builtin_memcpy(ip6->daddr.in6_u.u6_addr32, dst, 16);
	}
	return d;
}

/* Rewrites the addresses of the untagged packet p's IP header to saddr ->
 * daddr (of p's family), decrements the TTL / hop limit when dec_ttl and
 * fixes the IPv4 header checksum; *dip gets the addresses' delta (for the
 * checksums with a pseudo header). Returns 0, or -1 when the header is not
 * there. */
static __always_inline int gw_ip_rewrite(struct gw_pkt *p, const __be32 *saddr,
					 const __be32 *daddr, int dec_ttl, __u64 *dip)
{
	void *end = p->data_end;

	if (p->flow.family == GW_FAMILY_V4) {
		struct iphdr *ip = p->data + ETH_HLEN;
		__u64 dttl = 0;

		if ((void *)(ip + 1) > end)
			return -1;
		*dip = gw_ip_addrs_set(ip, 0, saddr, daddr);
		if (dec_ttl) {
			__u16 *w = (__u16 *)&ip->ttl, old = *w;

			ip->ttl--;
			dttl = gw_csum_add16(0, old, *w);
		}
		ip->check = gw_csum_apply(ip->check, *dip + dttl);
	} else {
		struct ipv6hdr *ip6 = p->data + ETH_HLEN;

		if ((void *)(ip6 + 1) > end)
			return -1;
		*dip = gw_ip_addrs_set(ip6, 1, saddr, daddr);
		if (dec_ttl)
			ip6->hop_limit--;
	}
	return 0;
}

/* Rewrites the addresses and ports of the untagged TCP/UDP packet p to
 * saddr:sport -> daddr:dport (addresses of p's family, ports in network
 * order), fixing the IPv4 header and L4 checksums (a UDP checksum of 0 on
 * IPv4 stays 0), and decrements the TTL / hop limit when dec_ttl. Packet
 * pointers are reloaded. Returns 0, or -1 when the headers are not there. */
static __always_inline int gw_l4_rewrite(struct gw_pkt *p, const __be32 *saddr, const __be32 *daddr,
					 __be16 sport, __be16 dport, int dec_ttl,
					 const enum gw_hook hook)
{
	__u32 l4_off = p->l4_off;
	__u8 udp = p->flow.proto == IPPROTO_UDP;
	void *data = p->data, *end = p->data_end;
	__u64 dip = 0, dl4 = 0;
	__u16 *check;
	__be16 *ports;
	__u32 csum_off;

	if (l4_off > GW_L4_OFF_MAX || gw_ip_rewrite(p, saddr, daddr, dec_ttl, &dip))
		return -1;

	if (udp) {
		struct udphdr *uh = data + l4_off;

		if ((void *)(uh + 1) > end)
			return -1;
		ports = &uh->source;
		check = &uh->check;
		csum_off = offsetof(struct udphdr, check);
	} else {
		struct tcphdr *th = data + l4_off;

		if ((void *)(th + 1) > end)
			return -1;
		ports = &th->source;
		check = &th->check;
		csum_off = offsetof(struct tcphdr, check);
	}
	dl4 = gw_csum_add16(dl4, ports[0], sport);
	dl4 = gw_csum_add16(dl4, ports[1], dport);
	ports[0] = sport;
	ports[1] = dport;

	if (hook == GW_HOOK_XDP) {
		__u16 c;

		if (udp && !*check)
			return 0;	/* no checksum (IPv4), or already invalid (IPv6) */
		c = gw_csum_apply(*check, dip + dl4);
		*check = (udp && !c) ? 0xffff : c;
		return 0;
	}
	/* TC: the helpers also handle CHECKSUM_PARTIAL / _COMPLETE skbs. */
	bpf_l4_csum_replace(p->ctx, l4_off + csum_off, 0, gw_csum_fold32(dip),
			    BPF_F_PSEUDO_HDR | (udp ? BPF_F_MARK_MANGLED_0 : 0));
	bpf_l4_csum_replace(p->ctx, l4_off + csum_off, 0, gw_csum_fold32(dl4),
			    udp ? BPF_F_MARK_MANGLED_0 : 0);
	gw_pkt_reload(p, hook);
	return 0;
}

/* The configured source-port range of translated flows, defaults when the
 * record makes no sense. */
static __always_inline void gw_nat_range(const struct gw_config *cfg, __u32 *min, __u32 *span)
{
	__u32 lo = cfg->nat_port_min, hi = cfg->nat_port_max;

	if (!lo || hi < lo) {
		lo = GW_NAT_PORT_MIN_DEFAULT;
		hi = GW_NAT_PORT_MAX_DEFAULT;
	}
	*min = lo;
	*span = hi - lo + 1;
}

/* The source address of a `nat` flow of family leaving through ifindex:
 * cluster.nat_source when it has that family (every node translates the
 * same way), else the interface's own. Returns 0, or -1 when there is
 * none. */
static __always_inline int gw_nat_src_addr(__u32 ifindex, __u8 family, __be32 *src)
{
	__u32 zero = 0;
	struct gw_ifaddr *ns = bpf_map_lookup_elem(&gw_nat_src, &zero);

	if (ns && family == GW_FAMILY_V4 && (ns->flags & GW_IFADDR_F_V4)) {
		src[0] = ns->v4;
		src[1] = src[2] = src[3] = 0;
		return 0;
	}
	if (ns && family == GW_FAMILY_V6 && (ns->flags & GW_IFADDR_F_V6)) {
		__builtin_memcpy(src, ns->v6, 16);
		return 0;
	}
	return gw_src_addr(ifindex, family, src);
}

/* 1 when addr (of family) is cluster.nat_source. */
static __always_inline int gw_is_nat_src(__u8 family, const __be32 *addr)
{
	__u32 zero = 0;
	struct gw_ifaddr *ns = bpf_map_lookup_elem(&gw_nat_src, &zero);

	if (!ns)
		return 0;
	if (family == GW_FAMILY_V4)
		return (ns->flags & GW_IFADDR_F_V4) && ns->v4 == addr[0];
	return (ns->flags & GW_IFADDR_F_V6) && gw_addr_eq(ns->v6, addr);
}

/* Hands a new reverse entry to gwd for the other nodes (gw_nat_events);
 * a full ring loses it (the flow then survives a move only by the shared
 * translation). */
static __always_inline void gw_nat_publish(const struct gw_flow *key, const struct gw_nat *val)
{
	struct gw_nat_event *ev = bpf_ringbuf_reserve(&gw_nat_events, sizeof(*ev), 0);

	if (!ev)
		return;
	__builtin_memcpy(&ev->rev, key, sizeof(*key));
	__builtin_memcpy(&ev->nat, val, sizeof(*val));
	bpf_ringbuf_submit(ev, 0);
}

/* Chooses the gateway's source port of a new translated flow and inserts
 * its reverse entry: key = the backend's reply (backend:port -> t->src:port).
 * The first candidate comes from the flow hash, later ones from rehashing;
 * an existing entry of this very flow (its ct entry was evicted) is reused.
 * Returns the port (network order), or 0 when GW_NAT_PORT_TRIES candidates
 * were all taken. */
static __always_inline __be16 gw_nat_alloc(const struct gw_config *cfg, const struct gw_pkt *p,
					   const struct gw_backend *be, __u32 be_id, __u32 svc_id,
					   struct gw_lb_tmp *t, __u32 hash)
{
	struct gw_flow *key = &t->key;
	struct gw_nat *val = &t->nat;
	struct gw_nat *cur;
	__u32 min, span, i;

	gw_nat_range(cfg, &min, &span);
	__builtin_memcpy(key->saddr, be->addr, 16);
	__builtin_memcpy(key->daddr, t->src, 16);
	key->sport = be->port;
	key->proto = p->flow.proto;
	key->family = p->flow.family;
	key->pad = 0;
	__builtin_memcpy(val->client_addr, p->flow.saddr, 16);
	__builtin_memcpy(val->vip_addr, p->flow.daddr, 16);
	val->client_port = p->flow.sport;
	val->vip_port = p->flow.dport;
	val->svc_id = svc_id;
	val->backend_id = be_id;
	val->pad = 0;

	for (i = 0; i < GW_NAT_PORT_TRIES; i++) {
		key->dport = bpf_htons((__u16)(min + hash % span));
		if (!bpf_map_update_elem(&gw_nat, key, val, BPF_NOEXIST)) {
			if (cfg->flags & GW_CFG_F_NAT_SYNC)
				gw_nat_publish(key, val);
			return key->dport;
		}
		cur = bpf_map_lookup_elem(&gw_nat, key);
		if (cur && cur->client_port == val->client_port &&
		    cur->vip_port == val->vip_port && cur->svc_id == svc_id &&
		    cur->backend_id == be_id && gw_addr_eq(cur->client_addr, val->client_addr) &&
		    gw_addr_eq(cur->vip_addr, val->vip_addr))
			return key->dport;
		hash = hash * 0x01000193u + 0x9e3779b9u;
	}
	return 0;
}

#endif /* GW_BPF_NAT_H */
