// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JWT verification (RFC 7515 compact JWS, RFC 7519 claims, RFC 8725
 * practices) and the HTTP side of auth refusals (RFC 6750). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/b64url.h"
#include "auth/jwt.h"
#include "core/log.h"

#define NS_S	1000000000LL
#define KID_MAX 255

/* ------------------------------------------------------------------ */
/* Reasons and HTTP                                                     */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *desc;
} reasons[GW_AUTH_REASON_COUNT] = {
	[GW_AUTH_OK] = {"ok", ""},
	[GW_AUTH_MISSING] = {"missing", "credentials are required"},
	[GW_AUTH_MALFORMED] = {"malformed", "the token is malformed"},
	[GW_AUTH_BAD_ALG] = {"bad_alg", "the token's algorithm is not accepted"},
	[GW_AUTH_UNKNOWN_KID] = {"unknown_kid", "the token's signing key is unknown"},
	[GW_AUTH_BAD_SIGNATURE] = {"bad_signature", "the token's signature is invalid"},
	[GW_AUTH_EXPIRED] = {"expired", "the token has expired"},
	[GW_AUTH_NOT_YET_VALID] = {"not_yet_valid", "the token is not valid yet"},
	[GW_AUTH_BAD_IAT] = {"bad_iat", "the token is issued in the future"},
	[GW_AUTH_BAD_ISSUER] = {"bad_issuer", "the token's issuer is not accepted"},
	[GW_AUTH_BAD_AUDIENCE] = {"bad_audience", "the token is not for this audience"},
	[GW_AUTH_BAD_CLAIM] = {"bad_claim", "the token's claims are invalid"},
	[GW_AUTH_MISSING_CLAIM] = {"missing_claim", "the token lacks a required claim"},
	[GW_AUTH_BAD_API_KEY] = {"bad_api_key", "the API key is not valid"},
	[GW_AUTH_INTERNAL] = {"internal", "internal error"},
};

const char *gw_auth_reason_name(enum gw_auth_reason r)
{
	return (unsigned int)r < GW_AUTH_REASON_COUNT ? reasons[r].name : "internal";
}

const char *gw_auth_reason_description(enum gw_auth_reason r)
{
	return (unsigned int)r < GW_AUTH_REASON_COUNT ? reasons[r].desc : "internal error";
}

int gw_auth_http_status(enum gw_auth_reason r)
{
	switch (r) {
	case GW_AUTH_OK:
		return 0;
	case GW_AUTH_MISSING_CLAIM:
		return 403;
	case GW_AUTH_INTERNAL:
		return 500;
	default:
		return (unsigned int)r < GW_AUTH_REASON_COUNT ? 401 : 500;
	}
}

int gw_auth_www_authenticate(char *buf, size_t size, const char *scheme, const char *realm,
			     enum gw_auth_reason r)
{
	char esc[2 * 128 + 1];
	size_t o = 0;
	int n;

