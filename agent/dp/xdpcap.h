/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which of gw's interfaces cannot take the frames XDP redirects into them
 * (agent/dp/xdpcap.c): a veth whose peer has neither an XDP program nor
 * NAPI (GRO off) drops them. Such an interface gets GW_IFADDR_F_XDP_SLOW
 * in gw_ifaddr (and gw_config GW_CFG_F_XDP_SLOW_ANY): XDP then hands the
 * packets leaving there to gw_tc_neigh, which sends them as skbs.
 *
 * How: RTM_GETLINK tells a veth (IFLA_LINKINFO kind) and its peer
 * (IFLA_LINK, IFLA_LINK_NETNSID); the peer, queried in its own netns
 * (IFLA_TARGET_NETNSID), tells whether it runs an XDP program. When it
 * does not, whether it has NAPI cannot be read from here, but:
 * - 6.3+: the veth's xdp_features (netdev generic netlink) has
 *   NETDEV_XDP_ACT_NDO_XMIT exactly when its peer has XDP or GRO; cheap
 *   and silent, read again every second;
 * - older kernels (6.1): a probe sends one harmless frame into the veth
 *   (a four-instruction XDP program run with BPF_F_TEST_XDP_LIVE_FRAMES)
 *   and the veth's own ethtool counters (tx_queue_N_xdp_xmit, its peer's
 *   receive queues) say whether it went through;
 * - neither (before 5.18, or live frames refused): every veth whose peer
 *   has no XDP program is taken as slow.
 *
 * Every function returns 0 or a negative errno unless it says otherwise.
 */
#ifndef GW_XDPCAP_H
#define GW_XDPCAP_H

#include <net/if.h>
#include <linux/types.h>
#include "gw/abi.h"

/* What gw_xdpcap_assess found about one interface. */
enum gw_xdpcap_verdict {
	GW_XDPCAP_FAST = 0,	/* not a veth, or its peer takes XDP frames */
	GW_XDPCAP_SLOW,		/* a veth whose peer does not */
};

/* How the verdict on a veth was found. */
enum gw_xdpcap_how {
	GW_XDPCAP_NONE = 0,	/* not a veth (or not asked to probe) */
	GW_XDPCAP_BY_PEER_XDP,	/* its peer runs an XDP program */
	GW_XDPCAP_BY_FEATURES,	/* its xdp_features (6.3+) */
	GW_XDPCAP_BY_PROBE,	/* a probe frame (live frames, 5.18+) */
	GW_XDPCAP_ASSUMED,	/* none of these: slow */
};

struct gw_xdpcap_res {
	enum gw_xdpcap_verdict verdict;
	int veth;			/* the interface is a veth */
	enum gw_xdpcap_how how;
	char peer[IF_NAMESIZE];		/* the peer's name ("" when unknown) */
	int peer_other_ns;		/* the peer is in another netns */
	__u64 tx_dropped;		/* the interface's tx_dropped counter */
};

/* Reads the interface's link (and its veth peer's) and, for a veth whose
 * peer has no XDP program, its xdp_features or else a probe (see above;
 * `probe` 0 skips the probe and leaves the verdict FAST, how NONE).
 * -ENODEV when ifindex is gone. */
int gw_xdpcap_assess(int ifindex, int probe, struct gw_xdpcap_res *res);

/* The tx_dropped counter of ifindex (IFLA_STATS64) into *out: a veth
 * counts there what it could not hand to its peer. */
int gw_xdpcap_tx_dropped(int ifindex, __u64 *out);

/* Sets or clears GW_IFADDR_F_XDP_SLOW on ifindex's gw_ifaddr entry, then
 * GW_CFG_F_XDP_SLOW_ANY in gw_config to whether any entry has it. */
int gw_xdpcap_mark(int ifaddr_fd, int config_fd, int ifindex, int slow);

/* GW_CFG_F_XDP_SLOW_ANY set exactly when an entry of gw_ifaddr has
 * GW_IFADDR_F_XDP_SLOW (written only when it changes). */
int gw_xdpcap_sync_any(int ifaddr_fd, int config_fd);

/* ---- gwd: following the interfaces over time ------------------------- */

/* How often an interface found slow is probed again (it turns fast with
 * no event gwd sees: GRO toggled in the peer's netns). */
#define GW_XDPCAP_REPROBE_NS (3 * 1000000000ull)

struct gw_xdpcap_if {
	int ifindex;			/* 0: free slot */
	int veth;
	int slow;
	int cheap;			/* peer XDP or xdp_features: every tick */
	__u64 tx_dropped;		/* at the last look */
	__u64 next_ns;			/* the next probe of a slow one */
};

struct gw_xdpcap {
	int ifaddr_fd, config_fd;
	struct gw_xdpcap_if ifs[GW_IFADDR_MAX];
};

void gw_xdpcap_init(struct gw_xdpcap *x, int ifaddr_fd, int config_fd);

/* Assesses ifindex now (attach, a link event, the resync), marks it and
 * logs a change: once when it turns slow, with what would make it fast,
 * once when it turns fast again. */
int gw_xdpcap_check(struct gw_xdpcap *x, int ifindex);

/* gw_xdpcap_check for every interface gw is attached to (the resync). */
void gw_xdpcap_check_all(struct gw_xdpcap *x);

/* Once a second: forgets interfaces gw left, checks the ones never
 * checked and the veths told by their peer or xdp_features (cheap, no
 * frame sent); of the probed ones, probes slow ones again every
 * GW_XDPCAP_REPROBE_NS and a fast one whose tx_dropped grew (its peer may
 * have lost NAPI). now_ns is CLOCK_MONOTONIC. */
void gw_xdpcap_tick(struct gw_xdpcap *x, __u64 now_ns);

/* Forgets ifindex (the link is gone or gw left it). */
void gw_xdpcap_forget(struct gw_xdpcap *x, int ifindex);

#endif /* GW_XDPCAP_H */
