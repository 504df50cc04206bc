/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Running gw's BPF programs on crafted packets (bpf_prog_test_run_opts) in a
 * private network namespace, and reading their counters back.
 */
#ifndef GW_TEST_HARNESS_H
#define GW_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gw/abi.h"
#include "gw.skel.h"
#include "pkt.h"
#include "dp/filter.h"

/* Moves the test process into a new network namespace with `lo` up, so FIB
 * lookups and devices the test makes never touch the host. Returns 0 or a
 * negative errno. */
int gwt_netns(void);

/* Runs a shell command (inside the test's namespace); returns its status. */
int gwt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens and loads gw.bpf.o with small maps and no pinning, and writes a
 * default gw_config (no filter, no limits, default NAT ports). NULL on
 * failure (libbpf says why on stderr). */
struct gw_bpf *gwt_load(void);

/* gwt_netns() then gwt_load(): the usual start of a test group. NULL on
 * failure. */
struct gw_bpf *gwt_open(void);

/* A test group's teardown: destroys *skel (when set) and clears it.
 * Returns 0. */
int gwt_close(struct gw_bpf **skel);

/* Opens and loads decap.bpf.o without pinning. NULL on failure. */
struct decap_bpf;
struct decap_bpf *gwt_decap_load(void);

/* The result of one run. */
struct gwt_run {
	int retval;		/* XDP_* or TC_ACT_* */
	int action;		/* GW_ACT_PASS / DROP / FORWARD, either hook */
	uint8_t out[PKT_MAX];	/* the packet as the program left it */
	size_t out_len;
};

/* Runs the XDP (hook 0) or TC (hook 1) program once on the frame, as if it
 * arrived on `ifindex` (0: loopback). Returns 0 or a negative errno. */
int gwt_run(struct gw_bpf *skel, int hook, int ifindex, const uint8_t *in, size_t len,
	    struct gwt_run *r);

/* Counter of a reason, summed over CPUs. */
uint64_t gwt_reason_count(struct gw_bpf *skel, enum gw_reason reason);

/* Zeroes every reason counter. */
void gwt_reset_counts(struct gw_bpf *skel);

/* Reads / writes the configuration record. */
int gwt_config_get(struct gw_bpf *skel, struct gw_config *cfg);
int gwt_config_set(struct gw_bpf *skel, const struct gw_config *cfg);

/* ---- L4 services (tests of lb.h and decap) ---------------------------- */

struct gw_lb_maps;

/* Fills the descriptors of the service maps of a loaded skeleton. */
/* The filter maps' descriptors of a loaded skeleton (config included). */
void gwt_filter_maps(struct gw_bpf *skel, struct gw_filter_maps *m);

void gwt_lb_maps(struct gw_bpf *skel, struct gw_lb_maps *m);

/* Writes gw_ifaddr[ifindex] with a v4 and/or v6 address (text, NULL for
 * none). Returns 0 or a negative errno. */
int gwt_ifaddr_set(struct gw_bpf *skel, int ifindex, const char *v4, const char *v6);

/* The MAC address of an interface of the test's namespace. Returns 0 or -1. */
int gwt_if_mac(const char *ifname, uint8_t mac[6]);

/* Per-CPU counter of a service or backend, packets summed over CPUs. */
uint64_t gwt_counter(int map_fd, uint32_t idx);

/* A gateway between a client network and a backend network, built in the
 * test's namespace (forwarding on):
 *   bside (gwtb0, peer gwtb1): 198.18.0.1/24, fd00:18::1/64; backends
 *     .2/.3 and ::2/::3 with permanent neighbours GWT_MAC_BE2/3; .9 and ::9
 *     routed there but with no neighbour entry;
 *   cside (gwtc0, peer gwtc1): 198.19.0.1/24, fd00:19::1/64; the client
 *     .2 / ::2 with permanent neighbour GWT_MAC_CLIENT;
 *   198.18.99.0/24 and fd00:99::/64 are blackholed.
 * gw_ifaddr gets both gateway interfaces' addresses. */
struct gwt_topo {
	int bside, cside;		/* ifindexes */
	uint8_t bside_mac[6], cside_mac[6];
};

extern const uint8_t GWT_MAC_BE2[6], GWT_MAC_BE3[6], GWT_MAC_CLIENT[6];

/* Builds the topology. Returns 0 or a negative errno. */
int gwt_topo_make(struct gw_bpf *skel, struct gwt_topo *t);

/* Runs any XDP (hook 0) or TC (hook 1) program by descriptor, as gwt_run()
 * does gw's (e.g. the decap program). Returns 0 or a negative errno. */
int gwt_run_prog(int prog_fd, int hook, int ifindex, const uint8_t *in, size_t len,
		 struct gwt_run *r);

/* Hook names for assertion messages. */
extern const char *const gwt_hook_names[2];

#endif /* GW_TEST_HARNESS_H */
