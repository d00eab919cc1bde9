/*
 * courier-server.c: the courier server: its methods, listeners, start,
 * stop and free. Its threads are courier-pool.c's, a connection is
 * courier-conn.c's, a call's life courier-request.c's; courier-server.h is
 * what they share.
 *
 * Threads. A server either runs on the caller's event_base (lpd's control
 * socket: I/O and inline handlers in the caller's loop, blocking handlers
 * on a pool) or on threads of its own, leader and followers: how they
 * share the loop and the calls is courier-pool.c's.
 *
 * Replies. A thread with a reply writes it straight to the socket when
 * nothing is queued before it; what the socket does not take waits in the
 * connection's output buffer, flushed by the loop. A pool thread that runs
 * one connection's requests back to back gathers their replies into one
 * write, with the write event armed meanwhile, so that a reply never waits
 * long behind a handler that blocks. Inline handlers' replies are gathered
 * and sent with one write per batch of frames read.
 *
 * Bounds. A frame over the limit closes its connection with an error frame.
 * A connection whose output backs up, or that has too many requests queued,
 * is not read until it drains. Against peers that mean harm: a limit on
 * connections (in all, and per user for Unix peers), frames before the
 * hello of at most HELLO_MAX bytes, a deadline for the hello and for a
 * frame that stalls half-sent (one sweep timer per server, no timer per
 * connection), and a budget for the bytes buffered in and out over all
 * connections: the connection whose growth would pass it is closed.
 *
 * Lifetimes. A connection is referenced by the server's list and by each of
 * its requests; its fd is closed when the last reference goes, so no thread
 * ever writes to a recycled fd number.
 */
#include "courier-server.h"

static pthread_once_t	 evthread_once = PTHREAD_ONCE_INIT;


/* libevent must lock for threads before the first base exists. */
static void
evthread_init(void)
{
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads failed");
}

/* Report a problem that concerns one connection, not the caller. */
void
courier_srv_warn(struct courier_server *s, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "courier server %s: %s\n",
	    s->address != NULL ? s->address : "(no address)", msg);
	free(msg);
}

/* A new server, stopped, with no method and no address. */
courier_server *
courier_server_new(void)
{
	courier_server	*s;

	pthread_once(&evthread_once, evthread_init);
	s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->mtx, NULL);
	courier_cond_init(&s->cv);
	courier_cond_init(&s->drained);
	courier_cond_init(&s->watch_cv);
	s->nworkers = COURIER_WORKERS_DEFAULT;
	s->max_frame = COURIER_MAX_FRAME_DEFAULT;
	s->max_conns = COURIER_MAX_CONNS_DEFAULT;
	s->idle_ms = COURIER_IDLE_TIMEOUT_DEFAULT;
	s->max_buffered = COURIER_MAX_BUFFERED_DEFAULT;
	atomic_init(&s->buffered, 0);
	s->handler_wait_ms = COURIER_HANDLER_WAIT_DEFAULT;
	TAILQ_INIT(&s->listeners);
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->queue);
	TAILQ_INIT(&s->deferred);
	s->state = SERVER_NEW;
	return (s);
}

/* Set the number of handler threads. */
int
courier_server_set_workers(courier_server *s, unsigned n)
{
	if (s->state != SERVER_NEW)
		return (-1);
	s->nworkers = n;
	return (0);
}

/* Set the frame size limit. */
int
courier_server_set_max_frame(courier_server *s, size_t n)
{
	if (s->state != SERVER_NEW || n < 64 || n > UINT32_MAX)
		return (-1);
	s->max_frame = n;
	return (0);
}

/* Limit the connections, in all and per user. */
int
courier_server_set_max_conns(courier_server *s, unsigned total,
    unsigned per_user)
{
	if (s->state != SERVER_NEW)
		return (-1);
	s->max_conns = total;
	s->max_conns_per_user = per_user;
	return (0);
}

/* Close connections that stay idle with a frame unfinished. */
int
courier_server_set_idle_timeout(courier_server *s, int ms)
{
	if (s->state != SERVER_NEW || (ms <= 0 && ms != COURIER_FOREVER))
		return (-1);
	s->idle_ms = ms;
	return (0);
}

