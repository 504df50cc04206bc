// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Bounded file reads and file identities for the files gwd rereads. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileid.h"
#include "loop.h"
#include "log.h"

static void id_from_stat(const struct stat *st, struct gw_file_id *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	id->valid = true;
}

int gw_file_id_stat(const char *path, struct gw_file_id *id)
{
	struct stat st;

	if (stat(path, &st)) {
		id->valid = false;
		return -errno;
	}
	id_from_stat(&st, id);
	return 0;
}

bool gw_file_id_equal(const struct gw_file_id *a, const struct gw_file_id *b)
{
	return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

int gw_file_read(const char *path, size_t max, char **buf, size_t *len, struct gw_file_id *id)
{
	struct stat st;
	size_t off = 0;
	char *b = NULL;
	int fd, err = 0;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	id->valid = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		err = -EFBIG;
		goto out;
	}
	id_from_stat(&st, id);
	b = malloc(max + 1);
	if (!b) {
		err = -ENOMEM;
		goto out;
	}
	/* Read up to max + 1 bytes: a file that grew since fstat is refused. */
	for (;;) {
		n = read(fd, b + off, max + 1 - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		off += n;
		if (off > max) {
			err = -EFBIG;
			goto out;
		}
	}
	b[off] = '\0';
	*buf = b;
	*len = off;
	b = NULL;
out:
	free(b);
	close(fd);
	return err;
}

void gw_msgs_add(struct gw_cfg_errors *msgs, int level, const char *fmt, ...)
{
	char **v;
	char *m;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	gw_log((enum gw_log_level)level, "%s\n", m);
	if (!msgs) {
		free(m);
		return;
	}
	v = realloc(msgs->msgs, (msgs->n + 1) * sizeof(*v));
	if (!v) {
		free(m);
		return;
	}
	v[msgs->n++] = m;
	msgs->msgs = v;
}

int gw_msgs_has(const struct gw_cfg_errors *msgs, const char *needle)
{
	size_t i;

	for (i = 0; i < msgs->n; i++)
		if (strstr(msgs->msgs[i], needle))
			return 1;
	return 0;
}

int gw_watched_init(struct gw_watched *w, const char *what, const char *path, size_t max_size)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->what = what;
	w->max_size = max_size;
	w->path = strdup(path);
	return w->path ? 0 : -ENOMEM;
}

void gw_watched_destroy(struct gw_watched *w)
{
	gw_cfg_errors_free(&w->msgs);
	pthread_mutex_destroy(&w->lock);
	free(w->path);
	w->path = NULL;
}

bool gw_watched_changed(struct gw_watched *w)
{
	struct gw_file_id id;

	gw_file_id_stat(w->path, &id);
	return !gw_file_id_equal(&id, &w->id) && (id.valid || w->id.valid);
}

int gw_watched_read(struct gw_watched *w, char **buf, size_t *len)
{
	int err;

	gw_cfg_errors_free(&w->msgs);
	err = gw_file_read(w->path, w->max_size, buf, len, &w->id);
	if (err) {
		gw_msgs_add(&w->msgs, GW_LOG_ERR, "%s %s: cannot read: %s", w->what, w->path,
			    strerror(-err));
		gw_file_id_stat(w->path, &w->id);
	}
	return err;
}

void gw_watched_keep(struct gw_watched *w)
{
	gw_msgs_add(&w->msgs, GW_LOG_ERR, "%s %s: keeping the loaded keys", w->what, w->path);
}

