// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP/2 on client connections (h2.h, docs/http2.md).
 *
 * nghttp2 runs as a server session fed from the connection's input buffer
 * (nghttp2_session_mem_recv) and drained into an output buffer
 * (nghttp2_session_mem_send) that goes to the socket. Its HTTP messaging
 * checks stay on: RFC 9113 8.2 field validation, pseudo-header rules and
 * content-length against DATA reset the offending stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nghttp2/nghttp2.h>

#include "core/log.h"
#include "http/http1.h"
#include "proxy/h2.h"
#include "proxy/proxy.h"

#define H2_OBUF 16384
#define H2_DRIVE_STEPS 64
#define H2_SEC 1000000000ull

enum { RS_HEAD, RS_BODY };

/* A growing byte string with a bound. */
struct sbuf {
	char *p;
	size_t len, cap;
};

struct gw_h2_stream {
	struct gw_h2 *h;
	__s32 id;
	struct gw_cli *cli;		/* the stream connection; NULL before the head
					 * and after it closed */
	struct gw_h2_stream *next, **pprev;
	unsigned int head_done : 1, rq_end : 1, chunked : 1, final_sent : 1;
	unsigned int has_cl : 1, head_req : 1, nobody : 1, rs_eof : 1, aborting : 1;
	unsigned int kick : 1, reset : 1, grpc : 1, rs_chunked : 1;
	size_t hsize;			/* header list size so far (RFC 9113 6.5.2) */
	char *method, *path, *authority, *host;
	struct sbuf fields;		/* "name: value\r\n" lines */
	struct sbuf cookie;		/* cookie crumbs joined with "; " */
	struct sbuf head;		/* the HTTP/1.1 head for the stream connection */
	size_t head_off;
	char *rq;			/* request body bytes not taken yet */
	size_t rq_cap, rq_off, rq_len;
	int rs_state;
	struct gw_http_resp resp;
	struct gw_http_hdr rsh[GW_L7_MAX_HDRS];
	char rs[GW_H2_RS_BUF];		/* response body bytes for DATA frames */
	size_t rs_off, rs_len;
	struct gw_chunk rs_ch;		/* a chunked answer, de-chunked here */
	struct sbuf tail;		/* its framing after the last payload byte */
	struct sbuf trl;		/* its trailer lines, for a trailing HEADERS */
};

struct gw_h2 {
	struct gw_cli *c;
	struct gw_loop *loop;
	struct gw_l7_cto to;
	struct gw_l7_lstats *st;
	nghttp2_session *s;
	struct gw_h2_stream *streams;
	unsigned int n_open;		/* streams whose request head is complete */
	__u64 n_streams;		/* streams the client opened */
	__u64 idle_since;
	unsigned int sched : 1, dead : 1, fatal : 1, goaway : 1;
	/* abuse counts in the current one-second window */
	__u64 win_start;
	unsigned int n_rst, n_ping, n_settings, n_empty;
	/* output */
	const __u8 *pend;		/* from nghttp2, not copied yet */
	size_t pend_len;
	size_t olen, ooff;
	char obuf[H2_OBUF];
	char scratch[GW_L7_HEAD_BUF];	/* lower-cased response field names */
};

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

int gw_h2_preface(const char *p, size_t len)
{
	size_t n = sizeof(preface) - 1;

	if (memcmp(p, preface, len < n ? len : n))
		return -1;
	return len >= n ? 1 : 0;
}

/* Appends len bytes to b, up to max bytes in all. Returns 0, -E2BIG or
 * -ENOMEM. */
