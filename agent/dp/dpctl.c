// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw-dpctl: load, attach and inspect gw's L3/L4 datapath through its pinned
 * maps, with no daemon. The work is done by libgw (dp.c, ifaddr.c,
 * filter.c, service.c, ratelimit.c); this file parses arguments and prints.
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "gw/abi.h"
#include "gw/names.h"
#include "core/addr.h"
#include "dp/dp.h"
#include "dp/filter.h"
#include "dp/ifaddr.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "dp/service.h"
#include "dp/show.h"

#define EXIT_USAGE 2
#define E_USAGE (-10000)	/* a handler's "usage error" */

static const char *pin_root = GW_PIN_ROOT_DEFAULT;

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("gw-dpctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return E_USAGE;
}

/* ------------------------------------------------------------------ */
/* Parsing helpers                                                      */

static int parse_u64(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end || *v > max)
		return -EINVAL;
	return 0;
}

static int parse_proto(const char *s, __u8 *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return usage_err("protocol must be tcp or udp, not '%s'", s);
	return 0;
}

static int parse_vip(const char *s, struct gw_endpoint *e)
{
	char msg[128];

	if (gw_endpoint_parse_msg(s, e, msg, sizeof(msg)))
		return usage_err("bad VIP:PORT '%s': %s", s, msg);
	return 0;
}

static int parse_ifname(const char *s, int *ifindex)
{
	unsigned int i = if_nametoindex(s);

	if (!i) {
		fprintf(stderr, "gw-dpctl: no interface '%s'\n", s);
		return -ENODEV;
	}
	*ifindex = (int)i;
	return 0;
}

/* "ADDR:PORT", "[V6]:PORT", either with ":WEIGHT" appended, or a bare
 * address (its port then is the VIP's: ipip backends ignore it). */
static int parse_backend(const char *s, __u16 vip_port, struct gw_backend_spec *b)
{
	char buf[GW_ADDR_STRLEN + 16], msg[128];
	unsigned long long w;
	char *colon;

	memset(b, 0, sizeof(*b));
	b->weight = 1;
	if (!gw_endpoint_parse(s, &b->ep))
		return 0;
	if (!gw_ip_parse(s, &b->ep.ip)) {
		b->ep.port = vip_port;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return usage_err("backend '%s' is too long", s);
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (!parse_u64(colon + 1, 65535, &w) && w >= 1 &&
		    !gw_endpoint_parse_msg(buf, &b->ep, msg, sizeof(msg))) {
			b->weight = (__u32)w;
			return 0;
		}
	}
	gw_endpoint_parse_msg(s, &b->ep, msg, sizeof(msg));
	return usage_err("bad backend '%s' (ADDR:PORT[:WEIGHT]): %s", s, msg);
}

/* Options shared by several commands, parsed out of argv in place: returns
 * the positional arguments left in argv[0..]. */
struct opts {
	const char *xdp_mode, *rate, *burst, *v6_prefix, *ttl, *weight, *limit, *xdp_prio;
	int tc, all, fresh;
	struct gw_dp_sizes sizes;
};

static int parse_opts(int *argc, char **argv, struct opts *o, const char *allowed)
{
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i], *val = NULL;
		const char **slot = NULL;
		const char *name;

		if (strncmp(a, "--", 2) || !a[2]) {
			argv[n++] = argv[i];
			continue;
		}
		name = a + 2;
		if (!strstr(allowed, name) || strchr(name, '='))
			return usage_err("unknown option %s", a);
		if (!strcmp(name, "tc")) {
			o->tc = 1;
			continue;
		}
		if (!strcmp(name, "all")) {
			o->all = 1;
			continue;
		}
		if (!strcmp(name, "fresh")) {
			o->fresh = 1;
			continue;
		}
		if (i + 1 >= *argc)
			return usage_err("%s needs a value", a);
		val = argv[++i];
		if (!strcmp(name, "xdp-mode"))
			slot = &o->xdp_mode;
		else if (!strcmp(name, "rate"))
			slot = &o->rate;
		else if (!strcmp(name, "burst"))
			slot = &o->burst;
		else if (!strcmp(name, "v6-prefix"))
			slot = &o->v6_prefix;
		else if (!strcmp(name, "ttl"))
			slot = &o->ttl;
		else if (!strcmp(name, "weight"))
			slot = &o->weight;
		else if (!strcmp(name, "limit"))
			slot = &o->limit;
		else if (!strcmp(name, "xdp-prio"))
			slot = &o->xdp_prio;
		else if (!strcmp(name, "size")) {
			int e = gw_dp_sizes_parse(&o->sizes, val);

			if (e == -ENOENT)
				return usage_err("--size: unknown map in '%s' (filter_v4, filter_v6, "
						 "ban_v4, ban_v6, rl_v4, rl_v6, ct, nat)", val);
			if (e)
				return usage_err("--size: bad '%s' (NAME=ENTRIES)", val);
			continue;
		} else {
			return usage_err("unknown option %s", a);
		}
		*slot = val;
	}
	*argc = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* attach, detach, status, sync-addrs, unload                           */

