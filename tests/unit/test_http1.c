// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* agent/http/http1*.c: strict HTTP/1.1 heads, chunked bodies, head builders. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/http1.h"

#define NHDR	      32
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Literal with its length (keeps embedded NULs). */
#define L(s) s, sizeof(s) - 1

static const struct gw_http_limits lim = {
	.max_line = 256,
	.max_fields = 1024,
	.max_headers = 16,
	.max_body = 1 << 20,
};

/* ---- feeding helpers ---------------------------------------------------------- */

/*
 * Parses raw[0, len) as the proxy would: prefixes ending at cuts[] (an
 * increasing list) then the whole; every call sees a fresh heap copy of
 * exactly the prefix, so ASan catches a read past what was "received".
 * Returns the last parse result.
 */
static int feed(bool is_req, void *msg, const char *raw, size_t len, const size_t *cuts,
		size_t ncuts)
{
	size_t k;
	int rc = 0;

	for (k = 0; k <= ncuts; k++) {
		size_t n = k < ncuts ? cuts[k] : len;
		char *b = malloc(n ? n : 1);

		assert_non_null(b);
		memcpy(b, raw, n);
		rc = is_req ? gw_http_req_parse(msg, b, n) : gw_http_resp_parse(msg, b, n);
		free(b);
		if (rc != 0)
			break;
	}
	return rc;
}

static int parse_req(struct gw_http_req *req, struct gw_http_hdr *h, const char *raw, size_t len)
{
	gw_http_req_init(req, h, NHDR, &lim);
	return feed(true, req, raw, len, NULL, 0);
}

/* The public result of two request parses is the same. */
static void assert_same_head(const struct gw_http_head *a, const struct gw_http_head *b)
{
	assert_int_equal(a->status, b->status);
	if (a->status) {
		assert_string_equal(a->reason, b->reason);
		return;
	}
	assert_int_equal(a->nhdr, b->nhdr);
	assert_memory_equal(a->hdr, b->hdr, a->nhdr * sizeof(a->hdr[0]));
	assert_int_equal(a->minor, b->minor);
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->nte, b->nte);
	assert_memory_equal(a->te, b->te, sizeof(a->te));
	assert_int_equal(a->has_cl, b->has_cl);
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->keep_alive, b->keep_alive);
}

static void assert_same_req(const struct gw_http_req *a, const struct gw_http_req *b)
{
	assert_same_head(&a->h, &b->h);
	if (a->h.status)
		return;
	assert_int_equal(a->method, b->method);
	assert_int_equal(a->form, b->form);
	assert_int_equal(a->expect_continue, b->expect_continue);
	assert_int_equal(a->upgrade, b->upgrade);
	assert_int_equal(a->host_idx, b->host_idx);
	assert_memory_equal(&a->method_tok, &b->method_tok, sizeof(a->method_tok));
	assert_memory_equal(&a->target, &b->target, sizeof(a->target));
	assert_memory_equal(&a->path, &b->path, sizeof(a->path));
	assert_memory_equal(&a->query, &b->query, sizeof(a->query));
	assert_memory_equal(&a->authority, &b->authority, sizeof(a->authority));
}

static unsigned int seed = 1;

/* Random increasing cut points inside [1, len). Returns how many. */
static size_t random_cuts(size_t len, size_t *cuts, size_t max)
{
	size_t n = 0, at = 0;

	while (n < max && len > 1) {
		at += 1 + (size_t)rand_r(&seed) % (len / 3 + 1);
		if (at >= len)
			break;
		cuts[n++] = at;
	}
	return n;
}

/*
 * Parses raw whole, byte by byte and in 30 random splits; every way must
 * give the same result. Returns the whole-buffer result in *req.
 */
static int parse_req_all_ways(struct gw_http_req *req, struct gw_http_hdr *h, const char *raw,
			      size_t len)
{
	struct gw_http_hdr h2[NHDR];
	struct gw_http_req r2;
	size_t cuts[4096], i, n;
	int rc = parse_req(req, h, raw, len), rc2, round;

	assert_true(len < ARRAY_SIZE(cuts));
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	gw_http_req_init(&r2, h2, NHDR, &lim);
	rc2 = feed(true, &r2, raw, len, cuts, len ? len - 1 : 0);
	assert_int_equal(rc2, rc); /* byte by byte: same result */
	assert_same_req(&r2, req);
	for (round = 0; round < 30; round++) {
		n = random_cuts(len, cuts, 64);
		gw_http_req_init(&r2, h2, NHDR, &lim);
		rc2 = feed(true, &r2, raw, len, cuts, n);
		assert_int_equal(rc2, rc); /* random split: same result */
		assert_same_req(&r2, req);
	}
	return rc;
}

/* The bytes of span s of buf, as a NUL-terminated string (static storage). */
static const char *str(const char *buf, struct gw_http_span s)
{
	static char out[4][512];
	static int k;
	char *o = out[k++ & 3];

	assert_true(s.len < 512);
	memcpy(o, buf + s.off, s.len);
	o[s.len] = '\0';
	return o;
}

/* ---- requests: valid ------------------------------------------------------------- */

struct req_ok {
	const char *raw;
	size_t len;
	uint8_t method;
	uint8_t form;
	uint8_t body;
	uint64_t cl;
	bool keep_alive;
	const char *path;
	const char *query;
	const char *authority;
};

#define OK(raw, m, f, b, cl, ka, path, query, auth)                                                \
	{                                                                                          \
		L(raw), GW_METHOD_##m, GW_FORM_##f, GW_BODY_##b, cl, ka, path, query, auth         \
	}

