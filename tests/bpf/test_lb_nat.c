// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `nat` services through the whole pipeline at XDP and TC: translation
 * toward the backend and back, checksums, MACs from the neighbour table,
 * conntrack and NAT state, table swaps and draining, flows that keep their
 * backend when one is added or weights change, the FIB's verdicts and ICMP
 * errors about translated flows. IPv4 and IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "harness.h"
#include "dp/service.h"

static struct gw_bpf *skel;
static struct gw_lb_maps maps;
static struct gwt_topo topo;

#define FAM(f, a4, a6) ((f) == 4 ? (a4) : (a6))
#define CLIENT(f) FAM(f, "198.19.0.2", "fd00:19::2")
#define GWB(f) FAM(f, "198.18.0.1", "fd00:18::1")
#define BE2(f) FAM(f, "198.18.0.2", "fd00:18::2")
#define BE3(f) FAM(f, "198.18.0.3", "fd00:18::3")

static int setup(void **state)
{
	skel = gwt_open();
	if (!skel)
		return -1;
	gwt_lb_maps(skel, &maps);
	return gwt_topo_make(skel, &topo) ? -1 : 0;
}

static int teardown(void **state)
{
	return gwt_close(&skel);
}

static void ip_of(const char *s, struct gw_ip *ip)
{
	assert_int_equal(gw_ip_parse(s, ip), 0);
}

/* Creates or updates a nat service with backends addrs[i]:8080 (drained
 * where drain[i]); returns its id. */
static __u32 svc_set(int fam, const char *vip, __u16 port, __u8 proto, const char *const *addrs,
		     const int *drain, size_t n)
{
	struct gw_backend_spec b[8];
	struct gw_service_spec s;
	__u32 id = 0;
	size_t i;

	memset(&s, 0, sizeof(s));
	memset(b, 0, sizeof(b));
	ip_of(vip, &s.vip.ip);
	s.vip.port = port;
	s.proto = proto;
	s.fwd = GW_FWD_NAT;
	s.ring_size = 251;
	for (i = 0; i < n; i++) {
		ip_of(addrs[i], &b[i].ep.ip);
		b[i].ep.port = 8080;
		b[i].weight = 1;
		b[i].drain = drain ? drain[i] : 0;
	}
	s.backends = b;
	s.n_backends = n;
	assert_int_equal(gw_service_set(&maps, &s, &id), 0);
	assert_true(id > 0);
	(void)fam;
	return id;
}

static size_t build(uint8_t *buf, int fam, const char *src, const char *dst, __u8 proto,
		    __u16 sport, __u16 dport, __u8 ttl)
{
	struct pkt_opts o = {
		.family = fam, .saddr = src, .daddr = dst, .proto = proto, .sport = sport,
		.dport = dport, .tcp_flags = 0x02, .ttl = ttl, .payload_len = 37,
	};
	size_t len = pkt_build(buf, PKT_MAX, &o);

	assert_true(len > 0);
	return len;
}

static int fwd_retval(int hook, int egress, int ingress)
{
	if (hook == 1)
		return TC_ACT_REDIRECT;
	return egress == ingress ? XDP_TX : XDP_REDIRECT;
}

/* Looks up the ct entry of a client flow. */
static int ct_get(int fam, const char *src, const char *dst, __u8 proto, __u16 sport, __u16 dport,
		  struct gw_ct *ct)
{
	struct gw_flow f;

	memset(&f, 0, sizeof(f));
	inet_pton(fam == 4 ? AF_INET : AF_INET6, src, f.saddr);
	inet_pton(fam == 4 ? AF_INET : AF_INET6, dst, f.daddr);
	f.sport = htons(sport);
	f.dport = htons(dport);
	f.proto = proto;
	f.family = (__u8)fam;
	return bpf_map_lookup_elem(maps.ct, &f, ct);
}

static void nat_roundtrip(int fam, __u8 proto, const char *vip, __u16 vport)
{
	const char *addrs[1] = { BE2(fam) };
	uint8_t buf[PKT_MAX];
	struct pkt_view v;
	struct gwt_run r;
	struct gw_ct ct;
	struct gw_nat nat;
	struct gw_flow key;
	__u32 svc_id;
	__u16 natport;
	size_t len;
	int hook;

	svc_id = svc_set(fam, vip, vport, proto, addrs, NULL, 1);
	for (hook = 0; hook < 2; hook++) {
		__u16 cport = (__u16)(40000 + hook);

		gwt_reset_counts(skel);
		len = build(buf, fam, CLIENT(fam), vip, proto, cport, vport, 64);
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(gwt_reason_count(skel, GW_R_FWD_NAT), 1); /* counted as nat */
		assert_int_equal(r.retval, fwd_retval(hook, topo.bside, topo.cside));
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_string_equal(v.saddr, GWB(fam));		/* SNAT to egress address */
		assert_string_equal(v.daddr, BE2(fam));		/* DNAT to the backend */
		assert_int_equal(v.dport, 8080);			/* backend port */
		assert_true(v.sport >= GW_NAT_PORT_MIN_DEFAULT && v.sport <= GW_NAT_PORT_MAX_DEFAULT);
		assert_int_equal(v.ttl, 63);				/* TTL decremented */
		assert_int_equal(v.csum_ok, 1);				/* all checksums valid */
		assert_memory_equal(v.mac_dst, GWT_MAC_BE2, 6);	/* neighbour's MAC */
		assert_memory_equal(v.mac_src, topo.bside_mac, 6);	/* egress MAC */
		natport = v.sport;

		/* conntrack and the reverse entry */
		assert_int_equal(ct_get(fam, CLIENT(fam), vip, proto, cport, vport, &ct), 0);
		assert_int_equal(ct.svc_id, svc_id);
		assert_int_equal(ntohs(ct.nat_port), natport);
		memset(&key, 0, sizeof(key));
		inet_pton(fam == 4 ? AF_INET : AF_INET6, BE2(fam), key.saddr);
		inet_pton(fam == 4 ? AF_INET : AF_INET6, GWB(fam), key.daddr);
		key.sport = htons(8080);
		key.dport = htons(natport);
		key.proto = proto;
		key.family = (__u8)fam;
		assert_int_equal(bpf_map_lookup_elem(maps.nat, &key, &nat), 0);
		assert_int_equal(ntohs(nat.client_port), cport);	/* reverse entry -> client */
		assert_int_equal(ntohs(nat.vip_port), vport);
		assert_int_equal(nat.backend_id, ct.backend_id);

		/* the backend's reply goes back as from the VIP */
		len = build(buf, fam, BE2(fam), GWB(fam), proto, 8080, natport, 64);
		assert_int_equal(gwt_run(skel, hook, topo.bside, buf, len, &r), 0);
		assert_int_equal(gwt_reason_count(skel, GW_R_FWD_NAT_REPLY), 1);
		assert_int_equal(r.retval, fwd_retval(hook, topo.cside, topo.bside));
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_string_equal(v.saddr, vip);			/* reply from the VIP */
		assert_string_equal(v.daddr, CLIENT(fam));
		assert_int_equal(v.sport, vport);
		assert_int_equal(v.dport, cport);
		assert_int_equal(v.ttl, 63);
		assert_int_equal(v.csum_ok, 1);
		assert_memory_equal(v.mac_dst, GWT_MAC_CLIENT, 6);
		assert_memory_equal(v.mac_src, topo.cside_mac, 6);

		/* the second packet of the flow is established: same port */
		len = build(buf, fam, CLIENT(fam), vip, proto, cport, vport, 64);
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_int_equal(v.sport, natport);			/* same NAT port */
	}
	/* per-service and per-backend counters: 3 packets a hook */
	assert_int_equal(gwt_counter(bpf_map__fd(skel->maps.gw_svc_stats), svc_id), 6);
	assert_int_equal(gwt_counter(bpf_map__fd(skel->maps.gw_backend_stats), ct.backend_id), 6);
}

