// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-route address rules (iprule.h): the prefixes sorted longest first,
 * allow before deny at one length, so the first that holds an address
 * decides. A route has at most GW_CFG_ROUTE_IPS_MAX of each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gw/abi.h"
#include "l7/iprule.h"

struct entry {
	struct gw_cidr c;
	int allow;
};

struct gw_iprule {
	struct entry *e;
	size_t n;
	int default_allow;
};

/* Longest prefix first; allow before deny at one length. */
static int entry_order(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	if (a->c.prefixlen != b->c.prefixlen)
		return a->c.prefixlen > b->c.prefixlen ? -1 : 1;
	return b->allow - a->allow;
}

int gw_iprule_new(const struct gw_cidr *allow, size_t n_allow, const struct gw_cidr *deny,
		  size_t n_deny, struct gw_iprule **out)
{
	struct gw_iprule *r;
	size_t i;

	*out = NULL;
	if (!n_allow && !n_deny)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->e = calloc(n_allow + n_deny, sizeof(*r->e));
	if (!r->e) {
		free(r);
		return -ENOMEM;
	}
	for (i = 0; i < n_allow; i++)
		r->e[r->n++] = (struct entry){ allow[i], 1 };
	for (i = 0; i < n_deny; i++)
		r->e[r->n++] = (struct entry){ deny[i], 0 };
	qsort(r->e, r->n, sizeof(*r->e), entry_order);
	r->default_allow = !n_allow;
	*out = r;
	return 0;
}

void gw_iprule_free(struct gw_iprule *r)
{
	if (!r)
		return;
	free(r->e);
	free(r);
}

/* 1 when prefix c holds ip (of c's family). */
static int holds(const struct gw_cidr *c, const struct gw_ip *ip)
{
	unsigned int words = c->prefixlen / 32, bits = c->prefixlen % 32, i;
	__u32 mask;

	if (c->ip.family != ip->family)
		return 0;
	for (i = 0; i < words; i++)
		if (c->ip.addr[i] != ip->addr[i])
			return 0;
	if (!bits)
		return 1;
	mask = htonl(~0u << (32 - bits));
	return !((c->ip.addr[words] ^ ip->addr[words]) & mask);
}

int gw_iprule_allows(const struct gw_iprule *r, const struct gw_ip *ip)
{
	struct gw_ip v4;
	size_t i;

	if (!r)
		return 1;
	if (ip->family == GW_FAMILY_V6 && !ip->addr[0] && !ip->addr[1] &&
	    ip->addr[2] == htonl(0xffff)) {
		memset(&v4, 0, sizeof(v4));
		v4.family = GW_FAMILY_V4;
		v4.addr[0] = ip->addr[3];
		ip = &v4;
	}
	for (i = 0; i < r->n; i++)
		if (holds(&r->e[i].c, ip))
			return r->e[i].allow;
	return r->default_allow;
}
