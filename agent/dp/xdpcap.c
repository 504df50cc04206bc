// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Egresses that cannot take XDP frames (see xdpcap.h). The probe program
 * is four raw instructions (r1 = ifindex; r2 = 0; call bpf_redirect;
 * exit) loaded per probe: no object file to build, ship or find, nothing
 * to pin, and the interface is an immediate, so no map either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>

#include "core/log.h"
#include "dp/ifaddr.h"
#include "dp/neigh.h"
#include "dp/ethtool.h"
#include "dp/xdpcap.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif
#ifndef IFLA_TARGET_NETNSID
#define IFLA_TARGET_NETNSID 46
#endif

/* The netdev generic netlink family (linux/netdev.h, 6.3+; spelled out
 * for older headers). */
#define NETDEV_FAMILY "netdev"
#define NETDEV_CMD_DEV_GET_ 1
#define NETDEV_A_DEV_IFINDEX_ 1
#define NETDEV_A_DEV_XDP_FEATURES_ 3
#define NETDEV_XDP_ACT_NDO_XMIT_ (1u << 2)

/* What RTM_GETLINK told about one link. */
struct link_info {
	char name[IF_NAMESIZE];
	char kind[16];		/* IFLA_INFO_KIND */
	int link;		/* IFLA_LINK: a veth's peer */
	int link_nsid;		/* IFLA_LINK_NETNSID; -1 when absent */
	int xdp;		/* a native XDP program is attached */
	__u64 tx_dropped;
};

static int linkinfo_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
	    mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
		snprintf(li->kind, sizeof(li->kind), "%.*s",
			 (int)mnl_attr_get_payload_len(attr), mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int xdp_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	/* native only: a generic (skb) program gives the peer no NAPI */
	if (mnl_attr_get_type(attr) == IFLA_XDP_DRV_PROG_ID &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0 && mnl_attr_get_u32(attr))
		li->xdp = 1;
	return MNL_CB_OK;
}

/* One attribute of a link message into data (struct link_info). Returns
 * MNL_CB_OK. */
static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;
	const struct rtnl_link_stats64 *st;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->name, sizeof(li->name), "%s", mnl_attr_get_str(attr));
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			li->link = (int)mnl_attr_get_u32(attr);
		break;
	case IFLA_LINK_NETNSID:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			li->link_nsid = (int)mnl_attr_get_u32(attr);
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(attr, linkinfo_cb, li);
		break;
	case IFLA_XDP:
		mnl_attr_parse_nested(attr, xdp_cb, li);
		break;
	case IFLA_STATS64:
		if (mnl_attr_get_payload_len(attr) >= sizeof(*st)) {
			st = mnl_attr_get_payload(attr);
			li->tx_dropped = st->tx_dropped;
		}
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, data);
	return MNL_CB_OK;
}

/* A bound netlink socket of protocol proto and a receive buffer
 * (MNL_SOCKET_BUFFER_SIZE) for it, closed with nl_close. Returns 0 or a
 * negative errno. */
static int nl_open(int proto, struct mnl_socket **nl, char **buf)
{
	*buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	*nl = mnl_socket_open(proto);
	if (*buf && *nl && mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) == 0)
		return 0;
	if (*nl)
		mnl_socket_close(*nl);
	free(*buf);
	return *buf ? -errno : -ENOMEM;
}

static void nl_close(struct mnl_socket *nl, char *buf)
{
	mnl_socket_close(nl);
	free(buf);
}

/* RTM_GETLINK of ifindex, in the netns of id nsid (-1: gwd's own). Returns
 * 0 or a negative errno (-ENODEV: no such link). */
static int link_get(int ifindex, int nsid, struct link_info *li)
{
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	char *buf;
	int err;

	memset(li, 0, sizeof(*li));
	li->link_nsid = -1;
	err = nl_open(NETLINK_ROUTE, &nl, &buf);
	if (err)
		return err;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (nsid >= 0)
		mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (__u32)nsid);
	err = gw_nl_talk(nl, nlh, buf, link_cb, li);
	nl_close(nl, buf);
	return err;
}

int gw_xdpcap_tx_dropped(int ifindex, __u64 *out)
{
	struct link_info li;
	int err = link_get(ifindex, -1, &li);

	if (!err)
		*out = li.tx_dropped;
	return err;
}

/* What xmit_sum adds up. */
struct xmit_acc {
	__u64 sum;
	int found;
};

/* Adds a tx_queue_N_xdp_xmit counter (exactly that, not
 * ..._xdp_xmit_errors) to the sum. Returns 0. */
static int xmit_add(const char *name, __u64 val, void *arg)
{
	struct xmit_acc *a = arg;
	unsigned int q;
	char tail;

	if (sscanf(name, "tx_queue_%u_xdp_xmit%c", &q, &tail) == 1) {
		a->sum += val;
		a->found = 1;
	}
	return 0;
}

