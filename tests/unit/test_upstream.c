// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* L7 upstream server sets: smooth weighted round robin, least connections,
 * maglev stickiness and failover, drained servers, passive ejection with
 * exponential backoff, panic when health checks have every server down,
 * state kept across rebuilds, bounded idle pools. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "l7/upstream.h"

#define SEC 1000000000ull

/* An upstream config of n servers 10.0.0.<i+1>:80 with these weights. */
static void make_cfg(struct gw_cfg_upstream *c, struct gw_cfg_backend *b, size_t n,
		     const __u32 *w, int balance)
{
	char a[32];
	size_t i;

	memset(c, 0, sizeof(*c));
	c->name = "u";
	c->balance = balance;
	c->servers = b;
	c->n_servers = n;
	c->retries = 1;
	for (i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "10.0.0.%zu:80", i + 1);
		assert_int_equal(gw_endpoint_parse(a, &b[i].address), 0);
		b[i].weight = w ? w[i] : 1;
	}
}

static void test_rr_smooth_weights(void **state)
{
	static const __u32 w[] = { 5, 1, 1 };
	struct gw_cfg_backend b[3];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	int seq[7], count[3] = { 0 }, i;

	make_cfg(&c, b, 3, w, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 2), 0);
	for (i = 0; i < 7; i++) {
		seq[i] = gw_upstream_pick(&up, 0, 0, -1, 1);
		assert_in_range(seq[i], 0, 2);
		count[seq[i]]++;
	}
	/* shares exact over one cycle, and smooth: the heavy server never
	 * takes all its turns in a row (nginx's sequence a a b a c a a) */
	assert_int_equal(count[0], 5);
	assert_int_equal(count[1], 1);
	assert_int_equal(count[2], 1);
	assert_int_equal(seq[0], 0);
	assert_int_not_equal(seq[2], 0);
	/* worker 1 has its own sequence, untouched by worker 0's picks */
	assert_int_equal(gw_upstream_pick(&up, 1, 0, -1, 1), 0);
	/* avoid: a retry never lands on the server that failed */
	for (i = 0; i < 20; i++)
		assert_int_not_equal(gw_upstream_pick(&up, 0, 0, 0, 1), 0);
	gw_upstream_free(&up);
}

static void test_drained_and_empty(void **state)
{
	static const __u32 w[] = { 0, 2 };
	struct gw_cfg_backend b[2];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	int i;

	make_cfg(&c, b, 2, w, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, 1), 1);
	/* only the drained server is left: nothing usable (503) */
	assert_int_equal(gw_upstream_pick(&up, 0, 0, 1, 1), -1);
	gw_upstream_free(&up);

	make_cfg(&c, b, 0, NULL, GW_BALANCE_MAGLEV);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	assert_int_equal(gw_upstream_pick(&up, 0, 42, -1, 1), -1);
	gw_upstream_free(&up);
}

static void test_least_conn(void **state)
{
	struct gw_cfg_backend b[3];
	struct gw_cfg_upstream c;
	struct gw_upstream up;

	make_cfg(&c, b, 3, NULL, GW_BALANCE_LEAST_CONN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	up.servers[0].st->active = 4;
	up.servers[1].st->active = 1;
	up.servers[2].st->active = 2;
	assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, 1), 1);
	up.servers[1].st->active = 9;
	assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, 1), 2);
	/* weight divides the load: 4 on weight 4 beats 2 on weight 1 */
	up.servers[0].weight = 4;
	assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, 1), 0);
	gw_upstream_free(&up);
}

