/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about steered flows. An error quotes the packet that caused
 * it; the quote names the flow. Two directions:
 *
 *  - from the backend's side, about a translated packet (gateway:natport ->
 *    backend:port): found in gw_nat by the quote, it goes to the client as
 *    if the VIP had answered: outer destination the client, quote client ->
 *    VIP (the backend itself as outer source becomes the VIP);
 *  - from the client's side, to the VIP, about a reply (VIP -> client):
 *    found in gw_ct by the quote; a `nat` flow's error goes to the backend
 *    about backend -> gateway:natport (outer source the gateway), an `ipip`
 *    flow's error is encapsulated to the backend as it is (the backend
 *    holds the VIP and matches the quote itself).
 *
 * Handled: ICMP destination unreachable (fragmentation needed among them)
 * and time exceeded; ICMPv6 destination unreachable, packet too big and
 * time exceeded. The quoted header must be plain (IPv4 without options,
 * IPv6 without extension headers) with 8 bytes of TCP/UDP after it. Every
 * checksum is updated: outer IPv4, ICMP (ICMPv6 with its pseudo header),
 * the quoted IPv4 header and the quoted L4 checksum when it was quoted.
 */
#ifndef GW_BPF_ICMP_H
#define GW_BPF_ICMP_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "maps.h"
#include "csum.h"
#include "fwd.h"
#include "nat.h"
#include "encap.h"
#include "scratch.h"

#ifndef GW_ICMP_HLEN
#define GW_ICMP_HLEN 8
#endif

/* Returns 1 if p is an ICMP/ICMPv6 error gw translates. */
static __always_inline int gw_icmp_is_error(const struct gw_pkt *p)
{
	if (p->flow.proto == IPPROTO_ICMP && p->flow.family == GW_FAMILY_V4)
		return p->icmp_type == 3 || p->icmp_type == 11;
	if (p->flow.proto == IPPROTO_ICMPV6 && p->flow.family == GW_FAMILY_V6)
		return p->icmp_type == 1 || p->icmp_type == 2 || p->icmp_type == 3;
	return 0;
}

/* Reads the quoted header of the ICMP error p. Returns 0, or -1 when the
 * quote is not a plain TCP/UDP header of p's family. */
static __always_inline int gw_icmp_quote(const struct gw_pkt *p, struct gw_quote *q)
{
	__u32 off = p->l4_off;
	__be16 *ports;

	if (off > GW_L4_OFF_MAX)
		return -1;
	if (p->flow.family == GW_FAMILY_V4) {
		struct iphdr *ip = p->data + off + GW_ICMP_HLEN;

		if ((void *)(ip + 1) + 8 > p->data_end)
			return -1;
		if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x1fff)))
			return -1;
		q->proto = ip->protocol;
		q->saddr[0] = ip->saddr;
		q->daddr[0] = ip->daddr;
		q->saddr[1] = q->saddr[2] = q->saddr[3] = 0;
		q->daddr[1] = q->daddr[2] = q->daddr[3] = 0;
		ports = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = p->data + off + GW_ICMP_HLEN;

		if ((void *)(ip6 + 1) + 8 > p->data_end)
			return -1;
		if (ip6->version != 6)
			return -1;
		q->proto = ip6->nexthdr;
		__builtin_memcpy(q->saddr, ip6->saddr.in6_u.u6_addr32, 16);
		__builtin_memcpy(q->daddr, ip6->daddr.in6_u.u6_addr32, 16);
		ports = (void *)(ip6 + 1);
	}
	if (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP)
		return -1;
	q->sport = ports[0];
	q->dport = ports[1];
	return 0;
}

/* Returns the delta of the quoted L4 checksum at c (when it is there and
 * in use) after the pseudo-header and port delta d, updating it. */
static __always_inline __u64 gw_icmp_fix_l4(__u16 *c, __u64 d, int udp)
{
	__u16 old = *c, new;

	if (udp && !old)
		return 0;
	new = gw_csum_apply(old, d);
	if (udp && !new)
		new = 0xffff;
	*c = new;
	return gw_csum_add16(0, old, new);
}

/* Rewrites the quoted transport header's ports to sport -> dport and fixes
 * its checksum (when quoted) for the ports and the quoted addresses' delta
 * dq. Returns the delta the ICMP checksum takes for these changes. The
 * caller has checked that the 8 bytes at `ports` are in the packet. */
