// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw's datapath benchmark: ns/packet of gw_xdp beside a bare XDP program
 * (the floor) and xdp-tools' xdp-filter, measured with
 * bpf_prog_test_run_opts in one run, plus live frames through a veth.
 *
 *   pass/deny rows:  repeat=R in one call, CPU time of the call / R;
 *   forward rows:    repeat=1 calls (a rewritten packet must not be run
 *                    again), the kernel's per-call duration, in batches;
 *   live rows:       BPF_F_TEST_XDP_LIVE_FRAMES + bpf_redirect into a veth
 *                    whose peer runs gw or a bare program.
 *
 * Every case is checked for its verdict (return code and gw's reason
 * counter) before it is timed; a case that does not give its verdict is
 * reported as such, never timed. Everything happens in a private network
 * namespace that dies with the process.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <regex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gw/abi.h"
#include "gw/names.h"
#include "core/addr.h"
#include "dp/filter.h"
#include "dp/ifaddr.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "dp/ethtool.h"
#include "dp/service.h"
#include "pkt.h"

/* xdp-filter's map flags (xdp-tools' common_kern_user.h, an ABI). */
#define XF_MAP_FLAG_SRC (1u << 0)

#define NSEC 1000000000ull

struct opts {
	const char *gw_obj, *floor_obj, *xf_obj;
	int rounds;
	__u32 repeat;		/* pass/deny rows */
	__u32 calls;		/* forward rows: repeat=1 calls per round */
	__u32 batch;		/* calls per batch */
	__u32 live_pkts;	/* frames per live measurement */
	__u32 n_prefix;		/* prefixes per family */
	__u32 n_ct;		/* connection-table entries */
	int cpu;		/* -1: not pinned */
	const char *only;	/* regex: time only the rows it matches */
};

static struct opts o = {
	.gw_obj = "build/bpf/gw.bpf.o",
	.floor_obj = "build/bench/floor.bpf.o",
	.xf_obj = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_ip.o",
	.rounds = 5,
	.repeat = 1000000,
	.calls = 200000,
	.batch = 1000,
	.live_pkts = 2000000,
	.n_prefix = 100000,
	.n_ct = 1u << 20,
	.cpu = 1,
};

/* Interfaces of the private namespace. */
struct net {
	int in;			/* ingress of the test_run packets (veth) */
	int out;		/* egress toward the backends (veth) */
	int lv_tx, lv_rx;	/* live frames: redirected into lv_tx, seen on lv_rx */
};

struct progs {
	struct bpf_object *floor, *gw, *xf;
	int pass, drop, redirect;	/* floor.bpf.o */
	int ktime, ktime_coarse;	/* the floor plus one clock read */
	int gw_xdp;
	int xf_prog;		/* xdp-filter's program */
	int gw_stats;
	/* A second gw with empty filters and small tables, for the
	 * breakdown rows. */
	struct bpf_object *gw2;
	int gw2_xdp, gw2_stats;
};

/* One row of the table. */
struct row {
	const char *name;
	const char *method;
	double *ns;		/* per round */
	double mean;		/* forward rows: mean over every call */
	int ok;			/* verdict checked */
	char why[96];		/* when !ok */
};

/* ----------------------------------------------------------------- */
/* Small helpers                                                      */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command; returns 0 or -EIO. */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0 ? 0 : -EIO;
}

/* Returns a monotonic clock's now in ns. */
static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * NSEC + (__u64)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Returns the median of n values (sorts a copy). */
static double median(const double *v, size_t n)
{
	double *c = malloc(n * sizeof(*c)), m;

	if (!c || !n) {
		free(c);
		return 0;
	}
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* xorshift64*: the same prefixes every run. Returns the next value. */
static __u64 rnd(void)
{
	static __u64 s = 0x9e3779b97f4a7c15ull;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

/* Returns the ifindex of name, or a negative errno. */
static int ifindex_of(const char *name)
{
	unsigned int i = if_nametoindex(name);

	return i ? (int)i : -errno;
}

/* Sum of a gw instance's per-CPU counter of a reason (0 when unreadable):
 * `stats` is its gw_stats. */
static __u64 reason_count(int stats, __u32 reason)
{
	int i, ncpu = libbpf_num_possible_cpus();
	struct gw_counter *v;
	__u64 sum = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(stats, &reason, v))
		for (i = 0; i < ncpu; i++)
			sum += v[i].packets;
	free(v);
	return sum;
}

/* ----------------------------------------------------------------- */
/* The namespace                                                      */

/* Builds the private namespace: veth pairs for ingress, egress (with an
 * address, a route to the backends and a permanent neighbour) and the live
 * frames. Returns 0 or a negative errno. */
static int net_setup(struct net *n)
{
	if (unshare(CLONE_NEWNET))
		return -errno;
	if (sh("ip link set lo up") ||
	    sh("ip link add gwb-in0 type veth peer name gwb-in1") ||
	    sh("ip link add gwb-out0 type veth peer name gwb-out1") ||
	    sh("ip link add gwb-lv0 type veth peer name gwb-lv1") ||
	    sh("for i in in0 in1 out0 out1 lv0 lv1; do ip link set gwb-$i up || exit 1; done") ||
	    sh("ip addr add 198.18.0.1/24 dev gwb-out0") ||
	    sh("ip addr add 198.18.3.1/24 dev gwb-in0") ||
	    sh("ip neigh replace 198.18.0.2 lladdr 02:00:00:00:00:22 nud permanent dev gwb-out0") ||
	    sh("ip route add 198.18.8.0/24 via 198.18.0.2 dev gwb-out0") ||
	    sh("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.gwb-lv1.forwarding=0"))
		return -EIO;
	n->in = ifindex_of("gwb-in0");
	n->out = ifindex_of("gwb-out0");
	n->lv_tx = ifindex_of("gwb-lv0");
	n->lv_rx = ifindex_of("gwb-lv1");
	if (n->in < 0 || n->out < 0 || n->lv_tx < 0 || n->lv_rx < 0)
		return -ENODEV;
	return 0;
}

/* ----------------------------------------------------------------- */
/* Loading                                                            */

/* Returns the fd of the program called name in obj, or -ENOENT. */
static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	return prog ? bpf_program__fd(prog) : -ENOENT;
}

