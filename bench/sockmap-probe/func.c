static long memavail(void)
{
	char l[128];
	long v = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	while (f && fgets(l, sizeof(l), f))
		if (sscanf(l, "MemAvailable: %ld", &v) == 1)
			break;
	if (f) fclose(f);
	return v;
}

/* Functional probes, included by probe.c. Each prints PASS/FAIL/INFO lines. */

static int wait_read(int fd, char *buf, size_t n, int ms)
{
	struct pollfd pf = { fd, POLLIN | POLLRDHUP };
	int r = poll(&pf, 1, ms);

	if (r <= 0)
		return -2; /* timeout */
	return recv(fd, buf, n, MSG_DONTWAIT);
}

static int lookup(struct tuple t)
{
	__u64 v;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.sock_hash), &t, &v) ? -errno : 0;
}

/* client cl -> gw c ... gw b -> backend be */
static void conns(int gport, int bport, int *cl, int *c, int *b, int *be)
{
	int gl = listen_on(gport), bl = listen_on(bport);

	*cl = connect_to(gport);
	*c = accept(gl, NULL, NULL);
	*b = connect_to(bport);
	*be = accept(bl, NULL, NULL);
	close(gl);
	close(bl);
}

static void check(const char *what, int ok, const char *detail)
{
	printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
}

static void func_basic(int ingress)
{
	int cl, c, b, be, n;
	char buf[64] = "";

	setup_mode(P_VERDICT);
	conns(31000, 31001, &cl, &c, &b, &be);
	pair(c, b);
	struct tuple tc = tuple_of(c), tb = tuple_of(b);
	writen(cl, "hello", 5);
	if (!ingress) {
		n = wait_read(be, buf, sizeof(buf), 1000);
		check("verdict egress: client->gw bytes leave on gw->backend socket", n == 5 && !memcmp(buf, "hello", 5), NULL);
		writen(be, "world", 5);
		n = wait_read(cl, buf, sizeof(buf), 1000);
		check("verdict egress: backend->gw bytes leave on gw->client socket", n == 5 && !memcmp(buf, "world", 5), NULL);
		n = wait_read(c, buf, sizeof(buf), 200);
		check("gwd's own sockets see no spliced byte", n == -2, NULL);
		shutdown(cl, SHUT_WR);
		n = wait_read(c, buf, sizeof(buf), 1000);
		snprintf(buf, sizeof(buf), "recv()=%d", n);
		check("client FIN: gwd sees EOF (recv 0) on the spliced client socket", n == 0, buf);
		shutdown(b, SHUT_WR);
		n = wait_read(be, buf, sizeof(buf), 1000);
		check("gwd passes the FIN on with shutdown(backend side)", n == 0, NULL);
		check("user-space lookup of a live entry works (returns cookie)", lookup(tc) == 0 && lookup(tb) == 0, NULL);
		close(c);
		snprintf(buf, sizeof(buf), "lookup tuple(c): %d, tuple(b): %d", lookup(tc), lookup(tb));
		check("close(c) removes c's entry at once (sock_map_close)", lookup(tc) == -ENOENT && lookup(tb) == 0, buf);
		close(b);
		check("close(b) removes the other entry", lookup(tc) == -ENOENT, NULL);
	} else {
		n = wait_read(b, buf, sizeof(buf), 1000);
		check("BPF_F_INGRESS: client bytes land in the gw->backend socket's receive queue (gwd reads them)",
		      n == 5 && !memcmp(buf, "hello", 5), NULL);
		n = wait_read(be, buf, sizeof(buf), 300);
		check("BPF_F_INGRESS: nothing is sent to the backend", n == -2, NULL);
		close(c);
		close(b);
	}
	close(cl);
	close(be);
}

