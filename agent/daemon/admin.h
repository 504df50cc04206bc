/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's admin socket (docs/admin-protocol.md): one listening socket and
 * its clients behind one epoll descriptor that gwd polls in its own loop;
 * only root and members of group "gw" are served (SO_PEERCRED). Each line
 * is run through the verb tables the parts register (core/cmd.h); gwd's
 * own verb, reload, is here.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stddef.h>
#include "core/cmd.h"

#define GW_ADMIN_MAX_CLIENTS 16
#define GW_ADMIN_PER_UID 8		/* open clients of one user */
#define GW_ADMIN_IDLE_NS (60ull * 1000000000ull)	/* a silent client is closed */
#define GW_ADMIN_OUT_MAX (16 * 1024 * 1024)	/* largest queued answer */

/* What gwd's own verbs (reload) work on. */
struct gw_admin_ctx {
	const char *config_path;
	unsigned int generation;	/* the config generation now */
	/* Re-reads the config file and applies it; returns 0 or -errno, with
	 * what went wrong in msg (len bytes; may stay empty). */
	int (*reload)(void *arg, char *msg, size_t len);
	void *arg;
};

/* gwd's own verbs on ctx (which must outlive the table's use). Returns the
 * table. */
struct gw_cmd_table gw_admin_cmd_table(const struct gw_admin_ctx *ctx);

struct gw_admin;

/* Listens on the unix socket `path` (NULL: the default): creates its
 * directory, replaces a stale socket (an answering one is -EADDRINUSE),
 * mode 0660, group "gw" when that group exists. Returns 0 or -errno. */
int gw_admin_open(const char *path, struct gw_admin **a);

/* The descriptor to poll for input (an epoll descriptor of its own). */
int gw_admin_fd(const struct gw_admin *a);

/* Accepts, reads, answers (with the n_t verb tables t) and closes whatever
 * is ready, without blocking. Returns 0 or a negative errno. */
int gw_admin_process(struct gw_admin *a, const struct gw_cmd_table *t, size_t n_t);

/* Once a second (gwd's housekeeping): closes the clients idle for
 * GW_ADMIN_IDLE_NS. A new client finds room as well when the table is full:
 * a client idle for a second gives its slot up, and one user holds at most
 * GW_ADMIN_PER_UID clients, so idle connections cannot lock gwctl out. */
void gw_admin_tick(struct gw_admin *a);

/* Closes every client and the socket and removes its path. */
void gw_admin_close(struct gw_admin *a);

/* 1 if a peer with these credentials may issue commands (uid 0, or group
 * "gw" primary or supplementary in /proc/PID/status), 0 if not. The server
 * reads the supplementary groups with SO_PEERGROUPS (fixed at connect
 * time) and uses this only on kernels without it. */
int gw_admin_peer_allowed(pid_t pid, uid_t uid, gid_t gid);

#endif /* GW_ADMIN_H */
