// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP/2 with prior knowledge to upstream servers (h2up.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <nghttp2/nghttp2.h>

#include "core/log.h"
#include "http/http1.h"
#include "proxy/h2.h"
#include "proxy/h2up.h"
#include "proxy/proxy.h"

#define UP_OUT_MAX (1u << 20)	/* response bytes waiting for the proxy */

struct h2up {
	struct gw_loop *loop;
	int sp, tcp;
	struct gw_io sp_io, tcp_io;
	nghttp2_session *s;
	unsigned int connected : 1, dead : 1, sp_wr : 1, tcp_wr : 1, sp_rd : 1, tcp_rd : 1;
	/* the request from the proxy */
	char in[GW_L7_BUF];
	size_t in_len;
	__s32 sid;			/* the stream; 0: between requests */
	int body;			/* GW_BODY_* of the request */
	__u64 left;			/* GW_BODY_LENGTH: bytes to come */
	struct gw_chunk ch;
	unsigned int rq_done : 1, head_req : 1, head_out : 1, ended : 1, nobody : 1;
	int status;
	struct gw_http_req req;
	struct gw_http_hdr hdr[GW_L7_MAX_HDRS];
	char lc[GW_L7_BUF];		/* lower-cased field names */
	/* the response to the proxy */
	char *out;
	size_t out_len, out_off, out_cap;
	size_t unacked;			/* DATA bytes not given back to the window */
	char *fields;			/* response or trailer fields, as lines */
	size_t fields_len, fields_cap;
	/* to the server */
	const __u8 *pend;
	size_t pend_len;
};

/* Appends len bytes to a growing buffer. Returns 0 or -ENOMEM. */
static int grow_add(char **p, size_t *len, size_t *cap, const void *d, size_t n)
{
	size_t c = *cap ? *cap : 1024;
	char *q;

	if (!n)
		return 0;
	while (c < *len + n)
		c *= 2;
	if (c != *cap) {
		q = realloc(*p, c);
		if (!q)
			return -ENOMEM;
		*p = q;
		*cap = c;
	}
	memcpy(*p + *len, d, n);
	*len += n;
	return 0;
}

static int out_add(struct h2up *u, const void *d, size_t n)
{
	return grow_add(&u->out, &u->out_len, &u->out_cap, d, n);
}

static void h2up_free(void *arg)
{
	struct h2up *u = arg;

	free(u->out);
	free(u->fields);
	free(u);
}

/* Ends the translator: both sockets closed (the proxy reads EOF). */
static void h2up_close(struct h2up *u)
{
	if (u->dead)
		return;
	u->dead = 1;
	gw_io_stop(u->loop, &u->sp_io);
	gw_io_stop(u->loop, &u->tcp_io);
	close(u->sp);
	close(u->tcp);
	nghttp2_session_del(u->s);
	u->s = NULL;
	if (gw_loop_defer(u->loop, h2up_free, u))
		h2up_free(u);
}

/* ---- the request ------------------------------------------------------------------- */

