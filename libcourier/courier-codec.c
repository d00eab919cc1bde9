/*
 * courier-codec.c: values to and from courier.SerializedObject, the form in
 * which Launchpad's Courier encodes them, and the guard that runs before
 * protobuf-c sees untrusted bytes.
 *
 * protobuf-c's unpack recurses once per nested message with no limit, so a
 * frame of a few megabytes of nested empty lists would overflow the stack.
 * courier_pb_check() walks the wire format first, driven by the same
 * descriptors, and refuses a message that is malformed or nests too deeply;
 * it allocates nothing. Lengths are always checked against the bytes that
 * are there, so no claimed length makes anything allocate more.
 */
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"

/* Read a varint; 0 if it is truncated or longer than 10 bytes. */
static size_t
get_varint(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < len && i < 10; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*out = v;
			return (i + 1);
		}
	}
	return (0);
}

/* Walk one message of wire format; see courier_pb_check(). */
static int
pb_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
    unsigned depth, unsigned max_depth, char **cause)
{
	const ProtobufCFieldDescriptor	*f;
	uint64_t			 key, n;
	size_t				 used;
	uint32_t			 tag;

	if (depth > max_depth) {
		set_cause(cause, "messages nest deeper than %u levels",
		    max_depth);
		return (-1);
	}
	while (len > 0) {
		if ((used = get_varint(p, len, &key)) == 0) {
			set_cause(cause, "%s: truncated field key",
			    desc->name);
			return (-1);
		}
		p += used;
		len -= used;
		if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
			set_cause(cause, "%s: bad field number", desc->name);
			return (-1);
		}
		tag = (uint32_t)(key >> 3);
		switch (key & 7) {
		case 0:		/* varint */
			if ((used = get_varint(p, len, &n)) == 0) {
				set_cause(cause, "%s: field %u: truncated "
				    "varint", desc->name, tag);
				return (-1);
			}
			break;
		case 1:		/* 64-bit */
			used = 8;
			break;
		case 5:		/* 32-bit */
			used = 4;
			break;
		case 2:		/* length-delimited */
			if ((used = get_varint(p, len, &n)) == 0) {
				set_cause(cause, "%s: field %u: truncated "
				    "length", desc->name, tag);
				return (-1);
			}
			p += used;
			len -= used;
			if (n > len) {
				set_cause(cause, "%s: field %u claims %llu "
				    "bytes but only %zu remain", desc->name,
				    tag, (unsigned long long)n, len);
				return (-1);
			}
			f = protobuf_c_message_descriptor_get_field(desc, tag);
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    pb_walk(f->descriptor, p, n, depth + 1, max_depth,
			    cause) != 0)
				return (-1);
			used = n;
			break;
		default:
			set_cause(cause, "%s: field %u: unsupported wire type "
			    "%u", desc->name, tag, (unsigned)(key & 7));
			return (-1);
		}
		if (used > len) {
			set_cause(cause, "%s: field %u is truncated",
			    desc->name, tag);
			return (-1);
		}
		p += used;
		len -= used;
	}
	return (0);
}

/* Check wire bytes as desc before unpacking them. */
int
courier_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
    size_t len, unsigned max_depth, char **cause)
{
	return (pb_walk(desc, p, len, 0, max_depth, cause));
}

/* A SerializedObject from the arena, initialised. */
static Courier__SerializedObject *
new_object(struct courier_arena *a)
{
	Courier__SerializedObject	*o;

	o = courier_arena_alloc(a, sizeof *o);
	courier__serialized_object__init(o);
	return (o);
}

/* Fill o from v; see courier_value_to_pb(). */
static int
to_pb(const courier_value *v, Courier__SerializedObject *o,
    struct courier_arena *a, char **cause)
{
	Courier__SerializedList		*l;
	Courier__SerializedDict		*d;
	Courier__TensorProto		*t;
	Courier__TensorShapeProto	*shape;
	const int64_t			*dims;
	const char			*key;
	size_t				 i, n, len;

