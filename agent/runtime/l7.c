// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The L7 runtime (l7.h): snapshots, worker threads, reload, drain, and the
 * views metrics and the admin socket take of it.
 *
 * Threads: the main thread builds and publishes snapshots (under `mu`,
 * with a generation counter workers compare without the lock) and reads
 * counters; worker i runs its own loop and only ever writes worker-i slots.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <jansson.h>

#include "gw/abi.h"
#include "auth/authban.h"
#include "core/health.h"
#include "l7/upstream_tls.h"
#include "core/log.h"
#include "core/prom.h"
#include "l7/ktls.h"
#include "l7/l7limit.h"
#include "proxy/proxy.h"
#include "proxy/splice.h"
#include "runtime/l7.h"

#define L7_DRAIN_POLL_NS 50000000ull

/* An access log some snapshot used: kept until stop, as workers may
 * still write to it after a reload changed the path. */
struct l7_log {
	struct l7_log *next;
	char *path;
	struct gw_accesslog *log;
};

/* An active health check of one upstream server (main thread only). */
struct l7_hc {
	struct l7_hc *next;
	struct gw_l7 *l7;
	struct gw_srv_state *st;	/* a reference */
	struct gw_health_target *t;
	char upstream[128];
	char server[GW_ADDR_STRLEN];
	int seen;
};

/* The limit stage of a route with `rate_limit`. */
struct l7_limit {
	struct gw_l7 *l7;
	struct gw_l7limit_rule rule;
};

/* The auth stage of a route with `auth`. */
struct l7_auth {
	struct gw_authban *ban;		/* NULL: failures ban nobody */
	struct gw_authset *set;
	const char *name;		/* the route's, in the route table */
};

/* Requests refused by rate limits, one slot per worker. */
struct l7_count {
	__u64 n;
} __attribute__((aligned(64)));

#define L7_LIMIT_BUCKETS 65536

/* One worker thread: the proxy's part (connections, listeners, the
 * snapshots its requests use) and what the runtime drives it with. */
struct gw_l7_worker {
	struct gw_proxy_worker px;
	struct gw_l7 *l7;
	pthread_t th;
	int started;
	int efd;			/* eventfd: the main thread's wake-up */
	struct gw_io eio;
	__u64 drain_until;
	struct gw_timer drain_timer;
};

struct gw_l7 {
	unsigned int n_workers;
	struct gw_l7limit *limits;	/* every route's buckets; NULL until one needs it */
	struct l7_count *limited;	/* [n_workers] */
	struct l7_log *logs;
	struct gw_health *health;	/* on gwd's loop; NULL: no active checks */
	struct gw_loop *main_loop;	/* gwd's: health checks, ticket key rotation */
	struct gw_authban *ban;		/* filter.ban of auth failures; NULL: off */
	struct gw_l7limit_shared shared_limits;	/* scope: cluster rules' hook */
	struct gw_tls_keys *tls_keys;	/* session ticket keys, across reloads */
	struct gw_timer tls_rotate;
	struct l7_hc *hcs;
	struct gw_l7_worker *w;
	struct gw_l7_pub pub;		/* the snapshot served; the main thread's reference */
	struct gw_l7_rstats *stats;	/* every route label seen; main thread adds */
	struct gw_l7_lstats *lstats;	/* every listener name seen; main thread adds */
	int stopping;			/* atomic */
	__u64 drain_ns;
	char *pin_root;			/* the splice's maps; NULL: no splicing */
};

/* ---- snapshots ------------------------------------------------------------------- */

static struct gw_l7_rstats *stats_for(struct gw_l7 *l7, const char *label)
{
	struct gw_l7_rstats *s;

	for (s = l7->stats; s; s = s->next)
		if (!strcmp(s->label, label))
			return s;
	s = aligned_alloc(64, (sizeof(*s) + l7->n_workers * sizeof(s->w[0]) + 63) & ~63ul);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s) + l7->n_workers * sizeof(s->w[0]));
	s->label = strdup(label);
	if (!s->label) {
		free(s);
		return NULL;
	}
	s->next = l7->stats;
	l7->stats = s;
	return s;
}

static struct gw_l7_lstats *lstats_for(struct gw_l7 *l7, const char *name)
{
	struct gw_l7_lstats *s;