/* Returns the fd of the map called name in obj, or -ENOENT. */
static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/* Opens and loads an object without pinning; sizes maps named in
 * `sizes` (name, max_entries pairs ending with NULL). Returns 0 or a
 * negative errno. */
static int load_obj(const char *path, struct bpf_object **objp, const char *const *names,
		    const __u32 *sizes)
{
	struct bpf_object *obj;
	struct bpf_map *map;
	int err, i;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		err = -errno;
		pr_warn("bench: cannot open %s: %s\n", path, strerror(-err));
		return err;
	}
	bpf_object__for_each_map(map, obj) {
		bpf_map__set_pin_path(map, NULL);
		for (i = 0; names && names[i]; i++)
			if (!strcmp(bpf_map__name(map), names[i]))
				bpf_map__set_max_entries(map, sizes[i]);
	}
	err = bpf_object__load(obj);
	if (err) {
		pr_warn("bench: cannot load %s: %s\n", path, strerror(-err));
		bpf_object__close(obj);
		return err;
	}
	*objp = obj;
	return 0;
}

/* ----------------------------------------------------------------- */
/* Filling gw's maps                                                  */

#define VIP_NAT "198.18.2.1"
#define VIP_IPIP "198.18.2.2"
#define BE_NAT "198.18.8.2"
#define BE_IPIP "198.18.8.3"
#define GW_OUT_ADDR "198.18.0.1"
#define CLIENT_V4 "198.18.3.10"
#define CLIENT_V6 "fd00:3::10"
#define DENIED_V4 "198.18.4.10"
#define DENIED_V4_NET "198.18.4.0/24"
#define DENIED_V6 "fd00:4::10"
#define DENIED_V6_NET "fd00:4::/64"
#define DST_V4 "198.18.5.1"	/* not a service: the pass path */
#define DST_V6 "fd00:5::1"

/* A random IPv4 prefix outside 198.16.0.0/12 (the bench's own traffic):
 * 60% /32, 30% /24, 10% /16../23. */
static void rand_v4(struct gw_cidr *c)
{
	__u32 a, len, r = (__u32)(rnd() % 10);

	len = r < 6 ? 32 : r < 9 ? 24 : 16 + (__u32)(rnd() % 8);
	do
		a = (__u32)rnd();
	while ((a & 0xfff00000u) == 0xc6100000u);
	a &= len == 32 ? ~0u : ~0u << (32 - len);
	memset(c, 0, sizeof(*c));
	c->ip.family = GW_FAMILY_V4;
	c->ip.addr[0] = htonl(a);
	c->prefixlen = (__u8)len;
}

/* A random IPv6 prefix in 2000::/3 (never the bench's fd00::/8):
 * 60% /128, 30% /64, 10% /48. */
static void rand_v6(struct gw_cidr *c)
{
	__u32 r = (__u32)(rnd() % 10), len = r < 6 ? 128 : r < 9 ? 64 : 48;
	int i;

	memset(c, 0, sizeof(*c));
	c->ip.family = GW_FAMILY_V6;
	for (i = 0; i < 4; i++)
		c->ip.addr[i] = (__be32)rnd();
	c->ip.addr[0] = htonl((ntohl(c->ip.addr[0]) & 0x1fffffffu) | 0x20000000u);
	if (len <= 64)
		c->ip.addr[2] = c->ip.addr[3] = 0;
	if (len == 48)
		c->ip.addr[1] &= htonl(0xffff0000u);
	c->prefixlen = (__u8)len;
}

/* Adds n random deny prefixes of each family plus the bench's denied
 * networks to gw, through the agent's filter API (the path gwd takes), and
 * the same addresses to xdp-filter's hashes (max_entries raised to match).
 * Returns 0 or a negative errno. */
static int fill_filters(const struct progs *p, __u32 n)
{
	struct gw_filter_maps m = {
		.v4 = map_fd(p->gw, "gw_filter_v4"),
		.v6 = map_fd(p->gw, "gw_filter_v6"),
		.ban_v4 = map_fd(p->gw, "gw_ban_v4"),
		.ban_v6 = map_fd(p->gw, "gw_ban_v6"),
		.config = map_fd(p->gw, "gw_config"),
	};
	int xf4 = map_fd(p->xf, "filter_ipv4"), xf6 = map_fd(p->xf, "filter_ipv6");
	int ncpu = libbpf_num_possible_cpus(), fam, err = 0, i;
	__u64 *flags = NULL;
	struct gw_cidr c;
	__u32 added;

	if (ncpu <= 0 || m.v4 < 0 || m.v6 < 0 || xf4 < 0 || xf6 < 0)
		return -ENOENT;
	flags = calloc((size_t)ncpu, sizeof(*flags));
	if (!flags)
		return -ENOMEM;
	for (i = 0; i < ncpu; i++)
		flags[i] = XF_MAP_FLAG_SRC;

	for (fam = 4; fam <= 6; fam += 2) {
		for (added = 0; added < n;) {
			if (fam == 4)
				rand_v4(&c);
			else
				rand_v6(&c);
			err = gw_filter_add(&m, &c, GW_RULE_DENY, GW_ORIGIN_CONFIG);
			if (err == -EEXIST)
				continue;
			if (err)
				goto out;
			added++;
			/* xdp-filter matches whole addresses only. */
			if (bpf_map_update_elem(fam == 4 ? xf4 : xf6, c.ip.addr, flags, BPF_ANY)) {
				err = -errno;
				pr_warn("bench: xdp-filter map: %s\n", strerror(-err));
				goto out;
			}
		}
	}
	if (gw_cidr_parse(DENIED_V4_NET, &c) ||
	    gw_filter_add(&m, &c, GW_RULE_DENY, GW_ORIGIN_CONFIG) ||
	    gw_cidr_parse(DENIED_V6_NET, &c) ||
	    gw_filter_add(&m, &c, GW_RULE_DENY, GW_ORIGIN_CONFIG)) {
		err = -EINVAL;
		goto out;
	}
	if (gw_cidr_parse(DENIED_V4, &c) ||
	    bpf_map_update_elem(xf4, c.ip.addr, flags, BPF_ANY) ||
	    gw_cidr_parse(DENIED_V6, &c) ||
	    bpf_map_update_elem(xf6, c.ip.addr, flags, BPF_ANY))
		err = -EINVAL;
out:
	free(flags);
	return err;
}

/* Writes gw_config of obj: with rl, rate limits on (packets and SYNs per
 * source), high enough that no benchmark packet is over them; without,
 * off. Returns 0 or a negative errno. */
