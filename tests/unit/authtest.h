/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers of the auth unit tests: a scratch directory, files written into
 * it, and keys, JWKs and tokens made with OpenSSL at test time. */
#ifndef GW_TESTS_AUTHTEST_H
#define GW_TESTS_AUTHTEST_H

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core/b64url.h"
#include "core/fileid.h"

static char tdir[64];

/* Returns 1 if some message of `msgs` contains `needle`. */
static inline int msgs_has(const struct gw_cfg_errors *msgs, const char *needle)
{
	size_t i;

	for (i = 0; i < msgs->n; i++)
		if (strstr(msgs->msgs[i], needle))
			return 1;
	return 0;
}

/* Returns 1 if a message of w's last read contains `needle` (under w's
 * lock, as a reread writes them). */
static inline int watched_msgs_has(struct gw_watched *w, const char *needle)
{
	int r;

	pthread_mutex_lock(&w->lock);
	r = msgs_has(&w->msgs, needle);
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Creates the scratch directory. Returns 0 or -1. */
static inline int tdir_make(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/gw-auth-test.XXXXXX");
	return mkdtemp(tdir) ? 0 : -1;
}

/* Removes the scratch directory and its files. */
static inline void tdir_remove(void)
{
	char p[512];
	struct dirent *d;
	DIR *dir = opendir(tdir);

	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", tdir, d->d_name);
			unlink(p);
		}
	closedir(dir);
	rmdir(tdir);
}

/* Returns the path of `name` in the scratch directory (static buffer). */
static inline const char *tpath(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", tdir, name);
	return p;
}

/* Writes `text` to `name` through a rename, as operators replace files,
 * so each write is a new inode. Returns 0 or -1. */
static inline int twrite(const char *name, const char *text)
{
	char tmp[512], dst[512];
	FILE *f;

	snprintf(dst, sizeof(dst), "%s/%s", tdir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", tdir, name);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f))
		return -1;
	return rename(tmp, dst);
}

/* Returns the base64url of `len` bytes, without padding (malloc'd), made
 * from OpenSSL's base64: an encoder apart from the decoder under test. */
static inline char *b64(const void *p, size_t len)
{
	char *s = malloc(len / 3 * 4 + 5), *c;
	int n;

	if (!s)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)s, p, (int)len);
	while (n > 0 && s[n - 1] == '=')
		n--;
	s[n] = '\0';
	for (c = s; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return s;
}

static inline char *b64s(const char *s)
{
	return b64(s, strlen(s));
}

/* A signing key of the tests: an OpenSSL key or an HMAC secret. */
struct tkey {
	EVP_PKEY *pkey;
	unsigned char secret[64];
	size_t slen;
};

/* Returns the digest name of a JOSE alg name, NULL for EdDSA. */
static inline const char *tmd(const char *alg)
{
	if (!strcmp(alg, "EdDSA"))
		return NULL;
	if (strstr(alg, "256"))
		return "SHA256";
	if (strstr(alg, "384"))
		return "SHA384";
	return "SHA512";
}

/* Signs `msg` with `k` under `alg` (JOSE form: ECDSA as R || S). Returns
 * the base64url signature (malloc'd) or NULL. */
static inline char *tsign(const struct tkey *k, const char *alg, const char *msg)
{
	unsigned char sig[1024], raw[132];
	size_t slen = sizeof(sig);
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx;
	char *out = NULL;

	if (alg[0] == 'H') {
		if (!EVP_Q_mac(NULL, "HMAC", NULL, tmd(alg), NULL, k->secret, k->slen,
			       (const unsigned char *)msg, strlen(msg), sig, sizeof(sig), &slen))
			return NULL;
		return b64(sig, slen);
	}
	ctx = EVP_MD_CTX_new();
	if (EVP_DigestSignInit_ex(ctx, &pctx, tmd(alg), NULL, NULL, k->pkey, NULL) != 1)
		goto out;
	if (alg[0] == 'P' && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	if (EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)msg, strlen(msg)) != 1)
		goto out;
	if (alg[0] == 'E' && alg[1] == 'S') {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
		size_t half = !strcmp(alg, "ES256") ? 32 : 48;

		if (!es)
			goto out;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half);
		ECDSA_SIG_free(es);
		out = b64(raw, 2 * half);
		goto out;
	}
	out = b64(sig, slen);
