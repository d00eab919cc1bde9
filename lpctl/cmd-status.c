/*
 * cmd-status.c: lpctl status [-v] [PROGRAM] [--json]. For people: a line
 * per program; for one program, a line per group with its nodes' states
 * summed up ("298 running, 2 backoff"); -v, a line per node. --json
 * prints lpd's answer as it is, the stable form the README documents.
 */
#include <getopt.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lpctl.h"

#define NCOLS	8	/* the last, HOST, for Slurm jobs only */

/* "45s", "3m07s", "2h05m", "4d03h"; "-" for a negative or missing one. */
static void
duration(char *buf, size_t len, double s)
{
	long	t;

	if (!(s >= 0)) {
		snprintf(buf, len, "-");
		return;
	}
	t = (long)s;
	if (t < 60)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

/* A field of a node as text for the table. */
static char *
cell(const courier_value *n, int col)
{
	static const char *const	 keys[NCOLS] = {
		"name", "state", "pid", "restarts", "uptime", "exit", "address",
		"host"
	};
	const courier_value		*f = courier_dict_get(n, keys[col]);
	char				 buf[64], *s;

	switch (courier_value_type(f)) {
	case COURIER_STRING:
		return (strdup(courier_value_string(f, NULL)));
	case COURIER_INT:
		snprintf(buf, sizeof buf, "%lld",
		    (long long)courier_value_int(f));
		break;
	case COURIER_DOUBLE:
		duration(buf, sizeof buf, courier_value_double(f));
		break;
	default:
		snprintf(buf, sizeof buf, "-");
		break;
	}
	s = strdup(buf);
	return (s);
}

/* Whether a cell says something failed: shown in red on a terminal. */
static bool
alarming(const char *text)
{
	return (strcmp(text, "failed") == 0 || strcmp(text, "lost") == 0 ||
	    strstr(text, " failed") != NULL || strstr(text, " lost") != NULL);
}

/*
 * Print a table: a line of heads, then nrows rows of ncols cells (taken;
 * NULL shows "?"), each line after indent, columns padded to their widest.
 */
static void
print_table(const char *indent, const char *const *heads, char ***cells,
    size_t nrows, int ncols, bool colour)
{
	size_t	 width[NCOLS], i, len;
	int	 c;

	for (c = 0; c < ncols; c++)
		width[c] = strlen(heads[c]);
	for (i = 0; i < nrows; i++) {
		for (c = 0; c < ncols; c++) {
			if (cells[i][c] != NULL &&
			    strlen(cells[i][c]) > width[c])
				width[c] = strlen(cells[i][c]);
		}
	}
	printf("%s", indent);
	for (c = 0; c < ncols; c++)
		printf("%-*s%s", c == ncols - 1 ? 0 : (int)width[c], heads[c],
		    c == ncols - 1 ? "\n" : "  ");
	for (i = 0; i < nrows; i++) {
		printf("%s", indent);
		for (c = 0; c < ncols; c++) {
			const char *t = cells[i][c] != NULL ? cells[i][c] : "?";

			len = strlen(t);
			if (colour && alarming(t))
				printf("\033[1;31m%s\033[0m", t);
			else
				printf("%s", t);
			if (c != ncols - 1)
				printf("%*s  ", (int)(width[c] - len), "");
			free(cells[i][c]);
		}
		printf("\n");
		free(cells[i]);
	}
}

/* Rows of ncols cells, all NULL; the caller fills and print_table frees. */
static char ***
table_new(size_t nrows, int ncols)
{
	char	***cells;
	size_t	   i;

	if ((cells = calloc(nrows + 1, sizeof *cells)) == NULL)
		exit(LPCTL_EXIT_FAILED);
	for (i = 0; i < nrows; i++) {
		if ((cells[i] = calloc(ncols, sizeof *cells[i])) == NULL)
			exit(LPCTL_EXIT_FAILED);
	}
	return (cells);
}

/*
 * How many nodes (of group, or all if NULL) are in each state, as
 * "298 running, 2 backoff", states in the order of a node's life.
 */
static char *
state_summary(const courier_value *nodes, const char *group)
{
	static const char *const	 order[] = {
		"pending", "starting", "running", "backoff", "stopping",
		"exited", "failed", "lost"
	};
	const courier_value		*n;
	char				*out = NULL, *tmp;
	size_t				 i, k, count;

	for (k = 0; k < sizeof order / sizeof order[0]; k++) {
		count = 0;
		for (i = 0; i < courier_list_len(nodes); i++) {
			n = courier_list_get(nodes, i);
			if (group != NULL && strcmp(lpctl_get_string(n,
			    "group", ""), group) != 0)
				continue;
			if (strcmp(lpctl_get_string(n, "state", ""),
			    order[k]) == 0)
				count++;
		}
		if (count == 0)
			continue;
		if (asprintf(&tmp, "%s%s%zu %s", out != NULL ? out : "",
		    out != NULL ? ", " : "", count, order[k]) == -1)
			exit(LPCTL_EXIT_FAILED);
		free(out);
		out = tmp;
	}
	return (out != NULL ? out : strdup("no nodes"));
}

/* A program's uptime, "ran 5s" once it ended. */
static char *
program_uptime(const courier_value *p)
{
	const courier_value	*ended = courier_dict_get(p, "ended");
	char			 up[32], *s;

	duration(up, sizeof up, lpctl_get_number(p, "uptime", -1));
	if (asprintf(&s, "%s%s", ended != NULL && courier_value_type(ended) !=
	    COURIER_NULL ? "ran " : "", up) == -1)
		exit(LPCTL_EXIT_FAILED);
	return (s);
}

/* Every program, a line each. */
static void
print_overview(const courier_value *progs, bool colour)
{
	static const char *const	 heads[] = {
		"PROGRAM", "STATE", "NODES", "UPTIME"
	};
	const courier_value		*p;
	char				***cells;
	size_t				 i, n = courier_list_len(progs);

	cells = table_new(n, 4);
	for (i = 0; i < n; i++) {
		p = courier_list_get(progs, i);
		cells[i][0] = strdup(lpctl_get_string(p, "name", "?"));
		cells[i][1] = strdup(lpctl_get_string(p, "state", "?"));
		cells[i][2] = state_summary(courier_dict_get(p, "nodes"),
		    NULL);
		cells[i][3] = program_uptime(p);
	}
	print_table("", heads, cells, n, 4, colour);
	free(cells);
}

/*
 * One program: a line about it, what went wrong, then a line per group
 * (its nodes' states summed up) or, verbose, a line per node.
 */
static void
print_program(const courier_value *p, bool verbose, bool colour)
{
	static const char *const	 heads[NCOLS] = {
		"NODE", "STATE", "PID", "RESTARTS", "UPTIME", "EXIT", "ADDRESS",
		"HOST"
	};
	static const char *const	 gheads[] = {
		"GROUP", "TYPE", "NODES"
	};
	const courier_value		*nodes, *warnings, *nd;
	const char			*cause, *w, *g, *last = NULL;
	char				***cells, *up;
	size_t				 n, i, k = 0;
	int				 c, ncols;
	bool				 slurm;

	nodes = courier_dict_get(p, "nodes");
	n = courier_list_len(nodes);
	up = program_uptime(p);
	printf("program %s: %s, %zu node%s, %s%s, uid %.0f\n",
	    lpctl_get_string(p, "name", "?"), lpctl_get_string(p, "state", "?"),
	    n, n == 1 ? "" : "s", strncmp(up, "ran ", 4) == 0 ? "" : "up ",
	    up, lpctl_get_number(p, "uid", -1));
	free(up);
	printf("  file %s\n", lpctl_get_string(p, "file", "?"));
	/* A Slurm job's nodes say where they run: one more column. */
	slurm = strcmp(lpctl_get_string(p, "backend", "local"), "slurm") == 0;
	if (slurm) {
		printf("  Slurm job %s\n", lpctl_get_string(p, "job",
		    "not allocated yet"));
	}
	ncols = slurm ? NCOLS : NCOLS - 1;
	if ((cause = lpctl_get_string(p, "cause", NULL)) != NULL)
		printf("  %s\n", cause);
	/* What lpd cannot do for it now: write its logs, or its record. */
	warnings = courier_dict_get(p, "warnings");
	for (i = 0; i < courier_list_len(warnings); i++) {
		w = courier_value_string(courier_list_get(warnings, i), NULL);
		if (w != NULL)
			printf("  warning: %s\n", w);
	}

	if (verbose) {
		cells = table_new(n, ncols);
		for (i = 0; i < n; i++) {
			for (c = 0; c < ncols; c++)
				cells[i][c] = cell(courier_list_get(nodes, i),
				    c);
		}
		print_table("  ", heads, cells, n, ncols, colour);
		free(cells);
		return;
	}
	/* Nodes come group by group, in index order. */
	cells = table_new(n, 3);
	for (i = 0; i < n; i++) {
		nd = courier_list_get(nodes, i);
		g = lpctl_get_string(nd, "group", "?");
		if (last != NULL && strcmp(g, last) == 0)
			continue;
		last = g;
		cells[k][0] = strdup(g);
		cells[k][1] = strdup(lpctl_get_string(nd, "type", "?"));
		cells[k][2] = state_summary(nodes, g);
		k++;
	}
	for (i = k; i < n; i++)
		free(cells[i]);
	print_table("  ", gheads, cells, k, 3, colour);
	free(cells);
}

int
lpctl_status(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpctl_client		*cl;
	courier_value			*kw, *v;
	const courier_value		*progs;
	const char			*state, *nc, *term;
	char				*json, *cause = NULL;
	bool				 as_json = false, verbose = false, colour;
	size_t				 i, n;
	int				 ch, exitcode = LPCTL_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "jvS:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			as_json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			return (lpctl_usage("status", false));
		default:
			return (lpctl_usage("status", true));
		}
	}
	if (argc - optind > 1)
		return (lpctl_usage("status", true));
	if ((cl = lpctl_connect("status", &exitcode)) == NULL)
		return (exitcode);
	kw = courier_dict_new();
	if (argc - optind == 1)
		courier_dict_set(kw, LPD_CTL_K_PROGRAM,
		    courier_string(argv[optind]));
	if ((v = lpctl_request(cl, LPD_CTL_STATUS, kw, 30000,
	    &exitcode)) == NULL) {
		lpctl_disconnect(cl);
		return (exitcode);
	}
	if (as_json) {
		if ((json = courier_value_to_json(v, true, &cause)) == NULL) {
			fprintf(stderr, "lpctl status: %s\n", cause);
			free(cause);
			exitcode = LPCTL_EXIT_FAILED;
		} else {
			printf("%s\n", json);
			free(json);
		}
	} else {
		nc = getenv("NO_COLOR");
		term = getenv("TERM");
		colour = isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0') &&
		    (term == NULL || strcmp(term, "dumb") != 0);
		progs = courier_dict_get(v, "programs");
		n = courier_list_len(progs);
		if (n == 0)
			printf("no programs; lpctl launch FILE starts one\n");
		else if (argc - optind == 0 && !verbose)
			print_overview(progs, colour);
		for (i = 0; i < n && (argc - optind == 1 || verbose); i++) {
			if (i != 0)
				printf("\n");
			print_program(courier_list_get(progs, i), verbose,
			    colour);
		}
	}
	/* Asked about one program: exit 1 if it failed (or was lost). */
	progs = courier_dict_get(v, "programs");
	if (argc - optind == 1 && courier_list_len(progs) == 1) {
		state = lpctl_get_string(courier_list_get(progs, 0), "state",
		    "");
		if (strcmp(state, "failed") == 0 || strcmp(state, "lost") == 0)
			exitcode = LPCTL_EXIT_FAILED;
	}
	courier_value_unref(v);
	lpctl_disconnect(cl);
	return (exitcode);
}