static void test_nat_tcp_v4(void **state)
{
	nat_roundtrip(4, IPPROTO_TCP, "198.51.100.10", 80);
}

static void test_nat_tcp_v6(void **state)
{
	nat_roundtrip(6, IPPROTO_TCP, "2001:db8::10", 80);
}

static void test_nat_udp_v4(void **state)
{
	nat_roundtrip(4, IPPROTO_UDP, "198.51.100.11", 53);
}

static void test_nat_udp_v6(void **state)
{
	nat_roundtrip(6, IPPROTO_UDP, "2001:db8::11", 53);
}

static void test_udp_zero_csum_stays_zero(void **state)
{
	const char *addrs[1] = { "198.18.0.2" };
	uint8_t buf[PKT_MAX];
	struct pkt_view v;
	struct gwt_run r;
	size_t len;
	int hook;

	svc_set(4, "198.51.100.12", 53, IPPROTO_UDP, addrs, NULL, 1);
	for (hook = 0; hook < 2; hook++) {
		len = build(buf, 4, "198.19.0.2", "198.51.100.12", IPPROTO_UDP,
			    (__u16)(41000 + hook), 53, 64);
		buf[14 + 20 + 6] = buf[14 + 20 + 7] = 0;	/* no UDP checksum */
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(r.action, GW_ACT_FORWARD);
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_string_equal(v.daddr, "198.18.0.2");
		/* checksum 0 (none) stays 0 on IPv4; the IP header is valid */
		assert_int_equal(r.out[14 + 20 + 6] | r.out[14 + 20 + 7], 0);
		assert_int_equal(v.csum_ok, 1);
	}
}

/* Sends one client packet; returns the backend address it went to ("" if
 * not forwarded). */
static void send_flow(int fam, int hook, const char *vip, __u16 sport, char *out)
{
	uint8_t buf[PKT_MAX];
	struct pkt_view v;
	struct gwt_run r;
	size_t len = build(buf, fam, CLIENT(fam), vip, IPPROTO_TCP, sport, 80, 64);

	out[0] = 0;
	assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
	if (r.action != GW_ACT_FORWARD)
		return;
	assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
	assert_int_equal(v.csum_ok, 1);
	strcpy(out, v.daddr);
}

static void drain_and_swap(int fam)
{
	const char *vip = FAM(fam, "198.51.100.20", "2001:db8::20");
	const char *addrs[2] = { BE2(fam), BE3(fam) };
	int drain[2] = { 0, 0 };
	char first[64], got[64];
	const char *other;
	int hook, i, mine;
	__u16 sport;

	for (hook = 0; hook < 2; hook++) {
		sport = (__u16)(42000 + hook * 1000);
		drain[0] = drain[1] = 0;
		svc_set(fam, vip, 80, IPPROTO_TCP, addrs, drain, 2);
		send_flow(fam, hook, vip, sport, first);
		assert_true(first[0]);
		mine = !strcmp(first, addrs[0]) ? 0 : 1;
		other = addrs[!mine];

		/* drain its backend: the table changes, the flow stays */
		drain[mine] = 1;
		svc_set(fam, vip, 80, IPPROTO_TCP, addrs, drain, 2);
		send_flow(fam, hook, vip, sport, got);
		assert_string_equal(got, first);	/* established flow kept on drained backend */
		for (i = 1; i <= 20; i++) {
			send_flow(fam, hook, vip, (__u16)(sport + i), got);
			assert_string_equal(got, other);	/* new flows avoid the drained one */
		}

		/* remove it: the flow's entry is stale and it moves */
		{
			const char *left[1] = { other };

			svc_set(fam, vip, 80, IPPROTO_TCP, left, NULL, 1);
		}
		send_flow(fam, hook, vip, sport, got);
		assert_string_equal(got, other);	/* re-picked after its backend left */
	}
}

static void test_drain_and_swap_v4(void **state)
{
	drain_and_swap(4);
}

static void test_drain_and_swap_v6(void **state)
{
	drain_and_swap(6);
}

/* Sends `n` flows (source ports from sport) and counts those forwarded to
 * `be`; every one must be forwarded. */
static int flows_to(int fam, int hook, const char *vip, __u16 sport, int n, const char *be)
{
	char got[64];
	int i, hits = 0;

	for (i = 0; i < n; i++) {
		send_flow(fam, hook, vip, (__u16)(sport + i), got);
		assert_true(got[0]);
		hits += !strcmp(got, be);
	}
	return hits;
}

/* Sets the weights of BE2 and BE3 through a deferred snapshot, as gwd's
 * apply does (tables swapped in one batch at the commit). */
static void weights_by_apply(int fam, const char *vip, __u32 w2, __u32 w3)
{
	struct gw_backend_spec b[2];
	struct gw_service_spec s;
	struct gw_lb_snap *sn;

	memset(&s, 0, sizeof(s));
	memset(b, 0, sizeof(b));
	ip_of(vip, &s.vip.ip);
	s.vip.port = 80;
	s.proto = IPPROTO_TCP;
	s.fwd = GW_FWD_NAT;
	s.ring_size = 251;
	ip_of(BE2(fam), &b[0].ep.ip);
	ip_of(BE3(fam), &b[1].ep.ip);
	b[0].ep.port = b[1].ep.port = 8080;
	b[0].weight = w2;
	b[1].weight = w3;
	s.backends = b;
	s.n_backends = 2;
	assert_int_equal(gw_lb_snap_read(&maps, &sn), 0);
	assert_int_equal(gw_lb_snap_defer(&maps, sn), 0);
	assert_int_equal(gw_service_set_snap(&maps, sn, &s, NULL), 0);
	assert_int_equal(gw_lb_snap_commit(&maps, sn), 0);
	gw_lb_snap_free(sn);
}

