// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Bounded file reads and file identities for the files gwd rereads. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileid.h"
#include "core/loop.h"
#include "core/log.h"

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
	gw_watched_cancel(w);
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

/* ------------------------------------------------------------------ */
/* The auth-reread thread                                               */
/* ------------------------------------------------------------------ */

enum { RR_IDLE, RR_QUEUED, RR_RUNNING, RR_CANCELLED };

static pthread_mutex_t rr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rr_work = PTHREAD_COND_INITIALIZER; /* a job was queued */
static pthread_cond_t rr_done = PTHREAD_COND_INITIALIZER; /* a run ended */
static struct gw_reread *rr_head, *rr_tail;
static int rr_thread; /* 0 not started, 1 running, -1 could not start */

/* Under rr_lock. */
static void rr_append(struct gw_reread *j)
{
	j->next = NULL;
	if (rr_tail)
		rr_tail->next = j;
	else
		rr_head = j;
	rr_tail = j;
	j->state = RR_QUEUED;
	pthread_cond_signal(&rr_work);
}

/* Under rr_lock. */
static void rr_unlink(struct gw_reread *j)
{
	struct gw_reread **pp, *prev = NULL;

	for (pp = &rr_head; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			if (rr_tail == j)
				rr_tail = prev;
			j->next = NULL;
			return;
		}
}

static void *rr_main(void *unused)
{
	struct sched_param sp = {0};
	struct gw_reread *j;
	gw_reread_fn fn;
	void *arg;
	bool force;

	(void)unused;
	pthread_setname_np(pthread_self(), "auth-reread");
	/* a reread is background work: it yields to the workers and the
	 * main loop, yet still gets CPU on a busy machine */
	if (sched_setscheduler(0, SCHED_BATCH, &sp))
		pr_debug("auth-reread: SCHED_BATCH: %s\n", strerror(errno));
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), GW_REREAD_NICE))
		pr_debug("auth-reread: nice %d: %s\n", GW_REREAD_NICE, strerror(errno));
	pthread_mutex_lock(&rr_lock);
	for (;;) {
		while (!rr_head)
			pthread_cond_wait(&rr_work, &rr_lock);
		j = rr_head;
		rr_unlink(j);
		j->state = RR_RUNNING;
		force = j->force;
		j->force = false;
		fn = j->fn;
		arg = j->arg;
		pthread_mutex_unlock(&rr_lock);
		fn(arg, force);
		pthread_mutex_lock(&rr_lock);
		__atomic_add_fetch(&j->runs, 1, __ATOMIC_RELAXED);
		if (!j->fn) {
			j->state = RR_CANCELLED; /* gw_watched_cancel waits for this */
		} else if (j->again) {
			j->force = j->again_force;
			j->again = j->again_force = false;
			rr_append(j);
		} else {
			j->state = RR_IDLE;
		}
		pthread_cond_broadcast(&rr_done);
	}
	return NULL;
}

/* Under rr_lock: starts the thread once. Returns 0 or -1. */
static int rr_start(void)
{
	sigset_t all, old;
	pthread_t th;
	int err;

	if (rr_thread)
		return rr_thread > 0 ? 0 : -1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&th, NULL, rr_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_err("auth-reread: cannot start the thread: %s; key files are reread on the "
		       "main loop\n",
		       strerror(err));
		rr_thread = -1;
		return -1;
	}
	pthread_detach(th);
	rr_thread = 1;
	return 0;
}

void gw_watched_set_reread(struct gw_watched *w, gw_reread_fn fn, void *arg)
{
	w->job.fn = fn;
	w->job.arg = arg;
}

int gw_watched_schedule(struct gw_watched *w, bool force)
{
	struct gw_reread *j = &w->job;
	bool changed;

	if (!force && !pthread_mutex_trylock(&w->lock)) {
		changed = gw_watched_changed(w);
		pthread_mutex_unlock(&w->lock);
		if (!changed)
			return 0; /* the thread looks again, under the lock */
	}
	pthread_mutex_lock(&rr_lock);
	if (!j->fn) { /* cancelled, or never set */
		pthread_mutex_unlock(&rr_lock);
		return 0;
	}
	if (rr_start()) {
		pthread_mutex_unlock(&rr_lock);
		return j->fn(j->arg, force);
	}
	switch (j->state) {
	case RR_IDLE:
		j->force = force;
		rr_append(j);
		break;
	case RR_QUEUED:
		j->force |= force;
		break;
	case RR_RUNNING:
		j->again = true;
		j->again_force |= force;
		break;
	}
	pthread_mutex_unlock(&rr_lock);
	return 1;
}

void gw_watched_cancel(struct gw_watched *w)
{
	struct gw_reread *j = &w->job;

	pthread_mutex_lock(&rr_lock);
	j->fn = NULL; /* no new run; a running one ends as cancelled */
	j->again = false;
	if (j->state == RR_QUEUED)
		rr_unlink(j);
	while (j->state == RR_RUNNING)
		pthread_cond_wait(&rr_done, &rr_lock);
	j->state = RR_CANCELLED;
	pthread_mutex_unlock(&rr_lock);
}

bool gw_watched_running(struct gw_watched *w)
{
	bool running;

	pthread_mutex_lock(&rr_lock);
	running = w->job.state == RR_RUNNING;
	pthread_mutex_unlock(&rr_lock);
	return running;
}

void gw_watched_settle(struct gw_watched *w)
{
	pthread_mutex_lock(&rr_lock);
	while (w->job.state == RR_QUEUED || w->job.state == RR_RUNNING)
		pthread_cond_wait(&rr_done, &rr_lock);
	pthread_mutex_unlock(&rr_lock);
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
