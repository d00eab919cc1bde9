/*
 * courier-wire.c: the frames of the call path, a call and its result,
 * encoded and decoded by hand, straight between values and the bytes on
 * the wire: this file encodes, courier-wire-read.c decodes, and
 * courier-wire.h holds the field numbers both use.
 *
 * protobuf-c goes through a message struct on both sides: to send, a
 * value tree becomes a tree of messages, protobuf-c measures it (one walk
 * driven by descriptors) and packs it (another); to receive, the guard
 * walks the bytes, protobuf-c unpacks them into messages (copying every
 * string and bytes field) and those become values (copying them again).
 * That was about half of a small call's instructions and four copies of a
 * large argument. Here a value is measured and written in one pass each,
 * into the frame's own buffer, and read from the frame into values with one
 * copy of its payload; a big payload (COURIER_BORROW_MIN) is not copied at
 * all: it is a segment of the output buffer, sent from its value, and
 * arrives borrowing the frame's buffer where the frame may lend it.
 *
 * The bytes are those protobuf-c writes for the same frame (the tests
 * compare them), so either side may be the other. Decoding is strict and
 * partial on purpose: a frame of another kind (a hello, an error, the
 * method list), one with a field this code does not expect or sees twice,
 * or one it would refuse for any reason (malformed, a value Python alone
 * can read, too deep) is left to the protobuf-c path, which then answers
 * exactly as it always has. So this path only ever takes frames that the
 * other would take to the same values, and every error keeps its one
 * wording.
 */
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"
#include "courier-wire.h"

/* Encoding. */

static size_t
varint_size(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return (n);
}

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return (p);
}

static uint8_t *
put_key(uint8_t *p, unsigned field, unsigned wt)
{
	return (put_varint(p, (uint64_t)field << 3 | wt));
}

/* The size of a field of wire type LEN holding len bytes. */
static size_t
len_field_size(unsigned field, size_t len)
{
	return (varint_size((uint64_t)field << 3) + varint_size(len) + len);
}

static uint8_t *
put_len(uint8_t *p, unsigned field, size_t len)
{
	return (put_varint(put_key(p, field, WT_LEN), len));
}

static uint8_t *
put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
	p = put_len(p, field, len);
	if (len != 0)
		memcpy(p, data, len);
	return (p + len);
}

static size_t	object_size(const courier_value *, size_t *);
static uint8_t	*put_object(uint8_t *, const courier_value *,
		    struct courier_buf *);

/*
 * A payload of len bytes at data, of value v: written into the frame, or
 * for a big one, sent from where it lives (a segment of b at p).
 */
static uint8_t *
put_payload(uint8_t *p, unsigned field, const void *data, size_t len,
    const courier_value *v, struct courier_buf *b)
{
	if (len < COURIER_BORROW_MIN)
		return (put_bytes(p, field, data, len));
	p = put_len(p, field, len);
	courier_buf_splice(b, (size_t)(p - b->data), data, len, v);
	return (p);
}

/* The size of such a field, counting a big payload in *spl. */
static size_t
payload_size(unsigned field, size_t len, size_t *spl)
{
	if (len >= COURIER_BORROW_MIN)
		*spl += len;
	return (len_field_size(field, len));
}

/* A dict's key, a SerializedObject holding a unicode string. */
static size_t
key_object_size(const char *key)
{
	return (len_field_size(F_OBJ_STRING, strlen(key)));
}

static size_t
list_size(const courier_value *v, size_t *spl)
{
	size_t	i, n = courier_list_len(v), size = 0;

	for (i = 0; i < n; i++)
		size += len_field_size(F_LIST_ITEM,
		    object_size(courier_list_get(v, i), spl));
	return (size);
}

static size_t
dict_size(const courier_value *v, size_t *spl)
{
	size_t	i, n = courier_dict_len(v), size = 0;

	for (i = 0; i < n; i++) {
		size += len_field_size(F_DICT_KEY,
		    key_object_size(courier_dict_key(v, i)));
		size += len_field_size(F_DICT_VALUE,
		    object_size(courier_dict_value(v, i), spl));
	}
	return (size);
}

