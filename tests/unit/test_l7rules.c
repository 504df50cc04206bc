// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The route rules of issue 15, their pure parts: field value templates
 * (core/tmpl.c), path rewrites by prefix and by PCRE2 regex with bounded
 * matching (l7/rewrite.c), per-route address rules (l7/iprule.c) and CORS
 * decisions (l7/cors.c); and request_headers.set / response_headers as
 * the route table compiles them.
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

#include "core/tmpl.h"
#include "gw/abi.h"
#include "l7/breaker.h"
#include "l7/cors.h"
#include "l7/encoding.h"
#include "l7/iprule.h"
#include "l7/rewrite.h"
#include "l7/route.h"
#include "proxy/compress.h"
#include <zlib.h>
#include <brotli/decode.h>

/* ---- templates ---------------------------------------------------------- */

static void test_tmpl(void **state)
{
	struct gw_tmpl_vars v = { "https", 5, "api.example.com", 15, "/a/b", 4, "x=1", 3 };
	char why[200], out[64];

	(void)state;
	assert_int_equal(gw_tmpl_check("https://{host}{path}{query}", why, sizeof(why)), 0);
	assert_int_equal(gw_tmpl_check("{{literal} {scheme}", why, sizeof(why)), 0);
	assert_int_equal(gw_tmpl_check("https://{hots}/", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "unknown placeholder at '{hots}/'"));
	assert_int_equal(gw_tmpl_check("a\r\nb", why, sizeof(why)), -EINVAL);
	assert_int_equal(gw_tmpl_check("{", why, sizeof(why)), -EINVAL);

	assert_int_equal(gw_tmpl_expand("{scheme}://{host}{path}{query}", &v, out, sizeof(out)),
			 strlen("https://api.example.com/a/b?x=1"));
	assert_string_equal(out, "https://api.example.com/a/b?x=1");
	v.query = NULL;
	v.query_len = 0;
	gw_tmpl_expand("https://x{path}{query}#{{", &v, out, sizeof(out));
	assert_string_equal(out, "https://x/a/b#{");
	/* too long for out, and a value a field may not hold */
	assert_int_equal(gw_tmpl_expand("{host}{host}{host}{host}{host}", &v, out, sizeof(out)),
			 -ENOSPC);
	v.path = "/a\nb";
	assert_int_equal(gw_tmpl_expand("{path}", &v, out, sizeof(out)), -EINVAL);
}

/* ---- rewrites ------------------------------------------------------------ */

static struct gw_rewrite *rw(const char *prefix, const char *re, const char *rep, size_t segs)
{
	struct gw_cfg_rewrite c = { { 1, 1 }, (char *)prefix, (char *)re, (char *)rep };
	struct gw_rewrite *w = NULL;
	char why[256];

	assert_int_equal(gw_rewrite_new(&c, segs, 0, &w, why, sizeof(why)), 0);
	return w;
}

