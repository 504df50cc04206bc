// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JWT auth: the published JWS examples (RFC 7515 A.1-A.3, RFC 8037 A.4),
 * every algorithm with keys made at test time, hostile tokens, claims,
 * JWKS loading and reloading, the verified-token cache, and the HTTP side
 * of refusals. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <strings.h>

#include "authtest.h"
#include "auth/authset.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "auth/tokcache.h"

#define S(x) ((__s64)(x)*1000000000LL)

/* "Now" of the generated tokens: a fixed time, so nothing depends on the
 * machine's clock. */
#define NOW 1800000000LL

static struct tkey k_rsa, k_p256, k_p384, k_ed, k_hs, k_rsa2;

/* ------------------------------------------------------------------ */
/* Published examples                                                   */
/* ------------------------------------------------------------------ */

/* RFC 7515 A.1-A.3 share this payload: {"iss":"joe", "exp":1300819380,
 * "http://example.com/is_root":true} with CRLFs. */
#define RFC_PAYLOAD                                                                                \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0" \
	"cnVlfQ"
#define RFC_EXP 1300819380LL

static const char rfc_a1[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC_PAYLOAD
			     ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc_a2[] = "eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__"
			     "dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
			     "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
			     "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1"
			     "L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
			     "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYE"
			     "UipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
static const char rfc_a3[] = "eyJhbGciOiJFUzI1NiJ9." RFC_PAYLOAD
			     ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApm"
			     "WQxfKTUJqPP3-Kg6NU1Q";
/* RFC 8037 A.4: the payload is the text "Example of Ed25519 signing". */
static const char rfc8037_a4[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
				 "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B"
				 "hVsPt9g7sVvpAr_MuM0KAg";

static const char rfc_jwks[] = "{\"keys\":["
			       "{\"kty\":\"oct\",\"kid\":\"a1\",\"k\":"
			       "\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH"
			       "75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"},"
			       "{\"kty\":\"RSA\",\"kid\":\"a2\",\"e\":\"AQAB\",\"n\":"
			       "\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJ"
			       "cyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-"
			       "SFd2lZS-pCgNMsD1W_YpRPEwOW"
			       "vG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
			       "bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2C"
			       "apHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
			       "DWNmoudF8NAco9_h9iaGNj8q2ethF"
			       "kMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},"
			       "{\"kty\":\"EC\",\"kid\":\"a3\",\"crv\":\"P-256\","
			       "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
			       "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
			       "{\"kty\":\"OKP\",\"kid\":\"a4\",\"crv\":\"Ed25519\","
			       "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

#define ALG_BIT(a) (1u << (a))
#define ALL_ALGS   0x1ffeu

/* Returns jwks's published set with a reference for gw_jwks_set_put(). */
static struct gw_jwks_set *jwks_acquire(struct gw_jwks *jwks)
{
	return gw_refslot_acquire(&jwks->slot);
}

/* Returns 1 if a message of jwks's last read contains `needle`. */
static int jwks_msgs_has(struct gw_jwks *jwks, const char *needle)
{
	return watched_msgs_has(&jwks->file, needle);
}

/* Copies jwks's counters. */
static void jwks_get_stats(struct gw_jwks *jwks, struct gw_jwks_stats *st)
{
	st->reads = __atomic_load_n(&jwks->stats.reads, __ATOMIC_RELAXED);
	st->changes = __atomic_load_n(&jwks->stats.changes, __ATOMIC_RELAXED);
	st->failures = __atomic_load_n(&jwks->stats.failures, __ATOMIC_RELAXED);
	st->refreshes = __atomic_load_n(&jwks->stats.refreshes, __ATOMIC_RELAXED);
	st->refresh_busy = __atomic_load_n(&jwks->stats.refresh_busy, __ATOMIC_RELAXED);
}

static struct gw_jwks_set *rfc_set(void)
{
	struct gw_jwks_set *set = NULL;
	struct gw_cfg_errors msgs = {0};

	assert_int_equal(gw_jwks_parse("rfc", rfc_jwks, strlen(rfc_jwks), NULL, &set, &msgs), 0);
	assert_int_equal(set->n_keys, 4); /* every published key is usable */
	gw_cfg_errors_free(&msgs);
	return set;
}

/* The examples have no kid, so each key is the only one that fits its
 * algorithm: that is how the key is selected. */
static void check_rfc_jws(const char *token, enum gw_jwa want_alg, const char *want_kid)
{
	struct gw_jwks_set *set = rfc_set();
	const struct gw_jwk *key = NULL;
	unsigned char *payload;
	size_t plen;
	char *bad;

	assert_int_equal(
		gw_jws_verify(set, ALL_ALGS, token, strlen(token), 8192, &payload, &plen, &key),
		GW_AUTH_OK);
	assert_non_null(key);
	assert_string_equal(key->kid, want_kid);
	assert_true(gw_jwk_fits(key, want_alg));
	free(payload);
	/* the same token with one signature character changed fails */
	bad = strdup(token);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(
		gw_jws_verify(set, ALL_ALGS, bad, strlen(bad), 8192, &payload, &plen, NULL),
		GW_AUTH_BAD_SIGNATURE);
	/* not accepted when the algorithm is not configured */
	assert_int_equal(gw_jws_verify(set, ALL_ALGS & ~ALG_BIT(want_alg), token, strlen(token),
				       8192, &payload, &plen, NULL),
			 GW_AUTH_BAD_ALG);
	free(bad);
	gw_jwks_set_put(set);
}

static struct gw_cfg_jwt rfc_cfg(const char *path)
{
	static char *algs[] = {"HS256", "RS256", "ES256", "EdDSA"};
	struct gw_cfg_jwt c = {
		.name = "rfc", .jwks = (char *)path, .algorithms = algs, .n_algorithms = 4};
	return c;
}

/* The RFC examples expire at 1300819380 (2011): claims are checked with
 * the clock set just before that, and at it. */
static void check_rfc_jwt(const char *token)
{
	struct gw_cfg_jwt cfg;
	struct gw_auth_result res;
	struct gw_jwt *jwt;

	assert_int_equal(twrite("rfc.json", rfc_jwks), 0);
	cfg = rfc_cfg(tpath("rfc.json"));
	assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), 0);
	assert_int_equal(gw_jwt_authenticate(jwt, 0, token, strlen(token), S(RFC_EXP - 1), &res),
			 GW_AUTH_OK);
	assert_false(res.cached);
	assert_int_equal(gw_jwt_authenticate(jwt, 0, token, strlen(token), S(RFC_EXP), &res),
			 GW_AUTH_EXPIRED);
	gw_jwt_free(jwt);
}

static void test_rfc7515_a1_hs256(void **state)
{
	check_rfc_jws(rfc_a1, GW_JWA_HS256, "a1");
	check_rfc_jwt(rfc_a1);
}

static void test_rfc7515_a2_rs256(void **state)
{
	check_rfc_jws(rfc_a2, GW_JWA_RS256, "a2");
	check_rfc_jwt(rfc_a2);
}

static void test_rfc7515_a3_es256(void **state)
{
	check_rfc_jws(rfc_a3, GW_JWA_ES256, "a3");
	check_rfc_jwt(rfc_a3);
}

static void test_rfc8037_a4_ed25519(void **state)
{
	struct gw_jwks_set *set;
	unsigned char *payload;
	size_t plen;

	check_rfc_jws(rfc8037_a4, GW_JWA_EDDSA, "a4");
	set = rfc_set();
	assert_int_equal(gw_jws_verify(set, ALL_ALGS, rfc8037_a4, strlen(rfc8037_a4), 8192,
				       &payload, &plen, NULL),
			 GW_AUTH_OK);
	assert_int_equal(plen, strlen("Example of Ed25519 signing"));
	assert_memory_equal(payload, "Example of Ed25519 signing", plen);
	free(payload);
	gw_jwks_set_put(set);
}

/* ------------------------------------------------------------------ */
/* The main verifier of the tests                                       */
/* ------------------------------------------------------------------ */

static char *all_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
			   "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"};
static char *auds[] = {"api", "other"};
static struct gw_cfg_strpair fwd[] = {
	{.key = "sub", .value = "X-User-Id"},
	{.key = "tenant", .value = "X-Tenant"},
};

static struct gw_cfg_jwt main_cfg(void)
{
	struct gw_cfg_jwt c = {
		.name = "main",
		.jwks = (char *)tpath("main.json"),
		.issuer = "https://id.example/",
		.audiences = auds,
		.n_audiences = 2,
		.algorithms = all_algs,
		.n_algorithms = 12,
		.leeway_ns = S(30),
		.forward_claims = fwd,
		.n_forward_claims = 2,
	};
	return c;
}

