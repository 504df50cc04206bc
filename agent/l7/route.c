// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * L7 router (route.h, docs/routing.md). A table holds the routes in file
 * order, their flat match records (gw/l7.h) and an index: a hash table
 * from (host condition, first path segment) to the ascending list of route
 * indexes with that key. A request looks up its exact host, each wildcard
 * suffix of its host and "any host", each with its first path segment and
 * with "any path"; in each list the first route whose remaining conditions
 * hold is the list's best, and the lowest index over all lists wins. A
 * request costs O(labels in its host) hash lookups however many routes
 * there are; lists are short unless many routes share host and segment.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "l7/cors.h"
#include "l7/encoding.h"
#include "l7/iprule.h"
#include "l7/rewrite.h"
#include "l7/route.h"

/* Key kinds: first byte of the host half and of the segment half. */
#define K_HOST_EXACT 'E'
#define K_HOST_SUFFIX 'W'
#define K_HOST_ANY 'A'
#define K_SEG 'S'
#define K_SEG_FOLD 'F'	/* ignore_case routes: the folded segment */
#define K_SEG_ANY 'A'

/* A key: kind, host, '\0', kind, segment. */
#define KEY_MAX (2 + GW_L7_HOST_LEN + 2 + GW_L7_PATH_LEN)

struct bucket {
	__u64 hash;
	char *key;		/* NULL: free slot */
	size_t key_len;
	__u32 *idx;		/* ascending route indexes */
	size_t n, cap;
};

struct gw_route_table {
	atomic_uint refs;
	struct gw_route *routes;
	struct gw_l7_match *recs;
	size_t n;
	struct bucket *buckets;
	size_t mask;		/* buckets has mask + 1 slots, a power of two */
	unsigned int present;	/* bit (host kind, seg kind) of keys in use */
	size_t suffix_min;	/* shortest and longest wildcard suffix; 0: none */
	size_t suffix_max;
	int folds;		/* some route has ignore_case */
};

static const struct {
	const char *name;
	__u32 bit;
} methods[] = {
	{ "GET", GW_L7_M_GET },		{ "HEAD", GW_L7_M_HEAD },
	{ "POST", GW_L7_M_POST },	{ "PUT", GW_L7_M_PUT },
	{ "DELETE", GW_L7_M_DELETE },	{ "CONNECT", GW_L7_M_CONNECT },
	{ "OPTIONS", GW_L7_M_OPTIONS },	{ "TRACE", GW_L7_M_TRACE },
	{ "PATCH", GW_L7_M_PATCH },
};

/* Returns the GW_L7_M_* bit of a method, GW_L7_M_OTHER for the rest. */
static __u32 method_bit(const char *m, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len && !memcmp(methods[i].name, m, len))
			return methods[i].bit;
	return GW_L7_M_OTHER;
}

static __u64 fnv1a(const void *p, size_t len, __u64 h)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_SEED 0xcbf29ce484222325ull

static unsigned int present_bit(char hk, char sk)
{
	unsigned int h = hk == K_HOST_EXACT ? 0 : hk == K_HOST_SUFFIX ? 1 : 2;

	return 1u << (h * 3 + (sk == K_SEG) + 2 * (sk == K_SEG_FOLD));
}

/* Writes a key to buf (KEY_MAX bytes). Returns its length, or 0 when the
 * parts are too long for any route's key. */
static size_t make_key(char *buf, char hk, const char *host, size_t hl, char sk, const char *seg,
		       size_t sl)
{
	if (hl >= GW_L7_HOST_LEN || sl >= GW_L7_PATH_LEN)
		return 0;
	buf[0] = hk;
	memcpy(buf + 1, host, hl);
	buf[1 + hl] = '\0';
	buf[2 + hl] = sk;
	memcpy(buf + 3 + hl, seg, sl);
	return 3 + hl + sl;
}

/* Returns the slot of `key`, or the free slot where it would go. */
static struct bucket *bucket_slot(const struct gw_route_table *t, const char *key, size_t len,
				  __u64 hash)
{
	size_t i = (size_t)hash & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct bucket *b = &t->buckets[i];

		if (!b->key || (b->hash == hash && b->key_len == len && !memcmp(b->key, key, len)))
			return b;
	}
}

