/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One logging module for gw's programs; libbpf's messages are routed here. */
#ifndef GW_LOG_H
#define GW_LOG_H

enum gw_log_level {
	GW_LOG_ERR = 3,
	GW_LOG_WARN = 4,
	GW_LOG_INFO = 6,
	GW_LOG_DEBUG = 7,
};

/* Messages above this level are not printed (default GW_LOG_INFO). */
void gw_log_set_level(enum gw_log_level level);
enum gw_log_level gw_log_get_level(void);

/* How a message is written. */
enum gw_log_format {
	GW_LOG_FMT_AUTO,	/* journal when stderr is journald's stream, else text */
	GW_LOG_FMT_JOURNAL,	/* "<4>message": journald reads the priority */
	GW_LOG_FMT_TEXT,	/* "2026-12-07T18:59:01.123Z warn: message" (UTC) */
	GW_LOG_FMT_JSON,	/* {"time":...,"level":"warn","msg":"message"} */
	GW_LOG_FMT_PLAIN,	/* "message": the command-line tools */
};

/* Sets the format (AUTO is resolved now). Until called: AUTO's choice is
 * text. */
void gw_log_set_format(enum gw_log_format format);

/* "auto", "text", "json" or "journal" to *out. Returns 0, or -1 for
 * another word. */
int gw_log_format_parse(const char *s, enum gw_log_format *out);

/* Routes libbpf's own messages into gw's log (warnings as warnings, debug
 * output only at GW_LOG_DEBUG). */
void gw_log_hook_libbpf(void);

/* Writes one line to stderr in the set format (a trailing newline of fmt
 * is not doubled). */
void gw_log(enum gw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) gw_log(GW_LOG_ERR, __VA_ARGS__)
#define pr_warn(...) gw_log(GW_LOG_WARN, __VA_ARGS__)
#define pr_info(...) gw_log(GW_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)

#endif /* GW_LOG_H */
