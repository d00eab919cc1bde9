/*
 * ctl.c: the control API, courier methods on lpd's Unix socket, so that
 * one protocol carries everything: lpctl is a courier client. Every
 * method takes keyword arguments and answers a dict (README, "The lpd
 * daemon", lists them).
 *
 * Every request is checked against the caller's credentials (SO_PEERCRED):
 * a user sees, stops and calls into only the programs that user launched;
 * root sees all. lpd cannot yet run nodes as another user, so a launch
 * from a user other than lpd's own (or root) is refused: running that
 * user's commands as lpd's user would hand them lpd's privileges.
 *
 * The server runs on lpd's event_base with no worker threads: every
 * handler runs on the loop and must not block. Long requests are deferred:
 * wait and logs -f are long polls (answered when something happens or
 * when their wait_ms is over, and then asked again), and call and methods
 * go through a client per node, kept while the program is known, that
 * runs on lpd's loop too: the node's answer comes back as a future's
 * callback, which answers the request. No thread, no blocking.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "ctl-server.h"
#include "logfile.h"

#define WAIT_MS_DEFAULT		30000
#define WAIT_MS_MAX		300000
#define CALL_MS_DEFAULT		30000
#define CALLS_MAX		1024

static void	 node_clients_free(struct lpd_prog *);
static void	 ctl_prog_changed(struct lpd_prog *, enum lpd_change);
static void	 ctl_prog_gone(struct lpd_prog *);

/* Keyword argument name if it is a string, else NULL. */
static const char *
kw_string(courier_request *req, const char *name)
{
	return (courier_value_string(courier_request_kwarg(req, name), NULL));
}

/* Keyword argument name if it is a number, else def. */
static double
kw_number(courier_request *req, const char *name, double def)
{
	const courier_value	*v = courier_request_kwarg(req, name);

	if (v == NULL || (courier_value_type(v) != COURIER_INT &&
	    courier_value_type(v) != COURIER_DOUBLE))
		return (def);
	return (courier_value_double(v));
}

static bool
kw_bool(courier_request *req, const char *name)
{
	return (courier_value_bool(courier_request_kwarg(req, name)));
}

/* The caller's uid and gid; false (with *err) if unknown. */
static bool
caller(courier_request *req, uid_t *uid, gid_t *gid, courier_error **err)
{
	uint32_t	u, g;

	if (!courier_request_peer(req, &u, &g, NULL)) {
		courier_error_set(err, COURIER_PERMISSION_DENIED, "lpd serves "
		    "only callers on its Unix socket, whose credentials it "
		    "can check");
		return (false);
	}
	*uid = (uid_t)u;
	if (gid != NULL)
		*gid = (gid_t)g;
	return (true);
}

/* The program name names, if the caller may see it; else NULL, *err. */
static struct lpd_prog *
access_prog(struct lpd_daemon *d, courier_request *req, courier_error **err)
{
	struct lpd_prog	*prog;
	const char	*name;
	uid_t		 uid;

	if (!caller(req, &uid, NULL, err))
		return (NULL);
	if ((name = kw_string(req, LPD_CTL_K_PROGRAM)) == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "no program "
		    "name given");
		return (NULL);
	}
	if ((prog = lpd_prog_find(d, name)) == NULL) {
		courier_error_set(err, COURIER_NOT_FOUND, "no program \"%s\"; "
		    "lpctl status lists the programs", name);
		return (NULL);
	}
	if (uid != 0 && prog->uid != uid) {
		courier_error_set(err, COURIER_PERMISSION_DENIED, "program "
		    "\"%s\" was launched by another user (uid %lu); only that "
		    "user or root may see or stop it", name,
		    (unsigned long)prog->uid);
		return (NULL);
	}
	return (prog);
}

