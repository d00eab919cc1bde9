/*
 * daemon.c: the programs lpd runs or remembers, each scoped by its name.
 *
 * A program is launched through the supervisor core on lpd's one
 * event_base. lpd writes each node's output to its log file itself (the
 * core's log_dir is not used) so that it controls the size cap and the
 * rotation, and keeps a record of the program (STATE/NAME/record.json)
 * that outlives lpd: it is rewritten on state changes, coalesced so that
 * a storm of events costs a few writes, never one per line of output.
 *
 * Once a program ends, its run is freed and what status shows of it (the
 * nodes' last states, pids, exit statuses) stays in struct lpd_prog_node, the
 * same form a record read back at start has.
 *
 * A full disk stops neither lpd nor a program. A record that cannot be
 * written is tried again on a timer until it is (the one on disk stays
 * whole meanwhile); a node's lines that cannot be written are lost and
 * counted (logfile.c). Both show in status as warnings, and lpd's own log
 * says so once when it begins and once when it ends, not once a line.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "daemon.h"
#include "log.h"
#include "logfile.h"
#include "record.h"
#include "slurm.h"

/* How long a burst of state changes gathers before the record is written. */
#define RECORD_DELAY_MS	100
/* A record that could not be written is tried again after 1 s, 2 s, ... */
#define RECORD_RETRY_MS		1000
#define RECORD_RETRY_MAX_MS	10000

const char *
lpd_prog_state_name(enum lpd_prog_state state)
{
	switch (state) {
	case LPD_PROG_RUNNING:
		return ("running");
	case LPD_PROG_STOPPING:
		return ("stopping");
	case LPD_PROG_EXITED:
		return ("exited");
	case LPD_PROG_FAILED:
		return ("failed");
	case LPD_PROG_LOST:
		return ("lost");
	}
	return ("unknown");
}

/* The program called name, or NULL. */
struct lpd_prog *
lpd_prog_find(struct lpd_daemon *d, const char *name)
{
	struct lpd_prog	*prog;

	TAILQ_FOREACH(prog, &d->progs, entry) {
		if (strcmp(prog->name, name) == 0)
			return (prog);
	}
	return (NULL);
}

bool
lpd_prog_ended(const struct lpd_prog *prog)
{
	return (prog->run == NULL && prog->slurm == NULL);
}

/* Whether no program runs: SIGTERM's shutdown may end. */
bool
lpd_daemon_idle(struct lpd_daemon *d)
{
	struct lpd_prog	*prog;

	TAILQ_FOREACH(prog, &d->progs, entry) {
		if (!lpd_prog_ended(prog))
			return (false);
	}
	return (true);
}

/* Copy what the run knows of one node into the program's own. */
static void
pnode_sync(struct lpd_prog_node *pn, const struct lpd_node *n)
{
	free(pn->state);
	pn->state = xstrdup(lpd_node_state_name(n->state));
	if (pn->address == NULL && n->address != NULL)
		pn->address = xstrdup(n->address);
	if (pn->host == NULL && n->host != NULL)
		pn->host = xstrdup(n->host);
	pn->pid = n->pid;
	pn->status = n->status;
	pn->restarts = n->restarts;
	pn->started = n->started;
}

/* Copy what the run knows of its nodes into the program's own. */
void
lpd_prog_sync(struct lpd_prog *prog)
{
	struct lpd_node		*n;
	size_t			 i;

	if (prog->slurm != NULL && prog->job == NULL &&
	    lpd_slurm_job(prog->slurm) != NULL)
		prog->job = xstrdup(lpd_slurm_job(prog->slurm));
	if (prog->slurm != NULL)
		prog->run = lpd_slurm_run(prog->slurm);
	if (prog->run == NULL)
		return;
	for (i = 0; i < prog->nnodes; i++) {
		if ((n = lpd_run_node(prog->run, i)) == NULL)
			break;
		pnode_sync(&prog->nodes[i], n);
	}
}

