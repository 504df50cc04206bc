/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L7 proxy's connections: one state machine per client connection,
 * run by the worker (runtime/l7.h) whose loop accepted it.
 *
 * A client connection owns two fixed buffers (GW_L7_BUF each: client to
 * upstream, upstream to client) and one for a rewritten head; nothing else
 * is allocated per request. One request at a time: its head is parsed
 * (http1.h), routed, passed through the stages, rewritten into the head
 * buffer and sent upstream with writev together with the body bytes
 * already read; bodies stream through the buffers, validated on the way
 * (Content-Length counted, chunked framing checked) and never held whole.
 * Bytes of pipelined requests wait in the client buffer until the current
 * response is complete. A full buffer stops reading from its source
 * (backpressure). Descriptors are edge-triggered and each side remembers
 * whether it may read or write, so a request costs no epoll_ctl.
 */
#ifndef GW_PROXY_H
#define GW_PROXY_H

#include <linux/types.h>
#include "core/loop.h"
#include "http/pathnorm.h"
#include "l7/accesslog.h"
#include "l7/snap.h"
#include "proxy/compress.h"

#define GW_L7_BUF 16384			/* bytes per direction per connection */
#define GW_L7_HEAD_BUF 16384		/* a rewritten head */
#define GW_L7_MAX_HDRS 100		/* header fields per head */
#define GW_L7_CONNS_MAX 16384		/* client connections per worker */
#define GW_L7_FREE_CONNS 64		/* closed connection objects kept per worker */
#define GW_L7_PAUSE_NS 100000000ull	/* accept paused on EMFILE: retry after */

/* The fields a request's upstream head adds: the route's
 * request_headers.add (at most GW_CFG_ROUTE_HEADERS_MAX of them: --check
 * refuses more), then the stages' (at most GW_L7_MAX_ADD). And those it
 * removes when a stage removes some: the route's request_headers.remove
 * (the same bound), then the stages'; else the route's list as it is. */
#define GW_L7_FWD_ADD (GW_CFG_ROUTE_HEADERS_MAX + GW_L7_MAX_ADD)
#define GW_L7_FWD_REMOVE (GW_CFG_ROUTE_HEADERS_MAX + GW_L7_MAX_ADD)

struct gw_cli;
struct gw_upconn;
struct gw_proxy_worker;

/* What a request's start works in (proxy.c): the worker's, as every phase
 * of it runs within one call on the worker's thread and nothing in here
 * outlives that call (the upstream head is built into the connection's
 * head buffer). It keeps the request path's functions' frames small. */
struct gw_proxy_scratch {
	struct gw_l7_reqctx ctx;	/* what the stages see and add */
	struct gw_l7_reply rep;		/* a stage's answer */
	char host[GW_HOST_BUF];		/* the normalized host */
	char abs_target[GW_L7_BUF + 2];	/* "/?query": an absolute-form target, no path */
	char norm[GW_L7_BUF + 2];	/* the normalized target */
	size_t norm_len;
	char target[GW_L7_BUF + 4];	/* the upstream's target (strip_prefix applied) */
	struct gw_http_kv add[GW_L7_FWD_ADD];
	const char *remove[GW_L7_FWD_REMOVE];
	char reqid[33];			/* a new X-Request-Id */
	__u8 trace[24];			/* random bytes of a new traceparent */
};

/* A listening socket of one worker. */
struct gw_proxy_listen {
	struct gw_io io;
	int fd;
	struct gw_endpoint addr;
	int tls;
	struct gw_l7_cto to;		/* for connections accepted from now on */
	struct gw_l7_lstats *stats;
	struct gw_proxy_worker *w;
};

/* The proxy's part of one worker thread: its connections, listeners and
 * the snapshots its requests use. The runtime's worker (runtime/l7.c)
 * embeds it and fills loop, id, snaps.pub and on_snap before the first
 * accept; everything else is the proxy's. */
struct gw_proxy_worker {
	unsigned int id;
	struct gw_loop *loop;
	struct gw_l7_view snaps;	/* the snapshots requests use */
	/* A request took a new snapshot (and the worker is not draining): the
	 * worker makes its listeners follow it. */
	void (*on_snap)(struct gw_proxy_worker *w, const struct gw_l7_snap *s);
	struct gw_proxy_listen *ls;
	size_t n_ls;
	struct gw_cli *conns;		/* every client connection */
	struct gw_cli *free_conns;	/* closed ones kept for reuse */
	unsigned int n_free_conns;
	struct gw_upconn *upconns;	/* every upstream connection */
	unsigned int n_conns;
	int draining;
	int paused;			/* listeners stopped: too many connections or fds */
	struct gw_timer resume_timer;
	__u64 rng[2];			/* xorshift128+: request ids, trace ids */
	struct gw_accesslog_buf *alb;	/* access log lines not written yet ... */
	struct gw_accesslog *alb_log;	/* ... to this log */
	int alb_flush_queued;		/* a flush runs after this batch */
	char date[32];			/* the HTTP date of date_sec (gw's own answers) */
	long date_sec;
	char tls_scratch[GW_L7_HEAD_BUF + GW_L7_BUF];	/* head + body as one record */
	struct gw_proxy_scratch scratch;	/* a request's start */
	unsigned int zstreams;		/* answers being compressed (proxy/compress.h) */
	struct gw_zpool zpool;		/* finished gzip streams for the next answers */
};

/* Called first on the worker's thread. */
void gw_proxy_bind_thread(struct gw_proxy_worker *w);

/* Accepts what is pending on a worker's listener. */
void gw_proxy_accept(struct gw_proxy_worker *w, struct gw_proxy_listen *l);

/* Drain: closes connections between requests now, and every other one as
 * soon as its current response is complete. */
void gw_proxy_drain(struct gw_proxy_worker *w);

/* Closes every connection and the worker's idle upstream connections. */
void gw_proxy_close_all(struct gw_proxy_worker *w);

/* Frees the worker's cache of connection objects. */
void gw_proxy_free_cache(struct gw_proxy_worker *w);

#endif /* GW_PROXY_H */
