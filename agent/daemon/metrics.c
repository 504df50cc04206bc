// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <dirent.h>
#include <sys/resource.h>

#include "gw/names.h"
#include "gw/version.h"
#include "dp/filter.h"
#include "core/log.h"
#include "core/prom.h"
#include "daemon/metrics.h"
#include "daemon/status_page.h"
#include "daemon/cluster_link.h"
#include "runtime/l7.h"
#include "dp/show.h"

/* ------------------------------------------------------------------ */
/* Exposition                                                           */

/* A label value with \, " and newline escaped as the format wants. */
static void render_reasons(FILE *f, const struct gw_dp_maps *m, struct gw_l7 *l7)
{
	struct gw_counter sum[GW_R_MAX];
	__u32 r;

	memset(sum, 0, sizeof(sum));
	for (r = 1; r < GW_R_MAX; r++)
		gw_dp_counter_sum(m->stats, r, &sum[r]);

	gw_prom_header(f, "gw_xdp_packets_total", "counter",
	       "Packets by the L3/L4 datapath's action and reason (XDP and TC).");
	for (r = 1; r < GW_R_MAX; r++)
		fprintf(f, "gw_xdp_packets_total{action=\"%s\",reason=\"%s\"} %llu\n",
			gw_action_labels[gw_reason_actions[r]], gw_reason_labels[r],
			(unsigned long long)sum[r].packets);
	gw_prom_header(f, "gw_xdp_bytes_total", "counter", "Bytes by action and reason.");
	for (r = 1; r < GW_R_MAX; r++)
		fprintf(f, "gw_xdp_bytes_total{action=\"%s\",reason=\"%s\"} %llu\n",
			gw_action_labels[gw_reason_actions[r]], gw_reason_labels[r],
			(unsigned long long)sum[r].bytes);
	/* requests only: the packets XDP's limiter drops are
	 * gw_xdp_packets_total{reason="ratelimit"|"syn_ratelimit"} */
	gw_prom_header(f, "gw_ratelimited_total", "counter",
		       "HTTP requests refused by a route's rate limit (429).");
	fprintf(f, "gw_ratelimited_total{layer=\"l7\"} %llu\n",
		(unsigned long long)(l7 ? gw_l7_ratelimited(l7) : 0));
}

