// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The cluster section (parse and checks), the values nodes leave in Redis,
 * the lease batch, and the fallback with Redis unreachable: no wait past
 * the timeout, counted, the node's own bucket decides. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "cluster/cluster.h"
#include "cluster/wire.h"
#include "config/config.h"
#include "config/redisaddr.h"
#include "core/log.h"
#include "l7/l7limit.h"

#define HEAD "version: 1\n"

/* Loads text; on failure errs holds the messages. Returns gw_cfg_load_string's. */
static int load(const char *text, struct gw_cfg *cfg, struct gw_cfg_errors *errs)
{
	return gw_cfg_load_string("t.yaml", text, strlen(text), cfg, errs);
}

/* 1 when one of errs' messages contains s. */
static int has(const struct gw_cfg_errors *errs, const char *s)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], s))
			return 1;
	return 0;
}

static void test_config(void **state)
{
	struct gw_cfg_errors errs;
	struct gw_cfg cfg;

	assert_int_equal(load(HEAD "cluster:\n  node: gw-a\n  redis: { address: \"[fd00::5]:6379\","
			      " timeout: 20ms, password_file: /etc/gw/p }\n"
			      "filter: { ban: { auth_failures: 3/m, duration: 1m, scope: cluster } }\n",
			      &cfg, &errs), 0);
	assert_string_equal(cfg.cluster.node, "gw-a");
	assert_int_equal(cfg.cluster.redis.timeout_ns, 20000000ull);
	assert_int_equal(cfg.filter.ban.scope, GW_SCOPE_CLUSTER);
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);

	/* a string stands for the address; defaults */
	assert_int_equal(load(HEAD "cluster: { redis: unix:/run/redis.sock }\n", &cfg, &errs), 0);
	assert_string_equal(cfg.cluster.redis.address, "unix:/run/redis.sock");
	assert_null(cfg.cluster.node);
	assert_int_equal(cfg.cluster.redis.timeout_ns, 0);
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { node: 'a b', redis: { address: 'unix:rel', tls: true,"
			      " password_file: rel } }\n", &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "node must be"));
	assert_true(has(&errs, "absolute path"));
	assert_true(has(&errs, "password_file must be"));
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { redis: { address: '1.2.3.4:6379', ca: /x } }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "need tls"));
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { redis: { address: '1.2.3.4:0' } }\n", &cfg, &errs),
			 -EINVAL);
	assert_true(has(&errs, "port"));
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { redis: { address: 'unix:/r', tls: true } }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "tls needs a TCP address"));
	gw_cfg_errors_free(&errs);

	/* scope: cluster without the section, each with its position */
	assert_int_equal(load(HEAD "filter: { ban: { auth_failures: 3/m, duration: 1m, "
			      "scope: cluster } }\nroutes:\n  - match: { path_exact: /a }\n"
			      "    respond: { status: 200 }\n    rate_limit: { rate: 1/s, burst: 1, "
			      "key: route, scope: cluster }\n", &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "t.yaml:2:"));
	assert_true(has(&errs, "rate_limit: scope cluster needs a cluster section"));
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { redis: { address: 1.2.3.4:6379 }, nope: 1 }\n",
			      &cfg, &errs), -EINVAL);
	gw_cfg_errors_free(&errs);
}

