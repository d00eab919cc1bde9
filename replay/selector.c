/*
 * selector.c: the samplers and removers of a table, and the random
 * generator they draw from.
 *
 * uniform      an array; delete moves the last entry into the hole.
 * prioritized  the same array, and a sum tree over it: every inner node
 *              is recomputed as the sum of its two children, never by
 *              adding a difference, so rounding errors do not pile up over
 *              millions of updates (Reverb's tree adds differences).
 * max_heap,    an indexed binary heap on (priority, upd): ties go to the
 * min_heap     entry least recently inserted or updated, as in Reverb.
 * fifo, lifo   a list in insertion order.
 * Every operation is O(log n) or O(1).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replay-int.h"

/* One step of splitmix64, to spread a seed over the state. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Seed the generator. */
void
rng_seed(struct rng *r, uint64_t seed)
{
	int	i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

/* Rotate left. */
static inline uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

/* The next 64 bits of xoshiro256**. */
uint64_t
rng_next(struct rng *r)
{
	uint64_t	*s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (out);
}

/* Uniform in [0, 1). */
double
rng_double(struct rng *r)
{
	return ((double)(rng_next(r) >> 11) * 0x1.0p-53);
}

/* Uniform in [0, n): the high half of a 64x64 product (Lemire). */
uint64_t
rng_below(struct rng *r, uint64_t n)
{
	__extension__ typedef unsigned __int128 u128;

	return ((uint64_t)(((u128)rng_next(r) * n) >> 64));
}

/* An empty selector; which says which of an entry's links it uses. */
void
selector_init(struct selector *s, enum replay_selector kind, int which,
    double exponent)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->which = which;
	s->exponent = exponent;
}

/* Free what the selector allocated (the entries are the table's). */
void
selector_free(struct selector *s)
{
	free(s->v);
	free(s->tree);
	selector_init(s, s->kind, s->which, s->exponent);
}

/* The weight of a priority in the sum tree. */
double
selector_weight(const struct selector *s, double priority)
{
	if (priority == 0)
		return (0);
	return (pow(priority, s->exponent));
}

#define LINK(s, e)	((e)->link[(s)->which])

/* Recompute the sums above leaf i from the children: no drift. */
static void
tree_set(struct selector *s, size_t i, double w)
{
	double	*t = s->tree;

	i += s->tcap;
	t[i] = w;
	for (i >>= 1; i >= 1; i >>= 1)
		t[i] = t[2 * i] + t[2 * i + 1];
}

