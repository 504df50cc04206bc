// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The auth entries of a config by name, and the per-request check. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authset.h"
#include "core/log.h"

static __u64 failures[GW_AUTH_REASON_COUNT];

__u64 gw_auth_failures(enum gw_auth_reason r)
{
	return (unsigned int)r < GW_AUTH_REASON_COUNT
		       ? __atomic_load_n(&failures[r], __ATOMIC_RELAXED)
		       : 0;
}

struct entry {
	char *name;
	char *header;		 /* api_keys: the header carrying the key */
	struct gw_jwt *jwt;	 /* one of jwt ... */
	struct gw_apikeys *keys; /* ... and keys */
};

struct gw_authset {
	struct gw_fwatch *watch; /* NULL: not watched */
	size_t n;
	struct entry e[];
};

void gw_authset_free(struct gw_authset *set)
{
	size_t i;

	if (!set)
		return;
	if (set->watch)
		pr_err("auth: a watched set is freed (a bug): its watch leaks\n");
	for (i = 0; i < set->n; i++) {
		gw_jwt_free(set->e[i].jwt);
		gw_apikeys_free(set->e[i].keys);
		free(set->e[i].name);
		free(set->e[i].header);
	}
	free(set);
}

int gw_authset_new(const struct gw_cfg_auth *cfg, const struct gw_jwt_opts *opts,
		   struct gw_authset **out)
{
	size_t i, n = cfg->n_jwt + cfg->n_api_keys;
	struct gw_authset *set;
	int err = 0, e;

	*out = NULL;
	set = calloc(1, sizeof(*set) + n * sizeof(set->e[0]));
	if (!set)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct entry *x = &set->e[set->n++];

		if (i < cfg->n_jwt) {
			x->name = strdup(cfg->jwt[i].name ? cfg->jwt[i].name : "");
			e = x->name ? gw_jwt_new(&cfg->jwt[i], opts, &x->jwt) : -ENOMEM;
		} else {
			const struct gw_cfg_api_keys *k = &cfg->api_keys[i - cfg->n_jwt];

			x->name = strdup(k->name ? k->name : "");
			x->header = strdup(k->header ? k->header : "");
			e = !x->name || !x->header ? -ENOMEM
			    : !k->keys
				    ? -EINVAL
				    : gw_apikeys_open(k->keys, opts ? opts->workers : 1, &x->keys);
			if (e)
				pr_err("api_keys '%s': cannot load %s: %s\n",
				       k->name ? k->name : "?",
				       k->keys ? k->keys : "(no keys file)", strerror(-e));
		}
		if (e && !err)
			err = e;
	}
	if (err) {
		gw_authset_free(set);
		return err;
	}
	*out = set;
	return 0;
}

/* On the loop: detection only; the reread runs on the auth-reread thread
 * (fileid.h), which publishes the new keys itself. */
static void schedule(void *arg, bool force)
{
	gw_watched_schedule(arg, force);
}

int gw_authset_watch(struct gw_authset *set, struct gw_loop *loop)
{
	struct gw_jwks *jwks;
	size_t i;
	int err;

	if (set->watch)
		return 0;
	err = gw_fwatch_new(loop, &set->watch);
	for (i = 0; !err && i < set->n; i++) {
		if (set->e[i].jwt) {
			jwks = gw_jwt_jwks(set->e[i].jwt);
			err = gw_fwatch_add(set->watch, jwks->file.path,
					    jwks->opts.check_interval_ns, schedule, &jwks->file);
			/* a change between the load and now */
			if (!err)
				gw_watched_schedule(&jwks->file, false);
		} else {
			err = gw_fwatch_add(set->watch, set->e[i].keys->file.path,
					    GW_APIKEYS_CHECK_NS, schedule, &set->e[i].keys->file);
			if (!err)
				gw_watched_schedule(&set->e[i].keys->file, false);
		}
	}
	if (err) {
		pr_warn("auth: cannot watch the key files: %s\n", strerror(-err));
		gw_authset_unwatch(set);
	}
	return err;
}

void gw_authset_unwatch(struct gw_authset *set)
{
	if (!set)
		return;
	gw_fwatch_free(set->watch);
	set->watch = NULL;
}

/* Returns the entry named `name`, or NULL. */
static struct entry *find(struct gw_authset *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->e[i].name, name))
			return &set->e[i];
	return NULL;
}

struct gw_jwt *gw_authset_jwt(struct gw_authset *set, const char *name)
{
	struct entry *x = find(set, name);

	return x ? x->jwt : NULL;
}

struct gw_apikeys *gw_authset_apikeys(struct gw_authset *set, const char *name)
{
	struct entry *x = find(set, name);

	return x ? x->keys : NULL;
}

enum gw_auth_reason gw_authset_check(struct gw_authset *set, const char *name,
				     gw_auth_header_fn get, void *req, unsigned int worker,
				     __s64 now_ns, struct gw_auth_verdict *v)
{
	struct entry *x;
	const char *val;
	size_t len = 0;

	memset(&v->res, 0, sizeof(v->res));
	v->status = 0;
	v->www_authenticate[0] = '\0';
	if (!name || !strcmp(name, "none"))
		return GW_AUTH_OK;
	x = find(set, name);
	if (!x) {
		v->res.reason = GW_AUTH_INTERNAL;
	} else if (x->jwt) {
		val = get(req, "Authorization", &len);
		gw_jwt_authenticate_header(x->jwt, worker, val, val ? len : 0, now_ns, &v->res);
	} else {
		val = get(req, x->header, &len);
		gw_apikeys_authenticate(x->keys, worker, val, val ? len : 0, &v->res);
	}
	if ((unsigned int)v->res.reason < GW_AUTH_REASON_COUNT)
		__atomic_add_fetch(&failures[v->res.reason], 1, __ATOMIC_RELAXED);
	v->status = gw_auth_http_status(v->res.reason);
	if (v->status == 401 || v->status == 403)
		gw_auth_www_authenticate(v->www_authenticate, sizeof(v->www_authenticate),
					 x->jwt ? "Bearer" : "ApiKey", x->name, v->res.reason);
	return v->res.reason;
}