static void check_rw(const struct gw_rewrite *w, const char *in, const char *want)
{
	char out[256];
	int n = gw_rewrite_apply(w, in, strlen(in), out, sizeof(out));

	print_message("# %s -> %s\n", in, n < 0 ? "error" : out);
	assert_true(n > 0);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_rewrite(void **state)
{
	struct gw_rewrite *w;
	char why[256], out[64];
	struct gw_cfg_rewrite bad = { { 1, 1 }, NULL, "(unclosed", "/" };

	(void)state;
	/* prefix: the match's segments replaced, the query kept */
	w = rw("/v2/people/", NULL, NULL, 1);
	check_rw(w, "/users/42?x=1", "/v2/people/42?x=1");
	check_rw(w, "/users/", "/v2/people/");
	check_rw(w, "/users", "/v2/people");
	gw_rewrite_free(w);
	w = rw("/", NULL, NULL, 2);
	check_rw(w, "/api/v1/items", "/items");
	check_rw(w, "/api/v1?q", "/?q");
	gw_rewrite_free(w);

	/* regex: first match replaced, groups, no match unchanged */
	w = rw(NULL, "^/b/(\\d+)$", "/items/$1", 0);
	check_rw(w, "/b/42?y=2", "/items/42?y=2");
	check_rw(w, "/b/x", "/b/x");
	gw_rewrite_free(w);
	w = rw(NULL, "^/(?<v>v\\d)/(.*)", "/${v}-api/$2?from=gw", 0);
	check_rw(w, "/v3/a/b?q=1", "/v3-api/a/b?from=gw&q=1");
	gw_rewrite_free(w);
	/* a result that is no path, and one too long */
	w = rw(NULL, "^/", "x", 0);
	assert_int_equal(gw_rewrite_apply(w, "/a", 2, out, sizeof(out)), -EINVAL);
	gw_rewrite_free(w);
	w = rw(NULL, "^/(.*)$", "/$1$1$1$1", 0);
	assert_int_equal(gw_rewrite_apply(w, "/aaaaaaaaaaaaaaaaaaaaaaaa", 25, out, sizeof(out)),
			 -ENOSPC);
	gw_rewrite_free(w);

	/* catastrophic backtracking stops at the match limit, quickly */
	{
		char subject[64];
		struct timespec t0, t1;

		memset(subject, 'a', sizeof(subject));
		subject[0] = '/';
		w = rw(NULL, "^/(a+)+$", "/x", 0);
		memcpy(subject + 40, "!", 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(gw_rewrite_apply(w, subject, 41, out, sizeof(out)), -EINVAL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 2);
		gw_rewrite_free(w);
	}

	/* a regex that does not compile, with where */
	assert_int_equal(gw_rewrite_check_regex("(unclosed", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "regex does not compile at offset 9"));
	assert_int_equal(gw_rewrite_new(&bad, 0, 0, &w, why, sizeof(why)), -EINVAL);
	assert_null(w);
	assert_int_equal(gw_rewrite_check_regex("^/ok/(\\d+)", why, sizeof(why)), 0);
}

/* ---- address rules -------------------------------------------------------- */

static struct gw_cidr cidr(const char *s)
{
	struct gw_cidr c;

	assert_int_equal(gw_cidr_parse(s, &c), 0);
	return c;
}

static int allows(const struct gw_iprule *r, const char *a)
{
	struct gw_ip ip;

	assert_int_equal(gw_ip_parse(a, &ip), 0);
	return gw_iprule_allows(r, &ip);
}

static void test_iprule(void **state)
{
	struct gw_cidr allow[] = { cidr("198.18.0.0/15"), cidr("fd00::/8"), cidr("198.18.5.7/32") };
	struct gw_cidr deny[] = { cidr("198.18.5.0/24"), cidr("fd00:bad::/32"), cidr("0.0.0.0/0") };
	struct gw_iprule *r;

	(void)state;
	assert_int_equal(gw_iprule_new(NULL, 0, NULL, 0, &r), 0);
	assert_null(r);
	assert_true(allows(NULL, "203.0.113.1"));

	/* allow list: others refused; a longer deny inside it wins; a longer
	 * allow inside that deny wins again */
	assert_int_equal(gw_iprule_new(allow, 3, deny, 2, &r), 0);
	assert_true(allows(r, "198.18.1.1"));
	assert_true(allows(r, "198.19.255.255"));
	assert_false(allows(r, "198.20.0.1"));
	assert_false(allows(r, "198.18.5.1"));
	assert_true(allows(r, "198.18.5.7"));
	assert_true(allows(r, "fd00:1::1"));
	assert_false(allows(r, "fd00:bad::1"));
	assert_false(allows(r, "2001:db8::1"));
	/* a dual-stack listener's IPv4 client */
	assert_true(allows(r, "::ffff:198.18.1.1"));
	assert_false(allows(r, "::ffff:198.18.5.1"));
	gw_iprule_free(r);

	/* deny only: others pass; a tie goes to allow */
	assert_int_equal(gw_iprule_new(NULL, 0, deny, 2, &r), 0);
	assert_false(allows(r, "198.18.5.200"));
	assert_true(allows(r, "198.18.6.1"));
	gw_iprule_free(r);
	assert_int_equal(gw_iprule_new(allow, 1, deny + 2, 1, &r), 0);
	assert_true(allows(r, "198.18.0.1"));
	assert_false(allows(r, "192.0.2.1"));
	gw_iprule_free(r);
	{
		struct gw_cidr a = cidr("198.18.5.0/24");

		assert_int_equal(gw_iprule_new(&a, 1, deny, 1, &r), 0);
		assert_true(allows(r, "198.18.5.9"));
		gw_iprule_free(r);
	}
}

/* ---- CORS ---------------------------------------------------------------- */

static const char *fieldv(const struct gw_http_kv *f, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return f[i].value;
	return NULL;
}

static void test_cors(void **state)
{
	char *origins[] = { "https://app.example.com", "http://localhost:3000" };
	char *methods[] = { "GET", "PUT" };
	char *headers[] = { "Authorization", "X-Trace" };
	char *expose[] = { "X-Total" };
	struct gw_cfg_cors c = { { 1, 1 }, origins, 2, methods, 2, headers, 2, expose, 1, 1,
				 600000000000ull };
	struct gw_http_kv f[GW_CORS_FIELDS];
	struct gw_cors *k;
	size_t n;
	int o;

	(void)state;
	assert_int_equal(gw_cors_new(&c, &k), 0);
	assert_int_equal(gw_cors_origin(k, "https://app.example.com", 23), 0);
	assert_int_equal(gw_cors_origin(k, "http://localhost:3000", 21), 1);
	assert_int_equal(gw_cors_origin(k, "https://evil.example.com", 24), GW_CORS_NONE);
	assert_int_equal(gw_cors_origin(k, "https://app.example.co", 22), GW_CORS_NONE);
	assert_int_equal(gw_cors_origin(k, NULL, 0), GW_CORS_NONE);
	assert_true(gw_cors_is_preflight(1, 1, 1));
	assert_false(gw_cors_is_preflight(1, 1, 0));
	assert_false(gw_cors_is_preflight(0, 1, 1));

	/* an allowed preflight: every field */
	o = gw_cors_origin(k, "https://app.example.com", 23);
	assert_int_equal(gw_cors_preflight(k, o, "PUT", 3, "authorization, x-trace", 22, f, &n), 6);
	assert_int_equal(n, 6);
	assert_string_equal(fieldv(f, n, "Access-Control-Allow-Origin"), "https://app.example.com");
	assert_string_equal(fieldv(f, n, "Access-Control-Allow-Methods"), "GET, PUT");
	assert_string_equal(fieldv(f, n, "Access-Control-Allow-Headers"), "Authorization, X-Trace");
	assert_string_equal(fieldv(f, n, "Access-Control-Allow-Credentials"), "true");
	assert_string_equal(fieldv(f, n, "Access-Control-Max-Age"), "600");
	assert_string_equal(fieldv(f, n, "Vary"), "Origin");
	/* refused: a method, a header, an origin; only Vary */
	assert_int_equal(gw_cors_preflight(k, o, "DELETE", 6, NULL, 0, f, &n), -EACCES);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].name, "Vary");
	assert_int_equal(gw_cors_preflight(k, o, "GET", 3, "X-Other", 7, f, &n), -EACCES);
	assert_int_equal(gw_cors_preflight(k, GW_CORS_NONE, "GET", 3, NULL, 0, f, &n), -EACCES);
	assert_null(fieldv(f, n, "Access-Control-Allow-Origin"));

	/* actual answers */
	n = gw_cors_fields(k, 1, f);
	assert_int_equal(n, 4);
	assert_string_equal(fieldv(f, n, "Access-Control-Allow-Origin"), "http://localhost:3000");
	assert_string_equal(fieldv(f, n, "Access-Control-Expose-Headers"), "X-Total");
	n = gw_cors_fields(k, GW_CORS_NONE, f);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].name, "Vary");
	gw_cors_free(k);

	/* "*", default methods, no credentials: no Vary */
	{
		char *any[] = { "*" };
		struct gw_cfg_cors a = { { 1, 1 }, any, 1, NULL, 0, NULL, 0, NULL, 0, 0, 0 };

		assert_int_equal(gw_cors_new(&a, &k), 0);
		o = gw_cors_origin(k, "https://x.test", 14);
		assert_int_equal(o, 0);
		assert_int_equal(gw_cors_preflight(k, o, "POST", 4, NULL, 0, f, &n), 2);
		assert_string_equal(fieldv(f, n, "Access-Control-Allow-Origin"), "*");
		assert_string_equal(fieldv(f, n, "Access-Control-Allow-Methods"), "GET, HEAD, POST");
		assert_int_equal(gw_cors_preflight(k, o, "PUT", 3, NULL, 0, f, &n), -EACCES);
		assert_int_equal(n, 0);
		gw_cors_free(k);
	}
	assert_int_equal(gw_cors_new(&(struct gw_cfg_cors){ 0 }, &k), 0);
	assert_null(k);
}

