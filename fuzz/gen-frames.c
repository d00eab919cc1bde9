/*
 * gen-frames.c: writes the seed inputs of fuzz-frame into a folder, each
 * a piece size byte (see fuzz-frame.c) and frames packed by libcourier's
 * own codec: hello, calls with every kind of value, results, errors and
 * method lists, and the values only Python makes, which are refused.
 * Run by hand when the protocol changes: gen-frames fuzz/corpus/frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"

/* A call or a result whose values are JSON text. */
struct seed {
	const char	*name;
	uint8_t		 piece;
	const char	*method;	/* a call; NULL: a result */
	const char	*args;		/* JSON list */
	const char	*kwargs;	/* JSON dict, or NULL */
};

static const struct seed seeds[] = {
	{ "call-int", 0, "work", "[3]", NULL },
	{ "call-kwargs", 0, "logs", "[]",
	    "{\"program\": \"p\", \"lines\": -1, \"cursors\": {\"w/0\": 10}}" },
	{ "call-kinds", 0, "echo",
	    "[null, true, false, -9223372036854775808, 1.5e300, -0.0, "
	    "\"h\\u00e9llo\\u0000\", {\"$bytes\": \"AAEC/w==\"}, [[]], {}]",
	    "{\"t\": {\"$tensor\": {\"dtype\": \"float32\", \"shape\": [2, 1], "
	    "\"data\": \"AACAPwAAAEA=\"}}}" },
	{ "call-pieces", 3, "work", "[[1, [2, [3, [4]]]], {\"a\": {\"b\": 1}}]",
	    NULL },
	{ "result-dict", 0, NULL,
	    "{\"ok\": true, \"result\": [1, 2.5, \"x\"], \"code\": null}",
	    NULL },
	{ "result-tensor", 1, NULL,
	    "{\"$tensor\": {\"dtype\": \"int64\", \"shape\": [1], "
	    "\"data\": \"KgAAAAAAAAA=\"}}", NULL },
	{ "result-bigint", 0, NULL, "[18446744073709551616, 1e-320]", NULL },
	/* Payloads most of their frame: they borrow when lent. */
	{ "result-bytes", 0, NULL, "{\"$bytes\": \""
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp"
	    "KissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==" "\"}", NULL },
	{ "call-tensor", 0, "put", "[{\"$tensor\": {\"dtype\": \"float64\", "
	    "\"shape\": [4, 4], \"data\": \""
	    "AAAAAAAAAAAAAAAAAADgPwAAAAAAAPA/AAAAAAAA+D8AAAAAAAAAQAAA"
	    "AAAAAARAAAAAAAAACEAAAAAAAAAMQAAAAAAAABBAAAAAAAAAEkAAAAAA"
	    "AAAUQAAAAAAAABZAAAAAAAAAGEAAAAAAAAAaQAAAAAAAABxAAAAAAAAA"
	    "HkA=" "\"}}]", NULL },
};

/* Write b, after the piece size byte, to dir/name; exit on error. */
static void
put(const char *dir, const char *name, uint8_t piece, struct courier_buf *b)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(&piece, 1, 1, f) != 1 ||
	    fwrite(b->data + b->off, 1, courier_buf_used(b), f) !=
	    courier_buf_used(b) || fclose(f) != 0) {
		fprintf(stderr, "gen-frames: %s: cannot write\n", path);
		exit(1);
	}
	free(path);
	courier_buf_free(b);
}

/* A value from JSON text, or exit. */
static courier_value *
json(const char *text)
{
	courier_value	*v;
	char		*cause = NULL;

	if ((v = courier_value_from_json(text, &cause)) == NULL) {
		fprintf(stderr, "gen-frames: %s: %s\n", text, cause);
		exit(1);
	}
	return (v);
}

/* Append a hello frame. */
static void
pack_hello(struct courier_buf *b)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Hello	 h = COURIER__HELLO__INIT;

	h.protocol_version = COURIER_PROTOCOL_VERSION;
	h.agent = (char *)"gen-frames";
	f.body_case = COURIER__FRAME__BODY_HELLO;
	f.hello = &h;
	courier_frame_pack(b, &f);
}