/* The sum of a veth's tx_queue_N_xdp_xmit counters (frames its peer took
 * from XDP) into *sum. Returns 0, -ENOENT when the driver has no such
 * counter, or a negative errno. */
static int xmit_count(const char *ifname, __u64 *sum)
{
	struct xmit_acc a = { 0 };
	int err = gw_ethtool_stats(ifname, xmit_add, &a);

	if (err)
		return err;
	*sum = a.sum;
	return a.found ? 0 : -ENOENT;
}

/* Attributes of a generic netlink answer (data: struct genl_ans). */
struct genl_ans {
	int family;		/* CTRL_ATTR_FAMILY_ID */
	int has_features;
	__u64 features;		/* NETDEV_A_DEV_XDP_FEATURES */
};

static int genl_attr_cb(const struct nlattr *attr, void *data)
{
	struct genl_ans *a = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID && !a->has_features &&
	    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
		a->family = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int dev_attr_cb(const struct nlattr *attr, void *data)
{
	struct genl_ans *a = data;

	if (mnl_attr_get_type(attr) == NETDEV_A_DEV_XDP_FEATURES_ &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) == 0) {
		a->features = mnl_attr_get_u64(attr);
		a->has_features = 1;
	}
	return MNL_CB_OK;
}

static int ctrl_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), genl_attr_cb, data);
	return MNL_CB_OK;
}

static int dev_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), dev_attr_cb, data);
	return MNL_CB_OK;
}

/* Puts a generic netlink request (cmd, to family) into buf. Returns it. */
static struct nlmsghdr *genl_msg(char *buf, int family, __u8 cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = (__u16)family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	return nlh;
}

/* Whether ifindex advertises NETDEV_XDP_ACT_NDO_XMIT (6.3+: a veth does
 * exactly when its peer has an XDP program or GRO) into *xmit. Returns 0,
 * -EOPNOTSUPP when the kernel has no xdp_features, or a negative errno. */
static int ndo_xmit(int ifindex, int *xmit)
{
	struct genl_ans a = { 0 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	char *buf;
	int err;

	err = nl_open(NETLINK_GENERIC, &nl, &buf);
	if (err)
		return err;
	nlh = genl_msg(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY);
	err = gw_nl_talk(nl, nlh, buf, ctrl_cb, &a);
	if (err || !a.family) {
		err = -EOPNOTSUPP;	/* no netdev family: before 6.3 */
		goto out;
	}
	nlh = genl_msg(buf, a.family, NETDEV_CMD_DEV_GET_);
	mnl_attr_put_u32(nlh, NETDEV_A_DEV_IFINDEX_, (__u32)ifindex);
	err = gw_nl_talk(nl, nlh, buf, dev_cb, &a);
	if (!err && !a.has_features)
		err = -EOPNOTSUPP;
	if (!err)
		*xmit = !!(a.features & NETDEV_XDP_ACT_NDO_XMIT_);
out:
	nl_close(nl, buf);
	return err;
}

/* The probe's frame: to and from locally administered addresses
 * ("gwP"), of the IEEE local experimental ethertype, padded to the
 * Ethernet minimum. The peer's stack drops it (no handler). */
static const unsigned char probe_frame[60] = {
	0x02, 0x67, 0x77, 0x50, 0x00, 0x00,	/* destination */
	0x02, 0x67, 0x77, 0x50, 0x00, 0x01,	/* source */
	0x88, 0xb5,				/* local experimental 1 */
	'g', 'w', ' ', 'x', 'd', 'p', 'c', 'a', 'p', ' ', 'p', 'r', 'o', 'b', 'e',
};

/* Loads the four-instruction program that redirects every frame to
 * ifindex. Returns its descriptor or a negative errno. */
static int probe_prog_load(int ifindex)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = ifindex },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "gw_xdpcap", "Dual BSD/GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	return fd < 0 ? -errno : fd;
}

/* Sends one frame into ifindex as XDP would (live frames) and says in
 * *took whether its peer took it. Returns 0, -EOPNOTSUPP when the kernel
 * has no live frames or the driver no counter to tell, or another
 * negative errno. */
static int probe(int ifindex, const char *ifname, int *took)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = probe_frame,
		    .data_size_in = sizeof(probe_frame), .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	__u64 before, after;
	int prog = -1, err;

	err = xmit_count(ifname, &before);
	if (err)
		goto out;
	prog = probe_prog_load(ifindex);
	if (prog < 0) {
		err = prog;
		goto out;
	}
	if (bpf_prog_test_run_opts(prog, &opts)) {
		err = -errno;
		goto out;
	}
	err = xmit_count(ifname, &after);
	if (!err)
		*took = after > before;
