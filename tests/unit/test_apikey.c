// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* API key files: lookups by SHA-256 of the presented key, line-numbered
 * errors, duplicates, reload when the file changes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>

#include "authtest.h"
#include <pthread.h>

#include "auth/apikey.h"
#include "auth/authset.h"
#include "core/loop.h"

/* Returns the hex SHA-256 of `key` (static buffer). */
static const char *sha_hex(const char *key)
{
	static char hex[65];
	unsigned char h[32];
	int i;

	EVP_Digest(key, strlen(key), h, NULL, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return hex;
}

/* Writes a key file of `n` consumer/key pairs plus `extra` text. */
static void write_keys(const char *name, const char *const *pairs, size_t n, const char *extra)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	fprintf(f, "# partners\n\n");
	for (i = 0; i < n; i++)
		fprintf(f, "%s %s\n", pairs[2 * i], sha_hex(pairs[2 * i + 1]));
	fputs(extra, f);
	fclose(f);
	assert_int_equal(twrite(name, text), 0);
	free(text);
}

/* Returns the published set with a reference for gw_apikeys_set_put. */
static struct gw_apikeys_set *apikeys_acquire(struct gw_apikeys *ak)
{
	return gw_refslot_acquire(&ak->slot);
}

/* Returns 1 if a message of ak's last read contains `needle`. */
static int apikeys_msgs_has(struct gw_apikeys *ak, const char *needle)
{
	return watched_msgs_has(&ak->file, needle);
}

/* Authenticates `key` on reader 0. */
static enum gw_auth_reason auth(struct gw_apikeys *ak, const char *key, struct gw_auth_result *res)
{
	return gw_apikeys_authenticate(ak, 0, key, key ? strlen(key) : 0, res);
}

