/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-route L7 rate limits: one GCRA token bucket per (route, key), the key
 * being the consumer, the client address or the route itself as the
 * route's `rate_limit.key` says. The buckets live in one table shared by
 * every proxy worker, of fixed capacity set at creation: an attacker with
 * many keys recycles entries (expired first, then least recently used) and
 * never grows memory. Each decision takes one short per-set lock, so the
 * limit is exact across workers: a key gets its burst, then its rate, and
 * no more. docs/routing.md ("Rate limits") has the details.
 */
#ifndef GW_L7LIMIT_H
#define GW_L7LIMIT_H

#include <stddef.h>
#include <linux/types.h>

#include "core/addr.h"
#include "config/config.h"
#include "gw/abi.h"

struct gw_l7limit;

/* A route's limit, compiled once per route table. */
struct gw_l7limit_rule {
	struct gw_gcra gcra;	/* interval_ns 0: no limit */
	__u32 burst;
	int key;		/* GW_RL_KEY_* */
	__u64 scope;		/* the route's stable id (gw_route.rl_scope) */
	int shared;		/* scope: cluster (decided by the shared hook) */
};

/*
 * Where rules with scope: cluster are decided (gwd's cluster link): check
 * gets the bucket's name, the same on every node for the same route and
 * key (GW_L7LIMIT_SHARED_KEY_MAX bytes at most, NUL included), and returns
 * 0 with *v filled, or -EAGAIN to have this node's table decide (Redis
 * unreachable).
 */
struct gw_l7limit_verdict;
#define GW_L7LIMIT_SHARED_KEY_MAX 96
struct gw_l7limit_shared {
	int (*check)(void *arg, const char *key, const struct gw_l7limit_rule *rule,
		     __u64 now_ns, struct gw_l7limit_verdict *v);
	void *arg;
};

/* Who a request is counted against. Fields the rule does not use may be
 * NULL. A consumer-keyed rule with no consumer counts the client address. */
struct gw_l7limit_subject {
	const char *consumer;
	size_t consumer_len;
	const struct gw_ip *ip;
};

struct gw_l7limit_verdict {
	int allowed;		/* 1: admit; 0: answer 429 */
	__u32 limit;		/* RateLimit-Limit: the burst */
	__u32 remaining;	/* RateLimit-Remaining after this request */
	__u64 reset_ns;		/* until the bucket is full again */
	__u64 retry_after_ns;	/* refused: until one request would pass */
};

struct gw_l7limit_stats {
	__u64 allowed, limited;
	__u64 evicted_live;	/* buckets dropped before they refilled */
	__u64 entries;		/* buckets in use now */
	__u64 capacity;
};

/* Fills a rule from a route's rate_limit (rate.count 0: no limit) and
 * scope. Returns 0 or -EINVAL. */
int gw_l7limit_rule_init(struct gw_l7limit_rule *rule, const struct gw_cfg_route_rl *rl,
			 __u64 scope);

/* A table of at least `capacity` buckets (rounded up to a power of two,
 * 8 at the least). Returns NULL on -ENOMEM or capacity 0 (errno set). */
struct gw_l7limit *gw_l7limit_new(size_t capacity);
void gw_l7limit_free(struct gw_l7limit *t);

/* Sets the hook for shared rules (NULL check: every rule is decided here).
 * Call before the table is in use. */
void gw_l7limit_set_shared(struct gw_l7limit *t, const struct gw_l7limit_shared *s);

/*
 * Counts one request of `subject` against `rule` at time now_ns (a
 * CLOCK_MONOTONIC reading, gw_l7limit_now(); any thread, in any order) and
 * fills *v. A rule without limit always allows (v->limit 0). Returns 0, or
 * -EINVAL when the rule's key needs an address and subject has none.
 */
int gw_l7limit_check(struct gw_l7limit *t, const struct gw_l7limit_rule *rule,
		     const struct gw_l7limit_subject *subject, __u64 now_ns,
		     struct gw_l7limit_verdict *v);

/* CLOCK_MONOTONIC in nanoseconds. */
__u64 gw_l7limit_now(void);

/*
 * Writes the response header lines for a verdict, each ending in CRLF:
 * RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (seconds, rounded
 * up) and, when refused, Retry-After (seconds, rounded up, at least 1).
 * Nothing for a rule without limit. Returns the length written (buf
 * NUL-terminated) or -ENOSPC; GW_L7LIMIT_HEADERS_MAX is always enough.
 */
#define GW_L7LIMIT_HEADERS_MAX 160
int gw_l7limit_headers(const struct gw_l7limit_verdict *v, char *buf, size_t len);

void gw_l7limit_stats(struct gw_l7limit *t, struct gw_l7limit_stats *s);

#endif /* GW_L7LIMIT_H */
