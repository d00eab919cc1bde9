/*
 * cmd-launch.c: lpctl launch, stop, wait and forget: a program's life in
 * lpd. launch sends the program file's text with the user's environment
 * and working folder, so that lpd resolves and runs it as the user would.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "lpctl.h"

extern char **environ;

#define FILE_MAX	(16 * 1024 * 1024)
#define LAUNCH_MS	60000
/* launch --ready: the longest wait between two lines of progress. */
#define READY_SHOW_MS	500
/* How many of the nodes not ready a timeout names. */
#define READY_NAMED	5

/*
 * Whether a node is ready: it runs (serves, for a courier node), or it is
 * done with status 0.
 */
static bool
node_ready(const courier_value *n)
{
	const char	*st = lpctl_get_string(n, "state", "");

	/* A node ends "exited" only with status 0 ("failed" else). */
	return (strcmp(st, "running") == 0 || strcmp(st, "exited") == 0);
}

/*
 * Ask lpd for the program's status (to *out) and count its nodes, all and
 * ready. 0 when lpd answered, else an exit status after a message.
 */
static int
ready_count(struct lpctl_client *cl, const char *prog, courier_value **out,
    size_t *ready, size_t *total)
{
	courier_value		*v;
	const courier_value	*p, *nodes;
	size_t			 i;
	int			 exitcode = LPCTL_EXIT_OK;

	if ((v = lpctl_status_of(cl, prog, &p, &exitcode)) == NULL)
		return (exitcode);
	nodes = courier_dict_get(p, "nodes");
	*total = courier_list_len(nodes);
	*ready = 0;
	for (i = 0; i < *total; i++) {
		if (node_ready(courier_list_get(nodes, i)))
			(*ready)++;
	}
	*out = v;
	return (LPCTL_EXIT_OK);
}

/* "worker/3 (starting), worker/7 (backoff)", the first few not ready. */
static void
print_not_ready(const courier_value *v)
{
	const courier_value	*p, *nodes, *n;
	size_t			 i, named = 0, more = 0;

	p = courier_list_get(courier_dict_get(v, "programs"), 0);
	nodes = courier_dict_get(p, "nodes");
	for (i = 0; i < courier_list_len(nodes); i++) {
		n = courier_list_get(nodes, i);
		if (node_ready(n))
			continue;
		if (named == READY_NAMED) {
			more++;
			continue;
		}
		fprintf(stderr, "%s%s (%s)", named == 0 ? "" : ", ",
		    lpctl_get_string(n, "name", "?"),
		    lpctl_get_string(n, "state", "?"));
		named++;
	}
	if (more != 0)
		fprintf(stderr, " and %zu more", more);
}

/*
 * One long poll for readiness: lpd answers once every node is ready, the
 * program is no longer running, or wait_ms passed. *state gets the
 * program's state (len bytes). 0 when lpd answered, else an exit status
 * after a message.
 */
static int
ready_wait(struct lpctl_client *cl, const char *prog, int wait_ms,
    size_t *ready, size_t *total, char *state, size_t len)
{
	courier_value	*kw, *v, *st;
	int		 exitcode = LPCTL_EXIT_OK;

	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(prog));
	courier_dict_set(kw, LPD_CTL_K_WAIT_MS, courier_int(wait_ms));
	courier_dict_set(kw, LPD_CTL_K_READY, courier_bool(true));
	v = lpctl_request(cl, LPD_CTL_WAIT, kw, wait_ms + 10000, &exitcode);
	if (v == NULL)
		return (exitcode);
	snprintf(state, len, "%s", lpctl_get_string(v, "state", "?"));
	if (courier_dict_get(v, "ready") != NULL) {
		*ready = (size_t)lpctl_get_number(v, "ready", 0);
		*total = (size_t)lpctl_get_number(v, "nodes", 0);
	} else {
		/* An lpd that does not count: count from its status. */
		if ((exitcode = ready_count(cl, prog, &st, ready,
		    total)) == LPCTL_EXIT_OK)
			courier_value_unref(st);
	}
	courier_value_unref(v);
	return (exitcode);
}

