/*
 * cmd-validate.c: lpctl validate and lpctl graph, which read a program file
 * and start nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpd.h"
#include "lpctl.h"

/* The one FILE argument of validate and graph, or NULL after a message. */
static const char *
file_argument(const char *name, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch == 'h') {
			lpctl_usage(name, false);
			exit(LPCTL_EXIT_OK);
		}
		return (NULL);
	}
	if (argc - optind != 1)
		return (NULL);
	return (argv[optind]);
}

/* Load a file (named name if not NULL), printing every error. */
struct lpd_program *
lpctl_load(const char *file, const char *name)
{
	struct lpd_program	*p;
	char			*cause = NULL;

	if ((p = lpd_program_load(file, name, &cause)) == NULL) {
		fprintf(stderr, "%s", cause);
		if (cause[0] != '\0' && cause[strlen(cause) - 1] != '\n')
			fputc('\n', stderr);
		fprintf(stderr, "lpctl: %s is not a valid program file; "
		    "nothing was started\n", file);
		free(cause);
	}
	return (p);
}

int
lpctl_validate(int argc, char **argv)
{
	struct lpd_program	*p;
	const char		*file;

	if ((file = file_argument("validate", argc, argv)) == NULL)
		return (lpctl_usage("validate", true));
	if ((p = lpctl_load(file, NULL)) == NULL)
		return (LPCTL_EXIT_USAGE);
	printf("%s: ok: program \"%s\", %zu group%s, %zu node%s\n", file,
	    p->name, p->ngroups, p->ngroups == 1 ? "" : "s", p->nnodes,
	    p->nnodes == 1 ? "" : "s");
	lpd_program_free(p);
	return (LPCTL_EXIT_OK);
}

int
lpctl_graph(int argc, char **argv)
{
	struct lpd_program	*p;
	const char		*file;
	char			*dot;

	if ((file = file_argument("graph", argc, argv)) == NULL)
		return (lpctl_usage("graph", true));
	if ((p = lpctl_load(file, NULL)) == NULL)
		return (LPCTL_EXIT_USAGE);
	dot = lpd_program_graph(p);
	fputs(dot, stdout);
	free(dot);
	lpd_program_free(p);
	return (LPCTL_EXIT_OK);
}
