/*
 * submit.c: the submit side of a Slurm job (slurm.h): srun, the job's
 * phases and its end, and the embedder's calls. rendezvous.c serves the
 * agents and drives the mirror run; submit.h is what the two share.
 *
 * The life of a job, in phases:
 *   SUBMIT	srun runs; it waits for its allocation, then starts one task
 *		per CPU. The first task on each host is our agent: it joins.
 *		Bounded by the timeout: then srun is stopped and the job
 *		cancelled.
 *   BIND	every host joined; nodes are placed and each agent binds its
 *		courier nodes' sockets and says where.
 *   RUN	every address is known: the mirror run starts (the agents
 *		start the nodes themselves as they learn the addresses), and
 *		goes on as the agents report.
 *   END	the mirror is done: every agent is told to exit, and srun,
 *		once its tasks are gone, ends, and with it the job.
 *
 * The mirror is a run of the supervisor core whose nodes start through
 * ops (lpd_node_ops): starting one, after the first start, and signalling
 * one become commands to the agent of its host, gathered per turn of the
 * loop and sent as the answer to that agent's watch. So the restart
 * policy, fail-fast, the stop and its grace period are the core's, here,
 * and the agents carry them out.
 *
 * srun runs in a process group of its own (a Ctrl+C at the terminal is
 * ours to handle, and srun's own handling of it would kill the job at
 * once) and gets SIGTERM if we die, which it passes to the tasks.
 */
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "submit.h"

/* A message of ours to the embedder. */
void
sj_say(struct lpd_slurm *s, bool alert, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (s->say == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	s->say(s->arg, alert, msg);
	free(msg);
}

/* srun's last lines, one string ("" if none; caller frees). */
static char *
srun_said(struct lpd_slurm *s)
{
	struct sbuf_lite {
		char	*s;
		size_t	 len;
	} b = { NULL, 0 };
	unsigned	 i, first;
	size_t		 n;

	first = s->nlines > SRUN_LINES ? s->nlines - SRUN_LINES : 0;
	for (i = first; i < s->nlines; i++) {
		n = strlen(s->lines[i % SRUN_LINES]);
		b.s = xrealloc(b.s, b.len + n + 3);
		if (b.len != 0) {
			memcpy(b.s + b.len, "; ", 2);
			b.len += 2;
		}
		memcpy(b.s + b.len, s->lines[i % SRUN_LINES], n);
		b.len += n;
	}
	if (b.s == NULL)
		return (xstrdup(""));
	b.s[b.len] = '\0';
	return (b.s);
}

/* ------------------------------------------------------------------ */
/* srun                                                                */
/* ------------------------------------------------------------------ */

/* Learn the job's id from srun's "job 12 queued ..." or "... 12 has". */
static void
srun_line_job(struct lpd_slurm *s, const char *line)
{
	const char	*p;
	size_t		 n;

	if (s->job != NULL)
		return;
	if ((p = strstr(line, "job ")) == NULL &&
	    (p = strstr(line, "allocation ")) == NULL)
		return;
	p = strchr(p, ' ') + 1;
	n = strspn(p, "0123456789");
	if (n != 0 && n < 32 && (p[n] == ' ' || p[n] == '\0'))
		s->job = xstrndup(p, n);
}

/* One line of srun's (or an agent's stderr): ours to show. */
static void
srun_line(struct lpd_slurm *s, const char *line)
{
	free(s->lines[s->nlines % SRUN_LINES]);
	s->lines[s->nlines % SRUN_LINES] = xstrdup(line);
	s->nlines++;
	srun_line_job(s, line);
	sj_say(s, strstr(line, "error") != NULL, "%s", line);
	/*
	 * More than the partition has: Slurm queues the job (the hosts may
	 * come back), where the user wants to hear it now.
	 */
	if (s->phase == PH_SUBMIT && s->cause == NULL &&
	    strstr(line, "configuration not available") != NULL) {
		sj_fail_early(s, LPD_SLURM_REFUSED, "Slurm cannot run the "
		    "job as asked (%s); ask for fewer CPUs, memory or GPUs per "
		    "node, or another partition with --slurm-arg", line);
	}
}

/* Read srun's output once; whether there may be more. */
static bool
srun_read(struct lpd_slurm *s)
{
	char			 buf[4096], *nl, *p;
	ssize_t			 n;
	size_t			 k;

	n = read(s->srun_out, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (false);
	if (n <= 0) {
		if (s->partlen != 0) {
			s->part[s->partlen] = '\0';
			srun_line(s, s->part);
			s->partlen = 0;
		}
		event_del(s->out_ev);
		return (false);
	}
	for (p = buf; p < buf + n; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + n - p));
		k = nl != NULL ? (size_t)(nl - p) : (size_t)(buf + n - p);
		if (k > sizeof s->part - 1 - s->partlen)
			k = sizeof s->part - 1 - s->partlen;
		memcpy(s->part + s->partlen, p, k);
		s->partlen += k;
		if (nl == NULL)
			break;
		s->part[s->partlen] = '\0';
		srun_line(s, s->part);
		s->partlen = 0;
	}
	return (true);
}

