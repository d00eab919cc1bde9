/*
 * check-rpc.c: the courier server and client end to end, over real Unix
 * and TCP sockets: calls, errors, deadlines, futures, cancellation,
 * concurrency, the worker pool, graceful stop and a server that dies.
 *
 * Nothing here asserts a wall-clock time. To show that a call does not
 * wait for something, its handler blocks on a gate that the test opens
 * only after the call has returned: if the call waited, check's timeout
 * fails the test.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "courier/courier.h"
#include "harness.h"

static char		 tmpdir[64];
static char		 sock_path[128];
static char		 address[160];
static struct gate	 gate;

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check-rpc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof sock_path, "%s/s", tmpdir);
	snprintf(address, sizeof address, "unix:%s", sock_path);
	gate_init(&gate);
}

static void
teardown(void)
{
	gate_open(&gate);
	unlink(sock_path);
	rmdir(tmpdir);
}

/*
 * The pair most tests use: a server with two handler threads, and a
 * client of it. Teardown opens the gate first, so that no handler is left
 * blocked when the server is freed.
 */
static struct {
	courier_server	*s;
	courier_client	*c;
} pair;

static courier_server	*server_new(const char *, unsigned);
static courier_client	*client_new(const char *);

static void
pair_setup(void)
{
	setup();
	pair.s = server_new(address, 2);
	pair.c = client_new(address);
}

static void
pair_teardown(void)
{
	gate_open(&gate);
	courier_client_free(pair.c);
	courier_server_free(pair.s);
	pair.c = NULL;
	pair.s = NULL;
	teardown();
}

/* Methods. */

static courier_value *
m_echo(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*v = courier_request_arg(req, 0);

	return (v != NULL ? courier_value_ref(v) : courier_null());
}

static courier_value *
m_kwargs(void *self, courier_request *req, courier_error **err)
{
	return (courier_value_ref(courier_request_kwargs(req)));
}

static courier_value *
m_fail(void *self, courier_request *req, courier_error **err)
{
	*err = courier_error_new(COURIER_INVALID_ARGUMENT, "bad input %lld",
	    (long long)courier_value_int(courier_request_arg(req, 0)));
	return (NULL);
}

static courier_value *
m_block(void *self, courier_request *req, courier_error **err)
{
	gate_pass(self);
	return (courier_string("unblocked"));
}

static courier_value *
m_peer(void *self, courier_request *req, courier_error **err)
{
	uint32_t	 uid, gid;
	int32_t		 pid;

	if (!courier_request_peer(req, &uid, &gid, &pid))
		return (courier_null());
	return (courier_args(courier_int(uid), courier_int(gid),
	    courier_int(pid)));
}

static courier_value *
m_big(void *self, courier_request *req, courier_error **err)
{
	size_t	 n = (size_t)courier_value_int(courier_request_arg(req, 0));
	char	*p = calloc(1, n);
	courier_value *v;

	v = courier_bytes(p, n);
	free(p);
	return (v);
}

static courier_value *
m_open(void *self, courier_request *req, courier_error **err)
{
	gate_open(self);
	return (courier_null());
}

/* Deferred replies: the handler keeps the request for a thread. */
static void *
defer_thread(void *arg)
{
	courier_request	*req = arg;

	usleep(10000);
	courier_request_reply(req, courier_stringf("later %lld",
	    (long long)courier_value_int(courier_request_arg(req, 0))));
	return (NULL);
}

static courier_value *
m_defer(void *self, courier_request *req, courier_error **err)
{
	pthread_t	 t;

	courier_request_defer(req);
	pthread_create(&t, NULL, defer_thread, req);
	pthread_detach(t);
	return (NULL);
}

/* Call another server from inside a handler. */
static courier_value *
m_relay(void *self, courier_request *req, courier_error **err)
{
	courier_client	*c = self;

	return (courier_call(c, "echo", courier_args(courier_value_ref(
	    courier_request_arg(req, 0))), err));
}

static courier_server *
server_new(const char *addr, unsigned workers)
{
	courier_server	*s;
	char		*cause = NULL;

	s = courier_server_new();
	ck_assert_int_eq(courier_server_set_workers(s, workers), 0);
	ck_assert_int_eq(courier_server_add_method(s, "echo", m_echo, NULL, 0,
	    &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "echo_inline", m_echo,
	    NULL, COURIER_METHOD_INLINE, &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "kwargs", m_kwargs, NULL,
	    0, &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "fail", m_fail, NULL, 0,
	    &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "block", m_block, &gate,
	    0, &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "open", m_open, &gate,
	    0, &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "peer", m_peer, NULL, 0,
	    &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "big", m_big, NULL, 0,
	    &cause), 0);
	ck_assert_int_eq(courier_server_add_method(s, "defer", m_defer, NULL,
	    0, &cause), 0);
	if (courier_server_listen(s, addr, &cause) != 0)
		ck_abort_msg("listen %s: %s", addr, cause);
	ck_assert_int_eq(courier_server_start(s, &cause), 0);
	return (s);
}

static courier_client *
client_new(const char *addr)
{
	courier_client	*c;
	char		*cause = NULL;

	c = courier_client_new(addr, &cause);
	ck_assert_msg(c != NULL, "client: %s", cause);
	courier_client_set_timeout(c, 10000);
	return (c);
}

/* Check that a call failed with code, and free the error. */
static void
expect_error(courier_value *v, courier_error *err, enum courier_code code,
    const char *text)
{
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(courier_error_code(err) == code, "got %s (%s), want %s",
	    courier_code_name(courier_error_code(err)),
	    courier_error_message(err), courier_code_name(code));
	if (text != NULL)
		ck_assert_msg(strstr(courier_error_message(err), text) != NULL,
		    "message \"%s\" lacks \"%s\"", courier_error_message(err),
		    text);
	courier_error_free(err);
}

/* A nested value of every type. */
static courier_value *
sample_value(void)
{
	courier_value	*d, *t;
	int64_t		 shape[] = { 2, 2 };
	float		 data[] = { 1, 2, 3, 4 };

	d = courier_dict_new();
	courier_dict_set(d, "null", courier_null());
	courier_dict_set(d, "bool", courier_bool(true));
	courier_dict_set(d, "int", courier_int(-1234567890123LL));
	courier_dict_set(d, "double", courier_double(0.25));
	courier_dict_set(d, "string", courier_string("héllo"));
	courier_dict_set(d, "bytes", courier_bytes("\0\1\2", 3));
	courier_dict_set(d, "list", courier_args(courier_int(1),
	    courier_args(courier_string("x"))));
	t = courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data, sizeof data,
	    NULL);
	courier_dict_set(d, "tensor", t);
	return (d);
}