/* Make room in the array (and the tree) for one more entry. */
static void
array_reserve(struct selector *s)
{
	size_t	i;

	if (s->len == s->cap) {
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	if (s->kind != REPLAY_PRIORITIZED || s->len < s->tcap)
		return;
	/* Double the leaves and sum the new tree bottom up. */
	s->tcap = s->tcap == 0 ? 64 : s->tcap * 2;
	free(s->tree);
	s->tree = xcalloc(2 * s->tcap, sizeof *s->tree);
	for (i = 0; i < s->len; i++)
		s->tree[s->tcap + i] = selector_weight(s, s->v[i]->priority);
	for (i = s->tcap - 1; i >= 1; i--)
		s->tree[i] = s->tree[2 * i] + s->tree[2 * i + 1];
}

/* Whether heap entry a goes above b. */
static bool
heap_before(const struct selector *s, const struct replay_entry *a,
    const struct replay_entry *b)
{
	if (a->priority != b->priority) {
		if (s->kind == REPLAY_MAX_HEAP)
			return (a->priority > b->priority);
		return (a->priority < b->priority);
	}
	return (a->upd < b->upd);
}

/* Put e at slot i and tell it so. */
static inline void
heap_place(struct selector *s, size_t i, struct replay_entry *e)
{
	s->v[i] = e;
	LINK(s, e).idx = i;
}

/* Move the entry at i up or down until the heap holds again. */
static void
heap_fix(struct selector *s, size_t i)
{
	struct replay_entry	*e = s->v[i];
	size_t			 c;

	while (i > 0 && heap_before(s, e, s->v[(i - 1) / 2])) {
		heap_place(s, i, s->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		c = 2 * i + 1;
		if (c >= s->len)
			break;
		if (c + 1 < s->len && heap_before(s, s->v[c + 1], s->v[c]))
			c++;
		if (!heap_before(s, s->v[c], e))
			break;
		heap_place(s, i, s->v[c]);
		i = c;
	}
	heap_place(s, i, e);
}

/* Add an entry. */
void
selector_insert(struct selector *s, struct replay_entry *e)
{
	switch (s->kind) {
	case REPLAY_FIFO:
	case REPLAY_LIFO:
		LINK(s, e).next = NULL;
		LINK(s, e).prev = s->tail;
		if (s->tail != NULL)
			LINK(s, s->tail).next = e;
		else
			s->head = e;
		s->tail = e;
		s->len++;
		return;
	case REPLAY_UNIFORM:
	case REPLAY_PRIORITIZED:
	case REPLAY_MAX_HEAP:
	case REPLAY_MIN_HEAP:
		array_reserve(s);
		heap_place(s, s->len++, e);
		if (s->kind == REPLAY_PRIORITIZED)
			tree_set(s, s->len - 1,
			    selector_weight(s, e->priority));
		else if (s->kind != REPLAY_UNIFORM)
			heap_fix(s, s->len - 1);
		return;
	}
}

/* Remove an entry. */
void
selector_delete(struct selector *s, struct replay_entry *e)
{
	struct replay_entry	*last;
	size_t			 i;

	switch (s->kind) {
	case REPLAY_FIFO:
	case REPLAY_LIFO:
		if (LINK(s, e).prev != NULL)
			LINK(s, LINK(s, e).prev).next = LINK(s, e).next;
		else
			s->head = LINK(s, e).next;
		if (LINK(s, e).next != NULL)
			LINK(s, LINK(s, e).next).prev = LINK(s, e).prev;
		else
			s->tail = LINK(s, e).prev;
		s->len--;
		return;
	case REPLAY_UNIFORM:
	case REPLAY_PRIORITIZED:
	case REPLAY_MAX_HEAP:
	case REPLAY_MIN_HEAP:
		i = LINK(s, e).idx;
		last = s->v[--s->len];
		if (s->kind == REPLAY_PRIORITIZED) {
			/* The last leaf's weight moves into the hole. */
			if (i != s->len)
				tree_set(s, i, s->tree[s->tcap + s->len]);
			tree_set(s, s->len, 0);
		}
		if (i == s->len)
			return;
		heap_place(s, i, last);
		if (s->kind == REPLAY_MAX_HEAP || s->kind == REPLAY_MIN_HEAP)
			heap_fix(s, i);
		return;
	}
}

/* An entry's priority or update order changed. */
void
selector_update(struct selector *s, struct replay_entry *e)
{
	switch (s->kind) {
	case REPLAY_PRIORITIZED:
		tree_set(s, LINK(s, e).idx, selector_weight(s, e->priority));
		return;
	case REPLAY_MAX_HEAP:
	case REPLAY_MIN_HEAP:
		heap_fix(s, LINK(s, e).idx);
		return;
	default:
		return;
	}
}

/* Descend the sum tree to the leaf that u (in [0, total)) falls in. */
static size_t
tree_find(const struct selector *s, double u)
{
	const double	*t = s->tree;
	size_t		 i = 1;

	while (i < s->tcap) {
		/*
		 * Go right only into weight: rounding may carry u past the
		 * last positive leaf, and a zero leaf must never be drawn.
		 */
		if (u < t[2 * i] || t[2 * i + 1] <= 0)
			i = 2 * i;
		else {
			u -= t[2 * i];
			i = 2 * i + 1;
		}
	}
	return (i - s->tcap);
}

/* The selector's choice and the chance it had. */
struct replay_entry *
selector_pick(struct selector *s, struct rng *r, double *prob)
{
	double	total;
	size_t	i;

	switch (s->kind) {
	case REPLAY_FIFO:
		*prob = 1;
		return (s->head);
	case REPLAY_LIFO:
		*prob = 1;
		return (s->tail);
	case REPLAY_MAX_HEAP:
	case REPLAY_MIN_HEAP:
		*prob = 1;
		return (s->v[0]);
	case REPLAY_PRIORITIZED:
		/* All zero: as Reverb, draw uniformly. */
		if ((total = s->tree[1]) > 0) {
			i = tree_find(s, rng_double(r) * total);
			*prob = s->tree[s->tcap + i] / total;
			return (s->v[i]);
		}
		/* FALLTHROUGH */
	case REPLAY_UNIFORM:
		*prob = 1.0 / (double)s->len;
		return (s->v[rng_below(r, s->len)]);
	}
	return (NULL);
}

/*
 * Put the n entries of e (all the selector holds) at the places pos
 * gives, as a checkpoint saw them, so that a restored table draws what
 * the saved one would have. Returns -1 if pos is not a permutation.
 */
int
selector_arrange(struct selector *s, struct replay_entry **e,
    const uint64_t *pos, size_t n)
{
	size_t	i;

	if (s->kind == REPLAY_FIFO || s->kind == REPLAY_LIFO)
		return (0);
	if (n != s->len)
		return (-1);
	if (n == 0)
		return (0);
	for (i = 0; i < n; i++)
		s->v[i] = NULL;
	for (i = 0; i < n; i++) {
		if (pos[i] >= n || s->v[pos[i]] != NULL)
			return (-1);
		heap_place(s, pos[i], e[i]);
	}
	if (s->kind == REPLAY_PRIORITIZED) {
		for (i = 0; i < n; i++)
			s->tree[s->tcap + i] = selector_weight(s,
			    s->v[i]->priority);
		for (i = s->tcap - 1; i >= 1; i--)
			s->tree[i] = s->tree[2 * i] + s->tree[2 * i + 1];
	} else if (s->kind != REPLAY_UNIFORM) {
		for (i = n / 2; i > 0; i--)
			heap_fix(s, i - 1);
	}
	return (0);
}
