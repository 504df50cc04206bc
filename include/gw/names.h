/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* User-space names of the datapath's reasons and actions (metrics, gwctl). */
#ifndef GW_NAMES_H
#define GW_NAMES_H

#include "abi.h"

#define GW_REASON_LABEL(name, act, label) [GW_R_##name] = label,
static const char *const gw_reason_labels[GW_R_MAX] = { GW_REASONS(GW_REASON_LABEL) };
#undef GW_REASON_LABEL

#define GW_REASON_ACT(name, act, label) [GW_R_##name] = GW_ACT_##act,
static const unsigned char gw_reason_actions[GW_R_MAX] = { GW_REASONS(GW_REASON_ACT) };
#undef GW_REASON_ACT

static const char *const gw_action_labels[] = {
	[GW_ACT_NONE] = "none",
	[GW_ACT_PASS] = "pass",
	[GW_ACT_DROP] = "drop",
	[GW_ACT_FORWARD] = "forward",
};

#endif /* GW_NAMES_H */
