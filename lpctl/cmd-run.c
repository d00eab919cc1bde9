/*
 * cmd-run.c: lpctl run FILE, a program in the foreground with no daemon.
 *
 * Validate, start every node through the supervisor core on our own event
 * loop, stream each node's lines prefixed with [GROUP/INDEX], tell what the
 * supervisor does, and exit with the program's status. The first Ctrl+C (or
 * SIGTERM) asks for a graceful stop; a second kills every node at once.
 *
 * lpctl makes itself a child subreaper: a node's descendant that leaves
 * its process group (setsid) still becomes our child when its parent dies,
 * so that the sweep at the end finds and kills it.
 *
 * Nothing here writes to stdout or stderr itself once the run starts:
 * output.c does, so that a reader that stops reading can cost lines of
 * the live stream but never the loop, and so never the stop.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "lpd.h"
#include "lpctl.h"
#include "slurm.h"

/* The state of one lpctl run. */
struct run_state {
	struct event_base	*base;
	struct lpd_run		*run;
	struct lpd_slurm	*slurm;		/* --backend slurm */
	const struct lpd_program *p;
	bool			 colour;
	bool			 quiet;
	bool			 verbose;	/* every node's lifecycle */
	/* Per group, for the summaries of big groups: first starts, first
	 * readies, final exits. */
	unsigned		*started;
	unsigned		*ready;
	unsigned		*ended;
	int			 signo;		/* first stop signal, or 0 */
	unsigned		 nsignals;
	bool			 done;
	int			 status;
};

/* Groups this big have their nodes' lifecycle summed up, unless -v. */
#define SUMMARY_MIN	5

/* Prefix colours: bright, readable on dark and light terminals. */
static const char *const colours[] = {
	"\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[36m",
	"\033[92m", "\033[93m", "\033[94m", "\033[95m", "\033[96m",
};
#define COLOUR_RESET	"\033[0m"
#define COLOUR_BOLD_RED	"\033[1;31m"

/* A colour per group, so replicas of one group look alike. */
static const char *
group_colour(const struct lpd_node *n)
{
	return (colours[n->group % (sizeof colours / sizeof colours[0])]);
}

/* Set an iovec to a string's bytes. */
static void
iov_set(struct iovec *iov, const char *s, size_t len)
{
	iov->iov_base = (void *)(uintptr_t)s;
	iov->iov_len = len;
}

/* A node's line to the live stream, prefixed [GROUP/INDEX]. */
static void
run_output_cb(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	struct run_state	*rs = arg;
	struct iovec		 iov[7];
	int			 i = 0;

	/* Pieces, not a format: the output copies them once. */
	if (rs->colour) {
		iov_set(&iov[i++], group_colour(n), strlen(group_colour(n)));
		iov_set(&iov[i++], "[", 1);
		iov_set(&iov[i++], n->name, strlen(n->name));
		iov_set(&iov[i++], "]" COLOUR_RESET " ",
		    sizeof "]" COLOUR_RESET " " - 1);
	} else {
		iov_set(&iov[i++], "[", 1);
		iov_set(&iov[i++], n->name, strlen(n->name));
		iov_set(&iov[i++], "] ", 2);
	}
	iov_set(&iov[i++], line, len);
	iov_set(&iov[i++], "\n", 1);
	lpctl_output_line(iov, i);
}

/* Text of lpctl's own for stderr, as it is, behind the stream's lines. */
static void
put(const char *fmt, ...) COURIER_PRINTF(1, 2);
static void
put(const char *fmt, ...)
{
	va_list	 ap;
	char	*text;
	int	 len;

	va_start(ap, fmt);
	len = xvasprintf(&text, fmt, ap);
	va_end(ap);
	lpctl_output_message(text, (size_t)len);
	free(text);
}

/* A message of the supervisor's own, on stderr. */
static void
say(struct run_state *rs, bool alert, const char *fmt, ...)
    COURIER_PRINTF(3, 4);
