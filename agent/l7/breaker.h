/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Circuit breaking of an upstream (`upstreams[].limits`), shared by every
 * worker (relaxed atomics) and kept across reloads for an upstream of the
 * same name (its gauges go on counting the connections that outlive a
 * snapshot):
 *   max_connections  upstream connections open (pooled ones too): a request
 *                    that needs a new one when they are all taken gets 503;
 *   max_pending      requests waiting for a new connection to be
 *                    established: one more gets 503;
 *   retry_budget     retries in flight as a share of the requests in flight
 *                    (at least GW_BRK_MIN_RETRIES are always allowed): a
 *                    retry beyond it is not made (the failure is answered).
 * Each trip is counted by limit (gw_upstream_circuit_open_total).
 */
#ifndef GW_BREAKER_H
#define GW_BREAKER_H

#include <stdio.h>
#include <linux/types.h>

#include "config/config.h"

#define GW_BRK_MIN_RETRIES 3

enum gw_brk_limit { GW_BRK_CONNECTIONS, GW_BRK_PENDING, GW_BRK_RETRIES, GW_BRK_LIMITS };

struct gw_breaker {
	int refs;			/* atomic */
	__u32 max_conns;		/* 0: none; atomic (a reload sets it) */
	__u32 max_pending;		/* 0: none; atomic */
	__u32 budget_pct;		/* 0-100; atomic */
	int budget_set;			/* atomic */
	int conns, pending, active, retries;	/* gauges; atomic */
	__u64 trips[GW_BRK_LIMITS];	/* atomic */
};

/* The breaker of an upstream with limits l: prev's (a reload; its limits
 * updated, unless l->pos.line is -1: a live server change) or a new one,
 * with one reference. Returns it or NULL. */
struct gw_breaker *gw_breaker_new(const struct gw_cfg_up_limits *l, struct gw_breaker *prev);

void gw_breaker_get(struct gw_breaker *b);
void gw_breaker_put(struct gw_breaker *b);

/* Adds d to gauge *g (b's conns, pending, active or retries). */
void gw_breaker_add(int *g, int d);

/* Whether a request may open a new connection now (connections and
 * pending below their limits); a refusal is counted. Returns 1 or 0. */
int gw_breaker_connect_ok(struct gw_breaker *b);

/* Whether a request may retry now (the budget); a refusal is counted.
 * Returns 1 or 0. */
int gw_breaker_retry_ok(struct gw_breaker *b);

/* Writes the Prometheus lines of upstream `name`'s breaker (no HELP/TYPE;
 * gw_breaker_render_help() writes those once). */
void gw_breaker_render_help(FILE *f);
void gw_breaker_render(FILE *f, const char *name, const struct gw_breaker *b,
		       void (*label)(FILE *f, const char *s));

/* Parses a retry budget "N%" (0-100). Returns 0 with *pct, or -EINVAL. */
int gw_breaker_parse_budget(const char *s, __u32 *pct);

#endif /* GW_BREAKER_H */
