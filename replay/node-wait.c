/*
 * node-wait.c: the node's calls that the rate limiter holds back, and the
 * timer thread that ends them at their deadlines and writes periodic
 * checkpoints.
 *
 * An insert or a sample that the limiter lets through at once is answered
 * at once, like any method. One held back is deferred
 * (courier_request_defer) and becomes a pending call, which is all or
 * nothing (an insert into every table, n draws together), so one that
 * ends at its deadline has changed nothing. No thread waits for it:
 * while the limiter holds it back, its waiter sits in the table, and the
 * table change that admits it runs step() on the changing thread.
 * Exactly one party holds a call's "turn" at a time: the handler that
 * started it, the table (its waiter queued), a wake callback running
 * step(), or the timer thread after dequeuing the waiter. Whoever holds
 * the turn may finish the call, so it is answered once. The timer thread
 * marks a call expired before it tries to dequeue its waiter, and step()
 * looks at the mark after queuing the waiter, so a deadline is never
 * missed in between.
 *
 * A call holds references: one for its turn, one while it sits in the
 * deadline heap (the timer thread takes that one over when it pops it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"
#include "replay-node.h"

#define HEAP_NONE	SIZE_MAX

enum pend_op { PEND_INSERT, PEND_SAMPLE };

struct pending {
	struct replay_node	*rn;
	courier_request		*req;
	struct replay_waiter	 w;
	_Atomic int		 refs;
	atomic_bool		 expired;
	int64_t			 deadline;	/* mono ns, or DEADLINE_NONE */
	size_t			 heap_idx;	/* under rn->lock */
	enum pend_op		 op;
	/* An insert: the item into all tables, or none; a sample: one. */
	uint64_t		 key;
	courier_value		*item;
	struct replay_table	**tables;
	double			*prio;
	size_t			 ntables;

	/* A sample: n draws at once, all or none, into out. */
	size_t			 n;
	struct replay_sample	*out;
};

static void	step(struct pending *);

/* Drop a reference; the last frees the call and its draws. */
static void
pending_unref(struct pending *p)
{
	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	courier_value_unref(p->item);
	free(p->tables);
	free(p->prio);
	free(p->out);	/* its values went into the answer, if any */
	free(p);
}

/* Swap heap slots i and j. Node locked. */
static void
heap_swap(struct replay_node *rn, size_t i, size_t j)
{
	struct pending	*tmp = rn->heap[i];

	rn->heap[i] = rn->heap[j];
	rn->heap[j] = tmp;
	rn->heap[i]->heap_idx = i;
	rn->heap[j]->heap_idx = j;
}

