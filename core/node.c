/*
 * node.c: a node's life in the run: start (as a process, or through the
 * embedder's ops), its end, its restarts with backoff under the group's
 * policy, and its final state.
 */
#include "run.h"

static int	 node_start_ops(struct run_node *, char **);

/*
 * The node's state machine as one table, as s6-supervise keeps its own:
 * the state each event takes a node to, from each state. NO marks an
 * event that cannot happen in that state, a broken invariant. Every
 * change of a node's state is made here (lpd_run_node_event) and nowhere
 * else; what else an event does is the caller's.
 */
#define NO	(-1)
#define PE	LPD_NODE_PENDING
#define ST	LPD_NODE_STARTING
#define RU	LPD_NODE_RUNNING
#define BO	LPD_NODE_BACKOFF
#define SP	LPD_NODE_STOPPING
#define EX	LPD_NODE_EXITED
#define FA	LPD_NODE_FAILED
static const int transitions[SN_NEVENTS][FA + 1] = {
	/* from:		PE  ST  RU  BO  SP  EX  FA */
	[SN_SPAWNED] =	      { ST, NO, NO, ST, NO, NO, NO },
	[SN_RUNS] =	      { NO, RU, NO, NO, NO, NO, NO },
	/*
	 * Nothing runs in PENDING or BACKOFF: a stop ends it there. The
	 * program's stop finds a node that restarts already STOPPING.
	 */
	[SN_STOP] =	      { EX, SP, SP, EX, SP, NO, NO },
	/*
	 * From PENDING and BACKOFF too: a start that failed. From STOPPING:
	 * a restart that was asked for.
	 */
	[SN_RESTART] =	      { BO, BO, BO, BO, BO, NO, NO },
	[SN_EXIT_OK] =	      { EX, EX, EX, EX, NO, NO, NO },
	[SN_EXIT_FAIL] =      { FA, FA, FA, FA, NO, NO, NO },
	/* Exits during a stop are not failures. */
	[SN_EXIT_IN_STOP] =   { EX, EX, EX, EX, EX, NO, NO },
	[SN_REVIVE] =	      { NO, NO, NO, NO, NO, PE, PE },
};
#undef PE
#undef ST
#undef RU
#undef BO
#undef SP
#undef EX
#undef FA

/* Move a node to the state event ev takes it to (the one place). */
void
lpd_run_node_event(struct run_node *sn, enum run_node_event ev)
{
	int	 next = transitions[ev][sn->n.state];

	if (next == NO)
		fatalx("%s: node %s: event %d in state %s", __func__,
		    sn->n.name, (int)ev, lpd_node_state_name(sn->n.state));
	sn->n.state = (enum lpd_node_state)next;
}

/* A node will not run again: let go of what it held. */
void
lpd_run_node_final(struct run_node *sn)
{
	if (sn->final)
		return;
	sn->final = true;
	evtimer_del(sn->timer);
	lpd_probe_close(sn);
	if (sn->listen_fd != -1) {
		close(sn->listen_fd);
		sn->listen_fd = -1;
	}
	if (sn->sock_path != NULL) {
		unlink(sn->sock_path);
		free(sn->sock_path);
		sn->sock_path = NULL;
	}
	if (sn->log != NULL) {
		if (sn->n.run->logowner == sn)
			lpd_output_flush(sn->n.run);
		lpd_log_free(sn->log);
		sn->log = NULL;
	}
	sn->n.run->nlive--;
}

/*
 * A node's process ended (or could not start: status -1): restart it,
 * or make it final, and fail the program if its group says so. Events go
 * last, since the embedder may stop the program from inside them.
 */
