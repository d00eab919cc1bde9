/*
 * table.c: a replay table: its entries, its sampler and remover, its rate
 * limiter and the callers waiting on it.
 *
 * Waiting is by callback, not by a sleeping thread: a call that the
 * limiter holds back queues its waiter under the table's lock, and the
 * call that changes the counts wakes as many waiters as the limiter now
 * admits (Reverb signals one condition variable per change; waking all
 * would make every change cost every waiter a retry). Callbacks run after
 * the lock is dropped, from a queue of the waking thread, so a callback
 * that calls the table again never nests another callback.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"
#include "replay-int.h"

enum { OP_INSERT, OP_SAMPLE };

static bool	can_draw(struct replay_table *, size_t);

/* This thread's callbacks still to run; non-NULL head while it runs them. */
static _Thread_local struct replay_waiter *wake_head;
static _Thread_local struct replay_waiter **wake_tail;
static _Thread_local bool wake_running;

/* Fill a waiter. */
void
replay_waiter_init(struct replay_waiter *w, replay_wake_cb cb, void *arg)
{
	memset(w, 0, sizeof *w);
	atomic_init(&w->on, NULL);
	w->cb = cb;
	w->arg = arg;
}

/* Run the callbacks of list, and those they cause, unless already here. */
static void
wake_deliver(struct replay_waiter *list)
{
	struct replay_waiter	*w;

	if (list == NULL)
		return;
	if (wake_head == NULL)
		wake_tail = &wake_head;
	*wake_tail = list;
	while (list->next != NULL)
		list = list->next;
	wake_tail = &list->next;
	if (wake_running)
		return;
	wake_running = true;
	while ((w = wake_head) != NULL) {
		if ((wake_head = w->next) == NULL)
			wake_tail = &wake_head;
		w->next = NULL;
		w->cb(w, w->why, w->arg);	/* w may be gone after this */
	}
	wake_running = false;
}

/* Move w off the queue onto list with a reason. */
static void
wake_take(struct replay_table *t, struct replay_waiter *w,
    enum replay_wake why, struct replay_waiter ***tail)
{
	TAILQ_REMOVE(&t->waiters[w->op], w, entry);
	t->nwaiting[w->op]--;
	atomic_store(&w->on, NULL);
	w->why = why;
	w->next = NULL;
	**tail = w;
	*tail = &w->next;
}

/*
 * Take as many waiters as the limiter admits now: the first k inserters
 * if k more inserts would pass, the first samplers if the draws they
 * want would, all together. Table locked.
 */
static struct replay_waiter *
wake_ready(struct replay_table *t)
{
	struct replay_waiter	*list = NULL, **tail = &list, *w, *next;
	int64_t			 k;

	for (k = 1; (w = TAILQ_FIRST(&t->waiters[OP_INSERT])) != NULL; k++) {
		if (!replay_limiter_can_insert(&t->limiter, k))
			break;
		wake_take(t, w, REPLAY_WAKE_READY, &tail);
	}
	/*
	 * A sampler that wants more than there is lets smaller ones behind
	 * it go; once not even one more draw would pass, none can.
	 */
	k = 0;
	TAILQ_FOREACH_SAFE(w, &t->waiters[OP_SAMPLE], entry, next) {
		if (!can_draw(t, (size_t)k + w->want)) {
			if (w->want == 1 || !can_draw(t, (size_t)k + 1))
				break;
			continue;
		}
		k += (int64_t)w->want;
		wake_take(t, w, REPLAY_WAKE_READY, &tail);
	}
	return (list);
}

/* Queue w (if any) for op. Table locked. */
static void
wait_queue(struct replay_table *t, struct replay_waiter *w, int op)
{
	if (w == NULL)
		return;
	if (atomic_load(&w->on) != NULL)
		fatalx("%s: waiter queued twice", __func__);
	w->op = op;
	atomic_store(&w->on, t);
	TAILQ_INSERT_TAIL(&t->waiters[op], w, entry);
	t->nwaiting[op]++;
}

/* A new empty table over store. */
struct replay_table *
replay_table_new(struct replay_store *store,
    const struct replay_table_config *cfg, char **cause)
{
	struct replay_table	*t;

	if (replay_table_config_check(cfg, cause) != 0)
		return (NULL);
	t = xcalloc(1, sizeof *t);
	t->cfg = *cfg;
	t->name = xstrdup(cfg->name);
	t->cfg.name = t->name;
	t->store = store;
	pthread_mutex_init(&t->lock, NULL);
	keymap_init(&t->entries);
	selector_init(&t->sampler, cfg->sampler, 0, cfg->priority_exponent);
	selector_init(&t->remover, cfg->remover, 1, cfg->priority_exponent);
	t->limiter.cfg = cfg->limiter;
	rng_seed(&t->rng, cfg->seed);
	TAILQ_INIT(&t->waiters[OP_INSERT]);
	TAILQ_INIT(&t->waiters[OP_SAMPLE]);
	return (t);
}

