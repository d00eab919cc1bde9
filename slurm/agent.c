/*
 * agent.c: `lpctl agent`, the host agent of a Slurm job (slurm.h). srun
 * starts one task per CPU of the job; the first on each host is the
 * agent and the others end at once, leaving their CPUs to the nodes.
 *
 * The agent joins the submit side's rendezvous (rendezvous.h), learns the
 * program and the nodes placed on its host, binds a TCP socket for each
 * of its courier nodes on the host's Slurm address (NodeAddr), says
 * where, and once it has every node's address starts its share of the
 * program with the supervisor core: process groups, the stop notice,
 * SIGKILL, readiness, output, all as on one machine. The restart policy
 * and fail-fast are the submit side's: here a node that ends is reported
 * and stays down until told to start again, and the share runs until
 * told to end.
 *
 * If the submit side goes (its lpctl or lpd was killed), the watch call
 * fails: the agent stops its nodes with the program's grace period and
 * exits. If Slurm signals the job (scancel, a time limit), the agent says
 * so to the submit side and stops its nodes the same way.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "courier-internal.h"
#include "rendezvous.h"
#include "slurm.h"

#define REPORT_INFLIGHT_MAX	64	/* report calls, then lines wait */
#define REPORT_BYTES_MAX	(16 * 1024 * 1024) /* waiting, then lost */
/*
 * A node's end is reported this late, so that a signal from Slurm that
 * reached the node and us at once is told first: scancel signals every
 * process of the job, and the node's end is the cancel's doing.
 */
#define EXIT_HOLD_MS		50

struct agent {
	struct event_base	*base;
	const char		*host;
	const char		*token;
	int64_t			 id;		/* SLURM_NODEID */
	courier_client		*client;	/* on the loop */
	struct lpd_run		*run;
	struct lpd_program	*p;		/* until the run owns it */

	courier_value		*items;		/* the report to send */
	size_t			 bytes;		/* of its output lines */
	unsigned		 inflight;
	uint64_t		*lost;		/* lines per node */
	bool			 any_lost;
	bool			*start_failed;	/* per node */
	struct event		*flush_ev;
	struct event		*hold_ev;	/* an end waits for it */
	bool			 holding;

	bool			 exiting;	/* told to, or on our own */
	bool			 cancelled;
	int			 exitcode;
};

static void	 watch_start(struct agent *);

/*
 * Exit once told to (or once the submit side is gone) and once every
 * node of ours has ended: a share that a node's request stopped still
 * waits for the submit side's word.
 */
static void
agent_maybe_exit(struct agent *a)
{
	if (a->exiting && lpd_run_done(a->run))
		event_base_loopexit(a->base, NULL);
}

/* A message to srun's stderr, which the submit side shows. */
static void
warnx_agent(struct agent *a, const char *fmt, ...) COURIER_PRINTF(2, 3);
static void
warnx_agent(struct agent *a, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "lpctl agent: %s: ", a->host);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* An environment variable Slurm must have set. */
static const char *
slurm_env(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "lpctl agent: no %s: the agent runs only as a "
		    "task of the Slurm job that lpctl run --backend slurm "
		    "starts\n", name);
		exit(2);
	}
	return (v);
}

/*
 * The host's address as Slurm knows it (NodeAddr, from scontrol), so
 * that nodes on other hosts reach it: host names may not resolve.
 */
static char *
node_addr(const char *host)
{
	struct addrinfo	 hints, *res = NULL;
	char		 cmd[512], line[4096], buf[INET6_ADDRSTRLEN];
	char		*addr = NULL, *p;
	FILE		*f;
	size_t		 n;

	if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == strlen(host) && strlen(host) < 256) {
		snprintf(cmd, sizeof cmd, "scontrol show node -o '%s' "
		    "2>/dev/null", host);
		if ((f = popen(cmd, "r")) != NULL) {
			while (addr == NULL && fgets(line, sizeof line,
			    f) != NULL) {
				if ((p = strstr(line, "NodeAddr=")) == NULL)
					continue;
				p += strlen("NodeAddr=");
				n = strcspn(p, " \n");
				if (n != 0)
					addr = xstrndup(p, n);
			}
			pclose(f);
		}
	}
	if (addr == NULL)
		addr = xstrdup(host);
	/* A name: to the numeric address, which the loops need. */
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(addr, NULL, &hints, &res) != 0 || res == NULL) {
		free(addr);
		return (NULL);
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
	    buf, sizeof buf);
	freeaddrinfo(res);
	free(addr);
	return (xstrdup(buf));
}