static int sbuf_add(struct sbuf *b, const void *p, size_t len, size_t max)
{
	size_t cap;
	char *n;

	if (!len)
		return 0;
	if (b->len + len > max)
		return -E2BIG;
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (!n)
			return -ENOMEM;
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

static void sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- scheduling ------------------------------------------------------------------ */

static void h2_sched_cb(void *arg)
{
	struct gw_h2 *h = arg;

	h->sched = 0;
	if (h->dead) {
		free(h);
		return;
	}
	gw_cli_h2_kick(h->c, 0, 0);
}

/* The connection has something to send (frames queued by a stream): it is
 * driven after the loop's batch. */
static void h2_schedule(struct gw_h2 *h)
{
	if (h->sched || h->dead)
		return;
	if (!gw_loop_defer(h->loop, h2_sched_cb, h))
		h->sched = 1;
}

/* ---- abuse --------------------------------------------------------------------- */

/* Ends the connection for abuse: GOAWAY ENHANCE_YOUR_CALM, counted. */
static void h2_calm(struct gw_h2 *h, const char *why)
{
	if (h->goaway)
		return;
	h->goaway = 1;
	pr_info("l7: HTTP/2 client %s: %s: GOAWAY ENHANCE_YOUR_CALM\n",
		gw_cli_h2_peer(h->c), why);
	if (h->st)
		__atomic_fetch_add(&h->st->h2_calm, 1, __ATOMIC_RELAXED);
	nghttp2_session_terminate_session(h->s, NGHTTP2_ENHANCE_YOUR_CALM);
}

/* Counts a frame of a kind with a per-second limit. Returns 1 when over. */
static int h2_count(struct gw_h2 *h, unsigned int *n, unsigned int max)
{
	__u64 now = gw_loop_now(h->loop);

	if (now - h->win_start >= H2_SEC) {
		h->win_start = now;
		h->n_rst = h->n_ping = h->n_settings = h->n_empty = 0;
	}
	return ++*n > max;
}

/* ---- requests --------------------------------------------------------------------- */

static struct gw_h2_stream *stream_of(struct gw_h2 *h, __s32 id)
{
	return nghttp2_session_get_stream_user_data(h->s, id);
}

static void stream_free(struct gw_h2_stream *st)
{
	*st->pprev = st->next;
	if (st->next)
		st->next->pprev = st->pprev;
	free(st->method);
	free(st->path);
	free(st->authority);
	free(st->host);
	sbuf_free(&st->fields);
	sbuf_free(&st->cookie);
	sbuf_free(&st->head);
	sbuf_free(&st->tail);
	sbuf_free(&st->trl);
	free(st->rq);
	free(st);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct gw_h2 *h = arg;
	struct gw_h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st->h = h;
	st->id = f->hd.stream_id;
	st->next = h->streams;
	if (st->next)
		st->next->pprev = &st->next;
	st->pprev = &h->streams;
	h->streams = st;
	nghttp2_session_set_stream_user_data(s, st->id, st);
	if (++h->n_streams == GW_H2_MAX_STREAMS_PER_CONN && !h->goaway) {
		/* enough for one connection: the client goes on with a new one */
		h->goaway = 1;
		nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR, NULL, 0);
	}
	return 0;
}

