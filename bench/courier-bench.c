/*
 * courier-bench.c: measure courier against the floor, in one run.
 *
 * The floor is plain C with no library: a forked server doing blocking
 * accept/read/write of length-prefixed frames (a big-endian u32 length and
 * a payload) and a client in this process. Courier is measured the same way,
 * its server in a forked child too. Each courier figure is printed with its
 * ratio to the floor measured a moment before on the same machine, so that
 * drift between machines does not matter.
 *
 * Every server process is forked before this process makes its first
 * courier client (the client starts threads). Children die with us
 * (PR_SET_PDEATHSIG) and are killed and reaped on every exit path.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <courier/courier.h>

#define SMALL_SIZE	64		/* payload of latency/rate tests */
#define BIG_SIZE	(1024 * 1024)	/* payload of bandwidth tests */
#define SMALL_DEPTH	64		/* calls in flight, small payload */
#define BIG_DEPTH	8		/* calls in flight, big payload */
#define READ_SIZE	65536		/* one client read */
#define MAX_FRAME	(16u * 1024 * 1024)
#define IO_TIMEOUT_S	30		/* a hung peer becomes an error */
#define CALL_TIMEOUT_MS	30000
#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS	10000

#define RAW_SOCK	"raw.sock"
#define COURIER_SOCK	"courier.sock"

enum transport {
	T_UNIX,
	T_TCP,
};

static const char *transport_names[] = { "unix", "tcp" };

/* A child process and how it is expected to end. */
struct child {
	pid_t		 pid;
	const char	*what;
	bool		 graceful;	/* must exit 0 on SIGTERM */
};

#define MAX_CHILDREN 4
static struct child	 children[MAX_CHILDREN];
static int		 nchildren;

/* Socket paths must fit in sun_path (108 bytes on Linux). */
static char		 tmpdir[80];
static char		 raw_path[108];
static char		 courier_path[108];
static bool		 in_child;

/* One row of results; negative fields are not measured. */
struct result {
	double		 p50_us;
	double		 p99_us;
	double		 calls_s;
	double		 mb_s;
};

/* The raw figures of one transport, the base of the ratios. */
struct baseline {
	struct result	 ping;		/* 64 B ping-pong */
	struct result	 pipe;		/* 64 B, 64 in flight */
	struct result	 big_ping;	/* 1 MiB ping-pong */
	struct result	 big_pipe;	/* 1 MiB, 8 in flight */
	bool		 have;
};

/* Options. */
static long	 opt_calls = 20000;
static long	 opt_pipelined = 200000;
static long	 opt_big = 200;
static long	 opt_warmup = 1000;
static bool	 opt_raw = true;
static bool	 opt_courier = true;
static bool	 opt_unix_only;

static void	 cleanup(void);

/* Print why we fail, stop every child, remove our files and exit 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fatalx(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "courier-bench%s: ", in_child ? " (server)" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (in_child)
		_exit(1);
	cleanup();
	exit(1);
}

/* Like fatalx, adding strerror(errno). */
static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fatalx("%s: %s", msg, strerror(saved));
}

/* Monotonic time in nanoseconds. */
static inline uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Kill children still running and remove the socket files (signal-safe). */
static void
kill_all(void)
{
	int	i;

	for (i = 0; i < nchildren; i++) {
		if (children[i].pid > 0)
			kill(children[i].pid, SIGKILL);
	}
	if (raw_path[0] != '\0')
		unlink(raw_path);
	if (courier_path[0] != '\0')
		unlink(courier_path);
	if (tmpdir[0] != '\0')
		rmdir(tmpdir);
}

/* On the way out: kill and reap every child, then remove the folder. */
static void
cleanup(void)
{
	int	i, st;

	kill_all();
	for (i = 0; i < nchildren; i++) {
		if (children[i].pid > 0) {
			while (waitpid(children[i].pid, &st, 0) == -1 &&
			    errno == EINTR)
				;
			children[i].pid = -1;
		}
	}
	tmpdir[0] = '\0';
}

/* SIGINT/SIGTERM/SIGHUP in the parent: the same, with signal-safe calls. */
static void
on_signal(int sig)
{
	int	i;

	kill_all();
	for (i = 0; i < nchildren; i++) {
		if (children[i].pid > 0)
			waitpid(children[i].pid, NULL, 0);
	}
	_exit(128 + sig);
}

