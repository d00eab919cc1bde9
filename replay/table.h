/*
 * table.h: the replay tables, the storage behind the replay node.
 *
 * An item is a courier value under a 64-bit key. It is stored once, in a
 * store that several tables share, and every table that holds it keeps
 * its own priority and sample count. A table picks what to sample with its
 * sampler and what to evict with its remover (uniform, fifo, lifo,
 * prioritized, max_heap, min_heap; all in O(log n) or better), and a rate
 * limiter decides when inserts and samples may go ahead, with the
 * arithmetic of Reverb's RateLimiter.
 *
 * A call that the limiter holds back never blocks here: it returns
 * REPLAY_BLOCKED and, if the caller passed a waiter, queues it in the same
 * critical section, so no wake-up is lost. The waiter's callback runs once
 * when the operation may go ahead (it then retries, and may be held back
 * again by a faster caller) or when the table is stopped.
 *
 * Every table has a mutex of its own; the functions here are safe to call
 * from any thread.
 */
#ifndef REPLAY_TABLE_H
#define REPLAY_TABLE_H

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "courier/courier.h"

/* Samplers and removers. */
enum replay_selector {
	REPLAY_UNIFORM,
	REPLAY_FIFO,
	REPLAY_LIFO,
	REPLAY_PRIORITIZED,
	REPLAY_MAX_HEAP,
	REPLAY_MIN_HEAP,
};
#define REPLAY_SELECTOR_COUNT 6

/* "uniform", "fifo", ...; NULL if s is out of range. */
const char	*replay_selector_name(enum replay_selector);
/* The selector of a name, or -1. */
int		 replay_selector_from_name(const char *);

/*
 * limiter.c: Reverb's rate limiter. With inserts, samples and deletes
 * counted since the table began (or was reset):
 *   can_sample(n): inserts - deletes >= min_size_to_sample and
 *                  inserts * samples_per_insert - samples - n >= min_diff
 *   can_insert(n): inserts + n - deletes <= min_size_to_sample, or
 *                  (inserts + n) * samples_per_insert - samples <= max_diff
 */
struct replay_limiter_config {
	double		 samples_per_insert;
	int64_t		 min_size_to_sample;
	double		 min_diff;
	double		 max_diff;
};

struct replay_limiter {
	struct replay_limiter_config cfg;
	int64_t		 inserts;
	int64_t		 samples;
	int64_t		 deletes;
};

/* Reverb's MinSize(n): samples wait for n items, inserts never wait. */
int	 replay_limiter_min_size(struct replay_limiter_config *, int64_t,
	    char **);
/*
 * Reverb's SampleToInsertRatio with one error_buffer: the diff is kept
 * within min_size * spi -/+ error_buffer.
 */
int	 replay_limiter_ratio(struct replay_limiter_config *, double, int64_t,
	    double, char **);
/* SampleToInsertRatio with error_buffer given as [min_diff, max_diff]. */
int	 replay_limiter_ratio_range(struct replay_limiter_config *, double,
	    int64_t, double, double, char **);
/* Reverb's Queue(size): spi 1, min size 1, diff within [0, size]. */
int	 replay_limiter_queue(struct replay_limiter_config *, int64_t,
	    char **);
/* Refuse a configuration that could never sample or never insert. */
int	 replay_limiter_check(const struct replay_limiter_config *, char **);
bool	 replay_limiter_can_sample(const struct replay_limiter *, int64_t);
bool	 replay_limiter_can_insert(const struct replay_limiter *, int64_t);

/* store.c: the items, shared by the tables made with the same store. */
struct replay_store;

struct replay_store *replay_store_new(void);
/* Free the store; every table made with it must be freed first. */
void		 replay_store_free(struct replay_store *);
/* A key no item of the store has had (a counter above every key seen). */
uint64_t	 replay_store_new_key(struct replay_store *);
/* Number of distinct items the tables hold. */
size_t		 replay_store_len(struct replay_store *);
/* The item under key (a new reference), or NULL. */
courier_value	*replay_store_get(struct replay_store *, uint64_t);

