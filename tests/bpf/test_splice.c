// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The sockmap splice on live loopback sockets in a private namespace
 * (BPF_PROG_TEST_RUN has no sk_skb support, design-sockmap.md section 1):
 * bpf/sockmap.bpf.c through agent/proxy/splice.c, as gwd uses them.
 *   client --- [cfd gw ufd] --- backend
 * Covers: bytes both ways, a FIN passed on after the drain, bytes queued
 * before the insert, the lag watchdog with a backend that does not read,
 * close removing the entries, IPv4, IPv6, a v4 client on a dual-stack
 * listener, and many transfers of random sizes both ways, compared by
 * SHA-256 on both ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>
#include <cmocka.h>

#include "harness.h"
#include "core/loop.h"
#include "proxy/splice.h"

static char pin_root[64];
static struct gw_loop *loop;

struct pair {
	int cli, cfd, ufd, be;	/* client, gw's two, backend */
	struct gw_splice *sp;
};

static void no_kick(void *arg)
{
}

static int setup(void **state)
{
	if (gwt_netns())
		return -1;
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/gwt-splice-%d", (int)getpid());
	if (gw_loop_new(&loop))
		return -1;
	if (gw_splice_open(pin_root)) {
		fprintf(stderr, "splice: %s\n", gw_splice_status());
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	gw_splice_close();
	gwt_sh("rm -rf %s", pin_root);
	gw_loop_free(loop);
	return 0;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A listener on addr:0 (family af, v6only for AF_INET6 as given); its
 * address in *sa. */
static int listen_on(int af, const char *addr, int v6only, struct sockaddr_storage *sa,
		     socklen_t *len)
{
	int fd = socket(af, SOCK_STREAM, 0), zero = 0;

	assert_true(fd >= 0);
	memset(sa, 0, sizeof(*sa));
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &s4->sin_addr);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		*len = sizeof(*s6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &(int){ 1 } : &zero,
			   sizeof(int));
	}
	assert_int_equal(bind(fd, (struct sockaddr *)sa, *len), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, len), 0);
	return fd;
}

/* Connects to the listener's port at `to` (family af). Returns the fd. */
static int connect_to(int af, const char *to, const struct sockaddr_storage *lsa)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int fd = socket(af, SOCK_STREAM, 0);
	__u16 port = lsa->ss_family == AF_INET ? ((struct sockaddr_in *)lsa)->sin_port :
						 ((struct sockaddr_in6 *)lsa)->sin6_port;

	memset(&sa, 0, sizeof(sa));
	if (af == AF_INET) {
		((struct sockaddr_in *)&sa)->sin_family = AF_INET;
		((struct sockaddr_in *)&sa)->sin_port = port;
		inet_pton(AF_INET, to, &((struct sockaddr_in *)&sa)->sin_addr);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&sa)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&sa)->sin6_port = port;
		inet_pton(AF_INET6, to, &((struct sockaddr_in6 *)&sa)->sin6_addr);
		len = sizeof(struct sockaddr_in6);
	}
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

/* client -> front listener (cfd), gw -> backend listener (ufd); all four
 * non-blocking. cli_af/cli_to: the client's family and target; front:
 * the listener's. */
static void pair_make(struct pair *p, int cli_af, const char *cli_to, int front_af,
		      const char *front_addr, int be_af, const char *be_addr)
{
	struct sockaddr_storage fsa, bsa;
	socklen_t fl, bl;
	int lf = listen_on(front_af, front_addr, 0, &fsa, &fl);
	int lb = listen_on(be_af, be_addr, 1, &bsa, &bl);

	memset(p, 0, sizeof(*p));
	p->cli = connect_to(cli_af, cli_to, &fsa);
	p->cfd = accept(lf, NULL, NULL);
	p->ufd = connect_to(be_af, be_addr, &bsa);
	p->be = accept(lb, NULL, NULL);
	assert_true(p->cfd >= 0 && p->be >= 0);
	close(lf);
	close(lb);
	nonblock(p->cli);
	nonblock(p->cfd);
	nonblock(p->ufd);
	nonblock(p->be);
}

static void pair_splice(struct pair *p)
{
	struct gw_splice_ctl ctl = { .loop = loop, .cfd = p->cfd, .ufd = p->ufd,
				     .kick = no_kick };

	assert_int_equal(gw_splice_start(&ctl, &p->sp), 0);
}

