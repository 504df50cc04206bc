/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cluster.redis.address: "IP:PORT", "[IPv6]:PORT" or "unix:/PATH". One
 * parser for --check and for the cluster client.
 */
#ifndef GW_REDISADDR_H
#define GW_REDISADDR_H

#include <stddef.h>
#include "core/addr.h"

#define GW_REDIS_PATH_MAX 108	/* sun_path */

struct gw_redis_addr {
	int is_unix;
	struct gw_endpoint ep;		/* TCP */
	char path[GW_REDIS_PATH_MAX];	/* unix: NUL-terminated */
};

/* Parses s into *a. Returns 0, or -EINVAL with why in msg (msglen bytes). */
int gw_redis_addr_parse(const char *s, struct gw_redis_addr *a, char *msg, size_t msglen);

#endif /* GW_REDISADDR_H */