static int set_config(struct bpf_object *obj, int rl)
{
	struct gw_rate rate = { .count = 100000000, .period_ns = NSEC };	/* 100M/s */
	struct gw_config cfg = {
		.generation = 1,
		.rl_v6_prefix = 64,
		.nat_port_min = GW_NAT_PORT_MIN_DEFAULT,
		.nat_port_max = GW_NAT_PORT_MAX_DEFAULT,
	};
	struct gw_filter_maps fm = { .v4 = -1, .v6 = -1 };
	__u32 zero = 0;
	int fd = map_fd(obj, "gw_config");

	if (rl && (gw_gcra_from_rate(&rate, 100000000, &cfg.rl_pkt) ||
		   gw_gcra_from_rate(&rate, 100000000, &cfg.rl_syn)))
		return -EINVAL;
	if (fd < 0 || bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY))
		return fd < 0 ? fd : -errno;
	/* As gwd does: the flags that let the datapath skip empty ban tries. */
	fm.config = fd;
	fm.ban_v4 = map_fd(obj, "gw_ban_v4");
	fm.ban_v6 = map_fd(obj, "gw_ban_v6");
	return gw_ban_sync(&fm);
}

/* One TCP service with one backend, through the agent's service API (the
 * path gwd takes: backends, a Maglev table swapped in, the service entry).
 * Returns 0 or a negative errno. */
static int add_service(const struct progs *p, const char *vip, __u8 fwd, const char *backend)
{
	struct gw_lb_maps m = {
		.services = map_fd(p->gw, "gw_services"),
		.maglev = map_fd(p->gw, "gw_maglev"),
		.backends = map_fd(p->gw, "gw_backends"),
		.ct = map_fd(p->gw, "gw_ct"),
		.nat = map_fd(p->gw, "gw_nat"),
		.svc_bloom = map_fd(p->gw, "gw_svc_bloom"),
		.backend_stats = map_fd(p->gw, "gw_backend_stats"),
	};
	struct gw_backend_spec be = { .weight = 1 };
	struct gw_service_spec spec = { .proto = IPPROTO_TCP, .fwd = fwd, .backends = &be,
					.n_backends = 1 };
	int err;

	if (gw_endpoint_parse(vip, &spec.vip) || gw_endpoint_parse(backend, &be.ep))
		return -EINVAL;
	err = gw_service_set(&m, &spec, NULL);
	if (err)
		pr_warn("bench: service %s: %s\n", vip, strerror(-err));
	return err;
}

/* Writes the egress interface's addresses (read from the kernel, as gwd
 * does) into gw_ifaddr: the source of translated and encapsulated packets.
 * Returns 0 or a negative errno. */
static int set_ifaddr(const struct progs *p, int ifindex)
{
	int fd = map_fd(p->gw, "gw_ifaddr");

	return fd < 0 ? fd : gw_ifaddr_sync_one(fd, ifindex);
}

/* Counts the entries of a hash map (batch lookups). Returns 0 or a
 * negative errno. */
static int count_entries(int fd, __u32 *n)
{
	const __u32 chunk = 8192;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), cnt, total = 0;
	__u64 in_tok = 0, out_tok = 0;
	void *keys = NULL, *vals = NULL;
	int err, first = 1;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	keys = calloc(chunk, info.key_size);
	vals = calloc(chunk, info.value_size);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		cnt = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_tok, &out_tok, keys, vals, &cnt,
					   NULL);
		total += cnt;
		if (err) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
		first = 0;
		in_tok = out_tok;
	}
	*n = total;
out:
	free(keys);
	free(vals);
	return err;
}

/* Fills gw_ct with n established-looking flows to the nat VIP from
 * 100.64.0.0/10 clients (batch updates). *entries gets how many the map
 * holds afterwards. Returns 0 or a negative errno. */
static int fill_ct(const struct progs *p, __u32 n, __u32 *entries)
{
	const __u32 chunk = 65536;
	int fd = map_fd(p->gw, "gw_ct"), err = 0;
	struct gw_flow *keys = NULL;
	struct gw_ct *vals = NULL;
	__u32 done, i, cnt;
	__be32 vip, src;
	__u64 now = clock_ns(CLOCK_MONOTONIC);

	if (fd < 0)
		return fd;
	if (inet_pton(AF_INET, VIP_NAT, &vip) != 1 || inet_pton(AF_INET, GW_OUT_ADDR, &src) != 1)
		return -EINVAL;
	keys = calloc(chunk, sizeof(*keys));
	vals = calloc(chunk, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (done = 0; done < n; done += cnt) {
		cnt = n - done < chunk ? n - done : chunk;
		for (i = 0; i < cnt; i++) {
			__u32 f = done + i;

			keys[i].saddr[0] = htonl(0x64400000u | (f >> 4));	/* 100.64/10 */
			keys[i].daddr[0] = vip;
			keys[i].sport = htons((__u16)(10000 + (f & 15)));
			keys[i].dport = htons(80);
			keys[i].proto = IPPROTO_TCP;
			keys[i].family = GW_FAMILY_V4;
			vals[i].backend_id = 1;
			vals[i].svc_id = 1;
			vals[i].last_seen_ns = now;
			vals[i].nat_addr[0] = src;
			vals[i].nat_port = htons((__u16)(GW_NAT_PORT_MIN_DEFAULT + f % 31744));
		}
		if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL)) {
			err = -errno;
			pr_warn("bench: gw_ct batch update: %s\n", strerror(-err));
			goto out;
		}
	}
	err = count_entries(fd, entries);
out:
	free(keys);
	free(vals);
	return err;
}

/* ----------------------------------------------------------------- */
/* Running                                                            */

/* One run of prog on the frame as if it arrived on ifindex (0: none).
 * *retval gets the XDP verdict. Returns 0 or a negative errno. */
static int run_once(int prog, const __u8 *pkt, size_t len, int ifindex, __u32 *retval)
{
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = (__u32)ifindex };
	__u8 out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	if (ifindex) {
		t.ctx_in = &ctx;
		t.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(prog, &t))
		return -errno;
	*retval = t.retval;
	return 0;
}

/* ns/packet of prog on the frame with repeat: the calling thread's CPU
 * time over the call (ns resolution, off-CPU time excluded) / repeat.
 * Returns 0 or a negative errno. */