static const struct req_ok req_ok[] = {
	OK("GET / HTTP/1.1\r\nHost: a\r\n\r\n", GET, ORIGIN, NONE, 0, true, "/", "", "a"),
	OK("GET /p/q?x=1&y=%41 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", GET, ORIGIN, NONE, 0,
	   true, "/p/q", "x=1&y=%41", "example.com:8080"),
	OK("GET /?q=a|b{c}^\"<> HTTP/1.1\r\nHost: a\r\n\r\n", GET, ORIGIN, NONE, 0, true, "/",
	   "q=a|b{c}^\"<>", "a"),
	OK("GET /a:b@c!$&'()*+,;=-._~ HTTP/1.1\r\nHost: a\r\n\r\n", GET, ORIGIN, NONE, 0, true,
	   "/a:b@c!$&'()*+,;=-._~", "", "a"),
	OK("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", POST, ORIGIN, LENGTH,
	   5, true, "/up", "", "a"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", POST,
	   ORIGIN, LENGTH, 5, true, "/", "", "a"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007, 7\r\n\r\n", POST, ORIGIN, LENGTH, 7,
	   true, "/", "", "a"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:0\r\n\r\n", POST, ORIGIN, LENGTH, 0, true,
	   "/", "", "a"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", POST, ORIGIN,
	   CHUNKED, 0, true, "/", "", "a"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tCHUNKED \t\r\n\r\n", POST, ORIGIN,
	   CHUNKED, 0, true, "/", "", "a"),
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
	   "\r\n",
	   POST, ORIGIN, CHUNKED, 0, true, "/", "", "a"),
	OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", GET, ORIGIN, NONE, 0, false,
	   "/", "", "a"),
	OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,, Keep-Alive , CLOSE\r\n\r\n", GET, ORIGIN,
	   NONE, 0, false, "/", "", "a"),
	OK("GET / HTTP/1.0\r\n\r\n", GET, ORIGIN, NONE, 0, false, "/", "", ""),
	OK("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", GET, ORIGIN, NONE, 0, true, "/", "",
	   ""),
	OK("GET / HTTP/1.0\r\nExpect: whatever\r\n\r\n", GET, ORIGIN, NONE, 0, false, "/", "", ""),
	OK("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", GET, ORIGIN, NONE, 0, true, "/", "", "a"),
	OK("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", OPTIONS, ASTERISK, NONE, 0, true, "*", "", "a"),
	OK("GET http://Example.com:81/x?y HTTP/1.1\r\nHost: other\r\n\r\n", GET, ABSOLUTE, NONE, 0,
	   true, "/x", "y", "Example.com:81"),
	OK("GET HTTPS://[2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n", GET, ABSOLUTE, NONE, 0,
	   true, "", "", "[2001:db8::1]:443"),
	OK("PURGE /c HTTP/1.1\r\nHost: a\r\n\r\n", OTHER, ORIGIN, NONE, 0, true, "/c", "", "a"),
	OK("DELETE /d HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", DELETE, ORIGIN, NONE, 0, true, "/d",
	   "", "[::1]:8080"),
	OK("GET / HTTP/1.1\r\nHost:\r\n\r\n", GET, ORIGIN, NONE, 0, true, "/", "", ""),
	OK("GET / HTTP/1.1\r\nHost: a\r\nX-Bin: caf\xc3\xa9\r\nX-Empty:\r\n\r\n", GET, ORIGIN, NONE,
	   0, true, "/", "", "a"),
};

static void test_req_valid(void **state)
{
	struct gw_http_hdr h[NHDR];
	struct gw_http_req req;
	size_t i, head;
	int rc;

	for (i = 0; i < ARRAY_SIZE(req_ok); i++) {
		const struct req_ok *t = &req_ok[i];

		print_message("# %zu: %.40s\n", i, t->raw);
		rc = parse_req_all_ways(&req, h, t->raw, t->len);
		for (head = 0; !strncmp(t->raw + head, "\r\n", 2); head += 2)
			; /* leading empty lines belong to the head */
		head = strstr(t->raw + head, "\r\n\r\n") + 4 - t->raw;
		assert_int_equal(rc, (int)head); /* head length up to CRLFCRLF */
		assert_int_equal(req.h.status, 0);
		assert_int_equal(req.method, t->method);
		assert_int_equal(req.form, t->form);
		assert_int_equal(req.h.body, t->body);
		if (t->body == GW_BODY_LENGTH)
			assert_int_equal(req.h.content_length, t->cl);
		assert_int_equal(req.h.keep_alive, t->keep_alive);
		assert_string_equal(str(t->raw, req.path), t->path);
		assert_string_equal(str(t->raw, req.query), t->query);
		assert_string_equal(str(t->raw, req.authority), t->authority);
	}
}

static void test_req_fields(void **state)
{
	static const char raw[] =
		"PATCH /x HTTP/1.1\r\nHost:  h.example \t\r\n"
		"Connection: Upgrade, X-Hop\r\nUpgrade: websocket\r\n"
		"X-Hop: 1\r\nx-hop: 2\r\nExpect: 100-Continue\r\nAccept: */*\r\n\r\n";
	struct gw_http_hdr h[NHDR];
	struct gw_http_req req;
	int i;

	assert_int_equal(parse_req_all_ways(&req, h, L(raw)), (int)sizeof(raw) - 1);
	assert_int_equal(req.method, GW_METHOD_PATCH);
	assert_string_equal(str(raw, req.method_tok), "PATCH");
	assert_int_equal(req.h.nhdr, 7);
	assert_string_equal(str(raw, (struct gw_http_span){h[0].name, h[0].name_len}), "Host");
	/* value OWS-trimmed on both sides */
	assert_string_equal(str(raw, (struct gw_http_span){h[0].value, h[0].value_len}),
			    "h.example");
	assert_int_equal(req.host_idx, 0);
	assert_int_equal(h[0].id, GW_HDR_HOST);
	assert_int_equal(h[1].id, GW_HDR_CONNECTION);
	assert_int_equal(h[2].id, GW_HDR_UPGRADE);
	assert_true(req.upgrade);	  /* Upgrade + Connection: upgrade */
	assert_true(req.expect_continue); /* case-insensitive 100-continue */
	/* both X-Hop fields are named in Connection; Accept is not */
	assert_true(h[3].flags & GW_HDR_F_CONN_LISTED);
	assert_true(h[4].flags & GW_HDR_F_CONN_LISTED);
	assert_false(h[6].flags & GW_HDR_F_CONN_LISTED);
	/* lookups */
	assert_int_equal(gw_http_find(&req.h, raw, L("X-HOP"), 0), 3);
	assert_int_equal(gw_http_find(&req.h, raw, L("X-HOP"), 4), 4);
	assert_int_equal(gw_http_find(&req.h, raw, L("X-HOP"), 5), -ENOENT);
	assert_int_equal(gw_http_find(&req.h, raw, L("accept"), 0), 6);
	assert_int_equal(gw_http_find_id(&req.h, GW_HDR_EXPECT, 0), 5);
	assert_int_equal(gw_http_find_id(&req.h, GW_HDR_TE, 0), -ENOENT);
	for (i = 0; i < req.h.nhdr; i++)
		assert_true(h[i].value + h[i].value_len <= sizeof(raw));

	/* Upgrade without Connection: upgrade is not an upgrade */
	assert_true(parse_req(&req, h, L("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n")) > 0);
	assert_false(req.upgrade);
	assert_true(req.h.has_upgrade);
}