	for (s = l7->lstats; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->name = strdup(name);
	if (!s->name) {
		free(s);
		return NULL;
	}
	s->next = l7->lstats;
	l7->lstats = s;
	return s;
}

/* A timeout of 0 (a config not from the parser) takes the default. */
static __u64 or_default(__u64 v, __u64 dflt)
{
	return v ? v : dflt;
}

/* The listener's client timeouts of a config entry. */
static void cto_of(const struct gw_cfg_listener *cl, struct gw_l7_cto *to)
{
	const struct gw_cfg_client_timeouts *t = &cl->timeouts;

	to->header_ns = or_default(t->header_ns, GW_CFG_CLIENT_HEADER_NS);
	to->idle_ns = or_default(t->idle_ns, GW_CFG_CLIENT_IDLE_NS);
	to->body_ns = or_default(t->body_ns, GW_CFG_CLIENT_BODY_NS);
	to->send_ns = or_default(t->send_ns, GW_CFG_CLIENT_SEND_NS);
	to->tls_ns = or_default(t->tls_handshake_ns, GW_CFG_CLIENT_TLS_NS);
	to->max_body = or_default(cl->max_body, GW_CFG_MAX_BODY_DEFAULT);
	to->h2c = cl->h2c;
	to->ktls = cl->ktls;
	if (cl->tls && cl->ktls == GW_KTLS_AUTO)
		gw_ktls_available();	/* probe (and load) before the first handshake */
	to->h2_streams = (__u32)or_default(cl->http2.max_concurrent_streams,
					   GW_CFG_H2_STREAMS_DEFAULT);
	to->h2_header_list = (__u32)or_default(cl->http2.max_header_list_size,
					       GW_CFG_H2_HEADER_LIST_DEFAULT);
	to->h2_table = (__u32)cl->http2.header_table_size;
	to->h2_window = (__u32)or_default(cl->http2.initial_window_size, GW_CFG_H2_WINDOW_DEFAULT);
	to->h2_conn_window = (__u32)or_default(cl->http2.connection_window_size,
					       GW_CFG_H2_CONN_WINDOW_DEFAULT);
}

/* Appends a listener to s (room was made by snap_alloc). Returns 0 or
 * -ENOMEM. */
static int snap_add_listener(struct gw_l7 *l7, struct gw_l7_snap *s, const char *name,
			     const struct gw_endpoint *addr, int tls, const struct gw_l7_cto *to)
{
	struct gw_l7_listener *l = &s->ls[s->n_ls];

	l->name = strdup(name);
	if (!l->name)
		return -ENOMEM;
	l->addr = *addr;
	l->tls = tls;
	l->to = *to;
	l->stats = lstats_for(l7, name);
	s->n_ls++;
	return l->stats ? 0 : -ENOMEM;
}

/* The limit stage: counts the request against the route's bucket for its
 * key; a request over the limit gets 429 with Retry-After and RateLimit-*.
 * Returns GW_L7_NEXT or GW_L7_REPLY. */
static int limit_run(void *state, struct gw_l7_reqctx *ctx, struct gw_l7_reply *reply)
{
	struct l7_limit *st = state;
	struct gw_l7limit_subject subj = {
		.consumer = ctx->consumer,
		.consumer_len = ctx->consumer ? strlen(ctx->consumer) : 0,
		.ip = ctx->client_ip,
	};
	struct gw_l7limit_verdict v;
	struct l7_count *cnt;
	char *p, *e;
	int n;

	if (gw_l7limit_check(st->l7->limits, &st->rule, &subj, ctx->now, &v) || v.allowed)
		return GW_L7_NEXT;
	cnt = &st->l7->limited[ctx->worker];
	__atomic_store_n(&cnt->n, cnt->n + 1, __ATOMIC_RELAXED);
	reply->status = 429;
	n = gw_l7limit_headers(&v, reply->buf, sizeof(reply->buf));
	/* "Name: value\r\n" lines into name/value pairs, in place */
	for (p = reply->buf; n > 0 && *p && reply->n_extra < 8; p = e + 2) {
		char *colon = strstr(p, ": ");

		e = strstr(p, "\r\n");
		if (!e || !colon || colon > e)
			break;
		*colon = '\0';
		*e = '\0';
		reply->extra[reply->n_extra].name = p;
		reply->extra[reply->n_extra++].value = colon + 2;
	}
	return GW_L7_REPLY;
}

/* What gw_authset_check reads request fields through. */
struct auth_req {
	struct gw_l7_reqctx *ctx;
	int repeated;			/* a credential field came more than once */
};

/* The value of field `name` (its first line), or NULL. Returns it. */
static const char *auth_header(void *arg, const char *name, size_t *len)
{
	struct auth_req *a = arg;
	const struct gw_http_req *q = a->ctx->req;
	size_t nl = strlen(name);
	int k = gw_http_find(&q->h, a->ctx->buf, name, nl, 0);

	if (k < 0)
		return NULL;
	if (gw_http_find(&q->h, a->ctx->buf, name, nl, k + 1) >= 0)
		a->repeated = 1;
	*len = q->h.hdr[k].value_len;
	return a->ctx->buf + q->h.hdr[k].value;
}

/* The auth stage: the route's jwt or api_keys entry checks the request;
 * a refusal is answered (401/403 with WWW-Authenticate, 400 for repeated
 * credentials, 500), a success names the consumer and adds the forwarded
 * claims (removing client copies of them). Returns GW_L7_NEXT or
 * GW_L7_REPLY. */
static int auth_run(void *state, struct gw_l7_reqctx *ctx, struct gw_l7_reply *reply)
{
	struct l7_auth *st = state;
	struct auth_req a = { .ctx = ctx };
	struct gw_auth_verdict v;
	struct timespec ts;
	size_t i, n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gw_authset_check(st->set, st->name, auth_header, &a, ctx->worker,
			 (__s64)ts.tv_sec * 1000000000ll + ts.tv_nsec, &v);
	if (a.repeated) {
		reply->status = 400;
		return GW_L7_REPLY;
	}
	if (v.status) {
		/* wrong credentials count toward a ban; none at all do not */
		if (st->ban && v.res.reason != GW_AUTH_MISSING && v.res.reason != GW_AUTH_INTERNAL)
			gw_authban_fail(st->ban, ctx->client_ip);
		reply->status = v.status;
		n = strlen(v.www_authenticate);
		if (n && n < sizeof(reply->buf)) {
			memcpy(reply->buf, v.www_authenticate, n + 1);
			reply->extra[0].name = "WWW-Authenticate";
			reply->extra[0].value = reply->buf;
			reply->n_extra = 1;
		}
		return GW_L7_REPLY;
	}
	if (v.res.consumer[0])
		ctx->consumer = gw_l7_ctx_keep(ctx, v.res.consumer, strlen(v.res.consumer));
	for (i = 0; i < v.res.n_headers && ctx->n_add < GW_L7_MAX_ADD; i++) {
		const char *nm = gw_l7_ctx_keep(ctx, v.res.headers[i].name,
						strlen(v.res.headers[i].name));
		const char *val = gw_l7_ctx_keep(ctx, v.res.headers[i].value,
						 strlen(v.res.headers[i].value));

		if (!nm || !val) {
			reply->status = 500;
			return GW_L7_REPLY;
		}
		ctx->add[ctx->n_add].name = nm;
		ctx->add[ctx->n_add++].value = val;
		ctx->remove[ctx->n_remove++] = nm;
	}
	return GW_L7_NEXT;
}

/* Attaches the auth stage to a route with `auth`. Returns 0 or -errno. */
static int auth_attach(struct gw_l7 *l7, struct gw_l7_routes *rt, struct gw_l7_route *r,
		       const struct gw_route *gr)
{
	struct l7_auth *st;

	if (!gr->auth)
		return 0;
	if (!rt->auth) {
		pr_err("l7: route %s: auth %s is not loaded\n", gr->label, gr->auth);
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->set = rt->auth;
	st->ban = l7->ban;
	st->name = gr->auth;
	r->auth.run = auth_run;
	r->auth.state = st;
	r->auth.free = free;
	return 0;
}

__u64 gw_l7_ratelimited(struct gw_l7 *l7)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < l7->n_workers; i++)
		n += __atomic_load_n(&l7->limited[i].n, __ATOMIC_RELAXED);
	return n;
}

/* Attaches the limit stage to a route with `rate_limit`. Returns 0 or -errno. */
static int limit_attach(struct gw_l7 *l7, struct gw_l7_route *r, const struct gw_route *gr)
{
	struct l7_limit *st;
	int err;

	if (!gr->rate_limit.rate.count)
		return 0;
	if (!l7->limits) {
		l7->limits = gw_l7limit_new(L7_LIMIT_BUCKETS);
		if (!l7->limits)
			return -ENOMEM;
		gw_l7limit_set_shared(l7->limits, &l7->shared_limits);
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->l7 = l7;
	err = gw_l7limit_rule_init(&st->rule, &gr->rate_limit, gr->rl_scope);
	if (err) {
		free(st);
		return err;
	}
	r->limit.run = limit_run;
	r->limit.state = st;
	r->limit.free = free;
	return 0;
}

/* The proxy's side of compiled route gr. Returns 0 or -errno. */
static int route_build(struct gw_l7 *l7, struct gw_l7_route *r, const struct gw_route *gr,
		       const struct gw_l7_snap *s)
{
	size_t k;
	int err;

	r->r = gr;
	r->upstream = -1;
	if (gr->n_add_headers) {
		r->add = calloc(gr->n_add_headers, sizeof(*r->add));
		if (!r->add)
			return -ENOMEM;
		for (k = 0; k < gr->n_add_headers; k++) {
			r->add[k].name = gr->add_headers[k].name;
			r->add[k].value = gr->add_headers[k].value;
		}
		r->n_add = gr->n_add_headers;
	}
	if (gr->n_remove_headers || gr->client_cert_header) {
		r->remove = calloc(gr->n_remove_headers + 1, sizeof(*r->remove));
		if (!r->remove)
			return -ENOMEM;
		for (k = 0; k < gr->n_remove_headers; k++)
			r->remove[k] = gr->remove_headers[k];
		r->n_remove = gr->n_remove_headers;
		/* what a client sends there itself never goes upstream */
		if (gr->client_cert_header)
			r->remove[r->n_remove++] = gr->client_cert_header;
	}
	if (!gr->respond_status && gr->upstream) {
		for (k = 0; k < s->n_ups; k++)
			if (!strcmp(s->ups[k].name, gr->upstream))
				r->upstream = (int)k;
		if (r->upstream < 0) {
			pr_err("l7: route %s: no upstream %s\n", gr->label, gr->upstream);
			return -EINVAL;
		}
	}
	r->stats = stats_for(l7, gr->label);
	if (!r->stats)
		return -ENOMEM;
	err = auth_attach(l7, s->rt, r, gr);
	return err ? err : limit_attach(l7, r, gr);
}

/* An empty snapshot with room for n_ls listeners and n_ups upstreams and
 * one reference. Returns it or NULL. */
static struct gw_l7_snap *snap_alloc(size_t n_ls, size_t n_ups)
{
	struct gw_l7_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refs = 1;
	s->ls = calloc(n_ls + 1, sizeof(*s->ls));
	s->ups = calloc(n_ups + 1, sizeof(*s->ups));
	if (!s->ls || !s->ups) {
		gw_l7_snap_put(s);
		return NULL;
	}
	return s;
}

/* The access log at path, opened on first use. Returns it or NULL (the
 * reason is logged; requests then go unlogged). */
static struct gw_accesslog *log_for(struct gw_l7 *l7, const char *path)
{
	struct l7_log *e;
	int err;

	for (e = l7->logs; e; e = e->next)
		if (!strcmp(e->path, path))
			return e->log;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->path = strdup(path);
	err = e->path ? gw_accesslog_open(path, &e->log) : -ENOMEM;
	if (err) {
		pr_err("l7: cannot open the access log %s: %s\n", path, strerror(-err));
		free(e->path);
		free(e);
		return NULL;
	}
	e->next = l7->logs;
	l7->logs = e;
	return e->log;
}

int gw_l7_reopen_logs(struct gw_l7 *l7)
{
	struct l7_log *e;
	int err, ret = 0;

	for (e = l7->logs; e; e = e->next) {
		err = gw_accesslog_reopen(e->log);
		if (err) {
			pr_warn("l7: cannot reopen %s: %s\n", e->path, strerror(-err));
			if (!ret)
				ret = err;
		}
	}
	return ret;
}

#define L7_TLS_ROTATE_CHECK_NS (60ull * 1000000000ull)

/* Once a minute: a new ticket key when one is due. */
static void tls_rotate_tick(struct gw_timer *t)
{
	struct gw_l7 *l7 = container_of(t, struct gw_l7, tls_rotate);

	if (gw_tls_keys_rotate(l7->tls_keys, gw_loop_now(l7->main_loop)) < 0)
		pr_warn("l7: cannot rotate the TLS ticket keys\n");
	gw_timer_start(l7->main_loop, t, L7_TLS_ROTATE_CHECK_NS, tls_rotate_tick);
}

/* The TLS context set for cfg when a listener wants TLS (s->tls), with the
 * ticket keys made on first use. Returns 0 or -errno (logged). */
static int snap_tls(struct gw_l7 *l7, const struct gw_cfg *cfg, struct gw_l7_snap *s)
{
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < cfg->n_listeners && !cfg->listeners[i].tls; i++)
		;
	if (i == cfg->n_listeners)
		return 0;
	if (!l7->tls_keys) {
		l7->tls_keys = gw_tls_keys_new(GW_TLS_KEYS_ROTATE_DEFAULT,
					       GW_TLS_KEYS_RING_DEFAULT, gw_l7limit_now());
		if (!l7->tls_keys)
			return -EIO;
		if (l7->main_loop)
			gw_timer_start(l7->main_loop, &l7->tls_rotate, L7_TLS_ROTATE_CHECK_NS,
				       tls_rotate_tick);
	}
	rc = gw_tls_set_build(&cfg->tls, l7->tls_keys, &s->tls, err, sizeof(err));
	if (rc)
		pr_err("l7: TLS: %s\n", err);
	return rc;
}