static int time_repeat(int prog, const __u8 *pkt, size_t len, int ifindex, __u32 repeat,
		       double *ns)
{
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);
	__u64 t0, t1;

	if (ifindex) {
		t.ctx_in = &ctx;
		t.ctx_size_in = sizeof(ctx);
	}
	t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (bpf_prog_test_run_opts(prog, &t))
		return -errno;
	t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	*ns = (double)(t1 - t0) / repeat;
	return 0;
}

/* Sources of the new-source row: 198.24.0.0/13, in the bench's own
 * 198.16.0.0/12 (no random deny prefix there), away from its hosts. */
#define NEWSRC_BASE 0xc6180000u
#define NEWSRC_SPAN (1u << 19)

/* ns/packet of prog over `calls` repeat=1 runs, from the kernel's
 * duration of each run: *med gets the median of the batch means, *mean
 * the mean over every call. With newsrc, every call comes from another
 * IPv4 source (the frame's source address rewritten; gw checks no IP
 * checksum), so each meets no limiter entry: the miss path. Returns 0 or
 * a negative errno. */
static int time_single(int prog, const __u8 *pkt, size_t len, int ifindex, __u32 calls,
		       __u32 batch, int newsrc, double *med, double *mean)
{
	static __u32 next_src;
	__u8 buf[PKT_MAX];
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = (__u32)ifindex };
	__u32 nb = calls / batch, b, i;
	__u64 sum, all = 0;
	double *bm;
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = 1);

	if (!nb || len > sizeof(buf))
		return -EINVAL;
	if (newsrc) {
		memcpy(buf, pkt, len);
		t.data_in = buf;
	}
	if (ifindex) {
		t.ctx_in = &ctx;
		t.ctx_size_in = sizeof(ctx);
	}
	bm = calloc(nb, sizeof(*bm));
	if (!bm)
		return -ENOMEM;
	for (b = 0; b < nb; b++) {
		for (sum = 0, i = 0; i < batch; i++) {
			if (newsrc) {
				__be32 a = htonl(NEWSRC_BASE + next_src++ % NEWSRC_SPAN);

				memcpy(buf + 14 + 12, &a, 4);	/* IPv4 saddr */
			}
			if (bpf_prog_test_run_opts(prog, &t)) {
				free(bm);
				return -errno;
			}
			sum += t.duration;
		}
		bm[b] = (double)sum / batch;
		all += sum;
	}
	*med = median(bm, nb);
	*mean = (double)all / ((double)nb * batch);
	free(bm);
	return 0;
}

/* ----------------------------------------------------------------- */
/* Packets                                                            */

enum pkt_id {
	P_V4, P_V6, P_DENY_V4, P_DENY_V6, P_NAT_SYN, P_NAT, P_IPIP_SYN, P_IPIP, P_MAX
};

struct frame {
	__u8 b[PKT_MAX];
	size_t len;
};

static struct frame frames[P_MAX];

/* Builds every frame the bench sends: 64-byte-class TCP segments. Returns 0
 * or -EINVAL. */
static int build_frames(void)
{
	const struct {
		int family;
		const char *s, *d;
		__u16 dport;
		__u8 flags;
	} f[P_MAX] = {
		[P_V4] = { 4, CLIENT_V4, DST_V4, 443, 0x10 },
		[P_V6] = { 6, CLIENT_V6, DST_V6, 443, 0x10 },
		[P_DENY_V4] = { 4, DENIED_V4, DST_V4, 443, 0x10 },
		[P_DENY_V6] = { 6, DENIED_V6, DST_V6, 443, 0x10 },
		[P_NAT_SYN] = { 4, CLIENT_V4, VIP_NAT, 80, 0x02 },
		[P_NAT] = { 4, CLIENT_V4, VIP_NAT, 80, 0x10 },
		[P_IPIP_SYN] = { 4, CLIENT_V4, VIP_IPIP, 80, 0x02 },
		[P_IPIP] = { 4, CLIENT_V4, VIP_IPIP, 80, 0x10 },
	};
	int i;

	for (i = 0; i < P_MAX; i++) {
		struct pkt_opts po = { .family = f[i].family, .saddr = f[i].s, .daddr = f[i].d,
				       .proto = IPPROTO_TCP, .sport = 40000,
				       .dport = f[i].dport, .tcp_flags = f[i].flags,
				       .payload_len = 6 };

		frames[i].len = pkt_build(frames[i].b, sizeof(frames[i].b), &po);
		if (!frames[i].len)
			return -EINVAL;
	}
	return 0;
}

/* ----------------------------------------------------------------- */
/* The cases                                                          */

enum row_id {
	R_FLOOR, R_GW_V4, R_GW_V6, R_GW_DENY_V4, R_GW_DENY_V6, R_XF_V4, R_XF_V6, R_XF_DENY_V4,
	R_FLOOR1, R_NAT, R_IPIP,
	R_D_BASE, R_D_RL, R_D_LPM, R_D_NEWSRC, R_D_KTIME, R_D_COARSE, R_MAX
};

/* The breakdown rows: no target, they say where gw's pass path spends. */
#define R_FIRST_DIAG R_D_BASE

struct rcase {
	const char *name;
	int single;		/* repeat=1 method */
	enum pkt_id pkt;
	int who;		/* 0 floor, 1 gw, 2 xdp-filter, 3 gw with empty maps,
				 * 4 floor + bpf_ktime_get_ns, 5 + the coarse clock */
	int rl;			/* gw: rate limits on */
	__u32 retval;		/* expected XDP verdict */
	int reason;		/* expected gw reason, -1: none */
	int newsrc;		/* repeat=1 with a new source each call */
};