static void
srun_out_cb(evutil_socket_t fd, short what, void *arg)
{
	srun_read(arg);
}

/* Cancel the job through scancel, waiting for it (an error path). */
void
sj_scancel(struct lpd_slurm *s)
{
	char	*argv[] = { (char *)"scancel", s->job, NULL };
	pid_t	 pid;

	if (s->job == NULL)
		return;
	if (posix_spawnp(&pid, "scancel", NULL, NULL, argv, environ) == 0)
		(void)waitpid(pid, NULL, 0);
}

/* srun ended: the job is gone. */
static void
srun_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_slurm	*s = arg;
	char			 how[64], *said, *why;
	size_t			 i;
	int			 status;

	if (waitpid(s->srun, &status, WNOHANG) <= 0)
		return;
	s->srun = 0;
	s->srun_status = status;
	event_del(s->srun_ev);
	/* What it still had to say (bounded: a helper of its may hold the
	 * pipe open). */
	for (i = 0; i < 64 && srun_read(s); i++)
		continue;
	lpd_wait_string(status, how, sizeof how);

	switch (s->phase) {
	case PH_SUBMIT:
	case PH_BIND:
		said = srun_said(s);
		if (s->stop_asked) {
			s->status = LPD_STATUS_OK;
			sj_finish(s);
		} else if (s->timed_out) {
			sj_fail_early(s, LPD_SLURM_REFUSED, "Slurm gave no "
			    "allocation within %g s%s%s%s; ask for less, or "
			    "wait longer with --slurm-timeout", s->timeout_s,
			    s->job != NULL ? " (job " : "",
			    s->job != NULL ? s->job : "",
			    s->job != NULL ? " cancelled)" : "");
		} else if (s->njoined == 0) {
			sj_fail_early(s, LPD_SLURM_REFUSED, "Slurm refused "
			    "the job: srun %s%s%s", how, *said != '\0' ?
			    ": " : "", said);
		} else {
			sj_fail_early(s, LPD_STATUS_FAILED, "the job ended "
			    "before its nodes started: srun %s%s%s", how,
			    *said != '\0' ? ": " : "", said);
		}
		free(said);
		break;
	case PH_RUN:
		/* The agents are gone; so are their nodes. */
		xasprintf(&why, "the Slurm job ended (srun %s)", how);
		lpd_run_fail(s->run, why);
		for (i = 0; i < s->pv->nnodes; i++) {
			if (!s->live[i])
				continue;
			s->live[i] = false;
			lpd_run_node_exited(s->run, lpd_run_node(s->run, i),
			    W_EXITCODE(0, SIGKILL), "its host's agent is gone");
		}
		free(why);
		break;
	case PH_END:
		sj_finish(s);
		break;
	case PH_DONE:
		break;
	}
}

/* Whether srun can be run: on PATH, or a path given. */
static bool
srun_found(const char *srun)
{
	const char	*path, *p, *end;
	char		 buf[PATH_MAX];

	if (strchr(srun, '/') != NULL)
		return (access(srun, X_OK) == 0);
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		if (snprintf(buf, sizeof buf, "%.*s/%s", (int)(end - p), p,
		    srun) < (int)sizeof buf && access(buf, X_OK) == 0)
			return (true);
		if (*end == '\0')
			return (false);
	}
}

