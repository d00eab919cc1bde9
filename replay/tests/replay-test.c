/*
 * replay-test.c: what the replay tests share: a store per test, and
 * tables, inserts and draws that assert as they go.
 */
#include <check.h>

#include "replay-test.h"

struct replay_store	*store;

void
setup(void)
{
	store = replay_store_new();
}

void
teardown(void)
{
	replay_store_free(store);
}

/* A table of the given sampler and remover, MinSize(1), seed 42. */
struct replay_table *
table_new(enum replay_selector sampler, enum replay_selector remover,
    uint64_t max_size, uint32_t max_times_sampled)
{
	struct replay_table_config	 cfg = {
		.name = "t", .sampler = sampler, .remover = remover,
		.priority_exponent = 1, .max_size = max_size,
		.max_times_sampled = max_times_sampled, .seed = 42,
	};
	struct replay_table		*t;
	char				*cause = NULL;

	ck_assert_int_eq(replay_limiter_min_size(&cfg.limiter, 1, &cause), 0);
	t = replay_table_new(store, &cfg, &cause);
	ck_assert_ptr_nonnull(t);
	return (t);
}

/* Insert key with an int value of the key and a priority. */
void
put(struct replay_table *t, uint64_t key, double priority)
{
	courier_value	*v = courier_int((int64_t)key);
	char		*cause = NULL;

	ck_assert_int_eq(replay_table_insert(t, key, v, priority, NULL,
	    &cause), REPLAY_DONE);
	courier_value_unref(v);
}

/* Draw one item and return its key. */
uint64_t
draw(struct replay_table *t, double *prob)
{
	struct replay_sample	 s;
	size_t			 got;
	char			*cause = NULL;

	ck_assert_int_eq(replay_table_sample(t, 1, &s, &got, NULL, &cause),
	    REPLAY_DONE);
	ck_assert_uint_eq(got, 1);
	if (courier_value_type(s.value) == COURIER_INT)
		ck_assert_int_eq(courier_value_int(s.value), (int64_t)s.key);
	if (prob != NULL)
		*prob = s.probability;
	replay_samples_clear(&s, 1);
	return (s.key);
}