/* ---- compression ---------------------------------------------------------- */

static int acc(const char *v)
{
	return gw_accepts_gzip(v, strlen(v));
}

static void test_encoding(void **state)
{
	char *types[] = { "text/plain", "Application/*" };
	struct gw_cfg_compress c = { { 1, 1 }, types, 2, 1024, 6, 1 };
	struct gw_zrule *z;

	(void)state;
	assert_true(acc("gzip"));
	assert_true(acc("br, GZIP;q=0.5"));
	assert_true(acc("deflate, *"));
	assert_true(acc("gzip ; q=1.0"));
	assert_false(acc("gzip;q=0"));
	assert_false(acc("gzip;q=0.000, *"));	/* gzip named: its q rules */
	assert_false(acc("br, deflate"));
	assert_false(acc("*;q=0"));
	assert_false(acc("gzipx"));
	assert_false(acc(""));
	assert_false(gw_accepts_gzip(NULL, 0));
	assert_int_equal(gw_accepts("br, gzip", 8), GW_ENC_GZIP | GW_ENC_BR);
	assert_int_equal(gw_accepts("gzip, deflate, br;q=0", 21), GW_ENC_GZIP);
	assert_int_equal(gw_accepts("BR;q=0.1", 8), GW_ENC_BR);
	assert_int_equal(gw_accepts("br;q=0, *", 9), GW_ENC_GZIP);
	assert_int_equal(gw_accepts("identity", 8), 0);

	assert_int_equal(gw_zrule_new(&c, &z), 0);
	assert_int_equal(z->min_size, 1024);
	assert_true(gw_zrule_type(z, "text/plain", 10));
	assert_true(gw_zrule_type(z, " Text/Plain; charset=utf-8", 26));
	assert_true(gw_zrule_type(z, "application/json", 16));
	assert_false(gw_zrule_type(z, "application", 11));
	assert_false(gw_zrule_type(z, "text/html", 9));
	assert_false(gw_zrule_type(z, "text/plainx", 11));
	assert_false(gw_zrule_type(z, NULL, 0));
	gw_zrule_free(z);
	assert_true(gw_no_transform("public, no-transform", 20));
	assert_false(gw_no_transform("max-age=60", 10));
}

