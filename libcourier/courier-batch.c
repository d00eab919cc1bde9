/*
 * courier-batch.c: batched methods (Launchpad's batched_handler). The calls
 * of many callers are gathered and the handler runs once for all of them:
 * each argument comes as a list of the callers' values (or one tensor, the
 * callers' tensors stacked on a new leading dimension, when they all have
 * one dtype and shape), and the handler returns one result per caller.
 *
 * A call to a batched method is taken on the I/O thread (the method is
 * inline there, so no pool thread is woken for it), deferred and queued.
 * The batch's own thread (started by the first call) runs the handler when max_batch calls wait, or
 * when the oldest has waited max_wait_ms; so a batch costs one hand-off,
 * however many callers it serves. Calls whose arguments differ in shape
 * (a different count, other keywords) start a batch of their own. A call
 * whose deadline passed while it waited is answered DEADLINE_EXCEEDED and
 * left out; a batch that fails fails each of its calls with the error; at
 * the server's stop, calls still waiting are answered UNAVAILABLE.
 */
#include "courier-server.h"

struct courier_batch {
	courier_server		*server;
	const char		*name;		/* the method's, for messages */
	courier_batch_fn	 fn;
	void			*self;
	size_t			 max_batch;
	int			 max_wait_ms;

	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	courier_request		**pending;
	size_t			 npending;
	size_t			 cap;
	int64_t			 oldest;	/* when pending[0] came */
	bool			 stopping;
	bool			 started;	/* the thread, on the first call */
	pthread_t		 thread;
};

static void	*batch_main(void *);

/* Whether two calls' arguments have one shape: count and keywords. */
static bool
same_shape(const courier_request *a, const courier_request *b)
{
	size_t	i, n = courier_dict_len(a->kwargs);

	if (courier_list_len(a->args) != courier_list_len(b->args) ||
	    n != courier_dict_len(b->kwargs))
		return (false);
	for (i = 0; i < n; i++) {
		if (courier_dict_get(b->kwargs,
		    courier_dict_key(a->kwargs, i)) == NULL)
			return (false);
	}
	return (true);
}

/*
 * The callers' values of one argument, stacked: one tensor when all are
 * tensors of one dtype and shape (with room for a leading dimension),
 * else a list of them.
 */
static courier_value *
stack(const courier_value *const *vals, size_t n)
{
	int64_t		 dims[COURIER_TENSOR_MAX_DIMS];
	const int64_t	*shape, *other;
	enum courier_dtype dtype;
	courier_value	*v;
	const void	*data;
	uint8_t		*buf;
	size_t		 ndim, len, i;
	char		*cause = NULL;

	if (courier_value_type(vals[0]) != COURIER_TENSOR)
		goto list;
	dtype = courier_tensor_dtype(vals[0]);
	ndim = courier_tensor_shape(vals[0], &shape);
	(void)courier_tensor_data(vals[0], &len);
	if (ndim + 1 > COURIER_TENSOR_MAX_DIMS)
		goto list;
	for (i = 1; i < n; i++) {
		if (courier_value_type(vals[i]) != COURIER_TENSOR ||
		    courier_tensor_dtype(vals[i]) != dtype ||
		    courier_tensor_shape(vals[i], &other) != ndim ||
		    (ndim != 0 && memcmp(shape, other, ndim * sizeof *shape) !=
		    0))
			goto list;
	}
	dims[0] = (int64_t)n;
	if (ndim != 0)
		memcpy(dims + 1, shape, ndim * sizeof *shape);
	buf = xcalloc(n, len != 0 ? len : 1);
	for (i = 0; i < n; i++) {
		data = courier_tensor_data(vals[i], &len);
		if (len != 0)
			memcpy(buf + i * len, data, len);
	}
	v = courier_tensor_new(dtype, ndim + 1, dims, buf, n * len, &cause);
	free(buf);
	if (v != NULL)
		return (v);
	free(cause);		/* too big as one: as a list, then */

list:
	v = courier_list_new();
	for (i = 0; i < n; i++)
		courier_list_append(v, courier_value_ref(vals[i]));
	return (v);
}

