/*
 * courier-node.c: the node runtime (courier/node.h): a node's making, its
 * life, its methods and its stop. courier-node-config.c has what the node
 * was given (names, config, handles and their clients), and
 * courier-node-main.c the main() of a node that is a process of its own;
 * courier-node.h is what the three share.
 *
 * Everything belongs to the lp_node: its config, its clients, its server
 * and its stop event, so that several nodes live in one process (the test
 * harness runs a whole program as threads of one process). The only
 * process-wide piece is lp_node_main()'s bridge from SIGTERM and SIGINT to
 * the stop event, which takes the signals through a signalfd: no code of
 * ours ever runs in a signal handler.
 *
 * The stop event is an eventfd written once and never read, so that it
 * stays readable for good: clients poll it to cancel their calls
 * (courier_client_set_cancel_fd), users poll it through lp_stop_fd(), and
 * lp_wait_for_stop() is a poll on it.
 *
 * Locking: mtx guards the caches of clients and handle lists, the methods,
 * the stop callbacks, the failure and the state of the control call. It is
 * never held while calling out (setup, run, callbacks, a remote call), so
 * any of those may call back into the node.
 */
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-node.h"

/* How long the server lets calls in flight finish once the node stops. */
#define DRAIN_MS		2000
/* How long lp_stop_program() waits for the supervisor's answer. */
#define CONTROL_TIMEOUT_MS	5000

/* What the checks of a node's parameters call each parameter. */
struct param_names {
	const char		*program;
	const char		*name;
	const char		*address;
	const char		*listen_fd;
	const char		*config;
	const char		*control;
};

static int	node_method(lp_node *, const char *, courier_method_fn,
		    courier_batch_fn, int, size_t, int);
static int	env_fd(const char *, int *, char **);

static const struct param_names env_names = {
	"LP_PROGRAM", "LP_NODE", "LP_ADDRESS", "LP_LISTEN_FD", "LP_CONFIG",
	"LP_CONTROL",
};
static const struct param_names field_names = {
	"program", "name", "address", "listen_fd", "config", "control",
};

/* Whether s is GROUP/INDEX: a group and a decimal index. */
static bool
valid_node_name(const char *s)
{
	const char	*slash, *p;

	if ((slash = strchr(s, '/')) == NULL || slash == s ||
	    slash[1] == '\0')
		return (false);
	for (p = slash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (false);
	}
	return (courier_utf8_valid(s, strlen(s)));
}

/*
 * Check that fd is an open socket that listens; 0, or -1 with *cause set
 * (which names the parameter as what).
 */
static int
check_listen_fd(int fd, const char *what, char **cause)
{
	socklen_t	 len;
	int		 on = 0;

	if (fcntl(fd, F_GETFD) == -1) {
		set_cause(cause, "%s is %d: %s", what, fd, errno == EBADF ?
		    "no such open file descriptor" : strerror(errno));
		return (-1);
	}
	len = sizeof on;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0) {
		set_cause(cause, "%s is %d: not a listening socket (%s)",
		    what, fd, strerror(errno));
		return (-1);
	}
	if (!on) {
		set_cause(cause, "%s is %d: a socket that does not listen",
		    what, fd);
		return (-1);
	}
	return (0);
}

/*
 * Make a node from checked parameters; names says what to call them in
 * messages. The node owns p->listen_fd, also on failure.
 */
