// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * agent/l7/l7limit.c: exact bursts, refill with an injected clock, response
 * headers, keys (consumer, ip, route) and scopes kept apart, bounded memory
 * under many keys, and exactness with two threads on one key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "l7/l7limit.h"

#define SEC 1000000000ull
#define T0 (1000 * SEC)		/* an arbitrary monotonic start */

static struct gw_l7limit *tab;

static int setup(void **state)
{
	tab = gw_l7limit_new(1024);
	return tab ? 0 : -1;
}

static int teardown(void **state)
{
	gw_l7limit_free(tab);
	tab = NULL;
	return 0;
}

/* A rule of `count` per `period_ns`, burst `burst`, keyed by `key`. */
static struct gw_l7limit_rule rule(__u64 count, __u64 period_ns, __u32 burst, int key,
				   __u64 scope)
{
	struct gw_cfg_route_rl rl = { .rate = { count, period_ns }, .burst = burst, .key = key };
	struct gw_l7limit_rule r;

	assert_int_equal(gw_l7limit_rule_init(&r, &rl, scope), 0);
	return r;
}

static int check_ip(const struct gw_l7limit_rule *r, __u32 addr, __u64 now,
		    struct gw_l7limit_verdict *v)
{
	struct gw_ip ip = { .family = GW_FAMILY_V4, .addr = { addr } };
	struct gw_l7limit_subject s = { .ip = &ip };

	assert_int_equal(gw_l7limit_check(tab, r, &s, now, v), 0);
	return v->allowed;
}

static void test_burst_then_refused(void **state)
{
	struct gw_l7limit_rule r = rule(100, SEC, 200, GW_RL_KEY_IP, 1);
	struct gw_l7limit_verdict v;
	int i;

	for (i = 0; i < 200; i++) {
		assert_true(check_ip(&r, 1, T0, &v));	/* the burst passes */
		assert_int_equal(v.limit, 200);
		assert_int_equal(v.remaining, 199 - i);
	}
	assert_false(check_ip(&r, 1, T0, &v));		/* and no more */
	assert_int_equal(v.remaining, 0);
	assert_int_equal(v.retry_after_ns, 10000000);	/* one interval, 10 ms */
	assert_int_equal(v.reset_ns, 2 * SEC);		/* full again in 200 intervals */
	/* another address has its own bucket */
	assert_true(check_ip(&r, 2, T0, &v));
	assert_int_equal(v.remaining, 199);
}

static void test_refill_with_clock(void **state)
{
	struct gw_l7limit_rule r = rule(10, SEC, 5, GW_RL_KEY_IP, 1);
	struct gw_l7limit_verdict v;
	int i, n;

	for (i = 0; i < 5; i++)
		assert_true(check_ip(&r, 1, T0, &v));
	assert_false(check_ip(&r, 1, T0, &v));
	/* 99 ms later: not yet one token */
	assert_false(check_ip(&r, 1, T0 + 99 * 1000000, &v));
	assert_int_equal(v.retry_after_ns, 1000000);
	/* 100 ms: exactly one */
	assert_true(check_ip(&r, 1, T0 + 100 * 1000000, &v));
	assert_false(check_ip(&r, 1, T0 + 100 * 1000000, &v));
	/* 350 ms later still: 2 more (at 200 and 300 ms) */
	for (n = 0, i = 0; i < 10; i++)
		n += check_ip(&r, 1, T0 + 350 * 1000000, &v);
	assert_int_equal(n, 2);
	/* after a long idle time the bucket holds the burst, not more */
	for (n = 0, i = 0; i < 20; i++)
		n += check_ip(&r, 1, T0 + 3600 * SEC, &v);
	assert_int_equal(n, 5);
	/* 1/m: one interval is a minute */
	r = rule(1, 60 * SEC, 1, GW_RL_KEY_IP, 2);
	assert_true(check_ip(&r, 1, T0, &v));
	assert_false(check_ip(&r, 1, T0 + 59 * SEC, &v));
	assert_int_equal(v.retry_after_ns, SEC);
	assert_true(check_ip(&r, 1, T0 + 60 * SEC, &v));
}

