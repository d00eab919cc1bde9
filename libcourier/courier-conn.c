/*
 * courier-conn.c: one connection to a courier server. The loop reads
 * frames (as many as a read brings), answers a hello and ListMethods,
 * starts calls (inline, or queued for a thread), writes what the socket
 * did not take, and keeps the server's limits: backpressure, the hello's
 * size, the idle timeout and the budget of bytes buffered.
 */
#include "courier-server.h"

/*
 * Whether a connection may keep a big buffer it uses: while all the
 * server's buffers hold less than a quarter of its budget, so that what
 * idle connections keep never crowds out the others.
 */
static bool
conn_may_keep(const struct sconn *c)
{
	courier_server	*s = c->server;

	return (atomic_load_explicit(&s->buffered, memory_order_relaxed) <
	    s->max_buffered / 4);
}

/* Take a reference to a connection. */
void
courier_conn_ref(struct sconn *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/*
 * Bring the server's count of buffered bytes up to date with what b holds
 * now (*acct is what was counted of it). True if b grew and so put the
 * server over its budget: a buffer that shrank or stayed is never blamed.
 */
static bool
buf_account(courier_server *s, const struct courier_buf *b, size_t *acct)
{
	size_t	 now = b->cap + b->seg_bytes, total;	/* segments too */

	if (now == *acct)
		return (false);
	if (now < *acct) {
		atomic_fetch_sub_explicit(&s->buffered, *acct - now,
		    memory_order_relaxed);
		*acct = now;
		return (false);
	}
	total = atomic_fetch_add_explicit(&s->buffered, now - *acct,
	    memory_order_relaxed) + (now - *acct);
	*acct = now;
	return (total > s->max_buffered);
}

/* Drop a reference; the last one frees the connection and closes its fd. */
void
courier_conn_unref(struct sconn *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	atomic_fetch_sub_explicit(&c->server->buffered, c->in_acct +
	    c->out_acct, memory_order_relaxed);
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	courier_buf_free(&c->in);
	courier_buf_free(&c->out);
	courier_arena_free(&c->arena);
	pthread_mutex_destroy(&c->wmtx);
	free(c);
}

/*
 * The socket failed a write (the peer went away): write no more, give back
 * the queued replies, and have the loop close the connection. The read
 * event may be off (reading paused for backpressure), so it is made active
 * by hand: waiting for the reader to see the end would wait forever.
 * wmtx held.
 */
static void
conn_broken_locked(struct sconn *c)
{
	c->dead = true;
	shutdown(c->fd, SHUT_RDWR);
	courier_buf_free(&c->out);
	(void)buf_account(c->server, &c->out, &c->out_acct);
	event_active(c->rev, EV_READ, 0);
}

/*
 * Count what c->out holds now; wmtx held. If that puts the server over its
 * budget, this connection (whose peer is not reading) is broken off.
 */
void
courier_conn_out_account_locked(struct sconn *c)
{
	courier_server	*s = c->server;

	if (c->dead || !buf_account(s, &c->out, &c->out_acct))
		return;
	courier_srv_warn(s, "closing a connection: holding %zu bytes for replies "
	    "its peer does not read puts the server over its budget of %zu "
	    "bytes buffered", c->out_acct, s->max_buffered);
	conn_broken_locked(c);
}

/* Write what waits in c->out; wmtx held. -1 if the connection broke. */
static int
conn_flush_locked(struct sconn *c)
{
	switch (courier_buf_flush(&c->out, c->fd)) {
	case 1:
		if (!c->wpending) {
			c->wpending = true;
			event_add(c->wev, NULL);
		}
		return (0);
	case -1:
		conn_broken_locked(c);
		return (-1);
	}
	c->out.keep_big = conn_may_keep(c);
	courier_buf_compact(&c->out);
	courier_conn_out_account_locked(c);
	return (0);
}

/*
 * Send the frames packed in b: straight to the socket if nothing waits
 * before them, else behind what waits. b is emptied.
 *
 * With hold, a pool thread that is about to run the connection's next
 * request keeps them in c->out, to go with that request's answer in one
 * write, up to HOLD_MAX bytes. The write event is armed all the same, so
 * that if that handler keeps its thread, the loop sends them (a leader at
 * once; failing one, the thread that takes the loop over, within a tick).
 */
void
courier_conn_send(struct sconn *c, struct courier_buf *b, bool hold)
{
	pthread_mutex_lock(&c->wmtx);
	if (c->dead)
		goto out;
	/* Big answers gain nothing from company and would only wait. */
	if (hold && courier_buf_used(&c->out) + courier_buf_used(b) <=
	    HOLD_MAX) {
		courier_buf_move(&c->out, b);
		c->held = true;
		if (!c->wpending) {
			c->wpending = true;
			event_add(c->wev, NULL);
		}
		courier_conn_out_account_locked(c);
		goto out;
	}
	if (c->held) {
		c->held = false;
		courier_buf_move(&c->out, b);
		(void)conn_flush_locked(c);
		goto out;
	}
	if (courier_buf_used(&c->out) == 0 && !c->wpending &&
	    courier_buf_flush(b, c->fd) == -1) {
		conn_broken_locked(c);
		goto out;
	}
	if (courier_buf_used(b) != 0) {
		courier_buf_move(&c->out, b);
		if (!c->wpending) {
			c->wpending = true;
			event_add(c->wev, NULL);
		}
		courier_conn_out_account_locked(c);
	}
out:
	pthread_mutex_unlock(&c->wmtx);
	courier_buf_clear(b);
	courier_buf_compact(b);
}

/* Queue a frame on c->out, to go with the batch (loop thread only). */
static void
conn_queue_frame(struct sconn *c, const Courier__Frame *f)
{
	pthread_mutex_lock(&c->wmtx);
	if (!c->dead) {
		courier_frame_pack(&c->out, f);
		courier_conn_out_account_locked(c);
	}
	pthread_mutex_unlock(&c->wmtx);
}

/* Answer a call with an error, in the current batch. */
static void
conn_queue_error(struct sconn *c, uint64_t id, enum courier_code code,
    const char *msg)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Status	 st = COURIER__STATUS__INIT;

	st.code = code;
	st.message = (char *)msg;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_ERROR;
	f.error = &st;
	conn_queue_frame(c, &f);
}