static const struct rcase cases[R_MAX] = {
	[R_FLOOR] = { "floor: bare XDP_PASS", 0, P_V4, 0, 0, XDP_PASS, -1 },
	[R_GW_V4] = { "gw pass IPv4 (filter+rl)", 0, P_V4, 1, 1, XDP_PASS, GW_R_PASS_LOCAL },
	[R_GW_V6] = { "gw pass IPv6 (filter+rl)", 0, P_V6, 1, 1, XDP_PASS, GW_R_PASS_LOCAL },
	[R_GW_DENY_V4] = { "gw deny IPv4", 0, P_DENY_V4, 1, 1, XDP_DROP, GW_R_DROP_FILTER },
	[R_GW_DENY_V6] = { "gw deny IPv6", 0, P_DENY_V6, 1, 1, XDP_DROP, GW_R_DROP_FILTER },
	[R_XF_V4] = { "xdp-filter pass IPv4", 0, P_V4, 2, 0, XDP_PASS, -1 },
	[R_XF_V6] = { "xdp-filter pass IPv6", 0, P_V6, 2, 0, XDP_PASS, -1 },
	[R_XF_DENY_V4] = { "xdp-filter deny IPv4", 0, P_DENY_V4, 2, 0, XDP_DROP, -1 },
	[R_FLOOR1] = { "floor: bare XDP_PASS", 1, P_NAT, 0, 0, XDP_PASS, -1 },
	[R_NAT] = { "gw nat forward (ct filled)", 1, P_NAT, 1, 1, XDP_REDIRECT, GW_R_FWD_NAT },
	[R_IPIP] = { "gw ipip forward", 1, P_IPIP, 1, 1, XDP_REDIRECT, GW_R_FWD_IPIP },
	[R_D_BASE] = { "gw pass IPv4, empty, rl off", 0, P_V4, 3, 0, XDP_PASS, GW_R_PASS_LOCAL },
	[R_D_RL] = { "gw pass IPv4, empty, rl on", 0, P_V4, 3, 1, XDP_PASS, GW_R_PASS_LOCAL },
	[R_D_LPM] = { "gw pass IPv4, filter, rl off", 0, P_V4, 1, 0, XDP_PASS, GW_R_PASS_LOCAL },
	[R_D_NEWSRC] = { "gw pass IPv4, new source/pkt", 1, P_V4, 1, 1, XDP_PASS,
			 GW_R_PASS_LOCAL, 1 },
	[R_D_KTIME] = { "floor + bpf_ktime_get_ns", 0, P_V4, 4, 0, XDP_PASS, -1 },
	[R_D_COARSE] = { "floor + ktime_get_coarse_ns", 0, P_V4, 5, 0, XDP_PASS, -1 },
};

static int case_prog(const struct progs *p, const struct rcase *c)
{
	switch (c->who) {
	case 0: return p->pass;
	case 1: return p->gw_xdp;
	case 2: return p->xf_prog;
	case 3: return p->gw2_xdp;
	case 4: return p->ktime;
	default: return p->ktime_coarse;
	}
}

/* gw_stats of the case's gw instance, or -1. */
static int case_stats(const struct progs *p, const struct rcase *c)
{
	return c->who == 1 ? p->gw_stats : c->who == 3 ? p->gw2_stats : -1;
}

/* Brings the case's gw instance to the case's rate-limit setting; returns
 * 0 or a negative errno. */
static int case_config(const struct progs *p, const struct rcase *c)
{
	if (c->who != 1 && c->who != 3)
		return 0;
	return set_config(c->who == 1 ? p->gw : p->gw2, c->rl);
}

/* Runs a case once and checks its verdict; row->why says what was wrong.
 * Returns 1 when the case gives its verdict, else 0. */
static int check_case(const struct progs *p, const struct net *n, const struct rcase *c,
		      struct row *row)
{
	const struct frame *f = &frames[c->pkt];
	__u64 before[GW_R_MAX];
	__u32 ret, r, got = GW_R_MAX;
	int err;

	err = case_config(p, c);
	if (err) {
		snprintf(row->why, sizeof(row->why), "config: %s", strerror(-err));
		return 0;
	}
	for (r = 0; r < GW_R_MAX; r++)
		before[r] = reason_count(case_stats(p, c), r);
	err = run_once(case_prog(p, c), f->b, f->len, n->in, &ret);
	if (err) {
		snprintf(row->why, sizeof(row->why), "test_run: %s", strerror(-err));
		return 0;
	}
	for (r = 0; case_stats(p, c) >= 0 && r < GW_R_MAX; r++)
		if (reason_count(case_stats(p, c), r) != before[r])
			got = r;
	if (ret != c->retval || (c->reason >= 0 && got != (__u32)c->reason)) {
		snprintf(row->why, sizeof(row->why), "verdict %u%s%s%s, want %u%s%s%s", ret,
			 got < GW_R_MAX ? " (" : "", got < GW_R_MAX ? gw_reason_labels[got] : "",
			 got < GW_R_MAX ? ")" : "", c->retval, c->reason >= 0 ? " (" : "",
			 c->reason >= 0 ? gw_reason_labels[c->reason] : "",
			 c->reason >= 0 ? ")" : "");
		return 0;
	}
	return 1;
}

/* Times a case (after bringing its gw to the case's config): *med gets
 * ns/packet, *mean (repeat=1 cases) the mean of every call. Returns 0 or a
 * negative errno. */
static int time_case(const struct progs *p, const struct net *n, const struct rcase *c,
		     double *med, double *mean)
{
	const struct frame *f = &frames[c->pkt];
	int err = case_config(p, c);

	if (err)
		return err;
	if (c->single)
		return time_single(case_prog(p, c), f->b, f->len, n->in, o.calls, o.batch,
				   c->newsrc, med, mean);
	*mean = 0;
	return time_repeat(case_prog(p, c), f->b, f->len, n->in, o.repeat, med);
}

/* Whether the row called name is timed (--only). The floors always are:
 * every ratio needs them. */
static int row_selected(const char *name)
{
	static regex_t re;
	static int compiled;

	if (!o.only || !strncmp(name, "floor", 5) || !strncmp(name, "bare", 4))
		return 1;
	if (!compiled) {
		if (regcomp(&re, o.only, REG_EXTENDED | REG_NOSUB)) {
			pr_warn("bench: bad --only regex '%s': timing every row\n", o.only);
			o.only = NULL;
			return 1;
		}
		compiled = 1;
	}
	return !regexec(&re, name, 0, NULL, 0);
}

/* ----------------------------------------------------------------- */
/* Live frames                                                        */

struct live {
	const char *name;
	int prog;		/* on the far end */
	enum pkt_id pkt;
	int reason;		/* gw reason counted per frame, -1 */
	double *mpps;		/* per round */
	double seen;		/* fraction of the frames the far end ran on (min) */
	int ok;
	char why[96];
};

/* What stat_find looks for and finds. */
struct stat_q {
	const char *name;
	long long val;
};

/* Stops at the statistic named q->name, keeping its value. Returns 1
 * there, else 0. */
