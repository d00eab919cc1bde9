/*
 * check-node.c: the node runtime (courier/node.h): the LP_* environment,
 * a node's life (setup, serve, run, stop callbacks, teardown), handles,
 * the stop event and its cancellation of calls, lp_stop_program() through
 * a control server, a handed-over listening socket, many nodes in one
 * process, and lp_node_main()'s SIGTERM bridge in a child process.
 *
 * Nodes run on threads of the test, as the in-process harness runs them.
 * Node code (setup, run, handlers) never asserts: check's assertions must
 * run on the test's thread, so node code records what it saw and the test
 * asserts on that after joining. Nothing here asserts a wall-clock time:
 * a call that must wait for something waits on a gate that only the test
 * opens; a hang fails by check's timeout.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier/courier.h"
#include "courier/node.h"
#include "harness.h"

/* Generous for valgrind; only a broken runtime ever waits this long. */
#define CALL_TIMEOUT_MS	20000

static const char *const lp_vars[] = {
	"LP_PROGRAM", "LP_NODE", "LP_ADDRESS", "LP_LISTEN_FD", "LP_CONFIG",
	"LP_CONTROL", "LP_RUN",
};
#define NVARS (sizeof lp_vars / sizeof lp_vars[0])

static char	 tmpdir[64];
static char	*saved_env[NVARS];

/*
 * Save the LP_* environment and clear it; teardown puts it back, since
 * with CK_FORK=no every test shares the process's environment.
 */
