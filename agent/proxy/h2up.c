// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP/2 to upstream servers: channels and shared sessions (h2up.h).
 *
 * A channel (struct chan) is the translator's end of one proxy upstream
 * connection. It reads an HTTP/1.1 request, binds to a session with room
 * (sess_pick()) and sends the request as one stream; the stream's answer
 * goes back as HTTP/1.1; then the channel unbinds and waits for the next
 * request. The request head stays at the start of the channel's buffer
 * until the answer starts or a body byte is sent, so that a refused
 * stream can be sent again.
 *
 * nghttp2 calls back with the session as user data and the channel as the
 * stream's user data; callbacks only mark and buffer, and sess_run() acts
 * on what they marked (sess_after()) once nghttp2 returned. Channels and
 * sessions are freed deferred, so pointers held during a run stay valid.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "http/http1.h"
#include "l7/upstream_tls.h"
#include "proxy/h2.h"
#include "proxy/h2up.h"
#include "proxy/proxy.h"

#define CHAN_TRIES 3		/* sends of one request (refused streams) */

struct sess;

struct chan {
	struct gw_loop *loop;
	int sp;
	struct gw_io sp_io;
	struct gw_h2up_target t;
	struct sockaddr_storage sa;
	struct gw_endpoint addr;
	struct sess *sess;		/* while a stream is in flight */
	struct chan *snext, **spprev;	/* the session's channels */
	unsigned int dead : 1, closed : 1;
	unsigned int sp_wr, sp_rd;
	__u32 code;			/* the stream's close code (closed) */
	unsigned int tries;
	/* the request from the proxy */
	char in[GW_L7_BUF];
	size_t in_len;
	size_t hlen;			/* the head kept at in[0] (0: dropped) */
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
};

struct sess {
	struct sess *next, **pprev;	/* the thread's sessions */
	struct gw_loop *loop;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct gw_uptls *tls;		/* a reference; NULL: h2c */
	__u32 limit;
	__u32 hint;			/* the server's limit, from a sibling (0: none) */
	__u64 idle_ns;
	int fd;
	struct gw_io io;
	struct gw_timer idle, kick;
	SSL *ssl;
	nghttp2_session *s;
	struct chan *chans;		/* bound channels */
	unsigned int nstreams;
	unsigned int connected : 1, ready : 1, dead : 1, running : 1, again : 1, settled : 1;
	unsigned int kicked : 1;
	unsigned int wr, rd;
	const __u8 *pend;
	size_t pend_len;
};

static __thread struct sess *sessions;
static atomic_ulong n_sessions, n_alpn_fail, n_retried;

static void sess_run(struct sess *x);
static void sess_kick(struct sess *x);
static int chan_take(struct chan *c);

void gw_h2up_counts(unsigned long *sessions_, unsigned long *alpn_fail, unsigned long *retried)
{
	*sessions_ = atomic_load_explicit(&n_sessions, memory_order_relaxed);
	*alpn_fail = atomic_load_explicit(&n_alpn_fail, memory_order_relaxed);
	*retried = atomic_load_explicit(&n_retried, memory_order_relaxed);
}

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

/* Appends to the channel's bytes for the proxy. Returns 0 or -ENOMEM. */
static int out_add(struct chan *c, const void *d, size_t n)
{
	return grow_add(&c->out, &c->out_len, &c->out_cap, d, n);
}

/* The channel of stream id on session x: the stream's user data, else
 * (a stream nghttp2 has not opened yet) the bound channel with that ID.
 * Returns it, or NULL (none, or its channel closed). */
static struct chan *chan_of(nghttp2_session *s, __s32 id, void *x)
{
	struct chan *c;

	if (id <= 0)
		return NULL;
	c = nghttp2_session_get_stream_user_data(s, id);
	if (c)
		return c;
	for (c = ((struct sess *)x)->chans; c; c = c->snext)
		if (c->sid == id && !c->closed)
			return c;
	return NULL;
}

/* ---- sessions ---------------------------------------------------------------------- */

static void sess_free(void *arg)
{
	struct sess *x = arg;

	gw_uptls_put(x->tls);
	free(x);
}

static void chan_close(struct chan *c);
static int chan_ended(struct chan *c);