void
lpd_run_node_ended(struct run_node *sn, int status)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	struct timeval		 tv;
	char			 how[64], *msg = NULL;
	unsigned		 ms, k;
	bool			 failed, restart;

	lpd_wait_string(status, how, sizeof how);
	if (sn->exit_why != NULL)
		xasprintf(&msg, "%s: %s", how, sn->exit_why);
	failed = sn->start_error != NULL || status == -1 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0;

	if (run->stopping) {
		sn->restart_asked = false;
		lpd_run_node_event(sn, SN_EXIT_IN_STOP);
		lpd_run_node_final(sn);
		lpd_run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
		free(msg);
		lpd_run_maybe_finish(run);
		return;
	}

	/* A restart that was asked for: start again now, as no failure. */
	if (sn->restart_asked) {
		sn->restart_asked = false;
		evtimer_del(sn->timer);
		lpd_run_node_event(sn, SN_RESTART);
		sn->n.restarts++;
		tv = ms_tv(0);
		evtimer_add(sn->timer, &tv);
		lpd_run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
		if (sn->n.state == LPD_NODE_BACKOFF)
			lpd_run_event(run, sn, LPD_EV_RESTARTING,
			    "restarting now, as asked");
		free(msg);
		return;
	}

	/*
	 * A node that ran long enough before it ended was healthy: its
	 * backoff and its max_restarts start over, so that a service that
	 * fails once a day is not given up after max_restarts days.
	 */
	if (sn->start_error == NULL &&
	    lpd_realtime_now() - sn->n.started >= run->healthy_s)
		sn->streak = 0;
	restart = (g->restart == LPD_RESTART_ALWAYS ||
	    (g->restart == LPD_RESTART_ON_FAILURE && failed)) &&
	    sn->streak < g->max_restarts;
	if (restart) {
		lpd_run_node_event(sn, SN_RESTART);
		sn->n.restarts++;
		sn->streak++;
		ms = BACKOFF_MIN_MS;
		for (k = 1; k < sn->streak && ms < BACKOFF_MAX_MS; k++)
			ms *= 2;
		if (ms > BACKOFF_MAX_MS)
			ms = BACKOFF_MAX_MS;
		tv = ms_tv(ms);
		evtimer_add(sn->timer, &tv);
		lpd_run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
		if (sn->n.state == LPD_NODE_BACKOFF) {
			lpd_run_eventf(run, sn, LPD_EV_RESTARTING,
			    "restarting in %g s (restart %u of %u)",
			    ms / 1000.0, sn->streak, g->max_restarts);
		}
		free(msg);
		return;
	}

	lpd_run_node_event(sn, failed ? SN_EXIT_FAIL : SN_EXIT_OK);
	lpd_run_node_final(sn);
	if (failed && g->on_failure == LPD_ON_FAILURE_STOP) {
		run->failed = true;
		free(run->cause);
		if (sn->start_error != NULL)
			xasprintf(&run->cause, "%s: %s", sn->n.name,
			    sn->start_error);
		else if (sn->exit_why != NULL)
			xasprintf(&run->cause, "%s %s: %s", sn->n.name, how,
			    sn->exit_why);
		else
			xasprintf(&run->cause, "%s %s", sn->n.name, how);
	}
	lpd_run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
	free(msg);
	if (failed && g->on_failure == LPD_ON_FAILURE_STOP)
		lpd_run_stop(run, false, run->cause);
	lpd_run_maybe_finish(run);
}

/*
 * The node's timer: the end of a backoff, time to probe again, or the end
 * of the grace period of a restart.
 */
void
lpd_run_node_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_node	*sn = arg;

	if (sn->n.state == LPD_NODE_BACKOFF)
		lpd_run_node_start(sn);
	else if (sn->n.state == LPD_NODE_STOPPING && sn->restart_asked &&
	    node_running(sn)) {
		lpd_run_node_signal(sn, SIGKILL);
		sn->n.killed = true;
		lpd_run_event(sn->n.run, sn, LPD_EV_KILLED,
		    "the grace period of its restart is over");
	} else if (sn->n.state == LPD_NODE_STARTING && sn->probe != NULL &&
	    node_running(sn))
		lpd_probe_start(sn);
}

/*
 * Start again a node that ended for good (exited, or failed where its
 * group lets that be): take back what lpd_run_node_final let go of, its
 * socket at the same address (the other nodes hold it) and its log, which
 * goes on where it ended, and start it as at launch.
 */
static int
node_revive(struct run_node *sn, const char *why, char **cause)
{
	struct lpd_run		*run = sn->n.run;
	struct courier_addr	 a;
	char			*err = NULL;
	int			 fd;

	if (sn->log_path != NULL && (sn->log = lpd_log_open_append(
	    sn->log_path, run->log_max, run->log_keep, cause)) == NULL)
		return (-1);
	if (sn->n.address != NULL) {
		if (courier_addr_parse(sn->n.address, &a, &err) != 0 ||
		    (fd = courier_addr_listen(&a, &err)) == -1) {
			xasprintf(cause, "%s cannot listen again on %s: %s",
			    sn->n.name, sn->n.address, err);
			courier_addr_clear(&a);
			free(err);
			lpd_log_free(sn->log);
			sn->log = NULL;
			return (-1);
		}
		sn->listen_fd = fd;
		if (a.family == AF_UNIX && a.path[0] != '@')
			sn->sock_path = xstrdup(a.path);
		courier_addr_clear(&a);
	}
	sn->final = false;
	run->nlive++;
	sn->n.restarts++;
	sn->streak = 0;
	lpd_run_node_event(sn, SN_REVIVE);
	lpd_run_eventf(run, sn, LPD_EV_RESTARTING, "%s: starting again",
	    why);
	lpd_run_node_start(sn);
	return (0);
}

