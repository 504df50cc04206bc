// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "dp/apply.h"
#include "dp/filter.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "dp/service.h"

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

/* Makes room for one more element in the growable array *v (n used, *cap
 * allocated, elements of `size` bytes). Returns 0 or -ENOMEM. */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int set_push(struct rule_set *s, const struct gw_cidr *c, int action, int origin)
{
	if (grow((void **)&s->v, s->n, &s->cap, sizeof(*s->v)))
		return -ENOMEM;
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

/* Entries to write or remove, for gw_filter_write_many(). */
struct change_list {
	struct gw_filter_rule_at *v;
	size_t n, cap;
};

static int change_push(struct change_list *l, const struct rule_item *it)
{
	if (grow((void **)&l->v, l->n, &l->cap, sizeof(*l->v)))
		return -ENOMEM;
	l->v[l->n].cidr = it->cidr;
	l->v[l->n].action = it->action;
	l->v[l->n].origin = GW_ORIGIN_CONFIG;
	l->n++;
	return 0;
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
	struct change_list add = { 0 }, del = { 0 };
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
	 * shadow the deny the file now gives for the same prefix. Each side
	 * is written in one go (gw_filter_write_many: batched, one
	 * filter_gen move): 100k entries take a fraction of a second. */
	for (i = 0; i < have.n; i++) {
		const struct rule_item *w = set_find(&want, &have.v[i].cidr);

		if (w && w->action == have.v[i].action)
			continue;
		err = change_push(&del, &have.v[i]);
		if (err)
			goto out;
	}
	for (i = 0; i < want.n; i++) {
		const struct rule_item *h = set_find(&have, &want.v[i].cidr);

		if (h && h->action == want.v[i].action && h->origin == GW_ORIGIN_CONFIG)
			continue;
		err = change_push(&add, &want.v[i]);
		if (err)
			goto out;
	}
	err = gw_filter_write_many(fm, del.v, del.n, 1);
	if (err) {
		pr_warn("apply: cannot remove %zu entries from the filter: %s\n", del.n,
			strerror(-err));
		goto out;
	}
	st->filter_removed = (unsigned int)del.n;
	err = gw_filter_write_many(fm, add.v, add.n, 0);
	if (err) {
		pr_warn("apply: cannot add %zu entries to the filter: %s\n", add.n,
			strerror(-err));
		goto out;
	}
	st->filter_added = (unsigned int)add.n;
out:
	free(want.v);
	free(have.v);
	free(add.v);
	free(del.v);
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

void gw_apply_svc_key(const struct gw_cfg_service *s, struct gw_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, s->vip.addr, sizeof(k->addr));
	k->port = htons((__u16)s->port);
	k->proto = (__u8)s->protocol;
	k->family = s->vip.family;
}

/* A live service (gw_services), sorted by key: the key comes first. */
struct live_svc {
	struct gw_svc_key key;
	struct gw_svc svc;
};

struct live_set {
	struct live_svc *v;
	size_t n, cap;
};

static int svc_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct gw_svc_key));
}

static int collect_live(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	struct live_set *ls = arg;

	if (grow((void **)&ls->v, ls->n, &ls->cap, sizeof(*ls->v)))
		return -ENOMEM;
	ls->v[ls->n].key = *k;
	ls->v[ls->n].svc = *s;
	ls->n++;
	return 0;
}

/* The snapshot's valid backends listed per service id: head[id], then
 * next[backend id] until 0. */
struct be_index {
	const struct gw_backend *b;
	__u32 nb, nhead;
	__u32 *head, *next;
};

static int be_index_build(const struct gw_lb_snap *sn, const struct live_set *ls,
			  struct be_index *ix)
{
	__u32 i;
	size_t j;

	ix->b = gw_lb_snap_backends(sn, &ix->nb);
	ix->nhead = 1;
	for (j = 0; j < ls->n; j++)
		if (ls->v[j].svc.id >= ix->nhead)
			ix->nhead = ls->v[j].svc.id + 1;
	ix->head = calloc(ix->nhead, sizeof(*ix->head));
	ix->next = calloc(ix->nb ? ix->nb : 1, sizeof(*ix->next));
	if (!ix->head || !ix->next)
		return -ENOMEM;
	for (i = ix->nb; i-- > 1;) {
		const struct gw_backend *b = &ix->b[i];

		if (!(b->flags & GW_BE_F_VALID) || b->svc_id >= ix->nhead)
			continue;
		ix->next[i] = ix->head[b->svc_id];
		ix->head[b->svc_id] = i;
	}
	return 0;
}

/* 1 if the live service l already is what the file says (forwarding,
 * table size, the same backends with the same weights, none draining). */
