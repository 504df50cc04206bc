// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The admin protocol: the commands (gw_admin_exec, shared by gwd and gwctl's
 * pins fallback) and gwd's socket server. Every command is immediate and
 * ephemeral: the file replaces it on the next reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <bpf/bpf.h>

#include "gw/names.h"
#include "daemon/admin.h"
#include "runtime/l7.h"
#include "dp/filter.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "dp/service.h"
#include "dp/show.h"

/* ---- helpers ------------------------------------------------------------ */

struct cmd_ctx {
	const struct gw_admin_ctx *a;
	json_t *args;
	char err[512];
};

static int fail(struct cmd_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the error message of a command; returns err. */
static int fail(struct cmd_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

/* The string argument `key`, or NULL when absent or not a string. */
static const char *arg_str(struct cmd_ctx *c, const char *key)
{
	json_t *v = c->args ? json_object_get(c->args, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A non-negative integer argument (a JSON integer or a decimal string);
 * returns 0 (absent: *v untouched, *present 0) or -EINVAL. */
static int arg_uint(struct cmd_ctx *c, const char *key, unsigned long long max,
		    unsigned long long *v, int *present)
{
	json_t *j = c->args ? json_object_get(c->args, key) : NULL;
	char *end;

	*present = 0;
	if (!j || json_is_null(j))
		return 0;
	*present = 1;
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0 || (unsigned long long)json_integer_value(j) > max)
			return -EINVAL;
		*v = (unsigned long long)json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j) || !*json_string_value(j))
		return -EINVAL;
	errno = 0;
	*v = strtoull(json_string_value(j), &end, 10);
	if (errno || *end || *v > max || json_string_value(j)[0] == '-')
		return -EINVAL;
	return 0;
}

/* The configured service whose VIP, port and protocol these are, or NULL. */
static const struct gw_cfg_service *cfg_service_by_key(const struct gw_admin_ctx *a,
							const struct gw_svc_key *k)
{
	struct gw_ip ip = { .family = k->family };
	size_t i;

	if (!a->cfg)
		return NULL;
	memcpy(ip.addr, k->addr, sizeof(ip.addr));
	for (i = 0; i < a->cfg->n_services; i++) {
		const struct gw_cfg_service *s = &a->cfg->services[i];

		if (gw_ip_equal(&s->vip, &ip) && s->port == ntohs(k->port) &&
		    s->protocol == k->proto)
			return s;
	}
	return NULL;
}

static int json_add(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) ? -ENOMEM : 0;
}

/* ---- status --------------------------------------------------------------- */

/* The pinned programs, as {name, id, tag, pin, jited, btf}. */
static json_t *programs_json(const char *pin_root)
{
	json_t *arr = json_array();
	int xdp;

	for (xdp = 1; xdp >= 0; xdp--) {
		struct gw_dp_prog_info pi;

		if (gw_dp_prog_info(pin_root, xdp, &pi))
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:b}",
			"name", pi.name, "type", xdp ? "xdp" : "tc", "id", (json_int_t)pi.id,
			"tag", pi.tag, "pin", pi.pin, "jited", pi.jited, "btf", pi.btf_id != 0));
	}
	return arr;
}

/* 1 when the map behind fd carries BTF (bpftool prints its keys and
 * values readably). */
static int map_has_btf(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return !bpf_obj_get_info_by_fd(fd, &info, &len) && info.btf_id;
}

static int cmd_status(struct cmd_ctx *c, json_t **out)
{
	const struct gw_admin_ctx *a = c->a;
	__u32 ids[GW_IFADDR_MAX];
	struct gw_config cfg;
	json_t *d, *ifs, *feat;
	int n, i, err, tcx = 0, clsact = 0, native = 0, generic = 0, multi = 0, alone = 0;

	err = gw_dp_config_get(a->maps, &cfg);
	if (err)
		return fail(c, err, "cannot read gw_config: %s", strerror(-err));
	d = json_object();
	ifs = json_array();
	feat = json_array();
	json_add(d, "agent", json_boolean(a->cfg != NULL));
	json_add(d, "pin_root", json_string(a->pin_root));
	if (a->config_path)
		json_add(d, "config_file", json_string(a->config_path));
	json_add(d, "generation", a->cfg ? json_integer(a->generation) : json_null());
	json_add(d, "datapath_generation", json_integer(cfg.generation));
	json_add(d, "filter_default",
		 json_string(cfg.flags & GW_CFG_F_DEFAULT_DENY ? "deny" : "allow"));
	json_add(d, "programs", programs_json(a->pin_root));
	n = gw_dp_attached_ifaces(a->maps->ifaddr, ids, GW_IFADDR_MAX);
	for (i = 0; i < n; i++) {
		struct gw_ifaddr ia = { 0 };
		char name[IF_NAMESIZE], a4[64] = "", a6[64] = "";
		int kind = gw_dp_attached(a->pin_root, (int)ids[i]), disp = -ENOENT;
		json_t *f = json_object();

		bpf_map_lookup_elem(a->maps->ifaddr, &ids[i], &ia);
		if (!if_indextoname(ids[i], name))
			strcpy(name, "(gone)");
		if (ia.flags & GW_IFADDR_F_V4)
			inet_ntop(AF_INET, &ia.v4, a4, sizeof(a4));
		if (ia.flags & GW_IFADDR_F_V6)
			inet_ntop(AF_INET6, ia.v6, a6, sizeof(a6));
		if (kind == GW_ATTACH_XDP_NATIVE || kind == GW_ATTACH_XDP_GENERIC)
			disp = gw_dp_xdp_dispatcher((int)ids[i]);
		native |= kind == GW_ATTACH_XDP_NATIVE;
		generic |= kind == GW_ATTACH_XDP_GENERIC;
		tcx |= kind == GW_ATTACH_TCX;
		clsact |= kind == GW_ATTACH_CLSACT;
		multi |= disp == 1;
		alone |= disp == 0;
		json_add(f, "name", json_string(name));
		json_add(f, "ifindex", json_integer(ids[i]));
		json_add(f, "hook", json_string(kind < 0 ? "?" :
				gw_attach_kind_str((enum gw_attach_kind)kind)));
		json_add(f, "xdp_dispatcher", disp < 0 ? json_null() : json_boolean(disp));
		json_add(f, "ipv4", a4[0] ? json_string(a4) : json_null());
		json_add(f, "ipv6", a6[0] ? json_string(a6) : json_null());
		json_array_append_new(ifs, f);
	}
	json_add(d, "interfaces", ifs);
	if (native)
		json_array_append_new(feat, json_string("xdp native"));
	if (generic)
		json_array_append_new(feat, json_string("xdp generic"));
	if (multi)
		json_array_append_new(feat, json_string("libxdp multiprog dispatcher"));
	if (alone)
		json_array_append_new(feat, json_string("xdp attached alone (no freplace: "
							"no libxdp dispatcher)"));
	if (tcx)
		json_array_append_new(feat, json_string("tcx"));
	if (clsact)
		json_array_append_new(feat, json_string("tc clsact"));
	if (!access("/sys/kernel/btf/vmlinux", R_OK))
		json_array_append_new(feat, json_string("kernel btf"));
	if (map_has_btf(a->maps->config))
		json_array_append_new(feat, json_string("map btf"));
	json_array_append_new(feat, json_string("lpm_trie"));
	json_array_append_new(feat, json_string("lru_hash"));
	json_array_append_new(feat, json_string("array_of_maps"));
	json_array_append_new(feat, json_string("percpu_array"));
	json_add(d, "features", feat);
	*out = d;
	return 0;
}

