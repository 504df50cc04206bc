// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sockmap splice feasibility probe for gw (a study; not built by the Makefile).
 * Run inside a private netns: unshare -n sh -c 'ip link set lo up; ./probe'
 * Usage: probe bench MB RTTS | probe func
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "probe.skel.h"

#define BUFSZ 65536
#define die(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, " (%s)\n", strerror(errno)); exit(1); } while (0)

struct tuple { __u32 lip, rip, lport, rport; };

static unsigned char pat[BUFSZ + 256];
static struct probe_bpf *skel;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&a, sizeof(a)) || listen(fd, 16))
		die("listen %d", port);
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (void *)&a, sizeof(a)))
		die("connect %d", port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static struct tuple tuple_of(int fd)
{
	struct sockaddr_in l, r;
	socklen_t n = sizeof(l);
	struct tuple t;

	getsockname(fd, (void *)&l, &n);
	n = sizeof(r);
	getpeername(fd, (void *)&r, &n);
	t.lip = l.sin_addr.s_addr;
	t.rip = r.sin_addr.s_addr;
	t.lport = ntohs(l.sin_port);
	t.rport = ntohs(r.sin_port);
	return t;
}

static void insert(int fd)
{
	struct tuple t = tuple_of(fd);
	__u64 v = fd;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.sock_hash), &t, &v, BPF_NOEXIST))
		die("sockhash insert");
}

static void set_peer(struct tuple from, struct tuple to)
{
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.peer), &from, &to, BPF_ANY))
		die("peer insert");
}

/* sock_hash[tuple(x)] = x; peer: a <-> b */
static void pair(int a, int b)
{
	insert(a);
	insert(b);
	set_peer(tuple_of(a), tuple_of(b));
	set_peer(tuple_of(b), tuple_of(a));
}

static int writen(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w <= 0)
			return -1;
		c += w;
		n -= w;
	}
	return 0;
}

/* ---- backends ---- */
enum { B_SINK, B_ECHO, B_HTTP };
struct backend { int lfd, mode; char id; };

static void *backend_run(void *arg)
{
	struct backend *b = arg;
	static __thread char buf[BUFSZ];
	int fd = accept(b->lfd, NULL, NULL);
	unsigned long long total = 0, bad = 0;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (b->mode == B_SINK) {
		while ((n = read(fd, buf, BUFSZ)) > 0) {
			if (memcmp(buf, pat + total % 251, n))
				bad++;
			total += n;
		}
		unsigned long long r[2] = { total, bad };
		writen(fd, r, sizeof(r));
	} else if (b->mode == B_ECHO) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((n = read(fd, buf, BUFSZ)) > 0)
			if (writen(fd, buf, n))
				break;
	} else {
		size_t have = 0;
		while ((n = read(fd, buf + have, BUFSZ - have)) > 0) {
			char *e;
			have += n;
			while ((e = memmem(buf, have, "\r\n\r\n", 4))) {
				char resp[128];
				size_t used = e + 4 - buf;
				int l = snprintf(resp, sizeof(resp),
					"HTTP/1.1 204 No Content\r\nX-B: %c\r\n\r\n", b->id);
				writen(fd, resp, l);
				memmove(buf, buf + used, have - used);
				have -= used;
			}
		}
	}
	close(fd);
	return NULL;
}

/* ---- proxies ---- */
enum { P_DIRECT, P_USER, P_SPLICE, P_STRP, P_VERDICT };
static const char *pname[] = { "direct", "user read/write", "user splice(2)",
			       "sk_skb strparser", "sk_skb verdict" };
struct dir { int src, dst, splice; };

