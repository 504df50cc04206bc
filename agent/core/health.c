// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Active health checks (health.h): one state machine per target driven by
 * one timer and one descriptor on the event loop.
 *
 * A target's timer is either the start of its next probe (no probe in
 * flight) or the deadline of the probe in flight. A probe is
 *   connect (EINPROGRESS, EPOLLOUT, SO_ERROR)
 *     -> tcp: pass
 *     -> http: send the request (EPOLLOUT while the socket is full), read
 *        until the status line is complete (EPOLLIN), pass on 2xx/3xx;
 * and every step can fail, or be cut short by the deadline. Nothing blocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "gw/abi.h"
#include "core/health.h"
#include "core/log.h"

#define HC_RISE_FALL_MAX 1000
/* "HTTP/1.1 200 " or "HTTP/1.1 200\r": all a verdict needs. */
#define HC_STATUS_LEN 13
#define HC_REQ_MAX (GW_HEALTH_PATH_MAX + GW_HEALTH_HOST_MAX + 128)

enum probe_phase {
	P_IDLE = 0,
	P_CONNECT,
	P_HANDSHAKE,			/* the transport's (TLS) */
	P_SEND,
	P_READ,
};

enum probe_result {
	R_PASS,
	R_FAIL,
	R_SKIP,		/* a local problem: not counted */
};

struct gw_health_target {
	struct gw_health *h;
	struct gw_health_target *prev, *next;
	struct gw_health_params p;	/* path and host point into the buffers below */
	char path[GW_HEALTH_PATH_MAX];
	char host[GW_HEALTH_HOST_MAX];
	gw_health_cb cb;
	void *arg;
	struct gw_io io;
	struct gw_timer timer;
	int fd;
	void *sess;			/* the transport's session; NULL: none */
	int phase;			/* enum probe_phase */
	int deleted;
	__u64 next_ns;			/* start of the next probe */
	char req[HC_REQ_MAX];
	size_t req_len, req_off;
	char resp[HC_STATUS_LEN];
	size_t resp_len;
	struct gw_health_info info;
};

struct gw_health {
	struct gw_loop *loop;
	size_t n, max;
	__u64 rng;
	struct gw_health_target *head;
	struct gw_health_target *graveyard;	/* deleted while the loop could not defer */
};

