/*
 * check-replay-wait.c: unit tests of the calls that the rate limiter
 * holds back: waiters woken by the change that admits them, as many as
 * it admits, never nested, released by the stop; the blocking forms; and
 * eight threads inserting, sampling, updating and deleting at once over
 * two tables that share their items.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "replay-test.h"

/* A waiter that records its wakes; it may retry a sample. */
struct rec {
	struct replay_waiter	 w;
	struct replay_table	*t;
	int			 ready;
	int			 stopped;
	bool			 retry;		/* sample again when woken */
	size_t			 drawn;
};

static int	depth, max_depth;

static void
rec_wake_cb(struct replay_waiter *w, enum replay_wake why, void *arg)
{
	struct rec		*r = arg;
	struct replay_sample	 s;
	size_t			 got;

	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (why == REPLAY_WAKE_READY)
		r->ready++;
	else
		r->stopped++;
	if (why == REPLAY_WAKE_READY && r->retry) {
		if (replay_table_sample(r->t, 1, &s, &got, &r->w, NULL) ==
		    REPLAY_DONE) {
			r->drawn += got;
			replay_samples_clear(&s, got);
		}
	}
	depth--;
}

static void
rec_init(struct rec *r, struct replay_table *t, bool retry)
{
	memset(r, 0, sizeof *r);
	replay_waiter_init(&r->w, rec_wake_cb, r);
	r->t = t;
	r->retry = retry;
}

/* A queue table: fifo, max_times_sampled 1, Queue(size). */
static struct replay_table *
queue_new(int64_t size)
{
	struct replay_table_config	 cfg = {
		.name = "q", .sampler = REPLAY_FIFO, .remover = REPLAY_FIFO,
		.max_size = (uint64_t)size, .max_times_sampled = 1,
	};
	struct replay_table		*t;

	ck_assert_int_eq(replay_limiter_queue(&cfg.limiter, size, NULL), 0);
	t = replay_table_new(store, &cfg, NULL);
	ck_assert_ptr_nonnull(t);
	return (t);
}

/* A sample of an empty table waits; the insert that admits it wakes it. */
START_TEST(test_replay_wait_sample)
{
	struct replay_table	*t = queue_new(4);
	struct replay_table_info info;
	struct replay_sample	 s;
	struct rec		 r;
	size_t			 got;

	rec_init(&r, t, true);
	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &r.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(r.ready, 0);
	replay_table_info(t, &info);
	ck_assert_uint_eq(info.waiting_samples, 1);
	ck_assert(!info.can_sample);
	put(t, 1, 0);
	replay_table_info(t, &info);
	ck_assert_uint_eq(info.waiting_samples, 0);
	ck_assert_int_eq(r.ready, 1);
	ck_assert_uint_eq(r.drawn, 1);
	ck_assert_uint_eq(t->entries.len, 0);
	replay_table_free(t);
}
END_TEST

/* Queue(2): the third insert waits until a sample makes room. */
START_TEST(test_replay_wait_insert)
{
	struct replay_table	*t = queue_new(2);
	courier_value		*v = courier_int(3);
	struct rec		 r;

	rec_init(&r, t, false);
	put(t, 1, 0);
	put(t, 2, 0);
	ck_assert_int_eq(replay_table_insert(t, 3, v, 0, &r.w, NULL),
	    REPLAY_BLOCKED);
	/* An update of a key held is not an insert: it goes ahead. */
	ck_assert_int_eq(replay_table_insert(t, 2, v, 5, NULL, NULL),
	    REPLAY_DONE);
	ck_assert_int_eq(r.ready, 0);
	ck_assert_uint_eq(draw(t, NULL), 1);
	ck_assert_int_eq(r.ready, 1);
	ck_assert_int_eq(replay_table_insert(t, 3, v, 0, NULL, NULL),
	    REPLAY_DONE);
	courier_value_unref(v);
	ck_assert_uint_eq(draw(t, NULL), 2);
	ck_assert_uint_eq(draw(t, NULL), 3);
	replay_table_free(t);
}
END_TEST

