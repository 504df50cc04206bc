/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* JSON Web Key Sets (RFC 7517) read from a file: the verification keys of a
 * jwt auth. Keys are RSA (n, e; modulus of 2048 to 16384 bits), EC P-256 and
 * P-384 (x, y; the point is checked on the curve), OKP Ed25519 (x) and oct
 * (k, at least 32 bytes, for HS256/384/512).
 *
 * A loaded set is immutable and reference counted, and published through a
 * refslot: a request reads the current set with gw_jwks_read() (one atomic
 * load unless a reread published a new set; no lock, no syscall), so a
 * reread on one thread never frees keys another thread is using and never
 * makes a request wait. Rereads are serialised by the file's lock and run on
 * the auth-reread thread (gw_jwks_poll, asked for by gwd's main loop on
 * inotify events and a timer: gw_watched_schedule), or on the
 * worker that meets an unknown kid (gw_jwks_refresh_unknown_kid, which never
 * waits for that lock). A key that cannot be used is skipped with a message
 * naming its index and the reason; a file that cannot be read or parsed
 * keeps the previously loaded set. */
#ifndef GW_JWKS_H
#define GW_JWKS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <openssl/evp.h>

#include "config/config.h"
#include "core/fileid.h"
#include "core/refslot.h"

/* JWS algorithms (RFC 7518 section 3, RFC 8037). */
enum gw_jwa {
	GW_JWA_NONE = 0, /* absent, unknown, or "none" */
	GW_JWA_RS256,
	GW_JWA_RS384,
	GW_JWA_RS512,
	GW_JWA_PS256,
	GW_JWA_PS384,
	GW_JWA_PS512,
	GW_JWA_ES256,
	GW_JWA_ES384,
	GW_JWA_EDDSA,
	GW_JWA_HS256,
	GW_JWA_HS384,
	GW_JWA_HS512,
	GW_JWA_COUNT
};

/* Returns the algorithm spelled exactly `name` (`len` bytes), or
 * GW_JWA_NONE ("none" included). */
enum gw_jwa gw_jwa_from_name(const char *name, size_t len);

/* Returns the JOSE name of `alg` ("RS256", ...), "none" for GW_JWA_NONE. */
const char *gw_jwa_name(enum gw_jwa alg);

enum gw_jwk_type {
	GW_KTY_RSA = 1,
	GW_KTY_P256,
	GW_KTY_P384,
	GW_KTY_ED25519,
	GW_KTY_OCT,
};

struct gw_jwk {
	char *kid;	 /* NULL when the key has none */
	enum gw_jwa alg; /* the key's own "alg", GW_JWA_NONE if absent */
	enum gw_jwk_type type;
	EVP_PKEY *pkey;	       /* RSA, EC, Ed25519 */
	unsigned char *secret; /* oct */
	size_t secret_len;
	size_t sig_len;	      /* RSA: modulus bytes; others: fixed by alg */
	unsigned char fp[32]; /* SHA-256 of type, alg, kid and key material */
};

struct gw_jwks_set {
	int refs;	  /* atomic */
	__u64 generation; /* advances when the keys change */
	size_t n_keys;
	struct gw_jwk keys[];
};

/* Returns true when `key` may verify signatures of `alg`: its type fits the
 * algorithm family (and curve, and HMAC key length >= hash length) and its
 * own "alg", when present, is `alg`. Never true for GW_JWA_NONE. */
bool gw_jwk_fits(const struct gw_jwk *key, enum gw_jwa alg);

/* Returns the key of `set` with fingerprint `fp`, or NULL. */
const struct gw_jwk *gw_jwks_set_find_fp(const struct gw_jwks_set *set, const unsigned char *fp);

/* Drops one reference; the last frees the set. NULL is ignored. */
void gw_jwks_set_put(struct gw_jwks_set *set);

#define GW_JWKS_MAX_KEYS   256
#define GW_JWKS_MAX_FILE   (1024 * 1024)
#define GW_JWKS_REFRESH_NS (10ull * 1000000000ull)
#define GW_JWKS_CHECK_NS   (1ull * 1000000000ull)