/* Keeps a pseudo-header's value. Returns 0 or a callback error. */
static int keep_pseudo(char **dst, const __u8 *v, size_t vl)
{
	if (*dst)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;	/* nghttp2 refuses twice */
	*dst = strndup((const char *)v, vl);
	return *dst ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const __u8 *name, size_t nl,
		     const __u8 *value, size_t vl, __u8 flags, void *arg)
{
	struct gw_h2 *h = arg;
	struct gw_h2_stream *st = stream_of(h, f->hd.stream_id);
	size_t max = h->to.h2_header_list;

	(void)s;
	(void)flags;
	if (!st || st->head_done)
		return 0;	/* trailers of a request: not passed */
	st->hsize += nl + vl + 32;
	if (st->hsize > max)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (nl && name[0] == ':') {
		if (nl == 7 && !memcmp(name, ":method", 7))
			return keep_pseudo(&st->method, value, vl);
		if (nl == 5 && !memcmp(name, ":path", 5))
			return keep_pseudo(&st->path, value, vl);
		if (nl == 10 && !memcmp(name, ":authority", 10))
			return keep_pseudo(&st->authority, value, vl);
		return 0;	/* :scheme: the listener says it */
	}
	if (nl == 4 && !memcmp(name, "host", 4))
		return st->host ? 0 : keep_pseudo(&st->host, value, vl);
	if (nl == 6 && !memcmp(name, "cookie", 6)) {
		/* RFC 9113 8.2.3: one field for HTTP/1.1 */
		if ((st->cookie.len && sbuf_add(&st->cookie, "; ", 2, max)) ||
		    sbuf_add(&st->cookie, value, vl, max))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return 0;
	}
	if (nl == 14 && !memcmp(name, "content-length", 14))
		st->has_cl = 1;
	if (nl == 12 && !memcmp(name, "content-type", 12) && vl >= 16 &&
	    !memcmp(value, "application/grpc", 16))
		st->grpc = 1;
	if (sbuf_add(&st->fields, name, nl, max + 4096) ||
	    sbuf_add(&st->fields, ": ", 2, max + 4096) ||
	    sbuf_add(&st->fields, value, vl, max + 4096) ||
	    sbuf_add(&st->fields, "\r\n", 2, max + 4096))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/* The stream's request head as HTTP/1.1 (st->head). Returns 0 or -ENOMEM
 * (-E2BIG). */
static int build_head(struct gw_h2_stream *st, int end_stream)
{
	const char *host = st->authority ? st->authority : st->host;
	const char *target = st->path ? st->path : (host ? host : "/");
	struct sbuf *b = &st->head;
	size_t max = (size_t)st->h->to.h2_header_list + 8192;
	int err = 0;

	st->head_req = st->method && !strcmp(st->method, "HEAD");
	st->chunked = !end_stream && !st->has_cl;
	err |= sbuf_add(b, st->method ? st->method : "GET", strlen(st->method ? st->method : "GET"),
			max);
	err |= sbuf_add(b, " ", 1, max);
	err |= sbuf_add(b, target, strlen(target), max);
	err |= sbuf_add(b, " HTTP/1.1\r\n", 11, max);
	if (host) {
		err |= sbuf_add(b, "host: ", 6, max);
		err |= sbuf_add(b, host, strlen(host), max);
		err |= sbuf_add(b, "\r\n", 2, max);
	}
	if (st->fields.len)
		err |= sbuf_add(b, st->fields.p, st->fields.len, max);
	if (st->cookie.len) {
		err |= sbuf_add(b, "cookie: ", 8, max);
		err |= sbuf_add(b, st->cookie.p, st->cookie.len, max);
		err |= sbuf_add(b, "\r\n", 2, max);
	}
	if (st->chunked)
		err |= sbuf_add(b, "transfer-encoding: chunked\r\n", 28, max);
	err |= sbuf_add(b, "\r\n", 2, max);
	sbuf_free(&st->fields);
	sbuf_free(&st->cookie);
	return err ? -ENOMEM : 0;
}

/* The head is complete: the stream connection starts. */
static void stream_start(struct gw_h2 *h, struct gw_h2_stream *st, int end_stream)
{
	st->head_done = 1;
	st->rq_end = end_stream;
	h->n_open++;	/* a head that never completes keeps the idle clock */
	h->idle_since = 0;
	if (build_head(st, end_stream)) {
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	st->cli = gw_cli_stream_new(h->c, st);
	if (!st->cli) {
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
		return;
	}
	st->kick = 1;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct gw_h2 *h = arg;
	struct gw_h2_stream *st = f->hd.stream_id ? stream_of(h, f->hd.stream_id) : NULL;
	int end = !!(f->hd.flags & NGHTTP2_FLAG_END_STREAM);

	(void)s;
	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		if (st && !st->head_done && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
			stream_start(h, st, end);
			return 0;
		}
		break;
	case NGHTTP2_DATA:
		if (!f->hd.length && !end &&
		    h2_count(h, &h->n_empty, GW_H2_MAX_EMPTY_DATA_PER_S))
			h2_calm(h, "empty DATA flood");
		break;
	case NGHTTP2_PING:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK) &&
		    h2_count(h, &h->n_ping, GW_H2_MAX_PING_PER_S))
			h2_calm(h, "PING flood");
		return 0;
	case NGHTTP2_SETTINGS:
		if (!(f->hd.flags & NGHTTP2_FLAG_ACK) &&
		    h2_count(h, &h->n_settings, GW_H2_MAX_SETTINGS_PER_S))
			h2_calm(h, "SETTINGS flood");
		return 0;
	case NGHTTP2_RST_STREAM:
		if (h2_count(h, &h->n_rst, GW_H2_MAX_RST_PER_S))
			h2_calm(h, "stream resets (Rapid Reset)");
		return 0;
	default:
		return 0;
	}
	if (st && end && st->head_done) {
		st->rq_end = 1;
		st->kick = 1;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, __u8 flags, __s32 id, const __u8 *data, size_t len,
			 void *arg)
{
	struct gw_h2 *h = arg;
	struct gw_h2_stream *st = stream_of(h, id);

	(void)flags;
	if (!st || !st->cli) {
		nghttp2_session_consume(s, id, len);	/* nobody takes it */
		return 0;
	}
	if (!st->rq) {
		/* the window bounds what waits (the default one until the
		 * client acknowledged ours) */
		st->rq_cap = h->to.h2_window > 65535 ? h->to.h2_window : 65535;
		st->rq = malloc(st->rq_cap);
		if (!st->rq)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (st->rq_len + len > st->rq_cap) {
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
		return 0;
	}
	if (st->rq_off + st->rq_len + len > st->rq_cap) {
		memmove(st->rq, st->rq + st->rq_off, st->rq_len);
		st->rq_off = 0;
	}
	memcpy(st->rq + st->rq_off + st->rq_len, data, len);
	st->rq_len += len;
	st->kick = 1;
	return 0;
}

/* An answer ended its stream before the request did: RST_STREAM NO_ERROR
 * tells the client to stop sending (RFC 9113 8.1), once the answer's last
 * frame is out (a reset queued earlier would drop the DATA queued behind
 * it). */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct gw_h2 *h = arg;
	struct gw_h2_stream *st;

	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	st = stream_of(h, f->hd.stream_id);
	if (st && !st->rq_end && !st->reset) {
		st->reset = 1;
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
	}
	return 0;
}

