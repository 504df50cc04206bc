/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking of L4 services: gw_ct (LRU) maps the client's 5-tuple
 * as it reaches the VIP to its service, forwarding mode and backend (and,
 * for `nat`, to the gateway's source address and port). An established
 * flow costs one lookup (and no service lookup: lb.h gw_steer); its
 * entry is written again only when last_seen is more than a second old.
 * An entry whose backend slot was freed (GW_BE_F_VALID clear) or now serves
 * another service is stale: the flow picks a backend again. Draining
 * backends stay VALID, so their flows stay.
 */
#ifndef GW_BPF_CONNTRACK_H
#define GW_BPF_CONNTRACK_H

#include "ctx.h"
#include "maps.h"
#include "scratch.h"

#define GW_CT_REFRESH_NS 1000000000ull

/* Returns the backend of an established flow, or NULL when the flow is new
 * or its entry is stale (its backend slot freed, or serving another
 * service now); *ctp gets the entry (NULL if none): ct->svc_id is the
 * flow's service. last_seen is refreshed at most once a second. */
static __always_inline struct gw_backend *gw_ct_backend(struct gw_pkt *p, __u64 now,
							struct gw_ct **ctp)
{
	struct gw_backend *be;
	struct gw_ct *ct;

	ct = bpf_map_lookup_elem(&gw_ct, &p->flow);
	*ctp = ct;
	if (!ct)
		return NULL;
	be = bpf_map_lookup_elem(&gw_backends, &ct->backend_id);
	if (!be || !(be->flags & GW_BE_F_VALID) || be->svc_id != ct->svc_id)
		return NULL;
	/* signed: a last_seen from the precise clock can be a few ms ahead
	 * of this packet's coarse one (ctx.h: gw_clock) */
	if ((__s64)(now - ct->last_seen_ns) > (__s64)GW_CT_REFRESH_NS)
		ct->last_seen_ns = now;
	return be;
}

/* Records the flow's backend (and NAT source). Returns 0 or a negative
 * error of the map update. */
static __always_inline int gw_ct_store(const struct gw_pkt *p, const struct gw_svc *svc, __u32 be_id,
				       __u64 now, const __be32 *nat_addr, __be16 nat_port,
				       struct gw_lb_tmp *t)
{
	struct gw_ct *ct = &t->ct;

	ct->backend_id = be_id;
	ct->svc_id = svc->id;
	ct->last_seen_ns = now;
	ct->nat_port = nat_port;
	ct->fwd = svc->fwd;
	ct->pad0 = 0;
	ct->pad1 = 0;
	if (nat_addr) {
		__builtin_memcpy(ct->nat_addr, nat_addr, 16);
	} else {
		ct->nat_addr[0] = ct->nat_addr[1] = 0;
		ct->nat_addr[2] = ct->nat_addr[3] = 0;
	}
	return bpf_map_update_elem(&gw_ct, &p->flow, ct, BPF_ANY);
}

#endif /* GW_BPF_CONNTRACK_H */
