/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gw's BPF <-> user-space ABI: every map key and value, the configuration
 * record, counters and the reasons they are kept by. This header is the only
 * place these types exist; the datapath (bpf/) and the agent, the CLI and the
 * tests all include it.
 *
 * Rules: fixed-width types, network order where the wire is (__be*), explicit
 * padding, no pointers, no bool; every struct's size is asserted below.
 * Addresses are always 16 bytes: an IPv4 address lives in addr[0] and
 * addr[1..3] are zero.
 */
#ifndef GW_ABI_H
#define GW_ABI_H

#include <linux/types.h>
#include "limits.h"

#define GW_FAMILY_V4 4
#define GW_FAMILY_V6 6

/* ------------------------------------------------------------------ */
/* Configuration: gw_config, an array of one element (key 0).           */

/* Generic cell rate algorithm parameters of one token bucket: one packet
 * costs interval_ns; a source may run ahead of its rate by tolerance_ns,
 * i.e. (burst - 1) * interval_ns. interval_ns == 0 turns the bucket off. */
struct gw_gcra {
	__u64 interval_ns;
	__u64 tolerance_ns;
};

#define GW_CFG_F_DEFAULT_DENY (1u << 0)	/* filter.default: deny */
/* gw_ban_v4 / gw_ban_v6 is known to be empty: the datapath skips its
 * lookups. Set only by agent/dp/filter.c (which clears it before adding a
 * ban); a writer that drops it costs time, never a ban. */
#define GW_CFG_F_NO_BANS_V4 (1u << 1)
#define GW_CFG_F_NO_BANS_V6 (1u << 2)
/* Some interface in gw_ifaddr has GW_IFADDR_F_XDP_SLOW: XDP checks the
 * egress of every packet it forwards. Set and cleared by gwd. */
#define GW_CFG_F_XDP_SLOW_ANY (1u << 3)
/* cluster.nat_source is set: every new `nat` flow's entries go to
 * gw_nat_events for the other nodes (docs/cluster.md). Set by gwd. */
#define GW_CFG_F_NAT_SYNC (1u << 4)

struct gw_config {
	__u32 flags;		/* GW_CFG_F_* */
	__u32 generation;	/* config generation the agent last applied */
	__u8 rl_v6_prefix;	/* IPv6 sources share a bucket per prefix (64) */
	__u8 pad0;
	__u16 nat_port_min;	/* host order; source ports of `nat` services */
	__u16 nat_port_max;
	__u16 pad1;
	struct gw_gcra rl_pkt;	/* all packets, per source */
	struct gw_gcra rl_syn;	/* TCP SYN (SYN without ACK), per source */
	__u32 filter_gen;	/* bumped by agent/dp/filter.c after every filter or
				 * ban change: drops the cached verdicts */
	__u32 fib_gen;		/* bumped by gwd on route, neighbour, rule,
				 * netconf and link changes: drops the
				 * datapath's cached FIB answers */
};

/* ------------------------------------------------------------------ */
/* IP filter: LPM tries gw_filter_v4/v6 (static allow and deny lists) and */
/* gw_ban_v4/v6 (time-limited denies). Longest prefix wins across both; */
/* allow wins a tie.                                                    */

struct gw_lpm_v4_key {
	__u32 prefixlen;
	__be32 addr;
};

struct gw_lpm_v6_key {
	__u32 prefixlen;
	__be32 addr[4];
};

#define GW_RULE_ALLOW 1
#define GW_RULE_DENY 2

#define GW_ORIGIN_CONFIG 0	/* from gateway.yaml */
#define GW_ORIGIN_CLI 1		/* gwctl, replaced by the file on reload */
#define GW_ORIGIN_BAN 2		/* automatic, from repeated auth failures */

struct gw_rule {
	__u8 action;		/* GW_RULE_ALLOW | GW_RULE_DENY */
	__u8 prefixlen;		/* the key's, so two tries' matches compare */
	__u8 origin;		/* GW_ORIGIN_* */
	__u8 pad0;
	__u32 pad1;
	__u64 expires_ns;	/* bpf_ktime_get_ns() deadline; 0 = never */
};

/* ------------------------------------------------------------------ */
/* Per-source rate limiting: LRU hashes gw_rl_v4 (key __be32 source) and */
/* gw_rl_v6 (key struct gw_rl_v6_key, masked to rl_v6_prefix).          */

struct gw_rl_v6_key {
	__be32 addr[4];
};

/* Theoretical arrival times (bpf_ktime_get_ns) of the two buckets,
 * advanced with compare-and-swap: exact, no lock. */