static __always_inline __u64 gw_icmp_quote_ports(__be16 *ports, void *end, __be16 sport,
						 __be16 dport, __u64 dq, int udp)
{
	__u64 dp = 0, d;

	dp = gw_csum_add16(dp, ports[0], sport);
	dp = gw_csum_add16(dp, ports[1], dport);
	ports[0] = sport;
	ports[1] = dport;
	d = dp;
	if (udp)
		d += gw_icmp_fix_l4((__u16 *)((__u8 *)ports + 6), dq + dp, 1);
	else if ((__u8 *)ports + 18 <= (__u8 *)end)
		d += gw_icmp_fix_l4((__u16 *)((__u8 *)ports + 16), dq + dp, 0);
	return d;
}

/* Rewrites the ICMP error p: outer source osrc, outer destination odst;
 * the quote to qsrc:qsport -> qdst:qdport; every checksum fixed; the outer
 * TTL / hop limit decremented when dec_ttl. The quote was read by
 * gw_icmp_quote(). Returns 0, or -1 when the headers are not there. */
static __always_inline int gw_icmp_rewrite(struct gw_pkt *p, const __be32 *osrc,
					   const __be32 *odst, const __be32 *qsrc,
					   const __be32 *qdst, __be16 qsport, __be16 qdport,
					   int dec_ttl)
{
	__u32 off = p->l4_off;
	void *end = p->data_end;
	__u64 dq, dicmp, dout;
	__u16 *icheck;
	__u8 *icmp;

	if (off > GW_L4_OFF_MAX)
		return -1;
	icmp = p->data + off;
	if (p->flow.family == GW_FAMILY_V4) {
		struct iphdr *qip = (void *)(icmp + GW_ICMP_HLEN);
		__u16 oldc;

		if ((void *)(qip + 1) + 8 > end)
			return -1;
		dq = gw_ip_addrs_set(qip, 0, qsrc, qdst);
		oldc = qip->check;
		qip->check = gw_csum_apply(oldc, dq);
		dicmp = dq + gw_csum_add16(0, oldc, qip->check);
		dicmp += gw_icmp_quote_ports((void *)(qip + 1), end, qsport, qdport, dq,
					     qip->protocol == IPPROTO_UDP);
	} else {
		struct ipv6hdr *qip6 = (void *)(icmp + GW_ICMP_HLEN);

		if ((void *)(qip6 + 1) + 8 > end)
			return -1;
		dq = gw_ip_addrs_set(qip6, 1, qsrc, qdst);
		dicmp = dq + gw_icmp_quote_ports((void *)(qip6 + 1), end, qsport, qdport, dq,
						 qip6->nexthdr == IPPROTO_UDP);
	}
	if (gw_ip_rewrite(p, osrc, odst, dec_ttl, &dout))
		return -1;
	/* ICMPv6 sums the outer addresses too (pseudo header). */
	if (p->flow.family != GW_FAMILY_V4)
		dicmp += dout;
	icheck = (__u16 *)(icmp + 2);
	*icheck = gw_csum_apply(*icheck, dicmp);
	return 0;
}

/* Reads the quote of the ICMP error p into this CPU's scratch entry (t->q)
 * and builds in t->key the quoted flow's key in the other direction
 * (sources and destinations swapped). Returns the entry, or NULL when p is
 * no error gw translates or its quote is not plain. */
static __always_inline struct gw_lb_tmp *gw_icmp_quote_key(const struct gw_pkt *p)
{
	struct gw_lb_tmp *t = gw_lb_tmp_get();
	struct gw_flow *key;
	struct gw_quote *q;

	if (!t)
		return NULL;
	q = &t->q;
	key = &t->key;
	if (!gw_icmp_is_error(p) || gw_icmp_quote(p, q))
		return NULL;
	__builtin_memcpy(key->saddr, q->daddr, 16);
	__builtin_memcpy(key->daddr, q->saddr, 16);
	key->sport = q->dport;
	key->dport = q->sport;
	key->proto = q->proto;
	key->family = p->flow.family;
	key->pad = 0;
	return t;
}

/* An ICMP error from the backend's side about a translated flow: back to
 * the client. Returns GW_R_NONE when p is no such error. */
