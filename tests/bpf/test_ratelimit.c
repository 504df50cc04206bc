// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-source rate limiting (bpf/lib/ratelimit.h): burst exactness, the SYN
 * bucket beside the packet bucket, IPv6 prefix grouping, the LRU maps'
 * state, no map work when off, and exactness across two CPUs at once.
 * Intervals are long (seconds or more) so that no token comes back while a
 * test runs: counts are exact, not statistical.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gw/names.h"
#include "dp/filter.h"
#include "harness.h"

static struct gw_bpf *skel;

#define SEC_NS 1000000000ull
/* One token an hour: no bucket refills while a test runs, however slow the
 * machine (an emulated VM takes seconds for the LRU sweep). */
#define RL_INTERVAL_NS (3600 * SEC_NS)
/* How far the coarse clock may lag the precise one (bpf/lib/ctx.h): a
 * bucket whose burst spans >= 64 times this runs on the coarse clock. */
#define GW_COARSE_LAG_NS 10000000ull
#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* Sets both buckets: burst 0 turns a bucket off. */
static void set_limits(__u64 pkt_burst, __u64 syn_burst, __u8 v6_prefix)
{
	struct gw_config cfg;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.rl_pkt.interval_ns = pkt_burst ? RL_INTERVAL_NS : 0;
	cfg.rl_pkt.tolerance_ns = pkt_burst ? (pkt_burst - 1) * RL_INTERVAL_NS : 0;
	cfg.rl_syn.interval_ns = syn_burst ? RL_INTERVAL_NS : 0;
	cfg.rl_syn.tolerance_ns = syn_burst ? (syn_burst - 1) * RL_INTERVAL_NS : 0;
	cfg.rl_v6_prefix = v6_prefix;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
}

static size_t tcp_frame(uint8_t *buf, const char *src, uint8_t flags)
{
	int v6 = strchr(src, ':') != NULL;
	struct pkt_opts o = {
		.family = v6 ? 6 : 4,
		.saddr = src,
		.daddr = v6 ? "fd00::2" : "198.18.0.2",
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 443,
		.tcp_flags = flags,
	};
	size_t len = pkt_build(buf, PKT_MAX, &o);

	assert_true(len > 0);
	return len;
}

/* Sends one TCP packet on `hook`; returns the reason it was counted under. */
static enum gw_reason send_tcp(int hook, const char *src, uint8_t flags)
{
	uint8_t buf[PKT_MAX];
	struct gwt_run r;
	size_t len = tcp_frame(buf, src, flags);
	int i;

	gwt_reset_counts(skel);
	assert_int_equal(gwt_run(skel, hook, 0, buf, len, &r), 0);
	for (i = 0; i < GW_R_MAX; i++)
		if (gwt_reason_count(skel, (enum gw_reason)i))
			return (enum gw_reason)i;
	fail_msg("no reason counted");
	return GW_R_NONE;
}

static void expect_n(int hook, const char *src, uint8_t flags, int n, enum gw_reason want)
{
	int i;

	for (i = 0; i < n; i++) {
		enum gw_reason got = send_tcp(hook, src, flags);

		if (got != want)
			fail_msg("%s packet %d of %d from %s (flags 0x%02x): %s, want %s",
				 gwt_hook_names[hook], i + 1, n, src, flags, gw_reason_labels[got],
				 gw_reason_labels[want]);
	}
}

static int lookup_v4(const char *src, struct gw_rl_state *st)
{
	__be32 k;

	assert_int_equal(inet_pton(AF_INET, src, &k), 1);
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_rl_v4), &k, st) ? -errno : 0;
}

static int lookup_v6(const char *key, struct gw_rl_state *st)
{
	struct gw_rl_v6_key k;

	assert_int_equal(inet_pton(AF_INET6, key, k.addr), 1);
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.gw_rl_v6), &k, st) ? -errno : 0;
}

static int map_entries(int fd, size_t ksize)
{
	uint8_t k[16], next[16];
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(k, next, ksize);
		prev = k;
		n++;
	}
	return n;
}

