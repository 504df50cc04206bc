// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* API key files and constant-time lookups (see apikey.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/hex.h"
#include "auth/apikey.h"
#include "core/log.h"

#define LINE_MAX_LEN 1024
#define CONSUMER_MAX 255
#define NIL	     UINT32_MAX

struct key_entry {
	unsigned char hash[32];
	__u32 consumer; /* offset in the set's names */
	__u32 next;	/* bucket chain */
	__u32 line;
};

struct gw_apikeys_set {
	int refs; /* atomic */
	unsigned char salt[32];
	__u32 n, mask;
	__u32 *buckets;
	struct key_entry *e;
	char *names; /* every consumer, NUL-terminated: a set frees in a few calls */
	size_t names_len, names_cap;
};

void gw_apikeys_set_put(struct gw_apikeys_set *set)
{
	if (!set || __atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(set->names);
	free(set->buckets);
	free(set->e);
	OPENSSL_cleanse(set->salt, sizeof(set->salt));
	free(set);
}

size_t gw_apikeys_set_size(const struct gw_apikeys_set *set)
{
	return set->n;
}

/* Returns the bucket of `hash`: SHA-256(salt || hash), or 0 when the digest
 * fails (every key then shares bucket 0: slower, still correct). */
static __u32 bucket(const struct gw_apikeys_set *set, const unsigned char *hash)
{
	unsigned char in[64], out[32];
	__u32 b = 0;

	memcpy(in, set->salt, 32);
	memcpy(in + 32, hash, 32);
	if (!gw_sha256(in, sizeof(in), out))
		memcpy(&b, out, sizeof(b));
	return b & set->mask;
}

/* Appends `len` bytes and a NUL to set's names. Returns the offset, or -1
 * (out of memory). */
static ssize_t names_add(struct gw_apikeys_set *set, const char *s, size_t len)
{
	size_t off = set->names_len;
	char *n;

	if (set->names_len + len + 1 > set->names_cap) {
		size_t cap = set->names_cap ? 2 * set->names_cap : 4096;

		while (cap < set->names_len + len + 1)
			cap *= 2;
		n = realloc(set->names, cap);
		if (!n)
			return -1;
		set->names = n;
		set->names_cap = cap;
	}
	memcpy(set->names + off, s, len);
	set->names[off + len] = '\0';
	set->names_len += len + 1;
	return (ssize_t)off;
}

/* Parses one non-comment line (`len` bytes, no line end) into e, its
 * consumer into set's names. Returns 0, -1 after a message, or -ENOMEM. */
static int parse_line(const char *name, __u32 lineno, const char *s, size_t len,
		      struct gw_apikeys_set *set, struct key_entry *e, struct gw_cfg_errors *msgs)
{
	size_t i = 0, c0, c1, h0, h1;
	ssize_t off;
	int hi, lo;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	c0 = i;
	while (i < len && s[i] != ' ' && s[i] != '\t')
		i++;
	c1 = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	h0 = i;
	while (i < len && s[i] != ' ' && s[i] != '\t')
		i++;
	h1 = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (h0 == h1 || i != len) {
		gw_msgs_add(msgs, GW_LOG_ERR, "%s:%u: expected \"consumer sha256-hex\"", name,
			    lineno);
		return -1;
	}
	if (c1 - c0 > CONSUMER_MAX) {
		gw_msgs_add(msgs, GW_LOG_ERR, "%s:%u: consumer longer than %d bytes", name, lineno,
			    CONSUMER_MAX);
		return -1;
	}
	for (i = c0; i < c1; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			gw_msgs_add(msgs, GW_LOG_ERR,
				    "%s:%u: consumer has a byte that is not "
				    "visible ASCII",
				    name, lineno);
			return -1;
		}
	}
	if (h1 - h0 != 64) {
		gw_msgs_add(msgs, GW_LOG_ERR,
			    "%s:%u: the hash must be 64 hex digits (SHA-256), "
			    "not %zu characters",
			    name, lineno, h1 - h0);
		return -1;
	}
	for (i = 0; i < 32; i++) {
		hi = gw_hexval(s[h0 + 2 * i]);
		lo = gw_hexval(s[h0 + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			gw_msgs_add(msgs, GW_LOG_ERR,
				    "%s:%u: the hash has a character that is not "
				    "a hex digit",
				    name, lineno);
			return -1;
		}
		e->hash[i] = (unsigned char)(hi << 4 | lo);
	}
	off = names_add(set, s + c0, c1 - c0);
	if (off < 0)
		return -ENOMEM;
	e->consumer = (__u32)off;
	e->line = lineno;
	return 0;
}

int gw_apikeys_parse(const char *name, const char *buf, size_t len, struct gw_apikeys_set **out,
		     struct gw_cfg_errors *msgs)
{
	struct gw_apikeys_set *set;
	const char *p = buf, *end = buf + len, *nl;
	size_t lines = 1, nb = 1, i, ll;
	__u32 lineno = 0, b, j;
	int err = 0, r;

	*out = NULL;
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->refs = 1;
	set->e = calloc(lines, sizeof(*set->e));
	if (!set->e || RAND_bytes(set->salt, sizeof(set->salt)) != 1) {
		err = -ENOMEM;
		goto out;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		ll = (size_t)(nl - p);
		lineno++;
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll > LINE_MAX_LEN) {
			gw_msgs_add(msgs, GW_LOG_ERR, "%s:%u: line longer than %d bytes", name,
				    lineno, LINE_MAX_LEN);
			err = -EINVAL;
			continue;
		}
		if (memchr(p, '\0', ll)) {
			gw_msgs_add(msgs, GW_LOG_ERR, "%s:%u: NUL byte", name, lineno);
			err = -EINVAL;
			continue;
		}
		for (i = 0; i < ll && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		if (i == ll || p[i] == '#')
			continue;
		r = parse_line(name, lineno, p, ll, set, &set->e[set->n], msgs);
		if (r == -ENOMEM) {
			err = r;
			goto out;
		}
		if (r) {
			err = -EINVAL;
			continue;
		}
		set->n++;
	}
	while (nb < set->n)
		nb <<= 1;
	set->mask = (__u32)nb - 1;
	set->buckets = malloc(nb * sizeof(*set->buckets));
	if (!set->buckets) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nb; i++)
		set->buckets[i] = NIL;
	for (i = 0; i < set->n; i++) {
		struct key_entry *e = &set->e[i];

		b = bucket(set, e->hash);
		for (j = set->buckets[b]; j != NIL; j = set->e[j].next)
			if (!memcmp(set->e[j].hash, e->hash, 32))
				break;
		if (j != NIL) {
			gw_msgs_add(msgs, GW_LOG_ERR, "%s:%u: the hash of line %u again", name,
				    e->line, set->e[j].line);
			err = -EINVAL;
			continue;
		}
		e->next = set->buckets[b];
		set->buckets[b] = (__u32)i;
	}
out:
	if (err) {
		gw_apikeys_set_put(set);
		return err;
	}
	*out = set;
	return 0;
}