/* The node of a program that the request names, or NULL with *err. */
static struct lpd_prog_node *
access_node(struct lpd_prog *prog, courier_request *req, courier_error **err)
{
	const char	*name;
	size_t		 i;

	if ((name = kw_string(req, LPD_CTL_K_NODE)) == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "no node "
		    "name given");
		return (NULL);
	}
	for (i = 0; i < prog->nnodes; i++) {
		if (strcmp(prog->nodes[i].name, name) == 0)
			return (&prog->nodes[i]);
	}
	courier_error_set(err, COURIER_NOT_FOUND, "program \"%s\" has no node "
	    "\"%s\" (nodes are GROUP/INDEX, as in %s); lpctl status %s lists "
	    "them", prog->name, name, prog->nnodes != 0 ?
	    prog->nodes[0].name : "worker/0", prog->name);
	return (NULL);
}

/* hello {version}: the protocol check lpctl makes first. */
static courier_value *
ctl_hello(void *self, courier_request *req, courier_error **err)
{
	courier_value	*v;
	double		 version;
	uid_t		 uid;

	if (!caller(req, &uid, NULL, err))
		return (NULL);
	version = kw_number(req, LPD_CTL_K_VERSION, 0);
	if (version != LPD_CTL_VERSION) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "this lpd "
		    "speaks control protocol %d and lpctl %g; use the lpctl "
		    "that came with this lpd", LPD_CTL_VERSION, version);
		return (NULL);
	}
	v = courier_dict_new();
	courier_dict_set(v, "version", courier_int(LPD_CTL_VERSION));
	courier_dict_set(v, "lpd", courier_string(LPD_VERSION));
	courier_dict_set(v, "pid", courier_int(getpid()));
	courier_dict_set(v, "uid", courier_int(uid));
	return (v);
}

/*
 * A launch's backend {backend, slurm_args, slurm_timeout, agent} into
 * be (be->slurm_args the caller frees); 0, or -1 with *err.
 */
static int
launch_backend(struct lpd_daemon *d, courier_request *req, uid_t uid,
    struct lpd_backend *be, courier_error **err)
{
	const courier_value	*args;
	const char		*backend, *a;
	size_t			 i, n;

	memset(be, 0, sizeof *be);
	backend = kw_string(req, LPD_CTL_K_BACKEND);
	if (backend == NULL || strcmp(backend, "local") == 0)
		return (0);
	if (strcmp(backend, "slurm") != 0) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "backend "
		    "\"%s\": it is \"local\" or \"slurm\"", backend);
		return (-1);
	}
	/* srun runs as lpd: only for lpd's own user. */
	if (uid != d->uid) {
		courier_error_set(err, COURIER_PERMISSION_DENIED, "this lpd "
		    "runs as uid %lu and would submit your Slurm job as that "
		    "user; start an lpd of your own (systemctl --user start "
		    "lpd) or use lpctl run --backend slurm",
		    (unsigned long)d->uid);
		return (-1);
	}
	be->slurm = true;
	be->agent = kw_string(req, LPD_CTL_K_AGENT);
	if (be->agent == NULL || be->agent[0] != '/') {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "a Slurm "
		    "launch needs agent, the absolute path of lpctl");
		return (-1);
	}
	be->slurm_timeout = kw_number(req, LPD_CTL_K_SLURM_TIMEOUT, 0);
	if (be->slurm_timeout < 0 || be->slurm_timeout > 86400) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "slurm_timeout: seconds from 0 to 86400");
		return (-1);
	}
	args = courier_request_kwarg(req, LPD_CTL_K_SLURM_ARGS);
	n = courier_list_len(args);
	be->slurm_args = xcalloc(n + 1, sizeof *be->slurm_args);
	for (i = 0; i < n; i++) {
		if ((a = courier_value_string(courier_list_get(args, i),
		    NULL)) == NULL) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "slurm_args[%zu] is not a string", i);
			free(be->slurm_args);
			be->slurm_args = NULL;
			return (-1);
		}
		be->slurm_args[i] = (char *)(uintptr_t)a;
	}
	be->nslurm_args = n;
	return (0);
}

/*
 * launch {file, text, name, env, cwd, grace, backend, slurm_args,
 * slurm_timeout, agent}: file is the program file's absolute path and
 * text its content as lpctl read it; env (a list of "K=V") and cwd are
 * the user's.
 */
