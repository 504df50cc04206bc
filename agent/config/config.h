/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gateway.yaml as a plain struct. config.c parses and validates the whole
 * file (every section of the contract, including those whose runtime comes
 * later) and reports every problem as "FILE:LINE:COL: message"; the agent
 * turns the struct into map writes, so --check, reload diffs and tests all
 * share this one parser.
 *
 * Every table struct starts with its position in the file, so checks made
 * after parsing (duplicate names, references) can point at it.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <linux/types.h>
#include "core/addr.h"
#include "core/msgs.h"
#include "core/ratelimit.h"
#include "core/units.h"

struct gw_cfg_pos {
	int line, col;		/* 1-based; 0 when not from a file */
};

struct gw_cfg_strpair {
	struct gw_cfg_pos pos;
	char *key;
	char *value;
};

struct gw_cfg_bucket {
	struct gw_cfg_pos pos;
	struct gw_rate rate;
	__u32 burst;
};

#define GW_XDP_MODE_AUTO 0
#define GW_XDP_MODE_NATIVE 1
#define GW_XDP_MODE_GENERIC 2

struct gw_cfg_iface {
	struct gw_cfg_pos pos;
	char *name;
	int xdp_mode;		/* GW_XDP_MODE_* */
};

struct gw_cfg_gateway {
	struct gw_cfg_pos pos;
	char *pin_root;
	char *admin_socket;
	struct gw_endpoint metrics;
	struct gw_cfg_iface *interfaces;
	size_t n_interfaces;
	int keep_datapath_on_exit;
	char *access_log;	/* JSON lines, one per L7 request; NULL: none */
	struct gw_cfg_pos access_log_pos;	/* of the key, for the file check */
	__u32 workers;		/* L7 worker threads; 0: one per online CPU */
	__u64 drain_timeout_ns;	/* L7 drain on stop; 0: GW_L7_DRAIN_NS (10 s) */
};

#define GW_SCOPE_NODE 0
#define GW_SCOPE_CLUSTER 1	/* shared through cluster.redis */

struct gw_cfg_ban {
	struct gw_cfg_pos pos;
	struct gw_rate auth_failures;	/* count 0: no automatic bans */
	__u64 duration_ns;
	int scope;		/* GW_SCOPE_* */
};

struct gw_cfg_filter {
	struct gw_cfg_pos pos;
	int default_deny;
	struct gw_cidr *deny;
	size_t n_deny;
	struct gw_cidr *allow;
	size_t n_allow;
	struct gw_cfg_ban ban;
};

struct gw_cfg_rate_limits {
	struct gw_cfg_pos pos;
	struct gw_cfg_bucket packets_per_source;
	struct gw_cfg_bucket syn_per_source;
};

struct gw_cfg_backend {
	struct gw_cfg_pos pos;
	struct gw_endpoint address;
	__u32 weight;
};

#define GW_HEALTH_TCP 0
#define GW_HEALTH_UDP_NONE 1
#define GW_HEALTH_HTTP 2

/* A service's or an upstream's health section; an upstream's takes no
 * type or port key (config.c: health_kws). */
struct gw_cfg_health {
	struct gw_cfg_pos pos;
	int type;		/* GW_HEALTH_* (services) */
	__u32 port;		/* services; 0: the backend's port */
	char *path;		/* http */
	__u64 interval_ns;
	__u64 timeout_ns;
	__u32 healthy, unhealthy;
};

struct gw_cfg_service {
	struct gw_cfg_pos pos;
	char *name;
	struct gw_ip vip;
	__u32 port;
	int protocol;		/* IPPROTO_TCP | IPPROTO_UDP */
	int forwarding;		/* GW_FWD_NAT | GW_FWD_IPIP */
	struct gw_cfg_backend *backends;
	size_t n_backends;
	struct gw_cfg_health health;
};

