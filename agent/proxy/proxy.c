// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The L7 proxy's per-connection state machine (proxy.h).
 *
 * A client connection is in one of four states:
 *   HEAD    waiting for (the rest of) a request head;
 *   PROXY   a request is being forwarded: its head and body go upstream
 *           while the response comes back (interim 1xx heads included);
 *   REPLY   the gateway answers itself (404, respond routes, errors, stages);
 *   TUNNEL  after a 101 answer to an Upgrade: bytes both ways, unparsed.
 * cli_drive() makes every step that the sockets' readiness allows, in a
 * loop, until none is left; io callbacks only record readiness and call it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "gw/abi.h"
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "http/pathnorm.h"
#include "proxy/h2.h"
#include "proxy/h2up.h"
#include "proxy/proxy.h"
#include "l7/ktls.h"
#include "l7/upstream_tls.h"
#include "proxy/rules.h"
#include "proxy/splice.h"

enum { CS_HEAD, CS_PROXY, CS_REPLY, CS_TUNNEL, CS_H2, CS_SPLICED };
enum { RS_HEAD, RS_BODY };
enum { FAIL_CONNECT, FAIL_IO, FAIL_TIMEOUT, FAIL_BAD, FAIL_TLS };

struct pbuf {
	__u32 start, end;
	char data[GW_L7_BUF];
};

struct gw_cli {
	int fd;
	struct gw_io io;
	struct gw_timer timer;		/* fires at or before the client's deadline */
	__u64 wait_since;		/* accept, handshake end or last request's end */
	__u64 head_since;		/* first byte of the pending request head */
	__u64 progress;			/* last byte the current request moved */
	struct gw_l7_cto to;		/* the listener's, when accepted */
	struct gw_l7_lstats *lstats;	/* the listener's timeout counts */
	struct gw_proxy_worker *w;
	struct gw_cli *next, **pprev;
	int tls;
	SSL *ssl;			/* TLS listeners: the client side's session */
	int ktls;			/* its plan, then GW_KTLS_TX|RX once hs_done (l7/ktls.h) */
	unsigned int ssl_rd_wants_wr : 1, ssl_wr_wants_rd : 1;
	char peer[INET6_ADDRSTRLEN];
	struct gw_ip peer_ip;
	__u32 hash;
	/* readiness (edge-triggered) */
	unsigned int rd_ready : 1, wr_ready : 1, rd_hup : 1, rd_eof : 1, closed : 1;
	unsigned int keep : 1, wr_shut : 1, resume_queued : 1;
	unsigned int first : 1, hs_done : 1;	/* no request yet; TLS handshake over */
	int state;
	struct gw_h2 *h2;		/* CS_H2: the connection speaks HTTP/2 (h2.h) */
	struct gw_h2_stream *h2st;	/* a stream connection: no socket, its request
					 * comes from and its response goes to h2st */

	/* the request */
	struct gw_l7_wsnap *ws;
	const struct gw_l7_route *route;
	struct gw_upstream *ups;
	int srv;
	unsigned int tries;
	int status;
	unsigned int reason;		/* why gwd answered itself (answer()), or GW_L7_R_NONE */
	__u64 t0;
	unsigned int method;
	int cors_origin;		/* the answer's CORS fields (l7/cors.h) */
	struct gw_zstream *z;		/* the answer is compressed (proxy/compress.h) */
	unsigned int accept_enc : 2, z_last : 1;	/* GW_ENC_* the request takes */
	struct gw_breaker *brk;		/* counted active on its upstream (l7/breaker.h) */
	unsigned int brk_pending : 1, brk_retry : 1;
	unsigned int head_request : 1, upgrade : 1, has_body : 1;
	unsigned int rq_scanned : 1, rq_sent : 1, rs_started : 1, rs_scanned : 1;
	unsigned int up_reusable : 1, rs_dechunk : 1, rs_interim : 1;
	int rq_body, rs_body, rs_state;
	__u32 rs_skip;			/* chunk framing to drop once rs_ready is out */
	__u64 rq_left, rs_left;
	__u32 rq_ready, rs_ready;
	struct gw_chunk rq_ch, rs_ch;

	/* for the access log, taken at the request's start when logging */
	__u64 a_time;			/* CLOCK_REALTIME ns; 0: nothing taken */
	__u64 bytes_in, bytes_out;	/* body bytes from / to the client */
	__u16 a_path_len;
	__u8 a_method_len, a_rid_len;
	char a_method[24];
	char a_path[512];
	char a_rid[129];
	char a_consumer[256];		/* "": none */

	/* the upstream connection */
	struct gw_upconn *up;
	unsigned int up_connecting : 1, up_rd_ready : 1, up_wr_ready : 1, up_hup : 1;
	unsigned int up_eof : 1, up_reused : 1, up_wr_shut : 1;

	/* the head buffer: a request head going upstream (hdst 1) or a
	 * response head, or a whole gateway answer, going to the client */
	__u32 hlen, hoff;
	int hdst;

	struct gw_splice *sp;		/* spliced in the kernel (proxy/splice.c) */

	/* not zeroed by a new connection or stream: set as a request starts */
	struct gw_http_req req;
	struct gw_http_resp resp;
	struct gw_http_hdr rqh[GW_L7_MAX_HDRS];
	struct gw_http_hdr rsh[GW_L7_MAX_HDRS];
	char hbuf[GW_L7_HEAD_BUF];
	struct pbuf in, out;
};

#define HDST_CLIENT 0
#define HDST_UP 1

static const struct gw_http_limits req_limits = {
	.max_line = 8000,
	.max_fields = 8000,
	.max_headers = GW_L7_MAX_HDRS,
};

static const struct gw_http_limits resp_limits = {
	.max_line = 8000,
	.max_fields = 8000,
	.max_headers = GW_L7_MAX_HDRS,
};

static const struct gw_chunk_limits chunk_limits = { 0 };

static void cli_drive(struct gw_cli *c);
static void cli_close(struct gw_cli *c);
static void up_begin(struct gw_cli *c);
static void req_end(struct gw_cli *c);
static void req_abort(struct gw_cli *c, int status);
static void new_request_id(struct gw_cli *c, char *id);
static ssize_t h2_stream_read(struct gw_cli *c);
static ssize_t h2_stream_write(struct gw_cli *c, const char *a, size_t alen, const char *b,
			       size_t blen);
static void h2_stream_close(struct gw_cli *c);
static int h2_detect(struct gw_cli *c);
static int may_write(const struct gw_cli *c, int up);

/* ---- small helpers ------------------------------------------------------------ */

/* A request starts: the newest snapshot, counted; the worker's listeners
 * follow a new one. Returns it. */
static struct gw_l7_wsnap *snap_take(struct gw_proxy_worker *w)
{
	struct gw_l7_wsnap *ws;
	int changed;

	ws = gw_l7_view_take(&w->snaps, &changed);
	if (changed && !w->draining && w->on_snap)
		w->on_snap(w, ws->s);
	return ws;
}

/* A request is done with ws. */
static void snap_drop(struct gw_proxy_worker *w, struct gw_l7_wsnap *ws)
{
	gw_l7_view_drop(&w->snaps, ws);
}

/* The current time as an HTTP date ("Mon, 07 Dec 2026 19:20:52 GMT"),
 * formatted once a second per worker. Returns it. */
static const char *http_date(struct gw_proxy_worker *w)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != w->date_sec || !w->date[0]) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_sec = ts.tv_sec;
	}
	return w->date;
}

static __u64 rng_next(struct gw_proxy_worker *w)
{
	__u64 s1 = w->rng[0];
	const __u64 s0 = w->rng[1];

	w->rng[0] = s0;
	s1 ^= s1 << 23;
	w->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return w->rng[1] + s0;
}

/* Writes v as 16 lower-case hex digits (no NUL). */
static void hex64(char *out, __u64 v)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
}

static __u64 now_ns(struct gw_cli *c)
{
	return gw_loop_now(c->w->loop);
}

/* Moves unread bytes to the front when the tail has less than a quarter
 * of the buffer. Returns the free bytes at the tail. */
static __u32 pbuf_room(struct pbuf *b)
{
	if (b->start == b->end) {
		b->start = 0;
		b->end = 0;
	} else if (b->start && GW_L7_BUF - b->end < GW_L7_BUF / 4) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return GW_L7_BUF - b->end;
}

static __u32 pbuf_len(const struct pbuf *b)
{
	return b->end - b->start;
}

/* Reads from fd into b. Returns bytes read (> 0), 0 on EOF, -EAGAIN when
 * nothing is there or b is full, or another -errno. *ready is cleared when
 * the socket is known to be drained. */
static ssize_t pbuf_read(int fd, struct pbuf *b, int hup, unsigned int *ready)
{
	__u32 room = pbuf_room(b);
	ssize_t n;

	if (!room)
		return -EAGAIN;
	n = recv(fd, b->data + b->end, room, 0);
	if (n > 0) {
		b->end += (__u32)n;
		if ((size_t)n < room && !hup)
			*ready = 0;
		return n;
	}
	if (n == 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		*ready = 0;
		return -EAGAIN;
	}
	return errno == EINTR ? -EAGAIN : -errno;
}

/* Sends up to two pieces with one syscall. Returns bytes sent (>= 0), or
 * -errno; *ready is cleared when the socket is full. */
static ssize_t send2(int fd, const char *a, size_t alen, const char *b, size_t blen,
		     unsigned int *ready)
{
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	ssize_t n;

	if (alen) {
		iov[mh.msg_iovlen].iov_base = (void *)a;
		iov[mh.msg_iovlen++].iov_len = alen;
	}
	if (blen) {
		iov[mh.msg_iovlen].iov_base = (void *)b;
		iov[mh.msg_iovlen++].iov_len = blen;
	}
	if (!mh.msg_iovlen)
		return 0;
	n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n >= 0) {
		if ((size_t)n < alen + blen)
			*ready = 0;
		return n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		*ready = 0;
		return 0;
	}
	return errno == EINTR ? 0 : -errno;
}

static int idempotent(unsigned int m)
{
	return m == GW_METHOD_GET || m == GW_METHOD_HEAD || m == GW_METHOD_OPTIONS ||
	       m == GW_METHOD_PUT || m == GW_METHOD_DELETE || m == GW_METHOD_TRACE;
}

/* ---- metrics -------------------------------------------------------------------- */

static void stats_record(struct gw_l7_rstats *st, unsigned int worker, int code, __u64 dur_ns)
{
	struct gw_l7_rstats_w *s;
	__u64 us = dur_ns / 1000;
	unsigned int b = 0;

	if (!st)
		return;
	s = &st->w[worker];
	while (b < GW_L7_HIST_BUCKETS - 1 && us > gw_l7_hist_bounds_us[b])
		b++;
	__atomic_store_n(&s->codes[gw_l7_code_slot(code)], s->codes[gw_l7_code_slot(code)] + 1,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&s->hist[b], s->hist[b] + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->sum_us, s->sum_us + us, __ATOMIC_RELAXED);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
}

/* ---- upstream connections -------------------------------------------------------- */

/* ---- circuit breaking (l7/breaker.h) ---------------------------------------------- */

/* The request counts as active on its upstream from its first pick on. */
static void brk_start(struct gw_cli *c)
{
	if (c->brk)
		return;
	c->brk = c->ups->brk;
	gw_breaker_get(c->brk);
	gw_breaker_add(&c->brk->active, 1);
}

/* The request no longer waits for a new connection. */
static void brk_pending_done(struct gw_cli *c)
{
	if (!c->brk_pending)
		return;
	c->brk_pending = 0;
	gw_breaker_add(&c->brk->pending, -1);
}

/* The request is done with its upstream: its counts go. */
static void brk_end(struct gw_cli *c)
{
	if (!c->brk)
		return;
	brk_pending_done(c);
	if (c->brk_retry)
		gw_breaker_add(&c->brk->retries, -1);
	c->brk_retry = 0;
	gw_breaker_add(&c->brk->active, -1);
	gw_breaker_put(c->brk);
	c->brk = NULL;
}

/* A retry within the upstream's retry budget (a request's retries count
 * once). Returns 1 when it may retry, else 0. */
static int brk_retry(struct gw_cli *c)
{
	if (c->brk_retry)
		return 1;
	if (!c->brk || !gw_breaker_retry_ok(c->brk))
		return 0;
	c->brk_retry = 1;
	gw_breaker_add(&c->brk->retries, 1);
	return 1;
}

static void up_timer_cb(struct gw_timer *t);
static void up_io_cb(struct gw_io *io, __u32 events);

static void upconn_free(void *arg)
{
	free(arg);
}

/* Closes an upstream connection (in use or idle). */
static void upconn_close(struct gw_proxy_worker *w, struct gw_upconn *uc)
{
	gw_pool_unlink(uc);
	*uc->wpprev = uc->wnext;
	if (uc->wnext)
		uc->wnext->wpprev = uc->wpprev;
	gw_io_stop(w->loop, &uc->io);
	gw_timer_stop(w->loop, &uc->timer);
	SSL_free(uc->ssl);
	close(uc->fd);
	gw_srv_state_put(uc->st);
	uc->st = NULL;
	if (uc->brk) {
		gw_breaker_add(&uc->brk->conns, -1);
		gw_breaker_put(uc->brk);
		uc->brk = NULL;
	}
	uc->owner = NULL;
	if (gw_loop_defer(w->loop, upconn_free, uc))
		pr_warn("l7: out of memory deferring a free\n");
}