/* Adding a backend (gwctl's path) or changing weights (gwd's apply path)
 * swaps the Maglev table, and new flows land on the new backend; flows
 * with a conntrack entry stay on the backend they had. */
static void backend_add_keeps_flows(int fam)
{
	const char *vip = FAM(fam, "198.51.100.21", "2001:db8::21");
	const char *one[1] = { BE2(fam) };
	struct gw_backend_spec nb;
	struct gw_endpoint v;
	int hook, n = 64, moved;
	__u16 old, fresh;

	for (hook = 0; hook < 2; hook++) {
		old = (__u16)(45000 + hook * 1000);
		fresh = (__u16)(old + 200);
		svc_set(fam, vip, 80, IPPROTO_TCP, one, NULL, 1);
		assert_int_equal(flows_to(fam, hook, vip, old, n, BE2(fam)), n);

		/* gwctl backend add: BE3 with weight 3 */
		memset(&nb, 0, sizeof(nb));
		memset(&v, 0, sizeof(v));
		ip_of(vip, &v.ip);
		v.port = 80;
		ip_of(BE3(fam), &nb.ep.ip);
		nb.ep.port = 8080;
		nb.weight = 3;
		assert_int_equal(gw_backend_set(&maps, &v, IPPROTO_TCP, &nb), 0);
		moved = flows_to(fam, hook, vip, fresh, n, BE3(fam));
		assert_true(moved > n / 2);	/* the table changed: new flows go to BE3 */
		assert_int_equal(flows_to(fam, hook, vip, old, n, BE2(fam)), n); /* kept */

		/* apply: weights 3:1, the table swaps again; nobody moves */
		weights_by_apply(fam, vip, 3, 1);
		assert_int_equal(flows_to(fam, hook, vip, old, n, BE2(fam)), n);
		assert_int_equal(flows_to(fam, hook, vip, fresh, n, BE3(fam)), moved);
		assert_true(flows_to(fam, hook, vip, (__u16)(fresh + 200), n, BE2(fam)) > n / 2);
	}
}

static void test_backend_add_keeps_flows_v4(void **state)
{
	backend_add_keeps_flows(4);
}

static void test_backend_add_keeps_flows_v6(void **state)
{
	backend_add_keeps_flows(6);
}

/* Reads service id's Maglev table (251 slots) into ring; returns 0, or -1
 * when the service has no table. */
static int ring_read(__u32 id, __u32 *ring)
{
	__u32 inner_id, i;
	int fd;

	if (bpf_map_lookup_elem(maps.maglev, &id, &inner_id))
		return -1;
	fd = bpf_map_get_fd_by_id(inner_id);
	assert_true(fd >= 0);
	for (i = 0; i < 251; i++)
		assert_int_equal(bpf_map_lookup_elem(fd, &i, &ring[i]), 0);
	close(fd);
	return 0;
}

/* Returns how many slots of ring name backend id be. */
static int ring_count(const __u32 *ring, __u32 be)
{
	int i, n = 0;

	for (i = 0; i < 251; i++)
		n += ring[i] == be;
	return n;
}

/* The id of backend addr:8080 of service svc. */
static __u32 be_id(__u32 svc, const char *addr)
{
	struct gw_backend x;
	struct gw_ip ip;
	__u32 id;

	ip_of(addr, &ip);
	for (id = 1; id < 16384; id++)
		if (!bpf_map_lookup_elem(maps.backends, &id, &x) && (x.flags & GW_BE_F_VALID) &&
		    x.svc_id == svc && x.family == ip.family && x.port == htons(8080) &&
		    !memcmp(x.addr, ip.addr, sizeof(x.addr)))
			return id;
	fail_msg("backend %s not found", addr);
	return 0;
}

/* Marks the listed addresses (port 8080) of service vip:80 down; returns
 * whether the table changed. */
static int mark_down(const char *vip, const char *const *addrs, size_t n, int want_open)
{
	struct gw_endpoint v = { .port = 80 }, down[4];
	int changed = -1, open = -1;
	size_t i;

	ip_of(vip, &v.ip);
	for (i = 0; i < n; i++) {
		down[i].port = 8080;
		ip_of(addrs[i], &down[i].ip);
	}
	assert_int_equal(gw_service_health_set(&maps, &v, IPPROTO_TCP, down, n, &changed, &open),
			 0);
	assert_int_equal(open, want_open);	/* fail open exactly when all are down */
	return changed;
}

/* Health marks: a down backend leaves the table while the others keep
 * their slots, its established flow stays, the mark survives a service
 * update (reload), all down fails open to every non-draining backend, a
 * drained backend stays out even then, and clearing the marks restores the
 * table. */
