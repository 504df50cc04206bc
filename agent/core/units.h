/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The text forms of durations ("2s", "1500ms", "10m", "1h") and sizes
 * ("512", "64k", "10m", "1g": powers of 1024) that the config and gwctl
 * read.
 */
#ifndef GW_CORE_UNITS_H
#define GW_CORE_UNITS_H

#include <linux/types.h>

/* Parses a duration into *ns. Returns 0, -EINVAL (not a duration) or
 * -ERANGE (too large). */
int gw_duration_parse(const char *s, __u64 *ns);

/* Parses a size into *bytes. Returns 0, -EINVAL or -ERANGE. */
int gw_size_parse(const char *s, __u64 *bytes);

#endif /* GW_CORE_UNITS_H */
