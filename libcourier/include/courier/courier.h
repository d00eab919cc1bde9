/*
 * courier.h: values, the courier server, the client and its futures.
 *
 * Courier is the RPC layer of lpd: a node serves named methods; other nodes
 * call them with positional and keyword arguments, synchronously or through
 * futures. Calls travel as protobuf messages over Unix or TCP sockets, many
 * in flight on one connection.
 *
 * Ownership: a function that takes a courier_value * "steals" it (the caller
 * gives up its reference) unless the parameter is const. Functions returning
 * courier_value * give the caller a new reference, released with
 * courier_value_unref(). Functions returning const courier_value * lend a
 * borrowed one that lives as long as its container.
 *
 * Thread safety: values are reference counted atomically and may be shared
 * between threads once they are no longer modified. Clients and servers are
 * safe to use from many threads at once. Nothing in this library is global:
 * several servers and clients live in one process independently.
 */
#ifndef COURIER_COURIER_H
#define COURIER_COURIER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility: what is declared here is
 * its interface, and the only names it exports. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#if defined(__GNUC__)
#define COURIER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define COURIER_PRINTF(a, b)
#endif

struct event_base;

typedef struct courier_value courier_value;
typedef struct courier_error courier_error;
typedef struct courier_server courier_server;
typedef struct courier_request courier_request;
typedef struct courier_client courier_client;
typedef struct courier_future courier_future;

/** Wait or time out forever. */
#define COURIER_FOREVER (-1)

/** The largest frame accepted by default: 64 MiB. */
#define COURIER_MAX_FRAME_DEFAULT (64u * 1024 * 1024)

/** The protocol version this library speaks. */
#define COURIER_PROTOCOL_VERSION 1

/* ------------------------------------------------------------------ */
/* Status codes and errors                                             */
/* ------------------------------------------------------------------ */

/** gRPC's status codes, with gRPC's numbers. */
enum courier_code {
	COURIER_OK = 0,
	COURIER_CANCELLED = 1,
	COURIER_UNKNOWN = 2,
	COURIER_INVALID_ARGUMENT = 3,
	COURIER_DEADLINE_EXCEEDED = 4,
	COURIER_NOT_FOUND = 5,
	COURIER_ALREADY_EXISTS = 6,
	COURIER_PERMISSION_DENIED = 7,
	COURIER_RESOURCE_EXHAUSTED = 8,
	COURIER_FAILED_PRECONDITION = 9,
	COURIER_ABORTED = 10,
	COURIER_OUT_OF_RANGE = 11,
	COURIER_UNIMPLEMENTED = 12,
	COURIER_INTERNAL = 13,
	COURIER_UNAVAILABLE = 14,
	COURIER_DATA_LOSS = 15,
	COURIER_UNAUTHENTICATED = 16,
};

/** The name of a status code ("NOT_FOUND"), or "UNKNOWN" for others. */
const char	*courier_code_name(enum courier_code code);

/**
 * Make an error with a status code and a printf-style message.
 * @return a new error, freed with courier_error_free().
 */
courier_error	*courier_error_new(enum courier_code code, const char *fmt, ...)
		    COURIER_PRINTF(2, 3);

/** Set *err to a new error if err is not NULL and *err is NULL. */
void		 courier_error_set(courier_error **err, enum courier_code code,
		    const char *fmt, ...) COURIER_PRINTF(3, 4);

/** Free an error; NULL is accepted. */
void		 courier_error_free(courier_error *err);

/** The error's status code. */
enum courier_code courier_error_code(const courier_error *err);

/** The error's message, never NULL. */
const char	*courier_error_message(const courier_error *err);

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

enum courier_type {
	COURIER_NULL,
	COURIER_BOOL,
	COURIER_INT,
	COURIER_DOUBLE,
	COURIER_STRING,		/* UTF-8 text (Python str) */
	COURIER_BYTES,		/* raw bytes (Python bytes) */
	COURIER_LIST,
	COURIER_DICT,		/* string keys, insertion order kept */
	COURIER_TENSOR,		/* dtype, shape, contiguous row-major data */
};

