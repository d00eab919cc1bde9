/*
 * courier-future.c: calls and their futures: submit (write at once, or
 * keep until connected), wait (taking the reader's role when it is free),
 * callbacks, poll, cancel, and the synchronous calls over them.
 */
#include "courier-client.h"

static const char own_loop_why[] = "a wait on the client's own event "
    "loop would stop the loop that reads the reply: use courier_future_then";

/* Whether this thread runs the client's loop, where nothing may wait. */
static bool
on_own_loop(courier_client *c)
{
	return (c->base != NULL && c->loop_seen &&
	    pthread_equal(c->loop_thread, pthread_self()));
}

/*
 * Wait for f until limit, reading or connecting for everyone meanwhile if
 * those roles are free; mtx held.
 */
static void
future_wait_locked(courier_future *f, int64_t limit, courier_future **done)
{
	courier_client	*c = f->client;
	struct waiter	 w;
	int64_t		 until;
	bool		 cv_ready = false, may_block = true;

	if (f->nwaiters++ == 0 && f->state != FUTURE_DONE && f->watched)
		c->nunwaited--;

	w.f = f;
	w.signalled = false;
	if (f->state != FUTURE_DONE)
		courier_srv_blocking(limit);
	while (f->state != FUTURE_DONE) {
		until = f->deadline < limit ? f->deadline : limit;
		if (mono_ns() >= until) {
			if (f->deadline <= limit)
				courier_cl_expire_calls(c, done);
			break;
		}
		if (c->base == NULL && !c->reading && !c->connecting &&
		    c->fd == -1 && !TAILQ_EMPTY(&c->unsent)) {
			courier_cl_connect(c, until, done);
			continue;
		}
		if (c->base == NULL && !c->reading && !c->connecting &&
		    c->fd != -1) {
			c->reading = true;
			courier_cl_read(c, until, &may_block, done);
			c->reading = false;
			continue;
		}
		if (!cv_ready) {
			courier_cond_init(&w.cv);
			cv_ready = true;
		}
		w.signalled = false;
		TAILQ_INSERT_TAIL(&c->waiters, &w, entry);
		courier_cond_wait(&w.cv, &c->mtx, until);
		TAILQ_REMOVE(&c->waiters, &w, entry);
	}
	if (cv_ready)
		pthread_cond_destroy(&w.cv);
	if (--f->nwaiters == 0 && f->state != FUTURE_DONE && f->watched)
		c->nunwaited++;
	courier_cl_kick(c);
}

/*
 * Somebody watches f without waiting (a callback, a poll): from now on the
 * helper reads for it while nobody waits; mtx held.
 */
static void
future_watch_locked(courier_future *f)
{
	courier_client	*c = f->client;

	if (f->watched)
		return;
	f->watched = true;
	if (f->state != FUTURE_DONE && f->nwaiters == 0) {
		c->nunwaited++;
		courier_cl_kick(c);
	}
}

/* A new future for a call, with its reference for the pending tables. */
static courier_future *
future_new(courier_client *c, const char *method, courier_value *args,
    courier_value *kwargs, int timeout_ms)
{
	courier_future	*f;
	size_t		 mlen = method != NULL ? strlen(method) + 1 : 0;

	/* The method's name lives after the future: one allocation. */
	f = xcalloc(1, sizeof *f + mlen);
	f->client = c;
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	atomic_init(&f->refs, 2);		/* the user's, the pending */
	if (method != NULL) {
		f->method = (char *)(f + 1);
		memcpy(f->method, method, mlen);
	}
	f->args = args;
	f->kwargs = kwargs;
	f->deadline = courier_deadline(timeout_ms);
	f->state = FUTURE_UNSENT;
	return (f);
}

/*
 * Start call f: write it now if connected, or keep it for the connection.
 * waited says a thread will wait for it at once (no helper needed).
 */
