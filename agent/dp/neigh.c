// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Neighbour resolution toward backends: the datapath forwards a packet
 * whose next hop has no neighbour entry through the kernel's neighbour
 * layer (bpf_redirect_neigh), so the first packet waits for ARP / ND. gw
 * also resolves ahead: whoever writes a backend (gwd, gwctl, gw-dpctl)
 * asks the kernel to resolve its next hop, and gwd does it again when the
 * kernel reports a neighbour failed or gone. Then even the first packet
 * of a flow finds the entry, and kernels without gw_tc_neigh (no
 * bpf_redirect_neigh) lose at most the packets sent while it resolves.
 *
 * How: RTM_GETROUTE gives the next hop and device toward the backend;
 * when RTM_GETNEIGH finds no entry there, or a failed or stale one, an
 * RTM_NEWNEIGH with NTF_USE makes the kernel start resolution
 * (neigh_event_send), as a packet sent there would, without sending one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "core/log.h"
#include "gw/abi.h"
#include "dp/dp.h"
#include "dp/neigh.h"

/* What RTM_GETROUTE answered. */
struct route_ans {
	int oif;
	int has_gw;
	__u8 gw[16];
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_ans *r = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			r->oif = (int)mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(attr) <= sizeof(r->gw)) {
			memcpy(r->gw, mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr));
			r->has_gw = 1;
		}
		break;
	}
	return MNL_CB_OK;
}

/* Returns MNL_CB_OK after reading a route answer into data. */
static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWROUTE)
		mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr_cb, data);
	return MNL_CB_OK;
}

int gw_nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, char *buf, mnl_cb_t cb, void *data)
{
	unsigned int portid = mnl_socket_get_portid(nl), seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

/* Returns MNL_CB_OK after reading the state of a neighbour answer into
 * data (an int). */
static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWNEIGH && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*ndm)))
		*(int *)data = ndm->ndm_state;
	return MNL_CB_OK;
}

/* Puts a neighbour message for nh (alen bytes, family af) on ifindex into
 * buf. Returns the message. */
static struct nlmsghdr *neigh_msg(char *buf, __u16 type, __u16 flags, unsigned int seq, int af,
				  int ifindex, const void *nh, size_t alen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (unsigned char)af;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, alen, nh);
	return nlh;
}

/* Resolves one address with the socket nl (buf: MNL_SOCKET_BUFFER_SIZE).
 * Returns 0 or a negative errno. */
static int resolve_one(struct mnl_socket *nl, char *buf, __u8 family, const __be32 *addr,
		       unsigned int seq)
{
	int af = family == GW_FAMILY_V4 ? AF_INET : AF_INET6;
	size_t alen = family == GW_FAMILY_V4 ? 4 : 16;
	struct route_ans r = { 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct ndmsg *ndm;
	const void *nh;
	int err, state = 0;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;	/* the ACK ends the answer */
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)af;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, addr);
	err = gw_nl_talk(nl, nlh, buf, route_cb, &r);
	if (err)
		return err;
	if (r.oif <= 0)
		return -ENETUNREACH;

	nh = r.has_gw ? (const void *)r.gw : (const void *)addr;
	/* An entry that is usable, static or being resolved stays as it is:
	 * NTF_USE would also strip NUD_PERMANENT from a static one. */
	nlh = neigh_msg(buf, RTM_GETNEIGH, 0, seq + 1, af, r.oif, nh, alen);
	if (!gw_nl_talk(nl, nlh, buf, neigh_cb, &state) &&
	    (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_INCOMPLETE |
		      NUD_PERMANENT | NUD_NOARP)))
		return 0;
	nlh = neigh_msg(buf, RTM_NEWNEIGH, NLM_F_CREATE, seq + 2, af, r.oif, nh, alen);
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	return gw_nl_talk(nl, nlh, buf, NULL, NULL);
}

int gw_neigh_resolve(const struct gw_ip *const *ips, size_t n)
{
	struct mnl_socket *nl;
	unsigned int seq = (unsigned int)time(NULL);
	char *buf;
	size_t i;
	int err = 0, e;

	if (!n)
		return 0;
	buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++, seq += 3) {
		char txt[INET6_ADDRSTRLEN] = "?";

		e = resolve_one(nl, buf, ips[i]->family, ips[i]->addr, seq);
		if (!e)
			continue;
		inet_ntop(ips[i]->family == GW_FAMILY_V4 ? AF_INET : AF_INET6, ips[i]->addr, txt,
			  sizeof(txt));
		pr_debug("neigh: cannot resolve the next hop toward %s: %s\n", txt, strerror(-e));
		if (!err)
			err = e;
	}
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

/* Collects backends' addresses (arg: struct be_ips). Returns 0, or 1 to
 * stop when full. */
struct be_ips {
	struct gw_ip *ips;
	size_t n, max;
};

static int be_collect(__u32 id, const struct gw_backend *b, void *arg)
{
	struct be_ips *c = arg;
	size_t i;

	(void)id;
	for (i = 0; i < c->n; i++)	/* one per address */
		if (c->ips[i].family == b->family &&
		    !memcmp(c->ips[i].addr, b->addr, sizeof(b->addr)))
			return 0;
	if (c->n == c->max)
		return 1;
	c->ips[c->n].family = b->family;
	memcpy(c->ips[c->n].addr, b->addr, sizeof(b->addr));
	c->n++;
	return 0;
}

int gw_neigh_resolve_backends(const struct gw_dp_maps *m)
{
	struct be_ips c = { .max = GW_BACKEND_MAX };
	const struct gw_ip **ptr = NULL;
	size_t i;
	int err;

	c.ips = calloc(c.max, sizeof(*c.ips));
	if (!c.ips)
		return -ENOMEM;
	err = gw_dp_foreach_backend(m, (__u32)-1, be_collect, &c);
	if (err >= 0) {
		ptr = calloc(c.n + 1, sizeof(*ptr));
		err = ptr ? 0 : -ENOMEM;
	}
	for (i = 0; !err && i < c.n; i++)
		ptr[i] = &c.ips[i];
	if (!err)
		err = gw_neigh_resolve(ptr, c.n);
	free(ptr);
	free(c.ips);
	return err;
}
