/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Client certificates on TLS listeners (listeners[].client_ca and
 * client_cert, docs/tls.md). A listener with a client CA asks every client
 * for a certificate and verifies it against the CA file; `required` fails
 * the handshake of a client without one, `optional` serves it without a
 * subject. A certificate that does not verify fails the handshake in both
 * modes. The verified subject (RFC 2253 text) is the request's consumer
 * for rate limits until auth names another, and goes upstream in the
 * route's client_cert_header.
 *
 * The listener's settings ride on each SSL (a reference) and are applied
 * again in the client hello callback (tls.c) after the certificate choice
 * moved the SSL to another SSL_CTX. Sessions of a listener with client
 * certificates get their own id context (certificate, CA file and mode),
 * so a session made elsewhere never resumes into it without a certificate.
 */
#ifndef GW_CLIENTCERT_H
#define GW_CLIENTCERT_H

#include <stddef.h>
#include <openssl/ssl.h>

struct gw_cauth;

/* Loads the CA file for mode GW_CLIENT_CERT_*. Returns 0 with *out (one
 * reference), or a negative errno with the reason naming the file in err. */
int gw_cauth_build(const char *ca_file, int mode, struct gw_cauth **out, char *err,
		   size_t errlen);

struct gw_cauth *gw_cauth_get(struct gw_cauth *a);
void gw_cauth_put(struct gw_cauth *a);

/* Makes a server SSL of a gw_tls_set (tls.h) ask for client certificates
 * as a says, from its client hello callback on (the SSL takes a
 * reference). Returns 0 or -ENOMEM. */
int gw_cauth_attach(SSL *ssl, struct gw_cauth *a);

/* The client hello callback's part: applies the SSL's settings again on
 * the SSL_CTX it now uses. Returns 0 (also without settings) or -ENOMEM. */
int gw_cauth_on_hello(SSL *ssl);

/* Writes the verified client certificate's subject (RFC 2253, printable
 * ASCII) into buf. Returns its length, 0 when the client sent none (or it
 * does not fit). */
size_t gw_cauth_subject(SSL *ssl, char *buf, size_t len);

#endif /* GW_CLIENTCERT_H */