/* The worker of this thread: idle pooled connections' callbacks have no
 * client connection to find it through. */
static __thread struct gw_proxy_worker *tls_worker;

/* Sets uc's deadline. The timer is lazy: it stays armed at an earlier time
 * and, when it fires early, re-arms for what is left, so moving a deadline
 * later (every request) costs no heap operation. */
static void up_set_deadline(struct gw_proxy_worker *w, struct gw_upconn *uc, __u64 when)
{
	__u64 now = gw_loop_now(w->loop);

	uc->deadline = when;
	if (!gw_timer_armed(&uc->timer) || uc->timer.when_ns > when)
		gw_timer_start(w->loop, &uc->timer, when > now ? when - now : 0, up_timer_cb);
}

/* Releases the request's upstream connection: back to the pool when it can
 * carry another request, else closed. */
static void up_release(struct gw_cli *c, int reusable)
{
	struct gw_upconn *uc = c->up;
	struct gw_proxy_worker *w = c->w;

	if (!uc)
		return;
	c->up = NULL;
	brk_pending_done(c);
	if (c->ups && c->ups->balance == GW_BALANCE_LEAST_CONN)
		__atomic_fetch_sub(&uc->st->active, 1, __ATOMIC_RELAXED);
	if (reusable && !w->draining && !c->up_eof && !c->up_connecting &&
	    gw_upstream_poolable(c->ups, uc->st, now_ns(c)) && !gw_pool_put(uc)) {
		uc->owner = NULL;
		up_set_deadline(w, uc, now_ns(c) + c->ups->idle_ns);
		return;
	}
	upconn_close(w, uc);
}

/* Attaches uc to the request; starts the response clock. */
static void up_attach(struct gw_cli *c, struct gw_upconn *uc, int connecting)
{
	c->up = uc;
	uc->owner = c;
	uc->uses++;
	c->up_connecting = connecting;
	c->up_rd_ready = 0;
	c->up_wr_ready = !connecting;
	c->up_hup = 0;
	c->up_eof = 0;
	c->up_wr_shut = 0;
	c->up_reused = uc->uses > 1;
	up_set_deadline(c->w, uc,
			now_ns(c) + (connecting ? c->ups->connect_ns : c->ups->response_ns));
	if (c->ups->balance == GW_BALANCE_LEAST_CONN)
		__atomic_fetch_add(&uc->st->active, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&uc->st->pool[uc->worker].requests,
			 uc->st->pool[uc->worker].requests + 1, __ATOMIC_RELAXED);
}

/* A channel to server s of an HTTP/2 upstream (h2up.h). Returns its fd
 * or -errno. */
static int h2up_channel(struct gw_cli *c, const struct gw_up_server *s)
{
	const struct gw_upstream *u = c->ups;
	struct gw_h2up_target t = {
		.sa = (const struct sockaddr *)&s->sa, .salen = s->salen, .addr = &s->addr,
		.tls = u->protocol == GW_UP_PROTO_H2 ? u->tls : NULL,
		.max_streams = u->h2.max_concurrent_streams,
		.window = (__u32)u->h2.initial_window_size,
		.conn_window = (__u32)u->h2.connection_window_size,
		.header_list = (__u32)u->h2.max_header_list_size,
		.table = (__u32)u->h2.header_table_size, .idle_ns = u->idle_ns,
	};

	return gw_h2up_open(c->w->loop, &t);
}

/* Opens a connection to server s. Returns 0 or -errno. */
static int up_connect(struct gw_cli *c, const struct gw_up_server *s)
{
	struct gw_upconn *uc;
	int fd, one = 1, err;

	if (c->ups->protocol != GW_UP_PROTO_HTTP1) {
		/* HTTP/1.1 to a channel onto a shared HTTP/2 session (h2up.h) */
		fd = h2up_channel(c, s);
		if (fd < 0)
			return fd;
		goto opened;
	}
	fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&s->sa, s->salen) && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
opened:
	uc = calloc(1, sizeof(*uc));
	if (!uc) {
		close(fd);
		return -ENOMEM;
	}
	uc->fd = fd;
	/* (an HTTP/2 upstream's TLS is the session's, h2up.c) */
	if (c->ups->tls && c->ups->protocol == GW_UP_PROTO_HTTP1 &&
	    !(uc->ssl = gw_uptls_new_ssl(c->ups->tls, &s->addr, fd))) {
		close(fd);
		free(uc);
		return -ENOMEM;
	}
	uc->worker = c->w->id;
	uc->st = s->st;
	gw_srv_state_get(uc->st);
	uc->brk = c->brk;
	gw_breaker_get(uc->brk);
	gw_breaker_add(&uc->brk->conns, 1);
	err = gw_io_start(c->w->loop, &uc->io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			  up_io_cb);
	if (err) {
		gw_srv_state_put(uc->st);
		SSL_free(uc->ssl);
		gw_breaker_add(&uc->brk->conns, -1);
		gw_breaker_put(uc->brk);
		close(fd);
		free(uc);
		return err;
	}
	uc->wnext = c->w->upconns;
	if (uc->wnext)
		uc->wnext->wpprev = &uc->wnext;
	uc->wpprev = &c->w->upconns;
	c->w->upconns = uc;
	up_attach(c, uc, 1);
	return 0;
}

/* ---- answers of the gateway's own ---------------------------------------------- */

/*
 * Every answer gwd makes itself goes through answer(), with the reason it
 * answers (GW_L7_R_*, named as below), kept in c->reason until the request
 * ends (req_end(), where the request is counted, in
 * gw_http_gateway_answers_total too, and logged with its reason):
 *   bad_request       a refused request head (4xx, 501, 505), or a target
 *                     that does not normalize (400)
 *   head_too_large    a request head or a line of it too large (431)
 *   bad_body          a malformed request body (400)
 *   body_too_large    a request body above the route's or listener's max_body (413)
 *   client_timeout    the client's head or body came too slowly (408)
 *   no_route          no route takes the request (404)
 *   auth              the route's auth stage answered (401, 403 ...)
 *   rate_limited      the route's limit stage answered (429)
 *   respond           a respond route
 *   uri_too_long      the upstream's target does not fit (414)
 *   upstream_head     the upstream head does not fit (431) or is invalid (500)
 *   no_server         no usable server (503), or no other one to retry (502)
 *   connect_failed    the connect failed (refused, unreachable, timed out)
 *                     and no retry is allowed (502)
 *   upstream_failed   the server took the connection, then failed the
 *                     request: reset, EOF or a bad answer (502)
 *   upstream_timeout  the upstream did not answer in time (504)
 *   upstream_tls      the TLS handshake with the server failed: its
 *                     certificate did not verify or name the server,
 *                     it wanted a client certificate ... (502)
 */

/* Formats an answer into the head buffer: rep's extra fields and body, or
 * (rep NULL or without a body) the status's reason phrase as the body.
 * Returns its length, or -errno (gw_http_format_response()). */
static int answer_format(struct gw_cli *c, int status, const struct gw_l7_reply *rep,
			 int close_after)
{
	struct gw_http_kv extra[GW_L7_REPLY_EXTRA + 1 + GW_PROXY_ANSWER_FIELDS];
	size_t n_extra = 0, i;
	const char *body = rep ? rep->body : NULL, *ctype = "text/plain";
	size_t body_len = rep ? rep->body_len : 0;
	char msg[64];
	int l;

	for (i = 0; rep && i < rep->n_extra && i < GW_L7_REPLY_EXTRA; i++) {
		extra[n_extra++] = rep->extra[i];
		if (!strcasecmp(rep->extra[i].name, "content-type"))
			ctype = NULL;	/* a respond route's own */
	}
	/* a CORS route's refusals carry its fields (a preflight has its own) */
	if (c->route && c->reason != GW_L7_R_CORS)
		n_extra += gw_proxy_answer_fields(c->route->r, c->cors_origin, extra + n_extra);
	extra[n_extra].name = "Date";	/* RFC 9110 6.6.1: an origin's answer has one */
	extra[n_extra++].value = http_date(c->w);
	if (!body) {
		l = snprintf(msg, sizeof(msg), "%s\n", gw_http_reason(status));
		body = msg;
		body_len = (size_t)l;
	}
	if (status < 200 || status == 204 || status == 304)
		body_len = 0;
	c->bytes_out = body_len;
	return gw_http_format_response(c->hbuf, sizeof(c->hbuf), status, extra, n_extra,
				       ctype, body, body_len, close_after);
}

/* Answers the current request with a response of the gateway's own (see
 * above for reason): status, with rep's fields and body (may be NULL);
 * close_after: the client connection ends after it. cli_drive() sends it. */
static void answer(struct gw_cli *c, unsigned int reason, int status,
		   const struct gw_l7_reply *rep, int close_after)
{
	int n;

	if (c->up)
		up_release(c, 0);
	if (c->has_body && !c->rq_scanned)
		close_after = 1;	/* the body's end is unknown: no next request */
	if (c->w->draining || c->rd_eof)
		close_after = 1;
	c->reason = reason;
	c->keep = !close_after;
	c->status = status;
	c->progress = now_ns(c);	/* the answer's send clock starts */
	n = answer_format(c, status, rep, close_after);
	if (n < 0) {
		c->status = 500;
		c->keep = 0;
		n = gw_http_format_response(c->hbuf, sizeof(c->hbuf), 500, NULL, 0, NULL, NULL, 0,
					    true);
	}
	c->hlen = n > 0 ? (__u32)n : 0;
	c->hoff = 0;
	c->hdst = HDST_CLIENT;
	c->rs_started = 1;
	c->state = CS_REPLY;
	if (c->a_time && !c->a_rid_len)
		new_request_id(c, c->w->scratch.reqid);	/* the log's line names it */
}

/* ---- requests ------------------------------------------------------------------- */

/* Writes the worker's buffered access log lines (after each batch). */
static void log_flush(void *arg)
{
	struct gw_proxy_worker *w = arg;

	w->alb_flush_queued = 0;
	if (w->alb_log && w->alb->len)
		gw_accesslog_flush(w->alb_log, w->alb);
}

/* Keeps the request id for the access log line. */
static void log_rid(struct gw_cli *c, const char *rid, size_t rid_len)
{
	size_t n = rid_len < sizeof(c->a_rid) ? rid_len : sizeof(c->a_rid);

	memcpy(c->a_rid, rid, n);
	c->a_rid_len = (__u8)n;
}

/* A new request id (32 random hex digits) into id[33], kept for the access
 * log line. */
static void new_request_id(struct gw_cli *c, char *id)
{
	hex64(id, rng_next(c->w));
	hex64(id + 16, rng_next(c->w));
	id[32] = '\0';
	if (c->a_time)
		log_rid(c, id, 32);
}

/* Keeps what the access log line needs of the request head (which the
 * buffer will lose): method, path, the client's request id, start time. */
static void log_capture(struct gw_cli *c, const char *buf)
{
	const struct gw_http_req *q = &c->req;
	struct timespec ts;
	size_t n;
	int k;

	clock_gettime(CLOCK_REALTIME, &ts);
	c->a_time = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	n = q->method_tok.len < sizeof(c->a_method) ? q->method_tok.len : sizeof(c->a_method);
	memcpy(c->a_method, buf + q->method_tok.off, n);
	c->a_method_len = (__u8)n;
	n = q->path.len < sizeof(c->a_path) ? q->path.len : sizeof(c->a_path);
	memcpy(c->a_path, buf + q->path.off, n);
	c->a_path_len = (__u16)n;
	c->a_rid_len = 0;
	c->a_consumer[0] = '\0';
	k = gw_http_request_id(q, buf);
	if (k >= 0)
		log_rid(c, buf + q->h.hdr[k].value, q->h.hdr[k].value_len);
}

/* A refused head's access log fields, where the request line still
 * gives them: a method of token bytes and an origin-form path, each up to
 * the next space (bounded; nothing is kept when the line is not that). */
static void log_capture_raw(struct gw_cli *c, const char *p, size_t len)
{
	struct timespec ts;
	size_t m = 0, t;

	clock_gettime(CLOCK_REALTIME, &ts);
	c->a_time = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	c->a_method_len = c->a_path_len = c->a_rid_len = 0;
	c->a_consumer[0] = '\0';
	while (m < len && m < sizeof(c->a_method) &&
	       ((p[m] >= 'A' && p[m] <= 'Z') || (p[m] >= 'a' && p[m] <= 'z') || p[m] == '-'))
		m++;	/* methods in practice: letters and '-' */
	if (!m || m >= len || p[m] != ' ' || m == sizeof(c->a_method))
		return;
	memcpy(c->a_method, p, m);
	c->a_method_len = (__u8)m;
	p += m + 1;
	len -= m + 1;
	for (t = 0; t < len && t < sizeof(c->a_path) && p[t] > ' ' && p[t] < 0x7f; t++)
		;
	if (t && p[0] == '/' && t < len && p[t] == ' ') {
		memcpy(c->a_path, p, t);
		c->a_path_len = (__u16)t;
	}
}

