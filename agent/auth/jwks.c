// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JWKS files: parse, check and hold the verification keys of a jwt auth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "core/b64url.h"
#include "auth/jwks.h"
#include "core/log.h"

#define RSA_MIN_BITS  2048
#define RSA_MAX_BITS  16384
#define OCT_MIN_BYTES 32
#define OCT_MAX_BYTES 512
#define KID_MAX	      255
/* Largest decoded member: an RSA modulus of RSA_MAX_BITS. */
#define MEMBER_MAX (RSA_MAX_BITS / 8)

static const char *const jwa_names[GW_JWA_COUNT] = {
	[GW_JWA_NONE] = "none",	  [GW_JWA_RS256] = "RS256", [GW_JWA_RS384] = "RS384",
	[GW_JWA_RS512] = "RS512", [GW_JWA_PS256] = "PS256", [GW_JWA_PS384] = "PS384",
	[GW_JWA_PS512] = "PS512", [GW_JWA_ES256] = "ES256", [GW_JWA_ES384] = "ES384",
	[GW_JWA_EDDSA] = "EdDSA", [GW_JWA_HS256] = "HS256", [GW_JWA_HS384] = "HS384",
	[GW_JWA_HS512] = "HS512",
};

enum gw_jwa gw_jwa_from_name(const char *name, size_t len)
{
	int a;

	for (a = GW_JWA_NONE + 1; a < GW_JWA_COUNT; a++)
		if (strlen(jwa_names[a]) == len && !memcmp(jwa_names[a], name, len))
			return (enum gw_jwa)a;
	return GW_JWA_NONE;
}

const char *gw_jwa_name(enum gw_jwa alg)
{
	return (unsigned int)alg < GW_JWA_COUNT ? jwa_names[alg] : "none";
}

bool gw_jwk_fits(const struct gw_jwk *key, enum gw_jwa alg)
{
	bool type_ok;

	switch (alg) {
	case GW_JWA_RS256:
	case GW_JWA_RS384:
	case GW_JWA_RS512:
	case GW_JWA_PS256:
	case GW_JWA_PS384:
	case GW_JWA_PS512:
		type_ok = key->type == GW_KTY_RSA;
		break;
	case GW_JWA_ES256:
		type_ok = key->type == GW_KTY_P256;
		break;
	case GW_JWA_ES384:
		type_ok = key->type == GW_KTY_P384;
		break;
	case GW_JWA_EDDSA:
		type_ok = key->type == GW_KTY_ED25519;
		break;
	case GW_JWA_HS256:
		type_ok = key->type == GW_KTY_OCT && key->secret_len >= 32;
		break;
	case GW_JWA_HS384:
		type_ok = key->type == GW_KTY_OCT && key->secret_len >= 48;
		break;
	case GW_JWA_HS512:
		type_ok = key->type == GW_KTY_OCT && key->secret_len >= 64;
		break;
	default:
		return false;
	}
	return type_ok && (key->alg == GW_JWA_NONE || key->alg == alg);
}

const struct gw_jwk *gw_jwks_set_find_fp(const struct gw_jwks_set *set, const unsigned char *fp)
{
	size_t i;

	for (i = 0; i < set->n_keys; i++)
		if (!memcmp(set->keys[i].fp, fp, sizeof(set->keys[i].fp)))
			return &set->keys[i];
	return NULL;
}

static void jwk_clear(struct gw_jwk *k)
{
	free(k->kid);
	EVP_PKEY_free(k->pkey);
	if (k->secret)
		OPENSSL_clear_free(k->secret, k->secret_len);
	memset(k, 0, sizeof(*k));
}

void gw_jwks_set_put(struct gw_jwks_set *set)
{
	size_t i;

	if (!set || __atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < set->n_keys; i++)
		jwk_clear(&set->keys[i]);
	free(set);
}

/* ------------------------------------------------------------------ */
/* One key                                                              */
/* ------------------------------------------------------------------ */

