/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L7 runtime's admin verbs (core/cmd.h): upstream list, route list and
 * live upstream server changes (ephemeral: the file replaces them on the
 * next reload).
 */
#ifndef GW_RUNTIME_L7_CMDS_H
#define GW_RUNTIME_L7_CMDS_H

#include "core/cmd.h"
#include "runtime/l7.h"

#define GW_ADMIN_NO_L7 "not available: gwd serves no L7 listeners"

/* The L7 verbs on the runtime *l7 (NULL while gwd serves no listeners:
 * they answer GW_ADMIN_NO_L7). l7 must outlive the table's use. Returns
 * the table. */
struct gw_cmd_table gw_l7_cmd_table(struct gw_l7 *const *l7);

#endif /* GW_RUNTIME_L7_CMDS_H */
