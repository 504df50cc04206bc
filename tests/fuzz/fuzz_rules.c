// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The route rules on what a client sends (agent/l7/cors.c, rewrite.c,
 * core/tmpl.c). The first input byte picks:
 *   0  a preflight: "origin\nmethod\nrequest headers" against a CORS
 *      config; the fields written are at most GW_CORS_FIELDS, every value
 *      set; a refusal writes no Access-Control-* field;
 *   1  a redirect: the rest as a request target, normalized, expanded into
 *      a Location template; the value holds no control byte;
 *   2  rewrites: the normalized target through a prefix and two regex
 *      rewrites (one that backtracks); the result is a path with no space
 *      or control byte, or an error, never a crash or a long stall;
 *   3  the compression decisions' field parsers (Accept-Encoding,
 *      Content-Type, Cache-Control) on the rest: no read past it.
 */
#include <errno.h>

#include "core/tmpl.h"
#include "fuzz.h"
#include "http/pathnorm.h"
#include "l7/cors.h"
#include "l7/encoding.h"
#include "l7/rewrite.h"

static struct gw_cors *cors;
static struct gw_rewrite *rw_prefix, *rw_re, *rw_bt;
static struct gw_zrule *zrule;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *origins[] = { "https://app.test", "http://localhost:3000" };
	static char *methods[] = { "GET", "PUT" };
	static char *headers[] = { "Authorization", "X-Trace" };
	struct gw_cfg_cors c = { { 1, 1 }, origins, 2, methods, 2, headers, 2, NULL, 0, 1, 0 };
	struct gw_cfg_rewrite p = { { 1, 1 }, "/new/", NULL, NULL };
	struct gw_cfg_rewrite r = { { 1, 1 }, NULL, "^/(\\w+)/(\\d+)", "/$2/$1?x=${1}" };
	struct gw_cfg_rewrite b = { { 1, 1 }, NULL, "^/(a|aa|a+)+$", "/b" };
	static char *types[] = { "text/plain", "application/*" };
	struct gw_cfg_compress z = { { 1, 1 }, types, 2, 100, 5, 1 };
	char why[256];

	FZ_CHECK(!gw_zrule_new(&z, &zrule));
	FZ_CHECK(!gw_cors_new(&c, &cors));
	FZ_CHECK(!gw_rewrite_new(&p, 1, 0, &rw_prefix, why, sizeof(why)));
	FZ_CHECK(!gw_rewrite_new(&r, 0, 0, &rw_re, why, sizeof(why)));
	FZ_CHECK(!gw_rewrite_new(&b, 0, 0, &rw_bt, why, sizeof(why)));
	return 0;
}

/* The n-th '\n'-separated part of s[len] (*plen its length). */
static const char *part(const char *s, size_t len, int n, size_t *plen)
{
	const char *e;

	while (n--) {
		e = memchr(s, '\n', len);
		if (!e) {
			*plen = 0;
			return NULL;
		}
		len -= (size_t)(e + 1 - s);
		s = e + 1;
	}
	e = memchr(s, '\n', len);
	*plen = e ? (size_t)(e - s) : len;
	return s;
}

static void check_preflight(const char *s, size_t len)
{
	struct gw_http_kv f[GW_CORS_FIELDS];
	size_t ol, ml, hl, n = 0, i;
	const char *o = part(s, len, 0, &ol), *m = part(s, len, 1, &ml), *h = part(s, len, 2, &hl);
	int origin = gw_cors_origin(cors, o, ol), rc;

	rc = gw_cors_preflight(cors, origin, m ? m : "", ml, h, hl, f, &n);
	FZ_CHECK(n <= GW_CORS_FIELDS && (rc < 0 || (size_t)rc == n));
	for (i = 0; i < n; i++) {
		FZ_CHECK(f[i].name && f[i].value);
		FZ_CHECK(rc >= 0 || strncmp(f[i].name, "Access-Control-", 15));
	}
	n = gw_cors_fields(cors, origin, f);
	FZ_CHECK(n <= GW_CORS_FIELDS);
}

/* The normalized form of s[len] into a new buffer (*nl its length, *pl its
 * path's), or NULL when it has none. */
static char *normalized(const char *s, size_t len, size_t *nl, size_t *pl)
{
	char *out = malloc(len + 2);
	int n;

	FZ_CHECK(out);
	n = gw_path_normalize(s, len, out, len + 2, pl);
	if (n < 0) {
		free(out);
		return NULL;
	}
	*nl = (size_t)n;
	return out;
}

static void check_redirect(const char *s, size_t len)
{
	size_t nl, pl, i;
	char *t = normalized(s, len, &nl, &pl), out[512];
	struct gw_tmpl_vars v = { "https", 5, "h.test", 6, t, pl, NULL, 0 };
	int n;

	if (!t)
		return;
	if (nl > pl) {
		v.query = t + pl + 1;
		v.query_len = nl - pl - 1;
	}
	n = gw_tmpl_expand("https://{host}{path}{query}{{", &v, out, sizeof(out));
	FZ_CHECK(n == -ENOSPC || n == -EINVAL || (n > 0 && (size_t)n < sizeof(out)));
	for (i = 0; n > 0 && i < (size_t)n; i++)
		FZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	free(t);
}

static void check_rewrite(const struct gw_rewrite *w, const char *t, size_t nl)
{
	char out[1024];
	int n = gw_rewrite_apply(w, t, nl, out, sizeof(out)), i;

	FZ_CHECK(n == -ENOSPC || n == -EINVAL || (n > 0 && (size_t)n < sizeof(out)));
	if (n <= 0)
		return;
	FZ_CHECK(out[0] == '/' && out[n] == '\0');
	for (i = 0; i < n; i++)
		FZ_CHECK((unsigned char)out[i] > 0x20 && out[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t nl, pl;
	char *t;

	if (size < 1 || size > 4096)
		return 0;
	s = fz_dup(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		check_preflight(s, size - 1);
		break;
	case 1:
		check_redirect(s, size - 1);
		break;
	case 3:
		FZ_CHECK(gw_accepts_gzip(s, size - 1) <= 1);
		FZ_CHECK(gw_zrule_type(zrule, s, size - 1) <= 1);
		FZ_CHECK(gw_no_transform(s, size - 1) <= 1);
		break;
	default:
		t = normalized(s, size - 1, &nl, &pl);
		if (t) {
			check_rewrite(rw_prefix, t, nl);
			check_rewrite(rw_re, t, nl);
			check_rewrite(rw_bt, t, nl);
			free(t);
		}
	}
	free(s);
	return 0;
}
