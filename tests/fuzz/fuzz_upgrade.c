// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Upgrade header's value against a route's allowed protocols
 * (gw_route_upgrade_allowed, agent/l7/route.c). The first input byte picks
 * the route's list (none, websocket, websocket and h2c); the rest is the
 * value. The answer must equal a reference that splits the value the slow
 * way: every comma-separated member names a protocol (the token before any
 * '/' version or white space), empty members are skipped, and the value is
 * allowed only when it offers at least one protocol and each is allowed.
 */
#include <strings.h>

#include "fuzz.h"
#include "l7/route.h"

static char *const lists[][2] = { { NULL, NULL }, { "websocket", NULL }, { "websocket", "h2c" } };

/* Whether the protocol v[len] is in the route's list. Returns 1 or 0. */
static int ref_listed(const struct gw_route *r, const char *v, size_t len)
{
	size_t j;

	for (j = 0; j < r->n_upgrades; j++)
		if (strlen(r->upgrades[j]) == len && !strncasecmp(r->upgrades[j], v, len))
			return 1;
	return 0;
}

/* The reference: one member at a time, from a NUL-free copy. Returns 1 if
 * allowed, 0 if not. */
static int ref_allowed(const struct gw_route *r, const char *v, size_t len)
{
	size_t start = 0, end, s, e, offered = 0;

	while (start <= len) {
		for (end = start; end < len && v[end] != ','; end++)
			;
		for (s = start; s < end && (v[s] == ' ' || v[s] == '\t'); s++)
			;
		for (e = s; e < end && !strchr("/ \t", v[e]); e++)
			;
		if (e > s) {
			offered++;
			if (!ref_listed(r, v + s, e - s))
				return 0;
		}
		start = end + 1;
	}
	return offered > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_route r = { 0 };
	const char *v;
	char *copy;
	int got;

	if (!size)
		return 0;
	r.upgrades = (char **)lists[data[0] % 3];
	r.n_upgrades = data[0] % 3;
	v = (const char *)data + 1;
	size--;
	/* A NUL inside the value is not a protocol character for either side. */
	if (memchr(v, '\0', size))
		return 0;
	copy = fz_dup(v, size);
	got = gw_route_upgrade_allowed(&r, copy, size);
	FZ_CHECK(got == 0 || got == 1);
	if (got != ref_allowed(&r, copy, size)) {
		fprintf(stderr, "list %u, value \"%.*s\": gw %d\n", data[0] % 3, (int)size, copy, got);
		abort();
	}
	free(copy);
	return 0;
}
