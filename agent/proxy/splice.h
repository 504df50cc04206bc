/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Splicing a routed connection in the kernel (sockmap, bpf/sockmap.bpf.c;
 * docs/design-sockmap.md). After gwd has routed a connection and both of
 * its buffers are empty, gw_splice_start() puts the client socket and the
 * upstream socket into gw_sk_hash and names each one's peer: from then on
 * the kernel moves the bytes both ways. gwd keeps both sockets in epoll and
 * calls gw_splice_poll() on their events and on the splice's own timer. The
 * poll handles the design's kernel behaviours:
 *  - bytes queued before the insert, which the kernel holds until another
 *    segment arrives: released with SO_RCVLOWAT (tcp_set_rcvlowat() runs
 *    the socket's data_ready), and the connection goes back to user space
 *    if they stay stuck;
 *  - no backpressure: past `lag_max` bytes redirected and not yet in the
 *    target's send queue, the connection goes back to user space;
 *  - a FIN passes on (shutdown) only once every byte before it is in the
 *    other socket's send queue;
 *  - the zero-length FIN skb stays local (the verdict).
 * Going back ("unsplice") takes three steps (splice.c, SP_*): the client's
 * peer entry goes, so its new bytes stay on it for gwd; once the kernel's
 * bytes towards the upstream are in its send queue,
 * the upstream's peer entry goes too and gwd writes to it; once the kernel's bytes
 * towards the client are out too, gwd writes to the client. A connection
 * that went back stays in user space; both sockets stay in gw_sk_hash
 * without a peer (their bytes park for gwd) until they close.
 */
#ifndef GW_PROXY_SPLICE_H
#define GW_PROXY_SPLICE_H

#include <sys/socket.h>
#include <linux/types.h>
#include "core/loop.h"
#include "gw/splice.h"

#define GW_SPLICE_LAG_MAX_DEFAULT (4u << 20)	/* bytes a backend may be behind */
#define GW_SPLICE_TICK_NS 1000000ull		/* first tick after a change */
#define GW_SPLICE_TICK_MAX_NS 64000000ull	/* ticks back off to this while quiet */
#define GW_SPLICE_STUCK_TICKS 3			/* polls of stuck bytes before going back ... */
#define GW_SPLICE_STUCK_NS 20000000ull		/* ... and for at least this long */
#define GW_SPLICE_CALM_NS 2000000ull		/* a leaving direction's lag stays drained */
#define GW_SPLICE_LEAVE_NS 5000000000ull	/* going back must finish within, else reset */

/* gw_splice_poll() results */
#define GW_SPLICE_LIVE 0	/* the kernel moves the bytes */
#define GW_SPLICE_DONE 1	/* both ways shut down and drained: close both */
#define GW_SPLICE_BACK 2	/* back to user space: gwd reads and writes again */

/* why a splice went back to user space (gw_splice_unspliced_total{reason}) */
enum gw_splice_why { GW_SPLICE_WHY_STALL, GW_SPLICE_WHY_LAG, GW_SPLICE_WHY_PARKED,
		     GW_SPLICE_WHY_STUCK,	/* going back did not finish: reset */
		     GW_SPLICE_WHY_MAX };

struct gw_splice;

struct gw_splice_ctl {
	struct gw_loop *loop;
	int cfd, ufd;		/* the client's and the upstream's socket */
	__u64 lag_max;		/* 0: GW_SPLICE_LAG_MAX_DEFAULT */
	void (*kick)(void *arg);	/* the splice's timer: poll again */
	void *arg;
};

/* Loads bpf/sockmap.bpf.o, creates or adopts its maps pinned under
 * pin_root, attaches the parser and the verdict to gw_sk_hash and removes
 * peer entries left by a process that died. Process-wide, once. Returns 0
 * or a negative errno (the reason is kept for gw_splice_status()). */
int gw_splice_open(const char *pin_root);

/* Drops the loaded object (the pinned maps and their programs stay).
 * Returns 0. */
int gw_splice_close(void);

/* 1 when splicing is available. */
int gw_splice_ready(void);

/* "ready", or why splicing is unavailable. */
const char *gw_splice_status(void);

/* The socket's own key (getsockname, getpeername). Returns 0 or -errno. */
int gw_splice_key_of(int fd, struct gw_splice_key *k);

/* The key of a socket with these local and remote addresses (AF_INET or
 * AF_INET6, a v4-mapped address kept in its AF_INET6 form). Returns 0 or
 * -EAFNOSUPPORT. */
int gw_splice_key_from(const struct sockaddr *local, const struct sockaddr *remote,
		       struct gw_splice_key *k);

/* Splices ctl->cfd and ctl->ufd, whose user-space buffers are empty.
 * Returns 0 with *out set, or -errno (nothing changed: serve in user
 * space). */
int gw_splice_start(const struct gw_splice_ctl *ctl, struct gw_splice **out);

/* Checks the splice (on socket events and its timer) and does what is due:
 * releases stuck bytes, passes a drained FIN on, goes back to user space.
 * Returns GW_SPLICE_LIVE, _DONE, _BACK, or a negative errno (close both). */
int gw_splice_poll(struct gw_splice *sp);

/* 1 while the splice goes back to user space: gwd reads both sockets
 * again (bytes it reads come after the kernel's), and writes as
 * gw_splice_may_write() allows. */
int gw_splice_leaving(const struct gw_splice *sp);

/* 1 when gwd may write to the upstream (up != 0) or to the client: what
 * the kernel redirected that way is in the target's send queue. */
int gw_splice_may_write(const struct gw_splice *sp, int up);

/* 1 when the splice shut the upstream's (up != 0) or the client's write
 * side. */
int gw_splice_shut(const struct gw_splice *sp, int up);

/* Nanoseconds since either socket received data. */
__u64 gw_splice_idle_ns(const struct gw_splice *sp);

/* The largest lag (bytes redirected, not yet in the target's send queue)
 * the polls saw. */
__s64 gw_splice_lag_peak(const struct gw_splice *sp);

/* Bytes the kernel moved client -> upstream (*up) and back (*down). */
void gw_splice_moved(const struct gw_splice *sp, __u64 *up, __u64 *down);

/* Ends the splice (its connection closes): deletes the peer entries,
 * stops the timer, frees sp. Returns 0. */
int gw_splice_end(struct gw_splice *sp);

/* Live splices in this process. */
long gw_splice_live(void);

/* Process totals: bytes each way (from gw_sk_stats), splices started, and
 * unsplices by reason (an array of GW_SPLICE_WHY_MAX). Returns 0 or -errno. */
int gw_splice_totals(__u64 *up, __u64 *down, __u64 *started, __u64 *why);

/* {status, live, splices: [{client, listener, upstream, bytes_up,
 * bytes_down}]} from gw_sk_peer. Returns 0 or -errno. */
typedef struct json_t json_t;
int gw_splice_list(json_t **out);

#endif /* GW_PROXY_SPLICE_H */
