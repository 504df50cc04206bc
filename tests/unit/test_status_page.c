// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* agent/daemon/status_page.c: the page from the admin verbs' answers,
 * every value from config or traffic HTML-escaped, a failed verb named. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/metrics.h"
#include "daemon/status_page.h"

#define EVIL "<script>alert('x\")</script>&"
#define EVIL_JSON "<script>alert('x\\\")</script>&"	/* EVIL in a JSON string */
#define EVIL_ESC "&lt;script&gt;alert(&#39;x&quot;)&lt;/script&gt;&amp;"

/* The verbs' answers, values from config and traffic made hostile. */
static const char status_json[] =
	"{\"generation\": 7, \"config_file\": \"/etc/gw/" EVIL_JSON "\", "
	"\"filter_default\": \"allow\", \"interfaces\": [{\"name\": \"e<0>\", "
	"\"hook\": \"xdp-native\", \"xdp_dispatcher\": false, \"ipv4\": null, "
	"\"ipv6\": null}]}";
static const char stats_json[] =
	"{\"reasons\": [{\"reason\": \"none\", \"action\": \"pass\", \"packets\": 0, "
	"\"bytes\": 0}, {\"reason\": \"filter\", \"action\": \"drop\", \"packets\": 12, "
	"\"bytes\": 960}], \"totals\": {\"pass\": 0, \"forward\": 0, \"drop\": 12}, "
	"\"services\": [], \"routes\": []}";
static const char services_json[] =
	"[{\"name\": \"s" EVIL_JSON "\", \"vip\": \"198.18.100.1:80\", \"protocol\": \"tcp\", "
	"\"packets\": 5, \"bytes\": 300, \"fail_open\": false, \"backends\": [{"
	"\"address\": \"198.18.11.2:80\", \"weight\": 3, \"state\": \"active\", "
	"\"health\": \"down\", \"health_reason\": \"" EVIL_JSON "\", \"packets\": 5, "
	"\"bytes\": 300}]}]";
static const char filter_json[] =
	"{\"default\": \"allow\", \"entries\": [{\"prefix\": \"198.18.9.0/24\", "
	"\"action\": \"deny\", \"kind\": \"ban\", \"origin\": \"auth\", "
	"\"expires_in_s\": 30}, {\"prefix\": \"198.18.8.0/24\", \"action\": \"deny\", "
	"\"kind\": \"list\", \"origin\": \"config\", \"expires_in_s\": null}]}";
static const char routes_json[] =
	"[{\"index\": 0, \"route\": \"*/" EVIL_JSON "/*\", \"upstream\": \"u" EVIL_JSON "\"}, "
	"{\"index\": 1, \"route\": \"ok\", \"respond\": 204}]";

/* Answers with text. Returns 0. */
static int answer(const char *text, json_t **out)
{
	*out = json_loads(text, 0, NULL);
	assert_non_null(*out);
	return 0;
}

static int v_status(struct gw_cmd_call *c, json_t **out)
{
	return answer(status_json, out);
}

static int v_stats(struct gw_cmd_call *c, json_t **out)
{
	return answer(stats_json, out);
}

static int v_services(struct gw_cmd_call *c, json_t **out)
{
	return answer(services_json, out);
}

static int v_filter(struct gw_cmd_call *c, json_t **out)
{
	return answer(filter_json, out);
}

static int v_routes(struct gw_cmd_call *c, json_t **out)
{
	return answer(routes_json, out);
}

static const char splices_json[] =
	"{\"status\": \"ready\", \"live\": 1, \"splices\": [{\"client\": \"c" EVIL_JSON "\", "
	"\"listener\": \"198.18.1.1:80\", \"upstream\": \"198.18.2.1:8080\", "
	"\"bytes_up\": 123, \"bytes_down\": 4567}]}";

static int v_splices(struct gw_cmd_call *c, json_t **out)
{
	return answer(splices_json, out);
}

