// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* gateway.yaml into the maps: what the file says lands, a second file
 * replaces only the difference (gwctl's entries too), bans stay. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "harness.h"
#include "dp/apply.h"
#include "dp/filter.h"

static struct gw_bpf *skel;
static struct gw_dp_maps maps;

static int setup(void **state)
{
	skel = gwt_open();
	if (!skel)
		return -1;
	memset(&maps, 0, sizeof(maps));
	maps.config = bpf_map__fd(skel->maps.gw_config);
	gwt_filter_maps(skel, &maps.filter);
	maps.rl_v4 = bpf_map__fd(skel->maps.gw_rl_v4);
	maps.rl_v6 = bpf_map__fd(skel->maps.gw_rl_v6);
	gwt_lb_maps(skel, &maps.lb);
	maps.ifaddr = bpf_map__fd(skel->maps.gw_ifaddr);
	maps.stats = bpf_map__fd(skel->maps.gw_stats);
	maps.svc_stats = bpf_map__fd(skel->maps.gw_svc_stats);
	maps.backend_stats = bpf_map__fd(skel->maps.gw_backend_stats);
	return 0;
}

static int teardown(void **state)
{
	return gwt_close(&skel);
}

static const char *file_a =
	"version: 1\n"
	"filter:\n"
	"  deny: [198.18.50.0/24, 198.18.52.0/24, 'fd00:bad::/48']\n"
	"  allow: [198.18.50.7, 198.18.52.0/24]\n"
	"rate_limits:\n"
	"  packets_per_source: { rate: 1000/s, burst: 10 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 198.18.100.1\n"
	"    port: 80\n"
	"    backends: [198.18.1.2:8080, { address: 198.18.1.3:8080, weight: 2 }]\n"
	"  - name: dns\n"
	"    vip: 198.18.100.2\n"
	"    port: 53\n"
	"    protocol: udp\n"
	"    forwarding: ipip\n"
	"    backends: [198.18.1.4:53]\n";

static const char *file_b =
	"version: 1\n"
	"filter:\n"
	"  default: deny\n"
	"  deny: [198.18.51.0/24, 'fd00:bad::/48']\n"
	"  allow: [198.18.50.7]\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 198.18.100.1\n"
	"    port: 80\n"
	"    backends: [198.18.1.2:8080, { address: 198.18.1.3:8080, weight: 2 }]\n"
	"  - name: api\n"
	"    vip: 198.18.100.3\n"
	"    port: 443\n"
	"    backends: [198.18.1.5:8443]\n";

static void apply_text(const char *text, struct gw_apply_stats *st)
{
	struct gw_cfg_errors errs;
	struct gw_cfg cfg;

	assert_int_equal(gw_cfg_load_string("t.yaml", text, strlen(text), &cfg, &errs), 0);
	assert_int_equal(gw_apply_datapath(&cfg, &maps, st), 0);
	gw_cfg_free(&cfg);
}

struct census {
	int statics, bans, deny_50, deny_51, allow_7, cli;
};

static int count_entry(const struct gw_filter_entry *e, void *arg)
{
	struct census *c = arg;
	char buf[GW_ADDR_STRLEN];

	gw_cidr_str(&e->cidr, buf, sizeof(buf));
	if (e->is_ban) {
		c->bans++;
		return 0;
	}
	c->statics++;
	c->deny_50 += !strcmp(buf, "198.18.50.0/24") && e->rule.action == GW_RULE_DENY;
	c->deny_51 += !strcmp(buf, "198.18.51.0/24") && e->rule.action == GW_RULE_DENY;
	c->allow_7 += !strcmp(buf, "198.18.50.7/32") && e->rule.action == GW_RULE_ALLOW;
	c->cli += e->rule.origin == GW_ORIGIN_CLI;
	return 0;
}

static int count_service(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Verdict of a TCP packet from `src` at XDP. */
static int verdict_from(const char *src)
{
	struct pkt_opts o = { .family = 4, .saddr = src, .daddr = "198.18.0.1",
			      .proto = IPPROTO_TCP, .sport = 4000, .dport = 22, .tcp_flags = 0x10 };
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len = pkt_build(buf, sizeof(buf), &o);

	assert_true(len > 0);
	assert_int_equal(gwt_run(skel, 0, 0, buf, len, &r), 0);
	return r.action;
}

static void test_first_file_lands(void **state)
{
	struct census c = { 0 };
	struct gw_apply_stats st;
	struct gw_config cfg;
	int n_svc = 0;

	apply_text(file_a, &st);
	/* 198.18.52.0/24 is both denied and allowed: allow wins the tie. */
	assert_int_equal(st.filter_added, 4);
	assert_int_equal(st.services_set, 2);
	assert_int_equal(gw_filter_foreach(&maps.filter, count_entry, &c), 0);
	assert_int_equal(c.statics, 4);
	assert_int_equal(c.deny_50, 1);
	assert_int_equal(c.allow_7, 1);
	assert_true(gw_dp_foreach_service(&maps, count_service, &n_svc) >= 0);
	assert_int_equal(n_svc, 2);
	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	assert_int_equal(cfg.rl_pkt.interval_ns, 1000000);	/* 1000/s */
	assert_int_equal(cfg.rl_pkt.tolerance_ns, 9000000);	/* burst 10 */
	assert_int_equal(cfg.rl_syn.interval_ns, 0);
	assert_false(cfg.flags & GW_CFG_F_DEFAULT_DENY);

	/* The datapath follows: denied prefix, allow inside it, tie. */
	assert_int_equal(verdict_from("198.18.50.9"), GW_ACT_DROP);
	assert_int_equal(verdict_from("198.18.50.7"), GW_ACT_PASS);
	assert_int_equal(verdict_from("198.18.52.1"), GW_ACT_PASS);
}

static void test_reload_applies_the_difference(void **state)
{
	struct gw_cidr cli, ban;
	struct census c = { 0 };
	struct gw_apply_stats st;
	struct gw_config before, after;
	int n_svc = 0;

	/* A live gwctl change and a ban, then the second file. */
	assert_int_equal(gw_cidr_parse("198.18.60.0/24", &cli), 0);
	assert_int_equal(gw_filter_add(&maps.filter, &cli, GW_RULE_DENY, GW_ORIGIN_CLI), 0);
	assert_int_equal(gw_cidr_parse("198.18.61.5", &ban), 0);
	assert_int_equal(gw_ban_add(&maps.filter, &ban, 600ull * 1000000000ull, GW_ORIGIN_BAN), 0);
	assert_int_equal(gwt_config_get(skel, &before), 0);

	apply_text(file_b, &st);
	/* Gone: deny .50/24, deny+allow .52/24 (one entry), gwctl's .60/24.
	 * Added: deny .51/24. Kept: fd00:bad::/48, allow .50.7. */
	assert_int_equal(st.filter_removed, 3);
	assert_int_equal(st.filter_added, 1);
	assert_int_equal(st.services_kept, 1);		/* web unchanged */
	assert_int_equal(st.services_set, 1);		/* api new */
	assert_int_equal(st.services_removed, 1);	/* dns gone */
	assert_int_equal(gw_filter_foreach(&maps.filter, count_entry, &c), 0);
	assert_int_equal(c.statics, 3);
	assert_int_equal(c.deny_50, 0);
	assert_int_equal(c.deny_51, 1);
	assert_int_equal(c.cli, 0);
	assert_int_equal(c.bans, 1);			/* runtime state stays */
	assert_true(gw_dp_foreach_service(&maps, count_service, &n_svc) >= 0);
	assert_int_equal(n_svc, 2);
	assert_int_equal(gwt_config_get(skel, &after), 0);
	assert_true(after.flags & GW_CFG_F_DEFAULT_DENY);
	assert_int_equal(after.rl_pkt.interval_ns, 0);	/* limit removed */
	assert_int_equal(after.generation, before.generation + 1);

	assert_int_equal(verdict_from("198.18.51.1"), GW_ACT_DROP);
	assert_int_equal(verdict_from("198.18.50.7"), GW_ACT_PASS);
	assert_int_equal(verdict_from("198.18.70.1"), GW_ACT_DROP);	/* default deny */
}

static void test_same_file_again_changes_nothing(void **state)
{
	struct gw_apply_stats st;

	apply_text(file_b, &st);
	assert_int_equal(st.filter_added, 0);
	assert_int_equal(st.filter_removed, 0);
	assert_int_equal(st.services_set, 0);
	assert_int_equal(st.services_removed, 0);
	assert_int_equal(st.services_kept, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_file_lands),
		cmocka_unit_test(test_reload_applies_the_difference),
		cmocka_unit_test(test_same_file_again_changes_nothing),
	};

	return cmocka_run_group_tests_name("apply", tests, setup, teardown);
}
