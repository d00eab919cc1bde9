/*
 * check-supervisor.c: unit tests of the supervisor core with real
 * processes: small /bin/sh scripts written into a scratch folder, and
 * this binary re-executed as a courier node (--serve-node), which serves
 * on LP_LISTEN_FD until SIGTERM. Nothing here asserts a duration: every
 * wait has a generous deadline, so a hang fails instead of stalling.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "courier-internal.h"
#include "logfile.h"
#include "lpd.h"

#define DEADLINE_S	20.0

/* This binary, to run again as a courier node. */
static char	 self_exe[PATH_MAX];
/* A scratch folder for scripts, program files and logs. */
static char	 tmpdir[PATH_MAX];
static struct event_base *base;

/*
 * Faults in the real spawn path: this binary's fork() and clone() are the
 * ones the supervisor calls (lpd_core is linked in statically). It lets fork_skip
 * calls through, then fails fork_fail of them with EAGAIN, as a full
 * process table or RLIMIT_NPROC would. Both are 0 outside those tests.
 */
static unsigned	 fork_skip;
static unsigned	 fork_fail;

/* What a test saw of its run. */
struct tctx {
	struct lpd_run		*run;
	int			 ndone;
	int			 status;
	unsigned		 nev[LPD_EV_ERROR + 1];
	char			*out;		/* "O|E NODE LINE\n" ... */
	char			*evlog;		/* "EVENT NODE MSG\n" ... */
	/* Per test: stop when a node prints this line. */
	const char		*stop_on_line;
	bool			 stop_kill;	/* ... and kill at once */
	double			 regrace;	/* ... then this grace (> 0) */
	/* Per test: stop at the first event of this kind (-1: none). */
	int			 stop_on_event;
	const char		*stop_on_event_node;
	unsigned		 nready;
	void			*user;		/* per test */
	/* Per test: called on every event, after it is logged. */
	void			(*hook)(struct tctx *, struct lpd_node *,
				    enum lpd_event, const char *);
};

static const char *const ev_names[] = {
	"STARTED", "READY", "EXITED", "RESTARTING", "STOPPING", "WAITING",
	"KILLED", "ERROR",
};

/* Append printf-style text to *s. */
static void
append(char **s, const char *fmt, ...) COURIER_PRINTF(2, 3);
static void
append(char **s, const char *fmt, ...)
{
	va_list	 ap;
	char	*add, *joined;

	va_start(ap, fmt);
	xvasprintf(&add, fmt, ap);
	va_end(ap);
	xasprintf(&joined, "%s%s", *s != NULL ? *s : "", add);
	free(add);
	free(*s);
	*s = joined;
}

static void
t_output(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct tctx	*t = arg;

	append(&t->out, "%c %s %.*s\n", err ? 'E' : 'O', n->name, (int)len,
	    line);
	if (t->stop_on_line != NULL && strlen(t->stop_on_line) == len &&
	    memcmp(t->stop_on_line, line, len) == 0) {
		lpd_run_stop(n->run, false, "the test saw its line");
		if (t->stop_kill)
			lpd_run_stop(n->run, true, "the test kills");
		if (t->regrace > 0)
			lpd_run_set_grace(n->run, t->regrace);
	}
}

static void
t_event(void *arg, struct lpd_node *n, enum lpd_event ev, const char *msg)
{
	struct tctx	*t = arg;

	ck_assert_int_le(ev, LPD_EV_ERROR);
	t->nev[ev]++;
	append(&t->evlog, "%s %s %s\n", ev_names[ev],
	    n != NULL ? n->name : "-", msg != NULL ? msg : "");
	if (ev == LPD_EV_STARTED) {
		ck_assert_ptr_nonnull(n);
		/* Nodes of fake ops (user set) are not processes. */
		if (t->user == NULL)
			ck_assert_int_gt(n->pid, 0);
	}
	if (ev == LPD_EV_READY) {
		t->nready++;
		ck_assert_int_eq(n->state, LPD_NODE_RUNNING);
	}
	if (t->hook != NULL)
		t->hook(t, n, ev, msg);
	if ((int)ev == t->stop_on_event && (t->stop_on_event_node == NULL ||
	    (n != NULL && strcmp(n->name, t->stop_on_event_node) == 0))) {
		t->stop_on_event = -1;
		lpd_run_stop(n->run, false, "the test saw its event");
	}
}

static void
t_done(void *arg, struct lpd_run *run, int status)
{
	struct tctx	*t = arg;

	ck_assert_int_eq(lpd_run_done(run), true);
	ck_assert_int_eq(lpd_run_status(run), status);
	t->ndone++;
	t->status = status;
}

static const struct lpd_run_cb t_cb = { t_output, t_event, t_done };

/* A tick, so that one pass of the loop never blocks for long. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until pred(t) (NULL: the run is done) or the deadline. */
static bool
loop_until(struct tctx *t, bool (*pred)(struct tctx *), double seconds)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 20 * 1000 };
	int64_t		 deadline;
	bool		 ok;

	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	deadline = mono_ns() + (int64_t)(seconds * NSEC_PER_SEC);
	for (;;) {
		ok = pred != NULL ? pred(t) : t->ndone != 0;
		if (ok || mono_ns() > deadline)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(tick);
	return (ok);
}

/* Run the loop for a little while, to catch what should not happen. */
static void
loop_a_while(double seconds)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 10 * 1000 };
	int64_t		 deadline;

	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	deadline = mono_ns() + (int64_t)(seconds * NSEC_PER_SEC);
	while (mono_ns() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
}

static void
t_init(struct tctx *t)
{
	memset(t, 0, sizeof *t);
	t->status = -1;
	t->stop_on_event = -1;
}

static void
t_clear(struct tctx *t)
{
	if (t->run != NULL)
		lpd_run_free(t->run);
	free(t->out);
	free(t->evlog);
	memset(t, 0, sizeof *t);
}

/* The lines node printed, each "O|E LINE\n", in order. */
static char *
node_lines(const struct tctx *t, const char *node)
{
	const char	*p, *nl;
	char		*s = xstrdup("");
	size_t		 len = strlen(node);

	for (p = t->out; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (strncmp(p + 2, node, len) == 0 && p[2 + len] == ' ')
			append(&s, "%c %.*s\n", p[0], (int)(nl - p - 3 - len),
			    p + 3 + len);
	}
	return (s);
}

/* Whether pid is gone (or a zombie that nobody of ours can reap). */
static bool
is_dead(pid_t pid)
{
	char	 path[64], buf[512], *p;
	size_t	 n;
	FILE	*f;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return (true);
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (true);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return (false);
	return (p[2] == 'Z' || p[2] == 'X');
}

/* Wait for pid to be gone. */
static bool
wait_dead(pid_t pid, double seconds)
{
	int64_t	 deadline;

	deadline = mono_ns() + (int64_t)(seconds * NSEC_PER_SEC);
	while (!is_dead(pid)) {
		if (mono_ns() > deadline)
			return (false);
		usleep(10 * 1000);
	}
	return (true);
}

/* Wait for path to be removed. */
static bool
wait_gone(const char *path, double seconds)
{
	int64_t	 deadline;

	deadline = mono_ns() + (int64_t)(seconds * NSEC_PER_SEC);
	while (access(path, F_OK) == 0) {
		if (mono_ns() > deadline)
			return (false);
		usleep(10 * 1000);
	}
	return (true);
}

/* Read a pid that a node wrote into file NAME of the scratch folder. */
static pid_t
read_pid_file(const char *name, double seconds)
{
	char	*path;
	FILE	*f;
	long	 pid = 0;
	int64_t	 deadline;

	xasprintf(&path, "%s/%s", tmpdir, name);
	deadline = mono_ns() + (int64_t)(seconds * NSEC_PER_SEC);
	while ((f = fopen(path, "r")) == NULL) {
		if (mono_ns() > deadline)
			break;
		usleep(10 * 1000);
	}
	free(path);
	if (f == NULL)
		return (0);
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return ((pid_t)pid);
}

/* Write text to NAME in the scratch folder; the caller frees the path. */
static char *
tmp_write(const char *name, const char *text, mode_t mode)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return (path);
}

/* A /bin/sh script NAME in the scratch folder. */
static void
script(const char *name, const char *body)
{
	char	*text;

	xasprintf(&text, "#!/bin/sh\n%s\n", body);
	free(tmp_write(name, text, 0755));
	free(text);
}

