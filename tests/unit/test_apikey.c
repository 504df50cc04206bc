// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* API key files: lookups by SHA-256 of the presented key, line-numbered
 * errors, duplicates, reload when the file changes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>

#include "authtest.h"
#include "apikey.h"

#define S(x) ((__u64)(x)*1000000000ull)

/* Returns the hex SHA-256 of `key` (static buffer). */
static const char *sha_hex(const char *key)
{
	static char hex[65];
	unsigned char h[32];
	int i;

	EVP_Digest(key, strlen(key), h, NULL, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return hex;
}

/* Writes a key file of `n` consumer/key pairs plus `extra` text. */
static void write_keys(const char *name, const char *const *pairs, size_t n, const char *extra)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	fprintf(f, "# partners\n\n");
	for (i = 0; i < n; i++)
		fprintf(f, "%s %s\n", pairs[2 * i], sha_hex(pairs[2 * i + 1]));
	fputs(extra, f);
	fclose(f);
	assert_int_equal(twrite(name, text), 0);
	free(text);
}

static enum gw_auth_reason auth(struct gw_apikeys *ak, const char *key, __u64 now,
				struct gw_auth_result *res)
{
	return gw_apikeys_authenticate(ak, key, key ? strlen(key) : 0, now, res);
}

static void test_match(void **state)
{
	static const char *const pairs[] = {
		"acme", "k-acme-1", "acme", "k-acme-2", "globex", "k-globex", "initech", "k-ini",
	};
	struct gw_auth_result res;
	struct gw_apikeys *ak;

	write_keys("keys.txt", pairs, 4, "  # indented comment\n\t\n");
	assert_int_equal(gw_apikeys_open(tpath("keys.txt"), &ak), 0);
	assert_int_equal(gw_apikeys_set_size(ak->cur), 4);
	assert_int_equal(auth(ak, "k-acme-1", S(1), &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "acme");
	assert_int_equal(res.n_headers, 0);
	assert_int_equal(auth(ak, "k-acme-2", S(1), &res), GW_AUTH_OK); /* second key */
	assert_string_equal(res.consumer, "acme");
	assert_int_equal(auth(ak, "k-globex", S(1), &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "globex");
	assert_int_equal(auth(ak, "k-ini", S(1), &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "initech");
	/* no match: other key, prefix, extension, case, the hash itself */
	assert_int_equal(auth(ak, "k-acme-3", S(1), &res), GW_AUTH_BAD_API_KEY);
	assert_string_equal(res.consumer, "");
	assert_int_equal(gw_auth_http_status(res.reason), 401);
	assert_int_equal(auth(ak, "k-acme-", S(1), &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, "k-acme-1x", S(1), &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, "K-ACME-1", S(1), &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, sha_hex("k-acme-1"), S(1), &res), GW_AUTH_BAD_API_KEY);
	/* the key is compared as bytes: an embedded NUL does not truncate */
	assert_int_equal(gw_apikeys_authenticate(ak, "k-acme-1\0x", 10, S(1), &res),
			 GW_AUTH_BAD_API_KEY);
	/* missing and oversized */
	assert_int_equal(auth(ak, NULL, S(1), &res), GW_AUTH_MISSING);
	assert_int_equal(auth(ak, "", S(1), &res), GW_AUTH_MISSING);
	{
		char big[GW_APIKEYS_MAX_KEY + 2];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(auth(ak, big, S(1), &res), GW_AUTH_MALFORMED);
	}
	gw_apikeys_free(ak);
}

/* Many keys: every one is found, through the salted buckets. */
static void test_many(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_apikeys_set *set;
	char *text = NULL, key[32], consumer[64], out[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		fprintf(f, "c%d\t%s\r\n", i, sha_hex(key));
	}
	fclose(f);
	assert_int_equal(gw_apikeys_parse("many", text, len, &set, &msgs), 0);
	assert_int_equal(gw_apikeys_set_size(set), 2000);
	for (i = 0; i < 2000; i += 7) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(consumer, sizeof(consumer), "c%d", i);
		assert_int_equal(gw_apikeys_set_lookup(set, key, strlen(key), out, sizeof(out)), 0);
		assert_string_equal(out, consumer);
	}
	assert_int_equal(gw_apikeys_set_lookup(set, "key-2000", 8, out, sizeof(out)), -ENOENT);
	gw_apikeys_set_put(set);
	free(text);
	gw_cfg_errors_free(&msgs);
}

static void test_malformed_lines(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_apikeys_set *set;
	char text[4096];
	const char *h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

	snprintf(text, sizeof(text),
		 "# header\n"
		 "good %s\n"		/* 2 */
		 "onlyconsumer\n"	/* 3 */
		 "c 1234\n"		/* 4: short hash */
		 "c %.63sg\n"		/* 5: not hex */
		 "c %s extra\n"		/* 6: three fields */
		 "caf\xc3\xa9 %.63s1\n" /* 7: consumer not ASCII */
		 "\n"
		 "   \t # fine\n"
		 "c %.63s2 # trailing comment\n" /* 10: three fields */
		 "%0300d %.63s3\n",		 /* 11: consumer too long */
		 h, h, h, h, h, 0, h);
	assert_int_equal(gw_apikeys_parse("keys.txt", text, strlen(text), &set, &msgs), -EINVAL);
	assert_null(set);
	assert_true(gw_msgs_has(&msgs, "keys.txt:3: expected \"consumer sha256-hex\""));
	assert_true(gw_msgs_has(&msgs, "keys.txt:4: the hash must be 64 hex digits"));
	assert_true(gw_msgs_has(&msgs, "keys.txt:5: the hash has a character that is not"));
	assert_true(gw_msgs_has(&msgs, "keys.txt:6: expected"));
	assert_true(gw_msgs_has(&msgs, "keys.txt:7: consumer has a byte"));
	assert_true(gw_msgs_has(&msgs, "keys.txt:10: expected"));
	assert_true(gw_msgs_has(&msgs, "keys.txt:11: consumer longer than 255"));
	assert_false(gw_msgs_has(&msgs, "keys.txt:2:"));
	assert_false(gw_msgs_has(&msgs, "keys.txt:9:"));
	assert_int_equal(msgs.n, 7); /* every problem, in one pass */
	gw_cfg_errors_free(&msgs);
	/* an empty file and a comments-only file load, with no keys */
	assert_int_equal(gw_apikeys_parse("e", "", 0, &set, &msgs), 0);
	assert_int_equal(gw_apikeys_set_size(set), 0);
	gw_apikeys_set_put(set);
	assert_int_equal(gw_apikeys_parse("e", "# x\n\n#y", 7, &set, &msgs), 0);
	assert_int_equal(gw_apikeys_set_size(set), 0);
	gw_apikeys_set_put(set);
	/* a NUL byte in a line */
	assert_int_equal(gw_apikeys_parse("n", "a\0b 00\n", 7, &set, &msgs), -EINVAL);
	assert_true(gw_msgs_has(&msgs, "n:1: NUL byte"));
	gw_cfg_errors_free(&msgs);
}

static void test_duplicate(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_apikeys_set *set;
	char text[1024];

	/* the same hash for two consumers */
	snprintf(text, sizeof(text), "a %s\n", sha_hex("k"));
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "b %s\n", sha_hex("k"));
	assert_int_equal(gw_apikeys_parse("d", text, strlen(text), &set, &msgs), -EINVAL);
	assert_null(set);
	assert_true(gw_msgs_has(&msgs, "d:2: the hash of line 1 again"));
	gw_cfg_errors_free(&msgs);
	/* the same hash in upper and lower case */
	snprintf(text, sizeof(text), "a %s\n", sha_hex("k"));
	{
		char upper[80];
		size_t i;

		snprintf(upper, sizeof(upper), "%s", sha_hex("k"));
		for (i = 0; upper[i]; i++)
			upper[i] = (char)toupper((unsigned char)upper[i]);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "# c\nb %s\n", upper);
	}
	assert_int_equal(gw_apikeys_parse("d", text, strlen(text), &set, &msgs), -EINVAL);
	assert_null(set);
	assert_true(gw_msgs_has(&msgs, "d:3: the hash of line 1 again"));
	assert_int_equal(msgs.n, 1);
	gw_cfg_errors_free(&msgs);
}

