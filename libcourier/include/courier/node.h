/*
 * courier/node.h: the node runtime.
 *
 * A node's code is a definition (lp_node_def): a setup that makes its state
 * and registers its methods, an optional run function and an optional
 * teardown. The same definition runs as a process of its own
 * (LP_NODE_MAIN) or inside another process beside other nodes (the test
 * harness), so nothing here is process-wide: every object belongs to its
 * lp_node. The one exception is lp_node_main()'s bridge from SIGTERM and
 * SIGINT to the stop event of the node that the process runs as its own.
 *
 * The environment contract (set by the supervisor):
 *   LP_PROGRAM    program name
 *   LP_NODE       GROUP/INDEX
 *   LP_ADDRESS    courier nodes: where to serve
 *   LP_LISTEN_FD  courier nodes: a socket already listening on LP_ADDRESS
 *   LP_CONFIG     the node's config as JSON, handles resolved to addresses
 *   LP_HANDLES    where in LP_CONFIG the addresses are, a JSON list of
 *                 paths ("producers/0", "learner": keys and indices
 *                 joined by '/', '~' and '/' in a key as "~0" and "~1")
 *   LP_CONTROL    the supervisor's control address (to stop the program)
 *   LP_RUN        1, or 0 when the run function is disabled
 *
 * Lifetime of a node, in lp_node_exec():
 *   1. setup(node, &self): register methods (lp_node_method); non-zero
 *      fails the node (exit status 1).
 *   2. courier nodes start serving.
 *   3. with LP_RUN=1 and a run function: run(node, self). When it returns,
 *      the node is done (as in Launchpad): it stops serving and exits
 *      with 0 if run returned 0, else 1. Otherwise the node serves until
 *      its stop event.
 *   4. the stop event (the node's clients cancel their calls), on_stop
 *      callbacks (once), the server drains (up to 2 s) and stops, and
 *      teardown once every handler has returned.
 * A node fails (status 1) when setup fails, a method cannot be registered,
 * it cannot serve, or run returns non-zero; lp_node_failure() says why.
 */
#ifndef COURIER_NODE_H
#define COURIER_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include <courier/courier.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is
 * its interface, and the only names it exports. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

typedef struct lp_node lp_node;

/**
 * A node's code. Only setup is required. The definition must outlive the
 * nodes made from it (it is usually a static const).
 */
typedef struct lp_node_def {
	/** For messages; the node's own name is lp_node_name(). */
	const char	*name;
	/**
	 * Make the node's state (*self, passed to every method, run and
	 * teardown) and register its methods. Return 0, or non-zero to fail
	 * the node after saying why with lp_node_fail() (else the failure is
	 * "setup failed"). A setup that fails frees what it made: neither
	 * teardown nor the on_stop callbacks are called then.
	 */
	int		(*setup)(lp_node *node, void **self);
	/**
	 * The node's work, on the thread that called lp_node_exec(). Return
	 * 0 for success (non-zero fails the node: "run returned N" unless
	 * lp_node_fail() said why). NULL: the node serves until it is
	 * stopped.
	 */
	int		(*run)(lp_node *node, void *self);
	/**
	 * Free self. Called once whenever setup returned 0 (also when the
	 * node failed later), after serving stopped and every handler
	 * returned.
	 */
	void		(*teardown)(lp_node *node, void *self);
} lp_node_def;

/** What lp_node_new() needs; the environment gives it to lp_node_init(). */
struct lp_node_params {
	const char	*program;	/* LP_PROGRAM, required */
	const char	*name;		/* LP_NODE: GROUP/INDEX, required */
	const char	*address;	/* LP_ADDRESS; NULL: a process node */
	int		 listen_fd;	/* LP_LISTEN_FD; -1: listen on it */
	const char	*config;	/* LP_CONFIG (JSON); NULL is null */
	const char	*control;	/* LP_CONTROL, or NULL: no supervisor */
	bool		 run;		/* LP_RUN */
};