/*
 * Ten samplers wait; one insert admits one draw and wakes one. Each
 * waiter's retry is a draw, so a burst of inserts wakes them in turn,
 * every callback at depth 1 though one wakes the next.
 */
START_TEST(test_replay_wait_budget)
{
	struct replay_table	*t = queue_new(100);
	struct replay_sample	 s;
	struct rec		 r[10];
	size_t			 got, i, drawn = 0;
	int			 ready = 0;

	for (i = 0; i < 10; i++) {
		rec_init(&r[i], t, true);
		ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &r[i].w,
		    NULL), REPLAY_BLOCKED);
	}
	put(t, 1, 0);
	for (i = 0; i < 10; i++) {
		ready += r[i].ready;
		drawn += r[i].drawn;
	}
	ck_assert_int_eq(ready, 1);
	ck_assert_uint_eq(drawn, 1);
	ck_assert_int_eq(r[0].ready, 1);	/* first come, first woken */

	/* Reset counts as a change too; nothing to draw, nobody woken. */
	replay_table_reset(t);
	for (i = 2; i <= 9; i++)
		put(t, i, 0);
	ready = 0;
	drawn = 0;
	for (i = 0; i < 10; i++) {
		ready += r[i].ready;
		drawn += r[i].drawn;
	}
	ck_assert_uint_eq(drawn, 9);
	ck_assert_uint_eq(t->entries.len, 0);
	replay_table_stop(t);
	for (i = 1; i < 10; i++)
		ck_assert_int_eq(r[i].stopped, r[i].drawn == 0 ? 1 : 0);
	replay_table_free(t);
}
END_TEST

/*
 * A chain: with MinSize(1), one insert admits a draw, and each draw
 * admits the next, so the ten waiters wake one another; each callback
 * still runs at depth 1, after the one that caused it has returned.
 */
START_TEST(test_replay_wait_chain)
{
	struct replay_table	*t = table_new(REPLAY_UNIFORM, REPLAY_FIFO,
				    10, 0);
	struct replay_sample	 s;
	struct rec		 r[10];
	size_t			 got, i;

	for (i = 0; i < 10; i++) {
		rec_init(&r[i], t, true);
		ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &r[i].w,
		    NULL), REPLAY_BLOCKED);
	}
	max_depth = 0;
	put(t, 1, 0);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(r[i].drawn, 1);
	ck_assert_int_eq(max_depth, 1);
	ck_assert_int_eq(t->limiter.samples, 10);
	replay_table_free(t);
}
END_TEST

/*
 * All or nothing: a draw of n waits until the limiter admits all n, and
 * takes nothing before; a table that uses items up needs n items, with
 * its minimum size kept until the last draw.
 */