/* Bound courier_server_free's wait for handlers that do not return. */
int
courier_server_set_handler_wait(courier_server *s, int ms)
{
	if (ms < 0 && ms != COURIER_FOREVER)
		return (-1);
	s->handler_wait_ms = ms;
	return (0);
}

/* Bound the bytes buffered for all connections. */
int
courier_server_set_max_buffered(courier_server *s, size_t n)
{
	if (s->state != SERVER_NEW || n < 2 * HELLO_MAX)
		return (-1);
	s->max_buffered = n;
	return (0);
}

/* Run on the caller's event_base. */
int
courier_server_set_base(courier_server *s, struct event_base *base)
{
	if (s->state != SERVER_NEW || !TAILQ_EMPTY(&s->listeners) ||
	    s->base != NULL)
		return (-1);
	s->base = base;
	return (0);
}

/* Make the base if the caller gave none; 0 or -1. */
static int
server_base(courier_server *s, char **cause)
{
	if (s->base != NULL)
		return (0);
	if ((s->base = event_base_new()) == NULL) {
		set_cause(cause, "cannot make an event loop");
		return (-1);
	}
	s->own_base = true;
	return (0);
}

/* Order methods by name. */
static int
method_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct method *)a)->name,
	    ((const struct method *)b)->name));
}

/* Register a method. */
int
courier_server_add_method(courier_server *s, const char *name,
    courier_method_fn fn, void *self, int flags, char **cause)
{
	return (courier_srv_add_method(s, name, fn, self, flags, NULL,
	    cause));
}

/* Register a method, or a batched method's collector with its batcher. */
int
courier_srv_add_method(courier_server *s, const char *name,
    courier_method_fn fn, void *self, int flags, struct courier_batch *batch,
    char **cause)
{
	struct method	*m;
	size_t		 i;

	if (s->state != SERVER_NEW) {
		set_cause(cause, "method %s: add methods before the server "
		    "starts", name);
		return (-1);
	}
	if (name == NULL || *name == '\0' || fn == NULL ||
	    !courier_utf8_valid(name, strlen(name))) {
		set_cause(cause, "a method needs a UTF-8 name and a function");
		return (-1);
	}
	for (i = 0; i < s->nmethods; i++) {
		if (strcmp(s->methods[i].name, name) == 0) {
			set_cause(cause, "method %s is already registered",
			    name);
			return (-1);
		}
	}
	s->methods = xreallocarray(s->methods, s->nmethods + 1,
	    sizeof *s->methods);
	m = &s->methods[s->nmethods++];
	m->name = xstrdup(name);
	m->fn = fn;
	m->self = self;
	m->flags = flags;
	m->batch = batch;
	return (0);
}

/* The method called name, or NULL. */
const struct method *
courier_srv_method_find(courier_server *s, const char *name)
{
	struct method	 key;

	if (s->nmethods == 0)
		return (NULL);	/* methods is NULL */
	key.name = (char *)name;
	return (bsearch(&key, s->methods, s->nmethods, sizeof *s->methods,
	    method_cmp));
}

/*
 * Count a new connection against the limits; mtx held. NULL if it may
 * stay, else why not (static text).
 */
static const char *
conn_admit(courier_server *s, struct sconn *c)
{
	struct uid_count	*u = NULL;
	size_t			 i;

	if (s->max_conns != 0 && s->nconns >= s->max_conns)
		return ("the server has as many connections as its limit "
		    "allows; close idle clients or raise the limit");
	if (c->has_cred) {
		for (i = 0; i < s->nusers; i++) {
			if (s->users[i].uid == c->uid) {
				u = &s->users[i];
				break;
			}
		}
		if (u != NULL && s->max_conns_per_user != 0 &&
		    u->n >= s->max_conns_per_user)
			return ("this user has as many connections to the "
			    "server as its per-user limit allows; close "
			    "some first");
		if (u == NULL) {
			s->users = xreallocarray(s->users, s->nusers + 1,
			    sizeof *s->users);
			u = &s->users[s->nusers++];
			u->uid = c->uid;
			u->n = 0;
		}
		u->n++;
	}
	s->nconns++;
	return (NULL);
}

