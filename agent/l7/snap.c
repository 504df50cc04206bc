// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The L7 snapshot (snap.h): references, route lookup, status-code slots,
 * the request context's string store, and publication to the workers.
 */
#include <stdlib.h>
#include <string.h>

#include "l7/snap.h"

/* From 100 us (a proxied request on a quiet host) to 10 s. */
const __u64 gw_l7_hist_bounds_us[GW_L7_HIST_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

/* ---- status code slots ---------------------------------------------------------- */

static const short known_codes[] = {
	0,   100, 101, 200, 201, 202, 203, 204, 205, 206, 207, 300, 301, 302, 303, 304,
	307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413,
	414, 415, 416, 417, 418, 421, 422, 425, 426, 428, 429, 431, 451, 499, 500, 501,
	502, 503, 504, 505, 507, 508, 511,
};
static __u8 code_slot[600];

__attribute__((constructor)) static void code_slots_init(void)
{
	size_t i;

	for (i = 1; i < sizeof(known_codes) / sizeof(known_codes[0]); i++)
		code_slot[known_codes[i]] = (__u8)i;
}

unsigned int gw_l7_code_slot(int code)
{
	return code > 0 && code < 600 ? code_slot[code] : 0;
}

unsigned int gw_l7_code_slots(void)
{
	return sizeof(known_codes) / sizeof(known_codes[0]);
}

int gw_l7_slot_code(unsigned int slot)
{
	return slot < sizeof(known_codes) / sizeof(known_codes[0]) ? known_codes[slot] : 0;
}

/* ---- answers of the gateway's own -------------------------------------------------- */

static const char *const reason_names[GW_L7_REASONS] = {
	[GW_L7_R_BAD_REQUEST] = "bad_request",
	[GW_L7_R_HEAD_TOO_LARGE] = "head_too_large",
	[GW_L7_R_BAD_BODY] = "bad_body",
	[GW_L7_R_BODY_TOO_LARGE] = "body_too_large",
	[GW_L7_R_CLIENT_TIMEOUT] = "client_timeout",
	[GW_L7_R_NO_ROUTE] = "no_route",
	[GW_L7_R_AUTH] = "auth",
	[GW_L7_R_RATE_LIMITED] = "rate_limited",
	[GW_L7_R_RESPOND] = "respond",
	[GW_L7_R_URI_TOO_LONG] = "uri_too_long",
	[GW_L7_R_UPSTREAM_HEAD] = "upstream_head",
	[GW_L7_R_NO_SERVER] = "no_server",
	[GW_L7_R_CONNECT_FAILED] = "connect_failed",
	[GW_L7_R_UPSTREAM_FAILED] = "upstream_failed",
	[GW_L7_R_UPSTREAM_TIMEOUT] = "upstream_timeout",
	[GW_L7_R_UPSTREAM_TLS] = "upstream_tls",
	[GW_L7_R_IP_DENIED] = "ip_denied",
	[GW_L7_R_CORS] = "cors_preflight",
	[GW_L7_R_CIRCUIT_OPEN] = "circuit_open",
};

const char *gw_l7_reason_name(unsigned int reason)
{
	return reason < GW_L7_REASONS ? reason_names[reason] : NULL;
}

void gw_l7_count_answer(struct gw_l7_rstats_w *s, unsigned int reason, int status)
{
	__u32 key = reason << 16 | (__u32)(status & 0xffff);
	size_t i;

	for (i = 0; i < GW_L7_ANSWER_SLOTS; i++) {
		struct gw_l7_answer_ctr *a = &s->answers[i];

		if (a->key == key) {
			__atomic_store_n(&a->n, a->n + 1, __ATOMIC_RELAXED);
			return;
		}
		if (!a->key) {
			/* the count first: a reader that sees the key sees it */
			__atomic_store_n(&a->n, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&a->key, key, __ATOMIC_RELEASE);
			return;
		}
	}
	__atomic_store_n(&s->answers_other, s->answers_other + 1, __ATOMIC_RELAXED);
}

__u64 gw_l7_answers(const struct gw_l7_rstats_w *s, unsigned int n, __u32 key)
{
	__u64 sum = 0;
	unsigned int w;
	size_t i;

	for (w = 0; w < n; w++) {
		for (i = 0; i < GW_L7_ANSWER_SLOTS; i++) {
			if (__atomic_load_n(&s[w].answers[i].key, __ATOMIC_ACQUIRE) == key) {
				sum += __atomic_load_n(&s[w].answers[i].n, __ATOMIC_RELAXED);
				break;
			}
		}
	}
	return sum;
}

/* ---- snapshots ------------------------------------------------------------------- */

static void route_free(struct gw_l7_route *r)
{
	free(r->add);
	free(r->remove);
	if (r->auth.free)
		r->auth.free(r->auth.state);
	if (r->limit.free)
		r->limit.free(r->limit.state);
}

void gw_l7_routes_put(struct gw_l7_routes *rt)
{
	size_t i;

	if (!rt || __atomic_sub_fetch(&rt->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; rt->r && i < rt->n; i++)
		route_free(&rt->r[i]);
	free(rt->r);
	gw_route_table_put(rt->tbl);
	gw_authset_free(rt->auth);
	free(rt);
}

void gw_l7_snap_get(struct gw_l7_snap *s)
{
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
}

void gw_l7_snap_put(struct gw_l7_snap *s)
{
	size_t i;

	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < s->n_ls; i++) {
		free(s->ls[i].name);
		gw_cauth_put(s->ls[i].cauth);
	}
	free(s->ls);
	for (i = 0; i < s->n_ups; i++)
		gw_upstream_free(&s->ups[i]);
	free(s->ups);
	gw_l7_routes_put(s->rt);
	gw_tls_set_put(s->tls);
	free(s);
}

const char *gw_l7_ctx_keep(struct gw_l7_reqctx *ctx, const char *s, size_t len)
{
	char *d;

	if (len + 1 > sizeof(ctx->store) - ctx->store_len)
		return NULL;
	d = ctx->store + ctx->store_len;
	memcpy(d, s, len);
	d[len] = '\0';
	ctx->store_len += len + 1;
	return d;
}

const struct gw_l7_route *gw_l7_route_match(const struct gw_l7_snap *s,
					    const struct gw_route_req *rq)
{
	const struct gw_route *r = gw_route_match(s->rt->tbl, rq);

	return r && r->index < s->rt->n ? &s->rt->r[r->index] : NULL;
}

/* ---- publication ------------------------------------------------------------------ */

__u64 gw_l7_pub_set(struct gw_l7_pub *p, struct gw_l7_snap *s)
{
	struct gw_l7_snap *old;

	pthread_mutex_lock(&p->mu);
	old = p->cur;
	s->gen = old ? old->gen + 1 : 1;
	p->cur = s;
	__atomic_store_n(&p->gen, s->gen, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&p->mu);
	gw_l7_snap_put(old);
	return s->gen;
}

/* Moves v's current snapshot to the old list, or drops it when no request
 * uses it. */
static void view_retire_cur(struct gw_l7_view *v)
{
	if (!v->cur)
		return;
	if (!v->cur->local) {
		gw_l7_snap_put(v->cur->s);
		free(v->cur);
	} else {
		v->cur->next = v->old;
		v->old = v->cur;
	}
	v->cur = NULL;
}

struct gw_l7_wsnap *gw_l7_view_take(struct gw_l7_view *v, int *changed)
{
	struct gw_l7_wsnap *ws;

	*changed = 0;
	if (__atomic_load_n(&v->pub->gen, __ATOMIC_ACQUIRE) != v->gen) {
		/* out of memory: the request keeps the snapshot it had */
		ws = calloc(1, sizeof(*ws));
		if (ws) {
			pthread_mutex_lock(&v->pub->mu);
			ws->s = v->pub->cur;
			gw_l7_snap_get(ws->s);
			pthread_mutex_unlock(&v->pub->mu);
			v->gen = ws->s->gen;
			view_retire_cur(v);
			v->cur = ws;
			*changed = 1;
		}
	}
	if (!v->cur)
		return NULL;
	v->cur->local++;
	return v->cur;
}

void gw_l7_view_drop(struct gw_l7_view *v, struct gw_l7_wsnap *ws)
{
	struct gw_l7_wsnap **pp;

	if (--ws->local || ws == v->cur)
		return;
	for (pp = &v->old; *pp; pp = &(*pp)->next) {
		if (*pp == ws) {
			*pp = ws->next;
			break;
		}
	}
	gw_l7_snap_put(ws->s);
	free(ws);
}

void gw_l7_view_clear(struct gw_l7_view *v)
{
	struct gw_l7_wsnap *ws;

	while ((ws = v->old)) {
		v->old = ws->next;
		gw_l7_snap_put(ws->s);
		free(ws);
	}
	if (v->cur) {
		gw_l7_snap_put(v->cur->s);
		free(v->cur);
		v->cur = NULL;
	}
}