static void clear_map(int fd, size_t ksize)
{
	uint8_t k[16];

	while (!bpf_map_get_next_key(fd, NULL, k))
		bpf_map_delete_elem(fd, k);
	assert_int_equal(map_entries(fd, ksize), 0);
}

/* Zeroes every CPU's entries of the per-CPU array fd: the lease slots and
 * the seen-sources stamps (no test inherits another's). */
static void clear_percpu(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info), i;
	void *zero;

	assert_true(ncpu > 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
	zero = calloc((size_t)ncpu, (info.value_size + 7) & ~7u);
	assert_non_null(zero);
	for (i = 0; i < info.max_entries; i++)
		assert_int_equal(bpf_map_update_elem(fd, &i, zero, BPF_ANY), 0);
	free(zero);
}

static int reset(void **state)
{
	clear_percpu(bpf_map__fd(skel->maps.gw_rl_lease));
	clear_percpu(bpf_map__fd(skel->maps.gw_rl_seen_map));
	clear_map(bpf_map__fd(skel->maps.gw_rl_v4), 4);
	clear_map(bpf_map__fd(skel->maps.gw_rl_v6), 16);
	set_limits(0, 0, 64);
	return 0;
}

static void test_burst_exact(void **state)
{
	const char *src[2] = { "198.18.1.1", "198.18.1.2" };
	struct gw_rl_state st;
	__u64 t0, t1;
	int hook;

	set_limits(5, 0, 64);
	for (hook = 0; hook < 2; hook++) {
		t0 = gw_now_ns();
		expect_n(hook, src[hook], TCP_ACK, 1, GW_R_PASS_LOCAL);
		t1 = gw_now_ns();
		/* exactly `burst` packets pass, then every one is dropped */
		expect_n(hook, src[hook], TCP_ACK, 4, GW_R_PASS_LOCAL);
		expect_n(hook, src[hook], TCP_ACK, 3, GW_R_DROP_RATELIMIT);
		/* the map: TAT is the first packet's time plus five intervals;
		 * a burst this long runs on the coarse clock, which lags by up
		 * to GW_COARSE_LAG_NS while ticks come on time (twice that
		 * allowed here: an emulated VM's ticks come late) */
		assert_int_equal(lookup_v4(src[hook], &st), 0);
		assert_true(st.tat_pkt >= t0 - 2 * GW_COARSE_LAG_NS + 5 * RL_INTERVAL_NS &&
			    st.tat_pkt <= t1 + 5 * RL_INTERVAL_NS);
		assert_int_equal(st.tat_syn, 0);	/* SYN bucket off: untouched */
	}
	/* another source has its own bucket */
	expect_n(0, "198.18.1.3", TCP_ACK, 5, GW_R_PASS_LOCAL);
}

/* A bucket whose burst spans less than 64 coarse-clock lags runs on the
 * precise clock: TAT is exactly the first packet's time plus the burst. */
static void test_short_burst_precise(void **state)
{
	const __u64 iv = 150000000ull;	/* 150 ms: burst 4 spans 600 ms */
	struct gw_rl_state st;
	struct gw_config cfg;
	__u64 t0, t1, t2;
	int hook;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.rl_pkt.interval_ns = iv;
	cfg.rl_pkt.tolerance_ns = 3 * iv;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
	for (hook = 0; hook < 2; hook++) {
		const char *src = hook ? "198.18.1.5" : "198.18.1.4";

		t0 = gw_now_ns();
		expect_n(hook, src, TCP_ACK, 1, GW_R_PASS_LOCAL);
		t1 = gw_now_ns();
		expect_n(hook, src, TCP_ACK, 3, GW_R_PASS_LOCAL);
		t2 = gw_now_ns();
		assert_int_equal(lookup_v4(src, &st), 0);
		if (t2 - t0 >= iv) {
			print_message("# %s: the machine took %llu ms for 4 packets, TAT not"
				      " checked\n", gwt_hook_names[hook],
				      (unsigned long long)((t2 - t0) / 1000000));
			continue;
		}
		/* the coarse clock would put it up to a tick before t0 */
		assert_true(st.tat_pkt >= t0 + 4 * iv && st.tat_pkt <= t1 + 4 * iv);
	}
}

