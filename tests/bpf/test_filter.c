// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The IP filter (bpf/lib/filter.h) with entries written by agent/dp/filter.c:
 * deny, allow inside deny, the tie rule, default deny, bans that expire,
 * IPv6 prefixes, and the user-space API's own rules (GC, foreach, errors).
 * Every packet runs on both hooks.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gw/names.h"
#include "dp/filter.h"
#include "harness.h"
#include "auth/authban.h"

static struct gw_bpf *skel;
static struct gw_filter_maps fm;

#define SEC_NS 1000000000ull

static struct gw_cidr cidr(const char *s)
{
	struct gw_cidr c;

	assert_int_equal(gw_cidr_parse(s, &c), 0);
	return c;
}

/* Sends one TCP packet from src on both hooks and checks it ends with
 * `want` (and only that reason counted). */
static void expect_src(const char *src, enum gw_reason want)
{
	int v6 = strchr(src, ':') != NULL;
	struct pkt_opts o = {
		.family = v6 ? 6 : 4,
		.saddr = src,
		.daddr = v6 ? "fd00::2" : "198.18.0.2",
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 443,
		.tcp_flags = 0x10,
	};
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len = pkt_build(buf, sizeof(buf), &o);
	int hook;

	assert_true(len > 0);
	for (hook = 0; hook < 2; hook++) {
		print_message("# %s on %s: want %s\n", src, gwt_hook_names[hook],
			      gw_reason_labels[want]);
		gwt_reset_counts(skel);
		assert_int_equal(gwt_run(skel, hook, 0, buf, len, &r), 0);
		/* the verdict and its reason */
		assert_int_equal(r.action, gw_reason_actions[want]);
		assert_int_equal(gwt_reason_count(skel, want), 1);
	}
}

/* Empties one trie. */
static void clear_map(int fd)
{
	union {
		struct gw_lpm_v4_key v4;
		struct gw_lpm_v6_key v6;
	} k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		assert_int_equal(bpf_map_delete_elem(fd, &k), 0);
}

/* Sets or clears a GW_CFG_F_* bit of gw_config. */
static void set_flag(__u32 bit, int on)
{
	struct gw_config cfg;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.flags = on ? cfg.flags | bit : cfg.flags & ~bit;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
}

static int has_flag(__u32 bit)
{
	struct gw_config cfg;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	return (cfg.flags & bit) != 0;
}

/* Writes a ban entry directly, with any deadline (past ones included). */
static void raw_ban(const char *s, __u64 expires_ns)
{
	struct gw_cidr c = cidr(s);
	struct gw_rule rule = {
		.action = GW_RULE_DENY,
		.prefixlen = c.prefixlen,
		.origin = GW_ORIGIN_BAN,
		.expires_ns = expires_ns,
	};

	/* Like any writer of a ban trie: the trie is looked up first. */
	set_flag(c.ip.family == GW_FAMILY_V4 ? GW_CFG_F_NO_BANS_V4 : GW_CFG_F_NO_BANS_V6, 0);
	if (c.ip.family == GW_FAMILY_V4) {
		struct gw_lpm_v4_key k = { .prefixlen = c.prefixlen, .addr = c.ip.addr[0] };

		assert_int_equal(bpf_map_update_elem(fm.ban_v4, &k, &rule, BPF_ANY), 0);
	} else {
		struct gw_lpm_v6_key k = { .prefixlen = c.prefixlen };

		memcpy(k.addr, c.ip.addr, sizeof(k.addr));
		assert_int_equal(bpf_map_update_elem(fm.ban_v6, &k, &rule, BPF_ANY), 0);
	}
}

static void add(const char *s, int action)
{
	struct gw_cidr c = cidr(s);

	assert_int_equal(gw_filter_add(&fm, &c, action, GW_ORIGIN_CONFIG), 0);
}

static void set_default_deny(int on)
{
	set_flag(GW_CFG_F_DEFAULT_DENY, on);
}

/* Rate limits on (every source the filter passes gets a limiter entry),
 * high enough that nothing is limited. */
static void set_rl(int on)
{
	struct gw_config cfg;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.rl_pkt.interval_ns = on ? 1 : 0;
	cfg.rl_pkt.tolerance_ns = on ? 1000 * SEC_NS : 0;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
}