static void func_msg(int ingress)
{
	int cl, c, b, be, n;
	char buf[64] = "";

	attach(-1, -1, 0);
	if (bpf_prog_attach(bpf_program__fd(skel->progs.msg_peer), bpf_map__fd(skel->maps.sock_hash),
			    BPF_SK_MSG_VERDICT, 0))
		die("attach sk_msg");
	conns(31010, 31011, &cl, &c, &b, &be);
	pair(c, b);
	__u64 before = count(7);
	writen(c, "msgtest", 7); /* gwd writes on the client side socket */
	if (!ingress) {
		n = wait_read(be, buf, sizeof(buf), 1000);
		check("sk_msg egress: gwd's send() on c leaves on b (to the backend)", n == 7 && !memcmp(buf, "msgtest", 7), NULL);
		n = wait_read(cl, buf, sizeof(buf), 200);
		check("sk_msg egress: client gets nothing", n == -2, NULL);
	} else {
		n = wait_read(b, buf, sizeof(buf), 1000);
		check("sk_msg BPF_F_INGRESS: gwd's send() on c is readable on b", n == 7 && !memcmp(buf, "msgtest", 7), NULL);
	}
	snprintf(buf, sizeof(buf), "runs +%llu", (unsigned long long)(count(7) - before));
	check("sk_msg program ran on sendmsg", count(7) > before, buf);
	close(c); close(b); close(cl); close(be);
	attach(-1, -1, 0);
}

static const char *CG = "/sys/fs/cgroup/unified/gwsockmapprobe";
static void func_sockops(void)
{
	int cg, cl, c, b, be, fd;
	char pid[32], buf[256];
	__u64 v[32] = { 0 };

	mkdir(CG, 0755);
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", CG);
	fd = open(buf, O_WRONLY);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
		die("join cgroup");
	close(fd);
	cg = open(CG, O_RDONLY | O_DIRECTORY);
	if (bpf_prog_attach(bpf_program__fd(skel->progs.sockops_probe), cg, BPF_CGROUP_SOCK_OPS, 0))
		die("attach sockops");
	conns(31020, 31021, &cl, &c, &b, &be);
	close(cl); close(c); close(b); close(be);
	usleep(300000);
	for (int i = 0; i < 18; i++) {
		__u32 k = i;
		bpf_map_lookup_elem(bpf_map__fd(skel->maps.ops_cnt), &k, &v[i]);
	}
	snprintf(buf, sizeof(buf), "ops: active_est %llu passive_est %llu state_cb %llu (to CLOSE %llu), cb_flags_set ok %llu, tcp_connect %llu",
		 (unsigned long long)v[BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB],
		 (unsigned long long)v[BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB],
		 (unsigned long long)v[BPF_SOCK_OPS_STATE_CB], (unsigned long long)v[16],
		 (unsigned long long)v[17], (unsigned long long)v[BPF_SOCK_OPS_TCP_CONNECT_CB]);
	check("sockops on cgroup v2 (unified): 2 active + 2 passive established, 4 sockets reach CLOSE",
	      v[BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB] == 2 && v[BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB] == 2 && v[16] == 4, buf);
	bpf_prog_detach2(bpf_program__fd(skel->progs.sockops_probe), cg, BPF_CGROUP_SOCK_OPS);
	close(cg);
	fd = open("/sys/fs/cgroup/unified/cgroup.procs", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, pid, strlen(pid)) < 0)
			perror("leave cgroup");
		close(fd);
	}
	rmdir(CG);
}

static char http_req(int cl, const char *a, const char *b2, int ms)
{
	char buf[512];
	size_t have = 0;

	writen(cl, a, strlen(a));
	if (b2) {
		usleep(50000);
		writen(cl, b2, strlen(b2));
	}
	for (;;) {
		int n = wait_read(cl, buf + have, sizeof(buf) - 1 - have, ms);
		if (n <= 0)
			return n == 0 ? 'E' : n == -2 ? 'T' : 'X';
		have += n;
		buf[have] = 0;
		char *e = strstr(buf, "\r\n\r\n");
		if (e) {
			char *x = strstr(buf, "X-B: ");
			return x ? x[5] : '?';
		}
	}
}

