/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Response compression of a route (`compression:`): which answers are
 * compressed. An upstream answer is compressed with br (when the route
 * allows it) or gzip when
 *   - the client accepts it (Accept-Encoding: named or "*" with q > 0; br
 *     is preferred);
 *   - it is a 2xx other than 204 and 206, to a method other than HEAD, with
 *     a body, and the client speaks HTTP/1.1 (the result is chunked);
 *   - its Content-Type's media type is one of `types` (a "text/" and star
 *     entry takes a whole type);
 *   - it has no Content-Encoding (already encoded), no Content-Range (a
 *     range), no Cache-Control no-transform;
 *   - its Content-Length, when it has one, is at least `min_size`.
 * The stream itself is proxy/compress.h.
 */
#ifndef GW_ENCODING_H
#define GW_ENCODING_H

#include <stddef.h>

#include "config/config.h"

struct gw_zrule {
	char **types;		/* lower-case */
	size_t n_types;
	__u64 min_size;
	int level;
	int brotli;		/* br offered (preferred when accepted) */
};

/* Compiles a route's compression (none: *out NULL). Returns 0 or -ENOMEM. */
int gw_zrule_new(const struct gw_cfg_compress *cfg, struct gw_zrule **out);

void gw_zrule_free(struct gw_zrule *z);

/* Codings of answers (bits). */
#define GW_ENC_GZIP 1u
#define GW_ENC_BR 2u

/* The codings Accept-Encoding value v[len] (NULL: no field) takes, named
 * with q > 0 or by "*" (GW_ENC_* bits). Returns them. */
unsigned int gw_accepts(const char *v, size_t len);

/* Whether it takes gzip. Returns 1 or 0. */
int gw_accepts_gzip(const char *v, size_t len);

/* Whether the media type of Content-Type value v[len] is one of z's.
 * Returns 1 or 0. */
int gw_zrule_type(const struct gw_zrule *z, const char *v, size_t len);

/* Whether Cache-Control value v[len] holds no-transform. Returns 1 or 0. */
int gw_no_transform(const char *v, size_t len);

#endif /* GW_ENCODING_H */