/* A dimension's size; proto3 leaves out a 0. */
static size_t
dim_size(int64_t size)
{
	return (size != 0 ? 1 + varint_size((uint64_t)size) : 0);
}

static size_t
shape_size(const courier_value *v)
{
	const int64_t	*dims;
	size_t		 i, n, size = 0;

	n = courier_tensor_shape(v, &dims);
	for (i = 0; i < n; i++)
		size += len_field_size(F_SHAPE_DIM, dim_size(dims[i]));
	return (size);
}

static size_t
tensor_size(const courier_value *v, size_t *spl)
{
	size_t	len, size = 0;
	int	dtype = (int)courier_tensor_dtype(v);

	if (dtype != 0)
		size += 1 + varint_size((uint64_t)(int64_t)dtype);
	size += len_field_size(F_TENSOR_SHAPE, shape_size(v));
	(void)courier_tensor_data(v, &len);
	if (len != 0)
		size += payload_size(F_TENSOR_CONTENT, len, spl);
	return (size);
}

/*
 * The size of v as a SerializedObject (what its field holds); *spl grows
 * by the bytes of it that go as segments.
 */
static size_t
object_size(const courier_value *v, size_t *spl)
{
	size_t	len;

	switch (courier_value_type(v)) {
	case COURIER_NULL:
	case COURIER_BOOL:
		return (2);
	case COURIER_INT:
		return (1 + varint_size((uint64_t)courier_value_int(v)));
	case COURIER_DOUBLE:
		return (1 + 8);
	case COURIER_STRING:
		(void)courier_value_string(v, &len);
		return (len_field_size(F_OBJ_STRING, len));
	case COURIER_BYTES:
		(void)courier_value_bytes(v, &len);
		return (payload_size(F_OBJ_BYTES, len, spl));
	case COURIER_LIST:
		return (len_field_size(F_OBJ_LIST, list_size(v, spl)));
	case COURIER_DICT:
		return (len_field_size(F_OBJ_DICT, dict_size(v, spl)));
	case COURIER_TENSOR:
		return (len_field_size(F_OBJ_TENSOR, tensor_size(v, spl)));
	}
	fatalx("%s: value of unknown type %d", __func__,
	    (int)courier_value_type(v));
}

static uint8_t *
put_tensor(uint8_t *p, const courier_value *v, struct courier_buf *b)
{
	const int64_t	*dims;
	const void	*data;
	size_t		 i, n, len, spl = 0;
	int		 dtype = (int)courier_tensor_dtype(v);

	p = put_len(p, F_OBJ_TENSOR, tensor_size(v, &spl));
	if (dtype != 0)
		p = put_varint(put_key(p, F_TENSOR_DTYPE, WT_VARINT),
		    (uint64_t)(int64_t)dtype);
	p = put_len(p, F_TENSOR_SHAPE, shape_size(v));
	n = courier_tensor_shape(v, &dims);
	for (i = 0; i < n; i++) {
		p = put_len(p, F_SHAPE_DIM, dim_size(dims[i]));
		if (dims[i] != 0)
			p = put_varint(put_key(p, F_DIM_SIZE, WT_VARINT),
			    (uint64_t)dims[i]);
	}
	data = courier_tensor_data(v, &len);
	if (len != 0)
		p = put_payload(p, F_TENSOR_CONTENT, data, len, v, b);
	return (p);
}

