/*
 * test-consumer-producers.c: the consumer_producers program tested the
 * Launchpad way, in both homes (loop 0: in-process, 1: processes). The
 * nodes are consumer.c and producer.c themselves, built without main().
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lptest.h"

LP_NODE_DEF_DECLARE(consumer);
LP_NODE_DEF_DECLARE(producer);

#define WAIT_MS		60000

static const enum lp_test_mode modes[] = { LP_TEST_THREADS,
    LP_TEST_PROCESSES };

/* The program file, beside the node binaries in the build folder. */
static const char	*program;

/* The example's options in mode i: its own definitions, by group. */
static struct lp_test_opts
opts_for(int i, const struct lp_test_def *defs)
{
	struct lp_test_opts	 o;

	memset(&o, 0, sizeof o);
	o.program = program;
	o.mode = modes[i];
	o.defs = defs;
	return (o);
}

/*
 * The consumer's run off, two producers: the test does the consumer's
 * rounds itself through its round method.
 */
START_TEST(test_consumer_producers_round)
{
	static const char *const off[] = { "consumer", NULL };
	static const struct lp_test_override fewer[] = {
		{ "producer", "replicas", "2" },
		{ NULL, NULL, NULL },
	};
	const struct lp_test_def defs[] = {
		{ "consumer", lp_node_def_consumer() },
		{ "producer", lp_node_def_producer() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i, defs);
	lp_test			*t;
	courier_client		*consumer;
	courier_value		*v;
	courier_error		*err = NULL;
	char			*json;

	o.disable_run = off;
	o.overrides = fewer;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_CLIENT(consumer, t, "consumer");

	v = courier_call(consumer, "round", courier_args(courier_int(10)),
	    &err);
	ck_assert_msg(v != NULL, "round: %s", courier_error_message(err));
	json = courier_value_to_json(v, false, NULL);
	ck_assert_str_eq(json, "[10,11]");
	free(json);
	courier_value_unref(v);

	/* Without an argument, the first context is 0. */
	v = courier_call(consumer, "round", courier_list_new(), &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(courier_list_len(v), 2);
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 1)), 1);
	courier_value_unref(v);

	v = courier_call(consumer, "round", courier_args(courier_string("x")),
	    &err);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(courier_error_code(err), COURIER_INVALID_ARGUMENT);
	courier_error_free(err);

	LP_TEST_CK_STOP(t);
	lp_test_free(t);
}
END_TEST

/* The whole program, with fewer rounds: the consumer ends it well. */
START_TEST(test_consumer_producers_run)
{
	static const struct lp_test_override fewer[] = {
		{ "consumer", "config.rounds", "2" },
		{ NULL, NULL, NULL },
	};
	const struct lp_test_def defs[] = {
		{ "consumer", lp_node_def_consumer() },
		{ "producer", lp_node_def_producer() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i, defs);
	lp_test			*t;
	char			*out;

	o.overrides = fewer;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_WAIT(t, WAIT_MS);
	out = lp_test_output(t, "consumer/0");
	ck_assert_ptr_nonnull(out);
	if (modes[_i] == LP_TEST_PROCESSES) {
		ck_assert_str_eq(out, "round 0: results [0,1,2,3], sum 6\n"
		    "round 1: results [4,5,6,7], sum 22\n");
	}
	free(out);
	lp_test_free(t);
}
END_TEST

/* A bad config fails the consumer's setup: the test says which and why. */
START_TEST(test_consumer_producers_bad_config)
{
	static const struct lp_test_override bad[] = {
		{ "consumer", "config.rounds", "0" },
		{ NULL, NULL, NULL },
	};
	const struct lp_test_def defs[] = {
		{ "consumer", lp_node_def_consumer() },
		{ "producer", lp_node_def_producer() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i, defs);
	lp_test			*t;
	char			*cause = NULL;

	o.overrides = bad;
	LP_TEST_CK_LAUNCH(t, &o);
	ck_assert_int_eq(lp_test_wait(t, WAIT_MS, &cause), LP_TEST_FAILED);
	ck_assert_msg(strstr(cause, "consumer/0") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "config.rounds: not an int >= 1") != NULL,
	    "%s", cause);
	free(cause);
	lp_test_free(t);
}
END_TEST

static Suite *
consumer_producers_suite(void)
{
	Suite	*s = suite_create("consumer_producers");
	TCase	*tc;

	tc = tcase_create("round");
	tcase_add_loop_test(tc, test_consumer_producers_round, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("run");
	tcase_add_loop_test(tc, test_consumer_producers_run, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad_config");
	tcase_add_loop_test(tc, test_consumer_producers_bad_config, 0, 2);
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
	sr = srunner_create(consumer_producers_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
