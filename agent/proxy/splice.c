// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The sockmap splice of a routed connection (see splice.h and
 * docs/design-sockmap.md section 4).
 *
 * Accounting, per socket X spliced towards Y, from the counters the verdict
 * keeps in gw_sk_peer[X] and TCP's own (exact, no retransmission guess):
 *   fed(Y)   = Y.tcpi_bytes_acked + SIOCOUTQ(Y) - baseline: bytes that
 *              entered Y's send queue since the insert;
 *   lag(X)   = peer[X].bytes - fed(Y): redirected from X, still queued in
 *              Y's psock (kernel memory outside TCP's accounting);
 *   stuck(X) = X.tcpi_bytes_received - baseline - FIN - peer[X].bytes -
 *              peer[X].parked: received by X, never seen by the verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <jansson.h>

#include "sockmap.skel.h"
#include "core/log.h"
#include "proxy/splice.h"

#ifndef SOL_TCP
#define SOL_TCP 6
#endif

static struct {
	struct sockmap_bpf *skel;
	int hash_fd, peer_fd, stats_fd;
	char status[160];
} g = { .hash_fd = -1, .peer_fd = -1, .stats_fd = -1, .status = "not loaded" };

static long n_live;
static __u64 n_started;
static __u64 n_why[GW_SPLICE_WHY_MAX];

/* A splice's state. Going back to user space takes three steps:
 *  LEAVE_C: the client's bytes stay on it for gwd; what the kernel sent
 *           towards the upstream drains into its send queue;
 *  LEAVE_U: the upstream's peer entry goes too (its psock had nothing
 *           queued); gwd reads and writes it; what the kernel sent
 *           towards the client drains;
 *  USER:    gwd moves both ways; both sockets stay in gw_sk_hash without
 *           a peer (their bytes wait there for gwd) until they close. */
enum { SP_LIVE, SP_LEAVE_C, SP_LEAVE_U, SP_USER };

/* One side: its socket, its TCP counters at the insert, and the direction
 * whose bytes it receives (from this side to the other). */
struct side {
	int fd;
	struct gw_splice_key key;
	__u64 rx0;		/* tcpi_bytes_received */
	__u64 fed0;		/* tcpi_bytes_acked + SIOCOUTQ */
	__u64 seen;		/* the verdict's count at the last poll */
	__u64 stuck_since;	/* ns: bytes stuck with no verdict progress since */
	unsigned int stuck_ticks;
	__u64 moved;		/* redirected from this side (final once leaving) */
	__s64 lag;		/* redirected, not yet in the other side's send queue */
	unsigned int calm;	/* leaving: polls in a row with the lag drained */
	__u64 calm_since;
	unsigned int shut : 1;	/* the splice shut the other side's write half */
};

struct gw_splice {
	struct gw_timer timer;
	struct gw_loop *loop;
	void (*kick)(void *arg);
	void *arg;
	struct side c, u;
	__u64 lag_max;
	__u64 tick_ns;
	__s64 lag_peak;			/* the largest lag seen */
	int state;			/* SP_* */
	__u64 leave_ns;			/* when going back started */
	int counted;			/* in n_live */
};

/* A socket's counters now. */
struct sample {
	__u64 rx, fed, last_recv_ms;
	int fin;		/* the peer's FIN arrived */
	int err;		/* SO_ERROR */
};

/* ---- loading ------------------------------------------------------------------- */

static void set_status(const char *what, int err)
{
	snprintf(g.status, sizeof(g.status), "%s: %s", what, strerror(err));
}

/* Deletes peer entries whose socket is not in gw_sk_hash any more (a gwd
 * that died: the kernel removed its sockets, not their peer entries).
 * Returns the number deleted. */
