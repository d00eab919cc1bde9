/*
 * courier-request.c: a call's life on the server: run its handler, pack
 * and send its answer (or join the loop's batch), defer it to answer
 * later from any thread, and what a handler may ask of its request.
 */
#include "courier-server.h"

/*
 * Drop a reference to a request; the last frees it and what it holds. The
 * connection goes before the request stops counting as in flight: a
 * server stopping waits only for that count, and may free its base (which
 * the connection's events need) and itself as soon as it reaches zero.
 */
void
courier_req_unref(struct courier_request *req)
{
	courier_server	*s = req->conn->server;

	if (atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1)
		return;
	courier_value_unref(req->args);
	courier_value_unref(req->kwargs);
	courier_conn_unref(req->conn);
	free(req);
	pthread_mutex_lock(&s->mtx);
	if (--s->ninflight == 0)
		pthread_cond_broadcast(&s->drained);
	pthread_mutex_unlock(&s->mtx);
}

/*
 * Pack the answer to req into b: the result v, or err. A result too big
 * for a frame becomes an error answer.
 */
static void
request_pack(struct courier_request *req, courier_value *v, courier_error *err,
    struct courier_buf *b, struct courier_arena *a)
{
	courier_server			*s = req->conn->server;
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__Status			 st = COURIER__STATUS__INIT;
	struct courier_wire_size	 sz;
	char				*msg = NULL;
	enum courier_code		 code = COURIER_INTERNAL;

	if (err == NULL) {
		courier_wire_result_size(req->id, v, &sz);
		if (sz.frame <= s->max_frame) {
			courier_wire_pack_result(b, req->id, v, &sz);
			return;
		}
		xasprintf(&msg, "method %s returned %zu bytes, over the frame "
		    "limit of %zu bytes", req->method->name, sz.frame,
		    s->max_frame);
		code = COURIER_RESOURCE_EXHAUSTED;
	}
	f.call_id = req->id;
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
 * sent at once, or held to go with the next (see courier_conn_send);
 * without, it joins the loop thread's batch.
 */
void
courier_req_answer(struct courier_request *req, courier_value *v,
    courier_error *err, struct courier_buf *b, struct courier_arena *a,
    bool hold)
{
	struct sconn	*c = req->conn;

	if (b != NULL) {
		request_pack(req, v, err, b, a);
		courier_conn_send(c, b, hold);
	} else {
		pthread_mutex_lock(&c->wmtx);
		if (!c->dead) {
			request_pack(req, v, err, &c->out, &c->arena);
			courier_conn_out_account_locked(c);
		}
		pthread_mutex_unlock(&c->wmtx);
	}
	courier_value_unref(v);
	courier_error_free(err);
	courier_req_unref(req);
}

/*
 * Run a request's handler and answer it (unless the handler deferred);
 * hold as courier_req_answer.
 */
void
courier_req_run(struct courier_request *req, struct courier_buf *b,
    struct courier_arena *a, bool hold)
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
		courier_req_answer(req, NULL, err, b, a, hold);
		return;
	}
	v = m->fn(m->self, req, &err);
	if (req->deferred) {
		/* Another thread may have answered already: its reference. */
		courier_value_unref(v);
		courier_error_free(err);
		courier_req_unref(req);
		return;
	}
	if (err != NULL) {
		courier_value_unref(v);
		v = NULL;
	} else if (v == NULL)
		v = courier_null();
	courier_req_answer(req, v, err, b, a, hold);
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
	s->nanswering++;	/* courier_server_free waits for it */
	pthread_mutex_unlock(&s->mtx);
	courier_arena_init(&a);
	courier_req_answer(req, v, err, &b, &a, false);
	courier_buf_free(&b);
	courier_arena_free(&a);
	pthread_mutex_lock(&s->mtx);
	if (--s->nanswering == 0)
		pthread_cond_broadcast(&s->drained);
	pthread_mutex_unlock(&s->mtx);
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
