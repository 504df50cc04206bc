// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPv6 / dual-stack key check for the sockmap splice design (not in the repo). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10

struct key6 {
	__u32 family;
	__u32 lport, rport;	/* host order */
	__u32 pad;
	__u32 laddr[4], raddr[4];	/* IPv4: laddr[0], rest 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 64);
	__type(key, struct key6);
	__type(value, __u64);
} sk6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct key6);
	__type(value, struct key6);
} peer6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} cnt6 SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *p = bpf_map_lookup_elem(&cnt6, &i);

	if (p)
		__sync_fetch_and_add(p, 1);
}

SEC("sk_skb/stream_parser")
int parse6(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int verdict6(struct __sk_buff *skb)
{
	struct key6 k = {}, *to;

	if (skb->len == 0)
		return SK_PASS;
	k.family = skb->family;
	k.lport = skb->local_port;
	k.rport = bpf_ntohl(skb->remote_port);
	if (skb->family == AF_INET6) {
		k.laddr[0] = skb->local_ip6[0];
		k.laddr[1] = skb->local_ip6[1];
		k.laddr[2] = skb->local_ip6[2];
		k.laddr[3] = skb->local_ip6[3];
		k.raddr[0] = skb->remote_ip6[0];
		k.raddr[1] = skb->remote_ip6[1];
		k.raddr[2] = skb->remote_ip6[2];
		k.raddr[3] = skb->remote_ip6[3];
	} else {
		k.laddr[0] = skb->local_ip4;
		k.raddr[0] = skb->remote_ip4;
	}
	to = bpf_map_lookup_elem(&peer6, &k);
	if (!to) {
		bump(1);
		return SK_PASS;
	}
	if (bpf_sk_redirect_hash(skb, &sk6, to, 0) != SK_PASS) {
		bump(2);
		return SK_PASS;
	}
	bump(0);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
