/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Turning a parsed gateway.yaml into the datapath's maps: only the
 * difference is written, so a reload touches what changed and nothing else.
 */
#ifndef GW_APPLY_H
#define GW_APPLY_H

#include "config/config.h"
#include "dp/dp.h"

struct gw_apply_stats {
	unsigned int filter_added;	/* static entries written */
	unsigned int filter_removed;	/* static entries deleted */
	unsigned int services_set;	/* services created or changed */
	unsigned int services_kept;	/* services already as configured */
	unsigned int services_removed;
	__u64 duration_ns;		/* wall time of the whole apply (CLOCK_MONOTONIC) */
};

/*
 * Makes the maps match cfg's filter, rate_limits and services sections.
 * Static filter entries the file does not list (from an older file or from
 * gwctl) are removed; bans stay, they are runtime state. Services the file
 * does not list are removed with their backends; unchanged ones are left
 * alone (their Maglev tables and flows untouched). The config record gets
 * the default policy and buckets, and its generation is advanced.
 * st->duration_ns is how long it took; it is logged ("apply: ... in N ms").
 * Returns 0 or a negative errno (the maps then hold part of the change:
 * applying again completes it).
 */
int gw_apply_datapath(const struct gw_cfg *cfg, const struct gw_dp_maps *m,
		      struct gw_apply_stats *st);

/* The gw_services key of a configured service. */
void gw_apply_svc_key(const struct gw_cfg_service *s, struct gw_svc_key *k);

#endif /* GW_APPLY_H */