static void
setup(void)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < NVARS; i++) {
		v = getenv(lp_vars[i]);
		saved_env[i] = v != NULL ? strdup(v) : NULL;
		unsetenv(lp_vars[i]);
	}
	strcpy(tmpdir, "/tmp/check-node.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Remove what a test left in the folder (sockets only), then the folder. */
static void
teardown(void)
{
	char	 cmd[128];
	size_t	 i;

	for (i = 0; i < NVARS; i++) {
		if (saved_env[i] != NULL)
			setenv(lp_vars[i], saved_env[i], 1);
		else
			unsetenv(lp_vars[i]);
		free(saved_env[i]);
		saved_env[i] = NULL;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* "unix:TMPDIR/name" (caller frees). */
static char *
addr_of(const char *name)
{
	char	*a;

	if (asprintf(&a, "unix:%s/%s", tmpdir, name) == -1)
		abort();
	return (a);
}

/* A Unix socket bound to TMPDIR/name and listening, never accepting. */
static int
listening_socket(const char *name)
{
	struct sockaddr_un	 sun;
	int			 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", tmpdir, name);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return (fd);
}

static bool
fd_readable(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	return (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
}

static struct lp_node_params
params(const char *name, const char *address, const char *config)
{
	struct lp_node_params	 p;

	memset(&p, 0, sizeof p);
	p.program = "test";
	p.name = name;
	p.address = address;
	p.listen_fd = -1;
	p.config = config;
	p.run = true;
	return (p);
}

/* lp_node_exec() on a thread of its own. */
struct exec_thread {
	pthread_t	 thread;
	lp_node		*node;
	int		 status;
};

static void *
exec_main(void *arg)
{
	struct exec_thread	*t = arg;

	t->status = lp_node_exec(t->node);
	return (NULL);
}

static void
exec_start(struct exec_thread *t, lp_node *node)
{
	t->node = node;
	t->status = -1;
	ck_assert_int_eq(pthread_create(&t->thread, NULL, exec_main, t), 0);
}

static int
exec_join(struct exec_thread *t)
{
	pthread_join(t->thread, NULL);
	return (t->status);
}

static courier_client *
client_new(const char *address)
{
	courier_client	*c;

	c = courier_client_new(address, NULL);
	ck_assert_ptr_nonnull(c);
	courier_client_set_timeout(c, CALL_TIMEOUT_MS);
	return (c);
}

/* Call echo(i) at c and check the answer. */
static void
check_echo(courier_client *c, int64_t i)
{
	courier_value	*v;
	courier_error	*err = NULL;

	v = courier_call(c, "echo", courier_args(courier_int(i)), &err);
	ck_assert_msg(v != NULL, "echo: %s", err != NULL ?
	    courier_error_message(err) : "?");
	ck_assert_int_eq(courier_value_int(v), i);
	courier_value_unref(v);
}

/* The state of the test nodes, which record what they saw. */
struct state {
	lp_node		*node;
	struct gate	*gate;
	atomic_int	 setups;
	atomic_int	 runs;
	atomic_int	 teardowns;
	int		 run_result;	/* what run returns */
	bool		 fail_setup;
	bool		 dup_method;
	bool		 setup_says_why;
	bool		 run_says_why;
	char		 seen[64];	/* stop callbacks, in order */
	/* Results of the handle checks in run. */
	int		 handle_ok;
	bool		 same_client;
	char		*errors[4];
	/* Results of calls made in run. */
	enum courier_code codes[2];
	/* many nodes: how many peers answered. */
	int		 answered;
};

/*
 * One state per node in a test; reset by each test that uses it. The lock
 * is for finding a node's state while another one is being made.
 */
static struct state	 states[20];
static pthread_mutex_t	 states_mtx = PTHREAD_MUTEX_INITIALIZER;

/* A batched method: each caller's x back as x + 1, with self there. */
static courier_value *
b_inc(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	const courier_value	*xs = courier_list_get(args, 0);
	courier_value		*out;
	size_t			 i;

	if (self == NULL) {
		*err = courier_error_new(COURIER_INTERNAL, "no self");
		return (NULL);
	}
	out = courier_list_new();
	for (i = 0; i < n; i++)
		courier_list_append(out, courier_int(courier_value_int(
		    courier_list_get(xs, i)) + 1));
	return (out);
}

static courier_value *
m_echo(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*v = courier_request_arg(req, 0);

	return (v != NULL ? courier_value_ref(v) : courier_null());
}

static courier_value *
m_block(void *self, courier_request *req, courier_error **err)
{
	struct state	*st = self;

	gate_pass(st->gate);
	return (courier_string("released"));
}

/* Ask for the program's stop from inside a handler. */
static courier_value *
m_quit(void *self, courier_request *req, courier_error **err)
{
	struct state	*st = self;

	lp_stop_program(st->node);
	return (courier_string("stopping"));
}

/* Find the node's state, register the methods, and count. */
static int
node_setup(lp_node *node, void **self)
{
	struct state	*st = NULL;
	size_t		 i;

	pthread_mutex_lock(&states_mtx);
	for (i = 0; i < sizeof states / sizeof states[0]; i++) {
		if (states[i].node == node)
			st = &states[i];
	}
	pthread_mutex_unlock(&states_mtx);
	if (st == NULL)
		return (-1);
	st->setups++;
	if (st->fail_setup) {
		if (st->setup_says_why)
			lp_node_fail(node, "no database at %s", "db:1");
		return (7);
	}
	if (lp_node_method(node, "echo", m_echo, 0) != 0 ||
	    lp_node_method(node, "block", m_block, 0) != 0 ||
	    lp_node_method(node, "quit", m_quit, 0) != 0 ||
	    lp_node_batched_method(node, "inc", b_inc, 8, 5) != 0)
		return (-1);
	if (st->dup_method)
		(void)lp_node_method(node, "echo", m_echo, 0);
	lp_node_set_workers(node, 2);
	*self = st;
	return (0);
}

static void
node_teardown(lp_node *node, void *self)
{
	struct state	*st = self;

	st->teardowns++;
}

/* run: record that it ran, return what the test asked for. */
static int
node_run(lp_node *node, void *self)
{
	struct state	*st = self;

	st->runs++;
	if (st->run_says_why)
		lp_node_fail(node, "the data was bad");
	return (st->run_result);
}

static const lp_node_def serve_def = {
	.name = "serve",
	.setup = node_setup,
	.teardown = node_teardown,
};

static const lp_node_def run_def = {
	.name = "runner",
	.setup = node_setup,
	.run = node_run,
	.teardown = node_teardown,
};

/* Make a node with a state of its own (states[i]). */
static lp_node *
state_node(size_t i, const lp_node_def *def, struct lp_node_params *p)
{
	lp_node	*node;
	char	*cause = NULL;

	node = lp_node_new(def, p, &cause);
	ck_assert_msg(node != NULL, "lp_node_new: %s", cause);
	pthread_mutex_lock(&states_mtx);
	memset(&states[i], 0, sizeof states[i]);
	states[i].node = node;
	pthread_mutex_unlock(&states_mtx);
	return (node);
}

/* lp_node_init() with the environment as it is; returns the cause. */
static char *
init_cause(void)
{
	lp_node	*node;
	char	*cause = NULL;

	node = lp_node_init(&serve_def, &cause);
	ck_assert_ptr_null(node);
	ck_assert_ptr_nonnull(cause);
	return (cause);
}

static void
assert_init_fails(const char *var, const char *value, const char *want)
{
	char	*cause;
	char	*old = getenv(var) != NULL ? strdup(getenv(var)) : NULL;

	setenv(var, value, 1);
	cause = init_cause();
	ck_assert_msg(strstr(cause, var) != NULL && strstr(cause, want) != NULL,
	    "%s=%s: cause \"%s\" lacks %s and \"%s\"", var, value, cause, var,
	    want);
	free(cause);
	if (old != NULL)
		setenv(var, old, 1);
	else
		unsetenv(var);
	free(old);
}

START_TEST(test_node_init_outside_program)
{
	char	*cause;

	setenv("LP_PROGRAM", "p", 1);
	cause = init_cause();
	ck_assert_ptr_nonnull(strstr(cause, "LP_NODE is not set"));
	ck_assert_ptr_nonnull(strstr(cause, "lpctl run"));
	free(cause);
}
END_TEST

START_TEST(test_node_init_bad_env)
{
	char	 text[32];
	int	 pfd[2], sfd;

	setenv("LP_PROGRAM", "p", 1);
	setenv("LP_NODE", "g/0", 1);
	setenv("LP_ADDRESS", "unix:/nonexistent/x", 1);

	assert_init_fails("LP_NODE", "g", "GROUP/INDEX");
	assert_init_fails("LP_NODE", "g/x", "GROUP/INDEX");
	assert_init_fails("LP_LISTEN_FD", "abc", "file descriptor number");
	assert_init_fails("LP_LISTEN_FD", "-1", "file descriptor number");
	assert_init_fails("LP_LISTEN_FD", "3x", "file descriptor number");
	assert_init_fails("LP_LISTEN_FD", "99999999999", "file descriptor");
	assert_init_fails("LP_LISTEN_FD", "1000000", "no such open file");

	/* Open, but a pipe; a socket that does not listen. */
	ck_assert_int_eq(pipe(pfd), 0);
	snprintf(text, sizeof text, "%d", pfd[0]);
	assert_init_fails("LP_LISTEN_FD", text, "not a listening socket");
	/* Not ours to close: still open. */
	ck_assert_int_ne(fcntl(pfd[0], F_GETFD), -1);
	close(pfd[0]);
	close(pfd[1]);
	sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(text, sizeof text, "%d", sfd);
	assert_init_fails("LP_LISTEN_FD", text, "does not listen");
	ck_assert_int_ne(fcntl(sfd, F_GETFD), -1);
	close(sfd);

	assert_init_fails("LP_RUN", "2", "must be 1");
	assert_init_fails("LP_RUN", "yes", "must be 1");
	assert_init_fails("LP_CONFIG", "{\"a\":", "not valid JSON");
	assert_init_fails("LP_CONFIG", "[1, 2", "not valid JSON");
	assert_init_fails("LP_ADDRESS", "bogus", "not an address");
	assert_init_fails("LP_CONTROL", "http://x", "not an address");

	unsetenv("LP_ADDRESS");
	setenv("LP_LISTEN_FD", "0", 1);
	{
		char *cause = init_cause();

		ck_assert_ptr_nonnull(strstr(cause, "LP_ADDRESS"));
		free(cause);
	}
	unsetenv("LP_LISTEN_FD");

	unsetenv("LP_PROGRAM");
	{
		char *cause = init_cause();

		ck_assert_ptr_nonnull(strstr(cause, "LP_PROGRAM"));
		free(cause);
	}
}
END_TEST

START_TEST(test_node_init_good_env)
{
	const courier_value	*v;
	lp_node			*node;
	char			*cause = NULL, *address, text[32];
	int			 fd;

	address = addr_of("s");
	fd = listening_socket("s");
	/* Inherited without close-on-exec, as a child gets it. */
	ck_assert_int_eq(fcntl(fd, F_SETFD, 0), 0);
	snprintf(text, sizeof text, "%d", fd);
	setenv("LP_PROGRAM", "prog", 1);
	setenv("LP_NODE", "grp/3", 1);
	setenv("LP_ADDRESS", address, 1);
	setenv("LP_LISTEN_FD", text, 1);
	setenv("LP_CONFIG", "{\"rounds\": 3, \"peer\": \"unix:/x\"}", 1);
	setenv("LP_CONTROL", "unix:/ctl", 1);
	setenv("LP_RUN", "0", 1);

	node = lp_node_init(&serve_def, &cause);
	ck_assert_msg(node != NULL, "%s", cause);
	ck_assert_str_eq(lp_node_name(node), "grp/3");
	ck_assert_str_eq(lp_node_program(node), "prog");
	ck_assert_str_eq(lp_node_address(node), address);
	ck_assert_int_eq(courier_value_type(lp_node_config(node)),
	    COURIER_DICT);
	v = lp_node_config_get(node, "rounds");
	ck_assert_int_eq(courier_value_int(v), 3);
	ck_assert_ptr_null(lp_node_config_get(node, "nope"));
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert(!lp_stopping(node));
	ck_assert_ptr_null(lp_node_failure(node));
	/* The environment is left alone. */
	ck_assert_str_eq(getenv("LP_NODE"), "grp/3");
	ck_assert_str_eq(getenv("LP_LISTEN_FD"), text);
	lp_node_free(node);
	/* The node owned the fd: closed with it. */
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);

	/* Minimal: no config is null; LP_RUN unset means run. */
	unsetenv("LP_ADDRESS");
	unsetenv("LP_LISTEN_FD");
	unsetenv("LP_CONFIG");
	unsetenv("LP_CONTROL");
	unsetenv("LP_RUN");
	node = lp_node_init(&serve_def, &cause);
	ck_assert_msg(node != NULL, "%s", cause);
	ck_assert_ptr_null(lp_node_address(node));
	ck_assert_int_eq(courier_value_type(lp_node_config(node)),
	    COURIER_NULL);
	ck_assert_ptr_null(lp_node_config_get(node, "rounds"));
	lp_node_free(node);
	free(address);
}
END_TEST

START_TEST(test_node_new_bad_params)
{
	struct lp_node_params	 p;
	lp_node_def		 nosetup = { .name = "x" };
	char			*cause = NULL;
	int			 fd;

	p = params("g/0", NULL, NULL);
	ck_assert_ptr_null(lp_node_new(&nosetup, &p, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "setup"));
	free(cause);

	p = params("g/0", NULL, "{");
	ck_assert_ptr_null(lp_node_new(&serve_def, &p, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "config is not valid JSON"));
	free(cause);

	p = params(NULL, NULL, NULL);
	ck_assert_ptr_null(lp_node_new(&serve_def, &p, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "name"));
	free(cause);

	/* The node owns listen_fd, also on failure. */
	fd = listening_socket("s");
	p = params("g/0", "unix:/x", "nope");
	p.listen_fd = fd;
	ck_assert_ptr_null(lp_node_new(&serve_def, &p, &cause));
	free(cause);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
}
END_TEST

/* A node serving on a Unix address answers echo until it is stopped. */
START_TEST(test_node_serve)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	lp_node			*node;
	char			*address = addr_of("n"), path[128];

	p = params("echo/0", address, NULL);
	p.run = false;
	node = state_node(0, &run_def, &p);
	exec_start(&t, node);
	c = client_new(address);
	check_echo(c, 42);
	check_echo(c, -1);
	/* A batched method is served as one, with the node's self. */
	v = courier_call(c, "inc", courier_args(courier_int(41)), &err);
	ck_assert_msg(v != NULL, "inc: %s", courier_error_message(err));
	ck_assert_int_eq(courier_value_int(v), 42);
	courier_value_unref(v);
	lp_node_stop(node);
	ck_assert_int_eq(exec_join(&t), 0);
	courier_client_free(c);

	ck_assert_int_eq(states[0].setups, 1);
	ck_assert_int_eq(states[0].runs, 0);	/* run disabled */
	ck_assert_int_eq(states[0].teardowns, 1);
	ck_assert_ptr_null(lp_node_failure(node));
	ck_assert_ptr_null(lp_node_self(node));
	/* The node made the socket file, and removed it. */
	snprintf(path, sizeof path, "%s/n", tmpdir);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Once only. */
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_ptr_nonnull(strstr(lp_node_failure(node), "twice"));
	lp_node_free(node);
	free(address);
}
END_TEST

/*
 * A node without a run function serves on its own thread until a call
 * needs another: with that thread in a handler that blocks, the node still
 * reads and answers calls, and its stop waits for the handlers in flight
 * and answers them.
 */
START_TEST(test_node_serve_blocked)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	struct gate		 g;
	courier_client		*c;
	courier_future		*f[2];
	courier_value		*v;
	lp_node			*node;
	char			*address = addr_of("n");
	int			 i;

	gate_init(&g);
	p = params("echo/0", address, NULL);
	p.run = false;
	node = state_node(0, &run_def, &p);
	states[0].gate = &g;
	exec_start(&t, node);
	c = client_new(address);
	check_echo(c, 1);
	f[0] = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&g, 1);
	check_echo(c, 2);
	f[1] = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&g, 2);
	lp_node_stop(node);
	gate_open(&g);
	for (i = 0; i < 2; i++) {
		v = courier_future_wait(f[i], CALL_TIMEOUT_MS, NULL);
		ck_assert_ptr_nonnull(v);
		ck_assert_str_eq(courier_value_string(v, NULL), "released");
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert_int_eq(g.max_running, 2);
	courier_client_free(c);
	lp_node_free(node);
	gate_destroy(&g);
	free(address);
}
END_TEST

