/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The project's list of messages: the problems a config check, a key file
 * parse or a file load found, each "FILE:LINE:COL: message" where a
 * position is known, kept to be printed together or sent in an answer.
 */
#ifndef GW_CORE_MSGS_H
#define GW_CORE_MSGS_H

#include <stddef.h>

/* Messages in the order they were added; zero-initialized is empty. */
struct gw_cfg_errors {
	char **msgs;
	size_t n;
};

/* Appends one formatted message to `msgs` (NULL: only logged) and logs it
 * at `level` (a GW_LOG_* value). Allocation failures drop the message from
 * the list, never from the log. */
void gw_msgs_add(struct gw_cfg_errors *msgs, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns 1 if some message of `msgs` contains `needle`, else 0. */
int gw_msgs_has(const struct gw_cfg_errors *msgs, const char *needle);

/* Frees every message; the list is empty again. */
void gw_cfg_errors_free(struct gw_cfg_errors *errs);

#endif /* GW_CORE_MSGS_H */
