// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The h2c upstream translator (agent/proxy/h2up.c): the input is what an
 * HTTP/2 server sends after a selector byte (bit 0 clear: an empty
 * SETTINGS frame first; bit 1 set: the proxy sends its request). The
 * harness is the proxy (an HTTP/1.1 POST with a chunked body written to
 * its end of the socket pair, the answer read back) and the server (a
 * Unix socket the translator connects to), on a real event loop run for a
 * few milliseconds; then both ends close and the translator must be gone.
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
	static const uint8_t settings[9] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t sl;
	struct gw_loop *loop;
	char buf[65536];
	int ls, srv, px;

	if (size < 1 || size > 16384)
		return 0;
	FZ_CHECK(!gw_loop_new(&loop));
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			 (size_t)snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
					  "gw-fuzz-h2up-%d", getpid()));
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FZ_CHECK(ls >= 0 && !bind(ls, (struct sockaddr *)&sun, sl) && !listen(ls, 4));
	px = gw_h2up_open(loop, (struct sockaddr *)&sun, sl);
	FZ_CHECK(px >= 0);
	srv = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	FZ_CHECK(srv >= 0);
	close(ls);
	if (data[0] & 2)
		FZ_CHECK(send(px, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1);
	if (!(data[0] & 1))
		FZ_CHECK(send(srv, settings, sizeof(settings), MSG_NOSIGNAL) == 9);
	(void)!send(srv, data + 1, size - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	run_for(loop, 2);
	while (recv(px, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	while (recv(srv, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	close(px);
	close(srv);
	run_for(loop, 1);	/* the translator sees both ends go */
	gw_loop_free(loop);	/* and its deferred free runs */
	return 0;
}
