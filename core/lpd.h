/*
 * lpd.h: the supervisor core (core/), which lpd (the daemon), lpctl run
 * and lptest embed. Prototypes are grouped by the file that defines them,
 * as in tmux.h. Everything here builds into the lpd_core static library.
 */
#ifndef LPD_H
#define LPD_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* program.c: the program file. */

#define LPD_NAME_MAX		64	/* program and group names */
#define LPD_REPLICAS_MAX	100000	/* replicas of one group */
#define LPD_NODES_MAX		100000	/* nodes of one program */
#define LPD_GRACE_DEFAULT	10.0	/* stop.grace_s */
#define LPD_RESTARTS_DEFAULT	10	/* max_restarts */
#define LPD_CPUS_MAX		4096	/* resources.cpus */
#define LPD_MEM_MB_MAX		(1LL << 32) /* resources.mem_mb: 4 PiB */
#define LPD_GPUS_MAX		1024	/* resources.gpus */

enum lpd_node_type {
	LPD_TYPE_COURIER,
	LPD_TYPE_PROCESS,
	LPD_TYPE_REPLAY,		/* a courier node: lpd's replay node */
};

/* Whether nodes of a type serve courier calls at an address. */
static inline bool
lpd_type_serves(enum lpd_node_type type)
{
	return (type != LPD_TYPE_PROCESS);
}

/* A type's name, as the program file spells it. */
static inline const char *
lpd_type_name(enum lpd_node_type type)
{
	switch (type) {
	case LPD_TYPE_COURIER:
		return ("courier");
	case LPD_TYPE_PROCESS:
		return ("process");
	case LPD_TYPE_REPLAY:
		return ("replay");
	}
	return ("?");
}

enum lpd_restart {
	LPD_RESTART_NEVER,
	LPD_RESTART_ON_FAILURE,
	LPD_RESTART_ALWAYS,
};

enum lpd_on_failure {
	LPD_ON_FAILURE_STOP,		/* "stop_program" */
	LPD_ON_FAILURE_IGNORE,
};

/* A handle reference in a group's config: an edge of the graph. */
struct lpd_edge {
	size_t			 target;	/* group index */
	int			 index;		/* node index, -1: the group */
};

/* A group of nodes (one entry of "nodes"). */
struct lpd_group {
	char			*name;
	enum lpd_node_type	 type;
	unsigned		 replicas;
	char			**argv;		/* NULL-terminated */
	char			*path;		/* argv[0] resolved, absolute */
	char			**env;		/* "K=V", NULL-terminated */
	char			*cwd;		/* absolute */
	bool			 run;
	enum lpd_restart	 restart;
	unsigned		 max_restarts;
	enum lpd_on_failure	 on_failure;
	struct lpd_edge		*edges;		/* handles its config holds */
	size_t			 nedges;
	/* "resources", per node: the Slurm backend asks for them. */
	unsigned		 cpus;		/* >= 1 */
	uint64_t		 mem_mb;	/* 0: Slurm's default */
	unsigned		 gpus;
};

/* A program, checked whole: every field below is valid. */
struct lpd_program {
	char			*name;
	char			*file;		/* absolute path of the file */
	char			*dir;		/* the file's folder */
	double			 grace_s;
	struct lpd_group	*groups;
	size_t			 ngroups;
	size_t			 nnodes;	/* sum of replicas */
	void			*config;	/* private to program.c */
};

/* Resolves node (group, index) to its address, for handle references. */
typedef const char *(*lpd_address_fn)(void *arg, size_t group,
    unsigned index);

/*
 * Load and check a program file. name, if not NULL, overrides the file's
 * "program". On failure return NULL and set *cause (caller frees) to every
 * error found, one per line, each naming the file and the place:
 *   prog.json: nodes[1].config.producers: no group "producr"
 */
struct lpd_program *lpd_program_load(const char *path, const char *name,
	    char **cause);
/*
 * The same, for a daemon loading on a user's behalf: text (len bytes) is
 * the file's content as the user read it (NULL: read path) and path its
 * absolute path; commands are looked up on pathenv (the user's PATH; NULL:
 * ours), its relative entries from cwd (NULL: ours).
 */
struct lpd_program *lpd_program_load_text(const char *path, const char *text,
	    size_t len, const char *name, const char *pathenv, const char *cwd,
	    char **cause);
/* A change to a program file before it is checked (lptest's overrides). */
struct lpd_program_patch {
	const char	*group;		/* a node entry's; NULL: the top */
	const char	*key;		/* "replicas", "run", "config.rounds" */
	const char	*json;		/* the new value, as JSON text */
};
/*
 * Load a program file with n patches applied before it is checked, as if
 * the file said so (relative paths stay the file's). Errors as above.
 */
