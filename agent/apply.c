// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "filter.h"
#include "log.h"
#include "ratelimit.h"
#include "service.h"

/* ------------------------------------------------------------------ */
/* Filter: a sorted set of (prefix, action) on each side, then the diff. */

struct rule_item {
	struct gw_cidr cidr;
	int action;
	int origin;
};

struct rule_set {
	struct rule_item *v;
	size_t n, cap;
};

static int cidr_cmp(const struct gw_cidr *a, const struct gw_cidr *b)
{
	int i;

	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family ? -1 : 1;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	for (i = 0; i < 4; i++) {
		__u32 x = ntohl(a->ip.addr[i]), y = ntohl(b->ip.addr[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	return cidr_cmp(&((const struct rule_item *)a)->cidr, &((const struct rule_item *)b)->cidr);
}

static int set_push(struct rule_set *s, const struct gw_cidr *c, int action, int origin)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct rule_item *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].cidr = *c;
	s->v[s->n].action = action;
	s->v[s->n].origin = origin;
	s->n++;
	return 0;
}

static const struct rule_item *set_find(const struct rule_set *s, const struct gw_cidr *c)
{
	struct rule_item key = { .cidr = *c };

	return s->n ? bsearch(&key, s->v, s->n, sizeof(key), item_cmp) : NULL;
}

/* Sorts the set and folds repeated prefixes: allow wins a tie. */
static void set_finish(struct rule_set *s)
{
	size_t i, out = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), item_cmp);
	for (i = 1; i < s->n; i++) {
		if (!cidr_cmp(&s->v[out].cidr, &s->v[i].cidr)) {
			if (s->v[i].action == GW_RULE_ALLOW)
				s->v[out].action = GW_RULE_ALLOW;
			continue;
		}
		s->v[++out] = s->v[i];
	}
	s->n = out + 1;
}

static int collect_static(const struct gw_filter_entry *e, void *arg)
{
	if (e->is_ban)
		return 0;
	return set_push(arg, &e->cidr, e->rule.action, e->rule.origin);
}

static int apply_filter(const struct gw_cfg *cfg, const struct gw_filter_maps *fm,
			struct gw_apply_stats *st)
{
	struct rule_set want = { 0 }, have = { 0 };
	char buf[GW_ADDR_STRLEN];
	size_t i;
	int err = 0;

	for (i = 0; !err && i < cfg->filter.n_deny; i++)
		err = set_push(&want, &cfg->filter.deny[i], GW_RULE_DENY, GW_ORIGIN_CONFIG);
	for (i = 0; !err && i < cfg->filter.n_allow; i++)
		err = set_push(&want, &cfg->filter.allow[i], GW_RULE_ALLOW, GW_ORIGIN_CONFIG);
	if (!err)
		err = gw_filter_foreach(fm, collect_static, &have);
	if (err)
		goto out;
	set_finish(&want);
	set_finish(&have);

	/* Removals first, so that an allow the file no longer has cannot
	 * shadow the deny the file now gives for the same prefix. */
	for (i = 0; i < have.n; i++) {
		const struct rule_item *w = set_find(&want, &have.v[i].cidr);

		if (w && w->action == have.v[i].action)
			continue;
		err = gw_filter_del(fm, &have.v[i].cidr, have.v[i].action);
		if (err && err != -ENOENT) {
			pr_warn("apply: cannot remove %s from the filter: %s\n",
				gw_cidr_str(&have.v[i].cidr, buf, sizeof(buf)), strerror(-err));
			goto out;
		}
		err = 0;
		st->filter_removed++;
	}
	for (i = 0; i < want.n; i++) {
		const struct rule_item *h = set_find(&have, &want.v[i].cidr);

		if (h && h->action == want.v[i].action && h->origin == GW_ORIGIN_CONFIG)
			continue;
		err = gw_filter_add(fm, &want.v[i].cidr, want.v[i].action, GW_ORIGIN_CONFIG);
		if (err) {
			pr_warn("apply: cannot add %s to the filter: %s\n",
				gw_cidr_str(&want.v[i].cidr, buf, sizeof(buf)), strerror(-err));
			goto out;
		}
		st->filter_added++;
	}
out:
	free(want.v);
	free(have.v);
	return err;
}

/* ------------------------------------------------------------------ */
/* Config record.                                                        */

static int apply_config(const struct gw_cfg *cfg, const struct gw_dp_maps *m)
{
	const struct gw_cfg_rate_limits *rl = &cfg->rate_limits;
	struct gw_config c;
	int err;

	err = gw_dp_config_get(m, &c);
	if (err)
		return err;
	if (cfg->filter.default_deny)
		c.flags |= GW_CFG_F_DEFAULT_DENY;
	else
		c.flags &= ~GW_CFG_F_DEFAULT_DENY;
	memset(&c.rl_pkt, 0, sizeof(c.rl_pkt));
	memset(&c.rl_syn, 0, sizeof(c.rl_syn));
	if (rl->packets_per_source.rate.count) {
		err = gw_gcra_from_rate(&rl->packets_per_source.rate,
					rl->packets_per_source.burst, &c.rl_pkt);
		if (err)
			return err;
	}
	if (rl->syn_per_source.rate.count) {
		err = gw_gcra_from_rate(&rl->syn_per_source.rate, rl->syn_per_source.burst,
					&c.rl_syn);
		if (err)
			return err;
	}
	c.generation++;
	return gw_dp_config_set(m, &c);
}

/* ------------------------------------------------------------------ */
/* Services.                                                             */