/* A time of day for a person: "14:03:07", or with the date if not today. */
static void
when_string(double t, char *buf, size_t len)
{
	struct tm	 tm, today;
	time_t		 sec = (time_t)t, now = time(NULL);

	localtime_r(&sec, &tm);
	localtime_r(&now, &today);
	if (tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday)
		strftime(buf, len, "%H:%M:%S", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Tell the control API what changed in a program. */
static void
prog_notify(struct lpd_prog *prog, enum lpd_change what)
{
	if (prog->d->prog_changed != NULL)
		prog->d->prog_changed(prog, what);
}

/*
 * How many of the program's nodes are ready: running (a courier node
 * serves), or exited 0. Read from the run while there is one, so that
 * nothing is copied; O(nodes), asked only by a wait for readiness.
 */
size_t
lpd_prog_nready(struct lpd_prog *prog)
{
	const struct lpd_node	*n;
	struct lpd_run		*run = prog->run;
	size_t			 i, k = 0;

	if (prog->slurm != NULL)
		run = lpd_slurm_run(prog->slurm);
	if (run == NULL) {
		for (i = 0; i < prog->nnodes; i++) {
			if (strcmp(prog->nodes[i].state, "running") == 0 ||
			    strcmp(prog->nodes[i].state, "exited") == 0)
				k++;
		}
		return (k);
	}
	for (i = 0; i < prog->nnodes; i++) {
		if ((n = lpd_run_node(run, i)) == NULL)
			break;
		if (n->state == LPD_NODE_RUNNING || n->state == LPD_NODE_EXITED)
			k++;
	}
	return (k);
}

/*
 * Write the record. One that cannot be written (a full disk) is tried
 * again later, less often the longer it lasts, until it is: what is on
 * disk is the last record written whole, and a change made meanwhile
 * waits for the next try.
 */
static void
prog_record_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_prog	*prog = arg;
	struct timeval	 tv;
	courier_value	*v;
	char		*cause = NULL;
	int		 error, r;

	lpd_prog_sync(prog);
	v = lpd_prog_value(prog, false);
	r = lpd_record_write(prog->dir, v, &cause);
	courier_value_unref(v);
	if (r == 0) {
		if (prog->record_error != 0)
			log_info("%s: record: written again", prog->name);
		prog->record_error = 0;
		prog->record_retry_ms = 0;
		return;
	}
	error = errno != 0 ? errno : EIO;
	if (prog->record_error == 0) {
		log_warn("%s: record: %s; trying again until it is written",
		    prog->name, cause);
		prog->record_error = error;
		prog->record_since = lpd_realtime_now();
	} else
		log_debug("%s: record: %s", prog->name, cause);
	free(cause);
	if (prog->record_retry_ms == 0)
		prog->record_retry_ms = RECORD_RETRY_MS;
	else if ((prog->record_retry_ms *= 2) > RECORD_RETRY_MAX_MS)
		prog->record_retry_ms = RECORD_RETRY_MAX_MS;
	tv.tv_sec = prog->record_retry_ms / 1000;
	tv.tv_usec = (suseconds_t)(prog->record_retry_ms % 1000) * 1000;
	evtimer_add(prog->record_ev, &tv);
}

/* Something changed: write the record soon, once for a burst. */
void
lpd_prog_changed(struct lpd_prog *prog)
{
	struct timeval	tv = { 0, RECORD_DELAY_MS * 1000 };

	if (prog->record_ev != NULL && !evtimer_pending(prog->record_ev, NULL))
		evtimer_add(prog->record_ev, &tv);
}

/* Write the record now. */
static void
prog_record_now(struct lpd_prog *prog)
{
	if (prog->record_ev != NULL)
		evtimer_del(prog->record_ev);
	prog_record_cb(-1, 0, prog);
}

/* A node's log began to lose lines: say so, once for the program. */
static void
prog_logs_broke(struct lpd_prog *prog, struct lpd_prog_node *pn)
{
	double	since;
	int	error;

	error = lpd_log_error(pn->logf, &since);
	if (prog->logs_broken++ != 0)
		return;
	prog->logs_error = error;
	prog->logs_since = since;
	prog->logs_lost = 0;
	log_warn("%s: logs: cannot write %s: %s; lines are lost until it "
	    "can be written again", prog->name, pn->log, strerror(error));
}

/* A node's log is written again: say so when the last one is. */
static void
prog_logs_mended(struct lpd_prog *prog)
{
	if (prog->logs_broken == 0 || --prog->logs_broken != 0)
		return;
	log_info("%s: logs: written again; %llu line%s lost", prog->name,
	    (unsigned long long)prog->logs_lost,
	    prog->logs_lost == 1 ? "" : "s");
}

static void
prog_output_cb(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct lpd_prog		*prog = arg;
	struct lpd_prog_node	*pn;

	pn = &prog->nodes[n->slot];	/* the run's nodes, in its order */
	if (pn->logf != NULL) {
		switch (lpd_log_write(pn->logf, line, len)) {
		case LPD_LOG_BROKE:
			prog_logs_broke(prog, pn);
			prog->logs_lost++;
			break;
		case LPD_LOG_LOST:
			prog->logs_lost++;
			break;
		case LPD_LOG_MENDED:
			prog_logs_mended(prog);
			break;
		}
	}
	if (!TAILQ_EMPTY(&prog->waiters))
		prog_notify(prog, LPD_CHANGE_OUTPUT);
}

/* What the Slurm backend says of the job, to lpd's log. */
static void
prog_slurm_say(void *arg, bool alert, const char *msg)
{
	struct lpd_prog	*prog = arg;

	if (alert)
		log_warn("%s: %s", prog->name, msg);
	else
		log_info("%s: %s", prog->name, msg);
	lpd_prog_sync(prog);
}

static void
prog_event_cb(void *arg, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct lpd_prog	*prog = arg;

	switch (ev) {
	case LPD_EV_STARTED:
		if (n->host != NULL)
			log_info("%s: %s: started on %s", prog->name, n->name,
			    n->host);
		else
			log_info("%s: %s: started, pid %ld", prog->name,
			    n->name, (long)n->pid);
		break;
	case LPD_EV_READY:
		log_info("%s: %s: ready on %s", prog->name, n->name, msg);
		break;
	case LPD_EV_STOPPING:
		if (prog->state == LPD_PROG_RUNNING)
			prog->state = LPD_PROG_STOPPING;
		log_info("%s: stopping: %s", prog->name, msg);
		break;
	default:
		log_info("%s: %s%s%s", prog->name, n != NULL ? n->name : "",
		    n != NULL ? ": " : "", msg);
		break;
	}
	if (prog->launching && n != NULL)
		pnode_sync(&prog->nodes[n->slot], n);
	if (!TAILQ_EMPTY(&prog->waiters))
		prog_notify(prog, LPD_CHANGE_NODE);
	if (prog->launching && !prog->launch_recorded) {
		/*
		 * The first node is forked: should lpd die from here on, the
		 * next one must find this run's record and show it lost, not
		 * find none (or the record of the run this one replaces).
		 */
		prog->launch_recorded = true;
		prog_record_now(prog);
	} else
		lpd_prog_changed(prog);
}

static void
prog_done_cb(void *arg, struct lpd_run *run, int status)
{
	struct lpd_prog	*prog = arg;
	const char	*cause;
	size_t		 i;

	lpd_prog_sync(prog);
	prog->status = status;
	prog->state = status == LPD_STATUS_OK ? LPD_PROG_EXITED :
	    LPD_PROG_FAILED;
	prog->ended = lpd_realtime_now();
	free(prog->cause);
	cause = prog->slurm != NULL ? lpd_slurm_cause(prog->slurm) :
	    lpd_run_cause(run);
	prog->cause = cause != NULL ? xstrdup(cause) : NULL;
	cause = prog->cause;
	/* A job Slurm did not start is a failure, here as anywhere. */
	if (status != LPD_STATUS_OK)
		prog->status = status = LPD_STATUS_FAILED;
	for (i = 0; i < prog->nnodes; i++) {
		if (prog->nodes[i].logf != NULL)
			lpd_log_close(prog->nodes[i].logf);
		prog->nodes[i].pid = 0;
	}
	if (prog->logs_broken != 0) {
		log_warn("%s: logs: %llu line%s lost while they could not be "
		    "written", prog->name, (unsigned long long)prog->logs_lost,
		    prog->logs_lost == 1 ? "" : "s");
		prog->logs_broken = 0;
	}
	log_info("%s: ended: %s%s%s", prog->name,
	    lpd_prog_state_name(prog->state), cause != NULL ? ": " : "",
	    cause != NULL ? cause : "");
	/* The core allows done to free the run; so does the backend. */
	if (prog->slurm != NULL)
		lpd_slurm_free(prog->slurm);
	else
		lpd_run_free(run);
	prog->slurm = NULL;
	prog->run = NULL;
	prog_record_now(prog);
	prog_notify(prog, LPD_CHANGE_END);
	if (prog->d->exiting && lpd_daemon_idle(prog->d))
		event_base_loopexit(prog->d->base, NULL);
}


/* A program with no run yet; its nodes come from p or from a record. */
struct lpd_prog *
lpd_prog_new(struct lpd_daemon *d, const char *name)
{
	struct lpd_prog	*prog;

	prog = xcalloc(1, sizeof *prog);
	prog->d = d;
	prog->name = xstrdup(name);
	xasprintf(&prog->dir, "%s/%s", d->state_dir, name);
	prog->status = -1;
	TAILQ_INIT(&prog->waiters);
	prog->record_ev = evtimer_new(d->base, prog_record_cb, prog);
	if (prog->record_ev == NULL)
		fatalx("%s: event_new failed", __func__);
	return (prog);
}

/* Free a program (its run too, killing it, if it still runs). */
void
lpd_prog_free(struct lpd_prog *prog)
{
	struct lpd_prog_node	*pn;
	size_t			 i;

	if (prog->d->prog_gone != NULL)
		prog->d->prog_gone(prog);
	if (prog->slurm != NULL)
		lpd_slurm_free(prog->slurm);
	else if (prog->run != NULL)
		lpd_run_free(prog->run);
	for (i = 0; i < prog->nnodes; i++) {
		pn = &prog->nodes[i];
		free(pn->host);
		free(pn->name);
		free(pn->group);
		free(pn->type);
		free(pn->state);
		free(pn->address);
		free(pn->log);
		lpd_log_free(pn->logf);
	}
	free(prog->nodes);
	if (prog->record_ev != NULL)
		event_free(prog->record_ev);
	free(prog->name);
	free(prog->file);
	free(prog->dir);
	free(prog->cause);
	free(prog->job);
	if (prog->slurm_args != NULL)
		courier_value_unref(prog->slurm_args);
	free(prog);
}

/*
 * mkdir that accepts an existing folder; 1 on a full disk, which is not
 * an error: the logs and the record make the folders they need once there
 * is room.
 */
static int
make_dir(const char *path, char **cause)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return (0);
	if (lpd_log_no_space(errno))
		return (1);
	xasprintf(cause, "cannot make %s: %s", path, strerror(errno));
	return (-1);
}