/* A listener's client certificate settings (listeners[].client_ca).
 * Returns 0 or -errno (logged). */
static int snap_cauth(struct gw_l7_listener *l, const struct gw_cfg_listener *c)
{
	char err[4400];
	int rc;

	if (!c->client_ca)
		return 0;
	rc = gw_cauth_build(c->client_ca, c->client_cert, &l->cauth, err, sizeof(err));
	if (rc)
		pr_err("l7: listener %s: %s\n", c->name, err);
	return rc;
}

/* The TLS context of an upstream (upstreams[].tls). Returns 0 or -errno
 * (logged). */
static int snap_uptls(struct gw_upstream *up, const struct gw_cfg_upstream *c)
{
	char err[4400];
	int rc = gw_uptls_build(&c->tls, &up->tls, err, sizeof(err), NULL);

	if (rc)
		pr_err("l7: upstream %s: %s\n", c->name, err);
	return rc;
}

/* The snapshot of cfg; upstream states come from `prev` when it has the
 * same servers. Returns 0 with *out, or -errno. */
static int snap_build(struct gw_l7 *l7, const struct gw_cfg *cfg, const struct gw_l7_snap *prev,
		      struct gw_l7_snap **out)
{
	struct gw_l7_snap *s;
	size_t i, j;
	int err = -ENOMEM;

	s = snap_alloc(cfg->n_listeners, cfg->n_upstreams);
	if (!s)
		return -ENOMEM;
	s->rt = calloc(1, sizeof(*s->rt));
	if (!s->rt)
		goto fail;
	s->rt->refs = 1;
	for (i = 0; i < cfg->n_listeners; i++) {
		struct gw_l7_cto to;

		cto_of(&cfg->listeners[i], &to);
		if (snap_add_listener(l7, s, cfg->listeners[i].name, &cfg->listeners[i].address,
				      cfg->listeners[i].tls, &to))
			goto fail;
		err = snap_cauth(&s->ls[i], &cfg->listeners[i]);
		if (err)
			goto fail;
		err = -ENOMEM;
	}
	for (i = 0; i < cfg->n_upstreams; i++) {
		const struct gw_upstream *p = NULL;

		for (j = 0; prev && j < prev->n_ups; j++)
			if (!strcmp(prev->ups[j].name, cfg->upstreams[i].name))
				p = &prev->ups[j];
		err = gw_upstream_build(&s->ups[i], &cfg->upstreams[i], p, l7->n_workers);
		if (err)
			goto fail;
		s->n_ups++;
		err = snap_uptls(&s->ups[i], &cfg->upstreams[i]);
		if (err)
			goto fail;
	}
	err = gw_route_table_build(cfg, &s->rt->tbl);
	if (err)
		goto fail;
	if (cfg->auth.n_jwt || cfg->auth.n_api_keys) {
		struct gw_jwt_opts ao = { .workers = l7->n_workers };

		err = gw_authset_new(&cfg->auth, &ao, &s->rt->auth);
		if (err)
			goto fail;
	}
	err = -ENOMEM;
	s->rt->r = calloc(gw_route_count(s->rt->tbl) + 1, sizeof(*s->rt->r));
	if (!s->rt->r)
		goto fail;
	for (i = 0; i < gw_route_count(s->rt->tbl); i++) {
		s->rt->n++;
		err = route_build(l7, &s->rt->r[i], gw_route_at(s->rt->tbl, i), s);
		if (err)
			goto fail;
	}
	s->nomatch = stats_for(l7, "none");
	if (!s->nomatch) {
		err = -ENOMEM;
		goto fail;
	}
	if (cfg->gateway.access_log)
		s->alog = log_for(l7, cfg->gateway.access_log);
	err = snap_tls(l7, cfg, s);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	gw_l7_snap_put(s);
	return err;
}

/* The auth set of the snapshot being served, or NULL. */
static struct gw_authset *cur_auth(const struct gw_l7 *l7)
{
	return l7->pub.cur ? l7->pub.cur->rt->auth : NULL;
}

/* Makes s current (the main thread's reference moves to it) and wakes the
 * workers. */
static void snap_publish(struct gw_l7 *l7, struct gw_l7_snap *s)
{
	__u64 one = 1;
	unsigned int i;

	/* key files are watched on gwd's loop for the auth set being served */
	if (l7->main_loop && s->rt->auth && cur_auth(l7) != s->rt->auth)
		gw_authset_watch(s->rt->auth, l7->main_loop);
	if (cur_auth(l7) != s->rt->auth)
		gw_authset_unwatch(cur_auth(l7));
	gw_l7_pub_set(&l7->pub, s);
	for (i = 0; i < l7->n_workers; i++)
		if (l7->w[i].efd >= 0 && write(l7->w[i].efd, &one, sizeof(one)) < 0)
			pr_debug("l7: cannot wake worker %u\n", i);
}

/* ---- workers ------------------------------------------------------------------------ */

/*
 * A socket bound to e. Workers listen on one each, with SO_REUSEPORT
 * (do_listen 1). A probe (do_listen 0) leaves SO_REUSEPORT off, so that it
 * fails on a port anyone else holds, even a process of our own uid that
 * set SO_REUSEPORT too.
 */