/* Load a program file written from fmt; it must be valid. */
static struct lpd_program *
prog(const char *fmt, ...) COURIER_PRINTF(1, 2);
static struct lpd_program *
prog(const char *fmt, ...)
{
	struct lpd_program	*p;
	va_list			 ap;
	char			*text, *path, *cause = NULL;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	path = tmp_write("prog.json", text, 0644);
	p = lpd_program_load(path, NULL, &cause);
	ck_assert_msg(p != NULL, "%s: %s", text, cause != NULL ? cause : "");
	free(text);
	free(path);
	return (p);
}

/* Start p with opts (NULL: defaults); it must start. */
static void
start(struct tctx *t, struct lpd_program *p, const struct lpd_run_opts *opts)
{
	struct lpd_run_opts	 dflt;
	char			*cause = NULL;

	if (opts == NULL) {
		memset(&dflt, 0, sizeof dflt);
		dflt.grace_s = -1;
		opts = &dflt;
	}
	t->run = lpd_run_start(base, p, opts, &t_cb, t, &cause);
	ck_assert_msg(t->run != NULL, "lpd_run_start: %s", cause);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(t->ndone, 0);
}

/* Run until done, which must come (once). */
static void
finish(struct tctx *t)
{
	ck_assert_msg(loop_until(t, NULL, DEADLINE_S),
	    "the run did not end; events:\n%s", t->evlog);
	ck_assert_int_eq(t->ndone, 1);
}

static void
setup(void)
{
	const char	*b;
	char		 real[PATH_MAX];

	if ((b = getenv("TMPDIR")) == NULL || *b == '\0')
		b = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/check-supervisor.XXXXXX", b);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* pwd in a node prints the real path. */
	ck_assert_ptr_nonnull(realpath(tmpdir, real));
	snprintf(tmpdir, sizeof tmpdir, "%s", real);
	ck_assert_ptr_nonnull(base = event_base_new());
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return (remove(path));
}

static void
teardown(void)
{
	event_base_free(base);
	base = NULL;
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whether this fork (or clone) fails, as a test asked (see fork_fail). */
static bool
fork_fails(void)
{
	if (fork_skip > 0)
		fork_skip--;
	else if (fork_fail > 0) {
		fork_fail--;
		errno = EAGAIN;
		return (true);
	}
	return (false);
}

/* fork (the keeper's), counted with clone. */
pid_t
fork(void)
{
	static pid_t	(*real)(void);

	/* POSIX's way to take a function from dlsym's void *. */
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fork");
	return (fork_fails() ? -1 : real());
}

/* clone (the nodes'), counted with fork; the core passes four arguments. */
int
clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static int	(*real)(int (*)(void *), void *, int, void *, ...);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "clone");
	return (fork_fails() ? -1 : real(fn, stack, flags, arg));
}

/* How many files this process has open. */
static int
count_fds(void)
{
	DIR		*dir;
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(dir = opendir("/proc/self/fd"));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(dir);
	return (n - 1);		/* the folder's own */
}

/* ------------------------------------------------------------------ */

/*
 * A node starts with its own fds and no other: 0 1 2 for a process, and
 * LP_LISTEN_FD 3 and LP_READY_FD 4 for a courier node, however many the
 * supervisor holds, and whether or not they are close-on-exec.
 */
