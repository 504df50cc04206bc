/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's admin verbs (core/cmd.h): status, stats, filter,
 * ratelimit, service, backend and conntrack. They work on a set of map
 * descriptors, so gwd (its loaded datapath) and gwctl (the pins, when no
 * agent answers) run the same code. Every change is immediate and
 * ephemeral: the file replaces it on the next reload.
 */
#ifndef GW_DP_CMDS_H
#define GW_DP_CMDS_H

#include "config/config.h"
#include "core/cmd.h"
#include "core/health.h"
#include "dp/dp.h"

/* What the datapath's verbs work on. */
struct gw_dp_cmd_ctx {
	const struct gw_dp_maps *maps;
	const char *pin_root;
	const struct gw_cfg *cfg;	/* the running config; NULL without an agent */
	const char *config_path;	/* NULL without an agent */
	unsigned int generation;	/* the agent's config generation */
	/* After a live backend change, so that health checks follow it. NULL
	 * without an agent. */
	void (*backends_changed)(void *arg);
	/* The health of backend be of service svc: -1 when unchecked, else a
	 * gw_health_state with *info filled. NULL without an agent (the
	 * backends' down marks are shown then). */
	int (*backend_health)(void *arg, const struct gw_svc_key *svc,
			      const struct gw_endpoint *be, struct gw_health_info *info);
	/* The cluster node a ban came from, into buf: 0 or -ENOENT. NULL
	 * without a cluster. */
	int (*ban_node)(void *arg, const struct gw_cidr *prefix, char *buf, size_t len);
	void *ban_node_arg;
	void *arg;
};

/* The datapath's verbs on ctx (which must outlive the table's use).
 * Returns the table. */
struct gw_cmd_table gw_dp_cmd_table(const struct gw_dp_cmd_ctx *ctx);

#endif /* GW_DP_CMDS_H */