	switch (courier_value_type(v)) {
	case COURIER_NULL:
		o->payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_NONE_VALUE;
		o->none_value = 1;
		break;
	case COURIER_BOOL:
		o->payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_BOOL_VALUE;
		o->bool_value = courier_value_bool(v);
		break;
	case COURIER_INT:
		o->payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_INT_VALUE;
		o->int_value = courier_value_int(v);
		break;
	case COURIER_DOUBLE:
		o->payload_case =
		    COURIER__SERIALIZED_OBJECT__PAYLOAD_DOUBLE_VALUE;
		o->double_value = courier_value_double(v);
		break;
	case COURIER_STRING:
		o->payload_case =
		    COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE;
		o->unicode_value.data =
		    (uint8_t *)courier_value_string(v, &len);
		o->unicode_value.len = len;
		break;
	case COURIER_BYTES:
		o->payload_case =
		    COURIER__SERIALIZED_OBJECT__PAYLOAD_STRING_VALUE;
		o->string_value.data = (uint8_t *)courier_value_bytes(v, &len);
		o->string_value.len = len;
		break;
	case COURIER_LIST:
		l = courier_arena_alloc(a, sizeof *l);
		courier__serialized_list__init(l);
		n = courier_list_len(v);
		l->n_items = n;
		l->items = courier_arena_alloc(a, n * sizeof *l->items);
		for (i = 0; i < n; i++) {
			l->items[i] = new_object(a);
			if (to_pb(courier_list_get(v, i), l->items[i], a,
			    cause) != 0)
				return (-1);
		}
		o->payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_LIST_VALUE;
		o->list_value = l;
		break;
	case COURIER_DICT:
		d = courier_arena_alloc(a, sizeof *d);
		courier__serialized_dict__init(d);
		n = courier_dict_len(v);
		d->n_keys = d->n_values = n;
		d->keys = courier_arena_alloc(a, n * sizeof *d->keys);
		d->values = courier_arena_alloc(a, n * sizeof *d->values);
		for (i = 0; i < n; i++) {
			key = courier_dict_key(v, i);
			d->keys[i] = new_object(a);
			d->keys[i]->payload_case =
			    COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE;
			d->keys[i]->unicode_value.data = (uint8_t *)key;
			d->keys[i]->unicode_value.len = strlen(key);
			d->values[i] = new_object(a);
			if (to_pb(courier_dict_value(v, i), d->values[i], a,
			    cause) != 0)
				return (-1);
		}
		o->payload_case = COURIER__SERIALIZED_OBJECT__PAYLOAD_DICT_VALUE;
		o->dict_value = d;
		break;
	case COURIER_TENSOR:
		t = courier_arena_alloc(a, sizeof *t);
		courier__tensor_proto__init(t);
		shape = courier_arena_alloc(a, sizeof *shape);
		courier__tensor_shape_proto__init(shape);
		n = courier_tensor_shape(v, &dims);
		shape->n_dim = n;
		shape->dim = courier_arena_alloc(a, n * sizeof *shape->dim);
		for (i = 0; i < n; i++) {
			shape->dim[i] = courier_arena_alloc(a,
			    sizeof *shape->dim[i]);
			courier__tensor_shape_proto__dim__init(shape->dim[i]);
			shape->dim[i]->size = dims[i];
		}
		t->dtype = (Courier__DataType)courier_tensor_dtype(v);
		t->tensor_shape = shape;
		t->tensor_content.data =
		    (uint8_t *)courier_tensor_data(v, &len);
		t->tensor_content.len = len;
		o->payload_case =
		    COURIER__SERIALIZED_OBJECT__PAYLOAD_TENSOR_VALUE;
		o->tensor_value = t;
		break;
	default:
		set_cause(cause, "value of unknown type %d",
		    (int)courier_value_type(v));
		return (-1);
	}
	return (0);
}