static void test_syn_bucket_separate(void **state)
{
	const char *src[2] = { "198.18.2.1", "198.18.2.2" };
	struct gw_rl_state st;
	int hook;

	set_limits(10, 3, 64);
	for (hook = 0; hook < 2; hook++) {
		expect_n(hook, src[hook], TCP_SYN, 3, GW_R_PASS_LOCAL);
		expect_n(hook, src[hook], TCP_SYN, 2, GW_R_DROP_SYN_RATELIMIT);
		/* SYN-ACK and ACK are no SYNs; dropped SYNs cost no packet:
		 * 10 - 3 SYNs = 7 more packets */
		expect_n(hook, src[hook], TCP_SYN | TCP_ACK, 1, GW_R_PASS_LOCAL);
		expect_n(hook, src[hook], TCP_ACK, 6, GW_R_PASS_LOCAL);
		expect_n(hook, src[hook], TCP_ACK, 2, GW_R_DROP_RATELIMIT);
		/* both full: the SYN limit reports first */
		expect_n(hook, src[hook], TCP_SYN, 1, GW_R_DROP_SYN_RATELIMIT);
		assert_int_equal(lookup_v4(src[hook], &st), 0);
		assert_true(st.tat_syn > gw_now_ns() + 2 * RL_INTERVAL_NS);	/* 3 taken */
	}
}

static void test_syn_refunded_when_packet_bucket_drops(void **state)
{
	struct gw_rl_state st;
	int hook;
	const char *src[2] = { "198.18.3.1", "198.18.3.2" };

	set_limits(2, 5, 64);
	for (hook = 0; hook < 2; hook++) {
		expect_n(hook, src[hook], TCP_ACK, 2, GW_R_PASS_LOCAL);
		expect_n(hook, src[hook], TCP_SYN, 3, GW_R_DROP_RATELIMIT);
		/* the SYN bucket gave back what the dropped SYNs took */
		assert_int_equal(lookup_v4(src[hook], &st), 0);
		assert_true(st.tat_syn <= gw_now_ns());
	}
}

static void test_v6_prefix_grouping(void **state)
{
	struct gw_rl_state st;

	set_limits(3, 0, 64);
	/* two addresses of one /64 share a bucket, on either hook */
	expect_n(0, "fd00:1:2:3::1", TCP_ACK, 2, GW_R_PASS_LOCAL);
	expect_n(1, "fd00:1:2:3:ffff::2", TCP_ACK, 1, GW_R_PASS_LOCAL);
	expect_n(0, "fd00:1:2:3::1", TCP_ACK, 1, GW_R_DROP_RATELIMIT);
	expect_n(1, "fd00:1:2:3::9", TCP_ACK, 1, GW_R_DROP_RATELIMIT);
	/* the next /64 is another source */
	expect_n(1, "fd00:1:2:4::1", TCP_ACK, 3, GW_R_PASS_LOCAL);
	/* keys are the masked prefixes, never the full addresses */
	assert_int_equal(lookup_v6("fd00:1:2:3::", &st), 0);
	assert_int_equal(lookup_v6("fd00:1:2:4::", &st), 0);
	assert_int_equal(lookup_v6("fd00:1:2:3::1", &st), -ENOENT);
	assert_int_equal(map_entries(bpf_map__fd(skel->maps.gw_rl_v6), 16), 2);

	/* /128: every address on its own; /56 and an unset 0 (= 64) too */
	set_limits(3, 0, 128);
	expect_n(0, "fd00:1:2:3::1", TCP_ACK, 3, GW_R_PASS_LOCAL);
	assert_int_equal(lookup_v6("fd00:1:2:3::1", &st), 0);
	set_limits(3, 0, 56);
	expect_n(1, "fd00:1:2:5::1", TCP_ACK, 2, GW_R_PASS_LOCAL);
	expect_n(1, "fd00:1:2:6::1", TCP_ACK, 1, GW_R_PASS_LOCAL);
	expect_n(1, "fd00:1:2:7::1", TCP_ACK, 1, GW_R_DROP_RATELIMIT);
	assert_int_equal(lookup_v6("fd00:1:2::", &st), 0);
	set_limits(3, 0, 0);
	expect_n(0, "fd00:9:9:9::1", TCP_ACK, 1, GW_R_PASS_LOCAL);
	assert_int_equal(lookup_v6("fd00:9:9:9::", &st), 0);
}

