/*
 * courier-value.c: the values that courier calls carry, their reference
 * counts, strict UTF-8 checking and tensor validation.
 *
 * A value is immutable once shared, with one exception made safe by
 * sealing: a list or dict may grow while its creator alone holds it, and
 * becomes read-only the moment it is put inside another list or dict. That
 * rules out cycles and keeps each container's stored depth true for ever.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"

/* Above this many entries a dict keeps a hash index beside its arrays. */
#define DICT_INDEX_MIN	16
#define NOT_FOUND	SIZE_MAX

struct courier_value {
	atomic_size_t		 refs;
	enum courier_type	 type;
	bool			 immortal;	/* static null/true/false */
	atomic_bool		 sealed;	/* in a container: read-only */
	unsigned		 depth;		/* levels; scalars are 0 */
	union {
		bool		 b;
		int64_t		 i;
		double		 f;
		struct {
			char		*data;	/* inline or taken (NUL after), */
			size_t		 len;
			courier_value	*owner;	/* or borrowed from owner */
			/* An owner's: where its block of cap goes back. */
			struct courier_blocks *home;
			size_t		 cap;
		} s;			/* string and bytes */
		struct {
			courier_value	**items;
			size_t		  len;
			size_t		  cap;
		} l;
		struct {
			char		**keys;
			courier_value	**vals;
			size_t		  len;
			size_t		  cap;
			uint32_t	 *index;	/* entry + 1, or 0 */
			size_t		  isize;	/* a power of two */
		} d;
		struct {
			enum courier_dtype	 dtype;
			size_t			 ndim;
			int64_t			*shape;	/* inline */
			void			*data;	/* inline or owner's */
			size_t			 nbytes;
			courier_value		*owner;
		} t;
	} u;
};

const char courier_end_[] = "courier_end";

static courier_value value_null = { .type = COURIER_NULL, .immortal = true };
static courier_value value_true = {
	.type = COURIER_BOOL, .immortal = true, .u.b = true
};
static courier_value value_false = {
	.type = COURIER_BOOL, .immortal = true, .u.b = false
};

static const char *const type_names[] = {
	"null", "bool", "int", "double", "string", "bytes", "list", "dict",
	"tensor",
};

