// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gzip streams of answer bodies, as chunks (compress.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <brotli/encode.h>

#include "proxy/compress.h"

#define HEAD_ROOM 10		/* "ffffffff\r\n" at most before a chunk's data */
#define TAIL_ROOM 16		/* "\r\n" and "0\r\n\r\n" after it */
#define BR_LGWIN 18		/* brotli's largest window: 256 KiB */

struct gw_zstream {
	z_stream zs;
	BrotliEncoderState *br;	/* br; NULL: gzip */
	size_t start, end;	/* pending bytes of buf */
	size_t cap;
	size_t in, out;
	int last, done;
	size_t held;		/* input fed with GW_Z_HOLD, not flushed yet */
	size_t kept;		/* what zlib made of it (the gzip header): no chunk yet */
	int level, wbits;	/* gzip: what a pooled stream is reused for */
	char *buf;
	struct gw_zstream *next;	/* in a pool */
};

/* zlib's windowBits and memLevel for a body of size bytes (0: unknown):
 * 15 and 8 (a 32 KiB window, ~256 KiB of state) halved together while the
 * body fits in half the window, down to 9, as nginx's gzip filter does. */
static void gz_sizes(size_t size, int *wbits, int *mem)
{
	*wbits = 15;
	*mem = 8;
	while (size && *wbits > 9 && size < (1ul << (*wbits - 1))) {
		(*wbits)--;
		(*mem)--;
	}
}

/* A brotli encoder at quality level, its window (at most lgwin 18: 256 KiB)
 * the smallest that holds a body of size bytes (0: unknown). Returns 0 or
 * -ENOMEM. */
static int br_init(struct gw_zstream *z, int level, size_t size)
{
	uint32_t lgwin = BR_LGWIN;

	while (size && lgwin > BROTLI_MIN_WINDOW_BITS && size + 16 <= (1ul << (lgwin - 1)))
		lgwin--;
	z->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
	if (!z->br)
		return -ENOMEM;
	BrotliEncoderSetParameter(z->br, BROTLI_PARAM_QUALITY, (uint32_t)level);
	BrotliEncoderSetParameter(z->br, BROTLI_PARAM_LGWIN, lgwin);
	if (size && size <= UINT32_MAX)
		BrotliEncoderSetParameter(z->br, BROTLI_PARAM_SIZE_HINT, (uint32_t)size);
	return 0;
}

/* A finished gzip stream of pool made at level with wbits, taken out of
 * it and reset. Returns it, or NULL (none). */
static struct gw_zstream *pool_take(struct gw_zpool *pool, int level, int wbits)
{
	struct gw_zstream **pp, *z;

	for (pp = pool ? &pool->head : NULL; pp && *pp; pp = &(*pp)->next) {
		z = *pp;
		if (z->level != level || z->wbits != wbits)
			continue;
		*pp = z->next;
		pool->n--;
		if (deflateReset(&z->zs) != Z_OK) {
			gw_zstream_free(NULL, z);
			return NULL;
		}
		z->next = NULL;
		z->start = z->end = z->in = z->out = 0;
		z->last = z->done = 0;
		z->held = z->kept = 0;
		return z;
	}
	return NULL;
}

struct gw_zstream *gw_zstream_new(struct gw_zpool *pool, int br, int level, size_t size)
{
	struct gw_zstream *z;
	int wbits, mem;
	size_t bound;

	gz_sizes(size, &wbits, &mem);
	if (!br && (z = pool_take(pool, level, wbits)))
		return z;
	z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->level = level;
	z->wbits = wbits;
	if (br) {
		if (br_init(z, level, size)) {
			free(z);
			return NULL;
		}
		bound = BrotliEncoderMaxCompressedSize(GW_Z_IN);
	} else {
		/* windowBits + 16: a gzip wrapper */
		if (deflateInit2(&z->zs, level, Z_DEFLATED, wbits + 16, mem, Z_DEFAULT_STRATEGY) !=
		    Z_OK) {
			free(z);
			return NULL;
		}
		/* held input (GW_Z_IN at most) and a feed are flushed together */
		bound = deflateBound(&z->zs, 2 * GW_Z_IN);
	}
	/* a flushed feed never takes more than the bound, plus the header,
	 * the flush's marker and the trailer */
	z->cap = HEAD_ROOM + bound + 64 + TAIL_ROOM;
	z->buf = malloc(z->cap);
	if (!z->buf) {
		gw_zstream_free(NULL, z);
		return NULL;
	}
	return z;
}

void gw_zstream_free(struct gw_zpool *pool, struct gw_zstream *z)
{
	struct gw_zstream **pp;

	if (!z)
		return;
	if (pool && !z->br && z->buf) {
		z->next = pool->head;	/* the newest first; the oldest goes */
		pool->head = z;
		if (++pool->n <= GW_ZPOOL_MAX)
			return;
		for (pp = &pool->head; (*pp)->next; pp = &(*pp)->next)
			;
		z = *pp;
		*pp = NULL;
		pool->n--;
	}
	if (z->br)
		BrotliEncoderDestroyInstance(z->br);
	else
		deflateEnd(&z->zs);
	free(z->buf);
	free(z);
}

