/*
 * store.c: the items, each stored once under its key and counted by the
 * tables that hold it. The last table to drop an item frees it. The
 * store's lock is held only to find, count and unlink: a value is freed
 * outside it.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "replay-int.h"

struct replay_store {
	pthread_mutex_t		 lock;
	struct keymap		 items;		/* key -> replay_item */
	_Atomic uint64_t	 next_key;
};

/* An empty store. */
struct replay_store *
replay_store_new(void)
{
	struct replay_store	*st = xcalloc(1, sizeof *st);

	pthread_mutex_init(&st->lock, NULL);
	keymap_init(&st->items);
	atomic_init(&st->next_key, 1);
	return (st);
}

/* Free the store; its tables are gone, so it holds no item. */
void
replay_store_free(struct replay_store *st)
{
	if (st == NULL)
		return;
	if (st->items.len != 0)
		fatalx("%s: %zu items still held", __func__, st->items.len);
	keymap_clear(&st->items);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* A fresh key. */
uint64_t
replay_store_new_key(struct replay_store *st)
{
	return (atomic_fetch_add(&st->next_key, 1));
}

/* Make sure new keys are above key. */
void
replay_store_seen(struct replay_store *st, uint64_t key)
{
	uint64_t	cur = atomic_load(&st->next_key);

	while (cur <= key &&
	    !atomic_compare_exchange_weak(&st->next_key, &cur, key + 1))
		;
}

/* Number of items. */
size_t
replay_store_len(struct replay_store *st)
{
	size_t	n;

	pthread_mutex_lock(&st->lock);
	n = st->items.len;
	pthread_mutex_unlock(&st->lock);
	return (n);
}

/* The value under key, a new reference, or NULL. */
courier_value *
replay_store_get(struct replay_store *st, uint64_t key)
{
	struct replay_item	*it;
	courier_value		*v = NULL;

	pthread_mutex_lock(&st->lock);
	if ((it = keymap_get(&st->items, key)) != NULL)
		v = courier_value_ref(it->value);
	pthread_mutex_unlock(&st->lock);
	return (v);
}

/* Take a table's reference to the item under key, making it if absent. */
struct replay_item *
replay_store_acquire(struct replay_store *st, uint64_t key,
    const courier_value *value)
{
	struct replay_item	*it;

	pthread_mutex_lock(&st->lock);
	if ((it = keymap_get(&st->items, key)) == NULL) {
		it = xmalloc(sizeof *it);
		it->key = key;
		it->value = courier_value_ref(value);
		it->refs = 0;
		keymap_put(&st->items, key, it);
	}
	it->refs++;
	pthread_mutex_unlock(&st->lock);
	replay_store_seen(st, key);
	return (it);
}

/* Drop a table's reference; the last one frees the item. */
void
replay_store_release(struct replay_store *st, struct replay_item *it)
{
	bool	last;

	pthread_mutex_lock(&st->lock);
	if ((last = --it->refs == 0))
		keymap_del(&st->items, it->key);
	pthread_mutex_unlock(&st->lock);
	if (last) {
		courier_value_unref(it->value);
		free(it);
	}
}