/*
 * Tell the peer why its connection ends and close it: a frame with call id
 * 0 and the error, sent if the socket takes it at once.
 */
static void
conn_fail(struct sconn *c, enum courier_code code, const char *why)
{
	courier_srv_warn(c->server, "closing a connection: %s", why);
	conn_queue_error(c, 0, code, why);
	pthread_mutex_lock(&c->wmtx);
	if (!c->dead)
		(void)courier_buf_write(&c->out, c->fd);
	pthread_mutex_unlock(&c->wmtx);
	courier_conn_close(c, why);
}

/*
 * Whether a connection may be read (loop thread): 0 yes, 1 not for now (its
 * replies or requests back up), -1 never (a write failed: close it).
 */
static int
conn_backlogged(struct sconn *c)
{
	courier_server	*s = c->server;
	bool		 full, dead;

	pthread_mutex_lock(&c->wmtx);
	dead = c->dead;
	full = courier_buf_used(&c->out) > OUT_HIGH;
	pthread_mutex_unlock(&c->wmtx);
	if (dead)
		return (-1);
	if (full)
		return (1);
	pthread_mutex_lock(&s->mtx);
	full = c->nqueued >= QUEUE_HIGH;
	pthread_mutex_unlock(&s->mtx);
	return (full ? 1 : 0);
}

/*
 * Close connections idle past the timeout: no hello yet, or half a frame
 * with no byte since (loop thread, every quarter of the timeout).
 */
void
courier_conn_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_server	*s = arg;
	struct sconn	*c, *list[64];
	int64_t		 now = mono_ns(), limit;
	size_t		 i, n = 0;
	char		*why;

	limit = now - (int64_t)s->idle_ms * NSEC_PER_MSEC;
	pthread_mutex_lock(&s->mtx);
	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->idle_since != 0 && c->idle_since < limit &&
		    n < nitems(list)) {
			courier_conn_ref(c);
			list[n++] = c;
		}
	}
	pthread_mutex_unlock(&s->mtx);
	for (i = 0; i < n; i++) {
		c = list[i];
		xasprintf(&why, "no %s in %d ms (the server's idle timeout)",
		    c->hello ? "byte of a half-sent frame" : "hello frame",
		    s->idle_ms);
		conn_fail(c, COURIER_DEADLINE_EXCEEDED, why);
		free(why);
		courier_conn_unref(c);
	}
}

