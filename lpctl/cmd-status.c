/*
 * cmd-status.c: lpctl status [PROGRAM] [--json]. The table is for people;
 * --json prints lpd's answer as it is, the stable form the README
 * documents.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lpctl.h"

#define NCOLS	7

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
		"name", "state", "pid", "restarts", "uptime", "exit", "address"
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

/* One program: a line about it, then its nodes as a table. */
static void
print_program(const courier_value *p)
{
	static const char *const	 heads[NCOLS] = {
		"NODE", "STATE", "PID", "RESTARTS", "UPTIME", "EXIT", "ADDRESS"
	};
	const courier_value		*nodes, *warnings;
	const char			*cause, *w;
	char				***cells, up[32];
	size_t				 n, i, width[NCOLS];
	int				 c;

	duration(up, sizeof up, lpctl_get_number(p, "uptime", -1));
	nodes = courier_dict_get(p, "nodes");
	n = courier_list_len(nodes);
	printf("program %s: %s, %zu node%s, %s %s, uid %.0f\n",
	    lpctl_get_string(p, "name", "?"), lpctl_get_string(p, "state", "?"),
	    n, n == 1 ? "" : "s",
	    courier_dict_get(p, "ended") != NULL &&
	    courier_value_type(courier_dict_get(p, "ended")) != COURIER_NULL ?
	    "ran" : "up", up, lpctl_get_number(p, "uid", -1));
	printf("  file %s\n", lpctl_get_string(p, "file", "?"));
	if ((cause = lpctl_get_string(p, "cause", NULL)) != NULL)
		printf("  %s\n", cause);
	/* What lpd cannot do for it now: write its logs, or its record. */
	warnings = courier_dict_get(p, "warnings");
	for (i = 0; i < courier_list_len(warnings); i++) {
		w = courier_value_string(courier_list_get(warnings, i), NULL);
		if (w != NULL)
			printf("  warning: %s\n", w);
	}

	if ((cells = calloc(n, sizeof *cells)) == NULL)
		return;
	for (c = 0; c < NCOLS; c++)
		width[c] = strlen(heads[c]);
	for (i = 0; i < n; i++) {
		if ((cells[i] = calloc(NCOLS, sizeof *cells[i])) == NULL)
			continue;
		for (c = 0; c < NCOLS; c++) {
			cells[i][c] = cell(courier_list_get(nodes, i), c);
			if (cells[i][c] != NULL && strlen(cells[i][c]) >
			    width[c])
				width[c] = strlen(cells[i][c]);
		}
	}
	printf("  ");
	for (c = 0; c < NCOLS; c++)
		printf("%-*s%s", c == NCOLS - 1 ? 0 : (int)width[c], heads[c],
		    c == NCOLS - 1 ? "\n" : "  ");
	for (i = 0; i < n; i++) {
		if (cells[i] == NULL)
			continue;
		printf("  ");
		for (c = 0; c < NCOLS; c++) {
			printf("%-*s%s", c == NCOLS - 1 ? 0 : (int)width[c],
			    cells[i][c] != NULL ? cells[i][c] : "?",
			    c == NCOLS - 1 ? "\n" : "  ");
			free(cells[i][c]);
		}
		free(cells[i]);
	}
	free(cells);
}

int
lpctl_status(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpctl_client		*cl;
	courier_value			*kw, *v;
	const courier_value		*progs;
	const char			*state;
	char				*json, *cause = NULL;
	bool				 as_json = false;
	size_t				 i, n;
	int				 ch, exitcode = LPCTL_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "jS:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			as_json = true;
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
		progs = courier_dict_get(v, "programs");
		n = courier_list_len(progs);
		if (n == 0)
			printf("no programs; lpctl launch FILE starts one\n");
		for (i = 0; i < n; i++) {
			if (i != 0)
				printf("\n");
			print_program(courier_list_get(progs, i));
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
