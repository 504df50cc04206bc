/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Authentication of requests: JWT (compact JWS) verification against a JWKS,
 * the result every auth method returns (consumer, headers to forward, or a
 * reason for gw_auth_failures_total{reason}), and the HTTP side of a refusal
 * (401/403 and the WWW-Authenticate value of RFC 6750).
 *
 * Use from the proxy, per route with `auth: NAME` of a jwt:
 *
 *	struct gw_auth_result r;
 *
 *	gw_jwt_authenticate_header(jwt, worker, authz, authz_len, now_realtime_ns, &r);
 *	if (r.reason != GW_AUTH_OK) {
 *		status = gw_auth_http_status(r.reason);       401, 403 or 500
 *		gw_auth_www_authenticate(buf, sizeof(buf), "Bearer", name, r.reason);
 *		count gw_auth_failures_total{reason=gw_auth_reason_name(r.reason)}
 *	} else {
 *		remove every client-sent header named in r.headers[*].name,
 *		then add r.headers[i].name: r.headers[i].value;
 *		rate limit by r.consumer
 *	}
 *
 * A gw_jwt may be shared by threads, each with its own `worker` index (below
 * gw_jwt_opts.workers): the published key set is read without a lock and
 * each worker has its own verified-token cache. See docs/auth.md for every
 * rule applied. */
#ifndef GW_JWT_H
#define GW_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "config/config.h"
#include "auth/jwks.h"
#include "auth/tokcache.h"

/* Why a request was refused; the names are the `reason` label values. */
enum gw_auth_reason {
	GW_AUTH_OK = 0,	       /* "ok" */
	GW_AUTH_MISSING,       /* "missing": no credentials at all */
	GW_AUTH_MALFORMED,     /* "malformed": not a well-formed compact JWS */
	GW_AUTH_BAD_ALG,       /* "bad_alg": none, not configured, or not the key's */
	GW_AUTH_UNKNOWN_KID,   /* "unknown_kid": no key (after one reread) */
	GW_AUTH_BAD_SIGNATURE, /* "bad_signature" */
	GW_AUTH_EXPIRED,       /* "expired": now >= exp + leeway */
	GW_AUTH_NOT_YET_VALID, /* "not_yet_valid": now + leeway < nbf */
	GW_AUTH_BAD_IAT,       /* "bad_iat": iat > now + leeway */
	GW_AUTH_BAD_ISSUER,    /* "bad_issuer" */
	GW_AUTH_BAD_AUDIENCE,  /* "bad_audience" */
	GW_AUTH_BAD_CLAIM,     /* "bad_claim": claims unusable (no exp, types, bytes) */
	GW_AUTH_MISSING_CLAIM, /* "missing_claim": valid token, required claim absent */
	GW_AUTH_BAD_API_KEY,   /* "bad_api_key": API key not in the file */
	GW_AUTH_INTERNAL,      /* "internal": allocation or library failure */
	GW_AUTH_REASON_COUNT
};

/* Returns the label value of `r` ("expired", ...). */
const char *gw_auth_reason_name(enum gw_auth_reason r);

/* Returns a fixed, client-safe sentence for error_description. */
const char *gw_auth_reason_description(enum gw_auth_reason r);

/* Returns the HTTP status of a refusal: 0 for GW_AUTH_OK, 403 for
 * GW_AUTH_MISSING_CLAIM (the token is valid but not enough: RFC 6750
 * insufficient_scope), 500 for GW_AUTH_INTERNAL, 401 otherwise. */
int gw_auth_http_status(enum gw_auth_reason r);

/* Writes the WWW-Authenticate value for a refusal into buf:
 *   `SCHEME realm="REALM"` when credentials were missing (RFC 6750 3.1: no
 *   error code then), else with `, error="invalid_token"` (401) or
 *   `, error="insufficient_scope"` (403) and error_description.
 * `"` and `\` in the realm are escaped, control bytes dropped. Returns the
 * length (without the NUL), or -ENOSPC. */
int gw_auth_www_authenticate(char *buf, size_t size, const char *scheme, const char *realm,
			     enum gw_auth_reason r);

/* Finds the token in an Authorization value "Bearer <token>": the scheme is
 * matched case-insensitively, followed by one or more spaces; trailing
 * spaces and tabs are ignored; the token must be a b64token (RFC 6750
 * 2.1). Returns 0 with *tok and *tok_len set, -ENOENT when the value is NULL,
 * empty or another scheme, -EINVAL when malformed. */
int gw_auth_bearer_token(const char *value, size_t len, const char **tok, size_t *tok_len);