/*
 * launch --ready: wait until every node is ready (a courier node once it
 * answers, another once it runs, or done with status 0), showing how many
 * are; on a terminal as one line redrawn, else a line at most a second.
 * lpd answers the moment the last node is ready (a long poll, no
 * polling). The program ending first gives its status; running out of
 * time names the nodes not ready and exits 1, leaving the program running.
 */
int
lpctl_wait_ready(struct lpctl_client *cl, const char *prog, double timeout)
{
	courier_value	*v = NULL;
	char		 state[64];
	bool		 tty = isatty(STDERR_FILENO);
	double		 start = mono_ns() / 1e9, now, shown = -1, left;
	size_t		 ready = 0, total = 0, last = SIZE_MAX;
	int		 exitcode, wait_ms;

	for (now = start;;) {
		left = timeout - (now - start);
		wait_ms = left * 1000 < READY_SHOW_MS ? (int)(left * 1000) + 1 :
		    READY_SHOW_MS;
		if ((exitcode = ready_wait(cl, prog, wait_ms, &ready, &total,
		    state, sizeof state)) != LPCTL_EXIT_OK)
			break;
		now = mono_ns() / 1e9;
		if (strcmp(state, "running") != 0) {
			/* Ended, or being stopped, before all were ready. */
			if (tty && shown >= 0)
				fprintf(stderr, "\r\033[K");
			return (lpctl_wait_end(cl, prog, false));
		}
		if (ready == total) {
			if (tty && shown >= 0)
				fprintf(stderr, "\r\033[K");
			fprintf(stderr, "lpctl: \"%s\" ready: %zu node%s in "
			    "%.1f s\n", prog, total, total == 1 ? "" : "s",
			    now - start);
			break;
		}
		if (now - start >= timeout) {
			/* The status, for the names of the nodes not ready. */
			if ((exitcode = ready_count(cl, prog, &v, &ready,
			    &total)) != LPCTL_EXIT_OK)
				break;
			if (tty && shown >= 0)
				fprintf(stderr, "\r\033[K");
			fprintf(stderr, "lpctl: \"%s\" not ready after %g s: "
			    "%zu of %zu nodes ready; not ready: ", prog,
			    timeout, ready, total);
			print_not_ready(v);
			fprintf(stderr, ".\nIt keeps running: lpctl status -v "
			    "%s shows every node, lpctl logs %s their output, "
			    "lpctl stop %s stops it\n", prog, prog, prog);
			courier_value_unref(v);
			exitcode = LPCTL_EXIT_FAILED;
			break;
		}
		if (ready != last && (tty || shown < 0 || now - shown >= 1)) {
			fprintf(stderr, "%slpctl: \"%s\": %zu of %zu nodes "
			    "ready%s", tty ? "\r\033[K" : "", prog, ready,
			    total, tty ? "" : "\n");
			shown = now;
			last = ready;
		}
	}
	return (exitcode);
}

/* Read a whole file; NULL after a message. */
static char *
read_file(const char *cmd, const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "lpctl %s: %s: %s\n", cmd, path,
		    strerror(errno));
		return (NULL);
	}
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		fprintf(stderr, "lpctl %s: out of memory\n", cmd);
		return (NULL);
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX) {
		fprintf(stderr, "lpctl %s: %s: %s\n", cmd, path, ferror(f) ?
		    strerror(errno) : "larger than 16 MiB");
		fclose(f);
		free(buf);
		return (NULL);
	}
	fclose(f);
	*len = n;
	return (buf);
}