struct lpd_program *lpd_program_load_with(const char *path, const char *name,
	    const struct lpd_program_patch *, size_t, char **cause);
void	 lpd_program_free(struct lpd_program *);
/* Whether name is a valid program or group name. */
bool	 lpd_program_name_valid(const char *);
/* The group called name, or -1. */
int	 lpd_program_find_group(const struct lpd_program *, const char *);
/*
 * The config of node (group, index) as JSON text (caller frees), with each
 * handle reference replaced by the address (or list of addresses, in index
 * order) that addr gives. "null" if the group has no config.
 */
char	*lpd_program_node_config(const struct lpd_program *, size_t,
	    unsigned, lpd_address_fn, void *);
/*
 * Where a group's config holds handles once resolved (LP_HANDLES), as a
 * JSON list of paths (caller frees): keys and list indices joined by "/",
 * "~" and "/" in a key written "~0" and "~1" (JSON Pointer's escapes,
 * without its leading "/"), so ["producers/0", "producers/1", "peer"].
 */
char	*lpd_program_handle_paths(const struct lpd_program *, size_t);
/* The program as a Graphviz DOT digraph (caller frees). */
char	*lpd_program_graph(const struct lpd_program *);

/*
 * supervisor.c and the files run.h names: running programs (one
 * event_base, no globals).
 */

struct event_base;
struct lpd_run;
struct rlimit;

enum lpd_node_state {
	LPD_NODE_PENDING,	/* not started yet */
	LPD_NODE_STARTING,	/* forked; a courier node does not serve yet */
	LPD_NODE_RUNNING,	/* serving (courier) or running (process) */
	LPD_NODE_BACKOFF,	/* exited; restarts when its timer fires */
	LPD_NODE_STOPPING,	/* got the stop notice */
	LPD_NODE_EXITED,	/* exited 0, or was stopped: final */
	LPD_NODE_FAILED,	/* exited non-zero or by a signal: final */
};

/* What the supervisor tells its embedder (lpctl run, lpd, tests). */
enum lpd_event {
	LPD_EV_STARTED,		/* forked: pid set */
	LPD_EV_READY,		/* a courier node serves (msg: address) */
	LPD_EV_EXITED,		/* reaped: status set; msg says how */
	LPD_EV_RESTARTING,	/* msg says when */
	LPD_EV_STOPPING,	/* the program's stop began (node NULL); msg why */
	LPD_EV_WAITING,		/* msg: "waiting N s for M nodes to stop" */
	LPD_EV_KILLED,		/* SIGKILL sent to this node (grace over or
				   a kill request); msg says which */
	LPD_EV_ERROR,		/* a node could not be started; msg why */
	LPD_EV_LOG,		/* a node's log lost lines, or is written
				   again; msg says which */
};

/* One node of a running program (read-only to the embedder). */
struct lpd_node {
	struct lpd_run		*run;
	size_t			 group;
	unsigned		 index;
	size_t			 slot;		/* i of lpd_run_node(run, i) */
	char			*name;		/* GROUP/INDEX */
	char			*address;	/* courier nodes, else NULL */
	enum lpd_node_state	 state;
	pid_t			 pid;		/* 0 when not running */
	int			 status;	/* last wait status, -1 none */
	unsigned		 restarts;
	double			 started;	/* CLOCK_REALTIME seconds */
	bool			 killed;	/* got SIGKILL from the stop */
	/*
	 * Where it runs: NULL here; the host's name for a node of another
	 * host, set by the ops that start it there (the embedder's).
	 */
	const char		*host;
	void			*priv;		/* supervisor.c's */
};

/*
 * Every callback is optional (NULL). output and event may call
 * lpd_run_stop but must not free the run; done may.
 */
struct lpd_run_cb {
	/*
	 * One line (without its newline) from a node; err: from stderr. A
	 * line over 4096 bytes comes in pieces.
	 */
	void	(*output)(void *arg, struct lpd_node *, bool err,
		    const char *line, size_t len);
	/* Something happened; node is NULL for program-wide events. */
	void	(*event)(void *arg, struct lpd_node *, enum lpd_event,
		    const char *msg);
	/* The program ended: every node reaped; status as lpd_run_status. */
	void	(*done)(void *arg, struct lpd_run *, int status);
};