/* Unbinds c from its session (the stream is over or abandoned). */
static void chan_unbind(struct chan *c)
{
	struct sess *x = c->sess;

	if (!x)
		return;
	if (c->sid > 0 && x->s && !c->closed) {
		nghttp2_session_set_stream_user_data(x->s, c->sid, NULL);
		nghttp2_submit_rst_stream(x->s, NGHTTP2_FLAG_NONE, c->sid, NGHTTP2_CANCEL);
	}
	*c->spprev = c->snext;
	if (c->snext)
		c->snext->spprev = c->spprev;
	c->sess = NULL;
	c->sid = 0;
	c->closed = 0;
	x->nstreams--;
}

/* Ends a session: its socket closed, its channels closed (the proxy reads
 * EOF). Returns nothing. */
static void sess_close(struct sess *x)
{
	struct chan *c;

	if (x->dead)
		return;
	x->dead = 1;
	if (x->chans)
		pr_debug("l7: h2 upstream: a connection ends under %u streams\n", x->nstreams);
	*x->pprev = x->next;
	if (x->next)
		x->next->pprev = x->pprev;
	/* a stream already refused (GOAWAY) still goes elsewhere */
	while ((c = x->chans))
		if (!c->closed || chan_ended(c))
			chan_close(c);
	gw_timer_stop(x->loop, &x->idle);
	gw_timer_stop(x->loop, &x->kick);
	gw_io_stop(x->loop, &x->io);
	SSL_free(x->ssl);
	x->ssl = NULL;
	close(x->fd);
	nghttp2_session_del(x->s);
	x->s = NULL;
	if (gw_loop_defer(x->loop, sess_free, x))
		sess_free(x);
}

void gw_h2up_close_all(struct gw_loop *loop)
{
	struct sess *x, *next;

	for (x = sessions; x; x = next) {
		next = x->next;
		if (x->loop == loop)
			sess_close(x);
	}
}

/* The streams a session may carry at once: its limit, and the server's
 * (before its SETTINGS came: what it told another connection, if any).
 * Returns the number. */
static __u32 sess_cap(const struct sess *x)
{
	__u32 peer = x->settled ? nghttp2_session_get_remote_settings(
					  x->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) :
				  x->hint ? x->hint : x->limit;

	return peer < x->limit ? peer : x->limit;
}

/* 1 when x and y go to the same server the same way. */
static int sess_same(const struct sess *x, struct gw_loop *loop, const struct sockaddr *sa,
		     socklen_t salen, const struct gw_uptls *tls, __u32 limit)
{
	return x->loop == loop && x->salen == salen && x->tls == tls && x->limit == limit &&
	       !memcmp(&x->sa, sa, salen);
}

/* Returns 1 when x may take another stream now. */
static int sess_room(const struct sess *x)
{
	return !x->dead && nghttp2_session_check_request_allowed(x->s) &&
	       x->nstreams < sess_cap(x);
}

static void idle_cb(struct gw_timer *t)
{
	struct sess *x = container_of(t, struct sess, idle);

	if (!x->nstreams)
		sess_close(x);
}

/* Frames to the server. Returns 0 or -EIO. */
static int sess_flush(struct sess *x)
{
	ssize_t n;

	while (x->ready && x->wr) {
		if (!x->pend_len) {
			n = nghttp2_session_mem_send(x->s, &x->pend);
			if (n < 0)
				return -EIO;
			if (!n)
				return 0;
			x->pend_len = (size_t)n;
		}
		if (x->ssl) {
			n = gw_uptls_write(x->ssl, (const char *)x->pend, x->pend_len, &x->wr);
			if (n < 0)
				return -EIO;
		} else {
			n = send(x->fd, x->pend, x->pend_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					x->wr = 0;
					return 0;
				}
				return errno == EINTR ? 0 : -EIO;
			}
		}
		x->pend += n;
		x->pend_len -= (size_t)n;
	}
	return 0;
}

/* Bytes from the server into buf. Returns bytes, 0 at the end, -EAGAIN,
 * or -EIO. */
static ssize_t sess_read(struct sess *x, __u8 *buf, size_t len)
{
	ssize_t n;

	if (x->ssl) {
		n = gw_uptls_read(x->ssl, (char *)buf, len, &x->rd);
		return n == -EPROTO ? -EIO : n;
	}
	n = recv(x->fd, buf, len, MSG_DONTWAIT);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		x->rd = 0;
		return -EAGAIN;
	}
	return -EIO;
}