/* Restart a node; see lpd.h. */
int
lpd_run_restart_node(struct lpd_run *run, struct lpd_node *n, const char *why,
    char **cause)
{
	struct run_node	*sn = n->priv;
	struct timeval	 tv;

	if (sn->n.run != run)
		fatalx("%s: %s is not a node of this run", __func__, n->name);
	if (sn->remote) {
		xasprintf(cause, "%s runs on another host", n->name);
		return (-1);
	}
	if (run->stopping || run->done) {
		xasprintf(cause, "the program is stopping; it cannot restart "
		    "%s", n->name);
		return (-1);
	}
	switch (sn->n.state) {
	case LPD_NODE_STOPPING:		/* a restart under way */
		return (0);
	case LPD_NODE_BACKOFF:
		evtimer_del(sn->timer);
		lpd_run_eventf(run, sn, LPD_EV_RESTARTING, "%s: starting now",
		    why);
		lpd_run_node_start(sn);
		return (0);
	case LPD_NODE_STARTING:
	case LPD_NODE_RUNNING:
		break;
	case LPD_NODE_EXITED:
	case LPD_NODE_FAILED:
		return (node_revive(sn, why, cause));
	default:
		xasprintf(cause, "%s is %s: it cannot restart now", n->name,
		    lpd_node_state_name(sn->n.state));
		return (-1);
	}
	sn->restart_asked = true;
	evtimer_del(sn->timer);
	lpd_probe_close(sn);
	lpd_run_node_event(sn, SN_STOP);
	if (run->grace_s <= 0) {
		lpd_run_node_signal(sn, SIGKILL);
		sn->n.killed = true;
		lpd_run_eventf(run, sn, LPD_EV_RESTARTING, "%s: SIGKILL (the "
		    "grace period is 0)", why);
		return (0);
	}
	lpd_run_node_signal(sn, SIGTERM);
	tv.tv_sec = (time_t)run->grace_s;
	tv.tv_usec = (suseconds_t)((run->grace_s - (double)tv.tv_sec) * 1e6);
	evtimer_add(sn->timer, &tv);
	lpd_run_eventf(run, sn, LPD_EV_RESTARTING, "%s: SIGTERM, SIGKILL "
	    "after %g s", why, run->grace_s);
	return (0);
}

/* Start (or restart) a node's process. */
void
lpd_run_node_start(struct run_node *sn)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	char			*cause = NULL;
	int			 r;

	free(sn->start_error);
	sn->start_error = NULL;
	free(sn->exit_why);
	sn->exit_why = NULL;
	sn->n.killed = false;
	if (run->has_ops)
		r = node_start_ops(sn, &cause);
	else
		r = lpd_spawn(sn, &cause);
	if (r != 0) {
		xasprintf(&sn->start_error, "cannot start: %s", cause);
		free(cause);
		lpd_run_event(run, sn, LPD_EV_ERROR, sn->start_error);
		lpd_run_node_ended(sn, -1);
		return;
	}
	if (!run->has_ops) {
		if (sn->pid_ev != NULL)
			event_add(sn->pid_ev, NULL);
		event_add(sn->status_ev, NULL);
		if (sn->ready_ev != NULL)
			event_add(sn->ready_ev, NULL);
		event_add(sn->out[0].ev, NULL);
		event_add(sn->out[1].ev, NULL);
	}
	lpd_run_node_event(sn, SN_SPAWNED);
	/* Through the ops, no exec to wait for: a process node runs. */
	if (run->has_ops && !lpd_type_serves(g->type))
		lpd_run_node_event(sn, SN_RUNS);
	sn->n.started = lpd_realtime_now();
	run->nprocs++;
	lpd_run_event(run, sn, LPD_EV_STARTED, NULL);
	if (sn->n.state == LPD_NODE_STARTING &&
	    lpd_type_serves(g->type) && !run->ops.reports_ready)
		lpd_probe_start(sn);
}

/*
 * Start a node through the embedder's ops, with what lpd_spawn would
 * put in its environment; 0, or -1 with *cause.
 */
static int
node_start_ops(struct run_node *sn, char **cause)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	struct lpd_node_start	 s;
	char			*config;
	int			 r;

	memset(&s, 0, sizeof s);
	s.group = g;
	s.program = run->p->name;
	s.node = sn->n.name;
	s.address = sn->n.address;
	s.listen_fd = -1;
	/* The run keeps its socket across restarts, as for a process. */
	if (sn->listen_fd != -1 &&
	    (s.listen_fd = fcntl(sn->listen_fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "dup: %s", strerror(errno));
		return (-1);
	}
	config = lpd_program_node_config(run->p, sn->n.group, sn->n.index,
	    lpd_spawn_address_fn, run);
	s.config = config;
	s.control = run->control_addr;
	s.run = g->run;
	r = run->ops.start(run->ops.arg, &sn->n, &s, cause);
	free(config);
	if (r == 0)
		sn->live = true;
	return (r);
}

/* A node started through the ops ended; see lpd.h. */
void
lpd_run_node_exited(struct lpd_run *run, struct lpd_node *n, int status,
    const char *why)
{
	struct run_node	*sn = n->priv;

	if (!run->has_ops || sn->n.run != run || !sn->live)
		fatalx("%s: %s is not a live node of the ops", __func__,
		    n->name);
	sn->live = false;
	sn->n.pid = 0;
	sn->n.status = status;
	run->nprocs--;
	lpd_probe_close(sn);
	free(sn->exit_why);
	sn->exit_why = why != NULL ? xstrdup(why) : NULL;
	lpd_run_node_ended(sn, status);
}
