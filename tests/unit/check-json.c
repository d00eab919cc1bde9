/*
 * check-json.c: unit tests of values to and from JSON: round trips, the
 * number rules, $bytes and $tensor, error messages with their paths,
 * nesting limits and text encoding.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"

/* Parse text, which must succeed. */
static courier_value *
parse_ok(const char *text)
{
	courier_value	*v;
	char		*cause = NULL;

	v = courier_value_from_json(text, &cause);
	ck_assert_msg(v != NULL, "parsing %s: %s", text,
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return (v);
}

/* Format v, which must succeed; the caller frees. */
static char *
format_ok(const courier_value *v, bool pretty)
{
	char	*text, *cause = NULL;

	text = courier_value_to_json(v, pretty, &cause);
	ck_assert_msg(text != NULL, "formatting: %s",
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return (text);
}

/* Parsing text and formatting it compactly gives want back. */
static void
round_trip(const char *text, const char *want)
{
	courier_value	*v, *again;
	char		*out;

	v = parse_ok(text);
	out = format_ok(v, false);
	ck_assert_str_eq(out, want);
	again = parse_ok(out);
	ck_assert(courier_value_equal(v, again));
	free(out);
	courier_value_unref(again);
	courier_value_unref(v);
}

/* Parsing text fails with a cause that contains want. */
static void
parse_fails(const char *text, const char *want)
{
	courier_value	*v;
	char		*cause = NULL;

	v = courier_value_from_json(text, &cause);
	ck_assert_msg(v == NULL, "parsing %s should fail", text);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL,
	    "cause \"%s\" lacks \"%s\"", cause, want);
	free(cause);
}

/* Formatting v (released here) fails with a cause that contains want. */
static void
format_fails(courier_value *v, const char *want)
{
	char	*text, *cause = NULL;

	ck_assert_ptr_nonnull(v);
	text = courier_value_to_json(v, false, &cause);
	ck_assert_ptr_null(text);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL,
	    "cause \"%s\" lacks \"%s\"", cause, want);
	free(cause);
	courier_value_unref(v);
}

/* Every scalar type reads as its value and prints back the same. */
START_TEST(test_json_scalars)
{
	courier_value	*v;

	v = parse_ok("null");
	ck_assert_int_eq(courier_value_type(v), COURIER_NULL);
	courier_value_unref(v);
	v = parse_ok(" true ");
	ck_assert(courier_value_bool(v));
	courier_value_unref(v);
	v = parse_ok("false");
	ck_assert_int_eq(courier_value_type(v), COURIER_BOOL);
	ck_assert(!courier_value_bool(v));
	courier_value_unref(v);
	v = parse_ok("-17");
	ck_assert_int_eq(courier_value_type(v), COURIER_INT);
	ck_assert_int_eq(courier_value_int(v), -17);
	courier_value_unref(v);
	v = parse_ok("2.5");
	ck_assert_int_eq(courier_value_type(v), COURIER_DOUBLE);
	ck_assert_double_eq(courier_value_double(v), 2.5);
	courier_value_unref(v);
	v = parse_ok("1e3");
	ck_assert_int_eq(courier_value_type(v), COURIER_DOUBLE);
	courier_value_unref(v);
	v = parse_ok("\"text\"");
	ck_assert_str_eq(courier_value_string(v, NULL), "text");
	courier_value_unref(v);

	round_trip("null", "null");
	round_trip("true", "true");
	round_trip("false", "false");
	round_trip("42", "42");
	round_trip("-2.5", "-2.5");
	round_trip("1.0", "1.0");
	round_trip("\"q\\\"uote\\\\\"", "\"q\\\"uote\\\\\"");
}
END_TEST

/* Arrays and objects nest, and objects keep their order. */
START_TEST(test_json_nested)
{
	courier_value	*v;

	round_trip("{\"z\":[1,2.5,\"x\",null,true,{\"b\":[]}],\"a\":{},"
	    "\"m\":[[[]]]}",
	    "{\"z\":[1,2.5,\"x\",null,true,{\"b\":[]}],\"a\":{},"
	    "\"m\":[[[]]]}");
	round_trip("[ ]", "[]");
	round_trip("{ }", "{}");

	v = parse_ok("{\"b\": 1, \"a\": [true]}");
	ck_assert_int_eq(courier_value_type(v), COURIER_DICT);
	ck_assert_str_eq(courier_dict_key(v, 0), "b");
	ck_assert_str_eq(courier_dict_key(v, 1), "a");
	ck_assert_uint_eq(courier_list_len(courier_dict_get(v, "a")), 1);
	courier_value_unref(v);
}
END_TEST

