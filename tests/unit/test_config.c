// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* gateway.yaml: the contract's example parses; every class of error is
 * reported with its position, all of them in one run. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "config/config.h"

static struct gw_cfg cfg;
static struct gw_cfg_errors errs;

static int load(const char *text)
{
	return gw_cfg_load_string("t.yaml", text, strlen(text), &cfg, &errs);
}

/* 1 if some error message contains `needle`. */
static int has_error(const char *needle)
{
	size_t i;

	for (i = 0; i < errs.n; i++)
		if (strstr(errs.msgs[i], needle))
			return 1;
	for (i = 0; i < errs.n; i++)
		print_message("  error: %s\n", errs.msgs[i]);
	return 0;
}

static int teardown(void **state)
{
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);
	return 0;
}

/* Repeated prefixes are found (one error each, per list), distinct ones
 * are not, and a 100k-prefix list is checked quickly (no n^2 pass). */
static void test_repeated_prefixes(void **state)
{
	size_t cap = 4u << 20, off, i, n = 0;
	char *text = malloc(cap);
	struct timespec t0, t1;

	(void)state;
	assert_non_null(text);
	assert_int_not_equal(load("version: 1\nfilter:\n  deny: [198.18.1.0/24, 198.18.1.0/25, "
				  "\"fd00::/64\", 198.18.1.0/24, \"fd00::/64\", \"fd00::/48\"]\n"
				  "  allow: [198.18.2.0/24, 198.18.2.0/24]\n"), 0);
	for (i = 0; i < errs.n; i++)
		n += strstr(errs.msgs[i], "a deny prefix is listed twice") != NULL;
	assert_int_equal(n, 2);	/* 198.18.1.0/24 and fd00::/64, not the /25 or /48 */
	assert_true(has_error("an allow prefix is listed twice"));
	gw_cfg_free(&cfg);
	gw_cfg_errors_free(&errs);

	off = (size_t)snprintf(text, cap, "version: 1\nfilter:\n  deny:\n");
	for (i = 0; i < 100000; i++)
		off += (size_t)snprintf(text + off, cap - off, "    - 198.%u.%u.%u/32\n",
					18 + (unsigned)(i >> 16), (unsigned)(i >> 8) & 255,
					(unsigned)i & 255);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(gw_cfg_load_string("t.yaml", text, off, &cfg, &errs), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(cfg.filter.n_deny, 100000);
	/* well under a second; the n^2 check took ~9 s here (ASan: slower) */
	assert_true(t1.tv_sec - t0.tv_sec < 20);
	free(text);
}

static void test_contract_example(void **state)
{
	int err = gw_cfg_load("examples/gateway.example.yaml", &cfg, &errs);
	size_t i;

	for (i = 0; i < errs.n; i++)
		print_message("%s\n", errs.msgs[i]);
	assert_int_equal(err, 0);
	assert_string_equal(cfg.gateway.pin_root, "/sys/fs/bpf/gw");
	assert_int_equal(cfg.gateway.metrics.port, 9100);
	assert_int_equal(cfg.gateway.n_interfaces, 1);
	assert_string_equal(cfg.gateway.interfaces[0].name, "eth0");
	assert_true(cfg.gateway.keep_datapath_on_exit);
	assert_int_equal(cfg.filter.default_deny, 0);
	assert_int_equal(cfg.filter.n_deny, 2);
	assert_int_equal(cfg.filter.deny[1].prefixlen, 48);
	assert_int_equal(cfg.filter.allow[0].prefixlen, 32);
	assert_int_equal(cfg.filter.ban.auth_failures.count, 20);
	assert_int_equal(cfg.filter.ban.duration_ns, 600ull * 1000000000ull);
	assert_int_equal(cfg.rate_limits.packets_per_source.rate.count, 20000);
	assert_int_equal(cfg.rate_limits.packets_per_source.burst, 40000);
	assert_int_equal(cfg.rate_limits.syn_per_source.burst, 400);
	assert_int_equal(cfg.n_services, 1);
	assert_int_equal(cfg.services[0].protocol, IPPROTO_UDP);
	assert_int_equal(cfg.services[0].forwarding, GW_FWD_NAT);
	assert_int_equal(cfg.services[0].n_backends, 2);
	assert_int_equal(cfg.services[0].backends[0].weight, 1);	/* shorthand */
	assert_int_equal(cfg.services[0].backends[1].weight, 2);
	assert_int_equal(cfg.services[0].health.port, 53);
	assert_int_equal(cfg.tls.min_version, 0x0303);
	assert_int_equal(cfg.n_listeners, 2);
	assert_true(cfg.listeners[0].tls);
	assert_int_equal(cfg.listeners[0].address.port, 443);
	assert_int_equal(cfg.upstreams[0].n_servers, 2);
	assert_int_equal(cfg.upstreams[0].timeouts.response_ns, 15ull * 1000000000ull);
	assert_int_equal(cfg.upstreams[0].retries, 1);
	assert_string_equal(cfg.upstreams[0].tls.sni, "users.internal");
	assert_string_equal(cfg.upstreams[0].tls.key, "/etc/gw/tls/gw-client.key");
	assert_true(cfg.upstreams[0].tls.verify);
	assert_string_equal(cfg.listeners[0].client_ca, "/etc/gw/tls/clients-ca.crt");
	assert_int_equal(cfg.listeners[0].client_cert, GW_CLIENT_CERT_OPTIONAL);
	assert_string_equal(cfg.routes[0].client_cert_header, "X-Client-Subject");
	assert_int_equal(cfg.auth.jwt[0].n_algorithms, 3);
	assert_int_equal(cfg.auth.jwt[0].leeway_ns, 30ull * 1000000000ull);
	assert_string_equal(cfg.auth.jwt[0].forward_claims[0].key, "sub");
	assert_string_equal(cfg.auth.jwt[0].forward_claims[0].value, "X-User-Id");
	assert_string_equal(cfg.auth.api_keys[0].header, "X-API-Key");
	assert_int_equal(cfg.n_routes, 5);
	assert_string_equal(cfg.routes[0].match.path_prefix, "/users/");
	assert_int_equal(cfg.routes[0].splice_pos.line, 0);
	assert_int_equal(cfg.routes[3].splice, 1);
	assert_int_equal(cfg.routes[4].splice, 0);
	assert_int_not_equal(cfg.routes[4].splice_pos.line, 0);
	assert_int_equal(cfg.routes[0].match.n_methods, 2);
	assert_int_equal(cfg.routes[0].rate_limit.key, GW_RL_KEY_CONSUMER);
	assert_string_equal(cfg.routes[0].request_headers.add[0].value, "gw");
	assert_int_equal(cfg.routes[0].rate_limit.scope, GW_SCOPE_NODE);
	assert_int_equal(cfg.routes[1].rate_limit.scope, GW_SCOPE_CLUSTER);
	assert_int_equal(cfg.routes[2].respond.status, 200);
	assert_int_equal(cfg.filter.ban.scope, GW_SCOPE_NODE);
	assert_string_equal(cfg.cluster.node, "gw-a");
	assert_string_equal(cfg.cluster.redis.address, "127.0.0.1:6379");
	assert_int_equal(cfg.cluster.redis.timeout_ns, 50000000ull);
	assert_string_equal(cfg.routes[2].respond.body, "ok\n");
}

static void test_unknown_key_has_position(void **state)
{
	assert_int_equal(load("version: 1\nfilter:\n  defualt: deny\n"), -EINVAL);
	assert_true(has_error("t.yaml:3:3: unknown key 'defualt' in filter"));
}

static void test_every_error_is_reported(void **state)
{
	const char *text = "version: 1\n"
			   "filter:\n"
			   "  deny: [10.0.0.1/8, 300.1.1.1]\n"
			   "services:\n"
			   "  - name: a\n"
			   "    vip: 198.18.0.10\n"
			   "    port: 70000\n"
			   "    protocol: sctp\n"
			   "    backends: [198.18.1.2]\n"
			   "  - name: a\n"
			   "    vip: 198.18.0.11\n"
			   "    port: 80\n"
			   "    backends: ['[fd00::2]:80']\n";

	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("t.yaml:3:10: deny: not an IPv4 or IPv6 prefix: '10.0.0.1/8' has "
			      "host bits set"));
	assert_true(has_error("t.yaml:3:22: deny: not an IPv4 or IPv6 prefix: '300.1.1.1'"));
	assert_true(has_error("t.yaml:7:11: port: 70000 is out of range 1-65535"));
	assert_true(has_error("t.yaml:8:15: protocol: 'sctp' is not one of: tcp, udp"));
	assert_true(has_error("t.yaml:9:16: address: not ADDRESS:PORT ([v6]:port for IPv6): "
			      "'198.18.1.2': expected ADDRESS:PORT"));
	assert_true(has_error("t.yaml:10:5: service 'a' is defined twice"));
	assert_true(has_error("must be of the VIP's address family"));
	assert_true(errs.n >= 7);
}