struct gw_cfg_cert {
	struct gw_cfg_pos pos;
	char *cert;
	char *key;
	struct gw_cfg_pos cert_pos, key_pos;	/* of the keys, for file checks */
	char **sni;
	size_t n_sni;
};

struct gw_cfg_tls {
	struct gw_cfg_pos pos;
	struct gw_cfg_cert *certificates;
	size_t n_certificates;
	int min_version;	/* 0x0303 (1.2) or 0x0304 (1.3) */
	char **alpn;
	size_t n_alpn;
};

/* Client-side timeouts of a listener (defaults below). */
#define GW_CFG_CLIENT_HEADER_NS 10000000000ull	/* a whole request head */
#define GW_CFG_CLIENT_IDLE_NS 60000000000ull	/* keep-alive between requests */
#define GW_CFG_CLIENT_BODY_NS 30000000000ull	/* between reads of a request body */
#define GW_CFG_CLIENT_SEND_NS 60000000000ull	/* between writes of an answer */
#define GW_CFG_CLIENT_TLS_NS 10000000000ull	/* a TLS handshake */

struct gw_cfg_client_timeouts {
	struct gw_cfg_pos pos;
	__u64 header_ns;
	__u64 idle_ns;
	__u64 body_ns;
	__u64 send_ns;
	__u64 tls_handshake_ns;
};

/* Request bodies: listeners[].max_body when not given, and its largest. */
#define GW_CFG_MAX_BODY_DEFAULT (1ull << 30)
#define GW_CFG_MAX_BODY_MAX (1ull << 40)

#define GW_CLIENT_CERT_REQUIRED 0
#define GW_CLIENT_CERT_OPTIONAL 1

#define GW_KTLS_AUTO 0		/* where the kernel and the cipher allow */
#define GW_KTLS_OFF 1
/* HTTP/2 limits of a listener (listeners[].http2; docs/http2.md). */
#define GW_CFG_H2_STREAMS_DEFAULT 100		/* SETTINGS_MAX_CONCURRENT_STREAMS */
#define GW_CFG_H2_STREAMS_MAX 1000
#define GW_CFG_H2_HEADER_LIST_DEFAULT 16384	/* SETTINGS_MAX_HEADER_LIST_SIZE */
#define GW_CFG_H2_HEADER_LIST_MIN 1024
#define GW_CFG_H2_HEADER_LIST_MAX 65536
#define GW_CFG_H2_TABLE_DEFAULT 4096		/* SETTINGS_HEADER_TABLE_SIZE */
#define GW_CFG_H2_TABLE_MAX 65536
#define GW_CFG_H2_WINDOW_DEFAULT 65535		/* SETTINGS_INITIAL_WINDOW_SIZE */
#define GW_CFG_H2_WINDOW_MIN 16384
#define GW_CFG_H2_WINDOW_MAX (1u << 20)
#define GW_CFG_H2_CONN_WINDOW_DEFAULT (1u << 20)	/* the connection's receive window */
#define GW_CFG_H2_CONN_WINDOW_MAX (1u << 28)

struct gw_cfg_http2 {
	struct gw_cfg_pos pos;
	__u32 max_concurrent_streams;
	__u64 max_header_list_size;
	__u64 header_table_size;	/* the HPACK table the client may use */
	__u64 initial_window_size;	/* each stream's receive window */
	__u64 connection_window_size;
};

struct gw_cfg_listener {
	struct gw_cfg_pos pos;
	char *name;
	struct gw_endpoint address;
	int tls;
	char *client_ca;	/* client certificates verified against this PEM file */
	struct gw_cfg_pos client_ca_pos;
	int client_cert;	/* GW_CLIENT_CERT_*: without one, the handshake fails */
	struct gw_cfg_client_timeouts timeouts;
	__u64 max_body;		/* request body bytes; 0: GW_CFG_MAX_BODY_DEFAULT */
	int h2c;		/* HTTP/2 with prior knowledge on a plain listener */
	struct gw_cfg_http2 http2;
	int ktls;		/* GW_KTLS_*: kernel TLS after the handshake (docs/tls.md) */
};