/* Echo a sample value over an address. */
static void
echo_over(const char *addr)
{
	courier_server	*s;
	courier_client	*c;
	courier_error	*err = NULL;
	courier_value	*sent, *got;

	s = server_new(addr, 2);
	c = client_new(courier_server_address(s));
	sent = sample_value();
	got = courier_call(c, "echo", courier_args(courier_value_ref(sent)),
	    &err);
	ck_assert_msg(got != NULL, "%s", err ? courier_error_message(err) :
	    "");
	ck_assert(courier_value_equal(sent, got));
	courier_value_unref(got);
	got = courier_call(c, "echo_inline", courier_args(courier_value_ref(
	    sent)), &err);
	ck_assert_ptr_nonnull(got);
	ck_assert(courier_value_equal(sent, got));
	courier_value_unref(got);
	courier_value_unref(sent);
	courier_client_free(c);
	ck_assert_int_eq(courier_server_stop(s, 1000), 0);
	courier_server_free(s);
}

START_TEST(test_rpc_unix_echo)
{
	echo_over(address);
}
END_TEST

START_TEST(test_rpc_tcp_echo)
{
	echo_over("tcp:127.0.0.1:0");
}
END_TEST

START_TEST(test_rpc_kwargs)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_value	*kw, *got;

	kw = courier_dict_new();
	courier_dict_set(kw, "alpha", courier_int(1));
	courier_dict_set(kw, "beta", courier_string("two"));
	got = courier_call_kw(c, "kwargs", courier_list_new(), courier_value_ref(kw), 5000,
	    &err);
	ck_assert_ptr_nonnull(got);
	ck_assert(courier_value_equal(kw, got));
	courier_value_unref(got);
	courier_value_unref(kw);
}
END_TEST

START_TEST(test_rpc_unknown_method)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_value	*v;

	v = courier_call(c, "nope", courier_list_new(), &err);
	expect_error(v, err, COURIER_NOT_FOUND, "\"nope\"");
	/* The connection is still good. */
	err = NULL;
	v = courier_call(c, "echo", courier_args(courier_int(7)), &err);
	ck_assert_int_eq(courier_value_int(v), 7);
	courier_value_unref(v);
}
END_TEST

START_TEST(test_rpc_no_methods)
{
	courier_server	*s = courier_server_new();
	courier_client	*c;
	courier_error	*err = NULL;
	courier_value	*v;
	char		*cause = NULL;

	/* A server without a method starts and says so (UBSan: qsort). */
	ck_assert_msg(courier_server_listen(s, address, &cause) == 0, "%s",
	    cause);
	ck_assert_msg(courier_server_start(s, &cause) == 0, "%s", cause);
	c = client_new(address);
	v = courier_list_methods(c, 10000, &err);
	ck_assert_msg(v != NULL, "%s", courier_error_message(err));
	ck_assert_uint_eq(courier_list_len(v), 0);
	courier_value_unref(v);
	v = courier_call(c, "any", courier_list_new(), &err);
	expect_error(v, err, COURIER_NOT_FOUND, "\"any\"");
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_handler_error)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_value	*v;

	v = courier_call(c, "fail", courier_args(courier_int(42)), &err);
	expect_error(v, err, COURIER_INVALID_ARGUMENT, "bad input 42");
}
END_TEST

START_TEST(test_rpc_list_methods)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_value	*v;
	size_t		 i;
	bool		 echo = false, block = false;

	v = courier_list_methods(c, 5000, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(courier_list_len(v), 9);
	for (i = 0; i < courier_list_len(v); i++) {
		const char *name = courier_value_string(
		    courier_list_get(v, i), NULL);
		echo |= strcmp(name, "echo") == 0;
		block |= strcmp(name, "block") == 0;
	}
	ck_assert(echo && block);
	courier_value_unref(v);
}
END_TEST

START_TEST(test_rpc_call_timeout)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_value	*v;

	/* The handler blocks until after the call has given up. */
	v = courier_call_kw(c, "block", courier_list_new(), NULL, 50, &err);
	expect_error(v, err, COURIER_DEADLINE_EXCEEDED, "deadline");
	gate_open(&gate);
	/* The late reply is dropped and the connection goes on. */
	err = NULL;
	v = courier_call(c, "echo", courier_args(courier_int(3)), &err);
	ck_assert_int_eq(courier_value_int(v), 3);
	courier_value_unref(v);
}
END_TEST

START_TEST(test_rpc_future_wait_timeout)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_future	*f;
	courier_value	*v;

	f = courier_call_async(c, "block", courier_list_new());
	v = courier_future_wait(f, 20, &err);
	expect_error(v, err, COURIER_DEADLINE_EXCEEDED, "still pending");
	ck_assert(!courier_future_done(f));
	gate_open(&gate);
	err = NULL;
	v = courier_future_wait(f, COURIER_FOREVER, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
	ck_assert(courier_future_done(f));
	courier_value_unref(v);
	/* Waiting again gives the same result. */
	v = courier_future_wait(f, 0, &err);
	ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
	courier_value_unref(v);
	courier_future_free(f);
}
END_TEST

START_TEST(test_rpc_cancel)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_future	*f;
	courier_value	*v;

	f = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 1);
	courier_future_cancel(f);
	ck_assert(courier_future_done(f));
	v = courier_future_wait(f, COURIER_FOREVER, &err);
	expect_error(v, err, COURIER_CANCELLED, "cancelled");
	courier_future_free(f);
	gate_open(&gate);
	err = NULL;
	v = courier_call(c, "echo", courier_args(courier_int(5)), &err);
	ck_assert_int_eq(courier_value_int(v), 5);
	courier_value_unref(v);
}
END_TEST

struct cb_state {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 calls;
	int64_t		 sum;
};

static void
sum_cb(courier_future *f, void *arg)
{
	struct cb_state	*st = arg;
	courier_value	*v;

	v = courier_future_wait(f, 0, NULL);
	pthread_mutex_lock(&st->mtx);
	st->calls++;
	st->sum += courier_value_int(v);
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mtx);
	courier_value_unref(v);
	courier_future_free(f);
}

START_TEST(test_rpc_callback)
{
	courier_client	*c = pair.c;
	struct cb_state	 st = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER, 0, 0 };
	courier_future	*f;
	int		 i;

	/* Nobody waits for these: the helper reads their replies. */
	for (i = 1; i <= 100; i++) {
		f = courier_call_async(c, "echo", courier_args(courier_int(i)));
		courier_future_then(f, sum_cb, &st);
	}
	pthread_mutex_lock(&st.mtx);
	while (st.calls < 100)
		pthread_cond_wait(&st.cv, &st.mtx);
	pthread_mutex_unlock(&st.mtx);
	ck_assert_int_eq(st.sum, 5050);
}
END_TEST

