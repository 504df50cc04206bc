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

/* Hook names for assertion messages. */
extern const char *const gwt_hook_names[2];

#endif /* GW_TEST_HARNESS_H */
