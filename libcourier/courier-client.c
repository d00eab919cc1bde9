/*
 * courier-client.c: the courier client: its connection, the roles its
 * threads take, reading and writing. Connecting is
 * courier-client-connect.c's, calls and their futures courier-future.c's,
 * the client on a caller's loop courier-client-loop.c's; courier-client.h
 * is what they share.
 *
 * One client has one connection, shared by every thread that calls through
 * it, with many calls in flight and replies matched by call id.
 *
 * Writing. The calling thread packs its own request and writes it on the
 * socket under a short lock; no thread hand-off. What the socket does not
 * take waits in an output buffer, flushed in order by whoever reads.
 *
 * Reading. There is no I/O thread in the way of a call. The reader role is
 * a token: a thread that waits for a call's result takes it if it is free,
 * polls the socket itself and reads whatever replies come, completing other
 * threads' calls on the way and waking them. Where nothing else can need
 * it meanwhile, it blocks in recv rather than poll (RECV_TICK_MS in
 * courier-client.h). A synchronous call therefore costs one write and one
 * read, like a plain ping-pong. When the reader is done it passes the role
 * to another waiting thread.
 *
 * Calls that somebody watches but nobody waits for (a future with a
 * callback, or one polled with courier_future_done) are read by a helper
 * thread, started on first need, which holds the role only while no
 * waiting thread wants it. It also connects for calls not yet sent, so
 * that an asynchronous call starts at once and never blocks. A future
 * that is only ever waited for needs no helper: its reply waits in the
 * socket until the wait reads it, so a window of futures costs no thread
 * hand-off either.
 *
 * Connecting is lazy. A call that finds no connection is kept, unpacked,
 * until one is made, then packed with the time it has left. With
 * wait_for_ready, connecting is retried with backoff until the call's
 * deadline. A lost connection fails every call in flight with UNAVAILABLE at
 * once; the next call reconnects.
 *
 * On the caller's event loop (courier_client_set_base), the loop plays
 * every role: it connects without blocking, owns the reader role while
 * connected (read event), flushes what the socket did not take, and ends
 * calls at their deadlines (a timer at the earliest). Other threads still
 * call and wait, and are woken as usual; callbacks run on the loop. No
 * thread is started. Events are added from any thread (libevent locks for
 * threads), but deleted only on the loop, never under mtx.
 *
 * Locks: mtx guards the call tables and roles; wmtx guards the socket's
 * writing side. mtx may be held when taking wmtx, never the reverse.
 */
#include "courier-client.h"

static void	*helper_main(void *);

