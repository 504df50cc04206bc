/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L4 services in the datapath's maps: services, backends and their Maglev
 * tables. State lives in the maps (gw_services, gw_backends, gw_maglev), so
 * a new process (gwctl, a restarted gwd) picks up where the last one left.
 * Every function returns 0 or a negative errno.
 */
#ifndef GW_SERVICE_H
#define GW_SERVICE_H

#include <stddef.h>
#include <linux/types.h>
#include "gw/abi.h"
#include "core/addr.h"

struct gw_lb_maps {
	int services;		/* gw_services */
	int maglev;		/* gw_maglev (array of maps) */
	int backends;		/* gw_backends */
	int ct;			/* gw_ct */
	int nat;		/* gw_nat */
	int svc_bloom;		/* gw_svc_bloom (pre-check of gw_services) */
	int backend_stats;	/* gw_backend_stats: zeroed when a slot gets a new
				 * backend; < 0: not given (counters kept) */
};

struct gw_backend_spec {
	struct gw_endpoint ep;	/* nat: new destination; ipip: port unused */
	__u32 weight;		/* >= 1 */
	int drain;		/* keep established flows, take no new ones */
};

struct gw_service_spec {
	struct gw_endpoint vip;
	__u8 proto;		/* IPPROTO_TCP | IPPROTO_UDP */
	__u8 fwd;		/* GW_FWD_NAT | GW_FWD_IPIP */
	__u32 ring_size;	/* prime; 0: GW_MAGLEV_SIZE */
	const struct gw_backend_spec *backends;
	size_t n_backends;
};

/* Creates the service or brings it to `spec`: backends added, updated,
 * drained or removed, and the Maglev table rebuilt and swapped in at once.
 * *svc_id (optional) gets the service's id. */
int gw_service_set(const struct gw_lb_maps *m, const struct gw_service_spec *spec, __u32 *svc_id);

/*
 * Many changes at once (gwd applying a file): a snapshot of what the
 * writers need to know (the backend table, the service ids in use), read
 * once and kept current by the _snap calls, which otherwise are
 * gw_service_set / gw_service_del. Only for a single writer (gwd).
 */
struct gw_lb_snap;
int gw_lb_snap_read(const struct gw_lb_maps *m, struct gw_lb_snap **snp);
void gw_lb_snap_free(struct gw_lb_snap *sn);
/* The snapshot's gw_backends, slot i at [i]; *n gets the slot count. */
const struct gw_backend *gw_lb_snap_backends(const struct gw_lb_snap *sn, __u32 *n);
int gw_service_set_snap(const struct gw_lb_maps *m, struct gw_lb_snap *sn,
			const struct gw_service_spec *spec, __u32 *svc_id);
int gw_service_del_snap(const struct gw_lb_maps *m, struct gw_lb_snap *sn,
			const struct gw_endpoint *vip, __u8 proto);
/* Deferred mode: the _snap calls queue their gw_maglev writes (and what
 * must follow them: new services' entries, freed backends) until
 * gw_lb_snap_commit, which swaps every queued table in one batch. Packets
 * meanwhile see the old state of each queued service. A removed service's
 * table becomes an empty one rather than being deleted. */
int gw_lb_snap_defer(const struct gw_lb_maps *m, struct gw_lb_snap *sn);
int gw_lb_snap_commit(const struct gw_lb_maps *m, struct gw_lb_snap *sn);

/* Rebuilds gw_svc_bloom from gw_services: every service's bit set first,
 * then the bits no service hashes to cleared (a service is never hidden).
 * The loader runs it when it adopts pinned maps. */
int gw_svc_bloom_sync(const struct gw_lb_maps *m);

/* Moves gw_config's fib_gen on (read-modify-write of the record): the
 * datapath's cached FIB answers toward backends are dropped. For gwd when
 * routes, neighbours, rules, netconf settings or links changed. Returns 0
 * or a negative errno. */
int gw_fib_gen_bump(int config_fd);

/* Returns a map's max_entries, or 0 when its info cannot be read. */
__u32 gw_map_max_entries(int fd);

/* Removes a service, its table and its backends. */
int gw_service_del(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto);

/* Adds a backend to a service, or changes its weight / drain state;
 * removes one. The table is rebuilt and swapped. */
int gw_backend_set(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
		   const struct gw_backend_spec *b);
int gw_backend_del(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
		   const struct gw_endpoint *backend);

/* Marks exactly the listed backends of a service down (GW_BE_F_DOWN: out
 * of the Maglev table, established flows kept) and the others not, and
 * rebuilds and swaps the table when a mark changed (*changed, optional,
 * says so). When every backend that is not draining is down, the table
 * holds them all (fail open; *fail_open, optional, says so). Returns 0,
 * -ENOENT without the service, or another negative errno. */
int gw_service_health_set(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
			  const struct gw_endpoint *down, size_t n_down, int *changed,
			  int *fail_open);

#endif /* GW_SERVICE_H */
