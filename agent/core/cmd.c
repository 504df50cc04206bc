// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The admin protocol's command tables (cmd.h): lookup, request lines,
 * arguments and answers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd.h"

int gw_cmd_fail(struct gw_cmd_call *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

const char *gw_cmd_arg_str(struct gw_cmd_call *c, const char *key)
{
	json_t *v = c->args ? json_object_get(c->args, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int gw_cmd_arg_uint(struct gw_cmd_call *c, const char *key, unsigned long long max,
		    unsigned long long *v, int *present)
{
	json_t *j = c->args ? json_object_get(c->args, key) : NULL;
	char *end;

	*present = 0;
	if (!j || json_is_null(j))
		return 0;
	*present = 1;
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0 || (unsigned long long)json_integer_value(j) > max)
			return -EINVAL;
		*v = (unsigned long long)json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j) || !*json_string_value(j))
		return -EINVAL;
	errno = 0;
	*v = strtoull(json_string_value(j), &end, 10);
	if (errno || *end || *v > max || json_string_value(j)[0] == '-')
		return -EINVAL;
	return 0;
}

int gw_cmd_json_add(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) ? -ENOMEM : 0;
}

json_t *gw_cmd_error(const char *msg)
{
	json_t *e = json_string(msg);
	char safe[512];
	size_t i;

	if (!e && msg) {
		/* Not UTF-8 (it quotes the client's bytes): ASCII only. */
		for (i = 0; msg[i] && i < sizeof(safe) - 1; i++)
			safe[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
		safe[i] = '\0';
		e = json_string(safe);
	}
	return e ? json_pack("{s:b, s:o}", "ok", 0, "error", e) : NULL;
}

json_t *gw_cmd_exec(const struct gw_cmd_table *t, size_t n, const char *cmd, json_t *args)
{
	struct gw_cmd_call c = { .args = args };
	const struct gw_cmd *v = NULL;
	json_t *data = NULL;
	size_t i, j;
	int err;

	if (args && !json_is_object(args))
		return gw_cmd_error("'args' must be an object");
	for (i = 0; i < n && !v; i++)
		for (j = 0; j < t[i].n && !v; j++)
			if (!strcmp(t[i].cmds[j].name, cmd)) {
				v = &t[i].cmds[j];
				c.ctx = t[i].ctx;
			}
	if (v) {
		err = v->fn(&c, &data);
		if (err) {
			if (!c.err[0])
				snprintf(c.err, sizeof(c.err), "%s", strerror(-err));
			return gw_cmd_error(c.err);
		}
		return json_pack("{s:b, s:o}", "ok", 1, "data", data ? data : json_null());
	}
	snprintf(c.err, sizeof(c.err), "unknown command '%.64s'", cmd);
	return gw_cmd_error(c.err);
}

json_t *gw_cmd_exec_line(const struct gw_cmd_table *t, size_t n, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *cmd, *resp;
	char msg[256];

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		snprintf(msg, sizeof(msg), "bad JSON at column %d: %s", jerr.column, jerr.text);
		return gw_cmd_error(msg);
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_object(req) || !json_is_string(cmd)) {
		json_decref(req);
		return gw_cmd_error("a request is {\"cmd\": NAME, \"args\": {...}}");
	}
	resp = gw_cmd_exec(t, n, json_string_value(cmd), json_object_get(req, "args"));
	json_decref(req);
	return resp;
}