static courier_value *
ctl_launch(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_program	*p;
	struct lpd_prog		*prog, *old;
	const courier_value	*text_v, *env_v;
	const char		*file, *name, *cwd, *text, *pathenv = NULL, *e;
	char			**env = NULL, *cause = NULL;
	struct lpd_backend	 be;
	courier_value		*v;
	size_t			 len = 0, i, n;
	uid_t			 uid;
	gid_t			 gid;

	if (!caller(req, &uid, &gid, err))
		return (NULL);
	if (d->exiting) {
		courier_error_set(err, COURIER_UNAVAILABLE, "lpd is shutting "
		    "down and launches nothing");
		return (NULL);
	}
	/*
	 * A root lpd runs each user's nodes as that user. Any other lpd
	 * can only run them as itself, which is no one else's to ask for.
	 */
	if (d->uid != 0 && uid != d->uid && uid != 0) {
		courier_error_set(err, COURIER_PERMISSION_DENIED, "this lpd "
		    "runs as uid %lu and you are uid %lu: it would run your "
		    "nodes as uid %lu, so it refuses; start an lpd of your own "
		    "(lpd, or systemctl --user start lpd) and point lpctl at "
		    "it with --socket or LPD_SOCKET", (unsigned long)d->uid,
		    (unsigned long)uid, (unsigned long)d->uid);
		return (NULL);
	}
	file = kw_string(req, LPD_CTL_K_FILE);
	name = kw_string(req, LPD_CTL_K_NAME);
	cwd = kw_string(req, LPD_CTL_K_CWD);
	text_v = courier_request_kwarg(req, LPD_CTL_K_TEXT);
	if (file == NULL || file[0] != '/' || text_v == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "launch needs "
		    "file (an absolute path) and text");
		return (NULL);
	}
	if (courier_value_type(text_v) == COURIER_BYTES)
		text = courier_value_bytes(text_v, &len);
	else if ((text = courier_value_string(text_v, &len)) == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "launch: text "
		    "must be bytes or a string");
		return (NULL);
	}
	env_v = courier_request_kwarg(req, LPD_CTL_K_ENV);
	n = courier_list_len(env_v);
	env = xcalloc(n + 1, sizeof *env);
	for (i = 0; i < n; i++) {
		e = courier_value_string(courier_list_get(env_v, i), NULL);
		if (e == NULL || strchr(e, '=') == NULL)
			continue;
		env[i] = (char *)(uintptr_t)e;
		if (strncmp(e, "PATH=", 5) == 0)
			pathenv = e + 5;
	}
	/* Holes left by skipped entries end the array early: close them. */
	for (i = 0, n = 0; i < courier_list_len(env_v); i++) {
		if (env[i] != NULL)
			env[n++] = env[i];
	}
	env[n] = NULL;

	p = lpd_program_load_text(file, text != NULL ? text : "", len, name,
	    pathenv != NULL ? pathenv : "/usr/local/bin:/usr/bin:/bin", cwd,
	    &cause);
	if (p == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "%s", cause);
		goto fail;
	}
	if ((old = lpd_prog_find(d, p->name)) != NULL) {
		if (!lpd_prog_ended(old)) {
			courier_error_set(err, COURIER_ALREADY_EXISTS, "a "
			    "program named \"%s\" is already running; stop it "
			    "first (lpctl stop %s) or launch this one under "
			    "another name (--name NAME)", p->name, p->name);
			goto fail;
		}
		if (uid != 0 && old->uid != uid) {
			courier_error_set(err, COURIER_ALREADY_EXISTS, "the "
			    "name \"%s\" is taken by a finished program of "
			    "another user; launch under another name (--name "
			    "NAME)", p->name);
			goto fail;
		}
	}
	if (launch_backend(d, req, uid, &be, err) != 0)
		goto fail;
	be.cwd = cwd;
	be.text = text;
	be.len = len;
	prog = lpd_prog_launch(d, p, uid, gid, env,
	    kw_number(req, LPD_CTL_K_GRACE, -1), &be, &cause);
	free(be.slurm_args);
	if (prog == NULL) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "%s; "
		    "nothing was started", cause);
		goto fail;
	}
	free(env);
	v = courier_dict_new();
	courier_dict_set(v, "program", courier_string(prog->name));
	courier_dict_set(v, "nodes", courier_int((int64_t)prog->nnodes));
	return (v);

