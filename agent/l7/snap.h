/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L7 snapshot: the `listeners`, `upstreams` and `routes` of a config
 * compiled into one immutable, refcounted object that the workers serve
 * (runtime/l7.h builds and publishes it, proxy/proxy.h serves requests
 * from it), and what a request's stages see of a request.
 *
 * Publication: the main thread sets a gw_l7_pub's snapshot under its lock
 * and bumps the generation; each worker keeps a gw_l7_view that takes the
 * newest snapshot when its next request starts (one atomic load when
 * nothing changed). In-flight requests finish on the snapshot they
 * started with.
 */
#ifndef GW_L7_SNAP_H
#define GW_L7_SNAP_H

#include <pthread.h>
#include <linux/types.h>
#include "auth/authset.h"
#include "config/config.h"
#include "http/http1.h"
#include "l7/accesslog.h"
#include "l7/clientcert.h"
#include "l7/route.h"
#include "l7/tls.h"
#include "l7/upstream.h"

#define GW_L7_MAX_ADD 16		/* fields stages may add per request */
#define GW_L7_REPLY_EXTRA 8		/* fields a stage's own answer may carry */

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
	struct gw_http_kv extra[GW_L7_REPLY_EXTRA];	/* WWW-Authenticate, Retry-After ... */
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
	__u64 max_body;			/* request body bytes (listeners[].max_body):
					 * 413 beyond, unless the route sets its own */
	int h2c;			/* HTTP/2 with prior knowledge (listeners[].h2c) */
	int ktls;			/* listeners[].ktls (GW_KTLS_*, l7/ktls.h) */
	__u32 h2_streams;		/* listeners[].http2: SETTINGS of the connection */
	__u32 h2_header_list;
	__u32 h2_table;
	__u32 h2_window;
	__u32 h2_conn_window;
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
	__u64 h2_calm;			/* HTTP/2 connections ended for abuse (GOAWAY
					 * ENHANCE_YOUR_CALM) */
	__u64 h2_conns;			/* HTTP/2 connections accepted */
};

