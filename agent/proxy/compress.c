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

struct gw_zstream {
	z_stream zs;
	BrotliEncoderState *br;	/* br; NULL: gzip */
	size_t start, end;	/* pending bytes of buf */
	size_t cap;
	size_t in, out;
	int last, done;
	char *buf;
};

/* A brotli encoder at quality level, with a 256 KiB window (lgwin 18):
 * its state stays near a megabyte. Returns 0 or -ENOMEM. */
static int br_init(struct gw_zstream *z, int level)
{
	z->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
	if (!z->br)
		return -ENOMEM;
	BrotliEncoderSetParameter(z->br, BROTLI_PARAM_QUALITY, (uint32_t)level);
	BrotliEncoderSetParameter(z->br, BROTLI_PARAM_LGWIN, 18);
	return 0;
}

struct gw_zstream *gw_zstream_new(int br, int level)
{
	struct gw_zstream *z = calloc(1, sizeof(*z));
	size_t bound;

	if (!z)
		return NULL;
	if (br) {
		if (br_init(z, level)) {
			free(z);
			return NULL;
		}
		bound = BrotliEncoderMaxCompressedSize(GW_Z_IN);
	} else {
		/* windowBits 15 + 16: a gzip wrapper */
		if (deflateInit2(&z->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK) {
			free(z);
			return NULL;
		}
		bound = deflateBound(&z->zs, GW_Z_IN);
	}
	/* a flushed feed never takes more than the bound, plus the header,
	 * the flush's marker and the trailer */
	z->cap = HEAD_ROOM + bound + 64 + TAIL_ROOM;
	z->buf = malloc(z->cap);
	if (!z->buf) {
		gw_zstream_free(z);
		return NULL;
	}
	return z;
}

void gw_zstream_free(struct gw_zstream *z)
{
	if (!z)
		return;
	if (z->br)
		BrotliEncoderDestroyInstance(z->br);
	else
		deflateEnd(&z->zs);
	free(z->buf);
	free(z);
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

/* Compresses in[len] with zlib into out[*cap]. Returns 0 or -EIO. */
static int gz_feed(struct gw_zstream *z, const char *in, size_t len, int last, char *out,
		   size_t *cap)
{
	int rc;

	z->zs.next_in = (Bytef *)in;
	z->zs.avail_in = (uInt)len;
	z->zs.next_out = (Bytef *)out;
	z->zs.avail_out = (uInt)*cap;
	rc = deflate(&z->zs, last ? Z_FINISH : Z_SYNC_FLUSH);
	if ((last && rc != Z_STREAM_END) || (!last && rc != Z_OK && rc != Z_BUF_ERROR) ||
	    z->zs.avail_in)
		return -EIO;
	*cap -= z->zs.avail_out;
	return 0;
}

int gw_zstream_feed(struct gw_zstream *z, const char *in, size_t len, int last)
{
	char hex[HEAD_ROOM + 1];
	size_t made = z->cap - HEAD_ROOM - TAIL_ROOM;
	int hl;

	if (z->start < z->end)
		return -EBUSY;
	if (len > GW_Z_IN || z->last)
		return -EINVAL;
	if ((z->br ? br_feed : gz_feed)(z, in, len, last, z->buf + HEAD_ROOM, &made))
		return -EIO;
	z->in += len;
	z->out += made;
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
	return 0;
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
