/*
 * courier-server.c: the courier server.
 *
 * Threads. A server either runs on the caller's event_base (lpd's control
 * socket: I/O and inline handlers in the caller's loop, blocking handlers
 * on a pool) or on threads of its own. With its own threads it uses
 * leader/followers: of its pool of up to workers + 1 threads, one (the
 * leader) runs the event loop; when the loop hands it requests, it gives up
 * the loop to a follower, runs a request's handler itself and writes the
 * reply on the socket itself. A call thus costs no thread hand-off on the
 * server's critical path, and since at most `workers` threads run handlers,
 * one is always left to run the loop: a handler that blocks (even on a call
 * to another node) never stalls I/O.
 *
 * Replies. A thread with a reply writes it straight to the socket when
 * nothing is queued before it; what the socket does not take waits in the
 * connection's output buffer, flushed by the loop. Inline handlers' replies
 * are gathered and sent with one write per batch of frames read.
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
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "courier-internal.h"

/* Stop reading a connection whose unsent replies pass OUT_HIGH bytes. */
#define OUT_HIGH	(16 * 1024 * 1024)
#define OUT_LOW		(4 * 1024 * 1024)
/* Stop reading a connection with this many requests waiting for a thread. */
#define QUEUE_HIGH	4096
#define QUEUE_LOW	1024
/* Connections accepted per wake-up, and the pause after running out of fds. */
#define ACCEPT_BATCH	64
#define ACCEPT_RETRY_MS	100
/* Frames before the hello, which is a few bytes, are at most this big. */
#define HELLO_MAX	4096
/* The idle sweep runs this often, within its timeout's quarter. */
#define SWEEP_MIN_MS	10
#define SWEEP_MAX_MS	1000

enum server_state {
	SERVER_NEW,
	SERVER_RUNNING,
	SERVER_STOPPING,
	SERVER_STOPPED,
};

struct method {
	char			*name;
	courier_method_fn	 fn;
	void			*self;
	int			 flags;
};

struct listener {
	struct courier_server	*server;
	int			 fd;
	struct event		*ev;
	struct event		*retry;
	char			*address;
	char			*unlink_path;	/* the socket file we made */
	TAILQ_ENTRY(listener)	 entry;
};

/* Connections of one user (Unix peers), for the per-user limit. */
struct uid_count {
	uint32_t		 uid;
	unsigned		 n;
};

struct sconn {
	struct courier_server	*server;
	int			 fd;
	atomic_int		 refs;
	struct event		*rev;
	struct event		*wev;

	/* The loop thread's alone. */
	struct courier_buf	 in;
	size_t			 need;
	struct courier_arena	 arena;
	bool			 hello;
	bool			 paused;
	int64_t			 idle_since;	/* or 0: not subject to idling */
	size_t			 in_acct;	/* of in, counted in buffered */

	/* Under wmtx. */
	pthread_mutex_t		 wmtx;
	struct courier_buf	 out;
	bool			 wpending;	/* wev is armed */
	bool			 dead;
	size_t			 out_acct;	/* of out, counted in buffered */

	/* Under the server's mtx. */
	bool			 closed;
	unsigned		 nqueued;
	TAILQ_ENTRY(sconn)	 entry;

	bool			 has_cred;
	uint32_t		 uid;
	uint32_t		 gid;
	int32_t			 pid;
};

struct courier_request {
	struct sconn		*conn;
	atomic_int		 refs;		/* the runner's, and defer's */
	uint64_t		 id;
	const struct method	*method;
	courier_value		*args;
	courier_value		*kwargs;
	int64_t			 deadline;
	int64_t			 queued;
	bool			 deferred;
	TAILQ_ENTRY(courier_request) entry;
};
TAILQ_HEAD(request_list, courier_request);

/* A pool thread, with its own buffers for packing replies. */
struct worker {
	struct courier_server	*server;
	pthread_t		 thread;
	struct courier_buf	 scratch;
	struct courier_arena	 arena;
	const char		*running;	/* method; under mtx */
	bool			 abandoned;	/* left running by free */
};