/* The TLS handshake, then ALPN must have chosen h2. Returns 0 (done or
 * waiting) or -EPROTO. */
static int sess_handshake(struct sess *x)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;
	char why[160];
	int ww, rc;

	rc = gw_uptls_handshake(x->ssl, &ww, why, sizeof(why));
	if (rc < 0) {
		pr_warn("l7: h2 upstream: TLS handshake failed: %s\n", why);
		return -EPROTO;
	}
	if (!rc)
		return 0;
	SSL_get0_alpn_selected(x->ssl, &p, &len);
	if (len != 2 || memcmp(p, "h2", 2)) {
		atomic_fetch_add_explicit(&n_alpn_fail, 1, memory_order_relaxed);
		pr_warn("l7: h2 upstream: the server did not choose h2 by ALPN (%.*s): it does "
			"not speak HTTP/2 over TLS\n", (int)len, len ? (const char *)p : "none");
		return -EPROTO;
	}
	x->ready = 1;
	x->rd = x->wr = 1;
	return 0;
}

static void io_cb(struct gw_io *io, __u32 ev)
{
	struct sess *x = container_of(io, struct sess, io);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!x->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr || (ev & (EPOLLERR | EPOLLHUP))) {
			pr_debug("l7: h2 upstream: connect failed (%d)\n", soerr);
			sess_close(x);
			return;
		}
		x->connected = 1;
		x->ready = !x->ssl;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		x->rd = 1;
	if (ev & (EPOLLOUT | EPOLLERR))
		x->wr = 1;
	if (x->connected && !x->ready && sess_handshake(x)) {
		sess_close(x);
		return;
	}
	sess_run(x);
}

static const struct gw_h2_callbacks client_cbs;

/* The session's nghttp2 side and its SETTINGS. Returns 0 or -ENOMEM. */
static int sess_h2(struct sess *x, const struct gw_h2up_target *t)
{
	nghttp2_settings_entry set[4] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, t->window },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, t->header_list },
		{ NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, t->table },
	};

	if (gw_h2_session_new(&x->s, x, 0, &client_cbs))
		return -ENOMEM;
	if (nghttp2_submit_settings(x->s, NGHTTP2_FLAG_NONE, set, 4) ||
	    nghttp2_session_set_local_window_size(x->s, NGHTTP2_FLAG_NONE, 0,
						  (__s32)t->conn_window))
		return -ENOMEM;
	return 0;
}

/* A new session to the server of t: connecting. Returns it or NULL. */
static struct sess *sess_new(struct gw_loop *loop, const struct gw_h2up_target *t)
{
	struct sess *x = calloc(1, sizeof(*x));
	int one = 1;

	if (!x)
		return NULL;
	x->loop = loop;
	memcpy(&x->sa, t->sa, t->salen);
	x->salen = t->salen;
	x->limit = t->max_streams ? t->max_streams : 1;
	x->idle_ns = t->idle_ns;
	x->fd = socket(t->sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0)
		goto free_x;
	setsockopt(x->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(x->fd, t->sa, t->salen) && errno != EINPROGRESS)
		goto close_fd;
	if (t->tls) {
		x->tls = gw_uptls_get(t->tls);
		x->ssl = gw_uptls_new_ssl(t->tls, t->addr, x->fd);
		if (!x->ssl || SSL_set_alpn_protos(x->ssl, (const unsigned char *)"\x02h2", 3))
			goto del;
	}
	if (sess_h2(x, t))
		goto del;
	if (gw_io_start(loop, &x->io, x->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, io_cb))
		goto del;
	x->next = sessions;
	if (x->next)
		x->next->pprev = &x->next;
	x->pprev = &sessions;
	sessions = x;
	atomic_fetch_add_explicit(&n_sessions, 1, memory_order_relaxed);
	return x;
del:
	nghttp2_session_del(x->s);
	SSL_free(x->ssl);
	gw_uptls_put(x->tls);
close_fd:
	close(x->fd);
free_x:
	free(x);
	return NULL;
}

/* A session to c's server with room for a stream: the first open one,
 * else a new one. Returns it or NULL. */
static struct sess *sess_pick(struct chan *c)
{
	struct sess *x;

	__u32 hint = 0;

