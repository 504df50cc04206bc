// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtnetlink event monitor (see nlmon.h): link and address notifications,
 * parsed with libmnl and handed to gwd's callbacks. No `ip` is run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <libmnl/libmnl.h>

#include "core/log.h"
#include "dp/nlmon.h"

#define NLMON_DIRTY_MAX 64	/* interfaces with address changes per read */
#define NLMON_BUF (64 * 1024)	/* large enough for any one datagram */

struct gw_nlmon {
	struct mnl_socket *nl;
	char *buf;
};

/* What one read collected. */
struct nlmon_batch {
	const struct gw_nlmon_ops *ops;
	void *arg;
	int dirty[NLMON_DIRTY_MAX];
	int n_dirty;
	int overflow;		/* more dirty interfaces than slots: resync */
	int fib;		/* FIB answers may have changed */
	int neigh_lost;		/* a neighbour failed or was removed */
};

int gw_nlmon_open(int rcvbuf, struct gw_nlmon **out)
{
	static const unsigned int groups[] = {
		RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
		/* only for ops->fib_changed */
		RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH, RTNLGRP_IPV4_RULE,
		RTNLGRP_IPV6_RULE, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF,
	};
	struct gw_nlmon *m;
	int err = 0, fd;
	size_t i;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->buf = malloc(NLMON_BUF);
	if (!m->buf) {
		err = -ENOMEM;
		goto fail;
	}
	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl || mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		pr_err("nlmon: cannot open rtnetlink: %s\n", strerror(-err));
		goto fail;
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (mnl_socket_setsockopt(m->nl, NETLINK_ADD_MEMBERSHIP, (void *)&groups[i],
					  sizeof(groups[i])) < 0) {
			err = -errno;
			pr_err("nlmon: cannot join rtnetlink group %u: %s\n", groups[i],
			       strerror(-err));
			goto fail;
		}
	}
	/* A burst (hundreds of addresses added by a script) must not overflow
	 * the buffer; past that, ENOBUFS triggers a resync. FORCE needs
	 * CAP_NET_ADMIN, which gwd has; the plain call is the fallback. */
	fd = mnl_socket_get_fd(m->nl);
	if (!rcvbuf)
		rcvbuf = GW_NLMON_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	*out = m;
	return 0;
fail:
	gw_nlmon_close(m);
	return err;
}

int gw_nlmon_fd(const struct gw_nlmon *m)
{
	return mnl_socket_get_fd(m->nl);
}

/* IFLA_IFNAME of a link message into name (IF_NAMESIZE). Returns
 * MNL_CB_OK. */
static int link_attr_cb(const struct nlattr *attr, void *data)
{
	char *name = data;

	if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		strncpy(name, mnl_attr_get_str(attr), IF_NAMESIZE - 1);
		name[IF_NAMESIZE - 1] = '\0';
	}
	return MNL_CB_OK;
}

static void mark_dirty(struct nlmon_batch *b, int ifindex)
{
	int i;

	for (i = 0; i < b->n_dirty; i++)
		if (b->dirty[i] == ifindex)
			return;
	if (b->n_dirty == NLMON_DIRTY_MAX) {
		b->overflow = 1;
		return;
	}
	b->dirty[b->n_dirty++] = ifindex;
}

/* One notification. Returns MNL_CB_OK. */
static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlmon_batch *b = data;
	char name[IF_NAMESIZE] = "";

	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH: {
		const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

		b->fib = 1;
		if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*ndm)) &&
		    (nlh->nlmsg_type == RTM_DELNEIGH || (ndm->ndm_state & NUD_FAILED)))
			b->neigh_lost = 1;
		break;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWRULE:
	case RTM_DELRULE:
	case RTM_NEWNETCONF:
	case RTM_DELNETCONF:
		b->fib = 1;
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		b->fib = 1;	/* state, MTU */
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
			break;
		mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, name);
		pr_debug("nlmon: %s %s (ifindex %d)\n",
			 nlh->nlmsg_type == RTM_NEWLINK ? "link" : "link gone", name,
			 ifi->ifi_index);
		if (nlh->nlmsg_type == RTM_NEWLINK && b->ops->link_new)
			b->ops->link_new(b->arg, ifi->ifi_index, name);
		else if (nlh->nlmsg_type == RTM_DELLINK && b->ops->link_del)
			b->ops->link_del(b->arg, ifi->ifi_index, name);
		break;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
			break;
		mark_dirty(b, (int)ifa->ifa_index);
		break;
	}
	}
	return MNL_CB_OK;
}

int gw_nlmon_process(struct gw_nlmon *m, const struct gw_nlmon_ops *ops, void *arg)
{
	struct nlmon_batch b = { .ops = ops, .arg = arg };
	int n = 0, lost = 0, err = 0, i;
	ssize_t len;

	for (;;) {
		len = mnl_socket_recvfrom(m->nl, m->buf, NLMON_BUF);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				lost = 1;	/* the queue restarts; keep reading */
				continue;
			}
			err = -errno;
			pr_warn("nlmon: rtnetlink read failed: %s\n", strerror(-err));
			break;
		}
		/* Notifications carry seq 0 and the kernel's portid 0: check
		 * neither. */
		mnl_cb_run(m->buf, (size_t)len, 0, 0, msg_cb, &b);
		n++;
	}
	if ((lost || b.fib) && ops->fib_changed)
		ops->fib_changed(arg);
	if ((lost || b.neigh_lost) && ops->neigh_lost)
		ops->neigh_lost(arg);
	if (lost || b.overflow) {
		if (lost)
			pr_warn("nlmon: rtnetlink events were lost (ENOBUFS); full resync\n");
		if (ops->resync)
			ops->resync(arg);
		return n + lost;
	}
	for (i = 0; i < b.n_dirty; i++)
		if (ops->addr_changed)
			ops->addr_changed(arg, b.dirty[i]);
	return err ? err : n;
}

void gw_nlmon_close(struct gw_nlmon *m)
{
	if (!m)
		return;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m->buf);
	free(m);
}