/* Writes main.json with every test key, each with a kid. */
static void write_main_jwks(void)
{
	json_t *keys = json_array();

	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	json_array_append_new(keys, tjwk(&k_p256, "p256", NULL));
	json_array_append_new(keys, tjwk(&k_p384, "p384", "ES384"));
	json_array_append_new(keys, tjwk(&k_ed, "ed", NULL));
	json_array_append_new(keys, tjwk(&k_hs, "hs", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
}

static struct gw_jwt *main_jwt(const struct gw_jwt_opts *opts)
{
	struct gw_cfg_jwt cfg = main_cfg();
	struct gw_jwt *jwt;

	write_main_jwks();
	assert_int_equal(gw_jwt_new(&cfg, opts, &jwt), 0);
	return jwt;
}

/* Claims that pass every check at NOW. */
static char good_claims[1024];

static const char *claims_with(const char *extra)
{
	static char c[1024];

	snprintf(c, sizeof(c),
		 "{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"alice\","
		 "\"tenant\":\"t1\",\"iat\":%lld,\"exp\":%lld%s%s}",
		 NOW - 10, NOW + 600, extra[0] ? "," : "", extra);
	return c;
}

/* Signs a token for kid `kid` with key k under alg. */
static char *signed_tok(const char *alg, const char *kid, const struct tkey *k, const char *claims)
{
	char hdr[128];

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
	return ttoken(hdr, claims, k, alg, NULL);
}

static enum gw_auth_reason auth(struct gw_jwt *jwt, const char *t, __s64 now,
				struct gw_auth_result *res)
{
	return gw_jwt_authenticate(jwt, 0, t, t ? strlen(t) : 0, now, res);
}

/* Authenticates the token t (freed here) at `now` and checks the reason;
 * a token that gets another reason is printed. */
static void expect(struct gw_jwt *jwt, char *t, __s64 now, enum gw_auth_reason want)
{
	struct gw_auth_result res;
	enum gw_auth_reason got;

	assert_non_null(t);
	got = auth(jwt, t, now, &res);
	if (got != want)
		print_message("  token %s: %s, expected %s\n", t, gw_auth_reason_name(got),
			      gw_auth_reason_name(want));
	free(t);
	assert_int_equal(got, want);
}

static void test_each_algorithm(void **state)
{
	static const struct {
		const char *alg, *kid;
		struct tkey *k;
	} cases[] = {
		{"RS256", "rsa", &k_rsa},   {"RS384", "rsa", &k_rsa},	{"RS512", "rsa", &k_rsa},
		{"PS256", "rsa", &k_rsa},   {"PS384", "rsa", &k_rsa},	{"PS512", "rsa", &k_rsa},
		{"ES256", "p256", &k_p256}, {"ES384", "p384", &k_p384}, {"EdDSA", "ed", &k_ed},
		{"HS256", "hs", &k_hs},	    {"HS384", "hs", &k_hs},	{"HS512", "hs", &k_hs},
	};
	struct gw_jwt *jwt = main_jwt(NULL);
	struct gw_auth_result res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = signed_tok(cases[i].alg, cases[i].kid, cases[i].k, good_claims);
		char *p;

		assert_non_null(t);
		print_message("  %s\n", cases[i].alg);
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_OK);
		assert_string_equal(res.consumer, "alice");
		assert_int_equal(res.n_headers, 2);
		assert_string_equal(res.headers[0].name, "X-User-Id");
		assert_string_equal(res.headers[0].value, "alice");
		assert_string_equal(res.headers[1].name, "X-Tenant");
		assert_string_equal(res.headers[1].value, "t1");
		/* one payload byte changed: the signature no longer holds */
		p = strchr(t, '.') + 5;
		*p = *p == 'A' ? 'B' : 'A';
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_BAD_SIGNATURE);
		assert_int_equal(gw_auth_http_status(res.reason), 401);
		free(t);
	}
	/* PS256 signed with a salt shorter than the hash is refused */
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx;
		unsigned char sig[512];
		size_t slen = sizeof(sig);
		char *h = b64s("{\"alg\":\"PS256\",\"kid\":\"rsa\"}"), *c = b64s(good_claims);
		char *in, *t, *s;

		assert_int_equal(asprintf(&in, "%s.%s", h, c) > 0, 1);
		assert_int_equal(
			EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", NULL, NULL, k_rsa.pkey, NULL),
			1);
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 8);
		assert_int_equal(EVP_DigestSign(ctx, sig, &slen, (unsigned char *)in, strlen(in)),
				 1);
		s = b64(sig, slen);
		assert_int_equal(asprintf(&t, "%s.%s", in, s) > 0, 1);
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_BAD_SIGNATURE);
		EVP_MD_CTX_free(ctx);
		free(h), free(c), free(in), free(s), free(t);
	}
	gw_jwt_free(jwt);
}

/* ------------------------------------------------------------------ */
/* Hostile tokens                                                       */
/* ------------------------------------------------------------------ */

static void test_alg_none(void **state)
{
	struct gw_jwt *jwt = main_jwt(NULL);

	/* unsigned */
	expect(jwt, ttoken("{\"alg\":\"none\"}", good_claims, NULL, NULL, ""), S(NOW),
	       GW_AUTH_BAD_ALG);
	/* with a signature made by a real key, and with kid */
	expect(jwt,
	       ttoken("{\"alg\":\"none\",\"kid\":\"hs\"}", good_claims, NULL, NULL,
		      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
	       S(NOW), GW_AUTH_BAD_ALG);
	/* other spellings are unknown algorithms */
	expect(jwt, ttoken("{\"alg\":\"None\"}", good_claims, NULL, NULL, ""), S(NOW),
	       GW_AUTH_BAD_ALG);
	gw_jwt_free(jwt);
}

/* HS256 with the RSA public key (PEM, DER, the JWK's n) as the HMAC secret,
 * against a JWKS that has only the RSA key for that kid. */
static void test_alg_confusion(void **state)
{
	struct gw_jwt *jwt = main_jwt(NULL);
	struct gw_auth_result res;
	unsigned char *der = NULL;
	struct tkey fake = {0};
	char pem[4096];
	int dlen, i;
	BIO *bio;

	dlen = i2d_PUBKEY(k_rsa.pkey, &der);
	assert_true(dlen > 0);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, k_rsa.pkey);
	i = BIO_read(bio, pem, sizeof(pem) - 1);
	assert_true(i > 0);
	pem[i] = '\0';
	BIO_free(bio);
	for (i = 0; i < 2; i++) {
		const unsigned char *secret = i ? der : (unsigned char *)pem;
		size_t slen = i ? (size_t)dlen : strlen(pem);
		unsigned char mac[32];
		size_t mlen;
		char *h = b64s("{\"alg\":\"HS256\",\"kid\":\"rsa\"}"), *c = b64s(good_claims);
		char *in, *s, *t;

		assert_true(asprintf(&in, "%s.%s", h, c) > 0);
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, slen,
					  (unsigned char *)in, strlen(in), mac, sizeof(mac),
					  &mlen));
		s = b64(mac, mlen);
		assert_true(asprintf(&t, "%s.%s", in, s) > 0);
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_BAD_ALG);
		free(h), free(c), free(in), free(s), free(t);
	}
	/* without a kid: no oct key other than "hs" fits, and the token is
	 * not signed with that one */
	memcpy(fake.secret, der, 64);
	fake.slen = 64;
	expect(jwt, ttoken("{\"alg\":\"HS256\"}", good_claims, &fake, "HS256", NULL), S(NOW),
	       GW_AUTH_BAD_SIGNATURE);
	/* RS256 header with the EC key's kid: the key does not fit */
	expect(jwt, signed_tok("RS256", "p256", &k_rsa, good_claims), S(NOW), GW_AUTH_BAD_ALG);
	/* the key says alg ES384; no other alg may use it (it is its only
	 * curve anyway, so check the rule with a kid mismatch of family) */
	expect(jwt, signed_tok("ES256", "p384", &k_p256, good_claims), S(NOW), GW_AUTH_BAD_ALG);
	gw_jwt_free(jwt);
	/* a JWKS with only the RSA key: HS256 made with its PEM or DER is
	 * refused with or without the kid, and no signature is checked */
	{
		json_t *keys = json_array();
		__u64 v0 = gw_jws_verifications();

		json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
		assert_int_equal(twrite_jwks("main.json", keys), 0);
		{
			struct gw_cfg_jwt cfg = main_cfg();

			assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), 0);
		}
		for (i = 0; i < 4; i++) {
			struct tkey sk = {0};
			char *t;

			sk.slen = i & 1 ? (size_t)dlen : strlen(pem);
			if (sk.slen > sizeof(sk.secret))
				sk.slen = sizeof(sk.secret); /* the first 64 bytes */
			memcpy(sk.secret, i & 1 ? der : (unsigned char *)pem, sk.slen);
			t = ttoken(i & 2 ? "{\"alg\":\"HS256\",\"kid\":\"rsa\"}"
					 : "{\"alg\":\"HS256\"}",
				   good_claims, &sk, "HS256", NULL);
			assert_int_equal(auth(jwt, t, S(NOW + 20 * i), &res),
					 i & 2 ? GW_AUTH_BAD_ALG : GW_AUTH_UNKNOWN_KID);
			free(t);
		}
		assert_int_equal(gw_jws_verifications(), v0);
		gw_jwt_free(jwt);
	}
	OPENSSL_free(der);
}

static void test_alg_not_configured(void **state)
{
	static char *only_rs[] = {"RS256"};
	struct gw_cfg_jwt cfg = main_cfg();
	struct gw_jwt *jwt;

	write_main_jwks();
	cfg.algorithms = only_rs;
	cfg.n_algorithms = 1;
	assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), 0);
	expect(jwt, signed_tok("ES256", "p256", &k_p256, good_claims), S(NOW), GW_AUTH_BAD_ALG);
	expect(jwt, signed_tok("RS384", "rsa", &k_rsa, good_claims), S(NOW), GW_AUTH_BAD_ALG);
	expect(jwt, signed_tok("RS256", "rsa", &k_rsa, good_claims), S(NOW), GW_AUTH_OK);
	gw_jwt_free(jwt);
	/* a key whose own alg is RS256 refuses PS256 */
	{
		json_t *keys = json_array();

		json_array_append_new(keys, tjwk(&k_rsa, "rsa", "RS256"));
		assert_int_equal(twrite_jwks("main.json", keys), 0);
		cfg = main_cfg();
		assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), 0);
		expect(jwt, signed_tok("PS256", "rsa", &k_rsa, good_claims), S(NOW),
		       GW_AUTH_BAD_ALG);
		expect(jwt, signed_tok("RS256", "rsa", &k_rsa, good_claims), S(NOW), GW_AUTH_OK);
		gw_jwt_free(jwt);
	}
}

