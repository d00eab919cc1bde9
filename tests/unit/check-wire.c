/*
 * check-wire.c: the call path's codec (courier-wire.c) against protobuf-c.
 * A call's and a result's frames must be the bytes protobuf-c packs for
 * them; what protobuf-c packs must decode to the same values; frames of
 * other kinds, and any the call path should not judge, must be left to
 * protobuf-c; and under random mutation, whatever the call path takes,
 * protobuf-c takes too, to equal values.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"
#include "courier.pb-c.h"

#define NSAMPLES	22

/* A value of each kind, with the edges proto3 treats apart (zeros). */
static courier_value *
sample(unsigned n)
{
	static const int64_t	 shape[2] = { 2, 3 }, zero[2] = { 0, 4 };
	static const float	 data[6] = { 1, 2, 3, 4, 5, 6 };
	courier_value		*l, *d;
	char			*cause = NULL;
	unsigned		 i;

	switch (n) {
	case 0:
		return (courier_int(-123456789012345LL));
	case 1:
		return (courier_int(0));
	case 2:
		return (courier_int(INT64_MAX));
	case 3:
		return (courier_bool(false));
	case 4:
		return (courier_bool(true));
	case 5:
		return (courier_null());
	case 6:
		return (courier_double(0.0));
	case 7:
		return (courier_double(-0.25));
	case 8:
		return (courier_string(""));
	case 9:
		return (courier_string("h\xc3\xa9llo, w\xe2\x82\xacrld"));
	case 10:
		return (courier_bytes("", 0));
	case 11:
		return (courier_bytes("\x00\x01\xfe\xff", 4));
	case 12:
		return (courier_list_new());
	case 13:
		return (courier_dict_new());
	case 14:
		return (courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data,
		    sizeof data, &cause));
	case 15:
		return (courier_tensor_new(COURIER_DT_FLOAT, 2, zero, NULL, 0,
		    &cause));
	case 16:
		return (courier_tensor_new(COURIER_DT_INT64, 0, NULL,
		    "\x01\x00\x00\x00\x00\x00\x00\x00", 8, &cause));
	case 17:		/* 200 bytes: a length of two bytes */
		return (courier_string("0123456789012345678901234567890123456"
		    "78901234567890123456789012345678901234567890123456789012"
		    "34567890123456789012345678901234567890123456789012345678"
		    "9012345678901234567890123456789012345678901234567"));
	case 18:
		d = courier_dict_new();
		courier_dict_set(d, "", courier_int(1));
		courier_dict_set(d, "k\xc3\xa9", courier_string("v"));
		courier_dict_set(d, "n", courier_null());
		return (d);
	case 19:		/* as deep as an argument may be */
		l = courier_int(7);
		for (i = 0; i < COURIER_MAX_DEPTH - 1; i++) {
			d = courier_list_new();
			ck_assert_int_eq(courier_list_append(d, l), 0);
			l = d;
		}
		return (l);
	case 20:		/* many items */
		l = courier_list_new();
		for (i = 0; i < 1000; i++)
			courier_list_append(l, courier_int((int64_t)i * 977));
		return (l);
	default:
		l = courier_list_new();
		for (i = 0; i < 19; i++)
			courier_list_append(l, sample(i));
		d = courier_dict_new();
		courier_dict_set(d, "all", l);
		courier_dict_set(d, "t", sample(14));
		return (d);
	}
}

/* protobuf-c's frame for a result. */
static void
pb_result(struct courier_buf *b, uint64_t id, const courier_value *v)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult		 result = COURIER__CALL_RESULT__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	struct courier_arena		 a;
	char				*cause = NULL;

	courier_arena_init(&a);
	ck_assert_int_eq(courier_value_to_pb(v, &o, &a, &cause), 0);
	result.result = &o;
	resp.result = &result;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_RESULT;
	f.result = &resp;
	courier_frame_pack(b, &f);
	courier_arena_free(&a);
}

/* protobuf-c's frame for a call. */
static void
pb_call(struct courier_buf *b, uint64_t id, const char *method,
    const courier_value *args, const courier_value *kwargs, int64_t timeout)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__CallRequest	 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments	 pb = COURIER__CALL_ARGUMENTS__INIT;
	struct courier_arena	 a;
	char			*cause = NULL;

	courier_arena_init(&a);
	ck_assert_int_eq(courier_call_args_to_pb(args, kwargs, &pb, &a,
	    &cause), 0);
	call.method = (char *)method;
	call.arguments = &pb;
	call.timeout_us = timeout;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_CALL;
	f.call = &call;
	courier_frame_pack(b, &f);
	courier_arena_free(&a);
}

