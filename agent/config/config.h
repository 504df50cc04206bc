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

struct gw_cfg_ban {
	struct gw_cfg_pos pos;
	struct gw_rate auth_failures;	/* count 0: no automatic bans */
	__u64 duration_ns;
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

struct gw_cfg_listener {
	struct gw_cfg_pos pos;
	char *name;
	struct gw_endpoint address;
	int tls;
	struct gw_cfg_client_timeouts timeouts;
	__u64 max_body;		/* request body bytes; 0: GW_CFG_MAX_BODY_DEFAULT */
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

struct gw_cfg_upstream {
	struct gw_cfg_pos pos;
	char *name;
	int balance;		/* GW_BALANCE_* */
	struct gw_cfg_backend *servers;
	size_t n_servers;
	struct gw_cfg_health health;
	struct gw_cfg_timeouts timeouts;
	__u32 retries;
};

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
};

#define GW_RL_KEY_CONSUMER 0
#define GW_RL_KEY_IP 1
#define GW_RL_KEY_ROUTE 2

struct gw_cfg_route_rl {
	struct gw_cfg_pos pos;
	struct gw_rate rate;	/* count 0: no limit */
	__u32 burst;
	int key;		/* GW_RL_KEY_* */
};

struct gw_cfg_req_headers {
	struct gw_cfg_pos pos;
	struct gw_cfg_strpair *add;
	size_t n_add;
	char **remove;
	size_t n_remove;
};

struct gw_cfg_respond {
	struct gw_cfg_pos pos;
	__u32 status;		/* 0: the route proxies */
	char *body;
};

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
	/* splice: not given (splice_pos.line 0): Upgrade tunnels splice after
	 * the 101; true: the connection splices after the first answer head;
	 * false: never (docs/design-sockmap.md) */
	int splice;
	struct gw_cfg_pos splice_pos;
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
