// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "dp/service.h"
#include "decap.skel.h"

const char *const gwt_hook_names[2] = { "xdp", "tc" };

struct gw_bpf *gwt_open(void)
{
	return gwt_netns() ? NULL : gwt_load();
}

int gwt_close(struct gw_bpf **skel)
{
	gw_bpf__destroy(*skel);
	*skel = NULL;
	return 0;
}

struct decap_bpf *gwt_decap_load(void)
{
	struct decap_bpf *d = decap_bpf__open();
	struct bpf_map *m;

	if (!d)
		return NULL;
	bpf_object__for_each_map(m, d->obj)
		bpf_map__set_pin_path(m, NULL);
	if (decap_bpf__load(d)) {
		decap_bpf__destroy(d);
		return NULL;
	}
	return d;
}

int gwt_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return -errno;
	if (gwt_sh("ip link set lo up"))
		return -EIO;
	return 0;
}

int gwt_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Map sizes for tests: small enough that every test loads in milliseconds. */
static const struct {
	const char *name;
	__u32 max;
} test_sizes[] = {
	{ "gw_filter_v4", 300000 }, { "gw_filter_v6", 300000 },
	{ "gw_ban_v4", 1024 },	    { "gw_ban_v6", 1024 },
	{ "gw_rl_v4", 4096 },	    { "gw_rl_v6", 4096 },
	{ "gw_ct", 4096 },	    { "gw_nat", 4096 },
};

struct gw_bpf *gwt_load(void)
{
	struct gw_config cfg = {
		.rl_v6_prefix = 64,
		.nat_port_min = GW_NAT_PORT_MIN_DEFAULT,
		.nat_port_max = GW_NAT_PORT_MAX_DEFAULT,
	};
	struct gw_bpf *skel;
	struct bpf_map *map;
	size_t i;

	skel = gw_bpf__open();
	if (!skel)
		return NULL;
	bpf_object__for_each_map(map, skel->obj) {
		bpf_map__set_pin_path(map, NULL);
		for (i = 0; i < sizeof(test_sizes) / sizeof(test_sizes[0]); i++)
			if (!strcmp(bpf_map__name(map), test_sizes[i].name))
				bpf_map__set_max_entries(map, test_sizes[i].max);
	}
	if (gw_bpf__load(skel)) {
		gw_bpf__destroy(skel);
		return NULL;
	}
	if (gwt_config_set(skel, &cfg)) {
		gw_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int gwt_run(struct gw_bpf *skel, int hook, int ifindex, const uint8_t *in, size_t len,
	    struct gwt_run *r)
{
	struct bpf_program *prog = hook == 0 ? skel->progs.gw_xdp : skel->progs.gw_tc;

	return gwt_run_prog(bpf_program__fd(prog), hook, ifindex, in, len, r);
}

uint64_t gwt_reason_count(struct gw_bpf *skel, enum gw_reason reason)
{
	return gwt_counter(bpf_map__fd(skel->maps.gw_stats), reason);
}

void gwt_reset_counts(struct gw_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gw_counter *zero;
	__u32 key;

	zero = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*zero));
	if (!zero)
		return;
	for (key = 0; key < GW_R_MAX; key++)
		bpf_map_update_elem(bpf_map__fd(skel->maps.gw_stats), &key, zero, BPF_ANY);
	free(zero);
}

int gwt_config_get(struct gw_bpf *skel, struct gw_config *cfg)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_config), &key, cfg) ? -errno : 0;
}

int gwt_config_set(struct gw_bpf *skel, const struct gw_config *cfg)
{
	__u32 key = 0;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.gw_config), &key, cfg, BPF_ANY) ?
		       -errno : 0;
}

void gwt_filter_maps(struct gw_bpf *skel, struct gw_filter_maps *m)
{
	m->v4 = bpf_map__fd(skel->maps.gw_filter_v4);
	m->v6 = bpf_map__fd(skel->maps.gw_filter_v6);
	m->ban_v4 = bpf_map__fd(skel->maps.gw_ban_v4);
	m->ban_v6 = bpf_map__fd(skel->maps.gw_ban_v6);
	m->config = bpf_map__fd(skel->maps.gw_config);
}

void gwt_lb_maps(struct gw_bpf *skel, struct gw_lb_maps *m)
{
	m->services = bpf_map__fd(skel->maps.gw_services);
	m->maglev = bpf_map__fd(skel->maps.gw_maglev);
	m->backends = bpf_map__fd(skel->maps.gw_backends);
	m->ct = bpf_map__fd(skel->maps.gw_ct);
	m->nat = bpf_map__fd(skel->maps.gw_nat);
	m->svc_bloom = bpf_map__fd(skel->maps.gw_svc_bloom);
	m->backend_stats = bpf_map__fd(skel->maps.gw_backend_stats);
}

