// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A ClientHello's supported_versions body, as the kTLS choice reads it
 * (gw_ktls_lists_tls13, agent/l7/ktls.c): client bytes, before any
 * handshake. The answer must equal a reference that walks the list by
 * version index: n / 2 whole versions after the length byte n, none when
 * n runs past the input.
 */
#include "fuzz.h"
#include "l7/ktls.h"

static int ref_lists_tls13(const unsigned char *p, size_t len)
{
	size_t k, versions;

	if (len < 1 || (size_t)p[0] >= len)
		return 0;
	versions = p[0] / 2;
	for (k = 0; k < versions; k++)
		if (p[1 + 2 * k] == 3 && p[2 + 2 * k] == 4)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (gw_ktls_lists_tls13(data, size) != ref_lists_tls13(data, size))
		__builtin_trap();
	return 0;
}
