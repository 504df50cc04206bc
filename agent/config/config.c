// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gateway.yaml parser. The schema is declarative: a keyword table per YAML
 * mapping (name, type, where it goes, range, enum values, nested table), one
 * generic walker over libyaml's document tree, then the checks that span
 * several keys (names, references, families). Every problem is collected
 * with its position; parsing goes on after an error so one run shows all.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "gw/abi.h"
#include "config/config.h"
#include "config/redisaddr.h"
#include "core/health.h"
#include "core/tmpl.h"

/* ------------------------------------------------------------------ */
/* Schema                                                               */

enum kw_type {
	K_STR,
	K_BOOL,
	K_U32,
	K_DURATION,
	K_SIZE,
	K_RATE,
	K_CIDR,
	K_IP,
	K_ENDPOINT,
	K_ENUM,
	K_TABLE,
	K_LIST,
	K_STRMAP,
};

#define KW_REQUIRED (1u << 0)
#define KW_KEYPOS (1u << 1)		/* the key's position goes to pos_off */

struct kw_enum {
	const char *name;
	int value;
};

struct kw_table;

struct kw {
	const char *name;
	enum kw_type type;
	size_t off;			/* of the field in the table's struct */
	unsigned int flags;
	__u64 min, max;			/* K_U32, K_DURATION (0, 0: any) */
	const struct kw_enum *enums;	/* K_ENUM */
	const struct kw_table *sub;	/* K_TABLE, K_LIST of tables */
	enum kw_type elem;		/* K_LIST */
	size_t elem_size;		/* K_LIST */
	size_t count_off;		/* K_LIST, K_STRMAP */
	size_t pos_off;			/* KW_KEYPOS: a struct gw_cfg_pos */
};

struct kw_table {
	const char *what;		/* for messages */
	size_t size;
	const struct kw *kws;
	const char *shorthand;		/* a scalar stands for this key */
	void (*defaults)(void *obj);
};

#define KW_END { NULL, K_STR, 0, 0, 0, 0, NULL, NULL, K_STR, 0, 0, 0 }

