// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* JSON access-log lines, per-worker buffers, reopen by dup2. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l7/accesslog.h"
#include "core/log.h"

struct gw_accesslog {
	char *path;
	int fd;
	__u64 dropped;		/* atomic */
};

static int open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	return fd < 0 ? -errno : fd;
}

int gw_accesslog_open(const char *path, struct gw_accesslog **out)
{
	struct gw_accesslog *log = calloc(1, sizeof(*log));
	int fd;

	if (!log)
		return -ENOMEM;
	log->path = strdup(path);
	fd = log->path ? open_append(path) : -ENOMEM;
	if (fd < 0) {
		free(log->path);
		free(log);
		return fd;
	}
	log->fd = fd;
	*out = log;
	return 0;
}

int gw_accesslog_reopen(struct gw_accesslog *log)
{
	int fd = open_append(log->path), err = 0;

	if (fd < 0)
		return fd;
	if (dup2(fd, log->fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

void gw_accesslog_close(struct gw_accesslog *log)
{
	if (!log)
		return;
	close(log->fd);
	free(log->path);
	free(log);
}

__u64 gw_accesslog_dropped(const struct gw_accesslog *log)
{
	return __atomic_load_n(&log->dropped, __ATOMIC_RELAXED);
}

/* A bounded writer: pos runs on past end, so overflow is checked once. */
struct w {
	char *p;
	size_t pos, end;
};

static void put(struct w *w, const char *s, size_t n)
{
	if (w->pos + n <= w->end)
		memcpy(w->p + w->pos, s, n);
	w->pos += n;
}

static void puts_(struct w *w, const char *s)
{
	put(w, s, strlen(s));
}

/* A JSON string, or null. Control characters, '"', '\\' and every byte
 * above 0x7e are escaped (\u00XX), so the line is valid JSON and ASCII
 * whatever the bytes. */
static void put_str(struct w *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	if (!s) {
		puts_(w, "null");
		return;
	}
	put(w, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			e[1] = (char)c;
			put(w, e, 2);
		} else {
			put(w, e, 6);
		}
	}
	put(w, s + run, n - run);
	put(w, "\"", 1);
}

static void put_cstr(struct w *w, const char *s)
{
	put_str(w, s, s ? strlen(s) : 0);
}

static void put_fmt(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct w *w, const char *fmt, ...)
{
	char tmp[192];	/* the status, byte counts and duration line: up to ~110 */
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

int gw_accesslog_format(const struct gw_access_rec *r, char *buf, size_t len)
{
	struct w w = { buf, 0, len };
	time_t secs = (time_t)(r->time_ns / 1000000000ull);
	char ts[32], ip[GW_ADDR_STRLEN];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	put_fmt(&w, "{\"time\":\"%s.%03lluZ\",\"client\":", ts,
		(unsigned long long)(r->time_ns / 1000000ull % 1000));
	put_cstr(&w, r->client ? gw_ip_str(r->client, ip, sizeof(ip)) : NULL);
	puts_(&w, ",\"method\":");
	put_str(&w, r->method, r->method_len);
	puts_(&w, ",\"path\":");
	put_str(&w, r->path, r->path_len);
	puts_(&w, ",\"route\":");
	put_cstr(&w, r->route);
	puts_(&w, ",\"upstream\":");
	put_cstr(&w, r->upstream);
	put_fmt(&w, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f",
		r->status, (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
		(double)r->duration_ns / 1e6);
	puts_(&w, ",\"consumer\":");
	put_cstr(&w, r->consumer);
	puts_(&w, ",\"tls\":");
	put_cstr(&w, r->tls);
	puts_(&w, ",\"protocol\":");
	put_cstr(&w, r->protocol);
	puts_(&w, ",\"request_id\":");
	put_cstr(&w, r->request_id);
	puts_(&w, ",\"reason\":");
	put_cstr(&w, r->reason);
	if (r->spliced)
		puts_(&w, ",\"spliced\":true");
	if (r->ktls) {
		puts_(&w, ",\"ktls\":");
		put_cstr(&w, r->ktls);
	}
	puts_(&w, "}\n");
	return w.pos <= len ? (int)w.pos : -ENOSPC;
}

int gw_accesslog_flush(struct gw_accesslog *log, struct gw_accesslog_buf *b)
{
	size_t off = 0;
	ssize_t n;
	int err = 0;

	/* One write normally; a short write (disk full) finishes the lines
	 * it started rather than leave half a line for the next flush. */
	while (off < b->len) {
		n = write(log->fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (err) {
		size_t i, lines = 0;

		for (i = off; i < b->len; i++)
			lines += b->data[i] == '\n';
		__atomic_add_fetch(&log->dropped, lines, __ATOMIC_RELAXED);
	}
	b->len = 0;
	return err;
}

int gw_accesslog_append(struct gw_accesslog *log, struct gw_accesslog_buf *b,
			const struct gw_access_rec *r)
{
	int n = gw_accesslog_format(r, b->data + b->len, sizeof(b->data) - b->len);

	if (n < 0 && b->len) {
		gw_accesslog_flush(log, b);
		n = gw_accesslog_format(r, b->data, sizeof(b->data));
	}
	if (n < 0) {
		__atomic_add_fetch(&log->dropped, 1, __ATOMIC_RELAXED);
		return n;
	}
	b->len += (size_t)n;
	return 0;
}