	for (; realm && *realm && o + 2 < sizeof(esc); realm++) {
		unsigned char ch = (unsigned char)*realm;

		if (ch < 0x20 || ch == 0x7f)
			continue;
		if (ch == '"' || ch == '\\')
			esc[o++] = '\\';
		esc[o++] = (char)ch;
	}
	esc[o] = '\0';
	if (r == GW_AUTH_MISSING || r == GW_AUTH_OK)
		n = snprintf(buf, size, "%s realm=\"%s\"", scheme, esc);
	else
		n = snprintf(buf, size, "%s realm=\"%s\", error=\"%s\", error_description=\"%s\"",
			     scheme, esc,
			     gw_auth_http_status(r) == 403 ? "insufficient_scope" : "invalid_token",
			     gw_auth_reason_description(r));
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

/* Returns 1 if `c` may appear in an RFC 6750 b64token. */
static int b64token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int gw_auth_bearer_token(const char *value, size_t len, const char **tok, size_t *tok_len)
{
	size_t i = 6, end = len;

	if (!value || !len)
		return -ENOENT;
	if (len < 6 || strncasecmp(value, "Bearer", 6))
		return -ENOENT;
	if (len == 6)
		return -EINVAL;
	if (value[6] != ' ')
		return -ENOENT; /* "Bearerx": another scheme */
	while (i < len && value[i] == ' ')
		i++;
	while (end > i && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	if (i == end)
		return -EINVAL;
	*tok = value + i;
	/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
	while (i < end && b64token_char((unsigned char)value[i]))
		i++;
	while (i < end && value[i] == '=')
		i++;
	if (i != end)
		return -EINVAL;
	*tok_len = end - (size_t)(*tok - value);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                           */
/* ------------------------------------------------------------------ */

/* Signature checks done (public-key operations and HMACs), for tests and
 * metrics: a cache hit must not add to it. */
static __u64 n_verifications;

__u64 gw_jws_verifications(void)
{
	return __atomic_load_n(&n_verifications, __ATOMIC_RELAXED);
}

/* Algorithms fetched once: an implicit fetch per call costs as much as
 * hashing a whole token. */
static EVP_MAC *hmac_alg;
static EVP_MD *sha256_md;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_algs(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int gw_sha256(const void *data, size_t len, unsigned char *out)
{
	pthread_once(&fetch_once, fetch_algs);
	if (!sha256_md || !EVP_Digest(data, len, out, NULL, sha256_md, NULL))
		return -ENOMEM;
	return 0;
}

/* Returns the digest name of `alg`, NULL for EdDSA. */
static const char *alg_digest(enum gw_jwa alg)
{
	switch (alg) {
	case GW_JWA_RS256:
	case GW_JWA_PS256:
	case GW_JWA_ES256:
	case GW_JWA_HS256:
		return "SHA256";
	case GW_JWA_RS384:
	case GW_JWA_PS384:
	case GW_JWA_ES384:
	case GW_JWA_HS384:
		return "SHA384";
	case GW_JWA_RS512:
	case GW_JWA_PS512:
	case GW_JWA_HS512:
		return "SHA512";
	default:
		return NULL;
	}
}

/* Returns the signature length `alg` needs with `key`. */
static size_t sig_len(const struct gw_jwk *key, enum gw_jwa alg)
{
	switch (alg) {
	case GW_JWA_HS256:
		return 32;
	case GW_JWA_HS384:
		return 48;
	case GW_JWA_HS512:
		return 64;
	default:
		return key->sig_len;
	}
}

/* Returns 1 when the HMAC of msg under the key equals sig (constant time),
 * 0 when not, -1 on a library failure. */
static int verify_hmac(const struct gw_jwk *key, const char *md, const unsigned char *msg,
		       size_t mlen, const unsigned char *sig, size_t slen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t maclen = 0;
	int ok;

	pthread_once(&fetch_once, fetch_algs);
	if (!hmac_alg)
		return -1;
	ctx = EVP_MAC_CTX_new(hmac_alg);
	if (!ctx)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(ctx, key->secret, key->secret_len, params) &&
	     EVP_MAC_update(ctx, msg, mlen) && EVP_MAC_final(ctx, mac, &maclen, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		return -1;
	ok = maclen == slen && !CRYPTO_memcmp(mac, sig, slen);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

/* Turns a JWS ECDSA signature (R || S, each half `slen / 2` bytes) into
 * DER. Returns the DER length with *der to free (OPENSSL_free), or -1. */
static int ecdsa_raw_to_der(const unsigned char *sig, size_t slen, unsigned char **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(slen / 2), NULL);
	BIGNUM *s = BN_bin2bn(sig + slen / 2, (int)(slen / 2), NULL);
	int n = -1;

	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	*der = NULL;
	n = i2d_ECDSA_SIG(es, der);
	if (n <= 0)
		n = -1;
out:
	ECDSA_SIG_free(es);
	return n;
}

/* Returns 1 when `sig` is a valid signature of msg by `key` under `alg`, 0
 * when not, -1 on a library failure. */
static int verify_sig(const struct gw_jwk *key, enum gw_jwa alg, const unsigned char *msg,
		      size_t mlen, const unsigned char *sig, size_t slen)
{
	const char *md = alg_digest(alg);
	unsigned char *der = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx;
	int ok = -1, dlen;

	__atomic_add_fetch(&n_verifications, 1, __ATOMIC_RELAXED);
	if (key->type == GW_KTY_OCT)
		return verify_hmac(key, md, msg, mlen, sig, slen);
	mctx = EVP_MD_CTX_new();
	if (!mctx)
		return -1;
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, key->pkey, NULL) != 1)
		goto out;
	switch (alg) {
	case GW_JWA_PS256:
	case GW_JWA_PS384:
	case GW_JWA_PS512:
		/* RFC 7518 3.5: MGF1 with the same hash, salt as long as it. */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, NULL) != 1)
			goto out;
		break;
	case GW_JWA_ES256:
	case GW_JWA_ES384:
		dlen = ecdsa_raw_to_der(sig, slen, &der);
		if (dlen < 0)
			goto out;
		sig = der;
		slen = (size_t)dlen;
		break;
	default:
		break;
	}
	ok = EVP_DigestVerify(mctx, sig, slen, msg, mlen) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	return ok;
}

/* ------------------------------------------------------------------ */
/* JWS                                                                  */
/* ------------------------------------------------------------------ */

/* Returns the key for `alg` and `kid` (NULL: the token has none), or NULL
 * with *reason set: bad_alg when the kid names keys that do not fit alg,
 * unknown_kid when no key has that kid, or, without a kid, when not exactly
 * one key fits. */
static const struct gw_jwk *select_key(const struct gw_jwks_set *set, enum gw_jwa alg,
				       const char *kid, size_t kid_len, enum gw_auth_reason *reason)
{
	const struct gw_jwk *found = NULL;
	bool kid_seen = false;
	size_t i, fits = 0;

	for (i = 0; i < set->n_keys; i++) {
		const struct gw_jwk *k = &set->keys[i];

		if (kid) {
			if (!k->kid || strlen(k->kid) != kid_len || memcmp(k->kid, kid, kid_len))
				continue;
			kid_seen = true;
			if (gw_jwk_fits(k, alg))
				return k;
		} else if (gw_jwk_fits(k, alg)) {
			found = k;
			fits++;
		}
	}
	if (kid) {
		*reason = kid_seen ? GW_AUTH_BAD_ALG : GW_AUTH_UNKNOWN_KID;
		return NULL;
	}
	if (fits == 1)
		return found;
	*reason = GW_AUTH_UNKNOWN_KID;
	return NULL;
}

enum gw_auth_reason gw_jws_verify(const struct gw_jwks_set *set, unsigned int alg_mask,
				  const char *token, size_t len, size_t max_len,
				  unsigned char **payload, size_t *payload_len,
				  const struct gw_jwk **key)
{
	enum gw_auth_reason reason = GW_AUTH_MALFORMED;
	const char *dot1, *dot2, *kid = NULL;
	unsigned char *hdr = NULL, *body = NULL, *sig = NULL;
	ssize_t hlen, blen, slen;
	const struct gw_jwk *k;
	json_t *h = NULL, *a, *v;
	size_t kid_len = 0, hsz, bsz, ssz;
	enum gw_jwa alg;
	int ok;

	*payload = NULL;
	*payload_len = 0;
	if (!len)
		return GW_AUTH_MISSING;
	if (len > max_len)
		return GW_AUTH_MALFORMED;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return GW_AUTH_MALFORMED; /* not exactly three parts */
	hsz = gw_b64url_decoded_max((size_t)(dot1 - token));
	bsz = gw_b64url_decoded_max((size_t)(dot2 - dot1 - 1));
	ssz = gw_b64url_decoded_max(len - (size_t)(dot2 + 1 - token));
	hdr = malloc(hsz);
	body = malloc(bsz + 1); /* + the NUL of *payload */
	sig = malloc(ssz);
	if (!hdr || !body || !sig) {
		reason = GW_AUTH_INTERNAL;
		goto out;
	}
	hlen = gw_b64url_decode(token, (size_t)(dot1 - token), hdr, hsz);
	blen = gw_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), body, bsz);
	slen = gw_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, ssz);
	if (hlen <= 0 || blen < 0 || slen < 0)
		goto out;
	h = json_loadb((const char *)hdr, (size_t)hlen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(h))
		goto out;
	/* RFC 7515 4.1.11: an extension we would have to understand. None is
	 * implemented, so any crit is refused. */
	if (json_object_get(h, "crit"))
		goto out;
	v = json_object_get(h, "kid");
	if (v) {
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > KID_MAX)
			goto out;
		kid = json_string_value(v);
		kid_len = json_string_length(v);
	}
	a = json_object_get(h, "alg");
	if (!json_is_string(a))
		goto out;
	reason = GW_AUTH_BAD_ALG;
	alg = gw_jwa_from_name(json_string_value(a), json_string_length(a));
	if (alg == GW_JWA_NONE || !(alg_mask & (1u << alg)))
		goto out;
	k = select_key(set, alg, kid, kid_len, &reason);
	if (!k)
		goto out;
	reason = GW_AUTH_BAD_SIGNATURE;
	if (!slen || (size_t)slen != sig_len(k, alg))
		goto out;
	ok = verify_sig(k, alg, (const unsigned char *)token, (size_t)(dot2 - token), sig,
			(size_t)slen);
	if (ok < 0)
		reason = GW_AUTH_INTERNAL;
	if (ok != 1)
		goto out;
	body[blen] = '\0';
	*payload = body;
	*payload_len = (size_t)blen;
	body = NULL;
	if (key)
		*key = k;
	reason = GW_AUTH_OK;
