/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Default sizes of gw's BPF maps. Every one of them can be overridden at
 * build time (-DGW_..._MAX=N) and, for the maps that are sized at load time,
 * by the agent before it loads the object (bpf_map__set_max_entries).
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

/* IP filter: static allow/deny prefixes, per family. */
#ifndef GW_FILTER_V4_MAX
#define GW_FILTER_V4_MAX (1u << 20)
#endif
#ifndef GW_FILTER_V6_MAX
#define GW_FILTER_V6_MAX (1u << 20)
#endif

/* Time-limited deny entries (bans fed by L7, `gwctl filter deny --ttl`). */
#ifndef GW_BAN_V4_MAX
#define GW_BAN_V4_MAX 65536
#endif
#ifndef GW_BAN_V6_MAX
#define GW_BAN_V6_MAX 65536
#endif

/* Per-source token buckets (LRU: memory stays bounded under spoofing). */
#ifndef GW_RL_V4_MAX
#define GW_RL_V4_MAX 262144
#endif
#ifndef GW_RL_V6_MAX
#define GW_RL_V6_MAX 262144
#endif

/* L4 services and their backends. Service and backend ids are indexes. */
#ifndef GW_SVC_MAX
#define GW_SVC_MAX 1024
#endif
#ifndef GW_BACKEND_MAX
#define GW_BACKEND_MAX 16384
#endif

/* Maglev lookup table size per service; must be prime. */
#ifndef GW_MAGLEV_SIZE
#define GW_MAGLEV_SIZE 65537
#endif

/* Connection tracking (forward flows) and NAT reverse entries. */
#ifndef GW_CT_MAX
#define GW_CT_MAX (1u << 20)
#endif
#ifndef GW_NAT_MAX
#define GW_NAT_MAX (1u << 20)
#endif

/* Interfaces whose addresses the datapath uses as NAT/IPIP sources. */
#ifndef GW_IFADDR_MAX
#define GW_IFADDR_MAX 256
#endif

/* gw_nat_events: room for ~10000 new `nat` flows between two reads of
 * gwd's (every 100 ms). A power of 2. */
#define GW_NAT_EVENTS_BYTES (1u << 20)

/* Parser bounds. */
#define GW_VLAN_MAX_DEPTH 2	/* 802.1ad + 802.1Q (QinQ) */
#define GW_IPV6_EXT_MAX 6	/* extension headers walked before giving up */

/* Default source-NAT port range of `nat` services: below Linux's default
 * ip_local_port_range (32768-60999), so the host's own connections (gwd's
 * health checks among them) never collide with translated flows. The agent
 * can move it (gw_config.nat_port_min/max). */
#define GW_NAT_PORT_MIN_DEFAULT 1024
#define GW_NAT_PORT_MAX_DEFAULT 32767
#define GW_NAT_PORT_TRIES 8	/* probes for a free port before giving up */

#endif /* GW_LIMITS_H */
