/*
 * courier-wire.c: the frames of the call path, a call and its result,
 * encoded and decoded by hand, straight between values and the bytes on
 * the wire.
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

#define WT_VARINT	0
#define WT_I64		1
#define WT_LEN		2

/* Field numbers, as proto/courier.proto has them. */
#define F_FRAME_ID		1
#define F_FRAME_CALL		3
#define F_FRAME_RESULT		4
#define F_CALL_METHOD		1
#define F_CALL_ARGUMENTS	2
#define F_CALL_TIMEOUT		3
#define F_ARGS_ARG		1
#define F_ARGS_KWARG		2
#define F_ENTRY_KEY		1
#define F_ENTRY_VALUE		2
#define F_RESPONSE_RESULT	2
#define F_RESULT_VALUE		1
#define F_OBJ_INT		1
#define F_OBJ_DOUBLE		2
#define F_OBJ_BOOL		3
#define F_OBJ_BYTES		4
#define F_OBJ_LIST		5
#define F_OBJ_DICT		6
#define F_OBJ_NONE		8
#define F_OBJ_TENSOR		9
#define F_OBJ_STRING		13
#define F_OBJ_JAX_TENSOR	15
#define F_OBJ_NUMPY_META	16
#define F_LIST_ITEM		1
#define F_LIST_IS_TUPLE		2
#define F_DICT_KEY		1
#define F_DICT_VALUE		2
#define F_TENSOR_DTYPE		1
#define F_TENSOR_SHAPE		2
#define F_TENSOR_VERSION	3
#define F_TENSOR_CONTENT	4
#define F_SHAPE_DIM		2
#define F_SHAPE_UNKNOWN_RANK	3
#define F_DIM_SIZE		1
#define F_DIM_NAME		2

#define NUMPY_OBJECT_TENSOR	2
#define DT_STRING		7

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

/*
 * Decoding. Every reader returns false for "not for this path", leaving
 * nothing allocated; the caller then hands the frame to protobuf-c.
 */

struct rd {
	const uint8_t		*p;
	const uint8_t		*end;
	struct courier_lend	*lend;	/* or NULL: copy every payload */
};

/*
 * The owner to borrow len bytes at p from, or NULL to copy them: small
 * payloads are copied, and a tensor's data must be aligned for its dtype.
 */
static courier_value *
rd_lender(struct rd *r, const uint8_t *p, size_t len, size_t align)
{
	struct courier_lend	*lend = r->lend;

	if (lend == NULL || len < COURIER_BORROW_MIN ||
	    (uintptr_t)p % align != 0)
		return (NULL);
	if (lend->owner == NULL)
		lend->owner = courier_owner_new(lend->base);
	return (lend->owner);
}

/* List v (NULL: none was made), which borrows len bytes. */
static courier_value *
rd_borrowed(struct rd *r, courier_value *v, size_t len)
{
	struct courier_lend	*lend = r->lend;

	if (v == NULL)
		return (NULL);
	if ((lend->nborrowers & (lend->nborrowers - 1)) == 0)
		lend->borrowers = xreallocarray(lend->borrowers,
		    lend->nborrowers == 0 ? 1 : 2 * lend->nborrowers,
		    sizeof *lend->borrowers);
	lend->borrowers[lend->nborrowers++] = v;
	lend->bytes += len;
	return (v);
}

/* A varint of at most 64 bits. */
static bool
rd_varint(struct rd *r, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	i;

	if (r->p < r->end && *r->p < 0x80) {	/* most keys and lengths */
		*out = *r->p++;
		return (true);
	}
	for (i = 0; i < 10 && r->p + i < r->end; i++) {
		if (i == 9 && r->p[i] > 1)
			return (false);		/* past 64 bits */
		v |= (uint64_t)(r->p[i] & 0x7f) << (7 * i);
		if ((r->p[i] & 0x80) == 0) {
			r->p += i + 1;
			*out = v;
			return (true);
		}
	}
	return (false);
}

