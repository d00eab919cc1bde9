/*
 * supervisor.c: run one program's nodes as processes on the caller's
 * libevent event_base (lpctl run, lpd and the test harness embed it).
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
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "courier-internal.h"
#include "lpd.h"

extern char **environ;

#define LINE_PIECE_MAX	4096		/* longer lines are cut in pieces */
#define RING_LINE_MAX	1024		/* bytes of a line the ring keeps */
#define LOG_LINES_DEFAULT 10
#define READ_SIZE	(64 * 1024)	/* the run's one read buffer */
#define LOGBUF_SIZE	(16 * 1024)	/* log lines gathered per write */
#define DRAIN_MAX	(1024 * 1024)	/* read from a reaped node's pipe */
#define PROBE_MIN_MS	10
#define PROBE_MAX_MS	200
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
#define HEALTHY_MS	10000		/* a run this long: start over */
#define POLL_MS		10		/* without pidfds */
#define SUN_PATH_MAX	(sizeof ((struct sockaddr_un *)0)->sun_path)

/* Linux's PID_MAX_LIMIT on 64-bit: no pid (so no pgid) reaches it. */
#define KEEPER_PID_LIMIT (4 * 1024 * 1024)

/* A record to the keeper: fixed size, so each send is one atomic write. */
struct keeper_rec {
	int32_t		 op;
#define KEEPER_ADD	'+'
#define KEEPER_DEL	'-'
#define KEEPER_DONE	'D'
	int32_t		 pgid;
};

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
	int			 fds[4];	/* become 0 1 2 3; -1: none */
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
};

/* One output pipe of a node, and the line it has not ended yet. */
struct stream {
	struct snode		*node;
	bool			 err;
	int			 fd;
	struct event		*ev;
	char			*buf;		/* partial line */
	size_t			 len;
	bool			 cut;		/* the line was cut at len 0 */
};

struct ring_line {
	char			*s;
	size_t			 len;
};

/* A readiness probe: a ListMethods call, waiting for the answer. */
struct probe {
	courier_client		*client;	/* on the run's loop */
	courier_future		*f;		/* the call, or NULL */
	unsigned		 delay_ms;
};

/* The supervisor's side of a node. */
struct snode {
	struct lpd_node		 n;
	char			*sock_path;	/* Unix socket file we made */
	int			 listen_fd;
	int			 log_fd;
	pid_t			 pgid;		/* 0: none to signal */
	int			 pidfd;		/* -1: polled */
	struct event		*pid_ev;
	int			 status_fd;	/* exec status pipe */
	struct event		*status_ev;
	struct stream		 out[2];	/* stdout, stderr */
	struct event		*timer;		/* backoff, probe retry */
	unsigned		 streak;	/* restarts since a healthy run */
	struct probe		*probe;
	char			*start_error;	/* why it could not start */
	char			*exit_why;	/* ops: why it ended, or NULL */
	bool			 live;		/* ops: started, not ended */
	struct ring_line	*ring;
	unsigned		 ring_head;
	unsigned		 ring_count;
	bool			 final;
};

struct lpd_run {
	struct event_base	*base;
	struct lpd_program	*p;
	struct lpd_run_cb	 cb;
	void			*arg;
	struct lpd_node_ops	 ops;
	bool			 has_ops;

	double			 grace_s;
	unsigned		 log_lines;
	double			 healthy_s;
	bool			 tcp;
	bool			 set_ids;	/* nodes run as uid/gid */
	uid_t			 uid;
	gid_t			 gid;
	gid_t			*groups;	/* the user's supplementary */
	size_t			 ngroups;

	char			*dir;		/* runtime folder */
	bool			 made_dir;
	char			*control_addr;
	char			*lp_control;	/* "LP_CONTROL=..." */
	char			*lp_program;	/* "LP_PROGRAM=..." */
	courier_server		*control;

	char			**env;		/* base environment, owned */
	char			***genv;	/* per group, borrowed strings */
	size_t			*gnenv;
	size_t			*goff;		/* first node of each group */

	struct snode		*nodes;
	size_t			 nnodes;
	size_t			 nlive;		/* nodes not final */
	size_t			 nprocs;	/* processes not reaped */
	size_t			 npolled;	/* ... without a pidfd */
	bool			 no_pidfd;	/* pidfd_open: ENOSYS */
	struct event		*poll_ev;

	int			 devnull;
	int			 keeper_fd;
	pid_t			 keeper_pid;
	pid_t			 self;
	struct rlimit		 nofile;	/* what children get */
	bool			 nofile_raised;

	char			*rbuf;
	char			*logbuf;
	size_t			 loglen;
	struct snode		*logowner;

	struct event		*grace_ev;
	struct event		*done_ev;
	bool			 stopping;
	bool			 killing;
	bool			 failed;
	bool			 requested;	/* a node asked for the stop */
	bool			 done;
	int			 status;
	char			*cause;
};

static void	 node_start(struct snode *);
static int	 node_start_ops(struct snode *, char **);
static void	 node_ended(struct snode *, int);
static void	 pid_cb(evutil_socket_t, short, void *);
static void	 status_cb(evutil_socket_t, short, void *);
static void	 probe_start(struct snode *);
static void	 run_kill_all(struct lpd_run *, const char *);
static void	 run_maybe_finish(struct lpd_run *);