/* Give back what conn_admit counted; mtx held. */
void
courier_srv_unadmit(courier_server *s, struct sconn *c)
{
	size_t	 i;

	/* Below the limit again: the next refusal is worth a warning. */
	s->nconns--;
	s->refusing = false;
	if (!c->has_cred)
		return;
	for (i = 0; i < s->nusers; i++) {
		if (s->users[i].uid != c->uid)
			continue;
		if (--s->users[i].n == 0)
			s->users[i] = s->users[--s->nusers];
		break;
	}
}

/* Tell a peer we will not serve why, if its socket takes it, and close. */
void
courier_srv_refuse(courier_server *s, int fd, const char *why, bool say)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__Status		 st = COURIER__STATUS__INIT;
	struct courier_buf	 b = { 0 };

	if (say)
		courier_srv_warn(s, "refusing connections: %s", why);
	st.code = COURIER_RESOURCE_EXHAUSTED;
	st.message = (char *)why;
	f.body_case = COURIER__FRAME__BODY_ERROR;
	f.error = &st;
	courier_frame_pack(&b, &f);
	(void)courier_buf_write(&b, fd);
	courier_buf_free(&b);
	close(fd);
}

/* Accept what the listener has; on EMFILE, pause it for a while. */
static void
listener_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;
	courier_server	*s = l->server;
	struct sconn	*c;
	struct ucred	 cred;
	struct timeval	 tv;
	socklen_t	 len;
	const char	*why;
	bool		 say;
	int		 cfd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				courier_srv_warn(s, "accept: %s; pausing %d ms",
				    strerror(errno), ACCEPT_RETRY_MS);
				event_del(l->ev);
				tv.tv_sec = 0;
				tv.tv_usec = ACCEPT_RETRY_MS * 1000;
				event_add(l->retry, &tv);
			}
			return;
		}
		courier_socket_tune(cfd);

		c = xcalloc(1, sizeof *c);
		c->server = s;
		c->fd = cfd;
		atomic_init(&c->refs, 1);
		pthread_mutex_init(&c->wmtx, NULL);
		courier_arena_init(&c->arena);
		len = sizeof cred;
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		    len == sizeof cred && cred.pid != 0) {
			c->has_cred = true;
			c->uid = cred.uid;
			c->gid = cred.gid;
			c->pid = cred.pid;
		}
		c->rev = event_new(s->base, cfd, EV_READ | EV_PERSIST,
		    courier_conn_read_cb, c);
		c->wev = event_new(s->base, cfd, EV_WRITE, courier_conn_write_cb, c);
		if (c->rev == NULL || c->wev == NULL)
			fatalx("event_new failed");

		c->idle_since = mono_ns();	/* until its hello */

		pthread_mutex_lock(&s->mtx);
		why = s->state != SERVER_RUNNING ? "the server is stopping" :
		    conn_admit(s, c);
		if (why != NULL) {
			say = s->state == SERVER_RUNNING && !s->refusing;
			if (s->state == SERVER_RUNNING)
				s->refusing = true;
			pthread_mutex_unlock(&s->mtx);
			event_free(c->rev);
			event_free(c->wev);
			pthread_mutex_destroy(&c->wmtx);
			courier_arena_free(&c->arena);
			free(c);
			courier_srv_refuse(s, cfd, why, say);
			continue;
		}
		TAILQ_INSERT_TAIL(&s->conns, c, entry);
		pthread_mutex_unlock(&s->mtx);
		event_add(c->rev, NULL);
	}
}

/* Listen again after running out of fds. */
static void
listener_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	event_add(l->ev, NULL);
}

/* Add a listener on fd, owned from now on; listening if s is running. */
static int
listener_add(courier_server *s, int fd, char *unlink_path, char **cause)
{
	struct listener	*l;

	if (server_base(s, cause) != 0) {
		close(fd);
		free(unlink_path);
		return (-1);
	}
	l = xcalloc(1, sizeof *l);
	l->server = s;
	l->fd = fd;
	l->unlink_path = unlink_path;
	if ((l->address = courier_addr_of_fd(fd)) == NULL)
		l->address = xstrdup("unknown");
	l->ev = event_new(s->base, fd, EV_READ | EV_PERSIST,
	    listener_accept_cb, l);
	l->retry = evtimer_new(s->base, listener_retry_cb, l);
	if (l->ev == NULL || l->retry == NULL)
		fatalx("event_new failed");
	if (s->address == NULL)
		s->address = xstrdup(l->address);
	TAILQ_INSERT_TAIL(&s->listeners, l, entry);
	if (s->state == SERVER_RUNNING)
		event_add(l->ev, NULL);
	return (0);
}

