// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Health checks of L4 backends (l4health.h): the targets live in an array
 * sorted by (service key, backend), so a service's targets are contiguous
 * and a sync or a status lookup is a binary search. A state change that
 * moves a backend in or out of rotation marks its entry dirty; one
 * deferred flush per loop batch rewrites the down marks of each dirty
 * service (one table rebuild per service however many backends changed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "gw/abi.h"
#include "dp/apply.h"
#include "dp/l4health.h"
#include "core/log.h"
#include "dp/service.h"
#include "dp/show.h"

struct l4h_key {
	struct gw_svc_key svc;
	__be32 addr[4];
	__be16 port;
	__u8 family;
	__u8 pad;
};

struct l4h_entry {
	struct gw_l4health *lh;
	struct l4h_key key;
	struct gw_endpoint vip;
	__u8 proto;
	int dirty;
	int seen;
	int fail_open;			/* last known for its service */
	char name[64];			/* the service's, for messages */
	struct gw_health_target *t;
};

struct gw_l4health {
	struct gw_loop *loop;
	const struct gw_dp_maps *maps;
	struct gw_health *hc;
	struct l4h_entry **v;		/* sorted by key */
	size_t n;
	int flush_pending;
};

/* A snapshot of the valid backends (one walk of gw_backends per sync). */
struct be_list {
	struct gw_backend *b;
	size_t n, cap;
};

static int key_cmp(const struct l4h_key *a, const struct l4h_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

static int entry_cmp(const void *a, const void *b)
{
	return key_cmp(&(*(struct l4h_entry *const *)a)->key, &(*(struct l4h_entry *const *)b)->key);
}

static void key_make(const struct gw_svc_key *svc, const struct gw_endpoint *be,
		     struct l4h_key *k)
{
	memset(k, 0, sizeof(*k));
	k->svc = *svc;
	memcpy(k->addr, be->ip.addr, sizeof(k->addr));
	k->port = htons(be->port);
	k->family = be->ip.family;
}

/* Returns the entry with key k, or NULL. */
static struct l4h_entry *entry_find(const struct gw_l4health *lh, const struct l4h_key *k)
{
	size_t lo = 0, hi = lh->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(&lh->v[mid]->key, k);

		if (!c)
			return lh->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Returns the index of the first entry of service svc (or where it would be). */
static size_t svc_first(const struct gw_l4health *lh, const struct gw_svc_key *svc)
{
	size_t lo = 0, hi = lh->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(&lh->v[mid]->key.svc, svc, sizeof(*svc)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void be_ep(const struct l4h_key *k, struct gw_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->ip.family = k->family;
	memcpy(ep->ip.addr, k->addr, sizeof(ep->ip.addr));
	ep->port = ntohs(k->port);
}

/* Rewrites the down marks of service svc (vip, proto) from its targets
 * and reports a change of its fail-open state. Returns 0 or -errno. */
static int svc_marks_write(struct gw_l4health *lh, const struct gw_svc_key *svc,
			   const struct gw_endpoint *vip, __u8 proto, const char *name)
{
	size_t first = svc_first(lh, svc), i, n_down = 0;
	struct gw_endpoint *down = NULL;
	int err, changed = 0, open = 0, was_open = 0;

	for (i = first; i < lh->n && !memcmp(&lh->v[i]->key.svc, svc, sizeof(*svc)); i++)
		;
	if (i > first) {
		down = calloc(i - first, sizeof(*down));
		if (!down)
			return -ENOMEM;
	}
	for (i = first; i < lh->n && !memcmp(&lh->v[i]->key.svc, svc, sizeof(*svc)); i++) {
		was_open |= lh->v[i]->fail_open;
		lh->v[i]->dirty = 0;
		if (gw_health_state_of(lh->v[i]->t) == GW_HS_DOWN)
			be_ep(&lh->v[i]->key, &down[n_down++]);
	}
	err = gw_service_health_set(&lh->maps->lb, vip, proto, down, n_down, &changed, &open);
	free(down);
	if (err) {
		if (err != -ENOENT)
			pr_warn("health: service %s: cannot write down marks: %s\n", name,
				strerror(-err));
		return err;
	}
	for (i = first; i < lh->n && !memcmp(&lh->v[i]->key.svc, svc, sizeof(*svc)); i++)
		lh->v[i]->fail_open = open;
	if (open && !was_open)
		pr_warn("health: service %s: every backend is down; new flows go to all of them "
			"(fail open)\n", name);
	else if (!open && was_open)
		pr_info("health: service %s: a backend is up again; fail open ends\n", name);
	if (changed)
		pr_debug("health: service %s: table rebuilt with %zu backend(s) down\n", name,
			 n_down);
	return 0;
}

/* After a batch of events: the marks of every service with a change. */
static void flush(void *arg)
{
	struct gw_l4health *lh = arg;
	size_t i;

	lh->flush_pending = 0;
	for (i = 0; i < lh->n; i++) {
		struct l4h_entry *e = lh->v[i];

		if (e->dirty)
			svc_marks_write(lh, &e->key.svc, &e->vip, e->proto, e->name);
	}
}

static void on_change(struct gw_health_target *t, enum gw_health_state old,
		      enum gw_health_state now, void *arg)
{
	struct l4h_entry *e = arg;
	struct gw_l4health *lh = e->lh;
	struct gw_health_info in;
	struct gw_endpoint ep;
	char be[GW_ADDR_STRLEN];

	gw_health_info_get(t, &in);
	be_ep(&e->key, &ep);
	gw_endpoint_str(&ep, be, sizeof(be));
	if (now == GW_HS_DOWN)
		pr_warn("health: service %s backend %s is down (%s)\n", e->name, be, in.reason);
	else if (old == GW_HS_DOWN)
		pr_info("health: service %s backend %s is up\n", e->name, be);
	else	/* first check passed: no news, and a thousand of them at start */
		pr_debug("health: service %s backend %s is up\n", e->name, be);
	if ((old == GW_HS_DOWN) == (now == GW_HS_DOWN))
		return;		/* unknown <-> up: in rotation either way */
	e->dirty = 1;
	if (!lh->flush_pending && !gw_loop_defer(lh->loop, flush, lh))
		lh->flush_pending = 1;
}

int gw_l4health_new(struct gw_loop *l, const struct gw_dp_maps *m, struct gw_l4health **out)
{
	struct gw_l4health *lh = calloc(1, sizeof(*lh));
	int err;

	if (!lh)
		return -ENOMEM;
	lh->loop = l;
	lh->maps = m;
	err = gw_health_new(l, GW_BACKEND_MAX, &lh->hc);
	if (err) {
		free(lh);
		return err;
	}
	*out = lh;
	return 0;
}

void gw_l4health_free(struct gw_l4health *lh)
{
	size_t i;

	if (!lh)
		return;
	for (i = 0; i < lh->n; i++) {
		gw_health_del(lh->v[i]->t);
		free(lh->v[i]);
	}
	free(lh->v);
	gw_health_free(lh->hc);
	free(lh);
}

static int collect_backend(__u32 id, const struct gw_backend *b, void *arg)
{
	struct be_list *bl = arg;

	if (bl->n == bl->cap) {
		size_t cap = bl->cap ? 2 * bl->cap : 64;
		struct gw_backend *nb = realloc(bl->b, cap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		bl->b = nb;
		bl->cap = cap;
	}
	bl->b[bl->n++] = *b;
	return 0;
}

/* The probe parameters of a backend of service s. */
static void params_of(const struct gw_cfg_service *s, const struct gw_backend *b,
		      struct gw_health_params *p)
{
	const struct gw_cfg_health *h = &s->health;

	memset(p, 0, sizeof(*p));
	p->kind = h->type == GW_HEALTH_HTTP ? GW_HC_HTTP : GW_HC_TCP;
	p->addr.ip.family = b->family;
	memcpy(p->addr.ip.addr, b->addr, sizeof(p->addr.ip.addr));
	p->addr.port = h->port ? (__u16)h->port : b->port ? ntohs(b->port) : (__u16)s->port;
	p->path = h->path;
	p->interval_ns = h->interval_ns;
	p->timeout_ns = h->timeout_ns;
	p->rise = h->healthy;
	p->fall = h->unhealthy;
}

/* 1 when service s asks for active checks. */
static int svc_checked(const struct gw_cfg_service *s)
{
	return s->health.pos.line && s->health.type != GW_HEALTH_UDP_NONE;
}

/* Appends to nv (room for it is there) the entries of one checked service:
 * existing ones updated, new ones created. Returns 0 or -errno. */
static int sync_service(struct gw_l4health *lh, const struct gw_cfg_service *s,
			const struct gw_svc_key *sk, const struct gw_svc *sv,
			const struct be_list *bl, struct l4h_entry **nv, size_t *nn)
{
	struct gw_health_params p;
	struct l4h_entry *e;
	struct l4h_key k;
	size_t i;
	int err;

	for (i = 0; i < bl->n; i++) {
		const struct gw_backend *b = &bl->b[i];
		struct gw_endpoint ep = { .ip.family = b->family, .port = ntohs(b->port) };

		if (b->svc_id != sv->id)
			continue;
		memcpy(ep.ip.addr, b->addr, sizeof(ep.ip.addr));
		key_make(sk, &ep, &k);
		params_of(s, b, &p);
		e = entry_find(lh, &k);
		if (e && !e->seen) {
			e->seen = 1;
			snprintf(e->name, sizeof(e->name), "%s", s->name);
			err = gw_health_update(e->t, &p);
			if (err)
				pr_warn("health: service %s: bad check parameters\n", s->name);
			nv[(*nn)++] = e;
			continue;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->lh = lh;
		e->key = k;
		e->vip.ip = s->vip;
		e->vip.port = (__u16)s->port;
		e->proto = (__u8)s->protocol;
		e->seen = 1;
		snprintf(e->name, sizeof(e->name), "%s", s->name);
		/* A mark a previous gwd left stands until checks clear it. */
		err = gw_health_add(lh->hc, &p, b->flags & GW_BE_F_DOWN ? GW_HS_DOWN :
					   GW_HS_UNKNOWN, on_change, e, &e->t);
		if (err) {
			pr_warn("health: service %s: cannot check a backend: %s\n", s->name,
				strerror(-err));
			free(e);
			continue;
		}
		nv[(*nn)++] = e;
	}
	return 0;
}

int gw_l4health_sync(struct gw_l4health *lh, const struct gw_cfg *cfg)
{
	struct be_list bl = { 0 };
	struct l4h_entry **nv = NULL;
	size_t i, nn = 0;
	int err, ret = 0;

	err = gw_dp_foreach_backend(lh->maps, (__u32)-1, collect_backend, &bl);
	if (err < 0) {
		pr_warn("health: cannot read the backends: %s\n", strerror(-err));
		free(bl.b);
		return err;
	}
	nv = calloc(bl.n + 1, sizeof(*nv));
	if (!nv) {
		free(bl.b);
		return -ENOMEM;
	}
	for (i = 0; i < lh->n; i++)
		lh->v[i]->seen = 0;
	for (i = 0; i < cfg->n_services; i++) {
		const struct gw_cfg_service *s = &cfg->services[i];
		struct gw_endpoint vip = { .ip = s->vip, .port = (__u16)s->port };
		struct gw_svc_key sk;
		struct gw_svc sv;

		if (!svc_checked(s) || gw_svc_lookup(lh->maps, &vip, (__u8)s->protocol, &sv))
			continue;
		gw_apply_svc_key(s, &sk);
		err = sync_service(lh, s, &sk, &sv, &bl, nv, &nn);
		if (err)
			ret = err;
	}
	for (i = 0; i < lh->n; i++) {
		if (lh->v[i]->seen)
			continue;
		gw_health_del(lh->v[i]->t);
		free(lh->v[i]);
	}
	free(lh->v);
	lh->v = nv;
	lh->n = nn;
	if (lh->n)
		qsort(lh->v, lh->n, sizeof(*lh->v), entry_cmp);
	/* Every configured service's marks: those of checked backends from
	 * their state, none for the rest (a service whose checks were turned
	 * off loses its marks). */
	for (i = 0; i < cfg->n_services; i++) {
		const struct gw_cfg_service *s = &cfg->services[i];
		struct gw_endpoint vip = { .ip = s->vip, .port = (__u16)s->port };
		struct gw_svc_key sk;

		gw_apply_svc_key(s, &sk);
		err = svc_marks_write(lh, &sk, &vip, (__u8)s->protocol, s->name);
		if (err && err != -ENOENT)
			ret = err;
	}
	free(bl.b);
	return ret;
}

int gw_l4health_get(const struct gw_l4health *lh, const struct gw_svc_key *svc,
		    const struct gw_endpoint *be, struct gw_health_info *info)
{
	struct l4h_entry *e;
	struct l4h_key k;

	key_make(svc, be, &k);
	e = entry_find(lh, &k);
	if (!e)
		return -1;
	gw_health_info_get(e->t, info);
	return (int)info->state;
}
