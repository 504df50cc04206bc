/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L7 upstreams: the server set of each `upstreams[]` entry, how a server is
 * picked for a request (smooth weighted round robin, least connections, or
 * Maglev on a hash key), passive ejection of servers that keep failing
 * (consecutive failures, then out of rotation for an exponentially growing
 * time), and each worker's bounded pool of idle keep-alive connections.
 *
 * An upstream set (struct gw_upstream) is part of an immutable L7 snapshot
 * (l7.h). What changes while it is in use lives elsewhere:
 *  - struct gw_srv_state, one per server address of an upstream, shared by
 *    every snapshot that lists that server (so a reload or a `gwctl upstream
 *    server` change keeps the ejection state and the idle pools), updated
 *    with relaxed atomics by all workers;
 *  - per-worker scratch (round-robin weights), indexed by worker id, written
 *    by that worker only.
 */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "core/addr.h"
#include "config/config.h"
#include "core/loop.h"
#include "l7/breaker.h"

#define GW_UP_POOL_MAX 1024		/* idle connections per server and worker */
#define GW_UP_EJECT_FAILS 3		/* consecutive failures that eject */
#define GW_UP_EJECT_BASE_NS 1000000000ull	/* first ejection: 1 s */
#define GW_UP_EJECT_MAX_SHIFT 5		/* longest ejection: 32 s */

struct gw_upconn;
struct gw_uptls;
struct ssl_st;

/* One worker's idle connections to one server, and its count of requests
 * sent there (summed over workers for gwctl). */
struct gw_up_pool {
	struct gw_upconn *head;
	unsigned int n;
	__u64 requests;			/* written by the worker, read relaxed */
} __attribute__((aligned(64)));

/* What outlives snapshots: one per (upstream name, server address). */
struct gw_srv_state {
	int refs;			/* atomic */
	__u32 fails;			/* consecutive failures; atomic */
	__u32 ejections;		/* consecutive ejections; atomic */
	__u64 ejected_until;		/* CLOCK_MONOTONIC ns; 0: in rotation; atomic */
	int health_down;		/* set by an active checker; atomic */
	int active;			/* requests in flight (least_conn only); atomic */
	__u64 failures;			/* failures seen; atomic */
	unsigned int n_workers;
	struct gw_up_pool pool[];	/* [n_workers], each written by its worker */
};

struct gw_up_server {
	struct gw_endpoint addr;
	struct sockaddr_storage sa;
	socklen_t salen;
	char name[GW_ADDR_STRLEN];	/* "192.0.2.1:80" */
	__u32 weight;			/* 0: drained (no new requests) */
	struct gw_srv_state *st;
};

/* One worker's scratch for one upstream. */
struct gw_up_worker {
	__s64 *cw;			/* smooth round robin: current weights */
} __attribute__((aligned(64)));

struct gw_upstream {
	char *name;
	int balance;			/* GW_BALANCE_* */
	struct gw_up_server *servers;
	size_t n_servers;
	__u64 connect_ns, response_ns, idle_ns;
	__u32 retries;
	int protocol;			/* GW_UP_PROTO_* */
	struct gw_cfg_http2 h2;		/* protocol h2c, h2: upstreams[].http2 */
	__u32 eject_fails;		/* consecutive failures that eject */
	/* active checks (upstreams[].health; run by l7.c on gwd's loop) */
	char *hc_path;			/* http GET path; NULL: tcp connect checks */
	__u64 hc_interval_ns;		/* 0: no active checks */
	__u64 hc_timeout_ns;
	__u32 hc_rise, hc_fall;
	__u32 *maglev;			/* balance maglev: server index per slot */
	__u32 maglev_size;
	unsigned int n_workers;
	struct gw_up_worker *w;		/* [n_workers] */
	struct gw_uptls *tls;		/* upstreams[].tls (a reference); NULL: plain */
	struct gw_breaker *brk;		/* limits (l7/breaker.h), shared across reloads */
};

/* An upstream connection: owned by one worker, either serving one request
 * or idle in its server's pool for that worker. */