static int reset(void **state)
{
	clear_map(fm.v4);
	clear_map(fm.v6);
	clear_map(fm.ban_v4);
	clear_map(fm.ban_v6);
	set_default_deny(0);
	set_flag(GW_CFG_F_NO_BANS_V4 | GW_CFG_F_NO_BANS_V6, 0);
	set_rl(0);
	clear_map(bpf_map__fd(skel->maps.gw_rl_v4));
	return 0;
}

static void test_deny_prefix(void **state)
{
	add("198.18.0.0/16", GW_RULE_DENY);
	expect_src("198.18.5.5", GW_R_DROP_FILTER);
	expect_src("198.19.0.1", GW_R_PASS_LOCAL);
}

static void test_allow_inside_deny(void **state)
{
	add("198.18.0.0/16", GW_RULE_DENY);
	add("198.18.1.0/24", GW_RULE_ALLOW);
	add("198.18.1.128/25", GW_RULE_DENY);
	expect_src("198.18.1.9", GW_R_PASS_LOCAL);
	expect_src("198.18.1.200", GW_R_DROP_FILTER);
	expect_src("198.18.2.9", GW_R_DROP_FILTER);
}

static void test_tie_allow_wins(void **state)
{
	struct gw_cidr a = cidr("198.18.3.0/24"), d = cidr("198.18.4.0/24");

	/* a deny over an allow of the same prefix is refused */
	assert_int_equal(gw_filter_add(&fm, &a, GW_RULE_ALLOW, GW_ORIGIN_CONFIG), 0);
	assert_int_equal(gw_filter_add(&fm, &a, GW_RULE_DENY, GW_ORIGIN_CLI), -EEXIST);
	expect_src("198.18.3.1", GW_R_PASS_LOCAL);
	/* an allow over a deny replaces it */
	assert_int_equal(gw_filter_add(&fm, &d, GW_RULE_DENY, GW_ORIGIN_CONFIG), 0);
	expect_src("198.18.4.1", GW_R_DROP_FILTER);
	assert_int_equal(gw_filter_add(&fm, &d, GW_RULE_ALLOW, GW_ORIGIN_CLI), 0);
	expect_src("198.18.4.1", GW_R_PASS_LOCAL);
	/* across the tries: a static allow beats a ban of the same length,
	 * a static deny of the same length reports `filter` */
	raw_ban("198.18.3.0/24", 0);
	expect_src("198.18.3.1", GW_R_PASS_LOCAL);
	add("198.18.5.0/24", GW_RULE_DENY);
	raw_ban("198.18.5.0/24", 0);
	expect_src("198.18.5.1", GW_R_DROP_FILTER);
}

static void test_default_deny(void **state)
{
	set_default_deny(1);
	add("198.18.6.0/24", GW_RULE_ALLOW);
	add("fd00:6::/32", GW_RULE_ALLOW);
	expect_src("198.18.7.1", GW_R_DROP_FILTER);
	expect_src("198.18.6.1", GW_R_PASS_LOCAL);
	expect_src("fd00:7::1", GW_R_DROP_FILTER);
	expect_src("fd00:6::1", GW_R_PASS_LOCAL);
	set_default_deny(0);
	expect_src("198.18.7.1", GW_R_PASS_LOCAL);
}

static void test_ban_expiry(void **state)
{
	__u64 now = gw_now_ns();
	struct gw_cidr c = cidr("198.18.8.4/30");

	raw_ban("198.18.8.1/32", now - SEC_NS);		/* expired: ignored */
	raw_ban("198.18.8.2/32", now + 60 * SEC_NS);	/* live */
	raw_ban("198.18.8.3/32", 0);			/* never expires */
	expect_src("198.18.8.1", GW_R_PASS_LOCAL);
	expect_src("198.18.8.2", GW_R_DROP_BAN);
	expect_src("198.18.8.3", GW_R_DROP_BAN);
	/* through the API: a TTL from now */
	assert_int_equal(gw_ban_add(&fm, &c, 60 * SEC_NS, GW_ORIGIN_CLI), 0);
	expect_src("198.18.8.5", GW_R_DROP_BAN);
	assert_int_equal(gw_ban_del(&fm, &c), 0);
	expect_src("198.18.8.5", GW_R_PASS_LOCAL);
	/* a ban that runs out while in place */
	raw_ban("198.18.8.64/26", gw_now_ns() + SEC_NS / 5);
	expect_src("198.18.8.65", GW_R_DROP_BAN);
	usleep(300 * 1000);
	expect_src("198.18.8.65", GW_R_PASS_LOCAL);
}