#define F(type, field) offsetof(type, field)
#define STR(t, f, name, fl) { name, K_STR, F(t, f), fl, 0, 0, NULL, NULL, K_STR, 0, 0, 0 }
/* A string whose key's position is kept too (a file a later check reads). */
#define STRP(t, f, name, fl)                                                                  \
	{ name, K_STR, F(t, f), (fl) | KW_KEYPOS, 0, 0, NULL, NULL, K_STR, 0, 0, F(t, f##_pos) }
#define BOOL(t, f, name) { name, K_BOOL, F(t, f), 0, 0, 0, NULL, NULL, K_STR, 0, 0, 0 }
/* A boolean whose key's position is kept too (given or not). */
#define BOOLP(t, f, name) { name, K_BOOL, F(t, f), KW_KEYPOS, 0, 0, NULL, NULL, K_STR, 0, 0, F(t, f##_pos) }
#define U32(t, f, name, fl, lo, hi) { name, K_U32, F(t, f), fl, lo, hi, NULL, NULL, K_STR, 0, 0, 0 }
#define DUR(t, f, name, fl, lo, hi) { name, K_DURATION, F(t, f), fl, lo, hi, NULL, NULL, K_STR, 0, 0, 0 }
#define SIZE(t, f, name, fl, lo, hi) { name, K_SIZE, F(t, f), fl, lo, hi, NULL, NULL, K_STR, 0, 0, 0 }
#define RATE(t, f, name, fl) { name, K_RATE, F(t, f), fl, 0, 0, NULL, NULL, K_STR, 0, 0, 0 }
#define IP(t, f, name, fl) { name, K_IP, F(t, f), fl, 0, 0, NULL, NULL, K_STR, 0, 0, 0 }
#define EP(t, f, name, fl) { name, K_ENDPOINT, F(t, f), fl, 0, 0, NULL, NULL, K_STR, 0, 0, 0 }
#define ENUM(t, f, name, fl, e) { name, K_ENUM, F(t, f), fl, 0, 0, e, NULL, K_STR, 0, 0, 0 }
#define TABLE(t, f, name, fl, sub) { name, K_TABLE, F(t, f), fl, 0, 0, NULL, sub, K_STR, 0, 0, 0 }
#define LIST(t, f, name, fl, etype, esize, sub)                                              \
	{ name, K_LIST, F(t, f), fl, 0, 0, NULL, sub, etype, esize, F(t, n_##f), 0 }
/* A list whose key's position is kept too (given, even empty, or not). */
#define LISTP(t, f, name, fl, etype, esize)                                                   \
	{ name, K_LIST, F(t, f), (fl) | KW_KEYPOS, 0, 0, NULL, NULL, etype, esize, F(t, n_##f),  \
	  F(t, f##_pos) }
#define STRMAP(t, f, name, fl) { name, K_STRMAP, F(t, f), fl, 0, 0, NULL, NULL, K_STR, 0, F(t, n_##f), 0 }

#define NS_MS 1000000ull
#define NS_S 1000000000ull
#define NS_DAY (86400ull * NS_S)

static const struct kw_enum xdp_modes[] = {
	{ "auto", GW_XDP_MODE_AUTO }, { "native", GW_XDP_MODE_NATIVE },
	{ "generic", GW_XDP_MODE_GENERIC }, { NULL, 0 },
};
static const struct kw_enum allow_deny[] = { { "allow", 0 }, { "deny", 1 }, { NULL, 0 } };
static const struct kw_enum protocols[] = {
	{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { NULL, 0 },
};
static const struct kw_enum fwd_modes[] = { { "nat", GW_FWD_NAT }, { "ipip", GW_FWD_IPIP }, { NULL, 0 } };
static const struct kw_enum health_types[] = {
	{ "tcp", GW_HEALTH_TCP }, { "udp-none", GW_HEALTH_UDP_NONE }, { "http", GW_HEALTH_HTTP },
	{ NULL, 0 },
};
static const struct kw_enum tls_versions[] = { { "1.2", 0x0303 }, { "1.3", 0x0304 }, { NULL, 0 } };
static const struct kw_enum client_cert_modes[] = {
	{ "required", GW_CLIENT_CERT_REQUIRED }, { "optional", GW_CLIENT_CERT_OPTIONAL },
	{ NULL, 0 },
};
static const struct kw_enum ktls_modes[] = {
	{ "auto", GW_KTLS_AUTO }, { "off", GW_KTLS_OFF }, { NULL, 0 },
};
static const struct kw_enum balances[] = {
	{ "round_robin", GW_BALANCE_ROUND_ROBIN }, { "least_conn", GW_BALANCE_LEAST_CONN },
	{ "maglev", GW_BALANCE_MAGLEV }, { NULL, 0 },
};
static const struct kw_enum schemes[] = {
	{ "http", GW_SCHEME_HTTP }, { "https", GW_SCHEME_HTTPS }, { NULL, 0 },
};
static const struct kw_enum up_protocols[] = {
	{ "http1", GW_UP_PROTO_HTTP1 }, { "h2c", GW_UP_PROTO_H2C }, { "h2", GW_UP_PROTO_H2 },
	{ NULL, 0 },
};
static const struct kw_enum rl_keys[] = {
	{ "consumer", GW_RL_KEY_CONSUMER }, { "ip", GW_RL_KEY_IP }, { "route", GW_RL_KEY_ROUTE },
	{ NULL, 0 },
};

static void iface_defaults(void *o)
{
	((struct gw_cfg_iface *)o)->xdp_mode = GW_XDP_MODE_AUTO;
}

static const struct kw iface_kws[] = {
	STR(struct gw_cfg_iface, name, "name", KW_REQUIRED),
	ENUM(struct gw_cfg_iface, xdp_mode, "xdp_mode", 0, xdp_modes),
	KW_END,
};
static const struct kw_table iface_table = { "interface", sizeof(struct gw_cfg_iface), iface_kws,
					     "name", iface_defaults };

static const struct kw gateway_kws[] = {
	STR(struct gw_cfg_gateway, pin_root, "pin_root", 0),
	STR(struct gw_cfg_gateway, admin_socket, "admin_socket", 0),
	EP(struct gw_cfg_gateway, metrics, "metrics", 0),
	LIST(struct gw_cfg_gateway, interfaces, "interfaces", 0, K_TABLE, sizeof(struct gw_cfg_iface),
	     &iface_table),
	BOOL(struct gw_cfg_gateway, keep_datapath_on_exit, "keep_datapath_on_exit"),
	STRP(struct gw_cfg_gateway, access_log, "access_log", 0),
	U32(struct gw_cfg_gateway, workers, "workers", 0, 0, 64),
	DUR(struct gw_cfg_gateway, drain_timeout_ns, "drain_timeout", 0, 0, 3600 * NS_S),
	KW_END,
};
static const struct kw_table gateway_table = { "gateway", sizeof(struct gw_cfg_gateway),
					       gateway_kws, NULL, NULL };

static const struct kw_enum scopes[] = {
	{ "node", GW_SCOPE_NODE }, { "cluster", GW_SCOPE_CLUSTER }, { NULL, 0 },
};

static const struct kw ban_kws[] = {
	RATE(struct gw_cfg_ban, auth_failures, "auth_failures", 0),
	DUR(struct gw_cfg_ban, duration_ns, "duration", 0, NS_S, 365 * NS_DAY),
	ENUM(struct gw_cfg_ban, scope, "scope", 0, scopes),
	KW_END,
};
static const struct kw_table ban_table = { "ban", sizeof(struct gw_cfg_ban), ban_kws, NULL, NULL };

static const struct kw filter_kws[] = {
	ENUM(struct gw_cfg_filter, default_deny, "default", 0, allow_deny),
	LIST(struct gw_cfg_filter, deny, "deny", 0, K_CIDR, sizeof(struct gw_cidr), NULL),
	LIST(struct gw_cfg_filter, allow, "allow", 0, K_CIDR, sizeof(struct gw_cidr), NULL),
	TABLE(struct gw_cfg_filter, ban, "ban", 0, &ban_table),
	KW_END,
};
static const struct kw_table filter_table = { "filter", sizeof(struct gw_cfg_filter), filter_kws,
					      NULL, NULL };

static const struct kw bucket_kws[] = {
	RATE(struct gw_cfg_bucket, rate, "rate", KW_REQUIRED),
	U32(struct gw_cfg_bucket, burst, "burst", KW_REQUIRED, 1, 1000000000),
	KW_END,
};
static const struct kw_table bucket_table = { "bucket", sizeof(struct gw_cfg_bucket), bucket_kws,
					      NULL, NULL };

static const struct kw rate_limits_kws[] = {
	TABLE(struct gw_cfg_rate_limits, packets_per_source, "packets_per_source", 0, &bucket_table),
	TABLE(struct gw_cfg_rate_limits, syn_per_source, "syn_per_source", 0, &bucket_table),
	KW_END,
};
static const struct kw_table rate_limits_table = { "rate_limits",
						   sizeof(struct gw_cfg_rate_limits),
						   rate_limits_kws, NULL, NULL };

static void backend_defaults(void *o)
{
	((struct gw_cfg_backend *)o)->weight = 1;
}

static const struct kw backend_kws[] = {
	EP(struct gw_cfg_backend, address, "address", KW_REQUIRED),
	U32(struct gw_cfg_backend, weight, "weight", 0, 1, 65535),
	KW_END,
};
static const struct kw_table backend_table = { "backend", sizeof(struct gw_cfg_backend),
					       backend_kws, "address", backend_defaults };

static void health_defaults(void *o)
{
	struct gw_cfg_health *h = o;

	h->type = GW_HEALTH_TCP;
	h->interval_ns = 2 * NS_S;
	h->timeout_ns = 1 * NS_S;
	h->healthy = 2;
	h->unhealthy = 3;
}

/* One table for both health sections: a service's takes every key, an
 * upstream's those from HEALTH_L7_KWS on (not type or port). */
#define HEALTH_L7_KWS 2
static const struct kw health_kws[] = {
	ENUM(struct gw_cfg_health, type, "type", 0, health_types),
	U32(struct gw_cfg_health, port, "port", 0, 1, 65535),
	STR(struct gw_cfg_health, path, "path", 0),
	DUR(struct gw_cfg_health, interval_ns, "interval", 0, 10 * NS_MS, NS_DAY),
	DUR(struct gw_cfg_health, timeout_ns, "timeout", 0, NS_MS, NS_DAY),
	U32(struct gw_cfg_health, healthy, "healthy", 0, 1, 100),
	U32(struct gw_cfg_health, unhealthy, "unhealthy", 0, 1, 100),
	KW_END,
};
static const struct kw_table svc_health_table = { "health", sizeof(struct gw_cfg_health),
						  health_kws, NULL, health_defaults };
static const struct kw_table up_health_table = { "health", sizeof(struct gw_cfg_health),
						 health_kws + HEALTH_L7_KWS, NULL,
						 health_defaults };

static void service_defaults(void *o)
{
	struct gw_cfg_service *s = o;

	s->protocol = IPPROTO_TCP;
	s->forwarding = GW_FWD_NAT;
	health_defaults(&s->health);
}

static const struct kw service_kws[] = {
	STR(struct gw_cfg_service, name, "name", KW_REQUIRED),
	IP(struct gw_cfg_service, vip, "vip", KW_REQUIRED),
	U32(struct gw_cfg_service, port, "port", KW_REQUIRED, 1, 65535),
	ENUM(struct gw_cfg_service, protocol, "protocol", 0, protocols),
	ENUM(struct gw_cfg_service, forwarding, "forwarding", 0, fwd_modes),
	LIST(struct gw_cfg_service, backends, "backends", KW_REQUIRED, K_TABLE,
	     sizeof(struct gw_cfg_backend), &backend_table),
	TABLE(struct gw_cfg_service, health, "health", 0, &svc_health_table),
	KW_END,
};
static const struct kw_table service_table = { "service", sizeof(struct gw_cfg_service),
					       service_kws, NULL, service_defaults };

static const struct kw cert_kws[] = {
	STRP(struct gw_cfg_cert, cert, "cert", KW_REQUIRED),
	STRP(struct gw_cfg_cert, key, "key", KW_REQUIRED),
	LIST(struct gw_cfg_cert, sni, "sni", 0, K_STR, sizeof(char *), NULL),
	KW_END,
};
static const struct kw_table cert_table = { "certificate", sizeof(struct gw_cfg_cert), cert_kws,
					    NULL, NULL };

static void tls_defaults(void *o)
{
	((struct gw_cfg_tls *)o)->min_version = 0x0303;
}

static const struct kw tls_kws[] = {
	LIST(struct gw_cfg_tls, certificates, "certificates", 0, K_TABLE,
	     sizeof(struct gw_cfg_cert), &cert_table),
	ENUM(struct gw_cfg_tls, min_version, "min_version", 0, tls_versions),
	LIST(struct gw_cfg_tls, alpn, "alpn", 0, K_STR, sizeof(char *), NULL),
	KW_END,
};
static const struct kw_table tls_table = { "tls", sizeof(struct gw_cfg_tls), tls_kws, NULL,
					   tls_defaults };

static void client_timeouts_defaults(void *o)
{
	struct gw_cfg_client_timeouts *t = o;

	t->header_ns = GW_CFG_CLIENT_HEADER_NS;
	t->idle_ns = GW_CFG_CLIENT_IDLE_NS;
	t->body_ns = GW_CFG_CLIENT_BODY_NS;
	t->send_ns = GW_CFG_CLIENT_SEND_NS;
	t->tls_handshake_ns = GW_CFG_CLIENT_TLS_NS;
}

#define CLIENT_TO_MIN (100 * NS_MS)
#define CLIENT_TO_MAX (3600 * NS_S)
static const struct kw client_timeouts_kws[] = {
	DUR(struct gw_cfg_client_timeouts, header_ns, "header", 0, CLIENT_TO_MIN, CLIENT_TO_MAX),
	DUR(struct gw_cfg_client_timeouts, idle_ns, "idle", 0, CLIENT_TO_MIN, CLIENT_TO_MAX),
	DUR(struct gw_cfg_client_timeouts, body_ns, "body", 0, CLIENT_TO_MIN, CLIENT_TO_MAX),
	DUR(struct gw_cfg_client_timeouts, send_ns, "send", 0, CLIENT_TO_MIN, CLIENT_TO_MAX),
	DUR(struct gw_cfg_client_timeouts, tls_handshake_ns, "tls_handshake", 0, CLIENT_TO_MIN,
	    CLIENT_TO_MAX),
	KW_END,
};
static const struct kw_table client_timeouts_table = { "timeouts",
						       sizeof(struct gw_cfg_client_timeouts),
						       client_timeouts_kws, NULL,
						       client_timeouts_defaults };

static void http2_defaults(void *o)
{
	struct gw_cfg_http2 *h = o;

	h->max_concurrent_streams = GW_CFG_H2_STREAMS_DEFAULT;
	h->max_header_list_size = GW_CFG_H2_HEADER_LIST_DEFAULT;
	h->header_table_size = GW_CFG_H2_TABLE_DEFAULT;
	h->initial_window_size = GW_CFG_H2_WINDOW_DEFAULT;
	h->connection_window_size = GW_CFG_H2_CONN_WINDOW_DEFAULT;
}

static const struct kw http2_kws[] = {
	U32(struct gw_cfg_http2, max_concurrent_streams, "max_concurrent_streams", 0, 1,
	    GW_CFG_H2_STREAMS_MAX),
	SIZE(struct gw_cfg_http2, max_header_list_size, "max_header_list_size", 0,
	     GW_CFG_H2_HEADER_LIST_MIN, GW_CFG_H2_HEADER_LIST_MAX),
	SIZE(struct gw_cfg_http2, header_table_size, "header_table_size", 0, 0,
	     GW_CFG_H2_TABLE_MAX),
	SIZE(struct gw_cfg_http2, initial_window_size, "initial_window_size", 0,
	     GW_CFG_H2_WINDOW_MIN, GW_CFG_H2_WINDOW_MAX),
	SIZE(struct gw_cfg_http2, connection_window_size, "connection_window_size", 0,
	     GW_CFG_H2_WINDOW_DEFAULT, GW_CFG_H2_CONN_WINDOW_MAX),
	KW_END,
};
static const struct kw_table http2_table = { "http2", sizeof(struct gw_cfg_http2), http2_kws,
					     NULL, http2_defaults };

static void listener_defaults(void *o)
{
	client_timeouts_defaults(&((struct gw_cfg_listener *)o)->timeouts);
	http2_defaults(&((struct gw_cfg_listener *)o)->http2);
}

static const struct kw listener_kws[] = {
	STR(struct gw_cfg_listener, name, "name", KW_REQUIRED),
	EP(struct gw_cfg_listener, address, "address", KW_REQUIRED),
	BOOL(struct gw_cfg_listener, tls, "tls"),
	STRP(struct gw_cfg_listener, client_ca, "client_ca", 0),
	ENUM(struct gw_cfg_listener, client_cert, "client_cert", 0, client_cert_modes),
	TABLE(struct gw_cfg_listener, timeouts, "timeouts", 0, &client_timeouts_table),
	SIZE(struct gw_cfg_listener, max_body, "max_body", 0, 1, GW_CFG_MAX_BODY_MAX),
	BOOL(struct gw_cfg_listener, h2c, "h2c"),
	ENUM(struct gw_cfg_listener, ktls, "ktls", 0, ktls_modes),
	TABLE(struct gw_cfg_listener, http2, "http2", 0, &http2_table),
	KW_END,
};
static const struct kw_table listener_table = { "listener", sizeof(struct gw_cfg_listener),
						listener_kws, NULL, listener_defaults };

static void timeouts_defaults(void *o)
{
	struct gw_cfg_timeouts *t = o;

	t->connect_ns = 1 * NS_S;
	t->response_ns = 15 * NS_S;
	t->idle_ns = 60 * NS_S;
}

static const struct kw timeouts_kws[] = {
	DUR(struct gw_cfg_timeouts, connect_ns, "connect", 0, NS_MS, NS_DAY),
	DUR(struct gw_cfg_timeouts, response_ns, "response", 0, NS_MS, NS_DAY),
	DUR(struct gw_cfg_timeouts, idle_ns, "idle", 0, NS_MS, NS_DAY),
	KW_END,
};
static const struct kw_table timeouts_table = { "timeouts", sizeof(struct gw_cfg_timeouts),
						timeouts_kws, NULL, timeouts_defaults };

static void uptls_defaults(void *o)
{
	struct gw_cfg_uptls *t = o;

	t->verify = 1;
	t->min_version = 0x0303;
}

static const struct kw uptls_kws[] = {
	STRP(struct gw_cfg_uptls, ca, "ca", 0),
	STRP(struct gw_cfg_uptls, cert, "cert", 0),
	STRP(struct gw_cfg_uptls, key, "key", 0),
	STR(struct gw_cfg_uptls, sni, "sni", 0),
	STR(struct gw_cfg_uptls, verify_name, "verify_name", 0),
	BOOL(struct gw_cfg_uptls, verify, "verify"),
	ENUM(struct gw_cfg_uptls, min_version, "min_version", 0, tls_versions),
	KW_END,
};
static const struct kw_table uptls_table = { "tls", sizeof(struct gw_cfg_uptls), uptls_kws,
					     NULL, uptls_defaults };
static const struct kw up_limits_kws[] = {
	U32(struct gw_cfg_up_limits, max_connections, "max_connections", 0, 1, 1000000),
	U32(struct gw_cfg_up_limits, max_pending, "max_pending", 0, 1, 1000000),
	STR(struct gw_cfg_up_limits, retry_budget, "retry_budget", 0),
	KW_END,
};
static const struct kw_table up_limits_table = { "limits", sizeof(struct gw_cfg_up_limits),
						 up_limits_kws, NULL, NULL };

static void upstream_defaults(void *o)
{
	struct gw_cfg_upstream *u = o;

	uptls_defaults(&u->tls);
	u->balance = GW_BALANCE_ROUND_ROBIN;
	health_defaults(&u->health);
	timeouts_defaults(&u->timeouts);
	http2_defaults(&u->http2);
}

static const struct kw upstream_kws[] = {
	STR(struct gw_cfg_upstream, name, "name", KW_REQUIRED),
	ENUM(struct gw_cfg_upstream, balance, "balance", 0, balances),
	LIST(struct gw_cfg_upstream, servers, "servers", KW_REQUIRED, K_TABLE,
	     sizeof(struct gw_cfg_backend), &backend_table),
	TABLE(struct gw_cfg_upstream, health, "health", 0, &up_health_table),
	TABLE(struct gw_cfg_upstream, timeouts, "timeouts", 0, &timeouts_table),
	U32(struct gw_cfg_upstream, retries, "retries", 0, 0, 10),
	TABLE(struct gw_cfg_upstream, tls, "tls", 0, &uptls_table),
	TABLE(struct gw_cfg_upstream, limits, "limits", 0, &up_limits_table),
	ENUM(struct gw_cfg_upstream, protocol, "protocol", 0, up_protocols),
	TABLE(struct gw_cfg_upstream, http2, "http2", 0, &http2_table),
	KW_END,
};
static const struct kw_table upstream_table = { "upstream", sizeof(struct gw_cfg_upstream),
						upstream_kws, NULL, upstream_defaults };

static const struct kw jwt_kws[] = {
	STR(struct gw_cfg_jwt, name, "name", KW_REQUIRED),
	STRP(struct gw_cfg_jwt, jwks, "jwks", KW_REQUIRED),
	STR(struct gw_cfg_jwt, issuer, "issuer", 0),
	LIST(struct gw_cfg_jwt, audiences, "audiences", 0, K_STR, sizeof(char *), NULL),
	LIST(struct gw_cfg_jwt, algorithms, "algorithms", KW_REQUIRED, K_STR, sizeof(char *),
	     NULL),
	DUR(struct gw_cfg_jwt, leeway_ns, "leeway", 0, 0, 3600 * NS_S),
	STRMAP(struct gw_cfg_jwt, forward_claims, "forward_claims", 0),
	KW_END,
};
static const struct kw_table jwt_table = { "jwt", sizeof(struct gw_cfg_jwt), jwt_kws, NULL, NULL };

static const struct kw api_keys_kws[] = {
	STR(struct gw_cfg_api_keys, name, "name", KW_REQUIRED),
	STR(struct gw_cfg_api_keys, header, "header", KW_REQUIRED),
	STRP(struct gw_cfg_api_keys, keys, "keys", KW_REQUIRED),
	KW_END,
};
static const struct kw_table api_keys_table = { "api_keys", sizeof(struct gw_cfg_api_keys),
						api_keys_kws, NULL, NULL };

static const struct kw auth_kws[] = {
	LIST(struct gw_cfg_auth, jwt, "jwt", 0, K_TABLE, sizeof(struct gw_cfg_jwt), &jwt_table),
	LIST(struct gw_cfg_auth, api_keys, "api_keys", 0, K_TABLE, sizeof(struct gw_cfg_api_keys),
	     &api_keys_table),
	KW_END,
};
static const struct kw_table auth_table = { "auth", sizeof(struct gw_cfg_auth), auth_kws, NULL,
					    NULL };

static const struct kw match_kws[] = {
	STR(struct gw_cfg_match, host, "host", 0),
	STR(struct gw_cfg_match, path_prefix, "path_prefix", 0),
	STR(struct gw_cfg_match, path_exact, "path_exact", 0),
	LIST(struct gw_cfg_match, methods, "methods", 0, K_STR, sizeof(char *), NULL),
	STRMAP(struct gw_cfg_match, headers, "headers", 0),
	BOOL(struct gw_cfg_match, ignore_case, "ignore_case"),
	ENUM(struct gw_cfg_match, scheme, "scheme", 0, schemes),
	KW_END,
};
static const struct kw_table match_table = { "match", sizeof(struct gw_cfg_match), match_kws,
					     NULL, NULL };

static const struct kw route_rl_kws[] = {
	RATE(struct gw_cfg_route_rl, rate, "rate", KW_REQUIRED),
	U32(struct gw_cfg_route_rl, burst, "burst", KW_REQUIRED, 1, 1000000000),
	ENUM(struct gw_cfg_route_rl, key, "key", 0, rl_keys),
	ENUM(struct gw_cfg_route_rl, scope, "scope", 0, scopes),
	KW_END,
};
static const struct kw_table route_rl_table = { "rate_limit", sizeof(struct gw_cfg_route_rl),
						route_rl_kws, NULL, NULL };

static const struct kw req_headers_kws[] = {
	STRMAP(struct gw_cfg_req_headers, add, "add", 0),
	STRMAP(struct gw_cfg_req_headers, set, "set", 0),
	LIST(struct gw_cfg_req_headers, remove, "remove", 0, K_STR, sizeof(char *), NULL),
	KW_END,
};
static const struct kw_table req_headers_table = { "request_headers",
						   sizeof(struct gw_cfg_req_headers),
						   req_headers_kws, NULL, NULL };
static const struct kw_table resp_headers_table = { "response_headers",
						    sizeof(struct gw_cfg_req_headers),
						    req_headers_kws, NULL, NULL };

static const struct kw respond_kws[] = {
	U32(struct gw_cfg_respond, status, "status", KW_REQUIRED, 100, 599),
	STR(struct gw_cfg_respond, body, "body", 0),
	STRMAP(struct gw_cfg_respond, headers, "headers", 0),
	KW_END,
};
static const struct kw_table respond_table = { "respond", sizeof(struct gw_cfg_respond),
					       respond_kws, NULL, NULL };

static const struct kw rewrite_kws[] = {
	STR(struct gw_cfg_rewrite, prefix, "prefix", 0),
	STR(struct gw_cfg_rewrite, regex, "regex", 0),
	STR(struct gw_cfg_rewrite, replace, "replace", 0),
	KW_END,
};
static const struct kw_table rewrite_table = { "rewrite", sizeof(struct gw_cfg_rewrite),
					       rewrite_kws, NULL, NULL };

static const struct kw cors_kws[] = {
	LIST(struct gw_cfg_cors, origins, "origins", KW_REQUIRED, K_STR, sizeof(char *), NULL),
	LIST(struct gw_cfg_cors, methods, "methods", 0, K_STR, sizeof(char *), NULL),
	LIST(struct gw_cfg_cors, headers, "headers", 0, K_STR, sizeof(char *), NULL),
	LIST(struct gw_cfg_cors, expose, "expose_headers", 0, K_STR, sizeof(char *), NULL),
	BOOL(struct gw_cfg_cors, credentials, "credentials"),
	DUR(struct gw_cfg_cors, max_age_ns, "max_age", 0, NS_S, NS_DAY),
	KW_END,
};
static const struct kw_table cors_table = { "cors", sizeof(struct gw_cfg_cors), cors_kws, NULL,
					    NULL };

static void compress_defaults(void *o)
{
	struct gw_cfg_compress *z = o;

	z->min_size = GW_CFG_COMPRESS_MIN_SIZE;
	z->level = GW_CFG_COMPRESS_LEVEL;
	z->brotli = 1;
}

static const struct kw compress_kws[] = {
	LIST(struct gw_cfg_compress, types, "types", KW_REQUIRED, K_STR, sizeof(char *), NULL),
	SIZE(struct gw_cfg_compress, min_size, "min_size", 0, 0, 1ull << 30),
	U32(struct gw_cfg_compress, level, "level", 0, 1, 9),
	BOOL(struct gw_cfg_compress, brotli, "brotli"),
	KW_END,
};
static const struct kw_table compress_table = { "compression", sizeof(struct gw_cfg_compress),
						compress_kws, NULL, compress_defaults };

static const struct kw route_kws[] = {
	STRP(struct gw_cfg_route, name, "name", 0),
	TABLE(struct gw_cfg_route, match, "match", KW_REQUIRED, &match_table),
	STR(struct gw_cfg_route, upstream, "upstream", 0),
	STR(struct gw_cfg_route, auth, "auth", 0),
	BOOL(struct gw_cfg_route, strip_prefix, "strip_prefix"),
	TABLE(struct gw_cfg_route, rate_limit, "rate_limit", 0, &route_rl_table),
	TABLE(struct gw_cfg_route, request_headers, "request_headers", 0, &req_headers_table),
	TABLE(struct gw_cfg_route, respond, "respond", 0, &respond_table),
	LISTP(struct gw_cfg_route, upgrade, "upgrade", 0, K_STR, sizeof(char *)),
	SIZE(struct gw_cfg_route, max_body, "max_body", 0, 1, GW_CFG_MAX_BODY_MAX),
	STR(struct gw_cfg_route, client_cert_header, "client_cert_header", 0),
	TABLE(struct gw_cfg_route, response_headers, "response_headers", 0, &resp_headers_table),
	TABLE(struct gw_cfg_route, rewrite, "rewrite", 0, &rewrite_table),
	LIST(struct gw_cfg_route, ip_allow, "ip_allow", 0, K_CIDR, sizeof(struct gw_cidr), NULL),
	LIST(struct gw_cfg_route, ip_deny, "ip_deny", 0, K_CIDR, sizeof(struct gw_cidr), NULL),
	TABLE(struct gw_cfg_route, cors, "cors", 0, &cors_table),
	TABLE(struct gw_cfg_route, compression, "compression", 0, &compress_table),
	BOOLP(struct gw_cfg_route, splice, "splice"),
	KW_END,
};
static const struct kw_table route_table = { "route", sizeof(struct gw_cfg_route), route_kws,
					     NULL, NULL };

static const struct kw redis_kws[] = {
	STR(struct gw_cfg_redis, address, "address", KW_REQUIRED),
	DUR(struct gw_cfg_redis, timeout_ns, "timeout", 0, NS_MS, 10 * NS_S),
	STRP(struct gw_cfg_redis, password_file, "password_file", 0),
	BOOL(struct gw_cfg_redis, tls, "tls"),
	STRP(struct gw_cfg_redis, ca, "ca", 0),
	STR(struct gw_cfg_redis, server_name, "server_name", 0),
	KW_END,
};
static const struct kw_table redis_table = { "redis", sizeof(struct gw_cfg_redis), redis_kws,
					     "address", NULL };

static const struct kw cluster_kws[] = {
	STR(struct gw_cfg_cluster, node, "node", 0),
	TABLE(struct gw_cfg_cluster, redis, "redis", KW_REQUIRED, &redis_table),
	LISTP(struct gw_cfg_cluster, nat_source, "nat_source", 0, K_IP, sizeof(struct gw_ip)),
	KW_END,
};
static const struct kw_table cluster_table = { "cluster", sizeof(struct gw_cfg_cluster),
					       cluster_kws, NULL, NULL };

static void root_defaults(void *o)
{
	struct gw_cfg *c = o;

	tls_defaults(&c->tls);
}

/* The root is struct gw_cfg itself, which has no position member: its
 * keyword offsets are plain offsets into it. */
static const struct kw root_kws[] = {
	U32(struct gw_cfg, version, "version", KW_REQUIRED, 1, 1),
	TABLE(struct gw_cfg, gateway, "gateway", 0, &gateway_table),
	TABLE(struct gw_cfg, filter, "filter", 0, &filter_table),
	TABLE(struct gw_cfg, rate_limits, "rate_limits", 0, &rate_limits_table),
	LIST(struct gw_cfg, services, "services", 0, K_TABLE, sizeof(struct gw_cfg_service),
	     &service_table),
	TABLE(struct gw_cfg, tls, "tls", 0, &tls_table),
	LIST(struct gw_cfg, listeners, "listeners", 0, K_TABLE, sizeof(struct gw_cfg_listener),
	     &listener_table),
	LIST(struct gw_cfg, upstreams, "upstreams", 0, K_TABLE, sizeof(struct gw_cfg_upstream),
	     &upstream_table),
	TABLE(struct gw_cfg, auth, "auth", 0, &auth_table),
	LIST(struct gw_cfg, routes, "routes", 0, K_TABLE, sizeof(struct gw_cfg_route),
	     &route_table),
	TABLE(struct gw_cfg, cluster, "cluster", 0, &cluster_table),
	KW_END,
};
static const struct kw_table root_table = { "configuration", sizeof(struct gw_cfg), root_kws,
					    NULL, root_defaults };

/* ------------------------------------------------------------------ */
/* Errors                                                               */

struct parse_ctx {
	const char *file;
	yaml_document_t *doc;
	struct gw_cfg_errors *errs;
	int oom;
};

static void __attribute__((format(printf, 4, 5)))
error_at(struct parse_ctx *c, int line, int col, const char *fmt, ...)
{
	char msg[512], *full, **grown;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a problem of the whole file (it cannot be read) has no position */
	if ((line > 0 ? asprintf(&full, "%s:%d:%d: %s", c->file, line, col, msg) :
			asprintf(&full, "%s: %s", c->file, msg)) < 0) {
		c->oom = 1;
		return;
	}
	grown = realloc(c->errs->msgs, (c->errs->n + 1) * sizeof(*grown));
	if (!grown) {
		free(full);
		c->oom = 1;
		return;
	}
	c->errs->msgs = grown;
	c->errs->msgs[c->errs->n++] = full;
}

#define node_error(c, node, ...)                                                           \
	error_at(c, (int)(node)->start_mark.line + 1, (int)(node)->start_mark.column + 1,  \
		 __VA_ARGS__)
#define pos_error(c, pos, ...) error_at(c, (pos)->line, (pos)->col, __VA_ARGS__)

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* ------------------------------------------------------------------ */
/* Scalars                                                              */

static int parse_u64(const char *s, __u64 *v)
{
	__u64 r = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (r > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		r = r * 10 + (__u64)(*s - '0');
	}
	*v = r;
	return 0;
}

static void enum_names(const struct kw_enum *e, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (; e->name && off < len; e++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", e->name);
}

/* Parses a scalar node into *dst (of the keyword's type); reports and
 * returns -1 on error. */
static int parse_scalar(struct parse_ctx *c, const struct kw *k, enum kw_type type,
			yaml_node_t *n, void *dst)
{
	char why[160];
	const char *v;
	__u64 u;
	int err;

	if (n->type != YAML_SCALAR_NODE) {
		node_error(c, n, "%s: expected a value, found %s", k->name, node_kind(n));
		return -1;
	}
	v = (const char *)n->data.scalar.value;

	switch (type) {
	case K_STR:
		*(char **)dst = strdup(v);
		if (!*(char **)dst)
			c->oom = 1;
		return 0;
	case K_BOOL:
		if (!strcmp(v, "true"))
			*(int *)dst = 1;
		else if (!strcmp(v, "false"))
			*(int *)dst = 0;
		else {
			node_error(c, n, "%s: expected true or false, found '%s'", k->name, v);
			return -1;
		}
		return 0;
	case K_U32:
		err = parse_u64(v, &u);
		if (err || u > UINT32_MAX) {
			node_error(c, n, "%s: expected a whole number, found '%s'", k->name, v);
			return -1;
		}
		if ((k->min || k->max) && (u < k->min || u > k->max)) {
			node_error(c, n, "%s: %llu is out of range %llu-%llu", k->name,
				   (unsigned long long)u, (unsigned long long)k->min,
				   (unsigned long long)k->max);
			return -1;
		}
		*(__u32 *)dst = (__u32)u;
		return 0;
	case K_DURATION:
		err = gw_duration_parse(v, &u);
		if (err) {
			node_error(c, n, "%s: '%s' is not a duration (a number with ms, s, m or h)",
				   k->name, v);
			return -1;
		}
		if ((k->min || k->max) && (u < k->min || u > k->max)) {
			node_error(c, n, "%s: %s is out of range (%llums-%llus)", k->name, v,
				   (unsigned long long)(k->min / NS_MS),
				   (unsigned long long)(k->max / NS_S));
			return -1;
		}
		*(__u64 *)dst = u;
		return 0;
	case K_SIZE:
		err = gw_size_parse(v, &u);
		if (err || (k->min && u < k->min) || (k->max && u > k->max)) {
			node_error(c, n, "%s: '%s' is not a size from %llu to %llu bytes (a number "
				   "with k, m or g)", k->name, v, (unsigned long long)k->min,
				   (unsigned long long)k->max);
			return -1;
		}
		*(__u64 *)dst = u;
		return 0;
	case K_RATE:
		err = gw_rate_parse(v, dst);
		if (err) {
			node_error(c, n, "%s: '%s' is not a rate (N/s, N/m or N/h)%s", k->name, v,
				   err == -ERANGE ? ": too fast" : "");
			return -1;
		}
		return 0;
	/* the address parsers say what is wrong ("port must be a number from 1
	 * to 65535", "host bits set" ...) */
	case K_CIDR:
		if (gw_cidr_parse_msg(v, dst, why, sizeof(why))) {
			node_error(c, n, "%s: not an IPv4 or IPv6 prefix: %s", k->name, why);
			return -1;
		}
		return 0;
	case K_IP:
		if (gw_ip_parse_msg(v, dst, why, sizeof(why))) {
			node_error(c, n, "%s: not an IPv4 or IPv6 address: %s", k->name, why);
			return -1;
		}
		return 0;
	case K_ENDPOINT:
		if (gw_endpoint_parse_msg(v, dst, why, sizeof(why))) {
			node_error(c, n, "%s: not ADDRESS:PORT ([v6]:port for IPv6): %s", k->name,
				   why);
			return -1;
		}
		return 0;
	case K_ENUM: {
		const struct kw_enum *e;
		char names[256];

		for (e = k->enums; e->name; e++) {
			if (!strcmp(e->name, v)) {
				*(int *)dst = e->value;
				return 0;
			}
		}
		enum_names(k->enums, names, sizeof(names));
		node_error(c, n, "%s: '%s' is not one of: %s", k->name, v, names);
		return -1;
	}
	default:
		node_error(c, n, "%s: internal error: bad scalar type", k->name);
		return -1;
	}
}

/* ------------------------------------------------------------------ */
/* Tables, lists, maps                                                  */

static int parse_table(struct parse_ctx *c, const struct kw_table *t, yaml_node_t *n,
		       void *obj, int has_pos);

static void set_pos(void *obj, const yaml_node_t *n)
{
	struct gw_cfg_pos *pos = obj;

	pos->line = (int)n->start_mark.line + 1;
	pos->col = (int)n->start_mark.column + 1;
}

static void parse_value(struct parse_ctx *c, const struct kw *k, yaml_node_t *n, void *obj)
{
	void *dst = (char *)obj + k->off;
	yaml_node_item_t *it;
	yaml_node_pair_t *pair;
	size_t count, i, kept;
	char *arr;

	switch (k->type) {
	case K_TABLE:
		parse_table(c, k->sub, n, dst, 1);
		return;
	case K_LIST:
		if (n->type != YAML_SEQUENCE_NODE) {
			node_error(c, n, "%s: expected a list, found %s", k->name, node_kind(n));
			return;
		}
		count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		arr = calloc(count ? count : 1, k->elem_size);
		if (!arr) {
			c->oom = 1;
			return;
		}
		*(void **)dst = arr;
		/* an element of the wrong kind is reported and left out: every
		 * element counted is whole, so later checks never meet a hole */
		for (i = 0, kept = 0, it = n->data.sequence.items.start; i < count; i++, it++) {
			yaml_node_t *e = yaml_document_get_node(c->doc, *it);
			void *edst = arr + kept * k->elem_size;

			if (k->elem == K_TABLE ? parse_table(c, k->sub, e, edst, 1) :
						 parse_scalar(c, k, k->elem, e, edst))
				memset(edst, 0, k->elem_size);
			else
				kept++;
		}
		*(size_t *)((char *)obj + k->count_off) = kept;
		return;
	case K_STRMAP:
		if (n->type != YAML_MAPPING_NODE) {
			node_error(c, n, "%s: expected a mapping, found %s", k->name, node_kind(n));
			return;
		}
		count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
		arr = calloc(count ? count : 1, sizeof(struct gw_cfg_strpair));
		if (!arr) {
			c->oom = 1;
			return;
		}
		*(void **)dst = arr;
		for (i = 0, kept = 0, pair = n->data.mapping.pairs.start; i < count; i++, pair++) {
			struct gw_cfg_strpair *sp = (struct gw_cfg_strpair *)arr + kept;
			yaml_node_t *kn = yaml_document_get_node(c->doc, pair->key);
			yaml_node_t *vn = yaml_document_get_node(c->doc, pair->value);

			set_pos(sp, kn);
			if (!parse_scalar(c, k, K_STR, kn, &sp->key) &&
			    !parse_scalar(c, k, K_STR, vn, &sp->value)) {
				kept++;
				continue;
			}
			free(sp->key);	/* a pair of the wrong kind is left out */
			memset(sp, 0, sizeof(*sp));
		}
		*(size_t *)((char *)obj + k->count_off) = kept;
		return;
	default:
		parse_scalar(c, k, k->type, n, dst);
		return;
	}
}

/* Fills obj from a mapping node (or, with a shorthand, a scalar): unknown
 * and repeated keys and missing required ones are errors. Returns 0, or -1
 * when the node is of the wrong kind (reported; obj holds its defaults). */
static int parse_table(struct parse_ctx *c, const struct kw_table *t, yaml_node_t *n,
		       void *obj, int has_pos)
{
	unsigned long long seen = 0;
	yaml_node_pair_t *pair;
	const struct kw *k;
	size_t i;

	if (t->defaults)
		t->defaults(obj);
	if (has_pos)
		set_pos(obj, n);

	if (n->type == YAML_SCALAR_NODE && t->shorthand) {
		for (k = t->kws; k->name; k++)
			if (!strcmp(k->name, t->shorthand))
				parse_value(c, k, n, obj);
		return 0;
	}
	if (n->type != YAML_MAPPING_NODE) {
		node_error(c, n, "%s: expected a mapping%s, found %s", t->what,
			   t->shorthand ? " or a value" : "", node_kind(n));
		return -1;
	}
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, pair->value);
		const char *key;

		if (kn->type != YAML_SCALAR_NODE) {
			node_error(c, kn, "%s: keys must be names, found %s", t->what,
				   node_kind(kn));
			continue;
		}
		key = (const char *)kn->data.scalar.value;
		for (i = 0, k = t->kws; k->name; k++, i++)
			if (!strcmp(k->name, key))
				break;
		if (!k->name) {
			char names[512];
			size_t off = 0;
			const struct kw *o;

			names[0] = 0;
			for (o = t->kws; o->name && off < sizeof(names); o++)
				off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
							off ? ", " : "", o->name);
			node_error(c, kn, "unknown key '%s' in %s (expected one of: %s)", key,
				   t->what, names);
			continue;
		}
		if (seen & (1ull << i)) {
			node_error(c, kn, "%s: '%s' is given twice", t->what, key);
			continue;
		}
		seen |= 1ull << i;
		if (k->flags & KW_KEYPOS)
			set_pos((char *)obj + k->pos_off, kn);
		parse_value(c, k, vn, obj);
	}
	for (i = 0, k = t->kws; k->name; k++, i++)
		if ((k->flags & KW_REQUIRED) && !(seen & (1ull << i)))
			node_error(c, n, "%s: '%s' is required", t->what, k->name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Checks across keys                                                   */

/* Orders prefixes by family, length, address: equal ones end up adjacent. */
static int cidr_order(const void *pa, const void *pb)
{
	const struct gw_cidr *a = pa, *b = pb;

	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family ? -1 : 1;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	/* an IPv4 address is addr[0] only (as gw_ip_equal() reads it) */
	return memcmp(a->ip.addr, b->ip.addr,
		      a->ip.family == GW_FAMILY_V4 ? sizeof(a->ip.addr[0]) : sizeof(a->ip.addr));
}

/* Returns how many prefixes of list repeat an earlier one (a sorted copy:
 * n log n, big deny lists stay quick), or -1 when out of memory. */
static long cidr_repeats(const struct gw_cidr *list, size_t n)
{
	struct gw_cidr *v;
	long dup = 0;
	size_t i;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -1;
	memcpy(v, list, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cidr_order);
	for (i = 1; i < n; i++)
		if (!cidr_order(&v[i - 1], &v[i]))
			dup++;
	free(v);
	return dup;
}

static void check_gateway(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	const struct gw_cfg_gateway *g = &cfg->gateway;
	size_t i, j;

	for (i = 0; i < g->n_interfaces; i++) {
		const struct gw_cfg_iface *f = &g->interfaces[i];

		if (!f->name)
			continue;
		if (!*f->name || strlen(f->name) >= 16 || strchr(f->name, '/') ||
		    strchr(f->name, ' '))
			pos_error(c, &f->pos, "interface: '%s' is not an interface name", f->name);
		for (j = 0; j < i; j++)
			if (g->interfaces[j].name && !strcmp(g->interfaces[j].name, f->name)) {
				pos_error(c, &f->pos, "interface '%s' is listed twice", f->name);
				break;
			}
	}
	if (g->pin_root && g->pin_root[0] != '/')
		pos_error(c, &g->pos, "gateway: pin_root must be an absolute path");
	if (g->access_log && g->access_log[0] != '/')
		pos_error(c, &g->pos, "gateway: access_log must be an absolute path");
	if (g->admin_socket &&
	    (g->admin_socket[0] != '/' || strlen(g->admin_socket) >= 108))
		pos_error(c, &g->pos, "gateway: admin_socket must be an absolute path "
			  "shorter than 108 bytes");
}

static void check_filter(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	const struct gw_cfg_filter *f = &cfg->filter;
	size_t i;

	long nd = cidr_repeats(f->deny, f->n_deny), na = cidr_repeats(f->allow, f->n_allow);

	for (i = 0; nd > 0 && i < (size_t)nd; i++)
		pos_error(c, &f->pos, "filter: a deny prefix is listed twice");
	for (i = 0; na > 0 && i < (size_t)na; i++)
		pos_error(c, &f->pos, "filter: an allow prefix is listed twice");
	if (nd < 0 || na < 0)
		pos_error(c, &f->pos, "filter: out of memory checking for repeated prefixes");
	if (f->ban.auth_failures.count && !f->ban.duration_ns)
		pos_error(c, &f->ban.pos, "ban: auth_failures needs a duration");
}

#define HEALTH_PATH_MSG                                                                    \
	"health: path must start with '/', hold no spaces or control characters and be "  \
	"shorter than 256 bytes"
_Static_assert(GW_HEALTH_PATH_MAX == 256, "HEALTH_PATH_MSG names the limit");

/* Checks a service's or an upstream's health section (an upstream's type
 * is always tcp, its default). */
static void check_health(struct parse_ctx *c, const struct gw_cfg_health *h)
{
	if (h->type == GW_HEALTH_HTTP && !h->path)
		pos_error(c, &h->pos, "health: type http needs a path");
	if (h->path && !gw_health_path_ok(h->path))
		pos_error(c, &h->pos, HEALTH_PATH_MSG);
	if (h->timeout_ns > h->interval_ns)
		pos_error(c, &h->pos, "health: timeout is longer than interval");
}

/* Reports the `what` called name (at pos) when an earlier one's name, other,
 * is the same; a first_line names that one's line. Returns 1 when it did. */
static int name_twice(struct parse_ctx *c, const char *what, const char *name,
		      const struct gw_cfg_pos *pos, const char *other, int first_line)
{
	if (!name || !other || strcmp(name, other))
		return 0;
	if (first_line)
		pos_error(c, pos, "%s '%s' is defined twice (first at line %d)", what, name,
			  first_line);
	else
		pos_error(c, pos, "%s '%s' is defined twice", what, name);
	return 1;
}

static void check_services(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->n_services; i++) {
		const struct gw_cfg_service *s = &cfg->services[i];

		for (j = 0; j < i; j++) {
			const struct gw_cfg_service *o = &cfg->services[j];

			if (name_twice(c, "service", s->name, &s->pos, o->name, o->pos.line))
				continue;
			if (s->vip.family && gw_ip_equal(&s->vip, &o->vip) &&
			    s->port == o->port && s->protocol == o->protocol)
				pos_error(c, &s->pos, "service '%s' has the same VIP, port and "
					  "protocol as '%s'", s->name ? s->name : "?",
					  o->name ? o->name : "?");
		}
		if (s->backends && !s->n_backends)
			pos_error(c, &s->pos, "service '%s' has no backends",
				  s->name ? s->name : "?");
		for (j = 0; j < s->n_backends; j++) {
			const struct gw_cfg_backend *b = &s->backends[j];
			size_t k;

			if (s->forwarding == GW_FWD_NAT && b->address.ip.family &&
			    s->vip.family && b->address.ip.family != s->vip.family)
				pos_error(c, &b->pos, "backend: a nat service's backends must be "
					  "of the VIP's address family");
			/* once per repeat, whatever the copies before it */
			for (k = 0; k < j; k++)
				if (gw_ip_equal(&s->backends[k].address.ip, &b->address.ip) &&
				    s->backends[k].address.port == b->address.port) {
					pos_error(c, &b->pos, "backend is listed twice");
					break;
				}
		}
		check_health(c, &s->health);
	}
}

static int known_alg(const char *a)
{
	static const char *const algs[] = { "RS256", "RS384", "RS512", "PS256", "PS384",
					    "PS512", "ES256", "ES384", "EdDSA", "HS256",
					    "HS384", "HS512" };
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcmp(a, algs[i]))
			return 1;
	return 0;
}


/* Returns 1 if a route name is fit for a metric label next to the
 * positional ones ("#3 ..."), which it can never look like, and "none"
 * (requests no route took). */
static int route_name_ok(const char *n)
{
	size_t i, len = strlen(n);

	if (!len || len > GW_CFG_ROUTE_NAME_MAX || !strcmp(n, "none"))
		return 0;
	for (i = 0; i < len; i++) {
		char ch = n[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');

		if (!alnum && (!i || (ch != '_' && ch != '-' && ch != '.')))
			return 0;
	}
	return 1;
}

static void check_listeners(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->n_listeners; i++) {
		const struct gw_cfg_listener *l = &cfg->listeners[i];

		for (j = 0; j < i; j++) {
			const struct gw_cfg_listener *o = &cfg->listeners[j];

			name_twice(c, "listener", l->name, &l->pos, o->name, 0);
			if (gw_ip_equal(&l->address.ip, &o->address.ip) &&
			    l->address.port == o->address.port)
				pos_error(c, &l->pos, "listener '%s' has the address of '%s'",
					  l->name ? l->name : "?", o->name ? o->name : "?");
		}
		if (l->tls && !cfg->tls.n_certificates)
			pos_error(c, &l->pos, "listener '%s' has tls: true but tls has no "
				  "certificates", l->name ? l->name : "?");
		if (l->client_ca && !l->tls)
			pos_error(c, &l->client_ca_pos, "listener '%s': client_ca needs tls: true",
				  l->name ? l->name : "?");
		if (l->tls && l->h2c)
			pos_error(c, &l->pos, "listener '%s': h2c is for plain listeners (a TLS "
				  "listener offers h2 with tls.alpn)", l->name ? l->name : "?");
	}
}

/* "N%" with N 0-100. Returns 1 or 0. */
static int budget_ok(const char *s)
{
	__u64 v;
	size_t n = strlen(s);
	char num[8];

	if (n < 2 || n > 4 || s[n - 1] != '%')
		return 0;
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	return !parse_u64(num, &v) && v <= 100;
}

static void check_upstreams(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->n_upstreams; i++) {
		const struct gw_cfg_upstream *u = &cfg->upstreams[i];

		for (j = 0; j < i; j++)
			name_twice(c, "upstream", u->name, &u->pos, cfg->upstreams[j].name, 0);
		if (u->servers && !u->n_servers)
			pos_error(c, &u->pos, "upstream '%s' has no servers",
				  u->name ? u->name : "?");
		check_health(c, &u->health);
		if (!u->tls.cert != !u->tls.key)
			pos_error(c, &u->tls.pos, "upstream '%s': tls: give both cert and key, "
				  "or neither", u->name ? u->name : "?");
		if (u->tls.pos.line && u->protocol == GW_UP_PROTO_H2C)
			pos_error(c, &u->tls.pos, "upstream '%s': tls with protocol h2c: h2c is "
				  "HTTP/2 in the clear (protocol h2 is HTTP/2 over TLS)",
				  u->name ? u->name : "?");
		if (!u->tls.pos.line && u->protocol == GW_UP_PROTO_H2)
			pos_error(c, &u->pos, "upstream '%s': protocol h2 is HTTP/2 over TLS: give "
				  "it a tls section (tls: {} verifies against the system's CAs)",
				  u->name ? u->name : "?");
		if (u->health.path && u->protocol != GW_UP_PROTO_HTTP1)
			pos_error(c, &u->health.pos, "upstream '%s': health.path: HTTP checks speak "
				  "HTTP/1.1, which an HTTP/2 (h2c or h2) server may refuse; leave "
				  "path out for a TCP connect check", u->name ? u->name : "?");
		if (u->http2.pos.line && u->protocol == GW_UP_PROTO_HTTP1)
			pos_error(c, &u->http2.pos, "upstream '%s': http2 applies to protocol h2c "
				  "or h2 only", u->name ? u->name : "?");
		if (u->limits.retry_budget && !budget_ok(u->limits.retry_budget))
			pos_error(c, &u->limits.pos, "limits: retry_budget '%s' is not a share "
				  "from 0%% to 100%%", u->limits.retry_budget);
	}
}

/* Returns the name of authenticator i (the jwt ones, then the api_keys
 * ones) and its position in *pos. */
static const char *auth_name(const struct gw_cfg *cfg, size_t i, const struct gw_cfg_pos **pos)
{
	const struct gw_cfg_auth *a = &cfg->auth;

	if (i < a->n_jwt) {
		*pos = &a->jwt[i].pos;
		return a->jwt[i].name;
	}
	*pos = &a->api_keys[i - a->n_jwt].pos;
	return a->api_keys[i - a->n_jwt].name;
}

/* Returns 1 if `name` is a jwt or api_keys name. */
static int auth_exists(const struct gw_cfg *cfg, const char *name)
{
	const struct gw_cfg_pos *pos;
	const char *o;
	size_t i;

	for (i = 0; i < cfg->auth.n_jwt + cfg->auth.n_api_keys; i++) {
		o = auth_name(cfg, i, &pos);
		if (o && !strcmp(o, name))
			return 1;
	}
	return 0;
}

static void check_auth(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->auth.n_jwt; i++) {
		const struct gw_cfg_jwt *a = &cfg->auth.jwt[i];

		for (j = 0; j < a->n_algorithms; j++) {
			if (!strcasecmp(a->algorithms[j], "none"))
				pos_error(c, &a->pos, "jwt '%s': algorithm 'none' is never "
					  "accepted", a->name ? a->name : "?");
			else if (!known_alg(a->algorithms[j]))
				pos_error(c, &a->pos, "jwt '%s': unknown algorithm '%s'",
					  a->name ? a->name : "?", a->algorithms[j]);
		}
		if (a->algorithms && !a->n_algorithms)
			pos_error(c, &a->pos, "jwt '%s': algorithms is empty",
				  a->name ? a->name : "?");
	}
	for (i = 0; i < cfg->auth.n_jwt + cfg->auth.n_api_keys; i++) {
		const struct gw_cfg_pos *pos, *opos;
		const char *name = auth_name(cfg, i, &pos);

		if (!name)
			continue;
		if (!strcmp(name, "none"))
			pos_error(c, pos, "auth: 'none' is reserved and cannot name an "
				  "authenticator");
		for (j = 0; j < i; j++)
			name_twice(c, "auth", name, pos, auth_name(cfg, j, &opos), 0);
	}
}

static void check_match(struct parse_ctx *c, const struct gw_cfg_match *m)
{
	size_t j;

	if (m->path_prefix && m->path_exact)
		pos_error(c, &m->pos, "match: path_prefix and path_exact exclude each other");
	if ((m->path_prefix && m->path_prefix[0] != '/') ||
	    (m->path_exact && m->path_exact[0] != '/'))
		pos_error(c, &m->pos, "match: paths must start with '/'");
	if (m->host && (!*m->host || strchr(m->host, '/') || strchr(m->host, ' ') ||
			(strchr(m->host, '*') && strncmp(m->host, "*.", 2)) ||
			strchr(m->host + 1, '*')))
		pos_error(c, &m->pos, "match: host '%s' is not a host name or *.domain", m->host);
	for (j = 0; j < m->n_methods; j++) {
		const char *p = m->methods[j];

		for (; *p; p++)
			if (*p < 'A' || *p > 'Z')
				break;
		if (*p || !*m->methods[j])
			pos_error(c, &m->pos, "match: '%s' is not an HTTP method", m->methods[j]);
	}
}

/* Returns 1 if a listener takes client certificates (their subjects are
 * consumers), else 0. */
static int client_certs(const struct gw_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].client_ca)
			return 1;
	return 0;
}

/* Returns 1 if `name` is an upstream's name. */
static int upstream_exists(const struct gw_cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_upstreams; i++)
		if (cfg->upstreams[i].name && !strcmp(cfg->upstreams[i].name, name))
			return 1;
	return 0;
}

/* 1 for a byte of an RFC 9110 token. */
static int is_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* client_cert_header: a field name (a token). */
static void check_cc_header(struct parse_ctx *c, const struct gw_cfg_route *r)
{
	const char *p = r->client_cert_header;

	if (!p)
		return;
	for (; *p && is_tchar(*p); p++)
		;
	if (!*r->client_cert_header || *p)
		pos_error(c, &r->pos, "client_cert_header: '%s' is not a field name",
			  r->client_cert_header);
}

/* splice: true hands every later request on the connection to the kernel,
 * unseen: refused with what a later request could fail (docs/routing.md). */
static void check_splice(struct parse_ctx *c, const struct gw_cfg_route *r)
{
	const char *why = NULL;

	if (!r->splice)
		return;
	if (r->auth && strcmp(r->auth, "none"))
		why = "auth";
	else if (r->rate_limit.pos.line)
		why = "rate_limit";
	else if (r->request_headers.pos.line)
		why = "request_headers";
	else if (r->strip_prefix)
		why = "strip_prefix";
	else if (r->respond.status)
		why = "respond";
	else if (r->match.n_headers)
		why = "match.headers";
	else if (r->match.n_methods)
		why = "match.methods";
	else if (r->response_headers.pos.line)
		why = "response_headers";
	else if (r->rewrite.pos.line)
		why = "rewrite";
	else if (r->cors.pos.line)
		why = "cors";
	else if (r->compression.pos.line)
		why = "compression";
	else if (r->client_cert_header)
		why = "client_cert_header";
	if (why)
		pos_error(c, &r->splice_pos, "route: splice: true cannot go with %s (later "
			  "requests on a spliced connection are not inspected)", why);
}

/* upgrade: protocol names (tokens); never h2c, which gw speaks with prior
 * knowledge only (listeners[].h2c), so an Upgrade to it is never passed. */
static void check_upgrade(struct parse_ctx *c, const struct gw_cfg_route *r)
{
	size_t i;
	const char *p;

	for (i = 0; i < r->n_upgrade; i++) {
		for (p = r->upgrade[i]; *p && is_tchar(*p); p++)
			;
		if (!*r->upgrade[i] || *p)
			pos_error(c, &r->upgrade_pos, "upgrade: '%s' is not a protocol name",
				  r->upgrade[i]);
		else if (!strcasecmp(r->upgrade[i], "h2c"))
			pos_error(c, &r->upgrade_pos, "upgrade: h2c is never passed (an Upgrade "
				  "to h2c would tunnel requests past routing, auth and limits)");
	}
}

/* A field name of the config: an RFC 9110 token. Returns 1 or 0. */
static int field_name_ok(const char *n)
{
	const char *p;

	for (p = n; *p && is_tchar(*p); p++)
		;
	return *n && !*p && p - n <= 256;
}

/* A field value of the config: no control character but tab. */
static int field_value_ok(const char *v)
{
	for (; *v; v++)
		if ((*v != '\t' && (unsigned char)*v < 0x20) || *v == 0x7f)
			return 0;
	return 1;
}

/* Checks the fields of a list of name: value pairs (`what` in messages). */
static void check_pairs(struct parse_ctx *c, const char *what, const struct gw_cfg_strpair *p,
			size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!field_name_ok(p[i].key))
			pos_error(c, &p[i].pos, "%s: '%s' is not a field name", what, p[i].key);
		else if (!field_value_ok(p[i].value))
			pos_error(c, &p[i].pos, "%s: the value of %s holds a control character",
				  what, p[i].key);
		else if (strlen(p[i].value) > GW_CFG_TMPL_MAX)
			pos_error(c, &p[i].pos, "%s: the value of %s is longer than %d bytes",
				  what, p[i].key, GW_CFG_TMPL_MAX);
	}
}