fail:
	if (p != NULL)
		lpd_program_free(p);
	free(cause);
	free(env);
	return (NULL);
}

/* stop {program, kill, grace}. */
static courier_value *
ctl_stop(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_prog		*prog;
	courier_value		*v;
	uid_t			 uid = 0;
	char			*why;

	if ((prog = access_prog(d, req, err)) == NULL)
		return (NULL);
	(void)caller(req, &uid, NULL, err);
	if (!lpd_prog_ended(prog)) {
		xasprintf(&why, "lpctl stop%s by uid %lu",
		    kw_bool(req, LPD_CTL_K_KILL) ? " --kill" : "",
		    (unsigned long)uid);
		lpd_prog_stop(prog, kw_bool(req, LPD_CTL_K_KILL),
		    kw_number(req, LPD_CTL_K_GRACE, -1), why);
		free(why);
	}
	v = courier_dict_new();
	courier_dict_set(v, "program", courier_string(prog->name));
	courier_dict_set(v, "state", courier_string(
	    lpd_prog_state_name(prog->state)));
	return (v);
}

/*
 * restart {program, node}: stop one node of a running program (SIGTERM,
 * SIGKILL after the grace period) and start it again, whatever its
 * group's restart policy.
 */
static courier_value *
ctl_restart(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_prog		*prog;
	struct lpd_prog_node	*pn;
	struct lpd_node		*n;
	courier_value		*v;
	uid_t			 uid = 0;
	char			*why, *cause = NULL;
	int			 r;

	if ((prog = access_prog(d, req, err)) == NULL)
		return (NULL);
	if ((pn = access_node(prog, req, err)) == NULL)
		return (NULL);
	lpd_prog_sync(prog);
	if (prog->run == NULL && !lpd_prog_ended(prog)) {
		courier_error_set(err, COURIER_UNAVAILABLE, "program \"%s\" "
		    "waits for its Slurm job; try again once its nodes start",
		    prog->name);
		return (NULL);
	}
	if (prog->run == NULL || (n = lpd_run_find(prog->run,
	    pn->name)) == NULL) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "program "
		    "\"%s\" has ended; lpctl restart %s launches it again",
		    prog->name, prog->name);
		return (NULL);
	}
	(void)caller(req, &uid, NULL, err);
	xasprintf(&why, "lpctl restart by uid %lu", (unsigned long)uid);
	r = lpd_run_restart_node(prog->run, n, why, &cause);
	free(why);
	if (r != 0) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "%s",
		    cause);
		free(cause);
		return (NULL);
	}
	v = courier_dict_new();
	courier_dict_set(v, "program", courier_string(prog->name));
	courier_dict_set(v, "node", courier_string(pn->name));
	return (v);
}

/* status {program}: every program the caller may see, or one. */
static courier_value *
ctl_status(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_prog		*prog;
	courier_value		*v, *list;
	uid_t			 uid;

	if (!caller(req, &uid, NULL, err))
		return (NULL);
	list = courier_list_new();
	if (kw_string(req, LPD_CTL_K_PROGRAM) != NULL) {
		if ((prog = access_prog(d, req, err)) == NULL) {
			courier_value_unref(list);
			return (NULL);
		}
		courier_list_append(list, lpd_prog_value(prog, true));
	} else {
		TAILQ_FOREACH(prog, &d->progs, entry) {
			if (uid == 0 || prog->uid == uid)
				courier_list_append(list,
				    lpd_prog_value(prog, true));
		}
	}
	v = courier_dict_new();
	courier_dict_set(v, "version", courier_int(LPD_CTL_VERSION));
	courier_dict_set(v, "programs", list);
	return (v);
}

/* What wait answers. */
static courier_value *
wait_value(struct lpd_prog *prog)
{
	courier_value	*v;
	bool		 done = lpd_prog_ended(prog);

	v = courier_dict_new();
	courier_dict_set(v, "program", courier_string(prog->name));
	courier_dict_set(v, "done", courier_bool(done));
	courier_dict_set(v, "state", courier_string(
	    lpd_prog_state_name(prog->state)));
	courier_dict_set(v, "status", done && prog->status >= 0 ?
	    courier_int(prog->status) : courier_null());
	courier_dict_set(v, "cause", prog->cause != NULL ?
	    courier_string(prog->cause) : courier_null());
	courier_dict_set(v, "ready", courier_int((int64_t)lpd_prog_nready(
	    prog)));
	courier_dict_set(v, "nodes", courier_int((int64_t)prog->nnodes));
	return (v);
}