/* ---- stats ----------------------------------------------------------------- */

struct svc_walk {
	struct cmd_ctx *c;
	json_t *arr;
	int with_backends;
	const struct gw_svc_key *key;	/* the service of a backend walk */
	unsigned int n_serving, n_down;	/* not draining; of those, down */
};

/* Adds a backend's health to o: "health" up, down or unchecked, and
 * "health_reason" (why the last check failed, or null). */
static void backend_health_json(struct svc_walk *w, const struct gw_backend *b, json_t *o)
{
	const struct gw_admin_ctx *a = w->c->a;
	struct gw_endpoint ep = { .ip.family = b->family, .port = ntohs(b->port) };
	struct gw_health_info in = { 0 };
	int st = -1, down;

	memcpy(ep.ip.addr, b->addr, sizeof(ep.ip.addr));
	if (a->backend_health)
		st = a->backend_health(a->arg, w->key, &ep, &in);
	down = st < 0 ? !!(b->flags & GW_BE_F_DOWN) : st == GW_HS_DOWN;
	if (!(b->flags & GW_BE_F_DRAIN)) {
		w->n_serving++;
		w->n_down += down;
	}
	json_add(o, "health", json_string(down ? "down" : st < 0 ? "unchecked" : "up"));
	json_add(o, "health_reason", in.reason[0] ? json_string(in.reason) :
		 st == GW_HS_UNKNOWN ? json_string("not checked yet") : json_null());
}

static int backend_json(__u32 id, const struct gw_backend *b, void *arg)
{
	struct svc_walk *w = arg;
	struct gw_counter cnt = { 0 };
	char ep[GW_ADDR_STRLEN];
	json_t *o = json_object();

	gw_dp_counter_sum(w->c->a->maps->backend_stats, id, &cnt);
	json_add(o, "address",
		 json_string(gw_abi_ep_str(b->addr, b->family, b->port, ep, sizeof(ep))));
	json_add(o, "id", json_integer(id));
	json_add(o, "weight", json_integer(b->weight));
	json_add(o, "state", json_string(b->flags & GW_BE_F_DRAIN ? "drain" : "active"));
	backend_health_json(w, b, o);
	json_add(o, "packets", json_integer((json_int_t)cnt.packets));
	json_add(o, "bytes", json_integer((json_int_t)cnt.bytes));
	json_array_append_new(w->arr, o);
	return 0;
}

static int service_json(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	struct svc_walk *w = arg;
	const struct gw_cfg_service *cs = cfg_service_by_key(w->c->a, k);
	struct gw_counter cnt = { 0 };
	char vip[GW_ADDR_STRLEN];
	json_t *o = json_object();

	gw_dp_counter_sum(w->c->a->maps->svc_stats, s->id, &cnt);
	json_add(o, "name", cs ? json_string(cs->name) : json_null());
	json_add(o, "vip",
		 json_string(gw_abi_ep_str(k->addr, k->family, k->port, vip, sizeof(vip))));
	json_add(o, "protocol", json_string(gw_proto_str(k->proto)));
	json_add(o, "forwarding", json_string(s->fwd == GW_FWD_NAT ? "nat" :
					      s->fwd == GW_FWD_IPIP ? "ipip" : "?"));
	json_add(o, "id", json_integer(s->id));
	json_add(o, "ring_size", json_integer(s->ring_size));
	json_add(o, "packets", json_integer((json_int_t)cnt.packets));
	json_add(o, "bytes", json_integer((json_int_t)cnt.bytes));
	if (w->with_backends) {
		struct svc_walk bw = { .c = w->c, .arr = json_array(), .key = k };

		gw_dp_foreach_backend(w->c->a->maps, s->id, backend_json, &bw);
		json_add(o, "backends", bw.arr);
		/* every serving backend down: the table holds them all */
		json_add(o, "fail_open", json_boolean(bw.n_serving && bw.n_down == bw.n_serving));
	}
	json_array_append_new(w->arr, o);
	return 0;
}