static void test_references_and_types(void **state)
{
	const char *text = "version: 1\n"
			   "gateway: { keep_datapath_on_exit: yes }\n"
			   "upstreams:\n"
			   "  - { name: u, servers: [198.18.1.2:80], timeouts: { connect: 5 } }\n"
			   "auth:\n"
			   "  jwt:\n"
			   "    - { name: j, jwks: /x, algorithms: [none, RS256] }\n"
			   "routes:\n"
			   "  - match: { path_prefix: /a }\n"
			   "    upstream: nope\n"
			   "    auth: missing\n"
			   "  - match: { path_exact: b }\n"
			   "    upstream: u\n"
			   "    respond: { status: 200 }\n";

	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("t.yaml:2:35: keep_datapath_on_exit: expected true or false"));
	teardown(state);
	assert_int_equal(load("version: 1\ngateway: { access_log: logs/a.log }\n"), -EINVAL);
	assert_true(has_error("t.yaml:2:10: gateway: access_log must be an absolute path"));
	teardown(state);
	assert_int_equal(load("version: 1\ngateway: { access_log: /var/log/gw/a.log }\n"), 0);
	assert_string_equal(cfg.gateway.access_log, "/var/log/gw/a.log");
	teardown(state);
	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("connect: '5' is not a duration"));
	assert_true(has_error("algorithm 'none' is never accepted"));
	assert_true(has_error("t.yaml:9:5: route: upstream 'nope' is not defined"));
	assert_true(has_error("route: auth 'missing' is not defined"));
	assert_true(has_error("match: paths must start with '/'"));
	assert_true(has_error("t.yaml:12:5: route: give exactly one of upstream and respond"));
}

