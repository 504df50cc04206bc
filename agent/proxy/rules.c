// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A route's rules at the proxy's hook points (rules.h).
 */
#include <errno.h>
#include <string.h>

#include "core/tmpl.h"
#include "l7/cors.h"
#include "l7/encoding.h"
#include "l7/iprule.h"
#include "l7/rewrite.h"
#include "proxy/rules.h"

_Static_assert(GW_CORS_FIELDS <= GW_L7_MAX_ADD && GW_CORS_FIELDS <= GW_L7_REPLY_EXTRA,
	       "CORS fields fit the scratch's and a reply's arrays");
_Static_assert(GW_CORS_STRIP <= GW_L7_MAX_ADD, "CORS removals fit the scratch's array");
_Static_assert(GW_CORS_FIELDS + 4 <= GW_L7_MAX_ADD && GW_CORS_STRIP + 1 <= GW_L7_MAX_ADD,
	       "CORS and compression fields (ETag among them) fit");
_Static_assert(GW_Z_IN >= GW_L7_BUF, "a feed takes what a buffer holds");
_Static_assert(GW_CFG_RESPOND_HEADERS_MAX <= GW_L7_REPLY_EXTRA,
	       "respond headers fit a reply's fields");

/* A field of req (parsed from buf) named name: its value and length, or
 * NULL when absent. */
static const char *field(const struct gw_http_req *req, const char *buf, const char *name,
			 size_t *len)
{
	int k = gw_http_find(&req->h, buf, name, strlen(name), 0);

	if (k < 0)
		return NULL;
	*len = req->h.hdr[k].value_len;
	return buf + req->h.hdr[k].value;
}

/* CORS of a request on route r: a preflight answered, or the origin kept
 * for the answer. Returns GW_ACCESS_*. */
static int cors(const struct gw_route *r, const struct gw_http_req *req, const char *buf,
		struct gw_proxy_scratch *s, int *cors_origin)
{
	size_t olen = 0, mlen = 0, hlen = 0, n = 0;
	const char *o = field(req, buf, "origin", &olen);
	const char *m = field(req, buf, "access-control-request-method", &mlen);
	const char *h = field(req, buf, "access-control-request-headers", &hlen);
	int opt = req->method == GW_METHOD_OPTIONS;

	*cors_origin = gw_cors_origin(r->cors, o, olen);
	if (!gw_cors_is_preflight(opt, !!o, !!m))
		return opt && r->cors_options ? GW_ACCESS_NO_ROUTE : GW_ACCESS_PASS;
	memset(&s->rep, 0, offsetof(struct gw_l7_reply, buf));
	s->rep.status = gw_cors_preflight(r->cors, *cors_origin, m, mlen, h, hlen, s->rep.extra,
					  &n) < 0 ? 403 : 204;
	s->rep.n_extra = n;
	s->rep.body = s->rep.status == 204 ? "" : NULL;
	return GW_ACCESS_PREFLIGHT;
}

int gw_proxy_access(const struct gw_route *r, const struct gw_ip *ip,
		    const struct gw_http_req *req, const char *buf, struct gw_proxy_scratch *s,
		    int *cors_origin)
{
	*cors_origin = GW_CORS_NONE;
	if (!gw_iprule_allows(r->ip, ip))
		return GW_ACCESS_IP_DENIED;
	return r->cors ? cors(r, req, buf, s, cors_origin) : GW_ACCESS_PASS;
}

_Static_assert(GW_PROXY_ANSWER_FIELDS == GW_CORS_FIELDS, "the answer's room for CORS");

size_t gw_proxy_answer_fields(const struct gw_route *r, int cors_origin, struct gw_http_kv *out)
{
	return r->cors ? gw_cors_fields(r->cors, cors_origin, out) : 0;
}

int gw_proxy_respond(const struct gw_route *r, int tls, int host_len,
		     struct gw_proxy_scratch *s)
{
	const char *q = memchr(s->norm, '?', s->norm_len);
	struct gw_tmpl_vars v = {
		.scheme = tls ? "https" : "http",
		.scheme_len = tls ? 5 : 4,
		.host = s->host,
		.host_len = host_len > 0 ? (size_t)host_len : 0,
		.path = s->norm,
		.path_len = q ? (size_t)(q - s->norm) : s->norm_len,
		.query = q ? q + 1 : NULL,
		.query_len = q ? s->norm_len - (size_t)(q - s->norm) - 1 : 0,
	};
	size_t i, used = 0;
	int n;

	memset(&s->rep, 0, offsetof(struct gw_l7_reply, buf));
	s->rep.status = r->respond_status ? (int)r->respond_status : 502;
	s->rep.body = r->respond_body ? r->respond_body : "";
	s->rep.body_len = r->respond_body ? strlen(r->respond_body) : 0;
	for (i = 0; i < r->n_respond_headers && i < GW_L7_REPLY_EXTRA; i++) {
		n = gw_tmpl_expand(r->respond_headers[i].value, &v, s->target + used,
				   sizeof(s->target) - used);
		if (n < 0)
			return n;
		s->rep.extra[i].name = r->respond_headers[i].name;
		s->rep.extra[i].value = s->target + used;
		used += (size_t)n + 1;
	}
	s->rep.n_extra = i;
	return 0;
}

