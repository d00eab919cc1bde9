/*
 * courier-client.c: the courier client and its futures.
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
 * threads' calls on the way and waking them. A synchronous call therefore
 * costs one write and one read, like a plain ping-pong. When the reader is
 * done it passes the role to another waiting thread.
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
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "courier-internal.h"

/* Connection retry backoff with wait_for_ready. */
#define BACKOFF_FIRST_MS	5
#define BACKOFF_MAX_MS		1000

enum future_state {
	FUTURE_UNSENT,		/* waiting for a connection */
	FUTURE_SENT,		/* written (or being written), in the table */
	FUTURE_DONE,
};

struct courier_future {
	courier_client		*client;
	atomic_int		 refs;		/* the user's; pending; cb */
	uint64_t		 id;
	uint64_t		 gen;		/* connection it went out on */
	int64_t			 deadline;
	enum future_state	 state;
	bool			 list_methods;
	char			*method;
	courier_value		*args;		/* kept until packed */
	courier_value		*kwargs;
	unsigned		 nwaiters;
	bool			 watched;	/* a callback, or polled */
	courier_value		*result;
	courier_error		*error;
	void			(*cb)(courier_future *, void *);
	void			*cb_arg;
	struct courier_future	*hnext;		/* id hash chain */
	struct courier_future	*done_next;	/* callbacks to run */
	TAILQ_ENTRY(courier_future) entry;	/* unsent or sent list */
};
TAILQ_HEAD(future_list, courier_future);

/* A thread blocked in a wait. */
struct waiter {
	pthread_cond_t		 cv;
	courier_future		*f;
	bool			 signalled;
	TAILQ_ENTRY(waiter)	 entry;
};

/* A reply read off the socket, to be matched under the lock. */
struct reply {
	uint64_t		 id;
	courier_value		*value;
	courier_error		*error;
};

struct courier_client {
	char			*address;
	struct courier_addr	 addr;
	atomic_int		 refs;		/* the user's; each future's */

	int			 timeout_ms;
	bool			 wait_for_ready;
	size_t			 max_frame;
	int			 cancel_fd;
	int			 wake_fd;	/* interrupts a poll */

	pthread_mutex_t		 mtx;
	int			 fd;		/* also under wmtx */
	uint64_t		 gen;		/* also under wmtx */
	uint64_t		 next_id;
	bool			 reading;
	bool			 connecting;
	bool			 closed;	/* freed by the user */
	courier_error		*cancelled;	/* sticky: everything fails */
	courier_error		*conn_error;	/* the server's goodbye */
	char			*connect_error;	/* the last failure */
	unsigned		 backoff_ms;
	unsigned		 seed;
	struct future_list	 unsent;
	struct future_list	 sent;
	courier_future		**table;
	size_t			 tablesize;
	size_t			 nsent;
	size_t			 nunwaited;	/* pending and watched, nobody
						   waiting: the helper's */
	TAILQ_HEAD(, waiter)	 waiters;

	/* The reader's alone. */
	struct courier_buf	 in;
	size_t			 need;
	struct courier_arena	 arena;

	pthread_mutex_t		 wmtx;
	struct courier_buf	 out;

	bool			 helper_started;
	bool			 helper_waiting;
	pthread_t		 helper;
	pthread_cond_t		 helper_cv;

	/* On the caller's loop: its events (the loop's alone to delete). */
	struct event_base	*base;
	struct event		*kick_ev;	/* connect, flush, expire */
	struct event		*read_ev;	/* while connected */
	struct event		*write_ev;	/* while output waits */
	struct event		*connect_ev;	/* a connect in progress */
	struct event		*timer_ev;	/* deadlines, backoff */
	struct event		*cancel_ev;	/* the cancel fd */
	int			 connect_fd;	/* under connect_ev */
	int64_t			 timer_at;	/* what timer_ev is armed for */
	int64_t			 retry_at;	/* no connect before, backoff */
	pthread_t		 loop_thread;
	bool			 loop_seen;
};

static void	 future_unref(courier_future *);
static void	*helper_main(void *);
static void	 base_kick_cb(evutil_socket_t, short, void *);
static void	 base_timer_cb(evutil_socket_t, short, void *);
static void	 base_cancel_cb(evutil_socket_t, short, void *);

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
		c->cancel_ev = event_new(c->base, fd, EV_READ, base_cancel_cb,
		    c);
		if (c->cancel_ev == NULL)
			fatalx("event_new failed");
		event_add(c->cancel_ev, NULL);
	}
}