/* Where gwd sends the bans of auth failures: the filter's ban maps. */
static int ban_to_maps(void *arg, const struct gw_cidr *prefix, __u64 duration_ns)
{
	return gw_ban_add(arg, prefix, duration_ns, GW_ORIGIN_BAN);
}

/* Repeated auth failures (agent/auth/authban.c) end in a ban the datapath
 * enforces: the IPv4 source itself, an IPv6 source's whole /64. */
static void test_auth_failures_ban(void **state)
{
	struct gw_authban_opts o = {
		.failures = { 3, 60 * SEC_NS },
		.duration_ns = 60 * SEC_NS,
		.ban = ban_to_maps,
		.ban_arg = &fm,
	};
	struct gw_authban *b = NULL;
	struct gw_ip a4, a6;
	int i;

	assert_int_equal(gw_authban_new(&o, &b), 0);
	assert_int_equal(gw_ip_parse("198.18.14.9", &a4), 0);
	assert_int_equal(gw_ip_parse("fd00:14::9", &a6), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(gw_authban_fail(b, &a4), 0);
		assert_int_equal(gw_authban_fail(b, &a6), 0);
	}
	expect_src("198.18.14.9", GW_R_PASS_LOCAL);	/* at the threshold: not yet */
	assert_int_equal(gw_authban_fail(b, &a4), 1);
	assert_int_equal(gw_authban_fail(b, &a6), 1);
	expect_src("198.18.14.9", GW_R_DROP_BAN);
	expect_src("198.18.14.10", GW_R_PASS_LOCAL);	/* only that address */
	expect_src("fd00:14::1234", GW_R_DROP_BAN);	/* the whole /64 */
	expect_src("fd00:15::9", GW_R_PASS_LOCAL);
	gw_authban_free(b);
}

/* GW_CFG_F_NO_BANS_*: set for empty tries only, cleared before a ban is
 * written, and set again when the last ban goes; a ban is never skipped. */
static void test_no_bans_flag(void **state)
{
	struct gw_cidr c4 = cidr("198.18.12.0/24"), c6 = cidr("fd00:12::/64");

	assert_int_equal(gw_ban_sync(&fm), 0);
	assert_true(has_flag(GW_CFG_F_NO_BANS_V4));	/* empty tries: skipped */
	assert_true(has_flag(GW_CFG_F_NO_BANS_V6));
	expect_src("198.18.12.1", GW_R_PASS_LOCAL);
	assert_int_equal(gw_ban_add(&fm, &c4, 60 * SEC_NS, GW_ORIGIN_CLI), 0);
	assert_false(has_flag(GW_CFG_F_NO_BANS_V4));	/* cleared by the add */
	assert_true(has_flag(GW_CFG_F_NO_BANS_V6));	/* the other family keeps it */
	expect_src("198.18.12.1", GW_R_DROP_BAN);
	assert_int_equal(gw_ban_add(&fm, &c6, 60 * SEC_NS, GW_ORIGIN_CLI), 0);
	assert_false(has_flag(GW_CFG_F_NO_BANS_V6));
	expect_src("fd00:12::1", GW_R_DROP_BAN);
	assert_int_equal(gw_ban_sync(&fm), 0);		/* non-empty: stays clear */
	assert_false(has_flag(GW_CFG_F_NO_BANS_V4));
	expect_src("198.18.12.1", GW_R_DROP_BAN);
	assert_int_equal(gw_ban_del(&fm, &c4), 0);	/* last v4 ban: flag again */
	assert_true(has_flag(GW_CFG_F_NO_BANS_V4));
	assert_false(has_flag(GW_CFG_F_NO_BANS_V6));
	expect_src("198.18.12.1", GW_R_PASS_LOCAL);
	expect_src("fd00:12::1", GW_R_DROP_BAN);
	/* an expired ban collected by the GC empties the trie: flag again */
	raw_ban("198.18.12.0/24", gw_now_ns() - SEC_NS);
	assert_false(has_flag(GW_CFG_F_NO_BANS_V4));
	assert_int_equal(gw_ban_gc(&fm), 1);
	assert_true(has_flag(GW_CFG_F_NO_BANS_V4));
	/* a config writer that drops the flags costs time, not bans */
	set_flag(GW_CFG_F_NO_BANS_V4 | GW_CFG_F_NO_BANS_V6, 0);
	expect_src("fd00:12::1", GW_R_DROP_BAN);
	expect_src("198.18.12.1", GW_R_PASS_LOCAL);
}