/* A node of the wrong kind anywhere (here: inside lists of strings) is an
 * error with its position, and the element is left out, so no later check
 * meets a hole (these three crashed gwd --check and a reload). */
static void test_wrong_kind_in_lists(void **state)
{
	assert_int_equal(load("version: 1\ntls: { alpn: [{a: b}] }\n"), -EINVAL);
	assert_true(has_error("t.yaml:2:15: alpn: expected a value, found a mapping"));
	teardown(state);
	assert_int_equal(load("version: 1\nauth:\n  jwt:\n"
			      "    - { name: j, jwks: /x, algorithms: [[ES256], RS256] }\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:4:41: algorithms: expected a value, found a list"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
			      "routes:\n"
			      "  - match: { methods: [GET, {a: b}], headers: { [x]: y } }\n"
			      "    upstream: u\n"
			      "  - [not, a, route]\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:4:29: methods: expected a value, found a mapping"));
	assert_true(has_error("t.yaml:4:49: headers: expected a value, found a list"));
	assert_true(has_error("t.yaml:6:5: route: expected a mapping, found a list"));
}

/* Body limits: sizes with k, m, g; bounded. */
static void test_max_body(void **state)
{
	assert_int_equal(load("version: 1\n"
			      "listeners: [ { name: a, address: '198.18.1.1:80', max_body: 10m } ]\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
			      "routes: [ { match: { path_prefix: / }, upstream: u, max_body: 512 } ]\n"),
			 0);
	assert_int_equal(cfg.listeners[0].max_body, 10ull << 20);
	assert_int_equal(cfg.routes[0].max_body, 512);
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "listeners: [ { name: a, address: '198.18.1.1:80', max_body: 2000g } ]\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:2:61: max_body: '2000g' is not a size"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "listeners: [ { name: a, address: '198.18.1.1:80', max_body: 1x } ]\n"),
			 -EINVAL);
	assert_true(has_error("max_body: '1x' is not a size"));
}

/* Client certificates and upstream TLS: the keys, their defaults and the
 * checks spanning keys. */
static void test_tls_keys(void **state)
{
	assert_int_equal(load("version: 1\n"
			      "tls: { certificates: [ { cert: /a.crt, key: /a.key } ] }\n"
			      "listeners: [ { name: a, address: '198.18.1.1:443', tls: true, "
			      "client_ca: /ca.crt } ]\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:443], tls: { sni: u.test, "
			      "min_version: '1.3' } }, { name: p, servers: [198.18.1.3:80] } ]\n"
			      "routes: [ { match: { path_prefix: / }, upstream: u, "
			      "client_cert_header: X-Client-Subject, "
			      "rate_limit: { rate: 1/s, burst: 1, key: consumer } } ]\n"),
			 0);
	assert_int_equal(cfg.listeners[0].client_cert, GW_CLIENT_CERT_REQUIRED);
	assert_true(cfg.upstreams[0].tls.pos.line > 0);
	assert_true(cfg.upstreams[0].tls.verify);
	assert_null(cfg.upstreams[0].tls.ca);
	assert_int_equal(cfg.upstreams[0].tls.min_version, 0x0304);
	assert_int_equal(cfg.upstreams[1].tls.pos.line, 0);
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "listeners: [ { name: a, address: '198.18.1.1:80', client_ca: /ca.crt, "
			      "client_cert: sometimes } ]\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:443], tls: { cert: /c } } ]\n"
			      "routes: [ { match: { path_prefix: / }, upstream: u, "
			      "client_cert_header: 'X Subject' } ]\n"),
			 -EINVAL);
	assert_true(has_error("client_cert: 'sometimes'"));
	assert_true(has_error("listener 'a': client_ca needs tls: true"));
	assert_true(has_error("upstream 'u': tls: give both cert and key"));
	assert_true(has_error("client_cert_header: 'X Subject' is not a field name"));
}

/* HTTP/2: h2c on plain listeners, http2 limits with defaults and ranges,
 * alpn h2. */