static void test_headers(void **state)
{
	struct gw_l7limit_rule r = rule(2, SEC, 2, GW_RL_KEY_IP, 1);
	struct gw_l7limit_rule off = rule(0, SEC, 1, GW_RL_KEY_IP, 1);
	struct gw_l7limit_verdict v;
	char buf[GW_L7LIMIT_HEADERS_MAX], small[20];

	int n;

	assert_true(check_ip(&r, 1, T0, &v));
	n = gw_l7limit_headers(&v, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "RateLimit-Limit: 2\r\nRateLimit-Remaining: 1\r\n"
				 "RateLimit-Reset: 1\r\n");
	assert_true(check_ip(&r, 1, T0 + 1, &v));
	assert_false(check_ip(&r, 1, T0 + 2, &v));
	/* refused 2 ns in: retry in 0.5 s - 2 ns, rounded up to 1 s; full in ~1 s */
	n = gw_l7limit_headers(&v, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "RateLimit-Limit: 2\r\nRateLimit-Remaining: 0\r\n"
				 "RateLimit-Reset: 1\r\nRetry-After: 1\r\n");
	assert_int_equal(gw_l7limit_headers(&v, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "");
	/* a long wait shows in seconds, rounded up */
	r = rule(1, 60 * SEC, 1, GW_RL_KEY_IP, 3);
	assert_true(check_ip(&r, 1, T0, &v));
	assert_false(check_ip(&r, 1, T0 + SEC / 2, &v));
	gw_l7limit_headers(&v, buf, sizeof(buf));
	assert_string_equal(buf, "RateLimit-Limit: 1\r\nRateLimit-Remaining: 0\r\n"
				 "RateLimit-Reset: 60\r\nRetry-After: 60\r\n");
	/* no limit: always allowed, no headers */
	assert_true(check_ip(&off, 1, T0, &v));
	assert_int_equal(v.limit, 0);
	assert_int_equal(gw_l7limit_headers(&v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_keys_and_scopes(void **state)
{
	struct gw_l7limit_rule by_consumer = rule(1, SEC, 1, GW_RL_KEY_CONSUMER, 1);
	struct gw_l7limit_rule by_route = rule(1, SEC, 1, GW_RL_KEY_ROUTE, 2);
	struct gw_l7limit_rule by_route_b = rule(1, SEC, 1, GW_RL_KEY_ROUTE, 3);
	struct gw_ip ip1 = { .family = GW_FAMILY_V4, .addr = { 1 } };
	struct gw_ip ip2 = { .family = GW_FAMILY_V4, .addr = { 2 } };
	struct gw_ip ip6 = { .family = GW_FAMILY_V6, .addr = { 1 } };
	struct gw_l7limit_subject alice = { "alice", 5, &ip1 }, alice2 = { "alice", 5, &ip2 };
	struct gw_l7limit_subject bob = { "bob", 3, &ip1 }, anon = { NULL, 0, &ip1 };
	struct gw_l7limit_subject anon6 = { NULL, 0, &ip6 }, nothing = { 0 };
	struct gw_l7limit_verdict v;

	/* consumer: one bucket per consumer whatever the address */
	assert_int_equal(gw_l7limit_check(tab, &by_consumer, &alice, T0, &v), 0);
	assert_true(v.allowed);
	gw_l7limit_check(tab, &by_consumer, &alice2, T0, &v);
	assert_false(v.allowed);
	gw_l7limit_check(tab, &by_consumer, &bob, T0, &v);
	assert_true(v.allowed);
	/* no consumer: counted by address, apart from a consumer of that name */
	gw_l7limit_check(tab, &by_consumer, &anon, T0, &v);
	assert_true(v.allowed);
	gw_l7limit_check(tab, &by_consumer, &anon, T0, &v);
	assert_false(v.allowed);
	gw_l7limit_check(tab, &by_consumer, &anon6, T0, &v);	/* v6 ::1 != v4 0.0.0.1 */
	assert_true(v.allowed);
	/* route: everybody shares one bucket per route */
	gw_l7limit_check(tab, &by_route, &alice, T0, &v);
	assert_true(v.allowed);
	gw_l7limit_check(tab, &by_route, &bob, T0, &v);
	assert_false(v.allowed);
	gw_l7limit_check(tab, &by_route_b, &bob, T0, &v);	/* another route */
	assert_true(v.allowed);
	/* an ip rule without an address is a caller bug */
	by_consumer.key = GW_RL_KEY_IP;
	assert_int_equal(gw_l7limit_check(tab, &by_consumer, &nothing, T0, &v), -EINVAL);
}

static void test_bounded_under_many_keys(void **state)
{
	struct gw_l7limit_rule r = rule(1, 3600 * SEC, 3, GW_RL_KEY_IP, 1);
	struct gw_l7limit_verdict v;
	struct gw_l7limit_stats st;
	__u32 i;
	int j;

	gw_l7limit_free(tab);
	tab = gw_l7limit_new(64);
	assert_non_null(tab);
	gw_l7limit_stats(tab, &st);
	assert_int_equal(st.capacity, 64);
	/* a victim spends its burst */
	for (j = 0; j < 3; j++)
		assert_true(check_ip(&r, 7, T0, &v));
	assert_false(check_ip(&r, 7, T0, &v));
	/* 100000 other keys, while the victim keeps asking every 4th key */
	for (i = 0; i < 100000; i++) {
		assert_true(check_ip(&r, 1000 + i, T0 + i, &v));	/* new keys: full burst */
		if (i % 4 == 0)
			assert_false(check_ip(&r, 7, T0 + i, &v));	/* never reset */
	}
	gw_l7limit_stats(tab, &st);
	assert_int_equal(st.entries, 64);		/* memory stays at capacity */
	assert_true(st.evicted_live > 99000);		/* the flood recycled itself */
	/* refilled buckets go first: once all have refilled, new keys (at most
	 * a set's worth) take their places and evict nothing live */
	{
		__u64 later = T0 + 10 * 3600 * SEC, before = st.evicted_live;

		for (i = 0; i < 8; i++)
			assert_true(check_ip(&r, 500000 + i, later, &v));
		gw_l7limit_stats(tab, &st);
		assert_int_equal(st.evicted_live, before);
	}
}

/* Two threads on one key with a frozen clock. */
struct hammer {
	const struct gw_l7limit_rule *r;
	__u64 now;		/* 0: take times from `ticks` */
	int tries;
	int allowed;
};

static pthread_barrier_t start;
static atomic_ullong ticks;	/* advancing clock: T0 + ticks * TICK */
#define TICK 1000000ull		/* 1 ms */

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	struct gw_ip ip = { .family = GW_FAMILY_V4, .addr = { 9 } };
	struct gw_l7limit_subject s = { .ip = &ip };
	struct gw_l7limit_verdict v;
	int i;

	pthread_barrier_wait(&start);
	for (i = 0; i < h->tries; i++) {
		__u64 now = h->now ? h->now : T0 + atomic_fetch_add(&ticks, 1) * TICK;

		if (!gw_l7limit_check(tab, h->r, &s, now, &v) && v.allowed)
			h->allowed++;
	}
	return NULL;
}

/* Runs two hammer threads at `now`; returns the requests they got through. */
static int hammer2(const struct gw_l7limit_rule *r, __u64 now)
{
	struct hammer h[2] = { { r, now, 20000, 0 }, { r, now, 20000, 0 } };
	pthread_t t[2];
	int i;

	pthread_barrier_init(&start, NULL, 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	print_message("# threads admitted %d + %d\n", h[0].allowed, h[1].allowed);
	return h[0].allowed + h[1].allowed;
}

static void test_two_threads_exact(void **state)
{
	struct gw_l7limit_rule r = rule(10, SEC, 50, GW_RL_KEY_IP, 1);
	struct gw_l7limit_stats st;

	assert_int_equal(hammer2(&r, T0), 50);			/* the burst */
	assert_int_equal(hammer2(&r, T0 + SEC), 10);		/* one second of refill */
	assert_int_equal(hammer2(&r, T0 + SEC + SEC / 2), 5);	/* half a second */
	gw_l7limit_stats(tab, &st);
	assert_int_equal(st.allowed, 65);
	assert_int_equal(st.limited, 3 * 40000 - 65);
}

/* Both threads read one advancing clock (1 ms a request, 40 s in all) for
 * a fresh key: the burst plus one per 100 ms, never more. The threads'
 * readings interleave out of order; only the upper bound is strict. */
static void test_two_threads_advancing_clock(void **state)
{
	struct gw_l7limit_rule r = rule(10, SEC, 50, GW_RL_KEY_ROUTE, 77);
	int got, bound;

	atomic_store(&ticks, 0);
	got = hammer2(&r, 0);
	/* the last reading is T0 + (40000 - 1) ms: 399 more intervals */
	bound = 50 + (int)((40000 - 1) * TICK / (SEC / 10));
	print_message("# admitted %d, bound %d\n", got, bound);
	assert_true(got <= bound);
	assert_true(got >= bound - 1);
}

/* Prints the cost of one decision (not asserted): 10000 keys, one thread. */
static void test_bench(void **state)
{
	struct gw_l7limit_rule r = rule(100, SEC, 200, GW_RL_KEY_IP, 1);
	struct gw_l7limit_verdict v;
	struct timespec t0, t1;
	__u32 i, n = 1000000;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		check_ip(&r, i % 10000, T0 + i * 1000ull, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
	print_message("# bench: %.0f ns per decision (10000 keys in 1024 buckets)\n", ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refill_with_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_and_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_under_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_threads_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_threads_advancing_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bench, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
