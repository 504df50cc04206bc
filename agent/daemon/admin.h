/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's admin socket and the commands behind it (docs/admin-protocol.md).
 *
 * A request is one line of JSON, {"cmd":"filter.deny.add","args":{...}};
 * the answer is one line, {"ok":true,"data":...} or {"ok":false,"error":
 * "..."}. gw_admin_exec runs a command on a set of map descriptors, so the
 * agent (its loaded datapath) and gwctl (the pins, when no agent answers)
 * share every command. The server side (gw_admin_open and friends) is one
 * listening socket and its clients behind one epoll descriptor that gwd
 * polls in its own loop; only root and members of group "gw" are served
 * (SO_PEERCRED).
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stddef.h>
#include <jansson.h>
#include "config/config.h"
#include "dp/dp.h"
#include "core/health.h"

#define GW_ADMIN_SOCKET_DEFAULT "/run/gw/gwd.sock"
#define GW_ADMIN_GROUP "gw"
#define GW_ADMIN_LINE_MAX (64 * 1024)	/* longest request line */
#define GW_ADMIN_MAX_CLIENTS 16
#define GW_ADMIN_NO_L7 "not available: gwd serves no L7 listeners"
#define GW_ADMIN_OUT_MAX (16 * 1024 * 1024)	/* largest queued answer */

struct gw_l7;

/* What a command works on. */
struct gw_admin_ctx {
	const struct gw_dp_maps *maps;
	const char *pin_root;
	const struct gw_cfg *cfg;	/* the running config; NULL without an agent */
	const char *config_path;	/* NULL without an agent */
	unsigned int generation;	/* the agent's config generation */
	/* Re-reads the config file and applies it; returns 0 or -errno, with
	 * what went wrong in msg (len bytes; may stay empty). NULL without an
	 * agent. */
	int (*reload)(void *arg, char *msg, size_t len);
	/* After a live backend change, so that health checks follow it. NULL
	 * without an agent. */
	void (*backends_changed)(void *arg);
	/* The health of backend be of service svc: -1 when unchecked, else a
	 * gw_health_state with *info filled. NULL without an agent (the
	 * backends' down marks are shown then). */
	int (*backend_health)(void *arg, const struct gw_svc_key *svc,
			      const struct gw_endpoint *be, struct gw_health_info *info);
	void *arg;
	struct gw_l7 *l7;		/* the L7 runtime; NULL when not running */
};

/* Runs command `cmd` with `args` (a JSON object or NULL). Returns a new
 * response object ({"ok":...}); NULL only when out of memory. */
json_t *gw_admin_exec(const struct gw_admin_ctx *ctx, const char *cmd, json_t *args);

/* Parses one request line and runs it. Returns a new response object, NULL
 * only when out of memory. */
json_t *gw_admin_exec_line(const struct gw_admin_ctx *ctx, const char *line, size_t len);

struct gw_admin;

/* Listens on the unix socket `path` (NULL: the default): creates its
 * directory, replaces a stale socket (an answering one is -EADDRINUSE),
 * mode 0660, group "gw" when that group exists. Returns 0 or -errno. */
int gw_admin_open(const char *path, struct gw_admin **a);

/* The descriptor to poll for input (an epoll descriptor of its own). */
int gw_admin_fd(const struct gw_admin *a);

/* Accepts, reads, answers and closes whatever is ready, without blocking.
 * Returns 0 or a negative errno. */
int gw_admin_process(struct gw_admin *a, const struct gw_admin_ctx *ctx);

/* Closes every client and the socket and removes its path. */
void gw_admin_close(struct gw_admin *a);

/* 1 if a peer with these credentials may issue commands (uid 0, or group
 * "gw" primary or supplementary in /proc/PID/status), 0 if not. The server
 * reads the supplementary groups with SO_PEERGROUPS (fixed at connect
 * time) and uses this only on kernels without it. */
int gw_admin_peer_allowed(pid_t pid, uid_t uid, gid_t gid);

#endif /* GW_ADMIN_H */
