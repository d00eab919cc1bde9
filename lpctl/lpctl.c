/*
 * lpctl.c: main and the command table.
 *
 * Each command is a function taking its own argc/argv (after the command's
 * name), like tmux's cmd-*.c entries. Exit statuses, as lpctl(1) says:
 * 0 success, 1 the program failed, 2 usage or invalid program file, 3 lpd
 * unreachable.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lpctl.h"
#include "slurm.h"

static const struct lpctl_cmd {
	const char	*name;
	const char	*usage;
	const char	*help;
	const char	*details;	/* the options, for --help */
	int		(*exec)(int, char **);
} cmds[] = {
	{ "run", "run [--grace S] [--name NAME] [--log-dir DIR] "
	    "[--log-max BYTES] [--log-keep N] [--tcp] [--quiet | -v] "
	    "[--backend local|slurm] [--slurm-arg ARG]... [--slurm-timeout S] "
	    "FILE",
	    "run a program in the foreground, no daemon needed",
	    "Checks FILE, starts every node, streams their output prefixed by\n"
	    "[GROUP/INDEX], and exits with the program's status. Ctrl+C stops it\n"
	    "gracefully; a second Ctrl+C kills every node.\n\n"
	    "  --grace S         seconds between the stop notice and SIGKILL\n"
	    "                    (default: the file's stop.grace_s, else 10)\n"
	    "  --name NAME       run under NAME instead of the file's program\n"
	    "  --log-dir DIR     per-node logs DIR/GROUP/INDEX.log (default\n"
	    "                    $XDG_STATE_HOME/lpctl/PROGRAM)\n"
	    "  --log-max BYTES   rotate a log past this size (default 10M)\n"
	    "  --log-keep N      rotated logs kept (default 3)\n"
	    "  --tcp             serve courier nodes on 127.0.0.1, not Unix\n"
	    "                    sockets\n"
	    "  --quiet           print the nodes' output and failures only\n"
	    "  -v, --verbose     a line for each node's start, readiness and\n"
	    "                    end, also in groups of 5 or more (summed up\n"
	    "                    otherwise)\n"
	    "  --backend B       where the nodes run: local (this machine, the\n"
	    "                    default) or slurm (one Slurm job; its hosts\n"
	    "                    run the nodes); default $LPD_BACKEND\n"
	    "  --slurm-arg ARG   an option for srun, as --slurm-arg=--partition=gpu\n"
	    "                    (repeat it for more)\n"
	    "  --slurm-timeout S give up if Slurm has not given the job its\n"
	    "                    hosts after S seconds (default 60); the job\n"
	    "                    is cancelled and lpctl exits with status 2\n",
	    lpctl_run },
	{ "launch", "launch [--ready] [--ready-timeout S] [--wait] "
	    "[--name NAME] [--grace S] [--backend local|slurm] "
	    "[--slurm-arg ARG]... [--slurm-timeout S] [--socket PATH] FILE",
	    "hand a program to lpd; --wait waits for its end",
	    "Sends FILE, your environment and working folder to lpd, which runs\n"
	    "the program; prints its name.\n\n"
	    "  -r, --ready       wait until every node is ready (a courier\n"
	    "                    node serves, another runs or ended with\n"
	    "                    status 0), showing how many are; exit 1 if\n"
	    "                    the program fails first or time runs out\n"
	    "  --ready-timeout S give up waiting for ready after S seconds\n"
	    "                    (default 120; implies --ready); the program\n"
	    "                    keeps running\n"
	    "  --wait            wait for the program's end; exit with its\n"
	    "                    status\n"
	    "  --name NAME       run under NAME instead of the file's program\n"
	    "  --grace S         seconds between the stop notice and SIGKILL\n"
	    "  --backend B       local (lpd's machine, the default) or slurm\n"
	    "                    (one Slurm job, submitted by lpd); default\n"
	    "                    $LPD_BACKEND\n"
	    "  --slurm-arg ARG   an option for srun (repeatable)\n"
	    "  --slurm-timeout S give up if Slurm gives no hosts in S seconds\n"
	    "                    (default 60)\n",
	    lpctl_launch },
	{ "stop", "stop [--grace S] [--kill] [--no-wait] [--socket PATH] "
	    "PROGRAM",
	    "stop a program in lpd and wait until it has",
	    "Sends SIGTERM to every node, SIGKILL after the grace period, and\n"
	    "waits for the end; says which nodes had to be killed.\n\n"
	    "  --grace S         give the nodes S seconds (counted from now)\n"
	    "  --kill            SIGKILL at once\n"
	    "  --no-wait         return once the stop has begun\n",
	    lpctl_stop },
	{ "restart", "restart [--no-wait] [--ready-timeout S] [--socket PATH] "
	    "PROGRAM [NODE ...]",
	    "restart nodes in place, or a whole program from its file",
	    "Each NODE gets SIGTERM, SIGKILL after the program's grace\n"
	    "period, and starts again at once on the same address, whatever\n"
	    "its group's restart policy. Without NODE the program is stopped\n"
	    "and launched again from its file, with your environment and\n"
	    "working folder. Then waits until every node is ready, as launch\n"
	    "--ready does.\n\n"
	    "  --no-wait         return once the restart has begun\n"
	    "  --ready-timeout S give up waiting for ready after S seconds\n"
	    "                    (default 120)\n",
	    lpctl_restart },
	{ "status", "status [-v] [--json] [--socket PATH] [PROGRAM]",
	    "programs in lpd, their nodes and states",
	    "A line per program; with PROGRAM, a line per group. Exits 1 when\n"
	    "PROGRAM failed or was lost.\n\n"
	    "  -v, --verbose     a line per node: state, pid, restarts, uptime,\n"
	    "                    exit, address\n"
	    "  --json            lpd's answer as JSON, in a stable form\n",
	    lpctl_status },
	{ "logs", "logs [-f] [-t] [-n N] [--socket PATH] PROGRAM [NODE]",
	    "a program's captured output; -f follows",
	    "Every node's lines, prefixed by [GROUP/INDEX], or NODE's alone.\n\n"
	    "  -f, --follow      print lines as they come, until the program\n"
	    "                    ends; then exit 1 if it failed\n"
	    "  -n, --lines N     the last N lines of each node (-1: all)\n"
	    "  -t, --timestamps  each line with when lpd read it (UTC, RFC 3339)\n",
	    lpctl_logs },
	{ "call", "call [--timeout S] [--socket PATH] PROGRAM NODE METHOD "
	    "[JSON | NAME=JSON ...]",
	    "call a courier node's method; prints the result as JSON",
	    "Each argument is JSON (a string needs its quotes: '\"text\"');\n"
	    "NAME=JSON passes a keyword argument. Exits 1 with the node's error\n"
	    "code and message if the call fails.\n\n"
	    "  --timeout S       give up after S seconds (default 30)\n",
	    lpctl_call },
	{ "methods", "methods [--timeout S] [--socket PATH] PROGRAM NODE",
	    "list a courier node's methods",
	    "  --timeout S       give up after S seconds (default 30)\n",
	    lpctl_methods },
	{ "wait", "wait [--socket PATH] PROGRAM",
	    "wait for a program's end; exit with its status", NULL,
	    lpctl_wait },
	{ "forget", "forget [--socket PATH] PROGRAM",
	    "drop an ended program's record and logs from lpd", NULL,
	    lpctl_forget },
	{ "validate", "validate FILE",
	    "check a program file without running it",
	    "Prints every error with its place and exits 2, or exits 0.\n",
	    lpctl_validate },
	{ "graph", "graph FILE",
	    "print a program's topology as Graphviz DOT",
	    "A cluster per group, a node per replica, an edge per handle:\n"
	    "lpctl graph prog.json | dot -Tpng > prog.png\n",
	    lpctl_graph },
};

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: lpctl [--socket PATH] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nlpctl COMMAND --help says more of a command. lpd is "
	    "found at --socket PATH,\nelse $LPD_SOCKET, else "
	    "$XDG_RUNTIME_DIR/lpd/lpd.sock (/run/lpd/lpd.sock for root).\n"
	    "Exit status: 0 success, 1 the program or the call failed, 2 "
	    "usage or an\ninvalid program file, 3 lpd unreachable.\n");
}