/* A new client; nothing is connected yet. */
courier_client *
courier_client_new(const char *address, char **cause)
{
	courier_client	*c;

	c = xcalloc(1, sizeof *c);
	if (courier_addr_parse(address, &c->addr, cause) != 0) {
		free(c);
		return (NULL);
	}
	if ((c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		set_cause(cause, "eventfd: %s", strerror(errno));
		courier_addr_clear(&c->addr);
		free(c);
		return (NULL);
	}
	c->address = xstrdup(address);
	atomic_init(&c->refs, 1);
	c->timeout_ms = COURIER_FOREVER;
	c->wait_for_ready = true;
	c->max_frame = COURIER_MAX_FRAME_DEFAULT;
	c->cancel_fd = -1;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_mutex_init(&c->wmtx, NULL);
	courier_cond_init(&c->helper_cv);
	c->fd = -1;
	/* The client's own calls size these: a run of big ones keeps them. */
	c->in.keep_big = c->out.keep_big = true;
	c->next_id = 1;
	c->seed = (unsigned)(uintptr_t)c ^ (unsigned)mono_ns();
	TAILQ_INIT(&c->unsent);
	TAILQ_INIT(&c->sent);
	TAILQ_INIT(&c->waiters);
	c->tablesize = 64;
	c->table = xcalloc(c->tablesize, sizeof *c->table);
	courier_arena_init(&c->arena);
	return (c);
}

/* The client's address. */
const char *
courier_client_address(const courier_client *c)
{
	return (c->address);
}

/* Set the default per-call timeout. */
void
courier_client_set_timeout(courier_client *c, int timeout_ms)
{
	pthread_mutex_lock(&c->mtx);
	c->timeout_ms = timeout_ms < 0 ? COURIER_FOREVER : timeout_ms;
	pthread_mutex_unlock(&c->mtx);
}

/* Set whether calls wait for the server to come up. */
void
courier_client_set_wait_for_ready(courier_client *c, bool on)
{
	pthread_mutex_lock(&c->mtx);
	c->wait_for_ready = on;
	pthread_mutex_unlock(&c->mtx);
}

/* Set the frame size limit. */
void
courier_client_set_max_frame(courier_client *c, size_t n)
{
	pthread_mutex_lock(&c->mtx);
	if (n >= 64 && n <= UINT32_MAX)
		c->max_frame = n;
	pthread_mutex_unlock(&c->mtx);
}

/* Cancel everything once fd is readable. */
void
courier_client_set_cancel_fd(courier_client *c, int fd)
{
	pthread_mutex_lock(&c->mtx);
	c->cancel_fd = fd;
	pthread_mutex_unlock(&c->mtx);
	if (c->base != NULL && fd >= 0) {
		if (c->cancel_ev != NULL)
			event_free(c->cancel_ev);
		c->cancel_ev = event_new(c->base, fd, EV_READ, courier_cl_loop_cancel_cb,
		    c);
		if (c->cancel_ev == NULL)
			fatalx("event_new failed");
		event_add(c->cancel_ev, NULL);
	}
}

/* Drop a reference to the client; the last frees it. */
void
courier_cl_unref(courier_client *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	courier_addr_clear(&c->addr);
	if (c->wake_fd != -1)
		close(c->wake_fd);
	free(c->address);
	free(c->table);
	free(c->connect_error);
	courier_error_free(c->cancelled);
	courier_error_free(c->conn_error);
	courier_buf_free(&c->in);
	courier_buf_free(&c->out);
	courier_arena_free(&c->arena);
	pthread_cond_destroy(&c->helper_cv);
	pthread_mutex_destroy(&c->mtx);
	pthread_mutex_destroy(&c->wmtx);
	free(c);
}

/* Wake the helper thread, starting it if need be; mtx held. */
static void
helper_kick(courier_client *c)
{
	sigset_t	 all, old;
	int		 error;

	if (!c->helper_started) {
		if (c->closed)
			return;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		error = pthread_create(&c->helper, NULL, helper_main, c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (error != 0) {
			errno = error;
			fatal("pthread_create");
		}
		c->helper_started = true;
		return;
	}
	if (c->helper_waiting) {
		c->helper_waiting = false;
		pthread_cond_signal(&c->helper_cv);
	}
}

/* Interrupt the poll of whoever reads or connects (on a loop: run it). */
void
courier_cl_wake(courier_client *c)
{
	uint64_t	 one = 1;

	if (c->base != NULL) {
		event_active(c->kick_ev, EV_TIMEOUT, 0);
		return;
	}
	/* An eventfd does not fill up; only a signal interrupts it. */
	while (write(c->wake_fd, &one, sizeof one) == -1 && errno == EINTR)
		continue;
}

/* Take the wake-up, once seen. */
void
courier_cl_woken(courier_client *c)
{
	uint64_t	 n;

	/* EAGAIN: another thread took it first. */
	while (read(c->wake_fd, &n, sizeof n) == -1 && errno == EINTR)
		continue;
}

/*
 * After the roles may have come free: hand the reader (or connector) role
 * to a waiting thread, or to the helper if only futures nobody waits for
 * are pending; mtx held.
 */
void
courier_cl_kick(courier_client *c)
{
	struct waiter	*w;

	if (c->base != NULL) {
		/* The loop takes every role. */
		event_active(c->kick_ev, EV_TIMEOUT, 0);
		return;
	}
	if (c->reading || c->connecting)
		return;
	TAILQ_FOREACH(w, &c->waiters, entry) {
		if (!w->signalled) {
			w->signalled = true;
			pthread_cond_signal(&w->cv);
			return;
		}
		/* One is on its way already. */
		return;
	}
	if (c->nunwaited > 0 || (c->fd == -1 && !TAILQ_EMPTY(&c->unsent)))
		helper_kick(c);
}

/* The bucket of id in the table of sent calls. */
static courier_future **
table_slot(courier_client *c, uint64_t id)
{
	return (&c->table[id & (c->tablesize - 1)]);
}

/* Add a sent call to the table, growing it as calls pile up; mtx held. */
void
courier_cl_table_add(courier_client *c, courier_future *f)
{
	courier_future	**old, *g, *next, **slot;
	size_t		  i, oldsize;

	if (c->nsent >= 2 * c->tablesize) {
		old = c->table;
		oldsize = c->tablesize;
		c->tablesize *= 4;
		c->table = xcalloc(c->tablesize, sizeof *c->table);
		for (i = 0; i < oldsize; i++) {
			for (g = old[i]; g != NULL; g = next) {
				next = g->hnext;
				slot = table_slot(c, g->id);
				g->hnext = *slot;
				*slot = g;
			}
		}
		free(old);
	}
	slot = table_slot(c, f->id);
	f->hnext = *slot;
	*slot = f;
	c->nsent++;
}

/* Find a sent call by id; NULL if unknown (cancelled, timed out). */
static courier_future *
table_find(courier_client *c, uint64_t id)
{
	courier_future	*f;

	for (f = *table_slot(c, id); f != NULL; f = f->hnext) {
		if (f->id == id)
			return (f);
	}
	return (NULL);
}

/* Remove a sent call from the table. */
static void
table_remove(courier_client *c, courier_future *f)
{
	courier_future	**pp;

	for (pp = table_slot(c, f->id); *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			c->nsent--;
			return;
		}
	}
	fatalx("table_remove: call %llu not found", (unsigned long long)f->id);
}

/*
 * End a pending call with v or err (both taken); mtx held. Its callback,
 * if any, is put on *done to be run once the lock is dropped.
 */
void
courier_cl_future_complete(courier_future *f, courier_value *v, courier_error *err,
    courier_future **done)
{
	courier_client	*c = f->client;
	struct waiter	*w;

	if (f->state == FUTURE_DONE)
		fatalx("courier_cl_future_complete: call completed twice");
	if (f->state == FUTURE_SENT) {
		table_remove(c, f);
		TAILQ_REMOVE(&c->sent, f, entry);
	} else
		TAILQ_REMOVE(&c->unsent, f, entry);
	if (f->nwaiters == 0 && f->watched)
		c->nunwaited--;
	f->state = FUTURE_DONE;
	f->result = v;
	f->error = err;
	courier_value_unref(f->args);
	courier_value_unref(f->kwargs);
	f->args = f->kwargs = NULL;

	TAILQ_FOREACH(w, &c->waiters, entry) {
		if (w->f == f) {
			w->signalled = true;
			pthread_cond_signal(&w->cv);
		}
	}
	/* The pending reference goes to the callback, or is dropped. */
	if (f->cb != NULL) {
		f->done_next = *done;
		*done = f;
	} else
		courier_cl_future_unref(f);
}

/* Run the callbacks of calls that ended; mtx not held. */
void
courier_cl_run_callbacks(courier_future *done)
{
	courier_future	*f, *next;

	for (f = done; f != NULL; f = next) {
		next = f->done_next;
		f->cb(f, f->cb_arg);
		courier_cl_future_unref(f);
	}
}

/* End every pending call with code and message; mtx held. */
void
courier_cl_fail_all(courier_client *c, bool sent_only, enum courier_code code,
    const char *msg, courier_future **done)
{
	courier_future	*f;

	while ((f = TAILQ_FIRST(&c->sent)) != NULL)
		courier_cl_future_complete(f, NULL,
		    courier_error_new(code, "%s", msg), done);
	if (sent_only)
		return;
	while ((f = TAILQ_FIRST(&c->unsent)) != NULL)
		courier_cl_future_complete(f, NULL,
		    courier_error_new(code, "%s", msg), done);
}

/*
 * Drop the connection: close the socket and fail the calls sent on it;
 * mtx held. code and why say what happened, for the calls' errors.
 */
static void
client_disconnect(courier_client *c, enum courier_code code, const char *why,
    courier_future **done)
{
	char	*msg;

	/* On a loop, only the loop reads, so this runs there. */
	if (c->read_ev != NULL) {
		event_free(c->read_ev);
		c->read_ev = NULL;
		c->reading = false;
	}
	if (c->write_ev != NULL) {
		event_free(c->write_ev);
		c->write_ev = NULL;
	}
	pthread_mutex_lock(&c->wmtx);
	if (c->fd != -1) {
		shutdown(c->fd, SHUT_RDWR);
		close(c->fd);
		c->fd = -1;
	}
	c->gen++;
	courier_buf_clear(&c->out);
	courier_buf_compact(&c->out);
	pthread_mutex_unlock(&c->wmtx);
	courier_buf_clear(&c->in);
	courier_buf_compact(&c->in);
	c->need = 0;

	if (c->conn_error != NULL) {
		code = courier_error_code(c->conn_error);
		xasprintf(&msg, "%s: %s", c->address,
		    courier_error_message(c->conn_error));
		courier_error_free(c->conn_error);
		c->conn_error = NULL;
	} else
		xasprintf(&msg, "%s: %s", c->address, why);
	courier_cl_fail_all(c, true, code, msg, done);
	free(msg);
}

/*
 * Pack the frame of call f, with arguments args and kwargs, into b; -1 with
 * *cause if it cannot be.
 */
int
courier_cl_future_pack(courier_client *c, courier_future *f,
    const courier_value *argv, const courier_value *kwargv,
    struct courier_buf *b, char **cause)
{
	Courier__Frame			 fr = COURIER__FRAME__INIT;
	Courier__ListMethodsRequest	 lm = COURIER__LIST_METHODS_REQUEST__INIT;
	struct courier_wire_size	 sz;
	int64_t				 left, timeout_us = 0;

	if (f->list_methods) {
		fr.call_id = f->id;
		fr.body_case = COURIER__FRAME__BODY_LIST_METHODS;
		fr.list_methods = &lm;
		courier_frame_pack(b, &fr);
		return (0);
	}
	if (f->deadline != DEADLINE_NONE) {
		left = (f->deadline - mono_ns()) / 1000;
		timeout_us = left > 0 ? left : 1;
	}
	courier_wire_call_size(f->id, f->method, argv, kwargv, timeout_us,
	    &sz);
	if (sz.frame > c->max_frame) {
		set_cause(cause, "the call's frame of %zu bytes is over the "
		    "limit of %zu bytes", sz.frame, c->max_frame);
		return (-1);
	}
	courier_wire_pack_call(b, f->id, f->method, argv, kwargv, timeout_us,
	    &sz);
	return (0);
}

/* Write what waits in c->out; wmtx held. -1 if the socket failed. */
int
courier_cl_flush_locked(courier_client *c)
{
	return (courier_buf_flush(&c->out, c->fd) == -1 ? -1 : 0);
}

/*
 * Write packed frames of connection gen: straight to the socket if nothing
 * waits before them, else behind. The reader polls for the rest. A write
 * error is left for the reader to see as the connection's end.
 */
void
courier_cl_send(courier_client *c, uint64_t gen, struct courier_buf *b)
{
	bool	 backlog;

	pthread_mutex_lock(&c->wmtx);
	if (c->fd == -1 || c->gen != gen)
		goto out;	/* the connection is gone; the call failed */
	if (courier_buf_used(&c->out) == 0 &&
	    courier_buf_flush(b, c->fd) == -1) {
		shutdown(c->fd, SHUT_RDWR);	/* the reader ends it */
		goto out;
	}
	if (courier_buf_used(b) != 0) {
		backlog = courier_buf_used(&c->out) != 0;
		courier_buf_move(&c->out, b);
		/* The reader may be polling without POLLOUT: tell it. */
		if (!backlog)
			courier_cl_wake(c);
	}
out:
	pthread_mutex_unlock(&c->wmtx);
	courier_buf_clear(b);
}

/* The earliest deadline of a pending call; mtx held. */
int64_t
courier_cl_earliest_deadline(courier_client *c)
{
	courier_future	*f;
	int64_t		 d = DEADLINE_NONE;

	TAILQ_FOREACH(f, &c->sent, entry) {
		if (f->deadline < d)
			d = f->deadline;
	}
	TAILQ_FOREACH(f, &c->unsent, entry) {
		if (f->deadline < d)
			d = f->deadline;
	}
	return (d);
}

/* End the calls whose deadline has passed; mtx held. */
void
courier_cl_expire_calls(courier_client *c, courier_future **done)
{
	courier_future	*f, *next;
	int64_t		 now = mono_ns();

	TAILQ_FOREACH_SAFE(f, &c->sent, entry, next) {
		if (f->deadline <= now)
			courier_cl_future_complete(f, NULL, courier_error_new(
			    COURIER_DEADLINE_EXCEEDED, "%s: deadline exceeded "
			    "waiting for the reply", c->address), done);
	}
	TAILQ_FOREACH_SAFE(f, &c->unsent, entry, next) {
		if (f->deadline <= now)
			courier_cl_future_complete(f, NULL, courier_error_new(
			    COURIER_DEADLINE_EXCEEDED, "%s: deadline exceeded "
			    "before the server could be reached%s%s",
			    c->address, c->connect_error != NULL ? ": " : "",
			    c->connect_error != NULL ? c->connect_error : ""),
			    done);
	}
}

/*
 * Turn a frame from the server into a reply; returns 1 with *r filled for
 * a call's answer, 0 for a frame about the connection, -1 with *cause if
 * the frame breaks the protocol.
 */
static int
frame_reply(courier_client *c, const Courier__Frame *f, struct reply *r,
    char **cause)
{
	courier_value	*list;
	char		*why = NULL;
	size_t		 i;

	r->id = f->call_id;
	r->value = NULL;
	r->error = NULL;
	switch (f->body_case) {
	case COURIER__FRAME__BODY_HELLO:
		if (f->hello->protocol_version < 1) {
			set_cause(cause, "the server speaks protocol version "
			    "%u", f->hello->protocol_version);
			return (-1);
		}
		return (0);
	case COURIER__FRAME__BODY_ERROR:
		/* A peer's code outside the known range, or OK on an
		 * error frame, is not trusted as-is. */
		r->error = courier_error_new(f->error->code <= 0 ||
		    f->error->code > COURIER_UNAUTHENTICATED ? COURIER_UNKNOWN :
		    (enum courier_code)f->error->code, "%s",
		    f->error->message);
		if (f->call_id == 0) {
			/* The server is closing the connection: why. */
			pthread_mutex_lock(&c->mtx);
			courier_error_free(c->conn_error);
			c->conn_error = r->error;
			pthread_mutex_unlock(&c->mtx);
			r->error = NULL;
			return (0);
		}
		return (1);
	case COURIER__FRAME__BODY_RESULT:
		if (f->result->result == NULL ||
		    f->result->result->result == NULL) {
			r->value = courier_null();
			return (1);
		}
		if ((r->value = courier_value_from_pb(
		    f->result->result->result, &why)) == NULL) {
			r->error = courier_error_new(COURIER_INTERNAL, "the "
			    "result cannot be decoded: %s%s%s", "$", why[0] ==
			    '[' || why[0] == '.' ? "" : ": ", why);
			free(why);
		}
		return (1);
	case COURIER__FRAME__BODY_METHODS:
		list = courier_list_new();
		for (i = 0; i < f->methods->n_methods; i++) {
			courier_value	*s;

			if ((s = courier_string(f->methods->methods[i])) != NULL)
				courier_list_append(list, s);
		}
		r->value = list;
		return (1);
	default:
		set_cause(cause, "unexpected frame of kind %d from the server",
		    (int)f->body_case);
		return (-1);
	}
}

/*
 * A reply the call path decoded: a result is one (1, *r filled); a call
 * is not the server's to send (-1). 0 for a frame of protobuf-c's.
 */
static int
wire_reply(struct courier_frame *fr, struct reply *r, char **cause)
{
	switch (fr->kind) {
	case COURIER_FRAME_RESULT:
		r->id = fr->id;
		r->value = fr->value;
		r->error = NULL;
		return (1);
	case COURIER_FRAME_CALL:
		courier_value_unref(fr->args);
		courier_value_unref(fr->kwargs);
		set_cause(cause, "unexpected frame of kind %d from the server",
		    (int)COURIER__FRAME__BODY_CALL);
		return (-1);
	default:
		return (0);
	}
}

/*
 * The reader's poll, mtx not held: until fd is readable or limit passes,
 * flushing what waits to be written whenever the socket takes it. Sets
 * *cancelled if cancel_fd fired, *wcause if a write failed. True if fd is
 * to be read, after a failed write too: a server that refused us (a
 * limit, a bad frame) said why before it closed.
 */
static bool
reader_poll(courier_client *c, int fd, int cancel_fd, bool backlog,
    int64_t limit, bool *cancelled, char **wcause)
{
	struct pollfd	 pfd[3];
	int		 npfd, rv;

	pfd[0].fd = fd;
	pfd[0].events = POLLIN | (backlog ? POLLOUT : 0);
	pfd[0].revents = 0;
	pfd[1].fd = c->wake_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	pfd[2].fd = cancel_fd;
	pfd[2].events = POLLIN;
	pfd[2].revents = 0;
	npfd = cancel_fd >= 0 ? 3 : 2;
	rv = poll(pfd, (nfds_t)npfd, courier_poll_timeout(limit));
	if (rv <= 0)
		return (false);
	if (pfd[1].revents & POLLIN) {
		/* New output waits, or the client is closing. */
		courier_cl_woken(c);
		pfd[0].revents |= POLLOUT;
	}
	if (npfd == 3 && (pfd[2].revents & POLLIN))
		*cancelled = true;
	if (pfd[0].revents & POLLOUT) {
		pthread_mutex_lock(&c->wmtx);
		if (courier_cl_flush_locked(c) != 0)
			*wcause = xstrdup(strerror(errno));
		pthread_mutex_unlock(&c->wmtx);
	}
	return (*wcause != NULL ||
	    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)));
}

