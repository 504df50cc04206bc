/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI of bpf/decap.bpf.c, the program a backend of an `ipip` service
 * runs: gw_decap_addrs (hash: the backend's own addresses; a tunnelled packet
 * to one of them is decapsulated) and gw_decap_stats (per-CPU counters,
 * index enum gw_decap_stat).
 */
#ifndef GW_DECAP_H
#define GW_DECAP_H

#include <linux/types.h>

struct gw_decap_key {
	__be32 addr[4];		/* IPv4 in addr[0], rest zero */
	__u8 family;		/* GW_FAMILY_V4 | GW_FAMILY_V6 */
	__u8 pad[3];
};

enum gw_decap_stat {
	GW_DECAP_OTHER = 0,	/* no tunnel packet: passed untouched */
	GW_DECAP_NOT_LOCAL,	/* tunnel packet to another address: passed */
	GW_DECAP_IPIP,		/* IPv4 outer header removed */
	GW_DECAP_IP6,		/* IPv6 outer header removed */
	GW_DECAP_FRAGMENT,	/* fragmented outer packet: passed */
	GW_DECAP_MALFORMED,	/* truncated or inconsistent: dropped */
	GW_DECAP_FAILED,	/* the kernel refused to shrink it: passed */
	GW_DECAP_STAT_MAX,
};

#endif /* GW_DECAP_H */
