/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Strict base64url (RFC 4648 section 5) without padding, as JOSE uses it:
 * only A-Z a-z 0-9 - _, no '=', no whitespace, and the unused low bits of
 * the last character must be zero (one canonical spelling per byte string). */
#ifndef GW_B64URL_H
#define GW_B64URL_H

#include <stddef.h>
#include <sys/types.h>

/* Returns the number of bytes `len` characters decode to at most. */
static inline size_t gw_b64url_decoded_max(size_t len)
{
	return len / 4 * 3 + 2;
}

/* Decodes `len` characters of `in` into `out` (room for `size` bytes).
 * Returns the decoded length, -EINVAL for a character outside the alphabet,
 * a length of 4k+1, or non-zero trailing bits, -ENOSPC when out is short. */
ssize_t gw_b64url_decode(const char *in, size_t len, unsigned char *out, size_t size);

#endif /* GW_B64URL_H */
