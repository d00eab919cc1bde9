/*
 * supervisor.c: run one program's nodes as processes on the caller's
 * libevent event_base (lpctl run, lpd and the test harness embed it):
 * the run's start, stop and end. A node's life is node.c's, its process
 * spawn.c's, its readiness probe.c's, its output node-output.c's, and the
 * keeper keeper.c's; what the start makes ready is run-setup.c's; run.h is
 * their shared header.
 *
 * Start. Everything that can fail for reasons of the machine (the runtime
 * folder, every node's listening socket, the log files, the control
 * socket, the keeper) is done before the first node is forked, so a run
 * either starts whole or not at all. Every courier address is bound
 * before any node starts: configs may name any node (cycles too), and a
 * node's socket lives in the supervisor across restarts, so its address
 * never changes and no call is lost while it restarts.
 *
 * Processes. Each node runs in a session and process group of its own
 * (pgid = pid), so that its stop notice and kill reach everything it
 * forked. Children are reaped through pidfds, one libevent event each:
 * no SIGCHLD handler and no waitpid(-1), because the core shares its
 * process with lpctl's, lpd's or a test's other children. Where
 * pidfd_open is missing (Linux < 5.3, valgrind 3.19) the run polls just
 * those children with waitid(P_PID, WNOHANG) every 10 ms. A pgid is
 * signalled only while its leader is not reaped, plus one SIGKILL right
 * after the reap (leftovers of a finished node die with it), never later:
 * pids are reused.
 *
 * No orphans. PR_SET_PDEATHSIG kills a node's leader when the supervisor
 * dies; the keeper, a small child forked before any node, kills their
 * process groups: it learns every pgid over a socket and, if the socket
 * closes without a "done" record (the supervisor died), SIGKILLs them all.
 *
 * Other homes. With lpd_run_opts.ops, nodes are not processes: the ops
 * start them (the test harness makes each a thread) and report their end
 * through lpd_run_node_exited. Everything else (addresses, configs, the
 * probes, restarts, the stop and the control server) is the same code, so
 * a node is resolved and supervised one way whatever its home.
 *
 * Cost. Nothing on an event's path walks all nodes; only the stop and
 * the kill at its deadline do, once. A node's memory is a few hundred
 * bytes plus its output ring and any partial line (at most 4 KiB per
 * stream), and all nodes read through one buffer of the run.
 */
#include "run.h"

/* Tell the embedder something. */
void
lpd_run_event(struct lpd_run *run, struct run_node *sn, enum lpd_event ev,
    const char *msg)
{
	if (run->cb.event != NULL)
		run->cb.event(run->arg, sn != NULL ? &sn->n : NULL, ev, msg);
}

/* Tell the embedder something, formatted. */
void
lpd_run_eventf(struct lpd_run *run, struct run_node *sn, enum lpd_event ev,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	lpd_run_event(run, sn, ev, msg);
	free(msg);
}


/* How a process ended, for a person. */
const char *
lpd_wait_string(int status, char *buf, size_t len)
{
	const char	*name;
	int		 sig;

	if (status == -1)
		snprintf(buf, len, "did not start");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || \
    (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
		if ((name = sigabbrev_np(sig)) != NULL) {
			snprintf(buf, len, "killed by signal %d (SIG%s)%s", sig,
			    name, WCOREDUMP(status) ? ", core dumped" : "");
			return (buf);
		}
#endif
		if ((name = strsignal(sig)) == NULL)
			name = "unknown";
		snprintf(buf, len, "killed by signal %d (%s)%s", sig, name,
		    WCOREDUMP(status) ? ", core dumped" : "");
	} else
		snprintf(buf, len, "wait status %#x", (unsigned)status);
	return (buf);
}

/* A state's name, as lpctl status shows it. */
const char *
lpd_node_state_name(enum lpd_node_state state)
{
	switch (state) {
	case LPD_NODE_PENDING:
		return ("pending");
	case LPD_NODE_STARTING:
		return ("starting");
	case LPD_NODE_RUNNING:
		return ("running");
	case LPD_NODE_BACKOFF:
		return ("backoff");
	case LPD_NODE_STOPPING:
		return ("stopping");
	case LPD_NODE_EXITED:
		return ("exited");
	case LPD_NODE_FAILED:
		return ("failed");
	}
	return ("unknown");
}


/*
 * Signal a live node's process group. A child that has not reached
 * setsid() yet has no group of its own but cannot have forked either, so
 * the signal goes to it alone; it is not reaped, so its pid is still
 * ours. A signal it gets then stays pending (blocked) until its exec.
 */
