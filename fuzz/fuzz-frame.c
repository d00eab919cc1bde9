/*
 * fuzz-frame.c: libFuzzer target for the frame codec and the value codec,
 * the code that reads what a peer sends. The input comes in pieces, as
 * reads from a socket bring it (its first byte says how big they are),
 * into a struct courier_buf; courier_frame_next takes each whole frame.
 * Each frame's values are taken out of the protobuf messages as the server
 * and the client take them, put back, packed as a frame again and decoded
 * once more: the values must come back equal, as must a plain repack of
 * the frame, and every value must survive its other codecs (fuzz-common.c).
 * The call path's own codec (courier-wire.c) is held to protobuf-c's: what
 * it decodes, protobuf-c decodes alike, and it packs the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* The frame limit: inputs stay far below it, frame headers need not. */
#define MAX_FRAME	(1024 * 1024)

/* Take the one frame that b must hold, or abort. */
static Courier__Frame *
next_or_fail(struct courier_buf *b, struct courier_arena *a, const char *what)
{
	Courier__Frame	*f = NULL;
	size_t		 need = 0;
	char		*cause = NULL;

	if (courier_frame_next(b, MAX_FRAME, a, &f, &need, &cause) != 1)
		fuzz_fail("%s: a packed frame does not decode: %s", what,
		    cause != NULL ? cause : "incomplete");
	if (courier_buf_used(b) != 0)
		fuzz_fail("%s: bytes left after the one frame", what);
	return (f);
}

/* Pack f again and decode it: protobuf-c's own output must pass. */
static void
repack(const Courier__Frame *f)
{
	struct courier_buf	 b;
	struct courier_arena	 a;
	Courier__Frame		*g;

	memset(&b, 0, sizeof b);
	courier_arena_init(&a);
	courier_frame_pack(&b, f);
	g = next_or_fail(&b, &a, "repack");
	if (g->call_id != f->call_id || g->body_case != f->body_case)
		fuzz_fail("repack: call id or body changed");
	courier_arena_free(&a);
	courier_buf_free(&b);
}

/* A call's arguments out of the frame, back in, and out again. */
static void
call_roundtrip(const Courier__Frame *f)
{
	Courier__Frame		 out = COURIER__FRAME__INIT;
	Courier__CallRequest	 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments	 pb = COURIER__CALL_ARGUMENTS__INIT;
	struct courier_buf	 b;
	struct courier_arena	 a;
	Courier__Frame		*g;
	courier_value		*args, *kwargs, *args2, *kwargs2;
	char			*cause = NULL;
	size_t			 i;

	if (courier_call_args_from_pb(f->call->arguments, &args, &kwargs,
	    &cause) != 0) {
		free(cause);
		return;
	}
	memset(&b, 0, sizeof b);
	courier_arena_init(&a);
	if (courier_call_args_to_pb(args, kwargs, &pb, &a, &cause) != 0)
		fuzz_fail("call: decoded arguments do not encode: %s", cause);
	call.method = f->call->method;
	call.arguments = &pb;
	call.timeout_us = f->call->timeout_us;
	out.call_id = f->call_id;
	out.body_case = COURIER__FRAME__BODY_CALL;
	out.call = &call;
	courier_frame_pack(&b, &out);
	g = next_or_fail(&b, &a, "call");
	if (courier_call_args_from_pb(g->call->arguments, &args2, &kwargs2,
	    &cause) != 0)
		fuzz_fail("call: re-encoded arguments do not decode: %s",
		    cause);
	if (!courier_value_equal(args, args2) ||
	    !courier_value_equal(kwargs, kwargs2))
		fuzz_fail("call: arguments differ after a round trip");

	for (i = 0; i < courier_list_len(args); i++)
		fuzz_value_roundtrip(courier_list_get(args, i));
	fuzz_value_roundtrip(kwargs);

	courier_value_unref(args2);
	courier_value_unref(kwargs2);
	courier_arena_free(&a);
	courier_buf_free(&b);
	courier_value_unref(args);
	courier_value_unref(kwargs);
}

/* A call's result out of the frame, back in, and out again. */
static void
result_roundtrip(const Courier__Frame *f)
{
	Courier__Frame			 out = COURIER__FRAME__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult		 result = COURIER__CALL_RESULT__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	struct courier_buf		 b;
	struct courier_arena		 a;
	Courier__Frame			*g;
	courier_value			*v, *w;
	char				*cause = NULL;

	if (f->result->result == NULL || f->result->result->result == NULL)
		return;		/* the client reads it as null */
	if ((v = courier_value_from_pb(f->result->result->result,
	    &cause)) == NULL) {
		free(cause);
		return;
	}
	memset(&b, 0, sizeof b);
	courier_arena_init(&a);
	if (courier_value_to_pb(v, &o, &a, &cause) != 0)
		fuzz_fail("result: a decoded value does not encode: %s", cause);
	result.result = &o;
	resp.result = &result;
	out.call_id = f->call_id;
	out.body_case = COURIER__FRAME__BODY_RESULT;
	out.result = &resp;
	courier_frame_pack(&b, &out);
	g = next_or_fail(&b, &a, "result");
	if (g->result == NULL || g->result->result == NULL ||
	    g->result->result->result == NULL)
		fuzz_fail("result: the value is gone after packing");
	if ((w = courier_value_from_pb(g->result->result->result,
	    &cause)) == NULL)
		fuzz_fail("result: a re-encoded value does not decode: %s",
		    cause);
	if (!courier_value_equal(v, w))
		fuzz_fail("result: the value differs after a round trip");
	fuzz_value_roundtrip(v);

	courier_value_unref(w);
	courier_arena_free(&a);
	courier_buf_free(&b);
	courier_value_unref(v);
}

