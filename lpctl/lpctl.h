/*
 * lpctl.h: what lpctl's files share. Prototypes are grouped by the file
 * that defines them, as in tmux.h.
 */
#ifndef LPCTL_H
#define LPCTL_H

#include <stdbool.h>

/* Exit statuses (SPEC section 4). */
#define LPCTL_EXIT_OK		0
#define LPCTL_EXIT_FAILED	1	/* the program failed */
#define LPCTL_EXIT_USAGE	2	/* usage, or an invalid program file */
#define LPCTL_EXIT_UNREACHABLE	3	/* lpd cannot be reached */

/* lpctl.c */
int	lpctl_usage(const char *, bool);

/* cmd-run.c */
int	lpctl_run(int, char **);

/* cmd-validate.c */
int	lpctl_validate(int, char **);
int	lpctl_graph(int, char **);

#endif /* LPCTL_H */