/* Fill o from v, borrowing v's data and allocating from a. */
int
courier_value_to_pb(const courier_value *v, Courier__SerializedObject *o,
    struct courier_arena *a, char **cause)
{
	return (to_pb(v, o, a, cause));
}

/* Prefix an error's place with one more step of its path. */
static void
prefix_cause(char **cause, const char *fmt, ...) COURIER_PRINTF(2, 3);
static void
prefix_cause(char **cause, const char *fmt, ...)
{
	va_list	 ap;
	char	*step, *old;

	if (cause == NULL || *cause == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&step, fmt, ap);
	va_end(ap);
	old = *cause;
	/* Inner places are written "[1].x: message"; join them up. */
	xasprintf(cause, "%s%s%s", step, old[0] == '[' || old[0] == '.' ?
	    "" : ": ", old);
	free(step);
	free(old);
}

/* A tensor from a TensorProto. */
static courier_value *
tensor_from_pb(const Courier__TensorProto *t, char **cause)
{
	int64_t		 dims[COURIER_TENSOR_MAX_DIMS];
	size_t		 i, ndim = 0;

	if (t->dtype == COURIER__DATA_TYPE__DT_STRING) {
		set_cause(cause, "string tensors are not supported");
		return (NULL);
	}
	if (t->tensor_shape != NULL) {
		if (t->tensor_shape->unknown_rank) {
			set_cause(cause, "tensor of unknown rank");
			return (NULL);
		}
		ndim = t->tensor_shape->n_dim;
		if (ndim > COURIER_TENSOR_MAX_DIMS) {
			set_cause(cause, "tensor has %zu dimensions, more "
			    "than %d", ndim, COURIER_TENSOR_MAX_DIMS);
			return (NULL);
		}
		for (i = 0; i < ndim; i++)
			dims[i] = t->tensor_shape->dim[i]->size;
	}
	return (courier_tensor_new((enum courier_dtype)t->dtype, ndim, dims,
	    t->tensor_content.data, t->tensor_content.len, cause));
}

/* A dict key: a string (or bytes that are UTF-8) without NUL. */
static const char *
dict_key(const Courier__SerializedObject *k, size_t i, char **cause)
{
	const ProtobufCBinaryData	*b;

	switch (k->payload_case) {
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE:
		b = &k->unicode_value;
		break;
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_STRING_VALUE:
		b = &k->string_value;
		break;
	default:
		set_cause(cause, "key %zu: only string keys are supported", i);
		return (NULL);
	}
	if (b->len == 0)
		return (xstrdup(""));	/* data may be NULL */
	if (memchr(b->data, '\0', b->len) != NULL ||
	    !courier_utf8_valid((const char *)b->data, b->len)) {
		set_cause(cause, "key %zu: not a UTF-8 string without NUL", i);
		return (NULL);
	}
	return (xstrndup((const char *)b->data, b->len));
}