static void
say(struct run_state *rs, bool alert, const char *fmt, ...)
{
	va_list	 ap;
	char	*text;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	if (rs->colour && alert)
		put("%slpctl: %s%s\n", COLOUR_BOLD_RED, text, COLOUR_RESET);
	else
		put("lpctl: %s\n", text);
	free(text);
}

/*
 * For a node of a big group, count the event (if counted says it is one
 * to count) and say so once the whole group has had it: "worker: 300
 * nodes started". True if the node's own line is not wanted.
 */
static bool
summed_up(struct run_state *rs, const struct lpd_node *n, unsigned *count,
    bool counted, const char *what)
{
	const struct lpd_group	*g = &rs->p->groups[n->group];

	if (rs->verbose || g->replicas < SUMMARY_MIN || !counted)
		return (false);
	if (++count[n->group] == g->replicas)
		say(rs, false, "%s: %u nodes %s", g->name, g->replicas, what);
	return (true);
}

static void
run_event_cb(void *arg, struct lpd_node *n, enum lpd_event ev,
    const char *msg)
{
	struct run_state	*rs = arg;
	char			*lines, *line, *next;

	switch (ev) {
	case LPD_EV_STARTED:
		if (rs->quiet)
			break;
		if (summed_up(rs, n, rs->started, n->restarts == 0, "started"))
			break;
		if (n->host != NULL)
			say(rs, false, "%s: started on %s", n->name, n->host);
		else
			say(rs, false, "%s: started, pid %ld", n->name,
			    (long)n->pid);
		break;
	case LPD_EV_READY:
		if (rs->quiet)
			break;
		if (summed_up(rs, n, rs->ready, n->restarts == 0, "ready"))
			break;
		say(rs, false, "%s: ready on %s", n->name, n->address);
		break;
	case LPD_EV_EXITED:
		if (n->state != LPD_NODE_FAILED) {
			if (rs->quiet || summed_up(rs, n, rs->ended,
			    n->state == LPD_NODE_EXITED, "ended"))
				break;
			say(rs, false, "%s: %s", n->name, msg);
			break;
		}
		say(rs, true, "%s: failed: %s", n->name, msg);
		lines = lpd_run_last_lines(n);
		if (lines != NULL && *lines != '\0') {
			say(rs, false, "%s: its last lines:", n->name);
			for (line = lines; line != NULL; line = next) {
				if ((next = strchr(line, '\n')) != NULL)
					*next++ = '\0';
				if (*line != '\0' || next != NULL)
					put("  | %s\n", line);
			}
		}
		free(lines);
		break;
	case LPD_EV_RESTARTING:
		say(rs, false, "%s: %s", n->name, msg);
		break;
	case LPD_EV_STOPPING:
		say(rs, false, "stopping the program: %s", msg);
		break;
	case LPD_EV_WAITING:
		say(rs, false, "%s", msg);
		break;
	case LPD_EV_KILLED:
		/* Why: the grace period ended, or a kill was asked for. */
		say(rs, true, "%s: killed (SIGKILL): %s", n->name, msg);
		break;
	case LPD_EV_ERROR:
		say(rs, true, "%s%s%s", n != NULL ? n->name : "",
		    n != NULL ? ": " : "", msg);
		break;
	case LPD_EV_LOG:
		say(rs, true, "%s: %s", n->name, msg);
		break;
	}
}

static void
run_done_cb(void *arg, struct lpd_run *run, int status)
{
	struct run_state	*rs = arg;

	rs->done = true;
	rs->status = status;
	event_base_loopexit(rs->base, NULL);
}

/* Stop the program, wherever it runs. */
static void
run_stop(struct run_state *rs, bool kill, const char *why)
{
	if (rs->slurm != NULL)
		lpd_slurm_stop(rs->slurm, kill, why);
	else
		lpd_run_stop(rs->run, kill, why);
}

/* A message of the Slurm backend's own. */
static void
run_slurm_say(void *arg, bool alert, const char *msg)
{
	say(arg, alert, "%s", msg);
}