/** Tensor element types, numbered as TensorFlow's DataType. */
enum courier_dtype {
	COURIER_DT_FLOAT = 1,
	COURIER_DT_DOUBLE = 2,
	COURIER_DT_INT32 = 3,
	COURIER_DT_UINT8 = 4,
	COURIER_DT_INT16 = 5,
	COURIER_DT_INT8 = 6,
	COURIER_DT_COMPLEX64 = 8,
	COURIER_DT_INT64 = 9,
	COURIER_DT_BOOL = 10,
	COURIER_DT_BFLOAT16 = 14,
	COURIER_DT_UINT16 = 17,
	COURIER_DT_COMPLEX128 = 18,
	COURIER_DT_HALF = 19,
	COURIER_DT_UINT32 = 22,
	COURIER_DT_UINT64 = 23,
};

/** The most dimensions a tensor may have. */
#define COURIER_TENSOR_MAX_DIMS 32

/** How deeply lists and dicts may nest, in values built or decoded. */
#define COURIER_MAX_DEPTH 100

/** The null value (Python None). */
courier_value	*courier_null(void);
/** A boolean. */
courier_value	*courier_bool(bool b);
/** A 64-bit signed integer. */
courier_value	*courier_int(int64_t i);
/** A double. */
courier_value	*courier_double(double d);
/**
 * A string from NUL-terminated UTF-8 text.
 * @return the value, or NULL if s is NULL or not valid UTF-8.
 */
courier_value	*courier_string(const char *s);
/** A string of len bytes of UTF-8 (NUL bytes allowed); NULL if invalid. */
courier_value	*courier_string_len(const char *s, size_t len);
/** A string from a printf-style format; NULL if the result is not UTF-8. */
courier_value	*courier_stringf(const char *fmt, ...) COURIER_PRINTF(1, 2);
/** Bytes, copied. */
courier_value	*courier_bytes(const void *data, size_t len);
/** An empty list. */
courier_value	*courier_list_new(void);
/** An empty dict. */
courier_value	*courier_dict_new(void);
/**
 * A tensor: dtype, ndim dimensions of shape, and nbytes of row-major data
 * (copied). nbytes must equal the product of the shape times the element
 * size.
 * @return the tensor, or NULL with *cause set (caller frees) if invalid.
 */
courier_value	*courier_tensor_new(enum courier_dtype dtype, size_t ndim,
		    const int64_t *shape, const void *data, size_t nbytes,
		    char **cause);

/** Take a new reference to v and return it (v may be NULL). */
courier_value	*courier_value_ref(const courier_value *v);
/** Drop a reference; the value is freed with its last one. NULL is fine. */
void		 courier_value_unref(courier_value *v);

/** The value's type. */
enum courier_type courier_value_type(const courier_value *v);
/** The name of a type: "null", "bool", "int", ... */
const char	*courier_type_name(enum courier_type t);
/** Deep equality (doubles compare by value; NaN equals NaN). */
bool		 courier_value_equal(const courier_value *a,
		    const courier_value *b);

/** Boolean of a bool value; false for other types. */
bool		 courier_value_bool(const courier_value *v);
/** Integer of an int value; 0 for other types. */
int64_t		 courier_value_int(const courier_value *v);
/** Number of a double or an int value; 0 for other types. */
double		 courier_value_double(const courier_value *v);
/** Text of a string value (NUL-terminated), or NULL; *len if not NULL. */
const char	*courier_value_string(const courier_value *v, size_t *len);
/**
 * Data of a bytes value, or NULL; *len if not NULL. A big value received
 * in a call may share the memory of the frame it came in: it is still
 * the value's own for as long as the value lives, and never changes.
 */
const void	*courier_value_bytes(const courier_value *v, size_t *len);

/** Number of items of a list (0 for other types). */
size_t		 courier_list_len(const courier_value *list);
/** Item i of a list (borrowed), or NULL if out of range or not a list. */
const courier_value *courier_list_get(const courier_value *list, size_t i);
/** Append item (stolen) to list. @return 0, or -1 if list is not a list,
 * item is NULL, or nesting would exceed COURIER_MAX_DEPTH. item is released
 * on failure too. A list or dict put inside another is sealed: it is
 * read-only from then on (appending to it or setting its keys fails, as
 * does appending a list to itself), so values never form cycles. */
int		 courier_list_append(courier_value *list, courier_value *item);

