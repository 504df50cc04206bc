// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Streaming validator for chunked bodies (RFC 9112 7.1): the proxy feeds
 * whatever slice it has read, learns how many bytes belong to the body and
 * which are payload, and forwards the original bytes unchanged. A byte
 * state machine walks the framing; payload is skipped in bulk. Strict: hex
 * sizes of at most 16 digits and GW_CHUNK_SIZE_MAX, bounded extensions,
 * exact CRLFs, trailer fields validated like header fields in a bounded
 * section; a trailer field that frames, routes, authenticates or controls
 * the message (RFC 9110 6.5.1: Content-Length, Transfer-Encoding, Host,
 * Set-Cookie ...) is refused, since the bytes are forwarded as they came.
 */
#include <errno.h>
#include <string.h>

#include "http/http1.h"
#include "http/http1_int.h"

#define GW_CHUNK_EXT_DEFAULT	 256
#define GW_CHUNK_TRAILER_DEFAULT 8192
#define GW_CHUNK_SIZE_DIGITS_MAX 16

enum {
	C_SIZE0 = 0, /* first hex digit of a chunk size */
	C_SIZE,	     /* more digits, then extension or CRLF */
	C_BWS,	     /* whitespace after the size: ';' must follow */
	C_EXT,	     /* chunk extension up to CR */
	C_SIZE_LF,   /* LF closing the size line */
	C_DATA,	     /* payload */
	C_DATA_CR,   /* CRLF after the payload */
	C_DATA_LF,
	C_TRL_START, /* a trailer field line or the final CRLF */
	C_TRL_NAME,
	C_TRL_VALUE,
	C_TRL_LF,
	C_END_LF, /* LF of the final CRLF */
	C_DONE,
	C_ERR,
};

void gw_chunk_init(struct gw_chunk *c, const struct gw_chunk_limits *lim, bool upstream)
{
	memset(c, 0, sizeof(*c));
	c->max_ext = lim && lim->max_ext ? lim->max_ext : GW_CHUNK_EXT_DEFAULT;
	c->max_trailer = lim && lim->max_trailer ? lim->max_trailer : GW_CHUNK_TRAILER_DEFAULT;
	c->max_body = lim ? lim->max_body : 0;
	c->max_chunk = lim && lim->max_chunk ? lim->max_chunk : GW_CHUNK_SIZE_MAX;
	c->upstream = upstream;
}

/* Records the error (502 toward an upstream). Returns -EBADMSG. */
static int chunk_fail(struct gw_chunk *c, uint16_t status, const char *reason)
{
	c->status = c->upstream ? 502 : status;
	c->reason = reason;
	c->state = C_ERR;
	return -EBADMSG;
}

/* A byte of a chunk extension or trailer value: CR ends it (state cr_state),
 * anything outside field-value bytes is refused. Returns 0 or chunk_fail(). */
static int text_byte(struct gw_chunk *c, uint8_t b, uint8_t cr_state, const char *why)
{
	if (b == '\r')
		c->state = cr_state;
	else if (!gw_http_is(b, GW_C_VALUE))
		return chunk_fail(c, 400, why);
	return 0;
}

/* The value of hex digit b, or -1. */
static int hexval(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	b |= 0x20;
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	return -1;
}

/* Fields a trailer must not carry (RFC 9110 6.5.1): message framing,
 * routing, request modifiers, authentication, response control and the
 * content's own description. A recipient that merged them into the header
 * section would be misled; gw forwards trailers byte for byte, so it
 * refuses the message instead. Lower case, sorted by nothing. */
static const char *const trailer_denied[] = {
	"content-length", "transfer-encoding", "host", "set-cookie", "cookie",
	"authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate",
	"content-type", "content-encoding", "content-range", "trailer", "te",
	"connection", "keep-alive", "upgrade", "proxy-connection", "expect", "range",
	"location", "age", "cache-control", "expires", "date", "retry-after", "vary",
	"max-forwards", "if-match", "if-none-match", "if-modified-since",
	"if-unmodified-since", "if-range",
};

/* A byte of a trailer field name (a tchar): kept, lower-cased, while the
 * name is short enough to be one of trailer_denied. Returns 0. */
static int trailer_name_byte(struct gw_chunk *c, uint8_t b)
{
	c->state = C_TRL_NAME;
	if (c->tname_len < sizeof(c->tname))
		c->tname[c->tname_len] = (char)(b >= 'A' && b <= 'Z' ? b | 0x20 : b);
	if (c->tname_len < UINT8_MAX)
		c->tname_len++;
	return 0;
}

/* Returns 1 when the trailer field name just read is one of trailer_denied. */
static int trailer_forbidden(const struct gw_chunk *c)
{
	size_t i;

	if (c->tname_len > sizeof(c->tname))
		return 0;
	for (i = 0; i < sizeof(trailer_denied) / sizeof(trailer_denied[0]); i++)
		if (strlen(trailer_denied[i]) == c->tname_len &&
		    !memcmp(trailer_denied[i], c->tname, c->tname_len))
			return 1;
	return 0;
}