/* request_headers or response_headers: valid fields, within the bounds
 * (set counts as an add and a remove). */
static void check_headers(struct parse_ctx *c, const char *what,
			  const struct gw_cfg_req_headers *h)
{
	size_t i;

	check_pairs(c, what, h->add, h->n_add);
	check_pairs(c, what, h->set, h->n_set);
	for (i = 0; i < h->n_remove; i++)
		if (!field_name_ok(h->remove[i]))
			pos_error(c, &h->pos, "%s: '%s' is not a field name", what,
				  h->remove[i]);
	if (h->n_add + h->n_set > GW_CFG_ROUTE_HEADERS_MAX ||
	    h->n_remove + h->n_set > GW_CFG_ROUTE_HEADERS_MAX)
		pos_error(c, &h->pos, "%s: at most %d fields to add and %d to remove, set "
			  "counting in both (%zu, %zu and %zu given)", what,
			  GW_CFG_ROUTE_HEADERS_MAX, GW_CFG_ROUTE_HEADERS_MAX, h->n_add, h->n_remove,
			  h->n_set);
}

/* respond: headers are templates (core/tmpl.h); a redirect needs Location. */
static void check_respond(struct parse_ctx *c, const struct gw_cfg_respond *r)
{
	int location = 0;
	char why[160];
	size_t i;

	check_pairs(c, "respond.headers", r->headers, r->n_headers);
	if (r->n_headers > GW_CFG_RESPOND_HEADERS_MAX)
		pos_error(c, &r->pos, "respond: at most %d headers (%zu given)",
			  GW_CFG_RESPOND_HEADERS_MAX, r->n_headers);
	for (i = 0; i < r->n_headers; i++) {
		const char *k = r->headers[i].key;

		location |= !strcasecmp(k, "location");
		if (!strcasecmp(k, "content-length") || !strcasecmp(k, "transfer-encoding") ||
		    !strcasecmp(k, "connection") || !strcasecmp(k, "date"))
			pos_error(c, &r->headers[i].pos, "respond.headers: %s is gw's to write",
				  k);
		else if (gw_tmpl_check(r->headers[i].value, why, sizeof(why)))
			pos_error(c, &r->headers[i].pos, "respond.headers: %s %s", k, why);
	}
	if (!location && (r->status == 301 || r->status == 302 || r->status == 303 ||
			  r->status == 307 || r->status == 308))
		pos_error(c, &r->pos, "respond: status %u is a redirect and needs a Location "
			  "header", r->status);
}