static void health_marks(int fam)
{
	const char *vip = FAM(fam, "198.51.100.40", "2001:db8::40");
	const char *addrs[3] = { BE2(fam), BE3(fam), FAM(fam, "198.18.0.4", "fd00:18::4") };
	int drain[3] = { 0, 0, 0 }, i, kept = 0, others = 0;
	__u32 svc, ring0[251], ring[251], b2, b3, b4;
	char got[64];
	__u16 sport = 0;

	svc = svc_set(fam, vip, 80, IPPROTO_TCP, addrs, drain, 3);
	b2 = be_id(svc, addrs[0]);
	b3 = be_id(svc, addrs[1]);
	b4 = be_id(svc, addrs[2]);
	assert_int_equal(ring_read(svc, ring0), 0);
	/* a flow on BE2 before it goes down */
	for (i = 0; i < 200 && !sport; i++) {
		send_flow(fam, 0, vip, (__u16)(44000 + i), got);
		if (!strcmp(got, addrs[0]))
			sport = (__u16)(44000 + i);
	}
	assert_true(sport != 0);

	assert_int_equal(mark_down(vip, addrs, 1, 0), 1);	/* BE2 down: rebuilt */
	assert_int_equal(mark_down(vip, addrs, 1, 0), 0);	/* the same again: untouched */
	assert_int_equal(ring_read(svc, ring), 0);
	assert_int_equal(ring_count(ring, b2), 0);		/* down backend out of the table */
	for (i = 0; i < 251; i++) {
		if (ring0[i] == b2)
			continue;
		others++;
		kept += ring[i] == ring0[i];
	}
	assert_true(kept * 100 >= others * 95);	/* the others keep >= 95% of their slots */
	send_flow(fam, 0, vip, sport, got);
	assert_string_equal(got, addrs[0]);		/* established flow stays on the down one */
	for (i = 1; i <= 20; i++) {
		send_flow(fam, 0, vip, (__u16)(45000 + i), got);
		assert_string_not_equal(got, addrs[0]);	/* new flows avoid it */
	}

	/* a reload (service set again, weights and all): the mark stays */
	svc_set(fam, vip, 80, IPPROTO_TCP, addrs, drain, 3);
	assert_int_equal(ring_read(svc, ring), 0);
	assert_int_equal(ring_count(ring, b2), 0);		/* still down after a service update */

	/* all down: fail open, every backend takes new flows again */
	assert_int_equal(mark_down(vip, addrs, 3, 1), 1);
	assert_int_equal(ring_read(svc, ring), 0);		/* a table, not no_backend */
	assert_true(ring_count(ring, b2) > 0 && ring_count(ring, b3) > 0 &&
		    ring_count(ring, b4) > 0);
	/* ... but a drained backend stays out */
	drain[1] = 1;
	svc_set(fam, vip, 80, IPPROTO_TCP, addrs, drain, 3);
	assert_int_equal(ring_read(svc, ring), 0);
	assert_int_equal(ring_count(ring, b3), 0);		/* drained: out even in fail open */
	assert_true(ring_count(ring, b2) > 0 && ring_count(ring, b4) > 0);

	/* healthy again: the table without marks is the original one */
	drain[1] = 0;
	svc_set(fam, vip, 80, IPPROTO_TCP, addrs, drain, 3);
	assert_int_equal(mark_down(vip, addrs, 0, 0), 1);
	assert_int_equal(ring_read(svc, ring), 0);
	assert_memory_equal(ring, ring0, sizeof(ring));	/* same set, same table */
}

static void test_health_marks_v4(void **state)
{
	health_marks(4);
}

static void test_health_marks_v6(void **state)
{
	health_marks(6);
}

/* Checks the verdict and reason of one client packet. */
static void expect(int fam, int hook, const char *vip, __u16 sport, __u8 ttl, int action,
		   enum gw_reason reason, struct gwt_run *r)
{
	uint8_t buf[PKT_MAX];
	size_t len = build(buf, fam, CLIENT(fam), vip, IPPROTO_TCP, sport, 80, ttl);

	gwt_reset_counts(skel);
	assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, r), 0);
	assert_int_equal(r->action, action);
	assert_int_equal(gwt_reason_count(skel, reason), 1); /* the expected reason */
}

/* Sets and clears gw_ifaddr flags of ifindex. */
static void if_flags(int ifindex, __u32 set, __u32 clear)
{
	int fd = bpf_map__fd(skel->maps.gw_ifaddr);
	struct gw_ifaddr ia;
	__u32 key = (__u32)ifindex;

	assert_int_equal(bpf_map_lookup_elem(fd, &key, &ia), 0);
	ia.flags = (ia.flags & ~clear) | set;
	assert_int_equal(bpf_map_update_elem(fd, &key, &ia, BPF_EXIST), 0);
}

/* Parses the frame of r into v and checks the mark gw_xdp left in its
 * Ethernet addresses for gw_tc_neigh (abi.h: GW_MARK_*). */
static void expect_mark(const struct gwt_run *r, __u32 egress, struct pkt_view *v)
{
	const uint8_t dst[6] = { GW_MARK_0, GW_MARK_1, GW_MARK_2, GW_MARK_NEIGH, 0, 0 };
	uint8_t src[6] = { 0 };

	memcpy(src, &egress, 4);
	assert_int_equal(pkt_parse(r->out, r->out_len, v), 0);
	assert_memory_equal(v->mac_dst, dst, 6);
	assert_memory_equal(v->mac_src, src, 6);
}

/* A packet toward backend `be` of service vip, whose neighbour is not
 * resolved: TC rewrites it and hands it to bpf_redirect_neigh; XDP drops
 * it untouched when the ingress has no gw_tc_neigh, else rewrites it and
 * passes it marked for gw_tc_neigh. */
static void no_neigh(int fam, int hook, const char *vip, const char *be, __u16 sport)
{
	struct pkt_view v;
	struct gwt_run r;

	if (hook == 0) {
		uint8_t buf[PKT_MAX];
		size_t len = build(buf, fam, CLIENT(fam), vip, IPPROTO_TCP, sport, 80, 64);

		expect(fam, hook, vip, sport, 64, GW_ACT_DROP, GW_R_DROP_NO_TC_HELPER, &r);
		assert_memory_equal(r.out, buf, len);		/* untouched */
		if_flags(topo.cside, GW_IFADDR_F_TC_HELPER, 0);
		expect(fam, hook, vip, sport, 64, GW_ACT_PASS, GW_R_FWD_NO_NEIGH, &r);
		if_flags(topo.cside, 0, GW_IFADDR_F_TC_HELPER);
		expect_mark(&r, (__u32)topo.bside, &v);
	} else {
		expect(fam, hook, vip, sport, 64, GW_ACT_FORWARD, GW_R_FWD_NO_NEIGH, &r);
		assert_int_equal(r.retval, TC_ACT_REDIRECT);	/* bpf_redirect_neigh */
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
	}
	assert_string_equal(v.daddr, be);		/* rewritten */
	assert_string_equal(v.saddr, GWB(fam));
	assert_int_equal(v.ttl, 63);			/* gw forwards it: decremented */
	assert_int_equal(v.csum_ok, 1);
}

