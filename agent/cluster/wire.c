// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The values nodes leave in Redis (wire.h). */
#include <errno.h>
#include <string.h>

#include "cluster/wire.h"

int gw_cluster_node_name_ok(const char *name, size_t len)
{
	size_t i;

	if (!len || len > GW_CLUSTER_NODE_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

int gw_cluster_ban_member_parse(const char *m, size_t len, struct gw_cidr *prefix, char *node)
{
	const char *sp = memchr(m, ' ', len);
	char addr[GW_ADDR_STRLEN];
	size_t alen, nlen;

	if (!sp)
		return -EINVAL;
	alen = (size_t)(sp - m);
	nlen = len - alen - 1;
	if (!alen || alen >= sizeof(addr) || !gw_cluster_node_name_ok(sp + 1, nlen) ||
	    memchr(m, '\0', alen))
		return -EINVAL;
	memcpy(addr, m, alen);
	addr[alen] = '\0';
	if (gw_cidr_parse(addr, prefix))
		return -EINVAL;
	memcpy(node, sp + 1, nlen);
	node[nlen] = '\0';
	return 0;
}

/* Reads a decimal number of at most 19 digits ending at a space or the
 * end. Returns the bytes read (0: none, or too long). */
static size_t read_u64(const char *s, size_t len, __u64 *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 19)
			return 0;
		*v = *v * 10 + (__u64)(s[i] - '0');
	}
	return i < len && s[i] != ' ' ? 0 : i;
}

int gw_cluster_node_value_parse(const char *v, size_t len, __u64 *ms, unsigned int *generation,
				char *hash)
{
	size_t n = read_u64(v, len, ms), i;
	__u64 gen;

	if (!n || n + 1 >= len)
		return -EINVAL;
	v += n + 1;
	len -= n + 1;
	n = read_u64(v, len, &gen);
	if (!n || gen > 0xffffffffu || n + 1 >= len)
		return -EINVAL;
	v += n + 1;
	len -= n + 1;
	if (len == 1 && v[0] == '-') {
		strcpy(hash, "-");
	} else {
		if (len != GW_CLUSTER_HASH_HEX - 1)
			return -EINVAL;
		for (i = 0; i < len; i++)
			if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
				return -EINVAL;
		memcpy(hash, v, len);
		hash[len] = '\0';
	}
	*generation = (unsigned int)gen;
	return 0;
}

/* Appends n bytes of b to *pp as hex. */
static void hex_put(char **pp, const void *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *u = b;
	size_t i;

	for (i = 0; i < n; i++) {
		*(*pp)++ = digits[u[i] >> 4];
		*(*pp)++ = digits[u[i] & 15];
	}
}

size_t gw_cluster_nat_encode(const struct gw_nat_share *v, size_t n, char *buf)
{
	char *p = buf;
	size_t i;

	for (i = 0; i < n; i++) {
		hex_put(&p, &v[i].family, 1);
		hex_put(&p, &v[i].proto, 1);
		hex_put(&p, v[i].client, 16);
		hex_put(&p, &v[i].client_port, 2);
		hex_put(&p, v[i].vip, 16);
		hex_put(&p, &v[i].vip_port, 2);
		hex_put(&p, v[i].backend, 16);
		hex_put(&p, &v[i].backend_port, 2);
		hex_put(&p, v[i].nat, 16);
		hex_put(&p, &v[i].nat_port, 2);
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* The value of a lowercase hex digit, or -1. */
static int hex_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Reads n bytes of hex from *pp into b. Returns 0 or -EINVAL. */
static int hex_get(const char **pp, void *b, size_t n)
{
	unsigned char *u = b;
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hex_val((*pp)[0]), lo = hex_val((*pp)[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[i] = (unsigned char)(hi << 4 | lo);
		*pp += 2;
	}
	return 0;
}

/* 1 when addr is a valid address of family (IPv4: words 1..3 zero). */
static int nat_addr_ok(__u8 family, const __be32 *addr)
{
	return family == 6 || !(addr[1] | addr[2] | addr[3]);
}

/* Reads one flow of GW_CLUSTER_NAT_HEX bytes at p. Returns 0 or -EINVAL. */
static int nat_parse_one(const char *p, struct gw_nat_share *s)
{
	memset(s, 0, sizeof(*s));
	if (hex_get(&p, &s->family, 1) || hex_get(&p, &s->proto, 1) ||
	    hex_get(&p, s->client, 16) || hex_get(&p, &s->client_port, 2) ||
	    hex_get(&p, s->vip, 16) || hex_get(&p, &s->vip_port, 2) ||
	    hex_get(&p, s->backend, 16) || hex_get(&p, &s->backend_port, 2) ||
	    hex_get(&p, s->nat, 16) || hex_get(&p, &s->nat_port, 2))
		return -EINVAL;
	if ((s->family != 4 && s->family != 6) || (s->proto != 6 && s->proto != 17) ||
	    !s->client_port || !s->vip_port || !s->backend_port || !s->nat_port ||
	    !nat_addr_ok(s->family, s->client) || !nat_addr_ok(s->family, s->vip) ||
	    !nat_addr_ok(s->family, s->backend) || !nat_addr_ok(s->family, s->nat))
		return -EINVAL;
	return 0;
}

int gw_cluster_nat_parse(const char *hex, size_t len, struct gw_nat_share *v, size_t max)
{
	size_t n = len / GW_CLUSTER_NAT_HEX, i;

	if (len % GW_CLUSTER_NAT_HEX || n > max || n > 0x7fffffff)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (nat_parse_one(hex + i * GW_CLUSTER_NAT_HEX, &v[i]))
			return -EINVAL;
	return (int)n;
}