/* Whether v has one result for each of n callers. */
static bool
fits(const courier_value *v, size_t n)
{
	const int64_t	*shape;

	if (courier_value_type(v) == COURIER_LIST)
		return (courier_list_len(v) == n);
	return (courier_value_type(v) == COURIER_TENSOR &&
	    courier_tensor_shape(v, &shape) != 0 && shape[0] == (int64_t)n);
}

/* Caller i's share of the handler's result (which fits), or NULL. */
static courier_value *
unstack(const courier_value *v, size_t i, size_t n)
{
	const int64_t	*shape;
	const uint8_t	*data;
	size_t		 ndim, len;
	char		*cause = NULL;
	courier_value	*part;

	if (courier_value_type(v) == COURIER_LIST)
		return (courier_value_ref(courier_list_get(v, i)));
	ndim = courier_tensor_shape(v, &shape);
	data = courier_tensor_data(v, &len);
	len /= n;
	part = courier_tensor_new(courier_tensor_dtype(v), ndim - 1,
	    shape + 1, data + i * len, len, &cause);
	free(cause);
	return (part);
}

/* What a result that is not one per caller is called, for the error. */
static const char *
result_kind(const courier_value *v)
{
	switch (courier_value_type(v)) {
	case COURIER_LIST:
		return ("a list");
	case COURIER_TENSOR:
		return ("a tensor");
	default:
		return ("one value");
	}
}

/* Run the handler once for reqs[0 .. n) and answer each of them. */
static void
batch_run(struct courier_batch *b, courier_request **reqs, size_t n)
{
	const courier_value	**vals;
	courier_value		*args, *kwargs, *v, *part;
	courier_error		*err = NULL;
	const char		*key;
	int64_t			 now = mono_ns();
	size_t			 i, j, k, m = 0;

	/* Calls whose callers gave up are answered, and left out. */
	for (i = 0; i < n; i++) {
		if (reqs[i]->deadline != DEADLINE_NONE &&
		    reqs[i]->deadline <= now) {
			courier_request_fail(reqs[i], COURIER_DEADLINE_EXCEEDED,
			    "the caller's deadline passed while method %s "
			    "waited for its batch", b->name);
			continue;
		}
		reqs[m++] = reqs[i];
	}
	if (m == 0)
		return;

	vals = xcalloc(m, sizeof *vals);
	args = courier_list_new();
	for (j = 0; j < courier_list_len(reqs[0]->args); j++) {
		for (i = 0; i < m; i++)
			vals[i] = courier_list_get(reqs[i]->args, j);
		courier_list_append(args, stack(vals, m));
	}
	kwargs = courier_dict_new();
	for (k = 0; k < courier_dict_len(reqs[0]->kwargs); k++) {
		key = courier_dict_key(reqs[0]->kwargs, k);
		for (i = 0; i < m; i++)
			vals[i] = courier_dict_get(reqs[i]->kwargs, key);
		courier_dict_set(kwargs, key, stack(vals, m));
	}
	free(vals);

	v = b->fn(b->self, args, kwargs, m, &err);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	if (err == NULL && !fits(v, m))
		err = courier_error_new(COURIER_INTERNAL, "batched method %s "
		    "returned %s for %zu calls: it must return a list of %zu "
		    "results, or a tensor of leading dimension %zu", b->name,
		    result_kind(v), m, m, m);
	for (i = 0; i < m; i++) {
		if (err != NULL)
			courier_request_fail(reqs[i], courier_error_code(err),
			    "%s", courier_error_message(err));
		else {
			part = unstack(v, i, m);
			courier_request_reply(reqs[i], part);
		}
	}
	courier_error_free(err);
	courier_value_unref(v);
}

/* Take the calls that make the next batch: the oldest, as many as fit. */
static size_t
batch_take(struct courier_batch *b, courier_request **reqs)
{
	size_t	n = 0;

	while (n < b->npending && n < b->max_batch &&
	    same_shape(b->pending[0], b->pending[n])) {
		reqs[n] = b->pending[n];
		n++;
	}
	b->npending -= n;
	memmove(b->pending, b->pending + n, b->npending * sizeof *b->pending);
	b->oldest = mono_ns();	/* the rest start their wait now */
	return (n);
}