static void verdicts(int fam)
{
	const char *nn[1] = { FAM(fam, "198.18.0.9", "fd00:18::9") };
	const char *bh[1] = { FAM(fam, "198.18.99.5", "fd00:99::5") };
	const char *ok[1] = { BE2(fam) };
	int drained[1] = { 1 };
	const char *vnn = FAM(fam, "198.51.100.30", "2001:db8::30");
	const char *vbh = FAM(fam, "198.51.100.31", "2001:db8::31");
	const char *vdr = FAM(fam, "198.51.100.32", "2001:db8::32");
	const char *vok = FAM(fam, "198.51.100.33", "2001:db8::33");
	struct gwt_run r;
	int hook;

	svc_set(fam, vnn, 80, IPPROTO_TCP, nn, NULL, 1);
	svc_set(fam, vbh, 80, IPPROTO_TCP, bh, NULL, 1);
	svc_set(fam, vdr, 80, IPPROTO_TCP, ok, drained, 1);
	svc_set(fam, vok, 80, IPPROTO_TCP, ok, NULL, 1);
	for (hook = 0; hook < 2; hook++) {
		/* no neighbour: see no_neigh() */
		no_neigh(fam, hook, vnn, nn[0], (__u16)(43000 + hook));

		expect(fam, hook, vbh, (__u16)(43100 + hook), 64, GW_ACT_DROP,
		       GW_R_DROP_UNROUTABLE, &r);
		expect(fam, hook, vdr, (__u16)(43200 + hook), 64, GW_ACT_DROP,
		       GW_R_DROP_NO_BACKEND, &r);
		expect(fam, hook, vok, (__u16)(43300 + hook), 1, GW_ACT_PASS, GW_R_PASS_TTL, &r);

		/* no address on the egress interface */
		assert_int_equal(gwt_ifaddr_set(skel, topo.bside, fam == 4 ? NULL : "198.18.0.1",
						fam == 4 ? "fd00:18::1" : NULL), 0);
		expect(fam, hook, vok, (__u16)(43400 + hook), 64, GW_ACT_DROP,
		       GW_R_DROP_NO_SRC_ADDR, &r);
		assert_int_equal(gwt_ifaddr_set(skel, topo.bside, "198.18.0.1", "fd00:18::1"), 0);

		/* not a service port: the stack's */
		{
			uint8_t buf[PKT_MAX];
			size_t len = build(buf, fam, CLIENT(fam), vok, IPPROTO_TCP, 43500, 81, 64);

			gwt_reset_counts(skel);
			assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
			assert_int_equal(gwt_reason_count(skel, GW_R_PASS_LOCAL), 1);
			assert_memory_equal(r.out, buf, len);	/* untouched */
		}
	}
}

static void test_verdicts_v4(void **state)
{
	verdicts(4);
}

static void test_verdicts_v6(void **state)
{
	verdicts(6);
}

/* gw_tc_neigh: a frame gw_xdp marked goes to bpf_redirect_neigh, others
 * pass; gw_xdp drops a forged mark and hands packets for an egress that
 * takes no XDP frames (GW_IFADDR_F_XDP_SLOW) to gw_tc_neigh. */
static void tc_handoff(int fam)
{
	const char *ok[1] = { BE2(fam) };
	const char *vok = FAM(fam, "198.51.100.34", "2001:db8::34");
	int helper = bpf_program__fd(skel->progs.gw_tc_neigh);
	struct gw_config cfg;
	struct pkt_view v;
	struct gwt_run r;
	uint8_t buf[PKT_MAX];
	__u32 egress = (__u32)topo.bside;
	size_t len;

	svc_set(fam, vok, 80, IPPROTO_TCP, ok, NULL, 1);
	len = build(buf, fam, CLIENT(fam), BE2(fam), IPPROTO_TCP, 44000, 80, 64);
	assert_int_equal(gwt_run_prog(helper, 1, topo.cside, buf, len, &r), 0);
	assert_int_equal(r.retval, TC_ACT_OK);			/* no mark: untouched */
	buf[0] = GW_MARK_0;
	buf[1] = GW_MARK_1;
	buf[2] = GW_MARK_2;
	buf[3] = GW_MARK_NEIGH;
	buf[4] = buf[5] = 0;
	memcpy(buf + 6, &egress, 4);
	assert_int_equal(gwt_run_prog(helper, 1, topo.cside, buf, len, &r), 0);
	assert_int_equal(r.retval, TC_ACT_REDIRECT);		/* bpf_redirect_neigh */

	/* the same mark from the wire, at XDP: dropped, never passed */
	gwt_reset_counts(skel);
	assert_int_equal(gwt_run(skel, 0, topo.cside, buf, len, &r), 0);
	assert_int_equal(r.action, GW_ACT_DROP);
	assert_int_equal(gwt_reason_count(skel, GW_R_DROP_MALFORMED_L2), 1);

	/* an egress that takes no XDP frames: checked once gwd says so */
	if_flags(topo.bside, GW_IFADDR_F_XDP_SLOW, 0);
	expect(fam, 0, vok, 44001, 64, GW_ACT_FORWARD, GW_R_FWD_NAT, &r);
	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.flags |= GW_CFG_F_XDP_SLOW_ANY;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
	expect(fam, 0, vok, 44002, 64, GW_ACT_DROP, GW_R_DROP_NO_TC_HELPER, &r);
	if_flags(topo.cside, GW_IFADDR_F_TC_HELPER, 0);
	expect(fam, 0, vok, 44003, 64, GW_ACT_PASS, GW_R_FWD_XDP_SLOW, &r);
	expect_mark(&r, egress, &v);
	assert_string_equal(v.daddr, BE2(fam));
	assert_int_equal(v.ttl, 63);
	assert_int_equal(v.csum_ok, 1);
	/* TC sends it itself */
	expect(fam, 1, vok, 44004, 64, GW_ACT_FORWARD, GW_R_FWD_NAT, &r);
	cfg.flags &= ~GW_CFG_F_XDP_SLOW_ANY;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
	if_flags(topo.cside, 0, GW_IFADDR_F_TC_HELPER);
	if_flags(topo.bside, 0, GW_IFADDR_F_XDP_SLOW);
}

static void test_tc_handoff_v4(void **state)
{
	tc_handoff(4);
}

static void test_tc_handoff_v6(void **state)
{
	tc_handoff(6);
}

/* Returns whether the gw_svc_bloom bit of the TCP port-80 service at
 * v4 address a (host order) is set; *bitp gets the bit. */
static int bloom_has(__u32 a, __u32 *bitp)
{
	struct gw_svc_key k;
	__u32 bit, word;
	__u64 w;

	memset(&k, 0, sizeof(k));
	k.addr[0] = htonl(a);
	k.port = htons(80);
	k.proto = IPPROTO_TCP;
	k.family = GW_FAMILY_V4;
	bit = gw_svc_bloom_bit(&k);
	word = bit / 64;
	assert_int_equal(bpf_map_lookup_elem(maps.svc_bloom, &word, &w), 0);
	if (bitp)
		*bitp = bit;
	return (w >> (bit % 64)) & 1;
}

/* Removes the TCP port-80 service at v4 address a (host order). */
static void svc_del4(__u32 a)
{
	struct gw_endpoint vip;

	memset(&vip, 0, sizeof(vip));
	vip.ip.family = GW_FAMILY_V4;
	vip.ip.addr[0] = htonl(a);
	vip.port = 80;
	assert_int_equal(gw_service_del(&maps, &vip, IPPROTO_TCP), 0);
}