/* Read connections that were paused and may go on (loop thread). */
void
courier_conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_server	*s = arg;
	struct sconn	*c, *list[64];
	size_t		 i, n = 0;

	pthread_mutex_lock(&s->mtx);
	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->paused && c->nqueued <= QUEUE_LOW && n < nitems(list)) {
			courier_conn_ref(c);
			list[n++] = c;
		}
	}
	pthread_mutex_unlock(&s->mtx);
	for (i = 0; i < n; i++) {
		c = list[i];
		pthread_mutex_lock(&c->wmtx);
		if (!c->dead && courier_buf_used(&c->out) <= OUT_LOW) {
			c->paused = false;
			event_add(c->rev, NULL);
		}
		pthread_mutex_unlock(&c->wmtx);
		courier_conn_unref(c);
	}
}

/* Answer a hello with ours, or courier_srv_refuse a version we do not speak. */
static int
conn_hello(struct sconn *c, const Courier__Hello *h)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Hello	 mine = COURIER__HELLO__INIT;
	char		*why;

	if (c->hello) {
		conn_fail(c, COURIER_INVALID_ARGUMENT, "a second hello frame");
		return (-1);
	}
	if (h->protocol_version < 1) {
		xasprintf(&why, "protocol version %u is not supported; this "
		    "server speaks version %d", h->protocol_version,
		    COURIER_PROTOCOL_VERSION);
		conn_fail(c, COURIER_UNIMPLEMENTED, why);
		free(why);
		return (-1);
	}
	c->hello = true;
	mine.protocol_version = COURIER_PROTOCOL_VERSION;
	mine.agent = (char *)"libcourier";
	f.body_case = COURIER__FRAME__BODY_HELLO;
	f.hello = &mine;
	conn_queue_frame(c, &f);
	return (0);
}

/* Answer ListMethods. */
static void
conn_list_methods(struct sconn *c, uint64_t id)
{
	courier_server			*s = c->server;
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__ListMethodsResponse	 r = COURIER__LIST_METHODS_RESPONSE__INIT;
	char				**names;
	size_t				 i;

	names = xcalloc(s->nmethods + 1, sizeof *names);
	for (i = 0; i < s->nmethods; i++)
		names[i] = s->methods[i].name;
	r.n_methods = s->nmethods;
	r.methods = names;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_METHODS;
	f.methods = &r;
	conn_queue_frame(c, &f);
	free(names);
}

/*
 * The method a call names, or NULL when the call is answered already (the
 * server stops, or has no such method).
 */
static const struct method *
conn_call_method(struct sconn *c, uint64_t id, const char *name)
{
	courier_server		*s = c->server;
	const struct method	*m;
	char			*msg;
	bool			 stopping;

	pthread_mutex_lock(&s->mtx);
	stopping = s->state != SERVER_RUNNING;
	pthread_mutex_unlock(&s->mtx);
	if (stopping) {
		conn_queue_error(c, id, COURIER_UNAVAILABLE,
		    "the server is stopping");
		return (NULL);
	}
	if ((m = courier_srv_method_find(s, name)) == NULL) {
		xasprintf(&msg, "no method named \"%s\" on this server (see "
		    "its method list)", name);
		conn_queue_error(c, id, COURIER_NOT_FOUND, msg);
		free(msg);
	}
	return (m);
}

