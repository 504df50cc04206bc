// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Field value templates (tmpl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/tmpl.h"

enum { V_SCHEME, V_HOST, V_PATH, V_QUERY, V_BRACE, V_BAD };

static const struct {
	const char *name;
	size_t len;
} vars[] = {
	[V_SCHEME] = { "{scheme}", 8 },
	[V_HOST] = { "{host}", 6 },
	[V_PATH] = { "{path}", 6 },
	[V_QUERY] = { "{query}", 7 },
	[V_BRACE] = { "{{", 2 },
};

/* Which placeholder starts at p (a '{'). Returns V_* (V_BAD: none). */
static int var_at(const char *p)
{
	int i;

	for (i = V_SCHEME; i < V_BAD; i++)
		if (!strncmp(p, vars[i].name, vars[i].len))
			return i;
	return V_BAD;
}

/* 1 when byte ch may be in a field value (RFC 9110 5.5: no CTL but tab). */
static int value_byte(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

int gw_tmpl_check(const char *t, char *why, size_t whylen)
{
	const char *p;

	for (p = t; *p; p++) {
		if (!value_byte((unsigned char)*p)) {
			snprintf(why, whylen, "holds a control character");
			return -EINVAL;
		}
		if (*p != '{')
			continue;
		if (var_at(p) == V_BAD) {
			snprintf(why, whylen, "has an unknown placeholder at '%.16s' (known: "
				 "{scheme} {host} {path} {query}, and {{ for '{')", p);
			return -EINVAL;
		}
		p += vars[var_at(p)].len - 1;
	}
	return 0;
}

/* Appends s[len] to out at *n, checking its bytes. Returns 0, -ENOSPC or
 * -EINVAL. */
static int put(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	size_t i;

	if (len >= cap - *n)
		return -ENOSPC;
	for (i = 0; i < len; i++)
		if (!value_byte((unsigned char)s[i]))
			return -EINVAL;
	memcpy(out + *n, s, len);
	*n += len;
	return 0;
}

int gw_tmpl_expand(const char *t, const struct gw_tmpl_vars *v, char *out, size_t cap)
{
	size_t n = 0;
	int err = 0, k;

	if (!cap)
		return -ENOSPC;
	for (; *t && !err; t++) {
		k = *t == '{' ? var_at(t) : V_BAD;
		switch (k) {
		case V_SCHEME:
			err = put(out, cap, &n, v->scheme, v->scheme_len);
			break;
		case V_HOST:
			err = put(out, cap, &n, v->host, v->host_len);
			break;
		case V_PATH:
			err = put(out, cap, &n, v->path, v->path_len);
			break;
		case V_QUERY:
			if (v->query && v->query_len)
				err = put(out, cap, &n, "?", 1) ?:
				      put(out, cap, &n, v->query, v->query_len);
			break;
		case V_BRACE:
			err = put(out, cap, &n, "{", 1);
			break;
		default:
			err = put(out, cap, &n, t, 1);
			continue;
		}
		t += vars[k].len - 1;
	}
	if (err)
		return err;
	out[n] = '\0';
	return (int)n;
}
