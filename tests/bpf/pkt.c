// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "pkt.h"

const uint8_t pkt_mac_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
const uint8_t pkt_mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

uint32_t pkt_csum_add(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t sum)
{
	sum = pkt_csum_add(data, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Sum of the pseudo header of an L4 segment of `len` bytes. */
static uint32_t pseudo_sum(int family, const void *saddr, const void *daddr, uint8_t proto,
			   size_t len)
{
	size_t alen = family == 4 ? 4 : 16;
	uint32_t sum = 0;

	sum = pkt_csum_add(saddr, alen, sum);
	sum = pkt_csum_add(daddr, alen, sum);
	sum += proto;
	sum += (uint32_t)len;
	return sum;
}

/* Writes the L4 header and payload at p; returns its length. */
static size_t build_l4(uint8_t *p, size_t cap, const struct pkt_opts *o, int family,
		       const void *saddr, const void *daddr, int has_l4)
{
	size_t hlen = 0, len, i;
	uint16_t *csum = NULL;
	uint32_t sum = 0;

	if (o->l4_raw) {
		if (o->l4_raw_len > cap)
			return 0;
		memcpy(p, o->l4_raw, o->l4_raw_len);
		hlen = o->l4_raw_len;
		has_l4 = 0;
	} else if (has_l4) {
		switch (o->proto) {
		case IPPROTO_TCP: hlen = sizeof(struct tcphdr); break;
		case IPPROTO_UDP: hlen = sizeof(struct udphdr); break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6: hlen = 8; break;
		default: hlen = 0; break;
		}
	}
	len = hlen + o->payload_len;
	if (len > cap)
		return 0;
	if (!o->l4_raw)
		memset(p, 0, hlen);
	for (i = hlen; i < len; i++)
		p[i] = 0xab;
	if (!has_l4)
		return len;

	if (o->proto == IPPROTO_TCP) {
		struct tcphdr *t = (struct tcphdr *)p;

		t->source = htons(o->sport);
		t->dest = htons(o->dport);
		t->seq = htonl(1000);
		t->ack_seq = (o->tcp_flags & 0x10) ? htonl(2000) : 0;
		t->doff = 5;
		p[13] = o->tcp_flags;
		t->window = htons(65535);
		csum = &t->check;
		sum = pseudo_sum(family, saddr, daddr, IPPROTO_TCP, len);
	} else if (o->proto == IPPROTO_UDP) {
		struct udphdr *u = (struct udphdr *)p;

		u->source = htons(o->sport);
		u->dest = htons(o->dport);
		u->len = htons((uint16_t)len);
		csum = &u->check;
		sum = pseudo_sum(family, saddr, daddr, IPPROTO_UDP, len);
	} else if (o->proto == IPPROTO_ICMP || o->proto == IPPROTO_ICMPV6) {
		p[0] = o->icmp_type ? o->icmp_type : (o->proto == IPPROTO_ICMP ? 8 : 128);
		p[1] = o->icmp_code;
		p[4] = (uint8_t)(o->sport >> 8);
		p[5] = (uint8_t)o->sport;
		p[7] = 1;
		csum = (uint16_t *)(p + 2);
		if (o->proto == IPPROTO_ICMPV6)
			sum = pseudo_sum(family, saddr, daddr, IPPROTO_ICMPV6, len);
	}
	if (csum) {
		uint16_t c = pkt_csum(p, len, sum);

		if (o->proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
		*csum = c;
	}
	return len;
}

size_t pkt_build(uint8_t *buf, size_t cap, const struct pkt_opts *o)
{
	size_t off = 0, l4len;
	uint16_t proto;
	int i;

	if (cap < ETH_HLEN + 4 * 4)
		return 0;
	memcpy(buf, pkt_mac_dst, 6);
	memcpy(buf + 6, pkt_mac_src, 6);
	off = 12;
	for (i = 0; i < o->vlans && i < 4; i++) {
		uint16_t tpid = o->vlan_tpid[i] ? o->vlan_tpid[i] : ETH_P_8021Q;

		buf[off] = (uint8_t)(tpid >> 8);
		buf[off + 1] = (uint8_t)tpid;
		buf[off + 2] = (uint8_t)(o->vlan_vid[i] >> 8 & 0x0f);
		buf[off + 3] = (uint8_t)o->vlan_vid[i];
		off += 4;
	}
	proto = o->family == 4 ? ETH_P_IP : o->family == 6 ? ETH_P_IPV6 : o->eth_proto;
	buf[off] = (uint8_t)(proto >> 8);
	buf[off + 1] = (uint8_t)proto;
	off += 2;

	if (o->family == 4) {
		struct iphdr *ip = (struct iphdr *)(buf + off);
		size_t ihl = sizeof(*ip) + (size_t)o->ip_opts_len;
		int has_l4 = (o->frag_off & 0x1fff) == 0;

		if (off + ihl > cap || o->ip_opts_len % 4 || ihl > 60)
			return 0;
		memset(ip, 0, ihl);
		memset(buf + off + sizeof(*ip), 1, (size_t)o->ip_opts_len); /* NOPs */
		ip->version = 4;
		ip->ihl = (uint8_t)(ihl / 4);
		ip->ttl = o->ttl ? o->ttl : 64;
		ip->protocol = o->proto;
		ip->id = htons(0x1234);
		ip->frag_off = htons(o->frag_off);
		if (inet_pton(AF_INET, o->saddr, &ip->saddr) != 1 ||
		    inet_pton(AF_INET, o->daddr, &ip->daddr) != 1)
			return 0;
		l4len = build_l4(buf + off + ihl, cap - off - ihl, o, 4, &ip->saddr,
				 &ip->daddr, has_l4);
		if (!l4len && (o->payload_len || o->l4_raw_len || has_l4))
			return 0;
		ip->tot_len = htons((uint16_t)(ihl + l4len));
		ip->check = pkt_csum(ip, ihl, 0);
		return off + ihl + l4len;
	}
	if (o->family == 6) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(buf + off);
		size_t hl = sizeof(*ip6);

		if (off + hl + o->ext_len > cap)
			return 0;
		memset(ip6, 0, hl);
		ip6->version = 6;
		ip6->hop_limit = o->ttl ? o->ttl : 64;
		ip6->nexthdr = o->ext ? o->ext_nexthdr : o->proto;
		if (inet_pton(AF_INET6, o->saddr, &ip6->saddr) != 1 ||
		    inet_pton(AF_INET6, o->daddr, &ip6->daddr) != 1)
			return 0;
		if (o->ext)
			memcpy(buf + off + hl, o->ext, o->ext_len);
		hl += o->ext_len;
		l4len = build_l4(buf + off + hl, cap - off - hl, o, 6, &ip6->saddr, &ip6->daddr,
				 1);
		if (!l4len && (o->payload_len || o->l4_raw_len))
			return 0;
		ip6->payload_len = htons((uint16_t)(hl - sizeof(*ip6) + l4len));
		return off + hl + l4len;
	}
	/* A non-IP frame: a little payload. */
	if (off + 46 > cap)
		return 0;
	memset(buf + off, 0, 46);
	return off + 46;
}

/* Checks the L4 checksum of a segment; sets ports. Returns 1 if valid. */
static int parse_l4(const uint8_t *p, size_t len, int family, const void *saddr, const void *daddr,
		    uint8_t proto, uint16_t *sport, uint16_t *dport)
{
	uint32_t sum = 0;

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		if (len < (proto == IPPROTO_TCP ? 20u : 8u))
			return 0;
		*sport = (uint16_t)(p[0] << 8 | p[1]);
		*dport = (uint16_t)(p[2] << 8 | p[3]);
		if (proto == IPPROTO_UDP && p[6] == 0 && p[7] == 0 && family == 4)
			return 1; /* no checksum */
		sum = pseudo_sum(family, saddr, daddr, proto, len);
		return pkt_csum(p, len, sum) == 0;
	}
	if (proto == IPPROTO_ICMP)
		return len >= 8 && pkt_csum(p, len, 0) == 0;
	if (proto == IPPROTO_ICMPV6) {
		sum = pseudo_sum(family, saddr, daddr, proto, len);
		return len >= 8 && pkt_csum(p, len, sum) == 0;
	}
	return 1;
}

/* Parses one IP header at p; fills addresses and protocol; returns the
 * header length, or 0. */
static size_t parse_ip(const uint8_t *p, size_t len, int *family, char *sa, char *da,
		       uint8_t *proto, uint8_t *ttl, int *ok, size_t *payload_len)
{
	if (len < 1)
		return 0;
	if ((p[0] >> 4) == 4) {
		const struct iphdr *ip = (const void *)p;
		size_t ihl;

		if (len < sizeof(*ip))
			return 0;
		ihl = (size_t)ip->ihl * 4;
		if (ihl < 20 || len < ihl || ntohs(ip->tot_len) > len || ntohs(ip->tot_len) < ihl)
			return 0;
		*family = 4;
		inet_ntop(AF_INET, &ip->saddr, sa, 64);
		inet_ntop(AF_INET, &ip->daddr, da, 64);
		*proto = ip->protocol;
		*ttl = ip->ttl;
		if (pkt_csum(ip, ihl, 0) != 0)
			*ok = 0;
		*payload_len = ntohs(ip->tot_len) - ihl;
		return ihl;
	}
	if ((p[0] >> 4) == 6) {
		const struct ipv6hdr *ip6 = (const void *)p;

		if (len < sizeof(*ip6) || len < sizeof(*ip6) + ntohs(ip6->payload_len))
			return 0;
		*family = 6;
		inet_ntop(AF_INET6, &ip6->saddr, sa, 64);
		inet_ntop(AF_INET6, &ip6->daddr, da, 64);
		*proto = ip6->nexthdr;
		*ttl = ip6->hop_limit;
		*payload_len = ntohs(ip6->payload_len);
		return sizeof(*ip6);
	}
	return 0;
}

int pkt_parse(const uint8_t *buf, size_t len, struct pkt_view *v)
{
	size_t off = ETH_HLEN, hl, plen = 0, iplen = 0;
	uint16_t proto;
	const uint8_t *ip;

	memset(v, 0, sizeof(*v));
	if (len < ETH_HLEN)
		return -1;
	memcpy(v->mac_dst, buf, 6);
	memcpy(v->mac_src, buf + 6, 6);
	proto = (uint16_t)(buf[12] << 8 | buf[13]);
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return -1;
	v->csum_ok = 1;
	v->l3_off = off;
	ip = buf + off;
	hl = parse_ip(ip, len - off, &v->family, v->saddr, v->daddr, &v->proto, &v->ttl,
		      &v->csum_ok, &plen);
	if (!hl)
		return -1;
	off += hl;
	v->l4_off = off;
	if (v->proto == IPPROTO_IPIP || v->proto == IPPROTO_IPV6) {
		uint8_t ttl;
		size_t ihl = parse_ip(buf + off, len - off, &v->inner_family, v->inner_saddr,
				      v->inner_daddr, &v->inner_proto, &ttl, &v->csum_ok, &iplen);
		uint8_t src[16], dst[16];

		if (!ihl)
			return -1;
		inet_pton(v->inner_family == 4 ? AF_INET : AF_INET6, v->inner_saddr, src);
		inet_pton(v->inner_family == 4 ? AF_INET : AF_INET6, v->inner_daddr, dst);
		if (!parse_l4(buf + off + ihl, iplen, v->inner_family, src, dst, v->inner_proto,
			      &v->inner_sport, &v->inner_dport))
			v->csum_ok = 0;
		return 0;
	}
	{
		uint8_t src[16], dst[16];

		inet_pton(v->family == 4 ? AF_INET : AF_INET6, v->saddr, src);
		inet_pton(v->family == 4 ? AF_INET : AF_INET6, v->daddr, dst);
		if (!parse_l4(buf + off, plen, v->family, src, dst, v->proto, &v->sport,
			      &v->dport))
			v->csum_ok = 0;
	}
	return 0;
}

size_t pkt_build_icmp_error(uint8_t *buf, size_t cap, const struct pkt_opts *o, uint32_t rest,
			    const uint8_t *quote, size_t quote_len)
{
	uint8_t raw[PKT_MAX];
	struct pkt_opts oo = *o;
	size_t len, l4;
	uint16_t c;

	if (quote_len + 8 > sizeof(raw))
		return 0;
	memset(raw, 0, 8);
	raw[0] = o->icmp_type;
	raw[1] = o->icmp_code;
	raw[4] = (uint8_t)(rest >> 24);
	raw[5] = (uint8_t)(rest >> 16);
	raw[6] = (uint8_t)(rest >> 8);
	raw[7] = (uint8_t)rest;
	memcpy(raw + 8, quote, quote_len);
	oo.proto = o->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	oo.l4_raw = raw;
	oo.l4_raw_len = quote_len + 8;
	oo.payload_len = 0;
	len = pkt_build(buf, cap, &oo);
	if (!len)
		return 0;
	l4 = len - oo.l4_raw_len;
	if (o->family == 4) {
		c = pkt_csum(buf + l4, oo.l4_raw_len, 0);
	} else {
		const struct ipv6hdr *ip6 = (const void *)(buf + ETH_HLEN);

		c = pkt_csum(buf + l4, oo.l4_raw_len,
			     pseudo_sum(6, &ip6->saddr, &ip6->daddr, IPPROTO_ICMPV6,
					oo.l4_raw_len));
	}
	memcpy(buf + l4 + 2, &c, 2);
	return len;
}
