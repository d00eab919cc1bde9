/*
 * check-value.c: unit tests of courier values: constructors, accessors,
 * reference counts, UTF-8 checking, lists, dicts, sealing, nesting depth,
 * tensors and equality.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"

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

/* Null and bools are what they say and survive any number of unrefs. */
START_TEST(test_value_scalars)
{
	courier_value	*n, *t, *f, *i, *d;

	n = courier_null();
	t = courier_bool(true);
	f = courier_bool(false);
	i = courier_int(-42);
	d = courier_double(2.5);

	ck_assert_int_eq(courier_value_type(n), COURIER_NULL);
	ck_assert_int_eq(courier_value_type(t), COURIER_BOOL);
	ck_assert(courier_value_bool(t));
	ck_assert(!courier_value_bool(f));
	ck_assert_int_eq(courier_value_type(i), COURIER_INT);
	ck_assert_int_eq(courier_value_int(i), -42);
	ck_assert_double_eq(courier_value_double(i), -42.0);
	ck_assert_int_eq(courier_value_type(d), COURIER_DOUBLE);
	ck_assert_double_eq(courier_value_double(d), 2.5);

	/* Immortal statics: extra unrefs must not free them. */
	courier_value_unref(n);
	courier_value_unref(n);
	courier_value_unref(courier_value_ref(t));
	courier_value_unref(t);
	courier_value_unref(t);
	ck_assert_int_eq(courier_value_type(courier_null()), COURIER_NULL);
	ck_assert(courier_value_bool(courier_bool(true)));

	courier_value_unref(f);
	courier_value_unref(i);
	courier_value_unref(d);
}
END_TEST

