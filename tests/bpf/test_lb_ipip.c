// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `ipip` services (direct server return) at XDP and TC: IPIP, IP6IP6 and
 * 4in6 encapsulation from the egress address to the backend, inner TTL,
 * checksums, MACs, the MTU check, and the round trip through the backend's
 * decap program back to the client's original packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "harness.h"
#include "dp/service.h"
#include "gw/decap.h"
#include "decap.skel.h"

static struct gw_bpf *skel;
static struct decap_bpf *dskel;
static struct gw_lb_maps maps;
static struct gwt_topo topo;

static int setup(void **state)
{
	skel = gwt_open();
	if (!skel)
		return -1;
	gwt_lb_maps(skel, &maps);
	dskel = gwt_decap_load();
	if (!dskel)
		return -1;
	return gwt_topo_make(skel, &topo) ? -1 : 0;
}

static int teardown(void **state)
{
	decap_bpf__destroy(dskel);
	return gwt_close(&skel);
}

static void svc_ipip(const char *vip, const char *backend)
{
	struct gw_backend_spec b;
	struct gw_service_spec s;

	memset(&s, 0, sizeof(s));
	memset(&b, 0, sizeof(b));
	assert_int_equal(gw_ip_parse(vip, &s.vip.ip), 0);
	s.vip.port = 80;
	s.proto = IPPROTO_TCP;
	s.fwd = GW_FWD_IPIP;
	s.ring_size = 251;
	assert_int_equal(gw_ip_parse(backend, &b.ep.ip), 0);
	b.weight = 1;
	s.backends = &b;
	s.n_backends = 1;
	assert_int_equal(gw_service_set(&maps, &s, NULL), 0);
}

static void decap_addr(const char *addr)
{
	struct gw_decap_key k;
	__u32 one = 1;

	memset(&k, 0, sizeof(k));
	k.family = strchr(addr, ':') ? GW_FAMILY_V6 : GW_FAMILY_V4;
	assert_int_equal(inet_pton(k.family == GW_FAMILY_V4 ? AF_INET : AF_INET6, addr, k.addr), 1);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(dskel->maps.gw_decap_addrs), &k, &one,
					     BPF_ANY), 0);
}

/* Client -> VIP through gw, then through the backend's decap program. */
/* 1 if the running kernel is at least major.minor. */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 1;
	return ma > major || (ma == major && mi >= minor);
}

