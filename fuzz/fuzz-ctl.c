/*
 * fuzz-ctl.c: libFuzzer target for lpd's control requests. The handlers
 * of ctl.c are static and take a courier_request, which only a server
 * makes, so this target runs the real thing: lpd_ctl_start on a daemon
 * made for the test, with its event_base pumped by this thread, and a
 * raw client on its Unix socket.
 *
 * The input is one request a line, "METHOD JSON" (the JSON a dict of
 * keyword arguments, or any other value as the one positional argument),
 * sent after a hello on one connection, as lpctl would send them. Before
 * each input the daemon holds three ended programs (p exited, q failed,
 * r lost) with a few nodes, whose log files exist or not; each request
 * must get exactly one answer, and every answer must decode.
 *
 * Nothing may start: the state folder does not exist, so a launch that
 * passes its checks fails at making the program's folder, and
 * XDG_RUNTIME_DIR is too long for a runtime folder, should it get that
 * far; and should both give way, fork() and execve() below abort. So
 * the paths of stop, wait, logs, call and methods that need a running
 * program are out of reach.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "fuzz.h"
#include "ctl-server.h"
#include "daemon.h"
#include "log.h"
#include "logfile.h"

/* The most requests one input sends. */
#define REQUESTS_MAX	16
/* How long the daemon may take over one input, in milliseconds. */
#define ANSWER_MS	10000
/* The frame limit of the replies read back. */
#define MAX_FRAME	(16 * 1024 * 1024)

static struct lpd_daemon	 d;
static char			 folder[PATH_MAX];
static char			 sock_path[PATH_MAX];
static char			 log_path[3][PATH_MAX];

/*
 * The last guard: lpd starts the keeper and the nodes with fork() and
 * execve(), which resolve to these ahead of the C library's.
 */
pid_t
fork(void)
{
	fuzz_fail("lpd forked: a launch got past the guards");
}

/* The same for running a command. */
int
execve(const char *path, char *const argv[], char *const envp[])
{
	fuzz_fail("lpd ran %s: a launch got past the guards", path);
}

/* Remove one entry of the folder (nftw callback). */
static int
remove_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return (remove(path));
}

/* Stop serving and remove the folder at exit. */
static void
cleanup(void)
{
	struct lpd_prog	*prog;

	lpd_ctl_stop(&d);
	while ((prog = TAILQ_FIRST(&d.progs)) != NULL) {
		TAILQ_REMOVE(&d.progs, prog, entry);
		lpd_prog_free(prog);
	}
	event_base_free(d.base);
	free(d.state_dir);
	log_close();
	nftw(folder, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write a log file of n numbered lines. */
static void
log_make(const char *path, unsigned n)
{
	FILE		*f;
	unsigned	 i;

	if ((f = fopen(path, "w")) == NULL)
		fuzz_fail("cannot make %s", path);
	for (i = 0; i < n; i++)
		fprintf(f, "line %u of %u\n", i, n);
	fputs("no newline at the end", f);
	fclose(f);
}

/* The daemon, its folder and its socket, once per process. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un	 sun;
	const char		*tmp;
	char			 runtime[160], *cause = NULL;
	int			 fd;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(folder, sizeof folder, "%s/lpd-fuzz-ctl.XXXXXX", tmp);
	if (mkdtemp(folder) == NULL)
		fuzz_fail("cannot make %s", folder);
	snprintf(log_path[0], sizeof log_path[0], "%s/w.0.log", folder);
	snprintf(log_path[1], sizeof log_path[1], "%s/w.1.log", folder);
	snprintf(log_path[2], sizeof log_path[2], "%s/s.0.log", folder);
	log_make(log_path[0], 40);
	log_make(log_path[2], 3);	/* w/1's is missing */

	/* Longer than a Unix socket path: no runtime folder is made. */
	memset(runtime, 'x', sizeof runtime - 1);
	runtime[0] = '/';
	runtime[sizeof runtime - 1] = '\0';
	setenv("XDG_RUNTIME_DIR", runtime, 1);
	log_open("/dev/null", 1);

	TAILQ_INIT(&d.progs);
	d.uid = geteuid();
	d.log_max = LPD_LOG_MAX_DEFAULT;
	d.log_keep = LPD_LOG_KEEP_DEFAULT;
	xasprintf(&d.state_dir, "%s/absent", folder);
	if (evthread_use_pthreads() != 0)
		fuzz_fail("evthread_use_pthreads failed");
	if ((d.base = event_base_new()) == NULL)
		fuzz_fail("event_base_new failed");

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sock_path, sizeof sock_path, "%s/lpd.sock", folder);
	if (strlen(sock_path) >= sizeof sun.sun_path)
		fuzz_fail("%s: too long for a socket", sock_path);
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    listen(fd, 16) != 0)
		fuzz_fail("%s: %s", sock_path, strerror(errno));
	if (lpd_ctl_start(&d, fd, &cause) != 0)
		fuzz_fail("lpd_ctl_start: %s", cause);
	atexit(cleanup);
	return (0);
}