static const struct {
	enum courier_dtype	 dtype;
	const char		*name;
	size_t			 size;
} dtypes[] = {
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

/* Allocate a value of type with extra bytes after it, holding one reference. */
static courier_value *
value_alloc(enum courier_type type, size_t extra)
{
	courier_value	*v;

	if (extra > SIZE_MAX - sizeof *v)
		fatalx("%s: %zu bytes is too large", __func__, extra);
	v = xmalloc(sizeof *v + extra);
	memset(v, 0, sizeof *v);
	atomic_init(&v->refs, 1);
	atomic_init(&v->sealed, false);
	v->type = type;
	return (v);
}

/* Strict UTF-8 (Unicode table 3-7): no overlongs, surrogates or > U+10FFFF. */
bool
courier_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end;
	unsigned char		 lo, hi;
	size_t			 n, i;

	/* An empty string may come as NULL: NULL + 0 is undefined in C. */
	if (s == NULL)
		return (len == 0);
	end = p + len;
	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			if (*p == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (*p == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			if (*p == 0xf0)
				lo = 0x90;	/* overlong */
			else if (*p == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return (false);
		if ((size_t)(end - p) <= n)
			return (false);
		if (p[1] < lo || p[1] > hi)
			return (false);
		for (i = 2; i <= n; i++) {
			if (p[i] < 0x80 || p[i] > 0xbf)
				return (false);
		}
		p += n + 1;
	}
	return (true);
}

/* The null value; immortal, so no allocation and no count. */
courier_value *
courier_null(void)
{
	return (&value_null);
}

/* A boolean; both are immortal statics. */
courier_value *
courier_bool(bool b)
{
	return (b ? &value_true : &value_false);
}

/* A 64-bit integer. */
courier_value *
courier_int(int64_t i)
{
	courier_value	*v;

	v = value_alloc(COURIER_INT, 0);
	v->u.i = i;
	return (v);
}

/* A double. */
courier_value *
courier_double(double d)
{
	courier_value	*v;

	v = value_alloc(COURIER_DOUBLE, 0);
	v->u.f = d;
	return (v);
}

/* A string or bytes value with len bytes of data copied inline. */
static courier_value *
value_data(enum courier_type type, const void *data, size_t len)
{
	courier_value	*v;

	if (len == SIZE_MAX)
		fatalx("%s: %zu bytes is too large", __func__, len);
	v = value_alloc(type, len + 1);
	v->u.s.data = (char *)(v + 1);
	v->u.s.len = len;
	if (len != 0)
		memcpy(v->u.s.data, data, len);
	v->u.s.data[len] = '\0';
	return (v);
}

/* A string from NUL-terminated text; NULL if s is NULL or not UTF-8. */
courier_value *
courier_string(const char *s)
{
	if (s == NULL)
		return (NULL);
	return (courier_string_len(s, strlen(s)));
}

/* A string of len bytes (NUL allowed); NULL if not UTF-8. */
courier_value *
courier_string_len(const char *s, size_t len)
{
	if (s == NULL && len != 0)
		return (NULL);
	if (!courier_utf8_valid(s, len))
		return (NULL);
	return (value_data(COURIER_STRING, s, len));
}

/* A string that takes buf (malloc'd, NUL at buf[len]); frees it if invalid. */
courier_value *
courier_string_take(char *buf, size_t len)
{
	courier_value	*v;

	if (buf == NULL)
		return (NULL);
	if (!courier_utf8_valid(buf, len)) {
		free(buf);
		return (NULL);
	}
	v = value_alloc(COURIER_STRING, 0);
	v->u.s.data = buf;
	v->u.s.len = len;
	return (v);
}

/* A string from a format; the formatted text must still be UTF-8. */
courier_value *
courier_stringf(const char *fmt, ...)
{
	va_list	 ap;
	char	*buf;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&buf, fmt, ap);
	va_end(ap);
	return (courier_string_take(buf, (size_t)n));
}

/* Bytes, copied; NULL only if data is NULL and len is not 0. */
courier_value *
courier_bytes(const void *data, size_t len)
{
	if (data == NULL && len != 0)
		return (NULL);
	return (value_data(COURIER_BYTES, data, len));
}

/* See courier-internal.h. */
courier_value *
courier_owner_new(void *mem, size_t cap, struct courier_blocks *home)
{
	courier_value	*v;

	v = value_alloc(COURIER_BYTES, 0);
	v->u.s.data = mem;
	v->u.s.home = home != NULL ? courier_blocks_ref(home) : NULL;
	v->u.s.cap = cap;
	return (v);
}

/* See courier-internal.h. */
void
courier_owner_forget(courier_value *owner)
{
	owner->u.s.data = NULL;
	courier_value_unref(owner);
}

/*
 * Bytes that borrow len bytes at data from owner (no NUL after them: the
 * API promises none for bytes).
 */
courier_value *
courier_bytes_borrow(courier_value *owner, const void *data, size_t len)
{
	courier_value	*v;

	v = value_alloc(COURIER_BYTES, 0);
	v->u.s.data = (char *)data;
	v->u.s.len = len;
	v->u.s.owner = courier_value_ref(owner);
	return (v);
}

/* An empty list, one level deep. */
courier_value *
courier_list_new(void)
{
	courier_value	*v;

	v = value_alloc(COURIER_LIST, 0);
	v->depth = 1;
	return (v);
}

/* An empty dict, one level deep. */
courier_value *
courier_dict_new(void)
{
	courier_value	*v;

	v = value_alloc(COURIER_DICT, 0);
	v->depth = 1;
	return (v);
}

/* The element size of a dtype, or 0. */
size_t
courier_dtype_size(enum courier_dtype dtype)
{
	size_t	 i;

	for (i = 0; i < nitems(dtypes); i++) {
		if (dtypes[i].dtype == dtype)
			return (dtypes[i].size);
	}
	return (0);
}

/* The numpy name of a dtype, or NULL. */
const char *
courier_dtype_name(enum courier_dtype dtype)
{
	size_t	 i;

	for (i = 0; i < nitems(dtypes); i++) {
		if (dtypes[i].dtype == dtype)
			return (dtypes[i].name);
	}
	return (NULL);
}

/* The dtype of a numpy name, or -1. */
int
courier_dtype_from_name(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return (-1);
	for (i = 0; i < nitems(dtypes); i++) {
		if (strcmp(dtypes[i].name, name) == 0)
			return ((int)dtypes[i].dtype);
	}
	return (-1);
}

/* Format a shape as "[2, 3]" for error messages; the caller frees. */
static char *
shape_text(size_t ndim, const int64_t *shape)
{
	char	*s, *t;
	size_t	 i;

	s = xstrdup("[");
	for (i = 0; i < ndim; i++) {
		xasprintf(&t, "%s%s%lld", s, i == 0 ? "" : ", ",
		    (long long)shape[i]);
		free(s);
		s = t;
	}
	xasprintf(&t, "%s]", s);
	free(s);
	return (t);
}

/* A tensor, checked: dtype known, dims valid, data exactly the right size. */
courier_value *
courier_tensor_new(enum courier_dtype dtype, size_t ndim, const int64_t *shape,
    const void *data, size_t nbytes, char **cause)
{
	return (courier_tensor_make(dtype, ndim, shape, data, nbytes, NULL,
	    cause));
}

/* The same, borrowing data from owner if it is not NULL. */
courier_value *
courier_tensor_make(enum courier_dtype dtype, size_t ndim,
    const int64_t *shape, const void *data, size_t nbytes,
    courier_value *owner, char **cause)
{
	courier_value	*v;
	const char	*name;
	char		*text;
	size_t		 esize, need, extra, i;
	uint64_t	 count;

	if ((esize = courier_dtype_size(dtype)) == 0) {
		set_cause(cause, "tensor: unknown dtype %d", (int)dtype);
		return (NULL);
	}
	name = courier_dtype_name(dtype);
	if (ndim > COURIER_TENSOR_MAX_DIMS) {
		set_cause(cause, "tensor: %zu dimensions, at most %d", ndim,
		    COURIER_TENSOR_MAX_DIMS);
		return (NULL);
	}
	if (ndim != 0 && shape == NULL) {
		set_cause(cause, "tensor: %zu dimensions but no shape", ndim);
		return (NULL);
	}
	if (nbytes != 0 && data == NULL) {
		set_cause(cause, "tensor: %zu bytes but no data", nbytes);
		return (NULL);
	}

	count = 1;
	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0) {
			set_cause(cause, "tensor: dimension %zu is %lld", i,
			    (long long)shape[i]);
			return (NULL);
		}
	}
	for (i = 0; i < ndim; i++) {
		if (__builtin_mul_overflow(count, (uint64_t)shape[i], &count))
			goto too_large;
	}
	if (count > SIZE_MAX || __builtin_mul_overflow((size_t)count, esize,
	    &need))
		goto too_large;
	if (need != nbytes) {
		text = shape_text(ndim, shape);
		set_cause(cause, "tensor: shape %s of %s needs %zu bytes, "
		    "got %zu", text, name, need, nbytes);
		free(text);
		return (NULL);
	}

	extra = ndim * sizeof *shape;
	if (owner != NULL) {
		v = value_alloc(COURIER_TENSOR, extra);
		v->u.t.data = (void *)data;
		v->u.t.owner = courier_value_ref(owner);
	} else {
		if (nbytes > SIZE_MAX - extra)
			goto too_large;
		v = value_alloc(COURIER_TENSOR, extra + nbytes);
		v->u.t.data = (char *)(v + 1) + extra;
		if (nbytes != 0)
			memcpy(v->u.t.data, data, nbytes);
	}
	v->u.t.dtype = dtype;
	v->u.t.ndim = ndim;
	v->u.t.shape = (int64_t *)(v + 1);
	if (ndim != 0)
		memcpy(v->u.t.shape, shape, extra);
	v->u.t.nbytes = nbytes;
	return (v);