static void test_reload(void **state)
{
	static const char *const v1[] = {"acme", "k1"};
	static const char *const v2[] = {"acme", "k2", "globex", "k3"};
	struct gw_auth_result res;
	struct gw_apikeys *ak;

	write_keys("r.txt", v1, 1, "");
	assert_int_equal(gw_apikeys_open(tpath("r.txt"), &ak), 0);
	assert_int_equal(auth(ak, "k1", S(100), &res), GW_AUTH_OK);
	/* changed file: picked up at the next check (once a second) */
	write_keys("r.txt", v2, 2, "");
	assert_int_equal(auth(ak, "k1", S(100) + 1000, &res), GW_AUTH_OK);
	assert_int_equal(auth(ak, "k2", S(102), &res), GW_AUTH_OK);
	assert_int_equal(auth(ak, "k1", S(102), &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, "k3", S(102), &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "globex");
	/* unchanged: maybe_reload says so */
	assert_int_equal(gw_apikeys_maybe_reload(ak, S(104)), 0);
	/* a bad file is refused, the loaded keys stay */
	write_keys("r.txt", v1, 1, "broken line\n");
	assert_int_equal(gw_apikeys_maybe_reload(ak, S(106)), -EINVAL);
	assert_true(gw_apikeys_msgs_has(ak, ":4: the hash must be 64 hex digits"));
	assert_true(gw_apikeys_msgs_has(ak, "keeping the loaded keys"));
	assert_int_equal(auth(ak, "k2", S(106), &res), GW_AUTH_OK);
	assert_int_equal(auth(ak, "k1", S(106), &res), GW_AUTH_BAD_API_KEY);
	/* fixed: loaded */
	write_keys("r.txt", v1, 1, "");
	assert_int_equal(gw_apikeys_maybe_reload(ak, S(108)), 1);
	assert_int_equal(auth(ak, "k1", S(108), &res), GW_AUTH_OK);
	gw_apikeys_free(ak);
	/* open fails on a bad or missing file */
	assert_int_equal(gw_apikeys_open(tpath("none.txt"), &ak), -ENOENT);
	assert_int_equal(twrite("bad.txt", "x\n"), 0);
	assert_int_equal(gw_apikeys_open(tpath("bad.txt"), &ak), -EINVAL);
}

static int group_setup(void **state)
{
	return tdir_make();
}

static int group_teardown(void **state)
{
	tdir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),		cmocka_unit_test(test_many),
		cmocka_unit_test(test_malformed_lines), cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