/* The request body's next bytes for a DATA frame, de-chunked. */
static ssize_t rq_read(nghttp2_session *s, __s32 id, __u8 *buf, size_t len, __u32 *flags,
		       nghttp2_data_source *src, void *arg)
{
	struct h2up *u = arg;
	struct gw_chunk_res cr;
	size_t n = 0;
	int rc;

	if (u->body == GW_BODY_LENGTH) {
		n = u->in_len < len ? u->in_len : len;
		n = n < u->left ? n : (size_t)u->left;
		memcpy(buf, u->in, n);
		memmove(u->in, u->in + n, u->in_len - n);
		u->in_len -= n;
		u->left -= n;
		u->rq_done = !u->left;
	} else {
		while (!u->rq_done && u->in_len && n < len) {
			size_t in = u->in_len < len - n ? u->in_len : len - n;

			rc = gw_chunk_parse(&u->ch, u->in, in, &cr);
			if (rc < 0)
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			memcpy(buf + n, u->in + cr.data_off, cr.data_len);
			n += cr.data_len;
			memmove(u->in, u->in + cr.used, u->in_len - cr.used);
			u->in_len -= cr.used;
			u->rq_done = rc == GW_CHUNK_DONE;
			if (!cr.used)
				break;
		}
	}
	if (u->rq_done)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (!n)
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

/* 1 for the request fields HTTP/2 does not carry (Host: :authority). */
static int hop_field(const struct gw_http_hdr *f)
{
	return f->id == GW_HDR_HOST || gw_h2_conn_specific(f);
}

#define NV(n, v, nl, vl) ((nghttp2_nv){ (__u8 *)(n), (__u8 *)(v), nl, vl, NGHTTP2_NV_FLAG_NONE })

/* A request head (rc bytes at the start of in) as a new stream. Returns 0
 * or -EIO. */
static int rq_submit(struct h2up *u, int rc)
{
	const struct gw_http_req *q = &u->req;
	nghttp2_nv nv[GW_L7_MAX_HDRS + 5];
	nghttp2_data_provider prd = { .read_callback = rq_read };
	size_t n = 0, used = 0, i, j;

	nv[n++] = NV(":method", u->in + q->method_tok.off, 7, q->method_tok.len);
	nv[n++] = NV(":scheme", "http", 7, 4);
	nv[n++] = NV(":authority", u->in + q->authority.off, 10, q->authority.len);
	nv[n++] = NV(":path", u->in + q->target.off, 5, q->target.len);
	nv[n++] = NV("te", "trailers", 2, 8);
	for (i = 0; i < q->h.nhdr; i++) {
		const struct gw_http_hdr *f = &q->h.hdr[i];

		if (hop_field(f) || used + f->name_len > sizeof(u->lc))
			continue;
		for (j = 0; j < f->name_len; j++) {
			char ch = u->in[f->name + j];

			u->lc[used + j] = ch >= 'A' && ch <= 'Z' ? (char)(ch | 0x20) : ch;
		}
		nv[n++] = NV(u->lc + used, u->in + f->value, f->name_len, f->value_len);
		used += f->name_len;
	}
	u->body = q->h.body;
	u->left = q->h.content_length;
	u->rq_done = u->body == GW_BODY_NONE || (u->body == GW_BODY_LENGTH && !u->left);
	u->head_req = q->method == GW_METHOD_HEAD;
	u->head_out = u->ended = u->nobody = 0;
	u->status = 0;
	u->fields_len = 0;
	gw_chunk_init(&u->ch, NULL, false);
	u->sid = nghttp2_submit_request(u->s, NULL, nv, n, u->rq_done ? NULL : &prd, NULL);
	memmove(u->in, u->in + rc, u->in_len - (size_t)rc);
	u->in_len -= (size_t)rc;
	return u->sid > 0 ? 0 : -EIO;
}

/* A new request head from the proxy, when there is none in flight.
 * Returns 0 or -EIO. */
static int rq_take(struct h2up *u)
{
	static const struct gw_http_limits lim = { .max_line = 8000, .max_fields = 16384,
						   .max_headers = GW_L7_MAX_HDRS };
	int rc;

	if (u->sid || !u->in_len)
		return 0;
	if (!nghttp2_session_check_request_allowed(u->s))
		return -EIO;	/* GOAWAY either way: no new stream */
	gw_http_req_init(&u->req, u->hdr, GW_L7_MAX_HDRS, &lim);
	rc = gw_http_req_parse(&u->req, u->in, u->in_len);
	if (rc < 0 || (!rc && u->in_len == sizeof(u->in)))
		return -EIO;
	return rc ? rq_submit(u, rc) : 0;
}

/* ---- the response ----------------------------------------------------------------- */

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const __u8 *name, size_t nl,
		     const __u8 *value, size_t vl, __u8 flags, void *arg)
{
	struct h2up *u = arg;

	if (f->hd.stream_id != u->sid)
		return 0;
	if (nl == 7 && !memcmp(name, ":status", 7)) {
		u->status = vl == 3 ? (value[0] - '0') * 100 + (value[1] - '0') * 10 +
					      (value[2] - '0') : 502;
		return 0;
	}
	if (nl && name[0] == ':')
		return 0;
	if (!u->head_out && nl == 14 && !memcmp(name, "content-length", 14))
		return 0;	/* the body goes chunked */
	if (grow_add(&u->fields, &u->fields_len, &u->fields_cap, name, nl) ||
	    grow_add(&u->fields, &u->fields_len, &u->fields_cap, ": ", 2) ||
	    grow_add(&u->fields, &u->fields_len, &u->fields_cap, value, vl) ||
	    grow_add(&u->fields, &u->fields_len, &u->fields_cap, "\r\n", 2))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/* The response head for the proxy: status line, fields, chunked. Returns 0
 * or -ENOMEM. */
static int rs_head(struct h2up *u)
{
	char line[64];
	int n;

	u->nobody = u->head_req || u->status == 204 || u->status == 304;
	n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", u->status,
		     gw_http_reason(u->status));
	u->head_out = 1;
	if (out_add(u, line, (size_t)n) || out_add(u, u->fields, u->fields_len))
		return -ENOMEM;
	u->fields_len = 0;
	return out_add(u, u->nobody ? "\r\n" : "transfer-encoding: chunked\r\n\r\n",
		       u->nobody ? 2 : 30);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct h2up *u = arg;

	if (f->hd.stream_id != u->sid || !u->sid)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !u->head_out) {
		if (u->status >= 100 && u->status < 200) {
			u->fields_len = 0;	/* interim: dropped */
			u->status = 0;
			return 0;
		}
		if (rs_head(u))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		u->ended = 1;
	return 0;
}