/* Give node i of prog its fields. */
static void
node_set(struct lpd_prog *prog, size_t i, const char *group, unsigned index,
    const char *type, const char *log, int status)
{
	struct lpd_prog_node	*pn = &prog->nodes[i];

	xasprintf(&pn->name, "%s/%u", group, index);
	pn->group = xstrdup(group);
	pn->index = index;
	pn->type = xstrdup(type);
	pn->state = xstrdup(status == 0 ? "exited" : "failed");
	if (strcmp(type, "courier") == 0)
		xasprintf(&pn->address, "unix:%s/n%zu", folder, i);
	pn->status = status;
	pn->started = 1700000000.5;
	pn->log = xstrdup(log);
}

/* An ended program, as a record would bring it back. */
static void
prog_add(const char *name, enum lpd_prog_state state, uid_t uid)
{
	struct lpd_prog	*prog;

	prog = lpd_prog_new(&d, name);
	xasprintf(&prog->file, "%s/%s.json", folder, name);
	prog->uid = uid;
	prog->gid = uid;
	prog->state = state;
	prog->status = state == LPD_PROG_EXITED ? 0 : 1;
	if (state != LPD_PROG_EXITED)
		prog->cause = xstrdup(state == LPD_PROG_LOST ?
		    "lost: lpd restarted" : "w/1 exited with status 3");
	prog->started = 1700000000.25;
	prog->ended = 1700000042.75;
	prog->nnodes = 3;
	prog->nodes = xcalloc(prog->nnodes, sizeof *prog->nodes);
	node_set(prog, 0, "w", 0, "process", log_path[0], 0);
	node_set(prog, 1, "w", 1, "process", log_path[1], 3 << 8);
	node_set(prog, 2, "s", 0, "courier", log_path[2], 9);
	TAILQ_INSERT_TAIL(&d.progs, prog, entry);
}

/* Append one call frame for a request line to b; false if it has none. */
static bool
request_pack(struct courier_buf *b, uint64_t id, const char *line,
    size_t len)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__CallRequest	 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments	 pb = COURIER__CALL_ARGUMENTS__INIT;
	struct courier_arena	 a;
	courier_value		*args, *kwargs, *v;
	const char		*sp;
	char			*method, *text, *cause = NULL;

	if ((sp = memchr(line, ' ', len)) == NULL)
		sp = line + len;
	method = xstrndup(line, (size_t)(sp - line));
	text = xstrndup(sp, len - (size_t)(sp - line));
	/* protobuf-c packs the method as a C string. */
	if (strlen(method) != (size_t)(sp - line)) {
		free(method);
		free(text);
		return (false);
	}

	args = courier_list_new();
	kwargs = courier_dict_new();
	if ((v = courier_value_from_json(text, &cause)) == NULL)
		free(cause);
	else if (courier_value_type(v) == COURIER_DICT) {
		courier_value_unref(kwargs);
		kwargs = v;
	} else
		courier_list_append(args, v);

	courier_arena_init(&a);
	if (courier_call_args_to_pb(args, kwargs, &pb, &a, &cause) != 0)
		fuzz_fail("arguments do not encode: %s", cause);
	call.method = method;
	call.arguments = &pb;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_CALL;
	f.call = &call;
	courier_frame_pack(b, &f);
	courier_arena_free(&a);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	free(method);
	free(text);
	return (true);
}

/* Send out, read every answer into in, running the daemon meanwhile. */
static void
exchange(struct courier_buf *out, struct courier_buf *in)
{
	struct sockaddr_un	 sun;
	int64_t			 deadline;
	ssize_t			 n;
	int			 fd;
	bool			 shut = false;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		fuzz_fail("connect %s: %s", sock_path, strerror(errno));

	deadline = mono_ns() + ANSWER_MS * NSEC_PER_MSEC;
	for (;;) {
		if (!shut && courier_buf_used(out) != 0) {
			n = courier_buf_write(out, fd);
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				fuzz_fail("send: %s", strerror(errno));
		}
		if (!shut && courier_buf_used(out) == 0) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		event_base_loop(d.base, EVLOOP_NONBLOCK);
		n = courier_buf_read(in, fd, 0);
		if (n == 0)
			break;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			fuzz_fail("recv: %s", strerror(errno));
		if (mono_ns() > deadline)
			fuzz_fail("lpd did not answer in %d ms", ANSWER_MS);
	}
	close(fd);
	event_base_loop(d.base, EVLOOP_NONBLOCK);
}

