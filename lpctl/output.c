/*
 * output.c: lpctl run's stdout (the live stream of the nodes' lines) and
 * stderr (lpctl's own messages), written so that a reader that stops
 * reading never stops the event loop, and with it the stop.
 *
 * Both go through one bounded ring, in the order they were said, so that
 * a message still comes after the lines before it. A thread of its own
 * does every write(2); the loop only copies into the ring under a mutex,
 * which the writer never holds across a write. When the stream's share of
 * the ring is full, lines are dropped from the stream (never from the
 * per-node logs, which the supervisor core writes itself) and counted,
 * and a notice with the count goes where the gap is, once there is room
 * again, the reader has caught up, or at the end.
 *
 * Why a thread and not O_NONBLOCK: the flag belongs to the open file
 * description, which stdout shares with the shell that started lpctl
 * (most often its terminal). The shell and whatever runs next would see
 * their writes fail with EAGAIN, and lpctl cannot promise to clear the
 * flag: SIGKILL leaves it set. Reopening /proc/self/fd/1 would give a
 * description of our own, but not for a socket, and not with a regular
 * file's offset. A thread leaves the descriptions as it found them.
 *
 * Threads and fork: the supervisor core forks nodes and its keeper from
 * the loop's thread, never this one (PR_SET_PDEATHSIG follows the forking
 * thread). Between fork and exec the child makes only async-signal-safe
 * calls and takes no lock (core/spawn.c spawn_child, core/keeper.c), so
 * a lock the writer holds at fork time cannot stall a child.
 *
 * The end is bounded: lpctl waits OUTPUT_DRAIN_MS for the ring to drain,
 * then gives up on the stream (what is left of it is counted as dropped)
 * and gives its own last messages OUTPUT_LAST_MS more, interrupting a
 * write stuck on stdout with OUTPUT_WAKE. A writer still stuck after that
 * is left to end with the process.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "lpctl.h"

#define OUTPUT_MAX	(1024 * 1024)	/* the stream's share of the ring */
#define OUTPUT_LOW	(OUTPUT_MAX / 2)	/* after a drop, resume below */
#define OUTPUT_RESERVE	(256 * 1024)	/* the rest, for lpctl's messages */
#define OUTPUT_RING	(OUTPUT_MAX + OUTPUT_RESERVE)
#define OUTPUT_RUNS	1024		/* switches of fd queued at most */
#define OUTPUT_DRAIN_MS	2000		/* at the end, for everything */
#define OUTPUT_LAST_MS	1000		/* then, for lpctl's messages */
#define OUTPUT_KICK_MS	50		/* how often a stuck write is kicked */
/* Interrupts a stuck write(2): ignored by default, so a stray one is too. */
#define OUTPUT_WAKE	SIGURG

/* Consecutive bytes of the ring bound for one fd; fd -1: skip them. */
struct run {
	int	 fd;
	size_t	 len;
};

/* The one output of lpctl run, as stdout and stderr are one each. */
static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 more;		/* to the writer: bytes, or the end */
	pthread_cond_t	 done;		/* from the writer: it has finished */
	pthread_t	 thread;
	bool		 started;
	char		*log_dir;

	char		*buf;		/* OUTPUT_RING bytes */
	size_t		 start;		/* the first byte not written */
	size_t		 used;
	struct run	 runs[OUTPUT_RUNS];
	size_t		 run0;		/* the first run */
	size_t		 nruns;

	bool		 dropping;	/* until the ring is below OUTPUT_LOW */
	uint64_t	 dropped;	/* lines not told of yet */
	uint64_t	 lost;		/* messages not told of yet */
	bool		 dead[3];	/* stdout, stderr: a write failed */
	int		 busy;		/* the fd written outside the lock */

	bool		 closing;	/* no more; finish when drained */
	bool		 abandon;	/* no more of the stream at all */
	bool		 purged;	/* the stream's last bytes are gone */
	bool		 finished;
} out = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.busy = -1,
};