/* Close a listener and remove the socket file it made. */
static void
listener_free(struct listener *l)
{
	event_free(l->ev);
	event_free(l->retry);
	close(l->fd);
	if (l->unlink_path != NULL)
		unlink(l->unlink_path);
	free(l->unlink_path);
	free(l->address);
	free(l);
}

/* Bind and listen on an address. */
int
courier_server_listen(courier_server *s, const char *address, char **cause)
{
	struct courier_addr	 a;
	char			*path = NULL;
	int			 fd;

	if (s->state != SERVER_NEW && s->state != SERVER_RUNNING) {
		set_cause(cause, "%s: the server is stopped", address);
		return (-1);
	}
	if (courier_addr_parse(address, &a, cause) != 0)
		return (-1);
	if ((fd = courier_addr_listen(&a, cause)) == -1) {
		courier_addr_clear(&a);
		return (-1);
	}
	if (a.family == AF_UNIX && a.path[0] != '@')
		path = xstrdup(a.path);
	courier_addr_clear(&a);
	return (listener_add(s, fd, path, cause));
}

/* Serve on a socket that is already listening. */
int
courier_server_listen_fd(courier_server *s, int fd, char **cause)
{
	int		 type = 0, on = 0, flags;
	socklen_t	 len;

	len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM) {
		set_cause(cause, "fd %d is not a stream socket", fd);
		close(fd);
		return (-1);
	}
	len = sizeof on;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on) {
		set_cause(cause, "fd %d is not listening", fd);
		close(fd);
		return (-1);
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		set_cause(cause, "fd %d: %s", fd, strerror(errno));
		close(fd);
		return (-1);
	}
	return (listener_add(s, fd, NULL, cause));
}

/* The first listener's address. */
const char *
courier_server_address(const courier_server *s)
{
	return (s->address);
}

/* Nothing to do: being run made the leader's loop return. */
static void
server_wake_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Start serving. */
int
courier_server_start(courier_server *s, char **cause)
{
	struct listener	*l;
	struct timeval	 tv;
	int		 period;

	if (s->state != SERVER_NEW) {
		set_cause(cause, "the server was already started");
		return (-1);
	}
	if (server_base(s, cause) != 0)
		return (-1);
	if (s->nmethods > 0)	/* methods is NULL without any */
		qsort(s->methods, s->nmethods, sizeof *s->methods, method_cmp);
	s->wake = event_new(s->base, -1, 0, server_wake_cb, s);
	s->resume = event_new(s->base, -1, 0, courier_conn_resume_cb, s);
	if (s->wake == NULL || s->resume == NULL)
		fatalx("event_new failed");
	if (s->idle_ms != COURIER_FOREVER) {
		s->sweep = event_new(s->base, -1, EV_PERSIST, courier_conn_sweep_cb,
		    s);
		if (s->sweep == NULL)
			fatalx("event_new failed");
		period = s->idle_ms / 4;
		if (period < SWEEP_MIN_MS)
			period = SWEEP_MIN_MS;
		if (period > SWEEP_MAX_MS)
			period = SWEEP_MAX_MS;
		tv.tv_sec = period / 1000;
		tv.tv_usec = (period % 1000) * 1000;
		event_add(s->sweep, &tv);
	}
	TAILQ_FOREACH(l, &s->listeners, entry)
		event_add(l->ev, NULL);

	s->maxthreads = s->nworkers + (s->own_base ? 1 : 0);
	s->workers = xcalloc(s->maxthreads == 0 ? 1 : s->maxthreads,
	    sizeof *s->workers);
	pthread_mutex_lock(&s->mtx);
	s->state = SERVER_RUNNING;
	if (s->own_base)
		courier_pool_start(s);
	pthread_mutex_unlock(&s->mtx);
	return (0);
}

