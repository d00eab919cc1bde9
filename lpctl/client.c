/*
 * client.c: lpctl's side of the control API. lpd serves courier methods on
 * its Unix socket; lpctl is a courier client that does not wait for a
 * server to come up, so a missing lpd fails at once (exit 3) with a message
 * that says how to start one. The first call is "hello", which checks the
 * protocol version.
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <courier/courier.h>

#include "lpctl.h"

/* How long hello may take: lpd answers it at once. */
#define HELLO_MS	10000

const char	*lpctl_socket;	/* --socket, or NULL */

struct lpctl_client {
	courier_client	*c;
	char		*path;
	const char	*cmd;
};

/* Where lpd listens: --socket, LPD_SOCKET, or the default (lpd's too). */
char *
lpctl_socket_path(void)
{
	if (lpctl_socket != NULL)
		return (strdup(lpctl_socket));
	return (lpd_ctl_default_socket());
}

/* The exit status for an error of lpd's, as lpctl(1) says. */
static int
error_exit(const courier_error *err)
{
	switch (courier_error_code(err)) {
	case COURIER_INVALID_ARGUMENT:
		return (LPCTL_EXIT_USAGE);
	case COURIER_UNAVAILABLE:
	case COURIER_CANCELLED:
		return (LPCTL_EXIT_UNREACHABLE);
	default:
		return (LPCTL_EXIT_FAILED);
	}
}

