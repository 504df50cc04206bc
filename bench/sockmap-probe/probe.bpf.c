// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Feasibility probe for gw's sockmap splice (a study; not built by the Makefile).
 *
 * sock_hash[tuple(X)] = X (a socket can be in a sockhash with programs only
 * once: a second key gives EBUSY, sock_map_link()), peer[tuple(X)] = the
 * key of the socket X's bytes go to. Route entries in peer (lip = rip = 0,
 * lport = route id) name a backend socket for the HTTP steering test.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct tuple {
	__u32 lip, rip;		/* network order */
	__u32 lport, rport;	/* host order; __sk_buff/sk_msg_md remote_port is the be16 port << 16 on LE (filter.c, 6.1 and later), so bpf_ntohl() gives it */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1024);
	__type(key, struct tuple);
	__type(value, __u64);
} sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tuple);
	__type(value, struct tuple);
} peer SEC(".maps");

/* per-CPU counters: 0 skb verdict runs, 1 skb bytes, 2 redirect ok,
 * 3 redirect miss (pass), 4 parser runs, 5 parser need-more, 6 parser err,
 * 7 msg runs, 8 msg bytes, 9 http route a, 10 http route b, 11 http fallback */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} cnt SEC(".maps");

/* sockops events: index = op (0..15), 16 = state cb to CLOSE, 17 cb set ok */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} ops_cnt SEC(".maps");

const volatile __u64 redir_flags = 0;	/* 0 = egress, BPF_F_INGRESS */
const volatile __u32 gw_port = 0;
const volatile __u32 no_fin_fix = 0;	/* 1: redirect the bare FIN too */	/* client-facing port (HTTP test) */

static __always_inline void add(__u32 i, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&cnt, &i);

	if (p)
		*p += v;
}

static __always_inline void skb_tuple(struct __sk_buff *skb, struct tuple *t)
{
	t->lip = skb->local_ip4;
	t->rip = skb->remote_ip4;
	t->lport = skb->local_port;
	t->rport = bpf_ntohl(skb->remote_port);
}

SEC("sk_skb/stream_parser")
int parse_whole(struct __sk_buff *skb)
{
	add(4, 1);
	return skb->len;
}

static __always_inline int redirect_peer(struct __sk_buff *skb)
{
	struct tuple t = {}, *to;
	long r;

	skb_tuple(skb, &t);
	add(0, 1);
	add(1, skb->len);
	/* The verdict-only hook (tcp_read_skb) also hands over the bare FIN
	 * skb (len 0). Redirected to egress it makes the target's backlog
	 * send 0 bytes, which sk_psock_backlog() takes as an error: EPIPE on
	 * the target. Keep it here: the socket's owner sees EOF. */
	if (skb->len == 0 && !no_fin_fix) {
		add(12, 1);
		return SK_PASS;
	}
	to = bpf_map_lookup_elem(&peer, &t);
	if (!to) {
		add(3, 1);
		return SK_PASS;
	}
	r = bpf_sk_redirect_hash(skb, &sock_hash, to, redir_flags);
	add(r == SK_PASS ? 2 : 3, 1);
	return r == SK_PASS ? SK_PASS : SK_PASS; /* miss: deliver locally */
}

SEC("sk_skb/stream_verdict")
int verdict_peer(struct __sk_buff *skb)
{
	return redirect_peer(skb);
}

/* Same body, attached as BPF_SK_SKB_VERDICT (no strparser). */
SEC("sk_skb")
int verdict_only(struct __sk_buff *skb)
{
	return redirect_peer(skb);
}

/* HTTP framing: the message is the request head (GET only in this probe):
 * scan for CRLFCRLF in the first HEAD_MAX bytes. 0 = need more bytes,
 * negative = abort (the kernel errors the socket). */
#define HEAD_MAX 512
#define CHUNK 64