static int bucket_add(struct gw_route_table *t, const char *key, size_t len, __u32 idx)
{
	__u64 hash = fnv1a(key, len, FNV_SEED);
	struct bucket *b = bucket_slot(t, key, len, hash);

	if (!b->key) {
		b->key = malloc(len);
		if (!b->key)
			return -ENOMEM;
		memcpy(b->key, key, len);
		b->key_len = len;
		b->hash = hash;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4;
		__u32 *p = realloc(b->idx, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->idx = p;
		b->cap = cap;
	}
	b->idx[b->n++] = idx;
	return 0;
}

/* First segment of a normalized path ("/users/1" -> "users"); *len gets
 * its length. */
static const char *first_segment(const char *path, size_t plen, size_t *len)
{
	size_t i = 1;

	while (i < plen && path[i] != '/')
		i++;
	*len = plen ? i - 1 : 0;
	return path + 1;
}

static char *dup_lower(const char *s)
{
	char *d = strdup(s);
	char *p;

	if (d)
		for (p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
	return d;
}

/* strdup that keeps NULL as NULL; sets *err on allocation failure. */
static char *dup_opt(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

static int copy_pairs(const struct gw_cfg_strpair *in, size_t n, int lower_names,
		      struct gw_route_header **out)
{
	size_t i;

	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		(*out)[i].name = lower_names ? dup_lower(in[i].key) : strdup(in[i].key);
		(*out)[i].value = strdup(in[i].value ? in[i].value : "");
		if (!(*out)[i].name || !(*out)[i].value)
			return -ENOMEM;
	}
	return 0;
}

/* Appends lower-cased names of pairs p[n] to list at *len. Returns 0 or
 * -ENOMEM. */
static int add_names(const struct gw_cfg_strpair *p, size_t n, char **list, size_t *len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		list[*len] = dup_lower(p[i].key);
		if (!list[(*len)++])
			return -ENOMEM;
	}
	return 0;
}

/* request_headers: add and set are added, remove and set removed (from
 * what the client sent). Returns 0 or -ENOMEM. */
static int compile_req_headers(const struct gw_cfg_req_headers *h, struct gw_route *r)
{
	size_t j, n_rm = h->n_remove + h->n_set;

	r->n_add_headers = h->n_add;
	if (copy_pairs(h->add, h->n_add, 0, &r->add_headers))
		return -ENOMEM;
	if (h->n_set) {
		struct gw_route_header *all = realloc(r->add_headers, (h->n_add + h->n_set) *
								      sizeof(*all));

		if (!all)
			return -ENOMEM;
		r->add_headers = all;
		for (j = 0; j < h->n_set; j++) {
			all[h->n_add + j].name = strdup(h->set[j].key);
			all[h->n_add + j].value = strdup(h->set[j].value ? h->set[j].value : "");
			r->n_add_headers++;
			if (!all[h->n_add + j].name || !all[h->n_add + j].value)
				return -ENOMEM;
		}
	}
	if (!n_rm)
		return 0;
	r->remove_headers = calloc(n_rm, sizeof(char *));
	if (!r->remove_headers)
		return -ENOMEM;
	for (j = 0; j < h->n_remove; j++) {
		r->remove_headers[r->n_remove_headers] = dup_lower(h->remove[j]);
		if (!r->remove_headers[r->n_remove_headers++])
			return -ENOMEM;
	}
	return add_names(h->set, h->n_set, r->remove_headers, &r->n_remove_headers);
}

/* response_headers into the forms the response builder takes. Returns 0
 * or -ENOMEM. */
static int compile_resp_headers(const struct gw_cfg_req_headers *h, struct gw_route *r)
{
	size_t j, n_add = h->n_add + h->n_set, n_rm = h->n_remove + h->n_set;
	char **rm;

	r->resp_add = calloc(n_add ? n_add : 1, sizeof(*r->resp_add));
	rm = calloc(n_rm ? n_rm : 1, sizeof(char *));
	r->resp_remove = (const char **)rm;
	if (!r->resp_add || !rm)
		return -ENOMEM;
	for (j = 0; j < n_add; j++) {
		const struct gw_cfg_strpair *p = j < h->n_add ? &h->add[j] : &h->set[j - h->n_add];

		r->resp_add[j].name = strdup(p->key);
		r->resp_add[j].value = strdup(p->value ? p->value : "");
		r->n_resp_add++;
		if (!r->resp_add[j].name || !r->resp_add[j].value)
			return -ENOMEM;
	}
	for (j = 0; j < h->n_remove; j++) {
		rm[r->n_resp_remove] = dup_lower(h->remove[j]);
		if (!rm[r->n_resp_remove++])
			return -ENOMEM;
	}
	return add_names(h->set, h->n_set, rm, &r->n_resp_remove);
}

/* The route's rewrite, CORS, address rule, respond headers and response
 * headers. Returns 0, -EINVAL (a regex that does not compile) or -ENOMEM. */
static int compile_extras(const struct gw_cfg_route *cr, struct gw_route *r)
{
	char why[256];
	int err;

	r->n_respond_headers = cr->respond.n_headers;
	err = copy_pairs(cr->respond.headers, cr->respond.n_headers, 0, &r->respond_headers) ?:
	      compile_resp_headers(&cr->response_headers, r) ?:
	      gw_cors_new(&cr->cors, &r->cors) ?:
	      gw_zrule_new(&cr->compression, &r->zrule) ?:
	      gw_iprule_new(cr->ip_allow, cr->n_ip_allow, cr->ip_deny, cr->n_ip_deny, &r->ip);
	if (err || !cr->rewrite.pos.line)
		return err;
	err = gw_rewrite_new(&cr->rewrite, r->strip_segs,
			     r->m->flags & GW_L7_F_IGNORE_CASE ? GW_PATH_FOLD : 0, &r->rewrite,
			     why, sizeof(why));
	if (err == -EINVAL)
		pr_err("route %s (line %d): rewrite: %s\n", r->label, cr->rewrite.pos.line, why);
	return err;
}

/* Normalizes a config path into rec->path, in the form requests are
 * matched in (folded for ignore_case routes). Returns 0 or -EINVAL. */
static int compile_path(const char *path, struct gw_l7_match *rec, size_t i, int line)
{
	size_t len = strlen(path), plen = 0;
	char *buf = malloc(len + 1);
	const char *why = NULL;
	int n;

	if (!buf)
		return -ENOMEM;
	n = gw_path_normalize(path, len, buf, len + 1, &plen);
	if (n < 0)
		why = "is not a valid request path";
	else if ((size_t)n != plen)
		why = "has a query";
	else if (memchr(buf, ';', plen))
		why = "has ';' parameters (requests are matched without them)";
	else if (plen >= GW_L7_PATH_LEN)
		why = "is longer than 255 bytes";
	if (why) {
		pr_err("route #%zu (line %d): path '%s' %s (docs/routing.md)\n", i, line, path,
		       why);
		free(buf);
		return -EINVAL;
	}
	if (rec->flags & GW_L7_F_IGNORE_CASE)	/* the folded form is never longer */
		plen = gw_path_match_form(buf, plen, buf, plen, GW_PATH_FOLD);
	buf[plen] = '\0';
	if (strcmp(buf, path))
		pr_warn("route #%zu (line %d): path '%s' matches as '%s'\n", i, line, path, buf);
	memcpy(rec->path, buf, plen);
	rec->path_len = (__u16)plen;
	free(buf);
	return 0;
}

/* Fills the flat record of cfg route i. Returns 0 or a negative errno. */
static int compile_match(const struct gw_cfg_route *cr, size_t i, struct gw_route *r,
			 struct gw_l7_match *rec)
{
	const struct gw_cfg_match *m = &cr->match;
	int line = cr->pos.line, n, err = 0;
	size_t j;

	rec->index = (__u32)i;
	if (m->host) {
		char buf[GW_HOST_BUF];
		size_t hl = strlen(m->host);

		n = hl < GW_HOST_BUF ? gw_host_normalize(m->host, hl, buf, 1) : -EINVAL;
		if (n <= 0) {
			pr_err("route #%zu (line %d): host '%s' is not a host name or *.domain\n",
			       i, line, m->host);
			return -EINVAL;
		}
		if (buf[0] == '*') {
			rec->host_kind = GW_L7_HOST_SUFFIX;
			memcpy(rec->host, buf + 1, (size_t)n - 1);	/* ".example.com" */
			rec->host_len = (__u16)(n - 1);
		} else {
			rec->host_kind = GW_L7_HOST_EXACT;
			memcpy(rec->host, buf, (size_t)n);
			rec->host_len = (__u16)n;
		}
	}
	if (m->ignore_case)
		rec->flags |= GW_L7_F_IGNORE_CASE;
	if (m->path_exact || m->path_prefix) {
		rec->path_kind = m->path_exact ? GW_L7_PATH_EXACT : GW_L7_PATH_PREFIX;
		err = compile_path(m->path_exact ? m->path_exact : m->path_prefix, rec, i, line);
		if (err)
			return err;
	}
	for (j = 0; j < m->n_methods; j++) {
		__u32 bit = method_bit(m->methods[j], strlen(m->methods[j]));

		rec->methods |= bit;
		if (bit != GW_L7_M_OTHER)
			continue;
		if (!r->ext_methods) {
			r->ext_methods = calloc(m->n_methods, sizeof(char *));
			if (!r->ext_methods)
				return -ENOMEM;
		}
		r->ext_methods[r->n_ext_methods] = strdup(m->methods[j]);
		if (!r->ext_methods[r->n_ext_methods++])
			return -ENOMEM;
	}
	r->n_match_headers = m->n_headers;	/* before: a partial copy is freed */
	err = copy_pairs(m->headers, m->n_headers, 1, &r->match_headers);
	if (err)
		return err;
	rec->n_headers = (__u16)m->n_headers;
	r->scheme = m->scheme;
	if (r->n_ext_methods || r->n_match_headers || r->scheme)
		rec->flags |= GW_L7_F_USER_ONLY;
	/* a CORS route takes the preflights of its methods (the proxy lets
	 * only preflights through on OPTIONS then) */
	if (cr->cors.pos.line && rec->methods && !(rec->methods & GW_L7_M_OPTIONS)) {
		rec->methods |= GW_L7_M_OPTIONS;
		r->cors_options = 1;
	}
	return 0;
}

/* Copies the route's actions. Returns 0 or -ENOMEM. */
static int compile_actions(const struct gw_cfg_route *cr, struct gw_route *r)
{
	const struct gw_l7_match *rec = r->m;
	int err = 0, n;
	size_t j;
	char buf[64 + GW_L7_HOST_LEN + GW_L7_PATH_LEN];

	r->upstream = dup_opt(cr->upstream, &err);
	if (cr->auth && strcmp(cr->auth, "none"))
		r->auth = dup_opt(cr->auth, &err);
	r->respond_body = dup_opt(cr->respond.body, &err);
	r->respond_status = cr->respond.status;
	r->max_body = cr->max_body;
	r->client_cert_header = dup_opt(cr->client_cert_header, &err);
	/* off unless the route asks: going back to user space under load is
	 * not reliable yet (docs/design-sockmap.md, known issues) */
	r->splice = cr->splice ? GW_ROUTE_SPLICE_ON : GW_ROUTE_SPLICE_OFF;
	r->rate_limit = cr->rate_limit;
	r->strip_prefix = cr->strip_prefix && rec->path_kind == GW_L7_PATH_PREFIX;
	/* "/users/" and "/users" both strip one segment, "/" none (the
	 * count serves a prefix rewrite too) */
	for (j = 0; (r->strip_prefix || cr->rewrite.prefix) &&
		    rec->path_kind == GW_L7_PATH_PREFIX && j + 1 < rec->path_len; j++)
		r->strip_segs += rec->path[j] == '/';
	/* The label: the route's name, else derived from the match, so that
	 * inserting a route shifts no other's: host ('*' for any or a
	 * wildcard), the path with '*' after a prefix, the methods
	 * ("api.example.com/users/..." and "GET,POST"); a repeat of an earlier
	 * route's gets "~2", "~3" (label_repeats). Names cannot contain '/'
	 * (config.c), so the two never collide. */
	n = snprintf(buf, sizeof(buf), "%s%.*s%.*s%s", rec->host_kind == GW_L7_HOST_EXACT ? "" : "*",
		     (int)rec->host_len, rec->host,
		     rec->path_kind == GW_L7_PATH_ANY ? 1 : (int)rec->path_len,
		     rec->path_kind == GW_L7_PATH_ANY ? "/" : rec->path,
		     rec->path_kind == GW_L7_PATH_EXACT ? "" : "*");
	for (j = 0; j < cr->match.n_methods && n > 0 && (size_t)n < sizeof(buf); j++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%s", j ? "," : " ",
			      cr->match.methods[j]);
	r->name = dup_opt(cr->name, &err);
	r->label = strdup(cr->name ? cr->name : buf);
	if (!r->label)
		err = -ENOMEM;
	/* A stable id for rate-limit buckets: the match, not the position. */
	r->rl_scope = fnv1a(&rec->host_kind, 2, FNV_SEED);
	r->rl_scope = fnv1a(rec->host, rec->host_len, r->rl_scope);
	r->rl_scope = fnv1a("\0", 1, r->rl_scope);
	r->rl_scope = fnv1a(rec->path, rec->path_len, r->rl_scope);
	r->rl_scope = fnv1a(&rec->methods, sizeof(rec->methods), r->rl_scope);
	for (j = 0; j < r->n_ext_methods; j++)
		r->rl_scope = fnv1a(r->ext_methods[j], strlen(r->ext_methods[j]) + 1, r->rl_scope);
	if (r->scheme)	/* only then: the ids of routes without one stay */
		r->rl_scope = fnv1a(&r->scheme, sizeof(r->scheme), r->rl_scope);
	for (j = 0; j < r->n_match_headers; j++) {
		r->rl_scope = fnv1a(r->match_headers[j].name, strlen(r->match_headers[j].name) + 1,
				    r->rl_scope);
		r->rl_scope = fnv1a(r->match_headers[j].value,
				    strlen(r->match_headers[j].value) + 1, r->rl_scope);
	}
	if (!err && gw_l7limit_rule_init(&r->limit, &cr->rate_limit, r->rl_scope)) {
		pr_err("route %s (line %d): rate_limit cannot be compiled\n", r->label,
		       cr->pos.line);
		return -EINVAL;
	}
	return err ? -ENOMEM : compile_req_headers(&cr->request_headers, r);
}

/* The protocols an Upgrade may switch to: the configured ones, or
 * websocket when the route says nothing. Returns 0 or -ENOMEM. */
static int compile_upgrades(const struct gw_cfg_route *cr, struct gw_route *r)
{
	static char *const dflt[] = { "websocket" };
	char *const *list = cr->upgrade_pos.line ? cr->upgrade : dflt;
	size_t j, n = cr->upgrade_pos.line ? cr->n_upgrade : 1;

	if (!n)
		return 0;
	r->upgrades = calloc(n, sizeof(char *));
	if (!r->upgrades)
		return -ENOMEM;
	for (j = 0; j < n; j++) {
		r->upgrades[j] = dup_lower(list[j]);
		if (!r->upgrades[j])
			return -ENOMEM;
		r->n_upgrades++;
	}
	return 0;
}

int gw_route_upgrade_allowed(const struct gw_route *r, const char *v, size_t len)
{
	size_t i = 0, s, e, j, offered = 0;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		for (s = i; i < len && v[i] != ','; i++)
			;
		for (e = s; e < i && v[e] != '/' && v[e] != ' ' && v[e] != '\t'; e++)
			;
		if (e == s)
			continue;
		offered++;
		for (j = 0; j < r->n_upgrades; j++)
			if (strlen(r->upgrades[j]) == e - s &&
			    !strncasecmp(r->upgrades[j], v + s, e - s))
				break;
		if (j == r->n_upgrades)
			return 0;
	}
	return offered > 0;
}