/* Write v as a SerializedObject's fields; b is the frame's buffer. */
static uint8_t *
put_object(uint8_t *p, const courier_value *v, struct courier_buf *b)
{
	const void	*data;
	const char	*key;
	double		 d;
	uint64_t	 bits;
	size_t		 i, n, len, spl = 0;

	switch (courier_value_type(v)) {
	case COURIER_NULL:
		return (put_varint(put_key(p, F_OBJ_NONE, WT_VARINT), 1));
	case COURIER_BOOL:
		return (put_varint(put_key(p, F_OBJ_BOOL, WT_VARINT),
		    courier_value_bool(v)));
	case COURIER_INT:
		return (put_varint(put_key(p, F_OBJ_INT, WT_VARINT),
		    (uint64_t)courier_value_int(v)));
	case COURIER_DOUBLE:
		p = put_key(p, F_OBJ_DOUBLE, WT_I64);
		d = courier_value_double(v);
		memcpy(&bits, &d, sizeof bits);
		for (i = 0; i < 8; i++)
			*p++ = (uint8_t)(bits >> (8 * i));
		return (p);
	case COURIER_STRING:
		data = courier_value_string(v, &len);
		return (put_bytes(p, F_OBJ_STRING, data, len));
	case COURIER_BYTES:
		data = courier_value_bytes(v, &len);
		return (put_payload(p, F_OBJ_BYTES, data, len, v, b));
	case COURIER_LIST:
		p = put_len(p, F_OBJ_LIST, list_size(v, &spl));
		n = courier_list_len(v);
		for (i = 0; i < n; i++) {
			p = put_len(p, F_LIST_ITEM,
			    object_size(courier_list_get(v, i), &spl));
			p = put_object(p, courier_list_get(v, i), b);
		}
		return (p);
	case COURIER_DICT:
		p = put_len(p, F_OBJ_DICT, dict_size(v, &spl));
		n = courier_dict_len(v);
		for (i = 0; i < n; i++) {	/* every key, then every value */
			key = courier_dict_key(v, i);
			p = put_len(p, F_DICT_KEY, key_object_size(key));
			p = put_bytes(p, F_OBJ_STRING, key, strlen(key));
		}
		for (i = 0; i < n; i++) {
			p = put_len(p, F_DICT_VALUE,
			    object_size(courier_dict_value(v, i), &spl));
			p = put_object(p, courier_dict_value(v, i), b);
		}
		return (p);
	case COURIER_TENSOR:
		return (put_tensor(p, v, b));
	}
	fatalx("%s: value of unknown type %d", __func__,
	    (int)courier_value_type(v));
}

/*
 * Reserve a frame of sz->frame bytes in b, less those sent as segments, and
 * write its header.
 */
static uint8_t *
frame_start(struct courier_buf *b, const struct courier_wire_size *sz)
{
	uint8_t	*p;
	size_t	 size = sz->frame;

	if (size > UINT32_MAX)
		fatalx("%s: frame of %zu bytes", __func__, size);
	p = courier_buf_reserve(b, FRAME_HEADER + size - sz->spliced);
	p[0] = (uint8_t)(size >> 24);
	p[1] = (uint8_t)(size >> 16);
	p[2] = (uint8_t)(size >> 8);
	p[3] = (uint8_t)size;
	return (p + FRAME_HEADER);
}

/* The end of a frame that frame_start began: check, and count it in. */
static void
frame_end(struct courier_buf *b, const uint8_t *p,
    const struct courier_wire_size *sz)
{
	size_t	size = FRAME_HEADER + sz->frame - sz->spliced;

	if (p != b->data + b->len + size)
		fatalx("courier-wire: a frame's size was miscounted");
	b->len += size;
}

static size_t
call_args_size(const courier_value *args, const courier_value *kwargs,
    size_t *spl)
{
	const char	*key;
	size_t		 i, n, size = 0, entry;

	n = courier_list_len(args);
	for (i = 0; i < n; i++)
		size += len_field_size(F_ARGS_ARG,
		    object_size(courier_list_get(args, i), spl));
	n = courier_dict_len(kwargs);
	for (i = 0; i < n; i++) {
		key = courier_dict_key(kwargs, i);
		entry = len_field_size(F_ENTRY_VALUE,
		    object_size(courier_dict_value(kwargs, i), spl));
		if (*key != '\0')
			entry += len_field_size(F_ENTRY_KEY, strlen(key));
		size += len_field_size(F_ARGS_KWARG, entry);
	}
	return (size);
}

