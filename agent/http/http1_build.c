// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Head builders for the L7 proxy: the request head toward an upstream and
 * the response head toward the client, each from a parsed head plus the
 * proxy's decisions, written into a bounded caller buffer; the gateway's own
 * small answers; reason phrases; X-Request-Id and W3C traceparent helpers.
 */
#include <errno.h>
#include <string.h>

#include "http/http1.h"
#include "http/http1_int.h"

/* X-Request-Id values longer than this are replaced, not forwarded. */
#define GW_HTTP_REQUEST_ID_MAX 128

/* A bounded output buffer; `over` latches once anything did not fit. */
struct obuf {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct obuf *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_str(struct obuf *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct obuf *o, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, d + i, sizeof(d) - i);
}

/* "name: value\r\n" */
static void put_field(struct obuf *o, const char *name, size_t nlen, const char *value, size_t vlen)
{
	put(o, name, nlen);
	put(o, ": ", 2);
	put(o, value, vlen);
	put(o, "\r\n", 2);
}

/* A received field, copied as it was parsed (value OWS-trimmed). */
static void put_hdr(struct obuf *o, const char *buf, const struct gw_http_hdr *f)
{
	put_field(o, buf + f->name, f->name_len, buf + f->value, f->value_len);
}

/* Returns the length written, or -ENOSPC when anything did not fit. */
static int obuf_end(struct obuf *o)
{
	if (o->over || o->len > INT32_MAX)
		return -ENOSPC;
	return (int)o->len;
}

/* True when every byte of s[n] is in class cls (and n >= min). */
static bool all_in(const char *s, size_t n, uint8_t cls, size_t min)
{
	size_t i;

	if (n < min)
		return false;
	for (i = 0; i < n; i++)
		if (!gw_http_is((uint8_t)s[i], cls))
			return false;
	return true;
}

/* Caller-given fields must be a token name and a value without CR/LF/CTLs. */
static bool valid_kv(const struct gw_http_kv *kv)
{
	return kv->name && kv->value && all_in(kv->name, strlen(kv->name), GW_C_TCHAR, 1) &&
	       all_in(kv->value, strlen(kv->value), GW_C_VALUE, 0);
}

static int put_kvs(struct obuf *o, const struct gw_http_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!valid_kv(&kv[i]))
			return -EINVAL;
		put_field(o, kv[i].name, strlen(kv[i].name), kv[i].value, strlen(kv[i].value));
	}
	return 0;
}

/* True when field f is named in remove[n] (case-insensitively). */
static bool in_remove(const char *buf, const struct gw_http_hdr *f, const char *const *remove,
		      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(remove[i]) == f->name_len &&
		    gw_http_ieq2(buf + f->name, remove[i], f->name_len))
			return true;
	return false;
}

/* The framing fields, canonical: one Content-Length, or the codings. */
static void put_framing(struct obuf *o, const struct gw_http_head *h)
{
	unsigned i;

	if (h->nte) {
		put_str(o, "Transfer-Encoding: ");
		for (i = 0; i < h->nte; i++) {
			if (i)
				put(o, ", ", 2);
			put_str(o, gw_http_coding_name(h->te[i]));
		}
		put(o, "\r\n", 2);
	} else if (h->has_cl) {
		put_str(o, "Content-Length: ");
		put_u64(o, h->content_length);
		put(o, "\r\n", 2);
	}
}

static void put_connection(struct obuf *o, uint8_t conn)
{
	static const char *const v[] = {
		[GW_CONN_CLOSE] = "Connection: close\r\n",
		[GW_CONN_KEEP_ALIVE] = "Connection: keep-alive\r\n",
		[GW_CONN_UPGRADE] = "Connection: upgrade\r\n",
	};

	if (conn < sizeof(v) / sizeof(v[0]) && v[conn])
		put_str(o, v[conn]);
}

/* The end of a built head: the caller's fields, Connection, the empty
 * line. Returns the head length, -EINVAL or -ENOSPC. */
static int put_tail(struct obuf *o, const struct gw_http_kv *add, size_t n_add, uint8_t conn)
{
	int err = put_kvs(o, add, n_add);

	if (err)
		return err;
	put_connection(o, conn);
	put(o, "\r\n", 2);
	return obuf_end(o);
}

/* True for fields no proxy forwards (RFC 9110 7.6.1), Upgrade unless the
 * upgrade passes, and client fields named in Connection. */
