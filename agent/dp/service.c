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
 * reused as late as possible. A slot given to a new backend has its
 * per-CPU packet counters (gw_backend_stats) zeroed first.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "core/maglev.h"
#include "dp/neigh.h"
#include "dp/service.h"

/* A snapshot of gw_backends. */
struct be_table {
	struct gw_backend *b;
	__u32 n;
};

/* What the writers below need to know of the maps, read once (service.h:
 * gw_lb_snap_read) and kept up to date by every change made through it. */
struct gw_lb_snap {
	struct be_table t;
	unsigned char *svc_used;	/* service ids in gw_services */
	__u32 svc_max;			/* gw_maglev's max_entries */
	__u32 *bloom_users;		/* services per gw_svc_bloom bit */
	/* Deferred mode (gw_lb_snap_defer): every gw_maglev write waits for
	 * gw_lb_snap_commit, which does them in one batch; one such write
	 * costs an RCU grace period (the kernel waits for running programs),
	 * ~10 ms, so 1000 of them one by one would take seconds. What must
	 * follow a table swap waits with it: */
	int defer;
	int *tables;			/* [svc id]: new table fd, -1: none */
	int tombstone;			/* an empty table for removed services */
	struct gw_svc_key *svc_keys;	/* gw_services entries to write after */
	struct gw_svc *svc_vals;
	__u32 n_svc;
	__u32 *be_free;			/* backends to free after */
	__u32 n_free;
};

/* Whether gw_maglev takes BPF_F_MMAPABLE tables (filled with one memcpy);
 * cleared when the pinned map's inner template predates them. */
static int ring_mmapable = 1;

static void svc_key_make(const struct gw_endpoint *vip, __u8 proto, struct gw_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, vip->ip.addr, sizeof(k->addr));
	k->port = htons(vip->port);
	k->proto = proto;
	k->family = vip->ip.family;
}

__u32 gw_map_max_entries(int fd)
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
	__u32 n = gw_map_max_entries(fd), i, *keys = NULL, count, out = 0;
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

/* Zeroes the per-CPU counters of backend slot id, which is about to get a
 * new backend: its packets must not start from the previous one's. Done
 * before the backend is written VALID; a packet of the slot's former
 * backend still in flight (it looked the slot up before it was freed) may
 * still count. Returns 0 or a negative errno. */
static int be_stats_zero(const struct gw_lb_maps *m, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct gw_counter *zero;

	if (m->backend_stats < 0)
		return 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(m->backend_stats, &id, zero, BPF_ANY)) {
		err = -errno;
		pr_warn("service: cannot reset the counters of backend %u: %s\n", id,
			strerror(-err));
	}
	free(zero);
	return err;
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

