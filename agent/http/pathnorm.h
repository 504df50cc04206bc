/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Request path and host normalization: what the router matches and the
 * proxy forwards. A gateway that routes on a raw path can be bypassed
 * ("/admin" denied, "/%61dmin" or "/x/../admin" passed through), so the
 * proxy normalizes every request target once, matches the result and
 * forwards the same bytes. docs/routing.md lists every rule.
 */
#ifndef GW_PATHNORM_H
#define GW_PATHNORM_H

#include <stddef.h>

#include "gw/l7.h"

/* Room for a normalized host and its NUL. */
#define GW_HOST_BUF GW_L7_HOST_LEN

/*
 * Normalizes an origin-form request target ("/path?query", `len` bytes,
 * need not be NUL-terminated) into `out` (NUL-terminated): percent-encoded
 * unreserved characters decoded, other percent-encodings upper-cased, runs
 * of '/' merged, "." and ".." segments resolved (RFC 3986 5.2.4; ".." never
 * climbs above "/"); the query is kept as it came. `out_size` >= len + 1 is
 * always enough. On success *path_len (may be NULL) gets the length of the
 * path part (before '?').
 *
 * Returns the length of `out` (at least 1), -EINVAL for a target the proxy
 * must answer 400 (not starting with '/', NUL, %00, %2F, %5C, '\\', '#',
 * controls, space or non-ASCII bytes, bad percent-encodings, a "." or ".."
 * segment with ";" parameters), or -ENOSPC
 * when out_size is too small.
 */
int gw_path_normalize(const char *in, size_t len, char *out, size_t out_size, size_t *path_len);

/* gw_path_match_form() flags. */
#define GW_PATH_FOLD 1u		/* also fold case and trailing dots and spaces */

/*
 * The form routes match a normalized path in (docs/routing.md): `path`
 * (gw_path_normalize() output, the path part: `len` bytes) with each
 * segment's path parameters (";..." up to the next '/') removed, and a
 * segment left empty by that dropped. Tomcat, Jetty and Spring serve
 * "/admin;x=1" as "/admin", so a route must see it as "/admin" too. With
 * GW_PATH_FOLD, letters are lower-cased and each segment's trailing '.'
 * and "%20" are removed as well, as Windows and case-insensitive backends
 * resolve paths ("/ADMIN.", "/admin%20").
 *
 * Writes at most out_size bytes to out (no NUL). Returns the length of the
 * whole form, which may exceed out_size (out then holds its first out_size
 * bytes: enough to compare with any route path shorter than that).
 */
size_t gw_path_match_form(const char *path, size_t len, char *out, size_t out_size,
			  unsigned int flags);

/* The offset in `path` (a normalized target, len bytes) just past its
 * first k segments as gw_path_match_form() counts them (a segment that is
 * empty in the match form does not count), stopping at '?'. Returns it. */
size_t gw_path_skip_segments(const char *path, size_t len, size_t k, unsigned int flags);

/*
 * Normalizes a Host header value (or :authority) into `out`
 * (GW_HOST_BUF bytes): port removed, lower-cased, one trailing dot removed;
 * "[v6]" literals keep their brackets. An empty host stays empty (matches
 * only routes without a host condition). With `wildcard` set, a leading
 * "*." is allowed (config hosts) and kept.
 *
 * Returns the length of `out`, or -EINVAL for a host the proxy must answer
 * 400: empty labels, characters outside letters, digits, '-', '_' and '.',
 * a bad port, a malformed literal, more than 253 bytes.
 */
int gw_host_normalize(const char *in, size_t len, char *out, int wildcard);

#endif /* GW_PATHNORM_H */