/* Do all I/O on base's loop, run by the caller. Before the first call. */
int
courier_client_set_base(courier_client *c, struct event_base *base)
{
	int	 fd;

	pthread_mutex_lock(&c->mtx);
	if (c->base != NULL || c->next_id != 1 || c->helper_started) {
		pthread_mutex_unlock(&c->mtx);
		return (-1);
	}
	c->base = base;
	c->timer_at = DEADLINE_NONE;
	c->connect_fd = -1;
	/* Most likely the loop's thread; the loop's callbacks say for sure. */
	c->loop_thread = pthread_self();
	c->loop_seen = true;
	/* The loop is woken by event_active: no poll needs the eventfd. */
	close(c->wake_fd);
	c->wake_fd = -1;
	fd = c->cancel_fd;
	pthread_mutex_unlock(&c->mtx);
	c->kick_ev = event_new(base, -1, 0, base_kick_cb, c);
	c->timer_ev = evtimer_new(base, base_timer_cb, c);
	if (c->kick_ev == NULL || c->timer_ev == NULL)
		fatalx("event_new failed");
	if (fd >= 0)
		courier_client_set_cancel_fd(c, fd);
	return (0);
}

/* Drop a reference to the client; the last frees it. */
static void
client_unref(courier_client *c)
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
static void
client_wake(courier_client *c)
{
	uint64_t	 one = 1;

	if (c->base != NULL) {
		event_active(c->kick_ev, EV_TIMEOUT, 0);
		return;
	}
	(void)write(c->wake_fd, &one, sizeof one);
}

/* Take the wake-up, once seen. */
static void
client_woken(courier_client *c)
{
	uint64_t	 n;

	(void)read(c->wake_fd, &n, sizeof n);
}

/*
 * After the roles may have come free: hand the reader (or connector) role
 * to a waiting thread, or to the helper if only futures nobody waits for
 * are pending; mtx held.
 */
static void
client_kick(courier_client *c)
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
static void
table_add(courier_client *c, courier_future *f)
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
static void
future_complete(courier_future *f, courier_value *v, courier_error *err,
    courier_future **done)
{
	courier_client	*c = f->client;
	struct waiter	*w;

	if (f->state == FUTURE_DONE)
		fatalx("future_complete: call completed twice");
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
		future_unref(f);
}

/* Run the callbacks of calls that ended; mtx not held. */
static void
run_callbacks(courier_future *done)
{
	courier_future	*f, *next;

	for (f = done; f != NULL; f = next) {
		next = f->done_next;
		f->cb(f, f->cb_arg);
		future_unref(f);
	}
}

/* End every pending call with code and message; mtx held. */
static void
fail_all(courier_client *c, bool sent_only, enum courier_code code,
    const char *msg, courier_future **done)
{
	courier_future	*f;

	while ((f = TAILQ_FIRST(&c->sent)) != NULL)
		future_complete(f, NULL, courier_error_new(code, "%s", msg),
		    done);
	if (sent_only)
		return;
	while ((f = TAILQ_FIRST(&c->unsent)) != NULL)
		future_complete(f, NULL, courier_error_new(code, "%s", msg),
		    done);
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
	c->out.off = c->out.len = 0;
	courier_buf_compact(&c->out);
	pthread_mutex_unlock(&c->wmtx);
	c->in.off = c->in.len = 0;
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
	fail_all(c, true, code, msg, done);
	free(msg);
}

/*
 * Pack the frame of call f, with arguments args and kwargs, into b; -1 with
 * *cause if it cannot be.
 */
static int
future_pack(courier_client *c, courier_future *f, const courier_value *argv,
    const courier_value *kwargv, struct courier_buf *b,
    struct courier_arena *a, char **cause)
{
	Courier__Frame			 fr = COURIER__FRAME__INIT;
	Courier__CallRequest		 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments		 args = COURIER__CALL_ARGUMENTS__INIT;
	Courier__ListMethodsRequest	 lm = COURIER__LIST_METHODS_REQUEST__INIT;
	int64_t				 left;
	size_t				 size;
	int				 r = 0;

