/*
 * courier-server.h: what the server's four files share, and nobody else:
 * courier-server.c (the server, its listeners, start and stop),
 * courier-pool.c (its threads), courier-conn.c (a connection: reading
 * frames, writing replies, limits) and courier-request.c (a call's life:
 * run, answer, defer).
 */
#ifndef COURIER_SERVER_H
#define COURIER_SERVER_H

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
/* A pool thread gathers answers to one connection up to this many bytes. */
#define HOLD_MAX	(64 * 1024)
/* Stop reading a connection with this many requests waiting for a thread. */
#define QUEUE_HIGH	4096
#define QUEUE_LOW	1024
/* Connections accepted per wake-up, and the pause after running out of fds. */
#define ACCEPT_BATCH	64
#define ACCEPT_RETRY_MS	100
/* Frames before the hello, which is a few bytes, are at most this big. */
#define HELLO_MAX	4096
/*
 * With its own threads, a server hands the loop to another thread only
 * when a handler has kept it for a tick, or sooner when the handler waits
 * on a courier call; a queued request waits a tick before another thread
 * takes it. A watch that found nothing to do for QUIET_TICKS ticks sleeps
 * until woken.
 */
#define LEAD_TICK_NS	(1000 * 1000)
#define QUIET_TICKS	100
/* The fds courier_srv_lend() watches, at most. */
#define LEND_FDS_MAX	4
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
	struct courier_batch	*batch;		/* a batched method's */
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
	bool			 held;		/* out holds gathered replies */
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
	bool			 lent;		/* courier_srv_lend()'s caller */
};

struct courier_server {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;		/* idle pool threads */
	pthread_cond_t		 drained;	/* a count of requests hit 0 */

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
	unsigned		 nstarting;	/* spawned, not yet running */
	uint64_t		 ntaken;	/* requests taken, ever */
	bool			 leader;	/* a thread runs the loop */
	int64_t			 unled_since;	/* no thread has run it since */
	bool			 lead_asked;	/* a handler waits: lead now */
	/* The watch: an idle thread on a timed wait while threads are busy. */
	pthread_cond_t		 watch_cv;
	bool			 watching;	/* a thread has the watch */
	bool			 watch_asleep;	/* ... and waits untimed */
	/* A thread lent by courier_srv_lend(), slot 0 of workers. */
	bool			 lend;		/* set before start */
	bool			 lent_leave;	/* its fds are readable */
	unsigned		 ninflight;	/* requests not yet answered */
	unsigned		 nanswering;	/* deferred ones being answered */

	/* courier_server_free's wait for handlers, and what it left. */
	int			 handler_wait_ms;
	unsigned		 nabandoned;	/* still running */
	bool			 handed_over;	/* the last of them frees */
};

/* courier-server.c */
int	 courier_srv_add_method(courier_server *, const char *,
	    courier_method_fn, void *, int, struct courier_batch *, char **);
void	 courier_srv_warn(struct courier_server *, const char *, ...)
	    COURIER_PRINTF(2, 3);
const struct method *courier_srv_method_find(courier_server *, const char *);
void	 courier_srv_unadmit(courier_server *, struct sconn *);
void	 courier_srv_refuse(courier_server *, int, const char *, bool);
void	 courier_srv_destroy(courier_server *);

/* courier-pool.c */
void	 courier_pool_start(courier_server *);
bool	 courier_srv_wake_one(courier_server *);
struct courier_request *courier_srv_take(courier_server *);

/* courier-conn.c */
void	 courier_conn_ref(struct sconn *);
void	 courier_conn_unref(struct sconn *);
void	 courier_conn_out_account_locked(struct sconn *);
void	 courier_conn_send(struct sconn *, struct courier_buf *, bool);
void	 courier_conn_close(struct sconn *, const char *);
void	 courier_conn_read_cb(evutil_socket_t, short, void *);
void	 courier_conn_write_cb(evutil_socket_t, short, void *);
void	 courier_conn_sweep_cb(evutil_socket_t, short, void *);
void	 courier_conn_resume_cb(evutil_socket_t, short, void *);

/* courier-batch.c */
void	 courier_batch_stop(struct courier_batch *);
void	 courier_batch_free(struct courier_batch *);

/* courier-request.c */
void	 courier_req_unref(struct courier_request *);
void	 courier_req_answer(struct courier_request *, courier_value *,
	    courier_error *, struct courier_buf *, struct courier_arena *, bool);
void	 courier_req_run(struct courier_request *, struct courier_buf *,
	    struct courier_arena *, bool);

#endif /* COURIER_SERVER_H */
