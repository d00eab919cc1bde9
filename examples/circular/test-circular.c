/*
 * test-circular.c: the circular program tested in both homes (loop 0:
 * in-process, 1: processes), its node circle.c built without main(): one
 * definition for two groups, found by the command's name.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lptest.h"

LP_NODE_DEF_DECLARE(circle);

static const enum lp_test_mode modes[] = { LP_TEST_THREADS,
    LP_TEST_PROCESSES };

static const char	*program;

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

/* Both greet each other and end: the program ends well by itself. */
START_TEST(test_circular_run)
{
	const struct lp_test_def defs[] = {
		{ "circle", lp_node_def_circle() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i, defs);
	lp_test			*t;
	char			*out;

	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_WAIT(t, 60000);
	out = lp_test_output(t, "ping/0");
	if (modes[_i] == LP_TEST_PROCESSES)
		ck_assert_str_eq(out, "hello ping/0, from pong/0\n");
	free(out);
	lp_test_free(t);
}
END_TEST

/*
 * pong's run off: the test greets ping in pong's place, which lets ping's
 * run end; pong serves until the stop.
 */
START_TEST(test_circular_greet)
{
	static const char *const off[] = { "pong", NULL };
	const struct lp_test_def defs[] = {
		{ "circle", lp_node_def_circle() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i, defs);
	lp_test			*t;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;

	o.disable_run = off;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_CLIENT(c, t, "ping");
	v = courier_call(c, "hello", courier_args(courier_string("test")),
	    &err);
	ck_assert_msg(v != NULL, "hello: %s", courier_error_message(err));
	ck_assert_str_eq(courier_value_string(v, NULL),
	    "hello test, from ping/0");
	courier_value_unref(v);
	LP_TEST_CK_CLIENT(c, t, "pong/0");
	v = courier_call(c, "hello", courier_args(courier_string("test")),
	    &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(courier_value_string(v, NULL),
	    "hello test, from pong/0");
	courier_value_unref(v);
	LP_TEST_CK_STOP(t);
	lp_test_free(t);
}
END_TEST

int
main(void)
{
	Suite	*s;
	TCase	*tc;
	SRunner	*sr;
	int	 failed;

	if ((program = getenv("PROGRAM")) == NULL)
		return (EXIT_FAILURE);
	s = suite_create("circular");
	tc = tcase_create("run");
	tcase_add_loop_test(tc, test_circular_run, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("greet");
	tcase_add_loop_test(tc, test_circular_greet, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