/*
 * What logs answers: for each node asked for, its data and the cursor
 * after it. With no cursors, the last lines (kwarg lines, < 0 all);
 * with cursors (a dict node -> cursor), what came after each.
 */
static courier_value *
logs_value(struct lpd_prog *prog, const courier_value *kwargs, bool *empty)
{
	const courier_value	*cursors, *c, *lines_v;
	const char		*node;
	struct lpd_prog_node	*pn;
	courier_value		*v, *list, *item;
	uint64_t		 base, next;
	size_t			 i, len;
	long			 lines = -1;
	char			*data;
	bool			 stamps;

	node = courier_value_string(courier_dict_get(kwargs, "node"), NULL);
	cursors = courier_dict_get(kwargs, "cursors");
	if (courier_value_type(cursors) != COURIER_DICT)
		cursors = NULL;
	lines_v = courier_dict_get(kwargs, "lines");
	if (courier_value_type(lines_v) == COURIER_INT)
		lines = (long)courier_value_int(lines_v);
	stamps = courier_value_bool(courier_dict_get(kwargs,
	    LPD_CTL_K_TIMESTAMPS));
	*empty = true;
	list = courier_list_new();
	for (i = 0; i < prog->nnodes; i++) {
		pn = &prog->nodes[i];
		if (node != NULL && strcmp(node, pn->name) != 0)
			continue;
		base = pn->logf != NULL ? lpd_log_base(pn->logf) : 0;
		if (cursors == NULL)
			data = lpd_log_tail(pn->log, lines, base, &len, &next);
		else {
			c = courier_dict_get(cursors, pn->name);
			data = lpd_log_since(pn->log, base, c != NULL ?
			    (uint64_t)courier_value_int(c) : 0, &len, &next);
		}
		if (len != 0)
			*empty = false;
		if (!stamps)
			len = lpd_log_unstamp(data, len);
		item = courier_dict_new();
		courier_dict_set(item, "node", courier_string(pn->name));
		courier_dict_set(item, "data", courier_bytes(data, len));
		courier_dict_set(item, "cursor", courier_int((int64_t)next));
		courier_list_append(list, item);
		free(data);
	}
	v = courier_dict_new();
	courier_dict_set(v, "program", courier_string(prog->name));
	courier_dict_set(v, "done", courier_bool(lpd_prog_ended(prog)));
	courier_dict_set(v, "status", lpd_prog_ended(prog) &&
	    prog->status >= 0 ? courier_int(prog->status) : courier_null());
	courier_dict_set(v, "nodes", list);
	return (v);
}

/* Answer a waiter and free it. */
static void
waiter_answer(struct lpd_waiter *w)
{
	struct lpd_prog	*prog = w->prog;
	bool		 empty;

	TAILQ_REMOVE(&prog->waiters, w, entry);
	if (w->logs)
		courier_request_reply(w->req, logs_value(prog, w->args,
		    &empty));
	else
		courier_request_reply(w->req, wait_value(prog));
	event_free(w->timer);
	courier_value_unref(w->args);
	free(w);
}

static void
waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	waiter_answer(arg);
}

