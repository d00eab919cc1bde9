/*
 * program-diag.c: what a program file's check says, and where: each error
 * with its place in the file (nodes[1].config.producers), every one at
 * once up to ERRORS_MAX lines, values quoted and cut short, and the
 * nearest known name for a misspelt one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program-load.h"

#define QUOTE_MAX		64	/* bytes a message quotes */
#define SUGGEST_MAX		2	/* edit distance of a suggestion */

/* A string quoted for a message: escaped, cut after QUOTE_MAX bytes. */
char *
pl_quote(const char *s, size_t len)
{
	struct sbuf	 b = { NULL, 0, 0 };
	size_t		 cut = len;

	if (len > QUOTE_MAX) {
		cut = QUOTE_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	lpd_sbuf_json_string(&b, s, cut);
	if (cut != len) {
		lpd_sbuf_truncate(&b, b.len - 1);
		lpd_sbuf_puts(&b, "...\"");
	}
	return (lpd_sbuf_take(&b));
}

/*
 * A message of jansson's with its control bytes escaped (it quotes the
 * file's token raw), so that an error stays on its one line.
 */
char *
pl_one_line(const char *s)
{
	struct sbuf	 b = { NULL, 0, 0 };
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '\n')
			lpd_sbuf_puts(&b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			lpd_sbuf_printf(&b, "\\x%02x", c);
		else
			lpd_sbuf_add(&b, s, 1);
	}
	return (lpd_sbuf_take(&b));
}

/* A JSON value described for a message: "a string", 1.5, an array. */
char *
pl_describe(json_t *v)
{
	char	*s;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return (xstrdup("an object"));
	case JSON_ARRAY:
		return (xstrdup("an array"));
	case JSON_STRING:
		return (pl_quote(json_string_value(v), json_string_length(v)));
	case JSON_INTEGER:
		xasprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return (s);
	case JSON_REAL:
		xasprintf(&s, "%g", json_real_value(v));
		return (s);
	case JSON_TRUE:
		return (xstrdup("true"));
	case JSON_FALSE:
		return (xstrdup("false"));
	case JSON_NULL:
		break;
	}
	return (xstrdup("null"));
}

/* Whether len bytes of s are a valid program or group name. */
bool
pl_name_valid(const char *s, size_t len)
{
	size_t	 i;
	char	 c;

	if (len == 0 || len > LPD_NAME_MAX)
		return (false);
	for (i = 0; i < len; i++) {
		c = s[i];
		if ((c < 'a' || c > 'z') && (c < 'A' || c > 'Z') &&
		    (c < '0' || c > '9') && c != '_' && c != '.' && c != '-')
			return (false);
	}
	return (true);
}

/* Whether v is a string with no NUL byte (one C can hold). */
bool
pl_is_cstring(json_t *v)
{
	return (json_is_string(v) &&
	    strlen(json_string_value(v)) == json_string_length(v));
}

/* Whether v is a string equal to s. */
bool
pl_string_is(json_t *v, const char *s)
{
	return (pl_is_cstring(v) && strcmp(json_string_value(v), s) == 0);
}

/*
 * The edit distance of a and b (optimal string alignment: insertions,
 * deletions, substitutions and swaps of neighbours), or SUGGEST_MAX + 1
 * when it is larger than SUGGEST_MAX.
 */
static size_t
distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t	 i, j, best, d;
	size_t	 rows[3][LPD_NAME_MAX + SUGGEST_MAX + 2];
	size_t	*prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;

	if (la > lb + SUGGEST_MAX || lb > la + SUGGEST_MAX ||
	    lb > LPD_NAME_MAX + SUGGEST_MAX)
		return (SUGGEST_MAX + 1);
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = best = i;
		for (j = 1; j <= lb; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < best)
				best = d;
		}
		if (best > SUGGEST_MAX)
			return (SUGGEST_MAX + 1);
		tmp = prev2;
		prev2 = prev;
		prev = cur;
		cur = tmp;
	}
	return (prev[lb] > SUGGEST_MAX ? SUGGEST_MAX + 1 : prev[lb]);
}

/* Keep candidate if it is nearer to word than the best so far. */
static void
suggest_try(const char *word, size_t wlen, const char *candidate,
    const char **best, size_t *bestd)
{
	size_t	 d, clen = strlen(candidate), longest;

	longest = wlen > clen ? wlen : clen;
	if ((d = distance(word, wlen, candidate, clen)) == 0)
		return;
	/* Two edits make "zz" of "a": suggest only what stays similar. */
	if (d < *bestd && d * 2 < longest) {
		*best = candidate;
		*bestd = d;
	}
}

/* " (did you mean "X"?)" for the nearest of n names, or "". */
char *
pl_suggest(const char *word, const char *const *names, size_t n)
{
	const char	*best = NULL;
	size_t		 bestd = SUGGEST_MAX + 1, i, wlen = strlen(word);
	char		*s;

	for (i = 0; i < n; i++)
		suggest_try(word, wlen, names[i], &best, &bestd);
	if (best == NULL)
		return (xstrdup(""));
	xasprintf(&s, " (did you mean \"%s\"?)", best);
	return (s);
}