void
lpd_run_node_signal(struct run_node *sn, int sig)
{
	struct lpd_run	*run = sn->n.run;

	if (run->has_ops) {
		if (sn->live)
			run->ops.signal(run->ops.arg, &sn->n, sig);
		return;
	}
	if (sn->pgid <= 0)
		return;
	if (killpg(sn->pgid, sig) == -1 && errno == ESRCH)
		kill(sn->n.pid, sig);
}

/* SIGKILL every node that is left. */
static void
run_kill_all(struct lpd_run *run, const char *why)
{
	struct run_node	*sn;
	size_t		 i;

	if (run->killing)
		return;
	run->killing = true;
	evtimer_del(run->grace_ev);
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (!node_running(sn))
			continue;
		lpd_run_node_signal(sn, SIGKILL);
		sn->n.killed = true;
	}
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (node_running(sn) && sn->n.killed)
			lpd_run_event(run, sn, LPD_EV_KILLED, why);
	}
}

static void
run_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	run_kill_all(arg, "the grace period is over");
}

/* Change the grace period; see lpd.h. */
void
lpd_run_set_grace(struct lpd_run *run, double grace_s)
{
	struct timeval	tv;

	if (run->done || grace_s < 0)
		return;
	run->grace_s = grace_s;
	if (!evtimer_pending(run->grace_ev, NULL))
		return;	/* not stopping yet, or already killing */
	/* Stopping: the new period counts from now. */
	evtimer_del(run->grace_ev);
	if (grace_s == 0) {
		run_kill_all(run, "the grace period is 0");
		return;
	}
	tv.tv_sec = (time_t)grace_s;
	tv.tv_usec = (suseconds_t)((grace_s - (double)tv.tv_sec) * 1e6);
	evtimer_add(run->grace_ev, &tv);
	lpd_run_eventf(run, NULL, LPD_EV_WAITING, "waiting %g s for %zu node%s "
	    "to stop", grace_s, run->nprocs, run->nprocs == 1 ? "" : "s");
}

/* Stop the program; see lpd.h. */
void
lpd_run_stop(struct lpd_run *run, bool kill, const char *why)
{
	struct run_node	*sn;
	struct timeval	 tv;
	size_t		 i;

	if (run->done)
		return;
	if (run->stopping) {
		if (kill)
			run_kill_all(run, "a kill was asked for");
		return;
	}
	run->stopping = true;
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (sn->final)
			continue;
		evtimer_del(sn->timer);
		/* A restart under way becomes a stop. */
		sn->restart_asked = false;
		lpd_run_node_event(sn, SN_STOP);
		if (sn->n.state == LPD_NODE_EXITED) {
			/* Nothing ran: a pending restart is cancelled. */
			lpd_run_node_final(sn);
			continue;
		}
		lpd_probe_close(sn);
		if (!kill)
			lpd_run_node_signal(sn, SIGTERM);
	}
	lpd_run_event(run, NULL, LPD_EV_STOPPING, why != NULL ? why :
	    "the stop was asked for");
	if (run->done || run->nprocs == 0) {
		lpd_run_maybe_finish(run);
		return;
	}
	if (kill || run->grace_s <= 0) {
		run_kill_all(run, kill ? "a kill was asked for" :
		    "the grace period is 0");
	} else if (!run->killing) {
		tv.tv_sec = (time_t)run->grace_s;
		tv.tv_usec = (suseconds_t)((run->grace_s - (double)tv.tv_sec) *
		    1e6);
		evtimer_add(run->grace_ev, &tv);
		lpd_run_eventf(run, NULL, LPD_EV_WAITING, "waiting %g s for "
		    "%zu node%s to stop", run->grace_s, run->nprocs,
		    run->nprocs == 1 ? "" : "s");
	}
	lpd_run_maybe_finish(run);
}

/* The program fails from outside; see lpd.h. */
void
lpd_run_fail(struct lpd_run *run, const char *why)
{
	if (run->done)
		return;
	if (!run->failed) {
		run->failed = true;
		free(run->cause);
		run->cause = xstrdup(why);
	}
	lpd_run_stop(run, false, why);
}

/* One node's signal, asked from outside; see lpd.h. */
void
lpd_run_signal_node(struct lpd_run *run, struct lpd_node *n, int sig)
{
	struct run_node	*sn = n->priv;

	if (sn->n.run != run)
		fatalx("%s: %s is not a node of this run", __func__, n->name);
	if (!node_running(sn))
		return;
	if (sig == SIGKILL)
		sn->n.killed = true;
	lpd_run_node_signal(sn, sig);
}