	fr.call_id = f->id;
	if (f->list_methods) {
		fr.body_case = COURIER__FRAME__BODY_LIST_METHODS;
		fr.list_methods = &lm;
	} else {
		if (courier_call_args_to_pb(argv, kwargv, &args, a,
		    cause) != 0) {
			courier_arena_reset(a);
			return (-1);
		}
		call.method = f->method;
		call.arguments = &args;
		if (f->deadline != DEADLINE_NONE) {
			left = (f->deadline - mono_ns()) / 1000;
			call.timeout_us = left > 0 ? left : 1;
		}
		fr.body_case = COURIER__FRAME__BODY_CALL;
		fr.call = &call;
	}
	size = courier__frame__get_packed_size(&fr);
	if (size > c->max_frame) {
		set_cause(cause, "the call's frame of %zu bytes is over the "
		    "limit of %zu bytes", size, c->max_frame);
		r = -1;
	} else
		courier_frame_pack(b, &fr);
	courier_arena_reset(a);
	return (r);
}

/* Write what waits in c->out; wmtx held. -1 if the socket failed. */
static int
flush_locked(courier_client *c)
{
	ssize_t	 n;

	while (courier_buf_used(&c->out) != 0) {
		n = courier_buf_write(&c->out, c->fd);
		if (n > 0 || (n == -1 && errno == EINTR))
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		return (-1);
	}
	return (0);
}

/*
 * Write packed frames of connection gen: straight to the socket if nothing
 * waits before them, else behind. The reader polls for the rest. A write
 * error is left for the reader to see as the connection's end.
 */
static void
client_send(courier_client *c, uint64_t gen, struct courier_buf *b)
{
	ssize_t	 n;
	void	*p;
	bool	 backlog;

	pthread_mutex_lock(&c->wmtx);
	if (c->fd == -1 || c->gen != gen)
		goto out;	/* the connection is gone; the call failed */
	if (courier_buf_used(&c->out) == 0) {
		while (courier_buf_used(b) != 0) {
			n = courier_buf_write(b, c->fd);
			if (n > 0 || (n == -1 && errno == EINTR))
				continue;
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				break;
			shutdown(c->fd, SHUT_RDWR);	/* the reader ends it */
			goto out;
		}
	}
	if (courier_buf_used(b) != 0) {
		backlog = courier_buf_used(&c->out) != 0;
		p = courier_buf_reserve(&c->out, courier_buf_used(b));
		memcpy(p, b->data + b->off, courier_buf_used(b));
		c->out.len += courier_buf_used(b);
		/* The reader may be polling without POLLOUT: tell it. */
		if (!backlog)
			client_wake(c);
	}
out:
	pthread_mutex_unlock(&c->wmtx);
	b->off = b->len = 0;
}

/* Sleep for ms, until cancelled or woken; mtx not held. */
static void
backoff_sleep(courier_client *c, int cancel_fd, int ms)
{
	struct pollfd	 pfd[2];

	pfd[0].fd = c->wake_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = cancel_fd;
	pfd[1].events = POLLIN;
	if (poll(pfd, cancel_fd >= 0 ? 2 : 1, ms) > 0 &&
	    (pfd[0].revents & POLLIN))
		client_woken(c);
}

/* Whether the cancel fd is readable. */
static bool
cancel_fired(int cancel_fd)
{
	struct pollfd	 pfd;

	if (cancel_fd < 0)
		return (false);
	pfd.fd = cancel_fd;
	pfd.events = POLLIN;
	return (poll(&pfd, 1, 0) == 1);
}

/* Cancel every call, now and later; mtx held. */
static void
client_cancel_all(courier_client *c, const char *why, courier_future **done)
{
	if (c->cancelled == NULL)
		c->cancelled = courier_error_new(COURIER_CANCELLED, "%s", why);
	fail_all(c, false, COURIER_CANCELLED, why, done);
}

/*
 * A connection attempt failed with cause (taken); mtx held. Without
 * retry, the calls not sent fail; with it, returns how long to back off
 * before the next try (else 0).
 */