static void test_unknown_kid_reread(void **state)
{
	struct gw_jwt_opts opts = {
		.jwks = {.refresh_interval_ns = S(10), .check_interval_ns = S(3600)}};
	struct gw_jwt *jwt = main_jwt(&opts);
	struct gw_jwks_stats st;
	struct gw_auth_result res;
	char *t = signed_tok("RS256", "new", &k_rsa2, good_claims);
	json_t *keys;

	/* first unknown kid: one reread */
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_UNKNOWN_KID);
	jwks_get_stats(gw_jwt_jwks(jwt), &st);
	assert_int_equal(st.refreshes, 1);
	assert_int_equal(st.reads, 2); /* open + the refresh */
	/* more within the interval: no reread */
	assert_int_equal(auth(jwt, t, S(NOW + 1), &res), GW_AUTH_UNKNOWN_KID);
	assert_int_equal(auth(jwt, t, S(NOW + 9), &res), GW_AUTH_UNKNOWN_KID);
	jwks_get_stats(gw_jwt_jwks(jwt), &st);
	assert_int_equal(st.refreshes, 1);
	assert_int_equal(st.reads, 2);
	/* the key appears in the file; the periodic check is an hour away,
	 * the next unknown-kid reread after the interval finds it */
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	json_array_append_new(keys, tjwk(&k_rsa2, "new", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
	assert_int_equal(auth(jwt, t, S(NOW + 9), &res), GW_AUTH_UNKNOWN_KID);
	assert_int_equal(auth(jwt, t, S(NOW + 11), &res), GW_AUTH_OK);
	jwks_get_stats(gw_jwt_jwks(jwt), &st);
	assert_int_equal(st.refreshes, 2);
	assert_int_equal(st.changes, 2);
	free(t);
	/* a token without kid and two RSA keys: ambiguous, refused */
	expect(jwt, ttoken("{\"alg\":\"RS256\"}", good_claims, &k_rsa, "RS256", NULL), S(NOW + 30),
	       GW_AUTH_UNKNOWN_KID);
	gw_jwt_free(jwt);
	/* with exactly one fitting key, no kid is needed */
	jwt = main_jwt(NULL);
	expect(jwt, ttoken("{\"alg\":\"RS256\"}", good_claims, &k_rsa, "RS256", NULL), S(NOW),
	       GW_AUTH_OK);
	gw_jwt_free(jwt);
}

static void test_claims_time(void **state)
{
	struct gw_jwt *jwt = main_jwt(NULL);
	char c[512];
	/* exp, nbf, iat (0: absent), now, expected */
	static const struct {
		long long exp, nbf, iat, now;
		enum gw_auth_reason want;
	} cases[] = {
		{NOW + 60, 0, 0, NOW, GW_AUTH_OK},
		{NOW - 60, 0, 0, NOW, GW_AUTH_EXPIRED}, /* beyond leeway */
		{NOW - 29, 0, 0, NOW, GW_AUTH_OK},	/* within 30 s leeway */
		{NOW - 30, 0, 0, NOW, GW_AUTH_EXPIRED}, /* exp + leeway == now */
		{NOW + 600, NOW + 60, 0, NOW, GW_AUTH_NOT_YET_VALID},
		{NOW + 600, NOW + 29, 0, NOW, GW_AUTH_OK},	/* nbf within leeway */
		{NOW + 600, 0, NOW + 60, NOW, GW_AUTH_BAD_IAT}, /* issued in the future */
		{NOW + 600, 0, NOW + 20, NOW, GW_AUTH_OK},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(c, sizeof(c),
				 "{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"a\","
				 "\"tenant\":\"t\",\"exp\":%lld",
				 cases[i].exp);

		if (cases[i].nbf)
			n += snprintf(c + n, sizeof(c) - n, ",\"nbf\":%lld", cases[i].nbf);
		if (cases[i].iat)
			n += snprintf(c + n, sizeof(c) - n, ",\"iat\":%lld", cases[i].iat);
		snprintf(c + n, sizeof(c) - n, "}");
		expect(jwt, signed_tok("ES256", "p256", &k_p256, c), S(cases[i].now),
		       cases[i].want);
	}
	gw_jwt_free(jwt);
}

static void test_claims_iss_aud(void **state)
{
	static const struct {
		const char *claims;
		enum gw_auth_reason want;
	} cases[] = {
		{"{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_OK},
		{"{\"iss\":\"https://evil.example/"
		 "\",\"aud\":\"api\",\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_BAD_ISSUER},
		{"{\"iss\":\"https://id.example\",\"aud\":\"api\",\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_BAD_ISSUER}, /* exact match: no normalisation */
		{"{\"aud\":\"api\",\"sub\":\"a\",\"tenant\":\"t\"}", GW_AUTH_BAD_ISSUER},
		{"{\"iss\":\"https://id.example/\",\"aud\":\"web\",\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_BAD_AUDIENCE},
		{"{\"iss\":\"https://id.example/\",\"aud\":[\"web\",\"other\"],\"sub\":\"a\","
		 "\"tenant\":\"t\"}",
		 GW_AUTH_OK}, /* array intersecting the configured audiences */
		{"{\"iss\":\"https://id.example/\",\"aud\":[\"web\",\"mobile\"],\"sub\":\"a\","
		 "\"tenant\":\"t\"}",
		 GW_AUTH_BAD_AUDIENCE},
		{"{\"iss\":\"https://id.example/\",\"aud\":[],\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_BAD_AUDIENCE},
		{"{\"iss\":\"https://id.example/\",\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_BAD_AUDIENCE},
		{"{\"iss\":\"https://id.example/\",\"aud\":1,\"sub\":\"a\",\"tenant\":\"t\"}",
		 GW_AUTH_BAD_AUDIENCE},
	};
	struct gw_jwt *jwt = main_jwt(NULL);
	char c[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* add exp to each object */
		snprintf(c, sizeof(c), "{\"exp\":%lld,%s", NOW + 60, cases[i].claims + 1);
		expect(jwt, signed_tok("EdDSA", "ed", &k_ed, c), S(NOW), cases[i].want);
	}
	gw_jwt_free(jwt);
}

static void test_malformed(void **state)
{
	struct gw_jwt *jwt = main_jwt(NULL);
	struct gw_auth_result res;
	char *good = signed_tok("HS256", "hs", &k_hs, good_claims), *t, *big;
	size_t n = strlen(good);

	assert_int_equal(auth(jwt, good, S(NOW), &res), GW_AUTH_OK);
	/* padding, '+' and '/' in the signature (same bits otherwise) */
	assert_true(asprintf(&t, "%s=", good) > 0);
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	free(t);
	/* base64 instead of base64url: '-' and '_' spelled '+' and '/' */
	t = strdup(good);
	for (size_t i = 0; t[i]; i++)
		t[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
	if (strcmp(t, good))
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	free(t);
	t = strdup(good);
	t[n - 3] = '/';
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	t[n - 3] = '+';
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	t[n - 3] = ' ';
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	free(t);
	/* a 32-byte HMAC is 43 characters: the last one carries 2 unused bits,
	 * which must be zero */
	t = strdup(good);
	{
		const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int v = (int)(strchr(al, t[n - 1]) - al);

		t[n - 1] = al[v ^ 1];
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	}
	free(t);
	/* 2 and 4 parts */
	expect(jwt, strndup(good, (size_t)(strrchr(good, '.') - good)), S(NOW), GW_AUTH_MALFORMED);
	assert_true(asprintf(&t, "%s.%s", good, "AAAA") > 0);
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	free(t);
	assert_true(asprintf(&t, "%s.", good) > 0);
	assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
	free(t);
	/* empty signature */
	expect(jwt, strndup(good, (size_t)(strrchr(good, '.') - good) + 1), S(NOW),
	       GW_AUTH_BAD_SIGNATURE);
	/* truncated ES256 signature (63 bytes) and an ES256 signature padded
	 * to DER-like length */
	{
		char *es = signed_tok("ES256", "p256", &k_p256, good_claims);
		size_t en = strlen(es);

		assert_int_equal(auth(jwt, es, S(NOW), &res), GW_AUTH_OK);
		t = strndup(es, en - 2); /* 86 -> 84 characters: 63 bytes */
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_BAD_SIGNATURE);
		free(t);
		assert_true(asprintf(&t, "%sAAAA", es) > 0);
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_BAD_SIGNATURE);
		free(t);
		free(es);
	}
	/* huge token: refused before any decoding */
	big = malloc(GW_JWT_MAX_TOKEN + 2);
	memset(big, 'A', GW_JWT_MAX_TOKEN + 1);
	big[GW_JWT_MAX_TOKEN + 1] = '\0';
	memcpy(big, good, n);
	assert_int_equal(auth(jwt, big, S(NOW), &res), GW_AUTH_MALFORMED);
	free(big);
	/* an (otherwise validly signed) token with claims making it too long */
	{
		char *c = malloc(GW_JWT_MAX_TOKEN);

		snprintf(c, GW_JWT_MAX_TOKEN, "{\"exp\":%lld,\"pad\":\"%07000d\"}", NOW + 60, 0);
		t = signed_tok("HS256", "hs", &k_hs, c);
		assert_true(strlen(t) > GW_JWT_MAX_TOKEN);
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_MALFORMED);
		free(t);
		free(c);
	}
	/* header not an object, not JSON, duplicate names, crit, kid not a
	 * string, alg missing */
	{
		static const char *const hdrs[] = {
			"[\"HS256\"]",
			"\"HS256\"",
			"{\"alg\":\"HS256\",\"kid\":\"hs\"",
			"{\"alg\":\"HS256\",\"kid\":\"hs\",\"alg\":\"HS256\"}",
			"{\"alg\":\"HS256\",\"kid\":\"hs\",\"crit\":[\"exp\"],\"exp\":1}",
			"{\"alg\":\"HS256\",\"kid\":\"hs\",\"crit\":[]}",
			"{\"alg\":\"HS256\",\"kid\":7}",
			"{\"kid\":\"hs\"}",
			"{\"alg\":[\"HS256\"],\"kid\":\"hs\"}",
		};
		size_t i;

		for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			expect(jwt, ttoken(hdrs[i], good_claims, &k_hs, "HS256", NULL), S(NOW),
			       GW_AUTH_MALFORMED);
		}
	}
	/* claims: not an object, duplicate names, exp a string, no exp, not
	 * JSON */
	{
		static const char *const cl[] = {
			"[1,2]",
			"{\"exp\":1900000000,\"iss\":\"https://id.example/\",\"aud\":\"api\","
			"\"sub\":\"a\",\"tenant\":\"t\",\"sub\":\"admin\"}",
			"{\"exp\":\"1900000000\",\"iss\":\"https://id.example/\",\"aud\":\"api\","
			"\"sub\":\"a\",\"tenant\":\"t\"}",
			"{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"a\","
			"\"tenant\":\"t\"}",
			"{\"exp\":1900000000,\"nbf\":true,\"iss\":\"https://id.example/\","
			"\"aud\":\"api\",\"sub\":\"a\",\"tenant\":\"t\"}",
			"not json",
		};
		size_t i;

		for (i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
			t = signed_tok("HS256", "hs", &k_hs, cl[i]);
			print_message("  claims %s\n", cl[i]);
			assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_BAD_CLAIM);
			assert_int_equal(gw_auth_http_status(res.reason), 401);
			free(t);
		}
	}
	/* missing */
	assert_int_equal(auth(jwt, NULL, S(NOW), &res), GW_AUTH_MISSING);
	assert_int_equal(auth(jwt, "", S(NOW), &res), GW_AUTH_MISSING);
	free(good);
	gw_jwt_free(jwt);
}

static void test_forward_claims(void **state)
{
	struct gw_jwt *jwt = main_jwt(NULL);
	struct gw_auth_result res;
	char c[512], *t;
	static const struct {
		const char *extra; /* sub and tenant */
		enum gw_auth_reason want;
		const char *tenant;
	} cases[] = {
		{"\"sub\":\"bob\",\"tenant\":\"acme\"", GW_AUTH_OK, "acme"},
		{"\"sub\":\"bob\",\"tenant\":42", GW_AUTH_OK, "42"},
		{"\"sub\":\"bob\",\"tenant\":-7", GW_AUTH_OK, "-7"},
		{"\"sub\":\"bob\",\"tenant\":\"Jos\xc3\xa9\"", GW_AUTH_OK, "Jos\xc3\xa9"},
		{"\"sub\":\"bob\"", GW_AUTH_MISSING_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":[\"a\",\"b\"]", GW_AUTH_MISSING_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":{\"a\":1}", GW_AUTH_MISSING_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":true", GW_AUTH_MISSING_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":1.5", GW_AUTH_MISSING_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":null", GW_AUTH_MISSING_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":\"a\\r\\nX-Admin: 1\"", GW_AUTH_BAD_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":\"a\\nb\"", GW_AUTH_BAD_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":\"a\\u0001\"", GW_AUTH_BAD_CLAIM, NULL},
		{"\"sub\":\"bob\",\"tenant\":\"a\\u007f\"", GW_AUTH_BAD_CLAIM, NULL},
		{"\"sub\":\"a\\r\\nb\",\"tenant\":\"t\"", GW_AUTH_BAD_CLAIM, NULL},
		{"\"sub\":1,\"tenant\":\"t\"", GW_AUTH_BAD_CLAIM, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(c, sizeof(c),
			 "{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"exp\":%lld,%s}",
			 NOW + 60, cases[i].extra);
		t = signed_tok("RS256", "rsa", &k_rsa, c);
		print_message("  case %zu: %s\n", i, c);
		assert_int_equal(auth(jwt, t, S(NOW), &res), cases[i].want);
		if (cases[i].tenant) {
			assert_string_equal(res.consumer, "bob");
			assert_string_equal(res.headers[1].value, cases[i].tenant);
		} else {
			assert_int_equal(res.n_headers, 0); /* nothing to forward */
		}
		if (cases[i].want == GW_AUTH_MISSING_CLAIM)
			assert_int_equal(gw_auth_http_status(res.reason), 403);
		free(t);
	}
	/* a value of 255 bytes is forwarded, 256 is refused */
	{
		char v[300];

		memset(v, 'v', sizeof(v));
		v[255] = '\0';
		snprintf(c, sizeof(c),
			 "{\"aud\":\"api\",\"iss\":\"https://id.example/\","
			 "\"exp\":%lld,\"sub\":\"b\",\"tenant\":\"%s\"}",
			 NOW + 60, v);
		t = signed_tok("RS256", "rsa", &k_rsa, c);
		assert_int_equal(auth(jwt, t, S(NOW), &res), GW_AUTH_OK);
		assert_int_equal(strlen(res.headers[1].value), 255);
		free(t);
		v[255] = 'v';
		v[256] = '\0';
		snprintf(c, sizeof(c),
			 "{\"aud\":\"api\",\"iss\":\"https://id.example/\","
			 "\"exp\":%lld,\"sub\":\"b\",\"tenant\":\"%s\"}",
			 NOW + 60, v);
		expect(jwt, signed_tok("RS256", "rsa", &k_rsa, c), S(NOW), GW_AUTH_BAD_CLAIM);
	}
	gw_jwt_free(jwt);
}

/* Every one-character change, insertion, deletion or truncation of a good
 * token is refused, and nothing crashes (the san build runs this under
 * ASan/UBSan). Deterministic: a fixed xorshift seed. */
static void test_mutations(void **state)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
				    "-_.+/=~ \"{}\\";
	struct gw_jwt_opts opts = {.cache_entries = 16};
	struct gw_jwt *jwt = main_jwt(&opts);
	const char *kinds[][2] = {{"ES256", "p256"}, {"HS256", "hs"}, {"EdDSA", "ed"}};
	struct tkey *keys[] = {&k_p256, &k_hs, &k_ed};
	struct gw_auth_result res;
	__u64 x = 0x9e3779b97f4a7c15ull;
	int k, i, refused = 0;

	for (k = 0; k < 3; k++) {
		char *good = signed_tok(kinds[k][0], kinds[k][1], keys[k], good_claims);
		size_t n = strlen(good);
		char *m = malloc(n + 2);

		/* cached once: a mutation must not be answered from the cache */
		assert_int_equal(auth(jwt, good, S(NOW), &res), GW_AUTH_OK);
		for (i = 0; i < 700; i++) {
			size_t pos, len = n;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			pos = (size_t)(x >> 8) % n;
			memcpy(m, good, n + 1);
			switch (x % 4) {
			case 0: /* replace */
				m[pos] = chars[(x >> 40) % (sizeof(chars) - 1)];
				break;
			case 1: /* insert */
				memmove(m + pos + 1, m + pos, n - pos + 1);
				m[pos] = chars[(x >> 40) % (sizeof(chars) - 1)];
				len = n + 1;
				break;
			case 2: /* delete */
				memmove(m + pos, m + pos + 1, n - pos);
				len = n - 1;
				break;
			default: /* truncate */
				m[pos] = '\0';
				len = pos;
				break;
			}
			if (len == n && !memcmp(m, good, n))
				continue;
			if (gw_jwt_authenticate(jwt, 0, m, len, S(NOW), &res) == GW_AUTH_OK)
				print_message("  accepted: %.*s\n", (int)len, m);
			assert_int_not_equal(res.reason, GW_AUTH_OK);
			refused++;
		}
		free(m);
		free(good);
	}
	print_message("  %d mutations refused\n", refused);
	assert_true(refused > 2000);
	gw_jwt_free(jwt);
}

/* ------------------------------------------------------------------ */
/* JWKS files                                                           */
/* ------------------------------------------------------------------ */

static void test_jwks_bad_keys(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_jwks_set *set;
	struct tkey small = {0};
	json_t *keys = json_array(), *k, *root;
	char *s;

	small.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(small.pkey);
	json_array_append_new(keys, tjwk(&small, "small", NULL)); /* 0: 1024 bits */
	k = tjwk(&k_p256, "offcurve", NULL);			  /* 1: y of another point */
	json_object_set_new(k, "y", json_string("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"));
	json_array_append_new(keys, k);
	json_array_append_new(keys, json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", "short", "k",
					      "c2hvcnQ")); /* 2: 5 bytes */
	json_array_append_new(keys, json_pack("{s:s,s:s,s:s,s:s}", "kty", "OKP", "kid", "ed", "crv",
					      "Ed25519", "x", "AAAA")); /* 3 */
	k = tjwk(&k_rsa, "enc", NULL);					/* 4: use enc */
	json_object_set_new(k, "use", json_string("enc"));
	json_array_append_new(keys, k);
	json_array_append_new(keys, json_pack("{s:s}", "kty", "DSA")); /* 5 */
	k = tjwk(&k_rsa, "badalg", "ES256");			       /* 6: alg/kty */
	json_array_append_new(keys, k);
	k = tjwk(&k_p256, "p521", NULL); /* 7 */
	json_object_set_new(k, "crv", json_string("P-521"));
	json_array_append_new(keys, k);
	json_array_append_new(keys, json_string("not an object")); /* 8 */
	json_array_append_new(keys, tjwk(&k_rsa, "good", NULL));   /* 9: good */
	json_array_append_new(keys, tjwk(&k_ed, "good2", NULL));   /* 10: good */
	k = tjwk(&k_rsa, "pad", NULL);				   /* 11: n padded */
	json_object_set_new(k, "n", json_string("AAAA="));
	json_array_append_new(keys, k);
	root = json_pack("{s:o}", "keys", keys);
	s = json_dumps(root, 0);
	assert_int_equal(gw_jwks_parse("t", s, strlen(s), NULL, &set, &msgs), 0);
	assert_int_equal(set->n_keys, 2); /* the good ones stay */
	assert_string_equal(set->keys[0].kid, "good");
	assert_string_equal(set->keys[1].kid, "good2");
	assert_true(msgs_has(&msgs, "key 0 (kid \"small\"): RSA modulus has 1024 bits"));
	assert_true(msgs_has(&msgs, "key 1 (kid \"offcurve\"): the point"));
	assert_true(msgs_has(&msgs, "key 2 (kid \"short\"): oct key has 5 bytes"));
	assert_true(msgs_has(&msgs, "key 3 (kid \"ed\"): \"x\" has 3 bytes"));
	assert_true(msgs_has(&msgs, "key 4 (kid \"enc\"): \"use\" is not \"sig\""));
	assert_true(msgs_has(&msgs, "key 5: \"kty\" \"DSA\" is not supported"));
	assert_true(msgs_has(&msgs, "key 6 (kid \"badalg\"): \"alg\" ES256 does not fit"));
	assert_true(msgs_has(&msgs, "key 7 (kid \"p521\"): EC curve \"P-521\""));
	assert_true(msgs_has(&msgs, "key 8: is not an object"));
	assert_true(msgs_has(&msgs, "key 11 (kid \"pad\"): \"n\" is not strict base64url"));
	assert_false(msgs_has(&msgs, "key 9"));
	gw_jwks_set_put(set);
	gw_cfg_errors_free(&msgs);
	free(s);
	json_decref(root);
	EVP_PKEY_free(small.pkey);
	/* file-level problems refuse the whole document */
	{
		static const char *const bad[] = {
			"",
			"[]",
			"{}",
			"{\"keys\":{}}",
			"{\"keys\":[],\"keys\":[]}",
			"{\"keys\":[]} x",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(
				gw_jwks_parse("t", bad[i], strlen(bad[i]), NULL, &set, &msgs),
				-EINVAL);
			assert_null(set);
		}
		gw_cfg_errors_free(&msgs);
	}
}

static void test_jwks_reload(void **state)
{
	struct gw_jwks_opts o = {.check_interval_ns = S(1)};
	struct gw_jwks_set *set, *old;
	struct gw_jwks *jwks;
	json_t *keys;
	__u64 gen;

	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "one", NULL));
	assert_int_equal(twrite_jwks("r.json", keys), 0);
	assert_int_equal(gw_jwks_open(tpath("r.json"), &o, &jwks), 0);
	old = jwks_acquire(jwks);
	gen = old->generation;
	assert_int_equal(old->n_keys, 1);
	/* unchanged: nothing */
	assert_int_equal(gw_jwks_poll(jwks, false), 0);
	/* changed: published by the next poll (gwd's loop), not before; a
	 * reader sees the new set at its next read */
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "one", NULL));
	json_array_append_new(keys, tjwk(&k_ed, "two", NULL));
	assert_int_equal(twrite_jwks("r.json", keys), 0);
	{
		struct gw_jwks_reader rd = {0};

		assert_ptr_equal(gw_jwks_read(jwks, &rd), old);
		assert_ptr_equal(gw_jwks_read(jwks, &rd), old);
		assert_int_equal(gw_jwks_poll(jwks, false), 1);
		assert_int_equal(gw_jwks_read(jwks, &rd)->n_keys, 2);
		gw_jwks_reader_drop(&rd);
		assert_null(rd.set);
	}
	set = jwks_acquire(jwks);
	assert_int_equal(set->n_keys, 2);
	assert_true(set->generation > gen);
	gen = set->generation;
	gw_jwks_set_put(set);
	/* the old set stays usable by whoever holds it */
	assert_string_equal(old->keys[0].kid, "one");
	gw_jwks_set_put(old);
	/* same keys rewritten (new inode): read, same generation */
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "one", NULL));
	json_array_append_new(keys, tjwk(&k_ed, "two", NULL));
	assert_int_equal(twrite_jwks("r.json", keys), 0);
	assert_int_equal(gw_jwks_poll(jwks, false), 0);
	assert_int_equal(gw_jwks_poll(jwks, true), 0); /* forced: read, same keys */
	set = jwks_acquire(jwks);
	assert_int_equal(set->generation, gen);
	gw_jwks_set_put(set);
	/* invalid file: error, old keys kept, said so */
	assert_int_equal(twrite("r.json", "{\"keys\": [ broken"), 0);
	assert_int_equal(gw_jwks_poll(jwks, false), -EINVAL);
	assert_true(jwks_msgs_has(jwks, "keeping the loaded keys"));
	set = jwks_acquire(jwks);
	assert_int_equal(set->n_keys, 2);
	assert_int_equal(set->generation, gen);
	gw_jwks_set_put(set);
	/* the unchanged broken file is not reread at every check */
	{
		struct gw_jwks_stats st1, st2;

		jwks_get_stats(jwks, &st1);
		assert_int_equal(gw_jwks_poll(jwks, false), 0);
		jwks_get_stats(jwks, &st2);
		assert_int_equal(st2.reads, st1.reads);
	}
	/* removed file: error, old keys kept */
	unlink(tpath("r.json"));
	assert_int_equal(gw_jwks_poll(jwks, false), -ENOENT);
	assert_true(jwks_msgs_has(jwks, "cannot read"));
	assert_int_equal(gw_jwks_poll(jwks, false), 0); /* still missing */
	set = jwks_acquire(jwks);
	assert_int_equal(set->n_keys, 2);
	gw_jwks_set_put(set);
	gw_jwks_free(jwks);
	/* a file that cannot be loaded at open is an error */
	assert_int_equal(gw_jwks_open(tpath("nonexistent.json"), NULL, &jwks), -ENOENT);
	assert_int_equal(twrite("bad.json", "{"), 0);
	assert_int_equal(gw_jwks_open(tpath("bad.json"), NULL, &jwks), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* Cache                                                                */
/* ------------------------------------------------------------------ */

static void test_cache(void **state)
{
	struct gw_jwt_opts opts = {.cache_entries = 2};
	struct gw_jwt *jwt = main_jwt(&opts);
	struct gw_tokcache_stats st;
	struct gw_auth_result res;
	char c[512], *t1, *t2, *t3;
	json_t *keys;
	__u64 v0;

	snprintf(c, sizeof(c),
		 "{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"u1\","
		 "\"tenant\":\"t1\",\"exp\":%lld}",
		 NOW + 100);
	t1 = signed_tok("ES256", "p256", &k_p256, c);
	snprintf(c, sizeof(c),
		 "{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"u2\","
		 "\"tenant\":7,\"exp\":%lld}",
		 NOW + 100);
	t2 = signed_tok("RS256", "rsa", &k_rsa, c);
	t3 = signed_tok("EdDSA", "ed", &k_ed, good_claims);
	/* miss (one signature check), then hits (none) with the same identity */
	v0 = gw_jws_verifications();
	assert_int_equal(auth(jwt, t1, S(NOW), &res), GW_AUTH_OK);
	assert_false(res.cached);
	assert_int_equal(gw_jws_verifications(), v0 + 1);
	assert_int_equal(auth(jwt, t1, S(NOW + 1), &res), GW_AUTH_OK);
	assert_true(res.cached);
	assert_int_equal(auth(jwt, t1, S(NOW + 2), &res), GW_AUTH_OK);
	assert_true(res.cached);
	assert_int_equal(gw_jws_verifications(), v0 + 1);
	assert_string_equal(res.consumer, "u1");
	assert_int_equal(res.n_headers, 2);
	assert_string_equal(res.headers[0].name, "X-User-Id");
	assert_string_equal(res.headers[0].value, "u1");
	assert_string_equal(res.headers[1].value, "t1");
	/* a different token with one bit changed is not a hit */
	{
		char *bad = strdup(t1);

		bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
		assert_int_equal(auth(jwt, bad, S(NOW + 1), &res), GW_AUTH_BAD_SIGNATURE);
		free(bad);
	}
	/* the cache keeps exp + leeway: a hit at exp + 29 s, a refusal at
	 * exp + 30 s, as verification does */
	assert_int_equal(auth(jwt, t1, S(NOW + 129), &res), GW_AUTH_OK);
	assert_true(res.cached);
	assert_int_equal(auth(jwt, t1, S(NOW + 130), &res), GW_AUTH_EXPIRED);
	assert_false(res.cached);
	gw_tokcache_get_stats(gw_jwt_cache(jwt, 0), &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	/* eviction at capacity (2): t1, t2, then t3 evicts the least recently
	 * used */
	assert_int_equal(auth(jwt, t1, S(NOW), &res), GW_AUTH_OK);
	assert_int_equal(auth(jwt, t2, S(NOW), &res), GW_AUTH_OK);
	assert_int_equal(auth(jwt, t1, S(NOW), &res), GW_AUTH_OK); /* t1 now recent */
	assert_true(res.cached);
	assert_int_equal(auth(jwt, t3, S(NOW), &res), GW_AUTH_OK); /* evicts t2 */
	gw_tokcache_get_stats(gw_jwt_cache(jwt, 0), &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.entries, 2);
	assert_int_equal(auth(jwt, t1, S(NOW), &res), GW_AUTH_OK);
	assert_true(res.cached);
	assert_int_equal(auth(jwt, t2, S(NOW), &res), GW_AUTH_OK);
	assert_false(res.cached); /* was evicted, verified again */
	assert_string_equal(res.headers[1].value, "7");
	/* JWKS change that keeps the ES256 key: t1 still a hit; one that
	 * removes it: t1 refused although it is cached */
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_p256, "p256", NULL));
	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
	assert_int_equal(gw_jwks_poll(gw_jwt_jwks(jwt), false), 1);
	assert_int_equal(auth(jwt, t1, S(NOW + 2), &res), GW_AUTH_OK);
	assert_true(res.cached);
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
	assert_int_equal(gw_jwks_poll(gw_jwt_jwks(jwt), false), 1);
	assert_int_equal(auth(jwt, t1, S(NOW + 4), &res), GW_AUTH_UNKNOWN_KID);
	assert_false(res.cached);
	gw_tokcache_get_stats(gw_jwt_cache(jwt, 0), &st);
	assert_int_equal(st.invalidated, 1);
	/* t2 (RSA key kept) is still answered (verified or cached) */
	assert_int_equal(auth(jwt, t2, S(NOW + 4), &res), GW_AUTH_OK);
	free(t1);
	free(t2);
	free(t3);
	gw_jwt_free(jwt);
}

