// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rates as config writes them ("20000/s", "100/m", "5/h") and the GCRA
 * parameters the datapath's per-source buckets use (bpf/lib/ratelimit.h).
 * The interval is rounded up to whole nanoseconds, so a bucket never admits
 * more than the configured rate; docs/datapath-l3.md derives the bound.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/ratelimit.h"

#define NSEC_PER_SEC 1000000000ull

/* Counts above this are refused as absurd (-ERANGE) before any unit test. */
#define GW_RATE_COUNT_MAX 1000000000000000ull	/* 1e15 */

/* Tolerances above this would let TAT arithmetic approach u64 overflow. */
#define GW_GCRA_TOLERANCE_MAX (1ull << 62)

static const struct {
	const char *unit;
	__u64 ns;
} rate_units[] = {
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "h", 3600 * NSEC_PER_SEC },
};

int gw_rate_parse(const char *s, struct gw_rate *r)
{
	const char *slash;
	__u64 count = 0;
	size_t i, n;

	memset(r, 0, sizeof(*r));
	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (!n || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (count > GW_RATE_COUNT_MAX / 10) {
			/* Keep scanning: "12x34.../s" is -EINVAL, not -ERANGE. */
			count = GW_RATE_COUNT_MAX + 1;
			continue;
		}
		count = count * 10 + (__u64)(s[i] - '0');
	}
	for (i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++) {
		if (strcmp(slash + 1, rate_units[i].unit))
			continue;
		if (count > GW_RATE_COUNT_MAX || count > rate_units[i].ns)
			return -ERANGE;	/* more than one event per nanosecond */
		r->count = count;
		r->period_ns = rate_units[i].ns;
		return 0;
	}
	return -EINVAL;
}

int gw_gcra_from_rate(const struct gw_rate *rate, __u64 burst, struct gw_gcra *g)
{
	__u64 interval;

	memset(g, 0, sizeof(*g));
	if (!burst)
		return -EINVAL;
	if (!rate->count)
		return 0;	/* unlimited: the bucket is off */
	if (!rate->period_ns || rate->count > rate->period_ns)
		return -EINVAL;
	/* Round up: never faster than configured. */
	interval = rate->period_ns / rate->count + (rate->period_ns % rate->count != 0);
	if (burst - 1 > GW_GCRA_TOLERANCE_MAX / interval)
		return -EINVAL;
	g->interval_ns = interval;
	g->tolerance_ns = (burst - 1) * interval;
	return 0;
}

void gw_gcra_to_rate(const struct gw_gcra *g, double *per_sec, __u64 *burst)
{
	if (!g->interval_ns) {
		*per_sec = 0;
		*burst = 0;
		return;
	}
	/* To a thousandth: 1e9 / ceil(1e9 / 3) shows as 3, not 2.999999994. */
	*per_sec = (double)(__u64)((double)NSEC_PER_SEC * 1000.0 / (double)g->interval_ns + 0.5) /
		   1000.0;
	*burst = (g->tolerance_ns + g->interval_ns / 2) / g->interval_ns + 1;
}
