// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * L4 services in the datapath's maps. No state is kept in the process: every
 * call reads what it needs from gw_services / gw_backends, so gwctl and a
 * restarted gwd work on what the last writer left.
 *
 * Order of writes, so that a packet never sees a half-made change:
 *  - new and changed backends are written (VALID) before the table that
 *    names them; removed ones are freed (VALID cleared) after the table
 *    without them is in place;
 *  - a table is built whole in a new inner map and swapped into gw_maglev
 *    with one update of the outer slot (a packet sees the old or the new);
 *  - a new service's table exists before its gw_services entry.
 *
 * Backend ids: never-used slots are taken first, lowest id first; a freed
 * slot is reused only when none is left, the one after the last allocated id
 * first, so that a freed id (and conntrack entries that still name it) is
 * reused as late as possible.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "log.h"
#include "maglev.h"
#include "service.h"

/* A snapshot of gw_backends. */
struct be_table {
	struct gw_backend *b;
	__u32 n;
};

static void svc_key_make(const struct gw_endpoint *vip, __u8 proto, struct gw_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, vip->ip.addr, sizeof(k->addr));
	k->port = htons(vip->port);
	k->proto = proto;
	k->family = vip->ip.family;
}

/* Returns the max_entries of a map, or 0. */
static __u32 map_max_entries(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

/* Reads every slot of gw_backends (one batch call where the kernel has
 * it). Returns 0 or a negative errno. */
static int be_table_read(int fd, struct be_table *t)
{
	__u32 n = map_max_entries(fd), i, *keys = NULL, count, out = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err = 0;

	t->b = NULL;
	t->n = 0;
	if (!n)
		return -EINVAL;
	t->b = calloc(n, sizeof(*t->b));
	keys = calloc(n, sizeof(*keys));
	if (!t->b || !keys) {
		err = -ENOMEM;
		goto out;
	}
	count = n;
	if (!bpf_map_lookup_batch(fd, NULL, &out, keys, t->b, &count, &opts) ||
	    (errno == ENOENT && count == n)) {
		/* An array returns slot i at position i. */
		t->n = n;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, &t->b[i])) {
			err = -errno;
			pr_warn("service: cannot read backend %u: %s\n", i, strerror(-err));
			goto out;
		}
	}
	t->n = n;
out:
	free(keys);
	if (err) {
		free(t->b);
		t->b = NULL;
	}
	return err;
}

/* Returns 1 if backend b is the endpoint ep. */
static int be_is(const struct gw_backend *b, const struct gw_endpoint *ep)
{
	return b->family == ep->ip.family && b->port == htons(ep->port) &&
	       !memcmp(b->addr, ep->ip.addr, sizeof(b->addr));
}

/* Returns the id of the valid backend ep of service svc_id, or 0. */
static __u32 be_find(const struct be_table *t, __u32 svc_id, const struct gw_endpoint *ep)
{
	__u32 i;

	for (i = 1; i < t->n; i++)
		if ((t->b[i].flags & GW_BE_F_VALID) && t->b[i].svc_id == svc_id &&
		    be_is(&t->b[i], ep))
			return i;
	return 0;
}

/* Returns a free backend id (see the file comment), or 0 when none. */
static __u32 be_alloc(struct be_table *t)
{
	static const struct gw_backend zero;
	__u32 i, last = 0, id;

	for (i = 1; i < t->n; i++)
		if (!memcmp(&t->b[i], &zero, sizeof(zero)))
			return i;
	/* All used once: the freed slot after the highest id in use. */
	for (i = 1; i < t->n; i++)
		if (t->b[i].flags & GW_BE_F_VALID)
			last = i;
	for (i = 0; i + 1 < t->n; i++) {
		id = (last + i) % (t->n - 1) + 1;
		if (!(t->b[id].flags & GW_BE_F_VALID))
			return id;
	}
	return 0;
}

