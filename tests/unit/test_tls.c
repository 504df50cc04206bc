// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * agent/l7/tls.c: real handshakes between an OpenSSL client and gwd's server
 * contexts over in-memory BIO pairs. A CA and leaf certificates are made at
 * setup with the OpenSSL API. Checked: certificate choice by SNI (exact,
 * wildcard, default), protocol versions, TLS 1.2 ciphers, ALPN, ticket
 * resumption across key rotation and reload, a new ticket on every TLS 1.3
 * resumption, the chain sent being the file's, bad files keep the old set,
 * live connections survive a reload. Then gwd's upstream client
 * (upstream_tls.c) against these servers over socketpairs: verification by
 * name and verify_name, session reuse from the per-server cache, bad files;
 * and client certificates on the server (clientcert.c): required, optional,
 * the subject, no resumption from where none was asked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "l7/cfgfiles.h"
#include "core/refslot.h"
#include "l7/clientcert.h"
#include "l7/tls.h"
#include "l7/upstream_tls.h"

#define HOUR_NS (3600ull * 1000000000ull)

static char dir[64];
static char path_ca[128], path_api_crt[128], path_api_key[128], path_other_crt[128],
	path_other_key[128], path_wild_crt[128], path_wild_key[128], path_dflt_crt[128],
	path_dflt_key[128], path_garbage[128], path_solo_crt[128], path_solo_key[128];
static X509 *ca_cert;
static EVP_PKEY *ca_key;

/* ------------------------------------------------------------------ */
/* Test PKI                                                             */

static X509 *make_cert(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer,
		       EVP_PKEY *issuer_key, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
	assert_true(X509_set_pubkey(x, key));
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (san) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	} else {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *path, X509 *cert, X509 *chain, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (cert)
		assert_true(PEM_write_X509(f, cert));
	if (chain)
		assert_true(PEM_write_X509(f, chain));
	if (key)
		assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
}

/* A leaf for `cn` with subjectAltName `san`, signed by the CA: writes the
 * chain (leaf + CA) and the key. */
static void make_leaf(const char *cn, const char *san, const char *crt, const char *keyf,
		      long serial)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x;

	assert_non_null(key);
	x = make_cert(cn, san, key, ca_cert, ca_key, serial);
	write_pem(crt, x, ca_cert, NULL);
	write_pem(keyf, NULL, NULL, key);
	X509_free(x);
	EVP_PKEY_free(key);
}

static int group_setup(void **state)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/gw-test-tls.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
#define P(var, name) snprintf(var, sizeof(var), "%s/%s", dir, name)
	P(path_ca, "ca.crt");
	P(path_api_crt, "api.crt");
	P(path_api_key, "api.key");
	P(path_other_crt, "other.crt");
	P(path_other_key, "other.key");
	P(path_wild_crt, "wild.crt");
	P(path_wild_key, "wild.key");
	P(path_dflt_crt, "default.crt");
	P(path_dflt_key, "default.key");
	P(path_garbage, "garbage.key");
	P(path_solo_crt, "solo.crt");
	P(path_solo_key, "solo.key");
#undef P
	ca_key = EVP_EC_gen("P-256");
	ca_cert = make_cert("gw test CA", NULL, ca_key, NULL, NULL, 1);
	write_pem(path_ca, ca_cert, NULL, NULL);
	make_leaf("default.example.net", "DNS:default.example.net", path_dflt_crt, path_dflt_key,
		  2);
	make_leaf("api.example.com", "DNS:api.example.com", path_api_crt, path_api_key, 3);
	make_leaf("other.example.com", "DNS:other.example.com,DNS:alt.example.org", path_other_crt,
		  path_other_key, 4);
	make_leaf("wild.example.com", "DNS:*.wild.example.com", path_wild_crt, path_wild_key, 5);
	/* a certificate file without its chain: the leaf alone */
	{
		EVP_PKEY *key = EVP_EC_gen("P-256");
		X509 *x = make_cert("solo.example.com", "DNS:solo.example.com", key, ca_cert,
				    ca_key, 6);

		write_pem(path_solo_crt, x, NULL, NULL);
		write_pem(path_solo_key, NULL, NULL, key);
		X509_free(x);
		EVP_PKEY_free(key);
	}
	f = fopen(path_garbage, "w");
	fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	return 0;
}