/* The pre-check of gw_services: a service's bit is set while any service
 * hashes to it (two colliding services), cleared after the last; a packet
 * to a service is never skipped; gw_svc_bloom_sync rebuilds a lost or
 * stale table. TTL 1 shows the lookup: a service packet reports `ttl`, a
 * skipped one `local`. */
static void test_svc_bloom(void **state)
{
	const char *ok[1] = { BE2(4) };
	__u32 a = 0x64400001, b = 0, bit_a, bit_b = 0, i, word;
	char sa[INET_ADDRSTRLEN], sb[INET_ADDRSTRLEN];
	__u32 na = htonl(a), nb;
	__u64 w, none = 0;
	struct gwt_run r;

	inet_ntop(AF_INET, &na, sa, sizeof(sa));
	assert_false(bloom_has(a, &bit_a));
	expect(4, 0, sa, 44000, 1, GW_ACT_PASS, GW_R_PASS_LOCAL, &r);
	/* b: another address in 100.64.0.0/10 whose key has the same bit */
	for (i = 2; i < (1u << 22) && !b; i++) {
		struct gw_svc_key k;

		memset(&k, 0, sizeof(k));
		k.addr[0] = htonl(0x64400000 + i);
		k.port = htons(80);
		k.proto = IPPROTO_TCP;
		k.family = GW_FAMILY_V4;
		if (gw_svc_bloom_bit(&k) == bit_a)
			b = 0x64400000 + i;
	}
	assert_true(b != 0);	/* a colliding key exists */
	nb = htonl(b);
	inet_ntop(AF_INET, &nb, sb, sizeof(sb));

	svc_set(4, sa, 80, IPPROTO_TCP, ok, NULL, 1);
	assert_true(bloom_has(a, NULL));
	expect(4, 0, sa, 44001, 1, GW_ACT_PASS, GW_R_PASS_TTL, &r);
	svc_set(4, sb, 80, IPPROTO_TCP, ok, NULL, 1);
	assert_true(bloom_has(b, &bit_b));
	assert_int_equal(bit_b, bit_a);
	svc_del4(a);
	assert_true(bloom_has(b, NULL));	/* b still hashes there: kept */
	expect(4, 0, sb, 44002, 1, GW_ACT_PASS, GW_R_PASS_TTL, &r);
	expect(4, 1, sb, 44003, 1, GW_ACT_PASS, GW_R_PASS_TTL, &r);
	expect(4, 0, sa, 44004, 1, GW_ACT_PASS, GW_R_PASS_LOCAL, &r);
	svc_del4(b);
	assert_false(bloom_has(b, NULL));	/* the last one: cleared */

	/* a table lost (new map beside pinned services): rebuilt by sync */
	svc_set(4, sa, 80, IPPROTO_TCP, ok, NULL, 1);
	word = bit_a / 64;
	assert_int_equal(bpf_map_update_elem(maps.svc_bloom, &word, &none, BPF_ANY), 0);
	expect(4, 0, sa, 44005, 1, GW_ACT_PASS, GW_R_PASS_LOCAL, &r);	/* skipped */
	assert_int_equal(gw_svc_bloom_sync(&maps), 0);
	assert_true(bloom_has(a, NULL));
	expect(4, 0, sa, 44006, 1, GW_ACT_PASS, GW_R_PASS_TTL, &r);
	/* a stale bit (no service) is cleared by sync, the live one kept */
	w = ~0ull;
	word = (bit_a / 64 + 1) % GW_SVC_BLOOM_WORDS;
	assert_int_equal(bpf_map_update_elem(maps.svc_bloom, &word, &w, BPF_ANY), 0);
	assert_int_equal(gw_svc_bloom_sync(&maps), 0);
	assert_int_equal(bpf_map_lookup_elem(maps.svc_bloom, &word, &w), 0);
	{
		struct gw_svc_key k, next;
		void *prev = NULL;
		__u64 want = 0;

		while (!bpf_map_get_next_key(maps.services, prev, &next)) {
			__u32 bit = gw_svc_bloom_bit(&next);

			k = next;
			prev = &k;
			if (bit / 64 == word)
				want |= 1ull << (bit % 64);
		}
		assert_true(w == want);	/* exactly the bits of services */
	}
	assert_true(bloom_has(a, NULL));
	svc_del4(a);
	assert_false(bloom_has(a, NULL));
}

