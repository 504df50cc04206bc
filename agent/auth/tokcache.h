/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Cache of verified tokens, so that a token seen again costs one SHA-256
 * and a table lookup instead of a public-key operation.
 *
 * Entries are keyed by the SHA-256 of the token, hold an opaque identity
 * (what the verifier extracted: consumer, forwarded claim values), the time
 * the token stops being valid (exp plus leeway) and the fingerprint of the
 * key that verified it with the JWKS generation it was seen in. A lookup
 * after that time is a miss; a lookup in a newer JWKS generation is a hit
 * only while a key with that fingerprint is still in the set (a key removed
 * from the JWKS invalidates the tokens it signed). The number of entries is
 * fixed at creation; when full the least recently used entry is evicted.
 * A cache has no lock: it belongs to one thread (gwd gives each L7 worker
 * its own, see jwt.c), so a lookup costs no atomic operation at all. */
#ifndef GW_TOKCACHE_H
#define GW_TOKCACHE_H

#include <stddef.h>
#include <linux/types.h>

#include "auth/jwks.h"

#define GW_TOKCACHE_DEFAULT  4096
#define GW_TOKCACHE_MAX	     (1u << 20)
#define GW_TOKCACHE_DATA_MAX 4096

struct gw_tokcache_stats {
	__u64 hits, misses, inserts, evictions, expired, invalidated;
	size_t entries, capacity;
};

struct gw_tokcache;

/* Creates a cache of `capacity` entries (1 to GW_TOKCACHE_MAX). Returns 0
 * with *out set, -EINVAL or -ENOMEM. */
int gw_tokcache_new(size_t capacity, struct gw_tokcache **out);

void gw_tokcache_free(struct gw_tokcache *c);

/* Looks up `hash` (32 bytes) at `now_ns` (CLOCK_REALTIME ns) against the
 * current key set `set`. On a hit copies the identity into buf (room for
 * `size` bytes), its length into *len, and returns 0. Returns -ENOENT on a
 * miss (an expired or invalidated entry is removed), -ENOSPC when buf is
 * too small. */
int gw_tokcache_get(struct gw_tokcache *c, const unsigned char *hash, const struct gw_jwks_set *set,
		    __s64 now_ns, void *buf, size_t size, size_t *len);

/* Stores (or replaces) the entry of `hash`: the identity `data` (at most
 * GW_TOKCACHE_DATA_MAX bytes), valid before `valid_until_ns`, verified by
 * the key with fingerprint `key_fp` in JWKS generation `generation`.
 * Evicts the least recently used entry when full. Returns 0, -EINVAL or
 * -ENOMEM. */
int gw_tokcache_put(struct gw_tokcache *c, const unsigned char *hash, const unsigned char *key_fp,
		    __u64 generation, __s64 valid_until_ns, const void *data, size_t len);

/* Removes every entry. */
void gw_tokcache_flush(struct gw_tokcache *c);

void gw_tokcache_get_stats(struct gw_tokcache *c, struct gw_tokcache_stats *st);

#endif /* GW_TOKCACHE_H */
