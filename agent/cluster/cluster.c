// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The cluster thread (cluster.h). Redis keys, all under "gw:":
 *
 *   gw:bans       sorted set: member "CIDR NODE", score the deadline (ms of
 *                 Redis' clock); expired members are removed by every write
 *                 and read
 *   gw:bans:seq   moved on by every ban; nodes poll it
 *   gw:nodes      hash: node -> "MS GENERATION HASH" (MS: Redis' clock at
 *                 the node's last heartbeat)
 *   gw:rl:KEY     a shared limit's GCRA theoretical arrival time (µs of
 *                 Redis' clock), expiring when the bucket is full again
 *   gw:nat        stream: entries {node NODE, nat HEX}, each up to
 *                 NAT_BATCH `nat` flows (wire.h), about NAT_STREAM_MAX kept
 *
 * Times that cross nodes are Redis' own (TIME inside the scripts), so the
 * nodes' clocks need not agree.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "cluster/cluster.h"
#include "cluster/redis.h"
#include "cluster/wire.h"
#include "config/redisaddr.h"
#include "core/log.h"

#define NS_MS 1000000ull
#define NS_S 1000000000ull
#define TICK_NS (100 * NS_MS)		/* the poll of gw:bans:seq */
#define HEARTBEAT_NS NS_S
#define RECONNECT_NS NS_S
#define NODE_STALE_MS 5000		/* a heartbeat older than this: node down */
#define NODE_FORGET_MS 3600000		/* and older than this: removed */
#define BANQ_MAX 1024
#define BANS_MAX 65536
#define NODES_MAX 64
#define HASH_HEX GW_CLUSTER_HASH_HEX	/* 64 bits of SHA-256 in hex, NUL */
#define LEASE_SETS 1024
#define LEASE_WAYS 4
#define LEASEQ_MAX 256
#define BATCH_MAX 65536
#define BATCH_SPAN_NS (20 * NS_MS)	/* a batch lasts this long at full rate */
#define NAT_BATCH 1024			/* `nat` flows per gw:nat entry */
#define NAT_PUSH_MAX 8			/* entries published per tick at most */
#define NAT_STREAM_MAX "4096"		/* gw:nat entries kept (about) */
#define NAT_READ_COUNT "64"		/* gw:nat entries read per tick at most */
#define NAT_ID_MAX 48

struct ban_pending {
	struct gw_cidr prefix;
	__u64 duration_ns;
};

struct ban_known {
	struct gw_cidr prefix;
	char node[GW_CFG_NODE_MAX + 1];
	__u64 deadline_ms;		/* Redis' clock */
};

struct node_seen {
	char name[GW_CFG_NODE_MAX + 1];
	__u64 age_ms;
	unsigned int generation;
	char hash[HASH_HEX];
};

struct lease {
	char key[GW_CLUSTER_RL_KEY_MAX + 1];	/* "": free */
	__u64 interval_ns, tolerance_ns;
	__u32 want;			/* of the lease under way */
	__u32 spent;			/* tokens spent since the last lease was asked */
	__u32 tokens;			/* leased, unused */
	__u64 expires;			/* the tokens' end (monotonic) */
	__u32 prev_tokens;		/* the previous lease's, spent first */
	__u64 prev_expires;
	__u32 remaining;		/* the cluster's after the last lease */
	__u64 reset_at;			/* monotonic: the shared bucket full again */
	__u64 denied_until;		/* monotonic: refuse without asking before */
	__u64 used;
	int pending;
};

struct gw_cluster {
	char node[GW_CFG_NODE_MAX + 1];
	char address[128];
	struct gw_redis_opts ro;
	char *ca, *server_name, *password, *password_file;
	struct gw_redis *conn;
	pthread_t thread;
	int started;

	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t wake;		/* the thread: work or stop */
	pthread_cond_t leased;		/* workers: a lease came back */
	int stop;
	int up;
	char last_error[128];
	struct ban_pending banq[BANQ_MAX];
	size_t n_banq;
	struct ban_known *bans;
	size_t n_bans;
	struct node_seen nodes[NODES_MAX];
	size_t n_nodes;
	unsigned int generation;
	char hash[HASH_HEX];
	struct lease *leases;		/* LEASE_SETS * LEASE_WAYS */
	struct lease *leaseq[LEASEQ_MAX];
	size_t n_leaseq;
	struct gw_cluster_stats st;

	struct gw_cluster_hooks hooks;
	long long seq;			/* gw:bans:seq last read; -1: read the set */
	int nat_sync;			/* atomic: share the `nat` flows */
	char nat_last[NAT_ID_MAX];	/* the last gw:nat entry read ("0": none) */
	struct gw_nat_share *nat_buf;	/* NAT_BATCH flows, the thread's */
	char *nat_hex;			/* NAT_BATCH * GW_CLUSTER_NAT_HEX + 1 */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NS_S + (__u64)ts.tv_nsec;
}

const char *gw_cluster_node(const struct gw_cluster *c)
{
	return c->node;
}

/* ------------------------------------------------------------------ */
/* Scripts                                                              */

/* KEYS: gw:bans gw:bans:seq; ARGV: member, ttl ms. Keeps the later
 * deadline of a member. Returns the new sequence number. */
static const char BAN_ADD_LUA[] =
	"local t=redis.call('TIME') local now=t[1]*1000+math.floor(t[2]/1000) "
	"local dl=now+tonumber(ARGV[2]) "
	"local old=redis.call('ZSCORE',KEYS[1],ARGV[1]) "
	"if (not old) or tonumber(old)<dl then redis.call('ZADD',KEYS[1],dl,ARGV[1]) end "
	"redis.call('ZREMRANGEBYSCORE',KEYS[1],'-inf',now) "
	"return redis.call('INCR',KEYS[2])";

/* KEYS: gw:bans; ARGV: the most members returned. Returns {now ms,
 * member, deadline, member, deadline, ...}. */
static const char BAN_LIST_LUA[] =
	"local t=redis.call('TIME') local now=t[1]*1000+math.floor(t[2]/1000) "
	"redis.call('ZREMRANGEBYSCORE',KEYS[1],'-inf',now) "
	"local v=redis.call('ZRANGE',KEYS[1],0,tonumber(ARGV[1])-1,'WITHSCORES') "
	"table.insert(v,1,tostring(now)) return v";

/* KEYS: gw:nodes; ARGV: node, "GEN HASH". Returns {now ms, name, value,
 * ...} of every node, forgetting those silent for NODE_FORGET_MS. */
static const char HEARTBEAT_LUA[] =
	"local t=redis.call('TIME') local now=t[1]*1000+math.floor(t[2]/1000) "
	"redis.call('HSET',KEYS[1],ARGV[1],now..' '..ARGV[2]) "
	"local v=redis.call('HGETALL',KEYS[1]) local out={tostring(now)} "
	"for i=1,#v,2 do local ms=tonumber(string.match(v[i+1],'^%d+')) or 0 "
	"if now-ms>tonumber(ARGV[3]) then redis.call('HDEL',KEYS[1],v[i]) "
	"else table.insert(out,v[i]) table.insert(out,v[i+1]) end end return out";

/* GCRA in Redis, µs. KEYS: gw:rl:KEY; ARGV: interval, tolerance, tokens
 * wanted. Takes up to that many tokens that pass now. Returns {granted,
 * remaining, reset µs, retry-after µs}. */
static const char LEASE_LUA[] =
	"local t=redis.call('TIME') local now=t[1]*1000000+t[2] "
	"local I=tonumber(ARGV[1]) local tol=tonumber(ARGV[2]) local want=tonumber(ARGV[3]) "
	"local tat=tonumber(redis.call('GET',KEYS[1]) or '0') if tat<now then tat=now end "
	"local room=math.floor((now+tol+I-tat)/I) if room<0 then room=0 end "
	"local n=math.min(want,room) tat=tat+n*I "
	"if n>0 then redis.call('SET',KEYS[1],string.format('%d',tat),'PX',"
	"math.floor((tat-now)/1000)+1) end "
	"local rem=math.floor((now+tol+I-tat)/I) if rem<0 then rem=0 end "
	"local retry=0 if n==0 then retry=tat-tol-now end "
	"return {n,rem,tat-now,retry}";

/* ------------------------------------------------------------------ */
/* Connection                                                           */

/* Drops the connection after a failed exchange. Call locked. */
static void mark_down(struct gw_cluster *c, int err)
{
	if (c->up)
		pr_warn("cluster: Redis at %s unreachable (%s); limits fall back to this "
			"node\n", c->address, strerror(-err));
	c->up = 0;
	snprintf(c->last_error, sizeof(c->last_error), "%s", strerror(-err));
	c->st.redis_up = 0;
	while (c->n_leaseq)
		c->leaseq[--c->n_leaseq]->pending = 0;
	pthread_cond_broadcast(&c->leased);
}

/* One exchange of the thread's, counted. Returns 0 or -errno (the
 * connection is dropped). */
static int exchange(struct gw_cluster *c, size_t n, const int *argc, const char **const *argv,
		    redisReply **rep)
{
	int err = gw_redis_pipeline(c->conn, n, argc, argv, rep);

	pthread_mutex_lock(&c->lock);
	c->st.round_trips++;
	if (err)
		mark_down(c, err);
	pthread_mutex_unlock(&c->lock);
	if (err) {
		gw_redis_close(c->conn);
		c->conn = NULL;
	}
	return err;
}

/* Runs one script. Returns 0 with *rep (an error reply is -EPROTO) or
 * -errno. */
static int eval(struct gw_cluster *c, redisReply **rep, const char *script, int nkeys,
		const char **keys, int nargs, const char **args)
{
	const char *argv[16];
	char nk[8];
	int argc = 0, i, err;
	const char **const v[1] = { argv };

	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = nk;
	for (i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	err = exchange(c, 1, &argc, v, rep);
	if (!err && (*rep)->type == REDIS_REPLY_ERROR) {
		pr_warn("cluster: Redis refused a script: %s\n", (*rep)->str);
		freeReplyObject(*rep);
		return -EPROTO;
	}
	return err;
}

/* eval() of a script whose answer is an array led by Redis' clock (ms, a
 * string): *now gets it. Returns 0 or -errno (-EPROTO: another answer). */
static int eval_clocked(struct gw_cluster *c, redisReply **rep, const char *script, int nkeys,
			const char **keys, int nargs, const char **args, unsigned long long *now)
{
	int err = eval(c, rep, script, nkeys, keys, nargs, args);

	if (err)
		return err;
	if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements < 1 ||
	    (*rep)->element[0]->type != REDIS_REPLY_STRING) {
		freeReplyObject(*rep);
		return -EPROTO;
	}
	*now = strtoull((*rep)->element[0]->str, NULL, 10);
	return 0;
}

static void try_connect(struct gw_cluster *c)
{
	int err = gw_redis_connect(&c->ro, &c->conn);

	pthread_mutex_lock(&c->lock);
	c->st.round_trips++;
	if (err) {
		c->conn = NULL;
		if (c->up || !c->last_error[0])
			pr_warn("cluster: cannot reach Redis at %s: %s\n", c->address,
				strerror(-err));
		mark_down(c, err);
	} else {
		pr_info("cluster: node %s connected to Redis at %s\n", c->node, c->address);
		c->up = 1;
		c->st.redis_up = 1;
		c->last_error[0] = '\0';
		c->seq = -1;	/* read every ban: some may have come meanwhile */
	}
	pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------ */
/* Bans                                                                 */

/* Publishes the queued bans. Returns 0 or -errno (the rest stay queued). */
static int push_bans(struct gw_cluster *c)
{
	static const char *keys[] = { "gw:bans", "gw:bans:seq" };
	struct ban_pending b;
	char member[GW_ADDR_STRLEN + GW_CFG_NODE_MAX + 2], ttl[24], buf[GW_ADDR_STRLEN];
	const char *args[2] = { member, ttl };
	redisReply *rep;
	int err;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		if (!c->n_banq) {
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
		b = c->banq[0];
		pthread_mutex_unlock(&c->lock);
		snprintf(member, sizeof(member), "%s %s",
			 gw_cidr_str(&b.prefix, buf, sizeof(buf)), c->node);
		snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)(b.duration_ns / NS_MS));
		err = eval(c, &rep, BAN_ADD_LUA, 2, keys, 2, args);
		if (err)
			return err;
		freeReplyObject(rep);
		pthread_mutex_lock(&c->lock);
		memmove(&c->banq[0], &c->banq[1], (c->n_banq - 1) * sizeof(c->banq[0]));
		c->n_banq--;
		c->st.bans_published++;
		pthread_mutex_unlock(&c->lock);
	}
}

/* The known ban of (prefix, node) in v (n entries), or NULL. */
static struct ban_known *ban_find(struct ban_known *v, size_t n, const struct gw_cidr *p,
				  const char *node)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].prefix.prefixlen == p->prefixlen && gw_ip_equal(&v[i].prefix.ip, &p->ip) &&
		    (!node || !strcmp(v[i].node, node)))
			return &v[i];
	return NULL;
}

