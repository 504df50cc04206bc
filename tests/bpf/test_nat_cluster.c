// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `nat` across cluster nodes (docs/cluster.md) at XDP and TC: with
 * cluster.nat_source set, flows are translated from it with the port of
 * the flow hash alone (a node that never saw a flow translates it the
 * same way), each new flow is handed to gwd through gw_nat_events, a
 * reply to nat_source with no entry is dropped (never reset by the
 * stack), and a flow imported from another node (dp/natsync.c) is
 * translated both ways. IPv4 and IPv6.
 */
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "harness.h"
#include "dp/natsync.h"
#include "dp/service.h"

static struct gw_bpf *skel;
static struct gw_lb_maps maps;
static struct gwt_topo topo;
static struct gw_natsync_reader *reader;

#define FAM(f, a4, a6) ((f) == 4 ? (a4) : (a6))
#define CLIENT(f) FAM(f, "198.19.0.2", "fd00:19::2")
#define GWB(f) FAM(f, "198.18.0.1", "fd00:18::1")
#define BE2(f) FAM(f, "198.18.0.2", "fd00:18::2")
#define NATSRC(f) FAM(f, "198.18.77.1", "fd00:77::1")
#define VIP(f) FAM(f, "198.51.100.70", "2001:db8::70")

static void ip_of(const char *s, struct gw_ip *ip)
{
	assert_int_equal(gw_ip_parse(s, ip), 0);
}

static int setup(void **state)
{
	struct gw_ip src[2];

	skel = gwt_open();
	if (!skel)
		return -1;
	gwt_lb_maps(skel, &maps);
	if (gwt_topo_make(skel, &topo))
		return -1;
	ip_of(NATSRC(4), &src[0]);
	ip_of(NATSRC(6), &src[1]);
	if (gw_natsync_source_set(bpf_map__fd(skel->maps.gw_nat_src),
				  bpf_map__fd(skel->maps.gw_config), src, 2))
		return -1;
	return gw_natsync_reader_new(bpf_map__fd(skel->maps.gw_nat_events), &reader);
}

static int teardown(void **state)
{
	gw_natsync_reader_free(reader);
	return gwt_close(&skel);
}

/* A nat service at VIP(fam):80/tcp with the one backend BE2:8080. */
static void svc_make(int fam)
{
	struct gw_backend_spec b;
	struct gw_service_spec s;
	__u32 id = 0;

	memset(&s, 0, sizeof(s));
	memset(&b, 0, sizeof(b));
	ip_of(VIP(fam), &s.vip.ip);
	s.vip.port = 80;
	s.proto = IPPROTO_TCP;
	s.fwd = GW_FWD_NAT;
	s.ring_size = 251;
	ip_of(BE2(fam), &b.ep.ip);
	b.ep.port = 8080;
	b.weight = 1;
	s.backends = &b;
	s.n_backends = 1;
	assert_int_equal(gw_service_set(&maps, &s, &id), 0);
}

/* Runs one TCP packet src:sport -> dst:dport arriving on ifindex; *v gets
 * the packet out when forwarded. Returns the action. */
static int run(int fam, int hook, int ifindex, const char *src, const char *dst, __u16 sport,
	       __u16 dport, struct pkt_view *v)
{
	struct pkt_opts o = {
		.family = fam, .saddr = src, .daddr = dst, .proto = IPPROTO_TCP, .sport = sport,
		.dport = dport, .tcp_flags = 0x10, .ttl = 64, .payload_len = 20,
	};
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len = pkt_build(buf, PKT_MAX, &o);

	assert_true(len > 0);
	assert_int_equal(gwt_run(skel, hook, ifindex, buf, len, &r), 0);
	if (r.action == GW_ACT_FORWARD) {
		assert_int_equal(pkt_parse(r.out, r.out_len, v), 0);
		assert_int_equal(v->csum_ok, 1);
	}
	return r.action;
}