/* Drop every entry; the limiter is left to the caller. Table locked. */
static void
drop_all(struct replay_table *t)
{
	struct replay_entry	*e;
	size_t			 i = 0;

	while ((e = keymap_next(&t->entries, &i)) != NULL) {
		replay_store_release(t->store, e->item);
		free(e);
	}
	keymap_clear(&t->entries);
	selector_free(&t->sampler);
	selector_free(&t->remover);
}

/* Stop and free a table, dropping its references to the items. */
void
replay_table_free(struct replay_table *t)
{
	if (t == NULL)
		return;
	replay_table_stop(t);
	drop_all(t);
	pthread_mutex_destroy(&t->lock);
	free(t->name);
	free(t);
}

/* The table's configuration. */
const struct replay_table_config *
replay_table_config(const struct replay_table *t)
{
	return (&t->cfg);
}

/* The store the table shares. */
struct replay_store *
replay_table_store(const struct replay_table *t)
{
	return (t->store);
}

/* Refuse a priority the selectors cannot order or weigh. */
static int
priority_check(struct replay_table *t, double p, char **cause)
{
	bool	weighed = t->cfg.sampler == REPLAY_PRIORITIZED ||
		    t->cfg.remover == REPLAY_PRIORITIZED;

	if (isnan(p) || (weighed && (p < 0 ||
	    !isfinite(selector_weight(&t->sampler, p))))) {
		set_cause(cause, "table %s: priority %g is not %s", t->name,
		    p, weighed ? "a finite number >= 0" : "a number");
		return (-1);
	}
	return (0);
}

/* Remove an entry and count the delete. Table locked. */
static void
remove_entry(struct replay_table *t, struct replay_entry *e)
{
	keymap_del(&t->entries, e->key);
	selector_delete(&t->sampler, e);
	selector_delete(&t->remover, e);
	t->limiter.deletes++;
	replay_store_release(t->store, e->item);
	free(e);
}

/* Set an entry's priority. Table locked. */
static void
set_priority(struct replay_table *t, struct replay_entry *e, double priority)
{
	e->priority = priority;
	e->upd = ++t->upd;
	selector_update(&t->sampler, e);
	selector_update(&t->remover, e);
}

/* Order tables by address: the one order in which several are locked. */
static int
table_ptr_cmp(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t)*(struct replay_table *const *)a;
	uintptr_t	y = (uintptr_t)*(struct replay_table *const *)b;

	return (x < y ? -1 : x > y);
}

/* Lock n tables (sorted is filled with them, in locking order). */
void
replay_tables_lock(struct replay_table *const *tables, size_t n,
    struct replay_table **sorted)
{
	size_t	i;

	memcpy(sorted, tables, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, table_ptr_cmp);
	for (i = 0; i < n; i++)
		pthread_mutex_lock(&sorted[i]->lock);
}

/* Unlock what replay_tables_lock() locked. */
void
replay_tables_unlock(struct replay_table **sorted, size_t n)
{
	while (n > 0)
		pthread_mutex_unlock(&sorted[--n]->lock);
}

/* Insert or update under t's lock, the limiter having agreed. */
static void
insert_locked(struct replay_table *t, uint64_t key, const courier_value *value,
    double priority)
{
	struct replay_entry	*e;

	if ((e = keymap_get(&t->entries, key)) != NULL) {
		set_priority(t, e, priority);
		return;
	}
	replay_table_restore(t, replay_store_acquire(t->store, key, value),
	    priority, 0, t->seq + 1, t->upd + 1);
	if (t->entries.len > t->cfg.max_size)
		remove_entry(t, selector_pick(&t->remover, &t->rng,
		    &(double){0}));
	t->limiter.inserts++;
}

/* Append list b to list a. */
static struct replay_waiter *
wake_join(struct replay_waiter *a, struct replay_waiter *b)
{
	struct replay_waiter	*w = a;

	if (a == NULL)
		return (b);
	while (w->next != NULL)
		w = w->next;
	w->next = b;
	return (a);
}

/*
 * Insert into every table or none: all are locked together, and if one
 * limiter holds the insert back, w waits on that table and no table
 * takes the item.
 */