/* Reads every running ban and writes those new or extended into XDP
 * through the hook. Returns 0 or -errno. */
static int pull_bans(struct gw_cluster *c)
{
	static const char *keys[] = { "gw:bans" };
	char max[16], addr[GW_ADDR_STRLEN];
	const char *args[] = { max };
	struct ban_known *next, *old;
	unsigned long long now;
	redisReply *rep;
	size_t i, n = 0;
	int err;

	snprintf(max, sizeof(max), "%d", BANS_MAX);
	err = eval_clocked(c, &rep, BAN_LIST_LUA, 1, keys, 1, args, &now);
	if (err)
		return err;
	next = calloc(rep->elements / 2 + 1, sizeof(*next));
	if (!next) {
		freeReplyObject(rep);
		return -ENOMEM;
	}
	for (i = 1; i + 1 < rep->elements; i += 2) {
		const redisReply *m = rep->element[i], *score = rep->element[i + 1];
		struct ban_known *k = &next[n];

		if (m->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING ||
		    gw_cluster_ban_member_parse(m->str, m->len, &k->prefix, k->node))
			continue;
		k->deadline_ms = strtoull(score->str, NULL, 10);
		if (k->deadline_ms > now)
			n++;
	}
	freeReplyObject(rep);
	pthread_mutex_lock(&c->lock);
	old = c->bans;
	for (i = 0; i < n; i++) {
		struct ban_known *o = ban_find(old, c->n_bans, &next[i].prefix, next[i].node);

		if (o && o->deadline_ms == next[i].deadline_ms)
			continue;
		pthread_mutex_unlock(&c->lock);
		if (c->hooks.ban &&
		    !c->hooks.ban(c->hooks.arg, &next[i].prefix,
				  (next[i].deadline_ms - now) * NS_MS)) {
			pr_info("cluster: ban of %s from node %s for %llu s\n",
				gw_cidr_str(&next[i].prefix, addr, sizeof(addr)), next[i].node,
				(unsigned long long)((next[i].deadline_ms - now + 999) / 1000));
		}
		pthread_mutex_lock(&c->lock);
		c->st.bans_imported++;
	}
	c->bans = next;
	c->n_bans = n;
	pthread_mutex_unlock(&c->lock);
	free(old);
	return 0;
}

