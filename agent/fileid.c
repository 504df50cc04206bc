// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Bounded file reads and file identities for the files gwd rereads. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileid.h"
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

int gw_watched_init(struct gw_watched *w, const char *what, const char *path, size_t max_size,
		    __u64 check_interval_ns)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->what = what;
	w->max_size = max_size;
	w->check_interval_ns = check_interval_ns;
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

bool gw_watched_changed(struct gw_watched *w, __u64 now_ns)
{
	struct gw_file_id id;

	if (w->checked && now_ns >= w->last_check_ns &&
	    now_ns - w->last_check_ns < w->check_interval_ns)
		return false;
	w->checked = true;
	w->last_check_ns = now_ns;
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