/**
 * A node from explicit parameters (the in-process harness). Checks them
 * all (name GROUP/INDEX, addresses, config JSON, listen_fd a listening
 * socket, which needs an address). The node owns listen_fd from then on
 * (made close-on-exec), also on failure.
 * @return the node, or NULL with *cause set (caller frees).
 */
lp_node		*lp_node_new(const lp_node_def *def,
		    const struct lp_node_params *p, char **cause);
/**
 * A node from the LP_* environment, which it leaves as it is. Run outside
 * a program (no LP_NODE), it fails with a cause that says how to start it;
 * every other cause names the variable that is wrong. An empty variable
 * counts as unset; LP_RUN unset means 1. LP_LISTEN_FD, once checked to be
 * a listening socket, is the node's (as in lp_node_new()).
 * @return the node, or NULL with *cause set (caller frees).
 */
lp_node		*lp_node_init(const lp_node_def *def, char **cause);
/**
 * Run the node's whole life (setup, serve, run, stop, teardown) on the
 * calling thread, once per node. @return its exit status: 0, or 1 on
 * failure.
 */
int		 lp_node_exec(lp_node *node);
/** Free a node after lp_node_exec() returned (or instead of it). */
void		 lp_node_free(lp_node *node);

/**
 * main() of a node that is a process of its own: lp_node_init(), the
 * SIGTERM/SIGINT bridge, lp_node_exec(). Call it before making any thread:
 * it blocks SIGTERM and SIGINT (so that every thread inherits the mask) and
 * turns the first one into lp_node_stop(); later ones are ignored (the
 * supervisor escalates with SIGKILL). They stay blocked when it returns.
 * A node with a run function has a thread of its own read them, at any
 * time; a node without one reads them in its wait for the stop, once its
 * setup has returned (a signal during setup stops the node right after).
 * Once the node has run, the process exits with lp_node_exec()'s status
 * (exit(), so atexit() handlers run): its server is stopped and its
 * handlers waited for, and the exit takes the rest, faster than freeing
 * it piece by piece would.
 * @return only if the node could not run: 2 (after a message on stderr)
 * if lp_node_init() failed, 1 if the signals could not be watched.
 */
int		 lp_node_main(const lp_node_def *def, int argc, char **argv);
/*
 * LP_NODE_MAIN(def) makes def (an identifier) a process of its own: it
 * defines main(). Compiled with -DLP_NODE_NO_MAIN it defines instead
 *   const lp_node_def *lp_node_def_DEF(void);
 * which returns &def, so that the node's .c file builds unchanged into a
 * test that runs the node in-process (lptest). Declare that accessor with
 * LP_NODE_DEF_DECLARE(DEF) where it is used.
 */
#define LP_NODE_DEF_DECLARE(def)					\
	const lp_node_def *lp_node_def_##def(void)
#ifdef LP_NODE_NO_MAIN
#define LP_NODE_MAIN(def)						\
	LP_NODE_DEF_DECLARE(def);					\
	LP_NODE_DEF_DECLARE(def)					\
	{								\
		return (&(def));					\
	}
#else
#define LP_NODE_MAIN(def)						\
	int main(int argc, char **argv)					\
	{								\
		return (lp_node_main(&(def), argc, argv));		\
	}
#endif

/** LP_NODE: GROUP/INDEX. */
const char	*lp_node_name(const lp_node *node);
/** LP_PROGRAM. */
const char	*lp_node_program(const lp_node *node);
/** The address the node was given to serve on, or NULL (process node). */
const char	*lp_node_address(const lp_node *node);
/** The node's self, as setup made it (NULL before setup, after teardown). */
void		*lp_node_self(const lp_node *node);

/** The whole config (borrowed; the null value if there is none). */
const courier_value *lp_node_config(const lp_node *node);
/** config[key] if the config is a dict holding key (borrowed), or NULL. */
const courier_value *lp_node_config_get(const lp_node *node,
		    const char *key);

/**
 * The client of the node whose address is config[key] (a "$handle"),
 * made on first use and owned by the node. Its calls wait for the server
 * to come up and end with CANCELLED once the node stops.
 * @return NULL (with *cause set if cause is not NULL) if config[key] is not
 * an address.
 */