/* Reads gw:bans:seq and, when it moved, the bans. Returns 0 or -errno. */
static int poll_bans(struct gw_cluster *c)
{
	const char *argv[] = { "GET", "gw:bans:seq" };
	const char **const v[1] = { argv };
	int argc = 2, err;
	long long seq;
	redisReply *rep;

	err = exchange(c, 1, &argc, v, &rep);
	if (err)
		return err;
	seq = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
	freeReplyObject(rep);
	if (seq == c->seq)
		return 0;
	err = pull_bans(c);
	if (!err)
		c->seq = seq;
	return err;
}

/* ------------------------------------------------------------------ */
/* `nat` state                                                          */

/* Publishes this node's new `nat` flows, NAT_BATCH to an entry of gw:nat.
 * Returns 0 or -errno (the flows taken are lost then: their flows still
 * move by the shared translation). */
static int push_nat(struct gw_cluster *c)
{
	const char *argv[] = { "XADD", "gw:nat", "MAXLEN", "~", NAT_STREAM_MAX, "*",
			       "node", c->node, "nat", c->nat_hex };
	const char **const v[1] = { argv };
	int argc = 10, n, i, err;
	redisReply *rep;

	for (i = 0; i < NAT_PUSH_MAX; i++) {
		n = c->hooks.nat_take(c->hooks.arg, c->nat_buf, NAT_BATCH);
		if (n <= 0)
			return n;
		gw_cluster_nat_encode(c->nat_buf, (size_t)n, c->nat_hex);
		err = exchange(c, 1, &argc, v, &rep);
		if (err)
			return err;
		freeReplyObject(rep);
		pthread_mutex_lock(&c->lock);
		c->st.nat_published += (__u64)n;
		pthread_mutex_unlock(&c->lock);
		if (n < NAT_BATCH)
			break;
	}
	return 0;
}

