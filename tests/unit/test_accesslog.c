// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Access log: valid JSON whatever the request held, every field, whole
 * lines from concurrent workers, reopen after rotation. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <jansson.h>
#include <cmocka.h>

#include "l7/accesslog.h"

static struct gw_access_rec rec(const char *path, struct gw_ip *client)
{
	struct gw_access_rec r = {
		.time_ns = 1700000000123456789ull,
		.duration_ns = 1500000,
		.client = client,
		.method = "GET",
		.method_len = 3,
		.path = path,
		.path_len = strlen(path),
		.route = "users",
		.upstream = "198.18.11.2:8080",
		.status = 200,
		.bytes_in = 5,
		.bytes_out = 1234,
		.consumer = "alice",
		.tls = "TLSv1.3",
		.protocol = "HTTP/2",
		.request_id = "abc-123",
	};
	return r;
}

static json_t *parse_line(const char *line, size_t n)
{
	json_error_t e;
	json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("not JSON (%s): %.*s", e.text, (int)n, line);
	return j;
}

/* Every field, with its type and value. */
static void test_fields(void **state)
{
	struct gw_ip ip;
	struct gw_access_rec r;
	char buf[1024];
	json_t *j;
	int n;

	assert_int_equal(gw_ip_parse("198.18.1.2", &ip), 0);
	r = rec("/users/42", &ip);
	n = gw_accesslog_format(&r, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', (size_t)n - 1));
	j = parse_line(buf, (size_t)n);
	assert_string_equal(json_string_value(json_object_get(j, "time")), "2023-11-14T22:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(j, "client")), "198.18.1.2");
	assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/users/42");
	assert_string_equal(json_string_value(json_object_get(j, "route")), "users");
	assert_string_equal(json_string_value(json_object_get(j, "upstream")), "198.18.11.2:8080");
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_in")), 5);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_out")), 1234);
	assert_true(json_real_value(json_object_get(j, "duration_ms")) == 1.5);
	assert_string_equal(json_string_value(json_object_get(j, "consumer")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "tls")), "TLSv1.3");
	assert_string_equal(json_string_value(json_object_get(j, "protocol")), "HTTP/2");
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "abc-123");
	assert_true(json_is_null(json_object_get(j, "reason")));	/* the upstream's answer */
	assert_null(json_object_get(j, "ktls"));	/* only on a kTLS connection */
	json_decref(j);

	/* kTLS: the directions the kernel took */
	r.ktls = "tx+rx";
	n = gw_accesslog_format(&r, buf, sizeof(buf));
	j = parse_line(buf, (size_t)n);
	assert_string_equal(json_string_value(json_object_get(j, "ktls")), "tx+rx");
	json_decref(j);
	r.ktls = NULL;

	/* an answer of gwd's own says why */
	r.status = 504;
	r.reason = "upstream_timeout";
	n = gw_accesslog_format(&r, buf, sizeof(buf));
	j = parse_line(buf, (size_t)n);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "upstream_timeout");
	json_decref(j);

	/* absent values are null */
	r.route = r.upstream = r.consumer = r.tls = r.request_id = NULL;
	r.client = NULL;
	n = gw_accesslog_format(&r, buf, sizeof(buf));
	j = parse_line(buf, (size_t)n);
	assert_true(json_is_null(json_object_get(j, "route")));
	assert_true(json_is_null(json_object_get(j, "client")));
	assert_true(json_is_null(json_object_get(j, "tls")));
	json_decref(j);
	/* too small a buffer is an error, never a cut line */
	assert_int_equal(gw_accesslog_format(&r, buf, 40), -ENOSPC);
}

/* Quotes, backslashes, control and high bytes: still one valid JSON line,
 * and the string round-trips where it is valid text. */
static void test_escaping(void **state)
{
	static const char evil[] = "/a\"b\\c\x01\n\r\t\x7f\xff/\xc3\xa9";
	struct gw_access_rec r = rec("", NULL);
	char buf[1024];
	json_t *j;
	int n;

	r.path = evil;
	r.path_len = sizeof(evil) - 1;
	r.consumer = "\"}, \"status\": 999, \"x\": \"";
	n = gw_accesslog_format(&r, buf, sizeof(buf));
	assert_true(n > 0);
	assert_null(memchr(buf, '\n', (size_t)n - 1));
	j = parse_line(buf, (size_t)n);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
	assert_string_equal(json_string_value(json_object_get(j, "consumer")), r.consumer);
	assert_memory_equal(json_string_value(json_object_get(j, "path")), "/a\"b\\c\x01\n\r\t", 10);
	json_decref(j);
}

struct th {
	struct gw_accesslog *log;
	int id;
};

static void *writer(void *arg)
{
	struct th *t = arg;
	struct gw_accesslog_buf *b = calloc(1, sizeof(*b));
	char path[64];
	int i;

	for (i = 0; i < 3000; i++) {
		struct gw_access_rec r;

		snprintf(path, sizeof(path), "/t%d/%d", t->id, i);
		r = rec(path, NULL);
		assert_int_equal(gw_accesslog_append(t->log, b, &r), 0);
	}
	gw_accesslog_flush(t->log, b);
	free(b);
	return NULL;
}

static int count_lines(const char *file, int check)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lines = 0;
	FILE *f = fopen(file, "r");

	assert_non_null(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (check)
			json_decref(parse_line(line, (size_t)n));
		lines++;
	}
	free(line);
	fclose(f);
	return lines;
}

/* Four workers' buffers flushed concurrently: every line whole. Then a
 * rotation: after reopen, new lines go to the new file. */
static void test_workers_and_reopen(void **state)
{
	char dir[] = "/tmp/gw-alog-XXXXXX", file[128], rotated[160];
	struct gw_accesslog_buf *b = calloc(1, sizeof(*b));
	struct gw_accesslog *log = NULL;
	struct gw_access_rec r = rec("/after", NULL);
	pthread_t id[4];
	struct th t[4];
	int i;

	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/access.log", dir);
	snprintf(rotated, sizeof(rotated), "%s.1", file);
	assert_int_equal(gw_accesslog_open(file, &log), 0);
	for (i = 0; i < 4; i++) {
		t[i] = (struct th){ log, i };
		pthread_create(&id[i], NULL, writer, &t[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(id[i], NULL);
	assert_int_equal(count_lines(file, 1), 4 * 3000);
	assert_int_equal(gw_accesslog_dropped(log), 0);

	assert_int_equal(rename(file, rotated), 0);
	assert_int_equal(gw_accesslog_append(log, b, &r), 0);
	assert_int_equal(gw_accesslog_flush(log, b), 0);	/* still the old file */
	assert_int_equal(gw_accesslog_reopen(log), 0);
	assert_int_equal(gw_accesslog_append(log, b, &r), 0);
	assert_int_equal(gw_accesslog_append(log, b, &r), 0);
	assert_int_equal(gw_accesslog_flush(log, b), 0);
	assert_int_equal(count_lines(rotated, 0), 4 * 3000 + 1);
	assert_int_equal(count_lines(file, 1), 2);
	gw_accesslog_close(log);
	free(b);
	unlink(file);
	unlink(rotated);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_workers_and_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
