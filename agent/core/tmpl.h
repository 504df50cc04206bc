/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Field value templates of respond routes (respond.headers): text with
 * placeholders the request fills in, e.g. a redirect's
 * "Location: https://{host}{path}{query}".
 *   {scheme}  http or https (the listener's)
 *   {host}    the request's host, normalized (lower case, no port)
 *   {path}    the request's path, normalized (starts with '/')
 *   {query}   "?" and the query when the request has a non-empty one, else
 *             nothing (so "{path}{query}" is the whole target)
 *   {{        a literal '{'
 * Any other '{' is an error of the config (gw_tmpl_check).
 */
#ifndef GW_TMPL_H
#define GW_TMPL_H

#include <stddef.h>

struct gw_tmpl_vars {
	const char *scheme;
	size_t scheme_len;
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
	const char *query;	/* without the '?'; NULL or length 0: none */
	size_t query_len;
};

/* Checks template t: every '{' starts a known placeholder or "{{", and no
 * byte is a control character other than tab. Returns 0, or -EINVAL with
 * the reason in why[whylen]. */
int gw_tmpl_check(const char *t, char *why, size_t whylen);

/* Expands template t (gw_tmpl_check() passed it) with v into out[cap]
 * (NUL-terminated). Returns the length, -ENOSPC when it does not fit, or
 * -EINVAL when a value holds a byte no field value may (a control
 * character): never a field split in two. */
int gw_tmpl_expand(const char *t, const struct gw_tmpl_vars *v, char *out, size_t cap);

#endif /* GW_TMPL_H */
