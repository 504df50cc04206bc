// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loads the files of a config's L7 layer for a check (cfgfiles.h): the TLS
 * loader for certificates, the JWKS and API key parsers for auth files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "auth/apikey.h"
#include "l7/cfgfiles.h"
#include "core/fileid.h"
#include "auth/jwks.h"
#include "core/log.h"
#include "l7/clientcert.h"
#include "l7/rewrite.h"
#include "l7/tls.h"
#include "l7/upstream_tls.h"

/* Adds "NAME:LINE:COL: msg" to errs (not logged). */
static void add(struct gw_cfg_errors *errs, const char *name, const struct gw_cfg_pos *pos,
		const char *what, const char *msg)
{
	gw_msgs_add(errs, GW_LOG_DEBUG, "%s:%d:%d: %s%s", name, pos->line, pos->col, what, msg);
}

/* A parser of an auth file: 0, or -errno with the reasons in msgs. */
typedef int (*parse_fn)(const char *path, const char *buf, size_t len,
			struct gw_cfg_errors *msgs);

static int parse_jwks(const char *path, const char *buf, size_t len, struct gw_cfg_errors *msgs)
{
	struct gw_jwks_set *set;
	int err = gw_jwks_parse(path, buf, len, NULL, &set, msgs);

	if (!err)
		gw_jwks_set_put(set);
	return err;
}

static int parse_apikeys(const char *path, const char *buf, size_t len,
			 struct gw_cfg_errors *msgs)
{
	struct gw_apikeys_set *set;
	int err = gw_apikeys_parse(path, buf, len, &set, msgs);

	if (!err)
		gw_apikeys_set_put(set);
	return err;
}

/* Reads and parses one auth file. Returns 0 or -EINVAL (errs filled). */
static int check_auth_file(const char *name, const struct gw_cfg_pos *pos, const char *what,
			   const char *path, size_t max, parse_fn parse, struct gw_cfg_errors *errs)
{
	struct gw_cfg_errors msgs = { 0 };
	struct gw_file_id id;
	char head[64 + 4096];
	size_t len, i;
	char *buf;
	int err;

	snprintf(head, sizeof(head), "%s %s: ", what, path);
	err = gw_file_read(path, max, &buf, &len, &id);
	if (err) {
		add(errs, name, pos, head, err == -EFBIG ? "too large" : strerror(-err));
		return -EINVAL;
	}
	err = parse(path, buf, len, &msgs);
	free(buf);
	if (err) {
		/* the parsers' messages name the file already */
		snprintf(head, sizeof(head), "%s: ", what);
		for (i = 0; i < msgs.n; i++)
			add(errs, name, pos, strncmp(msgs.msgs[i], what, strlen(what)) ? head : "",
			    msgs.msgs[i]);
		if (!msgs.n)
			add(errs, name, pos, head, strerror(-err));
	}
	gw_cfg_errors_free(&msgs);
	return err ? -EINVAL : 0;
}

/* gateway.access_log: its folder exists and gwd may write there (the file
 * itself is made at start). Returns 0 or -EINVAL (errs filled). */
static int check_log_dir(const char *name, const struct gw_cfg *cfg, struct gw_cfg_errors *errs)
{
	char dir[4096];
	const char *slash = strrchr(cfg->gateway.access_log, '/');
	size_t n = slash ? (size_t)(slash - cfg->gateway.access_log) : 0;
	struct stat st;

	if (n >= sizeof(dir))
		return 0;
	memcpy(dir, cfg->gateway.access_log, n);
	dir[n ? n : 1] = '\0';
	if (!n)
		dir[0] = '/';
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		add(errs, name, &cfg->gateway.access_log_pos, "access_log: ", "its folder does not exist");
		return -EINVAL;
	}
	if (access(dir, W_OK)) {
		add(errs, name, &cfg->gateway.access_log_pos, "access_log: ", "its folder is not writable");
		return -EINVAL;
	}
	return 0;
}

/* upstreams[].tls: builds each context as a start would. Returns 0 or
 * -EINVAL (errs filled). */