START_TEST(test_rpc_poll)
{
	courier_client	*c = pair.c;
	courier_future	*f;
	courier_value	*v;

	f = courier_call_async(c, "echo", courier_args(courier_int(9)));
	while (!courier_future_done(f))
		usleep(1000);
	v = courier_future_wait(f, 0, NULL);
	ck_assert_int_eq(courier_value_int(v), 9);
	courier_value_unref(v);
	courier_future_free(f);
}
END_TEST

/* Serve in a child process until killed; returns its pid. */
static pid_t
child_server(void)
{
	courier_server	*s;
	sigset_t	 set;
	int		 p[2], sig;
	char		 ok;
	pid_t		 pid;

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		s = server_new(address, 2);
		(void)write(p[1], "x", 1);
		sigwait(&set, &sig);
		courier_server_free(s);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	return (pid);
}

START_TEST(test_rpc_dead_server)
{
	courier_client	*c;
	courier_future	*f[10];
	courier_error	*err = NULL;
	courier_value	*v;
	pid_t		 pid;
	int		 i, status;

	pid = child_server();
	c = client_new(address);
	courier_client_set_timeout(c, COURIER_FOREVER);
	v = courier_call(c, "echo", courier_args(courier_int(1)), &err);
	ck_assert_int_eq(courier_value_int(v), 1);
	courier_value_unref(v);

	/* Calls stuck in the child's handlers, then the child dies. */
	for (i = 0; i < 10; i++)
		f[i] = courier_call_async(c, "block", courier_list_new());
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	for (i = 0; i < 10; i++) {
		err = NULL;
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		expect_error(v, err, COURIER_UNAVAILABLE, address);
		courier_future_free(f[i]);
	}
	/* A sync call in flight when the server dies fails too. */
	pid = child_server();
	err = NULL;
	v = courier_call(c, "echo", courier_args(courier_int(2)), &err);
	ck_assert_int_eq(courier_value_int(v), 2);	/* reconnected */
	courier_value_unref(v);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	courier_client_set_wait_for_ready(c, false);
	err = NULL;
	v = courier_call(c, "block", courier_list_new(), &err);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(courier_error_code(err), COURIER_UNAVAILABLE);
	courier_error_free(err);
	courier_client_free(c);
}
END_TEST

START_TEST(test_rpc_no_server)
{
	courier_client	*c = client_new(address);
	courier_error	*err = NULL;
	courier_value	*v;

	courier_client_set_wait_for_ready(c, false);
	v = courier_call(c, "echo", courier_list_new(), &err);
	expect_error(v, err, COURIER_UNAVAILABLE, sock_path);

	/* With wait_for_ready, the deadline ends the wait. */
	courier_client_set_wait_for_ready(c, true);
	err = NULL;
	v = courier_call_kw(c, "echo", courier_list_new(), NULL, 100, &err);
	expect_error(v, err, COURIER_DEADLINE_EXCEEDED, "No such file");
	courier_client_free(c);
}
END_TEST

struct late_server {
	courier_server	*s;
	struct gate	*g;
};

static void *
late_server_thread(void *arg)
{
	struct late_server	*ls = arg;

	usleep(50000);
	ls->s = server_new(address, 2);
	return (NULL);
}

START_TEST(test_rpc_wait_for_ready)
{
	struct late_server	 ls = { NULL, NULL };
	courier_client		*c = client_new(address);
	courier_future		*f;
	courier_error		*err = NULL;
	courier_value		*v;
	pthread_t		 t;

	/* A sync and an async call both wait for the server to appear. */
	f = courier_call_async(c, "echo", courier_args(courier_int(11)));
	pthread_create(&t, NULL, late_server_thread, &ls);
	v = courier_call(c, "echo", courier_args(courier_int(10)), &err);
	ck_assert_msg(v != NULL, "%s", err ? courier_error_message(err) : "");
	ck_assert_int_eq(courier_value_int(v), 10);
	courier_value_unref(v);
	v = courier_future_wait(f, COURIER_FOREVER, &err);
	ck_assert_int_eq(courier_value_int(v), 11);
	courier_value_unref(v);
	courier_future_free(f);
	pthread_join(t, NULL);
	courier_client_free(c);
	courier_server_free(ls.s);
}
END_TEST

struct hammer {
	courier_client	*c;
	int		 id;
	int		 errors;
};

static void *
hammer_thread(void *arg)
{
	struct hammer	*h = arg;
	courier_error	*err = NULL;
	courier_value	*v;
	int		 i;

	for (i = 0; i < 300; i++) {
		int64_t	 want = (int64_t)h->id * 100000 + i;

		v = courier_call(h->c, (i & 1) ? "echo" : "echo_inline",
		    courier_args(courier_int(want)), &err);
		if (v == NULL || courier_value_int(v) != want)
			h->errors++;
		courier_value_unref(v);
		courier_error_free(err);
		err = NULL;
	}
	return (NULL);
}

