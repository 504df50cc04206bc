// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cluster.redis.address (redisaddr.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/redisaddr.h"

int gw_redis_addr_parse(const char *s, struct gw_redis_addr *a, char *msg, size_t msglen)
{
	memset(a, 0, sizeof(*a));
	if (!strncmp(s, "unix:", 5)) {
		const char *p = s + 5;

		if (p[0] != '/' || strlen(p) >= sizeof(a->path)) {
			snprintf(msg, msglen, "'%s': a unix socket needs an absolute path shorter "
				 "than %d bytes", s, GW_REDIS_PATH_MAX);
			return -EINVAL;
		}
		a->is_unix = 1;
		snprintf(a->path, sizeof(a->path), "%s", p);
		return 0;
	}
	if (gw_endpoint_parse_msg(s, &a->ep, msg, msglen))
		return -EINVAL;
	if (!a->ep.port) {
		snprintf(msg, msglen, "'%s': the port must not be 0", s);
		return -EINVAL;
	}
	return 0;
}
