/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A gzip (zlib) or br (libbrotlienc) stream of one answer body, written as
 * HTTP/1.1 chunks: the proxy feeds it the upstream's payload one buffer at a
 * time (at most GW_Z_IN bytes) and sends what it holds before it feeds
 * more, so memory per stream is fixed: zlib's state (at most windowBits 15,
 * memLevel 8: ~256 KiB; less for a smaller known body) or brotli's (at most
 * a 256 KiB window) and one output buffer. A feed is flushed
 * (Z_SYNC_FLUSH, BROTLI_OPERATION_FLUSH), so a streamed answer reaches the
 * client as it comes; a gzip feed may instead be held (GW_Z_HOLD) while
 * more of the body is about to come, and a later feed flushes it.
 * Finished gzip streams go back to a per-worker pool (gw_zpool) and are
 * reused after deflateReset(), which saves zlib's allocation per answer.
 */
#ifndef GW_COMPRESS_H
#define GW_COMPRESS_H

#include <stddef.h>

#define GW_Z_IN 16384		/* the most one feed takes */
#define GW_ZPOOL_MAX 4		/* finished gzip streams a pool keeps */

/* How a feed ends (gw_zstream_feed()'s `how`) */
enum {
	GW_Z_FLUSH = 0,		/* what was fed is flushed out */
	GW_Z_LAST = 1,		/* the end of the body: flushed, the trailer follows */
	GW_Z_HOLD = 2,		/* gzip may keep it for a later feed (GW_Z_IN at most) */
};

struct gw_zstream;

/* Finished gzip streams kept for reuse (one per worker thread). */
struct gw_zpool {
	struct gw_zstream *head;
	unsigned int n;
};

/* A new stream from pool (NULL: none): brotli (br set) or gzip, at level
 * (1-9; brotli's quality scale is 0-11). size: the body's length when
 * known (sizes the window, as nginx does), else 0. Returns it, or NULL
 * (no memory). */
struct gw_zstream *gw_zstream_new(struct gw_zpool *pool, int br, int level, size_t size);

/* Ends stream z: kept in pool (NULL: none) for reuse, or freed. */
void gw_zstream_free(struct gw_zpool *pool, struct gw_zstream *z);

/* Frees what pool keeps. */
void gw_zpool_clear(struct gw_zpool *pool);

/*
 * Compresses in[len] (len <= GW_Z_IN) into the stream's buffer as one
 * chunk (how: GW_Z_FLUSH, GW_Z_LAST: the gzip trailer and the last chunk
 * follow, or GW_Z_HOLD: a gzip stream holding at most GW_Z_IN with this
 * input may keep it, making no chunk, until a later feed flushes it in
 * that feed's chunk; else it flushes); len 0 with GW_Z_FLUSH flushes what
 * is held. Only when nothing is pending
 * (gw_zstream_pending() 0). Returns 0, -EBUSY (output pending), -EINVAL
 * (len too big, or after the last) or -EIO (zlib).
 */
int gw_zstream_feed(struct gw_zstream *z, const char *in, size_t len, int how);

/* Whether fed input is held, unflushed (GW_Z_HOLD). Returns 1 or 0. */
int gw_zstream_held(const struct gw_zstream *z);

/* The bytes waiting to be sent: *p gets where they are. Returns their count. */
size_t gw_zstream_pending(const struct gw_zstream *z, const char **p);

/* n of the pending bytes were sent. */
void gw_zstream_sent(struct gw_zstream *z, size_t n);

/* Whether the last chunk was made and sent. Returns 1 or 0. */
int gw_zstream_done(const struct gw_zstream *z);

/* Bytes fed in and compressed bytes made (gzip data, no chunk framing). */
void gw_zstream_counts(const struct gw_zstream *z, size_t *in, size_t *out);

#endif /* GW_COMPRESS_H */
