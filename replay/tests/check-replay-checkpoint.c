/*
 * check-replay-checkpoint.c: unit tests of checkpoints: a round trip of
 * two tables sharing items (values, priorities, counts, order and the
 * random draws all as they were), and files that must be refused whole:
 * a damaged byte, a truncated file, another format version, a stranger.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay-test.h"

static char	dir[64];
static char	path[256];

static void
ckpt_setup(void)
{
	/* A fresh template each time: without fork, tests share dir. */
	snprintf(dir, sizeof dir, "/tmp/check-replay-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setup();
	snprintf(path, sizeof path, "%s/replay.ckpt", dir);
}

static void
ckpt_teardown(void)
{
	unlink(path);
	rmdir(dir);
	teardown();
}

/* Two tables sharing some items, with a tensor among them. */
static void
fill(struct replay_table **t)
{
	static const float	 data[6] = { 1, 2, 3, 4, 5, 6 };
	const int64_t		 shape[2] = { 2, 3 };
	courier_value		*v;
	uint64_t		 k;

	t[0] = table_new(REPLAY_PRIORITIZED, REPLAY_FIFO, 100, 0);
	t[1] = table_new(REPLAY_FIFO, REPLAY_MAX_HEAP, 100, 5);
	free((char *)t[1]->cfg.name);
	t[1]->name = xstrdup("queue");
	t[1]->cfg.name = t[1]->name;
	for (k = 1; k <= 20; k++)
		put(t[0], k, (double)k);
	for (k = 10; k <= 30; k++)
		put(t[1], k, (double)(k % 4));
	v = courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data, sizeof data,
	    NULL);
	ck_assert_int_eq(replay_table_insert(t[0], 99, v, 50, NULL, NULL), 0);
	ck_assert_int_eq(replay_table_insert(t[1], 99, v, 50, NULL, NULL), 0);
	courier_value_unref(v);
	draw(t[0], NULL);
	draw(t[1], NULL);
	ck_assert(replay_table_delete(t[0], 3));
}

/* Draw n keys from t into out. */
static void
draws(struct replay_table *t, uint64_t *out, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		out[i] = draw(t, NULL);
}

/* What is read back is what was written, down to the next draws. */
START_TEST(test_replay_checkpoint_round_trip)
{
	struct replay_table	*t[2], **back;
	struct replay_store	*st;
	struct replay_table_info a, b;
	courier_value		*v, *w;
	uint64_t		 d1[40], d2[40], k;
	size_t			 n, i;
	char			*cause = NULL;

	fill(t);
	ck_assert_int_eq(replay_checkpoint_write(path, t, 2, &cause), 0);
	ck_assert_int_eq(replay_checkpoint_read(path, &st, &back, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(back[1]->name, "queue");
	ck_assert_uint_eq(replay_store_len(st), replay_store_len(store));
	for (i = 0; i < 2; i++) {
		replay_table_info(t[i], &a);
		replay_table_info(back[i], &b);
		ck_assert_uint_eq(a.size, b.size);
		ck_assert_int_eq(a.inserts, b.inserts);
		ck_assert_int_eq(a.samples, b.samples);
		ck_assert_int_eq(a.deletes, b.deletes);
		ck_assert_int_eq(back[i]->cfg.sampler, t[i]->cfg.sampler);
		ck_assert_uint_eq(back[i]->cfg.max_times_sampled,
		    t[i]->cfg.max_times_sampled);
	}
	for (k = 1; k <= 99; k++) {
		v = replay_store_get(store, k);
		w = replay_store_get(st, k);
		ck_assert(v == NULL ? w == NULL :
		    courier_value_equal(v, w));
		courier_value_unref(v);
		courier_value_unref(w);
	}
	/* The same generator state and order: the same draws after. */
	for (i = 0; i < 2; i++) {
		draws(t[i], d1, 40);
		draws(back[i], d2, 40);
		ck_assert_mem_eq(d1, d2, sizeof d1);
	}
	ck_assert_uint_gt(replay_store_new_key(st), 99);
	for (i = 0; i < 2; i++) {
		replay_table_free(t[i]);
		replay_table_free(back[i]);
	}
	free(back);
	replay_store_free(st);
}
END_TEST

/* Write a checkpoint of fill()'s tables and return its size. */
static off_t
write_one(void)
{
	struct replay_table	*t[2];
	struct stat		 sb;

	fill(t);
	ck_assert_int_eq(replay_checkpoint_write(path, t, 2, NULL), 0);
	replay_table_free(t[0]);
	replay_table_free(t[1]);
	ck_assert_int_eq(stat(path, &sb), 0);
	return (sb.st_size);
}

/* Set one byte of the file at off; returns what was there. */
static uint8_t
poke(off_t off, uint8_t byte)
{
	int	fd = open(path, O_RDWR);
	uint8_t	old;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &old, 1, off), 1);
	ck_assert_int_eq(pwrite(fd, &byte, 1, off), 1);
	close(fd);
	return (old);
}