/* The shell's fds, listed by a child with no pipe of the shell's. */
#define LIST_FDS	"ls /proc/$$/fd"
START_TEST(test_supervisor_node_fds)
{
	struct tctx		 t;
	char			*lines, want[64];
	int			 extra[200], i, fd;
	unsigned		 j;

	for (i = 0; i < 200; i++) {
		fd = open("/dev/null", O_RDONLY | (i % 2 ? O_CLOEXEC : 0));
		ck_assert_int_ne(fd, -1);
		extra[i] = fd;
	}
	t_init(&t);
	/* sh -c, not a script: dash keeps a script's file open on 10. */
	start(&t, prog("{\"program\": \"fds\", \"nodes\": ["
	    "{\"group\": \"p\", \"type\": \"process\", \"replicas\": 3,"
	    " \"command\": [\"/bin/sh\", \"-c\", \"%s\"]},"
	    "{\"group\": \"c\", \"type\": \"courier\", \"replicas\": 3,"
	    " \"command\": [\"/bin/sh\", \"-c\", \"%s\"]}]}", LIST_FDS,
	    LIST_FDS), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	for (j = 0; j < 6; j++) {
		snprintf(want, sizeof want, "%s/%u", j < 3 ? "p" : "c", j % 3);
		lines = node_lines(&t, want);
		ck_assert_str_eq(lines, j < 3 ? "O 0\nO 1\nO 2\n" :
		    "O 0\nO 1\nO 2\nO 3\nO 4\n");
		free(lines);
	}
	t_clear(&t);
	for (i = 0; i < 200; i++)
		close(extra[i]);
}
END_TEST

START_TEST(test_supervisor_exit_ok)
{
	struct tctx		 t;
	struct lpd_node		*n;
	struct stat		 sb;
	char			*dir;

	t_init(&t);
	script("ok.sh", "exit 0");
	start(&t, prog("{\"program\": \"ok\", \"nodes\": [{\"group\": \"g\", "
	    "\"type\": \"process\", \"command\": [\"ok.sh\"]}]}"), NULL);
	ck_assert_int_eq(lpd_run_nnodes(t.run), 1);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	ck_assert_ptr_null(lpd_run_cause(t.run));
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->state, LPD_NODE_EXITED);
	ck_assert_int_eq(n->pid, 0);
	ck_assert_int_eq(WIFEXITED(n->status) && WEXITSTATUS(n->status) == 0,
	    1);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 1);
	ck_assert_int_eq(t.nev[LPD_EV_EXITED], 1);
	ck_assert_int_eq(t.nev[LPD_EV_STOPPING], 0);
	ck_assert_int_eq(t.nev[LPD_EV_READY], 0);
	ck_assert_ptr_null(n->address);

	/* done comes once; stop after done does nothing. */
	lpd_run_stop(t.run, true, "late");
	loop_a_while(0.1);
	ck_assert_int_eq(t.ndone, 1);
	ck_assert_int_eq(t.nev[LPD_EV_STOPPING], 0);

	dir = xstrdup(lpd_run_runtime_dir(t.run));
	ck_assert_int_eq(stat(dir, &sb), 0);
	t_clear(&t);
	ck_assert_int_eq(stat(dir, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(dir);
}
END_TEST

START_TEST(test_supervisor_exit_fail)
{
	struct tctx	 t;
	struct lpd_node	*bad, *slow;

	t_init(&t);
	script("bad.sh", "exit 3");
	script("slow.sh", "exec sleep 1000");
	start(&t, prog("{\"program\": \"fail\", \"nodes\": ["
	    "{\"group\": \"slow\", \"type\": \"process\", "
	    "\"command\": [\"slow.sh\"]},"
	    "{\"group\": \"bad\", \"type\": \"process\", "
	    "\"command\": [\"bad.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run), "bad/0 exited with status 3");
	bad = lpd_run_find(t.run, "bad/0");
	slow = lpd_run_find(t.run, "slow/0");
	ck_assert_ptr_nonnull(bad);
	ck_assert_ptr_nonnull(slow);
	ck_assert_int_eq(bad->state, LPD_NODE_FAILED);
	ck_assert_int_eq(WEXITSTATUS(bad->status), 3);
	/* Stopped by the failure: SIGTERM, which is not a failure. */
	ck_assert_int_eq(slow->state, LPD_NODE_EXITED);
	ck_assert_int_eq(WIFSIGNALED(slow->status), 1);
	ck_assert_int_eq(WTERMSIG(slow->status), SIGTERM);
	ck_assert_int_eq(slow->killed, false);
	ck_assert_int_eq(t.nev[LPD_EV_STOPPING], 1);
	ck_assert_ptr_nonnull(strstr(t.evlog,
	    "STOPPING - bad/0 exited with status 3\n"));
	ck_assert_ptr_nonnull(strstr(t.evlog, "WAITING - waiting 10 s for 1 "
	    "node to stop\n"));
	ck_assert_ptr_nonnull(strstr(t.evlog,
	    "EXITED slow/0 killed by signal 15 (SIGTERM)\n"));
	t_clear(&t);
}
END_TEST

START_TEST(test_supervisor_ignore)
{
	struct tctx	 t;
	struct lpd_node	*n;

	t_init(&t);
	script("bad.sh", "exit 3");
	script("ok.sh", "exit 0");
	start(&t, prog("{\"program\": \"ign\", \"nodes\": ["
	    "{\"group\": \"bad\", \"type\": \"process\", "
	    "\"on_failure\": \"ignore\", \"command\": [\"bad.sh\"]},"
	    "{\"group\": \"ok\", \"type\": \"process\", "
	    "\"command\": [\"ok.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	ck_assert_ptr_null(lpd_run_cause(t.run));
	n = lpd_run_find(t.run, "bad/0");
	ck_assert_int_eq(n->state, LPD_NODE_FAILED);
	ck_assert_int_eq(t.nev[LPD_EV_STOPPING], 0);
	t_clear(&t);
}
END_TEST

START_TEST(test_supervisor_restart_on_failure)
{
	struct tctx	 t;
	struct lpd_node	*n;

	t_init(&t);
	script("bad.sh", "echo start; exit 3");
	start(&t, prog("{\"program\": \"rs\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"restart\": \"on-failure\", \"max_restarts\": 2, "
	    "\"command\": [\"bad.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run), "g/0 exited with status 3");
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 3);
	ck_assert_int_eq(t.nev[LPD_EV_EXITED], 3);
	ck_assert_int_eq(t.nev[LPD_EV_RESTARTING], 2);
	ck_assert_ptr_nonnull(strstr(t.evlog, "RESTARTING g/0 restarting in "
	    "0.1 s (restart 1 of 2)\n"));
	ck_assert_ptr_nonnull(strstr(t.evlog, "RESTARTING g/0 restarting in "
	    "0.2 s (restart 2 of 2)\n"));
	ck_assert_str_eq(t.out, "O g/0 start\nO g/0 start\nO g/0 start\n");
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->restarts, 2);
	ck_assert_int_eq(n->state, LPD_NODE_FAILED);
	t_clear(&t);
}
END_TEST

/* A healthy run (long enough) starts the backoff and max_restarts over. */
START_TEST(test_supervisor_restart_healthy)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;

	t_init(&t);
	t.stop_on_line = "run 4";
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	opts.healthy_ms = 100;
	/* Each run lasts 0.3 s, then fails; the fourth stays. */
	script("flaky.sh", "n=$(cat count 2>/dev/null || echo 0)\n"
	    "n=$((n + 1)); echo $n > count\nsleep 0.3\necho run $n\n"
	    "[ $n -ge 4 ] && exec sleep 1000\nexit 3");
	start(&t, prog("{\"program\": \"rh\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"restart\": \"on-failure\", \"max_restarts\": 1, "
	    "\"command\": [\"flaky.sh\"]}]}"), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	n = lpd_run_node(t.run, 0);
	/* Three restarts with a budget of one: each came after a healthy run. */
	ck_assert_int_eq(n->restarts, 3);
	ck_assert_int_eq(t.nev[LPD_EV_RESTARTING], 3);
	ck_assert_ptr_null(strstr(t.evlog, "restart 2 of 1"));
	ck_assert_ptr_null(strstr(t.evlog, "restarting in 0.2 s"));
	t_clear(&t);
}
END_TEST

START_TEST(test_supervisor_restart_always)
{
	struct tctx	 t;
	struct lpd_node	*n;

	t_init(&t);
	script("ok.sh", "exit 0");
	start(&t, prog("{\"program\": \"ra\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"restart\": \"always\", \"max_restarts\": 2, "
	    "\"command\": [\"ok.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 3);
	ck_assert_int_eq(t.nev[LPD_EV_RESTARTING], 2);
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->restarts, 2);
	ck_assert_int_eq(n->state, LPD_NODE_EXITED);
	t_clear(&t);
}
END_TEST

/* A stop during a backoff cancels the restart. */
START_TEST(test_supervisor_stop_backoff)
{
	struct tctx	 t;
	struct lpd_node	*n;

	t_init(&t);
	t.stop_on_event = LPD_EV_RESTARTING;
	script("bad.sh", "exit 3");
	start(&t, prog("{\"program\": \"sb\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"restart\": \"on-failure\", \"command\": [\"bad.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 1);
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->state, LPD_NODE_EXITED);
	loop_a_while(0.3);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 1);
	t_clear(&t);
}
END_TEST

/* A node that honours SIGTERM stops within the grace period. */
START_TEST(test_supervisor_stop_term)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;

	t_init(&t);
	t.stop_on_line = "ready";
	memset(&opts, 0, sizeof opts);
	opts.grace_s = 60;
	script("term.sh", "trap 'echo bye; exit 0' TERM\n"
	    "echo ready\nsleep 1000 &\nwait");
	start(&t, prog("{\"program\": \"st\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"command\": [\"term.sh\"]}]}"), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->state, LPD_NODE_EXITED);
	ck_assert_int_eq(n->killed, false);
	ck_assert_int_eq(WIFEXITED(n->status) && WEXITSTATUS(n->status) == 0,
	    1);
	ck_assert_str_eq(t.out, "O g/0 ready\nO g/0 bye\n");
	ck_assert_ptr_nonnull(strstr(t.evlog, "STOPPING - the test saw its "
	    "line\nWAITING - waiting 60 s for 1 node to stop\n"));
	ck_assert_int_eq(t.nev[LPD_EV_KILLED], 0);
	t_clear(&t);
}
END_TEST

/* A node that ignores SIGTERM is killed after the grace, with its child. */
START_TEST(test_supervisor_stop_kill)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;
	char			 buf[64];
	pid_t			 gc;

	t_init(&t);
	t.stop_on_line = "ready";
	memset(&opts, 0, sizeof opts);
	opts.grace_s = 0.2;
	script("deaf.sh", "trap '' TERM\nsleep 1000 &\necho $! > gc.pid\n"
	    "echo ready\nwait");
	start(&t, prog("{\"program\": \"sk\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"command\": [\"deaf.sh\"]}]}"), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->state, LPD_NODE_EXITED);
	ck_assert_int_eq(n->killed, true);
	ck_assert_int_eq(t.nev[LPD_EV_KILLED], 1);
	ck_assert_str_eq(lpd_wait_string(n->status, buf, sizeof buf),
	    "killed by signal 9 (SIGKILL)");
	gc = read_pid_file("gc.pid", 1);
	ck_assert_int_gt(gc, 0);
	ck_assert_msg(wait_dead(gc, DEADLINE_S), "pid %ld lives", (long)gc);
	t_clear(&t);
}
END_TEST

/* A second stop, with kill, does not wait for the grace period. */
START_TEST(test_supervisor_stop_twice)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;

	t_init(&t);
	t.stop_on_line = "ready";
	t.stop_kill = true;
	memset(&opts, 0, sizeof opts);
	opts.grace_s = 3600;
	script("deaf.sh", "trap '' TERM\necho ready\nsleep 1000");
	start(&t, prog("{\"program\": \"s2\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"command\": [\"deaf.sh\"]}]}"), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->killed, true);
	ck_assert_int_eq(n->state, LPD_NODE_EXITED);
	ck_assert_int_eq(WTERMSIG(n->status), SIGKILL);
	ck_assert_int_eq(t.nev[LPD_EV_STOPPING], 1);
	t_clear(&t);
}
END_TEST

/* A grace period changed during the stop counts from then. */
START_TEST(test_supervisor_stop_regrace)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;

	t_init(&t);
	t.stop_on_line = "ready";
	t.regrace = 0.2;
	memset(&opts, 0, sizeof opts);
	opts.grace_s = 3600;
	script("deaf.sh", "trap '' TERM\necho ready\nsleep 1000");
	start(&t, prog("{\"program\": \"rg\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"command\": [\"deaf.sh\"]}]}"), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->killed, true);
	ck_assert_int_eq(WTERMSIG(n->status), SIGKILL);
	ck_assert_ptr_nonnull(strstr(t.evlog, "waiting 3600 s for 1 node"));
	ck_assert_ptr_nonnull(strstr(t.evlog, "waiting 0.2 s for 1 node"));
	t_clear(&t);
}
END_TEST

/* What a node leaves behind dies when it ends. */
START_TEST(test_supervisor_grandchild)
{
	struct tctx	 t;
	pid_t		 gc;

	t_init(&t);
	script("gc.sh", "sleep 1000 &\necho $! > gc.pid\nexit 0");
	start(&t, prog("{\"program\": \"gc\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"command\": [\"gc.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	gc = read_pid_file("gc.pid", 1);
	ck_assert_int_gt(gc, 0);
	ck_assert_msg(wait_dead(gc, DEADLINE_S), "pid %ld lives", (long)gc);
	t_clear(&t);
}
END_TEST

START_TEST(test_supervisor_output)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	char			*a4096, *a904, *b4096, *b1024, *want, *got;
	char			*logdir, *path, *p, buf[32768];
	ssize_t			 n;
	int			 fd;

	t_init(&t);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	opts.log_lines = 3;
	xasprintf(&logdir, "%s/logs/deep", tmpdir);
	opts.log_dir = logdir;
	script("out.sh", "echo one\n"
	    "head -c 5000 /dev/zero | tr '\\0' a; echo\n"
	    "head -c 8192 /dev/zero | tr '\\0' b; echo\n"
	    "echo\n"
	    "printf tail");
	script("err.sh", "echo to-err >&2\necho to-out");
	start(&t, prog("{\"program\": \"out\", \"nodes\": ["
	    "{\"group\": \"out\", \"type\": \"process\", "
	    "\"command\": [\"out.sh\"]},"
	    "{\"group\": \"err\", \"type\": \"process\", "
	    "\"command\": [\"err.sh\"]}]}"), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);

	a4096 = xmalloc(4097);
	memset(a4096, 'a', 4096);
	a4096[4096] = '\0';
	a904 = xstrndup(a4096, 904);
	b4096 = xstrdup(a4096);
	memset(b4096, 'b', 4096);
	b1024 = xstrndup(b4096, 1024);

	xasprintf(&want, "O one\nO %s\nO %s\nO %s\nO %s\nO \nO tail\n", a4096,
	    a904, b4096, b4096);
	got = node_lines(&t, "out/0");
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	got = node_lines(&t, "err/0");
	ck_assert_int_eq(strstr(got, "E to-err\n") != NULL, 1);
	ck_assert_int_eq(strstr(got, "O to-out\n") != NULL, 1);
	free(got);

	/* The ring keeps 3 lines, each cut at 1 KiB. */
	got = lpd_run_last_lines(lpd_run_find(t.run, "out/0"));
	xasprintf(&want, "%s\n\ntail", b1024);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);

	xasprintf(&path, "%s/out/0.log", logdir);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	n = read(fd, buf, sizeof buf - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	close(fd);
	/* Every line starts with its time; without them, the lines. */
	for (p = buf; p < buf + n; p = strchr(p, '\n') + 1)
		ck_assert_msg(lpd_log_is_stamp(p, (size_t)(buf + n - p)),
		    "log line without its time: %.40s", p);
	buf[lpd_log_unstamp(buf, (size_t)n)] = '\0';
	xasprintf(&want, "one\n%s\n%s\n%s\n%s\n\ntail\n", a4096, a904, b4096,
	    b4096);
	ck_assert_str_eq(buf, want);
	free(want);
	free(path);

	free(a4096);
	free(a904);
	free(b4096);
	free(b1024);
	free(logdir);
	t_clear(&t);
}
END_TEST

/* The server serves and the process node has exited. */
static bool
env_ended(struct tctx *t)
{
	return (t->nready == 1 &&
	    lpd_run_find(t->run, "p/0")->state == LPD_NODE_EXITED);
}

START_TEST(test_supervisor_env)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*srv;
	char *const		 env[] = { "PATH=/usr/bin:/bin", "FOO=base",
				    "KEEP=1", "LP_NODE=stale",
				    "LP_ADDRESS=stale", NULL };
	char			*got, *want, *sub;

	t_init(&t);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	opts.env = env;
	xasprintf(&sub, "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	script("env.sh", "env | grep -E '^(FOO|KEEP|LP_[A-Z_]*)=' | "
	    "LC_ALL=C sort\n"
	    "echo \"cwd=$(pwd)\"");
	start(&t, prog("{\"program\": \"envprog\", \"nodes\": ["
	    "{\"group\": \"srv\", \"type\": \"courier\", "
	    "\"command\": [\"%s\", \"--serve-node\"]},"
	    "{\"group\": \"p\", \"type\": \"process\", \"run\": false, "
	    "\"cwd\": \"sub\", \"env\": {\"FOO\": \"group\"}, "
	    "\"config\": {\"peer\": {\"$handle\": \"srv\"}, \"n\": 1}, "
	    "\"command\": [\"env.sh\"]}]}", self_exe), &opts);
	ck_assert_msg(loop_until(&t, env_ended, DEADLINE_S),
	    "events:\n%s", t.evlog);
	lpd_run_stop(t.run, false, "the test is over");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	srv = lpd_run_find(t.run, "srv/0");
	ck_assert_ptr_nonnull(srv->address);

	got = node_lines(&t, "p/0");
	xasprintf(&want, "O FOO=group\nO KEEP=1\n"
	    "O LP_CONFIG={\"peer\":\"%s\",\"n\":1}\nO LP_CONTROL=%s\n"
	    "O LP_HANDLES=[\"peer\"]\n"
	    "O LP_NODE=p/0\nO LP_PROGRAM=envprog\nO LP_RUN=0\nO cwd=%s\n",
	    srv->address, lpd_run_control(t.run), sub);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);

	/* The courier node prints what it got. */
	got = node_lines(&t, "srv/0");
	xasprintf(&want, "O LP_ADDRESS=%s\nO LP_LISTEN_FD=3\nO LP_RUN=1\n",
	    srv->address);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free(sub);
	t_clear(&t);
}
END_TEST

static bool
all_ready(struct tctx *t)
{
	return (t->nready == lpd_run_nnodes(t->run));
}

/* Courier nodes become ready, serve on their address, and stop. */
START_TEST(test_supervisor_courier_ready)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	char			*path = NULL;
	struct stat		 sb;
	size_t			 i;

	t_init(&t);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = 30;
	opts.tcp = _i == 1;
	start(&t, prog("{\"program\": \"ready\", \"nodes\": ["
	    "{\"group\": \"srv\", \"type\": \"courier\", \"replicas\": 2, "
	    "\"command\": [\"%s\", \"--serve-node\"]}]}", self_exe), &opts);
	ck_assert_msg(loop_until(&t, all_ready, DEADLINE_S),
	    "not ready; events:\n%s", t.evlog);
	for (i = 0; i < lpd_run_nnodes(t.run); i++) {
		n = lpd_run_node(t.run, i);
		ck_assert_int_eq(n->state, LPD_NODE_RUNNING);
		ck_assert_int_eq(strncmp(n->address, opts.tcp ?
		    "tcp:127.0.0.1:" : "unix:", opts.tcp ? 14 : 5), 0);
		c = courier_client_new(n->address, NULL);
		courier_client_set_timeout(c, 10000);
		v = courier_call(c, "ping", courier_list_new(), &err);
		ck_assert_msg(v != NULL, "ping %s: %s", n->address,
		    courier_error_message(err));
		ck_assert_str_eq(courier_value_string(v, NULL), "pong");
		courier_value_unref(v);
		courier_client_free(c);
		if (!opts.tcp && i == 0)
			path = xstrdup(n->address + 5);
	}
	lpd_run_stop(t.run, false, "the test is over");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	for (i = 0; i < lpd_run_nnodes(t.run); i++) {
		n = lpd_run_node(t.run, i);
		ck_assert_int_eq(n->state, LPD_NODE_EXITED);
		ck_assert_int_eq(n->killed, false);
		ck_assert_int_eq(WIFEXITED(n->status), 1);
		ck_assert_int_eq(WEXITSTATUS(n->status), 0);
	}
	if (path != NULL) {
		/* A final node's socket is gone. */
		ck_assert_int_eq(stat(path, &sb), -1);
		free(path);
	}
	t_clear(&t);
}
END_TEST

