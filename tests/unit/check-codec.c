/*
 * check-codec.c: unit tests of the courier wire codec: values to and from
 * courier.SerializedObject, byte for byte as Launchpad's Courier writes
 * them, the refusal of what only Python can decode, and hostile bytes
 * (nesting bombs, truncations, lying lengths, random mutations) that must
 * be refused with a cause and never crash.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"
#include "courier.pb-c.h"

/* Encode v, which must succeed; the caller frees *buf. */
static void
encode_ok(const courier_value *v, uint8_t **buf, size_t *len)
{
	char	*cause = NULL;

	ck_assert_msg(courier_value_encode(v, buf, len, &cause) == 0,
	    "encode: %s", cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
}

/* Decode len bytes, which must succeed. */
static courier_value *
decode_ok(const uint8_t *buf, size_t len)
{
	courier_value	*v;
	char		*cause = NULL;

	v = courier_value_decode(buf, len, &cause);
	ck_assert_msg(v != NULL, "decode: %s",
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return (v);
}

/* Decode len bytes, which must fail with a cause containing want. */
static void
decode_fails(const uint8_t *buf, size_t len, const char *want)
{
	courier_value	*v;
	char		*cause = NULL;

	v = courier_value_decode(buf, len, &cause);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL,
	    "cause \"%s\" does not mention \"%s\"", cause, want);
	free(cause);
}

/* Encode v, decode it back and check that the two are equal; v is taken. */
static void
round_trip(courier_value *v)
{
	courier_value	*back;
	uint8_t		*buf;
	size_t		 len;

	ck_assert_ptr_nonnull(v);
	encode_ok(v, &buf, &len);
	back = decode_ok(buf, len);
	ck_assert_msg(courier_value_equal(v, back), "a %s did not survive "
	    "its round trip", courier_type_name(courier_value_type(v)));
	free(buf);
	courier_value_unref(back);
	courier_value_unref(v);
}

/* Check that v encodes to exactly the given bytes and that they decode
 * back to v; v is taken. */
static void
wire_is(courier_value *v, const uint8_t *want, size_t wantlen)
{
	courier_value	*back;
	uint8_t		*buf;
	size_t		 len;

	ck_assert_ptr_nonnull(v);
	encode_ok(v, &buf, &len);
	ck_assert_uint_eq(len, wantlen);
	ck_assert_mem_eq(buf, want, wantlen);
	free(buf);
	back = decode_ok(want, wantlen);
	ck_assert(courier_value_equal(v, back));
	courier_value_unref(back);
	courier_value_unref(v);
}

/* Pack a message built with protobuf-c; the caller frees. */
static uint8_t *
pack_object(const Courier__SerializedObject *o, size_t *len)
{
	uint8_t	*buf;

	*len = courier__serialized_object__get_packed_size(o);
	buf = xmalloc(*len + 1);	/* + 1: never malloc(0) */
	ck_assert_uint_eq(courier__serialized_object__pack(o, buf), *len);
	return (buf);
}

/* Pack o and check that decoding it fails with a cause containing want. */
static void
object_fails(const Courier__SerializedObject *o, const char *want)
{
	uint8_t	*buf;
	size_t	 len;

	buf = pack_object(o, &len);
	decode_fails(buf, len, want);
	free(buf);
}

/* Build n lists nested inside each other; the result is n levels deep. */
static courier_value *
nest_lists(unsigned n)
{
	courier_value	*v, *outer;
	unsigned	 i;

	v = courier_list_new();
	for (i = 1; i < n; i++) {
		outer = courier_list_new();
		ck_assert_int_eq(courier_list_append(outer, v), 0);
		v = outer;
	}
	return (v);
}

/* Write varint x just before *p, moving *p back. */
static void
put_varint_back(uint8_t **p, uint64_t x)
{
	uint8_t	 tmp[10];
	size_t	 n = 0;

	do {
		tmp[n] = (uint8_t)(x & 0x7f);
		x >>= 7;
		if (x != 0)
			tmp[n] |= 0x80;
		n++;
	} while (x != 0);
	*p -= n;
	memcpy(*p, tmp, n);
}

/*
 * The bytes of n lists nested inside each other, built straight as wire
 * format from the inside out: each level is 0x2a <len> 0x0a <len> ...,
 * and the innermost is an empty list (0x2a 0x00). The caller frees.
 */
static uint8_t *
nest_bytes(size_t n, size_t *len)
{
	uint8_t	*buf, *end, *p;
	size_t	 cap, i;

	cap = n * 12 + 16;
	buf = xmalloc(cap);
	end = p = buf + cap;
	*--p = 0x00;
	*--p = 0x2a;
	for (i = 1; i < n; i++) {
		put_varint_back(&p, (uint64_t)(end - p));
		*--p = 0x0a;			/* SerializedList.items */
		put_varint_back(&p, (uint64_t)(end - p));
		*--p = 0x2a;		/* SerializedObject.list_value */
	}
	*len = (size_t)(end - p);
	memmove(buf, p, *len);
	return (buf);
}

/* Wrap the bytes of a value as the value of key "k" of a dict. */
static uint8_t *
wrap_in_dict(uint8_t *buf, size_t *len)
{
	uint8_t	 head[32], *p = head + sizeof head;
	size_t	 n;

	/* Written back to front: 32 <len> 0a 03 6a 01 6b 12 <len> value. */
	put_varint_back(&p, *len);
	*--p = 0x12;			/* SerializedDict.values */
	*--p = 0x6b;
	*--p = 0x01;
	*--p = 0x6a;
	*--p = 0x03;
	*--p = 0x0a;			/* SerializedDict.keys */
	put_varint_back(&p, (uint64_t)(head + sizeof head - p) + *len);
	*--p = 0x32;			/* SerializedObject.dict_value */
	n = (size_t)(head + sizeof head - p);
	buf = xrealloc(buf, *len + n);
	memmove(buf + n, buf, *len);
	memcpy(buf, p, n);
	*len += n;
	return (buf);
}

/* A sample of every kind of value, nested; n picks which. */
static courier_value *
sample_value(unsigned n)
{
	courier_value	*l, *d, *t;
	const int64_t	 shape[2] = { 2, 3 };
	const float	 data[6] = { 1, 2, 3, 4, 5, 6 };
	char		*cause = NULL;

	switch (n) {
	case 0:
		return (courier_int(-123456789012345LL));
	case 1:
		return (courier_string("h\xc3\xa9llo, w\xe2\x82\xacrld"));
	case 2:
		return (courier_bytes("\x00\x01\xfe\xff", 4));
	case 3:
		t = courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data,
		    sizeof data, &cause);
		ck_assert_ptr_nonnull(t);
		return (t);
	default:
		l = courier_list_new();
		courier_list_append(l, courier_null());
		courier_list_append(l, courier_bool(true));
		courier_list_append(l, courier_double(-0.25));
		courier_list_append(l, sample_value(0));
		d = courier_dict_new();
		courier_dict_set(d, "s", sample_value(1));
		courier_dict_set(d, "b", sample_value(2));
		courier_dict_set(d, "t", sample_value(3));
		courier_dict_set(d, "l", courier_args(courier_int(1),
		    courier_string("x")));
		courier_list_append(l, d);
		return (l);
	}
}