static void test_http2(void **state)
{
	assert_int_equal(load("version: 1\n"
			      "listeners:\n"
			      "  - { name: a, address: '198.18.1.1:80', h2c: true,\n"
			      "      http2: { max_concurrent_streams: 10, initial_window_size: 1m } }\n"
			      "  - { name: b, address: '198.18.1.1:81' }\n"),
			 0);
	assert_true(cfg.listeners[0].h2c);
	assert_int_equal(cfg.listeners[0].http2.max_concurrent_streams, 10);
	assert_int_equal(cfg.listeners[0].http2.initial_window_size, 1 << 20);
	assert_int_equal(cfg.listeners[0].http2.max_header_list_size, 16384);
	assert_false(cfg.listeners[1].h2c);
	assert_int_equal(cfg.listeners[1].http2.max_concurrent_streams, 100);
	assert_int_equal(cfg.listeners[1].http2.header_table_size, 4096);
	assert_int_equal(cfg.listeners[1].http2.connection_window_size, 1 << 20);
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "tls: { alpn: [h2, http/1.1, h3] }\n"
			      "listeners:\n"
			      "  - { name: a, address: '198.18.1.1:80', http2: { max_concurrent_streams: 0,"
			      " max_header_list_size: 1m } }\n"),
			 -EINVAL);
	assert_true(has_error("tls: alpn 'h3' is not supported (h2, http/1.1)"));
	assert_false(has_error("alpn 'h2'"));
	assert_true(has_error("max_concurrent_streams: 0 is out of range 1-1000"));
	assert_true(has_error("max_header_list_size: '1m' is not a size"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams:\n"
			      "  - { name: u, servers: [198.18.1.2:80], protocol: h2c }\n"
			      "  - { name: v, servers: [198.18.1.2:80] }\n"),
			 0);
	assert_int_equal(cfg.upstreams[0].protocol, GW_UP_PROTO_H2C);
	assert_int_equal(cfg.upstreams[1].protocol, GW_UP_PROTO_HTTP1);
	assert_int_equal(cfg.upstreams[0].http2.max_concurrent_streams, GW_CFG_H2_STREAMS_DEFAULT);
	teardown(state);
	/* h2: over TLS (a tls section needed); http2 limits per connection */
	assert_int_equal(load("version: 1\n"
			      "upstreams:\n"
			      "  - { name: u, servers: [198.18.1.2:443], protocol: h2, tls: {},\n"
			      "      http2: { max_concurrent_streams: 10, initial_window_size: 1m } }\n"),
			 0);
	assert_int_equal(cfg.upstreams[0].protocol, GW_UP_PROTO_H2);
	assert_int_equal(cfg.upstreams[0].http2.max_concurrent_streams, 10);
	assert_int_equal(cfg.upstreams[0].http2.initial_window_size, 1u << 20);
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80], protocol: h2 } ]\n"),
			 -EINVAL);
	assert_true(has_error("protocol h2 is HTTP/2 over TLS: give it a tls section"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams:\n"
			      "  - { name: u, servers: [198.18.1.2:80], protocol: h3 }\n"
			      "  - { name: v, servers: [198.18.1.2:80], http2: { max_concurrent_streams: 5 } }\n"
			      "  - { name: w, servers: [198.18.1.2:80], protocol: h2c,\n"
			      "      http2: { max_concurrent_streams: 1001 } }\n"),
			 -EINVAL);
	assert_true(has_error("protocol: 'h3' is not one of: http1, h2c, h2"));
	assert_true(has_error("upstream 'v': http2 applies to protocol h2c or h2 only"));
	assert_true(has_error("max_concurrent_streams: 1001 is out of range 1-1000"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:443], protocol: h2c,"
			      " tls: { sni: u.test } } ]\n"),
			 -EINVAL);
	assert_true(has_error("tls with protocol h2c"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80], protocol: h2c,"
			      " health: { path: /healthz } } ]\n"),
			 -EINVAL);
	assert_true(has_error("upstream 'u': health.path: HTTP checks speak HTTP/1.1"));
}

/* listeners[].ktls: auto (the default) or off, nothing else. */
static void test_ktls(void **state)
{
	assert_int_equal(load("version: 1\n"
			      "listeners:\n"
			      "  - { name: a, address: '198.18.1.1:80' }\n"
			      "  - { name: b, address: '198.18.1.1:81', ktls: off }\n"
			      "  - { name: c, address: '198.18.1.1:82', ktls: auto }\n"),
			 0);
	assert_int_equal(cfg.listeners[0].ktls, GW_KTLS_AUTO);
	assert_int_equal(cfg.listeners[1].ktls, GW_KTLS_OFF);
	assert_int_equal(cfg.listeners[2].ktls, GW_KTLS_AUTO);
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "listeners: [ { name: a, address: '198.18.1.1:80', ktls: on } ]\n"),
			 -EINVAL);
	assert_true(has_error("ktls: 'on' is not one of: auto, off"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "listeners: [ { name: a, address: '198.18.1.1:80', ktls: true } ]\n"),
			 -EINVAL);
	assert_true(has_error("ktls: 'true' is not one of: auto, off"));
}