/* The kwargs every call carries. */
static courier_value *
kwargs(struct agent *a)
{
	courier_value	*kw = courier_dict_new();

	courier_dict_set(kw, "token", courier_string(a->token));
	courier_dict_set(kw, "agent", courier_int(a->id));
	return (kw);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

static void
report_add(struct agent *a, courier_value *item)
{
	if (a->items == NULL)
		a->items = courier_list_new();
	courier_list_append(a->items, item);
	if (!a->holding)
		event_active(a->flush_ev, 0, 0);
}

/* A node's end: sent EXIT_HOLD_MS from now, with what comes meanwhile. */
static void
report_exit(struct agent *a, courier_value *item)
{
	struct timeval	 tv = { 0, EXIT_HOLD_MS * 1000 };

	report_add(a, item);
	if (!a->holding) {
		a->holding = true;
		evtimer_add(a->hold_ev, &tv);
	}
}

/* What the submit side must hear before the rest: at the head. */
static void
report_first(struct agent *a, courier_value *item)
{
	courier_value	*old = a->items;
	size_t		 i;

	a->items = courier_list_new();
	courier_list_append(a->items, item);
	for (i = 0; old != NULL && i < courier_list_len(old); i++)
		courier_list_append(a->items,
		    courier_value_ref(courier_list_get(old, i)));
	if (old != NULL)
		courier_value_unref(old);
	event_active(a->flush_ev, 0, 0);
}

/* The submit side is gone: stop our nodes, then exit. */
static void
agent_lost(struct agent *a, const char *why)
{
	char	*msg;

	if (a->exiting)
		return;
	a->exiting = true;
	warnx_agent(a, "lost the submit side (%s); stopping this host's "
	    "nodes", why);
	xasprintf(&msg, "the submit side is gone (%s)", why);
	lpd_run_stop(a->run, false, msg);
	free(msg);
	agent_maybe_exit(a);
}

static void
report_done_cb(courier_future *f, void *arg)
{
	struct agent	*a = arg;
	courier_error	*err = NULL;
	courier_value	*v;

	a->inflight--;
	if ((v = courier_future_wait(f, 0, &err)) != NULL)
		courier_value_unref(v);
	else if (!a->exiting) {
		agent_lost(a, courier_error_message(err));
	}
	courier_error_free(err);
	courier_future_free(f);
	if (a->items != NULL && !a->holding)
		event_active(a->flush_ev, 0, 0);
}

static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent	*a = arg;

	a->holding = false;
	event_active(a->flush_ev, 0, 0);
}

/* Send what was gathered this turn, as one report. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent	*a = arg;
	courier_value	*kw;
	courier_future	*f;
	size_t		 i;

	if (a->any_lost) {
		for (i = 0; i < lpd_run_nnodes(a->run); i++) {
			if (a->lost[i] == 0)
				continue;
			report_add(a, courier_args(courier_int(RV_LOST),
			    courier_int((int64_t)i),
			    courier_int((int64_t)a->lost[i])));
			a->lost[i] = 0;
		}
		a->any_lost = false;
	}
	if (a->items == NULL || a->holding ||
	    a->inflight >= REPORT_INFLIGHT_MAX)
		return;
	kw = kwargs(a);
	courier_dict_set(kw, "items", a->items);
	a->items = NULL;
	a->bytes = 0;
	a->inflight++;
	f = courier_call_async_kw(a->client, RV_REPORT, courier_list_new(), kw,
	    COURIER_FOREVER);
	courier_future_then(f, report_done_cb, a);
}

static void
run_output_cb(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct agent	*a = arg;

	if (a->bytes + len > REPORT_BYTES_MAX) {
		/* The submit side does not keep up: count, do not wait. */
		a->lost[n->slot]++;
		a->any_lost = true;
		return;
	}
	a->bytes += len;
	report_add(a, courier_args(courier_int(RV_OUT),
	    courier_int((int64_t)n->slot), courier_bool(err),
	    courier_bytes(line, len)));
}

