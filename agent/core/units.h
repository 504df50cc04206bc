/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The text form of durations ("2s", "1500ms", "10m", "1h") that the config
 * and gwctl read.
 */
#ifndef GW_CORE_UNITS_H
#define GW_CORE_UNITS_H

#include <linux/types.h>

/* Parses a duration into *ns. Returns 0, -EINVAL (not a duration) or
 * -ERANGE (too large). */
int gw_duration_parse(const char *s, __u64 *ns);

#endif /* GW_CORE_UNITS_H */