/* int64's limits stay ints; numbers beyond them become doubles. */
START_TEST(test_json_int_limits)
{
	courier_value	*v;

	round_trip("9223372036854775807", "9223372036854775807");
	round_trip("-9223372036854775808", "-9223372036854775808");
	v = parse_ok("[9223372036854775807, -9223372036854775808]");
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 0)),
	    INT64_MAX);
	ck_assert_int_eq(courier_value_int(courier_list_get(v, 1)),
	    INT64_MIN);
	courier_value_unref(v);

	v = parse_ok("[1, 9223372036854775808, -99999999999999999999, "
	    "\"12345678901234567890123\", {\"k\": 1e2}]");
	ck_assert_int_eq(courier_value_type(courier_list_get(v, 0)),
	    COURIER_INT);
	ck_assert_int_eq(courier_value_type(courier_list_get(v, 1)),
	    COURIER_DOUBLE);
	ck_assert_double_eq(courier_value_double(courier_list_get(v, 1)),
	    9223372036854775808.0);
	ck_assert_int_eq(courier_value_type(courier_list_get(v, 2)),
	    COURIER_DOUBLE);
	ck_assert_double_eq(courier_value_double(courier_list_get(v, 2)),
	    -1e20);
	ck_assert_str_eq(courier_value_string(courier_list_get(v, 3), NULL),
	    "12345678901234567890123");
	ck_assert_int_eq(courier_value_type(courier_dict_get(
	    courier_list_get(v, 4), "k")), COURIER_DOUBLE);
	courier_value_unref(v);

	/* An error after a widened integer keeps the caller's column. */
	parse_fails("[9,,1]", "line 1 column 4:");
	parse_fails("[99999999999999999999,,1]", "line 1 column 23:");
	parse_fails("[1e400]", "real number overflow");
}
END_TEST

/* Doubles print with the fewest digits that read back exactly. */
START_TEST(test_json_doubles)
{
	courier_value	*v;
	char		*out;

	round_trip("0.1", "0.1");
	round_trip("[0.5,100.0,1e300]", "[0.5,100.0,1e300]");
	round_trip("-0.0", "-0.0");

	v = courier_double(0.1 + 0.2);
	out = format_ok(v, false);
	ck_assert_str_eq(out, "0.30000000000000004");
	free(out);
	courier_value_unref(v);

	v = courier_double(5e-324);
	out = format_ok(v, false);
	courier_value_unref(v);
	v = parse_ok(out);
	ck_assert(courier_value_double(v) == 5e-324);
	free(out);
	courier_value_unref(v);
}
END_TEST

/* NaN and infinities have no JSON form; the error names the place. */
START_TEST(test_json_nan)
{
	courier_value	*d;

	format_fails(courier_args(courier_double(1.0), courier_double(NAN)),
	    "$[1]: NaN has no JSON form");
	d = courier_dict_new();
	ck_assert_int_eq(courier_dict_set(d, "x", courier_double(-INFINITY)),
	    0);
	format_fails(d, "$.x: infinity has no JSON form");
	format_fails(courier_double(INFINITY), "$: infinity");
}
END_TEST

/* Bytes: RFC 4648 vectors both ways, and every byte value. */
START_TEST(test_json_bytes)
{
	static const struct {
		const char	*raw;
		const char	*json;
	} vec[] = {
		{ "", "{\"$bytes\":\"\"}" },
		{ "f", "{\"$bytes\":\"Zg==\"}" },
		{ "fo", "{\"$bytes\":\"Zm8=\"}" },
		{ "foo", "{\"$bytes\":\"Zm9v\"}" },
		{ "foob", "{\"$bytes\":\"Zm9vYg==\"}" },
		{ "fooba", "{\"$bytes\":\"Zm9vYmE=\"}" },
		{ "foobar", "{\"$bytes\":\"Zm9vYmFy\"}" },
	};
	courier_value	*v, *w;
	unsigned char	 all[256];
	const void	*p;
	char		*out;
	size_t		 i, len;

	for (i = 0; i < nitems(vec); i++) {
		v = courier_bytes(vec[i].raw, strlen(vec[i].raw));
		out = format_ok(v, false);
		ck_assert_str_eq(out, vec[i].json);
		free(out);
		w = parse_ok(vec[i].json);
		ck_assert_int_eq(courier_value_type(w), COURIER_BYTES);
		ck_assert(courier_value_equal(v, w));
		courier_value_unref(v);
		courier_value_unref(w);
	}

	for (i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)(255 - i);
	v = courier_args(courier_bytes(all, sizeof all), courier_string("s"));
	out = format_ok(v, false);
	w = parse_ok(out);
	ck_assert(courier_value_equal(v, w));
	p = courier_value_bytes(courier_list_get(w, 0), &len);
	ck_assert_uint_eq(len, 256);
	ck_assert_mem_eq(p, all, 256);
	free(out);
	courier_value_unref(v);
	courier_value_unref(w);
}
END_TEST

