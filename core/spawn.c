/*
 * spawn.c: a node's process. Everything the child needs is prepared
 * before it starts; the child then makes only async-signal-safe calls (a
 * session of its own, signals reset, its fds, its ids, PDEATHSIG with the
 * getppid re-check, chdir, exec) and reports a failure over a pipe. The
 * parent reaps it through a pidfd (or polls it where there is none) and
 * never calls waitpid(-1): the core shares its process with others.
 *
 * The child is started as posix_spawn starts one: clone(2) with CLONE_VM
 * and CLONE_VFORK, on a stack of its own, so that no page table is copied
 * (fork of a supervisor of 1000 nodes took 0.23 ms a node). It shares our
 * memory until it execs, and this thread waits until then: it writes
 * nothing of ours, and changes its ids with raw system calls, since
 * glibc's setuid() would signal our threads to change theirs too.
 *
 * Nor is our table of fds copied, where the kernel has close_range(2):
 * the fds the child needs are first put on a few low fds (slots, taken
 * at the run's start), the child shares our table (CLONE_FILES) and, its
 * first act, unshares it keeping only the fds below the highest slot
 * (CLOSE_RANGE_UNSHARE copies no more than that). A supervisor of 1000
 * nodes holds some 6000 fds; each child used to copy them all at clone
 * and close them all again at exec.
 */
#include <sys/syscall.h>

#include <sched.h>

#include "run.h"

static void	 pid_cb(evutil_socket_t, short, void *);
static void	 status_cb(evutil_socket_t, short, void *);

/* The fds a node starts with: stdin, stdout, stderr, LP_LISTEN_FD and
 * LP_READY_FD. */
#define NFDS		5

static void	 ready_cb(evutil_socket_t, short, void *);
static void	 spawn_slots_clear(struct lpd_run *);

/* What a child that could not exec tells its parent. */
struct spawn_rec {
	int32_t		 stage;
#define STAGE_SETSID	1
#define STAGE_FDS	2
#define STAGE_CHDIR	3
#define STAGE_EXEC	4
#define STAGE_IDS	5
	int32_t		 error;
};

/* Everything a child needs, prepared before fork (no malloc after it). */
struct spawn {
	const char		*path;
	char *const		*argv;
	char *const		*envp;
	const char		*cwd;
	int			 fds[NFDS];	/* become 0 1 2 3 4; -1: none */
	int			 status_fd;
	int			 keeper_fd;
	pid_t			 ppid;
	const struct rlimit	*nofile;	/* restore this, or NULL */
	struct sigaction	 dfl;
	bool			 set_ids;	/* become uid/gid first */
	uid_t			 uid;
	gid_t			 gid;
	const gid_t		*groups;
	size_t			 ngroups;
	unsigned		 unshare_from;	/* 0: the table is a copy */
};


/* A traditional wait status from waitid's siginfo. */
static int
siginfo_status(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return ((si->si_status & 0xff) << 8);
	case CLD_KILLED:
		return (si->si_status & 0x7f);
	case CLD_DUMPED:
		return ((si->si_status & 0x7f) | 0x80);
	}
	return (-1);
}



/* Tell the parent why we could not exec, and end. */
static void
spawn_fail(int fd, int stage, int error)
{
	struct spawn_rec	 rec;

	rec.stage = stage;
	rec.error = error;
	/* A pipe of one small record: all of it, or the parent is gone. */
	while (write(fd, &rec, sizeof rec) == -1 && errno == EINTR)
		continue;
	_exit(127);
}

/*
 * The child, between fork and exec: async-signal-safe calls only, since
 * the parent may have threads (a malloc lock held by one of them would
 * be held here forever).
 */