static int
client_connect_failed(courier_client *c, char *cause, bool retry,
    courier_future **done)
{
	char	*msg;
	int	 ms;

	free(c->connect_error);
	c->connect_error = cause;
	if (!retry) {
		xasprintf(&msg, "cannot connect to %s", cause);
		fail_all(c, false, COURIER_UNAVAILABLE, msg, done);
		free(msg);
		return (0);
	}
	if (c->backoff_ms == 0)
		c->backoff_ms = BACKOFF_FIRST_MS;
	ms = (int)(c->backoff_ms * (80 + rand_r(&c->seed) % 41) / 100);
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	return (ms);
}

/*
 * Connected on fd: pack the unsent calls behind a hello and write them;
 * mtx held.
 */
static void
client_connected(courier_client *c, int fd, courier_future **done)
{
	Courier__Frame	 fr = COURIER__FRAME__INIT;
	Courier__Hello	 hello = COURIER__HELLO__INIT;
	courier_future	*f, *next;
	char		*cause = NULL;

	c->backoff_ms = 0;
	pthread_mutex_lock(&c->wmtx);
	c->fd = fd;
	c->gen++;
	hello.protocol_version = COURIER_PROTOCOL_VERSION;
	hello.agent = (char *)"libcourier";
	fr.body_case = COURIER__FRAME__BODY_HELLO;
	fr.hello = &hello;
	courier_frame_pack(&c->out, &fr);
	TAILQ_FOREACH_SAFE(f, &c->unsent, entry, next) {
		if (future_pack(c, f, f->args, f->kwargs, &c->out, &c->arena,
		    &cause) != 0) {
			future_complete(f, NULL, courier_error_new(
			    COURIER_RESOURCE_EXHAUSTED, "%s", cause), done);
			free(cause);
			cause = NULL;
			continue;
		}
		TAILQ_REMOVE(&c->unsent, f, entry);
		f->state = FUTURE_SENT;
		f->gen = c->gen;
		courier_value_unref(f->args);
		courier_value_unref(f->kwargs);
		f->args = f->kwargs = NULL;
		TAILQ_INSERT_TAIL(&c->sent, f, entry);
		table_add(c, f);
	}
	if (flush_locked(c) != 0)
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->wmtx);
}

/*
 * Try to connect once, waiting at most until limit; mtx held on entry and
 * exit, dropped while connecting. On success the unsent calls are packed
 * and written behind a hello. Returns 0 connected, -1 not (yet).
 */
static int
client_connect(courier_client *c, int64_t limit, courier_future **done)
{
	struct pollfd	 pfd[3];
	char		*cause = NULL;
	socklen_t	 len;
	int		 fd, r, error, cancel_fd = c->cancel_fd;
	bool		 retry, cancelled = false;

	c->connecting = true;
	pthread_mutex_unlock(&c->mtx);

	r = courier_addr_connect(&c->addr, &fd, &cause);
	if (r == 1) {
		pfd[0].fd = fd;
		pfd[0].events = POLLOUT;
		pfd[1].fd = c->wake_fd;
		pfd[1].events = POLLIN;
		pfd[2].fd = cancel_fd;
		pfd[2].events = POLLIN;
		error = ETIMEDOUT;
		if (poll(pfd, cancel_fd >= 0 ? 3 : 2,
		    courier_poll_timeout(limit)) > 0) {
			if (cancel_fd >= 0 && (pfd[2].revents & POLLIN))
				cancelled = true;
			if (pfd[1].revents & POLLIN) {
				client_woken(c);
				error = EINTR;	/* the client is closing */
			}
			len = sizeof error;
			if (pfd[0].revents != 0 && getsockopt(fd, SOL_SOCKET,
			    SO_ERROR, &error, &len) != 0)
				error = errno;
		}
		if (error != 0 || cancelled) {
			close(fd);
			fd = -1;
			xasprintf(&cause, "%s: %s", c->address,
			    strerror(error));
			errno = error;
		}
	}
	retry = fd == -1 && (errno == EAGAIN || c->wait_for_ready);

	pthread_mutex_lock(&c->mtx);
	c->connecting = false;
	if (cancelled || cancel_fired(cancel_fd)) {
		if (fd != -1)
			close(fd);
		free(cause);
		client_cancel_all(c, "cancelled", done);
		client_kick(c);
		return (-1);
	}
	if (fd == -1) {
		r = client_connect_failed(c, cause, retry, done);
		if (!retry) {
			client_kick(c);
			return (-1);
		}
		/* Wait a little, then let a thread try again. */
		c->connecting = true;
		pthread_mutex_unlock(&c->mtx);
		if (limit != DEADLINE_NONE && courier_poll_timeout(limit) < r)
			r = courier_poll_timeout(limit);
		backoff_sleep(c, cancel_fd, r);
		pthread_mutex_lock(&c->mtx);
		c->connecting = false;
		client_kick(c);
		return (-1);
	}
	free(cause);
	client_connected(c, fd, done);
	client_kick(c);
	return (0);
}