static void
unreachable(struct lpctl_client *cl, const courier_error *err)
{
	struct stat	 sb;
	struct group	*gr;

	fprintf(stderr, "lpctl %s: cannot reach lpd at %s: %s\n", cl->cmd,
	    cl->path, courier_error_message(err));
	/* An lpd runs there, but its socket is not ours to use. */
	if (stat(cl->path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    access(cl->path, R_OK | W_OK) != 0 && errno == EACCES) {
		gr = getgrgid(sb.st_gid);
		if ((sb.st_mode & 060) == 060 && gr != NULL) {
			fprintf(stderr, "lpctl: its socket is for group %s "
			    "(mode %04o): ask to be added to group %s, then "
			    "log in again\n", gr->gr_name,
			    (unsigned)(sb.st_mode & 07777), gr->gr_name);
		} else {
			fprintf(stderr, "lpctl: its socket is its owner's alone "
			    "(uid %lu, mode %04o): use that user's lpd, run "
			    "one of your own (`lpd`, or `systemctl --user start "
			    "lpd`), or ask for it to be started with --group "
			    "GROUP\n", (unsigned long)sb.st_uid,
			    (unsigned)(sb.st_mode & 07777));
		}
		return;
	}
	fprintf(stderr, "lpctl: start lpd first: `lpd` (or `systemctl --user "
	    "start lpd`; as root, `systemctl start lpd`), or point lpctl at "
	    "a running one with --socket PATH or LPD_SOCKET\n");
}

/*
 * Call method with kwargs (stolen) and return lpd's answer; on failure
 * print why and return NULL with *exitcode set.
 */
courier_value *
lpctl_request(struct lpctl_client *cl, const char *method,
    courier_value *kwargs, int timeout_ms, int *exitcode)
{
	courier_value	*v;
	courier_error	*err = NULL;
	const char	*msg;

	v = courier_call_kw(cl->c, method, courier_list_new(), kwargs,
	    timeout_ms, &err);
	if (v != NULL)
		return (v);
	*exitcode = error_exit(err);
	if (courier_error_code(err) == COURIER_UNAVAILABLE &&
	    strcmp(method, LPD_CTL_HELLO) == 0)
		unreachable(cl, err);
	else {
		msg = courier_error_message(err);
		fprintf(stderr, "lpctl %s: %s%s", cl->cmd, msg,
		    *msg != '\0' && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
		if (*exitcode == LPCTL_EXIT_UNREACHABLE)
			fprintf(stderr, "lpctl: lpd at %s went away; is it "
			    "still running?\n", cl->path);
	}
	courier_error_free(err);
	return (NULL);
}

/*
 * lpd's status of one program: the answer (the caller unrefs it), with
 * the program's entry in *p; NULL with *exitcode after a message.
 */
courier_value *
lpctl_status_of(struct lpctl_client *cl, const char *prog,
    const courier_value **p, int *exitcode)
{
	courier_value	*kw, *v;

	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(prog));
	if ((v = lpctl_request(cl, LPD_CTL_STATUS, kw, 30000,
	    exitcode)) == NULL)
		return (NULL);
	if ((*p = courier_list_get(courier_dict_get(v, "programs"),
	    0)) == NULL) {
		fprintf(stderr, "lpctl: program \"%s\" is gone from lpd\n",
		    prog);
		courier_value_unref(v);
		*exitcode = LPCTL_EXIT_FAILED;
		return (NULL);
	}
	return (v);
}

/* Connect to lpd and say hello; NULL with *exitcode after a message. */
struct lpctl_client *
lpctl_connect(const char *cmd, int *exitcode)
{
	struct lpctl_client	*cl;
	courier_value		*kw, *v;
	char			*cause = NULL, *address;

	if ((cl = calloc(1, sizeof *cl)) == NULL ||
	    (cl->path = lpctl_socket_path()) == NULL) {
		fprintf(stderr, "lpctl: out of memory\n");
		exit(LPCTL_EXIT_FAILED);
	}
	cl->cmd = cmd;
	if (asprintf(&address, "unix:%s", cl->path) == -1) {
		fprintf(stderr, "lpctl: out of memory\n");
		exit(LPCTL_EXIT_FAILED);
	}
	cl->c = courier_client_new(address, &cause);
	free(address);
	if (cl->c == NULL) {
		fprintf(stderr, "lpctl %s: lpd's socket %s: %s\n", cmd,
		    cl->path, cause);
		free(cause);
		free(cl->path);
		free(cl);
		*exitcode = LPCTL_EXIT_USAGE;
		return (NULL);
	}
	courier_client_set_wait_for_ready(cl->c, false);

	kw = courier_dict_new();
	courier_dict_set(kw, LPD_CTL_K_VERSION, courier_int(LPD_CTL_VERSION));
	if ((v = lpctl_request(cl, LPD_CTL_HELLO, kw, HELLO_MS, exitcode)) == NULL) {
		lpctl_disconnect(cl);
		return (NULL);
	}
	courier_value_unref(v);
	return (cl);
}

void
lpctl_disconnect(struct lpctl_client *cl)
{
	if (cl == NULL)
		return;
	courier_client_free(cl->c);
	free(cl->path);
	free(cl);
}

/* A string field of a dict, or def. */
const char *
lpctl_get_string(const courier_value *v, const char *key, const char *def)
{
	const char	*s;

	s = courier_value_string(courier_dict_get(v, key), NULL);
	return (s != NULL ? s : def);
}

/* A number field of a dict (int or double), or def. */
double
lpctl_get_number(const courier_value *v, const char *key, double def)
{
	const courier_value	*f = courier_dict_get(v, key);

	if (f == NULL || (courier_value_type(f) != COURIER_INT &&
	    courier_value_type(f) != COURIER_DOUBLE))
		return (def);
	return (courier_value_double(f));
}

/*
 * Wait for a program to end, polling lpd (each wait is a long poll), and
 * return its exit status: 0, or 1 if it failed. quiet: no message.
 */
int
lpctl_wait_end(struct lpctl_client *cl, const char *name, bool quiet)
{
	courier_value	*kw, *v;
	const char	*cause, *state;
	int		 exitcode = LPCTL_EXIT_OK;
	double		 status;

	for (;;) {
		kw = courier_dict_new();
		courier_dict_set(kw, LPD_CTL_K_PROGRAM, courier_string(name));
		courier_dict_set(kw, LPD_CTL_K_WAIT_MS,
		    courier_int(LPCTL_POLL_MS));
		v = lpctl_request(cl, LPD_CTL_WAIT, kw, LPCTL_POLL_MS + 10000,
		    &exitcode);
		if (v == NULL)
			return (exitcode);
		if (courier_value_bool(courier_dict_get(v, "done")))
			break;
		courier_value_unref(v);
	}
	status = lpctl_get_number(v, "status", 1);
	state = lpctl_get_string(v, "state", "ended");
	cause = lpctl_get_string(v, "cause", NULL);
	if (status != 0) {
		fprintf(stderr, "lpctl: program \"%s\" %s%s%s\n", name, state,
		    cause != NULL ? ": " : "", cause != NULL ? cause : "");
		exitcode = LPCTL_EXIT_FAILED;
	} else if (!quiet)
		fprintf(stderr, "lpctl: program \"%s\" %s\n", name, state);
	courier_value_unref(v);
	return (exitcode);
}