struct gw_l7_listener {
	char *name;
	struct gw_endpoint addr;
	int tls;
	struct gw_l7_cto to;
	struct gw_l7_lstats *stats;
	struct gw_cauth *cauth;		/* client_ca (a reference); NULL: none */
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
#define GW_L7_HIST_BUCKETS 17
#define GW_L7_CODES 64

/* Why gwd answered a request itself (proxy.c's answer() lists when each
 * applies); GW_L7_R_NONE: the upstream answered, or nobody did. */
enum gw_l7_reason {
	GW_L7_R_NONE,
	GW_L7_R_BAD_REQUEST,
	GW_L7_R_HEAD_TOO_LARGE,
	GW_L7_R_BAD_BODY,
	GW_L7_R_BODY_TOO_LARGE,
	GW_L7_R_CLIENT_TIMEOUT,
	GW_L7_R_NO_ROUTE,
	GW_L7_R_AUTH,
	GW_L7_R_RATE_LIMITED,
	GW_L7_R_RESPOND,
	GW_L7_R_URI_TOO_LONG,
	GW_L7_R_UPSTREAM_HEAD,
	GW_L7_R_NO_SERVER,
	GW_L7_R_CONNECT_FAILED,
	GW_L7_R_UPSTREAM_FAILED,
	GW_L7_R_UPSTREAM_TIMEOUT,
	GW_L7_R_UPSTREAM_TLS,
	GW_L7_R_IP_DENIED,
	GW_L7_R_CORS,
	GW_L7_R_CIRCUIT_OPEN,
	GW_L7_REASONS
};

/* The reason's name in metrics and the access log ("no_server"), or NULL
 * for GW_L7_R_NONE and out-of-range values. */
const char *gw_l7_reason_name(unsigned int reason);

/* Gateway answers by (reason, status): a small table per worker, a slot
 * taken by the first answer of its pair (key reason << 16 | status, 0:
 * free); pairs beyond the table count in answers_other. */
#define GW_L7_ANSWER_SLOTS 24

struct gw_l7_answer_ctr {
	__u32 key;
	__u64 n;
};

struct gw_l7_rstats_w {
	__u64 codes[GW_L7_CODES];	/* by gw_l7_code_slot() */
	__u64 hist[GW_L7_HIST_BUCKETS];	/* cumulative counts come at render */
	__u64 sum_us;
	__u64 count;
	struct gw_l7_answer_ctr answers[GW_L7_ANSWER_SLOTS];
	__u64 answers_other;
	__u64 spliced;			/* connections handed to the kernel */
} __attribute__((aligned(64)));

/* Counts one answer of the gateway's own (reason, status) in s; called by
 * s's worker only. */
void gw_l7_count_answer(struct gw_l7_rstats_w *s, unsigned int reason, int status);

/* The count of key (reason << 16 | status) in s, summed over n workers;
 * 0 when none. */
__u64 gw_l7_answers(const struct gw_l7_rstats_w *s, unsigned int n, __u32 key);

/* Upper bounds of the histogram's buckets but the last (+Inf), in us. */
extern const __u64 gw_l7_hist_bounds_us[GW_L7_HIST_BUCKETS - 1];

struct gw_l7_rstats {
	struct gw_l7_rstats *next;
	char *label;
	struct gw_l7_rstats_w w[];	/* [n_workers] */
};

/* The slot of a status code in gw_l7_rstats_w.codes (0: other), and the
 * code of a slot (render). */
unsigned int gw_l7_code_slot(int code);
int gw_l7_slot_code(unsigned int slot);
/* The slots in use (slot 0 counts the codes without one of their own). */
unsigned int gw_l7_code_slots(void);

/* Copies s into ctx->store. Returns the copy, or NULL when full. */
const char *gw_l7_ctx_keep(struct gw_l7_reqctx *ctx, const char *s, size_t len);

/* The first route of s that takes the request (normalized host and path in
 * rq), or NULL. */
const struct gw_l7_route *gw_l7_route_match(const struct gw_l7_snap *s,
					    const struct gw_route_req *rq);

/* Takes/drops a snapshot reference (any thread); the last put frees it. */
void gw_l7_snap_get(struct gw_l7_snap *s);
void gw_l7_snap_put(struct gw_l7_snap *s);

/* Drops a reference to compiled routes (gw_l7_snap_put does it for the
 * snapshot's own). NULL is ignored. */
void gw_l7_routes_put(struct gw_l7_routes *rt);

/* Where the main thread publishes snapshots. */
struct gw_l7_pub {
	pthread_mutex_t mu;
	struct gw_l7_snap *cur;		/* under mu; the publisher's reference */
	__u64 gen;			/* atomic: cur's generation */
};

/* Makes s current (the publisher's reference moves to it; the old one is
 * put). Returns the generation given to s. */
__u64 gw_l7_pub_set(struct gw_l7_pub *p, struct gw_l7_snap *s);

/* A snapshot as one worker uses it: requests in flight count locally. */
struct gw_l7_wsnap {
	struct gw_l7_snap *s;
	unsigned int local;		/* requests using it */
	struct gw_l7_wsnap *next;
};

/* One worker's view of a gw_l7_pub (that worker's thread only). */
struct gw_l7_view {
	struct gw_l7_pub *pub;
	struct gw_l7_wsnap *cur;	/* the newest snapshot this worker took */
	struct gw_l7_wsnap *old;	/* older ones still used by requests */
	__u64 gen;			/* cur's generation */
};

/* A request starts: takes the newest published snapshot when the
 * generation moved (*changed set to 1 then, else 0) and counts the request
 * on it. Returns the wsnap, or NULL when nothing was ever published. */
struct gw_l7_wsnap *gw_l7_view_take(struct gw_l7_view *v, int *changed);

/* A request is done with ws: the last request on an old snapshot drops it. */
void gw_l7_view_drop(struct gw_l7_view *v, struct gw_l7_wsnap *ws);

/* Drops every snapshot the view holds (the worker is gone). */
void gw_l7_view_clear(struct gw_l7_view *v);

#endif /* GW_L7_SNAP_H */