#define GW_BALANCE_ROUND_ROBIN 0
#define GW_BALANCE_LEAST_CONN 1
#define GW_BALANCE_MAGLEV 2

struct gw_cfg_timeouts {
	struct gw_cfg_pos pos;
	__u64 connect_ns;
	__u64 response_ns;
	__u64 idle_ns;
};

/* upstreams[].tls: TLS to the servers (l7/upstream_tls.h). */
struct gw_cfg_uptls {
	struct gw_cfg_pos pos;	/* line 0: plain TCP */
	char *ca;		/* PEM CA file; NULL: the system's store */
	struct gw_cfg_pos ca_pos;
	char *cert, *key;	/* a client certificate (mTLS), both or neither */
	struct gw_cfg_pos cert_pos, key_pos;
	char *sni;		/* NULL: none (servers are addresses) */
	char *verify_name;	/* NULL: sni, else the server's address */
	int verify;		/* 0: no verification at all (verify: false) */
	int min_version;	/* 0x0303 (1.2) or 0x0304 (1.3) */
};

/* upstreams[].limits: circuit breaking (l7/breaker.h); 0: no limit. */
struct gw_cfg_up_limits {
	struct gw_cfg_pos pos;
	__u32 max_connections;
	__u32 max_pending;
	char *retry_budget;	/* "20%"; NULL: none */
};

struct gw_cfg_upstream {
	struct gw_cfg_pos pos;
	char *name;
	int balance;		/* GW_BALANCE_* */
	struct gw_cfg_backend *servers;
	size_t n_servers;
	struct gw_cfg_health health;
	struct gw_cfg_timeouts timeouts;
	__u32 retries;
	struct gw_cfg_uptls tls;
	struct gw_cfg_up_limits limits;
	int protocol;		/* GW_UP_PROTO_*: how gwd speaks to the servers */
	struct gw_cfg_http2 http2;	/* protocol h2c, h2: per connection */
};

#define GW_UP_PROTO_HTTP1 0
#define GW_UP_PROTO_H2C 1	/* HTTP/2 with prior knowledge, streams multiplexed */
#define GW_UP_PROTO_H2 2	/* HTTP/2 over TLS (ALPN h2), streams multiplexed */

struct gw_cfg_jwt {
	struct gw_cfg_pos pos;
	char *name;
	char *jwks;
	struct gw_cfg_pos jwks_pos;
	char *issuer;
	char **audiences;
	size_t n_audiences;
	char **algorithms;
	size_t n_algorithms;
	__u64 leeway_ns;
	struct gw_cfg_strpair *forward_claims;	/* claim -> header */
	size_t n_forward_claims;
};

struct gw_cfg_api_keys {
	struct gw_cfg_pos pos;
	char *name;
	char *header;
	char *keys;
	struct gw_cfg_pos keys_pos;
};

struct gw_cfg_auth {
	struct gw_cfg_pos pos;
	struct gw_cfg_jwt *jwt;
	size_t n_jwt;
	struct gw_cfg_api_keys *api_keys;
	size_t n_api_keys;
};

struct gw_cfg_match {
	struct gw_cfg_pos pos;
	char *host;		/* exact, or "*.example.com" */
	char *path_prefix;
	char *path_exact;
	char **methods;
	size_t n_methods;
	struct gw_cfg_strpair *headers;	/* header -> exact value */
	size_t n_headers;
	int ignore_case;	/* paths compare folded (gw_path_match_form) */
	int scheme;		/* GW_SCHEME_*: the listener's, plain or TLS */
};

#define GW_SCHEME_ANY 0
#define GW_SCHEME_HTTP 1
#define GW_SCHEME_HTTPS 2

#define GW_RL_KEY_CONSUMER 0
#define GW_RL_KEY_IP 1
#define GW_RL_KEY_ROUTE 2

