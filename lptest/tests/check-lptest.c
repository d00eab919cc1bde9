/*
 * check-lptest.c: tests of the test harness itself, each in both homes
 * (loop 0: in-process, loop 1: processes), with test-nodes.c's nodes:
 * calls and overrides, failures in setup and run, a crash, the watchdog,
 * captured output, and 50 launches that leave nothing behind. No test
 * asserts a duration: the deadlines are generous, for valgrind.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lptest.h"
#include "test-nodes.h"

#define WAIT_MS		30000

/* lptest-node, the test nodes as processes (from meson). */
static const char	*node_exe;
/* A scratch folder for program files. */
static char		 tmpdir[PATH_MAX];
static char		*prog_path;

static const enum lp_test_mode modes[] = { LP_TEST_THREADS,
    LP_TEST_PROCESSES };

static struct lp_test_def defs[16];

static void
setup(void)
{
	const struct test_node	*n;
	size_t			 i = 0;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-lptest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (n = test_nodes; n->name != NULL; n++, i++) {
		defs[i].name = n->name;
		defs[i].def = n->def;
	}
	defs[i].name = NULL;
}

static void
teardown(void)
{
	if (prog_path != NULL) {
		unlink(prog_path);
		free(prog_path);
		prog_path = NULL;
	}
	rmdir(tmpdir);
}

/*
 * Write a program file of groups, each "NAME[:REPLICAS[:TYPE]]" running
 * the test node NAME, with extra (JSON members) in each entry.
 */
static const char *
program(const char *extra, const char *const *groups)
{
	FILE		*f;
	const char	*colon, *type;
	unsigned	 replicas;
	size_t		 i, len;

	if (prog_path == NULL) {
		ck_assert_int_gt(asprintf(&prog_path, "%s/prog.json", tmpdir),
		    0);
	}
	ck_assert_ptr_nonnull(f = fopen(prog_path, "w"));
	fprintf(f, "{\"program\": \"t\", \"stop\": {\"grace_s\": 10}, "
	    "\"nodes\": [");
	for (i = 0; groups[i] != NULL; i++) {
		colon = strchr(groups[i], ':');
		len = colon != NULL ? (size_t)(colon - groups[i]) :
		    strlen(groups[i]);
		replicas = colon != NULL ? (unsigned)atoi(colon + 1) : 1;
		type = colon != NULL && strchr(colon + 1, ':') != NULL ?
		    strchr(colon + 1, ':') + 1 : "courier";
		fprintf(f, "%s{\"group\": \"%.*s\", \"type\": \"%s\", "
		    "\"replicas\": %u, \"command\": [\"%s\", \"%.*s\"]%s%s}",
		    i != 0 ? ", " : "", (int)len, groups[i], type, replicas,
		    node_exe, (int)len, groups[i], extra != NULL ? ", " : "",
		    extra != NULL ? extra : "");
	}
	fprintf(f, "]}\n");
	ck_assert_int_eq(fclose(f), 0);
	return (prog_path);
}

/* Options for a test in mode i. */
static struct lp_test_opts
opts_for(int i, const char *path)
{
	struct lp_test_opts	 o;

	memset(&o, 0, sizeof o);
	o.program = path;
	o.mode = modes[i];
	o.defs = defs;
	return (o);
}

/* Call method with one int argument; the result, or NULL with *err. */
static courier_value *
call_int(courier_client *c, const char *method, int64_t x,
    courier_error **err)
{
	return (courier_call(c, method, courier_args(courier_int(x)), err));
}

/* Whether haystack holds needle (for causes). */
static bool
has(const char *haystack, const char *needle)
{
	return (haystack != NULL && strstr(haystack, needle) != NULL);
}

