// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* agent/core/ratelimit.c: rates as config writes them, and GCRA parameters. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/ratelimit.h"

#define SEC_NS 1000000000ull

static void test_rate_parse(void **state)
{
	struct gw_rate r;

	assert_int_equal(gw_rate_parse("20000/s", &r), 0);
	assert_int_equal(r.count, 20000);
	assert_int_equal(r.period_ns, SEC_NS);
	assert_int_equal(gw_rate_parse("100/m", &r), 0);
	assert_int_equal(r.period_ns, 60 * SEC_NS);
	assert_int_equal(gw_rate_parse("5/h", &r), 0);
	assert_int_equal(r.count, 5);
	assert_int_equal(r.period_ns, 3600 * SEC_NS);
	/* zero: unlimited */
	assert_int_equal(gw_rate_parse("0/s", &r), 0);
	assert_int_equal(r.count, 0);
	/* one per nanosecond is the limit */
	assert_int_equal(gw_rate_parse("1000000000/s", &r), 0);
}

static void test_rate_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", "/s", "10", "10/", "10/x", "10/sec", "10/S", " 10/s", "10/s ", "10 /s",
		"-1/s", "+1/s", "1.5/s", "010/s", "1e3/s", "10//s", "10/s/s", "0x10/s",
		"12a4567890123456789012345/s",
	};
	struct gw_rate r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("# '%s'\n", bad[i]);
		assert_int_equal(gw_rate_parse(bad[i], &r), -EINVAL);
		assert_int_equal(r.count, 0);	/* cleared on error */
	}
	assert_int_equal(gw_rate_parse(NULL, &r), -EINVAL);
	/* faster than one event per nanosecond, or absurd counts */
	assert_int_equal(gw_rate_parse("1000000001/s", &r), -ERANGE);
	assert_int_equal(gw_rate_parse("99999999999999999999999/h", &r), -ERANGE);
}

static void test_gcra_from_rate(void **state)
{
	struct gw_rate r = { .count = 20000, .period_ns = SEC_NS };
	struct gw_gcra g;

	assert_int_equal(gw_gcra_from_rate(&r, 40000, &g), 0);
	assert_int_equal(g.interval_ns, 50000);
	assert_int_equal(g.tolerance_ns, 39999ull * 50000);
	/* burst 1: no tolerance, one packet per interval */
	assert_int_equal(gw_gcra_from_rate(&r, 1, &g), 0);
	assert_int_equal(g.tolerance_ns, 0);
	/* intervals round up: never faster than configured */
	r = (struct gw_rate){ .count = 3, .period_ns = SEC_NS };
	assert_int_equal(gw_gcra_from_rate(&r, 1, &g), 0);
	assert_int_equal(g.interval_ns, 333333334);
	r = (struct gw_rate){ .count = 30000000, .period_ns = SEC_NS };
	assert_int_equal(gw_gcra_from_rate(&r, 1, &g), 0);
	assert_int_equal(g.interval_ns, 34);
	/* zero rate: the bucket is off */
	r = (struct gw_rate){ .count = 0, .period_ns = SEC_NS };
	assert_int_equal(gw_gcra_from_rate(&r, 10, &g), 0);
	assert_int_equal(g.interval_ns, 0);
	assert_int_equal(g.tolerance_ns, 0);
	/* errors */
	r = (struct gw_rate){ .count = 10, .period_ns = SEC_NS };
	assert_int_equal(gw_gcra_from_rate(&r, 0, &g), -EINVAL);
	r = (struct gw_rate){ .count = 10, .period_ns = 0 };
	assert_int_equal(gw_gcra_from_rate(&r, 1, &g), -EINVAL);
	r = (struct gw_rate){ .count = 10, .period_ns = 5 };
	assert_int_equal(gw_gcra_from_rate(&r, 1, &g), -EINVAL);
	/* a tolerance that would overflow TAT arithmetic */
	r = (struct gw_rate){ .count = 1, .period_ns = 3600 * SEC_NS };
	assert_int_equal(gw_gcra_from_rate(&r, 10000000, &g), -EINVAL);
}

static void test_gcra_round_trip(void **state)
{
	static const struct {
		const char *rate;
		__u64 burst;
		double per_sec;
	} cases[] = {
		{ "20000/s", 40000, 20000.0 }, { "200/s", 400, 200.0 }, { "3/s", 7, 3.0 },
		{ "100/m", 1, 1.667 },	       { "5/h", 2, 0.001 },
	};
	struct gw_rate r;
	struct gw_gcra g;
	double per_sec;
	__u64 burst;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s burst %llu\n", cases[i].rate,
			      (unsigned long long)cases[i].burst);
		assert_int_equal(gw_rate_parse(cases[i].rate, &r), 0);
		assert_int_equal(gw_gcra_from_rate(&r, cases[i].burst, &g), 0);
		gw_gcra_to_rate(&g, &per_sec, &burst);
		assert_int_equal(burst, cases[i].burst);
		assert_float_equal(per_sec, cases[i].per_sec, 0.0005);
	}
	g = (struct gw_gcra){ 0, 0 };
	gw_gcra_to_rate(&g, &per_sec, &burst);
	assert_float_equal(per_sec, 0.0, 0.0);
	assert_int_equal(burst, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_parse),
		cmocka_unit_test(test_rate_parse_invalid),
		cmocka_unit_test(test_gcra_from_rate),
		cmocka_unit_test(test_gcra_round_trip),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
