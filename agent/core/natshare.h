/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One `nat` flow as the nodes of a cluster share it (docs/cluster.md):
 * addresses and ports only, no node's own ids, so that any node with the
 * same service and backend can rebuild its gw_ct and gw_nat entries. The
 * datapath's events become these (dp/natsync.c), Redis carries them
 * (cluster/wire.c).
 */
#ifndef GW_CORE_NATSHARE_H
#define GW_CORE_NATSHARE_H

#include <linux/types.h>

struct gw_nat_share {
	__be32 client[4];	/* the client, as it reaches the VIP */
	__be32 vip[4];
	__be32 backend[4];	/* the backend, as the translated flow reaches it */
	__be32 nat[4];		/* the translated source (cluster.nat_source) */
	__be16 client_port, vip_port, backend_port, nat_port;
	__u8 family;		/* GW_FAMILY_V4 | GW_FAMILY_V6 */
	__u8 proto;		/* IPPROTO_TCP | IPPROTO_UDP */
};

#endif /* GW_CORE_NATSHARE_H */
