/*
 * courier-wire-read.c: the call path's decoder, from a frame's bytes
 * straight into values (see courier-wire.c for why, and for what it takes
 * and what it leaves to protobuf-c). Big bytes and tensors may borrow the
 * frame's buffer instead of copying it (struct courier_lend).
 */
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"
#include "courier-wire.h"

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
 * The owner to borrow len bytes at p from, or NULL to copy them: payloads
 * under a quarter of the block are copied (courier-internal.h says why),
 * and a tensor's data must be aligned for its dtype.
 */
static courier_value *
rd_lender(struct rd *r, const uint8_t *p, size_t len, size_t align)
{
	struct courier_lend	*lend = r->lend;

	if (lend == NULL || len < lend->min || len < lend->cap / 4 ||
	    (uintptr_t)p % align != 0)
		return (NULL);
	if (lend->owner == NULL)
		lend->owner = courier_owner_new(lend->base, lend->cap,
		    lend->home);
	return (lend->owner);
}

/* A varint of two bytes or more, of at most 64 bits. */
static bool
rd_varint_long(struct rd *r, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	i;

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

/*
 * A varint. Most keys and lengths take one byte, read here inline: a call
 * reads a dozen of them (a call out of line cost ~25 instructions each).
 */
static inline __attribute__((always_inline)) bool
rd_varint(struct rd *r, uint64_t *out)
{
	if (__builtin_expect(r->p < r->end && *r->p < 0x80, 1)) {
		*out = *r->p++;
		return (true);
	}
	return (rd_varint_long(r, out));
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
	return (v);
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
			return (courier_bytes_borrow(owner, sub.p, len));
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