static void test_match(void **state)
{
	static const char *const pairs[] = {
		"acme", "k-acme-1", "acme", "k-acme-2", "globex", "k-globex", "initech", "k-ini",
	};
	struct gw_auth_result res;
	struct gw_apikeys *ak;

	write_keys("keys.txt", pairs, 4, "  # indented comment\n\t\n");
	assert_int_equal(gw_apikeys_open(tpath("keys.txt"), 1, &ak), 0);
	{
		struct gw_apikeys_set *set = apikeys_acquire(ak);

		assert_int_equal(gw_apikeys_set_size(set), 4);
		gw_apikeys_set_put(set);
	}
	assert_int_equal(auth(ak, "k-acme-1", &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "acme");
	assert_int_equal(res.n_headers, 0);
	assert_int_equal(auth(ak, "k-acme-2", &res), GW_AUTH_OK); /* second key */
	assert_string_equal(res.consumer, "acme");
	assert_int_equal(auth(ak, "k-globex", &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "globex");
	assert_int_equal(auth(ak, "k-ini", &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "initech");
	/* no match: other key, prefix, extension, case, the hash itself */
	assert_int_equal(auth(ak, "k-acme-3", &res), GW_AUTH_BAD_API_KEY);
	assert_string_equal(res.consumer, "");
	assert_int_equal(gw_auth_http_status(res.reason), 401);
	assert_int_equal(auth(ak, "k-acme-", &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, "k-acme-1x", &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, "K-ACME-1", &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, sha_hex("k-acme-1"), &res), GW_AUTH_BAD_API_KEY);
	/* the key is compared as bytes: an embedded NUL does not truncate */
	assert_int_equal(gw_apikeys_authenticate(ak, 0, "k-acme-1\0x", 10, &res),
			 GW_AUTH_BAD_API_KEY);
	/* a reader that does not exist */
	assert_int_equal(gw_apikeys_authenticate(ak, 1, "k-acme-1", 8, &res), GW_AUTH_INTERNAL);
	/* missing and oversized */
	assert_int_equal(auth(ak, NULL, &res), GW_AUTH_MISSING);
	assert_int_equal(auth(ak, "", &res), GW_AUTH_MISSING);
	{
		char big[GW_APIKEYS_MAX_KEY + 2];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(auth(ak, big, &res), GW_AUTH_MALFORMED);
	}
	gw_apikeys_free(ak);
}

/* Many keys: every one is found, through the salted buckets. */
static void test_many(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_apikeys_set *set;
	char *text = NULL, key[32], consumer[64], out[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		fprintf(f, "c%d\t%s\r\n", i, sha_hex(key));
	}
	fclose(f);
	assert_int_equal(gw_apikeys_parse("many", text, len, &set, &msgs), 0);
	assert_int_equal(gw_apikeys_set_size(set), 2000);
	for (i = 0; i < 2000; i += 7) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(consumer, sizeof(consumer), "c%d", i);
		assert_int_equal(gw_apikeys_set_lookup(set, key, strlen(key), out, sizeof(out)), 0);
		assert_string_equal(out, consumer);
	}
	assert_int_equal(gw_apikeys_set_lookup(set, "key-2000", 8, out, sizeof(out)), -ENOENT);
	gw_apikeys_set_put(set);
	free(text);
	gw_cfg_errors_free(&msgs);
}

static void test_malformed_lines(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_apikeys_set *set;
	char text[4096];
	const char *h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

	snprintf(text, sizeof(text),
		 "# header\n"
		 "good %s\n"		/* 2 */
		 "onlyconsumer\n"	/* 3 */
		 "c 1234\n"		/* 4: short hash */
		 "c %.63sg\n"		/* 5: not hex */
		 "c %s extra\n"		/* 6: three fields */
		 "caf\xc3\xa9 %.63s1\n" /* 7: consumer not ASCII */
		 "\n"
		 "   \t # fine\n"
		 "c %.63s2 # trailing comment\n" /* 10: three fields */
		 "%0300d %.63s3\n",		 /* 11: consumer too long */
		 h, h, h, h, h, 0, h);
	assert_int_equal(gw_apikeys_parse("keys.txt", text, strlen(text), &set, &msgs), -EINVAL);
	assert_null(set);
	assert_true(msgs_has(&msgs, "keys.txt:3: expected \"consumer sha256-hex\""));
	assert_true(msgs_has(&msgs, "keys.txt:4: the hash must be 64 hex digits"));
	assert_true(msgs_has(&msgs, "keys.txt:5: the hash has a character that is not"));
	assert_true(msgs_has(&msgs, "keys.txt:6: expected"));
	assert_true(msgs_has(&msgs, "keys.txt:7: consumer has a byte"));
	assert_true(msgs_has(&msgs, "keys.txt:10: expected"));
	assert_true(msgs_has(&msgs, "keys.txt:11: consumer longer than 255"));
	assert_false(msgs_has(&msgs, "keys.txt:2:"));
	assert_false(msgs_has(&msgs, "keys.txt:9:"));
	assert_int_equal(msgs.n, 7); /* every problem, in one pass */
	gw_cfg_errors_free(&msgs);
	/* an empty file and a comments-only file load, with no keys */
	assert_int_equal(gw_apikeys_parse("e", "", 0, &set, &msgs), 0);
	assert_int_equal(gw_apikeys_set_size(set), 0);
	gw_apikeys_set_put(set);
	assert_int_equal(gw_apikeys_parse("e", "# x\n\n#y", 7, &set, &msgs), 0);
	assert_int_equal(gw_apikeys_set_size(set), 0);
	gw_apikeys_set_put(set);
	/* a NUL byte in a line */
	assert_int_equal(gw_apikeys_parse("n", "a\0b 00\n", 7, &set, &msgs), -EINVAL);
	assert_true(msgs_has(&msgs, "n:1: NUL byte"));
	gw_cfg_errors_free(&msgs);
}

static void test_duplicate(void **state)
{
	struct gw_cfg_errors msgs = {0};
	struct gw_apikeys_set *set;
	char text[1024];

	/* the same hash for two consumers */
	snprintf(text, sizeof(text), "a %s\n", sha_hex("k"));
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "b %s\n", sha_hex("k"));
	assert_int_equal(gw_apikeys_parse("d", text, strlen(text), &set, &msgs), -EINVAL);
	assert_null(set);
	assert_true(msgs_has(&msgs, "d:2: the hash of line 1 again"));
	gw_cfg_errors_free(&msgs);
	/* the same hash in upper and lower case */
	snprintf(text, sizeof(text), "a %s\n", sha_hex("k"));
	{
		char upper[80];
		size_t i;

		snprintf(upper, sizeof(upper), "%s", sha_hex("k"));
		for (i = 0; upper[i]; i++)
			upper[i] = (char)toupper((unsigned char)upper[i]);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "# c\nb %s\n", upper);
	}
	assert_int_equal(gw_apikeys_parse("d", text, strlen(text), &set, &msgs), -EINVAL);
	assert_null(set);
	assert_true(msgs_has(&msgs, "d:3: the hash of line 1 again"));
	assert_int_equal(msgs.n, 1);
	gw_cfg_errors_free(&msgs);
}

