// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Weighted Maglev: full tables, shares that follow weights, determinism and
 * minimal disruption when the backend set changes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/maglev.h"

#define M 65537u
#define NMAX 64

/* Backend identities "10.0.0.<i>:80" as bytes. */
static unsigned char keys[NMAX][6];

static void make_entries(struct gw_maglev_entry *e, const unsigned int *idx, size_t n,
			 const __u32 *weights)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int k = idx[i];

		keys[k][0] = 10;
		keys[k][1] = 0;
		keys[k][2] = (unsigned char)(k >> 8);
		keys[k][3] = (unsigned char)k;
		keys[k][4] = 0;
		keys[k][5] = 80;
		e[i].key = keys[k];
		e[i].key_len = sizeof(keys[k]);
		e[i].weight = weights ? weights[i] : 1;
		e[i].id = k + 1;
	}
}

static __u32 *build(const unsigned int *idx, size_t n, const __u32 *weights)
{
	struct gw_maglev_entry e[NMAX];
	__u32 *t = malloc(M * sizeof(*t));

	assert_non_null(t);
	make_entries(e, idx, n, weights);
	assert_int_equal(gw_maglev_build(e, n, t, M), 0);
	return t;
}

/* Fraction of slots whose backend differs between two tables. */
static double moved(const __u32 *a, const __u32 *b)
{
	size_t i, n = 0;

	for (i = 0; i < M; i++)
		n += a[i] != b[i];
	return (double)n / M;
}

static void count(const __u32 *t, size_t *c)
{
	size_t i;

	memset(c, 0, sizeof(size_t) * (NMAX + 1));
	for (i = 0; i < M; i++) {
		assert_true(t[i] >= 1 && t[i] <= NMAX); /* every slot filled with a backend */
		c[t[i]]++;
	}
}

static void test_prime(void **state)
{
	assert_true(gw_maglev_is_prime(65537));
	assert_true(gw_maglev_is_prime(2));
	assert_true(gw_maglev_is_prime(251));
	assert_false(gw_maglev_is_prime(65536));
	assert_false(gw_maglev_is_prime(1));
	assert_false(gw_maglev_is_prime(0));
	assert_false(gw_maglev_is_prime(65535));
}

static void test_bad_input(void **state)
{
	unsigned int idx[2] = { 0, 1 };
	struct gw_maglev_entry e[2];
	__u32 t[7], w0[2] = { 1, 0 };

	make_entries(e, idx, 2, NULL);
	assert_int_equal(gw_maglev_build(e, 2, t, 8), -EINVAL);	/* size not prime */
	assert_int_equal(gw_maglev_build(e, 0, t, 7), -EINVAL);	/* no backend */
	assert_int_equal(gw_maglev_build(e, 2, t, 2), 0);		/* n == size fills */
	make_entries(e, idx, 2, w0);
	assert_int_equal(gw_maglev_build(e, 2, t, 7), -EINVAL);	/* weight 0 */
}

static void test_small_table_full(void **state)
{
	unsigned int idx[3] = { 0, 1, 2 };
	struct gw_maglev_entry e[3];
	__u32 t[7];
	size_t i, c[4] = { 0 };

	make_entries(e, idx, 3, NULL);
	assert_int_equal(gw_maglev_build(e, 3, t, 7), 0);
	for (i = 0; i < 7; i++) {
		assert_true(t[i] >= 1 && t[i] <= 3); /* slot holds a backend */
		c[t[i]]++;
	}
	for (i = 1; i <= 3; i++)
		assert_true(c[i] >= 2 && c[i] <= 3); /* 7 slots over 3: 2 or 3 each */
}

static void test_equal_weights_share(void **state)
{
	unsigned int idx[10];
	size_t c[NMAX + 1], i;
	__u32 *t;

	for (i = 0; i < 10; i++)
		idx[i] = (unsigned int)i;
	t = build(idx, 10, NULL);
	count(t, c);
	for (i = 1; i <= 10; i++) {
		double share = (double)c[i] / M;

		/* each of 10 equal backends within 3% (relative) of 1/10 */
		assert_true(share > 0.1 * 0.97 && share < 0.1 * 1.03);
	}
	free(t);
}

