/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L7 router: the config's routes compiled into an immutable, refcounted
 * table. gwd builds a table on load and on every reload; the L7 runtime's
 * snapshot holds it (runtime/l7.h), a worker keeps the snapshot it serves
 * for as long as requests use it and takes the new one after a reload, so
 * the old table is freed when its last request is done.
 *
 * Per request the proxy:
 *   1. normalizes the target: gw_path_normalize() (400 on -EINVAL) and the
 *      Host: gw_host_normalize() (400 on -EINVAL);
 *   2. matches: gw_route_match() returns the first route in file order
 *      whose every condition holds, or NULL (404);
 *   3. builds the upstream target: gw_route_upstream_path() (strip_prefix).
 * docs/routing.md describes the matching rules and the table's layout.
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>
#include <linux/types.h>

#include "config/config.h"
#include "l7/l7limit.h"
#include "gw/l7.h"
#include "http/http1.h"
#include "http/pathnorm.h"

struct gw_route_table;
struct gw_cors;
struct gw_iprule;
struct gw_rewrite;
struct gw_zrule;

struct gw_route_header {
	char *name;		/* lower-case */
	char *value;
};

/* One compiled route. Everything it points to belongs to the table. */
struct gw_route {
	__u32 index;			/* position in `routes:`, from 0 */
	char *label;			/* the route's name, or "#3 api.example.com/users/"
					 * style without one: logs, metrics, listings */
	char *name;			/* `name:`; NULL when the route has none */
	const struct gw_l7_match *m;	/* its record in the table's flat array */
	char *upstream;			/* NULL when the route responds itself */
	char *auth;			/* NULL: no auth */
	int strip_prefix;
	size_t strip_segs;		/* segments of the path strip_prefix removes */
	/* rate_limit as configured (rate.count == 0: none) and compiled */
	struct gw_cfg_route_rl rate_limit;
	struct gw_l7limit_rule limit;	/* for gw_l7limit_check() */
	__u64 rl_scope;			/* stable id of the route across reloads */
	struct gw_route_header *add_headers;
	size_t n_add_headers;
	char **remove_headers;		/* lower-case */
	size_t n_remove_headers;
	__u32 respond_status;		/* 0: proxy to upstream */
	char *respond_body;
	/* matching data the flat record leaves to user space */
	struct gw_route_header *match_headers;	/* names lower-case, exact values */
	size_t n_match_headers;
	char **ext_methods;		/* methods outside GW_L7_M_* */
	size_t n_ext_methods;
	char **upgrades;		/* protocols an Upgrade may switch to, lower-case */
	size_t n_upgrades;
	int scheme;			/* GW_SCHEME_*: a match condition */
	__u64 max_body;			/* request body bytes; 0: the listener's */
	char *client_cert_header;	/* the client certificate's subject goes here */
	struct gw_route_header *respond_headers;	/* templates (core/tmpl.h) */
	size_t n_respond_headers;
	/* response_headers: set is in both lists */
	struct gw_http_kv *resp_add;
	size_t n_resp_add;
	const char **resp_remove;	/* lower-case */
	size_t n_resp_remove;
	struct gw_rewrite *rewrite;	/* NULL: none (l7/rewrite.h) */
	struct gw_cors *cors;		/* NULL: none (l7/cors.h) */
	int cors_options;		/* OPTIONS matches only for preflights: cors added it */
	struct gw_iprule *ip;		/* NULL: any client (l7/iprule.h) */
	struct gw_zrule *zrule;		/* NULL: no compression (l7/encoding.h) */
	int splice;			/* GW_ROUTE_SPLICE_* */
};

/* gw_route.splice: what the kernel may take over (docs/design-sockmap.md) */
#define GW_ROUTE_SPLICE_OFF 0		/* not given, or `splice: false`: nothing */
#define GW_ROUTE_SPLICE_ON 2		/* `splice: true`: after the first answer head
					 * (for an Upgrade: the 101) */

/*
 * Looks up a request header for the match. `name` is lower-case; the
 * callback compares it case-insensitively with the request's field names
 * and returns the field value (without surrounding whitespace; repeated
 * fields combined with ", " as RFC 9110 5.3 allows) with its length in
 * *len, or NULL when the request lacks the field.
 */
typedef const char *(*gw_route_header_fn)(void *arg, const char *name, size_t *len);

struct gw_route_req {
	const char *host;	/* gw_host_normalize() output */
	size_t host_len;
	const char *path;	/* gw_path_normalize() output, path part only */
	size_t path_len;
	const char *method;	/* as received: methods are case-sensitive */
	size_t method_len;
	gw_route_header_fn header;	/* may be NULL: header conditions fail */
	void *header_arg;
	int scheme;		/* GW_SCHEME_HTTP or _HTTPS; ANY: scheme conditions fail */
};

/*
 * Compiles cfg->routes (validated by gw_cfg_load) into a new table with one
 * reference. The table copies what it needs: cfg may be freed afterwards.
 * Returns 0 with *out set, -EINVAL when a route cannot be compiled (the
 * reason is logged with the route's position: a path that does not
 * normalize, a host or path longer than the flat record holds), -E2BIG
 * for more than GW_L7_ROUTES_MAX routes, or -ENOMEM.
 */
int gw_route_table_build(const struct gw_cfg *cfg, struct gw_route_table **out);

/* Takes a reference; returns t. Safe from any thread. */
struct gw_route_table *gw_route_table_get(struct gw_route_table *t);

/* Drops a reference; the last one frees the table. NULL is ignored. */
void gw_route_table_put(struct gw_route_table *t);

/*
 * Returns the first route (lowest index) whose host, path, method and
 * header conditions all match `req`, or NULL. Lock-free and read-only:
 * any number of threads may match against one table.
 */
const struct gw_route *gw_route_match(const struct gw_route_table *t,
				      const struct gw_route_req *req);

/* Number of routes, and route i (0 <= i < count), for listings. */
size_t gw_route_count(const struct gw_route_table *t);
const struct gw_route *gw_route_at(const struct gw_route_table *t, size_t i);

/* The flat array of match records in file order (GW_L7_ROUTES_MAX at most),
 * for a BPF map; *n gets its length. */
const struct gw_l7_match *gw_route_records(const struct gw_route_table *t, size_t *n);

/*
 * Whether a request's Upgrade (its field value `v`, len bytes: a comma-
 * separated list of protocol[/version]) may pass on route r: every protocol
 * offered must be one the route allows (`upgrade:`, websocket when not
 * given). Returns 1 or 0; with 0 the proxy forwards the request without
 * Upgrade, so the origin never switches and no tunnel opens past routing,
 * auth and limits.
 */
int gw_route_upgrade_allowed(const struct gw_route *r, const char *v, size_t len);

/*
 * Writes the target to send upstream for a request that matched `r`:
 * `target` (len bytes) is the gw_path_normalize() output with its query.
 * With strip_prefix the route's prefix is removed ("/users/42?x" with
 * "/users/" gives "/42?x"), and a path left empty becomes "/". Returns the
 * length written to out (NUL-terminated; out_size >= len + 2 is always
 * enough) or -ENOSPC.
 */
int gw_route_upstream_path(const struct gw_route *r, const char *target, size_t len, char *out,
			   size_t out_size);

#endif /* GW_ROUTE_H */
