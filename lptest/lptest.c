/*
 * lptest.c: launch a program inside a test (lptest.h).
 *
 * One resolver. The harness is an embedder of the supervisor core, as
 * lpctl run is: the core loads nothing twice, binds every address, builds
 * each node's config with its handles, probes readiness and runs the
 * stop. In-process, its lpd_node_ops start each node as a thread
 * (lp_node_new with exactly what a process gets in LP_*, then
 * lp_node_exec); as processes, the core forks and execs as it always does.
 *
 * Threads. The core runs on a loop thread of the harness's own, which also
 * forks the processes: PR_SET_PDEATHSIG fires when the forking thread
 * ends, so it lives until lp_test_free. The test's thread talks to it
 * through wake_fd (an eventfd) and flags under mtx, and waits on cv.
 * Node threads report their end the same way; the loop thread joins them
 * before it tells the core, so a done run has no thread left.
 *
 * A thread cannot be killed. SIGTERM from the core is lp_node_stop();
 * SIGKILL is lp_node_stop() too, and arms a last timer: a node thread
 * still there when it fires is reported, and the program counts as ended
 * for the waits (the test fails) though the thread could not be joined.
 */
#include <sys/eventfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "lpd.h"
#include "lptest.h"

#define WATCHDOG_MS_DEFAULT	60000
#define KILL_WAIT_MS		5000	/* a killed thread's last chance */
#define OUTPUT_MAX		(64 * 1024)	/* kept per node */
#define LAST_LINES		20	/* in a process's failure cause */

/* An in-process node: one per node of the run, reused by restarts. */
struct test_node {
	struct lp_test		*t;
	struct lpd_node		*n;
	lp_node			*node;
	pthread_t		 thread;
	bool			 live;		/* its thread not joined */
	bool			 killed;
	/* Set by the node's thread before it reports its end. */
	int			 status;
	char			*why;
	struct test_node		*next;		/* on t->ended */
};

/* A process node's output, the last OUTPUT_MAX bytes. */
struct output {
	char			*buf;
	size_t			 len;
};

struct tclient {
	char			*name;
	courier_client		*client;
};

struct lp_test {
	enum lp_test_mode	 mode;
	bool			 echo;
	int			 watchdog_ms;
	struct lpd_program	*p;		/* until the run owns it */
	const struct lpd_program *prog;		/* the same, borrowed */
	const lp_node_def	**gdefs;	/* per group, in-process */
	size_t			 nnodes;
	struct test_node		*tn;		/* per node, in-process */

	struct event_base	*base;
	struct lpd_run		*run;
	pthread_t		 loop;
	bool			 loop_started;
	int			 wake_fd;	/* eventfd: to the loop */
	int			 end_fd;	/* eventfd: the program ended */
	struct event		*wake_ev;
	struct event		*watchdog_ev;
	struct event		*giveup_ev;

	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	/* Under mtx. */
	bool			 started;	/* lpd_run_start returned */
	char			*start_cause;
	size_t			 ncourier;
	size_t			 nup;		/* courier nodes up or ended */
	bool			 done;
	bool			 gave_up;	/* a thread ignored its kill */
	bool			 hung;		/* the watchdog fired */
	int			 status;
	char			*cause;
	bool			 want_stop;
	bool			 want_exit;
	struct test_node		*ended;
	struct output		*out;		/* per node, processes */
	/* The loop thread's. */
	bool			*counted;	/* per node: in nup */
	struct lpd_node		*failed;	/* the first node that failed */
	char			*hang_cause;

	struct tclient		*clients;	/* the test thread's */
	size_t			 nclients;
};

/* The node's position in the run. */
static size_t
node_slot(const struct lp_test *t, const struct lpd_node *n)
{
	return (n->slot);
}

/* Poke the loop thread. */
static void
wake(struct lp_test *t)
{
	uint64_t	 one = 1;

	if (write(t->wake_fd, &one, sizeof one) != (ssize_t)sizeof one)
		fatal("%s: write", __func__);
}

/* Tell the waiters something changed; mtx held. */
static void
changed(struct lp_test *t)
{
	pthread_cond_broadcast(&t->cv);
}

/* ------------------------------------------------------------------ */
/* In-process nodes                                                    */
/* ------------------------------------------------------------------ */

