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
#include "core/msgs.h"

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

/*
 * The auth-reread thread: one per process, started at the first use, at
 * SCHED_BATCH and nice GW_REREAD_NICE, with every signal blocked. It runs
 * the rereads of changed key files so that gwd's main loop, which only
 * detects changes, never parses a file. A job is queued at most once: a
 * request while it is queued merges into it (force or-ed), a request while
 * it runs makes exactly one more run after it, however many came. Its
 * fields belong to the thread's queue lock.
 */
#define GW_REREAD_NICE 10

typedef int (*gw_reread_fn)(void *arg, bool force);

struct gw_reread {
	gw_reread_fn fn; /* the synchronous reread: fn(arg, force) */
	void *arg;
	struct gw_reread *next;
	int state;	  /* idle, queued, running, cancelled */
	bool force;	  /* for the queued run */
	bool again;	  /* one more run after the running one */
	bool again_force; /* ... with force */
	__u64 runs;	  /* atomic: runs done (tests) */
};

/* A file reread when it changes (the JWKS of a jwt auth, an API key file):
 * its path, the identity of the last read, and the messages of the last
 * read. `lock` serialises rereads: the owner holds it around
 * gw_watched_changed, gw_watched_read and gw_watched_keep, and for its own
 * reread state. Readers of the published result never take it. `job` is
 * the file's reread on the auth-reread thread (gw_watched_schedule). */
struct gw_watched {
	char *path;
	const char *what; /* "jwks", "api keys": the start of messages */
	size_t max_size;
	pthread_mutex_t lock;
	struct gw_file_id id; /* of the last read, good or bad */
	struct gw_cfg_errors msgs;
	struct gw_reread job;
};

/* Returns 0, or -ENOMEM (w is then safe to destroy). */
int gw_watched_init(struct gw_watched *w, const char *what, const char *path, size_t max_size);

/* Cancels w's reread (gw_watched_cancel) and frees w's memory. */
void gw_watched_destroy(struct gw_watched *w);

/* Stats the file: returns true when its identity differs from the last
 * read's. A file missing now and at the last read has not changed. */
bool gw_watched_changed(struct gw_watched *w);

/* Forgets the last read's messages and reads the file. Returns 0 with *buf
 * (NUL-terminated, *len bytes) for the caller to free, or a negative errno
 * after the message "WHAT PATH: cannot read: REASON". Either way the
 * identity found is remembered, so an unchanged bad file is not reread. */
int gw_watched_read(struct gw_watched *w, char **buf, size_t *len);

/* Adds "WHAT PATH: keeping the loaded keys" to the messages. */
void gw_watched_keep(struct gw_watched *w);

/* Sets the reread the auth-reread thread runs for w: fn(arg, force) takes
 * w's lock itself (gw_jwks_poll, gw_apikeys_poll). */
void gw_watched_set_reread(struct gw_watched *w, gw_reread_fn fn, void *arg);

/* On gwd's loop: asks for a reread of w on the auth-reread thread, never
 * parsing here. force (inotify saw the file written): always; else only
 * when the file's identity differs from the last read's (a stat here; when
 * a reread holds the lock the thread looks instead). Coalesced as said
 * above. Returns 1 when a run is queued or due, 0 when the file has not
 * changed or w was cancelled. Without the thread (it could not be
 * started: logged once) the reread runs here and its result is returned. */
int gw_watched_schedule(struct gw_watched *w, bool force);

/* Removes w's queued run and waits for a running one to end; later
 * requests are ignored. Call before freeing what fn uses (any thread but
 * the auth-reread thread; it waits for at most one reread). Idempotent. */
void gw_watched_cancel(struct gw_watched *w);

/* Returns true while w's reread runs on the auth-reread thread (tests use
 * it to know a run has started). */
bool gw_watched_running(struct gw_watched *w);

/* Waits until w has no run queued or running (tests, tools). */
void gw_watched_settle(struct gw_watched *w);

/*
 * Change detection on an event loop (gwd's main loop) for a group of
 * files: one inotify instance watching each file's directory for
 * IN_CLOSE_WRITE and IN_MOVED_TO (so an in-place write and an atomic
 * rename over the file are both seen within milliseconds), and per file a
 * periodic timer as the fallback (inotify unavailable, the directory
 * replaced, a symlink retargeted, a change inotify does not report).
 *
 * cb(arg, force) runs on the loop: force is true when an event named the
 * file (its content was written: reread it whatever its identity), false
 * for a tick or an event about another name in the directory (reread when
 * the identity changed); the events of one wake-up make one call per file
 * (a burst of writes, one reread). An inotify queue overflow calls every
 * file with force. Everything here belongs to the loop's thread.
 */
typedef void (*gw_fwatch_cb)(void *arg, bool force);

struct gw_loop;
struct gw_fwatch;

/* Returns 0 with *out, or -ENOMEM. Without inotify (a failure is logged)
 * the timers still run. */
int gw_fwatch_new(struct gw_loop *loop, struct gw_fwatch **out);

/* Watches `path`: events from now, a tick every interval_ns. Returns 0 or
 * -ENOMEM. */
int gw_fwatch_add(struct gw_fwatch *fw, const char *path, __u64 interval_ns, gw_fwatch_cb cb,
		  void *arg);

/* Stops every watch and frees fw (on the loop's thread). NULL is ignored. */
void gw_fwatch_free(struct gw_fwatch *fw);

#endif /* GW_FILEID_H */