/* Appends the request's line to the worker's buffer; the flush comes after
 * the batch, so a busy worker writes many lines with one write(2). */
static void log_request(struct gw_cli *c, struct gw_accesslog *log)
{
	struct gw_proxy_worker *w = c->w;
	struct gw_access_rec r = { 0 };
	char rid[sizeof(c->a_rid) + 1];
	struct timespec ts;

	if (!c->a_time) {
		clock_gettime(CLOCK_REALTIME, &ts);
		c->a_time = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	}
	r.time_ns = c->a_time;
	r.duration_ns = now_ns(c) - c->t0;
	r.client = &c->peer_ip;
	r.method = c->a_method_len ? c->a_method : NULL;
	r.method_len = c->a_method_len;
	r.path = c->a_method_len ? (c->a_path_len ? c->a_path : "/") : NULL;
	r.path_len = c->a_path_len ? c->a_path_len : 1;
	r.route = c->route ? c->route->r->label : NULL;
	r.upstream = c->ups && c->srv >= 0 ? c->ups->servers[c->srv].name : NULL;
	r.status = c->status ? c->status : 499;
	r.bytes_in = c->bytes_in;
	r.bytes_out = c->bytes_out;
	r.tls = c->ssl ? SSL_get_version(c->ssl) : NULL;
	r.ktls = c->ssl && c->hs_done ? gw_ktls_name(c->ktls) : NULL;
	r.protocol = c->h2st ? "HTTP/2" : !c->a_method_len ? NULL :
		     c->req.h.minor ? "HTTP/1.1" : "HTTP/1.0";
	r.consumer = c->a_time && c->a_consumer[0] ? c->a_consumer : NULL;
	r.reason = gw_l7_reason_name(c->reason);
	r.spliced = c->sp != NULL;
	if (c->sp) {
		__u64 up, down;

		gw_splice_moved(c->sp, &up, &down);
		r.bytes_in += up;
		r.bytes_out += down;
	}
	if (c->a_rid_len) {
		memcpy(rid, c->a_rid, c->a_rid_len);
		rid[c->a_rid_len] = '\0';
		r.request_id = rid;
	}
	if (w->alb_log != log && w->alb->len)
		gw_accesslog_flush(w->alb_log, w->alb);
	w->alb_log = log;
	gw_accesslog_append(log, w->alb, &r);
	if (!w->alb_flush_queued && !gw_loop_defer(w->loop, log_flush, w))
		w->alb_flush_queued = 1;
}

static void req_reset(struct gw_cli *c)
{
	c->route = NULL;
	c->ups = NULL;
	c->srv = -1;
	c->tries = 0;
	c->status = 0;
	c->reason = GW_L7_R_NONE;
	c->cors_origin = -1;
	c->accept_enc = c->z_last = 0;
	c->head_request = c->upgrade = c->has_body = 0;
	c->rq_scanned = c->rq_sent = c->rs_started = c->rs_scanned = 0;
	c->up_reusable = c->rs_dechunk = c->rs_interim = 0;
	c->rs_skip = 0;
	c->a_time = 0;
	c->bytes_in = c->bytes_out = 0;
	c->rq_ready = c->rs_ready = 0;
	c->rq_left = c->rs_left = 0;
	c->hlen = c->hoff = 0;
	c->head_since = 0;
	c->wait_since = now_ns(c);
	c->state = CS_HEAD;
	gw_http_req_init(&c->req, c->rqh, GW_L7_MAX_HDRS, &req_limits);
}

/* The request ends (answered, or abandoned on error): counted and logged
 * (c->reason says why when gwd answered itself), its snapshot released,
 * the upstream connection pooled or closed. The client connection then
 * goes on with the next request or closes. */
static void req_end(struct gw_cli *c)
{
	struct gw_proxy_worker *w = c->w;
	struct gw_l7_rstats *st = NULL;

	gw_proxy_compress_end(w, &c->z);
	brk_end(c);
	if (c->ws) {
		st = c->route ? c->route->stats : c->ws->s->nomatch;
		stats_record(st, w->id, c->status ? c->status : 499, now_ns(c) - c->t0);
		if (st && c->reason)
			gw_l7_count_answer(&st->w[w->id], c->reason, c->status);
		if (c->ws->s->alog)
			log_request(c, c->ws->s->alog);
	}
	if (pbuf_len(&c->out)) {
		/* bytes after the answer: that upstream connection is not to
		 * be trusted with another request, and they are no answer */
		c->up_reusable = 0;
		c->out.start = c->out.end = 0;
	}
	up_release(c, c->up_reusable);
	if (c->ws) {
		snap_drop(w, c->ws);
		c->ws = NULL;
	}
	if (!c->keep || w->draining || c->h2st) {
		cli_close(c);
		return;
	}
	c->first = 0;
	req_reset(c);
}

/* ---- a request's start: capture, route, stages, upstream head ------------------ */

/* Capture: takes what the request needs of its parsed head (which the
 * buffer will lose) and the newest snapshot; its clock starts. */
static void req_capture(struct gw_cli *c, const char *buf)
{
	c->t0 = now_ns(c);
	c->progress = c->t0;
	c->ws = snap_take(c->w);
	c->method = c->req.method;
	c->head_request = c->req.method == GW_METHOD_HEAD;
	c->upgrade = c->req.upgrade;
	c->rq_body = c->req.h.body;
	c->has_body = c->rq_body == GW_BODY_CHUNKED ||
		      (c->rq_body == GW_BODY_LENGTH && c->req.h.content_length);
	c->rq_left = c->req.h.content_length;
	c->rq_scanned = !c->has_body;
	gw_chunk_init(&c->rq_ch, &chunk_limits, false);
	c->keep = c->req.h.keep_alive;
	if (c->ws->s->alog)
		log_capture(c, buf);
}

/* route.h's header lookup for header conditions: the first field named
 * `name`. Returns its value or NULL. */
static const char *route_header(void *arg, const char *name, size_t *len)
{
	struct gw_cli *c = arg;
	const char *buf = c->in.data + c->in.start;
	int k = gw_http_find(&c->req.h, buf, name, strlen(name), 0);

	if (k < 0)
		return NULL;
	*len = c->req.h.hdr[k].value_len;
	return buf + c->req.h.hdr[k].value;
}

/* An Upgrade passes when the route allows every protocol it offers (one
 * Upgrade field only); else the request goes up without it (the builder
 * drops the field) and the origin never switches. Returns 1 or 0. */
static int upgrade_allowed(const struct gw_cli *c, const char *buf)
{
	const struct gw_http_hdr *h;
	int k = gw_http_find(&c->req.h, buf, "upgrade", 7, 0);

	if (k < 0 || gw_http_find(&c->req.h, buf, "upgrade", 7, k + 1) >= 0)
		return 0;
	h = &c->req.h.hdr[k];
	return gw_route_upgrade_allowed(c->route->r, buf + h->value, h->value_len);
}

/* Normalizes the request's target into s->norm (see pathnorm.h) and its
 * host into s->host. Returns the host's length, or -EINVAL (answer 400). */
static int normalize(struct gw_cli *c, const char *buf, struct gw_proxy_scratch *s,
		     size_t *path_len)
{
	const struct gw_http_req *q = &c->req;
	const char *t = buf + q->path.off;
	size_t tl = q->path.len + (q->has_query ? 1 + q->query.len : 0);
	int nl, hl;

	if (!q->path.len) {
		/* absolute-form without a path: "/" and the query */
		s->abs_target[0] = '/';
		tl = 1;
		if (q->has_query) {
			s->abs_target[tl++] = '?';
			memcpy(s->abs_target + tl, buf + q->query.off, q->query.len);
			tl += q->query.len;
		}
		t = s->abs_target;
	}
	hl = gw_host_normalize(buf + q->authority.off, q->authority.len, s->host, 0);
	if (hl < 0)
		return -EINVAL;
	nl = gw_path_normalize(t, tl, s->norm, sizeof(s->norm), path_len);
	if (nl < 0)
		return -EINVAL;
	s->norm_len = (size_t)nl;
	return hl;
}

/* Route: normalizes the target and host and matches the request against
 * the snapshot's routes (c->route). Returns 0, or 1 when answered instead
 * (400: no normal form; 404: no route, or an asterisk-form target). */
/* The request body's limit: the route's max_body, else its listener's.
 * A Content-Length above it is answered 413 now (the connection closes: the
 * body is not read); a chunked body is counted as it comes (the chunk
 * decoder answers 413 at the limit). Returns 1 when it answered, else 0. */
static int req_body_limit(struct gw_cli *c)
{
	__u64 max = c->route->r->max_body ? c->route->r->max_body : c->to.max_body;

	c->rq_ch.max_body = max;
	if (c->rq_body == GW_BODY_LENGTH && c->req.h.content_length > max) {
		answer(c, GW_L7_R_BODY_TOO_LARGE, 413, NULL, 1);
		return 1;
	}
	return 0;
}

static int req_route(struct gw_cli *c, const char *buf, struct gw_proxy_scratch *s)
{
	struct gw_route_req rq = { 0 };
	size_t path_len = 0;
	int hl;

	c->route = NULL;
	if (c->req.form != GW_FORM_ASTERISK) {
		hl = normalize(c, buf, s, &path_len);
		if (hl < 0) {
			answer(c, GW_L7_R_BAD_REQUEST, 400, NULL, 0);
			return 1;
		}
		rq.host = s->host;
		rq.host_len = (size_t)hl;
		rq.path = s->norm;
		rq.path_len = path_len;
		rq.method = buf + c->req.method_tok.off;
		rq.method_len = c->req.method_tok.len;
		rq.header = route_header;
		rq.header_arg = c;
		rq.scheme = c->tls ? GW_SCHEME_HTTPS : GW_SCHEME_HTTP;
		c->route = gw_l7_route_match(c->ws->s, &rq);
	}
	if (!c->route) {
		answer(c, GW_L7_R_NO_ROUTE, 404, NULL, 0);
		return 1;
	}
	return req_body_limit(c);
}

/* The client certificate's verified subject (clientcert.h): the consumer
 * until auth names one, and upstream in the route's client_cert_header. */
static void client_subject(struct gw_cli *c, struct gw_l7_reqctx *ctx)
{
	const char *hdr = c->route->r->client_cert_header;
	char subj[1024];
	size_t n = gw_cauth_subject(c->ssl, subj, sizeof(subj));

	if (!n || !(ctx->consumer = gw_l7_ctx_keep(ctx, subj, n)))
		return;
	if (c->a_time && !c->a_consumer[0])
		snprintf(c->a_consumer, sizeof(c->a_consumer), "%s", ctx->consumer);
	if (hdr && ctx->n_add < GW_L7_MAX_ADD) {
		ctx->add[ctx->n_add].name = hdr;
		ctx->add[ctx->n_add++].value = ctx->consumer;
	}
}

/* Access: the route's client address rule, then its CORS (a preflight is
 * answered here, before auth). Returns 1 when answered, else 0. */
static int req_access(struct gw_cli *c, const char *buf, struct gw_proxy_scratch *s)
{
	switch (gw_proxy_access(c->route->r, &c->peer_ip, &c->req, buf, s, &c->cors_origin)) {
	case GW_ACCESS_IP_DENIED:
		answer(c, GW_L7_R_IP_DENIED, 403, NULL, 0);
		return 1;
	case GW_ACCESS_PREFLIGHT:
		answer(c, GW_L7_R_CORS, s->rep.status, &s->rep, 0);
		return 1;
	case GW_ACCESS_NO_ROUTE:
		answer(c, GW_L7_R_NO_ROUTE, 404, NULL, 0);
		return 1;
	}
	c->accept_enc = gw_proxy_accepts(c->route->r, &c->req, buf) & 3;
	return 0;
}

/* Sets up what the stages see of the request (not memset: the 4 KiB
 * store needs no zeroing). */
static void stage_ctx_init(struct gw_cli *c, const char *buf, struct gw_l7_reqctx *ctx)
{
	ctx->n_add = 0;
	ctx->n_remove = 0;
	ctx->consumer = NULL;
	ctx->store_len = 0;
	ctx->req = &c->req;
	ctx->buf = buf;
	ctx->client = c->peer;
	ctx->client_ip = &c->peer_ip;
	ctx->route = c->route->r->index;
	ctx->worker = c->w->id;
	ctx->now = c->t0;
	if (c->ssl)
		client_subject(c, ctx);
}

/* Runs one stage (none when st->run is NULL). Returns 1 when it answered
 * the request (for `reason`), else 0. */
static int stage_run(struct gw_cli *c, const struct gw_l7_stage *st, unsigned int reason,
		     struct gw_proxy_scratch *s)
{
	int n;

	if (!st->run)
		return 0;
	memset(&s->rep, 0, offsetof(struct gw_l7_reply, buf));
	n = st->run(st->state, &s->ctx, &s->rep);
	if (s->ctx.consumer && c->a_time && !c->a_consumer[0])
		snprintf(c->a_consumer, sizeof(c->a_consumer), "%s", s->ctx.consumer);
	if (n != GW_L7_REPLY)
		return 0;
	answer(c, reason, s->rep.status, &s->rep, 0);
	return 1;
}