/* A node's thread: its whole life, then its end to the loop thread. */
static void *
node_thread(void *arg)
{
	struct test_node	*tn = arg;
	struct lp_test	*t = tn->t;
	const char	*why;

	tn->status = lp_node_exec(tn->node);
	if (tn->status != 0 && (why = lp_node_failure(tn->node)) != NULL)
		tn->why = xstrdup(why);
	pthread_mutex_lock(&t->mtx);
	tn->next = t->ended;
	t->ended = tn;
	pthread_mutex_unlock(&t->mtx);
	wake(t);
	return (NULL);
}

/* lpd_node_ops.start: the node as a thread, with what a process gets. */
static int
ops_start(void *arg, struct lpd_node *n, const struct lpd_node_start *s,
    char **cause)
{
	struct lp_test		*t = arg;
	struct test_node		*tn = &t->tn[node_slot(t, n)];
	struct lp_node_params	 params;
	int			 error;

	memset(&params, 0, sizeof params);
	params.program = s->program;
	params.name = s->node;
	params.address = s->address;
	params.listen_fd = s->listen_fd;
	params.config = s->config;
	params.control = s->control;
	params.run = s->run;
	/* It owns listen_fd from here, also on failure. */
	if ((tn->node = lp_node_new(t->gdefs[n->group], &params,
	    cause)) == NULL)
		return (-1);
	tn->t = t;
	tn->n = n;
	tn->killed = false;
	tn->status = 0;
	tn->why = NULL;
	if ((error = pthread_create(&tn->thread, NULL, node_thread,
	    tn)) != 0) {
		xasprintf(cause, "cannot start its thread: %s",
		    strerror(error));
		lp_node_free(tn->node);
		tn->node = NULL;
		return (-1);
	}
	tn->live = true;
	return (0);
}

/* lpd_node_ops.signal: a thread has no signals, only its stop event. */
static void
ops_signal(void *arg, struct lpd_node *n, int sig)
{
	struct lp_test	*t = arg;
	struct test_node	*tn = &t->tn[node_slot(t, n)];
	struct timeval	 tv;

	if (!tn->live)
		return;
	lp_node_stop(tn->node);
	if (sig == SIGKILL && !tn->killed) {
		tn->killed = true;
		if (!evtimer_pending(t->giveup_ev, NULL)) {
			tv.tv_sec = KILL_WAIT_MS / 1000;
			tv.tv_usec = (KILL_WAIT_MS % 1000) * 1000;
			evtimer_add(t->giveup_ev, &tv);
		}
	}
}

/* Join the node threads that ended and tell the core. */
static void
reap_threads(struct lp_test *t)
{
	struct test_node	*tn, *next;
	char		*why;

	pthread_mutex_lock(&t->mtx);
	tn = t->ended;
	t->ended = NULL;
	pthread_mutex_unlock(&t->mtx);
	for (; tn != NULL; tn = next) {
		next = tn->next;
		pthread_join(tn->thread, NULL);
		lp_node_free(tn->node);
		tn->node = NULL;
		tn->live = false;
		why = tn->why;
		tn->why = NULL;
		/* The core may start it again from in here (a restart). */
		lpd_run_node_exited(t->run, tn->n, W_EXITCODE(tn->status, 0),
		    why);
		free(why);
	}
}

/* ------------------------------------------------------------------ */
/* The loop thread                                                     */
/* ------------------------------------------------------------------ */

/* Count a courier node that serves, or will not: launch waits for all. */
static void
count_up(struct lp_test *t, struct lpd_node *n)
{
	size_t	 i = node_slot(t, n);

	if (t->counted[i])
		return;
	t->counted[i] = true;
	pthread_mutex_lock(&t->mtx);
	t->nup++;
	changed(t);
	pthread_mutex_unlock(&t->mtx);
}