/* Whether a node's process (or, with ops, the node) has not ended. */
static bool
node_running(const struct snode *sn)
{
	return (sn->pgid > 0 || sn->live);
}

/* Tell the embedder something. */
static void
run_event(struct lpd_run *run, struct snode *sn, enum lpd_event ev,
    const char *msg)
{
	if (run->cb.event != NULL)
		run->cb.event(run->arg, sn != NULL ? &sn->n : NULL, ev, msg);
}

static void
run_eventf(struct lpd_run *run, struct snode *sn, enum lpd_event ev,
    const char *fmt, ...) COURIER_PRINTF(4, 5);
static void
run_eventf(struct lpd_run *run, struct snode *sn, enum lpd_event ev,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	run_event(run, sn, ev, msg);
	free(msg);
}

/* A timeval of ms milliseconds. */
static struct timeval
ms_tv(unsigned ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return (tv);
}

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

/* ------------------------------------------------------------------ */
/* The keeper                                                          */
/* ------------------------------------------------------------------ */

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
static int
keeper_start(struct lpd_run *run, char **cause)
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
static void
keeper_send(struct lpd_run *run, int op, pid_t pgid)
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
static void
keeper_stop(struct lpd_run *run)
{
	keeper_send(run, KEEPER_DONE, 0);
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

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* Write the log lines gathered for one node. */
static void
log_flush(struct lpd_run *run)
{
	struct snode	*sn = run->logowner;
	size_t		 off = 0;
	ssize_t		 n;

	while (sn != NULL && sn->log_fd != -1 && off < run->loglen) {
		n = write(sn->log_fd, run->logbuf + off, run->loglen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* a full disk loses lines, not the node */
		off += (size_t)n;
	}
	run->loglen = 0;
	run->logowner = NULL;
}

/* Add "line\n" to a node's log, through the run's buffer. */
static void
log_add(struct snode *sn, const char *line, size_t len)
{
	struct lpd_run	*run = sn->n.run;

	if (sn->log_fd == -1)
		return;
	if (run->logowner != sn || run->loglen + len + 1 > LOGBUF_SIZE)
		log_flush(run);
	run->logowner = sn;
	memcpy(run->logbuf + run->loglen, line, len);
	run->loglen += len;
	run->logbuf[run->loglen++] = '\n';
}

/* Keep a line in the node's ring of last lines. */
static void
ring_add(struct snode *sn, const char *line, size_t len)
{
	unsigned		 cap = sn->n.run->log_lines;
	struct ring_line	*l;

	if (sn->ring == NULL)
		sn->ring = xcalloc(cap, sizeof *sn->ring);
	if (sn->ring_count < cap)
		l = &sn->ring[(sn->ring_head + sn->ring_count++) % cap];
	else {
		l = &sn->ring[sn->ring_head];
		sn->ring_head = (sn->ring_head + 1) % cap;
	}
	if (len > RING_LINE_MAX)
		len = RING_LINE_MAX;
	l->s = xrealloc(l->s, len + 1);
	memcpy(l->s, line, len);
	l->s[len] = '\0';
	l->len = len;
}

/* One line from a node: to the embedder, the log and the ring. */
static void
stream_line(struct stream *st, const char *line, size_t len)
{
	struct snode	*sn = st->node;
	struct lpd_run	*run = sn->n.run;

	log_add(sn, line, len);
	ring_add(sn, line, len);
	if (run->cb.output != NULL)
		run->cb.output(run->arg, &sn->n, st->err, line, len);
}

/* Append n bytes to the partial line, which then holds at most a piece. */
static void
stream_append(struct stream *st, const char *p, size_t n)
{
	if (st->buf == NULL)
		st->buf = xmalloc(LINE_PIECE_MAX);
	memcpy(st->buf + st->len, p, n);
	st->len += n;
}

/* Split what a pipe gave into lines; a line too long comes in pieces. */
static void
stream_feed(struct stream *st, const char *p, size_t len)
{
	const char	*nl;
	size_t		 n, c;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (st->len == 0 && nl != NULL && n <= LINE_PIECE_MAX) {
			/* The common case: a whole line, used in place. */
			if (n != 0 || !st->cut)
				stream_line(st, p, n);
			st->cut = false;
			p += n + 1;
			len -= n + 1;
			continue;
		}
		while (n > 0) {
			c = LINE_PIECE_MAX - st->len;
			if (c > n)
				c = n;
			stream_append(st, p, c);
			p += c;
			len -= c;
			n -= c;
			st->cut = false;
			if (st->len == LINE_PIECE_MAX) {
				stream_line(st, st->buf, st->len);
				st->len = 0;
				st->cut = true;
			}
		}
		if (nl != NULL) {
			if (st->len != 0 || !st->cut)
				stream_line(st, st->buf, st->len);
			st->len = 0;
			st->cut = false;
			p++;
			len--;
		}
	}
}

/* Close a pipe at its end, delivering the line it did not end. */
static void
stream_close(struct stream *st)
{
	if (st->fd == -1)
		return;
	if (st->len != 0)
		stream_line(st, st->buf, st->len);
	log_flush(st->node->n.run);
	event_free(st->ev);
	st->ev = NULL;
	close(st->fd);
	st->fd = -1;
	free(st->buf);
	st->buf = NULL;
	st->len = 0;
	st->cut = false;
}

/* A node's pipe is readable: one read per wake-up, for fairness. */
static void
stream_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*st = arg;
	struct lpd_run	*run = st->node->n.run;
	ssize_t		 n;

	n = read(fd, run->rbuf, READ_SIZE);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		stream_feed(st, run->rbuf, (size_t)n);
		log_flush(run);
		return;
	}
	stream_close(st);
}