/** Sentinel ending courier_list_of()'s arguments. */
extern const char courier_end_[];
#define COURIER_END ((courier_value *)(uintptr_t)courier_end_)

/**
 * A list of the given items (stolen), ended by COURIER_END.
 * @return the list, or NULL if any item is NULL (the others are released).
 */
courier_value	*courier_list_of(courier_value *first, ...);
/** The positional arguments of a call: courier_args(courier_int(1), ...). */
#define courier_args(...) courier_list_of(__VA_ARGS__, COURIER_END)

/** Number of entries of a dict (0 for other types). */
size_t		 courier_dict_len(const courier_value *dict);
/** The value under key (borrowed), or NULL. */
const courier_value *courier_dict_get(const courier_value *dict,
		    const char *key);
/** Key of entry i, in insertion order, or NULL. */
const char	*courier_dict_key(const courier_value *dict, size_t i);
/** Value of entry i (borrowed), or NULL. */
const courier_value *courier_dict_value(const courier_value *dict, size_t i);
/**
 * Set key to val (stolen), replacing an earlier value in place.
 * @return 0, or -1 if dict is not a dict, key is not UTF-8, val is NULL or
 * nesting would exceed COURIER_MAX_DEPTH (val is released on failure).
 */
int		 courier_dict_set(courier_value *dict, const char *key,
		    courier_value *val);

/** A tensor's element type. */
enum courier_dtype courier_tensor_dtype(const courier_value *t);
/** A tensor's number of dimensions; its shape in *shape if not NULL. */
size_t		 courier_tensor_shape(const courier_value *t,
		    const int64_t **shape);
/**
 * A tensor's data and its size in bytes. The data is aligned for its
 * dtype (a received tensor may share its frame's memory, as bytes do).
 */
const void	*courier_tensor_data(const courier_value *t, size_t *nbytes);
/** Size in bytes of one element of dtype, or 0 if dtype is unknown. */
size_t		 courier_dtype_size(enum courier_dtype dtype);
/** numpy-style name of dtype ("float32"), or NULL if unknown. */
const char	*courier_dtype_name(enum courier_dtype dtype);
/** The dtype of a numpy-style name; -1 if unknown. */
int		 courier_dtype_from_name(const char *name);

/*
 * JSON. null, bools, numbers, strings, arrays and objects map to their
 * natural values (integers that fit in int64 become ints, other numbers
 * doubles). Bytes are {"$bytes": "<base64>"} and tensors are
 * {"$tensor": {"dtype": "float32", "shape": [2, 3], "data": "<base64>"}};
 * both forms are read back. NaN and infinities have no JSON form.
 */

/** Parse JSON text into a value. @return NULL with *cause set on error. */
courier_value	*courier_value_from_json(const char *text, char **cause);
/** Format a value as JSON (compact unless pretty). @return a string the
 * caller frees, or NULL with *cause set. */
char		*courier_value_to_json(const courier_value *v, bool pretty,
		    char **cause);

/*
 * The protobuf form: a courier.SerializedObject, as Launchpad's Courier
 * encodes values. Decoding checks everything (nesting depth, UTF-8, tensor
 * sizes) and never trusts a length beyond the bytes it was given.
 */

/** Encode v. @return 0 and a malloc'd buffer in *buf, or -1 and *cause. */
int		 courier_value_encode(const courier_value *v, uint8_t **buf,
		    size_t *len, char **cause);
/** Decode len bytes. @return the value, or NULL with *cause set. */
courier_value	*courier_value_decode(const uint8_t *buf, size_t len,
		    char **cause);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/*
 * An address is "unix:PATH" (a Unix socket; "unix:@NAME" is Linux's
 * abstract namespace) or "tcp:HOST:PORT" (HOST a name, an IPv4 address or a
 * bracketed IPv6 address; PORT 0 on a server picks a free port).
 */

/** Check an address's form. @return true, or false with *cause set. */
bool		 courier_address_valid(const char *address, char **cause);

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

/**
 * A method. self is what was registered with it; req gives the arguments.
 * Return the result (a new reference; NULL means the null value), or set
 * *err (courier_error_new()) and return NULL to fail the call. A handler
 * that calls courier_request_defer() returns NULL and answers later.
 */
typedef courier_value *(*courier_method_fn)(void *self, courier_request *req,
    courier_error **err);

