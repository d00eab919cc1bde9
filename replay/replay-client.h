/*
 * replay-client.h: a typed client of the replay node for C nodes, over
 * the plain courier calls (what lpctl call and any other language make):
 * insert and sample, each synchronous or through a future, and update
 * and info. It uses only the public courier API.
 */
#ifndef REPLAY_CLIENT_H
#define REPLAY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <courier/courier.h>

/* One draw of a sample. */
struct replay_draw {
	uint64_t	 key;
	courier_value	*item;		/* a reference the caller drops */
	double		 priority;
	double		 probability;
	int64_t		 times_sampled;
};

/**
 * Insert item into n tables with their priorities (wait as long as the
 * tables' limiters and timeout_ms say).
 * @return 0 with the item's key in *key, or -1 with *err set.
 */
int		 replay_client_insert(courier_client *c,
		    const courier_value *item, const char *const *tables,
		    const double *priorities, size_t n, int timeout_ms,
		    uint64_t *key, courier_error **err);
/** The same as a future; replay_client_insert_result() reads it. */
courier_future	*replay_client_insert_async(courier_client *c,
		    const courier_value *item, const char *const *tables,
		    const double *priorities, size_t n, int timeout_ms);
/** Wait up to timeout_ms for an insert's future: 0 and *key, or -1. */
int		 replay_client_insert_result(courier_future *f, int timeout_ms,
		    uint64_t *key, courier_error **err);

/**
 * Draw n items from table into out (n of them), all at once.
 * @return 0, or -1 with *err set (out is then untouched).
 */
int		 replay_client_sample(courier_client *c, const char *table,
		    size_t n, int timeout_ms, struct replay_draw *out,
		    courier_error **err);
/** The same as a future; replay_client_sample_result() reads it. */
courier_future	*replay_client_sample_async(courier_client *c,
		    const char *table, size_t n, int timeout_ms);
/** Wait up to timeout_ms for a sample's future: 0 and n draws, or -1. */
int		 replay_client_sample_result(courier_future *f, int timeout_ms,
		    size_t n, struct replay_draw *out, courier_error **err);
/** Drop the items of n draws. */
void		 replay_draws_clear(struct replay_draw *out, size_t n);

/**
 * Set the priorities of n keys of table (keys gone meanwhile are
 * skipped). @return how many were updated, or -1 with *err set.
 */
int64_t		 replay_client_update(courier_client *c, const char *table,
		    const uint64_t *keys, const double *priorities, size_t n,
		    int timeout_ms, courier_error **err);
/** The node's info(), a dict table -> dict, or NULL with *err set. */
courier_value	*replay_client_info(courier_client *c, int timeout_ms,
		    courier_error **err);

#endif /* REPLAY_CLIENT_H */