/* Dechunks chunked[cl] into out; returns the payload's length. */
static size_t dechunk(const char *chunked, size_t cl, char *out)
{
	const char *p = chunked, *e;
	size_t n, ol = 0;

	for (;;) {
		n = strtoul(p, (char **)&e, 16);
		assert_memory_equal(e, "\r\n", 2);
		if (!n) {
			assert_memory_equal(e, "\r\n\r\n", 4);
			assert_ptr_equal(e + 4, chunked + cl);
			return ol;
		}
		memcpy(out + ol, e + 2, n);
		ol += n;
		p = e + 2 + n;
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
	}
}

/* Feeds in (3 * GW_Z_IN bytes) to z in three pieces, the last with
 * GW_Z_LAST, the others as how says; checks that the chunks, dechunked,
 * decode (br or gzip) to in. */
static void zstream_round(struct gw_zstream *z, int br, const char *in, int how)
{
	static char gz[4 * GW_Z_IN], back[3 * GW_Z_IN + 16], chunked[8 * GW_Z_IN];
	size_t gl, i, n, zin, zout, cl = 0, bl;
	const char *p;

	for (i = 0; i < 3; i++) {
		assert_int_equal(gw_zstream_feed(z, in + i * GW_Z_IN, GW_Z_IN,
						 i == 2 ? GW_Z_LAST : how), 0);
		n = gw_zstream_pending(z, &p);
		/* a held piece makes no chunk */
		assert_true(!n == (how == GW_Z_HOLD && !br && i == 0));
		assert_int_equal(gw_zstream_held(z), how == GW_Z_HOLD && !br && i == 0);
		if (n)
			assert_int_equal(gw_zstream_feed(z, in, 1, GW_Z_FLUSH), -EBUSY);
		assert_true(cl + n <= sizeof(chunked));
		memcpy(chunked + cl, p, n);
		cl += n;
		gw_zstream_sent(z, n);
	}
	assert_true(gw_zstream_done(z));
	assert_int_equal(gw_zstream_feed(z, in, 1, GW_Z_FLUSH), -EINVAL);
	gw_zstream_counts(z, &zin, &zout);
	assert_int_equal(zin, 3 * GW_Z_IN);
	assert_true(zout < 3 * GW_Z_IN / 4);
	gl = dechunk(chunked, cl, gz);
	assert_int_equal(gl, zout);
	if (br) {
		bl = sizeof(back);
		assert_int_equal(BrotliDecoderDecompress(gl, (const uint8_t *)gz, &bl,
							 (uint8_t *)back),
				 BROTLI_DECODER_RESULT_SUCCESS);
	} else {
		z_stream d = { 0 };

		assert_int_equal(inflateInit2(&d, 15 + 16), Z_OK);
		d.next_in = (Bytef *)gz;
		d.avail_in = (uInt)gl;
		d.next_out = (Bytef *)back;
		d.avail_out = sizeof(back);
		assert_int_equal(inflate(&d, Z_FINISH), Z_STREAM_END);
		bl = d.total_out;
		inflateEnd(&d);
	}
	assert_int_equal(bl, 3 * GW_Z_IN);
	assert_memory_equal(back, in, 3 * GW_Z_IN);
}