/* Adds route i to the index under its (host, first segment) key. */
static int index_route(struct gw_route_table *t, const struct gw_l7_match *rec)
{
	char key[KEY_MAX];
	char hk = rec->host_kind == GW_L7_HOST_EXACT ? K_HOST_EXACT :
		  rec->host_kind == GW_L7_HOST_SUFFIX ? K_HOST_SUFFIX : K_HOST_ANY;
	char sk = K_SEG_ANY;
	const char *seg = "";
	size_t sl = 0, len;

	/* Every path condition but prefix "/" fixes the first segment. */
	if (rec->path_kind == GW_L7_PATH_EXACT ||
	    (rec->path_kind == GW_L7_PATH_PREFIX && rec->path_len > 1)) {
		seg = first_segment(rec->path, rec->path_len, &sl);
		sk = rec->flags & GW_L7_F_IGNORE_CASE ? K_SEG_FOLD : K_SEG;
	}
	len = make_key(key, hk, rec->host, rec->host_len, sk, seg, sl);
	t->present |= present_bit(hk, sk);
	t->folds |= !!(rec->flags & GW_L7_F_IGNORE_CASE);
	if (hk == K_HOST_SUFFIX) {
		if (!t->suffix_min || rec->host_len < t->suffix_min)
			t->suffix_min = rec->host_len;
		if (rec->host_len > t->suffix_max)
			t->suffix_max = rec->host_len;
	}
	return bucket_add(t, key, len, rec->index);
}

