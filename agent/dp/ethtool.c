// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Driver statistics through the ethtool ioctl (ethtool.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "dp/ethtool.h"

/* One ethtool request on socket fd for ifname. Returns 0 or -errno. */
static int ethtool(int fd, const char *ifname, void *req)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = req;
	return ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

int gw_ethtool_stats(const char *ifname, int (*each)(const char *name, __u64 val, void *arg),
		     void *arg)
{
	struct ethtool_sset_info *info = NULL;
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *vals = NULL;
	char name[ETH_GSTRING_LEN + 1];
	__u32 n, i;
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	info = calloc(1, sizeof(*info) + sizeof(__u32));
	err = info ? 0 : -ENOMEM;
	if (!err) {
		info->cmd = ETHTOOL_GSSET_INFO;
		info->sset_mask = 1ull << ETH_SS_STATS;
		err = ethtool(fd, ifname, info);
		if (!err && !info->sset_mask)
			err = -EOPNOTSUPP;
	}
	if (err)
		goto out;
	n = info->data[0];
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(__u64));
	if (!names || !vals) {
		err = -ENOMEM;
		goto out;
	}
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = n;
	err = ethtool(fd, ifname, names);
	if (!err)
		err = ethtool(fd, ifname, vals);
	for (i = 0; !err && i < n && i < names->len && i < vals->n_stats; i++) {
		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		err = each(name, vals->data[i], arg);
	}
out:
	free(info);
	free(names);
	free(vals);
	close(fd);
	return err;
}