/* Every scalar type, with its edge values, survives a round trip. */
START_TEST(test_codec_round_trip_scalars)
{
	round_trip(courier_null());
	round_trip(courier_bool(true));
	round_trip(courier_bool(false));
	round_trip(courier_int(0));
	round_trip(courier_int(1));
	round_trip(courier_int(-1));
	round_trip(courier_int(INT64_MAX));
	round_trip(courier_int(INT64_MIN));
	round_trip(courier_double(0.0));
	round_trip(courier_double(-0.0));
	round_trip(courier_double(1e308));
	round_trip(courier_double(-5e-324));
	round_trip(courier_double(INFINITY));
	round_trip(courier_double(-INFINITY));
	round_trip(courier_double(NAN));
	round_trip(courier_string(""));
	round_trip(courier_string("plain"));
	round_trip(courier_string("\xf0\x9f\x98\x80 \xe4\xb8\xad"));
	round_trip(courier_string_len("a\0b", 3));
	round_trip(courier_bytes("", 0));
	round_trip(courier_bytes("\x00\xff\x80", 3));
}
END_TEST

/* Lists, dicts, tensors and mixes of them survive a round trip. */
START_TEST(test_codec_round_trip_containers)
{
	courier_value	*d, *t;
	const int64_t	 shape[3] = { 2, 0, 3 }, one = 1;
	const double	 dd[2] = { 1.5, -2.5 };
	const uint8_t	 u8[5] = { 0, 1, 2, 254, 255 };
	int64_t		 five = 5;
	char		*cause = NULL;
	unsigned	 i;

	round_trip(courier_list_new());
	round_trip(courier_dict_new());
	round_trip(courier_args(courier_int(1), courier_list_new(),
	    courier_dict_new()));
	d = courier_dict_new();
	courier_dict_set(d, "", courier_int(0));
	courier_dict_set(d, "z", courier_int(1));
	courier_dict_set(d, "a", courier_int(2));
	courier_dict_set(d, "\xc3\xa9", courier_null());
	round_trip(d);
	round_trip(nest_lists(COURIER_MAX_DEPTH));
	for (i = 0; i < 5; i++)
		round_trip(sample_value(i));

	/* Tensors: 0-d, empty, several dtypes. */
	round_trip(courier_tensor_new(COURIER_DT_DOUBLE, 0, NULL, dd,
	    sizeof dd[0], &cause));
	round_trip(courier_tensor_new(COURIER_DT_INT32, 3, shape, NULL, 0,
	    &cause));
	round_trip(courier_tensor_new(COURIER_DT_DOUBLE, 1, (int64_t[]){ 2 },
	    dd, sizeof dd, &cause));
	round_trip(courier_tensor_new(COURIER_DT_UINT8, 1, &five, u8,
	    sizeof u8, &cause));
	round_trip(courier_tensor_new(COURIER_DT_BOOL, 1, &one, "\x01", 1,
	    &cause));
	round_trip(courier_tensor_new(COURIER_DT_COMPLEX128, 1, &one,
	    "0123456789abcdef", 16, &cause));
	ck_assert_ptr_null(cause);

	/* Tensors compare by their data: a different one is different. */
	t = courier_tensor_new(COURIER_DT_UINT8, 1, &five, u8, sizeof u8,
	    &cause);
	d = courier_tensor_new(COURIER_DT_INT8, 1, &five, u8, sizeof u8,
	    &cause);
	ck_assert(!courier_value_equal(t, d));
	courier_value_unref(t);
	courier_value_unref(d);
}
END_TEST