static void test_nat_source(void **state)
{
	struct gw_cfg_errors errs;
	struct gw_cfg cfg;

	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: [198.18.77.1,"
			      " 'fd00:77::1'] }\n", &cfg, &errs), 0);
	assert_int_equal(cfg.cluster.n_nat_source, 2);
	assert_int_equal(cfg.cluster.nat_source[0].family, 4);
	assert_int_equal(cfg.cluster.nat_source[1].family, 6);
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379 }\n", &cfg, &errs), 0);
	assert_int_equal(cfg.cluster.n_nat_source, 0);
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);

	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: [198.18.77.1,"
			      " 198.18.77.2] }\n", &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "nat_source: one IPv4 address at most"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: ['::1', '::2'"
			      "] }\n", &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "one IPv6 address at most"));
	assert_true(has(&errs, "::1 is no unicast address"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: [0.0.0.0] }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "0.0.0.0 is no unicast address"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: [224.0.0.1] }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "is no unicast address"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: ['ff02::1'] }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "is no unicast address"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: [gw.example] }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "not an IPv4 or IPv6 address"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load(HEAD "cluster: { redis: 1.2.3.4:6379, nat_source: 198.18.77.1 }\n",
			      &cfg, &errs), -EINVAL);
	assert_true(has(&errs, "expected a list"));
	gw_cfg_errors_free(&errs);
}

static void test_nat_wire(void **state)
{
	struct gw_nat_share v[2], back[3];
	char hex[3 * GW_CLUSTER_NAT_HEX + 1];
	size_t len;

	memset(v, 0, sizeof(v));
	v[0].family = 4;
	v[0].proto = 6;
	v[0].client[0] = htonl(0xc6130002);
	v[0].vip[0] = htonl(0xc6336446);
	v[0].backend[0] = htonl(0xc6120002);
	v[0].nat[0] = htonl(0xc6124d01);
	v[0].client_port = htons(46000);
	v[0].vip_port = htons(80);
	v[0].backend_port = htons(8080);
	v[0].nat_port = htons(3333);
	v[1] = v[0];
	v[1].family = 6;
	v[1].proto = 17;
	v[1].client[3] = htonl(2);
	len = gw_cluster_nat_encode(v, 2, hex);
	assert_int_equal(len, 2 * GW_CLUSTER_NAT_HEX);
	assert_int_equal(strlen(hex), len);
	assert_memory_equal(hex, "0406c6130002", 12);
	assert_int_equal(gw_cluster_nat_parse(hex, len, back, 3), 2);
	assert_memory_equal(back, v, sizeof(v));
	assert_int_equal(gw_cluster_nat_parse(hex, 0, back, 3), 0);
	/* too many, a bad length, bad hex, uppercase, a bad family or port */
	assert_int_equal(gw_cluster_nat_parse(hex, len, back, 1), -EINVAL);
	assert_int_equal(gw_cluster_nat_parse(hex, len - 1, back, 3), -EINVAL);
	hex[5] = 'g';
	assert_int_equal(gw_cluster_nat_parse(hex, len, back, 3), -EINVAL);
	hex[5] = 'C';
	assert_int_equal(gw_cluster_nat_parse(hex, len, back, 3), -EINVAL);
	v[0].family = 5;
	gw_cluster_nat_encode(v, 1, hex);
	assert_int_equal(gw_cluster_nat_parse(hex, GW_CLUSTER_NAT_HEX, back, 3), -EINVAL);
	v[0].family = 4;
	v[0].proto = 1;
	gw_cluster_nat_encode(v, 1, hex);
	assert_int_equal(gw_cluster_nat_parse(hex, GW_CLUSTER_NAT_HEX, back, 3), -EINVAL);
	v[0].proto = 6;
	v[0].nat_port = 0;
	gw_cluster_nat_encode(v, 1, hex);
	assert_int_equal(gw_cluster_nat_parse(hex, GW_CLUSTER_NAT_HEX, back, 3), -EINVAL);
	v[0].nat_port = htons(1);
	v[0].vip[2] = 1;	/* an IPv4 address with more bytes */
	gw_cluster_nat_encode(v, 1, hex);
	assert_int_equal(gw_cluster_nat_parse(hex, GW_CLUSTER_NAT_HEX, back, 3), -EINVAL);
}