static void test_reload(void **state)
{
	static const char *const v1[] = {"acme", "k1"};
	static const char *const v2[] = {"acme", "k2", "globex", "k3"};
	struct gw_auth_result res;
	struct gw_apikeys_set *old;
	struct gw_apikeys *ak;

	write_keys("r.txt", v1, 1, "");
	assert_int_equal(gw_apikeys_open(tpath("r.txt"), 1, &ak), 0);
	assert_int_equal(auth(ak, "k1", &res), GW_AUTH_OK);
	old = apikeys_acquire(ak);
	/* changed file: requests keep the published keys (they never look at
	 * the file) until the loop's poll publishes the new ones */
	write_keys("r.txt", v2, 2, "");
	assert_int_equal(auth(ak, "k1", &res), GW_AUTH_OK);
	assert_int_equal(gw_apikeys_poll(ak, false), 1);
	assert_int_equal(auth(ak, "k2", &res), GW_AUTH_OK);
	assert_int_equal(auth(ak, "k1", &res), GW_AUTH_BAD_API_KEY);
	assert_int_equal(auth(ak, "k3", &res), GW_AUTH_OK);
	assert_string_equal(res.consumer, "globex");
	/* whoever held the old set still has it whole */
	{
		char c[64];

		assert_int_equal(gw_apikeys_set_lookup(old, "k1", 2, c, sizeof(c)), 0);
		assert_string_equal(c, "acme");
		gw_apikeys_set_put(old);
	}
	/* unchanged: poll says so; forced (inotify saw a write): reread */
	assert_int_equal(gw_apikeys_poll(ak, false), 0);
	assert_int_equal(gw_apikeys_poll(ak, true), 1);
	assert_int_equal(auth(ak, "k2", &res), GW_AUTH_OK);
	/* a bad file is refused, the loaded keys stay */
	write_keys("r.txt", v1, 1, "broken line\n");
	assert_int_equal(gw_apikeys_poll(ak, false), -EINVAL);
	assert_true(apikeys_msgs_has(ak, ":4: the hash must be 64 hex digits"));
	assert_true(apikeys_msgs_has(ak, "keeping the loaded keys"));
	assert_int_equal(auth(ak, "k2", &res), GW_AUTH_OK);
	assert_int_equal(auth(ak, "k1", &res), GW_AUTH_BAD_API_KEY);
	/* the unchanged bad file is not reread by the periodic check */
	assert_int_equal(gw_apikeys_poll(ak, false), 0);
	/* fixed: loaded */
	write_keys("r.txt", v1, 1, "");
	assert_int_equal(gw_apikeys_poll(ak, false), 1);
	assert_int_equal(auth(ak, "k1", &res), GW_AUTH_OK);
	/* removed: the loaded keys stay */
	unlink(tpath("r.txt"));
	assert_int_equal(gw_apikeys_poll(ak, false), -ENOENT);
	assert_int_equal(gw_apikeys_poll(ak, false), 0);
	assert_int_equal(auth(ak, "k1", &res), GW_AUTH_OK);
	gw_apikeys_free(ak);
	/* open fails on a bad or missing file */
	assert_int_equal(gw_apikeys_open(tpath("none.txt"), 1, &ak), -ENOENT);
	assert_int_equal(twrite("bad.txt", "x\n"), 0);
	assert_int_equal(gw_apikeys_open(tpath("bad.txt"), 1, &ak), -EINVAL);
}