out:
	if (prog >= 0)
		close(prog);
	/* EINVAL: a kernel that does not know the live-frames flag */
	return err == -ENOENT || err == -EINVAL ? -EOPNOTSUPP : err;
}

int gw_xdpcap_assess(int ifindex, int do_probe, struct gw_xdpcap_res *res)
{
	struct link_info li, peer;
	int err, took = 0;

	memset(res, 0, sizeof(*res));
	err = link_get(ifindex, -1, &li);
	if (err)
		return err == -EINVAL ? -ENODEV : err;
	res->tx_dropped = li.tx_dropped;
	if (strcmp(li.kind, "veth") || li.link <= 0)
		return 0;
	res->veth = 1;
	res->peer_other_ns = li.link_nsid >= 0;
	/* The peer's netns may refuse to be read (an id not ours): go on. */
	if (!link_get(li.link, li.link_nsid, &peer)) {
		snprintf(res->peer, sizeof(res->peer), "%s", peer.name);
		if (peer.xdp) {
			res->how = GW_XDPCAP_BY_PEER_XDP;
			return 0;
		}
	}
	err = ndo_xmit(ifindex, &took);
	if (!err) {
		res->how = GW_XDPCAP_BY_FEATURES;
		res->verdict = took ? GW_XDPCAP_FAST : GW_XDPCAP_SLOW;
		return 0;
	}
	if (err != -EOPNOTSUPP || !do_probe)
		return err == -EOPNOTSUPP ? 0 : err;
	/* A probe that cannot run (no live frames, refused: EPERM on some
	 * sandboxed kernels) tells nothing: slow is the safe answer. */
	err = probe(ifindex, li.name, &took);
	if (err)
		pr_debug("xdpcap: %s: no probe: %s\n", li.name, strerror(-err));
	res->how = err ? GW_XDPCAP_ASSUMED : GW_XDPCAP_BY_PROBE;
	res->verdict = took ? GW_XDPCAP_FAST : GW_XDPCAP_SLOW;
	return 0;
}

int gw_xdpcap_sync_any(int ifaddr_fd, int config_fd)
{
	struct gw_config cfg;
	struct gw_ifaddr ia;
	__u32 key, next, zero = 0, flags;
	void *prev = NULL;
	int any = 0;

	while (!bpf_map_get_next_key(ifaddr_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(ifaddr_fd, &key, &ia) &&
		    (ia.flags & GW_IFADDR_F_XDP_SLOW))
			any = 1;
	}
	if (bpf_map_lookup_elem(config_fd, &zero, &cfg))
		return -errno;
	flags = any ? cfg.flags | GW_CFG_F_XDP_SLOW_ANY : cfg.flags & ~GW_CFG_F_XDP_SLOW_ANY;
	if (flags == cfg.flags)
		return 0;
	cfg.flags = flags;
	return bpf_map_update_elem(config_fd, &zero, &cfg, BPF_EXIST) ? -errno : 0;
}

int gw_xdpcap_mark(int ifaddr_fd, int config_fd, int ifindex, int slow)
{
	int err = gw_ifaddr_flags_set(ifaddr_fd, ifindex, slow ? GW_IFADDR_F_XDP_SLOW : 0,
				      slow ? 0 : GW_IFADDR_F_XDP_SLOW);

	if (err)
		return err;
	return gw_xdpcap_sync_any(ifaddr_fd, config_fd);
}

/* ---- gwd: following the interfaces ----------------------------------- */

void gw_xdpcap_init(struct gw_xdpcap *x, int ifaddr_fd, int config_fd)
{
	memset(x, 0, sizeof(*x));
	x->ifaddr_fd = ifaddr_fd;
	x->config_fd = config_fd;
}

/* The slot of ifindex, or a free one when `add` (NULL: neither). */
static struct gw_xdpcap_if *slot_of(struct gw_xdpcap *x, int ifindex, int add)
{
	struct gw_xdpcap_if *free_slot = NULL;
	int i;

