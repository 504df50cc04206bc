/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-route client address rules (`ip_allow`, `ip_deny`): checked after
 * the route matched, so after the XDP filter let the packets through. The
 * longest prefix that holds the client's address decides, allow winning a
 * tie (as in the XDP filter); an address no prefix holds is refused when
 * the route has an ip_allow list, else let through. IPv4-mapped IPv6
 * addresses (a dual-stack listener's v4 clients) count as IPv4.
 */
#ifndef GW_IPRULE_H
#define GW_IPRULE_H

#include <stddef.h>

#include "core/addr.h"

struct gw_iprule;

/* Compiles the lists (either may be empty; both empty gives *out NULL:
 * no rule). Returns 0 or -ENOMEM. */
int gw_iprule_new(const struct gw_cidr *allow, size_t n_allow, const struct gw_cidr *deny,
		  size_t n_deny, struct gw_iprule **out);

void gw_iprule_free(struct gw_iprule *r);

/* Returns 1 when rule r (NULL: none) lets address ip through, else 0. */
int gw_iprule_allows(const struct gw_iprule *r, const struct gw_ip *ip);

#endif /* GW_IPRULE_H */