static int cmd_attach(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_dp_opts dopts = { 0 };
	enum gw_xdp_mode mode = GW_XDP_AUTO;
	enum gw_attach_kind kind = GW_ATTACH_NONE;
	unsigned long long prio;
	struct gw_dp *dp;
	int ifindex, err;

	if (argc != 1)
		return usage_err("attach IFACE [options]");
	if (o->xdp_mode && o->tc)
		return usage_err("--xdp-mode and --tc exclude each other");
	if (o->xdp_mode && gw_xdp_mode_parse(o->xdp_mode, &mode))
		return usage_err("--xdp-mode must be native, generic or auto");
	if (o->xdp_prio) {
		if (parse_u64(o->xdp_prio, 1000, &prio) || !prio)
			return usage_err("--xdp-prio must be 1-1000");
		dopts.xdp_prio = (unsigned int)prio;
	}
	err = parse_ifname(argv[0], &ifindex);
	if (err)
		return err;
	dopts.pin_root = pin_root;
	dopts.sizes = o->sizes;
	dopts.fresh_progs = o->fresh;
	err = gw_dp_open(&dopts, &dp);
	if (err)
		return err;
	if (o->tc)
		err = gw_dp_attach_tc(dp, ifindex, &kind);
	else
		err = gw_dp_attach_xdp(dp, ifindex, mode, &kind);
	gw_dp_close(dp);
	if (err)
		return err;
	printf("attached %s (ifindex %d): %s, pins under %s\n", argv[0], ifindex,
	       gw_attach_kind_str(kind), pin_root);
	return 0;
}

static int cmd_detach(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	int ifindex, err;

	err = parse_ifname(argv[0], &ifindex);
	if (err)
		return err;
	err = gw_dp_detach(pin_root, ifindex);
	if (err == -ENOENT) {
		fprintf(stderr, "gw-dpctl: gw is not attached to %s\n", argv[0]);
		return err;
	}
	if (!err)
		printf("detached %s\n", argv[0]);
	return err;
}

static int cmd_sync_addrs(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	unsigned int n = 0;
	int i, err, ifindex;

	for (i = 0; i < argc; i++) {
		err = parse_ifname(argv[i], &ifindex);
		if (!err)
			err = gw_ifaddr_sync_one(m->ifaddr, ifindex);
		if (err)
			return err;
	}
	err = gw_ifaddr_sync_all(m->ifaddr, &n);
	if (!err)
		printf("addresses of %u interface(s) synced\n", n);
	return err;
}

/* The interfaces gw is attached to (the keys of gw_ifaddr), their hooks
 * and addresses. */
static int cmd_status(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	__u32 ids[GW_IFADDR_MAX];
	struct gw_config cfg;
	char name[IF_NAMESIZE], a4[64], a6[64];
	int n, i, err;

	err = gw_dp_config_get(m, &cfg);
	if (err)
		return err;
	printf("pin root   %s\n", pin_root);
	printf("generation %u, filter default %s\n", cfg.generation,
	       cfg.flags & GW_CFG_F_DEFAULT_DENY ? "deny" : "allow");
	n = gw_dp_attached_ifaces(m->ifaddr, ids, GW_IFADDR_MAX);
	printf("%-16s %-8s %-12s %-16s %s\n", "INTERFACE", "IFINDEX", "HOOK", "IPV4", "IPV6");
	for (i = 0; i < n; i++) {
		struct gw_ifaddr ia = { 0 };
		int kind = gw_dp_attached(pin_root, (int)ids[i]);

		bpf_map_lookup_elem(m->ifaddr, &ids[i], &ia);
		if (!if_indextoname(ids[i], name))
			strcpy(name, "(gone)");
		if (ia.flags & GW_IFADDR_F_V4)
			inet_ntop(AF_INET, &ia.v4, a4, sizeof(a4));
		else
			strcpy(a4, "-");
		if (ia.flags & GW_IFADDR_F_V6)
			inet_ntop(AF_INET6, ia.v6, a6, sizeof(a6));
		else
			strcpy(a6, "-");
		printf("%-16s %-8u %-12s %-16s %s\n", name, ids[i],
		       kind < 0 ? "?" : gw_attach_kind_str((enum gw_attach_kind)kind), a4, a6);
	}
	return 0;
}