/* Stages: the route's auth, then its limit. Returns 1 when one answered,
 * else 0 (the fields they add upstream are in s->ctx). */
static int req_stages(struct gw_cli *c, const char *buf, struct gw_proxy_scratch *s)
{
	stage_ctx_init(c, buf, &s->ctx);
	return stage_run(c, &c->route->auth, GW_L7_R_AUTH, s) ||
	       stage_run(c, &c->route->limit, GW_L7_R_RATE_LIMITED, s);
}

/* A respond route answers itself. Returns 1 when it did, 0 when the route
 * proxies (c->ups set). */
static int req_respond(struct gw_cli *c, struct gw_proxy_scratch *s)
{
	const struct gw_route *r = c->route->r;

	if (c->route->upstream >= 0) {
		c->ups = &c->ws->s->ups[c->route->upstream];
		return 0;
	}
	if (gw_proxy_respond(r, c->tls, gw_host_normalize(c->in.data + c->in.start +
							   c->req.authority.off,
							   c->req.authority.len, s->host, 0),
			     s))
		answer(c, GW_L7_R_RESPOND, 500, NULL, 0);
	else
		answer(c, GW_L7_R_RESPOND, s->rep.status, &s->rep, 0);
	return 1;
}

/* The fields the upstream head adds and removes: the route's
 * request_headers, then what the stages add and drop. Each list is copied
 * into the scratch's fixed arrays within their bounds (proxy.h), so no
 * number of configured fields can overflow them. */
static void fwd_fields(const struct gw_l7_route *r, struct gw_proxy_scratch *s,
		       struct gw_http_fwd *f)
{
	const struct gw_l7_reqctx *ctx = &s->ctx;
	size_t i, n = 0;

	for (i = 0; i < r->n_add && i < GW_CFG_ROUTE_HEADERS_MAX; i++)
		s->add[n++] = r->add[i];
	for (i = 0; i < ctx->n_add && i < GW_L7_MAX_ADD; i++)
		s->add[n++] = ctx->add[i];
	f->add = s->add;
	f->n_add = n;
	f->remove = r->remove;
	f->n_remove = r->n_remove;
	if (!ctx->n_remove)
		return;
	/* the route's removals and the fields a stage adds itself */
	n = 0;
	for (i = 0; i < r->n_remove && i < GW_CFG_ROUTE_HEADERS_MAX; i++)
		s->remove[n++] = r->remove[i];
	for (i = 0; i < ctx->n_remove && i < GW_L7_MAX_ADD; i++)
		s->remove[n++] = ctx->remove[i];
	f->remove = s->remove;
	f->n_remove = n;
}

/* The request's ids upstream: a new X-Request-Id when the client sent no
 * usable one (kept for the access log), random bytes for a new
 * traceparent. */
static void fwd_ids(struct gw_cli *c, const char *buf, struct gw_proxy_scratch *s,
		    struct gw_http_fwd *f)
{
	struct gw_proxy_worker *w = c->w;
	size_t i;

	if (gw_http_request_id(&c->req, buf) < 0) {
		new_request_id(c, s->reqid);
		f->request_id = s->reqid;
	}
	for (i = 0; i < sizeof(s->trace); i += 8) {
		__u64 v = rng_next(w);

		memcpy(s->trace + i, &v, 8);
	}
	f->trace_rand = s->trace;
	f->trace_flags = 0;
}

/* Upstream head: the request head rewritten for the upstream into the head
 * buffer (the normalized target with strip_prefix applied, the route's and
 * stages' fields, forwarding fields). Returns 0, or 1 when answered instead
 * (414, 431, 500). */
static int req_upstream_head(struct gw_cli *c, const char *buf, struct gw_proxy_scratch *s)
{
	struct gw_http_fwd f = { 0 };
	int n;

	n = gw_proxy_target(c->route->r, s);
	if (n < 0) {
		answer(c, n == -ENOSPC ? GW_L7_R_URI_TOO_LONG : GW_L7_R_UPSTREAM_HEAD,
		       n == -ENOSPC ? 414 : 500, NULL, 0);
		return 1;
	}
	f.target = s->target;
	f.target_len = (size_t)n;
	fwd_fields(c->route, s, &f);
	f.client_addr = c->peer;
	f.proto = c->tls ? "https" : "http";
	fwd_ids(c, buf, s, &f);
	c->upgrade = c->upgrade && upgrade_allowed(c, buf);
	f.conn = c->upgrade ? GW_CONN_UPGRADE : GW_CONN_NONE;
	n = gw_http_req_build(&c->req, buf, &f, c->hbuf, sizeof(c->hbuf));
	if (n < 0) {
		answer(c, GW_L7_R_UPSTREAM_HEAD, n == -ENOSPC ? 431 : 500, NULL, 1);
		return 1;
	}
	c->hlen = (__u32)n;
	c->hoff = 0;
	c->hdst = HDST_UP;
	return 0;
}

/* Starts a request whose head (head_len bytes at the start of `in`) was
 * parsed: capture, route, stages, then a respond route's answer or the
 * upstream head and the upstream. The head leaves `in` either way. */
static void req_start(struct gw_cli *c, int head_len)
{
	struct gw_proxy_scratch *s = &c->w->scratch;
	const char *buf = c->in.data + c->in.start;
	int answered;

	req_capture(c, buf);
	answered = req_route(c, buf, s) || req_access(c, buf, s) || req_stages(c, buf, s) ||
		   req_respond(c, s) || req_upstream_head(c, buf, s);
	c->in.start += (__u32)head_len;
	if (answered)
		return;
	c->state = CS_PROXY;
	c->rs_state = RS_HEAD;
	gw_http_resp_init(&c->resp, c->rsh, GW_L7_MAX_HDRS, &resp_limits, c->head_request);
	up_begin(c);
}

/* Picks a server and attaches a pooled or new connection to it; answers
 * 503 (nothing usable) or 502 (a retry found no other server). */
static void up_begin(struct gw_cli *c)
{
	struct gw_proxy_worker *w = c->w;
	__u64 now = now_ns(c);
	struct gw_upconn *uc;
	int idx, err;

	brk_start(c);
	for (;;) {
		idx = gw_upstream_pick(c->ups, w->id, c->hash, c->tries ? c->srv : -1, now);
		if (idx < 0) {
			answer(c, GW_L7_R_NO_SERVER, c->tries ? 502 : 503, NULL, 0);
			return;
		}
		c->srv = idx;
		/* a pooled connection that is still open */
		uc = gw_pool_take(c->ups->servers[idx].st, w->id);
		if (uc) {
			up_attach(c, uc, 0);
			return;
		}
		if (!gw_breaker_connect_ok(c->brk)) {
			answer(c, GW_L7_R_CIRCUIT_OPEN, 503, NULL, 0);
			return;
		}
		err = up_connect(c, &c->ups->servers[idx]);
		if (!err) {
			c->brk_pending = 1;
			gw_breaker_add(&c->brk->pending, 1);
			return;
		}
		pr_debug("l7: connect to %s: %s\n", c->ups->servers[idx].name, strerror(-err));
		/* the gateway's own shortage says nothing about the server */
		if (err != -EMFILE && err != -ENFILE && err != -ENOMEM && err != -ENOBUFS &&
		    err != -EADDRNOTAVAIL)
			gw_upstream_report(c->ups, c->ups->servers[idx].st, GW_UP_FAIL, now);
		if (!idempotent(c->method) || c->tries >= c->ups->retries || !brk_retry(c)) {
			answer(c, GW_L7_R_CONNECT_FAILED, 502, NULL, 0);
			return;
		}
		c->tries++;
	}
}

/* 1 when the request failed only because the reused keep-alive connection
 * it went on was closed under it (EOF, reset, EPIPE) before any byte of the
 * answer: it may go again on another connection, without blame on the
 * server (HAProxy and Envoy retry this race too). An idempotent request
 * may have been sent already (its head still in the head buffer, no body
 * byte gone: rq_sent); another one only when no byte of it went out. */
static int reused_race(const struct gw_cli *c, int kind)
{
	return c->up_reused && kind == FAIL_IO && c->hdst == HDST_UP && !c->rq_sent &&
	       (idempotent(c->method) || c->hoff == 0) && c->rs_state == RS_HEAD &&
	       !pbuf_len(&c->out) && !c->rs_started;
}

/* The upstream failed the request: retried when allowed (connect failures
 * of idempotent requests, on another server; a reused connection's race,
 * reused_race(), on any server: at most once per pooled connection, the
 * pool being bounded, and not counted against the server), else 502/504
 * or, once the response has started, the client connection is cut. */
static void up_fail(struct gw_cli *c, int kind)
{
	/* the head buffer must still hold the request (no interim answer) */
	int resendable = idempotent(c->method) && !c->rq_sent && c->hdst == HDST_UP;
	int race = reused_race(c, kind);
	/* a server that took the connection: not the last one's ejection */
	int outcome = kind == FAIL_CONNECT || kind == FAIL_TLS ? GW_UP_FAIL : GW_UP_FAIL_ANSWER;
	struct gw_up_server *s = c->srv >= 0 ? &c->ups->servers[c->srv] : NULL;

	if (s && !race)
		gw_upstream_report(c->ups, s->st, outcome, now_ns(c));
	if (s)
		pr_debug("l7: upstream %s server %s failed (%d)\n", c->ups->name, s->name, kind);
	up_release(c, 0);
	if (race || ((kind == FAIL_CONNECT || kind == FAIL_TLS) && resendable &&
		     c->tries < c->ups->retries && brk_retry(c))) {
		if (!race)
			c->tries++;
		c->hoff = 0;
		c->hdst = HDST_UP;
		up_begin(c);
		return;
	}
	if (c->rs_started) {
		c->keep = 0;
		c->up_reusable = 0;
		if (!c->status)
			c->status = 502;
		req_end(c);
		return;
	}
	c->out.start = c->out.end = 0;
	if (kind == FAIL_TIMEOUT)
		answer(c, GW_L7_R_UPSTREAM_TIMEOUT, 504, NULL, c->rq_sent && !c->rq_scanned);
	else if (kind == FAIL_TLS)
		answer(c, GW_L7_R_UPSTREAM_TLS, 502, NULL, c->rq_sent && !c->rq_scanned);
	else
		answer(c, kind == FAIL_CONNECT ? GW_L7_R_CONNECT_FAILED : GW_L7_R_UPSTREAM_FAILED,
		       502, NULL, c->rq_sent && !c->rq_scanned);
}

/* ---- the steps cli_drive() takes --------------------------------------------------- */

/* One SSL_read into b (the handshake runs inside it). Returns bytes (> 0),
 * 0 on the peer's close_notify or EOF, -EAGAIN (readiness noted) or -EIO. */
static ssize_t tls_read(struct gw_cli *c, struct pbuf *b)
{
	__u32 room = pbuf_room(b);
	int n;

	if (!room)
		return -EAGAIN;
	ERR_clear_error();
	n = SSL_read(c->ssl, b->data + b->end, (int)room);
	if (n > 0) {
		/* a record boundary says nothing about the socket: rd_ready
		 * stays until SSL asks for more */
		b->end += (__u32)n;
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		c->rd_ready = 0;
		if (!c->hs_done && c->ktls == GW_KTLS_PLAN_TRY)
			gw_ktls_rx_kick(c->ssl, c->fd);
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->rd_ready = 0;
		c->ssl_rd_wants_wr = 1;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		return n == 0 ? 0 : -EIO;	/* EOF without close_notify */
	default:
		pr_debug("l7: TLS from %s: %s\n", c->peer,
			 ERR_reason_error_string(ERR_peek_last_error()) ?: "error");
		return -EIO;
	}
}

/* As send2() on the client's TLS session: the two pieces go out as one
 * record when both are there (copied into the worker's scratch). */
static ssize_t tls_send2(struct gw_cli *c, const char *a, size_t alen, const char *b,
			 size_t blen)
{
	const char *p = alen ? a : b;
	size_t len = alen + blen;
	int n;

	if (alen && blen) {
		memcpy(c->w->tls_scratch, a, alen);
		memcpy(c->w->tls_scratch + alen, b, blen);
		p = c->w->tls_scratch;
	}
	if (!len)
		return 0;
	ERR_clear_error();
	n = SSL_write(c->ssl, p, (int)len);
	if (n > 0) {
		if ((size_t)n < len)
			c->wr_ready = 0;
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_WRITE:
		c->wr_ready = 0;
		return 0;
	case SSL_ERROR_WANT_READ:
		c->wr_ready = 0;
		c->ssl_wr_wants_rd = 1;
		return 0;
	default:
		return -EIO;
	}
}

/* Client progress (body bytes in or response bytes out): while the request
 * moves at the client's pace, gwd is not waiting on the upstream, so its
 * response clock starts again. Without this a slow client's upload or
 * download would end in a 504 although the upstream keeps up. */