/* Read what a reaped node left in a pipe, then close it. */
static void
stream_drain(struct stream *st)
{
	struct lpd_run	*run = st->node->n.run;
	size_t		 total = 0;
	ssize_t		 n;

	while (st->fd != -1 && total < DRAIN_MAX) {
		n = read(st->fd, run->rbuf, READ_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		stream_feed(st, run->rbuf, (size_t)n);
		total += (size_t)n;
	}
	stream_close(st);
}

/* The last lines of a node's output, oldest first. */
char *
lpd_run_last_lines(const struct lpd_node *n)
{
	const struct snode	*sn = n->priv;
	const struct ring_line	*l;
	unsigned		 cap = n->run->log_lines, i;
	size_t			 size = 1, off = 0;
	char			*s;

	for (i = 0; i < sn->ring_count; i++)
		size += sn->ring[(sn->ring_head + i) % cap].len + 1;
	s = xmalloc(size);
	for (i = 0; i < sn->ring_count; i++) {
		l = &sn->ring[(sn->ring_head + i) % cap];
		if (i != 0)
			s[off++] = '\n';
		memcpy(s + off, l->s, l->len);
		off += l->len;
	}
	s[off] = '\0';
	return (s);
}

/* ------------------------------------------------------------------ */
/* Readiness                                                           */
/* ------------------------------------------------------------------ */

/* Close a node's probe, if any (from its own callback too). */
static void
probe_close(struct snode *sn)
{
	struct probe	*pr = sn->probe;

	if (pr == NULL)
		return;
	sn->probe = NULL;	/* a cancelled call's callback finds none */
	courier_client_free(pr->client);
	free(pr);
}

/* The node does not serve yet: ask again a bit later. */
static void
probe_retry(struct snode *sn)
{
	struct probe	*pr = sn->probe;
	struct timeval	 tv;

	if (pr->delay_ms == 0)
		pr->delay_ms = PROBE_MIN_MS;
	else if ((pr->delay_ms *= 2) > PROBE_MAX_MS)
		pr->delay_ms = PROBE_MAX_MS;
	tv = ms_tv(pr->delay_ms);
	evtimer_add(sn->timer, &tv);
}

/* The node answered ListMethods: it serves. */
static void
probe_ready(struct snode *sn)
{
	probe_close(sn);
	if (sn->n.state != LPD_NODE_STARTING)
		return;
	sn->n.state = LPD_NODE_RUNNING;
	run_event(sn->n.run, sn, LPD_EV_READY, sn->n.address);
}

/*
 * The probe's ListMethods ended. Any answer from the node, even an error,
 * says it serves; no connection, or a connection closed before the
 * answer, says not yet.
 */
static void
probe_done_cb(courier_future *f, void *arg)
{
	struct snode	*sn = arg;
	struct probe	*pr = sn->probe;
	courier_error	*err = NULL;
	courier_value	*v;
	enum courier_code code = COURIER_OK;

	if (pr == NULL || pr->f != f) {
		courier_future_free(f);	/* the probe was closed */
		return;
	}
	pr->f = NULL;
	if ((v = courier_future_wait(f, 0, &err)) == NULL)
		code = courier_error_code(err);
	courier_value_unref(v);
	courier_error_free(err);
	courier_future_free(f);
	if (code == COURIER_UNAVAILABLE || code == COURIER_CANCELLED ||
	    code == COURIER_DEADLINE_EXCEEDED)
		probe_retry(sn);
	else
		probe_ready(sn);
}

/*
 * Ask a node that does not serve yet for its methods, through a client
 * of its own on the run's loop (made once, kept until the node serves).
 */
static void
probe_start(struct snode *sn)
{
	struct probe	*pr;
	char		*cause = NULL;

	if ((pr = sn->probe) == NULL) {
		pr = sn->probe = xcalloc(1, sizeof *pr);
		if ((pr->client = courier_client_new(sn->n.address,
		    &cause)) == NULL)
			fatalx("%s: %s", __func__, cause);
		if (courier_client_set_base(pr->client, sn->n.run->base) != 0)
			fatalx("%s: cannot put a client on the loop",
			    __func__);
		/* Retried here, on the node's timer, not by the client. */
		courier_client_set_wait_for_ready(pr->client, false);
	}
	pr->f = courier_list_methods_async(pr->client, COURIER_FOREVER);
	courier_future_then(pr->f, probe_done_cb, sn);	/* may run now */
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

/* Tell the parent why we could not exec, and end. */
static void
spawn_fail(int fd, int stage, int error)
{
	struct spawn_rec	 rec;

	rec.stage = stage;
	rec.error = error;
	(void)write(fd, &rec, sizeof rec);
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
	int			 fds[4], st, i, sig, flags;

	st = sp->status_fd;
	if (setsid() == -1)
		spawn_fail(st, STAGE_SETSID, errno);
	/* From here on the keeper knows our group, before we can fork. */
	rec.op = KEEPER_ADD;
	rec.pgid = getpid();
	if (sp->keeper_fd != -1)
		(void)send(sp->keeper_fd, &rec, sizeof rec, MSG_NOSIGNAL);
	/* The user's identity; before PDEATHSIG, which a change clears. */
	if (sp->set_ids && (setgroups(sp->ngroups, sp->groups) == -1 ||
	    setgid(sp->gid) == -1 || setuid(sp->uid) == -1))
		spawn_fail(st, STAGE_IDS, errno);
	/* Die with the forking thread; it may have died already. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sp->ppid)
		_exit(127);

	/* Move fds out of the way of 0-3 before dup2 onto them. */
	if (st < 4 && (st = fcntl(st, F_DUPFD_CLOEXEC, 4)) == -1)
		_exit(127);
	for (i = 0; i < 4; i++) {
		fds[i] = sp->fds[i];
		if (fds[i] != -1 && fds[i] < 4 &&
		    (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 4)) == -1)
			spawn_fail(st, STAGE_FDS, errno);
	}
	for (i = 0; i < 4; i++) {
		if (fds[i] != -1 && dup2(fds[i], i) == -1)
			spawn_fail(st, STAGE_FDS, errno);
	}
	if (fds[3] != -1) {
		/* A listening socket is blocking by convention (systemd). */
		if ((flags = fcntl(3, F_GETFL)) != -1)
			(void)fcntl(3, F_SETFL, flags & ~O_NONBLOCK);
	}
	/* Whatever the embedder opened without O_CLOEXEC stays here. */
#ifdef CLOSE_RANGE_CLOEXEC
	(void)close_range(fds[3] != -1 ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
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

/* Resolves handle references for lpd_program_node_config. */
static const char *
node_address_fn(void *arg, size_t group, unsigned index)
{
	struct lpd_run	*run = arg;

	return (run->nodes[run->goff[group] + index].n.address);
}

/* Fork and exec a node; 0, or -1 with *cause (nothing left open). */
static int
node_spawn(struct snode *sn, char **cause)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	struct spawn		 sp;
	struct timeval		 tv;
	sigset_t		 all, old;
	char			**envp, *lp_node, *lp_addr = NULL;
	char			*lp_config, *config;
	size_t			 k;
	pid_t			 pid;
	int			 outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int			 stp[2] = { -1, -1 }, saved, pidfd, i;

	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
	    pipe2(stp, O_CLOEXEC | O_NONBLOCK) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (fcntl(outp[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK) != 0) {
		xasprintf(cause, "fcntl: %s", strerror(errno));
		goto fail;
	}

	/* The environment: base, the group's on top, then LP_*. */
	envp = xreallocarray(NULL, run->gnenv[sn->n.group] + 8, sizeof *envp);
	memcpy(envp, run->genv[sn->n.group],
	    run->gnenv[sn->n.group] * sizeof *envp);
	k = run->gnenv[sn->n.group];
	envp[k++] = run->lp_program;
	xasprintf(&lp_node, "LP_NODE=%s", sn->n.name);
	envp[k++] = lp_node;
	if (g->type == LPD_TYPE_COURIER) {
		xasprintf(&lp_addr, "LP_ADDRESS=%s", sn->n.address);
		envp[k++] = lp_addr;
		envp[k++] = (char *)"LP_LISTEN_FD=3";
	}
	config = lpd_program_node_config(run->p, sn->n.group, sn->n.index,
	    node_address_fn, run);
	xasprintf(&lp_config, "LP_CONFIG=%s", config);
	free(config);
	envp[k++] = lp_config;
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

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		spawn_child(&sp);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	free(lp_node);
	free(lp_addr);
	free(lp_config);
	free(envp);
	close(outp[1]);
	close(errp[1]);
	close(stp[1]);
	outp[1] = errp[1] = stp[1] = -1;
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
	sn->out[0].fd = outp[0];
	sn->out[1].fd = errp[0];
	for (i = 0; i < 2; i++) {
		sn->out[i].ev = event_new(run->base, sn->out[i].fd,
		    EV_READ | EV_PERSIST, stream_read_cb, &sn->out[i]);
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
	}
	return (-1);
}

/* Close the exec status pipe. */
static void
status_close(struct snode *sn)
{
	if (sn->status_fd == -1)
		return;
	event_free(sn->status_ev);
	sn->status_ev = NULL;
	close(sn->status_fd);
	sn->status_fd = -1;
}

/* Read the exec status pipe: a record if exec failed, EOF if it worked. */
static void
status_read(struct snode *sn)
{
	struct lpd_run		*run = sn->n.run;
	struct lpd_group	*g = &run->p->groups[sn->n.group];
	struct spawn_rec	 rec;
	ssize_t			 n;

	n = read(sn->status_fd, &rec, sizeof rec);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	status_close(sn);
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
		run_event(run, sn, LPD_EV_ERROR, sn->start_error);
		return;
	}
	if (n == 0 && sn->n.state == LPD_NODE_STARTING &&
	    g->type == LPD_TYPE_PROCESS)
		sn->n.state = LPD_NODE_RUNNING;
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
node_reaped(struct snode *sn, int status)
{
	struct lpd_run	*run = sn->n.run;

	if (status == -1) {
		free(sn->start_error);
		xasprintf(&sn->start_error, "was reaped by another part of "
		    "the process: its exit status is lost");
	}
	/* Leftovers die with it, now, while the pgid cannot be reused. */
	killpg(sn->pgid, SIGKILL);
	keeper_send(run, KEEPER_DEL, sn->pgid);
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
	probe_close(sn);

	/* The child wrote before it exited, so this does not wait. */
	if (sn->status_fd != -1)
		status_read(sn);
	status_close(sn);
	stream_drain(&sn->out[0]);
	stream_drain(&sn->out[1]);
	node_ended(sn, status);
}

/* A node's pidfd is readable: its leader exited. */
static void
pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snode	*sn = arg;
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
static void
run_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lpd_run	*run = arg;
	struct snode	*sn;
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

/* A node will not run again: let go of what it held. */
static void
node_final(struct snode *sn)
{
	if (sn->final)
		return;
	sn->final = true;
	evtimer_del(sn->timer);
	probe_close(sn);
	if (sn->listen_fd != -1) {
		close(sn->listen_fd);
		sn->listen_fd = -1;
	}
	if (sn->sock_path != NULL) {
		unlink(sn->sock_path);
		free(sn->sock_path);
		sn->sock_path = NULL;
	}
	if (sn->log_fd != -1) {
		if (sn->n.run->logowner == sn)
			log_flush(sn->n.run);
		close(sn->log_fd);
		sn->log_fd = -1;
	}
	sn->n.run->nlive--;
}

/*
 * A node's process ended (or could not start: status -1): restart it,
 * or make it final, and fail the program if its group says so. Events go
 * last, since the embedder may stop the program from inside them.
 */
static void
node_ended(struct snode *sn, int status)
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
		/* Exits during a stop are not failures. */
		sn->n.state = LPD_NODE_EXITED;
		node_final(sn);
		run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
		free(msg);
		run_maybe_finish(run);
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
		sn->n.state = LPD_NODE_BACKOFF;
		sn->n.restarts++;
		sn->streak++;
		ms = BACKOFF_MIN_MS;
		for (k = 1; k < sn->streak && ms < BACKOFF_MAX_MS; k++)
			ms *= 2;
		if (ms > BACKOFF_MAX_MS)
			ms = BACKOFF_MAX_MS;
		tv = ms_tv(ms);
		evtimer_add(sn->timer, &tv);
		run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
		if (sn->n.state == LPD_NODE_BACKOFF) {
			run_eventf(run, sn, LPD_EV_RESTARTING,
			    "restarting in %g s (restart %u of %u)",
			    ms / 1000.0, sn->streak, g->max_restarts);
		}
		free(msg);
		return;
	}

	sn->n.state = failed ? LPD_NODE_FAILED : LPD_NODE_EXITED;
	node_final(sn);
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
	run_event(run, sn, LPD_EV_EXITED, msg != NULL ? msg : how);
	free(msg);
	if (failed && g->on_failure == LPD_ON_FAILURE_STOP)
		lpd_run_stop(run, false, run->cause);
	run_maybe_finish(run);
}

/* The node's timer: the end of a backoff, or time to probe again. */
static void
node_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snode	*sn = arg;

	if (sn->n.state == LPD_NODE_BACKOFF)
		node_start(sn);
	else if (sn->n.state == LPD_NODE_STARTING && sn->probe != NULL &&
	    node_running(sn))
		probe_start(sn);
}

