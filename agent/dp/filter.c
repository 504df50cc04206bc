// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The IP filter's entries in the datapath's LPM tries (see filter.h and
 * bpf/lib/filter.h). Each gw_rule carries its key's prefix length: the
 * datapath compares the matches of the static and the ban trie by it.
 *
 * Read-modify-write sequences here (the allow-wins rule, extending a ban)
 * are not atomic against another writer of the same prefix; gwd serialises
 * its own writers, and gwctl writes only while gwd is down.
 *
 * The datapath caches a source's passing verdict under gw_config's
 * filter_gen (bpf/lib/ratelimit.h): every change writes the trie first and
 * then moves filter_gen on, so the next packet sees the change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "dp/filter.h"
#include "core/log.h"

/* A key of either trie family. */
union lpm_key {
	struct gw_lpm_v4_key v4;
	struct gw_lpm_v6_key v6;
};

/* Checks c and builds its key; *fd becomes the v4 or v6 map of the pair.
 * Returns 0, -EINVAL for a bad prefix, -EBADF for a missing map. */
static int make_key(const struct gw_cidr *c, int fd4, int fd6, union lpm_key *k, int *fd)
{
	unsigned int i, max;

	memset(k, 0, sizeof(*k));
	if (c->ip.family == GW_FAMILY_V4)
		max = 32;
	else if (c->ip.family == GW_FAMILY_V6)
		max = 128;
	else
		return -EINVAL;
	if (c->prefixlen > max)
		return -EINVAL;
	/* Host bits beyond the prefix: a caller bug, never silently fixed. */
	for (i = 0; i < 4; i++) {
		unsigned int b = c->prefixlen > 32 * i ? c->prefixlen - 32 * i : 0;
		__u32 mask = b >= 32 ? 0xffffffffu : b ? ~0u << (32 - b) : 0;

		if (c->ip.addr[i] & ~htonl(mask))
			return -EINVAL;
	}
	if (max == 32) {
		k->v4.prefixlen = c->prefixlen;
		k->v4.addr = c->ip.addr[0];
		*fd = fd4;
	} else {
		k->v6.prefixlen = c->prefixlen;
		memcpy(k->v6.addr, c->ip.addr, sizeof(k->v6.addr));
		*fd = fd6;
	}
	return *fd < 0 ? -EBADF : 0;
}

/* Reads the entry at exactly k (an LPM lookup would return a shorter
 * match). Returns 0, -ENOENT or a negative errno. */
static int exact_lookup(int fd, const union lpm_key *k, struct gw_rule *rule)
{
	if (bpf_map_lookup_elem(fd, k, rule))
		return -errno;
	/* The value names its prefix length: a shorter match is not ours. */
	if (rule->prefixlen != k->v4.prefixlen)
		return -ENOENT;
	return 0;
}

/* Writes rule at k, saying why when it cannot. Returns 0 or a negative errno. */
static int write_rule(int fd, const union lpm_key *k, const struct gw_rule *rule,
		      const struct gw_cidr *c, const char *what)
{
	char buf[GW_ADDR_STRLEN];
	int err = 0;

	if (bpf_map_update_elem(fd, k, rule, BPF_ANY)) {
		err = -errno;
		pr_warn("filter: cannot add %s %s: %s\n", what, gw_cidr_str(c, buf, sizeof(buf)),
			strerror(-err));
	}
	return err;
}

/* Moves gw_config's filter_gen on, after a trie was written: the
 * datapath's cached verdicts (taken under the old generation) stop
 * counting, and the next packet of every source walks the tries again.
 * Returns 0 or a negative errno. */
static int filter_bump(const struct gw_filter_maps *m)
{
	struct gw_config cfg;
	__u32 key = 0;
	int err = 0;

	if (m->config < 0)
		return 0;
	if (bpf_map_lookup_elem(m->config, &key, &cfg))
		err = -errno;
	else {
		cfg.filter_gen++;
		if (bpf_map_update_elem(m->config, &key, &cfg, BPF_ANY))
			err = -errno;
	}
	if (err)
		pr_warn("filter: cannot move filter_gen of gw_config on: %s\n", strerror(-err));
	return err;
}