int gw_proxy_target(const struct gw_route *r, struct gw_proxy_scratch *s)
{
	if (r->rewrite)
		return gw_rewrite_apply(r->rewrite, s->norm, s->norm_len, s->target,
					sizeof(s->target));
	return gw_route_upstream_path(r, s->norm, s->norm_len, s->target, sizeof(s->target));
}

void gw_proxy_resp_fields(const struct gw_route *r, int cors_origin, struct gw_proxy_scratch *s,
			  struct gw_http_rfwd *f)
{
	size_t i, na = 0, nr = 0;

	for (i = 0; i < r->n_resp_add && i < GW_CFG_ROUTE_HEADERS_MAX; i++)
		s->add[na++] = r->resp_add[i];
	for (i = 0; i < r->n_resp_remove && i < GW_CFG_ROUTE_HEADERS_MAX; i++)
		s->remove[nr++] = r->resp_remove[i];
	if (r->cors) {
		na += gw_cors_fields(r->cors, cors_origin, s->add + na);
		for (i = 0; i < GW_CORS_STRIP; i++)
			s->remove[nr++] = gw_cors_strip[i];
	}
	f->add = s->add;
	f->n_add = na;
	f->remove = s->remove;
	f->n_remove = nr;
}

unsigned int gw_proxy_accepts(const struct gw_route *r, const struct gw_http_req *req,
			      const char *buf)
{
	size_t len = 0;
	const char *v;

	if (!r->zrule)
		return 0;
	v = field(req, buf, "accept-encoding", &len);
	return gw_accepts(v, len) & (r->zrule->brotli ? GW_ENC_GZIP | GW_ENC_BR : GW_ENC_GZIP);
}

/* A field of a response head (parsed from buf): its value, or NULL. */
static const char *resp_field(const struct gw_http_resp *resp, const char *buf,
			      const char *name, size_t *len)
{
	int k = gw_http_find(&resp->h, buf, name, strlen(name), 0);

	if (k < 0)
		return NULL;
	*len = resp->h.hdr[k].value_len;
	return buf + resp->h.hdr[k].value;
}

/* Whether answer resp is one route rule z compresses. Returns 1 or 0. */
static int compressible(const struct gw_zrule *z, const struct gw_http_resp *resp,
			const char *buf)
{
	size_t len = 0;
	const char *v;

	if (resp->code < 200 || resp->code > 299 || resp->code == 204 || resp->code == 206 ||
	    resp->h.body == GW_BODY_NONE || (resp->h.body == GW_BODY_CHUNKED && resp->h.nte != 1))
		return 0;
	if (resp->h.body == GW_BODY_LENGTH && resp->h.content_length < (z->min_size ?: 1))
		return 0;
	if (resp_field(resp, buf, "content-encoding", &len) ||
	    resp_field(resp, buf, "content-range", &len))
		return 0;
	v = resp_field(resp, buf, "cache-control", &len);
	if (v && gw_no_transform(v, len))
		return 0;
	v = resp_field(resp, buf, "content-type", &len);
	return gw_zrule_type(z, v, len);
}

/* A strong ETag becomes weak on a compressed answer (its bytes are not
 * the origin's): dropped and added again with "W/" (the value is kept in
 * s->target, free while an answer head is built). */
static void weak_etag(const struct gw_http_resp *resp, const char *buf,
		      struct gw_proxy_scratch *s, struct gw_http_rfwd *f)
{
	size_t len = 0;
	const char *v = resp_field(resp, buf, "etag", &len);

	if (!v || (len >= 2 && v[0] == 'W' && v[1] == '/') || len + 3 > sizeof(s->target))
		return;
	memcpy(s->target, "W/", 2);
	memcpy(s->target + 2, v, len);
	s->target[len + 2] = '\0';
	s->remove[f->n_remove++] = "etag";
	f->remove = s->remove;
	s->add[f->n_add].name = "ETag";
	s->add[f->n_add++].value = s->target;
}

int gw_proxy_compress(const struct gw_route *r, const struct gw_http_resp *resp,
		      const char *buf, int minor, int head, unsigned int accept,
		      struct gw_proxy_worker *w, struct gw_http_rfwd *f, struct gw_zstream **z)
{
	struct gw_http_kv *add = (struct gw_http_kv *)f->add;
	int br = !!(accept & GW_ENC_BR);

	*z = NULL;
	if (!r->zrule || !accept || head || minor < 1 || w->zstreams >= GW_Z_STREAMS_MAX ||
	    !compressible(r->zrule, resp, buf))
		return 0;
	*z = gw_zstream_new(&w->zpool, br, r->zrule->level,
			    resp->h.body == GW_BODY_LENGTH ? (size_t)resp->h.content_length : 0);
	if (!*z)
		return 0;
	w->zstreams++;
	add[f->n_add].name = "Content-Encoding";
	add[f->n_add++].value = br ? "br" : "gzip";
	add[f->n_add].name = "Vary";
	add[f->n_add++].value = "Accept-Encoding";
	add[f->n_add].name = "Transfer-Encoding";
	add[f->n_add++].value = "chunked";
	weak_etag(resp, buf, &w->scratch, f);
	return 1;
}

void gw_proxy_compress_end(struct gw_proxy_worker *w, struct gw_zstream **z)
{
	if (!*z)
		return;
	gw_zstream_free(&w->zpool, *z);
	*z = NULL;
	w->zstreams--;
}
