// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Weighted Maglev table construction.
 *
 * Each backend has a permutation of the slots: slot(j) = (offset + j * skip)
 * mod M, with offset and skip from two independent hashes of its identity
 * (skip in [1, M-1]; M prime makes every permutation visit every slot). The
 * table is filled in rounds; in a round every backend earns its weight in
 * credit, and for each max-weight of credit it takes the next free slot of
 * its permutation. A backend of weight w thus takes w/max shares per round,
 * and the table ends completely filled. Entries are visited in the order of
 * their identities, so the result does not depend on the caller's order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/maglev.h"

struct perm {
	const struct gw_maglev_entry *e;
	__u64 offset, skip;
	__u64 cur;		/* (offset + next * skip) mod M, kept by additions */
	__u64 credit;
};

int gw_maglev_is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (__u64)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

/* Returns a 64-bit hash of the bytes with a seed (FNV-1a, then a
 * finalizer that spreads every input bit over the result). */
static __u64 hash64(const void *data, size_t len, __u64 seed)
{
	const unsigned char *b = data;
	__u64 h = 0xcbf29ce484222325ull ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Orders entries by identity bytes, then length, then id. */
static int perm_cmp(const void *a, const void *b)
{
	const struct gw_maglev_entry *x = ((const struct perm *)a)->e;
	const struct gw_maglev_entry *y = ((const struct perm *)b)->e;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int gw_maglev_build(const struct gw_maglev_entry *e, size_t n, __u32 *table, __u32 size)
{
	struct perm *p = NULL;
	__u32 max_w = 0, filled = 0;
	size_t i;
	int err = 0;

	if (!gw_maglev_is_prime(size) || size > GW_MAGLEV_SIZE_MAX || !n || n > size || !table)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!e[i].weight || e[i].id == UINT32_MAX || !e[i].key || !e[i].key_len)
			return -EINVAL;
		if (e[i].weight > max_w)
			max_w = e[i].weight;
	}
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		p[i].e = &e[i];
		p[i].offset = hash64(e[i].key, e[i].key_len, 0x6d61676c65763031ull) % size;
		p[i].skip = hash64(e[i].key, e[i].key_len, 0x736b697070657232ull) % (size - 1) + 1;
		p[i].cur = p[i].offset;
	}
	qsort(p, n, sizeof(*p), perm_cmp);
	memset(table, 0xff, (size_t)size * sizeof(*table));

	while (filled < size) {
		for (i = 0; i < n && filled < size; i++) {
			__u64 slot;

			p[i].credit += p[i].e->weight;
			if (p[i].credit < max_w)
				continue;
			p[i].credit -= max_w;
			/* The next slot of the permutation without a division:
			 * skip < M, so one subtraction keeps it below M. */
			do {
				slot = p[i].cur;
				p[i].cur += p[i].skip;
				if (p[i].cur >= size)
					p[i].cur -= size;
			} while (table[slot] != UINT32_MAX);
			table[slot] = p[i].e->id;
			filled++;
		}
	}
	free(p);
	return err;
}