static int cmd_stats(struct cmd_ctx *c, json_t **out)
{
	unsigned long long tot[4] = { 0 };
	struct svc_walk w = { .c = c };
	struct gw_counter cnt;
	json_t *d, *reasons, *t;
	__u32 r;
	int err;

	reasons = json_array();
	for (r = 0; r < GW_R_MAX; r++) {
		json_t *o;

		err = gw_dp_counter_sum(c->a->maps->stats, r, &cnt);
		if (err) {
			json_decref(reasons);
			return fail(c, err, "cannot read gw_stats: %s", strerror(-err));
		}
		tot[gw_reason_actions[r] & 3] += cnt.packets;
		o = json_object();
		json_add(o, "reason", json_string(gw_reason_labels[r]));
		json_add(o, "action", json_string(gw_action_labels[gw_reason_actions[r]]));
		json_add(o, "packets", json_integer((json_int_t)cnt.packets));
		json_add(o, "bytes", json_integer((json_int_t)cnt.bytes));
		json_array_append_new(reasons, o);
	}
	d = json_object();
	json_add(d, "reasons", reasons);
	t = json_object();
	json_add(t, "pass", json_integer((json_int_t)tot[GW_ACT_PASS]));
	json_add(t, "forward", json_integer((json_int_t)tot[GW_ACT_FORWARD]));
	json_add(t, "drop", json_integer((json_int_t)tot[GW_ACT_DROP]));
	json_add(d, "totals", t);
	w.arr = json_array();
	gw_dp_foreach_service(c->a->maps, service_json, &w);
	json_add(d, "services", w.arr);
	json_add(d, "routes", json_array());
	*out = d;
	return 0;
}

static int cmd_service_list(struct cmd_ctx *c, json_t **out)
{
	struct svc_walk w = { .c = c, .arr = json_array(), .with_backends = 1 };
	int err;

	err = gw_dp_foreach_service(c->a->maps, service_json, &w);
	if (err < 0) {
		json_decref(w.arr);
		return fail(c, err, "cannot read gw_services: %s", strerror(-err));
	}
	*out = w.arr;
	return 0;
}

/* ---- filter ---------------------------------------------------------------- */

struct filter_walk {
	json_t *arr;
	__u64 now;
};

static int filter_json(const struct gw_filter_entry *e, void *arg)
{
	struct filter_walk *w = arg;
	char cidr[GW_ADDR_STRLEN];
	json_t *o = json_object();

	gw_cidr_str(&e->cidr, cidr, sizeof(cidr));
	json_add(o, "prefix", json_string(cidr));
	json_add(o, "action", json_string(e->rule.action == GW_RULE_ALLOW ? "allow" : "deny"));
	json_add(o, "kind", json_string(e->is_ban ? "ban" : "list"));
	json_add(o, "origin", json_string(gw_origin_str(e->rule.origin)));
	if (e->rule.expires_ns)
		json_add(o, "expires_in_s", json_integer(e->rule.expires_ns > w->now ?
			(json_int_t)((e->rule.expires_ns - w->now + 999999999ull) / 1000000000ull) :
			0));
	else
		json_add(o, "expires_in_s", json_null());
	json_array_append_new(w->arr, o);
	return 0;
}

static int cmd_filter_list(struct cmd_ctx *c, json_t **out)
{
	struct filter_walk w = { .arr = json_array(), .now = gw_now_ns() };
	struct gw_config cfg;
	json_t *d;
	int err;

	err = gw_dp_config_get(c->a->maps, &cfg);
	if (!err)
		err = gw_filter_foreach(&c->a->maps->filter, filter_json, &w);
	if (err < 0) {
		json_decref(w.arr);
		return fail(c, err, "cannot read the filter: %s", strerror(-err));
	}
	d = json_object();
	json_add(d, "default", json_string(cfg.flags & GW_CFG_F_DEFAULT_DENY ? "deny" : "allow"));
	json_add(d, "entries", w.arr);
	*out = d;
	return 0;
}

/* Parses args.cidr into *cidr. Returns 0 or -EINVAL (message set). */
static int arg_cidr(struct cmd_ctx *c, struct gw_cidr *cidr)
{
	const char *s = arg_str(c, "cidr");
	char msg[160];

	if (!s)
		return fail(c, -EINVAL, "missing argument 'cidr'");
	if (gw_cidr_parse_msg(s, cidr, msg, sizeof(msg)))
		return fail(c, -EINVAL, "%s", msg);
	return 0;
}

static int filter_change(struct cmd_ctx *c, json_t **out, int action, int add)
{
	const struct gw_filter_maps *fm = &c->a->maps->filter;
	const char *ttl = arg_str(c, "ttl");
	char buf[GW_ADDR_STRLEN];
	struct gw_cidr cidr;
	__u64 ttl_ns = 0;
	json_t *d;
	int err;

	err = arg_cidr(c, &cidr);
	if (err)
		return err;
	if (ttl && (action != GW_RULE_DENY || !add))
		return fail(c, -EINVAL, "'ttl' applies to filter.deny.add only");
	if (ttl && (gw_duration_parse(ttl, &ttl_ns) || !ttl_ns))
		return fail(c, -EINVAL, "bad ttl '%s' (e.g. 30s, 10m, 1h)", ttl);
	if (add && ttl_ns)
		err = gw_ban_add(fm, &cidr, ttl_ns, GW_ORIGIN_CLI);
	else if (add)
		err = gw_filter_add(fm, &cidr, action, GW_ORIGIN_CLI);
	else {
		err = gw_filter_del(fm, &cidr, action);
		if (err == -ENOENT && action == GW_RULE_DENY)
			err = gw_ban_del(fm, &cidr);
	}
	if (err == -EEXIST)
		return fail(c, err, "%s is allowed on the same prefix; the allow wins "
			    "(remove it first)", arg_str(c, "cidr"));
	if (err == -ENOENT)
		return fail(c, err, "no %s entry for %s", action == GW_RULE_DENY ? "deny" :
			    "allow", arg_str(c, "cidr"));
	if (err)
		return fail(c, err, "filter update failed: %s", strerror(-err));
	d = json_object();
	json_add(d, "prefix", json_string(gw_cidr_str(&cidr, buf, sizeof(buf))));
	json_add(d, "action", json_string(action == GW_RULE_DENY ? "deny" : "allow"));
	json_add(d, "change", json_string(add ? "added" : "removed"));
	if (ttl_ns)
		json_add(d, "ttl_s", json_integer((json_int_t)(ttl_ns / 1000000000ull)));
	*out = d;
	return 0;
}