struct gw_upconn {
	int fd;
	struct gw_breaker *brk;		/* its upstream's: counted there while open */
	struct gw_io io;
	struct gw_timer timer;		/* fires at or before `deadline` */
	__u64 deadline;			/* connect/response/idle, CLOCK_MONOTONIC ns */
	struct gw_srv_state *st;	/* a reference, held while the fd is open */
	struct gw_upconn *next;		/* pool list */
	struct gw_upconn **pprev;
	struct gw_upconn *wnext;	/* every open connection of the worker */
	struct gw_upconn **wpprev;
	unsigned int worker;
	unsigned int uses;		/* requests sent on it */
	void *owner;			/* the client connection using it */
	struct ssl_st *ssl;		/* upstreams[].tls; NULL: plain TCP */
	unsigned int tcp_up : 1;	/* the connect is done (a TLS handshake may still run) */
};

/* Builds `up` for worker count n_workers from the config entry, sharing the
 * gw_srv_state of servers that `prev` (the same upstream in the running
 * snapshot, or NULL) already has. A server of weight 0 is drained (gwctl
 * upstream server drain). Returns 0 or -errno. */
int gw_upstream_build(struct gw_upstream *up, const struct gw_cfg_upstream *c,
		      const struct gw_upstream *prev, unsigned int n_workers);

void gw_upstream_free(struct gw_upstream *up);

/* 1 if server i takes new requests at `now` (weight > 0, not ejected, not
 * reported down by health checks), else 0. */
int gw_upstream_usable(const struct gw_upstream *up, size_t i, __u64 now);

/* 1 when every server of the upstream that is not drained (weight > 0) is
 * down by active health checks: panic (fail open, as Envoy's panic
 * threshold at 100%, and as L4 services do): the checks are ignored and
 * every such server takes requests with its weight, except those passive
 * ejection took out. */
int gw_upstream_panic(const struct gw_upstream *up);

/* Picks a server for worker `worker`: hash is the maglev key (client
 * address hash), `avoid` a server index not to pick (a retry; -1 for none).
 * Servers in rotation first; with none and the upstream in panic, every
 * server not drained nor passively ejected. Returns the index, or -1 when
 * no server is usable. */
int gw_upstream_pick(struct gw_upstream *up, unsigned int worker, __u32 hash, int avoid,
		     __u64 now);

/* Outcomes gw_upstream_report() takes. */
enum {
	GW_UP_FAIL = 0,		/* the connect failed: the server is not there */
	GW_UP_OK = 1,		/* the server answered */
	GW_UP_FAIL_ANSWER = 2,	/* it took the connection, then its answer failed */
};

/* Records the outcome of a request on a server: GW_UP_OK, or a failure
 * counted toward ejection. A GW_UP_FAIL_ANSWER (timeout, reset, bad answer)
 * never ejects the last server of the upstream in rotation: a slow or
 * flaky server still answers some requests, and with no other one its
 * ejection would turn them all into 503s (nginx never takes out a lone
 * server; Envoy caps ejections at max_ejection_percent, then panics). A
 * refused connect ejects it: nothing would answer anyway, and the 503
 * comes at once. */
void gw_upstream_report(const struct gw_upstream *up, struct gw_srv_state *st, int ok,
			__u64 now);

/* 1 if the server is in rotation at now: not passively ejected and not
 * down by active checks. */
int gw_srv_in_rotation(const struct gw_srv_state *st, __u64 now);

/* 1 if an idle connection to server st of up may go back to its pool: the
 * server is in rotation, or down by checks in an upstream in panic. */
int gw_upstream_poolable(const struct gw_upstream *up, const struct gw_srv_state *st,
			 __u64 now);

void gw_srv_state_get(struct gw_srv_state *st);
void gw_srv_state_put(struct gw_srv_state *st);

/* A pooled idle connection of worker `worker` to st, unlinked, or NULL. */
struct gw_upconn *gw_pool_take(struct gw_srv_state *st, unsigned int worker);
/* Puts c into its server's pool. Returns 0, or -ENOSPC when the pool is full
 * (the caller closes c). */
int gw_pool_put(struct gw_upconn *c);
/* Unlinks c from its pool (it closed while idle). */
void gw_pool_unlink(struct gw_upconn *c);

/* Requests sent to the server by every worker. */
__u64 gw_srv_requests(const struct gw_srv_state *st);

/* The socket address of e in *ss, its length in *len. */
void gw_endpoint_sockaddr(const struct gw_endpoint *e, struct sockaddr_storage *ss,
			  socklen_t *len);

/* A 32-bit hash of an address (the maglev key). */
__u32 gw_up_hash_addr(const struct sockaddr_storage *sa);

#endif /* GW_UPSTREAM_H */
