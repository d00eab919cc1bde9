/*
 * soak.c: a long run that looks for growth, not speed.
 *
 *	soak [-t SECONDS] [-c CYCLES] [--lpd LPD --lpctl LPCTL --node NODE]
 *
 * Part one: a courier server in a child process (one pool method, one
 * inline) takes sync calls from one thread and windows of 64 futures from
 * another for SECONDS (default 60). Part two, when lpd and lpctl are
 * given: lpd in a child process runs CYCLES (default 200) rounds of
 * launch, a call into a node, stop, wait and forget of a program of four
 * NODE courier nodes. Both sample the server's (lpd's) resident memory and
 * open descriptors, and print the growth from the end of the warm-up (the
 * first fifth) to the end: after warm-up it should be zero.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <courier/courier.h>

#define WINDOW	64

/* A sample of a process's footprint. */
struct sample {
	long	 rss_kib;
	int	 fds;
};

static char		 tmpdir[] = "/tmp/lpd-soak.XXXXXX";
static atomic_bool	 stopping;
static atomic_llong	 nsync, nfutures;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "soak: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Resident memory and open descriptors of pid. */
static struct sample
sample_of(pid_t pid)
{
	struct sample	 s = { -1, 0 };
	char		 path[64], line[256];
	FILE		*f;
	DIR		*d;
	struct dirent	*de;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			if (sscanf(line, "VmRSS: %ld", &s.rss_kib) == 1)
				break;
		}
		fclose(f);
	}
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			s.fds += de->d_name[0] != '.';
		closedir(d);
	}
	return (s);
}

static courier_value *
echo(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*v = courier_request_arg(req, 0);

	return (v != NULL ? courier_value_ref(v) : courier_null());
}

/* The server's process: serve until killed. */
static void __attribute__((noreturn))
serve(const char *address)
{
	courier_server	*s;
	char		*cause = NULL;

	s = courier_server_new();
	if (courier_server_add_method(s, "echo", echo, NULL, 0, &cause) != 0 ||
	    courier_server_add_method(s, "iecho", echo, NULL,
	    COURIER_METHOD_INLINE, &cause) != 0 ||
	    courier_server_listen(s, address, &cause) != 0 ||
	    courier_server_start(s, &cause) != 0)
		die("server: %s", cause);
	for (;;)
		pause();
}

static void *
sync_thread(void *arg)
{
	courier_client	*c = arg;
	courier_value	*v;
	courier_error	*err = NULL;
	long long	 i;

	for (i = 0; !atomic_load(&stopping); i++) {
		v = courier_call(c, i % 2 ? "echo" : "iecho",
		    courier_args(courier_int(i)), &err);
		if (v == NULL)
			die("sync call: %s", courier_error_message(err));
		courier_value_unref(v);
		atomic_fetch_add(&nsync, 1);
	}
	return (NULL);
}

static void *
futures_thread(void *arg)
{
	courier_client	*c = arg;
	courier_future	*f[WINDOW];
	courier_value	*v;
	courier_error	*err = NULL;
	int		 i;

	while (!atomic_load(&stopping)) {
		for (i = 0; i < WINDOW; i++)
			f[i] = courier_call_async(c, i % 2 ? "echo" : "iecho",
			    courier_args(courier_string("sixty-four bytes of "
			    "payload, give or take, for every future here")));
		for (i = 0; i < WINDOW; i++) {
			if ((v = courier_future_wait(f[i], 30000, &err)) ==
			    NULL)
				die("future: %s", courier_error_message(err));
			courier_value_unref(v);
			courier_future_free(f[i]);
		}
		atomic_fetch_add(&nfutures, WINDOW);
	}
	return (NULL);
}

/* Print one part's growth from after warm-up to the end. */
static void
report(const char *what, struct sample first, struct sample warm,
    struct sample last)
{
	printf("%s: RSS %ld KiB at start, %ld KiB after warm-up, %ld KiB at "
	    "the end: growth %+ld KiB; fds %d, %d, %d: growth %+d\n", what,
	    first.rss_kib, warm.rss_kib, last.rss_kib,
	    last.rss_kib - warm.rss_kib, first.fds, warm.fds, last.fds,
	    last.fds - warm.fds);
}

static void
soak_courier(int seconds)
{
	courier_client	*c1, *c2;
	pthread_t	 t1, t2;
	struct sample	 first, warm = { 0, 0 }, last;
	char		 address[128], *cause = NULL;
	double		 start, warm_at;
	pid_t		 pid;
	bool		 warmed = false;

	snprintf(address, sizeof address, "unix:%s/echo.sock", tmpdir);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		serve(address);
	if ((c1 = courier_client_new(address, &cause)) == NULL ||
	    (c2 = courier_client_new(address, &cause)) == NULL)
		die("client: %s", cause);
	courier_client_set_timeout(c1, 30000);
	pthread_create(&t1, NULL, sync_thread, c1);
	pthread_create(&t2, NULL, futures_thread, c2);
	start = now_s();
	warm_at = start + seconds / 5.0;
	sleep(1);
	first = sample_of(pid);
	while (now_s() < start + seconds) {
		sleep(1);
		if (!warmed && now_s() >= warm_at) {
			warm = sample_of(pid);
			warmed = true;
		}
	}
	last = sample_of(pid);
	atomic_store(&stopping, true);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	courier_client_free(c1);
	courier_client_free(c2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!warmed)
		warm = first;
	printf("courier: %lld sync calls and %lld futures in %d s "
	    "(%.0f calls/s)\n", atomic_load(&nsync), atomic_load(&nfutures),
	    seconds, (atomic_load(&nsync) + atomic_load(&nfutures)) /
	    (double)seconds);
	report("courier server", first, warm, last);
}

