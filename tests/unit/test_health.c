// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The active health checker (agent/core/health.c) against loopback listeners run
 * on the same event loop: tcp pass and refusal, http 2xx/3xx pass, 500 and
 * garbage fail, a silent server times out, a full accept queue times the
 * connect out, rise/fall counts are exact, the first probe decides an
 * unknown target, start times are spread, parameters are checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "gw/abi.h"
#include "core/health.h"

#define MS 1000000ull

static struct gw_loop *loop;

/* ---- loopback servers on the test's loop --------------------------------- */

enum srv_mode {
	SRV_LISTEN,	/* the kernel completes handshakes; nobody accepts */
	SRV_HTTP,	/* answers each request with the next status of a script */
	SRV_SILENT,	/* accepts and reads, never answers */
	SRV_GARBAGE,	/* answers with something that is not HTTP */
};

struct srv {
	int fd;
	__u16 port;
	enum srv_mode mode;
	const int *script;	/* SRV_HTTP: status per request; the last repeats */
	int n_script;
	int requests;
	int bad_requests;	/* requests without the expected head lines */
	struct gw_io io;
	struct conn *open[64];	/* connections not closed yet */
};

struct conn {
	struct srv *s;
	int fd;
	struct gw_io io;
	char buf[1024];
	size_t len;
};

static void conn_free(void *arg)
{
	free(arg);
}

static void conn_close(struct conn *c)
{
	int i;

	for (i = 0; i < 64; i++)
		if (c->s->open[i] == c)
			c->s->open[i] = NULL;
	gw_io_stop(loop, &c->io);
	close(c->fd);
	gw_loop_defer(loop, conn_free, c);
}

static void on_conn(struct gw_io *io, __u32 events)
{
	struct conn *c = container_of(io, struct conn, io);
	struct srv *s = c->s;
	char out[128];
	ssize_t n;
	int st;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n") || s->mode == SRV_SILENT)
		return;
	if (strncmp(c->buf, "GET /healthz HTTP/1.1\r\n", 23) || !strstr(c->buf, "\r\nHost: ") ||
	    !strstr(c->buf, "\r\nConnection: close\r\n"))
		s->bad_requests++;
	st = s->script[s->requests < s->n_script ? s->requests : s->n_script - 1];
	s->requests++;
	if (s->mode == SRV_GARBAGE)
		snprintf(out, sizeof(out), "SSH-2.0-OpenSSH_9.2\r\n");
	else
		snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", st);
	assert_int_equal(send(c->fd, out, strlen(out), MSG_NOSIGNAL), (ssize_t)strlen(out));
	conn_close(c);
}