/* The next field's number and wire type; false at the end or if bad. */
static bool
rd_key(struct rd *r, unsigned *field, unsigned *wt)
{
	uint64_t	key;

	if (r->p == r->end || !rd_varint(r, &key))
		return (false);
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return (false);
	*field = (unsigned)(key >> 3);
	*wt = (unsigned)(key & 7);
	return (true);
}

/* A LEN field's bytes, as a reader of their own. */
static bool
rd_sub(struct rd *r, struct rd *sub)
{
	uint64_t	len;

	if (!rd_varint(r, &len) || len > (uint64_t)(r->end - r->p))
		return (false);
	sub->p = r->p;
	sub->end = r->p + len;
	sub->lend = r->lend;
	r->p += len;
	return (true);
}

static courier_value	*get_object(struct rd *, unsigned);

static courier_value *
get_list(struct rd *r, unsigned depth)
{
	courier_value	*v, *item;
	struct rd	 sub;
	uint64_t	 x;
	unsigned	 field, wt;

	v = courier_list_new();
	while (r->p < r->end) {
		if (!rd_key(r, &field, &wt))
			goto fail;
		if (field == F_LIST_ITEM && wt == WT_LEN) {
			if (!rd_sub(r, &sub) ||
			    (item = get_object(&sub, depth + 1)) == NULL)
				goto fail;
			if (courier_list_append(v, item) != 0)
				goto fail;
		} else if (field == F_LIST_IS_TUPLE && wt == WT_VARINT) {
			if (!rd_varint(r, &x))
				goto fail;
		} else
			goto fail;
	}
	return (v);

fail:
	courier_value_unref(v);
	return (NULL);
}

/* The next field number field of r, which must be a LEN; skip others. */
static bool
rd_next_len(struct rd *r, unsigned want, struct rd *sub)
{
	unsigned	field, wt;

	while (rd_key(r, &field, &wt)) {
		if (wt != WT_LEN || !rd_sub(r, sub))
			return (false);
		if (field == want)
			return (true);
	}
	return (false);
}

/*
 * A dict key: a SerializedObject of one unicode (or bytes) field, UTF-8
 * without NUL, into buf (size bytes) or a new string (*heap).
 */
static const char *
get_key(struct rd *r, char *buf, size_t size, char **heap)
{
	struct rd	 s;
	unsigned	 field, wt;
	char		*key;

	if (!rd_key(r, &field, &wt) || wt != WT_LEN ||
	    (field != F_OBJ_STRING && field != F_OBJ_BYTES) ||
	    !rd_sub(r, &s) || r->p != r->end)
		return (NULL);
	if ((s.end != s.p && memchr(s.p, '\0', (size_t)(s.end - s.p)) !=
	    NULL) || !courier_utf8_valid((const char *)s.p,
	    (size_t)(s.end - s.p)))
		return (NULL);
	if ((size_t)(s.end - s.p) < size)
		key = buf;
	else
		key = *heap = xmalloc((size_t)(s.end - s.p) + 1);
	memcpy(key, s.p, (size_t)(s.end - s.p));
	key[s.end - s.p] = '\0';
	return (key);
}

static courier_value *
get_dict(struct rd *r, unsigned depth)
{
	courier_value	*v, *item;
	struct rd	 keys = *r, values = *r, k, s;
	const char	*key;
	char		 buf[128], *heap;
	size_t		 nkeys = 0, nvalues = 0;
	unsigned	 field, wt;
	int		 rc;

	/* Count: only keys and values, as many of each. */
	while (r->p < r->end) {
		if (!rd_key(r, &field, &wt) || wt != WT_LEN ||
		    !rd_sub(r, &s))
			return (NULL);
		if (field == F_DICT_KEY)
			nkeys++;
		else if (field == F_DICT_VALUE)
			nvalues++;
		else
			return (NULL);
	}
	if (nkeys != nvalues)
		return (NULL);
	/* The i-th key goes with the i-th value, wherever each is. */
	v = courier_dict_new();
	while (nkeys-- > 0) {
		if (!rd_next_len(&keys, F_DICT_KEY, &k) ||
		    !rd_next_len(&values, F_DICT_VALUE, &s))
			goto fail;
		heap = NULL;
		if ((key = get_key(&k, buf, sizeof buf, &heap)) == NULL)
			goto fail;
		if ((item = get_object(&s, depth + 1)) == NULL) {
			free(heap);
			goto fail;
		}
		rc = courier_dict_set(v, key, item);
		free(heap);
		if (rc != 0)
			goto fail;
	}
	return (v);

fail:
	courier_value_unref(v);
	return (NULL);
}

