/*
 * lpctl.h: what lpctl's files share. Prototypes are grouped by the file
 * that defines them, as in tmux.h.
 */
#ifndef LPCTL_H
#define LPCTL_H

#include <stdbool.h>

#include "ctl.h"

#include <courier/courier.h>

/* Exit statuses, as lpctl(1) says. */
#define LPCTL_EXIT_OK		0
#define LPCTL_EXIT_FAILED	1	/* the program failed */
#define LPCTL_EXIT_USAGE	2	/* usage, or an invalid program file */
#define LPCTL_EXIT_UNREACHABLE	3	/* lpd cannot be reached */

/* How long one long poll (wait, logs -f) may wait in lpd. */
#define LPCTL_POLL_MS		30000

/* lpctl.c */
int	lpctl_usage(const char *, bool);
/* --OPTION S: seconds from 0 to 86400, or -1 after a message. */
double	lpctl_parse_seconds(const char *, const char *, const char *);
const char *lpctl_self_path(void);
int	lpctl_backend_slurm(const char *, const char *, bool);

/* cmd-run.c */
int	lpctl_run(int, char **);

/* output.c: lpctl run's stdout and stderr, which never block its loop. */
struct iovec;
int	lpctl_output_start(const char *);
void	lpctl_output_line(const struct iovec *, int);
void	lpctl_output_message(const char *, size_t);
void	lpctl_output_stop(void);

/* cmd-validate.c */
struct lpd_program;
struct lpd_program *lpctl_load(const char *, const char *);
int	lpctl_validate(int, char **);
int	lpctl_graph(int, char **);

/* client.c: talking to lpd. */
struct lpctl_client;
extern const char *lpctl_socket;
char		*lpctl_socket_path(void);
struct lpctl_client *lpctl_connect(const char *, int *);
void		 lpctl_disconnect(struct lpctl_client *);
courier_value	*lpctl_request(struct lpctl_client *, const char *,
		    courier_value *, int, int *);
const char	*lpctl_get_string(const courier_value *, const char *,
		    const char *);
double		 lpctl_get_number(const courier_value *, const char *, double);
int		 lpctl_wait_end(struct lpctl_client *, const char *, bool);
courier_value	*lpctl_status_of(struct lpctl_client *, const char *,
		    const courier_value **, int *);

/* cmd-launch.c */
#define LPCTL_READY_TIMEOUT_S	120
int	lpctl_launch(int, char **);
int	lpctl_read_program(const char *, const char *, char **, char **,
	    size_t *);
courier_value *lpctl_slurm_extra(courier_value *, double);
int	lpctl_launch_send(struct lpctl_client *, const char *, const char *,
	    const char *, size_t, const char *, double, courier_value *,
	    char **);
int	lpctl_wait_ready(struct lpctl_client *, const char *, double);
int	lpctl_stop(int, char **);
int	lpctl_wait(int, char **);
int	lpctl_forget(int, char **);

/* cmd-restart.c */
int	lpctl_restart(int, char **);

/* cmd-status.c */
int	lpctl_status(int, char **);

/* cmd-logs.c */
int	lpctl_logs(int, char **);

/* cmd-call.c */
int	lpctl_call(int, char **);
int	lpctl_methods(int, char **);

#endif /* LPCTL_H */
