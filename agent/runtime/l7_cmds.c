// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The L7 runtime's admin verbs (l7_cmds.h).
 */
#include <errno.h>
#include <string.h>

#include "proxy/splice.h"
#include "runtime/l7_cmds.h"

/* The runtime a verb works on, or NULL. */
static struct gw_l7 *L7(const struct gw_cmd_call *c)
{
	struct gw_l7 *const *l7 = c->ctx;

	return *l7;
}

static int cmd_no_l7(struct gw_cmd_call *c)
{
	return gw_cmd_fail(c, -EOPNOTSUPP, GW_ADMIN_NO_L7);
}

static int cmd_upstream_list(struct gw_cmd_call *c, json_t **out)
{
	if (!L7(c))
		return cmd_no_l7(c);
	return gw_l7_upstream_list(L7(c), out);
}

static int cmd_route_list(struct gw_cmd_call *c, json_t **out)
{
	if (!L7(c))
		return cmd_no_l7(c);
	return gw_l7_route_list(L7(c), out);
}

/* splice.list: the connections the kernel moves (sockmap). */
static int cmd_splice_list(struct gw_cmd_call *c, json_t **out)
{
	return gw_splice_list(out);
}

/* upstream.server.add|del|drain {upstream, server, weight}: a live change
 * of an L7 upstream's servers, replaced by the file on reload. */
static int server_change(struct gw_cmd_call *c, json_t **out, const char *op)
{
	const char *up = gw_cmd_arg_str(c, "upstream"), *addr = gw_cmd_arg_str(c, "server");
	unsigned long long w = 0;
	int err, have_w;

	if (!L7(c))
		return cmd_no_l7(c);
	if (!up || !addr)
		return gw_cmd_fail(c, -EINVAL, "missing argument 'upstream' or 'server'");
	if (gw_cmd_arg_uint(c, "weight", 65535, &w, &have_w) || (have_w && !w))
		return gw_cmd_fail(c, -EINVAL, "'weight' must be 1-65535");
	if (have_w && strcmp(op, "add"))
		return gw_cmd_fail(c, -EINVAL, "'weight' applies to upstream.server.add");
	err = gw_l7_server_change(L7(c), op, up, addr, (__u32)w, c->err, sizeof(c->err));
	if (err)
		return err;
	*out = json_pack("{s:s, s:s, s:s}", "upstream", up, "server", addr, "change",
			 !strcmp(op, "add") ? "added" : !strcmp(op, "del") ? "removed" :
			 "draining");
	return 0;
}

static int cmd_server_add(struct gw_cmd_call *c, json_t **out)
{
	return server_change(c, out, "add");
}

static int cmd_server_del(struct gw_cmd_call *c, json_t **out)
{
	return server_change(c, out, "del");
}

static int cmd_server_drain(struct gw_cmd_call *c, json_t **out)
{
	return server_change(c, out, "drain");
}

static const struct gw_cmd l7_cmds[] = {
	{ "upstream.list", cmd_upstream_list },
	{ "upstream.server.add", cmd_server_add },
	{ "upstream.server.del", cmd_server_del },
	{ "upstream.server.drain", cmd_server_drain },
	{ "route.list", cmd_route_list },
	{ "splice.list", cmd_splice_list },
};

struct gw_cmd_table gw_l7_cmd_table(struct gw_l7 *const *l7)
{
	return (struct gw_cmd_table){ l7_cmds, sizeof(l7_cmds) / sizeof(l7_cmds[0]), l7 };
}