/* A malformed {"$bytes": ...} is an error naming its place and fault. */
START_TEST(test_json_bytes_malformed)
{
	parse_fails("{\"config\": {\"x\": {\"$bytes\": 5}}}",
	    "$.config.x: \"$bytes\" must be a base64 string");
	parse_fails("[0, {\"$bytes\": \"Zm9v!A==\"}]",
	    "$[1]: \"$bytes\" is not base64: bad character at offset 4");
	parse_fails("{\"$bytes\": \"Zg=\"}", "not a multiple of 4");
	parse_fails("{\"$bytes\": \"Zg=a\"}", "bad padding at offset 2");
	parse_fails("{\"$bytes\": \"Z===\"}", "bad padding at offset 1");
	parse_fails("{\"$bytes\": \"Zg==Zg==\"}", "bad padding at offset 2");
	parse_fails("{\"$bytes\": \"Zh==\"}", "bad padding");
	parse_fails("{\"$bytes\": \"Zm9=\"}", "bad padding");
	parse_fails("{\"$bytes\": \"Zm9v\\n\"}", "bad character");
	parse_fails("{\"a b\": {\"$bytes\": \"Zg==\", \"more\": 1}}",
	    "$[\"a b\"]: \"$bytes\" must be the only key");
}
END_TEST

/* Tensors go to {"$tensor": {dtype, shape, data}} and back. */
START_TEST(test_json_tensor)
{
	static const char want[] = "{\"$tensor\":{\"dtype\":\"float32\","
	    "\"shape\":[2,3],\"data\":\"AACAPwAAAEAAAEBAAACAQAAAoEAAAMBA\"}}";
	courier_value	*t, *w;
	float		 data[6] = { 1, 2, 3, 4, 5, 6 };
	int64_t		 shape[2] = { 2, 3 };
	char		*out;

	t = courier_tensor_new(COURIER_DT_FLOAT, 2, shape, data, sizeof data,
	    NULL);
	ck_assert_ptr_nonnull(t);
	out = format_ok(t, false);
	ck_assert_str_eq(out, want);
	w = parse_ok(out);
	ck_assert_int_eq(courier_value_type(w), COURIER_TENSOR);
	ck_assert(courier_value_equal(t, w));
	free(out);
	courier_value_unref(w);
	courier_value_unref(t);

	/* Member order does not matter on input; a scalar has shape []. */
	w = parse_ok("{\"$tensor\": {\"data\": \"AQAAAAAAAAA=\", "
	    "\"shape\": [], \"dtype\": \"int64\"}}");
	ck_assert_int_eq(courier_tensor_dtype(w), COURIER_DT_INT64);
	ck_assert_uint_eq(courier_tensor_shape(w, NULL), 0);
	courier_value_unref(w);
}
END_TEST

