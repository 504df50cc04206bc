// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TLS client contexts for upstreams (upstream_tls.h, docs/tls.md).
 *
 * Sessions: the context keeps no internal cache; OpenSSL hands every new
 * session (a TLS 1.2 ticket at the handshake's end, TLS 1.3 tickets after
 * it) to new_session_cb(), which stores it in the slot of the server the
 * SSL talks to. The next SSL to that server offers it. A TLS 1.3 ticket is
 * single use in spirit (RFC 8446 C.4), and servers send new ones on each
 * resumption, so the slot always holds the newest.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/prom.h"
#include "l7/upstream.h"
#include "l7/upstream_tls.h"

#define UPTLS_CIPHERS                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"      \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"      \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* One server's cached session. Slots live as long as their context. */
struct sess_slot {
	struct sess_slot *next;
	struct gw_endpoint addr;
	SSL_SESSION *sess;		/* under the context's lock */
};

struct gw_uptls {
	atomic_uint refs;
	SSL_CTX *ctx;
	char *sni;			/* NULL: no SNI */
	char *verify_name;		/* NULL: the server's address */
	int verify;
	pthread_mutex_t lock;
	struct sess_slot *slots;
	atomic_ulong full, resumed;
};

static int ssl_slot_idx = -1;		/* SSL ex_data: its server's slot */
static int ssl_ctx_idx = -1;		/* SSL ex_data: its gw_uptls (a reference) */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void ssl_ref_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	gw_uptls_put(ptr);
}

static void init_once_cb(void)
{
	ssl_slot_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ssl_ctx_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_ref_free);
}

/* Stores a copy of a new session in its server's slot: the connection's
 * own object is marked not resumable when the connection ends without a
 * close_notify (or fails), and that must not spoil the slot. The offer is
 * a copy for the same reason. Returns 0 (OpenSSL keeps its own). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct sess_slot *slot = SSL_get_ex_data(ssl, ssl_slot_idx);
	struct gw_uptls *t = SSL_get_ex_data(ssl, ssl_ctx_idx);
	SSL_SESSION *old;

	if (!slot || !t || !SSL_SESSION_is_resumable(sess))
		return 0;
	sess = SSL_SESSION_dup(sess);
	if (!sess)
		return 0;
	pthread_mutex_lock(&t->lock);
	old = slot->sess;
	slot->sess = sess;
	pthread_mutex_unlock(&t->lock);
	SSL_SESSION_free(old);
	return 0;
}

/* "what: OpenSSL's first reason" into err; clears the error queue.
 * Returns -EINVAL. */
static int fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s: %s", what, r ? r : "unknown error");
	ERR_clear_error();
	return -EINVAL;
}

/* 0 when path can be opened for reading, else -errno with err filled. */
static int check_file(const char *key, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	snprintf(err, errlen, "tls: %s %s: %s", key, path, strerror(errno));
	return -errno;
}

/* Loads the trust store: the CA file (at least one certificate in it),
 * else the system's. Returns 0 or -errno (err filled). */
static int load_trust(SSL_CTX *ctx, const struct gw_cfg_uptls *cfg, char *err, size_t errlen)
{
	char what[4200];
	int r;

	if (!cfg->ca) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			return fail(err, errlen, "tls: the system's CA store");
		return 0;
	}
	r = check_file("ca", cfg->ca, err, errlen);
	if (r)
		return r;
	snprintf(what, sizeof(what), "tls: ca %s: no PEM certificate", cfg->ca);
	if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1)
		return fail(err, errlen, what);
	return 0;
}

/* Loads the client certificate and key when given. Returns 0 or -errno
 * (err filled, *key_bad set when the key is to blame). */