static int cmd_deny_add(struct cmd_ctx *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_DENY, 1);
}

static int cmd_deny_del(struct cmd_ctx *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_DENY, 0);
}

static int cmd_allow_add(struct cmd_ctx *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_ALLOW, 1);
}

static int cmd_allow_del(struct cmd_ctx *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_ALLOW, 0);
}

/* ---- rate limits ------------------------------------------------------------- */

static json_t *gcra_json(const struct gw_gcra *g)
{
	double per_sec;
	__u64 burst;
	json_t *o;

	if (!g->interval_ns)
		return json_null();
	gw_gcra_to_rate(g, &per_sec, &burst);
	o = json_object();
	json_add(o, "rate_per_s", json_real(per_sec));
	json_add(o, "burst", json_integer((json_int_t)burst));
	json_add(o, "interval_ns", json_integer((json_int_t)g->interval_ns));
	json_add(o, "tolerance_ns", json_integer((json_int_t)g->tolerance_ns));
	return o;
}

static int cmd_rl_show(struct cmd_ctx *c, json_t **out)
{
	struct gw_config cfg;
	json_t *d;
	int err;

	err = gw_dp_config_get(c->a->maps, &cfg);
	if (err)
		return fail(c, err, "cannot read gw_config: %s", strerror(-err));
	d = json_object();
	json_add(d, "packets", gcra_json(&cfg.rl_pkt));
	json_add(d, "syn", gcra_json(&cfg.rl_syn));
	json_add(d, "v6_prefix", json_integer(cfg.rl_v6_prefix));
	*out = d;
	return 0;
}

static int cmd_rl_set(struct cmd_ctx *c, json_t **out)
{
	const char *which = arg_str(c, "limit"), *rs = arg_str(c, "rate");
	unsigned long long burst = 0;
	struct gw_config cfg;
	struct gw_rate rate;
	struct gw_gcra g;
	char buf[64];
	int err, have_burst;

	if (!which || (strcmp(which, "packets") && strcmp(which, "syn")))
		return fail(c, -EINVAL, "'limit' must be \"packets\" or \"syn\"");
	if (!rs)
		return fail(c, -EINVAL, "missing argument 'rate' (e.g. 1000/s; 0 turns it off)");
	/* a bare number is per second */
	if (!strchr(rs, '/') && strlen(rs) < sizeof(buf) - 3) {
		snprintf(buf, sizeof(buf), "%s/s", rs);
		rs = buf;
	}
	if (gw_rate_parse(rs, &rate))
		return fail(c, -EINVAL, "bad rate '%s' (N/s, N/m or N/h)", arg_str(c, "rate"));
	if (arg_uint(c, "burst", 1ull << 32, &burst, &have_burst) || (have_burst && !burst))
		return fail(c, -EINVAL, "'burst' must be an integer >= 1");
	if (!have_burst)
		burst = rate.count ? rate.count : 1;
	if (gw_gcra_from_rate(&rate, burst, &g))
		return fail(c, -ERANGE, "rate %s with burst %llu is out of range", rs, burst);
	err = gw_dp_config_get(c->a->maps, &cfg);
	if (err)
		return fail(c, err, "cannot read gw_config: %s", strerror(-err));
	if (!strcmp(which, "packets"))
		cfg.rl_pkt = g;
	else
		cfg.rl_syn = g;
	err = gw_dp_config_set(c->a->maps, &cfg);
	if (err)
		return fail(c, err, "cannot write gw_config: %s", strerror(-err));
	*out = json_object();
	json_add(*out, "limit", json_string(which));
	json_add(*out, "setting", gcra_json(&g));
	return 0;
}

/* ---- backends ----------------------------------------------------------------- */

static int backend_change(struct cmd_ctx *c, json_t **out, const char *verb)
{
	const char *name = arg_str(c, "service"), *addr = arg_str(c, "backend");
	const struct gw_cfg_service *s = NULL;
	struct gw_backend_spec b = { .weight = 1 };
	struct gw_endpoint vip;
	struct gw_backend cur;
	struct gw_svc sv;
	unsigned long long w = 0;
	__u8 proto;
	char msg[160];
	int err, have_w, found;
	size_t i;

	if (!c->a->cfg)
		return fail(c, -EOPNOTSUPP, "backend changes need gwd (service names come from "
			    "its config)");
	if (!name || !addr)
		return fail(c, -EINVAL, "missing argument 'service' or 'backend'");
	for (i = 0; i < c->a->cfg->n_services; i++)
		if (!strcmp(c->a->cfg->services[i].name, name))
			s = &c->a->cfg->services[i];
	if (!s)
		return fail(c, -ENOENT, "no service '%s' in the running config", name);
	if (gw_endpoint_parse_msg(addr, &b.ep, msg, sizeof(msg)))
		return fail(c, -EINVAL, "%s", msg);
	if (arg_uint(c, "weight", 65535, &w, &have_w) || (have_w && !w))
		return fail(c, -EINVAL, "'weight' must be 1-65535");
	if (have_w && !strcmp(verb, "del"))
		return fail(c, -EINVAL, "'weight' applies to backend.add and backend.drain");
	vip.ip = s->vip;
	vip.port = (__u16)s->port;
	proto = (__u8)s->protocol;
	if (gw_svc_lookup(c->a->maps, &vip, proto, &sv))
		return fail(c, -ENOENT, "service '%s' is not in the datapath", name);
	found = !gw_backend_find(c->a->maps, sv.id, &b.ep, &cur);
	if (!found && strcmp(verb, "add"))
		return fail(c, -ENOENT, "%s is no backend of service '%s'", addr, name);
	if (!strcmp(verb, "del")) {
		err = gw_backend_del(&c->a->maps->lb, &vip, proto, &b.ep);
	} else {
		b.weight = have_w ? (__u32)w : found ? cur.weight : 1;
		b.drain = !strcmp(verb, "drain");
		err = gw_backend_set(&c->a->maps->lb, &vip, proto, &b);
	}
	if (err)
		return fail(c, err, "backend %s failed: %s", verb, strerror(-err));
	if (c->a->backends_changed)
		c->a->backends_changed(c->a->arg);
	*out = json_object();
	json_add(*out, "service", json_string(name));
	json_add(*out, "backend", json_string(gw_endpoint_str(&b.ep, msg, sizeof(msg))));
	json_add(*out, "change", json_string(!strcmp(verb, "add") ? "added" :
					     !strcmp(verb, "del") ? "removed" : "draining"));
	if (strcmp(verb, "del"))
		json_add(*out, "weight", json_integer(b.weight));
	return 0;
}

