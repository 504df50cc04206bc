/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* API keys: a file of "consumer sha256-hex" lines (the SHA-256 of each key,
 * never the key), looked up in time that does not depend on which stored
 * key matches or on how many bytes of it match.
 *
 * The file: one "CONSUMER HASH" a line, separated by spaces or tabs;
 * CONSUMER is 1 to 255 visible ASCII characters, HASH 64 hex digits; blank
 * lines and lines whose first non-blank character is '#' are ignored; CRLF
 * line ends are accepted. Any error (with its line number) refuses the whole
 * file and keeps the previously loaded keys; a hash listed twice is an
 * error. A consumer may have several keys (rotation).
 *
 * Lookup: the presented key is hashed with SHA-256; the hash picks a bucket
 * through a second SHA-256 keyed with a random per-load salt, and is compared
 * with CRYPTO_memcmp against every entry of that bucket without stopping at
 * a match. An attacker therefore cannot aim at the bucket of a stored key,
 * and the time does not depend on which entry matches or on a shared
 * prefix. */
#ifndef GW_APIKEY_H
#define GW_APIKEY_H

#include <stddef.h>
#include <stdbool.h>
#include <linux/types.h>

#include "config/config.h"
#include "core/fileid.h"
#include "auth/jwt.h"
#include "core/refslot.h"

#define GW_APIKEYS_MAX_FILE (16 * 1024 * 1024)
#define GW_APIKEYS_MAX_KEY  1024 /* longest key accepted from a client */
/* The period of the fallback stat of the file on gwd's loop. */
#define GW_APIKEYS_CHECK_NS (1ull * 1000000000ull)

struct gw_apikeys_set;

/* Parses an API key file (`name` is used in messages: "NAME:LINE: ...").
 * Returns 0 with *out holding one reference, -EINVAL with every problem in
 * msgs, or -ENOMEM. */
int gw_apikeys_parse(const char *name, const char *buf, size_t len, struct gw_apikeys_set **out,
		     struct gw_cfg_errors *msgs);

/* Drops one reference; the last frees the set. */
void gw_apikeys_set_put(struct gw_apikeys_set *set);

/* Returns the number of keys in the set. */
size_t gw_apikeys_set_size(const struct gw_apikeys_set *set);

/* Looks up the presented key (`len` bytes) in `set`. Returns 0 with the
 * consumer's name copied into consumer (room for `size`), or -ENOENT. */
int gw_apikeys_set_lookup(const struct gw_apikeys_set *set, const char *key, size_t len,
			  char *consumer, size_t size);

/* One worker's cached reference to the published set (a cache line of
 * its own). */
struct gw_apikeys_reader {
	void *set;
	unsigned int gen;
} __attribute__((aligned(64)));

struct gw_apikeys {
	struct gw_watched file; /* its lock: one reread at a time */
	struct gw_refslot slot; /* the published set: what requests read */
	unsigned int n_readers;
	struct gw_apikeys_reader *rd; /* [n_readers] */
};

/* Loads the key file at `path` for `readers` threads (0: 1), reader i
 * being used by one thread only. Returns 0 with *out set, or a negative
 * errno (the reasons logged). */
int gw_apikeys_open(const char *path, unsigned int readers, struct gw_apikeys **out);

/* Frees ak, with every reader's reference (no thread may use it). A reread
 * queued on the auth-reread thread is dropped, a running one waited for. */
void gw_apikeys_free(struct gw_apikeys *ak);

/* The auth-reread thread (or a test): rereads the file when `force` (inotify saw it written)
 * or when its identity (device, inode, size, mtime) changed since the last
 * read, and publishes the new keys; requests go on with the old set while
 * the file is parsed. Returns 1 when new keys were published, 0 when
 * nothing changed, or a negative errno when the new file was refused (the
 * old keys stay; an unchanged bad file is not reread until it changes). */
int gw_apikeys_poll(struct gw_apikeys *ak, bool force);


/* Authenticates the value of the configured header (NULL when absent) on
 * reader `reader` against the published set: no lock, one atomic load
 * unless a reread published new keys. Fills res (consumer; no headers) and
 * returns res->reason: GW_AUTH_OK, GW_AUTH_MISSING (absent or empty),
 * GW_AUTH_MALFORMED (longer than GW_APIKEYS_MAX_KEY), GW_AUTH_BAD_API_KEY,
 * or GW_AUTH_INTERNAL (reader out of range). */
enum gw_auth_reason gw_apikeys_authenticate(struct gw_apikeys *ak, unsigned int reader,
					    const char *key, size_t len,
					    struct gw_auth_result *res);

#endif /* GW_APIKEY_H */