/* Marks which service ids gw_services uses. Returns 0 or a negative errno. */
static int svc_used_read(const struct gw_lb_maps *m, struct gw_lb_snap *sn)
{
	struct gw_svc_key k, next;
	struct gw_svc s;
	void *prev = NULL;

	sn->svc_max = gw_map_max_entries(m->maglev);
	if (!sn->svc_max)
		return -EINVAL;
	sn->svc_used = calloc(sn->svc_max, 1);
	sn->bloom_users = calloc(64 * GW_SVC_BLOOM_WORDS, sizeof(*sn->bloom_users));
	if (!sn->svc_used || !sn->bloom_users)
		return -ENOMEM;
	while (!bpf_map_get_next_key(m->services, prev, &next)) {
		k = next;
		prev = &k;
		sn->bloom_users[gw_svc_bloom_bit(&k)]++;
		if (!bpf_map_lookup_elem(m->services, &k, &s) && s.id < sn->svc_max)
			sn->svc_used[s.id] = 1;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* Returns a free service id (lowest, from 1), or 0 when none. */
static __u32 svc_alloc(const struct gw_lb_snap *sn)
{
	__u32 id;

	for (id = 1; id < sn->svc_max; id++)
		if (!sn->svc_used[id])
			return id;
	return 0;
}

int gw_lb_snap_read(const struct gw_lb_maps *m, struct gw_lb_snap **snp)
{
	struct gw_lb_snap *sn = calloc(1, sizeof(*sn));
	int err;

	*snp = NULL;
	if (!sn)
		return -ENOMEM;
	sn->tombstone = -1;
	err = be_table_read(m->backends, &sn->t);
	if (!err)
		err = svc_used_read(m, sn);
	if (err) {
		gw_lb_snap_free(sn);
		return err;
	}
	*snp = sn;
	return 0;
}

void gw_lb_snap_free(struct gw_lb_snap *sn)
{
	if (!sn)
		return;
	if (sn->tables) {
		__u32 i;

		for (i = 0; i < sn->svc_max; i++)
			if (sn->tables[i] >= 0 && sn->tables[i] != sn->tombstone)
				close(sn->tables[i]);
	}
	if (sn->tombstone >= 0)
		close(sn->tombstone);
	free(sn->tables);
	free(sn->svc_keys);
	free(sn->svc_vals);
	free(sn->be_free);
	free(sn->t.b);
	free(sn->svc_used);
	free(sn->bloom_users);
	free(sn);
}

const struct gw_backend *gw_lb_snap_backends(const struct gw_lb_snap *sn, __u32 *n)
{
	*n = sn->t.n;
	return sn->t.b;
}

/* Creates the one-slot table of removed services (no backend). Returns
 * its fd or a negative errno. */
static int tombstone_create(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	int fd;

	if (ring_mmapable)
		copts.map_flags |= BPF_F_MMAPABLE;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gw_maglev_none", sizeof(__u32), sizeof(__u32), 1,
			    &copts);
	return fd < 0 ? -errno : fd;
}

/* Finds out once whether gw_maglev takes mmapable tables (a gw_maglev
 * pinned by an older gw does not): writes the tombstone into a free slot
 * and removes it again. Returns 0 or a negative errno. */
static int ring_probe(const struct gw_lb_maps *m, struct gw_lb_snap *sn)
{
	static int probed;
	__u32 id;

	if (probed || !ring_mmapable)
		return 0;
	for (id = sn->svc_max; id-- > 1;)
		if (!sn->svc_used[id])
			break;
	if (!id)
		return 0;	/* no free slot: table_swap's fallback still works */
	if (bpf_map_update_elem(m->maglev, &id, &sn->tombstone, BPF_ANY)) {
		if (errno != EINVAL)
			return -errno;
		pr_info("service: gw_maglev takes no mmapable tables; filling them slot by "
			"slot\n");
		ring_mmapable = 0;
		close(sn->tombstone);
		sn->tombstone = tombstone_create();
		if (sn->tombstone < 0)
			return sn->tombstone;
	} else if (bpf_map_delete_elem(m->maglev, &id) && errno != ENOENT) {
		return -errno;
	}
	probed = 1;
	return 0;
}

int gw_lb_snap_defer(const struct gw_lb_maps *m, struct gw_lb_snap *sn)
{
	__u32 i;
	int err;

	sn->tables = malloc((size_t)sn->svc_max * sizeof(*sn->tables));
	sn->svc_keys = calloc(sn->svc_max, sizeof(*sn->svc_keys));
	sn->svc_vals = calloc(sn->svc_max, sizeof(*sn->svc_vals));
	sn->be_free = calloc(sn->t.n ? sn->t.n : 1, sizeof(*sn->be_free));
	if (!sn->tables || !sn->svc_keys || !sn->svc_vals || !sn->be_free)
		return -ENOMEM;
	for (i = 0; i < sn->svc_max; i++)
		sn->tables[i] = -1;
	/* One slot holding no backend (0): new flows of a service that is
	 * gone would find none; its big table is released. */
	sn->tombstone = tombstone_create();
	if (sn->tombstone < 0)
		return sn->tombstone;
	err = ring_probe(m, sn);
	if (err)
		return err;
	sn->defer = 1;
	return 0;
}

/* Queues table fd (owned by the snapshot from now on) for service id. */
static void defer_table(struct gw_lb_snap *sn, __u32 id, int fd)
{
	if (sn->tables[id] >= 0 && sn->tables[id] != sn->tombstone)
		close(sn->tables[id]);
	sn->tables[id] = fd;
}

/* Swaps the queued tables into gw_maglev: one batch (one grace period),
 * slot by slot where the kernel has no batch for it. Returns 0 or a
 * negative errno. */
static int commit_tables(const struct gw_lb_maps *m, struct gw_lb_snap *sn)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 *keys, i, n = 0, count;
	int *fds, err = 0;

	keys = calloc(sn->svc_max, sizeof(*keys));
	fds = calloc(sn->svc_max, sizeof(*fds));
	if (!keys || !fds) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sn->svc_max; i++) {
		if (sn->tables[i] < 0)
			continue;
		keys[n] = i;
		fds[n++] = sn->tables[i];
	}
	count = n;
	if (n && bpf_map_update_batch(m->maglev, keys, fds, &count, &bopts)) {
		for (i = count < n ? count : 0; i < n; i++) {
			if (bpf_map_update_elem(m->maglev, &keys[i], &fds[i], BPF_ANY)) {
				err = -errno;
				pr_warn("service: cannot swap table of service %u: %s\n", keys[i],
					strerror(-err));
				goto out;
			}
		}
	}
