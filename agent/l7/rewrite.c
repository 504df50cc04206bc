// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Path rewrites (rewrite.h), with PCRE2 (8-bit code units).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/pathnorm.h"
#include "l7/rewrite.h"

struct gw_rewrite {
	char *prefix;		/* without a trailing '/'; NULL: a regex rewrite */
	size_t prefix_len;
	size_t strip_segs;
	unsigned int fold;
	pcre2_code *re;
	pcre2_match_context *mctx;
	char *replace;
};

/* Compiles re. Returns the code, or NULL with the reason in why. */
static pcre2_code *compile(const char *re, char *why, size_t whylen)
{
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	pcre2_code *code;
	int ec;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
	if (!code) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(why, whylen, "regex does not compile at offset %zu: %s", (size_t)off,
			 (const char *)msg);
	}
	return code;
}

int gw_rewrite_check_regex(const char *re, char *why, size_t whylen)
{
	pcre2_code *code = compile(re, why, whylen);

	if (!code)
		return -EINVAL;
	pcre2_code_free(code);
	return 0;
}

void gw_rewrite_free(struct gw_rewrite *w)
{
	if (!w)
		return;
	free(w->prefix);
	free(w->replace);
	pcre2_code_free(w->re);
	pcre2_match_context_free(w->mctx);
	free(w);
}

int gw_rewrite_new(const struct gw_cfg_rewrite *cfg, size_t strip_segs, unsigned int fold,
		   struct gw_rewrite **out, char *why, size_t whylen)
{
	struct gw_rewrite *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->strip_segs = strip_segs;
	w->fold = fold;
	if (cfg->prefix) {
		w->prefix = strdup(cfg->prefix);
		if (!w->prefix)
			goto nomem;
		w->prefix_len = strlen(w->prefix);
		while (w->prefix_len && w->prefix[w->prefix_len - 1] == '/')
			w->prefix_len--;
	} else {
		w->re = compile(cfg->regex ? cfg->regex : "", why, whylen);
		if (!w->re) {
			gw_rewrite_free(w);
			return -EINVAL;
		}
		w->replace = strdup(cfg->replace ? cfg->replace : "/");
		w->mctx = pcre2_match_context_create(NULL);
		if (!w->replace || !w->mctx)
			goto nomem;
		pcre2_set_match_limit(w->mctx, GW_REWRITE_MATCH_LIMIT);
		pcre2_set_depth_limit(w->mctx, GW_REWRITE_DEPTH_LIMIT);
	}
	*out = w;
	return 0;
nomem:
	gw_rewrite_free(w);
	return -ENOMEM;
}

/* The path of prefix rewrite w for path[plen] into out[cap]. Returns its
 * length or -ENOSPC. */
static int apply_prefix(const struct gw_rewrite *w, const char *path, size_t plen, char *out,
			size_t cap)
{
	size_t skip = gw_path_skip_segments(path, plen, w->strip_segs, w->fold);
	size_t rest = plen - skip, n = w->prefix_len + rest;

	if (n + 2 > cap)
		return -ENOSPC;
	memcpy(out, w->prefix, w->prefix_len);
	memcpy(out + w->prefix_len, path + skip, rest);
	if (!n)
		out[n++] = '/';
	return (int)n;
}

/* The path of regex rewrite w for path[plen] into out[cap]. Returns its
 * length, -ENOSPC or -EINVAL. */
static int apply_regex(const struct gw_rewrite *w, const char *path, size_t plen, char *out,
		       size_t cap)
{
	PCRE2_SIZE olen = cap;
	int rc;

	rc = pcre2_substitute(w->re, (PCRE2_SPTR)path, plen, 0, 0, NULL, w->mctx,
			      (PCRE2_SPTR)w->replace, PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out,
			      &olen);
	if (rc == PCRE2_ERROR_NOMEMORY)
		return -ENOSPC;
	if (rc < 0)
		return -EINVAL;
	return (int)olen;
}

int gw_rewrite_apply(const struct gw_rewrite *w, const char *target, size_t len, char *out,
		     size_t cap)
{
	const char *q = memchr(target, '?', len);
	size_t plen = q ? (size_t)(q - target) : len, i;
	int n;

	if (cap < 2)
		return -ENOSPC;
	n = w->prefix ? apply_prefix(w, target, plen, out, cap - 1) :
			apply_regex(w, target, plen, out, cap - 1);
	if (n < 0)
		return n;
	if (!n || out[0] != '/')
		return -EINVAL;
	for (i = 0; i < (size_t)n; i++)
		if ((unsigned char)out[i] <= 0x20 || out[i] == 0x7f || out[i] == '#')
			return -EINVAL;
	if (q) {
		if ((size_t)n + (len - plen) + 1 > cap)
			return -ENOSPC;
		memcpy(out + n, q, len - plen);
		if (memchr(out, '?', (size_t)n))
			out[n] = '&';	/* the replacement has a query: the request's joins it */
		n += (int)(len - plen);
	}
	out[n] = '\0';
	return n;
}