START_TEST(test_rpc_threads_share_client)
{
	courier_server	*s = server_new(address, 4);
	courier_client	*c = client_new(address);
	struct hammer	 h[8];
	pthread_t	 t[8];
	int		 i;

	for (i = 0; i < 8; i++) {
		h[i].c = c;
		h[i].id = i;
		h[i].errors = 0;
		pthread_create(&t[i], NULL, hammer_thread, &h[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(h[i].errors, 0);
	}
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_many_futures)
{
	courier_server	*s = server_new(address, 4);
	courier_client	*c = client_new(address);
	courier_future	*f[1000], *blocked;
	courier_value	*v;
	int		 i;

	/* A call stuck on the gate, then 1000 that overtake it. */
	blocked = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 1);
	for (i = 0; i < 1000; i++)
		f[i] = courier_call_async(c, "echo", courier_args(
		    courier_int(i)));
	for (i = 999; i >= 0; i--) {
		v = courier_future_wait(f[i], COURIER_FOREVER, NULL);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(courier_value_int(v), i);
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	/* Replies came out of order: the first call is still pending. */
	ck_assert(!courier_future_done(blocked));
	gate_open(&gate);
	v = courier_future_wait(blocked, COURIER_FOREVER, NULL);
	ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
	courier_value_unref(v);
	courier_future_free(blocked);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_pool_size)
{
	courier_server	*s = server_new(address, 3);
	courier_client	*c = client_new(address);
	courier_future	*f[10];
	courier_value	*v;
	int		 i;

	for (i = 0; i < 10; i++)
		f[i] = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 3);
	/* Give a fourth handler every chance to start, wrongly. */
	usleep(100000);
	pthread_mutex_lock(&gate.mtx);
	ck_assert_int_eq(gate.running, 3);
	pthread_mutex_unlock(&gate.mtx);

	/* I/O is not stalled: inline methods and ListMethods answer. */
	v = courier_call(c, "echo_inline", courier_args(courier_int(1)), NULL);
	ck_assert_int_eq(courier_value_int(v), 1);
	courier_value_unref(v);
	v = courier_list_methods(c, 5000, NULL);
	ck_assert_ptr_nonnull(v);
	courier_value_unref(v);

	gate_open(&gate);
	for (i = 0; i < 10; i++) {
		v = courier_future_wait(f[i], COURIER_FOREVER, NULL);
		ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	ck_assert_int_eq(gate.max_running, 3);
	ck_assert_int_eq(gate.entered, 10);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_nested_call)
{
	courier_server	*back, *front;
	courier_client	*to_back, *c;
	courier_value	*v;
	char		 back_addr[200], *cause = NULL;

	snprintf(back_addr, sizeof back_addr, "unix:%s/back", tmpdir);
	back = server_new(back_addr, 1);
	to_back = client_new(back_addr);
	front = courier_server_new();
	courier_server_set_workers(front, 1);
	courier_server_add_method(front, "relay", m_relay, to_back, 0, &cause);
	ck_assert_int_eq(courier_server_listen(front, address, &cause), 0);
	ck_assert_int_eq(courier_server_start(front, &cause), 0);
	c = client_new(address);
	v = courier_call(c, "relay", courier_args(courier_string("via")),
	    NULL);
	ck_assert_str_eq(courier_value_string(v, NULL), "via");
	courier_value_unref(v);
	courier_client_free(c);
	courier_server_free(front);
	courier_client_free(to_back);
	courier_server_free(back);
	snprintf(back_addr, sizeof back_addr, "%s/back", tmpdir);
	unlink(back_addr);
}
END_TEST

/* Close the gate again, once no handler is in it. */
static void
gate_close(struct gate *g)
{
	pthread_mutex_lock(&g->mtx);
	ck_assert_int_eq(g->running, 0);
	g->open = false;
	g->entered = 0;
	pthread_mutex_unlock(&g->mtx);
}

/*
 * A handler that keeps its thread, waiting on something that is not a
 * courier call, does not keep the loop: another thread takes the loop
 * over, reads the call that lets the first handler go, and runs it.
 */
START_TEST(test_rpc_handler_keeps_thread)
{
	courier_server	*s = server_new(address, 2);
	courier_client	*c = client_new(address), *c2 = client_new(address);
	courier_future	*f;
	courier_value	*v;
	int		 round;

	for (round = 0; round < 3; round++) {
		gate_close(&gate);
		f = courier_call_async(c, "block", courier_list_new());
		gate_wait_entered(&gate, 1);
		v = courier_call(c2, "open", courier_list_new(), NULL);
		ck_assert_ptr_nonnull(v);
		courier_value_unref(v);
		v = courier_future_wait(f, COURIER_FOREVER, NULL);
		ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
		courier_value_unref(v);
		courier_future_free(f);
	}
	courier_client_free(c2);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/*
 * Answers a pool thread gathers for one connection do not wait behind a
 * handler of the same connection that keeps its thread: the echo sent
 * before the blocking call is answered while that call still blocks.
 */
START_TEST(test_rpc_gathered_not_held)
{
	courier_server	*s = server_new(address, 2);
	courier_client	*c = client_new(address);
	courier_future	*f[3];
	courier_value	*v;
	int		 round, i;

	for (round = 0; round < 3; round++) {
		gate_close(&gate);
		f[0] = courier_call_async(c, "echo", courier_args(
		    courier_int(round)));
		f[1] = courier_call_async(c, "block", courier_list_new());
		f[2] = courier_call_async(c, "echo", courier_args(
		    courier_int(round + 10)));
		v = courier_future_wait(f[0], COURIER_FOREVER, NULL);
		ck_assert_int_eq(courier_value_int(v), round);
		courier_value_unref(v);
		gate_wait_entered(&gate, 1);
		gate_open(&gate);
		v = courier_future_wait(f[1], COURIER_FOREVER, NULL);
		ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
		courier_value_unref(v);
		v = courier_future_wait(f[2], COURIER_FOREVER, NULL);
		ck_assert_int_eq(courier_value_int(v), round + 10);
		courier_value_unref(v);
		for (i = 0; i < 3; i++)
			courier_future_free(f[i]);
	}
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/* A call on a thread of its own, for tests that need one blocked. */
struct caller {
	courier_client	*c;
	const char	*method;
	courier_value	*v;
	courier_error	*err;
};

static void *
caller_thread(void *arg)
{
	struct caller	*cl = arg;

	cl->v = courier_call(cl->c, cl->method, courier_list_new(), &cl->err);
	return (NULL);
}

/*
 * A thread that waits for its call reads in a recv that blocks. A second
 * thread's call too big for the socket must still go out (the reader
 * turns to poll for the rest within a tick), and be answered while the
 * first call still blocks: the gate opens only after.
 */
START_TEST(test_rpc_reader_flushes)
{
	courier_server	*s = server_new(address, 2);
	courier_client	*c = client_new(address);
	struct caller	 cl = { .c = c, .method = "block" };
	courier_value	*sent, *v;
	courier_error	*err = NULL;
	pthread_t	 t;
	char		*p;

	p = calloc(1, 4 << 20);
	ck_assert_ptr_nonnull(p);
	p[12345] = 7;
	sent = courier_bytes(p, 4 << 20);
	free(p);
	gate_close(&gate);
	ck_assert_int_eq(pthread_create(&t, NULL, caller_thread, &cl), 0);
	gate_wait_entered(&gate, 1);
	v = courier_call(c, "echo", courier_args(courier_value_ref(sent)),
	    &err);
	ck_assert_msg(v != NULL, "%s", err ? courier_error_message(err) : "");
	ck_assert(courier_value_equal(v, sent));
	courier_value_unref(v);
	gate_open(&gate);
	pthread_join(t, NULL);
	ck_assert_str_eq(courier_value_string(cl.v, NULL), "unblocked");
	courier_value_unref(cl.v);
	courier_value_unref(sent);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/*
 * courier_client_cancel ends a call whose thread blocks in recv: the
 * call returns CANCELLED while its handler still blocks.
 */
START_TEST(test_rpc_cancel_blocked_reader)
{
	courier_server	*s = server_new(address, 2);
	courier_client	*c = client_new(address);
	struct caller	 cl = { .c = c, .method = "block" };
	pthread_t	 t;

	gate_close(&gate);
	ck_assert_int_eq(pthread_create(&t, NULL, caller_thread, &cl), 0);
	gate_wait_entered(&gate, 1);
	courier_client_cancel(c, "test over");
	pthread_join(t, NULL);
	expect_error(cl.v, cl.err, COURIER_CANCELLED, "test over");
	gate_open(&gate);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

struct stopper {
	courier_server	*s;
	int		 timeout;
	unsigned	 running;
};

static void *
stop_thread(void *arg)
{
	struct stopper	*st = arg;

	st->running = courier_server_stop(st->s, st->timeout);
	return (NULL);
}

START_TEST(test_rpc_graceful_stop)
{
	courier_server	*s = server_new(address, 2);
	courier_client	*c = client_new(address), *c2;
	courier_future	*f;
	courier_error	*err = NULL;
	courier_value	*v;
	struct stopper	 st = { s, 10000, 99 };
	pthread_t	 t;

	c2 = client_new(address);
	v = courier_call(c2, "echo", courier_args(courier_int(1)), NULL);
	courier_value_unref(v);

	f = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 1);
	pthread_create(&t, NULL, stop_thread, &st);
	/* While draining, new calls are refused. */
	for (;;) {
		err = NULL;
		v = courier_call(c2, "echo", courier_args(courier_int(2)),
		    &err);
		if (v == NULL)
			break;
		courier_value_unref(v);
		usleep(1000);
	}
	expect_error(v, err, COURIER_UNAVAILABLE, "stopping");
	gate_open(&gate);
	pthread_join(t, NULL);
	ck_assert_int_eq(st.running, 0);
	/* The call in flight was drained, not dropped. */
	v = courier_future_wait(f, COURIER_FOREVER, NULL);
	ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
	courier_value_unref(v);
	courier_future_free(f);
	courier_client_free(c);
	courier_client_free(c2);
	courier_server_free(s);
	/* The socket file is gone. */
	ck_assert_int_ne(access(sock_path, F_OK), 0);
}
END_TEST

START_TEST(test_rpc_stop_deadline)
{
	courier_server	*s = pair.s;
	courier_client	*c = pair.c;
	courier_future	*f;
	courier_error	*err = NULL;
	courier_value	*v;

	f = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 1);
	ck_assert_int_eq(courier_server_stop(s, 20), 1);
	v = courier_future_wait(f, COURIER_FOREVER, &err);
	expect_error(v, err, COURIER_UNAVAILABLE, NULL);
	courier_future_free(f);
	gate_open(&gate);
}
END_TEST

START_TEST(test_rpc_listen_fd)
{
	struct sockaddr_un	 sun;
	courier_server		*s;
	courier_client		*c;
	courier_value		*v;
	char			*cause = NULL;
	int			 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sock_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(fd, 16), 0);

	s = courier_server_new();
	courier_server_add_method(s, "echo", m_echo, NULL, 0, &cause);
	ck_assert_int_eq(courier_server_listen_fd(s, fd, &cause), 0);
	ck_assert_str_eq(courier_server_address(s), address);
	ck_assert_int_eq(courier_server_start(s, &cause), 0);
	c = client_new(address);
	v = courier_call(c, "echo", courier_args(courier_int(4)), NULL);
	ck_assert_int_eq(courier_value_int(v), 4);
	courier_value_unref(v);
	courier_client_free(c);
	courier_server_free(s);
	/* A handed-over socket's file belongs to whoever bound it. */
	ck_assert_int_eq(access(sock_path, F_OK), 0);

	/* Not a listening socket: refused, and the fd is closed. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s = courier_server_new();
	ck_assert_int_eq(courier_server_listen_fd(s, fd, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not listening"));
	free(cause);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_deferred)
{
	courier_client	*c = pair.c;
	courier_value	*v;

	v = courier_call(c, "defer", courier_args(courier_int(8)), NULL);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(courier_value_string(v, NULL), "later 8");
	courier_value_unref(v);
}
END_TEST

START_TEST(test_rpc_peer_credentials)
{
	courier_client	*c = pair.c;
	courier_value	*v;

	v = courier_call(c, "peer", courier_list_new(), NULL);
	ck_assert_int_eq(courier_list_len(v), 3);
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 0)), getuid());
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 1)), getgid());
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 2)), getpid());
	courier_value_unref(v);
}
END_TEST

START_TEST(test_rpc_addresses)
{
	static const char *bad[] = {
		"", "unix:", "tcp:", "tcp:host", "tcp::80", "tcp:h:99999",
		"tcp:h:-1", "tcp:::1:80", "http://x", "unix:@",
	};
	courier_server	*s, *s2;
	char		*cause = NULL, longpath[200];
	size_t		 i;
	int		 fd;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(!courier_address_valid(bad[i], &cause),
		    "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
	ck_assert(courier_address_valid("tcp:[::1]:80", NULL));
	ck_assert(courier_address_valid("unix:@abstract", NULL));
	memset(longpath, 'a', sizeof longpath);
	memcpy(longpath, "unix:/", 6);
	longpath[sizeof longpath - 1] = '\0';
	ck_assert(!courier_address_valid(longpath, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "longer"));
	free(cause);
	cause = NULL;
	ck_assert_ptr_null(courier_client_new("bogus", &cause));
	free(cause);

	/* In use: refused; stale (nobody listening): replaced. */
	s = server_new(address, 1);
	s2 = courier_server_new();
	ck_assert_int_eq(courier_server_listen(s2, address, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "in use"));
	free(cause);
	cause = NULL;
	courier_server_free(s2);
	courier_server_free(s);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		strcpy(sun.sun_path, sock_path);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun,
		    sizeof sun), 0);
	}
	close(fd);		/* leaves a stale socket file */
	s = server_new(address, 1);
	courier_server_free(s);

	/* A path that is not a socket is left alone. */
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	s = courier_server_new();
	ck_assert_int_eq(courier_server_listen(s, address, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a socket"));
	free(cause);
	courier_server_free(s);
	unlink(sock_path);
}
END_TEST

struct loop_thread {
	struct event_base	*base;
	pthread_t		 t;
};

static void *
loop_main(void *arg)
{
	struct loop_thread	*lt = arg;

	event_base_loop(lt->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return (NULL);
}

START_TEST(test_rpc_caller_base)
{
	struct loop_thread	 lt;
	courier_server		*s;
	courier_client		*c;
	courier_value		*v;
	courier_future		*f;
	char			*cause = NULL;

	/* Threads must be on before the base: a server turns them on. */
	s = courier_server_new();
	lt.base = event_base_new();
	courier_server_set_base(s, lt.base);
	courier_server_set_workers(s, 1);
	courier_server_add_method(s, "echo", m_echo, NULL,
	    COURIER_METHOD_INLINE, &cause);
	courier_server_add_method(s, "block", m_block, &gate, 0, &cause);
	ck_assert_int_eq(courier_server_listen(s, address, &cause), 0);
	ck_assert_int_eq(courier_server_start(s, &cause), 0);
	pthread_create(&lt.t, NULL, loop_main, &lt);

	c = client_new(address);
	f = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 1);
	v = courier_call(c, "echo", courier_args(courier_int(6)), NULL);
	ck_assert_int_eq(courier_value_int(v), 6);
	courier_value_unref(v);
	gate_open(&gate);
	v = courier_future_wait(f, COURIER_FOREVER, NULL);
	ck_assert_str_eq(courier_value_string(v, NULL), "unblocked");
	courier_value_unref(v);
	courier_future_free(f);
	courier_client_free(c);

	courier_server_stop(s, 1000);
	event_base_loopbreak(lt.base);
	pthread_join(lt.t, NULL);
	courier_server_free(s);
	event_base_free(lt.base);
}
END_TEST

START_TEST(test_rpc_big_payloads)
{
	courier_client	*c = pair.c;
	courier_value	*v, *sent;
	size_t		 sizes[] = { 1 << 20, 10 << 20 }, i, len;
	char		*p;

	for (i = 0; i < 2; i++) {
		p = malloc(sizes[i]);
		memset(p, 'a' + (int)i, sizes[i]);
		sent = courier_bytes(p, sizes[i]);
		free(p);
		v = courier_call(c, "echo", courier_args(courier_value_ref(
		    sent)), NULL);
		ck_assert_ptr_nonnull(v);
		ck_assert(courier_value_bytes(v, &len) != NULL);
		ck_assert_uint_eq(len, sizes[i]);
		ck_assert(courier_value_equal(v, sent));
		courier_value_unref(v);
		courier_value_unref(sent);
	}
}
END_TEST

/* What m_keep keeps, for m_kept. */
struct keep {
	pthread_mutex_t	 mtx;
	courier_value	*args;
};

static courier_value *
m_keep(void *self, courier_request *req, courier_error **err)
{
	struct keep	*k = self;

	pthread_mutex_lock(&k->mtx);
	courier_value_unref(k->args);
	k->args = courier_value_ref(courier_request_args(req));
	pthread_mutex_unlock(&k->mtx);
	return (NULL);
}

static courier_value *
m_kept(void *self, courier_request *req, courier_error **err)
{
	struct keep	*k = self;
	courier_value	*v;

	pthread_mutex_lock(&k->mtx);
	v = courier_value_ref(k->args);
	pthread_mutex_unlock(&k->mtx);
	return (v);
}

/* A payload of n bytes of a pattern that differs by seed. */
static courier_value *
big_bytes(size_t n, unsigned seed)
{
	courier_value	*v;
	uint8_t		*p = malloc(n);
	size_t		 i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 10));
	v = courier_bytes(p, n);
	free(p);
	return (v);
}

