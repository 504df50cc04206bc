/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's L7 runtime: the `listeners`, `upstreams` and `routes` of the config
 * turned into an immutable, refcounted snapshot, and N worker threads that
 * serve it. Each worker runs its own gw_loop with its own SO_REUSEPORT
 * listening socket per listener (the kernel spreads connections), its own
 * connections (proxy.h) and its own idle upstream pools; workers share
 * nothing but the snapshot (read-only) and relaxed atomic counters.
 *
 * Reload and `gwctl upstream server ...` build a new snapshot on the main
 * thread and publish it; a worker picks the new one up when it starts its
 * next request (in-flight requests finish on the snapshot they started
 * with). Stop: workers close their listeners, finish what is in flight, and
 * exit once idle or when the drain timeout passes.
 *
 * Request pipeline (proxy.c): route -> auth -> limit -> upstream. Auth and
 * limit are stages (struct gw_l7_stage) a snapshot carries per route; a
 * stage either lets the request go on, possibly adding upstream headers, or
 * answers it itself (401, 403, 429 ...).
 */
#ifndef GW_AGENT_L7_H
#define GW_AGENT_L7_H

#include <stdio.h>
#include <linux/types.h>
#include "l7/accesslog.h"
#include "config/config.h"
#include "http/http1.h"
#include "auth/authban.h"
#include "auth/authset.h"
#include "l7/route.h"
#include "l7/tls.h"
#include "l7/upstream.h"

#define GW_L7_BUF 16384			/* bytes per direction per connection */
#define GW_L7_HEAD_BUF 16384		/* a rewritten head */
#define GW_L7_MAX_HDRS 100		/* header fields per head */
#define GW_L7_MAX_ADD 16		/* fields stages may add per request */
#define GW_L7_DRAIN_NS 10000000000ull	/* SIGTERM: longest wait for in-flight */
#define GW_L7_WORKERS_MAX 64
#define GW_L7_CONNS_MAX 16384		/* client connections per worker */
#define GW_L7_FREE_CONNS 64		/* closed connection objects kept per worker */
#define GW_L7_PAUSE_NS 100000000ull	/* accept paused on EMFILE: retry after */

struct gw_l7;
struct gw_l7_snap;

/* What a stage sees of a request and may change. */
struct gw_l7_reqctx {
	const struct gw_http_req *req;
	const char *buf;		/* the bytes req's spans point into */
	const char *client;		/* client address text */
	const struct gw_ip *client_ip;
	unsigned int route;		/* route index */
	unsigned int worker;
	__u64 now;
	/* fields to add upstream (e.g. the claims auth forwards); the
	 * strings must live until the request head is built (the stage's
	 * own per-worker storage) */
	struct gw_http_kv add[GW_L7_MAX_ADD];
	size_t n_add;
	const char *remove[GW_L7_MAX_ADD];	/* client fields to drop (spoofed claims) */
	size_t n_remove;
	const char *consumer;		/* set by auth, keys rate limits */
	char store[4096];		/* room for the strings above */
	size_t store_len;
};

/* A stage's own answer. */
struct gw_l7_reply {
	int status;
	struct gw_http_kv extra[8];	/* WWW-Authenticate, Retry-After ... */
	size_t n_extra;
	const char *body;
	size_t body_len;
	char buf[256];			/* the stage's room for the strings above */
};

#define GW_L7_NEXT 0			/* go on with the next stage */
#define GW_L7_REPLY 1			/* answer with *reply, forward nothing */

/* One stage of the pipeline: run(state, ctx, reply) returns GW_L7_NEXT or
 * GW_L7_REPLY; it runs on a worker thread and must not block. */
struct gw_l7_stage {
	int (*run)(void *state, struct gw_l7_reqctx *ctx, struct gw_l7_reply *reply);
	void *state;
	void (*free)(void *state);	/* when the snapshot goes; may be NULL */
};

/* What the proxy adds to a compiled route (route.h). */
struct gw_l7_route {
	const struct gw_route *r;	/* match data, label, respond, strip_prefix */
	int upstream;			/* index in snap->ups, -1 for respond */
	struct gw_http_kv *add;		/* request_headers.add, pointing into r */
	size_t n_add;
	const char **remove;		/* request_headers.remove, pointing into r */
	size_t n_remove;
	struct gw_l7_stage auth, limit;	/* run == NULL: none */
	struct gw_l7_rstats *stats;	/* counters, kept across reloads */
};

/* A listener's client-side timeouts (listeners[].timeouts), in ns. */
struct gw_l7_cto {
	__u64 header_ns;		/* a request head, from its first byte; the first
					 * request of a connection, from accept (or the
					 * TLS handshake's end) */
	__u64 idle_ns;			/* keep-alive: between requests */
	__u64 body_ns;			/* a request body, between client reads */
	__u64 send_ns;			/* an answer, between client writes */
	__u64 tls_ns;			/* the TLS handshake, from accept */
};