static int cmd_unload(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	int err = gw_dp_unload(pin_root);

	if (!err)
		printf("unloaded gw from %s\n", pin_root);
	return err;
}

/* ------------------------------------------------------------------ */
/* filter                                                               */

static int parse_cidr_arg(const char *s, struct gw_cidr *c)
{
	char msg[128];

	if (gw_cidr_parse_msg(s, c, msg, sizeof(msg)))
		return usage_err("bad CIDR '%s': %s", s, msg);
	return 0;
}

static int parse_action(const char *s, int *action)
{
	if (!strcmp(s, "allow"))
		*action = GW_RULE_ALLOW;
	else if (!strcmp(s, "deny"))
		*action = GW_RULE_DENY;
	else
		return usage_err("expected allow or deny, not '%s'", s);
	return 0;
}

static int cmd_filter_add(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_cidr c;
	int action = 0, err;

	if (argc != 2)
		return usage_err("filter add allow|deny CIDR");
	if ((err = parse_action(argv[0], &action)) || (err = parse_cidr_arg(argv[1], &c)))
		return err;
	err = gw_filter_add(&m->filter, &c, action, GW_ORIGIN_CLI);
	if (err == -EEXIST) {
		fprintf(stderr, "gw-dpctl: %s is allowed already; allow wins on the same prefix\n",
			argv[1]);
		return err;
	}
	if (!err)
		printf("filter: %s %s\n", argv[0], argv[1]);
	return err;
}

static int cmd_filter_del(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_cidr c;
	int action = 0, err;

	if (argc != 2)
		return usage_err("filter del allow|deny CIDR");
	if ((err = parse_action(argv[0], &action)) || (err = parse_cidr_arg(argv[1], &c)))
		return err;
	err = gw_filter_del(&m->filter, &c, action);
	if (err == -ENOENT)
		fprintf(stderr, "gw-dpctl: no %s entry for %s\n", argv[0], argv[1]);
	else if (!err)
		printf("filter: removed %s %s\n", argv[0], argv[1]);
	return err;
}

static int cmd_filter_ban(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	unsigned long long ttl;
	struct gw_cidr c;
	int err;

	if (argc != 1 || !o->ttl)
		return usage_err("filter ban CIDR --ttl SECONDS");
	if (parse_u64(o->ttl, 10ull * 365 * 86400, &ttl) || !ttl)
		return usage_err("--ttl must be a number of seconds >= 1");
	if ((err = parse_cidr_arg(argv[0], &c)))
		return err;
	err = gw_ban_add(&m->filter, &c, ttl * 1000000000ull, GW_ORIGIN_CLI);
	if (!err)
		printf("filter: banned %s for %llus\n", argv[0], ttl);
	return err;
}

static int cmd_filter_unban(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_cidr c;
	int err;

	if ((err = parse_cidr_arg(argv[0], &c)))
		return err;
	err = gw_ban_del(&m->filter, &c);
	if (err == -ENOENT)
		fprintf(stderr, "gw-dpctl: no ban on %s\n", argv[0]);
	else if (!err)
		printf("filter: unbanned %s\n", argv[0]);
	return err;
}

static int cmd_filter_default(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_config cfg;
	int action = 0, err;

	if ((err = parse_action(argv[0], &action)))
		return err;
	err = gw_dp_config_get(m, &cfg);
	if (err)
		return err;
	if (action == GW_RULE_DENY)
		cfg.flags |= GW_CFG_F_DEFAULT_DENY;
	else
		cfg.flags &= ~GW_CFG_F_DEFAULT_DENY;
	err = gw_dp_config_set(m, &cfg);
	if (!err)
		printf("filter: default %s\n", argv[0]);
	return err;
}

