/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/2 with prior knowledge to upstream servers (upstreams[].protocol:
 * h2c; docs/http2.md), with libnghttp2.
 *
 * The proxy keeps speaking HTTP/1.1 to its upstream connections: for an h2c
 * upstream its connection is one end of a socket pair whose other end is a
 * translator on the worker's loop. The translator holds the TCP connection
 * to the server and an nghttp2 client session on it; each HTTP/1.1 request
 * it reads becomes one stream (one at a time per connection, so the pools,
 * retries and timeouts of the HTTP/1.1 path apply unchanged), and the
 * stream's response comes back as HTTP/1.1 with a chunked body whose
 * trailer section carries the response's trailers (grpc-status).
 */
#ifndef GW_PROXY_H2UP_H
#define GW_PROXY_H2UP_H

#include <sys/socket.h>
#include "core/loop.h"

/* A connection to the h2c server at sa on loop. Returns the proxy's end
 * (non-blocking, close-on-exec; it reads EOF when the server cannot be
 * reached or the connection fails), or -errno. */
int gw_h2up_open(struct gw_loop *loop, const struct sockaddr *sa, socklen_t salen);

#endif /* GW_PROXY_H2UP_H */