static void free_route(struct gw_route *r)
{
	size_t j;

	free(r->label);
	free(r->name);
	free(r->upstream);
	free(r->auth);
	free(r->respond_body);
	free(r->client_cert_header);
	for (j = 0; r->add_headers && j < r->n_add_headers; j++) {
		free(r->add_headers[j].name);
		free(r->add_headers[j].value);
	}
	free(r->add_headers);
	for (j = 0; r->remove_headers && j < r->n_remove_headers; j++)
		free(r->remove_headers[j]);
	free(r->remove_headers);
	for (j = 0; r->match_headers && j < r->n_match_headers; j++) {
		free(r->match_headers[j].name);
		free(r->match_headers[j].value);
	}
	free(r->match_headers);
	for (j = 0; j < r->n_ext_methods; j++)
		free(r->ext_methods[j]);
	free(r->ext_methods);
	for (j = 0; j < r->n_upgrades; j++)
		free(r->upgrades[j]);
	free(r->upgrades);
	for (j = 0; r->respond_headers && j < r->n_respond_headers; j++) {
		free(r->respond_headers[j].name);
		free(r->respond_headers[j].value);
	}
	free(r->respond_headers);
	for (j = 0; r->resp_add && j < r->n_resp_add; j++) {
		free((char *)r->resp_add[j].name);
		free((char *)r->resp_add[j].value);
	}
	free(r->resp_add);
	for (j = 0; r->resp_remove && j < r->n_resp_remove; j++)
		free((char *)r->resp_remove[j]);
	free(r->resp_remove);
	gw_rewrite_free(r->rewrite);
	gw_cors_free(r->cors);
	gw_iprule_free(r->ip);
	gw_zrule_free(r->zrule);
}