/* Print a command's usage; status 2 for a usage error. */
int
lpctl_usage(const char *name, bool error)
{
	size_t	i;

	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		if (error) {
			fprintf(stderr, "usage: lpctl %s\n(lpctl %s --help "
			    "says more)\n", cmds[i].usage, name);
			break;
		}
		printf("usage: lpctl %s\n\n%c%s.\n", cmds[i].usage,
		    cmds[i].help[0] - 'a' + 'A', cmds[i].help + 1);
		if (cmds[i].details != NULL)
			printf("\n%s", cmds[i].details);
		if (strstr(cmds[i].usage, "--socket") != NULL) {
			printf("%s  --socket PATH     lpd's socket (default "
			    "$LPD_SOCKET, else\n                    "
			    "$XDG_RUNTIME_DIR/lpd/lpd.sock; /run/lpd/lpd.sock "
			    "for root)\n", cmds[i].details == NULL ? "\n" : "");
		}
		break;
	}
	return (error ? LPCTL_EXIT_USAGE : LPCTL_EXIT_OK);
}

/* This lpctl's own path, for the hosts of a Slurm job to run. */
const char *
lpctl_self_path(void)
{
	static char	 path[PATH_MAX];
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", path, sizeof path - 1)) <= 0)
		return ("lpctl");
	path[n] = '\0';
	return (path);
}