struct gw_jwks_opts {
	__u64 refresh_interval_ns; /* unknown-kid rereads at most this often; 0: 10 s */
	__u64 check_interval_ns;   /* the fallback stat of the file on gwd's loop; 0: 1 s */
	size_t max_keys;	   /* 0: GW_JWKS_MAX_KEYS */
	size_t max_file;	   /* 0: GW_JWKS_MAX_FILE */
};

/* Parses a JWKS document (`name` is used in messages). Keys that cannot be
 * used are skipped, each with a message in msgs ("key 2 (kid "a"): ...").
 * Returns 0 with *out holding one reference, or -EINVAL (not JSON, not an
 * object with a "keys" array, more than max_keys keys) with the reason in
 * msgs, or -ENOMEM. */
int gw_jwks_parse(const char *name, const char *buf, size_t len, const struct gw_jwks_opts *opts,
		  struct gw_jwks_set **out, struct gw_cfg_errors *msgs);

struct gw_jwks_stats {
	__u64 reads;	    /* file reads (initial, on change, unknown kid) */
	__u64 changes;	    /* reads that published a different key set */
	__u64 failures;	    /* reads that kept the previous set */
	__u64 refreshes;    /* rereads for an unknown kid */
	__u64 refresh_busy; /* unknown kids that found a reread running and went on */
};

struct gw_jwks {
	struct gw_watched file; /* its lock: one reread at a time, and cur */
	struct gw_jwks_opts opts;
	struct gw_refslot slot;	    /* the published set: what requests read */
	struct gw_jwks_set *cur;    /* under file.lock: the last published set */
	__u64 next_generation;	    /* under file.lock */
	__u64 last_refresh_ns;	    /* atomic: the last unknown-kid reread */
	int refreshed;		    /* atomic: last_refresh_ns is set */
	struct gw_jwks_stats stats; /* atomic counters */
};

/* One thread's cached reference to the published set: zero it before the
 * first gw_jwks_read(), release it with gw_jwks_reader_drop(). */
struct gw_jwks_reader {
	void *set;
	unsigned int gen;
};

/* Opens and loads the JWKS file at `path` (opts may be NULL for defaults).
 * Returns 0 with *out set, or a negative errno when the file cannot be read
 * or parsed (the reasons are logged). A file without one usable key loads
 * (with a warning): tokens are then refused as unknown_kid. */
int gw_jwks_open(const char *path, const struct gw_jwks_opts *opts, struct gw_jwks **out);

/* Frees jwks; every reader must have been dropped. A reread queued on the
 * auth-reread thread is dropped, a running one waited for. */
void gw_jwks_free(struct gw_jwks *jwks);


/* The request path: returns the published set, refreshing rd's cached
 * reference when a reread published a new one (one atomic load otherwise).
 * The set stays valid until the next call with rd or its drop. One rd
 * belongs to one thread. */
const struct gw_jwks_set *gw_jwks_read(struct gw_jwks *jwks, struct gw_jwks_reader *rd);

/* Drops rd's reference. */
void gw_jwks_reader_drop(struct gw_jwks_reader *rd);

/* The auth-reread thread (or a test): rereads the file when `force` (inotify saw it written)
 * or when its identity (device, inode, size, mtime) changed since the last
 * read, and publishes the keys when they differ. Waits for an unknown-kid
 * reread in flight. Returns 1 when a different key set was published, 0
 * when nothing changed, or a negative errno when the file was unusable (the
 * old set stays; an unchanged bad file is not reread until it changes). */
int gw_jwks_poll(struct gw_jwks *jwks, bool force);

/* For a token whose kid is not in the set, on the worker that met it:
 * rereads the file, whatever its identity, unless a refresh happened less
 * than refresh_interval ago (a clock that went backwards allows one). Never
 * waits: when another reread is running it returns -EBUSY at once (the
 * caller goes on with the published set). Returns 1 when a different key set
 * was published (read it again with gw_jwks_read), 0 when rate limited or
 * the keys are the same, -EBUSY, or a negative errno when the file was
 * unusable. */
int gw_jwks_refresh_unknown_kid(struct gw_jwks *jwks, __u64 now_ns);

#endif /* GW_JWKS_H */