static void on_accept(struct gw_io *io, __u32 events)
{
	struct srv *s = container_of(io, struct srv, io);
	struct conn *c;
	int fd, i;

	while ((fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		c = calloc(1, sizeof(*c));
		assert_non_null(c);
		for (i = 0; i < 64 && s->open[i]; i++)
			;
		assert_true(i < 64);
		s->open[i] = c;
		c->s = s;
		c->fd = fd;
		assert_int_equal(gw_io_start(loop, &c->io, fd, EPOLLIN, on_conn), 0);
	}
}

/* A socket bound to a free loopback port; listening (backlog) unless
 * backlog < 0 (then connects to it are refused). */
static void srv_open(struct srv *s, enum srv_mode mode, int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	s->mode = mode;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	if (backlog < 0)
		return;
	assert_int_equal(listen(s->fd, backlog), 0);
	if (mode != SRV_LISTEN)
		assert_int_equal(gw_io_start(loop, &s->io, s->fd, EPOLLIN, on_accept), 0);
}

static void srv_close(struct srv *s)
{
	int i;

	for (i = 0; i < 64; i++)
		if (s->open[i])
			conn_close(s->open[i]);
	gw_io_stop(loop, &s->io);
	close(s->fd);
}

/* ---- targets ----------------------------------------------------------------- */

struct change {
	__u64 probes;		/* probes counted when the state changed */
	enum gw_health_state old, now;
};

struct watch {
	struct gw_health_target *t;
	struct change ch[32];
	int n;
};

static void on_change(struct gw_health_target *t, enum gw_health_state old,
		      enum gw_health_state now, void *arg)
{
	struct watch *w = arg;
	struct gw_health_info in;

	gw_health_info_get(t, &in);
	assert_true(w->n < 32);
	w->ch[w->n++] = (struct change){ in.probes, old, now };
}

static struct gw_health_params params(int kind, __u16 port, __u64 interval_ms,
				      __u64 timeout_ms, __u32 rise, __u32 fall)
{
	struct gw_health_params p = {
		.kind = kind,
		.addr = { .ip = { .family = GW_FAMILY_V4 }, .port = port },
		.path = "/healthz",
		.interval_ns = interval_ms * MS,
		.timeout_ns = timeout_ms * MS,
		.rise = rise,
		.fall = fall,
	};

	p.addr.ip.addr[0] = htonl(INADDR_LOOPBACK);
	return p;
}

/* Runs the loop until every watched target has counted `probes` probes (or
 * 5 s pass: a failure). */
struct until {
	struct gw_timer tm;
	struct watch **w;
	int n;
	__u64 probes;
	__u64 deadline;
	int timed_out;
};

static void on_poll(struct gw_timer *tm)
{
	struct until *u = container_of(tm, struct until, tm);
	struct gw_health_info in;
	int i, done = 1;

	for (i = 0; i < u->n; i++) {
		gw_health_info_get(u->w[i]->t, &in);
		if (in.probes < u->probes)
			done = 0;
	}
	if (done || gw_loop_now(loop) > u->deadline) {
		u->timed_out = !done;
		gw_loop_stop(loop);
		return;
	}
	gw_timer_start(loop, tm, 2 * MS, on_poll);
}

static void run_until(struct watch **w, int n, __u64 probes)
{
	struct until u = { .w = w, .n = n, .probes = probes };

	u.deadline = gw_loop_update_now(loop) + 5000 * MS;
	gw_timer_start(loop, &u.tm, 2 * MS, on_poll);
	assert_int_equal(gw_loop_run(loop), 0);
	gw_timer_stop(loop, &u.tm);
	assert_false(u.timed_out);
}

static int setup(void **state)
{
	return gw_loop_new(&loop);
}

static int teardown(void **state)
{
	gw_loop_free(loop);
	loop = NULL;
	return 0;
}

/* Checks the target's state and the start of its last failure reason. */
static void expect(struct watch *w, enum gw_health_state st, const char *reason, const char *what)
{
	struct gw_health_info in;

	gw_health_info_get(w->t, &in);
	if (in.state != st || strncmp(in.reason, reason, strlen(reason)) ||
	    (!reason[0] && in.reason[0]))
		fail_msg("%s: state %s reason '%s', expected %s '%s'", what,
			 gw_health_state_str(in.state), in.reason, gw_health_state_str(st), reason);
}

/* tcp: a listener passes, a bound port without listener is refused; the
 * first probe of an unknown target decides at once. */
static void test_tcp(void **state)
{
	struct srv up = { 0 }, refused = { 0 };
	struct gw_health *h;
	struct watch a = { 0 }, b = { 0 }, *w[] = { &a, &b };
	struct gw_health_params p;

	srv_open(&up, SRV_LISTEN, 64);
	srv_open(&refused, SRV_LISTEN, -1);
	assert_int_equal(gw_health_new(loop, 16, &h), 0);
	p = params(GW_HC_TCP, up.port, 20, 10, 3, 3);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UNKNOWN, on_change, &a, &a.t), 0);
	p = params(GW_HC_TCP, refused.port, 20, 10, 3, 3);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UNKNOWN, on_change, &b, &b.t), 0);
	run_until(w, 2, 1);
	/* one probe: unknown -> up / down without waiting for rise/fall */
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ch[0].probes, 1);
	assert_int_equal(a.ch[0].now, GW_HS_UP);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.ch[0].probes, 1);
	assert_int_equal(b.ch[0].now, GW_HS_DOWN);
	expect(&a, GW_HS_UP, "", "tcp listener");
	expect(&b, GW_HS_DOWN, "connect: Connection refused", "tcp refused");
	run_until(w, 2, 4);
	assert_int_equal(a.n, 1);	/* steady: no more changes */
	assert_int_equal(b.n, 1);
	gw_health_free(h);
	srv_close(&up);
	srv_close(&refused);
}

/* http: 200 and 301 pass; 500, a non-HTTP answer and a server that never
 * answers (timeout) fail; the request has its path, Host and Connection. */