/* A value from o, at most depth levels down. */
static courier_value *
from_pb(const Courier__SerializedObject *o, unsigned depth, char **cause)
{
	const Courier__SerializedList	*l;
	const Courier__SerializedDict	*d;
	courier_value			*v, *item;
	const char			*key;
	size_t				 i;

	if (depth > COURIER_MAX_DEPTH) {
		set_cause(cause, "values nest deeper than %d levels",
		    COURIER_MAX_DEPTH);
		return (NULL);
	}
	if (o->numpy_object_tensor != NULL ||
	    o->numpy_metadata == COURIER__SERIALIZED_OBJECT__NUMPY_METADATA__OBJECT_TENSOR) {
		set_cause(cause, "numpy object arrays can only be decoded by "
		    "Python; refused");
		return (NULL);
	}
	switch (o->payload_case) {
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_NONE_VALUE:
		return (courier_null());
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_BOOL_VALUE:
		return (courier_bool(o->bool_value));
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_INT_VALUE:
		return (courier_int(o->int_value));
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_DOUBLE_VALUE:
		return (courier_double(o->double_value));
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_STRING_VALUE:
		return (courier_bytes(o->string_value.data,
		    o->string_value.len));
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_UNICODE_VALUE:
		v = courier_string_len((const char *)o->unicode_value.data,
		    o->unicode_value.len);
		if (v == NULL)
			set_cause(cause, "string is not valid UTF-8");
		return (v);
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_LIST_VALUE:
		l = o->list_value;
		v = courier_list_new();
		for (i = 0; i < l->n_items; i++) {
			if ((item = from_pb(l->items[i], depth + 1,
			    cause)) == NULL) {
				prefix_cause(cause, "[%zu]", i);
				courier_value_unref(v);
				return (NULL);
			}
			if (courier_list_append(v, item) != 0) {
				set_cause(cause, "[%zu]: values nest deeper "
				    "than %d levels", i, COURIER_MAX_DEPTH);
				courier_value_unref(v);
				return (NULL);
			}
		}
		return (v);
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_DICT_VALUE:
		d = o->dict_value;
		if (d->n_keys != d->n_values) {
			set_cause(cause, "dict has %zu keys but %zu values",
			    d->n_keys, d->n_values);
			return (NULL);
		}
		v = courier_dict_new();
		for (i = 0; i < d->n_keys; i++) {
			if ((key = dict_key(d->keys[i], i, cause)) == NULL) {
				courier_value_unref(v);
				return (NULL);
			}
			if ((item = from_pb(d->values[i], depth + 1,
			    cause)) == NULL) {
				prefix_cause(cause, ".%s", key);
				free((char *)key);
				courier_value_unref(v);
				return (NULL);
			}
			if (courier_dict_set(v, key, item) != 0) {
				set_cause(cause, ".%s: values nest deeper "
				    "than %d levels", key, COURIER_MAX_DEPTH);
				free((char *)key);
				courier_value_unref(v);
				return (NULL);
			}
			free((char *)key);
		}
		return (v);
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_TENSOR_VALUE:
		return (tensor_from_pb(o->tensor_value, cause));
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_JAX_TENSOR_VALUE:
		return (tensor_from_pb(o->jax_tensor_value, cause));
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_REDUCED_OBJECT_VALUE:
		set_cause(cause, "a pickled Python object (%s.%s) can only be "
		    "decoded by Python; refused",
		    o->reduced_object_value->class_module,
		    o->reduced_object_value->class_name);
		return (NULL);
	case COURIER__SERIALIZED_OBJECT__PAYLOAD_TYPE_VALUE:
		set_cause(cause, "a Python type value can only be decoded by "
		    "Python; refused");
		return (NULL);
	case COURIER__SERIALIZED_OBJECT__PAYLOAD__NOT_SET:
		set_cause(cause, "empty value (no payload set)");
		return (NULL);
	default:
		set_cause(cause, "value of unknown kind %d",
		    (int)o->payload_case);
		return (NULL);
	}
}

/* A value from a decoded message; *cause names the place of an error. */
courier_value *
courier_value_from_pb(const Courier__SerializedObject *o, char **cause)
{
	return (from_pb(o, 0, cause));
}

/* Encode v as a SerializedObject into a new buffer. */
int
courier_value_encode(const courier_value *v, uint8_t **buf, size_t *len,
    char **cause)
{
	struct courier_arena		 a;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;

	courier_arena_init(&a);
	if (to_pb(v, &o, &a, cause) != 0) {
		courier_arena_free(&a);
		return (-1);
	}
	*len = courier__serialized_object__get_packed_size(&o);
	*buf = xmalloc(*len);
	courier__serialized_object__pack(&o, *buf);
	courier_arena_free(&a);
	return (0);
}

