// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Durations and sizes in text (units.h).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "core/units.h"

#define NS_MS 1000000ull
#define NS_S 1000000000ull

struct unit {
	const char *name;
	__u64 mul;
};

static const struct unit durations[] = {
	{ "ms", NS_MS }, { "s", NS_S }, { "m", 60 * NS_S }, { "h", 3600 * NS_S },
};


static const struct unit sizes[] = {
	{ "", 1 },
	{ "k", 1ull << 10 }, { "K", 1ull << 10 },
	{ "m", 1ull << 20 }, { "M", 1ull << 20 },
	{ "g", 1ull << 30 }, { "G", 1ull << 30 },
};

/* Parses digits followed by exactly one of the n units into *out. Returns
 * 0, -EINVAL or -ERANGE. */
static int parse_with_unit(const char *s, const struct unit *u, size_t n, __u64 *out)
{
	const char *p = s;
	__u64 v = 0;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (__u64)(*p - '0');
	}
	for (i = 0; i < n; i++) {
		if (strcmp(p, u[i].name))
			continue;
		if (v > ULLONG_MAX / u[i].mul)
			return -ERANGE;
		*out = v * u[i].mul;
		return 0;
	}
	return -EINVAL;
}

int gw_duration_parse(const char *s, __u64 *ns)
{
	return parse_with_unit(s, durations, sizeof(durations) / sizeof(durations[0]), ns);
}

int gw_size_parse(const char *s, __u64 *bytes)
{
	return parse_with_unit(s, sizes, sizeof(sizes) / sizeof(sizes[0]), bytes);
}
