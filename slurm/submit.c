/*
 * submit.c: the submit side of a Slurm job (slurm.h): srun, the
 * rendezvous service the agents join (rendezvous.h), and the mirror run.
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
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "courier-internal.h"
#include "rendezvous.h"
#include "slurm.h"

extern char **environ;

#define SRUN_LINES	8		/* srun's last lines, for errors */
#define SRUN_LINE_MAX	1024
#define END_WAIT_S	15		/* for srun after the agents exit */
#define JOIN_WAIT_S	60		/* for every host, after the first */

enum phase {
	PH_SUBMIT,
	PH_BIND,
	PH_RUN,
	PH_END,
	PH_DONE,
};

/* One host of the job, as its agent joined. */
struct agent {
	bool			 joined;
	bool			 bound;
	char			*host;		/* SLURMD_NODENAME */
	char			*addr;		/* its NodeAddr */
	unsigned		 slots;
	courier_request		*join_req;	/* deferred answers */
	courier_request		*bound_req;
	courier_request		*watch_req;
	courier_value		*cmds;		/* for the next watch */
};

struct lpd_slurm {
	struct event_base	*base;
	struct lpd_program	*p;		/* ours until the mirror's */
	const struct lpd_program *pv;		/* p, whoever owns it */
	struct lpd_run_cb	 cb;		/* the embedder's */
	void			*arg;
	struct lpd_run_opts	 ropts;
	void			(*say)(void *, bool, const char *);
	double			 timeout_s;

	char			*file;
	char			*text;
	size_t			 len;
	char			*path;		/* PATH, for the commands */
	char			*cwd;
	char			 token[RV_TOKEN_LEN + 1];
	courier_server		*server;

	pid_t			 srun;		/* 0 once reaped */
	int			 srun_pidfd;
	struct event		*srun_ev;
	int			 srun_out;
	struct event		*out_ev;
	char			 part[SRUN_LINE_MAX];
	size_t			 partlen;
	char			*lines[SRUN_LINES];	/* srun's last lines */
	unsigned		 nlines;
	int			 srun_status;
	char			*job;

	enum phase		 phase;
	unsigned		 nhosts;	/* 0 until the first join */
	struct agent		*agents;
	unsigned		 njoined;
	unsigned		 nbound;
	size_t			 nnodes;
	size_t			*placed;	/* host of each node */
	char			**addresses;	/* of each node */
	char			**why;		/* a node's start error */
	bool			*live;		/* started through the ops */
	bool			 initial;	/* inside lpd_run_start */

	struct lpd_run		*run;
	struct event		*timer;		/* the timeout, the end */
	struct event		*flush_ev;
	struct event		*done_ev;
	bool			 stop_asked;
	bool			 timed_out;
	int			 status;
	char			*cause;
};

static void	 job_finish(struct lpd_slurm *);
static void	 job_fail_early(struct lpd_slurm *, int, const char *, ...)
		    COURIER_PRINTF(3, 4);

/* A message of ours to the embedder. */
static void
sayf(struct lpd_slurm *s, bool alert, const char *fmt, ...)
    COURIER_PRINTF(3, 4);