too_large:
	text = shape_text(ndim, shape);
	set_cause(cause, "tensor: shape %s of %s is too large", text, name);
	free(text);
	return (NULL);
}

/* Free a value whose last reference is gone, children first. */
static void
value_free(courier_value *v)
{
	size_t	 i;

	switch (v->type) {
	case COURIER_STRING:
	case COURIER_BYTES:
		if (v->u.s.owner != NULL)
			courier_value_unref(v->u.s.owner);
		else if (v->u.s.home != NULL)
			courier_blocks_put(v->u.s.home, v->u.s.data,
			    v->u.s.cap);
		else if (v->u.s.data != (char *)(v + 1))
			free(v->u.s.data);
		break;
	case COURIER_TENSOR:
		courier_value_unref(v->u.t.owner);
		break;
	case COURIER_LIST:
		for (i = 0; i < v->u.l.len; i++)
			courier_value_unref(v->u.l.items[i]);
		free(v->u.l.items);
		break;
	case COURIER_DICT:
		for (i = 0; i < v->u.d.len; i++) {
			free(v->u.d.keys[i]);
			courier_value_unref(v->u.d.vals[i]);
		}
		free(v->u.d.keys);
		free(v->u.d.vals);
		free(v->u.d.index);
		break;
	default:
		break;
	}
	free(v);
}