/* rewrite: one of prefix (with match.path_prefix) and regex/replace; not
 * with strip_prefix. The regex itself compiles in the file check
 * (l7/cfgfiles.c). */
static void check_rewrite(struct parse_ctx *c, const struct gw_cfg_route *r)
{
	const struct gw_cfg_rewrite *w = &r->rewrite;

	if (!w->pos.line)
		return;
	if (!!w->prefix == !!w->regex)
		pos_error(c, &w->pos, "rewrite: give exactly one of prefix and regex");
	if (!!w->regex != !!w->replace)
		pos_error(c, &w->pos, "rewrite: regex and replace go together");
	if (w->prefix && !r->match.path_prefix)
		pos_error(c, &w->pos, "rewrite: prefix needs match.path_prefix");
	if (w->prefix && (w->prefix[0] != '/' || !field_value_ok(w->prefix) ||
			  strchr(w->prefix, ' ') || strchr(w->prefix, '?') ||
			  strlen(w->prefix) > GW_CFG_REGEX_MAX))
		pos_error(c, &w->pos, "rewrite: prefix must be a path (starting with '/', no "
			  "spaces, '?' or control characters, at most %d bytes)",
			  GW_CFG_REGEX_MAX);
	if ((w->regex && strlen(w->regex) > GW_CFG_REGEX_MAX) ||
	    (w->replace && strlen(w->replace) > GW_CFG_REGEX_MAX))
		pos_error(c, &w->pos, "rewrite: regex and replace are at most %d bytes",
			  GW_CFG_REGEX_MAX);
	if (w->replace && (w->replace[0] != '/' || !field_value_ok(w->replace) ||
			   strchr(w->replace, ' ')))
		pos_error(c, &w->pos, "rewrite: replace must start with '/' and hold no spaces "
			  "or control characters");
	if (r->strip_prefix)
		pos_error(c, &w->pos, "rewrite: strip_prefix and rewrite exclude each other");
}