static courier_value *
get_tensor(struct rd *r)
{
	int64_t		 dims[COURIER_TENSOR_MAX_DIMS];
	struct rd	 shape = { NULL, NULL, NULL };
	struct rd	 content = { NULL, NULL, NULL };
	struct rd	 dim, name;
	courier_value	*v, *owner;
	uint64_t	 dtype = 0, x;
	size_t		 ndim = 0, len, esize;
	unsigned	 field, wt, seen = 0;
	char		*cause = NULL;

	while (r->p < r->end) {
		if (!rd_key(r, &field, &wt) || field > F_TENSOR_CONTENT ||
		    (seen & 1u << field))
			return (NULL);
		seen |= 1u << field;
		if (field == F_TENSOR_DTYPE && wt == WT_VARINT) {
			if (!rd_varint(r, &dtype) || dtype > INT32_MAX)
				return (NULL);
		} else if (field == F_TENSOR_SHAPE && wt == WT_LEN) {
			if (!rd_sub(r, &shape))
				return (NULL);
		} else if (field == F_TENSOR_VERSION && wt == WT_VARINT) {
			if (!rd_varint(r, &x))
				return (NULL);
		} else if (field == F_TENSOR_CONTENT && wt == WT_LEN) {
			if (!rd_sub(r, &content))
				return (NULL);
		} else
			return (NULL);
	}
	if (dtype == DT_STRING)
		return (NULL);
	while (shape.p < shape.end) {
		if (!rd_key(&shape, &field, &wt))
			return (NULL);
		if (field == F_SHAPE_DIM && wt == WT_LEN) {
			if (ndim == COURIER_TENSOR_MAX_DIMS ||
			    !rd_sub(&shape, &dim))
				return (NULL);
			dims[ndim] = 0;
			seen = 0;
			while (dim.p < dim.end) {
				if (!rd_key(&dim, &field, &wt) ||
				    field > F_DIM_NAME || (seen & 1u << field))
					return (NULL);
				seen |= 1u << field;
				if (field == F_DIM_SIZE && wt == WT_VARINT) {
					if (!rd_varint(&dim, &x))
						return (NULL);
					dims[ndim] = (int64_t)x;
				} else if (field == F_DIM_NAME && wt == WT_LEN) {
					if (!rd_sub(&dim, &name))
						return (NULL);
				} else
					return (NULL);
			}
			ndim++;
		} else if (field == F_SHAPE_UNKNOWN_RANK && wt == WT_VARINT) {
			if (!rd_varint(&shape, &x) || x != 0)
				return (NULL);
		} else
			return (NULL);
	}
	len = (size_t)(content.end - content.p);
	esize = courier_dtype_size((enum courier_dtype)dtype);
	owner = rd_lender(r, content.p, len, esize == 0 ? 1 :
	    esize > 8 ? 8 : esize);
	v = courier_tensor_make((enum courier_dtype)dtype, ndim, dims,
	    content.p, len, owner, &cause);
	free(cause);
	return (owner != NULL ? rd_borrowed(r, v, len) : v);
}

