/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's side of the cluster (cluster/cluster.h): starts the cluster thread
 * for the config's cluster section, hands the L7 runtime its hooks (bans
 * published, scope: cluster limits decided on shared state), writes bans
 * read from Redis into the XDP ban maps, shares the `nat` flows (cluster.
 * nat_source: the datapath's new flows out, the other nodes' into gw_ct
 * and gw_nat) and serves `cluster status`.
 *
 * The gw_cluster lives until gwd exits: L7 workers call into it without a
 * lock, so a reload never frees it. A reload that adds the section starts
 * it; one that changes the connection settings is told to restart gwd.
 */
#ifndef GW_CLUSTER_LINK_H
#define GW_CLUSTER_LINK_H

#include <stdio.h>
#include "cluster/cluster.h"
#include "core/cmd.h"
#include "dp/dp.h"
#include "dp/filter.h"
#include "dp/natsync.h"
#include "l7/l7limit.h"

struct gw_cluster_link {
	struct gw_cluster *cluster;	/* atomic; NULL: no cluster section yet */
	const struct gw_filter_maps *filter;
	const struct gw_dp_maps *maps;	/* cluster.nat_source, `nat` state */
	struct gw_natsync_reader *nat_reader;	/* atomic; the cluster thread's */
	int ban_shared;			/* atomic: filter.ban.scope is cluster */
};

/* Follows cfg (at start and after each applied reload): starts the
 * cluster when the section appears, says what the heartbeats carry.
 * Returns 0, or -errno with why in msg (the running cluster stays). */
int gw_cluster_link_apply(struct gw_cluster_link *k, const struct gw_cfg *cfg,
			  unsigned int generation, char *msg, size_t len);

/* Stops the cluster thread (gwd exits, the L7 workers are gone). */
void gw_cluster_link_stop(struct gw_cluster_link *k);

/* The L7 runtime's ban hook: the XDP ban maps, and every node's when
 * filter.ban.scope is cluster. Returns 0 or -errno. */
int gw_cluster_link_ban(void *arg, const struct gw_cidr *prefix, __u64 duration_ns);

/* The L7 runtime's hook for scope: cluster limits. */
struct gw_l7limit_shared gw_cluster_link_limits(struct gw_cluster_link *k);

/* The node a ban came from (for `filter list`). Returns 0 or -ENOENT. */
int gw_cluster_link_ban_node(void *arg, const struct gw_cidr *prefix, char *buf, size_t len);

/* gw_cluster_redis_up, gw_cluster_fallback_total and the round trips. */
void gw_cluster_link_metrics(struct gw_cluster_link *k, FILE *f);

/* `cluster status`. */
struct gw_cmd_table gw_cluster_cmd_table(struct gw_cluster_link *k);

#endif /* GW_CLUSTER_LINK_H */
