/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the libFuzzer targets share: a check that aborts with its reason
 * (libFuzzer then saves the input as a crash), and the chunked-body
 * differential the HTTP targets run on the bytes after a head. */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

/* Aborts with the failed condition when `cond` is false. */
#define FZ_CHECK(cond)                                                              \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                             \
			abort();                                                    \
		}                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A heap copy of p[len] of exactly len bytes (so ASan sees any read past
 * it). Returns it, never NULL (aborts when out of memory). */
static inline char *fz_dup(const void *p, size_t len)
{
	char *c = malloc(len ? len : 1);

	FZ_CHECK(c != NULL);
	memcpy(c, p, len);
	return c;
}

/* Runs p[len] through gw_chunk_scan in one call, one byte a call, and
 * through gw_chunk_parse step by step, and checks they agree on the result,
 * the bytes used, the status and the payload size. Returns the result of
 * the one-shot scan. */
static inline int fz_chunk_diff(const char *p, size_t len, const struct gw_chunk_limits *lim,
				bool upstream)
{
	struct gw_chunk a, b, c;
	size_t used_a = 0, used_b = 0, used_c = 0, u, data = 0;
	struct gw_chunk_res r;
	int ra, rb = GW_CHUNK_MORE, rc = GW_CHUNK_MORE;
	char *one;

	gw_chunk_init(&a, lim, upstream);
	ra = gw_chunk_scan(&a, p, len, &used_a);
	FZ_CHECK(ra < 0 || used_a <= len);
	FZ_CHECK(ra != GW_CHUNK_MORE || used_a == len);

	gw_chunk_init(&b, lim, upstream);
	while (used_b < len && rb == GW_CHUNK_MORE) {
		one = fz_dup(p + used_b, 1);
		u = 0;
		rb = gw_chunk_scan(&b, one, 1, &u);
		free(one);
		if (rb < 0)
			break;
		FZ_CHECK(u <= 1);
		FZ_CHECK(rb == GW_CHUNK_DONE || u == 1);
		used_b += u;
	}
	FZ_CHECK(ra == rb);
	if (ra < 0) {
		FZ_CHECK(a.status == b.status);
		return ra;
	}
	FZ_CHECK(used_a == used_b);
	FZ_CHECK(a.total == b.total);

	gw_chunk_init(&c, lim, upstream);
	while (rc == GW_CHUNK_MORE && used_c < len) {
		memset(&r, 0, sizeof(r));
		rc = gw_chunk_parse(&c, p + used_c, len - used_c, &r);
		if (rc < 0)
			break;
		FZ_CHECK(r.used <= len - used_c);
		FZ_CHECK(r.data_off + r.data_len <= r.used);
		FZ_CHECK(r.used > 0 || rc == GW_CHUNK_DONE);
		data += r.data_len;
		used_c += r.used;
	}
	FZ_CHECK(rc == ra);
	FZ_CHECK(used_c == used_a);
	FZ_CHECK(data == a.total && c.total == a.total);
	return ra;
}

#endif /* GW_FUZZ_H */