/* The tag under which some CPU's verdict cache holds a verdict of `kind`
 * (enum gw_verdict_kind) for the source src (v4 or v6), or -1 without one. */
static long long cached_tag(const char *src, int kind)
{
	int n = libbpf_num_possible_cpus(), i, v6 = strchr(src, ':') != NULL;
	struct gw_verdict_ent v[n];
	__be32 a[4] = { 0 };
	__u32 slot;

	assert_true(n > 0);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, src, a), 1);
	slot = gw_verdict_slot_of(a);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_verdict_cache), &slot, v),
			 0);
	for (i = 0; i < n; i++)
		if (v[i].family == (v6 ? GW_FAMILY_V6 : GW_FAMILY_V4) && v[i].kind == kind &&
		    !memcmp(v[i].addr, a, sizeof(a)))
			return v[i].tag;
	return -1;
}

/* Pins the test to the CPU it runs on (the verdict cache is per CPU);
 * *old gets the affinity to restore. */
static void pin_cpu(cpu_set_t *old)
{
	cpu_set_t set;

	assert_int_equal(sched_getaffinity(0, sizeof(*old), old), 0);
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
}

static __u32 filter_gen(void)
{
	struct gw_config cfg;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	return cfg.filter_gen;
}

/* The verdict cache: a source that passed once skips the tries until a
 * change moves filter_gen on; the next packet after any change (deny,
 * ban, default) sees it; a ban's expiry is honoured; a wrap of filter_gen
 * is harmless; a writer that bypasses filter_gen is caught within a
 * second. */
static void test_verdict_cache(void **state)
{
	struct gw_cidr d = cidr("198.18.13.0/24"), b = cidr("198.18.13.5/32");
	cpu_set_t old;
	__u32 gen;

	pin_cpu(&old);

	/* limits off: the cache does not depend on them */
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);
	gen = filter_gen();
	assert_true(cached_tag("198.18.13.5", GW_VERDICT_PASS) == (long long)(gen * 2));
	set_rl(1);
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);	/* from the cache */
	/* IPv6, whose limiter entries are per /64: cached per source too */
	expect_src("fd00:13::5", GW_R_PASS_LOCAL);
	assert_true(cached_tag("fd00:13::5", GW_VERDICT_PASS) == (long long)(gen * 2));
	assert_true(cached_tag("fd00:13::6", GW_VERDICT_PASS) == -1);

	/* cached allow, then a deny added: the next packet is dropped */
	assert_int_equal(gw_filter_add(&fm, &d, GW_RULE_DENY, GW_ORIGIN_CLI), 0);
	assert_int_equal(filter_gen(), gen + 1);
	expect_src("198.18.13.5", GW_R_DROP_FILTER);
	assert_true(cached_tag("198.18.13.5", GW_VERDICT_DENY) == (long long)((gen + 1) * 2));
	expect_src("198.18.13.5", GW_R_DROP_FILTER);	/* from the cache */
	assert_int_equal(gw_filter_del(&fm, &d, GW_RULE_DENY), 0);
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);

	/* default deny flipped by a config writer: the tag holds the default */
	set_default_deny(1);
	expect_src("198.18.13.5", GW_R_DROP_FILTER);
	set_default_deny(0);
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);

	/* a ban over a cached source, honoured at once and until it ends */
	assert_int_equal(gw_ban_add(&fm, &b, SEC_NS / 4, GW_ORIGIN_BAN), 0);
	expect_src("198.18.13.5", GW_R_DROP_BAN);
	usleep(400 * 1000);
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);	/* expired: passes again */
	assert_int_equal(gw_ban_gc(&fm), 1);

	/* filter_gen wrapping to 0 still invalidates what was cached before */
	{
		struct gw_config cfg;

		assert_int_equal(gwt_config_get(skel, &cfg), 0);
		cfg.filter_gen = 0xffffffffu;
		assert_int_equal(gwt_config_set(skel, &cfg), 0);
	}
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);
	assert_true(cached_tag("198.18.13.5", GW_VERDICT_PASS) == (long long)0xfffffffeu);
	assert_int_equal(gw_filter_add(&fm, &d, GW_RULE_DENY, GW_ORIGIN_CLI), 0);
	assert_int_equal(filter_gen(), 0);			/* wrapped */
	expect_src("198.18.13.5", GW_R_DROP_FILTER);
	assert_int_equal(gw_filter_del(&fm, &d, GW_RULE_DENY), 0);
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);

	/* a trie written behind filter_gen's back: caught within a second */
	{
		struct gw_lpm_v4_key k = { .prefixlen = 24, .addr = d.ip.addr[0] };
		struct gw_rule rule = { .action = GW_RULE_DENY, .prefixlen = 24 };

		assert_int_equal(bpf_map_update_elem(fm.v4, &k, &rule, BPF_ANY), 0);
	}
	expect_src("198.18.13.5", GW_R_PASS_LOCAL);	/* still the cached verdict */
	usleep(1100 * 1000);
	expect_src("198.18.13.5", GW_R_DROP_FILTER);
	set_rl(0);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