enum replay_status
replay_tables_insert(struct replay_table *const *tables, size_t n,
    uint64_t key, const courier_value *value, const double *priorities,
    struct replay_waiter *w, char **cause)
{
	struct replay_table	*stack[16], **sorted = stack, *t;
	struct replay_waiter	*list = NULL;
	enum replay_status	 st = REPLAY_DONE;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (priority_check(tables[i], priorities[i], cause) != 0)
			return (REPLAY_ERROR);
	}
	if (n > nitems(stack))
		sorted = xreallocarray(NULL, n, sizeof *sorted);
	replay_tables_lock(tables, n, sorted);
	for (i = 0; i < n && st == REPLAY_DONE; i++) {
		if (sorted[i]->stopped)
			st = REPLAY_STOPPED;
	}
	for (i = 0; i < n && st == REPLAY_DONE; i++) {
		t = tables[i];
		if (keymap_get(&t->entries, key) == NULL &&
		    !replay_limiter_can_insert(&t->limiter, 1)) {
			wait_queue(t, w, OP_INSERT);
			st = REPLAY_BLOCKED;
		}
	}
	for (i = 0; i < n && st == REPLAY_DONE; i++) {
		insert_locked(tables[i], key, value, priorities[i]);
		list = wake_join(list, wake_ready(tables[i]));
	}
	replay_tables_unlock(sorted, n);
	if (sorted != stack)
		free(sorted);
	wake_deliver(list);
	return (st);
}

/* Insert, or update the priority of a key already held. */
enum replay_status
replay_table_insert(struct replay_table *t, uint64_t key,
    const courier_value *value, double priority, struct replay_waiter *w,
    char **cause)
{
	return (replay_tables_insert(&t, 1, key, value, &priority, w,
	    cause));
}

/*
 * Whether n draws in a row may go ahead now. A table whose draws use
 * items up may lose an item per draw, so it needs n items, and the
 * minimum size must hold until the last draw. Table locked.
 */
static bool
can_draw(struct replay_table *t, size_t n)
{
	const struct replay_limiter	*l = &t->limiter;

	if (t->entries.len == 0 || !replay_limiter_can_sample(l, (int64_t)n))
		return (false);
	if (t->cfg.max_times_sampled == 0 || n == 1)
		return (true);
	return (t->entries.len >= n && l->inserts - l->deletes -
	    (int64_t)(n - 1) >= l->cfg.min_size_to_sample);
}

/* Draw up to n items; all: n or none. */
static enum replay_status
sample(struct replay_table *t, size_t n, bool all, struct replay_sample *out,
    size_t *got, struct replay_waiter *w, char **cause)
{
	struct replay_entry	*e;
	struct replay_waiter	*list;
	struct replay_sample	*s;
	double			 prob;

	*got = 0;
	if (n == 0) {
		set_cause(cause, "table %s: a sample of 0 items", t->name);
		return (REPLAY_ERROR);
	}
	pthread_mutex_lock(&t->lock);
	if (t->stopped) {
		pthread_mutex_unlock(&t->lock);
		return (REPLAY_STOPPED);
	}
	if (!can_draw(t, all ? n : 1)) {
		if (w != NULL)
			w->want = all ? n : 1;
		wait_queue(t, w, OP_SAMPLE);
		pthread_mutex_unlock(&t->lock);
		return (REPLAY_BLOCKED);
	}
	do {
		e = selector_pick(&t->sampler, &t->rng, &prob);
		e->times_sampled++;
		t->limiter.samples++;
		s = &out[(*got)++];
		s->key = e->key;
		s->value = courier_value_ref(e->value);
		s->priority = e->priority;
		s->probability = prob;
		s->times_sampled = e->times_sampled;
		s->table_size = t->entries.len;
		if (t->cfg.max_times_sampled != 0 &&
		    e->times_sampled >= t->cfg.max_times_sampled)
			remove_entry(t, e);
	} while (*got < n && (all || (t->entries.len != 0 &&
	    replay_limiter_can_sample(&t->limiter, 1))));
	list = wake_ready(t);
	pthread_mutex_unlock(&t->lock);
	wake_deliver(list);
	return (REPLAY_DONE);
}

/* Draw up to n items, as many as the limiter admits in a row. */
enum replay_status
replay_table_sample(struct replay_table *t, size_t n,
    struct replay_sample *out, size_t *got, struct replay_waiter *w,
    char **cause)
{
	return (sample(t, n, false, out, got, w, cause));
}

/* Draw n items at once, or none. */
enum replay_status
replay_table_sample_all(struct replay_table *t, size_t n,
    struct replay_sample *out, struct replay_waiter *w, char **cause)
{
	size_t	got;

