// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath's parser and pipeline (bpf/gw.bpf.c) on mutated frames,
 * through bpf_prog_test_run on both hooks (XDP and TC), as tests/bpf does
 * (harness.c: a netns of its own, small maps, no pins). Needs root.
 *
 * The filter denies 10.0.0.0/8 but allows 10.1.0.0/16 in it and denies
 * 10.1.2.0/24 in that, denies 198.51.100.7/32, 2001:db8::/32 (allowing
 * 2001:db8:1::/48) and fd00:dead::/32; two nat services (198.18.0.100:80
 * and [fd00::100]:80, TCP) have backends. Invariant: a frame whose source
 * (Ethernet, up to two VLAN tags, the IPv4 or IPv6 header) falls in a deny
 * prefix, by longest match, is dropped: never passed, sent back or
 * redirected. Each hook's verdict reason is fed to libFuzzer as an extra
 * counter, so frames reaching a new verdict are kept.
 *
 * FUZZ_XDP_SEEDS=DIR fuzz_xdp: writes the seed frames into DIR and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "fuzz.h"
#include "bpf/harness.h"
#include "core/addr.h"
#include "core/log.h"
#include "dp/filter.h"
#include "dp/service.h"

/* libFuzzer reads these as coverage: one per hook and verdict reason. */
__attribute__((section("__libfuzzer_extra_counters"), used)) static uint8_t
	verdicts[2][GW_R_MAX + 1];

static const struct {
	const char *cidr;
	int action;
} rules[] = {
	{ "10.0.0.0/8", GW_RULE_DENY },	     { "10.1.0.0/16", GW_RULE_ALLOW },
	{ "10.1.2.0/24", GW_RULE_DENY },     { "198.51.100.7/32", GW_RULE_DENY },
	{ "2001:db8::/32", GW_RULE_DENY },   { "2001:db8:1::/48", GW_RULE_ALLOW },
	{ "fd00:dead::/32", GW_RULE_DENY },
};

static struct gw_bpf *skel;
static struct gw_cidr cidrs[sizeof(rules) / sizeof(rules[0])];

/* True when the first `bits` bits of a and b (len bytes each) are equal. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest)));
}

/* The rule the source src (4 or 16 bytes) falls in by longest match:
 * returns its action, or 0 when none. */
static int rule_of(const uint8_t *src, int v6)
{
	int best = -1, action = 0;
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct gw_cidr *c = &cidrs[i];
		int is6 = c->ip.family == GW_FAMILY_V6;

		if (is6 != v6 || (int)c->prefixlen <= best)
			continue;
		if (prefix_eq(src, (const uint8_t *)c->ip.addr, c->prefixlen)) {
			best = c->prefixlen;
			action = rules[i].action;
		}
	}
	return action;
}

/* Whether frame p[len] has an IP source in a denied prefix, read as the
 * datapath reads it. Returns 1 if so, else 0. */
static int source_denied(const uint8_t *p, size_t len)
{
	size_t off = 12;
	uint16_t proto;
	int tags = 0;

	if (len < 14)
		return 0;
	proto = (uint16_t)(p[off] << 8 | p[off + 1]);
	off += 2;
	while ((proto == 0x8100 || proto == 0x88a8) && tags < 2) {
		if (len < off + 4)
			return 0;
		proto = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		off += 4;
		tags++;
	}
	if (proto == 0x0800 && len >= off + 20)
		return rule_of(p + off + 12, 0) == GW_RULE_DENY;
	if (proto == 0x86dd && len >= off + 40)
		return rule_of(p + off + 8, 1) == GW_RULE_DENY;
	return 0;
}

/* Adds a TCP nat service vip:80 with backends be[n]:8080. Returns 0 or a
 * negative errno. */