static void ipip_case(int fam, const char *vip, const char *backend, const char *gwaddr,
		      const uint8_t *be_mac, __u16 sport_base)
{
	const char *client = fam == 4 ? "198.19.0.2" : "fd00:19::2";
	int outer = strchr(backend, ':') ? 6 : 4;
	uint8_t buf[PKT_MAX], inner_ttl;
	struct pkt_view v, d;
	struct gwt_run r, r2;
	size_t len, olen = outer == 4 ? 20 : 40;
	int hook, dhook;

	svc_ipip(vip, backend);
	decap_addr(backend);
	for (hook = 0; hook < 2; hook++) {
		struct pkt_opts o = {
			.family = fam, .saddr = client, .daddr = vip, .proto = IPPROTO_TCP,
			.sport = (__u16)(sport_base + hook), .dport = 80, .tcp_flags = 0x02,
			.payload_len = 100,
		};

		len = pkt_build(buf, sizeof(buf), &o);
		assert_true(len > 0);
		gwt_reset_counts(skel);
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(gwt_reason_count(skel, GW_R_FWD_IPIP), 1);	/* counted as ipip */
		assert_int_equal(r.retval, hook ? TC_ACT_REDIRECT : XDP_REDIRECT);
		assert_int_equal(r.out_len, len + olen);		/* grew by the outer header */
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_int_equal(v.family, outer);
		assert_int_equal(v.proto, fam == 4 ? IPPROTO_IPIP : IPPROTO_IPV6);
		assert_string_equal(v.saddr, gwaddr);		/* egress address */
		assert_string_equal(v.daddr, backend);		/* to the backend */
		assert_int_equal(v.inner_family, fam);
		assert_string_equal(v.inner_saddr, client);	/* inner untouched */
		assert_string_equal(v.inner_daddr, vip);
		assert_int_equal(v.inner_dport, 80);
		assert_int_equal(v.csum_ok, 1);			/* outer + inner checksums */
		assert_memory_equal(v.mac_dst, be_mac, 6);
		assert_memory_equal(v.mac_src, topo.bside_mac, 6);
		inner_ttl = fam == 4 ? r.out[14 + olen + 8] : r.out[14 + olen + 7];
		assert_int_equal(inner_ttl, 63);			/* inner TTL decremented */

		/* the backend strips the outer header: the client's packet */
		for (dhook = 0; dhook < 2; dhook++) {
			assert_int_equal(gwt_run_prog(dhook ? bpf_program__fd(dskel->progs.gw_decap_tc)
							    : bpf_program__fd(dskel->progs.gw_decap_xdp),
						      dhook, 0, r.out, r.out_len, &r2), 0);
			assert_int_equal(r2.action, GW_ACT_PASS);
			if (dhook == 1 && fam != outer && !kernel_at_least(6, 3)) {
				/* bpf_skb_adjust_room() can change the L3
				 * family only from 6.3 (BPF_F_ADJ_ROOM_DECAP_L3_*):
				 * the documented fallback passes the packet
				 * as it came. */
				assert_int_equal(r2.out_len, r.out_len);
				continue;
			}
			assert_int_equal(r2.out_len, len);		/* outer header gone */
			assert_int_equal(pkt_parse(r2.out, r2.out_len, &d), 0);
			assert_int_equal(d.family, fam);
			assert_string_equal(d.saddr, client);
			assert_string_equal(d.daddr, vip);
			assert_int_equal(d.sport, sport_base + hook);
			assert_int_equal(d.ttl, 63);
			assert_int_equal(d.csum_ok, 1);
			/* beyond the TTL (and v4 checksum), the client's bytes */
			assert_memory_equal(r2.out + 14 + (fam == 4 ? 20 : 40),
					    buf + 14 + (fam == 4 ? 20 : 40),
					    len - 14 - (fam == 4 ? 20 : 40));
		}
	}
}

static void test_ipip_v4(void **state)
{
	ipip_case(4, "198.51.100.50", "198.18.0.2", "198.18.0.1", GWT_MAC_BE2, 45000);
}

static void test_ip6ip6(void **state)
{
	ipip_case(6, "2001:db8::50", "fd00:18::2", "fd00:18::1", GWT_MAC_BE2, 45100);
}

static void test_4in6(void **state)
{
	ipip_case(4, "198.51.100.51", "fd00:18::3", "fd00:18::1", GWT_MAC_BE3, 45200);
}

static void test_ipip_mtu(void **state)
{
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len;
	int hook;

	svc_ipip("198.51.100.52", "198.18.0.2");
	for (hook = 0; hook < 2; hook++) {
		struct pkt_opts o = {
			.family = 4, .saddr = "198.19.0.2", .daddr = "198.51.100.52",
			.proto = IPPROTO_TCP, .sport = (__u16)(45300 + hook), .dport = 80,
			.tcp_flags = 0x10, .payload_len = 1460, /* 1500 bytes of IP */
		};

		len = pkt_build(buf, sizeof(buf), &o);
		gwt_reset_counts(skel);
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(r.action, GW_ACT_DROP);			/* 1520 > MTU 1500 */
		assert_int_equal(gwt_reason_count(skel, GW_R_DROP_MTU), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipip_v4),
		cmocka_unit_test(test_ip6ip6),
		cmocka_unit_test(test_4in6),
		cmocka_unit_test(test_ipip_mtu),
	};

	return cmocka_run_group_tests_name("bpf_lb_ipip", tests, setup, teardown);
}
