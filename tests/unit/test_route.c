// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * agent/l7/route.c and agent/http/pathnorm.c: request normalization, first-match
 * routing (host, wildcard, segment-aware prefixes, methods, headers),
 * strip_prefix, table refcounting, the flat records; the index is checked
 * against a linear reference matcher on random requests and timed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/refslot.h"
#include "l7/route.h"

/* ------------------------------------------------------------------ */
/* Normalization                                                        */

static void check_path(const char *in, const char *want)
{
	char out[512];
	size_t plen = 0;
	int n = gw_path_normalize(in, strlen(in), out, sizeof(out), &plen);

	print_message("# path '%s' -> %s\n", in, n < 0 ? "error" : out);
	if (!want) {
		assert_int_equal(n, -EINVAL);
		return;
	}
	assert_true(n > 0);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	assert_int_equal(plen, strcspn(want, "?"));
}

static void test_path_normalize(void **state)
{
	/* unchanged */
	check_path("/", "/");
	check_path("/users/42", "/users/42");
	check_path("/users/", "/users/");
	check_path("/a?x=1&y=/../z", "/a?x=1&y=/../z");	/* query untouched */
	check_path("/a:b@c;d=e,f!$&'()*+", "/a:b@c;d=e,f!$&'()*+");
	/* unreserved characters decoded, others kept encoded, hex upper-cased */
	check_path("/%61dmin", "/admin");
	check_path("/%7Euser/%2d%5f", "/~user/-_");
	check_path("/a%20b%3f%3B", "/a%20b%3F%3B");
	check_path("/%25", "/%25");
	/* dot segments, RFC 3986 5.2.4 */
	check_path("/a/b/c/./../../g", "/a/g");
	check_path("/a/./b", "/a/b");
	check_path("/a/.", "/a/");
	check_path("/a/b/..", "/a/");
	check_path("/..", "/");
	check_path("/../../etc/passwd", "/etc/passwd");
	check_path("/a/..", "/");
	check_path("/a/...", "/a/...");		/* not a dot segment */
	check_path("/a/.b", "/a/.b");
	check_path("/x/%2e%2E/admin", "/admin");	/* encoded dots resolved too */
	check_path("/x/.%2e/admin", "/admin");
	/* duplicate slashes merged, before dot segments */
	check_path("//a///b//", "/a/b/");
	check_path("/a//../b", "/b");
	check_path("///", "/");
	/* refused: 400 */
	check_path("", NULL);
	check_path("a/b", NULL);
	check_path("/a%2Fb", NULL);		/* encoded '/' */
	check_path("/a%2fb", NULL);
	check_path("/a%5Cb", NULL);		/* encoded '\' */
	check_path("/a\\b", NULL);
	check_path("/a%00", NULL);
	check_path("/a%", NULL);
	check_path("/a%4", NULL);
	check_path("/a%zz", NULL);
	check_path("/a%4g", NULL);
	check_path("/a b", NULL);
	check_path("/a\tb", NULL);
	check_path("/a#f", NULL);
	check_path("/a\x7f", NULL);
	check_path("/caf\xc3\xa9", NULL);	/* raw UTF-8: clients encode it */
	check_path("/a?q=1 2", NULL);
	check_path("/a?q#f", NULL);
	/* dot segments with path parameters: "..;" is ".." to Tomcat */
	check_path("/pub/..;/admin", NULL);
	check_path("/pub/%2e%2e;x=1/admin", NULL);
	check_path("/pub/.;/admin", NULL);
	check_path("/pub/a;b/c", "/pub/a;b/c");		/* other parameters pass */
	check_path("/pub/...;/c", "/pub/...;/c");
	{
		/* NUL inside the given length */
		char out[16];

		assert_int_equal(gw_path_normalize("/a\0b", 4, out, sizeof(out), NULL), -EINVAL);
		/* out too small */
		assert_int_equal(gw_path_normalize("/ab", 3, out, 3, NULL), -ENOSPC);
	}
}