static void
future_submit(courier_future *f, bool waited)
{
	courier_client		*c = f->client;
	struct courier_buf	 b = { 0 };
	courier_future		*done = NULL;
	courier_value		*args, *kwargs;
	uint8_t			 stackbuf[1024];
	char			*cause = NULL;
	const char		*why = NULL;
	uint64_t		 gen;

	/* Check the arguments before they go anywhere. */
	if (!f->list_methods && f->args == NULL)
		why = "the argument list is NULL: did a value constructor "
		    "fail? (for no arguments, pass courier_list_new())";
	else if (!f->list_methods && courier_value_type(f->args) !=
	    COURIER_LIST)
		why = "the arguments must be a list (courier_args())";
	else if (!f->list_methods && f->kwargs != NULL &&
	    courier_value_type(f->kwargs) != COURIER_DICT)
		why = "the keyword arguments must be a dict";
	else if (!f->list_methods && (f->method == NULL || !courier_utf8_valid(
	    f->method, strlen(f->method))))
		why = "the method name must be UTF-8 text";

	pthread_mutex_lock(&c->mtx);
	f->id = c->next_id++;
	TAILQ_INSERT_TAIL(&c->unsent, f, entry);
	/* A waited call is counted as such at once: the helper leaves it. */
	if (waited)
		f->nwaiters = 1;
	if (why != NULL) {
		courier_cl_future_complete(f, NULL, courier_error_new(
		    COURIER_INVALID_ARGUMENT, "%s", why), &done);
		goto out;
	}
	if (c->cancelled != NULL || c->closed) {
		courier_cl_future_complete(f, NULL, courier_error_new(COURIER_CANCELLED,
		    "%s: %s", c->address, c->closed ? "the client is closed" :
		    courier_error_message(c->cancelled)), &done);
		goto out;
	}
	if (c->fd == -1) {
		/* Kept for the connection: a waiter, the helper or the loop
		 * makes it. */
		if (!waited || c->base != NULL)
			courier_cl_kick(c);
		goto out;
	}

	/* Connected: pack outside the lock, then write. */
	TAILQ_REMOVE(&c->unsent, f, entry);
	f->state = FUTURE_SENT;
	f->gen = gen = c->gen;
	TAILQ_INSERT_TAIL(&c->sent, f, entry);
	courier_cl_table_add(c, f);
	args = f->args;
	kwargs = f->kwargs;
	f->args = f->kwargs = NULL;
	/* On a loop, which always reads, only a nearer deadline is news. */
	if (c->base != NULL ? f->deadline < c->timer_at : !waited)
		courier_cl_kick(c);
	pthread_mutex_unlock(&c->mtx);

	b.data = stackbuf;
	b.cap = sizeof stackbuf;
	b.borrowed = true;
	if (courier_cl_future_pack(c, f, args, kwargs, &b, &cause) == 0)
		courier_cl_send(c, gen, &b);
	courier_buf_free(&b);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	if (cause == NULL)
		return;

	pthread_mutex_lock(&c->mtx);
	if (f->state != FUTURE_DONE)
		courier_cl_future_complete(f, NULL, courier_error_new(
		    COURIER_RESOURCE_EXHAUSTED, "%s", cause), &done);
	free(cause);
out:
	pthread_mutex_unlock(&c->mtx);
	courier_cl_run_callbacks(done);
}

/* Start a call; see courier.h. */
courier_future *
courier_call_async_kw(courier_client *c, const char *method,
    courier_value *args, courier_value *kwargs, int timeout_ms)
{
	courier_future	*f;

	if (kwargs == NULL)
		kwargs = courier_dict_new();
	f = future_new(c, method, args, kwargs, timeout_ms);
	future_submit(f, false);
	return (f);
}

/* Start a call with the client's default timeout. */
courier_future *
courier_call_async(courier_client *c, const char *method, courier_value *args)
{
	int	 timeout_ms;

	pthread_mutex_lock(&c->mtx);
	timeout_ms = c->timeout_ms;
	pthread_mutex_unlock(&c->mtx);
	return (courier_call_async_kw(c, method, args, NULL, timeout_ms));
}

/* The result of a done future: a new reference, or NULL and *err. */
static courier_value *
future_result(courier_future *f, courier_error **err)
{
	if (f->error != NULL) {
		if (err != NULL && *err == NULL)
			*err = courier_error_copy(f->error);
		return (NULL);
	}
	return (courier_value_ref(f->result));
}

/* Run a call synchronously: submit, wait, and take the result. */
static courier_value *
call_sync(courier_client *c, courier_future *f, courier_error **err)
{
	courier_future	*done = NULL;
	courier_value	*v;

	future_submit(f, true);
	pthread_mutex_lock(&c->mtx);
	if (f->state != FUTURE_DONE && on_own_loop(c)) {
		courier_cl_future_complete(f, NULL, courier_error_new(
		    COURIER_FAILED_PRECONDITION, "%s", own_loop_why), &done);
	}
	if (f->state != FUTURE_DONE) {
		/* future_submit counted this thread as waiting already. */
		f->nwaiters--;
		future_wait_locked(f, DEADLINE_NONE, &done);
	}
	pthread_mutex_unlock(&c->mtx);
	courier_cl_run_callbacks(done);
	v = future_result(f, err);
	courier_future_free(f);
	return (v);
}