/* One gw:nat entry ([id, [field, value, ...]]): its flows to the hook
 * unless this node wrote it. Returns 0, or -EPROTO when it is no entry
 * (the rest of the answer is not read). */
static int nat_entry(struct gw_cluster *c, const redisReply *e)
{
	const redisReply *id, *fl, *node = NULL, *nat = NULL;
	size_t i;
	int n;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return -EPROTO;
	id = e->element[0];
	fl = e->element[1];
	if (id->type != REDIS_REPLY_STRING || !id->len || id->len >= NAT_ID_MAX ||
	    strspn(id->str, "0123456789-") != id->len || fl->type != REDIS_REPLY_ARRAY)
		return -EPROTO;
	memcpy(c->nat_last, id->str, id->len + 1);
	for (i = 0; i + 1 < fl->elements; i += 2) {
		const redisReply *k = fl->element[i], *val = fl->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
			continue;
		if (!strcmp(k->str, "node"))
			node = val;
		else if (!strcmp(k->str, "nat"))
			nat = val;
	}
	if (!node || !nat || (node->len == strlen(c->node) && !strcmp(node->str, c->node)))
		return 0;
	n = gw_cluster_nat_parse(nat->str, nat->len, c->nat_buf, NAT_BATCH);
	if (n <= 0 || !c->hooks.nat_put)
		return 0;
	n = c->hooks.nat_put(c->hooks.arg, c->nat_buf, (size_t)n);
	if (n > 0) {
		pthread_mutex_lock(&c->lock);
		c->st.nat_imported += (__u64)n;
		pthread_mutex_unlock(&c->lock);
	}
	return 0;
}

/* Reads the gw:nat entries after the last one read and imports the other
 * nodes' flows. Returns 0 or -errno. */
static int pull_nat(struct gw_cluster *c)
{
	const char *argv[] = { "XREAD", "COUNT", NAT_READ_COUNT, "STREAMS", "gw:nat",
			       c->nat_last };
	const char **const v[1] = { argv };
	const redisReply *s, *entries;
	int argc = 6, err;
	redisReply *rep;
	size_t i;

	err = exchange(c, 1, &argc, v, &rep);
	if (err)
		return err;
	/* nil: nothing new; else [[gw:nat, [entry, ...]]] */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    (s = rep->element[0])->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
	    (entries = s->element[1])->type == REDIS_REPLY_ARRAY)
		for (i = 0; i < entries->elements; i++)
			if (nat_entry(c, entries->element[i]))
				break;
	freeReplyObject(rep);
	return 0;
}