static void *copy_dir(void *arg)
{
	struct dir *d = arg;
	char *buf = malloc(BUFSZ);
	int p[2];
	ssize_t n;

	if (d->splice && pipe(p))
		die("pipe");
	if (d->splice)
		fcntl(p[0], F_SETPIPE_SZ, BUFSZ * 4);
	for (;;) {
		if (d->splice) {
			n = splice(d->src, NULL, p[1], NULL, BUFSZ * 4, SPLICE_F_MOVE);
			if (n <= 0)
				break;
			while (n > 0) {
				ssize_t w = splice(p[0], NULL, d->dst, NULL, n, SPLICE_F_MOVE);
				if (w <= 0)
					goto out;
				n -= w;
			}
		} else {
			n = read(d->src, buf, BUFSZ);
			if (n <= 0 || writen(d->dst, buf, n))
				break;
		}
	}
out:
	shutdown(d->dst, SHUT_WR);
	free(buf);
	return NULL;
}

/* The kernel queues redirected skbs on the target psock and sends them
 * from a work item (sk_psock_backlog): a FIN (shutdown) sent before that
 * queue drains loses the bytes still queued. Wait until the target socket
 * has sent everything its peer socket received (TCP_INFO), then shut down.
 * In gwd the counts are taken relative to the moment of the splice. */
int drain_wait = 1;
static unsigned long long drain_waits_ms;
static void drain(int from, int to)
{
	struct tcp_info a, b;
	socklen_t l;

	for (int i = 0; drain_wait && i < 5000; i++) {
		l = sizeof(a);
		getsockopt(from, IPPROTO_TCP, TCP_INFO, &a, &l);
		l = sizeof(b);
		getsockopt(to, IPPROTO_TCP, TCP_INFO, &b, &l);
		/* after EOF, tcpi_bytes_received counts the FIN (rcv_nxt moved past it) */
		if (b.tcpi_bytes_sent - b.tcpi_bytes_retrans + 1 >= a.tcpi_bytes_received) {
			if (getenv("SLACK"))
				usleep(200000);
			return;
		}
		usleep(1000);
		drain_waits_ms++;
	}
}

/* Spliced connection as gwd would hold it: both fds polled for EOF only;
 * bytes the verdict passed to user space (SK_PASS) are forwarded here. */