out:
	free(keys);
	free(fds);
	return err;
}

int gw_lb_snap_commit(const struct gw_lb_maps *m, struct gw_lb_snap *sn)
{
	__u32 i, id;
	int err;

	if (!sn->defer)
		return 0;
	err = commit_tables(m, sn);
	/* Then what waited for the tables: new and changed services' entries
	 * (their pre-check bits are set already), then freed backends. */
	for (i = 0; !err && i < sn->n_svc; i++) {
		if (bpf_map_update_elem(m->services, &sn->svc_keys[i], &sn->svc_vals[i], BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot write service %u: %s\n", sn->svc_vals[i].id,
				strerror(-err));
		}
	}
	for (i = 0; !err && i < sn->n_free; i++) {
		id = sn->be_free[i];
		sn->t.b[id].flags = 0;
		if (bpf_map_update_elem(m->backends, &id, &sn->t.b[id], BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot free backend %u: %s\n", id, strerror(-err));
		}
	}
	for (i = 0; i < sn->svc_max; i++) {
		if (sn->tables[i] >= 0 && sn->tables[i] != sn->tombstone)
			close(sn->tables[i]);
		sn->tables[i] = -1;
	}
	sn->n_svc = 0;
	sn->n_free = 0;
	return err;
}

/* Creates an inner table of ring_size slots holding `table`: mmapable ones
 * are filled with one copy, others with a batch update (slot by slot where
 * the kernel has none). Returns its fd or a negative errno. */
static int ring_create(const __u32 *table, __u32 ring_size, int mmapable)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	size_t len = (size_t)ring_size * sizeof(*table), page = (size_t)sysconf(_SC_PAGESIZE);
	/* an array's elements are 8-byte aligned: slot i is at i * 8 */
	const size_t elem = (sizeof(*table) + 7) & ~(size_t)7;
	__u32 *keys = NULL, i, count;
	int fd, err = 0;
	void *mem;

	if (mmapable)
		copts.map_flags |= BPF_F_MMAPABLE;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "gw_maglev_ring", sizeof(__u32), sizeof(__u32),
			    ring_size, &copts);
	if (fd < 0)
		return -errno;
	if (mmapable) {
		len = ((size_t)ring_size * elem + page - 1) / page * page;
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (mem == MAP_FAILED) {
			err = -errno;
			goto out;
		}
		for (i = 0; i < ring_size; i++)
			*(__u32 *)((char *)mem + (size_t)i * elem) = table[i];
		munmap(mem, len);
		return fd;
	}
	keys = malloc(len);
	if (!keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ring_size; i++)
		keys[i] = i;
	count = ring_size;
	if (bpf_map_update_batch(fd, keys, table, &count, &bopts)) {
		for (i = 0; i < ring_size; i++) {
			if (bpf_map_update_elem(fd, &keys[i], &table[i], BPF_ANY)) {
				err = -errno;
				break;
			}
		}
	}
out:
	free(keys);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Collects into e the backends of service svc_id in t that take new
 * flows: valid, not draining, not marked in `gone`, and not down unless
 * `with_down`. Returns how many. */