/* Run lpctl with args, output (and, if quiet, errors) to /dev/null. */
static int
lpctl(const char *path, const char *sock, bool quiet, const char *a,
    const char *b, const char *c, const char *d)
{
	pid_t	 pid;
	int	 st;

	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    (quiet && freopen("/dev/null", "w", stderr) == NULL))
			_exit(127);
		execl(path, "lpctl", "--socket", sock, a, b, c, d,
		    (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1)
		die("waitpid: %s", strerror(errno));
	return (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void
soak_lpd(const char *lpd, const char *lpctl_path, const char *node,
    int cycles)
{
	struct sample	 first = { 0, 0 }, warm = { 0, 0 }, last;
	char		 sock[128], state[128], file[128], abs[PATH_MAX];
	double		 start;
	FILE		*f;
	pid_t		 pid;
	int		 i, tries;

	snprintf(sock, sizeof sock, "%s/lpd.sock", tmpdir);
	snprintf(state, sizeof state, "%s/state", tmpdir);
	snprintf(file, sizeof file, "%s/soak.json", tmpdir);
	if (realpath(node, abs) == NULL)
		die("%s: %s", node, strerror(errno));
	node = abs;
	if ((f = fopen(file, "w")) == NULL)
		die("%s", file);
	fprintf(f, "{\"program\": \"soak\", \"stop\": {\"grace_s\": 5}, "
	    "\"nodes\": [{\"group\": \"n\", \"type\": \"courier\", "
	    "\"replicas\": 4, \"command\": [\"%s\"]}]}\n", node);
	fclose(f);

	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl(lpd, "lpd", "-f", "-S", sock, "-s", state, (char *)NULL);
		_exit(127);
	}
	/* lpd is starting: its socket may not be there yet. */
	for (tries = 0; lpctl(lpctl_path, sock, true, "status", NULL, NULL,
	    NULL) != 0; tries++) {
		if (tries == 200)
			die("lpd at %s does not answer", sock);
		usleep(50000);
	}
	start = now_s();
	for (i = 0; i < cycles; i++) {
		if (i == 1)
			first = sample_of(pid);
		if (i == cycles / 5)
			warm = sample_of(pid);
		if (lpctl(lpctl_path, sock, false, "launch", file, NULL,
		    NULL) != 0)
			die("cycle: lpctl launch %s failed", file);
		/* The call waits for the node to serve. */
		for (tries = 0; lpctl(lpctl_path, sock, true, "call", "soak",
		    "n/0", "ping") != 0; tries++) {
			if (tries == 200)
				die("cycle: %s", "lpctl call fails");
			usleep(10000);
		}
		if (lpctl(lpctl_path, sock, false, "stop", "soak", NULL,
		    NULL) != 0 || lpctl(lpctl_path, sock, false, "forget",
		    "soak", NULL, NULL) != 0)
			die("cycle: %s", "stop or forget failed");
	}
	last = sample_of(pid);
	printf("lpd: %d launch/call/stop/forget cycles of 4 nodes in %.1f s\n",
	    cycles, now_s() - start);
	report("lpd", first, warm, last);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Remove the temporary folder and what is in it. */
static void
cleanup(void)
{
	char	 cmd[160];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "soak: cannot remove %s\n", tmpdir);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lpd", required_argument, NULL, 'L' },
		{ "lpctl", required_argument, NULL, 'C' },
		{ "node", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*lpd = NULL, *lpctl_path = NULL, *node = NULL;
	int		 ch, seconds = 60, cycles = 200;

	while ((ch = getopt_long(argc, argv, "t:c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			seconds = atoi(optarg);
			break;
		case 'c':
			cycles = atoi(optarg);
			break;
		case 'L':
			lpd = optarg;
			break;
		case 'C':
			lpctl_path = optarg;
			break;
		case 'N':
			node = optarg;
			break;
		default:
			fprintf(stderr, "usage: soak [-t SECONDS] [-c CYCLES] "
			    "[--lpd LPD --lpctl LPCTL --node NODE]\n");
			return (2);
		}
	}
	if (seconds < 1 || cycles < 1)
		die("%s", "-t and -c take a positive number");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	soak_courier(seconds);
	if (lpd != NULL && lpctl_path != NULL && node != NULL)
		soak_lpd(lpd, lpctl_path, node, cycles);
	else
		printf("lpd: not soaked (give --lpd, --lpctl and --node)\n");
	return (0);
}