courier_client	*lp_node_handle(lp_node *node, const char *key,
		    char **cause);
/**
 * The clients of the nodes whose addresses are the list config[key] (a
 * "$handles"), in index order; *n is their count. The array is the node's,
 * made on first use and valid until lp_node_free(); each client is the one
 * lp_node_client() gives for its address.
 * @return NULL with *n = 0 (and *cause set if cause is not NULL) if
 * config[key] is not a list of addresses. An empty list gives a non-NULL
 * array and *n = 0.
 */
courier_client	**lp_node_handles(lp_node *node, const char *key, size_t *n,
		    char **cause);
/**
 * A client of any address, owned by the node and shared per address, made
 * as a handle's is (wait for ready, cancelled at the stop).
 * @return NULL with *cause set if the address is malformed.
 */
courier_client	*lp_node_client(lp_node *node, const char *address,
		    char **cause);

/**
 * Register a method (in setup only). fn gets the node's self. flags:
 * COURIER_METHOD_INLINE. On a process node the methods are accepted and
 * not served.
 * @return 0, or -1 on a duplicate or empty name or a NULL fn, or after
 * setup: the cause is recorded with lp_node_fail(), and a node whose setup
 * had a method refused fails (after teardown) even if setup returns 0.
 */
int		 lp_node_method(lp_node *node, const char *name,
		    courier_method_fn fn, int flags);
/**
 * Register a batched method (in setup only; Launchpad's batched_handler):
 * the calls of many callers reach fn at once, stacked, up to max_batch of
 * them, after at most max_wait_ms; see courier_server_add_batched_method().
 * fn gets the node's self. As lp_node_method() otherwise.
 */
int		 lp_node_batched_method(lp_node *node, const char *name,
		    courier_batch_fn fn, size_t max_batch, int max_wait_ms);
/**
 * Handler threads of the node's server (in setup; default 4). 0 runs every
 * handler on the I/O thread, as courier_server_set_workers() says.
 */
void		 lp_node_set_workers(lp_node *node, unsigned n);

/**
 * Ask the supervisor to stop the whole program (Launchpad's lp.stop()),
 * then stop this node. Any thread (a method handler of this node too), any
 * number of times: the first call calls method "stop_program" at
 * LP_CONTROL with the node's name, waiting at most 5 s; calls meanwhile
 * wait for its answer, later ones only stop the node. A supervisor that
 * cannot be reached is reported on stderr; the node stops all the same.
 * Without a supervisor (no LP_CONTROL), stops this node only.
 */
void		 lp_stop_program(lp_node *node);
/** Stop this node only (what SIGTERM does). Any thread; idempotent. */
void		 lp_node_stop(lp_node *node);
/** Whether the node's stop event happened. */
bool		 lp_stopping(const lp_node *node);
/**
 * Wait up to timeout_ms (COURIER_FOREVER: no limit) for the stop event.
 * @return true if the node is stopping.
 */
bool		 lp_wait_for_stop(lp_node *node, int timeout_ms);
/** A file descriptor that becomes readable (and stays so) at the stop. */
int		 lp_stop_fd(const lp_node *node);
/**
 * Call cb(node, arg) once at the stop, on the thread that stops the node
 * (lp_node_stop(), lp_stop_program(), the signal bridge, or lp_node_exec()
 * when run returns), before the server stops: a callback may wake a run
 * function that waits on its own condition. It must not block for long.
 * Callbacks run in the order registered; one registered after they ran is
 * called at once, on the caller's thread. None runs if setup fails.
 */
void		 lp_on_stop(lp_node *node, void (*cb)(lp_node *, void *),
		    void *arg);
/**
 * Record why the node failed, printf-style. Prints "NODE: message" on
 * stderr; the first message is the one lp_node_failure() keeps. It does
 * not change the exit status by itself.
 */
void		 lp_node_fail(lp_node *node, const char *fmt, ...)
		    COURIER_PRINTF(2, 3);
/** Why the node failed (lp_node_fail, setup or run), or NULL. */
const char	*lp_node_failure(const lp_node *node);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* COURIER_NODE_H */