/* Start a call: run it inline, or queue it. Takes args and kwargs. */
static void
conn_call_start(struct sconn *c, uint64_t id, const struct method *m,
    courier_value *args, courier_value *kwargs, int64_t timeout_us)
{
	courier_server		*s = c->server;
	struct courier_request	*req;
	bool			 wake = false;

	req = xmalloc(sizeof *req);
	atomic_init(&req->refs, 1);
	req->conn = c;
	courier_conn_ref(c);
	req->id = id;
	req->method = m;
	req->args = args;
	req->kwargs = kwargs;
	req->queued = mono_ns();
	/* A deadline past what the clock can count is no deadline. */
	if (timeout_us > 0 &&
	    timeout_us <= (INT64_MAX - req->queued) / 1000)
		req->deadline = req->queued + timeout_us * 1000;
	else
		req->deadline = DEADLINE_NONE;
	req->deferred = false;

	pthread_mutex_lock(&s->mtx);
	s->ninflight++;
	if ((m->flags & COURIER_METHOD_INLINE) || s->nworkers == 0) {
		pthread_mutex_unlock(&s->mtx);
		courier_req_run(req, NULL, NULL, false);
		return;
	}
	TAILQ_INSERT_TAIL(&s->queue, req, entry);
	c->nqueued++;
	/*
	 * With its own base, this thread is the leader: it takes a request
	 * itself when the loop returns, and others follow as it hands over
	 * the loop. With the caller's base, a pool thread must be woken.
	 */
	if (!s->own_base)
		wake = courier_srv_wake_one(s);
	pthread_mutex_unlock(&s->mtx);
	if (wake)
		pthread_cond_signal(&s->cv);
}

/* A call that protobuf-c unpacked: its arguments, then its start. */
static void
conn_call(struct sconn *c, uint64_t id, const Courier__CallRequest *call)
{
	const struct method	*m;
	courier_value		*args, *kwargs;
	char			*cause = NULL, *msg;

	if ((m = conn_call_method(c, id, call->method)) == NULL)
		return;
	if (courier_call_args_from_pb(call->arguments, &args, &kwargs,
	    &cause) != 0) {
		xasprintf(&msg, "method %s: %s", m->name, cause);
		conn_queue_error(c, id, COURIER_INVALID_ARGUMENT, msg);
		free(msg);
		free(cause);
		return;
	}
	conn_call_start(c, id, m, args, kwargs, call->timeout_us);
}

/* Act on one frame from a client; -1 if the connection was closed. */
static int
conn_frame(struct sconn *c, const Courier__Frame *f)
{
	char	*why;

	if (f->body_case == COURIER__FRAME__BODY_HELLO)
		return (conn_hello(c, f->hello));
	if (!c->hello) {
		conn_fail(c, COURIER_FAILED_PRECONDITION, "the first frame "
		    "must be a hello with the protocol version");
		return (-1);
	}
	switch (f->body_case) {
	case COURIER__FRAME__BODY_CALL:
		conn_call(c, f->call_id, f->call);
		return (0);
	case COURIER__FRAME__BODY_LIST_METHODS:
		conn_list_methods(c, f->call_id);
		return (0);
	default:
		xasprintf(&why, "unexpected frame of kind %d from a client",
		    (int)f->body_case);
		conn_fail(c, COURIER_INVALID_ARGUMENT, why);
		free(why);
		return (-1);
	}
}

/*
 * Act on a frame the call path decoded: a call starts; a result is not a
 * client's to send. -1 if the connection was closed.
 */
static int
conn_wire_frame(struct sconn *c, struct courier_frame *f)
{
	const struct method	*m;
	char			*why;

	if (!c->hello || f->kind == COURIER_FRAME_RESULT) {
		courier_value_unref(f->args);
		courier_value_unref(f->kwargs);
		courier_value_unref(f->value);
	}
	if (!c->hello) {
		conn_fail(c, COURIER_FAILED_PRECONDITION, "the first frame "
		    "must be a hello with the protocol version");
		return (-1);
	}
	if (f->kind == COURIER_FRAME_RESULT) {
		xasprintf(&why, "unexpected frame of kind %d from a client",
		    (int)COURIER__FRAME__BODY_RESULT);
		conn_fail(c, COURIER_INVALID_ARGUMENT, why);
		free(why);
		return (-1);
	}
	if ((m = conn_call_method(c, f->id, f->method)) == NULL) {
		courier_value_unref(f->args);
		courier_value_unref(f->kwargs);
		return (0);
	}
	conn_call_start(c, f->id, m, f->args, f->kwargs, f->timeout_us);
	return (0);
}