/* Per-worker caches: each worker verifies once and caches on its own; a
 * key removed by a reread invalidates the token in every worker's cache. */
static void test_cache_workers(void **state)
{
	struct gw_jwt_opts opts = {.workers = 2, .cache_entries = 8};
	struct gw_jwt *jwt = main_jwt(&opts);
	struct gw_tokcache_stats st;
	struct gw_auth_result res;
	char *t = signed_tok("ES256", "p256", &k_p256, good_claims);
	json_t *keys;
	__u64 v0 = gw_jws_verifications();
	unsigned int w;

	for (w = 0; w < 2; w++) {
		assert_int_equal(gw_jwt_authenticate(jwt, w, t, strlen(t), S(NOW), &res),
				 GW_AUTH_OK);
		assert_false(res.cached);
		assert_int_equal(gw_jwt_authenticate(jwt, w, t, strlen(t), S(NOW), &res),
				 GW_AUTH_OK);
		assert_true(res.cached);
		gw_tokcache_get_stats(gw_jwt_cache(jwt, w), &st);
		assert_int_equal(st.capacity, 4); /* the entries are shared out */
	}
	assert_int_equal(gw_jws_verifications(), v0 + 2);
	/* a worker that does not exist */
	assert_int_equal(gw_jwt_authenticate(jwt, 2, t, strlen(t), S(NOW), &res), GW_AUTH_INTERNAL);
	assert_null(gw_jwt_cache(jwt, 2));
	/* the P-256 key leaves the file: once the reread is published, no
	 * worker answers from its cache */
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
	assert_int_equal(gw_jwks_poll(gw_jwt_jwks(jwt), false), 1);
	for (w = 0; w < 2; w++) {
		assert_int_equal(gw_jwt_authenticate(jwt, w, t, strlen(t), S(NOW + 20), &res),
				 GW_AUTH_UNKNOWN_KID);
		gw_tokcache_get_stats(gw_jwt_cache(jwt, w), &st);
		assert_int_equal(st.invalidated, 1);
		assert_int_equal(st.entries, 0);
	}
	free(t);
	gw_jwt_free(jwt);
}