/* Context of the key being parsed, for messages. */
struct kctx {
	const char *name;
	size_t index;
	const char *kid;
	struct gw_cfg_errors *msgs;
};

#define key_warn(kc, fmt, ...)                                                                     \
	gw_msgs_add((kc)->msgs, GW_LOG_WARN, "jwks %s: key %zu%s%s%s: " fmt, (kc)->name,           \
		    (kc)->index, (kc)->kid ? " (kid \"" : "", (kc)->kid ? (kc)->kid : "",          \
		    (kc)->kid ? "\")" : "", ##__VA_ARGS__)

/* Decodes member `m` of `obj` (base64url) into buf (room for `size`).
 * Returns the length, or -1 after a message. */
static ssize_t member_b64(struct kctx *kc, json_t *obj, const char *m, unsigned char *buf,
			  size_t size)
{
	json_t *v = json_object_get(obj, m);
	ssize_t n;

	if (!json_is_string(v)) {
		key_warn(kc, "\"%s\" is %s", m, v ? "not a string" : "missing");
		return -1;
	}
	n = gw_b64url_decode(json_string_value(v), json_string_length(v), buf, size);
	if (n == -ENOSPC) {
		key_warn(kc, "\"%s\" is too long", m);
		return -1;
	}
	if (n < 0) {
		key_warn(kc, "\"%s\" is not strict base64url", m);
		return -1;
	}
	return n;
}

/* Builds a public key of `type` ("RSA", "EC") from params. Returns it, or
 * NULL. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!ctx)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* Returns 0 with k->pkey set, or -1 after a message. */
static int parse_rsa(struct kctx *kc, json_t *obj, struct gw_jwk *k, unsigned char *buf)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	ssize_t len;
	int bits, err = -1;

	len = member_b64(kc, obj, "n", buf, MEMBER_MAX);
	if (len < 0)
		return -1;
	n = BN_bin2bn(buf, (int)len, NULL);
	len = member_b64(kc, obj, "e", buf, MEMBER_MAX);
	if (len < 0)
		goto out;
	e = BN_bin2bn(buf, (int)len, NULL);
	if (!n || !e)
		goto out;
	bits = BN_num_bits(n);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		key_warn(kc, "RSA modulus has %d bits, %d to %d accepted", bits, RSA_MIN_BITS,
			 RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > 64) {
		key_warn(kc, "RSA exponent must be odd, at least 3 and at most 64 bits");
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params)
		goto out;
	k->pkey = pkey_fromdata("RSA", params);
	if (!k->pkey) {
		key_warn(kc, "OpenSSL refused the RSA key");
		goto out;
	}
	k->sig_len = (size_t)(bits + 7) / 8;
	err = 0;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return err;
}

/* Returns 0 with k->pkey set (a point on the curve), or -1 after a message. */
static int parse_ec(struct kctx *kc, json_t *obj, struct gw_jwk *k, unsigned char *buf)
{
	const char *crv = json_string_value(json_object_get(obj, "crv"));
	unsigned char pub[1 + 2 * 48];
	const char *group;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	size_t flen;
	ssize_t len;
	int ok;

	if (crv && !strcmp(crv, "P-256")) {
		k->type = GW_KTY_P256;
		group = "prime256v1";
		flen = 32;
	} else if (crv && !strcmp(crv, "P-384")) {
		k->type = GW_KTY_P384;
		group = "secp384r1";
		flen = 48;
	} else {
		key_warn(kc, "EC curve \"%s\" is not supported (P-256, P-384)", crv ? crv : "");
		return -1;
	}
	pub[0] = 0x04;
	len = member_b64(kc, obj, "x", buf, MEMBER_MAX);
	if (len < 0)
		return -1;
	if ((size_t)len != flen) {
		key_warn(kc, "\"x\" has %zd bytes, %s needs %zu", len, crv, flen);
		return -1;
	}
	memcpy(pub + 1, buf, flen);
	len = member_b64(kc, obj, "y", buf, MEMBER_MAX);
	if (len < 0)
		return -1;
	if ((size_t)len != flen) {
		key_warn(kc, "\"y\" has %zd bytes, %s needs %zu", len, crv, flen);
		return -1;
	}
	memcpy(pub + 1 + flen, buf, flen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * flen);
	params[2] = OSSL_PARAM_construct_end();
	k->pkey = pkey_fromdata("EC", params);
	if (!k->pkey) {
		key_warn(kc, "the point (x, y) is not on %s", crv);
		return -1;
	}
	/* fromdata decodes the point; the public check is explicit about it
	 * (on the curve, not infinity, of the group's order). */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	ok = ctx && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		key_warn(kc, "the point (x, y) is not a valid %s public key", crv);
		return -1;
	}
	k->sig_len = 2 * flen;
	return 0;
}

