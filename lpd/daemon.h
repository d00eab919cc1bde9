/*
 * daemon.h: lpd, the daemon that holds many programs at once and serves
 * lpctl on a Unix socket: its programs (daemon.c). The other modules have
 * headers of their own (ctl-server.h, record.h, logfile.h, log.h,
 * notify.h), each included by the files that call it, so that no two
 * modules call each other: daemon.c tells the control API of a program's
 * change through the hooks below. The supervisor core is lpd.h's.
 */
#ifndef LPD_DAEMON_H
#define LPD_DAEMON_H

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <courier/courier.h>

#include "lpd.h"

/*
 * Connections to the control socket: one user cannot take them all (each
 * lpctl command holds one; logs -f and wait hold theirs while they last).
 */
#define LPD_CONNS_MAX_DEFAULT		1024
#define LPD_CONNS_PER_USER_DEFAULT	128

struct event;
struct event_base;
struct lpd_log;

/* A program's state, as status and the record tell it. */
enum lpd_prog_state {
	LPD_PROG_RUNNING,
	LPD_PROG_STOPPING,
	LPD_PROG_EXITED,	/* ended with status 0 */
	LPD_PROG_FAILED,	/* ended with status 1 */
	LPD_PROG_LOST,		/* lpd died while it ran */
};

/* What is known of a node once its run is gone (or from a record). */
struct lpd_prog_node {
	char			*name;		/* GROUP/INDEX */
	char			*group;
	unsigned		 index;
	char			*type;		/* "courier", "process" */
	char			*state;		/* lpd_node_state_name or "lost" */
	char			*address;	/* or NULL */
	char			*host;		/* on Slurm: where; or NULL */
	pid_t			 pid;		/* 0: none (or on its host) */
	int			 status;	/* wait status, -1: none */
	unsigned		 restarts;
	double			 started;	/* 0: never */
	char			*log;		/* its log file */
	struct lpd_log		*logf;		/* open while it runs */
	courier_client		*client;	/* lpctl call's, on lpd's
						   loop; made at first use */
};

/* What changed in a program, for its long polls. */
enum lpd_change {
	LPD_CHANGE_OUTPUT,	/* a node printed */
	LPD_CHANGE_NODE,	/* a node's state */
	LPD_CHANGE_END,		/* the program ended */
};

/* A long poll on a program: wait, or logs -f. */
struct lpd_waiter {
	struct lpd_prog		*prog;
	courier_request		*req;
	struct event		*timer;
	bool			 logs;
	bool			 ready;		/* wait: also once all are */
	courier_value		*args;		/* logs: the request's kwargs */
	TAILQ_ENTRY(lpd_waiter)	 entry;
};
TAILQ_HEAD(lpd_waiters, lpd_waiter);

/* A program the daemon runs or remembers. */
struct lpd_prog {
	struct lpd_daemon	*d;
	char			*name;
	char			*file;
	char			*dir;		/* STATE/NAME */
	uid_t			 uid;		/* who launched it */
	gid_t			 gid;
	enum lpd_prog_state	 state;
	int			 status;	/* -1 until it ends */
	char			*cause;		/* why it failed, or NULL */
	double			 started;
	double			 ended;		/* 0 while it runs */
	struct lpd_run		*run;		/* NULL once it ended */
	struct lpd_slurm	*slurm;		/* a Slurm job's, until it
						   ends; run is its mirror
						   once the nodes start */
	char			*job;		/* the Slurm job's id */
	bool			 backend_slurm;
	courier_value		*slurm_args;	/* the launch's, a list */
	double			 slurm_timeout;
	struct lpd_prog_node	*nodes;
	size_t			 nnodes;
	struct event		*record_ev;	/* a coalesced record write,
						   or its next try */
	int			 record_error;	/* not written: why; 0: it is */
	double			 record_since;	/* when it was first not */
	unsigned		 record_retry_ms;
	bool			 launching;	/* inside lpd_run_start */
	bool			 launch_recorded;
	unsigned		 logs_broken;	/* node logs losing lines */
	int			 logs_error;	/* why the first one did */
	double			 logs_since;	/* and when */
	uint64_t		 logs_lost;	/* lines lost since */
	struct lpd_waiters	 waiters;
	TAILQ_ENTRY(lpd_prog)	 entry;
};
TAILQ_HEAD(lpd_progs, lpd_prog);

/* The daemon: one per process. */
struct lpd_daemon {
	struct event_base	*base;
	courier_server		*server;
	char			*socket_path;	/* NULL: socket activation */
	char			*state_dir;
	uid_t			 uid;		/* our effective uid */
	struct rlimit		 node_nofile;	/* open files, for nodes */
	bool			 has_node_nofile;
	size_t			 log_max;
	unsigned		 log_keep;
	bool			 exiting;	/* SIGTERM: stopping all */
	struct lpd_progs	 progs;
	unsigned		 ncalls;	/* lpctl call/methods in flight */
	unsigned		 max_conns;	/* to the socket, in all */
	unsigned		 max_conns_per_user;
	char			*runtime_dir;	/* for node sockets, or NULL */

	/* The control API's, told that a program changed or went. */
	void			(*prog_changed)(struct lpd_prog *,
				    enum lpd_change);
	void			(*prog_gone)(struct lpd_prog *);
};

/* Where a launch runs its nodes: here, or as a Slurm job. */
struct lpd_backend {
	bool			 slurm;
	char			**slurm_args;	/* borrowed strings */
	size_t			 nslurm_args;
	double			 slurm_timeout;	/* 0: the default */
	const char		*agent;		/* lpctl, for srun to run */
	const char		*cwd;		/* the user's */
	const char		*text;		/* the program file's */
	size_t			 len;
};

/* daemon.c: programs. */
int		 lpd_daemon_load(struct lpd_daemon *);
struct lpd_prog	*lpd_prog_new(struct lpd_daemon *, const char *);
struct lpd_prog	*lpd_prog_find(struct lpd_daemon *, const char *);
struct lpd_prog	*lpd_prog_launch(struct lpd_daemon *, struct lpd_program *,
		    uid_t, gid_t, char *const *, double,
		    const struct lpd_backend *, char **);
void		 lpd_prog_stop(struct lpd_prog *, bool, double, const char *);
void		 lpd_prog_forget(struct lpd_prog *);
void		 lpd_prog_free(struct lpd_prog *);
bool		 lpd_prog_ended(const struct lpd_prog *);
void		 lpd_prog_sync(struct lpd_prog *);
courier_value	*lpd_prog_value(struct lpd_prog *, bool);
const char	*lpd_prog_state_name(enum lpd_prog_state);
void		 lpd_prog_changed(struct lpd_prog *);
size_t		 lpd_prog_nready(struct lpd_prog *);
void		 lpd_daemon_stop_all(struct lpd_daemon *);
bool		 lpd_daemon_idle(struct lpd_daemon *);
void		 lpd_daemon_flush(struct lpd_daemon *);

#endif /* LPD_DAEMON_H */