static void table_free(struct gw_route_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->routes && i < t->n; i++)
		free_route(&t->routes[i]);
	for (i = 0; t->buckets && i <= t->mask; i++) {
		free(t->buckets[i].key);
		free(t->buckets[i].idx);
	}
	free(t->buckets);
	free(t->routes);
	free(t->recs);
	free(t);
}

/* Orders route indexes of table arg by label, then file position. */
static int label_order(const void *a, const void *b, void *arg)
{
	const struct gw_route_table *t = arg;
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	int c = strcmp(t->routes[x].label, t->routes[y].label);

	return c ? c : (x > y) - (x < y);
}

/* Unnamed routes whose match gives the same label: the second in file
 * order becomes "LABEL ~2", the third "~3". Returns 0 or -ENOMEM. */
static int label_repeats(struct gw_route_table *t)
{
	__u32 *ix = malloc((t->n ? t->n : 1) * sizeof(*ix));
	const char *base = NULL;	/* the label of the run's first route */
	size_t i, k = 1;
	char *l;

	if (!ix)
		return -ENOMEM;
	for (i = 0; i < t->n; i++)
		ix[i] = (__u32)i;
	qsort_r(ix, t->n, sizeof(*ix), label_order, t);
	for (i = 0; i < t->n; i++) {
		struct gw_route *r = &t->routes[ix[i]];

		if (!base || strcmp(r->label, base)) {
			base = r->label;
			k = 1;
			continue;
		}
		if (r->name || asprintf(&l, "%s ~%zu", r->label, ++k) < 0)
			continue;
		free(r->label);
		r->label = l;
	}
	free(ix);
	return 0;
}