static void
sayf(struct lpd_slurm *s, bool alert, const char *fmt, ...)
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
	sayf(s, strstr(line, "error") != NULL, "%s", line);
	/*
	 * More than the partition has: Slurm queues the job (the hosts may
	 * come back), where the user wants to hear it now.
	 */
	if (s->phase == PH_SUBMIT && s->cause == NULL &&
	    strstr(line, "configuration not available") != NULL) {
		job_fail_early(s, LPD_SLURM_REFUSED, "Slurm cannot run the "
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
static void
job_scancel(struct lpd_slurm *s)
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
			job_finish(s);
		} else if (s->timed_out) {
			job_fail_early(s, LPD_SLURM_REFUSED, "Slurm gave no "
			    "allocation within %g s%s%s%s; ask for less, or "
			    "wait longer with --slurm-timeout", s->timeout_s,
			    s->job != NULL ? " (job " : "",
			    s->job != NULL ? s->job : "",
			    s->job != NULL ? " cancelled)" : "");
		} else if (s->njoined == 0) {
			job_fail_early(s, LPD_SLURM_REFUSED, "Slurm refused "
			    "the job: srun %s%s%s", how, *said != '\0' ?
			    ": " : "", said);
		} else {
			job_fail_early(s, LPD_STATUS_FAILED, "the job ended "
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
		job_finish(s);
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
static void
job_finish(struct lpd_slurm *s)
{
	if (s->phase == PH_DONE)
		return;
	s->phase = PH_DONE;
	evtimer_del(s->timer);
	event_active(s->done_ev, 0, 0);
}

/* The job failed before any node started: stop it, and say why. */
static void
job_fail_early(struct lpd_slurm *s, int status, const char *fmt, ...)
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
	job_scancel(s);
	job_finish(s);
}

/* The mirror's output and events are the embedder's. */
static void
mirror_output_cb(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct lpd_slurm	*s = arg;

	if (s->cb.output != NULL)
		s->cb.output(s->arg, n, err, line, len);
}

static void
mirror_event_cb(void *arg, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct lpd_slurm	*s = arg;

	if (s->cb.event != NULL)
		s->cb.event(s->arg, n, ev, msg);
}

/* The mirror run is done: every agent may exit, and then srun does. */
static void
mirror_done_cb(void *arg, struct lpd_run *run, int status)
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
		job_finish(s);
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
			job_fail_early(s, LPD_STATUS_FAILED, "only %u of the "
			    "job's %u hosts joined within %d s; see the "
			    "agents' messages above", s->njoined, s->nhosts,
			    JOIN_WAIT_S);
			job_scancel(s);
			break;
		}
		s->timed_out = true;
		srun_stop(s, SIGTERM);
		job_scancel(s);
		break;
	case PH_END:
		sayf(s, true, "srun still runs %d s after the program "
		    "ended; killing it and cancelling job %s", END_WAIT_S,
		    s->job != NULL ? s->job : "(unknown)");
		srun_stop(s, SIGKILL);
		job_scancel(s);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* The mirror's ops: commands to the agents                            */
/* ------------------------------------------------------------------ */

/* Queue a command for the agent of node slot. */
static void
cmd_add(struct lpd_slurm *s, size_t slot, int op)
{
	struct agent	*a = &s->agents[s->placed[slot]];

	if (a->cmds == NULL)
		a->cmds = courier_list_new();
	courier_list_append(a->cmds, courier_args(courier_int(op),
	    courier_int((int64_t)slot)));
	event_active(s->flush_ev, 0, 0);
}

/* Answer each agent's watch with the commands gathered this turn. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_slurm	*s = arg;
	struct agent		*a;
	unsigned		 h;

	for (h = 0; h < s->nhosts; h++) {
		a = &s->agents[h];
		if (a->cmds == NULL || a->watch_req == NULL)
			continue;
		courier_request_reply(a->watch_req, a->cmds);
		a->watch_req = NULL;
		a->cmds = NULL;
	}
}

static int
ops_start(void *arg, struct lpd_node *n, const struct lpd_node_start *st,
    char **cause)
{
	struct lpd_slurm	*s = arg;

	if (st->listen_fd != -1)
		close(st->listen_fd);
	n->host = s->agents[s->placed[n->slot]].host;
	s->live[n->slot] = true;
	/* The first start is the agent's own, once it has the addresses. */
	if (!s->initial)
		cmd_add(s, n->slot, RV_CMD_START);
	return (0);
}

static void
ops_signal(void *arg, struct lpd_node *n, int sig)
{
	cmd_add(arg, n->slot, sig == SIGKILL ? RV_CMD_KILL : RV_CMD_TERM);
}

/* ------------------------------------------------------------------ */
/* The rendezvous service                                              */
/* ------------------------------------------------------------------ */

/* A keyword argument of a type; NULL with *err set if missing. */
static const courier_value *
kw(courier_request *req, const char *key, enum courier_type type,
    courier_error **err)
{
	const courier_value	*v = courier_request_kwarg(req, key);

	if (v == NULL || courier_value_type(v) != type) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "%s: no %s %s",
		    courier_request_method(req), courier_type_name(type), key);
		return (NULL);
	}
	return (v);
}

/*
 * Check a call's token; false with *err if it is not the job's. Tokens
 * are compared in full whatever differs, so that the time of a refusal
 * says nothing of the token.
 */