/*
 * Launch program p for user uid: the run owns p once this succeeds; on
 * failure p stays the caller's and *cause says why. A finished program of
 * the same name (the caller's, or any for root) is replaced.
 */
struct lpd_prog *
lpd_prog_launch(struct lpd_daemon *d, struct lpd_program *p, uid_t uid,
    gid_t gid, char *const *env, double grace, const struct lpd_backend *be,
    char **cause)
{
	static const struct lpd_run_cb	 cb = {
		.output = prog_output_cb,
		.event = prog_event_cb,
		.done = prog_done_cb,
	};
	struct lpd_run_opts		 opts;
	struct lpd_slurm_opts		 so;
	struct lpd_prog			*prog, *old;
	struct lpd_prog_node		*pn;
	struct lpd_group		*g;
	char				*gdir;
	size_t				 i, k;
	unsigned			 j;
	int				 full;

	if ((old = lpd_prog_find(d, p->name)) != NULL) {
		if (!lpd_prog_ended(old)) {
			xasprintf(cause, "a program named \"%s\" is already "
			    "running; stop it first (lpctl stop %s) or "
			    "launch this one under another name (--name)",
			    p->name, p->name);
			return (NULL);
		}
		if (uid != 0 && old->uid != uid) {
			xasprintf(cause, "the name \"%s\" is taken by a "
			    "finished program of another user (uid %lu); "
			    "launch under another name (--name)", p->name,
			    (unsigned long)old->uid);
			return (NULL);
		}
	}

	prog = lpd_prog_new(d, p->name);
	prog->file = xstrdup(p->file);
	prog->uid = uid;
	prog->gid = gid;
	prog->state = LPD_PROG_RUNNING;
	if ((full = make_dir(prog->dir, cause)) == -1)
		goto fail;
	prog->nnodes = p->nnodes;
	prog->nodes = xcalloc(p->nnodes, sizeof *prog->nodes);
	for (i = 0, k = 0; i < p->ngroups; i++) {
		g = &p->groups[i];
		xasprintf(&gdir, "%s/%s", prog->dir, g->name);
		if (!full && make_dir(gdir, cause) == -1) {
			free(gdir);
			goto fail;
		}
		for (j = 0; j < g->replicas; j++, k++) {
			pn = &prog->nodes[k];
			xasprintf(&pn->name, "%s/%u", g->name, j);
			pn->group = xstrdup(g->name);
			pn->index = j;
			pn->type = xstrdup(lpd_type_name(g->type));
			pn->state = xstrdup(lpd_node_state_name(
			    LPD_NODE_PENDING));
			pn->status = -1;
			xasprintf(&pn->log, "%s/%u.log", gdir, j);
			pn->logf = lpd_log_open(pn->log, d->log_max,
			    d->log_keep, cause);
			if (pn->logf == NULL) {
				free(gdir);
				goto fail;
			}
			if (lpd_log_error(pn->logf, NULL) != 0)
				prog_logs_broke(prog, pn);
		}
		free(gdir);
	}

	memset(&opts, 0, sizeof opts);
	opts.env = env;
	opts.grace_s = grace;
	opts.runtime_dir = NULL;
	opts.node_nofile = d->has_node_nofile ? &d->node_nofile : NULL;
	/* A root lpd runs a user's program as that user. */
	opts.set_ids = d->uid == 0 && uid != 0;
	opts.uid = uid;
	opts.gid = gid;
	prog->started = lpd_realtime_now();
	/* The first event writes the record; the others mark it dirty. */
	prog->launching = true;
	prog->backend_slurm = be != NULL && be->slurm;
	if (prog->backend_slurm) {
		/* Kept, for lpctl restart PROGRAM to launch it alike. */
		prog->slurm_args = courier_list_new();
		for (i = 0; i < be->nslurm_args; i++)
			courier_list_append(prog->slurm_args,
			    courier_string(be->slurm_args[i]));
		prog->slurm_timeout = be->slurm_timeout;
		memset(&so, 0, sizeof so);
		so.slurm_args = be->slurm_args;
		so.nslurm_args = be->nslurm_args;
		so.timeout_s = be->slurm_timeout;
		so.agent = be->agent;
		so.file_text = be->text;
		so.file_len = be->len;
		so.env = env;
		so.cwd = be->cwd;
		/* The user's word on where the hosts reach us, else ours. */
		for (i = 0; env != NULL && env[i] != NULL; i++) {
			if (strncmp(env[i], "LPD_SLURM_SUBMIT_HOST=", 22) == 0 &&
			    env[i][22] != '\0')
				so.submit_host = env[i] + 22;
		}
		if (so.submit_host == NULL)
			so.submit_host = getenv("LPD_SLURM_SUBMIT_HOST");
		so.run.grace_s = grace;
		so.say = prog_slurm_say;
		prog->slurm = lpd_slurm_start(d->base, p, &so, &cb, prog, cause);
	} else
		prog->run = lpd_run_start(d->base, p, &opts, &cb, prog, cause);
	prog->launching = false;
	if (prog->run == NULL && prog->slurm == NULL)
		goto fail;
	if (old != NULL) {
		TAILQ_REMOVE(&d->progs, old, entry);
		lpd_prog_free(old);
	}
	TAILQ_INSERT_TAIL(&d->progs, prog, entry);
	log_info("%s: launched by uid %lu from %s: %zu node%s", prog->name,
	    (unsigned long)uid, prog->file, prog->nnodes,
	    prog->nnodes == 1 ? "" : "s");
	prog_record_now(prog);
	return (prog);

fail:
	lpd_prog_free(prog);
	return (NULL);
}

