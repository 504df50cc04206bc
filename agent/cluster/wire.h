/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The values gw nodes leave in Redis for each other (docs/cluster.md),
 * read back as outside input: any bytes another writer of the same Redis
 * put there are refused, never trusted.
 */
#ifndef GW_CLUSTER_WIRE_H
#define GW_CLUSTER_WIRE_H

#include <stddef.h>
#include <linux/types.h>
#include "core/addr.h"
#include "core/natshare.h"

#define GW_CLUSTER_NODE_MAX 64	/* as GW_CFG_NODE_MAX */
#define GW_CLUSTER_HASH_HEX 17	/* 16 hex digits and NUL */

/* A member of gw:bans, "CIDR NODE" (len bytes, no NUL needed): the
 * prefix (host bits refused) and the node name (1..64 bytes of
 * [A-Za-z0-9._-]) into node (GW_CLUSTER_NODE_MAX + 1 bytes). Returns 0
 * or -EINVAL. */
int gw_cluster_ban_member_parse(const char *m, size_t len, struct gw_cidr *prefix, char *node);

/* A value of gw:nodes, "MS GENERATION HASH" (len bytes): ms of Redis'
 * clock, the config generation and 16 hex digits (or "-") into hash
 * (GW_CLUSTER_HASH_HEX bytes). Returns 0 or -EINVAL. */
int gw_cluster_node_value_parse(const char *v, size_t len, __u64 *ms, unsigned int *generation,
				char *hash);

/* 1 when name is a valid node name (len bytes). */
int gw_cluster_node_name_ok(const char *name, size_t len);

/* The `nat` flows of one entry of gw:nat, as hex: per flow 74 bytes,
 * family, protocol, then client, VIP, backend and translated source, each
 * a 16-byte address and a 2-byte port (network order). */
#define GW_CLUSTER_NAT_HEX 148

/* Writes n flows as hex into buf (n * GW_CLUSTER_NAT_HEX + 1 bytes, NUL
 * terminated). Returns the length written. */
size_t gw_cluster_nat_encode(const struct gw_nat_share *v, size_t n, char *buf);

/* Reads the flows of len bytes of hex into v (max entries). A flow with a
 * family other than 4 or 6, a protocol other than TCP or UDP, an IPv4
 * address with bytes past its 4th, or a zero port is refused. Returns the
 * number read, or -EINVAL (bad length, bad hex, a refused flow, more
 * than max). */
int gw_cluster_nat_parse(const char *hex, size_t len, struct gw_nat_share *v, size_t max);

#endif /* GW_CLUSTER_WIRE_H */