static void
same_bytes(const struct courier_buf *x, const struct courier_buf *y,
    const char *what, unsigned n)
{
	ck_assert_msg(courier_buf_used(x) == courier_buf_used(y) &&
	    memcmp(x->data + x->off, y->data + y->off, courier_buf_used(x)) ==
	    0, "%s of sample %u: %zu bytes by hand, %zu by protobuf-c", what,
	    n, courier_buf_used(x), courier_buf_used(y));
}

/* Take the one frame b holds. */
static void
take(struct courier_buf *b, struct courier_arena *a, struct courier_frame *f)
{
	size_t	 need = 0;
	char	*cause = NULL;

	ck_assert_msg(courier_frame_take(b, SIZE_MAX, a, f, &need, &cause) ==
	    1, "take: %s", cause != NULL ? cause : "incomplete");
	ck_assert_uint_eq(courier_buf_used(b), 0);
}

/* A result's frame: the same bytes both ways, and the value back. */
START_TEST(test_wire_result)
{
	static const uint64_t	 ids[] = { 0, 7, 300, UINT64_MAX };
	struct courier_buf	 x, y;
	struct courier_arena	 a;
	struct courier_frame	 f;
	courier_value		*v;
	struct courier_wire_size sz;
	size_t			 i;

	courier_arena_init(&a);
	v = sample((unsigned)_i);
	ck_assert_ptr_nonnull(v);
	for (i = 0; i < nitems(ids); i++) {
		memset(&x, 0, sizeof x);
		memset(&y, 0, sizeof y);
		courier_wire_result_size(ids[i], v, &sz);
		courier_wire_pack_result(&x, ids[i], v, &sz);
		ck_assert_uint_eq(courier_buf_used(&x), FRAME_HEADER + sz.frame);
		pb_result(&y, ids[i], v);
		same_bytes(&x, &y, "result", (unsigned)_i);

		take(&y, &a, &f);
		ck_assert_int_eq(f.kind, COURIER_FRAME_RESULT);
		ck_assert(f.id == ids[i]);
		ck_assert_msg(courier_value_equal(f.value, v),
		    "sample %d does not come back", _i);
		courier_value_unref(f.value);
		courier_arena_reset(&a);
		courier_buf_free(&x);
		courier_buf_free(&y);
	}
	courier_value_unref(v);
	courier_arena_free(&a);
}
END_TEST

/* A call's frame: the same bytes both ways, and its parts back. */
START_TEST(test_wire_call)
{
	static const int64_t	 timeouts[] = { 0, 1, 12345678, -5 };
	static const char *const methods[] = { "echo", "", "m\xc3\xa9thod" };
	struct courier_buf	 x, y;
	struct courier_arena	 a;
	struct courier_frame	 f;
	courier_value		*args, *kwargs;
	struct courier_wire_size sz;
	size_t			 i;

	courier_arena_init(&a);
	args = courier_list_new();
	kwargs = courier_dict_new();
	if (_i != 19) {			/* that one is as deep as allowed */
		courier_list_append(args, sample((unsigned)_i));
		courier_list_append(args, sample((unsigned)(_i + 1) %
		    NSAMPLES));
		courier_dict_set(kwargs, "k", sample((unsigned)_i));
	} else
		courier_list_append(args, sample(19));
	if (_i % 3 == 0)
		courier_dict_set(kwargs, "", courier_int(_i));
	for (i = 0; i < nitems(timeouts); i++) {
		memset(&x, 0, sizeof x);
		memset(&y, 0, sizeof y);
		courier_wire_call_size(i + 1, methods[i % 3], args, kwargs,
		    timeouts[i], &sz);
		courier_wire_pack_call(&x, i + 1, methods[i % 3], args, kwargs,
		    timeouts[i], &sz);
		ck_assert_uint_eq(courier_buf_used(&x), FRAME_HEADER + sz.frame);
		pb_call(&y, i + 1, methods[i % 3], args, kwargs, timeouts[i]);
		same_bytes(&x, &y, "call", (unsigned)_i);

		take(&y, &a, &f);
		ck_assert_int_eq(f.kind, COURIER_FRAME_CALL);
		ck_assert(f.id == i + 1);
		ck_assert_str_eq(f.method, methods[i % 3]);
		ck_assert(f.timeout_us == timeouts[i]);
		ck_assert(courier_value_equal(f.args, args));
		ck_assert(courier_value_equal(f.kwargs, kwargs));
		courier_value_unref(f.args);
		courier_value_unref(f.kwargs);
		courier_arena_reset(&a);
		courier_buf_free(&x);
		courier_buf_free(&y);
	}
	courier_value_unref(args);
	courier_value_unref(kwargs);
	courier_arena_free(&a);
}
END_TEST

