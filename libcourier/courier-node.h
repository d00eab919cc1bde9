/*
 * courier-node.h: what the node runtime's files share, and nobody else:
 * courier-node.c (a node's making, life, methods and stop),
 * courier-node-config.c (its names, config and handles, and the clients
 * they resolve to) and courier-node-main.c (lp_node_main(), a node that
 * is a process of its own).
 */
#ifndef COURIER_NODE_INTERNAL_H
#define COURIER_NODE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "courier-internal.h"
#include "courier/node.h"

/* A method recorded in setup, registered with the server once self is. */
struct method {
	char			*name;
	courier_method_fn	 fn;
	courier_batch_fn	 batch_fn;	/* a batched method's, or NULL */
	int			 flags;
	size_t			 max_batch;
	int			 max_wait_ms;
};

struct stop_cb {
	void			(*fn)(lp_node *, void *);
	void			*arg;
};

/* One client per address, shared by handles and lp_node_client(). */
struct cached_client {
	char			*address;
	courier_client		*client;
};

/* The clients of a "$handles" key, in the list's order (borrowed). */
struct cached_handles {
	char			*key;
	courier_client		**clients;
	size_t			 n;
};

enum node_phase {
	PHASE_NEW,		/* made; lp_node_exec() not called yet */
	PHASE_SETUP,		/* in setup: methods may be added */
	PHASE_RUNNING,		/* serving and/or running */
	PHASE_DONE,		/* lp_node_exec() returned */
};

enum control_state {
	CONTROL_NONE,		/* nobody asked for the program's stop */
	CONTROL_CALLING,	/* a thread is asking the supervisor */
	CONTROL_DONE,		/* the supervisor answered, or could not */
};

struct lp_node {
	const lp_node_def	*def;
	char			*program;
	char			*name;
	char			*address;
	char			*control;
	int			 listen_fd;	/* until the server has it */
	int			 ready_fd;	/* LP_READY_FD, until it serves */
	bool			 run;
	courier_value		*config;	/* never NULL */

	void			*self;
	int			 stop_fd;
	atomic_bool		 stopping;
	int			 sig_fd;	/* lp_node_main()'s, or -1 */
	bool			 exits;		/* lp_node_main()'s: exit follows */

	/* The lp_node_exec() thread's alone. */
	courier_server		*server;

	pthread_mutex_t		 mtx;
	pthread_cond_t		 control_cv;
	enum node_phase		 phase;
	struct method		*methods;
	size_t			 nmethods;
	bool			 method_failed;
	unsigned		 workers;
	struct cached_client	*clients;
	size_t			 nclients;
	struct cached_handles	*handles;
	size_t			 nhandles;
	struct stop_cb		*stop_cbs;
	size_t			 nstop_cbs;
	bool			 stop_cbs_ran;
	bool			 stop_cbs_done;	/* ... and returned */
	pthread_cond_t		 stop_cv;	/* stop_cbs_done */
	char			*failure;
	enum control_state	 control_state;
};

/*
 * Whether lp_node_exec() runs the node's run function on its thread;
 * otherwise it waits there for the stop (and reads the signals itself).
 */
static inline bool
node_runs(const lp_node *node)
{
	return (node->run && node->def->run != NULL);
}

/* courier-node.c */
/* Read every signal waiting on fd (a signalfd) and stop the node. */
void	 node_signalled(lp_node *, int);

#endif /* COURIER_NODE_INTERNAL_H */
