// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* agent/daemon/metrics.c: /config shows the running file with the values
 * of keys that name a secret redacted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "daemon/metrics.h"

/* The dump of text. Returns it (malloc'd). */
static char *dump(const char *text)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	gw_metrics_config_dump(f, text);
	fclose(f);
	return out;
}

static void test_redaction(void **state)
{
	static const char in[] =
		"version: 1\n"
		"cluster:\n"
		"  redis: { address: 127.0.0.1:6379, password: hunter2, timeout: 50ms }\n"
		"  api_token: abc\n"
		"  Client_Secret: \"x y\"\n"
		"tls: { certificates: [ { cert: /a.crt, key: /a.key } ] }\n"
		"# password: in a comment\n"
		"no-newline-at-end: 1";
	static const char want[] =
		"version: 1\n"
		"cluster:\n"
		"  redis: { address: 127.0.0.1:6379, password: <redacted>, timeout: 50ms }\n"
		"  api_token: <redacted>\n"
		"  Client_Secret: <redacted>\n"
		"tls: { certificates: [ { cert: /a.crt, key: /a.key } ] }\n"
		"# password: <redacted>\n"
		"no-newline-at-end: 1";
	char *out = dump(in);

	assert_string_equal(out, want);
	free(out);
	out = dump(NULL);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