/* Frame bytes from a byte string (a 4-byte header is put first). */
static void
raw_frame(struct courier_buf *b, const void *body, size_t len)
{
	uint8_t	*p;

	memset(b, 0, sizeof *b);
	p = courier_buf_reserve(b, FRAME_HEADER + len);
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + FRAME_HEADER, body, len);
	b->len += FRAME_HEADER + len;
}

/*
 * What the call path leaves to protobuf-c: other frames, and calls and
 * results it would not judge alike. Each one is a valid frame, so
 * protobuf-c takes it.
 */
START_TEST(test_wire_left_to_pb)
{
	static const struct {
		const char	*what;
		const char	*body;
		size_t		 len;
	} frames[] = {
#define F(what, s) { what, s, sizeof s - 1 }
		F("a hello", "\x08\x01\x12\x02\x08\x01"),
		F("an error", "\x08\x01\x2a\x04\x08\x05\x12\x00"),
		F("list methods", "\x08\x01\x32\x00"),
		F("the methods", "\x08\x01\x3a\x03\x0a\x01m"),
		F("nothing", ""),
		F("an id twice", "\x08\x01\x08\x02\x22\x00"),
		F("an id of 0", "\x08\x00\x22\x00"),
		F("a call and a result", "\x08\x01\x1a\x00\x22\x00"),
		F("a call's field twice", "\x08\x01\x1a\x04\x18\x01\x18\x02"),
		F("a method with NUL", "\x08\x01\x1a\x03\x0a\x01\x00"),
		F("a method not UTF-8", "\x08\x01\x1a\x03\x0a\x01\xff"),
		F("an unknown call field", "\x08\x01\x1a\x02\x20\x01"),
		/* result { result { value { reduced_object { } } } } */
		F("a pickled object", "\x08\x01\x22\x06\x12\x04\x0a\x02\x62\x00"),
		F("a type value", "\x08\x01\x22\x06\x12\x04\x0a\x02\x72\x00"),
		F("an empty value", "\x08\x01\x22\x04\x12\x02\x0a\x00"),
		F("two payloads",
		    "\x08\x01\x22\x08\x12\x06\x0a\x04\x08\x01\x18\x01"),
		F("a numpy object array",
		    "\x08\x01\x22\x09\x12\x07\x0a\x05\x08\x01\x80\x01\x02"),
		F("a string not UTF-8",
		    "\x08\x01\x22\x07\x12\x05\x0a\x03\x6a\x01\xff"),
		F("a string tensor",
		    "\x08\x01\x22\x08\x12\x06\x0a\x04\x4a\x02\x08\x07"),
		F("a tensor of unknown rank",
		    "\x08\x01\x22\x0a\x12\x08\x0a\x06\x4a\x04\x12\x02\x18\x01"),
		/* dict { key: int 1 } value { int 1 } */
		F("an int key", "\x08\x01\x22\x0e\x12\x0c\x0a\x0a\x32\x08"
		    "\x0a\x02\x08\x01\x12\x02\x08\x01"),
		F("a key without its value", "\x08\x01\x22\x0b\x12\x09\x0a\x07"
		    "\x32\x05\x0a\x03\x6a\x01\x6b"),
		F("a kwarg without its value",
		    "\x08\x01\x1a\x09\x12\x07\x12\x05\x0a\x03kwa"),
		F("an unknown field in a value", "\x08\x01\x22\x09\x12\x07"
		    "\x0a\x05\x08\x01\xa0\x01\x01"),
#undef F
	};
	struct courier_buf	 b;
	struct courier_arena	 a;
	struct courier_frame	 f;
	size_t			 i;

	courier_arena_init(&a);
	for (i = 0; i < nitems(frames); i++) {
		raw_frame(&b, frames[i].body, frames[i].len);
		ck_assert_msg(!courier_wire_decode(b.data + FRAME_HEADER,
		    frames[i].len, &f, &a, NULL), "%s: taken by hand",
		    frames[i].what);
		take(&b, &a, &f);
		ck_assert_msg(f.kind == COURIER_FRAME_PB, "%s",
		    frames[i].what);
		courier_arena_reset(&a);
		courier_buf_free(&b);
	}
	courier_arena_free(&a);
}
END_TEST