/*
 * Stop a program. grace >= 0 replaces its grace period (lpctl stop
 * --grace); kill kills at once.
 */
void
lpd_prog_stop(struct lpd_prog *prog, bool kill, double grace, const char *why)
{
	if (prog->slurm != NULL) {
		if (!kill && grace >= 0)
			lpd_slurm_set_grace(prog->slurm, grace);
		lpd_slurm_stop(prog->slurm, kill, why);
		lpd_prog_changed(prog);
		return;
	}
	if (prog->run == NULL)
		return;
	if (!kill && grace >= 0)
		lpd_run_set_grace(prog->run, grace);
	lpd_run_stop(prog->run, kill, why);
	lpd_prog_changed(prog);
}

/* rm -r of a program's folder: its logs and its record. */
static void
remove_tree(const char *path)
{
	DIR		*dir;
	struct dirent	*de;
	struct stat	 sb;
	char		*child;

	if ((dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			xasprintf(&child, "%s/%s", path, de->d_name);
			if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode))
				remove_tree(child);
			else
				(void)unlink(child);
			free(child);
		}
		closedir(dir);
	}
	(void)rmdir(path);
}

/* Drop an ended program: its record and its logs go. */
void
lpd_prog_forget(struct lpd_prog *prog)
{
	struct lpd_daemon	*d = prog->d;

	if (!lpd_prog_ended(prog))
		return;
	log_info("%s: forgotten", prog->name);
	remove_tree(prog->dir);
	TAILQ_REMOVE(&d->progs, prog, entry);
	lpd_prog_free(prog);
}