static void test_off_does_no_map_work(void **state)
{
	int fd4 = bpf_map__fd(skel->maps.gw_rl_v4);

	set_limits(0, 0, 64);
	expect_n(0, "198.18.4.1", TCP_SYN, 3, GW_R_PASS_LOCAL);
	expect_n(1, "198.18.4.1", TCP_ACK, 3, GW_R_PASS_LOCAL);
	assert_int_equal(map_entries(fd4, 4), 0);	/* both off: no entry */
	set_limits(0, 2, 64);
	expect_n(0, "198.18.4.2", TCP_ACK, 5, GW_R_PASS_LOCAL);
	assert_int_equal(map_entries(fd4, 4), 0);	/* no SYN: no entry */
	expect_n(1, "198.18.4.2", TCP_SYN, 2, GW_R_PASS_LOCAL);
	expect_n(1, "198.18.4.2", TCP_SYN, 1, GW_R_DROP_SYN_RATELIMIT);
	assert_int_equal(map_entries(fd4, 4), 1);
}

static void test_lru_bounded(void **state)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	int fd4 = bpf_map__fd(skel->maps.gw_rl_v4);
	struct gw_rl_state st;
	char src[32];
	int i, n, kept = 0;

	assert_int_equal(bpf_obj_get_info_by_fd(fd4, &info, &ilen), 0);
	set_limits(1, 0, 64);
	/* a victim at its limit, then a spoofed sweep of 1.5x the map */
	expect_n(0, "198.18.100.1", TCP_ACK, 1, GW_R_PASS_LOCAL);
	expect_n(0, "198.18.100.1", TCP_ACK, 1, GW_R_DROP_RATELIMIT);
	for (i = 0; i < (int)info.max_entries * 3 / 2; i++) {
		snprintf(src, sizeof(src), "198.19.%d.%d", i / 250, i % 250 + 1);
		expect_n(i & 1, src, TCP_ACK, 1, GW_R_PASS_LOCAL);
	}
	n = map_entries(fd4, 4);
	/* memory stays bounded by max_entries */
	assert_true(n <= (int)info.max_entries);
	/* the kernel's LRU is approximate (per-CPU lists): most, not all, of
	 * the newest sources are tracked */
	for (i = (int)info.max_entries; i < (int)info.max_entries * 3 / 2; i++) {
		snprintf(src, sizeof(src), "198.19.%d.%d", i / 250, i % 250 + 1);
		kept += !lookup_v4(src, &st);
	}
	print_message("# %d entries of %u after %d sources; %d of the newest %u kept\n", n,
		      info.max_entries, (int)info.max_entries * 3 / 2, kept,
		      info.max_entries / 2);
	assert_true(kept >= (int)info.max_entries / 4);
	/* the victim, if evicted, comes back with a fresh burst (fail open,
	 * documented); if still tracked, it stays limited */
	if (lookup_v4("198.18.100.1", &st) == -ENOENT)
		expect_n(1, "198.18.100.1", TCP_ACK, 1, GW_R_PASS_LOCAL);
	else
		expect_n(1, "198.18.100.1", TCP_ACK, 1, GW_R_DROP_RATELIMIT);
}