/* Everything the server or the client would do with frame f, and more. */
static void
frame_check(const Courier__Frame *f)
{
	size_t	 i;

	repack(f);
	switch (f->body_case) {
	case COURIER__FRAME__BODY_CALL:
		call_roundtrip(f);
		break;
	case COURIER__FRAME__BODY_RESULT:
		result_roundtrip(f);
		break;
	case COURIER__FRAME__BODY_METHODS:
		/* The client makes a list of strings of them. */
		for (i = 0; i < f->methods->n_methods; i++) {
			if (f->methods->methods[i] == NULL)
				fuzz_fail("methods: a NULL name");
		}
		break;
	default:
		break;
	}
}

/* protobuf-c's bytes for a decoded call or result frame. */
static void
pb_pack(struct courier_buf *b, const struct courier_frame *w)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__CallRequest		 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments		 pb = COURIER__CALL_ARGUMENTS__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult		 result = COURIER__CALL_RESULT__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	struct courier_arena		 a;
	char				*cause = NULL;

	courier_arena_init(&a);
	f.call_id = w->id;
	if (w->kind == COURIER_FRAME_CALL) {
		if (courier_call_args_to_pb(w->args, w->kwargs, &pb, &a,
		    &cause) != 0)
			fuzz_fail("wire: arguments do not encode: %s", cause);
		call.method = (char *)w->method;
		call.arguments = &pb;
		call.timeout_us = w->timeout_us;
		f.body_case = COURIER__FRAME__BODY_CALL;
		f.call = &call;
	} else {
		if (courier_value_to_pb(w->value, &o, &a, &cause) != 0)
			fuzz_fail("wire: a result does not encode: %s", cause);
		result.result = &o;
		resp.result = &result;
		f.body_case = COURIER__FRAME__BODY_RESULT;
		f.result = &resp;
	}
	courier_frame_pack(b, &f);
	courier_arena_free(&a);
}

/*
 * The same frame decoded again, lending: from a block of its own size,
 * with every payload of a quarter of it or more borrowing (the reader
 * lends only for payloads of 16 KiB, which inputs here never reach). The
 * values must equal w's, and outlive the reader's hold on the block; the
 * sanitizers see that the block goes with its last borrower.
 */
static void
wire_lend_check(const uint8_t *p, size_t len, const struct courier_frame *w)
{
	struct courier_lend	 lend;
	struct courier_frame	 l;
	struct courier_arena	 a;
	uint8_t			*block;

	courier_arena_init(&a);
	block = xmalloc(len != 0 ? len : 1);
	memcpy(block, p, len);
	memset(&lend, 0, sizeof lend);
	lend.base = block;
	lend.cap = len;
	lend.min = 1;
	if (!courier_wire_decode(block, len, &l, &a, &lend))
		fuzz_fail("wire: taken copying, refused lending");
	/* The reader's hold goes first, as courier_frame_take drops it. */
	if (lend.owner != NULL)
		courier_value_unref(lend.owner);
	else
		free(block);
	if (l.kind != w->kind || l.id != w->id)
		fuzz_fail("wire: lending changed the frame's kind or id");
	if (l.kind == COURIER_FRAME_CALL && (strcmp(l.method, w->method) != 0 ||
	    l.timeout_us != w->timeout_us ||
	    !courier_value_equal(l.args, w->args) ||
	    !courier_value_equal(l.kwargs, w->kwargs)))
		fuzz_fail("wire: lending changed the call");
	if (l.kind == COURIER_FRAME_RESULT &&
	    !courier_value_equal(l.value, w->value))
		fuzz_fail("wire: lending changed the result");
	courier_value_unref(l.args);
	courier_value_unref(l.kwargs);
	courier_value_unref(l.value);
	courier_arena_free(&a);
}

/*
 * The call path's decoder against protobuf-c's: a frame it takes,
 * protobuf-c takes to the same values, and its encoder writes for them
 * the bytes protobuf-c writes.
 */