/** Method flag: the handler never blocks; run it on the I/O thread. */
#define COURIER_METHOD_INLINE 0x1

/** Handler threads used when courier_server_set_workers() is not called. */
#define COURIER_WORKERS_DEFAULT 4

/** A new server with no method and no address yet. */
courier_server	*courier_server_new(void);

/**
 * Run at most n handlers at once, each on a thread of the server's pool
 * (default COURIER_WORKERS_DEFAULT). 0 runs every handler on the I/O
 * thread, as if all were COURIER_METHOD_INLINE. Before start only.
 *
 * The thread that reads a call runs its handler. Another takes over the
 * reading as soon as the handler waits on a courier call, or after it has
 * run for a millisecond; a call waits as long for a second thread while
 * the first runs the calls queued before it.
 */
int		 courier_server_set_workers(courier_server *s, unsigned n);
/** Refuse frames over n bytes (default 64 MiB). Before start only. */
int		 courier_server_set_max_frame(courier_server *s, size_t n);

/** Connections a server keeps open at once, by default. */
#define COURIER_MAX_CONNS_DEFAULT 1024
/** Milliseconds a connection may idle with a frame unfinished, by default. */
#define COURIER_IDLE_TIMEOUT_DEFAULT 30000
/** Bytes a server buffers in and out for all its connections, by default. */
#define COURIER_MAX_BUFFERED_DEFAULT (256u * 1024 * 1024)

/**
 * Keep at most total connections open (default COURIER_MAX_CONNS_DEFAULT)
 * and at most per_user from one user (Unix peers, by SO_PEERCRED; default
 * no limit); 0 means no limit. A connection over a limit is sent an error
 * frame (RESOURCE_EXHAUSTED, saying which limit) and closed; the peer's
 * calls fail with it. Before start only.
 */
int		 courier_server_set_max_conns(courier_server *s,
		    unsigned total, unsigned per_user);
/**
 * Close a connection that sends no hello within ms of connecting, or that
 * stops for ms in the middle of a frame (default
 * COURIER_IDLE_TIMEOUT_DEFAULT; COURIER_FOREVER never does). A client
 * that is connected and idle between calls is never closed. The peer is
 * told why (DEADLINE_EXCEEDED). Before start only.
 */
int		 courier_server_set_idle_timeout(courier_server *s, int ms);
/**
 * Bound the bytes the server buffers for all its connections together:
 * frames being read and replies not yet taken by their peers (default
 * COURIER_MAX_BUFFERED_DEFAULT; keep it at least twice the frame limit).
 * The connection whose buffer grows past the budget is closed with
 * RESOURCE_EXHAUSTED; the others go on. Before start only.
 */
int		 courier_server_set_max_buffered(courier_server *s, size_t n);

/** How long courier_server_free() waits for running handlers, by default. */
#define COURIER_HANDLER_WAIT_DEFAULT 10000
/**
 * Let courier_server_free() wait at most ms (default
 * COURIER_HANDLER_WAIT_DEFAULT; COURIER_FOREVER waits forever) for
 * handlers still running on the server's threads. Handlers that have not
 * returned by then are named on stderr and left running; the server is
 * freed when the last of them returns (on the caller's event_base, its
 * memory is left instead, since the base may be gone by then). Any time.
 */
int		 courier_server_set_handler_wait(courier_server *s, int ms);
/**
 * Run on the caller's event loop instead of threads of the server's own:
 * I/O and inline handlers run in base's callbacks, and the caller runs the
 * loop. Worker threads, if any, still run blocking handlers. Before start.
 */
int		 courier_server_set_base(courier_server *s,
		    struct event_base *base);

/**
 * Register a method under name (unique). Before start only.
 * @return 0, or -1 with *cause set.
 */
int		 courier_server_add_method(courier_server *s, const char *name,
		    courier_method_fn fn, void *self, int flags, char **cause);

/**
 * A batched method's handler: the calls of n callers at once. args holds
 * one entry per positional argument and kwargs one per keyword, each the
 * n callers' values stacked: a tensor of leading dimension n when every
 * caller passed a tensor of one dtype and shape, else a list of n values.
 * Return n results: a list of n values, or a tensor of leading dimension
 * n (caller i gets row i); or set *err, which every caller then gets.
 */
