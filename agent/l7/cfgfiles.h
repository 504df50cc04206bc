/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The files a config names for the L7 layer -- certificates and their keys,
 * JWKS files, API key files -- loaded the way the runtime loads them and
 * dropped again, so `gwd --check` and `gwctl check` find what a start or a
 * reload would refuse, each problem at the config key naming the file.
 * Route regexes (rewrite.regex) are compiled here too: PCRE2 is the L7
 * layer's, not the config parser's.
 */
#ifndef GW_CFGFILES_H
#define GW_CFGFILES_H

#include "config/config.h"

/* Loads every file cfg (read from `name`) names for the L7 layer. Returns
 * 0, or -EINVAL with each problem added to errs as "NAME:LINE:COL: ...". */
int gw_cfg_check_files(const char *name, const struct gw_cfg *cfg, struct gw_cfg_errors *errs);

#endif /* GW_CFGFILES_H */