/* The chunks of a stream (gzip, then br), flushed or held, dechunked,
 * decode to what was fed; a finished gzip stream goes back to the pool
 * and comes out again, reset, for the same level and window. */
static void test_zstream(void **state)
{
	static char in[3 * GW_Z_IN];
	struct gw_zpool pool = { 0 };
	struct gw_zstream *z, *z2;
	size_t i;
	int br, how;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)("abcdefgh"[i % 8] + (i / 4096) % 3);
	for (br = 0; br <= 1; br++)
		for (how = GW_Z_FLUSH; how <= GW_Z_HOLD; how += GW_Z_HOLD) {
			z = gw_zstream_new(NULL, br, 6, 0);
			assert_non_null(z);
			zstream_round(z, br, in, how);
			gw_zstream_free(NULL, z);
		}
	z = gw_zstream_new(&pool, 0, 1, sizeof(in));
	assert_non_null(z);
	zstream_round(z, 0, in, GW_Z_HOLD);
	gw_zstream_free(&pool, z);
	assert_int_equal(pool.n, 1);
	z2 = gw_zstream_new(&pool, 0, 1, sizeof(in));
	assert_ptr_equal(z2, z);
	assert_int_equal(pool.n, 0);
	zstream_round(z2, 0, in, GW_Z_FLUSH);
	gw_zstream_free(&pool, z2);
	/* another level, or a small body's window: a new stream */
	z = gw_zstream_new(&pool, 0, 2, sizeof(in));
	z2 = gw_zstream_new(&pool, 0, 1, 1000);
	assert_true(z && z2 && z != z2 && pool.n == 1);
	gw_zstream_free(&pool, z);
	gw_zstream_free(&pool, z2);
	assert_int_equal(pool.n, 3);
	for (i = 0; i < GW_ZPOOL_MAX + 2; i++)
		gw_zstream_free(&pool, gw_zstream_new(NULL, 0, 1, 0));
	assert_int_equal(pool.n, GW_ZPOOL_MAX);
	/* brotli streams are not kept */
	gw_zstream_free(&pool, gw_zstream_new(&pool, 1, 1, 1000));
	assert_int_equal(pool.n, GW_ZPOOL_MAX);
	gw_zpool_clear(&pool);
	assert_true(!pool.n && !pool.head);
}