/* Append a LEN field holding len bytes at p to buf (*n bytes long). */
static uint8_t *
wrap(uint8_t *buf, size_t *n, unsigned field, const uint8_t *p, size_t len)
{
	uint8_t	 head[16];
	size_t	 h = 0;
	uint64_t x = len;

	head[h++] = (uint8_t)(field << 3 | 2);
	while (x >= 0x80) {
		head[h++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	head[h++] = (uint8_t)x;
	buf = xrealloc(buf, *n + h + len);
	memcpy(buf + *n, head, h);
	memmove(buf + *n + h, p, len);
	*n += h + len;
	return (buf);
}

/* Wrap the message in buf (*n bytes) as field field of a new one. */
static uint8_t *
nest(uint8_t *buf, size_t *n, unsigned field)
{
	uint8_t	*out = NULL;
	size_t	 m = 0;

	out = wrap(out, &m, field, buf, *n);
	free(buf);
	*n = m;
	return (out);
}

/*
 * A value too deep for an argument (one list more than a value may hold)
 * is protobuf-c's to refuse, in its words.
 */
START_TEST(test_wire_too_deep)
{
	struct courier_buf	 b;
	struct courier_arena	 a;
	struct courier_frame	 f;
	courier_value		*v;
	uint8_t			*buf;
	size_t			 n;
	char			*cause = NULL;

	courier_arena_init(&a);
	v = sample(19);
	ck_assert_int_eq(courier_value_encode(v, &buf, &n, &cause), 0);
	courier_value_unref(v);
	buf = nest(buf, &n, 1);		/* SerializedList.items */
	buf = nest(buf, &n, 5);		/* SerializedObject.list_value */
	buf = nest(buf, &n, 1);		/* CallArguments.args */
	buf = nest(buf, &n, 2);		/* CallRequest.arguments */
	buf = nest(buf, &n, 3);		/* Frame.call */
	ck_assert(!courier_wire_decode(buf, n, &f, &a, NULL));
	raw_frame(&b, buf, n);
	take(&b, &a, &f);
	ck_assert_int_eq(f.kind, COURIER_FRAME_PB);
	ck_assert_int_eq(courier_call_args_from_pb(f.pb->call->arguments,
	    &f.args, &f.kwargs, &cause), -1);
	ck_assert_msg(strstr(cause, "nest") != NULL, "%s", cause);
	free(cause);
	free(buf);
	courier_buf_free(&b);
	courier_arena_free(&a);
}
END_TEST

static uint64_t
prng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dULL);
}

/* What protobuf-c makes of a frame the call path took: the same. */
static void
pb_agrees(const uint8_t *p, size_t len, const struct courier_frame *f,
    unsigned iter)
{
	struct courier_buf	 b;
	struct courier_arena	 a;
	Courier__Frame		*pb;
	courier_value		*v, *args, *kwargs;
	size_t			 need;
	char			*cause = NULL;

	courier_arena_init(&a);
	raw_frame(&b, p, len);
	ck_assert_msg(courier_frame_next(&b, SIZE_MAX, &a, &pb, &need,
	    &cause) == 1, "iteration %u: taken by hand, refused by "
	    "protobuf-c: %s", iter, cause);
	ck_assert(pb->call_id == f->id);
	if (f->kind == COURIER_FRAME_RESULT) {
		ck_assert_int_eq(pb->body_case, COURIER__FRAME__BODY_RESULT);
		if (pb->result->result == NULL ||
		    pb->result->result->result == NULL)
			v = courier_null();
		else
			v = courier_value_from_pb(pb->result->result->result,
			    &cause);
		ck_assert_msg(v != NULL, "iteration %u: %s", iter, cause);
		ck_assert_msg(courier_value_equal(v, f->value),
		    "iteration %u: the values differ", iter);
		courier_value_unref(v);
	} else {
		ck_assert_int_eq(pb->body_case, COURIER__FRAME__BODY_CALL);
		ck_assert_str_eq(pb->call->method, f->method);
		ck_assert(pb->call->timeout_us == f->timeout_us);
		ck_assert_msg(courier_call_args_from_pb(pb->call->arguments,
		    &args, &kwargs, &cause) == 0, "iteration %u: %s", iter,
		    cause);
		ck_assert(courier_value_equal(args, f->args));
		ck_assert(courier_value_equal(kwargs, f->kwargs));
		courier_value_unref(args);
		courier_value_unref(kwargs);
	}
	courier_buf_free(&b);
	courier_arena_free(&a);
}

