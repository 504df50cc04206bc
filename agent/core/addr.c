// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses, prefixes and endpoints as gw's config and CLI write them.
 * Parsing is strict: no whitespace, no zone ids, no leading zeros in
 * prefix lengths or ports, no host bits beyond a prefix. The *_msg variants
 * say what is wrong in words a config error can quote.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw/abi.h"
#include "core/addr.h"

/* Formats an error message into msg when the caller asked for one. */
static void set_msg(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
}

/* Parses a plain decimal number of at most `max`: digits only, no sign, no
 * leading zero (except "0"). Returns 0 or -EINVAL. */
static int parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!n || n > 10 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses exactly n bytes of s as an address. Returns 0 or -EINVAL. */
static int ip_parse_n(const char *s, size_t n, struct gw_ip *ip, char *msg, size_t msglen)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	memset(ip, 0, sizeof(*ip));
	if (!n) {
		set_msg(msg, msglen, "empty address");
		return -EINVAL;
	}
	if (n >= sizeof(tmp)) {
		set_msg(msg, msglen, "'%.*s...' is too long for an IP address", 16, s);
		return -EINVAL;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strchr(tmp, ':')) {
		if (inet_pton(AF_INET6, tmp, ip->addr) == 1) {
			ip->family = GW_FAMILY_V6;
			return 0;
		}
		set_msg(msg, msglen, "'%s' is not an IPv6 address%s", tmp,
			strchr(tmp, '%') ? " (zone ids are not supported)" : "");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, tmp, ip->addr) == 1) {
		ip->family = GW_FAMILY_V4;
		return 0;
	}
	set_msg(msg, msglen, "'%s' is not an IPv4 address (dotted quad, no leading zeros)", tmp);
	return -EINVAL;
}

int gw_ip_parse_msg(const char *s, struct gw_ip *ip, char *msg, size_t msglen)
{
	if (!s) {
		set_msg(msg, msglen, "no address");
		return -EINVAL;
	}
	return ip_parse_n(s, strlen(s), ip, msg, msglen);
}

int gw_ip_parse(const char *s, struct gw_ip *ip)
{
	return gw_ip_parse_msg(s, ip, NULL, 0);
}

/* Clears the bits of ip beyond prefixlen into net; returns 1 if any was set. */
static int mask_host_bits(const struct gw_ip *ip, unsigned int prefixlen, struct gw_ip *net)
{
	int changed = 0;
	unsigned int i;

	*net = *ip;
	for (i = 0; i < 4; i++) {
		unsigned int b = prefixlen > 32 * i ? prefixlen - 32 * i : 0;
		__u32 mask = b >= 32 ? 0xffffffffu : b ? ~0u << (32 - b) : 0;
		__be32 m = htonl(mask);

		if (ip->addr[i] & ~m)
			changed = 1;
		net->addr[i] = ip->addr[i] & m;
	}
	return changed;
}

int gw_cidr_parse_msg(const char *s, struct gw_cidr *c, char *msg, size_t msglen)
{
	const char *slash;
	unsigned long len;
	unsigned int max;
	struct gw_ip net;
	char buf[GW_ADDR_STRLEN];
	int err;

	memset(c, 0, sizeof(*c));
	if (!s) {
		set_msg(msg, msglen, "no prefix");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	err = ip_parse_n(s, slash ? (size_t)(slash - s) : strlen(s), &c->ip, msg, msglen);
	if (err)
		return err;
	max = c->ip.family == GW_FAMILY_V4 ? 32 : 128;
	if (!slash) {
		c->prefixlen = (__u8)max;
		return 0;
	}
	if (parse_uint(slash + 1, strlen(slash + 1), max, &len)) {
		set_msg(msg, msglen, "'%s': prefix length must be a number from 0 to %u", s, max);
		memset(c, 0, sizeof(*c));
		return -EINVAL;
	}
	if (mask_host_bits(&c->ip, (unsigned int)len, &net)) {
		struct gw_cidr want = { .ip = net, .prefixlen = (__u8)len };

		set_msg(msg, msglen, "'%s' has host bits set beyond /%lu (the network is %s)", s,
			len, gw_cidr_str(&want, buf, sizeof(buf)));
		memset(c, 0, sizeof(*c));
		return -EINVAL;
	}
	c->prefixlen = (__u8)len;
	return 0;
}

int gw_cidr_parse(const char *s, struct gw_cidr *c)
{
	return gw_cidr_parse_msg(s, c, NULL, 0);
}

int gw_endpoint_parse_msg(const char *s, struct gw_endpoint *e, char *msg, size_t msglen)
{
	const char *host, *colon, *port;
	unsigned long p;
	size_t hlen;
	int err;

	memset(e, 0, sizeof(*e));
	if (!s) {
		set_msg(msg, msglen, "no endpoint");
		return -EINVAL;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			set_msg(msg, msglen, "'%s': expected [IPv6]:PORT", s);
			return -EINVAL;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		port = close + 2;
		err = ip_parse_n(host, hlen, &e->ip, msg, msglen);
		if (!err && e->ip.family != GW_FAMILY_V6) {
			set_msg(msg, msglen, "'%s': brackets are for IPv6 addresses only", s);
			err = -EINVAL;
		}
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			set_msg(msg, msglen, "'%s': expected ADDRESS:PORT", s);
			return -EINVAL;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			set_msg(msg, msglen, "'%s': write IPv6 endpoints as [ADDRESS]:PORT", s);
			return -EINVAL;
		}
		host = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
		err = ip_parse_n(host, hlen, &e->ip, msg, msglen);
	}
	if (err)
		goto out;
	if (parse_uint(port, strlen(port), 65535, &p) || p == 0) {
		set_msg(msg, msglen, "'%s': port must be a number from 1 to 65535", s);
		err = -EINVAL;
		goto out;
	}
	e->port = (__u16)p;
out:
	if (err)
		memset(e, 0, sizeof(*e));
	return err;
}

int gw_endpoint_parse(const char *s, struct gw_endpoint *e)
{
	return gw_endpoint_parse_msg(s, e, NULL, 0);
}

const char *gw_ip_str(const struct gw_ip *ip, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	const char *r = NULL;

	if (ip->family == GW_FAMILY_V4)
		r = inet_ntop(AF_INET, ip->addr, tmp, sizeof(tmp));
	else if (ip->family == GW_FAMILY_V6)
		r = inet_ntop(AF_INET6, ip->addr, tmp, sizeof(tmp));
	snprintf(buf, len, "%s", r ? r : "?");
	return buf;
}

const char *gw_cidr_str(const struct gw_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", gw_ip_str(&c->ip, a, sizeof(a)), c->prefixlen);
	return buf;
}

const char *gw_endpoint_str(const struct gw_endpoint *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	gw_ip_str(&e->ip, a, sizeof(a));
	if (e->ip.family == GW_FAMILY_V6)
		snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		snprintf(buf, len, "%s:%u", a, e->port);
	return buf;
}

int gw_ip_equal(const struct gw_ip *a, const struct gw_ip *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == GW_FAMILY_V4)
		return a->addr[0] == b->addr[0];
	return !memcmp(a->addr, b->addr, sizeof(a->addr));
}