static void client_progress(struct gw_cli *c)
{
	c->progress = now_ns(c);
	if (c->up && !c->up_connecting && c->state != CS_TUNNEL)
		c->up->deadline = c->progress + c->ups->response_ns;
}

/* Client bytes into `in`. Returns 1 on progress, 0 without, -1 when the
 * connection was closed. */
static int step_client_read(struct gw_cli *c)
{
	ssize_t n;
	unsigned int r;

	if (!c->rd_ready || c->rd_eof)
		return 0;
	if (c->h2st) {
		n = h2_stream_read(c);
	} else if (c->ssl) {
		n = tls_read(c, &c->in);
	} else {
		r = c->rd_ready;
		n = pbuf_read(c->fd, &c->in, c->rd_hup, &r);
		c->rd_ready = r;
	}
	if (n > 0) {
		client_progress(c);
		return 1;
	}
	if (n == 0) {
		c->rd_eof = 1;
		return 1;
	}
	if (n == -EAGAIN)
		return 0;
	cli_close(c);
	return -1;
}

/* Whether a compressed answer's head waits to go with the first chunk: while
 * a piece is held, or before the first piece of a Content-Length body (it
 * is on its way; a stream's head goes at once). Returns 1 or 0. */
static int z_head_waits(const struct gw_cli *c)
{
	size_t in, out;

	gw_zstream_counts(c->z, &in, &out);
	return gw_zstream_held(c->z) || (!in && !c->z_last && c->rs_body == GW_BODY_LENGTH);
}

/* The head buffer and the ready response bytes to the client. Returns 1 on
 * progress, 0 without, -1 when closed. */
static int step_client_write(struct gw_cli *c)
{
	const char *h = NULL, *b = c->out.data + c->out.start;
	size_t hl = 0;
	__u32 body = c->state == CS_TUNNEL ? pbuf_len(&c->out) : c->rs_ready;
	ssize_t n;
	unsigned int r;

	if (c->z)
		body = (__u32)gw_zstream_pending(c->z, &b);
	if (c->z && !body && z_head_waits(c))
		return 0;

	if (c->hdst == HDST_CLIENT && c->hoff < c->hlen) {
		h = c->hbuf + c->hoff;
		hl = c->hlen - c->hoff;
	}
	if (c->state == CS_REPLY)
		body = 0;
	if ((!hl && !body) || !c->wr_ready || !may_write(c, 0))
		return 0;
	if (c->h2st) {
		n = h2_stream_write(c, h, hl, b, body);
	} else if (c->ssl) {
		n = tls_send2(c, h, hl, b, body);
	} else {
		r = c->wr_ready;
		n = send2(c->fd, h, hl, b, body, &r);
		c->wr_ready = r;
	}
	if (n < 0) {
		cli_close(c);
		return -1;
	}
	if (!n)
		return 0;
	client_progress(c);
	if ((size_t)n <= hl) {
		c->hoff += (__u32)n;
		return 1;
	}
	c->hoff = c->hlen;
	n -= (ssize_t)hl;
	if (c->z) {
		gw_zstream_sent(c->z, (size_t)n);
		c->bytes_out += (__u64)n;
		return 1;
	}
	c->out.start += (__u32)n;
	c->bytes_out += (__u64)n;
	if (c->state != CS_TUNNEL)
		c->rs_ready -= (__u32)n;
	if (!c->rs_ready && c->rs_skip) {
		c->out.start += c->rs_skip;
		c->rs_skip = 0;
	}
	return 1;
}

/* Validates more of the request body in `in`. Returns 0, or -1 when the
 * body is malformed (the request was answered or cut). */
static int scan_request_body(struct gw_cli *c)
{
	__u32 avail = pbuf_len(&c->in);
	size_t used;
	int rc;

	if (c->rq_scanned || c->rq_ready || !avail)
		return 0;
	if (c->rq_body == GW_BODY_LENGTH) {
		c->rq_ready = avail < c->rq_left ? avail : (__u32)c->rq_left;
		c->rq_left -= c->rq_ready;
		if (!c->rq_left)
			c->rq_scanned = 1;
		return 0;
	}
	rc = gw_chunk_scan(&c->rq_ch, c->in.data + c->in.start, avail, &used);
	if (rc < 0) {
		pr_debug("l7: bad request body from %s: %s\n", c->peer, c->rq_ch.reason);
		if (c->rs_started) {
			c->keep = 0;
			req_end(c);
		} else {
			answer(c, c->rq_ch.status == 413 ? GW_L7_R_BODY_TOO_LARGE : GW_L7_R_BAD_BODY,
			       c->rq_ch.status ? c->rq_ch.status : 400, NULL, 1);
		}
		return -1;
	}
	c->rq_ready = (__u32)used;
	if (rc == GW_CHUNK_DONE)
		c->rq_scanned = 1;
	return 0;
}

/* The request head and body to the upstream. Returns 1 on progress, 0
 * without, -1 when the request changed course (failed, answered). */
static int step_up_write(struct gw_cli *c)
{
	const char *h = NULL;
	size_t hl = 0;
	__u32 body;
	ssize_t n;
	unsigned int r;

	if (!c->up || c->up_connecting || !c->up_wr_ready || c->up_wr_shut || !may_write(c, 1))
		return 0;
	if (c->hdst == HDST_UP && c->hoff < c->hlen) {
		h = c->hbuf + c->hoff;
		hl = c->hlen - c->hoff;
	}
	if (c->state == CS_TUNNEL) {
		body = pbuf_len(&c->in);
	} else {
		if (scan_request_body(c))
			return -1;
		body = c->rq_ready;
	}
	if (!hl && !body)
		return 0;
	r = c->up_wr_ready;
	if (c->up->ssl)
		n = gw_uptls_write2(c->up->ssl, c->w->tls_scratch, h, hl,
				    c->in.data + c->in.start, body, &r);
	else
		n = send2(c->up->fd, h, hl, c->in.data + c->in.start, body, &r);
	c->up_wr_ready = r;
	if (n < 0) {
		if (c->state == CS_TUNNEL) {
			cli_close(c);
			return -1;
		}
		up_fail(c, FAIL_IO);
		return -1;
	}
	if (!n)
		return 0;
	/* the upstream takes the request: its response clock restarts, and
	 * so does the client's body clock (what it waits for is new bytes) */
	c->progress = now_ns(c);
	c->up->deadline = c->progress + (c->state == CS_TUNNEL ? c->ups->idle_ns :
								 c->ups->response_ns);
	if ((size_t)n <= hl) {
		c->hoff += (__u32)n;
		return 1;
	}
	c->hoff = c->hlen;
	n -= (ssize_t)hl;
	c->in.start += (__u32)n;
	c->bytes_in += (__u64)n;
	if (c->state != CS_TUNNEL) {
		c->rq_ready -= (__u32)n;
		c->rq_sent = 1;
	}
	return 1;
}

/* Reads the upstream's bytes (through its TLS session if it has one) into
 * `out`. Returns what pbuf_read() does. */
static ssize_t up_read(struct gw_cli *c, unsigned int *ready)
{
	__u32 room;
	ssize_t n;

	if (!c->up->ssl)
		return pbuf_read(c->up->fd, &c->out, c->up_hup, ready);
	room = pbuf_room(&c->out);
	if (!room)
		return -EAGAIN;
	n = gw_uptls_read(c->up->ssl, c->out.data + c->out.end, room, ready);
	if (n > 0)
		c->out.end += (__u32)n;
	return n;
}

/* Upstream bytes into `out`. Returns 1 on progress, 0 without, -1 when the
 * request changed course. */
static int step_up_read(struct gw_cli *c)
{
	ssize_t n;
	unsigned int r;

	if (!c->up || c->up_connecting || !c->up_rd_ready || c->up_eof)
		return 0;
	if (c->state == CS_PROXY && c->hdst == HDST_UP && c->hoff < c->hlen)
		return 0;	/* the request head first */
	if (c->state == CS_PROXY && c->rs_state == RS_HEAD && c->hdst == HDST_CLIENT &&
	    c->hoff < c->hlen)
		return 0;	/* an interim head still going out */
	r = c->up_rd_ready;
	n = up_read(c, &r);
	c->up_rd_ready = r;
	if (n > 0) {
		/* new bytes for the client: its send clock starts again */
		c->progress = now_ns(c);
		c->up->deadline = c->progress + (c->state == CS_TUNNEL ? c->ups->idle_ns :
									 c->ups->response_ns);
		return 1;
	}
	if (n == 0) {
		c->up_eof = 1;
		return 1;
	}
	if (n == -EAGAIN)
		return 0;
	if (c->state == CS_TUNNEL) {
		cli_close(c);
		return -1;
	}
	up_fail(c, n == -EPROTO ? FAIL_TLS : FAIL_IO);	/* -EPROTO: a TLS alert */
	return -1;
}

/* Parses the response head in `out` and writes the client's version into
 * the head buffer. Returns 1 on progress, 0 without, -1 on change of course. */
static int step_resp_head(struct gw_cli *c)
{
	struct gw_http_rfwd f = { 0 };
	__u32 avail = pbuf_len(&c->out);
	int rc, n, keep;

	if (c->rs_state != RS_HEAD || (c->hdst == HDST_CLIENT && c->hoff < c->hlen) ||
	    (c->hdst == HDST_UP && c->hoff < c->hlen))
		return 0;
	if (!avail) {
		if (c->up_eof) {
			up_fail(c, FAIL_IO);
			return -1;
		}
		return 0;
	}
	rc = gw_http_resp_parse(&c->resp, c->out.data + c->out.start, avail);
	if (rc == 0) {
		if (c->up_eof || avail == GW_L7_BUF) {
			up_fail(c, c->up_eof ? FAIL_IO : FAIL_BAD);
			return -1;
		}
		return 0;
	}
	if (rc < 0) {
		pr_debug("l7: bad response from %s: %s\n", c->ups->servers[c->srv].name,
			 c->resp.h.reason);
		up_fail(c, FAIL_BAD);
		return -1;
	}
	if (c->resp.interim) {
		c->rs_interim = 1;
		f.conn = GW_CONN_NONE;
		/* RFC 9110 15.2: no 1xx goes to an HTTP/1.0 client */
		n = c->req.h.minor == 0 ? -1 :
			gw_http_resp_build(&c->resp, c->out.data + c->out.start, &f, c->hbuf,
					   sizeof(c->hbuf));
		c->out.start += (__u32)rc;
		gw_http_resp_init(&c->resp, c->rsh, GW_L7_MAX_HDRS, &resp_limits,
				  c->head_request);
		if (n < 0)
			return 1;	/* dropped: for HTTP/1.0, or not rewritable */
		c->hlen = (__u32)n;
		c->hoff = 0;
		c->hdst = HDST_CLIENT;
		return 1;
	}
	if (c->resp.switching && !c->upgrade) {
		up_fail(c, FAIL_BAD);
		return -1;
	}
	gw_upstream_report(c->ups, c->ups->servers[c->srv].st, GW_UP_OK, now_ns(c));
	keep = c->keep && !c->w->draining && c->resp.h.body != GW_BODY_CLOSE && !c->rd_eof;
	/* An HTTP/1.0 client cannot take chunked: the payload goes out as it
	 * is and the connection's end delimits it. */
	c->rs_dechunk = c->req.h.minor == 0 && c->resp.h.body == GW_BODY_CHUNKED;
	if (c->rs_dechunk && c->resp.h.nte != 1) {
		up_fail(c, FAIL_BAD);	/* other transfer codings: not for 1.0 */
		return -1;
	}
	if (c->rs_dechunk)
		keep = 0;
	gw_proxy_resp_fields(c->route->r, c->cors_origin, &c->w->scratch, &f);
	if (c->accept_enc && !c->rs_dechunk && !c->resp.switching &&
	    gw_proxy_compress(c->route->r, &c->resp, c->out.data + c->out.start, c->req.h.minor,
			      c->head_request, c->accept_enc, c->w, &f, &c->z))
		c->rs_dechunk = c->resp.h.body == GW_BODY_CHUNKED;	/* the payload is fed */
	if (c->resp.switching)
		f.conn = GW_CONN_UPGRADE;
	else if (!keep)
		f.conn = GW_CONN_CLOSE;
	else
		f.conn = c->req.h.minor == 0 ? GW_CONN_KEEP_ALIVE : GW_CONN_NONE;
	if (c->rs_dechunk || c->z) {
		struct gw_http_resp plain = c->resp;

		plain.h.nte = 0;
		plain.h.has_cl = false;
		n = gw_http_resp_build(&plain, c->out.data + c->out.start, &f, c->hbuf,
				       sizeof(c->hbuf));
	} else {
		n = gw_http_resp_build(&c->resp, c->out.data + c->out.start, &f, c->hbuf,
				       sizeof(c->hbuf));
	}
	if (n < 0) {
		up_fail(c, FAIL_BAD);
		return -1;
	}
	c->out.start += (__u32)rc;
	c->hlen = (__u32)n;
	c->hoff = 0;
	c->hdst = HDST_CLIENT;
	c->rs_started = 1;
	c->status = c->resp.code;
	c->keep = keep;
	c->up_reusable = c->resp.h.keep_alive && c->resp.h.body != GW_BODY_CLOSE;
	if (c->resp.switching) {
		c->state = CS_TUNNEL;
		c->keep = 0;
		c->up_reusable = 0;
		c->up->deadline = now_ns(c) + c->ups->idle_ns;
		return 1;
	}
	c->rs_state = RS_BODY;
	c->rs_body = c->resp.h.body;
	c->rs_left = c->resp.h.content_length;
	c->rs_scanned = c->rs_body == GW_BODY_NONE ||
			(c->rs_body == GW_BODY_LENGTH && !c->rs_left);
	gw_chunk_init(&c->rs_ch, &chunk_limits, true);
	return 1;
}

