/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Addresses, prefixes and endpoints as gw's config and CLI write them. */
#ifndef GW_ADDR_H
#define GW_ADDR_H

#include <stddef.h>
#include <linux/types.h>

/* An IPv4 or IPv6 address in the ABI's layout: v4 in addr[0], rest zero. */
struct gw_ip {
	__u8 family;		/* GW_FAMILY_V4 | GW_FAMILY_V6 */
	__be32 addr[4];
};

struct gw_cidr {
	struct gw_ip ip;
	__u8 prefixlen;
};

struct gw_endpoint {
	struct gw_ip ip;
	__u16 port;		/* host order */
};

#define GW_ADDR_STRLEN 64	/* "[v6]:port" and "v6/len" fit */

/* "192.0.2.1" or "2001:db8::1". Returns 0 or -EINVAL. */
int gw_ip_parse(const char *s, struct gw_ip *ip);

/* "192.0.2.0/24", "2001:db8::/32"; a bare address is /32 or /128. Host bits
 * beyond the prefix are an error (-EINVAL), not silently cleared. */
int gw_cidr_parse(const char *s, struct gw_cidr *c);

/* "192.0.2.1:80" or "[2001:db8::1]:80"; port 1-65535 required. */
int gw_endpoint_parse(const char *s, struct gw_endpoint *e);

/* The same three, writing what is wrong with s into msg (msglen bytes, may
 * be NULL) for config and CLI errors. Return 0 or -EINVAL. */
int gw_ip_parse_msg(const char *s, struct gw_ip *ip, char *msg, size_t msglen);
int gw_cidr_parse_msg(const char *s, struct gw_cidr *c, char *msg, size_t msglen);
int gw_endpoint_parse_msg(const char *s, struct gw_endpoint *e, char *msg, size_t msglen);

/* Text forms; return buf. */
const char *gw_ip_str(const struct gw_ip *ip, char *buf, size_t len);
const char *gw_cidr_str(const struct gw_cidr *c, char *buf, size_t len);
const char *gw_endpoint_str(const struct gw_endpoint *e, char *buf, size_t len);

/* 1 if the two addresses are equal (same family and bytes). */
int gw_ip_equal(const struct gw_ip *a, const struct gw_ip *b);

#endif /* GW_ADDR_H */
