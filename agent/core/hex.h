/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Hex digits, for the parsers that read them (API key hashes, percent
 * encodings). */
#ifndef GW_HEX_H
#define GW_HEX_H

/* Returns the value of hex digit c (either case), or -1. */
static inline int gw_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* GW_HEX_H */
