// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The cluster's Redis client (redis.h): a non-blocking socket driven by
 * poll() against one deadline per exchange, OpenSSL for TLS, hiredis for
 * RESP. hiredis 0.14 (Debian's) has no TLS, so the transport is ours and
 * hiredis only formats commands and parses replies.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cluster/redis.h"
#include "gw/abi.h"

#define NSEC_PER_MSEC 1000000ull

struct gw_redis {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	redisReader *reader;
	__u64 timeout_ns;
	__u64 deadline;		/* of the exchange under way */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Waits for events on the fd until the deadline. Returns 0 or -ETIMEDOUT
 * (or -errno from poll). */
static int wait_fd(struct gw_redis *r, short events)
{
	struct pollfd p = { .fd = r->fd, .events = events };
	__u64 now = mono_ns();
	int ms, n;

	if (now >= r->deadline)
		return -ETIMEDOUT;
	ms = (int)((r->deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
	do {
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* What an SSL call's failure asks for: 0 after waiting for it, else -errno. */
static int ssl_wait(struct gw_redis *r, int ret)
{
	switch (SSL_get_error(r->ssl, ret)) {
	case SSL_ERROR_WANT_READ: return wait_fd(r, POLLIN);
	case SSL_ERROR_WANT_WRITE: return wait_fd(r, POLLOUT);
	case SSL_ERROR_ZERO_RETURN: return -EPIPE;
	default: return -EPROTO;
	}
}

/* One send (out) or receive attempt on the plain or TLS socket, waiting
 * (until the deadline) when the socket is not ready. buf is only read when
 * out is true. Returns the bytes moved, 0 when the caller should try again,
 * or -errno (-EPIPE at the end of the stream). */
static ssize_t io_once(struct gw_redis *r, bool out, void *buf, size_t len)
{
	ssize_t n;

	if (r->ssl) {
		n = out ? SSL_write(r->ssl, buf, (int)len) : SSL_read(r->ssl, buf, (int)len);
		return n > 0 ? n : ssl_wait(r, (int)n);
	}
	n = out ? send(r->fd, buf, len, MSG_NOSIGNAL) : recv(r->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n == 0)
		return -EPIPE;
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN)
		return -errno;
	return wait_fd(r, out ? POLLOUT : POLLIN);
}

/* Writes all of buf before the deadline. Returns 0 or -errno. */
static int write_all(struct gw_redis *r, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = io_once(r, true, (void *)buf, len);

		if (n < 0)
			return (int)n;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads what is there (waiting for something) into the reader. Returns 0
 * or -errno. */
static int read_some(struct gw_redis *r)
{
	char buf[16384];
	ssize_t n;

	do {
		n = io_once(r, false, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
	} while (!n);
	return redisReaderFeed(r->reader, buf, (size_t)n) == REDIS_OK ? 0 : -EPROTO;
}

/* The next whole reply. Returns 0 or -errno. */
static int read_reply(struct gw_redis *r, redisReply **out)
{
	void *reply = NULL;
	int err;

	for (;;) {
		if (redisReaderGetReply(r->reader, &reply) != REDIS_OK)
			return -EPROTO;
		if (reply) {
			*out = reply;
			return 0;
		}
		err = read_some(r);
		if (err)
			return err;
	}
}

int gw_redis_pipeline(struct gw_redis *r, size_t n, const int *argc, const char **const *argv,
		      redisReply **replies)
{
	char *cmd = NULL, *all = NULL;
	size_t len = 0, i, got = 0;
	int err = 0;

	r->deadline = mono_ns() + r->timeout_ns;
	for (i = 0; i < n; i++) {
		int clen = redisFormatCommandArgv(&cmd, argc[i], argv[i], NULL);
		char *grown;

		if (clen < 0 || !(grown = realloc(all, len + (size_t)clen))) {
			free(cmd);
			free(all);
			return -ENOMEM;
		}
		all = grown;
		memcpy(all + len, cmd, (size_t)clen);
		len += (size_t)clen;
		redisFreeCommand(cmd);
		cmd = NULL;
	}
	err = write_all(r, all, len);
	free(all);
	while (!err && got < n) {
		err = read_reply(r, &replies[got]);
		if (!err)
			got++;
	}
	if (err)
		while (got)
			freeReplyObject(replies[--got]);
	return err;
}

int gw_redis_cmd(struct gw_redis *r, redisReply **reply, int argc, const char **argv)
{
	const char **const v[1] = { argv };

	return gw_redis_pipeline(r, 1, &argc, v, reply);
}

/* Opens the socket and starts a non-blocking connect. Returns 0 or -errno. */
static int open_socket(struct gw_redis *r, const struct gw_redis_addr *a)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int one = 1;

	if (a->is_unix) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;

		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", a->path);
		sl = sizeof(*un);
	} else if (a->ep.ip.family == GW_FAMILY_V4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->ep.port);
		memcpy(&in->sin_addr, a->ep.ip.addr, 4);
		sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->ep.port);
		memcpy(&in6->sin6_addr, a->ep.ip.addr, 16);
		sl = sizeof(*in6);
	}
	r->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (!a->is_unix)
		setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(r->fd, (struct sockaddr *)&ss, sl) == 0)
		return 0;
	return errno == EINPROGRESS || errno == EAGAIN ? 1 : -errno;
}

/* Finishes a connect in progress. Returns 0 or -errno. */
static int finish_connect(struct gw_redis *r)
{
	socklen_t sl = sizeof(int);
	int err = wait_fd(r, POLLOUT), soerr = 0;

	if (err)
		return err;
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
		return -errno;
	return -soerr;
}

/* The TLS handshake over the connected socket. Returns 0 or -EPROTO. */
static int start_tls(struct gw_redis *r, const struct gw_redis_opts *o)
{
	int ret, err;

	r->ctx = SSL_CTX_new(TLS_client_method());
	if (!r->ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca ? SSL_CTX_load_verify_locations(r->ctx, o->ca, NULL) != 1 :
		    SSL_CTX_set_default_verify_paths(r->ctx) != 1)
		return -EPROTO;
	r->ssl = SSL_new(r->ctx);
	if (!r->ssl || SSL_set_fd(r->ssl, r->fd) != 1)
		return -ENOMEM;
	if (o->server_name) {
		SSL_set_tlsext_host_name(r->ssl, o->server_name);
		if (SSL_set1_host(r->ssl, o->server_name) != 1)
			return -ENOMEM;
	}
	while ((ret = SSL_connect(r->ssl)) != 1) {
		err = ssl_wait(r, ret);
		if (err)
			return err;
	}
	return 0;
}

/* AUTH with the password. Returns 0, -EACCES when refused, or -errno. */
static int auth(struct gw_redis *r, const char *password)
{
	const char *argv[] = { "AUTH", password };
	redisReply *rep;
	int err = gw_redis_cmd(r, &rep, 2, argv);

	if (err)
		return err;
	err = rep->type == REDIS_REPLY_ERROR ? -EACCES : 0;
	freeReplyObject(rep);
	return err;
}

int gw_redis_connect(const struct gw_redis_opts *o, struct gw_redis **out)
{
	struct gw_redis *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->timeout_ns = o->timeout_ns;
	r->deadline = mono_ns() + o->timeout_ns;
	r->reader = redisReaderCreate();
	err = r->reader ? open_socket(r, &o->addr) : -ENOMEM;
	if (err == 1)
		err = finish_connect(r);
	if (!err && o->tls)
		err = start_tls(r, o);
	if (!err && o->password)
		err = auth(r, o->password);
	if (err) {
		gw_redis_close(r);
		return err;
	}
	*out = r;
	return 0;
}

void gw_redis_close(struct gw_redis *r)
{
	if (!r)
		return;
	if (r->ssl)
		SSL_free(r->ssl);
	if (r->ctx)
		SSL_CTX_free(r->ctx);
	if (r->reader)
		redisReaderFree(r->reader);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int gw_redis_read_password(const char *path, char **out)
{
	char buf[1024];
	size_t len;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}