	return (sample(t, n, true, out, &got, w, cause));
}

/*
 * Whether n draws at once could ever be admitted, the table's limits
 * being what they are (a caller would otherwise wait for ever). Inserts
 * go ahead up to max(min_size, max_diff / spi) items with no sample, and
 * the diff then reaches max(min_size * spi, max_diff).
 */
bool
replay_table_can_ever_draw(struct replay_table *t, size_t n, char **cause)
{
	const struct replay_limiter_config	*c = &t->cfg.limiter;
	double					 reach, items;

	reach = fmax((double)c->min_size_to_sample * c->samples_per_insert,
	    c->max_diff);
	if (reach - (double)n < c->min_diff) {
		set_cause(cause, "table %s: its rate limiter never admits %zu "
		    "draws at once", t->name, n);
		return (false);
	}
	if (t->cfg.max_times_sampled == 0)
		return (true);
	items = fmin((double)t->cfg.max_size,
	    fmax((double)c->min_size_to_sample,
	    c->max_diff / c->samples_per_insert));
	if ((double)c->min_size_to_sample + (double)n - 1 > items) {
		set_cause(cause, "table %s never holds the %lld items that %zu "
		    "draws at once need", t->name,
		    (long long)c->min_size_to_sample + (long long)n - 1, n);
		return (false);
	}
	return (true);
}

/* Drop the values of n samples. */
void
replay_samples_clear(struct replay_sample *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		courier_value_unref(s[i].value);
		s[i].value = NULL;
	}
}

/* Set the priority of a key the table holds. */
enum replay_status
replay_table_update(struct replay_table *t, uint64_t key, double priority,
    char **cause)
{
	struct replay_entry	*e;

	if (priority_check(t, priority, cause) != 0)
		return (REPLAY_ERROR);
	pthread_mutex_lock(&t->lock);
	if ((e = keymap_get(&t->entries, key)) == NULL) {
		pthread_mutex_unlock(&t->lock);
		set_cause(cause, "table %s has no key %llu", t->name,
		    (unsigned long long)key);
		return (REPLAY_ERROR);
	}
	set_priority(t, e, priority);
	pthread_mutex_unlock(&t->lock);
	return (REPLAY_DONE);
}

/* Remove a key. */
bool
replay_table_delete(struct replay_table *t, uint64_t key)
{
	struct replay_entry	*e;
	struct replay_waiter	*list = NULL;

	pthread_mutex_lock(&t->lock);
	if ((e = keymap_get(&t->entries, key)) != NULL) {
		remove_entry(t, e);
		list = wake_ready(t);
	}
	pthread_mutex_unlock(&t->lock);
	wake_deliver(list);
	return (e != NULL);
}

/* Empty the table and start the limiter's counts again. */
void
replay_table_reset(struct replay_table *t)
{
	struct replay_waiter	*list;

	pthread_mutex_lock(&t->lock);
	drop_all(t);
	t->limiter.inserts = t->limiter.samples = t->limiter.deletes = 0;
	list = wake_ready(t);
	pthread_mutex_unlock(&t->lock);
	wake_deliver(list);
}

/* Dequeue a waiter that has not been woken. */
bool
replay_table_unwait(struct replay_table *t, struct replay_waiter *w)
{
	bool	was;

	pthread_mutex_lock(&t->lock);
	if ((was = atomic_load(&w->on) == t)) {
		TAILQ_REMOVE(&t->waiters[w->op], w, entry);
		t->nwaiting[w->op]--;
		atomic_store(&w->on, NULL);
	}
	pthread_mutex_unlock(&t->lock);
	return (was);
}

/* Look at the waiters again. */
void
replay_table_wake(struct replay_table *t)
{
	struct replay_waiter	*list;

	pthread_mutex_lock(&t->lock);
	list = wake_ready(t);
	pthread_mutex_unlock(&t->lock);
	wake_deliver(list);
}

/* Stop: release every waiter, refuse every later insert and sample. */
void
replay_table_stop(struct replay_table *t)
{
	struct replay_waiter	*list = NULL, **tail = &list, *w;
	int			 op;

	pthread_mutex_lock(&t->lock);
	t->stopped = true;
	for (op = OP_INSERT; op <= OP_SAMPLE; op++) {
		while ((w = TAILQ_FIRST(&t->waiters[op])) != NULL)
			wake_take(t, w, REPLAY_WAKE_STOPPED, &tail);
	}
	pthread_mutex_unlock(&t->lock);
	wake_deliver(list);
}

