// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-route L7 rate limits (l7limit.h). The table is set-associative:
 * 2^k sets of WAYS buckets, each set behind its own mutex, so a decision
 * locks one cache-line-sized set for a few dozen instructions. A bucket is
 * found by a 128-bit SipHash of (scope, key kind, key) under a secret key
 * drawn at creation: an attacker cannot aim keys at one set, and two keys
 * sharing a bucket would need a 128-bit collision.
 *
 * GCRA: a bucket keeps its theoretical arrival time (TAT). A request at
 * `now` passes when max(TAT, now) - now <= tolerance, and moves TAT one
 * interval on. A bucket whose TAT is in the past is full: dropping it is
 * exact, so eviction takes such buckets first and only then the least
 * recently used one (which then starts over with a full burst; counted in
 * evicted_live).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "l7/l7limit.h"
#include "core/ratelimit.h"

#define WAYS 8
#define NSEC_PER_SEC 1000000000ull
#define INLINE_KEY_MAX 256	/* longer keys are hashed down first */

struct bucket {
	__u64 id[2];		/* {0, 0}: free */
	__u64 tat;
	__u64 used;		/* last access, for LRU */
};

struct set {
	pthread_mutex_t lock;
	struct bucket b[WAYS];
} __attribute__((aligned(64)));

struct gw_l7limit {
	struct set *sets;
	size_t mask;		/* sets - 1 */
	__u64 sipkey[2][2];	/* two SipHash keys: set/id[0], id[1] */
	atomic_ullong allowed, limited, evicted_live;
	struct gw_l7limit_shared shared;
};

/* ------------------------------------------------------------------ */
/* SipHash-2-4 (Aumasson, Bernstein), written from the paper.           */

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)                                                \
	do {                                                                    \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                          \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                          \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
	} while (0)