static int on_stream_close(nghttp2_session *s, __s32 id, __u32 code, void *arg)
{
	struct gw_h2 *h = arg;
	struct gw_h2_stream *st = stream_of(h, id);

	(void)s;
	(void)code;
	if (!st)
		return 0;
	if (st->cli) {
		st->aborting = 1;
		gw_cli_stream_abort(st->cli);
	}
	if (st->head_done && h->n_open && !--h->n_open)
		h->idle_since = gw_loop_now(h->loop);
	stream_free(st);
	return 0;
}

ssize_t gw_h2_stream_recv(struct gw_h2_stream *st, char *buf, size_t room)
{
	struct gw_h2 *h = st->h;
	size_t n;
	int k;

	if (st->head_off < st->head.len) {
		n = st->head.len - st->head_off;
		n = n < room ? n : room;
		memcpy(buf, st->head.p + st->head_off, n);
		st->head_off += n;
		if (st->head_off == st->head.len)
			sbuf_free(&st->head);
		return n ? (ssize_t)n : -ENOSPC;
	}
	st->head_off = st->head.len = 0;
	if (st->rq_len) {
		size_t frame = st->chunked ? 20 : 0;	/* "%zx\r\n" ... "\r\n" */

		if (room <= frame)
			return -ENOSPC;
		n = st->rq_len < room - frame ? st->rq_len : room - frame;
		k = st->chunked ? snprintf(buf, room, "%zx\r\n", n) : 0;
		memcpy(buf + k, st->rq + st->rq_off, n);
		if (st->chunked)
			memcpy(buf + k + n, "\r\n", 2);
		st->rq_off += n;
		st->rq_len -= n;
		if (!st->rq_len)
			st->rq_off = 0;
		nghttp2_session_consume(h->s, st->id, n);
		h2_schedule(h);		/* the WINDOW_UPDATE */
		return (ssize_t)(k + n + (st->chunked ? 2 : 0));
	}
	if (!st->rq_end)
		return -EAGAIN;
	if (!st->chunked || st->final_sent)
		return 0;
	if (room < 5)
		return -ENOSPC;
	memcpy(buf, "0\r\n\r\n", 5);
	st->final_sent = 1;
	return 5;
}

/* ---- responses ------------------------------------------------------------------- */

/* The trailer fields of a chunked answer (st->trl: "name: value" lines,
 * checked by the proxy's chunk scanner) as a trailing HEADERS frame.
 * Returns 0 or -EIO. */
static int submit_trailers(struct gw_h2_stream *st)
{
	nghttp2_nv nv[32];
	size_t n = 0, i;
	char *p = st->trl.p, *end = st->trl.p + st->trl.len, *eol, *colon, *v;

	for (; p < end && n < 32; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue;
		for (i = 0; p + i < colon; i++)
			p[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] | 0x20) : p[i];
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		nv[n++] = (nghttp2_nv){ (__u8 *)p, (__u8 *)v, (size_t)(colon - p),
					(size_t)(eol - v), NGHTTP2_NV_FLAG_NONE };
	}
	if (!n)
		return -EIO;
	return nghttp2_submit_trailer(st->h->s, st->id, nv, n) ? -EIO : 0;
}

/* The trailer lines in the framing after a chunked answer's last payload
 * byte: after the last-chunk line ("0", maybe with extensions), up to the
 * empty line. Kept in st->trl. */
static void keep_trailers(struct gw_h2_stream *st)
{
	char *p = st->tail.p, *end = st->tail.p + st->tail.len, *eol;
	int in_trailers = 0;

	for (; p && p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			break;
		if (!in_trailers) {
			in_trailers = *p == '0';
			continue;
		}
		if (eol == p || sbuf_add(&st->trl, p, (size_t)(eol + 2 - p), GW_H2_RS_BUF))
			break;
	}
	sbuf_free(&st->tail);
}

