// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath loads, and the two hooks agree on a frame gw does not own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

static struct gw_bpf *skel;

static int setup(void **state)
{
	skel = gwt_open();
	return skel ? 0 : -1;
}

static int teardown(void **state)
{
	return gwt_close(&skel);
}

static void test_arp_passes_on_both_hooks(void **state)
{
	struct pkt_opts o = { .eth_proto = 0x0806 };
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len = pkt_build(buf, sizeof(buf), &o);
	int hook;

	assert_true(len > 0);
	for (hook = 0; hook < 2; hook++) {
		gwt_reset_counts(skel);
		assert_int_equal(gwt_run(skel, hook, 0, buf, len, &r), 0);
		assert_int_equal(r.action, GW_ACT_PASS);
		assert_int_equal(gwt_reason_count(skel, GW_R_PASS_NON_IP), 1);
		assert_memory_equal(r.out, buf, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_passes_on_both_hooks),
	};

	return cmocka_run_group_tests_name("bpf_smoke", tests, setup, teardown);
}