static void test_redisaddr(void **state)
{
	struct gw_redis_addr a;
	char msg[128];

	assert_int_equal(gw_redis_addr_parse("127.0.0.1:6379", &a, msg, sizeof(msg)), 0);
	assert_false(a.is_unix);
	assert_int_equal(a.ep.port, 6379);
	assert_int_equal(gw_redis_addr_parse("unix:/run/r.sock", &a, msg, sizeof(msg)), 0);
	assert_true(a.is_unix);
	assert_string_equal(a.path, "/run/r.sock");
	assert_int_equal(gw_redis_addr_parse("redis.local:6379", &a, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(gw_redis_addr_parse("unix:", &a, msg, sizeof(msg)), -EINVAL);
}

static void test_wire(void **state)
{
	char node[GW_CLUSTER_NODE_MAX + 1], hash[GW_CLUSTER_HASH_HEX];
	struct gw_cidr c;
	unsigned int gen;
	__u64 ms;

#define M(s) s, strlen(s)
	assert_int_equal(gw_cluster_ban_member_parse(M("198.18.0.1/32 gw-a"), &c, node), 0);
	assert_int_equal(c.prefixlen, 32);
	assert_string_equal(node, "gw-a");
	assert_int_equal(gw_cluster_ban_member_parse(M("fd00:1::/64 b"), &c, node), 0);
	assert_int_equal(gw_cluster_ban_member_parse(M("198.18.0.1/24 a"), &c, node), -EINVAL);
	assert_int_equal(gw_cluster_ban_member_parse(M("198.18.0.1/32"), &c, node), -EINVAL);
	assert_int_equal(gw_cluster_ban_member_parse(M("198.18.0.1/32 "), &c, node), -EINVAL);
	assert_int_equal(gw_cluster_ban_member_parse(M("198.18.0.1/32 a b"), &c, node), -EINVAL);
	assert_int_equal(gw_cluster_ban_member_parse(M(" a"), &c, node), -EINVAL);
	assert_int_equal(gw_cluster_ban_member_parse("1.2.3.4/32\0 a", 13, &c, node), -EINVAL);

	assert_int_equal(gw_cluster_node_value_parse(M("1700000000000 7 0123456789abcdef"), &ms,
						     &gen, hash), 0);
	assert_int_equal(ms, 1700000000000ull);
	assert_int_equal(gen, 7);
	assert_string_equal(hash, "0123456789abcdef");
	assert_int_equal(gw_cluster_node_value_parse(M("1 2 -"), &ms, &gen, hash), 0);
	assert_string_equal(hash, "-");
	assert_int_equal(gw_cluster_node_value_parse(M("1 2 0123"), &ms, &gen, hash), -EINVAL);
	assert_int_equal(gw_cluster_node_value_parse(M("1 4294967296 -"), &ms, &gen, hash),
			 -EINVAL);
	assert_int_equal(gw_cluster_node_value_parse(M("x 2 -"), &ms, &gen, hash), -EINVAL);
	assert_int_equal(gw_cluster_node_value_parse(M("1 2"), &ms, &gen, hash), -EINVAL);
	assert_int_equal(gw_cluster_node_value_parse(M("99999999999999999999 2 -"), &ms, &gen,
						     hash), -EINVAL);
#undef M
}

static void test_batch(void **state)
{
	const __u64 ms = 1000000ull;

	assert_int_equal(gw_cluster_rl_batch(1, 60000 * ms), 1);	/* 1/m */
	assert_int_equal(gw_cluster_rl_batch(31, 1 * ms), 1);
	assert_int_equal(gw_cluster_rl_batch(32, 60000 * ms), 1);	/* 20 ms of 1/m: none */
	assert_int_equal(gw_cluster_rl_batch(2000, 1 * ms), 20);	/* 1000/s: 20 ms */
	assert_int_equal(gw_cluster_rl_batch(2000, 1000), 125);	/* 1M/s: burst/16 */
	assert_int_equal(gw_cluster_rl_batch(1000000000, 1), 65536);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Redis unreachable: every decision falls back at once, is counted, and the
 * status says so. */
static void test_fallback(void **state)
{
	struct gw_cluster_rl rl = { .key = "k", .interval_ns = 1000000, .tolerance_ns = 0,
				    .burst = 1 };
	struct gw_cluster_verdict v;
	struct gw_cluster_stats st;
	struct gw_cluster *c;
	struct gw_cfg_errors errs;
	struct gw_cfg cfg;
	json_t *j;
	__u64 t0;
	int i;

	assert_int_equal(load(HEAD "cluster: { node: t, redis: { address: "
			      "'unix:/nonexistent/gw-test.sock', timeout: 20ms } }\n", &cfg, &errs), 0);
	assert_int_equal(gw_cluster_new(&cfg, NULL, &c), 0);
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
	t0 = now_ns();
	for (i = 0; i < 100; i++)
		assert_int_equal(gw_cluster_rl_check(c, &rl, now_ns(), &v), -EAGAIN);
	assert_true(now_ns() - t0 < 1000000000ull);
	gw_cluster_stats(c, &st);
	assert_int_equal(st.redis_up, 0);
	assert_int_equal(st.fallback_total, 100);
	assert_int_equal(gw_cluster_publish_ban(c, &(struct gw_cidr){ 0 }, 1), 0);
	j = gw_cluster_status_json(c);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "node")), "t");
	assert_true(json_is_false(json_object_get(j, "redis_up")));
	json_decref(j);
	gw_cluster_free(c);
}