/* Start (or restart) a node's process. */
static void
node_start(struct snode *sn)
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
		r = node_spawn(sn, &cause);
	if (r != 0) {
		xasprintf(&sn->start_error, "cannot start: %s", cause);
		free(cause);
		run_event(run, sn, LPD_EV_ERROR, sn->start_error);
		node_ended(sn, -1);
		return;
	}
	if (!run->has_ops) {
		if (sn->pid_ev != NULL)
			event_add(sn->pid_ev, NULL);
		event_add(sn->status_ev, NULL);
		event_add(sn->out[0].ev, NULL);
		event_add(sn->out[1].ev, NULL);
		sn->n.state = LPD_NODE_STARTING;
	} else {
		/* No exec to wait for: a process node runs already. */
		sn->n.state = g->type == LPD_TYPE_COURIER ?
		    LPD_NODE_STARTING : LPD_NODE_RUNNING;
	}
	sn->n.started = lpd_realtime_now();
	run->nprocs++;
	run_event(run, sn, LPD_EV_STARTED, NULL);
	if (sn->n.state == LPD_NODE_STARTING &&
	    g->type == LPD_TYPE_COURIER)
		probe_start(sn);
}

/*
 * Start a node through the embedder's ops, with what node_spawn would
 * put in its environment; 0, or -1 with *cause.
 */
