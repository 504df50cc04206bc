/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crafting packets for BPF unit tests, and reading back what the programs
 * made of them. Every packet pkt_build() makes has valid checksums unless a
 * test breaks them on purpose afterwards.
 */
#ifndef GW_TEST_PKT_H
#define GW_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 4096

/* MACs of the crafted frames: client -> gateway. */
extern const uint8_t pkt_mac_src[6];
extern const uint8_t pkt_mac_dst[6];

struct pkt_opts {
	int vlans;			/* 0, 1, 2 or more tags, outermost first */
	uint16_t vlan_tpid[4];		/* 0x88a8 / 0x8100; 0 means 0x8100 */
	uint16_t vlan_vid[4];
	int family;			/* 4 or 6; 0 with eth_proto for non-IP */
	uint16_t eth_proto;		/* only for non-IP frames (e.g. 0x0806) */
	const char *saddr, *daddr;	/* text addresses of the family */
	uint8_t proto;			/* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, ... */
	uint16_t sport, dport;		/* host order; ICMP echo id in sport */
	uint8_t tcp_flags;		/* e.g. 0x02 SYN, 0x10 ACK */
	uint8_t icmp_type, icmp_code;	/* ICMP/ICMPv6 (default echo request) */
	uint8_t ttl;			/* default 64 */
	uint16_t frag_off;		/* v4: flags|offset, host order (0x2000 MF) */
	int ip_opts_len;		/* v4: bytes of options (multiple of 4) */
	const uint8_t *ext;		/* v6: extension headers, raw */
	size_t ext_len;
	uint8_t ext_nexthdr;		/* v6: next header of the IPv6 header when
					 * ext is set (the chain's first type) */
	const uint8_t *l4_raw;		/* instead of a TCP/UDP/ICMP header,
					 * these bytes follow the IP header(s) */
	size_t l4_raw_len;
	size_t payload_len;		/* bytes after the L4 header (0xab...) */
};

/* Builds the frame into buf; returns its length, or 0 if it does not fit or
 * the options make no sense (the test then fails on the 0). */
size_t pkt_build(uint8_t *buf, size_t cap, const struct pkt_opts *o);

/* What a frame contains, read back from a program's output. */
struct pkt_view {
	uint8_t mac_dst[6], mac_src[6];
	int family;			/* of the outer IP header */
	char saddr[64], daddr[64];	/* outer addresses, text */
	uint8_t proto;			/* outer IP protocol */
	uint8_t ttl;
	uint16_t sport, dport;		/* host order, when TCP/UDP */
	int inner_family;		/* IPIP / IP6IP6 / 4in6: inner header */
	char inner_saddr[64], inner_daddr[64];
	uint8_t inner_proto;
	uint16_t inner_sport, inner_dport;
	int csum_ok;			/* every IP and L4 checksum verified */
	size_t l3_off, l4_off;
};

/* Parses an untagged Ethernet frame. Returns 0, or -1 when it is no IP
 * packet gw could have made (view->csum_ok is 0 on a bad checksum). */
int pkt_parse(const uint8_t *buf, size_t len, struct pkt_view *view);

/* Builds an ICMP/ICMPv6 error (o->family, o->saddr -> o->daddr, o->ttl,
 * type o->icmp_type, code o->icmp_code, 4 bytes `rest`, host order, e.g. the
 * MTU of "fragmentation needed") quoting the IP packet `quote` (quote_len
 * bytes, typically an IP header and 8 bytes of L4), with a valid checksum.
 * Returns the frame length, or 0. */
size_t pkt_build_icmp_error(uint8_t *buf, size_t cap, const struct pkt_opts *o, uint32_t rest,
			    const uint8_t *quote, size_t quote_len);

/* One's-complement checksum helpers, exported for tests that build headers
 * by hand. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);
uint32_t pkt_csum_add(const void *data, size_t len, uint32_t sum);

#endif /* GW_TEST_PKT_H */