/* Checks one cors list: entries within bounds, each passing ok(). */
static void check_cors_list(struct parse_ctx *c, const struct gw_cfg_cors *k, const char *what,
			    char *const *list, size_t n, int (*ok)(const char *))
{
	size_t i;

	if (n > GW_CFG_CORS_LIST_MAX)
		pos_error(c, &k->pos, "cors: at most %d %s", GW_CFG_CORS_LIST_MAX, what);
	for (i = 0; i < n; i++)
		if (strlen(list[i]) > GW_CFG_CORS_ITEM_MAX || !ok(list[i]))
			pos_error(c, &k->pos, "cors: '%s' is not valid in %s", list[i], what);
}

/* An origin: "*", or scheme "://" host [":" port], no path. */
static int origin_ok(const char *o)
{
	const char *h = strstr(o, "://"), *p;

	if (!strcmp(o, "*"))
		return 1;
	if (!h || h == o || !h[3])
		return 0;
	for (p = h + 3; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("-.:[]_", *p)))
			return 0;
	return 1;
}

static int method_ok(const char *m)
{
	for (; *m >= 'A' && *m <= 'Z'; m++)
		;
	return !*m;
}

static void check_cors(struct parse_ctx *c, const struct gw_cfg_cors *k)
{
	size_t i;

	if (!k->pos.line)
		return;
	check_cors_list(c, k, "origins", k->origins, k->n_origins, origin_ok);
	check_cors_list(c, k, "methods", k->methods, k->n_methods, method_ok);
	check_cors_list(c, k, "headers", k->headers, k->n_headers, field_name_ok);
	check_cors_list(c, k, "expose_headers", k->expose, k->n_expose, field_name_ok);
	if (!k->n_origins)
		pos_error(c, &k->pos, "cors: origins is empty");
	for (i = 0; i < k->n_origins; i++)
		if (!strcmp(k->origins[i], "*") && (k->credentials || k->n_origins > 1))
			pos_error(c, &k->pos, "cors: origin '*' stands alone and excludes "
				  "credentials (browsers refuse both)");
}

