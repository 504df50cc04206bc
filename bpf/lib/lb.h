/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L4 service steering: a packet to a service VIP:port/protocol goes to one
 * of the service's backends, chosen by the flow's conntrack entry or, for a
 * new flow, by the service's Maglev table; it leaves translated (`nat`) or
 * encapsulated (`ipip`, direct server return). Replies of `nat` flows come
 * back through gw_nat_reply(). docs/datapath-l4.md tells the whole story.
 */
#ifndef GW_BPF_LB_H
#define GW_BPF_LB_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include "ctx.h"
#include "maps.h"
#include "stats.h"
#include "hash.h"
#include "csum.h"
#include "fwd.h"
#include "conntrack.h"
#include "nat.h"
#include "encap.h"
#include "icmp.h"
#include "scratch.h"

/* Returns the backend id of a new flow from the service's Maglev table,
 * or 0 when the service has no table. */
static __always_inline __u32 gw_maglev_pick(const struct gw_svc *svc, __u32 hash)
{
	__u32 idx, *id;
	void *ring;

	if (!svc->ring_size)
		return 0;
	ring = bpf_map_lookup_elem(&gw_maglev, &svc->id);
	if (!ring)
		return 0;
	idx = hash % svc->ring_size;
	id = bpf_map_lookup_elem(ring, &idx);
	return id ? *id : 0;
}

/* Counts a steered packet on its service and backend. */
static __always_inline void gw_lb_count(const struct gw_pkt *p, __u32 svc_id, __u32 be_id)
{
	gw_count(&gw_svc_stats, svc_id, p->len);
	gw_count(&gw_backend_stats, be_id, p->len);
}

/* `ipip`: encapsulates toward the backend and forwards. Returns the
 * verdict. */
static __always_inline __u32 gw_svc_ipip(struct gw_pkt *p, const struct gw_config *cfg,
					 const struct gw_svc *svc, const struct gw_backend *be,
					 __u32 be_id, int established, __u32 hash, __u64 now,
					 struct gw_fwd *fwd, struct gw_lb_tmp *t,
					 const enum gw_hook hook)
{
	__u8 family = be->family;
	__u32 r;
	int rc;

	__builtin_memcpy(t->dst, be->addr, 16);
	rc = gw_fib_lookup_be(p, &t->fib, be_id, cfg->fib_gen, now, family, t->dst,
			      p->flow.proto, p->flow.sport, p->flow.dport,
			      gw_fib_len(p, p->l3_len + gw_encap_len(family), hook), hook);
	r = gw_fib_verdict(p, rc, hook);
	if (r != GW_R_NONE)
		return r;
	if (gw_src_addr(t->fib.ifindex, family, t->src))
		return GW_R_DROP_NO_SRC_ADDR;
	if (!established)
		gw_ct_store(p, svc, be_id, now, NULL, 0, t);
	if (family == GW_FAMILY_V6 && established)
		hash = gw_flow_hash(&p->flow);
	r = gw_ipip_encap(p, family, t->dst, t->src, hash, 1, hook);
	if (r != GW_R_NONE)
		return r;
	gw_lb_count(p, svc->id, be_id);
	return gw_fwd_finish(p, &t->fib, rc, fwd, GW_R_FWD_IPIP);
}

/* `nat`: translates toward the backend (a new flow gets its source port and
 * reverse entry first) and forwards. ct is the flow's entry when it is
 * established. Returns the verdict. */
