/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's event loop: epoll for descriptors, a binary min-heap of timers, and
 * deferred calls that run after each batch of events.
 *
 * One loop per thread and no locks: the agent's main thread runs one (signals,
 * admin socket, metrics, netlink, health checks) and each L7 worker its own.
 * Callers embed `struct gw_io` and `struct gw_timer` in their own objects, so
 * the loop allocates nothing per connection.
 *
 * Lifetime rule: events for one batch are collected before any callback runs,
 * so a callback may stop another object's gw_io whose event is still pending
 * in the batch. A stopped gw_io is never called again, but its memory must
 * stay valid until the batch ends: free objects with gw_loop_defer(). An io
 * restarted within the batch may see one spurious wake-up (harmless with
 * non-blocking descriptors).
 */
#ifndef GW_LOOP_H
#define GW_LOOP_H

#include <stddef.h>
#include <linux/types.h>

/* The object that embeds `member` at `ptr` (for callbacks). */
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct gw_loop;
struct gw_io;
struct gw_timer;

typedef void (*gw_io_cb)(struct gw_io *io, __u32 events);
typedef void (*gw_timer_cb)(struct gw_timer *t);
typedef void (*gw_defer_cb)(void *arg);

struct gw_io {
	int fd;
	__u32 events;		/* EPOLLIN | EPOLLOUT | ... as registered */
	gw_io_cb cb;
	int active;		/* a stopped io's pending events are dropped */
};

struct gw_timer {
	__u64 when_ns;		/* CLOCK_MONOTONIC deadline */
	size_t slot;		/* index in the heap + 1; 0 when not armed */
	gw_timer_cb cb;
};

/* Returns 0 and a new loop in *out, or -errno. */
int gw_loop_new(struct gw_loop **out);
/* Frees the loop (running deferred calls first); descriptors are the callers'. */
void gw_loop_free(struct gw_loop *l);

/* Runs until gw_loop_stop(). Returns 0, or -errno when epoll_wait fails. */
int gw_loop_run(struct gw_loop *l);
void gw_loop_stop(struct gw_loop *l);

/* CLOCK_MONOTONIC now, in ns (a fresh read). */
__u64 gw_now_ns(void);

/* CLOCK_MONOTONIC in ns, read once per batch (cheap for timeouts). */
__u64 gw_loop_now(const struct gw_loop *l);
/* Reads the clock again and returns it. */
__u64 gw_loop_update_now(struct gw_loop *l);

/* Watches fd for `events` (EPOLLIN, EPOLLOUT, EPOLLET, ...); cb runs with the
 * events that fired. Returns 0 or -errno. */
int gw_io_start(struct gw_loop *l, struct gw_io *io, int fd, __u32 events, gw_io_cb cb);
/* Changes the watched events. Returns 0 or -errno. */
int gw_io_modify(struct gw_loop *l, struct gw_io *io, __u32 events);
/* Stops watching (the caller still owns and closes fd). Safe when not started. */
void gw_io_stop(struct gw_loop *l, struct gw_io *io);

/* Arms (or re-arms) t to fire once `after_ns` from the loop's now. Returns 0,
 * or -ENOMEM (t is then disarmed). */
int gw_timer_start(struct gw_loop *l, struct gw_timer *t, __u64 after_ns, gw_timer_cb cb);
/* Disarms t. Safe when not armed. */
void gw_timer_stop(struct gw_loop *l, struct gw_timer *t);
static inline int gw_timer_armed(const struct gw_timer *t)
{
	return t->slot != 0;
}

/* Calls fn(arg) after the current batch of events (or at once when the
 * loop is not dispatching). Returns 0 or -ENOMEM. */
int gw_loop_defer(struct gw_loop *l, gw_defer_cb fn, void *arg);

#endif /* GW_LOOP_H */