static int load_client_cert(SSL_CTX *ctx, const struct gw_cfg_uptls *cfg, int *key_bad,
			    char *err, size_t errlen)
{
	char what[4200];
	int r;

	*key_bad = 0;
	if (!cfg->cert || !cfg->key)
		return 0;
	r = check_file("cert", cfg->cert, err, errlen);
	if (r)
		return r;
	*key_bad = 1;
	r = check_file("key", cfg->key, err, errlen);
	if (r)
		return r;
	*key_bad = 0;
	snprintf(what, sizeof(what), "tls: cert %s: no PEM certificate chain", cfg->cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1)
		return fail(err, errlen, what);
	*key_bad = 1;
	snprintf(what, sizeof(what), "tls: key %s: no PEM private key matching cert %s", cfg->key,
		 cfg->cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return fail(err, errlen, what);
	*key_bad = 0;
	return 0;
}

/* The client SSL_CTX of cfg. Returns 0 or -errno (err, *bad_pos). */
static int ctx_build(const struct gw_cfg_uptls *cfg, SSL_CTX **out, char *err, size_t errlen,
		     const struct gw_cfg_pos **bad_pos)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int r, key_bad;

	*out = NULL;
	if (bad_pos)
		*bad_pos = &cfg->pos;
	if (!ctx)
		return fail(err, errlen, "tls: cannot create an SSL_CTX");
	if (!SSL_CTX_set_min_proto_version(ctx, cfg->min_version ? cfg->min_version :
								    TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, UPTLS_CIPHERS)) {
		SSL_CTX_free(ctx);
		return fail(err, errlen, "tls: cannot set versions and ciphers");
	}
	/* Servers that close without close_notify end the stream as a FIN
	 * does (bodies delimited by the close still end); see docs/tls.md. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	SSL_CTX_set_verify(ctx, cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	r = cfg->verify ? load_trust(ctx, cfg, err, errlen) : 0;
	if (r && bad_pos)
		*bad_pos = cfg->ca ? &cfg->ca_pos : &cfg->pos;
	if (!r) {
		r = load_client_cert(ctx, cfg, &key_bad, err, errlen);
		if (r && bad_pos)
			*bad_pos = key_bad ? &cfg->key_pos : &cfg->cert_pos;
	}
	if (r) {
		SSL_CTX_free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

static void uptls_free(struct gw_uptls *t)
{
	struct sess_slot *s;

	while ((s = t->slots)) {
		t->slots = s->next;
		SSL_SESSION_free(s->sess);
		free(s);
	}
	SSL_CTX_free(t->ctx);
	pthread_mutex_destroy(&t->lock);
	free(t->sni);
	free(t->verify_name);
	free(t);
}

int gw_uptls_build(const struct gw_cfg_uptls *cfg, struct gw_uptls **out, char *err,
		   size_t errlen, const struct gw_cfg_pos **bad_pos)
{
	struct gw_uptls *t;
	int r;

	*out = NULL;
	if (!cfg->pos.line)
		return 0;
	pthread_once(&init_once, init_once_cb);
	if (ssl_slot_idx < 0 || ssl_ctx_idx < 0) {
		snprintf(err, errlen, "tls: cannot set up OpenSSL (ex_data)");
		return -ENOMEM;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->lock, NULL);
	t->verify = cfg->verify;
	r = ctx_build(cfg, &t->ctx, err, errlen, bad_pos);
	if (!r && ((cfg->sni && !(t->sni = strdup(cfg->sni))) ||
		   (cfg->verify_name && !(t->verify_name = strdup(cfg->verify_name))))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (r) {
		uptls_free(t);
		return r;
	}
	*out = t;
	return 0;
}

struct gw_uptls *gw_uptls_get(struct gw_uptls *t)
{
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void gw_uptls_put(struct gw_uptls *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		uptls_free(t);
}

/* The slot of server addr, made on first use. Call with the lock held.
 * Returns NULL without memory. */
static struct sess_slot *slot_of(struct gw_uptls *t, const struct gw_endpoint *addr)
{
	struct sess_slot *s;

	for (s = t->slots; s; s = s->next)
		if (!memcmp(&s->addr, addr, sizeof(*addr)))
			return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->addr = *addr;
	s->next = t->slots;
	t->slots = s;
	return s;
}

/* Sets what the server's certificate must name: verify_name, else sni,
 * else the server's address. Returns 1 or 0. */
static int set_peer_name(struct gw_uptls *t, SSL *ssl, const struct gw_endpoint *addr)
{
	const char *name = t->verify_name ? t->verify_name : t->sni;
	char ip[GW_ADDR_STRLEN];

	if (!t->verify)
		return 1;
	if (name)
		return SSL_set1_host(ssl, name);
	gw_ip_str(&addr->ip, ip, sizeof(ip));
	return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip);
}