SEC("sk_skb/stream_parser")
int parse_http(struct __sk_buff *skb)
{
	__u8 buf[CHUNK + 3];
	__u32 len = skb->len, off;
	__u32 st = 0;	/* matched bytes of \r\n\r\n */

	add(4, 1);
	for (off = 0; off < HEAD_MAX; off += CHUNK) {
		__u32 n = len - off, i;

		if (off >= len)
			break;
		if (n > CHUNK)
			n = CHUNK;
		if (n == CHUNK) {
			if (bpf_skb_load_bytes(skb, off, buf, CHUNK))
				break;
		} else {
			/* tail: byte by byte keeps the verifier happy */
			for (i = 0; i < CHUNK; i++) {
				if (i >= n)
					break;
				if (bpf_skb_load_bytes(skb, off + i, &buf[i & (CHUNK - 1)], 1))
					break;
			}
		}
		for (i = 0; i < CHUNK; i++) {
			__u8 c;

			if (i >= n)
				break;
			c = buf[i & (CHUNK - 1)];
			if ((st == 0 || st == 2) && c == '\r')
				st++;
			else if ((st == 1 || st == 3) && c == '\n')
				st++;
			else
				st = c == '\r' ? 1 : 0;
			if (st == 4)
				return off + i + 1;
		}
	}
	if (len >= HEAD_MAX) {
		add(6, 1);
		return -90;	/* -EMSGSIZE */
	}
	add(5, 1);
	return 0;
}

/* Per-message steering: requests on the gw port go to route 1 (/a) or 2
 * (/b) by path; answers go back by the peer tuple. */
SEC("sk_skb/stream_verdict")
int verdict_http(struct __sk_buff *skb)
{
	struct tuple t = {}, *to;
	char m[6];

	add(0, 1);
	add(1, skb->len);
	if (skb->local_port != gw_port)
		return redirect_peer(skb);
	if (bpf_skb_load_bytes(skb, 0, m, 6)) {
		add(11, 1);
		return SK_PASS;	/* gwd reads it */
	}
	if (m[0] != 'G' || m[1] != 'E' || m[2] != 'T' || m[3] != ' ' || m[4] != '/') {
		add(11, 1);
		return SK_PASS;
	}
	t.lport = m[5] == 'b' ? 2 : 1;
	add(t.lport == 2 ? 10 : 9, 1);
	to = bpf_map_lookup_elem(&peer, &t);
	if (!to)
		return SK_PASS;
	return bpf_sk_redirect_hash(skb, &sock_hash, to, 0);
}

/* sk_msg: runs on sendmsg() by the socket's owner. */
SEC("sk_msg")
int msg_peer(struct sk_msg_md *msg)
{
	struct tuple t = {}, *to;

	t.lip = msg->local_ip4;
	t.rip = msg->remote_ip4;
	t.lport = msg->local_port;
	t.rport = bpf_ntohl(msg->remote_port);
	add(7, 1);
	add(8, msg->size);
	to = bpf_map_lookup_elem(&peer, &t);
	if (!to)
		return SK_PASS;
	return bpf_msg_redirect_hash(msg, &sock_hash, to, redir_flags);
}

SEC("sockops")
int sockops_probe(struct bpf_sock_ops *ops)
{
	__u32 op = ops->op, k;
	__u64 *p;

	k = op & 15;
	p = bpf_map_lookup_elem(&ops_cnt, &k);
	if (p)
		__sync_fetch_and_add(p, 1);
	switch (op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (!bpf_sock_ops_cb_flags_set(ops, BPF_SOCK_OPS_STATE_CB_FLAG)) {
			k = 17;
			p = bpf_map_lookup_elem(&ops_cnt, &k);
			if (p)
				__sync_fetch_and_add(p, 1);
		}
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (ops->args[1] == BPF_TCP_CLOSE) {
			k = 16;
			p = bpf_map_lookup_elem(&ops_cnt, &k);
			if (p)
				__sync_fetch_and_add(p, 1);
		}
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