/* Launch, call every replica by name, and stop: the ordinary test. */
START_TEST(test_lptest_call)
{
	static const char *const groups[] = { "echo:2", "hang", NULL };
	static const struct lp_test_override ov[] = {
		{ "echo", "replicas", "3" },
		{ "echo", "config.tag", "\"blue\"" },
		{ NULL, NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	const char		*addr;
	char			*cause = NULL, name[32], *dir;
	int			 k;

	o.overrides = ov;
	LP_TEST_CK_LAUNCH(t, &o);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof name, "echo/%d", k);
		LP_TEST_CK_CLIENT(c, t, name);
		ck_assert_ptr_eq(lp_test_client(t, name, NULL), c);
		v = call_int(c, "echo", 40 + k, &err);
		ck_assert_msg(v != NULL, "echo: %s",
		    courier_error_message(err));
		ck_assert_int_eq(courier_value_int(v), 40 + k);
		courier_value_unref(v);
		v = courier_call(c, "whoami", courier_list_new(), &err);
		ck_assert_ptr_nonnull(v);
		ck_assert_str_eq(courier_value_string(courier_dict_get(v,
		    "name"), NULL), name);
		ck_assert_str_eq(courier_value_string(courier_dict_get(v,
		    "tag"), NULL), "blue");
		courier_value_unref(v);
	}
	/* The run of hang is on: the program runs until it is stopped. */
	ck_assert_int_eq(lp_test_wait(t, 50, &cause), LP_TEST_RUNNING);
	free(cause);
	cause = NULL;

	ck_assert_ptr_null(lp_test_client(t, "echo", &cause));
	ck_assert_msg(has(cause, "echo/0"), "%s", cause);
	free(cause);
	cause = NULL;
	ck_assert_ptr_null(lp_test_client(t, "echo/3", &cause));
	free(cause);
	cause = NULL;
	ck_assert_ptr_nonnull(lp_test_client(t, "hang", NULL));

	addr = lp_test_address(t, "echo/2");
	ck_assert_ptr_nonnull(addr);
	ck_assert(strncmp(addr, "unix:/", 6) == 0);
	dir = strdup(addr + 5);
	*strrchr(dir, '/') = '\0';
	ck_assert_int_eq(access(dir, F_OK), 0);

	LP_TEST_CK_STOP(t);
	lp_test_free(t);
	/* The runtime folder and its sockets are gone. */
	ck_assert_int_eq(access(dir, F_OK), -1);
	free(dir);
}
END_TEST

