/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup
 * table of a prime number of slots, each holding a backend id, filled so
 * that every backend gets a share of slots proportional to its weight and a
 * change of the backend set moves few slots. Used by the L4 datapath's
 * per-service tables and by L7 upstreams with `balance: maglev`.
 */
#ifndef GW_MAGLEV_H
#define GW_MAGLEV_H

#include <stddef.h>
#include <linux/types.h>

/* One backend: its identity (bytes that name it, e.g. family, address and
 * port: the same identity always gets the same permutation), its weight and
 * the value its slots take. */
struct gw_maglev_entry {
	const void *key;
	size_t key_len;
	__u32 weight;		/* >= 1 */
	__u32 id;		/* written into the table; not UINT32_MAX */
};

/* Largest table gw_maglev_build() fills (a prime). */
#define GW_MAGLEV_SIZE_MAX 16777213u

/* Returns 1 if n is prime, else 0. */
int gw_maglev_is_prime(__u32 n);

/* Fills table[0..size-1] with the ids of the n entries. The result depends
 * only on the set of entries (not their order) and the size. Returns 0,
 * -EINVAL (size not prime or above GW_MAGLEV_SIZE_MAX, n == 0 or n > size,
 * a weight of 0, an id of UINT32_MAX, an empty key) or -ENOMEM. */
int gw_maglev_build(const struct gw_maglev_entry *e, size_t n, __u32 *table, __u32 size);

#endif /* GW_MAGLEV_H */