static void
run_output_cb(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct lp_test	*t = arg;
	struct output	*o = &t->out[node_slot(t, n)];
	size_t		 cut;

	if (t->echo)
		fprintf(stderr, "[%s] %.*s\n", n->name, (int)len, line);
	if (len >= OUTPUT_MAX)
		len = OUTPUT_MAX - 1;
	pthread_mutex_lock(&t->mtx);
	if (o->buf == NULL)
		o->buf = xmalloc(OUTPUT_MAX);
	if (o->len + len + 1 > OUTPUT_MAX) {
		/* Drop whole lines from the front. */
		cut = o->len + len + 1 - OUTPUT_MAX;
		while (cut < o->len && o->buf[cut - 1] != '\n')
			cut++;
		memmove(o->buf, o->buf + cut, o->len - cut);
		o->len -= cut;
	}
	memcpy(o->buf + o->len, line, len);
	o->len += len;
	o->buf[o->len++] = '\n';
	pthread_mutex_unlock(&t->mtx);
}

static void
run_event_cb(void *arg, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct lp_test		*t = arg;

	if (n == NULL || !lpd_type_serves(t->prog->groups[n->group].type)) {
		if (n != NULL && ev == LPD_EV_EXITED &&
		    n->state == LPD_NODE_FAILED && t->failed == NULL)
			t->failed = n;
		return;
	}
	switch (ev) {
	case LPD_EV_READY:
		count_up(t, n);
		break;
	case LPD_EV_EXITED:
		if (n->state == LPD_NODE_FAILED && t->failed == NULL)
			t->failed = n;
		if (n->state == LPD_NODE_EXITED || n->state == LPD_NODE_FAILED)
			count_up(t, n);
		break;
	default:
		break;
	}
}

/* The program ended: every node ended (and every thread joined). */
static void
run_done_cb(void *arg, struct lpd_run *run, int status)
{
	struct lp_test	*t = arg;
	const char	*rc = lpd_run_cause(run);
	char		*cause = NULL, *last = NULL;
	uint64_t	 one = 1;

	evtimer_del(t->watchdog_ev);
	evtimer_del(t->giveup_ev);
	if (rc == NULL)
		rc = "a node failed";
	/* A process says more in its output than in its exit status. */
	if (t->mode == LP_TEST_PROCESSES && t->failed != NULL)
		last = lpd_run_last_lines(t->failed);
	if (t->hang_cause != NULL)
		cause = xstrdup(t->hang_cause);
	else if (status != LPD_STATUS_OK && last != NULL && *last != '\0') {
		xasprintf(&cause, "%s\nlast output of %s:\n%s", rc,
		    t->failed->name, last);
	} else if (status != LPD_STATUS_OK)
		cause = xstrdup(rc);
	free(last);
	pthread_mutex_lock(&t->mtx);
	t->done = true;
	t->status = t->hang_cause != NULL ? LPD_STATUS_FAILED : status;
	/* A thread that ignored its kill said more, and first. */
	if (t->cause == NULL)
		t->cause = cause;
	else
		free(cause);
	changed(t);
	pthread_mutex_unlock(&t->mtx);
	/* Calls through the test's clients end now. */
	if (write(t->end_fd, &one, sizeof one) != (ssize_t)sizeof one)
		fatal("%s: write", __func__);
}

static const struct lpd_run_cb run_cb = {
	run_output_cb, run_event_cb, run_done_cb
};

/* The names of the nodes that have not ended, for a message. */
static char *
nodes_running(struct lp_test *t)
{
	struct lpd_node	*n;
	char		*s = xstrdup(""), *more;
	size_t		 i, count = 0;

	for (i = 0; i < t->nnodes; i++) {
		n = lpd_run_node(t->run, i);
		if (n->state == LPD_NODE_EXITED ||
		    n->state == LPD_NODE_FAILED ||
		    n->state == LPD_NODE_PENDING)
			continue;
		if (count++ < 10) {
			xasprintf(&more, "%s%s%s (%s)", s, *s != '\0' ? ", " :
			    "", n->name, lpd_node_state_name(n->state));
		} else if (count == 11)
			xasprintf(&more, "%s, ...", s);
		else
			continue;
		free(s);
		s = more;
	}
	if (count == 0) {
		free(s);
		s = xstrdup("none");
	}
	return (s);
}