struct courier_server {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;		/* idle pool threads */
	pthread_cond_t		 drained;	/* ninflight reached 0 */

	struct event_base	*base;
	bool			 own_base;
	struct event		*wake;		/* makes the leader return */
	struct event		*resume;	/* reads paused connections */
	struct event		*sweep;		/* closes idle connections */

	struct method		*methods;
	size_t			 nmethods;
	unsigned		 nworkers;
	size_t			 max_frame;
	char			*address;

	/* Limits; see courier.h. */
	unsigned		 max_conns;
	unsigned		 max_conns_per_user;
	int			 idle_ms;
	size_t			 max_buffered;
	atomic_size_t		 buffered;	/* in and out, all conns */

	/* Under mtx. */
	unsigned		 nconns;
	struct uid_count	*users;
	size_t			 nusers;
	bool			 refusing;	/* said so since last under */

	TAILQ_HEAD(listener_list, listener) listeners;
	TAILQ_HEAD(, sconn)	 conns;
	struct request_list	 queue;
	struct request_list	 deferred;

	enum server_state	 state;
	bool			 exiting;
	struct worker		*workers;
	unsigned		 nthreads;
	unsigned		 maxthreads;
	unsigned		 nbusy;		/* running handlers */
	unsigned		 nidle;		/* waiting on cv */
	unsigned		 nsignalled;	/* cv signals not yet taken */
	bool			 leader;	/* a thread runs the loop */
	unsigned		 ninflight;	/* requests not yet answered */

	/* courier_server_free's wait for handlers, and what it left. */
	int			 handler_wait_ms;
	unsigned		 nabandoned;	/* still running */
	bool			 handed_over;	/* the last of them frees */
};

static pthread_once_t	 evthread_once = PTHREAD_ONCE_INIT;

static void	 conn_read_cb(evutil_socket_t, short, void *);
static void	 conn_write_cb(evutil_socket_t, short, void *);
static void	 conn_close(struct sconn *, const char *);
static void	*server_worker(void *);
static void	 server_resume_cb(evutil_socket_t, short, void *);
static void	 server_sweep_cb(evutil_socket_t, short, void *);
static void	 server_destroy(courier_server *);

/* libevent must lock for threads before the first base exists. */
static void
evthread_init(void)
{
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads failed");
}

/* Report a problem that concerns one connection, not the caller. */
static void
server_warn(struct courier_server *s, const char *fmt, ...)
    COURIER_PRINTF(2, 3);
static void
server_warn(struct courier_server *s, const char *fmt, ...)
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
	return (0);
}

/* The method called name, or NULL. */
static const struct method *
method_find(courier_server *s, const char *name)
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
static void
conn_unadmit(courier_server *s, struct sconn *c)
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
static void
refuse(courier_server *s, int fd, const char *why, bool say)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__Status		 st = COURIER__STATUS__INIT;
	struct courier_buf	 b = { 0 };

	if (say)
		server_warn(s, "refusing connections: %s", why);
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
				server_warn(s, "accept: %s; pausing %d ms",
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
		    conn_read_cb, c);
		c->wev = event_new(s->base, cfd, EV_WRITE, conn_write_cb, c);
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
			refuse(s, cfd, why, say);
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

/* Spawn one more pool thread. */
static void
worker_spawn(courier_server *s)
{
	struct worker	*w = &s->workers[s->nthreads];
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	int		 error;

	w->server = s;
	courier_arena_init(&w->arena);
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
	s->nthreads++;
}

/* Wake an idle thread or start a new one; mtx held. */
static void
server_wake_one(courier_server *s)
{
	if (s->nidle > s->nsignalled) {
		s->nsignalled++;
		pthread_cond_signal(&s->cv);
	} else if (s->nthreads < s->maxthreads)
		worker_spawn(s);
}

/*
 * Make sure a thread runs the loop, once this one stops doing so; mtx held.
 * With the caller's base, the caller runs the loop.
 */