struct gw_cfg_route_rl {
	struct gw_cfg_pos pos;
	struct gw_rate rate;	/* count 0: no limit */
	__u32 burst;
	int key;		/* GW_RL_KEY_* */
	int scope;		/* GW_SCOPE_* */
};

/* request_headers and response_headers: `set` replaces a field (removes
 * what came, adds its value), `add` appends one, `remove` drops one. */
struct gw_cfg_req_headers {
	struct gw_cfg_pos pos;
	struct gw_cfg_strpair *add;
	size_t n_add;
	struct gw_cfg_strpair *set;
	size_t n_set;
	char **remove;
	size_t n_remove;
};

/* respond.headers: at most this many, each value a template of at most
 * GW_CFG_TMPL_MAX bytes ({scheme} {host} {path} {query}, core/tmpl.h). */
#define GW_CFG_RESPOND_HEADERS_MAX 8
#define GW_CFG_TMPL_MAX 1024

struct gw_cfg_respond {
	struct gw_cfg_pos pos;
	__u32 status;		/* 0: the route proxies */
	char *body;
	struct gw_cfg_strpair *headers;
	size_t n_headers;
};

/* rewrite: the path sent upstream, by prefix (replaces match.path_prefix)
 * or by a PCRE2 regex and its replacement ($1 ... for groups). */
#define GW_CFG_REGEX_MAX 1024
struct gw_cfg_rewrite {
	struct gw_cfg_pos pos;
	char *prefix;
	char *regex;
	char *replace;
};

/* cors: the lists' bounds (entries, and bytes of one entry). */
#define GW_CFG_CORS_LIST_MAX 64
#define GW_CFG_CORS_ITEM_MAX 256
struct gw_cfg_cors {
	struct gw_cfg_pos pos;
	char **origins;		/* "https://app.example.com", or "*" */
	size_t n_origins;
	char **methods;		/* none given: GET, HEAD, POST */
	size_t n_methods;
	char **headers;		/* request headers a preflight may ask for */
	size_t n_headers;
	char **expose;		/* response headers scripts may read */
	size_t n_expose;
	int credentials;
	__u64 max_age_ns;	/* 0: no Access-Control-Max-Age */
};

/* compression: gzip of upstream answers (proxy/compress.h). */
#define GW_CFG_COMPRESS_TYPES_MAX 32
#define GW_CFG_COMPRESS_TYPE_LEN 128
#define GW_CFG_COMPRESS_MIN_SIZE 256	/* the default min_size */
#define GW_CFG_COMPRESS_LEVEL 1		/* the default level (as nginx's and HAProxy's) */
struct gw_cfg_compress {
	struct gw_cfg_pos pos;
	char **types;		/* media types; "text/" and a star for a whole type */
	size_t n_types;
	__u64 min_size;		/* bytes; a Content-Length below: not compressed */
	__u32 level;		/* zlib level 1-9 (brotli quality the same) */
	int brotli;		/* offer br too (default true) */
};

/* ip_allow / ip_deny prefixes of one route. */
#define GW_CFG_ROUTE_IPS_MAX 1024

#define GW_CFG_ROUTE_NAME_MAX 64
/* request_headers.add and .remove entries of one route (the proxy's
 * per-request arrays hold this many and the stages' own besides). */
#define GW_CFG_ROUTE_HEADERS_MAX 100