static int
node_start_ops(struct snode *sn, char **cause)
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
	    node_address_fn, run);
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
	struct snode	*sn = n->priv;

	if (!run->has_ops || sn->n.run != run || !sn->live)
		fatalx("%s: %s is not a live node of the ops", __func__,
		    n->name);
	sn->live = false;
	sn->n.pid = 0;
	sn->n.status = status;
	run->nprocs--;
	probe_close(sn);
	free(sn->exit_why);
	sn->exit_why = why != NULL ? xstrdup(why) : NULL;
	node_ended(sn, status);
}

/* ------------------------------------------------------------------ */
/* Stop and end                                                        */
/* ------------------------------------------------------------------ */

/*
 * Signal a live node's process group. A child that has not reached
 * setsid() yet has no group of its own but cannot have forked either, so
 * the signal goes to it alone; it is not reaped, so its pid is still
 * ours. A signal it gets then stays pending (blocked) until its exec.
 */
static void
node_signal(struct snode *sn, int sig)
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
	struct snode	*sn;
	size_t		 i;

	if (run->killing)
		return;
	run->killing = true;
	evtimer_del(run->grace_ev);
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (!node_running(sn))
			continue;
		node_signal(sn, SIGKILL);
		sn->n.killed = true;
	}
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (node_running(sn) && sn->n.killed)
			run_event(run, sn, LPD_EV_KILLED, why);
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
	run_eventf(run, NULL, LPD_EV_WAITING, "waiting %g s for %zu node%s "
	    "to stop", grace_s, run->nprocs, run->nprocs == 1 ? "" : "s");
}