/* Nothing to do: being there is what makes write(2) return EINTR. */
static void
output_wake_cb(int signo)
{
	(void)signo;
}

/* Add ms milliseconds to now on the monotonic clock. */
static struct timespec
after_ms(long ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return (ts);
}

/* True if a is before b. */
static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec));
}

/*
 * Queue len bytes from iov for fd, if the ring stays within limit and a
 * run is left; false if not (nothing queued). Lock held.
 */
static bool
append(int fd, const struct iovec *iov, int iovcnt, size_t len,
    size_t limit)
{
	struct run	*r = NULL;
	const char	*p;
	size_t		 at, n, k;
	int		 i;

	if (len == 0)
		return (true);	/* a run of nothing would be a failed write */
	if (len > limit || out.used > limit - len)
		return (false);
	if (out.nruns != 0)
		r = &out.runs[(out.run0 + out.nruns - 1) % OUTPUT_RUNS];
	if (r == NULL || r->fd != fd) {
		if (out.nruns == OUTPUT_RUNS)
			return (false);
		r = &out.runs[(out.run0 + out.nruns++) % OUTPUT_RUNS];
		r->fd = fd;
		r->len = 0;
	}
	/* The writer reads only bytes before these, so no one else. */
	at = (out.start + out.used) % OUTPUT_RING;
	for (i = 0; i < iovcnt; i++) {
		p = iov[i].iov_base;
		for (n = iov[i].iov_len; n > 0; n -= k) {
			k = n < OUTPUT_RING - at ? n : OUTPUT_RING - at;
			memcpy(out.buf + at, p, k);
			p += k;
			at = (at + k) % OUTPUT_RING;
		}
	}
	r->len += len;
	out.used += len;
	pthread_cond_signal(&out.more);
	return (true);
}

/* Queue a text on stderr within the whole ring. Lock held. */
static bool
append_text(const char *s, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)s;
	iov.iov_len = len;
	return (append(STDERR_FILENO, &iov, 1, len, OUTPUT_RING));
}

/*
 * Tell how many lines the stream dropped (and messages were lost) since
 * the last time, here, where the gap is. With no room, keep the counts
 * for later; with no stderr, there is no one to tell. Lock held.
 */
static void
notice(void)
{
	char	*lines = NULL, *msgs = NULL, *msg;

	if (out.dropped == 0 && out.lost == 0)
		return;
	if (out.dead[STDERR_FILENO]) {
		out.dropped = out.lost = 0;
		return;
	}
	if (out.dropped != 0) {
		xasprintf(&lines, "lpctl: %llu line%s dropped from the live "
		    "stream because its reader was slow; the per-node logs "
		    "under %s have them all\n",
		    (unsigned long long)out.dropped,
		    out.dropped == 1 ? " was" : "s were", out.log_dir);
	}
	if (out.lost != 0) {
		xasprintf(&msgs, "lpctl: %llu of lpctl's own message%s lost: "
		    "stderr was too slow\n", (unsigned long long)out.lost,
		    out.lost == 1 ? " was" : "s were");
	}
	xasprintf(&msg, "%s%s", lines != NULL ? lines : "",
	    msgs != NULL ? msgs : "");
	if (append_text(msg, strlen(msg)))
		out.dropped = out.lost = 0;
	free(msg);
	free(msgs);
	free(lines);
}

/* The number of lines (newlines) in len bytes of the ring from at. */
static uint64_t
count_lines(size_t at, size_t len)
{
	const char	*p, *end, *nl;
	uint64_t	 lines = 0;
	size_t		 k;

	while (len > 0) {
		k = len < OUTPUT_RING - at ? len : OUTPUT_RING - at;
		p = out.buf + at;
		end = p + k;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p = nl + 1;
		}
		len -= k;
		at = (at + k) % OUTPUT_RING;
	}
	return (lines);
}

