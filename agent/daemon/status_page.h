/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The status page the metrics listener serves at /status and / (one HTML
 * page, no script, no outside asset; it reloads itself with a meta
 * refresh): interfaces and their hooks, the datapath's verdicts by reason
 * with their rate over the last minute, L4 services and backends, L7
 * listeners, routes (requests, 5xx and 429 rates, p50/p99 latency),
 * upstream servers, active bans, the config generation and the last
 * reload. Its tables come from the admin verbs gwctl asks (stats,
 * status, service.list, filter.list, route.list, upstream.list), so the
 * page and `gwctl ... --json` show the same numbers; the rates come from a
 * small ring of samples gwd takes every few seconds. Every value from the
 * config or from traffic is HTML-escaped. Every function returns 0 or a
 * negative errno unless it says otherwise.
 */
#ifndef GW_STATUS_PAGE_H
#define GW_STATUS_PAGE_H

#include <stdio.h>
#include <time.h>
#include "core/cmd.h"
#include "config/config.h"
#include "dp/dp.h"

struct gw_l7;
struct gw_agent_counters;

#define GW_STATUS_SAMPLE_NS (5ull * 1000000000ull)	/* between two samples */
#define GW_STATUS_SLOTS 13				/* samples kept: a minute */
#define GW_STATUS_REFRESH_S 5				/* the page's meta refresh */

/* The outcome of the last reload (SIGHUP or gwctl reload). */
struct gw_reload_result {
	time_t at;			/* wall clock; 0: none since gwd started */
	int err;			/* 0: applied, else -errno */
	unsigned int generation;	/* the generation running after it */
	char msg[512];			/* what went wrong, or empty */
};

/* The ring of counter samples the rates are taken over. */
struct gw_status;

/* What the page shows. */
struct gw_status_src {
	const struct gw_cmd_table *t;	/* the admin verb tables */
	size_t n_t;
	const struct gw_cfg *cfg;	/* the running config: listeners */
	const struct gw_dp_maps *maps;
	struct gw_l7 *l7;		/* NULL without the L7 proxy */
	const struct gw_agent_counters *agent;
	const struct gw_reload_result *reload;
	struct gw_status *ring;		/* NULL: no rates */
};

/* A new, empty ring in *out. Returns 0 or -ENOMEM. */
int gw_status_new(struct gw_status **out);

/* Frees st; NULL is ignored. */
void gw_status_free(struct gw_status *st);

/* Called often (gwd's one-second tick): takes a sample of the datapath's
 * reason counters and the routes' counters when GW_STATUS_SAMPLE_NS have
 * passed since the last one. Returns 0 or -ENOMEM (the sample is lost). */
int gw_status_sample(struct gw_status *st, const struct gw_dp_maps *m, struct gw_l7 *l7);

/* Writes the whole page (an HTML document) to f. Returns 0 or -EIO. */
int gw_status_render(FILE *f, const struct gw_status_src *src);

/* Writes s to f with &, <, >, " and ' as character references. */
void gw_html_esc(FILE *f, const char *s);

#endif /* GW_STATUS_PAGE_H */