static void func_http(void)
{
	int gl = listen_on(30080), bla = listen_on(30081), blb = listen_on(30082);
	struct backend ba = { bla, B_HTTP, 'a' }, bb = { blb, B_HTTP, 'b' };
	pthread_t ta, tb;
	int mfd = bpf_map__fd(skel->maps.sock_hash), cl, c, b1, b2;
	struct tuple r1 = { 0, 0, 1, 0 }, r2 = { 0, 0, 2, 0 }, t;
	__u64 v;
	char got, d[128];

	attach(bpf_program__fd(skel->progs.parse_http), bpf_program__fd(skel->progs.verdict_http),
	       BPF_SK_SKB_STREAM_VERDICT);
	pthread_create(&ta, NULL, backend_run, &ba);
	pthread_create(&tb, NULL, backend_run, &bb);
	cl = connect_to(30080);
	c = accept(gl, NULL, NULL);
	b1 = connect_to(30081);
	b2 = connect_to(30082);
	insert(c);
	insert(b1);
	insert(b2);
	v = c;
	t = tuple_of(b1);
	if (bpf_map_update_elem(mfd, &t, &v, BPF_ANY))
		printf("INFO second insert of a socket under another key: %s\n", strerror(errno));
	set_peer(r1, tuple_of(b1));
	set_peer(r2, tuple_of(b2));
	set_peer(tuple_of(b1), tuple_of(c));
	set_peer(tuple_of(b2), tuple_of(c));

	if (getenv("BFIRST")) {
		got = http_req(cl, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 1000);
		printf("INFO b first: got %c ok %llu miss %llu\n", got, (unsigned long long)count(2), (unsigned long long)count(3));
	}
	got = http_req(cl, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 1000);
	check("http: GET /a -> backend a", got == 'a', NULL);
	got = http_req(cl, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 1000);
	snprintf(d, sizeof(d), "got %c; route a %llu b %llu redirect-peer ok %llu miss %llu", got, (unsigned long long)count(9), (unsigned long long)count(10), (unsigned long long)count(2), (unsigned long long)count(3));
	check("http: next request on the same connection, GET /b -> backend b (per-request steering)", got == 'b', d);
	got = http_req(cl, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 1000);
	check("http: and back to a", got == 'a', NULL);
	got = http_req(cl, "GET /b HT", "TP/1.1\r\nHost: x\r\n\r\n", 1000);
	snprintf(d, sizeof(d), "parser need-more returns so far %llu", (unsigned long long)count(5));
	check("http: head split over two segments 50 ms apart, strparser reassembles -> b", got == 'b', d);
	/* fallback: POST -> SK_PASS -> readable by gwd on c */
	{
		char buf[512];
		__u64 fb = count(11);
		const char *post = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
		writen(cl, post, strlen(post));
		int n = wait_read(c, buf, sizeof(buf), 1000);
		snprintf(d, sizeof(d), "gwd recv()=%d, fallback count +%llu", n, (unsigned long long)(count(11) - fb));
		check("http: verdict SK_PASS (undecidable request) -> bytes readable by gwd on its client socket",
		      n == (int)strlen(post) && !memcmp(buf, "POST /a", 7), d);
	}
	/* pipelined: two requests in one write */
	{
		char buf[512];
		size_t have = 0;
		int n, nb = 0;
		writen(cl, "GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n", 58);
		while (nb < 2 && (n = wait_read(cl, buf + have, sizeof(buf) - 1 - have, 1000)) > 0) {
			have += n;
			buf[have] = 0;
			nb = 0;
			for (char *p = buf; (p = strstr(p, "X-B: ")); p++)
				nb++;
		}
		char *x1 = strstr(buf, "X-B: "), *x2 = x1 ? strstr(x1 + 1, "X-B: ") : NULL;
		snprintf(d, sizeof(d), "answers in order %c,%c; routed a %llu b %llu; parser runs %llu", x1 ? x1[5] : '-', x2 ? x2[5] : '-', (unsigned long long)count(9), (unsigned long long)count(10), (unsigned long long)count(4));
		check("http: two pipelined requests (/b then /a) in one segment: framed as 2 messages, routed b then a",
		      x1 && x2 && x1[5] == 'b' && x2[5] == 'a', d);
	}
	/* head longer than the parser's window: parser returns -EMSGSIZE */
	{
		char big[700], buf[64];
		int n, err = 0;
		socklen_t el = sizeof(err);
		memset(big, 'x', sizeof(big));
		memcpy(big, "GET /a HTTP/1.1\r\nX: ", 20);
		writen(cl, big, sizeof(big));
		n = wait_read(c, buf, sizeof(buf), 500);
		getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
		snprintf(d, sizeof(d), "gwd recv on c=%d errno=%s, SO_ERROR(c)=%s, parser err count %llu",
			 n, n < 0 && n != -2 ? strerror(errno) : "-", strerror(err), (unsigned long long)count(6));
		printf("INFO http: 700-byte head without CRLFCRLF (window 512): %s\n", d);
		n = wait_read(cl, buf, sizeof(buf), 500);
		printf("INFO http: client side after that: read=%d %s\n", n, n < 0 && n != -2 ? strerror(errno) : "");
	}
	close(cl); close(c); close(b1); close(b2);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	close(gl); close(bla); close(blb);
	attach(-1, -1, 0);
}

