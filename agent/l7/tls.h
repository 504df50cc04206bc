/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TLS server side of gwd's listeners (OpenSSL 3). From the config's `tls`
 * section gwd builds a context set: one SSL_CTX per certificate, a table of
 * server names choosing among them, the protocol versions, ciphers and
 * ALPN protocols. Session resumption uses stateless tickets under a ring of
 * gwd-owned keys (struct gw_tls_keys) that rotate on a timer and outlive
 * every set, so resumption keeps working across reloads.
 *
 * A reload builds a new set; on failure the old one stays and the error
 * names the file. The current set belongs to the L7 runtime's snapshot
 * (runtime/l7.h); the proxy calls gw_tls_set_new_ssl() on it per
 * connection, and each SSL holds a reference to its set (and OpenSSL one
 * to its SSL_CTX), so a reload never drops a live connection. docs/tls.md
 * describes the choices.
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>
#include <linux/types.h>
#include <openssl/ssl.h>

#include "config/config.h"

struct gw_tls_keys;
struct gw_tls_set;

#define GW_TLS_KEYS_RING_DEFAULT 3
#define GW_TLS_KEYS_ROTATE_DEFAULT (3600ull * 1000000000ull)	/* 1 h */

/*
 * A ring of `ring` (2-16) ticket keys with one reference. The newest key
 * encrypts new tickets; each key decrypts for ring * rotate_ns after it was
 * made, so a ticket is good for at least (ring - 1) * rotate_ns. now_ns is
 * the caller's monotonic clock (gw_l7limit_now() or the event loop's).
 * Returns NULL (errno set) on bad arguments or when no random bytes could
 * be drawn.
 */
struct gw_tls_keys *gw_tls_keys_new(__u64 rotate_ns, unsigned int ring, __u64 now_ns);

/* Makes a new key when the newest is rotate_ns old (call it from a timer),
 * and drops keys past their lifetime. Returns 1 when it rotated, 0 when
 * nothing was due, -EIO when no random bytes could be drawn. */
int gw_tls_keys_rotate(struct gw_tls_keys *k, __u64 now_ns);

/* Rotates now, due or not (tests, an operator's "rotate now"). Returns 0
 * or -EIO. */
int gw_tls_keys_rotate_now(struct gw_tls_keys *k, __u64 now_ns);

/* Seconds a ticket may be used: ring * rotate, at most 7 days. */
unsigned long gw_tls_keys_lifetime(const struct gw_tls_keys *k);

struct gw_tls_keys *gw_tls_keys_get(struct gw_tls_keys *k);
void gw_tls_keys_put(struct gw_tls_keys *k);

/*
 * Builds a context set from `cfg` (at least one certificate) with tickets
 * under `keys` (the set takes a reference). Each certificate entry loads
 * its chain file and key; the key must match the certificate. A
 * certificate serves the names in its `sni` list, or without one the DNS
 * names of its subjectAltName. Returns 0 with *out (one reference), or a
 * negative errno with a message naming the entry and file in err (also
 * logged).
 */
int gw_tls_set_build(const struct gw_cfg_tls *cfg, struct gw_tls_keys *keys,
		     struct gw_tls_set **out, char *err, size_t errlen);

/*
 * Loads certificate entry i of cfg the way gw_tls_set_build() does (chain,
 * key, the key matches) and drops it again: `gwd --check`. Returns 0, or a
 * negative errno with the reason in err and *key_bad set when the key file
 * is to blame (else the cert file).
 */
int gw_tls_cert_check(const struct gw_cfg_tls *cfg, size_t i, int *key_bad, char *err,
		      size_t errlen);

struct gw_tls_set *gw_tls_set_get(struct gw_tls_set *s);
void gw_tls_set_put(struct gw_tls_set *s);

/*
 * A server SSL for one connection, on the default (first) certificate
 * until the client hello picks another by its server name. The SSL holds
 * a reference to the set until SSL_free(). Returns NULL on -ENOMEM.
 */
SSL *gw_tls_set_new_ssl(struct gw_tls_set *s);

/* Index of the certificate serving `name` (any case): an exact name, else
 * a "*.domain" matching exactly one label, else 0 (the default). */
size_t gw_tls_set_pick(const struct gw_tls_set *s, const char *name, size_t len);

/* Number of certificates, and the SSL_CTX of certificate i. */
size_t gw_tls_set_count(const struct gw_tls_set *s);
SSL_CTX *gw_tls_set_ctx(const struct gw_tls_set *s, size_t i);

#endif /* GW_TLS_H */
