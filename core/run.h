/*
 * run.h: the supervisor core's own header, shared by the files that run
 * a program (supervisor.c the run's start, stop and end; node.c a node's
 * life; spawn.c its process; probe.c its readiness; node-output.c its
 * output and logs; keeper.c the keeper), and by nobody else: embedders
 * use lpd.h.
 */
#ifndef LPD_RUN_H
#define LPD_RUN_H

#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "courier-internal.h"
#include "logfile.h"
#include "lpd.h"

extern char **environ;

#define LINE_PIECE_MAX	4096		/* longer lines are cut in pieces */
#define RING_LINE_MAX	1024		/* bytes of a line the ring keeps */
#define LOG_LINES_DEFAULT 10
#define READ_SIZE	(64 * 1024)	/* the run's one read buffer */
#define LOGBUF_SIZE	(16 * 1024)	/* log lines gathered per write */
#define DRAIN_MAX	(1024 * 1024)	/* read from a reaped node's pipe */
#define PROBE_MIN_MS	10
#define PROBE_MAX_MS	200
/* A node that may say it serves on LP_READY_FD is asked only after this. */
#define PROBE_READY_WAIT_MS	200
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
#define HEALTHY_MS	10000		/* a run this long: start over */
#define POLL_MS		10		/* without pidfds */
#define SUN_PATH_MAX	(sizeof ((struct sockaddr_un *)0)->sun_path)
/* Low fds a child's own are put on before clone (spawn.c): its five,
 * the status pipe and the keeper's socket. */
#define SPAWN_SLOTS	7

/* Linux's PID_MAX_LIMIT on 64-bit: no pid (so no pgid) reaches it. */
#define KEEPER_PID_LIMIT (4 * 1024 * 1024)

/* A record to the keeper: fixed size, so each send is one atomic write. */
struct keeper_rec {
	int32_t		 op;
#define KEEPER_ADD	'+'
#define KEEPER_DEL	'-'
#define KEEPER_DONE	'D'
	int32_t		 pgid;
};

/* One output pipe of a node, and the line it has not ended yet. */
struct stream {
	struct run_node		*node;
	bool			 err;
	int			 fd;
	struct event		*ev;
	char			*buf;		/* partial line */
	size_t			 len;
	bool			 cut;		/* the line was cut at len 0 */
};

struct ring_line {
	char			*s;
	size_t			 len;
};

/* A readiness probe: a ListMethods call, waiting for the answer. */
struct probe {
	courier_client		*client;	/* on the run's loop */
	courier_future		*f;		/* the call, or NULL */
	unsigned		 delay_ms;
};

/* The supervisor's side of a node. */
struct run_node {
	struct lpd_node		 n;
	char			*sock_path;	/* Unix socket file we made */
	int			 listen_fd;
	struct lpd_log		*log;		/* or NULL: no log file */
	char			*log_path;	/* the core writes a log */
	pid_t			 pgid;		/* 0: none to signal */
	int			 pidfd;		/* -1: polled */
	struct event		*pid_ev;
	int			 status_fd;	/* exec status pipe */
	struct event		*status_ev;
	int			 ready_fd;	/* LP_READY_FD's other end */
	struct event		*ready_ev;
	struct stream		 out[2];	/* stdout, stderr */
	struct event		*timer;		/* backoff, probe retry */
	unsigned		 streak;	/* restarts since a healthy run */
	struct probe		*probe;
	char			*start_error;	/* why it could not start */
	char			*exit_why;	/* ops: why it ended, or NULL */
	bool			 live;		/* ops: started, not ended */
	struct ring_line	*ring;
	unsigned		 ring_head;
	unsigned		 ring_count;
	bool			 final;
	bool			 restart_asked;	/* stopping to start again */
	bool			 remote;	/* runs on another host */
};

struct lpd_run {
	struct event_base	*base;
	struct lpd_program	*p;
	struct lpd_run_cb	 cb;
	void			*arg;
	struct lpd_node_ops	 ops;
	bool			 has_ops;

	double			 grace_s;
	unsigned		 log_lines;
	size_t			 log_max;	/* per node log, then rotate */
	unsigned		 log_keep;
	double			 healthy_s;
	bool			 tcp;
	bool			 shared;	/* a share: nothing to bind */
	bool			 keep_open;	/* ends only once stopped */
	bool			 set_ids;	/* nodes run as uid/gid */
	uid_t			 uid;
	gid_t			 gid;
	gid_t			*groups;	/* the user's supplementary */
	size_t			 ngroups;

	char			*dir;		/* runtime folder */
	bool			 made_dir;
	char			*control_addr;
	char			*lp_control;	/* "LP_CONTROL=..." */
	char			*lp_program;	/* "LP_PROGRAM=..." */
	courier_server		*control;

