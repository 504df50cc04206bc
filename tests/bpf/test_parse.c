// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The parser (bpf/lib/parse.h): every supported, unsupported and malformed
 * case of docs/datapath-l3.md, on both hooks. Each case checks the verdict,
 * that exactly its reason was counted, and that a passed frame leaves
 * unmodified. With the default config (no filter, no limits) and no
 * services, a well-formed untagged packet ends as PASS_LOCAL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "gw/names.h"
#include "harness.h"

static struct gw_bpf *skel;

/* A write of n (1, 2 or 4) big-endian bytes at an absolute frame offset,
 * applied after pkt_build() to break a header on purpose. */
struct pset {
	int at, n;
	uint32_t val;
};

struct pcase {
	const char *name;
	struct pkt_opts o;
	size_t trunc;		/* > 0: cut the frame to this length */
	size_t pad;		/* bytes of trailing padding after the packet */
	struct pset set[3];
	enum gw_reason want;
	/* The kernel's skb test run refuses (-EINVAL) an IP ethertype whose
	 * IP header is cut short, before any program runs: such a case runs
	 * at XDP only, and the TC run must be that refusal. */
	int tc_refused;
};

#define V4(p, ...)                                                                               \
	{ .family = 4, .saddr = "198.18.0.1", .daddr = "198.18.0.2", .proto = (p), .sport = 40000, \
	  .dport = 80, __VA_ARGS__ }
#define V6(p, ...)                                                                        \
	{ .family = 6, .saddr = "fd00::1", .daddr = "fd00::2", .proto = (p), .sport = 40000, \
	  .dport = 80, __VA_ARGS__ }

/* Frame offsets of untagged packets. */
#define L3 14
#define L4V4 34
#define L4V6 54

/* IPv6 extension headers, raw. */
static const uint8_t ext_chain_ok[] = {
	60, 0, 1, 4, 0, 0, 0, 0,		/* hop-by-hop, PadN -> dest opts */
	43, 0, 1, 4, 0, 0, 0, 0,		/* dest opts -> routing */
	6, 0, 4, 0, 0, 0, 0, 0,			/* routing type 4, 0 left -> TCP */
};
static const uint8_t ext_hbh_second[] = {
	0, 0, 1, 4, 0, 0, 0, 0,			/* dest opts -> hop-by-hop */
	6, 0, 1, 4, 0, 0, 0, 0,			/* hop-by-hop -> TCP */
};
#define DST(nh) nh, 0, 1, 4, 0, 0, 0, 0
static const uint8_t ext_six[] = { DST(60), DST(60), DST(60), DST(60), DST(60), DST(6) };
static const uint8_t ext_seven[] = { DST(60), DST(60), DST(60), DST(60), DST(60), DST(60), DST(6) };
static const uint8_t ext_len_beyond[] = { 6, 10, 1, 4, 0, 0, 0, 0 };	/* says 88 bytes */
static const uint8_t ext_trunc[] = { 6, 0, 1, 4 };			/* 4 of 8 bytes */
static const uint8_t ext_frag_first[] = { 6, 0, 0x00, 0x01, 0, 0, 0, 1 };
static const uint8_t ext_frag_later[] = { 6, 0, 0x03, 0x20, 0, 0, 0, 1 };
static const uint8_t ext_frag_atomic[] = { 6, 0, 0x00, 0x00, 0, 0, 0, 1 };
static const uint8_t ext_frag_twice[] = { 44, 0, 0x00, 0x01, 0, 0, 0, 1,
					  6, 0, 0x00, 0x01, 0, 0, 0, 1 };
