/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gw's datapath loader: opens build/bpf/gw.bpf.o (the skeleton) with every
 * map pinned by name under a pin root on bpffs, so a restarted agent or the
 * CLI adopts the running datapath's state; attaches gw_xdp through libxdp's
 * multiprog dispatcher (gw coexists with xdp-filter and friends) or gw_tc at
 * TC ingress (tcx where the kernel has it, clsact otherwise); detaches.
 *
 * Layout under the pin root (default /sys/fs/bpf/gw):
 *   gw_*              the maps (LIBBPF_PIN_BY_NAME)
 *   progs/gw_xdp      the XDP program, loaded as a freplace extension of
 *                     libxdp's dispatcher, shared by every interface
 *   progs/gw_tc       the TC program
 *   links/tcx-IFINDEX the tcx link of an interface (kernels with tcx)
 * The interfaces gw is attached to are the keys of gw_ifaddr.
 *
 * Every function returns 0 or a negative errno unless it says otherwise.
 */
#ifndef GW_DP_H
#define GW_DP_H

#include <stddef.h>
#include <linux/types.h>
#include "gw/abi.h"
#include "dp/filter.h"
#include "dp/service.h"

#define GW_PIN_ROOT_DEFAULT "/sys/fs/bpf/gw"
#define GW_BPFFS_MOUNT "/sys/fs/bpf"

enum gw_xdp_mode {
	GW_XDP_AUTO = 0,	/* native, falling back to generic */
	GW_XDP_NATIVE,
	GW_XDP_GENERIC,
};

/* How gw's program is attached to one interface. */
enum gw_attach_kind {
	GW_ATTACH_NONE = 0,
	GW_ATTACH_XDP_NATIVE,
	GW_ATTACH_XDP_GENERIC,
	GW_ATTACH_TCX,		/* TC ingress through a tcx link (6.6+) */
	GW_ATTACH_CLSACT,	/* TC ingress through a clsact cls_bpf filter */
};

/* Map sizes that can be set at load time. 0 keeps the build's default
 * (include/gw/limits.h). A map that is already pinned keeps its size: the
 * datapath's state is adopted, never silently dropped. */
struct gw_dp_sizes {
	__u32 filter_v4, filter_v6;
	__u32 ban_v4, ban_v6;
	__u32 rl_v4, rl_v6;
	__u32 ct, nat;
};

struct gw_dp_opts {
	const char *pin_root;	/* NULL: GW_PIN_ROOT_DEFAULT */
	struct gw_dp_sizes sizes;
	unsigned int xdp_prio;	/* libxdp run priority (lower runs first); 0: 50 */
	int fresh_progs;	/* load new programs even if pinned ones exist */
};

/* "ct=65536"-style size settings: names are the map names without "gw_"
 * (filter_v4, filter_v6, ban_v4, ban_v6, rl_v4, rl_v6, ct, nat). Returns 0,
 * -EINVAL (bad syntax or value) or -ENOENT (unknown name). */
int gw_dp_sizes_parse(struct gw_dp_sizes *s, const char *setting);

struct gw_dp;

/* Makes sure the pin root is on bpffs (mounting bpffs at /sys/fs/bpf when
 * the root is below it and nothing is mounted there), raises
 * RLIMIT_MEMLOCK, opens the skeleton with its maps pinned (existing pins are
 * reused), loads it, pins the TC program and writes a default gw_config when
 * the config map is new. *dp is freed with gw_dp_close. */
int gw_dp_open(const struct gw_dp_opts *opts, struct gw_dp **dp);

/* Closes the loader's descriptors; attachments and pins stay. */
void gw_dp_close(struct gw_dp *dp);

/* The skeleton's map and program descriptors. */
int gw_dp_map_fd(const struct gw_dp *dp, const char *name);

/* Attaches gw_xdp to ifindex through libxdp's dispatcher in `mode` (auto:
 * native, then generic); *kind (optional) says which mode took. -EEXIST when
 * gw is already attached there. */
int gw_dp_attach_xdp(struct gw_dp *dp, int ifindex, enum gw_xdp_mode mode,
		     enum gw_attach_kind *kind);

/* Attaches gw_tc at ifindex's TC ingress: a pinned tcx link when the kernel
 * has tcx, a clsact filter otherwise (probed, not assumed). */
int gw_dp_attach_tc(struct gw_dp *dp, int ifindex, enum gw_attach_kind *kind);