/* ICMP errors about a translated flow, both ways. */
static void icmp_errors(int fam)
{
	const char *vip = FAM(fam, "198.51.100.40", "2001:db8::40");
	const char *router_b = FAM(fam, "198.18.0.254", "fd00:18::fe");
	const char *router_c = FAM(fam, "198.19.0.254", "fd00:19::fe");
	const char *addrs[1] = { BE2(fam) };
	size_t iph = fam == 4 ? 20 : 40;
	uint8_t buf[PKT_MAX], quote[PKT_MAX];
	struct pkt_opts o;
	struct pkt_view v, qv;
	struct gwt_run r;
	__u16 natport;
	size_t len, qlen;
	int hook;

	svc_set(fam, vip, 80, IPPROTO_TCP, addrs, NULL, 1);
	for (hook = 0; hook < 2; hook++) {
		__u16 cport = (__u16)(44000 + hook);

		len = build(buf, fam, CLIENT(fam), vip, IPPROTO_TCP, cport, 80, 64);
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		natport = v.sport;

		/* a router on the backend side: "fragmentation needed" about
		 * gateway:natport -> backend:8080 (the quote: IP header + 8) */
		qlen = build(quote, fam, GWB(fam), BE2(fam), IPPROTO_TCP, natport, 8080, 63);
		memset(&o, 0, sizeof(o));
		o.family = fam;
		o.saddr = router_b;
		o.daddr = GWB(fam);
		o.icmp_type = fam == 4 ? 3 : 2;
		o.icmp_code = fam == 4 ? 4 : 0;
		len = pkt_build_icmp_error(buf, sizeof(buf), &o, 1400, quote + 14,
					   qlen - 14 > iph + 28 ? iph + 28 : qlen - 14);
		assert_true(len > 0);
		gwt_reset_counts(skel);
		assert_int_equal(gwt_run(skel, hook, topo.bside, buf, len, &r), 0);
		assert_int_equal(gwt_reason_count(skel, GW_R_FWD_ICMP_ERROR), 1);
		assert_int_equal(r.action, GW_ACT_FORWARD);
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_string_equal(v.saddr, router_b);	/* a router's error keeps its source */
		assert_string_equal(v.daddr, CLIENT(fam));	/* to the client */
		assert_int_equal(v.csum_ok, 1);		/* outer IP and ICMP checksums */
		assert_int_equal(v.ttl, 63);
		assert_memory_equal(v.mac_dst, GWT_MAC_CLIENT, 6);
		/* the quote now names the client's flow: client:cport -> VIP:80 */
		{
			uint8_t inner[PKT_MAX];

			memcpy(inner, r.out, 12);
			inner[12] = fam == 4 ? 0x08 : 0x86;
			inner[13] = fam == 4 ? 0x00 : 0xdd;
			memcpy(inner + 14, r.out + v.l4_off + 8, r.out_len - v.l4_off - 8);
			if (fam == 4) {
				const struct iphdr *qip = (const void *)(inner + 14);
				char s[64], d[64];

				inet_ntop(AF_INET, &qip->saddr, s, sizeof(s));
				inet_ntop(AF_INET, &qip->daddr, d, sizeof(d));
				assert_string_equal(s, CLIENT(fam));
				assert_string_equal(d, vip);
				assert_int_equal(pkt_csum(qip, 20, 0), 0); /* quoted IPv4 checksum */
			} else {
				const struct ipv6hdr *qip6 = (const void *)(inner + 14);
				char s[64], d[64];

				inet_ntop(AF_INET6, &qip6->saddr, s, sizeof(s));
				inet_ntop(AF_INET6, &qip6->daddr, d, sizeof(d));
				assert_string_equal(s, CLIENT(fam));
				assert_string_equal(d, vip);
			}
			assert_int_equal(inner[14 + iph] << 8 | inner[15 + iph], cport);
			assert_int_equal(inner[16 + iph] << 8 | inner[17 + iph], 80);
		}

		/* a router on the client side: an error to the VIP about the
		 * reply VIP:80 -> client:cport goes to the backend */
		qlen = build(quote, fam, vip, CLIENT(fam), IPPROTO_TCP, 80, cport, 63);
		memset(&o, 0, sizeof(o));
		o.family = fam;
		o.saddr = router_c;
		o.daddr = vip;
		o.icmp_type = fam == 4 ? 3 : 1;
		o.icmp_code = fam == 4 ? 1 : 3;
		len = pkt_build_icmp_error(buf, sizeof(buf), &o, 0, quote + 14, qlen - 14);
		assert_true(len > 0);
		gwt_reset_counts(skel);
		assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
		assert_int_equal(gwt_reason_count(skel, GW_R_FWD_ICMP_ERROR), 1);
		assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
		assert_string_equal(v.saddr, GWB(fam));	/* from the gateway */
		assert_string_equal(v.daddr, BE2(fam));	/* to the backend */
		assert_int_equal(v.csum_ok, 1);
		assert_memory_equal(v.mac_dst, GWT_MAC_BE2, 6);
		/* quoted: backend:8080 -> gateway:natport, with a valid TCP
		 * checksum since the whole segment was quoted */
		{
			uint8_t inner[PKT_MAX];
			size_t ilen = r.out_len - v.l4_off - 8;

			memcpy(inner, r.out, 12);
			inner[12] = fam == 4 ? 0x08 : 0x86;
			inner[13] = fam == 4 ? 0x00 : 0xdd;
			memcpy(inner + 14, r.out + v.l4_off + 8, ilen);
			assert_int_equal(pkt_parse(inner, 14 + ilen, &qv), 0);
			assert_string_equal(qv.saddr, BE2(fam));
			assert_string_equal(qv.daddr, GWB(fam));
			assert_int_equal(qv.sport, 8080);
			assert_int_equal(qv.dport, natport);
			assert_int_equal(qv.csum_ok, 1);	/* quoted IP + TCP checksums */
		}
	}
}

static void test_icmp_errors_v4(void **state)
{
	icmp_errors(4);
}

static void test_icmp_errors_v6(void **state)
{
	icmp_errors(6);
}

/* Sends one TCP SYN of a new client flow (port cport) to vip:80 at XDP;
 * returns the backend slot the flow's conntrack entry names. */
static __u32 send_new_flow(const char *vip, __u16 cport)
{
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	struct gw_ct ct;
	size_t len = build(buf, 4, CLIENT(4), vip, IPPROTO_TCP, cport, 80, 64);

	assert_int_equal(gwt_run(skel, 0, topo.cside, buf, len, &r), 0);
	assert_int_equal(r.retval, fwd_retval(0, topo.bside, topo.cside));
	assert_int_equal(ct_get(4, CLIENT(4), vip, IPPROTO_TCP, cport, 80, &ct), 0);
	return ct.backend_id;
}

/* A backend slot that is given to a new backend starts its per-CPU packet
 * counters from 0 (service.c zeroes them before writing the backend). */
static void test_backend_slot_reuse_resets_counters(void **state)
{
	const char *vip_a = "198.18.7.1", *vip_b = "198.18.7.2";
	const char *be_a[1] = { BE2(4) }, *be_b[1] = { BE3(4) };
	int fd_be = bpf_map__fd(skel->maps.gw_backends);
	int fd_stats = bpf_map__fd(skel->maps.gw_backend_stats);
	__u32 n = bpf_map__max_entries(skel->maps.gw_backends), slot, i;
	struct gw_backend *saved, busy;
	struct gw_endpoint vip;

	saved = calloc(n, sizeof(*saved));
	assert_non_null(saved);
	svc_set(4, vip_a, 80, IPPROTO_TCP, be_a, NULL, 1);
	slot = send_new_flow(vip_a, 41000);
	assert_int_equal(send_new_flow(vip_a, 41001), slot);
	assert_int_equal(gwt_counter(fd_stats, slot), 2);
	ip_of(vip_a, &vip.ip);
	vip.port = 80;
	assert_int_equal(gw_service_del(&maps, &vip, IPPROTO_TCP), 0);

	/* Every other slot taken (VALID, of no service), so the next backend
	 * can only get the freed one. */
	memset(&busy, 0, sizeof(busy));
	busy.flags = GW_BE_F_VALID;
	busy.svc_id = 0xfffffff0u;
	for (i = 0; i < n; i++) {
		assert_int_equal(bpf_map_lookup_elem(fd_be, &i, &saved[i]), 0);
		if (i && i != slot)
			assert_int_equal(bpf_map_update_elem(fd_be, &i, &busy, BPF_ANY), 0);
	}
	assert_false(saved[slot].flags & GW_BE_F_VALID);	/* freed */
	svc_set(4, vip_b, 80, IPPROTO_TCP, be_b, NULL, 1);
	for (i = 1; i < n; i++)
		if (i != slot)
			assert_int_equal(bpf_map_update_elem(fd_be, &i, &saved[i], BPF_ANY), 0);
	free(saved);

	/* the new backend took the slot, and its counters start at 0 */
	assert_int_equal(gwt_counter(fd_stats, slot), 0);
	assert_int_equal(send_new_flow(vip_b, 41002), slot);
	assert_int_equal(gwt_counter(fd_stats, slot), 1);
	ip_of(vip_b, &vip.ip);
	assert_int_equal(gw_service_del(&maps, &vip, IPPROTO_TCP), 0);
}

