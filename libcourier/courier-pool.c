/*
 * courier-pool.c: a server's threads: with its own event base, leader and
 * followers with a lazy hand-over of the loop, the watch, and the thread a
 * node lends; with the caller's base, threads that run what its loop
 * queues. courier-server.c starts and stops them.
 *
 * With its own threads a server uses leader/followers: of its pool of up
 * to workers + 1 threads, one (the leader) runs the event loop; when the
 * loop hands it requests, it runs them itself and writes their replies on
 * the socket itself. A call thus costs no thread hand-off on the server's
 * critical path.
 *
 * The hand-over is lazy. Waking a follower to lead for every call costs
 * about as much as the call, so while the leader runs handlers an idle
 * thread keeps the watch instead: a timed wait that ticks every
 * LEAD_TICK_NS while the server is busy. If a handler keeps the loop for a
 * tick, the watch takes the loop over; if a request waits a tick in the
 * queue, the watch takes the request, and more threads follow as needed.
 * A handler that waits for a courier call gets a leader at once
 * (courier_srv_blocking), since the reply may need this server. As at most
 * `workers` threads run handlers, one is always left to run the loop: a
 * handler that blocks stalls I/O for a tick at most, and nodes that call
 * each other do not deadlock. A node that only waits for its stop lends
 * its own thread as the first of the pool (courier_srv_lend): until a call
 * needs a second thread, the server starts none.
 */
#include "courier-server.h"

static void	*server_worker(void *);

/* The pool worker whose handler this thread runs, if any. */
static _Thread_local struct worker *current_worker;

/* Ready a pool thread's slot. */
static struct worker *
worker_init(courier_server *s)
{
	struct worker	*w = &s->workers[s->nthreads++];

	w->server = s;
	courier_arena_init(&w->arena);
	w->scratch.keep_big = true;	/* one per thread, not per peer */
	return (w);
}