static bool
rv_token(struct lpd_slurm *s, courier_request *req, courier_error **err)
{
	const courier_value	*t;
	const char		*tok;
	size_t			 len, i;
	unsigned char		 diff = 0;

	if ((t = kw(req, "token", COURIER_STRING, err)) == NULL)
		return (false);
	tok = courier_value_string(t, &len);
	if (len != RV_TOKEN_LEN)
		diff = 1;
	else {
		for (i = 0; i < RV_TOKEN_LEN; i++)
			diff |= (unsigned char)(tok[i] ^ s->token[i]);
	}
	if (diff != 0) {
		courier_error_set(err, COURIER_PERMISSION_DENIED,
		    "not an agent of this job: wrong token");
		return (false);
	}
	return (true);
}

/* Check a call's token and agent number; the agent, or NULL with *err. */
static struct agent *
rv_agent(struct lpd_slurm *s, courier_request *req, courier_error **err)
{
	const courier_value	*v;
	int64_t			 id;

	if (!rv_token(s, req, err) ||
	    (v = kw(req, "agent", COURIER_INT, err)) == NULL)
		return (NULL);
	id = courier_value_int(v);
	if (s->nhosts == 0 || id < 0 || id >= s->nhosts ||
	    !s->agents[id].joined) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "no agent %lld joined", (long long)id);
		return (NULL);
	}
	return (&s->agents[id]);
}

/* Every host joined: place the nodes and answer each join. */
static void
rv_place(struct lpd_slurm *s)
{
	struct lpd_slurm_host	*hosts;
	courier_value		*r, *mine;
	char			*cause = NULL, *list = NULL, *old;
	size_t			 i;
	unsigned		 h;

	hosts = xcalloc(s->nhosts, sizeof *hosts);
	for (h = 0; h < s->nhosts; h++) {
		hosts[h].name = s->agents[h].host;
		hosts[h].slots = s->agents[h].slots;
		old = list;
		xasprintf(&list, "%s%s%s (%u CPU%s)", old != NULL ? old : "",
		    old != NULL ? ", " : "", hosts[h].name, hosts[h].slots,
		    hosts[h].slots == 1 ? "" : "s");
		free(old);
	}
	if (lpd_slurm_place(s->pv, hosts, s->nhosts, s->placed,
	    &cause) != 0) {
		for (h = 0; h < s->nhosts; h++) {
			courier_request_fail(s->agents[h].join_req,
			    COURIER_FAILED_PRECONDITION, "%s", cause);
			s->agents[h].join_req = NULL;
		}
		job_fail_early(s, LPD_SLURM_REFUSED, "%s", cause);
		free(cause);
		free(hosts);
		free(list);
		return;
	}
	free(hosts);
	sayf(s, false, "job %s: %u host%s: %s", s->job != NULL ? s->job : "?",
	    s->nhosts, s->nhosts == 1 ? "" : "s", list);
	free(list);
	s->phase = PH_BIND;
	evtimer_del(s->timer);

	for (h = 0; h < s->nhosts; h++) {
		mine = courier_list_new();
		for (i = 0; i < s->pv->nnodes; i++) {
			if (s->placed[i] == h)
				courier_list_append(mine,
				    courier_int((int64_t)i));
		}
		r = courier_dict_new();
		courier_dict_set(r, "program", courier_bytes(s->text, s->len));
		courier_dict_set(r, "file", courier_string(s->file));
		courier_dict_set(r, "name", courier_string(s->pv->name));
		courier_dict_set(r, "path", courier_string(s->path));
		courier_dict_set(r, "cwd", courier_string(s->cwd));
		courier_dict_set(r, "nodes", mine);
		courier_request_reply(s->agents[h].join_req, r);
		s->agents[h].join_req = NULL;
	}
}