	for (i = 0; i < GW_IFADDR_MAX; i++) {
		if (x->ifs[i].ifindex == ifindex)
			return &x->ifs[i];
		if (!x->ifs[i].ifindex && !free_slot)
			free_slot = &x->ifs[i];
	}
	if (!add || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->ifindex = ifindex;
	return free_slot;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Logs what changed for the interface called name. */
static void log_change(const char *name, const struct gw_xdpcap_res *r)
{
	const char *peer = r->peer[0] ? r->peer : "its peer";

	if (r->verdict == GW_XDPCAP_FAST) {
		pr_info("xdpcap: %s: its veth peer %s takes XDP frames now: forwarded packets "
			"leave from XDP again\n", name, peer);
		return;
	}
	pr_warn("xdpcap: %s: its veth peer %s%s has no XDP program and no GRO%s: packets "
		"forwarded to %s go out through TC (slower, counted xdp_slow_egress); "
		"`ethtool -K %s gro on`%s or an XDP program on %s makes it fast\n", name, peer,
		r->peer_other_ns ? " (in another netns)" : "",
		r->how == GW_XDPCAP_ASSUMED ? " (assumed: this kernel cannot tell)" : "", name, peer,
		r->peer_other_ns ? " in its netns" : "", peer);
}

int gw_xdpcap_check(struct gw_xdpcap *x, int ifindex)
{
	struct gw_xdpcap_if *s = slot_of(x, ifindex, 1);
	struct gw_xdpcap_res r;
	char name[IF_NAMESIZE];
	int err, slow;

	if (!s)
		return -ENOSPC;
	err = gw_xdpcap_assess(ifindex, 1, &r);
	if (err) {
		pr_debug("xdpcap: ifindex %d: %s\n", ifindex, strerror(-err));
		s->next_ns = now_ns() + GW_XDPCAP_REPROBE_NS;
		return err;
	}
	slow = r.verdict == GW_XDPCAP_SLOW;
	err = gw_xdpcap_mark(x->ifaddr_fd, x->config_fd, ifindex, slow);
	if (err) {
		gw_xdpcap_forget(x, ifindex);	/* not gw's (any more) */
		return err;
	}
	if (slow != s->slow) {
		if (!if_indextoname((unsigned int)ifindex, name))
			snprintf(name, sizeof(name), "ifindex %d", ifindex);
		log_change(name, &r);
	}
	s->veth = r.veth;
	s->cheap = r.how == GW_XDPCAP_BY_PEER_XDP || r.how == GW_XDPCAP_BY_FEATURES;
	s->slow = slow;
	s->tx_dropped = r.tx_dropped;
	s->next_ns = now_ns() + GW_XDPCAP_REPROBE_NS;
	return 0;
}

void gw_xdpcap_forget(struct gw_xdpcap *x, int ifindex)
{
	struct gw_xdpcap_if *s = slot_of(x, ifindex, 0);

	if (s)
		s->ifindex = 0;
}

/* The keys of gw_ifaddr into keys[GW_IFADDR_MAX], read before anything
 * changes the map: a check rewrites an entry's flags, and a hash map walk
 * that meets a rewritten entry may start over (gwd spun in such a walk).
 * Returns how many. */
static size_t ifaddr_keys(const struct gw_xdpcap *x, __u32 *keys)
{
	__u32 key, next;
	void *prev = NULL;
	size_t n = 0;

	while (n < GW_IFADDR_MAX && !bpf_map_get_next_key(x->ifaddr_fd, prev, &next)) {
		key = next;
		prev = &key;
		keys[n++] = key;
	}
	return n;
}

void gw_xdpcap_check_all(struct gw_xdpcap *x)
{
	__u32 keys[GW_IFADDR_MAX];
	size_t i, n = ifaddr_keys(x, keys);

	for (i = 0; i < n; i++)
		gw_xdpcap_check(x, (int)keys[i]);
}

/* 1 when ifindex is a key of gw_ifaddr. */
static int is_gws(const struct gw_xdpcap *x, int ifindex)
{
	struct gw_ifaddr ia;
	__u32 key = (__u32)ifindex;

	return !bpf_map_lookup_elem(x->ifaddr_fd, &key, &ia);
}

/* A fast veth whose tx_dropped grew may have lost its peer's NAPI.
 * Returns 1 when it is to be checked. */
static int dropped_more(struct gw_xdpcap_if *s)
{
	__u64 d;

	if (!s->veth || s->slow || gw_xdpcap_tx_dropped(s->ifindex, &d))
		return 0;
	return d != s->tx_dropped;
}

void gw_xdpcap_tick(struct gw_xdpcap *x, __u64 now)
{
	__u32 keys[GW_IFADDR_MAX];
	size_t k, n;
	int i, forgot = 0;

	for (i = 0; i < GW_IFADDR_MAX; i++) {
		struct gw_xdpcap_if *s = &x->ifs[i];

		if (!s->ifindex)
			continue;
		if (!is_gws(x, s->ifindex)) {
			s->ifindex = 0;
			forgot = 1;
			continue;
		}
		if ((s->veth && s->cheap) || (s->slow && now >= s->next_ns) || dropped_more(s))
			gw_xdpcap_check(x, s->ifindex);
	}
	/* interfaces attached by someone else (gw-dpctl) */
	n = ifaddr_keys(x, keys);
	for (k = 0; k < n; k++)
		if (!slot_of(x, (int)keys[k], 0))
			gw_xdpcap_check(x, (int)keys[k]);
	if (forgot)
		gw_xdpcap_sync_any(x->ifaddr_fd, x->config_fd);
}