/* The unknown-kid reread is single flight: while a reread holds the file's
 * lock, a worker meeting an unknown kid does not wait and does not use up
 * the rate limit; the next one rereads and publishes for every worker. */
struct kid_arg {
	struct gw_jwt *jwt;
	const char *tok;
	unsigned int worker;
	int done;
	enum gw_auth_reason r;
};

static void *kid_thread(void *p)
{
	struct kid_arg *k = p;
	struct gw_auth_result res;

	k->r = gw_jwt_authenticate(k->jwt, k->worker, k->tok, strlen(k->tok), S(NOW), &res);
	__atomic_store_n(&k->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_unknown_kid_single_flight(void **state)
{
	struct gw_jwt_opts opts = {.workers = 2};
	struct gw_jwt *jwt = main_jwt(&opts);
	struct gw_jwks *jwks = gw_jwt_jwks(jwt);
	struct gw_jwks_stats st;
	struct gw_auth_result res;
	char *t = signed_tok("RS256", "new", &k_rsa2, good_claims);
	struct kid_arg k = {.jwt = jwt, .tok = t, .worker = 1};
	json_t *keys;
	pthread_t th;
	int i;

	/* the key is in the file, not yet published */
	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	json_array_append_new(keys, tjwk(&k_rsa2, "new", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
	/* a reread is running (the main loop's, or another worker's) */
	pthread_mutex_lock(&jwks->file.lock);
	assert_int_equal(pthread_create(&th, NULL, kid_thread, &k), 0);
	for (i = 0; i < 500 && !__atomic_load_n(&k.done, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	pthread_mutex_unlock(&jwks->file.lock);
	pthread_join(th, NULL);
	assert_true(i < 500); /* answered while the lock was held */
	assert_int_equal(k.r, GW_AUTH_UNKNOWN_KID);
	jwks_get_stats(jwks, &st);
	assert_int_equal(st.refresh_busy, 1);
	assert_int_equal(st.refreshes, 0);
	/* the next unknown kid rereads (the busy one did not count), publishes,
	 * and the other worker sees the new key without a reread of its own */
	assert_int_equal(gw_jwt_authenticate(jwt, 0, t, strlen(t), S(NOW), &res), GW_AUTH_OK);
	jwks_get_stats(jwks, &st);
	assert_int_equal(st.refreshes, 1);
	assert_int_equal(gw_jwt_authenticate(jwt, 1, t, strlen(t), S(NOW), &res), GW_AUTH_OK);
	jwks_get_stats(jwks, &st);
	assert_int_equal(st.refreshes, 1);
	free(t);
	gw_jwt_free(jwt);
}

/* Rereads on the auth-reread thread (what gwd's loop asks for): several
 * changes while one runs make one more read; a worker's unknown-kid reread
 * and the thread's never wait for each other's end (no deadlock); a
 * verifier freed with rereads queued or running is safe. */
struct kid_loop_arg {
	struct gw_jwks *jwks;
	int busy, done;
};

static void *kid_loop_thread(void *p)
{
	struct kid_loop_arg *a = p;
	int i, r;

	for (i = 0; i < 200; i++) {
		/* 11 s apart: never rate limited */
		r = gw_jwks_refresh_unknown_kid(a->jwks, (__u64)S(NOW) + (__u64)i * S(11));
		if (r == -EBUSY)
			a->busy++;
		else if (r >= 0)
			a->done++;
		usleep(300);
	}
	return NULL;
}

static void test_jwks_background(void **state)
{
	struct gw_jwt_opts opts = {.workers = 2};
	struct gw_jwt *jwt = main_jwt(&opts);
	struct gw_jwks *jwks = gw_jwt_jwks(jwt);
	struct gw_jwks_stats st0, st;
	struct gw_auth_result res;
	struct kid_loop_arg ka = {.jwks = jwks};
	char *t = signed_tok("RS256", "new", &k_rsa2, good_claims);
	json_t *keys;
	pthread_t th;
	int i;

	keys = json_array();
	json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
	json_array_append_new(keys, tjwk(&k_rsa2, "new", NULL));
	assert_int_equal(twrite_jwks("main.json", keys), 0);
	jwks_get_stats(jwks, &st0);
	/* a worker's reread holds the lock: the thread's run waits for it,
	 * and five more changes meanwhile make one more read */
	pthread_mutex_lock(&jwks->file.lock);
	assert_int_equal(gw_watched_schedule(&jwks->file, true), 1);
	/* the thread takes the run and waits for the lock (up to 10 s) */
	for (i = 0; i < 1000 && !gw_watched_running(&jwks->file); i++)
		usleep(10000);
	assert_true(i < 1000);
	for (i = 0; i < 5; i++)
		assert_int_equal(gw_watched_schedule(&jwks->file, true), 1);
	pthread_mutex_unlock(&jwks->file.lock);
	gw_watched_settle(&jwks->file);
	jwks_get_stats(jwks, &st);
	assert_int_equal(st.reads - st0.reads, 2);
	assert_int_equal(st.changes - st0.changes, 1); /* the second: same keys */
	assert_int_equal(st.refreshes, st0.refreshes);
	/* published by the thread: a worker verifies without a reread */
	assert_int_equal(gw_jwt_authenticate(jwt, 1, t, strlen(t), S(NOW), &res), GW_AUTH_OK);
	jwks_get_stats(jwks, &st);
	assert_int_equal(st.refreshes, st0.refreshes);
	/* unknown-kid rereads on a worker against the thread's */
	assert_int_equal(pthread_create(&th, NULL, kid_loop_thread, &ka), 0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(gw_watched_schedule(&jwks->file, true), 1);
		usleep(500);
	}
	pthread_join(th, NULL);
	print_message("  unknown-kid rereads: %d done, %d busy\n", ka.done, ka.busy);
	assert_int_equal(ka.done + ka.busy, 200);
	/* freed with a reread queued or running: it waits or drops it */
	assert_int_equal(gw_watched_schedule(&jwks->file, true), 1);
	free(t);
	gw_jwt_free(jwt);
}

/* Threads authenticating, each as its own worker, while the JWKS file is
 * rewritten and republished by another thread (gwd's loop): every answer
 * stays right, and ASan sees no key set freed in use. */
struct thread_arg {
	struct gw_jwt *jwt;
	unsigned int worker;
	char *tokens[3];
	int bad;
};

static void *auth_thread(void *p)
{
	struct thread_arg *a = p;
	struct gw_auth_result res;
	int i;

	for (i = 0; i < 600; i++) {
		const char *t = a->tokens[i % 3];

		if (gw_jwt_authenticate(a->jwt, a->worker, t, strlen(t),
					S(NOW) + (__s64)i * 250000000, &res) != GW_AUTH_OK ||
		    strcmp(res.consumer, "alice"))
			a->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct gw_jwt_opts opts = {.cache_entries = 2, .workers = 2};
	struct thread_arg a[2];
	pthread_t th[2];
	struct gw_jwks_stats st;
	struct gw_jwt *jwt = main_jwt(&opts);
	int i, j, changes = 0;

	for (i = 0; i < 2; i++) {
		a[i].jwt = jwt;
		a[i].worker = (unsigned int)i;
		a[i].bad = 0;
		a[i].tokens[0] = signed_tok("ES256", "p256", &k_p256, good_claims);
		a[i].tokens[1] = signed_tok("HS256", "hs", &k_hs, good_claims);
		a[i].tokens[2] = signed_tok("EdDSA", "ed", &k_ed, good_claims);
		assert_int_equal(pthread_create(&th[i], NULL, auth_thread, &a[i]), 0);
	}
	/* new files with the same keys and one more or one less, each
	 * published by a poll as gwd's loop does */
	for (i = 0; i < 20; i++) {
		json_t *keys = json_array();

		json_array_append_new(keys, tjwk(&k_p256, "p256", NULL));
		json_array_append_new(keys, tjwk(&k_hs, "hs", NULL));
		json_array_append_new(keys, tjwk(&k_ed, "ed", NULL));
		if (i & 1)
			json_array_append_new(keys, tjwk(&k_rsa, "rsa", NULL));
		assert_int_equal(twrite_jwks("main.json", keys), 0);
		changes += gw_jwks_poll(gw_jwt_jwks(jwt), true) == 1;
		usleep(2000);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].bad, 0);
		for (j = 0; j < 3; j++)
			free(a[i].tokens[j]);
	}
	jwks_get_stats(gw_jwt_jwks(jwt), &st);
	print_message("  %llu JWKS reads, %llu changes\n", (unsigned long long)st.reads,
		      (unsigned long long)st.changes);
	assert_int_equal(st.failures, 0);
	assert_int_equal(changes, 20); /* each file differs from the one before */
	gw_jwt_free(jwt);
}

/* A request of the authset test: header names and values. */
struct treq {
	const char *names[2], *values[2];
};

static const char *treq_get(void *p, const char *name, size_t *len)
{
	struct treq *r = p;
	int i;

	for (i = 0; i < 2; i++)
		if (r->names[i] && !strcasecmp(r->names[i], name)) {
			*len = strlen(r->values[i]);
			return r->values[i];
		}
	return NULL;
}

/* Routes' auth by name: jwt from Authorization, API keys from their
 * header, and the status and WWW-Authenticate of each refusal. */
static void test_authset(void **state)
{
	char keys_path[512], missing_path[512];
	struct gw_cfg_api_keys ak = {.name = "partners", .header = "X-API-Key", .keys = keys_path};
	struct gw_cfg_jwt jc = main_cfg();
	struct gw_cfg_auth cfg = {.jwt = &jc, .n_jwt = 1, .api_keys = &ak, .n_api_keys = 1};
	struct gw_auth_verdict v;
	struct gw_authset *set;
	struct treq r = {{"authorization", "x-api-key"}, {NULL, NULL}};
	char *tok = signed_tok("HS256", "hs", &k_hs, good_claims), *bearer, *nosub;
	char c[512];
	__u64 f0, m0;

	snprintf(keys_path, sizeof(keys_path), "%s", tpath("keys.txt"));
	snprintf(missing_path, sizeof(missing_path), "%s", tpath("missing.txt"));
	jc = main_cfg(); /* tpath's buffer is shared: take each path once */
	write_main_jwks();
	/* the key file: acme's key is "s3cret" */
	{
		unsigned char h[32];
		char line[128];
		int i, n;

		gw_sha256("s3cret", 6, h);
		n = snprintf(line, sizeof(line), "acme ");
		for (i = 0; i < 32; i++)
			n += snprintf(line + n, sizeof(line) - n, "%02x", h[i]);
		snprintf(line + n, sizeof(line) - n, "\n");
		assert_int_equal(twrite("keys.txt", line), 0);
	}
	assert_int_equal(gw_authset_new(&cfg, NULL, &set), 0);
	assert_non_null(gw_authset_jwt(set, "main"));
	assert_null(gw_authset_jwt(set, "partners"));
	assert_non_null(gw_authset_apikeys(set, "partners"));
	assert_true(asprintf(&bearer, "Bearer %s", tok) > 0);
	/* jwt: good, missing, bad */
	r.values[0] = bearer;
	assert_int_equal(gw_authset_check(set, "main", treq_get, &r, 0, S(NOW), &v), GW_AUTH_OK);
	assert_int_equal(v.status, 0);
	assert_string_equal(v.res.consumer, "alice");
	assert_string_equal(v.res.headers[0].name, "X-User-Id");
	r.values[0] = NULL;
	r.names[0] = "x-other";
	assert_int_equal(gw_authset_check(set, "main", treq_get, &r, 0, S(NOW), &v),
			 GW_AUTH_MISSING);
	assert_int_equal(v.status, 401);
	assert_string_equal(v.www_authenticate, "Bearer realm=\"main\"");
	r.names[0] = "Authorization";
	r.values[0] = bearer;
	assert_int_equal(gw_authset_check(set, "main", treq_get, &r, 0, S(NOW + 3600), &v),
			 GW_AUTH_EXPIRED);
	assert_int_equal(v.status, 401);
	assert_string_equal(v.www_authenticate, "Bearer realm=\"main\", error=\"invalid_token\", "
						"error_description=\"the token has expired\"");
	/* jwt: valid but without the tenant claim: 403 */
	snprintf(c, sizeof(c),
		 "{\"iss\":\"https://id.example/\",\"aud\":\"api\",\"sub\":\"a\","
		 "\"exp\":%lld}",
		 NOW + 60);
	free(tok);
	tok = signed_tok("HS256", "hs", &k_hs, c);
	assert_true(asprintf(&nosub, "Bearer %s", tok) > 0);
	r.values[0] = nosub;
	assert_int_equal(gw_authset_check(set, "main", treq_get, &r, 0, S(NOW), &v),
			 GW_AUTH_MISSING_CLAIM);
	assert_int_equal(v.status, 403);
	assert_non_null(strstr(v.www_authenticate, "error=\"insufficient_scope\""));
	/* API keys (and the refusal counters, by reason) */
	f0 = gw_auth_failures(GW_AUTH_BAD_API_KEY);
	m0 = gw_auth_failures(GW_AUTH_MISSING);
	r.values[1] = "s3cret";
	assert_int_equal(gw_authset_check(set, "partners", treq_get, &r, 0, S(NOW), &v),
			 GW_AUTH_OK);
	assert_string_equal(v.res.consumer, "acme");
	r.values[1] = "guess";
	assert_int_equal(gw_authset_check(set, "partners", treq_get, &r, 0, S(NOW), &v),
			 GW_AUTH_BAD_API_KEY);
	assert_int_equal(v.status, 401);
	assert_string_equal(v.www_authenticate,
			    "ApiKey realm=\"partners\", error=\"invalid_token\", "
			    "error_description=\"the API key is not valid\"");
	r.names[1] = NULL;
	assert_int_equal(gw_authset_check(set, "partners", treq_get, &r, 0, S(NOW), &v),
			 GW_AUTH_MISSING);
	assert_string_equal(v.www_authenticate, "ApiKey realm=\"partners\"");
	assert_int_equal(gw_auth_failures(GW_AUTH_BAD_API_KEY), f0 + 1);
	assert_int_equal(gw_auth_failures(GW_AUTH_MISSING), m0 + 1);
	/* no auth, and a name the config never had */
	assert_int_equal(gw_authset_check(set, NULL, treq_get, &r, 0, S(NOW), &v), GW_AUTH_OK);
	assert_int_equal(gw_authset_check(set, "none", treq_get, &r, 0, S(NOW), &v), GW_AUTH_OK);
	assert_int_equal(v.status, 0);
	assert_int_equal(gw_authset_check(set, "nope", treq_get, &r, 0, S(NOW), &v),
			 GW_AUTH_INTERNAL);
	assert_int_equal(v.status, 500);
	gw_authset_free(set);
	/* one entry that cannot load: the whole set fails */
	ak.keys = missing_path;
	assert_int_equal(gw_authset_new(&cfg, NULL, &set), -ENOENT);
	assert_null(set);
	free(tok);
	free(bearer);
	free(nosub);
}

/* The cache on its own: replacement and flush. */
static void test_tokcache_direct(void **state)
{
	struct gw_jwks_set set = {.refs = 1, .generation = 1};
	unsigned char h[32] = {1}, fp[32] = {2};
	struct gw_tokcache_stats st;
	struct gw_tokcache *c;
	char buf[16];
	size_t len;

	assert_int_equal(gw_tokcache_new(0, &c), -EINVAL);
	assert_int_equal(gw_tokcache_new(3, &c), 0);
	assert_int_equal(gw_tokcache_put(c, h, fp, 1, 100, "abc", 4), 0);
	assert_int_equal(gw_tokcache_put(c, h, fp, 1, 100, "xy", 3), 0); /* replaces */
	assert_int_equal(gw_tokcache_get(c, h, &set, 50, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "xy");
	assert_int_equal(gw_tokcache_get(c, h, &set, 50, buf, 2, &len), -ENOSPC);
	/* a newer generation without the key: invalidated */
	set.generation = 2;
	assert_int_equal(gw_tokcache_get(c, h, &set, 50, buf, sizeof(buf), &len), -ENOENT);
	assert_int_equal(gw_tokcache_put(c, h, fp, 2, 100, "z", 2), 0);
	gw_tokcache_flush(c);
	gw_tokcache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.invalidated, 1);
	assert_int_equal(gw_tokcache_get(c, h, &set, 50, buf, sizeof(buf), &len), -ENOENT);
	gw_tokcache_free(c);
}

/* ------------------------------------------------------------------ */
/* Base64url, bearer extraction, HTTP                                   */
/* ------------------------------------------------------------------ */

static void test_b64url(void **state)
{
	unsigned char out[16];
	char *enc;

	assert_int_equal(gw_b64url_decode("", 0, out, sizeof(out)), 0);
	assert_int_equal(gw_b64url_decode("Zm9v", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(gw_b64url_decode("Zm8", 3, out, sizeof(out)), 2);
	assert_int_equal(gw_b64url_decode("Zg", 2, out, sizeof(out)), 1);
	assert_int_equal(gw_b64url_decode("_-8", 3, out, sizeof(out)), 2);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[1], 0xef);
	assert_int_equal(gw_b64url_decode("Zg==", 4, out, sizeof(out)), -EINVAL); /* padding */
	assert_int_equal(gw_b64url_decode("Zh", 2, out, sizeof(out)), -EINVAL);	  /* bits */
	assert_int_equal(gw_b64url_decode("Zm9", 3, out, sizeof(out)), -EINVAL);  /* bits */
	assert_int_equal(gw_b64url_decode("Zm9=", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(gw_b64url_decode("Z", 1, out, sizeof(out)), -EINVAL);	 /* 4k+1 */
	assert_int_equal(gw_b64url_decode("+/8", 3, out, sizeof(out)), -EINVAL); /* base64 */
	assert_int_equal(gw_b64url_decode("Zm 9", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(gw_b64url_decode("Zm9v\n", 5, out, sizeof(out)), -EINVAL);
	assert_int_equal(gw_b64url_decode("Zm9vZm9v", 8, out, 5), -ENOSPC);
	/* the tests' encoder (authtest.h) */
	enc = b64("\xff\xef", 2);
	assert_string_equal(enc, "_-8");
	free(enc);
	enc = b64s("foob");
	assert_string_equal(enc, "Zm9vYg");
	free(enc);
}

static void test_bearer(void **state)
{
	const char *t;
	size_t n;

	assert_int_equal(gw_auth_bearer_token("Bearer abc.def-_~+/=", 20, &t, &n), 0);
	assert_int_equal(n, 13);
	assert_memory_equal(t, "abc.def-_~+/=", 13);
	assert_int_equal(gw_auth_bearer_token("bEaReR  x.y.z \t", 15, &t, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(t, "x.y.z", 5);
	assert_int_equal(gw_auth_bearer_token(NULL, 0, &t, &n), -ENOENT);
	assert_int_equal(gw_auth_bearer_token("", 0, &t, &n), -ENOENT);
	assert_int_equal(gw_auth_bearer_token("Basic dXNlcjpw", 14, &t, &n), -ENOENT);
	assert_int_equal(gw_auth_bearer_token("Bearerx", 7, &t, &n), -ENOENT);
	assert_int_equal(gw_auth_bearer_token("Bearer", 6, &t, &n), -EINVAL);
	assert_int_equal(gw_auth_bearer_token("Bearer ", 7, &t, &n), -EINVAL);
	assert_int_equal(gw_auth_bearer_token("Bearer a b", 10, &t, &n), -EINVAL);
	assert_int_equal(gw_auth_bearer_token("Bearer a=b", 10, &t, &n), -EINVAL);
	assert_int_equal(gw_auth_bearer_token("Bearer a,b", 10, &t, &n), -EINVAL);
	assert_int_equal(gw_auth_bearer_token("Bearer\ta", 8, &t, &n), -ENOENT);
	/* through the verifier */
	{
		struct gw_jwt *jwt = main_jwt(NULL);
		struct gw_auth_result res;
		char *tok = signed_tok("HS256", "hs", &k_hs, good_claims), *hv;

		assert_true(asprintf(&hv, "bearer %s", tok) > 0);
		assert_int_equal(gw_jwt_authenticate_header(jwt, 0, hv, strlen(hv), S(NOW), &res),
				 GW_AUTH_OK);
		assert_int_equal(gw_jwt_authenticate_header(jwt, 0, NULL, 0, S(NOW), &res),
				 GW_AUTH_MISSING);
		assert_int_equal(gw_jwt_authenticate_header(jwt, 0, "Bearer a b", 10, S(NOW), &res),
				 GW_AUTH_MALFORMED);
		free(hv);
		free(tok);
		gw_jwt_free(jwt);
	}
}

static void test_http_mapping(void **state)
{
	char buf[256];
	int i, j;

	assert_int_equal(gw_auth_http_status(GW_AUTH_OK), 0);
	assert_int_equal(gw_auth_http_status(GW_AUTH_MISSING), 401);
	assert_int_equal(gw_auth_http_status(GW_AUTH_EXPIRED), 401);
	assert_int_equal(gw_auth_http_status(GW_AUTH_BAD_ALG), 401);
	assert_int_equal(gw_auth_http_status(GW_AUTH_BAD_API_KEY), 401);
	assert_int_equal(gw_auth_http_status(GW_AUTH_MISSING_CLAIM), 403);
	assert_int_equal(gw_auth_http_status(GW_AUTH_INTERNAL), 500);
	/* label values: distinct, lower case with '_' */
	for (i = 0; i < GW_AUTH_REASON_COUNT; i++) {
		const char *n = gw_auth_reason_name((enum gw_auth_reason)i);

		assert_true(strspn(n, "abcdefghijklmnopqrstuvwxyz_") == strlen(n));
		for (j = 0; j < i; j++)
			assert_string_not_equal(n, gw_auth_reason_name((enum gw_auth_reason)j));
	}
	assert_string_equal(gw_auth_reason_name(GW_AUTH_UNKNOWN_KID), "unknown_kid");
	assert_int_equal(
		gw_auth_www_authenticate(buf, sizeof(buf), "Bearer", "main", GW_AUTH_MISSING),
		strlen("Bearer realm=\"main\""));
	assert_string_equal(buf, "Bearer realm=\"main\"");
	assert_true(gw_auth_www_authenticate(buf, sizeof(buf), "Bearer", "main", GW_AUTH_EXPIRED) >
		    0);
	assert_string_equal(buf, "Bearer realm=\"main\", error=\"invalid_token\", "
				 "error_description=\"the token has expired\"");
	assert_true(gw_auth_www_authenticate(buf, sizeof(buf), "Bearer", "a\"b\\c\r\n",
					     GW_AUTH_MISSING_CLAIM) > 0);
	assert_string_equal(buf, "Bearer realm=\"a\\\"b\\\\c\", error=\"insufficient_scope\", "
				 "error_description=\"the token lacks a required claim\"");
	assert_int_equal(gw_auth_www_authenticate(buf, 10, "Bearer", "main", GW_AUTH_EXPIRED),
			 -ENOSPC);
	/* no description carries a quote or a control byte */
	for (i = 0; i < GW_AUTH_REASON_COUNT; i++) {
		const char *d = gw_auth_reason_description((enum gw_auth_reason)i);

		for (; *d; d++)
			assert_true(*d >= 0x20 && *d != '"' && *d != '\\');
	}
}

static void test_jwt_new_errors(void **state)
{
	static char *bad_algs[] = {"RS256", "none"};
	struct gw_cfg_jwt cfg = main_cfg();
	struct gw_jwt *jwt;

	write_main_jwks();
	cfg.algorithms = bad_algs;
	cfg.n_algorithms = 2;
	assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), -EINVAL);
	assert_null(jwt);
	cfg = main_cfg();
	cfg.n_algorithms = 0;
	assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), -EINVAL);
	/* forwarded into a header that is not a token, frames the request,
	 * or twice into one header */
	{
		static const char *const bad[] = {"X-User Id",	    "X-A\r\nB",		 "",
						  "Content-Length", "transfer-encoding", "Host",
						  "x-tenant"};
		struct gw_cfg_strpair f[2] = {{.key = "sub", .value = "X-Tenant"},
					      {.key = "tenant"}};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			cfg = main_cfg();
			cfg.forward_claims = f;
			f[1].value = (char *)bad[i];
			assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), -EINVAL);
		}
		f[1].value = "X-Tenant-Id";
		assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), 0);
		gw_jwt_free(jwt);
	}
	cfg = main_cfg();
	cfg.jwks = (char *)tpath("missing.json");
	assert_int_equal(gw_jwt_new(&cfg, NULL, &jwt), -ENOENT);
}

/* ------------------------------------------------------------------ */

static int gen_key(struct tkey *k, const char *type, const char *param)
{
	if (!strcmp(type, "RSA"))
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (!strcmp(type, "EC"))
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	else
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
	return k->pkey ? 0 : -1;
}

static int group_setup(void **state)
{
	if (tdir_make())
		return -1;
	if (gen_key(&k_rsa, "RSA", NULL) || gen_key(&k_rsa2, "RSA", NULL) ||
	    gen_key(&k_p256, "EC", "P-256") || gen_key(&k_p384, "EC", "P-384") ||
	    gen_key(&k_ed, "ED25519", NULL))
		return -1;
	k_hs.slen = 64;
	if (RAND_bytes(k_hs.secret, 64) != 1)
		return -1;
	snprintf(good_claims, sizeof(good_claims), "%s", claims_with(""));
	return 0;
}

static int group_teardown(void **state)
{
	EVP_PKEY_free(k_rsa.pkey);
	EVP_PKEY_free(k_rsa2.pkey);
	EVP_PKEY_free(k_p256.pkey);
	EVP_PKEY_free(k_p384.pkey);
	EVP_PKEY_free(k_ed.pkey);
	tdir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_rfc7515_a1_hs256),
		cmocka_unit_test(test_rfc7515_a2_rs256),
		cmocka_unit_test(test_rfc7515_a3_es256),
		cmocka_unit_test(test_rfc8037_a4_ed25519),
		cmocka_unit_test(test_each_algorithm),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_alg_not_configured),
		cmocka_unit_test(test_unknown_kid_reread),
		cmocka_unit_test(test_claims_time),
		cmocka_unit_test(test_claims_iss_aud),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_forward_claims),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_jwks_bad_keys),
		cmocka_unit_test(test_jwks_reload),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_authset),
		cmocka_unit_test(test_tokcache_direct),
		cmocka_unit_test(test_cache_workers),
		cmocka_unit_test(test_unknown_kid_single_flight),
		cmocka_unit_test(test_jwks_background),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_http_mapping),
		cmocka_unit_test(test_jwt_new_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
