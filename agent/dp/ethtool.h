/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A device's driver statistics (what `ethtool -S` prints), read with the
 * ethtool ioctl in the caller's network namespace.
 */
#ifndef GW_DP_ETHTOOL_H
#define GW_DP_ETHTOOL_H

#include <linux/types.h>

/* Calls each(name, value, arg) for every statistic of ifname, in the
 * driver's order, until it returns non-zero. Returns 0, each's non-zero
 * return, or a negative errno (-EOPNOTSUPP: the driver has none). */
int gw_ethtool_stats(const char *ifname, int (*each)(const char *name, __u64 val, void *arg),
		     void *arg);

#endif /* GW_DP_ETHTOOL_H */
