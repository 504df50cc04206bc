// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * CORS (cors.h): the configured lists kept as given and joined once into
 * the field values the answers carry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "l7/cors.h"

struct gw_cors {
	char **origins;
	size_t n_origins;
	int any;		/* origins: ["*"] */
	char **methods;
	size_t n_methods;
	char **headers;
	size_t n_headers;
	int credentials;
	char *methods_v;	/* "GET, POST" */
	char *headers_v;	/* "Authorization, X-Y"; NULL: none */
	char *expose_v;		/* NULL: none */
	char max_age_v[24];	/* "" : none */
};

const char *const gw_cors_strip[GW_CORS_STRIP] = {
	"access-control-allow-origin", "access-control-allow-credentials",
	"access-control-expose-headers", "access-control-max-age",
};

static const char *const simple_methods[] = { "GET", "HEAD", "POST" };

/* Copies list[n] into *out. Returns 0 or -ENOMEM. */
static int copy_list(char *const *list, size_t n, char ***out)
{
	size_t i;

	*out = calloc(n ? n : 1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		(*out)[i] = strdup(list[i]);
		if (!(*out)[i])
			return -ENOMEM;
	}
	return 0;
}

/* list[n] joined with ", " into *out (NULL for an empty list). Returns 0
 * or -ENOMEM. */
static int join(char *const *list, size_t n, char **out)
{
	size_t i, len = 1;
	char *p;

	*out = NULL;
	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		len += strlen(list[i]) + 2;
	p = *out = malloc(len);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ", " : "", list[i]);
	return 0;
}

static void free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; l && i < n; i++)
		free(l[i]);
	free(l);
}

void gw_cors_free(struct gw_cors *k)
{
	if (!k)
		return;
	free_list(k->origins, k->n_origins);
	free_list(k->methods, k->n_methods);
	free_list(k->headers, k->n_headers);
	free(k->methods_v);
	free(k->headers_v);
	free(k->expose_v);
	free(k);
}

int gw_cors_new(const struct gw_cfg_cors *cfg, struct gw_cors **out)
{
	struct gw_cors *k;
	char *const *methods = cfg->n_methods ? cfg->methods : (char *const *)simple_methods;
	size_t n_methods = cfg->n_methods ? cfg->n_methods : 3;
	int err;

	*out = NULL;
	if (!cfg->pos.line)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->n_origins = cfg->n_origins;
	k->n_methods = n_methods;
	k->n_headers = cfg->n_headers;
	k->credentials = cfg->credentials;
	k->any = cfg->n_origins == 1 && !strcmp(cfg->origins[0], "*");
	err = copy_list(cfg->origins, cfg->n_origins, &k->origins) ?:
	      copy_list(methods, n_methods, &k->methods) ?:
	      copy_list(cfg->headers, cfg->n_headers, &k->headers) ?:
	      join(methods, n_methods, &k->methods_v) ?:
	      join(cfg->headers, cfg->n_headers, &k->headers_v) ?:
	      join(cfg->expose, cfg->n_expose, &k->expose_v);
	if (err) {
		gw_cors_free(k);
		return err;
	}
	if (cfg->max_age_ns)
		snprintf(k->max_age_v, sizeof(k->max_age_v), "%llu",
			 (unsigned long long)(cfg->max_age_ns / 1000000000ull));
	*out = k;
	return 0;
}

int gw_cors_origin(const struct gw_cors *k, const char *o, size_t len)
{
	size_t i;

	if (!o)
		return GW_CORS_NONE;
	if (k->any)
		return 0;
	/* exactly: the answer echoes the configured string, and a browser
	 * compares it with its Origin byte for byte */
	for (i = 0; i < k->n_origins; i++)
		if (strlen(k->origins[i]) == len && !memcmp(k->origins[i], o, len))
			return (int)i;
	return GW_CORS_NONE;
}

int gw_cors_is_preflight(int is_options, int has_origin, int has_acrm)
{
	return is_options && has_origin && has_acrm;
}

/* 1 when s[len] is in list[n] (case-insensitively when fold). */
static int listed(char *const *list, size_t n, const char *s, size_t len, int fold)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len &&
		    (fold ? !strncasecmp(list[i], s, len) : !memcmp(list[i], s, len)))
			return 1;
	return 0;
}

/* 1 when every name of the comma-separated list h[hlen] is allowed. */
static int headers_allowed(const struct gw_cors *k, const char *h, size_t hlen)
{
	size_t i = 0, s, e;

	while (i < hlen) {
		while (i < hlen && (h[i] == ' ' || h[i] == '\t' || h[i] == ','))
			i++;
		for (s = i; i < hlen && h[i] != ','; i++)
			;
		for (e = i; e > s && (h[e - 1] == ' ' || h[e - 1] == '\t'); e--)
			;
		if (e > s && !listed(k->headers, k->n_headers, h + s, e - s, 1))
			return 0;
	}
	return 1;
}

/* Adds Vary: Origin (not for "*": the answer is the same for all). */
static size_t vary(const struct gw_cors *k, struct gw_http_kv *out, size_t n)
{
	if (k->any)
		return n;
	out[n].name = "Vary";
	out[n++].value = "Origin";
	return n;
}

/* Access-Control-Allow-Origin and -Credentials for an allowed origin. */
static size_t allow_origin(const struct gw_cors *k, int origin, struct gw_http_kv *out)
{
	size_t n = 0;

	out[n].name = "Access-Control-Allow-Origin";
	out[n++].value = k->any ? "*" : k->origins[origin];
	if (k->credentials) {
		out[n].name = "Access-Control-Allow-Credentials";
		out[n++].value = "true";
	}
	return n;
}

int gw_cors_preflight(const struct gw_cors *k, int origin, const char *m, size_t mlen,
		      const char *h, size_t hlen, struct gw_http_kv *out, size_t *n)
{
	size_t i;

	if (origin == GW_CORS_NONE || !listed(k->methods, k->n_methods, m, mlen, 0) ||
	    (h && !headers_allowed(k, h, hlen))) {
		*n = vary(k, out, 0);
		return -EACCES;
	}
	i = allow_origin(k, origin, out);
	out[i].name = "Access-Control-Allow-Methods";
	out[i++].value = k->methods_v;
	if (k->headers_v) {
		out[i].name = "Access-Control-Allow-Headers";
		out[i++].value = k->headers_v;
	}
	if (k->max_age_v[0]) {
		out[i].name = "Access-Control-Max-Age";
		out[i++].value = k->max_age_v;
	}
	*n = vary(k, out, i);
	return (int)*n;
}

size_t gw_cors_fields(const struct gw_cors *k, int origin, struct gw_http_kv *out)
{
	size_t n = 0;

	if (origin != GW_CORS_NONE) {
		n = allow_origin(k, origin, out);
		if (k->expose_v) {
			out[n].name = "Access-Control-Expose-Headers";
			out[n++].value = k->expose_v;
		}
	}
	return vary(k, out, n);
}