/* A node asked for the stop; see lpd.h. */
void
lpd_run_stop_requested(struct lpd_run *run, const char *node)
{
	if (!run->stopping && !run->done)
		run->requested = true;
}

/* The program ended: the control server goes, and the embedder is told. */
static void
run_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_run	*run = arg;

	courier_server_free(run->control);
	run->control = NULL;
	/* The embedder may free the run in there: touch nothing after. */
	if (run->cb.done != NULL)
		run->cb.done(run->arg, run, run->status);
}

/*
 * End the program once every node is final. done is called from the
 * loop, never from inside lpd_run_start, lpd_run_stop or a control call.
 */
void
lpd_run_maybe_finish(struct lpd_run *run)
{
	if (run->done || run->nlive != 0 ||
	    (run->keep_open && !run->stopping))
		return;
	run->done = true;
	run->status = run->failed ? LPD_STATUS_FAILED : LPD_STATUS_OK;
	evtimer_del(run->grace_ev);
	event_active(run->done_ev, 0, 0);
}

/* The control method stop_program: [node name]. */
static courier_value *
control_stop_program(void *self, courier_request *req, courier_error **err)
{
	struct lpd_run		*run = self;
	const courier_value	*v;
	const char		*name = NULL;
	char			*why;

	v = courier_request_arg(req, 0);
	if (v != NULL && courier_value_type(v) == COURIER_STRING)
		name = courier_value_string(v, NULL);
	lpd_run_stop_requested(run, name);
	xasprintf(&why, "%s asked to stop the program",
	    name != NULL ? name : "a node");
	lpd_run_stop(run, false, why);
	free(why);
	return (NULL);
}

/* ------------------------------------------------------------------ */
/* Start                                                               */
/* ------------------------------------------------------------------ */