/*
 * Hold the reader role for one poll: read what comes until limit, match
 * replies to calls, flush what waits to be written, and end overdue calls.
 * mtx held on entry (with c->reading set by the caller) and on exit.
 *
 * A thread that waits for a call passes may_block (true at the start of
 * its wait): then, if no output waits, no cancel fd is watched and no
 * deadline falls within a tick, it blocks in recv instead of poll
 * (RECV_TICK_MS says why), and *may_block goes false once a tick passes
 * with nothing read.
 */
void
courier_cl_read(courier_client *c, int64_t limit, bool *may_block,
    courier_future **done)
{
	struct reply	 stack[64], *replies = stack, *r;
	struct courier_frame	 fr;
	courier_future	*f;
	size_t		 n = 0, cap = nitems(stack), i, used, want;
	size_t		 max_frame = c->max_frame;
	char		*cause = NULL, *wcause = NULL;
	ssize_t		 got;
	int		 fd = c->fd, cancel_fd = c->cancel_fd, rv;
	int64_t		 d;
	bool		 lost = false, cancelled = false, backlog, block;
	enum courier_code code = COURIER_UNAVAILABLE;

	if ((d = courier_cl_earliest_deadline(c)) < limit)
		limit = d;
	pthread_mutex_lock(&c->wmtx);
	backlog = courier_buf_used(&c->out) != 0;
	pthread_mutex_unlock(&c->wmtx);
	block = may_block != NULL && *may_block && c->fd_blocks && !backlog &&
	    cancel_fd < 0 && !c->closed && (limit == DEADLINE_NONE ||
	    limit - mono_ns() > (int64_t)RECV_TICK_MS * 1000000);
	c->in_recv = block;		/* courier_client_free interrupts it */
	pthread_mutex_unlock(&c->mtx);

	/* A blocking recv waits itself; else poll first. */
	if (block || reader_poll(c, fd, cancel_fd, backlog, limit, &cancelled,
	    &wcause)) {
		used = courier_buf_used(&c->in);
		want = c->need > used ? c->need - used : 0;
		got = block ? courier_buf_read(&c->in, fd, want) :
		    courier_buf_read_now(&c->in, fd, want);
		if (block && got < 0 && errno == EAGAIN)
			*may_block = false;	/* a tick passed */
		if (got == 0) {
			lost = true;
			cause = xstrdup("the server closed the connection");
		} else if (got < 0 && errno != EAGAIN && errno != EINTR) {
			lost = true;
			cause = xstrdup(strerror(errno));
		}
		while (!lost) {
			rv = courier_frame_take(&c->in, max_frame, &c->arena,
			    &fr, &c->need, &cause);
			if (rv == 0)
				break;
			if (rv < 0) {
				lost = true;
				code = rv == FRAME_TOO_BIG ?
				    COURIER_RESOURCE_EXHAUSTED :
				    COURIER_INTERNAL;
				break;
			}
			if (n == cap) {
				cap *= 2;
				if (replies == stack) {
					replies = xreallocarray(NULL, cap,
					    sizeof *replies);
					memcpy(replies, stack, sizeof stack);
				} else
					replies = xreallocarray(replies, cap,
					    sizeof *replies);
			}
			rv = wire_reply(&fr, &replies[n], &cause);
			if (fr.kind == COURIER_FRAME_PB)
				rv = frame_reply(c, fr.pb, &replies[n], &cause);
			courier_arena_reset(&c->arena);
			if (rv < 0) {
				lost = true;
				code = COURIER_INTERNAL;
				break;
			}
			n += (size_t)rv;
		}
		courier_buf_compact(&c->in);
	}
	if (wcause != NULL && !lost) {
		lost = true;
		cause = wcause;
	} else
		free(wcause);

	pthread_mutex_lock(&c->mtx);
	c->in_recv = false;
	for (i = 0; i < n; i++) {
		r = &replies[i];
		f = table_find(c, r->id);
		if (f == NULL || f->gen != c->gen) {
			/* Cancelled or timed out: the answer is dropped. */
			courier_value_unref(r->value);
			courier_error_free(r->error);
			continue;
		}
		courier_cl_future_complete(f, r->value, r->error, done);
	}
	if (replies != stack)
		free(replies);
	if (lost)
		client_disconnect(c, code, cause, done);
	free(cause);
	if (cancelled)
		courier_cl_cancel_all(c, "cancelled", done);
	courier_cl_expire_calls(c, done);
}

