/*
 * courier-client.h: what the client's four files share, and nobody else:
 * courier-client.c (the connection, its roles and I/O),
 * courier-client-connect.c (connecting and backoff), courier-future.c
 * (calls and their futures) and courier-client-loop.c (the client on a
 * caller's event loop).
 */
#ifndef COURIER_CLIENT_H
#define COURIER_CLIENT_H

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

/*
 * A thread that waits for its call reads with a blocking recv instead of
 * poll and a read when nothing else can need it meanwhile: one system
 * call instead of two, and a wake-up straight from the socket. Such a
 * recv returns after at most RECV_TICK_MS (SO_RCVTIMEO), and that wait
 * polls from then on, so a new write backlog or a cancel is seen within
 * a tick, and a long call costs one spurious wake-up.
 */
#define RECV_TICK_MS		10

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
	char			*method;	/* after the struct */
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
	bool			 fd_blocks;	/* fd is blocking: see below */
	bool			 in_recv;	/* a reader blocks in recv */
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

/* courier-client.c */
void	 courier_cl_unref(courier_client *);
void	 courier_cl_wake(courier_client *);
void	 courier_cl_woken(courier_client *);
void	 courier_cl_fail_all(courier_client *, bool, enum courier_code,
	    const char *, courier_future **);
void	 courier_cl_kick(courier_client *);
void	 courier_cl_table_add(courier_client *, courier_future *);
void	 courier_cl_future_complete(courier_future *, courier_value *,
	    courier_error *, courier_future **);
void	 courier_cl_run_callbacks(courier_future *);
int	 courier_cl_future_pack(courier_client *, courier_future *,
	    const courier_value *, const courier_value *, struct courier_buf *,
	    char **);
int	 courier_cl_flush_locked(courier_client *);
void	 courier_cl_send(courier_client *, uint64_t, struct courier_buf *);
int64_t	 courier_cl_earliest_deadline(courier_client *);
void	 courier_cl_expire_calls(courier_client *, courier_future **);
void	 courier_cl_read(courier_client *, int64_t, bool *,
	    courier_future **);

/* courier-client-connect.c */
void	 courier_cl_cancel_all(courier_client *, const char *,
	    courier_future **);
int	 courier_cl_connect_failed(courier_client *, char *, bool,
	    courier_future **);
void	 courier_cl_connected(courier_client *, int, courier_future **);
int	 courier_cl_connect(courier_client *, int64_t, courier_future **);

/* courier-client-loop.c */
void	 courier_cl_loop_free_events(courier_client *);
void	 courier_cl_loop_kick_cb(evutil_socket_t, short, void *);
void	 courier_cl_loop_timer_cb(evutil_socket_t, short, void *);
void	 courier_cl_loop_cancel_cb(evutil_socket_t, short, void *);

/* courier-future.c */
void	 courier_cl_future_unref(courier_future *);

#endif /* COURIER_CLIENT_H */