/* ---- circuit breaking ------------------------------------------------------ */

static void test_breaker(void **state)
{
	struct gw_cfg_up_limits l = { { 1, 1 }, 2, 1, "20%" };
	struct gw_breaker *b = gw_breaker_new(&l, NULL), *b2;
	__u32 pct;
	int i;

	(void)state;
	assert_non_null(b);
	assert_int_equal(gw_breaker_parse_budget("20%", &pct), 0);
	assert_int_equal(pct, 20);
	assert_int_equal(gw_breaker_parse_budget("100%", &pct), 0);
	assert_int_equal(gw_breaker_parse_budget("101%", &pct), -EINVAL);
	assert_int_equal(gw_breaker_parse_budget("20", &pct), -EINVAL);
	assert_int_equal(gw_breaker_parse_budget("%", &pct), -EINVAL);

	/* connections, then pending */
	assert_true(gw_breaker_connect_ok(b));
	gw_breaker_add(&b->conns, 2);
	assert_false(gw_breaker_connect_ok(b));
	assert_int_equal(b->trips[GW_BRK_CONNECTIONS], 1);
	gw_breaker_add(&b->conns, -1);
	gw_breaker_add(&b->pending, 1);
	assert_false(gw_breaker_connect_ok(b));
	assert_int_equal(b->trips[GW_BRK_PENDING], 1);
	gw_breaker_add(&b->pending, -1);
	assert_true(gw_breaker_connect_ok(b));

	/* the budget: 20% of 50 active requests is 10 retries; at least 3 */
	assert_true(gw_breaker_retry_ok(b));
	gw_breaker_add(&b->retries, 3);
	assert_false(gw_breaker_retry_ok(b));
	gw_breaker_add(&b->active, 50);
	for (i = 3; i < 10; i++) {
		assert_true(gw_breaker_retry_ok(b));
		gw_breaker_add(&b->retries, 1);
	}
	assert_false(gw_breaker_retry_ok(b));
	assert_int_equal(b->trips[GW_BRK_RETRIES], 2);

	/* a reload keeps the counts, takes the new limits; a live server
	 * change keeps the limits */
	l.max_connections = 0;
	l.retry_budget = NULL;
	b2 = gw_breaker_new(&l, b);
	assert_ptr_equal(b2, b);
	assert_int_equal(b->active, 50);
	assert_true(gw_breaker_retry_ok(b));
	gw_breaker_add(&b->conns, 100);
	assert_true(gw_breaker_connect_ok(b));
	l.pos.line = -1;
	l.max_pending = 7;
	assert_ptr_equal(gw_breaker_new(&l, b), b);
	assert_int_equal(b->max_pending, 1);
	gw_breaker_put(b);
	gw_breaker_put(b);
	gw_breaker_put(b);
}