/* Start srun with the job's tasks; 0, or -1 with *cause. */
static int
srun_start(struct lpd_slurm *s, const struct lpd_slurm_opts *o,
    const char *connect, char **cause)
{
	static const struct timeval poll_tv = { 0, 50 * 1000 };
	char *const	*env = o->env != NULL ? o->env : environ;
	const char	*srun = o->srun != NULL ? o->srun : "srun";
	char		**argv, **req, **envp, *e;
	size_t		 nreq, n = 0, i, k;
	int		 pfd[2], devnull;
	pid_t		 pid;

	if (!srun_found(srun)) {
		xasprintf(cause, "no %s: the Slurm backend needs Slurm's "
		    "commands on PATH (Debian's slurm-client)", srun);
		return (-1);
	}
	req = lpd_slurm_request(s->pv, &nreq);
	argv = xcalloc(nreq + o->nslurm_args + 8, sizeof *argv);
	argv[n++] = xstrdup(srun);
	xasprintf(&argv[n++], "--job-name=%s", s->pv->name);
	for (i = 0; i < nreq; i++)
		argv[n++] = req[i];
	free(req);
	/* An agent that fails ends the job's step, and with it the others. */
	argv[n++] = xstrdup("--kill-on-bad-exit=1");
	for (i = 0; i < o->nslurm_args; i++)
		argv[n++] = xstrdup(o->slurm_args[i]);
	argv[n++] = xstrdup(o->agent);
	argv[n++] = xstrdup("agent");

	for (k = 0; env[k] != NULL; k++)
		continue;
	envp = xcalloc(k + 3, sizeof *envp);
	for (i = 0, k = 0; env[i] != NULL; i++) {
		e = env[i];
		if (strncmp(e, RV_ENV_CONNECT "=", sizeof RV_ENV_CONNECT) != 0 &&
		    strncmp(e, RV_ENV_TOKEN "=", sizeof RV_ENV_TOKEN) != 0)
			envp[k++] = e;
	}
	xasprintf(&envp[k++], RV_ENV_CONNECT "=%s", connect);
	xasprintf(&envp[k++], RV_ENV_TOKEN "=%s", s->token);
	envp[k] = NULL;

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		pid = -1;
		goto out;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid = fork();
	if (pid == 0) {
		/* Between fork and exec: async-signal-safe calls only. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (devnull != -1)
			dup2(devnull, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execvpe(srun, argv, envp);
		_exit(127);
	}
	if (devnull != -1)
		close(devnull);
	close(pfd[1]);
	if (pid == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		close(pfd[0]);
		goto out;
	}
	setpgid(pid, pid);	/* also here: no race with a signal to it */
	s->srun = pid;
	s->srun_out = pfd[0];
	fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
	s->out_ev = event_new(s->base, pfd[0], EV_READ | EV_PERSIST,
	    srun_out_cb, s);
	event_add(s->out_ev, NULL);
	if ((s->srun_pidfd = pidfd_open(pid, 0)) != -1) {
		s->srun_ev = event_new(s->base, s->srun_pidfd,
		    EV_READ | EV_PERSIST, srun_exit_cb, s);
		event_add(s->srun_ev, NULL);
	} else {
		/* No pidfds (an old kernel, valgrind): ask every 50 ms. */
		s->srun_ev = event_new(s->base, -1, EV_PERSIST, srun_exit_cb,
		    s);
		event_add(s->srun_ev, &poll_tv);
	}
out:
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	free(envp[k - 1]);
	free(envp[k - 2]);
	free(envp);
	return (pid == -1 ? -1 : 0);
}

/* Stop srun (it cancels its job or passes SIGTERM to the tasks). */
static void
srun_stop(struct lpd_slurm *s, int sig)
{
	if (s->srun > 0)
		kill(s->srun, sig);
}

/* ------------------------------------------------------------------ */
/* The end                                                             */
/* ------------------------------------------------------------------ */

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_slurm	*s = arg;

	if (s->cb.done != NULL)
		s->cb.done(s->arg, s->run, s->status);
}

/* The job is gone: tell the embedder, from the loop. */
void
sj_finish(struct lpd_slurm *s)
{
	if (s->phase == PH_DONE)
		return;
	s->phase = PH_DONE;
	evtimer_del(s->timer);
	event_active(s->done_ev, 0, 0);
}

/* The job failed before any node started: stop it, and say why. */
void
sj_fail_early(struct lpd_slurm *s, int status, const char *fmt, ...)
{
	va_list	 ap;

	if (s->cause == NULL) {
		va_start(ap, fmt);
		xvasprintf(&s->cause, fmt, ap);
		va_end(ap);
		s->status = status;
	}
	if (s->srun > 0) {
		srun_stop(s, SIGTERM);
		return;		/* finished once srun is */
	}
	sj_scancel(s);
	sj_finish(s);
}