/* Accessors give neutral answers on the wrong type and on NULL. */
START_TEST(test_value_accessors_mismatch)
{
	courier_value	*i, *s;
	const int64_t	*shape;
	size_t		 len = 99;

	i = courier_int(7);
	s = courier_string("seven");

	ck_assert(!courier_value_bool(i));
	ck_assert_int_eq(courier_value_int(s), 0);
	ck_assert_double_eq(courier_value_double(s), 0.0);
	ck_assert_ptr_null(courier_value_string(i, &len));
	ck_assert_uint_eq(len, 0);
	len = 99;
	ck_assert_ptr_null(courier_value_bytes(s, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(courier_list_len(s), 0);
	ck_assert_ptr_null(courier_list_get(s, 0));
	ck_assert_uint_eq(courier_dict_len(i), 0);
	ck_assert_ptr_null(courier_dict_get(i, "x"));
	ck_assert_ptr_null(courier_dict_key(i, 0));
	ck_assert_ptr_null(courier_dict_value(i, 0));
	ck_assert_int_eq(courier_tensor_dtype(i), 0);
	shape = (const int64_t *)&len;
	ck_assert_uint_eq(courier_tensor_shape(i, &shape), 0);
	ck_assert_ptr_null(shape);
	ck_assert_ptr_null(courier_tensor_data(s, &len));

	ck_assert_int_eq(courier_value_type(NULL), COURIER_NULL);
	ck_assert(!courier_value_bool(NULL));
	ck_assert_int_eq(courier_value_int(NULL), 0);
	ck_assert_ptr_null(courier_value_string(NULL, NULL));
	ck_assert_ptr_null(courier_value_ref(NULL));
	courier_value_unref(NULL);

	ck_assert_int_eq(courier_list_append(s, courier_int(1)), -1);
	ck_assert_int_eq(courier_dict_set(i, "k", courier_int(1)), -1);

	courier_value_unref(i);
	courier_value_unref(s);
}
END_TEST

/* Type names. */
START_TEST(test_value_type_names)
{
	ck_assert_str_eq(courier_type_name(COURIER_NULL), "null");
	ck_assert_str_eq(courier_type_name(COURIER_BOOL), "bool");
	ck_assert_str_eq(courier_type_name(COURIER_INT), "int");
	ck_assert_str_eq(courier_type_name(COURIER_DOUBLE), "double");
	ck_assert_str_eq(courier_type_name(COURIER_STRING), "string");
	ck_assert_str_eq(courier_type_name(COURIER_BYTES), "bytes");
	ck_assert_str_eq(courier_type_name(COURIER_LIST), "list");
	ck_assert_str_eq(courier_type_name(COURIER_DICT), "dict");
	ck_assert_str_eq(courier_type_name(COURIER_TENSOR), "tensor");
	ck_assert_str_eq(courier_type_name((enum courier_type)77), "unknown");
}
END_TEST

/* Strings: text, length, formatting, refusal of NULL and bad UTF-8. */
START_TEST(test_value_string)
{
	courier_value	*s, *z, *f, *e;
	const char	*text;
	size_t		 len;

	s = courier_string("h\xc3\xa9llo");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(courier_value_type(s), COURIER_STRING);
	text = courier_value_string(s, &len);
	ck_assert_str_eq(text, "h\xc3\xa9llo");
	ck_assert_uint_eq(len, 6);

	z = courier_string_len("a\0b", 3);
	ck_assert_ptr_nonnull(z);
	text = courier_value_string(z, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(text, "a\0b", 4);

	f = courier_stringf("%s-%d", "node", 7);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(courier_value_string(f, NULL), "node-7");

	e = courier_string("");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(courier_value_string(e, &len), "");
	ck_assert_uint_eq(len, 0);

	ck_assert_ptr_null(courier_string(NULL));
	ck_assert_ptr_null(courier_string("bad \xff"));
	ck_assert_ptr_null(courier_string_len("\xc3", 1));
	ck_assert_ptr_null(courier_stringf("%s", "\xed\xa0\x80"));

	courier_value_unref(s);
	courier_value_unref(z);
	courier_value_unref(f);
	courier_value_unref(e);
}
END_TEST

/* courier_string_take owns the buffer, valid or not. */
START_TEST(test_value_string_take)
{
	courier_value	*s;
	char		*buf;
	size_t		 len;

	buf = xstrdup("taken");
	s = courier_string_take(buf, 5);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_eq(courier_value_string(s, &len), buf);
	ck_assert_uint_eq(len, 5);
	courier_value_unref(s);

	buf = xstrdup("bad \xc0\xaf");
	ck_assert_ptr_null(courier_string_take(buf, strlen(buf)));
	ck_assert_ptr_null(courier_string_take(NULL, 0));
}
END_TEST

/* Bytes are copied, NUL-terminated and may hold anything. */
START_TEST(test_value_bytes)
{
	courier_value	*b, *e;
	unsigned char	 data[256];
	const unsigned char *p;
	size_t		 len, i;

	for (i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)i;
	b = courier_bytes(data, sizeof data);
	data[0] = 0xaa;
	ck_assert_int_eq(courier_value_type(b), COURIER_BYTES);
	p = courier_value_bytes(b, &len);
	ck_assert_uint_eq(len, 256);
	ck_assert_uint_eq(p[0], 0);
	ck_assert_uint_eq(p[255], 255);
	ck_assert_uint_eq(p[256], 0);
	ck_assert_ptr_null(courier_value_string(b, NULL));

	e = courier_bytes(NULL, 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(courier_value_bytes(e, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(courier_bytes(NULL, 3));

	courier_value_unref(b);
	courier_value_unref(e);
}
END_TEST

static const struct {
	const char	*s;
	size_t		 len;
	bool		 valid;
	const char	*what;
} utf8_table[] = {
	{ "", 0, true, "empty" },
	{ "plain ascii", 11, true, "ascii" },
	{ "\x7f", 1, true, "DEL" },
	{ "\xc2\x80", 2, true, "2-byte lowest" },
	{ "\xdf\xbf", 2, true, "2-byte highest" },
	{ "\xe0\xa0\x80", 3, true, "3-byte lowest" },
	{ "\xe2\x82\xac", 3, true, "euro sign" },
	{ "\xed\x9f\xbf", 3, true, "U+D7FF" },
	{ "\xee\x80\x80", 3, true, "U+E000" },
	{ "\xef\xbf\xbf", 3, true, "U+FFFF" },
	{ "\xf0\x90\x80\x80", 4, true, "4-byte lowest" },
	{ "\xf0\x9f\x98\x80", 4, true, "emoji" },
	{ "\xf4\x8f\xbf\xbf", 4, true, "U+10FFFF" },
	{ "a\0b", 3, true, "embedded NUL" },
	{ "\0", 1, true, "lone NUL" },
	{ "\x80", 1, false, "lone continuation" },
	{ "\xbf", 1, false, "lone continuation bf" },
	{ "\xc0\xaf", 2, false, "overlong slash (c0)" },
	{ "\xc1\xbf", 2, false, "overlong (c1)" },
	{ "\xe0\x80\xaf", 3, false, "overlong 3-byte" },
	{ "\xe0\x9f\xbf", 3, false, "overlong 3-byte highest" },
	{ "\xf0\x80\x80\xaf", 4, false, "overlong 4-byte" },
	{ "\xf0\x8f\xbf\xbf", 4, false, "overlong 4-byte highest" },
	{ "\xed\xa0\x80", 3, false, "surrogate D800" },
	{ "\xed\xbf\xbf", 3, false, "surrogate DFFF" },
	{ "\xf4\x90\x80\x80", 4, false, "U+110000" },
	{ "\xf5\x80\x80\x80", 4, false, "f5 lead" },
	{ "\xff", 1, false, "ff" },
	{ "\xfe", 1, false, "fe" },
	{ "\xc3", 1, false, "truncated 2-byte" },
	{ "\xe2\x82", 2, false, "truncated 3-byte" },
	{ "\xf0\x9f\x98", 3, false, "truncated 4-byte" },
	{ "\xe2\x82\xac", 2, false, "euro cut by length" },
	{ "\xc3x", 2, false, "bad continuation" },
	{ "\xe2\x28\xa1", 3, false, "bad second byte" },
	{ "\xf0\x9f\x98\x28", 4, false, "bad fourth byte" },
	{ "ok\xc3\xa9\xc3", 5, false, "truncated at the end" },
};

/* Strict UTF-8: a table of valid and invalid sequences. */
START_TEST(test_value_utf8_table)
{
	courier_value	*s;
	size_t		 i;

	for (i = 0; i < nitems(utf8_table); i++) {
		ck_assert_msg(courier_utf8_valid(utf8_table[i].s,
		    utf8_table[i].len) == utf8_table[i].valid,
		    "utf8 case \"%s\"", utf8_table[i].what);
		s = courier_string_len(utf8_table[i].s, utf8_table[i].len);
		ck_assert_msg((s != NULL) == utf8_table[i].valid,
		    "string case \"%s\"", utf8_table[i].what);
		courier_value_unref(s);
	}
	ck_assert(courier_utf8_valid(NULL, 0));
	ck_assert(!courier_utf8_valid(NULL, 1));
}
END_TEST

/* A value shared by two lists lives until the last one lets go. */
START_TEST(test_value_refcount_shared)
{
	courier_value	*s, *l1, *l2, *r;

	s = courier_string("shared");
	l1 = courier_list_new();
	l2 = courier_list_new();
	ck_assert_int_eq(courier_list_append(l1, courier_value_ref(s)), 0);
	ck_assert_int_eq(courier_list_append(l2, s), 0);
	ck_assert_ptr_eq(courier_list_get(l1, 0), courier_list_get(l2, 0));

	courier_value_unref(l1);
	ck_assert_str_eq(courier_value_string(courier_list_get(l2, 0), NULL),
	    "shared");

	r = courier_value_ref(courier_list_get(l2, 0));
	courier_value_unref(l2);
	ck_assert_str_eq(courier_value_string(r, NULL), "shared");
	courier_value_unref(r);
}
END_TEST

/* Lists: append, get, bounds. */
START_TEST(test_value_list)
{
	courier_value	*l;
	size_t		 i;

	l = courier_list_new();
	ck_assert_int_eq(courier_value_type(l), COURIER_LIST);
	ck_assert_uint_eq(courier_list_len(l), 0);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(courier_list_append(l,
		    courier_int((int64_t)i)), 0);
	ck_assert_uint_eq(courier_list_len(l), 100);
	ck_assert_int_eq(courier_value_int(courier_list_get(l, 0)), 0);
	ck_assert_int_eq(courier_value_int(courier_list_get(l, 99)), 99);
	ck_assert_ptr_null(courier_list_get(l, 100));
	ck_assert_int_eq(courier_list_append(l, NULL), -1);
	ck_assert_int_eq(courier_list_append(NULL, courier_int(1)), -1);
	ck_assert_uint_eq(courier_list_len(l), 100);
	courier_value_unref(l);
}
END_TEST

/* courier_list_of and courier_args. */
START_TEST(test_value_list_of)
{
	courier_value	*l, *e;

	l = courier_args(courier_int(1), courier_string("two"),
	    courier_null());
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(courier_list_len(l), 3);
	ck_assert_int_eq(courier_value_int(courier_list_get(l, 0)), 1);
	ck_assert_str_eq(courier_value_string(courier_list_get(l, 1), NULL),
	    "two");
	ck_assert_int_eq(courier_value_type(courier_list_get(l, 2)),
	    COURIER_NULL);

	e = courier_list_of(COURIER_END);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(courier_list_len(e), 0);

	courier_value_unref(l);
	courier_value_unref(e);
}
END_TEST

/* A NULL item fails courier_list_of and releases the others (no leak). */
START_TEST(test_value_list_of_null)
{
	ck_assert_ptr_null(courier_args(courier_int(1), courier_string(NULL),
	    courier_string("leaks if not released")));
	ck_assert_ptr_null(courier_args(courier_string("\xff"),
	    courier_int(2)));
	ck_assert_ptr_null(courier_args(courier_int(1), courier_list_new(),
	    NULL));
}
END_TEST

/* Dicts keep insertion order, replace in place, and miss cleanly. */
START_TEST(test_value_dict)
{
	courier_value	*d;

	d = courier_dict_new();
	ck_assert_int_eq(courier_value_type(d), COURIER_DICT);
	ck_assert_int_eq(courier_dict_set(d, "zeta", courier_int(1)), 0);
	ck_assert_int_eq(courier_dict_set(d, "alpha", courier_int(2)), 0);
	ck_assert_int_eq(courier_dict_set(d, "mid", courier_int(3)), 0);
	ck_assert_uint_eq(courier_dict_len(d), 3);
	ck_assert_str_eq(courier_dict_key(d, 0), "zeta");
	ck_assert_str_eq(courier_dict_key(d, 1), "alpha");
	ck_assert_str_eq(courier_dict_key(d, 2), "mid");

	ck_assert_int_eq(courier_dict_set(d, "alpha", courier_string("new")),
	    0);
	ck_assert_uint_eq(courier_dict_len(d), 3);
	ck_assert_str_eq(courier_dict_key(d, 1), "alpha");
	ck_assert_str_eq(courier_value_string(courier_dict_value(d, 1), NULL),
	    "new");
	ck_assert_str_eq(courier_value_string(courier_dict_get(d, "alpha"),
	    NULL), "new");

	ck_assert_ptr_null(courier_dict_get(d, "missing"));
	ck_assert_ptr_null(courier_dict_get(d, NULL));
	ck_assert_ptr_null(courier_dict_key(d, 3));
	ck_assert_ptr_null(courier_dict_value(d, 3));

	ck_assert_int_eq(courier_dict_set(d, "bad\xff", courier_int(1)), -1);
	ck_assert_int_eq(courier_dict_set(d, NULL, courier_int(1)), -1);
	ck_assert_int_eq(courier_dict_set(d, "k", NULL), -1);
	ck_assert_int_eq(courier_dict_set(NULL, "k", courier_int(1)), -1);
	ck_assert_uint_eq(courier_dict_len(d), 3);
	courier_value_unref(d);
}
END_TEST

/* A dict big enough for its hash index still finds, orders and replaces. */
START_TEST(test_value_dict_large)
{
	courier_value	*d;
	char		 key[32];
	int		 i;

	d = courier_dict_new();
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "key%d", i);
		ck_assert_int_eq(courier_dict_set(d, key, courier_int(i)), 0);
	}
	ck_assert_uint_eq(courier_dict_len(d), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "key%d", i);
		ck_assert_int_eq(courier_value_int(courier_dict_get(d, key)),
		    i);
		ck_assert_str_eq(courier_dict_key(d, (size_t)i), key);
	}
	ck_assert_int_eq(courier_dict_set(d, "key500", courier_int(-1)), 0);
	ck_assert_uint_eq(courier_dict_len(d), 1000);
	ck_assert_int_eq(courier_value_int(courier_dict_value(d, 500)), -1);
	ck_assert_ptr_null(courier_dict_get(d, "key1000"));
	courier_value_unref(d);
}
END_TEST

/* A container inside another is read-only; nothing contains itself. */
START_TEST(test_value_seal)
{
	courier_value	*inner, *outer, *d, *holder;

	inner = courier_list_new();
	ck_assert_int_eq(courier_list_append(inner, courier_int(1)), 0);
	outer = courier_list_new();
	ck_assert_int_eq(courier_list_append(outer, courier_value_ref(inner)),
	    0);
	ck_assert_int_eq(courier_list_append(inner, courier_int(2)), -1);
	ck_assert_uint_eq(courier_list_len(inner), 1);

	/* A sealed list may still go into another container. */
	holder = courier_list_new();
	ck_assert_int_eq(courier_list_append(holder, courier_value_ref(inner)),
	    0);
	ck_assert_int_eq(courier_list_append(outer, courier_value_ref(outer)),
	    -1);
	ck_assert_uint_eq(courier_list_len(outer), 1);

	d = courier_dict_new();
	ck_assert_int_eq(courier_dict_set(d, "self", courier_value_ref(d)),
	    -1);
	ck_assert_uint_eq(courier_dict_len(d), 0);
	ck_assert_int_eq(courier_dict_set(d, "x", courier_int(1)), 0);
	ck_assert_int_eq(courier_list_append(holder, courier_value_ref(d)), 0);
	ck_assert_int_eq(courier_dict_set(d, "y", courier_int(2)), -1);
	ck_assert_int_eq(courier_dict_set(d, "x", courier_int(3)), -1);
	ck_assert_uint_eq(courier_dict_len(d), 1);
	ck_assert_int_eq(courier_value_int(courier_dict_get(d, "x")), 1);

	/* The outermost container stays open. */
	ck_assert_int_eq(courier_list_append(holder, courier_int(4)), 0);
	ck_assert_uint_eq(courier_list_len(holder), 3);

	courier_value_unref(inner);
	courier_value_unref(outer);
	courier_value_unref(d);
	courier_value_unref(holder);
}
END_TEST

/* Nesting may reach COURIER_MAX_DEPTH and no further. */
START_TEST(test_value_depth_limit)
{
	courier_value	*deep, *top, *d, *shallow;

	/* 100 levels can be built; putting them in one more list fails. */
	deep = nest_lists(COURIER_MAX_DEPTH);
	top = courier_list_new();
	ck_assert_int_eq(courier_list_append(top, courier_value_ref(deep)),
	    -1);
	ck_assert_uint_eq(courier_list_len(top), 0);
	courier_value_unref(deep);

	/* 99 levels in a list make exactly 100; scalars add nothing. */
	ck_assert_int_eq(courier_list_append(top,
	    nest_lists(COURIER_MAX_DEPTH - 1)), 0);
	ck_assert_int_eq(courier_list_append(top, courier_int(5)), 0);
	ck_assert_uint_eq(courier_list_len(top), 2);
	courier_value_unref(top);

	/* A dict 100 deep refuses to nest; replacing its value lowers it. */
	d = courier_dict_new();
	ck_assert_int_eq(courier_dict_set(d, "a",
	    nest_lists(COURIER_MAX_DEPTH - 1)), 0);
	ck_assert_int_eq(courier_dict_set(d, "b",
	    nest_lists(COURIER_MAX_DEPTH)), -1);
	shallow = courier_list_new();
	ck_assert_int_eq(courier_list_append(shallow, courier_value_ref(d)),
	    -1);
	ck_assert_int_eq(courier_dict_set(d, "a", courier_int(1)), 0);
	ck_assert_int_eq(courier_list_append(shallow, courier_value_ref(d)),
	    0);
	ck_assert_uint_eq(courier_list_len(shallow), 1);

	courier_value_unref(d);
	courier_value_unref(shallow);
}
END_TEST

/* A well-formed tensor keeps its dtype, shape and a copy of the data. */
START_TEST(test_value_tensor)
{
	courier_value	*t, *s, *z;
	float		 data[6] = { 1, 2, 3, 4, 5, 6 };
	int64_t		 shape[2] = { 2, 3 }, zshape[2] = { 0, 5 };
	const int64_t	*sh;
	const float	*p;
	size_t		 nbytes;
	char		*cause = NULL;

	t = courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data, sizeof data,
	    &cause);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(cause);
	data[0] = 99;
	shape[0] = 99;
	ck_assert_int_eq(courier_value_type(t), COURIER_TENSOR);
	ck_assert_int_eq(courier_tensor_dtype(t), COURIER_DT_FLOAT);
	ck_assert_uint_eq(courier_tensor_shape(t, &sh), 2);
	ck_assert_int_eq(sh[0], 2);
	ck_assert_int_eq(sh[1], 3);
	p = courier_tensor_data(t, &nbytes);
	ck_assert_uint_eq(nbytes, 24);
	ck_assert(p[0] == 1.0f && p[5] == 6.0f);

	/* A scalar: no dimensions, one element. */
	s = courier_tensor_new(COURIER_DT_DOUBLE, 0, NULL, "12345678", 8,
	    &cause);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(courier_tensor_shape(s, NULL), 0);

	/* An empty tensor: a zero dimension, no data. */
	z = courier_tensor_new(COURIER_DT_INT64, 2, zshape, NULL, 0, &cause);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(courier_tensor_shape(z, &sh), 2);
	ck_assert_int_eq(sh[1], 5);

	courier_value_unref(t);
	courier_value_unref(s);
	courier_value_unref(z);
}
END_TEST

/* Check that a tensor is refused with a cause containing want. */
static void
tensor_refused(enum courier_dtype dtype, size_t ndim, const int64_t *shape,
    size_t nbytes, const char *want)
{
	static const char	 data[64];
	courier_value		*t;
	char			*cause = NULL;

	t = courier_tensor_new(dtype, ndim, shape, nbytes == 0 ? NULL : data,
	    nbytes, &cause);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, want);
	free(cause);
}

/* Bad tensors are refused with a reason. */
START_TEST(test_value_tensor_invalid)
{
	int64_t		 shape[COURIER_TENSOR_MAX_DIMS + 1];
	int64_t		 good[2] = { 2, 3 }, neg[2] = { 2, -3 };
	int64_t		 huge[3] = { INT64_MAX, INT64_MAX, 2 };
	int64_t		 big[2] = { INT64_MAX / 2, 4 };
	size_t		 i;

	tensor_refused(COURIER_DT_FLOAT, 2, good, 20,
	    "tensor: shape [2, 3] of float32 needs 24 bytes, got 20");
	tensor_refused(COURIER_DT_FLOAT, 2, neg, 24,
	    "dimension 1 is -3");
	for (i = 0; i < nitems(shape); i++)
		shape[i] = 1;
	tensor_refused(COURIER_DT_UINT8, COURIER_TENSOR_MAX_DIMS + 1, shape,
	    1, "33 dimensions, at most 32");
	tensor_refused(COURIER_DT_UINT8, 3, huge, 1, "too large");
	tensor_refused(COURIER_DT_INT64, 2, big, 8, "too large");
	tensor_refused((enum courier_dtype)7, 2, good, 24, "unknown dtype 7");
	tensor_refused(COURIER_DT_FLOAT, 2, NULL, 24, "no shape");
	tensor_refused(COURIER_DT_FLOAT, 0, NULL, 0,
	    "shape [] of float32 needs 4 bytes, got 0");

	/* A NULL cause is allowed. */
	ck_assert_ptr_null(courier_tensor_new(COURIER_DT_FLOAT, 2, good, "x",
	    1, NULL));

	/* Exactly COURIER_TENSOR_MAX_DIMS is fine. */
	{
		courier_value	*t;

		t = courier_tensor_new(COURIER_DT_UINT8,
		    COURIER_TENSOR_MAX_DIMS, shape, "x", 1, NULL);
		ck_assert_ptr_nonnull(t);
		courier_value_unref(t);
	}
}
END_TEST

/* Every dtype has a name that maps back to it, and a size. */
START_TEST(test_value_dtype_names)
{
	static const struct {
		enum courier_dtype	 dt;
		const char		*name;
		size_t			 size;
	} want[] = {
		{ COURIER_DT_FLOAT, "float32", 4 },
		{ COURIER_DT_DOUBLE, "float64", 8 },
		{ COURIER_DT_INT32, "int32", 4 },
		{ COURIER_DT_UINT8, "uint8", 1 },
		{ COURIER_DT_INT16, "int16", 2 },
		{ COURIER_DT_INT8, "int8", 1 },
		{ COURIER_DT_COMPLEX64, "complex64", 8 },
		{ COURIER_DT_INT64, "int64", 8 },
		{ COURIER_DT_BOOL, "bool", 1 },
		{ COURIER_DT_BFLOAT16, "bfloat16", 2 },
		{ COURIER_DT_UINT16, "uint16", 2 },
		{ COURIER_DT_COMPLEX128, "complex128", 16 },
		{ COURIER_DT_HALF, "float16", 2 },
		{ COURIER_DT_UINT32, "uint32", 4 },
		{ COURIER_DT_UINT64, "uint64", 8 },
	};
	size_t	 i;

	for (i = 0; i < nitems(want); i++) {
		ck_assert_str_eq(courier_dtype_name(want[i].dt), want[i].name);
		ck_assert_int_eq(courier_dtype_from_name(want[i].name),
		    want[i].dt);
		ck_assert_uint_eq(courier_dtype_size(want[i].dt),
		    want[i].size);
	}
	ck_assert_int_eq(courier_dtype_from_name("float128"), -1);
	ck_assert_int_eq(courier_dtype_from_name(""), -1);
	ck_assert_int_eq(courier_dtype_from_name(NULL), -1);
	ck_assert_ptr_null(courier_dtype_name((enum courier_dtype)0));
	ck_assert_uint_eq(courier_dtype_size((enum courier_dtype)20), 0);
}
END_TEST

/* Check equality both ways, then release both values. */
static void
check_equal(courier_value *a, courier_value *b, bool want)
{
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert(courier_value_equal(a, b) == want);
	ck_assert(courier_value_equal(b, a) == want);
	courier_value_unref(a);
	courier_value_unref(b);
}

/* Make a dict from key/int pairs, ended by a NULL key. */
static courier_value *
dict_of(const char *key, ...)
{
	courier_value	*d;
	va_list		 ap;

	d = courier_dict_new();
	va_start(ap, key);
	for (; key != NULL; key = va_arg(ap, const char *))
		ck_assert_int_eq(courier_dict_set(d, key,
		    courier_int(va_arg(ap, int))), 0);
	va_end(ap);
	return (d);
}

/* Deep equality: types matter, NaN equals NaN, dict order does not. */
START_TEST(test_value_equal)
{
	int64_t		 shape[1] = { 2 };
	courier_value	*v;

	check_equal(courier_null(), courier_null(), true);
	check_equal(courier_bool(true), courier_bool(false), false);
	check_equal(courier_int(1), courier_int(1), true);
	check_equal(courier_int(1), courier_int(2), false);
	check_equal(courier_int(1), courier_double(1.0), false);
	check_equal(courier_double(0.5), courier_double(0.5), true);
	check_equal(courier_double(NAN), courier_double(NAN), true);
	check_equal(courier_double(NAN), courier_double(1.0), false);
	check_equal(courier_string("a"), courier_string("a"), true);
	check_equal(courier_string("a"), courier_string("b"), false);
	check_equal(courier_string_len("a\0b", 3), courier_string_len("a\0c",
	    3), false);
	check_equal(courier_string_len("a\0b", 3), courier_string("a"), false);
	check_equal(courier_string("ab"), courier_bytes("ab", 2), false);
	check_equal(courier_bytes("ab", 2), courier_bytes("ab", 2), true);
	check_equal(courier_args(courier_int(1), courier_string("x")),
	    courier_args(courier_int(1), courier_string("x")), true);
	check_equal(courier_args(courier_int(1), courier_string("x")),
	    courier_args(courier_int(1)), false);
	check_equal(courier_args(courier_args(courier_int(1))),
	    courier_args(courier_args(courier_int(2))), false);
	check_equal(dict_of("a", 1, "b", 2, NULL), dict_of("b", 2, "a", 1,
	    NULL), true);
	check_equal(dict_of("a", 1, "b", 2, NULL), dict_of("a", 1, "b", 3,
	    NULL), false);
	check_equal(dict_of("a", 1, "b", 2, NULL), dict_of("a", 1, "c", 2,
	    NULL), false);
	check_equal(dict_of("a", 1, NULL), dict_of("a", 1, "b", 2, NULL),
	    false);
	check_equal(courier_list_new(), courier_dict_new(), false);
	check_equal(courier_tensor_new(COURIER_DT_INT16, 1, shape, "abcd", 4,
	    NULL), courier_tensor_new(COURIER_DT_INT16, 1, shape, "abcd", 4,
	    NULL), true);
	check_equal(courier_tensor_new(COURIER_DT_INT16, 1, shape, "abcd", 4,
	    NULL), courier_tensor_new(COURIER_DT_UINT16, 1, shape, "abcd", 4,
	    NULL), false);
	check_equal(courier_tensor_new(COURIER_DT_INT16, 1, shape, "abcd", 4,
	    NULL), courier_tensor_new(COURIER_DT_INT16, 1, shape, "abce", 4,
	    NULL), false);

	v = courier_int(3);
	ck_assert(courier_value_equal(v, v));
	ck_assert(!courier_value_equal(v, NULL));
	ck_assert(courier_value_equal(NULL, NULL));
	courier_value_unref(v);
}
END_TEST

/* The suite: one case per behaviour. */
static Suite *
value_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("value");
#define CASE(name, fn) do {						\
	tc = tcase_create(name);					\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	CASE("scalars", test_value_scalars);
	CASE("accessors_mismatch", test_value_accessors_mismatch);
	CASE("type_names", test_value_type_names);
	CASE("string", test_value_string);
	CASE("string_take", test_value_string_take);
	CASE("bytes", test_value_bytes);
	CASE("utf8_table", test_value_utf8_table);
	CASE("refcount_shared", test_value_refcount_shared);
	CASE("list", test_value_list);
	CASE("list_of", test_value_list_of);
	CASE("list_of_null", test_value_list_of_null);
	CASE("dict", test_value_dict);
	CASE("dict_large", test_value_dict_large);
	CASE("seal", test_value_seal);
	CASE("depth_limit", test_value_depth_limit);
	CASE("tensor", test_value_tensor);
	CASE("tensor_invalid", test_value_tensor_invalid);
	CASE("dtype_names", test_value_dtype_names);
	CASE("equal", test_value_equal);
#undef CASE
	return (s);
}

/* Run the suite; fail if any test did. */
int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(value_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
