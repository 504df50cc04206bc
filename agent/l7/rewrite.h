/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Path rewrites of a route (`rewrite:`), compiled when the route table is
 * built and applied to the normalized target a request goes upstream
 * with (docs/routing.md):
 *   prefix   the route's match.path_prefix is replaced: with path_prefix
 *            /users/ and prefix /v2/people/, "/users/42?x" goes as
 *            "/v2/people/42?x";
 *   regex    a PCRE2 pattern searched in the path (the query is not part
 *            of it), its first match replaced by `replace` ($1, ${name} for
 *            groups); a path it does not match goes unchanged. Matching is
 *            bounded (GW_REWRITE_MATCH_LIMIT, GW_REWRITE_DEPTH_LIMIT): a
 *            pattern that backtracks without end fails the request (500)
 *            instead of stalling a worker.
 * The query is kept: appended to the new path ('&' joins it when the
 * replacement has a query of its own).
 */
#ifndef GW_REWRITE_H
#define GW_REWRITE_H

#include <stddef.h>

#include "config/config.h"

#define GW_REWRITE_MATCH_LIMIT 100000
#define GW_REWRITE_DEPTH_LIMIT 5000

struct gw_rewrite;

/*
 * Compiles a route's rewrite. strip_segs: the segments of its path_prefix
 * (prefix rewrites); fold: the route matches paths folded (ignore_case).
 * Returns 0 with *out set, -EINVAL with the reason in why[whylen] (a regex
 * that does not compile), or -ENOMEM.
 */
int gw_rewrite_new(const struct gw_cfg_rewrite *cfg, size_t strip_segs, unsigned int fold,
		   struct gw_rewrite **out, char *why, size_t whylen);

void gw_rewrite_free(struct gw_rewrite *w);

/* Whether a regex compiles (the config check). Returns 0, or -EINVAL with
 * the reason and the offset in why[whylen]. */
int gw_rewrite_check_regex(const char *re, char *why, size_t whylen);

/*
 * Writes the rewritten target of `target` (len bytes: a normalized path and
 * its query) to out[cap], NUL-terminated. Returns its length, -ENOSPC when
 * it does not fit, or -EINVAL when the match failed (a limit) or gave
 * something that is no path (not starting with '/', or a space or control
 * byte in it).
 */
int gw_rewrite_apply(const struct gw_rewrite *w, const char *target, size_t len, char *out,
		     size_t cap);

#endif /* GW_REWRITE_H */