static int service_unchanged(const struct be_index *ix, const struct live_svc *l,
			     const struct gw_cfg_service *s)
{
	size_t seen = 0, k;
	__u32 id;

	if (l->svc.fwd != s->forwarding || l->svc.ring_size != GW_MAGLEV_SIZE ||
	    l->svc.id >= ix->nhead)
		return 0;
	for (id = ix->head[l->svc.id]; id; id = ix->next[id]) {
		const struct gw_backend *b = &ix->b[id];

		for (k = 0; k < s->n_backends; k++) {
			const struct gw_cfg_backend *w = &s->backends[k];

			if (w->address.ip.family == b->family &&
			    !memcmp(w->address.ip.addr, b->addr, sizeof(b->addr)) &&
			    htons(w->address.port) == b->port)
				break;
		}
		if (k == s->n_backends)
			return 0;	/* a backend the file no longer lists */
		if (s->backends[k].weight != b->weight || (b->flags & GW_BE_F_DRAIN))
			return 0;
		seen++;
	}
	return seen == s->n_backends;
}

/* Brings the services to the file: live ones it does not list go, changed
 * or new ones are set, unchanged ones are not touched (their tables and
 * flows stay). The maps are read once (gw_lb_snap, one walk of
 * gw_services): 1000 services apply in well under a second. */
static int apply_services(const struct gw_cfg *cfg, const struct gw_dp_maps *m,
			  struct gw_apply_stats *st)
{
	struct live_set ls = { 0 };
	struct be_index ix = { 0 };
	struct gw_lb_snap *sn = NULL;
	struct gw_backend_spec *bs = NULL;
	struct gw_svc_key *cfg_keys = NULL;
	unsigned char *keep = NULL;
	size_t i, j;
	int err;

	err = gw_dp_foreach_service(m, collect_live, &ls);
	if (err > 0)
		err = 0;
	if (!err)
		err = gw_lb_snap_read(&m->lb, &sn);
	if (!err)
		err = be_index_build(sn, &ls, &ix);
	if (!err)
		err = gw_lb_snap_defer(&m->lb, sn);	/* all tables swapped in one go */
	cfg_keys = calloc(cfg->n_services + 1, sizeof(*cfg_keys));
	keep = calloc(cfg->n_services + 1, 1);
	if (!err && (!cfg_keys || !keep))
		err = -ENOMEM;
	if (err)
		goto out;
	if (ls.n)	/* qsort(NULL, 0) is undefined */
		qsort(ls.v, ls.n, sizeof(*ls.v), svc_key_cmp);
	for (i = 0; i < cfg->n_services; i++) {
		const struct live_svc *l;

		gw_apply_svc_key(&cfg->services[i], &cfg_keys[i]);
		l = ls.n ? bsearch(&cfg_keys[i], ls.v, ls.n, sizeof(*ls.v), svc_key_cmp) : NULL;
		keep[i] = l && service_unchanged(&ix, l, &cfg->services[i]);
	}
	qsort(cfg_keys, cfg->n_services, sizeof(*cfg_keys), svc_key_cmp);

	for (i = 0; !err && i < ls.n; i++) {
		const struct gw_svc_key *k = &ls.v[i].key;
		struct gw_endpoint vip = { .ip.family = k->family, .port = ntohs(k->port) };

		if (cfg->n_services &&
		    bsearch(k, cfg_keys, cfg->n_services, sizeof(*cfg_keys), svc_key_cmp))
			continue;
		memcpy(vip.ip.addr, k->addr, sizeof(vip.ip.addr));
		err = gw_service_del_snap(&m->lb, sn, &vip, k->proto);
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

		if (keep[i]) {
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
		err = gw_service_set_snap(&m->lb, sn, &spec, NULL);
		if (err)
			pr_warn("apply: service %s: %s\n", s->name, strerror(-err));
		else
			st->services_set++;
	}
	if (!err)
		err = gw_lb_snap_commit(&m->lb, sn);
out:
	free(bs);
	free(keep);
	free(cfg_keys);
	free(ix.head);
	free(ix.next);
	gw_lb_snap_free(sn);
	free(ls.v);
	return err;
}

int gw_apply_datapath(const struct gw_cfg *cfg, const struct gw_dp_maps *m,
		      struct gw_apply_stats *st)
{
	__u64 t0 = gw_now_ns();
	int err;

	memset(st, 0, sizeof(*st));
	err = apply_filter(cfg, &m->filter, st);
	if (!err)
		err = apply_services(cfg, m, st);
	if (!err)
		err = apply_config(cfg, m);
	/* The apply's scratch (and the parser's, before it) is freed; hand
	 * the pages back, or an idle gwd keeps the peak of a big reload. */
	malloc_trim(0);
	st->duration_ns = gw_now_ns() - t0;
	pr_info("apply: %s in %llu.%03llu ms (filter +%u -%u, services %u set, %u kept, %u removed)\n",
		err ? "failed" : "done", st->duration_ns / 1000000,
		st->duration_ns / 1000 % 1000, st->filter_added, st->filter_removed,
		st->services_set, st->services_kept, st->services_removed);
	return err;
}
