/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Rates as config writes them, and the GCRA parameters the datapath uses. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <linux/types.h>
#include "gw/abi.h"

struct gw_rate {
	__u64 count;		/* events ... */
	__u64 period_ns;	/* ... per this period; count 0 = unlimited */
};

/* "20000/s", "100/m", "5/h". Returns 0 or -EINVAL (-ERANGE when the rate is
 * faster than one event per nanosecond or count is absurdly large). */
int gw_rate_parse(const char *s, struct gw_rate *r);

/* Token bucket of `rate` and `burst` (>= 1) as GCRA parameters. A zero rate
 * gives interval 0: the bucket is off. Returns 0 or -EINVAL. */
int gw_gcra_from_rate(const struct gw_rate *rate, __u64 burst, struct gw_gcra *g);

/* Back to rate (events/s, rounded) and burst, for display. */
void gw_gcra_to_rate(const struct gw_gcra *g, double *per_sec, __u64 *burst);

#endif /* GW_RATELIMIT_H */
