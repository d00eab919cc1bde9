/*
 * replay-node.h: what the files of the replay node share: its config, its
 * state, and the calls it holds while the rate limiter makes them wait.
 */
#ifndef REPLAY_NODE_H
#define REPLAY_NODE_H

#include <pthread.h>
#include <stdatomic.h>

#include "courier/node.h"
#include "replay-config.h"
#include "table.h"

struct pending;

/* The node's state, its self. */
struct replay_node {
	lp_node			*node;
	struct replay_config	 cfg;
	struct replay_store	*store;
	struct replay_table	**tables;
	size_t			 ntables;

	/* The timer thread: deadlines of waiting calls, checkpoints. */
	pthread_t		 timer;
	bool			 timer_started;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct pending		**heap;		/* by deadline */
	size_t			 nheap;
	size_t			 heapcap;
	bool			 stopping;
	int64_t			 next_ckpt;	/* mono ns, or INT64_MAX */

	pthread_mutex_t		 ckpt_lock;	/* one checkpoint at a time */
	uint64_t		 ckpt_seq;
};

/*
 * node-wait.c: calls that wait for the limiter without a thread. Each
 * returns the result if the limiter lets the call go ahead at once, or
 * NULL with *err set, or NULL after deferring req (answered later).
 */
/* Insert item under key into tables[i] with priorities[i]. */
courier_value *pending_insert(struct replay_node *, courier_request *,
	    uint64_t, const courier_value *, struct replay_table **,
	    const double *, size_t, courier_error **);
/* Draw n items from t. */
courier_value *pending_sample(struct replay_node *, courier_request *,
	    struct replay_table *, size_t, courier_error **);
/* Start the timer thread; stop it (every call still waiting is ended). */
int	 node_timer_start(struct replay_node *, char **);
void	 node_timer_stop(struct replay_node *);

/* replay-node.c */
/* Write a checkpoint now; its path, or NULL with *cause. */
char	*node_checkpoint(struct replay_node *, char **);

#endif /* REPLAY_NODE_H */