struct gw_rl_state {
	__u64 tat_pkt;
	__u64 tat_syn;
	/* Unused (held the filter's cached verdict before gw_verdict_cache):
	 * the size stays so that maps pinned by an older gwd are adopted. */
	__u64 unused[2];
};

/* ------------------------------------------------------------------ */
/* The filter's verdict cache: per CPU, direct-mapped by a hash of the  */
/* source (bpf/lib/verdict.h). Not pinned; user space reads it in tests. */

#define GW_VERDICT_SLOT_BITS 14
#define GW_VERDICT_SLOTS (1u << GW_VERDICT_SLOT_BITS)

enum gw_verdict_kind {
	GW_VERDICT_EMPTY = 0,
	GW_VERDICT_PASS = 1,	/* the walks passed the source */
	GW_VERDICT_DENY = 2,	/* a static deny, or no match under default deny */
};

struct gw_verdict_ent {
	__be32 addr[4];		/* the source (IPv4: addr[0], the rest 0) */
	__u64 stamp_ns;		/* when the walk gave it (the packet's clock) */
	__u32 tag;		/* the filter tag read before that walk */
	__u8 family;		/* GW_FAMILY_* */
	__u8 kind;		/* enum gw_verdict_kind */
	__u8 pad[2];
};

/* The slot of source a[4]: the top bits of a multiplicative hash of its
 * words. Returns an index below GW_VERDICT_SLOTS. */
static inline __u32 gw_verdict_slot_of(const __be32 *a)
{
	__u32 h = ((__u32)a[0] ^ (__u32)a[1] ^ (__u32)a[2] ^ (__u32)a[3]) * 0x9e3779b1u;

	return h >> (32 - GW_VERDICT_SLOT_BITS);
}

/* ------------------------------------------------------------------ */
/* L4 services: gw_services (hash, key gw_svc_key) -> gw_svc;           */
/* gw_maglev (array of maps, index svc id) -> array of backend ids;     */
/* gw_backends (array, index backend id; id 0 means none).              */

#define GW_FWD_NAT 1
#define GW_FWD_IPIP 2

struct gw_svc_key {
	__be32 addr[4];		/* the VIP */
	__be16 port;
	__u8 proto;		/* IPPROTO_TCP | IPPROTO_UDP */
	__u8 family;		/* GW_FAMILY_* */
};

/* gw_svc_bloom (array of __u64 words): a bit per hash of a gw_svc_key,
 * set for every service in gw_services. The datapath looks a packet's key
 * up in gw_services only when its bit is set; the agent sets a bit before
 * it inserts a service and clears it only when no service left hashes to
 * it. A collision costs one hash lookup, never a service. */
#define GW_SVC_BLOOM_WORDS 1024		/* 65536 bits, 8 KiB */

/* Returns the bit of key k in gw_svc_bloom (< 64 * GW_SVC_BLOOM_WORDS).
 * The same function in the datapath and the agent: keep them one. */
static inline __u32 gw_svc_bloom_bit(const struct gw_svc_key *k)
{
	__u32 x = k->addr[0] ^ k->addr[1] ^ k->addr[2] ^ k->addr[3];

	x ^= ((__u32)k->port << 16) | ((__u32)k->proto << 8) | k->family;
	x *= 0x9e3779b1u;			/* Fibonacci hashing: mixes into the top */
	return x >> 16;				/* 16 bits: 64 * GW_SVC_BLOOM_WORDS */
}

struct gw_svc {
	__u32 id;		/* index of gw_maglev, gw_svc_stats */
	__u32 ring_size;	/* entries of this service's Maglev table (prime) */
	__u8 fwd;		/* GW_FWD_* */
	__u8 pad0;
	__u16 pad1;
	__u32 pad2;
};

/* A slot with GW_BE_F_VALID clear is free: flows tracked to it pick a new
 * backend. A draining backend (an operator's choice) and a down one (gwd's
 * health checks) are VALID but absent from the Maglev table: they keep
 * their established flows and take no new ones. The datapath reads only
 * VALID; DRAIN and DOWN are the agent's, kept here so that a restarted gwd
 * and gwctl see them. When every backend that is not draining is down, the
 * agent builds the table from all of them (fail open, docs/health.md). */
#define GW_BE_F_VALID (1u << 0)
#define GW_BE_F_DRAIN (1u << 1)
#define GW_BE_F_DOWN (1u << 2)

struct gw_backend {
	__be32 addr[4];
	__be16 port;		/* nat: new destination port; ipip: unused */
	__u8 family;		/* GW_FAMILY_* */
	__u8 flags;		/* GW_BE_F_* */
	__u32 svc_id;
	__u32 weight;		/* Maglev weight; kept so the agent can rebuild */
	__u32 pad;
};