/* The earliest deadline of a pending call; mtx held. */
static int64_t
earliest_deadline(courier_client *c)
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
static void
expire_calls(courier_client *c, courier_future **done)
{
	courier_future	*f, *next;
	int64_t		 now = mono_ns();

	TAILQ_FOREACH_SAFE(f, &c->sent, entry, next) {
		if (f->deadline <= now)
			future_complete(f, NULL, courier_error_new(
			    COURIER_DEADLINE_EXCEEDED, "%s: deadline exceeded "
			    "waiting for the reply", c->address), done);
	}
	TAILQ_FOREACH_SAFE(f, &c->unsent, entry, next) {
		if (f->deadline <= now)
			future_complete(f, NULL, courier_error_new(
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
 * Hold the reader role for one poll: read what comes until limit, match
 * replies to calls, flush what waits to be written, and end overdue calls.
 * mtx held on entry (with c->reading set by the caller) and on exit.
 */
static void
client_read(courier_client *c, int64_t limit, courier_future **done)
{
	struct pollfd	 pfd[3];
	struct reply	 stack[64], *replies = stack, *r;
	Courier__Frame	*fr;
	courier_future	*f;
	size_t		 n = 0, cap = nitems(stack), i, used;
	size_t		 max_frame = c->max_frame;
	char		*cause = NULL, *wcause = NULL;
	ssize_t		 got;
	int		 fd = c->fd, cancel_fd = c->cancel_fd, rv, npfd;
	int64_t		 d;
	bool		 lost = false, cancelled = false, backlog;
	enum courier_code code = COURIER_UNAVAILABLE;

	if ((d = earliest_deadline(c)) < limit)
		limit = d;
	pthread_mutex_unlock(&c->mtx);

	pthread_mutex_lock(&c->wmtx);
	backlog = courier_buf_used(&c->out) != 0;
	pthread_mutex_unlock(&c->wmtx);

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
	if (rv > 0 && (pfd[1].revents & POLLIN)) {
		/* New output waits, or the client is closing. */
		client_woken(c);
		pfd[0].revents |= POLLOUT;
	}
	if (rv > 0 && npfd == 3 && (pfd[2].revents & POLLIN))
		cancelled = true;
	if (rv > 0 && (pfd[0].revents & POLLOUT)) {
		pthread_mutex_lock(&c->wmtx);
		if (flush_locked(c) != 0)
			wcause = xstrdup(strerror(errno));
		pthread_mutex_unlock(&c->wmtx);
	}
	/*
	 * After a failed write, read all the same: a server that refused us
	 * (a limit, a bad frame) said why before it closed.
	 */
	if (rv > 0 && (wcause != NULL ||
	    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))) {
		used = courier_buf_used(&c->in);
		got = courier_buf_read(&c->in, fd, c->need > used ?
		    c->need - used : 0);
		if (got == 0) {
			lost = true;
			cause = xstrdup("the server closed the connection");
		} else if (got < 0 && errno != EAGAIN && errno != EINTR) {
			lost = true;
			cause = xstrdup(strerror(errno));
		}
		while (!lost) {
			rv = courier_frame_next(&c->in, max_frame, &c->arena,
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
			rv = frame_reply(c, fr, &replies[n], &cause);
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
	for (i = 0; i < n; i++) {
		r = &replies[i];
		f = table_find(c, r->id);
		if (f == NULL || f->gen != c->gen) {
			/* Cancelled or timed out: the answer is dropped. */
			courier_value_unref(r->value);
			courier_error_free(r->error);
			continue;
		}
		future_complete(f, r->value, r->error, done);
	}
	if (replies != stack)
		free(replies);
	if (lost)
		client_disconnect(c, code, cause, done);
	free(cause);
	if (cancelled)
		client_cancel_all(c, "cancelled", done);
	expire_calls(c, done);
}

/* Arm the loop's timer for the earliest deadline or retry; mtx held. */
static void
base_arm_timer(courier_client *c)
{
	struct timeval	 tv;
	int64_t		 at, left;

	at = earliest_deadline(c);
	if (c->fd == -1 && !c->connecting && !TAILQ_EMPTY(&c->unsent) &&
	    c->retry_at < at)
		at = c->retry_at;
	/*
	 * libevent's clock may run a little behind ours, so a timer can fire
	 * just before a deadline is over: arm it again then.
	 */
	if (at == c->timer_at && (at == DEADLINE_NONE ||
	    evtimer_pending(c->timer_ev, NULL)))
		return;
	c->timer_at = at;
	if (at == DEADLINE_NONE) {
		evtimer_del(c->timer_ev);
		return;
	}
	left = at - mono_ns();
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000000000;
	tv.tv_usec = (left % 1000000000) / 1000 + 1;
	evtimer_add(c->timer_ev, &tv);
}

static void	 base_read_cb(evutil_socket_t, short, void *);
static void	 base_write_cb(evutil_socket_t, short, void *);
static void	 base_connect_cb(evutil_socket_t, short, void *);

/* Free the loop's events of a client being freed (loop thread). */
static void
base_free_events(courier_client *c)
{
	struct event	**evs[] = { &c->kick_ev, &c->timer_ev, &c->cancel_ev,
			    &c->read_ev, &c->write_ev, &c->connect_ev };
	size_t		  i;

	for (i = 0; i < nitems(evs); i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	if (c->connect_fd != -1)
		close(c->connect_fd);
	c->connect_fd = -1;
}

/* Connected on fd, on the loop: the loop reads from now on; mtx held. */
static void
base_connected(courier_client *c, int fd, courier_future **done)
{
	client_connected(c, fd, done);
	c->read_ev = event_new(c->base, fd, EV_READ | EV_PERSIST,
	    base_read_cb, c);
	c->write_ev = event_new(c->base, fd, EV_WRITE, base_write_cb, c);
	if (c->read_ev == NULL || c->write_ev == NULL)
		fatalx("event_new failed");
	c->reading = true;
	event_add(c->read_ev, NULL);
	pthread_mutex_lock(&c->wmtx);
	if (courier_buf_used(&c->out) != 0)
		event_add(c->write_ev, NULL);
	pthread_mutex_unlock(&c->wmtx);
}

/* A connection attempt failed, on the loop: back off or fail; mtx held. */
static void
base_connect_failed(courier_client *c, char *cause, bool retry,
    courier_future **done)
{
	int	 ms;

	ms = client_connect_failed(c, cause, retry, done);
	if (retry)
		c->retry_at = mono_ns() + (int64_t)ms * NSEC_PER_MSEC;
}

/* Start connecting without blocking, on the loop; mtx held. */
static void
base_connect(courier_client *c, courier_future **done)
{
	char	*cause = NULL;
	int	 fd, r;
	bool	 retry;

	r = courier_addr_connect(&c->addr, &fd, &cause);
	if (r == 0) {
		free(cause);
		base_connected(c, fd, done);
		return;
	}
	if (r == 1) {
		free(cause);
		c->connecting = true;
		c->connect_fd = fd;
		c->connect_ev = event_new(c->base, fd, EV_WRITE,
		    base_connect_cb, c);
		if (c->connect_ev == NULL)
			fatalx("event_new failed");
		event_add(c->connect_ev, NULL);
		return;
	}
	retry = errno == EAGAIN || c->wait_for_ready;
	base_connect_failed(c, cause, retry, done);
}

/*
 * The loop's turn: end expired calls, connect for calls not sent, flush
 * what waits, and arm the timer.
 */
static void
base_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;
	courier_future	*done = NULL;

	pthread_mutex_lock(&c->mtx);
	c->loop_thread = pthread_self();
	c->loop_seen = true;
	if (c->closed) {
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	expire_calls(c, &done);
	if (c->fd == -1 && !c->connecting && !TAILQ_EMPTY(&c->unsent) &&
	    mono_ns() >= c->retry_at)
		base_connect(c, &done);
	if (c->fd != -1) {
		pthread_mutex_lock(&c->wmtx);
		if (courier_buf_used(&c->out) != 0)
			event_add(c->write_ev, NULL);
		pthread_mutex_unlock(&c->wmtx);
	}
	base_arm_timer(c);
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
}

/* The timer fired: it is armed for nothing now; then the loop's turn. */
static void
base_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;

	pthread_mutex_lock(&c->mtx);
	c->timer_at = DEADLINE_NONE;
	pthread_mutex_unlock(&c->mtx);
	base_kick_cb(fd, what, arg);
}

/* The connect in progress ended, well or not (loop). */
static void
base_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;
	courier_future	*done = NULL;
	socklen_t	 len;
	char		*cause;
	int		 error = 0;

	pthread_mutex_lock(&c->mtx);
	event_free(c->connect_ev);
	c->connect_ev = NULL;
	c->connect_fd = -1;
	c->connecting = false;
	len = sizeof error;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
		error = errno;
	if (error == 0)
		base_connected(c, fd, &done);
	else {
		close(fd);
		xasprintf(&cause, "%s: %s", c->address, strerror(error));
		errno = error;
		base_connect_failed(c, cause, c->wait_for_ready, &done);
	}
	base_arm_timer(c);
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
}

/* Replies came (or the end): read them all without blocking (loop). */
static void
base_read_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;
	courier_future	*done = NULL;

	pthread_mutex_lock(&c->mtx);
	c->loop_thread = pthread_self();
	c->loop_seen = true;
	/* A limit of now: the poll inside does not wait. */
	client_read(c, mono_ns(), &done);
	if (c->fd == -1 && !TAILQ_EMPTY(&c->unsent))
		event_active(c->kick_ev, EV_TIMEOUT, 0);
	base_arm_timer(c);
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
}

/* The socket takes more of what waits (loop). */
static void
base_write_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;

	pthread_mutex_lock(&c->wmtx);
	if (c->fd != -1) {
		if (flush_locked(c) != 0)
			shutdown(c->fd, SHUT_RDWR);	/* read_cb ends it */
		else if (courier_buf_used(&c->out) != 0)
			event_add(c->write_ev, NULL);
	}
	pthread_mutex_unlock(&c->wmtx);
}

/* The cancel fd fired: every call ends, now and later (loop). */
static void
base_cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;
	courier_future	*done = NULL;

	pthread_mutex_lock(&c->mtx);
	client_cancel_all(c, "cancelled", &done);
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
}

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

	if (f->nwaiters++ == 0 && f->state != FUTURE_DONE && f->watched)
		c->nunwaited--;
	bool		 cv_ready = false;

	w.f = f;
	w.signalled = false;
	while (f->state != FUTURE_DONE) {
		until = f->deadline < limit ? f->deadline : limit;
		if (mono_ns() >= until) {
			if (f->deadline <= limit)
				expire_calls(c, done);
			break;
		}
		if (c->base == NULL && !c->reading && !c->connecting &&
		    c->fd == -1 && !TAILQ_EMPTY(&c->unsent)) {
			client_connect(c, until, done);
			continue;
		}
		if (c->base == NULL && !c->reading && !c->connecting &&
		    c->fd != -1) {
			c->reading = true;
			client_read(c, until, done);
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
	client_kick(c);
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
		client_kick(c);
	}
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
		expire_calls(c, &done);
		if (done != NULL) {
			pthread_mutex_unlock(&c->mtx);
			run_callbacks(done);
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
			client_connect(c, earliest_deadline(c), &done);
		else {
			c->reading = true;
			client_read(c, DEADLINE_NONE, &done);
			c->reading = false;
			client_kick(c);
		}
		if (done != NULL) {
			pthread_mutex_unlock(&c->mtx);
			run_callbacks(done);
			pthread_mutex_lock(&c->mtx);
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return (NULL);
}

/* A new future for a call, with its reference for the pending tables. */
static courier_future *
future_new(courier_client *c, const char *method, courier_value *args,
    courier_value *kwargs, int timeout_ms)
{
	courier_future	*f;

	f = xcalloc(1, sizeof *f);
	f->client = c;
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	atomic_init(&f->refs, 2);		/* the user's, the pending */
	f->method = method != NULL ? xstrdup(method) : NULL;
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
	struct courier_arena	 a;
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
		future_complete(f, NULL, courier_error_new(
		    COURIER_INVALID_ARGUMENT, "%s", why), &done);
		goto out;
	}
	if (c->cancelled != NULL || c->closed) {
		future_complete(f, NULL, courier_error_new(COURIER_CANCELLED,
		    "%s: %s", c->address, c->closed ? "the client is closed" :
		    courier_error_message(c->cancelled)), &done);
		goto out;
	}
	if (c->fd == -1) {
		/* Kept for the connection: a waiter, the helper or the loop
		 * makes it. */
		if (!waited || c->base != NULL)
			client_kick(c);
		goto out;
	}

	/* Connected: pack outside the lock, then write. */
	TAILQ_REMOVE(&c->unsent, f, entry);
	f->state = FUTURE_SENT;
	f->gen = gen = c->gen;
	TAILQ_INSERT_TAIL(&c->sent, f, entry);
	table_add(c, f);
	args = f->args;
	kwargs = f->kwargs;
	f->args = f->kwargs = NULL;
	/* On a loop, which always reads, only a nearer deadline is news. */
	if (c->base != NULL ? f->deadline < c->timer_at : !waited)
		client_kick(c);
	pthread_mutex_unlock(&c->mtx);

	b.data = stackbuf;
	b.cap = sizeof stackbuf;
	b.borrowed = true;
	courier_arena_init(&a);
	if (future_pack(c, f, args, kwargs, &b, &a, &cause) == 0)
		client_send(c, gen, &b);
	courier_arena_free(&a);
	courier_buf_free(&b);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	if (cause == NULL)
		return;

	pthread_mutex_lock(&c->mtx);
	if (f->state != FUTURE_DONE)
		future_complete(f, NULL, courier_error_new(
		    COURIER_RESOURCE_EXHAUSTED, "%s", cause), &done);
	free(cause);
out:
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
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
		future_complete(f, NULL, courier_error_new(
		    COURIER_FAILED_PRECONDITION, "%s", own_loop_why), &done);
	}
	if (f->state != FUTURE_DONE) {
		/* future_submit counted this thread as waiting already. */
		f->nwaiters--;
		future_wait_locked(f, DEADLINE_NONE, &done);
	}
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
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
	client_cancel_all(c, why, &done);
	pthread_mutex_unlock(&c->mtx);
	client_wake(c);		/* a reader in a poll learns it now */
	run_callbacks(done);
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
	run_callbacks(done);
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
		future_complete(f, NULL, courier_error_new(COURIER_CANCELLED,
		    "%s: the call was cancelled", c->address), &done);
	pthread_mutex_unlock(&c->mtx);
	run_callbacks(done);
}

/* Drop a reference to a future; the last frees it. */
static void
future_unref(courier_future *f)
{
	courier_client	*c = f->client;

	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(f->method);
	courier_value_unref(f->args);
	courier_value_unref(f->kwargs);
	courier_value_unref(f->result);
	courier_error_free(f->error);
	free(f);
	client_unref(c);
}

/* Free a future, cancelling its call if pending. */
void
courier_future_free(courier_future *f)
{
	if (f == NULL)
		return;
	courier_future_cancel(f);
	future_unref(f);
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
	fail_all(c, false, COURIER_CANCELLED, "the client was freed", &done);
	if (c->base != NULL) {
		/* On the loop's thread (or with the loop stopped). */
		pthread_mutex_unlock(&c->mtx);
		run_callbacks(done);
		base_free_events(c);
		pthread_mutex_lock(&c->mtx);
		pthread_mutex_lock(&c->wmtx);
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
		pthread_mutex_unlock(&c->wmtx);
		pthread_mutex_unlock(&c->mtx);
		client_unref(c);
		return;
	}
	helper = c->helper_started;
	pthread_cond_signal(&c->helper_cv);
	pthread_mutex_unlock(&c->mtx);
	client_wake(c);		/* out of a poll or a backoff sleep */
	run_callbacks(done);
	if (helper)
		pthread_join(c->helper, NULL);

	pthread_mutex_lock(&c->mtx);
	pthread_mutex_lock(&c->wmtx);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	pthread_mutex_unlock(&c->wmtx);
	pthread_mutex_unlock(&c->mtx);
	client_unref(c);
}