/* Returns 0 with k->pkey set, or -1 after a message. */
static int parse_okp(struct kctx *kc, json_t *obj, struct gw_jwk *k, unsigned char *buf)
{
	const char *crv = json_string_value(json_object_get(obj, "crv"));
	ssize_t len;

	if (!crv || strcmp(crv, "Ed25519")) {
		key_warn(kc, "OKP curve \"%s\" is not supported (Ed25519)", crv ? crv : "");
		return -1;
	}
	len = member_b64(kc, obj, "x", buf, MEMBER_MAX);
	if (len < 0)
		return -1;
	if (len != 32) {
		key_warn(kc, "\"x\" has %zd bytes, Ed25519 needs 32", len);
		return -1;
	}
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, buf, 32);
	if (!k->pkey) {
		key_warn(kc, "OpenSSL refused the Ed25519 key");
		return -1;
	}
	k->type = GW_KTY_ED25519;
	k->sig_len = 64;
	return 0;
}

/* Returns 0 with k->secret set, or -1 after a message. */
static int parse_oct(struct kctx *kc, json_t *obj, struct gw_jwk *k, unsigned char *buf)
{
	ssize_t len = member_b64(kc, obj, "k", buf, MEMBER_MAX);

	if (len < 0)
		return -1;
	if (len < OCT_MIN_BYTES || len > OCT_MAX_BYTES) {
		key_warn(kc, "oct key has %zd bytes, %d to %d accepted", len, OCT_MIN_BYTES,
			 OCT_MAX_BYTES);
		OPENSSL_cleanse(buf, (size_t)len);
		return -1;
	}
	k->secret = OPENSSL_malloc((size_t)len);
	if (!k->secret)
		return -1;
	memcpy(k->secret, buf, (size_t)len);
	OPENSSL_cleanse(buf, (size_t)len);
	k->secret_len = (size_t)len;
	k->type = GW_KTY_OCT;
	return 0;
}

/* Fills k->fp: SHA-256 over type, alg, kid and the key material. Returns 0
 * or -1. */
static int fingerprint(struct gw_jwk *k)
{
	unsigned char hdr[2] = {(unsigned char)k->type, (unsigned char)k->alg};
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t kidlen = k->kid ? strlen(k->kid) + 1 : 0;
	int derlen = 0, ok;

	if (k->pkey) {
		derlen = i2d_PUBKEY(k->pkey, &der);
		if (derlen <= 0) {
			EVP_MD_CTX_free(md);
			return -1;
		}
	}
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, hdr, 2) &&
	     EVP_DigestUpdate(md, k->kid ? k->kid : "", kidlen) &&
	     (!der || EVP_DigestUpdate(md, der, (size_t)derlen)) &&
	     (!k->secret || EVP_DigestUpdate(md, k->secret, k->secret_len)) &&
	     EVP_DigestFinal_ex(md, k->fp, NULL);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* Parses key `kc->index` of the set into k. Returns 0, or -1 when the key is
 * skipped (after a message), or -ENOMEM. */
