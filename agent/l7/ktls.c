// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kernel TLS on the listeners (ktls.h).
 */
#include <errno.h>
#include <sys/socket.h>
#include <openssl/bio.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include "config/config.h"
#include "core/ktlsprobe.h"
#include "core/log.h"
#include "l7/ktls.h"

/* gw_ktls_handshakes_total{result} */
enum ktls_result {
	KR_BOTH, KR_TX, KR_RX, KR_TLS13, KR_CIPHER, KR_REFUSED, KR_NONE, KR_OFF, KR_MAX
};

static const char *const result_names[KR_MAX] = {
	[KR_BOTH] = "ktls", [KR_TX] = "tx_only", [KR_RX] = "rx_only", [KR_TLS13] = "tls13", [KR_CIPHER] = "cipher",
	[KR_REFUSED] = "refused", [KR_NONE] = "unavailable", [KR_OFF] = "off",
};

static unsigned long long results[KR_MAX];
static long live;	/* connections with at least one direction in the kernel */

int gw_ktls_available(void)
{
	static int logged;
	char why[96] = "";
	int ok = gw_ktls_probe(1, why, sizeof(why));

	if (!__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED)) {
		if (ok)
			pr_info("l7: ktls: available: TLS listeners hand record crypto to the "
				"kernel after the handshake\n");
		else
			pr_info("l7: ktls: unavailable (%s): TLS stays in OpenSSL\n", why);
	}
	return ok;
}

int gw_ktls_prepare(SSL *ssl, int mode)
{
	if (mode == GW_KTLS_OFF)
		return GW_KTLS_PLAN_OFF;
	if (!gw_ktls_available())
		return GW_KTLS_PLAN_NONE;
	SSL_set_options(ssl, SSL_OP_ENABLE_KTLS);
	SSL_set_read_ahead(ssl, 0);
	return GW_KTLS_PLAN_TRY;
}

int gw_ktls_lists_tls13(const unsigned char *p, size_t len)
{
	size_t i, n;

	if (!len)
		return 0;
	n = p[0];
	if (n + 1 > len)
		return 0;
	for (i = 1; i + 1 <= n; i += 2)
		if (p[i] == 0x03 && p[i + 1] == 0x04)
			return 1;
	return 0;
}

/* 1 when the client's ClientHello offers TLS 1.3. */
static int offers_tls13(SSL *ssl)
{
	const unsigned char *p;
	size_t len;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &len))
		return 0;
	return gw_ktls_lists_tls13(p, len);
}

int gw_ktls_on_hello(SSL *ssl)
{
	long max = SSL_get_max_proto_version(ssl);

	if (!(SSL_get_options(ssl) & SSL_OP_ENABLE_KTLS))
		return 0;
	if ((max && max < TLS1_3_VERSION) || !offers_tls13(ssl))
		return 0;
	/* TLS 1.3 will be chosen: OpenSSL 3.0 would hand the kernel only the
	 * send keys and could not rekey them on a KeyUpdate (docs/tls.md) */
	SSL_clear_options(ssl, SSL_OP_ENABLE_KTLS);
	SSL_set_read_ahead(ssl, 1);
	return 1;
}

/* 1 when the connection's cipher is one the kernel's tls module knows. */
static int kernel_cipher(SSL *ssl)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int nid = c ? SSL_CIPHER_get_cipher_nid(c) : NID_undef;

	return nid == NID_aes_128_gcm || nid == NID_aes_256_gcm || nid == NID_chacha20_poly1305;
}

/* The result of a connection that tried, from its state bits. */
static enum ktls_result tried_result(SSL *ssl, int state)
{
	if (state == (GW_KTLS_TX | GW_KTLS_RX))
		return KR_BOTH;
	if (state)
		return state == GW_KTLS_TX ? KR_TX : KR_RX;
	if (SSL_version(ssl) == TLS1_3_VERSION && !(SSL_get_options(ssl) & SSL_OP_ENABLE_KTLS))
		return KR_TLS13;
	return kernel_cipher(ssl) ? KR_REFUSED : KR_CIPHER;
}

int gw_ktls_established(SSL *ssl, int plan)
{
	enum ktls_result r = plan == GW_KTLS_PLAN_OFF ? KR_OFF : KR_NONE;
	int state = 0;

	if (plan == GW_KTLS_PLAN_TRY) {
		if (BIO_get_ktls_send(SSL_get_wbio(ssl)))
			state |= GW_KTLS_TX;
		if (BIO_get_ktls_recv(SSL_get_rbio(ssl)))
			state |= GW_KTLS_RX;
		else
			SSL_set_read_ahead(ssl, 1);	/* OpenSSL reads: fewer read()s */
		r = tried_result(ssl, state);
	}
	__atomic_fetch_add(&results[r], 1, __ATOMIC_RELAXED);
	if (state)
		__atomic_fetch_add(&live, 1, __ATOMIC_RELAXED);
	return state;
}

int gw_ktls_rx_kick(SSL *ssl, int fd)
{
	int one = 1;

	if (!BIO_get_ktls_recv(SSL_get_rbio(ssl)))
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one)))
		return -errno;
	return 1;
}

int gw_ktls_closed(int state)
{
	if (state & (GW_KTLS_TX | GW_KTLS_RX))
		__atomic_fetch_sub(&live, 1, __ATOMIC_RELAXED);
	return 0;
}

const char *gw_ktls_name(int state)
{
	switch (state & (GW_KTLS_TX | GW_KTLS_RX)) {
	case GW_KTLS_TX | GW_KTLS_RX:
		return "tx+rx";
	case GW_KTLS_TX:
		return "tx";
	case GW_KTLS_RX:
		return "rx";
	}
	return NULL;
}

int gw_ktls_metrics(FILE *f)
{
	int i;

	fprintf(f, "# HELP gw_ktls_connections Open client connections whose TLS records the "
		"kernel handles (kTLS, either direction).\n# TYPE gw_ktls_connections gauge\n"
		"gw_ktls_connections %ld\n"
		"# HELP gw_ktls_handshakes_total TLS handshakes done on the listeners, by where "
		"their record crypto went.\n# TYPE gw_ktls_handshakes_total counter\n",
		__atomic_load_n(&live, __ATOMIC_RELAXED));
	for (i = 0; i < KR_MAX; i++)
		fprintf(f, "gw_ktls_handshakes_total{result=\"%s\"} %llu\n", result_names[i],
			__atomic_load_n(&results[i], __ATOMIC_RELAXED));
	return 0;
}