/* With run enabled, the node is done when run returns. */
START_TEST(test_node_run)
{
	struct lp_node_params	 p;
	lp_node			*node;
	char			*address = addr_of("n");

	p = params("run/0", address, NULL);
	node = state_node(0, &run_def, &p);
	ck_assert_int_eq(lp_node_exec(node), 0);
	ck_assert_int_eq(states[0].runs, 1);
	ck_assert_int_eq(states[0].teardowns, 1);
	ck_assert(lp_stopping(node));
	ck_assert_ptr_null(lp_node_failure(node));
	lp_node_free(node);

	/* A process node (no address) runs too. */
	p = params("run/1", NULL, NULL);
	node = state_node(0, &run_def, &p);
	ck_assert_int_eq(lp_node_exec(node), 0);
	ck_assert_int_eq(states[0].runs, 1);
	lp_node_free(node);
	free(address);
}
END_TEST

START_TEST(test_node_run_fails)
{
	struct lp_node_params	 p;
	lp_node			*node;

	p = params("run/0", NULL, NULL);
	node = state_node(0, &run_def, &p);
	states[0].run_result = 3;
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_str_eq(lp_node_failure(node), "run returned 3");
	ck_assert_int_eq(states[0].teardowns, 1);
	lp_node_free(node);

	/* lp_node_fail's reason is kept. */
	node = state_node(0, &run_def, &p);
	states[0].run_result = 1;
	states[0].run_says_why = true;
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_str_eq(lp_node_failure(node), "the data was bad");
	lp_node_free(node);
}
END_TEST