static int listen_socket(const struct gw_endpoint *e, int do_listen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, err;

	gw_endpoint_sockaddr(e, &ss, &sl);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (do_listen)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || (do_listen && listen(fd, 4096))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void on_listen(struct gw_io *io, __u32 events)
{
	struct gw_proxy_listen *l = container_of(io, struct gw_proxy_listen, io);

	gw_proxy_accept(l->w, l);
}

static void close_listener(struct gw_proxy_worker *w, struct gw_proxy_listen *l)
{
	gw_io_stop(w->loop, &l->io);
	close(l->fd);
	l->fd = -1;
}

/* Opens the listeners s has and w does not, closes those it no longer has. */
static void sync_listeners(struct gw_proxy_worker *w, const struct gw_l7_snap *s)
{
	struct gw_proxy_listen *nl;
	size_t i, j, n = 0;
	char a[GW_ADDR_STRLEN];

	nl = calloc(s->n_ls + 1, sizeof(*nl));
	if (!nl)
		return;
	for (i = 0; i < s->n_ls; i++) {
		for (j = 0; j < w->n_ls; j++)
			if (w->ls[j].fd >= 0 &&
			    !memcmp(&w->ls[j].addr, &s->ls[i].addr, sizeof(s->ls[i].addr)))
				break;
		nl[n].w = w;
		nl[n].addr = s->ls[i].addr;
		nl[n].tls = s->ls[i].tls;
		nl[n].to = s->ls[i].to;
		nl[n].stats = s->ls[i].stats;
		if (j < w->n_ls) {
			/* kept: the io moves (its callback finds it by address) */
			gw_io_stop(w->loop, &w->ls[j].io);
			nl[n].fd = w->ls[j].fd;
			w->ls[j].fd = -1;
		} else {
			nl[n].fd = listen_socket(&s->ls[i].addr, 1);
			if (nl[n].fd < 0) {
				pr_err("l7: worker %u: cannot listen on %s: %s\n", w->id,
				       gw_endpoint_str(&s->ls[i].addr, a, sizeof(a)),
				       strerror(-nl[n].fd));
				continue;
			}
		}
		if (gw_io_start(w->loop, &nl[n].io, nl[n].fd, EPOLLIN, on_listen)) {
			close(nl[n].fd);
			continue;
		}
		n++;
	}
	for (j = 0; j < w->n_ls; j++)
		if (w->ls[j].fd >= 0)
			close_listener(w, &w->ls[j]);
	/* the old array's ios may have events pending in this batch */
	if (w->ls && gw_loop_defer(w->loop, free, w->ls))
		pr_warn("l7: out of memory deferring a free\n");
	w->ls = nl;
	w->n_ls = n;
}

/* Takes the newest snapshot now (a wake-up, the worker's start), so the
 * listeners follow a reload without waiting for a request. */
static void worker_resnap(struct gw_l7_worker *w)
{
	struct gw_l7_wsnap *ws;
	int changed;

	ws = gw_l7_view_take(&w->px.snaps, &changed);
	if (!ws)
		return;
	if (changed && !w->px.draining)
		sync_listeners(&w->px, ws->s);
	gw_l7_view_drop(&w->px.snaps, ws);
}

static void drain_tick(struct gw_timer *t)
{
	struct gw_l7_worker *w = container_of(t, struct gw_l7_worker, drain_timer);

	if (!w->px.n_conns || gw_loop_now(w->px.loop) >= w->drain_until) {
		if (w->px.n_conns)
			pr_info("l7: worker %u: drain timeout, closing %u connections\n", w->px.id,
				w->px.n_conns);
		gw_proxy_close_all(&w->px);
		gw_loop_stop(w->px.loop);
		return;
	}
	gw_timer_start(w->px.loop, t, L7_DRAIN_POLL_NS, drain_tick);
}

static void on_wake(struct gw_io *io, __u32 events)
{
	struct gw_l7_worker *w = container_of(io, struct gw_l7_worker, eio);
	__u64 v;
	size_t i;

	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("l7: worker %u: eventfd: %s\n", w->px.id, strerror(errno));
	if (__atomic_load_n(&w->l7->stopping, __ATOMIC_ACQUIRE)) {
		if (w->px.draining)
			return;
		for (i = 0; i < w->px.n_ls; i++)
			if (w->px.ls[i].fd >= 0)
				close_listener(&w->px, &w->px.ls[i]);
		gw_proxy_drain(&w->px);
		w->drain_until = gw_loop_now(w->px.loop) + w->l7->drain_ns;
		drain_tick(&w->drain_timer);
		return;
	}
	worker_resnap(w);
}

static void *worker_main(void *arg)
{
	struct gw_l7_worker *w = arg;
	sigset_t all;
	size_t i;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	gw_proxy_bind_thread(&w->px);
	worker_resnap(w);
	err = gw_loop_run(w->px.loop);
	if (err)
		pr_err("l7: worker %u: loop failed: %s\n", w->px.id, strerror(-err));
	gw_proxy_close_all(&w->px);
	for (i = 0; i < w->px.n_ls; i++)
		if (w->px.ls[i].fd >= 0)
			close_listener(&w->px, &w->px.ls[i]);
	return NULL;
}

static int worker_init(struct gw_l7 *l7, struct gw_l7_worker *w, unsigned int id)
{
	int err;

	w->l7 = l7;
	w->px.id = id;
	w->px.snaps.pub = &l7->pub;
	w->px.on_snap = sync_listeners;
	w->efd = -1;
	if (getrandom(w->px.rng, sizeof(w->px.rng), 0) != sizeof(w->px.rng) ||
	    !(w->px.rng[0] | w->px.rng[1]))
		w->px.rng[0] = 0x9e3779b97f4a7c15ull ^ ((__u64)id << 32) ^ (__u64)getpid();
	err = gw_loop_new(&w->px.loop);
	if (err)
		return err;
	w->px.alb = calloc(1, sizeof(*w->px.alb));
	if (!w->px.alb)
		return -ENOMEM;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		return -errno;
	return gw_io_start(w->px.loop, &w->eio, w->efd, EPOLLIN, on_wake);
}

static void worker_fini(struct gw_l7_worker *w)
{
	if (w->px.loop) {
		gw_io_stop(w->px.loop, &w->eio);
		gw_timer_stop(w->px.loop, &w->drain_timer);
		gw_timer_stop(w->px.loop, &w->px.resume_timer);
		gw_loop_free(w->px.loop);	/* runs the last deferred frees */
	}
	gw_proxy_free_cache(&w->px);
	if (w->efd >= 0)
		close(w->efd);
	free(w->px.ls);
	free(w->px.alb);
	gw_l7_view_clear(&w->px.snaps);
}

int gw_l7_wanted(const struct gw_cfg *cfg)
{
	return cfg->n_listeners > 0;
}

/* Every listener of cfg can be bound (next to our own sockets). Returns 0
 * or the first -errno. */
/* 1 if the running snapshot s (may be NULL) listens on e already. */
static int snap_listens_on(const struct gw_l7_snap *s, const struct gw_endpoint *e)
{
	size_t i;

	for (i = 0; s && i < s->n_ls; i++)
		if (!memcmp(&s->ls[i].addr, e, sizeof(*e)))
			return 1;
	return 0;
}

/*
 * Every listener of cfg that running (NULL at start) does not hold yet
 * must bind: a probe without SO_REUSEPORT fails on a port that anyone
 * holds. The ones running holds stay open across the reload.
 */
static int check_listeners(const struct gw_cfg *cfg, const struct gw_l7_snap *running)
{
	char a[GW_ADDR_STRLEN];
	size_t i;
	int fd;

	for (i = 0; i < cfg->n_listeners; i++) {
		if (snap_listens_on(running, &cfg->listeners[i].address))
			continue;
		fd = listen_socket(&cfg->listeners[i].address, 0);
		if (fd < 0) {
			pr_err("l7: listener %s: cannot bind %s: %s\n", cfg->listeners[i].name,
			       gw_endpoint_str(&cfg->listeners[i].address, a, sizeof(a)),
			       strerror(-fd));
			return fd;
		}
		close(fd);
	}
	return 0;
}

int gw_l7_precheck(const struct gw_cfg *cfg)
{
	return gw_l7_wanted(cfg) ? check_listeners(cfg, NULL) : 0;
}

/* The upstream called name in s, or NULL. */
static const struct gw_upstream *upstream_named(const struct gw_l7_snap *s, const char *name)
{
	size_t u;

	for (u = 0; s && u < s->n_ups; u++)
		if (!strcmp(s->ups[u].name, name))
			return &s->ups[u];
	return NULL;
}

/* A check changed a server's state: workers see it at their next pick.
 * The upstream's entering or leaving panic is logged (main thread: the
 * current snapshot is its own). */
static void hc_changed(struct gw_health_target *t, enum gw_health_state old,
		       enum gw_health_state now, void *arg)
{
	struct l7_hc *hc = arg;
	const struct gw_upstream *up = upstream_named(hc->l7->pub.cur, hc->upstream);
	int panic = up && gw_upstream_panic(up);

	__atomic_store_n(&hc->st->health_down, now == GW_HS_DOWN, __ATOMIC_RELAXED);
	if (now == GW_HS_DOWN || old == GW_HS_DOWN)
		pr_info("l7: upstream %s server %s is %s\n", hc->upstream, hc->server,
			gw_health_state_str(now));
	if (up && !panic && gw_upstream_panic(up))
		pr_warn("l7: upstream %s: every server is down by health checks; requests go "
			"to all of them (panic, fail open)\n", hc->upstream);
	else if (up && panic && !gw_upstream_panic(up))
		pr_info("l7: upstream %s: a server is up again; panic ends\n", hc->upstream);
}

static void hc_free(struct l7_hc *hc)
{
	gw_health_del(hc->t);
	__atomic_store_n(&hc->st->health_down, 0, __ATOMIC_RELAXED);
	gw_srv_state_put(hc->st);
	free(hc);
}

/* One check per server of every upstream with `health`, kept across
 * snapshots for servers that stay (their state with them). */
static void health_sync(struct gw_l7 *l7, const struct gw_l7_snap *s)
{
	struct l7_hc *hc, **pp;
	size_t u, j;

	if (!l7->health)
		return;
	for (hc = l7->hcs; hc; hc = hc->next)
		hc->seen = 0;
	for (u = 0; u < s->n_ups; u++) {
		const struct gw_upstream *up = &s->ups[u];

		for (j = 0; up->hc_interval_ns && j < up->n_servers; j++) {
			struct gw_health_params p = {
				.kind = up->hc_path ? GW_HC_HTTP : GW_HC_TCP,
				.addr = up->servers[j].addr,
				.path = up->hc_path,
				.interval_ns = up->hc_interval_ns,
				.timeout_ns = up->hc_timeout_ns,
				.rise = up->hc_rise,
				.fall = up->hc_fall,
				.xport = up->tls ? &gw_uptls_health_xport : NULL,
				.xport_arg = up->tls,
			};

			for (hc = l7->hcs; hc; hc = hc->next)
				if (hc->st == up->servers[j].st)
					break;
			if (hc) {
				hc->seen = 1;
				gw_health_update(hc->t, &p);
				continue;
			}
			hc = calloc(1, sizeof(*hc));
			if (!hc)
				continue;
			hc->st = up->servers[j].st;
			hc->l7 = l7;
			snprintf(hc->upstream, sizeof(hc->upstream), "%s", up->name);
			snprintf(hc->server, sizeof(hc->server), "%s", up->servers[j].name);
			if (gw_health_add(l7->health, &p, GW_HS_UNKNOWN, hc_changed, hc, &hc->t)) {
				pr_warn("l7: cannot check upstream %s server %s\n", up->name,
					up->servers[j].name);
				free(hc);
				continue;
			}
			gw_srv_state_get(hc->st);
			hc->seen = 1;
			hc->next = l7->hcs;
			l7->hcs = hc;
		}
	}
	for (pp = &l7->hcs; (hc = *pp);) {
		if (hc->seen) {
			pp = &hc->next;
			continue;
		}
		*pp = hc->next;
		hc_free(hc);
	}
}

/* The health check state of a server, or NULL when it has none. */
static const char *health_of(struct gw_l7 *l7, const struct gw_srv_state *st)
{
	struct l7_hc *hc;

	for (hc = l7->hcs; hc; hc = hc->next)
		if (hc->st == st)
			return gw_health_state_str(gw_health_state_of(hc->t));
	return NULL;
}

/* Connections need descriptors: the soft limit goes up to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur >= r.rlim_max)
		return;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r))
		pr_warn("l7: cannot raise the descriptor limit: %s\n", strerror(errno));
}

/* Loads the sockmap splice (once) when cfg has a plain listener and a route
 * that may splice: every route but `splice: false` ones splices its
 * Upgrade tunnels. A kernel that refuses it leaves every connection in
 * user space (gwctl status and the log say why). */
static void splice_load(struct gw_l7 *l7, const struct gw_cfg *cfg)
{
	int plain = 0, routes = 0;
	size_t i;

	if (!l7->pin_root || gw_splice_ready())
		return;
	for (i = 0; i < cfg->n_listeners; i++)
		plain |= !cfg->listeners[i].tls;
	for (i = 0; i < cfg->n_routes; i++)
		routes |= !cfg->routes[i].splice_pos.line || cfg->routes[i].splice;
	if (plain && routes)
		gw_splice_open(l7->pin_root);
}

int gw_l7_start(const struct gw_cfg *cfg, unsigned int n_workers, const struct gw_l7_env *env,
		struct gw_l7 **out)
{
	struct gw_loop *main_loop = env ? env->main_loop : NULL;
	struct gw_l7 *l7;
	struct gw_l7_snap *s;
	unsigned int i;
	long cpus;
	int err;

	if (!n_workers) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n_workers = cpus > 0 ? (unsigned int)cpus : 1;
	}
	if (n_workers > GW_L7_WORKERS_MAX)
		n_workers = GW_L7_WORKERS_MAX;
	err = check_listeners(cfg, NULL);
	if (err)
		return err;
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	l7 = calloc(1, sizeof(*l7));
	if (!l7)
		return -ENOMEM;
	pthread_mutex_init(&l7->pub.mu, NULL);
	l7->n_workers = n_workers;
	l7->drain_ns = GW_L7_DRAIN_NS;
	l7->main_loop = main_loop;
	if (env && env->pin_root)
		l7->pin_root = strdup(env->pin_root);
	l7->w = calloc(n_workers, sizeof(*l7->w));
	l7->limited = aligned_alloc(64, n_workers * sizeof(*l7->limited));
	if (!l7->w || !l7->limited) {
		free(l7->w);
		free(l7->limited);
		free(l7);
		return -ENOMEM;
	}
	memset(l7->limited, 0, n_workers * sizeof(*l7->limited));
	for (i = 0; i < n_workers; i++)
		l7->w[i].efd = -1;
	if (env)
		l7->shared_limits = env->shared_limits;
	if (env && env->ban) {
		struct gw_authban_opts bo = {
			.failures = cfg->filter.ban.auth_failures,
			.duration_ns = cfg->filter.ban.duration_ns,
			.capacity = 65536,
			.ban = env->ban,
			.ban_arg = env->ban_arg,
		};

		if (gw_authban_new(&bo, &l7->ban))
			pr_warn("l7: repeated auth failures will not be banned\n");
	}
	err = snap_build(l7, cfg, NULL, &s);
	if (err)
		goto fail;
	snap_publish(l7, s);
	splice_load(l7, cfg);
	if (main_loop && gw_health_new(main_loop, 65536, &l7->health))
		pr_warn("l7: no active health checks (out of memory)\n");
	health_sync(l7, s);
	for (i = 0; i < n_workers; i++) {
		err = worker_init(l7, &l7->w[i], i);
		if (err)
			goto fail;
	}
	for (i = 0; i < n_workers; i++) {
		err = -pthread_create(&l7->w[i].th, NULL, worker_main, &l7->w[i]);
		if (err)
			goto fail;
		l7->w[i].started = 1;
	}
	pr_info("l7: %u workers, %zu listeners, %zu upstreams, %zu routes\n", n_workers,
		s->n_ls, s->n_ups, s->rt->n);
	*out = l7;
	return 0;
fail:
	pr_err("l7: cannot start: %s\n", strerror(-err));
	gw_l7_stop(l7, 0);
	return err;
}

