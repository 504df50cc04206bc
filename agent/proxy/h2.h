/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * HTTP/2 on client connections (docs/http2.md), with libnghttp2 for the
 * framing, HPACK, flow control and RFC 9113 message checks.
 *
 * A client connection that speaks HTTP/2 (ALPN h2 on TLS, the connection
 * preface on a listener with h2c: true) gets a struct gw_h2 and reads and
 * writes only through it. Each request stream becomes a stream connection:
 * a struct gw_cli without a socket, made by proxy.c, that reads the
 * stream's request as HTTP/1.1 bytes (a head made of the pseudo-headers and
 * fields, then the body: as it is with a content-length, else chunked) and
 * writes an HTTP/1.1 response that h2.c turns into HEADERS and DATA frames.
 * So every stage of a request (routing, auth, limits, fields, the upstream
 * pools, logs, metrics) runs per stream through the one HTTP/1.1 path.
 *
 * Flow control: a stream's request bytes are acknowledged (WINDOW_UPDATE)
 * as its stream connection takes them, so what a client may send is bounded
 * by the windows; a stream's response waits in a 16 KiB buffer for the
 * client's window.
 */
#ifndef GW_PROXY_H2_H
#define GW_PROXY_H2_H

#include <stddef.h>
#include <sys/types.h>
#include <nghttp2/nghttp2.h>
#include "core/loop.h"
#include "http/http1.h"
#include "l7/snap.h"

struct gw_cli;
struct gw_h2;
struct gw_h2_stream;

/* Abuse limits (docs/http2.md): a client above one of them within a second
 * gets GOAWAY with ENHANCE_YOUR_CALM (gw_http2_abuse_total). */
#define GW_H2_MAX_RST_PER_S 200		/* RST_STREAM from the client: Rapid Reset */
#define GW_H2_MAX_PING_PER_S 100
#define GW_H2_MAX_SETTINGS_PER_S 100
#define GW_H2_MAX_EMPTY_DATA_PER_S 100	/* DATA without bytes nor END_STREAM */
#define GW_H2_MAX_CONTINUATIONS 8	/* CONTINUATION frames per header block */
#define GW_H2_MAX_STREAMS_PER_CONN 100000	/* then a graceful GOAWAY */
#define GW_H2_RS_BUF 16384		/* a stream's response bytes waiting */

/* The callbacks of a session (h2.c's server, h2up.c's client). */
struct gw_h2_callbacks {
	nghttp2_on_begin_headers_callback begin_headers;	/* may be NULL */
	nghttp2_on_header_callback header;
	nghttp2_on_frame_recv_callback frame_recv;
	nghttp2_on_data_chunk_recv_callback data_chunk;
	nghttp2_on_stream_close_callback stream_close;
	nghttp2_on_frame_send_callback frame_send;		/* may be NULL */
};

/* A server (server 1) or client session with gw's options: windows given
 * back by the caller (nghttp2_session_consume), at most
 * GW_H2_MAX_CONTINUATIONS CONTINUATION frames, a 4 KiB HPACK table for
 * what gwd sends. Returns 0 and the session in *out, or -ENOMEM. */
int gw_h2_session_new(nghttp2_session **out, void *user, int server,
		      const struct gw_h2_callbacks *c);

/* Returns 1 for a field HTTP/2 does not carry (RFC 9113 8.2.2: Connection,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE, and those
 * Connection names), else 0. */
int gw_h2_conn_specific(const struct gw_http_hdr *f);

/* ---- h2.c, for proxy.c -------------------------------------------------------- */

/* Looks at the first bytes of a plain connection. Returns 1 when they
 * start with the HTTP/2 connection preface, 0 when they are a prefix of it
 * (wait for more), -1 when they are not. */
int gw_h2_preface(const char *p, size_t len);

/* HTTP/2 on client connection c with the listener's settings. Returns the
 * new state or NULL (out of memory). */
struct gw_h2 *gw_h2_new(struct gw_cli *c, struct gw_loop *loop, const struct gw_l7_cto *to,
			struct gw_l7_lstats *st);

/* Every step the connection allows. Returns 0, or -1 when it was closed. */
int gw_h2_drive(struct gw_h2 *h);

/* Ends every stream (their requests end as the client's abort) and frees
 * h after the loop's batch. */
void gw_h2_free(struct gw_h2 *h);

/* When the connection became idle (no stream open), in loop ns; 0 while a
 * stream is open. */
__u64 gw_h2_idle_since(const struct gw_h2 *h);

/* Drain: GOAWAY; the connection closes once its streams are done. */
void gw_h2_drain(struct gw_h2 *h);

/* A stream connection reads its request: up to room bytes into buf.
 * Returns bytes (> 0), 0 at the request's end, -EAGAIN when none yet (the
 * stream connection is kicked when some come), -ENOSPC when room is too
 * small for what there is (read again once there is more room). */
ssize_t gw_h2_stream_recv(struct gw_h2_stream *st, char *buf, size_t room);

/* A stream connection writes its response (HTTP/1.1 bytes: a head with the
 * body's start, then body bytes). Returns the bytes taken (0: none now, the
 * stream connection is kicked when there is room), or -EIO (a response h2
 * cannot carry: the stream is reset). */
ssize_t gw_h2_stream_send(struct gw_h2_stream *st, const char *a, size_t alen, const char *b,
			  size_t blen);

/* The stream connection closes: its response is complete (it ends the
 * stream) or not (the stream is reset). */
void gw_h2_stream_done(struct gw_h2_stream *st, int complete);

/* ---- proxy.c, for h2.c -------------------------------------------------------- */

/* Reads what the client connection has. Returns 1 on new bytes or EOF, 0
 * without, -1 when the connection was closed; *p and *len are the bytes
 * not consumed yet, *eof whether the client ended. */
int gw_cli_h2_read(struct gw_cli *c, const char **p, size_t *len, int *eof);

/* n bytes of what gw_cli_h2_read() gave were used. */
void gw_cli_h2_consume(struct gw_cli *c, size_t n);

/* Sends to the client. Returns the bytes sent (0: the socket is full), or
 * -1 when the connection was closed. */
ssize_t gw_cli_h2_write(struct gw_cli *c, const char *p, size_t len);

/* The client's address, for messages. */
const char *gw_cli_h2_peer(const struct gw_cli *c);

/* Closes the client connection. */
void gw_cli_h2_close(struct gw_cli *c);

/* Drives a client or stream connection again (readiness set). */
void gw_cli_h2_kick(struct gw_cli *c, int rd, int wr);

/* A stream connection for st on client connection parent. Returns it, or
 * NULL (out of memory). */
struct gw_cli *gw_cli_stream_new(struct gw_cli *parent, struct gw_h2_stream *st);

/* The client reset the stream (or its connection is going): the request
 * ends as aborted, and gw_h2_stream_done() is called. */
void gw_cli_stream_abort(struct gw_cli *sc);

#endif /* GW_PROXY_H2_H */