/* The `nat` work of a tick. Returns 0 or -errno. */
static int sync_nat(struct gw_cluster *c)
{
	int err;

	if (!__atomic_load_n(&c->nat_sync, __ATOMIC_ACQUIRE) || !c->nat_buf)
		return 0;
	err = c->hooks.nat_take ? push_nat(c) : 0;
	return err ? err : pull_nat(c);
}

void gw_cluster_set_nat_sync(struct gw_cluster *c, int on)
{
	__atomic_store_n(&c->nat_sync, on, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ */
/* Heartbeats                                                           */

static int heartbeat(struct gw_cluster *c)
{
	static const char *keys[] = { "gw:nodes" };
	char val[64], forget[16];
	const char *args[] = { c->node, val, forget };
	unsigned long long now;
	redisReply *rep;
	size_t i;
	int err;

	pthread_mutex_lock(&c->lock);
	snprintf(val, sizeof(val), "%u %s", c->generation, c->hash[0] ? c->hash : "-");
	pthread_mutex_unlock(&c->lock);
	snprintf(forget, sizeof(forget), "%d", NODE_FORGET_MS);
	err = eval_clocked(c, &rep, HEARTBEAT_LUA, 1, keys, 3, args, &now);
	if (err)
		return err;
	pthread_mutex_lock(&c->lock);
	c->n_nodes = 0;
	for (i = 1; i + 1 < rep->elements && c->n_nodes < NODES_MAX; i += 2) {
		struct node_seen *s = &c->nodes[c->n_nodes];
		const redisReply *name = rep->element[i], *value = rep->element[i + 1];
		__u64 ms;

		if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING ||
		    !gw_cluster_node_name_ok(name->str, name->len) ||
		    gw_cluster_node_value_parse(value->str, value->len, &ms, &s->generation, s->hash))
			continue;
		memcpy(s->name, name->str, name->len);
		s->name[name->len] = '\0';
		s->age_ms = now > ms ? now - ms : 0;
		c->n_nodes++;
	}
	pthread_mutex_unlock(&c->lock);
	freeReplyObject(rep);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Shared rate limits                                                   */

__u32 gw_cluster_rl_batch(__u32 burst, __u64 interval_ns)
{
	__u64 b = burst / 16, r = interval_ns ? BATCH_SPAN_NS / interval_ns : b;

	if (r < b)
		b = r;
	return b < 1 ? 1 : b > BATCH_MAX ? BATCH_MAX : (__u32)b;
}

static __u64 fnv1a(const char *s)
{
	__u64 h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* How long leased tokens may be spent: one batch span, or one emission
 * interval when that is longer. */
static __u64 lease_life(__u64 interval_ns)
{
	return interval_ns > BATCH_SPAN_NS ? interval_ns : BATCH_SPAN_NS;
}

/* The lease of key, taking over a free or the least recently used
 * unpending way for it. NULL when every way is pending. Call locked. */
static struct lease *lease_get(struct gw_cluster *c, const struct gw_cluster_rl *rl, __u64 now)
{
	struct lease *set = &c->leases[(fnv1a(rl->key) % LEASE_SETS) * LEASE_WAYS], *victim = NULL;
	int i;

	for (i = 0; i < LEASE_WAYS; i++) {
		struct lease *l = &set[i];

		if (!strcmp(l->key, rl->key))
			return l;
		if (!l->pending && (!victim || l->used < victim->used))
			victim = l;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", rl->key);
	victim->used = now;
	return victim;
}

/* Asks the thread for a batch (once at a time). Call locked. */
static void lease_ask(struct gw_cluster *c, struct lease *l, const struct gw_cluster_rl *rl)
{
	if (l->pending || c->n_leaseq >= LEASEQ_MAX)
		return;
	l->interval_ns = rl->interval_ns;
	l->tolerance_ns = rl->tolerance_ns;
	/* twice what was spent since the last ask, within the batch: an
	 * idle node leases one token, a busy one a whole batch */
	l->want = gw_cluster_rl_batch(rl->burst, rl->interval_ns);
	if ((__u64)l->spent * 2 < l->want)
		l->want = l->spent ? l->spent * 2 : 1;
	l->spent = 0;
	l->pending = 1;
	c->leaseq[c->n_leaseq++] = l;
	pthread_cond_signal(&c->wake);
}

/* Fills v from l's state at now when a token can be taken or the shared
 * bucket refused. Returns 1 when decided, 0 when a lease is needed. Call
 * locked. */
static int lease_decide(struct lease *l, __u64 now, struct gw_cluster_verdict *v)
{
	__u32 *from = l->prev_tokens && now < l->prev_expires ? &l->prev_tokens :
		      l->tokens && now < l->expires ? &l->tokens : NULL;

	if (from) {
		(*from)--;
		l->spent++;
		v->allowed = 1;
		v->remaining = l->remaining + l->tokens + l->prev_tokens;
		v->reset_ns = l->reset_at > now ? l->reset_at - now : 0;
		return 1;
	}
	l->tokens = 0;
	l->prev_tokens = 0;
	if (now < l->denied_until) {
		v->allowed = 0;
		v->retry_after_ns = l->denied_until - now;
		v->reset_ns = l->reset_at > now ? l->reset_at - now : 0;
		return 1;
	}
	return 0;
}

int gw_cluster_rl_check(struct gw_cluster *c, const struct gw_cluster_rl *rl, __u64 now_ns,
			struct gw_cluster_verdict *v)
{
	struct timespec until;
	struct lease *l;
	__u64 deadline;
	int decided = 0;

	/* the caller's time may be its loop's, taken before a batch of
	 * events: leases and the wait go by the clock */
	now_ns = mono_ns();
	deadline = now_ns + c->ro.timeout_ns;
	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&c->lock);
	l = c->up ? lease_get(c, rl, now_ns) : NULL;
	if (l) {
		l->used = now_ns;
		decided = lease_decide(l, now_ns, v);
		if (!decided || l->tokens <= l->want / 2)
			lease_ask(c, l, rl);
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(c->ro.timeout_ns / NS_S);
	until.tv_nsec += (long)(c->ro.timeout_ns % NS_S);
	if (until.tv_nsec >= (long)NS_S) {
		until.tv_sec++;
		until.tv_nsec -= (long)NS_S;
	}
	while (l && !decided && c->up && l->pending && !c->stop && mono_ns() < deadline &&
	       !strcmp(l->key, rl->key))
		pthread_cond_timedwait(&c->leased, &c->lock, &until);
	if (l && !decided && c->up && !strcmp(l->key, rl->key))
		decided = lease_decide(l, mono_ns(), v);
	if (decided)
		c->st.shared_decisions++;
	else
		c->st.fallback_total++;
	pthread_mutex_unlock(&c->lock);
	return decided ? 0 : -EAGAIN;
}

/* Runs every queued lease in one pipeline. Returns 0 or -errno. */
static int run_leases(struct gw_cluster *c)
{
	struct lease *q[LEASEQ_MAX];
	char keys[LEASEQ_MAX][GW_CLUSTER_RL_KEY_MAX + 8], a[LEASEQ_MAX][3][24];
	const char *argv[LEASEQ_MAX][7];
	const char **v[LEASEQ_MAX];
	int argc[LEASEQ_MAX];
	redisReply *rep[LEASEQ_MAX];
	size_t n, i;
	__u64 now, sent;
	int err;

	pthread_mutex_lock(&c->lock);
	n = c->n_leaseq;
	memcpy(q, c->leaseq, n * sizeof(q[0]));
	c->n_leaseq = 0;
	for (i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "gw:rl:%s", q[i]->key);
		snprintf(a[i][0], sizeof(a[i][0]), "%llu",
			 (unsigned long long)(q[i]->interval_ns / 1000 ? q[i]->interval_ns / 1000 : 1));
		snprintf(a[i][1], sizeof(a[i][1]), "%llu",
			 (unsigned long long)(q[i]->tolerance_ns / 1000));
		snprintf(a[i][2], sizeof(a[i][2]), "%u", q[i]->want);
	}
	pthread_mutex_unlock(&c->lock);
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		argv[i][0] = "EVAL";
		argv[i][1] = LEASE_LUA;
		argv[i][2] = "1";
		argv[i][3] = keys[i];
		argv[i][4] = a[i][0];
		argv[i][5] = a[i][1];
		argv[i][6] = a[i][2];
		argc[i] = 7;
		v[i] = argv[i];
	}
	sent = mono_ns();
	err = exchange(c, n, argc, (const char **const *)v, rep);
	now = mono_ns();
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < n; i++) {
		struct lease *l = q[i];
		redisReply *r = err ? NULL : rep[i];

		l->pending = 0;
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 0 ||
		    r->element[0]->integer > l->want || r->element[1]->type != REDIS_REPLY_INTEGER ||
		    r->element[2]->type != REDIS_REPLY_INTEGER ||
		    r->element[3]->type != REDIS_REPLY_INTEGER)
			continue;
		c->st.leases++;
		/* a token may be spent for one lease life from the ask (before
		 * Redis took it), and no later: that bounds the overshoot
		 * (docs/cluster.md). The last lease's tokens are kept with
		 * their own end; older ones are dropped. */
		if (l->tokens && now < l->expires) {
			l->prev_tokens = l->tokens;
			l->prev_expires = l->expires;
		} else {
			l->prev_tokens = 0;
		}
		l->tokens = (__u32)r->element[0]->integer;
		l->expires = sent + lease_life(l->interval_ns);
		l->remaining = (__u32)r->element[1]->integer;
		l->reset_at = now + (__u64)r->element[2]->integer * 1000;
		l->denied_until = r->element[0]->integer ? 0 :
				  now + (__u64)r->element[3]->integer * 1000;
	}
	pthread_cond_broadcast(&c->leased);
	pthread_mutex_unlock(&c->lock);
	for (i = 0; !err && i < n; i++)
		freeReplyObject(rep[i]);
	return err;
}