static int on_data_chunk(nghttp2_session *s, __u8 flags, __s32 id, const __u8 *data, size_t len,
			 void *arg)
{
	struct h2up *u = arg;
	char line[24];
	int n;

	u->unacked += len;
	if (id != u->sid || u->nobody || !len)
		return 0;
	n = snprintf(line, sizeof(line), "%zx\r\n", len);
	if (out_add(u, line, (size_t)n) || out_add(u, data, len) || out_add(u, "\r\n", 2))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int on_stream_close(nghttp2_session *s, __s32 id, __u32 code, void *arg)
{
	struct h2up *u = arg;

	if (id != u->sid)
		return 0;
	u->sid = 0;
	if (!u->head_out || !u->ended || code != NGHTTP2_NO_ERROR) {
		/* no complete answer: the proxy sees the connection end */
		pr_debug("l7: h2c upstream stream %d ended (%u)\n", id, code);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (!u->nobody &&
	    (out_add(u, "0\r\n", 3) || out_add(u, u->fields, u->fields_len) || out_add(u, "\r\n", 2)))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	u->fields_len = 0;
	return 0;
}

/* ---- sockets --------------------------------------------------------------------- */

/* Frames to the server. Returns 0 or -EIO. */
static int tcp_flush(struct h2up *u)
{
	ssize_t n;

	while (u->connected && u->tcp_wr) {
		if (!u->pend_len) {
			n = nghttp2_session_mem_send(u->s, &u->pend);
			if (n < 0)
				return -EIO;
			if (!n)
				return 0;
			u->pend_len = (size_t)n;
		}
		n = send(u->tcp, u->pend, u->pend_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				u->tcp_wr = 0;
				return 0;
			}
			return errno == EINTR ? 0 : -EIO;
		}
		u->pend += n;
		u->pend_len -= (size_t)n;
	}
	return 0;
}

/* Response bytes to the proxy; the window reopens once they are out.
 * Returns 0 or -EIO. */
static int sp_flush(struct h2up *u)
{
	ssize_t n;

	while (u->sp_wr && u->out_off < u->out_len) {
		n = send(u->sp, u->out + u->out_off, u->out_len - u->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				u->sp_wr = 0;
				return 0;
			}
			return errno == EINTR ? 0 : -EIO;
		}
		u->out_off += (size_t)n;
	}
	if (u->out_off == u->out_len) {
		u->out_off = u->out_len = 0;
		if (u->unacked) {
			nghttp2_session_consume_connection(u->s, u->unacked);
			if (u->sid)
				nghttp2_session_consume_stream(u->s, u->sid, u->unacked);
			u->unacked = 0;
		}
	}
	return 0;
}