/* SIGTERM: stop every program; the loop ends when the last has ended. */
void
lpd_daemon_stop_all(struct lpd_daemon *d)
{
	struct lpd_prog	*prog, *next;
	bool		 again = d->exiting;

	d->exiting = true;
	TAILQ_FOREACH_SAFE(prog, &d->progs, entry, next) {
		if (!lpd_prog_ended(prog))
			lpd_prog_stop(prog, again, -1, again ?
			    "lpd was asked again to stop" :
			    "lpd is shutting down");
	}
	if (lpd_daemon_idle(d))
		event_base_loopexit(d->base, NULL);
}

/* A node as a value for status and the record. */
static courier_value *
pnode_value(const struct lpd_prog_node *pn, double now, bool status)
{
	courier_value	*v;
	char		 how[64];
	bool		 running;

	v = courier_dict_new();
	courier_dict_set(v, "name", courier_string(pn->name));
	courier_dict_set(v, "group", courier_string(pn->group));
	courier_dict_set(v, "index", courier_int(pn->index));
	courier_dict_set(v, "type", courier_string(pn->type));
	courier_dict_set(v, "state", courier_string(pn->state));
	courier_dict_set(v, "pid", pn->pid > 0 ? courier_int(pn->pid) :
	    courier_null());
	courier_dict_set(v, "address", pn->address != NULL ?
	    courier_string(pn->address) : courier_null());
	courier_dict_set(v, "host", pn->host != NULL ?
	    courier_string(pn->host) : courier_null());
	courier_dict_set(v, "restarts", courier_int(pn->restarts));
	courier_dict_set(v, "started", pn->started > 0 ?
	    courier_double(pn->started) : courier_null());
	if (status) {
		running = pn->pid > 0 && pn->started > 0;
		courier_dict_set(v, "uptime", running ?
		    courier_double(now - pn->started) : courier_null());
	}
	if (pn->status == -1) {
		courier_dict_set(v, "exit", courier_null());
		courier_dict_set(v, "exit_status", courier_null());
		courier_dict_set(v, "signal", courier_null());
	} else {
		courier_dict_set(v, "exit", courier_string(
		    lpd_wait_string(pn->status, how, sizeof how)));
		courier_dict_set(v, "exit_status", WIFEXITED(pn->status) ?
		    courier_int(WEXITSTATUS(pn->status)) : courier_null());
		courier_dict_set(v, "signal", WIFSIGNALED(pn->status) ?
		    courier_int(WTERMSIG(pn->status)) : courier_null());
	}
	courier_dict_set(v, "wait_status", courier_int(pn->status));
	courier_dict_set(v, "log", courier_string(pn->log));
	return (v);
}

