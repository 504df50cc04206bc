/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sockmap splice's maps, shared by bpf/sockmap.bpf.c and gwd
 * (agent/proxy/splice.c); docs/design-sockmap.md section 4.
 *
 *   gw_sk_hash   SOCKHASH  gw_splice_key -> one of gwd's sockets
 *   gw_sk_peer   HASH      gw_splice_key -> gw_splice_peer (where its bytes go)
 *   gw_sk_stats  PERCPU_ARRAY[GW_SPLICE_STAT_MAX] -> __u64
 *
 * A key is a socket's own 4-tuple as the socket sees it (getsockname and
 * getpeername in gwd, local_* and remote_* of __sk_buff in BPF), in the
 * socket's own family: a v4 client on a dual-stack listener has an AF_INET6
 * socket and a ::ffff:a.b.c.d key. Ports are in host order. IPv4 addresses
 * fill the first 4 bytes of the address fields, the rest is zero.
 */
#ifndef GW_SPLICE_H
#define GW_SPLICE_H

#include <linux/types.h>

#ifndef GW_SPLICE_MAX
#define GW_SPLICE_MAX 16384	/* spliced connections (two sockets each) */
#endif

/* gw_splice_key.family */
#define GW_SPLICE_V4 4
#define GW_SPLICE_V6 6

struct gw_splice_key {
	__u32 family;		/* GW_SPLICE_V4 / GW_SPLICE_V6 */
	__u32 lport;		/* host order */
	__u32 rport;		/* host order */
	__u32 pad;		/* zero */
	__u8 laddr[16];
	__u8 raddr[16];
};

/* gw_splice_peer.dir: which way this socket's bytes go */
#define GW_SPLICE_DIR_UP 0	/* a client socket: bytes go to the upstream */
#define GW_SPLICE_DIR_DOWN 1	/* an upstream socket: bytes go to the client */

struct gw_splice_peer {
	struct gw_splice_key to;	/* the socket this one's bytes go to */
	__u64 bytes;		/* redirected from this socket (atomic adds) */
	__u64 parked;		/* left to gwd: the redirect failed (atomic adds) */
	__u32 dir;		/* GW_SPLICE_DIR_* */
	__u32 pad;
};

/* gw_sk_stats indexes */
enum gw_splice_stat {
	GW_SPLICE_ST_UP_BYTES,		/* redirected client -> upstream */
	GW_SPLICE_ST_DOWN_BYTES,	/* redirected upstream -> client */
	GW_SPLICE_ST_UP_SKBS,
	GW_SPLICE_ST_DOWN_SKBS,
	GW_SPLICE_ST_PASS,		/* no peer entry: left on the socket for gwd */
	GW_SPLICE_ST_MISS,		/* the redirect failed: left for gwd */
	GW_SPLICE_ST_FIN,		/* zero-length skb: kept local */
	GW_SPLICE_STAT_MAX,
};

_Static_assert(sizeof(struct gw_splice_key) == 48, "gw_splice_key is part of the ABI");
_Static_assert(sizeof(struct gw_splice_peer) == 72, "gw_splice_peer is part of the ABI");

#endif /* GW_SPLICE_H */