/* table.c */
struct replay_table;

struct replay_table_config {
	const char		*name;
	enum replay_selector	 sampler;
	enum replay_selector	 remover;
	double			 priority_exponent;	/* prioritized */
	uint64_t		 max_size;		/* > 0 */
	uint32_t		 max_times_sampled;	/* 0: unlimited */
	struct replay_limiter_config limiter;
	uint64_t		 seed;
};

/* What the table functions return. */
enum replay_status {
	REPLAY_DONE = 0,
	REPLAY_BLOCKED = 1,	/* the limiter holds the call back */
	REPLAY_STOPPED = -1,	/* the table was stopped */
	REPLAY_ERROR = -2,	/* *cause says why */
};

/* Why a waiter's callback runs. */
enum replay_wake {
	REPLAY_WAKE_READY,	/* retry: the call may now go ahead */
	REPLAY_WAKE_STOPPED,	/* the table was stopped */
};

struct replay_waiter;
typedef void (*replay_wake_cb)(struct replay_waiter *, enum replay_wake,
    void *);

/*
 * A waiter: the caller owns it (it usually sits in the caller's pending
 * call) and fills it with replay_waiter_init(). Its callback runs on the
 * thread that changed the table, outside the table's lock; it must not
 * block, and it may call the table again. Callbacks that such a call
 * causes run after it returns, not inside it, so a chain of waiters never
 * grows the stack.
 */
struct replay_waiter {
	replay_wake_cb		 cb;
	void			*arg;
	int			 op;		/* internal */
	size_t			 want;		/* internal: draws */
	enum replay_wake	 why;		/* internal */
	/* internal: the table it is queued on, or NULL */
	struct replay_table *_Atomic on;
	TAILQ_ENTRY(replay_waiter) entry;	/* internal */
	struct replay_waiter	*next;		/* internal */
};

void	 replay_waiter_init(struct replay_waiter *, replay_wake_cb, void *);

/* One draw of a sample. */
struct replay_sample {
	uint64_t	 key;
	courier_value	*value;		/* a reference the caller drops */
	double		 priority;
	double		 probability;	/* chance of this item per draw */
	uint32_t	 times_sampled;	/* counting this draw */
	uint64_t	 table_size;	/* size when drawn */
};

struct replay_table_info {
	uint64_t	 size;
	uint64_t	 max_size;
	int64_t		 inserts;	/* the limiter's counts */
	int64_t		 samples;
	int64_t		 deletes;
	bool		 can_sample;
	bool		 can_insert;
	bool		 stopped;
	size_t		 waiting_inserts;	/* waiters queued */
	size_t		 waiting_samples;
};

/*
 * Check a configuration whole (name, selectors, max_size, exponent,
 * limiter) without making a table. 0, or -1 with *cause.
 */
int		 replay_table_config_check(const struct replay_table_config *,
		    char **);
/* A table over store; NULL with *cause on a bad configuration. */
struct replay_table *replay_table_new(struct replay_store *,
		    const struct replay_table_config *, char **);
/* Stop (as replay_table_stop()) and free the table and its references. */
void		 replay_table_free(struct replay_table *);
/* The table's configuration (name included); lives as long as it. */
const struct replay_table_config *replay_table_config(
		    const struct replay_table *);
struct replay_store *replay_table_store(const struct replay_table *);

/*
 * Insert value (a reference is taken) under key with a priority. A key
 * the table holds already has its priority updated instead, as in
 * Reverb; a key the store holds already (another table's) keeps its
 * stored value, so one key is one item everywhere. If the table is
 * full, the remover's choice is evicted (which may be the new item
 * itself). Returns REPLAY_DONE, REPLAY_BLOCKED (w, if not NULL,
 * queued), REPLAY_STOPPED or REPLAY_ERROR.
 */
enum replay_status replay_table_insert(struct replay_table *, uint64_t,
		    const courier_value *, double, struct replay_waiter *,
		    char **);