/* Bytes from a socket into buf. Returns bytes, 0 on EOF, -EAGAIN, -EIO. */
static ssize_t rd(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -EIO;
}

/* Every step the sockets allow. */
static void h2up_run(struct h2up *u)
{
	__u8 buf[16384];
	ssize_t n;
	int guard;

	for (guard = 0; guard < 64 && !u->dead; guard++) {
		int p = 0;

		if (u->sp_rd && u->in_len < sizeof(u->in)) {
			n = rd(u->sp, u->in + u->in_len, sizeof(u->in) - u->in_len);
			if (!n || n == -EIO)
				goto fail;	/* the proxy closed its end */
			if (n > 0) {
				u->in_len += (size_t)n;
				p = 1;
				if (u->sid)
					nghttp2_session_resume_data(u->s, u->sid);
			} else {
				u->sp_rd = 0;
			}
		}
		if (u->connected && u->tcp_rd && u->out_len < UP_OUT_MAX) {
			n = rd(u->tcp, buf, sizeof(buf));
			if (!n || n == -EIO)
				goto fail;
			if (n > 0) {
				p = 1;
				if (nghttp2_session_mem_recv(u->s, buf, (size_t)n) != n)
					goto fail;
			} else {
				u->tcp_rd = 0;
			}
		}
		if (rq_take(u) || tcp_flush(u) || sp_flush(u))
			goto fail;
		if (!p)
			return;
	}
	return;
fail:
	h2up_close(u);
}

static void sp_cb(struct gw_io *io, __u32 ev)
{
	struct h2up *u = container_of(io, struct h2up, sp_io);

	if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		u->sp_rd = 1;
	if (ev & (EPOLLOUT | EPOLLERR))
		u->sp_wr = 1;
	h2up_run(u);
}

static void tcp_cb(struct gw_io *io, __u32 ev)
{
	struct h2up *u = container_of(io, struct h2up, tcp_io);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!u->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		getsockopt(u->tcp, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr || (ev & (EPOLLERR | EPOLLHUP))) {
			h2up_close(u);
			return;
		}
		u->connected = 1;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		u->tcp_rd = 1;
	if (ev & (EPOLLOUT | EPOLLERR))
		u->tcp_wr = 1;
	h2up_run(u);
}

static const struct gw_h2_callbacks client_cbs = {
	.header = on_header,
	.frame_recv = on_frame_recv,
	.data_chunk = on_data_chunk,
	.stream_close = on_stream_close,
};

/* The client session and its SETTINGS. Returns 0 or -ENOMEM. */
static int h2up_session(struct h2up *u)
{
	if (gw_h2_session_new(&u->s, u, 0, &client_cbs))
		return -ENOMEM;
	return nghttp2_submit_settings(u->s, NGHTTP2_FLAG_NONE, NULL, 0) ? -ENOMEM : 0;
}

int gw_h2up_open(struct gw_loop *loop, const struct sockaddr *sa, socklen_t salen)
{
	struct h2up *u;
	int sv[2], one = 1, err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	u = calloc(1, sizeof(*u));
	if (!u) {
		err = -ENOMEM;
		goto close_sv;
	}
	u->loop = loop;
	u->sp = sv[1];
	u->tcp = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->tcp < 0) {
		err = -errno;
		goto free_u;
	}
	setsockopt(u->tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(u->tcp, sa, salen) && errno != EINPROGRESS) {
		err = -errno;
		goto close_tcp;
	}
	err = h2up_session(u);
	if (err)
		goto close_tcp;
	err = gw_io_start(loop, &u->tcp_io, u->tcp, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			  tcp_cb);
	if (err)
		goto del;
	err = gw_io_start(loop, &u->sp_io, u->sp, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, sp_cb);
	if (err) {
		gw_io_stop(loop, &u->tcp_io);
		goto del;
	}
	return sv[0];
del:
	nghttp2_session_del(u->s);
close_tcp:
	close(u->tcp);
free_u:
	free(u);
close_sv:
	close(sv[0]);
	close(sv[1]);
	return err;
}