static int parse_key(struct kctx *kc, json_t *obj, struct gw_jwk *k, unsigned char *buf)
{
	json_t *kid = json_object_get(obj, "kid"), *use = json_object_get(obj, "use");
	json_t *alg = json_object_get(obj, "alg"), *ops = json_object_get(obj, "key_ops");
	const char *kty;
	int err;

	memset(k, 0, sizeof(*k));
	if (!json_is_object(obj)) {
		key_warn(kc, "is not an object");
		return -1;
	}
	if (kid) {
		if (!json_is_string(kid) || !json_string_length(kid) ||
		    json_string_length(kid) > KID_MAX) {
			key_warn(kc, "\"kid\" must be a string of 1 to %d bytes", KID_MAX);
			return -1;
		}
		kc->kid = json_string_value(kid);
	}
	if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig"))) {
		key_warn(kc, "\"use\" is not \"sig\"");
		return -1;
	}
	if (ops) {
		size_t i;
		json_t *op;
		bool verify = false;

		if (!json_is_array(ops)) {
			key_warn(kc, "\"key_ops\" is not an array");
			return -1;
		}
		json_array_foreach(ops, i, op) if (json_is_string(op) &&
						   !strcmp(json_string_value(op), "verify"))
			verify = true;
		if (!verify) {
			key_warn(kc, "\"key_ops\" does not allow \"verify\"");
			return -1;
		}
	}
	if (alg) {
		if (!json_is_string(alg)) {
			key_warn(kc, "\"alg\" is not a string");
			return -1;
		}
		k->alg = gw_jwa_from_name(json_string_value(alg), json_string_length(alg));
		if (k->alg == GW_JWA_NONE) {
			key_warn(kc, "\"alg\" \"%s\" is not a supported signature algorithm",
				 json_string_value(alg));
			return -1;
		}
	}
	kty = json_string_value(json_object_get(obj, "kty"));
	if (!kty) {
		key_warn(kc, "\"kty\" is missing or not a string");
		return -1;
	}
	if (!strcmp(kty, "RSA")) {
		k->type = GW_KTY_RSA;
		err = parse_rsa(kc, obj, k, buf);
	} else if (!strcmp(kty, "EC")) {
		err = parse_ec(kc, obj, k, buf);
	} else if (!strcmp(kty, "OKP")) {
		err = parse_okp(kc, obj, k, buf);
	} else if (!strcmp(kty, "oct")) {
		err = parse_oct(kc, obj, k, buf);
	} else {
		key_warn(kc, "\"kty\" \"%s\" is not supported (RSA, EC, OKP, oct)", kty);
		err = -1;
	}
	if (err)
		goto fail;
	if (k->alg != GW_JWA_NONE && !gw_jwk_fits(k, k->alg)) {
		key_warn(kc, "\"alg\" %s does not fit a %s key", gw_jwa_name(k->alg), kty);
		goto fail;
	}
	if (k->type != GW_KTY_OCT && json_object_get(obj, "d"))
		key_warn(kc, "holds private key material (\"d\"); only the public part is used, "
			     "remove it from the file");
	if (kid) {
		k->kid = strdup(kc->kid);
		if (!k->kid) {
			jwk_clear(k);
			return -ENOMEM;
		}
	}
	if (fingerprint(k)) {
		jwk_clear(k);
		return -ENOMEM;
	}
	return 0;
fail:
	jwk_clear(k);
	return -1;
}

int gw_jwks_parse(const char *name, const char *buf, size_t len, const struct gw_jwks_opts *opts,
		  struct gw_jwks_set **out, struct gw_cfg_errors *msgs)
{
	size_t max_keys = opts && opts->max_keys ? opts->max_keys : GW_JWKS_MAX_KEYS;
	struct gw_jwks_set *set = NULL;
	unsigned char *tmp = NULL;
	json_t *root, *keys, *obj;
	json_error_t jerr;
	size_t i, j;
	int err = 0;

