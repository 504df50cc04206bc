// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gwd, the agent: reads gateway.yaml, loads and attaches the datapath on the
 * configured interfaces, writes the maps, and keeps them in step with the
 * file (SIGHUP: re-read, apply the difference, keep the old config when the
 * new one is invalid) and with the interfaces' addresses.
 *
 * The main thread runs one event loop (loop.h): signals through a signalfd,
 * a one-second housekeeping timer, the admin socket and the metrics listener
 * are handlers on it. Later concerns (netlink events, health checks, the L7
 * workers' control) add handlers, not branches in a hand-written loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "config/config.h"
#include "core/caps.h"
#include "core/log.h"
#include "core/loop.h"
#include "daemon/admin.h"
#include "daemon/cluster_link.h"
#include "daemon/metrics.h"
#include "daemon/status_page.h"
#include "dp/apply.h"
#include "dp/dp.h"
#include "dp/dp_cmds.h"
#include "dp/filter.h"
#include "dp/ifaddr.h"
#include "dp/l4health.h"
#include "dp/neigh.h"
#include "dp/nlmon.h"
#include "dp/xdpcap.h"
#include "gw/version.h"
#include "l7/cfgfiles.h"
#include "runtime/l7.h"
#include "runtime/l7_cmds.h"

#define GWD_VERSION GW_VERSION
#define GWD_DEFAULT_CONFIG "/etc/gw/gateway.yaml"

struct gwd {
	const char *config_path;
	struct gw_cfg cfg;		/* the running configuration */
	struct gw_dp *dp;
	struct gw_dp_maps maps;
	struct gw_dp_sizes sizes;
	int lock_fd;
	unsigned int generation;
	struct gw_admin *admin;		/* NULL when the socket could not be opened */
	struct gw_metrics *metrics;	/* NULL without gateway.metrics */
	struct gw_agent_counters counters;
	struct gw_loop *loop;
	struct gw_io sig_io, admin_io, metrics_io, nl_io;
	struct gw_timer tick, resync, watchdog;
	__u64 watchdog_ns;		/* 0: no systemd watchdog */
	int keep_caps;			/* --keep-caps: no drop (debugging) */
	char problem[512];		/* the first problem of the running reload */
	int problem_err;
	struct gw_nlmon *nlmon;		/* interface events (rtnetlink) */
	struct gw_xdpcap xdpcap;	/* egresses that take no XDP frames */
	char *admin_path;		/* where the admin socket in use listens */
	/* The last name seen of each interface gw holds, to tell a rename
	 * away from a configured name from events on interfaces attached by
	 * someone else (gw-dpctl). */
	struct {
		int ifindex;
		char name[IF_NAMESIZE];
	} seen[GW_IFADDR_MAX];
	struct gw_endpoint metrics_ep;	/* where the metrics listener in use listens */
	struct gw_l4health *l4h;	/* health checks of L4 backends; NULL if none could start */
	struct gw_l7 *l7;		/* the L7 proxy; NULL without listeners */
	struct gw_cluster_link cluster;	/* shared limits and bans (cluster:) */
	int sfd;
	struct gw_status *status;	/* the status page's samples; NULL: no rates */
	struct gw_reload_result last_reload;
};

#define GWD_TICK_NS 1000000000ull
/* Netlink events keep gw_ifaddr and the attachments current; this slow
 * pass only catches what no event reported. */
#define GWD_RESYNC_NS (30 * 1000000000ull)

static void print_errors(const struct gw_cfg_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

/* Prints errs when err is set and frees them. Returns err. */
static int errors_done(struct gw_cfg_errors *errs, int err)
{
	if (err)
		print_errors(errs);
	gw_cfg_errors_free(errs);
	return err;
}

/* Parses the file; on failure prints every problem. Returns 0 or -errno. */
static int load_config(const char *path, struct gw_cfg *cfg)
{
	struct gw_cfg_errors errs;

	return errors_done(&errs, gw_cfg_load(path, cfg, &errs));
}

/* --check: the files the L7 layer reads load too. Returns 0 or -EINVAL
 * (every problem printed). */
static int check_files(const char *path, const struct gw_cfg *cfg)
{
	struct gw_cfg_errors errs = { 0 };

	return errors_done(&errs, gw_cfg_check_files(path, cfg, &errs));
}

/* --check: every problem of the file in one pass (with syntax_only, not
 * the files it names), then exit status 0 (valid) or 1. */
static int check_only(const char *path, int syntax_only)
{
	struct gw_cfg_errors errs, ferrs = { 0 };
	struct gw_cfg cfg;
	int err, ferr = 0;

	err = gw_cfg_load_check(path, &cfg, &errs);
	if ((!err || err == -EINVAL) && !syntax_only)
		ferr = gw_cfg_check_files(path, &cfg, &ferrs);
	if (!err || err == -EINVAL)
		gw_cfg_free(&cfg);
	print_errors(&errs);
	print_errors(&ferrs);
	gw_cfg_errors_free(&errs);
	gw_cfg_errors_free(&ferrs);
	if (err || ferr)
		return 1;
	printf("%s: valid\n", path);
	return 0;
}

static const char *pin_root_of(const struct gw_cfg *cfg)
{
	return cfg->gateway.pin_root ? cfg->gateway.pin_root : GW_PIN_ROOT_DEFAULT;
}

static enum gw_xdp_mode xdp_mode_of(int cfg_mode)
{
	return cfg_mode == GW_XDP_MODE_NATIVE  ? GW_XDP_NATIVE :
	       cfg_mode == GW_XDP_MODE_GENERIC ? GW_XDP_GENERIC :
						 GW_XDP_AUTO;
}

static void problem(struct gwd *g, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Logs a problem (a warning) and keeps the first one of a reload for its
 * answer and for systemd's STATUS=. */
static void problem(struct gwd *g, int err, const char *fmt, ...)
{
	char buf[sizeof(g->problem)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pr_warn("gwd: %s\n", buf);
	if (!g->problem_err) {
		g->problem_err = err;
		snprintf(g->problem, sizeof(g->problem), "%s", buf);
	}
}

/* The configured interface called name, or NULL. */
static const struct gw_cfg_iface *cfg_iface(const struct gw_cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->gateway.n_interfaces; i++)
		if (!strcmp(cfg->gateway.interfaces[i].name, name))
			return &cfg->gateway.interfaces[i];
	return NULL;
}

/* The slot of `seen` that holds ifindex, or else a free one (-1: full);
 * *found says which. */
static int seen_slot(struct gwd *g, int ifindex, int *found)
{
	int i, free_slot = -1;

	for (i = 0; i < GW_IFADDR_MAX; i++) {
		if (g->seen[i].ifindex == ifindex) {
			*found = 1;
			return i;
		}
		if (!g->seen[i].ifindex && free_slot < 0)
			free_slot = i;
	}
	*found = 0;
	return free_slot;
}

/* Records the name gw last saw ifindex under. */
static void remember(struct gwd *g, int ifindex, const char *name)
{
	int found, slot = seen_slot(g, ifindex, &found);

	if (slot < 0)
		return;
	g->seen[slot].ifindex = ifindex;
	snprintf(g->seen[slot].name, sizeof(g->seen[slot].name), "%s", name);
}

/* Attaches gw to one configured interface unless it is there already (then
 * its addresses are refreshed). Returns 0 or -errno. */
static int attach_one(struct gwd *g, const struct gw_cfg *cfg, const struct gw_cfg_iface *f,
		      int ifindex, const char *why)
{
	enum gw_attach_kind kind = GW_ATTACH_NONE;
	int err;

	remember(g, ifindex, f->name);
	if (gw_dp_attached(pin_root_of(cfg), ifindex) > 0) {
		gw_ifaddr_sync_one(g->maps.ifaddr, ifindex);
		gw_xdpcap_check(&g->xdpcap, ifindex);
		return 0;	/* adopted from a previous gwd, or attached already */
	}
	err = gw_dp_attach_xdp(g->dp, ifindex, xdp_mode_of(f->xdp_mode), &kind);
	if (err) {
		problem(g, err, "cannot attach to %s: %s%s", f->name, strerror(-err),
			err == -EPERM || err == -EACCES ? gw_caps_hint() : "");
		return err;
	}
	pr_info("gwd: attached to %s (%s)%s\n", f->name, gw_attach_kind_str(kind), why);
	gw_xdpcap_check(&g->xdpcap, ifindex);
	return 0;
}

/* Attaches gw to every configured interface it is not on yet. An interface
 * that does not exist is a warning: gwd attaches when it appears (netlink).
 * A failure to attach to one that exists is an error at start (strict) and
 * a warning on reload. */
static int attach_interfaces(struct gwd *g, const struct gw_cfg *cfg, int strict)
{
	size_t i;
	int err;

	for (i = 0; i < cfg->gateway.n_interfaces; i++) {
		const struct gw_cfg_iface *f = &cfg->gateway.interfaces[i];
		int ifindex = (int)if_nametoindex(f->name);

		if (!ifindex) {
			pr_warn("gwd: interface %s does not exist (yet); attaching when it "
				"appears\n", f->name);
			continue;
		}
		err = attach_one(g, cfg, f, ifindex, "");
		if (err && strict)
			return err;
	}
	return 0;
}

/* Detaches from interfaces the new file no longer lists. */
static void detach_removed(struct gwd *g, const struct gw_cfg *now)
{
	__u32 ids[GW_IFADDR_MAX];
	char name[IF_NAMESIZE];
	int n, i;
	size_t j;

	n = gw_dp_attached_ifaces(g->maps.ifaddr, ids, GW_IFADDR_MAX);
	for (i = 0; i < n; i++) {
		int listed = 0;

		if (!if_indextoname(ids[i], name))
			continue;
		for (j = 0; j < now->gateway.n_interfaces; j++)
			if (!strcmp(now->gateway.interfaces[j].name, name))
				listed = 1;
		if (listed)
			continue;
		if (!gw_dp_detach(pin_root_of(now), (int)ids[i]))
			pr_info("gwd: detached from %s\n", name);
	}
}

static int apply(struct gwd *g, const struct gw_cfg *cfg)
{
	struct gw_apply_stats st;
	int err;

	err = gw_apply_datapath(cfg, &g->maps, &st);
	if (err)
		return err;
	g->generation++;
	pr_info("gwd: config generation %u: filter +%u -%u, services %u set, %u kept, %u "
		"removed\n", g->generation, st.filter_added, st.filter_removed, st.services_set,
		st.services_kept, st.services_removed);
	return 0;
}

static int update_endpoints(struct gwd *g, const struct gw_cfg *cfg);

/* The cluster follows the running config (a problem is a warning). */
static void cluster_apply(struct gwd *g)
{
	char msg[256];
	int err;

	g->cluster.filter = &g->maps.filter;
	g->cluster.maps = &g->maps;
	err = gw_cluster_link_apply(&g->cluster, &g->cfg, g->generation, msg, sizeof(msg));
	if (err)
		problem(g, err, "%s", msg);
}

/* Tells systemd (NOTIFY_SOCKET; nothing without it) how gwd is. */
static void notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notify(0, buf);
}

/* How long a stopping L7 runtime waits for requests in flight. */
static __u64 drain_ns_of(const struct gw_cfg *cfg)
{
	return cfg->gateway.drain_timeout_ns ? cfg->gateway.drain_timeout_ns : GW_L7_DRAIN_NS;
}

/* Starts, reloads or stops the L7 runtime to match cfg. Returns 0 or -errno
 * (the running L7 snapshot stays). */
static int apply_l7(struct gwd *g, const struct gw_cfg *cfg)
{
	struct gw_l7_env env = {
		.main_loop = g->loop,
		/* the XDP ban maps, and every node's with scope: cluster */
		.ban = gw_cluster_link_ban,
		.ban_arg = &g->cluster,
		.shared_limits = gw_cluster_link_limits(&g->cluster),
		.pin_root = pin_root_of(cfg),
	};

	if (!gw_l7_wanted(cfg)) {
		if (g->l7) {
			pr_info("gwd: no listeners left; stopping L7 (it drains in the "
				"background)\n");
			gw_l7_stop_async(g->l7, drain_ns_of(cfg));
			g->l7 = NULL;
		}
		return 0;
	}
	if (g->l7)
		return gw_l7_reload(g->l7, cfg);
	return gw_l7_start(cfg, cfg->gateway.workers, &env, &g->l7);
}

/* Health checks follow the services and backends in the maps. */
static void health_sync(struct gwd *g)
{
	if (g->l4h)
		gw_l4health_sync(g->l4h, &g->cfg);
}

/* The new file or, when it is invalid, the old config as it is. Returns 0
 * when the new file was applied, else -errno. */
static int reload_apply(struct gwd *g)
{
	struct gw_cfg next;
	int err;

	pr_info("gwd: reloading %s\n", g->config_path);
	err = load_config(g->config_path, &next);
	if (err) {
		pr_warn("gwd: %s is invalid; the running config stays\n", g->config_path);
		g->counters.reloads_failed++;
		return err;
	}
	if (strcmp(pin_root_of(&next), pin_root_of(&g->cfg))) {
		pr_warn("gwd: pin_root cannot change on reload (restart gwd); the running "
			"config stays\n");
		gw_cfg_free(&next);
		g->counters.reloads_failed++;
		return -EINVAL;
	}
	/* L7 first: what it loads (certificates, JWKS, key files, listener
	 * ports) can fail where the file's syntax could not tell; it keeps
	 * its running snapshot then, and so does everything else. */
	err = apply_l7(g, &next);
	if (err) {
		pr_warn("gwd: L7 cannot run %s (%s); the running config stays\n",
			g->config_path, strerror(-err));
		snprintf(g->problem, sizeof(g->problem), "L7 cannot run it: %s", strerror(-err));
		gw_cfg_free(&next);
		g->counters.reloads_failed++;
		return err;
	}
	attach_interfaces(g, &next, 0);
	detach_removed(g, &next);
	err = apply(g, &next);
	if (err) {
		pr_warn("gwd: applying %s failed (%s); reapplying the running config\n",
			g->config_path, strerror(-err));
		gw_cfg_free(&next);
		apply(g, &g->cfg);
		apply_l7(g, &g->cfg);
		g->counters.reloads_failed++;
		return err;
	}
	gw_cfg_free(&g->cfg);
	g->cfg = next;
	/* A listener that cannot move keeps serving where it was; the next
	 * reload tries again. */
	update_endpoints(g, &g->cfg);
	cluster_apply(g);
	if (g->problem_err) {
		/* The file is applied, but not all of it took: a failure. */
		g->counters.reloads_failed++;
		return g->problem_err;
	}
	g->counters.reloads_ok++;
	return 0;
}

/* SIGHUP or `gwctl reload`, bracketed by RELOADING=1 and READY=1 for
 * systemd. Returns 0 when the new file was applied, else -errno with what
 * went wrong in msg (len bytes, may be NULL). */
static int reload(struct gwd *g, char *msg, size_t len)
{
	struct timespec ts;
	int err;

	g->problem[0] = '\0';
	g->problem_err = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
	       (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000,
	       g->config_path);
	err = reload_apply(g);
	health_sync(g);
	g->last_reload.at = time(NULL);
	g->last_reload.err = err;
	g->last_reload.generation = g->generation;
	snprintf(g->last_reload.msg, sizeof(g->last_reload.msg), "%s",
		 g->problem[0] ? g->problem : err ? strerror(-err) : "");
	if (err && g->problem[0] && msg)
		snprintf(msg, len, g->problem_err ? "config generation %u applied, but: %s" :
						    "config generation %u stays: %s",
			 g->generation, g->problem);
	if (err)
		notify("READY=1\nSTATUS=reload failed (%s); running config generation %u",
		       g->problem[0] ? g->problem : strerror(-err), g->generation);
	else
		notify("READY=1\nSTATUS=running, config generation %u", g->generation);
	return err;
}

static int admin_reload(void *arg, char *msg, size_t len)
{
	return reload(arg, msg, len);
}

static void admin_backends_changed(void *arg)
{
	health_sync(arg);
}

static int admin_backend_health(void *arg, const struct gw_svc_key *svc,
				const struct gw_endpoint *be, struct gw_health_info *info)
{
	struct gwd *g = arg;

	return g->l4h ? gw_l4health_get(g->l4h, svc, be, info) : -1;
}

/* The admin verbs' tables with their contexts, on the current state (the
 * admin socket's, and the status page's). */
struct gwd_cmds {
	struct gw_dp_cmd_ctx dp;
	struct gw_admin_ctx own;
	struct gw_cmd_table t[4];
};

static void cmds_init(struct gwd *g, struct gwd_cmds *c)
{
	c->dp = (struct gw_dp_cmd_ctx){
		.maps = &g->maps,
		.pin_root = pin_root_of(&g->cfg),
		.cfg = &g->cfg,
		.config_path = g->config_path,
		.generation = g->generation,
		.backends_changed = admin_backends_changed,
		.backend_health = admin_backend_health,
		.ban_node = gw_cluster_link_ban_node,
		.ban_node_arg = &g->cluster,
		.arg = g,
	};
	c->own = (struct gw_admin_ctx){
		.config_path = g->config_path,
		.generation = g->generation,
		.reload = admin_reload,
		.arg = g,
	};
	c->t[0] = gw_dp_cmd_table(&c->dp);
	c->t[1] = gw_l7_cmd_table(&g->l7);
	c->t[2] = gw_admin_cmd_table(&c->own);
	c->t[3] = gw_cluster_cmd_table(&g->cluster);
}

/* Serves the admin socket's ready clients with the current state. */
static void on_admin(struct gw_io *io, __u32 events)
{
	struct gwd *g = container_of(io, struct gwd, admin_io);
	struct gwd_cmds c;

	cmds_init(g, &c);
	gw_admin_process(g->admin, c.t, sizeof(c.t) / sizeof(c.t[0]));
}

static void on_metrics(struct gw_io *io, __u32 events)
{
	struct gwd *g = container_of(io, struct gwd, metrics_io);
	struct gwd_cmds c;
	struct gw_status_src page = {
		.t = c.t, .n_t = sizeof(c.t) / sizeof(c.t[0]), .cfg = &g->cfg,
		.maps = &g->maps, .l7 = g->l7, .agent = &g->counters,
		.reload = &g->last_reload, .ring = g->status,
	};
	struct gw_metrics_src src = {
		.maps = &g->maps, .cfg = &g->cfg, .agent = &g->counters, .l7 = g->l7,
		.status = &page, .cluster = &g->cluster,
	};

	cmds_init(g, &c);
	g->counters.generation = g->generation;
	gw_metrics_process(g->metrics, &src);
}

/* The status page's rates: a sample when one is due (at start, then every
 * GW_STATUS_SAMPLE_NS); without memory the page shows no rates. */
static void status_sample(struct gwd *g)
{
	if (!g->status && gw_status_new(&g->status))
		g->status = NULL;
	if (g->status)
		gw_status_sample(g->status, &g->maps, g->l7);
}

/* Once a second: expired bans out, egresses that take no XDP frames
 * followed, the status page's sample taken. */
static void on_tick(struct gw_timer *t)
{
	struct gwd *g = container_of(t, struct gwd, tick);
	struct timespec now;

	gw_ban_gc(&g->maps.filter);
	clock_gettime(CLOCK_MONOTONIC, &now);
	gw_xdpcap_tick(&g->xdpcap, (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec);
	if (g->admin)
		gw_admin_tick(g->admin);
	if (g->metrics)
		gw_metrics_tick(g->metrics);
	status_sample(g);
	gw_timer_start(g->loop, &g->tick, GWD_TICK_NS, on_tick);
}

/* 1 when gw holds ifindex (it is a key of gw_ifaddr). */
static int is_ours(struct gwd *g, int ifindex)
{
	struct gw_ifaddr val;
	__u32 key = (__u32)ifindex;

	return !bpf_map_lookup_elem(g->maps.ifaddr, &key, &val);
}

/* Everything read again: attachments of configured interfaces, the
 * addresses of every attached one (entries of gone interfaces dropped). */
static void resync_all(struct gwd *g)
{
	attach_interfaces(g, &g->cfg, 0);
	gw_ifaddr_sync_all(g->maps.ifaddr, NULL);
	gw_xdpcap_check_all(&g->xdpcap);
}

/* A link exists with this name: a configured one gw is not on yet gets
 * attached (created or renamed after gwd started); one gw holds whose name
 * is no longer configured (renamed away) is left. */
static void nl_link_new(void *arg, int ifindex, const char *name)
{
	struct gwd *g = arg;
	const struct gw_cfg_iface *f = name[0] ? cfg_iface(&g->cfg, name) : NULL;
	int found, slot;

	if (!name[0])
		return;
	if (f && !is_ours(g, ifindex))
		attach_one(g, &g->cfg, f, ifindex, " (the interface appeared)");
	if (!is_ours(g, ifindex))
		return;
	/* state, carrier, features: the veth's peer may take XDP frames now,
	 * or no longer */
	gw_xdpcap_check(&g->xdpcap, ifindex);
	slot = seen_slot(g, ifindex, &found);
	if (found && !f && strcmp(g->seen[slot].name, name) &&
	    cfg_iface(&g->cfg, g->seen[slot].name)) {
		if (!gw_dp_detach(pin_root_of(&g->cfg), ifindex))
			pr_info("gwd: %s was renamed to %s, which is not configured; detached\n",
				g->seen[slot].name, name);
		g->seen[slot].ifindex = 0;
		return;
	}
	remember(g, ifindex, name);
}

/* A link is gone (its attachment went with it): its gw_ifaddr entry and
 * its tcx link pin are removed. */
static void nl_link_del(void *arg, int ifindex, const char *name)
{
	struct gwd *g = arg;
	int found, slot;

	if (!is_ours(g, ifindex))
		return;
	gw_xdpcap_forget(&g->xdpcap, ifindex);
	slot = seen_slot(g, ifindex, &found);
	if (found)
		g->seen[slot].ifindex = 0;
	pr_warn("gwd: interface %s (ifindex %d) is gone; forgetting it%s\n", name, ifindex,
		cfg_iface(&g->cfg, name) ? " (attaching again when it reappears)" : "");
	gw_dp_detach(pin_root_of(&g->cfg), ifindex);
}

/* The addresses of ifindex changed: its gw_ifaddr entry (the source of
 * NATed and encapsulated packets leaving there) is rewritten at once. */
static void nl_addr_changed(void *arg, int ifindex)
{
	struct gwd *g = arg;
	char a4[INET_ADDRSTRLEN] = "-", a6[INET6_ADDRSTRLEN] = "-", name[IF_NAMESIZE];
	struct gw_ifaddr ia;
	__u32 key = (__u32)ifindex;

	if (!is_ours(g, ifindex) || gw_ifaddr_sync_one(g->maps.ifaddr, ifindex))
		return;
	if (bpf_map_lookup_elem(g->maps.ifaddr, &key, &ia))
		return;
	if (ia.flags & GW_IFADDR_F_V4)
		inet_ntop(AF_INET, &ia.v4, a4, sizeof(a4));
	if (ia.flags & GW_IFADDR_F_V6)
		inet_ntop(AF_INET6, ia.v6, a6, sizeof(a6));
	pr_info("gwd: addresses of %s: %s %s\n",
		if_indextoname((unsigned int)ifindex, name) ? name : "?", a4, a6);
}

static void nl_resync(void *arg)
{
	resync_all(arg);
}

/* Routes, neighbours, rules or links changed: the datapath's cached FIB
 * answers toward backends must be looked up again. */
static void nl_fib_changed(void *arg)
{
	struct gwd *g = arg;

	gw_fib_gen_bump(g->maps.config);
}

/* A neighbour failed or was removed (ip neigh flush, garbage collection):
 * the backends' next hops are resolved again, at most once a second (the
 * datapath resolves through bpf_redirect_neigh meanwhile). */
static void nl_neigh_lost(void *arg)
{
	static struct timespec last;
	struct gwd *g = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (last.tv_sec && now.tv_sec - last.tv_sec < 1)
		return;
	last = now;
	gw_neigh_resolve_backends(&g->maps);
}

static const struct gw_nlmon_ops nl_ops = {
	.link_new = nl_link_new,
	.link_del = nl_link_del,
	.addr_changed = nl_addr_changed,
	.resync = nl_resync,
	.fib_changed = nl_fib_changed,
	.neigh_lost = nl_neigh_lost,
};

static void on_netlink(struct gw_io *io, __u32 events)
{
	struct gwd *g = container_of(io, struct gwd, nl_io);

	gw_nlmon_process(g->nlmon, &nl_ops, g);
}

/* Every 30 s: the safety resync. */
static void on_resync(struct gw_timer *t)
{
	struct gwd *g = container_of(t, struct gwd, resync);

	resync_all(g);
	gw_timer_start(g->loop, &g->resync, GWD_RESYNC_NS, on_resync);
}

static void on_signal(struct gw_io *io, __u32 events)
{
	struct gwd *g = container_of(io, struct gwd, sig_io);
	struct signalfd_siginfo si;

	while (read(g->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(g, NULL, 0);
		else if (si.ssi_signo == SIGUSR1 && g->l7)
			gw_l7_reopen_logs(g->l7);
		else if (si.ssi_signo != SIGUSR1)
			gw_loop_stop(g->loop);
	}
}

/* One gwd per pin root: a lock file next to the pins' directory. */
static int take_lock(struct gwd *g)
{
	char path[PATH_MAX];
	const char *root = pin_root_of(&g->cfg);
	const char *base = strrchr(root, '/');

	mkdir("/run/gw", 0750);
	snprintf(path, sizeof(path), "/run/gw/gwd-%s.lock", base && base[1] ? base + 1 : "gw");
	g->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (g->lock_fd < 0)
		return -errno;
	if (flock(g->lock_fd, LOCK_EX | LOCK_NB)) {
		pr_err("gwd: another gwd runs for %s (%s is locked)\n", root, path);
		return -EBUSY;
	}
	return 0;
}

static const char *admin_path_of(const struct gw_cfg *cfg)
{
	return cfg->gateway.admin_socket ? cfg->gateway.admin_socket : GW_ADMIN_SOCKET_DEFAULT;
}

static void admin_free_cb(void *arg)
{
	gw_admin_close(arg);
}

static void metrics_free_cb(void *arg)
{
	gw_metrics_close(arg);
}

/* Serves the admin socket at path: the new listener is opened first and
 * only then the running one closed (after the current batch of events, so
 * a `gwctl reload` that moved the socket still gets its answer). A failure
 * keeps the running socket. Returns 0 or -errno. */
static int admin_switch(struct gwd *g, const char *path)
{
	struct gw_admin *next;
	char *copy;
	int err;

	if (g->admin && !strcmp(g->admin_path, path))
		return 0;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	err = gw_admin_open(path, &next);
	if (err) {
		problem(g, err, "cannot serve the admin socket at %s: %s%s; %s", path,
			strerror(-err), err == -EPERM || err == -EACCES ? gw_caps_hint() : "",
			g->admin ? "the running one stays" : "gwctl falls back to the pins");
		free(copy);
		return err;
	}
	if (g->admin) {
		/* The same io now watches the new socket; an event of the old
		 * one pending in this batch is a harmless spurious wake-up. */
		gw_io_stop(g->loop, &g->admin_io);
		gw_loop_defer(g->loop, admin_free_cb, g->admin);
		pr_info("gwd: admin socket moved from %s to %s\n", g->admin_path, path);
	}
	gw_io_start(g->loop, &g->admin_io, gw_admin_fd(next), EPOLLIN, on_admin);
	free(g->admin_path);
	g->admin_path = copy;
	g->admin = next;
	return 0;
}

/* Serves metrics on ep (family 0: none), opening before closing like
 * admin_switch. Returns 0 or -errno. */
static int metrics_switch(struct gwd *g, const struct gw_endpoint *ep)
{
	char addr[GW_ADDR_STRLEN], old[GW_ADDR_STRLEN];
	struct gw_metrics *next = NULL;
	int err;

	if (g->metrics && ep->ip.family && gw_ip_equal(&ep->ip, &g->metrics_ep.ip) &&
	    ep->port == g->metrics_ep.port)
		return 0;
	if (!g->metrics && !ep->ip.family)
		return 0;
	if (ep->ip.family) {
		gw_endpoint_str(ep, addr, sizeof(addr));
		err = gw_metrics_open(ep, &next);
		if (err) {
			problem(g, err, "cannot serve metrics on %s: %s%s%s", addr, strerror(-err),
				err == -EPERM || err == -EACCES ? gw_caps_hint() : "",
				g->metrics ? "; the running listener stays" : "");
			return err;
		}
	}
	if (g->metrics) {
		gw_endpoint_str(&g->metrics_ep, old, sizeof(old));
		gw_io_stop(g->loop, &g->metrics_io);
		gw_loop_defer(g->loop, metrics_free_cb, g->metrics);
		pr_info("gwd: metrics no longer on %s\n", old);
	}
	g->metrics = next;
	memset(&g->metrics_ep, 0, sizeof(g->metrics_ep));
	if (next) {
		g->metrics_ep = *ep;
		gw_io_start(g->loop, &g->metrics_io, gw_metrics_fd(next), EPOLLIN, on_metrics);
		pr_info("gwd: metrics on http://%s/metrics\n", addr);
	}
	return 0;
}

/* The admin socket and the metrics listener of cfg: each optional at start
 * (a failure is a warning; gwctl falls back to the pins); on reload each is
 * moved when its address changed. Returns 0, or the first -errno. */
static int update_endpoints(struct gwd *g, const struct gw_cfg *cfg)
{
	int err = admin_switch(g, admin_path_of(cfg));
	int e2 = metrics_switch(g, &cfg->gateway.metrics);

	return err ? err : e2;
}

static void close_endpoints(struct gwd *g)
{
	if (g->admin) {
		gw_io_stop(g->loop, &g->admin_io);
		gw_admin_close(g->admin);
		g->admin = NULL;
	}
	free(g->admin_path);
	g->admin_path = NULL;
	if (g->metrics) {
		gw_io_stop(g->loop, &g->metrics_io);
		gw_metrics_close(g->metrics);
		g->metrics = NULL;
	}
	gw_status_free(g->status);
	g->status = NULL;
}

/* Half the systemd watchdog interval: WATCHDOG=1. */
static void on_watchdog(struct gw_timer *t)
{
	struct gwd *g = container_of(t, struct gwd, watchdog);

	sd_notify(0, "WATCHDOG=1");
	gw_timer_start(g->loop, &g->watchdog, g->watchdog_ns, on_watchdog);
}

/* Keeps the capabilities gwd needs from now on (caps.h). Returns 0 or
 * -errno. */
static int drop_caps(struct gwd *g)
{
	int caps[GW_CAPS_MAX], n;

	if (g->keep_caps) {
		pr_info("gwd: --keep-caps: keeping every capability\n");
		return 0;
	}
	n = gw_caps_runtime_set(caps, GW_CAPS_MAX);
	return gw_caps_drop(caps, n);
}

static int run(struct gwd *g)
{
	sigset_t mask;
	uint64_t wd_us = 0;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);	/* access log rotation */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	g->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (g->sfd < 0)
		return -errno;
	err = gw_loop_new(&g->loop);
	if (!err)
		err = gw_io_start(g->loop, &g->sig_io, g->sfd, EPOLLIN, on_signal);
	if (!err)
		err = gw_timer_start(g->loop, &g->tick, GWD_TICK_NS, on_tick);
	if (!err)
		err = gw_timer_start(g->loop, &g->resync, GWD_RESYNC_NS, on_resync);
	if (!err)
		err = gw_io_start(g->loop, &g->nl_io, gw_nlmon_fd(g->nlmon), EPOLLIN, on_netlink);
	if (err)
		goto out;
	update_endpoints(g, &g->cfg);
	err = drop_caps(g);
	if (err)
		goto out_endpoints;
	cluster_apply(g);
	/* After the drop: capabilities are per thread, so the L7 workers are
	 * started with the reduced set (NET_BIND_SERVICE is kept). */
	err = apply_l7(g, &g->cfg);
	if (err)
		goto out_endpoints;
	err = gw_l4health_new(g->loop, &g->maps, &g->l4h);
	if (err)
		pr_warn("gwd: no health checks: %s\n", strerror(-err));
	health_sync(g);
	status_sample(g);
	err = 0;
	if (sd_watchdog_enabled(0, &wd_us) > 0 && wd_us) {
		g->watchdog_ns = wd_us * 1000ull / 2;
		gw_timer_start(g->loop, &g->watchdog, g->watchdog_ns, on_watchdog);
	}

	pr_info("gwd: running (pins under %s)\n", pin_root_of(&g->cfg));
	notify("READY=1\nSTATUS=running, config generation %u", g->generation);
	err = gw_loop_run(g->loop);
	notify("STOPPING=1\nSTATUS=stopping");
out_endpoints:
	close_endpoints(g);
	if (g->l7) {
		pr_info("gwd: draining L7 connections\n");
		gw_l7_stop(g->l7, drain_ns_of(&g->cfg));
		g->l7 = NULL;
	}
	gw_l7_drains_wait();
	gw_cluster_link_stop(&g->cluster);
out:
	gw_l4health_free(g->l4h);
	g->l4h = NULL;
	gw_loop_free(g->loop);
	g->loop = NULL;
	close(g->sfd);
	g->sfd = -1;
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gwd [-c FILE] [--foreground] [--check [--syntax-only]] [--map-size NAME=N]... "
		   "[--keep-caps] [--log-format FMT] [--verbose] [--version]\n"
		   "  -c, --config FILE   gateway.yaml (default " GWD_DEFAULT_CONFIG ")\n"
		   "  --check             validate FILE: exit 0 if valid, 1 with every problem\n"
		   "  --syntax-only       with --check: skip the files FILE names (certificates,\n"
		   "                      key sets, the access log's folder)\n"
		   "  --foreground        do not detach from the terminal\n"
		   "  --keep-caps         keep every capability (debugging; default: drop to\n"
		   "                      what running needs after start)\n"
		   "  --map-size NAME=N   size a datapath map at first load (ct, nat, rl_v4,\n"
		   "                      rl_v6, filter_v4, filter_v6, ban_v4, ban_v6)\n"
		   "  --log-format FMT    auto (journald's prefix under journald, else\n"
		   "                      timestamped lines), text, json or journal\n"
		   "  -v, --verbose       debug logging\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "syntax-only", no_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "keep-caps", no_argument, NULL, 'K' },
		{ "map-size", required_argument, NULL, 'm' },
		{ "log-format", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gwd g = { .config_path = GWD_DEFAULT_CONFIG, .lock_fd = -1, .sfd = -1 };
	struct gw_dp_opts dopts = { 0 };
	enum gw_log_format fmt = GW_LOG_FMT_AUTO;
	int check = 0, syntax_only = 0, foreground = 0, c, err;
	size_t i;

	while ((c = getopt_long(argc, argv, "c:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': g.config_path = optarg; break;
		case 'k': check = check ? check : 1; break;
		case 'S': syntax_only = 1; break;
		case 'f': foreground = 1; break;
		case 'K': g.keep_caps = 1; break;
		case 'v': gw_log_set_level(GW_LOG_DEBUG); break;
		case 'm':
			if (gw_dp_sizes_parse(&g.sizes, optarg)) {
				fprintf(stderr, "gwd: bad --map-size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'L':
			if (gw_log_format_parse(optarg, &fmt)) {
				fprintf(stderr, "gwd: --log-format takes auto, text, json or journal, "
					"not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'V': printf("gwd " GWD_VERSION "\n"); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (syntax_only && !check)) {
		usage(stderr);
		return 2;
	}
	if (syntax_only)
		check = 2;
	gw_log_set_format(fmt);

	if (check)
		return check_only(g.config_path, check == 2);
	if (load_config(g.config_path, &g.cfg))
		return 1;

	/* What the L7 layer reads from files, and its listeners, are checked
	 * before anything is touched and before gwd detaches: a start that
	 * cannot work fails here, with the exit status the caller sees. */
	if (check_files(g.config_path, &g.cfg) || gw_l7_precheck(&g.cfg)) {
		gw_cfg_free(&g.cfg);
		return 1;
	}
	gw_log_hook_libbpf();
	err = take_lock(&g);
	if (err)
		goto out;
	/* Subscribed before the first attach: an interface that appears in
	 * between is reported, not missed. */
	err = gw_nlmon_open(0, &g.nlmon);
	if (err)
		goto out;
	dopts.pin_root = pin_root_of(&g.cfg);
	dopts.sizes = g.sizes;
	err = gw_dp_open(&dopts, &g.dp);
	if (!err)
		err = gw_dp_maps_from(g.dp, &g.maps);
	if (!err) {
		gw_xdpcap_init(&g.xdpcap, g.maps.ifaddr, g.maps.config);
		err = attach_interfaces(&g, &g.cfg, 1);
	}
	if (!err)
		err = apply(&g, &g.cfg);
	if (err) {
		pr_err("gwd: cannot start: %s\n", strerror(-err));
		goto out;
	}
	if (!foreground && daemon(0, 1)) {
		err = -errno;
		goto out;
	}
	err = run(&g);

	if (g.cfg.gateway.keep_datapath_on_exit) {
		pr_info("gwd: exiting; the datapath stays attached (keep_datapath_on_exit)\n");
	} else {
		for (i = 0; i < g.cfg.gateway.n_interfaces; i++) {
			int ifindex = (int)if_nametoindex(g.cfg.gateway.interfaces[i].name);

			if (ifindex)
				gw_dp_detach(pin_root_of(&g.cfg), ifindex);
		}
		gw_dp_maps_close(&g.maps);
		gw_dp_close(g.dp);
		g.dp = NULL;
		gw_dp_unload(pin_root_of(&g.cfg));
		pr_info("gwd: exiting; datapath detached and unpinned\n");
	}
out:
	gw_nlmon_close(g.nlmon);
	if (g.dp) {
		gw_dp_maps_close(&g.maps);
		gw_dp_close(g.dp);
	}
	if (g.lock_fd >= 0)
		close(g.lock_fd);
	gw_cfg_free(&g.cfg);
	return err ? 1 : 0;
}
