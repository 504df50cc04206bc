/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus text exposition on gateway.metrics: GET /metrics answers with
 * the datapath's per-CPU counters summed, per service and backend, bans,
 * the L7 runtime's, the agent's own counters and the process_* series;
 * / and /status are the status page (daemon/status_page.h), /ready answers
 * 200 while gwd runs, /config shows the
 * running file with secrets redacted. A small non-blocking HTTP/1.1 server with
 * its own epoll fd, which gwd polls (like the admin socket). Every function
 * returns 0 or a negative errno unless it says otherwise.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

struct gw_cluster_link;

#include <stdio.h>
#include "core/addr.h"
#include "config/config.h"
#include "dp/dp.h"

struct gw_l7;
struct gw_status_src;

/* What the agent counts itself. */
struct gw_agent_counters {
	unsigned long long reloads_ok;
	unsigned long long reloads_failed;
	unsigned int generation;
};

struct gw_metrics_src {
	const struct gw_dp_maps *maps;
	const struct gw_cfg *cfg;	/* service names */
	const struct gw_agent_counters *agent;
	struct gw_l7 *l7;		/* NULL without the L7 proxy */
	const struct gw_status_src *status;	/* the page of / and /status; NULL: none */
	struct gw_cluster_link *cluster;	/* NULL: no cluster metrics */
};

/* Writes text (a gateway.yaml) to f with the values of keys that name a
 * secret (password, secret, token, passphrase) replaced by "<redacted>". */
void gw_metrics_config_dump(FILE *f, const char *text);

/* Writes the whole exposition to f. */
int gw_metrics_render(FILE *f, const struct gw_metrics_src *src);

struct gw_metrics;

/* Listens on addr (TCP). */
int gw_metrics_open(const struct gw_endpoint *addr, struct gw_metrics **m);

/* The fd to poll for readability. */
int gw_metrics_fd(const struct gw_metrics *m);

/* Accepts and serves what is ready; never blocks: an answer a client does
 * not read at once waits in its own buffer (EPOLLOUT), and a client is cut
 * 10 s after it connected, whatever it is doing. */
void gw_metrics_process(struct gw_metrics *m, const struct gw_metrics_src *src);

/* Once a second (gwd's housekeeping): cuts the clients past their 10 s. */
void gw_metrics_tick(struct gw_metrics *m);

void gw_metrics_close(struct gw_metrics *m);

#endif /* GW_METRICS_H */