static bool hop_by_hop(const struct gw_http_hdr *f, uint8_t conn)
{
	switch (f->id) {
	case GW_HDR_CONNECTION:
	case GW_HDR_KEEP_ALIVE:
	case GW_HDR_PROXY_CONNECTION:
	case GW_HDR_TE:
	case GW_HDR_TRAILER:
		return true;
	case GW_HDR_UPGRADE:
		return conn != GW_CONN_UPGRADE;
	case GW_HDR_OTHER:
		return f->flags & GW_HDR_F_CONN_LISTED;
	}
	return false;
}

/* ---- traceparent and X-Request-Id -------------------------------------------- */

static bool lowhex(const char *s, size_t n, bool *zero)
{
	size_t i;

	*zero = true;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0')
			*zero = false;
	}
	return true;
}

bool gw_http_traceparent_valid(const char *v, size_t len)
{
	bool zero;

	if (len < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-')
		return false;
	if (!lowhex(v, 2, &zero) || (v[0] == 'f' && v[1] == 'f'))
		return false;
	if (!lowhex(v + 3, 32, &zero) || zero)
		return false;
	if (!lowhex(v + 36, 16, &zero) || zero)
		return false;
	if (!lowhex(v + 53, 2, &zero))
		return false;
	/* version 00 is exactly 55 bytes; later versions may append "-..." */
	if (v[0] == '0' && v[1] == '0')
		return len == 55;
	return len == 55 || v[55] == '-';
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
}

int gw_http_traceparent_format(char out[56], const uint8_t rnd[24], uint8_t flags)
{
	static const uint8_t zero[16];
	uint8_t id[24];

	memcpy(id, rnd, sizeof(id));
	if (!memcmp(id, zero, 16))
		id[15] = 1;
	if (!memcmp(id + 16, zero, 8))
		id[23] = 1;
	memcpy(out, "00-", 3);
	hex(out + 3, id, 16);
	out[35] = '-';
	hex(out + 36, id + 16, 8);
	out[52] = '-';
	hex(out + 53, &flags, 1);
	out[55] = '\0';
	return 55;
}

/* Index of the only field with id when there is exactly one, or -ENOENT. */
static int only_one(const struct gw_http_head *h, enum gw_http_hdr_id id)
{
	int i = gw_http_find_id(h, id, 0);

	if (i < 0 || gw_http_find_id(h, id, i + 1) >= 0)
		return -ENOENT;
	return i;
}

int gw_http_request_id(const struct gw_http_req *req, const char *buf)
{
	int i = only_one(&req->h, GW_HDR_X_REQUEST_ID);

	if (i < 0 || req->h.hdr[i].value_len > GW_HTTP_REQUEST_ID_MAX ||
	    !all_in(buf + req->h.hdr[i].value, req->h.hdr[i].value_len, GW_C_VCHAR, 1))
		return -ENOENT;
	return i;
}

/* Index of the request's valid traceparent, or -ENOENT. */
static int traceparent_idx(const struct gw_http_req *req, const char *buf)
{
	int i = only_one(&req->h, GW_HDR_TRACEPARENT);

	if (i < 0 || !gw_http_traceparent_valid(buf + req->h.hdr[i].value, req->h.hdr[i].value_len))
		return -ENOENT;
	return i;
}

/* ---- request head --------------------------------------------------------------- */

/* The request-target to send when the caller gives none: origin-form. */
static void put_default_target(struct obuf *o, const struct gw_http_req *req, const char *buf)
{
	switch (req->form) {
	case GW_FORM_ORIGIN:
		put(o, buf + req->target.off, req->target.len);
		return;
	case GW_FORM_ASTERISK:
		put(o, "*", 1);
		return;
	}
	if (req->path.len)
		put(o, buf + req->path.off, req->path.len);
	else if (req->method == GW_METHOD_OPTIONS && !req->has_query)
		put(o, "*", 1); /* RFC 9112 3.2.4 */
	else
		put(o, "/", 1);
	if (req->has_query) {
		put(o, "?", 1);
		put(o, buf + req->query.off, req->query.len);
	}
}

/* "X-Forwarded-For: <received values>, <client>" */
static void put_xff(struct obuf *o, const struct gw_http_req *req, const char *buf,
		    const struct gw_http_fwd *f)
{
	bool any = false;
	int i;

	put_str(o, "X-Forwarded-For: ");
	for (i = 0; i < req->h.nhdr; i++) {
		const struct gw_http_hdr *x = &req->h.hdr[i];

		if (x->id != GW_HDR_X_FORWARDED_FOR || !x->value_len ||
		    in_remove(buf, x, f->remove, f->n_remove))
			continue;
		if (any)
			put(o, ", ", 2);
		put(o, buf + x->value, x->value_len);
		any = true;
	}
	if (any)
		put(o, ", ", 2);
	put_str(o, f->client_addr);
	put(o, "\r\n", 2);
}

int gw_http_req_build(const struct gw_http_req *req, const char *buf, const struct gw_http_fwd *f,
		      char *out, size_t cap)
{
	struct obuf o = {.p = out, .cap = cap};
	int rid = gw_http_request_id(req, buf);
	int tp = traceparent_idx(req, buf);
	bool new_rid = rid < 0 && f->request_id;
	bool new_tp = tp < 0 && f->trace_rand;
	char trace[56];
	int i;

	if ((f->target && !all_in(f->target, f->target_len, GW_C_VCHAR, 1)) ||
	    (f->host && !all_in(f->host, f->host_len, GW_C_VCHAR, 0)) ||
	    (f->client_addr && !all_in(f->client_addr, strlen(f->client_addr), GW_C_VCHAR, 1)) ||
	    (f->proto && !all_in(f->proto, strlen(f->proto), GW_C_TCHAR, 1)) ||
	    (new_rid && !all_in(f->request_id, strlen(f->request_id), GW_C_VCHAR, 1)))
		return -EINVAL;

	put(&o, buf + req->method_tok.off, req->method_tok.len);
	put(&o, " ", 1);
	if (f->target)
		put(&o, f->target, f->target_len);
	else
		put_default_target(&o, req, buf);
	put_str(&o, " HTTP/1.1\r\nHost: ");
	if (f->host)
		put(&o, f->host, f->host_len);
	else
		put(&o, buf + req->authority.off, req->authority.len);
	put(&o, "\r\n", 2);

	for (i = 0; i < req->h.nhdr; i++) {
		const struct gw_http_hdr *x = &req->h.hdr[i];

		if (hop_by_hop(x, f->conn) || in_remove(buf, x, f->remove, f->n_remove))
			continue;
		switch (x->id) {
		case GW_HDR_HOST:
		case GW_HDR_CONTENT_LENGTH:
		case GW_HDR_TRANSFER_ENCODING:
			continue; /* written apart */
		case GW_HDR_EXPECT:
			if (req->h.minor == 0)
				continue; /* meaningless in 1.0, not in the 1.1 we send */
			break;
		case GW_HDR_X_FORWARDED_FOR:
			if (f->client_addr)
				continue;
			break;
		case GW_HDR_X_FORWARDED_PROTO:
			if (f->proto)
				continue;
			break;
		case GW_HDR_X_REQUEST_ID:
			if (new_rid)
				continue;
			break;
		case GW_HDR_TRACEPARENT:
		case GW_HDR_TRACESTATE:
			if (new_tp)
				continue;
			break;
		}
		put_hdr(&o, buf, x);
	}
	put_framing(&o, &req->h);
	if (f->client_addr)
		put_xff(&o, req, buf, f);
	if (f->proto)
		put_field(&o, "X-Forwarded-Proto", 17, f->proto, strlen(f->proto));
	if (new_rid)
		put_field(&o, "X-Request-Id", 12, f->request_id, strlen(f->request_id));
	if (new_tp) {
		gw_http_traceparent_format(trace, f->trace_rand, f->trace_flags);
		put_field(&o, "traceparent", 11, trace, 55);
	}
	return put_tail(&o, f->add, f->n_add, f->conn);
}

/* ---- response heads ---------------------------------------------------------------- */

/* "HTTP/1.1 <code> <reason>\r\n" */
static void put_status(struct obuf *o, int code, const char *reason, size_t rlen)
{
	put_str(o, "HTTP/1.1 ");
	put_u64(o, (uint64_t)code);
	put(o, " ", 1);
	put(o, reason, rlen);
	put(o, "\r\n", 2);
}

int gw_http_resp_build(const struct gw_http_resp *resp, const char *buf,
		       const struct gw_http_rfwd *f, char *out, size_t cap)
{
	struct obuf o = {.p = out, .cap = cap};
	const char *reason = gw_http_reason(resp->code);
	int i;

	if (resp->reason_phrase.len)
		put_status(&o, resp->code, buf + resp->reason_phrase.off, resp->reason_phrase.len);
	else
		put_status(&o, resp->code, reason, strlen(reason));
	for (i = 0; i < resp->h.nhdr; i++) {
		const struct gw_http_hdr *x = &resp->h.hdr[i];

		if (hop_by_hop(x, f->conn) || in_remove(buf, x, f->remove, f->n_remove) ||
		    x->id == GW_HDR_CONTENT_LENGTH || x->id == GW_HDR_TRANSFER_ENCODING)
			continue;
		put_hdr(&o, buf, x);
	}
	/* 1xx and 204 carry no framing fields (RFC 9110 8.6, RFC 9112 6.1) */
	if (resp->code >= 200 && resp->code != 204)
		put_framing(&o, &resp->h);
	return put_tail(&o, f->add, f->n_add, f->conn);
}

int gw_http_format_response(char *out, size_t cap, int code, const struct gw_http_kv *extra,
			    size_t n_extra, const char *ctype, const char *body, size_t body_len,
			    bool close)
{
	struct obuf o = {.p = out, .cap = cap};
	const char *reason = gw_http_reason(code);
	bool no_body = code < 200 || code == 204 || code == 304;
	int err;

	if (code < 100 || code > 599 || (no_body && body_len) ||
	    (ctype && !all_in(ctype, strlen(ctype), GW_C_VALUE, 1)))
		return -EINVAL;
	put_status(&o, code, reason, strlen(reason));
	err = put_kvs(&o, extra, n_extra);
	if (err)
		return err;
	if (body_len && ctype)
		put_field(&o, "Content-Type", 12, ctype, strlen(ctype));
	if (!no_body) {
		put_str(&o, "Content-Length: ");
		put_u64(&o, body_len);
		put(&o, "\r\n", 2);
	}
	if (close)
		put_connection(&o, GW_CONN_CLOSE);
	put(&o, "\r\n", 2);
	if (body_len)
		put(&o, body, body_len);
	return obuf_end(&o);
}

/* ---- reason phrases (RFC 9110 15, RFC 6585) ------------------------------------------ */

static const char *const reasons[600] = {
	[100] = "Continue",
	[101] = "Switching Protocols",
	[200] = "OK",
	[201] = "Created",
	[202] = "Accepted",
	[203] = "Non-Authoritative Information",
	[204] = "No Content",
	[205] = "Reset Content",
	[206] = "Partial Content",
	[300] = "Multiple Choices",
	[301] = "Moved Permanently",
	[302] = "Found",
	[303] = "See Other",
	[304] = "Not Modified",
	[307] = "Temporary Redirect",
	[308] = "Permanent Redirect",
	[400] = "Bad Request",
	[401] = "Unauthorized",
	[402] = "Payment Required",
	[403] = "Forbidden",
	[404] = "Not Found",
	[405] = "Method Not Allowed",
	[406] = "Not Acceptable",
	[407] = "Proxy Authentication Required",
	[408] = "Request Timeout",
	[409] = "Conflict",
	[410] = "Gone",
	[411] = "Length Required",
	[412] = "Precondition Failed",
	[413] = "Content Too Large",
	[414] = "URI Too Long",
	[415] = "Unsupported Media Type",
	[416] = "Range Not Satisfiable",
	[417] = "Expectation Failed",
	[421] = "Misdirected Request",
	[422] = "Unprocessable Content",
	[425] = "Too Early",
	[426] = "Upgrade Required",
	[428] = "Precondition Required",
	[429] = "Too Many Requests",
	[431] = "Request Header Fields Too Large",
	[451] = "Unavailable For Legal Reasons",
	[500] = "Internal Server Error",
	[501] = "Not Implemented",
	[502] = "Bad Gateway",
	[503] = "Service Unavailable",
	[504] = "Gateway Timeout",
	[505] = "HTTP Version Not Supported",
	[507] = "Insufficient Storage",
	[511] = "Network Authentication Required",
};

const char *gw_http_reason(int code)
{
	if (code < 0 || code >= (int)(sizeof(reasons) / sizeof(reasons[0])) || !reasons[code])
		return "";
	return reasons[code];
}