static void test_req_incomplete(void **state)
{
	static const char *const part[] = {
		"",
		"G",
		"GET / HTTP/1.1",
		"GET / HTTP/1.1\r",
		"GET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r",
		"\r\n",
	};
	struct gw_http_hdr h[NHDR];
	struct gw_http_req req;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(part); i++) {
		print_message("# '%s'\n", part[i]);
		assert_int_equal(parse_req(&req, h, part[i], strlen(part[i])), 0);
	}
	/* a shorter buffer than last time reads nothing new */
	gw_http_req_init(&req, h, NHDR, &lim);
	assert_int_equal(gw_http_req_parse(&req, L("GET / HTTP/1.1\r\nHo")), 0);
	assert_int_equal(gw_http_req_parse(&req, L("GET / HT")), 0);
	assert_int_equal(gw_http_req_parse(&req, L("GET / HTTP/1.1\r\nHost: a\r\n\r\n")), 27);

	/* done is sticky: calling again returns the same head length */
	gw_http_req_init(&req, h, NHDR, &lim);
	assert_int_equal(gw_http_req_parse(&req, L("GET / HTTP/1.1\r\nHost: a\r\n\r\nXYZ")), 27);
	assert_int_equal(gw_http_req_parse(&req, L("GET / HTTP/1.1\r\nHost: a\r\n\r\nXYZ")), 27);
}

/* ---- requests: refused --------------------------------------------------------- */

struct req_bad {
	const char *name;
	const char *raw;
	size_t len;
	int status;
};

#define BAD(name, raw, status)                                                                     \
	{                                                                                          \
		name, L(raw), status                                                               \
	}
#define H11 " HTTP/1.1\r\nHost: a\r\n"

