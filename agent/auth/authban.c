// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Auth failures to XDP bans: per-source GCRA buckets in a fixed table. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authban.h"
#include "core/log.h"
#include "core/loop.h"

#define WAYS 8
#define STRIPES 64

struct slot {
	__be32 key[4];		/* the source prefix; all zero and family 0: free */
	__u8 family;
	__u64 tat;		/* GCRA theoretical arrival time */
};

struct gw_authban {
	struct gw_gcra g;
	__u64 duration_ns;
	int on;
	__u32 n_sets;		/* power of two */
	struct slot *slots;	/* n_sets * WAYS */
	pthread_mutex_t locks[STRIPES];
	pthread_mutex_t cfg_lock;
	__u64 bans;		/* atomic */
	int (*ban)(void *arg, const struct gw_cidr *prefix, __u64 duration_ns);
	void *ban_arg;
	__u64 (*now)(void *arg);
	void *now_arg;
};

static __u64 real_now(void *arg)
{
	return gw_now_ns();
}

void gw_authban_prefix(const struct gw_ip *src, struct gw_cidr *out)
{
	memset(out, 0, sizeof(*out));
	out->ip.family = src->family;
	if (src->family == GW_FAMILY_V4) {
		out->ip.addr[0] = src->addr[0];
		out->prefixlen = 32;
	} else {
		out->ip.addr[0] = src->addr[0];
		out->ip.addr[1] = src->addr[1];
		out->prefixlen = 64;
	}
}

int gw_authban_configure(struct gw_authban *b, const struct gw_rate *failures,
			 __u64 duration_ns)
{
	struct gw_gcra g = { 0 };
	int err;

	if (failures->count) {
		if (!duration_ns)
			return -EINVAL;
		err = gw_gcra_from_rate(failures, failures->count, &g);
		if (err)
			return err;
	}
	pthread_mutex_lock(&b->cfg_lock);
	b->g = g;
	b->duration_ns = duration_ns;
	b->on = failures->count != 0;
	pthread_mutex_unlock(&b->cfg_lock);
	return 0;
}

int gw_authban_new(const struct gw_authban_opts *o, struct gw_authban **out)
{
	struct gw_authban *b;
	__u32 sets = 1;
	int i, err;

	while ((__u64)sets * WAYS < (o->capacity ? o->capacity : 65536) && sets < (1u << 24))
		sets <<= 1;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->slots = calloc((size_t)sets * WAYS, sizeof(*b->slots));
	if (!b->slots) {
		free(b);
		return -ENOMEM;
	}
	b->n_sets = sets;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&b->locks[i], NULL);
	pthread_mutex_init(&b->cfg_lock, NULL);
	b->ban = o->ban;
	b->ban_arg = o->ban_arg;
	b->now = o->now ? o->now : real_now;
	b->now_arg = o->now_arg;
	err = gw_authban_configure(b, &o->failures, o->duration_ns);
	if (err) {
		gw_authban_free(b);
		return err;
	}
	*out = b;
	return 0;
}

void gw_authban_free(struct gw_authban *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&b->locks[i]);
	pthread_mutex_destroy(&b->cfg_lock);
	free(b->slots);
	free(b);
}

__u64 gw_authban_count(const struct gw_authban *b)
{
	return __atomic_load_n(&b->bans, __ATOMIC_RELAXED);
}

/* FNV-1a over the prefix: spreads sets; an attacker choosing addresses to
 * collide only evicts within its own sets' idle ways. */
static __u32 prefix_hash(const struct gw_cidr *c)
{
	const __u8 *p = (const __u8 *)c->ip.addr;
	__u32 h = 2166136261u ^ c->ip.family;
	size_t i;

	for (i = 0; i < sizeof(c->ip.addr); i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ (h >> 15);
}

/* The way holding `c`, else the way to recycle: a free one, else the one
 * with the smallest TAT (the least debt). *found says which. */
static struct slot *set_find(struct slot *set, const struct gw_cidr *c, int *found)
{
	struct slot *victim = &set[0];
	int i;

	for (i = 0; i < WAYS; i++) {
		struct slot *s = &set[i];

		if (s->family == c->ip.family && !memcmp(s->key, c->ip.addr, sizeof(s->key))) {
			*found = 1;
			return s;
		}
		if (s->tat < victim->tat || (!s->family && victim->family))
			victim = s;
	}
	*found = 0;
	return victim;
}

int gw_authban_fail(struct gw_authban *b, const struct gw_ip *src)
{
	struct gw_gcra g;
	struct gw_cidr c;
	struct slot *s;
	__u64 now, base, duration;
	__u32 set;
	int found, ban = 0, on, err;

	pthread_mutex_lock(&b->cfg_lock);
	g = b->g;
	duration = b->duration_ns;
	on = b->on;
	pthread_mutex_unlock(&b->cfg_lock);
	if (!on)
		return 0;

	gw_authban_prefix(src, &c);
	set = prefix_hash(&c) & (b->n_sets - 1);
	now = b->now(b->now_arg);
	pthread_mutex_lock(&b->locks[set % STRIPES]);
	s = set_find(&b->slots[(size_t)set * WAYS], &c, &found);
	if (!found) {
		memcpy(s->key, c.ip.addr, sizeof(s->key));
		s->family = c.ip.family;
		s->tat = 0;
	}
	base = s->tat > now ? s->tat : now;
	if (base - now > g.tolerance_ns) {
		ban = 1;
		s->tat = now;	/* counting starts afresh */
	} else {
		s->tat = base + g.interval_ns;
	}
	pthread_mutex_unlock(&b->locks[set % STRIPES]);
	if (!ban)
		return 0;

	__atomic_add_fetch(&b->bans, 1, __ATOMIC_RELAXED);
	if (b->ban) {
		char buf[GW_ADDR_STRLEN];

		err = b->ban(b->ban_arg, &c, duration);
		if (err) {
			pr_warn("authban: cannot ban %s: %s\n",
				gw_cidr_str(&c, buf, sizeof(buf)), strerror(-err));
			return err;
		}
		pr_info("authban: %s banned for %llu s after repeated auth failures\n",
			gw_cidr_str(&c, buf, sizeof(buf)),
			(unsigned long long)(duration / 1000000000ull));
	}
	return 1;
}