/* Returns a free service id (lowest, from 1), or 0 when none. */
static __u32 svc_alloc(const struct gw_lb_maps *m)
{
	__u32 max = map_max_entries(m->maglev), id = 0;
	struct gw_svc_key k, next;
	unsigned char *used;
	struct gw_svc s;
	void *prev = NULL;

	if (!max)
		return 0;
	used = calloc(max, 1);
	if (!used)
		return 0;
	while (!bpf_map_get_next_key(m->services, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(m->services, &k, &s) && s.id < max)
			used[s.id] = 1;
	}
	for (id = 1; id < max; id++)
		if (!used[id])
			break;
	free(used);
	return id < max ? id : 0;
}

/* Builds the Maglev table of service svc_id from its valid, not draining
 * backends in t (skipping those marked in `gone`) and swaps it in; a
 * service without such backends gets no table (new flows: no_backend).
 * Returns 0 or a negative errno. */
static int table_swap(const struct gw_lb_maps *m, const struct be_table *t, const __u8 *gone,
		      __u32 svc_id, __u32 ring_size)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct gw_maglev_entry *e = NULL;
	__u32 *table = NULL, *keys = NULL, i, count;
	size_t n = 0;
	int inner = -1, err = 0;

	e = calloc(t->n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 1; i < t->n; i++) {
		const struct gw_backend *b = &t->b[i];

		if (!(b->flags & GW_BE_F_VALID) || (b->flags & GW_BE_F_DRAIN) ||
		    b->svc_id != svc_id || gone[i])
			continue;
		/* Identity: family, address, port (the layout of gw_backend). */
		e[n].key = b;
		e[n].key_len = offsetof(struct gw_backend, flags);
		e[n].weight = b->weight ? b->weight : 1;
		e[n].id = i;
		n++;
	}
	if (!n) {
		if (bpf_map_delete_elem(m->maglev, &svc_id) && errno != ENOENT) {
			err = -errno;
			pr_warn("service: cannot remove table of service %u: %s\n", svc_id,
				strerror(-err));
		}
		goto out;
	}
	table = malloc((size_t)ring_size * sizeof(*table));
	keys = malloc((size_t)ring_size * sizeof(*keys));
	if (!table || !keys) {
		err = -ENOMEM;
		goto out;
	}
	err = gw_maglev_build(e, n, table, ring_size);
	if (err) {
		pr_warn("service: cannot build table of service %u: %s\n", svc_id, strerror(-err));
		goto out;
	}
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gw_maglev_ring", sizeof(__u32), sizeof(__u32),
			       ring_size, &copts);
	if (inner < 0) {
		err = -errno;
		pr_warn("service: cannot create a table of %u slots: %s\n", ring_size,
			strerror(-err));
		goto out;
	}
	for (i = 0; i < ring_size; i++)
		keys[i] = i;
	count = ring_size;
	if (bpf_map_update_batch(inner, keys, table, &count, &bopts)) {
		for (i = 0; i < ring_size; i++) {
			if (bpf_map_update_elem(inner, &keys[i], &table[i], BPF_ANY)) {
				err = -errno;
				pr_warn("service: cannot fill table: %s\n", strerror(-err));
				goto out;
			}
		}
	}
	if (bpf_map_update_elem(m->maglev, &svc_id, &inner, BPF_ANY)) {
		err = -errno;
		pr_warn("service: cannot swap table of service %u: %s\n", svc_id, strerror(-err));
	}
out:
	if (inner >= 0)
		close(inner);
	free(keys);
	free(table);
	free(e);
	return err;
}

