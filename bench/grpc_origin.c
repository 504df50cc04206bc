// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A small gRPC origin for bench/h2.sh: h2c with prior knowledge on
 * 127.0.0.1:PORT, one thread per listener socket (SO_REUSEPORT), each
 * with its own epoll loop; every request (any path) gets the same unary
 * answer: 200, content-type application/grpc, the 5-byte message "hello"
 * in gRPC framing, and the trailers grpc-status 0. Fast enough that the
 * proxies in front of it, not it, set the pace.
 *
 *   grpc_origin PORT THREADS
 *
 * Built by bench/h2.sh with cc -O2 ... -lnghttp2 -lpthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <nghttp2/nghttp2.h>

static const unsigned char reply[10] = { 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
static int port;

struct conn {
	int fd;
	nghttp2_session *s;
};

/* The answer's body: the one message, then EOF with trailers. */
static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	(void)len, (void)src, (void)arg;
	static const nghttp2_nv tr[] = {
		{ (uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE },
	};

	memcpy(buf, reply, sizeof(reply));
	*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	if (nghttp2_submit_trailer(s, id, tr, 1))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return sizeof(reply);
}

/* A request that ended: its answer. Returns 0 or an nghttp2 error. */
static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	static const nghttp2_nv hd[] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
		  NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider prd = { .read_callback = body_read };

	(void)arg;
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	return nghttp2_submit_response(s, f->hd.stream_id, hd, 2, &prd) ?
		       NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

/* Sends what the session has. Returns 0, or -1 when the connection is
 * done. */
static int flush(struct conn *c)
{
	const uint8_t *p;
	ssize_t n, w;

	for (;;) {
		n = nghttp2_session_mem_send(c->s, &p);
		if (n <= 0)
			return n < 0 ? -1 : 0;
		while (n > 0) {
			w = send(c->fd, p, (size_t)n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;	/* blocking socket: a real error */
			p += w;
			n -= w;
		}
	}
}

/* Reads and answers. Returns 0, or -1 when the connection is done. */
static int serve(struct conn *c)
{
	uint8_t buf[65536];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (nghttp2_session_mem_recv(c->s, buf, (size_t)n) != n || flush(c))
			return -1;
	}
}

static struct conn *conn_new(int fd, nghttp2_session_callbacks *cb)
{
	nghttp2_settings_entry set[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000 } };
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nghttp2_session_server_new(&c->s, cb, c) ||
	    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, set, 1) || flush(c)) {
		free(c);
		return NULL;
	}
	return c;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	nghttp2_session_del(c->s);
	free(c);
}

/* One listener and its loop. Returns NULL when it fails. */
static void *worker(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	nghttp2_session_callbacks *cb;
	struct epoll_event ev, evs[64];
	int ls, ep, one = 1, i, n, fd;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1024)) {
		perror("grpc_origin: listen");
		exit(1);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c) {
				if (serve(c))
					conn_free(c);	/* closing the fd leaves the epoll set */
				continue;
			}
			fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			c = conn_new(fd, cb);
			if (!c) {
				close(fd);
				continue;
			}
			ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t;
	int i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: grpc_origin PORT THREADS\n");
		return 2;
	}
	port = atoi(argv[1]);
	n = atoi(argv[2]);
	for (i = 1; i < n; i++)
		pthread_create(&t, NULL, worker, NULL);
	worker(NULL);
	return 0;
}