int
lpctl_launch(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "ready", no_argument, NULL, 'r' },
		{ "ready-timeout", required_argument, NULL, 'T' },
		{ "name", required_argument, NULL, 'n' },
		{ "grace", required_argument, NULL, 'g' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "backend", required_argument, NULL, 'B' },
		{ "slurm-arg", required_argument, NULL, 'A' },
		{ "slurm-timeout", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpctl_client		*cl;
	courier_value			*extra = NULL, *sargs = NULL;
	const char			*backend = NULL;
	double				 stimeout = -1;
	int				 slurm;
	const char			*name = NULL;
	char				*text, *file, *prog;
	size_t				 len;
	double				 grace = -1;
	double				 ready_s = LPCTL_READY_TIMEOUT_S;
	bool				 wait = false, ready = false;
	int				 ch, exitcode = LPCTL_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "wrn:g:S:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'B':
			backend = optarg;
			break;
		case 'A':
			if (sargs == NULL)
				sargs = courier_list_new();
			courier_list_append(sargs, courier_string(optarg));
			break;
		case 'M':
			if ((stimeout = lpctl_parse_seconds("launch",
			    "slurm-timeout", optarg)) < 0)
				goto usage;
			break;
		case 'w':
			wait = true;
			break;
		case 'r':
			ready = true;
			break;
		case 'T':
			if ((ready_s = lpctl_parse_seconds("launch",
			    "ready-timeout", optarg)) < 0)
				goto usage;
			ready = true;
			break;
		case 'n':
			name = optarg;
			break;
		case 'g':
			if ((grace = lpctl_parse_seconds("launch", "grace",
			    optarg)) < 0)
				goto usage;
			break;
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			if (sargs != NULL)
				courier_value_unref(sargs);
			return (lpctl_usage("launch", false));
		default:
			if (sargs != NULL)
				courier_value_unref(sargs);
			return (lpctl_usage("launch", true));
		}
	}
	if (argc - optind != 1) {
		if (sargs != NULL)
			courier_value_unref(sargs);
		return (lpctl_usage("launch", true));
	}
	if ((slurm = lpctl_backend_slurm("launch", backend, sargs != NULL ||
	    stimeout >= 0)) == -1)
		goto usage;
	if (slurm) {
		extra = lpctl_slurm_extra(sargs, stimeout);
		sargs = NULL;
	}
	if ((exitcode = lpctl_read_program("launch", argv[optind], &file,
	    &text, &len)) != LPCTL_EXIT_OK)
		goto out;
	if ((cl = lpctl_connect("launch", &exitcode)) == NULL) {
		free(text);
		free(file);
		goto out;
	}
	exitcode = lpctl_launch_send(cl, argv[optind], file, text, len, name,
	    grace, extra, &prog);
	extra = NULL;
	free(text);
	free(file);
	if (exitcode != LPCTL_EXIT_OK) {
		lpctl_disconnect(cl);
		return (exitcode);
	}
	printf("%s\n", prog);
	fflush(stdout);
	if (ready)
		exitcode = lpctl_wait_ready(cl, prog, ready_s);
	if (wait && exitcode == LPCTL_EXIT_OK)
		exitcode = lpctl_wait_end(cl, prog, true);
	free(prog);
	lpctl_disconnect(cl);
	return (exitcode);

usage:
	exitcode = LPCTL_EXIT_USAGE;
out:
	if (sargs != NULL)
		courier_value_unref(sargs);
	if (extra != NULL)
		courier_value_unref(extra);
	return (exitcode);
}

/*
 * What a launch on Slurm adds to the request: the backend, this lpctl
 * for the hosts to run, srun's options (args, a list, stolen; or NULL)
 * and the allocation's timeout (none if not above 0).
 */
courier_value *
lpctl_slurm_extra(courier_value *args, double timeout)
{
	courier_value	*extra = courier_dict_new();

	courier_dict_set(extra, LPD_CTL_K_BACKEND, courier_string("slurm"));
	courier_dict_set(extra, LPD_CTL_K_AGENT,
	    courier_string(lpctl_self_path()));
	if (timeout > 0)
		courier_dict_set(extra, LPD_CTL_K_SLURM_TIMEOUT,
		    courier_double(timeout));
	if (args != NULL)
		courier_dict_set(extra, LPD_CTL_K_SLURM_ARGS, args);
	return (extra);
}

