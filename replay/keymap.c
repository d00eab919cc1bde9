/*
 * keymap.c: the 64-bit key map of the item store and of every table.
 * Keys are hashed (a splitmix64 finaliser) because the node hands out
 * consecutive keys, which would otherwise cluster.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "keymap.h"

#define KEYMAP_MIN	16

/* Mix a key so that consecutive keys spread over the slots. */
static inline uint64_t
hash(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (x);
}

/* An empty map; it allocates on its first put. */
void
keymap_init(struct keymap *m)
{
	m->slots = NULL;
	m->mask = 0;
	m->len = 0;
}

/* Free the slots (not the values, which are the caller's). */
void
keymap_clear(struct keymap *m)
{
	free(m->slots);
	keymap_init(m);
}

/* The value under key, or NULL. */
void *
keymap_get(const struct keymap *m, uint64_t key)
{
	size_t	i;

	if (m->slots == NULL)
		return (NULL);
	for (i = hash(key) & m->mask; m->slots[i].val != NULL;
	    i = (i + 1) & m->mask) {
		if (m->slots[i].key == key)
			return (m->slots[i].val);
	}
	return (NULL);
}

/* Move every entry into a table of cap slots. */
static void
grow(struct keymap *m, size_t cap)
{
	struct keymap_slot	*old = m->slots;
	size_t			 oldcap = old == NULL ? 0 : m->mask + 1, i, j;

	m->slots = xcalloc(cap, sizeof *m->slots);
	m->mask = cap - 1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].val == NULL)
			continue;
		for (j = hash(old[i].key) & m->mask; m->slots[j].val != NULL;
		    j = (j + 1) & m->mask)
			;
		m->slots[j] = old[i];
	}
	free(old);
}

/* Set key to val; the load stays under 3/4. */
void *
keymap_put(struct keymap *m, uint64_t key, void *val)
{
	size_t	 i;
	void	*prev;

	if (m->slots == NULL)
		grow(m, KEYMAP_MIN);
	else if ((m->len + 1) * 4 > (m->mask + 1) * 3)
		grow(m, (m->mask + 1) * 2);
	for (i = hash(key) & m->mask; m->slots[i].val != NULL;
	    i = (i + 1) & m->mask) {
		if (m->slots[i].key == key) {
			prev = m->slots[i].val;
			m->slots[i].val = val;
			return (prev);
		}
	}
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->len++;
	return (NULL);
}

/*
 * Remove key. The entries after it in its run move back into the hole
 * when their home slot allows it, so no search ever needs a tombstone.
 */
void *
keymap_del(struct keymap *m, uint64_t key)
{
	size_t	 i, j, home;
	void	*val;

	if (m->slots == NULL)
		return (NULL);
	for (i = hash(key) & m->mask; m->slots[i].val != NULL;
	    i = (i + 1) & m->mask) {
		if (m->slots[i].key == key)
			break;
	}
	if ((val = m->slots[i].val) == NULL)
		return (NULL);
	m->len--;
	for (j = (i + 1) & m->mask; m->slots[j].val != NULL;
	    j = (j + 1) & m->mask) {
		home = hash(m->slots[j].key) & m->mask;
		/* j stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].val = NULL;
	return (val);
}

/* The next value from slot *i on, or NULL at the end. */
void *
keymap_next(const struct keymap *m, size_t *i)
{
	size_t	cap = m->slots == NULL ? 0 : m->mask + 1;

	for (; *i < cap; (*i)++) {
		if (m->slots[*i].val != NULL)
			return (m->slots[(*i)++].val);
	}
	return (NULL);
}
