// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What nodes read back from Redis (agent/cluster/wire.c): the input is
 * taken as a gw:bans member, as a gw:nodes value and as the flows of a
 * gw:nat entry. Checks: an accepted member's prefix prints and parses back
 * to itself and its node is a valid name; an accepted value's hash is "-"
 * or 16 hex digits; accepted flows encode back to the very input.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "cluster/wire.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	gw_log_set_level((enum gw_log_level)0);
	return 0;
}

/* The input as the flows of a gw:nat entry. */
static void fuzz_nat(const char *data, size_t size)
{
	static struct gw_nat_share v[4096 / GW_CLUSTER_NAT_HEX];
	static char back[4096 + 1];
	int n = gw_cluster_nat_parse(data, size, v, sizeof(v) / sizeof(v[0]));

	FZ_CHECK(n >= 0 || n == -EINVAL);
	if (n < 0)
		return;
	FZ_CHECK((size_t)n * GW_CLUSTER_NAT_HEX == size);
	FZ_CHECK(gw_cluster_nat_encode(v, (size_t)n, back) == size);
	FZ_CHECK(!memcmp(back, data, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char node[GW_CLUSTER_NODE_MAX + 1], hash[GW_CLUSTER_HASH_HEX], buf[GW_ADDR_STRLEN];
	struct gw_cidr c, back;
	unsigned int gen;
	__u64 ms;
	int rc;

	if (size > 4096)
		return 0;
	rc = gw_cluster_ban_member_parse((const char *)data, size, &c, node);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (!rc) {
		FZ_CHECK(gw_cluster_node_name_ok(node, strlen(node)));
		gw_cidr_str(&c, buf, sizeof(buf));
		FZ_CHECK(gw_cidr_parse(buf, &back) == 0);
		FZ_CHECK(back.prefixlen == c.prefixlen && gw_ip_equal(&back.ip, &c.ip));
	}
	fuzz_nat((const char *)data, size);
	rc = gw_cluster_node_value_parse((const char *)data, size, &ms, &gen, hash);
	FZ_CHECK(rc == 0 || rc == -EINVAL);
	if (!rc)
		FZ_CHECK(!strcmp(hash, "-") || strspn(hash, "0123456789abcdef") == 16);
	return 0;
}