/* Validates more of the response body in `out`. Returns 1 on progress, 0
 * without, -1 when the response was cut. */
static int step_resp_body(struct gw_cli *c)
{
	__u32 avail = pbuf_len(&c->out);
	const char *zp;
	size_t used;
	int rc;

	if (c->rs_state != RS_BODY || c->rs_scanned || c->rs_ready ||
	    (c->z && gw_zstream_pending(c->z, &zp)))
		return 0;
	if (!avail) {
		if (!c->up_eof)
			return 0;
		if (c->rs_body == GW_BODY_CLOSE) {
			c->rs_scanned = 1;
			return 1;
		}
		pr_debug("l7: response from %s cut short\n", c->ups->servers[c->srv].name);
		up_fail(c, FAIL_IO);
		return -1;
	}
	switch (c->rs_body) {
	case GW_BODY_LENGTH:
		c->rs_ready = avail < c->rs_left ? avail : (__u32)c->rs_left;
		c->rs_left -= c->rs_ready;
		if (!c->rs_left)
			c->rs_scanned = 1;
		break;
	case GW_BODY_CHUNKED:
		if (c->rs_dechunk) {
			struct gw_chunk_res cr;

			rc = gw_chunk_parse(&c->rs_ch, c->out.data + c->out.start, avail, &cr);
			if (rc < 0) {
				up_fail(c, FAIL_BAD);
				return -1;
			}
			/* framing before the payload goes now, after it later */
			c->out.start += (__u32)cr.data_off;
			c->rs_ready = (__u32)cr.data_len;
			c->rs_skip = (__u32)(cr.used - cr.data_off - cr.data_len);
			if (!c->rs_ready) {
				c->out.start += c->rs_skip;
				c->rs_skip = 0;
			}
			if (rc == GW_CHUNK_DONE)
				c->rs_scanned = 1;
			break;
		}
		rc = gw_chunk_scan(&c->rs_ch, c->out.data + c->out.start, avail, &used);
		if (rc < 0) {
			up_fail(c, FAIL_BAD);
			return -1;
		}
		c->rs_ready = (__u32)used;
		if (rc == GW_CHUNK_DONE)
			c->rs_scanned = 1;
		break;
	default:
		c->rs_ready = avail;
		break;
	}
	return 1;
}

/* Compression: the payload made ready goes through the gzip stream (the
 * last piece with the stream's end), whose chunks the client write sends.
 * Returns 1 on progress, 0 without, -1 when zlib failed (closed). */
static int step_compress(struct gw_cli *c)
{
	const char *p;
	int how, tail;

	if (!c->z || c->z_last || gw_zstream_pending(c->z, &p))
		return 0;
	/* a piece is held for the next one's chunk while more is readable
	 * now, or while the rest of a fixed-length body fits one feed (it is
	 * on its way); else what is held goes when this turn read nothing */
	tail = c->rs_body == GW_BODY_LENGTH && c->rs_left <= GW_Z_IN;
	if (!c->rs_ready && !c->rs_scanned && (!gw_zstream_held(c->z) || tail))
		return 0;
	how = c->rs_scanned ? GW_Z_LAST : c->rs_ready && (c->up_rd_ready || tail) ? GW_Z_HOLD :
		GW_Z_FLUSH;
	if (gw_zstream_feed(c->z, c->out.data + c->out.start, c->rs_ready, how)) {
		cli_close(c);
		return -1;
	}
	c->z_last = c->rs_scanned;
	c->out.start += c->rs_ready + c->rs_skip;
	c->rs_ready = c->rs_skip = 0;
	return 1;
}

/* The tunnel's half-closes: an EOF on one side, once its bytes are out,
 * becomes a shutdown of the other; both done ends the connection. Returns
 * -1 when closed, else 0. */