/* Mutate valid frames: what the call path takes, protobuf-c takes alike. */
START_TEST(test_wire_mutations)
{
	struct courier_buf	 seeds[6];
	struct courier_arena	 a;
	struct courier_frame	 f;
	courier_value		*v, *args;
	uint8_t			*buf;
	size_t			 len, pos, i, k, nmut, seedlen;
	uint64_t		 s = 0x9e3779b97f4a7c15ULL, r;
	unsigned		 iter, taken = 0, left = 0;

	courier_arena_init(&a);
	for (i = 0; i < nitems(seeds); i++) {
		memset(&seeds[i], 0, sizeof seeds[i]);
		v = sample(i == 5 ? 21 : (unsigned)(i * 4 + 2));
		if (i % 2 == 0)
			pb_result(&seeds[i], i + 1, v);
		else {
			args = courier_args(courier_value_ref(v),
			    courier_int(3));
			pb_call(&seeds[i], i + 1, "echo", args, NULL, 1000);
			courier_value_unref(args);
		}
		courier_value_unref(v);
	}
	for (iter = 0; iter < 30000; iter++) {
		i = prng_next(&s) % nitems(seeds);
		seedlen = courier_buf_used(&seeds[i]) - FRAME_HEADER;
		len = seedlen;
		buf = xmalloc(len + 16);
		memcpy(buf, seeds[i].data + FRAME_HEADER, len);
		nmut = 1 + prng_next(&s) % 3;
		for (k = 0; k < nmut && len > 0; k++) {
			r = prng_next(&s);
			pos = (r >> 8) % len;
			switch (r % 6) {
			case 0:
				buf[pos] ^= (uint8_t)(1 << ((r >> 40) % 8));
				break;
			case 1:
				buf[pos] = (uint8_t)(r >> 48);
				break;
			case 2:
				len = pos;
				break;
			case 3:
				if (len < seedlen + 16) {
					memmove(buf + pos + 1, buf + pos,
					    len - pos);
					buf[pos] = (uint8_t)(r >> 48);
					len++;
				}
				break;
			case 4:
				memmove(buf + pos, buf + pos + 1,
				    len - pos - 1);
				len--;
				break;
			default:
				buf[pos] = (r >> 40) & 1 ? 0xff : 0x80;
				break;
			}
		}
		if (courier_wire_decode(buf, len, &f, &a, NULL)) {
			pb_agrees(buf, len, &f, iter);
			courier_value_unref(f.args);
			courier_value_unref(f.kwargs);
			courier_value_unref(f.value);
			taken++;
		} else
			left++;
		courier_arena_reset(&a);
		free(buf);
	}
	ck_assert_uint_gt(taken, 1000);
	ck_assert_uint_gt(left, 1000);
	for (i = 0; i < nitems(seeds); i++)
		courier_buf_free(&seeds[i]);
	courier_arena_free(&a);
}
END_TEST

/* n bytes of a pattern that differs by seed. */
static void *
pattern(size_t n, unsigned seed)
{
	uint8_t	*p = xmalloc(n);
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 12));
	return (p);
}

/* Doubles in the big tensor: bytes found nowhere else in its frame. */
#define BIG_DOUBLES	(64 * 1024)

/*
 * The arguments of the big call: payloads over and under the line that
 * segments draw, and that borrowing draws (a quarter of the buffer).
 */
static void
big_args(courier_value **args, courier_value **kwargs)
{
	int64_t		 dbl[1] = { BIG_DOUBLES }, i32[2] = { 100, 100 };
	double		*d;
	void		*p;
	char		*cause = NULL;
	size_t		 i;

	*args = courier_list_new();
	p = pattern(1 << 20, 1);
	courier_list_append(*args, courier_bytes(p, 1 << 20));
	free(p);
	d = xcalloc(BIG_DOUBLES, sizeof *d);
	for (i = 0; i < BIG_DOUBLES; i++)
		d[i] = (double)i + 0.25;
	courier_list_append(*args, courier_tensor_new(COURIER_DT_DOUBLE, 1,
	    dbl, d, BIG_DOUBLES * sizeof *d, &cause));
	free(d);
	courier_list_append(*args, courier_bytes("small", 5));
	p = pattern(10000 * 4, 3);
	courier_list_append(*args, courier_tensor_new(COURIER_DT_INT32, 2,
	    i32, p, 10000 * 4, &cause));
	free(p);
	*kwargs = courier_dict_new();
	p = pattern(20000, 4);
	courier_dict_set(*kwargs, "k", courier_bytes(p, 20000));
	free(p);
	ck_assert_ptr_null(cause);
}

