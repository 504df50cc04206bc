// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gwd's admin socket (admin.h): the server, and gwd's own verb (reload).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "daemon/admin.h"

/* ---- reload ---------------------------------------------------------------------- */

/* The context of gwd's own verbs. */
static const struct gw_admin_ctx *A(const struct gw_cmd_call *c)
{
	return c->ctx;
}

static int cmd_reload(struct gw_cmd_call *c, json_t **out)
{
	struct gw_cfg_errors errs;
	struct gw_cfg probe;
	size_t i, off = 0;
	int err;

	if (!A(c)->reload || !A(c)->config_path)
		return gw_cmd_fail(c, -EOPNOTSUPP, "reload needs gwd");
	/* The agent validates again; this pass puts the problems in the answer. */
	err = gw_cfg_load(A(c)->config_path, &probe, &errs);
	if (err) {
		off = (size_t)snprintf(c->err, sizeof(c->err), "%s is invalid; the running "
				       "config stays:", A(c)->config_path);
		for (i = 0; i < errs.n && off < sizeof(c->err); i++)
			off += (size_t)snprintf(c->err + off, sizeof(c->err) - off, "\n%s",
						errs.msgs[i]);
		/* The daemon's log says why as well, not only the client. */
		pr_warn("admin: reload refused: %s is invalid; the running config stays\n",
			A(c)->config_path);
		for (i = 0; i < errs.n; i++)
			pr_warn("%s\n", errs.msgs[i]);
		gw_cfg_errors_free(&errs);
		return err;
	}
	gw_cfg_errors_free(&errs);
	gw_cfg_free(&probe);
	c->err[0] = '\0';
	err = A(c)->reload(A(c)->arg, c->err, sizeof(c->err));
	if (err && !c->err[0])
		return gw_cmd_fail(c, err, "reload failed (%s); the running config stays",
			    strerror(-err));
	if (err)
		return err;
	*out = json_object();
	gw_cmd_json_add(*out, "config_file", json_string(A(c)->config_path));
	gw_cmd_json_add(*out, "generation", json_integer(A(c)->generation + 1));
	return 0;
}

static const struct gw_cmd admin_cmds[] = {
	{ "reload", cmd_reload },
};

struct gw_cmd_table gw_admin_cmd_table(const struct gw_admin_ctx *ctx)
{
	return (struct gw_cmd_table){ admin_cmds, sizeof(admin_cmds) / sizeof(admin_cmds[0]), ctx };
}

/* ---- the server ------------------------------------------------------------------------ */

struct admin_client {
	int fd;
	char *in;		/* GW_ADMIN_LINE_MAX bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	int closing;		/* answer no more: flush, shut down, drain to EOF */
	int shut;		/* shutdown(SHUT_WR) done */
	size_t drained;		/* bytes discarded while closing */
	__u64 closing_ns;	/* when it started closing (CLOCK_MONOTONIC) */
	__u64 active_ns;	/* its last byte in or out */
	uid_t uid;		/* the peer's, at connect time */
};

#define NGROUPS_MAX_SMALL 1024	/* supplementary groups read with SO_PEERGROUPS */
#define ADMIN_DRAIN_MAX (1024 * 1024)
#define ADMIN_CLOSE_NS (2ull * 1000000000ull)	/* a closing client's grace */
/* A client that has been idle this long gives its slot up to a new one
 * when the table (or its uid's share) is full. */
#define ADMIN_EVICT_IDLE_NS (1ull * 1000000000ull)

struct gw_admin {
	int lfd, ep;
	char *path;
	struct admin_client *cl[GW_ADMIN_MAX_CLIENTS];
};

int gw_admin_fd(const struct gw_admin *a)
{
	return a->ep;
}

int gw_admin_peer_allowed(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], line[4096];
	struct group *gr;
	int allowed = 0;
	FILE *f;

	if (uid == 0)
		return 1;
	gr = getgrnam(GW_ADMIN_GROUP);
	if (!gr)
		return 0;
	if (gid == gr->gr_gid)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!allowed && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (g == gr->gr_gid)
				allowed = 1;
		}
		break;
	}
	fclose(f);
	return allowed;
}