START_TEST(test_replay_wait_all)
{
	struct replay_table_config	 cfg = {
		.name = "m", .sampler = REPLAY_FIFO, .remover = REPLAY_FIFO,
		.max_size = 10, .max_times_sampled = 1,
	};
	struct replay_table		*q = queue_new(5), *u, *m;
	struct replay_table_info	 info;
	struct replay_sample		 s[8];
	struct rec			 a, b;
	char				*cause = NULL;
	size_t				 i;

	rec_init(&a, q, false);
	rec_init(&b, q, false);
	put(q, 1, 0);
	put(q, 2, 0);
	ck_assert_int_eq(replay_table_sample_all(q, 3, s, &a.w, NULL),
	    REPLAY_BLOCKED);
	replay_table_info(q, &info);
	ck_assert_int_eq(info.samples, 0);
	ck_assert_uint_eq(info.size, 2);
	put(q, 3, 0);
	ck_assert_int_eq(a.ready, 1);
	ck_assert_int_eq(replay_table_sample_all(q, 3, s, &a.w, NULL),
	    REPLAY_DONE);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(s[i].key, i + 1);
	replay_samples_clear(s, 3);
	/* One item does not wake a caller that wants two... */
	ck_assert_int_eq(replay_table_sample_all(q, 2, s, &b.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert_int_eq(replay_table_sample_all(q, 1, s, &a.w, NULL),
	    REPLAY_BLOCKED);
	put(q, 4, 0);
	ck_assert_int_eq(b.ready, 0);
	/* ...but the caller behind it, who wants one, goes ahead. */
	ck_assert_int_eq(a.ready, 2);
	ck_assert(!replay_table_can_ever_draw(q, 6, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "never"));
	free(cause);
	ck_assert(replay_table_can_ever_draw(q, 5, NULL));
	replay_table_stop(q);
	ck_assert_int_eq(b.stopped, 1);
	replay_table_free(q);

	/* Draws that use nothing up may repeat one item. */
	u = table_new(REPLAY_UNIFORM, REPLAY_FIFO, 10, 0);
	put(u, 1, 0);
	ck_assert_int_eq(replay_table_sample_all(u, 4, s, NULL, NULL),
	    REPLAY_DONE);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(s[i].key, 1);
	replay_samples_clear(s, 4);
	replay_table_free(u);

	/* MinSize(3), items used up: two draws need four items. */
	ck_assert_int_eq(replay_limiter_min_size(&cfg.limiter, 3, NULL), 0);
	m = replay_table_new(store, &cfg, NULL);
	for (i = 1; i <= 3; i++)
		put(m, i, 0);
	ck_assert_int_eq(replay_table_sample_all(m, 2, s, NULL, NULL),
	    REPLAY_BLOCKED);
	put(m, 4, 0);
	ck_assert_int_eq(replay_table_sample_all(m, 2, s, NULL, NULL),
	    REPLAY_DONE);
	replay_samples_clear(s, 2);
	ck_assert(!replay_table_can_ever_draw(m, 9, NULL));
	ck_assert(replay_table_can_ever_draw(m, 8, NULL));
	replay_table_free(m);
}
END_TEST

/*
 * An insert into two tables goes into both or neither: held back by one
 * limiter, it waits on that table and leaves no copy in the other.
 */
START_TEST(test_replay_wait_insert_many)
{
	struct replay_table	*t[2], *q;
	courier_value		*v = courier_int(2), *got;
	struct rec		 r;
	const double		 prio[2] = { 1, 1 };

	t[0] = table_new(REPLAY_UNIFORM, REPLAY_FIFO, 10, 0);
	t[1] = q = queue_new(1);
	rec_init(&r, q, false);
	got = courier_int(1);
	ck_assert_int_eq(replay_tables_insert(t, 2, 1, got, prio, NULL, NULL),
	    REPLAY_DONE);
	courier_value_unref(got);
	ck_assert_int_eq(replay_tables_insert(t, 2, 2, v, prio, &r.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert_ptr_eq(atomic_load(&r.w.on), q);
	ck_assert_ptr_null(replay_store_get(store, 2));
	ck_assert_uint_eq(t[0]->entries.len, 1);
	ck_assert_uint_eq(draw(q, NULL), 1);
	ck_assert_int_eq(r.ready, 1);
	ck_assert_int_eq(replay_tables_insert(t, 2, 2, v, prio, &r.w, NULL),
	    REPLAY_DONE);
	got = replay_store_get(store, 2);
	ck_assert_ptr_eq(got, v);	/* one item, in both tables */
	courier_value_unref(got);
	ck_assert_uint_eq(t[0]->entries.len, 2);
	ck_assert_uint_eq(q->entries.len, 1);
	/* A bad priority for one table refuses the whole insert. */
	ck_assert_int_eq(replay_tables_insert(t, 2, 3, v,
	    (const double[]){ 1, NAN }, NULL, NULL), REPLAY_ERROR);
	ck_assert_ptr_null(replay_store_get(store, 3));
	courier_value_unref(v);
	replay_table_free(t[0]);
	replay_table_free(t[1]);
}
END_TEST

/* The stop releases every waiter once, and refuses later calls. */
START_TEST(test_replay_wait_stop)
{
	struct replay_table	*t = queue_new(1);
	courier_value		*v = courier_int(0);
	struct replay_sample	 s;
	struct rec		 a, b, c;
	size_t			 got;

	rec_init(&a, t, false);
	rec_init(&b, t, false);
	rec_init(&c, t, false);
	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &a.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &c.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert(replay_table_unwait(t, &c.w));
	ck_assert(!replay_table_unwait(t, &c.w));
	put(t, 1, 0);			/* wakes a, who does not retry */
	ck_assert_int_eq(a.ready, 1);
	ck_assert_int_eq(replay_table_insert(t, 2, v, 0, &b.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &a.w, NULL),
	    REPLAY_DONE);
	replay_samples_clear(&s, got);
	/* a's draw admitted b's insert: b was woken and gives up. */
	ck_assert_int_eq(b.ready, 1);
	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, &a.w, NULL),
	    REPLAY_BLOCKED);
	ck_assert_int_eq(replay_table_insert(t, 3, v, 0, &b.w, NULL),
	    REPLAY_DONE);
	ck_assert_int_eq(replay_table_insert(t, 4, v, 0, &b.w, NULL),
	    REPLAY_BLOCKED);
	replay_table_stop(t);
	replay_table_stop(t);
	/* The insert of 3 woke a (now off the queue); b still waited. */
	ck_assert_int_eq(a.ready, 2);
	ck_assert_int_eq(a.stopped, 0);
	ck_assert_int_eq(b.stopped, 1);
	ck_assert_int_eq(c.stopped + c.ready, 0);
	ck_assert_int_eq(replay_table_insert(t, 5, v, 0, NULL, NULL),
	    REPLAY_STOPPED);
	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, NULL, NULL),
	    REPLAY_STOPPED);
	courier_value_unref(v);
	replay_table_free(t);
}
END_TEST