/* Whether p lies in the n bytes at base. */
static bool
within(const void *p, const void *base, size_t n)
{
	return ((const uint8_t *)p >= (const uint8_t *)base &&
	    (const uint8_t *)p < (const uint8_t *)base + n);
}

/*
 * A call with big payloads: they go as segments (the frame's buffer holds
 * only the rest), through a socket that takes a few KiB at a time and
 * with a move to another buffer half-way through a segment, and what
 * arrives is exactly the bytes protobuf-c packs. The method's length
 * shifts every payload's place, so that some tensors land aligned and
 * others not.
 */
START_TEST(test_wire_segments)
{
	struct courier_buf	 x = { 0 }, z = { 0 }, y = { 0 }, *cur = &x;
	struct courier_wire_size sz;
	courier_value		*args, *kwargs;
	char			 method[8] = "mmmmmmm";
	uint8_t			*got;
	size_t			 ngot = 0;
	ssize_t			 w, r;
	int			 fds[2], size = 4096, writes = 0;

	method[_i] = '\0';
	big_args(&args, &kwargs);
	courier_wire_call_size(9, method, args, kwargs, 0, &sz);
	courier_wire_pack_call(&x, 9, method, args, kwargs, 0, &sz);
	ck_assert_uint_eq(x.nsegs, 4);
	ck_assert_uint_eq(sz.spliced, (1 << 20) + BIG_DOUBLES * 8 + 40000 +
	    20000);
	ck_assert_uint_eq(x.len, FRAME_HEADER + sz.frame - sz.spliced);
	ck_assert_uint_lt(x.len, 4096);
	pb_call(&y, 9, method, args, kwargs, 0);
	ck_assert_uint_eq(courier_buf_used(&x), courier_buf_used(&y));

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	ck_assert_int_eq(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size,
	    sizeof size), 0);
	ck_assert_int_ne(fcntl(fds[1], F_SETFL, O_NONBLOCK), -1);
	got = xmalloc(courier_buf_used(&y));
	for (;;) {
		w = courier_buf_write(cur, fds[0]);
		if (w > 0 && ++writes == 3) {
			/* Mid-segment: the rest moves, references and all. */
			ck_assert_uint_ne(x.seg_off, 0);
			courier_buf_move(&z, &x);
			ck_assert_uint_eq(courier_buf_used(&x), 0);
			cur = &z;
		}
		if (courier_buf_used(cur) == 0)
			break;
		ck_assert(w > 0 || errno == EAGAIN);
		while ((r = read(fds[1], got + ngot, courier_buf_used(&y) -
		    ngot)) > 0)
			ngot += (size_t)r;
	}
	ck_assert_int_gt(writes, 3);
	while (ngot < courier_buf_used(&y) && (r = read(fds[1], got + ngot,
	    courier_buf_used(&y) - ngot)) > 0)
		ngot += (size_t)r;
	ck_assert_uint_eq(ngot, courier_buf_used(&y));
	ck_assert(memcmp(got, y.data + y.off, ngot) == 0);
	/* All sent: no segment holds a value any more. */
	ck_assert_uint_eq(z.nsegs, 0);
	close(fds[0]);
	close(fds[1]);
	free(got);
	courier_buf_free(&x);
	courier_buf_free(&z);
	courier_buf_free(&y);
	courier_value_unref(args);
	courier_value_unref(kwargs);
}
END_TEST

/* Check the big call's values as taken, and where their data lives. */
static void
big_check(const struct courier_frame *f, const void *block, size_t cap,
    bool lent)
{
	courier_value	*args, *kwargs;
	const void	*data, *in_frame;
	size_t		 i;

	big_args(&args, &kwargs);
	ck_assert_int_eq(f->kind, COURIER_FRAME_CALL);
	ck_assert(courier_value_equal(f->args, args));
	ck_assert(courier_value_equal(f->kwargs, kwargs));
	data = courier_value_bytes(courier_list_get(f->args, 0), NULL);
	ck_assert_msg(within(data, block, cap) == lent, "the 1 MiB bytes %s",
	    lent ? "were copied" : "borrowed");
	/* Under a quarter of the buffer, or small: copied either way. */
	data = courier_value_bytes(courier_dict_get(f->kwargs, "k"), NULL);
	ck_assert(!within(data, block, cap));
	data = courier_value_bytes(courier_list_get(f->args, 2), NULL);
	ck_assert(!within(data, block, cap));
	data = courier_tensor_data(courier_list_get(f->args, 3), NULL);
	ck_assert(!within(data, block, cap));
	/* A tensor's data is aligned for its dtype, borrowed or not. */
	for (i = 1; i <= 3; i += 2) {
		data = courier_tensor_data(courier_list_get(f->args, i), NULL);
		ck_assert_uint_eq((uintptr_t)data % courier_dtype_size(
		    courier_tensor_dtype(courier_list_get(f->args, i))), 0);
	}
	/* The big one borrows where its frame has it aligned. */
	if (lent) {
		data = courier_tensor_data(courier_list_get(args, 1), NULL);
		in_frame = memmem(block, cap, data, 64);
		ck_assert_ptr_nonnull(in_frame);
		data = courier_tensor_data(courier_list_get(f->args, 1), NULL);
		ck_assert_msg(within(data, block, cap) ==
		    ((uintptr_t)in_frame % 8 == 0), "the tensor at offset %zu "
		    "of its frame %s", (size_t)((const uint8_t *)in_frame -
		    (const uint8_t *)block), within(data, block, cap) ?
		    "borrowed" : "was copied");
	}
	courier_value_unref(args);
	courier_value_unref(kwargs);
}