static int v_fails(struct gw_cmd_call *c, json_t **out)
{
	return gw_cmd_fail(c, -EOPNOTSUPP, "no L7 " EVIL);
}

static const struct gw_cmd verbs[] = {
	{ "status", v_status },	       { "stats", v_stats },	     { "service.list", v_services },
	{ "filter.list", v_filter },   { "route.list", v_routes },   { "upstream.list", v_fails },
	{ "splice.list", v_splices },
};

/* The page of the fake verbs. Returns it (malloc'd). */
static char *page(void)
{
	struct gw_cfg_listener ls = { .name = (char *)"l" EVIL };
	struct gw_cfg cfg = { .listeners = &ls, .n_listeners = 1 };
	struct gw_agent_counters agent = { .reloads_ok = 2, .reloads_failed = 1 };
	struct gw_reload_result rr = { .at = 1, .err = -EINVAL, .generation = 7,
				       .msg = "bad " EVIL };
	struct gw_cmd_table t = { verbs, sizeof(verbs) / sizeof(verbs[0]), NULL };
	struct gw_status_src src = { .t = &t, .n_t = 1, .cfg = &cfg, .agent = &agent,
				     .reload = &rr };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	ls.address.ip.family = GW_FAMILY_V4;
	ls.address.port = 80;
	assert_int_equal(gw_status_render(f, &src), 0);
	fclose(f);
	return out;
}

static void test_escape(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	gw_html_esc(f, EVIL);
	gw_html_esc(f, NULL);
	fclose(f);
	assert_string_equal(out, EVIL_ESC);
	free(out);
}

static void test_page(void **state)
{
	char *out = page();

	(void)state;
	/* nothing of the values is markup */
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "<0>"));
	assert_null(strstr(out, "'x"));
	assert_non_null(strstr(out, "/etc/gw/" EVIL_ESC));
	assert_non_null(strstr(out, "<tr data-route=\"*/" EVIL_ESC "/*\">"));
	assert_non_null(strstr(out, "upstream u" EVIL_ESC));
	assert_non_null(strstr(out, "<tr data-service=\"s" EVIL_ESC "\">"));
	assert_non_null(strstr(out, "down (" EVIL_ESC ")"));
	assert_non_null(strstr(out, "<td>l" EVIL_ESC "</td><td>0.0.0.0:80</td>"));
	assert_non_null(strstr(out, "<tr data-route=\"ok\"><td>ok</td><td>respond 204</td>"));
	assert_non_null(strstr(out, "bad " EVIL_ESC));
	assert_non_null(strstr(out, "not available: no L7 " EVIL_ESC));
	/* numbers, and what is left out */
	assert_non_null(strstr(out, "data-k=\"generation\">7<"));
	assert_non_null(strstr(out, "<tr data-reason=\"filter\"><td>filter</td><td>drop</td>"
				    "<td class=\"n\" data-k=\"packets\">12</td>"));
	assert_null(strstr(out, "data-reason=\"none\""));
	assert_non_null(strstr(out, "<tr data-ban=\"198.18.9.0/24\">"));
	assert_non_null(strstr(out, "<td>c" EVIL_ESC "</td><td>198.18.1.1:80</td>"
				    "<td>198.18.2.1:8080</td><td class=\"n\">123</td>"
				    "<td class=\"n\">4567</td>"));
	assert_non_null(strstr(out, "<span data-k=\"spliced\">1</span> live"));
	assert_null(strstr(out, "198.18.8.0/24"));
	assert_non_null(strstr(out, "<span data-k=\"bans\">1</span>"));
	assert_non_null(strstr(out, "2 applied, 1 failed"));
	assert_non_null(strstr(out, "failed at 1970-01-01 00:00:01 UTC"));
	assert_non_null(strstr(out, "<meta http-equiv=\"refresh\""));
	assert_non_null(strstr(out, "</html>\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
