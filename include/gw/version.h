/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* gw's version, the one string `gwd --version` and `gwctl --version` print. */
#ifndef GW_VERSION_H
#define GW_VERSION_H

#define GW_VERSION "0.1.0"

#endif /* GW_VERSION_H */
