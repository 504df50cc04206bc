// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gw's sockmap splice (docs/design-sockmap.md section 4): after gwd has
 * routed a connection in user space, it puts its two sockets (client side
 * and upstream side) into gw_sk_hash and names each one's target in
 * gw_sk_peer. The strparser framing takes whatever arrived (no HTTP
 * knowledge), and the verdict sends it out of the peer socket (egress).
 * Anything it cannot redirect stays on the socket for gwd (SK_PASS): a
 * dropped skb would be lost after TCP acked it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gw/splice.h"

#define GW_AF_INET 2
#define GW_AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__type(key, struct gw_splice_key);
	__type(value, __u64);
	__uint(max_entries, 2 * GW_SPLICE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_sk_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct gw_splice_key);
	__type(value, struct gw_splice_peer);
	__uint(max_entries, 2 * GW_SPLICE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_sk_peer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, GW_SPLICE_STAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_sk_stats SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&gw_sk_stats, &idx);

	if (p)
		*p += v;
}

/* The socket's own tuple. __sk_buff.remote_port is the network-order port
 * shifted left by 16 (filter.c's ctx rewrite, 6.1 and later): bpf_ntohl()
 * gives it in host order; local_port is in host order already. */
static __always_inline int skb_key(struct __sk_buff *skb, struct gw_splice_key *k)
{
	k->lport = skb->local_port;
	k->rport = bpf_ntohl(skb->remote_port);
	if (skb->family == GW_AF_INET) {
		__u32 l = skb->local_ip4, r = skb->remote_ip4;

		k->family = GW_SPLICE_V4;
		__builtin_memcpy(k->laddr, &l, 4);
		__builtin_memcpy(k->raddr, &r, 4);
		return 0;
	}
	if (skb->family == GW_AF_INET6) {
		__u32 l[4], r[4];

		l[0] = skb->local_ip6[0];
		l[1] = skb->local_ip6[1];
		l[2] = skb->local_ip6[2];
		l[3] = skb->local_ip6[3];
		r[0] = skb->remote_ip6[0];
		r[1] = skb->remote_ip6[1];
		r[2] = skb->remote_ip6[2];
		r[3] = skb->remote_ip6[3];
		k->family = GW_SPLICE_V6;
		__builtin_memcpy(k->laddr, l, 16);
		__builtin_memcpy(k->raddr, r, 16);
		return 0;
	}
	return -1;
}

/* The whole of what arrived is one message: no framing. */
SEC("sk_skb/stream_parser")
int gw_splice_parse(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int gw_splice_verdict(struct __sk_buff *skb)
{
	struct gw_splice_key k = {};
	struct gw_splice_peer *to;
	__u32 len = skb->len;

	/* A bare FIN redirected makes the target's backlog send 0 bytes,
	 * which the kernel takes as EPIPE: keep it local, gwd sees EOF. */
	if (len == 0) {
		stat_add(GW_SPLICE_ST_FIN, 1);
		return SK_PASS;
	}
	if (skb_key(skb, &k)) {
		stat_add(GW_SPLICE_ST_PASS, 1);
		return SK_PASS;
	}
	to = bpf_map_lookup_elem(&gw_sk_peer, &k);
	if (!to) {
		stat_add(GW_SPLICE_ST_PASS, 1);
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &gw_sk_hash, &to->to, 0) != SK_PASS) {
		__sync_fetch_and_add(&to->parked, len);
		stat_add(GW_SPLICE_ST_MISS, 1);
		return SK_PASS;
	}
	__sync_fetch_and_add(&to->bytes, len);
	if (to->dir == GW_SPLICE_DIR_UP) {
		stat_add(GW_SPLICE_ST_UP_BYTES, len);
		stat_add(GW_SPLICE_ST_UP_SKBS, 1);
	} else {
		stat_add(GW_SPLICE_ST_DOWN_BYTES, len);
		stat_add(GW_SPLICE_ST_DOWN_SKBS, 1);
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