static void
spawn_child(const struct spawn *sp)
{
	struct keeper_rec	 rec;
	sigset_t		 none;
	int			 fds[NFDS], st, i, sig, flags, last = 2;

	st = sp->status_fd;
	/* Our own table, of the slots and below, before anything else. */
	if (sp->unshare_from != 0 && close_range(sp->unshare_from, ~0U,
	    CLOSE_RANGE_UNSHARE) != 0)
		spawn_fail(st, STAGE_FDS, errno);
	if (setsid() == -1)
		spawn_fail(st, STAGE_SETSID, errno);
	/* From here on the keeper knows our group, before we can fork. */
	rec.op = KEEPER_ADD;
	rec.pgid = getpid();
	if (sp->keeper_fd != -1)
		(void)send(sp->keeper_fd, &rec, sizeof rec, MSG_NOSIGNAL);
	/* The user's identity; before PDEATHSIG, which a change clears. */
	if (sp->set_ids && (syscall(SYS_setgroups, sp->ngroups,
	    sp->groups) == -1 || syscall(SYS_setgid, sp->gid) == -1 ||
	    syscall(SYS_setuid, sp->uid) == -1))
		spawn_fail(st, STAGE_IDS, errno);
	/* Die with the forking thread; it may have died already. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sp->ppid)
		_exit(127);

	/* Move fds out of the way of 0-4 before dup2 onto them. */
	if (st < NFDS && (st = fcntl(st, F_DUPFD_CLOEXEC, NFDS)) == -1)
		_exit(127);
	for (i = 0; i < NFDS; i++) {
		fds[i] = sp->fds[i];
		if (fds[i] != -1 && fds[i] < NFDS &&
		    (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, NFDS)) == -1)
			spawn_fail(st, STAGE_FDS, errno);
	}
	for (i = 0; i < NFDS; i++) {
		if (fds[i] != -1 && dup2(fds[i], i) == -1)
			spawn_fail(st, STAGE_FDS, errno);
		if (fds[i] != -1)
			last = i;
	}
	if (fds[3] != -1) {
		/* A listening socket is blocking by convention (systemd). */
		if ((flags = fcntl(3, F_GETFL)) != -1)
			(void)fcntl(3, F_SETFL, flags & ~O_NONBLOCK);
	}
	/* Whatever the embedder opened without O_CLOEXEC stays here. */
#ifdef CLOSE_RANGE_CLOEXEC
	(void)close_range((unsigned)last + 1, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
	if (sp->nofile != NULL)
		(void)setrlimit(RLIMIT_NOFILE, sp->nofile);
	if (chdir(sp->cwd) == -1)
		spawn_fail(st, STAGE_CHDIR, errno);

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sp->dfl, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(sp->path, sp->argv, sp->envp);
	spawn_fail(st, STAGE_EXEC, errno);
}

/* clone's entry: the child never returns. */
static int
spawn_child_main(void *arg)
{
	spawn_child(arg);
	return (127);
}

/*
 * Take the slots, if close_range is there: SPAWN_SLOTS fds as low as are
 * free, on /dev/null until a spawn puts a child's fds there.
 */
void
lpd_spawn_setup(struct lpd_run *run)
{
	const char	*preload = getenv("LD_PRELOAD");
	int		 i;

	/*
	 * valgrind runs no clone with CLONE_FILES (it stops the whole
	 * process); its preloaded library says it is there.
	 */
	if (preload != NULL && strstr(preload, "vgpreload") != NULL)
		return;
	/* A range past every fd: 0 where the call exists, closing nothing. */
	if (syscall(SYS_close_range, 1U << 30, 1U << 30, 0) != 0)
		return;
	for (i = 0; i < SPAWN_SLOTS; i++) {
		if ((run->spawn_slots[i] = fcntl(run->devnull, F_DUPFD_CLOEXEC,
		    3)) == -1) {
			lpd_spawn_teardown(run);
			return;
		}
	}
	run->spawn_unshare = true;
}

void
lpd_spawn_teardown(struct lpd_run *run)
{
	int	 i;

	for (i = 0; i < SPAWN_SLOTS; i++) {
		if (run->spawn_slots[i] != -1)
			close(run->spawn_slots[i]);
		run->spawn_slots[i] = -1;
	}
	run->spawn_unshare = false;
}

/*
 * Put the fds of sp on the run's slots (0, or -1 and nothing changed);
 * sp then names the slots, and the child keeps only them and below.
 */
static int
spawn_slots_fill(struct lpd_run *run, struct spawn *sp)
{
	int	*src[SPAWN_SLOTS], i, top = 0;

	for (i = 0; i < NFDS; i++)
		src[i] = &sp->fds[i];
	src[NFDS] = &sp->status_fd;
	src[NFDS + 1] = &sp->keeper_fd;
	for (i = 0; i < SPAWN_SLOTS; i++) {
		if (*src[i] != -1 &&
		    dup3(*src[i], run->spawn_slots[i], O_CLOEXEC) == -1) {
			/* sp is untouched: the child copies our table. */
			spawn_slots_clear(run);
			return (-1);
		}
	}
	for (i = 0; i < SPAWN_SLOTS; i++) {
		if (*src[i] != -1)
			*src[i] = run->spawn_slots[i];
	}
	for (i = 0; i < SPAWN_SLOTS; i++) {
		if (run->spawn_slots[i] > top)
			top = run->spawn_slots[i];
	}
	sp->unshare_from = (unsigned)top + 1;
	return (0);
}