/* A malformed {"$tensor": ...} is an error naming its place and fault. */
START_TEST(test_json_tensor_malformed)
{
	parse_fails("{\"t\": {\"$tensor\": 1}}",
	    "$.t: \"$tensor\" must be an object");
	parse_fails("{\"$tensor\": {\"dtype\": \"float32\", \"shape\": [1], "
	    "\"data\": \"AAAAAA==\", \"extra\": 1}}",
	    "$: \"$tensor\" has an unknown member \"extra\"");
	parse_fails("{\"$tensor\": {\"shape\": [1], \"data\": \"AAAAAA==\"}}",
	    "needs \"dtype\"");
	parse_fails("{\"$tensor\": {\"dtype\": \"float99\", \"shape\": [1], "
	    "\"data\": \"AAAAAA==\"}}", "unknown dtype \"float99\"");
	parse_fails("{\"$tensor\": {\"dtype\": \"float32\", \"shape\": 1, "
	    "\"data\": \"AAAAAA==\"}}", "needs \"shape\"");
	parse_fails("{\"$tensor\": {\"dtype\": \"float32\", \"shape\": [1, -1],"
	    " \"data\": \"\"}}", "shape[1] must be an integer >= 0");
	parse_fails("{\"$tensor\": {\"dtype\": \"float32\", \"shape\": [1.5],"
	    " \"data\": \"\"}}", "shape[0] must be an integer");
	parse_fails("{\"$tensor\": {\"dtype\": \"float32\", \"shape\": [1]}}",
	    "needs \"data\"");
	parse_fails("{\"$tensor\": {\"dtype\": \"float32\", \"shape\": [1], "
	    "\"data\": \"AA\"}}", "data is not base64");
	parse_fails("[[], {\"$tensor\": {\"dtype\": \"float32\", "
	    "\"shape\": [2, 3], \"data\": \"AAAAAA==\"}}]",
	    "$[1]: tensor: shape [2, 3] of float32 needs 24 bytes, got 4");
	parse_fails("{\"$tensor\": {\"dtype\": \"uint8\", \"shape\": "
	    "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
	    "1], \"data\": \"AA==\"}}", "33 dimensions, at most 32");
	parse_fails("{\"$tensor\": {\"dtype\": \"uint8\", \"shape\": "
	    "[9223372036854775807, 4], \"data\": \"\"}}", "too large");
	parse_fails("{\"$tensor\": {}, \"x\": 1}", "must be the only key");
}
END_TEST

/* A dict whose key would read back as bytes or a tensor cannot print. */
START_TEST(test_json_reserved_key)
{
	courier_value	*d, *l;

	d = courier_dict_new();
	ck_assert_int_eq(courier_dict_set(d, "$bytes", courier_string("Zg==")),
	    0);
	l = courier_args(courier_int(1), d);
	format_fails(l, "$[1]: key \"$bytes\" is reserved");
}
END_TEST

/* Duplicate keys are refused and named, however long. */
START_TEST(test_json_duplicate_key)
{
	parse_fails("{\"a\": 1, \"a\": 2}", "duplicate key \"a\"");
	parse_fails("{\"a\": 1, \"a\": 2}", "line 1 column 12:");
	parse_fails("{\"x\": {\"a very long key that jansson won't quote\": 1,"
	    "\n\"a very long key that jansson won't quote\": 2}}",
	    "line 2 column 42: duplicate key \"a very long key that jansson "
	    "won't quote\"");
	parse_fails("{\"q\\\"k\": 1, \"q\\\"k\": 2}", "duplicate key "
	    "\"q\\\"k\"");
	parse_fails("{\"" "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\": 1, \""
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\": 2}",
	    "duplicate key \"012345678901234567890123456789"
	    "012345678901234567890123456789012...\"");
}
END_TEST

/* Syntax errors say where, as line and column. */
START_TEST(test_json_syntax_error)
{
	parse_fails("[1,\n 2,, 3]", "line 2 column 4: unexpected token");
	parse_fails("", "line 1 column 0:");
	parse_fails("[1] x", "line 1 column 5: end of file expected");
	parse_fails("{\"a\" 1}", "line 1 column 6:");
	parse_fails("\"\xff\"", "line 1");
	parse_fails("\"\\ud800\"", "invalid Unicode");
	parse_fails("{\"a\\u0000b\": 1}", "NUL byte in object key");
	parse_fails(NULL, "no JSON text");
	ck_assert_ptr_null(courier_value_from_json("[", NULL));
}
END_TEST

/* Text of n opens, then mid, then n closes; the caller frees. */
static char *
nested(size_t n, const char *open, const char *mid, const char *close)
{
	char	*text;
	size_t	 i, lo = strlen(open), lm = strlen(mid), lc = strlen(close);

	text = xmalloc(n * (lo + lc) + lm + 1);
	for (i = 0; i < n; i++)
		memcpy(text + i * lo, open, lo);
	memcpy(text + n * lo, mid, lm);
	for (i = 0; i < n; i++)
		memcpy(text + n * lo + lm + i * lc, close, lc);
	text[n * (lo + lc) + lm] = '\0';
	return (text);
}