struct gw_cfg_route {
	struct gw_cfg_pos pos;
	char *name;		/* NULL: labelled by position and match */
	struct gw_cfg_pos name_pos;	/* of the key, for the checks of names */
	struct gw_cfg_match match;
	char *upstream;
	char *auth;		/* NULL or "none": no auth */
	int strip_prefix;
	struct gw_cfg_route_rl rate_limit;
	struct gw_cfg_req_headers request_headers;
	struct gw_cfg_respond respond;
	/* protocols an Upgrade may switch to; not given (upgrade_pos.line 0):
	 * websocket; [] none */
	char **upgrade;
	size_t n_upgrade;
	struct gw_cfg_pos upgrade_pos;
	__u64 max_body;		/* request body bytes; 0: the listener's */
	char *client_cert_header;	/* the client certificate's subject goes upstream here */
	struct gw_cfg_req_headers response_headers;
	struct gw_cfg_rewrite rewrite;
	struct gw_cidr *ip_allow;	/* given: only these (longest prefix wins */
	size_t n_ip_allow;		/* over ip_deny, allow wins a tie) */
	struct gw_cidr *ip_deny;
	size_t n_ip_deny;
	struct gw_cfg_cors cors;
	struct gw_cfg_compress compression;
	/* splice: true: the connection splices after the first answer head
	 * (an Upgrade tunnel: after the 101); not given or false: never
	 * (docs/design-sockmap.md) */
	int splice;
	struct gw_cfg_pos splice_pos;
};

#define GW_CFG_NODE_MAX 64
#define GW_CLUSTER_TIMEOUT_DEFAULT_NS 50000000ull

/* cluster.redis: where the nodes meet. */
struct gw_cfg_redis {
	struct gw_cfg_pos pos;
	char *address;		/* "IP:PORT", "[IPv6]:PORT" or "unix:/PATH" */
	__u64 timeout_ns;	/* each Redis exchange; 0: the default (50 ms) */
	char *password_file;	/* NULL: no AUTH */
	struct gw_cfg_pos password_file_pos;
	int tls;		/* TLS to Redis (TCP only) */
	char *ca;		/* with tls: the CA bundle; NULL: the system's */
	struct gw_cfg_pos ca_pos;
	char *server_name;	/* with tls: the name checked; NULL: none (IP) */
};

/* cluster: nodes sharing scope: cluster limits and bans (docs/cluster.md). */
struct gw_cfg_cluster {
	struct gw_cfg_pos pos;	/* line 0: no cluster section */
	char *node;		/* NULL: the hostname */
	struct gw_cfg_redis redis;
	/* the source of `nat` flows on every node (one per family; none: the
	 * egress interface's) and the NAT state shared through Redis */
	struct gw_ip *nat_source;
	size_t n_nat_source;
	struct gw_cfg_pos nat_source_pos;
};

struct gw_cfg {
	char *file;
	char *text;		/* the file as read (gw_cfg_load only; NUL-terminated) */
	size_t text_len;
	__u32 version;
	struct gw_cfg_gateway gateway;
	struct gw_cfg_filter filter;
	struct gw_cfg_rate_limits rate_limits;
	struct gw_cfg_service *services;
	size_t n_services;
	struct gw_cfg_tls tls;
	struct gw_cfg_listener *listeners;
	size_t n_listeners;
	struct gw_cfg_upstream *upstreams;
	size_t n_upstreams;
	struct gw_cfg_auth auth;
	struct gw_cfg_route *routes;
	size_t n_routes;
	struct gw_cfg_cluster cluster;
};

/* Parses and validates `path`. Returns 0 with *cfg filled, or -EINVAL with
 * every problem in errs (and *cfg freed), or another negative errno when
 * the file cannot be read (also described in errs). */
int gw_cfg_load(const char *path, struct gw_cfg *cfg, struct gw_cfg_errors *errs);

/* Like gw_cfg_load, for a check that goes on to the files the config names
 * (gwd --check reports every problem in one pass): on -EINVAL *cfg keeps
 * what could be parsed (each list element whole; a field may be missing)
 * and the caller frees it. */
int gw_cfg_load_check(const char *path, struct gw_cfg *cfg, struct gw_cfg_errors *errs);

/* The same for a string in memory; `name` is used in messages. */
int gw_cfg_load_string(const char *name, const char *text, size_t len, struct gw_cfg *cfg,
		       struct gw_cfg_errors *errs);

void gw_cfg_free(struct gw_cfg *cfg);

#endif /* GW_CONFIG_H */