/* The mirror's output and events are the embedder's. */
void
sj_mirror_output(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct lpd_slurm	*s = arg;

	if (s->cb.output != NULL)
		s->cb.output(s->arg, n, err, line, len);
}

void
sj_mirror_event(void *arg, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct lpd_slurm	*s = arg;

	if (s->cb.event != NULL)
		s->cb.event(s->arg, n, ev, msg);
}

/* The mirror run is done: every agent may exit, and then srun does. */
void
sj_mirror_done(void *arg, struct lpd_run *run, int status)
{
	struct lpd_slurm	*s = arg;
	struct timeval		 tv = { END_WAIT_S, 0 };
	unsigned		 h;

	s->status = status;
	if (s->phase != PH_RUN)
		return;
	s->phase = PH_END;
	for (h = 0; h < s->nhosts; h++) {
		if (s->agents[h].cmds == NULL)
			s->agents[h].cmds = courier_list_new();
		courier_list_append(s->agents[h].cmds,
		    courier_args(courier_int(RV_CMD_EXIT), courier_int(-1)));
	}
	event_active(s->flush_ev, 0, 0);
	if (s->srun == 0) {
		sj_finish(s);
		return;
	}
	evtimer_add(s->timer, &tv);
}

/*
 * The timer: the allocation's timeout while submitting, or srun that
 * does not end after its agents were told to exit.
 */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_slurm	*s = arg;

	switch (s->phase) {
	case PH_SUBMIT:
		if (s->njoined != 0) {
			/* The hosts came; an agent did not. */
			sj_fail_early(s, LPD_STATUS_FAILED, "only %u of the "
			    "job's %u hosts joined within %d s; see the "
			    "agents' messages above", s->njoined, s->nhosts,
			    JOIN_WAIT_S);
			sj_scancel(s);
			break;
		}
		s->timed_out = true;
		srun_stop(s, SIGTERM);
		sj_scancel(s);
		break;
	case PH_END:
		sj_say(s, true, "srun still runs %d s after the program "
		    "ended; killing it and cancelling job %s", END_WAIT_S,
		    s->job != NULL ? s->job : "(unknown)");
		srun_stop(s, SIGKILL);
		sj_scancel(s);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The embedder's calls                                                */
/* ------------------------------------------------------------------ */

/* Start a job; see slurm.h. */
struct lpd_slurm *
lpd_slurm_start(struct event_base *base, struct lpd_program *p,
    const struct lpd_slurm_opts *o, const struct lpd_run_cb *cb, void *arg,
    char **cause)
{
	struct lpd_slurm	*s;
	struct timeval		 tv;
	uint8_t			 rnd[RV_TOKEN_LEN / 2];
	char *const		*env;
	char			*host, *connect, cwd[PATH_MAX];
	size_t			 i;

	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		xasprintf(cause, "getrandom: %s", strerror(errno));
		return (NULL);
	}
	s = xcalloc(1, sizeof *s);
	for (i = 0; i < sizeof rnd; i++)
		snprintf(s->token + 2 * i, 3, "%02x", rnd[i]);
	s->base = base;
	s->p = p;
	s->pv = p;
	s->arg = arg;
	s->cb = *cb;
	s->say = o->say;
	s->ropts = o->run;
	s->timeout_s = o->timeout_s > 0 ? o->timeout_s :
	    LPD_SLURM_TIMEOUT_DEFAULT;
	s->file = xstrdup(p->file);
	s->text = xmalloc(o->file_len + 1);
	memcpy(s->text, o->file_text, o->file_len);
	s->len = o->file_len;
	s->srun_out = -1;
	s->srun_pidfd = -1;
	env = o->env != NULL ? o->env : environ;
	for (i = 0; env[i] != NULL; i++) {
		if (strncmp(env[i], "PATH=", 5) == 0)
			s->path = xstrdup(env[i] + 5);
	}
	if (s->path == NULL)
		s->path = xstrdup("/usr/local/bin:/usr/bin:/bin");
	if (o->cwd != NULL)
		s->cwd = xstrdup(o->cwd);
	else if (getcwd(cwd, sizeof cwd) != NULL)
		s->cwd = xstrdup(cwd);
	else
		s->cwd = xstrdup("/");
	s->nnodes = p->nnodes;
	s->placed = xcalloc(p->nnodes, sizeof *s->placed);
	s->addresses = xcalloc(p->nnodes, sizeof *s->addresses);
	s->why = xcalloc(p->nnodes, sizeof *s->why);
	s->live = xcalloc(p->nnodes, sizeof *s->live);
	s->timer = evtimer_new(base, timer_cb, s);
	s->flush_ev = event_new(base, -1, 0, rv_flush_cb, s);
	s->done_ev = event_new(base, -1, 0, done_cb, s);
	if (s->timer == NULL || s->flush_ev == NULL || s->done_ev == NULL)
		fatalx("%s: event_new failed", __func__);
	if ((host = rv_submit_host(o->submit_host, cause)) == NULL)
		goto fail;
	connect = rv_listen(s, host, cause);
	free(host);
	if (connect == NULL)
		goto fail;
	if (srun_start(s, o, connect, cause) != 0) {
		free(connect);
		goto fail;
	}
	free(connect);
	tv.tv_sec = (time_t)s->timeout_s;
	tv.tv_usec = (suseconds_t)((s->timeout_s - (double)tv.tv_sec) * 1e6);
	evtimer_add(s->timer, &tv);
	return (s);

fail:
	s->p = NULL;	/* the caller's still */
	lpd_slurm_free(s);
	return (NULL);
}