	*out = NULL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		gw_msgs_add(msgs, GW_LOG_ERR, "jwks %s:%d:%d: %s", name, jerr.line, jerr.column,
			    jerr.text);
		return -EINVAL;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		gw_msgs_add(msgs, GW_LOG_ERR, "jwks %s: not an object with a \"keys\" array", name);
		err = -EINVAL;
		goto out;
	}
	if (json_array_size(keys) > max_keys) {
		gw_msgs_add(msgs, GW_LOG_ERR, "jwks %s: %zu keys, at most %zu accepted", name,
			    json_array_size(keys), max_keys);
		err = -EINVAL;
		goto out;
	}
	set = calloc(1, sizeof(*set) + json_array_size(keys) * sizeof(set->keys[0]));
	tmp = malloc(MEMBER_MAX);
	if (!set || !tmp) {
		err = -ENOMEM;
		goto out;
	}
	set->refs = 1;
	json_array_foreach(keys, i, obj)
	{
		struct kctx kc = {.name = name, .index = i, .msgs = msgs};
		struct gw_jwk *k = &set->keys[set->n_keys];

		err = parse_key(&kc, obj, k, tmp);
		if (err == -ENOMEM)
			goto out;
		err = 0;
		if (!k->type)
			continue;
		/* Selection by kid takes the first key that fits: a later key
		 * with the same kid and type would never be used. */
		for (j = 0; j < set->n_keys; j++)
			if (k->kid && set->keys[j].kid && !strcmp(k->kid, set->keys[j].kid) &&
			    set->keys[j].type == k->type)
				break;
		if (j < set->n_keys) {
			key_warn(&kc, "has the kid and type of key %zu; skipped", j);
			jwk_clear(k);
			continue;
		}
		set->n_keys++;
	}
	if (!set->n_keys)
		gw_msgs_add(msgs, GW_LOG_WARN, "jwks %s: no usable key", name);
	*out = set;
	set = NULL;
out:
	free(tmp);
	if (set) {
		set->refs = 1;
		gw_jwks_set_put(set);
	}
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------------ */
/* The file                                                             */
/* ------------------------------------------------------------------ */

/* Returns true when both sets hold the same keys in the same order. */
static bool same_keys(const struct gw_jwks_set *a, const struct gw_jwks_set *b)
{
	size_t i;

	if (a->n_keys != b->n_keys)
		return false;
	for (i = 0; i < a->n_keys; i++)
		if (memcmp(a->keys[i].fp, b->keys[i].fp, sizeof(a->keys[i].fp)))
			return false;
	return true;
}

static void *set_get(void *obj)
{
	struct gw_jwks_set *set = obj;

	__atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
	return set;
}

static void set_put(void *obj)
{
	gw_jwks_set_put(obj);
}