/* The internal to_pb/from_pb pair works without packing in between. */
START_TEST(test_codec_pb_tree)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	struct courier_arena		 a;
	courier_value			*v, *back;
	char				*cause = NULL;

	v = sample_value(4);
	courier_arena_init(&a);
	ck_assert_int_eq(courier_value_to_pb(v, &o, &a, &cause), 0);
	ck_assert_int_eq(o.payload_case,
	    COURIER__SERIALIZED_OBJECT__PAYLOAD_LIST_VALUE);
	ck_assert_uint_eq(o.list_value->n_items, 5);
	ck_assert_int_eq(o.list_value->items[4]->payload_case,
	    COURIER__SERIALIZED_OBJECT__PAYLOAD_DICT_VALUE);
	ck_assert_uint_eq(o.list_value->items[4]->dict_value->n_keys, 4);
	back = courier_value_from_pb(&o, &cause);
	ck_assert_ptr_nonnull(back);
	ck_assert_ptr_null(cause);
	ck_assert(courier_value_equal(v, back));
	courier_value_unref(back);
	courier_arena_free(&a);
	courier_value_unref(v);
}
END_TEST

/* Scalars are written with Courier's field numbers, byte for byte. */
START_TEST(test_codec_wire_scalars)
{
	static const uint8_t	 int1[] = { 0x08, 0x01 };
	static const uint8_t	 int0[] = { 0x08, 0x00 };
	static const uint8_t	 intm1[] = { 0x08, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t	 dbl[] = { 0x11, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0xf8, 0x3f };
	static const uint8_t	 btrue[] = { 0x18, 0x01 };
	static const uint8_t	 bfalse[] = { 0x18, 0x00 };
	static const uint8_t	 bytes[] = { 0x22, 0x02, 0x61, 0x62 };
	static const uint8_t	 uni[] = { 0x6a, 0x01, 0x61 };
	static const uint8_t	 empty[] = { 0x6a, 0x00 };
	static const uint8_t	 none[] = { 0x40, 0x01 };

	wire_is(courier_int(1), int1, sizeof int1);
	wire_is(courier_int(0), int0, sizeof int0);
	wire_is(courier_int(-1), intm1, sizeof intm1);
	wire_is(courier_double(1.5), dbl, sizeof dbl);
	wire_is(courier_bool(true), btrue, sizeof btrue);
	wire_is(courier_bool(false), bfalse, sizeof bfalse);
	wire_is(courier_bytes("ab", 2), bytes, sizeof bytes);
	wire_is(courier_string("a"), uni, sizeof uni);
	wire_is(courier_string(""), empty, sizeof empty);
	wire_is(courier_null(), none, sizeof none);
}
END_TEST

/* Lists, dicts and tensors are written as Courier writes them. */
START_TEST(test_codec_wire_containers)
{
	static const uint8_t	 list1[] = { 0x2a, 0x04, 0x0a, 0x02, 0x08,
	    0x01 };
	static const uint8_t	 elist[] = { 0x2a, 0x00 };
	/* {"k": 1}: keys (field 1) and values (field 2) in parallel. */
	static const uint8_t	 dict1[] = { 0x32, 0x09, 0x0a, 0x03, 0x6a,
	    0x01, 0x6b, 0x12, 0x02, 0x08, 0x01 };
	static const uint8_t	 dict2[] = { 0x32, 0x12,
	    0x0a, 0x03, 0x6a, 0x01, 0x61, 0x0a, 0x03, 0x6a, 0x01, 0x62,
	    0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x40, 0x01 };
	/* float32 [1] = {1.0}: dtype 1, shape {dim {size 1}}, content. */
	static const uint8_t	 tensor[] = { 0x4a, 0x0e, 0x08, 0x01, 0x12,
	    0x04, 0x12, 0x02, 0x08, 0x01, 0x22, 0x04, 0x00, 0x00, 0x80,
	    0x3f };
	courier_value		*d, *t;
	const int64_t		 one = 1;
	const float		 f = 1.0f;
	uint8_t			*buf;
	size_t			 len;
	char			*cause = NULL;

	wire_is(courier_args(courier_int(1)), list1, sizeof list1);
	wire_is(courier_list_new(), elist, sizeof elist);
	d = courier_dict_new();
	courier_dict_set(d, "k", courier_int(1));
	wire_is(d, dict1, sizeof dict1);
	d = courier_dict_new();
	courier_dict_set(d, "a", courier_int(1));
	courier_dict_set(d, "b", courier_null());
	wire_is(d, dict2, sizeof dict2);
	t = courier_tensor_new(COURIER_DT_FLOAT, 1, &one, &f, sizeof f,
	    &cause);
	wire_is(t, tensor, sizeof tensor);

	/* A value at the depth limit is the same bytes either way. */
	buf = nest_bytes(COURIER_MAX_DEPTH, &len);
	wire_is(nest_lists(COURIER_MAX_DEPTH), buf, len);
	free(buf);
}
END_TEST

/* What Python's Courier may send that we never write is read too. */
START_TEST(test_codec_wire_python_forms)
{
	/* A tuple (is_tuple = 2) is a list. */
	static const uint8_t	 tuple[] = { 0x2a, 0x06, 0x0a, 0x02, 0x08,
	    0x01, 0x10, 0x01 };
	/* Dict keys as bytes (string_value) are accepted. */
	static const uint8_t	 bkey[] = { 0x32, 0x09, 0x0a, 0x03, 0x22,
	    0x01, 0x6b, 0x12, 0x02, 0x08, 0x01 };
	/* An unknown field (20, varint) is skipped. */
	static const uint8_t	 unknown[] = { 0xa0, 0x01, 0x05, 0x08, 0x07 };
	/* Repeated scalar in a oneof: the last one wins. */
	static const uint8_t	 twice[] = { 0x08, 0x01, 0x08, 0x02 };
	courier_value		*v;

	v = decode_ok(tuple, sizeof tuple);
	ck_assert_int_eq(courier_value_type(v), COURIER_LIST);
	ck_assert_uint_eq(courier_list_len(v), 1);
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 0)), 1);
	courier_value_unref(v);

	v = decode_ok(bkey, sizeof bkey);
	ck_assert_int_eq(courier_value_type(v), COURIER_DICT);
	ck_assert_int_eq(courier_value_int(courier_dict_get(v, "k")), 1);
	courier_value_unref(v);

	v = decode_ok(unknown, sizeof unknown);
	ck_assert_int_eq(courier_value_int(v), 7);
	courier_value_unref(v);

	v = decode_ok(twice, sizeof twice);
	ck_assert_int_eq(courier_value_int(v), 2);
	courier_value_unref(v);
}
END_TEST