out:
	json_decref(h);
	free(hdr);
	free(body);
	free(sig);
	return reason;
}

/* ------------------------------------------------------------------ */
/* Claims                                                               */
/* ------------------------------------------------------------------ */

/* What one worker thread alone touches: its reference to the published
 * key set and its verified-token cache (no lock on the request path). */
struct jwt_worker {
	struct gw_jwks_reader rd;
	struct gw_tokcache *cache;
} __attribute__((aligned(64)));

struct gw_jwt {
	char *name;
	unsigned int alg_mask;
	char *issuer;
	char **audiences;
	size_t n_audiences;
	__s64 leeway_ns;
	char **claims;	/* forwarded: claim names ... */
	char **headers; /* ... and the headers they go to */
	size_t n_forward;
	size_t max_token;
	struct gw_jwks *jwks;
	unsigned int n_workers;
	struct jwt_worker *w; /* [n_workers] */
};

/* Reads a NumericDate (RFC 7519 2: seconds, possibly fractional) as whole
 * seconds, rounding fractions toward the stricter side (`up`: nbf and iat
 * move later, exp earlier). Returns 0 or -1 when `v` is not a finite number
 * in a sane range. */
static int numeric_date(const json_t *v, int up, __s64 *s)
{
	double d;

	if (json_is_integer(v)) {
		*s = json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	if (!isfinite(d) || d > 1e15 || d < -1e15)
		return -1;
	*s = (__s64)(up ? ceil(d) : floor(d));
	return 0;
}

/* Returns s * 1e9 + add_ns, saturated to the range of __s64. */
static __s64 ns_at(__s64 s, __s64 add_ns)
{
	__int128 v = (__int128)s * NS_S + add_ns;

	if (v > INT64_MAX)
		return INT64_MAX;
	if (v < INT64_MIN)
		return INT64_MIN;
	return (__s64)v;
}

/* Returns 1 if `s` (`len` bytes) may be a header value or a consumer: no
 * control bytes (NUL, CR, LF, ...) and no DEL; bytes >= 0x80 are kept. */
static int value_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Returns 1 when the json string `v` equals `s`. */
static int json_str_eq(const json_t *v, const char *s)
{
	return json_is_string(v) && json_string_length(v) == strlen(s) &&
	       !memcmp(json_string_value(v), s, json_string_length(v));
}

/* Returns 1 when `v` equals one of the configured audiences. */
static int aud_match(const struct gw_jwt *jwt, const json_t *v)
{
	size_t i;

	for (i = 0; i < jwt->n_audiences; i++)
		if (json_str_eq(v, jwt->audiences[i]))
			return 1;
	return 0;
}

/* For nbf and iat: an optional time that must not be later than now plus
 * leeway. Returns GW_AUTH_OK (also when v is NULL), GW_AUTH_BAD_CLAIM when
 * it is not a number, or `late` when it is in the future. */
static enum gw_auth_reason check_not_after(const struct gw_jwt *jwt, const json_t *v, __s64 now_ns,
					   enum gw_auth_reason late)
{
	__s64 t;

	if (!v)
		return GW_AUTH_OK;
	if (numeric_date(v, 1, &t))
		return GW_AUTH_BAD_CLAIM;
	return ns_at(t, -jwt->leeway_ns) > now_ns ? late : GW_AUTH_OK;
}

/* Checks the claims object and fills res. Returns the reason, and the time
 * the token stops being valid in *valid_until_ns. */
static enum gw_auth_reason check_claims(const struct gw_jwt *jwt, const json_t *c, __s64 now_ns,
					struct gw_auth_result *res, __s64 *valid_until_ns)
{
	enum gw_auth_reason r;
	const json_t *v, *e;
	__s64 t;
	size_t i;

	if (!json_is_object(c))
		return GW_AUTH_BAD_CLAIM;
	/* exp is required: a token without one would be good forever. */
	if (numeric_date(json_object_get(c, "exp"), 0, &t))
		return GW_AUTH_BAD_CLAIM;
	*valid_until_ns = ns_at(t, jwt->leeway_ns);
	if (now_ns >= *valid_until_ns)
		return GW_AUTH_EXPIRED;
	r = check_not_after(jwt, json_object_get(c, "nbf"), now_ns, GW_AUTH_NOT_YET_VALID);
	if (r == GW_AUTH_OK)
		r = check_not_after(jwt, json_object_get(c, "iat"), now_ns, GW_AUTH_BAD_IAT);
	if (r != GW_AUTH_OK)
		return r;
	if (jwt->issuer && !json_str_eq(json_object_get(c, "iss"), jwt->issuer))
		return GW_AUTH_BAD_ISSUER;
	if (jwt->n_audiences) {
		v = json_object_get(c, "aud");
		if (json_is_array(v)) {
			json_array_foreach(v, i, e) if (aud_match(jwt, e)) break;
			if (i == json_array_size(v))
				return GW_AUTH_BAD_AUDIENCE;
		} else if (!aud_match(jwt, v)) {
			return GW_AUTH_BAD_AUDIENCE;
		}
	}
	res->consumer[0] = '\0';
	v = json_object_get(c, "sub");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) >= GW_AUTH_CONSUMER_MAX ||
		    !value_ok(json_string_value(v), json_string_length(v)))
			return GW_AUTH_BAD_CLAIM;
		memcpy(res->consumer, json_string_value(v), json_string_length(v) + 1);
	}
	for (i = 0; i < jwt->n_forward; i++) {
		struct gw_auth_header *hd = &res->headers[i];

		hd->name = jwt->headers[i];
		v = json_object_get(c, jwt->claims[i]);
		if (json_is_string(v)) {
			if (json_string_length(v) >= GW_AUTH_VALUE_MAX ||
			    !value_ok(json_string_value(v), json_string_length(v)))
				return GW_AUTH_BAD_CLAIM;
			memcpy(hd->value, json_string_value(v), json_string_length(v) + 1);
		} else if (json_is_integer(v)) {
			snprintf(hd->value, sizeof(hd->value), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
		} else {
			/* Absent, or not a string or an integer (arrays,
			 * objects, booleans, null, fractions are never
			 * forwarded): the upstream would not get the identity
			 * it is configured to receive. */
			return GW_AUTH_MISSING_CLAIM;
		}
	}
	res->n_headers = jwt->n_forward;
	return GW_AUTH_OK;
}

