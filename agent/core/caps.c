// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Dropping gwd's capabilities after start (see caps.h), with libcap-ng.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <cap-ng.h>

#include "core/caps.h"
#include "core/log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static char hint[256];

/* The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap),
 * or -1 when it cannot be read. */
static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = -1;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	return last;
}

int gw_caps_runtime_set(int *caps, int max)
{
	int n = 0, last = cap_last();

	if (max < 5)
		return 0;
	/* Map updates, program loads (libxdp's dispatcher on a new
	 * interface), link creation. */
	if (last >= CAP_BPF) {
		caps[n++] = CAP_BPF;
		/* Without it the verifier treats gw's programs as an
		 * unprivileged user's (no pointer comparisons, Spectre
		 * masking), and loads on a new interface could fail. */
		caps[n++] = CAP_PERFMON;
	}
	/* XDP and TC attach, netlink with SO_RCVBUFFORCE. */
	caps[n++] = CAP_NET_ADMIN;
	/* Listeners below port 1024 (metrics now, L7 later) on reload. */
	caps[n++] = CAP_NET_BIND_SERVICE;
	/* Measured on 6.18: without it libxdp cannot open an interface's XDP
	 * programs by id (BPF_PROG_GET_FD_BY_ID checks CAP_SYS_ADMIN even
	 * with CAP_BPF), so gw_dp_attached, detach and status lose sight of
	 * gw's own attachments. Kernels without CAP_BPF (before 5.8) need it
	 * for every bpf() command. With it, CAP_BPF and CAP_PERFMON add
	 * nothing today (both are implied); they are kept so the set says
	 * what gwd uses. */
	caps[n++] = CAP_SYS_ADMIN;
	return n;
}

char *gw_caps_names(const int *caps, int n, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		const char *name = capng_capability_to_name((unsigned int)caps[i]);
		char num[16];

		if (!name) {
			snprintf(num, sizeof(num), "%d", caps[i]);
			name = num;
		}
		off += (size_t)snprintf(buf + off, len - off, "%scap_%s", i ? "," : "", name);
	}
	return buf;
}

int gw_caps_drop(const int *caps, int n)
{
	int kept[GW_CAPS_MAX], nk = 0, setpcap, i, err;
	char names[160];

	/* Only what the process has can be kept; the bounding set can only
	 * shrink with CAP_SETPCAP (a non-root gwd keeps its bounding set). */
	capng_get_caps_process();
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (i = 0; i < n && nk < GW_CAPS_MAX; i++)
		if (capng_have_capability(CAPNG_PERMITTED, (unsigned int)caps[i]))
			kept[nk++] = caps[i];
	capng_clear(CAPNG_SELECT_ALL);
	for (i = 0; i < nk; i++) {
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				 (unsigned int)kept[i])) {
			pr_err("caps: capability %d is unknown to this kernel\n", kept[i]);
			return -EINVAL;
		}
	}
	/* libcap-ng shrinks the bounding set first, while CAP_SETPCAP is
	 * still effective, then sets the rest. */
	err = capng_apply(setpcap ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS);
	if (err) {
		pr_err("caps: cannot drop capabilities (libcap-ng error %d)\n", err);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = -errno;
		pr_err("caps: cannot set no_new_privs: %s\n", strerror(-err));
		return err;
	}
	gw_caps_names(kept, nk, names, sizeof(names));
	snprintf(hint, sizeof(hint), " (gwd dropped its capabilities after start and kept %s)",
		 nk ? names : "none");
	pr_info("caps: kept %s%s; no_new_privs set\n", nk ? names : "none",
		setpcap ? "" : " (no CAP_SETPCAP: bounding set unchanged)");
	return 0;
}

const char *gw_caps_hint(void)
{
	return hint;
}
