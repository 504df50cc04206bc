// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw's one logging module (log.h): one line a message on stderr, in the
 * form the reader wants: journald's "<N>" priority prefix when stderr is
 * its stream, a timestamped line otherwise, JSON when asked, the bare
 * message for the command-line tools.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>

#include "core/log.h"

#define LOG_LINE_MAX 1024

static enum gw_log_level log_level = GW_LOG_INFO;
static enum gw_log_format log_format = GW_LOG_FMT_AUTO;

void gw_log_set_level(enum gw_log_level level)
{
	log_level = level;
}

enum gw_log_level gw_log_get_level(void)
{
	return log_level;
}

/* 1 when stderr is journald's stream: systemd sets JOURNAL_STREAM to its
 * "device:inode" (systemd.exec(5)). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void gw_log_set_format(enum gw_log_format format)
{
	if (format == GW_LOG_FMT_AUTO)
		format = stderr_is_journal() ? GW_LOG_FMT_JOURNAL : GW_LOG_FMT_TEXT;
	log_format = format;
}

int gw_log_format_parse(const char *s, enum gw_log_format *out)
{
	if (!strcmp(s, "auto"))
		*out = GW_LOG_FMT_AUTO;
	else if (!strcmp(s, "text"))
		*out = GW_LOG_FMT_TEXT;
	else if (!strcmp(s, "json"))
		*out = GW_LOG_FMT_JSON;
	else if (!strcmp(s, "journal"))
		*out = GW_LOG_FMT_JOURNAL;
	else
		return -1;
	return 0;
}

static const char *level_name(enum gw_log_level level)
{
	return level <= GW_LOG_ERR ? "error" : level == GW_LOG_WARN ? "warn" :
	       level == GW_LOG_INFO ? "info" : "debug";
}

/* Writes now as "2026-12-07T18:59:01.123Z" into buf (32 bytes). */
static void timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Appends msg to out as the inside of a JSON string. Returns the new
 * length (bounded by size - 1). */
static size_t json_escape(char *out, size_t n, size_t size, const char *msg)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p && n + 7 < size; p++) {
		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
			out[n++] = (char)*p;
		} else if (*p == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (*p < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\u00%c%c", hex[*p >> 4],
					      hex[*p & 15]);
		} else {
			out[n++] = (char)*p;
		}
	}
	return n;
}

static void vlog(enum gw_log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[2 * LOG_LINE_MAX], ts[40];
	size_t len, n = 0;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	switch (log_format) {
	case GW_LOG_FMT_JOURNAL:
		n = (size_t)snprintf(line, sizeof(line), "<%d>%s\n", (int)level, msg);
		break;
	case GW_LOG_FMT_JSON:
		timestamp(ts, sizeof(ts));
		n = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\","
				     "\"msg\":\"", ts, level_name(level));
		n = json_escape(line, n, sizeof(line) - 3, msg);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
		break;
	case GW_LOG_FMT_PLAIN:
		n = (size_t)snprintf(line, sizeof(line), "%s\n", msg);
		break;
	default:
		timestamp(ts, sizeof(ts));
		n = (size_t)snprintf(line, sizeof(line), "%s %s: %s\n", ts, level_name(level),
				     msg);
		break;
	}
	/* One write per message so concurrent writers do not interleave. */
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void gw_log(enum gw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum gw_log_level l = level == LIBBPF_WARN ? GW_LOG_WARN :
			      level == LIBBPF_INFO ? GW_LOG_INFO : GW_LOG_DEBUG;

	/* libbpf's info messages are chatty: show them at debug level only. */
	if (l == GW_LOG_INFO)
		l = GW_LOG_DEBUG;
	vlog(l, fmt, ap);
	return 0;
}

void gw_log_hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
