/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's L7 runtime: the `listeners`, `upstreams` and `routes` of the config
 * turned into an immutable, refcounted snapshot, and N worker threads that
 * serve it. Each worker runs its own gw_loop with its own SO_REUSEPORT
 * listening socket per listener (the kernel spreads connections), its own
 * connections (proxy/proxy.h) and its own idle upstream pools; workers share
 * nothing but the snapshot (read-only) and relaxed atomic counters.
 *
 * Reload and `gwctl upstream server ...` build a new snapshot on the main
 * thread and publish it; a worker picks the new one up when it starts its
 * next request (in-flight requests finish on the snapshot they started
 * with). Stop: workers close their listeners, finish what is in flight, and
 * exit once idle or when the drain timeout passes.
 *
 * The snapshot's types are in l7/snap.h; the connections in proxy/proxy.h,
 * whose per-worker context (struct gw_proxy_worker) each worker embeds.
 *
 * Request pipeline (proxy/proxy.c): route -> auth -> limit -> upstream. Auth and
 * limit are stages (struct gw_l7_stage) a snapshot carries per route; a
 * stage either lets the request go on, possibly adding upstream headers, or
 * answers it itself (401, 403, 429 ...).
 */
#ifndef GW_AGENT_L7_H
#define GW_AGENT_L7_H

#include <stdio.h>
#include <linux/types.h>
#include "config/config.h"
#include "core/addr.h"
#include "core/loop.h"
#include "l7/l7limit.h"
#include "l7/snap.h"

#define GW_L7_DRAIN_NS 10000000000ull	/* SIGTERM: longest wait for in-flight */
#define GW_L7_WORKERS_MAX 64

struct gw_l7;

/* What the L7 runtime uses of gwd: its loop (active health checks, ticket
 * key rotation) and where bans of repeated auth failures go (`filter.ban`:
 * gwd writes them into the XDP ban maps). Either may be NULL (tests):
 * those features are then off. */
struct gw_l7_env {
	struct gw_loop *main_loop;
	int (*ban)(void *arg, const struct gw_cidr *prefix, __u64 duration_ns);
	void *ban_arg;
	struct gw_l7limit_shared shared_limits;	/* rate_limit.scope: cluster */
	const char *pin_root;	/* the sockmap splice's maps go here; NULL: no splicing */
};

/* Starts the workers for cfg's listeners (n_workers 0: one per online CPU).
 * Fails when a listener cannot be bound. Returns 0 or -errno. */
int gw_l7_start(const struct gw_cfg *cfg, unsigned int n_workers, const struct gw_l7_env *env,
		struct gw_l7 **out);

/* Publishes a snapshot of cfg; workers switch at their next request, open
 * new listeners and close removed ones. Live server changes are dropped.
 * Returns 0, or -errno with the running snapshot kept. */
int gw_l7_reload(struct gw_l7 *l7, const struct gw_cfg *cfg);

/* Stops accepting, lets in-flight requests finish for up to drain_ns,
 * joins the workers and frees everything. NULL is ignored. */
void gw_l7_stop(struct gw_l7 *l7, __u64 drain_ns);

/* Like gw_l7_stop() without the wait: the main-loop parts (health checks,
 * timers) stop now, and a thread of its own waits for the workers to drain
 * and frees the runtime. Reload uses it so gwd's loop never waits on a
 * drain. NULL is ignored. */
void gw_l7_stop_async(struct gw_l7 *l7, __u64 drain_ns);

/* Blocks until every gw_l7_stop_async() drain has finished (gwd's exit,
 * before the maps go). */
void gw_l7_drains_wait(void);

/* SIGUSR1: every access log opened again (rotation). Returns 0 or the
 * first -errno. */
int gw_l7_reopen_logs(struct gw_l7 *l7);

/* 1 if cfg has listeners (gwd starts the L7 runtime), else 0. */
int gw_l7_wanted(const struct gw_cfg *cfg);

/* Before gwd detaches (daemon()) and starts the workers: every listener of
 * cfg can be bound. Returns 0 or the first -errno (logged). */
int gw_l7_precheck(const struct gw_cfg *cfg);

/* Requests the L7 rate limits refused (gw_ratelimited_total{layer="l7"}). */
__u64 gw_l7_ratelimited(struct gw_l7 *l7);

/* Prometheus text: gw_http_requests_total, gw_http_request_duration_seconds,
 * gw_http_client_timeouts_total, gw_upstream_server_up, gw_upstream_panic.
 * Returns 0 or -errno. */
int gw_l7_metrics(struct gw_l7 *l7, FILE *f);

/* A route's counters summed over the workers (gw_l7_route_counts). */
struct gw_l7_route_count {
	const char *label;		/* the route's label; "none": no route matched */
	__u64 requests;			/* answered, any status */
	__u64 errors;			/* answered 5xx */
	__u64 limited;			/* answered 429 */
	__u64 hist[GW_L7_HIST_BUCKETS];	/* durations, per bucket (not cumulative) */
};

/* Calls fn (main thread) for every route label the runtime has counted,
 * those of earlier snapshots too; stops at fn's first non-zero return.
 * Returns 0 or that return. */
int gw_l7_route_counts(struct gw_l7 *l7, int (*fn)(const struct gw_l7_route_count *c, void *arg),
		       void *arg);

/* Admin: JSON-ready listings and live server changes (ephemeral, replaced
 * on reload). `op` is "add", "del" or "drain"; weight 0 keeps the current
 * or 1. Return 0 or -errno (-ENOENT: no such upstream or server, -EEXIST:
 * server present) with a message in err. */
struct json_t;
int gw_l7_upstream_list(struct gw_l7 *l7, struct json_t **out);
int gw_l7_route_list(struct gw_l7 *l7, struct json_t **out);
int gw_l7_server_change(struct gw_l7 *l7, const char *op, const char *upstream,
			const char *addr, __u32 weight, char *err, size_t errlen);

#endif /* GW_AGENT_L7_H */