/* data immediately followed by FIN (write + close) through the splice */
static void func_fin(int mode)
{
	int cl, c, b, be, n, tot = 0;
	char buf[64] = "";
	char d[128];

	setup_mode(mode);
	conns(31030 + 2 * mode, 31031 + 2 * mode, &cl, &c, &b, &be);
	pair(c, b);
	usleep(10000);
	writen(be, "0123456789abcdef", 16);
	close(be);
	usleep(100000);
	/* what does gwd see on b? */
	n = wait_read(b, buf, sizeof(buf), 500);
	int gw_sees = n;
	while ((n = wait_read(cl, buf, sizeof(buf), 500)) > 0)
		tot += n;
	snprintf(d, sizeof(d), "client got %d of 16 bytes; gwd recv(b) before any shutdown = %d", tot, gw_sees);
	printf("%s %s: 16 bytes + FIN from backend reach client%s\n", tot == 16 ? "PASS" : "FAIL", pname[mode], "");
	printf("     %s\n", d);
	close(cl); close(c); close(b);
}

/* "splice after route": gwd serves the first exchange in user space, then
 * inserts both sockets. Case 2: the client's next request is already in
 * the gw socket's receive queue when the sockets are inserted. */
static void func_after(int mode)
{
	int gl = listen_on(31100 + mode), bl = listen_on(31110 + mode);
	struct backend ba = { bl, B_HTTP, 'a' };
	pthread_t ta;
	int cl, c, b, n;
	char buf[512], d[160];
	const char *req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

	setup_mode(mode);
	pthread_create(&ta, NULL, backend_run, &ba);
	cl = connect_to(31100 + mode);
	c = accept(gl, NULL, NULL);
	b = connect_to(31110 + mode);
	/* first exchange in user space */
	writen(cl, req, strlen(req));
	n = wait_read(c, buf, sizeof(buf), 1000);
	writen(b, buf, n);
	n = wait_read(b, buf, sizeof(buf), 1000);
	writen(c, buf, n);
	n = wait_read(cl, buf, sizeof(buf), 1000);
	/* idle at a message boundary: splice */
	pair(c, b);
	char got = http_req(cl, req, NULL, 1000);
	snprintf(d, sizeof(d), "got %c", got);
	check(mode == P_STRP ? "after-route splice (strparser): 2nd request and answer go through the kernel"
			     : "after-route splice (verdict): 2nd request and answer go through the kernel", got == 'a', d);
	n = wait_read(c, buf, sizeof(buf), 100);
	check("  ... and gwd's sockets stay empty", n == -2, NULL);
	close(c); close(b); close(cl);
	pthread_join(ta, NULL);

	/* case 2: bytes queued before the insert */
	pthread_create(&ta, NULL, backend_run, &ba);
	cl = connect_to(31100 + mode);
	c = accept(gl, NULL, NULL);
	b = connect_to(31110 + mode);
	writen(cl, req, strlen(req));
	usleep(50000);
	pair(c, b);
	usleep(200000);
	int q = recv(c, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK);
	snprintf(d, sizeof(d), "recv(c, MSG_PEEK) after insert = %d (%s)", q, q > 0 ? "still queued for gwd" : "taken by the kernel");
	printf("INFO %s, bytes queued before insert: %s\n", pname[mode], d);
	/* now a second request arrives: what happens to the queued one? */
	got = http_req(cl, req, NULL, 500);
	q = recv(c, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK);
	printf("INFO   after one more request arrives: client got %c, recv(c, PEEK) = %d\n", got, q);
	close(c); close(b); close(cl);
	pthread_join(ta, NULL);
	close(gl); close(bl);
}

