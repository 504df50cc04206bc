// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The admin protocol's command tables (agent/core/cmd.c): each part's verbs
 * run with their own context, lookups across tables, malformed requests. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/cmd.h"

/* Answers with the name of its table's context. */
static int verb_who(struct gw_cmd_call *c, json_t **out)
{
	*out = json_string(c->ctx);
	return 0;
}

/* Fails with a message built from its argument. */
static int verb_fail(struct gw_cmd_call *c, json_t **out)
{
	unsigned long long n = 0;
	int have;

	if (gw_cmd_arg_uint(c, "n", 10, &n, &have))
		return gw_cmd_fail(c, -EINVAL, "'n' must be 0-10");
	return gw_cmd_fail(c, -ENOENT, "no such thing: %llu", n);
}

static const struct gw_cmd dp_verbs[] = { { "status", verb_who }, { "dp.fail", verb_fail } };
static const struct gw_cmd l7_verbs[] = { { "route.list", verb_who }, { "status", verb_who } };

static const struct gw_cmd_table tables[] = {
	{ dp_verbs, 2, "dp" },
	{ l7_verbs, 2, "l7" },
};

/* The answer's "ok", and its data or error text in *s. */
static int answer(json_t *r, const char **s)
{
	json_t *ok = json_object_get(r, "ok");

	assert_non_null(r);
	*s = json_string_value(json_object_get(r, json_is_true(ok) ? "data" : "error"));
	return json_is_true(ok);
}

static void test_lookup_across_tables(void **state)
{
	const char *s;
	json_t *r;

	r = gw_cmd_exec(tables, 2, "route.list", NULL);
	assert_true(answer(r, &s));
	assert_string_equal(s, "l7");	/* the second table's own context */
	json_decref(r);
	r = gw_cmd_exec(tables, 2, "status", NULL);
	assert_true(answer(r, &s));
	assert_string_equal(s, "dp");	/* the first table that has the verb */
	json_decref(r);
	r = gw_cmd_exec(tables, 1, "route.list", NULL);	/* gwctl's pins: dp only */
	assert_false(answer(r, &s));
	assert_string_equal(s, "unknown command 'route.list'");
	json_decref(r);
}

static void test_failures(void **state)
{
	json_t *args = json_pack("{s:i}", "n", 11), *r;
	const char *s;

	r = gw_cmd_exec(tables, 2, "dp.fail", args);
	assert_false(answer(r, &s));
	assert_string_equal(s, "'n' must be 0-10");
	json_decref(r);
	json_object_set_new(args, "n", json_string("7"));
	r = gw_cmd_exec(tables, 2, "dp.fail", args);
	assert_false(answer(r, &s));
	assert_string_equal(s, "no such thing: 7");
	json_decref(r);
	json_decref(args);
	args = json_array();
	r = gw_cmd_exec(tables, 2, "status", args);
	assert_false(answer(r, &s));
	assert_string_equal(s, "'args' must be an object");
	json_decref(r);
	json_decref(args);
}

static void test_lines(void **state)
{
	static const char *bad[] = { "{", "[]", "{\"cmd\": 3}", "{\"cmd\":\"status\",\"cmd\":\"x\"}" };
	const char *good = "{\"cmd\":\"route.list\",\"args\":{}}", *s;
	json_t *r;
	size_t i;

	r = gw_cmd_exec_line(tables, 2, good, strlen(good));
	assert_true(answer(r, &s));
	assert_string_equal(s, "l7");
	json_decref(r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = gw_cmd_exec_line(tables, 2, bad[i], strlen(bad[i]));
		assert_false(answer(r, &s));
		json_decref(r);
	}
}

/* A message quoting the client's bytes is still an answer when those bytes
 * are not UTF-8 (jansson's parse error quotes them; "unknown command"
 * cuts the name at 64 bytes, maybe inside a character): found by
 * tests/fuzz/fuzz_cmd. */
static void test_error_not_utf8(void **state)
{
	static const char *lines[] = {
		"{\"\\\\\\\xdb\xa3\x9c\x92\x9b\xdd\xc5\x90nntrackfalse.list\"}",
		"{\"cmd\":\"\xff\xfe\"}",
		"{\"cmd\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"}",
	};
	const char *s;
	json_t *r;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		r = gw_cmd_exec_line(tables, 2, lines[i], strlen(lines[i]));
		assert_false(answer(r, &s));
		assert_non_null(s);
		json_decref(r);
	}
	r = gw_cmd_error("bad \xc3");
	assert_false(answer(r, &s));
	assert_string_equal(s, "bad ?");
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_across_tables),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_error_not_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