/* The table's size, counts and limiter state. */
void
replay_table_info(struct replay_table *t, struct replay_table_info *info)
{
	pthread_mutex_lock(&t->lock);
	info->size = t->entries.len;
	info->max_size = t->cfg.max_size;
	info->inserts = t->limiter.inserts;
	info->samples = t->limiter.samples;
	info->deletes = t->limiter.deletes;
	info->can_sample = t->entries.len != 0 &&
	    replay_limiter_can_sample(&t->limiter, 1);
	info->can_insert = replay_limiter_can_insert(&t->limiter, 1);
	info->stopped = t->stopped;
	info->waiting_inserts = t->nwaiting[OP_INSERT];
	info->waiting_samples = t->nwaiting[OP_SAMPLE];
	pthread_mutex_unlock(&t->lock);
}

/* Add an entry read from a checkpoint. Table locked. */
void
replay_table_restore(struct replay_table *t, struct replay_item *item,
    double priority, uint32_t times_sampled, uint64_t seq, uint64_t upd)
{
	struct replay_entry	*e = xcalloc(1, sizeof *e);

	e->key = item->key;
	e->value = item->value;
	e->item = item;
	e->priority = priority;
	e->seq = seq;
	e->upd = upd;
	e->times_sampled = times_sampled;
	if (seq > t->seq)
		t->seq = seq;
	if (upd > t->upd)
		t->upd = upd;
	keymap_put(&t->entries, item->key, e);
	selector_insert(&t->sampler, e);
	selector_insert(&t->remover, e);
}

/* A waiter that a sleeping thread waits on. */
struct blocker {
	struct replay_waiter	 w;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	bool			 woken;
};

/* Wake the thread sleeping on the blocker. */
static void
blocker_wake_cb(struct replay_waiter *w, enum replay_wake why, void *arg)
{
	struct blocker	*b = arg;

	pthread_mutex_lock(&b->lock);
	b->woken = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Sleep until b is woken or the deadline passes. Returns false on a
 * timeout that dequeued b; if b was woken meanwhile, waits for its
 * callback to finish so that b may go.
 */
static bool
blocker_sleep(struct replay_table *t, struct blocker *b, int64_t deadline)
{
	pthread_mutex_lock(&b->lock);
	while (!b->woken && mono_ns() < deadline)
		courier_cond_wait(&b->cond, &b->lock, deadline);
	if (!b->woken) {
		pthread_mutex_unlock(&b->lock);
		if (replay_table_unwait(t, &b->w))
			return (false);
		pthread_mutex_lock(&b->lock);
		while (!b->woken)
			courier_cond_wait(&b->cond, &b->lock, DEADLINE_NONE);
	}
	b->woken = false;
	pthread_mutex_unlock(&b->lock);
	return (true);
}

/* A blocker with its waiter, lock and condition. */
static void
blocker_init(struct blocker *b)
{
	replay_waiter_init(&b->w, blocker_wake_cb, b);
	pthread_mutex_init(&b->lock, NULL);
	courier_cond_init(&b->cond);
	b->woken = false;
}

/* Free a blocker's lock and condition. */
static void
blocker_clear(struct blocker *b)
{
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
}

/* Insert, sleeping while the limiter holds the insert back. */
enum replay_status
replay_table_insert_wait(struct replay_table *t, uint64_t key,
    const courier_value *value, double priority, int timeout_ms,
    char **cause)
{
	struct blocker		 b;
	enum replay_status	 st;
	int64_t			 deadline = courier_deadline(timeout_ms);

	blocker_init(&b);
	while ((st = replay_table_insert(t, key, value, priority, &b.w,
	    cause)) == REPLAY_BLOCKED) {
		if (!blocker_sleep(t, &b, deadline))
			break;
		if (b.w.why == REPLAY_WAKE_STOPPED) {
			st = REPLAY_STOPPED;
			break;
		}
	}
	blocker_clear(&b);
	return (st);
}

/* Sample, sleeping while the limiter holds the draws back. */
enum replay_status
replay_table_sample_wait(struct replay_table *t, size_t n,
    struct replay_sample *out, size_t *got, int timeout_ms, char **cause)
{
	struct blocker		 b;
	enum replay_status	 st;
	int64_t			 deadline = courier_deadline(timeout_ms);

	blocker_init(&b);
	while ((st = replay_table_sample(t, n, out, got, &b.w, cause)) ==
	    REPLAY_BLOCKED) {
		if (!blocker_sleep(t, &b, deadline))
			break;
		if (b.w.why == REPLAY_WAKE_STOPPED) {
			st = REPLAY_STOPPED;
			break;
		}
	}
	blocker_clear(&b);
	return (st);
}
