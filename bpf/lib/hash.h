/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow hash of the L4 service datapath: Bob Jenkins' lookup3 mixing over the
 * 5-tuple. The same function runs at both hooks, so a flow picks the same
 * Maglev slot (and the same first NAT port) wherever it is seen.
 */
#ifndef GW_BPF_HASH_H
#define GW_BPF_HASH_H

#include <linux/types.h>
#include "gw/abi.h"

#define GW_HASH_SEED 0x9e3779b9u

static __always_inline __u32 gw_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

#define GW_HASH_MIX(a, b, c)                                    \
	do {                                                    \
		a -= c; a ^= gw_rol32(c, 4);  c += b;           \
		b -= a; b ^= gw_rol32(a, 6);  a += c;           \
		c -= b; c ^= gw_rol32(b, 8);  b += a;           \
		a -= c; a ^= gw_rol32(c, 16); c += b;           \
		b -= a; b ^= gw_rol32(a, 19); a += c;           \
		c -= b; c ^= gw_rol32(b, 4);  b += a;           \
	} while (0)

#define GW_HASH_FINAL(a, b, c)                                  \
	do {                                                    \
		c ^= b; c -= gw_rol32(b, 14);                   \
		a ^= c; a -= gw_rol32(c, 11);                   \
		b ^= a; b -= gw_rol32(a, 25);                   \
		c ^= b; c -= gw_rol32(b, 16);                   \
		a ^= c; a -= gw_rol32(c, 4);                    \
		b ^= a; b -= gw_rol32(a, 14);                   \
		c ^= b; c -= gw_rol32(b, 24);                   \
	} while (0)

/* Returns the 32-bit hash of a flow's addresses, ports and protocol. */
static __always_inline __u32 gw_flow_hash(const struct gw_flow *f)
{
	__u32 ports = ((__u32)f->sport << 16) | f->dport;
	__u32 a, b, c;

	a = b = c = GW_HASH_SEED + f->proto;
	if (f->family == GW_FAMILY_V4) {
		a += f->saddr[0];
		b += f->daddr[0];
		c += ports;
		GW_HASH_FINAL(a, b, c);
		return c;
	}
	a += f->saddr[0];
	b += f->saddr[1];
	c += f->saddr[2];
	GW_HASH_MIX(a, b, c);
	a += f->saddr[3];
	b += f->daddr[0];
	c += f->daddr[1];
	GW_HASH_MIX(a, b, c);
	a += f->daddr[2];
	b += f->daddr[3];
	c += ports;
	GW_HASH_FINAL(a, b, c);
	return c;
}

#endif /* GW_BPF_HASH_H */
