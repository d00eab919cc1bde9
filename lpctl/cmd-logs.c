/*
 * cmd-logs.c: lpctl logs PROGRAM [NODE] [-f] [-n N]. One node's output
 * comes as it is; every node's comes with each line prefixed [GROUP/INDEX].
 * -f follows: lpd answers each request when there is more (a long poll),
 * and lpctl asks again from the cursors it got, until the program ends.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpctl.h"

/* Per node: whether its next byte starts a line (for the prefix). */
struct follow {
	char	*name;
	bool	 midline;
};

static struct follow *
follow_find(struct follow **fs, size_t *n, const char *name)
{
	size_t	i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*fs)[i].name, name) == 0)
			return (&(*fs)[i]);
	}
	*fs = realloc(*fs, (*n + 1) * sizeof **fs);
	if (*fs == NULL) {
		fprintf(stderr, "lpctl: out of memory\n");
		exit(LPCTL_EXIT_FAILED);
	}
	(*fs)[*n].name = strdup(name);
	(*fs)[*n].midline = false;
	return (&(*fs)[(*n)++]);
}

/* Print one answer's data; its cursors go into *cursors. */
static bool
print_logs(const courier_value *v, bool prefix, struct follow **fs,
    size_t *nfs, courier_value **cursors)
{
	const courier_value	*nodes, *item;
	struct follow		*f;
	const char		*name, *data, *p, *nl;
	size_t			 i, len, n;
	bool			 any = false;

	nodes = courier_dict_get(v, "nodes");
	*cursors = courier_dict_new();
	for (i = 0; i < courier_list_len(nodes); i++) {
		item = courier_list_get(nodes, i);
		name = lpctl_get_string(item, "node", "?");
		courier_dict_set(*cursors, name, courier_int(
		    (int64_t)lpctl_get_number(item, "cursor", 0)));
		data = courier_value_bytes(courier_dict_get(item, "data"),
		    &len);
		if (data == NULL || len == 0)
			continue;
		any = true;
		if (!prefix) {
			fwrite(data, 1, len, stdout);
			continue;
		}
		f = follow_find(fs, nfs, name);
		for (p = data; p < data + len; p = nl) {
			if (!f->midline)
				printf("[%s] ", name);
			nl = memchr(p, '\n', (size_t)(data + len - p));
			n = nl != NULL ? (size_t)(nl - p) + 1 :
			    (size_t)(data + len - p);
			fwrite(p, 1, n, stdout);
			f->midline = nl == NULL;
			nl = p + n;
		}
	}
	fflush(stdout);
	return (any);
}

int
lpctl_logs(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpctl_client		*cl;
	struct follow			*fs = NULL;
	courier_value			*kw, *v, *cursors = NULL;
	const char			*program, *node = NULL;
	char				*end;
	long				 lines = -1;
	size_t				 nfs = 0, i;
	bool				 follow = false, stamps = false;
	bool				 done;
	int				 ch, exitcode = LPCTL_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "fn:tS:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			follow = true;
			break;
		case 'n':
			errno = 0;
			lines = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    lines < 0) {
				fprintf(stderr, "lpctl logs: -n %s: not a "
				    "number of lines\n", optarg);
				return (LPCTL_EXIT_USAGE);
			}
			break;
		case 't':
			stamps = true;
			break;
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			return (lpctl_usage("logs", false));
		default:
			return (lpctl_usage("logs", true));
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return (lpctl_usage("logs", true));
	program = argv[optind];
	if (argc - optind == 2)
		node = argv[optind + 1];
	if ((cl = lpctl_connect("logs", &exitcode)) == NULL)
		return (exitcode);

	for (;;) {
		kw = courier_dict_new();
		courier_dict_set(kw, LPD_CTL_K_PROGRAM,
		    courier_string(program));
		if (node != NULL)
			courier_dict_set(kw, LPD_CTL_K_NODE,
			    courier_string(node));
		courier_dict_set(kw, LPD_CTL_K_LINES, courier_int(lines));
		if (stamps)
			courier_dict_set(kw, LPD_CTL_K_TIMESTAMPS,
			    courier_bool(true));
		if (cursors != NULL) {
			courier_dict_set(kw, LPD_CTL_K_CURSORS, cursors);
			courier_dict_set(kw, LPD_CTL_K_WAIT_MS,
			    courier_int(LPCTL_POLL_MS));
		}
		v = lpctl_request(cl, LPD_CTL_LOGS, kw, LPCTL_POLL_MS + 10000,
		    &exitcode);
		if (v == NULL)
			break;
		done = courier_value_bool(courier_dict_get(v, "done"));
		/* An ended program's last lines came with this answer. */
		if (!print_logs(v, node == NULL, &fs, &nfs, &cursors) &&
		    done && cursors != NULL && follow) {
			/* Followed to its end: exit as the program did. */
			if (lpctl_get_number(v, "status", 0) != 0)
				exitcode = LPCTL_EXIT_FAILED;
			courier_value_unref(v);
			break;
		}
		courier_value_unref(v);
		if (!follow)
			break;
	}
	courier_value_unref(cursors);
	for (i = 0; i < nfs; i++)
		free(fs[i].name);
	free(fs);
	lpctl_disconnect(cl);
	return (exitcode);
}
