// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath's admin verbs (dp_cmds.h).
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
#include <sys/utsname.h>
#include <bpf/bpf.h>

#include "gw/names.h"
#include "core/ktlsprobe.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "core/units.h"
#include "dp/dp_cmds.h"
#include "dp/filter.h"
#include "dp/service.h"
#include "dp/show.h"

/* The context of a datapath verb. */
static const struct gw_dp_cmd_ctx *DP(const struct gw_cmd_call *c)
{
	return c->ctx;
}

/* The configured service whose VIP, port and protocol these are, or NULL. */
static const struct gw_cfg_service *cfg_service_by_key(const struct gw_dp_cmd_ctx *a,
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

/* ---- stable order ------------------------------------------------------------ */

/*
 * The tables come from hash maps, tries and an LRU, whose walks follow
 * hashes and the kernel's layout, not the file. Their rows are collected
 * and sorted before the answer is built, here rather than in gwctl's
 * printers: gwd and gwctl on the pins run this code, only it knows the
 * running config's order, and --json (or any client of the socket) gets
 * the same order as the tables. Rows sort by rank (the position in the
 * running config; NO_RANK when not there or without an agent), then by
 * key, bytes compared as memcmp (family first, addresses and ports in
 * network order).
 */
#define NO_RANK ((size_t)-1)
#define ROW_KEY 24

struct row {
	size_t rank;
	unsigned char key[ROW_KEY];
	json_t *o;
};

struct rows {
	struct row *v;
	size_t n, cap;
	int err;		/* -ENOMEM once a row could not be kept */
};

/* Writes the key of an endpoint to k: family, address, port. Returns the
 * number of bytes written (19). */
static size_t ep_key(unsigned char *k, __u8 family, const __be32 *addr, __be16 port)
{
	k[0] = family;
	memcpy(k + 1, addr, 16);
	memcpy(k + 17, &port, 2);
	return 19;
}

/* Keeps row o (taking its reference) with its rank and key (len bytes).
 * Returns 0, or -ENOMEM (o dropped; rows_take then fails). */
static int rows_add(struct rows *r, size_t rank, const void *key, size_t len, json_t *o)
{
	struct row *v;

	if (!o)
		r->err = -ENOMEM;
	if (!r->err && r->n == r->cap) {
		v = realloc(r->v, (r->cap ? r->cap * 2 : 16) * sizeof(*v));
		if (v) {
			r->v = v;
			r->cap = r->cap ? r->cap * 2 : 16;
		} else {
			r->err = -ENOMEM;
		}
	}
	if (r->err) {
		json_decref(o);
		return r->err;
	}
	v = &r->v[r->n++];
	v->rank = rank;
	memset(v->key, 0, sizeof(v->key));
	memcpy(v->key, key, len < ROW_KEY ? len : ROW_KEY);
	v->o = o;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return memcmp(x->key, y->key, ROW_KEY);
}

/* Empties r into a new array, its rows in order. Returns the array, or
 * NULL when a row or the array could not be made. */
static json_t *rows_take(struct rows *r)
{
	json_t *arr = r->err ? NULL : json_array();
	size_t i;

	if (r->n)	/* qsort(NULL, 0) is undefined */
		qsort(r->v, r->n, sizeof(*r->v), row_cmp);
	for (i = 0; i < r->n; i++) {
		if (!arr)
			json_decref(r->v[i].o);
		else if (json_array_append_new(arr, r->v[i].o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
	return arr;
}

/* ---- status --------------------------------------------------------------- */


/* The sockmap splice (its pinned sockhash) and kernel TLS (core/ktlsprobe.h:
 * in gwd what its probe found, in gwctl what the kernel lists now). */
static void splice_features(json_t *d, json_t *feat, const char *pin_root)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/gw_sk_hash", pin_root);
	if (!access(path, F_OK))
		json_array_append_new(feat, json_string("sockmap splice"));
	gw_ktls_probe_line(path, sizeof(path));
	json_array_append_new(feat, json_string(strncmp(path, "available", 9) ? "no ktls" :
						"ktls"));
	gw_cmd_json_add(d, "ktls", json_string(path));
}

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

/* Where interface name is in the running config's list, or NO_RANK. */
static size_t iface_rank(const struct gw_dp_cmd_ctx *a, const char *name)
{
	size_t i;

	for (i = 0; a->cfg && i < a->cfg->gateway.n_interfaces; i++)
		if (!strcmp(a->cfg->gateway.interfaces[i].name, name))
			return i;
	return NO_RANK;
}

static int cmd_status(struct gw_cmd_call *c, json_t **out)
{
	const struct gw_dp_cmd_ctx *a = c->ctx;
	__u32 ids[GW_IFADDR_MAX];
	struct gw_config cfg;
	struct rows ifs = { 0 };
	json_t *d, *feat;
	int n, i, err, tcx = 0, clsact = 0, native = 0, generic = 0, multi = 0, alone = 0;

	err = gw_dp_config_get(a->maps, &cfg);
	if (err)
		return gw_cmd_fail(c, err, "cannot read gw_config: %s", strerror(-err));
	d = json_object();
	feat = json_array();
	gw_cmd_json_add(d, "agent", json_boolean(a->cfg != NULL));
	gw_cmd_json_add(d, "pin_root", json_string(a->pin_root));
	if (a->config_path)
		gw_cmd_json_add(d, "config_file", json_string(a->config_path));
	gw_cmd_json_add(d, "generation", a->cfg ? json_integer(a->generation) : json_null());
	gw_cmd_json_add(d, "datapath_generation", json_integer(cfg.generation));
	gw_cmd_json_add(d, "filter_default",
		 json_string(cfg.flags & GW_CFG_F_DEFAULT_DENY ? "deny" : "allow"));
	gw_cmd_json_add(d, "programs", programs_json(a->pin_root));
	n = gw_dp_attached_ifaces(a->maps->ifaddr, ids, GW_IFADDR_MAX);
	for (i = 0; i < n; i++) {
		struct gw_ifaddr ia = { 0 };
		char name[IF_NAMESIZE] = "", a4[64] = "", a6[64] = "";
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
		gw_cmd_json_add(f, "name", json_string(name));
		gw_cmd_json_add(f, "ifindex", json_integer(ids[i]));
		gw_cmd_json_add(f, "hook", json_string(kind < 0 ? "?" :
				gw_attach_kind_str((enum gw_attach_kind)kind)));
		gw_cmd_json_add(f, "xdp_dispatcher", disp < 0 ? json_null() : json_boolean(disp));
		gw_cmd_json_add(f, "ipv4", a4[0] ? json_string(a4) : json_null());
		gw_cmd_json_add(f, "ipv6", a6[0] ? json_string(a6) : json_null());
		rows_add(&ifs, iface_rank(a, name), name, sizeof(name), f);
	}
	gw_cmd_json_add(d, "interfaces", rows_take(&ifs));
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
	splice_features(d, feat, a->pin_root);
	gw_cmd_json_add(d, "features", feat);
	*out = d;
	return 0;
}

/* ---- stats ----------------------------------------------------------------- */

struct svc_walk {
	struct gw_cmd_call *c;
	struct rows rows;
	int with_backends;
	const struct gw_svc_key *key;	/* the service of a backend walk */
	const struct gw_cfg_service *cs;	/* its config, or NULL */
	unsigned int n_serving, n_down;	/* not draining; of those, down */
};

/* Where backend b is in the config of its service cs, or NO_RANK. */
static size_t backend_rank(const struct gw_cfg_service *cs, const struct gw_backend *b)
{
	struct gw_ip ip = { .family = b->family };
	size_t i;

	memcpy(ip.addr, b->addr, sizeof(ip.addr));
	for (i = 0; cs && i < cs->n_backends; i++)
		if (gw_ip_equal(&cs->backends[i].address.ip, &ip) &&
		    cs->backends[i].address.port == ntohs(b->port))
			return i;
	return NO_RANK;
}

/* Adds a backend's health to o: "health" up, down or unchecked, and
 * "health_reason" (why the last check failed, or null). */
static void backend_health_json(struct svc_walk *w, const struct gw_backend *b, json_t *o)
{
	const struct gw_dp_cmd_ctx *a = DP(w->c);
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
	gw_cmd_json_add(o, "health", json_string(down ? "down" : st < 0 ? "unchecked" : "up"));
	gw_cmd_json_add(o, "health_reason", in.reason[0] ? json_string(in.reason) :
		 st == GW_HS_UNKNOWN ? json_string("not checked yet") : json_null());
}

static int backend_json(__u32 id, const struct gw_backend *b, void *arg)
{
	struct svc_walk *w = arg;
	struct gw_counter cnt = { 0 };
	char ep[GW_ADDR_STRLEN];
	unsigned char key[ROW_KEY];
	json_t *o = json_object();

	gw_dp_counter_sum(DP(w->c)->maps->backend_stats, id, &cnt);
	gw_cmd_json_add(o, "address",
		 json_string(gw_abi_ep_str(b->addr, b->family, b->port, ep, sizeof(ep))));
	gw_cmd_json_add(o, "id", json_integer(id));
	gw_cmd_json_add(o, "weight", json_integer(b->weight));
	gw_cmd_json_add(o, "state", json_string(b->flags & GW_BE_F_DRAIN ? "draining" : "active"));
	backend_health_json(w, b, o);
	gw_cmd_json_add(o, "packets", json_integer((json_int_t)cnt.packets));
	gw_cmd_json_add(o, "bytes", json_integer((json_int_t)cnt.bytes));
	rows_add(&w->rows, backend_rank(w->cs, b), key,
		 ep_key(key, b->family, b->addr, b->port), o);
	return 0;
}

static int service_json(const struct gw_svc_key *k, const struct gw_svc *s, void *arg)
{
	struct svc_walk *w = arg;
	const struct gw_cfg_service *cs = cfg_service_by_key(DP(w->c), k);
	struct gw_counter cnt = { 0 };
	char vip[GW_ADDR_STRLEN];
	unsigned char key[ROW_KEY];
	json_t *o = json_object();
	size_t len;

	gw_dp_counter_sum(DP(w->c)->maps->svc_stats, s->id, &cnt);
	gw_cmd_json_add(o, "name", cs ? json_string(cs->name) : json_null());
	gw_cmd_json_add(o, "vip",
		 json_string(gw_abi_ep_str(k->addr, k->family, k->port, vip, sizeof(vip))));
	gw_cmd_json_add(o, "protocol", json_string(gw_proto_str(k->proto)));
	gw_cmd_json_add(o, "forwarding", json_string(s->fwd == GW_FWD_NAT ? "nat" :
					      s->fwd == GW_FWD_IPIP ? "ipip" : "?"));
	gw_cmd_json_add(o, "id", json_integer(s->id));
	gw_cmd_json_add(o, "ring_size", json_integer(s->ring_size));
	gw_cmd_json_add(o, "packets", json_integer((json_int_t)cnt.packets));
	gw_cmd_json_add(o, "bytes", json_integer((json_int_t)cnt.bytes));
	if (w->with_backends) {
		struct svc_walk bw = { .c = w->c, .key = k, .cs = cs };

		gw_dp_foreach_backend(DP(w->c)->maps, s->id, backend_json, &bw);
		gw_cmd_json_add(o, "backends", rows_take(&bw.rows));
		/* every serving backend down: the table holds them all */
		gw_cmd_json_add(o, "fail_open", json_boolean(bw.n_serving && bw.n_down == bw.n_serving));
	}
	len = ep_key(key, k->family, k->addr, k->port);
	key[len++] = k->proto;
	rows_add(&w->rows, cs ? (size_t)(cs - DP(w->c)->cfg->services) : NO_RANK, key, len, o);
	return 0;
}

static int cmd_stats(struct gw_cmd_call *c, json_t **out)
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

		err = gw_dp_counter_sum(DP(c)->maps->stats, r, &cnt);
		if (err) {
			json_decref(reasons);
			return gw_cmd_fail(c, err, "cannot read gw_stats: %s", strerror(-err));
		}
		tot[gw_reason_actions[r] & 3] += cnt.packets;
		o = json_object();
		gw_cmd_json_add(o, "reason", json_string(gw_reason_labels[r]));
		gw_cmd_json_add(o, "action", json_string(gw_action_labels[gw_reason_actions[r]]));
		gw_cmd_json_add(o, "packets", json_integer((json_int_t)cnt.packets));
		gw_cmd_json_add(o, "bytes", json_integer((json_int_t)cnt.bytes));
		json_array_append_new(reasons, o);
	}
	d = json_object();
	gw_cmd_json_add(d, "reasons", reasons);
	t = json_object();
	gw_cmd_json_add(t, "pass", json_integer((json_int_t)tot[GW_ACT_PASS]));
	gw_cmd_json_add(t, "forward", json_integer((json_int_t)tot[GW_ACT_FORWARD]));
	gw_cmd_json_add(t, "drop", json_integer((json_int_t)tot[GW_ACT_DROP]));
	gw_cmd_json_add(d, "totals", t);
	gw_dp_foreach_service(DP(c)->maps, service_json, &w);
	gw_cmd_json_add(d, "services", rows_take(&w.rows));
	gw_cmd_json_add(d, "routes", json_array());
	*out = d;
	return 0;
}

static int cmd_service_list(struct gw_cmd_call *c, json_t **out)
{
	struct svc_walk w = { .c = c, .with_backends = 1 };
	int err;

	err = gw_dp_foreach_service(DP(c)->maps, service_json, &w);
	*out = rows_take(&w.rows);
	if (err < 0 || !*out) {
		json_decref(*out);
		err = err < 0 ? err : -ENOMEM;
		return gw_cmd_fail(c, err, "cannot read gw_services: %s", strerror(-err));
	}
	return 0;
}

/* ---- filter ---------------------------------------------------------------- */

struct filter_walk {
	struct rows rows;
	__u64 now;
	const struct gw_dp_cmd_ctx *ctx;
};

static int filter_json(const struct gw_filter_entry *e, void *arg)
{
	struct filter_walk *w = arg;
	char cidr[GW_ADDR_STRLEN];
	unsigned char key[ROW_KEY];
	json_t *o = json_object();

	/* by prefix, a list entry before a ban on the same prefix */
	key[0] = e->cidr.ip.family;
	memcpy(key + 1, e->cidr.ip.addr, 16);
	key[17] = e->cidr.prefixlen;
	key[18] = (unsigned char)e->is_ban;
	key[19] = e->rule.action;
	gw_cidr_str(&e->cidr, cidr, sizeof(cidr));
	gw_cmd_json_add(o, "prefix", json_string(cidr));
	gw_cmd_json_add(o, "action", json_string(e->rule.action == GW_RULE_ALLOW ? "allow" : "deny"));
	gw_cmd_json_add(o, "kind", json_string(e->is_ban ? "ban" : "list"));
	gw_cmd_json_add(o, "origin", json_string(gw_origin_str(e->rule.origin)));
	if (e->is_ban && w->ctx->ban_node) {
		char node[80];

		if (!w->ctx->ban_node(w->ctx->ban_node_arg, &e->cidr, node, sizeof(node)))
			gw_cmd_json_add(o, "node", json_string(node));
	}
	if (e->rule.expires_ns)
		gw_cmd_json_add(o, "expires_in_s", json_integer(e->rule.expires_ns > w->now ?
			(json_int_t)((e->rule.expires_ns - w->now + 999999999ull) / 1000000000ull) :
			0));
	else
		gw_cmd_json_add(o, "expires_in_s", json_null());
	rows_add(&w->rows, NO_RANK, key, 20, o);
	return 0;
}

static int cmd_filter_list(struct gw_cmd_call *c, json_t **out)
{
	struct filter_walk w = { .now = gw_now_ns(), .ctx = DP(c) };
	struct gw_config cfg;
	json_t *d, *arr;
	int err;

	err = gw_dp_config_get(DP(c)->maps, &cfg);
	if (!err)
		err = gw_filter_foreach(&DP(c)->maps->filter, filter_json, &w);
	arr = rows_take(&w.rows);
	if (err < 0 || !arr) {
		json_decref(arr);
		err = err < 0 ? err : -ENOMEM;
		return gw_cmd_fail(c, err, "cannot read the filter: %s", strerror(-err));
	}
	d = json_object();
	gw_cmd_json_add(d, "default", json_string(cfg.flags & GW_CFG_F_DEFAULT_DENY ? "deny" : "allow"));
	gw_cmd_json_add(d, "entries", arr);
	*out = d;
	return 0;
}

/* Parses args.cidr into *cidr. Returns 0 or -EINVAL (message set). */
static int arg_cidr(struct gw_cmd_call *c, struct gw_cidr *cidr)
{
	const char *s = gw_cmd_arg_str(c, "cidr");
	char msg[160];

	if (!s)
		return gw_cmd_fail(c, -EINVAL, "missing argument 'cidr'");
	if (gw_cidr_parse_msg(s, cidr, msg, sizeof(msg)))
		return gw_cmd_fail(c, -EINVAL, "%s", msg);
	return 0;
}

static int filter_change(struct gw_cmd_call *c, json_t **out, int action, int add)
{
	const struct gw_filter_maps *fm = &DP(c)->maps->filter;
	const char *ttl = gw_cmd_arg_str(c, "ttl");
	char buf[GW_ADDR_STRLEN];
	struct gw_cidr cidr;
	__u64 ttl_ns = 0;
	json_t *d;
	int err;

	err = arg_cidr(c, &cidr);
	if (err)
		return err;
	if (ttl && (action != GW_RULE_DENY || !add))
		return gw_cmd_fail(c, -EINVAL, "'ttl' applies to filter.deny.add only");
	if (ttl && (gw_duration_parse(ttl, &ttl_ns) || !ttl_ns))
		return gw_cmd_fail(c, -EINVAL, "bad ttl '%s' (e.g. 30s, 10m, 1h)", ttl);
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
		return gw_cmd_fail(c, err, "%s is allowed on the same prefix; the allow wins "
			    "(remove it first)", gw_cmd_arg_str(c, "cidr"));
	if (err == -ENOENT)
		return gw_cmd_fail(c, err, "no %s entry for %s", action == GW_RULE_DENY ? "deny" :
			    "allow", gw_cmd_arg_str(c, "cidr"));
	if (err)
		return gw_cmd_fail(c, err, "filter update failed: %s", strerror(-err));
	d = json_object();
	gw_cmd_json_add(d, "prefix", json_string(gw_cidr_str(&cidr, buf, sizeof(buf))));
	gw_cmd_json_add(d, "action", json_string(action == GW_RULE_DENY ? "deny" : "allow"));
	gw_cmd_json_add(d, "change", json_string(add ? "added" : "removed"));
	if (ttl_ns)
		gw_cmd_json_add(d, "ttl_s", json_integer((json_int_t)(ttl_ns / 1000000000ull)));
	*out = d;
	return 0;
}

static int cmd_deny_add(struct gw_cmd_call *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_DENY, 1);
}

