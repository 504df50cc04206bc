// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kTLS probe (ktlsprobe.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <openssl/opensslconf.h>

#include "core/ktlsprobe.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* The loading probe's answer: 0 not run yet, 1 available, -1 not. */
static int probed;
static char probed_why[96];

/* 1 when the tls ULP is registered (its module loaded or built in) as the
 * kernel lists it; 6.1 lists ULPs in the initial netns only, so elsewhere
 * a loaded module (/sys/module/tls) answers. */
static int ulp_listed(void)
{
	char ulp[256] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");

	if (!f)
		return !access("/sys/module/tls/initstate", F_OK);
	if (!fgets(ulp, sizeof(ulp), f))
		ulp[0] = '\0';
	fclose(f);
	return strstr(ulp, "tls") != NULL;
}

/* 1 when the running kernel's module tree has net/tls/tls.ko (any
 * compression). */
static int module_file(void)
{
	static const char *const ext[] = { "", ".xz", ".zst", ".gz" };
	char path[512];
	struct utsname u;
	size_t i;

	if (uname(&u))
		return 0;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/kernel/net/tls/tls.ko%s", u.release,
			 ext[i]);
		if (!access(path, F_OK))
			return 1;
	}
	return 0;
}

/* Asks the kernel for the tls ULP on a socket that is not connected: the
 * module is loaded on the way (the caller needs CAP_NET_ADMIN) and the ULP
 * refuses the socket. Returns the errno of the attempt (0: accepted). */
static int ulp_autoload(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return errno;
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		err = errno;
	close(fd);
	return err;
}

/* The answer without loading anything. Returns 1 or 0 (why filled). */
static int probe_now(char *why, size_t len)
{
#ifdef OPENSSL_NO_KTLS
	snprintf(why, len, "OpenSSL built without kTLS");
	return 0;
#else
	if (ulp_listed())
		return 1;
	if (module_file() || !access("/sys/module/tls", F_OK))
		snprintf(why, len, "tls module not loaded");
	else
		snprintf(why, len, "the kernel has no tls module");
	return 0;
#endif
}

int gw_ktls_probe(int load, char *why, size_t len)
{
	int err;

	if (probed) {
		snprintf(why, len, "%s", probed_why);
		return probed > 0;
	}
	if (!load)
		return probe_now(why, len);
	err = ulp_autoload();
	/* ENOTCONN: the ULP exists and refused the unconnected socket */
	if (err == ENOTCONN || !err || probe_now(probed_why, sizeof(probed_why))) {
		probed = 1;
		probed_why[0] = '\0';
	} else {
		if (err == EPERM)
			snprintf(probed_why, sizeof(probed_why),
				 "tls module not loaded, and no CAP_NET_ADMIN to load it");
		probed = -1;
	}
	snprintf(why, len, "%s", probed_why);
	return probed > 0;
}

char *gw_ktls_probe_line(char *buf, size_t len)
{
	char why[96] = "";

	if (gw_ktls_probe(0, why, sizeof(why)))
		snprintf(buf, len, "available");
	else
		snprintf(buf, len, "unavailable (%s)", why);
	return buf;
}