/* Which hook gw holds on ifindex (GW_ATTACH_NONE when none); the pin root
 * tells gw's tcx links apart. Returns the kind, or a negative errno. */
int gw_dp_attached(const char *pin_root, int ifindex);

/* Detaches gw (XDP and TC, whichever is there) from ifindex, removes its
 * gw_ifaddr entry and, when no interface is left, the program pins.
 * -ENOENT when gw was attached nowhere on ifindex. Needs no loaded
 * skeleton: works from the pins. */
int gw_dp_detach(const char *pin_root, int ifindex);

/* ---- pinned maps, for a CLI when no agent runs ------------------------ */

struct gw_dp_maps {
	int config;
	struct gw_filter_maps filter;
	int rl_v4, rl_v6;
	struct gw_lb_maps lb;
	int ifaddr;
	int stats, svc_stats, backend_stats;
	int nat_src, nat_events;	/* cluster.nat_source, new `nat` flows */
};

/* Opens every pinned map under pin_root (bpf_obj_get). -ENOENT (with a
 * message) when the datapath was never loaded there. */
int gw_dp_maps_open(const char *pin_root, struct gw_dp_maps *m);

/* The same descriptors from a loaded datapath (dup'ed: close them with
 * gw_dp_maps_close). */
int gw_dp_maps_from(const struct gw_dp *dp, struct gw_dp_maps *m);

void gw_dp_maps_close(struct gw_dp_maps *m);

/* ---- reading and writing the datapath's state ------------------------- */

/* The defaults a new gw_config gets: no filter default deny, no rate
 * limits, /64 IPv6 buckets, the default NAT port range. */
void gw_dp_config_default(struct gw_config *cfg);
int gw_dp_config_get(const struct gw_dp_maps *m, struct gw_config *cfg);
int gw_dp_config_set(const struct gw_dp_maps *m, const struct gw_config *cfg);

/* Reads entry `idx` of a per-CPU counter array summed over CPUs. */
int gw_dp_counter_sum(int fd, __u32 idx, struct gw_counter *sum);

/* Calls fn for every service (key, value); stops on fn's non-zero value,
 * which it returns. */
int gw_dp_foreach_service(const struct gw_dp_maps *m,
			  int (*fn)(const struct gw_svc_key *k, const struct gw_svc *s, void *arg),
			  void *arg);

/* Calls fn for every valid backend (GW_BE_F_VALID) of service svc_id (or
 * of every service when svc_id is (__u32)-1), with its id. */
int gw_dp_foreach_backend(const struct gw_dp_maps *m, __u32 svc_id,
			  int (*fn)(__u32 id, const struct gw_backend *b, void *arg), void *arg);

/* Calls fn for every connection-tracking entry. */
int gw_dp_foreach_ct(const struct gw_dp_maps *m,
		     int (*fn)(const struct gw_flow *f, const struct gw_ct *ct, void *arg),
		     void *arg);

/* Fills ids with the ifindexes gw is attached to (the keys of gw_ifaddr);
 * returns how many, at most max. */
int gw_dp_attached_ifaces(int ifaddr_fd, __u32 *ids, int max);

/* Detaches gw from every interface and removes every pin under pin_root
 * (maps, programs, links) and its directories. */
int gw_dp_unload(const char *pin_root);

/* 1 when gw's XDP program on ifindex runs under libxdp's multiprog
 * dispatcher, 0 when it is attached alone (kernels or builds without
 * freplace), -ENOENT when gw has no XDP program there. */
int gw_dp_xdp_dispatcher(int ifindex);

/* A pinned program of gw (progs/gw_xdp or progs/gw_tc). */
struct gw_dp_prog_info {
	char pin[256];
	char name[16];
	char tag[17];		/* hex */
	__u32 id, btf_id, type;
	int jited;
};

/* Fills *out for gw_xdp (xdp 1) or gw_tc (xdp 0) from its pin. -ENOENT
 * when it is not pinned (not loaded, or no interface uses it). */
int gw_dp_prog_info(const char *pin_root, int xdp, struct gw_dp_prog_info *out);

/* Names for messages and tables. */
const char *gw_attach_kind_str(enum gw_attach_kind kind);
int gw_xdp_mode_parse(const char *s, enum gw_xdp_mode *mode);

#endif /* GW_DP_H */
