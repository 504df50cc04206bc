// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * JWKS documents (agent/auth/jwks.c): parsed as the file would be. Checks:
 * a loaded set holds at most max_keys keys, each with key material (and a
 * signature length for public keys) and a fingerprint that finds it; "none"
 * fits no key, and a key with its own "alg" fits no other algorithm.
 */
#include <errno.h>

#include "fuzz.h"
#include "auth/jwks.h"
#include "core/log.h"
#include "core/msgs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	gw_log_set_level((enum gw_log_level)0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_jwks_opts opts = { .max_keys = 16 };
	struct gw_cfg_errors msgs = { 0 };
	struct gw_jwks_set *set = NULL;
	size_t i;
	int rc, a;

	if (size > 65536)
		return 0;
	rc = gw_jwks_parse("fuzz.jwks", (const char *)data, size, &opts, &set, &msgs);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (!rc) {
		FZ_CHECK(set && set->n_keys <= 16);
		for (i = 0; i < set->n_keys; i++) {
			const struct gw_jwk *k = &set->keys[i];

			FZ_CHECK(k->pkey || (k->secret && k->secret_len >= 32));
			FZ_CHECK(!k->pkey || k->sig_len > 0);
			FZ_CHECK(!gw_jwk_fits(k, GW_JWA_NONE));
			for (a = GW_JWA_RS256; a < GW_JWA_COUNT; a++)
				if (gw_jwk_fits(k, a))
					FZ_CHECK(k->alg == GW_JWA_NONE || k->alg == (enum gw_jwa)a);
			FZ_CHECK(gw_jwks_set_find_fp(set, k->fp) != NULL);
		}
		gw_jwks_set_put(set);
	}
	gw_cfg_errors_free(&msgs);
	return 0;
}