/* gw_build_info and the process_* series Prometheus clients export. */
static void render_process(FILE *f)
{
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, btime = 0;
	long long rss = 0;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char line[1024], *p;
	struct rlimit rl;
	unsigned long fds = 0;
	FILE *st;
	DIR *d;

	gw_prom_header(f, "gw_build_info", "gauge", "1, labelled with gw's version.");
	fprintf(f, "gw_build_info{version=\"%s\"} 1\n", GW_VERSION);
	st = fopen("/proc/self/stat", "re");
	if (st && fgets(line, sizeof(line), st) && (p = strrchr(line, ')')))
		/* after "pid (comm)": fields 3.. ; utime 14, stime 15,
		 * starttime 22, vsize 23, rss 24 */
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
		       "%*d %*d %*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss);
	if (st)
		fclose(st);
	st = fopen("/proc/stat", "re");
	while (st && fgets(line, sizeof(line), st))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	if (st)
		fclose(st);
	d = opendir("/proc/self/fd");
	while (d && readdir(d))
		fds++;
	if (d)
		closedir(d);
	fds = fds > 3 ? fds - 3 : 0;	/* ".", ".." and the directory's own */
	gw_prom_header(f, "process_cpu_seconds_total", "counter", "User and system CPU time.");
	fprintf(f, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)tck);
	gw_prom_header(f, "process_resident_memory_bytes", "gauge", "Resident memory.");
	fprintf(f, "process_resident_memory_bytes %lld\n", rss * page);
	gw_prom_header(f, "process_virtual_memory_bytes", "gauge", "Virtual memory.");
	fprintf(f, "process_virtual_memory_bytes %llu\n", vsize);
	gw_prom_header(f, "process_open_fds", "gauge", "Open file descriptors.");
	fprintf(f, "process_open_fds %lu\n", fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		gw_prom_header(f, "process_max_fds", "gauge", "The open file descriptor limit.");
		fprintf(f, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
	gw_prom_header(f, "process_start_time_seconds", "gauge",
		       "Start time since the epoch, in seconds.");
	fprintf(f, "process_start_time_seconds %.2f\n",
		(double)btime + (double)start / (double)tck);
}

enum backend_col {
	COL_PACKETS,
	COL_BYTES,
	COL_UP,
};

struct backend_rows {
	FILE *f;
	const struct gw_dp_maps *m;
	const char *service;
	enum backend_col col;
};

static int backend_row(__u32 id, const struct gw_backend *b, void *arg)
{
	static const char *const names[] = { "gw_backend_packets_total", "gw_backend_bytes_total",
					     "gw_backend_up" };
	struct backend_rows *br = arg;
	struct gw_counter c = { 0 };
	char ep[GW_ADDR_STRLEN];
	unsigned long long v;

	if (br->col == COL_UP) {
		v = !(b->flags & GW_BE_F_DOWN);
	} else {
		gw_dp_counter_sum(br->m->backend_stats, id, &c);
		v = br->col == COL_BYTES ? c.bytes : c.packets;
	}
	fprintf(br->f, "%s{service=\"", names[br->col]);
	gw_prom_label(br->f, br->service);
	fprintf(br->f, "\",backend=\"%s\"} %llu\n",
		gw_abi_ep_str(b->addr, b->family, b->port, ep, sizeof(ep)), v);
	return 0;
}

static void render_services(FILE *f, const struct gw_metrics_src *src)
{
	static const char *const kinds[2] = { "packets", "bytes" };
	const struct gw_cfg *cfg = src->cfg;
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		char name[64];

		snprintf(name, sizeof(name), "gw_service_%s_total", kinds[k]);
		gw_prom_header(f, name, "counter", k ? "Bytes steered to each L4 service." :
					       "Packets steered to each L4 service.");
		for (i = 0; i < cfg->n_services; i++) {
			const struct gw_cfg_service *s = &cfg->services[i];
			struct gw_endpoint vip = { .ip = s->vip, .port = (__u16)s->port };
			struct gw_counter c = { 0 };
			struct gw_svc svc;

			if (gw_svc_lookup(src->maps, &vip, (__u8)s->protocol, &svc))
				continue;
			gw_dp_counter_sum(src->maps->svc_stats, svc.id, &c);
			fputs(name, f);
			fputs("{service=\"", f);
			gw_prom_label(f, s->name);
			fprintf(f, "\"} %llu\n", (unsigned long long)(k ? c.bytes : c.packets));
		}
	}
	for (k = COL_PACKETS; k <= COL_UP; k++) {
		if (k == COL_UP)
			gw_prom_header(f, "gw_backend_up", "gauge", "0 when health checks find an L4 "
			       "backend down, else 1 (also when unchecked).");
		else
			gw_prom_header(f, k == COL_BYTES ? "gw_backend_bytes_total" :
			       "gw_backend_packets_total", "counter",
			       "Traffic steered to each backend of an L4 service.");
		for (i = 0; i < cfg->n_services; i++) {
			const struct gw_cfg_service *s = &cfg->services[i];
			struct gw_endpoint vip = { .ip = s->vip, .port = (__u16)s->port };
			struct backend_rows br = { f, src->maps, s->name, (enum backend_col)k };
			struct gw_svc svc;

			if (!gw_svc_lookup(src->maps, &vip, (__u8)s->protocol, &svc))
				gw_dp_foreach_backend(src->maps, svc.id, backend_row, &br);
		}
	}
}

struct ban_count {
	__u64 now;
	unsigned long long n;
};

static int count_ban(const struct gw_filter_entry *e, void *arg)
{
	struct ban_count *bc = arg;

	if (e->is_ban && (!e->rule.expires_ns || e->rule.expires_ns > bc->now))
		bc->n++;
	return 0;
}

int gw_metrics_render(FILE *f, const struct gw_metrics_src *src)
{
	struct ban_count bans = { .now = gw_now_ns() };

	render_reasons(f, src->maps, src->l7);
	render_services(f, src);

	gw_filter_foreach(&src->maps->filter, count_ban, &bans);
	gw_prom_header(f, "gw_bans_active", "gauge", "Time-limited deny entries in force.");
	fprintf(f, "gw_bans_active %llu\n", bans.n);

	gw_prom_header(f, "gw_config_reloads_total", "counter", "Reloads of gateway.yaml by result.");
	fprintf(f, "gw_config_reloads_total{result=\"success\"} %llu\n", src->agent->reloads_ok);
	fprintf(f, "gw_config_reloads_total{result=\"failure\"} %llu\n",
		src->agent->reloads_failed);
	gw_prom_header(f, "gw_config_generation", "gauge", "Generation of the applied configuration.");
	fprintf(f, "gw_config_generation %u\n", src->agent->generation);
	if (src->l7)
		gw_l7_metrics(src->l7, f);
	if (src->cluster)
		gw_cluster_link_metrics(src->cluster, f);
	render_process(f);
	return ferror(f) ? -EIO : 0;
}

/* 1 when a YAML key names a secret (its value is not shown in /config). */
static int secret_key(const char *k, size_t len)
{
	static const char *const words[] = { "password", "secret", "token", "passphrase" };
	char low[64];
	size_t i;

	if (len >= sizeof(low))
		return 0;
	for (i = 0; i < len; i++)
		low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] | 0x20 : k[i]);
	low[len] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]))
			return 1;
	return 0;
}