int gw_route_table_build(const struct gw_cfg *cfg, struct gw_route_table **out)
{
	struct gw_route_table *t;
	size_t i, slots = 8;
	int err = -ENOMEM;

	*out = NULL;
	if (cfg->n_routes > GW_L7_ROUTES_MAX) {
		pr_err("routes: %zu routes, at most %d\n", cfg->n_routes, GW_L7_ROUTES_MAX);
		return -E2BIG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	atomic_init(&t->refs, 1);
	t->n = cfg->n_routes;
	while (slots < 2 * t->n)
		slots *= 2;
	t->mask = slots - 1;
	t->buckets = calloc(slots, sizeof(*t->buckets));
	t->routes = calloc(t->n ? t->n : 1, sizeof(*t->routes));
	t->recs = calloc(t->n ? t->n : 1, sizeof(*t->recs));
	if (!t->buckets || !t->routes || !t->recs)
		goto out;
	for (i = 0; i < t->n; i++) {
		struct gw_route *r = &t->routes[i];

		r->index = (__u32)i;
		r->m = &t->recs[i];
		err = compile_match(&cfg->routes[i], i, r, &t->recs[i]);
		if (!err)
			err = compile_actions(&cfg->routes[i], r);
		if (!err)
			err = compile_upgrades(&cfg->routes[i], r);
		if (!err)
			err = compile_extras(&cfg->routes[i], r);
		if (!err)
			err = index_route(t, &t->recs[i]);
		if (err)
			goto out;
	}
	err = label_repeats(t);
	if (err)
		goto out;
	*out = t;
	return 0;
out:
	table_free(t);
	return err;
}

struct gw_route_table *gw_route_table_get(struct gw_route_table *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void gw_route_table_put(struct gw_route_table *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		table_free(t);
}

size_t gw_route_count(const struct gw_route_table *t)
{
	return t->n;
}

const struct gw_route *gw_route_at(const struct gw_route_table *t, size_t i)
{
	return i < t->n ? &t->routes[i] : NULL;
}

const struct gw_l7_match *gw_route_records(const struct gw_route_table *t, size_t *n)
{
	*n = t->n;
	return t->recs;
}

/* A request's path in the forms routes match it in (gw_path_match_form):
 * without ';' parameters, and folded (for ignore_case routes). Only the
 * first MATCH_BUF bytes are kept, more than any route path; the lengths
 * are whole. */
#define MATCH_BUF (GW_L7_PATH_LEN + 2)

struct match_paths {
	const char *path;	/* the plain form */
	size_t len;
	const char *fold;	/* the folded form; NULL when no route folds */
	size_t fold_len;
	char buf[MATCH_BUF], fold_buf[MATCH_BUF];
};

/* 1 when path (len bytes in all, at least m->path_len kept) meets the
 * route's path condition. */
static int path_matches(const struct gw_l7_match *m, const char *path, size_t len)
{
	switch (m->path_kind) {
	case GW_L7_PATH_EXACT:
		return len == m->path_len && !memcmp(path, m->path, m->path_len);
	case GW_L7_PATH_PREFIX:
		if (len < m->path_len || memcmp(path, m->path, m->path_len))
			return 0;
		/* "/users" matches "/users" and "/users/...", not "/usersx". */
		return m->path[m->path_len - 1] == '/' || len == m->path_len ||
		       path[m->path_len] == '/';
	}
	return 1;
}

/* The conditions the index does not decide: path, method, headers.
 * Returns 1 when they hold. */
static int rest_matches(const struct gw_route *r, const struct gw_route_req *req,
			const struct match_paths *mp, __u32 mbit)
{
	const struct gw_l7_match *m = r->m;
	size_t i;

	if (m->flags & GW_L7_F_IGNORE_CASE) {
		if (!path_matches(m, mp->fold, mp->fold_len))
			return 0;
	} else if (!path_matches(m, mp->path, mp->len)) {
		return 0;
	}
	if (m->methods && !(m->methods & mbit))
		return 0;
	if (m->methods && mbit == GW_L7_M_OTHER) {
		for (i = 0; i < r->n_ext_methods; i++)
			if (strlen(r->ext_methods[i]) == req->method_len &&
			    !memcmp(r->ext_methods[i], req->method, req->method_len))
				break;
		if (i == r->n_ext_methods)
			return 0;
	}
	if (r->scheme && r->scheme != req->scheme)
		return 0;
	for (i = 0; i < r->n_match_headers; i++) {
		const struct gw_route_header *h = &r->match_headers[i];
		size_t vlen = 0;
		const char *v = req->header ? req->header(req->header_arg, h->name, &vlen) : NULL;

		if (!v || vlen != strlen(h->value) || memcmp(v, h->value, vlen))
			return 0;
	}
	return 1;
}

/* A lookup key in parts: the request's bytes are hashed and compared in
 * place, with the same hash as make_key()'s flat form. */
struct key_parts {
	char hk;
	const char *host;
	size_t hl;
	__u64 host_hash;	/* FNV state after hk, host and '\0' */
};

/* Returns the bucket of (parts, sk, seg), or NULL. */
static const struct bucket *lookup(const struct gw_route_table *t, const struct key_parts *k,
				   char sk, const char *seg, size_t sl)
{
	size_t len = 3 + k->hl + sl, i;
	__u64 hash = fnv1a(seg, sl, fnv1a(&sk, 1, k->host_hash));

	if (k->hl >= GW_L7_HOST_LEN || sl >= GW_L7_PATH_LEN)
		return NULL;
	for (i = (size_t)hash & t->mask;; i = (i + 1) & t->mask) {
		const struct bucket *b = &t->buckets[i];

		if (!b->key)
			return NULL;
		if (b->hash == hash && b->key_len == len && b->key[0] == k->hk &&
		    !memcmp(b->key + 1, k->host, k->hl) && b->key[2 + k->hl] == sk &&
		    !memcmp(b->key + 3 + k->hl, seg, sl))
			return b;
	}
}

/* Lowers *best to the first route of the bucket's list that matches. */
static void scan_bucket(const struct gw_route_table *t, const struct bucket *b,
			const struct gw_route_req *req, const struct match_paths *mp, __u32 mbit,
			__u32 *best)
{
	size_t i;

	for (i = 0; b && i < b->n && b->idx[i] < *best; i++) {
		if (rest_matches(&t->routes[b->idx[i]], req, mp, mbit)) {
			*best = b->idx[i];
			return;
		}
	}
}

/* Scans the lists of one host key: with the request's segment (plain and
 * folded) and any. */
static void scan_host(const struct gw_route_table *t, char hk, const char *host, size_t hl,
		      const struct gw_route_req *req, const struct match_paths *mp, __u32 mbit,
		      __u32 *best)
{
	struct key_parts k = { hk, host, hl, 0 };
	const char *seg;
	size_t sl;

	k.host_hash = fnv1a("", 1, fnv1a(host, hl, fnv1a(&hk, 1, FNV_SEED)));
	if (t->present & present_bit(hk, K_SEG)) {
		seg = first_segment(mp->path, mp->len < MATCH_BUF ? mp->len : MATCH_BUF, &sl);
		scan_bucket(t, lookup(t, &k, K_SEG, seg, sl), req, mp, mbit, best);
	}
	if (mp->fold && (t->present & present_bit(hk, K_SEG_FOLD))) {
		seg = first_segment(mp->fold, mp->fold_len < MATCH_BUF ? mp->fold_len : MATCH_BUF,
				    &sl);
		scan_bucket(t, lookup(t, &k, K_SEG_FOLD, seg, sl), req, mp, mbit, best);
	}
	if (t->present & present_bit(hk, K_SEG_ANY))
		scan_bucket(t, lookup(t, &k, K_SEG_ANY, "", 0), req, mp, mbit, best);
}

/* Fills mp with req's path in the forms the table's routes match. */
static void match_paths_of(const struct gw_route_table *t, const struct gw_route_req *req,
			   struct match_paths *mp)
{
	mp->path = req->path;
	mp->len = req->path_len;
	if (memchr(req->path, ';', req->path_len)) {
		mp->len = gw_path_match_form(req->path, req->path_len, mp->buf, MATCH_BUF, 0);
		mp->path = mp->buf;
	}
	mp->fold = NULL;
	if (t->folds) {
		mp->fold_len = gw_path_match_form(req->path, req->path_len, mp->fold_buf,
						  MATCH_BUF, GW_PATH_FOLD);
		mp->fold = mp->fold_buf;
	}
}

const struct gw_route *gw_route_match(const struct gw_route_table *t,
				      const struct gw_route_req *req)
{
	__u32 mbit = method_bit(req->method, req->method_len);
	__u32 best = UINT32_MAX;
	size_t i, hl = req->host_len;
	struct match_paths mp;

	match_paths_of(t, req, &mp);
	if (hl) {
		scan_host(t, K_HOST_EXACT, req->host, hl, req, &mp, mbit, &best);
		/* "*.example.com" (kept as ".example.com"): a suffix starting at
		 * a dot, with at least one label before it, and as long as
		 * some wildcard route's suffix. */
		if (req->host[0] != '[' && t->suffix_max && hl > t->suffix_min)
			for (i = hl - t->suffix_min; i > 0 && hl - i <= t->suffix_max; i--)
				if (req->host[i] == '.')
					scan_host(t, K_HOST_SUFFIX, req->host + i, hl - i, req,
						  &mp, mbit, &best);
	}
	scan_host(t, K_HOST_ANY, "", 0, req, &mp, mbit, &best);
	return best < t->n ? &t->routes[best] : NULL;
}

int gw_route_upstream_path(const struct gw_route *r, const char *target, size_t len, char *out,
			   size_t out_size)
{
	size_t skip = 0, n;

	/* the prefix's segments, as the request's match form counts them:
	 * "/api;v=2/x" loses "/api;v=2" to a prefix "/api" */
	if (r->strip_prefix)
		skip = gw_path_skip_segments(target, len, r->strip_segs,
					     r->m->flags & GW_L7_F_IGNORE_CASE ? GW_PATH_FOLD : 0);
	n = len - skip;
	if (out_size < n + 2)
		return -ENOSPC;
	if (!n || target[skip] == '?') {
		out[0] = '/';
		memcpy(out + 1, target + skip, n);
		n++;
	} else {
		memcpy(out, target + skip, n);
	}
	out[n] = '\0';
	return (int)n;
}