static __always_inline __u32 gw_svc_nat(struct gw_pkt *p, const struct gw_config *cfg,
					const struct gw_svc *svc, const struct gw_backend *be,
					__u32 be_id, const struct gw_ct *ct, __u32 hash, __u64 now,
					struct gw_fwd *fwd, struct gw_lb_tmp *t,
					const enum gw_hook hook)
{
	__be16 port, dport;
	__u32 r;
	int rc;

	if (be->family != p->flow.family)
		return GW_R_DROP_NO_BACKEND;
	__builtin_memcpy(t->dst, be->addr, 16);
	dport = be->port;
	rc = gw_fib_lookup_be(p, &t->fib, be_id, cfg->fib_gen, now, be->family, t->dst,
			      p->flow.proto, p->flow.sport, dport, gw_fib_len(p, p->l3_len, hook),
			      hook);
	r = gw_fib_verdict(p, rc, hook);
	if (r != GW_R_NONE)
		return r;
	if (ct && ct->nat_port) {
		__builtin_memcpy(t->src, ct->nat_addr, 16);
		port = ct->nat_port;
	} else {
		if (gw_nat_src_addr(t->fib.ifindex, p->flow.family, t->src))
			return GW_R_DROP_NO_SRC_ADDR;
		if (ct)
			hash = gw_flow_hash(&p->flow);
		port = gw_nat_alloc(cfg, p, be, be_id, svc->id, t, hash);
		if (!port)
			return GW_R_DROP_NAT_PORTS;
		gw_ct_store(p, svc, be_id, now, t->src, port, t);
	}
	if (gw_l4_rewrite(p, t->src, t->dst, port, dport, 1, hook))
		return GW_R_DROP_MALFORMED_L4;
	gw_lb_count(p, svc->id, be_id);
	return gw_fwd_finish(p, &t->fib, rc, fwd, GW_R_FWD_NAT);
}

/* Translates a reply found in gw_nat back to the client and forwards it.
 * Returns the verdict. */
static __always_inline __u32 gw_nat_reply_do(struct gw_pkt *p, const struct gw_nat *nat,
					     struct gw_fwd *fwd, const enum gw_hook hook)
{
	struct gw_lb_tmp *t = gw_lb_tmp_get();
	__be16 sport, dport;
	__u32 svc_id, be_id, r;
	int rc;

	if (!t)
		return GW_R_PASS_LOCAL;
	__builtin_memcpy(t->src, nat->vip_addr, 16);
	__builtin_memcpy(t->dst, nat->client_addr, 16);
	sport = nat->vip_port;
	dport = nat->client_port;
	svc_id = nat->svc_id;
	be_id = nat->backend_id;
	rc = gw_fib_lookup(p, &t->fib, p->flow.family, t->dst, p->flow.proto, sport, dport,
			   gw_fib_len(p, p->l3_len, hook), hook);
	r = gw_fib_verdict(p, rc, hook);
	if (r != GW_R_NONE)
		return r;
	if (gw_l4_rewrite(p, t->src, t->dst, sport, dport, 1, hook))
		return GW_R_DROP_MALFORMED_L4;
	gw_lb_count(p, svc_id, be_id);
	return gw_fwd_finish(p, &t->fib, rc, fwd, GW_R_FWD_NAT_REPLY);
}

/* Steers a packet to the service VIP `key` (if there is one): its backend
 * (conntrack, then Maglev), then translation or encapsulation. An
 * established flow's entry names its service and forwarding mode: no
 * service lookup (a service deleted or changed keeps its established flows
 * while their backend slot stays its own; a changed mode applies to new
 * flows). Returns the verdict, GW_R_NONE when no service matches. */