static unsigned long long fallback_bytes;
static void splice_wait(int c, int b)
{
	struct pollfd pf[2] = { { c, POLLIN | POLLRDHUP }, { b, POLLIN | POLLRDHUP } };
	int eof[2] = { 0, 0 };
	char buf[4096];

	while (!eof[0] || !eof[1]) {
		if (poll(pf, 2, 5000) <= 0) {
			fprintf(stderr, "splice_wait: timeout (eof %d %d)\n", eof[0], eof[1]);
			return;
		}
		for (int i = 0; i < 2; i++) {
			if (eof[i] || !pf[i].revents)
				continue;
			ssize_t n = recv(pf[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				fallback_bytes += n;
				writen(pf[!i].fd, buf, n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (getenv("DEBUG"))
					fprintf(stderr, "splice_wait: side %d recv=%zd errno=%s\n", i, n, n < 0 ? strerror(errno) : "-");
				eof[i] = 1;
				pf[i].events = 0;
				drain(pf[i].fd, pf[!i].fd);
				shutdown(pf[!i].fd, SHUT_WR);
			}
		}
	}
}

static void attach(int parser, int verdict, int vtype)
{
	int mfd = bpf_map__fd(skel->maps.sock_hash);

	bpf_prog_detach2(bpf_program__fd(skel->progs.parse_whole), mfd, BPF_SK_SKB_STREAM_PARSER);
	bpf_prog_detach2(bpf_program__fd(skel->progs.parse_http), mfd, BPF_SK_SKB_STREAM_PARSER);
	bpf_prog_detach2(bpf_program__fd(skel->progs.verdict_peer), mfd, BPF_SK_SKB_STREAM_VERDICT);
	bpf_prog_detach2(bpf_program__fd(skel->progs.verdict_http), mfd, BPF_SK_SKB_STREAM_VERDICT);
	bpf_prog_detach2(bpf_program__fd(skel->progs.verdict_only), mfd, BPF_SK_SKB_VERDICT);
	bpf_prog_detach2(bpf_program__fd(skel->progs.msg_peer), mfd, BPF_SK_MSG_VERDICT);
	if (parser >= 0 && bpf_prog_attach(parser, mfd, BPF_SK_SKB_STREAM_PARSER, 0))
		die("attach parser");
	if (verdict >= 0 && bpf_prog_attach(verdict, mfd, vtype, 0))
		die("attach verdict type %d", vtype);
}

struct proxy { int lfd, bport, mode; };
static void *proxy_run(void *arg)
{
	struct proxy *p = arg;
	int c = accept(p->lfd, NULL, NULL), b, one = 1;

	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b = connect_to(p->bport);
	if (p->mode == P_USER || p->mode == P_SPLICE) {
		struct dir d1 = { c, b, p->mode == P_SPLICE }, d2 = { b, c, p->mode == P_SPLICE };
		pthread_t t;
		pthread_create(&t, NULL, copy_dir, &d2);
		copy_dir(&d1);
		pthread_join(t, NULL);
	} else {
		pair(c, b);
		splice_wait(c, b);
	}
	close(c);
	close(b);
	return NULL;
}

static int port_seq = 20000;

/* one run: returns MB/s (tput) or fills rtt stats */
static double run(int mode, int bmode, size_t bytes, int rtts, double *p99)
{
	int bport = port_seq++, gport = port_seq++;
	struct backend be = { listen_on(bport), bmode, 'a' };
	struct proxy px = { -1, bport, mode };
	pthread_t tb, tp;
	double t0, t1, res = 0;
	int fd;

	pthread_create(&tb, NULL, backend_run, &be);
	if (mode != P_DIRECT) {
		px.lfd = listen_on(gport);
		pthread_create(&tp, NULL, proxy_run, &px);
		fd = connect_to(gport);
	} else {
		fd = connect_to(bport);
	}
	if (bmode == B_SINK) {
		unsigned long long r[2] = { 0, 0 };
		size_t off = 0;
		usleep(20000); /* let the proxy pair the sockets */
		t0 = now();
		while (off < bytes) {
			size_t n = bytes - off < BUFSZ ? bytes - off : BUFSZ;
			if (writen(fd, pat + off % 251, n))
				die("client write");
			off += n;
		}
		shutdown(fd, SHUT_WR);
		if (read(fd, r, sizeof(r)) != sizeof(r))
			fprintf(stderr, "%s: no count back\n", pname[mode]);
		t1 = now();
		if (r[0] != bytes || r[1])
			fprintf(stderr, "%s: DATA MISMATCH got %llu of %zu, %llu bad chunks\n",
				pname[mode], r[0], bytes, r[1]);
		res = bytes / (t1 - t0) / 1e6;
	} else {
		double *lat = calloc(rtts, sizeof(double));
		char m[64] = "ping", in[64];
		usleep(20000);
		for (int i = 0; i < rtts; i++) {
			size_t got = 0;
			t0 = now();
			writen(fd, m, sizeof(m));
			while (got < sizeof(in)) {
				ssize_t n = read(fd, in + got, sizeof(in) - got);
				if (n <= 0)
					die("%s: echo read", pname[mode]);
				got += n;
			}
			lat[i] = now() - t0;
		}
		shutdown(fd, SHUT_WR);
		char x;
		while (read(fd, &x, 1) > 0)
			;
		double s = 0;
		for (int i = 0; i < rtts; i++)
			s += lat[i];
		int cmp(const void *a, const void *b) {
			double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
		qsort(lat, rtts, sizeof(double), cmp);
		*p99 = lat[rtts * 99 / 100] * 1e6;
		res = s / rtts * 1e6;
		free(lat);
	}
	close(fd);
	pthread_join(tb, NULL);
	if (mode != P_DIRECT) {
		pthread_join(tp, NULL);
		close(px.lfd);
	}
	close(be.lfd);
	return res;
}

static void setup_mode(int mode)
{
	if (mode == P_STRP)
		attach(bpf_program__fd(skel->progs.parse_whole),
		       bpf_program__fd(skel->progs.verdict_peer), BPF_SK_SKB_STREAM_VERDICT);
	else if (mode == P_VERDICT)
		attach(-1, bpf_program__fd(skel->progs.verdict_only), BPF_SK_SKB_VERDICT);
}

static __u64 count(int i)
{
	int n = libbpf_num_possible_cpus();
	__u64 v[n], s = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.cnt), &i, v))
		return 0;
	for (int k = 0; k < n; k++)
		s += v[k];
	return s;
}