static ssize_t rs_read(nghttp2_session *s, __s32 id, __u8 *buf, size_t len, __u32 *flags,
		       nghttp2_data_source *src, void *arg)
{
	struct gw_h2_stream *st = src->ptr;
	size_t n = st->rs_len < len ? st->rs_len : len;

	(void)s;
	(void)id;
	(void)arg;
	if (n) {
		memcpy(buf, st->rs + st->rs_off, n);
		st->rs_off += n;
		st->rs_len -= n;
		if (!st->rs_len)
			st->rs_off = 0;
		st->kick = 1;	/* room for more */
	}
	if (!st->rs_len && st->rs_eof) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->trl.len && !submit_trailers(st))
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	} else if (!n)
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

int gw_h2_conn_specific(const struct gw_http_hdr *f)
{
	switch (f->id) {
	case GW_HDR_CONNECTION:
	case GW_HDR_KEEP_ALIVE:
	case GW_HDR_PROXY_CONNECTION:
	case GW_HDR_TRANSFER_ENCODING:
	case GW_HDR_UPGRADE:
	case GW_HDR_TE:
		return 1;
	default:
		return !!(f->flags & GW_HDR_F_CONN_LISTED);
	}
}

/* The gRPC status for an HTTP status that is not 200 (gRPC's HTTP to
 * gRPC status mapping; 413 and 429 are limits: RESOURCE_EXHAUSTED).
 * Returns it as a string. */
static const char *grpc_status_of(int code)
{
	switch (code) {
	case 400:
		return "13";	/* INTERNAL */
	case 401:
		return "16";	/* UNAUTHENTICATED */
	case 403:
		return "7";	/* PERMISSION_DENIED */
	case 404:
		return "12";	/* UNIMPLEMENTED */
	case 408:
		return "4";	/* DEADLINE_EXCEEDED */
	case 413:
	case 429:
		return "8";	/* RESOURCE_EXHAUSTED */
	case 502:
	case 503:
	case 504:
		return "14";	/* UNAVAILABLE */
	default:
		return "2";	/* UNKNOWN */
	}
}

/* 1 when the response head has a grpc-status field. */
static int has_grpc_status(const struct gw_http_resp *r, const char *head)
{
	size_t i;

	for (i = 0; i < r->h.nhdr; i++)
		if (r->h.hdr[i].name_len == 11 &&
		    !strncasecmp(head + r->h.hdr[i].name, "grpc-status", 11))
			return 1;
	return 0;
}

/* A gRPC request answered with an HTTP error (by gwd itself, or an
 * HTTP/1.1 upstream): a trailers-only gRPC answer, HTTP 200 with
 * grpc-status and grpc-message (the reason phrase). Returns 0 or -EIO. */
static int submit_grpc_error(struct gw_h2_stream *st)
{
	const char *msg = gw_http_reason(st->resp.code);
	const char *gs = grpc_status_of(st->resp.code);
	nghttp2_nv nv[4] = {
		{ (__u8 *)":status", (__u8 *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (__u8 *)"content-type", (__u8 *)"application/grpc", 12, 16,
		  NGHTTP2_NV_FLAG_NONE },
		{ (__u8 *)"grpc-status", (__u8 *)gs, 11, strlen(gs), NGHTTP2_NV_FLAG_NONE },
		{ (__u8 *)"grpc-message", (__u8 *)msg, 12, strlen(msg), NGHTTP2_NV_FLAG_NONE },
	};

	st->nobody = 1;
	return nghttp2_submit_response(st->h->s, st->id, nv, 4, NULL) ? -EIO : 0;
}

/* Submits the parsed response head in `head` as HEADERS. Returns 0 or
 * -EIO. */
static int submit_head(struct gw_h2_stream *st, const char *head)
{
	struct gw_h2 *h = st->h;
	nghttp2_nv nv[GW_L7_MAX_HDRS + 1];
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = rs_read };
	const struct gw_http_resp *r = &st->resp;
	char status[8];
	size_t n = 0, used = 0, i, j;
	int code = r->code;

	if (st->grpc && code != 200 && !has_grpc_status(r, head))
		return submit_grpc_error(st);
	snprintf(status, sizeof(status), "%03d", code);
	nv[n++] = (nghttp2_nv){ (__u8 *)":status", (__u8 *)status, 7, 3, NGHTTP2_NV_FLAG_NONE };
	for (i = 0; i < r->h.nhdr && n < GW_L7_MAX_HDRS + 1; i++) {
		const struct gw_http_hdr *f = &r->h.hdr[i];
		char *lc = h->scratch + used;

		if (gw_h2_conn_specific(f))
			continue;
		if (used + f->name_len > sizeof(h->scratch))
			return -EIO;
		for (j = 0; j < f->name_len; j++) {
			char ch = head[f->name + j];

			lc[j] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
		}
		used += f->name_len;
		nv[n++] = (nghttp2_nv){ (__u8 *)lc, (__u8 *)head + f->value, f->name_len,
					f->value_len, NGHTTP2_NV_FLAG_NONE };
	}
	/* gRPC's trailers-only answer: one HEADERS frame that ends the stream */
	st->nobody = st->head_req || code == 204 || code == 304 ||
		     (st->grpc && has_grpc_status(r, head));
	if (nghttp2_submit_response(h->s, st->id, nv, n, st->nobody ? NULL : &prd))
		return -EIO;
	return 0;
}