/* The watchdog: the program ran too long. Stop it, and say what ran. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lp_test	*t = arg;
	char		*running;

	running = nodes_running(t);
	free(t->hang_cause);
	xasprintf(&t->hang_cause, "watchdog: the program did not end within "
	    "%d ms; still running: %s", t->watchdog_ms, running);
	free(running);
	fprintf(stderr, "lptest: %s\n", t->hang_cause);
	pthread_mutex_lock(&t->mtx);
	t->hung = true;
	pthread_mutex_unlock(&t->mtx);
	/*
	 * The program had its time: the stop notice (a thread's only
	 * signal), then the kill at once, also of a stop under way.
	 */
	lpd_run_stop(t->run, false, "the watchdog fired");
	lpd_run_stop(t->run, true, "the watchdog fired");
}

/* A killed node thread did not end: give up waiting for it. */
static void
giveup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lp_test	*t = arg;
	char		*s = NULL, *more;
	uint64_t	 one = 1;
	size_t		 i;

	for (i = 0; i < t->nnodes; i++) {
		if (!t->tn[i].live)
			continue;
		xasprintf(&more, "%s%s%s", s != NULL ? s : "",
		    s != NULL ? ", " : "", t->tn[i].n->name);
		free(s);
		s = more;
	}
	if (s == NULL)
		return;
	pthread_mutex_lock(&t->mtx);
	free(t->cause);
	xasprintf(&t->cause, "%s%s%s did not end after its stop and kill, "
	    "and a thread cannot be killed", t->hang_cause != NULL ?
	    t->hang_cause : "", t->hang_cause != NULL ? "; " : "", s);
	t->gave_up = true;
	changed(t);
	pthread_mutex_unlock(&t->mtx);
	fprintf(stderr, "lptest: %s\n", t->cause);
	free(s);
	if (write(t->end_fd, &one, sizeof one) != (ssize_t)sizeof one)
		fatal("%s: write", __func__);
}

/* The test's thread or a node's asked for something. */
static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lp_test	*t = arg;
	uint64_t	 v;
	bool		 stop, exit_loop;

	while (read(fd, &v, sizeof v) == -1 && errno == EINTR)
		continue;
	if (t->mode == LP_TEST_THREADS)
		reap_threads(t);
	pthread_mutex_lock(&t->mtx);
	stop = t->want_stop;
	t->want_stop = false;
	exit_loop = t->want_exit;
	pthread_mutex_unlock(&t->mtx);
	if (stop)
		lpd_run_stop(t->run, false, "the test stopped it");
	if (exit_loop)
		event_base_loopbreak(t->base);
}

/* The loop thread: start the run here, where it forks, and serve it. */
static void *
loop_main(void *arg)
{
	struct lp_test		*t = arg;
	struct lpd_run_opts	 opts;
	struct lpd_node_ops	 ops;
	struct lpd_run		*run;
	struct timeval		 tv;
	char			*cause = NULL;

	memset(&opts, 0, sizeof opts);
	memset(&ops, 0, sizeof ops);	/* fields added later are off */
	opts.grace_s = -1;
	opts.log_lines = LAST_LINES;
	if (t->mode == LP_TEST_THREADS) {
		ops.start = ops_start;
		ops.signal = ops_signal;
		ops.arg = t;
		opts.ops = &ops;
	}
	tv.tv_sec = t->watchdog_ms / 1000;
	tv.tv_usec = (t->watchdog_ms % 1000) * 1000;
	evtimer_add(t->watchdog_ev, &tv);
	run = lpd_run_start(t->base, t->p, &opts, &run_cb, t, &cause);
	pthread_mutex_lock(&t->mtx);
	t->started = true;
	if (run == NULL)
		t->start_cause = cause;
	else {
		t->run = run;
		t->p = NULL;	/* the run's */
	}
	changed(t);
	pthread_mutex_unlock(&t->mtx);
	if (run == NULL)
		return (NULL);

	event_base_dispatch(t->base);

	/* Done (or given up): only a given-up thread may be left. */
	lpd_run_free(run);
	return (NULL);
}

/* ------------------------------------------------------------------ */
/* The test's side                                                     */
/* ------------------------------------------------------------------ */

