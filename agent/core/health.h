/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Active health checks on gwd's event loop (loop.h), for any kind of
 * backend: the L4 services' backends (dp/l4health.h) and the L7 upstreams'
 * servers (runtime/l7.c).
 * Nothing here knows what a target is used for; its owner gets a callback
 * when the target's state changes and decides what that means.
 *
 * A target is probed every `interval`; a probe is
 *  - tcp:  a non-blocking connect() that completes within `timeout`;
 *  - http: the same, then "GET path HTTP/1.1" with Host and
 *          Connection: close, and a status line within `timeout` (counted
 *          from the connect): 2xx and 3xx pass, anything else fails;
 *  - none: nothing; the target keeps the state it was created with.
 * With a transport (params.xport, e.g. TLS) its handshake follows the
 * connect: a tcp probe passes when it completes, an http one talks over it.
 * Probe connections are closed with a reset (SO_LINGER 0), so checks leave
 * no TIME_WAIT sockets behind on the gateway.
 *
 * States: UNKNOWN (never probed; owners treat it as up, so a new target does
 * not empty anything before it was looked at) is decided by the first
 * probe either way. After that a DOWN target needs `rise` passes in a row to
 * become UP and an UP one `fall` failures in a row to become DOWN.
 *
 * Probes that could not start for a local reason (no descriptors, no
 * memory, no free local port) are skipped: neither a pass nor a failure,
 * since the gateway's own trouble says nothing about the target.
 *
 * Exactly one probe per target is in flight at a time; probes start every
 * `interval` from a phase drawn at random within the first interval, so a
 * thousand targets with the same interval do not probe in lockstep. Each
 * target is a fixed-size object (request and response buffers included);
 * the checker holds at most `max_targets`.
 */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include <stddef.h>
#include <linux/types.h>
#include "core/addr.h"
#include "core/loop.h"

#define GW_HEALTH_PATH_MAX 256	/* longest http path */
#define GW_HEALTH_HOST_MAX 256	/* longest Host header value */
#define GW_HEALTH_REASON_MAX 96

/* 1 if p can be an http check's path: starts with '/', visible ASCII only
 * (it goes into the request line as it is), shorter than
 * GW_HEALTH_PATH_MAX. The config check and the checker both use it. */
int gw_health_path_ok(const char *p);

enum gw_health_kind {
	GW_HC_NONE = 0,
	GW_HC_TCP,
	GW_HC_HTTP,
};

enum gw_health_state {
	GW_HS_UNKNOWN = 0,
	GW_HS_UP,
	GW_HS_DOWN,
};

/*
 * A layer a probe's connection goes through once connected (TLS to L7
 * upstreams): the checker knows nothing of what it is. arg is the owner's
 * object, referenced with get/put while a target uses it. open() starts a
 * session on fd (NULL: no memory); handshake() returns 1 when done, 0 when
 * it waits (*want_write: for the socket to take bytes, else to have some)
 * or -errno with the reason in why; send()/recv() return bytes, -EAGAIN
 * when they wait, or another -errno (recv 0: the end); close() ends it.
 */
struct gw_health_xport {
	void *(*get)(void *arg);
	void (*put)(void *arg);
	void *(*open)(void *arg, const struct gw_endpoint *addr, int fd);
	int (*handshake)(void *sess, int *want_write, char *why, size_t whylen);
	long (*send)(void *sess, const char *buf, size_t len);
	long (*recv)(void *sess, char *buf, size_t len);
	void (*close)(void *sess);
};

struct gw_health_params {
	int kind;			/* GW_HC_* */
	struct gw_endpoint addr;	/* where probes connect */
	const char *path;		/* http: "/..." (copied) */
	const char *host;		/* http: Host value (copied); NULL: the address */
	__u64 interval_ns;		/* >= 1 ms */
	__u64 timeout_ns;		/* > 0; capped at interval */
	__u32 rise, fall;		/* >= 1 */
	const struct gw_health_xport *xport;	/* NULL: plain TCP */
	void *xport_arg;
};

struct gw_health;
struct gw_health_target;

/* Called when a target's state changes (after the probe that changed it).
 * The callback may delete this or any other target. */
typedef void (*gw_health_cb)(struct gw_health_target *t, enum gw_health_state old,
			     enum gw_health_state now, void *arg);

/* What a target has seen, for status pages. */
struct gw_health_info {
	enum gw_health_state state;
	__u32 successes, failures;	/* current run of passes or failures */
	__u64 probes, probes_failed, probes_skipped;
	__u64 last_change_ns;		/* CLOCK_MONOTONIC; 0: never changed */
	__u64 next_probe_ns;		/* CLOCK_MONOTONIC; 0: a probe is in flight (or none) */
	char reason[GW_HEALTH_REASON_MAX];	/* why the last probe failed; "" if it passed */
};

/* Returns 0 and a checker on loop l in *out, or -errno. */
int gw_health_new(struct gw_loop *l, size_t max_targets, struct gw_health **out);
/* Deletes every target and frees the checker. */
void gw_health_free(struct gw_health *h);

/* Adds a target in state `initial` (probed from a random point of the first
 * interval). Returns 0 and the target in *out, -EINVAL for bad params,
 * -ENOSPC beyond max_targets, or -ENOMEM. */
int gw_health_add(struct gw_health *h, const struct gw_health_params *p,
		  enum gw_health_state initial, gw_health_cb cb, void *arg,
		  struct gw_health_target **out);

/* Changes a target's parameters and keeps its state and counts; a probe in
 * flight is abandoned (not counted) and the next one follows the new
 * interval. Returns 0 or -EINVAL (the target is then unchanged). */
int gw_health_update(struct gw_health_target *t, const struct gw_health_params *p);

/* Stops and deletes a target (its memory is freed after the loop's current
 * batch, so a pending event of it is harmless). Safe with NULL. */
void gw_health_del(struct gw_health_target *t);

enum gw_health_state gw_health_state_of(const struct gw_health_target *t);
void gw_health_info_get(const struct gw_health_target *t, struct gw_health_info *info);

/* "unknown", "up", "down". */
const char *gw_health_state_str(enum gw_health_state s);

/* Checks a params struct. Returns 0 or -EINVAL. */
int gw_health_params_check(const struct gw_health_params *p);

#endif /* GW_HEALTH_H */