static const uint8_t ext_rh0_left[] = { 6, 0, 0, 1, 0, 0, 0, 0 };
static const uint8_t ext_rh0_done[] = { 6, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t ext_ah[] = {
	6, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 1,	/* AH, 24 bytes -> TCP */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const uint8_t ext_dst_udp[] = { DST(17) };
static const uint8_t raw8[8] = { 0x9c, 0x40, 0, 80, 0, 0, 0, 1 };
static const uint8_t raw4[4] = { 0x9c, 0x40, 0, 80 };
static const uint8_t raw12[12] = { 0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0 };

static const struct pcase cases[] = {
	/* --- Ethernet and VLAN ------------------------------------------ */
	{ "arp", { .eth_proto = 0x0806 }, .want = GW_R_PASS_NON_IP },
	{ "llc_8023_length", { .eth_proto = 0x0030 }, .want = GW_R_PASS_NON_IP },
	{ "vlan_arp", { .vlans = 1, .vlan_vid = { 10 }, .eth_proto = 0x0806 },
	  .want = GW_R_PASS_NON_IP },
	{ "vlan_truncated_tag", { .eth_proto = 0x0806 }, .trunc = 16,
	  .set = { { 12, 2, 0x8100 } }, .want = GW_R_DROP_MALFORMED_L2 },
	{ "vlan1_ipv4_tcp", V4(IPPROTO_TCP, .vlans = 1, .vlan_vid = { 10 }),
	  .want = GW_R_PASS_VLAN },
	{ "qinq_ipv6_udp",
	  V6(IPPROTO_UDP, .vlans = 2, .vlan_tpid = { 0x88a8, 0x8100 }, .vlan_vid = { 10, 20 }),
	  .want = GW_R_PASS_VLAN },
	{ "vlan3_too_deep",
	  V4(IPPROTO_TCP, .vlans = 3, .vlan_tpid = { 0x88a8, 0x8100, 0x8100 },
	     .vlan_vid = { 1, 2, 3 }),
	  .want = GW_R_DROP_VLAN_DEPTH },

	/* --- IPv4 ------------------------------------------------------- */
	{ "v4_tcp", V4(IPPROTO_TCP, .tcp_flags = 0x02), .want = GW_R_PASS_LOCAL },
	{ "v4_udp", V4(IPPROTO_UDP, .payload_len = 32), .want = GW_R_PASS_LOCAL },
	{ "v4_icmp_echo", V4(IPPROTO_ICMP), .want = GW_R_PASS_LOCAL },
	{ "v4_icmp_unreach", V4(IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 1, .payload_len = 28),
	  .want = GW_R_PASS_LOCAL },
	{ "v4_options", V4(IPPROTO_TCP, .ip_opts_len = 8), .want = GW_R_PASS_LOCAL },
	{ "v4_trailing_padding", V4(IPPROTO_TCP), .pad = 20, .want = GW_R_PASS_LOCAL },
	{ "v4_header_truncated", V4(IPPROTO_TCP), .trunc = L3 + 10,
	  .want = GW_R_DROP_MALFORMED_IPV4, .tc_refused = 1 },
	{ "v4_version_6", V4(IPPROTO_TCP), .set = { { L3, 1, 0x65 } },
	  .want = GW_R_DROP_MALFORMED_IPV4 },
	{ "v4_ihl_4", V4(IPPROTO_TCP), .set = { { L3, 1, 0x44 } },
	  .want = GW_R_DROP_MALFORMED_IPV4 },
	{ "v4_ihl_beyond_tot_len", V4(IPPROTO_TCP), .set = { { L3, 1, 0x4f } },
	  .want = GW_R_DROP_MALFORMED_IPV4 },
	{ "v4_tot_len_below_header", V4(IPPROTO_TCP), .set = { { L3 + 2, 2, 19 } },
	  .want = GW_R_DROP_MALFORMED_IPV4 },
	{ "v4_tot_len_beyond_frame", V4(IPPROTO_TCP), .set = { { L3 + 2, 2, 1000 } },
	  .want = GW_R_DROP_MALFORMED_IPV4 },
	{ "v4_tot_len_zero", V4(IPPROTO_TCP), .set = { { L3 + 2, 2, 0 } },
	  .want = GW_R_DROP_MALFORMED_IPV4 },
	{ "v4_frag_first", V4(IPPROTO_TCP, .frag_off = 0x2000, .payload_len = 64),
	  .want = GW_R_PASS_FRAGMENT },
	{ "v4_frag_first_udp_partial",
	  V4(IPPROTO_UDP, .frag_off = 0x2000, .payload_len = 64),
	  .set = { { L4V4 + 4, 2, 1400 } }, .want = GW_R_PASS_FRAGMENT },
	{ "v4_frag_later", V4(IPPROTO_UDP, .frag_off = 185, .payload_len = 64),
	  .want = GW_R_PASS_FRAGMENT },
	{ "v4_frag_later_last_tiny", V4(IPPROTO_TCP, .frag_off = 3, .payload_len = 1),
	  .want = GW_R_PASS_FRAGMENT },
	{ "v4_frag_first_short_tcp",
	  V4(IPPROTO_TCP, .frag_off = 0x2000, .l4_raw = raw8, .l4_raw_len = sizeof(raw8)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_tcp_truncated", V4(IPPROTO_TCP, .l4_raw = raw12, .l4_raw_len = sizeof(raw12)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_tcp_doff_4", V4(IPPROTO_TCP), .set = { { L4V4 + 12, 1, 0x40 } },
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_tcp_doff_beyond_packet", V4(IPPROTO_TCP, .payload_len = 10),
	  .set = { { L4V4 + 12, 1, 0xf0 } }, .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_tcp_options", V4(IPPROTO_TCP, .payload_len = 12), .set = { { L4V4 + 12, 1, 0x80 } },
	  .want = GW_R_PASS_LOCAL },
	{ "v4_tcp_beyond_tot_len", V4(IPPROTO_TCP), .set = { { L3 + 2, 2, 30 } },
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_udp_len_below_header", V4(IPPROTO_UDP), .set = { { L4V4 + 4, 2, 7 } },
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_udp_len_beyond_packet", V4(IPPROTO_UDP, .payload_len = 8),
	  .set = { { L4V4 + 4, 2, 500 } }, .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_udp_truncated", V4(IPPROTO_UDP, .l4_raw = raw4, .l4_raw_len = sizeof(raw4)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_icmp_truncated", V4(IPPROTO_ICMP, .l4_raw = raw4, .l4_raw_len = sizeof(raw4)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v4_gre_no_ports", V4(47, .l4_raw = raw8, .l4_raw_len = sizeof(raw8)),
	  .want = GW_R_PASS_LOCAL },
	{ "v4_esp_no_ports", V4(50, .l4_raw = raw12, .l4_raw_len = sizeof(raw12)),
	  .want = GW_R_PASS_LOCAL },
	{ "v4_icmpv6_in_v4_no_ports", V4(IPPROTO_ICMPV6, .l4_raw = raw4, .l4_raw_len = 4),
	  .want = GW_R_PASS_LOCAL },

	/* --- IPv6 ------------------------------------------------------- */
	{ "v6_tcp", V6(IPPROTO_TCP, .tcp_flags = 0x12), .want = GW_R_PASS_LOCAL },
	{ "v6_udp", V6(IPPROTO_UDP, .payload_len = 100), .want = GW_R_PASS_LOCAL },
	{ "v6_icmp_echo", V6(IPPROTO_ICMPV6), .want = GW_R_PASS_LOCAL },
	{ "v6_icmp_too_big", V6(IPPROTO_ICMPV6, .icmp_type = 2, .payload_len = 48),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_trailing_padding", V6(IPPROTO_UDP), .pad = 7, .want = GW_R_PASS_LOCAL },
	{ "v6_header_truncated", V6(IPPROTO_TCP), .trunc = L3 + 30,
	  .want = GW_R_DROP_MALFORMED_IPV6, .tc_refused = 1 },
	{ "v6_version_4", V6(IPPROTO_TCP), .set = { { L3, 1, 0x45 } },
	  .want = GW_R_DROP_MALFORMED_IPV6 },
	{ "v6_payload_len_beyond_frame", V6(IPPROTO_TCP), .set = { { L3 + 4, 2, 1000 } },
	  .want = GW_R_DROP_MALFORMED_IPV6 },
	{ "v6_payload_len_zero_jumbo", V6(IPPROTO_TCP), .set = { { L3 + 4, 2, 0 } },
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_ext_chain_hbh_dst_rt",
	  V6(IPPROTO_TCP, .ext = ext_chain_ok, .ext_len = sizeof(ext_chain_ok), .ext_nexthdr = 0),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_ext_hbh_not_first",
	  V6(IPPROTO_TCP, .ext = ext_hbh_second, .ext_len = sizeof(ext_hbh_second),
	     .ext_nexthdr = 60),
	  .want = GW_R_DROP_IPV6_EXT },
	{ "v6_ext_six_headers",
	  V6(IPPROTO_TCP, .ext = ext_six, .ext_len = sizeof(ext_six), .ext_nexthdr = 60),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_ext_seven_headers",
	  V6(IPPROTO_TCP, .ext = ext_seven, .ext_len = sizeof(ext_seven), .ext_nexthdr = 60),
	  .want = GW_R_DROP_IPV6_EXT },
	{ "v6_ext_len_beyond_payload",
	  V6(IPPROTO_TCP, .ext = ext_len_beyond, .ext_len = sizeof(ext_len_beyond),
	     .ext_nexthdr = 60),
	  .want = GW_R_DROP_IPV6_EXT },
	{ "v6_ext_truncated",
	  V6(IPPROTO_TCP, .ext = ext_trunc, .ext_len = sizeof(ext_trunc), .ext_nexthdr = 60,
	     .l4_raw = raw8, .l4_raw_len = 0),
	  .want = GW_R_DROP_IPV6_EXT },
	{ "v6_frag_first",
	  V6(IPPROTO_TCP, .ext = ext_frag_first, .ext_len = 8, .ext_nexthdr = 44,
	     .payload_len = 64),
	  .want = GW_R_PASS_FRAGMENT },
	{ "v6_frag_later",
	  V6(IPPROTO_TCP, .ext = ext_frag_later, .ext_len = 8, .ext_nexthdr = 44,
	     .l4_raw = raw8, .l4_raw_len = sizeof(raw8), .payload_len = 64),
	  .want = GW_R_PASS_FRAGMENT },
	{ "v6_frag_atomic",
	  V6(IPPROTO_TCP, .ext = ext_frag_atomic, .ext_len = 8, .ext_nexthdr = 44),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_frag_twice",
	  V6(IPPROTO_TCP, .ext = ext_frag_twice, .ext_len = sizeof(ext_frag_twice),
	     .ext_nexthdr = 44),
	  .want = GW_R_DROP_IPV6_EXT },
	{ "v6_frag_first_short_tcp",
	  V6(IPPROTO_TCP, .ext = ext_frag_first, .ext_len = 8, .ext_nexthdr = 44,
	     .l4_raw = raw8, .l4_raw_len = sizeof(raw8)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_routing_type0_segments_left",
	  V6(IPPROTO_TCP, .ext = ext_rh0_left, .ext_len = 8, .ext_nexthdr = 43),
	  .want = GW_R_DROP_IPV6_EXT },
	{ "v6_routing_type0_done",
	  V6(IPPROTO_TCP, .ext = ext_rh0_done, .ext_len = 8, .ext_nexthdr = 43),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_ah", V6(IPPROTO_TCP, .ext = ext_ah, .ext_len = sizeof(ext_ah), .ext_nexthdr = 51),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_dst_udp_len_beyond",
	  V6(IPPROTO_UDP, .ext = ext_dst_udp, .ext_len = 8, .ext_nexthdr = 60),
	  .set = { { L4V6 + 8 + 4, 2, 400 } }, .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_esp_no_ports", V6(50, .l4_raw = raw12, .l4_raw_len = sizeof(raw12)),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_no_next_header", V6(59, .l4_raw = raw8, .l4_raw_len = 0), .want = GW_R_PASS_LOCAL },
	{ "v6_mobility_no_ports", V6(135, .l4_raw = raw8, .l4_raw_len = sizeof(raw8)),
	  .want = GW_R_PASS_LOCAL },
	{ "v6_tcp_truncated", V6(IPPROTO_TCP, .l4_raw = raw12, .l4_raw_len = sizeof(raw12)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_tcp_doff_4", V6(IPPROTO_TCP), .set = { { L4V6 + 12, 1, 0x40 } },
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_udp_truncated", V6(IPPROTO_UDP, .l4_raw = raw4, .l4_raw_len = sizeof(raw4)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_udp_len_beyond_packet", V6(IPPROTO_UDP), .set = { { L4V6 + 4, 2, 9 } },
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_icmp_truncated", V6(IPPROTO_ICMPV6, .l4_raw = raw4, .l4_raw_len = sizeof(raw4)),
	  .want = GW_R_DROP_MALFORMED_L4 },
	{ "v6_icmpv4_in_v6_no_ports", V6(IPPROTO_ICMP, .l4_raw = raw4, .l4_raw_len = 4),
	  .want = GW_R_PASS_LOCAL },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* Builds a case's frame; returns its length (0: the case is broken). */
static size_t build_case(const struct pcase *c, uint8_t *buf, size_t cap)
{
	size_t len = pkt_build(buf, cap, &c->o);
	int i;

	if (!len)
		return 0;
	for (i = 0; i < 3 && c->set[i].n; i++) {
		const struct pset *s = &c->set[i];
		int b;

		for (b = 0; b < s->n; b++)
			buf[s->at + b] = (uint8_t)(s->val >> (8 * (s->n - 1 - b)));
	}
	if (c->pad) {
		memset(buf + len, 0, c->pad);
		len += c->pad;
	}
	if (c->trunc)
		len = c->trunc;
	return len;
}

static uint64_t total_count(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < GW_R_MAX; i++)
		sum += gwt_reason_count(skel, (enum gw_reason)i);
	return sum;
}

static void test_case(void **state)
{
	const struct pcase *c = *state;
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len;
	int hook;

	len = build_case(c, buf, sizeof(buf));
	assert_true(len >= 14);	/* the case's frame could be built */
	for (hook = 0; hook < 2; hook++) {
		print_message("# %s on %s: want %s\n", c->name, gwt_hook_names[hook],
			      gw_reason_labels[c->want]);
		gwt_reset_counts(skel);
		if (hook == 1 && c->tc_refused) {
			/* the skb test run refuses the frame itself */
			assert_int_equal(gwt_run(skel, hook, 0, buf, len, &r), -EINVAL);
			continue;
		}
		assert_int_equal(gwt_run(skel, hook, 0, buf, len, &r), 0);
		/* the verdict is the reason's action */
		assert_int_equal(r.action, gw_reason_actions[c->want]);
		/* exactly this reason was counted, once */
		assert_int_equal(gwt_reason_count(skel, c->want), 1);
		assert_int_equal(total_count(), 1);
		if (r.action == GW_ACT_PASS) {
			/* a passed frame leaves unmodified */
			assert_int_equal(r.out_len, len);
			assert_memory_equal(r.out, buf, len);
		}
	}
}

static int setup(void **state)
{
	skel = gwt_open();
	return skel ? 0 : -1;
}

static int teardown(void **state)
{
	return gwt_close(&skel);
}

int main(void)
{
	struct CMUnitTest tests[N_CASES];
	size_t i;

	for (i = 0; i < N_CASES; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	return cmocka_run_group_tests_name("bpf_parse", tests, setup, teardown);
}