/* What status says is wrong now: logs or a record lpd cannot write. */
static courier_value *
prog_warnings(const struct lpd_prog *prog)
{
	courier_value	*w;
	char		 when[32];

	w = courier_list_new();
	if (prog->logs_broken != 0) {
		when_string(prog->logs_since, when, sizeof when);
		courier_list_append(w, courier_stringf("logs: not written "
		    "since %s: %s; %llu line%s lost", when,
		    strerror(prog->logs_error),
		    (unsigned long long)prog->logs_lost,
		    prog->logs_lost == 1 ? "" : "s"));
	}
	if (prog->record_error != 0) {
		when_string(prog->record_since, when, sizeof when);
		courier_list_append(w, courier_stringf("record: not written "
		    "since %s: %s", when, strerror(prog->record_error)));
	}
	return (w);
}

/*
 * A program as a value: what lpctl status --json prints (status true,
 * with uptimes) and what the record holds (status false).
 */
courier_value *
lpd_prog_value(struct lpd_prog *prog, bool status)
{
	courier_value	*v, *nodes;
	double		 now = lpd_realtime_now();
	size_t		 i;

	lpd_prog_sync(prog);
	v = courier_dict_new();
	courier_dict_set(v, "name", courier_string(prog->name));
	courier_dict_set(v, "file", courier_string(prog->file != NULL ?
	    prog->file : ""));
	courier_dict_set(v, "uid", courier_int(prog->uid));
	courier_dict_set(v, "gid", courier_int(prog->gid));
	courier_dict_set(v, "state", courier_string(
	    lpd_prog_state_name(prog->state)));
	courier_dict_set(v, "status", prog->status >= 0 ?
	    courier_int(prog->status) : courier_null());
	courier_dict_set(v, "cause", prog->cause != NULL ?
	    courier_string(prog->cause) : courier_null());
	courier_dict_set(v, "backend", courier_string(prog->backend_slurm ?
	    "slurm" : "local"));
	courier_dict_set(v, "job", prog->job != NULL ?
	    courier_string(prog->job) : courier_null());
	courier_dict_set(v, "slurm_args", prog->slurm_args != NULL ?
	    courier_value_ref(prog->slurm_args) : courier_null());
	courier_dict_set(v, "slurm_timeout", prog->slurm_timeout > 0 ?
	    courier_double(prog->slurm_timeout) : courier_null());
	courier_dict_set(v, "started", courier_double(prog->started));
	courier_dict_set(v, "ended", prog->ended > 0 ?
	    courier_double(prog->ended) : courier_null());
	if (status) {
		courier_dict_set(v, "uptime", courier_double((prog->ended > 0 ?
		    prog->ended : now) - prog->started));
		courier_dict_set(v, "warnings", prog_warnings(prog));
	}
	nodes = courier_list_new();
	for (i = 0; i < prog->nnodes; i++)
		courier_list_append(nodes, pnode_value(&prog->nodes[i], now,
		    status));
	courier_dict_set(v, "nodes", nodes);
	return (v);
}