static int cmd_backend_add(struct cmd_ctx *c, json_t **out)
{
	return backend_change(c, out, "add");
}

static int cmd_backend_del(struct cmd_ctx *c, json_t **out)
{
	return backend_change(c, out, "del");
}

static int cmd_backend_drain(struct cmd_ctx *c, json_t **out)
{
	return backend_change(c, out, "drain");
}

/* ---- conntrack ------------------------------------------------------------------ */

struct ct_walk {
	struct cmd_ctx *c;
	json_t *arr;
	long long svc_id;	/* -1: every service */
	unsigned long long limit, shown, total;
	__u64 now;
};

static int ct_json(const struct gw_flow *f, const struct gw_ct *ct, void *arg)
{
	struct ct_walk *w = arg;
	char cl[GW_ADDR_STRLEN], vip[GW_ADDR_STRLEN], be[GW_ADDR_STRLEN];
	struct gw_backend b;
	__u32 id = ct->backend_id;
	json_t *o;

	if (w->svc_id >= 0 && ct->svc_id != (__u32)w->svc_id)
		return 0;
	w->total++;
	if (w->limit && w->shown >= w->limit)
		return 0;
	w->shown++;
	if (bpf_map_lookup_elem(w->c->a->maps->lb.backends, &id, &b))
		memset(&b, 0, sizeof(b));
	o = json_object();
	json_add(o, "protocol", json_string(gw_proto_str(f->proto)));
	gw_abi_ep_str(f->saddr, f->family, f->sport, cl, sizeof(cl));
	gw_abi_ep_str(f->daddr, f->family, f->dport, vip, sizeof(vip));
	json_add(o, "client", json_string(cl));
	json_add(o, "vip", json_string(vip));
	json_add(o, "backend", b.family ?
		 json_string(gw_abi_ep_str(b.addr, b.family, b.port, be, sizeof(be))) :
		 json_null());
	json_add(o, "backend_id", json_integer(id));
	json_add(o, "service_id", json_integer(ct->svc_id));
	if (ct->nat_port)
		json_add(o, "nat_source", json_string(gw_abi_ep_str(ct->nat_addr, f->family,
							      ct->nat_port, be, sizeof(be))));
	json_add(o, "idle_s", json_integer(ct->last_seen_ns && w->now > ct->last_seen_ns ?
		(json_int_t)((w->now - ct->last_seen_ns) / 1000000000ull) : 0));
	json_array_append_new(w->arr, o);
	return 0;
}

/* The datapath id of the configured service `name`; -ENOENT if none. */
static int svc_id_by_name(struct cmd_ctx *c, const char *name, __u32 *id)
{
	const struct gw_cfg_service *s = NULL;
	struct gw_endpoint vip;
	struct gw_svc sv;
	size_t i;

	for (i = 0; c->a->cfg && i < c->a->cfg->n_services; i++)
		if (!strcmp(c->a->cfg->services[i].name, name))
			s = &c->a->cfg->services[i];
	if (!s)
		return -ENOENT;
	vip.ip = s->vip;
	vip.port = (__u16)s->port;
	if (gw_svc_lookup(c->a->maps, &vip, (__u8)s->protocol, &sv))
		return -ENOENT;
	*id = sv.id;
	return 0;
}

static int cmd_ct_list(struct cmd_ctx *c, json_t **out)
{
	struct ct_walk w = { .c = c, .svc_id = -1, .limit = 100, .now = gw_now_ns() };
	const char *svc = arg_str(c, "service");
	int err, have;
	__u32 id;

	if (arg_uint(c, "limit", 1ull << 32, &w.limit, &have))
		return fail(c, -EINVAL, "'limit' must be a number (0: no limit)");
	if (svc) {
		if (!c->a->cfg)
			return fail(c, -EOPNOTSUPP, "--service needs gwd (names come from its "
				    "config)");
		if (svc_id_by_name(c, svc, &id))
			return fail(c, -ENOENT, "no service '%s' in the datapath", svc);
		w.svc_id = id;
	}
	w.arr = json_array();
	err = gw_dp_foreach_ct(c->a->maps, ct_json, &w);
	if (err < 0) {
		json_decref(w.arr);
		return fail(c, err, "cannot read gw_ct: %s", strerror(-err));
	}
	*out = json_object();
	json_add(*out, "total", json_integer((json_int_t)w.total));
	json_add(*out, "shown", json_integer((json_int_t)w.shown));
	json_add(*out, "flows", w.arr);
	return 0;
}