/* Disabled run: the node serves, and the program ends only when told. */
START_TEST(test_lptest_disable_run)
{
	static const char *const groups[] = { "crasher", NULL };
	static const char *const off[] = { "crasher", NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	char			*cause = NULL;

	o.disable_run = off;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_CLIENT(c, t, "crasher");
	v = call_int(c, "echo", 7, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(courier_value_int(v), 7);
	courier_value_unref(v);
	ck_assert_int_eq(lp_test_wait(t, 50, &cause), LP_TEST_RUNNING);
	free(cause);
	LP_TEST_CK_STOP(t);
	lp_test_free(t);
}
END_TEST

/* A node whose setup fails fails the test with its name and why. */
START_TEST(test_lptest_setup_fails)
{
	static const char *const groups[] = { "echo", "fail_setup", NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;
	char			*cause = NULL;

	LP_TEST_CK_LAUNCH(t, &o);
	ck_assert_int_eq(lp_test_wait(t, WAIT_MS, &cause), LP_TEST_FAILED);
	ck_assert_msg(has(cause, "fail_setup/0 exited with status 1"), "%s",
	    cause);
	ck_assert_msg(has(cause, "config.size: missing"), "%s", cause);
	free(cause);
	cause = NULL;
	/* And stays failed through the stop. */
	ck_assert_int_eq(lp_test_stop(t, &cause), LP_TEST_FAILED);
	free(cause);
	lp_test_free(t);
}
END_TEST

/* A node whose run fails fails the test with its name and why. */
START_TEST(test_lptest_run_fails)
{
	static const char *const groups[] = { "echo:2", "fail_run", NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;
	char			*cause = NULL;

	LP_TEST_CK_LAUNCH(t, &o);
	ck_assert_int_eq(lp_test_wait(t, WAIT_MS, &cause), LP_TEST_FAILED);
	ck_assert_msg(has(cause, "fail_run/0 exited with status"), "%s",
	    cause);
	ck_assert_msg(has(cause, "disk on fire"), "%s", cause);
	free(cause);
	lp_test_free(t);
}
END_TEST

/* A program that does not end: the watchdog stops it and says what ran. */
START_TEST(test_lptest_watchdog)
{
	static const char *const groups[] = { "echo", "hang", NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	char			*cause = NULL;

	o.watchdog_ms = 300;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_CLIENT(c, t, "echo");
	ck_assert_int_eq(lp_test_wait(t, COURIER_FOREVER, &cause),
	    LP_TEST_FAILED);
	ck_assert_msg(has(cause, "watchdog"), "%s", cause);
	/* Running, or still starting on a slow machine (valgrind). */
	ck_assert_msg(has(cause, "hang/0 (running)") ||
	    has(cause, "hang/0 (starting)"), "%s", cause);
	free(cause);
	/* A call after the end fails at once. */
	v = call_int(c, "echo", 1, &err);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(courier_error_code(err), COURIER_CANCELLED);
	courier_error_free(err);
	lp_test_free(t);
}
END_TEST

/* A node that crashes: the call gets an error, and the test the cause. */
START_TEST(test_lptest_crash)
{
	static const char *const groups[] = { "echo", "crasher", NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	char			*cause = NULL;

	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_CLIENT(c, t, "crasher");
	v = courier_call(c, "crash", courier_list_new(), &err);
	if (modes[_i] == LP_TEST_PROCESSES) {
		ck_assert_ptr_null(v);
		courier_error_free(err);
		err = NULL;
	} else
		courier_value_unref(v);
	ck_assert_int_eq(lp_test_wait(t, WAIT_MS, &cause), LP_TEST_FAILED);
	ck_assert_msg(has(cause, "crasher/0"), "%s", cause);
	if (modes[_i] == LP_TEST_PROCESSES)
		ck_assert_msg(has(cause, "SIGABRT"), "%s", cause);
	else
		ck_assert_msg(has(cause, "crashed on request"), "%s", cause);
	free(cause);
	/* Calls to the dead node end with an error, not a hang. */
	v = call_int(c, "echo", 1, &err);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(err);
	courier_error_free(err);
	lp_test_free(t);
}
END_TEST

/* A node that ignores its stop is killed after the grace (processes). */
START_TEST(test_lptest_stubborn)
{
	static const char *const groups[] = { "echo", "stubborn", NULL };
	static const struct lp_test_override ov[] = {
		{ NULL, "stop.grace_s", "0.2" },
		{ NULL, NULL, NULL },
	};
	struct lp_test_opts	 o = opts_for(1, program(NULL, groups));
	lp_test			*t;

	o.overrides = ov;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_STOP(t);
	lp_test_free(t);
}
END_TEST

/* Output: captured per node as processes, the test's own in-process. */
START_TEST(test_lptest_output)
{
	static const char *const groups[] = { "talker:2:process", NULL };
	struct lp_test_opts	 o = opts_for(_i,
	    program("\"config\": {\"text\": \"hi\"}", groups));
	lp_test			*t;
	char			*out;

	o.echo = true;
	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_WAIT(t, WAIT_MS);
	out = lp_test_output(t, "talker/1");
	ck_assert_ptr_nonnull(out);
	if (modes[_i] == LP_TEST_PROCESSES)
		ck_assert_str_eq(out, "talker/1 says hi\n");
	else
		ck_assert_str_eq(out, "");
	free(out);
	ck_assert_ptr_null(lp_test_output(t, "talker/2"));
	lp_test_free(t);
}
END_TEST

/* A node asks for the stop: the program ends well. */
START_TEST(test_lptest_stop_program)
{
	static const char *const groups[] = { "echo:3", "stopper", NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	lp_test			*t;

	LP_TEST_CK_LAUNCH(t, &o);
	LP_TEST_CK_WAIT(t, WAIT_MS);
	lp_test_free(t);
}
END_TEST

/* What cannot launch says why, and leaves nothing. */
START_TEST(test_lptest_errors)
{
	static const char *const groups[] = { "echo", NULL };
	static const struct lp_test_override bad_group[] = {
		{ "ehco", "replicas", "2" }, { NULL, NULL, NULL },
	};
	static const struct lp_test_override bad_json[] = {
		{ "echo", "replicas", "two" }, { NULL, NULL, NULL },
	};
	static const struct lp_test_override bad_value[] = {
		{ "echo", "replicas", "0" }, { NULL, NULL, NULL },
	};
	static const struct lp_test_def none[] = { { NULL, NULL } };
	struct lp_test_opts	 o = opts_for(0, program(NULL, groups));
	char			*cause = NULL;

	o.overrides = bad_group;
	ck_assert_ptr_null(lp_test_launch(&o, &cause));
	ck_assert_msg(has(cause, "no group \"ehco\""), "%s", cause);
	free(cause);
	o.overrides = bad_json;
	ck_assert_ptr_null(lp_test_launch(&o, &cause));
	ck_assert_msg(has(cause, "echo.replicas: not JSON"), "%s", cause);
	free(cause);
	o.overrides = bad_value;
	ck_assert_ptr_null(lp_test_launch(&o, &cause));
	ck_assert_msg(has(cause, "replicas"), "%s", cause);
	free(cause);
	o.overrides = NULL;
	o.defs = none;
	ck_assert_ptr_null(lp_test_launch(&o, &cause));
	ck_assert_msg(has(cause, "group \"echo\" has no definition"), "%s",
	    cause);
	free(cause);
	o.program = "/nonexistent/prog.json";
	ck_assert_ptr_null(lp_test_launch(&o, &cause));
	ck_assert_msg(has(cause, "/nonexistent/prog.json"), "%s", cause);
	free(cause);
}
END_TEST

/* One launch, a call to each node, and the stop. */
static void
launch_once(const struct lp_test_opts *o)
{
	lp_test		*t;
	courier_client	*c;
	courier_value	*v;
	courier_error	*err = NULL;

	LP_TEST_CK_LAUNCH(t, o);
	LP_TEST_CK_CLIENT(c, t, "echo/1");
	v = call_int(c, "echo", 5, &err);
	ck_assert_ptr_nonnull(v);
	courier_value_unref(v);
	LP_TEST_CK_STOP(t);
	lp_test_free(t);
}

/* 50 launches in a row: no fd, thread or memory is left behind. */
START_TEST(test_lptest_repeat)
{
	static const char *const groups[] = { "echo:2", "talker:1:process",
	    NULL };
	struct lp_test_opts	 o = opts_for(_i, program(NULL, groups));
	struct mallinfo2	 m0, m1;
	int			 fds, threads, k;

	/* The first pays for what libraries set up once. */
	launch_once(&o);
	fds = harness_count_entries("/proc/self/fd");
	threads = harness_count_entries("/proc/self/task");
	m0 = mallinfo2();
	for (k = 0; k < 50; k++)
		launch_once(&o);
	m1 = mallinfo2();
	ck_assert_int_eq(harness_count_entries("/proc/self/fd"), fds);
	ck_assert_int_eq(harness_count_entries("/proc/self/task"), threads);
	ck_assert_msg(m1.uordblks <= m0.uordblks + 64 * 1024,
	    "heap grew by %zu bytes", m1.uordblks - m0.uordblks);
}
END_TEST

static Suite *
lptest_suite(void)
{
	Suite	*s = suite_create("lptest");
	TCase	*tc;

#define CASE(name, fn, from, to) do {					\
	tc = tcase_create(name);					\
	tcase_add_checked_fixture(tc, setup, teardown);			\
	tcase_set_timeout(tc, 120);					\
	tcase_add_loop_test(tc, fn, from, to);				\
	suite_add_tcase(s, tc);						\
} while (0)
	CASE("call", test_lptest_call, 0, 2);
	CASE("disable_run", test_lptest_disable_run, 0, 2);
	CASE("setup_fails", test_lptest_setup_fails, 0, 2);
	CASE("run_fails", test_lptest_run_fails, 0, 2);
	CASE("watchdog", test_lptest_watchdog, 0, 2);
	CASE("crash", test_lptest_crash, 0, 2);
	CASE("stubborn", test_lptest_stubborn, 0, 1);
	CASE("output", test_lptest_output, 0, 2);
	CASE("stop_program", test_lptest_stop_program, 0, 2);
	CASE("errors", test_lptest_errors, 0, 1);
	CASE("repeat", test_lptest_repeat, 0, 2);
#undef CASE
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if ((node_exe = getenv("LPTEST_NODE")) == NULL) {
		fprintf(stderr, "check-lptest: LPTEST_NODE is not set (the "
		    "path of lptest-node)\n");
		return (EXIT_FAILURE);
	}
	sr = srunner_create(lptest_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