static __always_inline __u32 gw_steer(struct gw_pkt *p, const struct gw_config *cfg,
				      const struct gw_svc_key *key, struct gw_fwd *fwd, __u64 now,
				      const enum gw_hook hook)
{
	struct gw_lb_tmp *t = gw_lb_tmp_get();
	const struct gw_svc *svc;
	struct gw_backend *be;
	struct gw_svc est;
	struct gw_ct *ct;
	__u32 be_id, hash = 0;
	int established = 0;

	if (!t)
		return GW_R_PASS_LOCAL;
	be = gw_ct_backend(p, now, &ct);
	if (be && ct->fwd) {
		est.id = ct->svc_id;
		est.ring_size = 0;
		est.fwd = ct->fwd;
		svc = &est;
	} else {
		svc = bpf_map_lookup_elem(&gw_services, key);
		if (!svc)
			return GW_R_NONE;
		if (ct && ct->svc_id != svc->id)
			be = NULL;
	}
	if (p->ttl <= 1)
		return GW_R_PASS_TTL;
	if (be) {
		be_id = ct->backend_id;
		established = 1;
	} else {
		hash = gw_flow_hash(&p->flow);
		be_id = gw_maglev_pick(svc, hash);
		if (!be_id)
			return GW_R_DROP_NO_BACKEND;
		be = bpf_map_lookup_elem(&gw_backends, &be_id);
		if (!be || !(be->flags & GW_BE_F_VALID) || be->svc_id != svc->id)
			return GW_R_DROP_NO_BACKEND;
		ct = NULL;
	}
	if (svc->fwd == GW_FWD_IPIP)
		return gw_svc_ipip(p, cfg, svc, be, be_id, established, hash, now, fwd, t, hook);
	if (svc->fwd == GW_FWD_NAT)
		return gw_svc_nat(p, cfg, svc, be, be_id, established ? ct : NULL, hash, now, fwd,
				  t, hook);
	return GW_R_DROP_NO_BACKEND;
}

/* The steering and reply paths run as subprograms, one per hook: their
 * stack frames stay apart from the parser's and the filters'. */
static __noinline __u32 gw_steer_xdp(struct gw_pkt *p, const struct gw_config *cfg,
				     const struct gw_svc_key *key, struct gw_fwd *fwd, __u64 now)
{
	return gw_steer(p, cfg, key, fwd, now, GW_HOOK_XDP);
}

static __noinline __u32 gw_steer_tc(struct gw_pkt *p, const struct gw_config *cfg,
				    const struct gw_svc_key *key, struct gw_fwd *fwd, __u64 now)
{
	return gw_steer(p, cfg, key, fwd, now, GW_HOOK_TC);
}

static __noinline __u32 gw_nat_reply_xdp(struct gw_pkt *p, const struct gw_nat *nat,
					 struct gw_fwd *fwd)
{
	return gw_nat_reply_do(p, nat, fwd, GW_HOOK_XDP);
}

static __noinline __u32 gw_nat_reply_tc(struct gw_pkt *p, const struct gw_nat *nat,
					struct gw_fwd *fwd)
{
	return gw_nat_reply_do(p, nat, fwd, GW_HOOK_TC);
}

static __noinline __u32 gw_icmp_from_backend_xdp(struct gw_pkt *p, struct gw_fwd *fwd)
{
	return gw_icmp_from_backend(p, fwd, GW_HOOK_XDP);
}

static __noinline __u32 gw_icmp_from_backend_tc(struct gw_pkt *p, struct gw_fwd *fwd)
{
	return gw_icmp_from_backend(p, fwd, GW_HOOK_TC);
}

static __noinline __u32 gw_icmp_to_vip_xdp(struct gw_pkt *p, struct gw_fwd *fwd)
{
	return gw_icmp_to_vip(p, fwd, GW_HOOK_XDP);
}

static __noinline __u32 gw_icmp_to_vip_tc(struct gw_pkt *p, struct gw_fwd *fwd)
{
	return gw_icmp_to_vip(p, fwd, GW_HOOK_TC);
}

#define GW_NR_NONE 0	/* no reply of a `nat` flow */
#define GW_NR_ICMP 1	/* an ICMP error: gw_icmp_from_backend() decides */
#define GW_NR_REPLY 2	/* a reply found in gw_nat */
#define GW_NR_ORPHAN 3	/* to cluster.nat_source, no entry (yet): dropped */

/* What gw_nat_reply_run() is to do with the packet: a reply from a backend
 * of a `nat` service, an ICMP error that may be about one, or neither.
 * Calls no subprogram. Returns GW_NR_*; *natp is the gw_nat entry of a
 * GW_NR_REPLY. */
static __always_inline int gw_nat_reply_kind(const struct gw_pkt *p, const struct gw_config *cfg,
					     struct gw_nat **natp)
{
	__u32 min, span, port;

