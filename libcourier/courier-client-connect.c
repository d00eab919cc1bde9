/*
 * courier-client-connect.c: how a client connects: one attempt (which a
 * calling thread or the helper makes, the client's lock dropped meanwhile),
 * the hello and the calls that waited for it, and backoff and cancelling
 * between attempts with wait_for_ready.
 */
#include <fcntl.h>

#include "courier-client.h"

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
		courier_cl_woken(c);
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
void
courier_cl_cancel_all(courier_client *c, const char *why, courier_future **done)
{
	if (c->cancelled == NULL)
		c->cancelled = courier_error_new(COURIER_CANCELLED, "%s", why);
	courier_cl_fail_all(c, false, COURIER_CANCELLED, why, done);
}

/*
 * A connection attempt failed with cause (taken); mtx held. Without
 * retry, the calls not sent fail; with it, returns how long to back off
 * before the next try (else 0).
 */
int
courier_cl_connect_failed(courier_client *c, char *cause, bool retry,
    courier_future **done)
{
	char	*msg;
	int	 ms;

	free(c->connect_error);
	c->connect_error = cause;
	if (!retry) {
		xasprintf(&msg, "cannot connect to %s", cause);
		courier_cl_fail_all(c, false, COURIER_UNAVAILABLE, msg, done);
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
 * Make a connected socket blocking, with reads that give up after a tick
 * (RECV_TICK_MS): every other read and write says MSG_DONTWAIT. False,
 * and the socket left as it was, if that fails.
 */
static bool
fd_set_blocking(int fd)
{
	struct timeval	 tv = { 0, RECV_TICK_MS * 1000 };
	int		 flags;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		return (false);
	return (true);
}

/*
 * Connected on fd: pack the unsent calls behind a hello and write them;
 * mtx held.
 */
void
courier_cl_connected(courier_client *c, int fd, courier_future **done)
{
	Courier__Frame	 fr = COURIER__FRAME__INIT;
	Courier__Hello	 hello = COURIER__HELLO__INIT;
	courier_future	*f, *next;
	char		*cause = NULL;

	c->backoff_ms = 0;
	c->fd_blocks = c->base == NULL && fd_set_blocking(fd);
	pthread_mutex_lock(&c->wmtx);
	c->fd = fd;
	c->gen++;
	hello.protocol_version = COURIER_PROTOCOL_VERSION;
	hello.agent = (char *)"libcourier";
	fr.body_case = COURIER__FRAME__BODY_HELLO;
	fr.hello = &hello;
	courier_frame_pack(&c->out, &fr);
	TAILQ_FOREACH_SAFE(f, &c->unsent, entry, next) {
		if (courier_cl_future_pack(c, f, f->args, f->kwargs, &c->out,
		    &cause) != 0) {
			courier_cl_future_complete(f, NULL, courier_error_new(
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
		courier_cl_table_add(c, f);
	}
	if (courier_cl_flush_locked(c) != 0)
		shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->wmtx);
}

/*
 * Try to connect once, waiting at most until limit; mtx held on entry and
 * exit, dropped while connecting. On success the unsent calls are packed
 * and written behind a hello. Returns 0 connected, -1 not (yet).
 */
int
courier_cl_connect(courier_client *c, int64_t limit, courier_future **done)
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
				courier_cl_woken(c);
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
		courier_cl_cancel_all(c, "cancelled", done);
		courier_cl_kick(c);
		return (-1);
	}
	if (fd == -1) {
		r = courier_cl_connect_failed(c, cause, retry, done);
		if (!retry) {
			courier_cl_kick(c);
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
		courier_cl_kick(c);
		return (-1);
	}
	free(cause);
	courier_cl_connected(c, fd, done);
	courier_cl_kick(c);
	return (0);
}
