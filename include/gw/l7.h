/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L7 route match records: the part of a compiled route table that a BPF
 * program (a later sockmap/sk_msg fast path) can share with gwd. gwd keeps
 * the table as a flat array of these fixed-size records in file order
 * (agent/l7/route.c); a BPF program could copy it into an array map and walk
 * it, taking the first record that matches. Header and extension-method
 * conditions stay in user space: a record whose flags have
 * GW_L7_F_USER_ONLY set needs gwd to finish the decision.
 *
 * Strings are normalized the way agent/l7/route.c matches them: hosts
 * lowercase without port or trailing dot, a wildcard "*.example.com" kept
 * as its suffix ".example.com"; paths as agent/l7/route.c normalizes request
 * paths. They are NUL-padded and their lengths are given.
 */
#ifndef GW_L7_H
#define GW_L7_H

#include <linux/types.h>

#define GW_L7_HOST_LEN 256	/* DNS names are at most 253 bytes */
#define GW_L7_PATH_LEN 256	/* longest path_exact / path_prefix in a route */

#ifndef GW_L7_ROUTES_MAX
#define GW_L7_ROUTES_MAX 65536	/* routes in one table */
#endif

/* gw_l7_match.host_kind */
#define GW_L7_HOST_ANY 0	/* no host condition */
#define GW_L7_HOST_EXACT 1	/* host == record host */
#define GW_L7_HOST_SUFFIX 2	/* "*.example.com": one or more labels + host */

/* gw_l7_match.path_kind */
#define GW_L7_PATH_ANY 0
#define GW_L7_PATH_EXACT 1
#define GW_L7_PATH_PREFIX 2	/* segment-aware, see docs/routing.md */

/* gw_l7_match.methods: one bit per standard method; 0 matches any. */
#define GW_L7_M_GET (1u << 0)
#define GW_L7_M_HEAD (1u << 1)
#define GW_L7_M_POST (1u << 2)
#define GW_L7_M_PUT (1u << 3)
#define GW_L7_M_DELETE (1u << 4)
#define GW_L7_M_CONNECT (1u << 5)
#define GW_L7_M_OPTIONS (1u << 6)
#define GW_L7_M_TRACE (1u << 7)
#define GW_L7_M_PATCH (1u << 8)
#define GW_L7_M_OTHER (1u << 31)	/* extension methods, listed in user space */

/* gw_l7_match.flags */
#define GW_L7_F_USER_ONLY (1u << 0)	/* header or extension-method conditions */
#define GW_L7_F_IGNORE_CASE (1u << 1)	/* path stored and compared folded:
					 * lower case, segments' trailing '.'
					 * and "%20" removed (routing.md) */

struct gw_l7_match {
	__u32 index;		/* position in the file: the lowest matching index wins */
	__u32 flags;		/* GW_L7_F_* */
	__u8 host_kind;		/* GW_L7_HOST_* */
	__u8 path_kind;		/* GW_L7_PATH_* */
	__u16 host_len;
	__u16 path_len;
	__u16 n_headers;	/* header conditions (user space) */
	__u32 methods;		/* GW_L7_M_* bits; 0 = any method */
	__u32 pad;
	char host[GW_L7_HOST_LEN];
	char path[GW_L7_PATH_LEN];
};

_Static_assert(sizeof(struct gw_l7_match) == 536, "gw_l7_match is part of the ABI");

#endif /* GW_L7_H */