/* Returns the next value of the checker's xorshift64* generator. */
static __u64 rng_next(struct gw_health *h)
{
	__u64 x = h->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	h->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

const char *gw_health_state_str(enum gw_health_state s)
{
	return s == GW_HS_UP ? "up" : s == GW_HS_DOWN ? "down" : "unknown";
}

/* Returns 1 if s is a non-empty token of visible ASCII shorter than max. */
static int visible(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0 && i < max;
}

int gw_health_path_ok(const char *p)
{
	return p[0] == '/' && visible(p, GW_HEALTH_PATH_MAX);
}

int gw_health_params_check(const struct gw_health_params *p)
{
	if (p->kind != GW_HC_NONE && p->kind != GW_HC_TCP && p->kind != GW_HC_HTTP)
		return -EINVAL;
	if (!p->interval_ns || !p->timeout_ns || p->interval_ns < 1000000ull)
		return -EINVAL;
	if (!p->rise || !p->fall || p->rise > HC_RISE_FALL_MAX || p->fall > HC_RISE_FALL_MAX)
		return -EINVAL;
	if (p->kind == GW_HC_NONE)
		return 0;
	if ((p->addr.ip.family != GW_FAMILY_V4 && p->addr.ip.family != GW_FAMILY_V6) ||
	    !p->addr.port)
		return -EINVAL;
	if (p->kind == GW_HC_HTTP) {
		if (!p->path || !gw_health_path_ok(p->path))
			return -EINVAL;
		if (p->host && !visible(p->host, GW_HEALTH_HOST_MAX))
			return -EINVAL;
	}
	return 0;
}

/* Copies checked params into t and builds the http request. */
static void params_set(struct gw_health_target *t, const struct gw_health_params *p)
{
	char addr[GW_ADDR_STRLEN];
	int n;

	if (p->xport)
		p->xport->get(p->xport_arg);
	if (t->p.xport)
		t->p.xport->put(t->p.xport_arg);
	t->p = *p;
	if (t->p.timeout_ns > t->p.interval_ns)
		t->p.timeout_ns = t->p.interval_ns;
	t->path[0] = t->host[0] = '\0';
	t->p.path = t->path;
	t->p.host = t->host;
	t->req_len = 0;
	if (p->kind != GW_HC_HTTP)
		return;
	snprintf(t->path, sizeof(t->path), "%s", p->path);
	snprintf(t->host, sizeof(t->host), "%s",
		 p->host ? p->host : gw_endpoint_str(&p->addr, addr, sizeof(addr)));
	n = snprintf(t->req, sizeof(t->req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gw-health\r\nAccept: */*\r\n"
		     "Connection: close\r\n\r\n", t->path, t->host);
	t->req_len = (size_t)n;	/* fits: path and host are bounded */
}

/* Returns 1 if the two param sets probe the same way. */
static int params_same(const struct gw_health_target *t, const struct gw_health_params *p)
{
	const char *host = p->host ? p->host : "";

	if (p->xport != t->p.xport || p->xport_arg != t->p.xport_arg)
		return 0;
	if (p->kind != t->p.kind || p->interval_ns != t->p.interval_ns ||
	    p->rise != t->p.rise || p->fall != t->p.fall ||
	    (p->timeout_ns > p->interval_ns ? p->interval_ns : p->timeout_ns) != t->p.timeout_ns)
		return 0;
	if (p->kind == GW_HC_NONE)
		return 1;
	if (p->addr.ip.family != t->p.addr.ip.family || p->addr.port != t->p.addr.port ||
	    memcmp(p->addr.ip.addr, t->p.addr.ip.addr, sizeof(p->addr.ip.addr)))
		return 0;
	if (p->kind != GW_HC_HTTP)
		return 1;
	if (strcmp(p->path, t->path))
		return 0;
	/* The default Host is the address, compared above. */
	return p->host ? !strcmp(host, t->host) : 1;
}

/* Ends the probe in flight, if any, without counting it. */
static void probe_abort(struct gw_health_target *t)
{
	if (t->sess) {
		t->p.xport->close(t->sess);
		t->sess = NULL;
	}
	if (t->fd >= 0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		gw_io_stop(t->h->loop, &t->io);
		/* A reset, not a FIN: no TIME_WAIT per probe on the gateway. */
		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(t->fd);
		t->fd = -1;
	}
	t->phase = P_IDLE;
}

static void on_timer(struct gw_timer *tm);

/* Arms the timer for the next probe, `next_ns` (now when that has passed). */
static void schedule_next(struct gw_health_target *t)
{
	__u64 now = gw_loop_now(t->h->loop);

	if (t->p.kind == GW_HC_NONE) {
		gw_timer_stop(t->h->loop, &t->timer);
		return;
	}
	if (gw_timer_start(t->h->loop, &t->timer, t->next_ns > now ? t->next_ns - now : 0,
			   on_timer))
		pr_warn("health: cannot schedule a probe (out of memory)\n");
}

/* Counts a probe's result, moves the state, schedules the next probe and
 * calls the owner's callback last (it may delete t). */
static void probe_done(struct gw_health_target *t, enum probe_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void probe_done(struct gw_health_target *t, enum probe_result r, const char *fmt, ...)
{
	struct gw_health_info *in = &t->info;
	enum gw_health_state old = in->state;
	va_list ap;

	probe_abort(t);
	gw_timer_stop(t->h->loop, &t->timer);
	in->probes++;
	if (r == R_SKIP) {
		in->probes_skipped++;
	} else if (r == R_PASS) {
		in->reason[0] = '\0';
		in->failures = 0;
		if (in->successes < UINT32_MAX)
			in->successes++;
		if (in->state == GW_HS_UNKNOWN ||
		    (in->state == GW_HS_DOWN && in->successes >= t->p.rise))
			in->state = GW_HS_UP;
	} else {
		in->probes_failed++;
		in->successes = 0;
		if (in->failures < UINT32_MAX)
			in->failures++;
		if (in->state == GW_HS_UNKNOWN ||
		    (in->state == GW_HS_UP && in->failures >= t->p.fall))
			in->state = GW_HS_DOWN;
	}
	if (r != R_PASS && fmt) {
		va_start(ap, fmt);
		vsnprintf(in->reason, sizeof(in->reason), fmt, ap);
		va_end(ap);
	}
	schedule_next(t);
	if (in->state != old) {
		in->last_change_ns = gw_loop_now(t->h->loop);
		if (t->cb)
			t->cb(t, old, in->state, t->arg);
	}
}

/* Returns 1 when errno e is the gateway's own problem, not the target's. */
static int local_error(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM ||
	       e == EADDRNOTAVAIL || e == EAGAIN;
}

static void on_io(struct gw_io *io, __u32 events);

/* Watches t's socket for `events`. Returns 0 or -errno. */
static int io_want(struct gw_health_target *t, __u32 events)
{
	if (t->io.active)
		return gw_io_modify(t->h->loop, &t->io, events);
	return gw_io_start(t->h->loop, &t->io, t->fd, events, on_io);
}

/* Parses the status line in t->resp. Returns 1 when decided (*code set),
 * 0 when more bytes are needed, -1 when it is no HTTP/1.x status line. */
static int status_parse(const struct gw_health_target *t, int *code)
{
	static const char pfx[] = "HTTP/1.";
	const char *s = t->resp;
	size_t n = t->resp_len, i;

	for (i = 0; i < n && i < sizeof(pfx) - 1; i++)
		if (s[i] != pfx[i])
			return -1;
	if (n < HC_STATUS_LEN)
		return 0;
	if (s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	if (s[12] != ' ' && s[12] != '\r')
		return -1;
	*code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return 1;
}

/* recv(), or the transport's. Returns bytes, 0 at the end, or -1 with
 * errno set. */
static ssize_t xrecv(struct gw_health_target *t, char *buf, size_t len)
{
	long n;

	if (!t->sess)
		return recv(t->fd, buf, len, 0);
	n = t->p.xport->recv(t->sess, buf, len);
	if (n >= 0)
		return n;
	errno = (int)-n;
	return -1;
}

/* send(), or the transport's. Returns bytes or -1 with errno set. */
static ssize_t xsend(struct gw_health_target *t, const char *buf, size_t len)
{
	long n;

	if (!t->sess)
		return send(t->fd, buf, len, MSG_NOSIGNAL);
	n = t->p.xport->send(t->sess, buf, len);
	if (n >= 0)
		return n;
	errno = (int)-n;
	return -1;
}

static void http_read(struct gw_health_target *t)
{
	int code = 0, st;
	ssize_t n;

	for (;;) {
		n = xrecv(t, t->resp + t->resp_len, sizeof(t->resp) - t->resp_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;		/* EPOLLIN will tell */
		if (n < 0) {
			probe_done(t, R_FAIL, "http: receive: %s", strerror(errno));
			return;
		}
		t->resp_len += (size_t)n;
		st = status_parse(t, &code);
		if (st < 0) {
			probe_done(t, R_FAIL, "http: no HTTP/1.x status line");
			return;
		}
		if (st > 0) {
			if (code >= 200 && code < 400)
				probe_done(t, R_PASS, NULL);
			else
				probe_done(t, R_FAIL, "http: status %d", code);
			return;
		}
		if (n == 0) {
			probe_done(t, R_FAIL, "http: closed before the status line");
			return;
		}
	}
}

static void http_send(struct gw_health_target *t)
{
	ssize_t n;

	while (t->req_off < t->req_len) {
		n = xsend(t, t->req + t->req_off, t->req_len - t->req_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (io_want(t, EPOLLOUT))
				probe_done(t, R_SKIP, "cannot poll");
			return;
		}
		if (n < 0) {
			probe_done(t, R_FAIL, "http: send: %s", strerror(errno));
			return;
		}
		t->req_off += (size_t)n;
	}
	t->phase = P_READ;
	if (io_want(t, EPOLLIN)) {
		probe_done(t, R_SKIP, "cannot poll");
		return;
	}
	http_read(t);	/* an answer may be there already */
}

/* The transport's handshake step. Returns 1 when it is done, 0 when it
 * waits or the probe ended. */
static int handshake(struct gw_health_target *t)
{
	char why[GW_HEALTH_REASON_MAX - 16];
	int ww = 0, r;

	r = t->p.xport->handshake(t->sess, &ww, why, sizeof(why));
	if (r < 0) {
		probe_done(t, R_FAIL, "tls: %s", why);
		return 0;
	}
	if (!r && io_want(t, ww ? EPOLLOUT : EPOLLIN)) {
		probe_done(t, R_SKIP, "cannot poll");
		return 0;
	}
	return r;
}

/* The connection and its transport are up: a tcp probe passed, an http
 * probe sends. */
static void ready(struct gw_health_target *t)
{
	if (t->p.kind == GW_HC_TCP) {
		probe_done(t, R_PASS, NULL);
		return;
	}
	t->phase = P_SEND;
	t->req_off = 0;
	t->resp_len = 0;
	http_send(t);
}

/* The connection is up: the transport's handshake, else ready(). */
static void connected(struct gw_health_target *t)
{
	if (!t->p.xport) {
		ready(t);
		return;
	}
	t->sess = t->p.xport->open(t->p.xport_arg, &t->p.addr, t->fd);
	if (!t->sess) {
		probe_done(t, R_SKIP, "tls: out of memory");
		return;
	}
	t->phase = P_HANDSHAKE;
	if (handshake(t))
		ready(t);
}

static void on_io(struct gw_io *io, __u32 events)
{
	struct gw_health_target *t = container_of(io, struct gw_health_target, io);
	socklen_t len = sizeof(int);
	int soerr = 0;

	switch (t->phase) {
	case P_CONNECT:
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
			soerr = errno;
		if (soerr == EINPROGRESS || (!soerr && !(events & (EPOLLOUT | EPOLLERR |
								     EPOLLHUP))))
			return;	/* a spurious wake-up */
		if (soerr) {
			probe_done(t, R_FAIL, "connect: %s", strerror(soerr));
			return;
		}
		connected(t);
		return;
	case P_HANDSHAKE:
		if (handshake(t))
			ready(t);
		return;
	case P_SEND:
		http_send(t);
		return;
	case P_READ:
		http_read(t);
		return;
	default:
		return;
	}
}

/* Fills a sockaddr for ep. Returns its length. */
static socklen_t sockaddr_of(const struct gw_endpoint *ep, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ep->ip.family == GW_FAMILY_V4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		memcpy(&sin->sin_addr, &ep->ip.addr[0], 4);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(ep->port);
	memcpy(&sin6->sin6_addr, ep->ip.addr, 16);
	return sizeof(*sin6);
}

static void probe_start(struct gw_health_target *t)
{
	struct gw_loop *l = t->h->loop;
	struct sockaddr_storage ss;
	socklen_t slen = sockaddr_of(&t->p.addr, &ss);
	__u64 now = gw_loop_now(l);

	/* Fixed rate: the next start is one interval after this one. */
	t->next_ns = now + t->p.interval_ns;
	t->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		probe_done(t, R_SKIP, "socket: %s", strerror(errno));
		return;
	}
	if (gw_timer_start(l, &t->timer, t->p.timeout_ns, on_timer)) {
		probe_done(t, R_SKIP, "cannot arm the timeout");
		return;
	}
	t->phase = P_CONNECT;
	if (!connect(t->fd, (struct sockaddr *)&ss, slen)) {
		connected(t);
		return;
	}
	if (errno == EINPROGRESS) {
		if (io_want(t, EPOLLOUT))
			probe_done(t, R_SKIP, "cannot poll");
		return;
	}
	if (local_error(errno))
		probe_done(t, R_SKIP, "connect: %s", strerror(errno));
	else
		probe_done(t, R_FAIL, "connect: %s", strerror(errno));
}

static void on_timer(struct gw_timer *tm)
{
	struct gw_health_target *t = container_of(tm, struct gw_health_target, timer);

	switch (t->phase) {
	case P_IDLE:
		probe_start(t);
		return;
	case P_CONNECT:
		probe_done(t, R_FAIL, "timeout (connect)");
		return;
	case P_HANDSHAKE:
		probe_done(t, R_FAIL, "timeout (tls handshake)");
		return;
	default:
		probe_done(t, R_FAIL, "timeout (http status)");
		return;
	}
}

int gw_health_new(struct gw_loop *l, size_t max_targets, struct gw_health **out)
{
	struct gw_health *h = calloc(1, sizeof(*h));
	struct timespec ts;

	if (!h)
		return -ENOMEM;
	h->loop = l;
	h->max = max_targets;
	if (getrandom(&h->rng, sizeof(h->rng), GRND_NONBLOCK) != sizeof(h->rng)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		h->rng = (__u64)ts.tv_nsec ^ ((__u64)ts.tv_sec << 32) ^ (__u64)getpid();
	}
	h->rng |= 1;	/* xorshift's one forbidden state is 0 */
	*out = h;
	return 0;
}

int gw_health_add(struct gw_health *h, const struct gw_health_params *p,
		  enum gw_health_state initial, gw_health_cb cb, void *arg,
		  struct gw_health_target **out)
{
	struct gw_health_target *t;

	if (gw_health_params_check(p))
		return -EINVAL;
	if (h->n >= h->max)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->h = h;
	t->fd = -1;
	t->cb = cb;
	t->arg = arg;
	t->info.state = initial;
	params_set(t, p);
	/* The first probe at a random point of the first interval. */
	t->next_ns = gw_loop_now(h->loop) + rng_next(h) % t->p.interval_ns;
	schedule_next(t);
	t->next = h->head;
	if (h->head)
		h->head->prev = t;
	h->head = t;
	h->n++;
	*out = t;
	return 0;
}

int gw_health_update(struct gw_health_target *t, const struct gw_health_params *p)
{
	if (gw_health_params_check(p))
		return -EINVAL;
	if (params_same(t, p))
		return 0;
	probe_abort(t);
	params_set(t, p);
	t->next_ns = gw_loop_now(t->h->loop) + rng_next(t->h) % t->p.interval_ns;
	schedule_next(t);
	return 0;
}

static void target_free(void *arg)
{
	free(arg);
}

void gw_health_del(struct gw_health_target *t)
{
	struct gw_health *h;

	if (!t || t->deleted)
		return;
	h = t->h;
	t->deleted = 1;
	probe_abort(t);
	gw_timer_stop(h->loop, &t->timer);
	if (t->prev)
		t->prev->next = t->next;
	else
		h->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	h->n--;
	if (t->p.xport)
		t->p.xport->put(t->p.xport_arg);
	t->p.xport = NULL;
	/* An event of t may be pending in this batch: free after it. */
	if (gw_loop_defer(h->loop, target_free, t)) {
		t->next = h->graveyard;
		h->graveyard = t;
	}
}

void gw_health_free(struct gw_health *h)
{
	struct gw_health_target *t;

	if (!h)
		return;
	while (h->head)
		gw_health_del(h->head);
	while ((t = h->graveyard)) {
		h->graveyard = t->next;
		free(t);
	}
	free(h);
}

enum gw_health_state gw_health_state_of(const struct gw_health_target *t)
{
	return t->info.state;
}

void gw_health_info_get(const struct gw_health_target *t, struct gw_health_info *info)
{
	*info = t->info;
	info->next_probe_ns = gw_timer_armed(&t->timer) && t->phase == P_IDLE ? t->timer.when_ns : 0;
}