/* Which client timeout fired (gw_http_client_timeouts_total{phase}). */
enum gw_l7_to_phase {
	GW_L7_TO_TLS,
	GW_L7_TO_HEADER,
	GW_L7_TO_IDLE,
	GW_L7_TO_BODY,
	GW_L7_TO_SEND,
	GW_L7_TO_PHASES
};

/* Client timeouts counted per listener name, kept across reloads (a
 * listener that is renamed starts new counts); relaxed atomics, as they
 * are rare. */
struct gw_l7_lstats {
	struct gw_l7_lstats *next;
	char *name;
	__u64 timeouts[GW_L7_TO_PHASES];
};

struct gw_l7_listener {
	char *name;
	struct gw_endpoint addr;
	int tls;
	struct gw_l7_cto to;
	struct gw_l7_lstats *stats;
};

/* The compiled routes, shared by the snapshots a live server change makes. */
struct gw_l7_routes {
	int refs;			/* atomic */
	struct gw_route_table *tbl;
	struct gw_l7_route *r;		/* [gw_route_count(tbl)], by route index */
	size_t n;
	struct gw_authset *auth;	/* the auth entries routes name; NULL: none */
};

/* The immutable config the workers serve. */
struct gw_l7_snap {
	int refs;			/* atomic */
	__u64 gen;
	struct gw_l7_listener *ls;
	size_t n_ls;
	struct gw_upstream *ups;
	size_t n_ups;
	struct gw_l7_routes *rt;
	struct gw_l7_rstats *nomatch;	/* requests no route took (404, 400) */
	struct gw_accesslog *alog;	/* gateway.access_log; NULL: none */
	struct gw_tls_set *tls;		/* certificates for tls listeners; NULL: none */
};

/* Per-route counters: one slot per worker, written by that worker only. */
#define GW_L7_HIST_BUCKETS 12
#define GW_L7_CODES 64

struct gw_l7_rstats_w {
	__u64 codes[GW_L7_CODES];	/* by gw_l7_code_slot() */
	__u64 hist[GW_L7_HIST_BUCKETS];	/* cumulative counts come at render */
	__u64 sum_us;
	__u64 count;
} __attribute__((aligned(64)));

/* Upper bounds of the histogram's buckets but the last (+Inf), in us. */
extern const __u64 gw_l7_hist_bounds_us[GW_L7_HIST_BUCKETS - 1];

struct gw_l7_rstats {
	struct gw_l7_rstats *next;
	char *label;
	struct gw_l7_rstats_w w[];	/* [n_workers] */
};

/* What the L7 runtime uses of gwd: its loop (active health checks, ticket
 * key rotation) and the filter maps (`filter.ban` of repeated auth
 * failures). Either may be NULL (tests): those features are then off. */
struct gw_l7_env {
	struct gw_loop *main_loop;
	const struct gw_filter_maps *filter;
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

/* Copies s into ctx->store. Returns the copy, or NULL when full. */
const char *gw_l7_ctx_keep(struct gw_l7_reqctx *ctx, const char *s, size_t len);

/* Requests the L7 rate limits refused (gw_ratelimited_total{layer="l7"}). */
__u64 gw_l7_ratelimited(struct gw_l7 *l7);

/* Prometheus text: gw_http_requests_total, gw_http_request_duration_seconds,
 * gw_http_client_timeouts_total, gw_upstream_server_up, gw_upstream_panic.
 * Returns 0 or -errno. */
int gw_l7_metrics(struct gw_l7 *l7, FILE *f);

/* Admin: JSON-ready listings and live server changes (ephemeral, replaced
 * on reload). `op` is "add", "del" or "drain"; weight 0 keeps the current
 * or 1. Return 0 or -errno (-ENOENT: no such upstream or server, -EEXIST:
 * server present) with a message in err. */
struct json_t;
int gw_l7_upstream_list(struct gw_l7 *l7, struct json_t **out);
int gw_l7_route_list(struct gw_l7 *l7, struct json_t **out);
int gw_l7_server_change(struct gw_l7 *l7, const char *op, const char *upstream,
			const char *addr, __u32 weight, char *err, size_t errlen);

/* For proxy.c: the slot of a status code in gw_l7_rstats_w.codes, and the
 * code of a slot (render). */
unsigned int gw_l7_code_slot(int code);
int gw_l7_slot_code(unsigned int slot);

/* The first route of s that takes the request (normalized host and path in
 * rq), or NULL. */
const struct gw_l7_route *gw_l7_route_match(const struct gw_l7_snap *s,
					    const struct gw_route_req *rq);

/* Takes/drops a snapshot reference (any thread). */
void gw_l7_snap_get(struct gw_l7_snap *s);
void gw_l7_snap_put(struct gw_l7_snap *s);

#endif /* GW_AGENT_L7_H */