START_TEST(test_node_setup_fails)
{
	struct lp_node_params	 p;
	lp_node			*node;
	char			*address = addr_of("n"), path[128];

	p = params("setup/0", address, NULL);
	node = state_node(0, &run_def, &p);
	states[0].fail_setup = true;
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_str_eq(lp_node_failure(node), "setup failed");
	ck_assert_int_eq(states[0].runs, 0);
	ck_assert_int_eq(states[0].teardowns, 0);
	ck_assert(lp_stopping(node));
	snprintf(path, sizeof path, "%s/n", tmpdir);
	ck_assert_int_eq(access(path, F_OK), -1);	/* never served */
	lp_node_free(node);

	node = state_node(0, &run_def, &p);
	states[0].fail_setup = true;
	states[0].setup_says_why = true;
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_str_eq(lp_node_failure(node), "no database at db:1");
	lp_node_free(node);

	/* A method registered twice fails the node, after teardown. */
	node = state_node(0, &run_def, &p);
	states[0].dup_method = true;
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_ptr_nonnull(strstr(lp_node_failure(node), "echo"));
	ck_assert_ptr_nonnull(strstr(lp_node_failure(node), "twice"));
	ck_assert_int_eq(states[0].runs, 0);
	ck_assert_int_eq(states[0].teardowns, 1);
	lp_node_free(node);
	free(address);
}
END_TEST

/* A serves nothing; its run calls B through handles and records. */
static int
handles_run(lp_node *node, void *self)
{
	struct state	*st = self;
	courier_client	*b, **bs, *c;
	courier_value	*v;
	courier_error	*err = NULL;
	size_t		 n, i;
	char		*cause = NULL;

	if ((b = lp_node_handle(node, "b", &cause)) == NULL) {
		st->errors[0] = cause;
		return (1);
	}
	v = courier_call(b, "echo", courier_args(courier_int(5)), &err);
	if (v != NULL && courier_value_int(v) == 5)
		st->handle_ok++;
	courier_value_unref(v);
	courier_error_free(err);
	err = NULL;

	if ((bs = lp_node_handles(node, "bs", &n, &cause)) == NULL) {
		st->errors[0] = cause;
		return (1);
	}
	for (i = 0; i < n; i++) {
		v = courier_call(bs[i], "echo",
		    courier_args(courier_int((int64_t)i)), &err);
		if (v != NULL && courier_value_int(v) == (int64_t)i)
			st->handle_ok++;
		courier_value_unref(v);
		courier_error_free(err);
		err = NULL;
	}
	c = lp_node_client(node, courier_client_address(b), NULL);
	st->same_client = n == 2 && bs[0] == b && bs[1] == b && c == b &&
	    lp_node_handle(node, "b", NULL) == b &&
	    lp_node_handles(node, "bs", &n, NULL) == bs;

	/* The errors, for the test to check. */
	if (lp_node_handle(node, "rounds", &st->errors[0]) != NULL ||
	    lp_node_handle(node, "missing", &st->errors[1]) != NULL ||
	    lp_node_handles(node, "b", &n, &st->errors[2]) != NULL ||
	    lp_node_handles(node, "mixed", &n, &st->errors[3]) != NULL)
		return (1);
	return (n == 0 ? 0 : 1);
}