/* Stop; see slurm.h. */
void
lpd_slurm_stop(struct lpd_slurm *s, bool kill, const char *why)
{
	switch (s->phase) {
	case PH_SUBMIT:
	case PH_BIND:
		/* No node runs yet: the job goes, as if never asked for. */
		s->stop_asked = true;
		srun_stop(s, kill ? SIGKILL : SIGTERM);
		if (kill)
			sj_scancel(s);
		break;
	case PH_RUN:
		lpd_run_stop(s->run, kill, why);
		break;
	case PH_END:
		if (kill) {
			srun_stop(s, SIGKILL);
			sj_scancel(s);
		}
		break;
	case PH_DONE:
		break;
	}
}

void
lpd_slurm_set_grace(struct lpd_slurm *s, double grace_s)
{
	if (s->run != NULL)
		lpd_run_set_grace(s->run, grace_s);
	else
		s->ropts.grace_s = grace_s;
}

int
lpd_slurm_status(const struct lpd_slurm *s)
{
	return (s->cause != NULL ? s->status : s->run != NULL ?
	    lpd_run_status(s->run) : s->status);
}

const char *
lpd_slurm_cause(const struct lpd_slurm *s)
{
	if (s->cause != NULL)
		return (s->cause);
	return (s->run != NULL ? lpd_run_cause(s->run) : NULL);
}

struct lpd_run *
lpd_slurm_run(const struct lpd_slurm *s)
{
	return (s->run);
}

const char *
lpd_slurm_job(const struct lpd_slurm *s)
{
	return (s->job);
}

/* Free; see slurm.h. */
void
lpd_slurm_free(struct lpd_slurm *s)
{
	unsigned	 h, i;
	size_t		 k;

	if (s->srun > 0) {
		kill(s->srun, SIGKILL);
		(void)waitpid(s->srun, NULL, 0);
		sj_scancel(s);
	}
	if (s->srun_ev != NULL)
		event_free(s->srun_ev);
	if (s->out_ev != NULL)
		event_free(s->out_ev);
	if (s->srun_pidfd != -1)
		close(s->srun_pidfd);
	if (s->srun_out != -1)
		close(s->srun_out);
	if (s->run != NULL)
		lpd_run_free(s->run);
	else if (s->p != NULL)
		lpd_program_free(s->p);
	/* Deferred answers left: the server's to drop. */
	if (s->server != NULL)
		courier_server_free(s->server);
	for (h = 0; h < s->nhosts; h++) {
		free(s->agents[h].host);
		free(s->agents[h].addr);
		if (s->agents[h].cmds != NULL)
			courier_value_unref(s->agents[h].cmds);
	}
	free(s->agents);
	if (s->addresses != NULL) {
		for (k = 0; k < s->nnodes; k++) {
			free(s->addresses[k]);
			free(s->why[k]);
		}
	}
	free(s->addresses);
	free(s->why);
	free(s->live);
	free(s->placed);
	for (i = 0; i < SRUN_LINES; i++)
		free(s->lines[i]);
	event_free(s->timer);
	event_free(s->flush_ev);
	event_free(s->done_ev);
	free(s->job);
	free(s->cause);
	free(s->file);
	free(s->text);
	free(s->path);
	free(s->cwd);
	free(s);
}