static void count(__u64 *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Reads the file and publishes its keys when they differ. Called with the
 * lock held. Returns 1 (new set), 0 (same keys) or a negative errno (old set
 * kept). */
static int reread(struct gw_jwks *jwks)
{
	struct gw_jwks_set *set = NULL, *old;
	char *buf = NULL;
	size_t len;
	int err;

	count(&jwks->stats.reads);
	err = gw_watched_read(&jwks->file, &buf, &len);
	if (!err) {
		err = gw_jwks_parse(jwks->file.path, buf, len, &jwks->opts, &set, &jwks->file.msgs);
		OPENSSL_cleanse(buf, len); /* oct keys are secrets */
		free(buf);
	}
	if (err) {
		if (jwks->cur)
			gw_watched_keep(&jwks->file);
		count(&jwks->stats.failures);
		return err;
	}
	if (jwks->cur && same_keys(jwks->cur, set)) {
		gw_jwks_set_put(set);
		return 0;
	}
	set->generation = ++jwks->next_generation;
	old = jwks->cur;
	jwks->cur = set;
	gw_refslot_swap(&jwks->slot, set_get(set));
	gw_jwks_set_put(old);
	count(&jwks->stats.changes);
	pr_info("jwks %s: %zu key%s loaded (generation %llu)\n", jwks->file.path, set->n_keys,
		set->n_keys == 1 ? "" : "s", (unsigned long long)set->generation);
	return 1;
}

/* The auth-reread thread's job (gw_watched_schedule). */
static int poll_job(void *arg, bool force)
{
	return gw_jwks_poll(arg, force);
}

int gw_jwks_open(const char *path, const struct gw_jwks_opts *opts, struct gw_jwks **out)
{
	struct gw_jwks *jwks = calloc(1, sizeof(*jwks));
	int err;

	*out = NULL;
	if (!jwks)
		return -ENOMEM;
	if (opts)
		jwks->opts = *opts;
	if (!jwks->opts.refresh_interval_ns)
		jwks->opts.refresh_interval_ns = GW_JWKS_REFRESH_NS;
	if (!jwks->opts.check_interval_ns)
		jwks->opts.check_interval_ns = GW_JWKS_CHECK_NS;
	if (!jwks->opts.max_keys)
		jwks->opts.max_keys = GW_JWKS_MAX_KEYS;
	if (!jwks->opts.max_file)
		jwks->opts.max_file = GW_JWKS_MAX_FILE;
	gw_refslot_init(&jwks->slot, set_get, set_put);
	err = gw_watched_init(&jwks->file, "jwks", path, jwks->opts.max_file);
	gw_watched_set_reread(&jwks->file, poll_job, jwks);
	if (!err)
		err = reread(jwks);
	if (err < 0) {
		gw_jwks_free(jwks);
		return err;
	}
	*out = jwks;
	return 0;
}

void gw_jwks_free(struct gw_jwks *jwks)
{
	if (!jwks)
		return;
	gw_watched_cancel(&jwks->file); /* a reread queued or running uses jwks */
	gw_refslot_destroy(&jwks->slot);
	gw_jwks_set_put(jwks->cur);
	gw_watched_destroy(&jwks->file);
	free(jwks);
}

const struct gw_jwks_set *gw_jwks_read(struct gw_jwks *jwks, struct gw_jwks_reader *rd)
{
	return gw_refslot_refresh(&jwks->slot, &rd->set, &rd->gen);
}

void gw_jwks_reader_drop(struct gw_jwks_reader *rd)
{
	gw_jwks_set_put(rd->set);
	rd->set = NULL;
	rd->gen = 0;
}

int gw_jwks_poll(struct gw_jwks *jwks, bool force)
{
	int err = 0;

	pthread_mutex_lock(&jwks->file.lock);
	if (force || gw_watched_changed(&jwks->file))
		err = reread(jwks);
	pthread_mutex_unlock(&jwks->file.lock);
	return err;
}

/* Returns true when an unknown-kid reread at now_ns would come less than
 * the refresh interval after the last one. */
static bool refresh_too_soon(struct gw_jwks *jwks, __u64 now_ns)
{
	__u64 last = __atomic_load_n(&jwks->last_refresh_ns, __ATOMIC_RELAXED);

	return __atomic_load_n(&jwks->refreshed, __ATOMIC_ACQUIRE) && now_ns >= last &&
	       now_ns - last < jwks->opts.refresh_interval_ns;
}

int gw_jwks_refresh_unknown_kid(struct gw_jwks *jwks, __u64 now_ns)
{
	int err;

	/* Rate limited without touching the lock: a client sending unknown
	 * kids costs one load per request. */
	if (refresh_too_soon(jwks, now_ns))
		return 0;
	/* Single flight: a reread is running (the main loop's or another
	 * worker's); this request goes on with the published set. */
	if (pthread_mutex_trylock(&jwks->file.lock)) {
		count(&jwks->stats.refresh_busy);
		return -EBUSY;
	}
	if (refresh_too_soon(jwks, now_ns)) {
		err = 0;
		goto out;
	}
	__atomic_store_n(&jwks->last_refresh_ns, now_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&jwks->refreshed, 1, __ATOMIC_RELEASE);
	count(&jwks->stats.refreshes);
	err = reread(jwks);
out:
	pthread_mutex_unlock(&jwks->file.lock);
	return err;
}
