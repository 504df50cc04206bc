// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"

const char *const gwt_hook_names[2] = { "xdp", "tc" };

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
	struct xdp_md xctx = { .ingress_ifindex = (__u32)(ifindex ? ifindex : 1) };
	struct __sk_buff sctx = { .ifindex = (__u32)(ifindex ? ifindex : 1) };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .repeat = 1);
	int fd, err;

	memset(r, 0, sizeof(*r));
	opts.data_out = r->out;
	opts.data_size_out = sizeof(r->out);
	if (hook == 0) {
		fd = bpf_program__fd(skel->progs.gw_xdp);
		opts.ctx_in = &xctx;
		opts.ctx_size_in = sizeof(xctx);
	} else {
		fd = bpf_program__fd(skel->progs.gw_tc);
		opts.ctx_in = &sctx;
		opts.ctx_size_in = sizeof(sctx);
	}
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
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

uint64_t gwt_reason_count(struct gw_bpf *skel, enum gw_reason reason)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gw_counter *vals;
	__u32 key = reason;
	uint64_t sum = 0;
	int i;

	if (ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_stats), &key, vals))
		for (i = 0; i < ncpu; i++)
			sum += vals[i].packets;
	free(vals);
	return sum;
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
