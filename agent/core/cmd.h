/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The admin protocol's commands (docs/admin-protocol.md): a request is one
 * line of JSON, {"cmd":"filter.deny.add","args":{...}}; the answer is one
 * line, {"ok":true,"data":...} or {"ok":false,"error":"..."}.
 *
 * Each part registers its own verbs as a table (dp/dp_cmds.h: the
 * datapath's, runtime/l7_cmds.h: the L7 runtime's, daemon/admin.h: gwd's
 * own), each with the context its verbs work on; gw_cmd_exec looks a
 * command up in the tables it is given. So gwd serves every table on its
 * socket, and gwctl runs the datapath's on the pinned maps when no agent
 * answers, linking nothing of the L7 parts.
 */
#ifndef GW_CORE_CMD_H
#define GW_CORE_CMD_H

#include <stddef.h>
#include <jansson.h>

#define GW_ADMIN_SOCKET_DEFAULT "/run/gw/gwd.sock"
#define GW_ADMIN_GROUP "gw"
#define GW_ADMIN_LINE_MAX (64 * 1024)	/* longest request line */

/* One command being run. */
struct gw_cmd_call {
	const void *ctx;		/* the table's context */
	json_t *args;			/* a JSON object, or NULL */
	char err[512];			/* the message of a failure */
};

/* A verb: fills *out (NULL answers null) and returns 0, or returns -errno
 * with the message in c->err (strerror when left empty). */
struct gw_cmd {
	const char *name;
	int (*fn)(struct gw_cmd_call *c, json_t **out);
};

/* A part's verbs and what they work on. */
struct gw_cmd_table {
	const struct gw_cmd *cmds;
	size_t n;
	const void *ctx;
};

/* Runs command `cmd` with `args` (a JSON object or NULL) from the first of
 * the n tables that has it. Returns a new response object ({"ok":...});
 * NULL only when out of memory. */
json_t *gw_cmd_exec(const struct gw_cmd_table *t, size_t n, const char *cmd, json_t *args);

/* Parses one request line and runs it. Returns a new response object,
 * NULL only when out of memory. */
json_t *gw_cmd_exec_line(const struct gw_cmd_table *t, size_t n, const char *line, size_t len);

/* A failure answer, {"ok":false,"error":msg}; when msg is not UTF-8 (it
 * quotes a client's bytes), its bytes above 0x7f become '?' (at most 511
 * bytes kept). Returns it (NULL only when out of memory). */
json_t *gw_cmd_error(const char *msg);

/* Records the error message of a command. Returns err. */
int gw_cmd_fail(struct gw_cmd_call *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The string argument `key`. Returns it, or NULL when absent or not a
 * string. */
const char *gw_cmd_arg_str(struct gw_cmd_call *c, const char *key);

/* A non-negative integer argument (a JSON integer or a decimal string) of
 * at most max. Returns 0 (absent: *v untouched, *present 0) or -EINVAL. */
int gw_cmd_arg_uint(struct gw_cmd_call *c, const char *key, unsigned long long max,
		    unsigned long long *v, int *present);

/* Sets o[key] to v (stolen). Returns 0 or -ENOMEM. */
int gw_cmd_json_add(json_t *o, const char *key, json_t *v);

#endif /* GW_CORE_CMD_H */
