// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Incremental, strict HTTP/1.1 head parsers (RFC 9112) for requests from
 * clients and responses from upstreams. Heads are parsed a line at a time:
 * memchr finds the next LF (from where the previous call stopped), then one
 * pass over the line validates it and records offsets. Nothing is copied or
 * allocated; docs/http1.md lists every refusal and its status.
 */
#include <errno.h>
#include <string.h>

#include "http/http1.h"
#include "http/http1_int.h"

/* Parser states (gw_http_head.state). */
enum { ST_START = 0, ST_FIELDS, ST_DONE, ST_ERR };

/* Empty lines ignored before a request line (RFC 9112 2.2 asks for one). */
#define GW_HTTP_LEADING_CRLF_MAX 4

/* Content-Length digits accepted: 19 digits never overflow 64 bits. */
#define GW_HTTP_CL_DIGITS_MAX 19

/* ---- byte classes --------------------------------------------------------- */

#define DIGIT(c) ((c) >= '0' && (c) <= '9')
#define ALNUM(c) (DIGIT(c) || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define TCHAR(c)                                                                                   \
	(ALNUM(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' ||         \
	 (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' ||      \
	 (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define UNRES(c) (ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~')
#define SUBDELIM(c)                                                                                \
	((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||      \
	 (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')
#define VCHAR(c) ((c) >= 0x21 && (c) <= 0x7e)
#define HEX(c)	 (DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define CLS(c)                                                                                     \
	((TCHAR(c) ? GW_C_TCHAR : 0) |                                                             \
	 ((VCHAR(c) || (c) == ' ' || (c) == '\t' || (c) >= 0x80) ? GW_C_VALUE : 0) |               \
	 ((UNRES(c) || SUBDELIM(c) || (c) == ':' || (c) == '@' || (c) == '/') ? GW_C_PATH : 0) |   \
	 ((VCHAR(c) && (c) != '#') ? GW_C_QUERY : 0) |                                             \
	 ((UNRES(c) || SUBDELIM(c) || (c) == ':' || (c) == '[' || (c) == ']') ? GW_C_AUTH : 0) |   \
	 (HEX(c) ? GW_C_HEX : 0) | (VCHAR(c) ? GW_C_VCHAR : 0))
#define R4(n)  CLS(n), CLS(n + 1), CLS(n + 2), CLS(n + 3)
#define R16(n) R4(n), R4(n + 4), R4(n + 8), R4(n + 12)
#define R64(n) R16(n), R16(n + 16), R16(n + 32), R16(n + 48)

const uint8_t gw_http_cls[256] = {R64(0), R64(64), R64(128), R64(192)};

/* ---- small helpers ---------------------------------------------------------- */

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/*
 * Index of the first byte of p[i, e) that may not appear in a field value
 * (a CTL other than HTAB, or DEL), or e. Eight bytes at a time while none of
 * them is below 0x20 or DEL; a word with one (HTAB) is checked byte by byte.
 */
static size_t value_scan(const uint8_t *p, size_t i, size_t e)
{
	uint64_t x, d;
	size_t k;

	for (; e - i >= 8; i += 8) {
		memcpy(&x, p + i, 8);
		d = x ^ (0x7f * ONES);
		if (!(((x - 0x20 * ONES) & ~x & HIGHS) | ((d - ONES) & ~d & HIGHS)))
			continue;
		for (k = i; k < i + 8; k++)
			if (!gw_http_is(p[k], GW_C_VALUE))
				return k;
	}
	for (; i < e; i++)
		if (!gw_http_is(p[i], GW_C_VALUE))
			return i;
	return e;
}

/* Records the error; responses always answer 502. Returns -EBADMSG. */
static int fail(struct gw_http_head *h, uint16_t status, const char *reason)
{
	h->status = h->upstream ? 502 : status;
	h->reason = reason;
	h->state = ST_ERR;
	return -EBADMSG;
}

static struct gw_http_span span(size_t off, size_t len)
{
	return (struct gw_http_span){.off = (uint32_t)off, .len = (uint32_t)len};
}

uint8_t gw_http_hdr_id(const char *n, size_t len)
{
	switch (len) {
	case 2:
		return gw_http_ieq(n, "te", 2) ? GW_HDR_TE : 0;
	case 4:
		return gw_http_ieq(n, "host", 4) ? GW_HDR_HOST : 0;
	case 6:
		return gw_http_ieq(n, "expect", 6) ? GW_HDR_EXPECT : 0;
	case 7:
		if (gw_http_ieq(n, "upgrade", 7))
			return GW_HDR_UPGRADE;
		return gw_http_ieq(n, "trailer", 7) ? GW_HDR_TRAILER : 0;
	case 10:
		if (gw_http_ieq(n, "connection", 10))
			return GW_HDR_CONNECTION;
		if (gw_http_ieq(n, "keep-alive", 10))
			return GW_HDR_KEEP_ALIVE;
		return gw_http_ieq(n, "tracestate", 10) ? GW_HDR_TRACESTATE : 0;
	case 11:
		return gw_http_ieq(n, "traceparent", 11) ? GW_HDR_TRACEPARENT : 0;
	case 12:
		return gw_http_ieq(n, "x-request-id", 12) ? GW_HDR_X_REQUEST_ID : 0;
	case 14:
		return gw_http_ieq(n, "content-length", 14) ? GW_HDR_CONTENT_LENGTH : 0;
	case 15:
		return gw_http_ieq(n, "x-forwarded-for", 15) ? GW_HDR_X_FORWARDED_FOR : 0;
	case 16:
		return gw_http_ieq(n, "proxy-connection", 16) ? GW_HDR_PROXY_CONNECTION : 0;
	case 17:
		if (gw_http_ieq(n, "transfer-encoding", 17))
			return GW_HDR_TRANSFER_ENCODING;
		return gw_http_ieq(n, "x-forwarded-proto", 17) ? GW_HDR_X_FORWARDED_PROTO : 0;
	}
	return 0;
}

/* The transfer coding named c[len], or 0 when unknown. */
static uint8_t coding_id(const char *c, size_t len)
{
	if (len == 7 && gw_http_ieq(c, "chunked", 7))
		return GW_TE_CHUNKED;
	if ((len == 4 && gw_http_ieq(c, "gzip", 4)) || (len == 6 && gw_http_ieq(c, "x-gzip", 6)))
		return GW_TE_GZIP;
	if (len == 7 && gw_http_ieq(c, "deflate", 7))
		return GW_TE_DEFLATE;
	if ((len == 8 && gw_http_ieq(c, "compress", 8)) ||
	    (len == 10 && gw_http_ieq(c, "x-compress", 10)))
		return GW_TE_COMPRESS;
	return 0;
}

const char *gw_http_coding_name(uint8_t coding)
{
	switch (coding) {
	case GW_TE_CHUNKED:
		return "chunked";
	case GW_TE_GZIP:
		return "gzip";
	case GW_TE_DEFLATE:
		return "deflate";
	case GW_TE_COMPRESS:
		return "compress";
	}
	return "";
}

/*
 * Walks the elements of a comma-separated list value v[0, n) (RFC 9110
 * 5.6.1): *i is where the walk stands. Stores the next element, OWS
 * trimmed, in [*s, *e) and returns 1; returns 0 at the end. Empty elements
 * come back as s == e for the caller to judge.
 */
static int list_next(const char *v, size_t n, size_t *i, size_t *s, size_t *e)
{
	size_t j = *i, t;

	if (j > n)
		return 0;
	while (j < n && is_ows((uint8_t)v[j]))
		j++;
	*s = j;
	while (j < n && v[j] != ',')
		j++;
	t = j;
	while (t > *s && is_ows((uint8_t)v[t - 1]))
		t--;
	*e = t;
	*i = j + 1;
	return 1;
}

/* True when v[s, e) is a non-empty token. */
static bool is_token(const char *v, size_t s, size_t e)
{
	if (s == e)
		return false;
	for (; s < e; s++)
		if (!gw_http_is((uint8_t)v[s], GW_C_TCHAR))
			return false;
	return true;
}

/*
 * host [":" port] of Host or an absolute/authority-form target: a reg-name
 * (unreserved / sub-delims) or an IP literal in brackets; a port of at most
 * five digits below 65536, required when need_port. Returns true when valid.
 */
static bool valid_authority(const char *a, size_t n, bool need_port)
{
	size_t i = 0, port_at;
	unsigned long port = 0;

	if (n && a[0] == '[') {
		for (i = 1; i < n && a[i] != ']'; i++)
			if (!gw_http_is((uint8_t)a[i], GW_C_HEX) && a[i] != ':' && a[i] != '.')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		for (; i < n && a[i] != ':'; i++) {
			uint8_t c = (uint8_t)a[i];

			if (!gw_http_is(c, GW_C_AUTH) || c == '[' || c == ']')
				return false;
		}
		if (i == 0 && n)
			return false; /* ":80" */
	}
	if (i == n)
		return !need_port;
	if (a[i] != ':')
		return false;
	port_at = ++i;
	if (n - port_at > 5 || (need_port && n == port_at))
		return false;
	for (; i < n; i++) {
		if (!DIGIT(a[i]))
			return false;
		port = port * 10 + (unsigned long)(a[i] - '0');
	}
	return port <= 65535;
}

/* ---- request line --------------------------------------------------------- */

static const struct {
	char name[8];
	uint8_t len, id;
} methods[] = {
	{"GET", 3, GW_METHOD_GET},	   {"POST", 4, GW_METHOD_POST},
	{"HEAD", 4, GW_METHOD_HEAD},	   {"PUT", 3, GW_METHOD_PUT},
	{"DELETE", 6, GW_METHOD_DELETE},   {"PATCH", 5, GW_METHOD_PATCH},
	{"OPTIONS", 7, GW_METHOD_OPTIONS}, {"CONNECT", 7, GW_METHOD_CONNECT},
	{"TRACE", 5, GW_METHOD_TRACE},
};

/* enum gw_http_method of m[n] (methods are case-sensitive). */
static uint8_t method_id(const char *m, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == n && !memcmp(m, methods[i].name, n))
			return methods[i].id;
	return GW_METHOD_OTHER;
}

/* "HTTP/" DIGIT "." DIGIT at v[0, n): sets *minor for 1.0/1.1. Returns 0,
 * -EBADMSG malformed (400) or -EPROTONOSUPPORT for another version (505). */
static int parse_version(const char *v, size_t n, uint8_t *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || !DIGIT(v[5]) || v[6] != '.' || !DIGIT(v[7]))
		return -EBADMSG;
	if (v[5] != '1' || v[7] > '1')
		return -EPROTONOSUPPORT;
	*minor = (uint8_t)(v[7] - '0');
	return 0;
}

/*
 * Path and query of an origin- or absolute-form target from buf[i, e): the
 * path is pchar and '/' with valid %HH escapes, the query any visible ASCII
 * but '#'. Returns 0 or -EBADMSG with the reason in *why.
 */
static int parse_path_query(struct gw_http_req *req, const char *buf, size_t i, size_t e,
			    const char **why)
{
	const uint8_t *p = (const uint8_t *)buf;
	size_t s = i;

	for (; i < e && p[i] != '?'; i++) {
		if (p[i] == '%') {
			if (e - i < 3 || !gw_http_is(p[i + 1], GW_C_HEX) ||
			    !gw_http_is(p[i + 2], GW_C_HEX)) {
				*why = "bad percent-encoding in path";
				return -EBADMSG;
			}
			i += 2;
		} else if (!gw_http_is(p[i], GW_C_PATH)) {
			*why = "invalid character in path";
			return -EBADMSG;
		}
	}
	req->path = span(s, i - s);
	if (i == e)
		return 0;
	req->has_query = true;
	s = ++i;
	for (; i < e; i++) {
		if (!gw_http_is(p[i], GW_C_QUERY)) {
			*why = "invalid character in query";
			return -EBADMSG;
		}
	}
	req->query = span(s, e - s);
	return 0;
}

/* The request-target buf[s, e) (visible ASCII already): its form, path,
 * query and authority. Returns 0 or a fail() result. */
static int parse_target(struct gw_http_req *req, const char *buf, size_t s, size_t e)
{
	const char *why = NULL;
	size_t i, a;

	req->target = span(s, e - s);
	if (req->method == GW_METHOD_CONNECT) {
		if (!valid_authority(buf + s, e - s, true) || e == s)
			return fail(&req->h, 400, "CONNECT needs an authority-form target");
		req->form = GW_FORM_AUTHORITY;
		req->authority = req->target;
		return 0;
	}
	if (buf[s] == '*') {
		if (e - s != 1 || req->method != GW_METHOD_OPTIONS)
			return fail(&req->h, 400, "asterisk-form is only for OPTIONS");
		req->form = GW_FORM_ASTERISK;
		req->path = req->target;
		return 0;
	}
	if (buf[s] == '/') {
		req->form = GW_FORM_ORIGIN;
		if (parse_path_query(req, buf, s, e, &why))
			return fail(&req->h, 400, why);
		return 0;
	}
	/* absolute-form: http(s)://authority[path][?query] */
	if (e - s > 7 && gw_http_ieq(buf + s, "http://", 7))
		a = s + 7;
	else if (e - s > 8 && gw_http_ieq(buf + s, "https://", 8))
		a = s + 8;
	else
		return fail(&req->h, 400, "invalid request-target");
	for (i = a; i < e && buf[i] != '/' && buf[i] != '?'; i++)
		;
	if (i == a || !valid_authority(buf + a, i - a, false))
		return fail(&req->h, 400, "invalid authority in request-target");
	req->form = GW_FORM_ABSOLUTE;
	req->authority = span(a, i - a);
	if (parse_path_query(req, buf, i, e, &why))
		return fail(&req->h, 400, why);
	return 0;
}

/* request-line = method SP request-target SP HTTP-version, at buf[s, e). */
static int request_line(struct gw_http_req *req, const char *buf, size_t s, size_t e)
{
	const uint8_t *p = (const uint8_t *)buf;
	size_t i = s, ts;
	int rc;

	while (i < e && gw_http_is(p[i], GW_C_TCHAR))
		i++;
	if (i == s || i == e || p[i] != ' ')
		return fail(&req->h, 400, "invalid method");
	req->method_tok = span(s, i - s);
	req->method = method_id(buf + s, i - s);
	ts = ++i;
	while (i < e && p[i] != ' ') {
		if (!gw_http_is(p[i], GW_C_VCHAR))
			return fail(&req->h, 400, "invalid character in request-target");
		i++;
	}
	if (i == ts)
		return fail(&req->h, 400, "empty request-target");
	if (i == e)
		return fail(&req->h, 400, "missing HTTP version");
	rc = parse_version(buf + i + 1, e - i - 1, &req->h.minor);
	if (rc == -EPROTONOSUPPORT)
		return fail(&req->h, 505, "HTTP version not supported");
	if (rc)
		return fail(&req->h, 400, "malformed HTTP version");
	return parse_target(req, buf, ts, i);
}

/* status-line = HTTP-version SP status-code SP [reason-phrase]; a missing
 * "SP reason" is tolerated (servers omit it). Returns 0 or fail(). */
static int status_line(struct gw_http_resp *resp, const char *buf, size_t s, size_t e)
{
	const uint8_t *p = (const uint8_t *)buf;
	size_t i;

	if (e - s < 12 || parse_version(buf + s, 8, &resp->h.minor) || p[s + 8] != ' ' ||
	    !DIGIT(p[s + 9]) || !DIGIT(p[s + 10]) || !DIGIT(p[s + 11]) || p[s + 9] < '1' ||
	    p[s + 9] > '5')
		return fail(&resp->h, 502, "malformed status line");
	resp->code = (uint16_t)((p[s + 9] - '0') * 100 + (p[s + 10] - '0') * 10 + p[s + 11] - '0');
	i = s + 12;
	if (i == e)
		return 0;
	if (p[i] != ' ')
		return fail(&resp->h, 502, "malformed status line");
	for (i++; i < e; i++)
		if (!gw_http_is(p[i], GW_C_VALUE))
			return fail(&resp->h, 502, "invalid character in reason phrase");
	resp->reason_phrase = span(s + 13, e - s - 13);
	return 0;
}

/* ---- header fields -------------------------------------------------------- */

/* Content-Length: 1*DIGIT, or a list of identical ones (RFC 9110 8.6),
 * also across field lines. Returns 0 or fail(). */
static int content_length(struct gw_http_head *h, const char *v, size_t n)
{
	size_t i = 0, s, e, j;
	uint64_t cl;

	while (list_next(v, n, &i, &s, &e)) {
		if (s == e || e - s > GW_HTTP_CL_DIGITS_MAX)
			return fail(h, 400,
				    e == s ? "empty Content-Length" : "Content-Length too large");
		cl = 0;
		for (j = s; j < e; j++) {
			if (!DIGIT(v[j]))
				return fail(h, 400, "invalid Content-Length");
			cl = cl * 10 + (uint64_t)(v[j] - '0');
		}
		if (h->has_cl && cl != h->content_length)
			return fail(h, 400, "conflicting Content-Length values");
		h->has_cl = true;
		h->content_length = cl;
	}
	return 0;
}

/* Transfer-Encoding: codings in order, across field lines; chunked at most
 * once and last (checked here for "not last", at the end for "missing").
 * Unknown codings: 501. Parameters and empty elements: 400. */
static int transfer_encoding(struct gw_http_head *h, const char *v, size_t n)
{
	size_t i = 0, s, e;
	uint8_t c;

	h->has_te = true;
	while (list_next(v, n, &i, &s, &e)) {
		if (s == e)
			return fail(h, 400, "empty transfer coding");
		if (!is_token(v, s, e))
			return fail(h, 400, "invalid transfer coding");
		c = coding_id(v + s, e - s);
		if (!c)
			return fail(h, 501, "unknown transfer coding");
		if (h->nte && h->te[h->nte - 1] == GW_TE_CHUNKED)
			return fail(h, 400, "chunked is not the final transfer coding");
		if (h->nte == GW_HTTP_TE_MAX)
			return fail(h, 400, "too many transfer codings");
		h->te[h->nte++] = c;
	}
	return 0;
}

/* Connection: the options close, keep-alive and upgrade; every element
 * must be a token (empty elements are skipped, RFC 9110 5.6.1). */
static int connection(struct gw_http_head *h, const char *v, size_t n)
{
	size_t i = 0, s, e;

	while (list_next(v, n, &i, &s, &e)) {
		if (s == e)
			continue;
		if (!is_token(v, s, e))
			return fail(h, 400, "invalid Connection option");
		if (e - s == 5 && gw_http_ieq(v + s, "close", 5))
			h->conn_close = true;
		else if (e - s == 10 && gw_http_ieq(v + s, "keep-alive", 10))
			h->conn_keep_alive = true;
		else if (e - s == 7 && gw_http_ieq(v + s, "upgrade", 7))
			h->conn_upgrade = true;
		else
			h->conn_names = true;
	}
	return 0;
}

/* Marks every ordinary field (GW_HDR_OTHER) named in a Connection option:
 * hop-by-hop. The fields with an id are handled by the builders themselves. */
static void mark_connection_listed(struct gw_http_head *h, const char *buf)
{
	size_t i, s, e, k, n;
	int j;

	if (!h->conn_names)
		return; /* only close, keep-alive, upgrade: fields dropped anyway */
	for (j = 0; j < h->nhdr; j++) {
		const struct gw_http_hdr *c = &h->hdr[j];

		if (c->id != GW_HDR_CONNECTION)
			continue;
		i = 0;
		n = c->value_len;
		while (list_next(buf + c->value, n, &i, &s, &e)) {
			for (k = 0; s < e && k < h->nhdr; k++) {
				struct gw_http_hdr *x = &h->hdr[k];

				if (x->id == GW_HDR_OTHER && x->name_len == e - s &&
				    gw_http_ieq2(buf + x->name, buf + c->value + s, e - s))
					x->flags |= GW_HDR_F_CONN_LISTED;
			}
		}
	}
}

/*
 * One field line buf[s, e): field-name ":" OWS field-value OWS. Refuses
 * obs-fold, whitespace before the colon, bad name or value bytes; records
 * the field and acts on the ones that frame or route the message.
 */
static int field_line(struct gw_http_head *h, struct gw_http_req *req, const char *buf, size_t s,
		      size_t e)
{
	const uint8_t *p = (const uint8_t *)buf;
	struct gw_http_hdr *f;
	size_t i = s, ne, vs, ve;

	if (is_ows(p[s]))
		return fail(h, 400, "obs-fold or whitespace at line start");
	while (i < e && gw_http_is(p[i], GW_C_TCHAR))
		i++;
	if (i == e || p[i] != ':') {
		if (i < e && is_ows(p[i]))
			return fail(h, 400, "whitespace before colon");
		return fail(h, 400, "invalid field name");
	}
	if (i == s)
		return fail(h, 400, "empty field name");
	if (i - s > UINT16_MAX)
		return fail(h, 431, "field name too long");
	ne = i;
	for (vs = i + 1; vs < e && is_ows(p[vs]); vs++)
		;
	if (value_scan(p, vs, e) != e)
		return fail(h, 400, "invalid character in field value");
	for (ve = e; ve > vs && is_ows(p[ve - 1]); ve--)
		;
	if (h->nhdr >= h->hdr_cap || h->nhdr >= h->lim.max_headers)
		return fail(h, 431, "too many header fields");
	f = &h->hdr[h->nhdr];
	f->name = (uint32_t)s;
	f->name_len = (uint16_t)(ne - s);
	f->value = (uint32_t)vs;
	f->value_len = (uint32_t)(ve - vs);
	f->flags = 0;
	f->id = gw_http_hdr_id(buf + s, ne - s);
	h->nhdr++;

	switch (f->id) {
	case GW_HDR_CONTENT_LENGTH:
		return content_length(h, buf + vs, ve - vs);
	case GW_HDR_TRANSFER_ENCODING:
		return transfer_encoding(h, buf + vs, ve - vs);
	case GW_HDR_CONNECTION:
		return connection(h, buf + vs, ve - vs);
	case GW_HDR_UPGRADE:
		h->has_upgrade = true;
		return 0;
	case GW_HDR_HOST:
		if (!req)
			return 0;
		if (req->host_idx >= 0)
			return fail(h, 400, "duplicate Host");
		if (!valid_authority(buf + vs, ve - vs, false))
			return fail(h, 400, "invalid Host");
		req->host_idx = h->nhdr - 1;
		return 0;
	case GW_HDR_EXPECT:
		if (!req || h->minor == 0)
			return 0; /* ignored from HTTP/1.0 (RFC 9110 10.1.1) */
		if (ve - vs != 12 || !gw_http_ieq(buf + vs, "100-continue", 12))
			return fail(h, 417, "unsupported expectation");
		req->expect_continue = true;
		return 0;
	}
	return 0;
}

/*
 * Framing shared by both directions: Transfer-Encoding is refused in
 * HTTP/1.0 and next to Content-Length (smuggling, RFC 9112 6.1, 6.3).
 * Returns 0 (framing left in h->body for the caller to refine) or fail().
 */
static int framing(struct gw_http_head *h)
{
	if (h->has_te) {
		if (h->minor == 0)
			return fail(h, 400, "Transfer-Encoding in HTTP/1.0");
		if (h->has_cl)
			return fail(h, 400, "both Content-Length and Transfer-Encoding");
		if (h->nte == 0)
			return fail(h, 400, "empty Transfer-Encoding");
		h->body = h->te[h->nte - 1] == GW_TE_CHUNKED ? GW_BODY_CHUNKED : GW_BODY_CLOSE;
	} else if (h->has_cl) {
		h->body = GW_BODY_LENGTH;
	} else {
		h->body = GW_BODY_NONE;
	}
	if (h->conn_close)
		h->keep_alive = false;
	else
		h->keep_alive = h->minor == 1 || h->conn_keep_alive;
	return 0;
}

/* The end of a request head: Host, framing, body limit, CONNECT. */
static int request_done(struct gw_http_req *req, const char *buf)
{
	struct gw_http_head *h = &req->h;
	int rc = framing(h);

	if (rc)
		return rc;
	if (h->body == GW_BODY_CLOSE)
		return fail(h, 400, "chunked is not the final transfer coding");
	if (req->host_idx < 0 && h->minor == 1)
		return fail(h, 400, "missing Host");
	if (req->form != GW_FORM_ABSOLUTE && req->form != GW_FORM_AUTHORITY) {
		if (req->host_idx >= 0) {
			const struct gw_http_hdr *host = &h->hdr[req->host_idx];

			req->authority = span(host->value, host->value_len);
		}
	}
	if (h->body == GW_BODY_LENGTH && h->lim.max_body && h->content_length > h->lim.max_body)
		return fail(h, 413, "Content-Length above the body limit");
	if (req->method == GW_METHOD_CONNECT)
		return fail(h, 501, "CONNECT is not supported");
	req->upgrade = h->has_upgrade && h->conn_upgrade && h->minor == 1;
	mark_connection_listed(h, buf);
	return 0;
}

/* The end of a response head: RFC 9112 6.3 decides the body. */
static int response_done(struct gw_http_resp *resp, const char *buf)
{
	struct gw_http_head *h = &resp->h;
	int rc = framing(h);

	if (rc)
		return rc;
	if (h->body == GW_BODY_NONE)
		h->body = GW_BODY_CLOSE; /* no framing: until close */
	resp->switching = resp->code == 101;
	resp->interim = resp->code < 200 && !resp->switching;
	if (resp->code < 200 || resp->code == 204 || resp->code == 304 || resp->head_request)
		h->body = GW_BODY_NONE;
	if (h->body == GW_BODY_CLOSE)
		h->keep_alive = false;
	mark_connection_listed(h, buf);
	return 0;
}

/* ---- the line loop ---------------------------------------------------------- */

/*
 * Parses lines of buf[0, len) from where the last call stopped, with
 * req (requests) or resp (responses) set. Returns the head length, 0 for
 * more bytes, or -EBADMSG.
 */
static int head_parse(struct gw_http_head *h, struct gw_http_req *req, struct gw_http_resp *resp,
		      const char *buf, size_t len)
{
	const struct gw_http_limits *lim = &h->lim;
	const char *lf;
	size_t s, e, nl, bound, limit;
	int rc;

	if (h->state == ST_DONE)
		return (int)h->pos;
	if (h->state == ST_ERR)
		return -EBADMSG;
	if (len < h->scan)
		return 0; /* the caller's buffer shrank: nothing new to read */
	for (;;) {
		/* a line may not reach beyond its limit: search no further */
		if (h->state == ST_START)
			limit = (size_t)h->pos + lim->max_line + 2;
		else
			limit = (size_t)h->fields + lim->max_fields;
		bound = limit < len ? limit : len;
		lf = h->scan < bound ? memchr(buf + h->scan, '\n', bound - h->scan) : NULL;
		if (!lf) {
			h->scan = (uint32_t)bound;
			if (len < limit)
				return 0;
			if (h->state == ST_START)
				return fail(h, 414,
					    req ? "request line too long" : "status line too long");
			return fail(h, 431, "header section too large");
		}
		nl = (size_t)(lf - buf);
		if (nl == h->pos || buf[nl - 1] != '\r')
			return fail(h, 400, "bare LF");
		s = h->pos;
		e = nl - 1;
		h->pos = h->scan = (uint32_t)(nl + 1);
		if (h->state == ST_START) {
			if (e == s && req && h->empty_lines < GW_HTTP_LEADING_CRLF_MAX) {
				h->empty_lines++;
				continue;
			}
			if (e - s > lim->max_line)
				return fail(h, 414,
					    req ? "request line too long" : "status line too long");
			rc = req ? request_line(req, buf, s, e) : status_line(resp, buf, s, e);
			if (rc)
				return rc;
			h->fields = h->pos;
			h->state = ST_FIELDS;
			continue;
		}
		if (e == s) {
			rc = req ? request_done(req, buf) : response_done(resp, buf);
			if (rc)
				return rc;
			h->state = ST_DONE;
			return (int)h->pos;
		}
		rc = field_line(h, req, buf, s, e);
		if (rc)
			return rc;
	}
}

static void head_init(struct gw_http_head *h, struct gw_http_hdr *hdrs, uint16_t cap,
		      const struct gw_http_limits *lim, bool upstream)
{
	memset(h, 0, sizeof(*h));
	h->hdr = hdrs;
	h->hdr_cap = cap;
	if (lim)
		h->lim = *lim;
	if (!h->lim.max_line)
		h->lim.max_line = GW_HTTP_MAX_LINE_DEFAULT;
	if (!h->lim.max_fields)
		h->lim.max_fields = GW_HTTP_MAX_FIELDS_DEFAULT;
	if (!h->lim.max_headers)
		h->lim.max_headers = GW_HTTP_MAX_HEADERS_DEFAULT;
	h->upstream = upstream;
}

void gw_http_req_init(struct gw_http_req *req, struct gw_http_hdr *hdrs, uint16_t cap,
		      const struct gw_http_limits *lim)
{
	memset(req, 0, sizeof(*req));
	head_init(&req->h, hdrs, cap, lim, false);
	req->host_idx = -1;
}

int gw_http_req_parse(struct gw_http_req *req, const char *buf, size_t len)
{
	if (len > INT32_MAX)
		len = INT32_MAX;
	return head_parse(&req->h, req, NULL, buf, len);
}

void gw_http_resp_init(struct gw_http_resp *resp, struct gw_http_hdr *hdrs, uint16_t cap,
		       const struct gw_http_limits *lim, bool head_request)
{
	memset(resp, 0, sizeof(*resp));
	head_init(&resp->h, hdrs, cap, lim, true);
	resp->head_request = head_request;
}

int gw_http_resp_parse(struct gw_http_resp *resp, const char *buf, size_t len)
{
	if (len > INT32_MAX)
		len = INT32_MAX;
	return head_parse(&resp->h, NULL, resp, buf, len);
}

/* ---- lookups ------------------------------------------------------------------ */

int gw_http_find(const struct gw_http_head *h, const char *buf, const char *name, size_t name_len,
		 int from)
{
	int i;

	for (i = from < 0 ? 0 : from; i < h->nhdr; i++) {
		const struct gw_http_hdr *f = &h->hdr[i];

		if (f->name_len == name_len && gw_http_ieq2(buf + f->name, name, name_len))
			return i;
	}
	return -ENOENT;
}

int gw_http_find_id(const struct gw_http_head *h, enum gw_http_hdr_id id, int from)
{
	int i;

	for (i = from < 0 ? 0 : from; i < h->nhdr; i++)
		if (h->hdr[i].id == id)
			return i;
	return -ENOENT;
}