static int prune_peers(void)
{
	struct gw_splice_key k, next, *dead;
	__u64 cookie;
	int n = 0, i, cap = 2 * GW_SPLICE_MAX;
	void *prev = NULL;

	dead = calloc((size_t)cap, sizeof(*dead));
	if (!dead)
		return 0;
	while (n < cap && !bpf_map_get_next_key(g.peer_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(g.hash_fd, &k, &cookie) && errno == ENOENT)
			dead[n++] = k;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(g.peer_fd, &dead[i]);
	free(dead);
	return n;
}

int gw_splice_open(const char *pin_root)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	int err, n;

	if (g.skel)
		return 0;
	if (mkdir(pin_root, 0700) && errno != EEXIST) {
		err = -errno;
		set_status("cannot create the pin root", -err);
		return err;
	}
	oo.pin_root_path = pin_root;
	g.skel = sockmap_bpf__open_opts(&oo);
	if (!g.skel) {
		err = errno ? -errno : -EINVAL;
		set_status("cannot open the sockmap object", -err);
		return err;
	}
	err = sockmap_bpf__load(g.skel);
	if (err) {
		set_status("the kernel refused the sockmap programs or maps", -err);
		goto fail;
	}
	g.hash_fd = bpf_map__fd(g.skel->maps.gw_sk_hash);
	g.peer_fd = bpf_map__fd(g.skel->maps.gw_sk_peer);
	g.stats_fd = bpf_map__fd(g.skel->maps.gw_sk_stats);
	if (bpf_prog_attach(bpf_program__fd(g.skel->progs.gw_splice_parse), g.hash_fd,
			    BPF_SK_SKB_STREAM_PARSER, 0) ||
	    bpf_prog_attach(bpf_program__fd(g.skel->progs.gw_splice_verdict), g.hash_fd,
			    BPF_SK_SKB_STREAM_VERDICT, 0)) {
		err = -errno;
		set_status("cannot attach the sk_skb programs", -err);
		goto fail;
	}
	n = prune_peers();
	if (n)
		pr_info("splice: removed %d peer entries of closed sockets\n", n);
	snprintf(g.status, sizeof(g.status), "ready");
	pr_info("splice: sockmap programs attached (maps under %s)\n", pin_root);
	return 0;
fail:
	pr_warn("splice: %s; connections stay in user space\n", g.status);
	sockmap_bpf__destroy(g.skel);
	g.skel = NULL;
	g.hash_fd = g.peer_fd = g.stats_fd = -1;
	return err;
}

int gw_splice_close(void)
{
	if (g.skel)
		sockmap_bpf__destroy(g.skel);
	g.skel = NULL;
	g.hash_fd = g.peer_fd = g.stats_fd = -1;
	snprintf(g.status, sizeof(g.status), "not loaded");
	return 0;
}

int gw_splice_ready(void)
{
	return g.skel != NULL;
}

const char *gw_splice_status(void)
{
	return g.status;
}

/* ---- keys ---------------------------------------------------------------------- */

/* One end's address and port into the key. Returns 0 or -EAFNOSUPPORT. */
static int key_end(const struct sockaddr *sa, __u32 family, __u8 *addr, __u32 *port)
{
	if (sa->sa_family == AF_INET && family == GW_SPLICE_V4) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && family == GW_SPLICE_V6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(addr, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int gw_splice_key_from(const struct sockaddr *local, const struct sockaddr *remote,
		       struct gw_splice_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = local->sa_family == AF_INET6 ? GW_SPLICE_V6 : GW_SPLICE_V4;
	if (key_end(local, k->family, k->laddr, &k->lport) ||
	    key_end(remote, k->family, k->raddr, &k->rport))
		return -EAFNOSUPPORT;
	return 0;
}

int gw_splice_key_of(int fd, struct gw_splice_key *k)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);

	if (getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl))
		return -errno;
	return gw_splice_key_from((struct sockaddr *)&l, (struct sockaddr *)&r, k);
}

/* ---- counters ------------------------------------------------------------------ */

/* Reads fd's counters into *s. Returns 0 or -errno. */
static int sample(int fd, struct sample *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti), el = sizeof(s->err);
	int outq = 0;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) || ioctl(fd, SIOCOUTQ, &outq))
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &s->err, &el))
		return -errno;
	s->rx = ti.tcpi_bytes_received;
	s->fed = ti.tcpi_bytes_acked + (__u64)(outq > 0 ? outq : 0);
	s->last_recv_ms = ti.tcpi_last_data_recv;
	/* TCP_CLOSE_WAIT 8, TCP_LAST_ACK 9, TCP_CLOSING 11, TCP_TIME_WAIT 6:
	 * the peer's FIN came in (and tcpi_bytes_received counts it); TCP_CLOSE
	 * 7: after FIN_WAIT2, the socket left TIME_WAIT to its twin */
	s->fin = ti.tcpi_state == 8 || ti.tcpi_state == 9 || ti.tcpi_state == 11 ||
		 ti.tcpi_state == 6 || ti.tcpi_state == 7;
	return 0;
}