/*
 * The reader's side: a big frame that fills its buffer lends it to the
 * big payloads, which then outlive the buffer's next use; a buffer that
 * they would not fill by half copies instead.
 */
START_TEST(test_wire_lend)
{
	struct courier_buf	 b = { 0 };
	struct courier_arena	 a;
	struct courier_frame	 f, g;
	struct courier_wire_size sz;
	courier_value		*args, *kwargs;
	uint8_t			*block;
	size_t			 cap, need = 0;
	char			 method[8] = "mmmmmmm", *cause = NULL;
	int			 i;

	method[_i] = '\0';
	courier_arena_init(&a);
	big_args(&args, &kwargs);
	courier_wire_call_size(9, method, args, kwargs, 0, &sz);
	courier_buf_reserve(&b, FRAME_HEADER + sz.frame + 1024);
	pb_call(&b, 9, method, args, kwargs, 0);
	pb_result(&b, 10, courier_list_get(args, 2));	/* a frame after */
	block = b.data;
	cap = b.cap;
	ck_assert_int_eq(courier_frame_take(&b, SIZE_MAX, &a, &f, &need,
	    &cause), 1);
	/* The buffer gave its memory away and kept the frame after. */
	ck_assert_ptr_ne(b.data, block);
	big_check(&f, block, cap, true);
	take(&b, &a, &g);
	ck_assert_int_eq(g.kind, COURIER_FRAME_RESULT);
	courier_value_unref(g.value);
	/* The buffer's next frames leave the borrowed values as they were. */
	pb_call(&b, 11, method, args, kwargs, 0);
	memset(b.data, 0xa5, b.cap);
	big_check(&f, block, cap, true);
	courier_buf_free(&b);
	courier_value_unref(f.args);
	courier_value_unref(f.kwargs);

	/* A buffer four times its frame copies. */
	courier_buf_reserve(&b, 4 * (FRAME_HEADER + sz.frame));
	pb_call(&b, 12, method, args, kwargs, 0);
	block = b.data;
	cap = b.cap;
	take(&b, &a, &f);
	ck_assert_ptr_eq(b.data, block);
	big_check(&f, block, cap, false);
	/* Copies that outlive their frame's buffer. */
	memset(b.data, 0xa5, b.cap);
	big_check(&f, block, cap, false);
	courier_value_unref(f.args);
	courier_value_unref(f.kwargs);
	courier_buf_free(&b);

	/*
	 * A big payload in a frame of mostly small ones would hold a small
	 * share of the buffer: it copies after all, and the buffer stays.
	 */
	courier_value_unref(args);
	args = courier_list_new();
	block = pattern(20000, 5);
	courier_list_append(args, courier_bytes(block, 20000));
	free(block);
	courier_list_append(args, sample(20));
	for (i = 0; i < 30; i++)
		courier_list_append(args, sample(20));
	pb_call(&b, 13, method, args, kwargs, 0);
	block = b.data;
	cap = b.cap;
	ck_assert_uint_ge(courier_buf_used(&b), 64 * 1024);
	take(&b, &a, &f);
	ck_assert_ptr_eq(b.data, block);
	ck_assert(courier_value_equal(f.args, args));
	ck_assert(!within(courier_value_bytes(courier_list_get(f.args, 0),
	    NULL), block, cap));
	memset(b.data, 0xa5, b.cap);
	ck_assert(courier_value_equal(f.args, args));
	courier_value_unref(f.args);
	courier_value_unref(f.kwargs);
	courier_buf_free(&b);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	courier_arena_free(&a);
}
END_TEST