SSL *gw_uptls_new_ssl(struct gw_uptls *t, const struct gw_endpoint *addr, int fd)
{
	SSL *ssl = SSL_new(t->ctx);
	SSL_SESSION *offer = NULL;
	struct sess_slot *slot;

	if (!ssl)
		return NULL;
	if (!SSL_set_ex_data(ssl, ssl_ctx_idx, gw_uptls_get(t))) {
		gw_uptls_put(t);
		goto fail;
	}
	pthread_mutex_lock(&t->lock);
	slot = slot_of(t, addr);
	if (slot && slot->sess)
		offer = SSL_SESSION_dup(slot->sess);
	pthread_mutex_unlock(&t->lock);
	if (offer) {
		SSL_set_session(ssl, offer);	/* takes its own reference */
		SSL_SESSION_free(offer);
	}
	if (!slot || !SSL_set_ex_data(ssl, ssl_slot_idx, slot) || !SSL_set_fd(ssl, fd) ||
	    (t->sni && !SSL_set_tlsext_host_name(ssl, t->sni)) || !set_peer_name(t, ssl, addr))
		goto fail;
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

/* Writes why the handshake failed: the verification's result when that
 * was it, else OpenSSL's reason. */
static void hs_reason(SSL *ssl, int err, char *why, size_t whylen)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_error();

	if (v != X509_V_OK)
		snprintf(why, whylen, "certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
	else if (e)
		snprintf(why, whylen, "%s", ERR_reason_error_string(e) ?
			 ERR_reason_error_string(e) : "handshake failed");
	else
		snprintf(why, whylen, err == SSL_ERROR_SYSCALL ? "connection closed" :
			 "handshake failed");
	ERR_clear_error();
}

int gw_uptls_handshake(SSL *ssl, int *want_write, char *why, size_t whylen)
{
	struct gw_uptls *t;
	int r = SSL_do_handshake(ssl), e;

	*want_write = 0;
	if (r == 1) {
		t = SSL_get_ex_data(ssl, ssl_ctx_idx);
		if (t)
			atomic_fetch_add_explicit(SSL_session_reused(ssl) ? &t->resumed : &t->full,
						  1, memory_order_relaxed);
		return 1;
	}
	e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	if (e == SSL_ERROR_WANT_WRITE) {
		*want_write = 1;
		return 0;
	}
	hs_reason(ssl, e, why, whylen);
	return -EPROTO;
}

ssize_t gw_uptls_read(SSL *ssl, char *buf, size_t len, unsigned int *ready)
{
	int n = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

	if (n > 0)
		return n;
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		*ready = 0;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SSL:
		ERR_clear_error();
		return -EPROTO;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

ssize_t gw_uptls_write(SSL *ssl, const char *buf, size_t len, unsigned int *ready)
{
	int n;

	if (!len)
		return 0;
	n = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0) {
		if ((size_t)n < len)
			*ready = 0;
		return n;
	}
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		*ready = 0;
		return 0;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

ssize_t gw_uptls_write2(SSL *ssl, char *scratch, const char *a, size_t alen, const char *b,
			size_t blen, unsigned int *ready)
{
	if (!alen)
		return gw_uptls_write(ssl, b, blen, ready);
	if (!blen)
		return gw_uptls_write(ssl, a, alen, ready);
	memcpy(scratch, a, alen);
	memcpy(scratch + alen, b, blen);
	return gw_uptls_write(ssl, scratch, alen + blen, ready);
}

int gw_uptls_idle_ok(SSL *ssl)
{
	char c;
	int n = SSL_read(ssl, &c, 1);

	if (n > 0)
		return 0;	/* an answer nobody asked for */
	if (SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ)
		return 1;
	ERR_clear_error();
	return 0;
}

void gw_uptls_counts(const struct gw_uptls *t, unsigned long *full, unsigned long *resumed)
{
	*full = t ? atomic_load_explicit(&t->full, memory_order_relaxed) : 0;
	*resumed = t ? atomic_load_explicit(&t->resumed, memory_order_relaxed) : 0;
}

void gw_uptls_prom(FILE *f, const struct gw_upstream *ups, size_t n)
{
	unsigned long full, resumed;
	size_t i;

	fputs("# HELP gw_upstream_tls_handshakes_total TLS handshakes with an upstream's servers, "
	      "full or resumed.\n# TYPE gw_upstream_tls_handshakes_total counter\n", f);
	for (i = 0; i < n; i++) {
		if (!ups[i].tls)
			continue;
		gw_uptls_counts(ups[i].tls, &full, &resumed);
		fputs("gw_upstream_tls_handshakes_total{upstream=\"", f);
		gw_prom_label(f, ups[i].name);
		fprintf(f, "\",kind=\"full\"} %lu\n", full);
		fputs("gw_upstream_tls_handshakes_total{upstream=\"", f);
		gw_prom_label(f, ups[i].name);
		fprintf(f, "\",kind=\"resumed\"} %lu\n", resumed);
	}
}

/* ---- the health checker's transport --------------------------------------------- */

static void *hc_get(void *arg)
{
	return gw_uptls_get(arg);
}

static void hc_put(void *arg)
{
	gw_uptls_put(arg);
}

static void *hc_open(void *arg, const struct gw_endpoint *addr, int fd)
{
	return gw_uptls_new_ssl(arg, addr, fd);
}

static int hc_handshake(void *sess, int *want_write, char *why, size_t whylen)
{
	return gw_uptls_handshake(sess, want_write, why, whylen);
}

static long hc_send(void *sess, const char *buf, size_t len)
{
	unsigned int ready = 1;
	ssize_t n = gw_uptls_write(sess, buf, len, &ready);

	return n == 0 && len ? -EAGAIN : n;
}

static long hc_recv(void *sess, char *buf, size_t len)
{
	unsigned int ready = 1;

	return gw_uptls_read(sess, buf, len, &ready);
}

static void hc_close(void *sess)
{
	SSL_free(sess);
}

const struct gw_health_xport gw_uptls_health_xport = {
	.get = hc_get,
	.put = hc_put,
	.open = hc_open,
	.handshake = hc_handshake,
	.send = hc_send,
	.recv = hc_recv,
	.close = hc_close,
};
