// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TLS server contexts and session ticket keys (tls.h, docs/tls.md).
 *
 * Certificate choice happens in the client hello callback, before OpenSSL
 * parses the extensions: the connection moves to the chosen SSL_CTX there,
 * so the session id context checked when a TLS 1.3 PSK is accepted is
 * already the chosen certificate's, and a ticket issued under one
 * certificate never resumes a session under another.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "l7/clientcert.h"
#include "l7/ktls.h"
#include "l7/tls.h"

/* TLS 1.2: forward secrecy and AEAD only (TLS 1.3 suites are all such). */
#define TLS12_CIPHERS                                                     \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"      \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"      \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

#define TICKET_NAME_LEN 16
#define TICKET_AES_LEN 32
#define TICKET_HMAC_LEN 32
#define RING_MAX 16
#define LIFETIME_MAX_S (7ul * 24 * 3600)	/* RFC 8446 4.6.1 */
#define NSEC_PER_SEC 1000000000ull

struct ticket_key {
	unsigned char name[TICKET_NAME_LEN];
	unsigned char aes[TICKET_AES_LEN];
	unsigned char hmac[TICKET_HMAC_LEN];
	__u64 created_ns;
};

struct gw_tls_keys {
	atomic_uint refs;
	pthread_rwlock_t lock;
	__u64 rotate_ns;
	unsigned int ring;
	unsigned int n;			/* keys[0] is the newest */
	struct ticket_key keys[RING_MAX];
};

struct tls_cert {
	SSL_CTX *ctx;
};

struct tls_name {
	char *name;		/* lower-case; a wildcard is kept as ".domain" */
	int wildcard;
	size_t cert;
};

struct gw_tls_set {
	atomic_uint refs;
	struct tls_cert *certs;
	size_t n_certs;
	struct tls_name *names;
	size_t n_names;
	unsigned char *alpn;	/* wire format: length-prefixed names */
	size_t alpn_len;
	struct gw_tls_keys *keys;
};

static int ssl_set_idx = -1;	/* SSL ex_data: the connection's set */
/* The tickets' cipher, fetched once: EVP_aes_256_cbc() would be looked up
 * by name in the provider store on every ticket (OpenSSL 3). */
static EVP_CIPHER *ticket_aes;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void ssl_set_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	gw_tls_set_put(ptr);
}

static void init_once_cb(void)
{
	ssl_set_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_set_free);
	ticket_aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

/* 0 once the ex_data index and the ticket cipher exist, else -ENOMEM. */
static int init_globals(void)
{
	pthread_once(&init_once, init_once_cb);
	return ssl_set_idx >= 0 && ticket_aes ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Ticket keys                                                          */

/* Fills a fresh key. Returns 0 or -EIO. */
static int key_make(struct ticket_key *k, __u64 now_ns)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1 ||
	    RAND_priv_bytes(k->aes, sizeof(k->aes)) != 1 ||
	    RAND_priv_bytes(k->hmac, sizeof(k->hmac)) != 1)
		return -EIO;
	k->created_ns = now_ns;
	return 0;
}

struct gw_tls_keys *gw_tls_keys_new(__u64 rotate_ns, unsigned int ring, __u64 now_ns)
{
	struct gw_tls_keys *k;