/* With FUZZ_VERBOSE set, print an answer (to see what a seed does). */
static void
answer_show(uint64_t id, const courier_value *v, const Courier__Status *st)
{
	char	*text;

	if (getenv("FUZZ_VERBOSE") == NULL)
		return;
	if (st != NULL) {
		fprintf(stderr, "%llu: %s: %s\n", (unsigned long long)id,
		    courier_code_name(st->code), st->message);
		return;
	}
	text = courier_value_to_json(v, false, NULL);
	fprintf(stderr, "%llu: %s\n", (unsigned long long)id,
	    text != NULL ? text : "(no JSON form)");
	free(text);
}

/* Check the answers: a hello, then one answer to each of n calls. */
static void
answers_check(struct courier_buf *in, uint64_t n)
{
	struct courier_arena	 a;
	Courier__Frame		*f;
	courier_value		*v;
	uint8_t			*seen;
	size_t			 need;
	char			*cause = NULL;
	uint64_t		 got = 0;
	int			 r;

	seen = xcalloc(n + 1, 1);
	courier_arena_init(&a);
	while ((r = courier_frame_next(in, MAX_FRAME, &a, &f, &need,
	    &cause)) == 1) {
		if (f->call_id == 0) {
			if (f->body_case != COURIER__FRAME__BODY_HELLO)
				fuzz_fail("lpd closed the connection: %s",
				    f->body_case == COURIER__FRAME__BODY_ERROR ?
				    f->error->message : "(no error)");
		} else if (f->call_id > n || seen[f->call_id]++ != 0)
			fuzz_fail("an answer to call %llu, unasked or again",
			    (unsigned long long)f->call_id);
		else if (f->body_case == COURIER__FRAME__BODY_RESULT) {
			got++;
			if (f->result->result == NULL ||
			    f->result->result->result == NULL)
				v = courier_null();
			else if ((v = courier_value_from_pb(
			    f->result->result->result, &cause)) == NULL)
				fuzz_fail("an answer does not decode: %s",
				    cause);
			answer_show(f->call_id, v, NULL);
			courier_value_unref(v);
		} else if (f->body_case == COURIER__FRAME__BODY_ERROR) {
			got++;
			if (f->error->code <= COURIER_OK ||
			    f->error->code > COURIER_UNAUTHENTICATED ||
			    f->error->message == NULL ||
			    *f->error->message == '\0')
				fuzz_fail("an error answer without a code or "
				    "a message");
			answer_show(f->call_id, NULL, f->error);
		} else
			fuzz_fail("an answer of kind %d", (int)f->body_case);
		courier_arena_reset(&a);
	}
	if (r < 0)
		fuzz_fail("lpd's answers do not decode: %s", cause);
	if (courier_buf_used(in) != 0)
		fuzz_fail("half an answer at the end");
	if (got != n)
		fuzz_fail("%llu calls but %llu answers", (unsigned long long)n,
		    (unsigned long long)got);
	courier_arena_free(&a);
	free(seen);
}

/* Send the input's requests to the daemon and check the answers. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__Hello		 hello = COURIER__HELLO__INIT;
	struct courier_buf	 out, in;
	struct lpd_prog		*prog;
	const char		*line, *end, *nl;
	uint64_t		 n = 0;

	prog_add("p", LPD_PROG_EXITED, 0);
	prog_add("q", LPD_PROG_FAILED, 1000);
	prog_add("r", LPD_PROG_LOST, 0);

	memset(&out, 0, sizeof out);
	memset(&in, 0, sizeof in);
	hello.protocol_version = COURIER_PROTOCOL_VERSION;
	hello.agent = (char *)"fuzz-ctl";
	f.body_case = COURIER__FRAME__BODY_HELLO;
	f.hello = &hello;
	courier_frame_pack(&out, &f);
	line = (const char *)data;
	end = line + size;
	while (line < end && n < REQUESTS_MAX) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		if (request_pack(&out, n + 1, line, (size_t)(nl - line)))
			n++;
		line = nl + 1;
	}
	exchange(&out, &in);
	answers_check(&in, n);

	while ((prog = TAILQ_FIRST(&d.progs)) != NULL) {
		TAILQ_REMOVE(&d.progs, prog, entry);
		lpd_prog_free(prog);
	}
	courier_buf_free(&out);
	courier_buf_free(&in);
	return (0);
}