struct stopper {
	struct replay_table	*t;
	enum replay_status	 st;
};

static void *
stopper_main(void *arg)
{
	struct stopper		*sp = arg;
	struct replay_sample	 s;
	size_t			 got;

	sp->st = replay_table_sample_wait(sp->t, 1, &s, &got,
	    COURIER_FOREVER, NULL);
	return (NULL);
}

/* A thread sleeping in a blocking sample is released by the stop. */
START_TEST(test_replay_wait_blocking)
{
	struct replay_table	*t = queue_new(1);
	courier_value		*v = courier_int(0);
	struct replay_sample	 s;
	struct stopper		 sp = { t, REPLAY_DONE };
	pthread_t		 th;
	size_t			 got;

	ck_assert_int_eq(replay_table_sample_wait(t, 1, &s, &got, 10, NULL),
	    REPLAY_BLOCKED);
	put(t, 1, 0);
	ck_assert_int_eq(replay_table_insert_wait(t, 2, v, 0, 10, NULL),
	    REPLAY_BLOCKED);
	ck_assert_int_eq(replay_table_sample_wait(t, 1, &s, &got, 10, NULL),
	    REPLAY_DONE);
	replay_samples_clear(&s, got);
	ck_assert_int_eq(pthread_create(&th, NULL, stopper_main, &sp), 0);
	/* Whether it sleeps yet or not, the stop ends its wait. */
	replay_table_stop(t);
	pthread_join(th, NULL);
	ck_assert_int_eq(sp.st, REPLAY_STOPPED);
	courier_value_unref(v);
	replay_table_free(t);
}
END_TEST

#define THREAD_INSERTS	3000

struct mt {
	struct replay_table	*a;	/* uniform, a ratio limiter */
	struct replay_table	*b;	/* prioritized, small, MinSize(1) */
	_Atomic int64_t		 drawn;
	_Atomic int		 failures;
	int			 id;
};

/* An inserter: items into both tables, under a's limiter. */
static void *
inserter_main(void *arg)
{
	struct mt	*m = arg;
	courier_value	*v;
	uint64_t	 k;
	int		 i;

	for (i = 0; i < THREAD_INSERTS; i++) {
		k = replay_store_new_key(store);
		v = courier_bytes(&k, sizeof k);
		if (replay_table_insert_wait(m->a, k, v, 1, COURIER_FOREVER,
		    NULL) != REPLAY_DONE ||
		    replay_table_insert(m->b, k, v, (double)(k % 7), NULL,
		    NULL) != REPLAY_DONE)
			atomic_fetch_add(&m->failures, 1);
		courier_value_unref(v);
	}
	return (NULL);
}

