// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Path and host normalization (agent/http/pathnorm.c): the first input byte
 * picks path, host or config host (wildcard allowed). Normalization is
 * idempotent: what it returns normalizes to itself, byte for byte. The
 * forms routes match a path in (gw_path_match_form, plain and folded) are
 * no longer than the path, carry no ';' (folded: no upper case), are their
 * own match form, and gw_path_skip_segments stays inside the path.
 */
#include <errno.h>

#include "fuzz.h"
#include "http/pathnorm.h"

/* Checks the match forms of a normalized path[plen]. Returns nothing. */
static void check_match_form(const char *path, size_t plen)
{
	unsigned int flags;
	size_t n, n2, i, k;
	char *f = malloc(plen + 1), *f2 = malloc(plen + 1);

	FZ_CHECK(f && f2);
	for (flags = 0; flags <= GW_PATH_FOLD; flags += GW_PATH_FOLD) {
		n = gw_path_match_form(path, plen, f, plen + 1, flags);
		FZ_CHECK(n >= 1 && n <= plen && f[0] == '/' && !memchr(f, ';', n));
		for (i = 0; (flags & GW_PATH_FOLD) && i < n; i++)
			FZ_CHECK(f[i] < 'A' || f[i] > 'Z');
		n2 = gw_path_match_form(f, n, f2, plen + 1, flags);
		FZ_CHECK(n2 == n && !memcmp(f, f2, n));
		for (k = 0; k < 4; k++)
			FZ_CHECK(gw_path_skip_segments(path, plen, k, flags) <= plen);
	}
	free(f);
	free(f2);
}

/* Checks one request target. Returns nothing. */
static void check_path(const char *in, size_t len)
{
	size_t plen = 0, plen2 = 0;
	char *out = malloc(len + 1), *out2, *copy;
	int n, n2;

	FZ_CHECK(out != NULL);
	n = gw_path_normalize(in, len, out, len + 1, &plen);
	FZ_CHECK(n != -ENOSPC);
	if (n < 0) {
		FZ_CHECK(n == -EINVAL);
		free(out);
		return;
	}
	FZ_CHECK(n >= 1 && (size_t)n <= len && out[0] == '/' && out[n] == '\0');
	FZ_CHECK(plen >= 1 && plen <= (size_t)n && strlen(out) == (size_t)n);
	check_match_form(out, plen);
	copy = fz_dup(out, (size_t)n);
	out2 = malloc((size_t)n + 1);
	FZ_CHECK(out2 != NULL);
	n2 = gw_path_normalize(copy, (size_t)n, out2, (size_t)n + 1, &plen2);
	if (n2 != n || memcmp(out, out2, (size_t)n))
		fprintf(stderr, "not idempotent: \"%s\" -> \"%s\" (%d)\n", out,
			n2 > 0 ? out2 : "", n2);
	FZ_CHECK(n2 == n && !memcmp(out, out2, (size_t)n) && plen2 == plen);
	free(copy);
	free(out2);
	free(out);
}

/* Checks one host value. Returns nothing. */
static void check_host(const char *in, size_t len, int wildcard)
{
	char out[GW_HOST_BUF], out2[GW_HOST_BUF], *copy;
	int n, n2;

	n = gw_host_normalize(in, len, out, wildcard);
	if (n < 0) {
		FZ_CHECK(n == -EINVAL);
		return;
	}
	FZ_CHECK(n < GW_HOST_BUF && out[n] == '\0' && strlen(out) == (size_t)n);
	copy = fz_dup(out, (size_t)n);
	n2 = gw_host_normalize(copy, (size_t)n, out2, wildcard);
	if (n2 != n || memcmp(out, out2, (size_t)n))
		fprintf(stderr, "not idempotent: \"%s\" -> \"%s\" (%d)\n", out,
			n2 >= 0 ? out2 : "", n2);
	FZ_CHECK(n2 == n && !memcmp(out, out2, (size_t)n));
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_path((const char *)data + 1, size - 1);
		break;
	case 1:
		check_host((const char *)data + 1, size - 1, 0);
		break;
	default:
		check_host((const char *)data + 1, size - 1, 1);
		break;
	}
	return 0;
}