/* A courier node that is restarted keeps its address. */
START_TEST(test_supervisor_courier_restart)
{
	struct tctx	 t;
	struct lpd_node	*n;
	char		*addr;

	t_init(&t);
	start(&t, prog("{\"program\": \"cr\", \"nodes\": ["
	    "{\"group\": \"srv\", \"type\": \"courier\", "
	    "\"restart\": \"always\", \"max_restarts\": 1, "
	    "\"command\": [\"%s\", \"--serve-node\"]}]}", self_exe), NULL);
	ck_assert_msg(loop_until(&t, all_ready, DEADLINE_S),
	    "not ready; events:\n%s", t.evlog);
	n = lpd_run_node(t.run, 0);
	addr = xstrdup(n->address);
	/* SIGTERM to the node alone: it exits 0 and comes back. */
	ck_assert_int_eq(kill(n->pid, SIGTERM), 0);
	t.nready = 0;
	ck_assert_msg(loop_until(&t, all_ready, DEADLINE_S),
	    "not ready again; events:\n%s", t.evlog);
	ck_assert_int_eq(n->restarts, 1);
	ck_assert_str_eq(n->address, addr);
	ck_assert_int_eq(n->state, LPD_NODE_RUNNING);
	lpd_run_stop(t.run, false, "the test is over");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	free(addr);
	t_clear(&t);
}
END_TEST