typedef courier_value *(*courier_batch_fn)(void *self,
    const courier_value *args, const courier_value *kwargs, size_t n,
    courier_error **err);

/**
 * Register a batched method (Launchpad's batched_handler): concurrent
 * calls are gathered and fn runs once for up to max_batch of them, when
 * that many wait or when the first has waited max_wait_ms. Calls whose
 * arguments differ in count or keywords go in separate batches. fn runs
 * on a thread of the method's own, one batch at a time. A call whose
 * deadline passes while it waits gets DEADLINE_EXCEEDED and is left out;
 * at the server's stop, waiting calls get UNAVAILABLE, and
 * courier_server_free() waits for a batch that runs. Before start only.
 * @return 0, or -1 with *cause set.
 */
int		 courier_server_add_batched_method(courier_server *s,
		    const char *name, courier_batch_fn fn, void *self,
		    size_t max_batch, int max_wait_ms, char **cause);

/** Bind and listen on an address. @return 0, or -1 with *cause set. */
int		 courier_server_listen(courier_server *s, const char *address,
		    char **cause);
/**
 * Serve on fd, a socket already bound and listening (lpd hands one over
 * in LP_LISTEN_FD). The server owns fd from then on, also on failure.
 */
int		 courier_server_listen_fd(courier_server *s, int fd,
		    char **cause);
/** The address of the first listener, with the port that was picked. */
const char	*courier_server_address(const courier_server *s);

/** Start serving. @return 0, or -1 with *cause set. */
int		 courier_server_start(courier_server *s, char **cause);

/**
 * Stop gracefully: close the listeners, answer new calls with
 * UNAVAILABLE, and wait up to timeout_ms for the calls in flight to end.
 * Calls still queued after that fail with UNAVAILABLE; replies of handlers
 * still running are dropped. Connections are closed. Idempotent.
 * @return the number of handlers still running.
 */
unsigned	 courier_server_stop(courier_server *s, int timeout_ms);

/**
 * Stop (at once if not yet stopped) and free the server. Waits for running
 * handlers to return: a handler that never returns blocks this.
 */
void		 courier_server_free(courier_server *s);

/** The method's name. */
const char	*courier_request_method(const courier_request *req);
/** The positional arguments, a list (borrowed, never NULL). */
const courier_value *courier_request_args(const courier_request *req);
/** Positional argument i (borrowed), or NULL if there are fewer. */
const courier_value *courier_request_arg(const courier_request *req,
		    size_t i);
/** The keyword arguments, a dict (borrowed, never NULL). */
const courier_value *courier_request_kwargs(const courier_request *req);
/** Keyword argument name (borrowed), or NULL. */
const courier_value *courier_request_kwarg(const courier_request *req,
		    const char *name);
/** Milliseconds left before the caller's deadline; COURIER_FOREVER if none. */
int		 courier_request_time_left(const courier_request *req);
/**
 * The caller's credentials on a Unix socket (SO_PEERCRED).
 * @return false on TCP, where they are unknown.
 */
bool		 courier_request_peer(const courier_request *req,
		    uint32_t *uid, uint32_t *gid, int32_t *pid);

/**
 * Answer later: the handler returns NULL, keeps req, and ends it with
 * courier_request_reply() or courier_request_fail() from any thread.
 */
void		 courier_request_defer(courier_request *req);
/** Answer a deferred request with v (stolen; NULL is the null value). */
void		 courier_request_reply(courier_request *req, courier_value *v);
/** Fail a deferred request. */
void		 courier_request_fail(courier_request *req,
		    enum courier_code code, const char *fmt, ...)
		    COURIER_PRINTF(3, 4);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

/**
 * A client of the server at address. It connects on its first call, not
 * here, and reconnects after the connection is lost.
 * @return the client, or NULL with *cause set if address is malformed.
 */
courier_client	*courier_client_new(const char *address, char **cause);

/** The client's address. */
const char	*courier_client_address(const courier_client *c);
/** Default per-call timeout (COURIER_FOREVER, the default, for none). */
void		 courier_client_set_timeout(courier_client *c, int timeout_ms);
/**
 * Wait for the server to come up (default true): a call retries the
 * connection with backoff until its deadline. If false, a call fails with
 * UNAVAILABLE when the server cannot be reached.
 */