/* Spawn one more pool thread; mtx held. */
static void
worker_spawn(courier_server *s)
{
	struct worker	*w = worker_init(s);
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	int		 error;

	/* Signals belong to the application's threads, not ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	error = pthread_create(&w->thread, &attr, server_worker, w);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		errno = error;
		fatal("pthread_create");
	}
	s->nstarting++;
}

/* The first pool thread, as the server starts; mtx held. */
void
courier_pool_start(courier_server *s)
{
	if (s->lend)
		worker_init(s)->lent = true;	/* courier_srv_lend() leads */
	else
		worker_spawn(s);	/* the first leader */
}

/*
 * Wake an idle thread or start a new one; mtx held. True if an idle one
 * is to be woken: the caller signals cv once it has unlocked mtx, so that
 * the woken thread does not wake only to wait for the mutex (a thread
 * counted in nidle waits on cv, so the signal cannot be lost).
 */
bool
courier_srv_wake_one(courier_server *s)
{
	if (s->nidle > s->nsignalled) {
		s->nsignalled++;
		return (true);
	}
	if (s->nthreads < s->maxthreads)
		worker_spawn(s);
	return (false);
}

/*
 * This thread leaves the loop to run a handler: make sure a thread keeps
 * the watch, to take the loop or the queue over if the handler keeps it
 * long (with now, at once: the watch is woken even if it keeps time);
 * mtx held. The condition to signal once mtx is unlocked, or NULL.
 * A watch that keeps time costs nothing here; one asleep, or none, costs a
 * wake-up, which happens only after a quiet spell or a handler that kept
 * its thread for a tick.
 */
static pthread_cond_t *
server_watch(courier_server *s, bool now)
{
	if (!s->own_base)
		return (NULL);
	if (s->watching) {
		if (!s->watch_asleep && !now)
			return (NULL);
		s->watch_asleep = false;
		return (&s->watch_cv);
	}
	if (s->nsignalled > 0 || s->nstarting > 0)
		return (NULL);	/* one is on its way */
	return (courier_srv_wake_one(s) ? &s->cv : NULL);
}

/*
 * A handler on a pool thread is about to wait for a courier call, until
 * limit. The reply may need this very server (a node calling back the
 * node that called it), so another thread takes the loop now, not after a
 * tick.
 */
void
courier_srv_blocking(int64_t limit)
{
	struct worker	*w = current_worker;
	courier_server	*s;
	pthread_cond_t	*cv = NULL;

	if (w == NULL || limit <= mono_ns())
		return;
	s = w->server;
	pthread_mutex_lock(&s->mtx);
	if (s->own_base && !s->leader && !s->lead_asked) {
		s->lead_asked = true;
		cv = server_watch(s, true);
	}
	pthread_mutex_unlock(&s->mtx);
	if (cv != NULL)
		pthread_cond_signal(cv);
}

/*
 * Keep the watch until there is something for this thread to do (mtx
 * held): the loop has had no leader for a tick, or a handler asked for
 * one, or a queued request has waited a tick for a thread. True if this
 * thread is to lead. After QUIET_TICKS ticks without a request taken, the
 * watch waits untimed until server_watch wakes it.
 */
static bool
server_keep_watch(courier_server *s, struct worker *w)
{
	struct courier_request	*req;
	uint64_t		 taken = s->ntaken;
	int64_t			 now, due;
	unsigned		 quiet = 0;
	bool			 lead = false;

	s->watching = true;
	while (!s->exiting && !(w->lent && s->lent_leave)) {
		now = mono_ns();
		due = now + LEAD_TICK_NS;
		if (!s->leader) {
			if (s->lead_asked ||
			    now - s->unled_since >= LEAD_TICK_NS) {
				lead = true;
				break;
			}
			if (s->unled_since + LEAD_TICK_NS < due)
				due = s->unled_since + LEAD_TICK_NS;
		}
		req = TAILQ_FIRST(&s->queue);
		if (req != NULL && s->nbusy < s->nworkers) {
			if (now - req->queued >= LEAD_TICK_NS)
				break;
			if (req->queued + LEAD_TICK_NS < due)
				due = req->queued + LEAD_TICK_NS;
		}
		if (s->ntaken != taken || s->nbusy != 0 || !s->leader) {
			taken = s->ntaken;
			quiet = 0;
		} else if (++quiet > QUIET_TICKS) {
			s->watch_asleep = true;
			while (s->watch_asleep && !s->exiting &&
			    !(w->lent && s->lent_leave))
				pthread_cond_wait(&s->watch_cv, &s->mtx);
			quiet = 0;
			continue;
		}
		courier_cond_wait(&s->watch_cv, &s->mtx, due);
	}
	s->watching = false;
	s->watch_asleep = false;
	return (lead);
}

/* Take the next queued request; mtx held. */
struct courier_request *
courier_srv_take(courier_server *s)
{
	struct courier_request	*req;
	struct sconn		*c;

	req = TAILQ_FIRST(&s->queue);
	TAILQ_REMOVE(&s->queue, req, entry);
	c = req->conn;
	if (--c->nqueued == QUEUE_LOW && c->paused && s->resume != NULL)
		event_active(s->resume, 0, 0);
	return (req);
}

/* Run the loop once, as its leader; mtx held. */
static void
worker_lead(courier_server *s)
{
	s->leader = true;
	s->lead_asked = false;
	pthread_mutex_unlock(&s->mtx);
	event_base_loop(s->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
	pthread_mutex_lock(&s->mtx);
	s->leader = false;
	s->unled_since = mono_ns();
}

/* Take the next queued request and run it; mtx held. */
static void
worker_run(struct worker *w)
{
	courier_server		*s = w->server;
	struct courier_request	*req, *next;
	pthread_cond_t		*cv;
	bool			 hold;

	req = courier_srv_take(s);
	/* The next request is likely this thread's too: gather the answers. */
	next = TAILQ_FIRST(&s->queue);
	hold = next != NULL && next->conn == req->conn;
	s->nbusy++;
	s->ntaken++;
	w->running = req->method->name;
	cv = server_watch(s, false);
	pthread_mutex_unlock(&s->mtx);
	if (cv != NULL)
		pthread_cond_signal(cv);
	current_worker = w;
	courier_req_run(req, &w->scratch, &w->arena, hold);
	current_worker = NULL;
	pthread_mutex_lock(&s->mtx);
	w->running = NULL;
	if (--s->nbusy == 0)
		pthread_cond_broadcast(&s->drained);
}

/*
 * A pool thread's life, mtx held. With the server's own base: leader and
 * followers, the leader handing the loop over lazily (see server_watch);
 * with the caller's base, a thread runs what the loop queues. Until the
 * server is freed, or for the lent thread, until its fds are readable.
 */
static void
worker_loop(struct worker *w)
{
	courier_server	*s = w->server;
	bool		 lead = false;

	for (;;) {
		if (s->exiting || (w->lent && s->lent_leave))
			return;
		if (s->own_base && !s->leader && (lead || s->lead_asked)) {
			lead = false;
			worker_lead(s);
			continue;
		}
		lead = false;
		if (!TAILQ_EMPTY(&s->queue) && s->nbusy < s->nworkers) {
			worker_run(w);
			continue;
		}
		if (s->own_base && !s->leader) {
			worker_lead(s);
			continue;
		}
		if (s->own_base && !s->watching) {
			lead = server_keep_watch(s, w);
			continue;
		}
		s->nidle++;
		pthread_cond_wait(&s->cv, &s->mtx);
		s->nidle--;
		if (s->nsignalled > 0)
			s->nsignalled--;
	}
}

/* A pool thread the server started. */
static void *
server_worker(void *arg)
{
	struct worker	*w = arg;
	courier_server	*s = w->server;
	bool		 last;

	pthread_mutex_lock(&s->mtx);
	s->nstarting--;
	worker_loop(w);
	/* Left running by courier_server_free: the last one out frees. */
	last = w->abandoned && --s->nabandoned == 0 && s->handed_over;
	pthread_mutex_unlock(&s->mtx);
	if (last)
		courier_srv_destroy(s);
	return (NULL);
}

/* One of the lent thread's fds is readable: it is to return. */
static void
server_lend_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_server	*s = arg;

	pthread_mutex_lock(&s->mtx);
	s->lent_leave = true;
	pthread_mutex_unlock(&s->mtx);
	pthread_cond_broadcast(&s->cv);
	pthread_cond_broadcast(&s->watch_cv);
}

/* See courier-internal.h. */
void
courier_srv_will_lend(courier_server *s)
{
	s->lend = true;
}

/*
 * Lend the calling thread to a server started after courier_srv_will_lend(),
 * as the pool thread of slot 0, until one of fds is readable. A node that
 * only serves thus needs no thread of the server's own until a call needs
 * one: a thread fewer to start, and to wake and join at the stop.
 */
void
courier_srv_lend(courier_server *s, const int *fds, int nfds)
{
	struct event	*ev[LEND_FDS_MAX];
	struct worker	*w = &s->workers[0];
	bool		 wake = false;
	int		 i;

	if (!s->lend || nfds > LEND_FDS_MAX)
		fatalx("courier_srv_lend without courier_srv_will_lend");
	pthread_mutex_lock(&s->mtx);
	s->lent_leave = false;	/* before the events, which set it */
	pthread_mutex_unlock(&s->mtx);
	for (i = 0; i < nfds; i++) {
		if ((ev[i] = event_new(s->base, fds[i], EV_READ,
		    server_lend_cb, s)) == NULL)
			fatalx("event_new failed");
		event_add(ev[i], NULL);
	}
	pthread_mutex_lock(&s->mtx);
	worker_loop(w);
	/* What is in flight needs a thread to lead in this one's place. */
	if (s->ninflight > 0 && !s->exiting)
		wake = courier_srv_wake_one(s);
	pthread_mutex_unlock(&s->mtx);
	if (wake)
		pthread_cond_signal(&s->cv);
	for (i = 0; i < nfds; i++)
		event_free(ev[i]);	/* waits for a running callback */
}