	if (!rotate_ns || ring < 2 || ring > RING_MAX) {
		errno = EINVAL;
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	atomic_init(&k->refs, 1);
	k->rotate_ns = rotate_ns;
	k->ring = ring;
	if (key_make(&k->keys[0], now_ns)) {
		OPENSSL_cleanse(k, sizeof(*k));
		free(k);
		errno = EIO;
		return NULL;
	}
	k->n = 1;
	pthread_rwlock_init(&k->lock, NULL);
	return k;
}

/* A key's age; 0 for a clock reading before its creation. */
static __u64 age(const struct ticket_key *key, __u64 now_ns)
{
	return now_ns > key->created_ns ? now_ns - key->created_ns : 0;
}

/* Pushes a new key, dropping the oldest beyond the ring and keys past
 * their lifetime. Call with the write lock held. */
static int rotate_locked(struct gw_tls_keys *k, __u64 now_ns)
{
	struct ticket_key fresh;
	__u64 life = k->rotate_ns * k->ring;

	if (key_make(&fresh, now_ns))
		return -EIO;
	if (k->n == k->ring)
		OPENSSL_cleanse(&k->keys[--k->n], sizeof(k->keys[0]));
	memmove(&k->keys[1], &k->keys[0], k->n * sizeof(k->keys[0]));
	k->keys[0] = fresh;
	k->n++;
	OPENSSL_cleanse(&fresh, sizeof(fresh));
	while (k->n > 1 && age(&k->keys[k->n - 1], now_ns) >= life)
		OPENSSL_cleanse(&k->keys[--k->n], sizeof(k->keys[0]));
	return 0;
}

int gw_tls_keys_rotate(struct gw_tls_keys *k, __u64 now_ns)
{
	int ret = 0;

	pthread_rwlock_wrlock(&k->lock);
	if (age(&k->keys[0], now_ns) >= k->rotate_ns)
		ret = rotate_locked(k, now_ns) ? -EIO : 1;
	pthread_rwlock_unlock(&k->lock);
	if (ret < 0)
		pr_err("tls: cannot draw a new ticket key; the old one stays\n");
	return ret;
}

int gw_tls_keys_rotate_now(struct gw_tls_keys *k, __u64 now_ns)
{
	int ret;

	pthread_rwlock_wrlock(&k->lock);
	ret = rotate_locked(k, now_ns);
	pthread_rwlock_unlock(&k->lock);
	return ret;
}

unsigned long gw_tls_keys_lifetime(const struct gw_tls_keys *k)
{
	__u64 s = k->rotate_ns / NSEC_PER_SEC * k->ring;

	return s > LIFETIME_MAX_S ? LIFETIME_MAX_S : s ? (unsigned long)s : 1;
}

struct gw_tls_keys *gw_tls_keys_get(struct gw_tls_keys *k)
{
	atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
	return k;
}

void gw_tls_keys_put(struct gw_tls_keys *k)
{
	if (!k || atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_rwlock_destroy(&k->lock);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* Sets up the ticket's cipher and MAC. Returns 1 or -1. */
static int ticket_crypto(const struct ticket_key *key, unsigned char *iv, EVP_CIPHER_CTX *cctx,
			 EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)key->hmac,
						      sizeof(key->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(hctx, params))
		return -1;
	if (enc ? !EVP_EncryptInit_ex2(cctx, ticket_aes, key->aes, iv, NULL) :
		  !EVP_DecryptInit_ex2(cctx, ticket_aes, key->aes, iv, NULL))
		return -1;
	return 1;
}

/*
 * OpenSSL's ticket key callback. Encrypting: the newest key and a random
 * IV; returns 1, or -1 to issue no ticket. Decrypting: the key named in the
 * ticket; returns 1 (newest key), 2 (older key: resume and send a ticket
 * under the newest) or 0 (unknown or dropped key: full handshake).
 *
 * TLS 1.3 always gets 2: OpenSSL sends a TLS 1.3 resumption a new ticket
 * only when the callback asks for a renewal, and TLS 1.3 clients use a
 * ticket once (RFC 8446 C.4), so with 1 a client reconnecting again and
 * again would resume only every other time. TLS 1.2 clients keep their
 * ticket; they get a new one when its key is no longer the newest.
 */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		     EVP_MAC_CTX *hctx, int enc)
{
	struct gw_tls_set *set = SSL_get_ex_data(ssl, ssl_set_idx);
	struct gw_tls_keys *k = set ? set->keys : NULL;
	struct ticket_key key;
	unsigned int i;
	int ret = 0;

	if (!k)
		return enc ? -1 : 0;
	pthread_rwlock_rdlock(&k->lock);
	if (enc) {
		key = k->keys[0];
		ret = 1;
	} else {
		for (i = 0; i < k->n; i++)
			if (!CRYPTO_memcmp(name, k->keys[i].name, TICKET_NAME_LEN)) {
				key = k->keys[i];
				ret = i || SSL_version(ssl) >= TLS1_3_VERSION ? 2 : 1;
				break;
			}
	}
	pthread_rwlock_unlock(&k->lock);
	if (!ret)
		return 0;
	if (enc) {
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(ticket_aes)) != 1)
			ret = -1;
		memcpy(name, key.name, TICKET_NAME_LEN);
	}
	if (ret > 0 && ticket_crypto(&key, iv, cctx, hctx, enc) < 0)
		ret = enc ? -1 : 0;
	OPENSSL_cleanse(&key, sizeof(key));
	return ret;
}

/* ------------------------------------------------------------------ */
/* Handshake callbacks                                                  */

size_t gw_tls_set_pick(const struct gw_tls_set *s, const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len);
	size_t i, wild = SIZE_MAX;

	for (i = 0; i < s->n_names; i++) {
		const struct tls_name *n = &s->names[i];
		size_t nl = strlen(n->name);

		if (!n->wildcard) {
			if (nl == len && !strncasecmp(n->name, name, len))
				return n->cert;
		} else if (wild == SIZE_MAX && dot && dot > name &&
			   nl == len - (size_t)(dot - name) && !strncasecmp(n->name, dot, nl)) {
			wild = n->cert;	/* one label before ".domain" */
		}
	}
	return wild == SIZE_MAX ? 0 : wild;
}