static const lp_node_def handles_def = {
	.name = "handles",
	.setup = node_setup,
	.run = handles_run,
	.teardown = node_teardown,
};

START_TEST(test_node_handles)
{
	struct exec_thread	 tb;
	struct lp_node_params	 p;
	lp_node			*a, *b;
	char			*baddr = addr_of("b"), *config;
	char			*cause = NULL;
	size_t			 n = 9;

	if (asprintf(&config, "{\"b\": \"%s\", \"bs\": [\"%s\", \"%s\"], "
	    "\"rounds\": 3, \"mixed\": [\"%s\", 4], \"none\": []}", baddr,
	    baddr, baddr, baddr) == -1)
		abort();
	p = params("b/0", baddr, NULL);
	b = state_node(1, &serve_def, &p);
	exec_start(&tb, b);

	p = params("a/0", NULL, config);
	a = state_node(0, &handles_def, &p);
	ck_assert_int_eq(lp_node_exec(a), 0);
	ck_assert_int_eq(states[0].handle_ok, 3);
	ck_assert(states[0].same_client);
	ck_assert_ptr_nonnull(strstr(states[0].errors[0], "rounds: not an "
	    "address (a \"$handle\" in the program file)"));
	ck_assert_ptr_nonnull(strstr(states[0].errors[1],
	    "config has no key \"missing\""));
	ck_assert_ptr_nonnull(strstr(states[0].errors[2],
	    "b: not a list of addresses (a \"$handles\" in the program "
	    "file)"));
	ck_assert_ptr_nonnull(strstr(states[0].errors[3], "mixed[1]: not an "
	    "address"));
	/* An empty list: an array, and no client. */
	ck_assert_ptr_nonnull(lp_node_handles(a, "none", &n, NULL));
	ck_assert_int_eq(n, 0);
	/* A malformed address string. */
	ck_assert_ptr_null(lp_node_client(a, "nowhere", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "nowhere"));
	free(cause);
	for (n = 0; n < 4; n++)
		free(states[0].errors[n]);
	lp_node_free(a);

	/* A config that is not a dict has no key. */
	p = params("a/1", NULL, "[1]");
	a = state_node(0, &handles_def, &p);
	ck_assert_ptr_null(lp_node_handle(a, "b", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "config has no key \"b\""));
	free(cause);
	lp_node_free(a);

	lp_node_stop(b);
	ck_assert_int_eq(exec_join(&tb), 0);
	lp_node_free(b);
	free(config);
	free(baddr);
}
END_TEST

static void *
stop_later(void *arg)
{
	lp_node_stop(arg);
	return (NULL);
}

static void *
wait_stop_main(void *arg)
{
	return (lp_wait_for_stop(arg, COURIER_FOREVER) ? arg : NULL);
}

START_TEST(test_node_stop_event)
{
	struct lp_node_params	 p;
	pthread_t		 waiter, stopper;
	lp_node			*node;
	void			*r;
	char			*cause = NULL;

	p = params("s/0", NULL, NULL);
	node = lp_node_new(&serve_def, &p, &cause);
	ck_assert_ptr_nonnull(node);
	ck_assert(!lp_stopping(node));
	ck_assert(!fd_readable(lp_stop_fd(node)));
	ck_assert(!lp_wait_for_stop(node, 0));
	ck_assert(!lp_wait_for_stop(node, 1));

	ck_assert_int_eq(pthread_create(&waiter, NULL, wait_stop_main, node),
	    0);
	ck_assert_int_eq(pthread_create(&stopper, NULL, stop_later, node), 0);
	ck_assert(lp_wait_for_stop(node, COURIER_FOREVER));
	pthread_join(stopper, NULL);
	pthread_join(waiter, &r);
	ck_assert_ptr_eq(r, node);
	ck_assert(lp_stopping(node));
	/* Readable, and it stays so. */
	ck_assert(fd_readable(lp_stop_fd(node)));
	lp_node_stop(node);
	ck_assert(fd_readable(lp_stop_fd(node)));
	ck_assert(lp_wait_for_stop(node, 0));
	lp_node_free(node);
}
END_TEST

static void
on_stop_cb(lp_node *node, void *arg)
{
	struct state	*st = &states[0];
	size_t		 len = strlen(st->seen);

	if (len + 1 < sizeof st->seen) {
		st->seen[len] = *(const char *)arg;
		st->seen[len + 1] = '\0';
	}
}

static int
on_stop_setup(lp_node *node, void **self)
{
	if (node_setup(node, self) != 0)
		return (-1);
	lp_on_stop(node, on_stop_cb, (void *)"A");
	lp_on_stop(node, on_stop_cb, (void *)"B");
	lp_on_stop(node, on_stop_cb, (void *)"C");
	return (0);
}

/* Stopped or not, teardown sees the callbacks done. */
static void
on_stop_teardown(lp_node *node, void *self)
{
	on_stop_cb(node, (void *)"T");
}

static const lp_node_def on_stop_def = {
	.name = "on_stop",
	.setup = on_stop_setup,
	.teardown = on_stop_teardown,
};

START_TEST(test_node_on_stop)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	lp_node			*node;
	char			*address = addr_of("n");

	p = params("cb/0", address, NULL);
	node = state_node(0, &on_stop_def, &p);
	exec_start(&t, node);
	lp_node_stop(node);
	lp_node_stop(node);
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert_str_eq(states[0].seen, "ABCT");
	/* After the stop: at once. */
	lp_on_stop(node, on_stop_cb, (void *)"D");
	ck_assert_str_eq(states[0].seen, "ABCTD");
	lp_node_free(node);
	free(address);
}
END_TEST