/* join(token, host, addr, slots, nodeid, nhosts, job) */
static courier_value *
rv_join(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	const courier_value	*host, *addr, *slots, *id, *nh, *job;
	struct agent		*a;
	struct timeval		 tv;
	int64_t			 i, n;

	if (!rv_token(s, req, err) ||
	    (host = kw(req, "host", COURIER_STRING, err)) == NULL ||
	    (addr = kw(req, "addr", COURIER_STRING, err)) == NULL ||
	    (slots = kw(req, "slots", COURIER_INT, err)) == NULL ||
	    (id = kw(req, "nodeid", COURIER_INT, err)) == NULL ||
	    (nh = kw(req, "nhosts", COURIER_INT, err)) == NULL ||
	    (job = kw(req, "job", COURIER_STRING, err)) == NULL)
		return (NULL);
	if (s->phase != PH_SUBMIT) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION,
		    "the job's hosts have all joined already");
		return (NULL);
	}
	n = courier_value_int(nh);
	i = courier_value_int(id);
	if (n < 1 || n > 100000 || (s->nhosts != 0 && n != s->nhosts) ||
	    i < 0 || i >= n || courier_value_int(slots) < 1 ||
	    courier_value_int(slots) > 1000000) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "join: "
		    "host %lld of %lld, %lld slots: out of range",
		    (long long)i, (long long)n,
		    (long long)courier_value_int(slots));
		return (NULL);
	}
	if (s->nhosts == 0) {
		s->nhosts = (unsigned)n;
		s->agents = xcalloc(s->nhosts, sizeof *s->agents);
	}
	a = &s->agents[i];
	if (a->joined) {
		courier_error_set(err, COURIER_ALREADY_EXISTS, "host %lld "
		    "joined already", (long long)i);
		return (NULL);
	}
	a->joined = true;
	a->host = xstrdup(courier_value_string(host, NULL));
	a->addr = xstrdup(courier_value_string(addr, NULL));
	a->slots = (unsigned)courier_value_int(slots);
	if (s->job == NULL)
		s->job = xstrdup(courier_value_string(job, NULL));
	courier_request_defer(req);
	a->join_req = req;
	if (++s->njoined == s->nhosts)
		rv_place(s);
	else if (s->njoined == 1) {
		/* The allocation came: now a bound for the other hosts. */
		evtimer_del(s->timer);
		tv.tv_sec = JOIN_WAIT_S;
		tv.tv_usec = 0;
		evtimer_add(s->timer, &tv);
	}
	return (NULL);
}

/* Every host bound its nodes' sockets: start the mirror, answer all. */
static void
rv_start(struct lpd_slurm *s)
{
	struct lpd_run_opts	 o = s->ropts;
	struct lpd_node_ops	 ops = { ops_start, ops_signal, s, true };
	struct lpd_run_cb	 mcb = { mirror_output_cb, mirror_event_cb,
				    mirror_done_cb };
	courier_value		*list;
	bool			*local;
	char			*cause = NULL;
	size_t			 i;
	unsigned		 h;

	local = xcalloc(s->pv->nnodes, sizeof *local);
	for (i = 0; i < s->pv->nnodes; i++) {
		local[i] = true;
		if (lpd_type_serves(s->pv->groups[lpd_slurm_slot_group(s->pv,
		    i)].type) && s->addresses[i] == NULL) {
			job_fail_early(s, LPD_STATUS_FAILED, "no address for "
			    "node %zu from its host", i);
			free(local);
			return;
		}
	}
	o.local = local;
	o.addresses = s->addresses;
	o.ops = &ops;
	s->initial = true;
	s->phase = PH_RUN;
	s->run = lpd_run_start(s->base, s->p, &o, &mcb, s, &cause);
	s->initial = false;
	free(local);
	if (s->run == NULL) {
		s->phase = PH_BIND;
		job_fail_early(s, LPD_STATUS_FAILED, "%s", cause);
		free(cause);
		for (h = 0; h < s->nhosts; h++) {
			courier_request_fail(s->agents[h].bound_req,
			    COURIER_ABORTED, "the program cannot start");
			s->agents[h].bound_req = NULL;
		}
		return;
	}
	s->p = NULL;	/* the mirror's now */
	for (h = 0; h < s->nhosts; h++) {
		list = courier_list_new();
		for (i = 0; i < s->pv->nnodes; i++) {
			courier_list_append(list, s->addresses[i] != NULL ?
			    courier_string(s->addresses[i]) : courier_null());
		}
		courier_request_reply(s->agents[h].bound_req, list);
		s->agents[h].bound_req = NULL;
	}
	if (s->stop_asked)
		lpd_run_stop(s->run, false, "the stop was asked for");
}