/* peer[k] counters, or zeros when there is no entry. */
static void peer_counts(const struct gw_splice_key *k, __u64 *bytes, __u64 *parked)
{
	struct gw_splice_peer p;

	*bytes = *parked = 0;
	if (!bpf_map_lookup_elem(g.peer_fd, k, &p)) {
		*bytes = p.bytes;
		*parked = p.parked;
	}
}

/* ---- a splice ------------------------------------------------------------------ */

static void timer_cb(struct gw_timer *t)
{
	struct gw_splice *sp = container_of(t, struct gw_splice, timer);

	sp->kick(sp->arg);
}

static void arm(struct gw_splice *sp, __u64 after)
{
	if (!gw_timer_armed(&sp->timer) || sp->timer.when_ns > gw_loop_now(sp->loop) + after)
		gw_timer_start(sp->loop, &sp->timer, after, timer_cb);
}

/* A side's baselines. Returns 0 or -errno. */
static int side_init(struct side *s, int fd)
{
	struct sample sm;
	int err;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	err = gw_splice_key_of(fd, &s->key);
	if (!err)
		err = sample(fd, &sm);
	if (err)
		return err;
	s->rx0 = sm.rx;
	s->fed0 = sm.fed;
	return 0;
}

/* The peer entry of `from`: its bytes go to `to`. Returns 0 or -errno. */
static int peer_set(const struct side *from, const struct side *to, __u32 dir)
{
	struct gw_splice_peer p;

	memset(&p, 0, sizeof(p));
	p.to = to->key;
	p.dir = dir;
	return bpf_map_update_elem(g.peer_fd, &from->key, &p, BPF_NOEXIST) ? -errno : 0;
}