int gw_l7_reload(struct gw_l7 *l7, const struct gw_cfg *cfg)
{
	struct gw_l7_snap *s;
	int err;

	/* A listener the new file adds must bind, else the whole reload
	 * fails and the running snapshot stays. */
	err = check_listeners(cfg, l7->pub.cur);
	if (err)
		return err;
	if (l7->ban)
		gw_authban_configure(l7->ban, &cfg->filter.ban.auth_failures,
				     cfg->filter.ban.duration_ns);
	err = snap_build(l7, cfg, l7->pub.cur, &s);
	if (err) {
		pr_warn("l7: the new routes/upstreams cannot be built (%s); the running ones "
			"stay\n", strerror(-err));
		return err;
	}
	snap_publish(l7, s);
	health_sync(l7, s);
	splice_load(l7, cfg);
	pr_info("l7: snapshot %llu: %zu listeners, %zu upstreams, %zu routes\n",
		(unsigned long long)s->gen, s->n_ls, s->n_ups, s->rt->n);
	return 0;
}

/* Drains that run on after gw_l7_stop_async(): how many are left. */
static pthread_mutex_t drains_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drains_cv = PTHREAD_COND_INITIALIZER;
static unsigned int drains;

/* The part of a stop that touches gwd's loop (main thread): health checks
 * and the ticket key timer go; workers are told to close their listeners
 * and drain for up to drain_ns. */