/* stop_program on the control socket stops the program, which succeeds. */
START_TEST(test_supervisor_control)
{
	struct tctx	 t;
	courier_client	*c;
	courier_future	*f;
	courier_value	*v;
	courier_error	*err = NULL;
	char		*want;

	t_init(&t);
	script("slow.sh", "exec sleep 1000");
	start(&t, prog("{\"program\": \"ctl\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"command\": [\"slow.sh\"]}]}"), NULL);
	xasprintf(&want, "unix:%s/control", lpd_run_runtime_dir(t.run));
	ck_assert_str_eq(lpd_run_control(t.run), want);
	free(want);
	c = courier_client_new(lpd_run_control(t.run), NULL);
	ck_assert_ptr_nonnull(c);
	f = courier_call_async(c, "stop_program",
	    courier_args(courier_string("g/0")));
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	ck_assert_ptr_nonnull(strstr(t.evlog,
	    "STOPPING - g/0 asked to stop the program\n"));
	v = courier_future_wait(f, 10000, &err);
	ck_assert_msg(v != NULL, "stop_program: %s",
	    courier_error_message(err));
	ck_assert_int_eq(courier_value_type(v), COURIER_NULL);
	courier_value_unref(v);
	courier_future_free(f);
	courier_client_free(c);
	t_clear(&t);
}
END_TEST

/* A command that cannot be executed fails its node, with the reason. */
START_TEST(test_supervisor_exec_fail)
{
	struct tctx		 t;
	struct lpd_program	*p;
	char			*path;

	t_init(&t);
	script("noexec.sh", "exit 0");
	p = prog("{\"program\": \"nx\", \"nodes\": [{\"group\": \"g\", "
	    "\"type\": \"process\", \"command\": [\"noexec.sh\"]}]}");
	xasprintf(&path, "%s/noexec.sh", tmpdir);
	ck_assert_int_eq(chmod(path, 0644), 0);
	start(&t, p, NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_int_eq(t.nev[LPD_EV_ERROR], 1);
	ck_assert_msg(strstr(t.evlog, "ERROR g/0 cannot execute ") != NULL &&
	    strstr(t.evlog, "noexec.sh: Permission denied\n") != NULL,
	    "events:\n%s", t.evlog);
	ck_assert_ptr_nonnull(strstr(lpd_run_cause(t.run),
	    "g/0: cannot execute "));
	ck_assert_int_eq(lpd_run_node(t.run, 0)->state, LPD_NODE_FAILED);
	free(path);
	t_clear(&t);
}
END_TEST

/*
 * fork failing (EAGAIN) is a failed start of the node, not of the
 * supervisor: the group's restart policy retries it with its backoff, and
 * nothing the failed start opened is left open.
 */
START_TEST(test_supervisor_fork_fail)
{
	struct tctx	 t;
	struct lpd_node	*n;
	int		 fds;

	t_init(&t);
	script("up.sh", "echo up; exit 3");
	fds = count_fds();
	/* The keeper and the first start fork; the next two starts fail. */
	fork_skip = 2;
	fork_fail = 2;
	start(&t, prog("{\"program\": \"ff\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"restart\": \"on-failure\", \"max_restarts\": 3, "
	    "\"command\": [\"up.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(fork_fail, 0);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run), "g/0 exited with status 3");
	ck_assert_int_eq(t.nev[LPD_EV_ERROR], 2);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 2);
	ck_assert_msg(strstr(t.evlog, "ERROR g/0 cannot start: fork: "
	    "Resource temporarily unavailable\n"
	    "EXITED g/0 did not start\n"
	    "RESTARTING g/0 restarting in 0.2 s (restart 2 of 3)\n") != NULL,
	    "events:\n%s", t.evlog);
	ck_assert_ptr_nonnull(strstr(t.evlog, "RESTARTING g/0 restarting in "
	    "0.4 s (restart 3 of 3)\n"));
	ck_assert_str_eq(t.out, "O g/0 up\nO g/0 up\n");
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->restarts, 3);
	ck_assert_int_eq(n->state, LPD_NODE_FAILED);
	t_clear(&t);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* Two groups; g's on_failure is the one parameter. */
#define FFF_TEXT "{\"program\": \"fff\", \"nodes\": ["			\
	    "{\"group\": \"slow\", \"type\": \"process\", "		\
	    "\"command\": [\"slow.sh\"]},"				\
	    "{\"group\": \"g\", \"type\": \"process\", "		\
	    "\"on_failure\": \"%s\", \"command\": [\"slow.sh\"]}]}"

/*
 * A node that cannot be forked and has no restart left fails: it stops
 * the program under on_failure stop_program, and the others run on under
 * ignore.
 */
START_TEST(test_supervisor_fork_fail_final)
{
	struct tctx		 t;
	struct lpd_node		*g, *slow;

	script("slow.sh", "exec sleep 1000");
	t_init(&t);
	fork_skip = 2;		/* the keeper and slow/0 */
	fork_fail = 1;
	start(&t, prog(FFF_TEXT, "stop_program"), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run), "g/0: cannot start: fork: "
	    "Resource temporarily unavailable");
	g = lpd_run_find(t.run, "g/0");
	slow = lpd_run_find(t.run, "slow/0");
	ck_assert_int_eq(g->state, LPD_NODE_FAILED);
	ck_assert_int_eq(g->restarts, 0);
	ck_assert_int_eq(slow->state, LPD_NODE_EXITED);
	ck_assert_int_eq(WTERMSIG(slow->status), SIGTERM);
	t_clear(&t);

	t_init(&t);
	fork_skip = 2;
	fork_fail = 1;
	start(&t, prog(FFF_TEXT, "ignore"), NULL);
	loop_a_while(0.2);
	ck_assert_int_eq(t.ndone, 0);
	g = lpd_run_find(t.run, "g/0");
	slow = lpd_run_find(t.run, "slow/0");
	ck_assert_int_eq(g->state, LPD_NODE_FAILED);
	ck_assert_int_eq(slow->state, LPD_NODE_RUNNING);
	ck_assert_int_gt(slow->pid, 0);
	lpd_run_stop(t.run, false, "the test is over");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	t_clear(&t);
}
#undef FFF_TEXT
END_TEST

/* What test_supervisor_emfile holds: the files that fill the table. */
struct emfile {
	int	 fds[512];
	int	 nfds;
	bool	 filled;
};

/* Fill the file table when the node first ends; empty it at the error. */
static void
emfile_hook(struct tctx *t, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct emfile	*e = t->user;
	int		 fd;

	if (ev == LPD_EV_EXITED && !e->filled) {
		e->filled = true;
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_ne(fd, -1);
		e->fds[e->nfds++] = fd;
		while (e->nfds < (int)nitems(e->fds) &&
		    (fd = fcntl(e->fds[0], F_DUPFD_CLOEXEC, 0)) != -1)
			e->fds[e->nfds++] = fd;
		ck_assert_int_eq(errno, EMFILE);
	}
	if (ev == LPD_EV_ERROR) {
		while (e->nfds > 0)
			close(e->fds[--e->nfds]);
	}
}

/*
 * Out of file descriptors (EMFILE) when a node restarts: a failed start,
 * retried after its backoff, which works once there are files again.
 */
START_TEST(test_supervisor_emfile)
{
	struct tctx	 t;
	struct emfile	 e;
	struct rlimit	 old, rl;
	struct lpd_node	*n;
	int		 fds;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	/* A table the test can fill. */
	rl.rlim_cur = old.rlim_max < 256 ? old.rlim_max : 256;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	memset(&e, 0, sizeof e);
	t_init(&t);
	t.user = &e;
	t.hook = emfile_hook;
	script("up.sh", "echo up; exit 3");
	fds = count_fds();
	start(&t, prog("{\"program\": \"mf\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", "
	    "\"restart\": \"on-failure\", \"max_restarts\": 2, "
	    "\"command\": [\"up.sh\"]}]}"), NULL);
	finish(&t);
	ck_assert_int_eq(e.filled, true);
	ck_assert_int_eq(e.nfds, 0);
	ck_assert_int_eq(t.nev[LPD_EV_ERROR], 1);
	ck_assert_msg(strstr(t.evlog, "ERROR g/0 cannot start: ") != NULL &&
	    strstr(t.evlog, "Too many open files\n") != NULL,
	    "events:\n%s", t.evlog);
	ck_assert_str_eq(t.out, "O g/0 up\nO g/0 up\n");
	n = lpd_run_node(t.run, 0);
	ck_assert_int_eq(n->restarts, 2);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run), "g/0 exited with status 3");
	t_clear(&t);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