/* SIGINT, SIGTERM, SIGHUP: stop gracefully, then kill on the second. */
static void
run_signal_cb(evutil_socket_t signo, short what, void *arg)
{
	struct run_state	*rs = arg;
	const char		*name;

	name = signo == SIGINT ? "Ctrl+C" : sigabbrev_np(signo);
	if (rs->nsignals++ == 0) {
		rs->signo = signo;
		if (signo == SIGINT) {
			put("\n");
			say(rs, false, "%s: stopping gracefully; press Ctrl+C "
			    "again to kill every node now", name);
		}
		run_stop(rs, false, signo == SIGINT ? "Ctrl+C" :
		    signo == SIGTERM ? "lpctl got SIGTERM" : "lpctl got SIGHUP");
		return;
	}
	if (signo == SIGINT)
		put("\n");
	say(rs, true, "%s again: killing every node now", name);
	run_stop(rs, true, "asked again");
}

/*
 * Where the logs go when --log-dir is not given: the XDG state folder,
 * $XDG_STATE_HOME/lpctl/PROGRAM, else ~/.local/state/lpctl/PROGRAM (lpd
 * keeps its own under $XDG_STATE_HOME/lpd: the two never mix).
 */
static char *
default_log_dir(const char *program)
{
	const char	*state, *home;
	char		*dir;

	if ((state = getenv("XDG_STATE_HOME")) != NULL && *state == '/')
		xasprintf(&dir, "%s/lpctl/%s", state, program);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		xasprintf(&dir, "%s/.local/state/lpctl/%s", home, program);
	else
		return (NULL);
	return (dir);
}

/*
 * Kill and reap every child left: descendants of nodes that left their
 * process group and were handed to us as subreaper. The nodes themselves
 * are all reaped by now.
 */
static void
sweep_orphans(void)
{
	DIR		*d;
	struct dirent	*de;
	FILE		*f;
	char		 path[PATH_MAX];
	long		 pid;
	int		 round, found;

	for (round = 0; round < 100; round++) {
		found = 0;
		if ((d = opendir("/proc/self/task")) == NULL)
			break;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path,
			    "/proc/self/task/%s/children", de->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			while (fscanf(f, "%ld", &pid) == 1) {
				kill((pid_t)pid, SIGKILL);
				found++;
			}
			fclose(f);
		}
		closedir(d);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			continue;
		if (found == 0)
			break;
		/* Killed ones may not be reapable yet: wait for one. */
		(void)waitpid(-1, NULL, 0);
	}
}