static int cmd_deny_del(struct gw_cmd_call *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_DENY, 0);
}

static int cmd_allow_add(struct gw_cmd_call *c, json_t **out)
{
	return filter_change(c, out, GW_RULE_ALLOW, 1);
}

static int cmd_allow_del(struct gw_cmd_call *c, json_t **out)
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
	gw_cmd_json_add(o, "rate_per_s", json_real(per_sec));
	gw_cmd_json_add(o, "burst", json_integer((json_int_t)burst));
	gw_cmd_json_add(o, "interval_ns", json_integer((json_int_t)g->interval_ns));
	gw_cmd_json_add(o, "tolerance_ns", json_integer((json_int_t)g->tolerance_ns));
	return o;
}

static int cmd_rl_show(struct gw_cmd_call *c, json_t **out)
{
	struct gw_config cfg;
	json_t *d;
	int err;

	err = gw_dp_config_get(DP(c)->maps, &cfg);
	if (err)
		return gw_cmd_fail(c, err, "cannot read gw_config: %s", strerror(-err));
	d = json_object();
	gw_cmd_json_add(d, "packets", gcra_json(&cfg.rl_pkt));
	gw_cmd_json_add(d, "syn", gcra_json(&cfg.rl_syn));
	gw_cmd_json_add(d, "v6_prefix", json_integer(cfg.rl_v6_prefix));
	*out = d;
	return 0;
}

