/*
 * courier-client-loop.c: the client on a caller's event loop
 * (courier_client_set_base): the loop connects without blocking, reads
 * while connected, flushes, and ends calls at their deadlines with one
 * timer; no thread is started.
 */
#include "courier-client.h"

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
	c->kick_ev = event_new(base, -1, 0, courier_cl_loop_kick_cb, c);
	c->timer_ev = evtimer_new(base, courier_cl_loop_timer_cb, c);
	if (c->kick_ev == NULL || c->timer_ev == NULL)
		fatalx("event_new failed");
	if (fd >= 0)
		courier_client_set_cancel_fd(c, fd);
	return (0);
}

/* Arm the loop's timer for the earliest deadline or retry; mtx held. */
static void
base_arm_timer(courier_client *c)
{
	struct timeval	 tv;
	int64_t		 at, left;

	at = courier_cl_earliest_deadline(c);
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
void
courier_cl_loop_free_events(courier_client *c)
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
	courier_cl_connected(c, fd, done);
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

	ms = courier_cl_connect_failed(c, cause, retry, done);
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
void
courier_cl_loop_kick_cb(evutil_socket_t fd, short what, void *arg)
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
	courier_cl_expire_calls(c, &done);
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
	courier_cl_run_callbacks(done);
}

/* The timer fired: it is armed for nothing now; then the loop's turn. */
void
courier_cl_loop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;

	pthread_mutex_lock(&c->mtx);
	c->timer_at = DEADLINE_NONE;
	pthread_mutex_unlock(&c->mtx);
	courier_cl_loop_kick_cb(fd, what, arg);
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
	courier_cl_run_callbacks(done);
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
	courier_cl_read(c, mono_ns(), NULL, &done);
	if (c->fd == -1 && !TAILQ_EMPTY(&c->unsent))
		event_active(c->kick_ev, EV_TIMEOUT, 0);
	base_arm_timer(c);
	pthread_mutex_unlock(&c->mtx);
	courier_cl_run_callbacks(done);
}

/* The socket takes more of what waits (loop). */
static void
base_write_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;

	pthread_mutex_lock(&c->wmtx);
	if (c->fd != -1) {
		if (courier_cl_flush_locked(c) != 0)
			shutdown(c->fd, SHUT_RDWR);	/* read_cb ends it */
		else if (courier_buf_used(&c->out) != 0)
			event_add(c->write_ev, NULL);
	}
	pthread_mutex_unlock(&c->wmtx);
}

/* The cancel fd fired: every call ends, now and later (loop). */
void
courier_cl_loop_cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	courier_client	*c = arg;
	courier_future	*done = NULL;

	pthread_mutex_lock(&c->mtx);
	courier_cl_cancel_all(c, "cancelled", &done);
	pthread_mutex_unlock(&c->mtx);
	courier_cl_run_callbacks(done);
}