/* Forgets every conntrack and NAT entry: the node that never saw a flow. */
static void forget_all(void)
{
	struct gw_flow k;

	while (!bpf_map_get_next_key(maps.ct, NULL, &k))
		bpf_map_delete_elem(maps.ct, &k);
	while (!bpf_map_get_next_key(maps.nat, NULL, &k))
		bpf_map_delete_elem(maps.nat, &k);
}

static void shared_translation(int fam)
{
	struct gw_nat_share ev[4];
	struct pkt_view v;
	char buf[64];
	__u16 natport;
	int hook, n;

	svc_make(fam);
	gw_natsync_read(reader, ev, 4);	/* drop older tests' events */
	for (hook = 0; hook < 2; hook++) {
		__u16 cport = (__u16)(45000 + hook);

		assert_int_equal(run(fam, hook, topo.cside, CLIENT(fam), VIP(fam), cport, 80, &v),
				 GW_ACT_FORWARD);
		assert_string_equal(v.saddr, NATSRC(fam));	/* from nat_source */
		assert_string_equal(v.daddr, BE2(fam));
		natport = v.sport;

		/* one event, naming the flow and its translation */
		n = gw_natsync_read(reader, ev, 4);
		assert_int_equal(n, 1);
		assert_int_equal(ev[0].family, fam);
		assert_int_equal(ev[0].proto, IPPROTO_TCP);
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, ev[0].client, buf, sizeof(buf));
		assert_string_equal(buf, CLIENT(fam));
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, ev[0].nat, buf, sizeof(buf));
		assert_string_equal(buf, NATSRC(fam));
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, ev[0].backend, buf, sizeof(buf));
		assert_string_equal(buf, BE2(fam));
		assert_int_equal(ntohs(ev[0].nat_port), natport);
		assert_int_equal(ntohs(ev[0].client_port), cport);
		assert_int_equal(ntohs(ev[0].vip_port), 80);
		assert_int_equal(ntohs(ev[0].backend_port), 8080);

		/* established: no new event */
		run(fam, hook, topo.cside, CLIENT(fam), VIP(fam), cport, 80, &v);
		assert_int_equal(v.sport, natport);
		assert_int_equal(gw_natsync_read(reader, ev, 4), 0);

		/* a node that never saw the flow: the same translation */
		forget_all();
		assert_int_equal(run(fam, hook, topo.cside, CLIENT(fam), VIP(fam), cport, 80, &v),
				 GW_ACT_FORWARD);
		assert_string_equal(v.saddr, NATSRC(fam));
		assert_string_equal(v.daddr, BE2(fam));
		assert_int_equal(v.sport, natport);
		assert_int_equal(gw_natsync_read(reader, ev, 4), 1);

		/* and it answers the reply */
		assert_int_equal(run(fam, hook, topo.bside, BE2(fam), NATSRC(fam), 8080, natport,
				     &v), GW_ACT_FORWARD);
		assert_string_equal(v.saddr, VIP(fam));
		assert_string_equal(v.daddr, CLIENT(fam));
		assert_int_equal(v.dport, cport);
	}
}

static void test_shared_translation_v4(void **state)
{
	shared_translation(4);
}

static void test_shared_translation_v6(void **state)
{
	shared_translation(6);
}

static void reply_no_entry(int fam)
{
	struct pkt_view v;
	int hook;

	for (hook = 0; hook < 2; hook++) {
		gwt_reset_counts(skel);
		/* to nat_source, in the NAT range: dropped, not reset by the stack */
		assert_int_equal(run(fam, hook, topo.bside, BE2(fam), NATSRC(fam), 8080, 2000, &v),
				 GW_ACT_DROP);
		assert_int_equal(gwt_reason_count(skel, GW_R_DROP_NAT_NO_ENTRY), 1);
		/* outside the range, or to the interface's own address: the stack's */
		assert_int_equal(run(fam, hook, topo.bside, BE2(fam), NATSRC(fam), 8080, 40000, &v),
				 GW_ACT_PASS);
		assert_int_equal(run(fam, hook, topo.bside, BE2(fam), GWB(fam), 8080, 2000, &v),
				 GW_ACT_PASS);
		assert_int_equal(gwt_reason_count(skel, GW_R_DROP_NAT_NO_ENTRY), 1);
	}
}