static __u64 load_le64(const unsigned char *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static __u64 siphash(const __u64 k[2], const void *data, size_t len)
{
	const unsigned char *p = data;
	__u64 v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
	__u64 v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
	__u64 m, b = (__u64)len << 56;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load_le64(p + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (m = 0; tail; tail--)
		m |= (__u64)p[i + tail - 1] << (8 * (tail - 1));
	b |= m;
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------------ */

int gw_l7limit_rule_init(struct gw_l7limit_rule *rule, const struct gw_cfg_route_rl *rl,
			 __u64 scope)
{
	int err;

	memset(rule, 0, sizeof(*rule));
	rule->scope = scope;
	rule->key = rl->key;
	rule->shared = rl->scope == GW_SCOPE_CLUSTER;
	if (!rl->rate.count)
		return 0;
	err = gw_gcra_from_rate(&rl->rate, rl->burst, &rule->gcra);
	if (err)
		return err;
	rule->burst = rl->burst;
	return 0;
}

struct gw_l7limit *gw_l7limit_new(size_t capacity)
{
	struct gw_l7limit *t;
	size_t n = 1, i;

	if (!capacity || capacity > ((size_t)1 << 40)) {
		errno = EINVAL;
		return NULL;
	}
	while (n * WAYS < capacity)
		n *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->sets = aligned_alloc(64, n * sizeof(*t->sets));
	if (!t->sets || RAND_bytes((unsigned char *)t->sipkey, sizeof(t->sipkey)) != 1) {
		free(t->sets);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	memset(t->sets, 0, n * sizeof(*t->sets));
	for (i = 0; i < n; i++)
		pthread_mutex_init(&t->sets[i].lock, NULL);
	t->mask = n - 1;
	return t;
}

void gw_l7limit_free(struct gw_l7limit *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i <= t->mask; i++)
		pthread_mutex_destroy(&t->sets[i].lock);
	free(t->sets);
	free(t);
}

void gw_l7limit_set_shared(struct gw_l7limit *t, const struct gw_l7limit_shared *s)
{
	memset(&t->shared, 0, sizeof(t->shared));
	if (s)
		t->shared = *s;
}

/* The shared bucket's name: route id, key kind, then the address, or a
 * SHA-256 of the consumer (any bytes, any length). Returns 0 or -EINVAL
 * when the rule's key is missing. */
static int shared_key(const struct gw_l7limit_rule *rule, const struct gw_l7limit_subject *s,
		      char *buf, size_t len)
{
	unsigned char md[32];
	char ip[GW_ADDR_STRLEN], hex[33];
	unsigned int mdlen = 0, i;
	int kind = rule->key;

	if (kind == GW_RL_KEY_CONSUMER && !s->consumer)
		kind = GW_RL_KEY_IP;
	if (kind == GW_RL_KEY_ROUTE) {
		snprintf(buf, len, "%016llx:r", (unsigned long long)rule->scope);
	} else if (kind == GW_RL_KEY_IP) {
		if (!s->ip)
			return -EINVAL;
		snprintf(buf, len, "%016llx:i:%s", (unsigned long long)rule->scope,
			 gw_ip_str(s->ip, ip, sizeof(ip)));
	} else {
		if (EVP_Digest(s->consumer, s->consumer_len, md, &mdlen, EVP_sha256(), NULL) != 1)
			return -EINVAL;
		for (i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		snprintf(buf, len, "%016llx:c:%s", (unsigned long long)rule->scope, hex);
	}
	return 0;
}

/* Asks the shared hook for a rule with scope: cluster. Returns 0 when it
 * decided (*v filled), else -EAGAIN or -EINVAL. */
static int shared_check(struct gw_l7limit *t, const struct gw_l7limit_rule *rule,
			const struct gw_l7limit_subject *subject, __u64 now_ns,
			struct gw_l7limit_verdict *v)
{
	char key[GW_L7LIMIT_SHARED_KEY_MAX];
	int err;

	if (!t->shared.check)
		return -EAGAIN;
	err = shared_key(rule, subject, key, sizeof(key));
	if (!err)
		err = t->shared.check(t->shared.arg, key, rule, now_ns, v);
	if (err)
		return err;
	v->limit = rule->burst;
	atomic_fetch_add_explicit(v->allowed ? &t->allowed : &t->limited, 1,
				  memory_order_relaxed);
	return 0;
}

__u64 gw_l7limit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + (__u64)ts.tv_nsec;
}

/* The 128-bit id of (scope, kind, key); never {0, 0}. Returns -EINVAL
 * when the rule's key is missing. */
static int bucket_id(const struct gw_l7limit *t, const struct gw_l7limit_rule *rule,
		     const struct gw_l7limit_subject *s, __u64 id[2])
{
	unsigned char buf[9 + INLINE_KEY_MAX];
	const void *key = NULL;
	size_t len = 0;
	int kind = rule->key;

	if (kind == GW_RL_KEY_CONSUMER && !s->consumer)
		kind = GW_RL_KEY_IP;
	if (kind == GW_RL_KEY_CONSUMER) {
		key = s->consumer;
		len = s->consumer_len;
	} else if (kind == GW_RL_KEY_IP) {
		if (!s->ip)
			return -EINVAL;
		buf[9] = s->ip->family;
		memcpy(buf + 10, s->ip->addr, sizeof(s->ip->addr));
		key = buf + 9;
		len = 1 + sizeof(s->ip->addr);
	}
	memcpy(buf, &rule->scope, 8);
	buf[8] = (unsigned char)kind;
	if (len > INLINE_KEY_MAX) {
		__u64 h[2] = { siphash(t->sipkey[0], key, len), siphash(t->sipkey[1], key, len) };

		memcpy(buf + 9, h, sizeof(h));
		len = sizeof(h);
	} else if (len && key != buf + 9) {
		memcpy(buf + 9, key, len);
	}
	id[0] = siphash(t->sipkey[0], buf, 9 + len);
	id[1] = siphash(t->sipkey[1], buf, 9 + len) | 1;	/* never all-zero */
	return 0;
}

/* Returns the bucket of `id` in set s, or the one to take over for it:
 * a free one, else one that has refilled, else the least recently used.
 * *fresh is set when the returned bucket is not id's. Call locked. */
static struct bucket *find_bucket(struct set *s, const __u64 id[2], __u64 now, int *fresh,
				  int *live)
{
	struct bucket *victim = NULL;
	int i, vrank = 3;

	for (i = 0; i < WAYS; i++) {
		struct bucket *b = &s->b[i];
		int rank;

		if (b->id[0] == id[0] && b->id[1] == id[1]) {
			*fresh = 0;
			return b;
		}
		/* 0: free, 1: refilled, 2: live */
		rank = !b->id[1] ? 0 : b->tat <= now ? 1 : 2;
		if (rank < vrank || (rank == vrank && rank == 2 && b->used < victim->used)) {
			victim = b;
			vrank = rank;
		}
	}
	*fresh = 1;
	*live = vrank == 2;
	return victim;
}

static __u64 ceil_div(__u64 a, __u64 b)
{
	return a / b + (a % b != 0);
}

int gw_l7limit_check(struct gw_l7limit *t, const struct gw_l7limit_rule *rule,
		     const struct gw_l7limit_subject *subject, __u64 now_ns,
		     struct gw_l7limit_verdict *v)
{
	const __u64 I = rule->gcra.interval_ns, tol = rule->gcra.tolerance_ns;
	struct bucket *b;
	struct set *s;
	int fresh, live = 0, err;
	__u64 id[2], tat;

	memset(v, 0, sizeof(*v));
	v->allowed = 1;
	if (!I)
		return 0;
	if (rule->shared) {
		err = shared_check(t, rule, subject, now_ns, v);
		if (err != -EAGAIN)
			return err;
		memset(v, 0, sizeof(*v));
		v->allowed = 1;
	}
	err = bucket_id(t, rule, subject, id);
	if (err)
		return err;
	v->limit = rule->burst;
	s = &t->sets[id[0] & t->mask];
	pthread_mutex_lock(&s->lock);
	b = find_bucket(s, id, now_ns, &fresh, &live);
	if (fresh) {
		b->id[0] = id[0];
		b->id[1] = id[1];
		b->tat = now_ns;
	}
	b->used = now_ns;
	tat = b->tat > now_ns ? b->tat : now_ns;
	if (tat - now_ns > tol) {
		v->allowed = 0;
		v->retry_after_ns = tat - tol - now_ns;
	} else {
		tat += I;
		b->tat = tat;
	}
	pthread_mutex_unlock(&s->lock);

	/* Requests left now: whole intervals between TAT and the edge. */
	v->remaining = (__u32)((tol + I - (tat - now_ns)) / I);
	if (!v->allowed)
		v->remaining = 0;
	v->reset_ns = tat - now_ns;
	if (fresh && live)
		atomic_fetch_add_explicit(&t->evicted_live, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(v->allowed ? &t->allowed : &t->limited, 1,
				  memory_order_relaxed);
	return 0;
}

int gw_l7limit_headers(const struct gw_l7limit_verdict *v, char *buf, size_t len)
{
	int n;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!v->limit)
		return 0;
	n = snprintf(buf, len, "RateLimit-Limit: %u\r\nRateLimit-Remaining: %u\r\n"
		     "RateLimit-Reset: %llu\r\n", v->limit, v->remaining,
		     (unsigned long long)ceil_div(v->reset_ns, NSEC_PER_SEC));
	if (n >= 0 && (size_t)n < len && !v->allowed) {
		__u64 secs = ceil_div(v->retry_after_ns, NSEC_PER_SEC);

		n += snprintf(buf + n, len - (size_t)n, "Retry-After: %llu\r\n",
			      (unsigned long long)(secs ? secs : 1));
	}
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

void gw_l7limit_stats(struct gw_l7limit *t, struct gw_l7limit_stats *st)
{
	size_t i;
	int j;

	memset(st, 0, sizeof(*st));
	st->allowed = atomic_load(&t->allowed);
	st->limited = atomic_load(&t->limited);
	st->evicted_live = atomic_load(&t->evicted_live);
	st->capacity = (t->mask + 1) * WAYS;
	for (i = 0; i <= t->mask; i++) {
		pthread_mutex_lock(&t->sets[i].lock);
		for (j = 0; j < WAYS; j++)
			st->entries += t->sets[i].b[j].id[1] != 0;
		pthread_mutex_unlock(&t->sets[i].lock);
	}
}