int gw_filter_add(const struct gw_filter_maps *m, const struct gw_cidr *c, int action, int origin)
{
	struct gw_rule rule = {}, old;
	union lpm_key k;
	int fd, err;

	if (action != GW_RULE_ALLOW && action != GW_RULE_DENY)
		return -EINVAL;
	if (origin < GW_ORIGIN_CONFIG || origin > GW_ORIGIN_BAN)
		return -EINVAL;
	err = make_key(c, m->v4, m->v6, &k, &fd);
	if (err)
		return err;
	err = exact_lookup(fd, &k, &old);
	if (!err && old.action == GW_RULE_ALLOW && action == GW_RULE_DENY)
		return -EEXIST;	/* allow wins on the same prefix */
	if (err && err != -ENOENT)
		return err;
	rule.action = (__u8)action;
	rule.prefixlen = c->prefixlen;
	rule.origin = (__u8)origin;
	err = write_rule(fd, &k, &rule, c, action == GW_RULE_ALLOW ? "allow" : "deny");
	return err ? err : filter_bump(m);
}

int gw_filter_del(const struct gw_filter_maps *m, const struct gw_cidr *c, int action)
{
	struct gw_rule old;
	union lpm_key k;
	int fd, err;

	err = make_key(c, m->v4, m->v6, &k, &fd);
	if (err)
		return err;
	err = exact_lookup(fd, &k, &old);
	if (err)
		return err;
	if (old.action != action)
		return -ENOENT;
	if (bpf_map_delete_elem(fd, &k))
		return -errno;
	return filter_bump(m);
}

/* Writes or deletes n keys of one trie (key size ksize), one batch call
 * where the kernel takes it, else one by one. Returns 0 or a negative
 * errno. */
static int trie_write_many(int fd, const void *keys, size_t ksize, const struct gw_rule *vals,
			   __u32 n, int del)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n, i;
	int err;

	if (!n)
		return 0;
	err = del ? bpf_map_delete_batch(fd, keys, &count, &opts) :
		    bpf_map_update_batch(fd, keys, vals, &count, &opts);
	if (!err)
		return 0;
	/* No batch support (LPM tries), or an entry already gone: one by
	 * one from where the batch stopped (0 when it did nothing). */
	for (i = count < n ? count : 0; i < n; i++) {
		const void *k = (const char *)keys + (size_t)i * ksize;

		if (del ? bpf_map_delete_elem(fd, k) && errno != ENOENT :
			  bpf_map_update_elem(fd, k, &vals[i], BPF_ANY) != 0)
			return -errno;
	}
	return 0;
}

int gw_filter_write_many(const struct gw_filter_maps *m, const struct gw_filter_rule_at *v,
			 size_t n, int del)
{
	struct gw_lpm_v4_key *k4 = NULL;
	struct gw_lpm_v6_key *k6 = NULL;
	struct gw_rule *r4 = NULL, *r6 = NULL;
	char buf[GW_ADDR_STRLEN];
	__u32 n4 = 0, n6 = 0;
	union lpm_key k;
	size_t i;
	int fd, err = 0;

	if (!n)
		return 0;
	k4 = calloc(n, sizeof(*k4));
	k6 = calloc(n, sizeof(*k6));
	r4 = calloc(n, sizeof(*r4));
	r6 = calloc(n, sizeof(*r6));
	if (!k4 || !k6 || !r4 || !r6 || n > UINT32_MAX) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct gw_rule rule = {};

		if ((v[i].action != GW_RULE_ALLOW && v[i].action != GW_RULE_DENY) ||
		    v[i].origin < GW_ORIGIN_CONFIG || v[i].origin > GW_ORIGIN_BAN) {
			err = -EINVAL;
			goto out;
		}
		err = make_key(&v[i].cidr, m->v4, m->v6, &k, &fd);
		if (err) {
			pr_warn("filter: bad prefix %s\n", gw_cidr_str(&v[i].cidr, buf, sizeof(buf)));
			goto out;
		}
		rule.action = (__u8)v[i].action;
		rule.prefixlen = v[i].cidr.prefixlen;
		rule.origin = (__u8)v[i].origin;
		if (fd == m->v4) {
			k4[n4] = k.v4;
			r4[n4++] = rule;
		} else {
			k6[n6] = k.v6;
			r6[n6++] = rule;
		}
	}
	err = trie_write_many(m->v4, k4, sizeof(*k4), r4, n4, del);
	if (!err)
		err = trie_write_many(m->v6, k6, sizeof(*k6), r6, n6, del);
	if (err)
		pr_warn("filter: cannot %s the filter: %s\n", del ? "remove entries from" :
			"write entries to", strerror(-err));