/* ---- the route table's side ----------------------------------------------- */

static void test_route_compile(void **state)
{
	static const char text[] =
		"version: 1\n"
		"upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
		"routes:\n"
		"  - match: { path_prefix: /a/, methods: [GET] }\n"
		"    upstream: u\n"
		"    request_headers: { add: { X-A: 1 }, set: { X-Env: prod }, remove: [X-Debug] }\n"
		"    response_headers: { add: { X-By: gw }, set: { Cache-Control: no-store }, "
		"remove: [Server] }\n"
		"    rewrite: { prefix: /v2/ }\n"
		"    ip_deny: [198.18.5.0/24]\n"
		"    cors: { origins: ['https://app.example.com'] }\n"
		"  - match: { path_prefix: /b/ }\n"
		"    upstream: u\n"
		"    rewrite: { regex: '(', replace: '/' }\n";
	struct gw_cfg_errors errs;
	struct gw_route_table *t;
	const struct gw_route *r;
	struct gw_route_req rq = { 0 };
	struct gw_cfg cfg;

	(void)state;
	assert_int_equal(gw_cfg_load_string("t.yaml", text, strlen(text), &cfg, &errs), 0);
	/* the second route's regex fails the table build */
	assert_int_equal(gw_route_table_build(&cfg, &t), -EINVAL);
	cfg.n_routes = 1;
	assert_int_equal(gw_route_table_build(&cfg, &t), 0);
	r = gw_route_at(t, 0);
	assert_int_equal(r->n_add_headers, 2);
	assert_string_equal(r->add_headers[1].name, "X-Env");
	assert_int_equal(r->n_remove_headers, 2);
	assert_string_equal(r->remove_headers[0], "x-debug");
	assert_string_equal(r->remove_headers[1], "x-env");
	assert_int_equal(r->n_resp_add, 2);
	assert_string_equal(r->resp_add[1].value, "no-store");
	assert_int_equal(r->n_resp_remove, 2);
	assert_string_equal(r->resp_remove[1], "cache-control");
	assert_non_null(r->rewrite);
	assert_non_null(r->cors);
	assert_non_null(r->ip);
	/* OPTIONS matches the GET route for its preflights */
	assert_true(r->cors_options);
	rq.path = "/a/x";
	rq.path_len = 4;
	rq.method = "OPTIONS";
	rq.method_len = 7;
	assert_ptr_equal(gw_route_match(t, &rq), r);
	rq.method = "PUT";
	rq.method_len = 3;
	assert_null(gw_route_match(t, &rq));
	gw_route_table_put(t);
	cfg.n_routes = 2;
	gw_cfg_free(&cfg);
}

/* examples/l7-rules.yaml parses and compiles (its regex too). */
static void test_example(void **state)
{
	struct gw_cfg_errors errs;
	struct gw_route_table *t;
	struct gw_cfg cfg;
	size_t i;
	int err = gw_cfg_load("examples/l7-rules.yaml", &cfg, &errs);

	(void)state;
	for (i = 0; i < errs.n; i++)
		print_message("%s\n", errs.msgs[i]);
	assert_int_equal(err, 0);
	assert_int_equal(gw_route_table_build(&cfg, &t), 0);
	assert_int_equal(gw_route_count(t), 6);
	assert_int_equal(gw_route_at(t, 0)->scheme, GW_SCHEME_HTTP);
	assert_non_null(gw_route_at(t, 3)->rewrite);
	gw_route_table_put(t);
	gw_cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmpl),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_iprule),
		cmocka_unit_test(test_cors),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_zstream),
		cmocka_unit_test(test_breaker),
		cmocka_unit_test(test_route_compile),
		cmocka_unit_test(test_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