/* A program that cannot start starts nothing and says why. */
START_TEST(test_supervisor_start_fail)
{
	struct lpd_program	*p;
	struct lpd_run_opts	 opts;
	struct lpd_run		*run;
	char			*cause = NULL, *dir;

	script("ok.sh", "exit 0");
	p = prog("{\"program\": \"sf\", \"nodes\": [{\"group\": \"g\", "
	    "\"type\": \"courier\", \"command\": [\"ok.sh\"]}]}");
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;

	xasprintf(&dir, "%s/%0100d", tmpdir, 0);
	opts.runtime_dir = dir;
	run = lpd_run_start(base, p, &opts, &t_cb, NULL, &cause);
	ck_assert_ptr_null(run);
	ck_assert_msg(strstr(cause, "too long for Unix socket paths") != NULL,
	    "%s", cause);
	free(cause);
	cause = NULL;
	free(dir);

	opts.runtime_dir = "/nonexistent/lpd-test";
	run = lpd_run_start(base, p, &opts, &t_cb, NULL, &cause);
	ck_assert_ptr_null(run);
	ck_assert_str_eq(cause, "cannot make runtime folder "
	    "/nonexistent/lpd-test: No such file or directory");
	free(cause);
	cause = NULL;

	/* A log folder that cannot be made; the runtime folder goes. */
	xasprintf(&dir, "%s/rt", tmpdir);
	opts.runtime_dir = dir;
	opts.log_dir = "/proc/lpd-test/logs";
	run = lpd_run_start(base, p, &opts, &t_cb, NULL, &cause);
	ck_assert_ptr_null(run);
	ck_assert_msg(strstr(cause, "cannot make log folder /proc/lpd-test")
	    != NULL, "%s", cause);
	ck_assert_int_eq(access(dir, F_OK), -1);
	free(cause);
	free(dir);
	lpd_program_free(p);
}
END_TEST

/* Freeing a run that is not done kills and reaps its nodes. */
START_TEST(test_supervisor_free_running)
{
	struct tctx	 t;
	pid_t		 pid;

	t_init(&t);
	script("slow.sh", "exec sleep 1000");
	start(&t, prog("{\"program\": \"fr\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", \"replicas\": 3, "
	    "\"command\": [\"slow.sh\"]}]}"), NULL);
	pid = lpd_run_node(t.run, 2)->pid;
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(lpd_run_done(t.run), false);
	t_clear(&t);
	/* Reaped, not a zombie: the pid is gone at once. */
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
}
END_TEST

START_TEST(test_supervisor_find)
{
	struct tctx	 t;
	struct lpd_node	*n;

	t_init(&t);
	script("ok.sh", "exit 0");
	start(&t, prog("{\"program\": \"find\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\", "
	    "\"command\": [\"ok.sh\"]},"
	    "{\"group\": \"b\", \"type\": \"process\", \"replicas\": 12, "
	    "\"command\": [\"ok.sh\"]}]}"), NULL);
	ck_assert_int_eq(lpd_run_nnodes(t.run), 13);
	n = lpd_run_find(t.run, "b/11");
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_eq(n, lpd_run_node(t.run, 12));
	ck_assert_str_eq(n->name, "b/11");
	ck_assert_int_eq(n->index, 11);
	ck_assert_int_eq(n->group, 1);
	ck_assert_ptr_eq(lpd_run_find(t.run, "a/0"), lpd_run_node(t.run, 0));
	ck_assert_ptr_null(lpd_run_find(t.run, "b/12"));
	ck_assert_ptr_null(lpd_run_find(t.run, "a/"));
	ck_assert_ptr_null(lpd_run_find(t.run, "a/-1"));
	ck_assert_ptr_null(lpd_run_find(t.run, "a/0x"));
	ck_assert_ptr_null(lpd_run_find(t.run, "c/0"));
	ck_assert_ptr_null(lpd_run_find(t.run, "a"));
	ck_assert_ptr_null(lpd_run_node(t.run, 13));
	ck_assert_ptr_nonnull(lpd_run_program(t.run));
	finish(&t);
	t_clear(&t);
}
END_TEST

START_TEST(test_supervisor_strings)
{
	char	 buf[64];

	ck_assert_str_eq(lpd_wait_string(0, buf, sizeof buf),
	    "exited with status 0");
	ck_assert_str_eq(lpd_wait_string(3 << 8, buf, sizeof buf),
	    "exited with status 3");
	ck_assert_str_eq(lpd_wait_string(SIGKILL, buf, sizeof buf),
	    "killed by signal 9 (SIGKILL)");
	ck_assert_str_eq(lpd_wait_string(SIGSEGV | 0x80, buf, sizeof buf),
	    "killed by signal 11 (SIGSEGV), core dumped");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_PENDING), "pending");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_STARTING), "starting");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_RUNNING), "running");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_BACKOFF), "backoff");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_STOPPING), "stopping");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_EXITED), "exited");
	ck_assert_str_eq(lpd_node_state_name(LPD_NODE_FAILED), "failed");
}
END_TEST

static bool
all_running(struct tctx *t)
{
	size_t	 i;

	for (i = 0; i < lpd_run_nnodes(t->run); i++) {
		if (lpd_run_node(t->run, i)->state != LPD_NODE_RUNNING)
			return (false);
	}
	return (true);
}

/* Many nodes start, run and stop (no timing asserted: bench/ does). */
START_TEST(test_supervisor_many)
{
	struct tctx	 t;
	size_t		 i;

	t_init(&t);
	script("slow.sh", "exec sleep 1000");
	start(&t, prog("{\"program\": \"many\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\", \"replicas\": 200, "
	    "\"command\": [\"slow.sh\"]}]}"), NULL);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 200);
	ck_assert_msg(loop_until(&t, all_running, DEADLINE_S),
	    "not all running");
	lpd_run_stop(t.run, false, "the test is over");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	ck_assert_int_eq(t.nev[LPD_EV_KILLED], 0);
	for (i = 0; i < lpd_run_nnodes(t.run); i++)
		ck_assert_int_eq(lpd_run_node(t.run, i)->state,
		    LPD_NODE_EXITED);
	t_clear(&t);
}
END_TEST

/* When the supervisor is SIGKILLed, the keeper kills every node group. */
START_TEST(test_supervisor_keeper)
{
	struct lpd_program	*p;
	struct lpd_run_opts	 opts;
	struct event_base	*b;
	pid_t			 child, node, gc;
	int			 status;
	char			*rt;

	script("keep.sh", "trap '' TERM\nsleep 1000 &\n"
	    "echo $! > gc.tmp && mv gc.tmp gc.pid\n"
	    "echo $$ > node.tmp && mv node.tmp node.pid\nwait");
	p = prog("{\"program\": \"keeper\", \"nodes\": [{\"group\": \"g\", "
	    "\"type\": \"process\", \"command\": [\"keep.sh\"]}]}");
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	xasprintf(&rt, "%s/rt", tmpdir);
	opts.runtime_dir = rt;

	child = fork();
	ck_assert_int_ne(child, -1);
	if (child == 0) {
		/* The supervisor that dies; no check calls in here. */
		if ((b = event_base_new()) == NULL ||
		    lpd_run_start(b, p, &opts, NULL, NULL, NULL) == NULL)
			_exit(2);
		event_base_dispatch(b);
		_exit(3);
	}
	lpd_program_free(p);
	node = read_pid_file("node.pid", DEADLINE_S);
	gc = read_pid_file("gc.pid", DEADLINE_S);
	ck_assert_int_gt(node, 0);
	ck_assert_int_gt(gc, 0);
	ck_assert_int_eq(is_dead(node), false);
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WIFSIGNALED(status), 1);
	ck_assert_msg(wait_dead(node, DEADLINE_S), "node %ld lives",
	    (long)node);
	ck_assert_msg(wait_dead(gc, DEADLINE_S), "grandchild %ld lives",
	    (long)gc);
	/* The keeper removed the folder the run made, sockets and all. */
	ck_assert_msg(wait_gone(rt, DEADLINE_S), "%s is left", rt);
	free(rt);
}
END_TEST

