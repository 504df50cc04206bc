// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Auth failures to bans: the threshold, refill, IPv6 /64 grouping, a
 * bounded table under many sources, exactness across threads. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <cmocka.h>

#include "auth/authban.h"

#define S 1000000000ull

static __u64 clk;

static __u64 fake_now(void *arg)
{
	return __atomic_load_n(&clk, __ATOMIC_RELAXED);
}

static struct gw_authban *mk(__u64 count, __u64 period_ns, __u32 capacity)
{
	struct gw_authban_opts o = {
		.failures = { count, period_ns },
		.duration_ns = 600 * S,
		.capacity = capacity,
		.now = fake_now,
	};
	struct gw_authban *b = NULL;

	assert_int_equal(gw_authban_new(&o, &b), 0);
	return b;
}

static struct gw_ip ip(const char *s)
{
	struct gw_ip a;

	assert_int_equal(gw_ip_parse(s, &a), 0);
	return a;
}

/* 20/m: twenty failures at once pass, the 21st bans, and counting starts
 * afresh after a ban. */
static void test_threshold(void **state)
{
	struct gw_authban *b = mk(20, 60 * S, 1024);
	struct gw_ip a = ip("198.18.0.5");
	int i;

	clk = 1000 * S;
	for (i = 0; i < 20; i++)
		assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_fail(b, &a), 1);
	assert_int_equal(gw_authban_count(b), 1);
	for (i = 0; i < 20; i++)
		assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_fail(b, &a), 1);
	assert_int_equal(gw_authban_count(b), 2);
	gw_authban_free(b);
}

/* Failures spread at the rate never ban; a token comes back every 3 s. */
static void test_refill(void **state)
{
	struct gw_authban *b = mk(20, 60 * S, 1024);
	struct gw_ip a = ip("198.18.0.6");
	int i;

	clk = 5000 * S;
	for (i = 0; i < 20; i++)
		assert_int_equal(gw_authban_fail(b, &a), 0);
	clk += 3 * S;		/* one token back */
	assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_fail(b, &a), 1);
	/* at exactly the rate for a long time: never banned */
	for (i = 0; i < 1000; i++) {
		clk += 3 * S;
		assert_int_equal(gw_authban_fail(b, &a), 0);
	}
	assert_int_equal(gw_authban_count(b), 1);
	gw_authban_free(b);
}

/* IPv6 sources count per /64; another /64 is another source. */
static void test_v6_prefix(void **state)
{
	struct gw_authban *b = mk(5, 60 * S, 1024);
	struct gw_ip other = ip("fd00:2::1");
	struct gw_cidr c;
	char buf[64];
	int i;

	clk = 9000 * S;
	for (i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "fd00:1::%x", i + 1);
		struct gw_ip a = ip(buf);

		assert_int_equal(gw_authban_fail(b, &a), 0);
	}
	assert_int_equal(gw_authban_fail(b, &other), 0);
	struct gw_ip last = ip("fd00:1::ffff:1");

	assert_int_equal(gw_authban_fail(b, &last), 1);
	gw_authban_prefix(&last, &c);
	assert_int_equal(c.prefixlen, 64);
	assert_string_equal(gw_cidr_str(&c, buf, sizeof(buf)), "fd00:1::/64");
	gw_authban_prefix(&(struct gw_ip){ .family = GW_FAMILY_V4, .addr = { 0x01020304 } }, &c);
	assert_int_equal(c.prefixlen, 32);
	gw_authban_free(b);
}

/* A flood of one-failure sources through a 64-entry table: the table never
 * grows, and a source that owes more than them keeps its count. */
static void test_bounded(void **state)
{
	struct gw_authban *b = mk(20, 60 * S, 64);
	struct gw_ip a = ip("198.18.1.1");
	char buf[64];
	int i;

	clk = 20000 * S;
	for (i = 0; i < 15; i++)
		assert_int_equal(gw_authban_fail(b, &a), 0);
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "198.19.%d.%d", (i >> 8) & 255, i & 255);
		struct gw_ip x = ip(buf);

		assert_int_equal(gw_authban_fail(b, &x), 0);
	}
	for (i = 0; i < 5; i++)
		assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_fail(b, &a), 1);
	gw_authban_free(b);
}

struct th {
	struct gw_authban *b;
	int bans;
};

static void *hammer(void *arg)
{
	struct th *t = arg;
	struct gw_ip a = { .family = GW_FAMILY_V4, .addr = { 0x0a0b0c0d } };
	int i;

	for (i = 0; i < 2500; i++)
		t->bans += gw_authban_fail(t->b, &a) == 1;
	return NULL;
}

/* Four threads, one source, frozen clock: a ban at every 101st failure,
 * no more and no fewer. */
static void test_threads_exact(void **state)
{
	struct th t[4];
	pthread_t id[4];
	struct gw_authban *b = mk(100, 3600 * S, 1024);
	int i, bans = 0;

	clk = 30000 * S;
	for (i = 0; i < 4; i++) {
		t[i] = (struct th){ b, 0 };
		assert_int_equal(pthread_create(&id[i], NULL, hammer, &t[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(id[i], NULL);
		bans += t[i].bans;
	}
	assert_int_equal(bans, 10000 / 101);
	assert_int_equal(gw_authban_count(b), 10000 / 101);
	gw_authban_free(b);
}

/* No rate: never a ban; a rate without a duration is refused; a reload
 * turns it on keeping nothing stale. */
static void test_off_and_configure(void **state)
{
	struct gw_authban_opts o = { .failures = { 5, 60 * S }, .duration_ns = 0 };
	struct gw_authban *b = mk(0, 0, 64), *bad = NULL;
	struct gw_rate r = { 2, 60 * S };
	struct gw_ip a = ip("198.18.2.2");
	int i;

	assert_int_equal(gw_authban_new(&o, &bad), -EINVAL);
	clk = 40000 * S;
	for (i = 0; i < 100; i++)
		assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_configure(b, &r, 0), -EINVAL);
	assert_int_equal(gw_authban_configure(b, &r, 60 * S), 0);
	assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_fail(b, &a), 0);
	assert_int_equal(gw_authban_fail(b, &a), 1);
	gw_authban_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_v6_prefix),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_threads_exact),
		cmocka_unit_test(test_off_and_configure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
