// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The status page (status_page.h): the ring of samples and the HTML.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "gw/names.h"
#include "gw/version.h"
#include "core/addr.h"
#include "core/loop.h"
#include "daemon/metrics.h"
#include "daemon/status_page.h"
#include "runtime/l7.h"

/* ---- the ring of samples ------------------------------------------------------ */

/* A route's counters at a sample. */
struct route_sample {
	char *label;
	__u64 requests, errors, limited;
	__u64 *hist;			/* the page's own sample only; else NULL */
};

struct sample {
	__u64 t_ns;			/* 0: slot unused */
	__u64 reasons[GW_R_MAX];	/* packets */
	struct route_sample *r;		/* sorted by label */
	size_t n_r, cap_r;
	int with_hist;			/* keep the histograms too */
};

struct gw_status {
	struct sample s[GW_STATUS_SLOTS];
	unsigned int next;		/* the slot the next sample goes to */
	__u64 last_ns;
};

int gw_status_new(struct gw_status **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

/* Empties sample s. */
static void sample_clear(struct sample *s)
{
	size_t i;

	for (i = 0; i < s->n_r; i++) {
		free(s->r[i].label);
		free(s->r[i].hist);
	}
	free(s->r);
	memset(s, 0, sizeof(*s));
}

void gw_status_free(struct gw_status *st)
{
	unsigned int i;

	if (!st)
		return;
	for (i = 0; i < GW_STATUS_SLOTS; i++)
		sample_clear(&st->s[i]);
	free(st);
}

static int route_sample_cmp(const void *a, const void *b)
{
	return strcmp(((const struct route_sample *)a)->label,
		      ((const struct route_sample *)b)->label);
}

/* gw_l7_route_counts' callback: keeps c in the sample arg. Returns 0 or
 * -ENOMEM. */
static int sample_route(const struct gw_l7_route_count *c, void *arg)
{
	struct sample *s = arg;
	struct route_sample *r;

	if (s->n_r == s->cap_r) {
		size_t cap = s->cap_r ? s->cap_r * 2 : 16;

		r = realloc(s->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->r = r;
		s->cap_r = cap;
	}
	r = &s->r[s->n_r];
	memset(r, 0, sizeof(*r));
	r->label = strdup(c->label);
	if (r->label && s->with_hist)
		r->hist = malloc(sizeof(c->hist));
	if (!r->label || (s->with_hist && !r->hist)) {
		free(r->label);
		return -ENOMEM;
	}
	if (r->hist)
		memcpy(r->hist, c->hist, sizeof(c->hist));
	r->requests = c->requests;
	r->errors = c->errors;
	r->limited = c->limited;
	s->n_r++;
	return 0;
}

int gw_status_sample(struct gw_status *st, const struct gw_dp_maps *m, struct gw_l7 *l7)
{
	__u64 now = gw_now_ns();
	struct sample *s;
	__u32 r;
	int err = 0;

	if (st->last_ns && now - st->last_ns < GW_STATUS_SAMPLE_NS)
		return 0;
	st->last_ns = now;
	s = &st->s[st->next];
	st->next = (st->next + 1) % GW_STATUS_SLOTS;
	sample_clear(s);
	for (r = 0; r < GW_R_MAX; r++) {
		struct gw_counter c = { 0 };

		gw_dp_counter_sum(m->stats, r, &c);
		s->reasons[r] = c.packets;
	}
	if (l7)
		err = gw_l7_route_counts(l7, sample_route, s);
	if (err) {
		sample_clear(s);
		return err;
	}
	if (s->n_r)
		qsort(s->r, s->n_r, sizeof(*s->r), route_sample_cmp);
	s->t_ns = now;
	return 0;
}

/* The oldest sample of the ring (about a minute old), or NULL. */
static const struct sample *oldest(const struct gw_status *st)
{
	const struct sample *best = NULL;
	unsigned int i;

	for (i = 0; st && i < GW_STATUS_SLOTS; i++)
		if (st->s[i].t_ns && (!best || st->s[i].t_ns < best->t_ns))
			best = &st->s[i];
	return best;
}

/* The counters of route label at sample s, or NULL (not counted then). */
static const struct route_sample *sample_find(const struct sample *s, const char *label)
{
	struct route_sample key = { .label = (char *)label };

	if (!s || !s->n_r)
		return NULL;
	return bsearch(&key, s->r, s->n_r, sizeof(*s->r), route_sample_cmp);
}

/* ---- HTML pieces --------------------------------------------------------------- */

void gw_html_esc(FILE *f, const char *s)
{
	static const char *const refs[256] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
		['\''] = "&#39;",
	};

	for (; s && *s; s++) {
		if (refs[(unsigned char)*s])
			fputs(refs[(unsigned char)*s], f);
		else
			fputc(*s, f);
	}
}

/* The string o[key], or "-". */
static const char *S(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

/* The integer o[key], or 0. */
static long long I(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A text cell. */
static void td(FILE *f, const char *s)
{
	fputs("<td>", f);
	gw_html_esc(f, s);
	fputs("</td>", f);
}

/* A number cell named key (data-k, what tests read). */
static void td_num(FILE *f, const char *key, long long v)
{
	fprintf(f, "<td class=\"n\" data-k=\"%s\">%lld</td>", key, v);
}

/* A rate cell: per second with one decimal, "-" without a window. */
static void td_rate(FILE *f, const char *key, double v, int have)
{
	if (have)
		fprintf(f, "<td class=\"n\" data-k=\"%s\">%.1f</td>", key, v);
	else
		fprintf(f, "<td class=\"n\" data-k=\"%s\">-</td>", key);
}

/* <tr data-NAME="value">: a row tests find by what it is about. */
static void tr_open(FILE *f, const char *name, const char *value)
{
	fprintf(f, "<tr data-%s=\"", name);
	gw_html_esc(f, value);
	fputs("\">", f);
}

/* A section's heading and its table's head row (cols: |-separated). */
static void table_open(FILE *f, const char *id, const char *title, const char *cols)
{
	const char *c, *e;

	fprintf(f, "<section id=\"%s\"><h2>%s</h2>\n<table>\n<thead><tr>", id, title);
	for (c = cols; *c; c = *e ? e + 1 : e) {
		e = strchrnul(c, '|');
		fprintf(f, "<th scope=\"col\">%.*s</th>", (int)(e - c), c);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
}

static void table_close(FILE *f)
{
	fputs("</tbody>\n</table></section>\n", f);
}

/* A row of one cell across ncols saying why there is nothing. */
static void row_note(FILE *f, int ncols, const char *msg)
{
	fprintf(f, "<tr><td colspan=\"%d\" class=\"note\">", ncols);
	gw_html_esc(f, msg);
	fputs("</td></tr>\n", f);
}

/* The number of columns of cols (|-separated). */
static int ncols_of(const char *cols)
{
	int n = 1;

	for (; *cols; cols++)
		n += *cols == '|';
	return n;
}

/* Opens a section's table (table_open) over rows, a JSON array, or NULL
 * when its verb failed with err; an empty one gets a row saying none. */
static void table_of(FILE *f, const char *id, const char *title, const char *cols,
		     json_t *rows, const char *err, const char *none)
{
	table_open(f, id, title, cols);
	if (!rows)
		row_note(f, ncols_of(cols), err);
	else if (!json_array_size(rows))
		row_note(f, ncols_of(cols), none);
}

/* Runs verb cmd. Returns its data (a new reference), or NULL with the
 * error in err. */
static json_t *verb(const struct gw_status_src *src, const char *cmd, char *err, size_t len)
{
	json_t *resp = gw_cmd_exec(src->t, src->n_t, cmd, NULL), *d = NULL;

	if (resp && json_is_true(json_object_get(resp, "ok"))) {
		d = json_object_get(resp, "data");
		json_incref(d);
	} else {
		snprintf(err, len, "not available: %s",
			 resp ? S(resp, "error") : "out of memory");
	}
	json_decref(resp);
	return d;
}

/* ---- sections ------------------------------------------------------------------ */

static void render_head(FILE *f)
{
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"refresh\" content=\"%d\">\n"
		"<meta name=\"viewport\" content=\"width=device-width\">\n"
		"<title>gw status</title>\n<style>\n"
		"body{font-family:sans-serif;margin:1em;color:#222;background:#fff}\n"
		"table{border-collapse:collapse;margin-bottom:1em}\n"
		"th,td{border:1px solid #bbb;padding:2px 6px;text-align:left}\n"
		"thead th{background:#eee}\n"
		"td.n{text-align:right;font-family:monospace}\n"
		".down{color:#a00;font-weight:bold}\n.note{color:#555;font-style:italic}\n"
		"h2{font-size:1.1em;margin:1em 0 .3em}\n"
		"</style>\n</head>\n<body>\n", GW_STATUS_REFRESH_S);
}

static void render_config(FILE *f, const struct gw_status_src *src, json_t *status)
{
	const struct gw_reload_result *r = src->reload;
	char when[64] = "";
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs("<header><h1>gw status</h1>\n<p>gwd " GW_VERSION ", page made ", f);
	gw_html_esc(f, when);
	fprintf(f, "; it refreshes every %d s.</p></header>\n<main>\n", GW_STATUS_REFRESH_S);
	fputs("<section id=\"config\"><h2>Configuration</h2>\n<table>\n<tbody>\n", f);
	fprintf(f, "<tr><th scope=\"row\">generation</th><td class=\"n\" data-k=\"generation\">"
		"%lld</td></tr>\n", I(status, "generation"));
	fputs("<tr><th scope=\"row\">config file</th>", f);
	td(f, S(status, "config_file"));
	fprintf(f, "</tr>\n<tr><th scope=\"row\">reloads</th><td data-k=\"reloads\">"
		"%llu applied, %llu failed</td></tr>\n", src->agent->reloads_ok,
		src->agent->reloads_failed);
	fputs("<tr><th scope=\"row\">last reload</th><td data-k=\"last_reload\">", f);
	if (r && r->at) {
		gmtime_r(&r->at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(f, "%s at %s: generation %u runs", r->err ? "failed" : "applied", when,
			r->generation);
		if (r->msg[0]) {
			fputs(" (", f);
			gw_html_esc(f, r->msg);
			fputc(')', f);
		}
	} else {
		fputs("none since gwd started", f);
	}
	fputs("</td></tr>\n<tr><th scope=\"row\">filter default</th>", f);
	td(f, S(status, "filter_default"));
	fputs("</tr>\n</tbody>\n</table></section>\n", f);
}

static void render_interfaces(FILE *f, json_t *status, const char *err)
{
	json_t *i;
	size_t k;

	table_of(f, "interfaces", "Interfaces", "interface|hook|libxdp dispatcher|IPv4|IPv6",
		 status ? json_object_get(status, "interfaces") : NULL, err,
		 "no interface attached");
	json_array_foreach(json_object_get(status, "interfaces"), k, i) {
		json_t *d = json_object_get(i, "xdp_dispatcher");

		tr_open(f, "iface", S(i, "name"));
		td(f, S(i, "name"));
		td(f, S(i, "hook"));
		td(f, json_is_boolean(d) ? (json_is_true(d) ? "yes" : "no") : "-");
		td(f, S(i, "ipv4"));
		td(f, S(i, "ipv6"));
		fputs("</tr>\n", f);
	}
	table_close(f);
}

/* The window of the rates: the oldest sample and its age in s (0: none). */
static double window_of(const struct gw_status_src *src, const struct sample **base)
{
	__u64 now = gw_now_ns();

	*base = oldest(src->ring);
	if (!*base || now <= (*base)->t_ns)
		return 0;
	return (double)(now - (*base)->t_ns) / 1e9;
}

/* The per-second rate of a counter from then to now over win s. */
static double rate(unsigned long long now, unsigned long long then, double win)
{
	return now > then && win > 0 ? (double)(now - then) / win : 0.0;
}

static void render_reasons(FILE *f, const struct gw_status_src *src, json_t *stats,
			   const char *err)
{
	const struct sample *base;
	double win = window_of(src, &base);
	json_t *r, *t = json_object_get(stats, "totals");
	char title[128];
	size_t k;

	snprintf(title, sizeof(title), "Datapath verdicts (rates over the last %.1f s)", win);
	table_open(f, "datapath", win > 0 ? title : "Datapath verdicts",
		   "reason|action|packets|bytes|packets/s");
	if (!stats)
		row_note(f, 5, err);
	json_array_foreach(json_object_get(stats, "reasons"), k, r) {
		unsigned long long p = (unsigned long long)I(r, "packets");
		unsigned long long then = base && k < GW_R_MAX ? base->reasons[k] : 0;

		if (!p)
			continue;
		tr_open(f, "reason", S(r, "reason"));
		td(f, S(r, "reason"));
		td(f, S(r, "action"));
		td_num(f, "packets", (long long)p);
		td_num(f, "bytes", I(r, "bytes"));
		td_rate(f, "rate", rate(p, then, win), win > 0);
		fputs("</tr>\n", f);
	}
	if (stats) {
		fprintf(f, "<tr data-totals=\"\"><td colspan=\"5\">totals: "
			"pass <span data-k=\"pass\">%lld</span>, "
			"forward <span data-k=\"forward\">%lld</span>, "
			"drop <span data-k=\"drop\">%lld</span> "
			"(reasons without packets not shown)</td></tr>\n",
			I(t, "pass"), I(t, "forward"), I(t, "drop"));
	}
	table_close(f);
}

static void render_services(FILE *f, json_t *svcs, const char *err)
{
	json_t *s, *b;
	size_t i, j;

	table_of(f, "services", "L4 services and backends",
		 "service|VIP|backend|weight|state|health|packets|bytes", svcs, err,
		 "no L4 service");
	json_array_foreach(svcs, i, s) {
		tr_open(f, "service", S(s, "name"));
		td(f, S(s, "name"));
		fputs("<td>", f);
		gw_html_esc(f, S(s, "vip"));
		fputc(' ', f);
		gw_html_esc(f, S(s, "protocol"));
		fputs("</td>", f);
		td(f, json_is_true(json_object_get(s, "fail_open")) ?
		      "every backend down: fail open" : "");
		fputs("<td></td><td></td><td></td>", f);
		td_num(f, "packets", I(s, "packets"));
		td_num(f, "bytes", I(s, "bytes"));
		fputs("</tr>\n", f);
		json_array_foreach(json_object_get(s, "backends"), j, b) {
			int down = !strcmp(S(b, "health"), "down");

			tr_open(f, "backend", S(b, "address"));
			fputs("<td></td><td></td>", f);
			td(f, S(b, "address"));
			td_num(f, "weight", I(b, "weight"));
			td(f, S(b, "state"));
			fprintf(f, "<td%s>", down ? " class=\"down\"" : "");
			gw_html_esc(f, S(b, "health"));
			if (json_is_string(json_object_get(b, "health_reason"))) {
				fputs(" (", f);
				gw_html_esc(f, S(b, "health_reason"));
				fputc(')', f);
			}
			fputs("</td>", f);
			td_num(f, "packets", I(b, "packets"));
			td_num(f, "bytes", I(b, "bytes"));
			fputs("</tr>\n", f);
		}
	}
	table_close(f);
}

static void render_listeners(FILE *f, const struct gw_cfg *cfg)
{
	char addr[GW_ADDR_STRLEN];
	size_t i;

	table_open(f, "listeners", "L7 listeners", "listener|address|TLS");
	if (!cfg->n_listeners)
		row_note(f, 3, "no L7 listener");
	for (i = 0; i < cfg->n_listeners; i++) {
		const struct gw_cfg_listener *l = &cfg->listeners[i];

		gw_endpoint_str(&l->address, addr, sizeof(addr));
		tr_open(f, "listener", l->name);
		td(f, l->name);
		td(f, addr);
		td(f, l->tls ? "yes" : "no");
		fputs("</tr>\n", f);
	}
	table_close(f);
}

/* The routes' counters now with their histograms, sorted by label (a
 * sample's layout). */
static int counts_now(struct gw_l7 *l7, struct sample *now)
{
	int err;

	memset(now, 0, sizeof(*now));
	now->with_hist = 1;
	if (!l7)
		return 0;
	err = gw_l7_route_counts(l7, sample_route, now);
	if (!err && now->n_r)
		qsort(now->r, now->n_r, sizeof(*now->r), route_sample_cmp);
	return err;
}

/* Writes quantile q of histogram h (per bucket) as a cell: milliseconds
 * interpolated in its bucket, as Prometheus' histogram_quantile does. */
static void td_quantile(FILE *f, const char *key, const __u64 *h, double q)
{
	__u64 total = 0, cum = 0;
	double rank, lo = 0, hi;
	unsigned int k;

	for (k = 0; k < GW_L7_HIST_BUCKETS; k++)
		total += h[k];
	if (!total) {
		fprintf(f, "<td class=\"n\" data-k=\"%s\">-</td>", key);
		return;
	}
	rank = q * (double)total;
	for (k = 0; k < GW_L7_HIST_BUCKETS - 1; k++) {
		hi = (double)gw_l7_hist_bounds_us[k];
		if ((double)(cum + h[k]) >= rank) {
			double in = h[k] ? (rank - (double)cum) / (double)h[k] : 1.0;

			fprintf(f, "<td class=\"n\" data-k=\"%s\">%.3g</td>", key,
				(lo + (hi - lo) * in) / 1000.0);
			return;
		}
		cum += h[k];
		lo = hi;
	}
	fprintf(f, "<td class=\"n\" data-k=\"%s\">&gt; %.3g</td>", key, lo / 1000.0);
}

/* One row of the routes' table: label's counters and rates. */
static void route_row(FILE *f, const char *label,
		      const char *to, const struct sample *now, const struct sample *base,
		      double win)
{
	const struct route_sample *c = sample_find(now, label), *b = sample_find(base, label);
	static const __u64 none[GW_L7_HIST_BUCKETS];
	struct route_sample zero = { 0 };

	if (!c)
		c = &zero;
	if (!b)
		b = &zero;
	tr_open(f, "route", label);
	td(f, label);
	td(f, to);
	td_num(f, "requests", (long long)c->requests);
	td_num(f, "errors", (long long)c->errors);
	td_num(f, "limited", (long long)c->limited);
	td_rate(f, "rps", rate(c->requests, b->requests, win), win > 0);
	td_rate(f, "eps", rate(c->errors, b->errors, win), win > 0);
	td_rate(f, "lps", rate(c->limited, b->limited, win), win > 0);
	td_quantile(f, "p50", c->hist ? c->hist : none, 0.5);
	td_quantile(f, "p99", c->hist ? c->hist : none, 0.99);
	fputs("</tr>\n", f);
}

static void render_routes(FILE *f, const struct gw_status_src *src, json_t *routes,
			  const char *err)
{
	const struct sample *base;
	double win = window_of(src, &base);
	struct sample now;
	char title[160], to[160];
	json_t *r;
	size_t i;

	snprintf(title, sizeof(title), "L7 routes (rates over the last %.1f s; latency in ms "
		 "since gwd started)", win);
	table_open(f, "routes", win > 0 ? title : "L7 routes (latency in ms since gwd started)",
		   "route|to|requests|5xx|429|req/s|5xx/s|429/s|p50 ms|p99 ms");
	if (!routes || counts_now(src->l7, &now)) {
		row_note(f, 10, routes ? "out of memory" : err);
		if (routes)
			sample_clear(&now);
		table_close(f);
		return;
	}
	if (!json_array_size(routes))
		row_note(f, 10, "no route");
	json_array_foreach(routes, i, r) {
		if (json_is_string(json_object_get(r, "upstream")))
			snprintf(to, sizeof(to), "upstream %s", S(r, "upstream"));
		else
			snprintf(to, sizeof(to), "respond %lld", I(r, "respond"));
		route_row(f, S(r, "route"), to, &now, base, win);
	}
	if (sample_find(&now, "none") && sample_find(&now, "none")->requests)
		route_row(f, "none", "no route matched", &now, base, win);
	sample_clear(&now);
	table_close(f);
}

static void render_upstreams(FILE *f, json_t *ups, const char *err)
{
	json_t *u, *s;
	size_t i, j;

	table_of(f, "upstreams", "Upstream servers",
		 "upstream|server|weight|state|health|active|requests|failures", ups, err,
		 "no upstream");
	json_array_foreach(ups, i, u) {
		json_array_foreach(json_object_get(u, "servers"), j, s) {
			int draining = json_is_true(json_object_get(s, "draining"));
			int up = json_is_true(json_object_get(s, "up"));
			char key[512];

			snprintf(key, sizeof(key), "%s/%s", S(u, "name"), S(s, "address"));
			tr_open(f, "server", key);
			td(f, S(u, "name"));
			td(f, S(s, "address"));
			td_num(f, "weight", I(s, "weight"));
			fprintf(f, "<td data-k=\"state\"%s>%s</td>", !up && !draining ?
				" class=\"down\"" : "", draining ? "draining" : up ? "up" : "down");
			td(f, S(s, "health"));
			td_num(f, "active", I(s, "active"));
			td_num(f, "requests", I(s, "requests"));
			td_num(f, "failures", I(s, "failures"));
			fputs("</tr>\n", f);
		}
		if (json_is_true(json_object_get(u, "panic"))) {
			tr_open(f, "panic", S(u, "name"));
			fputs("<td colspan=\"8\" class=\"down\">", f);
			gw_html_esc(f, S(u, "name"));
			fputs(": every server down, all take requests (panic)</td></tr>\n", f);
		}
	}
	table_close(f);
}

#define BANS_SHOWN 100

static void render_bans(FILE *f, json_t *filter, const char *err)
{
	unsigned long long n = 0;
	json_t *e, *x;
	size_t i;

	table_open(f, "bans", "Active bans", "prefix|origin|expires in");
	if (!filter)
		row_note(f, 3, err);
	json_array_foreach(json_object_get(filter, "entries"), i, e) {
		x = json_object_get(e, "expires_in_s");
		if (strcmp(S(e, "kind"), "ban") || (json_is_integer(x) && !I(e, "expires_in_s")))
			continue;
		if (n++ >= BANS_SHOWN)
			continue;
		tr_open(f, "ban", S(e, "prefix"));
		td(f, S(e, "prefix"));
		td(f, S(e, "origin"));
		if (json_is_integer(x))
			fprintf(f, "<td class=\"n\">%lld s</td>", I(e, "expires_in_s"));
		else
			td(f, "never");
		fputs("</tr>\n", f);
	}
	if (filter && !n)
		row_note(f, 3, "no ban");
	fprintf(f, "<tr data-bans=\"\"><td colspan=\"3\"><span data-k=\"bans\">%llu</span> "
		"active%s</td></tr>\n", n, n > BANS_SHOWN ? " (the first 100 shown)" : "");
	table_close(f);
}

#define SPLICES_SHOWN 100

/* The connections the kernel moves (splice.list): client, listener,
 * upstream and the bytes each way; the first SPLICES_SHOWN. */
static void render_spliced(FILE *f, json_t *sp, const char *err)
{
	json_t *list = json_object_get(sp, "splices"), *e;
	size_t i, n = json_array_size(list);

	table_open(f, "spliced", "Spliced connections",
		   "client|listener|upstream|bytes up|bytes down");
	if (!sp) {
		row_note(f, 5, err);
		table_close(f);
		return;
	}
	json_array_foreach(list, i, e) {
		if (i >= SPLICES_SHOWN)
			break;
		fputs("<tr>", f);
		td(f, S(e, "client"));
		td(f, S(e, "listener"));
		td(f, S(e, "upstream"));
		fprintf(f, "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n",
			I(e, "bytes_up"), I(e, "bytes_down"));
	}
	if (!n) {
		char note[200];

		snprintf(note, sizeof(note), "none (sockmap splice: %s)", S(sp, "status"));
		row_note(f, 5, note);
	}
	fprintf(f, "<tr data-spliced=\"\"><td colspan=\"5\"><span data-k=\"spliced\">%lld</span> "
		"live%s</td></tr>\n", I(sp, "live"),
		n > SPLICES_SHOWN ? " (the first 100 shown)" : "");
	table_close(f);
}

static void render_foot(FILE *f)
{
	fputs("</main>\n<footer><p>Also on this listener: <a href=\"/metrics\">/metrics</a> "
	      "(Prometheus text), <a href=\"/ready\">/ready</a> (200 while gwd runs with its "
	      "config applied), <a href=\"/config\">/config</a> (the running gateway.yaml, "
	      "secrets redacted).</p></footer>\n</body>\n</html>\n", f);
}

int gw_status_render(FILE *f, const struct gw_status_src *src)
{
	char e_status[600], e_stats[600], e_svc[600], e_filter[600], e_routes[600], e_ups[600];
	json_t *status = verb(src, "status", e_status, sizeof(e_status));
	json_t *stats = verb(src, "stats", e_stats, sizeof(e_stats));
	json_t *svcs = verb(src, "service.list", e_svc, sizeof(e_svc));
	json_t *filter = verb(src, "filter.list", e_filter, sizeof(e_filter));
	json_t *routes = verb(src, "route.list", e_routes, sizeof(e_routes));
	json_t *ups = verb(src, "upstream.list", e_ups, sizeof(e_ups));
	char e_sp[600];
	json_t *sp = verb(src, "splice.list", e_sp, sizeof(e_sp));

	render_head(f);
	render_config(f, src, status);
	render_interfaces(f, status, e_status);
	render_reasons(f, src, stats, e_stats);
	render_services(f, svcs, e_svc);
	render_listeners(f, src->cfg);
	render_routes(f, src, routes, e_routes);
	render_upstreams(f, ups, e_ups);
	render_bans(f, filter, e_filter);
	render_spliced(f, sp, e_sp);
	render_foot(f);
	json_decref(status);
	json_decref(stats);
	json_decref(svcs);
	json_decref(filter);
	json_decref(routes);
	json_decref(ups);
	json_decref(sp);
	return ferror(f) ? -EIO : 0;
}