/* ------------------------------------------------------------------ */
/* The thread                                                           */

/* Waits until the next tick or work. Returns 0, or 1 to stop. */
static int thread_wait(struct gw_cluster *c, __u64 until_ns)
{
	struct timespec ts;
	int stop;

	ts.tv_sec = (time_t)(until_ns / NS_S);
	ts.tv_nsec = (long)(until_ns % NS_S);
	pthread_mutex_lock(&c->lock);
	while (!c->stop && !(c->conn && (c->n_leaseq || c->n_banq)) && mono_ns() < until_ns)
		pthread_cond_timedwait(&c->wake, &c->lock, &ts);
	stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

static void *cluster_thread(void *arg)
{
	struct gw_cluster *c = arg;
	__u64 next_tick = 0, next_beat = 0, next_connect = 0, now;

	while (!thread_wait(c, next_tick)) {
		now = mono_ns();
		if (!c->conn && now >= next_connect) {
			try_connect(c);
			next_connect = now + RECONNECT_NS;
		}
		if (!c->conn) {
			next_tick = now + TICK_NS;
			continue;
		}
		if (run_leases(c) || push_bans(c))
			continue;
		if (now < next_tick)
			continue;
		next_tick = now + TICK_NS;
		if (now >= next_beat) {
			if (heartbeat(c))
				continue;
			next_beat = now + HEARTBEAT_NS;
		}
		if (!poll_bans(c))
			sync_nat(c);
	}
	gw_redis_close(c->conn);
	c->conn = NULL;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The API                                                              */

/* Fills c's connection options from cfg. Returns 0 or -errno. */
static int setup(struct gw_cluster *c, const struct gw_cfg_cluster *cl)
{
	char msg[256];
	int err;

	if (gw_redis_addr_parse(cl->redis.address, &c->ro.addr, msg, sizeof(msg))) {
		pr_err("cluster: redis: %s\n", msg);
		return -EINVAL;
	}
	snprintf(c->address, sizeof(c->address), "%s", cl->redis.address);
	if (cl->node)
		snprintf(c->node, sizeof(c->node), "%s", cl->node);
	else if (gethostname(c->node, sizeof(c->node) - 1))
		snprintf(c->node, sizeof(c->node), "gw");
	c->ro.timeout_ns = cl->redis.timeout_ns ? cl->redis.timeout_ns :
			   GW_CLUSTER_TIMEOUT_DEFAULT_NS;
	c->ro.tls = cl->redis.tls;
	if ((cl->redis.ca && !(c->ca = strdup(cl->redis.ca))) ||
	    (cl->redis.server_name && !(c->server_name = strdup(cl->redis.server_name))) ||
	    (cl->redis.password_file && !(c->password_file = strdup(cl->redis.password_file))))
		return -ENOMEM;
	c->ro.ca = c->ca;
	c->ro.server_name = c->server_name;
	if (cl->redis.password_file) {
		err = gw_redis_read_password(cl->redis.password_file, &c->password);
		if (err) {
			pr_err("cluster: cannot read %s: %s\n", cl->redis.password_file,
			       strerror(-err));
			return err;
		}
		c->ro.password = c->password;
	}
	return 0;
}

static void cluster_free_fields(struct gw_cluster *c)
{
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->ca);
	free(c->server_name);
	free(c->password_file);
	free(c->bans);
	free(c->leases);
	free(c->nat_buf);
	free(c->nat_hex);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->leased);
	free(c);
}

