// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Request path and host normalization (see pathnorm.h and docs/routing.md).
 * Both run on every request: one pass, no allocation.
 */
#include <errno.h>
#include <string.h>

#include "core/hex.h"
#include "http/pathnorm.h"

#define HOST_NAME_MAX_LEN 253

/* RFC 3986 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
static int is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Bytes a request target may carry raw: visible ASCII. */
static int is_visible(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/*
 * Decodes one segment in[0..len) (no '/' inside) to out. Returns the
 * decoded length or -EINVAL.
 */
static int decode_segment(const char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int hi, lo;

		if (c != '%') {
			if (!is_visible(c) || c == '\\' || c == '#')
				return -EINVAL;
			out[o++] = (char)c;
			continue;
		}
		if (len - i < 3)
			return -EINVAL;
		hi = gw_hexval((unsigned char)in[i + 1]);
		lo = gw_hexval((unsigned char)in[i + 2]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		c = (unsigned char)(hi << 4 | lo);
		/* NUL, and separators hidden in a segment: refused. */
		if (!c || c == '/' || c == '\\')
			return -EINVAL;
		if (is_unreserved(c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[hi];
			out[o++] = hex[lo];
		}
		i += 2;
	}
	return (int)o;
}

/*
 * 1 for "." or ".." followed by path parameters (";..."): Tomcat, Jetty and
 * Spring drop the parameters and then resolve the dots, so "/pub/..;/admin"
 * reaches /admin behind a gateway that routed it to /pub/. No legitimate
 * path needs such a segment: it is refused.
 */
static int dot_with_params(const char *seg, size_t n)
{
	return (n >= 2 && seg[0] == '.' && seg[1] == ';') ||
	       (n >= 3 && seg[0] == '.' && seg[1] == '.' && seg[2] == ';');
}

int gw_path_normalize(const char *in, size_t len, char *out, size_t out_size, size_t *path_len)
{
	size_t plen, i, o = 0, q;
	int trailing = 0;

	if (!len || in[0] != '/')
		return -EINVAL;
	if (out_size < len + 1)
		return -ENOSPC;
	for (plen = 0; plen < len && in[plen] != '?'; plen++)
		;
	/*
	 * out[0..o) holds "/seg1/seg2..." of the segments kept so far; each
	 * input segment is decoded just behind it and then kept, dropped
	 * ("", ".") or turned into a pop ("..").
	 */
	i = 1;
	while (i <= plen) {
		size_t start = i, end = i;
		int n;

		while (end < plen && in[end] != '/')
			end++;
		n = decode_segment(in + start, end - start, out + o + 1);
		if (n < 0)
			return n;
		i = end + 1;
		if (dot_with_params(out + o + 1, (size_t)n))
			return -EINVAL;
		if (n == 0 || (n == 1 && out[o + 1] == '.')) {
			trailing = 1;	/* "//" merged, "." dropped */
		} else if (n == 2 && out[o + 1] == '.' && out[o + 2] == '.') {
			while (o > 0 && out[--o] != '/')
				;
			trailing = 1;
		} else {
			out[o] = '/';
			o += 1 + (size_t)n;
			trailing = 0;
		}
	}
	if (!o || trailing)
		out[o++] = '/';
	if (path_len)
		*path_len = o;
	/* The query is forwarded as it came; only bytes HTTP forbids are refused. */
	for (q = plen; q < len; q++) {
		unsigned char c = (unsigned char)in[q];

		if (!is_visible(c) || c == '#')
			return -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* Appends byte c at *o (counted even past out_size). */
static void put(char *out, size_t out_size, size_t *o, char c)
{
	if (*o < out_size)
		out[*o] = c;
	(*o)++;
}

/* The length of segment seg[0..n) once its trailing '.' and "%20" are
 * removed (GW_PATH_FOLD). Returns it. */
static size_t fold_tail(const char *seg, size_t n)
{
	for (;;) {
		if (n && seg[n - 1] == '.')
			n--;
		else if (n >= 3 && !memcmp(seg + n - 3, "%20", 3))
			n -= 3;
		else
			return n;
	}
}

/* The segment starting at path[start] (up to '/', '?' or len): sets *end
 * to where it stops. Returns its length in the match form. */
static size_t segment(const char *path, size_t len, size_t start, size_t *end,
		      unsigned int flags)
{
	size_t i = start, n;

	while (i < len && path[i] != '/' && path[i] != '?')
		i++;
	*end = i;
	for (n = 0; start + n < i && path[start + n] != ';'; n++)
		;
	return flags & GW_PATH_FOLD ? fold_tail(path + start, n) : n;
}

size_t gw_path_skip_segments(const char *path, size_t len, size_t k, unsigned int flags)
{
	size_t i = 0;

	while (k && i < len && path[i] == '/')
		k -= segment(path, len, i + 1, &i, flags) != 0;
	return i;
}

size_t gw_path_match_form(const char *path, size_t len, char *out, size_t out_size,
			  unsigned int flags)
{
	size_t i = 0, o = 0, start, n, k;

	while (i < len) {
		start = i + 1;	/* past the '/' */
		n = segment(path, len, start, &i, flags);
		if (!n) {
			/* nothing left of this segment; a last one keeps a '/' */
			if (i >= len)
				put(out, out_size, &o, '/');
			continue;
		}
		put(out, out_size, &o, '/');
		for (k = 0; k < n; k++) {
			char c = path[start + k];

			if ((flags & GW_PATH_FOLD) && c >= 'A' && c <= 'Z')
				c = (char)(c | 0x20);
			put(out, out_size, &o, c);
		}
	}
	if (!o)
		put(out, out_size, &o, '/');
	return o;
}

static int is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Checks a "[v6]" literal lower-cased in out[0..n). Returns 0 or -EINVAL. */
static int check_literal(const char *s, size_t n)
{
	size_t i;

	if (n < 4 || s[n - 1] != ']')
		return -EINVAL;
	for (i = 1; i < n - 1; i++)
		if (!(gw_hexval((unsigned char)s[i]) >= 0 || s[i] == ':' || s[i] == '.'))
			return -EINVAL;
	return 0;
}

int gw_host_normalize(const char *in, size_t len, char *out, int wildcard)
{
	size_t n = len, i, label = 0;

	/* Port: after the literal's ']' or the last ':'. */
	for (i = len; i > 0; i--) {
		if (in[i - 1] == ':' || in[i - 1] == ']')
			break;
	}
	if (i > 0 && in[i - 1] == ':' && in[0] != '[') {
		n = i - 1;
	} else if (i > 0 && in[i - 1] == ':' && in[0] == '[') {
		/* "[...]:port": the ':' must follow the ']'. */
		if (i < 2 || in[i - 2] != ']')
			return -EINVAL;
		n = i - 1;
	}
	if (n < len) {
		if (len - n - 1 > 5)	/* "host:" (empty port) is allowed */
			return -EINVAL;
		for (i = n + 1; i < len; i++)
			if (in[i] < '0' || in[i] > '9')
				return -EINVAL;
	}
	if (n && in[n - 1] == '.' && in[0] != '[') {
		if (n == 1)
			return -EINVAL;
		n--;
	}
	if (n > HOST_NAME_MAX_LEN)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	if (!n)
		return 0;
	if (out[0] == '[')
		return check_literal(out, n) ? -EINVAL : (int)n;
	i = 0;
	if (wildcard && n > 2 && out[0] == '*' && out[1] == '.')
		i = 2;
	for (; i < n; i++) {
		if (out[i] == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if (is_host_char((unsigned char)out[i])) {
			label++;
		} else {
			return -EINVAL;
		}
	}
	return label ? (int)n : -EINVAL;
}