static void result_reset(struct gw_auth_result *res)
{
	res->reason = GW_AUTH_OK;
	res->cached = false;
	res->consumer[0] = '\0';
	res->n_headers = 0;
}

enum gw_auth_reason gw_jwt_verify(const struct gw_jwt *jwt, const struct gw_jwks_set *set,
				  const char *token, size_t len, __s64 now_ns,
				  struct gw_auth_result *res, const struct gw_jwk **key,
				  __s64 *valid_until_ns)
{
	unsigned char *payload;
	size_t plen;
	json_t *claims;
	__s64 until = 0;
	enum gw_auth_reason r;

	result_reset(res);
	r = gw_jws_verify(set, jwt->alg_mask, token, len, jwt->max_token, &payload, &plen, key);
	if (r != GW_AUTH_OK)
		goto out;
	claims = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
	free(payload);
	r = claims ? check_claims(jwt, claims, now_ns, res, &until) : GW_AUTH_BAD_CLAIM;
	json_decref(claims);
	if (valid_until_ns)
		*valid_until_ns = until;
out:
	if (r != GW_AUTH_OK) {
		res->consumer[0] = '\0';
		res->n_headers = 0;
	}
	res->reason = r;
	return r;
}

/* ------------------------------------------------------------------ */
/* Cache entries: consumer and header values as NUL-terminated strings  */
/* ------------------------------------------------------------------ */