/* upgrade: names only, and never h2c. */
static void test_route_upgrade(void **state)
{
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
			      "routes:\n"
			      "  - match: { path_prefix: / }\n"
			      "    upstream: u\n"
			      "    upgrade: [websocket, H2C, 'a b']\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:6:5: upgrade: h2c is never passed"));
	assert_true(has_error("t.yaml:6:5: upgrade: 'a b' is not a protocol name"));
}

/* A config with one route that adds n fields. Returns text. */
static char *route_adding(char *text, size_t size, int n)
{
	int off, i;

	off = snprintf(text, size, "version: 1\n"
		       "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
		       "routes:\n"
		       "  - match: { path_prefix: / }\n"
		       "    upstream: u\n"
		       "    request_headers:\n"
		       "      add: {");
	for (i = 0; i < n; i++)
		off += snprintf(text + off, size - (size_t)off, "%sX-A%d: v", i ? ", " : " ", i);
	snprintf(text + off, size - (size_t)off, " }\n");
	return text;
}

/* A route's request_headers has a bound the proxy's arrays are sized for:
 * more entries are an error with a position, never silently dropped. */
static void test_request_headers_bound(void **state)
{
	char text[8192];

	assert_int_equal(load(route_adding(text, sizeof(text), GW_CFG_ROUTE_HEADERS_MAX + 1)),
			 -EINVAL);
	assert_true(has_error("t.yaml:7:7: request_headers: at most 100 fields to add and 100 "
			      "to remove, set counting in both (101, 0 and 0 given)"));
	teardown(state);
	assert_int_equal(load(route_adding(text, sizeof(text), GW_CFG_ROUTE_HEADERS_MAX)), 0);
	assert_int_equal(cfg.routes[0].request_headers.n_add, GW_CFG_ROUTE_HEADERS_MAX);
}

/* The route rules of issue 15: respond headers (templates, redirects),
 * request/response header set, rewrite, cors, ip lists; each error with its
 * position. */
static void test_route_rules(void **state)
{
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
			      "routes:\n"
			      "  - match: { path_prefix: /a/ }\n"
			      "    upstream: u\n"
			      "    request_headers: { set: { X-Env: prod } }\n"
			      "    response_headers: { add: { X-By: gw }, set: { Cache-Control: no-store }, "
			      "remove: [Server] }\n"
			      "    rewrite: { prefix: /v2/ }\n"
			      "    ip_allow: [198.18.0.0/15, 'fd00::/8']\n"
			      "    ip_deny: [198.18.5.0/24]\n"
			      "    cors: { origins: ['https://app.example.com'], methods: [GET, PUT], "
			      "headers: [Authorization], credentials: true, max_age: 10m }\n"
			      "  - match: { path_prefix: /b/ }\n"
			      "    upstream: u\n"
			      "    rewrite: { regex: '^/b/(\\d+)$', replace: '/items/$1' }\n"
			      "  - match: { host: old.example.com }\n"
			      "    respond: { status: 308, headers: { Location: "
			      "'https://{host}{path}{query}' } }\n"),
			 0);
	assert_string_equal(cfg.routes[0].request_headers.set[0].key, "X-Env");
	assert_int_equal(cfg.routes[0].response_headers.n_set, 1);
	assert_string_equal(cfg.routes[0].rewrite.prefix, "/v2/");
	assert_int_equal(cfg.routes[0].n_ip_allow, 2);
	assert_int_equal(cfg.routes[0].n_ip_deny, 1);
	assert_int_equal(cfg.routes[0].cors.max_age_ns, 600ull * 1000000000ull);
	assert_true(cfg.routes[0].cors.credentials);
	assert_string_equal(cfg.routes[1].rewrite.replace, "/items/$1");
	assert_string_equal(cfg.routes[2].respond.headers[0].value, "https://{host}{path}{query}");
	teardown(state);

	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
			      "routes:\n"
			      "  - match: { path_prefix: /a/ }\n"
			      "    respond: { status: 301 }\n"
			      "  - match: { path_prefix: /b/ }\n"
			      "    respond: { status: 302, headers: { Location: 'https://{hots}/' } }\n"
			      "  - match: { path_exact: /c }\n"
			      "    upstream: u\n"
			      "    strip_prefix: true\n"
			      "    rewrite: { prefix: /x/, regex: '^/' }\n"
			      "  - match: { path_prefix: /d/ }\n"
			      "    upstream: u\n"
			      "    cors: { origins: ['*'], credentials: true }\n"
			      "  - match: { path_prefix: /e/ }\n"
			      "    upstream: u\n"
			      "    cors: { origins: ['app.example.com'], methods: [get] }\n"
			      "    response_headers: { add: { 'Bad Name': x } }\n"
			      "    ip_allow: [198.18.1.1/16]\n"
			      "  - match: { path_prefix: /f/ }\n"
			      "    respond: { status: 200, headers: { Content-Length: '5' } }\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:5:14: respond: status 301 is a redirect and needs a "
			      "Location header"));
	assert_true(has_error("t.yaml:7:40: respond.headers: Location has an unknown "
			      "placeholder at '{hots}/'"));
	assert_true(has_error("t.yaml:11:14: rewrite: give exactly one of prefix and regex"));
	assert_true(has_error("t.yaml:11:14: rewrite: regex and replace go together"));
	assert_true(has_error("t.yaml:11:14: rewrite: prefix needs match.path_prefix"));
	assert_true(has_error("t.yaml:11:14: rewrite: strip_prefix and rewrite exclude each "
			      "other"));
	assert_true(has_error("t.yaml:14:11: cors: origin '*' stands alone and excludes "
			      "credentials"));
	assert_true(has_error("cors: 'app.example.com' is not valid in origins"));
	assert_true(has_error("cors: 'get' is not valid in methods"));
	assert_true(has_error("response_headers: 'Bad Name' is not a field name"));
	assert_true(has_error("ip_allow: not an IPv4 or IPv6 prefix"));
	assert_true(has_error("respond.headers: Content-Length is gw's to write"));
	teardown(state);
	assert_int_equal(load("version: 1\n"
			      "upstreams: [ { name: u, servers: [198.18.1.2:80] } ]\n"
			      "routes:\n"
			      "  - match: { path_prefix: /a/ }\n"
			      "    upstream: u\n"
			      "    compression: { types: [text/plain, 'application/*'], min_size: 1k }\n"
			      "  - match: { path_prefix: /b/ }\n"
			      "    upstream: u\n"
			      "    compression: { types: ['*/*', text], level: 10 }\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:9:18: compression: '*/*' is not a media type"));
	assert_true(has_error("compression: 'text' is not a media type"));
	assert_true(has_error("level: 10 is out of range 1-9"));
	assert_false(has_error("t.yaml:6:"));
}