/* Write all of len bytes, or fail. */
static void
write_all(int fd, const void *buf, size_t len, const char *what)
{
	const uint8_t	*p = buf;
	ssize_t		 r;

	while (len > 0) {
		r = write(fd, p, len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: write", what);
		}
		p += r;
		len -= (size_t)r;
	}
}

/* Store a big-endian u32. */
static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Load a big-endian u32. */
static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/* A payload with a pattern, so that an echo of the wrong bytes shows. */
static uint8_t *
make_payload(size_t len)
{
	uint8_t	*p;
	size_t	 i;

	if ((p = malloc(len)) == NULL)
		fatalx("out of memory");
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + 7);
	return (p);
}

/* A whole frame: length prefix and payload. */
static uint8_t *
make_frame(size_t len)
{
	uint8_t	*f, *payload;

	if ((f = malloc(4 + len)) == NULL)
		fatalx("out of memory");
	put_be32(f, (uint32_t)len);
	payload = make_payload(len);
	memcpy(f + 4, payload, len);
	free(payload);
	return (f);
}

/*
 * The k-th smallest of lat[0..n) (Hoare's selection, in place). Not a
 * sort: a sort costs a few hundred instructions per sample, which
 * instructions.sh would count as the call's.
 */
static uint64_t
select_kth(uint64_t *lat, size_t n, size_t k)
{
	size_t		 lo = 0, hi = n - 1, i, j;
	uint64_t	 pivot, t;

	while (lo < hi) {
		pivot = lat[lo + (hi - lo) / 2];
		i = lo;
		j = hi;
		while (i <= j) {
			while (lat[i] < pivot)
				i++;
			while (lat[j] > pivot)
				j--;
			if (i <= j) {
				t = lat[i];
				lat[i] = lat[j];
				lat[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return (lat[k]);
}

/* Fill r's latency fields from n samples (reordered here). */
static void
latency_stats(struct result *r, uint64_t *lat, size_t n)
{
	size_t	i99;

	i99 = n * 99 / 100;
	if (i99 >= n)
		i99 = n - 1;
	r->p99_us = select_kth(lat, n, i99) / 1e3;
	/* The selection left every sample below i99 before it. */
	r->p50_us = select_kth(lat, i99 + 1, n / 2) / 1e3;
}

/* An empty result. */
static struct result
no_result(void)
{
	struct result	r = { -1, -1, -1, -1 };

	return (r);
}

/* ------------------------------------------------------------------ */
/* Children                                                            */
/* ------------------------------------------------------------------ */

/*
 * Fork a child that will write one line (its address) on a pipe once it is
 * ready. Returns 0 in the child with *wfd set, the pid in the parent with
 * *rfd set.
 */
static pid_t
spawn(const char *what, bool graceful, int *rfd, int *wfd)
{
	int	fds[2];
	pid_t	pid, parent = getpid();

	if (nchildren == MAX_CHILDREN)
		fatalx("too many children");
	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe for %s", what);
	fflush(NULL);
	switch (pid = fork()) {
	case -1:
		fatal("fork %s", what);
	case 0:
		in_child = true;
		nchildren = 0;
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
			fatal("prctl");
		if (getppid() != parent)
			_exit(1);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(fds[0]);
		*wfd = fds[1];
		return (0);
	}
	close(fds[1]);
	children[nchildren].pid = pid;
	children[nchildren].what = what;
	children[nchildren].graceful = graceful;
	nchildren++;
	*rfd = fds[0];
	return (pid);
}

/* Read the child's ready line (its address) into buf, with a deadline. */
static void
wait_ready(int fd, const char *what, char *buf, size_t size)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	uint64_t	deadline = now_ns() + READY_TIMEOUT_MS * 1000000ull;
	size_t		len = 0;
	ssize_t		r;
	int		left;

	for (;;) {
		if (now_ns() >= deadline)
			fatalx("%s: not ready after %d ms", what,
			    READY_TIMEOUT_MS);
		left = (int)((deadline - now_ns()) / 1000000) + 1;
		if (poll(&pfd, 1, left) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll", what);
		}
		if (pfd.revents == 0)
			continue;
		r = read(fd, buf + len, size - 1 - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: read ready line", what);
		}
		if (r == 0)
			fatalx("%s: exited before it was ready", what);
		len += (size_t)r;
		buf[len] = '\0';
		if (strchr(buf, '\n') != NULL)
			break;
		if (len == size - 1)
			fatalx("%s: ready line too long", what);
	}
	*strchr(buf, '\n') = '\0';
	close(fd);
}

/* Stop one child: SIGTERM, wait with a deadline, then SIGKILL; check. */
static void
stop_child(pid_t pid)
{
	struct child	*c = NULL;
	uint64_t	 deadline;
	pid_t		 r;
	int		 i, st;

	for (i = 0; i < nchildren; i++) {
		if (children[i].pid == pid)
			c = &children[i];
	}
	if (c == NULL)
		return;
	kill(pid, SIGTERM);
	deadline = now_ns() + STOP_TIMEOUT_MS * 1000000ull;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 ||
	    (r == -1 && errno == EINTR)) {
		if (now_ns() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			c->pid = -1;
			fatalx("%s: did not exit %d ms after SIGTERM", c->what,
			    STOP_TIMEOUT_MS);
		}
		usleep(5000);
	}
	c->pid = -1;
	if (r == -1)
		fatal("%s: waitpid", c->what);
	if (c->graceful) {
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			if (WIFSIGNALED(st))
				fatalx("%s: killed by signal %d on stop",
				    c->what, WTERMSIG(st));
			fatalx("%s: exited %d on stop", c->what,
			    WEXITSTATUS(st));
		}
	} else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) {
		if (WIFEXITED(st))
			fatalx("%s: exited %d early", c->what,
			    WEXITSTATUS(st));
		fatalx("%s: killed by signal %d", c->what, WTERMSIG(st));
	}
}