/* 1 if the normalized path p[0..len) still has something to normalize. */
static int has_unnormalized(const char *p, size_t len)
{
	size_t i, seg = 1;

	for (i = 1; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		/* segment p[seg..i) */
		if (i == seg && i < len)
			return 1;				/* "//" */
		if ((i - seg == 1 && p[seg] == '.') ||
		    (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
			return 1;				/* dot segment */
		seg = i + 1;
	}
	for (i = 0; i + 2 < len; i++)
		if (p[i] == '%' && (p[i + 1] == '2' && (p[i + 2] == 'e' || p[i + 2] == 'E')))
			return 1;				/* an encoded '.' */
	return 0;
}

/* Random targets over an alphabet of the interesting bytes: whatever is
 * accepted normalizes to a fixed point with no "//", dot segments or
 * encoded dots left, never longer than its input. */
static void test_path_normalize_random(void **state)
{
	static const char alpha[] = "//..%%2eEfF5cCa;?x";
	char in[32], out[40], again[40];
	size_t plen, plen2;
	int i, n, m, accepted = 0;

	srand(7);
	for (i = 0; i < 200000; i++) {
		size_t len = 1 + (size_t)rand() % 24, j;

		in[0] = '/';
		for (j = 1; j < len; j++)
			in[j] = alpha[rand() % (sizeof(alpha) - 1)];
		n = gw_path_normalize(in, len, out, sizeof(out), &plen);
		if (n < 0) {
			assert_int_equal(n, -EINVAL);
			continue;
		}
		accepted++;
		assert_true((size_t)n <= len);
		assert_int_equal(out[0], '/');
		m = gw_path_normalize(out, (size_t)n, again, sizeof(again), &plen2);
		if (m != n || memcmp(out, again, (size_t)n) || has_unnormalized(out, plen))
			print_message("# '%.*s' -> '%s' -> '%s'\n", (int)len, in, out, again);
		assert_int_equal(m, n);				/* a fixed point */
		assert_memory_equal(out, again, (size_t)n);
		assert_int_equal(plen2, plen);
		assert_false(has_unnormalized(out, plen));
	}
	print_message("# %d of 200000 random targets accepted\n", accepted);
	assert_true(accepted > 10000);
}

static void check_host(const char *in, int wildcard, const char *want)
{
	char out[GW_HOST_BUF];
	int n = gw_host_normalize(in, strlen(in), out, wildcard);

	print_message("# host '%s' -> %s\n", in, n < 0 ? "error" : out);
	if (!want) {
		assert_int_equal(n, -EINVAL);
		return;
	}
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

static void test_host_normalize(void **state)
{
	char long_host[300];

	check_host("api.example.com", 0, "api.example.com");
	check_host("API.Example.COM", 0, "api.example.com");
	check_host("api.example.com:8443", 0, "api.example.com");
	check_host("api.example.com.", 0, "api.example.com");
	check_host("api.example.com.:443", 0, "api.example.com");
	check_host("api.example.com:", 0, "api.example.com");
	check_host("localhost", 0, "localhost");
	check_host("198.18.0.1:80", 0, "198.18.0.1");
	check_host("[FD00::1]:443", 0, "[fd00::1]");
	check_host("[fd00::1]", 0, "[fd00::1]");
	check_host("", 0, "");
	check_host("*.example.com", 1, "*.example.com");
	check_host("*.example.com", 0, NULL);	/* not in requests */
	check_host(".", 0, NULL);
	check_host("a..b", 0, NULL);
	check_host(".a", 0, NULL);
	check_host("a b", 0, NULL);
	check_host("a/b", 0, NULL);
	check_host("a:b", 0, NULL);
	check_host("a:123456", 0, NULL);
	check_host("fd00::1", 0, NULL);
	check_host("[fd00::1", 0, NULL);
	check_host("[fd00::1]x", 0, NULL);
	check_host("[zz]", 0, NULL);
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	check_host(long_host, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

static struct gw_cfg cfg;
static struct gw_cfg_errors errs;
static struct gw_route_table *tab;

static const char cfg_head[] = "version: 1\n"
			       "upstreams:\n"
			       "  - { name: u, servers: [198.18.1.2:80] }\n"
			       "  - { name: v, servers: [198.18.1.3:80] }\n"
			       "routes:\n";

/* Loads cfg_head + routes and builds the table. Returns gw_route_table_build's
 * result (the config must be valid). */
static int build(const char *routes)
{
	size_t len = strlen(cfg_head) + strlen(routes);
	char *text = malloc(len + 1);
	size_t i;
	int err;

	assert_non_null(text);
	strcpy(text, cfg_head);
	strcat(text, routes);
	err = gw_cfg_load_string("t.yaml", text, len, &cfg, &errs);
	for (i = 0; i < errs.n; i++)
		print_message("%s\n", errs.msgs[i]);
	free(text);
	assert_int_equal(err, 0);
	return gw_route_table_build(&cfg, &tab);
}

static int teardown(void **state)
{
	gw_route_table_put(tab);
	tab = NULL;
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
	return 0;
}

/* Request headers for the callback: "name", "value" pairs, NULL-ended. */
struct hdrs {
	const char *const *kv;
};

static const char *get_header(void *arg, const char *name, size_t *len)
{
	const struct hdrs *h = arg;
	size_t i;

	for (i = 0; h && h->kv[i]; i += 2)
		if (!strcasecmp(h->kv[i], name)) {
			*len = strlen(h->kv[i + 1]);
			return h->kv[i + 1];
		}
	return NULL;
}

/* Matches a raw host and target; returns the route index or -1 (no route),
 * -2 (400). */
static int route_of(const char *host, const char *method, const char *target,
		    const char *const *headers)
{
	char h[GW_HOST_BUF], p[512];
	struct hdrs hd = { headers };
	struct gw_route_req req = { 0 };
	const struct gw_route *r;
	size_t plen;
	int hl, n;

	hl = gw_host_normalize(host, strlen(host), h, 0);
	n = gw_path_normalize(target, strlen(target), p, sizeof(p), &plen);
	if (hl < 0 || n < 0)
		return -2;
	req.host = h;
	req.host_len = (size_t)hl;
	req.path = p;
	req.path_len = plen;
	req.method = method;
	req.method_len = strlen(method);
	req.header = get_header;
	req.header_arg = headers ? &hd : NULL;
	r = gw_route_match(tab, &req);
	return r ? (int)r->index : -1;
}

static void test_match_order_and_host(void **state)
{
	assert_int_equal(build("  - match: { host: api.example.com, path_prefix: /users/ }\n"
			       "    upstream: u\n"
			       "  - match: { host: '*.example.com' }\n"
			       "    upstream: v\n"
			       "  - match: { host: api.example.com }\n"	/* after the wildcard */
			       "    upstream: u\n"
			       "  - match: { host: Other.Example.ORG. }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: / }\n"
			       "    upstream: u\n"),
			 0);
	assert_int_equal(gw_route_count(tab), 5);
	/* exact host, case-insensitive, port and trailing dot ignored */
	assert_int_equal(route_of("api.example.com", "GET", "/users/1", NULL), 0);
	assert_int_equal(route_of("API.EXAMPLE.COM:443", "GET", "/users/1", NULL), 0);
	assert_int_equal(route_of("api.example.com.", "GET", "/users/1", NULL), 0);
	/* first match in file order: the wildcard (#1) shadows exact #2 */
	assert_int_equal(route_of("api.example.com", "GET", "/other", NULL), 1);
	/* wildcard: one or more labels, never the bare suffix */
	assert_int_equal(route_of("x.example.com", "GET", "/", NULL), 1);
	assert_int_equal(route_of("a.b.example.com", "GET", "/", NULL), 1);
	assert_int_equal(route_of("example.com", "GET", "/", NULL), 4);
	assert_int_equal(route_of("xexample.com", "GET", "/", NULL), 4);
	/* config host normalized too */
	assert_int_equal(route_of("other.example.org", "GET", "/", NULL), 3);
	/* no Host: only host-less routes */
	assert_int_equal(route_of("", "GET", "/users/1", NULL), 4);
	/* 400s never reach the table */
	assert_int_equal(route_of("a..b", "GET", "/", NULL), -2);
	assert_int_equal(route_of("api.example.com", "GET", "/users%2F1", NULL), -2);
}

static void test_match_paths(void **state)
{
	assert_int_equal(build("  - match: { path_exact: /healthz }\n"
			       "    respond: { status: 200, body: ok }\n"
			       "  - match: { path_prefix: /users/ }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /users }\n"
			       "    upstream: v\n"
			       "  - match: { path_prefix: /a/b }\n"
			       "    upstream: v\n"
			       "  - match: { path_exact: / }\n"
			       "    upstream: v\n"),
			 0);
	assert_int_equal(route_of("h", "GET", "/healthz", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/healthz?x=1", NULL), 0);	/* query ignored */
	assert_int_equal(route_of("h", "GET", "/healthz/", NULL), -1);	/* exact is exact */
	assert_int_equal(route_of("h", "GET", "/healthzx", NULL), -1);
	/* "/users/" needs the slash */
	assert_int_equal(route_of("h", "GET", "/users/x", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/users/", NULL), 1);
	/* "/users" is segment-aware */
	assert_int_equal(route_of("h", "GET", "/users", NULL), 2);
	assert_int_equal(route_of("h", "GET", "/usersx", NULL), -1);
	assert_int_equal(route_of("h", "GET", "/a/b", NULL), 3);
	assert_int_equal(route_of("h", "GET", "/a/b/c", NULL), 3);
	assert_int_equal(route_of("h", "GET", "/a/bc", NULL), -1);
	assert_int_equal(route_of("h", "GET", "/a", NULL), -1);
	assert_int_equal(route_of("h", "GET", "/", NULL), 4);
	/* matched after normalization: no bypass */
	assert_int_equal(route_of("h", "GET", "/x/../users/1", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/%75sers/1", NULL), 1);
	assert_int_equal(route_of("h", "GET", "//users//1", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/users/..", NULL), 4);
}

static void check_upstream_path(int idx, const char *target, const char *want)
{
	char norm[256], out[260];
	int n = gw_path_normalize(target, strlen(target), norm, sizeof(norm), NULL);

	assert_true(n > 0);
	n = gw_route_upstream_path(gw_route_at(tab, (size_t)idx), norm, (size_t)n, out,
				   sizeof(out));
	print_message("# route %d '%s' -> '%s'\n", idx, target, out);
	assert_int_equal(n, strlen(want));
	assert_string_equal(out, want);
}

/* Path parameters (";...") do not hide a route: Tomcat, Jetty and Spring
 * serve "/admin;x=1" as "/admin"; the bytes forwarded keep them. */
static void test_match_path_params(void **state)
{
	assert_int_equal(build("  - match: { path_prefix: /admin }\n"
			       "    respond: { status: 403 }\n"
			       "  - match: { path_exact: /a/b }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: / }\n"
			       "    upstream: v\n"),
			 0);
	assert_int_equal(route_of("h", "GET", "/admin;x=1", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/admin;", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/admin;/x", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/admin;jsessionid=1/users;v=2", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/;x/admin", NULL), 0);	/* "//admin" merged */
	assert_int_equal(route_of("h", "GET", "/a;p/b;q?x=;", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/a/b;", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/adminx;y", NULL), 2);
	assert_int_equal(route_of("h", "GET", "/x;/admin", NULL), 2);
	/* the encoded form is not a parameter: Tomcat does not split on it */
	assert_int_equal(route_of("h", "GET", "/admin%3Bx", NULL), 2);
	/* "/ADMIN" is another path here (case-sensitive by default) */
	assert_int_equal(route_of("h", "GET", "/ADMIN", NULL), 2);
}

/* ignore_case: what a case-folding backend (Windows, IIS) serves as one
 * path is one path to the route: case, trailing dots and spaces. */
static void test_match_ignore_case(void **state)
{
	assert_int_equal(build("  - match: { path_prefix: /Admin, ignore_case: true }\n"
			       "    respond: { status: 403 }\n"
			       "  - match: { path_exact: /docs/Index.html, ignore_case: true }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /API/, ignore_case: true }\n"
			       "    upstream: u\n"
			       "    strip_prefix: true\n"
			       "  - match: { path_prefix: / }\n"
			       "    upstream: v\n"),
			 0);
	assert_int_equal(route_of("h", "GET", "/admin", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/ADMIN", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/aDmIn/x", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/admin.", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/admin%20", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/admin.%20./x", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/%41dmin;x", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/adminx", NULL), 3);
	assert_int_equal(route_of("h", "GET", "/DOCS/INDEX.HTML", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/docs/index.html.", NULL), 1);
	assert_int_equal(route_of("h", "GET", "/docs/index.htm", NULL), 3);
	assert_int_equal(route_of("h", "GET", "/api/v1", NULL), 2);
	check_upstream_path(2, "/Api./V1?q", "/V1?q");	/* forwarded as sent */
	check_upstream_path(2, "/api;k=v/v1", "/v1");
}

/* Upgrade passes only to the protocols a route allows: websocket unless
 * the route says otherwise; every offered protocol must be allowed. */
static void test_upgrade_allowed(void **state)
{
	const struct gw_route *r;

	assert_int_equal(build("  - match: { path_prefix: /a }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /b }\n"
			       "    upstream: u\n"
			       "    upgrade: []\n"
			       "  - match: { path_prefix: /c }\n"
			       "    upstream: u\n"
			       "    upgrade: [websocket, Custom-Proto]\n"),
			 0);
	r = gw_route_at(tab, 0);
	assert_int_equal(gw_route_upgrade_allowed(r, "websocket", 9), 1);
	assert_int_equal(gw_route_upgrade_allowed(r, "WebSocket/13", 12), 1);
	assert_int_equal(gw_route_upgrade_allowed(r, "h2c", 3), 0);
	assert_int_equal(gw_route_upgrade_allowed(r, "websocket, h2c", 14), 0);
	assert_int_equal(gw_route_upgrade_allowed(r, "", 0), 0);
	assert_int_equal(gw_route_upgrade_allowed(r, " , ", 3), 0);
	r = gw_route_at(tab, 1);
	assert_int_equal(gw_route_upgrade_allowed(r, "websocket", 9), 0);
	r = gw_route_at(tab, 2);
	assert_int_equal(gw_route_upgrade_allowed(r, "custom-proto/2, websocket", 25), 1);
	assert_int_equal(gw_route_upgrade_allowed(r, "h2c", 3), 0);
}

static void test_match_methods_headers(void **state)
{
	static const char *const beta[] = { "X-Env", "beta", NULL };
	static const char *const beta_case[] = { "x-env", "Beta", NULL };
	static const char *const both[] = { "x-env", "beta", "X-Tenant", "t1", NULL };

	assert_int_equal(build("  - match: { path_prefix: /, methods: [GET, HEAD] }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /, methods: [PURGE] }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /, headers: { X-Env: beta, "
			       "x-tenant: t1 } }\n"
			       "    upstream: v\n"
			       "  - match: { path_prefix: /, headers: { X-ENV: beta } }\n"
			       "    upstream: v\n"),
			 0);
	assert_int_equal(route_of("h", "GET", "/", NULL), 0);
	assert_int_equal(route_of("h", "HEAD", "/", NULL), 0);
	assert_int_equal(route_of("h", "get", "/", NULL), -1);	/* methods are case-sensitive */
	assert_int_equal(route_of("h", "PURGE", "/", NULL), 1);
	assert_int_equal(route_of("h", "BREW", "/", NULL), -1);
	assert_int_equal(route_of("h", "POST", "/", NULL), -1);
	/* header names case-insensitive, values exact; all must hold */
	assert_int_equal(route_of("h", "POST", "/", beta), 3);
	assert_int_equal(route_of("h", "POST", "/", beta_case), -1);
	assert_int_equal(route_of("h", "POST", "/", both), 2);
	assert_int_equal(gw_route_at(tab, 2)->n_match_headers, 2);
	assert_string_equal(gw_route_at(tab, 3)->match_headers[0].name, "x-env");
}

static void test_strip_prefix(void **state)
{
	char out[4];

	assert_int_equal(build("  - match: { path_prefix: /users/ }\n"
			       "    upstream: u\n"
			       "    strip_prefix: true\n"
			       "  - match: { path_prefix: /api }\n"
			       "    upstream: u\n"
			       "    strip_prefix: true\n"
			       "  - match: { path_prefix: /keep/ }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: / }\n"
			       "    upstream: u\n"
			       "    strip_prefix: true\n"),
			 0);
	check_upstream_path(0, "/users/42", "/42");
	check_upstream_path(0, "/users/42?a=1&b", "/42?a=1&b");
	check_upstream_path(0, "/users/", "/");
	check_upstream_path(0, "/users/?q", "/?q");
	check_upstream_path(0, "/users//x/../42", "/42");
	check_upstream_path(1, "/api", "/");
	check_upstream_path(1, "/api?x", "/?x");
	check_upstream_path(1, "/api/v1/x", "/v1/x");
	check_upstream_path(2, "/keep/x?y", "/keep/x?y");
	check_upstream_path(3, "/a/b", "/a/b");
	/* path parameters on the stripped segments go with them */
	check_upstream_path(0, "/users;v=2/42", "/42");
	check_upstream_path(1, "/api;x/v1;y", "/v1;y");
	check_upstream_path(1, "/api;x", "/");
	check_upstream_path(0, "/;a/users/42", "/42");
	/* too small a buffer */
	assert_int_equal(gw_route_upstream_path(gw_route_at(tab, 2), "/keep/x", 7, out,
						sizeof(out)),
			 -ENOSPC);
}

static void test_actions_and_records(void **state)
{
	const struct gw_l7_match *recs;
	const struct gw_route *r;
	size_t n;

	assert_int_equal(build("  - match: { host: API.example.com, path_prefix: /users/, "
			       "methods: [GET, POST] }\n"
			       "    upstream: u\n"
			       "    rate_limit: { rate: 100/s, burst: 200, key: ip }\n"
			       "    request_headers: { add: { X-Gateway: gw }, "
			       "remove: [X-Debug] }\n"
			       "  - match: { host: '*.example.com', path_exact: /healthz }\n"
			       "    respond: { status: 200, body: \"ok\\n\" }\n"
			       "  - match: { path_prefix: /, headers: { a: b } }\n"
			       "    upstream: v\n"),
			 0);
	r = gw_route_at(tab, 0);
	assert_string_equal(r->upstream, "u");
	assert_null(r->auth);
	assert_int_equal(r->rate_limit.rate.count, 100);
	assert_int_equal(r->rate_limit.burst, 200);
	assert_int_equal(r->rate_limit.key, GW_RL_KEY_IP);
	/* compiled for l7limit: 10 ms a request, 199 intervals of slack */
	assert_int_equal(r->limit.gcra.interval_ns, 10000000);
	assert_int_equal(r->limit.gcra.tolerance_ns, 199ull * 10000000);
	assert_int_equal(r->limit.burst, 200);
	assert_int_equal(r->limit.key, GW_RL_KEY_IP);
	assert_true(r->limit.scope == r->rl_scope);
	assert_int_equal(gw_route_at(tab, 1)->limit.gcra.interval_ns, 0);	/* no limit */
	assert_string_equal(r->add_headers[0].name, "X-Gateway");
	assert_string_equal(r->add_headers[0].value, "gw");
	assert_string_equal(r->remove_headers[0], "x-debug");
	assert_string_equal(r->label, "api.example.com/users/* GET,POST");
	r = gw_route_at(tab, 1);
	assert_null(r->upstream);
	assert_int_equal(r->respond_status, 200);
	assert_string_equal(r->respond_body, "ok\n");
	assert_string_equal(r->label, "*.example.com/healthz");
	assert_string_equal(gw_route_at(tab, 2)->label, "*/*");
	assert_null(gw_route_at(tab, 3));
	/* scopes: distinct per match, stable across a rebuild */
	assert_true(gw_route_at(tab, 0)->rl_scope != gw_route_at(tab, 1)->rl_scope);

	recs = gw_route_records(tab, &n);
	assert_int_equal(n, 3);
	assert_int_equal(recs[0].index, 0);
	assert_int_equal(recs[0].host_kind, GW_L7_HOST_EXACT);
	assert_int_equal(recs[0].host_len, 15);
	assert_string_equal(recs[0].host, "api.example.com");
	assert_int_equal(recs[0].path_kind, GW_L7_PATH_PREFIX);
	assert_string_equal(recs[0].path, "/users/");
	assert_int_equal(recs[0].methods, GW_L7_M_GET | GW_L7_M_POST);
	assert_int_equal(recs[0].flags, 0);
	assert_int_equal(recs[1].host_kind, GW_L7_HOST_SUFFIX);
	assert_string_equal(recs[1].host, ".example.com");
	assert_int_equal(recs[1].path_kind, GW_L7_PATH_EXACT);
	assert_int_equal(recs[2].host_kind, GW_L7_HOST_ANY);
	assert_int_equal(recs[2].host_len, 0);
	assert_int_equal(recs[2].flags, GW_L7_F_USER_ONLY);
	assert_int_equal(recs[2].n_headers, 1);
	/* padding stays zero: the record can be copied to a map as is */
	assert_int_equal(recs[0].pad, 0);
	assert_int_equal(recs[0].host[recs[0].host_len], '\0');
}

/* Rate-limit buckets follow a route's match, not its position. */
/* A route's name is its label (metrics, access log, gwctl); without one
 * the label is positional. A name changes neither matching nor the
 * rate-limit scope, which follows the match. */
static void test_route_names(void **state)
{
	const struct gw_route *r;
	__u64 scope;

	assert_int_equal(build("  - name: users-api\n"
			       "    match: { path_prefix: /users/ }\n"
			       "    upstream: u\n"
			       "    rate_limit: { rate: 10/s, burst: 10, key: ip }\n"
			       "  - match: { path_prefix: /orders/ }\n"
			       "    upstream: v\n"),
			 0);
	r = gw_route_at(tab, 0);
	assert_string_equal(r->name, "users-api");
	assert_string_equal(r->label, "users-api");
	assert_null(gw_route_at(tab, 1)->name);
	assert_string_equal(gw_route_at(tab, 1)->label, "*/orders/*");
	assert_int_equal(route_of("h", "GET", "/users/1", NULL), 0);
	scope = r->rl_scope;
	teardown(state);
	assert_int_equal(build("  - match: { path_prefix: /users/ }\n"
			       "    upstream: u\n"
			       "    rate_limit: { rate: 10/s, burst: 10, key: ip }\n"),
			 0);
	assert_string_equal(gw_route_at(tab, 0)->label, "*/users/*");
	assert_true(gw_route_at(tab, 0)->rl_scope == scope);
	teardown(state);
	/* a label derived from the match: a route inserted before another
	 * changes nothing of it; a repeat of the same match gets ~2, ~3 */
	assert_int_equal(build("  - match: { path_prefix: /new/ }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /users/, headers: { X-A: b } }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /users/ }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /users/, headers: { X-A: c } }\n"
			       "    upstream: u\n"),
			 0);
	assert_string_equal(gw_route_at(tab, 1)->label, "*/users/*");
	assert_string_equal(gw_route_at(tab, 2)->label, "*/users/* ~2");
	assert_string_equal(gw_route_at(tab, 3)->label, "*/users/* ~3");
}

static void test_scope_stable_across_reload(void **state)
{
	__u64 a, b;

	assert_int_equal(build("  - match: { host: a.example.com, path_prefix: /x/ }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /y/, methods: [PURGE] }\n"
			       "    upstream: u\n"),
			 0);
	a = gw_route_at(tab, 0)->rl_scope;
	b = gw_route_at(tab, 1)->rl_scope;
	assert_true(a != b);
	teardown(state);
	/* a route inserted first, the others moved down and one retargeted */
	assert_int_equal(build("  - match: { path_exact: /new }\n"
			       "    upstream: v\n"
			       "  - match: { host: a.example.com, path_prefix: /x/ }\n"
			       "    upstream: v\n"
			       "  - match: { path_prefix: /y/, methods: [PURGE] }\n"
			       "    upstream: u\n"
			       "  - match: { path_prefix: /y/, methods: [BREW] }\n"
			       "    upstream: u\n"),
			 0);
	assert_true(gw_route_at(tab, 1)->rl_scope == a);
	assert_true(gw_route_at(tab, 1)->limit.scope == a);
	assert_true(gw_route_at(tab, 2)->rl_scope == b);
	assert_true(gw_route_at(tab, 3)->rl_scope != b);	/* another method */
	assert_true(gw_route_at(tab, 0)->rl_scope != a);
}

static void test_bad_paths_refused(void **state)
{
	/* valid for the parser, but not a request path the router can match */
	assert_int_equal(build("  - match: { path_prefix: /a%2Fb }\n"
			       "    upstream: u\n"),
			 -EINVAL);
	assert_null(tab);
	teardown(state);
	assert_int_equal(build("  - match: { path_exact: '/a?b' }\n"
			       "    upstream: u\n"),
			 -EINVAL);
	teardown(state);
	/* requests are matched without ';' parameters: a route with one
	 * could never match */
	assert_int_equal(build("  - match: { path_prefix: '/a;b' }\n"
			       "    upstream: u\n"),
			 -EINVAL);
	teardown(state);
	/* longer than a flat record holds */
	{
		char r[600];

		snprintf(r, sizeof(r), "  - match: { path_prefix: /%0300d }\n    upstream: u\n", 0);
		assert_int_equal(build(r), -EINVAL);
	}
}

/* The void * forms of the table's get and put that gw_refslot_init() takes. */
static void *table_get(void *t)
{
	return gw_route_table_get(t);
}

static void table_put(void *t)
{
	gw_route_table_put(t);
}

static void test_refcount_swap(void **state)
{
	struct gw_route_table *held, *first;
	struct gw_refslot slot;

	assert_int_equal(build("  - match: { path_prefix: /old }\n    upstream: u\n"), 0);
	first = tab;
	tab = NULL;
	gw_refslot_init(&slot, table_get, table_put);
	assert_null(gw_refslot_acquire(&slot));
	gw_refslot_swap(&slot, first);
	held = gw_refslot_acquire(&slot);	/* a request in flight */
	assert_ptr_equal(held, first);
	gw_cfg_free(&cfg);
	/* reload: the in-flight request keeps using the old table */
	assert_int_equal(build("  - match: { path_prefix: /new }\n    upstream: v\n"), 0);
	gw_refslot_swap(&slot, tab);
	tab = held;
	assert_int_equal(route_of("h", "GET", "/old", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/new", NULL), -1);
	gw_route_table_put(held);	/* frees the old table (ASan checks) */
	tab = gw_refslot_acquire(&slot);
	assert_int_equal(route_of("h", "GET", "/new", NULL), 0);
	assert_int_equal(route_of("h", "GET", "/old", NULL), -1);
	gw_route_table_put(tab);
	tab = NULL;
	gw_refslot_destroy(&slot);
}

/* A worker's cached table follows reloads without a lock per request. */
static void test_refslot_worker_cache(void **state)
{
	struct gw_route_table *cached = NULL, *t1, *t2;
	struct gw_refslot slot;
	unsigned int gen = 0;

	gw_refslot_init(&slot, table_get, table_put);
	assert_null(gw_refslot_refresh(&slot, (void **)&cached, &gen));
	assert_int_equal(build("  - match: { path_prefix: /one }\n    upstream: u\n"), 0);
	t1 = tab;
	gw_refslot_swap(&slot, t1);
	assert_ptr_equal(gw_refslot_refresh(&slot, (void **)&cached, &gen), t1);
	assert_ptr_equal(gw_refslot_refresh(&slot, (void **)&cached, &gen), t1);	/* no change */
	gw_cfg_free(&cfg);
	assert_int_equal(build("  - match: { path_prefix: /two }\n    upstream: u\n"), 0);
	t2 = tab;
	gw_refslot_swap(&slot, t2);	/* t1 now lives on the cached reference only */
	tab = cached;
	assert_int_equal(route_of("h", "GET", "/one", NULL), 0);
	assert_ptr_equal(gw_refslot_refresh(&slot, (void **)&cached, &gen), t2);	/* t1 freed */
	tab = cached;
	assert_int_equal(route_of("h", "GET", "/two", NULL), 0);
	tab = NULL;
	gw_route_table_put(cached);
	gw_refslot_destroy(&slot);
}

/* ------------------------------------------------------------------ */
/* The index against a linear reference, and its speed                  */

/* First matching route by walking every record, written independently of
 * route.c's index. */
static int linear_match(const struct gw_route_req *req)
{
	size_t n, i, j;
	const struct gw_l7_match *recs = gw_route_records(tab, &n);

	for (i = 0; i < n; i++) {
		const struct gw_l7_match *m = &recs[i];
		const struct gw_route *r = gw_route_at(tab, i);
		int ok = 1;

		if (m->host_kind == GW_L7_HOST_EXACT)
			ok = req->host_len == m->host_len &&
			     !memcmp(req->host, m->host, m->host_len);
		else if (m->host_kind == GW_L7_HOST_SUFFIX)
			ok = req->host_len > m->host_len &&
			     !memcmp(req->host + req->host_len - m->host_len, m->host, m->host_len);
		if (ok && m->path_kind == GW_L7_PATH_EXACT)
			ok = req->path_len == m->path_len &&
			     !memcmp(req->path, m->path, m->path_len);
		else if (ok && m->path_kind == GW_L7_PATH_PREFIX)
			ok = (m->path[m->path_len - 1] == '/' || req->path_len == m->path_len ||
			      (req->path_len > m->path_len && req->path[m->path_len] == '/')) &&
			     req->path_len >= m->path_len &&
			     !memcmp(req->path, m->path, m->path_len);
		if (ok && m->methods) {
			ok = 0;
			if (req->method_len == 3 && !memcmp(req->method, "GET", 3))
				ok = !!(m->methods & GW_L7_M_GET);
			else if (req->method_len == 4 && !memcmp(req->method, "POST", 4))
				ok = !!(m->methods & GW_L7_M_POST);
			for (j = 0; j < r->n_ext_methods; j++)
				if (strlen(r->ext_methods[j]) == req->method_len &&
				    !memcmp(r->ext_methods[j], req->method, req->method_len))
					ok = 1;
		}
		for (j = 0; ok && j < r->n_match_headers; j++) {
			size_t l;
			const char *v = get_header(req->header_arg, r->match_headers[j].name, &l);

			ok = v && !strcmp(v, r->match_headers[j].value);
		}
		if (ok)
			return (int)i;
	}
	return -1;
}

static double elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

#define BENCH_HOSTS 40
#define BENCH_PATHS 12

static const char *const bench_paths[BENCH_PATHS] = {
	"/users/", "/users", "/orders/", "/orders/items", "/v1/a", "/v1/b/",
	"/v2/", "/static/", "/login", "/logout", "/api/x/y", "/",
};

/* 40 hosts x 12 paths, wildcards, method and header routes: ~520 routes. */
static char *bench_config(void)
{
	size_t cap = 1 << 17, len = 0, h, p;
	char *s = malloc(cap);

	assert_non_null(s);
	for (h = 0; h < BENCH_HOSTS; h++) {
		for (p = 0; p < BENCH_PATHS; p++)
			len += (size_t)snprintf(s + len, cap - len,
						"  - match: { host: h%zu.example.com, %s: %s%s }\n"
						"    upstream: u\n",
						h, p % 3 == 1 ? "path_exact" : "path_prefix",
						bench_paths[p],
						p == 4 ? ", methods: [POST, PURGE]" : "");
		if (h % 8 == 0)
			len += (size_t)snprintf(s + len, cap - len,
						"  - match: { host: '*.d%zu.example.com', "
						"path_prefix: /v1/, headers: { x-env: beta } }\n"
						"    upstream: v\n",
						h);
	}
	len += (size_t)snprintf(s + len, cap - len,
				"  - match: { host: '*.example.com', path_prefix: /v2/ }\n"
				"    upstream: v\n"
				"  - match: { path_exact: /healthz }\n"
				"    respond: { status: 200 }\n");
	assert_true(len < cap);
	return s;
}

static const char *const bench_targets[] = {
	"/users/1", "/users", "/usersx", "/orders/items", "/orders/items/3", "/v1/a", "/v1/b/c",
	"/v2/z", "/static/app.js", "/login", "/logout/x", "/api/x/y/z", "/", "/healthz",
	"/v1/a/b", "/nothing/here",
};

static void test_index_matches_linear_and_bench(void **state)
{
	static const char *const beta[] = { "x-env", "beta", NULL };
	static const char *const methods[] = { "GET", "POST", "PURGE" };
	char *routes = bench_config();
	struct hdrs hd = { beta };
	struct timespec t0, t1;
	size_t i, n_req = 4096, agree = 0, matched = 0;
	struct {
		char host[GW_HOST_BUF];
		char path[64];
		struct gw_route_req req;
	} *reqs = calloc(n_req, sizeof(*reqs));
	volatile long sink = 0;
	double ns_index, ns_linear;
	int rounds = 10, k, pass;

	assert_non_null(reqs);
	assert_int_equal(build(routes), 0);
	free(routes);
	srand(42);
	for (i = 0; i < n_req; i++) {
		unsigned int r = (unsigned int)rand();
		int hl;
		size_t plen;
		char raw[GW_HOST_BUF];
		const char *t = bench_targets[r % (sizeof(bench_targets) / sizeof(char *))];

		switch ((r >> 8) % 4) {
		case 0:
			snprintf(raw, sizeof(raw), "h%u.example.com",
				 (r >> 12) % (BENCH_HOSTS + 4));
			break;
		case 1:
			snprintf(raw, sizeof(raw), "x.d%u.example.com", (r >> 12) % BENCH_HOSTS);
			break;
		case 2:
			snprintf(raw, sizeof(raw), "a.b.h%u.example.com:443", (r >> 12) % 4);
			break;
		default:
			snprintf(raw, sizeof(raw), "other.test");
		}
		hl = gw_host_normalize(raw, strlen(raw), reqs[i].host, 0);
		assert_true(hl > 0);
		assert_true(gw_path_normalize(t, strlen(t), reqs[i].path, sizeof(reqs[i].path),
					      &plen) > 0);
		reqs[i].req = (struct gw_route_req){
			.host = reqs[i].host, .host_len = (size_t)hl,
			.path = reqs[i].path, .path_len = plen,
			.method = methods[(r >> 20) % 3],
			.method_len = strlen(methods[(r >> 20) % 3]),
			.header = get_header, .header_arg = (r >> 24) & 1 ? &hd : NULL,
		};
	}
	print_message("# %zu routes\n", gw_route_count(tab));
	for (i = 0; i < n_req; i++) {
		const struct gw_route *r = gw_route_match(tab, &reqs[i].req);
		int want = linear_match(&reqs[i].req);

		if ((r ? (int)r->index : -1) == want)
			agree++;
		else
			print_message("# mismatch %s %s %s: index %d, linear %d\n",
				      reqs[i].req.method, reqs[i].host, reqs[i].path,
				      r ? (int)r->index : -1, want);
		matched += want >= 0;
	}
	print_message("# %zu of %zu requests routed\n", matched, n_req);
	assert_int_equal(agree, n_req);		/* index == first match in file order */
	assert_true(matched > n_req / 4);	/* the mix exercises real matches */

	/* The best of 7 interleaved passes of each: the machine is shared. */
	ns_index = ns_linear = 1e18;
	for (pass = 0; pass < 7; pass++) {
		double ns;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (k = 0; k < rounds; k++)
			for (i = 0; i < n_req; i++) {
				const struct gw_route *r = gw_route_match(tab, &reqs[i].req);

				sink += r ? (long)r->index : -1;
			}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = elapsed_ns(&t0, &t1) / (double)(rounds * n_req);
		ns_index = ns < ns_index ? ns : ns_index;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (k = 0; k < rounds; k++)
			for (i = 0; i < n_req; i++)
				sink += linear_match(&reqs[i].req);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = elapsed_ns(&t0, &t1) / (double)(rounds * n_req);
		ns_linear = ns < ns_linear ? ns : ns_linear;
	}
	print_message("# bench: %zu routes, indexed match %.0f ns/request, linear scan %.0f "
		      "ns/request (%.1fx), best of 7\n", gw_route_count(tab), ns_index, ns_linear,
		      ns_linear / ns_index);
	(void)sink;
	free(reqs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_normalize_random),
		cmocka_unit_test(test_host_normalize),
		cmocka_unit_test_teardown(test_match_order_and_host, teardown),
		cmocka_unit_test_teardown(test_match_paths, teardown),
		cmocka_unit_test_teardown(test_match_methods_headers, teardown),
		cmocka_unit_test_teardown(test_strip_prefix, teardown),
		cmocka_unit_test_teardown(test_match_path_params, teardown),
		cmocka_unit_test_teardown(test_match_ignore_case, teardown),
		cmocka_unit_test_teardown(test_upgrade_allowed, teardown),
		cmocka_unit_test_teardown(test_actions_and_records, teardown),
		cmocka_unit_test_teardown(test_route_names, teardown),
		cmocka_unit_test_teardown(test_scope_stable_across_reload, teardown),
		cmocka_unit_test_teardown(test_bad_paths_refused, teardown),
		cmocka_unit_test_teardown(test_refcount_swap, teardown),
		cmocka_unit_test_teardown(test_refslot_worker_cache, teardown),
		cmocka_unit_test_teardown(test_index_matches_linear_and_bench, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
