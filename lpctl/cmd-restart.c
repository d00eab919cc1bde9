/*
 * cmd-restart.c: lpctl restart PROGRAM [NODE ...]. Nodes restart in
 * place: lpd gives each SIGTERM, SIGKILL after the program's grace period,
 * and starts it again whatever its group's restart policy, with the same
 * address, so that the handles the others hold stay good. Without NODE,
 * the whole program is stopped and launched again from its file, as
 * lpctl launch --name PROGRAM FILE would. Then, as launch --ready, wait
 * until every node is ready again.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpctl.h"

/* Restart nodes in place; 0, or an exit status after a message. */
static int
restart_nodes(struct lpctl_client *cl, const char *prog, char **nodes,
    int nnodes)
{
	courier_value	*kw, *v;
	int		 i, exitcode = LPCTL_EXIT_OK;

	for (i = 0; i < nnodes; i++) {
		kw = courier_dict_new();
		courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(prog));
		courier_dict_set(kw, LPD_CTL_K_NODE, courier_string(nodes[i]));
		if ((v = lpctl_request(cl, LPD_CTL_RESTART, kw, 30000,
		    &exitcode)) == NULL)
			return (exitcode);
		courier_value_unref(v);
		fprintf(stderr, "lpctl: restarting %s of \"%s\"\n", nodes[i],
		    prog);
	}
	return (LPCTL_EXIT_OK);
}

/*
 * Stop the program (if it runs), wait for its end, and launch it again
 * from its file under the same name; 0, or an exit status.
 */
static int
restart_program(struct lpctl_client *cl, const char *prog)
{
	courier_value		*kw, *v, *extra = NULL;
	const courier_value	*p, *sa;
	const char		*state;
	char			*file, *path, *text, *name = NULL;
	size_t			 len;
	int			 exitcode = LPCTL_EXIT_OK;

	if ((v = lpctl_status_of(cl, prog, &p, &exitcode)) == NULL)
		return (exitcode);
	state = lpctl_get_string(p, "state", "");
	file = strdup(lpctl_get_string(p, "file", ""));
	if (file == NULL) {
		fprintf(stderr, "lpctl: out of memory\n");
		exit(LPCTL_EXIT_FAILED);
	}
	/* Read it first: a file gone or broken leaves the program be. */
	if ((exitcode = lpctl_read_program("restart", file, &path, &text,
	    &len)) != LPCTL_EXIT_OK) {
		fprintf(stderr, "lpctl: \"%s\" was not stopped: its file %s "
		    "cannot be read to launch it again\n", prog, file);
		goto out;
	}
	/*
	 * A Slurm job is launched again as one, with the same options
	 * (read now: the stop below reuses v).
	 */
	if (strcmp(lpctl_get_string(p, "backend", "local"), "slurm") == 0) {
		sa = courier_dict_get(p, "slurm_args");
		extra = lpctl_slurm_extra(sa != NULL &&
		    courier_value_type(sa) == COURIER_LIST ?
		    courier_value_ref(sa) : NULL,
		    lpctl_get_number(p, "slurm_timeout", 0));
	}
	if (strcmp(state, "running") == 0 || strcmp(state, "stopping") == 0) {
		courier_value_unref(v);
		kw = courier_dict_new();
		courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(prog));
		if ((v = lpctl_request(cl, LPD_CTL_STOP, kw, 30000,
		    &exitcode)) == NULL)
			goto out_text;
		fprintf(stderr, "lpctl: stopping \"%s\"\n", prog);
		if (lpctl_wait_end(cl, prog, true) == LPCTL_EXIT_UNREACHABLE) {
			exitcode = LPCTL_EXIT_UNREACHABLE;
			goto out_text;
		}
	}
	exitcode = lpctl_launch_send(cl, file, path, text, len, prog, -1, extra,
	    &name);
	extra = NULL;
	if (exitcode == LPCTL_EXIT_OK)
		fprintf(stderr, "lpctl: launched \"%s\" again from %s\n", name,
		    path);
	free(name);
out_text:
	free(text);
	free(path);
	if (extra != NULL)
		courier_value_unref(extra);
out:
	free(file);
	if (v != NULL)
		courier_value_unref(v);
	return (exitcode);
}

int
lpctl_restart(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "no-wait", no_argument, NULL, 'W' },
		{ "ready-timeout", required_argument, NULL, 'T' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpctl_client		*cl;
	const char			*prog;
	double				 ready_s = LPCTL_READY_TIMEOUT_S;
	bool				 nowait = false;
	int				 ch, exitcode = LPCTL_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "WT:S:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'W':
			nowait = true;
			break;
		case 'T':
			if ((ready_s = lpctl_parse_seconds("restart",
			    "ready-timeout", optarg)) < 0)
				return (LPCTL_EXIT_USAGE);
			break;
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			return (lpctl_usage("restart", false));
		default:
			return (lpctl_usage("restart", true));
		}
	}
	if (argc - optind < 1)
		return (lpctl_usage("restart", true));
	prog = argv[optind];
	if ((cl = lpctl_connect("restart", &exitcode)) == NULL)
		return (exitcode);
	if (argc - optind > 1)
		exitcode = restart_nodes(cl, prog, argv + optind + 1,
		    argc - optind - 1);
	else
		exitcode = restart_program(cl, prog);
	if (exitcode == LPCTL_EXIT_OK && !nowait)
		exitcode = lpctl_wait_ready(cl, prog, ready_s);
	lpctl_disconnect(cl);
	return (exitcode);
}
