// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Names and look-ups shared by gw-dpctl and the admin protocol. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dp/show.h"

const char *gw_proto_str(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_ICMP ? "icmp" : proto == IPPROTO_ICMPV6 ? "icmp6" : "?";
}

const char *gw_origin_str(__u8 origin)
{
	return origin == GW_ORIGIN_CONFIG ? "config" : origin == GW_ORIGIN_CLI ? "cli" :
	       origin == GW_ORIGIN_BAN ? "auto-ban" : "?";
}

const char *gw_abi_ep_str(const __be32 addr[4], __u8 family, __be16 port, char *buf, size_t len)
{
	struct gw_endpoint e;

	memset(&e, 0, sizeof(e));
	e.ip.family = family;
	memcpy(e.ip.addr, addr, sizeof(e.ip.addr));
	e.port = ntohs(port);
	if (!e.port)
		return gw_ip_str(&e.ip, buf, len);
	return gw_endpoint_str(&e, buf, len);
}

int gw_svc_lookup(const struct gw_dp_maps *m, const struct gw_endpoint *vip, __u8 proto,
		  struct gw_svc *svc)
{
	struct gw_svc_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, vip->ip.addr, sizeof(k.addr));
	k.port = htons(vip->port);
	k.proto = proto;
	k.family = vip->ip.family;
	if (bpf_map_lookup_elem(m->lb.services, &k, svc))
		return errno == ENOENT ? -ENOENT : -errno;
	return 0;
}

struct be_find {
	const struct gw_endpoint *ep;
	struct gw_backend *b;
	int found;
};

static int be_find_cb(__u32 id, const struct gw_backend *b, void *arg)
{
	struct be_find *f = arg;
	struct gw_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.family = b->family;
	memcpy(ip.addr, b->addr, sizeof(ip.addr));
	if (gw_ip_equal(&ip, &f->ep->ip) && ntohs(b->port) == f->ep->port) {
		*f->b = *b;
		f->found = 1;
		return 1;
	}
	return 0;
}

int gw_backend_find(const struct gw_dp_maps *m, __u32 svc_id, const struct gw_endpoint *ep,
		    struct gw_backend *b)
{
	struct be_find f = { .ep = ep, .b = b };
	int err;

	err = gw_dp_foreach_backend(m, svc_id, be_find_cb, &f);
	if (err < 0)
		return err;
	return f.found ? 0 : -ENOENT;
}