int gw_cluster_new(const struct gw_cfg *cfg, const struct gw_cluster_hooks *h,
		   struct gw_cluster **out)
{
	struct gw_cluster *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	int err;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_cond_init(&c->leased, &ca);
	pthread_condattr_destroy(&ca);
	c->seq = -1;
	if (h)
		c->hooks = *h;
	c->leases = calloc(LEASE_SETS * LEASE_WAYS, sizeof(*c->leases));
	c->nat_buf = calloc(NAT_BATCH, sizeof(*c->nat_buf));
	c->nat_hex = malloc(NAT_BATCH * GW_CLUSTER_NAT_HEX + 1);
	strcpy(c->nat_last, "0");
	err = c->leases && c->nat_buf && c->nat_hex ? setup(c, &cfg->cluster) : -ENOMEM;
	if (!err) {
		err = -pthread_create(&c->thread, NULL, cluster_thread, c);
		if (!err)
			pthread_setname_np(c->thread, "cluster");
	}
	if (err) {
		cluster_free_fields(c);
		return err;
	}
	c->started = 1;
	*out = c;
	return 0;
}

void gw_cluster_free(struct gw_cluster *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_broadcast(&c->wake);
	pthread_cond_broadcast(&c->leased);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	cluster_free_fields(c);
}

