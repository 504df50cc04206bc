// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * HTTP/1.1 request heads (agent/http/http1.c), differentially:
 *   - parsing the input one byte at a time gives what one call gives
 *     (result, status, every span and framing field);
 *   - the head gw forwards (gw_http_req_build) parses again, whole, to the
 *     same method, target and framing;
 *   - a chunked body after the head scans the same in one call, byte by
 *     byte, and through gw_chunk_parse (fuzz.h).
 */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "http/http1.h"

#define NHDR   64
#define OUTCAP 65536

/* Checks that two parses of the same bytes agree. Returns nothing. */
static void same_req(const struct gw_http_req *a, const struct gw_http_req *b)
{
	uint16_t i;

	FZ_CHECK(a->method == b->method && a->form == b->form);
	FZ_CHECK(!memcmp(&a->target, &b->target, sizeof(a->target)));
	FZ_CHECK(!memcmp(&a->path, &b->path, sizeof(a->path)));
	FZ_CHECK(!memcmp(&a->query, &b->query, sizeof(a->query)));
	FZ_CHECK(!memcmp(&a->authority, &b->authority, sizeof(a->authority)));
	FZ_CHECK(a->has_query == b->has_query && a->host_idx == b->host_idx);
	FZ_CHECK(a->expect_continue == b->expect_continue && a->upgrade == b->upgrade);
	FZ_CHECK(a->h.nhdr == b->h.nhdr && a->h.minor == b->h.minor);
	for (i = 0; i < a->h.nhdr; i++)
		FZ_CHECK(!memcmp(&a->h.hdr[i], &b->h.hdr[i], sizeof(a->h.hdr[i])));
	FZ_CHECK(a->h.body == b->h.body && a->h.content_length == b->h.content_length);
	FZ_CHECK(a->h.nte == b->h.nte && !memcmp(a->h.te, b->h.te, sizeof(a->h.te)));
	FZ_CHECK(a->h.keep_alive == b->h.keep_alive && a->h.has_cl == b->h.has_cl);
}

/* Parses p[len] one byte more a call (each time from an exact-size copy).
 * Returns the last result. */
static int parse_bytewise(struct gw_http_req *req, const char *p, size_t len)
{
	size_t i;
	char *c;
	int rc = 0;

	for (i = 1; i <= len && rc == 0; i++) {
		c = fz_dup(p, i);
		rc = gw_http_req_parse(req, c, i);
		free(c);
	}
	return rc;
}

/* Builds the forwarded head of req and checks it parses to the same
 * framing. `sel` picks the Connection field. Returns nothing. */
static void check_forwarded(const struct gw_http_req *req, const char *buf, unsigned int sel)
{
	static const char *const remove[] = { "x-remove", "cookie" };
	static const struct gw_http_kv add[] = { { "X-Added", "1" } };
	static const uint8_t rnd[24] = { 1, 2, 3 };
	struct gw_http_fwd f = {
		.remove = remove,
		.n_remove = 2,
		.add = add,
		.n_add = 1,
		.client_addr = "192.0.2.1",
		.proto = "https",
		.request_id = "fuzz-1",
		.trace_rand = rnd,
		.trace_flags = 1,
		.conn = (uint8_t)(sel % 4),
	};
	struct gw_http_hdr hdrs[NHDR + 16];
	struct gw_http_req re;
	char *out = malloc(OUTCAP);
	int n, rc;

	FZ_CHECK(out != NULL);
	n = gw_http_req_build(req, buf, &f, out, OUTCAP);
	FZ_CHECK(n > 0 || n == -ENOSPC || n == -EINVAL);
	if (n > 0) {
		char *o = fz_dup(out, (size_t)n);

		gw_http_req_init(&re, hdrs, NHDR + 16, NULL);
		rc = gw_http_req_parse(&re, o, (size_t)n);
		if (rc != n)
			fprintf(stderr, "forwarded head: rc %d of %d (%u %s):\n%.*s\n", rc, n,
				re.h.status, re.h.reason ? re.h.reason : "", n, out);
		FZ_CHECK(rc == n);
		FZ_CHECK(re.method == req->method);
		FZ_CHECK(re.h.body == req->h.body);
		FZ_CHECK(re.h.content_length == req->h.content_length);
		FZ_CHECK(re.h.nte == req->h.nte && !memcmp(re.h.te, req->h.te, req->h.nte));
		free(o);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_http_hdr h1[NHDR], h2[NHDR];
	struct gw_http_req a, b;
	const char *buf = (const char *)data;
	int ra, rb;

	if (size > 8192)
		return 0;
	gw_http_req_init(&a, h1, NHDR, NULL);
	ra = gw_http_req_parse(&a, buf, size);
	FZ_CHECK(ra == 0 || ra == -EBADMSG || (ra > 0 && (size_t)ra <= size));
	if (ra < 0)
		FZ_CHECK(a.h.status >= 400 && a.h.status < 600 && a.h.reason);

	gw_http_req_init(&b, h2, NHDR, NULL);
	rb = parse_bytewise(&b, buf, size);
	if (ra != rb)
		fprintf(stderr, "one call %d (%u %s), byte by byte %d (%u %s)\n", ra, a.h.status,
			a.h.reason ? a.h.reason : "", rb, b.h.status, b.h.reason ? b.h.reason : "");
	FZ_CHECK(ra == rb);
	if (ra < 0) {
		FZ_CHECK(a.h.status == b.h.status);
		return 0;
	}
	if (ra == 0)
		return 0;
	same_req(&a, &b);
	check_forwarded(&a, buf, (unsigned int)size);
	if (a.h.body == GW_BODY_CHUNKED && (size_t)ra < size) {
		struct gw_chunk_limits lim = { .max_ext = 64, .max_trailer = 512 };

		fz_chunk_diff(buf + ra, size - (size_t)ra, &lim, false);
	}
	return 0;
}