static int check_uptls(const char *name, const struct gw_cfg *cfg, struct gw_cfg_errors *errs)
{
	const struct gw_cfg_pos *pos;
	struct gw_uptls *t;
	char msg[4400];
	int ret = 0;
	size_t i;

	for (i = 0; i < cfg->n_upstreams; i++) {
		const struct gw_cfg_upstream *u = &cfg->upstreams[i];

		if (!u->tls.cert != !u->tls.key)
			continue;	/* reported by the config's check */
		pos = &u->tls.pos;
		if (gw_uptls_build(&u->tls, &t, msg, sizeof(msg), &pos)) {
			add(errs, name, pos, "", msg);
			ret = -EINVAL;
			continue;
		}
		gw_uptls_put(t);
	}
	return ret;
}

/* cluster.redis: the password file and the CA bundle gwd reads at start.
 * Returns 0 or -EINVAL (problems in errs). */
static int check_cluster_files(const char *name, const struct gw_cfg *cfg,
			       struct gw_cfg_errors *errs)
{
	const struct gw_cfg_redis *r = &cfg->cluster.redis;
	int ret = 0;

	if (r->password_file && access(r->password_file, R_OK)) {
		add(errs, name, &r->password_file_pos, "redis: password_file: ", strerror(errno));
		ret = -EINVAL;
	}
	if (r->ca && access(r->ca, R_OK)) {
		add(errs, name, &r->ca_pos, "redis: ca: ", strerror(errno));
		ret = -EINVAL;
	}
	return ret;
}

int gw_cfg_check_files(const char *name, const struct gw_cfg *cfg, struct gw_cfg_errors *errs)
{
	enum gw_log_level level = gw_log_get_level();
	char msg[512 + 2 * 4096];
	int ret = 0, key_bad;
	size_t i;

	/* the loaders log what they refuse: here it goes to errs instead */
	gw_log_set_level((enum gw_log_level)(GW_LOG_ERR - 1));
	if (cfg->gateway.access_log && check_log_dir(name, cfg, errs))
		ret = -EINVAL;
	if (cfg->cluster.pos.line && check_cluster_files(name, cfg, errs))
		ret = -EINVAL;
	/* a file the config parse could not give (an invalid config checked
	 * in one pass) is skipped: its problem is reported already */
	for (i = 0; i < cfg->tls.n_certificates; i++) {
		const struct gw_cfg_cert *c = &cfg->tls.certificates[i];

		if (!c->cert || !c->key)
			continue;
		if (gw_tls_cert_check(&cfg->tls, i, &key_bad, msg, sizeof(msg))) {
			add(errs, name, key_bad ? &c->key_pos : &c->cert_pos, "", msg);
			ret = -EINVAL;
		}
	}
	if (check_uptls(name, cfg, errs))
		ret = -EINVAL;
	for (i = 0; i < cfg->n_listeners; i++) {
		const struct gw_cfg_listener *l = &cfg->listeners[i];
		struct gw_cauth *a;

		if (!l->client_ca)
			continue;
		if (gw_cauth_build(l->client_ca, l->client_cert, &a, msg, sizeof(msg))) {
			add(errs, name, &l->client_ca_pos, "", msg);
			ret = -EINVAL;
			continue;
		}
		gw_cauth_put(a);
	}
	for (i = 0; i < cfg->auth.n_jwt; i++) {
		const struct gw_cfg_jwt *j = &cfg->auth.jwt[i];

		if (j->jwks && check_auth_file(name, &j->jwks_pos, "jwks", j->jwks,
						   GW_JWKS_MAX_FILE, parse_jwks, errs))
			ret = -EINVAL;
	}
	for (i = 0; i < cfg->auth.n_api_keys; i++) {
		const struct gw_cfg_api_keys *k = &cfg->auth.api_keys[i];

		if (k->keys && check_auth_file(name, &k->keys_pos, "api keys", k->keys,
					       GW_APIKEYS_MAX_FILE, parse_apikeys, errs))
			ret = -EINVAL;
	}
	for (i = 0; i < cfg->n_routes; i++) {
		const struct gw_cfg_rewrite *w = &cfg->routes[i].rewrite;

		if (w->regex && gw_rewrite_check_regex(w->regex, msg, sizeof(msg))) {
			add(errs, name, &w->pos, "rewrite: ", msg);
			ret = -EINVAL;
		}
	}
	gw_log_set_level(level);
	return ret;
}
