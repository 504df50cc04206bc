// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The HTTP/2 upstream translator (agent/proxy/h2up.c): the input is what
 * an HTTP/2 server sends after a selector byte (bit 0 clear: an empty
 * SETTINGS frame first; bit 1 set: a second channel sends a GET on the
 * same session, the limit being two streams). The harness is the proxy
 * (an HTTP/1.1 POST with a chunked body written to a channel, the answers
 * read back) and the server (a Unix socket the session connects to once
 * a request came), on a real event loop run for a few milliseconds; then
 * every end closes and the channels and session must be gone.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fuzz.h"
#include "core/loop.h"
#include "proxy/h2up.h"

struct stopper {
	struct gw_timer t;
	struct gw_loop *loop;
};

static struct stopper stopper;

static void stop_cb(struct gw_timer *t)
{
	gw_loop_stop(container_of(t, struct stopper, t)->loop);
}

/* Runs the loop for about ms milliseconds. */
static void run_for(struct gw_loop *loop, unsigned int ms)
{
	stopper.loop = loop;
	FZ_CHECK(!gw_timer_start(loop, &stopper.t, ms * 1000000ull, stop_cb));
	FZ_CHECK(!gw_loop_run(loop));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char req[] = "POST /svc/M HTTP/1.1\r\nHost: up.test\r\n"
				  "Content-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n"
				  "\r\n3\r\nabc\r\n0\r\n\r\n";
	static const char get[] = "GET /x HTTP/1.1\r\nHost: up.test\r\n\r\n";
	static const uint8_t settings[9] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct gw_h2up_target t = { .max_streams = 2, .window = 65535, .conn_window = 1 << 20,
				    .header_list = 16384, .table = 4096 };
	socklen_t sl;
	struct gw_loop *loop;
	char buf[65536];
	int ls, srv, px, px2 = -1;

	if (size < 1 || size > 16384)
		return 0;
	FZ_CHECK(!gw_loop_new(&loop));
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			 (size_t)snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
					  "gw-fuzz-h2up-%d", getpid()));
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FZ_CHECK(ls >= 0 && !bind(ls, (struct sockaddr *)&sun, sl) && !listen(ls, 4));
	t.sa = (struct sockaddr *)&sun;
	t.salen = sl;
	px = gw_h2up_open(loop, &t);
	FZ_CHECK(px >= 0);
	FZ_CHECK(send(px, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1);
	if (data[0] & 2) {
		px2 = gw_h2up_open(loop, &t);
		FZ_CHECK(px2 >= 0);
		FZ_CHECK(send(px2, get, sizeof(get) - 1, MSG_NOSIGNAL) ==
			 (ssize_t)sizeof(get) - 1);
	}
	run_for(loop, 1);	/* the channels read their requests: the session connects */
	srv = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	FZ_CHECK(srv >= 0);
	close(ls);
	if (!(data[0] & 1))
		FZ_CHECK(send(srv, settings, sizeof(settings), MSG_NOSIGNAL) == 9);
	(void)!send(srv, data + 1, size - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	run_for(loop, 2);
	while (recv(px, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	while (px2 >= 0 && recv(px2, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	while (recv(srv, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	close(px);
	if (px2 >= 0)
		close(px2);
	close(srv);
	run_for(loop, 1);	/* the translator sees every end go */
	gw_h2up_close_all(loop);
	gw_loop_free(loop);	/* and its deferred free runs */
	return 0;
}