/* Take a reference; the immortal statics are not counted. */
courier_value *
courier_value_ref(const courier_value *v)
{
	courier_value	*w = (courier_value *)v;

	if (w != NULL && !w->immortal)
		atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
	return (w);
}

/* Drop a reference, freeing with the last; the statics are never freed. */
void
courier_value_unref(courier_value *v)
{
	if (v == NULL || v->immortal)
		return;
	/*
	 * acq_rel rather than release and an acquire fence on the last: the
	 * same instruction on x86, and a fence is what TSan cannot follow.
	 */
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
		return;
	value_free(v);
}

/* The type of v; NULL counts as the null value. */
enum courier_type
courier_value_type(const courier_value *v)
{
	if (v == NULL)
		return (COURIER_NULL);
	return (v->type);
}

/* The name of a type. */
const char *
courier_type_name(enum courier_type t)
{
	if ((unsigned)t >= nitems(type_names))
		return ("unknown");
	return (type_names[t]);
}

/* Hash a dict key (FNV-1a). */
static uint64_t
key_hash(const char *key)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return (h);
}

/* Put entry i of a dict into its hash index, which has room. */
static void
dict_index_add(courier_value *d, size_t i)
{
	size_t	 mask = d->u.d.isize - 1, slot;

	slot = key_hash(d->u.d.keys[i]) & mask;
	while (d->u.d.index[slot] != 0)
		slot = (slot + 1) & mask;
	d->u.d.index[slot] = (uint32_t)(i + 1);
}

/* Rebuild a dict's hash index at most half full. */
static void
dict_index_build(courier_value *d)
{
	size_t	 size = 64, i;

	if (d->u.d.len >= UINT32_MAX / 4)
		fatalx("%s: %zu entries is too many", __func__, d->u.d.len);
	while (size < 4 * d->u.d.len)
		size *= 2;
	free(d->u.d.index);
	d->u.d.index = xcalloc(size, sizeof *d->u.d.index);
	d->u.d.isize = size;
	for (i = 0; i < d->u.d.len; i++)
		dict_index_add(d, i);
}

