/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * CORS of a route (`cors:`, docs/routing.md). gw answers preflights itself
 * (OPTIONS with Origin and Access-Control-Request-Method; never sent
 * upstream): 204 with the Access-Control-Allow-* fields when the origin,
 * the method and every requested header are allowed, else 403 without
 * them. Other requests from an allowed origin get
 * Access-Control-Allow-Origin (and -Credentials, -Expose-Headers) on the
 * upstream's answer, whose own Access-Control-* fields are dropped; every
 * answer of a CORS route carries Vary: Origin (unless the origin is "*"),
 * and an origin not allowed gets no CORS field at all.
 */
#ifndef GW_CORS_H
#define GW_CORS_H

#include <stddef.h>

#include "config/config.h"
#include "http/http1.h"

struct gw_cors;

/* The most fields gw_cors_preflight() and gw_cors_fields() write. */
#define GW_CORS_FIELDS 6
/* Access-Control-* fields an upstream answer loses on a CORS route. */
#define GW_CORS_STRIP 4

#define GW_CORS_NONE (-1)	/* no Origin, or one not allowed */

/* Compiles a route's cors section (validated by config.c). Returns 0 with
 * *out set (NULL when the route has no cors), or -ENOMEM. */
int gw_cors_new(const struct gw_cfg_cors *cfg, struct gw_cors **out);

void gw_cors_free(struct gw_cors *k);

/* The allowed origin o (len bytes, an Origin field's value): its index,
 * or GW_CORS_NONE. */
int gw_cors_origin(const struct gw_cors *k, const char *o, size_t len);

/* Whether a request is a preflight: method OPTIONS with an Origin and an
 * Access-Control-Request-Method field. Returns 1 or 0. */
int gw_cors_is_preflight(int is_options, int has_origin, int has_acrm);

/*
 * The answer to a preflight from origin `origin` (gw_cors_origin()),
 * asking for method m (mlen bytes) and the headers in h (hlen bytes, a
 * comma-separated list; NULL when none): its fields go to
 * out[GW_CORS_FIELDS], their number to *n. Returns that number (answer
 * 204), or -EACCES (answer 403; out holds Vary alone, or nothing).
 */
int gw_cors_preflight(const struct gw_cors *k, int origin, const char *m, size_t mlen,
		      const char *h, size_t hlen, struct gw_http_kv *out, size_t *n);

/* The fields of an actual response to a request from `origin` (may be
 * GW_CORS_NONE) into out[GW_CORS_FIELDS]. Returns their number. */
size_t gw_cors_fields(const struct gw_cors *k, int origin, struct gw_http_kv *out);

/* The lower-case names of the fields dropped from upstream answers
 * (GW_CORS_STRIP of them). */
extern const char *const gw_cors_strip[GW_CORS_STRIP];

#endif /* GW_CORS_H */