/* Read a program file: its real path and text; 0, or an exit status. */
int
lpctl_read_program(const char *cmd, const char *arg, char **file,
    char **text, size_t *len)
{
	if ((*file = realpath(arg, NULL)) == NULL) {
		fprintf(stderr, "lpctl %s: %s: %s\n", cmd, arg,
		    strerror(errno));
		return (LPCTL_EXIT_USAGE);
	}
	if ((*text = read_file(cmd, *file, len)) == NULL) {
		free(*file);
		return (LPCTL_EXIT_USAGE);
	}
	return (LPCTL_EXIT_OK);
}

/*
 * Hand a program file (arg, as the user named it) to lpd, with the user's
 * environment and working folder, under name unless NULL; its name in lpd
 * to *prog. 0, or an exit status after a message.
 */
int
lpctl_launch_send(struct lpctl_client *cl, const char *arg, const char *file,
    const char *text, size_t len, const char *name, double grace,
    courier_value *extra, char **prog)
{
	courier_value	*kw, *env, *v, *s;
	char		 cwd[PATH_MAX];
	size_t		 i;
	int		 exitcode = LPCTL_EXIT_OK;

	kw = courier_dict_new();
	for (i = 0; extra != NULL && i < courier_dict_len(extra); i++) {
		courier_dict_set(kw, courier_dict_key(extra, i),
		    courier_value_ref(courier_dict_value(extra, i)));
	}
	if (extra != NULL)
		courier_value_unref(extra);
	courier_dict_set(kw, LPD_CTL_K_FILE, courier_string(file));
	courier_dict_set(kw, LPD_CTL_K_TEXT, courier_bytes(text, len));
	if (name != NULL && (s = courier_string(name)) != NULL)
		courier_dict_set(kw, LPD_CTL_K_NAME, s);
	if (getcwd(cwd, sizeof cwd) != NULL)
		courier_dict_set(kw, LPD_CTL_K_CWD, courier_string(cwd));
	if (grace >= 0)
		courier_dict_set(kw, LPD_CTL_K_GRACE, courier_double(grace));
	env = courier_list_new();
	for (i = 0; environ[i] != NULL; i++) {
		/* A variable that is not UTF-8 cannot travel; it is left. */
		if ((s = courier_string(environ[i])) != NULL)
			courier_list_append(env, s);
	}
	courier_dict_set(kw, LPD_CTL_K_ENV, env);

	if ((v = lpctl_request(cl, LPD_CTL_LAUNCH, kw, LAUNCH_MS,
	    &exitcode)) == NULL) {
		if (exitcode == LPCTL_EXIT_USAGE)
			fprintf(stderr, "lpctl: %s is not a valid program "
			    "file; nothing was started\n", arg);
		return (exitcode);
	}
	*prog = xstrdup(lpctl_get_string(v, "program", "?"));
	courier_value_unref(v);
	return (LPCTL_EXIT_OK);
}

/* The one PROGRAM argument of stop, wait and forget, with --socket. */
static const char *
program_argument(const char *cmd, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	while ((ch = getopt_long(argc, argv, "S:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			lpctl_usage(cmd, false);
			exit(LPCTL_EXIT_OK);
		default:
			return (NULL);
		}
	}
	if (argc - optind != 1)
		return (NULL);
	return (argv[optind]);
}

/*
 * Say which nodes of an ended program had to be killed (SIGKILL after the
 * grace period, or asked), or that every node stopped on the notice.
 */
static void
say_killed(struct lpctl_client *cl, const char *name)
{
	courier_value		*kw, *v;
	const courier_value	*nodes, *n;
	char			*list = NULL, *tmp;
	size_t			 i, k = 0;
	int			 exitcode;

	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(name));
	if ((v = lpctl_request(cl, LPD_CTL_STATUS, kw, 30000,
	    &exitcode)) == NULL)
		return;
	nodes = courier_dict_get(courier_list_get(courier_dict_get(v,
	    "programs"), 0), "nodes");
	for (i = 0; i < courier_list_len(nodes); i++) {
		n = courier_list_get(nodes, i);
		if (lpctl_get_number(n, "signal", 0) != 9)
			continue;
		xasprintf(&tmp, "%s%s%s", list != NULL ? list : "",
		    list != NULL ? ", " : "", lpctl_get_string(n, "name", "?"));
		free(list);
		list = tmp;
		k++;
	}
	if (k == 0)
		fprintf(stderr, "lpctl: \"%s\" stopped\n", name);
	else {
		fprintf(stderr, "lpctl: \"%s\" stopped; %zu node%s had to be "
		    "killed with SIGKILL: %s\n", name, k, k == 1 ? "" : "s",
		    list);
	}
	free(list);
	courier_value_unref(v);
}

