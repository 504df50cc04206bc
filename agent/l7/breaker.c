// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Circuit breaking of upstreams (breaker.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "l7/breaker.h"

#define LD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)

static const char *const limit_names[GW_BRK_LIMITS] = {
	[GW_BRK_CONNECTIONS] = "max_connections",
	[GW_BRK_PENDING] = "max_pending",
	[GW_BRK_RETRIES] = "retry_budget",
};

int gw_breaker_parse_budget(const char *s, __u32 *pct)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (end[0] != '%' || end[1] || v > 100)
		return -EINVAL;
	*pct = (__u32)v;
	return 0;
}

struct gw_breaker *gw_breaker_new(const struct gw_cfg_up_limits *l, struct gw_breaker *prev)
{
	struct gw_breaker *b = prev;
	__u32 pct = 0;
	int set = l->retry_budget && !gw_breaker_parse_budget(l->retry_budget, &pct);

	if (b) {
		gw_breaker_get(b);
		if (l->pos.line < 0)
			return b;	/* a live server change: the limits stay */
	} else {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		b->refs = 1;
	}
	ST(&b->max_conns, l->max_connections);
	ST(&b->max_pending, l->max_pending);
	ST(&b->budget_pct, pct);
	ST(&b->budget_set, set);
	return b;
}

void gw_breaker_get(struct gw_breaker *b)
{
	__atomic_fetch_add(&b->refs, 1, __ATOMIC_RELAXED);
}

void gw_breaker_put(struct gw_breaker *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

void gw_breaker_add(int *g, int d)
{
	__atomic_fetch_add(g, d, __ATOMIC_RELAXED);
}

/* Counts a trip of limit k. Returns 0 (refused). */
static int trip(struct gw_breaker *b, enum gw_brk_limit k)
{
	__atomic_fetch_add(&b->trips[k], 1, __ATOMIC_RELAXED);
	return 0;
}

int gw_breaker_connect_ok(struct gw_breaker *b)
{
	__u32 mc = LD(&b->max_conns), mp = LD(&b->max_pending);

	if (mc && LD(&b->conns) >= (int)mc)
		return trip(b, GW_BRK_CONNECTIONS);
	if (mp && LD(&b->pending) >= (int)mp)
		return trip(b, GW_BRK_PENDING);
	return 1;
}

int gw_breaker_retry_ok(struct gw_breaker *b)
{
	long allowed;

	if (!LD(&b->budget_set))
		return 1;
	allowed = (long)LD(&b->active) * LD(&b->budget_pct) / 100;
	if (allowed < GW_BRK_MIN_RETRIES)
		allowed = GW_BRK_MIN_RETRIES;
	if (LD(&b->retries) >= allowed)
		return trip(b, GW_BRK_RETRIES);
	return 1;
}

void gw_breaker_render_help(FILE *f)
{
	fputs("# HELP gw_upstream_connections Upstream connections open (pooled ones too).\n"
	      "# TYPE gw_upstream_connections gauge\n"
	      "# HELP gw_upstream_pending Requests waiting for a new upstream connection.\n"
	      "# TYPE gw_upstream_pending gauge\n"
	      "# HELP gw_upstream_active_requests Requests in flight to the upstream.\n"
	      "# TYPE gw_upstream_active_requests gauge\n"
	      "# HELP gw_upstream_active_retries Retries in flight to the upstream.\n"
	      "# TYPE gw_upstream_active_retries gauge\n"
	      "# HELP gw_upstream_circuit_open_total Requests a limit of upstreams[].limits "
	      "refused (503) or a retry it did not let happen, by limit.\n"
	      "# TYPE gw_upstream_circuit_open_total counter\n", f);
}

void gw_breaker_render(FILE *f, const char *name, const struct gw_breaker *b,
		       void (*label)(FILE *f, const char *s))
{
	static const char *const gauges[] = { "connections", "pending", "active_requests",
					      "active_retries" };
	const int *v[] = { &b->conns, &b->pending, &b->active, &b->retries };
	size_t i;

	for (i = 0; i < 4; i++) {
		fprintf(f, "gw_upstream_%s{upstream=\"", gauges[i]);
		label(f, name);
		fprintf(f, "\"} %d\n", LD(v[i]));
	}
	for (i = 0; i < GW_BRK_LIMITS; i++) {
		fputs("gw_upstream_circuit_open_total{upstream=\"", f);
		label(f, name);
		fprintf(f, "\",limit=\"%s\"} %llu\n", limit_names[i],
			(unsigned long long)LD(&b->trips[i]));
	}
}