/* A dict whose keys are not strings is refused. */
START_TEST(test_codec_refuse_int_keys)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject	 k = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject	 v = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedDict		 d = COURIER__SERIALIZED_DICT__INIT;
	Courier__SerializedObject	*keys[1] = { &k }, *vals[1] = { &v };

	k.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_INT_VALUE;
	k.int_value = 1;
	v.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_INT_VALUE;
	v.int_value = 2;
	d.n_keys = d.n_values = 1;
	d.keys = keys;
	d.values = vals;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_DICT_VALUE;
	o.dict_value = &d;
	object_fails(&o, "string keys");

	/* A key that is not UTF-8, or holds a NUL, is refused too. */
	k.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_STRING_VALUE;
	k.string_value.data = (uint8_t *)"\xff";
	k.string_value.len = 1;
	object_fails(&o, "UTF-8");
	k.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE;
	k.unicode_value.data = (uint8_t *)"a\0b";
	k.unicode_value.len = 3;
	object_fails(&o, "NUL");
}
END_TEST

/* A pickled Python object is refused, naming its class. */
START_TEST(test_codec_refuse_reduced_object)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject	 args =
	    COURIER__SERIALIZED_OBJECT__INIT;
	Courier__ReducedObject		 r = COURIER__REDUCED_OBJECT__INIT;
	courier_value			*v;
	uint8_t				*buf;
	size_t				 len;
	char				*cause = NULL;

	args.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE;
	args.unicode_value.data = (uint8_t *)"rm -rf /";
	args.unicode_value.len = 8;
	r.class_module = (char *)"os";
	r.class_name = (char *)"system";
	r.args = &args;
	o.payload_case =
	    COURIER__SERIALIZED_OBJECT__PAYLOAD_REDUCED_OBJECT_VALUE;
	o.reduced_object_value = &r;
	buf = pack_object(&o, &len);
	v = courier_value_decode(buf, len, &cause);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "os") != NULL &&
	    strstr(cause, "system") != NULL && strstr(cause, "refused") !=
	    NULL, "cause: %s", cause);
	free(cause);
	free(buf);

	/* Without a class name it is still refused. */
	r.class_module = (char *)"";
	r.class_name = (char *)"";
	object_fails(&o, "refused");
}
END_TEST

/* A Python type value is refused. */
START_TEST(test_codec_refuse_type_value)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__TypeValue		 t = COURIER__TYPE_VALUE__INIT;

	t.module.data = (uint8_t *)"builtins";
	t.module.len = 8;
	t.name.data = (uint8_t *)"int";
	t.name.len = 3;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_TYPE_VALUE;
	o.type_value = &t;
	object_fails(&o, "refused");
}
END_TEST

/* numpy object arrays are refused, whatever the payload says. */
START_TEST(test_codec_refuse_object_tensor)
{
	Courier__SerializedObject		 o =
	    COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject		 item =
	    COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedNumpyObjectTensor	 nt =
	    COURIER__SERIALIZED_NUMPY_OBJECT_TENSOR__INIT;
	Courier__SerializedObject		*items[1] = { &item };
	int64_t					 shape[1] = { 1 };

	o.numpy_metadata =
	    COURIER__SERIALIZED_OBJECT__NUMPY_METADATA__OBJECT_TENSOR;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_NONE_VALUE;
	o.none_value = 1;
	object_fails(&o, "refused");

	/* The object tensor itself, without the metadata. */
	item.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_INT_VALUE;
	item.int_value = 3;
	nt.n_payload = 1;
	nt.payload = items;
	nt.n_shape = 1;
	nt.shape = shape;
	o.numpy_metadata =
	    COURIER__SERIALIZED_OBJECT__NUMPY_METADATA__NO_NUMPY_ARRAY;
	o.numpy_object_tensor = &nt;
	object_fails(&o, "refused");
}
END_TEST

/* A jax tensor (field 15) is read as a tensor. */
START_TEST(test_codec_jax_tensor)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__TensorProto		 t = COURIER__TENSOR_PROTO__INIT;
	Courier__TensorShapeProto	 sh = COURIER__TENSOR_SHAPE_PROTO__INIT;
	Courier__TensorShapeProto__Dim	 dim =
	    COURIER__TENSOR_SHAPE_PROTO__DIM__INIT;
	Courier__TensorShapeProto__Dim	*dims[1] = { &dim };
	courier_value			*v;
	const int64_t			*shape;
	const void			*data;
	const int32_t			 want[2] = { 7, -7 };
	uint8_t				*buf;
	size_t				 len, nbytes;

	dim.size = 2;
	sh.n_dim = 1;
	sh.dim = dims;
	t.dtype = COURIER__DATA_TYPE__DT_INT32;
	t.tensor_shape = &sh;
	t.tensor_content.data = (uint8_t *)want;
	t.tensor_content.len = sizeof want;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_JAX_TENSOR_VALUE;
	o.jax_tensor_value = &t;
	buf = pack_object(&o, &len);
	v = decode_ok(buf, len);
	ck_assert_int_eq(courier_value_type(v), COURIER_TENSOR);
	ck_assert_int_eq(courier_tensor_dtype(v), COURIER_DT_INT32);
	ck_assert_uint_eq(courier_tensor_shape(v, &shape), 1);
	ck_assert_int_eq(shape[0], 2);
	data = courier_tensor_data(v, &nbytes);
	ck_assert_uint_eq(nbytes, sizeof want);
	ck_assert_mem_eq(data, want, sizeof want);
	courier_value_unref(v);
	free(buf);
}
END_TEST

