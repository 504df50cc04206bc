/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a route's rules do to a request and its answer, for proxy.c: the
 * client address rule (ip_allow/ip_deny), CORS preflights and CORS fields,
 * respond headers (templates), the rewritten upstream target and the
 * response_headers. The state machine calls these at its hook points and
 * keeps no rule logic of its own.
 */
#ifndef GW_PROXY_RULES_H
#define GW_PROXY_RULES_H

#include "proxy/compress.h"
#include "proxy/proxy.h"

/* What the access step decided (gw_proxy_access()). */
enum gw_access {
	GW_ACCESS_PASS,		/* go on */
	GW_ACCESS_IP_DENIED,	/* answer 403, reason ip_denied */
	GW_ACCESS_PREFLIGHT,	/* answer rep (204 or 403), reason cors_preflight */
	GW_ACCESS_NO_ROUTE,	/* an OPTIONS the route took for CORS only: 404 */
};

/*
 * The access step of a request that matched route r, from client ip, its
 * head req parsed from buf: the address rule, then CORS. *cors_origin gets
 * the allowed origin's index (or GW_CORS_NONE) for the answer's fields;
 * a preflight's answer goes to s->rep. Returns GW_ACCESS_*.
 */
int gw_proxy_access(const struct gw_route *r, const struct gw_ip *ip,
		    const struct gw_http_req *req, const char *buf, struct gw_proxy_scratch *s,
		    int *cors_origin);

/*
 * A respond route's answer into s->rep: status, body and its headers
 * expanded for the request (tls: the listener's; s->host and s->norm as
 * normalized; the expansions go to s->target). Returns 0, or -ENOSPC /
 * -EINVAL when a header cannot be expanded (answer 500 then).
 */
int gw_proxy_respond(const struct gw_route *r, int tls, int host_len,
		     struct gw_proxy_scratch *s);

/* The upstream target of route r for s->norm into s->target: strip_prefix
 * or rewrite applied. Returns its length, -ENOSPC (414) or -EINVAL (500). */
int gw_proxy_target(const struct gw_route *r, struct gw_proxy_scratch *s);

/* The fields the client's answer adds and drops on route r (its
 * response_headers, and CORS with cors_origin), in f; the arrays are s's. */
void gw_proxy_resp_fields(const struct gw_route *r, int cors_origin, struct gw_proxy_scratch *s,
			  struct gw_http_rfwd *f);

/* The most fields gw_proxy_answer_fields() writes. */
#define GW_PROXY_ANSWER_FIELDS 6

/* The CORS fields of gw's own answer (auth, limits, 413 ...) on route r to
 * a request from cors_origin, into out[GW_PROXY_ANSWER_FIELDS], so a
 * browser can read the refusal. Returns their number (0 without cors). */
size_t gw_proxy_answer_fields(const struct gw_route *r, int cors_origin, struct gw_http_kv *out);

/* The codings (GW_ENC_* of l7/encoding.h) the request (req parsed from
 * buf) accepts, when route r compresses; else 0. Returns them. */
unsigned int gw_proxy_accepts(const struct gw_route *r, const struct gw_http_req *req,
			      const char *buf);

/* The most answers one worker compresses at once; more go as they are. */
#define GW_Z_STREAMS_MAX 256

/*
 * Whether upstream answer resp (parsed from buf) to a request that accepts
 * the codings `accept` is compressed on route r (l7/encoding.h has the
 * conditions; br when accepted and allowed, else gzip; minor: the client's
 * HTTP/1.x, head: a HEAD request). When it is: *z gets a new
 * stream (counted in w->zstreams), f gets Content-Encoding, Vary and
 * Transfer-Encoding: chunked, and a strong ETag turns weak (f's arrays are
 * w's scratch's, as gw_proxy_resp_fields() left them). Returns 1 or 0.
 */
int gw_proxy_compress(const struct gw_route *r, const struct gw_http_resp *resp,
		      const char *buf, int minor, int head, unsigned int accept,
		      struct gw_proxy_worker *w, struct gw_http_rfwd *f, struct gw_zstream **z);

/* Ends a compression stream of worker w (NULL: none). */
void gw_proxy_compress_end(struct gw_proxy_worker *w, struct gw_zstream **z);

#endif /* GW_PROXY_RULES_H */