/*
 * Give up on the stream: every line of it still queued counts as dropped
 * (one cut short by the give-up too), and the notice goes after lpctl's
 * messages still queued. Lock held.
 */
static void
purge_stream(void)
{
	struct run	*r;
	size_t		 i, at = out.start;

	for (i = 0; i < out.nruns; i++) {
		r = &out.runs[(out.run0 + i) % OUTPUT_RUNS];
		if (r->fd == STDOUT_FILENO) {
			out.dropped += count_lines(at, r->len);
			r->fd = -1;
		}
		at = (at + r->len) % OUTPUT_RING;
	}
	out.purged = true;
	notice();
}

/* Forget len written (or skipped) bytes of the first run. Lock held. */
static void
consume(size_t len)
{
	struct run	*r = &out.runs[out.run0];

	out.start = (out.start + len) % OUTPUT_RING;
	out.used -= len;
	if ((r->len -= len) == 0) {
		out.run0 = (out.run0 + 1) % OUTPUT_RUNS;
		out.nruns--;
	}
	/* Empty: start over at the front, so writes wrap less. */
	if (out.used == 0)
		out.start = 0;
}

/* A write to fd failed for good: stop writing there. Lock held. */
static void
write_failed(int fd, int error)
{
	char	*msg;

	out.dead[fd] = true;
	if (fd != STDOUT_FILENO || out.dead[STDERR_FILENO])
		return;
	xasprintf(&msg, "lpctl: cannot write the live stream: %s; the "
	    "per-node logs under %s have every line\n", strerror(error),
	    out.log_dir);
	(void)append_text(msg, strlen(msg));
	free(msg);
}

/* The writer: the only thread that writes to stdout and stderr. */
static void *
writer_main(void *arg)
{
	struct pollfd	 pfd;
	struct run	*r;
	sigset_t	 wake;
	const char	*p;
	ssize_t		 w;
	size_t		 n;
	int		 fd, error;

	(void)arg;
	/* Created with every signal blocked: take only our own. */
	sigemptyset(&wake);
	sigaddset(&wake, OUTPUT_WAKE);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);

	pthread_mutex_lock(&out.lock);
	for (;;) {
		if (out.abandon && !out.purged)
			purge_stream();
		if (out.nruns == 0) {
			/* The reader caught up: say what it missed. */
			if (out.dropped != 0 || out.lost != 0) {
				notice();
				continue;
			}
			if (out.closing)
				break;
			pthread_cond_wait(&out.more, &out.lock);
			continue;
		}
		r = &out.runs[out.run0];
		if (r->fd == -1 || out.dead[r->fd]) {
			consume(r->len);
			continue;
		}
		fd = r->fd;
		p = out.buf + out.start;
		n = r->len < OUTPUT_RING - out.start ? r->len :
		    OUTPUT_RING - out.start;
		out.busy = fd;
		pthread_mutex_unlock(&out.lock);

		w = write(fd, p, n);
		error = errno;
		if (w == -1 && error == EAGAIN) {
			/* Someone else made it non-blocking: wait here. */
			pfd.fd = fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, -1);
		}

		pthread_mutex_lock(&out.lock);
		out.busy = -1;
		if (w > 0)
			consume((size_t)w);
		else if (w == 0)
			write_failed(fd, EIO);
		else if (error != EINTR && error != EAGAIN)
			write_failed(fd, error);
	}
	out.finished = true;
	pthread_cond_signal(&out.done);
	pthread_mutex_unlock(&out.lock);
	return (NULL);
}

/*
 * Start the writer; log_dir is named in the notice of dropped lines. 0,
 * or -1 after a message (nothing is written through here then).
 */