/* 1 when a and b differ (either may be NULL). */
static int str_differs(const char *a, const char *b)
{
	return (!a != !b) || (a && strcmp(a, b));
}

int gw_cluster_changed(const struct gw_cluster *c, const struct gw_cfg *cfg)
{
	const struct gw_cfg_cluster *cl = &cfg->cluster;
	char host[GW_CFG_NODE_MAX + 1] = "gw";
	__u64 t = cl->redis.timeout_ns ? cl->redis.timeout_ns : GW_CLUSTER_TIMEOUT_DEFAULT_NS;

	if (!cl->node && gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "gw");
	return str_differs(c->address, cl->redis.address) ||
	       strcmp(c->node, cl->node ? cl->node : host) || c->ro.timeout_ns != t ||
	       c->ro.tls != cl->redis.tls || str_differs(c->ca, cl->redis.ca) ||
	       str_differs(c->server_name, cl->redis.server_name) ||
	       str_differs(c->password_file, cl->redis.password_file);
}

void gw_cluster_set_config(struct gw_cluster *c, unsigned int generation, const char *text,
			   size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	char hex[HASH_HEX] = "-";

	if (text && EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1)
		for (i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	pthread_mutex_lock(&c->lock);
	c->generation = generation;
	snprintf(c->hash, sizeof(c->hash), "%s", hex);
	pthread_mutex_unlock(&c->lock);
}

int gw_cluster_publish_ban(struct gw_cluster *c, const struct gw_cidr *prefix,
			   __u64 duration_ns)
{
	int err = 0;

	pthread_mutex_lock(&c->lock);
	if (c->n_banq >= BANQ_MAX) {
		err = -ENOSPC;
	} else {
		c->banq[c->n_banq].prefix = *prefix;
		c->banq[c->n_banq++].duration_ns = duration_ns;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int gw_cluster_ban_node(struct gw_cluster *c, const struct gw_cidr *prefix, char *buf,
			size_t len)
{
	struct ban_known *k;
	int err = -ENOENT;

	pthread_mutex_lock(&c->lock);
	k = ban_find(c->bans, c->n_bans, prefix, NULL);
	if (k) {
		snprintf(buf, len, "%s", k->node);
		err = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

void gw_cluster_stats(struct gw_cluster *c, struct gw_cluster_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->redis_up = c->up;
	pthread_mutex_unlock(&c->lock);
}

json_t *gw_cluster_status_json(struct gw_cluster *c)
{
	json_t *o = json_object(), *nodes = json_array();
	size_t i;

	if (!o || !nodes) {
		json_decref(o);
		json_decref(nodes);
		return NULL;
	}
	pthread_mutex_lock(&c->lock);
	json_object_set_new(o, "node", json_string(c->node));
	json_object_set_new(o, "redis", json_string(c->address));
	json_object_set_new(o, "redis_up", json_boolean(c->up));
	if (!c->up && c->last_error[0])
		json_object_set_new(o, "redis_error", json_string(c->last_error));
	json_object_set_new(o, "generation", json_integer(c->generation));
	json_object_set_new(o, "hash", json_string(c->hash));
	json_object_set_new(o, "fallback_total", json_integer((json_int_t)c->st.fallback_total));
	json_object_set_new(o, "bans", json_integer((json_int_t)c->n_bans));
	json_object_set_new(o, "nat_sync", json_boolean(__atomic_load_n(&c->nat_sync,
								       __ATOMIC_ACQUIRE)));
	json_object_set_new(o, "nat_published", json_integer((json_int_t)c->st.nat_published));
	json_object_set_new(o, "nat_imported", json_integer((json_int_t)c->st.nat_imported));
	for (i = 0; i < c->n_nodes; i++) {
		const struct node_seen *s = &c->nodes[i];
		json_t *n = json_object();

		if (!n)
			break;
		json_object_set_new(n, "node", json_string(s->name));
		json_object_set_new(n, "age_ms", json_integer((json_int_t)s->age_ms));
		json_object_set_new(n, "up", json_boolean(s->age_ms <= NODE_STALE_MS));
		json_object_set_new(n, "generation", json_integer(s->generation));
		json_object_set_new(n, "hash", json_string(s->hash));
		json_object_set_new(n, "config_differs", json_boolean(strcmp(s->hash, c->hash)));
		json_array_append_new(nodes, n);
	}
	pthread_mutex_unlock(&c->lock);
	json_object_set_new(o, "nodes", nodes);
	return o;
}
