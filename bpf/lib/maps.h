/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the gw datapath. Types come from include/gw/abi.h; sizes from
 * include/gw/limits.h (the agent resizes the load-time sized ones). All are
 * pinned by name under the agent's pin root so gwctl and a restarted gwd
 * find them, and carry BTF so `bpftool map dump` prints them readably.
 */
#ifndef GW_BPF_MAPS_H
#define GW_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "gw/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct gw_lpm_v4_key);
	__type(value, struct gw_rule);
	__uint(max_entries, GW_FILTER_V4_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_filter_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct gw_lpm_v6_key);
	__type(value, struct gw_rule);
	__uint(max_entries, GW_FILTER_V6_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_filter_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct gw_lpm_v4_key);
	__type(value, struct gw_rule);
	__uint(max_entries, GW_BAN_V4_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_ban_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct gw_lpm_v6_key);
	__type(value, struct gw_rule);
	__uint(max_entries, GW_BAN_V6_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_ban_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __be32);
	__type(value, struct gw_rl_state);
	__uint(max_entries, GW_RL_V4_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_rl_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gw_rl_v6_key);
	__type(value, struct gw_rl_state);
	__uint(max_entries, GW_RL_V6_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_rl_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct gw_svc_key);
	__type(value, struct gw_svc);
	__uint(max_entries, GW_SVC_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_services SEC(".maps");

/* Pre-check of gw_services (abi.h: gw_svc_bloom_bit). An array lookup is
 * inlined by the verifier: non-service traffic skips the hash. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, GW_SVC_BLOOM_WORDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_svc_bloom SEC(".maps");

/* One Maglev table per service, swapped whole by the agent (an update of
 * the outer slot is atomic: a packet sees the old table or the new one).
 * Mmapable: the agent fills a new table with one copy, not 65537 updates. */
struct gw_maglev_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);	/* backend id */
	__uint(max_entries, GW_MAGLEV_SIZE);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, GW_SVC_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct gw_maglev_ring);
} gw_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_backend);
	__uint(max_entries, GW_BACKEND_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gw_flow);
	__type(value, struct gw_ct);
	__uint(max_entries, GW_CT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gw_flow);
	__type(value, struct gw_nat);
	__uint(max_entries, GW_NAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);	/* ifindex */
	__type(value, struct gw_ifaddr);
	__uint(max_entries, GW_IFADDR_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_ifaddr SEC(".maps");

/* cluster.nat_source (key 0): the source of `nat` flows on every node of
 * a cluster; flags 0 (the default) leaves it to the egress interface. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_ifaddr);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_nat_src SEC(".maps");

/* New `nat` flows (struct gw_nat_event) for gwd to share with the other
 * nodes, written only while GW_CFG_F_NAT_SYNC is set. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GW_NAT_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_nat_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_counter);
	__uint(max_entries, GW_R_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_counter);
	__uint(max_entries, GW_SVC_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_counter);
	__uint(max_entries, GW_BACKEND_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_backend_stats SEC(".maps");

/* The filter's last verdict per source, per CPU, direct-mapped
 * (verdict.h). Not pinned: a new datapath starts empty. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_verdict_ent);
	__uint(max_entries, GW_VERDICT_SLOTS);
} gw_verdict_cache SEC(".maps");

/* The rate limiter's per-CPU leases (ratelimit.h: gw_rl_apply),
 * direct-mapped by a hash of the bucket's key. Not pinned: a new datapath
 * starts empty (what an old one had leased is charged and never used:
 * at most a slice per CPU and source, once). */
#define GW_RL_LEASE_BITS 12
struct gw_rl_lease {
	__be32 key[4];		/* gw_rl_v4's key in key[0], or gw_rl_v6's */
	__u64 interval_ns;	/* the rate the tokens were charged at */
	__u32 tokens;		/* charged to the bucket, not yet admitted */
	__u8 v6;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_rl_lease);
	__uint(max_entries, 1u << GW_RL_LEASE_BITS);
} gw_rl_lease SEC(".maps");

/* Sources the rate limiter saw this epoch, per CPU (ratelimit.h:
 * gw_rl_seen): cells of eight 8-bit epoch stamps, 32 KiB per CPU. Not
 * pinned. */
#define GW_RL_SEEN_BITS 12
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1u << GW_RL_SEEN_BITS);
} gw_rl_seen_map SEC(".maps");

/* The last FIB answer toward each backend, per CPU (fwd.h:
 * gw_fib_lookup_be). Not pinned: a new datapath starts empty. */
struct gw_fib_ent {
	__be32 dst[4];		/* the backend address it was looked up for */
	__u32 gen;		/* gw_config.fib_gen + 1 when filled; 0: empty */
	__u32 in_ifindex;	/* the ingress interface it was looked up for */
	__u32 out_ifindex;	/* the answer: egress and MACs */
	__u16 len_ok;		/* the L3 length it passed the MTU check with */
	__u8 family;
	__u8 pad;
	__u8 dmac[6];
	__u8 smac[6];
	__u64 stamp_ns;		/* when it was looked up (the packet's clock) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gw_fib_ent);
	__uint(max_entries, GW_BACKEND_MAX);
} gw_fib_cache SEC(".maps");

#endif /* GW_BPF_MAPS_H */