int gw_watched_msgs_has(struct gw_watched *w, const char *needle)
{
	int r;

	pthread_mutex_lock(&w->lock);
	r = gw_msgs_has(&w->msgs, needle);
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* ------------------------------------------------------------------ */
/* Change detection on a loop                                           */
/* ------------------------------------------------------------------ */

#define FW_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVE_SELF | IN_DELETE_SELF | IN_ONLYDIR)

struct fw_file {
	struct gw_fwatch *fw;
	char *dir, *base; /* the directory watched, the name looked for */
	int wd;		  /* -1: not watched (the tick tries again) */
	__u64 interval_ns;
	int pending; /* from this read's events: 0 none, 1 look, 2 reread */
	struct gw_timer timer;
	gw_fwatch_cb cb;
	void *arg;
};

struct gw_fwatch {
	struct gw_loop *loop;
	int fd; /* inotify, -1 without */
	struct gw_io io;
	struct fw_file **f;
	size_t n;
};

/* Watches f's directory when it is not watched. */
static void fw_watch_dir(struct fw_file *f)
{
	if (f->wd >= 0 || f->fw->fd < 0)
		return;
	f->wd = inotify_add_watch(f->fw->fd, f->dir, FW_MASK);
	if (f->wd < 0)
		pr_debug("inotify: cannot watch %s: %s (checked every %llu ms)\n", f->dir,
			 strerror(errno), (unsigned long long)(f->interval_ns / 1000000));
}

static void fw_tick(struct gw_timer *t)
{
	struct fw_file *f = container_of(t, struct fw_file, timer);

	fw_watch_dir(f);
	f->cb(f->arg, false);
	if (gw_timer_start(f->fw->loop, &f->timer, f->interval_ns, fw_tick))
		pr_warn("%s/%s: no periodic check (out of memory)\n", f->dir, f->base);
}

/* One inotify event: marks the files it concerns. */
static void fw_event(struct gw_fwatch *fw, const struct inotify_event *ev)
{
	size_t i;
	int p;

	for (i = 0; i < fw->n; i++) {
		struct fw_file *f = fw->f[i];

		if (ev->mask & IN_Q_OVERFLOW) {
			p = 2; /* events were lost */
		} else if (f->wd != ev->wd) {
			continue;
		} else if (ev->mask & (IN_IGNORED | IN_MOVE_SELF | IN_DELETE_SELF)) {
			/* the directory went or moved: watch its path again at
			 * the next tick, and look now */
			f->wd = -1;
			p = 1;
		} else {
			p = ev->len && !strcmp(ev->name, f->base) ? 2 : 1;
		}
		if (p > f->pending)
			f->pending = p;
	}
	if (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF))
		inotify_rm_watch(fw->fd, ev->wd);
}

static void fw_readable(struct gw_io *io, __u32 events)
{
	struct gw_fwatch *fw = container_of(io, struct gw_fwatch, io);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n, off;

	size_t i;

	(void)events;
	for (;;) {
		n = read(fw->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off + (ssize_t)sizeof(*ev) <= n; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			fw_event(fw, ev);
		}
	}
	/* one look per file for everything read: a burst of writes costs one
	 * reread */
	for (i = 0; i < fw->n; i++) {
		struct fw_file *f = fw->f[i];
		int p = f->pending;

		f->pending = 0;
		if (p)
			f->cb(f->arg, p == 2);
	}
}

int gw_fwatch_new(struct gw_loop *loop, struct gw_fwatch **out)
{
	struct gw_fwatch *fw = calloc(1, sizeof(*fw));

	*out = NULL;
	if (!fw)
		return -ENOMEM;
	fw->loop = loop;
	fw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fw->fd < 0) {
		pr_warn("inotify: %s: key files are checked by their timers only\n",
			strerror(errno));
	} else if (gw_io_start(loop, &fw->io, fw->fd, EPOLLIN, fw_readable)) {
		pr_warn("inotify: cannot poll: key files are checked by their timers only\n");
		close(fw->fd);
		fw->fd = -1;
	}
	*out = fw;
	return 0;
}

int gw_fwatch_add(struct gw_fwatch *fw, const char *path, __u64 interval_ns, gw_fwatch_cb cb,
		  void *arg)
{
	struct fw_file *f = calloc(1, sizeof(*f)), **v;
	const char *slash = strrchr(path, '/');

	if (!f)
		return -ENOMEM;
	f->fw = fw;
	f->wd = -1;
	f->interval_ns = interval_ns;
	f->cb = cb;
	f->arg = arg;
	f->base = strdup(slash ? slash + 1 : path);
	f->dir = slash == path ? strdup("/")
		 : slash       ? strndup(path, (size_t)(slash - path))
			       : strdup(".");
	v = realloc(fw->f, (fw->n + 1) * sizeof(*v));
	if (!f->base || !f->dir || !v) {
		if (v)
			fw->f = v;
		free(f->base);
		free(f->dir);
		free(f);
		return -ENOMEM;
	}
	fw->f = v;
	fw->f[fw->n++] = f;
	fw_watch_dir(f);
	return gw_timer_start(fw->loop, &f->timer, interval_ns, fw_tick);
}

static void fw_destroy(void *arg)
{
	struct gw_fwatch *fw = arg;
	size_t i;

	for (i = 0; i < fw->n; i++) {
		free(fw->f[i]->dir);
		free(fw->f[i]->base);
		free(fw->f[i]);
	}
	free(fw->f);
	free(fw);
}

void gw_fwatch_free(struct gw_fwatch *fw)
{
	size_t i;

	if (!fw)
		return;
	for (i = 0; i < fw->n; i++)
		gw_timer_stop(fw->loop, &fw->f[i]->timer);
	if (fw->fd >= 0) {
		gw_io_stop(fw->loop, &fw->io);
		close(fw->fd);
		fw->fd = -1;
	}
	/* the io may have an event pending in this batch */
	if (gw_loop_defer(fw->loop, fw_destroy, fw))
		pr_warn("inotify: out of memory deferring a free\n");
}