/* Defer req until prog changes or wait_ms pass. */
static void
waiter_add(struct lpd_prog *prog, courier_request *req, bool logs,
    bool ready, double wait_ms)
{
	struct lpd_waiter	*w;
	struct timeval		 tv;
	int			 left;

	if (wait_ms <= 0 || wait_ms > WAIT_MS_MAX)
		wait_ms = wait_ms <= 0 ? WAIT_MS_DEFAULT : WAIT_MS_MAX;
	/* Answer before the caller's own deadline does. */
	left = courier_request_time_left(req);
	if (left != COURIER_FOREVER && left - 500 < wait_ms)
		wait_ms = left > 500 ? left - 500 : 0;
	w = xcalloc(1, sizeof *w);
	w->prog = prog;
	w->req = req;
	w->logs = logs;
	w->ready = ready;
	if (logs)
		w->args = courier_value_ref(courier_request_kwargs(req));
	if ((w->timer = evtimer_new(prog->d->base, waiter_timeout_cb,
	    w)) == NULL)
		fatalx("%s: evtimer_new failed", __func__);
	tv.tv_sec = (time_t)(wait_ms / 1000);
	tv.tv_usec = (suseconds_t)((long)wait_ms % 1000 * 1000);
	evtimer_add(w->timer, &tv);
	courier_request_defer(req);
	TAILQ_INSERT_TAIL(&prog->waiters, w, entry);
}

/*
 * Something happened: answer the log followers of output, those waiting
 * for readiness once every node is ready, and all if it ended.
 */
static void
ctl_prog_changed(struct lpd_prog *prog, enum lpd_change what)
{
	struct lpd_waiter	*w, *next;
	int			 all_ready = -1;	/* not counted yet */

	TAILQ_FOREACH_SAFE(w, &prog->waiters, entry, next) {
		if (what == LPD_CHANGE_NODE && w->ready && all_ready == -1)
			all_ready = lpd_prog_nready(prog) == prog->nnodes;
		if (what == LPD_CHANGE_END ||
		    (what == LPD_CHANGE_OUTPUT && w->logs) ||
		    (what == LPD_CHANGE_NODE && w->ready && all_ready == 1))
			waiter_answer(w);
	}
}

/* The program goes away: its waiters and calls in flight are told so. */
static void
ctl_prog_gone(struct lpd_prog *prog)
{
	struct lpd_waiter	*w;

	node_clients_free(prog);
	while ((w = TAILQ_FIRST(&prog->waiters)) != NULL) {
		TAILQ_REMOVE(&prog->waiters, w, entry);
		courier_request_fail(w->req, COURIER_UNAVAILABLE, "program "
		    "\"%s\" is gone from lpd (replaced, forgotten, or lpd is "
		    "shutting down)", prog->name);
		event_free(w->timer);
		courier_value_unref(w->args);
		free(w);
	}
}

/*
 * wait {program, wait_ms, ready}: a long poll for the program's end, and
 * with ready also for the moment every node is ready.
 */
static courier_value *
ctl_wait(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_prog		*prog;
	bool			 ready;

	if ((prog = access_prog(d, req, err)) == NULL)
		return (NULL);
	ready = courier_value_bool(courier_request_kwarg(req,
	    LPD_CTL_K_READY));
	if (lpd_prog_ended(prog) ||
	    (ready && lpd_prog_nready(prog) == prog->nnodes))
		return (wait_value(prog));
	waiter_add(prog, req, false, ready, kw_number(req, LPD_CTL_K_WAIT_MS,
	    0));
	return (NULL);
}

/* logs {program, node, lines, cursors, wait_ms}. */
static courier_value *
ctl_logs(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_prog		*prog;
	courier_value		*v;
	bool			 empty;

	if ((prog = access_prog(d, req, err)) == NULL)
		return (NULL);
	if (kw_string(req, LPD_CTL_K_NODE) != NULL &&
	    access_node(prog, req, err) == NULL)
		return (NULL);
	v = logs_value(prog, courier_request_kwargs(req), &empty);
	if (!empty || lpd_prog_ended(prog) ||
	    courier_request_kwarg(req, LPD_CTL_K_CURSORS) == NULL ||
	    kw_number(req, LPD_CTL_K_WAIT_MS, 0) <= 0)
		return (v);
	courier_value_unref(v);
	waiter_add(prog, req, true, false, kw_number(req, LPD_CTL_K_WAIT_MS,
	    0));
	return (NULL);
}

/* forget {program}: drop an ended program, its record and its logs. */
static courier_value *
ctl_forget(void *self, courier_request *req, courier_error **err)
{
	struct lpd_daemon	*d = self;
	struct lpd_prog		*prog;
	courier_value		*v;

	if ((prog = access_prog(d, req, err)) == NULL)
		return (NULL);
	if (!lpd_prog_ended(prog)) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "program "
		    "\"%s\" is still running; stop it first (lpctl stop %s)",
		    prog->name, prog->name);
		return (NULL);
	}
	v = courier_dict_new();
	courier_dict_set(v, "program", courier_string(prog->name));
	lpd_prog_forget(prog);
	return (v);
}

