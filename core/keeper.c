/*
 * keeper.c: the keeper, a small child forked before any node. It learns
 * every node's process group over a socket and, if the socket closes
 * without a "done" record (the supervisor died), SIGKILLs them all and
 * removes the run's private folder. No node outlives its supervisor.
 */
#include "run.h"

/*
 * Remove a dead supervisor's private runtime folder: the sockets it can
 * hold (n0 ... nN-1, control), then the folder. dir is the parent's copy
 * of the string, read-only here; no malloc, no stdio.
 */
static void
keeper_clean(const char *dir, size_t nnodes)
{
	char	 path[PATH_MAX], digits[32];
	size_t	 len, i, n, k;

	if ((len = strlen(dir)) + 32 >= sizeof path)
		return;
	memcpy(path, dir, len);
	memcpy(path + len, "/control", sizeof "/control");
	(void)unlink(path);
	for (i = 0; i < nnodes; i++) {
		n = 0;
		k = i;
		do
			digits[n++] = (char)('0' + k % 10);
		while ((k /= 10) != 0);
		path[len] = '/';
		path[len + 1] = 'n';
		for (k = 0; k < n; k++)
			path[len + 2 + k] = digits[n - 1 - k];
		path[len + 2 + n] = '\0';
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/*
 * The keeper's life, in a child forked without exec from a process that
 * may have threads: only async-signal-safe calls. It ignores the signals
 * a terminal or a careless kill sends a whole group, and is in a session
 * of its own, so that it outlives whatever kills the supervisor.
 */
static void
keeper_main(int fd, int devnull, const char *dir, size_t nnodes)
{
	struct sigaction	 sa;
	struct keeper_rec	 recs[256];
	sigset_t		 none;
	uint64_t		*bits;
	size_t			 have = 0, i, nwords;
	ssize_t			 n;
	int			 sig, pgid, b;

	(void)setsid();
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
		    sig == SIGQUIT || sig == SIGPIPE)
			sa.sa_handler = SIG_IGN;
		else
			sa.sa_handler = SIG_DFL;
		(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)prctl(PR_SET_NAME, "lpd-keeper");

	/* Hold nothing but our end: a held fd keeps pipes and sockets open. */
	if (fd < 3 && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(1);
	if (devnull != -1) {
		(void)dup2(devnull, 0);
		(void)dup2(devnull, 1);
		(void)dup2(devnull, 2);
	}
	if ((fd > 3 && close_range(3, (unsigned)fd - 1, 0) != 0) ||
	    close_range((unsigned)fd + 1, ~0U, 0) != 0) {
		for (i = 3; i < 65536; i++) {
			if ((int)i != fd)
				(void)close((int)i);
		}
	}

	/* A bit per possible pgid; pages are touched only where used. */
	nwords = KEEPER_PID_LIMIT / 64;
	bits = mmap(NULL, nwords * sizeof *bits, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bits == MAP_FAILED)
		bits = NULL;

	for (;;) {
		n = read(fd, (char *)recs + have, sizeof recs - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		for (i = 0; i < have / sizeof *recs; i++) {
			pgid = recs[i].pgid;
			if (recs[i].op == KEEPER_DONE)
				_exit(0);
			/* Never 1: kill(-1) would be everything. */
			if (bits == NULL || pgid <= 1 ||
			    pgid >= KEEPER_PID_LIMIT)
				continue;
			if (recs[i].op == KEEPER_ADD)
				bits[pgid / 64] |= 1ULL << (pgid % 64);
			else if (recs[i].op == KEEPER_DEL)
				bits[pgid / 64] &= ~(1ULL << (pgid % 64));
		}
		i *= sizeof *recs;
		if (i != have)
			memmove(recs, (char *)recs + i, have - i);
		have -= i;
	}

	/* The supervisor died: its nodes go with it. */
	if (bits != NULL) {
		for (i = 0; i < nwords; i++) {
			if (bits[i] == 0)
				continue;
			for (b = 0; b < 64; b++) {
				pgid = (int)(i * 64) + b;
				if (bits[i] & (1ULL << b))
					(void)kill(-(pid_t)pgid, SIGKILL);
			}
		}
	}
	if (dir != NULL)
		keeper_clean(dir, nnodes);
	_exit(0);
}

/* Fork the keeper; 0, or -1 with *cause. */
int
lpd_keeper_start(struct lpd_run *run, char **cause)
{
	sigset_t	 all, old;
	pid_t		 pid;
	int		 sv[2], saved;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		xasprintf(cause, "cannot start the keeper: socketpair: %s",
		    strerror(errno));
		return (-1);
	}
	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		keeper_main(sv[1], run->devnull, run->made_dir ? run->dir :
		    NULL, run->nnodes);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		xasprintf(cause, "cannot start the keeper: fork: %s",
		    strerror(saved));
		return (-1);
	}
	run->keeper_fd = sv[0];
	run->keeper_pid = pid;
	return (0);
}

/* Send the keeper a record. It blocks only if the keeper lags far behind. */
void
lpd_keeper_send(struct lpd_run *run, int op, pid_t pgid)
{
	struct keeper_rec	 rec;

	if (run->keeper_fd == -1)
		return;
	rec.op = op;
	rec.pgid = pgid;
	while (send(run->keeper_fd, &rec, sizeof rec, MSG_NOSIGNAL) == -1) {
		if (errno != EINTR) {
			/* The keeper is gone: nothing left to tell. */
			close(run->keeper_fd);
			run->keeper_fd = -1;
			return;
		}
	}
}

/* Tell the keeper all is well and wait for it to exit. */
void
lpd_keeper_stop(struct lpd_run *run)
{
	lpd_keeper_send(run, KEEPER_DONE, 0);
	if (run->keeper_fd != -1) {
		close(run->keeper_fd);
		run->keeper_fd = -1;
	}
	if (run->keeper_pid > 0) {
		while (waitpid(run->keeper_pid, NULL, 0) == -1 &&
		    errno == EINTR)
			continue;
		run->keeper_pid = 0;
	}
}