/* A key file of n keys "key-I" (consumer cI), plus "extra" (consumer
 * "extra") when with_extra. */
static void write_many(const char *name, int n, int with_extra)
{
	char *text = NULL, key[32];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		fprintf(f, "c%d %s\n", i, sha_hex(key));
	}
	if (with_extra)
		fprintf(f, "extra %s\n", sha_hex("extra"));
	fclose(f);
	assert_int_equal(twrite(name, text), 0);
	free(text);
}

/* Reader threads during rereads: each reader uses its own index, nothing
 * locks, and every answer is one of the published sets'. */
struct reader_arg {
	struct gw_apikeys *ak;
	unsigned int idx;
	volatile int *stop;
	int bad, with, without;
	long n;
};

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;
	struct gw_auth_result res;
	enum gw_auth_reason r;

	while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
		/* key-7 is in every version of the file */
		if (gw_apikeys_authenticate(a->ak, a->idx, "key-7", 5, &res) != GW_AUTH_OK ||
		    strcmp(res.consumer, "c7"))
			a->bad++;
		r = gw_apikeys_authenticate(a->ak, a->idx, "extra", 5, &res);
		if (r == GW_AUTH_OK)
			a->with++;
		else if (r == GW_AUTH_BAD_API_KEY)
			a->without++;
		else
			a->bad++;
		a->n++;
	}
	return NULL;
}

static void test_concurrent_reread(void **state)
{
	struct reader_arg a[2];
	pthread_t th[2];
	volatile int stop = 0;
	struct gw_apikeys *ak;
	int i;

	write_many("big.txt", 5000, 0);
	assert_int_equal(gw_apikeys_open(tpath("big.txt"), 2, &ak), 0);
	for (i = 0; i < 2; i++) {
		a[i] = (struct reader_arg){.ak = ak, .idx = (unsigned int)i, .stop = &stop};
		assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &a[i]), 0);
	}
	/* rewrite and reread (as gwd's loop does) 10 times, the extra key
	 * coming and going */
	for (i = 0; i < 10; i++) {
		write_many("big.txt", 5000, !(i & 1));
		assert_int_equal(gw_apikeys_poll(ak, true), 1);
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		print_message("  reader %d: %ld lookups, extra seen %d, refused %d\n", i, a[i].n,
			      a[i].with, a[i].without);
		assert_int_equal(a[i].bad, 0);
		assert_true(a[i].n > 0);
	}
	gw_apikeys_free(ak);
}

/* A reread in flight holds the file's lock: readers must not wait for it. */
struct blocked_arg {
	struct gw_apikeys *ak;
	int done;
	enum gw_auth_reason r;
};