/*
 * Read every record in the state folder. Programs that were running when
 * an earlier lpd died are recovered: what is left of them is killed, and
 * they are marked lost.
 */
int
lpd_daemon_load(struct lpd_daemon *d)
{
	DIR		*dir;
	struct dirent	*de;
	struct lpd_prog	*prog;
	char		*cause = NULL;
	unsigned	 killed;

	if ((dir = opendir(d->state_dir)) == NULL) {
		log_warn("cannot read the records in %s: %s", d->state_dir,
		    strerror(errno));
		return (-1);
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || !lpd_program_name_valid(de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		prog = lpd_prog_new(d, de->d_name);
		if (lpd_record_read(prog, d->state_dir, &cause) != 0) {
			if (cause != NULL)
				log_warn("record: %s", cause);
			free(cause);
			cause = NULL;
			lpd_prog_free(prog);
			continue;
		}
		if (prog->state == LPD_PROG_RUNNING ||
		    prog->state == LPD_PROG_STOPPING) {
			killed = lpd_record_recover(prog);
			log_info("%s: was running when lpd died: marked lost, "
			    "%u process%s left killed", prog->name, killed,
			    killed == 1 ? "" : "es");
			prog_record_now(prog);
		}
		TAILQ_INSERT_TAIL(&d->progs, prog, entry);
	}
	closedir(dir);
	return (0);
}

/*
 * lpd exits: one last try at the records that could not be written, and
 * a word about those that still cannot.
 */
void
lpd_daemon_flush(struct lpd_daemon *d)
{
	struct lpd_prog	*prog;

	TAILQ_FOREACH(prog, &d->progs, entry) {
		if (prog->record_error == 0)
			continue;
		prog_record_now(prog);
		if (prog->record_error != 0)
			log_warn("%s: record: still not written; the next lpd "
			    "shows the program as it was last recorded",
			    prog->name);
	}
}
