/*
 * replay-test.h: helpers of the replay tests (replay-test.c).
 */
#ifndef REPLAY_TEST_H
#define REPLAY_TEST_H

#include "replay-int.h"

/* The store of the running test, made by setup() and freed by teardown(). */
extern struct replay_store *store;

void	 setup(void);
void	 teardown(void);
/* A table of the given sampler and remover, MinSize(1), seed 42. */
struct replay_table *table_new(enum replay_selector, enum replay_selector,
	    uint64_t, uint32_t);
/* Insert key with an int value of the key and a priority. */
void	 put(struct replay_table *, uint64_t, double);
/* Draw one item and return its key; its probability in *prob. */
uint64_t draw(struct replay_table *, double *);

#endif /* REPLAY_TEST_H */