static void *blocked_thread(void *p)
{
	struct blocked_arg *b = p;
	struct gw_auth_result res;

	b->r = gw_apikeys_authenticate(b->ak, 1, "key-7", 5, &res);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_reader_never_waits(void **state)
{
	struct blocked_arg b = {0};
	pthread_t th;
	int i;

	write_many("lock.txt", 10, 0);
	assert_int_equal(gw_apikeys_open(tpath("lock.txt"), 2, &b.ak), 0);
	write_many("lock.txt", 20, 1);
	assert_int_equal(gw_apikeys_poll(b.ak, false), 1); /* reader 1 has not read yet */
	pthread_mutex_lock(&b.ak->file.lock);		   /* "a reread is running" */
	assert_int_equal(pthread_create(&th, NULL, blocked_thread, &b), 0);
	for (i = 0; i < 500 && !__atomic_load_n(&b.done, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	pthread_mutex_unlock(&b.ak->file.lock);
	pthread_join(th, NULL);
	assert_true(i < 500); /* answered while the lock was held */
	assert_int_equal(b.r, GW_AUTH_OK);
	gw_apikeys_free(b.ak);
}

/* The authset's watch on a loop: inotify picks a rewrite up in
 * milliseconds; the bound (0.5 s) is below the 1 s fallback tick, so only
 * inotify can meet it. */
struct watch_arg {
	struct gw_loop *loop;
	struct gw_timer t;
	struct gw_authset *set;
	const char *want;
	int tries;
	enum gw_auth_reason r;
};

static const char *watch_hdr(void *p, const char *name, size_t *len)
{
	struct watch_arg *w = p;

	*len = strlen(w->want);
	return !strcasecmp(name, "X-API-Key") ? w->want : NULL;
}

static void watch_tick(struct gw_timer *t)
{
	struct watch_arg *w = container_of(t, struct watch_arg, t);
	struct gw_auth_verdict v;

	w->r = gw_authset_check(w->set, "keys", watch_hdr, w, 0, 0, &v);
	if (w->r == GW_AUTH_OK || ++w->tries >= 100) {
		gw_loop_stop(w->loop);
		return;
	}
	gw_timer_start(w->loop, t, 5000000, watch_tick);
}

/* Runs the loop until `want` is accepted or 100 ticks of 5 ms (0.5 s,
 * half the periodic check) passed. Returns the last verdict. */
static enum gw_auth_reason watch_until(struct watch_arg *w, const char *want)
{
	w->want = want;
	w->tries = 0;
	gw_timer_start(w->loop, &w->t, 5000000, watch_tick);
	assert_int_equal(gw_loop_run(w->loop), 0);
	return w->r;
}

static void test_watch(void **state)
{
	char path[512];
	struct gw_cfg_api_keys ck = {.name = "keys", .header = "X-API-Key", .keys = path};
	struct gw_cfg_auth cfg = {.api_keys = &ck, .n_api_keys = 1};
	struct gw_jwt_opts opts = {.workers = 1};
	struct watch_arg w = {0};
	FILE *f;

	snprintf(path, sizeof(path), "%s", tpath("w.txt"));
	write_many("w.txt", 3, 0);
	assert_int_equal(gw_loop_new(&w.loop), 0);
	assert_int_equal(gw_authset_new(&cfg, &opts, &w.set), 0);
	assert_int_equal(gw_authset_watch(w.set, w.loop), 0);
	/* an atomic replacement (rename over the file): IN_MOVED_TO */
	write_many("w.txt", 3, 1);
	assert_int_equal(watch_until(&w, "extra"), GW_AUTH_OK);
	assert_true(w.tries < 100);
	print_message("  rename seen after %d ticks of 5 ms\n", w.tries);
	/* an in-place rewrite: IN_CLOSE_WRITE */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "late %s\n", sha_hex("late"));
	fclose(f);
	assert_int_equal(watch_until(&w, "late"), GW_AUTH_OK);
	print_message("  in-place write seen after %d ticks of 5 ms\n", w.tries);
	assert_int_equal(watch_until(&w, "extra"), GW_AUTH_BAD_API_KEY); /* removed */
	gw_authset_unwatch(w.set);
	/* unwatched: a change is not picked up */
	write_many("w.txt", 3, 1);
	assert_int_equal(watch_until(&w, "extra"), GW_AUTH_BAD_API_KEY);
	gw_authset_free(w.set);
	gw_loop_free(w.loop);
}

/* The main loop keeps answering while the auth-reread thread parses a
 * 100 000-key file: a 2 ms timer on the loop is never late by more than
 * 20 ms (on the loop, the parse alone took 50-160 ms). A busy machine may
 * delay the test itself: up to three attempts, each with a new key, of
 * which one must meet the bound (a parse on the loop would fail all). */
struct late_arg {
	struct gw_loop *loop;
	struct gw_timer t;
	struct gw_authset *set;
	__u64 due, max_late_ns, start_ns, seen_ns;
	int ticks;
	char want[32];
};

static const char *late_hdr(void *p, const char *name, size_t *len)
{
	struct late_arg *a = p;

	*len = strlen(a->want);
	return !strcasecmp(name, "X-API-Key") ? a->want : NULL;
}

static void late_tick(struct gw_timer *t)
{
	struct late_arg *a = container_of(t, struct late_arg, t);
	__u64 now = gw_loop_update_now(a->loop);
	struct gw_auth_verdict v;

	if (now > a->due && now - a->due > a->max_late_ns)
		a->max_late_ns = now - a->due;
	a->ticks++;
	if (gw_authset_check(a->set, "keys", late_hdr, a, 0, 0, &v) == GW_AUTH_OK) {
		a->seen_ns = now - a->start_ns;
		gw_loop_stop(a->loop);
		return;
	}
	if (now - a->start_ns > 20000000000ull) { /* 20 s: give up */
		gw_loop_stop(a->loop);
		return;
	}
	a->due = now + 2000000;
	gw_timer_start(a->loop, t, 2000000, late_tick);
}

static void test_loop_answers_during_parse(void **state)
{
	char path[512];
	struct gw_cfg_api_keys ck = {.name = "keys", .header = "X-API-Key", .keys = path};
	struct gw_cfg_auth cfg = {.api_keys = &ck, .n_api_keys = 1};
	struct gw_jwt_opts opts = {.workers = 1};
	struct late_arg a = {0};
	int i;

	snprintf(path, sizeof(path), "%s", tpath("k100.txt"));
	write_many("k100.txt", 100000, 0);
	assert_int_equal(gw_loop_new(&a.loop), 0);
	assert_int_equal(gw_authset_new(&cfg, &opts, &a.set), 0);
	assert_int_equal(gw_authset_watch(a.set, a.loop), 0);
	for (i = 0; i < 5; i++) {
		/* one key more, renamed over: IN_MOVED_TO */
		write_many("k100.txt", 100001 + i, 0);
		snprintf(a.want, sizeof(a.want), "key-%d", 100000 + i);
		a.ticks = 0;
		a.seen_ns = a.max_late_ns = 0;
		a.start_ns = gw_loop_update_now(a.loop);
		a.due = a.start_ns + 2000000;
		gw_timer_start(a.loop, &a.t, 2000000, late_tick);
		assert_int_equal(gw_loop_run(a.loop), 0);
		print_message("  new keys after %.1f ms, %d ticks of 2 ms, worst lateness %.2f ms\n",
			      a.seen_ns / 1e6, a.ticks, a.max_late_ns / 1e6);
		assert_true(a.seen_ns > 0); /* the new keys were published */
		/* A loop blocked by the parse is late by the whole parse (about
		 * seen_ns); a busy machine adds scheduling delays of its own, so
		 * lateness well under the parse time also shows the loop ran. */
		if (a.max_late_ns < 20000000 || a.max_late_ns * 3 < a.seen_ns)
			break;
	}
	assert_true(i < 5);
	gw_authset_unwatch(a.set);
	gw_authset_free(a.set);
	gw_loop_free(a.loop);
}

static __u64 runs(struct gw_apikeys *ak)
{
	return __atomic_load_n(&ak->file.job.runs, __ATOMIC_RELAXED);
}

/* Changes while a reread runs make exactly one more; changes while one is
 * queued merge into it. The test holds a's lock, so a's first run blocks
 * on the thread, and b waits behind it in the queue. */
static void test_coalesce(void **state)
{
	struct gw_apikeys *a, *b;
	__u64 ra, rb;
	int i;

	write_many("ca.txt", 10, 0);
	write_many("cb.txt", 10, 0);
	assert_int_equal(gw_apikeys_open(tpath("ca.txt"), 1, &a), 0);
	assert_int_equal(gw_apikeys_open(tpath("cb.txt"), 1, &b), 0);
	ra = runs(a);
	rb = runs(b);
	pthread_mutex_lock(&a->file.lock);
	assert_int_equal(gw_watched_schedule(&a->file, true), 1);
	/* the thread takes the run and waits for the lock (up to 10 s) */
	for (i = 0; i < 1000 && !gw_watched_running(&a->file); i++)
		usleep(10000);
	assert_true(i < 1000);
	for (i = 0; i < 5; i++) {
		write_many("ca.txt", 10 + i, 0);
		write_many("cb.txt", 10 + i, 1);
		assert_int_equal(gw_watched_schedule(&a->file, true), 1);
		assert_int_equal(gw_watched_schedule(&b->file, true), 1);
		/* an unchanged-looking tick while the lock is held still asks */
		assert_int_equal(gw_watched_schedule(&a->file, false), 1);
	}
	pthread_mutex_unlock(&a->file.lock);
	gw_watched_settle(&a->file);
	gw_watched_settle(&b->file);
	print_message("  a: %llu runs, b: %llu runs\n", (unsigned long long)(runs(a) - ra),
		      (unsigned long long)(runs(b) - rb));
	assert_int_equal(runs(a) - ra, 2); /* the blocked one, and one after it */
	assert_int_equal(runs(b) - rb, 1); /* five requests while queued: one */
	{
		struct gw_apikeys_set *sa = apikeys_acquire(a), *sb = apikeys_acquire(b);

		assert_int_equal(gw_apikeys_set_size(sa), 14); /* the last versions */
		assert_int_equal(gw_apikeys_set_size(sb), 15);
		gw_apikeys_set_put(sa);
		gw_apikeys_set_put(sb);
	}
	/* an unchanged file is not even queued */
	assert_int_equal(gw_watched_schedule(&a->file, false), 0);
	/* an unchanged bad file is not reread until it changes */
	assert_int_equal(twrite("ca.txt", "bad\n"), 0);
	assert_int_equal(gw_watched_schedule(&a->file, false), 1);
	gw_watched_settle(&a->file);
	assert_true(apikeys_msgs_has(a, "keeping the loaded keys"));
	ra = runs(a);
	assert_int_equal(gw_watched_schedule(&a->file, false), 0);
	assert_int_equal(runs(a), ra);
	gw_apikeys_free(a);
	gw_apikeys_free(b);
}

/* Freeing a key set whose reread is running waits for it; one whose reread
 * is queued drops it; a freed set is never run. */
static void test_free_during_parse(void **state)
{
	struct gw_apikeys *big, *hold, *queued;

	write_many("fbig.txt", 100000, 0);
	write_many("fhold.txt", 10, 0);
	write_many("fq.txt", 10, 0);
	assert_int_equal(gw_apikeys_open(tpath("fbig.txt"), 1, &big), 0);
	assert_int_equal(gw_apikeys_open(tpath("fhold.txt"), 1, &hold), 0);
	assert_int_equal(gw_apikeys_open(tpath("fq.txt"), 1, &queued), 0);
	/* running: the parse of 100 000 keys takes well over 10 ms */
	write_many("fbig.txt", 100000, 1);
	assert_int_equal(gw_watched_schedule(&big->file, true), 1);
	usleep(10000);
	gw_apikeys_free(big);
	/* queued behind a run blocked on hold's lock */
	pthread_mutex_lock(&hold->file.lock);
	assert_int_equal(gw_watched_schedule(&hold->file, true), 1);
	assert_int_equal(gw_watched_schedule(&queued->file, true), 1);
	gw_apikeys_free(queued);
	pthread_mutex_unlock(&hold->file.lock);
	gw_watched_settle(&hold->file);
	assert_int_equal(runs(hold), 1);
	gw_apikeys_free(hold);
}

static int group_setup(void **state)
{
	return tdir_make();
}

static int group_teardown(void **state)
{
	tdir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_concurrent_reread),
		cmocka_unit_test(test_reader_never_waits),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_loop_answers_during_parse),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_free_during_parse),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