/* A SerializedObject's value, at most depth levels down. */
static courier_value *
get_object(struct rd *r, unsigned depth)
{
	struct rd	 sub = { NULL, NULL, NULL };
	courier_value	*owner;
	uint64_t	 x = 0;
	double		 d;
	unsigned	 field, wt, payload = 0, i;
	const uint8_t	*fixed = NULL;
	size_t		 len;

	if (depth > COURIER_MAX_DEPTH)
		return (NULL);
	/* One payload field, and a numpy note that is not an object array. */
	while (r->p < r->end) {
		if (!rd_key(r, &field, &wt))
			return (NULL);
		if (field == F_OBJ_NUMPY_META) {
			if (wt != WT_VARINT || !rd_varint(r, &x) ||
			    x == NUMPY_OBJECT_TENSOR)
				return (NULL);
			continue;
		}
		if (payload != 0)
			return (NULL);
		payload = field;
		switch (field) {
		case F_OBJ_INT:
		case F_OBJ_BOOL:
		case F_OBJ_NONE:
			if (wt != WT_VARINT || !rd_varint(r, &x))
				return (NULL);
			break;
		case F_OBJ_DOUBLE:
			if (wt != WT_I64 || r->end - r->p < 8)
				return (NULL);
			fixed = r->p;
			r->p += 8;
			break;
		case F_OBJ_BYTES:
		case F_OBJ_STRING:
		case F_OBJ_LIST:
		case F_OBJ_DICT:
		case F_OBJ_TENSOR:
		case F_OBJ_JAX_TENSOR:
			if (wt != WT_LEN || !rd_sub(r, &sub))
				return (NULL);
			break;
		default:
			return (NULL);
		}
	}
	switch (payload) {
	case F_OBJ_INT:
		return (courier_int((int64_t)x));
	case F_OBJ_BOOL:
		return (courier_bool(x != 0));
	case F_OBJ_NONE:
		return (courier_null());
	case F_OBJ_DOUBLE:
		x = 0;
		for (i = 0; i < 8; i++)
			x |= (uint64_t)fixed[i] << (8 * i);
		memcpy(&d, &x, sizeof d);
		return (courier_double(d));
	case F_OBJ_BYTES:
		len = (size_t)(sub.end - sub.p);
		if ((owner = rd_lender(&sub, sub.p, len, 1)) != NULL)
			return (rd_borrowed(&sub, courier_bytes_borrow(owner,
			    sub.p, len), len));
		return (courier_bytes(sub.p, len));
	case F_OBJ_STRING:
		return (courier_string_len((const char *)sub.p,
		    (size_t)(sub.end - sub.p)));
	case F_OBJ_LIST:
		return (get_list(&sub, depth));
	case F_OBJ_DICT:
		return (get_dict(&sub, depth));
	case F_OBJ_TENSOR:
	case F_OBJ_JAX_TENSOR:
		return (get_tensor(&sub));
	}
	return (NULL);		/* no payload: protobuf-c's path says so */
}

/* A call's arguments: a list and a dict. */
static bool
get_call_args(struct rd *r, courier_value *args, courier_value *kwargs)
{
	courier_value	*v;
	struct rd	 sub, key, value;
	char		 buf[128], *name;
	unsigned	 field, wt, seen;
	int		 rc;

	while (r->p < r->end) {
		if (!rd_key(r, &field, &wt) || wt != WT_LEN ||
		    !rd_sub(r, &sub))
			return (false);
		if (field == F_ARGS_ARG) {
			if ((v = get_object(&sub, 1)) == NULL)
				return (false);
			if (courier_list_append(args, v) != 0)
				return (false);
			continue;
		}
		if (field != F_ARGS_KWARG)
			return (false);
		key.p = key.end = sub.p;	/* a missing key is "" */
		seen = 0;
		while (sub.p < sub.end) {
			if (!rd_key(&sub, &field, &wt) || wt != WT_LEN ||
			    (field != F_ENTRY_KEY && field != F_ENTRY_VALUE) ||
			    (seen & 1u << field))
				return (false);
			seen |= 1u << field;
			if (!rd_sub(&sub, field == F_ENTRY_KEY ? &key : &value))
				return (false);
		}
		if (!(seen & 1u << F_ENTRY_VALUE) || (key.end != key.p &&
		    memchr(key.p, '\0', (size_t)(key.end - key.p)) != NULL))
			return (false);
		if ((v = get_object(&value, 1)) == NULL)
			return (false);
		name = (size_t)(key.end - key.p) < sizeof buf ? buf :
		    xmalloc((size_t)(key.end - key.p) + 1);
		memcpy(name, key.p, (size_t)(key.end - key.p));
		name[key.end - key.p] = '\0';
		rc = courier_dict_set(kwargs, name, v);
		if (name != buf)
			free(name);
		if (rc != 0)
			return (false);
	}
	return (true);
}