/* backpressure: the backend never reads; how much does the client get to
 * write through the splice in 1 s? (bounded by socket buffers if the
 * kernel applies backpressure; growing if the psock queue is unbounded) */
static void func_backpressure(int mode)
{
	int cl, c, b, be;
	static char buf[BUFSZ];
	unsigned long long tot = 0;
	double t0;

	setup_mode(mode);
	conns(31200 + 2 * mode, 31201 + 2 * mode, &cl, &c, &b, &be);
	if (mode != P_DIRECT)
		pair(c, b);
	fcntl(cl, F_SETFL, O_NONBLOCK);
	t0 = now();
	long avail0 = memavail();
	while (now() - t0 < 0.3) {
		struct pollfd pf = { cl, POLLOUT };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t n = write(cl, buf, BUFSZ);
		if (n > 0)
			tot += n;
	}
	int rq, sq;
	struct tcp_info ti; socklen_t l = sizeof(ti);
	getsockopt(b, IPPROTO_TCP, TCP_INFO, &ti, &l);
	ioctl(be, FIONREAD, &rq);
	ioctl(b, TIOCOUTQ, &sq);
	printf("INFO backpressure %s: client wrote %.1f MiB in 0.3 s with the backend not reading; backend rcvq %.1f MiB, gw->backend sndq %.1f MiB, gw->backend bytes_sent %.1f MiB\n",
	       mode == P_DIRECT ? "no splice (gw not reading, reference)" : pname[mode], tot / 1048576.0, rq / 1048576.0, sq / 1048576.0, ti.tcpi_bytes_sent / 1048576.0);
	char sockstat[256] = "";
	FILE *f = fopen("/proc/net/sockstat", "r");
	while (f && fgets(sockstat, sizeof(sockstat), f))
		if (!strncmp(sockstat, "TCP:", 4))
			printf("     %s", sockstat);
	if (f) fclose(f);
	printf("     MemAvailable dropped by %.1f MiB while the bytes sit in the splice\n", (avail0 - memavail()) / 1024.0);
	/* now the backend reads everything: is anything lost? */
	unsigned long long got = 0;
	fcntl(be, F_SETFL, O_NONBLOCK);
	for (;;) {
		int n = wait_read(be, buf, BUFSZ, 1000);
		if (n <= 0)
			break;
		got += n;
	}
	printf("     backend then reads %.1f MiB of the %.1f MiB written (%s)\n", got / 1048576.0, tot / 1048576.0,
	       got == tot ? "nothing lost" : "LOST or still queued");
	close(cl); close(c); close(b); close(be);
}

/* Lag watchdog: take c out of the sockhash while the splice lags by more
 * than LAG_MAX (its bytes then stay in its TCP receive queue and the
 * window closes), put it back under LAG_MAX / 4. */
#define LAG_MAX (4 << 20)
struct wd { int c, b, stop; long long rx0, tx0; int out, toggles; long long maxlag; };
static long long tcpi(int fd, int rx)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	return rx ? (long long)ti.tcpi_bytes_received : (long long)(ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans);
}
static void *watchdog(void *arg)
{
	struct wd *w = arg;

	while (!w->stop) {
		long long lag = (tcpi(w->c, 1) - w->rx0) - (tcpi(w->b, 0) - w->tx0);
		if (lag > w->maxlag)
			w->maxlag = lag;
		if (!w->out && lag > LAG_MAX) {
			struct tuple t = tuple_of(w->c);
			if (getenv("PEERONLY")) {
				if (bpf_map_delete_elem(bpf_map__fd(skel->maps.peer), &t))
					perror("watchdog peer delete");
				w->out = 2;	/* stays out: this variant only measures */
				w->toggles++;
				usleep(5000);
				continue;
			}
			if (bpf_map_delete_elem(bpf_map__fd(skel->maps.sock_hash), &t))
				perror("watchdog delete");
			w->out = 1;
			w->toggles++;
		} else if (w->out == 1 && lag < LAG_MAX / 4) {
			insert(w->c);
			w->out = 0;
			w->toggles++;
		}
		usleep(5000);
	}
	return NULL;
}

