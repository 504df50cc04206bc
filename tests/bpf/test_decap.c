// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The backend's decap program on what it must leave alone or refuse:
 * tunnel packets to other addresses, plain packets, a wrong inner version.
 * (Decapsulation itself is checked end to end in test_lb_ipip.) */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "harness.h"
#include "gw/decap.h"
#include "decap.skel.h"

static struct decap_bpf *dskel;

static int setup(void **state)
{
	struct gw_decap_key k;
	__u32 one = 1;

	if (gwt_netns())
		return -1;
	dskel = gwt_decap_load();
	if (!dskel)
		return -1;
	memset(&k, 0, sizeof(k));
	k.family = GW_FAMILY_V4;
	inet_pton(AF_INET, "198.18.0.2", k.addr);
	return bpf_map_update_elem(bpf_map__fd(dskel->maps.gw_decap_addrs), &k, &one, BPF_ANY);
}

static int teardown(void **state)
{
	decap_bpf__destroy(dskel);
	return 0;
}

static uint64_t stat(enum gw_decap_stat s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gw_counter v[ncpu > 0 ? ncpu : 1];
	__u32 k = s;
	uint64_t sum = 0;
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(dskel->maps.gw_decap_stats), &k, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		sum += v[i].packets;
	return sum;
}

static int prog(int hook)
{
	return hook ? bpf_program__fd(dskel->progs.gw_decap_tc) :
		      bpf_program__fd(dskel->progs.gw_decap_xdp);
}

/* An IPIP frame to `dst` whose inner header starts with `inner`. */
static size_t ipip_frame(uint8_t *buf, const char *dst, const uint8_t *inner, size_t ilen)
{
	struct pkt_opts o = {
		.family = 4, .saddr = "198.18.0.1", .daddr = dst, .proto = IPPROTO_IPIP,
		.l4_raw = inner, .l4_raw_len = ilen,
	};

	return pkt_build(buf, PKT_MAX, &o);
}

static void test_leaves_others_alone(void **state)
{
	uint8_t in[PKT_MAX], tcp[PKT_MAX];
	struct pkt_opts t = {
		.family = 4, .saddr = "198.19.0.2", .daddr = "198.51.100.50",
		.proto = IPPROTO_TCP, .sport = 1234, .dport = 80, .tcp_flags = 0x02,
	};
	size_t tlen = pkt_build(tcp, sizeof(tcp), &t), len;
	struct gwt_run r;
	int hook;

	assert_true(tlen > 0);
	for (hook = 0; hook < 2; hook++) {
		uint64_t other = stat(GW_DECAP_OTHER), notlocal = stat(GW_DECAP_NOT_LOCAL);

		/* a plain TCP packet */
		assert_int_equal(gwt_run_prog(prog(hook), hook, 0, tcp, tlen, &r), 0);
		assert_int_equal(r.action, GW_ACT_PASS);
		assert_memory_equal(r.out, tcp, tlen);			/* untouched */
		assert_int_equal(stat(GW_DECAP_OTHER), other + 1);

		/* a tunnel packet to an address that is not ours */
		len = ipip_frame(in, "198.18.0.77", tcp + 14, tlen - 14);
		assert_int_equal(gwt_run_prog(prog(hook), hook, 0, in, len, &r), 0);
		assert_int_equal(r.action, GW_ACT_PASS);
		assert_memory_equal(r.out, in, len);			/* untouched */
		assert_int_equal(stat(GW_DECAP_NOT_LOCAL), notlocal + 1);

		/* ours: decapsulated */
		len = ipip_frame(in, "198.18.0.2", tcp + 14, tlen - 14);
		assert_int_equal(gwt_run_prog(prog(hook), hook, 0, in, len, &r), 0);
		assert_int_equal(r.action, GW_ACT_PASS);
		assert_int_equal(r.out_len, tlen);
		assert_memory_equal(r.out + 12, tcp + 12, tlen - 12);	/* the inner frame */
	}
}

static void test_bad_inner_version_dropped(void **state)
{
	uint8_t in[PKT_MAX], junk[40];
	struct gwt_run r;
	size_t len;
	int hook;

	memset(junk, 0, sizeof(junk));
	junk[0] = 0x65;	/* says IPv6 inside protocol 4 */
	for (hook = 0; hook < 2; hook++) {
		uint64_t bad = stat(GW_DECAP_MALFORMED);

		len = ipip_frame(in, "198.18.0.2", junk, sizeof(junk));
		assert_int_equal(gwt_run_prog(prog(hook), hook, 0, in, len, &r), 0);
		assert_int_equal(r.action, GW_ACT_DROP);
		assert_int_equal(stat(GW_DECAP_MALFORMED), bad + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaves_others_alone),
		cmocka_unit_test(test_bad_inner_version_dropped),
	};

	return cmocka_run_group_tests_name("bpf_decap", tests, setup, teardown);
}
