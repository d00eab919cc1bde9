/*
 * courier-json.c: values to and from JSON text, for program configs and
 * lpctl call. jansson parses and formats; this file maps its trees to
 * values, gives bytes and tensors their {"$bytes": ...} and
 * {"$tensor": ...} forms, and names the place of every error with a path
 * such as $.config.x[2]. jansson is used nowhere else in libcourier.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "courier-internal.h"

#define KEY_BYTES	"$bytes"
#define KEY_TENSOR	"$tensor"

/* How many bytes of a duplicate key an error message quotes. */
#define DUP_KEY_MAX	64

/* The place of a value being converted: keys and indices from the root. */
struct jpath {
	size_t		 n;
	struct {
		const char	*key;		/* NULL for an index */
		size_t		 index;
	} e[COURIER_MAX_DEPTH + 2];
};

/* State of one conversion to JSON. */
struct tojson {
	struct jpath	 path;
	int		 precision;	/* digits to read doubles back */
	char		**cause;
};

static void	 append(char **, const char *, ...) COURIER_PRINTF(2, 3);
static void	 path_error(char **, const struct jpath *, const char *, ...)
		    COURIER_PRINTF(3, 4);

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Step into a dict's key. */
static void
path_push_key(struct jpath *p, const char *key)
{
	if (p->n == nitems(p->e))
		fatalx("%s: path too deep", __func__);
	p->e[p->n].key = key;
	p->e[p->n].index = 0;
	p->n++;
}

/* Step into a list's item. */
static void
path_push_index(struct jpath *p, size_t index)
{
	if (p->n == nitems(p->e))
		fatalx("%s: path too deep", __func__);
	p->e[p->n].key = NULL;
	p->e[p->n].index = index;
	p->n++;
}

/* Step back out. */
static void
path_pop(struct jpath *p)
{
	p->n--;
}

/* Whether a key can follow a dot in a path (an identifier). */
static bool
path_plain_key(const char *key)
{
	const char	*s;

	if (*key == '\0' || isdigit((unsigned char)*key))
		return (false);
	for (s = key; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '$')
			return (false);
	}
	return (true);
}

/* Append text to a growing string. */
static void
append(char **buf, const char *fmt, ...)
{
	va_list	 ap;
	char	*more, *joined;

	va_start(ap, fmt);
	xvasprintf(&more, fmt, ap);
	va_end(ap);
	xasprintf(&joined, "%s%s", *buf, more);
	free(more);
	free(*buf);
	*buf = joined;
}

/* The path as text: $, $.name, $[2], $["a key"]. The caller frees. */
static char *
path_text(const struct jpath *p)
{
	const unsigned char	*s;
	char			*buf;
	size_t			 i;

	buf = xstrdup("$");
	for (i = 0; i < p->n; i++) {
		if (p->e[i].key == NULL) {
			append(&buf, "[%zu]", p->e[i].index);
			continue;
		}
		if (path_plain_key(p->e[i].key)) {
			append(&buf, ".%s", p->e[i].key);
			continue;
		}
		append(&buf, "[\"");
		for (s = (const unsigned char *)p->e[i].key; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				append(&buf, "\\%c", *s);
			else if (*s < 0x20)
				append(&buf, "\\u%04x", *s);
			else
				append(&buf, "%c", *s);
		}
		append(&buf, "\"]");
	}
	return (buf);
}

/* Set *cause to "<path>: <message>". */
static void
path_error(char **cause, const struct jpath *p, const char *fmt, ...)
{
	va_list	 ap;
	char	*where, *msg;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	where = path_text(p);
	xasprintf(cause, "%s: %s", where, msg);
	free(where);
	free(msg);
}

