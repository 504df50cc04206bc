// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Interface addresses over rtnetlink: one RTM_GETADDR dump (libmnl) per
 * read, filtered to the interface asked for. No `ip` is run.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>

#include "dp/ifaddr.h"
#include "core/log.h"

struct addr_walk {
	int ifindex;
	struct gw_ifaddr *out;
};

/* Picks the attributes of one RTM_NEWADDR message that gw needs. */
struct addr_attrs {
	const void *local;	/* IFA_LOCAL */
	const void *address;	/* IFA_ADDRESS */
	__u32 flags;		/* IFA_FLAGS, or ifa_flags when absent */
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct addr_attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case IFA_LOCAL:
		if (mnl_attr_get_payload_len(attr) >= 4)
			a->local = mnl_attr_get_payload(attr);
		break;
	case IFA_ADDRESS:
		if (mnl_attr_get_payload_len(attr) >= 4)
			a->address = mnl_attr_get_payload(attr);
		break;
	case IFA_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			a->flags = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/* Called for each address of the dump; keeps the first usable v4 and v6
 * address of the interface. Returns MNL_CB_OK. */
static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_walk *w = data;
	struct addr_attrs a = { .flags = 0 };
	const void *addr;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	if ((int)ifa->ifa_index != w->ifindex)
		return MNL_CB_OK;
	a.flags = ifa->ifa_flags;
	mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &a);

	if (ifa->ifa_family == AF_INET) {
		/* IFA_LOCAL is the interface's own address (IFA_ADDRESS is
		 * the peer's on point-to-point links). */
		addr = a.local ? a.local : a.address;
		if (!addr || (w->out->flags & GW_IFADDR_F_V4))
			return MNL_CB_OK;
		if (ifa->ifa_scope == RT_SCOPE_HOST || (a.flags & IFA_F_SECONDARY))
			return MNL_CB_OK;
		memcpy(&w->out->v4, addr, 4);
		w->out->flags |= GW_IFADDR_F_V4;
	} else if (ifa->ifa_family == AF_INET6) {
		addr = a.address ? a.address : a.local;
		if (!addr || (w->out->flags & GW_IFADDR_F_V6))
			return MNL_CB_OK;
		if (ifa->ifa_scope != RT_SCOPE_UNIVERSE)
			return MNL_CB_OK;
		if (a.flags & (IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED))
			return MNL_CB_OK;
		memcpy(w->out->v6, addr, 16);
		w->out->flags |= GW_IFADDR_F_V6;
	}
	return MNL_CB_OK;
}

int gw_ifaddr_read(int ifindex, struct gw_ifaddr *out)
{
	char *buf = NULL;
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	struct addr_walk w = { .ifindex = ifindex, .out = out };
	char name[IF_NAMESIZE];
	unsigned int seq, portid;
	int err = 0, ret;

	memset(out, 0, sizeof(*out));
	if (ifindex <= 0 || !if_indextoname((unsigned int)ifindex, name))
		return -ENODEV;

	buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl) {
		err = -errno;
		pr_warn("ifaddr: cannot open rtnetlink: %s\n", strerror(-err));
		goto out;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		pr_warn("ifaddr: cannot bind rtnetlink: %s\n", strerror(-err));
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned int)time(NULL);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		pr_warn("ifaddr: cannot ask for addresses: %s\n", strerror(-err));
		goto out;
	}
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (ret < 0) {
			err = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, addr_cb, &w);
		if (ret <= MNL_CB_STOP) {
			if (ret < 0)
				err = -errno;
			break;
		}
	}
	if (err)
		pr_warn("ifaddr: address dump of %s failed: %s\n", name, strerror(-err));
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

/* The flags of gw_ifaddr that are not about addresses: the loader's and
 * gwd's, kept across address syncs. */
#define GW_IFADDR_F_KEEP (GW_IFADDR_F_TC_HELPER | GW_IFADDR_F_XDP_SLOW)

int gw_ifaddr_sync_one(int map_fd, int ifindex)
{
	struct gw_ifaddr val, old;
	__u32 key = (__u32)ifindex;
	int err;

	err = gw_ifaddr_read(ifindex, &val);
	if (err)
		return err;
	if (!bpf_map_lookup_elem(map_fd, &key, &old))
		val.flags |= old.flags & GW_IFADDR_F_KEEP;
	if (bpf_map_update_elem(map_fd, &key, &val, BPF_ANY)) {
		err = -errno;
		pr_warn("ifaddr: cannot write gw_ifaddr[%d]: %s\n", ifindex, strerror(-err));
		return err;
	}
	return 0;
}

int gw_ifaddr_sync_all(int map_fd, unsigned int *n)
{
	__u32 keys[GW_IFADDR_MAX];
	unsigned int count = 0, kept = 0, i;
	__u32 key, next;
	void *prev = NULL;
	int err = 0;

	/* Collect the keys first: deleting while walking would restart the
	 * walk. */
	while (count < GW_IFADDR_MAX && !bpf_map_get_next_key(map_fd, prev, &next)) {
		keys[count++] = next;
		key = next;
		prev = &key;
	}
	for (i = 0; i < count; i++) {
		int e = gw_ifaddr_sync_one(map_fd, (int)keys[i]);

		if (e == -ENODEV) {
			pr_info("ifaddr: interface %u is gone; forgetting it\n", keys[i]);
			bpf_map_delete_elem(map_fd, &keys[i]);
			continue;
		}
		if (e && !err)
			err = e;
		if (!e)
			kept++;
	}
	if (n)
		*n = kept;
	return err;
}

int gw_ifaddr_flags_set(int map_fd, int ifindex, __u32 set, __u32 clear)
{
	struct gw_ifaddr val;
	__u32 key = (__u32)ifindex;

	if (bpf_map_lookup_elem(map_fd, &key, &val))
		return -errno;
	val.flags = (val.flags & ~clear) | set;
	return bpf_map_update_elem(map_fd, &key, &val, BPF_EXIST) ? -errno : 0;
}