static void func_throttle(int mode)
{
	int cl, c, b, be;
	static char buf[BUFSZ];
	unsigned long long tot = 0, got = 0, bad = 0;
	double t0;
	struct wd w = { 0 };
	pthread_t tw;

	setup_mode(mode);
	conns(31300 + 2 * mode, 31301 + 2 * mode, &cl, &c, &b, &be);
	w.c = c; w.b = b; w.rx0 = tcpi(c, 1); w.tx0 = tcpi(b, 0);
	pair(c, b);
	pthread_create(&tw, NULL, watchdog, &w);
	long avail0 = memavail();
	fcntl(cl, F_SETFL, O_NONBLOCK);
	t0 = now();
	while (now() - t0 < 0.3) {
		struct pollfd pf = { cl, POLLOUT };
		if (poll(&pf, 1, 50) <= 0)
			continue;
		ssize_t n = write(cl, pat + tot % 251, BUFSZ);
		if (n > 0)
			tot += n;
	}
	long drop = avail0 - memavail();
	fcntl(cl, F_SETFL, 0);
	/* the backend reads everything, checking order */
	for (;;) {
		int n = wait_read(be, buf, BUFSZ, 1000);
		if (n <= 0)
			break;
		if (memcmp(buf, pat + got % 251, n))
			bad++;
		got += n;
	}
	w.stop = 1;
	pthread_join(tw, NULL);
	int inq = 0;
	ioctl(c, FIONREAD, &inq);
	int pk = recv(c, buf, BUFSZ, MSG_PEEK | MSG_DONTWAIT);
	struct tuple tc = tuple_of(c);
	printf("     after: c in map %s, FIONREAD(c) %d, recv(c, PEEK) %d, c lag %.1f MiB\n", lookup(tc) ? "no" : "yes", inq, pk,
	       ((tcpi(c, 1) - w.rx0) - (tcpi(b, 0) - w.tx0)) / 1048576.0);
	if (getenv("KICK")) {
		/* one more byte from the client: does the next data_ready take the queue? */
		writen(cl, pat + tot % 251, 1);
		tot += 1;
		for (;;) {
			int n = wait_read(be, buf, BUFSZ, 1000);
			if (n <= 0)
				break;
			if (memcmp(buf, pat + got % 251, n))
				bad++;
			got += n;
		}
		printf("     after one more client byte: backend has %.1f MiB\n", got / 1048576.0);
	}
	printf("%s throttle %s: client wrote %.1f MiB in 0.3 s (backend not reading), max lag %.1f MiB, MemAvailable drop %.1f MiB, %d toggles; backend then read %.1f MiB, %llu out-of-order chunks\n",
	       got == tot && !bad ? "PASS" : "FAIL", pname[mode], tot / 1048576.0, w.maxlag / 1048576.0, drop / 1024.0, w.toggles, got / 1048576.0, bad);
	close(cl); close(c); close(b); close(be);
}

/* The stall check of the design: a request lands in c's receive queue
 * just before the insert; TCP_INFO shows c received bytes that b never
 * sent; gwd takes c out of the map, reads the bytes and forwards them. */
