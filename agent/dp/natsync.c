// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `nat` across cluster nodes (natsync.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp/natsync.h"

int gw_natsync_source_set(int nat_src_fd, int config_fd, const struct gw_ip *addrs, size_t n)
{
	struct gw_ifaddr ns;
	struct gw_config cfg;
	__u32 key = 0;
	size_t i;

	memset(&ns, 0, sizeof(ns));
	for (i = 0; i < n; i++) {
		if (addrs[i].family == GW_FAMILY_V4) {
			ns.v4 = addrs[i].addr[0];
			ns.flags |= GW_IFADDR_F_V4;
		} else {
			memcpy(ns.v6, addrs[i].addr, sizeof(ns.v6));
			ns.flags |= GW_IFADDR_F_V6;
		}
	}
	if (bpf_map_update_elem(nat_src_fd, &key, &ns, BPF_ANY) ||
	    bpf_map_lookup_elem(config_fd, &key, &cfg))
		return -errno;
	if (n)
		cfg.flags |= GW_CFG_F_NAT_SYNC;
	else
		cfg.flags &= ~GW_CFG_F_NAT_SYNC;
	return bpf_map_update_elem(config_fd, &key, &cfg, BPF_ANY) ? -errno : 0;
}

void gw_natsync_from_event(const struct gw_nat_event *ev, struct gw_nat_share *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->client, ev->nat.client_addr, 16);
	memcpy(s->vip, ev->nat.vip_addr, 16);
	memcpy(s->backend, ev->rev.saddr, 16);
	memcpy(s->nat, ev->rev.daddr, 16);
	s->client_port = ev->nat.client_port;
	s->vip_port = ev->nat.vip_port;
	s->backend_port = ev->rev.sport;
	s->nat_port = ev->rev.dport;
	s->family = ev->rev.family;
	s->proto = ev->rev.proto;
}

struct gw_natsync_reader {
	struct ring_buffer *rb;
	struct gw_nat_share *v;	/* the read under way */
	size_t n, max;
};

/* A record of the ring: into the read under way. Returns 0, or -ENOSPC
 * once the read is full (the ring stops after this record). */
static int on_event(void *ctx, void *data, size_t len)
{
	struct gw_natsync_reader *r = ctx;

	if (len < sizeof(struct gw_nat_event))
		return 0;
	gw_natsync_from_event(data, &r->v[r->n++]);
	return r->n == r->max ? -ENOSPC : 0;
}

int gw_natsync_reader_new(int events_fd, struct gw_natsync_reader **out)
{
	struct gw_natsync_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->rb = ring_buffer__new(events_fd, on_event, r, NULL);
	if (!r->rb) {
		int err = -errno;

		free(r);
		return err ? err : -EINVAL;
	}
	*out = r;
	return 0;
}

void gw_natsync_reader_free(struct gw_natsync_reader *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}

int gw_natsync_read(struct gw_natsync_reader *r, struct gw_nat_share *v, size_t max)
{
	int err;

	if (!max)
		return 0;
	r->v = v;
	r->n = 0;
	r->max = max;
	err = ring_buffer__consume(r->rb);
	if (err < 0 && err != -ENOSPC)
		return err;
	return (int)r->n;
}

/* gw_backends, read once per import. */
struct be_snap {
	struct gw_backend *b;
	__u32 *ids;
	__u32 n;
};

/* Reads every backend slot (one batch, else slot by slot). Returns 0 or
 * -errno. */
static int snap_read(int fd, struct be_snap *s)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 max = gw_map_max_entries(fd), count = max, out, id;

	s->b = calloc(max ? max : 1, sizeof(*s->b));
	s->ids = calloc(max ? max : 1, sizeof(*s->ids));
	if (!s->b || !s->ids)
		return -ENOMEM;
	if (!bpf_map_lookup_batch(fd, NULL, &out, s->ids, s->b, &count, &o) || errno == ENOENT) {
		s->n = count;
		return 0;
	}
	for (id = 0; id < max; id++) {
		s->ids[id] = id;
		if (bpf_map_lookup_elem(fd, &id, &s->b[id]))
			return -errno;
	}
	s->n = max;
	return 0;
}

/* The id of the valid backend of service svc_id at addr:port, or 0. */
static __u32 snap_find(const struct be_snap *s, __u32 svc_id, __u8 family, const __be32 *addr,
		       __be16 port)
{
	__u32 i;

	for (i = 0; i < s->n; i++) {
		const struct gw_backend *b = &s->b[i];

		if (s->ids[i] && (b->flags & GW_BE_F_VALID) && b->svc_id == svc_id &&
		    b->family == family && b->port == port && !memcmp(b->addr, addr, 16))
			return s->ids[i];
	}
	return 0;
}

/* f = src:sport -> dst:dport of s's protocol and family. */
static void flow_set(struct gw_flow *f, const struct gw_nat_share *s, const __be32 *src,
		     __be16 sport, const __be32 *dst, __be16 dport)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->saddr, src, 16);
	memcpy(f->daddr, dst, 16);
	f->sport = sport;
	f->dport = dport;
	f->proto = s->proto;
	f->family = s->family;
}

/* Writes one flow's two entries. Returns 1 when written, 0 when skipped,
 * or -errno. */
static int import_one(const struct gw_lb_maps *m, const struct be_snap *bs,
		      const struct gw_nat_share *s, __u64 now_ns)
{
	struct gw_svc_key sk;
	struct gw_svc svc;
	struct gw_flow f, rev;
	struct gw_ct ct;
	struct gw_nat nat;
	__u32 be_id;

	memset(&sk, 0, sizeof(sk));
	memcpy(sk.addr, s->vip, 16);
	sk.port = s->vip_port;
	sk.proto = s->proto;
	sk.family = s->family;
	if (bpf_map_lookup_elem(m->services, &sk, &svc) || svc.fwd != GW_FWD_NAT)
		return 0;
	be_id = snap_find(bs, svc.id, s->family, s->backend, s->backend_port);
	if (!be_id)
		return 0;
	flow_set(&f, s, s->client, s->client_port, s->vip, s->vip_port);
	memset(&ct, 0, sizeof(ct));
	ct.backend_id = be_id;
	ct.svc_id = svc.id;
	ct.last_seen_ns = now_ns;
	memcpy(ct.nat_addr, s->nat, 16);
	ct.nat_port = s->nat_port;
	flow_set(&rev, s, s->backend, s->backend_port, s->nat, s->nat_port);
	memset(&nat, 0, sizeof(nat));
	memcpy(nat.client_addr, s->client, 16);
	memcpy(nat.vip_addr, s->vip, 16);
	nat.client_port = s->client_port;
	nat.vip_port = s->vip_port;
	nat.svc_id = svc.id;
	nat.backend_id = be_id;
	/* the reverse entry first: a packet that finds the ct entry can
	 * already be answered */
	if (bpf_map_update_elem(m->nat, &rev, &nat, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	if (bpf_map_update_elem(m->ct, &f, &ct, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	return 1;
}

int gw_natsync_import(const struct gw_lb_maps *m, const struct gw_nat_share *v, size_t n,
		      __u64 now_ns)
{
	struct be_snap bs = { 0 };
	int err, done = 0;
	size_t i;

	if (!n)
		return 0;
	err = snap_read(m->backends, &bs);
	for (i = 0; !err && i < n; i++) {
		err = import_one(m, &bs, &v[i], now_ns);
		if (err > 0)
			done++;
		err = err < 0 ? err : 0;
	}
	free(bs.b);
	free(bs.ids);
	return err ? err : done;
}