/* Append the frame of a seed. */
static void
pack_seed(struct courier_buf *b, const struct seed *s, uint64_t id)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__CallRequest		 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments		 pb = COURIER__CALL_ARGUMENTS__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult		 result = COURIER__CALL_RESULT__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	struct courier_arena		 a;
	courier_value			*args, *kwargs;
	char				*cause = NULL;

	courier_arena_init(&a);
	args = json(s->args);
	kwargs = s->kwargs != NULL ? json(s->kwargs) : courier_dict_new();
	f.call_id = id;
	if (s->method != NULL) {
		if (courier_call_args_to_pb(args, kwargs, &pb, &a, &cause) != 0)
			goto fail;
		call.method = (char *)s->method;
		call.arguments = &pb;
		call.timeout_us = 5000000;
		f.body_case = COURIER__FRAME__BODY_CALL;
		f.call = &call;
	} else {
		if (courier_value_to_pb(args, &o, &a, &cause) != 0)
			goto fail;
		result.result = &o;
		resp.result = &result;
		f.body_case = COURIER__FRAME__BODY_RESULT;
		f.result = &resp;
	}
	courier_frame_pack(b, &f);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	courier_arena_free(&a);
	return;

fail:
	fprintf(stderr, "gen-frames: %s: %s\n", s->name, cause);
	exit(1);
}

/* Append a result holding o, a value only Python makes. */
static void
pack_object(struct courier_buf *b, Courier__SerializedObject *o)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__CallResponse	 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult	 result = COURIER__CALL_RESULT__INIT;

	result.result = o;
	resp.result = &result;
	f.call_id = 7;
	f.body_case = COURIER__FRAME__BODY_RESULT;
	f.result = &resp;
	courier_frame_pack(b, &f);
}

/* The frames that are neither calls nor results, and refused values. */
static void
put_others(const char *dir)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__Status			 st = COURIER__STATUS__INIT;
	Courier__ListMethodsRequest	 lm =
	    COURIER__LIST_METHODS_REQUEST__INIT;
	Courier__ListMethodsResponse	 ms =
	    COURIER__LIST_METHODS_RESPONSE__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	Courier__ReducedObject		 ro = COURIER__REDUCED_OBJECT__INIT;
	Courier__TypeValue		 tv = COURIER__TYPE_VALUE__INIT;
	struct courier_buf		 b;
	char				*names[] = { "launch", "work" };

	memset(&b, 0, sizeof b);
	pack_hello(&b);
	put(dir, "hello", 0, &b);

	st.code = COURIER_NOT_FOUND;
	st.message = (char *)"no program \"x\"";
	f.call_id = 2;
	f.body_case = COURIER__FRAME__BODY_ERROR;
	f.error = &st;
	courier_frame_pack(&b, &f);
	put(dir, "error", 0, &b);

	f.call_id = 3;
	f.body_case = COURIER__FRAME__BODY_LIST_METHODS;
	f.list_methods = &lm;
	courier_frame_pack(&b, &f);
	ms.n_methods = nitems(names);
	ms.methods = names;
	f.body_case = COURIER__FRAME__BODY_METHODS;
	f.methods = &ms;
	courier_frame_pack(&b, &f);
	put(dir, "methods", 2, &b);

	ro.class_module = (char *)"collections";
	ro.class_name = (char *)"OrderedDict";
	o.payload_case =
	    COURIER__SERIALIZED_OBJECT__PAYLOAD_REDUCED_OBJECT_VALUE;
	o.reduced_object_value = &ro;
	pack_object(&b, &o);
	put(dir, "reduced", 0, &b);

	tv.module.data = (uint8_t *)"builtins";
	tv.module.len = 8;
	o.payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_TYPE_VALUE;
	o.type_value = &tv;
	o.numpy_metadata =
	    COURIER__SERIALIZED_OBJECT__NUMPY_METADATA__UNICODE_TENSOR;
	pack_object(&b, &o);
	put(dir, "type", 0, &b);
}

/* Write every seed into the folder argv[1]. */
int
main(int argc, char **argv)
{
	struct courier_buf	 b;
	size_t			 i;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-frames DIR\n");
		return (2);
	}
	memset(&b, 0, sizeof b);
	for (i = 0; i < nitems(seeds); i++) {
		if (i == 0 || seeds[i].piece != 0)
			pack_hello(&b);
		pack_seed(&b, &seeds[i], i + 1);
		put(argv[1], seeds[i].name, seeds[i].piece, &b);
	}
	put_others(argv[1]);
	return (0);
}