static lp_node *
node_make(const lp_node_def *def, const struct lp_node_params *p,
    const struct param_names *names, char **cause)
{
	lp_node		*node;
	courier_value	*config = NULL;
	char		*why = NULL;
	int		 stop_fd;

	if (def == NULL || def->setup == NULL) {
		set_cause(cause, "the node definition has no setup function");
		goto fail;
	}
	if (p->program == NULL || *p->program == '\0') {
		set_cause(cause, "%s is not set: it names the program",
		    names->program);
		goto fail;
	}
	if (p->name == NULL || *p->name == '\0') {
		set_cause(cause, "%s is not set: it names the node, as "
		    "GROUP/INDEX", names->name);
		goto fail;
	}
	if (!valid_node_name(p->name)) {
		set_cause(cause, "%s is \"%s\": expected GROUP/INDEX, as "
		    "\"producer/0\"", names->name, p->name);
		goto fail;
	}
	if (p->address != NULL && !courier_address_valid(p->address, &why)) {
		set_cause(cause, "%s is not an address: %s", names->address,
		    why);
		goto fail;
	}
	if (p->listen_fd >= 0) {
		if (p->address == NULL) {
			set_cause(cause, "%s is set but %s is not: a listening "
			    "socket needs the address it serves",
			    names->listen_fd, names->address);
			goto fail;
		}
		if (check_listen_fd(p->listen_fd, names->listen_fd,
		    cause) != 0)
			goto fail;
	}
	if (p->control != NULL && !courier_address_valid(p->control, &why)) {
		set_cause(cause, "%s is not an address: %s", names->control,
		    why);
		goto fail;
	}
	if (p->config != NULL &&
	    (config = courier_value_from_json(p->config, &why)) == NULL) {
		set_cause(cause, "%s is not valid JSON: %s", names->config,
		    why);
		goto fail;
	}
	if ((stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		set_cause(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (p->listen_fd >= 0)
		(void)fcntl(p->listen_fd, F_SETFD, FD_CLOEXEC);

	node = xcalloc(1, sizeof *node);
	node->def = def;
	node->program = xstrdup(p->program);
	node->name = xstrdup(p->name);
	node->address = p->address != NULL ? xstrdup(p->address) : NULL;
	node->control = p->control != NULL ? xstrdup(p->control) : NULL;
	node->listen_fd = p->listen_fd >= 0 ? p->listen_fd : -1;
	node->ready_fd = -1;
	node->run = p->run;
	node->config = config != NULL ? config : courier_null();
	node->stop_fd = stop_fd;
	node->sig_fd = -1;
	atomic_init(&node->stopping, false);
	pthread_mutex_init(&node->mtx, NULL);
	pthread_cond_init(&node->control_cv, NULL);
	pthread_cond_init(&node->stop_cv, NULL);
	node->phase = PHASE_NEW;
	node->workers = COURIER_WORKERS_DEFAULT;
	node->control_state = CONTROL_NONE;
	return (node);

fail:
	free(why);
	courier_value_unref(config);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	return (NULL);
}

/* A node from explicit parameters. */
lp_node *
lp_node_new(const lp_node_def *def, const struct lp_node_params *p,
    char **cause)
{
	return (node_make(def, p, &field_names, cause));
}

/* An LP_* variable, or NULL if it is unset or empty. */
static const char *
env_get(const char *name)
{
	const char	*v = getenv(name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

/* A node from the LP_* environment. */
lp_node *
lp_node_init(const lp_node_def *def, char **cause)
{
	struct lp_node_params	 p;
	lp_node			*node;
	const char		*run_text;
	int			 fd, ready;

	memset(&p, 0, sizeof p);
	p.listen_fd = -1;
	if ((p.name = env_get("LP_NODE")) == NULL) {
		set_cause(cause, "not started by lpd: LP_NODE is not set; run "
		    "it with `lpctl run PROGRAM.json`");
		return (NULL);
	}
	p.program = env_get("LP_PROGRAM");
	p.address = env_get("LP_ADDRESS");
	p.config = env_get("LP_CONFIG");
	p.control = env_get("LP_CONTROL");

	p.run = true;
	if ((run_text = env_get("LP_RUN")) != NULL) {
		if (strcmp(run_text, "0") == 0)
			p.run = false;
		else if (strcmp(run_text, "1") != 0) {
			set_cause(cause, "LP_RUN is \"%s\": it must be 1 (call "
			    "the run function) or 0 (do not)", run_text);
			return (NULL);
		}
	}

	if (env_fd("LP_READY_FD", &ready, cause) != 0)
		return (NULL);
	/*
	 * Check the fd before node_make() takes it: a number that is not a
	 * listening socket may be some other open file (stdin) that is not
	 * ours to close.
	 */
	if (env_fd("LP_LISTEN_FD", &fd, cause) != 0)
		return (NULL);
	if (fd != -1) {
		if (p.address == NULL) {
			set_cause(cause, "LP_LISTEN_FD is set but LP_ADDRESS "
			    "is not: a listening socket needs the address it "
			    "serves");
			return (NULL);
		}
		if (check_listen_fd(fd, "LP_LISTEN_FD", cause) != 0)
			return (NULL);
		p.listen_fd = fd;
	}
	if ((node = node_make(def, &p, &env_names, cause)) != NULL &&
	    ready != -1 && fcntl(ready, F_SETFD, FD_CLOEXEC) == 0)
		node->ready_fd = ready;
	return (node);
}

/*
 * The file descriptor an LP_* variable names, in *fd (-1 when it is
 * unset); -1 with *cause if it is not a descriptor number.
 */
static int
env_fd(const char *name, int *fd, char **cause)
{
	const char	*text;
	char		*end;
	long		 n;

	*fd = -1;
	if ((text = env_get(name)) == NULL)
		return (0);
	errno = 0;
	n = strtol(text, &end, 10);
	if (*end != '\0' || errno != 0 || n < 0 || n > INT_MAX ||
	    *text == '+' || *text == '-' || *text == ' ') {
		set_cause(cause, "%s is \"%s\": it must be a file descriptor "
		    "number", name, text);
		return (-1);
	}
	*fd = (int)n;
	return (0);
}

/*
 * The node serves: tell the supervisor by a line on LP_READY_FD, which
 * saves it asking (as s6's readiness notification does).
 */
static void
node_ready(lp_node *node)
{
	if (node->ready_fd == -1)
		return;
	while (write(node->ready_fd, "\n", 1) == -1 && errno == EINTR)
		continue;
	close(node->ready_fd);
	node->ready_fd = -1;
}

/* Record the first failure; print each. */
static void	node_failv(lp_node *, const char *, va_list)
		    COURIER_PRINTF(2, 0);
static void
node_failv(lp_node *node, const char *fmt, va_list ap)
{
	char	*msg;

	xvasprintf(&msg, fmt, ap);
	fprintf(stderr, "%s: %s\n", node->name, msg);
	pthread_mutex_lock(&node->mtx);
	if (node->failure == NULL) {
		node->failure = msg;
		msg = NULL;
	}
	pthread_mutex_unlock(&node->mtx);
	free(msg);
}

/* Record why the node failed. */
void
lp_node_fail(lp_node *node, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	node_failv(node, fmt, ap);
	va_end(ap);
}

/* Why the node failed, or NULL. */
const char *
lp_node_failure(const lp_node *node)
{
	lp_node		*n = (lp_node *)node;
	const char	*failure;

	/* The lock is for memory order only: the first failure stays. */
	pthread_mutex_lock(&n->mtx);
	failure = n->failure;
	pthread_mutex_unlock(&n->mtx);
	return (failure);
}

/* Register each recorded method and start serving; 0 or -1 (failed). */
static int
node_serve(lp_node *node)
{
	courier_server	*s;
	struct method	*m;
	char		*cause = NULL;
	size_t		 i;
	int		 fd, r;

	s = node->server = courier_server_new();
	if (courier_server_set_workers(s, node->workers) != 0) {
		cause = xstrdup("cannot set the number of workers");
		goto fail;
	}
	/* No lock: lp_node_method() refuses methods once running. */
	for (i = 0; i < node->nmethods; i++) {
		m = &node->methods[i];
		if ((m->batch_fn != NULL ?
		    courier_server_add_batched_method(s, m->name, m->batch_fn,
		    node->self, m->max_batch, m->max_wait_ms, &cause) :
		    courier_server_add_method(s, m->name, m->fn, node->self,
		    m->flags, &cause)) != 0)
			goto fail;
	}
	if ((fd = node->listen_fd) != -1) {
		/* The server's now, also on failure. */
		node->listen_fd = -1;
		r = courier_server_listen_fd(s, fd, &cause);
	} else if ((r = courier_server_listen(s, node->address,
	    &cause)) != 0) {
		/* The cause names the address already. */
		lp_node_fail(node, "cannot serve: %s", cause);
		free(cause);
		return (-1);
	}
	/* Without a run function, the node's thread serves as it waits. */
	if (!node_runs(node))
		courier_srv_will_lend(s);
	if (r != 0 || courier_server_start(s, &cause) != 0)
		goto fail;
	node_ready(node);
	return (0);

fail:
	lp_node_fail(node, "cannot serve on %s: %s", node->address, cause);
	free(cause);
	return (-1);
}

/* Run the stop callbacks, once, in the order they were registered. */
static void
node_run_stop_cbs(lp_node *node)
{
	struct stop_cb	*cbs;
	size_t		 n, i;

	pthread_mutex_lock(&node->mtx);
	cbs = node->stop_cbs;
	n = node->nstop_cbs;
	node->stop_cbs = NULL;
	node->nstop_cbs = 0;
	node->stop_cbs_ran = true;
	pthread_mutex_unlock(&node->mtx);
	for (i = 0; i < n; i++)
		cbs[i].fn(node, cbs[i].arg);
	free(cbs);
	pthread_mutex_lock(&node->mtx);
	node->stop_cbs_done = true;
	pthread_cond_broadcast(&node->stop_cv);
	pthread_mutex_unlock(&node->mtx);
}

/*
 * Wait for the stop, on the lp_node_exec() thread of a node without a run
 * function: for the stop event, and for lp_node_main()'s signalfd where it
 * gave one, so that SIGTERM and SIGINT stop such a node with no thread of
 * their own to read them. A node that serves lends this thread to its
 * server meanwhile, as the thread that runs its loop (and calls, until one
 * needs a thread of the pool's): a node that only serves runs on one
 * thread, which is a thread fewer to start, and to wake and join at the
 * stop. Signals that come later stay blocked and pending, unread.
 */
static void
node_wait(lp_node *node)
{
	struct pollfd		 pfd[2];
	int			 fds[2];
	nfds_t			 n = 1;

	pfd[0].fd = fds[0] = node->stop_fd;
	pfd[0].events = POLLIN;
	if (node->sig_fd != -1) {
		pfd[1].fd = fds[1] = node->sig_fd;
		pfd[1].events = POLLIN;
		n = 2;
	}
	for (;;) {
		if (node->server != NULL)
			courier_srv_lend(node->server, fds, (int)n);
		if (poll(pfd, n, node->server != NULL ? 0 : -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll on the stop eventfd", node->name);
		}
		if (pfd[0].revents & POLLIN)
			return;
		if (n == 2 && (pfd[1].revents & POLLIN))
			node_signalled(node, node->sig_fd);
	}
}

/* See courier-node.h. */
void
node_signalled(lp_node *node, int fd)
{
	struct signalfd_siginfo	 si;

	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
		continue;
	lp_node_stop(node);	/* the stop event, at once; idempotent */
}

/* Run the node's whole life on this thread. */
int
lp_node_exec(lp_node *node)
{
	const lp_node_def	*def = node->def;
	void			*self = NULL;
	int			 status = 0, r;
	bool			 method_failed;

	pthread_mutex_lock(&node->mtx);
	if (node->phase != PHASE_NEW) {
		pthread_mutex_unlock(&node->mtx);
		lp_node_fail(node, "lp_node_exec() was called twice");
		return (1);
	}
	node->phase = PHASE_SETUP;
	pthread_mutex_unlock(&node->mtx);

	if ((r = def->setup(node, &self)) != 0) {
		/* setup cleaned up after itself: no callbacks, no teardown. */
		if (lp_node_failure(node) == NULL)
			lp_node_fail(node, "setup failed");
		pthread_mutex_lock(&node->mtx);
		free(node->stop_cbs);
		node->stop_cbs = NULL;
		node->nstop_cbs = 0;
		pthread_mutex_unlock(&node->mtx);
		lp_node_stop(node);
		pthread_mutex_lock(&node->mtx);
		node->phase = PHASE_DONE;
		pthread_mutex_unlock(&node->mtx);
		return (1);
	}

	pthread_mutex_lock(&node->mtx);
	node->self = self;
	node->phase = PHASE_RUNNING;
	method_failed = node->method_failed;
	pthread_mutex_unlock(&node->mtx);

	/* A method that could not be registered fails the node. */
	if (method_failed)
		status = 1;
	else if (node->address != NULL && node_serve(node) != 0)
		status = 1;
	if (status == 0) {
		if (node_runs(node)) {
			r = def->run(node, self);
			if (r != 0 && lp_node_failure(node) == NULL)
				lp_node_fail(node, "run returned %d", r);
			if (r != 0)
				status = 1;
		} else
			node_wait(node);
	}

	/*
	 * The stop event first, so that calls through the node's clients
	 * (from handlers too) end with CANCELLED instead of holding up the
	 * drain; it runs the callbacks unless the stop came earlier, and
	 * they come before the server stops, as they may release handlers
	 * that wait. The server is freed before teardown: that waits for
	 * every handler, and none may touch self after teardown. In a
	 * process that exits next, it is only stopped and waited for: the
	 * exit takes its threads and memory.
	 */
	lp_node_stop(node);
	/*
	 * The stop may have come from another thread (a signal, the
	 * supervisor of an in-process node) that still runs the callbacks:
	 * they use self, so they end before teardown frees it.
	 */
	pthread_mutex_lock(&node->mtx);
	while (!node->stop_cbs_done)
		pthread_cond_wait(&node->stop_cv, &node->mtx);
	pthread_mutex_unlock(&node->mtx);
	if (node->server != NULL) {
		(void)courier_server_stop(node->server, DRAIN_MS);
		if (node->exits)
			courier_srv_quiesce(node->server);
		else {
			courier_server_free(node->server);
			node->server = NULL;
		}
	}
	if (def->teardown != NULL)
		def->teardown(node, self);

	pthread_mutex_lock(&node->mtx);
	node->self = NULL;
	node->phase = PHASE_DONE;
	pthread_mutex_unlock(&node->mtx);
	return (status);
}

/* Free a node and everything it owns. */
void
lp_node_free(lp_node *node)
{
	size_t	 i;

	if (node == NULL)
		return;
	courier_server_free(node->server);
	for (i = 0; i < node->nclients; i++) {
		courier_client_free(node->clients[i].client);
		free(node->clients[i].address);
	}
	free(node->clients);
	for (i = 0; i < node->nhandles; i++) {
		free(node->handles[i].key);
		free(node->handles[i].clients);
	}
	free(node->handles);
	for (i = 0; i < node->nmethods; i++)
		free(node->methods[i].name);
	free(node->methods);
	free(node->stop_cbs);
	courier_value_unref(node->config);
	if (node->listen_fd != -1)
		close(node->listen_fd);
	if (node->ready_fd != -1)
		close(node->ready_fd);
	close(node->stop_fd);	/* after the clients, which poll it */
	pthread_cond_destroy(&node->control_cv);
	pthread_cond_destroy(&node->stop_cv);
	pthread_mutex_destroy(&node->mtx);
	free(node->failure);
	free(node->program);
	free(node->name);
	free(node->address);
	free(node->control);
	free(node);
}

/* Record a method for the server. */
int
lp_node_method(lp_node *node, const char *name, courier_method_fn fn,
    int flags)
{
	return (node_method(node, name, fn, NULL, flags, 0, 0));
}

/* Register a batched method; see node.h. */
int
lp_node_batched_method(lp_node *node, const char *name, courier_batch_fn fn,
    size_t max_batch, int max_wait_ms)
{
	if (fn != NULL && (max_batch == 0 || max_wait_ms < 0)) {
		lp_node_fail(node, "method %s: a batched method needs a "
		    "max_batch of at least 1 and a max_wait_ms of 0 or more",
		    name != NULL ? name : "(no name)");
		pthread_mutex_lock(&node->mtx);
		node->method_failed = true;
		pthread_mutex_unlock(&node->mtx);
		return (-1);
	}
	return (node_method(node, name, NULL, fn, 0, max_batch,
	    max_wait_ms));
}

/* Register a method, plain (fn) or batched (batch_fn). */
static int
node_method(lp_node *node, const char *name, courier_method_fn fn,
    courier_batch_fn batch_fn, int flags, size_t max_batch, int max_wait_ms)
{
	struct method	*m;
	size_t		 i;

	if (name == NULL || *name == '\0' || (fn == NULL && batch_fn == NULL) ||
	    !courier_utf8_valid(name, strlen(name))) {
		lp_node_fail(node, "a method needs a UTF-8 name and a "
		    "function");
		goto fail;
	}
	pthread_mutex_lock(&node->mtx);
	if (node->phase != PHASE_NEW && node->phase != PHASE_SETUP) {
		pthread_mutex_unlock(&node->mtx);
		lp_node_fail(node, "method %s: methods are added in setup, "
		    "before the node serves", name);
		return (-1);
	}
	for (i = 0; i < node->nmethods; i++) {
		if (strcmp(node->methods[i].name, name) == 0) {
			pthread_mutex_unlock(&node->mtx);
			lp_node_fail(node, "method %s is registered twice",
			    name);
			goto fail;
		}
	}
	node->methods = xreallocarray(node->methods, node->nmethods + 1,
	    sizeof *node->methods);
	m = &node->methods[node->nmethods++];
	m->name = xstrdup(name);
	m->fn = fn;
	m->batch_fn = batch_fn;
	m->flags = flags;
	m->max_batch = max_batch;
	m->max_wait_ms = max_wait_ms;
	pthread_mutex_unlock(&node->mtx);
	return (0);

fail:
	pthread_mutex_lock(&node->mtx);
	node->method_failed = true;
	pthread_mutex_unlock(&node->mtx);
	return (-1);
}

/* Set the size of the server's pool. */
void
lp_node_set_workers(lp_node *node, unsigned n)
{
	pthread_mutex_lock(&node->mtx);
	if (node->phase == PHASE_NEW || node->phase == PHASE_SETUP)
		node->workers = n;
	pthread_mutex_unlock(&node->mtx);
}

/* Ask the supervisor at the control address to stop the program. */
static void
control_call(lp_node *node)
{
	courier_client	*c;
	courier_value	*v;
	courier_error	*err = NULL;
	char		*cause = NULL;

	if ((c = courier_client_new(node->control, &cause)) == NULL) {
		fprintf(stderr, "%s: cannot ask the supervisor at %s to stop "
		    "the program: %s\n", node->name, node->control, cause);
		free(cause);
		return;
	}
	/*
	 * No cancel fd: the request must reach the supervisor even when
	 * this node is stopping already. A supervisor that is gone fails at
	 * once; one that hangs, after the timeout.
	 */
	courier_client_set_wait_for_ready(c, false);
	courier_client_set_timeout(c, CONTROL_TIMEOUT_MS);
	v = courier_call(c, "stop_program",
	    courier_args(courier_string(node->name)), &err);
	if (v == NULL) {
		fprintf(stderr, "%s: cannot ask the supervisor at %s to stop "
		    "the program: %s: %s\n", node->name, node->control,
		    courier_code_name(courier_error_code(err)),
		    courier_error_message(err));
		courier_error_free(err);
	}
	courier_value_unref(v);
	courier_client_free(c);
}

/* Stop the program, then this node. */
void
lp_stop_program(lp_node *node)
{
	bool	 call = false;

	/*
	 * One thread asks the supervisor; the others wait for its answer,
	 * so that nobody returns (and maybe exits) before the supervisor
	 * knows that the stop was asked for, and not a failure.
	 */
	pthread_mutex_lock(&node->mtx);
	if (node->control != NULL) {
		if (node->control_state == CONTROL_NONE) {
			node->control_state = CONTROL_CALLING;
			call = true;
		}
		while (node->control_state == CONTROL_CALLING && !call)
			pthread_cond_wait(&node->control_cv, &node->mtx);
	}
	pthread_mutex_unlock(&node->mtx);

	if (call) {
		control_call(node);
		pthread_mutex_lock(&node->mtx);
		node->control_state = CONTROL_DONE;
		pthread_cond_broadcast(&node->control_cv);
		pthread_mutex_unlock(&node->mtx);
	}
	lp_node_stop(node);
}

/* Stop this node. */
void
lp_node_stop(lp_node *node)
{
	uint64_t	 one = 1;

	if (atomic_exchange(&node->stopping, true))
		return;
	/* Never read: the eventfd stays readable from now on. */
	if (write(node->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
		fatal("%s: write to the stop eventfd", node->name);
	/*
	 * The callbacks run here, on the thread that stopped the node, as
	 * Launchpad's stop handlers do: a run function blocked on its own
	 * condition needs one to wake it before it can return.
	 */
	node_run_stop_cbs(node);
}

/* Whether the stop event happened. */
bool
lp_stopping(const lp_node *node)
{
	return (atomic_load(&((lp_node *)node)->stopping));
}

/* Wait for the stop event. */
bool
lp_wait_for_stop(lp_node *node, int timeout_ms)
{
	struct pollfd	 pfd;
	int64_t		 deadline;
	int		 r;

	deadline = courier_deadline(timeout_ms);
	pfd.fd = node->stop_fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, courier_poll_timeout(deadline));
		if (r > 0)
			return (true);
		if (r == 0)
			return (false);
		if (errno != EINTR)
			fatal("%s: poll on the stop eventfd", node->name);
	}
}

/* The pollable stop event. */
int
lp_stop_fd(const lp_node *node)
{
	return (node->stop_fd);
}

/* Call cb at the stop. */
void
lp_on_stop(lp_node *node, void (*cb)(lp_node *, void *), void *arg)
{
	struct stop_cb	*s;

	pthread_mutex_lock(&node->mtx);
	if (node->stop_cbs_ran) {
		/* Too late to wait for the stop: it is here. */
		pthread_mutex_unlock(&node->mtx);
		cb(node, arg);
		return;
	}
	node->stop_cbs = xreallocarray(node->stop_cbs, node->nstop_cbs + 1,
	    sizeof *node->stop_cbs);
	s = &node->stop_cbs[node->nstop_cbs++];
	s->fn = cb;
	s->arg = arg;
	pthread_mutex_unlock(&node->mtx);
}
