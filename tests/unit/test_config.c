// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* gateway.yaml: the contract's example parses; every class of error is
 * reported with its position, all of them in one run. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "config.h"

static struct gw_cfg cfg;
static struct gw_cfg_errors errs;

static int load(const char *text)
{
	return gw_cfg_load_string("t.yaml", text, strlen(text), &cfg, &errs);
}

/* 1 if some error message contains `needle`. */
static int has_error(const char *needle)
{
	size_t i;

	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msgs[i], needle))
			return 1;
	for (i = 0; i < errs.n; i++)
		print_message("  error: %s\n", errs.msgs[i]);
	return 0;
}

static int teardown(void **state)
{
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
	return 0;
}

static void test_contract_example(void **state)
{
	int err = gw_cfg_load("examples/gateway.example.yaml", &cfg, &errs);
	size_t i;

	for (i = 0; i < errs.n; i++)
		print_message("%s\n", errs.msgs[i]);
	assert_int_equal(err, 0);
	assert_string_equal(cfg.gateway.pin_root, "/sys/fs/bpf/gw");
	assert_int_equal(cfg.gateway.metrics.port, 9100);
	assert_int_equal(cfg.gateway.n_interfaces, 1);
	assert_string_equal(cfg.gateway.interfaces[0].name, "eth0");
	assert_true(cfg.gateway.keep_datapath_on_exit);
	assert_int_equal(cfg.filter.default_deny, 0);
	assert_int_equal(cfg.filter.n_deny, 2);
	assert_int_equal(cfg.filter.deny[1].prefixlen, 48);
	assert_int_equal(cfg.filter.allow[0].prefixlen, 32);
	assert_int_equal(cfg.filter.ban.auth_failures.count, 20);
	assert_int_equal(cfg.filter.ban.duration_ns, 600ull * 1000000000ull);
	assert_int_equal(cfg.rate_limits.packets_per_source.rate.count, 20000);
	assert_int_equal(cfg.rate_limits.packets_per_source.burst, 40000);
	assert_int_equal(cfg.rate_limits.syn_per_source.burst, 400);
	assert_int_equal(cfg.n_services, 1);
	assert_int_equal(cfg.services[0].protocol, IPPROTO_UDP);
	assert_int_equal(cfg.services[0].forwarding, GW_FWD_NAT);
	assert_int_equal(cfg.services[0].n_backends, 2);
	assert_int_equal(cfg.services[0].backends[0].weight, 1);	/* shorthand */
	assert_int_equal(cfg.services[0].backends[1].weight, 2);
	assert_int_equal(cfg.services[0].health.port, 53);
	assert_int_equal(cfg.tls.min_version, 0x0303);
	assert_int_equal(cfg.n_listeners, 2);
	assert_true(cfg.listeners[0].tls);
	assert_int_equal(cfg.listeners[0].address.port, 443);
	assert_int_equal(cfg.upstreams[0].n_servers, 2);
	assert_int_equal(cfg.upstreams[0].timeouts.response_ns, 15ull * 1000000000ull);
	assert_int_equal(cfg.upstreams[0].retries, 1);
	assert_int_equal(cfg.auth.jwt[0].n_algorithms, 3);
	assert_int_equal(cfg.auth.jwt[0].leeway_ns, 30ull * 1000000000ull);
	assert_string_equal(cfg.auth.jwt[0].forward_claims[0].key, "sub");
	assert_string_equal(cfg.auth.jwt[0].forward_claims[0].value, "X-User-Id");
	assert_string_equal(cfg.auth.api_keys[0].header, "X-API-Key");
	assert_int_equal(cfg.n_routes, 2);
	assert_string_equal(cfg.routes[0].match.path_prefix, "/users/");
	assert_int_equal(cfg.routes[0].match.n_methods, 2);
	assert_int_equal(cfg.routes[0].rate_limit.key, GW_RL_KEY_CONSUMER);
	assert_string_equal(cfg.routes[0].request_headers.add[0].value, "gw");
	assert_int_equal(cfg.routes[1].respond.status, 200);
	assert_string_equal(cfg.routes[1].respond.body, "ok\n");
}

static void test_unknown_key_has_position(void **state)
{
	assert_int_equal(load("version: 1\nfilter:\n  defualt: deny\n"), -EINVAL);
	assert_true(has_error("t.yaml:3:3: unknown key 'defualt' in filter"));
}