static void
server_ensure_leader(courier_server *s)
{
	if (s->own_base && !s->leader && s->nsignalled == 0)
		server_wake_one(s);
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
	s->resume = event_new(s->base, -1, 0, server_resume_cb, s);
	if (s->wake == NULL || s->resume == NULL)
		fatalx("event_new failed");
	if (s->idle_ms != COURIER_FOREVER) {
		s->sweep = event_new(s->base, -1, EV_PERSIST, server_sweep_cb,
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
		worker_spawn(s);	/* the first leader */
	pthread_mutex_unlock(&s->mtx);
	return (0);
}

/* Take a reference to a connection. */
static void
conn_ref(struct sconn *c)
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
	size_t	 now = b->cap, total;

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
static void
conn_unref(struct sconn *c)
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
static void
conn_out_account_locked(struct sconn *c)
{
	courier_server	*s = c->server;

	if (c->dead || !buf_account(s, &c->out, &c->out_acct))
		return;
	server_warn(s, "closing a connection: holding %zu bytes for replies "
	    "its peer does not read puts the server over its budget of %zu "
	    "bytes buffered", c->out.cap, s->max_buffered);
	conn_broken_locked(c);
}

/* Write what waits in c->out; wmtx held. -1 if the connection broke. */
static int
conn_flush_locked(struct sconn *c)
{
	ssize_t	 n;

	while (courier_buf_used(&c->out) != 0) {
		n = courier_buf_write(&c->out, c->fd);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->wpending) {
				c->wpending = true;
				event_add(c->wev, NULL);
			}
			return (0);
		}
		conn_broken_locked(c);
		return (-1);
	}
	courier_buf_compact(&c->out);
	conn_out_account_locked(c);
	return (0);
}

/*
 * Send the frames packed in b: straight to the socket if nothing waits
 * before them, else behind what waits. b is emptied.
 */
static void
conn_send(struct sconn *c, struct courier_buf *b)
{
	ssize_t	 n;
	void	*p;

	pthread_mutex_lock(&c->wmtx);
	if (c->dead)
		goto out;
	if (courier_buf_used(&c->out) == 0 && !c->wpending) {
		while (courier_buf_used(b) != 0) {
			n = courier_buf_write(b, c->fd);
			if (n > 0 || (n == -1 && errno == EINTR))
				continue;
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				break;
			conn_broken_locked(c);
			goto out;
		}
	}
	if (courier_buf_used(b) != 0) {
		p = courier_buf_reserve(&c->out, courier_buf_used(b));
		memcpy(p, b->data + b->off, courier_buf_used(b));
		c->out.len += courier_buf_used(b);
		if (!c->wpending) {
			c->wpending = true;
			event_add(c->wev, NULL);
		}
		conn_out_account_locked(c);
	}
out:
	pthread_mutex_unlock(&c->wmtx);
	b->off = b->len = 0;
	courier_buf_compact(b);
}

/* Queue a frame on c->out, to go with the batch (loop thread only). */
static void
conn_queue_frame(struct sconn *c, const Courier__Frame *f)
{
	pthread_mutex_lock(&c->wmtx);
	if (!c->dead) {
		courier_frame_pack(&c->out, f);
		conn_out_account_locked(c);
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
	server_warn(c->server, "closing a connection: %s", why);
	conn_queue_error(c, 0, code, why);
	pthread_mutex_lock(&c->wmtx);
	if (!c->dead)
		(void)courier_buf_write(&c->out, c->fd);
	pthread_mutex_unlock(&c->wmtx);
	conn_close(c, why);
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
static void
server_sweep_cb(evutil_socket_t fd, short what, void *arg)
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
			conn_ref(c);
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
		conn_unref(c);
	}
}

/* Read connections that were paused and may go on (loop thread). */
static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_server	*s = arg;
	struct sconn	*c, *list[64];
	size_t		 i, n = 0;

	pthread_mutex_lock(&s->mtx);
	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->paused && c->nqueued <= QUEUE_LOW && n < nitems(list)) {
			conn_ref(c);
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
		conn_unref(c);
	}
}

