/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The L7 access log: one JSON object a line per request (gateway.access_log).
 *
 * Each worker formats into its own buffer (no lock on the request path) and
 * flushes whole lines with one write(2) on an O_APPEND descriptor, so lines
 * of different workers never interleave. Log rotation: SIGUSR1 makes gwd call
 * gw_accesslog_reopen(), which opens the path again and dup2()s it onto the
 * descriptor the workers write to: no worker ever sees a closed descriptor.
 *
 * Fields: time (RFC 3339, UTC, ms), client, method, path, route, upstream,
 * status, bytes_in, bytes_out, duration_ms, consumer, tls, request_id,
 * reason (why gwd answered itself: "no_server", "upstream_timeout" ...; null
 * when the upstream answered); a field without a value is null. Strings are
 * escaped so every line is valid JSON whatever the request held.
 */
#ifndef GW_ACCESSLOG_H
#define GW_ACCESSLOG_H

#include <stddef.h>
#include <linux/types.h>
#include "core/addr.h"

struct gw_accesslog;

struct gw_access_rec {
	__u64 time_ns;			/* CLOCK_REALTIME at the request's start */
	__u64 duration_ns;
	const struct gw_ip *client;
	const char *method;
	size_t method_len;
	const char *path;		/* as received (target without the query) */
	size_t path_len;
	const char *route;		/* NULL: no route matched */
	const char *upstream;		/* "ADDR:PORT" of the server, or NULL */
	int status;
	__u64 bytes_in, bytes_out;	/* body bytes from the client / to it */
	const char *consumer;		/* authenticated consumer, or NULL */
	const char *tls;		/* "TLSv1.3", or NULL for plain HTTP */
	const char *protocol;		/* "HTTP/1.1", "HTTP/2"; NULL: not known */
	const char *request_id;
	const char *reason;		/* why gwd answered itself, or NULL */
	int spliced;			/* the kernel moved the connection's bytes */
	const char *ktls;		/* "tx+rx", "tx", "rx": kTLS directions; NULL: none */
};

/* A worker's buffer. */
struct gw_accesslog_buf {
	char data[65536];
	size_t len;
};

/* Opens (creating, mode 0640) `path` for appending. Returns 0 and the log
 * in *out, or -errno. */
int gw_accesslog_open(const char *path, struct gw_accesslog **out);

/* Opens the path again (after rotation) in place. Returns 0 or -errno (the
 * old file stays in use). */
int gw_accesslog_reopen(struct gw_accesslog *log);

void gw_accesslog_close(struct gw_accesslog *log);

/* Writes one record as a JSON line into buf (len bytes). Returns the line's
 * length (newline included) or -ENOSPC. */
int gw_accesslog_format(const struct gw_access_rec *r, char *buf, size_t len);

/* Appends a record to the worker's buffer, flushing it first when full.
 * Returns 0 or -errno (a record too large for the buffer: -ENOSPC, dropped
 * and counted). */
int gw_accesslog_append(struct gw_accesslog *log, struct gw_accesslog_buf *b,
			const struct gw_access_rec *r);

/* Writes out the buffer's whole lines. Returns 0 or -errno (the lines are
 * dropped and counted). */
int gw_accesslog_flush(struct gw_accesslog *log, struct gw_accesslog_buf *b);

/* Lines lost to write errors or oversize (for metrics). */
__u64 gw_accesslog_dropped(const struct gw_accesslog *log);

#endif /* GW_ACCESSLOG_H */