static bool
get_call(struct rd *r, struct courier_frame *out, struct courier_arena *a)
{
	struct rd	 method = { r->p, r->p, NULL };
	struct rd	 args = { NULL, NULL, NULL };
	uint64_t	 timeout = 0;
	unsigned	 field, wt, seen = 0;
	size_t		 len;
	char		*name;

	while (r->p < r->end) {
		if (!rd_key(r, &field, &wt) || field > F_CALL_TIMEOUT ||
		    (seen & 1u << field))
			return (false);
		seen |= 1u << field;
		if (field == F_CALL_METHOD && wt == WT_LEN) {
			if (!rd_sub(r, &method))
				return (false);
		} else if (field == F_CALL_ARGUMENTS && wt == WT_LEN) {
			if (!rd_sub(r, &args))
				return (false);
		} else if (field == F_CALL_TIMEOUT && wt == WT_VARINT) {
			if (!rd_varint(r, &timeout))
				return (false);
		} else
			return (false);
	}
	len = (size_t)(method.end - method.p);
	if ((len != 0 && memchr(method.p, '\0', len) != NULL) ||
	    !courier_utf8_valid((const char *)method.p, len))
		return (false);
	out->args = courier_list_new();
	out->kwargs = courier_dict_new();
	if (args.p != NULL && !get_call_args(&args, out->args, out->kwargs)) {
		courier_value_unref(out->args);
		courier_value_unref(out->kwargs);
		return (false);
	}
	name = courier_arena_alloc(a, len + 1);
	memcpy(name, method.p, len);
	name[len] = '\0';
	out->method = name;
	out->timeout_us = (int64_t)timeout;
	out->kind = COURIER_FRAME_CALL;
	return (true);
}

static bool
get_result(struct rd *r, struct courier_frame *out)
{
	struct rd	 result, value;
	unsigned	 field, wt;
	bool		 have = false;

	/* CallResponse { CallResult result = 2 }, CallResult { value = 1 }. */
	if (r->p < r->end) {
		if (!rd_key(r, &field, &wt) || field != F_RESPONSE_RESULT ||
		    wt != WT_LEN || !rd_sub(r, &result) || r->p != r->end)
			return (false);
		if (result.p < result.end) {
			if (!rd_key(&result, &field, &wt) ||
			    field != F_RESULT_VALUE || wt != WT_LEN ||
			    !rd_sub(&result, &value) || result.p != result.end)
				return (false);
			have = true;
		}
	}
	if (!have)
		out->value = courier_null();
	else if ((out->value = get_object(&value, 0)) == NULL)
		return (false);
	out->kind = COURIER_FRAME_RESULT;
	return (true);
}

/* See courier-internal.h. */
bool
courier_wire_decode(const uint8_t *p, size_t len, struct courier_frame *out,
    struct courier_arena *a, struct courier_lend *lend)
{
	struct rd	 r = { p, p + len, lend }, body = { NULL, NULL, NULL };
	uint64_t	 id = 0;
	unsigned	 field, wt, kind = 0;

	while (r.p < r.end) {
		if (!rd_key(&r, &field, &wt))
			return (false);
		if (field == F_FRAME_ID && wt == WT_VARINT) {
			if (id != 0 || !rd_varint(&r, &id) || id == 0)
				return (false);
		} else if ((field == F_FRAME_CALL || field == F_FRAME_RESULT) &&
		    wt == WT_LEN && kind == 0) {
			kind = field;
			if (!rd_sub(&r, &body))
				return (false);
		} else
			return (false);
	}
	memset(out, 0, sizeof *out);
	out->id = id;
	if (kind == F_FRAME_CALL)
		return (get_call(&body, out, a));
	if (kind == F_FRAME_RESULT)
		return (get_result(&body, out));
	return (false);
}