/* ------------------------------------------------------------------ */
/* The floor: a raw server and client                                  */
/* ------------------------------------------------------------------ */

/* Set TCP_NODELAY on a TCP socket. */
static void
set_nodelay(int fd)
{
	int	on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == -1)
		fatal("setsockopt TCP_NODELAY");
}

/*
 * Echo frames on one connection until EOF: read what is there, and answer
 * all the whole frames of that read with one write (the reply of an echo is
 * the request itself, so it is written from where it was read).
 */
static void
raw_serve(int fd)
{
	uint8_t	*buf, *nbuf;
	size_t	 cap = READ_SIZE, start = 0, end = 0, p, need;
	uint32_t len;
	ssize_t	 r;

	if ((buf = malloc(cap)) == NULL)
		fatalx("out of memory");
	for (;;) {
		r = read(fd, buf + end, cap - end);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		end += (size_t)r;

		need = 0;
		for (p = start; end - p >= 4; p += 4 + len) {
			len = get_be32(buf + p);
			if (len > MAX_FRAME)
				fatalx("raw frame of %u bytes", len);
			if (end - p - 4 < len) {
				need = 4 + (size_t)len;
				break;
			}
		}
		if (p > start) {
			write_all(fd, buf + start, p - start, "raw server");
			start = p;
		}
		if (start == end) {
			start = end = 0;
			continue;
		}
		if (need < 4)
			need = 4;
		/* Make room for the rest of the partial frame, and more. */
		if (cap - start < need + READ_SIZE || cap - end < READ_SIZE) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		if (cap < need + READ_SIZE) {
			cap = need + READ_SIZE;
			if ((nbuf = realloc(buf, cap)) == NULL)
				fatalx("out of memory");
			buf = nbuf;
		}
	}
	free(buf);
	close(fd);
}

/* Start the raw echo server for t; return its address in addr. */
static pid_t
raw_server_start(enum transport t, char *addr, size_t size)
{
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	const char		*what;
	pid_t			 pid;
	int			 rfd, wfd, lfd, fd;

	what = t == T_UNIX ? "raw unix server" : "raw tcp server";
	if ((pid = spawn(what, false, &rfd, &wfd)) != 0) {
		wait_ready(rfd, what, addr, size);
		return (pid);
	}

	if (t == T_UNIX) {
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, raw_path, sizeof raw_path);
		if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (bind(lfd, (struct sockaddr *)&sun, sizeof sun) == -1)
			fatal("bind %s", raw_path);
		if ((size_t)snprintf(addr, size, "%s\n", raw_path) >= size)
			fatalx("address too long");
	} else {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = 0;
		if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1)
			fatal("bind 127.0.0.1:0");
		slen = sizeof sin;
		if (getsockname(lfd, (struct sockaddr *)&sin, &slen) == -1)
			fatal("getsockname");
		snprintf(addr, size, "%u\n", ntohs(sin.sin_port));
	}
	if (listen(lfd, 16) == -1)
		fatal("listen");
	write_all(wfd, addr, strlen(addr), "ready line");
	close(wfd);

	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fatal("accept");
		}
		if (t == T_TCP)
			set_nodelay(fd);
		raw_serve(fd);
	}
}