static int stat_find(const char *name, __u64 val, void *arg)
{
	struct stat_q *q = arg;

	if (strcmp(name, q->name))
		return 0;
	q->val = (long long)val;
	return 1;
}

/* Reads the driver statistic `stat` of dev (what `ethtool -S` prints).
 * Returns it, or a negative errno (-ENOENT: no such statistic). */
static long long ethtool_stat(const char *dev, const char *stat)
{
	struct stat_q q = { stat, -ENOENT };
	int err = gw_ethtool_stats(dev, stat_find, &q);

	return err < 0 ? err : q.val;
}

/* Whether this kernel runs XDP programs in live-frames mode at all: the
 * bare XDP_PASS program, one frame, no redirect. Some kernels refuse the
 * mode outright (EPERM even for root in the initial namespace: a host
 * policy, not gw). Returns 0, or the negative errno of the refusal. */
static int live_probe(const struct progs *p)
{
	const struct frame *f = &frames[P_V4];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = f->b, .data_size_in = (__u32)f->len,
		    .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	return bpf_prog_test_run_opts(p->pass, &t) ? -errno : 0;
}

/* Attaches prog to the far end, sends o.live_pkts live frames through the
 * redirect program into the near end and measures the far end's rate.
 * *mpps gets millions of frames the far end's program ran on per second
 * of wall time, *seen how many it ran on. Returns 0 or a negative errno
 * (-EPIPE when fewer than half the frames reached it). */