/* ------------------------------------------------------------------ */
/* Connection tracking: gw_ct (LRU hash, key: the client's 5-tuple as it */
/* reaches the VIP) and, for `nat`, gw_nat (LRU hash, key: the backend's */
/* reply 5-tuple) back to the client.                                   */

struct gw_flow {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;		/* ICMP echo: the identifier (in dport too) */
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct gw_ct {
	__u32 backend_id;
	__u32 svc_id;
	__u64 last_seen_ns;	/* refreshed at most once a second */
	__be32 nat_addr[4];	/* nat: source address toward the backend */
	__be16 nat_port;	/* nat: source port toward the backend */
	__u8 fwd;		/* GW_FWD_* the flow started with (0: an entry
				 * of an older datapath, or written by hand:
				 * the service is looked up) */
	__u8 pad0;
	__u32 pad1;
};

struct gw_nat {
	__be32 client_addr[4];
	__be32 vip_addr[4];
	__be16 client_port;
	__be16 vip_port;
	__u32 svc_id;
	__u32 backend_id;
	__u32 pad;
};

/* A new `nat` flow, as the datapath tells gwd through gw_nat_events (ring
 * buffer) when GW_CFG_F_NAT_SYNC is set: its reverse entry (key and value
 * of gw_nat). The client's 5-tuple and the translation follow from it. */
struct gw_nat_event {
	struct gw_flow rev;	/* backend:port -> nat source:port */
	struct gw_nat nat;
};

/* Addresses of the gateway's interfaces (gw_ifaddr, hash, key ifindex):
 * the source of translated and encapsulated packets leaving there. The
 * same record in gw_nat_src (array, key 0) is cluster.nat_source: when it
 * has the flow's family, the source of every `nat` flow instead. */
struct gw_ifaddr {
	__be32 v4;
	__be32 v6[4];
	__u32 flags;		/* GW_IFADDR_F_* */
};

#define GW_IFADDR_F_V4 (1u << 0)
#define GW_IFADDR_F_V6 (1u << 1)
/* gw_tc_neigh runs at this interface's TC ingress (beside gw_xdp): XDP
 * hands it the packets it cannot send itself (GW_MARK_*). */
#define GW_IFADDR_F_TC_HELPER (1u << 2)
/* This interface cannot take frames XDP redirects into it (a veth whose
 * peer has neither an XDP program nor NAPI): XDP hands packets leaving
 * here to the ingress interface's gw_tc_neigh (bpf_redirect_neigh). */
#define GW_IFADDR_F_XDP_SLOW (1u << 3)

/* How gw_xdp hands a rewritten packet to gw_tc_neigh (XDP_PASS; the
 * host kernel refuses bpf_xdp_adjust_meta to XDP programs, so no
 * metadata): its Ethernet addresses become a mark, which gw_tc_neigh
 * reads before bpf_redirect_neigh() writes the real ones:
 *   destination  02:67:77:4e:00:00 (GW_MARK_*: "gwN", locally administered)
 *   source       the egress ifindex (4 bytes, host order), 00:00
 * gw_xdp drops any other frame it would pass with a destination starting
 * with GW_MARK_0..2, so only gw_xdp's marks reach gw_tc_neigh. */
#define GW_MARK_0 0x02
#define GW_MARK_1 0x67
#define GW_MARK_2 0x77
#define GW_MARK_NEIGH 0x4e

/* ------------------------------------------------------------------ */
/* Counters: gw_stats (per-CPU array, index reason), gw_svc_stats (index */
/* svc id) and gw_backend_stats (index backend id).                     */

struct gw_counter {
	__u64 packets;
	__u64 bytes;
};

#define GW_ACT_NONE 0
#define GW_ACT_PASS 1		/* to the kernel's stack */
#define GW_ACT_DROP 2
#define GW_ACT_FORWARD 3	/* XDP_TX / redirect after rewriting */

/*
 * Every verdict of the datapath, with the action it implies and the label
 * `gw_xdp_packets_total{reason}` uses. docs/datapath.md explains each one.
 * Keep them grouped: NONE, then PASS, then FORWARD, then DROP reasons; the
 * datapath derives the action from where a reason falls (GW_R_FIRST_*).
 */
#define GW_REASONS(X)                                                           \
	X(NONE, NONE, "none")                       /* no verdict yet */           \
	X(PASS_LOCAL, PASS, "local")                /* not a service: to stack */  \
	X(PASS_NON_IP, PASS, "non_ip")              /* ARP, LLDP, ... */           \
	X(PASS_FRAGMENT, PASS, "fragment")          /* IP fragment: stack */       \
	X(PASS_VLAN, PASS, "vlan")                  /* tagged frame: not steered */\
	X(PASS_FIB, PASS, "fib_pass")               /* FIB declined: stack */      \
	X(PASS_TTL, PASS, "ttl")                    /* TTL/hop limit expiring */   \
	X(FWD_NAT, FORWARD, "nat")                  /* client -> backend, NAT */   \
	X(FWD_NAT_REPLY, FORWARD, "nat_reply")      /* backend -> client, NAT */   \
	X(FWD_IPIP, FORWARD, "ipip")                /* encapsulated, DSR */        \
	X(FWD_ICMP_ERROR, FORWARD, "icmp_error")    /* ICMP error of a flow */     \
	X(FWD_NO_NEIGH, FORWARD, "no_neigh")        /* kernel resolves, queues */  \
	X(FWD_XDP_SLOW, FORWARD, "xdp_slow_egress") /* egress: skb, from TC */     \
	X(DROP_FILTER, DROP, "filter")              /* denied prefix / default */  \
	X(DROP_BAN, DROP, "ban")                    /* time-limited deny */        \
	X(DROP_RATELIMIT, DROP, "ratelimit")        /* source over its rate */     \
	X(DROP_SYN_RATELIMIT, DROP, "syn_ratelimit")/* SYNs over their rate */     \
	X(DROP_MALFORMED_L2, DROP, "malformed_l2")  /* truncated Ethernet/VLAN */  \
	X(DROP_VLAN_DEPTH, DROP, "vlan_depth")      /* more than two tags */       \
	X(DROP_MALFORMED_IPV4, DROP, "malformed_ipv4")                             \
	X(DROP_MALFORMED_IPV6, DROP, "malformed_ipv6")                             \
	X(DROP_IPV6_EXT, DROP, "ipv6_ext")          /* chain too long or bad */    \
	X(DROP_MALFORMED_L4, DROP, "malformed_l4")  /* truncated TCP/UDP/ICMP */   \
	X(DROP_NO_BACKEND, DROP, "no_backend")      /* service has none */         \
	X(DROP_NAT_PORTS, DROP, "nat_ports")        /* no free source port */      \
	X(DROP_NO_SRC_ADDR, DROP, "no_src_addr")    /* egress has no address */    \
	X(DROP_UNROUTABLE, DROP, "unroutable")      /* FIB: blackhole etc. */      \
	X(DROP_MTU, DROP, "mtu")                    /* too big after encap */      \
	X(DROP_ENCAP, DROP, "encap")                /* headroom/adjust failed */\
	X(DROP_NO_TC_HELPER, DROP, "no_tc_helper")  /* needed gw_tc_neigh */\
	X(DROP_NAT_NO_ENTRY, DROP, "nat_no_entry")  /* reply to nat_source: no entry */

#define GW_REASON_ENUM(name, act, label) GW_R_##name,
enum gw_reason { GW_REASONS(GW_REASON_ENUM) GW_R_MAX };
#undef GW_REASON_ENUM

#define GW_R_FIRST_FORWARD GW_R_FWD_NAT
#define GW_R_FIRST_DROP GW_R_DROP_FILTER

/* ------------------------------------------------------------------ */
/* Sizes: the ABI must not change by accident.                          */

#define GW_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), #type " is part of the ABI")

GW_ASSERT_SIZE(gw_gcra, 16);
GW_ASSERT_SIZE(gw_config, 56);
GW_ASSERT_SIZE(gw_lpm_v4_key, 8);
GW_ASSERT_SIZE(gw_lpm_v6_key, 20);
GW_ASSERT_SIZE(gw_rule, 16);
GW_ASSERT_SIZE(gw_rl_v6_key, 16);
GW_ASSERT_SIZE(gw_rl_state, 32);
GW_ASSERT_SIZE(gw_verdict_ent, 32);
GW_ASSERT_SIZE(gw_svc_key, 20);
GW_ASSERT_SIZE(gw_svc, 16);
GW_ASSERT_SIZE(gw_backend, 32);
GW_ASSERT_SIZE(gw_flow, 40);
GW_ASSERT_SIZE(gw_ct, 40);
GW_ASSERT_SIZE(gw_nat, 48);
GW_ASSERT_SIZE(gw_nat_event, 88);
GW_ASSERT_SIZE(gw_ifaddr, 24);
GW_ASSERT_SIZE(gw_counter, 16);

#endif /* GW_ABI_H */