static void svc_key_of(const struct gw_cfg_service *s, struct gw_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, s->vip.addr, sizeof(k->addr));
	k->port = htons((__u16)s->port);
	k->proto = (__u8)s->protocol;
	k->family = s->vip.family;
}

struct be_match {
	const struct gw_cfg_service *want;
	size_t seen;
	int differs;
};

/* Checks one live backend against the configured list. */
static int match_backend(__u32 id, const struct gw_backend *b, void *arg)
{
	struct be_match *bm = arg;
	size_t i;

	(void)id;
	for (i = 0; i < bm->want->n_backends; i++) {
		const struct gw_cfg_backend *w = &bm->want->backends[i];

		if (w->address.ip.family == b->family &&
		    !memcmp(w->address.ip.addr, b->addr, sizeof(b->addr)) &&
		    htons(w->address.port) == b->port) {
			if (w->weight != b->weight || (b->flags & GW_BE_F_DRAIN))
				bm->differs = 1;
			bm->seen++;
			return 0;
		}
	}
	bm->differs = 1;	/* a backend the file no longer lists */
	return 0;
}

struct svc_scan {
	const struct gw_cfg *cfg;
	struct gw_svc_key *gone;	/* live services the file does not list */
	size_t n_gone, cap_gone;
	int err;
};

static const struct gw_cfg_service *cfg_service_by_key(const struct gw_cfg *cfg,
						       const struct gw_svc_key *k)
{
	struct gw_svc_key ck;
	size_t i;

	for (i = 0; i < cfg->n_services; i++) {
		svc_key_of(&cfg->services[i], &ck);
		if (!memcmp(&ck, k, sizeof(ck)))
			return &cfg->services[i];
	}
	return NULL;
}

static int scan_service(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	struct svc_scan *sc = arg;

	(void)s;
	if (cfg_service_by_key(sc->cfg, k))
		return 0;
	if (sc->n_gone == sc->cap_gone) {
		size_t cap = sc->cap_gone ? sc->cap_gone * 2 : 16;
		struct gw_svc_key *v = realloc(sc->gone, cap * sizeof(*v));

		if (!v) {
			sc->err = -ENOMEM;
			return sc->err;
		}
		sc->gone = v;
		sc->cap_gone = cap;
	}
	sc->gone[sc->n_gone++] = *k;
	return 0;
}

struct svc_lookup {
	const struct gw_svc_key *key;
	struct gw_svc svc;
	int found;
};

static int find_service(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	struct svc_lookup *l = arg;

	if (memcmp(k, l->key, sizeof(*k)))
		return 0;
	l->svc = *s;
	l->found = 1;
	return 1;
}

/* 1 if the live service already is what the file says. */
static int service_unchanged(const struct gw_dp_maps *m, const struct gw_cfg_service *s)
{
	struct gw_svc_key k;
	struct svc_lookup l = { .key = &k };
	struct be_match bm = { .want = s };

	svc_key_of(s, &k);
	if (gw_dp_foreach_service(m, find_service, &l) < 0 || !l.found)
		return 0;
	if (l.svc.fwd != s->forwarding || l.svc.ring_size != GW_MAGLEV_SIZE)
		return 0;
	if (gw_dp_foreach_backend(m, l.svc.id, match_backend, &bm) < 0)
		return 0;
	return !bm.differs && bm.seen == s->n_backends;
}

static int apply_services(const struct gw_cfg *cfg, const struct gw_dp_maps *m,
			  struct gw_apply_stats *st)
{
	struct svc_scan sc = { .cfg = cfg };
	struct gw_backend_spec *bs = NULL;
	size_t i, j;
	int err;

	err = gw_dp_foreach_service(m, scan_service, &sc);
	if (err >= 0)
		err = sc.err;
	for (i = 0; !err && i < sc.n_gone; i++) {
		struct gw_endpoint vip = { .ip.family = sc.gone[i].family,
					   .port = ntohs(sc.gone[i].port) };

		memcpy(vip.ip.addr, sc.gone[i].addr, sizeof(vip.ip.addr));
		err = gw_service_del(&m->lb, &vip, sc.gone[i].proto);
		if (!err)
			st->services_removed++;
	}
	for (i = 0; !err && i < cfg->n_services; i++) {
		const struct gw_cfg_service *s = &cfg->services[i];
		struct gw_service_spec spec = {
			.vip = { .ip = s->vip, .port = (__u16)s->port },
			.proto = (__u8)s->protocol,
			.fwd = (__u8)s->forwarding,
		};

		if (service_unchanged(m, s)) {
			st->services_kept++;
			continue;
		}
		free(bs);
		bs = calloc(s->n_backends ? s->n_backends : 1, sizeof(*bs));
		if (!bs) {
			err = -ENOMEM;
			break;
		}
		for (j = 0; j < s->n_backends; j++) {
			bs[j].ep = s->backends[j].address;
			bs[j].weight = s->backends[j].weight;
		}
		spec.backends = bs;
		spec.n_backends = s->n_backends;
		err = gw_service_set(&m->lb, &spec, NULL);
		if (err)
			pr_warn("apply: service %s: %s\n", s->name, strerror(-err));
		else
			st->services_set++;
	}
	free(bs);
	free(sc.gone);
	return err;
}

int gw_apply_datapath(const struct gw_cfg *cfg, const struct gw_dp_maps *m,
		      struct gw_apply_stats *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	err = apply_filter(cfg, &m->filter, st);
	if (!err)
		err = apply_services(cfg, m, st);
	if (!err)
		err = apply_config(cfg, m);
	return err;
}