/* Back to /dev/null: the slots hold no child's pipe open. */
static void
spawn_slots_clear(struct lpd_run *run)
{
	int	 i;

	for (i = 0; i < SPAWN_SLOTS; i++)
		(void)dup3(run->devnull, run->spawn_slots[i], O_CLOEXEC);
}

/* Resolves handle references for lpd_program_node_config. */
const char *
lpd_spawn_address_fn(void *arg, size_t group, unsigned index)
{
	struct lpd_run	*run = arg;

	return (run->nodes[run->goff[group] + index].n.address);
}

/* Fork and exec a node; 0, or -1 with *cause (nothing left open). */
int
lpd_spawn(struct run_node *sn, char **cause)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	struct spawn		 sp;
	struct timeval		 tv;
	sigset_t		 all, old;
	char			**envp, *lp_node, *lp_addr = NULL;
	char			*lp_config, *config, *lp_handles, *handles;
	size_t			 k;
	pid_t			 pid;
	int			 outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int			 stp[2] = { -1, -1 }, rdp[2] = { -1, -1 };
	int			 saved, pidfd, i, flags;

	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
	    pipe2(stp, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (lpd_type_serves(g->type) && pipe2(rdp, O_CLOEXEC) != 0)) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (rdp[0] != -1 && fcntl(rdp[0], F_SETFL, O_NONBLOCK) != 0) {
		xasprintf(cause, "fcntl: %s", strerror(errno));
		goto fail;
	}
	if (fcntl(outp[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK) != 0) {
		xasprintf(cause, "fcntl: %s", strerror(errno));
		goto fail;
	}

	/* The environment: base, the group's on top, then LP_*. */
	envp = xreallocarray(NULL, run->gnenv[sn->n.group] + 10, sizeof *envp);
	memcpy(envp, run->genv[sn->n.group],
	    run->gnenv[sn->n.group] * sizeof *envp);
	k = run->gnenv[sn->n.group];
	envp[k++] = run->lp_program;
	xasprintf(&lp_node, "LP_NODE=%s", sn->n.name);
	envp[k++] = lp_node;
	if (lpd_type_serves(g->type)) {
		xasprintf(&lp_addr, "LP_ADDRESS=%s", sn->n.address);
		envp[k++] = lp_addr;
		envp[k++] = (char *)"LP_LISTEN_FD=3";
		envp[k++] = (char *)"LP_READY_FD=4";
	}
	config = lpd_program_node_config(run->p, sn->n.group, sn->n.index,
	    lpd_spawn_address_fn, run);
	xasprintf(&lp_config, "LP_CONFIG=%s", config);
	free(config);
	envp[k++] = lp_config;
	handles = lpd_program_handle_paths(run->p, sn->n.group);
	xasprintf(&lp_handles, "LP_HANDLES=%s", handles);
	free(handles);
	envp[k++] = lp_handles;
	envp[k++] = run->lp_control;
	envp[k++] = (char *)(g->run ? "LP_RUN=1" : "LP_RUN=0");
	envp[k] = NULL;

	memset(&sp, 0, sizeof sp);
	sp.path = g->path;
	sp.argv = g->argv;
	sp.envp = envp;
	sp.cwd = g->cwd;
	sp.fds[0] = run->devnull;
	sp.fds[1] = outp[1];
	sp.fds[2] = errp[1];
	sp.fds[3] = sn->listen_fd;
	sp.fds[4] = rdp[1];
	sp.status_fd = stp[1];
	sp.keeper_fd = run->keeper_fd;
	sp.ppid = run->self = getpid();
	sp.nofile = run->nofile_raised ? &run->nofile : NULL;
	sp.dfl.sa_handler = SIG_DFL;
	sigemptyset(&sp.dfl.sa_mask);
	sp.set_ids = run->set_ids;
	sp.uid = run->uid;
	sp.gid = run->gid;
	sp.groups = run->groups;
	sp.ngroups = run->ngroups;
	flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	if (run->spawn_unshare && spawn_slots_fill(run, &sp) == 0)
		flags |= CLONE_FILES;

	/* One stack for every child: each has exec'd when clone returns. */
	if (run->spawn_stack == NULL && (run->spawn_stack = mmap(NULL,
	    SPAWN_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_STACK, -1, 0)) == MAP_FAILED) {
		run->spawn_stack = NULL;
		saved = errno;
		pid = -1;
	} else {
		/* No handler of ours may run in the child before it resets. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pid = clone(spawn_child_main, (char *)run->spawn_stack +
		    SPAWN_STACK, flags, &sp);
		saved = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (flags & CLONE_FILES)
		spawn_slots_clear(run);

	free(lp_node);
	free(lp_addr);
	free(lp_config);
	free(lp_handles);
	free(envp);
	close(outp[1]);
	close(errp[1]);
	close(stp[1]);
	if (rdp[1] != -1)
		close(rdp[1]);
	outp[1] = errp[1] = stp[1] = rdp[1] = -1;
	if (pid == -1) {
		xasprintf(cause, "fork: %s", strerror(saved));
		goto fail;
	}
	sn->n.pid = pid;
	sn->pgid = pid;
	pidfd = run->no_pidfd ? -1 : pidfd_open(pid, 0);
	if (pidfd == -1 && errno == ENOSYS)
		run->no_pidfd = true;
	if (pidfd != -1) {
		sn->pidfd = pidfd;
		sn->pid_ev = event_new(run->base, pidfd, EV_READ, pid_cb, sn);
		if (sn->pid_ev == NULL)
			fatalx("%s: event_new failed", __func__);
	} else if (run->npolled++ == 0) {
		tv = ms_tv(POLL_MS);
		evtimer_add(run->poll_ev, &tv);
	}
	sn->status_fd = stp[0];
	sn->status_ev = event_new(run->base, stp[0], EV_READ | EV_PERSIST,
	    status_cb, sn);
	if ((sn->ready_fd = rdp[0]) != -1 && (sn->ready_ev = event_new(
	    run->base, rdp[0], EV_READ | EV_PERSIST, ready_cb, sn)) == NULL)
		fatalx("%s: event_new failed", __func__);
	sn->out[0].fd = outp[0];
	sn->out[1].fd = errp[0];
	for (i = 0; i < 2; i++) {
		sn->out[i].ev = event_new(run->base, sn->out[i].fd,
		    EV_READ | EV_PERSIST, lpd_stream_read_cb, &sn->out[i]);
	}
	if (sn->status_ev == NULL || sn->out[0].ev == NULL ||
	    sn->out[1].ev == NULL)
		fatalx("%s: event_new failed", __func__);
	return (0);

fail:
	for (i = 0; i < 2; i++) {
		if (outp[i] != -1)
			close(outp[i]);
		if (errp[i] != -1)
			close(errp[i]);
		if (stp[i] != -1)
			close(stp[i]);
		if (rdp[i] != -1)
			close(rdp[i]);
	}
	return (-1);
}

/* Close one of a node's pipes from us, and its event. */
static void
pipe_close(int *fd, struct event **ev)
{
	if (*fd == -1)
		return;
	event_free(*ev);
	*ev = NULL;
	close(*fd);
	*fd = -1;
}

/* Close the readiness pipe. */
void
lpd_spawn_ready_close(struct run_node *sn)
{
	pipe_close(&sn->ready_fd, &sn->ready_ev);
}

/*
 * The node wrote on LP_READY_FD: it serves, with no probe to ask. EOF
 * without a word: it does not tell (or is gone); the probe asks.
 */
static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_node	*sn = arg;
	char		 c;
	ssize_t		 n;

	if ((n = read(fd, &c, 1)) == -1 && (errno == EAGAIN ||
	    errno == EINTR))
		return;
	lpd_spawn_ready_close(sn);
	if (n == 1)
		lpd_probe_ready(sn);
	else if (sn->n.state == LPD_NODE_STARTING && sn->probe != NULL &&
	    sn->probe->f == NULL && node_running(sn)) {
		/* No word is coming: ask now rather than at the timer (unless
		 * a question is out already). */
		evtimer_del(sn->timer);
		lpd_probe_start(sn);
	}
}

/* Close the exec status pipe. */
void
lpd_spawn_status_close(struct run_node *sn)
{
	pipe_close(&sn->status_fd, &sn->status_ev);
}

/* Read the exec status pipe: a record if exec failed, EOF if it worked. */
static void
status_read(struct run_node *sn)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	struct spawn_rec	 rec;
	ssize_t			 n;

	n = read(sn->status_fd, &rec, sizeof rec);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	lpd_spawn_status_close(sn);
	if (n == (ssize_t)sizeof rec) {
		free(sn->start_error);
		switch (rec.stage) {
		case STAGE_EXEC:
			xasprintf(&sn->start_error, "cannot execute %s: %s",
			    g->path, strerror(rec.error));
			break;
		case STAGE_CHDIR:
			xasprintf(&sn->start_error, "cannot change to folder "
			    "%s: %s", g->cwd, strerror(rec.error));
			break;
		case STAGE_SETSID:
			xasprintf(&sn->start_error, "setsid: %s",
			    strerror(rec.error));
			break;
		case STAGE_IDS:
			xasprintf(&sn->start_error, "cannot become uid %lu, "
			    "gid %lu: %s", (unsigned long)run->uid,
			    (unsigned long)run->gid, strerror(rec.error));
			break;
		default:
			xasprintf(&sn->start_error, "cannot set up the "
			    "node's files: %s", strerror(rec.error));
			break;
		}
		lpd_run_event(run, sn, LPD_EV_ERROR, sn->start_error);
		return;
	}
	if (n == 0 && sn->n.state == LPD_NODE_STARTING &&
	    g->type == LPD_TYPE_PROCESS)
		lpd_run_node_event(sn, SN_RUNS);
}

