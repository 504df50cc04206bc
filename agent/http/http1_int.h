/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internals shared by the http1*.c files: byte classes and name helpers. */
#ifndef GW_HTTP1_INT_H
#define GW_HTTP1_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Byte classes (gw_http_cls[]), RFC 9110 5.6.2, 5.5 and RFC 3986. */
#define GW_C_TCHAR 0x01 /* token character */
#define GW_C_VALUE 0x02 /* field-vchar, SP, HTAB, obs-text */
#define GW_C_PATH  0x04 /* pchar (without '%', checked apart) and '/' */
#define GW_C_QUERY 0x08 /* visible ASCII except '#' */
#define GW_C_AUTH  0x10 /* unreserved, sub-delims, ':', '[', ']' */
#define GW_C_HEX   0x20 /* hex digit */
#define GW_C_VCHAR 0x40 /* visible ASCII */

extern const uint8_t gw_http_cls[256];

static inline bool gw_http_is(uint8_t c, uint8_t cls)
{
	return gw_http_cls[c] & cls;
}

static inline uint8_t gw_http_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/* True when a[n] equals the lowercase literal b[n] ignoring ASCII case. */
static inline bool gw_http_ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (gw_http_lower((uint8_t)a[i]) != (uint8_t)b[i])
			return false;
	return true;
}

/* True when a[n] equals b[n] ignoring ASCII case on both sides. */
static inline bool gw_http_ieq2(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (gw_http_lower((uint8_t)a[i]) != gw_http_lower((uint8_t)b[i]))
			return false;
	return true;
}

/* enum gw_http_hdr_id of a field name. */
uint8_t gw_http_hdr_id(const char *name, size_t len);

/* Canonical lowercase name of a transfer coding. */
const char *gw_http_coding_name(uint8_t coding);

#endif /* GW_HTTP1_INT_H */