/* A service's health section: present or not (gwd checks only when it is
 * there), and an http path fit for a request line. */
static void test_service_health(void **state)
{
	const char *svc = "version: 1\n"
			  "services:\n"
			  "  - { name: a, vip: 198.18.0.10, port: 80, backends: [198.18.1.2:80] }\n"
			  "  - name: b\n"
			  "    vip: 198.18.0.11\n"
			  "    port: 80\n"
			  "    backends: [198.18.1.2:80]\n"
			  "    health: { type: http, path: /healthz, interval: 200ms, timeout: 100ms }\n";

	assert_int_equal(load(svc), 0);
	assert_int_equal(cfg.services[0].health.pos.line, 0);	/* no section: unchecked */
	assert_int_equal(cfg.services[1].health.pos.line, 8);	/* a section: checked */
	assert_int_equal(cfg.services[1].health.type, GW_HEALTH_HTTP);
	assert_int_equal(cfg.services[1].health.interval_ns, 200000000ull);
	teardown(state);
	assert_int_equal(load("version: 1\nservices:\n"
			      "  - { name: a, vip: 198.18.0.10, port: 80, backends: [198.18.1.2:80],\n"
			      "      health: { type: http, path: healthz } }\n"
			      "  - { name: b, vip: 198.18.0.11, port: 80, backends: [198.18.1.2:80],\n"
			      "      health: { type: http, path: '/a b' } }\n"), -EINVAL);
	assert_true(has_error("t.yaml:4:15: health: path must start with '/'"));
	assert_true(has_error("t.yaml:6:15: health: path must start with '/'"));
	assert_int_equal(errs.n, 2);
}

/* An upstream's health path meets the checker's own rule (gw_health_path_ok)
 * at load time: spaces and over-long paths are refused with a position, not
 * found only when the check starts. */
static void test_upstream_health_path(void **state)
{
	char doc[1024], longp[300];

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	snprintf(doc, sizeof(doc),
		 "version: 1\nupstreams:\n"
		 "  - { name: a, servers: [198.18.1.2:80], health: { path: /hc } }\n"
		 "  - { name: b, servers: [198.18.1.2:80], health: { path: '/a b' } }\n"
		 "  - { name: c, servers: [198.18.1.2:80], health: { path: %s } }\n"
		 "  - { name: d, servers: [198.18.1.2:80], health: { path: hc } }\n",
		 longp);
	assert_int_equal(load(doc), -EINVAL);
	assert_true(has_error("t.yaml:4:50: health: path must start with '/'"));
	assert_true(has_error("t.yaml:5:50: health: path must start with '/'"));
	assert_true(has_error("t.yaml:6:50: health: path must start with '/'"));
	assert_int_equal(errs.n, 3);
	(void)state;
}