/* Sends a packet of the established flow cport -> vip:80 on hook and
 * returns the destination MAC it left with. */
static void send_mac(int fam, int hook, const char *vip, __u16 cport, uint8_t *mac)
{
	uint8_t buf[PKT_MAX];
	struct pkt_view v;
	struct gwt_run r;
	size_t len = build(buf, fam, CLIENT(fam), vip, IPPROTO_TCP, cport, 80, 64);

	assert_int_equal(gwt_run(skel, hook, topo.cside, buf, len, &r), 0);
	assert_int_equal(r.retval, fwd_retval(hook, topo.bside, topo.cside));
	assert_int_equal(pkt_parse(r.out, r.out_len, &v), 0);
	memcpy(mac, v.mac_dst, 6);
}

/* Returns CLOCK_MONOTONIC (the clock of bpf_ktime_get_ns) in ns. */
static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Sets BE2's neighbour entry to the MAC 02:00:00:00:0b:LAST. Returns 0. */
static int be2_lladdr(int fam, int last)
{
	assert_int_equal(gwt_sh("ip %s neigh replace %s lladdr 02:00:00:00:0b:%02x nud permanent "
				"dev gwtb0", fam == 4 ? "-4" : "-6", BE2(fam), last), 0);
	return 0;
}

/* The flow cport -> vip:80 on hook is looked up and cached, BE2's MAC
 * changes, and the next packet must leave with the cached (old) MAC. The
 * check means something only when both packets fall within the cache's
 * life (GW_FIB_CACHE_NS, 1 s): on a machine so slow that `ip neigh` took
 * longer (a loaded emulated guest), the MAC is put back and the step tried
 * again, five times at most; each try starts with a fib_gen bump, so that
 * its first packet is looked up afresh. Returns 0. */
static int fib_cache_stands(int fam, int hook, const char *vip, __u16 cport)
{
	int fd_cfg = bpf_map__fd(skel->maps.gw_config);
	uint8_t mac[6];
	__u64 t0;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		assert_int_equal(gw_fib_gen_bump(fd_cfg), 0);	/* looked up afresh below */
		t0 = mono_ns();
		send_mac(fam, hook, vip, cport, mac);		/* looked up, cached */
		assert_memory_equal(mac, GWT_MAC_BE2, 6);
		be2_lladdr(fam, 0x42);
		send_mac(fam, hook, vip, cport, mac);		/* the cached answer */
		if (mono_ns() - t0 < 800000000ull) {
			assert_memory_equal(mac, GWT_MAC_BE2, 6);
			return 0;
		}
		print_message("fib cache: ip neigh took over 0.8 s: step tried again\n");
		be2_lladdr(fam, 0x02);
	}
	fail_msg("fib cache: five tries took over 0.8 s each");
	return 0;
}

/* The per-CPU FIB cache toward a backend (bpf/lib/fwd.h): a neighbour's
 * new MAC is used after gwd bumps fib_gen, and after GW_FIB_CACHE_NS
 * (1 s) without a bump; before, the cached answer stands. Pinned to one
 * CPU: the cache is per CPU. */
static void fib_cache(int fam)
{
	static const uint8_t mac_new[6] = { 0x02, 0, 0, 0, 0x0b, 0x42 };
	const char *vip = FAM(fam, "198.18.7.4", "fd00:7::4");
	const char *be[1] = { BE2(fam) };
	int fd_cfg = bpf_map__fd(skel->maps.gw_config);
	struct gw_endpoint ep;
	cpu_set_t set, old;
	uint8_t mac[6];
	int hook, i;

	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
	svc_set(fam, vip, 80, IPPROTO_TCP, be, NULL, 1);
	for (hook = 0; hook < 2; hook++) {
		__u16 cport = (__u16)(41100 + hook);

		fib_cache_stands(fam, hook, vip, cport);
		assert_int_equal(gw_fib_gen_bump(fd_cfg), 0);	/* what gwd does */
		send_mac(fam, hook, vip, cport, mac);
		assert_memory_equal(mac, mac_new, 6);

		/* back, without a bump: the cache lives at most a second */
		be2_lladdr(fam, 0x02);
		usleep(1100 * 1000);
		send_mac(fam, hook, vip, cport, mac);
		/* the program's clock may trail a loaded (emulated) guest's
		 * wall time: give it up to 4 s more, in 100 ms steps */
		for (i = 0; i < 40 && memcmp(mac, GWT_MAC_BE2, 6); i++) {
			usleep(100 * 1000);
			send_mac(fam, hook, vip, cport, mac);
		}
		assert_memory_equal(mac, GWT_MAC_BE2, 6);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	ip_of(vip, &ep.ip);
	ep.port = 80;
	assert_int_equal(gw_service_del(&maps, &ep, IPPROTO_TCP), 0);
}

static void test_fib_cache_v4(void **state)
{
	fib_cache(4);
}

static void test_fib_cache_v6(void **state)
{
	fib_cache(6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_tcp_v4),
		cmocka_unit_test(test_nat_tcp_v6),
		cmocka_unit_test(test_nat_udp_v4),
		cmocka_unit_test(test_nat_udp_v6),
		cmocka_unit_test(test_udp_zero_csum_stays_zero),
		cmocka_unit_test(test_drain_and_swap_v4),
		cmocka_unit_test(test_drain_and_swap_v6),
		cmocka_unit_test(test_backend_add_keeps_flows_v4),
		cmocka_unit_test(test_backend_add_keeps_flows_v6),
		cmocka_unit_test(test_verdicts_v4),
		cmocka_unit_test(test_verdicts_v6),
		cmocka_unit_test(test_tc_handoff_v4),
		cmocka_unit_test(test_tc_handoff_v6),
		cmocka_unit_test(test_icmp_errors_v4),
		cmocka_unit_test(test_icmp_errors_v6),
		cmocka_unit_test(test_svc_bloom),
		cmocka_unit_test(test_health_marks_v4),
		cmocka_unit_test(test_health_marks_v6),
		cmocka_unit_test(test_backend_slot_reuse_resets_counters),
		cmocka_unit_test(test_fib_cache_v4),
		cmocka_unit_test(test_fib_cache_v6),
	};

	return cmocka_run_group_tests_name("bpf_lb_nat", tests, setup, teardown);
}