static int add_service(const struct gw_lb_maps *lb, const char *vip, const char *const *be,
		       size_t n)
{
	struct gw_backend_spec b[4];
	struct gw_service_spec s;
	size_t i;

	memset(&s, 0, sizeof(s));
	memset(b, 0, sizeof(b));
	if (gw_ip_parse(vip, &s.vip.ip))
		return -EINVAL;
	s.vip.port = 80;
	s.proto = IPPROTO_TCP;
	s.fwd = GW_FWD_NAT;
	s.ring_size = 251;
	for (i = 0; i < n; i++) {
		if (gw_ip_parse(be[i], &b[i].ep.ip))
			return -EINVAL;
		b[i].ep.port = 8080;
		b[i].weight = 1;
	}
	s.backends = b;
	s.n_backends = n;
	return gw_service_set(lb, &s, NULL);
}

/* Writes the seed frames into dir. Returns 0 or -1. */
static int write_seeds(const char *dir)
{
	static const struct {
		const char *name;
		struct pkt_opts o;
	} seeds[] = {
		{ "v4_denied_syn", { .family = 4, .saddr = "10.9.9.9", .daddr = "198.18.0.100",
				     .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
				     .tcp_flags = 0x02 } },
		{ "v4_allowed_in_deny", { .family = 4, .saddr = "10.1.9.9", .daddr = "198.18.0.100",
					  .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
					  .tcp_flags = 0x02 } },
		{ "v4_denied_in_allow", { .family = 4, .saddr = "10.1.2.3", .daddr = "198.18.0.1",
					  .proto = IPPROTO_UDP, .sport = 53, .dport = 53 } },
		{ "v4_host_deny", { .family = 4, .saddr = "198.51.100.7", .daddr = "198.18.0.1",
				    .proto = IPPROTO_ICMP } },
		{ "v4_service", { .family = 4, .saddr = "192.0.2.1", .daddr = "198.18.0.100",
				  .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
				  .tcp_flags = 0x10, .payload_len = 20 } },
		{ "v4_reply", { .family = 4, .saddr = "198.18.0.2", .daddr = "198.18.0.1",
				.proto = IPPROTO_TCP, .sport = 8080, .dport = 40000,
				.tcp_flags = 0x12 } },
		{ "v4_frag", { .family = 4, .saddr = "10.9.9.9", .daddr = "198.18.0.100",
			       .proto = IPPROTO_UDP, .sport = 1, .dport = 80, .frag_off = 0x2000 } },
		{ "v4_later_frag", { .family = 4, .saddr = "10.1.2.9", .daddr = "198.18.0.100",
				     .proto = IPPROTO_UDP, .frag_off = 0x0010 } },
		{ "v4_opts", { .family = 4, .saddr = "10.9.9.9", .daddr = "198.18.0.100",
			       .proto = IPPROTO_TCP, .dport = 80, .ip_opts_len = 8 } },
		{ "v4_vlan", { .vlans = 1, .family = 4, .saddr = "10.9.9.9", .daddr = "198.18.0.1",
			       .proto = IPPROTO_TCP, .dport = 80, .tcp_flags = 0x02 } },
		{ "v4_qinq", { .vlans = 2, .vlan_tpid = { 0x88a8, 0x8100 }, .family = 4,
			       .saddr = "10.1.2.2", .daddr = "198.18.0.1", .proto = IPPROTO_UDP } },
		{ "v4_three_tags", { .vlans = 3, .family = 4, .saddr = "192.0.2.1",
				     .daddr = "198.18.0.1", .proto = IPPROTO_UDP } },
		{ "v4_ttl1", { .family = 4, .saddr = "192.0.2.1", .daddr = "198.18.0.100",
			       .proto = IPPROTO_TCP, .dport = 80, .ttl = 1 } },
		{ "v6_denied", { .family = 6, .saddr = "2001:db8::1", .daddr = "fd00::100",
				 .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
				 .tcp_flags = 0x02 } },
		{ "v6_allowed", { .family = 6, .saddr = "2001:db8:1::1", .daddr = "fd00::100",
				  .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
				  .tcp_flags = 0x02 } },
		{ "v6_dead", { .family = 6, .saddr = "fd00:dead::5", .daddr = "fd00::1",
			       .proto = IPPROTO_ICMPV6 } },
		{ "v6_service", { .family = 6, .saddr = "2001:db9::1", .daddr = "fd00::100",
				  .proto = IPPROTO_TCP, .sport = 4000, .dport = 80,
				  .tcp_flags = 0x10 } },
		{ "v6_udp_vlan", { .vlans = 1, .family = 6, .saddr = "2001:db8::7",
				   .daddr = "fd00::1", .proto = IPPROTO_UDP, .dport = 53 } },
		{ "arp", { .family = 0, .eth_proto = 0x0806 } },
	};
	static const uint8_t hbh[8] = { IPPROTO_FRAGMENT, 0, 1, 4, 0, 0, 0, 0 };
	static const uint8_t frag[8] = { IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 1 };
	uint8_t buf[PKT_MAX], ext[16];
	struct pkt_opts o;
	char path[4096];
	size_t i, len;
	FILE *f;

	mkdir(dir, 0755);
	for (i = 0; i <= sizeof(seeds) / sizeof(seeds[0]); i++) {
		if (i < sizeof(seeds) / sizeof(seeds[0])) {
			o = seeds[i].o;
			snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
		} else {
			/* IPv6 with a hop-by-hop header and a fragment header */
			memcpy(ext, hbh, 8);
			memcpy(ext + 8, frag, 8);
			o = (struct pkt_opts){ .family = 6, .saddr = "2001:db8::9",
					       .daddr = "fd00::100", .proto = IPPROTO_TCP,
					       .dport = 80, .ext = ext, .ext_len = 16,
					       .ext_nexthdr = 0 };
			snprintf(path, sizeof(path), "%s/v6_ext_frag", dir);
		}
		len = pkt_build(buf, sizeof(buf), &o);
		if (!len)
			return -1;
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len)
			return -1;
		fclose(f);
	}
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const be4[] = { "198.18.0.2", "198.18.0.3" };
	static const char *const be6[] = { "fd00:18::2" };
	struct gw_filter_maps fm;
	struct gw_lb_maps lb;
	const char *seeds = getenv("FUZZ_XDP_SEEDS");
	size_t i;

	if (seeds)
		exit(write_seeds(seeds) ? 1 : 0);
	gw_log_set_level((enum gw_log_level)0);
	if (geteuid() != 0) {
		fprintf(stderr, "fuzz_xdp: needs root (BPF and a netns)\n");
		exit(1);
	}
	skel = gwt_open();
	FZ_CHECK(skel != NULL);
	gwt_filter_maps(skel, &fm);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		FZ_CHECK(gw_cidr_parse(rules[i].cidr, &cidrs[i]) == 0);
		FZ_CHECK(gw_filter_add(&fm, &cidrs[i], rules[i].action, GW_ORIGIN_CONFIG) == 0);
	}
	gwt_lb_maps(skel, &lb);
	FZ_CHECK(add_service(&lb, "198.18.0.100", be4, 2) == 0);
	FZ_CHECK(add_service(&lb, "fd00::100", be6, 1) == 0);
	return 0;
}

