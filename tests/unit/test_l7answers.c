// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The per-worker counts of gwd's own answers by (reason, status) (snap.h):
 * a pair takes a slot at its first answer, each worker counts in its own
 * table, sums cover every worker whatever the slot order, pairs beyond
 * the table count as other; reason names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "l7/snap.h"

#define KEY(r, s) ((__u32)(r) << 16 | (s))

static void test_counts(void **state)
{
	static struct gw_l7_rstats_w w[2];
	int i;

	memset(w, 0, sizeof(w));
	gw_l7_count_answer(&w[0], GW_L7_R_UPSTREAM_TIMEOUT, 504);
	gw_l7_count_answer(&w[0], GW_L7_R_NO_SERVER, 503);
	gw_l7_count_answer(&w[0], GW_L7_R_UPSTREAM_TIMEOUT, 504);
	/* the other worker meets the pairs in another order */
	gw_l7_count_answer(&w[1], GW_L7_R_NO_SERVER, 503);
	gw_l7_count_answer(&w[1], GW_L7_R_NO_SERVER, 502);
	gw_l7_count_answer(&w[1], GW_L7_R_UPSTREAM_TIMEOUT, 504);
	assert_int_equal(gw_l7_answers(w, 2, KEY(GW_L7_R_UPSTREAM_TIMEOUT, 504)), 3);
	assert_int_equal(gw_l7_answers(w, 2, KEY(GW_L7_R_NO_SERVER, 503)), 2);
	assert_int_equal(gw_l7_answers(w, 2, KEY(GW_L7_R_NO_SERVER, 502)), 1);
	assert_int_equal(gw_l7_answers(w, 1, KEY(GW_L7_R_NO_SERVER, 502)), 0);
	assert_int_equal(gw_l7_answers(w, 2, KEY(GW_L7_R_AUTH, 401)), 0);
	/* a full table: the rest is other */
	for (i = 0; i < GW_L7_ANSWER_SLOTS + 5; i++)
		gw_l7_count_answer(&w[0], GW_L7_R_RESPOND, 200 + i);
	assert_int_equal(w[0].answers_other, 2 + 5);
	assert_int_equal(gw_l7_answers(w, 1, KEY(GW_L7_R_RESPOND, 200)), 1);
}

static void test_names(void **state)
{
	unsigned int r;

	assert_null(gw_l7_reason_name(GW_L7_R_NONE));
	assert_null(gw_l7_reason_name(GW_L7_REASONS));
	assert_string_equal(gw_l7_reason_name(GW_L7_R_UPSTREAM_TIMEOUT), "upstream_timeout");
	assert_string_equal(gw_l7_reason_name(GW_L7_R_NO_SERVER), "no_server");
	for (r = GW_L7_R_NONE + 1; r < GW_L7_REASONS; r++)
		assert_non_null(gw_l7_reason_name(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
