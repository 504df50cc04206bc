/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gwd's capabilities after start (libcap-ng). Loading the datapath needs
 * nearly everything (mounting bpffs, raising RLIMIT_MEMLOCK, loading
 * programs); running it needs little: map updates and attaching to
 * interfaces that appear later or come with a reload. gw_caps_drop keeps
 * that little set in the effective and permitted sets, clears the
 * inheritable and ambient sets, shrinks the bounding set to it and sets
 * PR_SET_NO_NEW_PRIVS. gwd stays uid 0 (the pins and /run/gw are root's).
 */
#ifndef GW_CAPS_H
#define GW_CAPS_H

#include <stddef.h>

#define GW_CAPS_MAX 8

/* The capabilities gwd keeps on this kernel, in caps (at most GW_CAPS_MAX).
 * Returns how many. Kernels without CAP_BPF (before 5.8) need
 * CAP_SYS_ADMIN for every bpf() command. */
int gw_caps_runtime_set(int *caps, int max);

/* Keeps only caps[0..n) (see above). Returns 0 or -errno (nothing is
 * half-applied: on failure the process keeps what it had). */
int gw_caps_drop(const int *caps, int n);

/* "cap_bpf,cap_net_admin,...": the names of caps[0..n) in buf. Returns buf. */
char *gw_caps_names(const int *caps, int n, char *buf, size_t len);

/* After a drop, a sentence to append to an EPERM/EACCES message that says
 * which capabilities gwd kept; "" when nothing was dropped. */
const char *gw_caps_hint(void);

#endif /* GW_CAPS_H */
