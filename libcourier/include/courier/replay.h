/*
 * courier/replay.h: a typed client of lpd's replay node ("type": "replay"
 * in a program file), over the plain courier calls that lpctl call and
 * nodes in any language make: insert and sample, each synchronous or
 * through a future, update_priorities and info.
 *
 * The node's methods, for reference (positional or keyword arguments):
 *   insert(item, priorities)      priorities: {table: number}; the key
 *   sample(table, n)              n draws: [{key, item, priority,
 *                                 times_sampled, probability}]
 *   update_priorities(table, updates)   updates: {"key": priority}
 *   delete(table, keys), reset(table), info(), checkpoint()
 * A call that a table's rate limiter holds back waits, bounded by its
 * timeout, and ends with COURIER_CANCELLED when the node stops.
 *
 * Every answer is checked for the shape the node gives, so a handle to a
 * node that is not a replay node ends in an error, not a crash.
 */
#ifndef COURIER_REPLAY_H
#define COURIER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include <courier/courier.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is
 * its interface, and the only names it exports. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/** One draw of a sample. */
struct courier_replay_draw {
	uint64_t	 key;
	courier_value	*item;		/**< a reference the caller drops */
	double		 priority;
	double		 probability;	/**< of this item, per draw */
	int64_t		 times_sampled;
};

/**
 * Insert item into n tables with their priorities, waiting as long as
 * the tables' rate limiters and timeout_ms say.
 * @param c a client of the replay node
 * @param item the item (not taken: the caller keeps its reference)
 * @param tables n table names
 * @param priorities n priorities, one per table
 * @param key set to the item's key on success
 * @return 0, or -1 with *err set (err may be NULL)
 */
int		 courier_replay_insert(courier_client *c,
		    const courier_value *item, const char *const *tables,
		    const double *priorities, size_t n, int timeout_ms,
		    uint64_t *key, courier_error **err);
/**
 * courier_replay_insert() as a future, which
 * courier_replay_insert_result() reads; the caller frees it
 * (courier_future_free).
 */
courier_future	*courier_replay_insert_async(courier_client *c,
		    const courier_value *item, const char *const *tables,
		    const double *priorities, size_t n, int timeout_ms);
/**
 * Wait up to timeout_ms for an insert's future (a wait that times out
 * leaves it pending: it may be waited for again).
 * @return 0 with the key in *key, or -1 with *err set
 */
int		 courier_replay_insert_result(courier_future *f,
		    int timeout_ms, uint64_t *key, courier_error **err);

/**
 * Draw n items from table into out (room for n), all at once: the call
 * waits until the rate limiter lets n draws go.
 * @return 0, or -1 with *err set (out is then untouched)
 */
int		 courier_replay_sample(courier_client *c, const char *table,
		    size_t n, int timeout_ms, struct courier_replay_draw *out,
		    courier_error **err);
/** courier_replay_sample() as a future; the caller frees it. */
courier_future	*courier_replay_sample_async(courier_client *c,
		    const char *table, size_t n, int timeout_ms);
/**
 * Wait up to timeout_ms for a sample's future of n draws.
 * @return 0 with n draws in out, or -1 with *err set
 */
int		 courier_replay_sample_result(courier_future *f,
		    int timeout_ms, size_t n, struct courier_replay_draw *out,
		    courier_error **err);
/** Drop the items of n draws (their item fields become NULL). */
void		 courier_replay_draws_clear(struct courier_replay_draw *out,
		    size_t n);

/**
 * Set the priorities of n keys of table; keys no longer in the table
 * are skipped.
 * @return how many were updated, or -1 with *err set
 */
int64_t		 courier_replay_update(courier_client *c, const char *table,
		    const uint64_t *keys, const double *priorities, size_t n,
		    int timeout_ms, courier_error **err);
/**
 * The node's info(): a dict table name -> {size, max_size, inserts,
 * samples, sampler, remover, can_sample, can_insert, ...}.
 * @return the dict (the caller drops it), or NULL with *err set
 */
courier_value	*courier_replay_info(courier_client *c, int timeout_ms,
		    courier_error **err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* COURIER_REPLAY_H */