/* Start the control server on the caller's loop. */
static int
run_control_start(struct lpd_run *run, char **cause)
{
	courier_server	*s;
	char		*why = NULL;

	xasprintf(&run->control_addr, "unix:%s/control", run->dir);
	xasprintf(&run->lp_control, "LP_CONTROL=%s", run->control_addr);
	s = courier_server_new();
	if (courier_server_set_base(s, run->base) != 0 ||
	    courier_server_set_workers(s, 0) != 0 ||
	    courier_server_add_method(s, "stop_program", control_stop_program,
	    run, COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_listen(s, run->control_addr, &why) != 0 ||
	    courier_server_start(s, &why) != 0) {
		xasprintf(cause, "cannot start the control server: %s",
		    why != NULL ? why : "unknown error");
		free(why);
		courier_server_free(s);
		return (-1);
	}
	run->control = s;
	return (0);
}

/* Free a node's resources (its process, if any, is reaped already). */
static void
node_clear(struct run_node *sn)
{
	unsigned	 i;

	lpd_probe_close(sn);
	lpd_spawn_status_close(sn);
	lpd_spawn_ready_close(sn);
	for (i = 0; i < 2; i++) {
		if (sn->out[i].fd != -1) {
			event_free(sn->out[i].ev);
			close(sn->out[i].fd);
		}
		free(sn->out[i].buf);
	}
	if (sn->pid_ev != NULL)
		event_free(sn->pid_ev);
	if (sn->pidfd != -1)
		close(sn->pidfd);
	if (sn->timer != NULL)
		event_free(sn->timer);
	if (sn->listen_fd != -1)
		close(sn->listen_fd);
	if (sn->sock_path != NULL) {
		unlink(sn->sock_path);
		free(sn->sock_path);
	}
	lpd_log_free(sn->log);
	free(sn->log_path);
	sn->log = NULL;
	if (sn->ring != NULL) {
		for (i = 0; i < sn->n.run->log_lines; i++)
			free(sn->ring[i].s);
		free(sn->ring);
	}
	free(sn->start_error);
	free(sn->exit_why);
	free(sn->n.address);
	free(sn->n.name);
}

/* Free everything of a run but its program; nothing runs any more. */
static void
run_clear(struct lpd_run *run)
{
	size_t	 i;

	for (i = 0; i < run->nnodes; i++)
		node_clear(&run->nodes[i]);
	free(run->nodes);
	courier_server_free(run->control);
	lpd_keeper_stop(run);
	lpd_spawn_teardown(run);
	if (run->devnull != -1)
		close(run->devnull);
	/* Empty now: the sockets went with their nodes and the server. */
	if (run->dir != NULL && run->made_dir)
		rmdir(run->dir);
	if (run->done_ev != NULL)
		event_free(run->done_ev);
	if (run->grace_ev != NULL)
		event_free(run->grace_ev);
	if (run->poll_ev != NULL)
		event_free(run->poll_ev);
	for (i = 0; run->env != NULL && run->env[i] != NULL; i++)
		free(run->env[i]);
	free(run->env);
	for (i = 0; run->genv != NULL && i < run->p->ngroups; i++)
		free(run->genv[i]);
	free(run->genv);
	free(run->gnenv);
	free(run->goff);
	free(run->dir);
	free(run->control_addr);
	free(run->lp_control);
	free(run->lp_program);
	free(run->rbuf);
	free(run->logbuf);
	free(run->groups);
	free(run->cause);
	if (run->spawn_stack != NULL)
		munmap(run->spawn_stack, SPAWN_STACK);
	free(run);
}

/* Start a program; see lpd.h. */
struct lpd_run *
lpd_run_start(struct event_base *base, struct lpd_program *p,
    const struct lpd_run_opts *opts, const struct lpd_run_cb *cb, void *arg,
    char **cause)
{
	static const struct lpd_run_opts	 defaults = { .grace_s = -1 };
	struct lpd_run				*run;
	struct run_node				*sn;
	size_t					 g, i, k;
	unsigned				 j;

	if (opts == NULL)
		opts = &defaults;
	run = xcalloc(1, sizeof *run);
	run->base = base;
	run->p = p;
	if (cb != NULL)
		run->cb = *cb;
	run->arg = arg;
	if (opts->ops != NULL) {
		if (opts->ops->start == NULL || opts->ops->signal == NULL)
			fatalx("%s: ops without start or signal", __func__);
		run->ops = *opts->ops;
		run->has_ops = true;
	}
	run->grace_s = opts->grace_s >= 0 ? opts->grace_s : p->grace_s;
	run->log_lines = opts->log_lines != 0 ? opts->log_lines :
	    LOG_LINES_DEFAULT;
	run->log_max = opts->log_max != 0 ? opts->log_max :
	    LPD_LOG_MAX_DEFAULT;
	run->log_keep = opts->log_keep != 0 ? opts->log_keep :
	    LPD_LOG_KEEP_DEFAULT;
	run->healthy_s = (opts->healthy_ms != 0 ? opts->healthy_ms :
	    HEALTHY_MS) / 1000.0;
	run->tcp = opts->tcp;
	run->keep_open = opts->keep_open;
	if (opts->set_ids)
		lpd_setup_ids(run, opts->uid, opts->gid);
	run->devnull = -1;
	run->keeper_fd = -1;
	for (i = 0; i < SPAWN_SLOTS; i++)
		run->spawn_slots[i] = -1;
	run->self = getpid();

	run->nnodes = p->nnodes;
	run->nlive = p->nnodes;
	run->nodes = xcalloc(p->nnodes, sizeof *run->nodes);
	run->goff = xcalloc(p->ngroups, sizeof *run->goff);
	for (g = 0, k = 0; g < p->ngroups; g++) {
		run->goff[g] = k;
		for (j = 0; j < p->groups[g].replicas; j++, k++) {
			sn = &run->nodes[k];
			sn->n.run = run;
			sn->n.group = g;
			sn->n.index = j;
			sn->n.slot = k;
			xasprintf(&sn->n.name, "%s/%u", p->groups[g].name, j);
			/* The state machine's start (node.c). */
			sn->n.state = LPD_NODE_PENDING;
			sn->n.status = -1;
			sn->n.priv = sn;
			sn->listen_fd = -1;
			sn->pidfd = -1;
			sn->status_fd = -1;
			sn->ready_fd = -1;
			for (i = 0; i < 2; i++) {
				sn->out[i].node = sn;
				sn->out[i].err = i == 1;
				sn->out[i].fd = -1;
			}
			sn->timer = evtimer_new(base, lpd_run_node_timer_cb,
			    sn);
			if (sn->timer == NULL)
				fatalx("%s: evtimer_new failed", __func__);
		}
	}
	if (opts->local != NULL)
		lpd_setup_share(run, opts);
	lpd_setup_env(run, opts->env);
	xasprintf(&run->lp_program, "LP_PROGRAM=%s", p->name);
	lpd_setup_limits(run, opts->node_nofile);

	if ((run->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot open /dev/null: %s", strerror(errno));
		goto fail;
	}
	/* The spawn slots first, while the free fds are the low ones. */
	if (!run->has_ops)
		lpd_spawn_setup(run);
	if (lpd_setup_dir(run, opts->runtime_dir, cause) != 0 ||
	    lpd_setup_bind(run, cause) != 0)
		goto fail;
	if (opts->log_dir != NULL &&
	    lpd_setup_logs(run, opts->log_dir, cause) != 0)
		goto fail;
	/* Nodes that are not processes need no keeper. */
	if (run_control_start(run, cause) != 0 ||
	    lpd_setup_give_files(run, cause) != 0 ||
	    (!run->has_ops && lpd_keeper_start(run, cause) != 0))
		goto fail;

	run->done_ev = event_new(base, -1, 0, run_done_cb, run);
	run->grace_ev = evtimer_new(base, run_grace_cb, run);
	run->poll_ev = event_new(base, -1, EV_PERSIST, lpd_spawn_poll_cb, run);
	if (run->done_ev == NULL || run->grace_ev == NULL ||
	    run->poll_ev == NULL)
		fatalx("%s: event_new failed", __func__);
	run->rbuf = xmalloc(READ_SIZE);
	run->logbuf = xmalloc(LOGBUF_SIZE);

	/* A failure here is a node's, and the program's policy handles it. */
	for (i = 0; i < run->nnodes; i++) {
		if (run->nodes[i].n.state == LPD_NODE_PENDING &&
		    !run->nodes[i].remote)
			lpd_run_node_start(&run->nodes[i]);
	}
	return (run);

fail:
	run_clear(run);
	return (NULL);
}

/* Free a run; see lpd.h. */
void
lpd_run_free(struct lpd_run *run)
{
	struct lpd_program	*p = run->p;
	struct run_node		*sn;
	siginfo_t		 si;
	size_t			 i;

	/* Not done: kill what is left and reap it here, blocking. */
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		lpd_run_node_signal(sn, SIGKILL);
		/* The ops' nodes cannot be reaped here: they are the ops'. */
		sn->live = false;
	}
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (sn->pgid <= 0)
			continue;
		if (sn->pidfd != -1) {
			while (waitid((idtype_t)P_PIDFD, (id_t)sn->pidfd, &si,
			    WEXITED) == -1 && errno == EINTR)
				continue;
		} else {
			while (waitid(P_PID, (id_t)sn->n.pid, &si,
			    WEXITED) == -1 && errno == EINTR)
				continue;
		}
		if (sn->pgid > 0) {
			killpg(sn->pgid, SIGKILL);
			lpd_keeper_send(run, KEEPER_DEL, sn->pgid);
		}
		sn->pgid = 0;
		sn->n.pid = 0;
	}
	if (run->logowner != NULL)
		lpd_output_flush(run);
	run_clear(run);
	lpd_program_free(p);
}