/* Writes the running config's text to f with the value of every key that
 * names a secret (password, secret, token) replaced by "<redacted>", line
 * by line ("key: value" and "{ key: value, ... }" forms). gw keeps secrets
 * in files the config names, never in the file itself, so this is a guard
 * for what a future key or a comment might carry. */
void gw_metrics_config_dump(FILE *f, const char *text)
{
	const char *p = text, *e, *k, *c;

	for (; p && *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, '\n');
		for (c = p; c < e; c++) {
			if (*c != ':' || c + 1 >= e || (c[1] != ' ' && c[1] != '\t'))
				continue;
			for (k = c; k > p && (k[-1] == '_' || k[-1] == '-' ||
					      (k[-1] >= 'a' && k[-1] <= 'z') ||
					      (k[-1] >= 'A' && k[-1] <= 'Z'));
			     k--)
				;
			if (!secret_key(k, (size_t)(c - k)))
				continue;
			fwrite(p, 1, (size_t)(c + 2 - p), f);
			fputs("<redacted>", f);
			/* the rest of a flow mapping's entry goes too */
			for (c += 2; c < e && *c != ',' && *c != '}'; c++)
				;
			p = c;
		}
		fwrite(p, 1, (size_t)(e - p), f);
		if (*e)
			fputc('\n', f);
	}
}

/* ------------------------------------------------------------------ */
/* Server                                                               */

#define METRICS_CLIENTS 16
#define METRICS_REQ_MAX 8192
/* A client's whole life: the request, and the answer to a slow reader. A
 * scraper that stops reading is cut then; gwd's loop never waits on it. */
#define METRICS_CLIENT_NS (10ull * 1000000000ull)

struct metrics_client {
	int fd;				/* -1: free slot */
	size_t len;
	__u64 since_ns;
	char *out;			/* the answer not sent yet; NULL while reading */
	size_t out_len, out_off;
	char buf[METRICS_REQ_MAX];
};

struct gw_metrics {
	int ep;
	int lfd;
	struct metrics_client c[METRICS_CLIENTS];
};

int gw_metrics_open(const struct gw_endpoint *addr, struct gw_metrics **out)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN };
	struct gw_metrics *m;
	socklen_t sl;
	int one = 1, i, err;

	memset(&ss, 0, sizeof(ss));
	if (addr->ip.family == GW_FAMILY_V4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(addr->port);
		s4->sin_addr.s_addr = addr->ip.addr[0];
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(addr->port);
		memcpy(&s6->sin6_addr, addr->ip.addr, 16);
		sl = sizeof(*s6);
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (i = 0; i < METRICS_CLIENTS; i++)
		m->c[i].fd = -1;
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->ep < 0 || m->lfd < 0)
		goto fail;
	setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->lfd, (struct sockaddr *)&ss, sl) || listen(m->lfd, 64))
		goto fail;
	ev.data.fd = m->lfd;
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->lfd, &ev))
		goto fail;
	*out = m;
	return 0;
fail:
	err = -errno;
	gw_metrics_close(m);
	return err;
}

int gw_metrics_fd(const struct gw_metrics *m)
{
	return m->ep;
}

static void client_close(struct gw_metrics *m, struct metrics_client *c)
{
	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->fd = -1;
	c->len = 0;
}

/* Sends what the socket takes now. Returns 1 when all is sent, 0 when the
 * rest waits for EPOLLOUT, -1 on an error (the client is to be closed). */
static int client_flush(struct gw_metrics *m, struct metrics_client *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->fd };

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev) ? -1 : 0;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	return 1;
}

/* Queues a whole answer (head and body) on c. Returns 0 or -ENOMEM. */
static int respond(struct metrics_client *c, const char *status, const char *ctype,
		   const char *body, size_t len)
{
	char head[512];
	int n;

	/* the status page: no script runs, nothing loads from elsewhere */
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n", status, ctype, len,
		     strncmp(ctype, "text/html", 9) ? "" :
		     "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
		     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
	c->out = malloc((size_t)n + len);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, len);
	c->out_len = (size_t)n + len;
	c->out_off = 0;
	return 0;
}

/* A whole request head is in c->buf: queues its answer. Returns 0 or
 * -ENOMEM. */
