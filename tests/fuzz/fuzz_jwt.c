// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * JWT verification (agent/auth/jwt.c) against the keys of RFC 7515 A.1-A.3
 * and RFC 8037 A.4 (HS256, RS256, ES256, EdDSA). The first input byte picks:
 *   0: the rest is an Authorization value: bearer parsing, then the JWS
 *      and claims checks on whatever token it holds;
 *   1: the rest is "HEADER\nPAYLOAD" (JSON, as the fuzzer makes them),
 *      signed here with the HS256 key, so the header and claims checks run
 *      past the signature;
 *   2: the rest is a token given to gw_jws_verify directly.
 * Checks: a success names the key that verified it, forwarded values and
 * the consumer are NUL-terminated, a JWS payload is a terminated copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "auth/jwt.h"
#include "core/refslot.h"
#include "core/b64url.h"
#include "core/log.h"

static const char jwks_text[] =
	"{\"keys\":["
	"{\"kty\":\"oct\",\"kid\":\"a1\",\"k\":"
	"\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"},"
	"{\"kty\":\"RSA\",\"kid\":\"a2\",\"e\":\"AQAB\",\"n\":"
	"\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4"
	"d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexM"
	"dbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
	"DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},"
	"{\"kty\":\"EC\",\"kid\":\"a3\",\"crv\":\"P-256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
	"{\"kty\":\"OKP\",\"kid\":\"a4\",\"crv\":\"Ed25519\","
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

static const char hs_secret_b64[] =
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

#define NOW_NS (1300819000LL * 1000000000LL) /* before the RFC tokens' exp */

static struct gw_jwt *jwt;
static struct gw_jwks_set *set;
static unsigned char secret[64];
static size_t secret_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *algs[] = { "HS256", "RS256", "ES256", "EdDSA" };
	static char *auds[] = { "api", "other" };
	static struct gw_cfg_strpair fwd[] = {
		{ .key = "sub", .value = "X-User" },
		{ .key = "scope", .value = "X-Scope" },
		{ .key = "http://example.com/is_root", .value = "X-Root" },
	};
	char path[] = "/tmp/gw-fuzz-jwks.XXXXXX";
	struct gw_cfg_jwt cfg = {
		.name = "fuzz",
		.jwks = path,
		.issuer = "joe",
		.audiences = auds,
		.n_audiences = 2,
		.algorithms = algs,
		.n_algorithms = 4,
		.leeway_ns = 30ull * 1000000000ull,
		.forward_claims = fwd,
		.n_forward_claims = 3,
	};
	ssize_t n;
	int fd;

	gw_log_set_level((enum gw_log_level)0);
	fd = mkstemp(path);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, jwks_text, sizeof(jwks_text) - 1) == (ssize_t)sizeof(jwks_text) - 1);
	close(fd);
	FZ_CHECK(gw_jwt_new(&cfg, NULL, &jwt) == 0);
	unlink(path);
	set = gw_refslot_acquire(&gw_jwt_jwks(jwt)->slot);
	FZ_CHECK(set && set->n_keys == 4);
	n = gw_b64url_decode(hs_secret_b64, sizeof(hs_secret_b64) - 1, secret, sizeof(secret));
	FZ_CHECK(n > 0);
	secret_len = (size_t)n;
	return 0;
}

/* base64url without padding of in[len] into out (cap bytes). Returns the
 * length written, or -1 when it does not fit. */
static ssize_t b64url(const unsigned char *in, size_t len, char *out, size_t cap)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	unsigned int v;

	if (cap < (len + 2) / 3 * 4)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned int)in[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
	}
	return (ssize_t)o;
}

/* Verifies token[len] and checks what a success claims. Returns nothing. */
static void verify(const char *token, size_t len)
{
	const struct gw_jwk *key = NULL;
	struct gw_auth_result res;
	__s64 until = 0;
	enum gw_auth_reason r;

	memset(&res, 0, sizeof(res));
	r = gw_jwt_verify(jwt, set, token, len, NOW_NS, &res, &key, &until);
	FZ_CHECK(r >= GW_AUTH_OK && r < GW_AUTH_REASON_COUNT);
	FZ_CHECK(res.n_headers <= GW_AUTH_FORWARD_MAX);
	if (r == GW_AUTH_OK || r == GW_AUTH_MISSING_CLAIM) {
		size_t i;

		FZ_CHECK(key != NULL);
		for (i = 0; i < res.n_headers; i++)
			FZ_CHECK(memchr(res.headers[i].value, 0, GW_AUTH_VALUE_MAX) != NULL);
		FZ_CHECK(memchr(res.consumer, 0, sizeof(res.consumer)) != NULL);
	}
}

/* Makes "b64(header).b64(payload).b64(HS256)" of p[len] split at its first
 * newline and verifies it. Returns nothing. */
static void sign_and_verify(const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	size_t hl, pl, cap, n = 0;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	ssize_t w;
	char *tok;

	if (!nl)
		return;
	hl = (size_t)(nl - p);
	pl = len - hl - 1;
	cap = (hl + pl) * 4 / 3 + 128;
	tok = malloc(cap);
	FZ_CHECK(tok != NULL);
	w = b64url((const unsigned char *)p, hl, tok, cap);
	FZ_CHECK(w >= 0);
	n = (size_t)w;
	tok[n++] = '.';
	w = b64url((const unsigned char *)nl + 1, pl, tok + n, cap - n);
	FZ_CHECK(w >= 0);
	n += (size_t)w;
	FZ_CHECK(HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)tok, n, mac,
		      &mac_len) != NULL);
	tok[n++] = '.';
	w = b64url(mac, mac_len, tok + n, cap - n);
	FZ_CHECK(w >= 0);
	n += (size_t)w;
	verify(tok, n);
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *tok;
	unsigned char *payload = NULL;
	const struct gw_jwk *key = NULL;
	size_t len, tlen, plen = 0;
	enum gw_auth_reason r;

	if (size < 1 || size > GW_JWT_MAX_TOKEN + 64)
		return 0;
	len = size - 1;
	switch (data[0] % 3) {
	case 0:
		if (!gw_auth_bearer_token(p, len, &tok, &tlen)) {
			FZ_CHECK(tok >= p && tok + tlen <= p + len);
			verify(tok, tlen);
		}
		break;
	case 1:
		sign_and_verify(p, len);
		break;
	default:
		r = gw_jws_verify(set, 0x1ffeu, p, len, GW_JWT_MAX_TOKEN, &payload, &plen, &key);
		FZ_CHECK(r >= GW_AUTH_OK && r < GW_AUTH_REASON_COUNT);
		if (r == GW_AUTH_OK)
			FZ_CHECK(payload && key && payload[plen] == '\0');
		free(payload);
		break;
	}
	return 0;
}