	*natp = NULL;
	if (p->frag != GW_FRAG_NONE || p->l3_off != ETH_HLEN || !p->l4_off)
		return GW_NR_NONE;
	if (p->flow.proto == IPPROTO_ICMP || p->flow.proto == IPPROTO_ICMPV6)
		return gw_icmp_is_error(p) ? GW_NR_ICMP : GW_NR_NONE;
	if (p->flow.proto != IPPROTO_TCP && p->flow.proto != IPPROTO_UDP)
		return GW_NR_NONE;
	/* Only the NAT port range can hold a reply: most packets stop here. */
	gw_nat_range(cfg, &min, &span);
	port = bpf_ntohs(p->flow.dport);
	if (port < min || port - min >= span)
		return GW_NR_NONE;
	*natp = bpf_map_lookup_elem(&gw_nat, &p->flow);
	if (*natp)
		return GW_NR_REPLY;
	/* A reply of a flow another node translated, before its entry came
	 * through Redis: the stack (nat_source is a local address) would
	 * reset the backend's connection; dropped, the backend sends again. */
	return gw_is_nat_src(p->flow.family, p->flow.daddr) ? GW_NR_ORPHAN : GW_NR_NONE;
}

/* A reply from a backend of a `nat` service (kind from gw_nat_reply_kind):
 * translate back and forward. Returns GW_R_NONE when the packet is no such
 * reply. */
static __always_inline __u32 gw_nat_reply_run(struct gw_pkt *p, int kind, struct gw_nat *nat,
					      struct gw_fwd *fwd, const enum gw_hook hook)
{
	if (kind == GW_NR_ICMP)
		return hook == GW_HOOK_XDP ? gw_icmp_from_backend_xdp(p, fwd) :
					     gw_icmp_from_backend_tc(p, fwd);
	if (kind == GW_NR_ORPHAN)
		return GW_R_DROP_NAT_NO_ENTRY;
	if (kind != GW_NR_REPLY || !nat)
		return GW_R_NONE;
	if (p->ttl <= 1)
		return GW_R_PASS_TTL;
	return hook == GW_HOOK_XDP ? gw_nat_reply_xdp(p, nat, fwd) : gw_nat_reply_tc(p, nat, fwd);
}

/* A packet to a service VIP: pick the backend (conntrack, then Maglev),
 * translate or encapsulate, and forward. GW_R_NONE when no service matches. */
static __always_inline __u32 gw_service(struct gw_pkt *p, const struct gw_config *cfg, __u64 *nowp,
					struct gw_fwd *fwd, const enum gw_hook hook)
{
	struct gw_svc_key key;
	__u32 bit, word;
	__u64 now, *w;

	if (p->l3_off != ETH_HLEN || !p->l4_off)
		return GW_R_NONE;
	if (p->flow.proto == IPPROTO_ICMP || p->flow.proto == IPPROTO_ICMPV6) {
		if (!gw_icmp_is_error(p))
			return GW_R_NONE;
		return hook == GW_HOOK_XDP ? gw_icmp_to_vip_xdp(p, fwd) : gw_icmp_to_vip_tc(p, fwd);
	}
	if (p->flow.proto != IPPROTO_TCP && p->flow.proto != IPPROTO_UDP)
		return GW_R_NONE;

	__builtin_memcpy(key.addr, p->flow.daddr, 16);
	key.port = p->flow.dport;
	key.proto = p->flow.proto;
	key.family = p->flow.family;
	bit = gw_svc_bloom_bit(&key);
	word = bit / 64;
	w = bpf_map_lookup_elem(&gw_svc_bloom, &word);
	if (!w || !(*w & (1ull << (bit % 64))))
		return GW_R_NONE;	/* no service hashes here: no hash lookup */
	now = gw_clock(nowp, 0);	/* conntrack: last_seen (1 s steps), new entries */
	return hook == GW_HOOK_XDP ? gw_steer_xdp(p, cfg, &key, fwd, now) :
				     gw_steer_tc(p, cfg, &key, fwd, now);
}

#endif /* GW_BPF_LB_H */