/*
 * Read the frame packed in out through a socket pair into b, as a
 * connection does, and take it.
 */
static void
read_take(int sv[2], struct courier_buf *out, struct courier_buf *b,
    struct courier_arena *a, struct courier_frame *f)
{
	size_t	 need = 0;
	char	*cause = NULL;
	ssize_t	 n;
	int	 r;

	for (;;) {
		if (courier_buf_used(out) != 0)
			ck_assert(courier_buf_flush(out, sv[0]) != -1);
		n = courier_buf_read(b, sv[1], need > courier_buf_used(b) ?
		    need - courier_buf_used(b) : 0);
		ck_assert(n > 0 || (n == -1 && errno == EAGAIN));
		r = courier_frame_take(b, SIZE_MAX, a, f, &need, &cause);
		ck_assert_msg(r >= 0, "take: %s", cause);
		if (r == 1)
			break;
	}
	ck_assert_uint_eq(courier_buf_used(out), 0);
}

/*
 * A buffer marked keep_big gets back the blocks its big frames lent once
 * their values are gone, and reads the next big frame into one of them;
 * a block that comes back after the buffer is freed is freed (the leak
 * checkers see to it).
 */
START_TEST(test_wire_blocks)
{
	struct courier_buf	 b = { .keep_big = true }, out = { 0 };
	struct courier_arena	 a;
	struct courier_frame	 f;
	struct courier_wire_size sz;
	courier_value		*args, *kwargs;
	const void		*first, *again;
	void			*filler;
	int			 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_ne(fcntl(sv[1], F_SETFL, O_NONBLOCK), -1);
	courier_arena_init(&a);
	big_args(&args, &kwargs);
	courier_wire_call_size(1, "m", args, kwargs, 0, &sz);

	courier_wire_pack_call(&out, 1, "m", args, kwargs, 0, &sz);
	read_take(sv, &out, &b, &a, &f);
	first = courier_value_bytes(courier_list_get(f.args, 0), NULL);
	ck_assert(courier_value_equal(f.args, args));
	ck_assert_ptr_nonnull(b.home);
	courier_value_unref(f.args);
	courier_value_unref(f.kwargs);
	/* Memory the heap would have handed out again, were it freed. */
	filler = xmalloc(FRAME_HEADER + sz.frame);

	courier_wire_pack_call(&out, 2, "m", args, kwargs, 0, &sz);
	read_take(sv, &out, &b, &a, &f);
	again = courier_value_bytes(courier_list_get(f.args, 0), NULL);
	ck_assert_ptr_eq(again, first);
	ck_assert(courier_value_equal(f.args, args));
	/* The values outlive their buffer. */
	courier_buf_free(&b);
	ck_assert(courier_value_equal(f.args, args));
	courier_value_unref(f.args);
	courier_value_unref(f.kwargs);

	/* Not marked: nothing comes back. */
	b.keep_big = false;
	courier_wire_pack_call(&out, 3, "m", args, kwargs, 0, &sz);
	read_take(sv, &out, &b, &a, &f);
	ck_assert_ptr_null(b.home);
	ck_assert(courier_value_equal(f.args, args));
	courier_value_unref(f.args);
	courier_value_unref(f.kwargs);

	free(filler);
	courier_buf_free(&b);
	courier_buf_free(&out);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	courier_arena_free(&a);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("wire");
	tc = tcase_create("result");
	tcase_add_loop_test(tc, test_wire_result, 0, NSAMPLES);
	suite_add_tcase(s, tc);
	tc = tcase_create("call");
	tcase_add_loop_test(tc, test_wire_call, 0, NSAMPLES);
	suite_add_tcase(s, tc);
	tc = tcase_create("left_to_pb");
	tcase_add_test(tc, test_wire_left_to_pb);
	suite_add_tcase(s, tc);
	tc = tcase_create("too_deep");
	tcase_add_test(tc, test_wire_too_deep);
	suite_add_tcase(s, tc);
	tc = tcase_create("segments");
	tcase_add_loop_test(tc, test_wire_segments, 0, 8);
	suite_add_tcase(s, tc);
	tc = tcase_create("lend");
	tcase_add_loop_test(tc, test_wire_lend, 0, 8);
	suite_add_tcase(s, tc);
	tc = tcase_create("blocks");
	tcase_add_test(tc, test_wire_blocks);
	suite_add_tcase(s, tc);
	tc = tcase_create("mutations");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wire_mutations);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