/* The definition of group g: by group name, else by command file name. */
static const lp_node_def *
find_def(const struct lp_test_opts *opts, const struct lpd_group *g)
{
	const struct lp_test_def	*d;
	const char			*base;

	base = strrchr(g->argv[0], '/');
	base = base != NULL ? base + 1 : g->argv[0];
	for (d = opts->defs; d != NULL && d->name != NULL; d++) {
		if (strcmp(d->name, g->name) == 0)
			return (d->def);
	}
	for (d = opts->defs; d != NULL && d->name != NULL; d++) {
		if (strcmp(d->name, base) == 0)
			return (d->def);
	}
	return (NULL);
}

/* Load the file with the test's changes. */
static struct lpd_program *
load(const struct lp_test_opts *opts, char **cause)
{
	struct lpd_program_patch	*patches;
	struct lpd_program		*p;
	size_t				 n = 0, k = 0, i;

	for (i = 0; opts->disable_run != NULL && opts->disable_run[i] != NULL;
	    i++)
		n++;
	for (i = 0; opts->overrides != NULL && opts->overrides[i].key != NULL;
	    i++)
		n++;
	patches = xcalloc(n + 1, sizeof *patches);
	for (i = 0; opts->overrides != NULL && opts->overrides[i].key != NULL;
	    i++) {
		patches[k].group = opts->overrides[i].group;
		patches[k].key = opts->overrides[i].key;
		patches[k++].json = opts->overrides[i].json;
	}
	/* After the overrides: disable_run wins. */
	for (i = 0; opts->disable_run != NULL && opts->disable_run[i] != NULL;
	    i++) {
		patches[k].group = opts->disable_run[i];
		patches[k].key = "run";
		patches[k++].json = "false";
	}
	p = lpd_program_load_with(opts->program, NULL, patches, n, cause);
	free(patches);
	return (p);
}

/* Free what lp_test_launch made; the loop thread is joined. */
static void
test_clear(struct lp_test *t)
{
	size_t	 i;

	for (i = 0; i < t->nclients; i++) {
		courier_client_free(t->clients[i].client);
		free(t->clients[i].name);
	}
	free(t->clients);
	if (t->wake_ev != NULL)
		event_free(t->wake_ev);
	if (t->watchdog_ev != NULL)
		event_free(t->watchdog_ev);
	if (t->giveup_ev != NULL)
		event_free(t->giveup_ev);
	if (t->base != NULL)
		event_base_free(t->base);
	if (t->wake_fd != -1)
		close(t->wake_fd);
	if (t->end_fd != -1)
		close(t->end_fd);
	lpd_program_free(t->p);
	for (i = 0; t->out != NULL && i < t->nnodes; i++)
		free(t->out[i].buf);
	free(t->out);
	for (i = 0; t->tn != NULL && i < t->nnodes; i++)
		free(t->tn[i].why);
	free(t->tn);
	free(t->counted);
	free(t->gdefs);
	free(t->start_cause);
	free(t->cause);
	free(t->hang_cause);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mtx);
	free(t);
}