int
lpctl_output_start(const char *log_dir)
{
	struct sigaction	 sa;
	pthread_condattr_t	 attr;
	sigset_t		 all, old;
	int			 error;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = output_wake_cb;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: a stuck write must return */
	if (sigaction(OUTPUT_WAKE, &sa, NULL) != 0) {
		fprintf(stderr, "lpctl: sigaction: %s\n", strerror(errno));
		return (-1);
	}

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&out.more, &attr);
	pthread_cond_init(&out.done, &attr);
	pthread_condattr_destroy(&attr);
	out.buf = xmalloc(OUTPUT_RING);
	out.log_dir = xstrdup(log_dir);

	/* No signal for the loop may land on the writer. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&out.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		fprintf(stderr, "lpctl: cannot start the output thread: %s\n",
		    strerror(error));
		pthread_cond_destroy(&out.more);
		pthread_cond_destroy(&out.done);
		free(out.buf);
		free(out.log_dir);
		out.buf = out.log_dir = NULL;
		return (-1);
	}
	out.started = true;
	return (0);
}

/*
 * One line of the live stream, in pieces, its newline included. Dropped
 * and counted when the stream's share of the ring is full, and from then
 * on until the ring is down to OUTPUT_LOW: gaps are few and whole.
 */
void
lpctl_output_line(const struct iovec *iov, int iovcnt)
{
	size_t	len = 0;
	int	i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	pthread_mutex_lock(&out.lock);
	if (!out.started || out.closing || out.dead[STDOUT_FILENO]) {
		pthread_mutex_unlock(&out.lock);
		return;
	}
	if (!out.dropping || out.used <= OUTPUT_LOW) {
		notice();
		if (append(STDOUT_FILENO, iov, iovcnt, len, OUTPUT_MAX)) {
			out.dropping = false;
			pthread_mutex_unlock(&out.lock);
			return;
		}
	}
	out.dropping = true;
	out.dropped++;
	pthread_mutex_unlock(&out.lock);
}

/*
 * A message of lpctl's own for stderr, its newline included. It has the
 * ring's reserve too, so it is lost (and counted) only past that.
 */
void
lpctl_output_message(const char *s, size_t len)
{
	pthread_mutex_lock(&out.lock);
	if (!out.started || out.closing || out.dead[STDERR_FILENO]) {
		pthread_mutex_unlock(&out.lock);
		return;
	}
	notice();
	if (!append_text(s, len))
		out.lost++;
	pthread_mutex_unlock(&out.lock);
}

/*
 * Write what is queued and stop the writer, within OUTPUT_DRAIN_MS plus
 * OUTPUT_LAST_MS whatever the readers do. Call it last: nothing is
 * written through here afterwards.
 */
void
lpctl_output_stop(void)
{
	struct timespec	 deadline, kick;
	bool		 finished;

	if (!out.started)
		return;
	pthread_mutex_lock(&out.lock);
	out.closing = true;
	pthread_cond_signal(&out.more);
	deadline = after_ms(OUTPUT_DRAIN_MS);
	while (!out.finished) {
		if (pthread_cond_timedwait(&out.done, &out.lock,
		    &deadline) == ETIMEDOUT)
			break;
	}
	if (!out.finished) {
		out.abandon = true;
		pthread_cond_signal(&out.more);
		deadline = after_ms(OUTPUT_LAST_MS);
		for (;;) {
			/* Again and again: a kick may come just before it. */
			if (out.busy == STDOUT_FILENO)
				pthread_kill(out.thread, OUTPUT_WAKE);
			kick = after_ms(OUTPUT_KICK_MS);
			if (ts_before(&deadline, &kick))
				kick = deadline;
			(void)pthread_cond_timedwait(&out.done, &out.lock,
			    &kick);
			if (out.finished || !ts_before(&kick, &deadline))
				break;
		}
	}
	finished = out.finished;
	pthread_mutex_unlock(&out.lock);
	if (!finished)
		return;	/* stuck in write(2): it holds the ring; keep it */

	pthread_join(out.thread, NULL);
	pthread_cond_destroy(&out.more);
	pthread_cond_destroy(&out.done);
	free(out.buf);
	free(out.log_dir);
	out.buf = out.log_dir = NULL;
	out.started = false;
}