/* The batch's thread: wait for a batch to fill or to wait long enough. */
static void *
batch_main(void *arg)
{
	struct courier_batch	*b = arg;
	courier_request		**reqs;
	int64_t			 deadline;
	size_t			 n;

	reqs = xcalloc(b->max_batch, sizeof *reqs);
	pthread_mutex_lock(&b->mtx);
	for (;;) {
		while (b->npending == 0 && !b->stopping)
			pthread_cond_wait(&b->cv, &b->mtx);
		if (b->stopping)
			break;
		deadline = b->oldest + (int64_t)b->max_wait_ms * NSEC_PER_MSEC;
		while (b->npending < b->max_batch && !b->stopping &&
		    mono_ns() < deadline)
			courier_cond_wait(&b->cv, &b->mtx, deadline);
		if (b->stopping)
			break;
		n = batch_take(b, reqs);
		pthread_mutex_unlock(&b->mtx);
		batch_run(b, reqs, n);
		pthread_mutex_lock(&b->mtx);
	}
	pthread_mutex_unlock(&b->mtx);
	free(reqs);
	return (NULL);
}

/* The method's handler, inline on the I/O thread: queue the call. */
static courier_value *
batch_collect(void *self, courier_request *req, courier_error **err)
{
	struct courier_batch	*b = self;
	bool			 stopping;
	int			 error;

	courier_request_defer(req);
	pthread_mutex_lock(&b->mtx);
	if (!(stopping = b->stopping)) {
		/* A server of many batched methods has threads for those used. */
		if (!b->started) {
			if ((error = pthread_create(&b->thread, NULL,
			    batch_main, b)) != 0)
				fatalx("pthread_create: %s", strerror(error));
			b->started = true;
		}
		if (b->npending == b->cap) {
			b->cap = b->cap == 0 ? 64 : b->cap * 2;
			b->pending = xreallocarray(b->pending, b->cap,
			    sizeof *b->pending);
		}
		if (b->npending == 0)
			b->oldest = mono_ns();
		b->pending[b->npending++] = req;
		/* The thread waits for the first, or for a full batch. */
		if (b->npending == 1 || b->npending == b->max_batch)
			pthread_cond_signal(&b->cv);
	}
	pthread_mutex_unlock(&b->mtx);
	if (stopping)
		courier_request_fail(req, COURIER_UNAVAILABLE, "the server "
		    "stopped before method %s ran", b->name);
	return (NULL);
}

/* Register a batched method; see courier.h. */
int
courier_server_add_batched_method(courier_server *s, const char *name,
    courier_batch_fn fn, void *self, size_t max_batch, int max_wait_ms,
    char **cause)
{
	struct courier_batch	*b;

	if (fn == NULL || max_batch == 0 || max_wait_ms < 0) {
		set_cause(cause, "method %s: a batched method needs a function, "
		    "a max_batch of at least 1 and a max_wait_ms of 0 or more",
		    name != NULL ? name : "(no name)");
		return (-1);
	}
	b = xcalloc(1, sizeof *b);
	b->server = s;
	b->fn = fn;
	b->self = self;
	b->max_batch = max_batch;
	b->max_wait_ms = max_wait_ms;
	if (courier_srv_add_method(s, name, batch_collect, b,
	    COURIER_METHOD_INLINE, b, cause) != 0) {
		free(b);
		return (-1);
	}
	b->name = s->methods[s->nmethods - 1].name;
	pthread_mutex_init(&b->mtx, NULL);
	courier_cond_init(&b->cv);
	return (0);
}

/*
 * The server stops: calls still waiting are answered UNAVAILABLE, and the
 * thread ends once a batch it runs returns.
 */
void
courier_batch_stop(struct courier_batch *b)
{
	courier_request	**reqs;
	size_t		  n, i;

	pthread_mutex_lock(&b->mtx);
	b->stopping = true;
	reqs = b->pending;
	n = b->npending;
	b->pending = NULL;
	b->npending = b->cap = 0;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mtx);
	for (i = 0; i < n; i++)
		courier_request_fail(reqs[i], COURIER_UNAVAILABLE, "the server "
		    "stopped before method %s ran", b->name);
	free(reqs);
}

/* Free a stopped batcher, once its thread is done. */
void
courier_batch_free(struct courier_batch *b)
{
	courier_batch_stop(b);
	if (b->started)
		pthread_join(b->thread, NULL);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mtx);
	free(b);
}