/* ---- reload and L7 ------------------------------------------------- */

static int cmd_reload(struct cmd_ctx *c, json_t **out)
{
	struct gw_cfg_errors errs;
	struct gw_cfg probe;
	size_t i, off = 0;
	int err;

	if (!c->a->reload || !c->a->config_path)
		return fail(c, -EOPNOTSUPP, "reload needs gwd");
	/* The agent validates again; this pass puts the problems in the answer. */
	err = gw_cfg_load(c->a->config_path, &probe, &errs);
	if (err) {
		off = (size_t)snprintf(c->err, sizeof(c->err), "%s is invalid; the running "
				       "config stays:", c->a->config_path);
		for (i = 0; i < errs.n && off < sizeof(c->err); i++)
			off += (size_t)snprintf(c->err + off, sizeof(c->err) - off, "\n%s",
						errs.msgs[i]);
		/* The daemon's log says why as well, not only the client. */
		pr_warn("admin: reload refused: %s is invalid; the running config stays\n",
			c->a->config_path);
		for (i = 0; i < errs.n; i++)
			pr_warn("%s\n", errs.msgs[i]);
		gw_cfg_errors_free(&errs);
		return err;
	}
	gw_cfg_errors_free(&errs);
	gw_cfg_free(&probe);
	c->err[0] = '\0';
	err = c->a->reload(c->a->arg, c->err, sizeof(c->err));
	if (err && !c->err[0])
		return fail(c, err, "reload failed (%s); the running config stays",
			    strerror(-err));
	if (err)
		return err;
	*out = json_object();
	json_add(*out, "config_file", json_string(c->a->config_path));
	json_add(*out, "generation", json_integer(c->a->generation + 1));
	return 0;
}

static int cmd_no_l7(struct cmd_ctx *c)
{
	return fail(c, -EOPNOTSUPP, GW_ADMIN_NO_L7);
}

static int cmd_upstream_list(struct cmd_ctx *c, json_t **out)
{
	if (!c->a->l7)
		return cmd_no_l7(c);
	return gw_l7_upstream_list(c->a->l7, out);
}

static int cmd_route_list(struct cmd_ctx *c, json_t **out)
{
	if (!c->a->l7)
		return cmd_no_l7(c);
	return gw_l7_route_list(c->a->l7, out);
}

/* upstream.server.add|del|drain {upstream, server, weight}: a live change
 * of an L7 upstream's servers, replaced by the file on reload. */
static int server_change(struct cmd_ctx *c, json_t **out, const char *op)
{
	const char *up = arg_str(c, "upstream"), *addr = arg_str(c, "server");
	unsigned long long w = 0;
	int err, have_w;

	if (!c->a->l7)
		return cmd_no_l7(c);
	if (!up || !addr)
		return fail(c, -EINVAL, "missing argument 'upstream' or 'server'");
	if (arg_uint(c, "weight", 65535, &w, &have_w) || (have_w && !w))
		return fail(c, -EINVAL, "'weight' must be 1-65535");
	if (have_w && strcmp(op, "add"))
		return fail(c, -EINVAL, "'weight' applies to upstream.server.add");
	err = gw_l7_server_change(c->a->l7, op, up, addr, (__u32)w, c->err, sizeof(c->err));
	if (err)
		return err;
	*out = json_pack("{s:s, s:s, s:s}", "upstream", up, "server", addr, "change",
			 !strcmp(op, "add") ? "added" : !strcmp(op, "del") ? "removed" :
			 "draining");
	return 0;
}

static int cmd_server_add(struct cmd_ctx *c, json_t **out)
{
	return server_change(c, out, "add");
}

static int cmd_server_del(struct cmd_ctx *c, json_t **out)
{
	return server_change(c, out, "del");
}

static int cmd_server_drain(struct cmd_ctx *c, json_t **out)
{
	return server_change(c, out, "drain");
}

/* ---- dispatch ----------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(struct cmd_ctx *c, json_t **out);
} cmds[] = {
	{ "status", cmd_status },
	{ "stats", cmd_stats },
	{ "filter.list", cmd_filter_list },
	{ "filter.deny.add", cmd_deny_add },
	{ "filter.deny.del", cmd_deny_del },
	{ "filter.allow.add", cmd_allow_add },
	{ "filter.allow.del", cmd_allow_del },
	{ "ratelimit.show", cmd_rl_show },
	{ "ratelimit.set", cmd_rl_set },
	{ "service.list", cmd_service_list },
	{ "backend.add", cmd_backend_add },
	{ "backend.del", cmd_backend_del },
	{ "backend.drain", cmd_backend_drain },
	{ "conntrack.list", cmd_ct_list },
	{ "reload", cmd_reload },
	{ "upstream.list", cmd_upstream_list },
	{ "upstream.server.add", cmd_server_add },
	{ "upstream.server.del", cmd_server_del },
	{ "upstream.server.drain", cmd_server_drain },
	{ "route.list", cmd_route_list },
};

static json_t *error_resp(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

json_t *gw_admin_exec(const struct gw_admin_ctx *ctx, const char *cmd, json_t *args)
{
	struct cmd_ctx c = { .a = ctx, .args = args };
	json_t *data = NULL;
	size_t i;
	int err;

	if (args && !json_is_object(args))
		return error_resp("'args' must be an object");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, cmd))
			continue;
		err = cmds[i].fn(&c, &data);
		if (err) {
			if (!c.err[0])
				snprintf(c.err, sizeof(c.err), "%s", strerror(-err));
			return error_resp(c.err);
		}
		return json_pack("{s:b, s:o}", "ok", 1, "data", data ? data : json_null());
	}
	snprintf(c.err, sizeof(c.err), "unknown command '%.64s'", cmd);
	return error_resp(c.err);
}

json_t *gw_admin_exec_line(const struct gw_admin_ctx *ctx, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *cmd, *resp;
	char msg[256];

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		snprintf(msg, sizeof(msg), "bad JSON at column %d: %s", jerr.column, jerr.text);
		return error_resp(msg);
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_object(req) || !json_is_string(cmd)) {
		json_decref(req);
		return error_resp("a request is {\"cmd\": NAME, \"args\": {...}}");
	}
	resp = gw_admin_exec(ctx, json_string_value(cmd), json_object_get(req, "args"));
	json_decref(req);
	return resp;
}

/* ---- the server ------------------------------------------------------------------------ */