static void test_structure_errors(void **state)
{
	assert_int_equal(load("filter: {}\n"), -EINVAL);
	assert_true(has_error("t.yaml:1:1: configuration: 'version' is required"));
	teardown(state);
	assert_int_equal(load("version: 2\n"), -EINVAL);
	assert_true(has_error("version: 2 is out of range 1-1"));
	teardown(state);
	assert_int_equal(load("version: 1\nversion: 1\n"), -EINVAL);
	assert_true(has_error("t.yaml:2:1: configuration: 'version' is given twice"));
	teardown(state);
	assert_int_equal(load("version: 1\nservices: {}\n"), -EINVAL);
	assert_true(has_error("services: expected a list, found a mapping"));
	teardown(state);
	assert_int_equal(load("version: 1\nfilter: [\n"), -EINVAL);
	assert_true(has_error("t.yaml:3:1: YAML:"));
	teardown(state);
	assert_int_equal(load(""), -EINVAL);
	assert_true(has_error("the file is empty"));
}

static void test_missing_file(void **state)
{
	assert_int_equal(gw_cfg_load("/nonexistent/gw.yaml", &cfg, &errs), -ENOENT);
	assert_true(has_error("/nonexistent/gw.yaml: cannot open"));	/* no 0:0 */
}

static void test_durations(void **state)
{
	__u64 v;

	assert_int_equal(gw_duration_parse("1500ms", &v), 0);
	assert_int_equal(v, 1500000000ull);
	assert_int_equal(gw_duration_parse("2h", &v), 0);
	assert_int_equal(v, 7200000000000ull);
	assert_int_equal(gw_duration_parse("2", &v), -EINVAL);
	assert_int_equal(gw_duration_parse("-1s", &v), -EINVAL);
	assert_int_equal(gw_duration_parse("99999999999999999999s", &v), -ERANGE);
}

static void test_l7_gateway_keys(void **state)
{
	assert_int_equal(load("version: 1\ngateway: { workers: 3, drain_timeout: 2500ms }\n"), 0);
	assert_int_equal(cfg.gateway.workers, 3);
	assert_int_equal(cfg.gateway.drain_timeout_ns, 2500000000ull);
	gw_cfg_free(&cfg);
	/* absent: 0, the built-in defaults */
	assert_int_equal(load("version: 1\ngateway: { pin_root: /sys/fs/bpf/x }\n"), 0);
	assert_int_equal(cfg.gateway.workers, 0);
	assert_int_equal(cfg.gateway.drain_timeout_ns, 0);
	gw_cfg_free(&cfg);
	/* out of range: refused at the value */
	assert_int_equal(load("version: 1\ngateway: { workers: 65 }\n"), -EINVAL);
	assert_true(has_error("t.yaml:2:"));
	assert_true(has_error("workers"));
	gw_cfg_errors_free(&errs);
	assert_int_equal(load("version: 1\ngateway: { drain_timeout: 2h }\n"), -EINVAL);
	assert_true(has_error("drain_timeout"));
}

/* Listener timeouts: defaults without the section, the values given,
 * every key checked for its range at the value's position. */
static void test_listener_timeouts(void **state)
{
	const struct gw_cfg_client_timeouts *t;

	assert_int_equal(load("version: 1\n"
			      "listeners:\n"
			      "  - { name: a, address: 198.18.0.1:80 }\n"
			      "  - name: b\n"
			      "    address: 198.18.0.1:81\n"
			      "    timeouts: { header: 2s, idle: 90s, body: 1500ms, send: 1m,\n"
			      "                tls_handshake: 3s }\n"
			      "  - { name: c, address: 198.18.0.1:82, timeouts: { idle: 5s } }\n"),
			 0);
	t = &cfg.listeners[0].timeouts;
	assert_int_equal(t->header_ns, GW_CFG_CLIENT_HEADER_NS);
	assert_int_equal(t->idle_ns, GW_CFG_CLIENT_IDLE_NS);
	assert_int_equal(t->body_ns, GW_CFG_CLIENT_BODY_NS);
	assert_int_equal(t->send_ns, GW_CFG_CLIENT_SEND_NS);
	assert_int_equal(t->tls_handshake_ns, GW_CFG_CLIENT_TLS_NS);
	assert_int_equal(GW_CFG_CLIENT_HEADER_NS, 10000000000ull);
	t = &cfg.listeners[1].timeouts;
	assert_int_equal(t->header_ns, 2000000000ull);
	assert_int_equal(t->idle_ns, 90000000000ull);
	assert_int_equal(t->body_ns, 1500000000ull);
	assert_int_equal(t->send_ns, 60000000000ull);
	assert_int_equal(t->tls_handshake_ns, 3000000000ull);
	/* a partial section keeps the defaults of the keys it leaves out */
	t = &cfg.listeners[2].timeouts;
	assert_int_equal(t->idle_ns, 5000000000ull);
	assert_int_equal(t->header_ns, GW_CFG_CLIENT_HEADER_NS);
	assert_int_equal(t->body_ns, GW_CFG_CLIENT_BODY_NS);
	teardown(state);

	assert_int_equal(load("version: 1\n"
			      "listeners:\n"
			      "  - name: a\n"
			      "    address: 198.18.0.1:80\n"
			      "    timeouts:\n"
			      "      header: 50ms\n"
			      "      idle: 2h\n"
			      "      body: 30\n"
			      "      send: [1s]\n"
			      "      tls_handshake: 0s\n"
			      "      read: 5s\n"),
			 -EINVAL);
	assert_true(has_error("t.yaml:6:15: header: 50ms is out of range (100ms-3600s)"));
	assert_true(has_error("t.yaml:7:13: idle: 2h is out of range (100ms-3600s)"));
	assert_true(has_error("t.yaml:8:13: body: '30' is not a duration"));
	assert_true(has_error("t.yaml:9:13: send: expected a value, found a list"));
	assert_true(has_error("t.yaml:10:22: tls_handshake: 0s is out of range"));
	assert_true(has_error("t.yaml:11:7: unknown key 'read' in timeouts"));
	assert_int_equal(errs.n, 6);
}