/* One framing byte b in state c->state. Returns 0 or chunk_fail(). */
static int chunk_byte(struct gw_chunk *c, uint8_t b)
{
	int v;

	switch (c->state) {
	case C_SIZE0:
	case C_SIZE:
		v = hexval(b);
		if (v >= 0) {
			if (c->digits == GW_CHUNK_SIZE_DIGITS_MAX)
				return chunk_fail(c, 400, "chunk size too large");
			c->left = c->left << 4 | (uint64_t)v;
			c->digits++;
			if (c->left > c->max_chunk)
				return chunk_fail(c, 400, "chunk size too large");
			c->state = C_SIZE;
			return 0;
		}
		if (c->state == C_SIZE0)
			return chunk_fail(c, 400, "invalid chunk size");
		c->ext_len = 0;
		if (b == '\r')
			c->state = C_SIZE_LF;
		else if (b == ';')
			c->state = C_EXT;
		else if (b == ' ' || b == '\t')
			c->state = C_BWS;
		else
			return chunk_fail(c, 400, "invalid chunk size");
		return 0;
	case C_BWS:
	case C_EXT:
		if (++c->ext_len > c->max_ext)
			return chunk_fail(c, 400, "chunk extension too long");
		if (c->state == C_BWS) {
			if (b == ';')
				c->state = C_EXT;
			else if (b != ' ' && b != '\t')
				return chunk_fail(c, 400, "invalid chunk extension");
			return 0;
		}
		return text_byte(c, b, C_SIZE_LF, "invalid chunk extension");
	case C_SIZE_LF:
		if (b != '\n')
			return chunk_fail(c, 400, "bare CR in chunk size line");
		c->digits = 0;
		if (c->left == 0) {
			c->state = C_TRL_START;
			return 0;
		}
		if (c->left > UINT64_MAX - c->total ||
		    (c->max_body && c->total + c->left > c->max_body))
			return chunk_fail(c, 413, "chunked body above the body limit");
		c->state = C_DATA;
		return 0;
	case C_DATA_CR:
		if (b != '\r')
			return chunk_fail(c, 400, "missing CRLF after chunk data");
		c->state = C_DATA_LF;
		return 0;
	case C_DATA_LF:
		if (b != '\n')
			return chunk_fail(c, 400, "missing CRLF after chunk data");
		c->state = C_SIZE0;
		return 0;
	}

	/* the trailer section */
	if (++c->trailer_len > c->max_trailer)
		return chunk_fail(c, 400, "trailer section too large");
	switch (c->state) {
	case C_TRL_START:
		c->tname_len = 0;
		if (b == '\r')
			c->state = C_END_LF;
		else if (gw_http_is(b, GW_C_TCHAR))
			return trailer_name_byte(c, b);
		else if (b == ' ' || b == '\t')
			return chunk_fail(c, 400, "obs-fold in trailer");
		else
			return chunk_fail(c, 400, "invalid trailer field name");
		return 0;
	case C_TRL_NAME:
		if (b == ':') {
			if (trailer_forbidden(c))
				return chunk_fail(c, 400, "framing or control field in trailer");
			c->state = C_TRL_VALUE;
		} else if (b == ' ' || b == '\t') {
			return chunk_fail(c, 400, "whitespace before colon in trailer");
		} else if (!gw_http_is(b, GW_C_TCHAR)) {
			return chunk_fail(c, 400, "invalid trailer field name");
		} else {
			return trailer_name_byte(c, b);
		}
		return 0;
	case C_TRL_VALUE:
		return text_byte(c, b, C_TRL_LF, "invalid character in trailer value");
	case C_TRL_LF:
	case C_END_LF:
		if (b != '\n')
			return chunk_fail(c, 400, "bare CR in trailer section");
		c->state = c->state == C_END_LF ? C_DONE : C_TRL_START;
		return 0;
	}
	return chunk_fail(c, 400, "chunk decoder misuse");
}

int gw_chunk_parse(struct gw_chunk *c, const char *p, size_t len, struct gw_chunk_res *r)
{
	size_t i = 0, n;
	int rc;

	r->used = 0;
	r->data_off = 0;
	r->data_len = 0;
	if (c->state == C_ERR)
		return -EBADMSG;
	while (i < len && c->state != C_DONE) {
		if (c->state == C_DATA) {
			n = len - i;
			if (n > c->left)
				n = (size_t)c->left;
			r->data_off = i;
			r->data_len = n;
			c->left -= n;
			c->total += n;
			if (!c->left)
				c->state = C_DATA_CR;
			r->used = i + n;
			return GW_CHUNK_MORE;
		}
		rc = chunk_byte(c, (uint8_t)p[i++]);
		if (rc) {
			r->used = i;
			return rc;
		}
	}
	r->used = i;
	return c->state == C_DONE ? GW_CHUNK_DONE : GW_CHUNK_MORE;
}

int gw_chunk_scan(struct gw_chunk *c, const char *p, size_t len, size_t *used)
{
	struct gw_chunk_res r;
	size_t off = 0;
	int rc;

	do {
		rc = gw_chunk_parse(c, p + off, len - off, &r);
		off += r.used;
	} while (rc == GW_CHUNK_MORE && off < len);
	*used = off;
	return rc;
}