static int cmd_rl_set(struct gw_cmd_call *c, json_t **out)
{
	const char *which = gw_cmd_arg_str(c, "limit"), *rs = gw_cmd_arg_str(c, "rate");
	unsigned long long burst = 0;
	struct gw_config cfg;
	struct gw_rate rate;
	struct gw_gcra g;
	char buf[64];
	int err, have_burst;

	if (!which || (strcmp(which, "packets") && strcmp(which, "syn")))
		return gw_cmd_fail(c, -EINVAL, "'limit' must be \"packets\" or \"syn\"");
	if (!rs)
		return gw_cmd_fail(c, -EINVAL, "missing argument 'rate' (e.g. 1000/s; 0 turns it off)");
	/* a bare number is per second */
	if (!strchr(rs, '/') && strlen(rs) < sizeof(buf) - 3) {
		snprintf(buf, sizeof(buf), "%s/s", rs);
		rs = buf;
	}
	if (gw_rate_parse(rs, &rate))
		return gw_cmd_fail(c, -EINVAL, "bad rate '%s' (N/s, N/m or N/h)", gw_cmd_arg_str(c, "rate"));
	if (gw_cmd_arg_uint(c, "burst", 1ull << 32, &burst, &have_burst) || (have_burst && !burst))
		return gw_cmd_fail(c, -EINVAL, "'burst' must be an integer >= 1");
	if (!have_burst)
		burst = rate.count ? rate.count : 1;
	if (gw_gcra_from_rate(&rate, burst, &g))
		return gw_cmd_fail(c, -ERANGE, "rate %s with burst %llu is out of range", rs, burst);
	err = gw_dp_config_get(DP(c)->maps, &cfg);
	if (err)
		return gw_cmd_fail(c, err, "cannot read gw_config: %s", strerror(-err));
	if (!strcmp(which, "packets"))
		cfg.rl_pkt = g;
	else
		cfg.rl_syn = g;
	err = gw_dp_config_set(DP(c)->maps, &cfg);
	if (err)
		return gw_cmd_fail(c, err, "cannot write gw_config: %s", strerror(-err));
	*out = json_object();
	gw_cmd_json_add(*out, "limit", json_string(which));
	gw_cmd_json_add(*out, "setting", gcra_json(&g));
	return 0;
}