int gw_splice_start(const struct gw_splice_ctl *ctl, struct gw_splice **out)
{
	struct gw_splice *sp;
	__u64 cfd = (__u64)ctl->cfd, ufd = (__u64)ctl->ufd;
	int err, one = 1;

	*out = NULL;
	if (!g.skel)
		return -EOPNOTSUPP;
	if (__atomic_load_n(&n_live, __ATOMIC_RELAXED) >= GW_SPLICE_MAX)
		return -ENOSPC;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->loop = ctl->loop;
	sp->kick = ctl->kick;
	sp->arg = ctl->arg;
	sp->lag_max = ctl->lag_max ? ctl->lag_max : GW_SPLICE_LAG_MAX_DEFAULT;
	sp->tick_ns = GW_SPLICE_TICK_NS;
	err = side_init(&sp->c, ctl->cfd);
	if (!err)
		err = side_init(&sp->u, ctl->ufd);
	if (err)
		goto fail;
	/* peers first, then u, then c: every redirect finds its target */
	err = peer_set(&sp->c, &sp->u, GW_SPLICE_DIR_UP);
	if (err)
		goto fail;
	err = peer_set(&sp->u, &sp->c, GW_SPLICE_DIR_DOWN);
	if (err)
		goto fail_peer_c;
	if (bpf_map_update_elem(g.hash_fd, &sp->u.key, &ufd, BPF_NOEXIST)) {
		err = -errno;
		goto fail_peer_u;
	}
	if (bpf_map_update_elem(g.hash_fd, &sp->c.key, &cfd, BPF_NOEXIST)) {
		err = -errno;
		bpf_map_delete_elem(g.hash_fd, &sp->u.key);
		goto fail_peer_u;
	}
	/* Bytes that came in before the insert wait for the next segment;
	 * setting SO_RCVLOWAT runs data_ready, which hands them over now. */
	setsockopt(ctl->cfd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	setsockopt(ctl->ufd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	__atomic_fetch_add(&n_live, 1, __ATOMIC_RELAXED);
	sp->counted = 1;
	__atomic_fetch_add(&n_started, 1, __ATOMIC_RELAXED);
	arm(sp, sp->tick_ns);
	*out = sp;
	return 0;
fail_peer_u:
	bpf_map_delete_elem(g.peer_fd, &sp->u.key);
fail_peer_c:
	bpf_map_delete_elem(g.peer_fd, &sp->c.key);
fail:
	pr_debug("splice: not spliced: %s\n", strerror(-err));
	free(sp);
	return err;
}

/* Starts going back to user space (once): the client's peer entry goes
 * (read and deleted at once, so its count is final), and the client's new
 * bytes stay on it for gwd, behind what the kernel still sends to the
 * client. The upstream keeps redirecting to the client meanwhile: a
 * redirect has no limit, so a backend that waits for its answer to leave
 * before it reads on still reads (parking the upstream's bytes now would
 * queue them behind the client's bytes on the upstream's psock: a
 * deadlock, measured). Returns 1. */
static int leave(struct gw_splice *sp, struct side *from, int why)
{
	struct gw_splice_peer p;

	if (sp->state != SP_LIVE)
		return 1;
	if (!bpf_map_lookup_and_delete_elem(g.peer_fd, &sp->c.key, &p))
		sp->c.moved = p.bytes;
	sp->state = SP_LEAVE_C;
	sp->leave_ns = gw_now_ns();
	sp->c.calm = 0;
	sp->tick_ns = GW_SPLICE_TICK_NS;
	__atomic_fetch_add(&n_why[why], 1, __ATOMIC_RELAXED);
	pr_debug("splice: back to user space (%s, %s)\n", from == &sp->c ? "client" : "upstream",
		 why == GW_SPLICE_WHY_STALL ? "stall" : why == GW_SPLICE_WHY_LAG ? "lag" :
									   "parked");
	return 1;
}

/* Runs the socket's write_space (setting SO_SNDBUF does), which schedules
 * its psock's backlog: redirected bytes waiting for room go on. */
static void write_kick(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (!getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) && v > 0) {
		v /= 2;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
}

/* A live direction (from -> to): stuck bytes, lag, a drained FIN. Returns 1
 * when something is pending (tick fast), else 0. */
static int dir_live(struct gw_splice *sp, struct side *from, const struct sample *fs,
		    struct side *to, const struct sample *ts)
{
	__u64 bytes, parked, now = gw_now_ns();
	__s64 seen = (__s64)(fs->rx - from->rx0) - (fs->fin ? 1 : 0);
	int stuck, busy, one = 1;

	peer_counts(&from->key, &bytes, &parked);
	busy = bytes != from->moved;
	from->moved = bytes;
	from->lag = (__s64)bytes - (__s64)(ts->fed - to->fed0);
	if (from->lag > sp->lag_peak)
		sp->lag_peak = from->lag;
	if (parked)
		return leave(sp, from, GW_SPLICE_WHY_PARKED) | 1;
	if (from->lag > (__s64)sp->lag_max)
		return leave(sp, from, GW_SPLICE_WHY_LAG) | 1;
	stuck = seen - (__s64)bytes - (__s64)parked > 0;
	/* in flight, not stuck, while the verdict makes progress (the
	 * strparser defers to a worker while gwd holds the socket) */
	if (!stuck || bytes != from->seen) {
		from->seen = bytes;
		from->stuck_ticks = 0;
	} else {
		busy = 1;
		if (!from->stuck_ticks++)
			from->stuck_since = now;
		if (from->stuck_ticks >= GW_SPLICE_STUCK_TICKS &&
		    now - from->stuck_since >= GW_SPLICE_STUCK_NS && leave(sp, from,
									GW_SPLICE_WHY_STALL))
			return 1;
		setsockopt(from->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	}
	/* a FIN passes on once every byte before it is in the other's queue */
	if (fs->fin && !from->shut) {
		busy = 1;
		if (!stuck && from->lag <= 0) {
			shutdown(to->fd, SHUT_WR);
			from->shut = 1;
		}
	}
	return busy || from->lag > 0;
}

/* A leaving direction (from -> to): drained once the kernel's bytes are in
 * the target's send queue, seen twice over GW_SPLICE_CALM_NS (a verdict
 * that ran as the entry went may still add one skb). Returns 1 when
 * drained. */
static int drained(struct side *from, struct side *to, const struct sample *ts)
{
	__u64 now = gw_now_ns();

	from->lag = (__s64)from->moved - (__s64)(ts->fed - to->fed0);
	if (from->lag > 0) {
		from->calm = 0;
		write_kick(to->fd);
		return 0;
	}
	if (!from->calm++)
		from->calm_since = now;
	return from->calm >= 2 && now - from->calm_since >= GW_SPLICE_CALM_NS;
}

/* The steps of going back (see SP_*). */
static void poll_leaving(struct gw_splice *sp, const struct sample *cs, const struct sample *us)
{
	struct gw_splice_peer p;
	int one = 1;

	if (sp->state == SP_LEAVE_C) {
		/* the upstream still redirects: its FIN passes as in a splice */
		dir_live(sp, &sp->u, us, &sp->c, cs);
		if (!drained(&sp->c, &sp->u, us))
			return;
		/* nothing is queued on the upstream's psock any more, so its
		 * own bytes may park there for gwd without waiting behind the
		 * client's. It stays in the map: taking a socket out while
		 * its strparser runs in a worker drops what that worker read
		 * (sk_psock_strp_read() without a psock; lost bytes measured
		 * on 6.1). */
		if (!bpf_map_lookup_and_delete_elem(g.peer_fd, &sp->u.key, &p))
			sp->u.moved = p.bytes;
		setsockopt(sp->u.fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		sp->u.calm = 0;
		sp->state = SP_LEAVE_U;
		return;
	}
	if (sp->state == SP_LEAVE_U && drained(&sp->u, &sp->c, cs)) {
		/* bytes stuck before the insert now go to the client socket's
		 * queue for gwd */
		setsockopt(sp->c.fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		sp->state = SP_USER;
	}
}

/* Going back did not finish in GW_SPLICE_LEAVE_NS: both sockets are to be
 * reset (SO_LINGER 0), never left to hang or closed as if complete.
 * Returns -ETIMEDOUT. */
static int leave_failed(struct gw_splice *sp)
{
	struct linger lg = { 1, 0 };

	setsockopt(sp->c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(sp->u.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	__atomic_fetch_add(&n_why[GW_SPLICE_WHY_STUCK], 1, __ATOMIC_RELAXED);
	pr_info("splice: going back to user space did not finish in %llu s; both sides reset\n",
		GW_SPLICE_LEAVE_NS / 1000000000ull);
	return -ETIMEDOUT;
}

static void uncount(struct gw_splice *sp)
{
	if (sp->counted)
		__atomic_fetch_sub(&n_live, 1, __ATOMIC_RELAXED);
	sp->counted = 0;
}

int gw_splice_poll(struct gw_splice *sp)
{
	struct sample cs, us;
	int err, busy = 1;

	if (sp->state == SP_USER)
		return GW_SPLICE_BACK;
	err = sample(sp->c.fd, &cs);
	if (!err)
		err = sample(sp->u.fd, &us);
	if (err)
		return err;
	if (cs.err || us.err)
		return -(cs.err ? cs.err : us.err);
	if (sp->state == SP_LIVE) {
		busy = dir_live(sp, &sp->c, &cs, &sp->u, &us);
		if (sp->state == SP_LIVE)
			busy |= dir_live(sp, &sp->u, &us, &sp->c, &cs);
	}
	if (sp->state != SP_LIVE) {
		poll_leaving(sp, &cs, &us);
		if (sp->state != SP_USER && gw_now_ns() - sp->leave_ns > GW_SPLICE_LEAVE_NS)
			return leave_failed(sp);
	}
	if (sp->c.shut && sp->u.shut)
		return GW_SPLICE_DONE;
	if (sp->state == SP_USER) {
		gw_timer_stop(sp->loop, &sp->timer);
		uncount(sp);
		return GW_SPLICE_BACK;
	}
	if (busy)
		sp->tick_ns = GW_SPLICE_TICK_NS;
	else if (sp->tick_ns < GW_SPLICE_TICK_MAX_NS)
		sp->tick_ns *= 2;
	arm(sp, sp->tick_ns);
	return GW_SPLICE_LIVE;
}

int gw_splice_leaving(const struct gw_splice *sp)
{
	return sp->state == SP_LEAVE_C || sp->state == SP_LEAVE_U;
}

int gw_splice_may_write(const struct gw_splice *sp, int up)
{
	return up ? sp->state >= SP_LEAVE_U : sp->state == SP_USER;
}

int gw_splice_shut(const struct gw_splice *sp, int up)
{
	return up ? sp->c.shut : sp->u.shut;
}

__u64 gw_splice_idle_ns(const struct gw_splice *sp)
{
	struct sample cs, us;
	__u64 ms;

	if (sample(sp->c.fd, &cs) || sample(sp->u.fd, &us))
		return 0;
	ms = cs.last_recv_ms < us.last_recv_ms ? cs.last_recv_ms : us.last_recv_ms;
	return ms * 1000000ull;
}

__s64 gw_splice_lag_peak(const struct gw_splice *sp)
{
	return sp->lag_peak;
}

void gw_splice_moved(const struct gw_splice *sp, __u64 *up, __u64 *down)
{
	__u64 b, p;

	*up = sp->c.moved;
	*down = sp->u.moved;
	if (sp->state == SP_LIVE) {
		peer_counts(&sp->c.key, &b, &p);
		*up = b;
	}
	if (sp->state <= SP_LEAVE_C) {
		peer_counts(&sp->u.key, &b, &p);
		*down = b;
	}
}

int gw_splice_end(struct gw_splice *sp)
{
	if (!sp)
		return 0;
	bpf_map_delete_elem(g.peer_fd, &sp->c.key);
	bpf_map_delete_elem(g.peer_fd, &sp->u.key);
	uncount(sp);
	gw_timer_stop(sp->loop, &sp->timer);
	free(sp);
	return 0;
}

long gw_splice_live(void)
{
	return __atomic_load_n(&n_live, __ATOMIC_RELAXED);
}

int gw_splice_totals(__u64 *up, __u64 *down, __u64 *started, __u64 *why)
{
	int ncpu = libbpf_num_possible_cpus(), i, k;

	*up = *down = 0;
	*started = __atomic_load_n(&n_started, __ATOMIC_RELAXED);
	for (k = 0; k < GW_SPLICE_WHY_MAX; k++)
		why[k] = __atomic_load_n(&n_why[k], __ATOMIC_RELAXED);
	if (!g.skel || ncpu <= 0)
		return g.skel ? -EINVAL : 0;
	{
		__u64 v[ncpu];
		__u32 key;

		for (k = 0; k < 2; k++) {
			key = k ? GW_SPLICE_ST_DOWN_BYTES : GW_SPLICE_ST_UP_BYTES;
			if (bpf_map_lookup_elem(g.stats_fd, &key, v))
				return -errno;
			for (i = 0; i < ncpu; i++)
				*(k ? down : up) += v[i];
		}
	}
	return 0;
}

/* "a.b.c.d:port" or "[v6]:port" of one end of a key. */
static void key_addr(const struct gw_splice_key *k, int remote, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	const __u8 *addr = remote ? k->raddr : k->laddr;

	if (k->family == GW_SPLICE_V4) {
		inet_ntop(AF_INET, addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, remote ? k->rport : k->lport);
		return;
	}
	inet_ntop(AF_INET6, addr, a, sizeof(a));
	snprintf(buf, len, "[%s]:%u", a, remote ? k->rport : k->lport);
}

/* One live splice as JSON: its client side's entry and its upstream's. */
static json_t *splice_json(const struct gw_splice_key *ck, const struct gw_splice_peer *cp)
{
	struct gw_splice_peer up;
	char cl[64], gw[64], us[64];

	if (bpf_map_lookup_elem(g.peer_fd, &cp->to, &up))
		memset(&up, 0, sizeof(up));
	key_addr(ck, 1, cl, sizeof(cl));
	key_addr(ck, 0, gw, sizeof(gw));
	key_addr(&cp->to, 1, us, sizeof(us));
	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "client", cl, "listener", gw,
			 "upstream", us, "bytes_up", (json_int_t)cp->bytes,
			 "bytes_down", (json_int_t)up.bytes);
}

int gw_splice_list(json_t **out)
{
	struct gw_splice_key k, next;
	struct gw_splice_peer p;
	json_t *list = json_array(), *o;
	void *prev = NULL;
	unsigned int n = 0;

	if (!list)
		return -ENOMEM;
	while (g.skel && n < 2 * GW_SPLICE_MAX && !bpf_map_get_next_key(g.peer_fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
		if (bpf_map_lookup_elem(g.peer_fd, &k, &p) || p.dir != GW_SPLICE_DIR_UP)
			continue;
		o = splice_json(&k, &p);
		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	*out = json_pack("{s:s, s:I, s:o}", "status", g.status, "live",
			 (json_int_t)gw_splice_live(), "splices", list);
	return *out ? 0 : -ENOMEM;
}
