/*
 * check-batch.c: batched methods. Many concurrent callers' calls reach the
 * handler stacked in one call, and each caller gets its own result back;
 * tensors stack on a new leading dimension; a batch that fails fails each
 * of its callers; calls whose deadline passes while queued are left out;
 * calls of another shape go in batches of their own; the stop answers
 * what still waits.
 */
#include <sys/types.h>

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier/courier.h"
#include "harness.h"

#define NCALLERS	64

static char		 tmpdir[64];
static char		 address[160];

/* What the handlers saw. */
static struct {
	pthread_mutex_t	 mtx;
	unsigned	 calls;		/* handler runs */
	unsigned	 items;		/* callers in them */
	size_t		 largest;	/* the biggest batch */
	bool		 tensor;	/* args came as one tensor */
} seen = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, false };

static void
saw(size_t n, bool tensor)
{
	pthread_mutex_lock(&seen.mtx);
	seen.calls++;
	seen.items += (unsigned)n;
	if (n > seen.largest)
		seen.largest = n;
	seen.tensor = tensor;
	pthread_mutex_unlock(&seen.mtx);
}

/* x -> 2x + k for each caller, k a keyword shared by all. */
static courier_value *
b_double(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	const courier_value	*xs = courier_list_get(args, 0), *k;
	courier_value		*out;
	size_t			 i;

	saw(n, false);
	k = courier_dict_get(kwargs, "k");
	out = courier_list_new();
	for (i = 0; i < n; i++)
		courier_list_append(out, courier_int(2 *
		    courier_value_int(courier_list_get(xs, i)) +
		    (k != NULL ? courier_value_int(courier_list_get(k, i)) :
		    0)));
	return (out);
}

/* A float tensor per caller, stacked: each row + 1, as one tensor. */
static courier_value *
b_tensor(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	const courier_value	*t = courier_list_get(args, 0);
	const int64_t		*shape;
	const float		*in;
	float			*out;
	courier_value		*v;
	size_t			 ndim, len, i;
	char			*cause = NULL;

	ndim = courier_tensor_shape(t, &shape);
	saw(n, courier_value_type(t) == COURIER_TENSOR && ndim == 2 &&
	    shape[0] == (int64_t)n);
	in = courier_tensor_data(t, &len);
	out = malloc(len);
	for (i = 0; i < len / sizeof *in; i++)
		out[i] = in[i] + 1;
	v = courier_tensor_new(COURIER_DT_FLOAT, ndim, shape, out, len,
	    &cause);
	free(out);
	return (v);
}

static courier_value *
b_fail(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	saw(n, false);
	*err = courier_error_new(COURIER_RESOURCE_EXHAUSTED, "no room for %zu",
	    n);
	return (NULL);
}

static courier_value *
b_short(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	saw(n, false);
	return (courier_list_new());
}

static courier_value *
m_ping(void *self, courier_request *req, courier_error **err)
{
	return (courier_string("pong"));
}

static courier_server *
server_new(int max_wait_ms)
{
	courier_server	*s;
	char		*cause = NULL;

	s = courier_server_new();
	ck_assert_int_eq(courier_server_add_batched_method(s, "double",
	    b_double, NULL, 16, max_wait_ms, &cause), 0);
	ck_assert_int_eq(courier_server_add_batched_method(s, "tensor",
	    b_tensor, NULL, 16, max_wait_ms, &cause), 0);
	ck_assert_int_eq(courier_server_add_batched_method(s, "fail",
	    b_fail, NULL, 16, max_wait_ms, &cause), 0);
	ck_assert_int_eq(courier_server_add_batched_method(s, "short",
	    b_short, NULL, 16, max_wait_ms, &cause), 0);
	/* Inline, so it is answered after the calls before it are taken. */
	ck_assert_int_eq(courier_server_add_method(s, "ping", m_ping, NULL,
	    COURIER_METHOD_INLINE, &cause), 0);
	ck_assert_msg(courier_server_listen(s, address, &cause) == 0, "%s",
	    cause);
	ck_assert_msg(courier_server_start(s, &cause) == 0, "%s", cause);
	return (s);
}

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check-batch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(address, sizeof address, "unix:%s/s", tmpdir);
	pthread_mutex_lock(&seen.mtx);
	seen.calls = seen.items = 0;
	seen.largest = 0;
	seen.tensor = false;
	pthread_mutex_unlock(&seen.mtx);
}