/* Restore the heap around slot i. Node locked. */
static void
heap_fix(struct replay_node *rn, size_t i)
{
	size_t	c;

	while (i > 0 && rn->heap[i]->deadline <
	    rn->heap[(i - 1) / 2]->deadline) {
		heap_swap(rn, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		c = 2 * i + 1;
		if (c >= rn->nheap)
			break;
		if (c + 1 < rn->nheap &&
		    rn->heap[c + 1]->deadline < rn->heap[c]->deadline)
			c++;
		if (rn->heap[c]->deadline >= rn->heap[i]->deadline)
			break;
		heap_swap(rn, i, c);
		i = c;
	}
}

/* Take p out of the heap; its heap reference is the caller's. Locked. */
static void
heap_remove(struct replay_node *rn, struct pending *p)
{
	size_t	i = p->heap_idx;

	p->heap_idx = HEAP_NONE;
	if (i != --rn->nheap) {
		rn->heap[i] = rn->heap[rn->nheap];
		rn->heap[i]->heap_idx = i;
		heap_fix(rn, i);
	}
}

/* Add p (with a reference for the heap) and wake the timer. */
static void
heap_add(struct replay_node *rn, struct pending *p)
{
	atomic_fetch_add(&p->refs, 1);
	pthread_mutex_lock(&rn->lock);
	if (rn->nheap == rn->heapcap) {
		rn->heapcap = rn->heapcap == 0 ? 64 : rn->heapcap * 2;
		rn->heap = xreallocarray(rn->heap, rn->heapcap,
		    sizeof *rn->heap);
	}
	rn->heap[rn->nheap] = p;
	p->heap_idx = rn->nheap++;
	heap_fix(rn, p->heap_idx);
	if (p->heap_idx == 0)
		pthread_cond_signal(&rn->cond);
	pthread_mutex_unlock(&rn->lock);
}

/* Answer the call (v, or an error) and give up the turn. */
static void
finish(struct pending *p, courier_value *v, enum courier_code code,
    const char *msg)
{
	struct replay_node	*rn = p->rn;
	bool			 in_heap;

	pthread_mutex_lock(&rn->lock);
	if ((in_heap = p->heap_idx != HEAP_NONE))
		heap_remove(rn, p);
	pthread_mutex_unlock(&rn->lock);
	if (in_heap)
		pending_unref(p);
	if (v != NULL)
		courier_request_reply(p->req, v);
	else
		courier_request_fail(p->req, code, "%s", msg);
	pending_unref(p);
}

/* The n draws of out, as the method returns them; out keeps no value. */
static courier_value *
sample_result(struct replay_sample *out, size_t n)
{
	courier_value		*list = courier_list_new(), *d;
	struct replay_sample	*s;
	size_t			 i;

	for (i = 0; i < n; i++) {
		s = &out[i];
		d = courier_dict_new();
		courier_dict_set(d, "key", courier_int((int64_t)s->key));
		courier_dict_set(d, "item", s->value);
		s->value = NULL;
		courier_dict_set(d, "priority", courier_double(s->priority));
		courier_dict_set(d, "times_sampled",
		    courier_int(s->times_sampled));
		courier_dict_set(d, "probability",
		    courier_double(s->probability));
		courier_list_append(list, d);
	}
	return (list);
}

/* A waiter's callback: the limiter admits the call, or the table stopped. */
static void
pending_wake_cb(struct replay_waiter *w, enum replay_wake why, void *arg)
{
	struct pending	*p = arg;

	if (why == REPLAY_WAKE_STOPPED) {
		finish(p, NULL, COURIER_CANCELLED, "the replay node is "
		    "stopping");
		return;
	}
	step(p);
}

/* With the turn: go as far as the limiter lets the call go. */
static void
step(struct pending *p)
{
	struct replay_table	*t;
	enum replay_status	 st;
	courier_value		*v;
	size_t			 i;
	char			*cause = NULL;

	for (;;) {
		/* The timer may be late; the clock is not. */
		if (atomic_load(&p->expired) || (p->deadline != DEADLINE_NONE &&
		    mono_ns() >= p->deadline)) {
			/* This turn may have been a table's gift: pass it. */
			for (i = 0; i < p->ntables; i++)
				replay_table_wake(p->tables[i]);
			finish(p, NULL, COURIER_DEADLINE_EXCEEDED, "the rate "
			    "limiter held the call back past its deadline");
			return;
		}
		if (p->op == PEND_INSERT)
			st = replay_tables_insert(p->tables, p->ntables,
			    p->key, p->item, p->prio, &p->w, &cause);
		else
			st = replay_table_sample_all(p->tables[0], p->n,
			    p->out, &p->w, &cause);
		switch (st) {
		case REPLAY_DONE:
			if (p->op == PEND_INSERT)
				v = courier_int((int64_t)p->key);
			else
				v = sample_result(p->out, p->n);
			finish(p, v, 0, NULL);
			return;
		case REPLAY_BLOCKED:
			/* The timer may have expired it before it queued. */
			if (atomic_load(&p->expired) &&
			    (t = atomic_load(&p->w.on)) != NULL &&
			    replay_table_unwait(t, &p->w))
				continue;
			return;
		case REPLAY_STOPPED:
			finish(p, NULL, COURIER_CANCELLED, "the replay node is "
			    "stopping");
			return;
		case REPLAY_ERROR:
			finish(p, NULL, COURIER_INVALID_ARGUMENT, cause);
			free(cause);
			return;
		}
	}
}

/* A new pending call for req, deferred, in the heap if it has a deadline. */
static struct pending *
pending_new(struct replay_node *rn, courier_request *req, enum pend_op op)
{
	struct pending	*p = xcalloc(1, sizeof *p);
	int		 left = courier_request_time_left(req);

	p->rn = rn;
	p->req = req;
	p->op = op;
	atomic_init(&p->refs, 1);
	atomic_init(&p->expired, false);
	p->heap_idx = HEAP_NONE;
	p->deadline = courier_deadline(left);
	replay_waiter_init(&p->w, pending_wake_cb, p);
	courier_request_defer(req);
	return (p);
}

/* An error for a table call that neither went ahead nor waits. */
static void
status_error(enum replay_status st, char *cause, courier_error **err)
{
	if (st == REPLAY_STOPPED)
		courier_error_set(err, COURIER_CANCELLED, "the replay node is "
		    "stopping");
	else
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "%s", cause);
	free(cause);
}

/*
 * Insert item into tables with priorities. What the limiters let go
 * ahead at once is answered at once (no deferral, no reply from another
 * thread); the rest becomes a pending call and NULL is returned.
 */