out:
	EVP_MD_CTX_free(ctx);
	return out;
}

/* Returns "b64(hdr).b64(claims).sig" (malloc'd): signed with k under alg
 * when k is not NULL, else with the signature `rawsig` as given. */
static inline char *ttoken(const char *hdr, const char *claims, const struct tkey *k,
			   const char *alg, const char *rawsig)
{
	char *h = b64s(hdr), *c = b64s(claims), *in = NULL, *sig = NULL, *t = NULL;

	if (!h || !c || asprintf(&in, "%s.%s", h, c) < 0)
		goto out;
	sig = k ? tsign(k, alg, in) : strdup(rawsig ? rawsig : "");
	if (sig) {
		size_t n = strlen(in) + 1 + strlen(sig) + 1;

		t = malloc(n);
		if (t)
			snprintf(t, n, "%s.%s", in, sig);
	}
out:
	free(h);
	free(c);
	free(in);
	free(sig);
	return t;
}

/* Returns a BN parameter of `pk` as base64url, `pad` bytes wide when
 * non-zero (malloc'd). */
static inline char *bn_b64(EVP_PKEY *pk, const char *param, int pad)
{
	unsigned char buf[1024];
	BIGNUM *bn = NULL;
	char *s;
	int n;

	if (!EVP_PKEY_get_bn_param(pk, param, &bn))
		return NULL;
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	s = n > 0 ? b64(buf, (size_t)n) : NULL;
	return s;
}

/* Returns the public JWK of k as a jansson object, with `kid` and `alg`
 * when not NULL. */
static inline json_t *tjwk(const struct tkey *k, const char *kid, const char *alg)
{
	json_t *j = json_object();
	char *a = NULL, *b = NULL;

	if (!k->pkey) {
		a = b64(k->secret, k->slen);
		json_object_set_new(j, "kty", json_string("oct"));
		json_object_set_new(j, "k", json_string(a));
	} else if (EVP_PKEY_is_a(k->pkey, "RSA")) {
		a = bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		b = bn_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		json_object_set_new(j, "kty", json_string("RSA"));
		json_object_set_new(j, "n", json_string(a));
		json_object_set_new(j, "e", json_string(b));
	} else if (EVP_PKEY_is_a(k->pkey, "EC")) {
		int w = EVP_PKEY_get_bits(k->pkey) / 8;

		a = bn_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, w);
		b = bn_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, w);
		json_object_set_new(j, "kty", json_string("EC"));
		json_object_set_new(j, "crv", json_string(w == 32 ? "P-256" : "P-384"));
		json_object_set_new(j, "x", json_string(a));
		json_object_set_new(j, "y", json_string(b));
	} else {
		unsigned char raw[32];
		size_t len = sizeof(raw);

		EVP_PKEY_get_raw_public_key(k->pkey, raw, &len);
		a = b64(raw, len);
		json_object_set_new(j, "kty", json_string("OKP"));
		json_object_set_new(j, "crv", json_string("Ed25519"));
		json_object_set_new(j, "x", json_string(a));
	}
	if (kid)
		json_object_set_new(j, "kid", json_string(kid));
	if (alg)
		json_object_set_new(j, "alg", json_string(alg));
	free(a);
	free(b);
	return j;
}

/* Writes {"keys": [jwks...]} (steals the references) to `name`. Returns 0
 * or -1. */
static inline int twrite_jwks(const char *name, json_t *keys)
{
	json_t *root = json_pack("{s:o}", "keys", keys);
	char *s = json_dumps(root, 0);
	int r = s ? twrite(name, s) : -1;

	free(s);
	json_decref(root);
	return r;
}

#endif /* GW_TESTS_AUTHTEST_H */