/* The peer of fd may issue commands: its credentials at connect time
 * (SO_PEERCRED, SO_PEERGROUPS), or /proc when the kernel lacks
 * SO_PEERGROUPS. Returns 1 or 0. */
static int peer_allowed(int fd, const struct ucred *cr)
{
	gid_t groups[NGROUPS_MAX_SMALL];
	socklen_t len = sizeof(groups);
	struct group *gr;
	size_t i;

	if (cr->uid == 0)
		return 1;
	gr = getgrnam(GW_ADMIN_GROUP);
	if (!gr)
		return 0;
	if (cr->gid == gr->gr_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno == ENOPROTOOPT)
			return gw_admin_peer_allowed(cr->pid, cr->uid, cr->gid);
		return 0;	/* ERANGE: more groups than we read; refuse */
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

/* Creates the parent directories of path (mode 0755 for /run/gw's parents,
 * 0750 for the last). Returns 0 or -errno. */
static int mkdir_parents(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

int gw_admin_open(const char *path, struct gw_admin **ap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	struct gw_admin *a;
	struct group *gr;
	struct stat st;
	int err, probe;

	if (!path)
		path = GW_ADMIN_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("admin: socket path %s is too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->lfd = a->ep = -1;
	a->path = strdup(path);
	err = a->path ? mkdir_parents(path) : -ENOMEM;
	if (err)
		goto fail;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("admin: %s exists and is no socket\n", path);
			err = -EEXIST;
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			pr_err("admin: another agent answers on %s\n", path);
			err = -EADDRINUSE;
			goto fail;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->lfd < 0 || bind(a->lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		pr_err("admin: cannot bind %s: %s\n", path, strerror(-err));
		goto fail;
	}
	gr = getgrnam(GW_ADMIN_GROUP);
	if ((gr && chown(path, (uid_t)-1, gr->gr_gid)) || chmod(path, 0660) ||
	    listen(a->lfd, GW_ADMIN_MAX_CLIENTS)) {
		err = -errno;
		unlink(path);
		goto fail;
	}
	if (gr) {	/* the group may traverse the directory */
		char dir[sizeof(sa.sun_path)];
		char *p;

		strcpy(dir, path);
		p = strrchr(dir, '/');
		if (p && p != dir) {
			*p = '\0';
			if (!chown(dir, (uid_t)-1, gr->gr_gid) && !stat(dir, &st))
				chmod(dir, (st.st_mode & 07777) | 0010);
		}
	}
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	if (a->ep < 0 || epoll_ctl(a->ep, EPOLL_CTL_ADD, a->lfd, &ev)) {
		err = -errno;
		unlink(path);
		goto fail;
	}
	pr_info("admin: listening on %s\n", path);
	*ap = a;
	return 0;
fail:
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->ep >= 0)
		close(a->ep);
	free(a->path);
	free(a);
	return err;
}

static void client_free(struct gw_admin *a, int slot)
{
	struct admin_client *c = a->cl[slot];

	if (!c)
		return;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	a->cl[slot] = NULL;
}

/* Sends what is queued. Returns 0 (done or would block) or -errno. */
static int client_flush(struct gw_admin *a, int slot)
{
	struct admin_client *c = a->cl[slot];
	struct epoll_event ev = { .data.u64 = (__u64)slot + 1 };
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			break;
		}
		c->out_off += (size_t)n;
		c->active_ns = gw_now_ns();
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	ev.events = c->out_len ? EPOLLOUT : EPOLLIN;
	epoll_ctl(a->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* Queues a response line (an error line in its place when it would not
 * fit). Returns 0 or -ENOMEM/-ENOBUFS. */
static int client_queue(struct admin_client *c, json_t *resp)
{
	char *s = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
	size_t len;
	char *n;

	if (!s)
		s = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (c->out_len + len + 1 > GW_ADMIN_OUT_MAX) {
		/* say so rather than go silent (e.g. conntrack.list with limit 0) */
		free(s);
		s = strdup("{\"ok\":false,\"error\":\"answer too large (max 16 MiB): narrow "
			   "the request (e.g. a smaller limit)\"}");
		if (!s)
			return -ENOMEM;
		len = strlen(s);
		if (c->out_len + len + 1 > GW_ADMIN_OUT_MAX) {
			free(s);
			return -ENOBUFS;
		}
	}
	n = realloc(c->out, c->out_len + len + 1);
	if (!n) {
		free(s);
		return -ENOMEM;
	}
	c->out = n;
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(s);
	return 0;
}

#define ADMIN_REFUSED "permission denied: only root and group " GW_ADMIN_GROUP \
	" may use the admin socket"

/* Refuses a peer with one error line, best effort, and closes it. */
static void refuse(int fd, const char *msg)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n", msg);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("admin: could not tell a refused peer: %s\n", strerror(errno));
	close(fd);
}

/* Sends, once the answers are out, the end of the stream; frees the client
 * at EOF or on an error. */
static void client_settle(struct gw_admin *a, int slot, int eof)
{
	struct admin_client *c = a->cl[slot];

	if (client_flush(a, slot)) {
		client_free(a, slot);
		return;
	}
	if (c->out_len) {
		if (eof)
			c->closing = 1;
		return;		/* EPOLLOUT comes back here */
	}
	if (eof) {
		client_free(a, slot);
		return;
	}
	/* Closing with unread input would reset the connection and lose the
	 * answer: shut our side down and read the rest away first. */
	if (c->closing && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = 1;
		c->closing_ns = gw_now_ns();
	}
}

/* The open client idle longest (no byte either way for at least
 * ADMIN_EVICT_IDLE_NS), of uid `uid` only unless it is -1. Returns its slot
 * or -1. */
static int idlest(const struct gw_admin *a, uid_t uid, __u64 now)
{
	int i, best = -1;

	for (i = 0; i < GW_ADMIN_MAX_CLIENTS; i++) {
		const struct admin_client *c = a->cl[i];

		if (!c || c->closing || (uid != (uid_t)-1 && c->uid != uid) ||
		    now - c->active_ns < ADMIN_EVICT_IDLE_NS)
			continue;
		if (best < 0 || c->active_ns < a->cl[best]->active_ns)
			best = i;
	}
	return best;
}

/* Open clients of uid. Returns the count. */
static int uid_clients(const struct gw_admin *a, uid_t uid)
{
	int i, n = 0;

	for (i = 0; i < GW_ADMIN_MAX_CLIENTS; i++)
		n += a->cl[i] && !a->cl[i]->closing && a->cl[i]->uid == uid;
	return n;
}

/* Frees the closing clients past their grace and the clients idle past
 * GW_ADMIN_IDLE_NS (neither can hold a slot); with `evict`, when no slot is
 * free, the oldest closing one or else the one idle longest. Returns a free
 * slot or -1. */
static int free_slot(struct gw_admin *a, int evict)
{
	__u64 now = gw_now_ns();
	int i, oldest = -1, freeslot = -1;

	for (i = 0; i < GW_ADMIN_MAX_CLIENTS; i++) {
		struct admin_client *c = a->cl[i];

		if (c && ((c->shut && now - c->closing_ns >= ADMIN_CLOSE_NS) ||
			  now - c->active_ns >= GW_ADMIN_IDLE_NS))
			client_free(a, i);
		c = a->cl[i];
		if (!c) {
			if (freeslot < 0)
				freeslot = i;
		} else if (c->shut && (oldest < 0 || c->closing_ns < a->cl[oldest]->closing_ns)) {
			oldest = i;
		}
	}
	if (freeslot < 0 && evict) {
		if (oldest < 0)
			oldest = idlest(a, (uid_t)-1, now);
		if (oldest >= 0) {
			client_free(a, oldest);
			freeslot = oldest;
		}
	}
	return freeslot;
}

void gw_admin_tick(struct gw_admin *a)
{
	free_slot(a, 0);
}

/* An allowed peer of uid over its share: its idle-longest client makes
 * room. Returns 0, or -EBUSY when every one of them is busy. */
static int uid_room(struct gw_admin *a, uid_t uid)
{
	int victim;

	if (uid_clients(a, uid) < GW_ADMIN_PER_UID)
		return 0;
	victim = idlest(a, uid, gw_now_ns());
	if (victim < 0)
		return -EBUSY;
	client_free(a, victim);
	return 0;
}

static void accept_all(struct gw_admin *a)
{
	struct ucred cr;
	socklen_t len;
	int fd, slot, allowed;

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct admin_client *c;

		fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		len = sizeof(cr);
		memset(&cr, 0, sizeof(cr));
		allowed = !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
			  peer_allowed(fd, &cr);
		if (!allowed)
			pr_warn("admin: refused peer uid %u pid %d (not root, not in group "
				GW_ADMIN_GROUP ")\n", cr.uid, cr.pid);
		if (allowed && uid_room(a, cr.uid)) {
			pr_warn("admin: refused uid %u: %d connections of its own are busy\n",
				cr.uid, GW_ADMIN_PER_UID);
			refuse(fd, "busy: too many admin connections of this user");
			continue;
		}
		slot = free_slot(a, 1);
		c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
		if (c)
			c->in = malloc(GW_ADMIN_LINE_MAX);
		if (!c || !c->in) {
			if (c)
				free(c);
			refuse(fd, allowed ? "busy: too many admin clients" : ADMIN_REFUSED);
			continue;
		}
		c->fd = fd;
		c->uid = cr.uid;
		c->active_ns = gw_now_ns();
		a->cl[slot] = c;
		ev.data.u64 = (__u64)slot + 1;
		if (epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev)) {
			client_free(a, slot);
			continue;
		}
		if (!allowed) {
			json_t *r = gw_cmd_error(ADMIN_REFUSED);

			client_queue(c, r);
			json_decref(r);
			c->closing = 1;
			client_settle(a, slot, 0);
		}
	}
}

