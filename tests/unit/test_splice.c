// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The splice's user-space parts that need no kernel: socket keys as the
 * BPF side builds them (v4, v6, a v4 client on a dual-stack listener,
 * ports in host order), and the --check refusals of routes[].splice.
 * (The maps and programs run on live sockets in tests/bpf/test_splice.) */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "config/config.h"
#include "proxy/splice.h"

static void sa4(struct sockaddr_in *s, const char *a, int port)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, a, &s->sin_addr);
}

static void sa6(struct sockaddr_in6 *s, const char *a, int port)
{
	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((unsigned short)port);
	inet_pton(AF_INET6, a, &s->sin6_addr);
}

static void test_key_v4(void **state)
{
	struct sockaddr_in l, r;
	struct gw_splice_key k;
	__u8 want[16] = { 198, 18, 1, 1 };

	sa4(&l, "198.18.1.1", 80);
	sa4(&r, "198.18.1.2", 40000);
	assert_int_equal(gw_splice_key_from((struct sockaddr *)&l, (struct sockaddr *)&r, &k), 0);
	assert_int_equal(k.family, GW_SPLICE_V4);
	assert_int_equal(k.lport, 80);
	assert_int_equal(k.rport, 40000);
	assert_int_equal(k.pad, 0);
	assert_memory_equal(k.laddr, want, 16);	/* the first 4 bytes, rest zero */
	want[3] = 2;
	assert_memory_equal(k.raddr, want, 16);
}

/* A v4 client on a [::] listener: the socket is AF_INET6, the key keeps
 * ::ffff:a.b.c.d as __sk_buff shows it. */
static void test_key_v4_mapped(void **state)
{
	struct sockaddr_in6 l, r;
	struct gw_splice_key k;

	sa6(&l, "::ffff:198.18.1.1", 80);
	sa6(&r, "::ffff:198.18.1.2", 1);
	assert_int_equal(gw_splice_key_from((struct sockaddr *)&l, (struct sockaddr *)&r, &k), 0);
	assert_int_equal(k.family, GW_SPLICE_V6);
	assert_memory_equal(k.laddr, &l.sin6_addr, 16);
	assert_memory_equal(k.raddr, &r.sin6_addr, 16);
	assert_int_equal(k.rport, 1);
}

static void test_key_v6_and_mixed(void **state)
{
	struct sockaddr_in6 l;
	struct sockaddr_in r;
	struct gw_splice_key k;

	sa6(&l, "fd00:1::1", 8080);
	assert_int_equal(gw_splice_key_from((struct sockaddr *)&l, (struct sockaddr *)&l, &k), 0);
	assert_int_equal(k.lport, 8080);
	sa4(&r, "198.18.1.2", 1);
	assert_int_equal(gw_splice_key_from((struct sockaddr *)&l, (struct sockaddr *)&r, &k),
			 -EAFNOSUPPORT);
}

static struct gw_cfg cfg;
static struct gw_cfg_errors errs;

/* Loads a config of one route with `extra` keys beside splice: true.
 * Returns gw_cfg_load_string()'s result. */
static int load_route(const char *extra, const char *match)
{
	char text[1024];

	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
		 "auth:\n"
		 "  api_keys: [ { name: k, header: X-Key, keys: /dev/null } ]\n"
		 "routes:\n"
		 "  - match: { path_prefix: /a/%s }\n"
		 "    upstream: u\n"
		 "    splice: true\n"
		 "%s",
		 match, extra);
	return gw_cfg_load_string("t.yaml", text, strlen(text), &cfg, &errs);
}

static int refused_for(const char *what)
{
	char want[128];
	size_t i;

	snprintf(want, sizeof(want), "t.yaml:8:5: route: splice: true cannot go with %s", what);
	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msgs[i], want))
			return 1;
	for (i = 0; i < errs.n; i++)
		print_message("  error: %s\n", errs.msgs[i]);
	return 0;
}

static void test_check_refusals(void **state)
{
	assert_int_equal(load_route("", ""), 0);
	assert_int_equal(cfg.routes[0].splice, 1);
	assert_int_equal(load_route("    auth: k\n", ""), -EINVAL);
	assert_true(refused_for("auth"));
	assert_int_equal(load_route("    auth: none\n", ""), 0);
	assert_int_equal(load_route("    rate_limit: { rate: 10/s, key: ip }\n", ""), -EINVAL);
	assert_true(refused_for("rate_limit"));
	assert_int_equal(load_route("    request_headers: { add: { X-A: b } }\n", ""), -EINVAL);
	assert_true(refused_for("request_headers"));
	assert_int_equal(load_route("    strip_prefix: true\n", ""), -EINVAL);
	assert_true(refused_for("strip_prefix"));
	assert_int_equal(load_route("", ", headers: { X-A: b }"), -EINVAL);
	assert_true(refused_for("match.headers"));
	assert_int_equal(load_route("", ", methods: [GET]"), -EINVAL);
	assert_true(refused_for("match.methods"));
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_v4),
		cmocka_unit_test(test_key_v4_mapped),
		cmocka_unit_test(test_key_v6_and_mixed),
		cmocka_unit_test(test_check_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