/* Stop the program; see lpd.h. */
void
lpd_run_stop(struct lpd_run *run, bool kill, const char *why)
{
	struct snode	*sn;
	struct timeval	 tv;
	size_t		 i;

	if (run->done)
		return;
	if (run->stopping) {
		if (kill)
			run_kill_all(run, "killed at once, as asked");
		return;
	}
	run->stopping = true;
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (sn->final)
			continue;
		evtimer_del(sn->timer);
		if (sn->n.state == LPD_NODE_PENDING ||
		    sn->n.state == LPD_NODE_BACKOFF) {
			/* Nothing runs: a pending restart is cancelled. */
			sn->n.state = LPD_NODE_EXITED;
			node_final(sn);
			continue;
		}
		probe_close(sn);
		sn->n.state = LPD_NODE_STOPPING;
		if (!kill)
			node_signal(sn, SIGTERM);
	}
	run_event(run, NULL, LPD_EV_STOPPING, why != NULL ? why :
	    "the stop was asked for");
	if (run->done || run->nprocs == 0) {
		run_maybe_finish(run);
		return;
	}
	if (kill || run->grace_s <= 0) {
		run_kill_all(run, kill ? "killed at once, as asked" :
		    "the grace period is 0");
	} else if (!run->killing) {
		tv.tv_sec = (time_t)run->grace_s;
		tv.tv_usec = (suseconds_t)((run->grace_s - (double)tv.tv_sec) *
		    1e6);
		evtimer_add(run->grace_ev, &tv);
		run_eventf(run, NULL, LPD_EV_WAITING, "waiting %g s for %zu "
		    "node%s to stop", run->grace_s, run->nprocs,
		    run->nprocs == 1 ? "" : "s");
	}
	run_maybe_finish(run);
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
static void
run_maybe_finish(struct lpd_run *run)
{
	if (run->done || run->nlive != 0)
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

/* Whether an environment entry sets a variable that we set. */
static bool
env_is_ours(const char *e)
{
	static const char *const ours[] = {
		"LP_PROGRAM=", "LP_NODE=", "LP_ADDRESS=", "LP_LISTEN_FD=",
		"LP_CONFIG=", "LP_CONTROL=", "LP_RUN=",
	};
	size_t	 i;

	for (i = 0; i < nitems(ours); i++) {
		if (strncmp(e, ours[i], strlen(ours[i])) == 0)
			return (true);
	}
	return (false);
}

/* Whether "K=V" a and b set the same K. */
static bool
env_same_key(const char *a, const char *b)
{
	size_t	 la = strcspn(a, "="), lb = strcspn(b, "=");

	return (la == lb && memcmp(a, b, la) == 0);
}

/* Copy the base environment, and merge each group's over it. */
static void
run_make_env(struct lpd_run *run, char *const *base)
{
	struct lpd_group	*g;
	size_t			 n = 0, i, j, k, m, gn;
	char			**e;

	if (base == NULL)
		base = environ;
	while (base != NULL && base[n] != NULL)
		n++;
	run->env = xcalloc(n + 1, sizeof *run->env);
	for (i = 0, k = 0; i < n; i++) {
		if (strchr(base[i], '=') != NULL && !env_is_ours(base[i]))
			run->env[k++] = xstrdup(base[i]);
	}
	n = k;

	run->genv = xcalloc(run->p->ngroups, sizeof *run->genv);
	run->gnenv = xcalloc(run->p->ngroups, sizeof *run->gnenv);
	for (i = 0; i < run->p->ngroups; i++) {
		g = &run->p->groups[i];
		gn = 0;
		while (g->env != NULL && g->env[gn] != NULL)
			gn++;
		e = xcalloc(n + gn + 1, sizeof *e);
		k = 0;
		for (j = 0; j < n; j++) {
			for (m = 0; m < gn; m++) {
				if (env_same_key(run->env[j], g->env[m]))
					break;
			}
			if (m == gn)
				e[k++] = run->env[j];
		}
		for (j = 0; j < gn; j++) {
			if (!env_is_ours(g->env[j]))
				e[k++] = g->env[j];
		}
		run->genv[i] = e;
		run->gnenv[i] = k;
	}
}

/*
 * Make the runtime folder (or use the one given), checking first that
 * socket paths inside it fit in sun_path.
 */
static int
run_make_dir(struct lpd_run *run, const char *dir, char **cause)
{
	const char	*base;
	char		*path, num[32];
	size_t		 longest;

	if (dir != NULL)
		path = xstrdup(dir);
	else {
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL || *base != '/')
			base = "/tmp";
		/* Keep it short: socket paths have 107 bytes in all. */
		xasprintf(&path, "%s/lpd-%.20s-XXXXXX", base, run->p->name);
	}
	snprintf(num, sizeof num, "/n%zu", run->nnodes);
	longest = strlen("/control");
	if (!run->tcp && strlen(num) > longest)
		longest = strlen(num);
	if (strlen(path) + longest >= SUN_PATH_MAX) {
		xasprintf(cause, "runtime folder %s: too long for Unix socket "
		    "paths (%zu bytes; at most %zu here); %s", path,
		    strlen(path), SUN_PATH_MAX - 1 - longest, dir != NULL ?
		    "give a shorter one" : "set XDG_RUNTIME_DIR to a shorter "
		    "folder");
		free(path);
		return (-1);
	}
	if (dir == NULL) {
		if (mkdtemp(path) == NULL) {
			xasprintf(cause, "cannot make runtime folder %s: %s",
			    path, strerror(errno));
			free(path);
			return (-1);
		}
		run->made_dir = true;
	} else if (mkdir(path, 0700) == 0)
		run->made_dir = true;
	else if (errno != EEXIST) {
		xasprintf(cause, "cannot make runtime folder %s: %s", path,
		    strerror(errno));
		free(path);
		return (-1);
	}
	run->dir = path;
	return (0);
}