courier_value *
pending_insert(struct replay_node *rn, courier_request *req, uint64_t key,
    const courier_value *item, struct replay_table **tables,
    const double *prio, size_t n, courier_error **err)
{
	struct pending		*p;
	enum replay_status	 st;
	char			*cause = NULL;

	st = replay_tables_insert(tables, n, key, item, prio, NULL, &cause);
	if (st == REPLAY_DONE)
		return (courier_int((int64_t)key));
	if (st != REPLAY_BLOCKED) {
		status_error(st, cause, err);
		return (NULL);
	}
	p = pending_new(rn, req, PEND_INSERT);
	p->key = key;
	p->item = courier_value_ref(item);
	p->tables = xreallocarray(NULL, n, sizeof *p->tables);
	memcpy(p->tables, tables, n * sizeof *tables);
	p->prio = xreallocarray(NULL, n, sizeof *p->prio);
	memcpy(p->prio, prio, n * sizeof *prio);
	p->ntables = n;
	if (p->deadline != DEADLINE_NONE)
		heap_add(rn, p);
	step(p);
	return (NULL);
}

/* Draw n items from t: at once if the limiter allows, else pending. */
courier_value *
pending_sample(struct replay_node *rn, courier_request *req,
    struct replay_table *t, size_t n, courier_error **err)
{
	struct pending		*p;
	struct replay_sample	*out = xcalloc(n, sizeof *out);
	enum replay_status	 st;
	courier_value		*v;
	char			*cause = NULL;

	if (!replay_table_can_ever_draw(t, n, &cause)) {
		free(out);
		status_error(REPLAY_ERROR, cause, err);
		return (NULL);
	}
	st = replay_table_sample_all(t, n, out, NULL, &cause);
	if (st == REPLAY_DONE) {
		v = sample_result(out, n);
		free(out);
		return (v);
	}
	if (st != REPLAY_BLOCKED) {
		free(out);
		status_error(st, cause, err);
		return (NULL);
	}
	p = pending_new(rn, req, PEND_SAMPLE);
	p->tables = xmalloc(sizeof *p->tables);
	p->tables[0] = t;
	p->ntables = 1;
	p->n = n;
	p->out = out;
	if (p->deadline != DEADLINE_NONE)
		heap_add(rn, p);
	step(p);
	return (NULL);
}

/* The timer: a call's deadline passed. Takes over the heap's reference. */
static void
expire(struct pending *p)
{
	struct replay_table	*t;

	atomic_store(&p->expired, true);
	t = atomic_load(&p->w.on);
	if (t != NULL && replay_table_unwait(t, &p->w))
		step(p);	/* the turn is ours: step() ends it */
	pending_unref(p);
}

/* The timer thread: deadlines first, then the periodic checkpoint. */
static void *
timer_main(void *arg)
{
	struct replay_node	*rn = arg;
	struct pending		*p;
	int64_t			 now, until;
	char			*path, *cause = NULL;

	pthread_mutex_lock(&rn->lock);
	while (!rn->stopping) {
		now = mono_ns();
		if (rn->nheap != 0 && rn->heap[0]->deadline <= now) {
			p = rn->heap[0];
			heap_remove(rn, p);
			pthread_mutex_unlock(&rn->lock);
			expire(p);
			pthread_mutex_lock(&rn->lock);
			continue;
		}
		if (rn->next_ckpt <= now) {
			rn->next_ckpt = now +
			    (int64_t)rn->cfg.ckpt_every_s * NSEC_PER_SEC;
			pthread_mutex_unlock(&rn->lock);
			if ((path = node_checkpoint(rn, &cause)) == NULL) {
				fprintf(stderr, "%s: checkpoint: %s\n",
				    lp_node_name(rn->node), cause);
				free(cause);
				cause = NULL;
			}
			free(path);
			pthread_mutex_lock(&rn->lock);
			continue;
		}
		until = rn->next_ckpt;
		if (rn->nheap != 0 && rn->heap[0]->deadline < until)
			until = rn->heap[0]->deadline;
		courier_cond_wait(&rn->cond, &rn->lock, until);
	}
	pthread_mutex_unlock(&rn->lock);
	return (NULL);
}

/* Start the timer thread. */
int
node_timer_start(struct replay_node *rn, char **cause)
{
	int	error;

	rn->next_ckpt = rn->cfg.ckpt_dir != NULL && rn->cfg.ckpt_every_s > 0 ?
	    mono_ns() + (int64_t)rn->cfg.ckpt_every_s * NSEC_PER_SEC :
	    DEADLINE_NONE;
	if ((error = pthread_create(&rn->timer, NULL, timer_main, rn)) != 0) {
		set_cause(cause, "pthread_create: %s", strerror(error));
		return (-1);
	}
	rn->timer_started = true;
	return (0);
}

/*
 * Stop the timer thread. The tables are stopped by then, so every call
 * has been answered and the heap is empty.
 */
void
node_timer_stop(struct replay_node *rn)
{
	if (!rn->timer_started)
		return;
	pthread_mutex_lock(&rn->lock);
	rn->stopping = true;
	pthread_cond_signal(&rn->cond);
	pthread_mutex_unlock(&rn->lock);
	pthread_join(rn->timer, NULL);
	rn->timer_started = false;
	if (rn->nheap != 0)
		fatalx("%s: %zu calls still wait", __func__, rn->nheap);
}
