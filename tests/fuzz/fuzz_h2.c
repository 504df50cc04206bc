// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The HTTP/2 server session (agent/proxy/h2.c): the input is what a client
 * sends after connecting (the preface is prepended unless the first byte
 * is odd, so most inputs reach the frame layer). proxy.c's side is played
 * here: every stream's request is read whole as HTTP/1.1, then answered
 * with a small response (every third one chunked with a trailer, every
 * third one failed: the stream is reset). The input arrives in
 * pieces whose sizes come from its first byte. The event loop's clock and
 * deferred calls are played here too (calls deferred run after each drive,
 * as after a batch of events).
 */
#include <errno.h>

#include "fuzz.h"
#include "core/loop.h"
#include "proxy/h2.h"

struct gw_cli {
	struct gw_h2_stream *st;	/* a stream connection; NULL: the client */
	int closed, answered, n;
	size_t got;
};

#define MAX_DEFER 64

static struct {
	gw_defer_cb fn;
	void *arg;
} defers[MAX_DEFER];
static unsigned int n_defers;
static struct gw_cli client;
static struct gw_h2 *h2;
static const uint8_t *in;
static size_t in_len, in_off, in_step;

__u64 gw_loop_now(const struct gw_loop *l)
{
	return 1000000000ull;
}

int gw_loop_defer(struct gw_loop *l, gw_defer_cb fn, void *arg)
{
	if (n_defers == MAX_DEFER)
		return -ENOMEM;
	defers[n_defers].fn = fn;
	defers[n_defers++].arg = arg;
	return 0;
}

/* Runs the deferred calls (and those they defer, bounded). */
static void run_defers(void)
{
	unsigned int i, n, guard;
	typeof(defers) batch;

	for (guard = 0; guard < 100 && n_defers; guard++) {
		n = n_defers;
		memcpy(batch, defers, n * sizeof(defers[0]));
		n_defers = 0;
		for (i = 0; i < n; i++)
			batch[i].fn(batch[i].arg);
	}
}

int gw_cli_h2_read(struct gw_cli *c, const char **p, size_t *len, int *eof)
{
	size_t avail = in_len - in_off;

	*p = (const char *)in + in_off;
	*len = avail < in_step ? avail : in_step;
	*eof = in_off == in_len;
	return 0;
}

void gw_cli_h2_consume(struct gw_cli *c, size_t n)
{
	FZ_CHECK(n <= in_len - in_off);
	in_off += n;
}

ssize_t gw_cli_h2_write(struct gw_cli *c, const char *p, size_t len)
{
	return (ssize_t)len;
}

const char *gw_cli_h2_peer(const struct gw_cli *c)
{
	return "fuzz";
}

void gw_cli_h2_close(struct gw_cli *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	gw_h2_free(h2);
}

/* A stream connection: reads its request, then answers. */
static void stream_run(struct gw_cli *c)
{
	static const char resp[] = "HTTP/1.1 100 Continue\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n"
				   "X-A: b\r\n\r\nhello";
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\nGrpc-Status: 0\r\n\r\n";
	const char *r = c->n % 3 == 1 ? chunked : resp;
	size_t rl = c->n % 3 == 1 ? sizeof(chunked) - 1 : sizeof(resp) - 1;
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = gw_h2_stream_recv(c->st, buf, sizeof(buf));
		if (n <= 0)
			break;
		c->got += (size_t)n;
	}
	if (n != 0 || c->answered)
		return;	/* the request is not complete yet */
	c->answered = 1;
	if (c->n % 3 == 2) {
		gw_h2_stream_done(c->st, 0);
	} else {
		/* the head whole, then the body in two pieces */
		n = gw_h2_stream_send(c->st, r, rl - 9, r + rl - 9, 9);
		gw_h2_stream_done(c->st, n == (ssize_t)rl);
	}
	free(c);
}

void gw_cli_h2_kick(struct gw_cli *c, int rd, int wr)
{
	if (c == &client) {
		if (!c->closed)
			gw_h2_drive(h2);
		return;
	}
	stream_run(c);
}

struct gw_cli *gw_cli_stream_new(struct gw_cli *parent, struct gw_h2_stream *st)
{
	static int count;
	struct gw_cli *c = calloc(1, sizeof(*c));

	if (c) {
		c->st = st;
		c->n = count++;
	}
	return c;
}

void gw_cli_stream_abort(struct gw_cli *c)
{
	gw_h2_stream_done(c->st, 0);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct gw_l7_cto to = { .h2_streams = 8, .h2_header_list = 4096, .h2_table = 4096,
				.h2_window = 65535, .h2_conn_window = 1 << 20,
				.idle_ns = 1000000000ull };
	uint8_t *buf;
	int guard;

	if (size < 1 || size > 65536)
		return 0;
	in_step = 1 + (size_t)(data[0] >> 1) * 97;
	buf = malloc(size + sizeof(preface));
	FZ_CHECK(buf);
	in_len = 0;
	if (!(data[0] & 1)) {
		memcpy(buf, preface, sizeof(preface) - 1);
		in_len = sizeof(preface) - 1;
	}
	memcpy(buf + in_len, data + 1, size - 1);
	in_len += size - 1;
	in = buf;
	in_off = 0;
	memset(&client, 0, sizeof(client));
	n_defers = 0;
	h2 = gw_h2_new(&client, NULL, &to, NULL);
	FZ_CHECK(h2);
	for (guard = 0; guard < 10000 && !client.closed && in_off < in_len; guard++) {
		gw_h2_drive(h2);
		run_defers();
	}
	gw_cli_h2_close(&client);
	run_defers();	/* frees h2 */
	FZ_CHECK(!n_defers);
	free(buf);
	return 0;
}