/* Call and wait; see courier.h. */
courier_value *
courier_call_kw(courier_client *c, const char *method, courier_value *args,
    courier_value *kwargs, int timeout_ms, courier_error **err)
{
	if (kwargs == NULL)
		kwargs = courier_dict_new();
	return (call_sync(c, future_new(c, method, args, kwargs, timeout_ms),
	    err));
}

/* Call and wait with the client's default timeout. */
courier_value *
courier_call(courier_client *c, const char *method, courier_value *args,
    courier_error **err)
{
	int	 timeout_ms;

	pthread_mutex_lock(&c->mtx);
	timeout_ms = c->timeout_ms;
	pthread_mutex_unlock(&c->mtx);
	return (courier_call_kw(c, method, args, NULL, timeout_ms, err));
}

/* List the server's methods. */
courier_value *
courier_list_methods(courier_client *c, int timeout_ms, courier_error **err)
{
	courier_future	*f;

	f = future_new(c, NULL, NULL, NULL, timeout_ms);
	f->list_methods = true;
	return (call_sync(c, f, err));
}

/* End every call, now and later, with CANCELLED and why. */
void
courier_client_cancel(courier_client *c, const char *why)
{
	courier_future	*done = NULL;

	pthread_mutex_lock(&c->mtx);
	courier_cl_cancel_all(c, why, &done);
	pthread_mutex_unlock(&c->mtx);
	courier_cl_wake(c);		/* a reader in a poll learns it now */
	courier_cl_run_callbacks(done);
}

/* Start a ListMethods; see courier.h. */
courier_future *
courier_list_methods_async(courier_client *c, int timeout_ms)
{
	courier_future	*f;

	f = future_new(c, NULL, NULL, NULL, timeout_ms);
	f->list_methods = true;
	future_submit(f, false);
	return (f);
}

/* Wait for a future; see courier.h. */
courier_value *
courier_future_wait(courier_future *f, int timeout_ms, courier_error **err)
{
	courier_client	*c = f->client;
	courier_future	*done = NULL;
	bool		 finished;

	pthread_mutex_lock(&c->mtx);
	if (f->state != FUTURE_DONE && on_own_loop(c)) {
		pthread_mutex_unlock(&c->mtx);
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "%s",
		    own_loop_why);
		return (NULL);
	}
	if (f->state != FUTURE_DONE)
		future_wait_locked(f, courier_deadline(timeout_ms), &done);
	finished = f->state == FUTURE_DONE;
	pthread_mutex_unlock(&c->mtx);
	courier_cl_run_callbacks(done);
	if (!finished) {
		courier_error_set(err, COURIER_DEADLINE_EXCEEDED, "%s: the "
		    "wait timed out after %d ms; the call is still pending",
		    c->address, timeout_ms);
		return (NULL);
	}
	return (future_result(f, err));
}

/* Whether the call has ended. */
bool
courier_future_done(courier_future *f)
{
	courier_client	*c = f->client;
	bool		 done;

	pthread_mutex_lock(&c->mtx);
	if (!(done = f->state == FUTURE_DONE))
		future_watch_locked(f);	/* it is being polled: read for it */
	pthread_mutex_unlock(&c->mtx);
	return (done);
}

/* Set the callback. */
void
courier_future_then(courier_future *f, void (*fn)(courier_future *, void *),
    void *arg)
{
	courier_client	*c = f->client;
	bool		 now;

	pthread_mutex_lock(&c->mtx);
	if (f->cb != NULL)
		fatalx("courier_future_then: the future has a callback");
	now = f->state == FUTURE_DONE;
	if (!now) {
		f->cb = fn;
		f->cb_arg = arg;
		future_watch_locked(f);
	}
	pthread_mutex_unlock(&c->mtx);
	if (now)
		fn(f, arg);
}

/* Cancel a pending call. */
void
courier_future_cancel(courier_future *f)
{
	courier_client	*c = f->client;
	courier_future	*done = NULL;

	pthread_mutex_lock(&c->mtx);
	if (f->state != FUTURE_DONE)
		courier_cl_future_complete(f, NULL, courier_error_new(COURIER_CANCELLED,
		    "%s: the call was cancelled", c->address), &done);
	pthread_mutex_unlock(&c->mtx);
	courier_cl_run_callbacks(done);
}

/* Drop a reference to a future; the last frees it. */
void
courier_cl_future_unref(courier_future *f)
{
	courier_client	*c = f->client;

	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	courier_value_unref(f->args);
	courier_value_unref(f->kwargs);
	courier_value_unref(f->result);
	courier_error_free(f->error);
	free(f);
	courier_cl_unref(c);
}

/* Free a future, cancelling its call if pending. */
void
courier_future_free(courier_future *f)
{
	if (f == NULL)
		return;
	courier_future_cancel(f);
	courier_cl_future_unref(f);
}