static void test_maglev_sticky_and_failover(void **state)
{
	struct gw_cfg_backend b[4];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	int first[64], i, moved = 0, spread[4] = { 0 };

	make_cfg(&c, b, 4, NULL, GW_BALANCE_MAGLEV);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 2), 0);
	for (i = 0; i < 64; i++) {
		__u32 h = (__u32)i * 2654435761u;

		first[i] = gw_upstream_pick(&up, 0, h, -1, 1);
		assert_in_range(first[i], 0, 3);
		spread[first[i]]++;
		/* the same key on another worker: the same server */
		assert_int_equal(gw_upstream_pick(&up, 1, h, -1, 1), first[i]);
	}
	for (i = 0; i < 4; i++)
		assert_true(spread[i] > 0);
	/* server 2 ejected: its keys move, the others' stay */
	up.servers[2].st->ejected_until = 100 * SEC;
	for (i = 0; i < 64; i++) {
		int now = gw_upstream_pick(&up, 0, (__u32)i * 2654435761u, -1, 1);

		assert_int_not_equal(now, 2);
		if (first[i] != 2)
			assert_int_equal(now, first[i]);
		else
			moved++;
	}
	assert_int_equal(moved, spread[2]);
	gw_upstream_free(&up);
}

static void test_passive_ejection_backoff(void **state)
{
	struct gw_cfg_backend b[2];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	struct gw_srv_state *st;
	__u64 t = 10 * SEC;

	make_cfg(&c, b, 2, NULL, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	st = up.servers[0].st;
	assert_int_equal(up.eject_fails, GW_UP_EJECT_FAILS);
	/* failures below the threshold, then a success: still in */
	gw_upstream_report(&up, st, 0, t);
	gw_upstream_report(&up, st, 0, t);
	gw_upstream_report(&up, st, 1, t);
	gw_upstream_report(&up, st, 0, t);
	gw_upstream_report(&up, st, 0, t);
	assert_true(gw_upstream_usable(&up, 0, t));
	/* the third consecutive one ejects for 1 s */
	gw_upstream_report(&up, st, 0, t);
	assert_false(gw_upstream_usable(&up, 0, t));
	assert_false(gw_upstream_usable(&up, 0, t + SEC - 1));
	assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, t), 1);
	/* back on probation: one failure ejects again, for 2 s */
	t += SEC;
	assert_true(gw_upstream_usable(&up, 0, t));
	gw_upstream_report(&up, st, 0, t);
	assert_false(gw_upstream_usable(&up, 0, t + 2 * SEC - 1));
	assert_true(gw_upstream_usable(&up, 0, t + 2 * SEC));
	/* then 4 s; a success after that clears the history */
	t += 2 * SEC;
	gw_upstream_report(&up, st, 0, t);
	assert_false(gw_upstream_usable(&up, 0, t + 4 * SEC - 1));
	t += 4 * SEC;
	gw_upstream_report(&up, st, 1, t);
	assert_int_equal(st->ejections, 0);
	assert_int_equal(st->ejected_until, 0);
	gw_upstream_report(&up, st, 0, t);
	assert_true(gw_upstream_usable(&up, 0, t));
	/* the backoff stops growing at 2^GW_UP_EJECT_MAX_SHIFT s */
	st->ejections = 20;
	st->ejected_until = 0;
	st->fails = GW_UP_EJECT_FAILS - 1;
	gw_upstream_report(&up, st, 0, t);
	assert_int_equal(st->ejected_until, t + (SEC << GW_UP_EJECT_MAX_SHIFT));
	/* health checks take a server out whatever the passive state */
	up.servers[1].st->health_down = 1;
	assert_false(gw_upstream_usable(&up, 1, t));
	gw_upstream_free(&up);
}

/* A failed answer (timeout, reset, bad answer) never ejects the last
 * server in rotation: counted, but it stays; a refused connect does eject
 * it (503 at once). With another server in rotation both eject. */