	char			**env;		/* base environment, owned */
	char			***genv;	/* per group, borrowed strings */
	size_t			*gnenv;
	size_t			*goff;		/* first node of each group */

	struct run_node		*nodes;
	size_t			 nnodes;
	size_t			 nlive;		/* nodes not final */
	size_t			 nprocs;	/* processes not reaped */
	size_t			 npolled;	/* ... without a pidfd */
	bool			 no_pidfd;	/* pidfd_open: ENOSYS */
	struct event		*poll_ev;

	int			 devnull;
	int			 keeper_fd;
	pid_t			 keeper_pid;
	void			*spawn_stack;	/* SPAWN_STACK bytes, or NULL */
	int			 spawn_slots[SPAWN_SLOTS]; /* or -1 */
	bool			 spawn_unshare;	/* slots and close_range */
	pid_t			 self;
	struct rlimit		 nofile;	/* what children get */
	bool			 nofile_raised;

	char			*rbuf;
	char			*logbuf;
	size_t			 loglen;
	uint64_t		 loglines;	/* in logbuf */
	struct run_node		*logowner;

	struct event		*grace_ev;
	struct event		*done_ev;
	bool			 stopping;
	bool			 killing;
	bool			 failed;
	bool			 requested;	/* a node asked for the stop */
	bool			 done;
	int			 status;
	char			*cause;
};

/* Whether a node's process (or, with ops, the node) has not ended. */
static inline bool
node_running(const struct run_node *sn)
{
	return (sn->pgid > 0 || sn->live);
}

/* The stack of a child between clone and exec (spawn.c). */
#define SPAWN_STACK	(64 * 1024)

/* A timeval of ms milliseconds. */
static inline struct timeval
ms_tv(unsigned ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return (tv);
}

/* supervisor.c */
void	 lpd_run_event(struct lpd_run *, struct run_node *, enum lpd_event,
	    const char *);
void	 lpd_run_eventf(struct lpd_run *, struct run_node *, enum lpd_event,
	    const char *, ...) COURIER_PRINTF(4, 5);
void	 lpd_run_maybe_finish(struct lpd_run *);
void	 lpd_run_node_signal(struct run_node *, int);

/* run-setup.c: the start's steps, in the order lpd_run_start takes them. */
void	 lpd_setup_ids(struct lpd_run *, uid_t, gid_t);
void	 lpd_setup_share(struct lpd_run *, const struct lpd_run_opts *);
void	 lpd_setup_env(struct lpd_run *, char *const *);
void	 lpd_setup_limits(struct lpd_run *, const struct rlimit *);
int	 lpd_setup_dir(struct lpd_run *, const char *, char **);
int	 lpd_setup_bind(struct lpd_run *, char **);
int	 lpd_setup_logs(struct lpd_run *, const char *, char **);
int	 lpd_setup_give_files(struct lpd_run *, char **);

/* What happens to a node, for its state machine (node.c). */
enum run_node_event {
	SN_SPAWNED,		/* its process (or thread) was started */
	SN_RUNS,		/* it serves, or a process node runs */
	SN_STOP,		/* the program stops, or the node restarts */
	SN_RESTART,		/* it ended, and will start again */
	SN_EXIT_OK,		/* it ended well, for good */
	SN_EXIT_FAIL,		/* it failed, for good */
	SN_EXIT_IN_STOP,	/* it ended while the program stopped */
	SN_REVIVE,		/* it ended for good; asked, it starts again */
	SN_NEVENTS
};

/* node.c */
void	 lpd_run_node_event(struct run_node *, enum run_node_event);
void	 lpd_run_node_start(struct run_node *);
void	 lpd_run_node_ended(struct run_node *, int);
void	 lpd_run_node_final(struct run_node *);
void	 lpd_run_node_timer_cb(evutil_socket_t, short, void *);

/* spawn.c */
void	 lpd_spawn_setup(struct lpd_run *);
void	 lpd_spawn_teardown(struct lpd_run *);
int	 lpd_spawn(struct run_node *, char **);
void	 lpd_spawn_status_close(struct run_node *);
void	 lpd_spawn_ready_close(struct run_node *);
void	 lpd_spawn_poll_cb(evutil_socket_t, short, void *);
const char *lpd_spawn_address_fn(void *, size_t, unsigned);

/* probe.c */
void	 lpd_probe_start(struct run_node *);
void	 lpd_probe_close(struct run_node *);
void	 lpd_probe_ready(struct run_node *);

/* node-output.c */
void	 lpd_output_flush(struct lpd_run *);
void	 lpd_stream_read_cb(evutil_socket_t, short, void *);
void	 lpd_stream_drain(struct stream *);

/* keeper.c */
int	 lpd_keeper_start(struct lpd_run *, char **);
void	 lpd_keeper_send(struct lpd_run *, int, pid_t);
void	 lpd_keeper_stop(struct lpd_run *);

#endif /* LPD_RUN_H */