static const struct req_bad req_bad[] = {
	/* request smuggling classics */
	BAD("CL.TE",
	    "POST /" H11 "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\nSMUGGLED",
	    400),
	BAD("TE.CL",
	    "POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
	    "8\r\nSMUGGLED\r\n0\r\n\r\n",
	    400),
	BAD("TE.TE space before colon", "POST /" H11 "Transfer-Encoding : chunked\r\n\r\n", 400),
	BAD("TE.TE tab before colon", "POST /" H11 "Transfer-Encoding\t: chunked\r\n\r\n", 400),
	BAD("TE.TE xchunked", "POST /" H11 "Transfer-Encoding: xchunked\r\n\r\n", 501),
	BAD("TE.TE chunked, identity", "POST /" H11 "Transfer-Encoding: chunked, identity\r\n\r\n",
	    501),
	BAD("TE.TE identity", "POST /" H11 "Transfer-Encoding: identity\r\n\r\n", 501),
	BAD("TE.TE chunked twice", "POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
	BAD("TE.TE chunked twice in two fields",
	    "POST /" H11 "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    400),
	BAD("TE.TE chunked then gzip", "POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n",
	    400),
	BAD("TE.TE gzip only", "POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", 400),
	BAD("TE.TE vertical tab", "POST /" H11 "Transfer-Encoding:\x0b chunked\r\n\r\n", 400),
	BAD("TE.TE quoted", "POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400),
	BAD("TE.TE parameter", "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 400),
	BAD("TE.TE empty element", "POST /" H11 "Transfer-Encoding: ,chunked\r\n\r\n", 400),
	BAD("TE.TE empty value", "POST /" H11 "Transfer-Encoding:\r\n\r\n", 400),
	BAD("TE.TE obs-folded", "POST /" H11 "X: y\r\n Transfer-Encoding: chunked\r\n\r\n", 400),
	BAD("TE.TE folded value", "POST /" H11 "Transfer-Encoding:\r\n chunked\r\n\r\n", 400),
	BAD("TE.TE leading space",
	    "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n"
	    "\r\n",
	    400),
	BAD("TE.TE NUL", "POST /" H11 "Transfer-Encoding: chunked\0\r\n\r\n", 400),
	BAD("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	BAD("TE bare LF", "POST /" H11 "Transfer-Encoding: chunked\n\r\n", 400),
	BAD("CL differing", "POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
	BAD("CL differing list", "POST /" H11 "Content-Length: 5, 6\r\n\r\n", 400),
	BAD("CL empty element", "POST /" H11 "Content-Length: 5,\r\n\r\n", 400),
	BAD("CL plus", "POST /" H11 "Content-Length: +5\r\n\r\n", 400),
	BAD("CL minus", "POST /" H11 "Content-Length: -1\r\n\r\n", 400),
	BAD("CL hex", "POST /" H11 "Content-Length: 0x5\r\n\r\n", 400),
	BAD("CL inner space", "POST /" H11 "Content-Length: 5 5\r\n\r\n", 400),
	BAD("CL empty", "POST /" H11 "Content-Length:\r\n\r\n", 400),
	BAD("CL overflow", "POST /" H11 "Content-Length: 18446744073709551616\r\n\r\n", 400),
	BAD("CL 20 digits", "POST /" H11 "Content-Length: 00000000000000000001\r\n\r\n", 400),
	BAD("CL above body limit", "POST /" H11 "Content-Length: 1048577\r\n\r\n", 413),
	/* field syntax */
	BAD("obs-fold", "GET /" H11 "X-A: b\r\n c\r\n\r\n", 400),
	BAD("obs-fold tab", "GET /" H11 "X-A: b\r\n\tc\r\n\r\n", 400),
	BAD("space in name", "GET /" H11 "X A: b\r\n\r\n", 400),
	BAD("empty name", "GET /" H11 ": b\r\n\r\n", 400),
	BAD("no colon", "GET /" H11 "X-A b\r\n\r\n", 400),
	BAD("bad name char", "GET /" H11 "X(A): b\r\n\r\n", 400),
	BAD("high byte in name", "GET /" H11 "X\xe9: b\r\n\r\n", 400),
	BAD("NUL in value", "GET /" H11 "X-A: b\0c\r\n\r\n", 400),
	BAD("bare CR in value", "GET /" H11 "X-A: b\rc\r\n\r\n", 400),
	BAD("bare LF ends field", "GET /" H11 "X-A: b\nX-B: c\r\n\r\n", 400),
	BAD("bare LF ends head", "GET /" H11 "\n", 400),
	BAD("DEL in value", "GET /" H11 "X-A: b\x7f\r\n\r\n", 400),
	BAD("ESC in value", "GET /" H11 "X-A: \x1b[0m\r\n\r\n", 400),
	BAD("CR CR LF", "GET /" H11 "X-A: b\r\r\n\r\n", 400),
	/* request line */
	BAD("bare LF request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
	BAD("bare LF first", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("bare CR request line", "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400),
	BAD("two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("two spaces before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
	BAD("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("bad method char", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("no version", "GET /\r\nHost: a\r\n\r\n", 400),
	BAD("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("version 11", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
	BAD("version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
	BAD("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
	BAD("HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", 505),
	BAD("h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
	BAD("five leading CRLF", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CTL in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("UTF-8 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("high byte in query", "GET /?\xff HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("fragment in query", "GET /?a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("bad percent", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("short percent", "GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("quote in path", "GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("backslash in path", "GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("asterisk plus", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("ftp scheme", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("big port", "GET http://a:65536/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 501),
	BAD("CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	BAD("CONNECT no port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", 400),
	/* Host */
	BAD("no Host", "GET / HTTP/1.1\r\n\r\n", 400),
	BAD("two Hosts", "GET /" H11 "Host: a\r\n\r\n", 400),
	BAD("two Hosts differing", "GET /" H11 "host: b\r\n\r\n", 400),
	BAD("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	BAD("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
	BAD("Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
	BAD("Host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
	BAD("Host bad IPv6", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400),
	/* Expect, Connection */
	BAD("Expect other", "GET /" H11 "Expect: 200-ok\r\n\r\n", 417),
	BAD("Connection bad token", "GET /" H11 "Connection: a b\r\n\r\n", 400),
	/* limits */
	BAD("too many fields",
	    "GET /" H11 "A: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n"
	    "G: 1\r\nH: 1\r\nI: 1\r\nJ: 1\r\nK: 1\r\nL: 1\r\nM: 1\r\nN: 1\r\nO: 1\r\nP: 1\r\n\r\n",
	    431),
};

static void test_req_refused(void **state)
{
	struct gw_http_hdr h[NHDR];
	struct gw_http_req req;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(req_bad); i++) {
		const struct req_bad *t = &req_bad[i];

		print_message("# %s\n", t->name);
		assert_int_equal(parse_req_all_ways(&req, h, t->raw, t->len), -EBADMSG);
		assert_int_equal(req.h.status, t->status);
		assert_non_null(req.h.reason);
		/* the error is sticky */
		assert_int_equal(gw_http_req_parse(&req, t->raw, t->len), -EBADMSG);
	}
}

/*
 * Valid requests with random bytes overwritten: whatever the verdict, it
 * must not depend on how the bytes arrive (and ASan watches every read).
 */
static void test_req_mutated(void **state)
{
	struct gw_http_hdr h[NHDR], h2[NHDR];
	struct gw_http_req req, r2;
	char buf[512];
	size_t i, cuts[64], n;
	int m, k, rc, rc2, refused = 0;

	for (i = 0; i < ARRAY_SIZE(req_ok); i++) {
		for (m = 0; m < 60; m++) {
			memcpy(buf, req_ok[i].raw, req_ok[i].len);
			for (k = 0; k < 1 + m % 3; k++)
				buf[(size_t)rand_r(&seed) % req_ok[i].len] =
					"\r\n :\t\0,;a/\x80\x7f"[rand_r(&seed) % 13];
			rc = parse_req(&req, h, buf, req_ok[i].len);
			refused += rc < 0;
			for (k = 0; k < 4; k++) {
				n = random_cuts(req_ok[i].len, cuts, ARRAY_SIZE(cuts));
				gw_http_req_init(&r2, h2, NHDR, &lim);
				rc2 = feed(true, &r2, buf, req_ok[i].len, cuts, n);
				assert_int_equal(rc2, rc); /* same verdict in pieces */
				assert_same_req(&r2, &req);
			}
		}
	}
	assert_true(refused > 0); /* the mutations did reach the checks */
}

/* Every byte value at every offset of a long field value: only field-vchar,
 * obs-text, SP and HTAB pass (covers the word-at-a-time scan). */
static void test_req_value_bytes(void **state)
{
	struct gw_http_hdr h[NHDR];
	struct gw_http_req req;
	char buf[128];
	int b, at, n, rc;
	bool ok;

	for (b = 0; b < 256; b++) {
		ok = b == '\t' || (b >= 0x20 && b != 0x7f);
		for (at = 1; at < 30; at++) {
			n = snprintf(buf, sizeof(buf),
				     "GET / HTTP/1.1\r\nHost: a\r\nX: "
				     "%s\r\n\r\n",
				     "abcdefghijklmnopqrstuvwxyz01234");
			buf[28 + at] = (char)b; /* inside the value */
			rc = parse_req(&req, h, buf, (size_t)n);
			if (ok) {
				assert_int_equal(rc, n); /* accepted */
				assert_int_equal(h[1].value_len, 31);
			} else {
				assert_int_equal(rc, -EBADMSG); /* refused */
				assert_int_equal(req.h.status, 400);
			}
		}
	}
}

/* Long lines and sections against the limits, complete or still arriving. */
static void test_req_limits(void **state)
{
	struct gw_http_hdr h[NHDR];
	struct gw_http_req req;
	char buf[4096];
	int n;

	/* request line of exactly max_line bytes passes; one more is 414 */
	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
		     (int)lim.max_line - 14, 0);
	assert_true(parse_req_all_ways(&req, h, buf, (size_t)n) > 0);
	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
		     (int)lim.max_line - 13, 0);
	assert_int_equal(parse_req_all_ways(&req, h, buf, (size_t)n), -EBADMSG);
	assert_int_equal(req.h.status, 414);
	/* a line still arriving is refused as soon as it cannot fit */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	assert_int_equal(parse_req(&req, h, buf, lim.max_line + 1), 0);
	assert_int_equal(parse_req(&req, h, buf, lim.max_line + 2), -EBADMSG);
	assert_int_equal(req.h.status, 414);

	/* header section: exactly max_fields passes, one more byte is 431 */
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n",
		     (int)lim.max_fields - 16, 0);
	assert_true(parse_req_all_ways(&req, h, buf, (size_t)n) > 0);
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %0*d\r\n\r\n",
		     (int)lim.max_fields - 15, 0);
	assert_int_equal(parse_req_all_ways(&req, h, buf, (size_t)n), -EBADMSG);
	assert_int_equal(req.h.status, 431);
	/* a header section still arriving */
	n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'b', sizeof(buf) - (size_t)n);
	assert_int_equal(parse_req(&req, h, buf, 16 + lim.max_fields - 1), 0);
	assert_int_equal(parse_req(&req, h, buf, 16 + lim.max_fields), -EBADMSG);
	assert_int_equal(req.h.status, 431);

	/* NULL limits: the defaults (8192-byte request line) */
	{
		char *big = malloc(GW_HTTP_MAX_LINE_DEFAULT + 64);

		assert_non_null(big);
		n = snprintf(big, GW_HTTP_MAX_LINE_DEFAULT + 64,
			     "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_MAX_LINE_DEFAULT - 14,
			     0);
		gw_http_req_init(&req, h, NHDR, NULL);
		assert_int_equal(gw_http_req_parse(&req, big, (size_t)n), n);
		n = snprintf(big, GW_HTTP_MAX_LINE_DEFAULT + 64,
			     "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n", GW_HTTP_MAX_LINE_DEFAULT - 13,
			     0);
		gw_http_req_init(&req, h, NHDR, NULL);
		assert_int_equal(gw_http_req_parse(&req, big, (size_t)n), -EBADMSG);
		assert_int_equal(req.h.status, 414);
		free(big);
	}

	/* the caller's array bounds the field count too */
	gw_http_req_init(&req, h, 2, &lim);
	assert_int_equal(gw_http_req_parse(&req, L("GET /" H11 "A: 1\r\nB: 2\r\n\r\n")), -EBADMSG);
	assert_int_equal(req.h.status, 431);
}

/* ---- responses ----------------------------------------------------------------- */

struct resp_case {
	const char *raw;
	size_t len;
	bool head_request;
	int status; /* 0: valid */
	uint16_t code;
	uint8_t body;
	uint64_t cl;
	bool keep_alive;
};

#define RESP(raw, head, st, code, body, cl, ka)                                                    \
	{                                                                                          \
		L(raw), head, st, code, GW_BODY_##body, cl, ka                                     \
	}

static const struct resp_case resp_cases[] = {
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 0, 200, LENGTH, 5, true),
	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, 200, CHUNKED, 0,
	     true),
	RESP("HTTP/1.1 200 OK\r\n\r\n", false, 0, 200, CLOSE, 0, false),
	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, 0, 200, CLOSE, 0, false),
	RESP("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, 0, 200, LENGTH, 0, true),
	RESP("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, 0, 404, LENGTH, 0, true),
	RESP("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false, 0, 204, NONE, 7, true),
	RESP("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, 304, NONE,
	     0, true),
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, 0, 200, NONE, 99, true),
	RESP("HTTP/1.1 100 Continue\r\n\r\n", false, 0, 100, NONE, 0, true),
	RESP("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
	     "Upgrade\r\n\r\n",
	     false, 0, 101, NONE, 0, true),
	RESP("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, 0, 200, LENGTH, 1, false),
	RESP("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", false, 0,
	     200, LENGTH, 1, true),
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", false, 0, 200,
	     LENGTH, 1, false),
	RESP("HTTP/1.1 200 \xc3\xa9t\xc3\xa9\r\nContent-Length: 0\r\n\r\n", false, 0, 200, LENGTH,
	     0, true),
	/* refused: 502 */
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false,
	     502, 0, NONE, 0, false),
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false, 502, 0,
	     NONE, 0, false),
	RESP("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 502, 0, NONE, 0,
	     false),
	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", false, 502, 0, NONE,
	     0, false),
	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 20 OK\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 2000 OK\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 600 Odd\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 099 Odd\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1  200 OK\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/2 200 OK\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/2.0 200 OK\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 200 O\x01K\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n", false, 502, 0, NONE, 0, false),
	RESP("\r\nHTTP/1.1 200 OK\r\n\r\n", false, 502, 0, NONE, 0, false),
};

static void test_resp(void **state)
{
	struct gw_http_hdr h[NHDR], h2[NHDR];
	struct gw_http_resp resp, r2;
	size_t i, cuts[512], n;
	int rc, rc2, round;

	for (i = 0; i < ARRAY_SIZE(resp_cases); i++) {
		const struct resp_case *t = &resp_cases[i];

		print_message("# %zu: %.40s\n", i, t->raw);
		gw_http_resp_init(&resp, h, NHDR, &lim, t->head_request);
		rc = feed(false, &resp, t->raw, t->len, NULL, 0);
		if (t->status) {
			assert_int_equal(rc, -EBADMSG);
			assert_int_equal(resp.h.status, t->status);
		} else {
			assert_int_equal(rc, strstr(t->raw, "\r\n\r\n") + 4 - t->raw);
			assert_int_equal(resp.code, t->code);
			assert_int_equal(resp.h.body, t->body);
			assert_int_equal(resp.h.keep_alive, t->keep_alive);
			if (t->cl)
				assert_int_equal(resp.h.content_length, t->cl);
			assert_int_equal(resp.interim, t->code < 200 && t->code != 101);
			assert_int_equal(resp.switching, t->code == 101);
		}
		/* random splits and byte by byte give the same */
		for (round = 0; round < 20; round++) {
			if (round == 0) {
				for (n = 0; n + 1 < t->len; n++)
					cuts[n] = n + 1;
			} else {
				n = random_cuts(t->len, cuts, 32);
			}
			gw_http_resp_init(&r2, h2, NHDR, &lim, t->head_request);
			rc2 = feed(false, &r2, t->raw, t->len, cuts, n);
			assert_int_equal(rc2, rc);
			assert_same_head(&r2.h, &resp.h);
			assert_int_equal(r2.code, resp.code);
		}
	}
}

static void test_resp_interim(void **state)
{
	static const char raw[] = "HTTP/1.1 100 Continue\r\n\r\n"
				  "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
				  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
	struct gw_http_hdr h[NHDR];
	struct gw_http_resp resp;
	size_t off = 0;
	int rc, heads = 0;

	do {
		gw_http_resp_init(&resp, h, NHDR, &lim, false);
		rc = gw_http_resp_parse(&resp, raw + off, sizeof(raw) - 1 - off);
		assert_true(rc > 0);
		off += (size_t)rc;
		heads++;
	} while (resp.interim);
	assert_int_equal(heads, 3); /* two interim heads, then the final */
	assert_int_equal(resp.code, 201);
	assert_int_equal(sizeof(raw) - 1 - off, 2); /* the body remains */
}

/* ---- chunked bodies ------------------------------------------------------------ */

/* Runs raw through a decoder in the given cuts; collects payload into
 * out[*olen]. Returns the final rc; *used is the body length consumed. */
static int chunk_run(const char *raw, size_t len, const size_t *cuts, size_t ncuts,
		     const struct gw_chunk_limits *cl, bool upstream, char *out, size_t *olen,
		     size_t *used, struct gw_chunk *c)
{
	struct gw_chunk_res r;
	size_t k, at = 0, end;
	int rc = GW_CHUNK_MORE;

	gw_chunk_init(c, cl, upstream);
	*olen = 0;
	for (k = 0; k <= ncuts && rc == GW_CHUNK_MORE; k++) {
		end = k < ncuts ? cuts[k] : len;
		while (at < end && rc == GW_CHUNK_MORE) {
			char *b = malloc(end - at);

			assert_non_null(b);
			memcpy(b, raw + at, end - at);
			rc = gw_chunk_parse(c, b, end - at, &r);
			free(b);
			assert_true(r.used <= end - at);
			assert_true(r.data_off + r.data_len <= r.used);
			memcpy(out + *olen, raw + at + r.data_off, r.data_len);
			*olen += r.data_len;
			at += r.used;
			if (rc == GW_CHUNK_MORE && !r.used)
				break;
		}
	}
	*used = at;
	return rc;
}

struct chunk_ok {
	const char *raw;
	size_t len;
	const char *payload;
	size_t plen;
	size_t body_len; /* bytes of raw that are the body */
};

static const struct chunk_ok chunk_ok[] = {
	{L("5\r\nhello\r\n0\r\n\r\n"), L("hello"), 15},
	{L("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), L("hello world"), 26},
	{L("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n"), L("0123456789abcdefghij"), 35},
	{L("0005;name=val;q=\"a b\"\r\nhello\r\n0;x\r\n\r\n"), L("hello"), 37},
	{L("5 \t; ext\r\nhello\r\n0\r\n\r\n"), L("hello"), 22},
	{L("3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-B:\r\n\r\nnext"), L("abc"), 29},
	{L("0\r\n\r\n"), L(""), 5},
	{L("1\r\n\0\r\n0\r\n\r\n"), L("\0"), 11},
	/* names that only start like a refused trailer field */
	{L("0\r\nContent-Length-X: 1\r\nX-Host: a\r\n\r\n"), L(""), 37},
	{L("0\r\nX-A-Very-Long-Trailer-Field-Name: 1\r\n\r\n"), L(""), 42},
};

static void test_chunk_valid(void **state)
{
	char out[256];
	size_t i, olen, used, cuts[512], n;
	struct gw_chunk c;
	int rc, round;

	for (i = 0; i < ARRAY_SIZE(chunk_ok); i++) {
		const struct chunk_ok *t = &chunk_ok[i];
		size_t plen = t->plen;

		print_message("# %zu\n", i);
		for (round = 0; round < 40; round++) {
			if (round == 0)
				n = 0;
			else if (round == 1)
				for (n = 0; n + 1 < t->len; n++)
					cuts[n] = n + 1;
			else
				n = random_cuts(t->len, cuts, 64);
			rc = chunk_run(t->raw, t->len, cuts, n, NULL, false, out, &olen, &used, &c);
			assert_int_equal(rc, GW_CHUNK_DONE); /* body ended */
			assert_int_equal(used, t->body_len); /* stopped at its end */
			assert_int_equal(olen, plen);	     /* payload bytes */
			assert_memory_equal(out, t->payload, plen);
			assert_int_equal(c.total, plen);
		}
	}
	/* gw_chunk_scan: the whole body at once, for forwarding unchanged */
	gw_chunk_init(&c, NULL, false);
	assert_int_equal(gw_chunk_scan(&c, L("5\r\nhello\r\n0\r\n\r\nrest"), &used), GW_CHUNK_DONE);
	assert_int_equal(used, 15);
	gw_chunk_init(&c, NULL, false);
	assert_int_equal(gw_chunk_scan(&c, L("5\r\nhel"), &used), GW_CHUNK_MORE);
	assert_int_equal(used, 6);
	assert_int_equal(gw_chunk_scan(&c, L("lo\r\n0\r\n\r\n"), &used), GW_CHUNK_DONE);
	assert_int_equal(used, 9);
	assert_int_equal(c.total, 5);
}

struct chunk_bad {
	const char *name;
	const char *raw;
	size_t len;
	int status;
};

static const struct chunk_bad chunk_bad[] = {
	{"17 hex digits", L("fffffffffffffffff\r\n"), 400},
	{"16 hex digits: above the chunk size bound", L("ffffffffffffffff\r\n"), 400},
	{"2^63: negative to a signed reader", L("8000000000000000\r\n"), 400},
	{"trailer Content-Length", L("0\r\nContent-Length: 5\r\n\r\n"), 400},
	{"trailer transfer-encoding", L("0\r\ntransfer-encoding: chunked\r\n\r\n"), 400},
	{"trailer Set-Cookie", L("0\r\nX-A: 1\r\nSet-COOKIE: a=b\r\n\r\n"), 400},
	{"trailer Host", L("0\r\nHost: evil\r\n\r\n"), 400},
	{"above the body limit", L("100001\r\n"), 413},
	{"negative", L("-5\r\nhello\r\n0\r\n\r\n"), 400},
	{"0x prefix", L("0x5\r\nhello\r\n0\r\n\r\n"), 400},
	{"empty size", L("\r\nhello\r\n0\r\n\r\n"), 400},
	{"leading space", L(" 5\r\nhello\r\n0\r\n\r\n"), 400},
	{"space without extension", L("5 \r\nhello\r\n0\r\n\r\n"), 400},
	{"bare LF after size", L("5\nhello\r\n0\r\n\r\n"), 400},
	{"bare CR after size", L("5\rhello\r\n0\r\n\r\n"), 400},
	{"data too long", L("5\r\nhelloX\r\n0\r\n\r\n"), 400},
	{"data without CRLF", L("5\r\nhello0\r\n\r\n"), 400},
	{"data bare LF", L("5\r\nhello\n0\r\n\r\n"), 400},
	{"extension CTL", L("5;a\x01\r\nhello\r\n0\r\n\r\n"), 400},
	{"extension bare LF", L("5;a\nhello\r\n0\r\n\r\n"), 400},
	{"extension too long",
	 L("5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"),
	 400},
	{"last chunk bare LF", L("0\n\r\n"), 400},
	{"final bare LF", L("0\r\n\n"), 400},
	{"final CR CR", L("0\r\n\r\r"), 400},
	{"trailer obs-fold", L("0\r\nX: a\r\n b\r\n\r\n"), 400},
	{"trailer space before colon", L("0\r\nX : a\r\n\r\n"), 400},
	{"trailer NUL", L("0\r\nX: a\0\r\n\r\n"), 400},
	{"trailer bare LF", L("0\r\nX: a\n\r\n"), 400},
	{"trailer no colon", L("0\r\nX\r\n\r\n"), 400},
	{"trailer bad name", L("0\r\nX@: a\r\n\r\n"), 400},
	{"trailer too large",
	 L("0\r\nX: 01234567890123456789012345678901234567890123456789"
	   "01234567890123456789\r\n\r\n"),
	 400},
};

static void test_chunk_refused(void **state)
{
	const struct gw_chunk_limits cl = {.max_ext = 64, .max_trailer = 64, .max_body = 1 << 20};
	char out[256];
	size_t i, olen, used, cuts[512], n;
	struct gw_chunk c;
	int rc, round;

	for (i = 0; i < ARRAY_SIZE(chunk_bad); i++) {
		const struct chunk_bad *t = &chunk_bad[i];

		print_message("# %s\n", t->name);
		for (round = 0; round < 20; round++) {
			n = round ? random_cuts(t->len, cuts, 16) : 0;
			rc = chunk_run(t->raw, t->len, cuts, n, &cl, false, out, &olen, &used, &c);
			assert_int_equal(rc, -EBADMSG);
			assert_int_equal(c.status, t->status);
			assert_non_null(c.reason);
		}
		/* toward an upstream the same error is a 502 */
		rc = chunk_run(t->raw, t->len, NULL, 0, &cl, true, out, &olen, &used, &c);
		assert_int_equal(rc, -EBADMSG);
		assert_int_equal(c.status, 502);
	}
	/* the body limit counts the sum of chunks */
	gw_chunk_init(&c, &cl, false);
	{
		static char big[0x80000 + 16];

		memcpy(big, "80000\r\n", 7);
		memset(big + 7, 'x', 0x80000);
		memcpy(big + 7 + 0x80000, "\r\n", 2);
		assert_int_equal(gw_chunk_scan(&c, big, 7 + 0x80000 + 2, &used), GW_CHUNK_MORE);
		assert_int_equal(gw_chunk_scan(&c, big, 7 + 0x80000 + 2, &used), GW_CHUNK_MORE);
		assert_int_equal(c.total, 0x100000); /* exactly the limit: fine */
		assert_int_equal(gw_chunk_scan(&c, L("1\r\n"), &used), -EBADMSG);
		assert_int_equal(c.status, 413);
	}
	/* errors are sticky */
	assert_int_equal(gw_chunk_scan(&c, L("0\r\n\r\n"), &used), -EBADMSG);
	/* without limits a chunk of exactly GW_CHUNK_SIZE_MAX is taken, one
	 * byte more is not */
	gw_chunk_init(&c, NULL, false);
	assert_int_equal(gw_chunk_scan(&c, L("10000000000\r\nx"), &used), GW_CHUNK_MORE);
	assert_int_equal(c.left, GW_CHUNK_SIZE_MAX - 1);
	gw_chunk_init(&c, NULL, true);
	assert_int_equal(gw_chunk_scan(&c, L("10000000001\r\n"), &used), -EBADMSG);
	assert_int_equal(c.status, 502);
}

/* ---- head builders ----------------------------------------------------------------- */

static int build_req(const char *raw, const struct gw_http_fwd *f, char *out, size_t cap)
{
	static struct gw_http_hdr h[NHDR];
	static struct gw_http_req req;

	assert_true(parse_req(&req, h, raw, strlen(raw)) > 0);
	return gw_http_req_build(&req, raw, f, out, cap);
}

static const uint8_t rnd[24] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
				0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

static void test_build_request(void **state)
{
	static const char raw[] =
		"GET /api/users?id=1 HTTP/1.1\r\nHost: example.com\r\n"
		"Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n"
		"User-Agent: t\r\nX-Debug: 1\r\nx-forwarded-for: 203.0.113.7\r\nTE: trailers\r\n"
		"Upgrade: h2c\r\nProxy-Connection: x\r\nX-Forwarded-Proto: http\r\n"
		"Trailer: X\r\nTransfer-Encoding: Chunked\r\nX-Forwarded-For: 10.0.0.1\r\n"
		"Accept:   */*  \r\n\r\n";
	static const char want[] =
		"GET /users?id=1 HTTP/1.1\r\nHost: example.com\r\n"
		"User-Agent: t\r\nAccept: */*\r\n"
		"Transfer-Encoding: chunked\r\n"
		"X-Forwarded-For: 203.0.113.7, 10.0.0.1, 198.18.0.1\r\n"
		"X-Forwarded-Proto: https\r\n"
		"X-Request-Id: 0123abcd\r\n"
		"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
		"X-Gateway: gw\r\n"
		"\r\n";
	static const char *const remove[] = {"x-debug"};
	static const struct gw_http_kv add[] = {{"X-Gateway", "gw"}};
	struct gw_http_fwd f = {
		.target = "/users?id=1",
		.target_len = 11,
		.remove = remove,
		.n_remove = 1,
		.add = add,
		.n_add = 1,
		.client_addr = "198.18.0.1",
		.proto = "https",
		.request_id = "0123abcd",
		.trace_rand = rnd,
		.trace_flags = 1,
	};
	char out[1024];
	int n;

	n = build_req(raw, &f, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	/* exactly enough room works, one byte less is -ENOSPC */
	assert_int_equal(build_req(raw, &f, out, sizeof(want) - 1), n);
	assert_int_equal(build_req(raw, &f, out, sizeof(want) - 2), -ENOSPC);
	assert_int_equal(build_req(raw, &f, out, 0), -ENOSPC);
}

static void test_build_request_keep(void **state)
{
	/* valid ids pass unchanged; nothing given means nothing added */
	static const char raw[] =
		"POST http://Up.example:8080?q HTTP/1.1\r\nHost: ignored\r\n"
		"X-Request-Id: client-id-1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n"
		"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
		"tracestate: congo=t61rcWkgMzE\r\nX-Forwarded-Proto: http\r\n\r\n";
	static const char want[] =
		"POST /?q HTTP/1.1\r\nHost: Up.example:8080\r\n"
		"X-Request-Id: client-id-1\r\n"
		"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
		"tracestate: congo=t61rcWkgMzE\r\nX-Forwarded-Proto: http\r\n"
		"Content-Length: 3\r\nConnection: close\r\n\r\n";
	struct gw_http_fwd f = {.request_id = "new", .trace_rand = rnd, .conn = GW_CONN_CLOSE};
	char out[1024];
	int n;

	n = build_req(raw, &f, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);

	/* an HTTP/1.0 Expect (ignored by the RFC) is not forwarded in 1.1 */
	f = (struct gw_http_fwd){0};
	n = build_req("GET / HTTP/1.0\r\nExpect: 200-ok\r\nHost: b\r\n\r\n", &f, out, sizeof(out));
	assert_int_equal(n, 27);
	assert_memory_equal(out, "GET / HTTP/1.1\r\nHost: b\r\n\r\n", 27);

	/* absolute-form OPTIONS without a path goes upstream as "*" */
	f = (struct gw_http_fwd){0};
	n = build_req("OPTIONS http://b.example HTTP/1.1\r\nHost: b.example\r\n\r\n", &f, out,
		      sizeof(out));
	assert_int_equal(n, 39);
	assert_memory_equal(out, "OPTIONS * HTTP/1.1\r\nHost: b.example\r\n\r\n", 39);
}

static void test_build_request_replace(void **state)
{
	/* invalid traceparent: replaced, tracestate dropped; two request ids:
	 * replaced; upgrade passes with its Upgrade field */
	static const char raw[] =
		"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
		"X-Request-Id: a\r\nX-Request-Id: b\r\n"
		"traceparent: 00-00000000000000000000000000000000-b7ad6b7169203331-01\r\n"
		"tracestate: a=b\r\n\r\n";
	static const char want[] =
		"GET /ws HTTP/1.1\r\nHost: backend:81\r\nUpgrade: websocket\r\n"
		"X-Request-Id: r-2\r\n"
		"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\r\n"
		"Connection: upgrade\r\n\r\n";
	struct gw_http_fwd f = {.host = "backend:81",
				.host_len = 10,
				.request_id = "r-2",
				.trace_rand = rnd,
				.conn = GW_CONN_UPGRADE};
	static const struct gw_http_kv inject[] = {{"X-A", "b\r\nX-Evil: 1"}};
	char out[1024];
	int n;

	n = build_req(raw, &f, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	/* header injection through given values is refused */
	f.add = inject;
	f.n_add = 1;
	assert_int_equal(build_req(raw, &f, out, sizeof(out)), -EINVAL);
	f.n_add = 0;
	f.target = "/a b";
	f.target_len = 4;
	assert_int_equal(build_req(raw, &f, out, sizeof(out)), -EINVAL);
}

static void test_build_response(void **state)
{
	static const char raw[] =
		"HTTP/1.1 200 Fine\r\nServer: up\r\nConnection: close, X-Internal\r\n"
		"X-Internal: 1\r\nKeep-Alive: 5\r\nContent-Length: 10\r\n"
		"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Powered-By: php\r\n\r\n";
	static const char want[] = "HTTP/1.1 200 Fine\r\nServer: up\r\nSet-Cookie: a=1\r\n"
				   "Set-Cookie: b=2\r\nContent-Length: 10\r\nX-Gw: 1\r\n\r\n";
	static const char raw204[] = "HTTP/1.1 204\r\nContent-Length: 0\r\nUpgrade: x\r\n\r\n";
	static const char want204[] = "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
	static const char raw101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				     "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n";
	static const char want101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				      "Sec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n";
	static const char *const remove[] = {"X-POWERED-BY"};
	static const struct gw_http_kv add[] = {{"X-Gw", "1"}};
	struct gw_http_rfwd f = {.remove = remove, .n_remove = 1, .add = add, .n_add = 1};
	struct gw_http_hdr h[NHDR];
	struct gw_http_resp resp;
	char out[512];
	int n;

	gw_http_resp_init(&resp, h, NHDR, &lim, false);
	assert_true(gw_http_resp_parse(&resp, L(raw)) > 0);
	n = gw_http_resp_build(&resp, raw, &f, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	assert_int_equal(gw_http_resp_build(&resp, raw, &f, out, (size_t)n - 1), -ENOSPC);

	gw_http_resp_init(&resp, h, NHDR, &lim, false);
	assert_true(gw_http_resp_parse(&resp, L(raw204)) > 0);
	f = (struct gw_http_rfwd){.conn = GW_CONN_KEEP_ALIVE};
	n = gw_http_resp_build(&resp, raw204, &f, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want204) - 1);
	assert_memory_equal(out, want204, sizeof(want204) - 1);

	gw_http_resp_init(&resp, h, NHDR, &lim, false);
	assert_true(gw_http_resp_parse(&resp, L(raw101)) > 0);
	assert_true(resp.switching);
	f = (struct gw_http_rfwd){.conn = GW_CONN_UPGRADE};
	n = gw_http_resp_build(&resp, raw101, &f, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want101) - 1);
	assert_memory_equal(out, want101, sizeof(want101) - 1);
}

static void test_format_response(void **state)
{
	static const char want400[] =
		"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
		"Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n";
	static const char want429[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
				      "RateLimit-Limit: 10\r\nContent-Length: 0\r\n\r\n";
	static const struct gw_http_kv rl[] = {{"Retry-After", "3"}, {"RateLimit-Limit", "10"}};
	static const struct gw_http_kv bad[] = {{"Bad Name", "1"}};
	char out[256];
	int n;

	n = gw_http_format_response(out, sizeof(out), 400, NULL, 0, "text/plain",
				    L("bad request\n"), true);
	assert_int_equal(n, (int)sizeof(want400) - 1);
	assert_memory_equal(out, want400, sizeof(want400) - 1);
	n = gw_http_format_response(out, sizeof(out), 429, rl, 2, NULL, NULL, 0, false);
	assert_int_equal(n, (int)sizeof(want429) - 1);
	assert_memory_equal(out, want429, sizeof(want429) - 1);
	assert_int_equal(
		gw_http_format_response(out, (size_t)n - 1, 429, rl, 2, NULL, NULL, 0, false),
		-ENOSPC);
	assert_int_equal(
		gw_http_format_response(out, sizeof(out), 400, bad, 1, NULL, NULL, 0, false),
		-EINVAL);
	assert_int_equal(
		gw_http_format_response(out, sizeof(out), 204, NULL, 0, NULL, L("x"), false),
		-EINVAL);
	assert_int_equal(
		gw_http_format_response(out, sizeof(out), 600, NULL, 0, NULL, NULL, 0, false),
		-EINVAL);
}

static void test_helpers(void **state)
{
	char tp[56];

	assert_string_equal(gw_http_reason(404), "Not Found");
	assert_string_equal(gw_http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(gw_http_reason(505), "HTTP Version Not Supported");
	assert_string_equal(gw_http_reason(299), "");

	assert_true(gw_http_traceparent_valid(
		L("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
	/* a future version may carry more after a dash */
	assert_true(gw_http_traceparent_valid(
		L("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-xyz")));
	assert_false(gw_http_traceparent_valid(
		L("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-xyz")));
	assert_false(gw_http_traceparent_valid(
		L("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
	assert_false(gw_http_traceparent_valid(
		L("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01")));
	assert_false(gw_http_traceparent_valid(
		L("00-00000000000000000000000000000000-b7ad6b7169203331-01")));
	assert_false(gw_http_traceparent_valid(
		L("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")));
	assert_false(gw_http_traceparent_valid(
		L("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1")));
	assert_false(gw_http_traceparent_valid(
		L("00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));

	assert_int_equal(gw_http_traceparent_format(tp, rnd, 0x01), 55);
	assert_string_equal(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	{
		static const uint8_t zero[24];

		gw_http_traceparent_format(tp, zero, 0);
		/* all-zero random bytes never make an invalid id */
		assert_true(gw_http_traceparent_valid(tp, 55));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_valid),
		cmocka_unit_test(test_req_fields),
		cmocka_unit_test(test_req_incomplete),
		cmocka_unit_test(test_req_refused),
		cmocka_unit_test(test_req_mutated),
		cmocka_unit_test(test_req_value_bytes),
		cmocka_unit_test(test_req_limits),
		cmocka_unit_test(test_resp),
		cmocka_unit_test(test_resp_interim),
		cmocka_unit_test(test_chunk_valid),
		cmocka_unit_test(test_chunk_refused),
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_build_request_keep),
		cmocka_unit_test(test_build_request_replace),
		cmocka_unit_test(test_build_response),
		cmocka_unit_test(test_format_response),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