/*
 * Big payloads travel without copies (sent from their values, received
 * into memory the values borrow): eight different ones in flight at once
 * come back each to its own caller, in both handler modes and on TCP; and
 * arguments a handler keeps outlive their connection and its buffers.
 */
START_TEST(test_rpc_big_zero_copy)
{
	static const char *const methods[] = { "echo", "echo_inline" };
	struct keep		 k = { PTHREAD_MUTEX_INITIALIZER, NULL };
	courier_server		*s;
	courier_client		*c;
	courier_future		*f[8];
	courier_value		*sent[8], *v, *t, *args;
	int64_t			 shape[2] = { 256, 256 };
	char			*cause = NULL, addr[sizeof address];
	float			*data;
	size_t			 i, m;
	int			 pass;

	setup();
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			snprintf(addr, sizeof addr, "%s", address);
		else
			snprintf(addr, sizeof addr, "tcp:127.0.0.1:0");
		s = courier_server_new();
		ck_assert_int_eq(courier_server_add_method(s, "echo", m_echo,
		    NULL, 0, &cause), 0);
		ck_assert_int_eq(courier_server_add_method(s, "echo_inline",
		    m_echo, NULL, COURIER_METHOD_INLINE, &cause), 0);
		ck_assert_int_eq(courier_server_add_method(s, "keep", m_keep,
		    &k, 0, &cause), 0);
		ck_assert_int_eq(courier_server_add_method(s, "kept", m_kept,
		    &k, 0, &cause), 0);
		ck_assert_int_eq(courier_server_listen(s, addr, &cause), 0);
		ck_assert_int_eq(courier_server_start(s, &cause), 0);
		c = client_new(courier_server_address(s));

		for (m = 0; m < 2; m++) {
			for (i = 0; i < 8; i++) {
				sent[i] = big_bytes((1 << 20) + i * 4099,
				    (unsigned)(i + 8 * m));
				f[i] = courier_call_async(c, methods[m],
				    courier_args(courier_value_ref(sent[i])));
			}
			for (i = 0; i < 8; i++) {
				v = courier_future_wait(f[i], 10000, NULL);
				ck_assert_msg(courier_value_equal(v, sent[i]),
				    "%s: call %zu came back other", methods[m],
				    i);
				courier_value_unref(v);
				courier_future_free(f[i]);
				courier_value_unref(sent[i]);
			}
		}

		/* Kept from one connection, read back on another. */
		data = calloc(256 * 256, sizeof *data);
		ck_assert_ptr_nonnull(data);
		for (i = 0; i < 256 * 256; i++)
			data[i] = (float)i / 7;
		t = courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data,
		    256 * 256 * sizeof *data, &cause);
		free(data);
		args = courier_list_new();
		courier_list_append(args, big_bytes(3 << 20, 99));
		courier_list_append(args, t);
		v = courier_call(c, "keep", courier_value_ref(args), NULL);
		ck_assert_ptr_nonnull(v);
		courier_value_unref(v);
		courier_client_free(c);
		c = client_new(courier_server_address(s));
		/* The server's buffers take other frames in between. */
		sent[0] = big_bytes(2 << 20, 5);
		v = courier_call(c, "echo", courier_args(courier_value_ref(
		    sent[0])), NULL);
		ck_assert(courier_value_equal(v, sent[0]));
		courier_value_unref(v);
		courier_value_unref(sent[0]);
		v = courier_call(c, "kept", courier_list_new(), NULL);
		ck_assert(courier_value_equal(v, args));
		t = (courier_value *)courier_list_get(v, 1);
		ck_assert_uint_eq((uintptr_t)courier_tensor_data(t, NULL) %
		    sizeof(float), 0);
		courier_value_unref(v);
		courier_value_unref(args);
		courier_client_free(c);
		courier_server_free(s);
		courier_value_unref(k.args);
		k.args = NULL;
	}
	teardown();
}
END_TEST