/* The node's client on lpd's loop, made at first use; NULL, *err. */
static courier_client *
node_client(struct lpd_daemon *d, struct lpd_prog_node *pn, courier_error **err)
{
	char	*cause = NULL;

	if (pn->client != NULL)
		return (pn->client);
	if ((pn->client = courier_client_new(pn->address, &cause)) == NULL) {
		courier_error_set(err, COURIER_INTERNAL, "%s: %s", pn->name,
		    cause);
		free(cause);
		return (NULL);
	}
	if (courier_client_set_base(pn->client, d->base) != 0)
		fatalx("%s: cannot put a new client on the loop", __func__);
	return (pn->client);
}

/* Free the program's node clients: their calls end CANCELLED (loop). */
static void
node_clients_free(struct lpd_prog *prog)
{
	char	*why;
	size_t	 i;

	xasprintf(&why, "program \"%s\" is gone from lpd (replaced, "
	    "forgotten, or lpd is shutting down)", prog->name);
	for (i = 0; i < prog->nnodes; i++) {
		if (prog->nodes[i].client == NULL)
			continue;
		courier_client_cancel(prog->nodes[i].client, why);
		courier_client_free(prog->nodes[i].client);
		prog->nodes[i].client = NULL;
	}
	free(why);
}

/* A call or methods request on its way to a node. */
struct pending {
	struct lpd_daemon	*d;
	courier_request		*req;
	bool			 methods;
};

/* The node answered (or not): that is lpctl's answer (loop). */
static void
pending_done_cb(courier_future *f, void *arg)
{
	struct pending	*p = arg;
	courier_value	*v, *r;
	courier_error	*err = NULL;

	v = courier_future_wait(f, 0, &err);
	r = courier_dict_new();
	if (v != NULL) {
		courier_dict_set(r, "ok", courier_bool(true));
		courier_dict_set(r, p->methods ? "methods" : "result", v);
	} else {
		/* The node's error is the answer, not lpd's failure. */
		courier_dict_set(r, "ok", courier_bool(false));
		courier_dict_set(r, "code", courier_string(courier_code_name(
		    courier_error_code(err))));
		courier_dict_set(r, "message", courier_string(
		    courier_error_message(err)));
		courier_error_free(err);
	}
	courier_request_reply(p->req, r);
	p->d->ncalls--;
	courier_future_free(f);
	free(p);
}

/*
 * Call method (or, NULL, list the methods) on the node the request names,
 * through the node's client on lpd's loop; the answer comes from
 * pending_done_cb.
 */