/*
 * Reads the host name of a server_name extension (RFC 6066 3). Returns 1
 * with the name and its length set, 0 when it holds no host name, -1 when malformed.
 */
static int parse_sni(const unsigned char *p, size_t len, const unsigned char **name, size_t *nlen)
{
	size_t list, off = 2;

	if (len < 2)
		return -1;
	list = (size_t)p[0] << 8 | p[1];
	if (list != len - 2)
		return -1;
	while (off + 3 <= len) {
		unsigned int type = p[off];
		size_t l = (size_t)p[off + 1] << 8 | p[off + 2];

		if (off + 3 + l > len)
			return -1;
		if (type == TLSEXT_NAMETYPE_host_name) {
			if (!l || memchr(p + off + 3, 0, l))
				return -1;
			*name = p + off + 3;
			*nlen = l;
			return 1;
		}
		off += 3 + l;
	}
	return off == len ? 0 : -1;
}

static int pick_cert(SSL *ssl, int *al)
{
	struct gw_tls_set *set = SSL_get_ex_data(ssl, ssl_set_idx);
	const unsigned char *ext, *name;
	size_t len, nlen, i;
	int r;

	if (!set || !SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len))
		return SSL_CLIENT_HELLO_SUCCESS;	/* no SNI: the default */
	r = parse_sni(ext, len, &name, &nlen);
	if (r < 0) {
		*al = SSL_AD_DECODE_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (!r || nlen >= 256)
		return SSL_CLIENT_HELLO_SUCCESS;
	/* One trailing dot is the same name. */
	if (nlen > 1 && name[nlen - 1] == '.')
		nlen--;
	i = gw_tls_set_pick(set, (const char *)name, nlen);
	if (i && !SSL_set_SSL_CTX(ssl, set->certs[i].ctx)) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* Picks the certificate, then lets the listener's client certificate
 * settings follow the SSL to that certificate's SSL_CTX (clientcert.h). */
static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
	int r = pick_cert(ssl, al);

	if (r == SSL_CLIENT_HELLO_SUCCESS && gw_cauth_on_hello(ssl)) {
		*al = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (r == SSL_CLIENT_HELLO_SUCCESS)
		gw_ktls_on_hello(ssl);
	return r;
}

/* The first configured protocol the client offers; none in common is a
 * no_application_protocol alert (RFC 7301 3.2). Not called for clients
 * without ALPN. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	struct gw_tls_set *set = SSL_get_ex_data(ssl, ssl_set_idx);
	size_t s, c;

	if (!set)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	for (s = 0; s < set->alpn_len; s += 1 + set->alpn[s]) {
		for (c = 0; c < inlen; c += 1 + in[c]) {
			if (c + 1 + in[c] > inlen)
				return SSL_TLSEXT_ERR_ALERT_FATAL;
			if (in[c] == set->alpn[s] &&
			    !memcmp(in + c + 1, set->alpn + s + 1, in[c])) {
				*out = in + c + 1;
				*outlen = in[c];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* ------------------------------------------------------------------ */
/* Building a set                                                       */

/* Writes "what: openssl's reason" to err and logs it; clears OpenSSL's
 * error queue. Returns -EINVAL. */
static int fail(char *err, size_t errlen, const char *what)
{
	/* The first error says what was wrong ("no start line", "bad
	 * decrypt"); later ones only where it was noticed ("PEM lib"). */
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	char reason[256];

	snprintf(reason, sizeof(reason), "%s", r ? r : "unknown error");
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, reason);
	pr_err("tls: %s\n", err);
	return -EINVAL;
}

static int add_name(struct gw_tls_set *s, size_t *cap, const char *name, size_t len, size_t cert)
{
	struct tls_name *n;
	size_t i;
	int wild = len > 2 && name[0] == '*' && name[1] == '.';

	if (s->n_names == *cap) {
		size_t c = *cap ? *cap * 2 : 8;

		n = realloc(s->names, c * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->names = n;
		*cap = c;
	}
	n = &s->names[s->n_names];
	n->name = strndup(name + wild, len - (size_t)wild);
	if (!n->name)
		return -ENOMEM;
	for (i = 0; n->name[i]; i++)
		if (n->name[i] >= 'A' && n->name[i] <= 'Z')
			n->name[i] = (char)(n->name[i] + 32);
	if (i > 1 && n->name[i - 1] == '.')
		n->name[i - 1] = '\0';
	n->wildcard = wild;
	n->cert = cert;
	s->n_names++;
	return 0;
}

/* Adds the subjectAltName DNS names of the context's certificate. */
static int add_san_names(struct gw_tls_set *s, size_t *cap, SSL_CTX *ctx, size_t cert)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	int i, err = 0;

	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !err; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			err = add_name(s, cap, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
				       (size_t)ASN1_STRING_length(g->d.dNSName), cert);
	}
	GENERAL_NAMES_free(gens);
	return err;
}

