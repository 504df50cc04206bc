// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gwd, the agent: reads gateway.yaml, loads and attaches the datapath on the
 * configured interfaces, writes the maps, and keeps them in step with the
 * file (SIGHUP: re-read, apply the difference, keep the old config when the
 * new one is invalid) and with the interfaces' addresses.
 *
 * One thread, one epoll loop (signalfd, timerfd, the admin socket); the L7
 * proxy and metrics will join the same loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "admin.h"
#include "metrics.h"
#include "apply.h"
#include "config.h"
#include "dp.h"
#include "filter.h"
#include "ifaddr.h"
#include "log.h"

#define GWD_VERSION "0.1.0"
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
};

static void print_errors(const struct gw_cfg_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

/* Parses the file; on failure prints every problem. Returns 0 or -errno. */
static int load_config(const char *path, struct gw_cfg *cfg)
{
	struct gw_cfg_errors errs;
	int err;

	err = gw_cfg_load(path, cfg, &errs);
	if (err)
		print_errors(&errs);
	gw_cfg_errors_free(&errs);
	return err;
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

/* Attaches gw to every configured interface it is not on yet. A missing
 * interface is an error at start and a warning on reload. */
static int attach_interfaces(struct gwd *g, const struct gw_cfg *cfg, int strict)
{
	size_t i;
	int err;

	for (i = 0; i < cfg->gateway.n_interfaces; i++) {
		const struct gw_cfg_iface *f = &cfg->gateway.interfaces[i];
		enum gw_attach_kind kind = GW_ATTACH_NONE;
		int ifindex = (int)if_nametoindex(f->name);

		if (!ifindex) {
			pr_warn("gwd: interface %s does not exist\n", f->name);
			if (strict)
				return -ENODEV;
			continue;
		}
		if (gw_dp_attached(pin_root_of(cfg), ifindex) > 0) {
			gw_ifaddr_sync_one(g->maps.ifaddr, ifindex);
			continue;	/* adopted from a previous gwd */
		}
		err = gw_dp_attach_xdp(g->dp, ifindex, xdp_mode_of(f->xdp_mode), &kind);
		if (err) {
			pr_warn("gwd: cannot attach to %s: %s\n", f->name, strerror(-err));
			if (strict)
				return err;
			continue;
		}
		pr_info("gwd: attached to %s (%s)\n", f->name, gw_attach_kind_str(kind));
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

/* SIGHUP or `gwctl reload`: the new file or, when it is invalid, the old
 * config as it is. Returns 0 when the new file was applied, else -errno. */
static int reload(struct gwd *g)
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
	attach_interfaces(g, &next, 0);
	detach_removed(g, &next);
	err = apply(g, &next);
	if (err) {
		pr_warn("gwd: applying %s failed (%s); reapplying the running config\n",
			g->config_path, strerror(-err));
		gw_cfg_free(&next);
		apply(g, &g->cfg);
		g->counters.reloads_failed++;
		return err;
	}
	gw_cfg_free(&g->cfg);
	g->cfg = next;
	g->counters.reloads_ok++;
	return 0;
}

static int admin_reload(void *arg)
{
	return reload(arg);
}

/* Serves the admin socket's ready clients with the current state. */
static void admin_serve(struct gwd *g)
{
	struct gw_admin_ctx ctx = {
		.maps = &g->maps,
		.pin_root = pin_root_of(&g->cfg),
		.cfg = &g->cfg,
		.config_path = g->config_path,
		.generation = g->generation,
		.reload = admin_reload,
		.arg = g,
	};

	gw_admin_process(g->admin, &ctx);
}

/* Once a second: expired bans out, addresses refreshed. */
static void tick(struct gwd *g)
{
	gw_ban_gc(&g->maps.filter);
	gw_ifaddr_sync_all(g->maps.ifaddr, NULL);
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

static int run(struct gwd *g)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev, evs[8];
	sigset_t mask;
	int ep = -1, sfd = -1, tfd = -1, err = 0, n, i, stop = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		err = -errno;
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	err = gw_admin_open(g->cfg.gateway.admin_socket, &g->admin);
	if (err) {
		pr_warn("gwd: no admin socket (%s); gwctl falls back to the pins\n",
			strerror(-err));
		err = 0;
	} else {
		ev.data.fd = gw_admin_fd(g->admin);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (g->cfg.gateway.metrics.ip.family) {
		char addr[GW_ADDR_STRLEN];

		gw_endpoint_str(&g->cfg.gateway.metrics, addr, sizeof(addr));
		err = gw_metrics_open(&g->cfg.gateway.metrics, &g->metrics);
		if (err) {
			pr_warn("gwd: cannot serve metrics on %s: %s\n", addr, strerror(-err));
			err = 0;
		} else {
			ev.data.fd = gw_metrics_fd(g->metrics);
			epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
			pr_info("gwd: metrics on http://%s/metrics\n", addr);
		}
	}

	pr_info("gwd: running (pins under %s)\n", pin_root_of(&g->cfg));
	while (!stop) {
		n = epoll_wait(ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == tfd) {
				__u64 exp;

				if (read(tfd, &exp, sizeof(exp)) == sizeof(exp))
					tick(g);
			} else if (evs[i].data.fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(g);
					else
						stop = 1;
				}
			} else if (g->admin && evs[i].data.fd == gw_admin_fd(g->admin)) {
				admin_serve(g);
			} else if (g->metrics && evs[i].data.fd == gw_metrics_fd(g->metrics)) {
				struct gw_metrics_src src = { &g->maps, &g->cfg, &g->counters };

				g->counters.generation = g->generation;
				gw_metrics_process(g->metrics, &src);
			}
		}
	}
out:
	gw_admin_close(g->admin);
	g->admin = NULL;
	gw_metrics_close(g->metrics);
	g->metrics = NULL;
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gwd [-c FILE] [--foreground] [--check] [--map-size NAME=N]... "
		   "[--verbose] [--version]\n"
		   "  -c, --config FILE   gateway.yaml (default " GWD_DEFAULT_CONFIG ")\n"
		   "  --check             validate FILE: exit 0 if valid, 1 with every problem\n"
		   "  --foreground        do not detach from the terminal\n"
		   "  --map-size NAME=N   size a datapath map at first load (ct, nat, rl_v4,\n"
		   "                      rl_v6, filter_v4, filter_v6, ban_v4, ban_v6)\n"
		   "  -v, --verbose       debug logging\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "map-size", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gwd g = { .config_path = GWD_DEFAULT_CONFIG, .lock_fd = -1 };
	struct gw_dp_opts dopts = { 0 };
	int check = 0, foreground = 0, c, err;
	size_t i;

	while ((c = getopt_long(argc, argv, "c:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': g.config_path = optarg; break;
		case 'k': check = 1; break;
		case 'f': foreground = 1; break;
		case 'v': gw_log_set_level(GW_LOG_DEBUG); break;
		case 'm':
			if (gw_dp_sizes_parse(&g.sizes, optarg)) {
				fprintf(stderr, "gwd: bad --map-size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'V': printf("gwd " GWD_VERSION "\n"); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if (load_config(g.config_path, &g.cfg))
		return 1;
	if (check) {
		printf("%s: valid\n", g.config_path);
		gw_cfg_free(&g.cfg);
		return 0;
	}

	gw_log_hook_libbpf();
	err = take_lock(&g);
	if (err)
		goto out;
	dopts.pin_root = pin_root_of(&g.cfg);
	dopts.sizes = g.sizes;
	err = gw_dp_open(&dopts, &g.dp);
	if (!err)
		err = gw_dp_maps_from(g.dp, &g.maps);
	if (!err)
		err = attach_interfaces(&g, &g.cfg, 1);
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
	if (g.dp) {
		gw_dp_maps_close(&g.maps);
		gw_dp_close(g.dp);
	}
	if (g.lock_fd >= 0)
		close(g.lock_fd);
	gw_cfg_free(&g.cfg);
	return err ? 1 : 0;
}