	for (x = sessions; x; x = x->next) {
		if (!sess_same(x, c->loop, c->t.sa, c->t.salen, c->t.tls, c->t.max_streams))
			continue;
		if (sess_room(x))
			return x;
		if (x->settled)
			hint = nghttp2_session_get_remote_settings(
				x->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	}
	x = sess_new(c->loop, &c->t);
	if (x)
		x->hint = hint;
	return x;
}

/* ---- the request ------------------------------------------------------------------- */

/* The kept request head goes: a body byte is about to be sent, or the
 * answer started (no sending again after that). */
static void head_drop(struct chan *c)
{
	if (!c->hlen)
		return;
	memmove(c->in, c->in + c->hlen, c->in_len - c->hlen);
	c->in_len -= c->hlen;
	c->hlen = 0;
}

/* The request body's next bytes for a DATA frame, de-chunked. */
static ssize_t rq_read(nghttp2_session *s, __s32 id, __u8 *buf, size_t len, __u32 *flags,
		       nghttp2_data_source *src, void *arg)
{
	struct chan *c = chan_of(s, id, arg);
	struct gw_chunk_res cr;
	size_t n = 0;
	int rc;

	if (!c)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (c->in_len > c->hlen)
		head_drop(c);
	if (c->hlen)
		return NGHTTP2_ERR_DEFERRED;
	if (c->body == GW_BODY_LENGTH) {
		n = c->in_len < len ? c->in_len : len;
		n = n < c->left ? n : (size_t)c->left;
		memcpy(buf, c->in, n);
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
		c->left -= n;
		c->rq_done = !c->left;
	} else {
		while (!c->rq_done && c->in_len && n < len) {
			size_t in = c->in_len < len - n ? c->in_len : len - n;

			rc = gw_chunk_parse(&c->ch, c->in, in, &cr);
			if (rc < 0)
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			memcpy(buf + n, c->in + cr.data_off, cr.data_len);
			n += cr.data_len;
			memmove(c->in, c->in + cr.used, c->in_len - cr.used);
			c->in_len -= cr.used;
			c->rq_done = rc == GW_CHUNK_DONE;
			if (!cr.used)
				break;
		}
	}
	if (c->rq_done)
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

/* A parsed request head (rc bytes at the start of in) as a new stream on
 * session x. Returns 0 or -EIO. */
static int rq_submit(struct chan *c, struct sess *x, int rc)
{
	const struct gw_http_req *q = &c->req;
	nghttp2_nv nv[GW_L7_MAX_HDRS + 5];
	nghttp2_data_provider prd = { .read_callback = rq_read };
	size_t n = 0, used = 0, i, j;

	nv[n++] = NV(":method", c->in + q->method_tok.off, 7, q->method_tok.len);
	nv[n++] = NV(":scheme", x->tls ? "https" : "http", 7, x->tls ? 5 : 4);
	nv[n++] = NV(":authority", c->in + q->authority.off, 10, q->authority.len);
	nv[n++] = NV(":path", c->in + q->target.off, 5, q->target.len);
	nv[n++] = NV("te", "trailers", 2, 8);
	for (i = 0; i < q->h.nhdr; i++) {
		const struct gw_http_hdr *f = &q->h.hdr[i];

		if (hop_field(f) || used + f->name_len > sizeof(c->lc))
			continue;
		for (j = 0; j < f->name_len; j++) {
			char ch = c->in[f->name + j];

			c->lc[used + j] = ch >= 'A' && ch <= 'Z' ? (char)(ch | 0x20) : ch;
		}
		nv[n++] = NV(c->lc + used, c->in + f->value, f->name_len, f->value_len);
		used += f->name_len;
	}
	c->body = q->h.body;
	c->left = q->h.content_length;
	c->rq_done = c->body == GW_BODY_NONE || (c->body == GW_BODY_LENGTH && !c->left);
	c->head_req = q->method == GW_METHOD_HEAD;
	c->head_out = c->ended = c->nobody = 0;
	c->status = 0;
	c->fields_len = 0;
	c->out_len = c->out_off = 0;
	c->unacked = 0;
	c->hlen = (size_t)rc;
	gw_chunk_init(&c->ch, NULL, false);
	c->sid = nghttp2_submit_request(x->s, NULL, nv, n, c->rq_done ? NULL : &prd, c);
	if (c->sid <= 0) {
		c->sid = 0;
		return -EIO;
	}
	c->sess = x;
	c->closed = 0;
	c->snext = x->chans;
	if (c->snext)
		c->snext->spprev = &c->snext;
	c->spprev = &x->chans;
	x->chans = c;
	x->nstreams++;
	gw_timer_stop(x->loop, &x->idle);
	return 0;
}

/* A request head at the start of in, when no stream is in flight: sent
 * on a session with room. Returns 0 or -EIO. */
static int chan_take(struct chan *c)
{
	static const struct gw_http_limits lim = { .max_line = 8000, .max_fields = 16384,
						   .max_headers = GW_L7_MAX_HDRS };
	struct sess *x;
	int rc;

	if (c->sess || !c->in_len)
		return 0;
	gw_http_req_init(&c->req, c->hdr, GW_L7_MAX_HDRS, &lim);
	rc = gw_http_req_parse(&c->req, c->in, c->in_len);
	if (rc < 0 || (!rc && c->in_len == sizeof(c->in)))
		return -EIO;
	if (!rc)
		return 0;
	if (++c->tries > CHAN_TRIES) {
		pr_debug("l7: h2 upstream: a request refused %u times\n", CHAN_TRIES);
		return -EIO;
	}
	x = sess_pick(c);
	if (!x || rq_submit(c, x, rc)) {
		pr_debug("l7: h2 upstream: no session for a stream\n");
		return -EIO;
	}
	sess_kick(x);
	return 0;
}

/* ---- the response ----------------------------------------------------------------- */

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const __u8 *name, size_t nl,
		     const __u8 *value, size_t vl, __u8 flags, void *arg)
{
	struct chan *c = chan_of(s, f->hd.stream_id, arg);

	if (!c)
		return 0;
	if (nl == 7 && !memcmp(name, ":status", 7)) {
		c->status = vl == 3 ? (value[0] - '0') * 100 + (value[1] - '0') * 10 +
					      (value[2] - '0') : 502;
		return 0;
	}
	if (nl && name[0] == ':')
		return 0;
	if (!c->head_out && nl == 14 && !memcmp(name, "content-length", 14))
		return 0;	/* the body goes chunked */
	if (grow_add(&c->fields, &c->fields_len, &c->fields_cap, name, nl) ||
	    grow_add(&c->fields, &c->fields_len, &c->fields_cap, ": ", 2) ||
	    grow_add(&c->fields, &c->fields_len, &c->fields_cap, value, vl) ||
	    grow_add(&c->fields, &c->fields_len, &c->fields_cap, "\r\n", 2))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/* The response head for the proxy: status line, fields, chunked. Returns 0
 * or -ENOMEM. */
static int rs_head(struct chan *c)
{
	char line[64];
	int n;

	c->nobody = c->head_req || c->status == 204 || c->status == 304;
	n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", c->status,
		     gw_http_reason(c->status));
	c->head_out = 1;
	if (c->in_len == c->hlen)
		head_drop(c);	/* else rq_read() drops it before the body */
	if (out_add(c, line, (size_t)n) || out_add(c, c->fields, c->fields_len))
		return -ENOMEM;
	c->fields_len = 0;
	return out_add(c, c->nobody ? "\r\n" : "transfer-encoding: chunked\r\n\r\n",
		       c->nobody ? 2 : 30);
}

/* A GOAWAY: the streams above its last stream ID were not processed and
 * may go again (RFC 9113 6.8), whether nghttp2 had opened them or not. */
static void on_goaway(nghttp2_session *s, struct sess *x, __s32 last)
{
	struct chan *c;

	for (c = x->chans; c; c = c->snext)
		if (c->sid > last && !c->closed) {
			nghttp2_session_set_stream_user_data(s, c->sid, NULL);
			c->closed = 1;
			c->code = NGHTTP2_REFUSED_STREAM;
		}
	x->again = 1;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct chan *c = chan_of(s, f->hd.stream_id, arg);

	if (f->hd.type == NGHTTP2_GOAWAY)
		on_goaway(s, arg, f->goaway.last_stream_id);
	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
		((struct sess *)arg)->settled = 1;
	if (!c)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !c->head_out) {
		if (c->status >= 100 && c->status < 200) {
			c->fields_len = 0;	/* interim: dropped */
			c->status = 0;
			return 0;
		}
		if (rs_head(c))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		c->ended = 1;
	return 0;
}

static int on_data_chunk(nghttp2_session *s, __u8 flags, __s32 id, const __u8 *data, size_t len,
			 void *arg)
{
	struct chan *c = chan_of(s, id, arg);
	char line[24];
	int n;

	if (!c) {
		/* an abandoned stream: its bytes go back to the connection */
		nghttp2_session_consume_connection(s, len);
		return 0;
	}
	c->unacked += len;
	if (c->nobody || !len)
		return 0;
	n = snprintf(line, sizeof(line), "%zx\r\n", len);
	if (out_add(c, line, (size_t)n) || out_add(c, data, len) || out_add(c, "\r\n", 2))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int on_stream_close(nghttp2_session *s, __s32 id, __u32 code, void *arg)
{
	struct chan *c = chan_of(s, id, arg);

	if (c) {
		c->closed = 1;	/* acted on by sess_after() */
		c->code = code;
		nghttp2_session_set_stream_user_data(s, id, NULL);
	}
	return 0;
}

static const struct gw_h2_callbacks client_cbs = {
	.header = on_header,
	.frame_recv = on_frame_recv,
	.data_chunk = on_data_chunk,
	.stream_close = on_stream_close,
};

/* ---- channels -------------------------------------------------------------------- */

static void chan_free(void *arg)
{
	struct chan *c = arg;

	gw_uptls_put(c->t.tls);
	free(c->out);
	free(c->fields);
	free(c);
}

/* Ends a channel: the proxy reads EOF; its stream, if any, is cancelled. */
static void chan_close(struct chan *c)
{
	struct sess *x = c->sess;

	if (c->dead)
		return;
	c->dead = 1;
	chan_unbind(c);
	gw_io_stop(c->loop, &c->sp_io);
	close(c->sp);
	if (gw_loop_defer(c->loop, chan_free, c))
		chan_free(c);
	if (x && !x->dead)
		sess_kick(x);
}

/* Response bytes to the proxy; the windows reopen once they are out.
 * Returns 0 or -EIO. */
static int chan_flush(struct chan *c)
{
	ssize_t n;

	while (c->sp_wr && c->out_off < c->out_len) {
		n = send(c->sp, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->sp_wr = 0;
				return 0;
			}
			return errno == EINTR ? 0 : -EIO;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->unacked && c->sess && c->sess->s) {
			nghttp2_session_consume_connection(c->sess->s, c->unacked);
			if (c->sid > 0 && !c->closed)
				nghttp2_session_consume_stream(c->sess->s, c->sid, c->unacked);
			c->sess->again = 1;	/* WINDOW_UPDATE to send */
		}
		c->unacked = 0;
	}
	return 0;
}

/* Request bytes from the proxy. Returns 1 when some came, 0 when none,
 * -EIO when the proxy closed its end. */
static int chan_read(struct chan *c)
{
	ssize_t n;

	if (!c->sp_rd || c->in_len == sizeof(c->in))
		return 0;
	n = recv(c->sp, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (!n || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		return -EIO;
	if (n < 0) {
		c->sp_rd = 0;
		return 0;
	}
	c->in_len += (size_t)n;
	if (c->sess && !c->closed) {
		nghttp2_session_resume_data(c->sess->s, c->sid);
		c->sess->again = 1;
	}
	return 1;
}

/* A stream that ended: the answer completed, a refused stream sent again,
 * or the channel closed. Returns 0 or -EIO. */
static int chan_ended(struct chan *c)
{
	int ok = c->head_out && c->ended && c->code == NGHTTP2_NO_ERROR;
	int again = !c->head_out && c->hlen && c->code == NGHTTP2_REFUSED_STREAM;

	if (c->unacked && c->sess->s)
		nghttp2_session_consume_connection(c->sess->s, c->unacked);
	c->unacked = 0;
	chan_unbind(c);
	if (again) {
		atomic_fetch_add_explicit(&n_retried, 1, memory_order_relaxed);
		pr_debug("l7: h2 upstream: stream refused, sent again\n");
		return chan_take(c);
	}
	if (!ok) {
		/* no complete answer: the proxy sees the connection end */
		pr_debug("l7: h2 upstream: stream ended (%u)\n", c->code);
		return -EIO;
	}
	c->tries = 0;
	if (!c->nobody &&
	    (out_add(c, "0\r\n", 3) || out_add(c, c->fields, c->fields_len) || out_add(c, "\r\n", 2)))
		return -EIO;
	c->fields_len = 0;
	return chan_flush(c);
}

/* Everything a channel can do now. Returns 0 or -EIO. */
static int chan_step(struct chan *c)
{
	int rc;

	if (c->sess && c->closed && chan_ended(c))
		return -EIO;
	do {
		rc = chan_read(c);
		if (rc < 0)
			return rc;
		if (chan_take(c) || chan_flush(c))
			return -EIO;
	} while (rc > 0 && !c->dead);
	return 0;
}

static void sp_cb(struct gw_io *io, __u32 ev)
{
	struct chan *c = container_of(io, struct chan, sp_io);
	struct sess *x;

	if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		c->sp_rd = 1;
	if (ev & (EPOLLOUT | EPOLLERR))
		c->sp_wr = 1;
	if (chan_step(c)) {
		chan_close(c);
		return;
	}
	x = c->sess;
	if (x)
		sess_kick(x);
}

/* What the callbacks marked on the channels of x; then a session without
 * streams idles, or closes when the server said GOAWAY. */
static void sess_after(struct sess *x)
{
	struct chan *c, *next;

	for (c = x->chans; c && !x->dead; c = next) {
		next = c->snext;
		if (chan_step(c))
			chan_close(c);
	}
	if (x->dead || x->nstreams)
		return;
	if (!nghttp2_session_check_request_allowed(x->s) || !x->idle_ns ||
	    (!nghttp2_session_want_read(x->s) && !nghttp2_session_want_write(x->s)))
		sess_close(x);
	else if (!gw_timer_armed(&x->idle))
		gw_timer_start(x->loop, &x->idle, x->idle_ns, idle_cb);
}

/* A session that had more to do than one run takes (sess_run()). */
static void kick_cb(struct gw_timer *t)
{
	struct sess *x = container_of(t, struct sess, kick);

	if (!x->dead)
		sess_run(x);
}

static void flush_cb(void *arg)
{
	struct sess *x = arg;

	x->kicked = 0;
	if (!x->dead)
		sess_run(x);
}

/* A run of x at the end of the loop's batch, so that the frames of the
 * channels that became ready together go out in one write. */
static void sess_kick(struct sess *x)
{
	if (x->kicked || x->dead)
		return;
	x->kicked = 1;
	if (gw_loop_defer(x->loop, flush_cb, x)) {
		x->kicked = 0;
		sess_run(x);
	}
}

/* Every step the socket allows, once at a time (a channel may ask for a
 * run from inside one: it runs again). */
static void sess_run(struct sess *x)
{
	__u8 buf[16384];
	ssize_t n;
	int guard;

	if (x->running) {
		x->again = 1;
		return;
	}
	x->running = 1;
	for (guard = 0; guard < 64 && !x->dead; guard++) {
		int p = x->again;

		x->again = 0;
		if (x->ready && x->rd) {
			n = sess_read(x, buf, sizeof(buf));
			if (!n || n == -EIO)
				goto fail;
			if (n > 0) {
				p = 1;
				if (nghttp2_session_mem_recv(x->s, buf, (size_t)n) != n)
					goto fail;
			}
		}
		if (sess_flush(x))
			goto fail;
		sess_after(x);
		if (!p && !x->again)
			break;
	}
	x->running = 0;
	if (guard == 64 && !x->dead && !gw_timer_armed(&x->kick) &&
	    gw_timer_start(x->loop, &x->kick, 0, kick_cb))
		sess_close(x);
	return;
fail:
	x->running = 0;
	sess_close(x);
}

int gw_h2up_open(struct gw_loop *loop, const struct gw_h2up_target *t)
{
	struct chan *c;
	int sv[2], err;

	if (t->salen > sizeof(c->sa))
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto close_sv;
	}
	c->loop = loop;
	c->sp = sv[1];
	c->t = *t;
	c->t.tls = gw_uptls_get(t->tls);
	memcpy(&c->sa, t->sa, t->salen);
	c->t.sa = (const struct sockaddr *)&c->sa;
	if (t->addr)
		c->addr = *t->addr;
	c->t.addr = &c->addr;
	c->t.max_streams = t->max_streams ? t->max_streams : 1;
	err = gw_io_start(loop, &c->sp_io, c->sp, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, sp_cb);
	if (err)
		goto free_c;
	return sv[0];
free_c:
	gw_uptls_put(c->t.tls);
	free(c);
close_sv:
	close(sv[0]);
	close(sv[1]);
	return err;
}