static __always_inline __u32 gw_icmp_from_backend(struct gw_pkt *p, struct gw_fwd *fwd,
						  const enum gw_hook hook)
{
	struct gw_lb_tmp *t = gw_icmp_quote_key(p);
	struct gw_nat *nat;
	__be16 cport, vport;
	__u32 svc_id, be_id, r;
	int rc;

	if (!t)
		return GW_R_NONE;
	nat = bpf_map_lookup_elem(&gw_nat, &t->key);
	if (!nat)
		return GW_R_NONE;
	if (p->ttl <= 1)
		return GW_R_PASS_TTL;
	/* dst: the client; src: the VIP; a: the outer source */
	__builtin_memcpy(t->dst, nat->client_addr, 16);
	__builtin_memcpy(t->src, nat->vip_addr, 16);
	cport = nat->client_port;
	vport = nat->vip_port;
	svc_id = nat->svc_id;
	be_id = nat->backend_id;
	/* The backend reporting on its own: the client hears it from the VIP. */
	if (gw_addr_eq(p->flow.saddr, t->q.daddr))
		__builtin_memcpy(t->a, t->src, 16);
	else
		__builtin_memcpy(t->a, p->flow.saddr, 16);
	rc = gw_fib_lookup(p, &t->fib, p->flow.family, t->dst, p->flow.proto, 0, 0,
			   gw_fib_len(p, p->l3_len, hook), hook);
	r = gw_fib_verdict(p, rc, hook);
	if (r != GW_R_NONE)
		return r;
	if (gw_icmp_rewrite(p, t->a, t->dst, t->dst, t->src, cport, vport, 1))
		return GW_R_DROP_MALFORMED_L4;
	gw_count(&gw_svc_stats, svc_id, p->len);
	gw_count(&gw_backend_stats, be_id, p->len);
	return gw_fwd_finish(p, &t->fib, rc, fwd, GW_R_FWD_ICMP_ERROR);
}

/* An ICMP error to a VIP about a reply of a steered flow: to its backend.
 * Returns GW_R_NONE when p is no such error. */
static __always_inline __u32 gw_icmp_to_vip(struct gw_pkt *p, struct gw_fwd *fwd,
					    const enum gw_hook hook)
{
	struct gw_lb_tmp *t = gw_icmp_quote_key(p);
	struct gw_svc_key skey;
	struct gw_backend *be;
	struct gw_quote *q;
	struct gw_svc *svc;
	struct gw_ct *ct;
	__be16 nat_port, bport;
	__u32 be_id, svc_id, r;
	__u8 family;
	int rc;

	if (!t)
		return GW_R_NONE;
	q = &t->q;
	if (!gw_addr_eq(p->flow.daddr, q->saddr))
		return GW_R_NONE;
	__builtin_memcpy(skey.addr, q->saddr, 16);
	skey.port = q->sport;
	skey.proto = q->proto;
	skey.family = p->flow.family;
	svc = bpf_map_lookup_elem(&gw_services, &skey);
	if (!svc)
		return GW_R_NONE;
	ct = bpf_map_lookup_elem(&gw_ct, &t->key);
	if (!ct || ct->svc_id != svc->id)
		return GW_R_NONE;
	be_id = ct->backend_id;
	svc_id = svc->id;
	be = bpf_map_lookup_elem(&gw_backends, &be_id);
	if (!be || !(be->flags & GW_BE_F_VALID) || be->svc_id != svc_id)
		return GW_R_NONE;
	if (p->ttl <= 1)
		return GW_R_PASS_TTL;
	family = be->family;
	__builtin_memcpy(t->dst, be->addr, 16);
	bport = be->port;

	if (svc->fwd == GW_FWD_IPIP) {
		rc = gw_fib_lookup(p, &t->fib, family, t->dst, p->flow.proto, 0, 0,
				   gw_fib_len(p, p->l3_len + gw_encap_len(family), hook), hook);
		r = gw_fib_verdict(p, rc, hook);
		if (r != GW_R_NONE)
			return r;
		if (gw_src_addr(t->fib.ifindex, family, t->src))
			return GW_R_DROP_NO_SRC_ADDR;
		r = gw_ipip_encap(p, family, t->dst, t->src, gw_flow_hash(&t->key), 1, hook);
		if (r != GW_R_NONE)
			return r;
	} else {
		if (family != p->flow.family || !ct->nat_port)
			return GW_R_NONE;
		/* src: the gateway's address toward the backend */
		__builtin_memcpy(t->src, ct->nat_addr, 16);
		nat_port = ct->nat_port;
		rc = gw_fib_lookup(p, &t->fib, family, t->dst, p->flow.proto, 0, 0,
				   gw_fib_len(p, p->l3_len, hook), hook);
		r = gw_fib_verdict(p, rc, hook);
		if (r != GW_R_NONE)
			return r;
		if (gw_icmp_rewrite(p, t->src, t->dst, t->dst, t->src, bport, nat_port, 1))
			return GW_R_DROP_MALFORMED_L4;
	}
	gw_count(&gw_svc_stats, svc_id, p->len);
	gw_count(&gw_backend_stats, be_id, p->len);
	return gw_fwd_finish(p, &t->fib, rc, fwd, GW_R_FWD_ICMP_ERROR);
}

#endif /* GW_BPF_ICMP_H */