/* Read and act on what a client sent (loop thread). */
void
courier_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	courier_server	*s = c->server;
	struct courier_frame	 f;
	char		*cause = NULL, *why;
	size_t		 used;
	ssize_t		 n;
	int		 r;

	switch (conn_backlogged(c)) {
	case -1:
		courier_conn_close(c, NULL);
		return;
	case 1:
		c->paused = true;
		event_del(c->rev);
		return;
	}
	used = courier_buf_used(&c->in);
	n = courier_buf_read(&c->in, fd, c->need > used ? c->need - used : 0);
	if (buf_account(s, &c->in, &c->in_acct)) {
		xasprintf(&cause, "reading puts the server over its budget "
		    "of %zu bytes buffered for all its connections",
		    s->max_buffered);
		conn_fail(c, COURIER_RESOURCE_EXHAUSTED, cause);
		free(cause);
		return;
	}
	if (n == 0) {
		courier_conn_close(c, NULL);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		courier_conn_close(c, strerror(errno));
		return;
	}
	for (;;) {
		/* Until the hello, a peer is not known to speak courier. */
		r = courier_frame_take(&c->in, c->hello ? s->max_frame :
		    HELLO_MAX, &c->arena, &f, &c->need, &cause);
		if (r == 0)
			break;
		if (r < 0) {
			if (!c->hello && r == FRAME_TOO_BIG) {
				why = cause;
				xasprintf(&cause, "%s, the limit for frames "
				    "before the hello", why);
				free(why);
			}
			conn_fail(c, r == FRAME_TOO_BIG ?
			    COURIER_RESOURCE_EXHAUSTED :
			    COURIER_INVALID_ARGUMENT, cause);
			free(cause);
			return;
		}
		/* A non-zero return may have freed c: touch nothing. */
		if ((r = f.kind == COURIER_FRAME_PB ? conn_frame(c, f.pb) :
		    conn_wire_frame(c, &f)) != 0)
			return;
		courier_arena_reset(&c->arena);
	}
	c->in.keep_big = conn_may_keep(c);
	courier_buf_compact(&c->in);
	(void)buf_account(s, &c->in, &c->in_acct);
	/* A frame announced that will not fit: courier_srv_refuse it before reading. */
	if (c->need > c->in.cap && atomic_load_explicit(&s->buffered,
	    memory_order_relaxed) + (c->need - c->in.cap) > s->max_buffered) {
		xasprintf(&cause, "a frame of %zu bytes would put the server "
		    "over its budget of %zu bytes buffered for all its "
		    "connections", c->need - FRAME_HEADER, s->max_buffered);
		conn_fail(c, COURIER_RESOURCE_EXHAUSTED, cause);
		free(cause);
		return;
	}
	/*
	 * Idle: before the hello, since the connection came; with half a
	 * frame, since the last bytes came. The clock is read only then.
	 */
	if (c->hello)
		c->idle_since = courier_buf_used(&c->in) != 0 ?
		    mono_ns() : 0;

	pthread_mutex_lock(&c->wmtx);
	if (!c->dead && !c->wpending)
		(void)conn_flush_locked(c);
	pthread_mutex_unlock(&c->wmtx);
}

/* The socket takes more: flush (loop thread). */
void
courier_conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	bool		 resume = false;

	pthread_mutex_lock(&c->wmtx);
	c->wpending = false;
	c->held = false;
	if (!c->dead) {
		(void)conn_flush_locked(c);
		resume = c->paused && courier_buf_used(&c->out) <= OUT_LOW;
	}
	pthread_mutex_unlock(&c->wmtx);
	if (resume)
		courier_conn_resume_cb(-1, 0, c->server);
}

/*
 * Close a connection: no more reading or writing, and drop the server's
 * reference (requests in flight keep theirs; their replies are dropped).
 * Safe to call twice and from any thread.
 */
void
courier_conn_close(struct sconn *c, const char *why)
{
	courier_server	*s = c->server;

	pthread_mutex_lock(&s->mtx);
	if (c->closed) {
		pthread_mutex_unlock(&s->mtx);
		return;
	}
	c->closed = true;
	TAILQ_REMOVE(&s->conns, c, entry);
	courier_srv_unadmit(s, c);
	pthread_mutex_unlock(&s->mtx);

	pthread_mutex_lock(&c->wmtx);
	c->dead = true;
	pthread_mutex_unlock(&c->wmtx);
	event_del(c->rev);
	event_del(c->wev);
	shutdown(c->fd, SHUT_RDWR);
	courier_conn_unref(c);
}