#define GW_AUTH_CONSUMER_MAX 256 /* bytes with the NUL */
#define GW_AUTH_VALUE_MAX    256 /* bytes with the NUL */
#define GW_AUTH_FORWARD_MAX  8

struct gw_auth_header {
	const char *name; /* owned by the verifier */
	char value[GW_AUTH_VALUE_MAX];
};

struct gw_auth_result {
	enum gw_auth_reason reason;
	bool cached;			     /* the verified-token cache answered */
	char consumer[GW_AUTH_CONSUMER_MAX]; /* sub, or the API key's consumer ("" if none) */
	size_t n_headers;
	struct gw_auth_header headers[GW_AUTH_FORWARD_MAX];
};

#define GW_JWT_MAX_TOKEN 8192

struct gw_jwt_opts {
	size_t max_token;     /* 0: GW_JWT_MAX_TOKEN */
	size_t cache_entries; /* all workers' caches together; 0: GW_TOKCACHE_DEFAULT */
	unsigned int workers; /* threads authenticating, each with its own index; 0: 1 */
	struct gw_jwks_opts jwks;
};

struct gw_jwt;

/* Builds the verifier of one `auth.jwt` entry and loads its JWKS (opts may
 * be NULL). Returns 0 with *out set, -EINVAL (unknown algorithm, more than
 * GW_AUTH_FORWARD_MAX forward_claims, with a message), or the JWKS load
 * error. */
int gw_jwt_new(const struct gw_cfg_jwt *cfg, const struct gw_jwt_opts *opts, struct gw_jwt **out);

void gw_jwt_free(struct gw_jwt *jwt);

/* Returns the verifier's key set holder (for stats and reloads). */
struct gw_jwks *gw_jwt_jwks(struct gw_jwt *jwt);

/* Returns worker `worker`'s cache (for stats, read on that thread or when it
 * is idle), or NULL when out of range. */
struct gw_tokcache *gw_jwt_cache(struct gw_jwt *jwt, unsigned int worker);

/* Authenticates `token` (`len` bytes, not NUL-terminated) at `now_ns`
 * (CLOCK_REALTIME in ns) on worker `worker`: reads the published key set
 * (no lock), answers from the worker's cache when it can, else verifies
 * (signature then claims), rereading the JWKS once (rate limited, never
 * waiting for a reread in flight) for an unknown kid, and caches a success.
 * A worker index out of range is GW_AUTH_INTERNAL. Fills *res and returns
 * res->reason. */
enum gw_auth_reason gw_jwt_authenticate(struct gw_jwt *jwt, unsigned int worker, const char *token,
					size_t len, __s64 now_ns, struct gw_auth_result *res);

/* The same from the Authorization header's value (NULL when absent). */
enum gw_auth_reason gw_jwt_authenticate_header(struct gw_jwt *jwt, unsigned int worker,
					       const char *value, size_t len, __s64 now_ns,
					       struct gw_auth_result *res);

/* Verifies `token` against `set` without the cache or rereads: signature
 * then claims. On success *key (if not NULL) is the key that verified it and
 * *valid_until_ns (if not NULL) exp + leeway. Returns the reason. */
enum gw_auth_reason gw_jwt_verify(const struct gw_jwt *jwt, const struct gw_jwks_set *set,
				  const char *token, size_t len, __s64 now_ns,
				  struct gw_auth_result *res, const struct gw_jwk **key,
				  __s64 *valid_until_ns);

/* The JWS layer alone (RFC 7515 compact serialization): three strict
 * base64url parts, header an object (JSON, duplicate names refused) with an
 * `alg` in `alg_mask` (bit 1 << enum gw_jwa) that the selected key fits, no
 * `crit`, a `kid` that selects the key, a signature of the algorithm's exact
 * length that verifies. On success *payload is a malloc'd copy of the
 * decoded payload (NUL-terminated, *payload_len bytes) for the caller to
 * free, and *key the key used. Returns the reason. */
enum gw_auth_reason gw_jws_verify(const struct gw_jwks_set *set, unsigned int alg_mask,
				  const char *token, size_t len, size_t max_len,
				  unsigned char **payload, size_t *payload_len,
				  const struct gw_jwk **key);

/* SHA-256 of `len` bytes into out (32 bytes), with the digest fetched once
 * per process. Returns 0 or -ENOMEM. */
int gw_sha256(const void *data, size_t len, unsigned char *out);

/* Returns how many signatures gw_jws_verify() has checked in this process
 * (each one public-key operation or HMAC). */
__u64 gw_jws_verifications(void);

#endif /* GW_JWT_H */
