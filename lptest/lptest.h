/*
 * lptest.h: test a program the Launchpad way, from a C test.
 *
 * A test launches a program file (the one lpctl run takes) in one of two
 * homes, behind one interface, like Launchpad's launch_type='test_mt' and
 * 'test_mp':
 *
 *   LP_TEST_THREADS    every node a thread of the test process, with a real
 *                      courier server on a Unix socket in a private folder.
 *   LP_TEST_PROCESSES  every node a real process, forked and exec'd.
 *
 * Both go through the supervisor core (lpd_run), so addresses, configs
 * with their handles, readiness, restarts and the stop are resolved and
 * run one way: only how a node starts differs. The test may turn off the
 * run function of some groups (Launchpad's disable_run()), change the file
 * before it is checked (fewer replicas, a smaller workload), get a client
 * to any courier node (create_handle().dereference()), wait for the end
 * and stop the program.
 *
 * In-process, a group's code is a definition (lp_node_def) that the test
 * passes in a table: a group takes the entry named as the group, else the
 * one named as its command's file name (argv[0] without its folder). A
 * node's .c file compiled with -DLP_NODE_NO_MAIN defines no main() but
 * lp_node_def_NAME() (see LP_NODE_MAIN in courier/node.h), which is how a
 * test gets the definitions of the real nodes. The file is checked as
 * lpctl checks it, so its commands must exist in both homes.
 *
 * Failures. A node that fails (setup fails, run returns an error, a
 * process crashes) fails the program when its group says so (on_failure
 * "stop_program", the default), and lp_test_wait/lp_test_stop return 1
 * with a cause that names the node and why: lp_node_fail()'s message
 * in-process, the exit status and the last lines of its output as a
 * process. A watchdog (60 s by default) stops a program that has not ended
 * by then, and the test fails with the nodes that were still running;
 * calls through lp_test_client() end with CANCELLED once the program has
 * ended, so a test never waits on a dead node for ever.
 *
 * Teardown (lp_test_free) stops what runs and leaves no thread, process,
 * socket, fd or file behind. A thread cannot be killed: an in-process node
 * that ignores its stop is reported as such (the cause of the failure) and
 * lp_test_free() then aborts the test rather than hang it.
 *
 * Every function is for the test's thread: one lp_test is not shared by
 * several threads of the test, though many may exist at once.
 */
#ifndef LPTEST_H
#define LPTEST_H

#include <stdbool.h>
#include <stdlib.h>

#include <courier/courier.h>
#include <courier/node.h>

typedef struct lp_test lp_test;

enum lp_test_mode {
	LP_TEST_THREADS,	/* test_mt: every node a thread */
	LP_TEST_PROCESSES,	/* test_mp: every node a process */
};

/* A node definition for a group, in-process. */
struct lp_test_def {
	const char		*name;	/* group name or command file name */
	const lp_node_def	*def;
};

/*
 * A change to the program file before it is checked: KEY of the node
 * entry of GROUP (NULL: of the top object) becomes the JSON value. KEY is
 * dotted for a value inside an object: "replicas", "run", "config.rounds",
 * "env.VERBOSE". It is checked as if the file said so.
 */
struct lp_test_override {
	const char		*group;
	const char		*key;
	const char		*json;
};

struct lp_test_opts {
	/* The program file, as lpctl run takes it. */
	const char			*program;
	enum lp_test_mode		 mode;
	/* Groups whose run function is off (NULL-terminated, or NULL). */
	const char *const		*disable_run;
	/* Changes to the file (ended by an entry with key NULL, or NULL). */
	const struct lp_test_override	*overrides;
	/* In-process definitions (ended by name NULL); LP_TEST_THREADS. */
	const struct lp_test_def	*defs;
	/* The watchdog: the program ends within this (0: 60000 ms). */
	int				 watchdog_ms;
	/* Copy each node's output lines to stderr, "[NODE] line"
	 * (processes; in-process nodes write to the test's own). */
	bool				 echo;
};

#define LP_TEST_OK		0	/* ended well */
#define LP_TEST_FAILED		1	/* a node failed, or the watchdog */
#define LP_TEST_RUNNING		(-1)	/* not ended within the timeout */

/**
 * Launch a program and return once every courier node serves (or the
 * program ended, or the watchdog fired: lp_test_wait tells).
 * @return the test, or NULL with *cause set (caller frees) if the file is
 * not valid, a group has no definition or the program could not start.
 */
lp_test		*lp_test_launch(const struct lp_test_opts *opts,
		    char **cause);
/**
 * A client of courier node name: "GROUP/INDEX", or a group of one node by
 * its name. It is the test's (freed by lp_test_free), one per node; its
 * calls wait for the node to serve, and end with CANCELLED once the
 * program has ended.
 * @return the client, or NULL with *cause set (caller frees).
 */
courier_client	*lp_test_client(lp_test *t, const char *name, char **cause);
/**
 * Wait up to timeout_ms (COURIER_FOREVER: until the watchdog) for the
 * program to end.
 * @return LP_TEST_OK; LP_TEST_FAILED with *cause (caller frees) naming
 * the node and why; or LP_TEST_RUNNING with *cause if it still runs.
 */
int		 lp_test_wait(lp_test *t, int timeout_ms, char **cause);
/**
 * Stop the program (the stop notice, then a kill after its grace period)
 * and wait for its end. Exits during the stop are not failures.
 * @return as lp_test_wait: LP_TEST_FAILED if a node failed before.
 */
int		 lp_test_stop(lp_test *t, char **cause);
/**
 * What node name ("GROUP/INDEX") wrote on stdout and stderr so far, each
 * line ended by '\n', at most the last 64 KiB (caller frees). In-process
 * nodes write to the test's own output: "" then.
 * @return the text, or NULL if there is no such node.
 */
char		*lp_test_output(lp_test *t, const char *name);
/** The address of courier node name, or NULL (valid until lp_test_free). */
const char	*lp_test_address(lp_test *t, const char *name);
/**
 * Stop what still runs, wait for it, and free everything: threads,
 * processes, sockets, the runtime folder, the clients.
 */
void		 lp_test_free(lp_test *t);

/*
 * For check tests (include <check.h> first): fail the test with the cause.
 */
#define LP_TEST_CK_LAUNCH(t, opts) do {					\
	char	*lp_cause_ = NULL;					\
	(t) = lp_test_launch((opts), &lp_cause_);			\
	ck_assert_msg((t) != NULL, "lp_test_launch: %s", lp_cause_);	\
} while (0)
#define LP_TEST_CK_CLIENT(c, t, name) do {				\
	char	*lp_cause_ = NULL;					\
	(c) = lp_test_client((t), (name), &lp_cause_);			\
	ck_assert_msg((c) != NULL, "lp_test_client: %s", lp_cause_);	\
} while (0)
#define LP_TEST_CK_WAIT(t, timeout_ms) do {				\
	char	*lp_cause_ = NULL;					\
	int	 lp_st_ = lp_test_wait((t), (timeout_ms), &lp_cause_);	\
	ck_assert_msg(lp_st_ == LP_TEST_OK, "the program failed: %s",	\
	    lp_cause_);							\
} while (0)
#define LP_TEST_CK_STOP(t) do {						\
	char	*lp_cause_ = NULL;					\
	int	 lp_st_ = lp_test_stop((t), &lp_cause_);		\
	ck_assert_msg(lp_st_ == LP_TEST_OK, "the program failed: %s",	\
	    lp_cause_);							\
} while (0)

#endif /* LPTEST_H */
