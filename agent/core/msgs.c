// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The project's list of messages (msgs.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/msgs.h"

void gw_msgs_add(struct gw_cfg_errors *msgs, int level, const char *fmt, ...)
{
	char **v;
	char *m;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	gw_log((enum gw_log_level)level, "%s\n", m);
	if (!msgs) {
		free(m);
		return;
	}
	v = realloc(msgs->msgs, (msgs->n + 1) * sizeof(*v));
	if (!v) {
		free(m);
		return;
	}
	v[msgs->n++] = m;
	msgs->msgs = v;
}

int gw_msgs_has(const struct gw_cfg_errors *msgs, const char *needle)
{
	size_t i;

	for (i = 0; i < msgs->n; i++)
		if (strstr(msgs->msgs[i], needle))
			return 1;
	return 0;
}

void gw_cfg_errors_free(struct gw_cfg_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}
