/*
 * check-replay.c: unit tests of the replay tables: every sampler's order
 * and distribution, every remover's eviction, max_times_sampled, items
 * shared by tables, the rate limiter against Reverb's own test cases,
 * waiters and the stop, and threads inserting and sampling at once.
 *
 * The distribution tests draw with a fixed seed and compare counts with a
 * chi-square test at p = 0.001: with 9 degrees of freedom the critical
 * value is 27.877. A sampler off by a few percent on one item fails it.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replay-test.h"

#define CHI2_9DOF_P001	27.877

/* The chi-square statistic of counts against expected shares p. */
static double
chi2(const unsigned *counts, const double *p, size_t k, unsigned n)
{
	double	x = 0, e;
	size_t	i;

	for (i = 0; i < k; i++) {
		e = p[i] * n;
		x += (counts[i] - e) * (counts[i] - e) / e;
	}
	return (x);
}

/* fifo and lifo samplers give insertion order and its reverse. */
START_TEST(test_replay_fifo_lifo_order)
{
	struct replay_table	*f, *l;
	uint64_t		 k;

	f = table_new(REPLAY_FIFO, REPLAY_FIFO, 100, 1);
	l = table_new(REPLAY_LIFO, REPLAY_FIFO, 100, 1);
	for (k = 1; k <= 5; k++) {
		put(f, k, 0);
		put(l, k, 0);
	}
	/* A priority update moves nothing in insertion order. */
	ck_assert_int_eq(replay_table_update(f, 1, 9, NULL), REPLAY_DONE);
	for (k = 1; k <= 5; k++) {
		ck_assert_uint_eq(draw(f, NULL), k);
		ck_assert_uint_eq(draw(l, NULL), 6 - k);
	}
	replay_table_free(f);
	replay_table_free(l);
}
END_TEST