int gw_apikeys_set_lookup(const struct gw_apikeys_set *set, const char *key, size_t len,
			  char *consumer, size_t size)
{
	unsigned char hash[32];
	const struct key_entry *found = NULL;
	uintptr_t sel, m;
	__u32 j;

	if (gw_sha256(key, len, hash))
		return -ENOENT;
	/* Every entry of the bucket is compared; the match is selected with a
	 * mask, not a branch that would stop early. */
	for (j = set->buckets[bucket(set, hash)]; j != NIL; j = set->e[j].next) {
		m = (uintptr_t)0 - (uintptr_t)(CRYPTO_memcmp(set->e[j].hash, hash, 32) == 0);
		sel = ((uintptr_t)&set->e[j] & m) | ((uintptr_t)found & ~m);
		found = (const struct key_entry *)sel;
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	if (!found)
		return -ENOENT;
	if (strlen(set->names + found->consumer) >= size)
		return -ENOENT;
	strcpy(consumer, set->names + found->consumer);
	return 0;
}

static void *set_get(void *obj)
{
	struct gw_apikeys_set *set = obj;

	__atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
	return set;
}

static void set_put(void *obj)
{
	gw_apikeys_set_put(obj);
}

/* Reads the file and publishes its keys. Called with the lock held.
 * Returns 1 or a negative errno (old keys kept). */
static int reread(struct gw_apikeys *ak, bool loaded)
{
	struct gw_apikeys_set *set = NULL;
	char *buf;
	size_t len;
	int err;

	err = gw_watched_read(&ak->file, &buf, &len);
	if (!err) {
		err = gw_apikeys_parse(ak->file.path, buf, len, &set, &ak->file.msgs);
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	if (err) {
		if (loaded)
			gw_watched_keep(&ak->file);
		return err;
	}
	pr_info("api keys %s: %u key%s loaded\n", ak->file.path, set->n, set->n == 1 ? "" : "s");
	/* the last reference to the old set may go here: its free is the
	 * reread's cost, not a request's */
	gw_refslot_swap(&ak->slot, set);
	return 1;
}

/* The auth-reread thread's job (gw_watched_schedule). */
static int poll_job(void *arg, bool force)
{
	return gw_apikeys_poll(arg, force);
}

int gw_apikeys_open(const char *path, unsigned int readers, struct gw_apikeys **out)
{
	struct gw_apikeys *ak = calloc(1, sizeof(*ak));
	int err;

	*out = NULL;
	if (!ak)
		return -ENOMEM;
	gw_refslot_init(&ak->slot, set_get, set_put);
	ak->n_readers = readers ? readers : 1;
	ak->rd = aligned_alloc(64, ak->n_readers * sizeof(*ak->rd));
	if (!ak->rd) {
		ak->n_readers = 0;
		err = -ENOMEM;
		goto fail;
	}
	memset(ak->rd, 0, ak->n_readers * sizeof(*ak->rd));
	err = gw_watched_init(&ak->file, "api keys", path, GW_APIKEYS_MAX_FILE);
	gw_watched_set_reread(&ak->file, poll_job, ak);
	if (!err)
		err = reread(ak, false);
	if (err < 0)
		goto fail;
	*out = ak;
	return 0;
fail:
	gw_apikeys_free(ak);
	return err;
}

void gw_apikeys_free(struct gw_apikeys *ak)
{
	unsigned int i;

	if (!ak)
		return;
	gw_watched_cancel(&ak->file); /* a reread queued or running uses ak */
	for (i = 0; i < ak->n_readers; i++)
		gw_apikeys_set_put(ak->rd[i].set);
	free(ak->rd);
	gw_refslot_destroy(&ak->slot);
	gw_watched_destroy(&ak->file);
	free(ak);
}

int gw_apikeys_poll(struct gw_apikeys *ak, bool force)
{
	int err = 0;

	pthread_mutex_lock(&ak->file.lock);
	if (force || gw_watched_changed(&ak->file))
		err = reread(ak, true);
	pthread_mutex_unlock(&ak->file.lock);
	return err;
}

enum gw_auth_reason gw_apikeys_authenticate(struct gw_apikeys *ak, unsigned int reader,
					    const char *key, size_t len, struct gw_auth_result *res)
{
	struct gw_apikeys_reader *rd;
	const struct gw_apikeys_set *set;

	res->cached = false;
	res->consumer[0] = '\0';
	res->n_headers = 0;
	if (!key || !len)
		return res->reason = GW_AUTH_MISSING;
	if (len > GW_APIKEYS_MAX_KEY)
		return res->reason = GW_AUTH_MALFORMED;
	if (reader >= ak->n_readers)
		return res->reason = GW_AUTH_INTERNAL;
	rd = &ak->rd[reader];
	set = gw_refslot_refresh(&ak->slot, &rd->set, &rd->gen);
	if (!set)
		return res->reason = GW_AUTH_INTERNAL;
	res->reason = gw_apikeys_set_lookup(set, key, len, res->consumer, sizeof(res->consumer))
			      ? GW_AUTH_BAD_API_KEY
			      : GW_AUTH_OK;
	return res->reason;
}