void gw_zpool_clear(struct gw_zpool *pool)
{
	struct gw_zstream *z;

	while ((z = pool->head)) {
		pool->head = z->next;
		gw_zstream_free(NULL, z);
	}
	pool->n = 0;
}

/* Compresses in[len] with brotli into out[*cap] (flushed, or finished
 * with last); *cap gets the bytes made. Returns 0 or -EIO. */
static int br_feed(struct gw_zstream *z, const char *in, size_t len, int last, char *out,
		   size_t *cap)
{
	const uint8_t *ni = (const uint8_t *)in;
	uint8_t *no = (uint8_t *)out;
	size_t ai = len, ao = *cap;
	BrotliEncoderOperation op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;

	do {
		if (!BrotliEncoderCompressStream(z->br, op, &ai, &ni, &ao, &no, NULL) || !ao)
			return -EIO;
	} while (ai || BrotliEncoderHasMoreOutput(z->br) ||
		 (last && !BrotliEncoderIsFinished(z->br)));
	*cap -= ao;
	return 0;
}

/* Compresses in[len] with zlib into out[*cap] (how: GW_Z_*; a hold is
 * Z_NO_FLUSH). Returns 0 or -EIO. */
static int gz_feed(struct gw_zstream *z, const char *in, size_t len, int how, char *out,
		   size_t *cap)
{
	int rc;

	z->zs.next_in = (Bytef *)in;
	z->zs.avail_in = (uInt)len;
	z->zs.next_out = (Bytef *)out;
	z->zs.avail_out = (uInt)*cap;
	rc = deflate(&z->zs, how == GW_Z_LAST ? Z_FINISH : how == GW_Z_HOLD ? Z_NO_FLUSH :
		     Z_SYNC_FLUSH);
	if ((how == GW_Z_LAST && rc != Z_STREAM_END) ||
	    (how != GW_Z_LAST && rc != Z_OK && rc != Z_BUF_ERROR) || z->zs.avail_in)
		return -EIO;
	*cap -= z->zs.avail_out;
	return 0;
}

/* Frames the made bytes at buf + HEAD_ROOM as a chunk (none when made is
 * 0), with the last chunk after it when last. */
static void frame(struct gw_zstream *z, size_t made, int last)
{
	char hex[HEAD_ROOM + 1];
	int hl;

	z->start = z->end = HEAD_ROOM;
	if (made) {
		hl = snprintf(hex, sizeof(hex), "%zx\r\n", made);
		z->start = HEAD_ROOM - (size_t)hl;
		memcpy(z->buf + z->start, hex, (size_t)hl);
		z->end = HEAD_ROOM + made;
		memcpy(z->buf + z->end, "\r\n", 2);
		z->end += 2;
	}
	if (last) {
		memcpy(z->buf + z->end, "0\r\n\r\n", 5);
		z->end += 5;
		z->last = 1;
	}
}

int gw_zstream_feed(struct gw_zstream *z, const char *in, size_t len, int how)
{
	size_t made = z->cap - HEAD_ROOM - TAIL_ROOM - z->kept;
	char *to = z->buf + HEAD_ROOM + z->kept;
	int last = how == GW_Z_LAST;

	if (z->start < z->end)
		return -EBUSY;
	if (len > GW_Z_IN || z->last)
		return -EINVAL;
	/* the buffer's bound: what is held and one more feed */
	if (how == GW_Z_HOLD && (z->br || !len || z->held + len > GW_Z_IN))
		how = GW_Z_FLUSH;
	if (z->br ? br_feed(z, in, len, last, to, &made) : gz_feed(z, in, len, how, to, &made))
		return -EIO;
	z->in += len;
	z->out += made;
	if (how == GW_Z_HOLD) {
		/* kept for the chunk of the feed that flushes */
		z->held += len;
		z->kept += made;
		z->start = z->end = 0;
		return 0;
	}
	frame(z, z->kept + made, last);
	z->held = z->kept = 0;
	return 0;
}

int gw_zstream_held(const struct gw_zstream *z)
{
	return !!z->held;
}

size_t gw_zstream_pending(const struct gw_zstream *z, const char **p)
{
	*p = z->buf + z->start;
	return z->end - z->start;
}

void gw_zstream_sent(struct gw_zstream *z, size_t n)
{
	z->start += n;
	if (z->start >= z->end && z->last)
		z->done = 1;
}

int gw_zstream_done(const struct gw_zstream *z)
{
	return z->done;
}

void gw_zstream_counts(const struct gw_zstream *z, size_t *in, size_t *out)
{
	*in = z->in;
	*out = z->out;
}
