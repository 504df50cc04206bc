// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LD_PRELOAD shim for wrk in bench/l7.sh: what wrk's TLS connections
 * really negotiated, and an option to make every one a full handshake.
 *
 * wrk ends a connection with SSL_shutdown() + SSL_clear() and reuses the
 * SSL: SSL_clear() keeps the session, so its next connection offers the
 * last ticket and resumes. This shim wraps SSL_clear() to count, before
 * the reset, the connections that finished a handshake, how many resumed,
 * and their protocol and cipher; with GW_SHIM_FULL=1 it also drops the
 * session, so the next connection is a full handshake. SSL_new() is
 * wrapped to count the session tickets the server sends (a new-session
 * callback on wrk's context that leaves the session to OpenSSL).
 *
 * At exit it prints one line to stderr:
 *   wrk-tls: conns N resumed R tickets T proto TLSv1.3 cipher NAME other K
 * where `other` counts connections whose protocol or cipher differed from
 * the first one's.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ssl.h>

static atomic_ulong n_conns, n_reused, n_tickets, n_other;
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static char first[128];
static int full;

static int (*real_clear)(SSL *);
static SSL *(*real_new)(SSL_CTX *);

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	(void)sess;
	atomic_fetch_add(&n_tickets, 1);
	return 0;	/* OpenSSL keeps its reference */
}

__attribute__((constructor)) static void setup(void)
{
	const char *e = getenv("GW_SHIM_FULL");

	full = e && !strcmp(e, "1");
	real_new = (SSL *(*)(SSL_CTX *))dlsym(RTLD_NEXT, "SSL_new");
	real_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
	if (!real_new || !real_clear) {
		fprintf(stderr, "wrk-tls: no SSL_new/SSL_clear to wrap: %s\n", dlerror());
		abort();
	}
}

SSL *SSL_new(SSL_CTX *ctx)
{
	if (ctx && SSL_CTX_sess_get_new_cb(ctx) != new_session_cb)
		SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	return real_new(ctx);
}

static void count(SSL *s)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(s);
	char what[128];

	atomic_fetch_add(&n_conns, 1);
	if (SSL_session_reused(s))
		atomic_fetch_add(&n_reused, 1);
	snprintf(what, sizeof(what), "proto %s cipher %s", SSL_get_version(s),
		 c ? SSL_CIPHER_get_name(c) : "none");
	pthread_mutex_lock(&first_lock);
	if (!first[0])
		memcpy(first, what, sizeof(first));
	else if (strcmp(first, what))
		atomic_fetch_add(&n_other, 1);
	pthread_mutex_unlock(&first_lock);
}

int SSL_clear(SSL *s)
{
	if (SSL_is_init_finished(s))
		count(s);
	if (full)
		SSL_set_session(s, NULL);	/* the next handshake is a full one */
	return real_clear(s);
}

__attribute__((destructor)) static void report(void)
{
	fprintf(stderr, "wrk-tls: conns %lu resumed %lu tickets %lu %s other %lu\n",
		atomic_load(&n_conns), atomic_load(&n_reused), atomic_load(&n_tickets),
		first[0] ? first : "proto none cipher none", atomic_load(&n_other));
}