/* The entry of key in a dict, or NOT_FOUND. */
static size_t
dict_find(const courier_value *d, const char *key)
{
	size_t		 mask, slot, i;
	uint32_t	 e;

	if (d->u.d.index == NULL) {
		for (i = 0; i < d->u.d.len; i++) {
			if (strcmp(d->u.d.keys[i], key) == 0)
				return (i);
		}
		return (NOT_FOUND);
	}
	mask = d->u.d.isize - 1;
	slot = key_hash(key) & mask;
	while ((e = d->u.d.index[slot]) != 0) {
		if (strcmp(d->u.d.keys[e - 1], key) == 0)
			return (e - 1);
		slot = (slot + 1) & mask;
	}
	return (NOT_FOUND);
}

/* Whether two dicts hold the same keys with equal values, in any order. */
static bool
dict_equal(const courier_value *a, const courier_value *b)
{
	size_t	 i, j;

	if (a->u.d.len != b->u.d.len)
		return (false);
	for (i = 0; i < a->u.d.len; i++) {
		/* Same order is the common case: try the same place first. */
		if (strcmp(a->u.d.keys[i], b->u.d.keys[i]) == 0)
			j = i;
		else if ((j = dict_find(b, a->u.d.keys[i])) == NOT_FOUND)
			return (false);
		if (!courier_value_equal(a->u.d.vals[i], b->u.d.vals[j]))
			return (false);
	}
	return (true);
}

/*
 * Deep equality. Types must match (int 1 is not double 1.0); doubles compare
 * by value with NaN equal to NaN; dicts are equal with the same keys and
 * equal values whatever their order; tensors compare their bytes.
 */
bool
courier_value_equal(const courier_value *a, const courier_value *b)
{
	size_t	 i;

	if (a == b)
		return (true);
	if (a == NULL || b == NULL || a->type != b->type)
		return (false);
	switch (a->type) {
	case COURIER_NULL:
		return (true);
	case COURIER_BOOL:
		return (a->u.b == b->u.b);
	case COURIER_INT:
		return (a->u.i == b->u.i);
	case COURIER_DOUBLE:
		return (a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f)));
	case COURIER_STRING:
	case COURIER_BYTES:
		return (a->u.s.len == b->u.s.len &&
		    memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0);
	case COURIER_LIST:
		if (a->u.l.len != b->u.l.len)
			return (false);
		for (i = 0; i < a->u.l.len; i++) {
			if (!courier_value_equal(a->u.l.items[i],
			    b->u.l.items[i]))
				return (false);
		}
		return (true);
	case COURIER_DICT:
		return (dict_equal(a, b));
	case COURIER_TENSOR:
		if (a->u.t.dtype != b->u.t.dtype ||
		    a->u.t.ndim != b->u.t.ndim ||
		    a->u.t.nbytes != b->u.t.nbytes)
			return (false);
		if (a->u.t.ndim != 0 && memcmp(a->u.t.shape, b->u.t.shape,
		    a->u.t.ndim * sizeof *a->u.t.shape) != 0)
			return (false);
		return (a->u.t.nbytes == 0 ||
		    memcmp(a->u.t.data, b->u.t.data, a->u.t.nbytes) == 0);
	}
	return (false);
}

/* A bool's value; false otherwise. */
bool
courier_value_bool(const courier_value *v)
{
	if (v == NULL || v->type != COURIER_BOOL)
		return (false);
	return (v->u.b);
}

/* An int's value; 0 otherwise. */
int64_t
courier_value_int(const courier_value *v)
{
	if (v == NULL || v->type != COURIER_INT)
		return (0);
	return (v->u.i);
}

/* A double's or an int's value as a double; 0 otherwise. */
double
courier_value_double(const courier_value *v)
{
	if (v == NULL)
		return (0);
	if (v->type == COURIER_DOUBLE)
		return (v->u.f);
	if (v->type == COURIER_INT)
		return ((double)v->u.i);
	return (0);
}