/* Connect to the raw server. */
static int
raw_connect(enum transport t, const char *addr)
{
	struct sockaddr_un	sun;
	struct sockaddr_in	sin;
	struct timeval		tv = { .tv_sec = IO_TIMEOUT_S };
	int			fd;

	if (t == T_UNIX) {
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", addr);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
			fatal("connect %s", addr);
	} else {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)atoi(addr));
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
			fatal("connect 127.0.0.1:%s", addr);
		set_nodelay(fd);
	}
	/* A hung server becomes an error, not a hung bench. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
		fatal("setsockopt SO_RCVTIMEO");
	return (fd);
}

/* Counts whole frames in a byte stream and checks their lengths. */
struct framer {
	uint8_t		hdr[4];
	size_t		nhdr;
	size_t		left;
	size_t		expect;
};

/* Feed len bytes; return the number of frames completed. */
static size_t
framer_feed(struct framer *f, const uint8_t *p, size_t len)
{
	size_t		n = 0, k;
	uint32_t	flen;

	while (len > 0) {
		if (f->left > 0) {
			k = len < f->left ? len : f->left;
			f->left -= k;
			p += k;
			len -= k;
			if (f->left == 0)
				n++;
			continue;
		}
		k = 4 - f->nhdr;
		if (k > len)
			k = len;
		memcpy(f->hdr + f->nhdr, p, k);
		f->nhdr += k;
		p += k;
		len -= k;
		if (f->nhdr < 4)
			break;
		f->nhdr = 0;
		flen = get_be32(f->hdr);
		if (flen != f->expect)
			fatalx("raw echo of %u bytes, expected %zu", flen,
			    f->expect);
		f->left = flen;
		if (flen == 0)
			n++;
	}
	return (n);
}

/* Read once into buf, failing on EOF or error. */
static size_t
read_some(int fd, uint8_t *buf, size_t size)
{
	ssize_t	r;

	for (;;) {
		r = read(fd, buf, size);
		if (r > 0)
			return ((size_t)r);
		if (r == 0)
			fatalx("raw server closed the connection");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			fatalx("raw server: no reply in %d s", IO_TIMEOUT_S);
		fatal("raw client: read");
	}
}

/* Raw ping-pong: n calls of one frame each, timed one by one. */
static struct result
raw_pingpong(int fd, size_t size, long warmup, long n)
{
	struct result	 r = no_result();
	struct framer	 fr = { .expect = size };
	uint8_t		*frame, *buf;
	uint64_t	*lat, t0, start;
	long		 i;

	frame = make_frame(size);
	if ((buf = malloc(READ_SIZE)) == NULL ||
	    (lat = calloc((size_t)n, sizeof *lat)) == NULL)
		fatalx("out of memory");
	start = 0;
	for (i = -warmup; i < n; i++) {
		if (i == 0)
			start = now_ns();
		t0 = now_ns();
		write_all(fd, frame, 4 + size, "raw client");
		while (framer_feed(&fr, buf, read_some(fd, buf, READ_SIZE))
		    == 0)
			;
		if (i >= 0)
			lat[i] = now_ns() - t0;
	}
	r.calls_s = n / ((now_ns() - start) / 1e9);
	r.mb_s = r.calls_s * size / 1e6;
	latency_stats(&r, lat, (size_t)n);
	free(lat);
	free(buf);
	free(frame);
	return (r);
}

/*
 * Raw pipelined: keep depth frames in flight, each written with its own
 * write (without blocking, so that a big frame the socket does not take at
 * once cannot deadlock against the server's replies), and read whatever
 * replies are there with one read.
 */
