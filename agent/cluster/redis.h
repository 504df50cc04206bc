/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small Redis client for the cluster thread: its own socket (TCP or unix,
 * optionally TLS through OpenSSL) and hiredis for the protocol (the
 * command formatter and the reply reader). Every exchange has a deadline,
 * `timeout` from its start: a slow or silent Redis makes the call fail
 * with -ETIMEDOUT and the connection unusable (close it and connect
 * again). Blocking within that deadline: use it from a thread of its own,
 * never from an event loop. Not thread-safe.
 */
#ifndef GW_CLUSTER_REDIS_H
#define GW_CLUSTER_REDIS_H

#include <stddef.h>
#include <linux/types.h>
#include <hiredis/hiredis.h>

#include "config/redisaddr.h"

struct gw_redis;

struct gw_redis_opts {
	struct gw_redis_addr addr;
	__u64 timeout_ns;
	const char *password;	/* NULL: no AUTH */
	int tls;
	const char *ca;		/* NULL: the system's CA store */
	const char *server_name;	/* NULL: no name check (the peer's chain only) */
};

/* Connects (and authenticates) within the timeout. Returns 0 and *out, or
 * -errno (-ETIMEDOUT, -ECONNREFUSED, -EACCES for a refused password,
 * -EPROTO for a TLS failure). */
int gw_redis_connect(const struct gw_redis_opts *o, struct gw_redis **out);
void gw_redis_close(struct gw_redis *r);

/*
 * Sends n commands (argv vectors, each argc[i] strings of lens[i] bytes;
 * lens NULL: NUL-terminated) in one write and reads their n replies into
 * replies[] (free each with freeReplyObject). Returns 0, or -errno with no
 * reply kept (-ETIMEDOUT past the deadline, -EPROTO on a protocol error,
 * -EPIPE when the connection is closed).
 */
int gw_redis_pipeline(struct gw_redis *r, size_t n, const int *argc, const char **const *argv,
		      redisReply **replies);

/* One command; reply as gw_redis_pipeline. Returns 0 or -errno. */
int gw_redis_cmd(struct gw_redis *r, redisReply **reply, int argc, const char **argv);

/* Reads a password file: its first line, without the line end. Returns 0
 * and a string to free in *out, or -errno. */
int gw_redis_read_password(const char *path, char **out);

#endif /* GW_CLUSTER_REDIS_H */