static void test_http(void **state)
{
	static const int s200[] = { 200 }, s301[] = { 301 }, s500[] = { 500 };
	struct srv ok = { .script = s200, .n_script = 1 }, moved = { .script = s301, .n_script = 1 };
	struct srv err = { .script = s500, .n_script = 1 }, junk = { .script = s200, .n_script = 1 };
	struct srv silent = { .script = s200, .n_script = 1 };
	struct watch a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 };
	struct watch *w[] = { &a, &b, &c, &d, &e };
	struct gw_health_params p;
	struct gw_health *h;

	srv_open(&ok, SRV_HTTP, 64);
	srv_open(&moved, SRV_HTTP, 64);
	srv_open(&err, SRV_HTTP, 64);
	srv_open(&junk, SRV_GARBAGE, 64);
	srv_open(&silent, SRV_SILENT, 64);
	assert_int_equal(gw_health_new(loop, 16, &h), 0);
	p = params(GW_HC_HTTP, ok.port, 30, 20, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_DOWN, on_change, &a, &a.t), 0);
	p = params(GW_HC_HTTP, moved.port, 30, 20, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_DOWN, on_change, &b, &b.t), 0);
	p = params(GW_HC_HTTP, err.port, 30, 20, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change, &c, &c.t), 0);
	p = params(GW_HC_HTTP, junk.port, 30, 20, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change, &d, &d.t), 0);
	p = params(GW_HC_HTTP, silent.port, 30, 20, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change, &e, &e.t), 0);
	run_until(w, 5, 2);
	expect(&a, GW_HS_UP, "", "http 200");
	expect(&b, GW_HS_UP, "", "http 301");
	expect(&c, GW_HS_DOWN, "http: status 500", "http 500");
	expect(&d, GW_HS_DOWN, "http: no HTTP/1.x status line", "not http");
	expect(&e, GW_HS_DOWN, "timeout (http status)", "silent server");
	assert_true(ok.requests >= 2);
	assert_int_equal(ok.bad_requests, 0);
	assert_int_equal(err.bad_requests, 0);
	assert_int_equal(silent.requests, 0);
	gw_health_free(h);
	srv_close(&ok);
	srv_close(&moved);
	srv_close(&err);
	srv_close(&junk);
	srv_close(&silent);
}

/* A listener whose accept queue is full drops SYNs: the connect times out. */
static void test_connect_timeout(void **state)
{
	struct srv full = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct watch w = { 0 }, *ws[] = { &w };
	struct gw_health_params p;
	struct gw_health *h;
	int fill[4], i;

	srv_open(&full, SRV_LISTEN, 0);
	a.sin_port = htons(full.port);
	/* backlog 0 queues one connection; a second fills what is left */
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(50000);
	assert_int_equal(gw_health_new(loop, 4, &h), 0);
	p = params(GW_HC_TCP, full.port, 60, 30, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change, &w, &w.t), 0);
	run_until(ws, 1, 1);
	expect(&w, GW_HS_DOWN, "timeout (connect)", "full accept queue");
	gw_health_free(h);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	srv_close(&full);
}

/* rise 3, fall 2 from up, against a scripted server: the state changes at
 * exactly the probes the counts say, never earlier, never later. */
static void test_rise_fall(void **state)
{
	static const int script[] = { 500, 500, 200, 200, 500, 200, 200, 200,
				      500, 200, 500, 500 };
	struct srv s = { .script = script, .n_script = 12 };
	struct watch w = { 0 }, *ws[] = { &w };
	struct gw_health_params p;
	struct gw_health *h;

	srv_open(&s, SRV_HTTP, 64);
	assert_int_equal(gw_health_new(loop, 4, &h), 0);
	p = params(GW_HC_HTTP, s.port, 15, 10, 3, 2);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change, &w, &w.t), 0);
	run_until(ws, 1, 12);
	assert_int_equal(s.requests, 12);	/* one request per probe, none lost */
	assert_int_equal(w.n, 3);
	/* two failures in a row: down at probe 2 */
	assert_int_equal(w.ch[0].probes, 2);
	assert_int_equal(w.ch[0].old, GW_HS_UP);
	assert_int_equal(w.ch[0].now, GW_HS_DOWN);
	/* 200 200 500 resets the run; 200 200 200: up at probe 8 */
	assert_int_equal(w.ch[1].probes, 8);
	assert_int_equal(w.ch[1].now, GW_HS_UP);
	/* 500 200 does not count; 500 500: down at probe 12 */
	assert_int_equal(w.ch[2].probes, 12);
	assert_int_equal(w.ch[2].now, GW_HS_DOWN);
	gw_health_free(h);
	srv_close(&s);
}

/* The callback may delete its own target; update keeps state and counts. */
static int deleted;

static void on_change_del(struct gw_health_target *t, enum gw_health_state old,
			  enum gw_health_state now, void *arg)
{
	gw_health_del(t);
	deleted++;
}