START_TEST(test_rpc_frame_limits)
{
	courier_server	*s;
	courier_client	*c, *c2;
	courier_error	*err = NULL;
	courier_value	*v;
	char		 buf[8192], *cause = NULL;

	s = courier_server_new();
	courier_server_set_max_frame(s, 4096);
	courier_server_add_method(s, "echo", m_echo, NULL, 0, &cause);
	courier_server_add_method(s, "big", m_big, NULL, 0, &cause);
	courier_server_listen(s, address, &cause);
	courier_server_start(s, &cause);
	c = client_new(address);
	c2 = client_new(address);
	v = courier_call(c2, "echo", courier_args(courier_int(1)), NULL);
	courier_value_unref(v);

	/* Too big for the server: this connection closes, with a reason. */
	memset(buf, 'x', sizeof buf);
	v = courier_call(c, "echo", courier_args(courier_bytes(buf,
	    sizeof buf)), &err);
	expect_error(v, err, COURIER_RESOURCE_EXHAUSTED, "limit");
	/* ... and only this one. */
	v = courier_call(c2, "echo", courier_args(courier_int(2)), NULL);
	ck_assert_int_eq(courier_value_int(v), 2);
	courier_value_unref(v);

	/* A result too big to send fails that call only. */
	err = NULL;
	v = courier_call(c2, "big", courier_args(courier_int(8000)), &err);
	expect_error(v, err, COURIER_RESOURCE_EXHAUSTED, "big");
	v = courier_call(c2, "echo", courier_args(courier_int(3)), NULL);
	ck_assert_int_eq(courier_value_int(v), 3);
	courier_value_unref(v);

	/* Too big for the client: refused before it is sent. */
	courier_client_set_max_frame(c, 1024);
	err = NULL;
	v = courier_call(c, "echo", courier_args(courier_bytes(buf, 2000)),
	    &err);
	expect_error(v, err, COURIER_RESOURCE_EXHAUSTED, "limit");
	courier_client_free(c);
	courier_client_free(c2);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_client_free_pending)
{
	courier_server	*s = server_new(address, 2);
	courier_client	*c = client_new(address);
	courier_future	*f;
	courier_error	*err = NULL;
	courier_value	*v;

	f = courier_call_async(c, "block", courier_list_new());
	gate_wait_entered(&gate, 1);
	courier_client_free(c);
	/* The future outlives its client and says why it ended. */
	v = courier_future_wait(f, COURIER_FOREVER, &err);
	expect_error(v, err, COURIER_CANCELLED, "freed");
	courier_future_free(f);
	gate_open(&gate);
	courier_server_free(s);
}
END_TEST