/* A media type: type "/" subtype (tokens), or a whole type ("text/" and a star). */
static int media_type_ok(const char *t)
{
	const char *p = t;

	while (*p && is_tchar(*p) && *p != '*')
		p++;
	if (p == t || *p++ != '/')
		return 0;
	if (!strcmp(p, "*"))
		return 1;
	t = p;
	while (*p && is_tchar(*p) && *p != '*')
		p++;
	return p > t && !*p;
}

static void check_compression(struct parse_ctx *c, const struct gw_cfg_compress *z)
{
	size_t i;

	if (!z->pos.line)
		return;
	if (!z->n_types || z->n_types > GW_CFG_COMPRESS_TYPES_MAX)
		pos_error(c, &z->pos, "compression: types needs 1 to %d media types",
			  GW_CFG_COMPRESS_TYPES_MAX);
	for (i = 0; i < z->n_types; i++)
		if (strlen(z->types[i]) >= GW_CFG_COMPRESS_TYPE_LEN || !media_type_ok(z->types[i]))
			pos_error(c, &z->pos, "compression: '%s' is not a media type (type/subtype "
				  "or type/*)", z->types[i]);
}

static void check_routes(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->n_routes; i++) {
		const struct gw_cfg_route *r = &cfg->routes[i];

		if (r->name && !route_name_ok(r->name))
			pos_error(c, &r->name_pos, "route: name '%s' must be 1-%d letters, digits, "
				  "'_', '-' or '.', starting with a letter or digit, and not "
				  "'none'", r->name, GW_CFG_ROUTE_NAME_MAX);
		for (j = 0; j < i; j++)
			name_twice(c, "route", r->name, &r->name_pos, cfg->routes[j].name,
				   cfg->routes[j].name_pos.line);
		check_match(c, &r->match);
		if (!!r->upstream == !!r->respond.status)
			pos_error(c, &r->pos, "route: give exactly one of upstream and respond");
		if (r->upstream && !upstream_exists(cfg, r->upstream))
			pos_error(c, &r->pos, "route: upstream '%s' is not defined", r->upstream);
		if (r->auth && strcmp(r->auth, "none") && !auth_exists(cfg, r->auth))
			pos_error(c, &r->pos, "route: auth '%s' is not defined (jwt or "
				  "api_keys name, or none)", r->auth);
		if (r->strip_prefix && !r->match.path_prefix)
			pos_error(c, &r->pos, "route: strip_prefix needs match.path_prefix");
		check_upgrade(c, r);
		check_cc_header(c, r);
		check_headers(c, "request_headers", &r->request_headers);
		check_headers(c, "response_headers", &r->response_headers);
		check_respond(c, &r->respond);
		check_rewrite(c, r);
		check_cors(c, &r->cors);
		check_compression(c, &r->compression);
		if (r->n_ip_allow > GW_CFG_ROUTE_IPS_MAX || r->n_ip_deny > GW_CFG_ROUTE_IPS_MAX)
			pos_error(c, &r->pos, "route: at most %d prefixes in ip_allow and in ip_deny",
				  GW_CFG_ROUTE_IPS_MAX);
		check_splice(c, r);
		if (r->rate_limit.pos.line && r->rate_limit.key == GW_RL_KEY_CONSUMER &&
		    (!r->auth || !strcmp(r->auth, "none")) && !client_certs(cfg))
			pos_error(c, &r->rate_limit.pos, "rate_limit: key consumer needs the "
				  "route to have auth, or a listener with client_ca");
	}
}

