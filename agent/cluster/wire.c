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
