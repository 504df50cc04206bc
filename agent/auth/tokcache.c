// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Verified-token cache: a chained hash table over a fixed array of entries
 * with an LRU list threaded through them (indices, not pointers). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tokcache.h"

#define NIL UINT32_MAX

struct entry {
	unsigned char hash[32];
	unsigned char key_fp[32];
	__u64 generation;
	__s64 valid_until_ns;
	__u32 prev, next; /* LRU: prev is more recent; free list uses next */
	__u32 hnext;	  /* hash chain */
	__u32 len;
	bool used;
	unsigned char *data;
};

struct gw_tokcache {
	__u32 capacity, n;
	__u32 mask; /* buckets - 1 */
	__u32 *buckets;
	struct entry *e;
	__u32 head, tail; /* most and least recently used */
	__u32 free_list;
	struct gw_tokcache_stats st;
};

int gw_tokcache_new(size_t capacity, struct gw_tokcache **out)
{
	struct gw_tokcache *c;
	size_t nb = 1;
	__u32 i;

	*out = NULL;
	if (!capacity || capacity > GW_TOKCACHE_MAX)
		return -EINVAL;
	while (nb < capacity)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->buckets = malloc(nb * sizeof(*c->buckets));
	c->e = calloc(capacity, sizeof(*c->e));
	if (!c->buckets || !c->e) {
		free(c->buckets);
		free(c->e);
		free(c);
		return -ENOMEM;
	}
	c->capacity = (__u32)capacity;
	c->mask = (__u32)nb - 1;
	for (i = 0; i < nb; i++)
		c->buckets[i] = NIL;
	for (i = 0; i < c->capacity; i++)
		c->e[i].next = i + 1 < c->capacity ? i + 1 : NIL;
	c->free_list = 0;
	c->head = c->tail = NIL;
	*out = c;
	return 0;
}

/* Returns the bucket of `hash` (its first bytes are uniformly distributed). */
static __u32 bucket(const struct gw_tokcache *c, const unsigned char *hash)
{
	__u32 b;

	memcpy(&b, hash, sizeof(b));
	return b & c->mask;
}

static void lru_unlink(struct gw_tokcache *c, __u32 i)
{
	struct entry *x = &c->e[i];

	if (x->prev != NIL)
		c->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != NIL)
		c->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
}

static void lru_push_front(struct gw_tokcache *c, __u32 i)
{
	struct entry *x = &c->e[i];

	x->prev = NIL;
	x->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

/* Returns the index of the entry of `hash`, or NIL. */
static __u32 find(const struct gw_tokcache *c, const unsigned char *hash)
{
	__u32 i;

	for (i = c->buckets[bucket(c, hash)]; i != NIL; i = c->e[i].hnext)
		if (!memcmp(c->e[i].hash, hash, 32))
			return i;
	return NIL;
}

/* Unlinks entry i from its chain and the LRU list and frees it. */
static void remove_entry(struct gw_tokcache *c, __u32 i)
{
	struct entry *x = &c->e[i];
	__u32 *p = &c->buckets[bucket(c, x->hash)];

	while (*p != i)
		p = &c->e[*p].hnext;
	*p = x->hnext;
	lru_unlink(c, i);
	free(x->data);
	memset(x, 0, sizeof(*x));
	x->next = c->free_list;
	c->free_list = i;
	c->n--;
}

int gw_tokcache_get(struct gw_tokcache *c, const unsigned char *hash, const struct gw_jwks_set *set,
		    __s64 now_ns, void *buf, size_t size, size_t *len)
{
	struct entry *x;
	__u32 i;

	i = find(c, hash);
	if (i == NIL)
		goto miss;
	x = &c->e[i];
	if (now_ns >= x->valid_until_ns) {
		c->st.expired++;
		remove_entry(c, i);
		goto miss;
	}
	if (x->generation != set->generation) {
		if (!gw_jwks_set_find_fp(set, x->key_fp)) {
			c->st.invalidated++;
			remove_entry(c, i);
			goto miss;
		}
		x->generation = set->generation;
	}
	if (x->len > size)
		return -ENOSPC;
	memcpy(buf, x->data, x->len);
	*len = x->len;
	lru_unlink(c, i);
	lru_push_front(c, i);
	c->st.hits++;
	return 0;
miss:
	c->st.misses++;
	return -ENOENT;
}

int gw_tokcache_put(struct gw_tokcache *c, const unsigned char *hash, const unsigned char *key_fp,
		    __u64 generation, __s64 valid_until_ns, const void *data, size_t len)
{
	unsigned char *copy;
	struct entry *x;
	__u32 i, b;

	if (len > GW_TOKCACHE_DATA_MAX)
		return -EINVAL;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	i = find(c, hash);
	if (i != NIL)
		remove_entry(c, i);
	if (c->free_list == NIL) {
		remove_entry(c, c->tail);
		c->st.evictions++;
	}
	i = c->free_list;
	x = &c->e[i];
	c->free_list = x->next;
	memcpy(x->hash, hash, 32);
	memcpy(x->key_fp, key_fp, 32);
	x->generation = generation;
	x->valid_until_ns = valid_until_ns;
	x->data = copy;
	x->len = (__u32)len;
	x->used = true;
	b = bucket(c, hash);
	x->hnext = c->buckets[b];
	c->buckets[b] = i;
	lru_push_front(c, i);
	c->n++;
	c->st.inserts++;
	return 0;
}

void gw_tokcache_flush(struct gw_tokcache *c)
{
	while (c->head != NIL)
		remove_entry(c, c->head);
}

void gw_tokcache_get_stats(struct gw_tokcache *c, struct gw_tokcache_stats *st)
{
	*st = c->st;
	st->entries = c->n;
	st->capacity = c->capacity;
}

void gw_tokcache_free(struct gw_tokcache *c)
{
	__u32 i;

	if (!c)
		return;
	for (i = 0; i < c->capacity; i++)
		free(c->e[i].data);
	free(c->buckets);
	free(c->e);
	free(c);
}