out:
	free(k4);
	free(k6);
	free(r4);
	free(r6);
	/* Whatever was written, cached verdicts must not outlive it. */
	if (filter_bump(m) && !err)
		err = -EIO;
	return err;
}

/* Sets (on) or clears the flag bit of gw_config. Returns 0 or a negative
 * errno. Read-modify-write: gw_config's writers are serialised (gwd). */
static int config_flag(const struct gw_filter_maps *m, __u32 bit, int on)
{
	struct gw_config cfg;
	__u32 key = 0, flags;

	if (m->config < 0)
		return 0;
	if (bpf_map_lookup_elem(m->config, &key, &cfg))
		return -errno;
	flags = on ? cfg.flags | bit : cfg.flags & ~bit;
	if (flags == cfg.flags)
		return 0;
	cfg.flags = flags;
	if (bpf_map_update_elem(m->config, &key, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/* Returns 1 when the trie fd is empty, 0 when not, or a negative errno. */
static int trie_empty(int fd)
{
	union lpm_key next;

	if (!bpf_map_get_next_key(fd, NULL, &next))
		return 0;
	return errno == ENOENT ? 1 : -errno;
}

/* Brings one family's NO_BANS flag in line with its trie. An emptiness
 * seen before the flag is set is checked again after: a ban added in
 * between (flag cleared, then written) is never hidden. Returns 0 or a
 * negative errno. */
static int ban_sync_one(const struct gw_filter_maps *m, int fd, __u32 bit)
{
	int empty, err;

	if (fd < 0)
		return -EBADF;
	empty = trie_empty(fd);
	if (empty < 0)
		return empty;
	err = config_flag(m, bit, empty);
	if (err || !empty)
		return err;
	empty = trie_empty(fd);
	if (empty < 0)
		return empty;
	return empty ? 0 : config_flag(m, bit, 0);
}

int gw_ban_sync(const struct gw_filter_maps *m)
{
	int err;

	if (m->config < 0)
		return 0;
	err = ban_sync_one(m, m->ban_v4, GW_CFG_F_NO_BANS_V4);
	if (!err)
		err = ban_sync_one(m, m->ban_v6, GW_CFG_F_NO_BANS_V6);
	if (err)
		pr_warn("filter: cannot update the ban flags of gw_config: %s\n", strerror(-err));
	return err;
}

int gw_ban_add(const struct gw_filter_maps *m, const struct gw_cidr *c, __u64 ttl_ns, int origin)
{
	struct gw_rule rule = {}, old;
	union lpm_key k;
	__u64 now, deadline;
	int fd, err;

	if (!ttl_ns || origin < GW_ORIGIN_CONFIG || origin > GW_ORIGIN_BAN)
		return -EINVAL;
	err = make_key(c, m->ban_v4, m->ban_v6, &k, &fd);
	if (err)
		return err;
	now = gw_now_ns();
	deadline = ttl_ns > UINT64_MAX - now ? UINT64_MAX : now + ttl_ns;
	err = exact_lookup(fd, &k, &old);
	if (err && err != -ENOENT)
		return err;
	/* Extend, never shorten: a live ban keeps the later deadline. */
	if (!err && (!old.expires_ns || old.expires_ns > deadline))
		return 0;
	rule.action = GW_RULE_DENY;
	rule.prefixlen = c->prefixlen;
	rule.origin = (__u8)origin;
	rule.expires_ns = deadline;
	/* The datapath must look at the trie before the ban is in it. */
	err = config_flag(m, c->ip.family == GW_FAMILY_V4 ? GW_CFG_F_NO_BANS_V4 :
			  GW_CFG_F_NO_BANS_V6, 0);
	if (err) {
		pr_warn("filter: cannot clear the ban flag of gw_config: %s\n", strerror(-err));
		return err;
	}
	err = write_rule(fd, &k, &rule, c, "ban");
	return err ? err : filter_bump(m);
}

int gw_ban_del(const struct gw_filter_maps *m, const struct gw_cidr *c)
{
	struct gw_rule old;
	union lpm_key k;
	int fd, err;

	err = make_key(c, m->ban_v4, m->ban_v6, &k, &fd);
	if (err)
		return err;
	err = exact_lookup(fd, &k, &old);
	if (err)
		return err;
	if (bpf_map_delete_elem(fd, &k))
		return -errno;
	gw_ban_sync(m);	/* a failure only leaves the trie looked up */
	return filter_bump(m);
}

/* Deletes the expired entries of one ban trie. Keys are collected first:
 * an LPM trie's next-key walk restarts when its current key disappears.
 * Returns the number removed or a negative errno. */
static int ban_gc_one(int fd, size_t ksize, __u64 now)
{
	union lpm_key cur, next, *dead = NULL, *tmp;
	size_t n = 0, cap = 0, i;
	struct gw_rule rule;
	int err = 0, removed = 0;
	void *prev = NULL;

	if (fd < 0)
		return -EBADF;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &rule))
			continue;	/* deleted meanwhile */
		if (!rule.expires_ns || rule.expires_ns > now)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(dead, cap * sizeof(*dead));
			if (!tmp) {
				err = -ENOMEM;
				goto out;
			}
			dead = tmp;
		}
		memset(&dead[n], 0, sizeof(dead[n]));
		memcpy(&dead[n], &cur, ksize);
		n++;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!bpf_map_delete_elem(fd, &dead[i]))
			removed++;
		else if (errno != ENOENT)
			pr_warn("filter: cannot delete an expired ban: %s\n", strerror(errno));
	}
	err = removed;
