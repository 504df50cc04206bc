// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* agent/core/addr.c: strict parsing of addresses, prefixes and endpoints. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "gw/abi.h"
#include "core/addr.h"

static void test_ip_valid(void **state)
{
	struct gw_ip ip;
	char buf[GW_ADDR_STRLEN];

	assert_int_equal(gw_ip_parse("198.18.0.1", &ip), 0);
	assert_int_equal(ip.family, GW_FAMILY_V4);
	assert_int_equal(ip.addr[0], htonl(0xc6120001));
	/* v4 lives in addr[0], the rest is zero */
	assert_int_equal(ip.addr[1] | ip.addr[2] | ip.addr[3], 0);
	assert_string_equal(gw_ip_str(&ip, buf, sizeof(buf)), "198.18.0.1");

	assert_int_equal(gw_ip_parse("fd00::1", &ip), 0);
	assert_int_equal(ip.family, GW_FAMILY_V6);
	assert_int_equal(ip.addr[0], htonl(0xfd000000));
	assert_int_equal(ip.addr[3], htonl(1));
	assert_string_equal(gw_ip_str(&ip, buf, sizeof(buf)), "fd00::1");

	/* text form is canonical */
	assert_int_equal(gw_ip_parse("FD00:0:0:0:0:0:0:1", &ip), 0);
	assert_string_equal(gw_ip_str(&ip, buf, sizeof(buf)), "fd00::1");
	assert_int_equal(gw_ip_parse("::", &ip), 0);
	assert_int_equal(gw_ip_parse("::ffff:198.18.0.1", &ip), 0);
	assert_int_equal(ip.family, GW_FAMILY_V6);
}

static void test_ip_invalid(void **state)
{
	static const char *const bad[] = {
		"", " 198.18.0.1", "198.18.0.1 ", "198.18.0", "198.18.0.1.2", "198.18.0.256",
		"198.018.0.1", "0x7f.0.0.1", "1", "fd00::1%eth0", "fd00:::1", "fd00::g",
		"[fd00::1]", "198.18.0.1/32", "localhost", "1:2:3:4:5:6:7:8:9",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	struct gw_ip ip;
	char msg[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		print_message("# '%s'\n", bad[i]);
		assert_int_equal(gw_ip_parse_msg(bad[i], &ip, msg, sizeof(msg)), -EINVAL);
		/* a reason is given and the output is cleared */
		assert_true(strlen(msg) > 0);
		assert_int_equal(ip.family, 0);
	}
	assert_int_equal(gw_ip_parse(NULL, &ip), -EINVAL);
	assert_int_equal(gw_ip_parse_msg("fd00::1%eth0", &ip, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "zone"));
}

static void test_cidr(void **state)
{
	struct gw_cidr c;
	char buf[GW_ADDR_STRLEN], msg[160];

	assert_int_equal(gw_cidr_parse("198.18.0.0/15", &c), 0);
	assert_int_equal(c.prefixlen, 15);
	assert_string_equal(gw_cidr_str(&c, buf, sizeof(buf)), "198.18.0.0/15");
	assert_int_equal(gw_cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(c.prefixlen, 0);
	assert_int_equal(gw_cidr_parse("::/0", &c), 0);
	assert_int_equal(gw_cidr_parse("fd00:bad::/48", &c), 0);
	assert_int_equal(c.prefixlen, 48);
	assert_string_equal(gw_cidr_str(&c, buf, sizeof(buf)), "fd00:bad::/48");
	assert_int_equal(gw_cidr_parse("fd00::1/128", &c), 0);
	/* a bare address is a host prefix */
	assert_int_equal(gw_cidr_parse("198.18.0.7", &c), 0);
	assert_int_equal(c.prefixlen, 32);
	assert_int_equal(gw_cidr_parse("fd00::7", &c), 0);
	assert_int_equal(c.prefixlen, 128);

	/* host bits are an error, and the message names the network */
	assert_int_equal(gw_cidr_parse_msg("198.18.1.1/16", &c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "198.18.0.0/16"));
	assert_int_equal(c.prefixlen, 0);
	assert_int_equal(gw_cidr_parse_msg("fd00:bad:1::/32", &c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "fd00:bad::/32"));
	assert_int_equal(gw_cidr_parse("fd00::1/127", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.1/0", &c), -EINVAL);

	/* prefix lengths: plain decimal within the family's range */
	assert_int_equal(gw_cidr_parse("198.18.0.0/33", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("fd00::/129", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.0/", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.0/016", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.0/+16", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.0/16 ", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.0/1/6", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("/16", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse("198.18.0.0/99999999999", &c), -EINVAL);
	assert_int_equal(gw_cidr_parse(NULL, &c), -EINVAL);
}

static void test_endpoint(void **state)
{
	struct gw_endpoint e;
	char buf[GW_ADDR_STRLEN], msg[128];

	assert_int_equal(gw_endpoint_parse("198.18.0.1:80", &e), 0);
	assert_int_equal(e.port, 80);
	assert_int_equal(e.ip.family, GW_FAMILY_V4);
	assert_string_equal(gw_endpoint_str(&e, buf, sizeof(buf)), "198.18.0.1:80");
	assert_int_equal(gw_endpoint_parse("[fd00::1]:65535", &e), 0);
	assert_int_equal(e.port, 65535);
	assert_int_equal(e.ip.family, GW_FAMILY_V6);
	assert_string_equal(gw_endpoint_str(&e, buf, sizeof(buf)), "[fd00::1]:65535");
	assert_int_equal(gw_endpoint_parse("[::]:1", &e), 0);

	assert_int_equal(gw_endpoint_parse_msg("fd00::1:80", &e, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "[ADDRESS]:PORT"));
	assert_int_equal(gw_endpoint_parse("198.18.0.1:0", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("198.18.0.1:65536", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("198.18.0.1:080", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("198.18.0.1:", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("198.18.0.1", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("198.18.0.1:http", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse(":80", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("[198.18.0.1]:80", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("[fd00::1]80", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("[fd00::1", &e), -EINVAL);
	assert_int_equal(gw_endpoint_parse("[fd00::1]:-1", &e), -EINVAL);
	assert_int_equal(e.port, 0);	/* cleared on error */
	assert_int_equal(gw_endpoint_parse(NULL, &e), -EINVAL);
}

static void test_equal_and_small_buffers(void **state)
{
	struct gw_ip a, b;
	struct gw_cidr c;
	char tiny[6];

	gw_ip_parse("198.18.0.1", &a);
	gw_ip_parse("198.18.0.1", &b);
	assert_true(gw_ip_equal(&a, &b));
	gw_ip_parse("198.18.0.2", &b);
	assert_false(gw_ip_equal(&a, &b));
	gw_ip_parse("::ffff:198.18.0.1", &b);
	assert_false(gw_ip_equal(&a, &b));	/* other family */
	gw_ip_parse("fd00::1", &a);
	gw_ip_parse("fd00:0::1", &b);
	assert_true(gw_ip_equal(&a, &b));

	/* text forms truncate, never overflow */
	gw_cidr_parse("fd00:bad::/48", &c);
	assert_string_equal(gw_cidr_str(&c, tiny, sizeof(tiny)), "fd00:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_valid),
		cmocka_unit_test(test_ip_invalid),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_equal_and_small_buffers),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