static void func_stall(int mode)
{
	int gl = listen_on(31400 + mode), bl = listen_on(31410 + mode);
	struct backend ba = { bl, B_HTTP, 'a' };
	pthread_t ta;
	int cl, c, b, n, ticks = 0, unspliced = 0;
	char buf[512], d[200];
	const char *req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	long long rx0, tx0, last_tx = -1;

	setup_mode(mode);
	pthread_create(&ta, NULL, backend_run, &ba);
	cl = connect_to(31400 + mode);
	c = accept(gl, NULL, NULL);
	b = connect_to(31410 + mode);
	rx0 = tcpi(c, 1);	/* quiesce point: gwd read everything up to here */
	tx0 = tcpi(b, 0);
	writen(cl, req, strlen(req));	/* arrives before the insert */
	usleep(20000);
	pair(c, b);
	/* the splice timer: 1 ms ticks */
	for (int i = 0; i < 50; i++) {
		usleep(1000);
		long long lag = (tcpi(c, 1) - rx0) - (tcpi(b, 0) - tx0);
		long long tx = tcpi(b, 0);
		ticks++;
		if (lag > 0 && tx == last_tx && ticks >= 2) {
			struct tuple t = tuple_of(c);
			bpf_map_delete_elem(bpf_map__fd(skel->maps.sock_hash), &t);
			n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				writen(b, buf, n);
			unspliced = n;
			break;
		}
		last_tx = tx;
	}
	/* c is out of the map, so b's redirects to c fail and the verdict
	 * parks the answer on b (SK_PASS): gwd serves both directions now */
	int m = wait_read(b, buf, sizeof(buf), 1000), fwd = m;
	if (m > 0)
		writen(c, buf, m);
	n = wait_read(cl, buf, sizeof(buf) - 1, 1000);
	if (n > 0)
		buf[n] = 0;
	snprintf(d, sizeof(d), "detected after %d ticks, gwd forwarded %d request bytes and %d parked answer bytes itself, client got %d bytes%s", ticks,
		 unspliced, fwd, n, n > 0 && strstr(buf, "X-B: a") ? " (answer from a)" : "");
	check(mode == P_STRP ? "stall check (strparser): request queued before the insert is detected and forwarded"
			     : "stall check (verdict): request queued before the insert is detected and forwarded",
	      unspliced > 0 && n > 0 && strstr(buf, "X-B: a"), d);
	close(c); close(b); close(cl);
	pthread_join(ta, NULL);
	close(gl); close(bl);
}

static void func_testrun(void)
{
	char data[64] = "GET /a HTTP/1.1\r\n\r\n";
	struct { const char *name; int fd; } p[] = {
		{ "sk_skb (verdict)", bpf_program__fd(skel->progs.verdict_only) },
		{ "sk_skb (stream_parser)", bpf_program__fd(skel->progs.parse_http) },
		{ "sk_msg", bpf_program__fd(skel->progs.msg_peer) },
		{ "sockops", bpf_program__fd(skel->progs.sockops_probe) },
	};
	for (unsigned i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = sizeof(data), .repeat = 1);
		int r = bpf_prog_test_run_opts(p[i].fd, &o);
		printf("INFO BPF_PROG_TEST_RUN %s: %s (errno %d)\n", p[i].name, r ? strerror(errno) : "works", r ? errno : 0);
	}
}

static void func(const char *arg)
{
	if (!strcmp(arg, "stall")) {
		func_stall(P_STRP);
		func_stall(P_VERDICT);
		return;
	}
	if (!strcmp(arg, "throttle")) {
		func_throttle(P_STRP);
		func_throttle(P_VERDICT);
		return;
	}
	if (!strcmp(arg, "backpressure")) {
		func_backpressure(P_DIRECT);
		func_backpressure(P_STRP);
		func_backpressure(P_VERDICT);
		return;
	}
	if (!strcmp(arg, "after")) {
		func_after(P_VERDICT);
		func_after(P_STRP);
		return;
	}
	if (!strcmp(arg, "testrun")) {
		func_testrun();
		return;
	}
	if (!strcmp(arg, "fin")) {
		for (int k = 0; k < 3; k++) {
			func_fin(P_VERDICT);
			func_fin(P_STRP);
		}
		return;
	}
	int ingress = !strcmp(arg, "ingress");

	func_basic(ingress);
	func_msg(ingress);
	if (!ingress) {
		func_sockops();
		func_http();
	}
}