/* A string's text and length; NULL otherwise. */
const char *
courier_value_string(const courier_value *v, size_t *len)
{
	if (v == NULL || v->type != COURIER_STRING) {
		if (len != NULL)
			*len = 0;
		return (NULL);
	}
	if (len != NULL)
		*len = v->u.s.len;
	return (v->u.s.data);
}

/* A bytes value's data and length; NULL otherwise. */
const void *
courier_value_bytes(const courier_value *v, size_t *len)
{
	if (v == NULL || v->type != COURIER_BYTES) {
		if (len != NULL)
			*len = 0;
		return (NULL);
	}
	if (len != NULL)
		*len = v->u.s.len;
	return (v->u.s.data);
}

/* A list's length; 0 otherwise. */
size_t
courier_list_len(const courier_value *list)
{
	if (list == NULL || list->type != COURIER_LIST)
		return (0);
	return (list->u.l.len);
}

/* Item i of a list, borrowed. */
const courier_value *
courier_list_get(const courier_value *list, size_t i)
{
	if (list == NULL || list->type != COURIER_LIST || i >= list->u.l.len)
		return (NULL);
	return (list->u.l.items[i]);
}

/*
 * Check that item may go into container c, and seal it. Fails if c is
 * sealed, if item is c itself, or if c would nest too deeply.
 */
static int
container_admit(courier_value *c, courier_value *item)
{
	if (item == c || atomic_load_explicit(&c->sealed, memory_order_relaxed))
		return (-1);
	if (item->depth + 1 > COURIER_MAX_DEPTH)
		return (-1);
	if (item->type == COURIER_LIST || item->type == COURIER_DICT)
		atomic_store_explicit(&item->sealed, true,
		    memory_order_relaxed);
	return (0);
}

/*
 * Append item (stolen) to list. The item, if a list or dict, is sealed: it
 * is read-only from now on, so appending to it or setting its keys fails.
 * Only a container held by no other container can change, which makes
 * cycles impossible and keeps every stored depth exact. Appending a list to
 * itself, appending to a sealed list, or going deeper than
 * COURIER_MAX_DEPTH fails and releases item.
 */
int
courier_list_append(courier_value *list, courier_value *item)
{
	if (item == NULL)
		return (-1);
	if (list == NULL || list->type != COURIER_LIST ||
	    container_admit(list, item) != 0) {
		courier_value_unref(item);
		return (-1);
	}
	if (list->u.l.len == list->u.l.cap) {
		list->u.l.cap = list->u.l.cap == 0 ? 4 : list->u.l.cap * 2;
		list->u.l.items = xreallocarray(list->u.l.items,
		    list->u.l.cap, sizeof *list->u.l.items);
	}
	list->u.l.items[list->u.l.len++] = item;
	if (item->depth + 1 > list->depth)
		list->depth = item->depth + 1;
	return (0);
}

/* A list of items up to COURIER_END; NULL, releasing all, if one is NULL. */
courier_value *
courier_list_of(courier_value *first, ...)
{
	courier_value	*list, *item;
	va_list		 ap;
	bool		 failed = false;

	list = courier_list_new();
	va_start(ap, first);
	for (item = first; item != COURIER_END;
	    item = va_arg(ap, courier_value *)) {
		if (failed || item == NULL)
			failed = true;
		if (failed)
			courier_value_unref(item);
		else if (courier_list_append(list, item) != 0)
			failed = true;
	}
	va_end(ap);
	if (failed) {
		courier_value_unref(list);
		return (NULL);
	}
	return (list);
}

/* A dict's number of entries; 0 otherwise. */
size_t
courier_dict_len(const courier_value *dict)
{
	if (dict == NULL || dict->type != COURIER_DICT)
		return (0);
	return (dict->u.d.len);
}

/* The value under key, borrowed, or NULL. */
const courier_value *
courier_dict_get(const courier_value *dict, const char *key)
{
	size_t	 i;

	if (dict == NULL || dict->type != COURIER_DICT || key == NULL)
		return (NULL);
	if ((i = dict_find(dict, key)) == NOT_FOUND)
		return (NULL);
	return (dict->u.d.vals[i]);
}

