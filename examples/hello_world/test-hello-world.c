/*
 * test-hello-world.c: the hello_world program tested in both homes (loop
 * 0: in-process, 1: processes), its node hello.c built without main().
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lptest.h"

LP_NODE_DEF_DECLARE(hello);

static const enum lp_test_mode modes[] = { LP_TEST_THREADS,
    LP_TEST_PROCESSES };

static const char	*program;

/* The greeting, changed by the test, is what the node prints. */
START_TEST(test_hello_world_greets)
{
	static const struct lp_test_override greeting[] = {
		{ "hello", "config.greeting", "\"Hello test!\"" },
		{ NULL, NULL, NULL },
	};
	const struct lp_test_def defs[] = {
		{ "hello", lp_node_def_hello() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o;
	lp_test			*t;
	char			*out;

	memset(&o, 0, sizeof o);
	o.program = program;
	o.mode = modes[_i];
	o.defs = defs;
	o.overrides = greeting;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_WAIT(t, 60000);
	out = lp_test_output(t, "hello/0");
	ck_assert_ptr_nonnull(out);
	if (modes[_i] == LP_TEST_PROCESSES)
		ck_assert_str_eq(out, "Hello test!\n");
	free(out);
	lp_test_free(t);
}
END_TEST

/* A greeting that is not a string fails the node, which says so. */
START_TEST(test_hello_world_bad_greeting)
{
	static const struct lp_test_override greeting[] = {
		{ "hello", "config.greeting", "42" },
		{ NULL, NULL, NULL },
	};
	const struct lp_test_def defs[] = {
		{ "hello", lp_node_def_hello() },
		{ NULL, NULL },
	};
	struct lp_test_opts	 o;
	lp_test			*t;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.program = program;
	o.mode = modes[_i];
	o.defs = defs;
	o.overrides = greeting;
	LP_TEST_CK_LAUNCH(t, &o);
	ck_assert_int_eq(lp_test_wait(t, 60000, &cause), LP_TEST_FAILED);
	ck_assert_msg(strstr(cause, "hello/0") != NULL &&
	    strstr(cause, "config.greeting: not a string") != NULL, "%s",
	    cause);
	free(cause);
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
	s = suite_create("hello_world");
	tc = tcase_create("greets");
	tcase_add_loop_test(tc, test_hello_world_greets, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad_greeting");
	tcase_add_loop_test(tc, test_hello_world_bad_greeting, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