/* Drop a reference to a request; the last frees it and what it holds. */
static void
request_unref(struct courier_request *req)
{
	courier_server	*s = req->conn->server;

	if (atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1)
		return;
	courier_value_unref(req->args);
	courier_value_unref(req->kwargs);
	pthread_mutex_lock(&s->mtx);
	if (--s->ninflight == 0)
		pthread_cond_broadcast(&s->drained);
	pthread_mutex_unlock(&s->mtx);
	conn_unref(req->conn);
	free(req);
}

/*
 * Pack the answer to req into b: the result v, or err. A result that cannot
 * be encoded or is too big becomes an error answer.
 */
static void
request_pack(struct courier_request *req, courier_value *v, courier_error *err,
    struct courier_buf *b, struct courier_arena *a)
{
	courier_server			*s = req->conn->server;
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__Status			 st = COURIER__STATUS__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult		 result = COURIER__CALL_RESULT__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	char				*cause = NULL, *msg = NULL;
	size_t				 size;
	enum courier_code		 code = COURIER_INTERNAL;

	f.call_id = req->id;
	if (err == NULL && courier_value_to_pb(v, &o, a, &cause) != 0) {
		xasprintf(&msg, "method %s returned a value that cannot be "
		    "sent: %s", req->method->name, cause);
		free(cause);
	}
	if (err == NULL && msg == NULL) {
		result.result = &o;
		resp.result = &result;
		f.body_case = COURIER__FRAME__BODY_RESULT;
		f.result = &resp;
		size = courier__frame__get_packed_size(&f);
		if (size <= s->max_frame) {
			courier_frame_pack(b, &f);
			courier_arena_reset(a);
			return;
		}
		xasprintf(&msg, "method %s returned %zu bytes, over the frame "
		    "limit of %zu bytes", req->method->name, size,
		    s->max_frame);
		code = COURIER_RESOURCE_EXHAUSTED;
	}
	if (msg != NULL) {
		st.code = code;
		st.message = msg;
	} else {
		st.code = courier_error_code(err);
		st.message = (char *)courier_error_message(err);
	}
	f.body_case = COURIER__FRAME__BODY_ERROR;
	f.error = &st;
	courier_frame_pack(b, &f);
	courier_arena_reset(a);
	free(msg);
}

/*
 * Answer req with v (a reference, taken) or err (taken), and drop the
 * caller's reference to req. With b and a, the answer is packed there and
 * sent at once; without, it joins the loop thread's batch.
 */
static void
request_answer(struct courier_request *req, courier_value *v,
    courier_error *err, struct courier_buf *b, struct courier_arena *a)
{
	struct sconn	*c = req->conn;

	if (b != NULL) {
		request_pack(req, v, err, b, a);
		conn_send(c, b);
	} else {
		pthread_mutex_lock(&c->wmtx);
		if (!c->dead) {
			request_pack(req, v, err, &c->out, &c->arena);
			conn_out_account_locked(c);
		}
		pthread_mutex_unlock(&c->wmtx);
	}
	courier_value_unref(v);
	courier_error_free(err);
	request_unref(req);
}

/* Run a request's handler and answer it (unless the handler deferred). */
static void
request_run(struct courier_request *req, struct courier_buf *b,
    struct courier_arena *a)
{
	const struct method	*m = req->method;
	courier_error		*err = NULL;
	courier_value		*v;
	int64_t			 now;

	if (req->deadline != DEADLINE_NONE &&
	    (now = mono_ns()) >= req->deadline) {
		err = courier_error_new(COURIER_DEADLINE_EXCEEDED, "the "
		    "caller's deadline passed before method %s ran (it "
		    "waited %lld ms for a thread)", m->name,
		    (long long)((now - req->queued) / NSEC_PER_MSEC));
		request_answer(req, NULL, err, b, a);
		return;
	}
	v = m->fn(m->self, req, &err);
	if (req->deferred) {
		/* Another thread may have answered already: its reference. */
		courier_value_unref(v);
		courier_error_free(err);
		request_unref(req);
		return;
	}
	if (err != NULL) {
		courier_value_unref(v);
		v = NULL;
	} else if (v == NULL)
		v = courier_null();
	request_answer(req, v, err, b, a);
}

/* Take the next queued request; mtx held. */
static struct courier_request *
server_take(courier_server *s)
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