static void test_del_update(void **state)
{
	struct srv refused = { 0 }, up = { 0 };
	struct watch w = { 0 }, v = { 0 }, *ws[] = { &w };
	struct gw_health_params p;
	struct gw_health_info in;
	struct gw_health *h;

	srv_open(&refused, SRV_LISTEN, -1);
	srv_open(&up, SRV_LISTEN, 64);
	assert_int_equal(gw_health_new(loop, 4, &h), 0);
	p = params(GW_HC_TCP, refused.port, 10, 5, 1, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change_del, NULL, &v.t), 0);
	p = params(GW_HC_TCP, refused.port, 10, 5, 2, 1);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, on_change, &w, &w.t), 0);
	run_until(ws, 1, 3);
	assert_int_equal(deleted, 1);
	expect(&w, GW_HS_DOWN, "connect: Connection refused", "refused");
	/* same params: nothing changes; a new port: state and counts stay */
	assert_int_equal(gw_health_update(w.t, &p), 0);
	p = params(GW_HC_TCP, up.port, 10, 5, 2, 1);
	assert_int_equal(gw_health_update(w.t, &p), 0);
	gw_health_info_get(w.t, &in);
	assert_int_equal(in.state, GW_HS_DOWN);
	run_until(ws, 1, in.probes + 2);
	expect(&w, GW_HS_UP, "", "moved to a listener, rise 2");
	assert_int_equal(w.ch[w.n - 1].probes, in.probes + 2);
	gw_health_free(h);
	srv_close(&refused);
	srv_close(&up);
}

/* 1000 targets with one interval: first probes spread over the interval
 * (each tenth holds 60-140 of them, 100 expected), and the checker holds
 * no more than its maximum. */
static void test_spread_and_bounds(void **state)
{
	static struct gw_health_target *t[1001];
	struct gw_health_params p = params(GW_HC_TCP, 9, 1000, 100, 1, 1);
	struct gw_health_info in;
	struct gw_health *h;
	int bucket[10] = { 0 }, i;
	__u64 now = gw_loop_update_now(loop);

	assert_int_equal(gw_health_new(loop, 1000, &h), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(gw_health_add(h, &p, GW_HS_UNKNOWN, NULL, NULL, &t[i]), 0);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UNKNOWN, NULL, NULL, &t[1000]), -ENOSPC);
	for (i = 0; i < 1000; i++) {
		gw_health_info_get(t[i], &in);
		assert_true(in.next_probe_ns >= now && in.next_probe_ns < now + 1000 * MS);
		bucket[(in.next_probe_ns - now) / (100 * MS)]++;
	}
	for (i = 0; i < 10; i++)
		if (bucket[i] < 60 || bucket[i] > 140)
			fail_msg("tenth %d of the interval holds %d first probes", i, bucket[i]);
	gw_health_del(t[0]);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UNKNOWN, NULL, NULL, &t[0]), 0);
	gw_health_free(h);
}

/* Bad parameters are refused: no path, a path that would inject a header,
 * zero rise, no port, an unknown kind. */
static void test_params(void **state)
{
	struct gw_health_params p = params(GW_HC_HTTP, 80, 100, 50, 1, 1);
	struct gw_health_target *t;
	struct gw_health *h;

	assert_int_equal(gw_health_params_check(&p), 0);
	p.path = "healthz";
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	p.path = "/a\r\nX-Injected: 1";
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	p.path = "/a b";
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	p = params(GW_HC_HTTP, 80, 100, 50, 1, 1);
	p.host = "a\nb";
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	p = params(GW_HC_TCP, 80, 100, 50, 0, 1);
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	p = params(GW_HC_TCP, 0, 100, 50, 1, 1);
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	p = params(7, 80, 100, 50, 1, 1);
	assert_int_equal(gw_health_params_check(&p), -EINVAL);
	/* none: no address needed, never probed, keeps its state */
	p = params(GW_HC_NONE, 0, 100, 50, 1, 1);
	assert_int_equal(gw_health_new(loop, 1, &h), 0);
	assert_int_equal(gw_health_add(h, &p, GW_HS_UP, NULL, NULL, &t), 0);
	assert_int_equal(gw_health_state_of(t), GW_HS_UP);
	p = params(GW_HC_HTTP, 80, 100, 50, 1, 1);
	p.path = "x";
	assert_int_equal(gw_health_update(t, &p), -EINVAL);
	gw_health_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rise_fall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spread_and_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