/* bound(token, agent, addresses: [[slot, address], ...]) */
static courier_value *
rv_bound(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	struct agent		*a;
	const courier_value	*v, *pair, *sv, *av;
	size_t			 i, n, h;
	int64_t			 slot;
	char			*why = NULL;

	if ((a = rv_agent(s, req, err)) == NULL ||
	    (v = kw(req, "addresses", COURIER_LIST, err)) == NULL)
		return (NULL);
	h = (size_t)(a - s->agents);
	if (s->phase != PH_BIND || a->bound) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION,
		    "bound: not now");
		return (NULL);
	}
	n = courier_list_len(v);
	for (i = 0; i < n; i++) {
		pair = courier_list_get(v, i);
		sv = courier_list_get(pair, 0);
		av = courier_list_get(pair, 1);
		if (sv == NULL || av == NULL ||
		    courier_value_type(sv) != COURIER_INT ||
		    courier_value_type(av) != COURIER_STRING) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "bound: addresses[%zu] is not [slot, address]", i);
			return (NULL);
		}
		slot = courier_value_int(sv);
		if (slot < 0 || (size_t)slot >= s->pv->nnodes ||
		    s->placed[slot] != h || s->addresses[slot] != NULL ||
		    !courier_address_valid(courier_value_string(av, NULL),
		    &why)) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "bound: addresses[%zu]: not a node of this host, "
			    "or a bad address%s%s", i, why != NULL ? ": " : "",
			    why != NULL ? why : "");
			free(why);
			return (NULL);
		}
		s->addresses[slot] = xstrdup(courier_value_string(av, NULL));
	}
	a->bound = true;
	courier_request_defer(req);
	a->bound_req = req;
	if (++s->nbound == s->nhosts)
		rv_start(s);
	return (NULL);
}

/* The mirror's node slot, if the agent runs it; else NULL with *err. */
static struct lpd_node *
rv_node(struct lpd_slurm *s, struct agent *a, const courier_value *v,
    courier_error **err)
{
	int64_t	 slot;

	if (v == NULL || courier_value_type(v) != COURIER_INT ||
	    (slot = courier_value_int(v)) < 0 ||
	    (size_t)slot >= s->pv->nnodes ||
	    s->placed[slot] != (size_t)(a - s->agents)) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "report: not a node of this host");
		return (NULL);
	}
	return (lpd_run_node(s->run, (size_t)slot));
}

/* One item of a report. */
static int
rv_item(struct lpd_slurm *s, struct agent *a, const courier_value *it,
    courier_error **err)
{
	const courier_value	*k = courier_list_get(it, 0);
	const courier_value	*x = courier_list_get(it, 2);
	const courier_value	*y = courier_list_get(it, 3);
	struct lpd_node		*n = NULL;
	const char		*text;
	char			*msg;
	size_t			 len;
	int64_t			 kind;

	if (k == NULL || courier_value_type(k) != COURIER_INT) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "report: an item without a kind");
		return (-1);
	}
	kind = courier_value_int(k);
	if (kind != RV_STOP && kind != RV_CANCELLED &&
	    (n = rv_node(s, a, courier_list_get(it, 1), err)) == NULL)
		return (-1);
	switch (kind) {
	case RV_OUT:
		if (y == NULL || courier_value_type(y) != COURIER_BYTES)
			break;
		text = courier_value_bytes(y, &len);
		if (s->live[n->slot])
			lpd_run_node_output(s->run, n,
			    courier_value_bool(x), text, len);
		return (0);
	case RV_STARTED:
		if (x != NULL && courier_value_type(x) == COURIER_INT &&
		    s->live[n->slot])
			n->pid = (pid_t)courier_value_int(x);
		return (0);
	case RV_READY:
		if (s->live[n->slot])
			lpd_run_node_ready(s->run, n);
		return (0);
	case RV_ERROR:
		if (x == NULL || courier_value_type(x) != COURIER_STRING)
			break;
		free(s->why[n->slot]);
		s->why[n->slot] = xstrdup(courier_value_string(x, NULL));
		return (0);
	case RV_EXITED:
		if (x == NULL || courier_value_type(x) != COURIER_INT)
			break;
		if (!s->live[n->slot])
			return (0);
		s->live[n->slot] = false;
		msg = s->why[n->slot];
		s->why[n->slot] = NULL;
		lpd_run_node_exited(s->run, n, (int)courier_value_int(x), msg);
		free(msg);
		return (0);
	case RV_LOST:
		if (x == NULL || courier_value_type(x) != COURIER_INT)
			break;
		xasprintf(&msg, "%lld lines of its output were lost on the "
		    "way from %s", (long long)courier_value_int(x), a->host);
		if (s->cb.event != NULL)
			s->cb.event(s->arg, n, LPD_EV_LOG, msg);
		free(msg);
		return (0);
	case RV_STOP:
	case RV_CANCELLED:
		x = courier_list_get(it, 1);
		if (x == NULL || courier_value_type(x) != COURIER_STRING)
			break;
		if (kind == RV_STOP) {
			lpd_run_stop_requested(s->run, NULL);
			lpd_run_stop(s->run, false, courier_value_string(x,
			    NULL));
		} else
			lpd_run_fail(s->run, courier_value_string(x, NULL));
		return (0);
	}
	courier_error_set(err, COURIER_INVALID_ARGUMENT,
	    "report: a malformed item of kind %lld", (long long)kind);
	return (-1);
}