/* ---- backends ----------------------------------------------------------------- */

static int backend_change(struct gw_cmd_call *c, json_t **out, const char *verb)
{
	const char *name = gw_cmd_arg_str(c, "service"), *addr = gw_cmd_arg_str(c, "backend");
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

	if (!DP(c)->cfg)
		return gw_cmd_fail(c, -EOPNOTSUPP, "backend changes need gwd (service names come from "
			    "its config)");
	if (!name || !addr)
		return gw_cmd_fail(c, -EINVAL, "missing argument 'service' or 'backend'");
	for (i = 0; i < DP(c)->cfg->n_services; i++)
		if (!strcmp(DP(c)->cfg->services[i].name, name))
			s = &DP(c)->cfg->services[i];
	if (!s)
		return gw_cmd_fail(c, -ENOENT, "no service '%s' in the running config", name);
	if (gw_endpoint_parse_msg(addr, &b.ep, msg, sizeof(msg)))
		return gw_cmd_fail(c, -EINVAL, "%s", msg);
	if (gw_cmd_arg_uint(c, "weight", 65535, &w, &have_w) || (have_w && !w))
		return gw_cmd_fail(c, -EINVAL, "'weight' must be 1-65535");
	if (have_w && !strcmp(verb, "del"))
		return gw_cmd_fail(c, -EINVAL, "'weight' applies to backend.add and backend.drain");
	vip.ip = s->vip;
	vip.port = (__u16)s->port;
	proto = (__u8)s->protocol;
	if (gw_svc_lookup(DP(c)->maps, &vip, proto, &sv))
		return gw_cmd_fail(c, -ENOENT, "service '%s' is not in the datapath", name);
	found = !gw_backend_find(DP(c)->maps, sv.id, &b.ep, &cur);
	if (!found && strcmp(verb, "add"))
		return gw_cmd_fail(c, -ENOENT, "%s is no backend of service '%s'", addr, name);
	if (!strcmp(verb, "del")) {
		err = gw_backend_del(&DP(c)->maps->lb, &vip, proto, &b.ep);
	} else {
		b.weight = have_w ? (__u32)w : found ? cur.weight : 1;
		b.drain = !strcmp(verb, "drain");
		err = gw_backend_set(&DP(c)->maps->lb, &vip, proto, &b);
	}
	if (err)
		return gw_cmd_fail(c, err, "backend %s failed: %s", verb, strerror(-err));
	if (DP(c)->backends_changed)
		DP(c)->backends_changed(DP(c)->arg);
	*out = json_object();
	gw_cmd_json_add(*out, "service", json_string(name));
	gw_cmd_json_add(*out, "backend", json_string(gw_endpoint_str(&b.ep, msg, sizeof(msg))));
	gw_cmd_json_add(*out, "change", json_string(!strcmp(verb, "add") ? "added" :
					     !strcmp(verb, "del") ? "removed" : "draining"));
	if (strcmp(verb, "del"))
		gw_cmd_json_add(*out, "weight", json_integer(b.weight));
	return 0;
}