/* --serve-node: a courier node on LP_LISTEN_FD until SIGTERM. */
static courier_value *
ping(void *self, courier_request *req, courier_error **err)
{
	return (courier_string("pong"));
}

static int
serve_node(void)
{
	courier_server	*s;
	sigset_t	 set;
	const char	*fd, *addr, *run;
	char		*cause = NULL;
	int		 sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	addr = getenv("LP_ADDRESS");
	fd = getenv("LP_LISTEN_FD");
	run = getenv("LP_RUN");
	printf("LP_ADDRESS=%s\nLP_LISTEN_FD=%s\nLP_RUN=%s\n",
	    addr != NULL ? addr : "", fd != NULL ? fd : "",
	    run != NULL ? run : "");
	fflush(stdout);
	if (fd == NULL)
		return (2);
	s = courier_server_new();
	if (courier_server_add_method(s, "ping", ping, NULL,
	    COURIER_METHOD_INLINE, &cause) != 0 ||
	    courier_server_listen_fd(s, atoi(fd), &cause) != 0 ||
	    courier_server_start(s, &cause) != 0) {
		fprintf(stderr, "serve: %s\n", cause);
		return (1);
	}
	sigwait(&set, &sig);
	courier_server_free(s);
	return (0);
}

/* ------------------------------------------------------------------ */
/* Nodes started through lpd_node_ops: the state machine, no fork      */
/* ------------------------------------------------------------------ */

/* Fake ops: they record what they are asked, and start nothing. */
struct fake {
	unsigned	 nstart;
	char		*starts;	/* "NODE run=R listen=L CONFIG\n" */
	char		*signals;	/* "NODE TERM|KILL\n" */
	bool		 fail_start;
};

static int
fake_start(void *arg, struct lpd_node *n, const struct lpd_node_start *s,
    char **cause)
{
	struct fake	*f = arg;

	ck_assert_str_eq(s->node, n->name);
	ck_assert_str_eq(s->program, "ops");
	ck_assert_ptr_nonnull(s->control);
	ck_assert_ptr_eq(s->address, n->address);
	if (s->listen_fd != -1) {
		ck_assert_int_ne(fcntl(s->listen_fd, F_GETFD), -1);
		close(s->listen_fd);
	}
	if (f->fail_start) {
		xasprintf(cause, "no room for it");
		return (-1);
	}
	append(&f->starts, "%s run=%d listen=%d %s\n", s->node, s->run,
	    s->listen_fd != -1, s->config);
	f->nstart++;
	return (0);
}

static void
fake_signal(void *arg, struct lpd_node *n, int sig)
{
	struct fake	*f = arg;

	append(&f->signals, "%s %s\n", n->name, sig == SIGTERM ? "TERM" :
	    sig == SIGKILL ? "KILL" : "other");
}

static bool
two_starts(struct tctx *t)
{
	struct fake	*f = t->user;

	return (f->nstart >= 3);
}

/*
 * The same addresses, configs and policy as for processes: a restart on
 * failure, then the failure with the ops' cause, and the stop notice.
 */
START_TEST(test_supervisor_ops_restart)
{
	struct tctx		 t;
	struct fake		 f;
	struct lpd_node_ops	 ops = { fake_start, fake_signal, &f, false };
	struct lpd_run_opts	 opts;
	struct lpd_node		*a, *b;
	char			*want;

	memset(&f, 0, sizeof f);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	opts.ops = &ops;
	t_init(&t);
	t.user = &f;
	start(&t, prog("{\"program\": \"ops\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\", \"command\": [\"true\"],"
	    " \"restart\": \"on-failure\", \"max_restarts\": 1,"
	    " \"config\": {\"peer\": {\"$handle\": \"b\"}}},"
	    "{\"group\": \"b\", \"type\": \"courier\", \"command\": [\"true\"],"
	    " \"run\": false}]}"), &opts);
	a = lpd_run_find(t.run, "a/0");
	b = lpd_run_find(t.run, "b/0");
	ck_assert_int_eq(f.nstart, 2);
	xasprintf(&want, "a/0 run=1 listen=0 {\"peer\":\"%s\"}\n"
	    "b/0 run=0 listen=1 null\n", b->address);
	ck_assert_str_eq(f.starts, want);
	free(want);
	/* No exec to wait for; a courier node waits for its probe. */
	ck_assert_int_eq(a->state, LPD_NODE_RUNNING);
	ck_assert_int_eq(b->state, LPD_NODE_STARTING);
	ck_assert_int_eq(t.nev[LPD_EV_STARTED], 2);

	lpd_run_node_exited(t.run, a, W_EXITCODE(2, 0), "boom");
	ck_assert_int_eq(a->state, LPD_NODE_BACKOFF);
	ck_assert_msg(loop_until(&t, two_starts, DEADLINE_S), "%s", t.evlog);
	ck_assert_int_eq(a->restarts, 1);
	ck_assert_int_eq(a->state, LPD_NODE_RUNNING);
	lpd_run_node_exited(t.run, a, W_EXITCODE(2, 0), "boom again");
	ck_assert_int_eq(a->state, LPD_NODE_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run),
	    "a/0 exited with status 2: boom again");
	ck_assert_ptr_nonnull(strstr(t.evlog,
	    "EXITED a/0 exited with status 2: boom\n"));
	ck_assert_ptr_nonnull(f.signals);
	ck_assert_str_eq(f.signals, "b/0 TERM\n");
	ck_assert_int_eq(t.ndone, 0);
	lpd_run_node_exited(t.run, b, W_EXITCODE(0, 0), NULL);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_int_eq(b->state, LPD_NODE_EXITED);
	t_clear(&t);
	free(f.starts);
	free(f.signals);
}
END_TEST

/* A kill at once reaches the ops; a node they cannot start fails. */
START_TEST(test_supervisor_ops_kill)
{
	struct tctx		 t;
	struct fake		 f;
	struct lpd_node_ops	 ops = { fake_start, fake_signal, &f, false };
	struct lpd_run_opts	 opts;
	struct lpd_node		*a;
	const char		*text = "{\"program\": \"ops\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"courier\", \"replicas\": 2,"
	    " \"command\": [\"true\"]}]}";

	memset(&f, 0, sizeof f);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	opts.ops = &ops;
	t_init(&t);
	t.user = &f;
	start(&t, prog("%s", text), &opts);
	lpd_run_stop(t.run, true, "the test kills");
	ck_assert_str_eq(f.signals, "a/0 KILL\na/1 KILL\n");
	ck_assert_int_eq(t.nev[LPD_EV_KILLED], 2);
	lpd_run_node_exited(t.run, lpd_run_find(t.run, "a/1"),
	    W_EXITCODE(0, 0), NULL);
	ck_assert_int_eq(t.ndone, 0);
	a = lpd_run_find(t.run, "a/0");
	lpd_run_node_exited(t.run, a, W_EXITCODE(1, 0), "late");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);
	t_clear(&t);
	free(f.starts);
	free(f.signals);

	/* A node the ops cannot start fails the program, saying why. */
	memset(&f, 0, sizeof f);
	f.fail_start = true;
	t_init(&t);
	t.user = &f;
	start(&t, prog("%s", text), &opts);
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_FAILED);
	ck_assert_str_eq(lpd_run_cause(t.run),
	    "a/0: cannot start: no room for it");
	ck_assert_ptr_null(f.signals);
	t_clear(&t);

	/* Freed while running: the ops get the kill, nothing blocks. */
	memset(&f, 0, sizeof f);
	t_init(&t);
	t.user = &f;
	start(&t, prog("%s", text), &opts);
	t_clear(&t);
	ck_assert_str_eq(f.signals, "a/0 KILL\na/1 KILL\n");
	free(f.starts);
	free(f.signals);
}
END_TEST

