/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health checks of the L4 services' backends: one health.h target per
 * (service, backend) of every service whose `health` section asks for
 * checks (tcp or http; udp-none and no section: unchecked). A backend
 * found down is marked GW_BE_F_DOWN and its service's Maglev table is
 * rebuilt without it (service.c: gw_service_health_set); it rejoins when
 * it is up again. Marks of one loop batch are written together, one table
 * rebuild per service.
 *
 * Targets are keyed by service (VIP, port, protocol) and backend address,
 * so a reload keeps the state of the backends that stay, and gwctl's live
 * backend changes get (or lose) a target at the next sync. A new target
 * starts from the map: a backend already marked down (by a previous gwd)
 * stays down until `healthy` checks pass; any other starts unknown, which
 * counts as up, and its first check decides.
 */
#ifndef GW_L4HEALTH_H
#define GW_L4HEALTH_H

#include "config/config.h"
#include "dp/dp.h"
#include "core/health.h"
#include "core/loop.h"

struct gw_l4health;

/* Returns 0 and a checker for the services in maps m (which must outlive
 * it) on loop l, or -errno. */
int gw_l4health_new(struct gw_loop *l, const struct gw_dp_maps *m, struct gw_l4health **out);
void gw_l4health_free(struct gw_l4health *lh);

/* Brings targets and marks in line with cfg and the backends now in the
 * maps: targets added, updated (state kept) and removed; every configured
 * service's down marks rewritten from its targets (unchecked backends are
 * never down). Returns 0 or a negative errno (what failed is logged; the
 * rest is done). */
int gw_l4health_sync(struct gw_l4health *lh, const struct gw_cfg *cfg);

/* The health of backend be of service svc: -1 when unchecked, else a
 * gw_health_state with *info filled. */
int gw_l4health_get(const struct gw_l4health *lh, const struct gw_svc_key *svc,
		    const struct gw_endpoint *be, struct gw_health_info *info);

#endif /* GW_L4HEALTH_H */