static size_t table_members(const struct be_table *t, const __u8 *gone, __u32 svc_id,
			    int with_down, struct gw_maglev_entry *e)
{
	size_t n = 0;
	__u32 i;

	for (i = 1; i < t->n; i++) {
		const struct gw_backend *b = &t->b[i];

		if (!(b->flags & GW_BE_F_VALID) || (b->flags & GW_BE_F_DRAIN) ||
		    b->svc_id != svc_id || gone[i] || (!with_down && (b->flags & GW_BE_F_DOWN)))
			continue;
		/* Identity: family, address, port (the layout of gw_backend). */
		e[n].key = b;
		e[n].key_len = offsetof(struct gw_backend, flags);
		e[n].weight = b->weight ? b->weight : 1;
		e[n].id = i;
		n++;
	}
	return n;
}

/* Builds the Maglev table of service svc_id from its valid, not draining,
 * not down backends in t (skipping those marked in `gone`) and swaps it in
 * (or queues it in sn when sn defers). When every such backend is down, the
 * down ones form the table (fail open); a service without any gets no table
 * (new flows: no_backend). sn may be NULL. Returns 0 or a negative errno. */
static int table_swap(const struct gw_lb_maps *m, struct gw_lb_snap *sn, const struct be_table *t,
		      const __u8 *gone, __u32 svc_id, __u32 ring_size)
{
	struct gw_maglev_entry *e = NULL;
	__u32 *table = NULL;
	size_t n = 0;
	int inner = -1, err = 0;

	e = calloc(t->n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	n = table_members(t, gone, svc_id, 0, e);
	if (!n)
		n = table_members(t, gone, svc_id, 1, e);
	if (!n && sn && sn->defer && svc_id < sn->svc_max) {
		defer_table(sn, svc_id, sn->tombstone);
		goto out;
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
	if (!table) {
		err = -ENOMEM;
		goto out;
	}
	err = gw_maglev_build(e, n, table, ring_size);
	if (err) {
		pr_warn("service: cannot build table of service %u: %s\n", svc_id, strerror(-err));
		goto out;
	}
	inner = ring_create(table, ring_size, ring_mmapable);
	if (inner < 0) {
		err = inner;
		pr_warn("service: cannot create a table of %u slots: %s\n", ring_size,
			strerror(-err));
		goto out;
	}
	if (sn && sn->defer && svc_id < sn->svc_max) {
		defer_table(sn, svc_id, inner);
		inner = -1;
		goto out;
	}
	err = bpf_map_update_elem(m->maglev, &svc_id, &inner, BPF_ANY) ? -errno : 0;
	if (err == -EINVAL && ring_mmapable) {
		/* gw_maglev was pinned by a gw whose tables were not mmapable */
		pr_info("service: gw_maglev takes no mmapable tables; filling them slot by "
			"slot\n");
		ring_mmapable = 0;
		close(inner);
		inner = ring_create(table, ring_size, 0);
		err = inner < 0 ? inner :
		      bpf_map_update_elem(m->maglev, &svc_id, &inner, BPF_ANY) ? -errno : 0;
	}
	if (err)
		pr_warn("service: cannot swap table of service %u: %s\n", svc_id, strerror(-err));
out:
	if (inner >= 0)
		close(inner);
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
	struct gw_lb_snap *sn;
	int err;

	err = gw_lb_snap_read(m, &sn);
	if (err)
		return err;
	err = gw_service_set_snap(m, sn, spec, svc_id);
	gw_lb_snap_free(sn);
	return err;
}

int gw_service_set_snap(const struct gw_lb_maps *m, struct gw_lb_snap *sn,
			const struct gw_service_spec *spec, __u32 *svc_id)
{
	__u32 ring = spec->ring_size ? spec->ring_size : GW_MAGLEV_SIZE, i, id;
	struct be_table *tp = &sn->t, t;
	struct gw_svc_key key;
	struct gw_svc svc, old;
	const struct gw_ip **fresh = NULL;
	size_t k, n_fresh = 0;
	__u8 *gone = NULL;
	int err, is_new;

	err = spec_check(spec, ring);
	if (err)
		return err;
	svc_key_make(&spec->vip, spec->proto, &key);
	is_new = bpf_map_lookup_elem(m->services, &key, &old) != 0;
	memset(&svc, 0, sizeof(svc));
	svc.id = is_new ? svc_alloc(sn) : old.id;
	if (!svc.id) {
		pr_warn("service: no free service id\n");
		return -ENOSPC;
	}
	svc.ring_size = ring;
	svc.fwd = spec->fwd;

	t = *tp;	/* written through: t.b is the snapshot's */
	gone = calloc(t.n, 1);
	fresh = calloc(spec->n_backends + 1, sizeof(*fresh));
	if (!gone || !fresh) {
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

		__u8 down = 0;

		id = is_new ? 0 : be_find(&t, svc.id, &bs->ep);
		if (id) {
			down = t.b[id].flags & GW_BE_F_DOWN;	/* health is not config */
		} else {
			id = be_alloc(&t);
			if (!id) {
				pr_warn("service: no free backend id\n");
				err = -ENOSPC;
				goto out;
			}
			/* a new backend in the slot: counters from 0 */
			err = be_stats_zero(m, id);
			if (err)
				goto out;
			fresh[n_fresh++] = &bs->ep.ip;
		}
		gone[id] = 0;
		memset(&nb, 0, sizeof(nb));
		memcpy(nb.addr, bs->ep.ip.addr, sizeof(nb.addr));
		nb.port = htons(bs->ep.port);
		nb.family = bs->ep.ip.family;
		nb.flags = GW_BE_F_VALID | (bs->drain ? GW_BE_F_DRAIN : 0) | down;
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
	err = table_swap(m, sn, &t, gone, svc.id, ring);
	if (err)
		goto out;
	/* The pre-check bit before the entry: the datapath must not skip it. */
	err = bloom_bit_write(m, gw_svc_bloom_bit(&key), 1);
	if (err) {
		pr_warn("service: cannot write gw_svc_bloom: %s\n", strerror(-err));
		goto out;
	}
	if ((is_new || memcmp(&svc, &old, sizeof(svc))) && sn->defer) {
		sn->svc_keys[sn->n_svc] = key;	/* after its table: commit */
		sn->svc_vals[sn->n_svc++] = svc;
	} else if (is_new || memcmp(&svc, &old, sizeof(svc))) {
		if (bpf_map_update_elem(m->services, &key, &svc, BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot write service %u: %s\n", svc.id, strerror(-err));
			goto out;
		}
	}
	if (svc.id < sn->svc_max)
		sn->svc_used[svc.id] = 1;
	if (is_new)
		sn->bloom_users[gw_svc_bloom_bit(&key)]++;
	for (i = 1; i < t.n; i++) {
		if (!gone[i])
			continue;
		if (sn->defer) {
			/* stays VALID in the snapshot until then: not reused */
			sn->be_free[sn->n_free++] = i;
			continue;
		}
		t.b[i].flags = 0;
		if (bpf_map_update_elem(m->backends, &i, &t.b[i], BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot free backend %u: %s\n", i, strerror(-err));
			goto out;
		}
	}
	if (svc_id)
		*svc_id = svc.id;
	/* new backends: their neighbours resolved before their first packet
	 * (best effort: the datapath resolves what this misses) */
	gw_neigh_resolve(fresh, n_fresh);
out:
	free(fresh);
	free(gone);
	return err;
}

int gw_fib_gen_bump(int config_fd)
{
	struct gw_config cfg;
	__u32 key = 0;
	int err;

	if (bpf_map_lookup_elem(config_fd, &key, &cfg)) {
		err = -errno;
	} else {
		cfg.fib_gen++;
		err = bpf_map_update_elem(config_fd, &key, &cfg, BPF_ANY) ? -errno : 0;
	}
	if (err)
		pr_warn("service: cannot move fib_gen of gw_config on: %s\n", strerror(-err));
	return err;
}

int gw_service_del(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto)
{
	struct gw_lb_snap *sn;
	int err;

	err = gw_lb_snap_read(m, &sn);
	if (err)
		return err;
	err = gw_service_del_snap(m, sn, vip, proto);
	gw_lb_snap_free(sn);
	return err;
}

int gw_service_del_snap(const struct gw_lb_maps *m, struct gw_lb_snap *sn,
			const struct gw_endpoint *vip, __u8 proto)
{
	struct be_table *t = &sn->t;
	struct gw_svc_key key;
	struct gw_svc svc;
	int err = 0;
	__u32 i, bit;

	svc_key_make(vip, proto, &key);
	if (bpf_map_lookup_elem(m->services, &key, &svc))
		return -ENOENT;
	if (bpf_map_delete_elem(m->services, &key)) {
		err = -errno;
		pr_warn("service: cannot remove service %u: %s\n", svc.id, strerror(-err));
		return err;
	}
	if (svc.id < sn->svc_max)
		sn->svc_used[svc.id] = 0;
	/* The bit goes when no other service hashes to it (counted in the
	 * snapshot: no walk of gw_services per removal). */
	bit = gw_svc_bloom_bit(&key);
	if (sn->bloom_users[bit])
		sn->bloom_users[bit]--;
	if (!sn->bloom_users[bit] && bloom_bit_write(m, bit, 0))
		pr_warn("service: cannot clear the gw_svc_bloom bit of service %u\n", svc.id);
	if (sn->defer && svc.id < sn->svc_max)
		defer_table(sn, svc.id, sn->tombstone);
	else if (bpf_map_delete_elem(m->maglev, &svc.id) && errno != ENOENT)
		pr_warn("service: cannot remove table of service %u: %s\n", svc.id,
			strerror(errno));
	for (i = 1; i < t->n; i++) {
		if (!(t->b[i].flags & GW_BE_F_VALID) || t->b[i].svc_id != svc.id)
			continue;
		t->b[i].flags = 0;
		if (bpf_map_update_elem(m->backends, &i, &t->b[i], BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot free backend %u: %s\n", i, strerror(-err));
		}
	}
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

int gw_service_health_set(const struct gw_lb_maps *m, const struct gw_endpoint *vip, __u8 proto,
			  const struct gw_endpoint *down, size_t n_down, int *changed,
			  int *fail_open)
{
	struct be_table t = { 0 };
	struct gw_svc_key key;
	struct gw_svc svc;
	__u8 *gone = NULL;
	int err, dirty = 0, n_up = 0, n_down_now = 0;
	size_t k;
	__u32 i;

	if (changed)
		*changed = 0;
	if (fail_open)
		*fail_open = 0;
	svc_key_make(vip, proto, &key);
	if (bpf_map_lookup_elem(m->services, &key, &svc))
		return -ENOENT;
	err = be_table_read(m->backends, &t);
	if (err)
		return err;
	gone = calloc(t.n, 1);
	if (!gone) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 1; i < t.n; i++) {
		struct gw_backend *b = &t.b[i];
		__u8 want = 0;
		struct gw_endpoint ep = { .ip.family = b->family, .port = ntohs(b->port) };

		if (!(b->flags & GW_BE_F_VALID) || b->svc_id != svc.id)
			continue;
		memcpy(ep.ip.addr, b->addr, sizeof(ep.ip.addr));
		for (k = 0; k < n_down; k++)
			if (ep_same(&down[k], &ep))
				want = GW_BE_F_DOWN;
		if (!(b->flags & GW_BE_F_DRAIN)) {
			n_up += !want;
			n_down_now += !!want;
		}
		if ((b->flags & GW_BE_F_DOWN) == want)
			continue;
		b->flags = (__u8)((b->flags & ~GW_BE_F_DOWN) | want);
		if (bpf_map_update_elem(m->backends, &i, b, BPF_ANY)) {
			err = -errno;
			pr_warn("service: cannot write backend %u: %s\n", i, strerror(-err));
			goto out;
		}
		dirty = 1;
	}
	if (fail_open)
		*fail_open = !n_up && n_down_now;
	if (dirty) {
		err = table_swap(m, NULL, &t, gone, svc.id, svc.ring_size);
		if (!err && changed)
			*changed = 1;
	}
out:
	free(gone);
	free(t.b);
	return err;
}