static void
wire_check(const uint8_t *p, size_t len)
{
	struct courier_frame	 w;
	struct courier_buf	 b, x, y;
	struct courier_arena	 a;
	Courier__Frame		*f;
	courier_value		*v, *args, *kwargs;
	struct courier_wire_size sz;
	size_t			 need;
	char			*cause = NULL;

	courier_arena_init(&a);
	if (!courier_wire_decode(p, len, &w, &a, NULL)) {
		courier_arena_free(&a);
		return;
	}
	wire_lend_check(p, len, &w);
	memset(&b, 0, sizeof b);
	memcpy(courier_buf_reserve(&b, FRAME_HEADER + len), p - FRAME_HEADER,
	    FRAME_HEADER + len);
	b.len = FRAME_HEADER + len;
	if (courier_frame_next(&b, MAX_FRAME, &a, &f, &need, &cause) != 1)
		fuzz_fail("wire: taken by hand, refused by protobuf-c: %s",
		    cause);
	if (f->call_id != w.id)
		fuzz_fail("wire: the call ids differ");
	if (w.kind == COURIER_FRAME_RESULT) {
		if (f->body_case != COURIER__FRAME__BODY_RESULT)
			fuzz_fail("wire: a result that protobuf-c does not see");
		if (f->result->result == NULL ||
		    f->result->result->result == NULL)
			v = courier_null();
		else if ((v = courier_value_from_pb(f->result->result->result,
		    &cause)) == NULL)
			fuzz_fail("wire: a result protobuf-c refuses: %s",
			    cause);
		if (!courier_value_equal(v, w.value))
			fuzz_fail("wire: the results differ");
		courier_value_unref(v);
	} else {
		if (f->body_case != COURIER__FRAME__BODY_CALL ||
		    strcmp(f->call->method, w.method) != 0 ||
		    f->call->timeout_us != w.timeout_us)
			fuzz_fail("wire: the calls differ");
		if (courier_call_args_from_pb(f->call->arguments, &args,
		    &kwargs, &cause) != 0)
			fuzz_fail("wire: arguments protobuf-c refuses: %s",
			    cause);
		if (!courier_value_equal(args, w.args) ||
		    !courier_value_equal(kwargs, w.kwargs))
			fuzz_fail("wire: the arguments differ");
		courier_value_unref(args);
		courier_value_unref(kwargs);
	}

	memset(&x, 0, sizeof x);
	memset(&y, 0, sizeof y);
	if (w.kind == COURIER_FRAME_CALL) {
		courier_wire_call_size(w.id, w.method, w.args, w.kwargs,
		    w.timeout_us, &sz);
		courier_wire_pack_call(&x, w.id, w.method, w.args, w.kwargs,
		    w.timeout_us, &sz);
	} else {
		courier_wire_result_size(w.id, w.value, &sz);
		courier_wire_pack_result(&x, w.id, w.value, &sz);
	}
	pb_pack(&y, &w);
	if (courier_buf_used(&x) != courier_buf_used(&y) ||
	    memcmp(x.data, y.data, courier_buf_used(&x)) != 0)
		fuzz_fail("wire: %zu bytes packed by hand, %zu by protobuf-c",
		    courier_buf_used(&x), courier_buf_used(&y));
	courier_buf_free(&x);
	courier_buf_free(&y);
	courier_buf_free(&b);
	courier_value_unref(w.args);
	courier_value_unref(w.kwargs);
	courier_value_unref(w.value);
	courier_arena_free(&a);
}

/* The next whole frame in b, if any, through wire_check. */
static void
wire_peek(const struct courier_buf *b)
{
	const uint8_t	*p = b->data + b->off;
	size_t		 used = courier_buf_used(b), size;

	if (used < FRAME_HEADER)
		return;
	size = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
	if (size <= MAX_FRAME && used >= FRAME_HEADER + size)
		wire_check(p + FRAME_HEADER, size);
}

/* Feed the input in pieces and check every frame it holds. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct courier_buf	 b;
	struct courier_arena	 a;
	Courier__Frame		*f;
	size_t			 piece, off, n, need;
	char			*cause = NULL;
	int			 r = 0;

	if (size == 0)
		return (0);
	/* 0: all at once; else pieces of that many bytes. */
	piece = data[0] == 0 ? size : data[0];
	data++;
	size--;

	memset(&b, 0, sizeof b);
	courier_arena_init(&a);
	for (off = 0; off < size && r >= 0; off += n) {
		n = size - off < piece ? size - off : piece;
		memcpy(courier_buf_reserve(&b, n), data + off, n);
		b.len += n;
		for (;;) {
			wire_peek(&b);
			if ((r = courier_frame_next(&b, MAX_FRAME, &a, &f,
			    &need, &cause)) != 1)
				break;
			frame_check(f);
			courier_arena_reset(&a);
		}
		if (r == 0 && need <= courier_buf_used(&b))
			fuzz_fail("frame_next wants %zu bytes but has %zu",
			    need, courier_buf_used(&b));
		if (r == 0)
			courier_buf_compact(&b);
	}
	free(cause);
	courier_arena_free(&a);
	courier_buf_free(&b);
	return (0);
}