/* Returns the length of the serialized identity in buf, or 0 if it does not
 * fit. */
static size_t ident_pack(const struct gw_auth_result *res, char *buf, size_t size)
{
	size_t o = 0, i, l;

	l = strlen(res->consumer) + 1;
	if (l > size)
		return 0;
	memcpy(buf, res->consumer, l);
	o = l;
	for (i = 0; i < res->n_headers; i++) {
		l = strlen(res->headers[i].value) + 1;
		if (o + l > size)
			return 0;
		memcpy(buf + o, res->headers[i].value, l);
		o += l;
	}
	return o;
}

/* Fills res from a serialized identity. Returns 0, or -1 when it does not
 * match the verifier (then the entry is treated as a miss). */
static int ident_unpack(const struct gw_jwt *jwt, const char *buf, size_t len,
			struct gw_auth_result *res)
{
	const char *p = buf, *end = buf + len, *z;
	size_t i;

	z = memchr(p, '\0', (size_t)(end - p));
	if (!z || (size_t)(z - p) >= sizeof(res->consumer))
		return -1;
	memcpy(res->consumer, p, (size_t)(z - p) + 1);
	p = z + 1;
	for (i = 0; i < jwt->n_forward; i++) {
		z = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (!z || (size_t)(z - p) >= sizeof(res->headers[i].value))
			return -1;
		res->headers[i].name = jwt->headers[i];
		memcpy(res->headers[i].value, p, (size_t)(z - p) + 1);
		p = z + 1;
	}
	res->n_headers = jwt->n_forward;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The verifier                                                         */
/* ------------------------------------------------------------------ */

enum gw_auth_reason gw_jwt_authenticate(struct gw_jwt *jwt, unsigned int worker, const char *token,
					size_t len, __s64 now_ns, struct gw_auth_result *res)
{
	char ident[GW_AUTH_CONSUMER_MAX + GW_AUTH_FORWARD_MAX * GW_AUTH_VALUE_MAX];
	unsigned char hash[32];
	const struct gw_jwks_set *set;
	struct jwt_worker *w;
	const struct gw_jwk *key = NULL;
	__s64 until = 0;
	size_t ilen;
	enum gw_auth_reason r;

	result_reset(res);
	if (!token || !len)
		return res->reason = GW_AUTH_MISSING;
	if (len > jwt->max_token)
		return res->reason = GW_AUTH_MALFORMED;
	if (worker >= jwt->n_workers)
		return res->reason = GW_AUTH_INTERNAL;
	w = &jwt->w[worker];
	/* the published set: one atomic load unless a reread published one */
	set = gw_jwks_read(jwt->jwks, &w->rd);
	if (!set || gw_sha256(token, len, hash))
		return res->reason = GW_AUTH_INTERNAL;
	if (!gw_tokcache_get(w->cache, hash, set, now_ns, ident, sizeof(ident), &ilen) &&
	    !ident_unpack(jwt, ident, ilen, res)) {
		res->cached = true;
		return res->reason = GW_AUTH_OK;
	}
	r = gw_jwt_verify(jwt, set, token, len, now_ns, res, &key, &until);
	if (r == GW_AUTH_UNKNOWN_KID && gw_jwks_refresh_unknown_kid(jwt->jwks, (__u64)now_ns) > 0) {
		set = gw_jwks_read(jwt->jwks, &w->rd);
		r = gw_jwt_verify(jwt, set, token, len, now_ns, res, &key, &until);
	}
	if (r == GW_AUTH_OK) {
		ilen = ident_pack(res, ident, sizeof(ident));
		if (ilen)
			gw_tokcache_put(w->cache, hash, key->fp, set->generation, until, ident,
					ilen);
	}
	return r;
}

enum gw_auth_reason gw_jwt_authenticate_header(struct gw_jwt *jwt, unsigned int worker,
					       const char *value, size_t len, __s64 now_ns,
					       struct gw_auth_result *res)
{
	const char *tok;
	size_t tlen;
	int err;

