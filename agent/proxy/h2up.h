/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/2 to upstream servers (upstreams[].protocol: h2c, or h2 over TLS
 * with ALPN; docs/http2.md), with libnghttp2.
 *
 * The proxy keeps speaking HTTP/1.1 to its upstream connections: for an
 * HTTP/2 upstream its connection is one end of a socket pair (a channel)
 * whose other end is read by a translator on the worker's loop. Each
 * HTTP/1.1 request a channel carries becomes one stream on a shared
 * session: one TCP (or TLS) connection to the server with an nghttp2
 * client session, carrying up to max_streams streams of many channels at
 * once (and no more than the server's SETTINGS_MAX_CONCURRENT_STREAMS);
 * when every session to that server is full, another one is opened. The
 * stream's response comes back to the channel as HTTP/1.1 with a chunked
 * body whose trailer section carries the response's trailers
 * (grpc-status). The pools, retries and timeouts of the HTTP/1.1 path apply
 * to the channels unchanged; a stream the server refused (RST_STREAM
 * REFUSED_STREAM, or above a GOAWAY's last stream ID) goes again on
 * another session when nothing of its body went out yet.
 *
 * Sessions are per loop (one worker's): a session without streams lives
 * idle_ns, then closes.
 */
#ifndef GW_PROXY_H2UP_H
#define GW_PROXY_H2UP_H

#include <sys/socket.h>
#include "core/addr.h"
#include "core/loop.h"

struct gw_uptls;

/* Where and how a channel's streams go. */
struct gw_h2up_target {
	const struct sockaddr *sa;
	socklen_t salen;
	const struct gw_endpoint *addr;	/* the server (TLS: SNI, session cache slot) */
	struct gw_uptls *tls;		/* protocol h2: TLS with ALPN h2; NULL: h2c */
	__u32 max_streams;		/* streams at once per connection */
	__u32 window;			/* each stream's receive window */
	__u32 conn_window;		/* the connection's receive window */
	__u32 header_list;		/* SETTINGS_MAX_HEADER_LIST_SIZE */
	__u32 table;			/* SETTINGS_HEADER_TABLE_SIZE */
	__u64 idle_ns;			/* a session without streams lives this long; 0: closes */
};

/* A channel to the HTTP/2 server of t on loop (t is copied; t->tls gets a
 * reference per session). Returns the proxy's end (non-blocking,
 * close-on-exec; it reads EOF when the server cannot be reached, the TLS
 * handshake or ALPN fails, or the stream fails before its answer is
 * complete), or -errno. */
int gw_h2up_open(struct gw_loop *loop, const struct gw_h2up_target *t);

/* Closes every session of loop (the worker is ending); its channels read
 * EOF. Returns nothing. */
void gw_h2up_close_all(struct gw_loop *loop);

/* Counters of this process: sessions opened, ALPN refusals (a TLS server
 * that did not choose h2), streams sent again after REFUSED_STREAM or a
 * GOAWAY. Returns nothing. */
void gw_h2up_counts(unsigned long *sessions, unsigned long *alpn_fail, unsigned long *retried);

#endif /* GW_PROXY_H2UP_H */