/* report(token, agent, items) */
static courier_value *
rv_report(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	struct agent		*a;
	const courier_value	*v;
	size_t			 i, n;

	if ((a = rv_agent(s, req, err)) == NULL ||
	    (v = kw(req, "items", COURIER_LIST, err)) == NULL)
		return (NULL);
	if (s->run == NULL || lpd_run_done(s->run))
		return (NULL);	/* late: nothing to tell any more */
	n = courier_list_len(v);
	for (i = 0; i < n; i++) {
		if (rv_item(s, a, courier_list_get(v, i), err) != 0)
			return (NULL);
		if (lpd_run_done(s->run))
			break;
	}
	return (NULL);
}

/* watch(token, agent): answered with commands, when there are some. */
static courier_value *
rv_watch(void *self, courier_request *req, courier_error **err)
{
	struct lpd_slurm	*s = self;
	struct agent		*a;

	if ((a = rv_agent(s, req, err)) == NULL)
		return (NULL);
	if (a->watch_req != NULL) {
		courier_error_set(err, COURIER_ALREADY_EXISTS,
		    "watch: one at a time");
		return (NULL);
	}
	courier_request_defer(req);
	a->watch_req = req;
	if (a->cmds != NULL)
		event_active(s->flush_ev, 0, 0);
	return (NULL);
}

/* The address agents reach us at: the host's, or as given. */
static char *
submit_host(const char *given, char **cause)
{
	struct addrinfo	 hints, *res = NULL;
	char		 name[256], buf[INET6_ADDRSTRLEN];
	const char	*h = given;
	int		 r;

	if (h == NULL) {
		if (gethostname(name, sizeof name) != 0)
			snprintf(name, sizeof name, "localhost");
		name[sizeof name - 1] = '\0';
		h = name;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(h, NULL, &hints, &res)) != 0 || res == NULL) {
		xasprintf(cause, "cannot find the address of %s: %s; give the "
		    "address the hosts reach this one at with "
		    "LPD_SLURM_SUBMIT_HOST", h, gai_strerror(r));
		return (NULL);
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
	    buf, sizeof buf);
	freeaddrinfo(res);
	return (xstrdup(buf));
}

/* The rendezvous server, on our loop; its address, or NULL. */
static char *
rv_listen(struct lpd_slurm *s, const char *host, char **cause)
{
	courier_server	*srv;
	char		*addr, *why = NULL;

	xasprintf(&addr, "tcp:%s:0", host);
	srv = courier_server_new();
	if (courier_server_set_base(srv, s->base) != 0 ||
	    courier_server_set_workers(srv, 0) != 0 ||
	    courier_server_set_max_frame(srv, 64 * 1024 * 1024) != 0 ||
	    courier_server_add_method(srv, RV_JOIN, rv_join, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_add_method(srv, RV_BOUND, rv_bound, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_add_method(srv, RV_REPORT, rv_report, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_add_method(srv, RV_WATCH, rv_watch, s,
	    COURIER_METHOD_INLINE, &why) != 0 ||
	    courier_server_listen(srv, addr, &why) != 0 ||
	    courier_server_start(srv, &why) != 0) {
		xasprintf(cause, "cannot serve the hosts' agents on %s: %s",
		    addr, why != NULL ? why : "unknown error");
		free(why);
		free(addr);
		courier_server_free(srv);
		return (NULL);
	}
	free(addr);
	s->server = srv;
	return (xstrdup(courier_server_address(srv)));
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
	s->flush_ev = event_new(base, -1, 0, flush_cb, s);
	s->done_ev = event_new(base, -1, 0, done_cb, s);
	if (s->timer == NULL || s->flush_ev == NULL || s->done_ev == NULL)
		fatalx("%s: event_new failed", __func__);
	if ((host = submit_host(o->submit_host, cause)) == NULL)
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
			job_scancel(s);
		break;
	case PH_RUN:
		lpd_run_stop(s->run, kill, why);
		break;
	case PH_END:
		if (kill) {
			srun_stop(s, SIGKILL);
			job_scancel(s);
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
		job_scancel(s);
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