static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	status_read(arg);
}

/*
 * The node's leader is reaped (status -1: by someone else): its group
 * dies, and what it left in its pipes is read, before the policy runs.
 */
static void
node_reaped(struct run_node *sn, int status)
{
	struct lpd_run	*run = sn->n.run;

	if (status == -1) {
		free(sn->start_error);
		xasprintf(&sn->start_error, "was reaped by another part of "
		    "the process: its exit status is lost");
	}
	/* Leftovers die with it, now, while the pgid cannot be reused. */
	killpg(sn->pgid, SIGKILL);
	lpd_keeper_send(run, KEEPER_DEL, sn->pgid);
	sn->pgid = 0;
	sn->n.pid = 0;
	sn->n.status = status;
	run->nprocs--;
	if (sn->pidfd != -1) {
		event_free(sn->pid_ev);
		sn->pid_ev = NULL;
		close(sn->pidfd);
		sn->pidfd = -1;
	} else if (--run->npolled == 0)
		evtimer_del(run->poll_ev);
	lpd_probe_close(sn);

	/* The child wrote before it exited, so this does not wait. */
	if (sn->status_fd != -1)
		status_read(sn);
	lpd_spawn_status_close(sn);
	lpd_spawn_ready_close(sn);
	lpd_stream_drain(&sn->out[0]);
	lpd_stream_drain(&sn->out[1]);
	lpd_run_node_ended(sn, status);
}

/* A node's pidfd is readable: its leader exited. */
static void
pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_node	*sn = arg;
	siginfo_t	 si;

	memset(&si, 0, sizeof si);
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == -1) {
		if (errno == EINTR)
			event_add(sn->pid_ev, NULL);
		else
			node_reaped(sn, -1);
		return;
	}
	if (si.si_pid == 0) {
		event_add(sn->pid_ev, NULL);
		return;
	}
	node_reaped(sn, siginfo_status(&si));
}

/*
 * Without pidfds: ask each child that has none whether it exited. Only
 * this fallback walks the nodes on a timer.
 */
void
lpd_spawn_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_run	*run = arg;
	struct run_node	*sn;
	siginfo_t	 si;
	size_t		 i;

	for (i = 0; i < run->nnodes && run->npolled != 0; i++) {
		sn = &run->nodes[i];
		if (sn->pgid <= 0 || sn->pidfd != -1)
			continue;
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)sn->n.pid, &si, WEXITED | WNOHANG) ==
		    -1) {
			if (errno == ECHILD)
				node_reaped(sn, -1);
			continue;
		}
		if (si.si_pid != 0)
			node_reaped(sn, siginfo_status(&si));
	}
}