/* Input may nest COURIER_MAX_DEPTH deep and no deeper. */
START_TEST(test_json_depth_limit)
{
	courier_value	*v;
	char		*text, *out;

	text = nested(COURIER_MAX_DEPTH, "[", "", "]");
	v = parse_ok(text);
	out = format_ok(v, false);
	ck_assert_str_eq(out, text);
	free(out);
	courier_value_unref(v);
	free(text);

	text = nested(COURIER_MAX_DEPTH + 1, "[", "", "]");
	parse_fails(text, "$[0][0][0]");
	parse_fails(text, "nesting deeper than 100");
	free(text);

	text = nested(COURIER_MAX_DEPTH, "{\"k\":", "{}", "}");
	parse_fails(text, "$.k.k.k");
	parse_fails(text, "nesting deeper than 100");
	free(text);

	/* jansson's own limit is 2048; ours comes first and names the place. */
	text = nested(2000, "[", "", "]");
	parse_fails(text, "nesting deeper than 100");
	free(text);

	/* A $bytes object at the bottom is a scalar: it adds no level. */
	text = nested(COURIER_MAX_DEPTH, "[", "{\"$bytes\":\"\"}", "]");
	v = parse_ok(text);
	courier_value_unref(v);
	free(text);
}
END_TEST

/* Non-ASCII text stays UTF-8 on output; embedded NUL survives. */
START_TEST(test_json_text_encoding)
{
	courier_value	*v, *w;
	const char	*s;
	char		*out;
	size_t		 len;

	v = parse_ok("\"h\\u00e9 \\u4e16\\u754c \\ud83d\\ude00\"");
	ck_assert_str_eq(courier_value_string(v, NULL),
	    "h\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80");
	out = format_ok(v, false);
	ck_assert_str_eq(out,
	    "\"h\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80\"");
	free(out);
	courier_value_unref(v);

	v = courier_string_len("a\0b", 3);
	out = format_ok(v, false);
	ck_assert_str_eq(out, "\"a\\u0000b\"");
	w = parse_ok(out);
	s = courier_value_string(w, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(s, "a\0b", 3);
	ck_assert(courier_value_equal(v, w));
	free(out);
	courier_value_unref(v);
	courier_value_unref(w);

	v = parse_ok("{\"cl\xc3\xa9\": \"\\t\\n\"}");
	out = format_ok(v, false);
	ck_assert_str_eq(out, "{\"cl\xc3\xa9\":\"\\t\\n\"}");
	free(out);
	courier_value_unref(v);
}
END_TEST

/* Pretty output is indented on several lines; compact output is not. */
START_TEST(test_json_pretty)
{
	courier_value	*v, *w;
	char		*out;

	v = parse_ok("{\"a\": [1, 2], \"b\": {\"c\": null}}");
	out = format_ok(v, true);
	ck_assert_ptr_nonnull(strchr(out, '\n'));
	ck_assert_ptr_nonnull(strstr(out, "\n  \"a\": [\n    1,"));
	w = parse_ok(out);
	ck_assert(courier_value_equal(v, w));
	free(out);
	out = format_ok(v, false);
	ck_assert_ptr_null(strchr(out, '\n'));
	ck_assert_ptr_null(strchr(out, ' '));
	free(out);
	courier_value_unref(v);
	courier_value_unref(w);

	out = courier_value_to_json(NULL, false, NULL);
	ck_assert_str_eq(out, "null");
	free(out);
}
END_TEST

/* The suite: one case per behaviour. */
static Suite *
json_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("json");
#define CASE(name, fn) do {						\
	tc = tcase_create(name);					\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	CASE("scalars", test_json_scalars);
	CASE("nested", test_json_nested);
	CASE("int_limits", test_json_int_limits);
	CASE("doubles", test_json_doubles);
	CASE("nan", test_json_nan);
	CASE("bytes", test_json_bytes);
	CASE("bytes_malformed", test_json_bytes_malformed);
	CASE("tensor", test_json_tensor);
	CASE("tensor_malformed", test_json_tensor_malformed);
	CASE("reserved_key", test_json_reserved_key);
	CASE("duplicate_key", test_json_duplicate_key);
	CASE("syntax_error", test_json_syntax_error);
	CASE("depth_limit", test_json_depth_limit);
	CASE("text_encoding", test_json_text_encoding);
	CASE("pretty", test_json_pretty);
#undef CASE
	return (s);
}

/* Run the suite; fail if any test did. */
int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(json_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