static void test_every_error_is_reported(void **state)
{
	const char *text = "version: 1\n"
			   "filter:\n"
			   "  deny: [10.0.0.1/8, 300.1.1.1]\n"
			   "services:\n"
			   "  - name: a\n"
			   "    vip: 198.18.0.10\n"
			   "    port: 70000\n"
			   "    protocol: sctp\n"
			   "    backends: [198.18.1.2]\n"
			   "  - name: a\n"
			   "    vip: 198.18.0.11\n"
			   "    port: 80\n"
			   "    backends: ['[fd00::2]:80']\n";

	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("t.yaml:3:10: deny: '10.0.0.1/8' is not"));
	assert_true(has_error("t.yaml:3:22: deny: '300.1.1.1'"));
	assert_true(has_error("t.yaml:7:11: port: 70000 is out of range 1-65535"));
	assert_true(has_error("t.yaml:8:15: protocol: 'sctp' is not one of: tcp, udp"));
	assert_true(has_error("t.yaml:9:16: address: '198.18.1.2' is not ADDRESS:PORT"));
	assert_true(has_error("t.yaml:10:5: service 'a' is defined twice"));
	assert_true(has_error("must be of the VIP's address family"));
	assert_true(errs.n >= 7);
}

static void test_references_and_types(void **state)
{
	const char *text = "version: 1\n"
			   "gateway: { keep_datapath_on_exit: yes }\n"
			   "upstreams:\n"
			   "  - { name: u, servers: [198.18.1.2:80], timeouts: { connect: 5 } }\n"
			   "auth:\n"
			   "  jwt:\n"
			   "    - { name: j, jwks: /x, algorithms: [none, RS256] }\n"
			   "routes:\n"
			   "  - match: { path_prefix: /a }\n"
			   "    upstream: nope\n"
			   "    auth: missing\n"
			   "  - match: { path_exact: b }\n"
			   "    upstream: u\n"
			   "    respond: { status: 200 }\n";

	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("t.yaml:2:35: keep_datapath_on_exit: expected true or false"));
	assert_true(has_error("connect: '5' is not a duration"));
	assert_true(has_error("algorithm 'none' is never accepted"));
	assert_true(has_error("t.yaml:9:5: route: upstream 'nope' is not defined"));
	assert_true(has_error("route: auth 'missing' is not defined"));
	assert_true(has_error("match: paths must start with '/'"));
	assert_true(has_error("t.yaml:12:5: route: give exactly one of upstream and respond"));
}

static void test_structure_errors(void **state)
{
	assert_int_equal(load("filter: {}\n"), -EINVAL);
	assert_true(has_error("t.yaml:1:1: configuration: 'version' is required"));
	teardown(state);
	assert_int_equal(load("version: 2\n"), -EINVAL);
	assert_true(has_error("version: 2 is out of range 1-1"));
	teardown(state);
	assert_int_equal(load("version: 1\nversion: 1\n"), -EINVAL);
	assert_true(has_error("t.yaml:2:1: configuration: 'version' is given twice"));
	teardown(state);
	assert_int_equal(load("version: 1\nservices: {}\n"), -EINVAL);
	assert_true(has_error("services: expected a list, found a mapping"));
	teardown(state);
	assert_int_equal(load("version: 1\nfilter: [\n"), -EINVAL);
	assert_true(has_error("t.yaml:3:1: YAML:"));
	teardown(state);
	assert_int_equal(load(""), -EINVAL);
	assert_true(has_error("the file is empty"));
}

static void test_missing_file(void **state)
{
	assert_int_equal(gw_cfg_load("/nonexistent/gw.yaml", &cfg, &errs), -ENOENT);
	assert_true(has_error("/nonexistent/gw.yaml:0:0: cannot open"));
}

static void test_durations_and_sizes(void **state)
{
	__u64 v;

	assert_int_equal(gw_duration_parse("1500ms", &v), 0);
	assert_int_equal(v, 1500000000ull);
	assert_int_equal(gw_duration_parse("2h", &v), 0);
	assert_int_equal(v, 7200000000000ull);
	assert_int_equal(gw_duration_parse("2", &v), -EINVAL);
	assert_int_equal(gw_duration_parse("-1s", &v), -EINVAL);
	assert_int_equal(gw_duration_parse("99999999999999999999s", &v), -ERANGE);
	assert_int_equal(gw_size_parse("16k", &v), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(gw_size_parse("1g", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(gw_size_parse("1kb", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_contract_example, teardown),
		cmocka_unit_test_teardown(test_unknown_key_has_position, teardown),
		cmocka_unit_test_teardown(test_every_error_is_reported, teardown),
		cmocka_unit_test_teardown(test_references_and_types, teardown),
		cmocka_unit_test_teardown(test_structure_errors, teardown),
		cmocka_unit_test_teardown(test_missing_file, teardown),
		cmocka_unit_test(test_durations_and_sizes),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