/* Key of entry i, or NULL. */
const char *
courier_dict_key(const courier_value *dict, size_t i)
{
	if (dict == NULL || dict->type != COURIER_DICT || i >= dict->u.d.len)
		return (NULL);
	return (dict->u.d.keys[i]);
}

/* Value of entry i, borrowed, or NULL. */
const courier_value *
courier_dict_value(const courier_value *dict, size_t i)
{
	if (dict == NULL || dict->type != COURIER_DICT || i >= dict->u.d.len)
		return (NULL);
	return (dict->u.d.vals[i]);
}

/* Recompute a dict's depth after a value was replaced. */
static void
dict_depth(courier_value *dict)
{
	size_t		 i;
	unsigned	 depth = 1;

	for (i = 0; i < dict->u.d.len; i++) {
		if (dict->u.d.vals[i]->depth + 1 > depth)
			depth = dict->u.d.vals[i]->depth + 1;
	}
	dict->depth = depth;
}

/*
 * Set key to val (stolen), replacing in place. The same rules as
 * courier_list_append() apply: val is sealed, and a sealed dict is
 * read-only.
 */
int
courier_dict_set(courier_value *dict, const char *key, courier_value *val)
{
	courier_value	*old;
	size_t		 i;

	if (val == NULL)
		return (-1);
	if (dict == NULL || dict->type != COURIER_DICT || key == NULL ||
	    !courier_utf8_valid(key, strlen(key)) ||
	    container_admit(dict, val) != 0) {
		courier_value_unref(val);
		return (-1);
	}
	if ((i = dict_find(dict, key)) != NOT_FOUND) {
		old = dict->u.d.vals[i];
		dict->u.d.vals[i] = val;
		courier_value_unref(old);
		dict_depth(dict);
		return (0);
	}

	if (dict->u.d.len == dict->u.d.cap) {
		dict->u.d.cap = dict->u.d.cap == 0 ? 4 : dict->u.d.cap * 2;
		dict->u.d.keys = xreallocarray(dict->u.d.keys, dict->u.d.cap,
		    sizeof *dict->u.d.keys);
		dict->u.d.vals = xreallocarray(dict->u.d.vals, dict->u.d.cap,
		    sizeof *dict->u.d.vals);
	}
	i = dict->u.d.len++;
	dict->u.d.keys[i] = xstrdup(key);
	dict->u.d.vals[i] = val;
	if (val->depth + 1 > dict->depth)
		dict->depth = val->depth + 1;

	if (dict->u.d.index != NULL && 2 * dict->u.d.len <= dict->u.d.isize)
		dict_index_add(dict, i);
	else if (dict->u.d.len > DICT_INDEX_MIN)
		dict_index_build(dict);
	return (0);
}

/* A tensor's dtype; 0 for other types. */
enum courier_dtype
courier_tensor_dtype(const courier_value *t)
{
	if (t == NULL || t->type != COURIER_TENSOR)
		return ((enum courier_dtype)0);
	return (t->u.t.dtype);
}

/* A tensor's dimensions and shape; 0 and NULL for other types. */
size_t
courier_tensor_shape(const courier_value *t, const int64_t **shape)
{
	if (t == NULL || t->type != COURIER_TENSOR) {
		if (shape != NULL)
			*shape = NULL;
		return (0);
	}
	if (shape != NULL)
		*shape = t->u.t.shape;
	return (t->u.t.ndim);
}

/* A tensor's data and size; NULL and 0 for other types. */
const void *
courier_tensor_data(const courier_value *t, size_t *nbytes)
{
	if (t == NULL || t->type != COURIER_TENSOR) {
		if (nbytes != NULL)
			*nbytes = 0;
		return (NULL);
	}
	if (nbytes != NULL)
		*nbytes = t->u.t.nbytes;
	return (t->u.t.data);
}
