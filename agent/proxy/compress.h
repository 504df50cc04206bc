/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A gzip (zlib) or br (libbrotlienc) stream of one answer body, written as
 * HTTP/1.1 chunks: the proxy feeds it the upstream's payload one buffer at a
 * time (at most GW_Z_IN bytes) and sends what it holds before it feeds
 * more, so memory per stream is fixed: zlib's state (windowBits 15,
 * memLevel 8: ~256 KiB) or brotli's (a 256 KiB window) and one output
 * buffer. Each feed is flushed (Z_SYNC_FLUSH, BROTLI_OPERATION_FLUSH), so a
 * streamed answer reaches the client as it comes.
 */
#ifndef GW_COMPRESS_H
#define GW_COMPRESS_H

#include <stddef.h>

#define GW_Z_IN 16384		/* the most one feed takes */

struct gw_zstream;

/* A new stream: brotli (br set) or gzip, at level (1-9; brotli's quality
 * scale is 0-11). Returns it, or NULL (no memory). */
struct gw_zstream *gw_zstream_new(int br, int level);

void gw_zstream_free(struct gw_zstream *z);

/*
 * Compresses in[len] (len <= GW_Z_IN) into the stream's buffer as one
 * chunk; with `last`, the gzip trailer and the last chunk follow. Only when
 * nothing is pending (gw_zstream_pending() 0). Returns 0, -EBUSY (output
 * pending), -EINVAL (len too big, or after the last) or -EIO (zlib).
 */
int gw_zstream_feed(struct gw_zstream *z, const char *in, size_t len, int last);

/* The bytes waiting to be sent: *p gets where they are. Returns their count. */
size_t gw_zstream_pending(const struct gw_zstream *z, const char **p);

/* n of the pending bytes were sent. */
void gw_zstream_sent(struct gw_zstream *z, size_t n);

/* Whether the last chunk was made and sent. Returns 1 or 0. */
int gw_zstream_done(const struct gw_zstream *z);

/* Bytes fed in and compressed bytes made (gzip data, no chunk framing). */
void gw_zstream_counts(const struct gw_zstream *z, size_t *in, size_t *out);

#endif /* GW_COMPRESS_H */