void		 courier_client_set_wait_for_ready(courier_client *c, bool on);
/** Refuse frames over n bytes, sent or received (default 64 MiB). */
void		 courier_client_set_max_frame(courier_client *c, size_t n);
/**
 * Do the client's I/O on base, an event loop the caller runs, instead of
 * in the calling threads: it connects without blocking, reads replies,
 * ends calls at their deadlines and runs future callbacks, all in base's
 * callbacks; no thread is started. Calls may still be made, and waited
 * for, from any other thread. On the loop's own thread, use futures with
 * courier_future_then(): a wait there would stop the loop that reads the
 * reply, and fails with FAILED_PRECONDITION. Free the client on the loop's
 * thread, or once the loop no longer runs. Before the first call.
 * A tcp: address is resolved when connecting: use a numeric one so that
 * the loop never waits on a name server. libevent's thread support must
 * be on before base is made (evthread_use_pthreads()).
 * @return 0, or -1 if calls were made already.
 */
int		 courier_client_set_base(courier_client *c,
		    struct event_base *base);
/**
 * Cancel every call, pending and future, with CANCELLED once fd becomes
 * readable (a node's stop event). fd stays the caller's.
 */
void		 courier_client_set_cancel_fd(courier_client *c, int fd);

/**
 * Fail every pending call with CANCELLED and wait for the client's threads,
 * then free it. Futures stay valid until freed.
 */
void		 courier_client_free(courier_client *c);

/**
 * Call method with args and wait for the result with the client's default
 * timeout. args is a list, stolen: courier_args(...), or courier_list_new()
 * for none. A NULL args fails the call with INVALID_ARGUMENT, since it
 * usually means that a value constructor (a string that is not UTF-8)
 * failed inside courier_args().
 * @return the result, or NULL with *err set.
 */
courier_value	*courier_call(courier_client *c, const char *method,
		    courier_value *args, courier_error **err);
/** Like courier_call(), with keyword arguments (a dict, stolen; may be
 * NULL) and a timeout for this call (COURIER_FOREVER for none). */
courier_value	*courier_call_kw(courier_client *c, const char *method,
		    courier_value *args, courier_value *kwargs, int timeout_ms,
		    courier_error **err);
/** Start a call and return its future at once (never NULL). */
courier_future	*courier_call_async(courier_client *c, const char *method,
		    courier_value *args);
/** Like courier_call_async(), with keyword arguments and a timeout. */
courier_future	*courier_call_async_kw(courier_client *c, const char *method,
		    courier_value *args, courier_value *kwargs, int timeout_ms);
/** The server's methods, a list of strings, or NULL with *err set. */
courier_value	*courier_list_methods(courier_client *c, int timeout_ms,
		    courier_error **err);
/**
 * End every call of the client, pending and future, with CANCELLED and
 * why (as the cancel fd does, with a reason of the caller's). A thread
 * that waits for one of them returns within 10 ms: it may be in a
 * blocking read of the connection, which wakes to check every 10 ms.
 */
void		 courier_client_cancel(courier_client *c, const char *why);
/** Like courier_list_methods(), through a future. */
courier_future	*courier_list_methods_async(courier_client *c,
		    int timeout_ms);

/**
 * Wait up to timeout_ms (COURIER_FOREVER: until the call ends) for the call.
 * @return a new reference to the result; or NULL with *err set to the
 * call's error, or to DEADLINE_EXCEEDED "still pending" if the wait timed
 * out first (the future stays pending: courier_future_done() tells).
 */
courier_value	*courier_future_wait(courier_future *f, int timeout_ms,
		    courier_error **err);
/** Whether the call has ended (never blocks). */
bool		 courier_future_done(courier_future *f);
/**
 * Call fn(f, arg) once when the call ends: at once, on this thread, if it
 * has; else on the thread that ends it (the one reading the reply). fn must
 * not block; it may free f. One callback per future.
 */
void		 courier_future_then(courier_future *f,
		    void (*fn)(courier_future *f, void *arg), void *arg);
/** End the call with CANCELLED if it is still pending; a late reply is
 * dropped. The server is not told. */
void		 courier_future_cancel(courier_future *f);
/** Free a future, cancelling the call if it is still pending. */
void		 courier_future_free(courier_future *f);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* COURIER_COURIER_H */