static void pair_close(struct pair *p)
{
	gw_splice_end(p->sp);
	close(p->cli);
	close(p->cfd);
	close(p->ufd);
	close(p->be);
}

static __u64 ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* A deterministic byte stream. */
static void fill(unsigned char *b, size_t n, __u64 seed, size_t off)
{
	size_t i;

	for (i = 0; i < n; i++) {
		__u64 x = seed + off + i;

		x ^= x >> 7;
		x *= 0x9e3779b97f4a7c15ull;
		b[i] = (unsigned char)(x >> 56);
	}
}

/* One stream's ends: what was sent (and hashed) and received (hashed). */
struct flow {
	size_t total, sent, rcvd;
	__u64 seed;
	EVP_MD_CTX *tx, *rx;
	int shut, eof;
};

static void flow_init(struct flow *f, size_t total, __u64 seed)
{
	memset(f, 0, sizeof(*f));
	f->total = total;
	f->seed = seed;
	f->tx = EVP_MD_CTX_new();
	f->rx = EVP_MD_CTX_new();
	assert_true(f->tx && f->rx);
	EVP_DigestInit_ex(f->tx, EVP_sha256(), NULL);
	EVP_DigestInit_ex(f->rx, EVP_sha256(), NULL);
}

/* Moves what the sockets take: from `out` (sender) and into `in`. */
static void flow_step(struct flow *f, int out, int in)
{
	unsigned char buf[65536];
	ssize_t n;

	while (f->sent < f->total) {
		size_t want = f->total - f->sent < sizeof(buf) ? f->total - f->sent : sizeof(buf);

		fill(buf, want, f->seed, f->sent);
		n = send(out, buf, want, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		EVP_DigestUpdate(f->tx, buf, (size_t)n);
		f->sent += (size_t)n;
	}
	if (f->sent == f->total && !f->shut) {
		shutdown(out, SHUT_WR);
		f->shut = 1;
	}
	while (!f->eof) {
		n = recv(in, buf, sizeof(buf), 0);
		if (n > 0) {
			EVP_DigestUpdate(f->rx, buf, (size_t)n);
			f->rcvd += (size_t)n;
		} else if (n == 0) {
			f->eof = 1;
		} else {
			break;
		}
	}
}

static void flow_check(struct flow *f)
{
	unsigned char a[32], b[32];

	EVP_DigestFinal_ex(f->tx, a, NULL);
	EVP_DigestFinal_ex(f->rx, b, NULL);
	EVP_MD_CTX_free(f->tx);
	EVP_MD_CTX_free(f->rx);
	assert_int_equal(f->rcvd, f->total);
	assert_memory_equal(a, b, 32);
}

/* gwd's user-space copy after an unsplice (what proxy.c's tunnel does):
 * from -> to through buf, a FIN passed on once the bytes are out. */
struct ucopy {
	char buf[65536];
	size_t have, off;
	int eof, shut;
};

static void ucopy_step(struct ucopy *u, int from, int to, int to_shut_done)
{
	ssize_t n;

	for (;;) {
		if (u->off == u->have && !u->eof) {
			n = recv(from, u->buf, sizeof(u->buf), 0);
			if (n > 0) {
				u->have = (size_t)n;
				u->off = 0;
			} else if (n == 0) {
				u->eof = 1;
			} else {
				break;
			}
		}
		if (u->off < u->have) {
			n = send(to, u->buf + u->off, u->have - u->off, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			u->off += (size_t)n;
			continue;
		}
		if (u->eof && !u->shut && !to_shut_done) {
			shutdown(to, SHUT_WR);
			u->shut = 1;
		}
		if (u->eof)
			break;
	}
}

static unsigned int n_back;

/* Runs both flows through the splice until both ends saw EOF (or
 * limit_ms); after an unsplice, user space copies as gwd would. Returns
 * the last poll result. */
static int pump(struct pair *p, struct flow *up, struct flow *down, __u64 limit_ms)
{
	static struct ucopy cu, uc;
	__u64 end = ms_now() + limit_ms;
	int rc = GW_SPLICE_LIVE;

	memset(&cu, 0, sizeof(cu));
	memset(&uc, 0, sizeof(uc));
	while (!(up->eof && down->eof) && ms_now() < end) {
		struct pollfd pf[2] = { { p->be, POLLIN, 0 }, { p->cli, POLLIN, 0 } };

		flow_step(up, p->cli, p->be);
		flow_step(down, p->be, p->cli);
		if (rc == GW_SPLICE_LIVE) {
			rc = gw_splice_poll(p->sp);
			if (rc == GW_SPLICE_BACK)
				n_back++;
		}
		assert_true(rc >= 0);
		if (gw_splice_may_write(p->sp, 1))
			ucopy_step(&cu, p->cfd, p->ufd, gw_splice_shut(p->sp, 1));
		if (gw_splice_may_write(p->sp, 0))
			ucopy_step(&uc, p->ufd, p->cfd, gw_splice_shut(p->sp, 0));
		poll(pf, 2, 1);
	}
	return rc;
}

/* gwd's own sockets see nothing: recv on them would block. */
static void gw_sees_nothing(struct pair *p)
{
	char b;

	assert_int_equal(recv(p->cfd, &b, 1, MSG_PEEK), -1);
	assert_int_equal(recv(p->ufd, &b, 1, MSG_PEEK), -1);
}

static void transfer(int cli_af, const char *cli_to, int front_af, const char *front,
		     int be_af, const char *be, size_t n_up, size_t n_down, __u64 seed)
{
	struct pair p;
	struct flow up, down;
	int rc;

	pair_make(&p, cli_af, cli_to, front_af, front, be_af, be);
	pair_splice(&p);
	flow_init(&up, n_up, seed);
	flow_init(&down, n_down, seed ^ 0x5555);
	rc = pump(&p, &up, &down, 10000);
	if (up.rcvd != up.total || down.rcvd != down.total)
		print_message("# transfer %zu/%zu up, %zu/%zu down (eof %d/%d), poll %d, user writes "
			      "up %d down %d, shut %d/%d\n", up.rcvd, up.total, down.rcvd, down.total,
			      up.eof, down.eof, rc, gw_splice_may_write(p.sp, 1),
			      gw_splice_may_write(p.sp, 0), gw_splice_shut(p.sp, 1),
			      gw_splice_shut(p.sp, 0));
	flow_check(&up);
	flow_check(&down);
	/* both FINs passed on after the drain: nothing left to do */
	while (rc == GW_SPLICE_LIVE)
		rc = gw_splice_poll(p.sp);
	assert_true(rc == GW_SPLICE_DONE || rc == GW_SPLICE_BACK);
	pair_close(&p);
}

static void test_v4(void **state)
{
	unsigned int back0 = n_back;
	__u64 up0, down0, up1, down1, st, why[GW_SPLICE_WHY_MAX];

	gw_splice_totals(&up0, &down0, &st, why);
	transfer(AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", 3 << 20,
		 1 << 20, 1);
	gw_splice_totals(&up1, &down1, &st, why);
	assert_true(up1 - up0 >= 3 << 20);
	assert_true(down1 - down0 >= 1 << 20);
	assert_int_equal(gw_splice_live(), 0);
	assert_int_equal(n_back, back0);
}

static void test_v6(void **state)
{
	transfer(AF_INET6, "::1", AF_INET6, "::1", AF_INET6, "::1", 1 << 20, 2 << 20, 2);
}

/* A v4 client on a dual-stack [::] listener: gw's socket is AF_INET6 with
 * ::ffff:127.0.0.1, to a v4 backend. */
static void test_v4_on_dual_stack(void **state)
{
	transfer(AF_INET, "127.0.0.1", AF_INET6, "::", AF_INET, "127.0.0.1", 1 << 20, 1 << 20, 3);
}

/* Nothing reaches gwd's sockets while spliced, and a close takes the
 * socket's entry out of gw_sk_hash (the peer entries are gwd's). */
static void test_gw_sees_nothing_close_removes(void **state)
{
	struct gw_splice_key kc;
	struct pair p;
	char buf[16];
	__u64 cookie;
	int hfd, i;

	pair_make(&p, AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1");
	pair_splice(&p);
	assert_int_equal(send(p.cli, "ping", 4, 0), 4);
	for (i = 0; i < 200 && recv(p.be, buf, sizeof(buf), 0) != 4; i++)
		usleep(1000);
	assert_true(i < 200);
	gw_sees_nothing(&p);
	assert_int_equal(gw_splice_key_of(p.cfd, &kc), 0);
	hfd = bpf_obj_get(strcat(strcpy((char[128]){ 0 }, pin_root), "/gw_sk_hash"));
	assert_true(hfd >= 0);
	assert_int_equal(bpf_map_lookup_elem(hfd, &kc, &cookie), 0);
	gw_splice_end(p.sp);
	p.sp = NULL;
	close(p.cfd);
	p.cfd = -1;
	assert_int_not_equal(bpf_map_lookup_elem(hfd, &kc, &cookie), 0);
	close(hfd);
	close(p.cli);
	close(p.ufd);
	close(p.be);
}

/* Bytes that arrived before the insert: the kernel holds them until the
 * next segment; the splice releases them at once (SO_RCVLOWAT), or the
 * stall check hands the connection back. Either way the backend gets the
 * request while the client waits. */
static void test_queued_before_insert(void **state)
{
	struct pair p;
	char buf[64];
	ssize_t n = -1;
	int i, rc = GW_SPLICE_LIVE;

	pair_make(&p, AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1");
	assert_int_equal(send(p.cli, "GET /second HTTP/1.1\r\n\r\n", 24, 0), 24);
	usleep(20000);
	pair_splice(&p);
	for (i = 0; i < 500; i++) {
		n = recv(p.be, buf, sizeof(buf), 0);
		if (n > 0)
			break;
		if (rc == GW_SPLICE_LIVE)
			rc = gw_splice_poll(p.sp);
		if (rc == GW_SPLICE_BACK) {
			/* user space forwards them, as the proxy would */
			ssize_t m = recv(p.cfd, buf, sizeof(buf), 0);

			if (m > 0)
				assert_int_equal(send(p.ufd, buf, (size_t)m, 0), m);
		}
		usleep(1000);
	}
	print_message("# queued before insert: %s after %d ms\n",
		      rc == GW_SPLICE_BACK ? "unspliced" : "released in the kernel", i);
	assert_int_equal(n, 24);
	assert_memory_equal(buf, "GET /second HTTP/1.1\r\n\r\n", 24);
	pair_close(&p);
}

/* A backend that does not read: without the watchdog the client pushed
 * hundreds of MiB into kernel memory (design section 4.5). With it, the
 * splice goes back to user space past lag_max and TCP's window throttles
 * the client. The test measures what the client got in and the peak lag,
 * then lets the backend read everything (SHA-256) while user space copies. */
static void test_lag_watchdog(void **state)
{
	struct pair p;
	struct flow up, down;
	unsigned char buf[65536];
	size_t written_at_back = 0;
	__u64 end;
	int rc = GW_SPLICE_LIVE;
	struct gw_splice_ctl ctl;
	__u64 a, b, st, why0[GW_SPLICE_WHY_MAX], why1[GW_SPLICE_WHY_MAX];

	gw_splice_totals(&a, &b, &st, why0);
	pair_make(&p, AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1");
	ctl = (struct gw_splice_ctl){ .loop = loop, .cfd = p.cfd, .ufd = p.ufd,
				      .lag_max = 1u << 20, .kick = no_kick };
	assert_int_equal(gw_splice_start(&ctl, &p.sp), 0);
	flow_init(&up, 512u << 20, 9);
	flow_init(&down, 0, 10);
	/* pushing, polled every ~1 ms, backend not reading: until the
	 * watchdog fires (at most 5 s), then 300 ms more */
	end = ms_now() + 5000;
	while (ms_now() < end) {
		size_t want = sizeof(buf);
		ssize_t n;

		for (int k = 0; k < 16 && up.sent < up.total; k++) {
			fill(buf, want, up.seed, up.sent);
			n = send(p.cli, buf, want, MSG_NOSIGNAL);
			if (n <= 0) {
				if (errno != EAGAIN)
					print_message("# client send: %s\n", strerror(errno));
				break;
			}
			EVP_DigestUpdate(up.tx, buf, (size_t)n);
			up.sent += (size_t)n;
		}
		if (rc == GW_SPLICE_LIVE) {
			rc = gw_splice_poll(p.sp);
			if (rc == GW_SPLICE_BACK)
				written_at_back = up.sent;
		}
		assert_true(rc >= 0);
		gw_splice_totals(&a, &b, &st, why1);
		if (why1[GW_SPLICE_WHY_LAG] != why0[GW_SPLICE_WHY_LAG] && end > ms_now() + 300) {
			written_at_back = up.sent;
			end = ms_now() + 300;
		}
		usleep(500);
	}
	print_message("# lag watchdog (lag_max 1 MiB): fired after %zu KiB in, then the client "
		      "got %zu KiB in over 300 ms; peak lag %lld KiB\n", written_at_back >> 10,
		      (up.sent - written_at_back) >> 10,
		      (long long)gw_splice_lag_peak(p.sp) >> 10);
	assert_int_equal(why1[GW_SPLICE_WHY_LAG], why0[GW_SPLICE_WHY_LAG] + 1);
	/* bounded: lag_max plus a tick's worth; after it, TCP's window */
	assert_true(gw_splice_lag_peak(p.sp) < (9 << 20));
	assert_true(up.sent - written_at_back < (16u << 20));
	/* now the backend reads; user space copies what is left */
	up.total = up.sent;
	shutdown(p.cli, SHUT_WR);
	up.shut = 1;
	end = ms_now() + 20000;
	{
		static char cbuf[1 << 20];
		size_t have = 0, off = 0;
		int ceof = 0;

		while (!up.eof && ms_now() < end) {
			ssize_t n;

			/* the proxy's user-space copy, cfd -> ufd */
			if (rc == GW_SPLICE_LIVE)
				rc = gw_splice_poll(p.sp);
			assert_true(rc >= 0);
			if (gw_splice_may_write(p.sp, 1)) {
				if (off == have && !ceof) {
					n = recv(p.cfd, cbuf, sizeof(cbuf), 0);
					if (n > 0) {
						have = (size_t)n;
						off = 0;
					} else if (n == 0) {
						ceof = 1;
						shutdown(p.ufd, SHUT_WR);
					}
				}
				if (off < have) {
					n = send(p.ufd, cbuf + off, have - off, MSG_NOSIGNAL);
					if (n > 0)
						off += (size_t)n;
				}
			}
			flow_step(&up, p.cli, p.be);
			flow_step(&down, p.be, p.cli);
		}
	}
	print_message("# then the backend read all %zu KiB in order, client -> upstream back in "
		      "user space: %s\n", up.rcvd >> 10, gw_splice_may_write(p.sp, 1) ? "yes" : "no");
	assert_true(gw_splice_may_write(p.sp, 1));
	flow_check(&up);
	pair_close(&p);
}

/* Many spliced transfers of random sizes both ways, v4 and v6 (bounded in
 * count and time): no byte lost or reordered. */
static void test_many_transfers(void **state)
{
	const char *n_env = getenv("GWT_SPLICE_TRANSFERS");
	unsigned int n = n_env ? (unsigned int)atoi(n_env) : 1000, i;
	__u64 end = ms_now() + 25000, seed = 0x1234;
	size_t bytes = 0;

	for (i = 0; i < n && ms_now() < end; i++) {
		size_t a, b;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		a = (size_t)(seed >> 33) % (256 << 10);
		b = (size_t)(seed >> 13) % (256 << 10);
		if (i % 3 == 0)
			transfer(AF_INET, "127.0.0.1", AF_INET, "127.0.0.1", AF_INET,
				 "127.0.0.1", a, b, seed);
		else if (i % 3 == 1)
			transfer(AF_INET6, "::1", AF_INET6, "::1", AF_INET6, "::1", a, b, seed);
		else
			transfer(AF_INET, "127.0.0.1", AF_INET6, "::", AF_INET6, "::1", a, b, seed);
		bytes += a + b;
	}
	print_message("# %u spliced transfers, %zu MiB, all SHA-256 equal; %u went back to "
		      "user space\n", i, bytes >> 20, n_back);
	assert_true(i >= n || i >= 200);
	assert_int_equal(gw_splice_live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_v4_on_dual_stack),
		cmocka_unit_test(test_gw_sees_nothing_close_removes),
		cmocka_unit_test(test_queued_before_insert),
		cmocka_unit_test(test_lag_watchdog),
		cmocka_unit_test(test_many_transfers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
