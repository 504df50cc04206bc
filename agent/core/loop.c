// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The event loop of loop.h: epoll, a min-heap of timers keyed by deadline,
 * and a list of calls deferred to the end of the batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "core/loop.h"

#define GW_LOOP_BATCH 64

struct gw_deferred {
	gw_defer_cb fn;
	void *arg;
};

struct gw_loop {
	int ep;
	int stop;
	int dispatching;
	__u64 now;
	struct gw_timer **heap;
	size_t n_heap, cap_heap;
	struct gw_deferred *defer;
	size_t n_defer, cap_defer;
};

__u64 gw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int gw_loop_new(struct gw_loop **out)
{
	struct gw_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		int err = -errno;

		free(l);
		return err;
	}
	l->now = gw_now_ns();
	*out = l;
	return 0;
}

static void run_deferred(struct gw_loop *l)
{
	size_t i;

	/* A deferred call may defer more: those run in the same pass. */
	for (i = 0; i < l->n_defer; i++)
		l->defer[i].fn(l->defer[i].arg);
	l->n_defer = 0;
}

void gw_loop_free(struct gw_loop *l)
{
	if (!l)
		return;
	run_deferred(l);
	close(l->ep);
	free(l->heap);
	free(l->defer);
	free(l);
}

__u64 gw_loop_now(const struct gw_loop *l)
{
	return l->now;
}

__u64 gw_loop_update_now(struct gw_loop *l)
{
	l->now = gw_now_ns();
	return l->now;
}

void gw_loop_stop(struct gw_loop *l)
{
	l->stop = 1;
}

int gw_io_start(struct gw_loop *l, struct gw_io *io, int fd, __u32 events, gw_io_cb cb)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	io->active = 1;
	return 0;
}

int gw_io_modify(struct gw_loop *l, struct gw_io *io, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (io->events == events)
		return 0;
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, io->fd, &ev))
		return -errno;
	io->events = events;
	return 0;
}

void gw_io_stop(struct gw_loop *l, struct gw_io *io)
{
	if (!io->active)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, io->fd, NULL);
	io->active = 0;
}

/* --- timers: a binary min-heap; t->slot is its index + 1 --------------- */

static void heap_set(struct gw_loop *l, size_t i, struct gw_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct gw_loop *l, size_t i)
{
	struct gw_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (l->heap[parent]->when_ns <= t->when_ns)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void heap_down(struct gw_loop *l, size_t i)
{
	struct gw_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->n_heap)
			break;
		if (c + 1 < l->n_heap && l->heap[c + 1]->when_ns < l->heap[c]->when_ns)
			c++;
		if (t->when_ns <= l->heap[c]->when_ns)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void gw_timer_stop(struct gw_loop *l, struct gw_timer *t)
{
	size_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	if (--l->n_heap == i)
		return;
	heap_set(l, i, l->heap[l->n_heap]);
	heap_down(l, i);
	heap_up(l, i);
}

int gw_timer_start(struct gw_loop *l, struct gw_timer *t, __u64 after_ns, gw_timer_cb cb)
{
	gw_timer_stop(l, t);
	if (l->n_heap == l->cap_heap) {
		size_t cap = l->cap_heap ? 2 * l->cap_heap : 64;
		struct gw_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->cap_heap = cap;
	}
	t->when_ns = l->now + after_ns;
	t->cb = cb;
	l->n_heap++;
	heap_set(l, l->n_heap - 1, t);
	heap_up(l, l->n_heap - 1);
	return 0;
}

/* Milliseconds until the earliest timer, rounded up; -1 with none. */
static int next_timeout_ms(const struct gw_loop *l)
{
	__u64 when, d;

	if (l->n_defer)
		return 0;
	if (!l->n_heap)
		return -1;
	when = l->heap[0]->when_ns;
	if (when <= l->now)
		return 0;
	d = (when - l->now + 999999) / 1000000;
	return d > 60000 ? 60000 : (int)d;
}

static void fire_timers(struct gw_loop *l)
{
	while (l->n_heap && l->heap[0]->when_ns <= l->now) {
		struct gw_timer *t = l->heap[0];

		gw_timer_stop(l, t);
		t->cb(t);
	}
}

int gw_loop_defer(struct gw_loop *l, gw_defer_cb fn, void *arg)
{
	if (!l->dispatching) {
		fn(arg);
		return 0;
	}
	if (l->n_defer == l->cap_defer) {
		size_t cap = l->cap_defer ? 2 * l->cap_defer : 32;
		struct gw_deferred *d = realloc(l->defer, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		l->defer = d;
		l->cap_defer = cap;
	}
	l->defer[l->n_defer++] = (struct gw_deferred){ fn, arg };
	return 0;
}

int gw_loop_run(struct gw_loop *l)
{
	struct epoll_event evs[GW_LOOP_BATCH];
	int n, i;

	l->stop = 0;
	while (!l->stop) {
		n = epoll_wait(l->ep, evs, GW_LOOP_BATCH, next_timeout_ms(l));
		if (n < 0 && errno != EINTR)
			return -errno;
		l->now = gw_now_ns();
		l->dispatching = 1;
		for (i = 0; i < n; i++) {
			struct gw_io *io = evs[i].data.ptr;

			if (io->active)
				io->cb(io, evs[i].events);
		}
		fire_timers(l);
		run_deferred(l);
		l->dispatching = 0;
	}
	return 0;
}
