// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Client certificates on TLS listeners (clientcert.h).
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "l7/clientcert.h"

struct gw_cauth {
	atomic_uint refs;
	int required;
	X509_STORE *store;
	STACK_OF(X509_NAME) *names;	/* sent in the CertificateRequest */
	unsigned char fp[EVP_MAX_MD_SIZE];	/* the CA file's and mode's digest */
	unsigned int fp_len;
};

static int ssl_cauth_idx = -1;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void ssl_ref_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	gw_cauth_put(ptr);
}

static void init_once_cb(void)
{
	ssl_cauth_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_ref_free);
}

static void cauth_free(struct gw_cauth *a)
{
	X509_STORE_free(a->store);
	sk_X509_NAME_pop_free(a->names, X509_NAME_free);
	free(a);
}

/* Fills the store and the name list from the PEM file. Returns 0 or
 * -EINVAL (err filled). */
static int load_cas(struct gw_cauth *a, const char *file, char *err, size_t errlen)
{
	STACK_OF(X509_INFO) *infos = NULL;
	BIO *bio = BIO_new_file(file, "r");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	int i, n = 0;

	if (bio)
		infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (h)
		EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	for (i = 0; infos && h && i < sk_X509_INFO_num(infos); i++) {
		X509 *x = sk_X509_INFO_value(infos, i)->x509;
		X509_NAME *nm = x ? X509_NAME_dup(X509_get_subject_name(x)) : NULL;

		if (!x)
			continue;
		if (!nm || !X509_STORE_add_cert(a->store, x) || !sk_X509_NAME_push(a->names, nm) ||
		    !X509_digest(x, EVP_sha256(), md, &md_len) || !EVP_DigestUpdate(h, md, md_len)) {
			X509_NAME_free(nm);
			n = -1;
			break;
		}
		n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (n > 0 && (!EVP_DigestUpdate(h, &a->required, sizeof(a->required)) ||
		      !EVP_DigestFinal_ex(h, a->fp, &a->fp_len)))
		n = -1;
	EVP_MD_CTX_free(h);
	if (n > 0)
		return 0;
	snprintf(err, errlen, "client_ca %s: %s", file,
		 n < 0 ? "out of memory" : "no PEM certificate");
	ERR_clear_error();
	return -EINVAL;
}

int gw_cauth_build(const char *ca_file, int mode, struct gw_cauth **out, char *err,
		   size_t errlen)
{
	struct gw_cauth *a;
	int fd, r;

	*out = NULL;
	pthread_once(&init_once, init_once_cb);
	fd = open(ca_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "client_ca %s: %s", ca_file, strerror(-r));
		return r;
	}
	close(fd);
	a = calloc(1, sizeof(*a));
	if (!a || ssl_cauth_idx < 0) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&a->refs, 1);
	a->required = mode == GW_CLIENT_CERT_REQUIRED;
	a->store = X509_STORE_new();
	a->names = sk_X509_NAME_new_null();
	r = a->store && a->names ? load_cas(a, ca_file, err, errlen) : -ENOMEM;
	if (r) {
		if (r == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		cauth_free(a);
		return r;
	}
	*out = a;
	return 0;
}

struct gw_cauth *gw_cauth_get(struct gw_cauth *a)
{
	if (a)
		atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	return a;
}

void gw_cauth_put(struct gw_cauth *a)
{
	if (a && atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
		cauth_free(a);
}

/* The session id context for a's listener on the SSL's current
 * certificate: SHA-256 of the certificate and a's digest. Returns 1 or 0. */
static int set_sid_ctx(SSL *ssl, const struct gw_cauth *a)
{
	X509 *x = SSL_get_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE], sid[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, sid_len = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	int ok = h && (!x || X509_digest(x, EVP_sha256(), md, &md_len)) &&
		 EVP_DigestInit_ex(h, EVP_sha256(), NULL) && EVP_DigestUpdate(h, md, md_len) &&
		 EVP_DigestUpdate(h, a->fp, a->fp_len) && EVP_DigestFinal_ex(h, sid, &sid_len);

	EVP_MD_CTX_free(h);
	return ok && SSL_set_session_id_context(ssl, sid, sid_len);
}

/* Applies a to ssl. Returns 0 or -ENOMEM. */
static int apply(SSL *ssl, const struct gw_cauth *a)
{
	STACK_OF(X509_NAME) *names = SSL_dup_CA_list(a->names);

	if (!names)
		return -ENOMEM;
	SSL_set_client_CA_list(ssl, names);
	SSL_set_verify(ssl, SSL_VERIFY_PEER | (a->required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
		       NULL);
	if (!SSL_set1_verify_cert_store(ssl, a->store) || !set_sid_ctx(ssl, a)) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

int gw_cauth_attach(SSL *ssl, struct gw_cauth *a)
{
	/* applied in the client hello callback, on the certificate chosen */
	if (!SSL_set_ex_data(ssl, ssl_cauth_idx, gw_cauth_get(a))) {
		gw_cauth_put(a);
		return -ENOMEM;
	}
	return 0;
}

int gw_cauth_on_hello(SSL *ssl)
{
	const struct gw_cauth *a = ssl_cauth_idx >= 0 ? SSL_get_ex_data(ssl, ssl_cauth_idx) : NULL;

	return a ? apply(ssl, a) : 0;
}

size_t gw_cauth_subject(SSL *ssl, char *buf, size_t len)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	BIO *bio;
	int n, i;

	if (!x || !len || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return 0;
	n = X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	n = n >= 0 && (size_t)n < len ? BIO_read(bio, buf, n) : -1;
	BIO_free(bio);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (i = 0; i < n; i++)	/* a header value: printable ASCII only */
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	return (size_t)n;
}