static int print_filter_entry(const struct gw_filter_entry *e, void *arg)
{
	__u64 now = *(__u64 *)arg;
	char cidr[GW_ADDR_STRLEN], left[32] = "-";

	gw_cidr_str(&e->cidr, cidr, sizeof(cidr));
	if (e->rule.expires_ns) {
		if (e->rule.expires_ns > now)
			snprintf(left, sizeof(left), "%llus",
				 (unsigned long long)((e->rule.expires_ns - now + 999999999ull) /
						      1000000000ull));
		else
			strcpy(left, "expired");
	}
	printf("%-44s %-6s %-5s %-9s %s\n", cidr,
	       e->rule.action == GW_RULE_ALLOW ? "allow" : "deny", e->is_ban ? "ban" : "list",
	       gw_origin_str(e->rule.origin), left);
	return 0;
}

static int cmd_filter_list(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_config cfg;
	__u64 now = gw_now_ns();
	int err;

	err = gw_dp_config_get(m, &cfg);
	if (err)
		return err;
	printf("default: %s\n", cfg.flags & GW_CFG_F_DEFAULT_DENY ? "deny" : "allow");
	printf("%-44s %-6s %-5s %-9s %s\n", "PREFIX", "ACTION", "KIND", "ORIGIN", "EXPIRES");
	return gw_filter_foreach(&m->filter, print_filter_entry, &now);
}

/* ------------------------------------------------------------------ */
/* ratelimit                                                            */

static int cmd_rl_set(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	unsigned long long burst = 1, pfx;
	struct gw_config cfg;
	struct gw_rate rate;
	struct gw_gcra g;
	int err;

	if (argc != 1 || (strcmp(argv[0], "packets") && strcmp(argv[0], "syn")))
		return usage_err("ratelimit set packets|syn --rate N/s --burst B [--v6-prefix N]");
	if (!o->rate)
		return usage_err("--rate is required (e.g. 1000/s; 0/s turns the limit off)");
	if (gw_rate_parse(o->rate, &rate))
		return usage_err("bad --rate '%s' (N/s, N/m or N/h)", o->rate);
	if (o->burst && (parse_u64(o->burst, 1ull << 32, &burst) || !burst))
		return usage_err("--burst must be >= 1");
	if (!o->burst)
		burst = rate.count ? rate.count : 1;
	err = gw_gcra_from_rate(&rate, burst, &g);
	if (err)
		return usage_err("rate %s with burst %llu is out of range", o->rate, burst);
	err = gw_dp_config_get(m, &cfg);
	if (err)
		return err;
	if (!strcmp(argv[0], "packets"))
		cfg.rl_pkt = g;
	else
		cfg.rl_syn = g;
	if (o->v6_prefix) {
		if (parse_u64(o->v6_prefix, 128, &pfx) || !pfx)
			return usage_err("--v6-prefix must be 1-128");
		cfg.rl_v6_prefix = (__u8)pfx;
	}
	err = gw_dp_config_set(m, &cfg);
	if (!err)
		printf("ratelimit %s: %s, burst %llu\n", argv[0], rate.count ? o->rate : "off",
		       burst);
	return err;
}

static void print_gcra(const char *name, const struct gw_gcra *g)
{
	double per_sec;
	__u64 burst;

	if (!g->interval_ns) {
		printf("%-8s off\n", name);
		return;
	}
	gw_gcra_to_rate(g, &per_sec, &burst);
	printf("%-8s %.0f/s burst %llu (interval %lluns, tolerance %lluns)\n", name, per_sec,
	       (unsigned long long)burst, (unsigned long long)g->interval_ns,
	       (unsigned long long)g->tolerance_ns);
}

static int cmd_rl_show(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_config cfg;
	int err;

	err = gw_dp_config_get(m, &cfg);
	if (err)
		return err;
	print_gcra("packets", &cfg.rl_pkt);
	print_gcra("syn", &cfg.rl_syn);
	printf("%-8s /%u\n", "v6", cfg.rl_v6_prefix);
	return 0;
}

/* ------------------------------------------------------------------ */
/* services and backends                                                */

static int parse_fwd(const char *s, __u8 *fwd)
{
	if (!strcmp(s, "nat"))
		*fwd = GW_FWD_NAT;
	else if (!strcmp(s, "ipip"))
		*fwd = GW_FWD_IPIP;
	else
		return usage_err("forwarding must be nat or ipip, not '%s'", s);
	return 0;
}