/* Bind and listen on every courier node's address. */
static int
run_bind(struct lpd_run *run, char **cause)
{
	struct courier_addr	 a;
	struct snode		*sn;
	char			*addr, *why = NULL;
	size_t			 i;
	int			 fd;

	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (run->p->groups[sn->n.group].type != LPD_TYPE_COURIER)
			continue;
		if (run->tcp)
			addr = xstrdup("tcp:127.0.0.1:0");
		else {
			xasprintf(&sn->sock_path, "%s/n%zu", run->dir, i);
			xasprintf(&addr, "unix:%s", sn->sock_path);
		}
		if (courier_addr_parse(addr, &a, &why) != 0 ||
		    (fd = courier_addr_listen(&a, &why)) == -1) {
			courier_addr_clear(&a);
			xasprintf(cause, "%s: cannot listen: %s", sn->n.name,
			    why);
			free(why);
			free(addr);
			/* Not ours: a server was there before us. */
			free(sn->sock_path);
			sn->sock_path = NULL;
			return (-1);
		}
		courier_addr_clear(&a);
		sn->listen_fd = fd;
		if (run->tcp) {
			free(addr);
			if ((addr = courier_addr_of_fd(fd)) == NULL) {
				xasprintf(cause, "%s: getsockname: %s",
				    sn->n.name, strerror(errno));
				return (-1);
			}
		}
		sn->n.address = addr;
	}
	return (0);
}

/* Open every node's log, DIR/GROUP/INDEX.log, emptied. */
static int
run_open_logs(struct lpd_run *run, const char *dir, char **cause)
{
	struct snode	*sn;
	char		*path;
	size_t		 i;

	for (i = 0; i < run->p->ngroups; i++) {
		xasprintf(&path, "%s/%s", dir, run->p->groups[i].name);
		if (lpd_mkdir_p(path, 0755) != 0) {
			xasprintf(cause, "cannot make log folder %s: %s",
			    path, strerror(errno));
			free(path);
			return (-1);
		}
		free(path);
	}
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		xasprintf(&path, "%s/%s/%u.log", dir,
		    run->p->groups[sn->n.group].name, sn->n.index);
		sn->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_APPEND | O_CLOEXEC, 0644);
		if (sn->log_fd == -1) {
			xasprintf(cause, "cannot open log %s: %s", path,
			    strerror(errno));
			free(path);
			return (-1);
		}
		free(path);
	}
	return (0);
}

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

/*
 * Raise the soft limit on open files if the program needs more (a node
 * holds up to six fds here); children get the embedder's limit, or the
 * one we found.
 */
static void
run_limits(struct lpd_run *run, const struct rlimit *node)
{
	struct rlimit	 cur, rl;
	rlim_t		 need;

	if (getrlimit(RLIMIT_NOFILE, &cur) != 0)
		return;
	/* What nodes get: the embedder's original, else what we have. */
	run->nofile = node != NULL ? *node : cur;
	need = (rlim_t)run->nnodes * 6 + 64;
	if (cur.rlim_cur != RLIM_INFINITY && cur.rlim_cur < need) {
		rl = cur;
		rl.rlim_cur = need;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur > cur.rlim_cur &&
		    setrlimit(RLIMIT_NOFILE, &rl) == 0)
			cur = rl;
	}
	run->nofile_raised = cur.rlim_cur != run->nofile.rlim_cur ||
	    cur.rlim_max != run->nofile.rlim_max;
}

/* Free a node's resources (its process, if any, is reaped already). */
static void
node_clear(struct snode *sn)
{
	unsigned	 i;

	probe_close(sn);
	status_close(sn);
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
	if (sn->log_fd != -1)
		close(sn->log_fd);
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
	keeper_stop(run);
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
	free(run);
}