/* A pool thread: leader/followers with the server's own base. */
static void *
server_worker(void *arg)
{
	struct worker		*w = arg;
	courier_server		*s = w->server;
	struct courier_request	*req;
	bool			 last;

	pthread_mutex_lock(&s->mtx);
	for (;;) {
		if (s->exiting)
			break;
		if (!TAILQ_EMPTY(&s->queue) && s->nbusy < s->nworkers) {
			req = server_take(s);
			s->nbusy++;
			w->running = req->method->name;
			server_ensure_leader(s);
			pthread_mutex_unlock(&s->mtx);
			request_run(req, &w->scratch, &w->arena);
			pthread_mutex_lock(&s->mtx);
			w->running = NULL;
			if (--s->nbusy == 0)
				pthread_cond_broadcast(&s->drained);
			continue;
		}
		if (s->own_base && !s->leader) {
			s->leader = true;
			pthread_mutex_unlock(&s->mtx);
			event_base_loop(s->base,
			    EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
			pthread_mutex_lock(&s->mtx);
			s->leader = false;
			continue;
		}
		s->nidle++;
		pthread_cond_wait(&s->cv, &s->mtx);
		s->nidle--;
		if (s->nsignalled > 0)
			s->nsignalled--;
	}
	/* Left running by courier_server_free: the last one out frees. */
	last = w->abandoned && --s->nabandoned == 0 && s->handed_over;
	pthread_mutex_unlock(&s->mtx);
	if (last)
		server_destroy(s);
	return (NULL);
}

/* Answer a hello with ours, or refuse a version we do not speak. */
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

/* Start a call: answer it at once, run it inline, or queue it. */
static void
conn_call(struct sconn *c, uint64_t id, const Courier__CallRequest *call)
{
	courier_server		*s = c->server;
	struct courier_request	*req;
	const struct method	*m;
	courier_value		*args, *kwargs;
	char			*cause = NULL, *msg;
	bool			 stopping;

	pthread_mutex_lock(&s->mtx);
	stopping = s->state != SERVER_RUNNING;
	pthread_mutex_unlock(&s->mtx);
	if (stopping) {
		conn_queue_error(c, id, COURIER_UNAVAILABLE,
		    "the server is stopping");
		return;
	}
	if ((m = method_find(s, call->method)) == NULL) {
		xasprintf(&msg, "no method named \"%s\" on this server (see "
		    "its method list)", call->method);
		conn_queue_error(c, id, COURIER_NOT_FOUND, msg);
		free(msg);
		return;
	}
	if (courier_call_args_from_pb(call->arguments, &args, &kwargs,
	    &cause) != 0) {
		xasprintf(&msg, "method %s: %s", m->name, cause);
		conn_queue_error(c, id, COURIER_INVALID_ARGUMENT, msg);
		free(msg);
		free(cause);
		return;
	}

	req = xmalloc(sizeof *req);
	atomic_init(&req->refs, 1);
	req->conn = c;
	conn_ref(c);
	req->id = id;
	req->method = m;
	req->args = args;
	req->kwargs = kwargs;
	req->queued = mono_ns();
	/* A deadline past what the clock can count is no deadline. */
	if (call->timeout_us > 0 &&
	    call->timeout_us <= (INT64_MAX - req->queued) / 1000)
		req->deadline = req->queued + call->timeout_us * 1000;
	else
		req->deadline = DEADLINE_NONE;
	req->deferred = false;

	pthread_mutex_lock(&s->mtx);
	s->ninflight++;
	if ((m->flags & COURIER_METHOD_INLINE) || s->nworkers == 0) {
		pthread_mutex_unlock(&s->mtx);
		request_run(req, NULL, NULL);
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
		server_wake_one(s);
	pthread_mutex_unlock(&s->mtx);
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

/* Read and act on what a client sent (loop thread). */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	courier_server	*s = c->server;
	Courier__Frame	*f;
	char		*cause = NULL, *why;
	size_t		 used;
	ssize_t		 n;
	int		 r;

	switch (conn_backlogged(c)) {
	case -1:
		conn_close(c, NULL);
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
		conn_close(c, NULL);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c, strerror(errno));
		return;
	}
	for (;;) {
		/* Until the hello, a peer is not known to speak courier. */
		r = courier_frame_next(&c->in, c->hello ? s->max_frame :
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
		if ((r = conn_frame(c, f)) != 0)
			return;
		courier_arena_reset(&c->arena);
	}
	courier_buf_compact(&c->in);
	(void)buf_account(s, &c->in, &c->in_acct);
	/* A frame announced that will not fit: refuse it before reading. */
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
static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	bool		 resume = false;

	pthread_mutex_lock(&c->wmtx);
	c->wpending = false;
	if (!c->dead) {
		(void)conn_flush_locked(c);
		resume = c->paused && courier_buf_used(&c->out) <= OUT_LOW;
	}
	pthread_mutex_unlock(&c->wmtx);
	if (resume)
		server_resume_cb(-1, 0, c->server);
}

/*
 * Close a connection: no more reading or writing, and drop the server's
 * reference (requests in flight keep theirs; their replies are dropped).
 * Safe to call twice and from any thread.
 */
static void
conn_close(struct sconn *c, const char *why)
{
	courier_server	*s = c->server;

	pthread_mutex_lock(&s->mtx);
	if (c->closed) {
		pthread_mutex_unlock(&s->mtx);
		return;
	}
	c->closed = true;
	TAILQ_REMOVE(&s->conns, c, entry);
	conn_unadmit(s, c);
	pthread_mutex_unlock(&s->mtx);

	pthread_mutex_lock(&c->wmtx);
	c->dead = true;
	pthread_mutex_unlock(&c->wmtx);
	event_del(c->rev);
	event_del(c->wev);
	shutdown(c->fd, SHUT_RDWR);
	conn_unref(c);
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
		req = server_take(s);
		TAILQ_INSERT_TAIL(&failed, req, entry);
	}
	pthread_mutex_unlock(&s->mtx);

	courier_arena_init(&a);
	while ((req = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, req, entry);
		request_answer(req, NULL, courier_error_new(
		    COURIER_UNAVAILABLE, "the server stopped before method "
		    "%s ran", req->method->name), &b, &a);
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
			conn_ref(c);
		pthread_mutex_unlock(&s->mtx);
		if (c == NULL)
			break;
		pthread_mutex_lock(&c->wmtx);
		if (!c->dead)
			(void)courier_buf_write(&c->out, c->fd);
		pthread_mutex_unlock(&c->wmtx);
		conn_close(c, "the server stopped");
		conn_unref(c);
	}
	return (running);
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
	struct worker	*w;
	int64_t		 deadline;
	unsigned	 i, n = 0;
	char		*names = NULL, *tmp;
	bool		 destroy;

	if (s == NULL)
		return;
	courier_server_stop(s, 0);

	pthread_mutex_lock(&s->mtx);
	s->exiting = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
	if (s->wake != NULL)
		event_active(s->wake, 0, 0);

	deadline = courier_deadline(s->handler_wait_ms);
	pthread_mutex_lock(&s->mtx);
	while (s->nbusy != 0 && mono_ns() < deadline)
		courier_cond_wait(&s->drained, &s->mtx, deadline);
	for (i = 0; i < s->nthreads; i++) {
		w = &s->workers[i];
		if (w->running == NULL)
			continue;
		w->abandoned = true;
		s->nabandoned++;
		pthread_detach(w->thread);
		xasprintf(&tmp, "%s%s%s", names != NULL ? names : "",
		    names != NULL ? ", " : "", w->running);
		free(names);
		names = tmp;
		n++;
	}
	pthread_mutex_unlock(&s->mtx);
	if (n != 0) {
		server_warn(s, "freed with %u handler%s still running after "
		    "%d ms (method %s): left running; %s", n, n == 1 ? "" :
		    "s", s->handler_wait_ms, names, s->own_base ? "the server "
		    "is freed when the last returns" : "the server's memory "
		    "stays, since its event loop is the caller's");
		free(names);
	}
	for (i = 0; i < s->nthreads; i++) {
		if (!s->workers[i].abandoned)
			pthread_join(s->workers[i].thread, NULL);
	}

	pthread_mutex_lock(&s->mtx);
	s->handed_over = s->own_base;
	destroy = s->nabandoned == 0;
	pthread_mutex_unlock(&s->mtx);
	if (destroy)
		server_destroy(s);
}

/* Free what is left of a stopped server whose threads are all gone. */
static void
server_destroy(courier_server *s)
{
	struct courier_request	*req;
	struct listener		*l;
	unsigned		 i;
	size_t			 j;

	for (i = 0; i < s->nthreads; i++) {
		courier_buf_free(&s->workers[i].scratch);
		courier_arena_free(&s->workers[i].arena);
	}
	free(s->workers);

	/* Deferred requests never answered are dropped. */
	while ((req = TAILQ_FIRST(&s->deferred)) != NULL) {
		TAILQ_REMOVE(&s->deferred, req, entry);
		request_unref(req);
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
	pthread_mutex_destroy(&s->mtx);
	free(s);
}

/* The method's name. */
const char *
courier_request_method(const courier_request *req)
{
	return (req->method->name);
}

/* The positional arguments. */
const courier_value *
courier_request_args(const courier_request *req)
{
	return (req->args);
}

/* Positional argument i. */
const courier_value *
courier_request_arg(const courier_request *req, size_t i)
{
	return (courier_list_get(req->args, i));
}

/* The keyword arguments. */
const courier_value *
courier_request_kwargs(const courier_request *req)
{
	return (req->kwargs);
}

/* Keyword argument name. */
const courier_value *
courier_request_kwarg(const courier_request *req, const char *name)
{
	return (courier_dict_get(req->kwargs, name));
}

/* Milliseconds before the caller's deadline. */
int
courier_request_time_left(const courier_request *req)
{
	int64_t	 left;

	if (req->deadline == DEADLINE_NONE)
		return (COURIER_FOREVER);
	left = (req->deadline - mono_ns()) / NSEC_PER_MSEC;
	if (left < 0)
		return (0);
	return (left > INT32_MAX ? INT32_MAX : (int)left);
}

/* The caller's credentials. */
bool
courier_request_peer(const courier_request *req, uint32_t *uid, uint32_t *gid,
    int32_t *pid)
{
	const struct sconn	*c = req->conn;

	if (!c->has_cred)
		return (false);
	if (uid != NULL)
		*uid = c->uid;
	if (gid != NULL)
		*gid = c->gid;
	if (pid != NULL)
		*pid = c->pid;
	return (true);
}

/* Keep req to answer later. */
void
courier_request_defer(courier_request *req)
{
	courier_server	*s = req->conn->server;

	if (req->deferred)
		return;
	req->deferred = true;
	atomic_fetch_add_explicit(&req->refs, 1, memory_order_relaxed);
	pthread_mutex_lock(&s->mtx);
	TAILQ_INSERT_TAIL(&s->deferred, req, entry);
	pthread_mutex_unlock(&s->mtx);
}

/* Answer a deferred request, from any thread. */
static void
request_answer_deferred(courier_request *req, courier_value *v,
    courier_error *err)
{
	courier_server		*s = req->conn->server;
	struct courier_buf	 b = { 0 };
	struct courier_arena	 a;

	pthread_mutex_lock(&s->mtx);
	TAILQ_REMOVE(&s->deferred, req, entry);
	pthread_mutex_unlock(&s->mtx);
	courier_arena_init(&a);
	request_answer(req, v, err, &b, &a);
	courier_buf_free(&b);
	courier_arena_free(&a);
}

/* Answer a deferred request with a result. */
void
courier_request_reply(courier_request *req, courier_value *v)
{
	if (v == NULL)
		v = courier_null();
	request_answer_deferred(req, v, NULL);
}

/* Fail a deferred request. */
void
courier_request_fail(courier_request *req, enum courier_code code,
    const char *fmt, ...)
{
	courier_error	*err;
	va_list		 ap;

	va_start(ap, fmt);
	err = courier_error_newv(code, fmt, ap);
	va_end(ap);
	request_answer_deferred(req, NULL, err);
}