/* Flip bits of the byte at off. */
static void
flip(off_t off, uint8_t mask)
{
	uint8_t	old = poke(off, 0);

	poke(off, old ^ mask);
}

/* Reading must fail with a cause containing want, and keep nothing. */
static void
refused(const char *want)
{
	struct replay_store	*st = NULL;
	struct replay_table	**back = NULL;
	size_t			 n = 7;
	char			*cause = NULL;

	ck_assert_int_eq(replay_checkpoint_read(path, &st, &back, &n,
	    &cause), -1);
	ck_assert_ptr_null(st);
	ck_assert_ptr_null(back);
	ck_assert_uint_eq(n, 7);
	ck_assert_msg(strstr(cause, want) != NULL, "cause: %s", cause);
	ck_assert_ptr_nonnull(strstr(cause, path));
	free(cause);
}

/* Every byte of the body matters: a flip anywhere is refused. */
START_TEST(test_replay_checkpoint_damaged)
{
	off_t	size = write_one(), off;

	for (off = 16; off < size; off += size / 37) {
		flip(off, (uint8_t)(1u << (off % 8)));
		refused("checksum mismatch");
		write_one();
	}
}
END_TEST

/* A file cut short anywhere is refused. */
START_TEST(test_replay_checkpoint_truncated)
{
	off_t	size = write_one();

	ck_assert_int_eq(truncate(path, size - 1), 0);
	refused("checksum mismatch");
	ck_assert_int_eq(truncate(path, size / 2), 0);
	refused("checksum mismatch");
	ck_assert_int_eq(truncate(path, 10), 0);
	refused("not a replay checkpoint");
}
END_TEST

/* Another version or another kind of file is named as such. */
START_TEST(test_replay_checkpoint_version)
{
	write_one();
	poke(8, REPLAY_CHECKPOINT_VERSION + 1);
	refused("format version 2, but this build reads version 1");
	write_one();
	poke(0, 'X');
	refused("not a replay checkpoint");
	unlink(path);
	refused("No such file");
}
END_TEST

/*
 * A well-formed file whose second table is bad (written so by reaching
 * into the table) is refused after the first table was built: that one
 * is freed again, and the caller gets nothing.
 */
START_TEST(test_replay_checkpoint_half)
{
	struct replay_table	*t[2];

	fill(t);
	t[1]->cfg.max_size = 0;
	ck_assert_int_eq(replay_checkpoint_write(path, t, 2, NULL), 0);
	t[1]->cfg.max_size = 100;
	replay_table_free(t[0]);
	replay_table_free(t[1]);
	refused("table queue: max_size is 0");
}
END_TEST

/* A failed write leaves the earlier checkpoint and no stray file. */
START_TEST(test_replay_checkpoint_atomic)
{
	struct replay_table	*t[2];
	char			*cause = NULL, bad[300];

	write_one();
	fill(t);
	snprintf(bad, sizeof bad, "%s/nowhere/replay.ckpt", dir);
	ck_assert_int_eq(replay_checkpoint_write(bad, t, 2, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "nowhere"));
	free(cause);
	replay_table_free(t[0]);
	replay_table_free(t[1]);
	/* The earlier file still reads; rmdir in teardown proves no tmp. */
	ck_assert_int_eq(access(path, R_OK), 0);
}
END_TEST

static Suite *
checkpoint_suite(void)
{
	Suite	*s = suite_create("replay-checkpoint");
	TCase	*tc;

	tc = tcase_create("checkpoint");
	tcase_add_checked_fixture(tc, ckpt_setup, ckpt_teardown);
	tcase_add_test(tc, test_replay_checkpoint_round_trip);
	tcase_add_test(tc, test_replay_checkpoint_damaged);
	tcase_add_test(tc, test_replay_checkpoint_truncated);
	tcase_add_test(tc, test_replay_checkpoint_version);
	tcase_add_test(tc, test_replay_checkpoint_half);
	tcase_add_test(tc, test_replay_checkpoint_atomic);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(checkpoint_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