int
lpctl_stop(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "grace", required_argument, NULL, 'g' },
		{ "kill", no_argument, NULL, 'k' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpctl_client		*cl;
	courier_value			*kw, *v;
	const char			*name, *state;
	double				 grace = -1;
	bool				 kill = false, nowait = false;
	int				 ch, exitcode = LPCTL_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "g:kWS:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'g':
			if ((grace = lpctl_parse_seconds("stop", "grace",
			    optarg)) < 0)
				return (LPCTL_EXIT_USAGE);
			break;
		case 'k':
			kill = true;
			break;
		case 'W':
			nowait = true;
			break;
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			return (lpctl_usage("stop", false));
		default:
			return (lpctl_usage("stop", true));
		}
	}
	if (argc - optind != 1)
		return (lpctl_usage("stop", true));
	name = argv[optind];
	if ((cl = lpctl_connect("stop", &exitcode)) == NULL)
		return (exitcode);
	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(name));
	courier_dict_set(kw, LPD_CTL_K_KILL, courier_bool(kill));
	if (grace >= 0)
		courier_dict_set(kw, LPD_CTL_K_GRACE, courier_double(grace));
	if ((v = lpctl_request(cl, LPD_CTL_STOP, kw, 30000, &exitcode)) != NULL) {
		state = lpctl_get_string(v, "state", "");
		if (strcmp(state, "running") != 0 &&
		    strcmp(state, "stopping") != 0) {
			/* Nothing left to stop: say so, not "waiting". */
			fprintf(stderr, "lpctl: \"%s\" had already ended "
			    "(%s); nothing to stop\n", name, state);
			courier_value_unref(v);
			lpctl_disconnect(cl);
			return (exitcode);
		}
		courier_value_unref(v);
		if (!nowait && !kill) {
			fprintf(stderr, "lpctl: stopping \"%s\": its nodes got "
			    "SIGTERM; waiting for them (SIGKILL after ", name);
			if (grace >= 0)
				fprintf(stderr, "%g s)\n", grace);
			else
				fprintf(stderr, "its grace period)\n");
		}
		/* Stopped means ended: wait for it, whatever its status. */
		if (!nowait && lpctl_wait_end(cl, name, true) ==
		    LPCTL_EXIT_UNREACHABLE)
			exitcode = LPCTL_EXIT_UNREACHABLE;
		else if (!nowait)
			say_killed(cl, name);
	}
	lpctl_disconnect(cl);
	return (exitcode);
}

int
lpctl_wait(int argc, char **argv)
{
	struct lpctl_client	*cl;
	const char		*name;
	int			 exitcode = LPCTL_EXIT_OK;

	if ((name = program_argument("wait", argc, argv)) == NULL)
		return (lpctl_usage("wait", true));
	if ((cl = lpctl_connect("wait", &exitcode)) == NULL)
		return (exitcode);
	exitcode = lpctl_wait_end(cl, name, true);
	lpctl_disconnect(cl);
	return (exitcode);
}

int
lpctl_forget(int argc, char **argv)
{
	struct lpctl_client	*cl;
	courier_value		*kw, *v;
	const char		*name;
	int			 exitcode = LPCTL_EXIT_OK;

	if ((name = program_argument("forget", argc, argv)) == NULL)
		return (lpctl_usage("forget", true));
	if ((cl = lpctl_connect("forget", &exitcode)) == NULL)
		return (exitcode);
	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(name));
	if ((v = lpctl_request(cl, LPD_CTL_FORGET, kw, 30000, &exitcode)) != NULL)
		courier_value_unref(v);
	lpctl_disconnect(cl);
	return (exitcode);
}