/* Warns about a certificate outside its validity period: it is still
 * served (clients decide), but the operator should know. */
static void check_validity(SSL_CTX *ctx, const char *file)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);

	if (x && X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
		pr_warn("tls: certificate %s has expired\n", file);
	else if (x && X509_cmp_current_time(X509_get0_notBefore(x)) >= 0)
		pr_warn("tls: certificate %s is not valid yet\n", file);
}

/* Checks that a configured file can be read, so a missing or unreadable
 * file is reported as such. Returns 0 or a negative errno (err filled). */
static int check_file(const char *path, const char *kind, size_t i, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e;

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "certificates[%zu]: %s %s: %s", i, kind, path, strerror(e));
		pr_err("tls: %s\n", err);
		return -e;
	}
	if (!strcmp(kind, "key") && !fstat(fd, &st) && (st.st_mode & S_IROTH))
		pr_warn("tls: key %s is readable by every user\n", path);
	close(fd);
	return 0;
}

/* A server SSL_CTX for one certificate entry. Returns 0, or -EINVAL (or
 * the errno of a file that cannot be opened) with the reason in err and
 * *key_bad set when the key file is to blame (else the cert file). */
static int build_ctx(const struct gw_cfg_tls *cfg, const struct gw_cfg_cert *c, size_t i,
		     struct gw_tls_keys *keys, SSL_CTX **out, int *key_bad, char *err,
		     size_t errlen)
{
	unsigned char sid[EVP_MAX_MD_SIZE];
	unsigned int sid_len = 0;
	char what[64 + 2 * 4096];
	SSL_CTX *ctx;
	int minv = cfg->min_version ? cfg->min_version : TLS1_2_VERSION;
	int ret;

	*out = NULL;
	*key_bad = 0;
	ret = check_file(c->cert, "cert", i, err, errlen);
	if (ret)
		return ret;
	*key_bad = 1;
	ret = check_file(c->key, "key", i, err, errlen);
	if (ret)
		return ret;
	*key_bad = 0;
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return fail(err, errlen, "cannot create an SSL_CTX");
	if (!SSL_CTX_set_min_proto_version(ctx, minv) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS)) {
		SSL_CTX_free(ctx);
		return fail(err, errlen, "cannot set versions, ciphers and groups");
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	/* The chain sent is the file's, as loaded. Without this, a file holding
	 * only the leaf makes OpenSSL build a chain from the (empty) trust
	 * store on every full handshake: an X509_verify_cert() with its
	 * decoders and algorithm fetches, for the same single certificate. */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	/* Stateless tickets only: see docs/tls.md. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_timeout(ctx, (long)gw_tls_keys_lifetime(keys));

	snprintf(what, sizeof(what), "certificates[%zu]: cert %s: no PEM certificate chain", i,
		 c->cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1)
		goto bad;
	*key_bad = 1;
	snprintf(what, sizeof(what), "certificates[%zu]: key %s: no PEM private key", i, c->key);
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			snprintf(what, sizeof(what),
				 "certificates[%zu]: key %s does not match cert %s", i, c->key,
				 c->cert);
		goto bad;
	}
	snprintf(what, sizeof(what), "certificates[%zu]: key %s does not match cert %s", i,
		 c->key, c->cert);
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto bad;
	*key_bad = 0;
	/* Sessions belong to their certificate: the id context is its hash. */
	if (!X509_digest(SSL_CTX_get0_certificate(ctx), EVP_sha256(), sid, &sid_len) ||
	    !SSL_CTX_set_session_id_context(ctx, sid, sid_len)) {
		snprintf(what, sizeof(what), "certificates[%zu]: cert %s", i, c->cert);
		goto bad;
	}
	check_validity(ctx, c->cert);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	if (cfg->n_alpn)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	*out = ctx;
	return 0;
bad:
	SSL_CTX_free(ctx);
	return fail(err, errlen, what);
}