static void test_reply_no_entry_v4(void **state)
{
	reply_no_entry(4);
}

static void test_reply_no_entry_v6(void **state)
{
	reply_no_entry(6);
}

/* Runs src:sport -> dst:dport, which must leave as osrc:osport ->
 * odst:odport. */
static void expect_fwd(int fam, int hook, int ifindex, const char *src, __u16 sport,
		       const char *dst, __u16 dport, const char *osrc, __u16 osport,
		       const char *odst, __u16 odport)
{
	struct pkt_view v;

	assert_int_equal(run(fam, hook, ifindex, src, dst, sport, dport, &v), GW_ACT_FORWARD);
	assert_string_equal(v.saddr, osrc);
	assert_string_equal(v.daddr, odst);
	assert_int_equal(v.sport, osport);
	assert_int_equal(v.dport, odport);
}

static void imported(int fam)
{
	int af = fam == 4 ? AF_INET : AF_INET6;
	struct gw_nat_share s[2];
	struct gw_nat_event ev;
	int hook;

	svc_make(fam);
	forget_all();
	memset(s, 0, sizeof(s));
	s[0].family = (__u8)fam;
	s[0].proto = IPPROTO_TCP;
	inet_pton(af, CLIENT(fam), s[0].client);
	inet_pton(af, VIP(fam), s[0].vip);
	inet_pton(af, BE2(fam), s[0].backend);
	inet_pton(af, NATSRC(fam), s[0].nat);
	s[0].client_port = htons(46000);
	s[0].vip_port = htons(80);
	s[0].backend_port = htons(8080);
	s[0].nat_port = htons(3333);	/* not this node's choice: taken as given */
	s[1] = s[0];
	s[1].vip_port = htons(81);	/* no such service here: skipped */
	assert_int_equal(gw_natsync_import(&maps, s, 2, 1), 1);

	for (hook = 0; hook < 2; hook++) {
		/* the backend's reply, never seen here */
		expect_fwd(fam, hook, topo.bside, BE2(fam), 8080, NATSRC(fam), 3333, VIP(fam), 80,
			   CLIENT(fam), 46000);
		/* the client's next packet keeps the imported translation */
		expect_fwd(fam, hook, topo.cside, CLIENT(fam), 46000, VIP(fam), 80, NATSRC(fam),
			   3333, BE2(fam), 8080);
	}
	/* importing is no new flow of this node's */
	assert_int_equal(gw_natsync_read(reader, s, 1), 0);
	/* an event's flow is what import takes */
	memset(&ev, 0, sizeof(ev));
	ev.rev.family = (__u8)fam;
	ev.rev.proto = IPPROTO_TCP;
	ev.rev.sport = htons(8080);
	ev.rev.dport = htons(3333);
	ev.nat.client_port = htons(46000);
	ev.nat.vip_port = htons(80);
	gw_natsync_from_event(&ev, &s[1]);
	assert_int_equal(s[1].backend_port, s[0].backend_port);
	assert_int_equal(s[1].nat_port, s[0].nat_port);
	assert_int_equal(s[1].client_port, s[0].client_port);
}

static void test_imported_v4(void **state)
{
	imported(4);
}

static void test_imported_v6(void **state)
{
	imported(6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_translation_v4),
		cmocka_unit_test(test_shared_translation_v6),
		cmocka_unit_test(test_reply_no_entry_v4),
		cmocka_unit_test(test_reply_no_entry_v6),
		cmocka_unit_test(test_imported_v4),
		cmocka_unit_test(test_imported_v6),
	};

	return cmocka_run_group_tests_name("bpf_nat_cluster", tests, setup, teardown);
}