/*
 * A run function that waits on its own condition, as the circular example
 * does: only an on_stop callback, run on the stopping thread, can wake it.
 */
struct cond_state {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	bool		 woken;
};

static void
cond_wake_cb(lp_node *node, void *arg)
{
	struct cond_state	*cs = arg;

	pthread_mutex_lock(&cs->mtx);
	cs->woken = true;
	pthread_cond_signal(&cs->cond);
	pthread_mutex_unlock(&cs->mtx);
}

static struct cond_state cond_state = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false
};

static int
cond_setup(lp_node *node, void **self)
{
	*self = &cond_state;
	lp_on_stop(node, cond_wake_cb, &cond_state);
	return (0);
}

static int
cond_run(lp_node *node, void *self)
{
	struct cond_state	*cs = self;

	pthread_mutex_lock(&cs->mtx);
	while (!cs->woken)
		pthread_cond_wait(&cs->cond, &cs->mtx);
	pthread_mutex_unlock(&cs->mtx);
	return (0);
}

static const lp_node_def cond_def = {
	.name = "cond",
	.setup = cond_setup,
	.run = cond_run,
};

START_TEST(test_node_on_stop_wakes_run)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	lp_node			*node;
	char			*cause = NULL;

	cond_state.woken = false;
	p = params("cond/0", NULL, NULL);
	node = lp_node_new(&cond_def, &p, &cause);
	ck_assert_msg(node != NULL, "%s", cause);
	exec_start(&t, node);
	lp_node_stop(node);
	/* Hangs (and the test times out) if the callback waits for run. */
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert(cond_state.woken);
	lp_node_free(node);
}
END_TEST

/*
 * A's run calls B's "block", whose handler waits at a gate, and calls a
 * socket that listens but never accepts; both must end with CANCELLED
 * once A stops.
 */
static int
cancel_run(lp_node *node, void *self)
{
	struct state	*st = self;
	courier_client	*b, *dead;
	courier_future	*f0, *f1;
	courier_error	*err = NULL;
	courier_value	*v;

	b = lp_node_handle(node, "b", NULL);
	dead = lp_node_handle(node, "dead", NULL);
	if (b == NULL || dead == NULL)
		return (1);
	f0 = courier_call_async(b, "block", courier_list_new());
	f1 = courier_call_async(dead, "echo", courier_list_new());
	v = courier_future_wait(f0, COURIER_FOREVER, &err);
	st->codes[0] = v == NULL ? courier_error_code(err) : COURIER_OK;
	courier_value_unref(v);
	courier_error_free(err);
	err = NULL;
	v = courier_future_wait(f1, COURIER_FOREVER, &err);
	st->codes[1] = v == NULL ? courier_error_code(err) : COURIER_OK;
	courier_value_unref(v);
	courier_error_free(err);
	courier_future_free(f0);
	courier_future_free(f1);
	return (0);
}

static const lp_node_def cancel_def = {
	.name = "cancel",
	.setup = node_setup,
	.run = cancel_run,
	.teardown = node_teardown,
};

START_TEST(test_node_stop_cancels_calls)
{
	struct exec_thread	 ta, tb;
	struct lp_node_params	 p;
	struct gate		 g;
	lp_node			*a, *b;
	char			*baddr = addr_of("b");
	char			*dead = addr_of("dead");
	char			*config;
	int			 fd;

	gate_init(&g);
	fd = listening_socket("dead");
	if (asprintf(&config, "{\"b\": \"%s\", \"dead\": \"%s\"}", baddr,
	    dead) == -1)
		abort();
	p = params("b/0", baddr, NULL);
	b = state_node(1, &serve_def, &p);
	states[1].gate = &g;
	exec_start(&tb, b);
	p = params("a/0", NULL, config);
	a = state_node(0, &cancel_def, &p);
	states[0].codes[0] = states[0].codes[1] = COURIER_OK;
	exec_start(&ta, a);

	/* The call is in B's handler: it is pending for sure. */
	gate_wait_entered(&g, 1);
	lp_node_stop(a);
	ck_assert_int_eq(exec_join(&ta), 0);
	ck_assert_int_eq(states[0].codes[0], COURIER_CANCELLED);
	ck_assert_int_eq(states[0].codes[1], COURIER_CANCELLED);

	/* A call made after the stop is cancelled too. */
	{
		courier_client	*c = lp_node_handle(a, "b", NULL);
		courier_error	*err = NULL;

		ck_assert_ptr_null(courier_call(c, "echo",
		    courier_args(courier_int(1)), &err));
		ck_assert_int_eq(courier_error_code(err), COURIER_CANCELLED);
		courier_error_free(err);
	}
	lp_node_free(a);

	gate_open(&g);
	lp_node_stop(b);
	ck_assert_int_eq(exec_join(&tb), 0);
	lp_node_free(b);
	close(fd);
	gate_destroy(&g);
	free(config);
	free(baddr);
	free(dead);
}
END_TEST

/* The supervisor's side: a server that records stop_program's calls. */
struct control {
	pthread_mutex_t	 mtx;
	int		 calls;
	char		 node[64];
};

static courier_value *
m_stop_program(void *self, courier_request *req, courier_error **err)
{
	struct control		*ctl = self;
	const courier_value	*v = courier_request_arg(req, 0);
	const char		*name = courier_value_string(v, NULL);

	pthread_mutex_lock(&ctl->mtx);
	ctl->calls++;
	snprintf(ctl->node, sizeof ctl->node, "%s", name != NULL ? name :
	    "(not a string)");
	pthread_mutex_unlock(&ctl->mtx);
	return (NULL);
}

