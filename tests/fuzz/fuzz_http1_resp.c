// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP/1.1 response heads from upstreams (agent/http/http1.c): the first
 * input byte says whether the request was HEAD and which Connection field
 * gw writes, the rest is what the upstream sent. Checks, as for requests:
 * one byte a call parses as one call does; interim (1xx) heads are followed
 * by the next; the head gw sends the client (gw_http_resp_build) parses to
 * the same code and framing; a chunked body scans the same every way.
 */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "http/http1.h"

#define NHDR   64
#define OUTCAP 65536

/* Checks that two parses of the same bytes agree. Returns nothing. */
static void same_resp(const struct gw_http_resp *a, const struct gw_http_resp *b)
{
	uint16_t i;

	FZ_CHECK(a->code == b->code && a->interim == b->interim && a->switching == b->switching);
	FZ_CHECK(!memcmp(&a->reason_phrase, &b->reason_phrase, sizeof(a->reason_phrase)));
	FZ_CHECK(a->h.nhdr == b->h.nhdr && a->h.minor == b->h.minor);
	for (i = 0; i < a->h.nhdr; i++)
		FZ_CHECK(!memcmp(&a->h.hdr[i], &b->h.hdr[i], sizeof(a->h.hdr[i])));
	FZ_CHECK(a->h.body == b->h.body && a->h.content_length == b->h.content_length);
	FZ_CHECK(a->h.nte == b->h.nte && !memcmp(a->h.te, b->h.te, sizeof(a->h.te)));
	FZ_CHECK(a->h.keep_alive == b->h.keep_alive && a->h.has_cl == b->h.has_cl);
}

/* Parses p[len] one byte more a call. Returns the last result. */
static int parse_bytewise(struct gw_http_resp *resp, const char *p, size_t len)
{
	size_t i;
	char *c;
	int rc = 0;

	for (i = 1; i <= len && rc == 0; i++) {
		c = fz_dup(p, i);
		rc = gw_http_resp_parse(resp, c, i);
		free(c);
	}
	return rc;
}

/* Builds the client's head for resp and checks it parses to the same code
 * and framing. Returns nothing. */
static void check_forwarded(const struct gw_http_resp *resp, const char *buf, uint8_t sel,
			    bool head_request)
{
	static const char *const remove[] = { "x-remove", "server" };
	static const struct gw_http_kv add[] = { { "X-Added", "1" } };
	struct gw_http_rfwd f = {
		.remove = remove,
		.n_remove = 2,
		.add = add,
		.n_add = 1,
		.conn = (uint8_t)((sel >> 1) % 4),
	};
	struct gw_http_hdr hdrs[NHDR + 16];
	struct gw_http_resp re;
	char *out = malloc(OUTCAP);
	int n, rc;

	FZ_CHECK(out != NULL);
	n = gw_http_resp_build(resp, buf, &f, out, OUTCAP);
	FZ_CHECK(n > 0 || n == -ENOSPC || n == -EINVAL);
	if (n > 0) {
		char *o = fz_dup(out, (size_t)n);

		gw_http_resp_init(&re, hdrs, NHDR + 16, NULL, head_request);
		rc = gw_http_resp_parse(&re, o, (size_t)n);
		if (rc != n)
			fprintf(stderr, "client head: rc %d of %d (%s):\n%.*s\n", rc, n,
				re.h.reason ? re.h.reason : "", n, out);
		FZ_CHECK(rc == n);
		FZ_CHECK(re.code == resp->code);
		if (re.h.body != resp->h.body)
			fprintf(stderr, "client head: body %u, upstream's %u:\n%.*s\n", re.h.body,
				resp->h.body, n, out);
		FZ_CHECK(re.h.body == resp->h.body);
		/* Length and codings matter where a body follows: a 1xx head
		 * may lose its Content-Length or Transfer-Encoding. */
		if (resp->h.body == GW_BODY_LENGTH)
			FZ_CHECK(re.h.content_length == resp->h.content_length);
		if (resp->h.body != GW_BODY_NONE)
			FZ_CHECK(re.h.nte == resp->h.nte &&
				 !memcmp(re.h.te, resp->h.te, resp->h.nte));
		free(o);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_http_hdr h1[NHDR], h2[NHDR];
	struct gw_http_resp a, b;
	const char *buf;
	bool head_request;
	int ra, rb, heads = 0;
	uint8_t sel;

	if (size < 1 || size > 8192)
		return 0;
	sel = data[0];
	head_request = sel & 1;
	buf = (const char *)data + 1;
	size--;
	/* Interim heads, then the final one. */
	for (;;) {
		gw_http_resp_init(&a, h1, NHDR, NULL, head_request);
		ra = gw_http_resp_parse(&a, buf, size);
		FZ_CHECK(ra == 0 || ra == -EBADMSG || (ra > 0 && (size_t)ra <= size));
		if (ra < 0)
			FZ_CHECK(a.h.status == 502 && a.h.reason);
		gw_http_resp_init(&b, h2, NHDR, NULL, head_request);
		rb = parse_bytewise(&b, buf, size);
		FZ_CHECK(ra == rb);
		if (ra <= 0)
			return 0;
		same_resp(&a, &b);
		check_forwarded(&a, buf, sel, head_request);
		if (!a.interim || ++heads > 4)
			break;
		buf += ra;
		size -= (size_t)ra;
	}
	if (a.h.body == GW_BODY_CHUNKED && (size_t)ra < size) {
		struct gw_chunk_limits lim = { .max_ext = 64, .max_trailer = 512 };

		fz_chunk_diff(buf + ra, size - (size_t)ra, &lim, true);
	}
	return 0;
}