static void test_last_server_stays(void **state)
{
	struct gw_cfg_backend b[2];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	struct gw_srv_state *s0, *s1;
	__u64 t = 10 * SEC;
	int i;

	make_cfg(&c, b, 1, NULL, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	s0 = up.servers[0].st;
	for (i = 0; i < 10; i++)
		gw_upstream_report(&up, s0, GW_UP_FAIL_ANSWER, t);
	assert_true(gw_upstream_usable(&up, 0, t));
	assert_int_equal(s0->failures, 10);
	assert_int_equal(s0->ejections, 0);
	assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, t), 0);
	for (i = 0; i < GW_UP_EJECT_FAILS; i++)
		gw_upstream_report(&up, s0, GW_UP_FAIL, t);
	assert_false(gw_upstream_usable(&up, 0, t));
	assert_int_equal(gw_upstream_pick(&up, 0, 0, -1, t), -1);
	gw_upstream_free(&up);

	make_cfg(&c, b, 2, NULL, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	s0 = up.servers[0].st;
	s1 = up.servers[1].st;
	for (i = 0; i < GW_UP_EJECT_FAILS; i++)
		gw_upstream_report(&up, s0, GW_UP_FAIL_ANSWER, t);
	assert_false(gw_upstream_usable(&up, 0, t));	/* server 1 is left */
	for (i = 0; i < GW_UP_EJECT_FAILS; i++)
		gw_upstream_report(&up, s1, GW_UP_FAIL_ANSWER, t);
	assert_true(gw_upstream_usable(&up, 1, t));	/* the last one stays */
	/* server 0 back on probation: its failure ejects it only while
	 * server 1 is in rotation */
	t += SEC;
	gw_upstream_report(&up, s0, GW_UP_FAIL_ANSWER, t);
	assert_false(gw_upstream_usable(&up, 0, t));
	gw_upstream_free(&up);
}

/* Panic: every server not drained is down by health checks, so all of
 * them take requests with their weights (each balance); passive ejection
 * still applies, and with every server ejected nothing is picked (503).
 * One server up again ends it; drained servers never count nor take. */
static void test_panic_all_down(void **state)
{
	static const __u32 w[] = { 3, 1, 0 };
	static const int balances[] = { GW_BALANCE_ROUND_ROBIN, GW_BALANCE_LEAST_CONN,
					GW_BALANCE_MAGLEV };
	struct gw_cfg_backend b[3];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	__u64 t = 10 * SEC;
	size_t k;
	int i, count[3];

	for (k = 0; k < 3; k++) {
		make_cfg(&c, b, 3, w, balances[k]);
		assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
		/* one of two servers down: no panic, the other takes all */
		up.servers[0].st->health_down = 1;
		assert_false(gw_upstream_panic(&up));
		for (i = 0; i < 8; i++)
			assert_int_equal(gw_upstream_pick(&up, 0, (__u32)i * 7919, -1, t), 1);
		/* both down (the drained third does not count): panic */
		up.servers[1].st->health_down = 1;
		assert_true(gw_upstream_panic(&up));
		assert_false(gw_upstream_usable(&up, 0, t));
		memset(count, 0, sizeof(count));
		for (i = 0; i < 400; i++) {
			int p = gw_upstream_pick(&up, 0, (__u32)i * 2654435761u, -1, t);

			assert_in_range(p, 0, 1);
			count[p]++;
		}
		if (balances[k] == GW_BALANCE_ROUND_ROBIN) {
			assert_int_equal(count[0], 300);	/* weights 3:1 hold */
			assert_int_equal(count[1], 100);
		} else {
			assert_true(count[0] > 0 && count[1] > 0);
		}
		/* a retry avoids the failed one even in panic */
		for (i = 0; i < 8; i++)
			assert_int_equal(gw_upstream_pick(&up, 0, (__u32)i, 0, t), 1);
		/* passively ejected servers stay out: only server 1 is left */
		up.servers[0].st->ejected_until = t + SEC;
		assert_true(gw_upstream_panic(&up));
		for (i = 0; i < 8; i++)
			assert_int_equal(gw_upstream_pick(&up, 0, (__u32)i * 7919, -1, t), 1);
		assert_false(gw_upstream_poolable(&up, up.servers[0].st, t));
		assert_true(gw_upstream_poolable(&up, up.servers[1].st, t));
		/* every one ejected: nothing, at once */
		up.servers[1].st->ejected_until = t + SEC;
		assert_int_equal(gw_upstream_pick(&up, 0, 1, -1, t), -1);
		/* the ejections end: panic picks again */
		assert_in_range(gw_upstream_pick(&up, 0, 1, -1, t + SEC), 0, 1);
		/* one server passes its checks again: panic ends */
		up.servers[0].st->health_down = 0;
		assert_false(gw_upstream_panic(&up));
		assert_false(gw_upstream_poolable(&up, up.servers[1].st, t + SEC));
		for (i = 0; i < 8; i++)
			assert_int_equal(gw_upstream_pick(&up, 0, (__u32)i * 7919, -1, t + SEC), 0);
		gw_upstream_free(&up);
	}
	/* only drained servers, all down: no panic (nothing to fail open to) */
	make_cfg(&c, b, 3, w, GW_BALANCE_ROUND_ROBIN);
	c.servers[0].weight = 0;
	c.servers[1].weight = 0;
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 1), 0);
	for (k = 0; k < 3; k++)
		up.servers[k].st->health_down = 1;
	assert_false(gw_upstream_panic(&up));
	assert_int_equal(gw_upstream_pick(&up, 0, 1, -1, t), -1);
	gw_upstream_free(&up);
}