static courier_server *
control_new(struct control *ctl, const char *address)
{
	courier_server	*s;
	char		*cause = NULL;

	memset(ctl, 0, sizeof *ctl);
	pthread_mutex_init(&ctl->mtx, NULL);
	s = courier_server_new();
	ck_assert_int_eq(courier_server_add_method(s, "stop_program",
	    m_stop_program, ctl, 0, &cause), 0);
	ck_assert_msg(courier_server_listen(s, address, &cause) == 0, "%s",
	    cause);
	ck_assert_int_eq(courier_server_start(s, &cause), 0);
	return (s);
}

static void *
stop_program_main(void *arg)
{
	lp_stop_program(arg);
	return (NULL);
}

START_TEST(test_node_stop_program)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	struct control		 ctl;
	courier_server		*s;
	pthread_t		 threads[8];
	lp_node			*node;
	char			*caddr = addr_of("ctl");
	char			*address = addr_of("n");
	size_t			 i;

	s = control_new(&ctl, caddr);
	p = params("worker/2", address, NULL);
	p.control = caddr;
	p.run = false;
	node = state_node(0, &run_def, &p);
	exec_start(&t, node);
	/* From many threads at once: one request, and all return. */
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL,
		    stop_program_main, node), 0);
	for (i = 0; i < 8; i++)
		pthread_join(threads[i], NULL);
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert_int_eq(ctl.calls, 1);
	ck_assert_str_eq(ctl.node, "worker/2");
	ck_assert(lp_stopping(node));
	lp_stop_program(node);		/* again: nothing more */
	ck_assert_int_eq(ctl.calls, 1);
	lp_node_free(node);

	courier_server_free(s);
	pthread_mutex_destroy(&ctl.mtx);
	free(caddr);
	free(address);
}
END_TEST

START_TEST(test_node_stop_program_from_handler)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	struct control		 ctl;
	courier_server		*s;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	lp_node			*node;
	char			*caddr = addr_of("ctl");
	char			*address = addr_of("n");

	s = control_new(&ctl, caddr);
	p = params("quitter/0", address, NULL);
	p.control = caddr;
	p.run = false;
	node = state_node(0, &run_def, &p);
	exec_start(&t, node);
	c = client_new(address);
	v = courier_call(c, "quit", courier_list_new(), &err);
	ck_assert_msg(v != NULL, "quit: %s", courier_error_message(err));
	ck_assert_str_eq(courier_value_string(v, NULL), "stopping");
	courier_value_unref(v);
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert_int_eq(ctl.calls, 1);
	ck_assert_str_eq(ctl.node, "quitter/0");
	courier_client_free(c);
	lp_node_free(node);
	courier_server_free(s);
	pthread_mutex_destroy(&ctl.mtx);
	free(caddr);
	free(address);
}
END_TEST

START_TEST(test_node_stop_program_local)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	lp_node			*node;
	char			*address = addr_of("n");
	char			*gone = addr_of("gone");

	/* No supervisor: the node stops. */
	p = params("solo/0", address, NULL);
	p.run = false;
	node = state_node(0, &run_def, &p);
	exec_start(&t, node);
	lp_stop_program(node);
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert(lp_stopping(node));
	lp_node_free(node);

	/* No supervisor there: said on stderr; the node stops all the same. */
	p.control = gone;
	node = state_node(0, &run_def, &p);
	exec_start(&t, node);
	lp_stop_program(node);
	ck_assert_int_eq(exec_join(&t), 0);
	ck_assert(lp_stopping(node));
	lp_node_free(node);
	free(address);
	free(gone);
}
END_TEST

START_TEST(test_node_listen_fd)
{
	struct exec_thread	 t;
	struct lp_node_params	 p;
	courier_client		*c;
	lp_node			*node;
	char			*address = addr_of("n"), path[128];

	p = params("fd/0", address, NULL);
	p.listen_fd = listening_socket("n");
	p.run = false;
	node = state_node(0, &run_def, &p);
	exec_start(&t, node);
	c = client_new(address);
	check_echo(c, 7);
	lp_node_stop(node);
	ck_assert_int_eq(exec_join(&t), 0);
	courier_client_free(c);
	lp_node_free(node);
	/* A handed-over socket's file belongs to whoever bound it. */
	snprintf(path, sizeof path, "%s/n", tmpdir);
	ck_assert_int_eq(access(path, F_OK), 0);
	free(address);
}
END_TEST

START_TEST(test_node_serve_fails)
{
	struct lp_node_params	 p;
	lp_node			*node;
	char			*address = addr_of("n");
	int			 fd;

	/* The address is in use: the node fails, after teardown. */
	fd = listening_socket("n");
	p = params("busy/0", address, NULL);
	node = state_node(0, &run_def, &p);
	ck_assert_int_eq(lp_node_exec(node), 1);
	ck_assert_ptr_nonnull(strstr(lp_node_failure(node), "cannot serve"));
	ck_assert_int_eq(states[0].runs, 0);
	ck_assert_int_eq(states[0].teardowns, 1);
	lp_node_free(node);
	close(fd);
	free(address);
}
END_TEST

/*
 * Many nodes: each one's run calls echo on every node (itself included)
 * through the handles "all", then waits for the stop.
 */
#define NMANY	20

static pthread_mutex_t	 many_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 many_cv = PTHREAD_COND_INITIALIZER;
static int		 many_done;