/* Launch a program; see lptest.h. */
lp_test *
lp_test_launch(const struct lp_test_opts *opts, char **cause)
{
	struct lp_test		*t;
	struct lpd_program	*p;
	pthread_condattr_t	 ca;
	size_t			 g;
	int			 error;

	if (opts == NULL || opts->program == NULL) {
		xasprintf(cause, "no program file given (opts.program)");
		return (NULL);
	}
	if (opts->mode != LP_TEST_THREADS && opts->mode != LP_TEST_PROCESSES) {
		xasprintf(cause, "opts.mode is %d: LP_TEST_THREADS or "
		    "LP_TEST_PROCESSES", (int)opts->mode);
		return (NULL);
	}
	if ((p = load(opts, cause)) == NULL)
		return (NULL);

	t = xcalloc(1, sizeof *t);
	t->mode = opts->mode;
	t->echo = opts->echo;
	t->watchdog_ms = opts->watchdog_ms > 0 ? opts->watchdog_ms :
	    WATCHDOG_MS_DEFAULT;
	t->p = p;
	t->prog = p;
	t->wake_fd = t->end_fd = -1;
	pthread_mutex_init(&t->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);

	t->nnodes = p->nnodes;
	t->gdefs = xcalloc(p->ngroups, sizeof *t->gdefs);
	for (g = 0; g < p->ngroups; g++) {
		if (lpd_type_serves(p->groups[g].type))
			t->ncourier += p->groups[g].replicas;
		if (t->mode != LP_TEST_THREADS)
			continue;
		if ((t->gdefs[g] = find_def(opts, &p->groups[g])) == NULL &&
		    p->groups[g].type == LPD_TYPE_REPLAY) {
			xasprintf(cause, "%s: group \"%s\" is a replay node, "
			    "which runs in-process only with its code linked "
			    "in (lpd's replay/replay-node.c, as opts.defs "
			    "entry \"%s\"); test it with LP_TEST_PROCESSES",
			    p->file, p->groups[g].name, p->groups[g].name);
			goto fail;
		}
		if (t->gdefs[g] == NULL) {
			xasprintf(cause, "%s: group \"%s\" has no definition: "
			    "opts.defs needs an entry named \"%s\" (or as its "
			    "command's file)", p->file, p->groups[g].name,
			    p->groups[g].name);
			goto fail;
		}
	}
	t->counted = xcalloc(t->nnodes, sizeof *t->counted);
	if (t->mode == LP_TEST_THREADS)
		t->tn = xcalloc(t->nnodes, sizeof *t->tn);
	else
		t->out = xcalloc(t->nnodes, sizeof *t->out);

	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd == -1 || t->end_fd == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((t->base = event_base_new()) == NULL)
		fatalx("%s: event_base_new failed", __func__);
	t->wake_ev = event_new(t->base, t->wake_fd, EV_READ | EV_PERSIST,
	    wake_cb, t);
	t->watchdog_ev = evtimer_new(t->base, watchdog_cb, t);
	t->giveup_ev = evtimer_new(t->base, giveup_cb, t);
	if (t->wake_ev == NULL || t->watchdog_ev == NULL ||
	    t->giveup_ev == NULL)
		fatalx("%s: event_new failed", __func__);
	event_add(t->wake_ev, NULL);

	if ((error = pthread_create(&t->loop, NULL, loop_main, t)) != 0) {
		xasprintf(cause, "cannot start the loop thread: %s",
		    strerror(error));
		goto fail;
	}
	t->loop_started = true;

	/* Until every courier node serves, or it is clear none will. */
	pthread_mutex_lock(&t->mtx);
	while (!t->started || (t->run != NULL && t->nup < t->ncourier &&
	    !t->done && !t->hung && !t->gave_up))
		pthread_cond_wait(&t->cv, &t->mtx);
	pthread_mutex_unlock(&t->mtx);
	if (t->run == NULL) {
		pthread_join(t->loop, NULL);
		*cause = t->start_cause;
		t->start_cause = NULL;
		test_clear(t);
		return (NULL);
	}
	return (t);

fail:
	test_clear(t);
	return (NULL);
}

/* The node called name: GROUP/INDEX, or a group of one node. */
static struct lpd_node *
find_node(lp_test *t, const char *name, char **cause)
{
	struct lpd_program	*p = lpd_run_program(t->run);
	struct lpd_node		*n;
	char			*full;
	int			 g;

	if (strchr(name, '/') == NULL) {
		if ((g = lpd_program_find_group(p, name)) == -1) {
			xasprintf(cause, "no node or group \"%s\" in program "
			    "%s", name, p->name);
			return (NULL);
		}
		if (p->groups[g].replicas != 1) {
			xasprintf(cause, "group %s has %u nodes: name one, as "
			    "%s/0", name, p->groups[g].replicas, name);
			return (NULL);
		}
		xasprintf(&full, "%s/0", name);
		n = lpd_run_find(t->run, full);
		free(full);
		return (n);
	}
	if ((n = lpd_run_find(t->run, name)) == NULL)
		xasprintf(cause, "no node %s in program %s", name, p->name);
	return (n);
}

/* A client of courier node name; see lptest.h. */
courier_client *
lp_test_client(lp_test *t, const char *name, char **cause)
{
	struct lpd_node	*n;
	courier_client	*c;
	size_t		 i;

	if ((n = find_node(t, name, cause)) == NULL)
		return (NULL);
	if (n->address == NULL) {
		xasprintf(cause, "%s is not a courier node: it serves nothing",
		    n->name);
		return (NULL);
	}
	for (i = 0; i < t->nclients; i++) {
		if (strcmp(t->clients[i].name, n->name) == 0)
			return (t->clients[i].client);
	}
	if ((c = courier_client_new(n->address, cause)) == NULL)
		return (NULL);
	courier_client_set_cancel_fd(c, t->end_fd);
	t->clients = xreallocarray(t->clients, t->nclients + 1,
	    sizeof *t->clients);
	t->clients[t->nclients].name = xstrdup(n->name);
	t->clients[t->nclients++].client = c;
	return (c);
}