	err = gw_auth_bearer_token(value, len, &tok, &tlen);
	if (err) {
		result_reset(res);
		return res->reason = err == -ENOENT ? GW_AUTH_MISSING : GW_AUTH_MALFORMED;
	}
	return gw_jwt_authenticate(jwt, worker, tok, tlen, now_ns, res);
}

/* Returns 1 if `name` may be a header a claim is forwarded in: an RFC 9110
 * token that is not one of the headers that frame or route the message. */
static int forward_header_ok(const char *name)
{
	static const char *const framing[] = {"host",	    "content-length", "transfer-encoding",
					      "connection", "upgrade",	      "te",
					      "trailer",    "keep-alive"};
	size_t i;

	if (!*name || strspn(name, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(name))
		return 0;
	for (i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
		if (!strcasecmp(name, framing[i]))
			return 0;
	return 1;
}

/* Returns a malloc'd copy of the n strings of v, or NULL (and *err). */
static char **strv_dup(char *const *v, size_t n, int *err)
{
	char **c = calloc(n ? n : 1, sizeof(*c));
	size_t i;

	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i])
			*err = -ENOMEM;
	}
	return c;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* One cache line per worker, each with its share of the cache entries.
 * Returns 0 or -errno. */
static int workers_new(struct gw_jwt *jwt, const struct gw_jwt_opts *opts)
{
	size_t total = opts && opts->cache_entries ? opts->cache_entries : GW_TOKCACHE_DEFAULT;
	unsigned int n = opts && opts->workers ? opts->workers : 1, i;
	int err;

	jwt->w = aligned_alloc(64, n * sizeof(*jwt->w));
	if (!jwt->w)
		return -ENOMEM;
	memset(jwt->w, 0, n * sizeof(*jwt->w));
	jwt->n_workers = n;
	for (i = 0; i < n; i++) {
		err = gw_tokcache_new((total + n - 1) / n, &jwt->w[i].cache);
		if (err)
			return err;
	}
	return 0;
}

int gw_jwt_new(const struct gw_cfg_jwt *cfg, const struct gw_jwt_opts *opts, struct gw_jwt **out)
{
	const char *name = cfg->name ? cfg->name : "?";
	struct gw_jwt *jwt;
	enum gw_jwa a;
	size_t i;
	int err = 0;

	*out = NULL;
	if (cfg->n_forward_claims > GW_AUTH_FORWARD_MAX) {
		pr_err("jwt '%s': %zu forward_claims, at most %d\n", name, cfg->n_forward_claims,
		       GW_AUTH_FORWARD_MAX);
		return -EINVAL;
	}
	if (!cfg->jwks) {
		pr_err("jwt '%s': no jwks file\n", name);
		return -EINVAL;
	}
	jwt = calloc(1, sizeof(*jwt));
	if (!jwt)
		return -ENOMEM;
	for (i = 0; i < cfg->n_algorithms; i++) {
		a = gw_jwa_from_name(cfg->algorithms[i], strlen(cfg->algorithms[i]));
		if (a == GW_JWA_NONE) {
			pr_err("jwt '%s': algorithm '%s' is not accepted\n", name,
			       cfg->algorithms[i]);
			err = -EINVAL;
			goto fail;
		}
		jwt->alg_mask |= 1u << a;
	}
	if (!jwt->alg_mask) {
		pr_err("jwt '%s': no algorithms\n", name);
		err = -EINVAL;
		goto fail;
	}
	jwt->name = strdup(name);
	jwt->issuer = cfg->issuer ? strdup(cfg->issuer) : NULL;
	if (!jwt->name || (cfg->issuer && !jwt->issuer))
		err = -ENOMEM;
	jwt->audiences = strv_dup(cfg->audiences, cfg->n_audiences, &err);
	jwt->n_audiences = cfg->n_audiences;
	jwt->claims = calloc(cfg->n_forward_claims + 1, sizeof(char *));
	jwt->headers = calloc(cfg->n_forward_claims + 1, sizeof(char *));
	if (!jwt->claims || !jwt->headers) {
		err = -ENOMEM;
		goto fail;
	}
	jwt->n_forward = cfg->n_forward_claims;
	for (i = 0; i < cfg->n_forward_claims; i++) {
		const char *hn = cfg->forward_claims[i].value;
		size_t j;

		if (!hn || !forward_header_ok(hn)) {
			pr_err("jwt '%s': forward_claims: '%s' cannot carry a claim (a header "
			       "name, not one that frames or routes the request)\n",
			       name, hn ? hn : "");
			err = -EINVAL;
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (!strcasecmp(hn, cfg->forward_claims[j].value)) {
				pr_err("jwt '%s': forward_claims: header '%s' used twice\n", name,
				       hn);
				err = -EINVAL;
				goto fail;
			}
	}
	for (i = 0; i < cfg->n_forward_claims; i++) {
		jwt->claims[i] = strdup(cfg->forward_claims[i].key);
		jwt->headers[i] = strdup(cfg->forward_claims[i].value);
		if (!jwt->claims[i] || !jwt->headers[i])
			err = -ENOMEM;
	}
	if (err)
		goto fail;
	jwt->leeway_ns = (__s64)cfg->leeway_ns;
	jwt->max_token = opts && opts->max_token ? opts->max_token : GW_JWT_MAX_TOKEN;
	err = workers_new(jwt, opts);
	if (err)
		goto fail;
	err = gw_jwks_open(cfg->jwks, opts ? &opts->jwks : NULL, &jwt->jwks);
	if (err) {
		pr_err("jwt '%s': cannot load jwks %s: %s\n", name, cfg->jwks, strerror(-err));
		goto fail;
	}
	*out = jwt;
	return 0;
fail:
	gw_jwt_free(jwt);
	return err;
}

void gw_jwt_free(struct gw_jwt *jwt)
{
	unsigned int i;

	if (!jwt)
		return;
	for (i = 0; i < jwt->n_workers; i++) {
		gw_jwks_reader_drop(&jwt->w[i].rd);
		gw_tokcache_free(jwt->w[i].cache);
	}
	free(jwt->w);
	gw_jwks_free(jwt->jwks);
	strv_free(jwt->audiences, jwt->n_audiences);
	strv_free(jwt->claims, jwt->n_forward);
	strv_free(jwt->headers, jwt->n_forward);
	free(jwt->issuer);
	free(jwt->name);
	free(jwt);
}

struct gw_jwks *gw_jwt_jwks(struct gw_jwt *jwt)
{
	return jwt->jwks;
}

struct gw_tokcache *gw_jwt_cache(struct gw_jwt *jwt, unsigned int worker)
{
	return worker < jwt->n_workers ? jwt->w[worker].cache : NULL;
}