out:
	free(dead);
	return err;
}

int gw_ban_gc(const struct gw_filter_maps *m)
{
	__u64 now = gw_now_ns();
	int n4, n6;

	n4 = ban_gc_one(m->ban_v4, sizeof(struct gw_lpm_v4_key), now);
	if (n4 < 0)
		return n4;
	n6 = ban_gc_one(m->ban_v6, sizeof(struct gw_lpm_v6_key), now);
	if (n6 < 0)
		return n6;
	gw_ban_sync(m);	/* a failure only leaves the tries looked up */
	return n4 + n6;
}

/* Calls fn for every entry of one trie. Returns 0, fn's non-zero value, or
 * a negative errno. */
static int foreach_one(int fd, int v6, int is_ban,
		       int (*fn)(const struct gw_filter_entry *e, void *arg), void *arg)
{
	union lpm_key cur, next;
	struct gw_filter_entry e;
	void *prev = NULL;
	int ret;

	if (fd < 0)
		return -EBADF;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		memset(&e, 0, sizeof(e));
		if (bpf_map_lookup_elem(fd, &cur, &e.rule))
			continue;
		if (v6) {
			e.cidr.ip.family = GW_FAMILY_V6;
			memcpy(e.cidr.ip.addr, cur.v6.addr, sizeof(cur.v6.addr));
			e.cidr.prefixlen = (__u8)cur.v6.prefixlen;
		} else {
			e.cidr.ip.family = GW_FAMILY_V4;
			e.cidr.ip.addr[0] = cur.v4.addr;
			e.cidr.prefixlen = (__u8)cur.v4.prefixlen;
		}
		e.is_ban = is_ban;
		ret = fn(&e, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

int gw_filter_foreach(const struct gw_filter_maps *m,
		      int (*fn)(const struct gw_filter_entry *e, void *arg), void *arg)
{
	int ret;

	ret = foreach_one(m->v4, 0, 0, fn, arg);
	if (!ret)
		ret = foreach_one(m->ban_v4, 0, 1, fn, arg);
	if (!ret)
		ret = foreach_one(m->v6, 1, 0, fn, arg);
	if (!ret)
		ret = foreach_one(m->ban_v6, 1, 1, fn, arg);
	return ret;
}