struct lpd_run_opts {
	const char	*runtime_dir;	/* NULL: a new private folder
					   ($XDG_RUNTIME_DIR, else /tmp);
					   made (and removed) if missing */
	const char	*log_dir;	/* per-node logs DIR/GROUP/INDEX.log;
					   NULL: no log files */
	size_t		 log_max;	/* a log's size before it rotates
					   (0: LPD_LOG_MAX_DEFAULT) */
	unsigned	 log_keep;	/* rotated files kept, INDEX.log.1
					   ... (0: LPD_LOG_KEEP_DEFAULT) */
	bool		 tcp;		/* TCP loopback instead of Unix */
	double		 grace_s;	/* < 0: the program's stop.grace_s */
	char *const	*env;		/* base environment; NULL: environ */
	unsigned	 log_lines;	/* last lines kept per node (0: 10) */
	/*
	 * The open-file limit nodes get; NULL: the process's when the run
	 * starts. An embedder that raised its own limit passes the one it
	 * started with, so that nodes do not inherit the raise.
	 */
	const struct rlimit *node_nofile;
	unsigned	 healthy_ms;	/* a node that ran this long before it
					   ended starts its backoff and
					   max_restarts over (0: 10 s) */
	const struct lpd_node_ops *ops;	/* NULL: every node a process */
	/*
	 * Run the nodes as this user (a root supervisor running a user's
	 * program): the runtime folder and its sockets become the user's,
	 * and each child takes the user's groups, gid and uid before exec.
	 */
	bool		 set_ids;
	uid_t		 uid;
	gid_t		 gid;
	/*
	 * A share of a program run on many hosts (the Slurm agent): only
	 * the nodes whose slot is set in local[] start here, and the run
	 * binds nothing. addresses[slot] is every courier node's address,
	 * here or elsewhere, and listen_fds[slot] the socket a local one
	 * serves on, bound by the caller and the run's from then on, even
	 * when the start fails (-1 for the others). NULL: every node here.
	 */
	const bool	*local;
	char *const	*addresses;
	const int	*listen_fds;
	/*
	 * The run does not end when its last node has: only once stopped
	 * (lpd_run_stop). A share whose nodes another supervisor restarts
	 * (lpd_run_restart_node) keeps running until that one says.
	 */
	bool		 keep_open;
};

/*
 * What starting one node takes: what a process gets in its LP_*
 * environment, borrowed for the call.
 */
struct lpd_node_start {
	const struct lpd_group	*group;		/* command, env, cwd */
	const char		*program;	/* LP_PROGRAM */
	const char		*node;		/* LP_NODE, GROUP/INDEX */
	const char		*address;	/* LP_ADDRESS; NULL: process */
	int			 listen_fd;	/* LP_LISTEN_FD (-1: none): a
						   new fd, the callee's */
	const char		*config;	/* LP_CONFIG (resolved) */
	const char		*control;	/* LP_CONTROL */
	bool			 run;		/* LP_RUN */
};

/*
 * How a run starts its nodes when they are not processes: the test
 * harness runs each node as a thread, and unit tests fake them. The same
 * addresses, configs, probes, restarts and stop apply; only fork/exec,
 * signals and reaping are the embedder's. Called on the loop's thread.
 */
struct lpd_node_ops {
	/*
	 * Start a node; 0, or -1 with *cause (the node could not start). It
	 * owns s->listen_fd either way. The node's end is reported later,
	 * with lpd_run_node_exited, never from inside start.
	 */
	int	(*start)(void *arg, struct lpd_node *,
		    const struct lpd_node_start *s, char **cause);
	/*
	 * Deliver sig to a node that has not ended: SIGTERM, the stop
	 * notice; SIGKILL, the grace period is over or a kill was asked
	 * (without a SIGTERM before it, for a kill at once).
	 */
	void	(*signal)(void *arg, struct lpd_node *, int sig);
	void	*arg;
	/*
	 * The embedder says when a courier node serves (lpd_run_node_ready)
	 * and the run does not probe it: a node on another host, probed
	 * there. It may set the node's pid once it knows it.
	 */
	bool	 reports_ready;
};

/* Program status: 0 success, 1 failed, as lpctl exits. */
#define LPD_STATUS_OK		0
#define LPD_STATUS_FAILED	1

/*
 * Start every node of p on base; the run owns p from then on. Before any
 * fork, makes the runtime folder, binds every address, opens every log
 * and starts the control server (unix:RUNTIME/control, method
 * stop_program) and the keeper: any failure there starts nothing and
 * returns NULL with *cause, and p stays the caller's. event callbacks
 * (STARTED, ERROR) may come before this returns; done never does. base
 * must outlive the run, and its loop should run on the thread that
 * called this: nodes get SIGKILL when that thread ends (PDEATHSIG). May
 * raise the soft RLIMIT_NOFILE for a large program; nodes get
 * opts->node_nofile, or the limit as it was.
 */
struct lpd_run	*lpd_run_start(struct event_base *, struct lpd_program *,
		    const struct lpd_run_opts *, const struct lpd_run_cb *,
		    void *, char **);