/* The L7 table asks the shared hook for scope: cluster rules only, and
 * decides itself when the hook says -EAGAIN. */
static int hook_calls, hook_ret;
static char hook_key[GW_L7LIMIT_SHARED_KEY_MAX];

static int hook(void *arg, const char *key, const struct gw_l7limit_rule *rule, __u64 now,
		struct gw_l7limit_verdict *v)
{
	hook_calls++;
	snprintf(hook_key, sizeof(hook_key), "%s", key);
	if (hook_ret)
		return hook_ret;
	v->allowed = 0;
	v->retry_after_ns = 1;
	return 0;
}

static void test_l7_hook(void **state)
{
	struct gw_cfg_route_rl rl = { .rate = { 1, 1000000000ull }, .burst = 1,
				      .key = GW_RL_KEY_IP, .scope = GW_SCOPE_CLUSTER };
	struct gw_l7limit_shared sh = { .check = hook };
	struct gw_l7limit_rule rule;
	struct gw_l7limit_verdict v;
	struct gw_l7limit *t = gw_l7limit_new(64);
	struct gw_ip ip;
	struct gw_l7limit_subject subj = { .ip = &ip };

	assert_non_null(t);
	assert_int_equal(gw_ip_parse("198.18.0.9", &ip), 0);
	gw_l7limit_set_shared(t, &sh);
	assert_int_equal(gw_l7limit_rule_init(&rule, &rl, 0x1234), 0);
	assert_int_equal(gw_l7limit_check(t, &rule, &subj, 1, &v), 0);
	assert_int_equal(hook_calls, 1);
	assert_false(v.allowed);
	assert_int_equal(v.limit, 1);
	assert_string_equal(hook_key, "0000000000001234:i:198.18.0.9");
	hook_ret = -EAGAIN;	/* Redis down: this node's bucket, burst 1 */
	assert_int_equal(gw_l7limit_check(t, &rule, &subj, 1, &v), 0);
	assert_true(v.allowed);
	assert_int_equal(gw_l7limit_check(t, &rule, &subj, 2, &v), 0);
	assert_false(v.allowed);
	rl.scope = GW_SCOPE_NODE;
	assert_int_equal(gw_l7limit_rule_init(&rule, &rl, 0x99), 0);
	hook_calls = 0;
	assert_int_equal(gw_l7limit_check(t, &rule, &subj, 1, &v), 0);
	assert_int_equal(hook_calls, 0);
	gw_l7limit_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_redisaddr),
		cmocka_unit_test(test_nat_source),
		cmocka_unit_test(test_nat_wire),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_l7_hook),
	};

	gw_log_set_level((enum gw_log_level)0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