/* Heaps give priority order; ties go to the least recently touched. */
START_TEST(test_replay_heap_order)
{
	static const double	 prio[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	static const uint64_t	 max_order[] = { 6, 8, 5, 3, 1, 7, 2, 4 };
	static const uint64_t	 min_order[] = { 4, 2, 7, 1, 3, 5, 8, 6 };
	struct replay_table	*mx, *mn;
	size_t			 i;

	mx = table_new(REPLAY_MAX_HEAP, REPLAY_FIFO, 100, 1);
	mn = table_new(REPLAY_MIN_HEAP, REPLAY_FIFO, 100, 1);
	for (i = 0; i < nitems(prio); i++) {
		put(mx, i + 1, prio[i]);
		put(mn, i + 1, prio[i]);
	}
	/* Key 2 was touched after key 4: key 4 now goes first of the 1s. */
	ck_assert_int_eq(replay_table_update(mn, 2, 1, NULL), REPLAY_DONE);
	for (i = 0; i < nitems(prio); i++) {
		ck_assert_uint_eq(draw(mx, NULL), max_order[i]);
		ck_assert_uint_eq(draw(mn, NULL), min_order[i]);
	}
	replay_table_free(mx);
	replay_table_free(mn);
}
END_TEST

/* An update reorders a heap at once. */
START_TEST(test_replay_heap_update)
{
	struct replay_table	*t = table_new(REPLAY_MAX_HEAP, REPLAY_FIFO,
				    100, 0);
	uint64_t		 k;
	double			 p;

	for (k = 1; k <= 100; k++)
		put(t, k, (double)k);
	ck_assert_uint_eq(draw(t, &p), 100);
	ck_assert_double_eq(p, 1);
	ck_assert_int_eq(replay_table_update(t, 17, 1000, NULL), REPLAY_DONE);
	ck_assert_uint_eq(draw(t, NULL), 17);
	ck_assert_int_eq(replay_table_update(t, 17, 0, NULL), REPLAY_DONE);
	ck_assert(replay_table_delete(t, 100));
	ck_assert_uint_eq(draw(t, NULL), 99);
	ck_assert_int_eq(replay_table_update(t, 100, 1, NULL), REPLAY_ERROR);
	replay_table_free(t);
}
END_TEST

/* Uniform draws pass a chi-square test and report 1/n. */
START_TEST(test_replay_uniform_distribution)
{
	struct replay_table	*t = table_new(REPLAY_UNIFORM, REPLAY_FIFO,
				    100, 0);
	unsigned		 counts[10] = { 0 }, i, n = 100000;
	double			 p[10], prob;
	uint64_t		 k;

	/* Insert 20 and delete 10, so that swap-removal has moved some. */
	for (k = 1; k <= 20; k++)
		put(t, k, 1);
	for (k = 1; k <= 20; k += 2)
		ck_assert(replay_table_delete(t, k));
	for (i = 0; i < 10; i++)
		p[i] = 0.1;
	for (i = 0; i < n; i++) {
		k = draw(t, &prob);
		ck_assert_uint_eq(k % 2, 0);
		counts[k / 2 - 1]++;
	}
	ck_assert_double_eq_tol(prob, 0.1, 1e-12);
	ck_assert_double_lt(chi2(counts, p, 10, n), CHI2_9DOF_P001);
	replay_table_free(t);
}
END_TEST

/* Prioritized draws follow p^e / sum and report that probability. */
START_TEST(test_replay_prioritized_distribution)
{
	struct replay_table_config	 cfg = {
		.name = "p", .sampler = REPLAY_PRIORITIZED,
		.remover = REPLAY_FIFO, .priority_exponent = 0.5,
		.max_size = 1000, .seed = 7,
	};
	struct replay_table		*t;
	unsigned			 counts[10] = { 0 }, i, n = 200000;
	double				 p[10], sum = 0, prob;
	uint64_t			 k;

	replay_limiter_min_size(&cfg.limiter, 1, NULL);
	t = replay_table_new(store, &cfg, NULL);
	/* Keys 1..10 with priority k^2 (weight k), and a zero one. */
	put(t, 100, 0);
	for (k = 1; k <= 10; k++) {
		put(t, k, 5);
		sum += (double)k;
	}
	for (k = 1; k <= 10; k++) {
		ck_assert_int_eq(replay_table_update(t, k, (double)(k * k),
		    NULL), REPLAY_DONE);
		p[k - 1] = (double)k / sum;
	}
	for (i = 0; i < n; i++) {
		k = draw(t, &prob);
		ck_assert_uint_ne(k, 100);
		ck_assert_double_eq_tol(prob, p[k - 1], 1e-9);
		counts[k - 1]++;
	}
	ck_assert_double_lt(chi2(counts, p, 10, n), CHI2_9DOF_P001);
	replay_table_free(t);
}
END_TEST

/* Zero priorities all round: draws are uniform, as Reverb's. */
START_TEST(test_replay_prioritized_all_zero)
{
	struct replay_table	*t = table_new(REPLAY_PRIORITIZED,
				    REPLAY_FIFO, 100, 0);
	uint64_t		 k;
	double			 prob;

	for (k = 1; k <= 4; k++)
		put(t, k, 0);
	k = draw(t, &prob);
	ck_assert(k >= 1 && k <= 4);
	ck_assert_double_eq(prob, 0.25);
	ck_assert_int_eq(replay_table_update(t, 3, -1, NULL), REPLAY_ERROR);
	ck_assert_int_eq(replay_table_update(t, 3, NAN, NULL), REPLAY_ERROR);
	replay_table_free(t);
}
END_TEST

/* A sum tree under heavy churn still sums to what it holds. */
START_TEST(test_replay_prioritized_churn)
{
	struct replay_table	*t = table_new(REPLAY_PRIORITIZED,
				    REPLAY_PRIORITIZED, 3000, 0);
	struct rng		 r;
	double			 want = 0;
	uint64_t		 k;
	size_t			 i;

	rng_seed(&r, 3);
	for (k = 1; k <= 5000; k++)
		put(t, k, rng_double(&r) * 100);
	for (i = 0; i < 20000; i++) {
		k = 1 + rng_below(&r, 5000);
		replay_table_update(t, k, rng_double(&r) * 100, NULL);
	}
	for (i = 0; i < t->sampler.len; i++)
		want += t->sampler.v[i]->priority;
	ck_assert_uint_eq(t->sampler.len, 3000);
	ck_assert_double_eq_tol(t->sampler.tree[1], want, want * 1e-12);
	ck_assert_double_eq_tol(t->remover.tree[1], want, want * 1e-12);
	replay_table_free(t);
}
END_TEST

/* Which key a full table of each remover evicts. */
static uint64_t
evicted(enum replay_selector remover, const double *prio)
{
	struct replay_table	*t = table_new(REPLAY_FIFO, remover, 3, 0);
	courier_value		*v;
	uint64_t		 k, gone = 0;

	for (k = 1; k <= 4; k++)
		put(t, k, prio[k - 1]);
	ck_assert_uint_eq(t->entries.len, 3);
	ck_assert_uint_eq(replay_store_len(store), 3);
	for (k = 1; k <= 4; k++) {
		if ((v = replay_store_get(store, k)) == NULL) {
			ck_assert_uint_eq(gone, 0);
			gone = k;
		}
		courier_value_unref(v);
	}
	ck_assert_int_eq(t->limiter.deletes, 1);
	replay_table_free(t);
	return (gone);
}

/* Each remover evicts its own choice when the table is full. */
START_TEST(test_replay_eviction)
{
	static const double	 prio[] = { 2, 7, 1, 5 };
	static const double	 one[] = { 0, 0, 1, 0 };
	uint64_t		 k;

	ck_assert_uint_eq(evicted(REPLAY_FIFO, prio), 1);
	/* lifo evicts the newest: the item just inserted, as Reverb. */
	ck_assert_uint_eq(evicted(REPLAY_LIFO, prio), 4);
	ck_assert_uint_eq(evicted(REPLAY_MAX_HEAP, prio), 2);
	ck_assert_uint_eq(evicted(REPLAY_MIN_HEAP, prio), 3);
	/* Prioritized evicts by weight: only key 3 has any. */
	ck_assert_uint_eq(evicted(REPLAY_PRIORITIZED, one), 3);
	k = evicted(REPLAY_UNIFORM, prio);
	ck_assert(k >= 1 && k <= 4);
}
END_TEST

/* An item goes after max_times_sampled draws, each draw counted. */
START_TEST(test_replay_max_times_sampled)
{
	struct replay_table	*t = table_new(REPLAY_UNIFORM, REPLAY_FIFO,
				    10, 3);
	struct replay_sample	 s[8];
	size_t			 got;
	uint32_t		 i;

	put(t, 9, 1);
	for (i = 1; i <= 3; i++) {
		ck_assert_int_eq(replay_table_sample(t, 1, s, &got, NULL,
		    NULL), REPLAY_DONE);
		ck_assert_uint_eq(s[0].times_sampled, i);
		ck_assert_uint_eq(s[0].table_size, 1);
		replay_samples_clear(s, got);
	}
	ck_assert_uint_eq(t->entries.len, 0);
	ck_assert_uint_eq(replay_store_len(store), 0);
	ck_assert_int_eq(replay_table_sample(t, 1, s, &got, NULL, NULL),
	    REPLAY_BLOCKED);
	/* One call draws until the item is used up, then stops. */
	put(t, 10, 1);
	ck_assert_int_eq(replay_table_sample(t, 8, s, &got, NULL, NULL),
	    REPLAY_DONE);
	ck_assert_uint_eq(got, 3);
	replay_samples_clear(s, got);
	replay_table_free(t);
}
END_TEST

/* Two tables hold one stored item; it lives until both let go. */
START_TEST(test_replay_shared_items)
{
	struct replay_table	*a = table_new(REPLAY_FIFO, REPLAY_FIFO, 2, 0);
	struct replay_table	*b = table_new(REPLAY_FIFO, REPLAY_FIFO, 2, 0);
	courier_value		*v = courier_string("payload"), *got;
	struct replay_sample	 sa, sb;
	size_t			 n;

	ck_assert_int_eq(replay_table_insert(a, 5, v, 1, NULL, NULL), 0);
	ck_assert_int_eq(replay_table_insert(b, 5, v, 2, NULL, NULL), 0);
	courier_value_unref(v);
	ck_assert_uint_eq(replay_store_len(store), 1);
	replay_table_sample(a, 1, &sa, &n, NULL, NULL);
	replay_table_sample(b, 1, &sb, &n, NULL, NULL);
	ck_assert_ptr_eq(sa.value, sb.value);
	ck_assert_double_eq(sa.priority, 1);
	ck_assert_double_eq(sb.priority, 2);
	replay_samples_clear(&sa, 1);
	replay_samples_clear(&sb, 1);

	ck_assert(replay_table_delete(a, 5));
	ck_assert(!replay_table_delete(a, 5));
	got = replay_store_get(store, 5);
	ck_assert_str_eq(courier_value_string(got, NULL), "payload");
	courier_value_unref(got);
	/* Eviction lets go too. */
	put(b, 6, 0);
	put(b, 7, 0);
	ck_assert_ptr_null(replay_store_get(store, 5));
	ck_assert_uint_eq(replay_store_len(store), 2);
	ck_assert_uint_gt(replay_store_new_key(store), 7);
	replay_table_free(a);
	replay_table_free(b);
}
END_TEST

/* A limiter with Reverb's constructor arguments. */
static struct replay_limiter
limiter(double spi, int64_t min_size, double min_diff, double max_diff)
{
	struct replay_limiter	l = {
		.cfg = { spi, min_size, min_diff, max_diff },
	};

	return (l);
}

/*
 * Reverb's rate_limiter_test.cc, case by case. can_sample(n):
 * inserts - deletes >= min_size and inserts * spi - samples - n >=
 * min_diff; can_insert(n): inserts + n - deletes <= min_size, or
 * (inserts + n) * spi - samples <= max_diff.
 */
START_TEST(test_replay_limiter_reverb)
{
	struct replay_limiter	l;
	int			i;

	/* CanSample: spi 1, min 1, [-1, 1]. */
	l = limiter(1, 1, -1, 1);
	ck_assert(!replay_limiter_can_sample(&l, 1));
	l.inserts++;
	ck_assert(replay_limiter_can_sample(&l, 1));	/* diff 0 */
	ck_assert(replay_limiter_can_sample(&l, 2));	/* diff -1 */
	ck_assert(!replay_limiter_can_sample(&l, 3));	/* diff -2 */

	/* CanInsert: spi 1.5, min 2, [0, 5]. */
	l = limiter(1.5, 2, 0, 5);
	ck_assert(replay_limiter_can_insert(&l, 1));	/* under min size */
	ck_assert(replay_limiter_can_insert(&l, 2));	/* at min size */
	ck_assert(replay_limiter_can_insert(&l, 3));	/* diff 4.5 */
	ck_assert(!replay_limiter_can_insert(&l, 4));	/* diff 6 */
	l.inserts = 3;
	ck_assert(!replay_limiter_can_insert(&l, 1));
	l.samples = 2;					/* diff 2.5 */
	ck_assert(replay_limiter_can_insert(&l, 1));	/* diff 4 */
	ck_assert(!replay_limiter_can_insert(&l, 2));	/* diff 5.5 */

	/* Within the buffer: spi 1.5, min 1, [-3, 3.1]: 6 samples pass. */
	l = limiter(1.5, 1, -3, 3.1);
	ck_assert(replay_limiter_can_insert(&l, 1));
	l.inserts++;
	ck_assert(replay_limiter_can_insert(&l, 1));	/* diff 3.0 */
	l.inserts++;
	for (i = 0; i < 6; i++) {
		ck_assert(replay_limiter_can_sample(&l, 1));
		l.samples++;
	}
	ck_assert(!replay_limiter_can_sample(&l, 1));	/* diff -4 */

	/* Min and max: spi 1.5, min 2, [-1, 3]. */
	l = limiter(1.5, 2, -1, 3);
	ck_assert(!replay_limiter_can_sample(&l, 1));
	l.inserts = 1;
	ck_assert(!replay_limiter_can_sample(&l, 1));
	l.inserts = 2;
	ck_assert(replay_limiter_can_sample(&l, 1));
	ck_assert(!replay_limiter_can_insert(&l, 1));	/* diff 4.5 */
	l.samples = 1;
	ck_assert(!replay_limiter_can_insert(&l, 1));	/* diff 3.5 */
	l.samples = 2;
	ck_assert(replay_limiter_can_insert(&l, 1));	/* diff 2.5 */

	/* Deletes shrink the size that min_size looks at. */
	l = limiter(1, 2, -DBL_MAX, DBL_MAX);
	l.inserts = 2;
	ck_assert(replay_limiter_can_sample(&l, 1));
	l.deletes = 1;
	ck_assert(!replay_limiter_can_sample(&l, 1));
}
END_TEST

/* The constructors give Reverb's ranges and refuse what cannot work. */
START_TEST(test_replay_limiter_forms)
{
	struct replay_limiter_config	c;
	char				*cause = NULL;

	ck_assert_int_eq(replay_limiter_ratio(&c, 8, 1000, 100, NULL), 0);
	ck_assert_double_eq(c.min_diff, 7900);
	ck_assert_double_eq(c.max_diff, 8100);
	ck_assert_int_eq(replay_limiter_queue(&c, 10, NULL), 0);
	ck_assert_double_eq(c.samples_per_insert, 1);
	ck_assert_int_eq(c.min_size_to_sample, 1);
	ck_assert_double_eq(c.min_diff, 0);
	ck_assert_double_eq(c.max_diff, 10);

	ck_assert_int_eq(replay_limiter_ratio(&c, 8, 1000, 7, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "narrower"));
	free(cause);
	ck_assert_int_eq(replay_limiter_ratio_range(&c, 1, 10, 11, 20,
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "never"));
	free(cause);
	ck_assert_int_eq(replay_limiter_min_size(&c, 0, &cause), -1);
	free(cause);
	ck_assert_int_eq(replay_limiter_queue(&c, 0, &cause), -1);
	free(cause);
	c = (struct replay_limiter_config){ 1, 1, 50, 40 };
	ck_assert_int_eq(replay_limiter_check(&c, &cause), -1);
	free(cause);
	c = (struct replay_limiter_config){ 1, 1, 5, 5 };
	ck_assert_int_eq(replay_limiter_check(&c, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "never sample"));
	free(cause);
}
END_TEST

/* A table refuses a bad configuration with a cause. */
START_TEST(test_replay_table_config)
{
	struct replay_table_config	 cfg = {
		.name = "bad", .sampler = REPLAY_UNIFORM,
		.remover = REPLAY_FIFO, .max_size = 0,
	};
	char				*cause = NULL;

	replay_limiter_min_size(&cfg.limiter, 1, NULL);
	ck_assert_ptr_null(replay_table_new(store, &cfg, &cause));
	ck_assert_str_eq(cause, "table bad: max_size is 0");
	free(cause);
	cfg.max_size = 1;
	cfg.remover = 17;
	ck_assert_ptr_null(replay_table_new(store, &cfg, &cause));
	free(cause);
	ck_assert_int_eq(replay_selector_from_name("max_heap"),
	    REPLAY_MAX_HEAP);
	ck_assert_int_eq(replay_selector_from_name("heap"), -1);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite	*s = suite_create("replay");
	TCase	*tc;

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replay_fifo_lifo_order);
	tcase_add_test(tc, test_replay_heap_order);
	tcase_add_test(tc, test_replay_heap_update);
	suite_add_tcase(s, tc);

	tc = tcase_create("distribution");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replay_uniform_distribution);
	tcase_add_test(tc, test_replay_prioritized_distribution);
	tcase_add_test(tc, test_replay_prioritized_all_zero);
	tcase_add_test(tc, test_replay_prioritized_churn);
	suite_add_tcase(s, tc);

	tc = tcase_create("removal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replay_eviction);
	tcase_add_test(tc, test_replay_max_times_sampled);
	tcase_add_test(tc, test_replay_shared_items);
	tcase_add_test(tc, test_replay_table_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("limiter");
	tcase_add_test(tc, test_replay_limiter_reverb);
	tcase_add_test(tc, test_replay_limiter_forms);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(replay_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