static int live_run(const struct progs *p, const struct net *n, struct live *l, double *mpps,
		    __u64 *seen)
{
	const struct frame *f = &frames[l->pkt];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = f->b, .data_size_in = (__u32)f->len,
		    .repeat = o.live_pkts, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	long long r0, r1;
	__u64 t0, t1;
	int err;

	err = bpf_xdp_attach(n->lv_rx, l->prog, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		return err;
	r0 = ethtool_stat("gwb-lv1", "rx_queue_0_xdp_packets");
	t0 = clock_ns(CLOCK_MONOTONIC);
	err = bpf_prog_test_run_opts(p->redirect, &t) ? -errno : 0;
	t1 = clock_ns(CLOCK_MONOTONIC);
	r1 = ethtool_stat("gwb-lv1", "rx_queue_0_xdp_packets");
	bpf_xdp_detach(n->lv_rx, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		return err;
	if (r0 < 0 || r1 < 0)
		return -ENODATA;
	*mpps = (double)(r1 - r0) / (double)(t1 - t0) * 1e3;
	*seen = (__u64)(r1 - r0);
	/* Frames the far end's ring had no room for are dropped before its
	 * program (it is saturated: its rate is what is measured), but most
	 * must arrive. */
	if (*seen < o.live_pkts / 2)
		return -EPIPE;
	return 0;
}

/* ----------------------------------------------------------------- */
/* Output                                                             */

static const char *verdict(int met)
{
	return met ? "met" : "NOT met";
}

/* Prints the table and the targets. */
static void report(struct row *rows, struct live *lv, int nlive, __u32 ct_entries)
{
	double floor = median(rows[R_FLOOR].ns, (size_t)o.rounds);
	double floor1 = median(rows[R_FLOOR1].ns, (size_t)o.rounds);
	struct utsname u;
	int i;

	uname(&u);
	printf("\n# gw datapath benchmark: kernel %s, %ld CPUs, pinned to CPU %d, %d rounds\n",
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), o.cpu, o.rounds);
	printf("# %u IPv4 + %u IPv6 deny prefixes in gw (xdp-filter: as many addresses);"
	       " rate limits on; gw_ct holds %u entries\n\n", o.n_prefix, o.n_prefix, ct_entries);
	printf("%-30s %-22s %9s %9s %8s\n", "case", "method", "ns/pkt", "mean", "x floor");
	for (i = 0; i < R_MAX; i++) {
		struct row *r = &rows[i];
		double m = median(r->ns, (size_t)o.rounds);
		double fl = cases[i].single ? floor1 : floor;
		char meth[32];

		if (i == R_FIRST_DIAG)
			printf("\n# breakdown of gw's pass path (no target): a second gw with empty"
			       " tables, the filled one with rate limits off, and the filled one"
			       " with every packet from a new source (no verdict cached, a limiter"
			       " entry inserted); the floor plus one read of each clock\n");
		if (cases[i].single)
			snprintf(meth, sizeof(meth), "repeat=1 x%u", o.calls);
		else
			snprintf(meth, sizeof(meth), "repeat=%u", o.repeat);
		if (!r->ok) {
			printf("%-30s %-22s %9s %9s %8s  (%s)\n", cases[i].name, meth, "n/a", "",
			       "", r->why);
			continue;
		}
		if (cases[i].single)
			printf("%-30s %-22s %9.1f %9.1f %8.2f\n", cases[i].name, meth, m,
			       r->mean, m / fl);
		else
			printf("%-30s %-22s %9.1f %9s %8.2f\n", cases[i].name, meth, m, "", m / fl);
	}
	printf("\n%-30s %-22s %9s %9s\n", "live frames (veth far end)", "frames seen", "Mpps",
	       "% bare");
	for (i = 0; i < nlive; i++) {
		double m = median(lv[i].mpps, (size_t)o.rounds);
		double bare = median(lv[i & ~1].mpps, (size_t)o.rounds);

		char seen[32];

		snprintf(seen, sizeof(seen), ">= %.1f%% of %u", 100 * lv[i].seen, o.live_pkts);
		if (!lv[i].ok)
			printf("%-30s %-22s %9s  (%s)\n", lv[i].name, "", "n/a", lv[i].why);
		else if (i & 1)
			printf("%-30s %-22s %9.3f %8.1f%%\n", lv[i].name, seen, m, 100 * m / bare);
		else
			printf("%-30s %-22s %9.3f\n", lv[i].name, seen, m);
	}

	printf("\n# targets\n");
#define RATIO(id, fl) (median(rows[id].ns, (size_t)o.rounds) / (fl))
	for (i = R_GW_V4; i <= R_GW_V6; i++)
		if (rows[i].ok)
			printf("%-44s %5.2fx floor (<= 2.5x): %s\n", cases[i].name,
			       RATIO(i, floor), verdict(RATIO(i, floor) <= 2.5));
		else
			printf("%-44s not measured: NOT met\n", cases[i].name);
	for (i = R_NAT; i <= R_IPIP; i++)
		if (rows[i].ok)
			printf("%-44s %5.2fx floor (<= 3x): %s\n", cases[i].name,
			       RATIO(i, floor1), verdict(RATIO(i, floor1) <= 3.0));
		else
			printf("%-44s not measured: NOT met\n", cases[i].name);
#undef RATIO
	for (i = 1; i < nlive; i += 2) {
		double pct;

		if (!lv[i].ok || !lv[i - 1].ok) {
			printf("%-44s not measured: NOT met\n", lv[i].name);
			continue;
		}
		pct = 100 * median(lv[i].mpps, (size_t)o.rounds) /
		      median(lv[i - 1].mpps, (size_t)o.rounds);
		printf("%-44s %5.1f%% of bare (>= 80%%): %s\n", lv[i].name, pct,
		       verdict(pct >= 80));
	}
}

/* ----------------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--quick] [--rounds N] [--repeat N] [--calls N] [--live N]\n"
		"          [--prefixes N] [--ct N] [--cpu N|-1] [--gw OBJ] [--floor OBJ]"
		" [--xdp-filter OBJ]\n"
		"          [--only REGEX]   time only the rows whose name matches (the floors"
		" always; e.g. to profile one)\n", prog);
}

/* Parses argv into o. Returns 0, or -EINVAL after printing the usage. */
static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },	   { "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' }, { "calls", required_argument, NULL, 'c' },
		{ "live", required_argument, NULL, 'l' },   { "prefixes", required_argument, NULL, 'p' },
		{ "ct", required_argument, NULL, 't' },	   { "cpu", required_argument, NULL, 'C' },
		{ "gw", required_argument, NULL, 'g' },	   { "floor", required_argument, NULL, 'f' },
		{ "xdp-filter", required_argument, NULL, 'x' }, { "help", no_argument, NULL, 'h' },
		{ "only", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			o.rounds = 3;
			o.repeat = 100000;
			o.calls = 20000;
			o.live_pkts = 200000;
			break;
		case 'r': o.rounds = atoi(optarg); break;
		case 'R': o.repeat = (__u32)strtoul(optarg, NULL, 0); break;
		case 'c': o.calls = (__u32)strtoul(optarg, NULL, 0); break;
		case 'l': o.live_pkts = (__u32)strtoul(optarg, NULL, 0); break;
		case 'p': o.n_prefix = (__u32)strtoul(optarg, NULL, 0); break;
		case 't': o.n_ct = (__u32)strtoul(optarg, NULL, 0); break;
		case 'C': o.cpu = atoi(optarg); break;
		case 'g': o.gw_obj = optarg; break;
		case 'f': o.floor_obj = optarg; break;
		case 'x': o.xf_obj = optarg; break;
		case 'o': o.only = optarg; break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (o.rounds < 1 || !o.repeat || o.calls < o.batch || !o.live_pkts) {
		usage(argv[0]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const xf_names[] = { "filter_ipv4", "filter_ipv6", NULL };
	static const char *const gw2_names[] = { "gw_ct", "gw_nat", "gw_rl_v4", "gw_rl_v6", NULL };
	static const __u32 gw2_sizes[] = { 4096, 4096, 4096, 4096 };
	struct row rows[R_MAX] = {};
	struct live lv[4] = {
		{ .name = "bare XDP_DROP", .pkt = P_DENY_V4, .reason = -1 },
		{ .name = "gw deny (XDP_DROP)", .pkt = P_DENY_V4, .reason = GW_R_DROP_FILTER },
		{ .name = "bare XDP_PASS", .pkt = P_V4, .reason = -1 },
		{ .name = "gw pass (XDP_PASS)", .pkt = P_V4, .reason = GW_R_PASS_LOCAL },
	};
	struct progs p = {};
	struct net n = {};
	__u32 xf_sizes[2], ct_entries = 0, zero = 0, nat_before = 0, nat_after = 0;
	int err, i, round;
	__u64 t0;

	gw_log_hook_libbpf();
	if (parse_args(argc, argv))
		return 2;
	if (o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			pr_warn("bench: cannot pin to CPU %d: %s\n", o.cpu, strerror(errno));
	}
	err = net_setup(&n);
	if (err) {
		pr_err("bench: namespace setup failed: %s\n", strerror(-err));
		return 1;
	}
	xf_sizes[0] = xf_sizes[1] = o.n_prefix + 1024;
	err = load_obj(o.floor_obj, &p.floor, NULL, NULL);
	if (!err)
		err = load_obj(o.gw_obj, &p.gw, NULL, NULL);
	if (!err)
		err = load_obj(o.gw_obj, &p.gw2, gw2_names, gw2_sizes);
	if (!err)
		err = load_obj(o.xf_obj, &p.xf, xf_names, xf_sizes);
	if (err)
		goto out;
	p.pass = prog_fd(p.floor, "bench_pass");
	p.drop = prog_fd(p.floor, "bench_drop");
	p.redirect = prog_fd(p.floor, "bench_redirect");
	p.ktime = prog_fd(p.floor, "bench_ktime");
	p.ktime_coarse = prog_fd(p.floor, "bench_ktime_coarse");
	p.gw_xdp = prog_fd(p.gw, "gw_xdp");
	p.gw_stats = map_fd(p.gw, "gw_stats");
	p.gw2_xdp = prog_fd(p.gw2, "gw_xdp");
	p.gw2_stats = map_fd(p.gw2, "gw_stats");
	{
		struct bpf_program *prog = bpf_object__next_program(p.xf, NULL);

		p.xf_prog = prog ? bpf_program__fd(prog) : -ENOENT;
	}
	if (p.pass < 0 || p.drop < 0 || p.redirect < 0 || p.ktime < 0 || p.ktime_coarse < 0 ||
	    p.gw_xdp < 0 || p.xf_prog < 0 ||
	    p.gw_stats < 0 || p.gw2_xdp < 0 || p.gw2_stats < 0) {
		err = -ENOENT;
		pr_err("bench: a program or map is missing\n");
		goto out;
	}
	if (bpf_map_update_elem(map_fd(p.floor, "bench_target"), &zero, &n.lv_tx, BPF_ANY)) {
		err = -errno;
		goto out;
	}

	t0 = clock_ns(CLOCK_MONOTONIC);
	err = build_frames();
	if (!err)
		err = set_config(p.gw, 1);
	if (!err)
		err = set_config(p.gw2, 1);
	if (!err)
		err = fill_filters(&p, o.n_prefix);
	if (err) {
		pr_err("bench: filling the filters failed: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr, "bench: %u+%u prefixes in %.1f s\n", o.n_prefix, o.n_prefix,
		(double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	t0 = clock_ns(CLOCK_MONOTONIC);
	err = set_ifaddr(&p, n.out);
	if (!err)
		err = add_service(&p, VIP_NAT ":80", GW_FWD_NAT, BE_NAT ":8080");
	if (!err)
		err = add_service(&p, VIP_IPIP ":80", GW_FWD_IPIP, BE_IPIP ":80");
	if (!err)
		err = fill_ct(&p, o.n_ct, &ct_entries);
	if (err) {
		pr_err("bench: services / conntrack setup failed: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr, "bench: %u conntrack entries in %.1f s\n", ct_entries,
		(double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9);

	/* Establish the measured flows (their SYN picks the backend), then
	 * check every case's verdict. */
	{
		__u32 ret;

		run_once(p.gw_xdp, frames[P_NAT_SYN].b, frames[P_NAT_SYN].len, n.in, &ret);
		run_once(p.gw_xdp, frames[P_IPIP_SYN].b, frames[P_IPIP_SYN].len, n.in, &ret);
	}
	for (i = 0; i < R_MAX; i++) {
		rows[i].ns = calloc((size_t)o.rounds, sizeof(double));
		if (!rows[i].ns) {
			err = -ENOMEM;
			goto out;
		}
		if (!row_selected(cases[i].name)) {
			snprintf(rows[i].why, sizeof(rows[i].why), "not selected (--only)");
			continue;
		}
		rows[i].ok = check_case(&p, &n, &cases[i], &rows[i]);
		if (!rows[i].ok)
			fprintf(stderr, "bench: %s: %s\n", cases[i].name, rows[i].why);
	}

	err = count_entries(map_fd(p.gw, "gw_nat"), &nat_before);
	if (err)
		goto out;
	/* Interleaved rounds: every case once per round. */
	for (round = 0; round < o.rounds; round++) {
		for (i = 0; i < R_MAX; i++) {
			const struct rcase *c = &cases[i];
			double med = 0, mean = 0;

			if (!rows[i].ok)
				continue;
			err = time_case(&p, &n, c, &med, &mean);
			if (err) {
				rows[i].ok = 0;
				snprintf(rows[i].why, sizeof(rows[i].why), "test_run: %s",
					 strerror(-err));
				continue;
			}
			rows[i].ns[round] = med;
			rows[i].mean += mean / o.rounds;
		}
		fprintf(stderr, "bench: round %d/%d done\n", round + 1, o.rounds);
	}
	/* The timed forward packets belonged to established flows: they made
	 * no new NAT state. */
	if (count_entries(map_fd(p.gw, "gw_nat"), &nat_after) || nat_after != nat_before) {
		rows[R_NAT].ok = 0;
		snprintf(rows[R_NAT].why, sizeof(rows[R_NAT].why),
			 "flow not established: gw_nat %u -> %u entries", nat_before, nat_after);
	}
	/* The rate limiter must not have dropped anything it was timed on. */
	if (reason_count(p.gw_stats, GW_R_DROP_RATELIMIT) ||
	    reason_count(p.gw_stats, GW_R_DROP_SYN_RATELIMIT) ||
	    reason_count(p.gw2_stats, GW_R_DROP_RATELIMIT)) {
		rows[R_GW_V4].ok = rows[R_GW_V6].ok = 0;
		snprintf(rows[R_GW_V4].why, sizeof(rows[R_GW_V4].why), "rate limiter dropped");
		snprintf(rows[R_GW_V6].why, sizeof(rows[R_GW_V6].why), "rate limiter dropped");
	}

	err = set_config(p.gw, 1);
	if (err)
		goto out;
	lv[0].prog = p.drop;
	lv[1].prog = p.gw_xdp;
	lv[2].prog = p.pass;
	lv[3].prog = p.gw_xdp;
	for (i = 0; i < 4; i++) {
		lv[i].mpps = calloc((size_t)o.rounds, sizeof(double));
		if (!lv[i].mpps) {
			err = -ENOMEM;
			goto out;
		}
		/* a pair (bare, gw) runs when its gw row is selected */
		lv[i].ok = row_selected(lv[i | 1].name);
		if (!lv[i].ok)
			snprintf(lv[i].why, sizeof(lv[i].why), "not selected (--only)");
	}
	err = live_probe(&p);
	for (i = 0; err && i < 4; i++) {
		if (!lv[i].ok)
			continue;
		lv[i].ok = 0;
		snprintf(lv[i].why, sizeof(lv[i].why), "kernel refuses live frames: %s%s",
			 strerror(-err), err == -EPERM ? " for a bare XDP_PASS too" : "");
	}
	for (round = 0; round < o.rounds; round++) {
		for (i = 0; i < 4; i++) {
			__u64 seen = 0;
			__u64 before = lv[i].reason >= 0 ?
					       reason_count(p.gw_stats, (__u32)lv[i].reason) : 0;

			if (!lv[i].ok)
				continue;
			err = live_run(&p, &n, &lv[i], &lv[i].mpps[round], &seen);
			if (!err && lv[i].reason >= 0 &&
			    reason_count(p.gw_stats, (__u32)lv[i].reason) - before < seen * 99 / 100)
				err = -EBADMSG;
			if (!round || (double)seen / o.live_pkts < lv[i].seen)
				lv[i].seen = (double)seen / o.live_pkts;
			if (err) {
				lv[i].ok = 0;
				snprintf(lv[i].why, sizeof(lv[i].why), "%s",
					 err == -EBADMSG ? "gw gave another verdict" :
					 err == -EPIPE ? "far end saw < 50% of frames" :
							 strerror(-err));
			}
		}
	}
	err = 0;
	report(rows, lv, 4, ct_entries);
out:
	for (i = 0; i < R_MAX; i++)
		free(rows[i].ns);
	for (i = 0; i < 4; i++)
		free(lv[i].mpps);
	bpf_object__close(p.xf);
	bpf_object__close(p.gw2);
	bpf_object__close(p.gw);
	bpf_object__close(p.floor);
	return err ? 1 : 0;
}