static void set_free(struct gw_tls_set *s)
{
	size_t i;

	for (i = 0; s->certs && i < s->n_certs; i++)
		SSL_CTX_free(s->certs[i].ctx);
	for (i = 0; i < s->n_names; i++)
		free(s->names[i].name);
	free(s->names);
	free(s->certs);
	free(s->alpn);
	gw_tls_keys_put(s->keys);
	free(s);
}

/* The ALPN list in wire format. Returns 0, -EINVAL or -ENOMEM. */
static int build_alpn(struct gw_tls_set *s, const struct gw_cfg_tls *cfg, char *err,
		      size_t errlen)
{
	size_t i, len = 0;

	for (i = 0; i < cfg->n_alpn; i++) {
		size_t l = strlen(cfg->alpn[i]);

		if (!l || l > 255) {
			snprintf(err, errlen, "alpn: '%s' is not a protocol name", cfg->alpn[i]);
			return -EINVAL;
		}
		len += 1 + l;
	}
	if (!len)
		return 0;
	s->alpn = malloc(len);
	if (!s->alpn)
		return -ENOMEM;
	for (i = 0; i < cfg->n_alpn; i++) {
		size_t l = strlen(cfg->alpn[i]);

		s->alpn[s->alpn_len] = (unsigned char)l;
		memcpy(s->alpn + s->alpn_len + 1, cfg->alpn[i], l);
		s->alpn_len += 1 + l;
	}
	return 0;
}

int gw_tls_set_build(const struct gw_cfg_tls *cfg, struct gw_tls_keys *keys,
		     struct gw_tls_set **out, char *err, size_t errlen)
{
	struct gw_tls_set *s;
	size_t i, j, cap = 0;
	int ret = -ENOMEM, key_bad;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (init_globals()) {
		snprintf(err, errlen, "cannot set up OpenSSL (ex_data index, AES-256-CBC)");
		return -ENOMEM;
	}
	if (!cfg->n_certificates || !keys) {
		snprintf(err, errlen, "%s", keys ? "no certificates" : "no ticket keys");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	atomic_init(&s->refs, 1);
	s->keys = gw_tls_keys_get(keys);
	s->certs = calloc(cfg->n_certificates, sizeof(*s->certs));
	if (!s->certs)
		goto out;
	ret = build_alpn(s, cfg, err, errlen);
	if (ret)
		goto out;
	for (i = 0; i < cfg->n_certificates; i++) {
		const struct gw_cfg_cert *c = &cfg->certificates[i];

		ret = build_ctx(cfg, c, i, keys, &s->certs[i].ctx, &key_bad, err, errlen);
		if (ret)
			goto out;
		s->n_certs++;
		for (j = 0; j < c->n_sni && !ret; j++)
			ret = add_name(s, &cap, c->sni[j], strlen(c->sni[j]), i);
		if (!ret && !c->n_sni)
			ret = add_san_names(s, &cap, s->certs[i].ctx, i);
		if (ret)
			goto out;
	}
	*out = s;
	err[0] = '\0';
	return 0;
out:
	set_free(s);
	return ret;
}

int gw_tls_cert_check(const struct gw_cfg_tls *cfg, size_t i, int *key_bad, char *err,
		      size_t errlen)
{
	struct gw_tls_keys *keys;
	SSL_CTX *ctx;
	int ret;

	*key_bad = 0;
	keys = gw_tls_keys_new(GW_TLS_KEYS_ROTATE_DEFAULT, GW_TLS_KEYS_RING_DEFAULT, 0);
	if (!keys) {
		snprintf(err, errlen, "no ticket keys: %s", strerror(errno));
		return -EIO;
	}
	ret = build_ctx(cfg, &cfg->certificates[i], i, keys, &ctx, key_bad, err, errlen);
	if (!ret)
		SSL_CTX_free(ctx);
	gw_tls_keys_put(keys);
	return ret;
}

struct gw_tls_set *gw_tls_set_get(struct gw_tls_set *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void gw_tls_set_put(struct gw_tls_set *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		set_free(s);
}

SSL *gw_tls_set_new_ssl(struct gw_tls_set *s)
{
	SSL *ssl = SSL_new(s->certs[0].ctx);

	if (!ssl)
		return NULL;
	if (!SSL_set_ex_data(ssl, ssl_set_idx, gw_tls_set_get(s))) {
		gw_tls_set_put(s);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

size_t gw_tls_set_count(const struct gw_tls_set *s)
{
	return s->n_certs;
}

SSL_CTX *gw_tls_set_ctx(const struct gw_tls_set *s, size_t i)
{
	return i < s->n_certs ? s->certs[i].ctx : NULL;
}