/*
 * Stop the program: SIGTERM to every node's process group, SIGKILL to
 * what is left after the grace period. Idempotent; with kill, or a second
 * time after a kill request, SIGKILL at once. why is for the message.
 */
void		 lpd_run_stop(struct lpd_run *, bool kill, const char *why);
/*
 * Set the grace period (seconds, >= 0) of the stop to come; during a stop
 * whose grace runs, restart it from now with this length (lpctl stop
 * --grace may lengthen or shorten it; 0 kills at once).
 */
void		 lpd_run_set_grace(struct lpd_run *, double grace_s);
/*
 * A node started through lpd_run_opts.ops ended, with a wait status
 * (W_EXITCODE(1, 0) for "exited with status 1"); why, if not NULL, says
 * what went wrong and goes into the cause. On the loop's thread, outside
 * the ops' callbacks; the run may be done (and done called) on return.
 */
void		 lpd_run_node_exited(struct lpd_run *, struct lpd_node *,
		    int status, const char *why);
/*
 * Restart a node: SIGTERM to its process group (or through the ops),
 * SIGKILL after the grace period, then start it again at once whatever
 * its group's restart policy; a node in backoff starts at once, and one
 * that ended for good (exited, or failed where its group ignores that)
 * starts again on its address, its log going on. It counts as a
 * restart, not toward max_restarts, and is no failure. 0, or -1 with
 * *cause when the program stops or the node cannot listen or log again.
 * why starts the event's message.
 */
int		 lpd_run_restart_node(struct lpd_run *, struct lpd_node *,
		    const char *why, char **cause);
/*
 * Through ops that report readiness: a courier node serves. Nothing if it
 * is not starting (it ended meanwhile, or was ready already).
 */
void		 lpd_run_node_ready(struct lpd_run *, struct lpd_node *);
/*
 * Through ops: a line (without its newline) a node wrote somewhere else,
 * to its log, its last lines and the output callback, as if read here.
 */
void		 lpd_run_node_output(struct lpd_run *, struct lpd_node *,
		    bool err, const char *line, size_t len);
/*
 * Send sig to one node's process group (or through the ops): what a
 * remote supervisor asks of the share that runs the node.
 */
void		 lpd_run_signal_node(struct lpd_run *, struct lpd_node *, int);
/*
 * The program fails for a cause outside its nodes (its Slurm job was
 * cancelled): the cause is why, unless a node failed first, and the stop
 * begins as lpd_run_stop's.
 */
void		 lpd_run_fail(struct lpd_run *, const char *why);
/* A node asked for the stop (lp_stop_program): the program succeeds
 * unless a node failed before. The caller then calls lpd_run_stop. */
void		 lpd_run_stop_requested(struct lpd_run *, const char *node);
bool		 lpd_run_done(const struct lpd_run *);
/* LPD_STATUS_OK or LPD_STATUS_FAILED, once done. */
int		 lpd_run_status(const struct lpd_run *);
/* Why the program failed ("producer/1 exited with status 3"), or NULL. */
const char	*lpd_run_cause(const struct lpd_run *);
struct lpd_program *lpd_run_program(const struct lpd_run *);
size_t		 lpd_run_nnodes(const struct lpd_run *);
struct lpd_node	*lpd_run_node(const struct lpd_run *, size_t);
struct lpd_node	*lpd_run_find(const struct lpd_run *, const char *);
/* The control address given to nodes as LP_CONTROL. */
const char	*lpd_run_control(const struct lpd_run *);
/* The runtime folder: node sockets and the control socket. */
const char	*lpd_run_runtime_dir(const struct lpd_run *);
/* The last lines of a node's output (opts.log_lines of them, each cut at
 * 1 KiB), oldest first, '\n'-joined; "" if none (caller frees). */
char		*lpd_run_last_lines(const struct lpd_node *);
/* Free a run that is done (or SIGKILL and reap everything first, which
 * blocks). Removes the sockets and the runtime folder if the run made
 * it, and frees the program. With ops, nodes that did not end get
 * SIGKILL through ops.signal and are forgotten: the embedder ends them. */
void		 lpd_run_free(struct lpd_run *);
/* "exited with status 3", "killed by signal 9 (SIGKILL)", into the
 * caller's buf (64 bytes are enough); returns buf. */
const char	*lpd_wait_string(int status, char *buf, size_t len);
const char	*lpd_node_state_name(enum lpd_node_state);

/* util.c */
int		 lpd_mkdir_p(const char *, mode_t);
double		 lpd_realtime_now(void);
size_t		 lpd_parse_size(const char *);

#endif /* LPD_H */