static int cmd_backend_add(struct gw_cmd_call *c, json_t **out)
{
	return backend_change(c, out, "add");
}

static int cmd_backend_del(struct gw_cmd_call *c, json_t **out)
{
	return backend_change(c, out, "del");
}

static int cmd_backend_drain(struct gw_cmd_call *c, json_t **out)
{
	return backend_change(c, out, "drain");
}

/* ---- conntrack ------------------------------------------------------------------ */

/* A flow kept for the answer. */
struct ct_row {
	struct gw_flow f;
	struct gw_ct ct;
};

struct ct_walk {
	struct gw_cmd_call *c;
	struct ct_row *v;
	size_t n, cap;
	long long svc_id;	/* -1: every service */
	unsigned long long limit, total;
	__u64 now;
};

/* Flows in the table's order: family, protocol, client, VIP. */
static int ct_cmp(const void *a, const void *b)
{
	const struct gw_flow *x = &((const struct ct_row *)a)->f;
	const struct gw_flow *y = &((const struct ct_row *)b)->f;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	d = memcmp(x->saddr, y->saddr, sizeof(x->saddr));
	if (!d)
		d = memcmp(&x->sport, &y->sport, sizeof(x->sport));
	if (!d)
		d = memcmp(x->daddr, y->daddr, sizeof(x->daddr));
	if (!d)
		d = memcmp(&x->dport, &y->dport, sizeof(x->dport));
	return d;
}