struct admin_client {
	int fd;
	char *in;		/* GW_ADMIN_LINE_MAX bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	int closing;		/* answer no more: flush, shut down, drain to EOF */
	int shut;		/* shutdown(SHUT_WR) done */
	size_t drained;		/* bytes discarded while closing */
	__u64 closing_ns;	/* when it started closing (CLOCK_MONOTONIC) */
};

#define NGROUPS_MAX_SMALL 1024	/* supplementary groups read with SO_PEERGROUPS */
#define ADMIN_DRAIN_MAX (1024 * 1024)
#define ADMIN_CLOSE_NS (2ull * 1000000000ull)	/* a closing client's grace */

struct gw_admin {
	int lfd, ep;
	char *path;
	struct admin_client *cl[GW_ADMIN_MAX_CLIENTS];
};

int gw_admin_fd(const struct gw_admin *a)
{
	return a->ep;
}

int gw_admin_peer_allowed(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], line[4096];
	struct group *gr;
	int allowed = 0;
	FILE *f;

	if (uid == 0)
		return 1;
	gr = getgrnam(GW_ADMIN_GROUP);
	if (!gr)
		return 0;
	if (gid == gr->gr_gid)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!allowed && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (g == gr->gr_gid)
				allowed = 1;
		}
		break;
	}
	fclose(f);
	return allowed;
}

/* The peer of fd may issue commands: its credentials at connect time
 * (SO_PEERCRED, SO_PEERGROUPS), or /proc when the kernel lacks
 * SO_PEERGROUPS. Returns 1 or 0. */