/* Tensors we cannot represent are refused: strings, wrong sizes, unknown
 * rank, unknown dtypes, negative or too many dimensions. */
START_TEST(test_codec_refuse_bad_tensors)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__TensorProto		 t = COURIER__TENSOR_PROTO__INIT;
	Courier__TensorShapeProto	 sh = COURIER__TENSOR_SHAPE_PROTO__INIT;
	Courier__TensorShapeProto__Dim	 dim[COURIER_TENSOR_MAX_DIMS + 1];
	Courier__TensorShapeProto__Dim	*dims[COURIER_TENSOR_MAX_DIMS + 1];
	const float			 content[2] = { 1, 2 };
	size_t				 i;

	for (i = 0; i < nitems(dim); i++) {
		courier__tensor_shape_proto__dim__init(&dim[i]);
		dim[i].size = 1;
		dims[i] = &dim[i];
	}
	dim[0].size = 2;
	sh.n_dim = 1;
	sh.dim = dims;
	t.dtype = COURIER__DATA_TYPE__DT_FLOAT;
	t.tensor_shape = &sh;
	t.tensor_content.data = (uint8_t *)content;
	t.tensor_content.len = sizeof content;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_TENSOR_VALUE;
	o.tensor_value = &t;

	t.dtype = COURIER__DATA_TYPE__DT_STRING;
	object_fails(&o, "string tensors");
	t.dtype = COURIER__DATA_TYPE__DT_INVALID;
	object_fails(&o, "dtype");
	t.dtype = (Courier__DataType)99;
	object_fails(&o, "dtype");
	t.dtype = COURIER__DATA_TYPE__DT_FLOAT;

	/* Content of the wrong size. */
	t.tensor_content.len = sizeof content - 1;
	object_fails(&o, "bytes");
	t.tensor_content.len = sizeof content + 0;
	dim[0].size = 3;
	object_fails(&o, "bytes");
	dim[0].size = -2;
	object_fails(&o, "dimension");
	dim[0].size = INT64_MAX;
	dim[1].size = INT64_MAX;
	sh.n_dim = 2;
	object_fails(&o, "tensor");
	dim[0].size = 2;
	dim[1].size = 1;
	sh.n_dim = 1;

	sh.unknown_rank = 1;
	object_fails(&o, "unknown rank");
	sh.unknown_rank = 0;

	sh.n_dim = COURIER_TENSOR_MAX_DIMS + 1;
	object_fails(&o, "dimensions");
}
END_TEST

/* A unicode value that is not valid UTF-8 is refused, nested or not. */
START_TEST(test_codec_refuse_bad_utf8)
{
	static const uint8_t	 top[] = { 0x6a, 0x02, 0xc3, 0x28 };
	static const uint8_t	 surrogate[] = { 0x6a, 0x03, 0xed, 0xa0,
	    0x80 };
	/* [1, "\xff"]: the path names item 1. */
	static const uint8_t	 nested[] = { 0x2a, 0x09, 0x0a, 0x02, 0x08,
	    0x01, 0x0a, 0x03, 0x6a, 0x01, 0xff };

	decode_fails(top, sizeof top, "UTF-8");
	decode_fails(surrogate, sizeof surrogate, "UTF-8");
	decode_fails(nested, sizeof nested, "[1]");
	decode_fails(nested, sizeof nested, "UTF-8");
}
END_TEST

/* A dict with more keys than values (or fewer) is refused. */
START_TEST(test_codec_refuse_dict_mismatch)
{
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject	 k[2], v;
	Courier__SerializedDict		 d = COURIER__SERIALIZED_DICT__INIT;
	Courier__SerializedObject	*keys[2] = { &k[0], &k[1] };
	Courier__SerializedObject	*vals[1] = { &v };

	courier__serialized_object__init(&k[0]);
	courier__serialized_object__init(&k[1]);
	courier__serialized_object__init(&v);
	k[0].payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE;
	k[0].unicode_value.data = (uint8_t *)"a";
	k[0].unicode_value.len = 1;
	k[1] = k[0];
	k[1].unicode_value.data = (uint8_t *)"b";
	v.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_NONE_VALUE;
	v.none_value = 1;
	d.n_keys = 2;
	d.keys = keys;
	d.n_values = 1;
	d.values = vals;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_DICT_VALUE;
	o.dict_value = &d;
	object_fails(&o, "2 keys but 1 values");
	d.n_keys = 0;
	object_fails(&o, "0 keys but 1 values");
}
END_TEST

