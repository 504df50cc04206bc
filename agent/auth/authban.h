/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Repeated authentication failures from one address become an XDP ban
 * (filter.ban in gateway.yaml): every failure takes a token from a per-source
 * GCRA bucket of rate `auth_failures` and burst equal to its count (20/m: the
 * 21st failure within a minute bans); a failure that finds the bucket empty
 * hands a ban of `duration` to the caller's callback (gwd writes it into
 * the XDP ban maps, dp/filter.h) and resets
 * the bucket, so counting starts afresh when the ban ends.
 *
 * Sources are whole IPv4 addresses and IPv6 /64s (one host holds a /64 and
 * could otherwise rotate through it); the ban covers the same prefix.
 *
 * Memory is fixed at creation: a set-associative table (8 ways a set). A
 * new source takes its set's way with the least debt; an attacker with many
 * addresses can push out idle sources but never grows the table, and a
 * source only loses its count when every other way of its set owes more.
 * Thread-safe (the L7 workers share one): a set's ways are guarded by one of
 * 64 striped mutexes.
 */
#ifndef GW_AUTHBAN_H
#define GW_AUTHBAN_H

#include <linux/types.h>
#include "core/addr.h"
#include "core/ratelimit.h"

struct gw_authban;

struct gw_authban_opts {
	struct gw_rate failures;	/* count 0: no automatic bans */
	__u64 duration_ns;
	__u32 capacity;			/* sources tracked; rounded up to 8 * 2^k */
	/* Where bans go: returns 0 or -errno; NULL: gw_authban_fail only
	 * reports (tests). The prefix is the source's /32 or /64. */
	int (*ban)(void *arg, const struct gw_cidr *prefix, __u64 duration_ns);
	void *ban_arg;
	/* CLOCK_MONOTONIC now; NULL: the real clock (tests inject one). */
	__u64 (*now)(void *arg);
	void *now_arg;
};

/* Returns 0 and a table in *out, or -EINVAL (bad options) / -ENOMEM. */
int gw_authban_new(const struct gw_authban_opts *o, struct gw_authban **out);
void gw_authban_free(struct gw_authban *b);

/* Changes rate and duration (reload) keeping the counts. Returns 0 or
 * -EINVAL. */
int gw_authban_configure(struct gw_authban *b, const struct gw_rate *failures,
			 __u64 duration_ns);

/* Counts one failure from `src`. Returns 1 when this failure banned the
 * source (the ban is handed on when a callback was given), 0 when it did not, or
 * a negative errno when the ban could not be written (logged). */
int gw_authban_fail(struct gw_authban *b, const struct gw_ip *src);

/* Bans written since creation (for metrics and tests). */
__u64 gw_authban_count(const struct gw_authban *b);

/* The prefix a source is counted and banned as (/32 or /64). */
void gw_authban_prefix(const struct gw_ip *src, struct gw_cidr *out);

#endif /* GW_AUTHBAN_H */
