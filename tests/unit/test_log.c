// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* agent/core/log.c: the line each format writes to stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/log.h"

/* Logs one message in `fmt` with stderr on a pipe. Returns the line (static). */
static const char *logged(enum gw_log_format fmt, const char *msg)
{
	static char buf[4096];
	int p[2], saved;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	gw_log_set_format(fmt);
	gw_log(GW_LOG_WARN, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static void test_formats(void **state)
{
	const char *l;

	assert_string_equal(logged(GW_LOG_FMT_JOURNAL, "dp: a\n"), "<4>dp: a\n");
	assert_string_equal(logged(GW_LOG_FMT_PLAIN, "dp: a\n"), "dp: a\n");
	l = logged(GW_LOG_FMT_TEXT, "dp: a\n");
	/* "2026-12-07T18:59:01.123Z warn: dp: a" */
	assert_int_equal(strlen(l), 24 + strlen(" warn: dp: a\n"));
	assert_true(l[4] == '-' && l[10] == 'T' && l[19] == '.' && l[23] == 'Z');
	assert_string_equal(l + 24, " warn: dp: a\n");
	l = logged(GW_LOG_FMT_JSON, "say \"hi\"\\\t\n");
	assert_non_null(strstr(l, "\"level\":\"warn\",\"msg\":\"say \\\"hi\\\"\\\\\\u0009\"}\n"));
	assert_true(!strncmp(l, "{\"time\":\"", 9));
}

static void test_parse(void **state)
{
	enum gw_log_format f;

	assert_int_equal(gw_log_format_parse("json", &f), 0);
	assert_int_equal(f, GW_LOG_FMT_JSON);
	assert_int_equal(gw_log_format_parse("auto", &f), 0);
	assert_int_equal(f, GW_LOG_FMT_AUTO);
	assert_int_equal(gw_log_format_parse("xml", &f), -1);
	/* auto without journald is text */
	unsetenv("JOURNAL_STREAM");
	assert_int_not_equal(logged(GW_LOG_FMT_AUTO, "x")[0], '<');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