static int step_tunnel_close(struct gw_cli *c)
{
	if (c->rd_eof && !pbuf_len(&c->in) && !c->up_wr_shut && may_write(c, 1)) {
		shutdown(c->up->fd, SHUT_WR);
		c->up_wr_shut = 1;
	}
	if (c->up_eof && !pbuf_len(&c->out) && c->hoff >= c->hlen && !c->wr_shut &&
	    may_write(c, 0)) {
		if (c->ssl)
			SSL_shutdown(c->ssl);	/* close_notify */
		else
			shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
	if (c->up_wr_shut && c->wr_shut) {
		req_end(c);
		return -1;
	}
	return 0;
}

/* A request head that cannot be taken: refused (rc < 0, the parser's
 * status), larger than the buffer (rc 0), or cut by EOF. Returns 1 when
 * answered, -1 when the connection closed. */
static int req_refuse(struct gw_cli *c, int rc)
{
	int status = rc ? c->req.h.status : 431;

	c->t0 = now_ns(c);
	c->ws = snap_take(c->w);
	if (c->ws->s->alog)
		log_capture_raw(c, c->in.data + c->in.start, pbuf_len(&c->in));
	c->in.start = c->in.end;	/* never forwarded, never parsed again */
	if (rc == 0 && c->rd_eof) {
		/* half a head, then EOF: nothing to answer */
		c->status = 400;
		c->keep = 0;
		req_end(c);
		return -1;
	}
	pr_debug("l7: refused request from %s: %d %s\n", c->peer, status,
		 rc ? c->req.h.reason : "head too large");
	answer(c, status == 431 ? GW_L7_R_HEAD_TOO_LARGE : GW_L7_R_BAD_REQUEST, status, NULL, 1);
	return 1;
}

/* Parses a request head from `in`. Returns 1 on progress, 0 without, -1
 * when closed. */
static int step_req_head(struct gw_cli *c)
{
	__u32 avail = pbuf_len(&c->in);
	int rc;

	if (c->first && !c->h2st && avail) {
		rc = h2_detect(c);
		if (rc)
			return rc == -2 ? 0 : rc;
	}
	if (!avail) {
		if (c->rd_eof || c->w->draining) {
			cli_close(c);
			return -1;
		}
		return 0;
	}
	rc = gw_http_req_parse(&c->req, c->in.data + c->in.start, avail);
	if (rc > 0) {
		req_start(c, rc);
		return 1;
	}
	if (rc == 0 && avail < GW_L7_BUF && !c->rd_eof)
		return 0;
	return req_refuse(c, rc);
}

static void cli_timer_cb(struct gw_timer *t);

/* 1 when the request waits for body bytes from the client: everything it
 * sent went up (or the upstream could take more), and the body is not
 * complete. While the upstream connects or does not take bytes, the wait
 * is the upstream's, and so it is for a request with Expect: 100-continue
 * until the upstream answered something (the client may wait for the 100)
 * or body bytes came anyway. */
static int waits_for_body(const struct gw_cli *c)
{
	return c->state == CS_PROXY && c->up && !c->up_connecting && !c->rq_scanned &&
	       !c->rq_ready && !(c->hdst == HDST_UP && c->hoff < c->hlen) &&
	       (!pbuf_len(&c->in) || c->up_wr_ready) &&
	       !(c->req.expect_continue && !c->rs_interim && !c->rs_started && !c->bytes_in &&
		 !pbuf_len(&c->in));
}

/* 1 when the client sent its end (FIN) before the whole request body, all
 * it sent went up and no answer has started: the request can never be
 * whole, so waiting for the body (timeout) would only hold the upstream
 * connection. */
static int body_cut(const struct gw_cli *c)
{
	return c->state == CS_PROXY && c->rd_eof && !c->rq_scanned && !c->rq_ready &&
	       !pbuf_len(&c->in) && !c->rs_started && !c->h2st;
}

/* 1 when bytes for the client wait for it to read (cli_drive() sends all
 * that the socket takes, so what is left waits on the client). */
static int waits_to_send(const struct gw_cli *c)
{
	return (c->hdst == HDST_CLIENT && c->hoff < c->hlen) ||
	       (c->state == CS_PROXY && c->rs_ready);
}

/* The client's deadline and which timeout it is (*phase), or 0 when
 * gwd waits on the upstream (its connect/response/idle clock decides). */
static __u64 cli_deadline(const struct gw_cli *c, int *phase)
{
	switch (c->state) {
	case CS_H2:
		*phase = GW_L7_TO_IDLE;
		return gw_h2_idle_since(c->h2) ? gw_h2_idle_since(c->h2) + c->to.idle_ns : 0;
	case CS_HEAD:
		if (c->ssl && !c->hs_done) {
			*phase = GW_L7_TO_TLS;
			return c->wait_since + c->to.tls_ns;
		}
		/* a head must be complete within `header` of its first byte,
		 * however slowly it trickles in */
		*phase = GW_L7_TO_HEADER;
		if (c->head_since)
			return c->head_since + c->to.header_ns;
		if (c->first)
			return c->wait_since + c->to.header_ns;
		*phase = GW_L7_TO_IDLE;
		return c->wait_since + c->to.idle_ns;
	case CS_REPLY:
		*phase = GW_L7_TO_SEND;
		return c->progress + c->to.send_ns;
	case CS_PROXY:
		if (waits_for_body(c)) {
			*phase = GW_L7_TO_BODY;
			return c->progress + c->to.body_ns;
		}
		if (waits_to_send(c)) {
			*phase = GW_L7_TO_SEND;
			return c->progress + c->to.send_ns;
		}
		return 0;
	default:
		return 0;	/* a tunnel: the upstream's idle clock, both ways */
	}
}

/* After each drive: the clocks that start on a state (a handshake's end,
 * a head's first byte) and the timer. The timer is lazy: it stays armed at
 * an earlier time and re-arms for what is left when it fires early. */
static void cli_arm_timer(struct gw_cli *c)
{
	__u64 now = now_ns(c), dl;
	int phase;

	if (c->ssl && !c->hs_done && SSL_is_init_finished(c->ssl)) {
		c->hs_done = 1;
		c->ktls = gw_ktls_established(c->ssl, c->ktls);
		if (!c->head_since)
			c->wait_since = now;	/* the first request's wait starts */
	}
	if (c->state == CS_HEAD && pbuf_len(&c->in) && !c->head_since)
		c->head_since = now;
	dl = cli_deadline(c, &phase);
	if (dl && (!gw_timer_armed(&c->timer) || c->timer.when_ns > dl))
		gw_timer_start(c->w->loop, &c->timer, dl > now ? dl - now : 0, cli_timer_cb);
}

static void splice_kick(void *arg);

/* Whether the connection may go to the kernel now (docs/design-sockmap.md
 * section 3): plain TCP, a route that allows it, nothing buffered either
 * way, no half-close, not draining; a tunnel after its 101 is out, or (a
 * `splice: true` route) an answer's head is out and the answer is passed
 * on as it is, with keep-alive on both sides. Returns 1 or 0. */
static int splice_ok(const struct gw_cli *c)
{
	int mode;

	/* only plain TCP both ways: no TLS on either side, no HTTP/2 stream, no
	 * h2c translator behind the upstream socket */
	if (c->sp || c->ssl || c->h2st || c->h2 || !c->route || !c->up || c->up->ssl ||
	    c->ups->protocol != GW_UP_PROTO_HTTP1 || c->up_connecting || c->w->draining ||
	    !gw_splice_ready())
		return 0;
	mode = c->route->r->splice;
	if (mode == GW_ROUTE_SPLICE_OFF || pbuf_len(&c->in) || pbuf_len(&c->out) ||
	    c->hoff < c->hlen || c->rd_eof || c->up_eof || c->wr_shut || c->up_wr_shut)
		return 0;
	if (c->state == CS_TUNNEL)
		return 1;
	return mode == GW_ROUTE_SPLICE_ON && c->state == CS_PROXY && c->rs_state == RS_BODY &&
	       c->hdst == HDST_CLIENT && c->rq_scanned && !c->rq_ready && !c->rs_ready &&
	       !c->rs_skip && !c->rs_dechunk && c->keep && c->up_reusable;
}

/* Hands the connection to the kernel when it may go. Returns 1 when
 * spliced, else 0. */
static int splice_try(struct gw_cli *c)
{
	struct gw_splice_ctl ctl = {
		.loop = c->w->loop, .cfd = c->fd, .ufd = c->up ? c->up->fd : -1,
		.kick = splice_kick, .arg = c,
	};

	if (!splice_ok(c) || gw_splice_start(&ctl, &c->sp))
		return 0;
	c->state = CS_SPLICED;
	c->keep = 0;		/* the connection ends with the splice */
	c->up_reusable = 0;
	if (c->route->stats)
		__atomic_fetch_add(&c->route->stats->w[c->w->id].spliced, 1, __ATOMIC_RELAXED);
	return 1;
}

/* A spliced connection: the kernel moves the bytes and gwd checks on them.
 * Both ways shut and drained end the request; back in user space it goes
 * on as a tunnel. Returns 1 on a change, 0 without, -1 when closed. */
static int step_spliced(struct gw_cli *c)
{
	int rc = gw_splice_poll(c->sp);
	if (rc == GW_SPLICE_LIVE && !gw_splice_leaving(c->sp))
		return 0;
	switch (rc) {
	case GW_SPLICE_DONE:
		c->wr_shut = c->up_wr_shut = 1;
		req_end(c);
		return -1;
	case GW_SPLICE_LIVE:
	case GW_SPLICE_BACK:
		/* leaving or back: a tunnel again, writes as the splice allows */
		if (c->state == CS_SPLICED) {
			c->state = CS_TUNNEL;
			c->rd_ready = c->up_rd_ready = 1;
			c->wr_ready = c->up_wr_ready = 1;
		}
		/* a direction the kernel still moves passes its FIN itself */
		c->up_wr_shut |= gw_splice_shut(c->sp, 1);
		c->wr_shut |= gw_splice_shut(c->sp, 0);
		return 1;
	default:
		pr_debug("l7: spliced connection of %s: %s\n", c->peer, strerror(-rc));
		cli_close(c);
		return -1;
	}
}

/* 1 when gwd may write towards the upstream (up) or the client: always,
 * but while a splice goes back, once the kernel's bytes that way are out. */
static int may_write(const struct gw_cli *c, int up)
{
	return !c->sp || gw_splice_may_write(c->sp, up);
}

static void splice_kick(void *arg)
{
	struct gw_cli *c = arg;

	if (!c->closed)
		cli_drive(c);
}

static void cli_resume(void *arg);

/* Steps one call of cli_drive() takes at most, so that a client with many
 * pipelined requests does not hold the worker; the rest follows after the
 * batch of events. */
#define CLI_DRIVE_STEPS 256

/* Everything the sockets allow, until nothing is left to do. */
static void cli_drive(struct gw_cli *c)
{
	int guard, p, r;

	if (c->h2) {
		if (!gw_h2_drive(c->h2))
			cli_arm_timer(c);
		return;
	}
	for (guard = 0; guard < CLI_DRIVE_STEPS; guard++) {
		if (c->h2) {
			cli_drive(c);	/* became HTTP/2 (step_req_head) */
			return;
		}
		p = 0;
		if (c->sp && (c->state == CS_SPLICED || gw_splice_leaving(c->sp))) {
			r = step_spliced(c);
			if (r < 0)
				return;
			if (!r)
				break;
		}
		r = step_client_read(c);
		if (r < 0)
			return;
		p |= r;
		switch (c->state) {
		case CS_HEAD:
			r = step_req_head(c);
			if (r < 0)
				return;
			p |= r;
			break;
		case CS_PROXY:
			r = step_up_write(c);
			if (r < 0)
				break;
			p |= r;
			r = step_up_read(c);
			if (r < 0)
				break;
			p |= r;
			r = step_resp_head(c);
			if (r < 0)
				break;
			p |= r;
			r = step_resp_body(c);
			if (r < 0)
				break;
			p |= r;
			r = step_compress(c);
			if (r < 0)
				return;
			p |= r;
			break;
		case CS_TUNNEL:
			r = step_up_write(c);
			if (r < 0)
				return;
			p |= r;
			r = step_up_read(c);
			if (r < 0)
				return;
			p |= r;
			break;
		}
		if (r < 0) {
			if (c->closed)
				return;
			continue;
		}
		r = step_client_write(c);
		if (r < 0)
			return;
		p |= r;
		if (c->state == CS_TUNNEL && step_tunnel_close(c) < 0)
			return;
		if (splice_try(c)) {
			p = 1;
			continue;
		}
		/* complete? */
		if (c->state == CS_REPLY && c->hoff >= c->hlen) {
			req_end(c);
			if (c->closed)
				return;
			p = 1;
		} else if (c->state == CS_PROXY && c->rs_state == RS_BODY && c->rs_scanned &&
			   !c->rs_ready && !c->rs_skip && c->hoff >= c->hlen &&
			   (!c->z || gw_zstream_done(c->z))) {
			if (!c->rq_scanned || c->rq_ready || (c->hdst == HDST_UP && c->hoff < c->hlen)) {
				/* answered before the whole request went up */
				c->keep = 0;
				c->up_reusable = 0;
			}
			if (c->up_eof)
				c->up_reusable = 0;
			req_end(c);
			if (c->closed)
				return;
			p = 1;
		} else if (body_cut(c)) {
			pr_debug("l7: client %s ended its side in the middle of its request body\n",
				 c->peer);
			req_abort(c, 499);
			return;
		}
		if (!p)
			break;
	}
	if (c->closed)
		return;
	if (guard == CLI_DRIVE_STEPS && !c->resume_queued &&
	    !gw_loop_defer(c->w->loop, cli_resume, c))
		c->resume_queued = 1;	/* pipelined requests left: go on after the batch */
	cli_arm_timer(c);
}

static void cli_resume(void *arg)
{
	struct gw_cli *c = arg;

	c->resume_queued = 0;
	if (!c->closed)
		cli_drive(c);
}

/* ---- callbacks -------------------------------------------------------------------- */

/* The connection ends: a request in progress is counted and logged with
 * status (unless an answer had one) as it ends. */
static void req_abort(struct gw_cli *c, int status)
{
	if (!c->ws) {
		cli_close(c);
		return;
	}
	c->keep = 0;
	c->up_reusable = 0;
	if (!c->status)
		c->status = status;
	req_end(c);
}

/* A client timeout fired: counted, then
 *  - header: with part of a head read, 408 and close; with nothing, close;
 *  - body: 408 and close when no answer has started (the upstream request
 *    is abandoned: its connection closes, the server is not blamed), else
 *    the connection is cut;
 *  - idle, tls_handshake: closed without a byte;
 *  - send: the client does not read; the request ends cut short. */
static void cli_timeout(struct gw_cli *c, int phase, __u64 now)
{
	if (c->lstats)
		__atomic_fetch_add(&c->lstats->timeouts[phase], 1, __ATOMIC_RELAXED);
	pr_debug("l7: client %s: %s timeout\n", c->peer,
		 phase == GW_L7_TO_TLS	  ? "tls_handshake" :
		 phase == GW_L7_TO_HEADER ? "header" :
		 phase == GW_L7_TO_IDLE	  ? "idle" :
		 phase == GW_L7_TO_BODY	  ? "body" :
					    "send");
	if (phase == GW_L7_TO_HEADER && pbuf_len(&c->in)) {
		c->t0 = now;
		c->ws = snap_take(c->w);
		c->in.start = c->in.end;
		answer(c, GW_L7_R_CLIENT_TIMEOUT, 408, NULL, 1);
		cli_drive(c);
		return;
	}
	if (phase == GW_L7_TO_BODY && !c->rs_started && !waits_to_send(c)) {
		c->in.start = c->in.end;
		answer(c, GW_L7_R_CLIENT_TIMEOUT, 408, NULL, 1);
		cli_drive(c);
		return;
	}
	req_abort(c, phase == GW_L7_TO_BODY ? 408 : 499);
}

static void cli_timer_cb(struct gw_timer *t)
{
	struct gw_cli *c = container_of(t, struct gw_cli, timer);
	__u64 now = now_ns(c), dl;
	int phase;

	dl = cli_deadline(c, &phase);
	if (!dl)
		return;		/* the upstream's clock decides; a drive re-arms */
	if (dl > now) {
		gw_timer_start(c->w->loop, &c->timer, dl - now, cli_timer_cb);
		return;
	}
	cli_timeout(c, phase, now);
}

static void up_timer_cb(struct gw_timer *t)
{
	struct gw_upconn *uc = container_of(t, struct gw_upconn, timer);
	struct gw_cli *c = uc->owner;
	__u64 now = gw_loop_now(tls_worker->loop);

	if (uc->deadline > now) {
		gw_timer_start(tls_worker->loop, &uc->timer, uc->deadline - now, up_timer_cb);
		return;
	}
	if (!c) {
		upconn_close(tls_worker, uc);	/* idle too long */
		return;
	}
	if (c->state == CS_SPLICED) {
		__u64 idle = gw_splice_idle_ns(c->sp);

		if (idle < c->ups->idle_ns) {
			up_set_deadline(tls_worker, uc, now + c->ups->idle_ns - idle);
			return;
		}
		cli_close(c);
		return;
	}
	if (c->state == CS_TUNNEL) {
		cli_close(c);
		return;
	}
	if (!c->up_connecting && (waits_for_body(c) || waits_to_send(c))) {
		/* the client is the slow one: its body or send clock decides,
		 * and the server is not blamed for it */
		uc->deadline = now + c->ups->response_ns;
		gw_timer_start(tls_worker->loop, &uc->timer, c->ups->response_ns, up_timer_cb);
		return;
	}
	up_fail(c, c->up_connecting ? FAIL_CONNECT : FAIL_TIMEOUT);
	if (!c->closed)
		cli_drive(c);
}

/* The TLS handshake with the upstream, once its connect is done. Returns
 * 1 when it is over (the connection carries the request), 0 while it waits
 * for the socket, -1 when it failed (the request changed course). */
static int up_tls_step(struct gw_cli *c)
{
	char why[256];
	int ww, r = gw_uptls_handshake(c->up->ssl, &ww, why, sizeof(why));

	if (r > 0) {
		c->up_connecting = 0;
		brk_pending_done(c);
		c->up_wr_ready = 1;	/* its readiness edge went by in the handshake */
		c->up_rd_ready = 1;
		c->up->deadline = now_ns(c) + c->ups->response_ns;
		return 1;
	}
	if (!r)
		return 0;
	pr_debug("l7: upstream %s server %s: TLS: %s\n", c->ups->name,
		 c->ups->servers[c->srv].name, why);
	up_fail(c, FAIL_TLS);
	if (!c->closed)
		cli_drive(c);
	return -1;
}

static void up_io_cb(struct gw_io *io, __u32 events)
{
	struct gw_upconn *uc = container_of(io, struct gw_upconn, io);
	struct gw_cli *c = uc->owner;

	if (!c) {
		/* idle: the server closed it or sent something unasked (TLS
		 * session tickets and key updates excepted) */
		if (!uc->ssl || !gw_uptls_idle_ok(uc->ssl))
			upconn_close(tls_worker, uc);
		return;
	}
	if (c->up_connecting && uc->tcp_up) {
		if (up_tls_step(c) <= 0)
			return;
	} else if (c->up_connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr || (events & (EPOLLERR | EPOLLHUP))) {
			pr_debug("l7: connect to %s: %s\n", c->ups->servers[c->srv].name,
				 strerror(soerr ? soerr : ECONNREFUSED));
			up_fail(c, FAIL_CONNECT);
			if (!c->closed)
				cli_drive(c);
			return;
		}
		uc->tcp_up = 1;
		if (uc->ssl && up_tls_step(c) <= 0)
			return;
		c->up_connecting = 0;
		brk_pending_done(c);
		c->up->deadline = now_ns(c) + c->ups->response_ns;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		c->up_rd_ready = 1;
	if (events & (EPOLLRDHUP | EPOLLHUP))
		c->up_hup = 1;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		c->up_wr_ready = 1;
	cli_drive(c);
}

static void cli_io_cb(struct gw_io *io, __u32 events)
{
	struct gw_cli *c = container_of(io, struct gw_cli, io);

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		c->rd_ready = 1;
	if (events & (EPOLLRDHUP | EPOLLHUP))
		c->rd_hup = 1;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		c->wr_ready = 1;
	/* TLS: a read may wait for the socket to take a write, and back */
	if (c->ssl_rd_wants_wr && (events & EPOLLOUT)) {
		c->ssl_rd_wants_wr = 0;
		c->rd_ready = 1;
	}
	if (c->ssl_wr_wants_rd && (events & EPOLLIN)) {
		c->ssl_wr_wants_rd = 0;
		c->wr_ready = 1;
	}
	cli_drive(c);
}

/* ---- connections ------------------------------------------------------------------- */

/* A closed connection's memory goes to its worker's cache of free ones
 * (after the batch): connection-per-request traffic then costs no malloc
 * churn of ~50 KiB objects. */
static void cli_free(void *arg)
{
	struct gw_cli *c = arg;
	struct gw_proxy_worker *w = c->w;

	if (w->n_free_conns >= GW_L7_FREE_CONNS || w->draining) {
		free(c);
		return;
	}
	c->next = w->free_conns;
	w->free_conns = c;
	w->n_free_conns++;
}

/* A connection object from the worker's cache, or a new one. Returns it or
 * NULL. */
static struct gw_cli *cli_alloc(struct gw_proxy_worker *w)
{
	struct gw_cli *c = w->free_conns;

	if (!c)
		return malloc(sizeof(*c));
	w->free_conns = c->next;
	w->n_free_conns--;
	return c;
}

static void listeners_resume(struct gw_proxy_worker *w);

static void cli_close(struct gw_cli *c)
{
	struct gw_proxy_worker *w = c->w;

	if (c->closed)
		return;
	c->closed = 1;
	gw_proxy_compress_end(w, &c->z);
	brk_end(c);
	if (c->ws) {
		snap_drop(w, c->ws);
		c->ws = NULL;
	}
	gw_splice_end(c->sp);
	c->sp = NULL;
	if (c->up)
		up_release(c, 0);
	if (c->h2st) {
		h2_stream_close(c);
		return;
	}
	if (c->h2) {
		gw_h2_free(c->h2);
		c->h2 = NULL;
	}
	gw_io_stop(w->loop, &c->io);
	gw_timer_stop(w->loop, &c->timer);
	if (c->ssl) {
		if (c->hs_done)
			gw_ktls_closed(c->ktls);
		if (!c->wr_shut && SSL_is_init_finished(c->ssl))
			SSL_shutdown(c->ssl);	/* close_notify, best effort */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	w->n_conns--;
	if (w->paused && w->n_conns < GW_L7_CONNS_MAX * 7 / 8)
		listeners_resume(w);
	if (gw_loop_defer(w->loop, cli_free, c))
		pr_warn("l7: out of memory deferring a free\n");
}

/* A TLS session for a connection of a tls listener, on the current
 * snapshot's certificates (the session keeps them through reloads).
 * Returns 0 or -errno. */
static int tls_start(struct gw_proxy_worker *w, const struct gw_proxy_listen *l,
		     struct gw_cli *c)
{
	struct gw_l7_wsnap *ws = snap_take(w);
	int err = -ENOENT;
	size_t i;

	if (ws->s->tls) {
		c->ssl = gw_tls_set_new_ssl(ws->s->tls);
		err = c->ssl ? 0 : -ENOMEM;
	}
	/* the listener's client certificates */
	for (i = 0; !err && i < ws->s->n_ls; i++)
		if (ws->s->ls[i].cauth && !memcmp(&ws->s->ls[i].addr, &l->addr, sizeof(l->addr)))
			err = gw_cauth_attach(c->ssl, ws->s->ls[i].cauth);
	if (err && c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	snap_drop(w, ws);
	if (err)
		return err;
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_read_ahead(c->ssl, 1);
	c->ktls = gw_ktls_prepare(c->ssl, l->to.ktls);
	if (!SSL_set_fd(c->ssl, c->fd)) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -EIO;
	}
	SSL_set_accept_state(c->ssl);
	return 0;
}

static void resume_cb(struct gw_timer *t)
{
	struct gw_proxy_worker *w = container_of(t, struct gw_proxy_worker, resume_timer);

	if (w->n_conns < GW_L7_CONNS_MAX)
		listeners_resume(w);
	else
		gw_timer_start(w->loop, t, GW_L7_PAUSE_NS, resume_cb);
}

/* Stops accepting for a while: at the connection limit (until connections
 * close) or out of descriptors (GW_L7_PAUSE_NS, the listeners being level-
 * triggered would spin). */
static void listeners_pause(struct gw_proxy_worker *w, const char *why)
{
	size_t i;

	if (w->paused)
		return;
	w->paused = 1;
	pr_warn("l7: worker %u stops accepting for now: %s (%u connections)\n", w->id, why,
		w->n_conns);
	for (i = 0; i < w->n_ls; i++)
		if (w->ls[i].fd >= 0)
			gw_io_stop(w->loop, &w->ls[i].io);
	gw_timer_start(w->loop, &w->resume_timer, GW_L7_PAUSE_NS, resume_cb);
}

static void listeners_resume(struct gw_proxy_worker *w)
{
	size_t i;

	if (!w->paused || w->draining)
		return;
	w->paused = 0;
	gw_timer_stop(w->loop, &w->resume_timer);
	for (i = 0; i < w->n_ls; i++)
		if (w->ls[i].fd >= 0 && !w->ls[i].io.active)
			gw_io_start(w->loop, &w->ls[i].io, w->ls[i].fd, EPOLLIN, w->ls[i].io.cb);
}

void gw_proxy_accept(struct gw_proxy_worker *w, struct gw_proxy_listen *l)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct gw_cli *c;
	int fd, i, one = 1;

	tls_worker = w;
	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		if (w->n_conns >= GW_L7_CONNS_MAX) {
			listeners_pause(w, "connection limit");
			return;
		}
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				listeners_pause(w, strerror(errno));
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				 errno != ECONNABORTED)
				pr_warn("l7: accept: %s\n", strerror(errno));
			return;
		}
		if (w->draining) {
			close(fd);
			continue;
		}
		c = cli_alloc(w);
		if (!c) {
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct gw_cli, req));
		c->fd = fd;
		c->w = w;
		c->tls = l->tls;
		c->wr_ready = 1;
		c->rd_ready = 1;
		c->srv = -1;
		c->in.start = c->in.end = 0;
		c->out.start = c->out.end = 0;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer,
				  sizeof(c->peer));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer,
				  sizeof(c->peer));
		c->hash = gw_up_hash_addr(&ss);
		if (l->tls && tls_start(w, l, c)) {
			close(fd);
			free(c);
			continue;
		}
		if (ss.ss_family == AF_INET) {
			c->peer_ip.family = GW_FAMILY_V4;
			memcpy(&c->peer_ip.addr[0], &((struct sockaddr_in *)&ss)->sin_addr, 4);
		} else {
			c->peer_ip.family = GW_FAMILY_V6;
			memcpy(c->peer_ip.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		}
		req_reset(c);
		if (gw_io_start(w->loop, &c->io, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				cli_io_cb)) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		c->timer.cb = cli_timer_cb;
		c->to = l->to;
		c->lstats = l->stats;
		c->first = 1;
		cli_arm_timer(c);
		c->next = w->conns;
		if (w->conns)
			w->conns->pprev = &c->next;
		c->pprev = &w->conns;
		w->conns = c;
		w->n_conns++;
	}
}

