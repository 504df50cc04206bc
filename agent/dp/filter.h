/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IP filter's entries, as user space writes them into the datapath's
 * tries (gw_filter_v4/v6: static allow/deny; gw_ban_v4/v6: time-limited
 * denies). Works on map fds, so gwd and gwctl (through the pins, with gwd
 * down) share it. Every function returns 0 or a negative errno.
 */
#ifndef GW_FILTER_H
#define GW_FILTER_H

#include <stddef.h>
#include <linux/types.h>
#include "gw/abi.h"
#include "core/addr.h"
#include "core/loop.h"

struct gw_filter_maps {
	int v4, v6;		/* gw_filter_v4, gw_filter_v6 */
	int ban_v4, ban_v6;	/* gw_ban_v4, gw_ban_v6 */
	int config;		/* gw_config: filter_gen, GW_CFG_F_NO_BANS_*; < 0
				 * only where no datapath caches verdicts */
};

/* Adds a static entry (GW_RULE_ALLOW or GW_RULE_DENY). On the same prefix,
 * allow wins: a deny over an existing allow leaves the allow and returns
 * -EEXIST; an allow over a deny replaces it. */
int gw_filter_add(const struct gw_filter_maps *m, const struct gw_cidr *c, int action, int origin);

/* Removes a static entry if it holds `action`; -ENOENT otherwise. */
int gw_filter_del(const struct gw_filter_maps *m, const struct gw_cidr *c, int action);

/* One static entry of gw_filter_write_many(). */
struct gw_filter_rule_at {
	struct gw_cidr cidr;
	int action;		/* GW_RULE_ALLOW | GW_RULE_DENY */
	int origin;		/* GW_ORIGIN_* */
};

/* Writes (del: removes; an entry already gone is no error) n static
 * entries as they are, with no read of what the tries hold first (the
 * caller knows: gwd applying a file), batched where the kernel can, and
 * moves filter_gen on once at the end. Returns 0 or a negative errno. */
int gw_filter_write_many(const struct gw_filter_maps *m, const struct gw_filter_rule_at *v,
			 size_t n, int del);

/* Adds or extends a time-limited deny that ends ttl_ns from now
 * (CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns). */
int gw_ban_add(const struct gw_filter_maps *m, const struct gw_cidr *c, __u64 ttl_ns, int origin);
int gw_ban_del(const struct gw_filter_maps *m, const struct gw_cidr *c);

/* Deletes ban entries whose deadline has passed (the datapath already
 * ignores them); returns how many it removed, or a negative errno. */
int gw_ban_gc(const struct gw_filter_maps *m);

/* Sets GW_CFG_F_NO_BANS_V4/V6 in gw_config for each ban trie found empty
 * (the datapath then skips it) and clears it for a non-empty one.
 * gw_ban_add clears the flag before it writes a ban; gw_ban_del and
 * gw_ban_gc call this. Returns 0 or a negative errno; 0 without doing
 * anything when m->config < 0. */
int gw_ban_sync(const struct gw_filter_maps *m);

struct gw_filter_entry {
	struct gw_cidr cidr;
	struct gw_rule rule;
	int is_ban;		/* from gw_ban_* rather than gw_filter_* */
};

/* Calls fn for every entry of the four tries (v4 before v6, static before
 * bans); stops and returns fn's value when it is not 0. */
int gw_filter_foreach(const struct gw_filter_maps *m,
		      int (*fn)(const struct gw_filter_entry *e, void *arg), void *arg);

#endif /* GW_FILTER_H */