static int cmd_service_set(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_service_spec spec = { 0 };
	struct gw_backend_spec *bs = NULL;
	__u32 id;
	int i, err;

	if (argc < 3)
		return usage_err("service set VIP:PORT tcp|udp nat|ipip BACKEND[:weight]...");
	if ((err = parse_vip(argv[0], &spec.vip)) || (err = parse_proto(argv[1], &spec.proto)) ||
	    (err = parse_fwd(argv[2], &spec.fwd)))
		return err;
	if (argc > 3) {
		bs = calloc((size_t)(argc - 3), sizeof(*bs));
		if (!bs)
			return -ENOMEM;
	}
	for (i = 3; i < argc; i++) {
		err = parse_backend(argv[i], spec.vip.port, &bs[i - 3]);
		if (err)
			goto out;
		if (bs[i - 3].ep.ip.family != spec.vip.ip.family && spec.fwd == GW_FWD_NAT) {
			err = usage_err("nat backend %s is not of the VIP's family", argv[i]);
			goto out;
		}
	}
	spec.backends = bs;
	spec.n_backends = (size_t)(argc - 3);
	err = gw_service_set(&m->lb, &spec, &id);
	if (!err)
		printf("service %s %s %s: id %u, %zu backend(s)\n", argv[0], argv[1], argv[2], id,
		       spec.n_backends);
out:
	free(bs);
	return err;
}

static int cmd_service_del(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct gw_endpoint vip;
	__u8 proto = 0;
	int err;

	if ((err = parse_vip(argv[0], &vip)) || (err = parse_proto(argv[1], &proto)))
		return err;
	err = gw_service_del(&m->lb, &vip, proto);
	if (err == -ENOENT)
		fprintf(stderr, "gw-dpctl: no service %s %s\n", argv[0], argv[1]);
	else if (!err)
		printf("service %s %s removed\n", argv[0], argv[1]);
	return err;
}

static int cmd_backend(struct gw_dp_maps *m, int argc, char **argv, struct opts *o,
		      const char *verb)
{
	struct gw_backend_spec b;
	struct gw_endpoint vip;
	struct gw_backend cur;
	struct gw_svc svc;
	unsigned long long w;
	int found = 0;
	__u8 proto = 0;
	int err;

	if (argc != 3)
		return usage_err("backend %s VIP:PORT tcp|udp ADDR:PORT%s", verb,
				 strcmp(verb, "add") ? "" : " [--weight W]");
	if ((err = parse_vip(argv[0], &vip)) || (err = parse_proto(argv[1], &proto)) ||
	    (err = parse_backend(argv[2], vip.port, &b)))
		return err;
	if (o->weight) {
		if (parse_u64(o->weight, 65535, &w) || !w)
			return usage_err("--weight must be 1-65535");
		b.weight = (__u32)w;
	}
	if (!strcmp(verb, "del")) {
		err = gw_backend_del(&m->lb, &vip, proto, &b.ep);
	} else {
		if (!strcmp(verb, "drain") || !o->weight) {
			/* keep the weight it has */
			if (!gw_svc_lookup(m, &vip, proto, &svc))
				found = !gw_backend_find(m, svc.id, &b.ep, &cur);
			if (!found && !strcmp(verb, "drain")) {
				fprintf(stderr, "gw-dpctl: %s is no backend of %s %s\n", argv[2],
					argv[0], argv[1]);
				return -ENOENT;
			}
			if (found && !o->weight)
				b.weight = cur.weight;
		}
		b.drain = !strcmp(verb, "drain");
		err = gw_backend_set(&m->lb, &vip, proto, &b);
	}
	if (err == -ENOENT)
		fprintf(stderr, "gw-dpctl: no such service or backend (%s %s %s)\n", argv[0],
			argv[1], argv[2]);
	else if (!err)
		printf("backend %s %s %s %s%s\n", argv[2],
		       !strcmp(verb, "add") ? "in" : !strcmp(verb, "del") ? "removed from" :
									     "draining in",
		       argv[0], argv[1], "");
	return err;
}

static int cmd_backend_add(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	return cmd_backend(m, argc, argv, o, "add");
}

static int cmd_backend_del(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	return cmd_backend(m, argc, argv, o, "del");
}

static int cmd_backend_drain(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	return cmd_backend(m, argc, argv, o, "drain");
}

struct list_ctx {
	struct gw_dp_maps *m;
	int stats;
};