void gw_proxy_bind_thread(struct gw_proxy_worker *w)
{
	tls_worker = w;
}

void gw_proxy_drain(struct gw_proxy_worker *w)
{
	struct gw_cli *c, *next;

	tls_worker = w;
	w->draining = 1;
	gw_timer_stop(w->loop, &w->resume_timer);
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->state == CS_HEAD && !pbuf_len(&c->in))
			cli_close(c);
		else if (c->h2)
			gw_h2_drain(c->h2);
	}
}

void gw_proxy_close_all(struct gw_proxy_worker *w)
{
	static const char *const names[] = { "head", "proxy", "reply", "tunnel", "h2", "spliced" };
	struct gw_cli *c;
	int shown = 0;

	tls_worker = w;
	/* what a drain's timeout cuts, the first 8: why it waited */
	for (c = w->conns; c && w->draining && shown++ < 8; c = c->next)
		pr_info("l7: worker %u: closing %s's connection: %s%s, %llu s idle\n", w->id,
			c->peer, names[c->state], c->rd_eof ? " (client sent its end)" : "",
			(unsigned long long)((gw_loop_now(w->loop) - c->wait_since) / 1000000000ull));
	while (w->conns)
		cli_close(w->conns);
	log_flush(w);
	/* what is left is idle, pooled, maybe for servers no snapshot lists */
	while (w->upconns)
		upconn_close(w, w->upconns);
	gw_h2up_close_all(w->loop);
	gw_proxy_free_cache(w);
}

void gw_proxy_free_cache(struct gw_proxy_worker *w)
{
	struct gw_cli *c;

	while ((c = w->free_conns)) {
		w->free_conns = c->next;
		free(c);
	}
	w->n_free_conns = 0;
	gw_zpool_clear(&w->zpool);
}

/* ---- HTTP/2 (h2.h) ----------------------------------------------------------------- */

/* A client connection's first bytes: HTTP/2 when TLS chose h2 by ALPN, or
 * when a listener with h2c: true sees the connection preface. Returns 1
 * when the connection became HTTP/2, 0 when it stays HTTP/1.1 (or waits
 * for more of a preface), -1 when it was closed. */
static int h2_detect(struct gw_cli *c)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	int pre;

	if (c->ssl) {
		SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
		if (alpn_len != 2 || memcmp(alpn, "h2", 2))
			return 0;
	} else {
		if (!c->to.h2c)
			return 0;
		pre = gw_h2_preface(c->in.data + c->in.start, pbuf_len(&c->in));
		if (pre < 0)
			return 0;
		if (!pre)
			return c->rd_eof ? 0 : -2;
	}
	c->h2 = gw_h2_new(c, c->w->loop, &c->to, c->lstats);
	if (!c->h2) {
		cli_close(c);
		return -1;
	}
	c->state = CS_H2;
	c->first = 0;
	return 1;
}

/* A stream connection's request bytes (h2.h) into `in`, as a read. */
static ssize_t h2_stream_read(struct gw_cli *c)
{
	__u32 room = pbuf_room(&c->in);
	ssize_t n;

	if (!room)
		return -EAGAIN;
	n = gw_h2_stream_recv(c->h2st, c->in.data + c->in.end, room);
	if (n > 0)
		c->in.end += (__u32)n;
	else if (n == -EAGAIN)
		c->rd_ready = 0;	/* a kick comes with new bytes */
	return n == -ENOSPC ? -EAGAIN : n;
}

/* A stream connection's response bytes to its stream, as a send. */
static ssize_t h2_stream_write(struct gw_cli *c, const char *a, size_t alen, const char *b,
			       size_t blen)
{
	ssize_t n = gw_h2_stream_send(c->h2st, a, alen, b, blen);

	if (n >= 0 && (size_t)n < alen + blen)
		c->wr_ready = 0;
	return n;
}

/* 1 when the stream connection's response went out whole. */
static int h2_stream_complete(const struct gw_cli *c)
{
	if (c->hdst == HDST_CLIENT && c->hoff < c->hlen)
		return 0;
	if (c->state == CS_REPLY)
		return 1;
	return c->state == CS_PROXY && c->rs_state == RS_BODY && c->rs_scanned && !c->rs_ready &&
	       !c->rs_skip;
}

/* A stream connection closes (cli_close() released its request): no
 * socket, not in the worker's list. */
static void h2_stream_close(struct gw_cli *c)
{
	struct gw_proxy_worker *w = c->w;
	struct gw_h2_stream *st = c->h2st;

	gw_timer_stop(w->loop, &c->timer);
	c->h2st = NULL;
	gw_h2_stream_done(st, h2_stream_complete(c));
	c->ssl = NULL;	/* the client connection's */
	if (gw_loop_defer(w->loop, cli_free, c))
		pr_warn("l7: out of memory deferring a free\n");
}

int gw_cli_h2_read(struct gw_cli *c, const char **p, size_t *len, int *eof)
{
	int r = step_client_read(c);

	if (r < 0)
		return -1;
	*p = c->in.data + c->in.start;
	*len = pbuf_len(&c->in);
	*eof = c->rd_eof;
	return r;
}

void gw_cli_h2_consume(struct gw_cli *c, size_t n)
{
	c->in.start += (__u32)n;
}

ssize_t gw_cli_h2_write(struct gw_cli *c, const char *p, size_t len)
{
	unsigned int r = c->wr_ready;
	ssize_t n;

	if (!c->wr_ready)
		return 0;
	if (c->ssl) {
		n = tls_send2(c, p, len, NULL, 0);
	} else {
		n = send2(c->fd, p, len, NULL, 0, &r);
		c->wr_ready = r;
	}
	if (n < 0) {
		cli_close(c);
		return -1;
	}
	if (n)
		c->progress = now_ns(c);
	return n;
}

const char *gw_cli_h2_peer(const struct gw_cli *c)
{
	return c->peer;
}

void gw_cli_h2_close(struct gw_cli *c)
{
	cli_close(c);
}

void gw_cli_h2_kick(struct gw_cli *c, int rd, int wr)
{
	if (c->closed)
		return;
	if (rd)
		c->rd_ready = 1;
	if (wr)
		c->wr_ready = 1;
	cli_drive(c);
}

struct gw_cli *gw_cli_stream_new(struct gw_cli *p, struct gw_h2_stream *st)
{
	struct gw_cli *c = cli_alloc(p->w);

	if (!c)
		return NULL;
	memset(c, 0, offsetof(struct gw_cli, req));
	c->fd = -1;
	c->w = p->w;
	c->tls = p->tls;
	c->ssl = p->ssl;	/* for the access log's tls field only */
	c->ktls = p->ktls;
	c->h2st = st;
	c->rd_ready = 1;
	c->wr_ready = 1;
	c->srv = -1;
	c->in.start = c->in.end = 0;
	c->out.start = c->out.end = 0;
	memcpy(c->peer, p->peer, sizeof(c->peer));
	c->peer_ip = p->peer_ip;
	c->hash = p->hash;
	c->to = p->to;
	c->lstats = p->lstats;
	c->first = 1;
	c->hs_done = 1;
	c->timer.cb = cli_timer_cb;
	req_reset(c);
	return c;
}

void gw_cli_stream_abort(struct gw_cli *c)
{
	if (!c->closed)
		req_abort(c, 499);
}
