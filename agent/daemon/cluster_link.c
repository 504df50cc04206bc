// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* gwd's side of the cluster (cluster_link.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/cluster_link.h"
#include "core/log.h"
#include "core/prom.h"

static struct gw_cluster *cluster_of(const struct gw_cluster_link *k)
{
	return __atomic_load_n(&k->cluster, __ATOMIC_ACQUIRE);
}

/* A ban read from Redis: into this node's XDP. Returns 0 or -errno. */
static int ban_from_cluster(void *arg, const struct gw_cidr *prefix, __u64 ttl_ns)
{
	struct gw_cluster_link *k = arg;

	return gw_ban_add(k->filter, prefix, ttl_ns, GW_ORIGIN_BAN);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* The datapath's new `nat` flows, for Redis. Returns how many, or -errno. */
static int nat_take(void *arg, struct gw_nat_share *v, size_t max)
{
	struct gw_cluster_link *k = arg;
	struct gw_natsync_reader *r = __atomic_load_n(&k->nat_reader, __ATOMIC_ACQUIRE);

	return r ? gw_natsync_read(r, v, max) : 0;
}

/* Another node's `nat` flows, into gw_ct and gw_nat. Returns how many
 * were written, or -errno. */
static int nat_put(void *arg, const struct gw_nat_share *v, size_t n)
{
	struct gw_cluster_link *k = arg;

	return k->maps ? gw_natsync_import(&k->maps->lb, v, n, mono_ns()) : 0;
}

/* cluster.nat_source into the datapath (cleared without it) and the ring
 * reader the thread takes the new flows from. Returns the number of
 * addresses (0: no sharing), or -errno. */
static int nat_source_apply(struct gw_cluster_link *k, const struct gw_cfg *cfg)
{
	size_t n = cfg->cluster.pos.line ? cfg->cluster.n_nat_source : 0;
	struct gw_natsync_reader *r;
	int err;

	if (!k->maps || k->maps->nat_src < 0)
		return n ? -ENODEV : 0;
	err = gw_natsync_source_set(k->maps->nat_src, k->maps->config, cfg->cluster.nat_source,
				    n);
	if (err || !n || k->nat_reader)
		return err ? err : (int)n;
	err = gw_natsync_reader_new(k->maps->nat_events, &r);
	if (err)
		return err;
	__atomic_store_n(&k->nat_reader, r, __ATOMIC_RELEASE);
	return (int)n;
}

int gw_cluster_link_apply(struct gw_cluster_link *k, const struct gw_cfg *cfg,
			  unsigned int generation, char *msg, size_t len)
{
	struct gw_cluster_hooks h = {
		.ban = ban_from_cluster, .nat_take = nat_take, .nat_put = nat_put, .arg = k,
	};
	struct gw_cluster *c = cluster_of(k);
	int err, nat = nat_source_apply(k, cfg);

	__atomic_store_n(&k->ban_shared, cfg->cluster.pos.line &&
			 cfg->filter.ban.scope == GW_SCOPE_CLUSTER, __ATOMIC_RELEASE);
	if (!cfg->cluster.pos.line) {
		if (c)
			snprintf(msg, len, "the cluster section is gone: restart gwd to leave "
				 "the cluster (scope: cluster settings are now node-local)");
		return c ? -EBUSY : 0;
	}
	if (c && gw_cluster_changed(c, cfg)) {
		snprintf(msg, len, "cluster settings changed: restart gwd to apply them");
		gw_cluster_set_config(c, generation, cfg->text, cfg->text_len);
		return -EBUSY;
	}
	if (!c) {
		err = gw_cluster_new(cfg, &h, &c);
		if (err) {
			snprintf(msg, len, "cannot start the cluster: %s", strerror(-err));
			return err;
		}
		pr_info("cluster: node %s, Redis at %s\n", gw_cluster_node(c),
			cfg->cluster.redis.address);
		__atomic_store_n(&k->cluster, c, __ATOMIC_RELEASE);
	}
	gw_cluster_set_config(c, generation, cfg->text, cfg->text_len);
	gw_cluster_set_nat_sync(c, nat > 0);
	if (nat < 0) {
		snprintf(msg, len, "cluster: cannot share the nat state: %s", strerror(-nat));
		return nat;
	}
	return 0;
}

void gw_cluster_link_stop(struct gw_cluster_link *k)
{
	gw_cluster_free(cluster_of(k));
	k->cluster = NULL;
	gw_natsync_reader_free(k->nat_reader);
	k->nat_reader = NULL;
}

int gw_cluster_link_ban(void *arg, const struct gw_cidr *prefix, __u64 duration_ns)
{
	struct gw_cluster_link *k = arg;
	struct gw_cluster *c = cluster_of(k);
	int err = gw_ban_add(k->filter, prefix, duration_ns, GW_ORIGIN_BAN);

	if (!err && c && __atomic_load_n(&k->ban_shared, __ATOMIC_ACQUIRE) &&
	    gw_cluster_publish_ban(c, prefix, duration_ns))
		pr_warn("cluster: too many bans wait for Redis; this one stays on this node\n");
	return err;
}

/* The hook's check: the rule as the cluster's GCRA. Returns 0 or -EAGAIN. */
static int shared_check(void *arg, const char *key, const struct gw_l7limit_rule *rule,
			__u64 now_ns, struct gw_l7limit_verdict *v)
{
	struct gw_cluster *c = cluster_of(arg);
	struct gw_cluster_rl rl = {
		.key = key,
		.interval_ns = rule->gcra.interval_ns,
		.tolerance_ns = rule->gcra.tolerance_ns,
		.burst = rule->burst,
	};
	struct gw_cluster_verdict cv;
	int err;

	if (!c)
		return -EAGAIN;
	err = gw_cluster_rl_check(c, &rl, now_ns, &cv);
	if (err)
		return err;
	memset(v, 0, sizeof(*v));
	v->allowed = cv.allowed;
	v->remaining = cv.allowed ? cv.remaining : 0;
	v->reset_ns = cv.reset_ns;
	v->retry_after_ns = cv.retry_after_ns;
	return 0;
}

struct gw_l7limit_shared gw_cluster_link_limits(struct gw_cluster_link *k)
{
	return (struct gw_l7limit_shared){ .check = shared_check, .arg = k };
}

int gw_cluster_link_ban_node(void *arg, const struct gw_cidr *prefix, char *buf, size_t len)
{
	struct gw_cluster *c = cluster_of(arg);

	return c ? gw_cluster_ban_node(c, prefix, buf, len) : -ENOENT;
}

/* A counter with direction="published" and "imported". */
static void both_ways(FILE *f, const char *name, const char *help, __u64 published,
		      __u64 imported)
{
	gw_prom_header(f, name, "counter", help);
	fprintf(f, "%s{direction=\"published\"} %llu\n", name, (unsigned long long)published);
	fprintf(f, "%s{direction=\"imported\"} %llu\n", name, (unsigned long long)imported);
}

void gw_cluster_link_metrics(struct gw_cluster_link *k, FILE *f)
{
	struct gw_cluster *c = cluster_of(k);
	struct gw_cluster_stats st;

	if (!c)
		return;
	gw_cluster_stats(c, &st);
	gw_prom_header(f, "gw_cluster_redis_up", "gauge", "1 while this node reaches Redis.");
	fprintf(f, "gw_cluster_redis_up %d\n", st.redis_up);
	gw_prom_header(f, "gw_cluster_fallback_total", "counter",
		       "Rate-limit decisions made node-local because Redis was down or slow.");
	fprintf(f, "gw_cluster_fallback_total %llu\n", (unsigned long long)st.fallback_total);
	gw_prom_header(f, "gw_cluster_redis_round_trips_total", "counter",
		       "Exchanges with Redis (connects, scripts, polls).");
	fprintf(f, "gw_cluster_redis_round_trips_total %llu\n",
		(unsigned long long)st.round_trips);
	gw_prom_header(f, "gw_cluster_shared_decisions_total", "counter",
		       "Rate-limit decisions made on the cluster's shared state.");
	fprintf(f, "gw_cluster_shared_decisions_total %llu\n",
		(unsigned long long)st.shared_decisions);
	both_ways(f, "gw_cluster_bans_total", "Bans published to and read from the cluster.",
		  st.bans_published, st.bans_imported);
	both_ways(f, "gw_cluster_nat_flows_total",
		  "`nat` flows published to and imported from the cluster.", st.nat_published,
		  st.nat_imported);
}

static int cmd_cluster_status(struct gw_cmd_call *call, json_t **out)
{
	struct gw_cluster_link *k = (struct gw_cluster_link *)call->ctx;
	struct gw_cluster *c = cluster_of(k);

	if (!c)
		return gw_cmd_fail(call, -ENOENT, "this gwd runs no cluster (no cluster "
				   "section)");
	*out = gw_cluster_status_json(c);
	return *out ? 0 : -ENOMEM;
}

static const struct gw_cmd cluster_cmds[] = {
	{ "cluster.status", cmd_cluster_status },
};

struct gw_cmd_table gw_cluster_cmd_table(struct gw_cluster_link *k)
{
	return (struct gw_cmd_table){ cluster_cmds, 1, k };
}
