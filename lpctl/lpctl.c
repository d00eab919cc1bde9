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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpctl.h"

static const struct lpctl_cmd {
	const char	*name;
	const char	*usage;
	const char	*help;
	int		(*exec)(int, char **);
} cmds[] = {
	{ "run", "run [--grace S] [--name NAME] [--log-dir DIR] "
	    "[--log-max BYTES] [--log-keep N] [--tcp] [--quiet] FILE",
	    "run a program in the foreground, no daemon needed", lpctl_run },
	{ "launch", "launch [--wait] [--name NAME] [--grace S] "
	    "[--socket PATH] FILE",
	    "hand a program to lpd; --wait waits for its end", lpctl_launch },
	{ "stop", "stop [--grace S] [--kill] [--no-wait] [--socket PATH] "
	    "PROGRAM",
	    "stop a program in lpd and wait until it has", lpctl_stop },
	{ "status", "status [-v] [--json] [--socket PATH] [PROGRAM]",
	    "programs in lpd, their nodes and states", lpctl_status },
	{ "logs", "logs [-f] [-n N] [--socket PATH] PROGRAM [NODE]",
	    "a program's captured output; -f follows", lpctl_logs },
	{ "call", "call [--timeout S] [--socket PATH] PROGRAM NODE METHOD "
	    "[JSON | NAME=JSON ...]",
	    "call a courier node's method; prints the result as JSON",
	    lpctl_call },
	{ "methods", "methods [--timeout S] [--socket PATH] PROGRAM NODE",
	    "list a courier node's methods", lpctl_methods },
	{ "wait", "wait [--socket PATH] PROGRAM",
	    "wait for a program's end; exit with its status", lpctl_wait },
	{ "forget", "forget [--socket PATH] PROGRAM",
	    "drop an ended program's record and logs from lpd", lpctl_forget },
	{ "validate", "validate FILE",
	    "check a program file without running it", lpctl_validate },
	{ "graph", "graph FILE",
	    "print a program's topology as Graphviz DOT", lpctl_graph },
};

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: lpctl [--socket PATH] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nlpctl COMMAND --help shows a command's usage. lpd is "
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
		if (strcmp(cmds[i].name, name) == 0) {
			fprintf(error ? stderr : stdout, "usage: lpctl %s\n",
			    cmds[i].usage);
			break;
		}
	}
	return (error ? LPCTL_EXIT_USAGE : LPCTL_EXIT_OK);
}

/* --grace S: seconds from 0 to 86400, or -1 after a message. */
double
lpctl_parse_grace(const char *cmd, const char *s)
{
	double	 g;
	char	*end;

	errno = 0;
	g = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(g) || g < 0 ||
	    g > 86400) {
		fprintf(stderr, "lpctl %s: --grace %s: not a number of seconds "
		    "from 0 to 86400\n", cmd, s);
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
