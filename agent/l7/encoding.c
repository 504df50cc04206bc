// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which answers are compressed (encoding.h): field value parsing for
 * Accept-Encoding, Content-Type and Cache-Control, bounded by the values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "l7/encoding.h"

void gw_zrule_free(struct gw_zrule *z)
{
	size_t i;

	if (!z)
		return;
	for (i = 0; i < z->n_types; i++)
		free(z->types[i]);
	free(z->types);
	free(z);
}

int gw_zrule_new(const struct gw_cfg_compress *cfg, struct gw_zrule **out)
{
	struct gw_zrule *z;
	size_t i;
	char *p;

	*out = NULL;
	if (!cfg->pos.line)
		return 0;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->types = calloc(cfg->n_types ? cfg->n_types : 1, sizeof(char *));
	if (!z->types) {
		free(z);
		return -ENOMEM;
	}
	z->min_size = cfg->min_size;
	z->level = cfg->level ? (int)cfg->level : GW_CFG_COMPRESS_LEVEL;
	z->brotli = cfg->brotli;
	for (i = 0; i < cfg->n_types; i++) {
		z->types[i] = strdup(cfg->types[i]);
		if (!z->types[i]) {
			gw_zrule_free(z);
			return -ENOMEM;
		}
		z->n_types++;
		for (p = z->types[i]; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
	}
	*out = z;
	return 0;
}

static int ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The q value of the parameters p[len] (after the coding): 0 when "q=0"
 * (or 0.0, 0.00 ...), else 1. */
static int q_nonzero(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && (ows(p[i]) || p[i] == ';'))
			i++;
		if (i + 1 < len && (p[i] == 'q' || p[i] == 'Q') && p[i + 1] == '=') {
			for (i += 2; i < len && (p[i] == '0' || p[i] == '.'); i++)
				;
			return i < len && p[i] >= '1' && p[i] <= '9';
		}
		while (i < len && p[i] != ';')
			i++;
	}
	return 1;
}

unsigned int gw_accepts(const char *v, size_t len)
{
	static const struct {
		const char *name;
		size_t len;
		unsigned int bit;
	} codings[] = { { "gzip", 4, GW_ENC_GZIP }, { "br", 2, GW_ENC_BR } };
	unsigned int named = 0, yes = 0, star = 0, k;
	size_t i = 0, s, e, pe;

	if (!v)
		return 0;
	while (i < len) {
		while (i < len && (ows(v[i]) || v[i] == ','))
			i++;
		for (s = i; i < len && v[i] != ','; i++)
			;
		for (e = s; e < i && v[e] != ';' && !ows(v[e]); e++)
			;
		for (pe = e; pe < i && v[pe] != ';'; pe++)
			;
		for (k = 0; k < 2; k++)
			if (e - s == codings[k].len && !strncasecmp(v + s, codings[k].name, e - s) &&
			    !(named & codings[k].bit)) {
				named |= codings[k].bit;	/* the first mention rules */
				yes |= q_nonzero(v + pe, i - pe) ? codings[k].bit : 0;
			}
		if (e - s == 1 && v[s] == '*')
			star = q_nonzero(v + pe, i - pe) ? GW_ENC_GZIP | GW_ENC_BR : 0;
	}
	return yes | (star & ~named);
}

int gw_accepts_gzip(const char *v, size_t len)
{
	return !!(gw_accepts(v, len) & GW_ENC_GZIP);
}

int gw_zrule_type(const struct gw_zrule *z, const char *v, size_t len)
{
	size_t i, n, tl;

	if (!v)
		return 0;
	while (len && ows(*v)) {
		v++;
		len--;
	}
	for (n = 0; n < len && v[n] != ';' && !ows(v[n]); n++)
		;
	for (i = 0; i < z->n_types; i++) {
		tl = strlen(z->types[i]);
		if (tl >= 2 && !strcmp(z->types[i] + tl - 2, "/*")) {
			if (n > tl - 1 && !strncasecmp(v, z->types[i], tl - 1))
				return 1;
		} else if (tl == n && !strncasecmp(v, z->types[i], n)) {
			return 1;
		}
	}
	return 0;
}

int gw_no_transform(const char *v, size_t len)
{
	size_t i;

	for (i = 0; v && i + 12 <= len; i++)
		if (!strncasecmp(v + i, "no-transform", 12) && (!i || v[i - 1] == ',' ||
								ows(v[i - 1])))
			return 1;
	return 0;
}
