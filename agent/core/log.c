// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "core/log.h"

static enum gw_log_level log_level = GW_LOG_INFO;

void gw_log_set_level(enum gw_log_level level)
{
	log_level = level;
}

enum gw_log_level gw_log_get_level(void)
{
	return log_level;
}

static void vlog(enum gw_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	if (level > log_level)
		return;
	/* One write per message so concurrent writers do not interleave. */
	n = snprintf(buf, sizeof(buf), "<%d>", (int)level);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	fputs(buf, stderr);
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
