/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `nat` across cluster nodes (docs/cluster.md): cluster.nat_source into
 * the datapath (gw_nat_src, GW_CFG_F_NAT_SYNC), the datapath's new flows
 * read from gw_nat_events, and the other nodes' flows written into gw_ct
 * and gw_nat with this node's own service and backend ids. Every function
 * returns 0 or a negative errno unless it says otherwise.
 */
#ifndef GW_DP_NATSYNC_H
#define GW_DP_NATSYNC_H

#include <stddef.h>
#include <linux/types.h>
#include "gw/abi.h"
#include "core/addr.h"
#include "core/natshare.h"
#include "dp/service.h"

/* Writes the translated source of `nat` flows (at most one address per
 * family; n == 0: the egress interface's, as without a cluster) into
 * gw_nat_src and sets GW_CFG_F_NAT_SYNC in gw_config when n > 0, clears
 * it otherwise. */
int gw_natsync_source_set(int nat_src_fd, int config_fd, const struct gw_ip *addrs, size_t n);

/* The flow a datapath event describes. */
void gw_natsync_from_event(const struct gw_nat_event *ev, struct gw_nat_share *s);

struct gw_natsync_reader;

/* A reader of gw_nat_events (its fd). Returns 0 and *out, or -errno. */
int gw_natsync_reader_new(int events_fd, struct gw_natsync_reader **out);

void gw_natsync_reader_free(struct gw_natsync_reader *r);

/* Takes up to max new flows out of the ring into v (never blocks; the
 * rest stay for the next call). Returns how many, or -errno. */
int gw_natsync_read(struct gw_natsync_reader *r, struct gw_nat_share *v, size_t max);

/* Writes the flows another node translated into gw_ct and gw_nat (an
 * entry this node has already is kept): each names its service by VIP,
 * port and protocol and its backend by address and port, which become
 * this node's ids; flows of services or backends this node does not have
 * as `nat` are skipped. now_ns (CLOCK_MONOTONIC) is their last_seen.
 * Returns the number written, or -errno. */
int gw_natsync_import(const struct gw_lb_maps *m, const struct gw_nat_share *v, size_t n,
		      __u64 now_ns);

#endif /* GW_DP_NATSYNC_H */
