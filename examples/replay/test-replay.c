/*
 * test-replay.c: the replay example tested the Launchpad way, in both
 * homes (loop 0: in-process, 1: processes). The nodes are actor.c,
 * learner.c and the replay node itself, built without main().
 *
 * The table's limiter is SampleToInsertRatio(4, 64, 256): with I
 * inserts and S samples, a sample goes only while 4 I - S stays >= 0
 * and an insert only while 4 I - S stays <= 512; the tests check the
 * counts against those bounds.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier/replay.h"
#include "lptest.h"

LP_NODE_DEF_DECLARE(actor);
LP_NODE_DEF_DECLARE(learner);
LP_NODE_DEF_DECLARE(replay);

#define WAIT_MS		60000
#define CALL_MS		10000
#define SPI		4	/* replay.json's samples_per_insert */
#define MAX_DIFF	512	/* SPI * min_size_to_sample + error_buffer */

static const enum lp_test_mode modes[] = { LP_TEST_THREADS,
    LP_TEST_PROCESSES };

/* The program file, beside the node binaries in the build folder. */
static const char	*program;

/* The example's options in mode i, its own nodes by group. */
static struct lp_test_opts
opts_for(int i)
{
	static struct lp_test_def	 defs[4];
	struct lp_test_opts		 o;

	defs[0] = (struct lp_test_def){ "actor", lp_node_def_actor() };
	defs[1] = (struct lp_test_def){ "learner", lp_node_def_learner() };
	defs[2] = (struct lp_test_def){ "replay", lp_node_def_replay() };
	defs[3] = (struct lp_test_def){ NULL, NULL };
	memset(&o, 0, sizeof o);
	o.program = program;
	o.mode = modes[i];
	o.defs = defs;
	return (o);
}

/*
 * The whole program, fewer steps: the learner samples its batches while
 * the actors insert, then ends the program well.
 */