/* Checks a service spec. Returns 0 or -EINVAL (with a message). */
static int spec_check(const struct gw_service_spec *spec, __u32 ring)
{
	size_t i, j;

	if (spec->vip.ip.family != GW_FAMILY_V4 && spec->vip.ip.family != GW_FAMILY_V6)
		goto bad;
	if (spec->proto != IPPROTO_TCP && spec->proto != IPPROTO_UDP)
		goto bad;
	if (spec->fwd != GW_FWD_NAT && spec->fwd != GW_FWD_IPIP)
		goto bad;
	if (!spec->vip.port)
		goto bad;
	if (!gw_maglev_is_prime(ring) || ring > GW_MAGLEV_SIZE_MAX || spec->n_backends > ring) {
		pr_warn("service: ring_size %u must be a prime up to %u and at least the number of backends\n",
			ring, GW_MAGLEV_SIZE_MAX);
		return -EINVAL;
	}
	for (i = 0; i < spec->n_backends; i++) {
		const struct gw_backend_spec *b = &spec->backends[i];

		if (b->ep.ip.family != GW_FAMILY_V4 && b->ep.ip.family != GW_FAMILY_V6)
			goto bad;
		if (!b->weight)
			goto bad;
		/* nat keeps the family; a backend port is the new destination */
		if (spec->fwd == GW_FWD_NAT &&
		    (b->ep.ip.family != spec->vip.ip.family || !b->ep.port))
			goto bad;
		for (j = 0; j < i; j++)
			if (b->ep.ip.family == spec->backends[j].ep.ip.family &&
			    b->ep.port == spec->backends[j].ep.port &&
			    !memcmp(b->ep.ip.addr, spec->backends[j].ep.ip.addr,
				    sizeof(b->ep.ip.addr)))
				goto bad;
	}
	return 0;
bad:
	pr_warn("service: invalid service or backend specification\n");
	return -EINVAL;
}

/* Sets (on) or clears bit `bit` of gw_svc_bloom. Returns 0 or a negative
 * errno. Read-modify-write of a word: the service writers are serialised
 * (gwd; gwctl only while gwd is down). */
static int bloom_bit_write(const struct gw_lb_maps *m, __u32 bit, int on)
{
	__u32 word = bit / 64;
	__u64 w, nw, mask = 1ull << (bit % 64);

	if (bpf_map_lookup_elem(m->svc_bloom, &word, &w))
		return -errno;
	nw = on ? w | mask : w & ~mask;
	if (nw != w && bpf_map_update_elem(m->svc_bloom, &word, &nw, BPF_ANY))
		return -errno;
	return 0;
}

/* Returns 1 when a service of gw_services hashes to `bit`, 0 when none,
 * or a negative errno. */