static int peer_allowed(int fd, const struct ucred *cr)
{
	gid_t groups[NGROUPS_MAX_SMALL];
	socklen_t len = sizeof(groups);
	struct group *gr;
	size_t i;

	if (cr->uid == 0)
		return 1;
	gr = getgrnam(GW_ADMIN_GROUP);
	if (!gr)
		return 0;
	if (cr->gid == gr->gr_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno == ENOPROTOOPT)
			return gw_admin_peer_allowed(cr->pid, cr->uid, cr->gid);
		return 0;	/* ERANGE: more groups than we read; refuse */
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

/* Creates the parent directories of path (mode 0755 for /run/gw's parents,
 * 0750 for the last). Returns 0 or -errno. */
static int mkdir_parents(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

int gw_admin_open(const char *path, struct gw_admin **ap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	struct gw_admin *a;
	struct group *gr;
	struct stat st;
	int err, probe;

	if (!path)
		path = GW_ADMIN_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("admin: socket path %s is too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->lfd = a->ep = -1;
	a->path = strdup(path);
	err = a->path ? mkdir_parents(path) : -ENOMEM;
	if (err)
		goto fail;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("admin: %s exists and is no socket\n", path);
			err = -EEXIST;
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			pr_err("admin: another agent answers on %s\n", path);
			err = -EADDRINUSE;
			goto fail;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->lfd < 0 || bind(a->lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		pr_err("admin: cannot bind %s: %s\n", path, strerror(-err));
		goto fail;
	}
	gr = getgrnam(GW_ADMIN_GROUP);
	if ((gr && chown(path, (uid_t)-1, gr->gr_gid)) || chmod(path, 0660) ||
	    listen(a->lfd, GW_ADMIN_MAX_CLIENTS)) {
		err = -errno;
		unlink(path);
		goto fail;
	}
	if (gr) {	/* the group may traverse the directory */
		char dir[sizeof(sa.sun_path)];
		char *p;

		strcpy(dir, path);
		p = strrchr(dir, '/');
		if (p && p != dir) {
			*p = '\0';
			if (!chown(dir, (uid_t)-1, gr->gr_gid) && !stat(dir, &st))
				chmod(dir, (st.st_mode & 07777) | 0010);
		}
	}
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	if (a->ep < 0 || epoll_ctl(a->ep, EPOLL_CTL_ADD, a->lfd, &ev)) {
		err = -errno;
		unlink(path);
		goto fail;
	}
	pr_info("admin: listening on %s\n", path);
	*ap = a;
	return 0;
fail:
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->ep >= 0)
		close(a->ep);
	free(a->path);
	free(a);
	return err;
}

static void client_free(struct gw_admin *a, int slot)
{
	struct admin_client *c = a->cl[slot];

	if (!c)
		return;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	a->cl[slot] = NULL;
}

/* Sends what is queued. Returns 0 (done or would block) or -errno. */
static int client_flush(struct gw_admin *a, int slot)
{
	struct admin_client *c = a->cl[slot];
	struct epoll_event ev = { .data.u64 = (__u64)slot + 1 };
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	ev.events = c->out_len ? EPOLLOUT : EPOLLIN;
	epoll_ctl(a->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* Queues a response line (an error line in its place when it would not
 * fit). Returns 0 or -ENOMEM/-ENOBUFS. */
static int client_queue(struct admin_client *c, json_t *resp)
{
	char *s = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
	size_t len;
	char *n;

	if (!s)
		s = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (c->out_len + len + 1 > GW_ADMIN_OUT_MAX) {
		/* say so rather than go silent (e.g. conntrack.list with limit 0) */
		free(s);
		s = strdup("{\"ok\":false,\"error\":\"answer too large (max 16 MiB): narrow "
			   "the request (e.g. a smaller limit)\"}");
		if (!s)
			return -ENOMEM;
		len = strlen(s);
		if (c->out_len + len + 1 > GW_ADMIN_OUT_MAX) {
			free(s);
			return -ENOBUFS;
		}
	}
	n = realloc(c->out, c->out_len + len + 1);
	if (!n) {
		free(s);
		return -ENOMEM;
	}
	c->out = n;
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(s);
	return 0;
}

#define ADMIN_REFUSED "permission denied: only root and group " GW_ADMIN_GROUP \
	" may use the admin socket"

/* Refuses a peer with one error line, best effort, and closes it. */
static void refuse(int fd, const char *msg)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n", msg);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("admin: could not tell a refused peer: %s\n", strerror(errno));
	close(fd);
}

/* Sends, once the answers are out, the end of the stream; frees the client
 * at EOF or on an error. */
static void client_settle(struct gw_admin *a, int slot, int eof)
{
	struct admin_client *c = a->cl[slot];

	if (client_flush(a, slot)) {
		client_free(a, slot);
		return;
	}
	if (c->out_len) {
		if (eof)
			c->closing = 1;
		return;		/* EPOLLOUT comes back here */
	}
	if (eof) {
		client_free(a, slot);
		return;
	}
	/* Closing with unread input would reset the connection and lose the
	 * answer: shut our side down and read the rest away first. */
	if (c->closing && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = 1;
		c->closing_ns = gw_now_ns();
	}
}

/* Frees the closing clients past their grace (a refused peer cannot hold a
 * slot); with `evict`, the oldest closing one as well. Returns a free slot
 * or -1. */
static int free_slot(struct gw_admin *a, int evict)
{
	__u64 now = gw_now_ns();
	int i, oldest = -1, freeslot = -1;

	for (i = 0; i < GW_ADMIN_MAX_CLIENTS; i++) {
		struct admin_client *c = a->cl[i];

		if (c && c->shut && now - c->closing_ns >= ADMIN_CLOSE_NS)
			client_free(a, i);
		c = a->cl[i];
		if (!c) {
			if (freeslot < 0)
				freeslot = i;
		} else if (c->shut && (oldest < 0 || c->closing_ns < a->cl[oldest]->closing_ns)) {
			oldest = i;
		}
	}
	if (freeslot < 0 && evict && oldest >= 0) {
		client_free(a, oldest);
		freeslot = oldest;
	}
	return freeslot;
}

static void accept_all(struct gw_admin *a)
{
	struct ucred cr;
	socklen_t len;
	int fd, slot, allowed;

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct admin_client *c;

		fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		len = sizeof(cr);
		memset(&cr, 0, sizeof(cr));
		allowed = !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
			  peer_allowed(fd, &cr);
		if (!allowed)
			pr_warn("admin: refused peer uid %u pid %d (not root, not in group "
				GW_ADMIN_GROUP ")\n", cr.uid, cr.pid);
		slot = free_slot(a, 1);
		c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (c)
			c->in = malloc(GW_ADMIN_LINE_MAX);
		if (!c || !c->in) {
			if (c)
				free(c);
			refuse(fd, allowed ? "busy: too many admin clients" : ADMIN_REFUSED);
			continue;
		}
		c->fd = fd;
		a->cl[slot] = c;
		ev.data.u64 = (__u64)slot + 1;
		if (epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev)) {
			client_free(a, slot);
			continue;
		}
		if (!allowed) {
			json_t *r = error_resp(ADMIN_REFUSED);

			client_queue(c, r);
			json_decref(r);
			c->closing = 1;
			client_settle(a, slot, 0);
		}
	}
}

/* Reads what the client sent and answers every complete line; a closing
 * client's input is read and discarded. */
static void client_read(struct gw_admin *a, int slot, const struct gw_admin_ctx *ctx)
{
	struct admin_client *c = a->cl[slot];
	ssize_t n;
	char *nl;
	int eof = 0;

	for (;;) {
		n = recv(c->fd, c->in + c->in_len, GW_ADMIN_LINE_MAX - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			eof = 1;
			break;
		}
		if (c->closing) {
			c->drained += (size_t)n;
			if (c->drained > ADMIN_DRAIN_MAX) {
				eof = 1;
				break;
			}
			continue;
		}
		c->in_len += (size_t)n;
		while (!c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
			size_t ll = (size_t)(nl - c->in);
			json_t *resp;

			resp = gw_admin_exec_line(ctx, c->in, ll);
			if (client_queue(c, resp))
				c->closing = 1;
			json_decref(resp);
			memmove(c->in, nl + 1, c->in_len - ll - 1);
			c->in_len -= ll + 1;
		}
		if (!c->closing && c->in_len == GW_ADMIN_LINE_MAX) {
			json_t *r = error_resp("request line too long (max 64 KiB)");

			client_queue(c, r);
			json_decref(r);
			c->closing = 1;
		}
		if (c->closing)
			c->in_len = 0;
	}
	client_settle(a, slot, eof);
}

int gw_admin_process(struct gw_admin *a, const struct gw_admin_ctx *ctx)
{
	struct epoll_event evs[GW_ADMIN_MAX_CLIENTS + 1];
	int n, i, slot;

	n = epoll_wait(a->ep, evs, GW_ADMIN_MAX_CLIENTS + 1, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (!evs[i].data.u64) {
			accept_all(a);
			continue;
		}
		slot = (int)evs[i].data.u64 - 1;
		if (!a->cl[slot])
			continue;
		if (evs[i].events & EPOLLOUT) {
			client_settle(a, slot, 0);
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(a, slot, ctx);
	}
	return 0;
}

void gw_admin_close(struct gw_admin *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < GW_ADMIN_MAX_CLIENTS; i++)
		client_free(a, i);
	close(a->lfd);
	close(a->ep);
	unlink(a->path);
	free(a->path);
	free(a);
}