/* Two threads on two CPUs run the same source at once. */
struct racer {
	int prog_fd, cpu, runs;
	const uint8_t *buf;
	size_t len;
	int err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	cpu_set_t set;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = r->buf, .data_size_in = (__u32)r->len,
		    .repeat = (__u32)r->runs);

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	r->err = bpf_prog_test_run_opts(r->prog_fd, &opts) ? -errno : 0;
	return NULL;
}

static void test_exact_across_cpus(void **state)
{
	const __u64 burst = 2000;
	const int runs = 20000;
	struct racer rc[2];
	pthread_t th[2];
	uint8_t buf[PKT_MAX];
	size_t len = tcp_frame(buf, "198.18.5.1", TCP_ACK);
	struct gw_config cfg;
	int i, ncpu = libbpf_num_possible_cpus();

	/* an hour per token: none comes back during the race */
	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.rl_pkt.interval_ns = RL_INTERVAL_NS;
	cfg.rl_pkt.tolerance_ns = (burst - 1) * RL_INTERVAL_NS;
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
	gwt_reset_counts(skel);
	for (i = 0; i < 2; i++) {
		rc[i] = (struct racer){
			/* XDP on one CPU, TC on the other */
			.prog_fd = bpf_program__fd(i ? skel->progs.gw_tc : skel->progs.gw_xdp),
			.cpu = ncpu > 1 ? i : 0,
			.runs = runs,
			.buf = buf,
			.len = len,
		};
		assert_int_equal(pthread_create(&th[i], NULL, race, &rc[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rc[i].err, 0);
	}
	print_message("# passed %llu, dropped %llu of %d\n",
		      (unsigned long long)gwt_reason_count(skel, GW_R_PASS_LOCAL),
		      (unsigned long long)gwt_reason_count(skel, GW_R_DROP_RATELIMIT), 2 * runs);
	/* exactly `burst` admitted in total: no lost or doubled update */
	assert_int_equal(gwt_reason_count(skel, GW_R_PASS_LOCAL), burst);
	assert_int_equal(gwt_reason_count(skel, GW_R_DROP_RATELIMIT), 2 * runs - burst);
}

/* Runs `runs` packets from src on `cpu` through gw_xdp (hook 0) or gw_tc
 * in one test run; returns how many passed (every other one must have been
 * dropped by the packet limit). */
static __u64 run_on(int cpu, int hook, const char *src, int runs)
{
	uint8_t buf[PKT_MAX];
	size_t len = tcp_frame(buf, src, TCP_ACK);
	struct racer r = {
		.prog_fd = bpf_program__fd(hook ? skel->progs.gw_tc : skel->progs.gw_xdp),
		.cpu = cpu,
		.runs = runs,
		.buf = buf,
		.len = len,
	};
	pthread_t th;
	__u64 pass;

	gwt_reset_counts(skel);
	assert_int_equal(pthread_create(&th, NULL, race, &r), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.err, 0);
	pass = gwt_reason_count(skel, GW_R_PASS_LOCAL);
	assert_int_equal(pass + gwt_reason_count(skel, GW_R_DROP_RATELIMIT), runs);
	return pass;
}

/* The lease slot (bpf/lib/maps.h: GW_RL_LEASE_BITS 12) of an IPv4 key. */
static __u32 lease_slot_v4(__be32 a)
{
	__be32 k[4] = { a, 0, 0, 0 };

	return gw_verdict_slot_of(k) >> (GW_VERDICT_SLOT_BITS - 12);
}

/* A burst of 6400 is leased in slices of 32 (ratelimit.h: burst / 64,
 * at most 32): a CPU runs at most 31 packets ahead of the shared bucket,
 * the total admitted stays exactly the burst, and a slice whose slot goes
 * to another source gives its unused tokens back. */
static void test_lease_bound(void **state)
{
	const __u64 burst = 6400, slice = 32;
	int ncpu = libbpf_num_possible_cpus(), c1 = ncpu > 1 ? 1 : 0;
	char other[32];
	__be32 a, b;
	int i;

	set_limits(burst, 0, 64);
	/* CPU 0: a new source's first packet leases nothing, its second a
	 * slice: 2 admitted, 33 charged */
	assert_int_equal(run_on(0, 0, "198.18.6.1", 2), 2);
	/* the other CPU (or hook) gets exactly what is left in the bucket */
	assert_int_equal(run_on(c1, 1, "198.18.6.1", (int)burst), burst - 1 - slice);
	/* CPU 0 still has its 31: the total is exactly the burst */
	assert_int_equal(run_on(0, 0, "198.18.6.1", 100), slice - 1);

	/* a slice's unused tokens go back when another key takes its slot */
	assert_int_equal(inet_pton(AF_INET, "198.18.7.1", &a), 1);
	for (i = 2; i < 65536; i++) {
		snprintf(other, sizeof(other), "198.19.%d.%d", i >> 8, i & 255);
		assert_int_equal(inet_pton(AF_INET, other, &b), 1);
		if (lease_slot_v4(b) == lease_slot_v4(a))
			break;
	}
	assert_true(i < 65536);
	assert_int_equal(run_on(0, 0, "198.18.7.1", 2), 2);	/* 33 charged */
	assert_int_equal(run_on(0, 0, other, 2), 2);		/* takes the slot */
	/* 31 came back: the burst less the 2 admitted */
	assert_int_equal(run_on(c1, 1, "198.18.7.1", (int)burst), burst - 2);
}

/* A fast bucket (interval <= 1/64 of the 8.4 ms epoch): a source not in
 * the table is inserted at its second packet on a CPU within an epoch; its
 * first passes uncharged, without a table lookup. */
static void test_first_packet_deferred(void **state)
{
	const __u64 iv = 100000;	/* 10 000/s */
	int fd4 = bpf_map__fd(skel->maps.gw_rl_v4);
	struct gw_rl_state st;
	struct gw_config cfg;
	int i, hook;

	assert_int_equal(gwt_config_get(skel, &cfg), 0);
	cfg.rl_pkt.interval_ns = iv;
	cfg.rl_pkt.tolerance_ns = 9999 * iv;	/* burst 10 000 */
	assert_int_equal(gwt_config_set(skel, &cfg), 0);
	for (hook = 0; hook < 2; hook++) {
		const char *src = hook ? "198.18.8.2" : "198.18.8.1";

		expect_n(hook, src, TCP_ACK, 1, GW_R_PASS_LOCAL);
		assert_int_equal(lookup_v4(src, &st), -ENOENT);
		/* the next packet inserts it, unless an epoch ended in
		 * between (then the one after) */
		for (i = 0; i < 3 && lookup_v4(src, &st); i++)
			expect_n(hook, src, TCP_ACK, 1, GW_R_PASS_LOCAL);
		assert_int_equal(lookup_v4(src, &st), 0);
	}
	assert_int_equal(map_entries(fd4, 4), 2);
}

static int setup(void **state)
{
	skel = gwt_open();
	return skel ? 0 : -1;
}

static int teardown(void **state)
{
	return gwt_close(&skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_burst_exact, reset),
		cmocka_unit_test_setup(test_short_burst_precise, reset),
		cmocka_unit_test_setup(test_syn_bucket_separate, reset),
		cmocka_unit_test_setup(test_syn_refunded_when_packet_bucket_drops, reset),
		cmocka_unit_test_setup(test_v6_prefix_grouping, reset),
		cmocka_unit_test_setup(test_off_does_no_map_work, reset),
		cmocka_unit_test_setup(test_lru_bounded, reset),
		cmocka_unit_test_setup(test_exact_across_cpus, reset),
		cmocka_unit_test_setup(test_lease_bound, reset),
		cmocka_unit_test_setup(test_first_packet_deferred, reset),
	};

	return cmocka_run_group_tests_name("bpf_ratelimit", tests, setup, teardown);
}