/* Stop gracefully; see courier.h. */
unsigned
courier_server_stop(courier_server *s, int timeout_ms)
{
	struct request_list	 failed;
	struct courier_request	*req;
	struct listener		*l;
	struct sconn		*c;
	struct courier_buf	 b = { 0 };
	struct courier_arena	 a;
	int64_t			 deadline;
	unsigned		 running;
	size_t			 i;

	pthread_mutex_lock(&s->mtx);
	if (s->state != SERVER_RUNNING) {
		if (s->state == SERVER_NEW)
			s->state = SERVER_STOPPED;
		running = s->ninflight;
		pthread_mutex_unlock(&s->mtx);
		return (running);
	}
	s->state = SERVER_STOPPING;
	pthread_mutex_unlock(&s->mtx);
	/* Calls waiting for a batch will not get one. */
	for (i = 0; i < s->nmethods; i++) {
		if (s->methods[i].batch != NULL)
			courier_batch_stop(s->methods[i].batch);
	}

	if (s->sweep != NULL)
		event_del(s->sweep);
	while ((l = TAILQ_FIRST(&s->listeners)) != NULL) {
		TAILQ_REMOVE(&s->listeners, l, entry);
		listener_free(l);
	}

	deadline = courier_deadline(timeout_ms);
	pthread_mutex_lock(&s->mtx);
	while (s->ninflight != 0 && mono_ns() < deadline)
		courier_cond_wait(&s->drained, &s->mtx, deadline);
	TAILQ_INIT(&failed);
	while (!TAILQ_EMPTY(&s->queue)) {
		req = courier_srv_take(s);
		TAILQ_INSERT_TAIL(&failed, req, entry);
	}
	pthread_mutex_unlock(&s->mtx);

	courier_arena_init(&a);
	while ((req = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, req, entry);
		courier_req_answer(req, NULL, courier_error_new(
		    COURIER_UNAVAILABLE, "the server stopped before method "
		    "%s ran", req->method->name), &b, &a, false);
	}
	courier_buf_free(&b);
	courier_arena_free(&a);

	/* What is left in flight is running (or deferred) handlers. */
	pthread_mutex_lock(&s->mtx);
	s->state = SERVER_STOPPED;
	running = s->ninflight;
	pthread_mutex_unlock(&s->mtx);

	for (;;) {
		pthread_mutex_lock(&s->mtx);
		c = TAILQ_FIRST(&s->conns);
		if (c != NULL)
			courier_conn_ref(c);
		pthread_mutex_unlock(&s->mtx);
		if (c == NULL)
			break;
		pthread_mutex_lock(&c->wmtx);
		if (!c->dead)
			(void)courier_buf_write(&c->out, c->fd);
		pthread_mutex_unlock(&c->wmtx);
		courier_conn_close(c, "the server stopped");
		courier_conn_unref(c);
	}
	return (running);
}

/*
 * Wait up to handler_wait_ms for the handlers still running. Returns how
 * many still run, with their methods' names in *names (caller frees);
 * with abandon, they are left to their threads, detached (free's case).
 */
static unsigned
server_wait_handlers(courier_server *s, bool abandon, char **names)
{
	struct worker	*w;
	int64_t		 deadline;
	unsigned	 i, n = 0;
	char		*tmp;

	*names = NULL;
	deadline = courier_deadline(s->handler_wait_ms);
	pthread_mutex_lock(&s->mtx);
	while (s->nbusy != 0 && mono_ns() < deadline)
		courier_cond_wait(&s->drained, &s->mtx, deadline);
	for (i = 0; i < s->nthreads; i++) {
		w = &s->workers[i];
		if (w->running == NULL)
			continue;
		if (abandon && !w->lent) {
			w->abandoned = true;
			s->nabandoned++;
			pthread_detach(w->thread);
		}
		xasprintf(&tmp, "%s%s%s", *names != NULL ? *names : "",
		    *names != NULL ? ", " : "", w->running);
		free(*names);
		*names = tmp;
		n++;
	}
	pthread_mutex_unlock(&s->mtx);
	return (n);
}