/* The stream's response can no longer be carried: reset. */
static void stream_reset(struct gw_h2_stream *st, __u32 code)
{
	if (st->reset)
		return;
	st->reset = 1;
	nghttp2_submit_rst_stream(st->h->s, NGHTTP2_FLAG_NONE, st->id, code);
	h2_schedule(st->h);
}

/* An interim 100 (Continue) for a client that sent Expect: 100-continue:
 * a HEADERS frame of its own; other interim answers are dropped. */
static void submit_continue(struct gw_h2_stream *st)
{
	nghttp2_nv nv = { (__u8 *)":status", (__u8 *)"100", 7, 3, NGHTTP2_NV_FLAG_NONE };

	nghttp2_submit_headers(st->h->s, NGHTTP2_FLAG_NONE, st->id, NULL, &nv, 1, NULL);
}

/* Parses the response heads at the start of a (whole heads: the stream
 * connection writes its head buffer), dropping interim ones, and submits
 * the final one. Returns the head bytes used, or -EIO. */
static ssize_t take_heads(struct gw_h2_stream *st, const char *a, size_t alen)
{
	static const struct gw_http_limits lim = { .max_line = 8000, .max_fields = 16384,
						   .max_headers = GW_L7_MAX_HDRS };
	size_t used = 0;
	int rc;

	while (st->rs_state == RS_HEAD && used < alen) {
		gw_http_resp_init(&st->resp, st->rsh, GW_L7_MAX_HDRS, &lim, st->head_req);
		rc = gw_http_resp_parse(&st->resp, a + used, alen - used);
		if (rc <= 0 || st->resp.switching)
			return -EIO;
		if (!st->resp.interim) {
			if (submit_head(st, a + used))
				return -EIO;
			st->rs_state = RS_BODY;
			st->rs_chunked = st->resp.h.body == GW_BODY_CHUNKED;
			gw_chunk_init(&st->rs_ch, NULL, true);
		} else if (st->resp.code == 100 && !st->grpc) {
			submit_continue(st);
		}
		used += (size_t)rc;
	}
	return (ssize_t)used;
}

/* Room for len more body bytes at the end of the stream's buffer (moving
 * what waits to its start when needed). Returns the room. */
static size_t rs_room(struct gw_h2_stream *st, size_t len)
{
	if (st->rs_off && st->rs_off + st->rs_len + len > sizeof(st->rs)) {
		memmove(st->rs, st->rs + st->rs_off, st->rs_len);
		st->rs_off = 0;
	}
	return sizeof(st->rs) - st->rs_off - st->rs_len;
}

/* De-chunks a chunked answer's bytes into the stream's buffer, keeping the
 * framing after the last payload byte for its trailers. Returns the bytes
 * taken (never more payload than fits), or -EIO. */
static ssize_t take_chunked(struct gw_h2_stream *st, const char *p, size_t len)
{
	struct gw_chunk_res cr;
	size_t taken = 0, room, in;
	int rc;

	while (len && (room = rs_room(st, len))) {
		in = len < room ? len : room;
		rc = gw_chunk_parse(&st->rs_ch, p, in, &cr);
		if (rc < 0 || (!cr.used && rc != GW_CHUNK_DONE))
			return rc < 0 ? -EIO : (ssize_t)taken;
		if (cr.data_len) {
			memcpy(st->rs + st->rs_off + st->rs_len, p + cr.data_off, cr.data_len);
			st->rs_len += cr.data_len;
			st->tail.len = 0;
			in = cr.data_off + cr.data_len;	/* the framing after it */
		} else {
			in = 0;
		}
		if (sbuf_add(&st->tail, p + in, cr.used - in, GW_H2_RS_BUF))
			return -EIO;
		p += cr.used;
		len -= cr.used;
		taken += cr.used;
		if (rc == GW_CHUNK_DONE) {
			keep_trailers(st);
			st->rs_chunked = 0;
			return (ssize_t)(taken + len);	/* nothing follows an answer */
		}
	}
	return (ssize_t)taken;
}

