/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gw nodes sharing state through Redis (cluster: in gateway.yaml;
 * docs/cluster.md). One thread of its own, `cluster`, talks to Redis
 * (redis.h) so no event loop ever waits on it:
 *
 * - bans (filter.ban.scope: cluster): a node's ban goes into a sorted set
 *   with its deadline (Redis' clock); every node polls a sequence number
 *   every 100 ms and reads the set when it moved, so a ban reaches every
 *   node's XDP deny list within about 200 ms, ends everywhere at its
 *   deadline, and a restarted node reads the bans still running;
 * - rate limits (routes[].rate_limit.scope: cluster): GCRA state in Redis,
 *   taken in batches of tokens by a Lua script (gw_cluster_rl_check);
 * - `nat` state (cluster.nat_source): every node's new flows, in batches
 *   every 100 ms, into a stream all nodes read and import;
 * - heartbeats: each node's name, config generation and hash every second,
 *   read back for `gwctl cluster status`.
 *
 * With Redis down or slower than the timeout, limits fall back to the node
 * (the caller's own table), bans already written stay in XDP and a node's
 * new bans wait to be published; the thread reconnects every second.
 */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include <stddef.h>
#include <linux/types.h>
#include <jansson.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/natshare.h"

struct gw_cluster;

struct gw_cluster_hooks {
	/* Called on the cluster thread for each ban read from Redis (any
	 * node's, this one's too after a restart): ttl_ns from now. Returns 0
	 * or -errno. */
	int (*ban)(void *arg, const struct gw_cidr *prefix, __u64 ttl_ns);
	/* With the NAT state shared (gw_cluster_set_nat_sync), on the
	 * cluster thread every 100 ms: takes up to max of this node's new
	 * `nat` flows into v (returns how many, or -errno), and hands over n
	 * flows another node published (returns how many were written, or
	 * -errno). Either may be NULL. */
	int (*nat_take)(void *arg, struct gw_nat_share *v, size_t max);
	int (*nat_put)(void *arg, const struct gw_nat_share *v, size_t n);
	void *arg;
};

/* Starts the thread for cfg->cluster (which must be present); the node
 * name is cfg's or the hostname. Connecting goes on in the background.
 * Returns 0 and *out, or -errno (-EINVAL: bad address, unreadable
 * password file). */
int gw_cluster_new(const struct gw_cfg *cfg, const struct gw_cluster_hooks *h,
		   struct gw_cluster **out);

/* Stops the thread (waits at most one Redis timeout) and frees. NULL is
 * ignored. */
void gw_cluster_free(struct gw_cluster *c);

/* 1 when cfg's cluster section would need a new gw_cluster (address,
 * node, credentials, TLS differ from the running one's). */
int gw_cluster_changed(const struct gw_cluster *c, const struct gw_cfg *cfg);

/* What the heartbeats say of this node: the config generation and the
 * file's text (hashed with SHA-256). Any thread. */
void gw_cluster_set_config(struct gw_cluster *c, unsigned int generation, const char *text,
			   size_t len);

/* Shares this node's `nat` flows through Redis and imports the other
 * nodes' (cluster.nat_source set), or stops doing so. Any thread. */
void gw_cluster_set_nat_sync(struct gw_cluster *c, int on);

/* Queues a ban made on this node for every node (any thread, never
 * blocks). Returns 0 or -ENOSPC when 1024 bans wait already. */
int gw_cluster_publish_ban(struct gw_cluster *c, const struct gw_cidr *prefix,
			   __u64 duration_ns);

/* The node a ban read from Redis came from, copied into buf. Returns 0
 * or -ENOENT. Any thread. */
int gw_cluster_ban_node(struct gw_cluster *c, const struct gw_cidr *prefix, char *buf,
			size_t len);

/* This node's name. */
const char *gw_cluster_node(const struct gw_cluster *c);

/* A shared GCRA decision (see docs/cluster.md for the bound). */
struct gw_cluster_rl {
	const char *key;	/* stable across nodes, <= GW_CLUSTER_RL_KEY_MAX */
	__u64 interval_ns, tolerance_ns;
	__u32 burst;
};
#define GW_CLUSTER_RL_KEY_MAX 96

struct gw_cluster_verdict {
	int allowed;
	__u32 remaining;	/* the cluster's, as of the last lease, less ours used */
	__u64 reset_ns;
	__u64 retry_after_ns;
};

/*
 * Decides one request against the shared bucket: from tokens leased
 * ahead (no Redis round trip), or, when none are left, after waiting for
 * a lease at most the timeout. Any thread. Returns 0 with *v, or -EAGAIN
 * when Redis is down or too slow (the caller decides node-locally;
 * counted in fallback_total).
 */
int gw_cluster_rl_check(struct gw_cluster *c, const struct gw_cluster_rl *rl, __u64 now_ns,
			struct gw_cluster_verdict *v);

/* The batch of tokens leased at a time for a limit of this burst and
 * emission interval: burst/16 or 20 ms worth of tokens at the full rate,
 * whichever is smaller, at least 1 (and at most 65536). */
__u32 gw_cluster_rl_batch(__u32 burst, __u64 interval_ns);

struct gw_cluster_stats {
	int redis_up;
	__u64 fallback_total;	/* decisions made node-local for lack of Redis */
	__u64 round_trips;	/* Redis exchanges */
	__u64 leases;		/* lease scripts run */
	__u64 shared_decisions;	/* rate-limit decisions on shared state */
	__u64 bans_published, bans_imported;
	__u64 nat_published, nat_imported;	/* `nat` flows */
};

void gw_cluster_stats(struct gw_cluster *c, struct gw_cluster_stats *st);

/* `gwctl cluster status`: this node, Redis' state and address, and every
 * node heard from (name, age of its heartbeat, generation, hash; hashes
 * unlike this node's flagged). Returns a new object or NULL (ENOMEM). */
json_t *gw_cluster_status_json(struct gw_cluster *c);

#endif /* GW_CLUSTER_H */