static courier_value *
node_request(struct lpd_daemon *d, courier_request *req, const char *method,
    courier_error **err)
{
	struct lpd_prog		*prog;
	struct lpd_prog_node	*pn;
	struct pending		*p;
	const courier_value	*args, *kwargs;
	courier_client		*c;
	courier_future		*f;
	double			 timeout;

	if ((prog = access_prog(d, req, err)) == NULL ||
	    (pn = access_node(prog, req, err)) == NULL)
		return (NULL);
	lpd_prog_sync(prog);
	if (prog->run == NULL && !lpd_prog_ended(prog)) {
		courier_error_set(err, COURIER_UNAVAILABLE, "program \"%s\" "
		    "waits for its Slurm job; try again once its nodes start",
		    prog->name);
		return (NULL);
	}
	if (prog->run == NULL) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "program "
		    "\"%s\" has ended (%s)", prog->name,
		    lpd_prog_state_name(prog->state));
		return (NULL);
	}
	if (pn->address == NULL) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "%s is a "
		    "%s node: it serves no methods", pn->name, pn->type);
		return (NULL);
	}
	args = courier_request_kwarg(req, LPD_CTL_K_ARGS);
	kwargs = courier_request_kwarg(req, LPD_CTL_K_KWARGS);
	if (method != NULL && ((args != NULL &&
	    courier_value_type(args) != COURIER_LIST) || (kwargs != NULL &&
	    courier_value_type(kwargs) != COURIER_DICT))) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "call: args "
		    "must be a list and kwargs a dict");
		return (NULL);
	}
	if (d->ncalls >= CALLS_MAX) {
		courier_error_set(err, COURIER_RESOURCE_EXHAUSTED, "%d calls "
		    "are in flight already; try again", CALLS_MAX);
		return (NULL);
	}
	timeout = kw_number(req, LPD_CTL_K_TIMEOUT_MS, CALL_MS_DEFAULT);
	if (timeout <= 0 || timeout > INT32_MAX)
		timeout = CALL_MS_DEFAULT;
	if ((c = node_client(d, pn, err)) == NULL)
		return (NULL);

	p = xcalloc(1, sizeof *p);
	p->d = d;
	p->req = req;
	p->methods = method == NULL;
	courier_request_defer(req);
	d->ncalls++;
	if (method == NULL)
		f = courier_list_methods_async(c, (int)timeout);
	else {
		f = courier_call_async_kw(c, method, args != NULL ?
		    courier_value_ref(args) : courier_list_new(),
		    kwargs != NULL ? courier_value_ref(kwargs) : NULL,
		    (int)timeout);
	}
	courier_future_then(f, pending_done_cb, p);
	return (NULL);
}

/* call {program, node, method, args, kwargs, timeout_ms}. */
static courier_value *
ctl_call(void *self, courier_request *req, courier_error **err)
{
	const char	*method;

	if ((method = kw_string(req, LPD_CTL_K_METHOD)) == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "call: no "
		    "method given");
		return (NULL);
	}
	return (node_request(self, req, method, err));
}

/* methods {program, node, timeout_ms}. */
static courier_value *
ctl_methods(void *self, courier_request *req, courier_error **err)
{
	return (node_request(self, req, NULL, err));
}

/* Serve the control API on fd (listening); the server owns fd. */
int
lpd_ctl_start(struct lpd_daemon *d, int fd, char **cause)
{
	static const struct {
		const char		*name;
		courier_method_fn	 fn;
	} methods[] = {
		{ LPD_CTL_HELLO, ctl_hello },
		{ LPD_CTL_LAUNCH, ctl_launch },
		{ LPD_CTL_STOP, ctl_stop },
		{ LPD_CTL_STATUS, ctl_status },
		{ LPD_CTL_WAIT, ctl_wait },
		{ LPD_CTL_LOGS, ctl_logs },
		{ LPD_CTL_CALL, ctl_call },
		{ LPD_CTL_METHODS, ctl_methods },
		{ LPD_CTL_FORGET, ctl_forget },
		{ LPD_CTL_RESTART, ctl_restart },
	};
	size_t	i;

	d->prog_changed = ctl_prog_changed;
	d->prog_gone = ctl_prog_gone;
	d->server = courier_server_new();
	if (courier_server_set_workers(d->server, 0) != 0 ||
	    courier_server_set_base(d->server, d->base) != 0 ||
	    courier_server_set_max_conns(d->server, d->max_conns,
	    d->max_conns_per_user) != 0)
		fatalx("%s: cannot set up the server", __func__);
	for (i = 0; i < nitems(methods); i++) {
		if (courier_server_add_method(d->server, methods[i].name,
		    methods[i].fn, d, COURIER_METHOD_INLINE, cause) != 0) {
			close(fd);
			return (-1);
		}
	}
	if (courier_server_listen_fd(d->server, fd, cause) != 0 ||
	    courier_server_start(d->server, cause) != 0)
		return (-1);
	return (0);
}

/*
 * Stop serving: calls in flight are cancelled (answered CANCELLED), long
 * polls are told that lpd goes, and the server is freed.
 */
void
lpd_ctl_stop(struct lpd_daemon *d)
{
	struct lpd_prog		*prog;

	if (d->server == NULL)
		return;
	TAILQ_FOREACH(prog, &d->progs, entry)
		ctl_prog_gone(prog);
	d->prog_changed = NULL;
	d->prog_gone = NULL;
	courier_server_free(d->server);
	d->server = NULL;
}