/* Copies body bytes into the stream's buffer. Returns the bytes taken, or
 * -EIO. */
static ssize_t take_body(struct gw_h2_stream *st, const char *p, size_t len)
{
	size_t room, n;

	if (st->nobody || !len)
		return (ssize_t)len;	/* HEAD, 204, 304: no DATA */
	if (st->rs_chunked)
		return take_chunked(st, p, len);
	room = rs_room(st, len);
	n = len < room ? len : room;
	memcpy(st->rs + st->rs_off + st->rs_len, p, n);
	st->rs_len += n;
	return (ssize_t)n;
}

ssize_t gw_h2_stream_send(struct gw_h2_stream *st, const char *a, size_t alen, const char *b,
			  size_t blen)
{
	ssize_t used = 0, n;

	if (st->reset)
		return -EIO;
	if (st->rs_state == RS_HEAD) {
		used = take_heads(st, a, alen);
		if (used < 0) {
			stream_reset(st, NGHTTP2_INTERNAL_ERROR);
			return -EIO;
		}
		a += used;
		alen -= (size_t)used;
		if (st->rs_state == RS_HEAD) {
			h2_schedule(st->h);
			return used;	/* only interim heads */
		}
	}
	n = take_body(st, a, alen);
	if (n >= 0 && (size_t)n == alen) {
		used += n;
		n = take_body(st, b, blen);
	}
	if (n < 0) {
		stream_reset(st, NGHTTP2_INTERNAL_ERROR);
		return -EIO;
	}
	used += n;
	nghttp2_session_resume_data(st->h->s, st->id);
	h2_schedule(st->h);
	return used;
}

void gw_h2_stream_done(struct gw_h2_stream *st, int complete)
{
	st->cli = NULL;
	if (st->aborting)
		return;
	if (complete && st->rs_state == RS_BODY && !st->reset) {
		st->rs_eof = 1;
		nghttp2_session_resume_data(st->h->s, st->id);
		h2_schedule(st->h);
		return;
	}
	stream_reset(st, NGHTTP2_INTERNAL_ERROR);
}

/* ---- the connection --------------------------------------------------------------- */

/* Queued frames to the client. Returns 1 on progress, 0 without, -1 when
 * the connection was closed. */
static int h2_flush(struct gw_h2 *h)
{
	ssize_t n;
	size_t k;
	int p = 0;

	for (;;) {
		while (h->olen < sizeof(h->obuf)) {
			if (!h->pend_len) {
				n = nghttp2_session_mem_send(h->s, &h->pend);
				if (n <= 0) {
					if (n < 0)
						h->fatal = 1;
					break;
				}
				h->pend_len = (size_t)n;
			}
			k = sizeof(h->obuf) - h->olen;
			k = h->pend_len < k ? h->pend_len : k;
			memcpy(h->obuf + h->olen, h->pend, k);
			h->pend += k;
			h->pend_len -= k;
			h->olen += k;
		}
		if (h->ooff == h->olen)
			return p;
		n = gw_cli_h2_write(h->c, h->obuf + h->ooff, h->olen - h->ooff);
		if (n < 0)
			return -1;
		if (!n)
			return p;
		p = 1;
		h->ooff += (size_t)n;
		if (h->ooff < h->olen)
			return p;	/* the socket is full */
		h->ooff = h->olen = 0;
	}
}

/* Drives the stream connections that have news. Returns 1 when one ran. */
static int h2_kicks(struct gw_h2 *h)
{
	struct gw_h2_stream *st;
	int p = 0;

	for (st = h->streams; st; st = st->next) {
		if (!st->kick)
			continue;
		st->kick = 0;
		if (st->cli) {
			gw_cli_h2_kick(st->cli, 1, 1);
			p = 1;
		}
	}
	return p;
}

