// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Chunked bodies (agent/http/http1_chunk.c): gw_chunk_scan in one call, one
 * byte a call, and gw_chunk_parse step by step agree on the result, the
 * bytes used, the status and the payload size (fuzz.h). The first input
 * byte picks the limits and the direction.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_chunk_limits lim = { 0 };
	uint8_t sel;

	if (size < 1 || size > 16384)
		return 0;
	sel = data[0];
	if (sel & 1)
		lim.max_ext = 16;
	if (sel & 2)
		lim.max_trailer = 64;
	if (sel & 4)
		lim.max_body = 1000;
	fz_chunk_diff((const char *)data + 1, size - 1, &lim, sel & 8);
	return 0;
}