static void
teardown(void)
{
	char	path[200];

	snprintf(path, sizeof path, "%s/s", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

/* 64 callers at once, each with its own value: each gets its own. */
START_TEST(test_batch_callers)
{
	courier_server	*s = server_new(100);
	courier_client	*c[4];
	courier_future	*f[NCALLERS];
	courier_value	*v;
	courier_error	*err = NULL;
	char		*cause = NULL;
	int		 i;

	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(c[i] = courier_client_new(address,
		    &cause));
	for (i = 0; i < NCALLERS; i++)
		f[i] = courier_call_async_kw(c[i % 4], "double",
		    courier_args(courier_int(i)), NULL, 10000);
	for (i = 0; i < NCALLERS; i++) {
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		ck_assert_msg(v != NULL, "caller %d: %s", i,
		    courier_error_message(err));
		ck_assert_int_eq(courier_value_int(v), 2 * i);
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	pthread_mutex_lock(&seen.mtx);
	ck_assert_uint_eq(seen.items, NCALLERS);
	/* Batched: fewer runs than callers, none over max_batch. */
	ck_assert_uint_lt(seen.calls, NCALLERS);
	ck_assert_uint_gt(seen.largest, 1);
	ck_assert_uint_le(seen.largest, 16);
	pthread_mutex_unlock(&seen.mtx);
	for (i = 0; i < 4; i++)
		courier_client_free(c[i]);
	courier_server_free(s);
}
END_TEST

/* Keywords stack like positional arguments. */
START_TEST(test_batch_kwargs)
{
	courier_server	*s = server_new(50);
	courier_client	*c;
	courier_future	*f[8];
	courier_value	*v, *kw;
	courier_error	*err = NULL;
	char		*cause = NULL;
	int		 i;

	c = courier_client_new(address, &cause);
	for (i = 0; i < 8; i++) {
		kw = courier_dict_new();
		courier_dict_set(kw, "k", courier_int(100 * i));
		f[i] = courier_call_async_kw(c, "double",
		    courier_args(courier_int(i)), kw, 10000);
	}
	for (i = 0; i < 8; i++) {
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		ck_assert_msg(v != NULL, "%s", courier_error_message(err));
		ck_assert_int_eq(courier_value_int(v), 2 * i + 100 * i);
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/* Tensors of one shape arrive as one, and leave as rows. */
START_TEST(test_batch_tensors)
{
	courier_server	*s = server_new(50);
	courier_client	*c;
	courier_future	*f[8];
	courier_value	*v, *t;
	courier_error	*err = NULL;
	const int64_t	 shape[1] = { 3 }, *got;
	const float	*data;
	float		 row[3];
	size_t		 len;
	char		*cause = NULL;
	int		 i;

	c = courier_client_new(address, &cause);
	for (i = 0; i < 8; i++) {
		row[0] = (float)i;
		row[1] = (float)i * 10;
		row[2] = -1;
		t = courier_tensor_new(COURIER_DT_FLOAT, 1, shape, row,
		    sizeof row, &cause);
		f[i] = courier_call_async_kw(c, "tensor", courier_args(t),
		    NULL, 10000);
	}
	for (i = 0; i < 8; i++) {
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		ck_assert_msg(v != NULL, "%s", courier_error_message(err));
		ck_assert_int_eq(courier_value_type(v), COURIER_TENSOR);
		ck_assert_uint_eq(courier_tensor_shape(v, &got), 1);
		ck_assert_int_eq(got[0], 3);
		data = courier_tensor_data(v, &len);
		ck_assert_uint_eq(len, sizeof row);
		ck_assert(data[0] == (float)i + 1 && data[1] == (float)i * 10 +
		    1 && data[2] == 0);
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	pthread_mutex_lock(&seen.mtx);
	ck_assert(seen.tensor);
	pthread_mutex_unlock(&seen.mtx);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/* A batch that fails fails each caller, with its code and words. */
START_TEST(test_batch_fails_whole)
{
	courier_server	*s = server_new(50);
	courier_client	*c;
	courier_future	*f[8];
	courier_value	*v;
	courier_error	*err;
	char		*cause = NULL;
	int		 i;

	c = courier_client_new(address, &cause);
	for (i = 0; i < 8; i++)
		f[i] = courier_call_async_kw(c, "fail",
		    courier_args(courier_int(i)), NULL, 10000);
	for (i = 0; i < 8; i++) {
		err = NULL;
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		ck_assert_ptr_null(v);
		ck_assert_int_eq(courier_error_code(err),
		    COURIER_RESOURCE_EXHAUSTED);
		ck_assert_ptr_nonnull(strstr(courier_error_message(err),
		    "no room for"));
		courier_error_free(err);
		courier_future_free(f[i]);
	}
	/* A handler that answers fewer than its callers: INTERNAL. */
	err = NULL;
	v = courier_call(c, "short", courier_args(courier_int(1)), &err);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(courier_error_code(err), COURIER_INTERNAL);
	ck_assert_msg(strstr(courier_error_message(err), "a list of 1 results")
	    != NULL, "%s", courier_error_message(err));
	courier_error_free(err);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/*
 * A caller whose deadline passes while its call waits for the batch gets
 * DEADLINE_EXCEEDED, and the handler never sees its call.
 */
START_TEST(test_batch_deadline_in_queue)
{
	courier_server	*s = server_new(600);
	courier_client	*c;
	courier_value	*v;
	courier_error	*err = NULL;
	char		*cause = NULL;

	c = courier_client_new(address, &cause);
	v = courier_call_kw(c, "double", courier_args(courier_int(1)), NULL, 10000,
	    &err);
	courier_value_unref(v);		/* connected, and the thread is up */
	pthread_mutex_lock(&seen.mtx);
	seen.calls = seen.items = 0;
	pthread_mutex_unlock(&seen.mtx);

	err = NULL;
	courier_client_set_timeout(c, 50);
	v = courier_call(c, "double", courier_args(courier_int(2)), &err);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(courier_error_code(err), COURIER_DEADLINE_EXCEEDED);
	courier_error_free(err);
	/*
	 * A call after it is served after it (one thread runs the batches
	 * in order, and they may share one): the handler saw that one only.
	 */
	courier_client_set_timeout(c, 30000);
	v = courier_call(c, "double", courier_args(courier_int(3)), &err);
	ck_assert_msg(v != NULL, "%s", courier_error_message(err));
	ck_assert_int_eq(courier_value_int(v), 6);
	courier_value_unref(v);
	pthread_mutex_lock(&seen.mtx);
	ck_assert_uint_eq(seen.items, 1);
	pthread_mutex_unlock(&seen.mtx);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/* Calls of another shape wait for a batch of their own. */
START_TEST(test_batch_shapes)
{
	courier_server	*s = server_new(50);
	courier_client	*c;
	courier_future	*f[6];
	courier_value	*v, *kw;
	courier_error	*err = NULL;
	char		*cause = NULL;
	int		 i;

	c = courier_client_new(address, &cause);
	for (i = 0; i < 6; i++) {
		kw = NULL;
		if (i % 2 == 1) {
			kw = courier_dict_new();
			courier_dict_set(kw, "k", courier_int(1000));
		}
		f[i] = courier_call_async_kw(c, "double",
		    courier_args(courier_int(i)), kw, 10000);
	}
	for (i = 0; i < 6; i++) {
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		ck_assert_msg(v != NULL, "%s", courier_error_message(err));
		ck_assert_int_eq(courier_value_int(v), 2 * i +
		    (i % 2 == 1 ? 1000 : 0));
		courier_value_unref(v);
		courier_future_free(f[i]);
	}
	pthread_mutex_lock(&seen.mtx);
	ck_assert_uint_ge(seen.calls, 2);
	ck_assert_uint_eq(seen.items, 6);
	pthread_mutex_unlock(&seen.mtx);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

/* The stop answers the calls that still wait for their batch. */
START_TEST(test_batch_stop)
{
	courier_server	*s = server_new(60000);
	courier_client	*c;
	courier_future	*f;
	courier_value	*v;
	courier_error	*err = NULL;
	char		*cause = NULL;

	c = courier_client_new(address, &cause);
	f = courier_call_async_kw(c, "double", courier_args(courier_int(1)),
	    NULL, 30000);
	/* When ping is answered, the call waits in its batch (60 s). */
	v = courier_call(c, "ping", courier_list_new(), &err);
	ck_assert_msg(v != NULL, "%s", courier_error_message(err));
	courier_value_unref(v);
	ck_assert(!courier_future_done(f));
	courier_server_stop(s, 5000);
	v = courier_future_wait(f, COURIER_FOREVER, &err);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(courier_error_code(err), COURIER_UNAVAILABLE);
	ck_assert_msg(strstr(courier_error_message(err), "stopped") != NULL,
	    "%s", courier_error_message(err));
	courier_error_free(err);
	courier_future_free(f);
	courier_client_free(c);
	courier_server_free(s);
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite	*s = suite_create("batch");
	TCase	*tc;

#define ADD(name, fn) do {						\
	tc = tcase_create(name);					\
	tcase_add_checked_fixture(tc, setup, teardown);			\
	tcase_set_timeout(tc, 60);					\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	ADD("callers", test_batch_callers);
	ADD("kwargs", test_batch_kwargs);
	ADD("tensors", test_batch_tensors);
	ADD("fails_whole", test_batch_fails_whole);
	ADD("deadline_in_queue", test_batch_deadline_in_queue);
	ADD("shapes", test_batch_shapes);
	ADD("stop", test_batch_stop);
#undef ADD
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(batch_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