static void test_weights_honoured(void **state)
{
	unsigned int idx[5] = { 0, 1, 2, 3, 4 };
	__u32 w[5] = { 1, 2, 3, 4, 10 };
	size_t c[NMAX + 1], i;
	__u32 *t = build(idx, 5, w);

	count(t, c);
	for (i = 0; i < 5; i++) {
		double want = (double)w[i] / 20.0, got = (double)c[i + 1] / M;

		printf("# weight %u: share %.4f want %.4f\n", w[i], got, want);
		/* share of a weighted backend within 3% (relative) of w/sum(w) */
		assert_true(got > want * 0.97 && got < want * 1.03);
	}
	free(t);
}

static void test_order_independent(void **state)
{
	unsigned int a[6] = { 0, 1, 2, 3, 4, 5 }, b[6] = { 5, 3, 1, 0, 4, 2 };
	__u32 wa[6] = { 1, 2, 1, 3, 1, 1 }, wb[6] = { 1, 3, 2, 1, 1, 1 };
	__u32 *ta = build(a, 6, wa), *tb = build(b, 6, wb);

	/* same set, other order: identical table */
	assert_memory_equal(ta, tb, M * sizeof(*ta));
	free(ta);
	free(tb);
}

static void test_remove_one_moves_few(void **state)
{
	unsigned int all[10], less[9];
	size_t i, j = 0;
	__u32 *t1, *t2;
	double m, own = 0;

	for (i = 0; i < 10; i++) {
		all[i] = (unsigned int)i;
		if (i != 4)
			less[j++] = (unsigned int)i;
	}
	t1 = build(all, 10, NULL);
	t2 = build(less, 9, NULL);
	for (i = 0; i < M; i++)
		own += t1[i] == 5; /* id of backend 4 */
	m = moved(t1, t2);
	printf("# remove 1 of 10: %.4f of slots moved (its own share %.4f)\n", m, own / M);
	/* the removed backend's slots move, and few others: <= 1.25/N */
	assert_true(m >= own / M);
	assert_true(m <= 1.25 / 10);
	/* the slots of the backends that stay mostly keep them */
	free(t1);
	free(t2);
}

static void test_add_one_moves_few(void **state)
{
	unsigned int idx[21];
	size_t i;
	__u32 *t1, *t2;
	double m;

	for (i = 0; i < 21; i++)
		idx[i] = (unsigned int)i;
	t1 = build(idx, 20, NULL);
	t2 = build(idx, 21, NULL);
	m = moved(t1, t2);
	printf("# add 1 to 20: %.4f of slots moved\n", m);
	/* about 1/21 of the slots go to the new backend; <= 1.25/N in all */
	assert_true(m >= 0.9 / 21 && m <= 1.25 / 21);
	free(t1);
	free(t2);
}

static void test_weight_change_moves_few(void **state)
{
	unsigned int idx[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	__u32 w1[8] = { 2, 2, 2, 2, 2, 2, 2, 2 }, w2[8] = { 2, 2, 2, 2, 2, 2, 2, 1 };
	__u32 *t1 = build(idx, 8, w1), *t2 = build(idx, 8, w2);
	double m = moved(t1, t2);

	printf("# halving 1 of 8 weights: %.4f of slots moved\n", m);
	/* the halved backend gives up ~1/15 of the table; bounded movement */
	assert_true(m <= 0.2);
	free(t1);
	free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_small_table_full),
		cmocka_unit_test(test_equal_weights_share),
		cmocka_unit_test(test_weights_honoured),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_remove_one_moves_few),
		cmocka_unit_test(test_add_one_moves_few),
		cmocka_unit_test(test_weight_change_moves_few),
	};

	return cmocka_run_group_tests_name("maglev", tests, NULL, NULL);
}
