/*
 * cmd-call.c: lpctl call PROGRAM NODE METHOD [JSON | NAME=JSON ...] and
 * lpctl methods PROGRAM NODE. lpd makes the call (the node's socket may be
 * out of the caller's reach) and answers with the node's result or its
 * error. An argument NAME=JSON, NAME an identifier, is a keyword argument
 * (no JSON text starts that way).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpctl.h"

#define CALL_S_DEFAULT	30

/* --timeout S in milliseconds, or -1 after a message. */
static int
parse_timeout(const char *cmd, const char *s)
{
	double	 t;
	char	*end;

	errno = 0;
	t = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(t) || t <= 0 ||
	    t > 86400) {
		fprintf(stderr, "lpctl %s: --timeout %s: not a number of "
		    "seconds from 0 to 86400\n", cmd, s);
		return (-1);
	}
	return ((int)(t * 1000));
}

/* Send call or methods and print lpd's answer. */
static int
node_request(const char *cmd, const char *program, const char *node,
    const char *method, courier_value *args, courier_value *kwargs,
    int timeout_ms)
{
	struct lpctl_client	*cl;
	courier_value		*kw, *v;
	const courier_value	*r;
	char			*json, *cause = NULL;
	size_t			 i;
	int			 exitcode = LPCTL_EXIT_OK;

	if ((cl = lpctl_connect(cmd, &exitcode)) == NULL) {
		courier_value_unref(args);
		courier_value_unref(kwargs);
		return (exitcode);
	}
	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(program));
	courier_dict_set(kw, LPD_CTL_K_NODE, courier_string(node));
	if (method != NULL) {
		courier_dict_set(kw, LPD_CTL_K_METHOD, courier_string(method));
		courier_dict_set(kw, LPD_CTL_K_ARGS, args);
		courier_dict_set(kw, LPD_CTL_K_KWARGS, kwargs);
	}
	courier_dict_set(kw, LPD_CTL_K_TIMEOUT_MS, courier_int(timeout_ms));
	v = lpctl_request(cl, method != NULL ? LPD_CTL_CALL : LPD_CTL_METHODS,
	    kw, timeout_ms + 10000, &exitcode);
	if (v == NULL)
		goto out;
	if (!courier_value_bool(courier_dict_get(v, "ok"))) {
		fprintf(stderr, "lpctl %s: %s %s%s%s: %s: %s\n", cmd, program,
		    node, method != NULL ? " " : "", method != NULL ? method :
		    "", lpctl_get_string(v, "code", "UNKNOWN"),
		    lpctl_get_string(v, "message", ""));
		exitcode = LPCTL_EXIT_FAILED;
	} else if (method == NULL) {
		r = courier_dict_get(v, "methods");
		for (i = 0; i < courier_list_len(r); i++) {
			printf("%s\n", courier_value_string(
			    courier_list_get(r, i), NULL));
		}
	} else {
		r = courier_dict_get(v, "result");
		if ((json = courier_value_to_json(r, false, &cause)) == NULL) {
			fprintf(stderr, "lpctl call: the result has no JSON "
			    "form: %s\n", cause);
			free(cause);
			exitcode = LPCTL_EXIT_FAILED;
		} else {
			printf("%s\n", json);
			free(json);
		}
	}
	courier_value_unref(v);
out:
	lpctl_disconnect(cl);
	return (exitcode);
}

/* The options of call and methods; -1 on a usage error. */
static int
node_options(const char *cmd, int argc, char **argv, int *timeout_ms)
{
	static const struct option	 longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	*timeout_ms = CALL_S_DEFAULT * 1000;
	/* "+": JSON arguments such as -1 are not options. */
	while ((ch = getopt_long(argc, argv, "+t:S:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 't':
			if ((*timeout_ms = parse_timeout(cmd, optarg)) < 0)
				return (-1);
			break;
		case 'S':
			lpctl_socket = optarg;
			break;
		case 'h':
			lpctl_usage(cmd, false);
			exit(LPCTL_EXIT_OK);
		default:
			return (-1);
		}
	}
	return (0);
}

/* The length of NAME in "NAME=...", NAME an identifier; 0 if not so. */
static size_t
keyword_len(const char *s)
{
	size_t	 n;

	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z')))
		return (0);
	for (n = 1; s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') ||
	    (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9'); n++)
		/* nothing */;
	return (s[n] == '=' ? n : 0);
}

int
lpctl_call(int argc, char **argv)
{
	courier_value	*args, *kwargs, *a;
	const char	*text;
	char		*cause = NULL, *name;
	size_t		 klen;
	int		 timeout_ms, i;

	if (node_options("call", argc, argv, &timeout_ms) != 0 ||
	    argc - optind < 3)
		return (lpctl_usage("call", true));
	args = courier_list_new();
	kwargs = courier_dict_new();
	for (i = optind + 3; i < argc; i++) {
		klen = keyword_len(argv[i]);
		text = argv[i] + (klen != 0 ? klen + 1 : 0);
		if ((a = courier_value_from_json(text, &cause)) == NULL) {
			fprintf(stderr, "lpctl call: argument %d, %s: not "
			    "JSON: %s (a string needs its quotes: '\"text\"'%s)"
			    "\n", i - optind - 2, argv[i], cause, klen != 0 ?
			    ", as in name='\"text\"'" : "");
			free(cause);
			courier_value_unref(args);
			courier_value_unref(kwargs);
			return (LPCTL_EXIT_USAGE);
		}
		if (klen == 0) {
			courier_list_append(args, a);
			continue;
		}
		name = strndup(argv[i], klen);
		if (name == NULL || courier_dict_get(kwargs, name) != NULL) {
			fprintf(stderr, "lpctl call: argument %d: keyword %.*s "
			    "given twice\n", i - optind - 2, (int)klen,
			    argv[i]);
			free(name);
			courier_value_unref(a);
			courier_value_unref(args);
			courier_value_unref(kwargs);
			return (LPCTL_EXIT_USAGE);
		}
		courier_dict_set(kwargs, name, a);
		free(name);
	}
	return (node_request("call", argv[optind], argv[optind + 1],
	    argv[optind + 2], args, kwargs, timeout_ms));
}

int
lpctl_methods(int argc, char **argv)
{
	int	timeout_ms;

	if (node_options("methods", argc, argv, &timeout_ms) != 0 ||
	    argc - optind != 2)
		return (lpctl_usage("methods", true));
	return (node_request("methods", argv[optind], argv[optind + 1], NULL,
	    NULL, NULL, timeout_ms));
}