/* " (did you mean "X"?)" for the nearest group name, or "". */
char *
pl_suggest_group(struct loader *l, const char *word)
{
	const char	*best = NULL, *key;
	size_t		 bestd = SUGGEST_MAX + 1, wlen = strlen(word);
	json_t		*v;
	char		*s;

	json_object_foreach(l->priv->byname, key, v)
		suggest_try(word, wlen, key, &best, &bestd);
	if (best == NULL)
		return (xstrdup(""));
	xasprintf(&s, " (did you mean \"%s\"?)", best);
	return (s);
}

/* Whether more errors would still be shown (suggestions cost time). */
bool
pl_errors_shown(struct loader *l)
{
	return (l->nerrors < ERRORS_MAX);
}

/* Record an error line as it is. */
static void	verror_line(struct loader *, const char *, const char *,
		    va_list) COURIER_PRINTF(3, 0);
static void
verror_line(struct loader *l, const char *place, const char *fmt, va_list ap)
{
	char	*msg;

	if (++l->nerrors > ERRORS_MAX)
		return;
	xvasprintf(&msg, fmt, ap);
	if (l->errors.len != 0)
		lpd_sbuf_add(&l->errors, "\n", 1);
	if (place != NULL)
		lpd_sbuf_printf(&l->errors, "%s: %s: %s", l->file, place, msg);
	else
		lpd_sbuf_puts(&l->errors, msg);
	free(msg);
}

/* Record an error that names no place (its text is complete). */
void
pl_error_line(struct loader *l, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror_line(l, NULL, fmt, ap);
	va_end(ap);
}

/* Record an error at the current place. */
void
pl_error_at(struct loader *l, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror_line(l, l->path.len != 0 ? l->path.s : "top level", fmt, ap);
	va_end(ap);
}

/* Record "must be X, not <what v is>" at the current place. */
void
pl_error_type(struct loader *l, json_t *v, const char *what)
{
	char	*d;

	d = pl_describe(v);
	pl_error_at(l, "must be %s, not %s", what, d);
	free(d);
}

/* Whether c may be part of a key that follows a dot in a place. */
bool
pl_key_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '$');
}

/* Whether key can follow a dot in a place. */
static bool
plain_key(const char *key)
{
	const char	*s;

	if (*key == '\0' || (*key >= '0' && *key <= '9'))
		return (false);
	for (s = key; *s != '\0'; s++) {
		if (!pl_key_char(*s))
			return (false);
	}
	return (true);
}

/* Step into key of an object; returns what path_pop takes. */
size_t
pl_path_push_key(struct loader *l, const char *key)
{
	size_t	 old = l->path.len;

	if (plain_key(key)) {
		if (old != 0)
			lpd_sbuf_add(&l->path, ".", 1);
		lpd_sbuf_puts(&l->path, key);
	} else {
		lpd_sbuf_add(&l->path, "[", 1);
		lpd_sbuf_json_string(&l->path, key, strlen(key));
		lpd_sbuf_add(&l->path, "]", 1);
	}
	return (old);
}

/* Step into item i of an array. */
size_t
pl_path_push_index(struct loader *l, size_t i)
{
	size_t	 old = l->path.len;

	lpd_sbuf_printf(&l->path, "[%zu]", i);
	return (old);
}

/* Step back out. */
void
pl_path_pop(struct loader *l, size_t old)
{
	lpd_sbuf_truncate(&l->path, old);
}

/* Whether key is a replay node's command, which lpd has by default. */
static bool
replay_default(struct loader *l, const char *key)
{
	return (l->g != NULL && strcmp(key, "command") == 0 &&
	    l->entries[l->gi].type == LPD_TYPE_REPLAY);
}

/*
 * Check the keys of obj against a table: report each missing required key,
 * then walk the keys in file order, checking known ones and reporting the
 * others with the nearest known key.
 */
void
pl_check_keys(struct loader *l, json_t *obj, const struct key *table, size_t n)
{
	const char	*key, *names[16];
	json_t		*v;
	size_t		 i, old;
	char		*hint, *q;

	if (n > nitems(names))
		fatalx("%s: table too long", __func__);
	for (i = 0; i < n; i++) {
		names[i] = table[i].name;
		if (table[i].required &&
		    json_object_get(obj, table[i].name) == NULL &&
		    !replay_default(l, table[i].name)) {
			old = pl_path_push_key(l, table[i].name);
			pl_error_at(l, "missing required key \"%s\"",
			    table[i].name);
			pl_path_pop(l, old);
		}
	}
	json_object_foreach(obj, key, v) {
		old = pl_path_push_key(l, key);
		for (i = 0; i < n; i++) {
			if (strcmp(key, table[i].name) == 0)
				break;
		}
		if (i < n)
			table[i].fn(l, obj, v);
		else if (pl_errors_shown(l)) {
			q = pl_quote(key, strlen(key));
			hint = pl_suggest(key, names, n);
			pl_error_at(l, "unknown key %s%s", q, hint);
			free(hint);
			free(q);
		} else
			pl_error_at(l, "unknown key");
		pl_path_pop(l, old);
	}
}