static int serve(struct metrics_client *c, const struct gw_metrics_src *src)
{
	char *body = NULL, *sp, *path;
	const char *ctype;
	size_t blen = 0;
	FILE *f;
	int err;

	c->buf[c->len] = 0;
	sp = strchr(c->buf, ' ');
	if (!sp)
		return respond(c, "400 Bad Request", "text/plain", "bad request\n", 12);
	*sp = 0;
	path = sp + 1;
	sp = strchr(path, ' ');
	if (sp)
		*sp = 0;
	if (strcmp(c->buf, "GET") && strcmp(c->buf, "HEAD"))
		return respond(c, "405 Method Not Allowed", "text/plain", "GET only\n", 9);
	sp = strchr(path, '?');
	if (sp)
		*sp = '\0';
	if (strcmp(path, "/metrics") && strcmp(path, "/") && strcmp(path, "/ready") &&
	    strcmp(path, "/config") && (strcmp(path, "/status") || !src->status))
		return respond(c, "404 Not Found", "text/plain", "not found: see /\n", 17);
	f = open_memstream(&body, &blen);
	if (!f)
		return respond(c, "500 Internal Server Error", "text/plain", "no memory\n", 10);
	ctype = "text/plain; charset=utf-8";
	if (!strcmp(path, "/metrics")) {
		gw_metrics_render(f, src);
		ctype = "text/plain; version=0.0.4; charset=utf-8";
	} else if (!strcmp(path, "/ready")) {
		/* served only while gwd's loop runs: the datapath is attached and
		 * the config applied (a refused reload keeps the running one) */
		fprintf(f, "ready: config generation %u\n", src->agent->generation);
	} else if (!strcmp(path, "/config")) {
		gw_metrics_config_dump(f, src->cfg->text);
	} else if (src->status) {
		gw_status_render(f, src->status);
		ctype = "text/html; charset=utf-8";
	} else {
		fputs("gwd " GW_VERSION "\n"
		      "/metrics  Prometheus text exposition\n"
		      "/ready    200 while gwd runs with its config applied\n"
		      "/config   the running gateway.yaml, secrets redacted\n", f);
	}
	fclose(f);
	err = respond(c, "200 OK", ctype, body, strcmp(c->buf, "HEAD") ? blen : 0);
	free(body);
	return err;
}

/* Closes the clients past their deadline (slow or silent). */
static void expire(struct gw_metrics *m, __u64 now)
{
	int i;

	for (i = 0; i < METRICS_CLIENTS; i++)
		if (m->c[i].fd >= 0 && now - m->c[i].since_ns > METRICS_CLIENT_NS)
			client_close(m, &m->c[i]);
}

static void accept_all(struct gw_metrics *m, __u64 now)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, i;

	expire(m, now);
	while ((fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < METRICS_CLIENTS; i++)
			if (m->c[i].fd < 0)
				break;
		if (i == METRICS_CLIENTS) {
			close(fd);	/* busy: the scraper retries */
			continue;
		}
		m->c[i].fd = fd;
		m->c[i].len = 0;
		m->c[i].since_ns = now;
		ev.data.fd = fd;
		if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev))
			client_close(m, &m->c[i]);
	}
}

/* Reads what c sent; once the head is complete, answers it. */
static void client_read(struct gw_metrics *m, struct metrics_client *c,
			const struct gw_metrics_src *src)
{
	ssize_t r;
	int err;

	r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, MSG_DONTWAIT);
	if (r <= 0) {
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(m, c);
		return;
	}
	c->len += (size_t)r;
	c->buf[c->len] = 0;
	if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n"))
		err = serve(c, src);
	else if (c->len >= sizeof(c->buf) - 1)
		err = respond(c, "431 Request Header Fields Too Large", "text/plain",
			      "too large\n", 10);
	else
		return;
	if (err || client_flush(m, c))
		client_close(m, c);	/* sent whole, or failed */
}

void gw_metrics_process(struct gw_metrics *m, const struct gw_metrics_src *src)
{
	struct epoll_event evs[METRICS_CLIENTS + 1];
	__u64 now = gw_now_ns();
	int n, i, j;

	n = epoll_wait(m->ep, evs, METRICS_CLIENTS + 1, 0);
	for (i = 0; i < n; i++) {
		struct metrics_client *c = NULL;

		if (evs[i].data.fd == m->lfd) {
			accept_all(m, now);
			continue;
		}
		for (j = 0; j < METRICS_CLIENTS; j++)
			if (m->c[j].fd == evs[i].data.fd)
				c = &m->c[j];
		if (!c)
			continue;
		if (c->out) {
			if (client_flush(m, c))
				client_close(m, c);
			continue;
		}
		client_read(m, c, src);
	}
}

void gw_metrics_tick(struct gw_metrics *m)
{
	expire(m, gw_now_ns());
}

void gw_metrics_close(struct gw_metrics *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < METRICS_CLIENTS; i++)
		if (m->c[i].fd >= 0)
			client_close(m, &m->c[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->ep >= 0)
		close(m->ep);
	free(m);
}
