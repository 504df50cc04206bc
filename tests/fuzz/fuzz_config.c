// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gateway.yaml (agent/config/config.c) through gw_cfg_load_string, as
 * `gwd --check` reads it. Checks: success or -EINVAL with at least one
 * message, and nothing crashes or leaks.
 */
#include <errno.h>

#include "fuzz.h"
#include "config/config.h"
#include "core/log.h"
#include "core/msgs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	gw_log_set_level((enum gw_log_level)0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_cfg_errors errs = { 0 };
	struct gw_cfg cfg;
	int rc;

	if (size > 65536)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	rc = gw_cfg_load_string("fuzz.yaml", (const char *)data, size, &cfg, &errs);
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc == -EINVAL)
		FZ_CHECK(errs.n > 0);
	if (!rc)
		gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
	return 0;
}
