// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Upstream server sets (upstream.h): building them from the config, picking
 * a server, passive ejection and the per-worker idle pools.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/log.h"
#include "core/maglev.h"
#include "l7/upstream.h"
#include "l7/upstream_tls.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

void gw_srv_state_get(struct gw_srv_state *st)
{
	__atomic_fetch_add(&st->refs, 1, __ATOMIC_RELAXED);
}

void gw_srv_state_put(struct gw_srv_state *st)
{
	if (st && __atomic_sub_fetch(&st->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(st);
}

static struct gw_srv_state *srv_state_new(unsigned int n_workers)
{
	struct gw_srv_state *st;

	st = calloc(1, sizeof(*st) + n_workers * sizeof(st->pool[0]));
	if (!st)
		return NULL;
	st->refs = 1;
	st->n_workers = n_workers;
	return st;
}

void gw_endpoint_sockaddr(const struct gw_endpoint *e, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (e->ip.family == GW_FAMILY_V4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(e->port);
		memcpy(&s4->sin_addr, &e->ip.addr[0], 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(e->port);
		memcpy(&s6->sin6_addr, e->ip.addr, 16);
		*len = sizeof(*s6);
	}
}

/* The smallest table size of a short list of primes with at least 100 slots
 * per server. */
static __u32 maglev_size_for(size_t n)
{
	static const __u32 primes[] = { 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521 };
	size_t i;

	for (i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		if (primes[i] >= n * 100)
			return primes[i];
	return 131071;
}

static int build_maglev(struct gw_upstream *up)
{
	struct gw_maglev_entry *e;
	size_t i, n = 0;
	int err;

	e = calloc(up->n_servers ? up->n_servers : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < up->n_servers; i++) {
		if (!up->servers[i].weight)
			continue;
		e[n].key = &up->servers[i].addr;
		e[n].key_len = sizeof(up->servers[i].addr);
		e[n].weight = up->servers[i].weight;
		e[n].id = (__u32)i;
		n++;
	}
	up->maglev_size = 0;
	if (!n) {
		free(e);
		return 0;
	}
	up->maglev_size = maglev_size_for(n);
	up->maglev = calloc(up->maglev_size, sizeof(__u32));
	err = up->maglev ? gw_maglev_build(e, n, up->maglev, up->maglev_size) : -ENOMEM;
	free(e);
	return err;
}

int gw_upstream_build(struct gw_upstream *up, const struct gw_cfg_upstream *c,
		      const struct gw_upstream *prev, unsigned int n_workers)
{
	size_t i, j;
	int err = -ENOMEM;

	memset(up, 0, sizeof(*up));
	up->name = strdup(c->name);
	up->balance = c->balance;
	up->n_workers = n_workers;
	up->connect_ns = c->timeouts.connect_ns ? c->timeouts.connect_ns : 1000000000ull;
	up->response_ns = c->timeouts.response_ns ? c->timeouts.response_ns : 15000000000ull;
	up->idle_ns = c->timeouts.idle_ns ? c->timeouts.idle_ns : 60000000000ull;
	up->retries = c->retries;
	up->protocol = c->protocol;
	up->h2 = c->http2;
	up->eject_fails = c->health.unhealthy ? c->health.unhealthy : GW_UP_EJECT_FAILS;
	/* config.c fills defaults for an absent `health`: only one written
	 * in the file (it has a position) turns active checks on */
	up->hc_interval_ns = c->health.pos.line ? c->health.interval_ns : 0;
	up->hc_timeout_ns = c->health.timeout_ns;
	up->hc_rise = c->health.healthy ? c->health.healthy : 2;
	up->hc_fall = c->health.unhealthy ? c->health.unhealthy : 3;
	if (c->health.path) {
		up->hc_path = strdup(c->health.path);
		if (!up->hc_path)
			goto fail;
	}
	up->brk = gw_breaker_new(&c->limits, prev ? prev->brk : NULL);
	if (!up->brk)
		goto fail;
	up->servers = calloc(c->n_servers ? c->n_servers : 1, sizeof(*up->servers));
	up->w = aligned_alloc(64, n_workers * sizeof(*up->w));
	if (!up->name || !up->servers || !up->w)
		goto fail;
	memset(up->w, 0, n_workers * sizeof(*up->w));
	for (i = 0; i < c->n_servers; i++) {
		struct gw_up_server *s = &up->servers[i];

		s->addr = c->servers[i].address;
		s->weight = c->servers[i].weight;
		gw_endpoint_sockaddr(&s->addr, &s->sa, &s->salen);
		gw_endpoint_str(&s->addr, s->name, sizeof(s->name));
		for (j = 0; prev && j < prev->n_servers; j++) {
			if (!memcmp(&prev->servers[j].addr, &s->addr, sizeof(s->addr))) {
				s->st = prev->servers[j].st;
				gw_srv_state_get(s->st);
				break;
			}
		}
		if (!s->st)
			s->st = srv_state_new(n_workers);
		up->n_servers++;
		if (!s->st)
			goto fail;
	}
	for (i = 0; i < n_workers; i++) {
		up->w[i].cw = calloc(up->n_servers ? up->n_servers : 1, sizeof(__s64));
		if (!up->w[i].cw)
			goto fail;
	}
	if (up->balance == GW_BALANCE_MAGLEV) {
		err = build_maglev(up);
		if (err)
			goto fail;
	}
	return 0;
fail:
	gw_upstream_free(up);
	return err;
}

void gw_upstream_free(struct gw_upstream *up)
{
	size_t i;

	for (i = 0; up->servers && i < up->n_servers; i++)
		gw_srv_state_put(up->servers[i].st);
	for (i = 0; up->w && i < up->n_workers; i++)
		free(up->w[i].cw);
	free(up->w);
	free(up->servers);
	free(up->maglev);
	gw_uptls_put(up->tls);
	gw_breaker_put(up->brk);
	free(up->hc_path);
	free(up->name);
	memset(up, 0, sizeof(*up));
}

int gw_srv_in_rotation(const struct gw_srv_state *st, __u64 now)
{
	__u64 until = LD(&st->ejected_until);

	return !LD(&st->health_down) && (!until || until <= now);
}

int gw_upstream_usable(const struct gw_upstream *up, size_t i, __u64 now)
{
	const struct gw_up_server *s = &up->servers[i];

	return s->weight && gw_srv_in_rotation(s->st, now);
}

int gw_upstream_panic(const struct gw_upstream *up)
{
	size_t i, n = 0;

	for (i = 0; i < up->n_servers; i++) {
		if (!up->servers[i].weight)
			continue;
		if (!LD(&up->servers[i].st->health_down))
			return 0;
		n++;
	}
	return n > 0;
}

/* Usable in panic: what the health checks say is ignored, the rest holds. */
static int usable_in_panic(const struct gw_upstream *up, size_t i, __u64 now)
{
	const struct gw_up_server *s = &up->servers[i];
	__u64 until = LD(&s->st->ejected_until);

	return s->weight && (!until || until <= now);
}

int gw_upstream_poolable(const struct gw_upstream *up, const struct gw_srv_state *st,
			 __u64 now)
{
	__u64 until = LD(&st->ejected_until);

	if (until && until > now)
		return 0;
	return !LD(&st->health_down) || gw_upstream_panic(up);
}

typedef int (*usable_fn)(const struct gw_upstream *up, size_t i, __u64 now);

/* Smooth weighted round robin (as nginx does it): every usable server's
 * current weight grows by its weight, the largest wins and loses the
 * total. Returns the index or -1. */
static int pick_rr(struct gw_upstream *up, unsigned int worker, int avoid, __u64 now,
		   usable_fn usable)
{
	__s64 *cw = up->w[worker].cw, total = 0;
	int best = -1;
	size_t i;

	for (i = 0; i < up->n_servers; i++) {
		if ((int)i == avoid || !usable(up, i, now))
			continue;
		cw[i] += up->servers[i].weight;
		total += up->servers[i].weight;
		if (best < 0 || cw[i] > cw[best])
			best = (int)i;
	}
	if (best >= 0)
		cw[best] -= total;
	return best;
}

/* Fewest requests in flight relative to weight; ties go round robin.
 * Returns the index or -1. */
static int pick_least(struct gw_upstream *up, unsigned int worker, int avoid, __u64 now,
		      usable_fn usable)
{
	__s64 *cw = up->w[worker].cw;
	int best = -1;
	__u64 best_load = 0;
	size_t i;

	for (i = 0; i < up->n_servers; i++) {
		__u64 load;

		if ((int)i == avoid || !usable(up, i, now))
			continue;
		/* active/weight compared without division */
		load = ((__u64)(__u32)LD(&up->servers[i].st->active) << 16) / up->servers[i].weight;
		if (best < 0 || load < best_load ||
		    (load == best_load && cw[i] < cw[best])) {
			best = (int)i;
			best_load = load;
		}
	}
	if (best >= 0)
		cw[best]++;
	return best;
}

/* The hash's slot, or the next slots' servers while the slot's is not
 * usable. Returns the index or -1. */
static int pick_maglev(struct gw_upstream *up, __u32 hash, int avoid, __u64 now,
		       usable_fn usable)
{
	__u32 k, slot;

	if (!up->maglev_size)
		return -1;
	slot = hash % up->maglev_size;
	for (k = 0; k < up->maglev_size && k < 4096; k++) {
		__u32 i = up->maglev[(slot + k) % up->maglev_size];

		if ((int)i != avoid && usable(up, i, now))
			return (int)i;
	}
	return -1;
}

static int pick_with(struct gw_upstream *up, unsigned int worker, __u32 hash, int avoid,
		     __u64 now, usable_fn usable)
{
	switch (up->balance) {
	case GW_BALANCE_LEAST_CONN:
		return pick_least(up, worker, avoid, now, usable);
	case GW_BALANCE_MAGLEV:
		return pick_maglev(up, hash, avoid, now, usable);
	default:
		return pick_rr(up, worker, avoid, now, usable);
	}
}

int gw_upstream_pick(struct gw_upstream *up, unsigned int worker, __u32 hash, int avoid,
		     __u64 now)
{
	int i = pick_with(up, worker, hash, avoid, now, gw_upstream_usable);

	/* Nothing in rotation: when the checks have every server down
	 * (panic), all of them take requests, with their weights, but those
	 * passive ejection took out; the scan is paid only then. */
	if (i < 0 && gw_upstream_panic(up))
		i = pick_with(up, worker, hash, avoid, now, usable_in_panic);
	return i;
}

/* 1 when a server of up other than st's is in rotation at now (weight
 * > 0, not ejected, not down by checks), else 0. */
static int others_in_rotation(const struct gw_upstream *up, const struct gw_srv_state *st,
			      __u64 now)
{
	size_t i;

	for (i = 0; i < up->n_servers; i++) {
		if (up->servers[i].st != st && gw_upstream_usable(up, i, now))
			return 1;
	}
	return 0;
}

void gw_upstream_report(const struct gw_upstream *up, struct gw_srv_state *st, int ok,
			__u64 now)
{
	__u32 fails, ej;

	if (ok == GW_UP_OK) {
		if (LD(&st->fails))
			ST(&st->fails, 0);
		if (LD(&st->ejections) && !LD(&st->ejected_until))
			ST(&st->ejections, 0);
		else if (LD(&st->ejected_until) && LD(&st->ejected_until) <= now) {
			/* back in rotation and answering: forget the past */
			ST(&st->ejected_until, 0);
			ST(&st->ejections, 0);
		}
		return;
	}
	__atomic_fetch_add(&st->failures, 1, __ATOMIC_RELAXED);
	fails = __atomic_add_fetch(&st->fails, 1, __ATOMIC_RELAXED);
	ej = LD(&st->ejections);
	/* On probation (back from an ejection) one failure ejects again. */
	if (fails < up->eject_fails && !(ej && LD(&st->ejected_until)))
		return;
	if (LD(&st->ejected_until) > now)
		return;		/* already out */
	if (ok == GW_UP_FAIL_ANSWER && !others_in_rotation(up, st, now))
		return;		/* the last one in rotation stays (counted) */
	ej = __atomic_add_fetch(&st->ejections, 1, __ATOMIC_RELAXED);
	ST(&st->fails, 0);
	ST(&st->ejected_until,
	   now + (GW_UP_EJECT_BASE_NS << (ej - 1 < GW_UP_EJECT_MAX_SHIFT ? ej - 1 :
									   GW_UP_EJECT_MAX_SHIFT)));
}

struct gw_upconn *gw_pool_take(struct gw_srv_state *st, unsigned int worker)
{
	struct gw_up_pool *p = &st->pool[worker];
	struct gw_upconn *c = p->head;

	if (c)
		gw_pool_unlink(c);
	return c;
}

int gw_pool_put(struct gw_upconn *c)
{
	struct gw_up_pool *p = &c->st->pool[c->worker];

	if (p->n >= GW_UP_POOL_MAX)
		return -ENOSPC;
	c->next = p->head;
	if (p->head)
		p->head->pprev = &c->next;
	c->pprev = &p->head;
	p->head = c;
	p->n++;
	return 0;
}

void gw_pool_unlink(struct gw_upconn *c)
{
	if (!c->pprev)
		return;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->next = NULL;
	c->pprev = NULL;
	c->st->pool[c->worker].n--;
}

__u64 gw_srv_requests(const struct gw_srv_state *st)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < st->n_workers; i++)
		n += LD(&st->pool[i].requests);
	return n;
}

__u32 gw_up_hash_addr(const struct sockaddr_storage *sa)
{
	const __u8 *p;
	size_t n, i;
	__u32 h = 2166136261u;

	if (sa->ss_family == AF_INET) {
		p = (const __u8 *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		p = (const __u8 *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ (h >> 15);
}