/* Denials in the per-CPU verdict cache (bpf/lib/verdict.h): a source
 * the static filter denied is dropped without a walk until a change moves
 * filter_gen or the default on, or for at most a second after a change
 * behind filter_gen's back; ban drops are never cached. Limits off: the
 * cache does not depend on them. Pinned to one CPU: the cache is per CPU. */
static void test_deny_cache(void **state)
{
	struct gw_cidr d = cidr("198.18.14.0/24"), b = cidr("198.18.15.7/32");
	cpu_set_t old;

	pin_cpu(&old);

	assert_int_equal(gw_filter_add(&fm, &d, GW_RULE_DENY, GW_ORIGIN_CLI), 0);
	expect_src("198.18.14.5", GW_R_DROP_FILTER);	/* walked, cached */
	expect_src("198.18.14.5", GW_R_DROP_FILTER);	/* from the cache */
	/* removed through the API (filter_gen moves on): passes at once */
	assert_int_equal(gw_filter_del(&fm, &d, GW_RULE_DENY), 0);
	expect_src("198.18.14.5", GW_R_PASS_LOCAL);

	/* removed behind filter_gen's back: the cached denial stands for at
	 * most a second */
	assert_int_equal(gw_filter_add(&fm, &d, GW_RULE_DENY, GW_ORIGIN_CLI), 0);
	expect_src("198.18.14.5", GW_R_DROP_FILTER);
	{
		struct gw_lpm_v4_key k = { .prefixlen = 24, .addr = d.ip.addr[0] };

		assert_int_equal(bpf_map_delete_elem(fm.v4, &k), 0);
	}
	expect_src("198.18.14.5", GW_R_DROP_FILTER);	/* still cached */
	usleep(1100 * 1000);
	expect_src("198.18.14.5", GW_R_PASS_LOCAL);

	/* default deny: cached under the default, dropped when it flips */
	set_default_deny(1);
	expect_src("198.18.14.9", GW_R_DROP_FILTER);
	expect_src("198.18.14.9", GW_R_DROP_FILTER);
	set_default_deny(0);
	expect_src("198.18.14.9", GW_R_PASS_LOCAL);

	/* a ban's drop is not cached: it ends with the ban */
	assert_int_equal(gw_ban_add(&fm, &b, SEC_NS / 4, GW_ORIGIN_BAN), 0);
	expect_src("198.18.15.7", GW_R_DROP_BAN);
	expect_src("198.18.15.7", GW_R_DROP_BAN);
	usleep(400 * 1000);
	expect_src("198.18.15.7", GW_R_PASS_LOCAL);
	assert_int_equal(gw_ban_gc(&fm), 1);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

static void test_expired_ban_does_not_hide_live_one(void **state)
{
	__u64 now = gw_now_ns();

	/* the longest ban matched is expired (not collected yet): the live
	 * shorter one behind it still applies */
	raw_ban("198.18.9.0/24", now + 60 * SEC_NS);
	raw_ban("198.18.9.7/32", now - SEC_NS);
	raw_ban("198.18.9.0/28", now - SEC_NS);
	expect_src("198.18.9.7", GW_R_DROP_BAN);
	raw_ban("fd00:9::/48", now + 60 * SEC_NS);
	raw_ban("fd00:9::7/128", now - SEC_NS);
	expect_src("fd00:9::7", GW_R_DROP_BAN);
}

static void test_ban_against_static_lengths(void **state)
{
	add("198.18.10.0/24", GW_RULE_ALLOW);
	raw_ban("198.18.10.5/32", 0);		/* longer than the allow: wins */
	expect_src("198.18.10.5", GW_R_DROP_BAN);
	expect_src("198.18.10.6", GW_R_PASS_LOCAL);
	add("198.18.11.1/32", GW_RULE_ALLOW);
	raw_ban("198.18.11.0/24", 0);		/* shorter than the allow: loses */
	expect_src("198.18.11.1", GW_R_PASS_LOCAL);
	expect_src("198.18.11.2", GW_R_DROP_BAN);
	add("198.18.0.0/16", GW_RULE_DENY);
	raw_ban("198.18.12.0/24", 0);		/* a ban inside a static deny */
	expect_src("198.18.12.1", GW_R_DROP_BAN);
	expect_src("198.18.13.1", GW_R_DROP_FILTER);
}

static void test_v6_prefixes(void **state)
{
	add("fd00:bad::/32", GW_RULE_DENY);
	add("fd00:bad:1::/48", GW_RULE_ALLOW);
	add("fd00:bad:1:2::5/128", GW_RULE_DENY);
	raw_ban("fd00:bad:1:3::/64", 0);
	expect_src("fd00:bad::1", GW_R_DROP_FILTER);
	expect_src("fd00:bad:1::1", GW_R_PASS_LOCAL);
	expect_src("fd00:bad:1:2::5", GW_R_DROP_FILTER);
	expect_src("fd00:bad:1:3::9", GW_R_DROP_BAN);
	expect_src("fd01::1", GW_R_PASS_LOCAL);
	/* a v4 rule never matches v6 sources and the other way round */
	add("0.0.0.0/0", GW_RULE_DENY);
	expect_src("fd01::1", GW_R_PASS_LOCAL);
	expect_src("198.18.0.1", GW_R_DROP_FILTER);
}

struct walk {
	int n, bans, v6;
	int order_ok;
	int last_rank;
};

static int walk_fn(const struct gw_filter_entry *e, void *arg)
{
	struct walk *w = arg;
	int rank = (e->cidr.ip.family == GW_FAMILY_V6) * 2 + e->is_ban;

	if (rank < w->last_rank)
		w->order_ok = 0;
	w->last_rank = rank;
	w->n++;
	w->bans += e->is_ban;
	w->v6 += e->cidr.ip.family == GW_FAMILY_V6;
	/* every value names its key's prefix length */
	return e->rule.prefixlen == e->cidr.prefixlen ? 0 : -EPROTO;
}

static void test_gc_and_foreach(void **state)
{
	__u64 now = gw_now_ns();
	struct walk w = { .order_ok = 1 };
	struct gw_cidr c = cidr("198.18.20.0/24");

	add("198.18.21.0/24", GW_RULE_DENY);
	add("fd00:21::/32", GW_RULE_ALLOW);
	raw_ban("198.18.22.1/32", now - SEC_NS);
	raw_ban("198.18.22.2/32", now - 2 * SEC_NS);
	raw_ban("198.18.22.3/32", now + 60 * SEC_NS);
	raw_ban("fd00:22::1/128", now - SEC_NS);
	raw_ban("fd00:22::2/128", 0);
	assert_int_equal(gw_ban_add(&fm, &c, 60 * SEC_NS, GW_ORIGIN_BAN), 0);

	assert_int_equal(gw_filter_foreach(&fm, walk_fn, &w), 0);
	assert_int_equal(w.n, 8);	/* every entry */
	assert_int_equal(w.bans, 6);
	assert_int_equal(w.v6, 3);
	assert_true(w.order_ok);	/* v4 static, v4 bans, v6 static, v6 bans */

	/* GC removes the three expired bans, nothing else */
	assert_int_equal(gw_ban_gc(&fm), 3);
	assert_int_equal(gw_ban_gc(&fm), 0);
	memset(&w, 0, sizeof(w));
	w.order_ok = 1;
	assert_int_equal(gw_filter_foreach(&fm, walk_fn, &w), 0);
	assert_int_equal(w.n, 5);
	assert_int_equal(w.bans, 3);
	expect_src("198.18.22.3", GW_R_DROP_BAN);
	expect_src("198.18.20.77", GW_R_DROP_BAN);
}

static int stop_fn(const struct gw_filter_entry *e, void *arg)
{
	(*(int *)arg)++;
	return 42;
}

static void test_api_rules(void **state)
{
	struct gw_cidr c = cidr("198.18.30.0/24"), bad = c;
	struct gw_rule rule;
	struct gw_lpm_v4_key k = { .prefixlen = 24, .addr = c.ip.addr[0] };
	__u64 first;
	int calls = 0;

	bad.ip.addr[0] |= htonl(1);	/* host bits set */
	assert_int_equal(gw_filter_add(&fm, &bad, GW_RULE_DENY, GW_ORIGIN_CONFIG), -EINVAL);
	assert_int_equal(gw_ban_add(&fm, &bad, SEC_NS, GW_ORIGIN_CLI), -EINVAL);
	assert_int_equal(gw_filter_add(&fm, &c, 7, GW_ORIGIN_CONFIG), -EINVAL);
	assert_int_equal(gw_filter_add(&fm, &c, GW_RULE_DENY, 9), -EINVAL);
	assert_int_equal(gw_ban_add(&fm, &c, 0, GW_ORIGIN_CLI), -EINVAL);
	/* deleting what is not there, or with the other action */
	assert_int_equal(gw_filter_del(&fm, &c, GW_RULE_DENY), -ENOENT);
	add("198.18.30.0/24", GW_RULE_DENY);
	assert_int_equal(gw_filter_del(&fm, &c, GW_RULE_ALLOW), -ENOENT);
	/* an exact prefix is needed: the /16 does not delete the /24 */
	add("198.18.0.0/16", GW_RULE_DENY);
	{
		struct gw_cidr sub = cidr("198.18.30.0/25");

		assert_int_equal(gw_filter_del(&fm, &sub, GW_RULE_DENY), -ENOENT);
	}
	assert_int_equal(gw_filter_del(&fm, &c, GW_RULE_DENY), 0);
	assert_int_equal(gw_ban_del(&fm, &c), -ENOENT);

	/* a ban is extended, never shortened */
	assert_int_equal(gw_ban_add(&fm, &c, 600 * SEC_NS, GW_ORIGIN_BAN), 0);
	assert_int_equal(bpf_map_lookup_elem(fm.ban_v4, &k, &rule), 0);
	first = rule.expires_ns;
	assert_int_equal(gw_ban_add(&fm, &c, 10 * SEC_NS, GW_ORIGIN_BAN), 0);
	assert_int_equal(bpf_map_lookup_elem(fm.ban_v4, &k, &rule), 0);
	assert_int_equal(rule.expires_ns, first);
	assert_int_equal(gw_ban_add(&fm, &c, 1200 * SEC_NS, GW_ORIGIN_BAN), 0);
	assert_int_equal(bpf_map_lookup_elem(fm.ban_v4, &k, &rule), 0);
	assert_true(rule.expires_ns > first);
	assert_int_equal(rule.prefixlen, 24);

	/* foreach stops at the callback's first non-zero value */
	assert_int_equal(gw_filter_foreach(&fm, stop_fn, &calls), 42);
	assert_int_equal(calls, 1);
}

static int setup(void **state)
{
	skel = gwt_open();
	if (!skel)
		return -1;
	gwt_filter_maps(skel, &fm);
	return 0;
}

static int teardown(void **state)
{
	return gwt_close(&skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_deny_prefix, reset),
		cmocka_unit_test_setup(test_allow_inside_deny, reset),
		cmocka_unit_test_setup(test_tie_allow_wins, reset),
		cmocka_unit_test_setup(test_default_deny, reset),
		cmocka_unit_test_setup(test_ban_expiry, reset),
		cmocka_unit_test_setup(test_auth_failures_ban, reset),
		cmocka_unit_test_setup(test_no_bans_flag, reset),
		cmocka_unit_test_setup(test_verdict_cache, reset),
		cmocka_unit_test_setup(test_deny_cache, reset),
		cmocka_unit_test_setup(test_expired_ban_does_not_hide_live_one, reset),
		cmocka_unit_test_setup(test_ban_against_static_lengths, reset),
		cmocka_unit_test_setup(test_v6_prefixes, reset),
		cmocka_unit_test_setup(test_gc_and_foreach, reset),
		cmocka_unit_test_setup(test_api_rules, reset),
	};

	return cmocka_run_group_tests_name("bpf_filter", tests, setup, teardown);
}
