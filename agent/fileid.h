/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Files that gwd rereads when they change (JWKS, API keys): a bounded read,
 * the identity (device, inode, size, mtime) that tells a change, and the list
 * of messages a load leaves for the operator and the tests. */
#ifndef GW_FILEID_H
#define GW_FILEID_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/types.h>
#include <linux/types.h>
#include "config.h"

struct gw_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	long long mtime_ns;
	bool valid; /* false: never seen, or stat failed */
};

/* Identity of the file at `path` now. Returns 0 or a negative errno (id
 * is then marked invalid). */
int gw_file_id_stat(const char *path, struct gw_file_id *id);

/* Returns true when both identities are valid and name the same content. */
bool gw_file_id_equal(const struct gw_file_id *a, const struct gw_file_id *b);

/* Reads the whole of `path` (at most `max` bytes) into a NUL-terminated
 * buffer the caller frees, and the identity of what was read (taken from the
 * open descriptor, before reading). Returns 0, -EFBIG when the file is larger
 * than `max`, or another negative errno. */
int gw_file_read(const char *path, size_t max, char **buf, size_t *len, struct gw_file_id *id);

/* Appends one formatted message to `msgs` (struct gw_cfg_errors is the
 * project's list of messages; free it with gw_cfg_errors_free) and logs it at
 * `level` (a GW_LOG_* value). Allocation failures drop the message from the
 * list, never from the log. */
void gw_msgs_add(struct gw_cfg_errors *msgs, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns 1 if some message of `msgs` contains `needle`. */
int gw_msgs_has(const struct gw_cfg_errors *msgs, const char *needle);

/* A file reread when it changes (the JWKS of a jwt auth, an API key file):
 * its path, the identity of the last read, when it was last looked at, and
 * the messages of the last read. The owner holds `lock` around
 * gw_watched_changed, gw_watched_read and gw_watched_keep, and uses it for
 * its own state too. */
struct gw_watched {
	char *path;
	const char *what; /* "jwks", "api keys": the start of messages */
	size_t max_size;
	__u64 check_interval_ns;
	pthread_mutex_t lock;
	struct gw_file_id id; /* of the last read, good or bad */
	__u64 last_check_ns;
	bool checked;
	struct gw_cfg_errors msgs;
};

/* Returns 0, or -ENOMEM (w is then safe to destroy). */
int gw_watched_init(struct gw_watched *w, const char *what, const char *path, size_t max_size,
		    __u64 check_interval_ns);

void gw_watched_destroy(struct gw_watched *w);

/* Returns true when a check is due at `now_ns` (none in the last
 * check_interval; a clock that went backwards makes one due) and the file's
 * identity differs from the last read's. A file missing now and at the last
 * read has not changed. */
bool gw_watched_changed(struct gw_watched *w, __u64 now_ns);

/* Forgets the last read's messages and reads the file. Returns 0 with *buf
 * (NUL-terminated, *len bytes) for the caller to free, or a negative errno
 * after the message "WHAT PATH: cannot read: REASON". Either way the
 * identity found is remembered, so an unchanged bad file is not reread. */
int gw_watched_read(struct gw_watched *w, char **buf, size_t *len);

/* Adds "WHAT PATH: keeping the loaded keys" to the messages. */
void gw_watched_keep(struct gw_watched *w);

/* Returns 1 if a message of the last read contains `needle` (takes the
 * lock). */
int gw_watched_msgs_has(struct gw_watched *w, const char *needle);

#endif /* GW_FILEID_H */
