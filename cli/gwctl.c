// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gwctl, the operator CLI: talks to gwd over its admin socket (one JSON
 * line per request, docs/admin-protocol.md) and prints tables or --json.
 * When no agent answers (the socket is missing or refuses connections), the
 * commands that only need the datapath's maps run here on the pins under
 * --pin-root, with the same code gwd runs (dp/dp_cmds.h): an emergency
 * `filter deny add` works while gwd is down.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <jansson.h>

#include "gw/version.h"
#include "core/addr.h"
#include "core/cmd.h"
#include "core/log.h"
#include "dp/dp.h"
#include "dp/dp_cmds.h"

#define EXIT_USAGE 2
#define RESP_MAX (64 * 1024 * 1024)

struct opts {
	const char *socket;
	const char *pin_root;
	int json, quiet;
	const char *ttl, *weight, *rate, *burst, *service, *limit, *count;
	int watch, all;
};

static struct opts cli;

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage problem, one line; returns EXIT_USAGE. */
static int usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gwctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The edit distance of a and b (at most 63 characters of b counted).
 * Returns it. */
static size_t distance(const char *a, const char *b)
{
	size_t row[64], i, j, diag, up, lb = strlen(b) < 63 ? strlen(b) : 63;

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; a[i - 1]; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = a[i - 1] == b[j - 1] ? diag : 1 + (diag < up ? diag : up);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* The usage error of an unknown word (what: "command" or "option",
 * prefix: what the names are written with): with the closest of the n
 * names when one is close. Returns EXIT_USAGE. */
static int unknown(const char *what, const char *prefix, const char *word,
		   const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, d, best_d = 3;

	for (i = 0; i < n; i++) {
		d = distance(word, names[i]);
		if (d < best_d && d < strlen(names[i])) {
			best = names[i];
			best_d = d;
		}
	}
	if (best)
		return usage_err("unknown %s '%s%s': did you mean %s%s?", what, prefix, word,
				 prefix, best);
	return usage_err("unknown %s '%s%s' (see gwctl --help)", what, prefix, word);
}

/* ---- transport -------------------------------------------------------------- */

/* Connects to the agent. Returns the socket or -errno. */
static int agent_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(cli.socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, cli.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Sends one request and reads one answer line. Returns the parsed answer
 * or NULL (message printed). */
static json_t *agent_call(int fd, json_t *req)
{
	char *line = json_dumps(req, JSON_COMPACT), *buf = NULL, *nl = NULL;
	size_t len = 0, cap = 0, off = 0;
	int send_err = 0;
	json_error_t jerr;
	json_t *resp = NULL;
	ssize_t n;

	if (!line)
		return NULL;
	len = strlen(line);
	line[len] = '\0';
	while (off <= len) {
		const char *p = off < len ? line + off : "\n";

		n = send(fd, p, off < len ? len - off : 1, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* a refusing agent answers and closes: read its line */
			send_err = errno;
			break;
		}
		off += (size_t)n;
	}
	len = 0;
	while (!nl) {
		if (len + 65536 > cap) {
			char *b;

			cap = cap ? cap * 2 : 131072;
			b = cap <= RESP_MAX ? realloc(buf, cap) : NULL;
			if (!b) {
				fprintf(stderr, "gwctl: answer too large\n");
				goto out;
			}
			buf = b;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (send_err)
				fprintf(stderr, "gwctl: sending to %s: %s\n", cli.socket,
					strerror(send_err));
			else
				fprintf(stderr, "gwctl: %s closed the connection without an "
					"answer\n", cli.socket);
			goto out;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	resp = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
	if (!resp)
		fprintf(stderr, "gwctl: unreadable answer from gwd: %s\n", jerr.text);
out:
	free(line);
	free(buf);
	return resp;
}

static int offline;			/* answering from the pins */
static struct gw_dp_maps pins;
static int agent_fd = -1;

/* Commands that can run on the pins alone. */
static int offline_ok(const char *cmd)
{
	/* the L7 verbs and reload need gwd; backends need its health checks */
	return strcmp(cmd, "reload") && strncmp(cmd, "backend.", 8) &&
	       strncmp(cmd, "upstream.", 9) && strncmp(cmd, "route.", 6);
}

/* Opens the pins when gwd does not answer (conn_err: why). The library's
 * own log line is kept back: gwctl says what happened in one sentence.
 * Returns 0, or -errno with the sentence printed. */
static int pins_open(int conn_err)
{
	enum gw_log_level lvl = gw_log_get_level();
	int err;

	gw_log_set_level(GW_LOG_ERR);
	err = gw_dp_maps_open(cli.pin_root, &pins);
	gw_log_set_level(lvl);
	if (err == -ENOENT)
		fprintf(stderr, "gwctl: gwd is not running (%s: %s) and no datapath is pinned "
			"under %s\n", cli.socket, strerror(-conn_err), cli.pin_root);
	else if (err)
		fprintf(stderr, "gwctl: gwd is not running (%s: %s) and the pins under %s "
			"cannot be opened: %s\n", cli.socket, strerror(-conn_err), cli.pin_root,
			strerror(-err));
	return err;
}

/* Runs cmd through gwd, or on the pins when no agent answers. Returns the
 * answer or NULL (message printed). */
static json_t *call(const char *cmd, json_t *args)
{
	struct gw_dp_cmd_ctx ctx = { .maps = &pins };
	struct gw_cmd_table t;
	json_t *req, *resp;
	int err;

	if (!offline && agent_fd < 0) {
		agent_fd = agent_connect();
		if (agent_fd < 0) {
			err = agent_fd;
			if ((err != -ENOENT && err != -ECONNREFUSED) || !offline_ok(cmd)) {
				fprintf(stderr, "gwctl: cannot reach gwd at %s: %s\n", cli.socket,
					strerror(-err));
				if (err == -EACCES || err == -EPERM)
					fprintf(stderr, "gwctl: only root and group %s may use "
						"it\n", GW_ADMIN_GROUP);
				json_decref(args);
				return NULL;
			}
			if (pins_open(err)) {
				json_decref(args);
				return NULL;
			}
			offline = 1;
			fprintf(stderr, "gwctl: gwd is not running (%s: %s); using the pinned "
				"maps under %s\n", cli.socket, strerror(-err), cli.pin_root);
		}
	}
	if (offline) {
		ctx.pin_root = cli.pin_root;
		t = gw_dp_cmd_table(&ctx);
		resp = gw_cmd_exec(&t, 1, cmd, args);
		json_decref(args);
		return resp;
	}
	req = json_pack("{s:s, s:o}", "cmd", cmd, "args", args ? args : json_object());
	resp = req ? agent_call(agent_fd, req) : NULL;
	json_decref(req);
	return resp;
}

/* The data of an {"ok":true} answer, or NULL with the error printed. */
static json_t *data_of(json_t *resp)
{
	json_t *ok = json_object_get(resp, "ok");

	if (json_is_true(ok))
		return json_object_get(resp, "data");
	fprintf(stderr, "gwctl: %s\n", json_string_value(json_object_get(resp, "error")) ?
		json_string_value(json_object_get(resp, "error")) : "malformed answer");
	return NULL;
}

static void print_json(json_t *d)
{
	json_dumpf(d, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/* Shorthands for the tables. */
static const char *S(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "-";
}

static long long I(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* ---- printers ------------------------------------------------------------------- */

static void print_status(json_t *d)
{
	json_t *f, *ifs = json_object_get(d, "interfaces"), *feat = json_object_get(d, "features");
	size_t i;

	if (json_is_true(json_object_get(d, "agent")))
		printf("agent      gwd, config %s, generation %lld\n", S(d, "config_file"),
		       I(d, "generation"));
	else
		printf("agent      not running (state read from the pins)\n");
	printf("pin root   %s\n", S(d, "pin_root"));
	printf("datapath   generation %lld, filter default %s\n", I(d, "datapath_generation"),
	       S(d, "filter_default"));
	json_array_foreach(json_object_get(d, "programs"), i, f)
		printf("program    %s (%s) id %lld tag %s%s%s, pinned %s\n", S(f, "name"),
		       S(f, "type"), I(f, "id"), S(f, "tag"),
		       json_is_true(json_object_get(f, "jited")) ? ", jited" : "",
		       json_is_true(json_object_get(f, "btf")) ? ", btf" : "", S(f, "pin"));
	printf("features  ");
	json_array_foreach(feat, i, f)
		printf(" %s%s", json_string_value(f), i + 1 < json_array_size(feat) ? "," : "");
	printf("\n");
	if (json_is_string(json_object_get(d, "ktls")))
		printf("ktls: %s\n", S(d, "ktls"));
	printf("\n%-16s %-8s %-12s %-10s %-16s %s\n", "INTERFACE", "IFINDEX", "HOOK", "LIBXDP",
	       "IPV4", "IPV6");
	json_array_foreach(ifs, i, f) {
		json_t *disp = json_object_get(f, "xdp_dispatcher");

		printf("%-16s %-8lld %-12s %-10s %-16s %s\n", S(f, "name"), I(f, "ifindex"),
		       S(f, "hook"), json_is_true(disp) ? "multiprog" : json_is_false(disp) ?
		       "alone" : "-", S(f, "ipv4"), S(f, "ipv6"));
	}
}

static void print_services(json_t *arr, int backends)
{
	json_t *s, *b;
	size_t i, j;

	printf("%-12s %-28s %-5s %-5s %4s %14s %16s\n", "SERVICE", "VIP", "PROTO", "FWD", "ID",
	       "PACKETS", "BYTES");
	json_array_foreach(arr, i, s) {
		printf("%-12s %-28s %-5s %-5s %4lld %14lld %16lld\n", S(s, "name"), S(s, "vip"),
		       S(s, "protocol"), S(s, "forwarding"), I(s, "id"), I(s, "packets"),
		       I(s, "bytes"));
		if (!backends)
			continue;
		if (json_is_true(json_object_get(s, "fail_open")))
			printf("  every backend is down: new flows go to all of them (fail open)\n");
		json_array_foreach(json_object_get(s, "backends"), j, b) {
			printf("  backend %-30s weight %-5lld %-8s %-9s %14lld %16lld", S(b, "address"),
			       I(b, "weight"), S(b, "state"), S(b, "health"), I(b, "packets"),
			       I(b, "bytes"));
			if (json_is_string(json_object_get(b, "health_reason")))
				printf("  (%s)", S(b, "health_reason"));
			printf("\n");
		}
	}
}

static void print_stats(json_t *d)
{
	json_t *r, *t = json_object_get(d, "totals");
	size_t i;

	printf("%-16s %-8s %14s %16s\n", "REASON", "ACTION", "PACKETS", "BYTES");
	json_array_foreach(json_object_get(d, "reasons"), i, r) {
		if (!I(r, "packets") && !cli.all)
			continue;
		printf("%-16s %-8s %14lld %16lld\n", S(r, "reason"), S(r, "action"),
		       I(r, "packets"), I(r, "bytes"));
	}
	printf("total: pass %lld, forward %lld, drop %lld\n\n", I(t, "pass"), I(t, "forward"),
	       I(t, "drop"));
	print_services(json_object_get(d, "services"), 0);
}

static void print_filter(json_t *d)
{
	json_t *e;
	size_t i;

	printf("default: %s\n", S(d, "default"));
	printf("%-44s %-6s %-5s %-9s %-8s %s\n", "PREFIX", "ACTION", "KIND", "ORIGIN", "EXPIRES",
	       "NODE");
	json_array_foreach(json_object_get(d, "entries"), i, e) {
		char left[32] = "-";

		if (json_is_integer(json_object_get(e, "expires_in_s")))
			snprintf(left, sizeof(left), "%llds", I(e, "expires_in_s"));
		printf("%-44s %-6s %-5s %-9s %-8s %s\n", S(e, "prefix"), S(e, "action"),
		       S(e, "kind"), S(e, "origin"), left,
		       json_object_get(e, "node") ? S(e, "node") : "-");
	}
}

/* `cluster status`: this node, Redis, and every node heard from. */
static void print_cluster(json_t *d)
{
	json_t *n;
	size_t i;
	int differ = 0;

	printf("node       %s (config generation %lld, hash %s)\n", S(d, "node"),
	       I(d, "generation"), S(d, "hash"));
	printf("redis      %s %s%s%s\n", S(d, "redis"),
	       json_is_true(json_object_get(d, "redis_up")) ? "up" : "DOWN",
	       json_object_get(d, "redis_error") ? ": " : "",
	       json_object_get(d, "redis_error") ? S(d, "redis_error") : "");
	printf("fallbacks  %lld node-local decisions; %lld cluster bans\n",
	       I(d, "fallback_total"), I(d, "bans"));
	if (json_is_true(json_object_get(d, "nat_sync")))
		printf("nat        %lld flows published, %lld imported\n", I(d, "nat_published"),
		       I(d, "nat_imported"));
	printf("\n");
	printf("%-24s %-5s %-10s %-10s %-16s %s\n", "NODE", "UP", "HEARTBEAT", "GENERATION",
	       "HASH", "CONFIG");
	json_array_foreach(json_object_get(d, "nodes"), i, n) {
		int diff = json_is_true(json_object_get(n, "config_differs"));
		char age[32];

		snprintf(age, sizeof(age), "%.1fs ago", (double)I(n, "age_ms") / 1000.0);
		printf("%-24s %-5s %-10s %-10lld %-16s %s\n", S(n, "node"),
		       json_is_true(json_object_get(n, "up")) ? "yes" : "no", age,
		       I(n, "generation"), S(n, "hash"), diff ? "DIFFERS" : "same");
		differ |= diff;
	}
	if (differ)
		printf("\nwarning: nodes run different configs (hash of gateway.yaml)\n");
}

static void print_bucket(const char *name, json_t *b)
{
	if (!json_is_object(b)) {
		printf("%-8s off\n", name);
		return;
	}
	printf("%-8s %.0f/s burst %lld\n", name, json_real_value(json_object_get(b, "rate_per_s")),
	       I(b, "burst"));
}

static void print_rl(json_t *d)
{
	print_bucket("packets", json_object_get(d, "packets"));
	print_bucket("syn", json_object_get(d, "syn"));
	printf("%-8s /%lld\n", "v6", I(d, "v6_prefix"));
}

static void print_ct(json_t *d)
{
	json_t *f;
	size_t i;

	printf("%-5s %-28s %-28s %-28s %6s\n", "PROTO", "CLIENT", "VIP", "BACKEND", "IDLE");
	json_array_foreach(json_object_get(d, "flows"), i, f)
		printf("%-5s %-28s %-28s %-28s %5llds\n", S(f, "protocol"), S(f, "client"),
		       S(f, "vip"), S(f, "backend"), I(f, "idle_s"));
	printf("%lld flow(s)%s\n", I(d, "total"),
	       I(d, "shown") < I(d, "total") ? " (--limit reached)" : "");
}

static void print_service_list(json_t *d)
{
	print_services(d, 1);
}

static void print_rl_set(json_t *d)
{
	json_t *b = json_object_get(d, "setting");

	printf("ratelimit ");
	print_bucket(S(d, "limit"), b);
}

static void print_reload(json_t *d)
{
	printf("reloaded %s: config generation %lld\n", S(d, "config_file"), I(d, "generation"));
}

static void print_upstreams(json_t *d)
{
	size_t i, j;
	json_t *u, *v;

	json_array_foreach(d, i, u) {
		printf("%s (%s, retries %lld)\n", S(u, "name"), S(u, "balance"), I(u, "retries"));
		if (json_is_true(json_object_get(u, "panic")))
			printf("  every server is down by health checks: requests go to all of "
			       "them (panic)\n");
		printf("  %-40s %6s  %-12s %8s %12s %10s\n", "SERVER", "WEIGHT", "STATE", "ACTIVE",
		       "REQUESTS", "FAILURES");
		json_array_foreach(json_object_get(u, "servers"), j, v) {
			char st[32];

			if (json_is_true(json_object_get(v, "draining")))
				snprintf(st, sizeof(st), "draining");
			else if (I(v, "ejected_ms"))
				snprintf(st, sizeof(st), "ejected %llds",
					 (I(v, "ejected_ms") + 999) / 1000);
			else
				snprintf(st, sizeof(st), "%s",
					 json_is_true(json_object_get(v, "up")) ? "up" : "down");
			printf("  %-40s %6lld  %-12s %8lld %12lld %10lld\n", S(v, "address"),
			       I(v, "weight"), st, I(v, "active"), I(v, "requests"),
			       I(v, "failures"));
		}
	}
}

static void print_routes(json_t *d)
{
	size_t i;
	json_t *r;

	printf("%-5s %-48s %s\n", "INDEX", "ROUTE", "ACTION");
	json_array_foreach(d, i, r) {
		if (json_object_get(r, "upstream"))
			printf("%-5lld %-48s upstream %s%s%s%s\n", I(r, "index"), S(r, "route"),
			       S(r, "upstream"),
			       json_is_true(json_object_get(r, "strip_prefix")) ? ", strip_prefix" : "",
			       json_is_string(json_object_get(r, "auth")) ? ", auth " : "",
			       json_is_string(json_object_get(r, "auth")) ? S(r, "auth") : "");
		else
			printf("%-5lld %-48s respond %lld\n", I(r, "index"), S(r, "route"),
			       I(r, "respond"));
	}
}

static void print_splices(json_t *d)
{
	json_t *list = json_object_get(d, "splices"), *r;
	size_t i;

	printf("splicing: %s, %lld live\n", S(d, "status"), I(d, "live"));
	if (!json_array_size(list))
		return;
	printf("%-47s %-47s %-47s %12s %12s\n", "CLIENT", "LISTENER", "UPSTREAM", "BYTES_UP",
	       "BYTES_DOWN");
	json_array_foreach(list, i, r)
		printf("%-47s %-47s %-47s %12lld %12lld\n", S(r, "client"), S(r, "listener"),
		       S(r, "upstream"), I(r, "bytes_up"), I(r, "bytes_down"));
}

static void print_server_change(json_t *d)
{
	printf("%s %s %s\n", S(d, "server"), S(d, "change"), S(d, "upstream"));
}

/* Says how long a live change lasts. */
static void note_ephemeral(void)
{
	if (cli.quiet)
		return;
	if (offline)
		fprintf(stderr, "gwctl: applied to the pinned maps; gwd replaces it with the "
			"file when it starts or reloads\n");
	else
		fprintf(stderr, "gwctl: live change applied; the config file replaces it on the "
			"next reload\n");
}

/* Runs cmd and prints its answer with printer (NULL: a one-line summary).
 * Returns the exit status. */
static int run(const char *cmd, json_t *args, void (*printer)(json_t *d), int live)
{
	json_t *resp = call(cmd, args), *d;
	int rc = 1;

	if (!resp)
		return 1;
	d = data_of(resp);
	if (d) {
		rc = 0;
		if (cli.json)
			print_json(d);
		else if (printer)
			printer(d);
		else if (json_is_object(d) && json_object_get(d, "change"))
			printf("%s %s %s\n", json_string_value(json_object_get(d, "backend")) ?
			       S(d, "backend") : S(d, "prefix"), S(d, "change"),
			       json_object_get(d, "service") ? S(d, "service") : S(d, "action"));
		if (live)
			note_ephemeral();
	}
	json_decref(resp);
	return rc;
}

/* ---- stats --watch ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rates between two stats answers, as a new object. */
static json_t *rates(json_t *prev, json_t *cur, double dt)
{
	json_t *out = json_object(), *ra = json_array(), *sa = json_array(), *r, *p;
	size_t i;

	json_array_foreach(json_object_get(cur, "reasons"), i, r) {
		p = json_array_get(json_object_get(prev, "reasons"), i);
		json_array_append_new(ra, json_pack("{s:s, s:s, s:f, s:f}", "reason",
			S(r, "reason"), "action", S(r, "action"), "packets_per_s",
			(double)(I(r, "packets") - I(p, "packets")) / dt, "bytes_per_s",
			(double)(I(r, "bytes") - I(p, "bytes")) / dt));
	}
	json_array_foreach(json_object_get(cur, "services"), i, r) {
		size_t j;
		json_t *q;

		p = NULL;
		json_array_foreach(json_object_get(prev, "services"), j, q)
			if (!strcmp(S(q, "vip"), S(r, "vip")) &&
			    !strcmp(S(q, "protocol"), S(r, "protocol")))
				p = q;
		json_array_append_new(sa, json_pack("{s:s, s:s, s:s, s:f}", "name", S(r, "name"),
			"vip", S(r, "vip"), "protocol", S(r, "protocol"), "packets_per_s",
			p ? (double)(I(r, "packets") - I(p, "packets")) / dt : 0.0));
	}
	json_object_set_new(out, "interval_s", json_real(dt));
	json_object_set_new(out, "reasons", ra);
	json_object_set_new(out, "services", sa);
	return out;
}

static int stats_watch(void)
{
	unsigned long long count = 0, n;
	json_t *prev = NULL, *resp, *d, *r, *x;
	double t0 = 0, t;
	size_t i;
	char *end;

	if (cli.count) {
		count = strtoull(cli.count, &end, 10);
		if (*end || !count)
			return usage_err("--count must be a number >= 1");
	}
	for (n = 0; !count || n <= count; n++) {
		resp = call("stats", NULL);
		d = resp ? data_of(resp) : NULL;
		if (!d) {
			json_decref(resp);
			json_decref(prev);
			return 1;
		}
		t = now_s();
		if (prev) {
			x = rates(prev, d, t - t0);
			if (cli.json) {
				json_dumpf(x, stdout, JSON_COMPACT);
				fputc('\n', stdout);
			} else {
				printf("%-16s %-8s %12s %14s\n", "REASON", "ACTION", "PKT/S",
				       "BYTES/S");
				json_array_foreach(json_object_get(x, "reasons"), i, r)
					if (json_real_value(json_object_get(r, "packets_per_s")) >
						    0 || cli.all)
						printf("%-16s %-8s %12.0f %14.0f\n", S(r, "reason"),
						       S(r, "action"), json_real_value(
						       json_object_get(r, "packets_per_s")),
						       json_real_value(json_object_get(r,
						       "bytes_per_s")));
				json_array_foreach(json_object_get(x, "services"), i, r)
					printf("service %-12s %-28s %12.0f pkt/s\n", S(r, "name"),
					       S(r, "vip"), json_real_value(json_object_get(r,
					       "packets_per_s")));
				printf("\n");
			}
			fflush(stdout);
			json_decref(x);
		}
		json_decref(prev);
		prev = json_deep_copy(d);
		json_decref(resp);
		t0 = t;
		if (count && n == count)
			break;
		sleep(1);
	}
	json_decref(prev);
	return 0;
}

/* ---- check ----------------------------------------------------------------------------- */

/* Runs `gwd --check -c file` (gwd is the one parser of the config and of
 * the files it names: the check links nothing of the proxy into gwctl),
 * its output passed through. gwd is looked for next to gwctl, then in
 * ../sbin from gwctl's folder, then in PATH. Returns gwd's exit status, or
 * 1 when it cannot be run. */
static int run_gwd_check(const char *file)
{
	char self[4096], path[4200], *slash;
	const char *rel[] = { "gwd", "../sbin/gwd" };
	int status;
	ssize_t n;
	size_t i;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "gwctl: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (!pid) {
		/* gwd's "FILE: valid" line is gwctl's to print */
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			slash = strrchr(self, '/');
			if (slash)
				*slash = '\0';
			for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				snprintf(path, sizeof(path), "%s/%s", self, rel[i]);
				execl(path, "gwd", "--check", "-c", file, (char *)NULL);
			}
		}
		execlp("gwd", "gwd", "--check", "-c", file, (char *)NULL);
		fprintf(stderr, "gwctl: check runs gwd --check, and no gwd was found next to "
			"gwctl or in PATH\n");
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int cmd_check(const char *file)
{
	if (run_gwd_check(file))
		return 1;
	if (cli.json)
		printf("{\"file\": \"%s\", \"valid\": true}\n", file);
	else
		printf("%s: valid\n", file);
	return 0;
}

/* ---- the command line ------------------------------------------------------------------- */

/* The options that take a value, by name. */
static const struct {
	const char *name;
	size_t off;
} value_opts[] = {
	{ "ttl", offsetof(struct opts, ttl) },
	{ "weight", offsetof(struct opts, weight) },
	{ "rate", offsetof(struct opts, rate) },
	{ "burst", offsetof(struct opts, burst) },
	{ "service", offsetof(struct opts, service) },
	{ "limit", offsetof(struct opts, limit) },
	{ "count", offsetof(struct opts, count) },
};

#define N_VALUE_OPTS (sizeof(value_opts) / sizeof(value_opts[0]))

/* Returns the value given for option i of value_opts, or NULL. */
static const char *opt_value(size_t i)
{
	return *(const char **)((char *)&cli + value_opts[i].off);
}

/* Fails with a usage error when an option outside `allowed` (space-separated
 * long names) was given. */
static int only(const char *allowed)
{
	size_t i;

	for (i = 0; i < N_VALUE_OPTS; i++)
		if (opt_value(i) && !strstr(allowed, value_opts[i].name))
			return usage_err("--%s does not apply here", value_opts[i].name);
	if (cli.watch && !strstr(allowed, "watch"))
		return usage_err("--watch applies to stats only");
	if (cli.all && !strstr(allowed, "all"))
		return usage_err("--all applies to stats only");
	return 0;
}

/* Returns 1 if the option called name (one of value_opts) was given. */
static int opt_given(const char *name)
{
	size_t i;

	for (i = 0; i < N_VALUE_OPTS; i++)
		if (!strcmp(value_opts[i].name, name))
			return opt_value(i) != NULL;
	return 0;
}

/* The admin commands' arguments, from the command line (argv[0]: the first
 * word). */
static json_t *cidr_args(char **argv)
{
	json_t *a = json_pack("{s:s}", "cidr", argv[3]);

	if (cli.ttl)
		json_object_set_new(a, "ttl", json_string(cli.ttl));
	return a;
}

static json_t *rl_args(char **argv)
{
	json_t *a = json_pack("{s:s, s:s}", "limit", argv[2], "rate", cli.rate);

	if (cli.burst)
		json_object_set_new(a, "burst", json_string(cli.burst));
	return a;
}

/* name: the key of argv[n], addr: the key of argv[n + 1]; --weight too. */
static json_t *weighted_args(const char *name, const char *addr, char **argv, int n)
{
	json_t *a = json_pack("{s:s, s:s}", name, argv[n], addr, argv[n + 1]);

	if (cli.weight)
		json_object_set_new(a, "weight", json_string(cli.weight));
	return a;
}

static json_t *backend_args(char **argv)
{
	return weighted_args("service", "backend", argv, 2);
}

static json_t *server_args(char **argv)
{
	return weighted_args("upstream", "server", argv, 3);
}

static json_t *ct_args(char **argv)
{
	json_t *a = json_object();

	if (cli.service)
		json_object_set_new(a, "service", json_string(cli.service));
	if (cli.limit)
		json_object_set_new(a, "limit", json_string(cli.limit));
	return a;
}

/* The checks of operands: filter's prefix (argv[3]), the ADDR:PORT of
 * backend (argv[3]) and of upstream server (argv[4]). gwd judges the rest
 * (host bits, names). Return 0, or a usage error. */
static int check_prefix(char **argv)
{
	const char *s = argv[3], *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s), d;
	char addr[64];
	unsigned int max;
	struct gw_ip ip;

	if (n >= sizeof(addr))
		return usage_err("%s: not an IP prefix", s);
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (gw_ip_parse(addr, &ip))
		return usage_err("%s: not an IP prefix", s);
	if (!slash)
		return 0;
	max = ip.family == GW_FAMILY_V4 ? 32 : 128;
	d = strspn(slash + 1, "0123456789");
	if (!d || d > 3 || slash[1 + d] || strtoul(slash + 1, NULL, 10) > max)
		return usage_err("%s: the prefix length must be a number from 0 to %u", s, max);
	return 0;
}

static int check_endpoint(char **argv)
{
	const char *s = argv[!strcmp(argv[0], "upstream") ? 4 : 3];
	struct gw_endpoint ep;
	char msg[160];

	if (gw_endpoint_parse_msg(s, &ep, msg, sizeof(msg)))
		return usage_err("%s", msg);
	return 0;
}

/* The commands run here rather than through an admin command. */
static int verb_stats(int argc, char **argv)
{
	if (cli.count && !cli.watch)
		return usage_err("--count goes with --watch");
	return cli.watch ? stats_watch() : run("stats", NULL, print_stats, 0);
}

static int verb_check(int argc, char **argv)
{
	return cmd_check(argv[1]);
}

/*
 * A command: its words, how many operands follow them, the options it takes
 * (space-separated; NULL: none) and the one it needs (checked with the
 * words), the check of its operands (a usage error when malformed), and
 * either the admin command with its arguments, printer and whether it is a
 * live change, or fn. form is its line in the usage text and its usage
 * errors (NULL: the form of the entry before covers it), help what it does
 * (lines after the first are indented). gwctl(8) has an item per form.
 */
struct verb {
	const char *words;
	int nargs;
	const char *opts;
	const char *need;
	int (*check)(char **argv);
	const char *cmd;
	json_t *(*args)(char **argv);
	void (*print)(json_t *d);
	int live;
	int (*fn)(int argc, char **argv);
	const char *form;
	const char *help;
};

static const struct verb verbs[] = {
	{ .words = "status", .cmd = "status", .print = print_status, .form = "status",
	  .help = "programs, interfaces, modes, generation,\nkernel features in use" },
	{ .words = "stats", .opts = "watch count all", .fn = verb_stats,
	  .form = "stats [--watch [--count N]] [--all]", .help = "counters by reason and service" },
	{ .words = "filter list", .cmd = "filter.list", .print = print_filter,
	  .form = "filter list" },
	{ .words = "filter deny add", .nargs = 1, .opts = "ttl", .check = check_prefix,
	  .cmd = "filter.deny.add", .args = cidr_args, .live = 1,
	  .form = "filter deny add CIDR [--ttl DURATION]" },
	{ .words = "filter deny del", .nargs = 1, .check = check_prefix, .cmd = "filter.deny.del",
	  .args = cidr_args, .live = 1, .form = "filter deny del CIDR" },
	{ .words = "filter allow add", .nargs = 1, .check = check_prefix, .cmd = "filter.allow.add",
	  .args = cidr_args, .live = 1, .form = "filter allow add|del CIDR" },
	{ .words = "filter allow del", .nargs = 1, .check = check_prefix, .cmd = "filter.allow.del",
	  .args = cidr_args, .live = 1 },
	{ .words = "ratelimit show", .cmd = "ratelimit.show", .print = print_rl,
	  .form = "ratelimit show" },
	{ .words = "ratelimit set packets", .opts = "rate burst", .need = "rate",
	  .cmd = "ratelimit.set", .args = rl_args, .print = print_rl_set, .live = 1,
	  .form = "ratelimit set packets|syn --rate R[/s|/m|/h] [--burst B]" },
	{ .words = "ratelimit set syn", .opts = "rate burst", .need = "rate",
	  .cmd = "ratelimit.set", .args = rl_args, .print = print_rl_set, .live = 1 },
	{ .words = "service list", .cmd = "service.list", .print = print_service_list,
	  .form = "service list" },
	{ .words = "backend add", .nargs = 2, .opts = "weight", .check = check_endpoint,
	  .cmd = "backend.add", .args = backend_args, .live = 1,
	  .form = "backend add|drain SERVICE ADDR:PORT [--weight W]" },
	{ .words = "backend drain", .nargs = 2, .opts = "weight", .check = check_endpoint,
	  .cmd = "backend.drain", .args = backend_args, .live = 1 },
	{ .words = "backend del", .nargs = 2, .check = check_endpoint, .cmd = "backend.del",
	  .args = backend_args, .live = 1, .form = "backend del SERVICE ADDR:PORT" },
	{ .words = "upstream list", .cmd = "upstream.list", .print = print_upstreams,
	  .form = "upstream list" },
	{ .words = "upstream server add", .nargs = 2, .opts = "weight", .check = check_endpoint,
	  .cmd = "upstream.server.add", .args = server_args, .print = print_server_change,
	  .live = 1, .form = "upstream server add UPSTREAM ADDR:PORT [--weight W]" },
	{ .words = "upstream server del", .nargs = 2, .check = check_endpoint,
	  .cmd = "upstream.server.del", .args = server_args, .print = print_server_change,
	  .live = 1, .form = "upstream server del|drain UPSTREAM ADDR:PORT" },
	{ .words = "upstream server drain", .nargs = 2, .check = check_endpoint,
	  .cmd = "upstream.server.drain", .args = server_args, .print = print_server_change,
	  .live = 1 },
	{ .words = "conntrack list", .opts = "service limit", .cmd = "conntrack.list",
	  .args = ct_args, .print = print_ct, .form = "conntrack list [--service NAME] [--limit N]" },
	{ .words = "route list", .cmd = "route.list", .print = print_routes, .form = "route list" },
	{ .words = "cluster status", .cmd = "cluster.status", .print = print_cluster,
	  .form = "cluster status" },
	{ .words = "splice list", .cmd = "splice.list", .print = print_splices,
	  .form = "splice list", .help = "connections the kernel moves (sockmap)" },
	{ .words = "reload", .cmd = "reload", .print = print_reload, .form = "reload" },
	{ .words = "check", .nargs = 1, .fn = verb_check, .form = "check FILE",
	  .help = "validate FILE like gwd --check" },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	const struct verb *v;
	const char *h, *nl;

	fprintf(f, "usage: gwctl [-s SOCKET] [--pin-root DIR] [--json] [-q] COMMAND ...\n"
		   "       gwctl --version | --help\n");
	for (v = verbs; v < verbs + N_VERBS; v++) {
		if (!v->form)
			continue;
		if (!v->help) {
			fprintf(f, "  %s\n", v->form);
			continue;
		}
		fprintf(f, "  %-35s", v->form);
		for (h = v->help; (nl = strchr(h, '\n')); h = nl + 1)
			fprintf(f, " %.*s\n%37s", (int)(nl - h), h, "");
		fprintf(f, " %s\n", h);
	}
	fprintf(f, "options:\n"
		   "  -s, --socket PATH   the admin socket (default $GW_SOCKET or\n"
		   "                      " GW_ADMIN_SOCKET_DEFAULT ")\n"
		   "  --pin-root DIR      the pins used when no gwd answers (default\n"
		   "                      " GW_PIN_ROOT_DEFAULT ")\n"
		   "  --json              print the answer's data as JSON\n"
		   "  -q, --quiet         no note after a live change\n"
		   "  --version           print the version and exit\n"
		   "  -h, --help          print this and exit\n"
		   "Live changes are immediate and ephemeral: the file replaces them on the\n"
		   "next reload.\n");
}

/* Returns 1 if v's first word is word. */
static int verb_is(const struct verb *v, const char *word)
{
	size_t w = strcspn(v->words, " ");

	return strlen(word) == w && !strncmp(v->words, word, w);
}

/* Returns 1 if argv (argc words) is v's words and operands, with the option
 * v needs. */
static int verb_matches(const struct verb *v, int argc, char **argv)
{
	const char *p = v->words;
	size_t len;
	int i;

	for (i = 0; *p; i++, p += len + !!p[len]) {
		len = strcspn(p, " ");
		if (i >= argc || strlen(argv[i]) != len || strncmp(argv[i], p, len))
			return 0;
	}
	return argc == i + v->nargs && (!v->need || opt_given(v->need));
}

/* The usage error of the commands whose first word is argv[0]: their forms. */
static int group_usage(const struct verb *first, const struct verb *end)
{
	char msg[512];
	size_t off = 0;
	const struct verb *v;

	msg[0] = '\0';
	for (v = first; v < end && off < sizeof(msg); v++)
		if (v->form)
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s",
						off ? " | " : "", v->form);
	return usage_err("usage: gwctl %s", msg);
}

/* The usage error of an unknown first word. Returns EXIT_USAGE. */
static int unknown_command(const char *word)
{
	char first[N_VERBS][16];
	const char *names[N_VERBS];
	size_t i, n = 0;

	for (i = 0; i < N_VERBS; i++) {
		if (i && verb_is(&verbs[i], first[n - 1]))
			continue;
		snprintf(first[n], sizeof(first[n]), "%.*s", (int)strcspn(verbs[i].words, " "),
			 verbs[i].words);
		names[n] = first[n];
		n++;
	}
	return unknown("command", "", word, names, n);
}

/* Finds the command of argv among the entries with its first word (they
 * are adjacent), checks its options and runs it. Options are checked
 * before the words when all the entries take the same ones (a one-form
 * command), after them otherwise. Returns the exit status. */
static int dispatch(int argc, char **argv)
{
	const struct verb *first, *end, *v;
	int same = 1, err;

	for (first = verbs; first < verbs + N_VERBS && !verb_is(first, argv[0]); first++)
		;
	if (first == verbs + N_VERBS)
		return unknown_command(argv[0]);
	for (end = first; end < verbs + N_VERBS && verb_is(end, argv[0]); end++)
		if (strcmp(end->opts ? end->opts : "", first->opts ? first->opts : ""))
			same = 0;
	if (same && (err = only(first->opts ? first->opts : "")))
		return err;
	for (v = first; v < end && !verb_matches(v, argc, argv); v++)
		;
	if (v == end)
		return group_usage(first, end);
	if (!same && (err = only(v->opts ? v->opts : "")))
		return err;
	if (v->check && (err = v->check(argv)))
		return err;
	if (v->fn)
		return v->fn(argc, argv);
	return run(v->cmd, v->args ? v->args(argv) : NULL, v->print, v->live);
}

/* The usage error of the option in arg that getopt refused (opt: its
 * optopt, 0 for an unknown long option). Returns EXIT_USAGE. */
static int bad_option(const struct option *lo, const char *arg, int opt)
{
	const char *names[32];
	char word[64], hits[256] = "";
	size_t n, len, off = 0, nhits = 0;

	if (opt && (strncmp(arg, "--", 2) || !strchr(arg, '=')))
		return usage_err("unknown option '-%c' (see gwctl --help)", opt);
	len = strcspn(arg + 2, "=");
	snprintf(word, sizeof(word), "%.*s", (int)len, arg + 2);
	for (n = 0; lo[n].name && n < sizeof(names) / sizeof(names[0]); n++) {
		names[n] = lo[n].name;
		if (!strncmp(lo[n].name, word, strlen(word)) && off < sizeof(hits)) {
			off += (size_t)snprintf(hits + off, sizeof(hits) - off, "%s--%s",
						nhits ? ", " : "", lo[n].name);
			nhits++;
		}
	}
	if (opt)
		return usage_err("option '--%s' takes no value", word);
	if (nhits > 1)
		return usage_err("option '--%s' is ambiguous: %s", word, hits);
	return unknown("option", "--", word, names, n);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pin-root", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "ttl", required_argument, NULL, 't' },
		{ "weight", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "service", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ "watch", no_argument, NULL, 'W' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	cli.socket = getenv("GW_SOCKET") && *getenv("GW_SOCKET") ? getenv("GW_SOCKET") :
								    GW_ADMIN_SOCKET_DEFAULT;
	cli.pin_root = GW_PIN_ROOT_DEFAULT;
	opterr = 0;	/* a bad option gets gwctl's one line */
	while ((c = getopt_long(argc, argv, ":s:qh", lo, NULL)) != -1) {
		switch (c) {
		case 's': cli.socket = optarg; break;
		case 'P': cli.pin_root = optarg; break;
		case 'j': cli.json = 1; break;
		case 'q': cli.quiet = 1; break;
		case 'V': printf("gwctl " GW_VERSION "\n"); return 0;
		case 't': cli.ttl = optarg; break;
		case 'w': cli.weight = optarg; break;
		case 'r': cli.rate = optarg; break;
		case 'b': cli.burst = optarg; break;
		case 'S': cli.service = optarg; break;
		case 'l': cli.limit = optarg; break;
		case 'n': cli.count = optarg; break;
		case 'W': cli.watch = 1; break;
		case 'a': cli.all = 1; break;
		case 'h': usage(stdout); return 0;
		case ':': return usage_err("option '%s' needs a value", argv[optind - 1]);
		default: return bad_option(lo, argv[optind - 1], optopt);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	gw_log_set_level(GW_LOG_WARN);
	gw_log_set_format(GW_LOG_FMT_PLAIN);
	rc = dispatch(argc - optind, argv + optind);
	if (agent_fd >= 0)
		close(agent_fd);
	if (offline)
		gw_dp_maps_close(&pins);
	return rc;
}