static void
run_event_cb(void *arg, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct agent	*a = arg;
	int64_t		 slot = n != NULL ? (int64_t)n->slot : -1;
	int		 status;

	switch (ev) {
	case LPD_EV_STARTED:
		report_add(a, courier_args(courier_int(RV_STARTED),
		    courier_int(slot), courier_int(n->pid)));
		break;
	case LPD_EV_READY:
		report_add(a, courier_args(courier_int(RV_READY),
		    courier_int(slot)));
		break;
	case LPD_EV_ERROR:
		if (n == NULL)
			break;
		a->start_failed[n->slot] = true;
		report_add(a, courier_args(courier_int(RV_ERROR),
		    courier_int(slot), courier_string(msg)));
		break;
	case LPD_EV_EXITED:
		status = a->start_failed[n->slot] ? -1 : n->status;
		a->start_failed[n->slot] = false;
		report_exit(a, courier_args(courier_int(RV_EXITED),
		    courier_int(slot), courier_int(status)));
		break;
	case LPD_EV_STOPPING:
		/* Ours when told or lost; else a node asked for it. */
		if (!a->exiting && !a->cancelled)
			report_add(a, courier_args(courier_int(RV_STOP),
			    courier_string(msg)));
		break;
	default:
		break;
	}
}

static void
run_done_cb(void *arg, struct lpd_run *run, int status)
{
	agent_maybe_exit(arg);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* One command of a watch answer. */
static void
agent_command(struct agent *a, const courier_value *c)
{
	const courier_value	*o = courier_list_get(c, 0);
	const courier_value	*s = courier_list_get(c, 1);
	struct lpd_node		*n = NULL;
	char			*cause = NULL;
	int64_t			 op, slot;

	if (o == NULL || s == NULL || courier_value_type(o) != COURIER_INT ||
	    courier_value_type(s) != COURIER_INT)
		return;
	op = courier_value_int(o);
	slot = courier_value_int(s);
	if (op == RV_CMD_EXIT) {
		a->exiting = true;
		lpd_run_stop(a->run, false, "the program ended");
		agent_maybe_exit(a);
		return;
	}
	if (slot < 0 || (size_t)slot >= lpd_run_nnodes(a->run))
		return;
	n = lpd_run_node(a->run, (size_t)slot);
	switch (op) {
	case RV_CMD_TERM:
		lpd_run_signal_node(a->run, n, SIGTERM);
		break;
	case RV_CMD_KILL:
		lpd_run_signal_node(a->run, n, SIGKILL);
		break;
	case RV_CMD_START:
		if (lpd_run_restart_node(a->run, n, "the program restarts it",
		    &cause) != 0) {
			report_add(a, courier_args(courier_int(RV_ERROR),
			    courier_int(slot), courier_string(cause)));
			report_add(a, courier_args(courier_int(RV_EXITED),
			    courier_int(slot), courier_int(-1)));
			free(cause);
		}
		break;
	}
}

static void
watch_done_cb(courier_future *f, void *arg)
{
	struct agent	*a = arg;
	courier_error	*err = NULL;
	courier_value	*v;
	size_t		 i;

	v = courier_future_wait(f, 0, &err);
	courier_future_free(f);
	if (v == NULL) {
		if (!a->exiting)
			agent_lost(a, courier_error_message(err));
		courier_error_free(err);
		return;
	}
	for (i = 0; i < courier_list_len(v); i++)
		agent_command(a, courier_list_get(v, i));
	courier_value_unref(v);
	if (!a->exiting)
		watch_start(a);
}

static void
watch_start(struct agent *a)
{
	courier_future	*f;

	f = courier_call_async_kw(a->client, RV_WATCH, courier_list_new(),
	    kwargs(a), COURIER_FOREVER);
	courier_future_then(f, watch_done_cb, a);
}

/* SIGTERM, SIGINT: Slurm stops the job (scancel, its time limit). */
static void
signal_cb(evutil_socket_t signo, short what, void *arg)
{
	struct agent	*a = arg;
	char		*why;

	if (a->cancelled || a->exiting) {
		lpd_run_stop(a->run, true, "signalled again");
		return;
	}
	a->cancelled = true;
	xasprintf(&why, "Slurm stopped the job (scancel or a limit): %s on "
	    "%s", sigabbrev_np(signo) != NULL ? sigabbrev_np(signo) : "?",
	    a->host);
	report_first(a, courier_args(courier_int(RV_CANCELLED),
	    courier_string(why)));
	lpd_run_stop(a->run, false, why);
	free(why);
}

/* ------------------------------------------------------------------ */
/* The rendezvous, before the loop                                     */
/* ------------------------------------------------------------------ */

/* A result's dict entry of a type, or NULL. */
static const courier_value *
get(const courier_value *d, const char *key, enum courier_type type)
{
	const courier_value	*v = courier_dict_get(d, key);

	return (v != NULL && courier_value_type(v) == type ? v : NULL);
}

/*
 * Join, load the program, bind our nodes' sockets and learn every
 * address; fills a->p and the share's arrays. 0, or -1 after a message.
 */
static int
rendezvous(struct agent *a, const char *connect, const char *addr,
    unsigned slots, int64_t nhosts, const char *job, bool **localp,
    char ***addrp, int **fdsp)
{
	courier_client		*c;
	courier_value		*kw, *r, *list;
	courier_error		*err = NULL;
	const courier_value	*text, *file, *name, *path, *cwd, *mine, *v;
	struct courier_addr	 ca;
	char			*cause = NULL, *listen, **addrs = NULL;
	const char		*t;
	bool			*local = NULL;
	int			*fds = NULL, rc = -1, fd;
	size_t			 i, len, nn;
	int64_t			 slot;

	if ((c = courier_client_new(connect, &cause)) == NULL) {
		warnx_agent(a, "%s: %s", connect, cause);
		free(cause);
		return (-1);
	}
	kw = courier_dict_new();
	courier_dict_set(kw, "token", courier_string(a->token));
	courier_dict_set(kw, "host", courier_string(a->host));
	courier_dict_set(kw, "addr", courier_string(addr));
	courier_dict_set(kw, "slots", courier_int(slots));
	courier_dict_set(kw, "nodeid", courier_int(a->id));
	courier_dict_set(kw, "nhosts", courier_int(nhosts));
	courier_dict_set(kw, "job", courier_string(job));
	r = courier_call_kw(c, RV_JOIN, courier_list_new(), kw,
	    COURIER_FOREVER, &err);
	if (r == NULL) {
		warnx_agent(a, "cannot join at %s: %s", connect,
		    courier_error_message(err));
		goto out;
	}
	text = get(r, "program", COURIER_BYTES);
	file = get(r, "file", COURIER_STRING);
	name = get(r, "name", COURIER_STRING);
	path = get(r, "path", COURIER_STRING);
	cwd = get(r, "cwd", COURIER_STRING);
	mine = get(r, "nodes", COURIER_LIST);
	if (text == NULL || file == NULL || name == NULL || path == NULL ||
	    cwd == NULL || mine == NULL) {
		warnx_agent(a, "the submit side answered join with what is "
		    "not a placement");
		goto out;
	}
	t = courier_value_bytes(text, &len);
	a->p = lpd_program_load_text(courier_value_string(file, NULL), t, len,
	    courier_value_string(name, NULL), courier_value_string(path, NULL),
	    courier_value_string(cwd, NULL), &cause);
	if (a->p == NULL) {
		warnx_agent(a, "the program does not load here:\n%s", cause);
		free(cause);
		goto out;
	}
	nn = a->p->nnodes;
	local = xcalloc(nn, sizeof *local);
	addrs = xcalloc(nn, sizeof *addrs);
	fds = xcalloc(nn, sizeof *fds);
	for (i = 0; i < nn; i++)
		fds[i] = -1;

	/* Our courier nodes' sockets, on the host's address. */
	list = courier_list_new();
	for (i = 0; i < courier_list_len(mine); i++) {
		v = courier_list_get(mine, i);
		slot = courier_value_int(v);
		if (slot < 0 || (size_t)slot >= nn) {
			warnx_agent(a, "placed node %lld is not in the program",
			    (long long)slot);
			courier_value_unref(list);
			goto out;
		}
		local[slot] = true;
		if (!lpd_type_serves(a->p->groups[lpd_slurm_slot_group(a->p,
		    (size_t)slot)].type))
			continue;
		xasprintf(&listen, "tcp:%s:0", addr);
		if (courier_addr_parse(listen, &ca, &cause) != 0 ||
		    (fd = courier_addr_listen(&ca, &cause)) == -1) {
			warnx_agent(a, "cannot listen on %s: %s", listen,
			    cause);
			courier_addr_clear(&ca);
			free(listen);
			free(cause);
			courier_value_unref(list);
			goto out;
		}
		courier_addr_clear(&ca);
		free(listen);
		fds[slot] = fd;
		if ((addrs[slot] = courier_addr_of_fd(fd)) == NULL) {
			warnx_agent(a, "getsockname: %s", strerror(errno));
			courier_value_unref(list);
			goto out;
		}
		courier_list_append(list, courier_args(courier_int(slot),
		    courier_string(addrs[slot])));
	}
	courier_value_unref(r);
	kw = kwargs(a);
	courier_dict_set(kw, "addresses", list);
	r = courier_call_kw(c, RV_BOUND, courier_list_new(), kw,
	    COURIER_FOREVER, &err);
	if (r == NULL) {
		warnx_agent(a, "the rendezvous failed: %s",
		    courier_error_message(err));
		goto out;
	}
	if (courier_value_type(r) != COURIER_LIST ||
	    courier_list_len(r) != nn) {
		warnx_agent(a, "the submit side's addresses are not one per "
		    "node");
		goto out;
	}
	for (i = 0; i < nn; i++) {
		v = courier_list_get(r, i);
		if (courier_value_type(v) != COURIER_STRING || addrs[i] != NULL)
			continue;
		addrs[i] = xstrdup(courier_value_string(v, NULL));
	}
	rc = 0;
out:
	if (r != NULL)
		courier_value_unref(r);
	courier_error_free(err);
	courier_client_free(c);
	if (rc != 0 && fds != NULL) {
		for (i = 0; i < a->p->nnodes; i++) {
			if (fds[i] != -1)
				close(fds[i]);
			free(addrs[i]);
		}
		free(fds);
		free(addrs);
		free(local);
		return (-1);
	}
	*localp = local;
	*addrp = addrs;
	*fdsp = fds;
	return (rc);
}

/* `lpctl agent`; see slurm.h. */
int
lpd_slurm_agent_main(void)
{
	struct agent		 a;
	struct lpd_run_opts	 opts;
	struct lpd_run_cb	 cb = { run_output_cb, run_event_cb,
				    run_done_cb };
	struct event		*sigev[2];
	const char		*localid, *connect, *tasks, *job;
	char			*addr, *cause = NULL, **addrs = NULL;
	bool			*local = NULL;
	int			*fds = NULL, i;
	unsigned		 slots;
	int64_t			 nhosts;
	size_t			 k, g;

	memset(&a, 0, sizeof a);
	/* The host's other tasks only hold its CPUs for the nodes. */
	if ((localid = getenv("SLURM_LOCALID")) != NULL &&
	    strcmp(localid, "0") != 0)
		return (0);
	connect = slurm_env(RV_ENV_CONNECT);
	a.token = xstrdup(slurm_env(RV_ENV_TOKEN));
	/* Not for the nodes to see. */
	unsetenv(RV_ENV_CONNECT);
	unsetenv(RV_ENV_TOKEN);
	a.host = slurm_env("SLURMD_NODENAME");
	a.id = strtoll(slurm_env("SLURM_NODEID"), NULL, 10);
	nhosts = strtoll(getenv("SLURM_STEP_NUM_NODES") != NULL ?
	    getenv("SLURM_STEP_NUM_NODES") : slurm_env("SLURM_NNODES"),
	    NULL, 10);
	tasks = getenv("SLURM_STEP_TASKS_PER_NODE") != NULL ?
	    getenv("SLURM_STEP_TASKS_PER_NODE") :
	    slurm_env("SLURM_TASKS_PER_NODE");
	job = slurm_env("SLURM_JOB_ID");
	if ((slots = lpd_slurm_tasks_on(tasks, (unsigned)a.id)) == 0) {
		warnx_agent(&a, "cannot read host %lld's tasks in %s",
		    (long long)a.id, tasks);
		return (1);
	}
	if ((addr = node_addr(a.host)) == NULL) {
		warnx_agent(&a, "cannot find the host's address (NodeAddr)");
		return (1);
	}
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads failed");
	if (rendezvous(&a, connect, addr, slots, nhosts, job, &local, &addrs,
	    &fds) != 0) {
		free(addr);
		return (1);
	}
	free(addr);

	/* The submit side restarts and stops; we report and obey. */
	for (g = 0; g < a.p->ngroups; g++) {
		a.p->groups[g].restart = LPD_RESTART_NEVER;
		a.p->groups[g].on_failure = LPD_ON_FAILURE_IGNORE;
	}
	a.lost = xcalloc(a.p->nnodes, sizeof *a.lost);
	a.start_failed = xcalloc(a.p->nnodes, sizeof *a.start_failed);
	if ((a.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	/* Slurm's signals first, before the ends they cause. */
	if (event_base_priority_init(a.base, 2) != 0)
		fatalx("event_base_priority_init failed");
	a.flush_ev = event_new(a.base, -1, 0, flush_cb, &a);
	a.hold_ev = evtimer_new(a.base, hold_cb, &a);
	if ((a.client = courier_client_new(connect, &cause)) == NULL ||
	    courier_client_set_base(a.client, a.base) != 0)
		fatalx("courier_client_new: %s", cause);
	courier_client_set_max_frame(a.client, 64 * 1024 * 1024);
	for (i = 0; i < 2; i++) {
		sigev[i] = evsignal_new(a.base, i == 0 ? SIGTERM : SIGINT,
		    signal_cb, &a);
		event_priority_set(sigev[i], 0);
		event_add(sigev[i], NULL);
	}

	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;
	opts.local = local;
	opts.addresses = addrs;
	opts.listen_fds = fds;
	opts.keep_open = true;
	k = a.p->nnodes;
	a.run = lpd_run_start(a.base, a.p, &opts, &cb, &a, &cause);
	for (size_t j = 0; j < k; j++)
		free(addrs[j]);
	free(addrs);
	free(local);
	free(fds);
	if (a.run == NULL) {
		warnx_agent(&a, "%s", cause);
		free(cause);
		lpd_program_free(a.p);
		a.exitcode = 1;
		goto out;
	}
	watch_start(&a);
	event_base_dispatch(a.base);
	lpd_run_free(a.run);
out:
	courier_client_free(a.client);
	if (a.items != NULL)
		courier_value_unref(a.items);
	for (i = 0; i < 2; i++)
		event_free(sigev[i]);
	event_free(a.flush_ev);
	event_free(a.hold_ev);
	event_base_free(a.base);
	free(a.lost);
	free(a.start_failed);
	free((char *)a.token);
	return (a.exitcode);
}