static int print_backend(__u32 id, const struct gw_backend *b, void *arg)
{
	struct list_ctx *c = arg;
	struct gw_counter cnt = { 0 };
	char ep[GW_ADDR_STRLEN];

	gw_dp_counter_sum(c->m->backend_stats, id, &cnt);
	printf("    %-40s id %-5u weight %-5u %-6s %12llu pkts %14llu bytes\n",
	       gw_abi_ep_str(b->addr, b->family, b->port, ep, sizeof(ep)), id, b->weight,
	       b->flags & GW_BE_F_DRAIN ? "drain" : "active", (unsigned long long)cnt.packets,
	       (unsigned long long)cnt.bytes);
	return 0;
}

static int print_service(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	struct list_ctx *c = arg;
	struct gw_counter cnt = { 0 };
	char vip[GW_ADDR_STRLEN];

	gw_dp_counter_sum(c->m->svc_stats, s->id, &cnt);
	printf("%-40s %-4s %-5s id %-4u ring %-6u %12llu pkts %14llu bytes\n",
	       gw_abi_ep_str(k->addr, k->family, k->port, vip, sizeof(vip)), gw_proto_str(k->proto),
	       s->fwd == GW_FWD_NAT ? "nat" : s->fwd == GW_FWD_IPIP ? "ipip" : "?", s->id,
	       s->ring_size, (unsigned long long)cnt.packets, (unsigned long long)cnt.bytes);
	return gw_dp_foreach_backend(c->m, s->id, print_backend, c);
}

static int cmd_service_list(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct list_ctx c = { .m = m };

	return gw_dp_foreach_service(m, print_service, &c);
}

/* ------------------------------------------------------------------ */
/* stats and conntrack                                                  */

static int cmd_stats(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	unsigned long long tot[4] = { 0 };
	struct gw_counter c;
	struct list_ctx lc = { .m = m };
	__u32 r;
	int err;

	printf("%-16s %-8s %14s %16s\n", "REASON", "ACTION", "PACKETS", "BYTES");
	for (r = 0; r < GW_R_MAX; r++) {
		err = gw_dp_counter_sum(m->stats, r, &c);
		if (err)
			return err;
		tot[gw_reason_actions[r]] += c.packets;
		if (!c.packets && !o->all)
			continue;
		printf("%-16s %-8s %14llu %16llu\n", gw_reason_labels[r],
		       gw_action_labels[gw_reason_actions[r]], (unsigned long long)c.packets,
		       (unsigned long long)c.bytes);
	}
	printf("total: pass %llu, forward %llu, drop %llu\n", tot[GW_ACT_PASS],
	       tot[GW_ACT_FORWARD], tot[GW_ACT_DROP]);
	printf("\nservices:\n");
	return gw_dp_foreach_service(m, print_service, &lc);
}

struct ct_ctx {
	struct gw_dp_maps *m;
	unsigned long long limit, shown, total;
	__u64 now;
};

static int print_ct(const struct gw_flow *f, const struct gw_ct *ct, void *arg)
{
	struct ct_ctx *c = arg;
	char cl[GW_ADDR_STRLEN], vip[GW_ADDR_STRLEN], be[GW_ADDR_STRLEN], nat[GW_ADDR_STRLEN + 8];
	struct gw_backend b;
	__u32 id = ct->backend_id;
	unsigned long long age;

	c->total++;
	if (c->limit && c->shown >= c->limit)
		return 0;
	c->shown++;
	if (bpf_map_lookup_elem(c->m->lb.backends, &id, &b))
		memset(&b, 0, sizeof(b));
	if (b.family)
		gw_abi_ep_str(b.addr, b.family, b.port, be, sizeof(be));
	else
		snprintf(be, sizeof(be), "#%u", id);
	nat[0] = '\0';
	if (ct->nat_port) {
		char a[GW_ADDR_STRLEN];

		snprintf(nat, sizeof(nat), " via %s",
			 gw_abi_ep_str(ct->nat_addr, f->family, ct->nat_port, a, sizeof(a)));
	}
	age = ct->last_seen_ns && c->now > ct->last_seen_ns ?
		      (c->now - ct->last_seen_ns) / 1000000000ull : 0;
	printf("%-5s %-40s -> %-40s => %s%s svc %u idle %llus\n", gw_proto_str(f->proto),
	       gw_abi_ep_str(f->saddr, f->family, f->sport, cl, sizeof(cl)),
	       gw_abi_ep_str(f->daddr, f->family, f->dport, vip, sizeof(vip)), be, nat, ct->svc_id,
	       age);
	return 0;
}