/* The helper: reads and connects for calls that no thread waits for. */
static void *
helper_main(void *arg)
{
	courier_client	*c = arg;
	courier_future	*done;

	pthread_mutex_lock(&c->mtx);
	while (!c->closed) {
		done = NULL;
		courier_cl_expire_calls(c, &done);
		if (done != NULL) {
			pthread_mutex_unlock(&c->mtx);
			courier_cl_run_callbacks(done);
			pthread_mutex_lock(&c->mtx);
			continue;
		}
		/*
		 * Connect for any call not sent yet (an asynchronous call
		 * starts at once, waited for or not); read only for watched
		 * calls, as a waiter reads for the others.
		 */
		if (c->reading || c->connecting || !TAILQ_EMPTY(&c->waiters) ||
		    (c->fd == -1 ? TAILQ_EMPTY(&c->unsent) : c->nunwaited == 0)) {
			c->helper_waiting = true;
			pthread_cond_wait(&c->helper_cv, &c->mtx);
			c->helper_waiting = false;
			continue;
		}
		if (c->fd == -1)
			courier_cl_connect(c, courier_cl_earliest_deadline(c), &done);
		else {
			c->reading = true;
			courier_cl_read(c, DEADLINE_NONE, NULL, &done);
			c->reading = false;
			courier_cl_kick(c);
		}
		if (done != NULL) {
			pthread_mutex_unlock(&c->mtx);
			courier_cl_run_callbacks(done);
			pthread_mutex_lock(&c->mtx);
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return (NULL);
}

/* Cancel everything, stop the helper, close, and drop the user's ref. */
void
courier_client_free(courier_client *c)
{
	courier_future	*done = NULL;
	bool		 helper;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	c->closed = true;
	courier_cl_fail_all(c, false, COURIER_CANCELLED, "the client was freed",
	    &done);
	/* Only a shutdown ends a recv that blocks; the socket goes anyway. */
	if (c->in_recv && c->fd != -1)
		shutdown(c->fd, SHUT_RDWR);
	if (c->base != NULL) {
		/* On the loop's thread (or with the loop stopped). */
		pthread_mutex_unlock(&c->mtx);
		courier_cl_run_callbacks(done);
		courier_cl_loop_free_events(c);
	} else {
		helper = c->helper_started;
		pthread_cond_signal(&c->helper_cv);
		pthread_mutex_unlock(&c->mtx);
		courier_cl_wake(c);	/* out of a poll or a backoff sleep */
		courier_cl_run_callbacks(done);
		if (helper)
			pthread_join(c->helper, NULL);
	}

	pthread_mutex_lock(&c->mtx);
	pthread_mutex_lock(&c->wmtx);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	pthread_mutex_unlock(&c->wmtx);
	pthread_mutex_unlock(&c->mtx);
	courier_cl_unref(c);
}