/* A SerializedObject with no payload is refused, at the top or inside. */
START_TEST(test_codec_refuse_empty)
{
	static const uint8_t	 nothing[1] = { 0 };
	/* A list holding one empty object. */
	static const uint8_t	 inner[] = { 0x2a, 0x02, 0x0a, 0x00 };
	/* Only numpy_metadata = 0 (field 16), no payload. */
	static const uint8_t	 meta[] = { 0x80, 0x01, 0x00 };

	decode_fails(nothing, 0, "no payload");
	decode_fails(inner, sizeof inner, "no payload");
	decode_fails(meta, sizeof meta, "no payload");
}
END_TEST

/* A million nested lists are refused for their depth, without a crash. */
START_TEST(test_codec_nesting_bomb)
{
	uint8_t	*buf;
	size_t	 len;

	buf = nest_bytes(1000000, &len);
	decode_fails(buf, len, "nest");
	free(buf);

	/* The same as the value of a dict. */
	buf = nest_bytes(5000, &len);
	buf = wrap_in_dict(buf, &len);
	decode_fails(buf, len, "nest");
	free(buf);
}
END_TEST

/* Exactly COURIER_MAX_DEPTH levels decode; one more is refused. */
START_TEST(test_codec_depth_limit)
{
	courier_value	*v, *want;
	uint8_t		*buf;
	size_t		 len;

	buf = nest_bytes(COURIER_MAX_DEPTH, &len);
	v = decode_ok(buf, len);
	want = nest_lists(COURIER_MAX_DEPTH);
	ck_assert(courier_value_equal(v, want));
	courier_value_unref(want);
	courier_value_unref(v);
	free(buf);

	buf = nest_bytes(COURIER_MAX_DEPTH + 1, &len);
	decode_fails(buf, len, "nest");
	free(buf);
	buf = nest_bytes(COURIER_MAX_DEPTH + 2, &len);
	decode_fails(buf, len, "nest");
	free(buf);
}
END_TEST

