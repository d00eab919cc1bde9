/*
 * keymap.h: a map from 64-bit keys to pointers, by open addressing with
 * linear probing and backward-shift deletion (no tombstones, so a table
 * that churns through millions of keys keeps its probe lengths short).
 * Not thread-safe: its owner locks.
 */
#ifndef REPLAY_KEYMAP_H
#define REPLAY_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct keymap_slot {
	uint64_t	 key;
	void		*val;		/* NULL: the slot is empty */
};

struct keymap {
	struct keymap_slot	*slots;
	size_t			 mask;	/* capacity - 1, a power of two */
	size_t			 len;
};

void	 keymap_init(struct keymap *);
void	 keymap_clear(struct keymap *);
/* The value under key, or NULL. */
void	*keymap_get(const struct keymap *, uint64_t);
/* Set key to val (not NULL); returns the value it replaces, or NULL. */
void	*keymap_put(struct keymap *, uint64_t, void *);
/* Remove key; returns its value, or NULL if it was absent. */
void	*keymap_del(struct keymap *, uint64_t);
/* Iterate: call with *i = 0; returns values until NULL. */
void	*keymap_next(const struct keymap *, size_t *);

#endif /* REPLAY_KEYMAP_H */