/* A sampler: draws from a until the stop, and churns b. */
static void *
sampler_main(void *arg)
{
	struct mt		*m = arg;
	struct replay_sample	 s[4];
	size_t			 got, i;
	const void		*data;
	uint64_t		 k;

	while (replay_table_sample_wait(m->a, 4, s, &got, COURIER_FOREVER,
	    NULL) == REPLAY_DONE) {
		for (i = 0; i < got; i++) {
			data = courier_value_bytes(s[i].value, NULL);
			memcpy(&k, data, sizeof k);
			if (k != s[i].key)
				atomic_fetch_add(&m->failures, 1);
			replay_table_update(m->b, k, 3, NULL);
			if (k % 5 == 0)
				replay_table_delete(m->b, k);
		}
		replay_samples_clear(s, got);
		atomic_fetch_add(&m->drawn, (int64_t)got);
		if (replay_table_sample(m->b, 2, s, &got, NULL, NULL) ==
		    REPLAY_DONE)
			replay_samples_clear(s, got);
	}
	return (NULL);
}

/* Eight threads at once: counts add up and nothing leaks (ASan, valgrind). */
START_TEST(test_replay_threads)
{
	struct replay_table_config	 ca = {
		.name = "a", .sampler = REPLAY_UNIFORM,
		.remover = REPLAY_FIFO, .max_size = 500, .seed = 1,
	}, cb = {
		.name = "b", .sampler = REPLAY_PRIORITIZED,
		.remover = REPLAY_MIN_HEAP, .priority_exponent = 0.8,
		.max_size = 100, .seed = 2,
	};
	struct replay_table_info	 info;
	struct mt			 m = { 0 };
	pthread_t			 th[8];
	int				 i;

	ck_assert_int_eq(replay_limiter_ratio(&ca.limiter, 2, 50, 40,
	    NULL), 0);
	replay_limiter_min_size(&cb.limiter, 1, NULL);
	m.a = replay_table_new(store, &ca, NULL);
	m.b = replay_table_new(store, &cb, NULL);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, i % 2 ?
		    sampler_main : inserter_main, &m), 0);
	for (i = 0; i < 8; i += 2)
		pthread_join(th[i], NULL);
	replay_table_stop(m.a);
	for (i = 1; i < 8; i += 2)
		pthread_join(th[i], NULL);

	ck_assert_int_eq(m.failures, 0);
	replay_table_info(m.a, &info);
	ck_assert_int_eq(info.inserts, 4 * THREAD_INSERTS);
	ck_assert_int_eq(info.samples, m.drawn);
	ck_assert_uint_eq(info.size, 500);
	/* The limiter held the ratio within its buffer all along. */
	ck_assert(info.samples <= 2 * info.inserts - 60);
	ck_assert(info.samples >= 2 * info.inserts - 140 - 1);
	replay_table_info(m.b, &info);
	ck_assert_uint_le(info.size, 100);
	ck_assert_uint_le(replay_store_len(store), 600);
	ck_assert_uint_ge(replay_store_len(store), 500);
	replay_table_free(m.a);
	replay_table_free(m.b);
	ck_assert_uint_eq(replay_store_len(store), 0);
}
END_TEST

static Suite *
wait_suite(void)
{
	Suite	*s = suite_create("replay-wait");
	TCase	*tc;

	tc = tcase_create("waiters");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replay_wait_sample);
	tcase_add_test(tc, test_replay_wait_insert);
	tcase_add_test(tc, test_replay_wait_budget);
	tcase_add_test(tc, test_replay_wait_chain);
	tcase_add_test(tc, test_replay_wait_all);
	tcase_add_test(tc, test_replay_wait_insert_many);
	tcase_add_test(tc, test_replay_wait_stop);
	tcase_add_test(tc, test_replay_wait_blocking);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replay_threads);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(wait_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