/* See courier-internal.h. */
void
courier_wire_call_size(uint64_t id, const char *method,
    const courier_value *args, const courier_value *kwargs,
    int64_t timeout_us, struct courier_wire_size *sz)
{
	sz->spliced = 0;
	sz->args = call_args_size(args, kwargs, &sz->spliced);
	sz->body = len_field_size(F_CALL_ARGUMENTS, sz->args);
	if (*method != '\0')
		sz->body += len_field_size(F_CALL_METHOD, strlen(method));
	if (timeout_us != 0)
		sz->body += 1 + varint_size((uint64_t)timeout_us);
	sz->frame = (id != 0 ? 1 + varint_size(id) : 0) +
	    len_field_size(F_FRAME_CALL, sz->body);
}

/* See courier-internal.h. */
void
courier_wire_pack_call(struct courier_buf *b, uint64_t id, const char *method,
    const courier_value *args, const courier_value *kwargs,
    int64_t timeout_us, const struct courier_wire_size *sz)
{
	const courier_value	*v;
	const char		*key;
	uint8_t			*p;
	size_t			 i, n, entry, spl = 0;

	p = frame_start(b, sz);
	if (id != 0)
		p = put_varint(put_key(p, F_FRAME_ID, WT_VARINT), id);
	p = put_len(p, F_FRAME_CALL, sz->body);
	if (*method != '\0')
		p = put_bytes(p, F_CALL_METHOD, method, strlen(method));
	p = put_len(p, F_CALL_ARGUMENTS, sz->args);
	n = courier_list_len(args);
	for (i = 0; i < n; i++) {
		v = courier_list_get(args, i);
		p = put_object(put_len(p, F_ARGS_ARG, object_size(v, &spl)), v,
		    b);
	}
	n = courier_dict_len(kwargs);
	for (i = 0; i < n; i++) {
		key = courier_dict_key(kwargs, i);
		v = courier_dict_value(kwargs, i);
		entry = len_field_size(F_ENTRY_VALUE, object_size(v, &spl));
		if (*key != '\0')
			entry += len_field_size(F_ENTRY_KEY, strlen(key));
		p = put_len(p, F_ARGS_KWARG, entry);
		if (*key != '\0')
			p = put_bytes(p, F_ENTRY_KEY, key, strlen(key));
		p = put_object(put_len(p, F_ENTRY_VALUE, object_size(v, &spl)),
		    v, b);
	}
	if (timeout_us != 0)
		p = put_varint(put_key(p, F_CALL_TIMEOUT, WT_VARINT),
		    (uint64_t)timeout_us);
	frame_end(b, p, sz);
}

/* See courier-internal.h. */
void
courier_wire_result_size(uint64_t id, const courier_value *v,
    struct courier_wire_size *sz)
{
	sz->spliced = 0;
	sz->args = object_size(v, &sz->spliced);
	sz->body = len_field_size(F_RESULT_VALUE, sz->args);
	sz->frame = (id != 0 ? 1 + varint_size(id) : 0) +
	    len_field_size(F_FRAME_RESULT,
	    len_field_size(F_RESPONSE_RESULT, sz->body));
}

/* See courier-internal.h. */
void
courier_wire_pack_result(struct courier_buf *b, uint64_t id,
    const courier_value *v, const struct courier_wire_size *sz)
{
	uint8_t	*p;

	p = frame_start(b, sz);
	if (id != 0)
		p = put_varint(put_key(p, F_FRAME_ID, WT_VARINT), id);
	p = put_len(p, F_FRAME_RESULT, len_field_size(F_RESPONSE_RESULT,
	    sz->body));
	p = put_len(p, F_RESPONSE_RESULT, sz->body);
	p = put_object(put_len(p, F_RESULT_VALUE, sz->args), v, b);
	frame_end(b, p, sz);
}