static struct result
raw_pipelined(int fd, size_t size, int depth, long warmup, long n)
{
	struct result	 r = no_result();
	struct framer	 fr = { .expect = size };
	struct pollfd	 pfd = { .fd = fd };
	uint8_t		*frame, *buf;
	size_t		 flen = 4 + size, off = 0;
	long		 total = warmup + n, sent = 0, recvd = 0, mark = 0;
	uint64_t	 start = 0;
	ssize_t		 w;
	bool		 blocked;

	frame = make_frame(size);
	if ((buf = malloc(READ_SIZE)) == NULL)
		fatalx("out of memory");
	if (warmup == 0)
		start = now_ns();
	while (recvd < total) {
		blocked = false;
		while (sent < total && sent - recvd < depth) {
			w = send(fd, frame + off, flen - off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					blocked = true;
					break;
				}
				fatal("raw client: write");
			}
			off += (size_t)w;
			if (off == flen) {
				off = 0;
				sent++;
			}
		}
		if (blocked) {
			pfd.events = POLLIN | POLLOUT;
			if (poll(&pfd, 1, IO_TIMEOUT_S * 1000) == -1) {
				if (errno == EINTR)
					continue;
				fatal("raw client: poll");
			}
			if (pfd.revents == 0)
				fatalx("raw server: stuck for %d s",
				    IO_TIMEOUT_S);
			if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
		}
		recvd += (long)framer_feed(&fr, buf,
		    read_some(fd, buf, READ_SIZE));
		if (start == 0 && recvd >= warmup) {
			start = now_ns();
			mark = recvd;
		}
	}
	/* Timed from the read that ended the warm-up. */
	r.calls_s = (total - mark) / ((now_ns() - start) / 1e9);
	r.mb_s = r.calls_s * size / 1e6;
	free(buf);
	free(frame);
	return (r);
}

/* The whole floor for one transport, each test on a fresh connection. */
static void
raw_run(enum transport t, const char *addr, struct baseline *fl)
{
	int	fd;
	long	bigwarm = opt_big / 20 > 2 ? opt_big / 20 : 2;

	fd = raw_connect(t, addr);
	fl->ping = raw_pingpong(fd, SMALL_SIZE, opt_warmup, opt_calls);
	close(fd);
	fd = raw_connect(t, addr);
	fl->pipe = raw_pipelined(fd, SMALL_SIZE, SMALL_DEPTH,
	    SMALL_DEPTH * 16, opt_pipelined);
	close(fd);
	fd = raw_connect(t, addr);
	fl->big_ping = raw_pingpong(fd, BIG_SIZE, bigwarm, opt_big);
	close(fd);
	fd = raw_connect(t, addr);
	fl->big_pipe = raw_pipelined(fd, BIG_SIZE, BIG_DEPTH, bigwarm,
	    opt_big);
	close(fd);
	fl->have = true;
}

/* ------------------------------------------------------------------ */
/* Courier                                                             */
/* ------------------------------------------------------------------ */

/* The echo method: its first argument back, or null. */
static courier_value *
echo_method(void *self, courier_request *req, courier_error **err)
{
	return (courier_value_ref(courier_request_arg(req, 0)));
}

/*
 * The courier server child: "echo" on the worker pool and "echo-inline"
 * inline, until SIGTERM.
 */
