/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus text format's small pieces, shared by the parts that
 * render metrics (daemon/metrics.c, runtime/l7.c).
 */
#ifndef GW_CORE_PROM_H
#define GW_CORE_PROM_H

#include <stdio.h>

/* Writes s as a label value's inside: backslash, double quote and newline
 * escaped. */
void gw_prom_label(FILE *f, const char *s);

/* Writes the "# HELP" and "# TYPE" lines of a metric. */
void gw_prom_header(FILE *f, const char *name, const char *type, const char *help);

#endif /* GW_CORE_PROM_H */