/* The log writer stamps each line; readers get whole lines, unstamped. */
START_TEST(test_supervisor_log_stamps)
{
	struct lpd_log	*log;
	char		 dir[] = "/tmp/check-log.XXXXXX", *path, *cause = NULL;
	char		*data, mixed[] = "plain\n"
	    "2026-11-30T16:22:27.123456Z stamped\n2026-11-30T16:22:27Z no\n";
	size_t		 len;
	uint64_t	 next;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	xasprintf(&path, "%s/0.log", dir);
	log = lpd_log_open(path, 1 << 20, 1, &cause);
	ck_assert_msg(log != NULL, "%s", cause);
	ck_assert_int_eq(lpd_log_write(log, "a", 1), 0);
	ck_assert_int_eq(lpd_log_write(log, "", 0), 0);
	ck_assert_int_eq(lpd_log_write_lines(log, "b\nc\n", 4, 2), 0);

	data = lpd_log_since(path, lpd_log_base(log), 0, &len, &next);
	ck_assert_uint_eq(len, 4 * LPD_LOG_STAMP_LEN + 7);
	ck_assert_uint_eq(next, len);
	ck_assert(lpd_log_is_stamp(data, len));
	ck_assert(lpd_log_is_stamp(data + LPD_LOG_STAMP_LEN + 2,
	    len - LPD_LOG_STAMP_LEN - 2));
	len = lpd_log_unstamp(data, len);
	ck_assert_str_eq(data, "a\n\nb\nc\n");
	free(data);

	data = lpd_log_tail(path, 2, lpd_log_base(log), &len, &next);
	len = lpd_log_unstamp(data, len);
	ck_assert_str_eq(data, "b\nc\n");
	free(data);

	/* A line without a whole stamp is left as it is. */
	len = lpd_log_unstamp(mixed, strlen(mixed));
	ck_assert_str_eq(mixed, "plain\nstamped\n2026-11-30T16:22:27Z no\n");

	lpd_log_free(log);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(path);
}
END_TEST

static struct lpd_node *revived;

static bool
revived_exited(struct tctx *t)
{
	return (revived->state == LPD_NODE_EXITED);
}

static bool
revived_again(struct tctx *t)
{
	return (revived->restarts == 1 &&
	    revived->state == LPD_NODE_EXITED);
}

/* A node that ended for good starts again when asked; its log goes on. */
START_TEST(test_supervisor_revive)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	char			*logdir, *path, *cause = NULL, buf[4096];
	ssize_t			 n;
	int			 fd;

	t_init(&t);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	xasprintf(&logdir, "%s/logs", tmpdir);
	opts.log_dir = logdir;
	script("once.sh", "echo once");
	script("hold.sh", "exec sleep 1000");
	start(&t, prog("{\"program\": \"rv\", \"nodes\": ["
	    "{\"group\": \"once\", \"type\": \"process\", "
	    "\"command\": [\"once.sh\"]},"
	    "{\"group\": \"hold\", \"type\": \"process\", "
	    "\"command\": [\"hold.sh\"]}]}"), &opts);
	revived = lpd_run_find(t.run, "once/0");
	ck_assert_msg(loop_until(&t, revived_exited, DEADLINE_S), "%s",
	    t.evlog);
	ck_assert_int_eq(lpd_run_restart_node(t.run, revived, "asked",
	    &cause), 0);
	ck_assert_msg(loop_until(&t, revived_again, DEADLINE_S), "%s",
	    t.evlog);
	ck_assert_ptr_nonnull(strstr(t.evlog, "asked: starting again"));
	ck_assert_int_eq(t.ndone, 0);
	lpd_run_stop(t.run, false, "test");
	finish(&t);
	ck_assert_int_eq(t.status, LPD_STATUS_OK);

	xasprintf(&path, "%s/once/0.log", logdir);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[lpd_log_unstamp(buf, (size_t)n)] = '\0';
	ck_assert_str_eq(buf, "once\nonce\n");
	free(path);
	free(logdir);
	t_clear(&t);
}
END_TEST

/*
 * A courier node may say it serves on LP_READY_FD: one that says so is
 * running without answering any probe (this one never serves); one that
 * closes it without a word is probed at once, and is running once it
 * answers.
 */
START_TEST(test_supervisor_ready_fd)
{
	struct tctx		 t;
	struct lpd_run_opts	 opts;
	struct lpd_node		*n;
	char			*lines;

	t_init(&t);
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	script("says.sh", "echo \"fd $LP_READY_FD\"\nprintf x >&4\n"
	    "exec sleep 1000");
	script("mute.sh", "exec 4>&-\nexec \"$1\" --serve-node");
	start(&t, prog("{\"program\": \"rfd\", \"nodes\": ["
	    "{\"group\": \"says\", \"type\": \"courier\", "
	    "\"command\": [\"says.sh\"]},"
	    "{\"group\": \"mute\", \"type\": \"courier\", "
	    "\"command\": [\"mute.sh\", \"%s\"]}]}", self_exe), &opts);
	ck_assert_msg(loop_until(&t, all_ready, DEADLINE_S),
	    "not ready; events:\n%s", t.evlog);
	n = lpd_run_find(t.run, "says/0");
	ck_assert_int_eq(n->state, LPD_NODE_RUNNING);
	ck_assert_int_eq(lpd_run_find(t.run, "mute/0")->state,
	    LPD_NODE_RUNNING);
	lpd_run_stop(t.run, false, "the test is over");
	finish(&t);
	lines = node_lines(&t, "says/0");
	ck_assert_msg(strstr(lines, "O fd 4\n") != NULL, "%s", lines);
	free(lines);
	t_clear(&t);
}
END_TEST

static Suite *
supervisor_suite(void)
{
	Suite	*s = suite_create("supervisor");
	TCase	*tc;

#define ADD(name, fn) do {						\
	tc = tcase_create(name);					\
	tcase_add_checked_fixture(tc, setup, teardown);			\
	tcase_set_timeout(tc, 60);					\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	ADD("exit_ok", test_supervisor_exit_ok);
	ADD("node_fds", test_supervisor_node_fds);
	ADD("exit_fail", test_supervisor_exit_fail);
	ADD("ignore", test_supervisor_ignore);
	ADD("restart_on_failure", test_supervisor_restart_on_failure);
	ADD("restart_always", test_supervisor_restart_always);
	ADD("restart_healthy", test_supervisor_restart_healthy);
	ADD("stop_backoff", test_supervisor_stop_backoff);
	ADD("stop_term", test_supervisor_stop_term);
	ADD("stop_kill", test_supervisor_stop_kill);
	ADD("stop_regrace", test_supervisor_stop_regrace);
	ADD("stop_twice", test_supervisor_stop_twice);
	ADD("grandchild", test_supervisor_grandchild);
	ADD("output", test_supervisor_output);
	ADD("env", test_supervisor_env);
	ADD("courier_restart", test_supervisor_courier_restart);
	ADD("control", test_supervisor_control);
	ADD("exec_fail", test_supervisor_exec_fail);
	ADD("fork_fail", test_supervisor_fork_fail);
	ADD("fork_fail_final", test_supervisor_fork_fail_final);
	ADD("emfile", test_supervisor_emfile);
	ADD("start_fail", test_supervisor_start_fail);
	ADD("free_running", test_supervisor_free_running);
	ADD("find", test_supervisor_find);
	ADD("strings", test_supervisor_strings);
	ADD("many", test_supervisor_many);
	ADD("keeper", test_supervisor_keeper);
	ADD("ops_restart", test_supervisor_ops_restart);
	ADD("ops_kill", test_supervisor_ops_kill);
	ADD("log_stamps", test_supervisor_log_stamps);
	ADD("revive", test_supervisor_revive);
	ADD("ready_fd", test_supervisor_ready_fd);
#undef ADD
	tc = tcase_create("courier_ready");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_supervisor_courier_ready, 0, 2);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(int argc, char **argv)
{
	SRunner	*sr;
	ssize_t	 n;
	int	 failed;

	if (argc > 1 && strcmp(argv[1], "--serve-node") == 0)
		return (serve_node());
	if ((n = readlink("/proc/self/exe", self_exe,
	    sizeof self_exe - 1)) <= 0) {
		perror("readlink /proc/self/exe");
		return (EXIT_FAILURE);
	}
	self_exe[n] = '\0';
	/* Nodes may die while we write to them; that is not our death. */
	signal(SIGPIPE, SIG_IGN);

	sr = srunner_create(supervisor_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