/* Decode a SerializedObject from untrusted bytes. */
courier_value *
courier_value_decode(const uint8_t *buf, size_t len, char **cause)
{
	struct courier_arena		 a;
	Courier__SerializedObject	*o;
	courier_value			*v;
	char				*why = NULL;

	if (courier_pb_check(&courier__serialized_object__descriptor, buf, len,
	    COURIER_MAX_PB_DEPTH, &why) != 0) {
		set_cause(cause, "malformed value: %s", why);
		free(why);
		return (NULL);
	}
	courier_arena_init(&a);
	o = courier__serialized_object__unpack(&a.pb, len, buf);
	if (o == NULL) {
		set_cause(cause, "malformed value: protobuf-c cannot unpack it");
		courier_arena_free(&a);
		return (NULL);
	}
	if ((v = from_pb(o, 0, &why)) == NULL) {
		set_cause(cause, "bad value at $%s%s", why[0] == '[' ||
		    why[0] == '.' ? "" : ": ", why);
		free(why);
	}
	courier_arena_free(&a);
	return (v);
}

/* Fill the arguments of a call from args (a list) and kwargs (a dict). */
int
courier_call_args_to_pb(const courier_value *args, const courier_value *kwargs,
    Courier__CallArguments *pb, struct courier_arena *a, char **cause)
{
	Courier__CallArguments__KwargsEntry	*e;
	size_t					 i, n;

	n = courier_list_len(args);
	pb->n_args = n;
	pb->args = courier_arena_alloc(a, n * sizeof *pb->args);
	for (i = 0; i < n; i++) {
		pb->args[i] = new_object(a);
		if (to_pb(courier_list_get(args, i), pb->args[i], a,
		    cause) != 0)
			return (-1);
	}
	n = courier_dict_len(kwargs);
	pb->n_kwargs = n;
	pb->kwargs = courier_arena_alloc(a, n * sizeof *pb->kwargs);
	for (i = 0; i < n; i++) {
		e = courier_arena_alloc(a, sizeof *e);
		courier__call_arguments__kwargs_entry__init(e);
		e->key = (char *)courier_dict_key(kwargs, i);
		e->value = new_object(a);
		if (to_pb(courier_dict_value(kwargs, i), e->value, a,
		    cause) != 0)
			return (-1);
		pb->kwargs[i] = e;
	}
	return (0);
}

/* Take the args (a list) and kwargs (a dict) out of a call's arguments. */
int
courier_call_args_from_pb(const Courier__CallArguments *pb,
    courier_value **argsp, courier_value **kwargsp, char **cause)
{
	courier_value	*args, *kwargs, *v;
	char		*why = NULL;
	size_t		 i;

	args = courier_list_new();
	kwargs = courier_dict_new();
	for (i = 0; pb != NULL && i < pb->n_args; i++) {
		if ((v = from_pb(pb->args[i], 1, &why)) == NULL) {
			set_cause(cause, "argument %zu%s%s", i,
			    why[0] == '[' || why[0] == '.' ? "" : ": ", why);
			goto fail;
		}
		if (courier_list_append(args, v) != 0) {
			set_cause(cause, "argument %zu: values nest deeper "
			    "than %d levels", i, COURIER_MAX_DEPTH);
			goto fail;
		}
	}
	for (i = 0; pb != NULL && i < pb->n_kwargs; i++) {
		if (pb->kwargs[i]->value == NULL) {
			set_cause(cause, "keyword argument %s has no value",
			    pb->kwargs[i]->key);
			goto fail;
		}
		if ((v = from_pb(pb->kwargs[i]->value, 1, &why)) == NULL) {
			set_cause(cause, "keyword argument %s%s%s",
			    pb->kwargs[i]->key, why[0] == '[' || why[0] == '.'
			    ? "" : ": ", why);
			goto fail;
		}
		if (courier_dict_set(kwargs, pb->kwargs[i]->key, v) != 0) {
			set_cause(cause, "keyword argument name is not UTF-8");
			goto fail;
		}
	}
	*argsp = args;
	*kwargsp = kwargs;
	return (0);

fail:
	free(why);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	return (-1);
}
