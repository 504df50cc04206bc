/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TLS from gwd to an upstream's servers (upstreams[].tls, docs/tls.md).
 *
 * One client context per upstream entry of a config: the trust store (a CA
 * file, or the system's), an optional client certificate and key (mTLS to
 * the servers), the name sent as SNI and the name the server's certificate
 * must carry. Each connection gets an SSL from gw_uptls_new_ssl(), which
 * offers the last session that server gave (one cache slot per server
 * address, shared by the workers under a mutex), so that reconnects resume
 * instead of running a full handshake. The object is refcounted: every
 * snapshot listing the upstream and every live SSL hold a reference.
 *
 * Everything here runs on the caller's loop without blocking: the
 * handshake, reads and writes return "wants read/write" and the caller
 * waits for readiness (proxy.c, and the health checker through
 * gw_uptls_health_ops()).
 */
#ifndef GW_UPSTREAM_TLS_H
#define GW_UPSTREAM_TLS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <openssl/ssl.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/health.h"

struct gw_uptls;
struct gw_upstream;

/* Builds the context of one upstream's `tls` section (cfg->pos.line 0:
 * *out stays NULL, plain TCP). Returns 0, or a negative errno with a
 * message naming the key and file in err; *bad_pos points at the key to
 * blame when given. */
int gw_uptls_build(const struct gw_cfg_uptls *cfg, struct gw_uptls **out, char *err,
		   size_t errlen, const struct gw_cfg_pos **bad_pos);

struct gw_uptls *gw_uptls_get(struct gw_uptls *t);
void gw_uptls_put(struct gw_uptls *t);

/* A client SSL on fd for server `addr`: SNI, the name to verify and the
 * server's cached session set. Returns NULL on -ENOMEM. */
SSL *gw_uptls_new_ssl(struct gw_uptls *t, const struct gw_endpoint *addr, int fd);

/* Drives the handshake. Returns 1 when done, 0 when it waits for the
 * socket (*want_write set when it waits to write), -EPROTO when it
 * failed (the reason in why, e.g. "certificate verify failed: ..."). */
int gw_uptls_handshake(SSL *ssl, int *want_write, char *why, size_t whylen);

/* Reads into buf. Returns bytes (> 0), 0 at the end of the stream (a
 * close_notify, or the TCP end without one), -EAGAIN when it waits
 * (*ready cleared), -EPROTO on a TLS error (an alert from the server: with
 * TLS 1.3 a refused client certificate shows here, after the client's side
 * of the handshake ended), or -EIO. */
ssize_t gw_uptls_read(SSL *ssl, char *buf, size_t len, unsigned int *ready);

/* Writes buf. Returns bytes written (>= 0; 0 clears *ready: the socket is
 * full or the session waits to read) or -EIO. */
ssize_t gw_uptls_write(SSL *ssl, const char *buf, size_t len, unsigned int *ready);

/* Writes a then b as one record, copied into scratch (room for alen +
 * blen bytes) when both have bytes. Returns what gw_uptls_write() does. */
ssize_t gw_uptls_write2(SSL *ssl, char *scratch, const char *a, size_t alen, const char *b,
			size_t blen, unsigned int *ready);

/* An idle pooled connection became readable: processes what TLS sends
 * outside the stream (TLS 1.3 session tickets, key updates). Returns 1
 * when the connection may stay in the pool, 0 when it must close (data,
 * an alert, the end). */
int gw_uptls_idle_ok(SSL *ssl);

/* Counters of an upstream's TLS: full handshakes and resumed ones. */
void gw_uptls_counts(const struct gw_uptls *t, unsigned long *full, unsigned long *resumed);

/* Writes gw_upstream_tls_handshakes_total{upstream,kind="full"|"resumed"}
 * for the upstreams with TLS among ups[n] (a reload starts them again:
 * new contexts). Returns nothing. */
void gw_uptls_prom(FILE *f, const struct gw_upstream *ups, size_t n);

/* The transport the health checker uses for probes over TLS; arg is the
 * gw_uptls (the checker holds no reference: the caller keeps the upstream
 * alive while its checks run). */
extern const struct gw_health_xport gw_uptls_health_xport;

#endif /* GW_UPSTREAM_TLS_H */
