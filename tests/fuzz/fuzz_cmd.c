// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Admin protocol lines (agent/core/cmd.c, gw_cmd_exec_line) run against
 * the datapath's verbs (agent/dp/dp_cmds.c) and a small table of its own.
 * The datapath's maps are descriptors of /dev/null (every map operation
 * fails as on a broken pin), the running config has one service, so a
 * verb parses and checks all its arguments before it touches a map.
 * Checks: every line gets one answer object {"ok": bool, ...} with an
 * "error" string when not ok.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "config/config.h"
#include "core/cmd.h"
#include "core/log.h"
#include "core/msgs.h"
#include "dp/dp_cmds.h"

static const char cfg_text[] = "version: 1\n"
			       "services:\n"
			       "  - name: web\n"
			       "    vip: 192.0.2.10\n"
			       "    port: 80\n"
			       "    protocol: tcp\n"
			       "    backends: [10.1.0.2:80, 10.1.0.3:80]\n";

static struct gw_cfg cfg;
static struct gw_dp_maps maps;
static struct gw_dp_cmd_ctx dp_ctx;
static struct gw_cmd_table tables[2];

/* A verb of the small table: echoes its arguments as the helpers read
 * them. Returns 0 or -EINVAL. */
static int verb_echo(struct gw_cmd_call *c, json_t **out)
{
	unsigned long long n = 0;
	const char *s = gw_cmd_arg_str(c, "s");
	int have = 0;

	if (gw_cmd_arg_uint(c, "n", 1000000, &n, &have))
		return gw_cmd_fail(c, -EINVAL, "'n' must be 0-1000000");
	*out = json_object();
	if (!*out)
		return -ENOMEM;
	if (s && gw_cmd_json_add(*out, "s", json_string(s)))
		return -ENOMEM;
	if (have && gw_cmd_json_add(*out, "n", json_integer((json_int_t)n)))
		return -ENOMEM;
	return 0;
}

static const struct gw_cmd own_verbs[] = { { "fuzz.echo", verb_echo } };

/* Counts live-backend changes. Returns nothing. */
static void backends_changed(void *arg)
{
	(*(int *)arg)++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gw_cfg_errors errs = { 0 };
	static int changes;
	int fd;

	gw_log_set_level((enum gw_log_level)0);
	FZ_CHECK(gw_cfg_load_string("fuzz.yaml", cfg_text, sizeof(cfg_text) - 1, &cfg, &errs) == 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FZ_CHECK(fd >= 0);
	maps.config = fd;
	maps.filter = (struct gw_filter_maps){ fd, fd, fd, fd, fd };
	maps.rl_v4 = maps.rl_v6 = fd;
	maps.lb = (struct gw_lb_maps){ .services = fd, .maglev = fd, .backends = fd, .ct = fd,
				       .nat = fd, .svc_bloom = fd, .backend_stats = fd };
	maps.ifaddr = maps.stats = maps.svc_stats = maps.backend_stats = fd;
	dp_ctx = (struct gw_dp_cmd_ctx){
		.maps = &maps,
		.pin_root = "/nonexistent/gw-fuzz",
		.cfg = &cfg,
		.config_path = "fuzz.yaml",
		.generation = 1,
		.backends_changed = backends_changed,
		.arg = &changes,
	};
	tables[0] = gw_dp_cmd_table(&dp_ctx);
	tables[1] = (struct gw_cmd_table){ own_verbs, 1, NULL };
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *r, *ok, *err;
	char *dump;

	if (size > GW_ADMIN_LINE_MAX)
		return 0;
	r = gw_cmd_exec_line(tables, 2, (const char *)data, size);
	FZ_CHECK(r != NULL && json_is_object(r));
	ok = json_object_get(r, "ok");
	FZ_CHECK(json_is_boolean(ok));
	if (!json_is_true(ok)) {
		err = json_object_get(r, "error");
		FZ_CHECK(json_is_string(err));
	}
	dump = json_dumps(r, JSON_COMPACT);
	FZ_CHECK(dump != NULL && !strchr(dump, '\n'));
	free(dump);
	json_decref(r);
	return 0;
}