static pid_t
courier_child_start(enum transport t, char *addr, size_t size)
{
	courier_server	*s;
	sigset_t	 set;
	const char	*what, *listen_addr;
	char		*cause = NULL, line[PATH_MAX + 16];
	pid_t		 pid;
	int		 rfd, wfd, sig;

	what = t == T_UNIX ? "courier unix server" : "courier tcp server";
	if ((pid = spawn(what, true, &rfd, &wfd)) != 0) {
		wait_ready(rfd, what, addr, size);
		return (pid);
	}

	/* Blocked before any thread exists, so that all inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");

	if (t == T_UNIX) {
		snprintf(line, sizeof line, "unix:%s", courier_path);
		listen_addr = line;
	} else
		listen_addr = "tcp:127.0.0.1:0";
	if ((s = courier_server_new()) == NULL)
		fatalx("courier_server_new failed");
	if (courier_server_add_method(s, "echo", echo_method, NULL, 0,
	    &cause) == -1)
		fatalx("courier_server_add_method echo: %s", cause);
	if (courier_server_add_method(s, "echo-inline", echo_method, NULL,
	    COURIER_METHOD_INLINE, &cause) == -1)
		fatalx("courier_server_add_method echo-inline: %s", cause);
	if (courier_server_listen(s, listen_addr, &cause) == -1)
		fatalx("courier_server_listen %s: %s", listen_addr, cause);
	if (courier_server_start(s, &cause) == -1)
		fatalx("courier_server_start: %s", cause);
	if (courier_server_address(s) == NULL)
		fatalx("courier_server_address returned NULL");
	snprintf(line, sizeof line, "%s\n", courier_server_address(s));
	write_all(wfd, line, strlen(line), "ready line");
	close(wfd);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM)
			break;
	}
	courier_server_free(s);
	_exit(0);
}

/* Check an echo's result: bytes of the payload's size and contents. */
static void
check_echo(courier_value *v, courier_error *err, const uint8_t *payload,
    size_t size, const char *what)
{
	const uint8_t	*data;
	size_t		 len, k;

	if (v == NULL) {
		if (err == NULL)
			fatalx("%s: no result and no error", what);
		fatalx("%s: %s: %s", what,
		    courier_code_name(courier_error_code(err)),
		    courier_error_message(err));
	}
	if (courier_value_type(v) != COURIER_BYTES)
		fatalx("%s: echo returned %s, expected bytes", what,
		    courier_type_name(courier_value_type(v)));
	data = courier_value_bytes(v, &len);
	if (len != size)
		fatalx("%s: echo returned %zu bytes, expected %zu", what, len,
		    size);
	/* The whole of a small one; both ends of a big one. */
	k = size < 256 ? size : 128;
	if (memcmp(data, payload, k) != 0 ||
	    memcmp(data + size - k, payload + size - k, k) != 0)
		fatalx("%s: echo returned other bytes than were sent", what);
	courier_value_unref(v);
}

/* The arguments of one echo call: the shared payload value. */
static courier_value *
echo_args(const courier_value *payload)
{
	courier_value	*args;

	if ((args = courier_args(courier_value_ref(payload))) == NULL)
		fatalx("courier_args failed");
	return (args);
}

/* Courier sync calls, timed one by one. */
static struct result
call_sync(courier_client *c, const char *method, size_t size,
    long warmup, long n)
{
	struct result	 r = no_result();
	courier_value	*pv, *v;
	courier_error	*err;
	uint8_t		*payload;
	uint64_t	*lat, t0, start = 0;
	long		 i;

	payload = make_payload(size);
	if ((pv = courier_bytes(payload, size)) == NULL)
		fatalx("courier_bytes failed");
	if ((lat = calloc((size_t)n, sizeof *lat)) == NULL)
		fatalx("out of memory");
	for (i = -warmup; i < n; i++) {
		if (i == 0)
			start = now_ns();
		err = NULL;
		t0 = now_ns();
		v = courier_call(c, method, echo_args(pv), &err);
		if (i >= 0)
			lat[i] = now_ns() - t0;
		check_echo(v, err, payload, size, "courier_call");
	}
	r.calls_s = n / ((now_ns() - start) / 1e9);
	r.mb_s = r.calls_s * size / 1e6;
	latency_stats(&r, lat, (size_t)n);
	courier_value_unref(pv);
	free(lat);
	free(payload);
	return (r);
}

/* Courier futures: a sliding window of depth calls in flight. */
static struct result
call_window(courier_client *c, const char *method, size_t size,
    int depth, long warmup, long n)
{
	struct result	  r = no_result();
	courier_future	**f;
	courier_value	 *pv, *v;
	courier_error	 *err;
	uint8_t		 *payload;
	uint64_t	  start = 0;
	long		  total = warmup + n, issued = 0, done;
	int		  head = 0;

	payload = make_payload(size);
	if ((pv = courier_bytes(payload, size)) == NULL)
		fatalx("courier_bytes failed");
	if ((f = calloc((size_t)depth, sizeof *f)) == NULL)
		fatalx("out of memory");
	while (issued < depth && issued < total)
		f[issued++] = courier_call_async(c, method, echo_args(pv));
	if (warmup == 0)
		start = now_ns();
	for (done = 0; done < total; done++) {
		if (done == warmup && warmup != 0)
			start = now_ns();
		err = NULL;
		v = courier_future_wait(f[head], COURIER_FOREVER, &err);
		check_echo(v, err, payload, size, "courier_future_wait");
		courier_future_free(f[head]);
		f[head] = NULL;
		if (issued < total) {
			f[head] = courier_call_async(c, method, echo_args(pv));
			issued++;
		}
		head = (head + 1) % depth;
	}
	r.calls_s = n / ((now_ns() - start) / 1e9);
	r.mb_s = r.calls_s * size / 1e6;
	courier_value_unref(pv);
	free(f);
	free(payload);
	return (r);
}

/* ------------------------------------------------------------------ */
/* Report                                                              */
/* ------------------------------------------------------------------ */

/* Print the header of the table. */
static void
print_header(void)
{
	printf("%-5s %-30s %9s %9s %12s %9s %7s %-9s %s\n", "net", "test",
	    "p50 us", "p99 us", "calls/s", "MB/s", "ratio", "target", "");
}

/* Print a measured number, or "-". */
static void
print_num(double v, int width, int prec)
{
	if (v < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*.*f", width, prec, v);
}

/*
 * Print one row. ratio < 0 prints none; target_op is "<=" or ">=" and
 * target 0 means that none is set.
 */
static void
print_row(enum transport t, const char *test, const struct result *r,
    double ratio, const char *target_op, double target)
{
	char	tbuf[32];
	bool	ok;

	printf("%-5s %-30s", transport_names[t], test);
	print_num(r->p50_us, 9, 1);
	print_num(r->p99_us, 9, 1);
	print_num(r->calls_s, 12, 0);
	print_num(r->mb_s, 9, 1);
	if (target_op == NULL) {
		printf("\n");
	} else if (ratio < 0) {
		printf(" %7s %-9s %s\n", "n/a", "", "(floor not run)");
	} else if (target == 0) {
		printf(" %7.2f %-9s\n", ratio, "none");
	} else {
		snprintf(tbuf, sizeof tbuf, "%s %.1f", target_op, target);
		if (strcmp(target_op, "<=") == 0)
			ok = ratio <= target;
		else
			ok = ratio >= target;
		printf(" %7.2f %-9s %s\n", ratio, tbuf, ok ? "ok" : "MISSED");
	}
	fflush(stdout);
}

/* a / b, or -1 if either is unknown. */
static double
ratio_of(double a, double b)
{
	if (a < 0 || b <= 0)
		return (-1);
	return (a / b);
}

/* Print the floor of one transport. */
static void
report_raw(enum transport t, const struct baseline *fl)
{
	print_row(t, "raw ping-pong 64B", &fl->ping, -1, NULL, 0);
	print_row(t, "raw pipelined 64B x64", &fl->pipe, -1, NULL, 0);
	print_row(t, "raw ping-pong 1MiB", &fl->big_ping, -1, NULL, 0);
	print_row(t, "raw pipelined 1MiB x8", &fl->big_pipe, -1, NULL, 0);
}

/* Run and print courier's figures for one transport. */
static void
rpc_run(enum transport t, const char *addr, const struct baseline *fl)
{
	static const struct {
		const char	*method;
		const char	*label;
	} modes[] = {
		{ "echo", "pool" },
		{ "echo-inline", "inline" },
	};
	courier_client	*c;
	struct result	 r, none = no_result();
	const struct baseline *f = fl->have ? fl : NULL;
	char		*cause = NULL, label[64];
	long		 bigwarm = opt_big / 20 > 2 ? opt_big / 20 : 2;
	size_t		 m;

	if ((c = courier_client_new(addr, &cause)) == NULL)
		fatalx("courier_client_new %s: %s", addr, cause);
	courier_client_set_timeout(c, CALL_TIMEOUT_MS);

	for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		snprintf(label, sizeof label, "courier sync 64B %s",
		    modes[m].label);
		r = call_sync(c, modes[m].method, SMALL_SIZE, opt_warmup,
		    opt_calls);
		print_row(t, label, &r, ratio_of(r.p50_us,
		    f ? f->ping.p50_us : none.p50_us), "<=", 1.5);

		snprintf(label, sizeof label, "courier futures 64B x64 %s",
		    modes[m].label);
		r = call_window(c, modes[m].method, SMALL_SIZE,
		    SMALL_DEPTH, SMALL_DEPTH * 16, opt_pipelined);
		print_row(t, label, &r, ratio_of(r.calls_s,
		    f ? f->pipe.calls_s : none.calls_s), ">=", 0.5);

		snprintf(label, sizeof label, "courier sync 1MiB %s",
		    modes[m].label);
		r = call_sync(c, modes[m].method, BIG_SIZE, bigwarm,
		    opt_big);
		print_row(t, label, &r, ratio_of(r.mb_s,
		    f ? f->big_ping.mb_s : none.mb_s), ">=", 0.7);

		snprintf(label, sizeof label, "courier futures 1MiB x8 %s",
		    modes[m].label);
		r = call_window(c, modes[m].method, BIG_SIZE, BIG_DEPTH,
		    bigwarm, opt_big);
		print_row(t, label, &r, ratio_of(r.mb_s,
		    f ? f->big_pipe.mb_s : none.mb_s), ">=", 0.7);
	}
	courier_client_free(c);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

/* Print usage and exit 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: courier-bench [--calls N] [--pipelined N] [--big N] "
	    "[--quick]\n"
	    "                     [--only raw|courier] [--unix-only]\n");
	exit(2);
}

/* Parse a positive count for option name. */
static long
parse_count(const char *name, const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v <= 0 ||
	    v > 100000000) {
		fprintf(stderr, "courier-bench: --%s: bad count \"%s\"\n",
		    name, s);
		usage();
	}
	return (v);
}

/* Fork every server, measure the floor and courier, print the table. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "calls", required_argument, NULL, 'c' },
		{ "pipelined", required_argument, NULL, 'p' },
		{ "big", required_argument, NULL, 'b' },
		{ "quick", no_argument, NULL, 'q' },
		{ "only", required_argument, NULL, 'o' },
		{ "unix-only", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct baseline	 floors[2];
	struct sigaction sa;
	const char	*tmp;
	char		 raw_addr[2][PATH_MAX], courier_addr[2][PATH_MAX + 16];
	pid_t		 raw_pid[2] = { -1, -1 }, courier_pid[2] = { -1, -1 };
	bool		 quick = false, set_calls = false, set_pipe = false;
	bool		 set_big = false;
	int		 ch, ntrans;
	enum transport	 t;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt_calls = parse_count("calls", optarg);
			set_calls = true;
			break;
		case 'p':
			opt_pipelined = parse_count("pipelined", optarg);
			set_pipe = true;
			break;
		case 'b':
			opt_big = parse_count("big", optarg);
			set_big = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'o':
			if (strcmp(optarg, "raw") == 0)
				opt_courier = false;
			else if (strcmp(optarg, "courier") == 0)
				opt_raw = false;
			else {
				fprintf(stderr, "courier-bench: --only: "
				    "\"%s\" is not raw or courier\n", optarg);
				usage();
			}
			break;
		case 'u':
			opt_unix_only = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* --quick: about 1/20 of the defaults, unless a count was given. */
	if (quick) {
		if (!set_calls)
			opt_calls /= 20;
		if (!set_pipe)
			opt_pipelined /= 20;
		if (!set_big)
			opt_big /= 20;
		opt_warmup /= 20;
	}
	ntrans = opt_unix_only ? 1 : 2;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(tmpdir, sizeof tmpdir, "%s/courier-bench.XXXXXX",
	    tmp) >= sizeof tmpdir)
		fatalx("TMPDIR too long for a socket path: %s", tmp);
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		fatal("mkdtemp in %s", tmp);
	}
	if ((size_t)snprintf(raw_path, sizeof raw_path, "%s/%s", tmpdir,
	    RAW_SOCK) >= sizeof raw_path ||
	    (size_t)snprintf(courier_path, sizeof courier_path, "%s/%s",
	    tmpdir, COURIER_SOCK) >= sizeof courier_path)
		fatalx("socket path too long in %s", tmpdir);

	/* Every server is forked now, before a courier client has threads. */
	for (t = T_UNIX; (int)t < ntrans; t++) {
		if (opt_raw)
			raw_pid[t] = raw_server_start(t, raw_addr[t],
			    sizeof raw_addr[t]);
		if (opt_courier)
			courier_pid[t] = courier_child_start(t,
			    courier_addr[t], sizeof courier_addr[t]);
	}

	printf("courier-bench: %ld sync calls (+%ld warm-up), %ld pipelined, "
	    "%ld of 1 MiB\n", opt_calls, opt_warmup, opt_pipelined, opt_big);
	print_header();
	for (t = T_UNIX; (int)t < ntrans; t++) {
		memset(&floors[t], 0, sizeof floors[t]);
		if (opt_raw) {
			raw_run(t, raw_addr[t], &floors[t]);
			report_raw(t, &floors[t]);
			stop_child(raw_pid[t]);
		}
		if (opt_courier) {
			rpc_run(t, courier_addr[t], &floors[t]);
			stop_child(courier_pid[t]);
		}
	}
	cleanup();
	return (0);
}