static int cmd_ct_list(struct gw_dp_maps *m, int argc, char **argv, struct opts *o)
{
	struct ct_ctx c = { .m = m, .limit = 100, .now = gw_now_ns() };
	int err;

	if (o->limit && parse_u64(o->limit, 1ull << 32, &c.limit))
		return usage_err("--limit must be a number (0: no limit)");
	err = gw_dp_foreach_ct(m, print_ct, &c);
	if (!err)
		printf("%llu flow(s)%s\n", c.total, c.shown < c.total ? " (--limit reached)" : "");
	return err;
}

/* ------------------------------------------------------------------ */
/* The table                                                            */

/* A command: one or two words ("filter add"), its usage line and help, the
 * handler, the bounds of its positional arguments (-1: no limit), the
 * options it takes (parse_opts(); NULL: the handler gets its arguments as
 * they are) and whether it works on the pinned maps (NEEDS_MAPS: opened
 * for the handler, else it gets NULL). */
struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(struct gw_dp_maps *m, int argc, char **argv, struct opts *o);
	int min_args, max_args;
	const char *opts;
	int maps;
};

#define NEEDS_MAPS 1

static const struct cmd cmds[] = {
	{ "attach", "IFACE [--xdp-mode native|generic|auto | --tc] [--size MAP=N]... "
		    "[--xdp-prio N] [--fresh]",
	  "load gw (adopting pinned state) and attach it to IFACE",
	  cmd_attach, 1, -1, "xdp-mode tc size xdp-prio fresh", 0 },
	{ "detach", "IFACE", "detach gw from IFACE", cmd_detach, 1, 1, NULL, 0 },
	{ "status", "", "attached interfaces, their hooks and addresses",
	  cmd_status, 0, 0, NULL, NEEDS_MAPS },
	{ "sync-addrs", "[IFACE]...",
	  "refresh gw_ifaddr from netlink (attached interfaces, plus IFACEs)",
	  cmd_sync_addrs, 0, -1, NULL, NEEDS_MAPS },
	{ "unload", "", "detach from every interface and remove all pins",
	  cmd_unload, 0, 0, NULL, 0 },
	{ "filter add", "allow|deny CIDR", "add a static allow/deny prefix",
	  cmd_filter_add, 2, 2, "", NEEDS_MAPS },
	{ "filter del", "allow|deny CIDR", "remove a static prefix",
	  cmd_filter_del, 2, 2, "", NEEDS_MAPS },
	{ "filter ban", "CIDR --ttl SECONDS", "deny a prefix for a while",
	  cmd_filter_ban, 1, -1, "ttl", NEEDS_MAPS },
	{ "filter unban", "CIDR", "lift a ban", cmd_filter_unban, 1, 1, "", NEEDS_MAPS },
	{ "filter default", "allow|deny", "what unlisted sources get",
	  cmd_filter_default, 1, 1, "", NEEDS_MAPS },
	{ "filter list", "", "prefixes, bans and the default",
	  cmd_filter_list, 0, 0, "", NEEDS_MAPS },
	{ "ratelimit set", "packets|syn --rate N/s --burst B [--v6-prefix N]",
	  "per-source token bucket (rate 0/s: off)",
	  cmd_rl_set, 1, -1, "rate burst v6-prefix", NEEDS_MAPS },
	{ "ratelimit show", "", "the per-source limits", cmd_rl_show, 0, 0, "", NEEDS_MAPS },
	{ "service set", "VIP:PORT tcp|udp nat|ipip BACKEND[:WEIGHT]...",
	  "create a service or bring it to this backend set",
	  cmd_service_set, 3, -1, "", NEEDS_MAPS },
	{ "service del", "VIP:PORT tcp|udp", "remove a service",
	  cmd_service_del, 2, 2, "", NEEDS_MAPS },
	{ "service list", "", "services with their backends and counters",
	  cmd_service_list, 0, 0, "", NEEDS_MAPS },
	{ "backend add", "VIP:PORT tcp|udp ADDR:PORT [--weight W]",
	  "add a backend or change its weight",
	  cmd_backend_add, 3, -1, "weight", NEEDS_MAPS },
	{ "backend del", "VIP:PORT tcp|udp ADDR:PORT", "remove a backend",
	  cmd_backend_del, 3, 3, "", NEEDS_MAPS },
	{ "backend drain", "VIP:PORT tcp|udp ADDR:PORT",
	  "keep a backend's flows, send it no new ones",
	  cmd_backend_drain, 3, 3, "", NEEDS_MAPS },
	{ "stats", "[--all]", "counters by reason (summed over CPUs), per service and backend",
	  cmd_stats, 0, -1, "all", NEEDS_MAPS },
	{ "conntrack list", "[--limit N]", "tracked flows (default limit 100; 0: all)",
	  cmd_ct_list, 0, -1, "limit", NEEDS_MAPS },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: gw-dpctl [--pin-root PATH] [-v] COMMAND [ARGS]\n"
		   "Works on the datapath's pinned maps (default pin root %s); needs no daemon.\n\n"
		   "commands:\n",
		GW_PIN_ROOT_DEFAULT);
	for (i = 0; i < N_CMDS; i++)
		fprintf(f, "  %s%s%s\n      %s\n", cmds[i].name, *cmds[i].args ? " " : "",
			cmds[i].args, cmds[i].help);
}