/* Base64 (standard alphabet, padded) of len bytes; the caller frees. */
static char *
base64_encode(const uint8_t *in, size_t len)
{
	char	*out, *o;
	size_t	 i;
	uint32_t n;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		fatalx("%s: %zu bytes is too large", __func__, len);
	o = out = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		n = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*o++ = b64_alphabet[n >> 18];
		*o++ = b64_alphabet[(n >> 12) & 63];
		*o++ = b64_alphabet[(n >> 6) & 63];
		*o++ = b64_alphabet[n & 63];
	}
	if (len - i == 1) {
		n = (uint32_t)in[i] << 16;
		*o++ = b64_alphabet[n >> 18];
		*o++ = b64_alphabet[(n >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		n = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = b64_alphabet[n >> 18];
		*o++ = b64_alphabet[(n >> 12) & 63];
		*o++ = b64_alphabet[(n >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
	return (out);
}

/* The 6-bit value of a base64 character, or -1. */
static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/*
 * Decode base64 strictly: padded to a multiple of 4, '=' only at the end,
 * unused bits zero (so each byte string has one spelling). Returns the bytes
 * (the caller frees) or NULL with *why set (the caller frees).
 */
static uint8_t *
base64_decode(const char *s, size_t len, size_t *outlen, char **why)
{
	uint8_t		*out;
	size_t		 i, j, o = 0, pad = 0;
	uint32_t	 n = 0;
	int		 c;

	for (j = 0; j < len; j++) {
		if (s[j] != '=' && base64_value((unsigned char)s[j]) == -1) {
			xasprintf(why, "bad character at offset %zu", j);
			return (NULL);
		}
	}
	if (len % 4 != 0) {
		xasprintf(why, "length %zu is not a multiple of 4", len);
		return (NULL);
	}
	if (len != 0 && s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	out = xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		n = 0;
		for (j = i; j < i + 4; j++) {
			if (j >= len - pad && s[j] == '=') {
				n <<= 6;
				continue;
			}
			if ((c = base64_value((unsigned char)s[j])) == -1) {
				xasprintf(why, "bad padding at offset %zu", j);
				free(out);
				return (NULL);
			}
			n = n << 6 | (uint32_t)c;
		}
		out[o++] = (uint8_t)(n >> 16);
		if (i + 4 < len || pad < 2)
			out[o++] = (uint8_t)(n >> 8);
		if (i + 4 < len || pad < 1)
			out[o++] = (uint8_t)n;
	}
	if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0)) {
		xasprintf(why, "bad padding (unused bits are not zero)");
		free(out);
		return (NULL);
	}
	*outlen = o;
	return (out);
}

static courier_value *from_json(json_t *, struct jpath *, unsigned, char **);

/* Bytes from the inside of {"$bytes": "<base64>"}. */
static courier_value *
bytes_from_json(json_t *in, struct jpath *p, char **cause)
{
	courier_value	*v;
	uint8_t		*data;
	size_t		 len;
	char		*why;

	if (!json_is_string(in)) {
		path_error(cause, p, "\"%s\" must be a base64 string",
		    KEY_BYTES);
		return (NULL);
	}
	data = base64_decode(json_string_value(in), json_string_length(in),
	    &len, &why);
	if (data == NULL) {
		path_error(cause, p, "\"%s\" is not base64: %s", KEY_BYTES,
		    why);
		free(why);
		return (NULL);
	}
	v = courier_bytes(data, len);
	free(data);
	return (v);
}

/* A tensor from the inside of {"$tensor": {"dtype", "shape", "data"}}. */
static courier_value *
tensor_from_json(json_t *in, struct jpath *p, char **cause)
{
	courier_value	*v = NULL;
	json_t		*dtype, *shape, *data, *item;
	const char	*key;
	int64_t		 dims[COURIER_TENSOR_MAX_DIMS];
	uint8_t		*bytes = NULL;
	size_t		 ndim, nbytes, i;
	char		*why;
	int		 dt;

	if (!json_is_object(in)) {
		path_error(cause, p, "\"%s\" must be an object with \"dtype\", "
		    "\"shape\" and \"data\"", KEY_TENSOR);
		return (NULL);
	}
	json_object_foreach(in, key, item) {
		if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 &&
		    strcmp(key, "data") != 0) {
			path_error(cause, p, "\"%s\" has an unknown member "
			    "\"%s\"", KEY_TENSOR, key);
			return (NULL);
		}
	}

	dtype = json_object_get(in, "dtype");
	if (!json_is_string(dtype)) {
		path_error(cause, p, "\"%s\" needs \"dtype\", a string",
		    KEY_TENSOR);
		return (NULL);
	}
	if ((dt = courier_dtype_from_name(json_string_value(dtype))) == -1) {
		path_error(cause, p, "\"%s\" has an unknown dtype \"%s\"",
		    KEY_TENSOR, json_string_value(dtype));
		return (NULL);
	}

	shape = json_object_get(in, "shape");
	if (!json_is_array(shape)) {
		path_error(cause, p, "\"%s\" needs \"shape\", an array of "
		    "integers", KEY_TENSOR);
		return (NULL);
	}
	if ((ndim = json_array_size(shape)) > COURIER_TENSOR_MAX_DIMS) {
		path_error(cause, p, "\"%s\" has %zu dimensions, at most %d",
		    KEY_TENSOR, ndim, COURIER_TENSOR_MAX_DIMS);
		return (NULL);
	}
	json_array_foreach(shape, i, item) {
		if (!json_is_integer(item) || json_integer_value(item) < 0) {
			path_error(cause, p, "\"%s\" shape[%zu] must be an "
			    "integer >= 0", KEY_TENSOR, i);
			return (NULL);
		}
		dims[i] = json_integer_value(item);
	}

	data = json_object_get(in, "data");
	if (!json_is_string(data)) {
		path_error(cause, p, "\"%s\" needs \"data\", a base64 string",
		    KEY_TENSOR);
		return (NULL);
	}
	bytes = base64_decode(json_string_value(data),
	    json_string_length(data), &nbytes, &why);
	if (bytes == NULL) {
		path_error(cause, p, "\"%s\" data is not base64: %s",
		    KEY_TENSOR, why);
		free(why);
		return (NULL);
	}

	v = courier_tensor_new((enum courier_dtype)dt, ndim, dims, bytes,
	    nbytes, &why);
	if (v == NULL) {
		path_error(cause, p, "%s", why);
		free(why);
	}
	free(bytes);
	return (v);
}

/* A list from a JSON array at nesting level level. */
static courier_value *
list_from_json(json_t *j, struct jpath *p, unsigned level, char **cause)
{
	courier_value	*list, *item;
	json_t		*ji;
	size_t		 i;

	list = courier_list_new();
	json_array_foreach(j, i, ji) {
		path_push_index(p, i);
		item = from_json(ji, p, level, cause);
		if (item == NULL) {
			courier_value_unref(list);
			return (NULL);
		}
		if (courier_list_append(list, item) != 0) {
			path_error(cause, p, "cannot append to the list");
			courier_value_unref(list);
			return (NULL);
		}
		path_pop(p);
	}
	return (list);
}

/* A dict, bytes or tensor from a JSON object at nesting level level. */
static courier_value *
object_from_json(json_t *j, struct jpath *p, unsigned level, char **cause)
{
	courier_value	*dict, *val;
	json_t		*jv;
	const char	*key;

	json_object_foreach(j, key, jv) {
		if (strcmp(key, KEY_BYTES) != 0 && strcmp(key, KEY_TENSOR) != 0)
			continue;
		if (json_object_size(j) != 1) {
			path_error(cause, p, "\"%s\" must be the only key of "
			    "its object", key);
			return (NULL);
		}
		if (strcmp(key, KEY_BYTES) == 0)
			return (bytes_from_json(jv, p, cause));
		return (tensor_from_json(jv, p, cause));
	}

	if (level > COURIER_MAX_DEPTH) {
		path_error(cause, p, "nesting deeper than %d",
		    COURIER_MAX_DEPTH);
		return (NULL);
	}
	dict = courier_dict_new();
	json_object_foreach(j, key, jv) {
		path_push_key(p, key);
		if ((val = from_json(jv, p, level, cause)) == NULL) {
			courier_value_unref(dict);
			return (NULL);
		}
		if (courier_dict_set(dict, key, val) != 0) {
			path_error(cause, p, "cannot set this key");
			courier_value_unref(dict);
			return (NULL);
		}
		path_pop(p);
	}
	return (dict);
}

/* A value from a jansson tree, inside level - 1 lists or dicts. */
static courier_value *
from_json(json_t *j, struct jpath *p, unsigned level, char **cause)
{
	courier_value	*v;

	switch (json_typeof(j)) {
	case JSON_NULL:
		return (courier_null());
	case JSON_TRUE:
		return (courier_bool(true));
	case JSON_FALSE:
		return (courier_bool(false));
	case JSON_INTEGER:
		return (courier_int(json_integer_value(j)));
	case JSON_REAL:
		return (courier_double(json_real_value(j)));
	case JSON_STRING:
		v = courier_string_len(json_string_value(j),
		    json_string_length(j));
		if (v == NULL)
			path_error(cause, p, "string is not valid UTF-8");
		return (v);
	case JSON_ARRAY:
		if (level + 1 > COURIER_MAX_DEPTH) {
			path_error(cause, p, "nesting deeper than %d",
			    COURIER_MAX_DEPTH);
			return (NULL);
		}
		return (list_from_json(j, p, level + 1, cause));
	case JSON_OBJECT:
		return (object_from_json(j, p, level + 1, cause));
	}
	path_error(cause, p, "unknown JSON type");
	return (NULL);
}

/*
 * Copy text with ".0" after each integer that does not fit in int64, so
 * that jansson (which refuses them) reads them as doubles. The offsets of
 * the insertions in text go to *ins (the caller frees).
 */
static char *
widen_big_ints(const char *text, size_t **ins, size_t *nins)
{
	const char	*s;
	char		*out, *o;
	size_t		 i, j, n = 0, k;

	*ins = NULL;
	for (i = 0; text[i] != '\0'; /* nothing */) {
		if (text[i] == '"') {
			for (i++; text[i] != '\0' && text[i] != '"'; i++) {
				if (text[i] == '\\' && text[i + 1] != '\0')
					i++;
			}
			if (text[i] == '"')
				i++;
			continue;
		}
		if (isalpha((unsigned char)text[i])) {
			while (isalnum((unsigned char)text[i]))
				i++;
			continue;
		}
		if (text[i] != '-' && !isdigit((unsigned char)text[i])) {
			i++;
			continue;
		}
		j = i;
		if (text[j] == '-')
			j++;
		while (isdigit((unsigned char)text[j]))
			j++;
		if (text[j] == '.' || text[j] == 'e' || text[j] == 'E') {
			while (text[j] != '\0' && strchr("0123456789.eE+-",
			    text[j]) != NULL)
				j++;
		} else if (j > i + (text[i] == '-')) {
			errno = 0;
			(void)strtoll(text + i, NULL, 10);
			if (errno == ERANGE) {
				*ins = xreallocarray(*ins, n + 1, sizeof **ins);
				(*ins)[n++] = j;
			}
		}
		i = j > i ? j : i + 1;
	}
	*nins = n;
	if (n == 0)
		return (NULL);

	o = out = xmalloc(strlen(text) + 2 * n + 1);
	for (s = text, k = 0; k < n; k++) {
		memcpy(o, s, (size_t)(text + (*ins)[k] - s));
		o += text + (*ins)[k] - s;
		s = text + (*ins)[k];
		*o++ = '.';
		*o++ = '0';
	}
	strcpy(o, s);
	return (out);
}

/*
 * Describe a jansson parse error as "line L column C: text". parsed is the
 * text jansson read; ins and nins say where ".0" was inserted into the
 * caller's text, so that the column is the caller's.
 */
static void
parse_error(char **cause, const json_error_t *e, const char *text,
    const char *parsed, const size_t *ins, size_t nins)
{
	const char	*open, *close;
	size_t		 pos, k, orig, line_start;
	int		 column = e->column;
	char		*key;
	int		 keylen;

	pos = e->position < 0 ? 0 : (size_t)e->position;
	if (pos > strlen(parsed))
		pos = strlen(parsed);
	for (k = 0; k < nins && ins[k] + 2 * k < pos; k++)
		/* nothing */;
	orig = pos - 2 * k;
	line_start = orig;
	while (line_start > 0 && text[line_start - 1] != '\n')
		line_start--;
	while (k > 0 && ins[k - 1] >= line_start) {
		column -= 2;
		k--;
	}

	/* jansson quotes short duplicate keys only: quote it ourselves. */
	if (json_error_code(e) == json_error_duplicate_key && pos > 0 &&
	    parsed[pos - 1] == '"') {
		close = parsed + pos - 1;
		for (open = close - 1; open > parsed; open--) {
			if (*open != '"')
				continue;
			/* Count the backslashes before the quote. */
			for (k = 0; open - k > parsed && *(open - k - 1) == '\\';
			    k++)
				/* nothing */;
			if (k % 2 == 0)
				break;
		}
		keylen = (int)(close - open + 1);
		if (keylen > DUP_KEY_MAX) {
			keylen = DUP_KEY_MAX;
			while (keylen > 1 &&
			    ((unsigned char)open[keylen] & 0xc0) == 0x80)
				keylen--;
			xasprintf(&key, "%.*s...\"", keylen, open);
		} else
			xasprintf(&key, "%.*s", keylen, open);
		set_cause(cause, "line %d column %d: duplicate key %s",
		    e->line, column, key);
		free(key);
		return;
	}
	set_cause(cause, "line %d column %d: %s", e->line, column, e->text);
}

/* Parse JSON text into a value; NULL with *cause set on error. */
courier_value *
courier_value_from_json(const char *text, char **cause)
{
	courier_value	*v;
	struct jpath	 path;
	json_error_t	 e;
	json_t		*root;
	size_t		*ins = NULL, nins = 0;
	size_t		 flags;
	char		*wide = NULL;

	if (text == NULL) {
		set_cause(cause, "no JSON text");
		return (NULL);
	}
	flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
	root = json_loads(text, flags, &e);
	if (root == NULL && json_error_code(&e) == json_error_numeric_overflow)
		wide = widen_big_ints(text, &ins, &nins);
	if (wide != NULL)
		root = json_loads(wide, flags, &e);
	if (root == NULL) {
		parse_error(cause, &e, text, wide != NULL ? wide : text, ins,
		    nins);
		free(wide);
		free(ins);
		return (NULL);
	}
	free(wide);
	free(ins);

	path.n = 0;
	v = from_json(root, &path, 0, cause);
	json_decref(root);
	return (v);
}

static json_t *to_json(const courier_value *, struct tojson *);

/* Raise the digits that every double so far needs to round-trip. */
static void
need_precision(double d, struct tojson *tj)
{
	char	 buf[64];

	while (tj->precision < 17) {
		snprintf(buf, sizeof buf, "%.*g", tj->precision, d);
		if (strtod(buf, NULL) == d)
			return;
		tj->precision++;
	}
}

/* A JSON object with one member, key, holding inner (stolen). */
static json_t *
tagged(const char *key, json_t *inner)
{
	json_t	*o;

	if (inner == NULL)
		return (NULL);
	if ((o = json_object()) == NULL) {
		json_decref(inner);
		return (NULL);
	}
	/* json_object_set_new() releases inner if it fails. */
	if (json_object_set_new(o, key, inner) != 0) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

/* A base64 JSON string of len bytes. */
static json_t *
base64_json(const void *data, size_t len)
{
	json_t	*j;
	char	*text;

	text = base64_encode(data, len);
	j = json_string(text);
	free(text);
	return (j);
}

/* The {"$tensor": {...}} form of a tensor. */
static json_t *
tensor_to_json(const courier_value *v)
{
	json_t		*inner, *shape;
	const int64_t	*dims;
	const void	*data;
	size_t		 ndim, nbytes, i;

	/* Each member goes in at once, so that inner owns it from then on. */
	if ((inner = json_object()) == NULL)
		return (NULL);
	if (json_object_set_new(inner, "dtype",
	    json_string(courier_dtype_name(courier_tensor_dtype(v)))) != 0)
		goto fail;
	if (json_object_set_new(inner, "shape", json_array()) != 0)
		goto fail;
	shape = json_object_get(inner, "shape");
	ndim = courier_tensor_shape(v, &dims);
	for (i = 0; i < ndim; i++) {
		if (json_array_append_new(shape, json_integer(dims[i])) != 0)
			goto fail;
	}
	data = courier_tensor_data(v, &nbytes);
	if (json_object_set_new(inner, "data", base64_json(data, nbytes)) != 0)
		goto fail;
	return (tagged(KEY_TENSOR, inner));

fail:
	json_decref(inner);
	return (NULL);
}

/* A list's JSON array. */
static json_t *
list_to_json(const courier_value *v, struct tojson *tj)
{
	json_t	*a, *item;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return (NULL);
	for (i = 0; i < courier_list_len(v); i++) {
		path_push_index(&tj->path, i);
		item = to_json(courier_list_get(v, i), tj);
		if (item == NULL || json_array_append_new(a, item) != 0) {
			json_decref(a);
			return (NULL);
		}
		path_pop(&tj->path);
	}
	return (a);
}

/* A dict's JSON object; keys that would read back as bytes or tensors fail. */
static json_t *
dict_to_json(const courier_value *v, struct tojson *tj)
{
	json_t		*o, *val;
	const char	*key;
	size_t		 i;

	if ((o = json_object()) == NULL)
		return (NULL);
	for (i = 0; i < courier_dict_len(v); i++) {
		key = courier_dict_key(v, i);
		if (strcmp(key, KEY_BYTES) == 0 ||
		    strcmp(key, KEY_TENSOR) == 0) {
			path_error(tj->cause, &tj->path, "key \"%s\" is "
			    "reserved in JSON", key);
			json_decref(o);
			return (NULL);
		}
		path_push_key(&tj->path, key);
		val = to_json(courier_dict_value(v, i), tj);
		if (val == NULL || json_object_set_new(o, key, val) != 0) {
			json_decref(o);
			return (NULL);
		}
		path_pop(&tj->path);
	}
	return (o);
}

/*
 * The jansson tree of a value. On failure, *tj->cause is set where the
 * trouble is known; the caller fills in a generic cause otherwise.
 */
static json_t *
to_json(const courier_value *v, struct tojson *tj)
{
	const void	*data;
	const char	*s;
	size_t		 len;
	double		 d;

	switch (courier_value_type(v)) {
	case COURIER_NULL:
		return (json_null());
	case COURIER_BOOL:
		return (json_boolean(courier_value_bool(v)));
	case COURIER_INT:
		return (json_integer(courier_value_int(v)));
	case COURIER_DOUBLE:
		d = courier_value_double(v);
		if (!isfinite(d)) {
			path_error(tj->cause, &tj->path, "%s has no JSON form",
			    isnan(d) ? "NaN" : "infinity");
			return (NULL);
		}
		need_precision(d, tj);
		return (json_real(d));
	case COURIER_STRING:
		s = courier_value_string(v, &len);
		return (json_stringn(s, len));
	case COURIER_BYTES:
		data = courier_value_bytes(v, &len);
		return (tagged(KEY_BYTES, base64_json(data, len)));
	case COURIER_LIST:
		return (list_to_json(v, tj));
	case COURIER_DICT:
		return (dict_to_json(v, tj));
	case COURIER_TENSOR:
		return (tensor_to_json(v));
	}
	path_error(tj->cause, &tj->path, "unknown value type %d",
	    (int)courier_value_type(v));
	return (NULL);
}

/*
 * Format a value as JSON, compact or indented by two. Doubles get the
 * fewest digits (15 to 17) that read every double of the value back
 * exactly, so 0.1 prints as 0.1. Text stays UTF-8 (no \u escapes beyond
 * control characters and NUL).
 */
char *
courier_value_to_json(const courier_value *v, bool pretty, char **cause)
{
	struct tojson	 tj;
	json_t		*root;
	char		*text, *local = NULL;
	size_t		 flags;

	tj.path.n = 0;
	tj.precision = 15;
	tj.cause = &local;
	if ((root = to_json(v, &tj)) == NULL) {
		if (local == NULL)
			path_error(&local, &tj.path, "cannot make JSON");
		if (cause != NULL)
			*cause = local;
		else
			free(local);
		return (NULL);
	}
	flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(tj.precision);
	flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
	text = json_dumps(root, flags);
	json_decref(root);
	if (text == NULL)
		set_cause(cause, "cannot format JSON");
	return (text);
}