/* Feeds the client's bytes to nghttp2. Returns 1 on progress, 0 without. */
static int h2_recv(struct gw_h2 *h, const char *p, size_t len)
{
	ssize_t n;

	if (!len)
		return 0;
	if (h->fatal) {
		gw_cli_h2_consume(h->c, len);
		return 0;
	}
	n = nghttp2_session_mem_recv(h->s, (const __u8 *)p, len);
	if (n < 0) {
		pr_debug("l7: HTTP/2 client %s: %s\n", gw_cli_h2_peer(h->c),
			 nghttp2_strerror((int)n));
		if (n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
			h2_calm(h, n == NGHTTP2_ERR_FLOODED ? "frames unread (flood)" :
							      "CONTINUATION flood");
		else if (n != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
			nghttp2_session_terminate_session(h->s, NGHTTP2_PROTOCOL_ERROR);
		h->fatal = 1;
		n = (ssize_t)len;
	}
	gw_cli_h2_consume(h->c, (size_t)n);
	return 1;
}

int gw_h2_drive(struct gw_h2 *h)
{
	const char *p;
	size_t len;
	int guard, eof, r, prog;

	for (guard = 0; guard < H2_DRIVE_STEPS; guard++) {
		r = gw_cli_h2_read(h->c, &p, &len, &eof);
		if (r < 0)
			return -1;
		prog = r | h2_recv(h, p, len);
		prog |= h2_kicks(h);
		r = h2_flush(h);
		if (r < 0)
			return -1;
		prog |= r;
		if (h->ooff == h->olen && !h->pend_len &&
		    (eof || h->fatal ||
		     (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)))) {
			gw_cli_h2_close(h->c);
			return -1;
		}
		if (!prog)
			return 0;
	}
	h2_schedule(h);
	return 0;
}

__u64 gw_h2_idle_since(const struct gw_h2 *h)
{
	return h->n_open ? 0 : h->idle_since;
}

void gw_h2_drain(struct gw_h2 *h)
{
	if (h->goaway)
		return;
	h->goaway = 1;
	nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
			      NGHTTP2_NO_ERROR, NULL, 0);
	h2_schedule(h);
}

void gw_h2_free(struct gw_h2 *h)
{
	struct gw_h2_stream *st;

	h->dead = 1;
	for (st = h->streams; st; st = st->next) {
		if (st->cli) {
			st->aborting = 1;
			gw_cli_stream_abort(st->cli);
		}
	}
	nghttp2_session_del(h->s);
	h->s = NULL;
	while (h->streams)
		stream_free(h->streams);
	if (!h->sched)
		free(h);
}

int gw_h2_session_new(nghttp2_session **out, void *user, int server,
		      const struct gw_h2_callbacks *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	int err;

	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return -ENOMEM;
	}
	if (c->begin_headers)
		nghttp2_session_callbacks_set_on_begin_headers_callback(cb, c->begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, c->header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c->frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c->data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, c->stream_close);
	if (c->frame_send)
		nghttp2_session_callbacks_set_on_frame_send_callback(cb, c->frame_send);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_continuations(opt, GW_H2_MAX_CONTINUATIONS);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
	err = server ? nghttp2_session_server_new2(out, cb, user, opt) :
		       nghttp2_session_client_new2(out, cb, user, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return err ? -ENOMEM : 0;
}

static const struct gw_h2_callbacks server_cbs = {
	.begin_headers = on_begin_headers,
	.header = on_header,
	.frame_recv = on_frame_recv,
	.data_chunk = on_data_chunk,
	.stream_close = on_stream_close,
	.frame_send = on_frame_send,
};

struct gw_h2 *gw_h2_new(struct gw_cli *c, struct gw_loop *loop, const struct gw_l7_cto *to,
			struct gw_l7_lstats *st)
{
	struct gw_h2 *h = calloc(1, sizeof(*h));
	nghttp2_settings_entry set[4];

	if (!h)
		return NULL;
	h->c = c;
	h->loop = loop;
	h->to = *to;
	h->st = st;
	h->idle_since = gw_loop_now(loop);
	h->win_start = h->idle_since;
	if (gw_h2_session_new(&h->s, h, 1, &server_cbs)) {
		free(h);
		return NULL;
	}
	set[0] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, to->h2_streams };
	set[1] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, to->h2_window };
	set[2] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
					   to->h2_header_list };
	set[3] = (nghttp2_settings_entry){ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, to->h2_table };
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, set, 4) ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0,
						  (__s32)to->h2_conn_window)) {
		nghttp2_session_del(h->s);
		free(h);
		return NULL;
	}
	if (st)
		__atomic_fetch_add(&st->h2_conns, 1, __ATOMIC_RELAXED);
	return h;
}
