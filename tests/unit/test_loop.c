// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* gwd's event loop: timer order, stopping, descriptors, deferred calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <cmocka.h>

#include "core/loop.h"

#define N_TIMERS 2000

struct tt {
	struct gw_timer t;
	int fired;
	int stopped;
};

static struct gw_loop *cur;
static __u64 last_when;
static int order_ok, n_fired;

static void on_tt(struct gw_timer *t)
{
	struct tt *x = container_of(t, struct tt, t);

	x->fired++;
	n_fired++;
	if (t->when_ns < last_when)
		order_ok = 0;
	last_when = t->when_ns;
}

static void on_stop(struct gw_timer *t)
{
	gw_loop_stop(cur);
}

/* Timers fire once each, in deadline order; stopped ones never fire;
 * re-armed ones fire at their new deadline. */
static void test_timer_heap(void **state)
{
	static struct tt tts[N_TIMERS];
	struct gw_timer end = { 0 };
	int i, expect = 0;

	srand(7);
	assert_int_equal(gw_loop_new(&cur), 0);
	for (i = 0; i < N_TIMERS; i++)
		assert_int_equal(gw_timer_start(cur, &tts[i].t, (__u64)(rand() % 3000000), on_tt), 0);
	for (i = 0; i < N_TIMERS; i += 3) {
		gw_timer_stop(cur, &tts[i].t);
		tts[i].stopped = 1;
	}
	for (i = 1; i < N_TIMERS; i += 7) {	/* re-arm (some stopped): moves in the heap */
		gw_timer_start(cur, &tts[i].t, (__u64)(rand() % 3000000), on_tt);
		tts[i].stopped = 0;
	}
	gw_timer_stop(cur, &tts[0].t);		/* stopping twice is harmless */
	gw_timer_start(cur, &end, 10000000, on_stop);
	order_ok = 1;
	last_when = 0;
	n_fired = 0;
	assert_int_equal(gw_loop_run(cur), 0);
	for (i = 0; i < N_TIMERS; i++) {
		assert_int_equal(tts[i].fired, tts[i].stopped ? 0 : 1);
		expect += !tts[i].stopped;
		assert_false(gw_timer_armed(&tts[i].t));
	}
	assert_int_equal(n_fired, expect);
	assert_true(order_ok);
	gw_loop_free(cur);
}

struct pio {
	struct gw_io io;
	int fds[2];
	int calls;
	struct pio *other;
};

static int freed;

static void free_later(void *arg)
{
	freed++;
}

static void on_pipe(struct gw_io *io, __u32 events)
{
	struct pio *p = container_of(io, struct pio, io);
	char c;

	p->calls++;
	assert_true(events & EPOLLIN);
	assert_int_equal(read(p->fds[0], &c, 1), 1);
	/* Stop the other one although its event is in this batch. */
	gw_io_stop(cur, &p->other->io);
	assert_int_equal(gw_loop_defer(cur, free_later, p), 0);
	assert_int_equal(freed, 0);	/* deferred: not yet */
}

/* Two readable pipes in one batch: the first callback stops the other,
 * which then is not called; deferred calls run after the batch. */
static void test_io_stop_in_batch(void **state)
{
	struct pio a = { 0 }, b = { 0 };
	struct gw_timer end = { 0 };

	assert_int_equal(gw_loop_new(&cur), 0);
	assert_int_equal(pipe(a.fds), 0);
	assert_int_equal(pipe(b.fds), 0);
	a.other = &b;
	b.other = &a;
	assert_int_equal(gw_io_start(cur, &a.io, a.fds[0], EPOLLIN, on_pipe), 0);
	assert_int_equal(gw_io_start(cur, &b.io, b.fds[0], EPOLLIN, on_pipe), 0);
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	assert_int_equal(write(b.fds[1], "y", 1), 1);
	freed = 0;
	gw_timer_start(cur, &end, 20000000, on_stop);
	assert_int_equal(gw_loop_run(cur), 0);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(freed, 1);
	/* Modify and stop on a started io work; stopping twice is harmless. */
	gw_io_stop(cur, &a.io);
	gw_io_stop(cur, &b.io);
	gw_loop_free(cur);
	close(a.fds[0]);
	close(a.fds[1]);
	close(b.fds[0]);
	close(b.fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_heap),
		cmocka_unit_test(test_io_stop_in_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