/*
 * Nodes run as another user: note the uid, gid and the user's groups
 * (looked up now: the child may not call getgrouplist after fork).
 */
static void
run_set_ids(struct lpd_run *run, uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	int		 n = 64;

	run->set_ids = true;
	run->uid = uid;
	run->gid = gid;
	if ((pw = getpwuid(uid)) != NULL) {
		for (;;) {
			run->groups = xreallocarray(run->groups, (size_t)n,
			    sizeof *run->groups);
			if (getgrouplist(pw->pw_name, gid, run->groups,
			    &n) != -1)
				break;
		}
		run->ngroups = (size_t)n;
	} else {
		/* No passwd entry: the gid alone. */
		run->groups = xmalloc(sizeof *run->groups);
		run->groups[0] = gid;
		run->ngroups = 1;
	}
}

/*
 * The runtime folder and its sockets become the nodes' user's, so that
 * nodes can reach each other and the control socket; the folder stays 0700
 * and the supervisor, root, still reaches everything.
 */
static int
run_give_files(struct lpd_run *run, char **cause)
{
	struct snode	*sn;
	char		*path;
	size_t		 i;

	if (!run->set_ids)
		return (0);
	if (chown(run->dir, run->uid, run->gid) != 0) {
		xasprintf(cause, "cannot give %s to uid %lu: %s", run->dir,
		    (unsigned long)run->uid, strerror(errno));
		return (-1);
	}
	xasprintf(&path, "%s/control", run->dir);
	if (chown(path, run->uid, run->gid) != 0) {
		xasprintf(cause, "cannot give %s to uid %lu: %s", path,
		    (unsigned long)run->uid, strerror(errno));
		free(path);
		return (-1);
	}
	free(path);
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (sn->sock_path != NULL &&
		    chown(sn->sock_path, run->uid, run->gid) != 0) {
			xasprintf(cause, "cannot give %s to uid %lu: %s",
			    sn->sock_path, (unsigned long)run->uid,
			    strerror(errno));
			return (-1);
		}
	}
	return (0);
}

/* Start a program; see lpd.h. */
struct lpd_run *
lpd_run_start(struct event_base *base, struct lpd_program *p,
    const struct lpd_run_opts *opts, const struct lpd_run_cb *cb, void *arg,
    char **cause)
{
	static const struct lpd_run_opts	 defaults = { .grace_s = -1 };
	struct lpd_run				*run;
	struct snode				*sn;
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
	run->healthy_s = (opts->healthy_ms != 0 ? opts->healthy_ms :
	    HEALTHY_MS) / 1000.0;
	run->tcp = opts->tcp;
	if (opts->set_ids)
		run_set_ids(run, opts->uid, opts->gid);
	run->devnull = -1;
	run->keeper_fd = -1;
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
			sn->n.state = LPD_NODE_PENDING;
			sn->n.status = -1;
			sn->n.priv = sn;
			sn->listen_fd = -1;
			sn->log_fd = -1;
			sn->pidfd = -1;
			sn->status_fd = -1;
			for (i = 0; i < 2; i++) {
				sn->out[i].node = sn;
				sn->out[i].err = i == 1;
				sn->out[i].fd = -1;
			}
			sn->timer = evtimer_new(base, node_timer_cb, sn);
			if (sn->timer == NULL)
				fatalx("%s: evtimer_new failed", __func__);
		}
	}
	run_make_env(run, opts->env);
	xasprintf(&run->lp_program, "LP_PROGRAM=%s", p->name);
	run_limits(run, opts->node_nofile);

	if (run_make_dir(run, opts->runtime_dir, cause) != 0 ||
	    run_bind(run, cause) != 0)
		goto fail;
	if (opts->log_dir != NULL &&
	    run_open_logs(run, opts->log_dir, cause) != 0)
		goto fail;
	if ((run->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot open /dev/null: %s", strerror(errno));
		goto fail;
	}
	/* Nodes that are not processes need no keeper. */
	if (run_control_start(run, cause) != 0 ||
	    run_give_files(run, cause) != 0 ||
	    (!run->has_ops && keeper_start(run, cause) != 0))
		goto fail;

	run->done_ev = event_new(base, -1, 0, run_done_cb, run);
	run->grace_ev = evtimer_new(base, run_grace_cb, run);
	run->poll_ev = event_new(base, -1, EV_PERSIST, run_poll_cb, run);
	if (run->done_ev == NULL || run->grace_ev == NULL ||
	    run->poll_ev == NULL)
		fatalx("%s: event_new failed", __func__);
	run->rbuf = xmalloc(READ_SIZE);
	run->logbuf = xmalloc(LOGBUF_SIZE);

	/* A failure here is a node's, and the program's policy handles it. */
	for (i = 0; i < run->nnodes; i++) {
		if (run->nodes[i].n.state == LPD_NODE_PENDING)
			node_start(&run->nodes[i]);
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
	struct snode		*sn;
	siginfo_t		 si;
	size_t			 i;

	/* Not done: kill what is left and reap it here, blocking. */
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		node_signal(sn, SIGKILL);
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
			keeper_send(run, KEEPER_DEL, sn->pgid);
		}
		sn->pgid = 0;
		sn->n.pid = 0;
	}
	if (run->logowner != NULL)
		log_flush(run);
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
