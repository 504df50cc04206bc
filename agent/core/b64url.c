// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Strict base64url without padding (JOSE). */
#include <errno.h>

#include "core/b64url.h"

/* Returns the 6-bit value of `c`, or -1 when it is not base64url. */
static int val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t gw_b64url_decode(const char *in, size_t len, unsigned char *out, size_t size)
{
	size_t i, o = 0, rem = len % 4;
	unsigned int acc = 0;
	int bits = 0, v;

	if (rem == 1)
		return -EINVAL;
	if (len / 4 * 3 + (rem ? rem - 1 : 0) > size)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		v = val((unsigned char)in[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits (2 or 4) must be zero: one spelling per value. */
	if (acc)
		return -EINVAL;
	return (ssize_t)o;
}
