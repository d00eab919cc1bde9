/*
 * replay-int.h: what the files of the replay library share: the item, a
 * table's entry, the selectors, the random generator and the table
 * itself (which the checkpoint reads and fills).
 */
#ifndef REPLAY_INT_H
#define REPLAY_INT_H

#include <pthread.h>

#include "common.h"
#include "keymap.h"
#include "table.h"

/*
 * xoshiro256**, seeded by splitmix64: fast, and the same draws for the
 * same seed on every machine, which the tests rely on.
 */
struct rng {
	uint64_t	 s[4];
};
void		 rng_seed(struct rng *, uint64_t);
uint64_t	 rng_next(struct rng *);
/* Uniform in [0, 1), 53 bits. */
double		 rng_double(struct rng *);
/* Uniform in [0, n), n > 0, without modulo bias worth the name. */
uint64_t	 rng_below(struct rng *, uint64_t);

/* An item: one per key in the store, however many tables hold it. */
struct replay_item {
	uint64_t	 key;
	courier_value	*value;
	uint32_t	 refs;		/* tables holding it; store's lock */
};

/* store.c */
/* The item under key with one more table reference (made if absent). */
struct replay_item *replay_store_acquire(struct replay_store *, uint64_t,
		    const courier_value *);
/* Drop a table's reference to an item. */
void		 replay_store_release(struct replay_store *,
		    struct replay_item *);
/* Raise the key counter past key (after a checkpoint is read). */
void		 replay_store_seen(struct replay_store *, uint64_t);

/* Where an entry sits in one selector. */
struct sel_link {
	size_t			 idx;	/* array selectors */
	struct replay_entry	*prev;	/* fifo and lifo */
	struct replay_entry	*next;
};

/* An item as one table holds it. */
struct replay_entry {
	uint64_t		 key;	/* item->key and item->value, copied */
	courier_value		*value;	/* here to save a miss per draw */
	struct replay_item	*item;
	double			 priority;
	uint64_t		 seq;	/* insertion order: fifo, lifo */
	uint64_t		 upd;	/* insert or update order: heaps */
	uint32_t		 times_sampled;
	struct sel_link		 link[2];	/* sampler, remover */
};

/* selector.c: one sampler or remover over a table's entries. */
struct selector {
	enum replay_selector	 kind;
	int			 which;		/* index into link[] */
	double			 exponent;
	struct replay_entry	**v;		/* uniform, prioritized, heap */
	size_t			 len;
	size_t			 cap;
	double			*tree;		/* prioritized: 2 * tcap sums */
	size_t			 tcap;
	struct replay_entry	*head;		/* fifo, lifo: oldest */
	struct replay_entry	*tail;
};

void		 selector_init(struct selector *, enum replay_selector, int,
		    double);
void		 selector_free(struct selector *);
void		 selector_insert(struct selector *, struct replay_entry *);
void		 selector_delete(struct selector *, struct replay_entry *);
/* Re-place an entry whose priority or upd changed. */
void		 selector_update(struct selector *, struct replay_entry *);
/* The selector's choice (len > 0) and its probability. */
struct replay_entry *selector_pick(struct selector *, struct rng *,
		    double *);
/* Place the n entries e at positions pos (a checkpoint's); -1 if bad. */
int		 selector_arrange(struct selector *, struct replay_entry **,
		    const uint64_t *, size_t);
/* The weight prioritized gives a priority: p^e, with 0^e = 0. */
double		 selector_weight(const struct selector *, double);

TAILQ_HEAD(replay_waiters, replay_waiter);

struct replay_table {
	struct replay_table_config cfg;
	char			*name;
	struct replay_store	*store;

	pthread_mutex_t		 lock;
	struct keymap		 entries;	/* key -> replay_entry */
	struct selector		 sampler;
	struct selector		 remover;
	struct replay_limiter	 limiter;
	struct rng		 rng;
	uint64_t		 seq;
	uint64_t		 upd;
	bool			 stopped;
	struct replay_waiters	 waiters[2];	/* insert, sample */
	size_t			 nwaiting[2];
};

/*
 * table.c: lock several tables, always in the same order (sorted gets
 * them in it), and unlock them.
 */
void		 replay_tables_lock(struct replay_table *const *, size_t,
		    struct replay_table **);
void		 replay_tables_unlock(struct replay_table **, size_t);
/*
 * table.c, for the checkpoint: add an entry as it was, with its insertion
 * and update order (entries come in insertion order). Table locked.
 */
void		 replay_table_restore(struct replay_table *,
		    struct replay_item *, double, uint32_t, uint64_t,
		    uint64_t);

#endif /* REPLAY_INT_H */