/* Reads what the client sent and answers every complete line; a closing
 * client's input is read and discarded. */
static void client_read(struct gw_admin *a, int slot, const struct gw_cmd_table *t,
			size_t n_t)
{
	struct admin_client *c = a->cl[slot];
	ssize_t n;
	char *nl;
	int eof = 0;

	for (;;) {
		n = recv(c->fd, c->in + c->in_len, GW_ADMIN_LINE_MAX - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			eof = 1;
			break;
		}
		c->active_ns = gw_now_ns();
		if (c->closing) {
			c->drained += (size_t)n;
			if (c->drained > ADMIN_DRAIN_MAX) {
				eof = 1;
				break;
			}
			continue;
		}
		c->in_len += (size_t)n;
		while (!c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
			size_t ll = (size_t)(nl - c->in);
			json_t *resp;

			resp = gw_cmd_exec_line(t, n_t, c->in, ll);
			if (client_queue(c, resp))
				c->closing = 1;
			json_decref(resp);
			memmove(c->in, nl + 1, c->in_len - ll - 1);
			c->in_len -= ll + 1;
		}
		if (!c->closing && c->in_len == GW_ADMIN_LINE_MAX) {
			json_t *r = gw_cmd_error("request line too long (max 64 KiB)");

			client_queue(c, r);
			json_decref(r);
			c->closing = 1;
		}
		if (c->closing)
			c->in_len = 0;
	}
	client_settle(a, slot, eof);
}

int gw_admin_process(struct gw_admin *a, const struct gw_cmd_table *t, size_t n_t)
{
	struct epoll_event evs[GW_ADMIN_MAX_CLIENTS + 1];
	int n, i, slot;

	n = epoll_wait(a->ep, evs, GW_ADMIN_MAX_CLIENTS + 1, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (!evs[i].data.u64) {
			accept_all(a);
			continue;
		}
		slot = (int)evs[i].data.u64 - 1;
		if (!a->cl[slot])
			continue;
		if (evs[i].events & EPOLLOUT) {
			client_settle(a, slot, 0);
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(a, slot, t, n_t);
	}
	return 0;
}

void gw_admin_close(struct gw_admin *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < GW_ADMIN_MAX_CLIENTS; i++)
		client_free(a, i);
	close(a->lfd);
	close(a->ep);
	unlink(a->path);
	free(a->path);
	free(a);
}