struct canceller {
	int	 fd;
};

static void *
cancel_thread(void *arg)
{
	struct canceller	*cn = arg;
	uint64_t		 one = 1;

	gate_wait_entered(&gate, 1);
	(void)write(cn->fd, &one, sizeof one);
	return (NULL);
}

START_TEST(test_rpc_cancel_fd)
{
	courier_server		*s = server_new(address, 2);
	courier_client		*c = client_new(address), *c2;
	struct canceller	 cn;
	courier_error		*err = NULL;
	courier_value		*v;
	pthread_t		 t;

	cn.fd = eventfd(0, EFD_CLOEXEC);
	courier_client_set_cancel_fd(c, cn.fd);
	pthread_create(&t, NULL, cancel_thread, &cn);
	v = courier_call(c, "block", courier_list_new(), &err);
	expect_error(v, err, COURIER_CANCELLED, NULL);
	pthread_join(t, NULL);
	/* And every later call. */
	err = NULL;
	v = courier_call(c, "echo", courier_list_new(), &err);
	expect_error(v, err, COURIER_CANCELLED, NULL);
	courier_client_free(c);

	/* A client waiting for a server that never comes is cancelled. */
	c2 = courier_client_new("unix:/nonexistent/x", NULL);
	courier_client_set_cancel_fd(c2, cn.fd);
	err = NULL;
	v = courier_call(c2, "echo", courier_list_new(), &err);
	expect_error(v, err, COURIER_CANCELLED, NULL);
	courier_client_free(c2);
	close(cn.fd);
	gate_open(&gate);
	courier_server_free(s);
}
END_TEST

START_TEST(test_rpc_bad_arguments)
{
	courier_client	*c = pair.c;
	courier_error	*err = NULL;
	courier_value	*v;

	/* A failed value constructor leaves courier_args NULL... */
	v = courier_call(c, "echo", courier_args(courier_string("\xff")),
	    &err);
	expect_error(v, err, COURIER_INVALID_ARGUMENT, "list");
	/* ... and a list where a dict belongs is refused too. */
	err = NULL;
	v = courier_call_kw(c, "echo", courier_list_new(), courier_list_new(), 1000, &err);
	expect_error(v, err, COURIER_INVALID_ARGUMENT, "dict");
}
END_TEST

/* What the callbacks of test_rpc_client_on_base saw (loop thread). */
struct on_base {
	struct event_base	*base;
	courier_client		*c;
	courier_client		*dead;
	courier_future		*f[64];
	courier_future		*slow;
	courier_future		*nobody;
	int			 sum;
	int			 ndone;
	int			 sync_code;
	int			 slow_code;
	int			 nobody_code;
};

/* A future of the window ended: add its result; the last one stops. */
static void
on_base_done_cb(courier_future *f, void *arg)
{
	struct on_base	*ob = arg;
	courier_error	*err = NULL;
	courier_value	*v;

	v = courier_future_wait(f, 0, &err);
	ck_assert_msg(v != NULL, "future: %s", courier_error_message(err));
	ob->sum += (int)courier_value_int(v);
	courier_value_unref(v);
	if (++ob->ndone == 64 + 2)
		event_base_loopbreak(ob->base);
}

/* The call with a deadline, or the one to no server, ended. */
static void
on_base_fail_cb(courier_future *f, void *arg)
{
	struct on_base	*ob = arg;
	courier_error	*err = NULL;

	ck_assert_ptr_null(courier_future_wait(f, 0, &err));
	if (f == ob->slow)
		ob->slow_code = courier_error_code(err);
	else
		ob->nobody_code = courier_error_code(err);
	courier_error_free(err);
	if (++ob->ndone == 64 + 2)
		event_base_loopbreak(ob->base);
}