/*
 * Whether cmd runs the program on Slurm: arg (--backend B, or NULL), else
 * $LPD_BACKEND, else not. 1 slurm, 0 local, or -1 after a message: a
 * backend that is none, or Slurm's options (slurm_opts: --slurm-arg or
 * --slurm-timeout was given) without Slurm.
 */
int
lpctl_backend_slurm(const char *cmd, const char *arg, bool slurm_opts)
{
	const char	*b = arg, *env = getenv("LPD_BACKEND");

	if (b == NULL && env != NULL && *env != '\0')
		b = env;
	if (b != NULL && strcmp(b, "local") != 0 && strcmp(b, "slurm") != 0) {
		fprintf(stderr, "lpctl %s: backend \"%s\"%s: it is \"local\" "
		    "(%s) or \"slurm\" (a Slurm job)\n", cmd, b, b == arg ? "" :
		    " (from LPD_BACKEND)", strcmp(cmd, "run") == 0 ?
		    "this machine" : "lpd's machine");
		return (-1);
	}
	if (b != NULL && strcmp(b, "slurm") == 0)
		return (1);
	if (slurm_opts) {
		fprintf(stderr, "lpctl %s: --slurm-arg and --slurm-timeout "
		    "need --backend slurm\n", cmd);
		return (-1);
	}
	return (0);
}

/* --OPTION S: seconds from 0 to 86400, or -1 after a message. */
double
lpctl_parse_seconds(const char *cmd, const char *opt, const char *s)
{
	double	 g;
	char	*end;

	errno = 0;
	g = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(g) || g < 0 ||
	    g > 86400) {
		fprintf(stderr, "lpctl %s: --%s %s: not a number of seconds "
		    "from 0 to 86400\n", cmd, opt, s);
		return (-1);
	}
	return (g);
}

int
main(int argc, char **argv)
{
	size_t	i;

	/* Options before the command: --socket PATH (or -S PATH). */
	while (argc >= 3 && (strcmp(argv[1], "--socket") == 0 ||
	    strcmp(argv[1], "-S") == 0)) {
		lpctl_socket = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc >= 2 && strncmp(argv[1], "--socket=", 9) == 0) {
		lpctl_socket = argv[1] + 9;
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return (LPCTL_EXIT_USAGE);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return (LPCTL_EXIT_OK);
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("lpctl %s\n", LPD_VERSION);
		return (LPCTL_EXIT_OK);
	}
	/* The host agent of a Slurm job: srun runs it, not a user. */
	if (strcmp(argv[1], "agent") == 0 && argc == 2)
		return (lpd_slurm_agent_main());
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmds[i].name, argv[1]) == 0) {
			optind = 1;
			return (cmds[i].exec(argc - 1, argv + 1));
		}
	}
	fprintf(stderr, "lpctl: unknown command \"%s\"; lpctl --help lists "
	    "the commands\n", argv[1]);
	return (LPCTL_EXIT_USAGE);
}