/* The reason counted by the last run (the counters are reset before it):
 * returns it, or GW_R_MAX when none was. */
static unsigned int last_reason(void)
{
	unsigned int r;

	for (r = 0; r < GW_R_MAX; r++)
		if (gwt_reason_count(skel, r))
			return r;
	return GW_R_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gwt_run run;
	int denied, hook, rc;
	unsigned int reason;

	if (size < 14 || size > 1600)	/* test runs need an Ethernet header */
		return 0;
	denied = source_denied(data, size);
	for (hook = 0; hook < 2; hook++) {
		gwt_reset_counts(skel);
		rc = gwt_run(skel, hook, 0, data, size, &run);
		/* The kernel's skb test run refuses some frames whose IP
		 * header is cut short (-EINVAL); XDP takes every frame. */
		if (rc == -EINVAL && hook == 1)
			continue;
		if (rc)
			fprintf(stderr, "test run on %s: %s\n", gwt_hook_names[hook], strerror(-rc));
		FZ_CHECK(rc == 0);
		reason = last_reason();
		verdicts[hook][reason]++;
		if (denied && run.action != GW_ACT_DROP)
			fprintf(stderr, "denied source got %s: retval %d, reason %u\n",
				gwt_hook_names[hook], run.retval, reason);
		FZ_CHECK(!denied || run.action == GW_ACT_DROP);
	}
	return 0;
}