/* On the loop: start everything, and try a sync call where none fits. */
static void
on_base_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct on_base	*ob = arg;
	courier_error	*err = NULL;
	int		 i;

	for (i = 0; i < 64; i++) {
		ob->f[i] = courier_call_async(ob->c, i % 2 ? "echo" :
		    "echo_inline", courier_args(courier_int(i)));
		courier_future_then(ob->f[i], on_base_done_cb, ob);
	}
	ob->slow = courier_call_async_kw(ob->c, "block", courier_list_new(),
	    courier_dict_new(), 100);
	courier_future_then(ob->slow, on_base_fail_cb, ob);
	ob->nobody = courier_call_async(ob->dead, "echo", courier_list_new());
	courier_future_then(ob->nobody, on_base_fail_cb, ob);
	ck_assert_ptr_null(courier_call(ob->c, "echo", courier_args(
	    courier_int(1)), &err) == NULL ? NULL : (void *)1);
	ob->sync_code = courier_error_code(err);
	courier_error_free(err);
}

/*
 * A client on the caller's event loop: futures with callbacks run there,
 * a deadline ends a call that the server holds, a server that is not
 * there fails at once (no wait_for_ready), a sync call on the loop fails
 * instead of hanging it, and the client starts no thread.
 */
START_TEST(test_rpc_client_on_base)
{
	struct on_base	 ob;
	char		*cause = NULL, dead[200];
	int		 i, nthreads;
	pid_t		 pid;

	/* The server in a child: this process's threads are the client's. */
	memset(&ob, 0, sizeof ob);
	pid = child_server();
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	ob.base = event_base_new();
	ob.c = client_new(address);
	ck_assert_int_eq(courier_client_set_base(ob.c, ob.base), 0);
	snprintf(dead, sizeof dead, "unix:%s/none", tmpdir);
	ob.dead = courier_client_new(dead, &cause);
	courier_client_set_wait_for_ready(ob.dead, false);
	ck_assert_int_eq(courier_client_set_base(ob.dead, ob.base), 0);
	nthreads = harness_count_threads();

	event_base_once(ob.base, -1, EV_TIMEOUT, on_base_start_cb, &ob, NULL);
	event_base_loop(ob.base, EVLOOP_NO_EXIT_ON_EMPTY);

	ck_assert_int_eq(ob.sum, 63 * 64 / 2);
	ck_assert_int_eq(ob.slow_code, COURIER_DEADLINE_EXCEEDED);
	ck_assert_int_eq(ob.nobody_code, COURIER_UNAVAILABLE);
	ck_assert_int_eq(ob.sync_code, COURIER_FAILED_PRECONDITION);
	ck_assert_int_eq(harness_count_threads(), nthreads);
	for (i = 0; i < 64; i++)
		courier_future_free(ob.f[i]);
	courier_future_free(ob.slow);
	courier_future_free(ob.nobody);
	courier_client_free(ob.c);
	courier_client_free(ob.dead);
	event_base_free(ob.base);
	kill(pid, SIGKILL);	/* its block handler never returns */
	waitpid(pid, NULL, 0);
}
END_TEST

/*
 * Freeing a server whose handler never returns is bounded: free returns
 * after the wait, and the server goes once the handler returns at last.
 */
START_TEST(test_rpc_free_stuck_handler)
{
	courier_server	*s;
	courier_client	*c;
	courier_future	*f;
	courier_error	*err = NULL;
	courier_value	*v;
	int		 base;

	base = harness_count_threads();
	s = server_new(address, 2);
	ck_assert_int_eq(courier_server_set_handler_wait(s, 100), 0);
	c = client_new(address);
	f = courier_call_async(c, "block", courier_args(courier_int(1)));
	gate_wait_entered(&gate, 1);
	courier_server_free(s);		/* would wait forever before */
	v = courier_future_wait(f, 10000, &err);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(err);
	courier_error_free(err);
	courier_future_free(f);
	courier_client_free(c);
	gate_open(&gate);
	ck_assert_msg(harness_wait_down_to(harness_count_threads, base), "%d threads, %d before: the "
	    "stuck handler's thread did not end", harness_count_threads(), base);
}
END_TEST

static Suite *
rpc_suite(void)
{
	Suite	*s = suite_create("rpc");
	TCase	*tc;

#define ADD_WITH(name, fn, set, down) do {				\
	tc = tcase_create(name);					\
	tcase_add_checked_fixture(tc, set, down);			\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
#define ADD(name, fn)		ADD_WITH(name, fn, setup, teardown)
#define ADD_PAIR(name, fn)	ADD_WITH(name, fn, pair_setup, pair_teardown)
	ADD("unix_echo", test_rpc_unix_echo);
	ADD("tcp_echo", test_rpc_tcp_echo);
	ADD_PAIR("kwargs", test_rpc_kwargs);
	ADD_PAIR("unknown_method", test_rpc_unknown_method);
	ADD("no_methods", test_rpc_no_methods);
	ADD_PAIR("handler_error", test_rpc_handler_error);
	ADD_PAIR("list_methods", test_rpc_list_methods);
	ADD_PAIR("call_timeout", test_rpc_call_timeout);
	ADD_PAIR("future_wait_timeout", test_rpc_future_wait_timeout);
	ADD_PAIR("cancel", test_rpc_cancel);
	ADD_PAIR("callback", test_rpc_callback);
	ADD_PAIR("poll", test_rpc_poll);
	ADD("dead_server", test_rpc_dead_server);
	ADD("no_server", test_rpc_no_server);
	ADD("wait_for_ready", test_rpc_wait_for_ready);
	ADD("threads_share_client", test_rpc_threads_share_client);
	ADD("many_futures", test_rpc_many_futures);
	ADD("pool_size", test_rpc_pool_size);
	ADD("nested_call", test_rpc_nested_call);
	ADD("handler_keeps_thread", test_rpc_handler_keeps_thread);
	ADD("gathered_not_held", test_rpc_gathered_not_held);
	ADD("reader_flushes", test_rpc_reader_flushes);
	ADD("cancel_blocked_reader", test_rpc_cancel_blocked_reader);
	ADD("graceful_stop", test_rpc_graceful_stop);
	ADD_PAIR("stop_deadline", test_rpc_stop_deadline);
	ADD("listen_fd", test_rpc_listen_fd);
	ADD_PAIR("deferred", test_rpc_deferred);
	ADD_PAIR("peer_credentials", test_rpc_peer_credentials);
	ADD("addresses", test_rpc_addresses);
	ADD("caller_base", test_rpc_caller_base);
	ADD_PAIR("big_payloads", test_rpc_big_payloads);
	ADD("big_zero_copy", test_rpc_big_zero_copy);
	ADD("frame_limits", test_rpc_frame_limits);
	ADD("client_free_pending", test_rpc_client_free_pending);
	ADD("cancel_fd", test_rpc_cancel_fd);
	ADD_PAIR("bad_arguments", test_rpc_bad_arguments);
	ADD("free_stuck_handler", test_rpc_free_stuck_handler);
	ADD("client_on_base", test_rpc_client_on_base);
#undef ADD
#undef ADD_PAIR
#undef ADD_WITH
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(rpc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