static void test_state_kept_across_rebuild(void **state)
{
	struct gw_cfg_backend b[3];
	struct gw_cfg_upstream c;
	struct gw_upstream a, n;

	make_cfg(&c, b, 2, NULL, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&a, &c, NULL, 1), 0);
	a.servers[1].st->ejected_until = 50 * SEC;
	/* a rebuild with a third server: server 2's state is the same object */
	make_cfg(&c, b, 3, NULL, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&n, &c, &a, 1), 0);
	assert_ptr_equal(n.servers[0].st, a.servers[0].st);
	assert_ptr_equal(n.servers[1].st, a.servers[1].st);
	assert_ptr_not_equal(n.servers[2].st, a.servers[1].st);
	assert_int_equal(n.servers[1].st->refs, 2);
	gw_upstream_free(&a);
	assert_int_equal(n.servers[1].st->refs, 1);
	assert_false(gw_upstream_usable(&n, 1, SEC));
	gw_upstream_free(&n);
}

static void test_pool_bounded(void **state)
{
	struct gw_cfg_backend b[1];
	struct gw_cfg_upstream c;
	struct gw_upstream up;
	struct gw_upconn *conns;
	unsigned int i;

	make_cfg(&c, b, 1, NULL, GW_BALANCE_ROUND_ROBIN);
	assert_int_equal(gw_upstream_build(&up, &c, NULL, 2), 0);
	conns = calloc(GW_UP_POOL_MAX + 1, sizeof(*conns));
	assert_non_null(conns);
	for (i = 0; i <= GW_UP_POOL_MAX; i++) {
		conns[i].st = up.servers[0].st;
		conns[i].worker = 1;
		assert_int_equal(gw_pool_put(&conns[i]), i < GW_UP_POOL_MAX ? 0 : -ENOSPC);
	}
	/* worker 0's pool is another one */
	assert_null(gw_pool_take(up.servers[0].st, 0));
	/* unlink from the middle, then take the rest (last in, first out) */
	gw_pool_unlink(&conns[3]);
	assert_int_equal(up.servers[0].st->pool[1].n, GW_UP_POOL_MAX - 1);
	assert_ptr_equal(gw_pool_take(up.servers[0].st, 1), &conns[GW_UP_POOL_MAX - 1]);
	for (i = 1; i < GW_UP_POOL_MAX - 1; i++)
		assert_non_null(gw_pool_take(up.servers[0].st, 1));
	assert_null(gw_pool_take(up.servers[0].st, 1));
	assert_int_equal(up.servers[0].st->pool[1].n, 0);
	free(conns);
	gw_upstream_free(&up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rr_smooth_weights),
		cmocka_unit_test(test_drained_and_empty),
		cmocka_unit_test(test_least_conn),
		cmocka_unit_test(test_maglev_sticky_and_failover),
		cmocka_unit_test(test_passive_ejection_backoff),
		cmocka_unit_test(test_last_server_stays),
		cmocka_unit_test(test_panic_all_down),
		cmocka_unit_test(test_state_kept_across_rebuild),
		cmocka_unit_test(test_pool_bounded),
	};

	return cmocka_run_group_tests_name("upstream", tests, NULL, NULL);
}
