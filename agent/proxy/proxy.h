/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L7 proxy's connections: one state machine per client connection,
 * run by the worker (l7.h) whose loop accepted it.
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

#include <pthread.h>
#include <linux/types.h>
#include "runtime/l7.h"
#include "core/loop.h"

struct gw_cli;

/* A snapshot as one worker uses it: requests in flight count locally. */
struct gw_l7_wsnap {
	struct gw_l7_snap *s;
	unsigned int local;		/* requests using it */
	struct gw_l7_wsnap *next;
};

/* A listening socket of one worker. */
struct gw_l7_wlisten {
	struct gw_io io;
	int fd;
	struct gw_endpoint addr;
	int tls;
	struct gw_l7_cto to;		/* for connections accepted from now on */
	struct gw_l7_lstats *stats;
	struct gw_l7_worker *w;
};

struct gw_l7_worker {
	struct gw_l7 *l7;
	unsigned int id;
	pthread_t th;
	int started;
	struct gw_loop *loop;
	int efd;			/* eventfd: the main thread's wake-up */
	struct gw_io eio;
	struct gw_l7_wsnap *cur;	/* the newest snapshot this worker took */
	struct gw_l7_wsnap *old;	/* older ones still used by requests */
	__u64 gen;			/* cur's generation */
	struct gw_l7_wlisten *ls;
	size_t n_ls;
	struct gw_cli *conns;		/* every client connection */
	struct gw_cli *free_conns;	/* closed ones kept for reuse */
	unsigned int n_free_conns;
	struct gw_upconn *upconns;	/* every upstream connection */
	unsigned int n_conns;
	int draining;
	__u64 drain_until;
	struct gw_timer drain_timer;
	int paused;			/* listeners stopped: too many connections or fds */
	struct gw_timer resume_timer;
	__u64 rng[2];			/* xorshift128+: request ids, trace ids */
	struct gw_accesslog_buf *alb;	/* access log lines not written yet ... */
	struct gw_accesslog *alb_log;	/* ... to this log */
	int alb_flush_queued;		/* a flush runs after this batch */
	char tls_scratch[GW_L7_HEAD_BUF + GW_L7_BUF];	/* head + body as one record */
};

/* Called first on the worker's thread. */
void gw_proxy_bind_thread(struct gw_l7_worker *w);

/* Accepts what is pending on a worker's listener. */
void gw_proxy_accept(struct gw_l7_worker *w, struct gw_l7_wlisten *l);

/* Drain: closes connections between requests now, and every other one as
 * soon as its current response is complete. */
void gw_proxy_drain(struct gw_l7_worker *w);

/* Closes every connection and the worker's idle upstream connections. */
void gw_proxy_close_all(struct gw_l7_worker *w);

/* Frees the worker's cache of connection objects. */
void gw_proxy_free_cache(struct gw_l7_worker *w);

/* For l7.c: the worker takes the newest snapshot when its generation moved.
 * Returns the current wsnap. */
struct gw_l7_wsnap *gw_l7_worker_snap(struct gw_l7_worker *w);
/* A request is done with ws. */
void gw_l7_worker_unsnap(struct gw_l7_worker *w, struct gw_l7_wsnap *ws);

#endif /* GW_PROXY_H */
