// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * API-key files (agent/auth/apikey.c): parsed as the file would be, then
 * looked up with a fixed key (whose SHA-256 the seeds contain) and with
 * the file's first line. Checks: a found consumer is a NUL-terminated
 * string that fits the buffer.
 */
#include <errno.h>

#include "fuzz.h"
#include "auth/apikey.h"
#include "core/log.h"
#include "core/msgs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	gw_log_set_level((enum gw_log_level)0);
	return 0;
}

/* Looks key[len] up. Returns nothing. */
static void lookup(const struct gw_apikeys_set *set, const char *key, size_t len)
{
	char consumer[GW_AUTH_CONSUMER_MAX];
	int rc;

	rc = gw_apikeys_set_lookup(set, key, len, consumer, sizeof(consumer));
	FZ_CHECK(rc == 0 || rc == -ENOENT);
	if (!rc)
		FZ_CHECK(strnlen(consumer, sizeof(consumer)) < sizeof(consumer) && consumer[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_cfg_errors msgs = { 0 };
	struct gw_apikeys_set *set = NULL;
	const char *nl;
	int rc;

	if (size > 65536)
		return 0;
	rc = gw_apikeys_parse("fuzz.keys", (const char *)data, size, &set, &msgs);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc == -EINVAL)
		FZ_CHECK(msgs.n > 0);
	if (!rc) {
		FZ_CHECK(set != NULL);
		lookup(set, "secret-key-1", 12);
		nl = memchr(data, '\n', size);
		lookup(set, (const char *)data, nl ? (size_t)(nl - (const char *)data) : size);
		gw_apikeys_set_put(set);
	}
	gw_cfg_errors_free(&msgs);
	return 0;
}