static int
many_run(lp_node *node, void *self)
{
	struct state	*st = self;
	courier_client	**all;
	courier_future	*f[NMANY];
	courier_value	*v;
	size_t		 n, i;

	if ((all = lp_node_handles(node, "all", &n, NULL)) == NULL ||
	    n != NMANY)
		return (1);
	for (i = 0; i < n; i++)
		f[i] = courier_call_async(all[i], "echo",
		    courier_args(courier_int((int64_t)i)));
	for (i = 0; i < n; i++) {
		v = courier_future_wait(f[i], COURIER_FOREVER, NULL);
		if (v != NULL && courier_value_int(v) == (int64_t)i)
			st->answered++;
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	pthread_mutex_lock(&many_mtx);
	many_done++;
	pthread_cond_broadcast(&many_cv);
	pthread_mutex_unlock(&many_mtx);
	(void)lp_wait_for_stop(node, COURIER_FOREVER);
	return (0);
}

static const lp_node_def many_def = {
	.name = "many",
	.setup = node_setup,
	.run = many_run,
	.teardown = node_teardown,
};

START_TEST(test_node_many)
{
	struct exec_thread	 t[NMANY];
	struct lp_node_params	 p;
	lp_node			*nodes[NMANY];
	char			*addrs[NMANY], names[NMANY][16], leaf[8];
	char			 config[8192];
	size_t			 i, len;

	len = (size_t)snprintf(config, sizeof config, "{\"all\": [");
	for (i = 0; i < NMANY; i++) {
		snprintf(leaf, sizeof leaf, "n%zu", i);
		addrs[i] = addr_of(leaf);
		len += (size_t)snprintf(config + len, sizeof config - len,
		    "%s\"%s\"", i == 0 ? "" : ", ", addrs[i]);
	}
	snprintf(config + len, sizeof config - len, "]}");
	many_done = 0;

	for (i = 0; i < NMANY; i++) {
		snprintf(names[i], sizeof names[i], "many/%zu", i);
		p = params(names[i], addrs[i], config);
		nodes[i] = state_node(i, &many_def, &p);
	}
	for (i = 0; i < NMANY; i++)
		exec_start(&t[i], nodes[i]);
	pthread_mutex_lock(&many_mtx);
	while (many_done < NMANY)
		pthread_cond_wait(&many_cv, &many_mtx);
	pthread_mutex_unlock(&many_mtx);
	for (i = 0; i < NMANY; i++)
		lp_node_stop(nodes[i]);
	for (i = 0; i < NMANY; i++) {
		ck_assert_int_eq(exec_join(&t[i]), 0);
		ck_assert_int_eq(states[i].answered, NMANY);
		ck_assert_int_eq(states[i].teardowns, 1);
	}
	for (i = 0; i < NMANY; i++) {
		lp_node_free(nodes[i]);
		free(addrs[i]);
	}
}
END_TEST

static int
node_main_setup(lp_node *node, void **self)
{
	if (lp_node_method(node, "echo", m_echo, 0) != 0)
		return (-1);
	*self = NULL;
	return (0);
}

static const lp_node_def main_def = {
	.name = "main",
	.setup = node_main_setup,
};

/*
 * lp_node_main() in a child process: outside a program it exits 2; in one,
 * it serves until SIGTERM, then exits 0.
 */
static pid_t
spawn_main(void)
{
	char	*argv[] = { (char *)"check-node", NULL };
	pid_t	 pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* stderr stays: a failing child should say why. */
		_exit(lp_node_main(&main_def, 1, argv));
	}
	return (pid);
}

START_TEST(test_node_main_signals)
{
	/*
	 * Static, not malloc'd: under valgrind the child checks for leaks at
	 * its exit, and the parent's heap that it inherited must be reachable.
	 */
	static char	 address[128];
	courier_client	*c;
	char		*argv[] = { NULL };
	pid_t		 pid;
	int		 st;

	snprintf(address, sizeof address, "unix:%s/n", tmpdir);

	/* Outside a program: status 2, in this very process. */
	ck_assert_int_eq(lp_node_main(&main_def, 0, argv), 2);

	setenv("LP_PROGRAM", "p", 1);
	setenv("LP_NODE", "main/0", 1);
	setenv("LP_ADDRESS", address, 1);
	setenv("LP_RUN", "1", 1);
	pid = spawn_main();
	c = client_new(address);
	check_echo(c, 9);		/* the child serves */
	courier_client_free(c);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "child status %#x", st);

	/* A bad variable: status 2. */
	setenv("LP_RUN", "maybe", 1);
	pid = spawn_main();
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 2);
}
END_TEST

static Suite *
node_suite(void)
{
	Suite	*s = suite_create("node");
	TCase	*tc;

#define ADD(name, fn) do {						\
	tc = tcase_create(name);					\
	tcase_add_checked_fixture(tc, setup, teardown);			\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	ADD("init_outside_program", test_node_init_outside_program);
	ADD("init_bad_env", test_node_init_bad_env);
	ADD("init_good_env", test_node_init_good_env);
	ADD("new_bad_params", test_node_new_bad_params);
	ADD("serve", test_node_serve);
	ADD("serve_blocked", test_node_serve_blocked);
	ADD("run", test_node_run);
	ADD("run_fails", test_node_run_fails);
	ADD("setup_fails", test_node_setup_fails);
	ADD("serve_fails", test_node_serve_fails);
	ADD("handles", test_node_handles);
	ADD("stop_event", test_node_stop_event);
	ADD("on_stop", test_node_on_stop);
	ADD("on_stop_wakes_run", test_node_on_stop_wakes_run);
	ADD("stop_cancels_calls", test_node_stop_cancels_calls);
	ADD("stop_program", test_node_stop_program);
	ADD("stop_program_from_handler", test_node_stop_program_from_handler);
	ADD("stop_program_local", test_node_stop_program_local);
	ADD("listen_fd", test_node_listen_fd);
	ADD("many", test_node_many);
	ADD("main_signals", test_node_main_signals);
#undef ADD
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(node_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