/*
 * Insert value under key into n tables with their priorities, into all
 * or none: if one table's limiter holds it back, w waits on that table
 * (replay_waiter's on says which) and no table takes the item, so a
 * caller that gives up leaves no copy behind. Tables are locked
 * together, in an order of their own.
 */
enum replay_status replay_tables_insert(struct replay_table *const *,
		    size_t, uint64_t, const courier_value *, const double *,
		    struct replay_waiter *, char **);
/*
 * Draw up to n items, as many as the limiter admits one after another
 * (at least one on REPLAY_DONE); *got says how many are in out. Returns
 * REPLAY_BLOCKED with *got 0 (w queued) if not even one is admitted.
 */
enum replay_status replay_table_sample(struct replay_table *, size_t,
		    struct replay_sample *, size_t *, struct replay_waiter *,
		    char **);
/*
 * Draw exactly n items at once, or none (REPLAY_BLOCKED, w queued until
 * the limiter admits all n): a caller that gives up meanwhile has used
 * nothing up. Refuse first an n that replay_table_can_ever_draw() says
 * no to, or the wait never ends.
 */
enum replay_status replay_table_sample_all(struct replay_table *, size_t,
		    struct replay_sample *, struct replay_waiter *, char **);
/* Whether n draws at once can ever be admitted; false with *cause. */
bool		 replay_table_can_ever_draw(struct replay_table *, size_t,
		    char **);
/* Set key's priority; REPLAY_ERROR if the table does not hold key. */
enum replay_status replay_table_update(struct replay_table *, uint64_t,
		    double, char **);
/* Remove key; false if the table did not hold it. */
bool		 replay_table_delete(struct replay_table *, uint64_t);
/* Remove every item and zero the limiter's counts. */
void		 replay_table_reset(struct replay_table *);
/*
 * Dequeue w if it is still queued on t. Returns true if it was (its
 * callback will not run), false if its callback has run or is running,
 * or if w waits on another table: a caller that may have t wrong (a call
 * that moves on from table to table) can ask without a lock of its own.
 */
bool		 replay_table_unwait(struct replay_table *,
		    struct replay_waiter *);
/*
 * Look again at the waiters. A READY callback must retry its call or,
 * if its caller gave up meanwhile, call this so that the turn it was
 * given passes on to the next waiter.
 */
void		 replay_table_wake(struct replay_table *);
/*
 * Stop the table: every waiter's callback runs with REPLAY_WAKE_STOPPED
 * and every later insert or sample returns REPLAY_STOPPED. Idempotent.
 */
void		 replay_table_stop(struct replay_table *);
void		 replay_table_info(struct replay_table *,
		    struct replay_table_info *);

/*
 * Blocking forms, for threads that may wait (tests, tools): wait up to
 * timeout_ms (COURIER_FOREVER: no limit) for the limiter. REPLAY_BLOCKED
 * means the time ran out.
 */
enum replay_status replay_table_insert_wait(struct replay_table *, uint64_t,
		    const courier_value *, double, int, char **);
enum replay_status replay_table_sample_wait(struct replay_table *, size_t,
		    struct replay_sample *, size_t *, int, char **);

/* Drop the value references of n samples. */
void		 replay_samples_clear(struct replay_sample *, size_t);

/*
 * checkpoint.c: every table of a store and their items in one file,
 * written atomically (a temporary file in the same folder, fsync, rename,
 * fsync of the folder), with a magic, a format version and a checksum.
 */
#define REPLAY_CHECKPOINT_VERSION 1

/* Write tables (all of one store) to path. 0, or -1 with *cause. */
int	 replay_checkpoint_write(const char *, struct replay_table **, size_t,
	    char **);
/*
 * Read path into a new store and new tables (*tables, *n; the caller
 * frees them, then the store). On any error nothing is kept: -1 with
 * *cause.
 */
int	 replay_checkpoint_read(const char *, struct replay_store **,
	    struct replay_table ***, size_t *, char **);

#endif /* REPLAY_TABLE_H */