/* Runs command c on its arguments: its options parsed out of them and the
 * pinned maps opened when it needs them. Returns the handler's result, or
 * a negative errno (E_USAGE: a usage error). */
static int run(const struct cmd *c, int argc, char **argv)
{
	struct gw_dp_maps maps, *m = NULL;
	struct opts o = { 0 };
	int err;

	if (c->opts && (err = parse_opts(&argc, argv, &o, c->opts)))
		return err;
	if (c->maps) {
		err = gw_dp_maps_open(pin_root, &maps);
		if (err)
			return err;
		m = &maps;
	}
	err = c->fn(m, argc, argv, &o);
	if (m)
		gw_dp_maps_close(m);
	return err;
}

/* Counts the positional arguments (not options and their values). */
static int positional(int argc, char **argv)
{
	static const char *const flags[] = { "--tc", "--all", "--fresh", NULL };
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--", 2) && argv[i][2]) {
			const char *const *f;
			int is_flag = 0;

			for (f = flags; *f; f++)
				if (!strcmp(argv[i], *f))
					is_flag = 1;
			if (!is_flag)
				i++;
			continue;
		}
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	const struct cmd *c = NULL;
	size_t i, w;
	int a = 1, err, npos;

	gw_log_hook_libbpf();
	gw_log_set_format(GW_LOG_FMT_PLAIN);
	while (a < argc && argv[a][0] == '-') {
		if (!strcmp(argv[a], "--pin-root") && a + 1 < argc) {
			pin_root = argv[a + 1];
			a += 2;
		} else if (!strncmp(argv[a], "--pin-root=", 11)) {
			pin_root = argv[a] + 11;
			a++;
		} else if (!strcmp(argv[a], "-v") || !strcmp(argv[a], "--verbose")) {
			gw_log_set_level(GW_LOG_DEBUG);
			a++;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "gw-dpctl: unknown option %s\n", argv[a]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (a >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[a], "help")) {
		usage(stdout);
		return 0;
	}
	/* Longest match: two words first. */
	for (i = 0; i < N_CMDS && !c; i++) {
		w = strcspn(cmds[i].name, " ");
		if (cmds[i].name[w] == ' ') {
			if (a + 1 < argc && strlen(argv[a]) == w && !strncmp(argv[a], cmds[i].name, w) &&
			    !strcmp(argv[a + 1], cmds[i].name + w + 1))
				c = &cmds[i];
		} else if (!strcmp(argv[a], cmds[i].name)) {
			c = &cmds[i];
		}
	}
	if (!c) {
		fprintf(stderr, "gw-dpctl: unknown command '%s%s%s'\n", argv[a],
			a + 1 < argc ? " " : "", a + 1 < argc ? argv[a + 1] : "");
		usage(stderr);
		return EXIT_USAGE;
	}
	a += strchr(c->name, ' ') ? 2 : 1;
	npos = positional(argc - a, argv + a);
	if (npos < c->min_args || (c->max_args >= 0 && npos > c->max_args)) {
		fprintf(stderr, "usage: gw-dpctl %s %s\n", c->name, c->args);
		return EXIT_USAGE;
	}
	err = run(c, argc - a, argv + a);
	if (err == E_USAGE) {
		fprintf(stderr, "usage: gw-dpctl %s %s\n", c->name, c->args);
		return EXIT_USAGE;
	}
	if (err) {
		if (err != -ENOENT && err != -ENODEV && err != -EEXIST)
			fprintf(stderr, "gw-dpctl: %s: %s\n", c->name, strerror(-err));
		return 1;
	}
	return 0;
}
