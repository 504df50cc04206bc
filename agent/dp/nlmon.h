/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Following the kernel's interface events over rtnetlink (libmnl): one
 * non-blocking NETLINK_ROUTE socket subscribed to RTNLGRP_LINK,
 * RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR, and to the route, neighbour,
 * rule and netconf groups of both families (only to say that the kernel's
 * FIB answers may have changed: the datapath caches them), read from gwd's
 * event loop.
 * The monitor only parses and reports; what an event means (attach, write
 * gw_ifaddr, forget an interface) is the caller's, through struct
 * gw_nlmon_ops. Address events are coalesced per read: each interface is
 * reported once however many of its addresses changed.
 *
 * When the socket's receive buffer overflows the kernel drops events and
 * says so with ENOBUFS; the monitor then asks for a full resync, because
 * from that point nothing it knows can be trusted.
 */
#ifndef GW_NLMON_H
#define GW_NLMON_H

#include <net/if.h>

struct gw_nlmon_ops {
	/* A link exists (new, renamed, or changed state) with this name. */
	void (*link_new)(void *arg, int ifindex, const char *name);
	/* A link is gone; name is its last name. */
	void (*link_del)(void *arg, int ifindex, const char *name);
	/* An address of ifindex was added or removed. */
	void (*addr_changed)(void *arg, int ifindex);
	/* Events were lost: everything must be read again. */
	void (*resync)(void *arg);
	/* A route, neighbour, rule, netconf setting or link changed (or
	 * events were lost): FIB answers may differ now. Once per read. */
	void (*fib_changed)(void *arg);
	/* A neighbour entry failed (NUD_FAILED) or was removed (or events
	 * were lost): the backends' next hops are to be resolved again. Once
	 * per read, after fib_changed. */
	void (*neigh_lost)(void *arg);
};

struct gw_nlmon;

#define GW_NLMON_RCVBUF (1024 * 1024)	/* bytes asked for (the kernel doubles it) */

/* Opens the socket and joins the groups; rcvbuf 0 means GW_NLMON_RCVBUF.
 * Returns 0 or -errno. */
int gw_nlmon_open(int rcvbuf, struct gw_nlmon **out);

/* The descriptor to poll for EPOLLIN. */
int gw_nlmon_fd(const struct gw_nlmon *m);

/* Reads every queued message without blocking and reports them through ops.
 * Returns the number of messages read, or -errno on a socket error other
 * than lost events (which call ops->resync and count as read). */
int gw_nlmon_process(struct gw_nlmon *m, const struct gw_nlmon_ops *ops, void *arg);

void gw_nlmon_close(struct gw_nlmon *m);

#endif /* GW_NLMON_H */