bool
lpd_run_done(const struct lpd_run *run)
{
	return (run->done);
}

int
lpd_run_status(const struct lpd_run *run)
{
	if (!run->done)
		return (run->failed ? LPD_STATUS_FAILED : LPD_STATUS_OK);
	return (run->status);
}

const char *
lpd_run_cause(const struct lpd_run *run)
{
	return (run->cause);
}

struct lpd_program *
lpd_run_program(const struct lpd_run *run)
{
	return (run->p);
}

size_t
lpd_run_nnodes(const struct lpd_run *run)
{
	return (run->nnodes);
}

struct lpd_node *
lpd_run_node(const struct lpd_run *run, size_t i)
{
	if (i >= run->nnodes)
		return (NULL);
	return (&run->nodes[i].n);
}

/* The node called GROUP/INDEX, or NULL. */
struct lpd_node *
lpd_run_find(const struct lpd_run *run, const char *name)
{
	const char	*slash;
	char		 group[LPD_NAME_MAX + 1], *end;
	unsigned long	 index;
	int		 g;

	if ((slash = strrchr(name, '/')) == NULL ||
	    (size_t)(slash - name) > LPD_NAME_MAX)
		return (NULL);
	memcpy(group, name, (size_t)(slash - name));
	group[slash - name] = '\0';
	if ((g = lpd_program_find_group(run->p, group)) == -1)
		return (NULL);
	if (slash[1] < '0' || slash[1] > '9')
		return (NULL);
	errno = 0;
	index = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' ||
	    index >= run->p->groups[g].replicas)
		return (NULL);
	return (&run->nodes[run->goff[g] + index].n);
}

const char *
lpd_run_control(const struct lpd_run *run)
{
	return (run->control_addr);
}

const char *
lpd_run_runtime_dir(const struct lpd_run *run)
{
	return (run->dir);
}