/* courier_pb_check counts message levels and honours its limit. */
START_TEST(test_codec_pb_check)
{
	uint8_t	*buf;
	size_t	 len;
	char	*cause = NULL;

	/* Three lists are six messages: levels 0 to 5. */
	buf = nest_bytes(3, &len);
	ck_assert_int_eq(courier_pb_check(
	    &courier__serialized_object__descriptor, buf, len, 5, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(courier_pb_check(
	    &courier__serialized_object__descriptor, buf, len, 4, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "nest"));
	free(cause);
	free(buf);
}
END_TEST

/* Varints cut short, or longer than ten bytes, are refused. */
START_TEST(test_codec_truncated_varints)
{
	static const uint8_t	 key_only[] = { 0x08 };
	static const uint8_t	 value_cut[] = { 0x08, 0x80 };
	static const uint8_t	 value_cut9[] = { 0x08, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t	 key_cut[] = { 0x80 };
	static const uint8_t	 too_long[] = { 0x08, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t	 len_cut[] = { 0x22, 0x80 };
	static const uint8_t	 dbl_cut[] = { 0x11, 0x00, 0x00, 0x00 };
	static const uint8_t	 fixed32_cut[] = { 0x0d, 0x00 };

	decode_fails(key_only, sizeof key_only, "truncated");
	decode_fails(value_cut, sizeof value_cut, "truncated");
	decode_fails(value_cut9, sizeof value_cut9, "truncated");
	decode_fails(key_cut, sizeof key_cut, "truncated");
	decode_fails(too_long, sizeof too_long, "malformed");
	decode_fails(len_cut, sizeof len_cut, "truncated");
	decode_fails(dbl_cut, sizeof dbl_cut, "truncated");
	decode_fails(fixed32_cut, sizeof fixed32_cut, "truncated");
}
END_TEST

/* A length that claims more than the buffer holds is refused at once. */
START_TEST(test_codec_lying_length)
{
	/* bytes of 2^31 in a 10-byte buffer. */
	static const uint8_t	 big[10] = { 0x22, 0x80, 0x80, 0x80, 0x80,
	    0x08, 'a', 'b', 'c', 'd' };
	/* A list of 2^31 bytes. */
	static const uint8_t	 biglist[10] = { 0x2a, 0x80, 0x80, 0x80, 0x80,
	    0x08, 0x0a, 0x00, 0x0a, 0x00 };
	/* A length of 2^64 - 1. */
	static const uint8_t	 huge[12] = { 0x22, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x' };
	/* Inside a list item, one byte too many. */
	static const uint8_t	 inner[] = { 0x2a, 0x04, 0x0a, 0x03, 0x08,
	    0x01 };

	decode_fails(big, sizeof big, "2147483648");
	decode_fails(biglist, sizeof biglist, "2147483648");
	decode_fails(huge, sizeof huge, "malformed");
	decode_fails(inner, sizeof inner, "malformed");
}
END_TEST

/* Wire types 3, 4 (groups), 6 and 7 (undefined) and field 0 are refused. */
START_TEST(test_codec_bad_wire_types)
{
	uint8_t	 buf[4];
	int	 wt;

	for (wt = 3; wt <= 7; wt++) {
		if (wt == 5)
			continue;
		buf[0] = (uint8_t)(1 << 3 | wt);
		buf[1] = 0x00;
		buf[2] = 0x0c;
		buf[3] = 0x00;
		decode_fails(buf, sizeof buf, "wire type");
		/* Inside a list item too. */
		decode_fails((uint8_t []){ 0x2a, 0x04, 0x0a, 0x02,
		    (uint8_t)(1 << 3 | wt), 0x00 }, 6, "wire type");
	}
	decode_fails((uint8_t []){ 0x00, 0x01 }, 2, "field number");
	decode_fails((uint8_t []){ 0x02, 0x00 }, 2, "field number");
	decode_fails((uint8_t []){ 0x2a, 0x02, 0x0a, 0x00, 0x05, 0x00, 0x00,
	    0x00, 0x00 }, 9, "field number");
	/* Field 2^29 is the largest; a key past it is refused. */
	decode_fails((uint8_t []){ 0x80, 0x80, 0x80, 0x80, 0x20, 0x00 }, 6,
	    "field number");
}
END_TEST

/* xorshift64*: a deterministic PRNG for the mutation test. */
static uint64_t
prng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dULL);
}

/* Mutate valid encodings at random: every failure has a cause, every
 * success is a value that round trips. */
START_TEST(test_codec_mutations)
{
	courier_value	*v, *back;
	uint8_t		*seeds[6], *buf, *again;
	size_t		 seedlen[6], len, alen, pos, i, k, nmut;
	uint64_t	 s = 0x9e3779b97f4a7c15ULL, r;
	unsigned	 iter, ok = 0, refused = 0;
	char		*cause;

	for (i = 0; i < 5; i++) {
		v = sample_value((unsigned)i);
		encode_ok(v, &seeds[i], &seedlen[i]);
		courier_value_unref(v);
	}
	seeds[5] = nest_bytes(COURIER_MAX_DEPTH, &seedlen[5]);

	for (iter = 0; iter < 20000; iter++) {
		i = prng_next(&s) % nitems(seeds);
		len = seedlen[i];
		buf = xmalloc(len + 16);
		memcpy(buf, seeds[i], len);
		nmut = 1 + prng_next(&s) % 4;
		for (k = 0; k < nmut && len > 0; k++) {
			r = prng_next(&s);
			pos = (r >> 8) % len;
			switch (r % 7) {
			case 0:		/* flip a bit */
				buf[pos] ^= (uint8_t)(1 << ((r >> 40) % 8));
				break;
			case 1:		/* a random byte */
				buf[pos] = (uint8_t)(r >> 48);
				break;
			case 2:		/* truncate */
				len = pos;
				break;
			case 3:		/* insert a byte */
				if (len < seedlen[i] + 16) {
					memmove(buf + pos + 1, buf + pos,
					    len - pos);
					buf[pos] = (uint8_t)(r >> 48);
					len++;
				}
				break;
			case 4:		/* delete a byte */
				memmove(buf + pos, buf + pos + 1,
				    len - pos - 1);
				len--;
				break;
			case 5:		/* an extreme byte */
				buf[pos] = (r >> 40) & 1 ? 0xff : 0x80;
				break;
			default:	/* zero a byte */
				buf[pos] = 0;
				break;
			}
		}
		cause = NULL;
		v = courier_value_decode(buf, len, &cause);
		if (v == NULL) {
			ck_assert_msg(cause != NULL && cause[0] != '\0',
			    "iteration %u: refused without a cause", iter);
			free(cause);
			refused++;
		} else {
			ck_assert_ptr_null(cause);
			encode_ok(v, &again, &alen);
			back = decode_ok(again, alen);
			ck_assert_msg(courier_value_equal(v, back),
			    "iteration %u: the decoded value does not round "
			    "trip", iter);
			courier_value_unref(back);
			courier_value_unref(v);
			free(again);
			ok++;
		}
		free(buf);
	}
	/* Both outcomes were exercised. */
	ck_assert_uint_gt(ok, 100);
	ck_assert_uint_gt(refused, 100);
	for (i = 0; i < nitems(seeds); i++)
		free(seeds[i]);
}
END_TEST

/* Call arguments go to protobuf and back, positional and keyword. */
START_TEST(test_codec_call_args_round_trip)
{
	Courier__CallArguments	 pb = COURIER__CALL_ARGUMENTS__INIT;
	Courier__CallArguments	*un;
	struct courier_arena	 a;
	courier_value		*args, *kwargs, *args2, *kwargs2;
	uint8_t			*buf;
	size_t			 len;
	char			*cause = NULL;

	args = courier_args(courier_int(1), courier_string("two"),
	    sample_value(4));
	kwargs = courier_dict_new();
	courier_dict_set(kwargs, "x", courier_double(0.5));
	courier_dict_set(kwargs, "nested", sample_value(4));
	courier_dict_set(kwargs, "\xc3\xa9t\xc3\xa9", courier_null());

	courier_arena_init(&a);
	ck_assert_int_eq(courier_call_args_to_pb(args, kwargs, &pb, &a,
	    &cause), 0);
	ck_assert_uint_eq(pb.n_args, 3);
	ck_assert_uint_eq(pb.n_kwargs, 3);
	len = courier__call_arguments__get_packed_size(&pb);
	buf = xmalloc(len);
	courier__call_arguments__pack(&pb, buf);
	courier_arena_free(&a);

	ck_assert_int_eq(courier_pb_check(&courier__call_arguments__descriptor,
	    buf, len, COURIER_MAX_PB_DEPTH, &cause), 0);
	un = courier__call_arguments__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(un);
	ck_assert_int_eq(courier_call_args_from_pb(un, &args2, &kwargs2,
	    &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert(courier_value_equal(args, args2));
	ck_assert(courier_value_equal(kwargs, kwargs2));
	ck_assert_str_eq(courier_dict_key(kwargs2, 0), "x");
	ck_assert_str_eq(courier_dict_key(kwargs2, 2), "\xc3\xa9t\xc3\xa9");
	courier__call_arguments__free_unpacked(un, NULL);
	free(buf);
	courier_value_unref(args2);
	courier_value_unref(kwargs2);

	/* No arguments at all: an empty list and an empty dict. */
	ck_assert_int_eq(courier_call_args_from_pb(NULL, &args2, &kwargs2,
	    &cause), 0);
	ck_assert_int_eq(courier_value_type(args2), COURIER_LIST);
	ck_assert_uint_eq(courier_list_len(args2), 0);
	ck_assert_int_eq(courier_value_type(kwargs2), COURIER_DICT);
	ck_assert_uint_eq(courier_dict_len(kwargs2), 0);
	courier_value_unref(args2);
	courier_value_unref(kwargs2);
	courier_value_unref(args);
	courier_value_unref(kwargs);
}
END_TEST

/* A bad argument is named in the error: its position or its keyword. */
START_TEST(test_codec_call_args_errors)
{
	Courier__CallArguments			 pb =
	    COURIER__CALL_ARGUMENTS__INIT;
	Courier__CallArguments__KwargsEntry	 e =
	    COURIER__CALL_ARGUMENTS__KWARGS_ENTRY__INIT;
	Courier__CallArguments__KwargsEntry	*ents[1] = { &e };
	Courier__SerializedObject		 good =
	    COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject		 bad =
	    COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject		 deep =
	    COURIER__SERIALIZED_OBJECT__INIT;
	Courier__SerializedObject		*argv[2] = { &good, &bad };
	Courier__TypeValue			 tv = COURIER__TYPE_VALUE__INIT;
	struct courier_arena			 a;
	courier_value				*args = NULL, *kwargs = NULL;
	courier_value				*v;
	char					*cause = NULL;

	good.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_INT_VALUE;
	good.int_value = 1;
	bad.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_TYPE_VALUE;
	bad.type_value = &tv;

	/* The second positional argument, counted from 0. */
	pb.n_args = 2;
	pb.args = argv;
	ck_assert_int_eq(courier_call_args_from_pb(&pb, &args, &kwargs,
	    &cause), -1);
	ck_assert_ptr_null(args);
	ck_assert_ptr_null(kwargs);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "argument 1") != NULL, "%s", cause);
	free(cause);
	cause = NULL;

	/* A keyword argument is named by its keyword. */
	pb.n_args = 1;
	e.key = (char *)"x";
	e.value = &bad;
	pb.n_kwargs = 1;
	pb.kwargs = ents;
	ck_assert_int_eq(courier_call_args_from_pb(&pb, &args, &kwargs,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "keyword argument x") != NULL, "%s",
	    cause);
	free(cause);
	cause = NULL;

	/* A keyword argument with no value. */
	e.value = NULL;
	ck_assert_int_eq(courier_call_args_from_pb(&pb, &args, &kwargs,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "keyword argument x") != NULL, "%s",
	    cause);
	free(cause);
	cause = NULL;

	/* A keyword that is not UTF-8. */
	e.key = (char *)"\xff";
	e.value = &good;
	ck_assert_int_eq(courier_call_args_from_pb(&pb, &args, &kwargs,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "UTF-8") != NULL, "%s", cause);
	free(cause);
	cause = NULL;

	/* An argument as deep as a value may be is too deep inside the
	 * argument list: it names the argument. */
	v = nest_lists(COURIER_MAX_DEPTH);
	courier_arena_init(&a);
	ck_assert_int_eq(courier_value_to_pb(v, &deep, &a, &cause), 0);
	argv[1] = &deep;
	pb.n_args = 2;
	pb.n_kwargs = 0;
	ck_assert_int_eq(courier_call_args_from_pb(&pb, &args, &kwargs,
	    &cause), -1);
	ck_assert_msg(strstr(cause, "argument 1") != NULL &&
	    strstr(cause, "nest") != NULL, "%s", cause);
	free(cause);
	courier_arena_free(&a);
	courier_value_unref(v);
}
END_TEST

/* The suite: one case per behaviour. */
static Suite *
codec_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("codec");
#define CASE(name, fn) do {						\
	tc = tcase_create(name);					\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	CASE("round_trip_scalars", test_codec_round_trip_scalars);
	CASE("round_trip_containers", test_codec_round_trip_containers);
	CASE("pb_tree", test_codec_pb_tree);
	CASE("wire_scalars", test_codec_wire_scalars);
	CASE("wire_containers", test_codec_wire_containers);
	CASE("wire_python_forms", test_codec_wire_python_forms);
	CASE("refuse_int_keys", test_codec_refuse_int_keys);
	CASE("refuse_reduced_object", test_codec_refuse_reduced_object);
	CASE("refuse_type_value", test_codec_refuse_type_value);
	CASE("refuse_object_tensor", test_codec_refuse_object_tensor);
	CASE("jax_tensor", test_codec_jax_tensor);
	CASE("refuse_bad_tensors", test_codec_refuse_bad_tensors);
	CASE("refuse_bad_utf8", test_codec_refuse_bad_utf8);
	CASE("refuse_dict_mismatch", test_codec_refuse_dict_mismatch);
	CASE("refuse_empty", test_codec_refuse_empty);
	CASE("nesting_bomb", test_codec_nesting_bomb);
	CASE("depth_limit", test_codec_depth_limit);
	CASE("pb_check", test_codec_pb_check);
	CASE("truncated_varints", test_codec_truncated_varints);
	CASE("lying_length", test_codec_lying_length);
	CASE("bad_wire_types", test_codec_bad_wire_types);
	CASE("mutations", test_codec_mutations);
	CASE("call_args_round_trip", test_codec_call_args_round_trip);
	CASE("call_args_errors", test_codec_call_args_errors);
#undef CASE
	return (s);
}

/* Run the suite; fail if any test did. */
int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(codec_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