/* Keeps a flow of the walk. Only the first `limit` in order are shown: at
 * most twice that many are kept, cut back to `limit` when full. Returns 0
 * or -ENOMEM (which stops the walk). */
static int ct_keep(const struct gw_flow *f, const struct gw_ct *ct, void *arg)
{
	struct ct_walk *w = arg;
	struct ct_row *v;
	size_t cap;

	if (w->svc_id >= 0 && ct->svc_id != (__u32)w->svc_id)
		return 0;
	w->total++;
	if (w->n == w->cap && w->limit && w->n >= 2 * w->limit) {
		qsort(w->v, w->n, sizeof(*w->v), ct_cmp);
		w->n = (size_t)w->limit;
	} else if (w->n == w->cap) {
		cap = w->cap ? w->cap * 2 : 64;
		if (w->limit && cap > 2 * w->limit)
			cap = (size_t)(2 * w->limit);
		v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n].f = *f;
	w->v[w->n].ct = *ct;
	w->n++;
	return 0;
}

/* A flow as an answer's row. Returns it, or NULL without memory. */
static json_t *ct_json(const struct ct_walk *w, const struct gw_flow *f, const struct gw_ct *ct)
{
	char cl[GW_ADDR_STRLEN], vip[GW_ADDR_STRLEN], be[GW_ADDR_STRLEN];
	struct gw_backend b;
	__u32 id = ct->backend_id;
	json_t *o;

	if (bpf_map_lookup_elem(DP(w->c)->maps->lb.backends, &id, &b))
		memset(&b, 0, sizeof(b));
	o = json_object();
	gw_cmd_json_add(o, "protocol", json_string(gw_proto_str(f->proto)));
	gw_abi_ep_str(f->saddr, f->family, f->sport, cl, sizeof(cl));
	gw_abi_ep_str(f->daddr, f->family, f->dport, vip, sizeof(vip));
	gw_cmd_json_add(o, "client", json_string(cl));
	gw_cmd_json_add(o, "vip", json_string(vip));
	gw_cmd_json_add(o, "backend", b.family ?
		 json_string(gw_abi_ep_str(b.addr, b.family, b.port, be, sizeof(be))) :
		 json_null());
	gw_cmd_json_add(o, "backend_id", json_integer(id));
	gw_cmd_json_add(o, "service_id", json_integer(ct->svc_id));
	if (ct->nat_port)
		gw_cmd_json_add(o, "nat_source", json_string(gw_abi_ep_str(ct->nat_addr, f->family,
							      ct->nat_port, be, sizeof(be))));
	gw_cmd_json_add(o, "idle_s", json_integer(ct->last_seen_ns && w->now > ct->last_seen_ns ?
		(json_int_t)((w->now - ct->last_seen_ns) / 1000000000ull) : 0));
	return o;
}