static int group_teardown(void **state)
{
	const char *files[] = { path_ca, path_api_crt, path_api_key, path_other_crt,
				path_other_key, path_wild_crt, path_wild_key, path_dflt_crt,
				path_dflt_key, path_garbage, path_solo_crt, path_solo_key };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(dir);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Server config and handshakes                                         */

static struct gw_tls_keys *keys;
static struct gw_tls_set *set;
static char err[512];
static __u64 now = 1000 * HOUR_NS;

/* A tls config: default, api (sni list), other (names from its SAN),
 * wildcard; min version and ALPN as given. */
static struct gw_cfg_tls cfg_tls(int min_version, int alpn)
{
	static char *api_sni[] = { "API.example.com." };
	static char *wild_sni[] = { "*.wild.example.com" };
	static char *alpn_list[] = { "http/1.1" };
	static struct gw_cfg_cert certs[4];
	struct gw_cfg_tls c = { 0 };

	certs[0] = (struct gw_cfg_cert){ .cert = path_dflt_crt, .key = path_dflt_key };
	certs[1] = (struct gw_cfg_cert){ .cert = path_api_crt, .key = path_api_key,
					 .sni = api_sni, .n_sni = 1 };
	certs[2] = (struct gw_cfg_cert){ .cert = path_other_crt, .key = path_other_key };
	certs[3] = (struct gw_cfg_cert){ .cert = path_wild_crt, .key = path_wild_key,
					 .sni = wild_sni, .n_sni = 1 };
	c.certificates = certs;
	c.n_certificates = 4;
	c.min_version = min_version;
	c.alpn = alpn ? alpn_list : NULL;
	c.n_alpn = alpn ? 1 : 0;
	return c;
}

static int setup(void **state)
{
	struct gw_cfg_tls c = cfg_tls(TLS1_2_VERSION, 1);

	keys = gw_tls_keys_new(HOUR_NS, 3, now);
	if (!keys || gw_tls_set_build(&c, keys, &set, err, sizeof(err)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	gw_tls_set_put(set);
	gw_tls_keys_put(keys);
	set = NULL;
	keys = NULL;
	return 0;
}

struct client_opts {
	const char *sni;
	int min_version, max_version;	/* 0: library defaults */
	const char *ciphers;		/* TLS 1.2 cipher list */
	const char *groups;		/* key exchange groups, in order */
	const unsigned char *alpn;	/* wire format */
	unsigned int alpn_len;
	SSL_SESSION *resume;
};

struct result {
	int ok;
	char cn[128];			/* the server certificate's subject CN */
	char alpn[32];
	int version;
	int reused;
	int chain_len;			/* certificates the server sent */
	int tickets;			/* NewSessionTicket messages the client got */
	unsigned long client_err, server_err;	/* reasons when it failed */
	const SSL_CIPHER *cipher;
	SSL_SESSION *session;		/* to resume; the caller frees it */
};

static __thread int client_hellos;	/* ClientHello messages this thread's clients sent */
static __thread int client_tickets;	/* NewSessionTicket messages they received */

static void count_hellos(int write_p, int version, int content_type, const void *buf, size_t len,
			 SSL *ssl, void *arg)
{
	if (content_type != SSL3_RT_HANDSHAKE || !len)
		return;
	if (write_p && ((const unsigned char *)buf)[0] == SSL3_MT_CLIENT_HELLO)
		client_hellos++;
	if (!write_p && ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
		client_tickets++;
}

static SSL_CTX *client_ctx(const struct client_opts *o)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	assert_non_null(c);
	X509_STORE_add_cert(SSL_CTX_get_cert_store(c), ca_cert);
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_msg_callback(c, count_hellos);
	if (o->min_version && o->min_version < TLS1_2_VERSION) {
		/* Old protocols need security level 0 on the client side. */
		SSL_CTX_set_security_level(c, 0);
		assert_true(SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0"));
	}
	if (o->min_version)
		SSL_CTX_set_min_proto_version(c, o->min_version);
	if (o->max_version)
		SSL_CTX_set_max_proto_version(c, o->max_version);
	if (o->ciphers)
		assert_true(SSL_CTX_set_cipher_list(c, o->ciphers));
	if (o->groups)
		assert_true(SSL_CTX_set1_groups_list(c, o->groups));
	if (o->alpn)
		assert_int_equal(SSL_CTX_set_alpn_protos(c, o->alpn, o->alpn_len), 0);
	/* No client cache: freeing the context would mark its sessions
	 * unusable; the test keeps sessions itself. */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	return c;
}

/* Moves records both ways until both ends finish or one fails. */
static void pump(SSL *cl, SSL *sv, struct result *r)
{
	int i, rc = 0, rs = 0;

	for (i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1) {
			rc = SSL_do_handshake(cl);
			if (rc != 1 && SSL_get_error(cl, rc) != SSL_ERROR_WANT_READ) {
				r->client_err = ERR_GET_REASON(ERR_peek_last_error());
				break;
			}
		}
		if (rs != 1) {
			rs = SSL_do_handshake(sv);
			if (rs != 1 && SSL_get_error(sv, rs) != SSL_ERROR_WANT_READ) {
				r->server_err = ERR_GET_REASON(ERR_peek_last_error());
				ERR_clear_error();
				/* let the client read the alert */
				rc = SSL_do_handshake(cl);
				r->client_err = ERR_GET_REASON(ERR_peek_last_error());
				break;
			}
		}
	}
	ERR_clear_error();
	r->ok = rc == 1 && rs == 1;
}

/* One connection from a client with `o` to a server SSL of `s`. */
static struct result connect_to(struct gw_tls_set *s, const struct client_opts *o)
{
	struct result r = { 0 };
	SSL_CTX *cctx = client_ctx(o);
	SSL *cl = SSL_new(cctx), *sv = gw_tls_set_new_ssl(s);
	BIO *cb, *sb;
	char buf[8];
	const unsigned char *alpn;
	unsigned int alpn_len;
	X509 *peer;

	assert_non_null(cl);
	assert_non_null(sv);
	assert_true(BIO_new_bio_pair(&cb, 0, &sb, 0));
	SSL_set_bio(cl, cb, cb);
	SSL_set_bio(sv, sb, sb);
	SSL_set_connect_state(cl);
	if (o->sni)
		SSL_set_tlsext_host_name(cl, o->sni);
	if (o->resume)
		SSL_set_session(cl, o->resume);
	client_tickets = 0;
	pump(cl, sv, &r);
	if (r.ok) {
		/* Application data both ways; the client takes the tickets. */
		assert_int_equal(SSL_write(sv, "pong", 4), 4);
		assert_int_equal(SSL_read(cl, buf, sizeof(buf)), 4);
		assert_memory_equal(buf, "pong", 4);
		assert_int_equal(SSL_write(cl, "ping", 4), 4);
		assert_int_equal(SSL_read(sv, buf, sizeof(buf)), 4);
		peer = SSL_get1_peer_certificate(cl);
		assert_non_null(peer);
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, r.cn,
					  sizeof(r.cn));
		X509_free(peer);
		assert_int_equal(SSL_get_verify_result(cl), X509_V_OK);
		SSL_get0_alpn_selected(cl, &alpn, &alpn_len);
		snprintf(r.alpn, sizeof(r.alpn), "%.*s", (int)alpn_len,
			 alpn ? (const char *)alpn : "");
		r.version = SSL_version(cl);
		r.reused = SSL_session_reused(cl);
		r.cipher = SSL_get_current_cipher(cl);
		r.session = SSL_get1_session(cl);
		r.chain_len = sk_X509_num(SSL_get_peer_cert_chain(cl));
		r.tickets = client_tickets;
		/* A clean close: OpenSSL drops sessions of unclosed connections. */
		SSL_shutdown(cl);
		SSL_shutdown(sv);
	}
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(cctx);
	return r;
}

static struct result connect_sni(const char *sni)
{
	struct client_opts o = { .sni = sni };
	struct result r = connect_to(set, &o);

	SSL_SESSION_free(r.session);
	r.session = NULL;
	return r;
}

/* ------------------------------------------------------------------ */

static void test_sni_selects_certificate(void **state)
{
	struct result r;

	assert_int_equal(gw_tls_set_count(set), 4);
	r = connect_sni("api.example.com");
	assert_true(r.ok);
	assert_string_equal(r.cn, "api.example.com");
	r = connect_sni("API.Example.COM");		/* any case */
	assert_string_equal(r.cn, "api.example.com");
	r = connect_sni("other.example.com");		/* names from the SAN */
	assert_string_equal(r.cn, "other.example.com");
	r = connect_sni("alt.example.org");
	assert_string_equal(r.cn, "other.example.com");
	r = connect_sni("a.wild.example.com");		/* one-label wildcard */
	assert_true(r.ok);
	assert_string_equal(r.cn, "wild.example.com");
	r = connect_sni("b.a.wild.example.com");	/* two labels: default */
	assert_string_equal(r.cn, "default.example.net");
	r = connect_sni("wild.example.com");		/* bare suffix: default */
	assert_string_equal(r.cn, "default.example.net");
	r = connect_sni("unknown.example.com");		/* no match: default */
	assert_true(r.ok);
	assert_string_equal(r.cn, "default.example.net");
	r = connect_sni(NULL);				/* no SNI: default */
	assert_true(r.ok);
	assert_string_equal(r.cn, "default.example.net");
	/* a key share the server does not take: HelloRetryRequest, a second
	 * client hello, the same certificate */
	{
		struct client_opts hrr = { .sni = "api.example.com", .groups = "ffdhe2048:X25519" };

		client_hellos = 0;
		r = connect_to(set, &hrr);
		assert_true(r.ok);
		assert_int_equal(client_hellos, 2);
		assert_string_equal(r.cn, "api.example.com");
		SSL_SESSION_free(r.session);
	}
	/* the lookup itself */
	assert_int_equal(gw_tls_set_pick(set, "api.example.com", 15), 1);
	assert_int_equal(gw_tls_set_pick(set, "x.wild.example.com", 18), 3);
	assert_int_equal(gw_tls_set_pick(set, ".wild.example.com", 17), 0);
}

/* Connects, expects a refusal; returns the server's reason. */
static unsigned long refused(struct gw_tls_set *s, const struct client_opts *o)
{
	struct result r = connect_to(s, o);

	assert_false(r.ok);
	return r.server_err;
}

/* Connects, expects success; returns the protocol version. */
static int accepted_version(struct gw_tls_set *s, const struct client_opts *o)
{
	struct result r = connect_to(s, o);

	assert_true(r.ok);
	SSL_SESSION_free(r.session);
	return r.version;
}

static void test_versions_and_ciphers(void **state)
{
	struct client_opts tls11 = { .min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION };
	struct client_opts tls12 = { .max_version = TLS1_2_VERSION };
	struct client_opts cbc = { .max_version = TLS1_2_VERSION,
				   .ciphers = "AES128-SHA:AES256-SHA" };
	struct client_opts rsa_kx = { .max_version = TLS1_2_VERSION,
				      .ciphers = "AES128-GCM-SHA256" };
	struct client_opts any = { 0 };
	struct gw_cfg_tls c13 = cfg_tls(TLS1_3_VERSION, 1);
	struct gw_tls_set *set13;
	struct result r;

	assert_int_equal(refused(set, &tls11), SSL_R_UNSUPPORTED_PROTOCOL);	/* min 1.2 */
	r = connect_to(set, &tls12);
	assert_true(r.ok);
	assert_int_equal(r.version, TLS1_2_VERSION);
	/* TLS 1.2: ECDHE key exchange and an AEAD cipher */
	assert_int_equal(SSL_CIPHER_get_kx_nid(r.cipher), NID_kx_ecdhe);
	assert_true(SSL_CIPHER_is_aead(r.cipher));
	SSL_SESSION_free(r.session);
	assert_int_equal(refused(set, &cbc), SSL_R_NO_SHARED_CIPHER);	/* CBC, RSA kx */
	assert_int_equal(refused(set, &rsa_kx), SSL_R_NO_SHARED_CIPHER);	/* no FS */
	assert_int_equal(accepted_version(set, &any), TLS1_3_VERSION);	/* the maximum */

	assert_int_equal(gw_tls_set_build(&c13, keys, &set13, err, sizeof(err)), 0);
	assert_int_equal(refused(set13, &tls12), SSL_R_UNSUPPORTED_PROTOCOL);	/* min 1.3 */
	assert_int_equal(accepted_version(set13, &any), TLS1_3_VERSION);
	gw_tls_set_put(set13);
}

static void test_alpn(void **state)
{
	static const unsigned char both[] = "\x02h2\x08http/1.1";
	static const unsigned char h2[] = "\x02h2";
	struct client_opts o_both = { .alpn = both, .alpn_len = sizeof(both) - 1 };
	struct client_opts o_sni = { .alpn = both, .alpn_len = sizeof(both) - 1,
				     .sni = "a.wild.example.com" };
	struct client_opts o_h2 = { .alpn = h2, .alpn_len = sizeof(h2) - 1 };
	struct client_opts o_none = { 0 };
	struct client_opts o_h2_12 = { .alpn = h2, .alpn_len = sizeof(h2) - 1,
				       .max_version = TLS1_2_VERSION };
	struct result r;

	r = connect_to(set, &o_both);
	assert_true(r.ok);
	assert_string_equal(r.alpn, "http/1.1");
	SSL_SESSION_free(r.session);
	r = connect_to(set, &o_sni);			/* on a certificate chosen by SNI */
	assert_true(r.ok);
	assert_string_equal(r.cn, "wild.example.com");
	assert_string_equal(r.alpn, "http/1.1");
	SSL_SESSION_free(r.session);
	r = connect_to(set, &o_h2);			/* no overlap: alert */
	assert_false(r.ok);
	assert_int_equal(r.client_err, SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
	r = connect_to(set, &o_h2_12);
	assert_false(r.ok);
	assert_int_equal(r.client_err, SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
	r = connect_to(set, &o_none);			/* no ALPN: accepted */
	assert_true(r.ok);
	assert_string_equal(r.alpn, "");
	SSL_SESSION_free(r.session);
}

/* Full handshake for `o`, then resumptions; returns the session. */
static SSL_SESSION *full_handshake(struct client_opts *o)
{
	struct result r = connect_to(set, o);

	assert_true(r.ok);
	assert_false(r.reused);
	assert_non_null(r.session);
	assert_true(SSL_SESSION_is_resumable(r.session));
	return r.session;
}

/* Resumes `sess` against `s`; returns 1 when reused, with *next (may be
 * NULL) the client's newest session. */
static int resume(struct gw_tls_set *s, struct client_opts *o, SSL_SESSION *sess,
		  SSL_SESSION **next)
{
	struct result r;

	o->resume = sess;
	r = connect_to(s, o);
	o->resume = NULL;
	assert_true(r.ok);
	if (next)
		*next = r.session;
	else
		SSL_SESSION_free(r.session);
	return r.reused;
}

static void run_resumption(int max_version)
{
	struct client_opts o = { .sni = "api.example.com", .max_version = max_version };
	struct client_opts other = { .sni = "other.example.com", .max_version = max_version };
	SSL_SESSION *s1 = full_handshake(&o), *s2;
	struct gw_tls_set *reloaded;
	struct gw_cfg_tls c = cfg_tls(TLS1_2_VERSION, 1);

	print_message("# TLS 0x%x\n", max_version ? max_version : TLS1_3_VERSION);
	assert_true(resume(set, &o, s1, NULL));		/* same key */
	/* a session never resumes under another certificate */
	assert_false(resume(set, &other, s1, NULL));
	/* one rotation: the old key still decrypts */
	now += HOUR_NS;
	assert_int_equal(gw_tls_keys_rotate(keys, now), 1);
	assert_int_equal(gw_tls_keys_rotate(keys, now + 1), 0);	/* not due */
	assert_true(resume(set, &o, s1, &s2));
	/* across a reload: a new set, the same keys */
	assert_int_equal(gw_tls_set_build(&c, keys, &reloaded, err, sizeof(err)), 0);
	assert_true(resume(reloaded, &o, s1, NULL));
	gw_tls_set_put(reloaded);
	/* two more rotations: a ring of 3 has dropped s1's key */
	now += HOUR_NS;
	assert_int_equal(gw_tls_keys_rotate(keys, now), 1);
	assert_true(resume(set, &o, s1, NULL));		/* still in the ring */
	now += HOUR_NS;
	assert_int_equal(gw_tls_keys_rotate(keys, now), 1);
	assert_false(resume(set, &o, s1, NULL));		/* full handshake */
	/* the ticket renewed after the first rotation is still good */
	assert_true(resume(set, &o, s2, NULL));
	SSL_SESSION_free(s1);
	SSL_SESSION_free(s2);
}

static void test_resumption_tls13(void **state)
{
	run_resumption(0);
}

static void test_resumption_tls12(void **state)
{
	run_resumption(TLS1_2_VERSION);
}

/* TLS 1.3 clients use a ticket once (RFC 8446 C.4): every resumption gets
 * a fresh ticket, so a client that reconnects again and again resumes
 * every time, not every other time. A full handshake gets two (OpenSSL's
 * default: one per parallel connection a client may open). */
static void test_tls13_resumption_renews_ticket(void **state)
{
	struct client_opts o = { .sni = "api.example.com" };
	struct result r = connect_to(set, &o);
	SSL_SESSION *sess;
	int i;

	assert_true(r.ok);
	assert_int_equal(r.tickets, 2);
	sess = r.session;
	for (i = 0; i < 3; i++) {
		o.resume = sess;
		r = connect_to(set, &o);
		SSL_SESSION_free(sess);
		assert_true(r.ok);
		assert_true(r.reused);
		assert_int_equal(r.tickets, 1);
		sess = r.session;
	}
	SSL_SESSION_free(sess);
}

static void test_keys_expire_by_age(void **state)
{
	struct client_opts o = { .sni = "api.example.com" };
	SSL_SESSION *s1 = full_handshake(&o);

	/* gwd slept for a day: the next rotation drops every old key */
	now += 24 * HOUR_NS;
	assert_int_equal(gw_tls_keys_rotate(keys, now), 1);
	assert_false(resume(set, &o, s1, NULL));
	SSL_SESSION_free(s1);
	assert_int_equal(gw_tls_keys_lifetime(keys), 3 * 3600);
	assert_null(gw_tls_keys_new(HOUR_NS, 1, now));		/* ring too small */
	assert_null(gw_tls_keys_new(0, 3, now));
}

/* The chain a client gets is the certificate file's, never one OpenSSL
 * builds per handshake from the context's trust store. */
static void test_chain_is_the_files(void **state)
{
	struct gw_cfg_cert cert = { .cert = path_solo_crt, .key = path_solo_key };
	struct gw_cfg_tls c = { .certificates = &cert, .n_certificates = 1 };
	struct client_opts o = { .sni = "solo.example.com" };
	struct gw_tls_set *solo;
	struct result r;

	assert_int_equal(gw_tls_set_build(&c, keys, &solo, err, sizeof(err)), 0);
	/* the CA in the server's store would let OpenSSL complete the chain */
	assert_true(X509_STORE_add_cert(SSL_CTX_get_cert_store(gw_tls_set_ctx(solo, 0)), ca_cert));
	r = connect_to(solo, &o);
	assert_true(r.ok);
	assert_string_equal(r.cn, "solo.example.com");
	assert_int_equal(r.chain_len, 1);		/* the leaf, as in the file */
	SSL_SESSION_free(r.session);
	gw_tls_set_put(solo);
	/* a file with leaf + CA sends both */
	r = connect_to(set, &(struct client_opts){ .sni = "api.example.com" });
	assert_true(r.ok);
	assert_int_equal(r.chain_len, 2);
	SSL_SESSION_free(r.session);
}

/* The void * forms of the set's get and put that gw_refslot_init() takes. */
static void *set_get(void *s)
{
	return gw_tls_set_get(s);
}

static void set_put(void *s)
{
	gw_tls_set_put(s);
}

static void test_bad_files_keep_old_set(void **state)
{
	struct gw_cfg_tls c = cfg_tls(TLS1_2_VERSION, 1);
	struct gw_cfg_cert *certs = c.certificates;
	struct gw_tls_set *s2 = (void *)1;
	struct gw_refslot slot;
	struct gw_tls_set *cur;
	struct result r;

	gw_refslot_init(&slot, set_get, set_put);
	gw_refslot_swap(&slot, gw_tls_set_get(set));
	/* no certificates, no keys */
	c.n_certificates = 0;
	assert_int_equal(gw_tls_set_build(&c, keys, &s2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no certificates");
	c.n_certificates = 4;
	assert_int_equal(gw_tls_set_build(&c, NULL, &s2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no ticket keys");
	/* a key that belongs to another certificate */
	certs[1].key = path_other_key;
	assert_int_equal(gw_tls_set_build(&c, keys, &s2, err, sizeof(err)), -EINVAL);
	print_message("# %s\n", err);
	assert_null(s2);
	assert_non_null(strstr(err, path_other_key));
	assert_non_null(strstr(err, "does not match cert"));
	/* a key file that is not a key */
	certs[1].key = path_garbage;
	assert_int_equal(gw_tls_set_build(&c, keys, &s2, err, sizeof(err)), -EINVAL);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "certificates[1]: key"));
	assert_non_null(strstr(err, path_garbage));
	/* a missing certificate file */
	certs[1].key = path_api_key;
	certs[2].cert = "/nonexistent/gw.crt";
	assert_int_equal(gw_tls_set_build(&c, keys, &s2, err, sizeof(err)), -ENOENT);
	print_message("# %s\n", err);
	assert_string_equal(err, "certificates[2]: cert /nonexistent/gw.crt: No such file or "
				 "directory");
	/* a certificate file that is not PEM */
	certs[2].cert = path_garbage;
	assert_int_equal(gw_tls_set_build(&c, keys, &s2, err, sizeof(err)), -EINVAL);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "certificates[2]: cert"));
	assert_non_null(strstr(err, path_garbage));
	/* nothing replaced the old set: it still serves */
	cur = gw_refslot_acquire(&slot);
	assert_ptr_equal(cur, set);
	r = connect_to(cur, &(struct client_opts){ .sni = "api.example.com" });
	assert_true(r.ok);
	assert_string_equal(r.cn, "api.example.com");
	SSL_SESSION_free(r.session);
	gw_tls_set_put(cur);
	gw_refslot_destroy(&slot);
}

static void test_live_connection_survives_reload(void **state)
{
	struct client_opts o = { .sni = "api.example.com" };
	struct gw_cfg_tls c = cfg_tls(TLS1_2_VERSION, 1);
	struct gw_tls_set *old = set, *fresh;
	SSL_CTX *cctx = client_ctx(&o);
	SSL *cl = SSL_new(cctx), *sv = gw_tls_set_new_ssl(old);
	struct result r = { 0 };
	BIO *cb, *sb;
	char buf[8];

	assert_true(BIO_new_bio_pair(&cb, 0, &sb, 0));
	SSL_set_bio(cl, cb, cb);
	SSL_set_bio(sv, sb, sb);
	SSL_set_connect_state(cl);
	SSL_set_tlsext_host_name(cl, o.sni);
	/* the client hello is in flight when the reload happens */
	assert_int_equal(SSL_do_handshake(cl), -1);
	assert_int_equal(gw_tls_set_build(&c, keys, &fresh, err, sizeof(err)), 0);
	set = fresh;
	gw_tls_set_put(old);	/* only the connection holds the old set now */
	pump(cl, sv, &r);
	assert_true(r.ok);
	assert_int_equal(SSL_write(cl, "ping", 4), 4);
	assert_int_equal(SSL_read(sv, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	SSL_free(sv);		/* frees the old set (ASan checks) */
	SSL_free(cl);
	SSL_CTX_free(cctx);
}

/* Workers handshake (full and resumed) on whatever set is current while
 * the main thread reloads and rotates keys: every handshake completes,
 * every set is freed exactly once (ASan). */
struct worker {
	struct gw_refslot *slot;
	int ok, reused, runs;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct client_opts o = { .sni = "api.example.com" };
	SSL_SESSION *sess = NULL;
	int i;

	for (i = 0; i < w->runs; i++) {
		struct gw_tls_set *s = gw_refslot_acquire(w->slot);
		struct result r;

		o.resume = sess;
		r = connect_to(s, &o);
		gw_tls_set_put(s);
		w->ok += r.ok;
		w->reused += r.reused;
		if (r.session) {
			SSL_SESSION_free(sess);
			sess = r.session;
		}
	}
	SSL_SESSION_free(sess);
	return NULL;
}

static void test_concurrent_reload_and_rotation(void **state)
{
	struct gw_cfg_tls c = cfg_tls(TLS1_2_VERSION, 1);
	struct gw_refslot slot;
	struct worker w[2];
	pthread_t t[2];
	int i;

	gw_refslot_init(&slot, set_get, set_put);
	gw_refslot_swap(&slot, gw_tls_set_get(set));
	for (i = 0; i < 2; i++) {
		w[i] = (struct worker){ .slot = &slot, .runs = 30 };
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < 15; i++) {
		struct gw_tls_set *fresh;

		assert_int_equal(gw_tls_set_build(&c, keys, &fresh, err, sizeof(err)), 0);
		gw_refslot_swap(&slot, fresh);
		if (i % 3 == 2)
			assert_int_equal(gw_tls_keys_rotate_now(keys, now + (__u64)i), 0);
		usleep(2000);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	print_message("# handshakes ok %d + %d of 30 each, resumed %d + %d\n", w[0].ok, w[1].ok,
		      w[0].reused, w[1].reused);
	assert_int_equal(w[0].ok, 30);
	assert_int_equal(w[1].ok, 30);
	assert_true(w[0].reused + w[1].reused > 0);
	gw_refslot_destroy(&slot);
}


/* ------------------------------------------------------------------ */
/* gwd --check: the files a config names                                */

/* Returns 1 when some message of errs contains needle. */
static int errs_have(const struct gw_cfg_errors *errs, const char *needle)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], needle))
			return 1;
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_check_files(void **state)
{
	struct gw_cfg_errors errs = { 0 };
	char jwks[128], apikeys[128], text[4096], want[256];
	struct gw_cfg cfg;
	int n;

	snprintf(jwks, sizeof(jwks), "%s/bad.jwks", dir);
	snprintf(apikeys, sizeof(apikeys), "%s/keys.txt", dir);
	write_text(jwks, "{\"keys\": 3}\n");
	write_text(apikeys, "acme 1234\n");
	n = snprintf(text, sizeof(text),
		     "version: 1\n"
		     "tls:\n"
		     "  certificates:\n"
		     "    - { cert: %s, key: %s }\n"		/* line 4: good */
		     "    - { cert: %s, key: %s }\n"		/* line 5: key of another */
		     "    - { cert: %s/missing.crt, key: %s }\n"	/* line 6: no cert */
		     "    - { cert: %s, key: %s }\n"		/* line 7: not a key */
		     "listeners:\n"
		     "  - { name: https, address: \"198.18.1.1:443\", tls: true }\n"
		     "upstreams:\n"
		     "  - { name: u, servers: [198.18.2.1:80] }\n"
		     "auth:\n"
		     "  api_keys:\n"
		     "    - { name: p, header: X-API-Key, keys: %s }\n"	/* line 14 */
		     "  jwt:\n"
		     "    - name: j\n"
		     "      jwks: %s\n"				/* line 17 */
		     "      issuer: x\n"
		     "      audiences: [a]\n"
		     "      algorithms: [ES256]\n"
		     "routes:\n"
		     "  - { match: { path_prefix: / }, upstream: u }\n",
		     path_api_crt, path_api_key, path_api_crt, path_other_key, dir, path_api_key,
		     path_api_crt, path_garbage, apikeys, jwks);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(gw_cfg_load_string("g.yaml", text, (size_t)n, &cfg, &errs), 0);
	assert_int_equal(gw_cfg_check_files("g.yaml", &cfg, &errs), -EINVAL);
	/* one problem per bad file, each at the key that names the file */
	assert_int_equal(errs.n, 5);
	assert_false(errs_have(&errs, "g.yaml:4:"));
	/* line 5 is "    - { cert: CRT, key: KEY }": the column of "key" */
	snprintf(want, sizeof(want), "g.yaml:5:%zu: certificates[1]: key %s does not match",
		 strlen("    - { cert: ") + strlen(path_api_crt) + strlen(", ") + 1,
		 path_other_key);
	assert_true(errs_have(&errs, want));
	assert_true(errs_have(&errs, "g.yaml:6:"));
	assert_true(errs_have(&errs, "missing.crt: No such file or directory"));
	assert_true(errs_have(&errs, "g.yaml:7:"));
	assert_true(errs_have(&errs, "no PEM private key"));
	assert_true(errs_have(&errs, "g.yaml:14:"));
	assert_true(errs_have(&errs, "64 hex digits"));
	assert_true(errs_have(&errs, "g.yaml:17:7: jwks"));
	gw_cfg_errors_free(&errs);
	gw_cfg_free(&cfg);

	/* every file good: no message */
	n = snprintf(text, sizeof(text),
		     "version: 1\ntls:\n  certificates:\n    - { cert: %s, key: %s }\n",
		     path_api_crt, path_api_key);
	assert_int_equal(gw_cfg_load_string("g.yaml", text, (size_t)n, &cfg, &errs), 0);
	assert_int_equal(gw_cfg_check_files("g.yaml", &cfg, &errs), 0);
	assert_int_equal(errs.n, 0);
	gw_cfg_errors_free(&errs);
	gw_cfg_free(&cfg);
	unlink(jwks);
	unlink(apikeys);
}

/* ------------------------------------------------------------------ */
/* gwd as a TLS client of upstreams; client certificates on listeners   */

struct pair {
	SSL *cl, *sv;
	int fd[2];
	int cl_rc, sv_rc;		/* 1 done, 0 waiting, < 0 failed */
	char why[256];
};

/* Handshakes gw_uptls's client with the set's server over a socketpair,
 * the server asking for client certificates as a says (NULL: not).
 * Returns 0 (p filled; p->cl_rc and p->sv_rc say how each side ended). */
static int uptls_pair(struct gw_uptls *t, struct gw_cauth *a, struct pair *p)
{
	struct gw_endpoint addr = { 0 };
	int i, ww, r;

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd), 0);
	p->cl = gw_uptls_new_ssl(t, &addr, p->fd[0]);
	p->sv = gw_tls_set_new_ssl(set);
	assert_non_null(p->cl);
	assert_non_null(p->sv);
	assert_int_equal(SSL_set_fd(p->sv, p->fd[1]), 1);
	if (a)
		assert_int_equal(gw_cauth_attach(p->sv, a), 0);
	for (i = 0; i < 100 && (p->cl_rc == 0 || p->sv_rc == 0); i++) {
		if (p->cl_rc == 0)
			p->cl_rc = gw_uptls_handshake(p->cl, &ww, p->why, sizeof(p->why));
		if (p->sv_rc == 0) {
			r = SSL_do_handshake(p->sv);
			p->sv_rc = r == 1 ? 1 : SSL_get_error(p->sv, r) == SSL_ERROR_WANT_READ ? 0 : -1;
		}
		if (p->cl_rc < 0 || p->sv_rc < 0)
			break;
	}
	ERR_clear_error();
	return 0;
}

/* The server writes a byte, the client reads it (and the tickets before
 * it); then both end. Returns the byte count the client read. */
static ssize_t pair_end(struct pair *p)
{
	unsigned int ready = 1;
	char b[16];
	ssize_t n = -1;
	int i;

	if (p->cl_rc > 0 && p->sv_rc > 0 && SSL_write(p->sv, "x", 1) == 1)
		for (i = 0; i < 10 && (n = gw_uptls_read(p->cl, b, sizeof(b), &ready)) == -EAGAIN;
		     i++)
			;
	SSL_free(p->cl);
	SSL_free(p->sv);
	close(p->fd[0]);
	close(p->fd[1]);
	return n;
}

static struct gw_cfg_uptls uptls_cfg(const char *sni, const char *cert, const char *key)
{
	struct gw_cfg_uptls c = { .pos.line = 1, .ca = path_ca, .sni = (char *)sni,
				  .cert = (char *)cert, .key = (char *)key, .verify = 1,
				  .min_version = TLS1_2_VERSION };
	return c;
}

static void test_upstream_tls_client(void **state)
{
	struct gw_cfg_uptls c = uptls_cfg("api.example.com", NULL, NULL);
	unsigned long full, resumed;
	struct gw_uptls *t;
	struct pair p;
	int i;

	assert_int_equal(gw_uptls_build(&c, &t, err, sizeof(err), NULL), 0);
	/* verified; then the cached session resumes, twice (TLS 1.3 tickets) */
	for (i = 0; i < 3; i++) {
		uptls_pair(t, NULL, &p);
		assert_int_equal(p.cl_rc, 1);
		assert_int_equal(p.sv_rc, 1);
		assert_int_equal(SSL_session_reused(p.cl), i > 0);
		assert_int_equal(pair_end(&p), 1);
	}
	gw_uptls_counts(t, &full, &resumed);
	assert_int_equal(full, 1);
	assert_int_equal(resumed, 2);
	gw_uptls_put(t);

	/* the server's certificate does not name the SNI: refused */
	c = uptls_cfg("evil.example.com", NULL, NULL);
	assert_int_equal(gw_uptls_build(&c, &t, err, sizeof(err), NULL), 0);
	uptls_pair(t, NULL, &p);
	assert_true(p.cl_rc < 0);
	assert_non_null(strstr(p.why, "certificate verify failed"));
	pair_end(&p);
	gw_uptls_put(t);

	/* verify_name names what the certificate carries: served */
	c.verify_name = "default.example.net";
	assert_int_equal(gw_uptls_build(&c, &t, err, sizeof(err), NULL), 0);
	uptls_pair(t, NULL, &p);
	assert_int_equal(p.cl_rc, 1);
	pair_end(&p);
	gw_uptls_put(t);
}

static void test_upstream_tls_bad_files(void **state)
{
	struct gw_cfg_uptls c = uptls_cfg(NULL, NULL, NULL);
	const struct gw_cfg_pos *pos = NULL;
	struct gw_uptls *t;

	c.ca = "/nonexistent/ca.crt";
	assert_int_equal(gw_uptls_build(&c, &t, err, sizeof(err), &pos), -ENOENT);
	assert_ptr_equal(pos, &c.ca_pos);
	assert_non_null(strstr(err, "/nonexistent/ca.crt: No such file"));
	c = uptls_cfg(NULL, path_api_crt, path_garbage);
	assert_true(gw_uptls_build(&c, &t, err, sizeof(err), &pos) < 0);
	assert_ptr_equal(pos, &c.key_pos);
	assert_non_null(strstr(err, "no PEM private key"));
	c = uptls_cfg(NULL, path_garbage, path_api_key);
	assert_true(gw_uptls_build(&c, &t, err, sizeof(err), &pos) < 0);
	assert_ptr_equal(pos, &c.cert_pos);
	c.pos.line = 0;		/* no tls section: plain TCP */
	assert_int_equal(gw_uptls_build(&c, &t, err, sizeof(err), &pos), 0);
	assert_null(t);
	assert_int_equal(gw_cauth_build(path_garbage, GW_CLIENT_CERT_REQUIRED,
					(struct gw_cauth **)&t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no PEM certificate"));
}

static void test_listener_client_certs(void **state)
{
	struct gw_cfg_uptls with = uptls_cfg("api.example.com", path_other_crt, path_other_key);
	struct gw_cfg_uptls without = uptls_cfg("api.example.com", NULL, NULL);
	struct gw_uptls *tw, *to;
	struct gw_cauth *req, *opt;
	char subj[256];
	struct pair p;

	assert_int_equal(gw_uptls_build(&with, &tw, err, sizeof(err), NULL), 0);
	assert_int_equal(gw_uptls_build(&without, &to, err, sizeof(err), NULL), 0);
	assert_int_equal(gw_cauth_build(path_ca, GW_CLIENT_CERT_REQUIRED, &req, err, sizeof(err)),
			 0);
	assert_int_equal(gw_cauth_build(path_ca, GW_CLIENT_CERT_OPTIONAL, &opt, err, sizeof(err)),
			 0);
	/* required: with a certificate of the CA, its subject; without, refused */
	uptls_pair(tw, req, &p);
	assert_int_equal(p.sv_rc, 1);
	assert_int_equal(gw_cauth_subject(p.sv, subj, sizeof(subj)), strlen("CN=other.example.com"));
	assert_string_equal(subj, "CN=other.example.com");
	pair_end(&p);
	uptls_pair(to, req, &p);
	assert_true(p.sv_rc < 0);
	pair_end(&p);
	/* optional: served without one, no subject */
	uptls_pair(to, opt, &p);
	assert_int_equal(p.sv_rc, 1);
	assert_int_equal(gw_cauth_subject(p.sv, subj, sizeof(subj)), 0);
	pair_end(&p);
	/* a session made where no certificate was asked does not resume where
	 * one is required (own session id context): refused again */
	uptls_pair(to, NULL, &p);
	assert_int_equal(p.sv_rc, 1);
	pair_end(&p);
	uptls_pair(to, req, &p);
	assert_true(p.sv_rc < 0);
	assert_int_equal(SSL_session_reused(p.sv), 0);
	pair_end(&p);
	gw_cauth_put(req);
	gw_cauth_put(opt);
	gw_uptls_put(tw);
	gw_uptls_put(to);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sni_selects_certificate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_and_ciphers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alpn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_tls13, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resumption_tls12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls13_resumption_renews_ticket, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_keys_expire_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_is_the_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_keep_old_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_connection_survives_reload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reload_and_rotation, setup,
						teardown),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test_setup_teardown(test_upstream_tls_client, setup, teardown),
		cmocka_unit_test(test_upstream_tls_bad_files),
		cmocka_unit_test_setup_teardown(test_listener_client_certs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