static void stop_begin(struct gw_l7 *l7, __u64 drain_ns)
{
	struct l7_hc *hc;
	unsigned int i;
	__u64 one = 1;

	while ((hc = l7->hcs)) {
		l7->hcs = hc->next;
		hc_free(hc);
	}
	gw_health_free(l7->health);
	l7->health = NULL;
	if (l7->main_loop)
		gw_timer_stop(l7->main_loop, &l7->tls_rotate);
	gw_authset_unwatch(cur_auth(l7));
	l7->main_loop = NULL;
	l7->drain_ns = drain_ns;
	__atomic_store_n(&l7->stopping, 1, __ATOMIC_RELEASE);
	for (i = 0; i < l7->n_workers; i++)
		if (l7->w[i].efd >= 0 && write(l7->w[i].efd, &one, sizeof(one)) < 0)
			pr_debug("l7: cannot wake worker %u\n", i);
}

/* The rest of a stop (any thread): waits for the workers and frees
 * everything. */
static void stop_finish(struct gw_l7 *l7)
{
	struct gw_l7_lstats *ls;
	struct gw_l7_rstats *st;
	struct l7_log *lg;
	unsigned int i;

	for (i = 0; i < l7->n_workers; i++)
		if (l7->w[i].started)
			pthread_join(l7->w[i].th, NULL);
	for (i = 0; i < l7->n_workers; i++)
		worker_fini(&l7->w[i]);
	gw_l7_snap_put(l7->pub.cur);
	while ((lg = l7->logs)) {
		l7->logs = lg->next;
		gw_accesslog_close(lg->log);
		free(lg->path);
		free(lg);
	}
	while ((st = l7->stats)) {
		l7->stats = st->next;
		free(st->label);
		free(st);
	}
	while ((ls = l7->lstats)) {
		l7->lstats = ls->next;
		free(ls->name);
		free(ls);
	}
	gw_l7limit_free(l7->limits);
	gw_authban_free(l7->ban);
	gw_tls_keys_put(l7->tls_keys);
	free(l7->limited);
	free(l7->w);
	free(l7->pin_root);
	pthread_mutex_destroy(&l7->pub.mu);
	free(l7);
}

void gw_l7_stop(struct gw_l7 *l7, __u64 drain_ns)
{
	if (!l7)
		return;
	stop_begin(l7, drain_ns);
	stop_finish(l7);
}

static void *drain_main(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	stop_finish(arg);
	pr_info("l7: the stopped runtime has drained\n");
	pthread_mutex_lock(&drains_mu);
	drains--;
	pthread_cond_broadcast(&drains_cv);
	pthread_mutex_unlock(&drains_mu);
	return NULL;
}

void gw_l7_stop_async(struct gw_l7 *l7, __u64 drain_ns)
{
	pthread_attr_t a;
	pthread_t th;
	int err;

	if (!l7)
		return;
	stop_begin(l7, drain_ns);
	pthread_mutex_lock(&drains_mu);
	drains++;
	pthread_mutex_unlock(&drains_mu);
	err = pthread_attr_init(&a);
	if (!err) {
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&th, &a, drain_main, l7);
		pthread_attr_destroy(&a);
	}
	if (!err)
		return;
	pr_warn("l7: no drain thread (%s); draining on this one\n", strerror(err));
	drain_main(l7);
}

void gw_l7_drains_wait(void)
{
	pthread_mutex_lock(&drains_mu);
	while (drains)
		pthread_cond_wait(&drains_cv, &drains_mu);
	pthread_mutex_unlock(&drains_mu);
}

/* ---- metrics ------------------------------------------------------------------------ */

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

static const char *const to_phase_names[GW_L7_TO_PHASES] = {
	[GW_L7_TO_TLS] = "tls_handshake", [GW_L7_TO_HEADER] = "header",
	[GW_L7_TO_IDLE] = "idle",	  [GW_L7_TO_BODY] = "body",
	[GW_L7_TO_SEND] = "send",
};

/* 1 when key is in a slot of st before worker i's slot j (rendered there). */
static int answer_seen(const struct gw_l7_rstats *st, unsigned int i, size_t j, __u32 key)
{
	unsigned int w;
	size_t k;

	for (w = 0; w <= i; w++) {
		for (k = 0; k < (w == i ? j : GW_L7_ANSWER_SLOTS); k++) {
			if (__atomic_load_n(&st->w[w].answers[k].key, __ATOMIC_ACQUIRE) == key)
				return 1;
		}
	}
	return 0;
}

/* A per-listener counter of struct gw_l7_lstats (the __u64 at off) as
 * NAME{listener}. */
static void lstats_counter(FILE *f, struct gw_l7 *l7, const char *name, const char *help,
			   size_t off)
{
	const struct gw_l7_lstats *lst;

	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (lst = l7->lstats; lst; lst = lst->next) {
		fprintf(f, "%s{listener=\"", name);
		gw_prom_label(f, lst->name);
		fprintf(f, "\"} %llu\n",
			(unsigned long long)LD((const __u64 *)((const char *)lst + off)));
	}
}

/* gw_http_gateway_answers_total{route,code,reason}: the answers gwd made
 * itself, each (reason, status) pair of a route once, summed over the
 * workers. */
static void answers_render(struct gw_l7 *l7, FILE *f)
{
	const struct gw_l7_rstats *st;
	unsigned int i;
	__u64 n;
	size_t j;

	fputs("# HELP gw_http_gateway_answers_total Answers gwd made itself (not the "
	      "upstream's), by route, status and reason.\n"
	      "# TYPE gw_http_gateway_answers_total counter\n", f);
	for (st = l7->stats; st; st = st->next) {
		__u64 other = 0;

		for (i = 0; i < l7->n_workers; i++) {
			other += LD(&st->w[i].answers_other);
			for (j = 0; j < GW_L7_ANSWER_SLOTS; j++) {
				__u32 key = __atomic_load_n(&st->w[i].answers[j].key,
							    __ATOMIC_ACQUIRE);
				const char *name = gw_l7_reason_name(key >> 16);

				if (!key || !name || answer_seen(st, i, j, key))
					continue;
				n = gw_l7_answers(st->w, l7->n_workers, key);
				fputs("gw_http_gateway_answers_total{route=\"", f);
				gw_prom_label(f, st->label);
				fprintf(f, "\",code=\"%u\",reason=\"%s\"} %llu\n", key & 0xffff,
					name, (unsigned long long)n);
			}
		}
		if (!other)
			continue;
		fputs("gw_http_gateway_answers_total{route=\"", f);
		gw_prom_label(f, st->label);
		fprintf(f, "\",code=\"other\",reason=\"other\"} %llu\n", (unsigned long long)other);
	}
}

/* The sockmap splice's metrics: live connections, bytes the kernel moved,
 * connections spliced by route, and unsplices by reason. */