START_TEST(test_replay_run)
{
	static const struct lp_test_override fewer[] = {
		{ "learner", "config.steps", "40" },
		{ NULL, NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i);
	lp_test			*t;
	const char		*line;
	char			*out;
	long long		 steps, batch, inserts, samples;

	o.overrides = fewer;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_WAIT(t, WAIT_MS);
	if (modes[_i] == LP_TEST_PROCESSES) {
		out = lp_test_output(t, "learner/0");
		ck_assert_ptr_nonnull(out);
		line = strstr(out, "learner: ");
		ck_assert_msg(line != NULL, "no summary in:\n%s", out);
		ck_assert_int_eq(sscanf(line, "learner: %lld steps of %lld: "
		    "%lld inserts, %lld samples", &steps, &batch, &inserts,
		    &samples), 4);
		ck_assert_int_eq(steps, 40);
		ck_assert_int_eq(samples, steps * batch);
		ck_assert_int_ge(SPI * inserts - samples, 0);
		ck_assert_int_le(SPI * inserts - samples, MAX_DIFF);
		ck_assert_msg(strstr(out, "step 40: mean reward ") != NULL,
		    "%s", out);
		free(out);
		out = lp_test_output(t, "actor/1");
		ck_assert_msg(strstr(out, "actor/1: ") != NULL &&
		    strstr(out, " transitions\n") != NULL, "%s", out);
		free(out);
	}
	lp_test_free(t);
}
END_TEST

/*
 * The learner's run off: the test samples from the actors' transitions
 * itself, through courier/replay.h, and meets the limiter.
 */
START_TEST(test_replay_sample)
{
	static const char *const off[] = { "learner", NULL };
	struct lp_test_opts		 o = opts_for(_i);
	struct courier_replay_draw	 d[8], *many;
	const courier_value		*obs, *t0;
	courier_value			*info;
	courier_client			*replay;
	courier_error			*err = NULL;
	lp_test				*t;
	const int64_t			*shape;
	int64_t				 actor, inserts, samples;
	size_t				 i;

	o.disable_run = off;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_CLIENT(replay, t, "replay");

	/* It waits for min_size_to_sample (64) transitions. */
	ck_assert_msg(courier_replay_sample(replay, "experience", 8, CALL_MS,
	    d, &err) == 0, "sample: %s", courier_error_message(err));
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(courier_value_type(d[i].item), COURIER_DICT);
		obs = courier_dict_get(d[i].item, "observation");
		ck_assert_int_eq(courier_value_type(obs), COURIER_TENSOR);
		ck_assert_int_eq(courier_tensor_dtype(obs), COURIER_DT_FLOAT);
		ck_assert_uint_eq(courier_tensor_shape(obs, &shape), 1);
		ck_assert_int_eq(shape[0], 4);
		actor = courier_value_int(courier_dict_get(d[i].item,
		    "actor"));
		ck_assert(actor == 0 || actor == 1);
		ck_assert(d[i].probability > 0 && d[i].probability <= 1);
		ck_assert_int_ge(d[i].times_sampled, 1);
	}
	courier_replay_draws_clear(d, 8);

	info = courier_replay_info(replay, CALL_MS, &err);
	ck_assert_msg(info != NULL, "info: %s", courier_error_message(err));
	t0 = courier_dict_get(info, "experience");
	inserts = courier_value_int(courier_dict_get(t0, "inserts"));
	samples = courier_value_int(courier_dict_get(t0, "samples"));
	ck_assert_int_eq(samples, 8);
	ck_assert_int_ge(inserts, 64);
	ck_assert_int_le(SPI * inserts - samples, MAX_DIFF);
	courier_value_unref(info);

	/*
	 * 500 draws at once need 4 I - 8 - 500 >= 0, I >= 127: the call
	 * waits for the actors to insert that many (they may: inserts go
	 * while 4 I - 8 <= 512, to I = 130).
	 */
	many = calloc(600, sizeof *many);
	ck_assert_msg(courier_replay_sample(replay, "experience", 500, CALL_MS,
	    many, &err) == 0, "sample: %s", courier_error_message(err));
	courier_replay_draws_clear(many, 500);
	info = courier_replay_info(replay, CALL_MS, &err);
	ck_assert_ptr_nonnull(info);
	t0 = courier_dict_get(info, "experience");
	inserts = courier_value_int(courier_dict_get(t0, "inserts"));
	ck_assert_int_eq(courier_value_int(courier_dict_get(t0, "samples")),
	    508);
	ck_assert_int_ge(inserts, 127);
	ck_assert_int_le(SPI * inserts - 508, MAX_DIFF);
	courier_value_unref(info);

	/* 600 at once the limiter never admits (4 I - S stays <= 512). */
	ck_assert_int_eq(courier_replay_sample(replay, "experience", 600,
	    CALL_MS, many, &err), -1);
	ck_assert_int_eq(courier_error_code(err), COURIER_INVALID_ARGUMENT);
	ck_assert_msg(strstr(courier_error_message(err), "never admits 600")
	    != NULL, "%s", courier_error_message(err));
	courier_error_free(err);
	err = NULL;
	free(many);

	/* A table it does not have: an error that names it. */
	ck_assert_int_eq(courier_replay_sample(replay, "nope", 1, CALL_MS, d,
	    &err), -1);
	ck_assert_msg(strstr(courier_error_message(err), "nope") != NULL,
	    "%s", courier_error_message(err));
	courier_error_free(err);

	LP_TEST_CK_STOP(t);
	lp_test_free(t);
}
END_TEST

/* In-process without the replay node's code: a cause that says so. */
START_TEST(test_replay_no_def)
{
	struct lp_test_opts	 o = opts_for(0);
	struct lp_test_def	 defs[3];
	char			*cause = NULL;

	defs[0] = o.defs[0];
	defs[1] = o.defs[1];
	defs[2] = (struct lp_test_def){ NULL, NULL };
	o.defs = defs;
	ck_assert_ptr_null(lp_test_launch(&o, &cause));
	ck_assert_msg(strstr(cause, "group \"replay\" is a replay node") !=
	    NULL && strstr(cause, "LP_TEST_PROCESSES") != NULL, "%s", cause);
	free(cause);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite	*s = suite_create("replay");
	TCase	*tc;

	tc = tcase_create("run");
	tcase_add_loop_test(tc, test_replay_run, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("sample");
	tcase_add_loop_test(tc, test_replay_sample, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("no_def");
	tcase_add_test(tc, test_replay_no_def);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if ((program = getenv("PROGRAM")) == NULL)
		return (EXIT_FAILURE);
	sr = srunner_create(replay_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