static void bench(size_t mb, int rtts, int reps)
{
	double tput[5][16], lat[5][16], p99[5][16], dummy;

	for (int r = 0; r < reps; r++)
		for (int m = 0; m < 5; m++) {
			setup_mode(m);
			tput[m][r] = run(m, B_SINK, mb << 20, 0, &dummy);
			lat[m][r] = run(m, B_ECHO, 0, rtts, &p99[m][r]);
		}
	printf("%-18s %10s %10s %10s %10s %10s  (best and median of %d interleaved runs; %zu MiB, %d x 64 B round trips)\n",
	       "mode", "MB/s best", "MB/s med", "rtt best", "rtt med", "p99 med", reps, mb, rtts);
	for (int m = 0; m < 5; m++) {
		double t[16], l[16], q[16];
		int cmpd(const void *a, const void *b) {
			double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
		memcpy(t, tput[m], sizeof(t)); memcpy(l, lat[m], sizeof(l)); memcpy(q, p99[m], sizeof(q));
		qsort(t, reps, sizeof(double), cmpd);
		qsort(l, reps, sizeof(double), cmpd);
		qsort(q, reps, sizeof(double), cmpd);
		printf("%-18s %10.0f %10.0f %10.1f %10.1f %10.1f\n", pname[m], t[reps - 1], t[reps / 2],
		       l[0], l[reps / 2], q[reps / 2]);
	}
	for (int m = 0; m < 5; m++) {
		printf("raw %-14s tput", pname[m]);
		for (int r = 0; r < reps; r++) printf(" %.0f", tput[m][r]);
		printf("  rtt");
		for (int r = 0; r < reps; r++) printf(" %.1f", lat[m][r]);
		printf("\n");
	}
	printf("drain waits (ms, total): %llu\n", drain_waits_ms);
	printf("counters: zero-length skbs kept %llu, verdict runs %llu, bytes %llu, redirect ok %llu, miss %llu, parser runs %llu, fallback bytes %llu\n",
	       (unsigned long long)count(12), (unsigned long long)count(0), (unsigned long long)count(1),
	       (unsigned long long)count(2), (unsigned long long)count(3),
	       (unsigned long long)count(4), fallback_bytes);
}

#include "func.c"

int main(int argc, char **argv)
{
	for (int i = 0; i < (int)sizeof(pat); i++)
		pat[i] = i % 251;
	skel = probe_bpf__open();
	if (!skel)
		die("open");
	if (getenv("NOFINFIX"))
		skel->rodata->no_fin_fix = 1;
	if (getenv("NODRAIN"))
		drain_wait = 0;
	if (argc > 1 && !strcmp(argv[1], "ingress"))
		skel->rodata->redir_flags = BPF_F_INGRESS;
	skel->rodata->gw_port = 30080;
	if (probe_bpf__load(skel))
		die("load");
	if (argc > 3 && !strcmp(argv[1], "bench"))
		bench(atoi(argv[2]), atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 3);
	else
		func(argc > 1 ? argv[1] : "");
	probe_bpf__destroy(skel);
	return 0;
}
