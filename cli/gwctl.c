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

#include "core/cmd.h"
#include "core/log.h"
#include "dp/dp.h"
#include "dp/dp_cmds.h"

#define EXIT_USAGE 2
#define RESP_MAX (64 * 1024 * 1024)

struct opts {
	const char *socket;
	const char *pin_root;
	int json;
	const char *ttl, *weight, *rate, *burst, *service, *limit, *count;
	int watch, all;
};

static struct opts cli;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gwctl [-s SOCKET] [--pin-root DIR] [--json] COMMAND ...\n"
		"  status                              programs, interfaces, modes, generation,\n"
		"                                      kernel features in use\n"
		"  stats [--watch [--count N]] [--all] counters by reason and service\n"
		"  filter list\n"
		"  filter deny add|del CIDR [--ttl DURATION]\n"
		"  filter allow add|del CIDR\n"
		"  ratelimit show\n"
		"  ratelimit set packets|syn --rate R[/s|/m|/h] [--burst B]\n"
		"  service list\n"
		"  backend add|del|drain SERVICE ADDR:PORT [--weight W]\n"
		"  upstream list | upstream server add|del|drain UPSTREAM ADDR:PORT\n"
		"  conntrack list [--service NAME] [--limit N]\n"
		"  route list\n"
		"  reload\n"
		"  check FILE                          validate FILE like gwd --check\n"
		"options: -s, --socket PATH (default $GW_SOCKET or " GW_ADMIN_SOCKET_DEFAULT ")\n"
		"         --pin-root DIR (default " GW_PIN_ROOT_DEFAULT "), used when no gwd\n"
		"                    answers\n"
		"Live changes are immediate and ephemeral: the file replaces them on the\n"
		"next reload.\n");
}

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage problem; returns EXIT_USAGE. */
static int usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gwctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see gwctl --help)\n");
	return EXIT_USAGE;
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
			if (gw_dp_maps_open(cli.pin_root, &pins)) {
				fprintf(stderr, "gwctl: gwd is not running (%s: %s) and no "
					"datapath is pinned under %s\n", cli.socket,
					strerror(-err), cli.pin_root);
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
	printf("\n\n%-16s %-8s %-12s %-10s %-16s %s\n", "INTERFACE", "IFINDEX", "HOOK", "LIBXDP",
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
			printf("  backend %-30s weight %-5lld %-6s %-9s %14lld %16lld", S(b, "address"),
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
	printf("%-44s %-6s %-5s %-9s %s\n", "PREFIX", "ACTION", "KIND", "ORIGIN", "EXPIRES");
	json_array_foreach(json_object_get(d, "entries"), i, e) {
		char left[32] = "-";

		if (json_is_integer(json_object_get(e, "expires_in_s")))
			snprintf(left, sizeof(left), "%llds", I(e, "expires_in_s"));
		printf("%-44s %-6s %-5s %-9s %s\n", S(e, "prefix"), S(e, "action"), S(e, "kind"),
		       S(e, "origin"), left);
	}
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

static void print_server_change(json_t *d)
{
	printf("%s %s %s\n", S(d, "server"), S(d, "change"), S(d, "upstream"));
}

/* Says how long a live change lasts. */
static void note_ephemeral(void)
{
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

/* Fails with a usage error when an option outside `allowed` (space-separated
 * long names) was given. */
static int only(const char *allowed)
{
	static const struct { const char *name; size_t off; } opt[] = {
		{ "ttl", offsetof(struct opts, ttl) },
		{ "weight", offsetof(struct opts, weight) },
		{ "rate", offsetof(struct opts, rate) },
		{ "burst", offsetof(struct opts, burst) },
		{ "service", offsetof(struct opts, service) },
		{ "limit", offsetof(struct opts, limit) },
		{ "count", offsetof(struct opts, count) },
	};
	size_t i;

	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		const char *v = *(const char **)((char *)&cli + opt[i].off);

		if (v && !strstr(allowed, opt[i].name))
			return usage_err("--%s does not apply here", opt[i].name);
	}
	if (cli.watch && !strstr(allowed, "watch"))
		return usage_err("--watch applies to stats only");
	if (cli.all && !strstr(allowed, "all"))
		return usage_err("--all applies to stats only");
	return 0;
}

#define ONLY(s) do { int _r = only(s); if (_r) return _r; } while (0)
#define NARGS(n, u) do { if (argc != (n)) return usage_err("usage: gwctl %s", u); } while (0)

static json_t *cidr_args(const char *cidr)
{
	json_t *a = json_pack("{s:s}", "cidr", cidr);

	if (cli.ttl)
		json_object_set_new(a, "ttl", json_string(cli.ttl));
	return a;
}

static int dispatch(int argc, char **argv)
{
	const char *c = argv[0];
	char cmd[64];
	json_t *a;

	if (!strcmp(c, "status")) {
		ONLY("");
		NARGS(1, "status");
		return run("status", NULL, print_status, 0);
	}
	if (!strcmp(c, "stats")) {
		ONLY("watch count all");
		NARGS(1, "stats [--watch [--count N]] [--all]");
		if (cli.count && !cli.watch)
			return usage_err("--count goes with --watch");
		return cli.watch ? stats_watch() : run("stats", NULL, print_stats, 0);
	}
	if (!strcmp(c, "filter")) {
		if (argc == 2 && !strcmp(argv[1], "list")) {
			ONLY("");
			return run("filter.list", NULL, print_filter, 0);
		}
		if (argc != 4 || (strcmp(argv[1], "deny") && strcmp(argv[1], "allow")) ||
		    (strcmp(argv[2], "add") && strcmp(argv[2], "del")))
			return usage_err("usage: gwctl filter list | filter deny add|del CIDR "
					 "[--ttl DURATION] | filter allow add|del CIDR");
		ONLY(!strcmp(argv[1], "deny") && !strcmp(argv[2], "add") ? "ttl" : "");
		snprintf(cmd, sizeof(cmd), "filter.%s.%s", argv[1], argv[2]);
		return run(cmd, cidr_args(argv[3]), NULL, 1);
	}
	if (!strcmp(c, "ratelimit")) {
		if (argc == 2 && !strcmp(argv[1], "show")) {
			ONLY("");
			return run("ratelimit.show", NULL, print_rl, 0);
		}
		if (argc != 3 || strcmp(argv[1], "set") ||
		    (strcmp(argv[2], "packets") && strcmp(argv[2], "syn")) || !cli.rate)
			return usage_err("usage: gwctl ratelimit show | ratelimit set packets|syn "
					 "--rate R [--burst B]");
		ONLY("rate burst");
		a = json_pack("{s:s, s:s}", "limit", argv[2], "rate", cli.rate);
		if (cli.burst)
			json_object_set_new(a, "burst", json_string(cli.burst));
		return run("ratelimit.set", a, print_rl_set, 1);
	}
	if (!strcmp(c, "service")) {
		ONLY("");
		NARGS(2, "service list");
		if (strcmp(argv[1], "list"))
			return usage_err("usage: gwctl service list");
		return run("service.list", NULL, print_service_list, 0);
	}
	if (!strcmp(c, "backend")) {
		if (argc != 4 || (strcmp(argv[1], "add") && strcmp(argv[1], "del") &&
				  strcmp(argv[1], "drain")))
			return usage_err("usage: gwctl backend add|del|drain SERVICE ADDR:PORT "
					 "[--weight W]");
		ONLY(strcmp(argv[1], "del") ? "weight" : "");
		a = json_pack("{s:s, s:s}", "service", argv[2], "backend", argv[3]);
		if (cli.weight)
			json_object_set_new(a, "weight", json_string(cli.weight));
		snprintf(cmd, sizeof(cmd), "backend.%s", argv[1]);
		return run(cmd, a, NULL, 1);
	}
	if (!strcmp(c, "conntrack")) {
		ONLY("service limit");
		NARGS(2, "conntrack list [--service NAME] [--limit N]");
		if (strcmp(argv[1], "list"))
			return usage_err("usage: gwctl conntrack list [--service NAME] "
					 "[--limit N]");
		a = json_object();
		if (cli.service)
			json_object_set_new(a, "service", json_string(cli.service));
		if (cli.limit)
			json_object_set_new(a, "limit", json_string(cli.limit));
		return run("conntrack.list", a, print_ct, 0);
	}
	if (!strcmp(c, "upstream")) {
		if (argc == 2 && !strcmp(argv[1], "list")) {
			ONLY("");
			return run("upstream.list", NULL, print_upstreams, 0);
		}
		if (argc != 5 || strcmp(argv[1], "server") || (strcmp(argv[2], "add") &&
		    strcmp(argv[2], "del") && strcmp(argv[2], "drain")))
			return usage_err("usage: gwctl upstream list | upstream server "
					 "add|del|drain UPSTREAM ADDR:PORT [--weight W]");
		ONLY(strcmp(argv[2], "add") ? "" : "weight");
		a = json_pack("{s:s, s:s}", "upstream", argv[3], "server", argv[4]);
		if (cli.weight)
			json_object_set_new(a, "weight", json_string(cli.weight));
		snprintf(cmd, sizeof(cmd), "upstream.server.%s", argv[2]);
		return run(cmd, a, print_server_change, 1);
	}
	if (!strcmp(c, "route")) {
		ONLY("");
		NARGS(2, "route list");
		if (strcmp(argv[1], "list"))
			return usage_err("usage: gwctl route list");
		return run("route.list", NULL, print_routes, 0);
	}
	if (!strcmp(c, "reload")) {
		ONLY("");
		NARGS(1, "reload");
		return run("reload", NULL, print_reload, 0);
	}
	if (!strcmp(c, "check")) {
		ONLY("");
		NARGS(2, "check FILE");
		return cmd_check(argv[1]);
	}
	return usage_err("unknown command '%s'", c);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "pin-root", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
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
	while ((c = getopt_long(argc, argv, "s:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': cli.socket = optarg; break;
		case 'P': cli.pin_root = optarg; break;
		case 'j': cli.json = 1; break;
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
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	gw_log_set_level(GW_LOG_WARN);
	rc = dispatch(argc - optind, argv + optind);
	if (agent_fd >= 0)
		close(agent_fd);
	if (offline)
		gw_dp_maps_close(&pins);
	return rc;
}
