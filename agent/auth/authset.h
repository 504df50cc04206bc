/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The auth entries of a config (auth.jwt and auth.api_keys) by name, and one
 * call that authenticates a request for a route's `auth: NAME`: the proxy
 * passes a way to read request headers and gets the verdict, the identity,
 * and for a refusal the status and the WWW-Authenticate value. */
#ifndef GW_AUTHSET_H
#define GW_AUTHSET_H

#include <stddef.h>
#include <linux/types.h>

#include "auth/apikey.h"
#include "config/config.h"
#include "auth/jwt.h"

struct gw_authset;

/* Returns the value of request header `name` (case-insensitive) with its
 * length in *len, or NULL when the request has none. */
typedef const char *(*gw_auth_header_fn)(void *req, const char *name, size_t *len);

/* Loads every entry of `cfg` (JWKS and key files; opts may be NULL) for
 * opts->workers threads (0: 1), each checking with its own worker index.
 * Returns 0 with *out set, or the first error (each failure is logged) and
 * nothing loaded. */
int gw_authset_new(const struct gw_cfg_auth *cfg, const struct gw_jwt_opts *opts,
		   struct gw_authset **out);

/* Frees the set (any thread but auth-reread; it must not be watched any
 * more). Waits for a reread of one of its files that is running. */
void gw_authset_free(struct gw_authset *set);

struct gw_loop;

/* Starts watching every JWKS and key file of the set on `loop` (gwd's main
 * loop; inotify plus a periodic stat, see fileid.h): a changed file is
 * reread on the auth-reread thread and its keys published from there;
 * neither requests nor the loop wait for it. Returns 0 or -ENOMEM (then
 * nothing is watched). */
int gw_authset_watch(struct gw_authset *set, struct gw_loop *loop);

/* Stops watching (on the loop's thread; before the set is freed). NULL and
 * an unwatched set are ignored. */
void gw_authset_unwatch(struct gw_authset *set);

/* Returns the jwt verifier named `name`, or NULL. */
struct gw_jwt *gw_authset_jwt(struct gw_authset *set, const char *name);

/* Returns the API key set named `name`, or NULL. */
struct gw_apikeys *gw_authset_apikeys(struct gw_authset *set, const char *name);

struct gw_auth_verdict {
	struct gw_auth_result res;  /* reason, consumer, headers to forward */
	int status;		    /* 0 (go on), 401, 403 or 500 */
	char www_authenticate[512]; /* the header's value when status is 401 or 403 */
};

/* Authenticates a request for the route auth `name` at `now_ns`
 * (CLOCK_REALTIME) on worker `worker` (below the set's workers; else
 * GW_AUTH_INTERNAL), without a lock: a jwt entry reads "Authorization" (Bearer), an
 * api_keys entry its configured header. NULL or "none" lets the request
 * through (GW_AUTH_OK, no consumer). A name that is not in the set is
 * GW_AUTH_INTERNAL (500): config validation makes it impossible. Fills *v
 * and returns v->res.reason. The WWW-Authenticate scheme is "Bearer" for
 * jwt and "ApiKey" for api_keys, the realm the entry's name. */
enum gw_auth_reason gw_authset_check(struct gw_authset *set, const char *name,
				     gw_auth_header_fn get, void *req, unsigned int worker,
				     __s64 now_ns, struct gw_auth_verdict *v);

/* Returns how many requests gw_authset_check has refused for `r` in this
 * process (all sets, across reloads): gw_auth_failures_total{reason}. */
__u64 gw_auth_failures(enum gw_auth_reason r);

#endif /* GW_AUTHSET_H */
