/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kernel TLS on gwd's TLS listeners (listeners[].ktls, docs/tls.md). With
 * `ktls: auto` on a kernel that has the tls module (core/ktlsprobe.h), a
 * connection's SSL gets SSL_OP_ENABLE_KTLS before its handshake: OpenSSL 3
 * hands the record keys to the kernel (TCP_ULP "tls", TLS_TX and TLS_RX)
 * as each direction's application keys are set, when the cipher is one
 * the kernel knows (AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305). From
 * then on SSL_read() and SSL_write() move plaintext through the socket and
 * the kernel does the record crypto; OpenSSL still reads and writes the
 * control records (alerts, TLS 1.3 tickets) through cmsg. Anything else
 * (ktls: off, no module, another cipher, a kernel that refuses one
 * direction) leaves that direction in OpenSSL, counted by reason.
 *
 * Read-ahead is off on these SSLs: OpenSSL can only hand the receive
 * direction to the kernel when it has not read past the last handshake
 * record.
 */
#ifndef GW_KTLS_H
#define GW_KTLS_H

#include <stdio.h>
#include <stddef.h>
#include <openssl/ssl.h>

/* what the kernel does for a connection after its handshake (bits) */
#define GW_KTLS_TX 1	/* the kernel encrypts what gwd sends */
#define GW_KTLS_RX 2	/* the kernel decrypts what the client sends */

/* before the handshake: the plan for a connection (gw_ktls_prepare()) */
#define GW_KTLS_PLAN_OFF 0x10	/* the listener says ktls: off */
#define GW_KTLS_PLAN_NONE 0x20	/* the kernel has no kTLS */
#define GW_KTLS_PLAN_TRY 0x40	/* OpenSSL offers the keys to the kernel */

/* Probes once (loading the module where it can, logging the answer).
 * Returns 1 when kTLS is available. */
int gw_ktls_available(void);

/*
 * Sets up a new server SSL of a listener whose `ktls` is mode (GW_KTLS_*
 * of config.h), before its handshake. Returns the plan (GW_KTLS_PLAN_*)
 * to give gw_ktls_established() once the handshake is done.
 */
int gw_ktls_prepare(SSL *ssl, int mode);

/*
 * A ClientHello's supported_versions extension body p[len] (RFC 8446
 * 4.2.1: a length byte, then 2-byte versions; bytes past that length are
 * ignored). Returns 1 when it lists TLS 1.3 (0x0304), else 0 (also when
 * malformed).
 */
int gw_ktls_lists_tls13(const unsigned char *p, size_t len);

/*
 * From the ClientHello callback: when TLS 1.3 will be chosen (the client
 * offers it and the listener allows it), the connection's record crypto
 * stays in OpenSSL. Debian 12's libssl 3.0 hands the kernel only the send
 * keys of TLS 1.3 and cannot change them on a KeyUpdate the client asks
 * for, after which the client could read nothing. Returns 1 when kTLS was
 * turned off for this connection, else 0.
 */
int gw_ktls_on_hello(SSL *ssl);

/*
 * After the handshake of an SSL set up with plan: which directions the
 * kernel took (GW_KTLS_TX | GW_KTLS_RX, 0: all in OpenSSL). Counts the
 * connection (gw_ktls_connections, gw_ktls_handshakes_total{result}).
 * Returns those bits.
 */
int gw_ktls_established(SSL *ssl, int plan);

/*
 * Call when SSL_read() of a connection whose plan is GW_KTLS_PLAN_TRY says
 * WANT_READ during its handshake. On Debian's 6.1 a record that reached
 * the socket before OpenSSL set TLS_RX (a TLS 1.2 client's Finished, sent
 * with its ChangeCipherSpec) can stay in the TCP queue with no wakeup:
 * the tls strparser runs on new data only, so gwd would wait for the
 * handshake timeout. SO_RCVLOWAT (tcp_set_rcvlowat()) runs the socket's
 * data_ready, which parses what is queued and wakes epoll. Returns 1 when
 * it kicked, 0 when the receive side is not in the kernel, or -errno.
 */
int gw_ktls_rx_kick(SSL *ssl, int fd);

/* A connection whose gw_ktls_established() gave state closes. Returns 0. */
int gw_ktls_closed(int state);

/* "tx+rx", "tx", "rx", or NULL for 0: the access log's "ktls" field. */
const char *gw_ktls_name(int state);

/* Writes the kTLS metrics in the Prometheus text format. Returns 0. */
int gw_ktls_metrics(FILE *f);

#endif /* GW_KTLS_H */