/*
 * Stop and free the server. Handlers still running get handler_wait_ms to
 * return; those that do not are named and left running on their threads,
 * and the last of them frees the server when it returns (with the
 * caller's base, which may be gone by then, the server is left instead).
 */
void
courier_server_free(courier_server *s)
{
	unsigned	 i, n;
	char		*names;
	bool		 destroy;

	if (s == NULL)
		return;
	courier_server_stop(s, 0);

	pthread_mutex_lock(&s->mtx);
	s->exiting = true;
	pthread_cond_broadcast(&s->cv);
	pthread_cond_broadcast(&s->watch_cv);
	pthread_mutex_unlock(&s->mtx);
	if (s->wake != NULL)
		event_active(s->wake, 0, 0);

	if ((n = server_wait_handlers(s, true, &names)) != 0) {
		courier_srv_warn(s, "freed with %u handler%s still running after "
		    "%d ms (method %s): left running; %s", n, n == 1 ? "" :
		    "s", s->handler_wait_ms, names, s->own_base ? "the server "
		    "is freed when the last returns" : "the server's memory "
		    "stays, since its event loop is the caller's");
		free(names);
	}
	for (i = 0; i < s->nthreads; i++) {
		if (!s->workers[i].abandoned && !s->workers[i].lent)
			pthread_join(s->workers[i].thread, NULL);
	}

	pthread_mutex_lock(&s->mtx);
	/*
	 * A deferred request that another thread is answering uses the
	 * server (its connection, the base) until the answer is sent, which
	 * does not block: wait for it. Our caller may free us as soon as
	 * its client has the reply, before that thread has returned.
	 */
	while (s->nanswering != 0)
		pthread_cond_wait(&s->drained, &s->mtx);
	s->handed_over = s->own_base;
	destroy = s->nabandoned == 0;
	pthread_mutex_unlock(&s->mtx);
	if (destroy)
		courier_srv_destroy(s);
}

/*
 * For a process about to exit: stop, and wait for the handlers still
 * running as courier_server_free() does, but leave the idle threads where
 * they wait and the memory as it is. Waking each thread to join it, and
 * freeing what the exit frees anyway, costs a stopping node more than the
 * rest of its stop.
 */
void
courier_srv_quiesce(courier_server *s)
{
	unsigned	 n;
	char		*names;

	courier_server_stop(s, 0);
	if ((n = server_wait_handlers(s, false, &names)) != 0) {
		courier_srv_warn(s, "exiting with %u handler%s still running "
		    "after %d ms (method %s)", n, n == 1 ? "" : "s",
		    s->handler_wait_ms, names);
		free(names);
	}
}

/* Free what is left of a stopped server whose threads are all gone. */
void
courier_srv_destroy(courier_server *s)
{
	struct courier_request	*req;
	struct listener		*l;
	unsigned		 i;
	size_t			 j;

	/* A batch still running answers its calls before they go. */
	for (j = 0; j < s->nmethods; j++) {
		if (s->methods[j].batch != NULL)
			courier_batch_free(s->methods[j].batch);
	}
	for (i = 0; i < s->nthreads; i++) {
		courier_buf_free(&s->workers[i].scratch);
		courier_arena_free(&s->workers[i].arena);
	}
	free(s->workers);

	/* Deferred requests never answered are dropped. */
	while ((req = TAILQ_FIRST(&s->deferred)) != NULL) {
		TAILQ_REMOVE(&s->deferred, req, entry);
		courier_req_unref(req);
	}
	while ((l = TAILQ_FIRST(&s->listeners)) != NULL) {
		TAILQ_REMOVE(&s->listeners, l, entry);
		listener_free(l);
	}
	if (s->wake != NULL)
		event_free(s->wake);
	if (s->resume != NULL)
		event_free(s->resume);
	if (s->sweep != NULL)
		event_free(s->sweep);
	free(s->users);
	if (s->own_base)
		event_base_free(s->base);
	for (j = 0; j < s->nmethods; j++)
		free(s->methods[j].name);
	free(s->methods);
	free(s->address);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->drained);
	pthread_cond_destroy(&s->watch_cv);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}