/* The address of courier node name, or NULL. */
const char *
lp_test_address(lp_test *t, const char *name)
{
	struct lpd_node	*n;
	char		*cause = NULL;

	n = find_node(t, name, &cause);
	free(cause);
	return (n != NULL ? n->address : NULL);
}

/* The end, as the waits return it; mtx held. */
static int
result(lp_test *t, char **cause)
{
	if (t->gave_up) {
		xasprintf(cause, "%s", t->cause);
		return (LP_TEST_FAILED);
	}
	if (t->status == LPD_STATUS_OK)
		return (LP_TEST_OK);
	xasprintf(cause, "%s", t->cause != NULL ? t->cause : "a node failed");
	return (LP_TEST_FAILED);
}

/* Wait for the end; see lptest.h. */
int
lp_test_wait(lp_test *t, int timeout_ms, char **cause)
{
	struct timespec	 ts;
	int		 r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (timeout_ms >= 0) {
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&t->mtx);
	while (!t->done && !t->gave_up) {
		if (timeout_ms < 0)
			pthread_cond_wait(&t->cv, &t->mtx);
		else if (pthread_cond_timedwait(&t->cv, &t->mtx, &ts) ==
		    ETIMEDOUT)
			break;
	}
	if (!t->done && !t->gave_up) {
		pthread_mutex_unlock(&t->mtx);
		xasprintf(cause, "the program did not end within %d ms",
		    timeout_ms);
		return (LP_TEST_RUNNING);
	}
	r = result(t, cause);
	pthread_mutex_unlock(&t->mtx);
	return (r);
}

/* Stop the program and wait for its end; see lptest.h. */
int
lp_test_stop(lp_test *t, char **cause)
{
	pthread_mutex_lock(&t->mtx);
	if (!t->done)
		t->want_stop = true;
	pthread_mutex_unlock(&t->mtx);
	wake(t);
	/* The grace period, the kill and the watchdog bound this. */
	return (lp_test_wait(t, COURIER_FOREVER, cause));
}

/* A node's captured output; see lptest.h. */
char *
lp_test_output(lp_test *t, const char *name)
{
	struct lpd_node	*n;
	struct output	*o;
	char		*s;

	if ((n = lpd_run_find(t->run, name)) == NULL)
		return (NULL);
	if (t->out == NULL)
		return (xstrdup(""));
	o = &t->out[node_slot(t, n)];
	pthread_mutex_lock(&t->mtx);
	s = xmalloc(o->len + 1);
	if (o->len != 0)
		memcpy(s, o->buf, o->len);
	s[o->len] = '\0';
	pthread_mutex_unlock(&t->mtx);
	return (s);
}

/* Stop, wait and free; see lptest.h. */
void
lp_test_free(lp_test *t)
{
	char	*cause = NULL;
	size_t	 i;

	if (t == NULL)
		return;
	(void)lp_test_stop(t, &cause);
	free(cause);
	pthread_mutex_lock(&t->mtx);
	if (t->gave_up) {
		for (i = 0; i < t->nnodes; i++) {
			if (t->tn[i].live)
				break;
		}
		if (i < t->nnodes) {
			/* Neither joinable nor safe to free under it. */
			fprintf(stderr, "lptest: %s: cannot tear the test "
			    "down; aborting\n", t->cause);
			abort();
		}
	}
	t->want_exit = true;
	pthread_mutex_unlock(&t->mtx);
	/* Before the run goes: their calls end at once now. */
	for (i = 0; i < t->nclients; i++) {
		courier_client_free(t->clients[i].client);
		free(t->clients[i].name);
	}
	free(t->clients);
	t->clients = NULL;
	t->nclients = 0;
	wake(t);
	pthread_join(t->loop, NULL);
	t->run = NULL;
	test_clear(t);
}