int gwt_ifaddr_set(struct gw_bpf *skel, int ifindex, const char *v4, const char *v6)
{
	struct gw_ifaddr ia;
	__u32 key = (__u32)ifindex;

	memset(&ia, 0, sizeof(ia));
	if (v4) {
		if (inet_pton(AF_INET, v4, &ia.v4) != 1)
			return -EINVAL;
		ia.flags |= GW_IFADDR_F_V4;
	}
	if (v6) {
		if (inet_pton(AF_INET6, v6, ia.v6) != 1)
			return -EINVAL;
		ia.flags |= GW_IFADDR_F_V6;
	}
	return bpf_map_update_elem(bpf_map__fd(skel->maps.gw_ifaddr), &key, &ia, BPF_ANY) ?
		       -errno : 0;
}

int gwt_if_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd, err;

	/* ioctl, not /sys: sysfs shows the namespace it was mounted in. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	err = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (err)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

uint64_t gwt_counter(int map_fd, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gw_counter *vals;
	uint64_t sum = 0;
	int i;

	if (ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(map_fd, &idx, vals))
		for (i = 0; i < ncpu; i++)
			sum += vals[i].packets;
	free(vals);
	return sum;
}

const uint8_t GWT_MAC_BE2[6] = { 0x02, 0x00, 0x00, 0x00, 0x0b, 0x02 };
const uint8_t GWT_MAC_BE3[6] = { 0x02, 0x00, 0x00, 0x00, 0x0b, 0x03 };
const uint8_t GWT_MAC_CLIENT[6] = { 0x02, 0x00, 0x00, 0x00, 0x0c, 0x02 };

int gwt_topo_make(struct gw_bpf *skel, struct gwt_topo *t)
{
	static const char *const cmds[] = {
		"ip link add gwtb0 type veth peer name gwtb1",
		"ip link add gwtc0 type veth peer name gwtc1",
		"ip link set gwtb0 up && ip link set gwtb1 up",
		"ip link set gwtc0 up && ip link set gwtc1 up",
		"sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
		"ip addr add 198.18.0.1/24 dev gwtb0",
		"ip -6 addr add fd00:18::1/64 dev gwtb0 nodad",
		"ip addr add 198.19.0.1/24 dev gwtc0",
		"ip -6 addr add fd00:19::1/64 dev gwtc0 nodad",
		"ip neigh add 198.18.0.2 lladdr 02:00:00:00:0b:02 nud permanent dev gwtb0",
		"ip neigh add 198.18.0.3 lladdr 02:00:00:00:0b:03 nud permanent dev gwtb0",
		"ip -6 neigh add fd00:18::2 lladdr 02:00:00:00:0b:02 nud permanent dev gwtb0",
		"ip -6 neigh add fd00:18::3 lladdr 02:00:00:00:0b:03 nud permanent dev gwtb0",
		"ip neigh add 198.19.0.2 lladdr 02:00:00:00:0c:02 nud permanent dev gwtc0",
		"ip -6 neigh add fd00:19::2 lladdr 02:00:00:00:0c:02 nud permanent dev gwtc0",
		"ip route add blackhole 198.18.99.0/24",
		"ip -6 route add blackhole fd00:99::/64",
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (gwt_sh("%s", cmds[i]))
			return -EIO;
	t->bside = (int)if_nametoindex("gwtb0");
	t->cside = (int)if_nametoindex("gwtc0");
	if (!t->bside || !t->cside)
		return -ENODEV;
	if (gwt_if_mac("gwtb0", t->bside_mac) || gwt_if_mac("gwtc0", t->cside_mac))
		return -EIO;
	err = gwt_ifaddr_set(skel, t->bside, "198.18.0.1", "fd00:18::1");
	if (!err)
		err = gwt_ifaddr_set(skel, t->cside, "198.19.0.1", "fd00:19::1");
	return err;
}

int gwt_run_prog(int prog_fd, int hook, int ifindex, const uint8_t *in, size_t len,
		 struct gwt_run *r)
{
	struct xdp_md xctx = { .ingress_ifindex = (__u32)(ifindex ? ifindex : 1),
			       .data_end = (__u32)len };
	struct __sk_buff sctx = { .ifindex = (__u32)(ifindex ? ifindex : 1) };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .repeat = 1);

	memset(r, 0, sizeof(*r));
	opts.data_out = r->out;
	opts.data_size_out = sizeof(r->out);
	if (hook == 0) {
		opts.ctx_in = &xctx;
		opts.ctx_size_in = sizeof(xctx);
	} else {
		opts.ctx_in = &sctx;
		opts.ctx_size_in = sizeof(sctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	r->retval = (int)opts.retval;
	r->out_len = opts.data_size_out;
	if (hook == 0)
		r->action = r->retval == XDP_PASS ? GW_ACT_PASS :
			    r->retval == XDP_DROP ? GW_ACT_DROP :
			    (r->retval == XDP_TX || r->retval == XDP_REDIRECT) ? GW_ACT_FORWARD :
										    GW_ACT_NONE;
	else
		r->action = r->retval == TC_ACT_OK ? GW_ACT_PASS :
			    r->retval == TC_ACT_SHOT ? GW_ACT_DROP :
			    r->retval == TC_ACT_REDIRECT ? GW_ACT_FORWARD : GW_ACT_NONE;
	return 0;
}