int
lpctl_run(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "grace", required_argument, NULL, 'g' },
		{ "name", required_argument, NULL, 'n' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "log-max", required_argument, NULL, 'M' },
		{ "log-keep", required_argument, NULL, 'K' },
		{ "tcp", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "backend", required_argument, NULL, 'B' },
		{ "slurm-arg", required_argument, NULL, 'A' },
		{ "slurm-timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpd_slurm_opts		 so;
	char				**sargs = NULL, *file = NULL;
	char				*text = NULL;
	size_t				 len;
	const char			*backend = NULL;
	int				 slurm;
	struct run_state		 rs;
	struct lpd_run_opts		 opts;
	struct lpd_run_cb		 cb;
	struct lpd_program		*p;
	struct event			*sigev[3];
	const int			 signos[3] = { SIGINT, SIGTERM, SIGHUP };
	const char			*name = NULL, *cause_s;
	char				*log_dir = NULL, *cause = NULL, *end;
	unsigned long			 keep;
	double				 grace = -1;
	int				 ch, i, exitcode;
	const char			*nc, *term;
	char				*prog_name = NULL;

	memset(&rs, 0, sizeof rs);
	memset(&opts, 0, sizeof opts);
	memset(&so, 0, sizeof so);
	while ((ch = getopt_long(argc, argv, "g:n:l:tqvh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			backend = optarg;
			break;
		case 'A':
			sargs = xreallocarray(sargs, so.nslurm_args + 1,
			    sizeof *sargs);
			sargs[so.nslurm_args++] = optarg;
			break;
		case 'T':
			if ((so.timeout_s = lpctl_parse_seconds("run",
			    "slurm-timeout", optarg)) < 0) {
				free(sargs);
				free(log_dir);
				return (LPCTL_EXIT_USAGE);
			}
			break;
		case 'g':
			if ((grace = lpctl_parse_seconds("run", "grace",
			    optarg)) < 0)
				return (LPCTL_EXIT_USAGE);
			break;
		case 'n':
			if (!lpd_program_name_valid(optarg)) {
				fprintf(stderr, "lpctl run: --name %s: a name "
				    "is 1 to %d of A-Z a-z 0-9 _ . -\n",
				    optarg, LPD_NAME_MAX);
				return (LPCTL_EXIT_USAGE);
			}
			name = optarg;
			break;
		case 'l':
			free(log_dir);
			log_dir = xstrdup(optarg);
			break;
		case 'M':
			if ((opts.log_max = lpd_parse_size(optarg)) == 0) {
				fprintf(stderr, "lpctl run: --log-max %s: give "
				    "a size of at least 1k, as 10M or 512k\n",
				    optarg);
				free(log_dir);
				return (LPCTL_EXIT_USAGE);
			}
			break;
		case 'K':
			errno = 0;
			keep = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    keep < 1 || keep > 100) {
				fprintf(stderr, "lpctl run: --log-keep %s: give "
				    "a number from 1 to 100\n", optarg);
				free(log_dir);
				return (LPCTL_EXIT_USAGE);
			}
			opts.log_keep = (unsigned)keep;
			break;
		case 't':
			opts.tcp = true;
			break;
		case 'q':
			rs.quiet = true;
			break;
		case 'v':
			rs.verbose = true;
			break;
		case 'h':
			free(log_dir);
			return (lpctl_usage("run", false));
		default:
			free(log_dir);
			return (lpctl_usage("run", true));
		}
	}
	if (argc - optind != 1) {
		free(sargs);
		free(log_dir);
		return (lpctl_usage("run", true));
	}
	if ((slurm = lpctl_backend_slurm("run", backend,
	    so.nslurm_args != 0 || so.timeout_s != 0)) == -1) {
		free(sargs);
		free(log_dir);
		return (LPCTL_EXIT_USAGE);
	}
	if (slurm && opts.tcp) {
		fprintf(stderr, "lpctl run: --tcp: on Slurm every courier node "
		    "serves TCP already\n");
		free(sargs);
		free(log_dir);
		return (LPCTL_EXIT_USAGE);
	}

	if ((p = lpctl_load(argv[optind], name)) == NULL) {
		free(sargs);
		free(log_dir);
		return (LPCTL_EXIT_USAGE);
	}
	if (slurm && (exitcode = lpctl_read_program("run",
	    argv[optind], &file, &text, &len)) != LPCTL_EXIT_OK) {
		free(sargs);
		free(log_dir);
		lpd_program_free(p);
		return (exitcode);
	}

	nc = getenv("NO_COLOR");
	term = getenv("TERM");
	rs.colour = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) &&
	    (nc == NULL || *nc == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);

	if (log_dir == NULL && (log_dir = default_log_dir(p->name)) == NULL) {
		fprintf(stderr, "lpctl: no HOME nor XDG_STATE_HOME to keep "
		    "logs in; give --log-dir DIR\n");
		lpd_program_free(p);
		return (LPCTL_EXIT_USAGE);
	}
	if (lpd_mkdir_p(log_dir, 0755) != 0) {
		fprintf(stderr, "lpctl: cannot make log folder %s: %s; give "
		    "another with --log-dir\n", log_dir, strerror(errno));
		free(log_dir);
		lpd_program_free(p);
		return (LPCTL_EXIT_USAGE);
	}

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		fprintf(stderr, "lpctl: cannot become a child subreaper: %s; "
		    "descendants that leave their node's process group may "
		    "outlive the program\n", strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);

	if ((rs.base = event_base_new()) == NULL) {
		fprintf(stderr, "lpctl: cannot make an event loop\n");
		free(log_dir);
		lpd_program_free(p);
		return (LPCTL_EXIT_FAILED);
	}
	if (lpctl_output_start(log_dir) != 0) {
		event_base_free(rs.base);
		free(log_dir);
		lpd_program_free(p);
		return (LPCTL_EXIT_FAILED);
	}
	for (i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(rs.base, signos[i], run_signal_cb, &rs);
		event_add(sigev[i], NULL);
	}

	opts.log_dir = log_dir;
	opts.grace_s = grace;
	cb.output = run_output_cb;
	cb.event = run_event_cb;
	cb.done = run_done_cb;
	if (!rs.quiet) {
		say(&rs, false, "program \"%s\": %zu node%s; logs in %s",
		    p->name, p->nnodes, p->nnodes == 1 ? "" : "s", log_dir);
	}
	rs.p = p;
	prog_name = xstrdup(p->name);
	rs.started = xcalloc(p->ngroups, sizeof *rs.started);
	rs.ready = xcalloc(p->ngroups, sizeof *rs.ready);
	rs.ended = xcalloc(p->ngroups, sizeof *rs.ended);
	if (slurm) {
		so.slurm_args = sargs;
		so.agent = lpctl_self_path();
		so.submit_host = getenv("LPD_SLURM_SUBMIT_HOST");
		so.file_text = text;
		so.file_len = len;
		so.run = opts;
		so.say = run_slurm_say;
		rs.slurm = lpd_slurm_start(rs.base, p, &so, &cb, &rs, &cause);
		if (rs.slurm == NULL) {
			say(&rs, true, "%s; nothing was started", cause);
			free(cause);
			exitcode = LPCTL_EXIT_USAGE;
			goto out;
		}
		p = NULL;	/* the job's */
	} else {
		rs.run = lpd_run_start(rs.base, p, &opts, &cb, &rs, &cause);
		if (rs.run == NULL) {
			say(&rs, true, "%s; nothing was started", cause);
			free(cause);
			exitcode = LPCTL_EXIT_FAILED;
			goto out;
		}
	}

	while (!rs.done) {
		if (event_base_dispatch(rs.base) != 0)
			break;
	}
	if (rs.slurm != NULL) {
		rs.status = rs.done ? lpd_slurm_status(rs.slurm) :
		    LPD_STATUS_FAILED;
		cause_s = lpd_slurm_cause(rs.slurm);
	} else
		cause_s = lpd_run_cause(rs.run);
	if (!rs.done) {
		say(&rs, true, "the event loop failed; killing every node");
		run_stop(&rs, true, "lpctl is failing");
		exitcode = LPCTL_EXIT_FAILED;
	} else if (rs.status == LPD_STATUS_OK) {
		if (!rs.quiet)
			say(&rs, false, "program \"%s\" ended", prog_name);
		exitcode = LPCTL_EXIT_OK;
	} else if (rs.status == LPD_SLURM_REFUSED) {
		say(&rs, true, "program \"%s\" did not start: %s", prog_name,
		    cause_s != NULL ? cause_s : "Slurm refused it");
		exitcode = LPCTL_EXIT_USAGE;
	} else {
		say(&rs, true, "program \"%s\" failed%s%s", prog_name,
		    cause_s != NULL ? ": " : "", cause_s != NULL ? cause_s : "");
		exitcode = LPCTL_EXIT_FAILED;
	}
	/* Stopped by a signal: the shell's convention, 128 + its number. */
	if (rs.signo != 0 && exitcode == LPCTL_EXIT_OK)
		exitcode = 128 + rs.signo;
	if (rs.slurm != NULL)
		lpd_slurm_free(rs.slurm);
	else
		lpd_run_free(rs.run);
	p = NULL;	/* the run owned it */
	sweep_orphans();

out:
	/* Bounded: a reader that never reads again cannot keep us. */
	lpctl_output_stop();
	for (i = 0; i < 3; i++)
		event_free(sigev[i]);
	event_base_free(rs.base);
	if (p != NULL)
		lpd_program_free(p);
	free(rs.started);
	free(rs.ready);
	free(rs.ended);
	free(log_dir);
	free(prog_name);
	free(sargs);
	free(file);
	free(text);
	return (exitcode);
}