/* Route names: optional, unique, fit for a metric label; the message
 * points at the name. */
static void test_route_names(void **state)
{
	const char *head = "version: 1\n"
			   "upstreams: [{ name: u, servers: [198.18.1.2:80] }]\n"
			   "routes:\n";
	char text[1024], name[GW_CFG_ROUTE_NAME_MAX + 2];

	snprintf(text, sizeof(text), "%s"
		 "  - { name: users, match: { path_prefix: /u/ }, upstream: u }\n"
		 "  - { match: { path_prefix: /o/ }, upstream: u }\n"
		 "  - { name: v1.orders_x-2, match: { path_prefix: /x/ }, upstream: u }\n", head);
	assert_int_equal(load(text), 0);
	assert_string_equal(cfg.routes[0].name, "users");
	assert_null(cfg.routes[1].name);
	assert_string_equal(cfg.routes[2].name, "v1.orders_x-2");
	teardown(state);

	snprintf(text, sizeof(text), "%s"
		 "  - { name: users, match: { path_prefix: /u/ }, upstream: u }\n"
		 "  - { name: none, match: { path_prefix: /n/ }, upstream: u }\n"
		 "  - match: { path_prefix: /v/ }\n"
		 "    upstream: u\n"
		 "    name: users\n"
		 "  - { name: '#1 */x/*', match: { path_prefix: /x/ }, upstream: u }\n"
		 "  - { name: 'a b', match: { path_prefix: /y/ }, upstream: u }\n"
		 "  - { name: '', match: { path_prefix: /z/ }, upstream: u }\n"
		 "  - { name: -x, match: { path_prefix: /w/ }, upstream: u }\n", head);
	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("t.yaml:5:7: route: name 'none' must be"));
	assert_true(has_error("t.yaml:8:5: route 'users' is defined twice (first at line 4)"));
	assert_true(has_error("t.yaml:9:7: route: name '#1 */x/*' must be"));
	assert_true(has_error("t.yaml:10:7: route: name 'a b' must be"));
	assert_true(has_error("t.yaml:11:7: route: name '' must be"));
	assert_true(has_error("t.yaml:12:7: route: name '-x' must be"));
	assert_int_equal(errs.n, 6);
	teardown(state);

	/* 64 bytes at most */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "%s  - { name: %s, match: { path_prefix: /u/ }, upstream: u }\n", head, name);
	assert_int_equal(load(text), -EINVAL);
	assert_true(has_error("t.yaml:4:7: route: name 'aaaa"));
	teardown(state);
	name[GW_CFG_ROUTE_NAME_MAX] = '\0';
	snprintf(text, sizeof(text),
		 "%s  - { name: %s, match: { path_prefix: /u/ }, upstream: u }\n", head, name);
	assert_int_equal(load(text), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_contract_example, teardown),
		cmocka_unit_test_teardown(test_unknown_key_has_position, teardown),
		cmocka_unit_test_teardown(test_every_error_is_reported, teardown),
		cmocka_unit_test_teardown(test_references_and_types, teardown),
		cmocka_unit_test_teardown(test_service_health, teardown),
		cmocka_unit_test_teardown(test_upstream_health_path, teardown),
		cmocka_unit_test_teardown(test_structure_errors, teardown),
		cmocka_unit_test_teardown(test_missing_file, teardown),
		cmocka_unit_test(test_durations),
		cmocka_unit_test_teardown(test_repeated_prefixes, teardown),
		cmocka_unit_test_teardown(test_l7_gateway_keys, teardown),
		cmocka_unit_test_teardown(test_listener_timeouts, teardown),
		cmocka_unit_test_teardown(test_route_names, teardown),
		cmocka_unit_test_teardown(test_request_headers_bound, teardown),
		cmocka_unit_test_teardown(test_route_rules, teardown),
		cmocka_unit_test_teardown(test_wrong_kind_in_lists, teardown),
		cmocka_unit_test_teardown(test_route_upgrade, teardown),
		cmocka_unit_test_teardown(test_tls_keys, teardown),
		cmocka_unit_test_teardown(test_max_body, teardown),
		cmocka_unit_test_teardown(test_http2, teardown),
		cmocka_unit_test_teardown(test_ktls, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