/* The datapath id of the configured service `name`; -ENOENT if none. */
static int svc_id_by_name(struct gw_cmd_call *c, const char *name, __u32 *id)
{
	const struct gw_cfg_service *s = NULL;
	struct gw_endpoint vip;
	struct gw_svc sv;
	size_t i;

	for (i = 0; DP(c)->cfg && i < DP(c)->cfg->n_services; i++)
		if (!strcmp(DP(c)->cfg->services[i].name, name))
			s = &DP(c)->cfg->services[i];
	if (!s)
		return -ENOENT;
	vip.ip = s->vip;
	vip.port = (__u16)s->port;
	if (gw_svc_lookup(DP(c)->maps, &vip, (__u8)s->protocol, &sv))
		return -ENOENT;
	*id = sv.id;
	return 0;
}

static int cmd_ct_list(struct gw_cmd_call *c, json_t **out)
{
	struct ct_walk w = { .c = c, .svc_id = -1, .limit = 100, .now = gw_now_ns() };
	const char *svc = gw_cmd_arg_str(c, "service");
	json_t *arr;
	int err, have;
	size_t i;
	__u32 id;

	if (gw_cmd_arg_uint(c, "limit", 1ull << 32, &w.limit, &have))
		return gw_cmd_fail(c, -EINVAL, "'limit' must be a number (0: no limit)");
	if (svc) {
		if (!DP(c)->cfg)
			return gw_cmd_fail(c, -EOPNOTSUPP, "--service needs gwd (names come from its "
				    "config)");
		if (svc_id_by_name(c, svc, &id))
			return gw_cmd_fail(c, -ENOENT, "no service '%s' in the datapath", svc);
		w.svc_id = id;
	}
	err = gw_dp_foreach_ct(DP(c)->maps, ct_keep, &w);
	if (err < 0) {
		free(w.v);
		return gw_cmd_fail(c, err, "cannot read gw_ct: %s", strerror(-err));
	}
	if (w.n)	/* qsort(NULL, 0) is undefined */
		qsort(w.v, w.n, sizeof(*w.v), ct_cmp);
	if (w.limit && w.n > w.limit)
		w.n = (size_t)w.limit;
	arr = json_array();
	for (i = 0; i < w.n; i++)
		json_array_append_new(arr, ct_json(&w, &w.v[i].f, &w.v[i].ct));
	free(w.v);
	*out = json_object();
	gw_cmd_json_add(*out, "total", json_integer((json_int_t)w.total));
	gw_cmd_json_add(*out, "shown", json_integer((json_int_t)w.n));
	gw_cmd_json_add(*out, "flows", arr);
	return 0;
}

/* ---- the table ---------------------------------------------------------------------- */

static const struct gw_cmd dp_cmds[] = {
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
};

struct gw_cmd_table gw_dp_cmd_table(const struct gw_dp_cmd_ctx *ctx)
{
	return (struct gw_cmd_table){ dp_cmds, sizeof(dp_cmds) / sizeof(dp_cmds[0]), ctx };
}