/* The L7 sections' checks, in the order their messages come out. */
static void check_l7(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->tls.n_alpn; i++)
		if (strcmp(cfg->tls.alpn[i], "http/1.1") && strcmp(cfg->tls.alpn[i], "h2"))
			pos_error(c, &cfg->tls.pos, "tls: alpn '%s' is not supported (h2, http/1.1)",
				  cfg->tls.alpn[i]);
	check_listeners(c, cfg);
	check_upstreams(c, cfg);
	check_auth(c, cfg);
	check_routes(c, cfg);
}

/* ------------------------------------------------------------------ */
/* Freeing: the same tables drive it.                                   */

/* A node name: 1..GW_CFG_NODE_MAX bytes of [A-Za-z0-9._-]. Returns 1 when ok. */
static int node_name_ok(const char *n)
{
	size_t len = strlen(n);

	return len && len <= GW_CFG_NODE_MAX && strspn(n, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

/* cluster.nat_source: one unicast address per family at most. */
static void check_nat_source(struct parse_ctx *c, const struct gw_cfg_cluster *cl)
{
	static const __be32 zero[4];
	char buf[GW_ADDR_STRLEN];
	int seen[2] = { 0, 0 };
	size_t i;

	for (i = 0; i < cl->n_nat_source; i++) {
		const struct gw_ip *ip = &cl->nat_source[i];
		const unsigned char *b = (const unsigned char *)ip->addr;
		int v6 = ip->family == GW_FAMILY_V6;

		if (seen[v6]++)
			pos_error(c, &cl->nat_source_pos, "nat_source: one IPv%d address at most",
				  v6 ? 6 : 4);
		if (!memcmp(ip->addr, zero, sizeof(zero)) || (!v6 && (b[0] >= 224 || b[0] == 127)) ||
		    (v6 && (b[0] == 0xff || (!memcmp(b, zero, 15) && b[15] == 1))))
			pos_error(c, &cl->nat_source_pos, "nat_source: %s is no unicast address",
				  gw_ip_str(ip, buf, sizeof(buf)));
	}
}

/* cluster: its address and names; scope: cluster needs the section. */
static void check_cluster(struct parse_ctx *c, const struct gw_cfg *cfg)
{
	const struct gw_cfg_cluster *cl = &cfg->cluster;
	struct gw_redis_addr a;
	char msg[256];
	size_t i;

	if (!cl->pos.line) {
		if (cfg->filter.ban.scope == GW_SCOPE_CLUSTER)
			pos_error(c, &cfg->filter.ban.pos, "ban: scope cluster needs a cluster "
				  "section");
		for (i = 0; i < cfg->n_routes; i++)
			if (cfg->routes[i].rate_limit.scope == GW_SCOPE_CLUSTER)
				pos_error(c, &cfg->routes[i].rate_limit.pos, "rate_limit: scope "
					  "cluster needs a cluster section");
		return;
	}
	check_nat_source(c, cl);
	if (cl->node && !node_name_ok(cl->node))
		pos_error(c, &cl->pos, "cluster: node must be 1 to %d characters of "
			  "A-Z a-z 0-9 . _ -", GW_CFG_NODE_MAX);
	if (!cl->redis.address)
		return;
	if (gw_redis_addr_parse(cl->redis.address, &a, msg, sizeof(msg)))
		pos_error(c, &cl->redis.pos, "redis: address: %s", msg);
	else if (a.is_unix && cl->redis.tls)
		pos_error(c, &cl->redis.pos, "redis: tls needs a TCP address");
	if ((cl->redis.ca || cl->redis.server_name) && !cl->redis.tls)
		pos_error(c, &cl->redis.pos, "redis: ca and server_name need tls: true");
	if (cl->redis.password_file && cl->redis.password_file[0] != '/')
		pos_error(c, &cl->redis.password_file_pos, "redis: password_file must be an "
			  "absolute path");
}

static void free_table(const struct kw_table *t, void *obj);

static void free_value(const struct kw *k, void *obj)
{
	void *dst = (char *)obj + k->off;
	size_t i, n;

	switch (k->type) {
	case K_STR:
		free(*(char **)dst);
		break;
	case K_TABLE:
		free_table(k->sub, dst);
		break;
	case K_LIST:
		n = *(size_t *)((char *)obj + k->count_off);
		for (i = 0; *(void **)dst && i < n; i++) {
			void *e = *(char **)dst + i * k->elem_size;

			if (k->elem == K_TABLE)
				free_table(k->sub, e);
			else if (k->elem == K_STR)
				free(*(char **)e);
		}
		free(*(void **)dst);
		break;
	case K_STRMAP:
		n = *(size_t *)((char *)obj + k->count_off);
		for (i = 0; *(void **)dst && i < n; i++) {
			struct gw_cfg_strpair *p = (struct gw_cfg_strpair *)*(void **)dst + i;

			free(p->key);
			free(p->value);
		}
		free(*(void **)dst);
		break;
	default:
		break;
	}
}

static void free_table(const struct kw_table *t, void *obj)
{
	const struct kw *k;

	for (k = t->kws; k->name; k++)
		free_value(k, obj);
}

void gw_cfg_free(struct gw_cfg *cfg)
{
	if (!cfg)
		return;
	free_table(&root_table, cfg);
	free(cfg->file);
	free(cfg->text);
	memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------------ */
/* Entry points                                                         */

/* Parses text into cfg. On -EINVAL, cfg keeps what could be parsed when
 * `keep` is set (a check that goes on to the files the config names); else,
 * and on any other error, cfg is freed. Returns 0 or -errno. */
static int load_text(const char *name, const char *text, size_t len, struct gw_cfg *cfg,
		     struct gw_cfg_errors *errs, int keep)
{
	struct parse_ctx c = { .file = name, .errs = errs };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int err = 0;

	memset(cfg, 0, sizeof(*cfg));
	memset(errs, 0, sizeof(*errs));
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		error_at(&c, (int)parser.problem_mark.line + 1,
			 (int)parser.problem_mark.column + 1, "YAML: %s%s%s",
			 parser.problem ? parser.problem : "syntax error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		error_at(&c, 1, 1, "the file is empty (it needs at least 'version: 1')");
		err = -EINVAL;
		goto out;
	}
	parse_table(&c, &root_table, root, cfg, 0);
	check_gateway(&c, cfg);
	check_filter(&c, cfg);
	check_services(&c, cfg);
	check_l7(&c, cfg);
	check_cluster(&c, cfg);
	if (c.oom)
		err = -ENOMEM;
	else if (errs->n)
		err = -EINVAL;
	else if (!(cfg->file = strdup(name)))
		err = -ENOMEM;
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (err && !(keep && err == -EINVAL))
		gw_cfg_free(cfg);
	return err;
}

int gw_cfg_load_string(const char *name, const char *text, size_t len, struct gw_cfg *cfg,
		       struct gw_cfg_errors *errs)
{
	return load_text(name, text, len, cfg, errs, 0);
}

/* Reads and parses path (see load_text for `keep`). Returns 0 or -errno. */
static int load_file(const char *path, struct gw_cfg *cfg, struct gw_cfg_errors *errs, int keep)
{
	struct parse_ctx c = { .file = path, .errs = errs };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	memset(errs, 0, sizeof(*errs));
	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		error_at(&c, 0, 0, "cannot open: %s", strerror(-err));
		return err;
	}
	{
		char buf[65536];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			char *grown;

			if (len + n > (64u << 20)) {
				fclose(f);
				free(text);
				error_at(&c, 0, 0, "larger than 64 MiB");
				return -EFBIG;
			}
			grown = realloc(text, len + n + 1);
			if (!grown) {
				fclose(f);
				free(text);
				return -ENOMEM;
			}
			text = grown;
			memcpy(text + len, buf, n);
			len += n;
		}
		if (ferror(f)) {
			err = -EIO;
			fclose(f);
			free(text);
			error_at(&c, 0, 0, "read error");
			return err;
		}
	}
	fclose(f);
	err = load_text(path, text ? text : "", len, cfg, errs, keep);
	if (!err && text) {
		text[len] = '\0';
		cfg->text = text;	/* kept: the metrics listener's /config */
		cfg->text_len = len;
		return 0;
	}
	free(text);
	return err;
}

int gw_cfg_load(const char *path, struct gw_cfg *cfg, struct gw_cfg_errors *errs)
{
	return load_file(path, cfg, errs, 0);
}

int gw_cfg_load_check(const char *path, struct gw_cfg *cfg, struct gw_cfg_errors *errs)
{
	return load_file(path, cfg, errs, 1);
}