static void splice_render(struct gw_l7 *l7, FILE *f)
{
	static const char *const why[GW_SPLICE_WHY_MAX] = { "stall", "lag", "parked",
							     "reset" };
	__u64 up, down, started, n[GW_SPLICE_WHY_MAX];
	struct gw_l7_rstats *st;
	unsigned int i, k;

	gw_splice_totals(&up, &down, &started, n);
	fprintf(f, "# HELP gw_spliced_connections Connections the kernel moves (sockmap).\n"
		"# TYPE gw_spliced_connections gauge\ngw_spliced_connections %ld\n"
		"# HELP gw_spliced_bytes_total Bytes the kernel moved for spliced connections.\n"
		"# TYPE gw_spliced_bytes_total counter\n"
		"gw_spliced_bytes_total{direction=\"up\"} %llu\n"
		"gw_spliced_bytes_total{direction=\"down\"} %llu\n"
		"# HELP gw_splice_unspliced_total Spliced connections handed back to user space, "
		"by reason.\n# TYPE gw_splice_unspliced_total counter\n",
		gw_splice_live(), (unsigned long long)up, (unsigned long long)down);
	for (k = 0; k < GW_SPLICE_WHY_MAX; k++)
		fprintf(f, "gw_splice_unspliced_total{reason=\"%s\"} %llu\n", why[k],
			(unsigned long long)n[k]);
	fputs("# HELP gw_spliced_connections_total Connections handed to the kernel, by "
	      "route.\n# TYPE gw_spliced_connections_total counter\n", f);
	for (st = l7->stats; st; st = st->next) {
		__u64 c = 0;

		for (i = 0; i < l7->n_workers; i++)
			c += LD(&st->w[i].spliced);
		if (!c)
			continue;
		fputs("gw_spliced_connections_total{route=\"", f);
		gw_prom_label(f, st->label);
		fprintf(f, "\"} %llu\n", (unsigned long long)c);
	}
}

int gw_l7_metrics(struct gw_l7 *l7, FILE *f)
{
	unsigned int ncodes = gw_l7_code_slots();
	struct gw_l7_lstats *lst;
	struct gw_l7_rstats *st;
	const struct gw_l7_snap *s = l7->pub.cur;
	unsigned int i, k;
	size_t u, j;
	__u64 now;
	struct timespec ts;

	fputs("# HELP gw_http_requests_total HTTP requests answered, by route and status.\n"
	      "# TYPE gw_http_requests_total counter\n", f);
	for (st = l7->stats; st; st = st->next) {
		for (k = 0; k < ncodes; k++) {
			__u64 n = 0;

			for (i = 0; i < l7->n_workers; i++)
				n += LD(&st->w[i].codes[k]);
			if (!n)
				continue;
			fputs("gw_http_requests_total{route=\"", f);
			gw_prom_label(f, st->label);
			if (k)
				fprintf(f, "\",code=\"%d\"} %llu\n", gw_l7_slot_code(k),
					(unsigned long long)n);
			else
				fprintf(f, "\",code=\"other\"} %llu\n", (unsigned long long)n);
		}
	}
	answers_render(l7, f);
	splice_render(l7, f);
	gw_ktls_metrics(f);
	fputs("# HELP gw_http_request_duration_seconds Time from request head to the last "
	      "response byte, by route.\n"
	      "# TYPE gw_http_request_duration_seconds histogram\n", f);
	for (st = l7->stats; st; st = st->next) {
		__u64 cum = 0, sum = 0, cnt = 0;

		for (i = 0; i < l7->n_workers; i++)
			cnt += LD(&st->w[i].count);
		if (!cnt)
			continue;
		for (k = 0; k < GW_L7_HIST_BUCKETS; k++) {
			for (i = 0; i < l7->n_workers; i++)
				cum += LD(&st->w[i].hist[k]);
			fputs("gw_http_request_duration_seconds_bucket{route=\"", f);
			gw_prom_label(f, st->label);
			if (k < GW_L7_HIST_BUCKETS - 1)
				fprintf(f, "\",le=\"%g\"} %llu\n", gw_l7_hist_bounds_us[k] / 1e6,
					(unsigned long long)cum);
			else
				fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		for (i = 0; i < l7->n_workers; i++)
			sum += LD(&st->w[i].sum_us);
		fputs("gw_http_request_duration_seconds_sum{route=\"", f);
		gw_prom_label(f, st->label);
		fprintf(f, "\"} %.6f\n", sum / 1e6);
		fputs("gw_http_request_duration_seconds_count{route=\"", f);
		gw_prom_label(f, st->label);
		fprintf(f, "\"} %llu\n", (unsigned long long)cnt);
	}
	fputs("# HELP gw_http_client_timeouts_total Client connections a listener's timeout "
	      "ended, by phase.\n# TYPE gw_http_client_timeouts_total counter\n", f);
	for (lst = l7->lstats; lst; lst = lst->next) {
		for (k = 0; k < GW_L7_TO_PHASES; k++) {
			fputs("gw_http_client_timeouts_total{listener=\"", f);
			gw_prom_label(f, lst->name);
			fprintf(f, "\",phase=\"%s\"} %llu\n", to_phase_names[k],
				(unsigned long long)LD(&lst->timeouts[k]));
		}
	}
	lstats_counter(f, l7, "gw_http2_connections_total", "HTTP/2 client connections, by listener.",
		       offsetof(struct gw_l7_lstats, h2_conns));
	lstats_counter(f, l7, "gw_http2_abuse_total", "HTTP/2 connections ended with GOAWAY "
		       "ENHANCE_YOUR_CALM (floods, rapid reset).",
		       offsetof(struct gw_l7_lstats, h2_calm));
	fputs("# HELP gw_auth_failures_total Requests refused by auth, by reason.\n"
	      "# TYPE gw_auth_failures_total counter\n", f);
	for (k = 1; k < GW_AUTH_REASON_COUNT; k++)
		fprintf(f, "gw_auth_failures_total{reason=\"%s\"} %llu\n",
			gw_auth_reason_name((enum gw_auth_reason)k),
			(unsigned long long)gw_auth_failures((enum gw_auth_reason)k));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	fputs("# HELP gw_upstream_server_up 1 when the server is in rotation (not ejected, not "
	      "down by health checks).\n# TYPE gw_upstream_server_up gauge\n", f);
	for (u = 0; s && u < s->n_ups; u++) {
		for (j = 0; j < s->ups[u].n_servers; j++) {
			fputs("gw_upstream_server_up{upstream=\"", f);
			gw_prom_label(f, s->ups[u].name);
			fprintf(f, "\",server=\"%s\"} %d\n", s->ups[u].servers[j].name,
				gw_srv_in_rotation(s->ups[u].servers[j].st, now));
		}
	}
	gw_breaker_render_help(f);
	for (u = 0; s && u < s->n_ups; u++)
		gw_breaker_render(f, s->ups[u].name, s->ups[u].brk, gw_prom_label);
	fputs("# HELP gw_upstream_panic 1 when every server of the upstream is down by health "
	      "checks and all of them take requests (fail open).\n"
	      "# TYPE gw_upstream_panic gauge\n", f);
	for (u = 0; s && u < s->n_ups; u++) {
		fputs("gw_upstream_panic{upstream=\"", f);
		gw_prom_label(f, s->ups[u].name);
		fprintf(f, "\"} %d\n", gw_upstream_panic(&s->ups[u]));
	}
	if (s)
		gw_uptls_prom(f, s->ups, s->n_ups);
	return 0;
}

int gw_l7_route_counts(struct gw_l7 *l7, int (*fn)(const struct gw_l7_route_count *c, void *arg),
		       void *arg)
{
	unsigned int ncodes = gw_l7_code_slots(), i, k;
	const struct gw_l7_rstats *st;
	struct gw_l7_route_count c;
	int err;

	for (st = l7->stats; st; st = st->next) {
		memset(&c, 0, sizeof(c));
		c.label = st->label;
		for (i = 0; i < l7->n_workers; i++) {
			for (k = 0; k < ncodes; k++) {
				__u64 n = LD(&st->w[i].codes[k]);
				int code = k ? gw_l7_slot_code(k) : 0;

				c.requests += n;
				c.errors += code >= 500 ? n : 0;
				c.limited += code == 429 ? n : 0;
			}
			for (k = 0; k < GW_L7_HIST_BUCKETS; k++)
				c.hist[k] += LD(&st->w[i].hist[k]);
		}
		err = fn(&c, arg);
		if (err)
			return err;
	}
	return 0;
}

/* ---- admin -------------------------------------------------------------------------- */

static const char *balance_name(int b)
{
	return b == GW_BALANCE_LEAST_CONN ? "least_conn" :
	       b == GW_BALANCE_MAGLEV	  ? "maglev" :
					    "round_robin";
}

int gw_l7_upstream_list(struct gw_l7 *l7, json_t **out)
{
	const struct gw_l7_snap *s = l7->pub.cur;
	json_t *arr = json_array();
	struct timespec ts;
	__u64 now;
	size_t u, j;

	if (!arr)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	for (u = 0; u < s->n_ups; u++) {
		const struct gw_upstream *up = &s->ups[u];
		json_t *srv = json_array();

		for (j = 0; j < up->n_servers; j++) {
			const struct gw_up_server *v = &up->servers[j];
			__u64 until = LD(&v->st->ejected_until);

			const char *hs = health_of(l7, v->st);

			json_array_append_new(
				srv, json_pack("{s:s,s:i,s:b,s:b,s:I,s:i,s:i,s:I,s:I,s:s?}", "address",
					       v->name, "weight", (int)v->weight, "up",
					       gw_srv_in_rotation(v->st, now), "draining",
					       v->weight == 0, "ejected_ms",
					       (json_int_t)(until > now ? (until - now) / 1000000 : 0),
					       "ejections", (int)LD(&v->st->ejections), "active", LD(&v->st->active), "requests",
					       (json_int_t)gw_srv_requests(v->st), "failures",
					       (json_int_t)LD(&v->st->failures), "health", hs));
		}
		json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:b,s:o}", "name", up->name,
						     "balance", balance_name(up->balance),
						     "retries", (int)up->retries, "panic",
						     gw_upstream_panic(up), "servers", srv));
	}
	*out = arr;
	return 0;
}