static int bloom_bit_used(const struct gw_lb_maps *m, __u32 bit)
{
	struct gw_svc_key k, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(m->services, prev, &next)) {
		k = next;
		prev = &k;
		if (gw_svc_bloom_bit(&k) == bit)
			return 1;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* Clears `bit` (of a removed service's key) when no service uses it.
 * Returns 0 or a negative errno (the bit then stays set: costs time only). */
static int bloom_bit_release_bit(const struct gw_lb_maps *m, __u32 bit)
{
	int used = bloom_bit_used(m, bit);

	if (used < 0)
		return used;
	if (used)
		return 0;
	return bloom_bit_write(m, bit, 0);
}

int gw_svc_bloom_sync(const struct gw_lb_maps *m)
{
	__u64 *want = calloc(GW_SVC_BLOOM_WORDS, sizeof(*want)), cur;
	struct gw_svc_key k, next;
	void *prev = NULL;
	int err = 0;
	__u32 i;

	if (!want)
		return -ENOMEM;
	while (!bpf_map_get_next_key(m->services, prev, &next)) {
		__u32 bit = gw_svc_bloom_bit(&next);

		k = next;
		prev = &k;
		want[bit / 64] |= 1ull << (bit % 64);
		err = bloom_bit_write(m, bit, 1);	/* set before anything is cleared */
		if (err)
			goto out;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < GW_SVC_BLOOM_WORDS; i++) {
		if (bpf_map_lookup_elem(m->svc_bloom, &i, &cur)) {
			err = -errno;
			goto out;
		}
		if (cur & ~want[i]) {
			/* Clear only bits no service wants, one by one: a
			 * service inserted meanwhile has set its own bit. */
			__u32 b;

			for (b = 0; b < 64; b++) {
				if (!(cur & ~want[i] & (1ull << b)))
					continue;
				err = bloom_bit_release_bit(m, i * 64 + b);
				if (err)
					goto out;
			}
		}
	}
out:
	if (err)
		pr_warn("service: cannot rebuild gw_svc_bloom: %s\n", strerror(-err));
	free(want);
	return err;
}

int gw_service_set(const struct gw_lb_maps *m, const struct gw_service_spec *spec, __u32 *svc_id)
{
	__u32 ring = spec->ring_size ? spec->ring_size : GW_MAGLEV_SIZE, i, id;
	struct be_table t = { 0 };
	struct gw_svc_key key;
	struct gw_svc svc, old;
	__u8 *gone = NULL;
	int err, is_new;
	size_t k;

	err = spec_check(spec, ring);
	if (err)
		return err;
	svc_key_make(&spec->vip, spec->proto, &key);
	is_new = bpf_map_lookup_elem(m->services, &key, &old) != 0;
	memset(&svc, 0, sizeof(svc));
	svc.id = is_new ? svc_alloc(m) : old.id;
	if (!svc.id) {
		pr_warn("service: no free service id\n");
		return -ENOSPC;
	}
	svc.ring_size = ring;
	svc.fwd = spec->fwd;

	err = be_table_read(m->backends, &t);
	if (err)
		return err;
	gone = calloc(t.n, 1);
	if (!gone) {
		err = -ENOMEM;
		goto out;
	}
	/* Backends of the service that the spec no longer names leave. */
	for (i = 1; i < t.n; i++)
		if ((t.b[i].flags & GW_BE_F_VALID) && t.b[i].svc_id == svc.id)
			gone[i] = 1;
	for (k = 0; k < spec->n_backends; k++) {
		const struct gw_backend_spec *bs = &spec->backends[k];
		struct gw_backend nb;

		id = is_new ? 0 : be_find(&t, svc.id, &bs->ep);
		if (!id) {
			id = be_alloc(&t);
			if (!id) {
				pr_warn("service: no free backend id\n");
				err = -ENOSPC;
				goto out;
			}
		}
		gone[id] = 0;
		memset(&nb, 0, sizeof(nb));
		memcpy(nb.addr, bs->ep.ip.addr, sizeof(nb.addr));
		nb.port = htons(bs->ep.port);
		nb.family = bs->ep.ip.family;
		nb.flags = GW_BE_F_VALID | (bs->drain ? GW_BE_F_DRAIN : 0);
		nb.svc_id = svc.id;
		nb.weight = bs->weight;
		if (memcmp(&nb, &t.b[id], sizeof(nb))) {
			if (bpf_map_update_elem(m->backends, &id, &nb, BPF_ANY)) {
				err = -errno;
				pr_warn("service: cannot write backend %u: %s\n", id,
					strerror(-err));
				goto out;
			}
			t.b[id] = nb;
		}
	}
	err = table_swap(m, &t, gone, svc.id, ring);
	if (err)
		goto out;
	/* The pre-check bit before the entry: the datapath must not skip it. */
	err = bloom_bit_write(m, gw_svc_bloom_bit(&key), 1);
	if (err) {
		pr_warn("service: cannot write gw_svc_bloom: %s\n", strerror(-err));
		goto out;
	}
	if (is_new || memcmp(&svc, &old, sizeof(svc))) {
		if (bpf_map_update_elem(m->services, &key, &svc, BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot write service %u: %s\n", svc.id, strerror(-err));
			goto out;
		}
	}
	for (i = 1; i < t.n; i++) {
		if (!gone[i])
			continue;
		t.b[i].flags = 0;
		if (bpf_map_update_elem(m->backends, &i, &t.b[i], BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot free backend %u: %s\n", i, strerror(-err));
			goto out;
		}
	}
	if (svc_id)
		*svc_id = svc.id;
out:
	free(gone);
	free(t.b);
	return err;
}

int gw_service_del(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto)
{
	struct be_table t = { 0 };
	struct gw_svc_key key;
	struct gw_svc svc;
	int err;
	__u32 i;

	svc_key_make(vip, proto, &key);
	if (bpf_map_lookup_elem(m->services, &key, &svc))
		return -ENOENT;
	if (bpf_map_delete_elem(m->services, &key)) {
		err = -errno;
		pr_warn("service: cannot remove service %u: %s\n", svc.id, strerror(-err));
		return err;
	}
	if (bloom_bit_release_bit(m, gw_svc_bloom_bit(&key)))
		pr_warn("service: cannot clear the gw_svc_bloom bit of service %u\n", svc.id);
	if (bpf_map_delete_elem(m->maglev, &svc.id) && errno != ENOENT)
		pr_warn("service: cannot remove table of service %u: %s\n", svc.id,
			strerror(errno));
	err = be_table_read(m->backends, &t);
	if (err)
		return err;
	for (i = 1; i < t.n; i++) {
		if (!(t.b[i].flags & GW_BE_F_VALID) || t.b[i].svc_id != svc.id)
			continue;
		t.b[i].flags = 0;
		if (bpf_map_update_elem(m->backends, &i, &t.b[i], BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot free backend %u: %s\n", i, strerror(-err));
		}
	}
	free(t.b);
	return err;
}

/* Reads a service and its valid backends as a spec (the caller frees
 * *backends). Returns 0, -ENOENT or another negative errno. */
static int spec_read(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
		     struct gw_service_spec *spec, struct gw_backend_spec **backends)
{
	struct be_table t = { 0 };
	struct gw_backend_spec *bs;
	struct gw_svc_key key;
	struct gw_svc svc;
	size_t n = 0;
	__u32 i;
	int err;

	*backends = NULL;
	svc_key_make(vip, proto, &key);
	if (bpf_map_lookup_elem(m->services, &key, &svc))
		return -ENOENT;
	err = be_table_read(m->backends, &t);
	if (err)
		return err;
	bs = calloc(t.n + 1, sizeof(*bs));
	if (!bs) {
		free(t.b);
		return -ENOMEM;
	}
	for (i = 1; i < t.n; i++) {
		const struct gw_backend *b = &t.b[i];

		if (!(b->flags & GW_BE_F_VALID) || b->svc_id != svc.id)
			continue;
		bs[n].ep.ip.family = b->family;
		memcpy(bs[n].ep.ip.addr, b->addr, sizeof(b->addr));
		bs[n].ep.port = ntohs(b->port);
		bs[n].weight = b->weight ? b->weight : 1;
		bs[n].drain = !!(b->flags & GW_BE_F_DRAIN);
		n++;
	}
	free(t.b);
	memset(spec, 0, sizeof(*spec));
	spec->vip = *vip;
	spec->proto = proto;
	spec->fwd = svc.fwd;
	spec->ring_size = svc.ring_size;
	spec->backends = bs;
	spec->n_backends = n;
	*backends = bs;
	return 0;
}

/* Returns 1 if two endpoints are the same backend. */
static int ep_same(const struct gw_endpoint *a, const struct gw_endpoint *b)
{
	return a->ip.family == b->ip.family && a->port == b->port &&
	       !memcmp(a->ip.addr, b->ip.addr, sizeof(a->ip.addr));
}

int gw_backend_set(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
		   const struct gw_backend_spec *b)
{
	struct gw_backend_spec *bs;
	struct gw_service_spec spec;
	size_t i;
	int err;

	err = spec_read(m, vip, proto, &spec, &bs);
	if (err)
		return err;
	for (i = 0; i < spec.n_backends; i++)
		if (ep_same(&bs[i].ep, &b->ep))
			break;
	bs[i] = *b;	/* replaces, or appends (room for one more) */
	if (i == spec.n_backends)
		spec.n_backends++;
	err = gw_service_set(m, &spec, NULL);
	free(bs);
	return err;
}

int gw_backend_del(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
		   const struct gw_endpoint *backend)
{
	struct gw_backend_spec *bs;
	struct gw_service_spec spec;
	size_t i;
	int err;

	err = spec_read(m, vip, proto, &spec, &bs);
	if (err)
		return err;
	for (i = 0; i < spec.n_backends; i++)
		if (ep_same(&bs[i].ep, backend))
			break;
	if (i == spec.n_backends) {
		free(bs);
		return -ENOENT;
	}
	bs[i] = bs[spec.n_backends - 1];
	spec.n_backends--;
	err = gw_service_set(m, &spec, NULL);
	free(bs);
	return err;
}
