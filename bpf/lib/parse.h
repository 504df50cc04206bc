/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* STUB: replaced by the parser. Fills struct gw_pkt; returns GW_R_NONE or a
 * verdict reason (PASS_NON_IP, DROP_MALFORMED_*, ...). */
#ifndef GW_BPF_PARSE_H
#define GW_BPF_PARSE_H
#include "ctx.h"
static __always_inline __u32 gw_parse(struct gw_pkt *p)
{
	return GW_R_PASS_NON_IP;
}
#endif