int gw_l7_route_list(struct gw_l7 *l7, json_t **out)
{
	const struct gw_l7_snap *s = l7->pub.cur;
	json_t *arr = json_array();
	size_t i;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < s->rt->n; i++) {
		const struct gw_l7_route *r = &s->rt->r[i];
		json_t *o = json_pack("{s:i,s:s,s:s?}", "index", (int)r->r->index, "route",
				      r->r->label, "name", r->r->name);

		if (!o)
			continue;
		if (r->upstream >= 0)
			json_object_set_new(o, "upstream", json_string(s->ups[r->upstream].name));
		else
			json_object_set_new(o, "respond", json_integer(r->r->respond_status));
		json_object_set_new(o, "auth", r->r->auth ? json_string(r->r->auth) : json_null());
		json_object_set_new(o, "strip_prefix", json_boolean(r->r->strip_prefix));
		json_object_set_new(o, "rate_limited", json_boolean(r->r->rate_limit.rate.count));
		json_array_append_new(arr, o);
	}
	*out = arr;
	return 0;
}

/* The config entry an upstream was built from (servers as listed now). The
 * servers array is new; the caller frees it. Returns 0 or -ENOMEM. */
static int upstream_cfg_of(const struct gw_upstream *up, struct gw_cfg_upstream *c,
			   size_t extra)
{
	size_t j;

	memset(c, 0, sizeof(*c));
	c->name = up->name;
	c->balance = up->balance;
	c->timeouts.connect_ns = up->connect_ns;
	c->timeouts.response_ns = up->response_ns;
	c->timeouts.idle_ns = up->idle_ns;
	c->retries = up->retries;
	c->protocol = up->protocol;
	c->health.unhealthy = up->eject_fails;
	c->health.path = up->hc_path;
	c->health.interval_ns = up->hc_interval_ns;
	c->health.pos.line = up->hc_interval_ns ? 1 : 0;
	c->health.timeout_ns = up->hc_timeout_ns;
	c->health.healthy = up->hc_rise;
	c->limits.pos.line = -1;	/* the breaker keeps its limits (l7/breaker.h) */
	c->servers = calloc(up->n_servers + extra + 1, sizeof(*c->servers));
	if (!c->servers)
		return -ENOMEM;
	for (j = 0; j < up->n_servers; j++) {
		c->servers[j].address = up->servers[j].addr;
		c->servers[j].weight = up->servers[j].weight;
	}
	c->n_servers = up->n_servers;
	return 0;
}

/* A copy of cur with upstream u rebuilt from c. Returns 0 or -errno. */
static int snap_with_upstream(struct gw_l7 *l7, size_t u, const struct gw_cfg_upstream *c,
			      struct gw_l7_snap **out)
{
	const struct gw_l7_snap *cur = l7->pub.cur;
	struct gw_cfg_upstream uc;
	struct gw_l7_snap *s;
	size_t i;
	int err = -ENOMEM;

	s = snap_alloc(cur->n_ls, cur->n_ups);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < cur->n_ls; i++) {
		if (snap_add_listener(l7, s, cur->ls[i].name, &cur->ls[i].addr, cur->ls[i].tls,
				      &cur->ls[i].to))
			goto fail;
		s->ls[i].cauth = gw_cauth_get(cur->ls[i].cauth);
	}
	for (i = 0; i < cur->n_ups; i++) {
		if (i == u) {
			err = gw_upstream_build(&s->ups[i], c, &cur->ups[i], l7->n_workers);
		} else {
			err = upstream_cfg_of(&cur->ups[i], &uc, 0);
			if (!err)
				err = gw_upstream_build(&s->ups[i], &uc, &cur->ups[i],
							l7->n_workers);
			free(uc.servers);
		}
		if (err)
			goto fail;
		s->n_ups++;
		s->ups[i].tls = gw_uptls_get(cur->ups[i].tls);
	}
	s->rt = cur->rt;
	__atomic_fetch_add(&s->rt->refs, 1, __ATOMIC_RELAXED);
	s->nomatch = cur->nomatch;
	s->alog = cur->alog;
	s->tls = cur->tls ? gw_tls_set_get(cur->tls) : NULL;
	*out = s;
	return 0;
fail:
	gw_l7_snap_put(s);
	return err;
}

int gw_l7_server_change(struct gw_l7 *l7, const char *op, const char *upstream,
			const char *addr, __u32 weight, char *err, size_t errlen)
{
	const struct gw_l7_snap *cur = l7->pub.cur;
	struct gw_cfg_upstream c;
	struct gw_endpoint e;
	struct gw_l7_snap *s;
	size_t u, j;
	int rc;

	for (u = 0; u < cur->n_ups; u++)
		if (!strcmp(cur->ups[u].name, upstream))
			break;
	if (u == cur->n_ups) {
		snprintf(err, errlen, "no upstream %s", upstream);
		return -ENOENT;
	}
	if (gw_endpoint_parse_msg(addr, &e, err, errlen))
		return -EINVAL;
	rc = upstream_cfg_of(&cur->ups[u], &c, 1);
	if (rc)
		return rc;
	for (j = 0; j < c.n_servers; j++)
		if (!memcmp(&c.servers[j].address, &e, sizeof(e)))
			break;
	if (!strcmp(op, "add")) {
		if (j < c.n_servers) {
			if (c.servers[j].weight) {
				snprintf(err, errlen, "%s is already in %s", addr, upstream);
				rc = -EEXIST;
				goto out;
			}
			c.servers[j].weight = weight ? weight : 1;	/* undrain */
		} else {
			c.servers[c.n_servers].address = e;
			c.servers[c.n_servers].weight = weight ? weight : 1;
			c.n_servers++;
		}
	} else if (j == c.n_servers) {
		snprintf(err, errlen, "%s is not in %s", addr, upstream);
		rc = -ENOENT;
		goto out;
	} else if (!strcmp(op, "del")) {
		memmove(&c.servers[j], &c.servers[j + 1], (c.n_servers - j - 1) * sizeof(c.servers[0]));
		c.n_servers--;
	} else if (!strcmp(op, "drain")) {
		c.servers[j].weight = 0;
	} else {
		snprintf(err, errlen, "unknown operation %s", op);
		rc = -EINVAL;
		goto out;
	}
	rc = snap_with_upstream(l7, u, &c, &s);
	if (rc) {
		snprintf(err, errlen, "%s", strerror(-rc));
		goto out;
	}
	snap_publish(l7, s);
	health_sync(l7, s);
	pr_info("l7: upstream %s: server %s %s (live, until the next reload)\n", upstream, addr,
		!strcmp(op, "add") ? "added" : !strcmp(op, "del") ? "removed" : "draining");
out:
	free(c.servers);
	return rc;
}
