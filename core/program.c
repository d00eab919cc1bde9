/*
 * program.c: the program file. Load a JSON program description and check
 * all of it before anything starts, reporting every error at once with its
 * place (nodes[1].config.producers); resolve each group's command and
 * working directory; record the handle references of each group's config
 * as the edges of the graph. program-config.c later hands each node its
 * config with the references replaced by addresses, and program-dot.c
 * draws the program as Graphviz DOT. jansson is used in these three and
 * nowhere else in lpd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "courier-internal.h"
#include "lpd.h"
#include "program.h"

#define CONFIG_DEPTH_MAX	COURIER_MAX_DEPTH /* nested containers */
#define ERRORS_MAX		100	/* error lines, then a count */
#define QUOTE_MAX		64	/* bytes a message quotes */
#define SUGGEST_MAX		2	/* edit distance of a suggestion */
#define GRACE_MAX		86400	/* stop.grace_s */
#define RESTARTS_MAX		1000000	/* max_restarts */
#define INDEX_DIGITS_MAX	9	/* of GROUP/INDEX, at most */

/* What the first pass learns of a node entry, for handle references. */
struct entry {
	int		 type;		/* -1: unknown */
	unsigned	 replicas;	/* 0 unknown */
};

/* The state of one load. */
struct loader {
	const char		*file;		/* as given */
	const char		*pathenv;	/* PATH to resolve commands on */
	const char		*cwd;		/* for PATH's relative entries */
	struct lpd_program	*p;
	struct program_private	*priv;
	struct entry		*entries;	/* one per nodes[i] */
	struct sbuf		 path;		/* the current place */
	struct sbuf		 errors;
	size_t			 nerrors;
	struct lpd_group	*g;		/* the group being checked */
	size_t			 gi;
	size_t			 edges_cap;
	unsigned long		 nnodes;
	bool			 config_ok;	/* the group's, so far */
};

/* A key of an object in the file, and what checks its value. */
struct key {
	const char	*name;
	bool		 required;
	void		(*fn)(struct loader *, json_t *, json_t *);
};

static void	 error_at(struct loader *, const char *, ...)
		    COURIER_PRINTF(2, 3);
static void	 error_line(struct loader *, const char *, ...)
		    COURIER_PRINTF(2, 3);

/* A string quoted for a message: escaped, cut after QUOTE_MAX bytes. */
static char *
quote(const char *s, size_t len)
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
static char *
one_line(const char *s)
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
static char *
describe(json_t *v)
{
	char	*s;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return (xstrdup("an object"));
	case JSON_ARRAY:
		return (xstrdup("an array"));
	case JSON_STRING:
		return (quote(json_string_value(v), json_string_length(v)));
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
static bool
name_valid(const char *s, size_t len)
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
static bool
is_cstring(json_t *v)
{
	return (json_is_string(v) &&
	    strlen(json_string_value(v)) == json_string_length(v));
}

/* Whether v is a string equal to s. */
static bool
string_is(json_t *v, const char *s)
{
	return (is_cstring(v) && strcmp(json_string_value(v), s) == 0);
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
static char *
suggest(const char *word, const char *const *names, size_t n)
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
static char *
suggest_group(struct loader *l, const char *word)
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
static bool
errors_shown(struct loader *l)
{
	return (l->nerrors < ERRORS_MAX);
}

/* Record an error line as it is. */
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
static void
error_line(struct loader *l, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror_line(l, NULL, fmt, ap);
	va_end(ap);
}

/* Record an error at the current place. */
static void
error_at(struct loader *l, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror_line(l, l->path.len != 0 ? l->path.s : "top level", fmt, ap);
	va_end(ap);
}

/* Record "must be X, not <what v is>" at the current place. */
static void
error_type(struct loader *l, json_t *v, const char *what)
{
	char	*d;

	d = describe(v);
	error_at(l, "must be %s, not %s", what, d);
	free(d);
}

/* Whether c may be part of a key that follows a dot in a place. */
static bool
key_char(char c)
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
		if (!key_char(*s))
			return (false);
	}
	return (true);
}

/* Step into key of an object; returns what path_pop takes. */
static size_t
path_push_key(struct loader *l, const char *key)
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
static size_t
path_push_index(struct loader *l, size_t i)
{
	size_t	 old = l->path.len;

	lpd_sbuf_printf(&l->path, "[%zu]", i);
	return (old);
}

/* Step back out. */
static void
path_pop(struct loader *l, size_t old)
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
static void
check_keys(struct loader *l, json_t *obj, const struct key *table, size_t n)
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
			old = path_push_key(l, table[i].name);
			error_at(l, "missing required key \"%s\"",
			    table[i].name);
			path_pop(l, old);
		}
	}
	json_object_foreach(obj, key, v) {
		old = path_push_key(l, key);
		for (i = 0; i < n; i++) {
			if (strcmp(key, table[i].name) == 0)
				break;
		}
		if (i < n)
			table[i].fn(l, obj, v);
		else if (errors_shown(l)) {
			q = quote(key, strlen(key));
			hint = suggest(key, names, n);
			error_at(l, "unknown key %s%s", q, hint);
			free(hint);
			free(q);
		} else
			error_at(l, "unknown key");
		path_pop(l, old);
	}
}

/*
 * Split a handle reference "GROUP" or "GROUP/INDEX": the group's length
 * and the index (-1 if none, -2 if it is not a number).
 */
size_t
lpd_program_reference_split(const char *s, long *index)
{
	const char	*slash, *d;

	if ((slash = strchr(s, '/')) == NULL) {
		*index = -1;
		return (strlen(s));
	}
	*index = -2;
	d = slash + 1;
	if (*d == '\0' || strlen(d) > INDEX_DIGITS_MAX ||
	    (d[0] == '0' && d[1] != '\0'))
		return ((size_t)(slash - s));
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return ((size_t)(slash - s));
	}
	*index = strtol(slash + 1, NULL, 10);
	return ((size_t)(slash - s));
}

/*
 * Whether obj is a handle reference (an object of one key, "$handle" or
 * "$handles"); *all says which and *value is its (checked) value.
 */
bool
lpd_program_is_reference(json_t *obj, bool *all, json_t **value)
{
	json_t	*v;

	if (json_object_size(obj) != 1)
		return (false);
	if ((v = json_object_get(obj, KEY_HANDLE)) != NULL)
		*all = false;
	else if ((v = json_object_get(obj, KEY_HANDLES)) != NULL)
		*all = true;
	else
		return (false);
	*value = v;
	return (true);
}

/* Add an edge to the group being checked. */
static void
edge_add(struct loader *l, size_t target, int index)
{
	struct lpd_group	*g = l->g;

	if (g->nedges == l->edges_cap) {
		l->edges_cap = l->edges_cap == 0 ? 4 : l->edges_cap * 2;
		g->edges = xreallocarray(g->edges, l->edges_cap,
		    sizeof *g->edges);
	}
	g->edges[g->nedges].target = target;
	g->edges[g->nedges].index = index;
	g->nedges++;
}

/* Order edges by target group, the whole group first, then by index. */
static int
edge_cmp(const void *a0, const void *b0)
{
	const struct lpd_edge	*a = a0, *b = b0;

	if (a->target != b->target)
		return (a->target < b->target ? -1 : 1);
	if (a->index != b->index)
		return (a->index < b->index ? -1 : 1);
	return (0);
}

/*
 * Sort a group's edges and keep each once; an edge to one node of a group
 * that the config also holds whole is dropped (the whole group covers it).
 */
static void
edges_finish(struct lpd_group *g)
{
	size_t	 i, n = 0;

	if (g->nedges == 0)
		return;
	qsort(g->edges, g->nedges, sizeof *g->edges, edge_cmp);
	for (i = 0; i < g->nedges; i++) {
		if (n != 0 && g->edges[n - 1].target == g->edges[i].target &&
		    (g->edges[n - 1].index == g->edges[i].index ||
		    g->edges[n - 1].index == -1))
			continue;
		g->edges[n++] = g->edges[i];
	}
	g->nedges = n;
	g->edges = xreallocarray(g->edges, n, sizeof *g->edges);
}

/* Check a handle reference object and record its edge. */
static void
check_reference(struct loader *l, json_t *obj)
{
	struct entry	*e;
	const char	*key, *s;
	json_t		*v, *t;
	bool		 all;
	size_t		 len, ti;
	long		 index;
	char		*name, *q, *hint;

	key = json_object_get(obj, KEY_HANDLE) != NULL ? KEY_HANDLE :
	    KEY_HANDLES;
	if (!lpd_program_is_reference(obj, &all, &v)) {
		error_at(l, "\"%s\" must be the only key of its object", key);
		return;
	}
	if (!is_cstring(v)) {
		q = describe(v);
		error_at(l, "\"%s\" must be a string naming %s, not %s", key,
		    all ? "a group" : "a group or a node (GROUP/INDEX)", q);
		free(q);
		return;
	}
	s = json_string_value(v);
	len = lpd_program_reference_split(s, &index);
	if (all && index != -1) {
		q = quote(s, strlen(s));
		error_at(l, "\"%s\" takes a group name, not %s; for one node "
		    "use {\"%s\": %s}", key, q, KEY_HANDLE, q);
		free(q);
		return;
	}
	if (index == -2) {
		q = quote(s, strlen(s));
		error_at(l, "bad node %s: the index after '/' must be a "
		    "number from 0", q);
		free(q);
		return;
	}

	name = xstrndup(s, len);
	q = quote(name, len);
	if ((t = json_object_get(l->priv->byname, name)) == NULL) {
		hint = errors_shown(l) ? suggest_group(l, name) : xstrdup("");
		error_at(l, "no group %s%s", q, hint);
		free(hint);
		goto out;
	}
	ti = (size_t)json_integer_value(t);
	e = &l->entries[ti];
	if (e->type == LPD_TYPE_PROCESS) {
		error_at(l, "group %s is a process node; handles point at "
		    "courier nodes only", q);
		goto out;
	}
	if (index >= 0) {
		if (e->replicas != 0 && (unsigned long)index >= e->replicas) {
			error_at(l, "no node %ld in group %s: it has %u "
			    "node%s (index 0 to %u)", index, q, e->replicas,
			    e->replicas == 1 ? "" : "s", e->replicas - 1);
			goto out;
		}
		if (index >= LPD_REPLICAS_MAX) {
			error_at(l, "no node %ld in group %s", index, q);
			goto out;
		}
	} else if (!all && e->replicas > 1) {
		error_at(l, "group %s has %u nodes: name one with "
		    "{\"%s\": \"%s/0\"}, or take them all with "
		    "{\"%s\": \"%s\"}", q, e->replicas, KEY_HANDLE, name,
		    KEY_HANDLES, name);
		goto out;
	}
	if (e->type != -1 && lpd_type_serves(e->type) && e->replicas != 0)
		edge_add(l, ti, all ? -1 : (int)(index >= 0 ? index : 0));
out:
	free(q);
	free(name);
}

/* Walk a config (level containers deep): references, '$' keys, depth. */
static void
check_config(struct loader *l, json_t *v, unsigned level)
{
	static const char *const dollar[] = {
		KEY_HANDLE, KEY_HANDLES, KEY_BYTES, KEY_TENSOR
	};
	const char	*key;
	json_t		*item;
	size_t		 i, old;
	char		*hint, *q;

	if (!json_is_array(v) && !json_is_object(v))
		return;
	if (level >= CONFIG_DEPTH_MAX) {
		error_at(l, "nests deeper than %d levels", CONFIG_DEPTH_MAX);
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			old = path_push_index(l, i);
			check_config(l, item, level + 1);
			path_pop(l, old);
		}
		return;
	}
	if (json_object_get(v, KEY_HANDLE) != NULL ||
	    json_object_get(v, KEY_HANDLES) != NULL) {
		check_reference(l, v);
		return;
	}
	/* Bytes and tensors: libcourier checks them (check_values). */
	if (json_object_get(v, KEY_BYTES) != NULL ||
	    json_object_get(v, KEY_TENSOR) != NULL)
		return;
	json_object_foreach(v, key, item) {
		old = path_push_key(l, key);
		if (key[0] == '$') {
			hint = errors_shown(l) ?
			    suggest(key, dollar, nitems(dollar)) : xstrdup("");
			q = quote(key, strlen(key));
			error_at(l, "unknown key %s%s: keys starting with "
			    "'$' are reserved", q, hint);
			free(q);
			free(hint);
		} else
			check_config(l, item, level + 1);
		path_pop(l, old);
	}
}

/*
 * Have libcourier read the config as the node will (bytes, tensors): an
 * error there is an error of the file. Its place, "$.x[1]: ...", is made
 * one of ours.
 */
static void
check_values(struct loader *l, json_t *config)
{
	struct sbuf	 b = { NULL, 0, 0 };
	courier_value	*v;
	char		*cause = NULL, *c, *end;
	size_t		 old;

	lpd_program_emit(&b, config, NULL, NULL, NULL);
	v = courier_value_from_json(b.s, &cause);
	free(b.s);
	if (v != NULL) {
		courier_value_unref(v);
		return;
	}
	if (cause == NULL) {
		error_at(l, "cannot be read");
		return;
	}
	c = cause;
	end = NULL;
	if (*c == '$') {
		for (c++; *c == '.' || *c == '['; /* nothing */) {
			if (*c == '.') {
				for (c++; key_char(*c); c++)
					/* nothing */;
			} else if (c[1] == '"') {
				for (c += 2; *c != '\0' && *c != '"'; c++) {
					if (*c == '\\' && c[1] != '\0')
						c++;
				}
				if (*c == '"' && c[1] == ']')
					c += 2;
				else
					break;
			} else {
				while (*c != '\0' && *c != ']')
					c++;
				if (*c == ']')
					c++;
			}
		}
		if (c[0] == ':' && c[1] == ' ')
			end = c;
	}
	if (end == NULL) {
		error_at(l, "%s", cause);
		free(cause);
		return;
	}
	old = l->path.len;
	lpd_sbuf_add(&l->path, cause + 1, (size_t)(end - cause - 1));
	error_at(l, "%s", end + 2);
	path_pop(l, old);
	free(cause);
}

/* Find an executable: 0, or 1 missing, 2 not a file, 3 not executable. */
static int
try_exec(const char *path)
{
	struct stat	 sb;

	if (stat(path, &sb) != 0)
		return (1);
	if (!S_ISREG(sb.st_mode))
		return (2);
	if (access(path, X_OK) != 0)
		return (3);
	return (0);
}

/* Report why a command found as path cannot run. */
static void
exec_error(struct loader *l, const char *q, const char *path, int why)
{
	char	*qp;

	qp = quote(path, strlen(path));
	/* The path only when it says more than the name (q is quoted). */
	if (strcmp(q, qp) == 0)
		error_at(l, "%s is not %s", q, why == 2 ? "a regular file" :
		    "executable; chmod +x it, or name another command");
	else if (why == 2)
		error_at(l, "%s (%s) is not a regular file", q, qp);
	else
		error_at(l, "%s (%s) is not executable; chmod +x it, or name "
		    "another command", q, qp);
	free(qp);
}

/*
 * Resolve command[0] as the node will run it: an absolute path as it is, a
 * relative path next to the program file, a bare name next to the program
 * file and then on PATH. Store the absolute path in the group.
 */
static void
resolve_command(struct loader *l, const char *cmd)
{
	const char	*pathenv, *entry, *colon;
	char		*candidate, *bad = NULL, *q, cwd[PATH_MAX];
	size_t		 len;
	int		 r, badwhy = 0;

	q = quote(cmd, strlen(cmd));
	if (cmd[0] == '/' || strchr(cmd, '/') != NULL) {
		if (cmd[0] == '/')
			candidate = xstrdup(cmd);
		else
			xasprintf(&candidate, "%s/%s", l->p->dir, cmd);
		if ((r = try_exec(candidate)) == 0) {
			l->g->path = candidate;
			free(q);
			return;
		}
		if (r != 1)
			exec_error(l, q, candidate, r);
		else if (cmd[0] == '/')
			error_at(l, "%s not found", q);
		else
			error_at(l, "%s not found next to %s", q, l->file);
		free(candidate);
		free(q);
		return;
	}

	xasprintf(&candidate, "%s/%s", l->p->dir, cmd);
	if ((r = try_exec(candidate)) == 0) {
		l->g->path = candidate;
		free(q);
		return;
	}
	if (r != 1) {
		bad = candidate;
		badwhy = r;
	} else
		free(candidate);

	if ((pathenv = l->pathenv) == NULL &&
	    (pathenv = getenv("PATH")) == NULL)
		pathenv = "/usr/local/bin:/usr/bin:/bin";
	for (entry = pathenv; *entry != '\0'; entry = colon + 1) {
		if ((colon = strchr(entry, ':')) == NULL)
			colon = entry + strlen(entry);
		len = (size_t)(colon - entry);
		if (len == 0) {
			/* An empty entry is the current folder: skip it. */
		} else if (entry[0] == '/')
			xasprintf(&candidate, "%.*s/%s", (int)len, entry, cmd);
		else if (l->cwd != NULL) {
			/* The user's folder (lpctl launch sends it). */
			xasprintf(&candidate, "%s/%.*s/%s", l->cwd, (int)len,
			    entry, cmd);
		} else if (getcwd(cwd, sizeof cwd) != NULL) {
			xasprintf(&candidate, "%s/%.*s/%s", cwd, (int)len,
			    entry, cmd);
		} else
			len = 0;
		if (len != 0) {
			if ((r = try_exec(candidate)) == 0) {
				l->g->path = candidate;
				free(bad);
				free(q);
				return;
			}
			if (r != 1 && bad == NULL) {
				bad = candidate;
				badwhy = r;
			} else
				free(candidate);
		}
		if (*colon == '\0')
			break;
	}
	if (bad != NULL)
		exec_error(l, q, bad, badwhy);
	else
		error_at(l, "%s not found next to %s nor on PATH", q, l->file);
	free(bad);
	free(q);
}

/* "program": the program's name. */
static void
top_program(struct loader *l, json_t *obj, json_t *v)
{
	char	*q;

	if (!json_is_string(v)) {
		error_type(l, v, "a string");
		return;
	}
	if (!name_valid(json_string_value(v), json_string_length(v))) {
		q = describe(v);
		error_at(l, "%s is not a valid name: 1 to %d letters, digits, "
		    "'_', '.' or '-'", q, LPD_NAME_MAX);
		free(q);
		return;
	}
	l->p->name = xstrdup(json_string_value(v));
}

/* "group" of a node entry. */
static void
node_group(struct loader *l, json_t *obj, json_t *v)
{
	const char	*s;
	json_t		*first;
	size_t		 fi;
	char		*q;

	if (!json_is_string(v)) {
		error_type(l, v, "a string");
		return;
	}
	s = json_string_value(v);
	q = describe(v);
	if (!name_valid(s, json_string_length(v))) {
		error_at(l, "%s is not a valid name: 1 to %d letters, digits, "
		    "'_', '.' or '-'", q, LPD_NAME_MAX);
		free(q);
		return;
	}
	first = json_object_get(l->priv->byname, s);
	fi = first != NULL ? (size_t)json_integer_value(first) : l->gi;
	if (fi != l->gi)
		error_at(l, "duplicate group %s (first in nodes[%zu])", q, fi);
	else
		l->g->name = xstrdup(s);
	free(q);
}

/*
 * Which of names a string field is: its index, or -1 after an error that
 * calls the field a noun ("type", "value") and says what it must be
 * (what: "\"courier\" or \"process\""), with the nearest name as a hint.
 */
static int
one_of(struct loader *l, json_t *v, const char *const *names, size_t n,
    const char *noun, const char *what)
{
	size_t	 i;
	char	*q, *hint;

	for (i = 0; i < n; i++) {
		if (string_is(v, names[i]))
			return ((int)i);
	}
	if (!json_is_string(v)) {
		error_type(l, v, what);
		return (-1);
	}
	q = describe(v);
	hint = is_cstring(v) ? suggest(json_string_value(v), names, n) :
	    xstrdup("");
	error_at(l, "unknown %s %s%s: it must be %s", noun, q, hint, what);
	free(hint);
	free(q);
	return (-1);
}

/* "type" of a node entry. */
static void
node_type(struct loader *l, json_t *obj, json_t *v)
{
	static const char *const	 names[] = {
		"courier", "process", "replay"
	};
	static const enum lpd_node_type	 types[] = {
		LPD_TYPE_COURIER, LPD_TYPE_PROCESS, LPD_TYPE_REPLAY
	};
	int				 i;

	if ((i = one_of(l, v, names, nitems(names), "type",
	    "\"courier\", \"process\" or \"replay\"")) != -1)
		l->g->type = types[i];
}

/* "replicas" of a node entry. */
static void
node_replicas(struct loader *l, json_t *obj, json_t *v)
{
	json_int_t	 n;
	char		 what[64];

	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if (n < 1 || n > LPD_REPLICAS_MAX) {
		snprintf(what, sizeof what, "an integer from 1 to %d",
		    LPD_REPLICAS_MAX);
		error_type(l, v, what);
		return;
	}
	l->g->replicas = (unsigned)n;
}

/* "command" of a node entry: argv, its first string resolved. */
static void
node_command(struct loader *l, json_t *obj, json_t *v)
{
	json_t	*item;
	size_t	 i, old, n;
	bool	 ok = true;

	if (!json_is_array(v)) {
		error_type(l, v, "an array of strings (argv)");
		return;
	}
	if ((n = json_array_size(v)) == 0) {
		error_at(l, "must not be empty: the first string is the "
		    "program to run");
		return;
	}
	json_array_foreach(v, i, item) {
		old = path_push_index(l, i);
		if (!json_is_string(item)) {
			error_type(l, item, "a string");
			ok = false;
		} else if (json_string_length(item) == 0) {
			error_at(l, "must not be empty");
			ok = false;
		} else if (!is_cstring(item)) {
			error_at(l, "must not contain a NUL byte");
			ok = false;
		} else if (i == 0) {
			resolve_command(l, json_string_value(item));
			ok = ok && l->g->path != NULL;
		}
		path_pop(l, old);
	}
	if (!ok)
		return;
	l->g->argv = xcalloc(n + 1, sizeof *l->g->argv);
	json_array_foreach(v, i, item)
		l->g->argv[i] = xstrdup(json_string_value(item));
}

/* "env" of a node entry: variables on top of the user's. */
static void
node_env(struct loader *l, json_t *obj, json_t *v)
{
	const char	*key;
	json_t		*item;
	size_t		 n = 0, old;
	char		**env;

	if (!json_is_object(v)) {
		error_type(l, v, "an object of strings");
		return;
	}
	env = xcalloc(json_object_size(v) + 1, sizeof *env);
	json_object_foreach(v, key, item) {
		old = path_push_key(l, key);
		if (*key == '\0')
			error_at(l, "a variable name must not be empty");
		else if (strchr(key, '=') != NULL)
			error_at(l, "a variable name must not contain '='");
		else if (strncmp(key, "LP_", 3) == 0) {
			error_at(l, "LP_ variables are set by lpd, not by the "
			    "program file");
		} else if (!json_is_string(item))
			error_type(l, item, "a string");
		else if (!is_cstring(item))
			error_at(l, "must not contain a NUL byte");
		else {
			xasprintf(&env[n++], "%s=%s", key,
			    json_string_value(item));
		}
		path_pop(l, old);
	}
	l->g->env = env;
}

/* "cwd" of a node entry: a folder, relative to the program file's. */
static void
node_cwd(struct loader *l, json_t *obj, json_t *v)
{
	struct stat	 sb;
	const char	*s;
	char		*path, *q;

	if (!json_is_string(v)) {
		error_type(l, v, "a string");
		return;
	}
	if (json_string_length(v) == 0 || !is_cstring(v)) {
		error_at(l, "must be a folder's path, not %s",
		    json_string_length(v) == 0 ? "empty" : "with a NUL byte");
		return;
	}
	s = json_string_value(v);
	if (s[0] == '/')
		path = xstrdup(s);
	else
		xasprintf(&path, "%s/%s", l->p->dir, s);
	q = quote(s, strlen(s));
	if (stat(path, &sb) != 0)
		error_at(l, "%s: %s", q, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		error_at(l, "%s is not a directory", q);
	else {
		free(l->g->cwd);
		l->g->cwd = realpath(path, NULL);
		if (l->g->cwd == NULL)
			error_at(l, "%s: %s", q, strerror(errno));
	}
	free(q);
	free(path);
}

/* An error of a replay node at place, inside its entry. */
static void
replay_error(void *arg, const char *place, const char *msg)
{
	struct loader	*l = arg;
	size_t		 old = l->path.len;

	if (*place != '\0')
		lpd_sbuf_printf(&l->path, ".%s", place);
	error_at(l, "%s", msg);
	path_pop(l, old);
}

/* "config" of a node entry: any JSON, with handle references. */
static void
node_config(struct loader *l, json_t *obj, json_t *v)
{
	size_t	 before = l->nerrors;

	check_config(l, v, 0);
	if (l->nerrors == before)
		check_values(l, v);
	l->config_ok = l->nerrors == before;
	l->priv->configs[l->gi] = json_incref(v);
}

/* "run" of a node entry. */
static void
node_run(struct loader *l, json_t *obj, json_t *v)
{
	if (!json_is_boolean(v)) {
		error_type(l, v, "true or false");
		return;
	}
	l->g->run = json_is_true(v);
}

/* "restart" of a node entry. */
static void
node_restart(struct loader *l, json_t *obj, json_t *v)
{
	static const char *const	 names[] = {
		"never", "on-failure", "always"
	};
	static const enum lpd_restart	 values[] = {
		LPD_RESTART_NEVER, LPD_RESTART_ON_FAILURE, LPD_RESTART_ALWAYS
	};
	int				 i;

	if ((i = one_of(l, v, names, nitems(names), "value",
	    "\"never\", \"on-failure\" or \"always\"")) != -1)
		l->g->restart = values[i];
}

/* "max_restarts" of a node entry: only with a restart policy. */
static void
node_max_restarts(struct loader *l, json_t *obj, json_t *v)
{
	json_t		*r;
	json_int_t	 n;
	char		 what[64];

	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < 0 || n > RESTARTS_MAX) {
		snprintf(what, sizeof what, "an integer from 0 to %d",
		    RESTARTS_MAX);
		error_type(l, v, what);
		return;
	}
	r = json_object_get(obj, "restart");
	if (r == NULL || string_is(r, "never")) {
		error_at(l, "has no effect with restart \"never\"%s: set "
		    "\"restart\" to \"on-failure\" or \"always\"",
		    r == NULL ? " (the default)" : "");
		return;
	}
	l->g->max_restarts = (unsigned)n;
}

/* "on_failure" of a node entry. */
static void
node_on_failure(struct loader *l, json_t *obj, json_t *v)
{
	static const char *const		 names[] = {
		"stop_program", "ignore"
	};
	static const enum lpd_on_failure	 values[] = {
		LPD_ON_FAILURE_STOP, LPD_ON_FAILURE_IGNORE
	};
	int					 i;

	if ((i = one_of(l, v, names, nitems(names), "value",
	    "\"stop_program\" or \"ignore\"")) != -1)
		l->g->on_failure = values[i];
}

static const struct key node_keys[] = {
	{ "group",		true,	node_group },
	{ "type",		true,	node_type },
	{ "replicas",		false,	node_replicas },
	{ "command",		true,	node_command },
	{ "env",		false,	node_env },
	{ "cwd",		false,	node_cwd },
	{ "config",		false,	node_config },
	{ "run",		false,	node_run },
	{ "restart",		false,	node_restart },
	{ "max_restarts",	false,	node_max_restarts },
	{ "on_failure",		false,	node_on_failure },
};

/* Check entry i of "nodes" into group i. */
static void
check_node(struct loader *l, size_t i, json_t *v)
{
	struct lpd_group	*g = &l->p->groups[i];
	char			*path;

	g->replicas = 1;
	g->run = true;
	g->restart = LPD_RESTART_NEVER;
	g->max_restarts = LPD_RESTARTS_DEFAULT;
	g->on_failure = LPD_ON_FAILURE_STOP;
	if (!json_is_object(v)) {
		error_type(l, v, "an object (a node group)");
		return;
	}
	l->g = g;
	l->gi = i;
	l->edges_cap = 0;
	l->config_ok = false;
	check_keys(l, v, node_keys, nitems(node_keys));
	if (g->type == LPD_TYPE_REPLAY && (path = lpd_program_replay_check(v,
	    l->config_ok, replay_error, l)) != NULL) {
		g->path = path;
		g->argv = xcalloc(2, sizeof *g->argv);
		g->argv[0] = xstrdup(path);
	}
	if (g->cwd == NULL)
		g->cwd = xstrdup(l->p->dir);
	if (g->env == NULL)
		g->env = xcalloc(1, sizeof *g->env);
	edges_finish(g);
	l->nnodes += g->replicas;
	l->g = NULL;
}

/* "nodes": the node groups. */
static void
top_nodes(struct loader *l, json_t *obj, json_t *v)
{
	json_t	*item;
	size_t	 i, old;

	if (!json_is_array(v)) {
		error_type(l, v, "an array of node groups");
		return;
	}
	if (json_array_size(v) == 0) {
		error_at(l, "must hold at least one node group");
		return;
	}
	json_array_foreach(v, i, item) {
		old = path_push_index(l, i);
		check_node(l, i, item);
		path_pop(l, old);
	}
	if (l->nnodes > LPD_NODES_MAX) {
		error_at(l, "%lu nodes in all (the sum of replicas), at most "
		    "%d", l->nnodes, LPD_NODES_MAX);
	}
	l->p->nnodes = (size_t)l->nnodes;
}

/* "stop.grace_s": seconds from the stop notice to SIGKILL. */
static void
stop_grace(struct loader *l, json_t *obj, json_t *v)
{
	char	 what[64];
	double	 d;

	d = json_is_number(v) ? json_number_value(v) : -1;
	if (d < 0 || d > GRACE_MAX) {
		snprintf(what, sizeof what, "a number of seconds from 0 to "
		    "%d", GRACE_MAX);
		error_type(l, v, what);
		return;
	}
	l->p->grace_s = d;
}

static const struct key stop_keys[] = {
	{ "grace_s",		false,	stop_grace },
};

/* "stop": how the program stops. */
static void
top_stop(struct loader *l, json_t *obj, json_t *v)
{
	if (!json_is_object(v)) {
		error_type(l, v, "an object");
		return;
	}
	check_keys(l, v, stop_keys, nitems(stop_keys));
}

static const struct key top_keys[] = {
	{ "program",		true,	top_program },
	{ "nodes",		true,	top_nodes },
	{ "stop",		false,	top_stop },
};

/*
 * First pass over "nodes": the name, type and size of each group, so that
 * a reference can be checked wherever its target is in the file.
 */
static void
first_pass(struct loader *l, json_t *nodes)
{
	struct entry	*e;
	json_t		*item, *v;
	json_int_t	 n;
	size_t		 i;

	json_array_foreach(nodes, i, item) {
		e = &l->entries[i];
		e->type = -1;
		e->replicas = 0;
		if (!json_is_object(item))
			continue;
		v = json_object_get(item, "group");
		if (json_is_string(v) &&
		    name_valid(json_string_value(v), json_string_length(v)) &&
		    json_object_get(l->priv->byname,
		    json_string_value(v)) == NULL) {
			if (json_object_set_new(l->priv->byname,
			    json_string_value(v), json_integer((json_int_t)i))
			    != 0)
				fatalx("%s: out of memory", __func__);
		}
		v = json_object_get(item, "type");
		if (string_is(v, "courier"))
			e->type = LPD_TYPE_COURIER;
		else if (string_is(v, "process"))
			e->type = LPD_TYPE_PROCESS;
		else if (string_is(v, "replay"))
			e->type = LPD_TYPE_REPLAY;
		if ((v = json_object_get(item, "replicas")) == NULL)
			e->replicas = 1;
		else if (json_is_integer(v)) {
			n = json_integer_value(v);
			if (n >= 1 && n <= LPD_REPLICAS_MAX)
				e->replicas = (unsigned)n;
		}
	}
}

/* Parse text that came with the request; NULL after recording the error. */
static json_t *
read_text(struct loader *l, const char *path, const char *text, size_t len)
{
	json_error_t	 jerr;
	json_t		*root;
	char		*why;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &jerr);
	if (root == NULL) {
		why = one_line(jerr.text);
		error_line(l, "%s:%d:%d: %s", path, jerr.line, jerr.column,
		    why);
		free(why);
	}
	return (root);
}

/* Read and parse the file; NULL after recording the error. */
static json_t *
read_file(struct loader *l, const char *path)
{
	struct stat	 sb;
	json_error_t	 jerr;
	json_t		*root;
	FILE		*f;
	char		*why;

	if ((f = fopen(path, "re")) == NULL) {
		error_line(l, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fileno(f), &sb) != 0) {
		error_line(l, "%s: %s", path, strerror(errno));
		fclose(f);
		return (NULL);
	}
	if (S_ISDIR(sb.st_mode)) {
		error_line(l, "%s: %s", path, strerror(EISDIR));
		fclose(f);
		return (NULL);
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	fclose(f);
	if (root == NULL) {
		why = one_line(jerr.text);
		error_line(l, "%s:%d:%d: %s", path, jerr.line, jerr.column,
		    why);
		free(why);
	}
	return (root);
}

/*
 * Load and check a program file. name, if not NULL, overrides the file's
 * "program". The caller frees the program with lpd_program_free; on
 * failure, *cause (the caller frees) holds every error, one per line.
 */
struct lpd_program *
lpd_program_load(const char *path, const char *name, char **cause)
{
	return (lpd_program_load_text(path, NULL, 0, name, NULL, NULL, cause));
}

/*
 * Load a program whose text was read by someone else (lpctl, for lpd):
 * path is the file's absolute path, for its folder and the messages, and
 * commands are resolved on pathenv, relative entries from cwd. text NULL
 * reads path; pathenv NULL is our PATH, cwd NULL our folder.
 */
struct lpd_program *
lpd_program_load_text(const char *path, const char *text, size_t len,
    const char *name, const char *pathenv, const char *cwd, char **cause)
{
	struct loader		 l;
	struct lpd_program	*p;
	struct program_private	*priv;
	json_t			*root = NULL, *nodes;
	char			*slash, *q;
	size_t			 n;

	memset(&l, 0, sizeof l);
	l.file = path;
	l.pathenv = pathenv;
	l.cwd = cwd;
	l.p = p = xcalloc(1, sizeof *p);
	l.priv = priv = xcalloc(1, sizeof *priv);
	p->config = priv;
	p->grace_s = LPD_GRACE_DEFAULT;
	if ((priv->byname = json_object()) == NULL)
		fatalx("%s: out of memory", __func__);

	if (name != NULL && !name_valid(name, strlen(name))) {
		q = quote(name, strlen(name));
		error_line(&l, "%s: --name: %s is not a valid name: 1 to %d "
		    "letters, digits, '_', '.' or '-'", path, q, LPD_NAME_MAX);
		free(q);
	}
	if (text != NULL) {
		if (path[0] != '/') {
			error_line(&l, "%s: not an absolute path", path);
			goto fail;
		}
		if ((root = read_text(&l, path, text, len)) == NULL)
			goto fail;
		p->file = xstrdup(path);
	} else {
		if ((root = read_file(&l, path)) == NULL)
			goto fail;
		if ((p->file = realpath(path, NULL)) == NULL) {
			error_line(&l, "%s: %s", path, strerror(errno));
			goto fail;
		}
	}
	p->dir = xstrdup(p->file);
	slash = strrchr(p->dir, '/');
	if (slash == p->dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	if (!json_is_object(root)) {
		error_type(&l, root, "an object with \"program\" and "
		    "\"nodes\"");
		goto fail;
	}
	nodes = json_object_get(root, "nodes");
	if (json_is_array(nodes) && (n = json_array_size(nodes)) != 0) {
		p->groups = xcalloc(n, sizeof *p->groups);
		p->ngroups = n;
		priv->configs = xcalloc(n, sizeof *priv->configs);
		l.entries = xcalloc(n, sizeof *l.entries);
		first_pass(&l, nodes);
	}
	check_keys(&l, root, top_keys, nitems(top_keys));
	if (l.nerrors != 0)
		goto fail;
	if (name != NULL) {
		free(p->name);
		p->name = xstrdup(name);
	}

	json_decref(root);
	free(l.entries);
	free(l.path.s);
	free(l.errors.s);
	return (p);

fail:
	if (l.nerrors > ERRORS_MAX) {
		lpd_sbuf_printf(&l.errors, "\n%s: %zu more errors not shown",
		    path, l.nerrors - ERRORS_MAX);
	}
	if (cause != NULL)
		*cause = lpd_sbuf_take(&l.errors);
	else
		free(l.errors.s);
	json_decref(root);
	free(l.entries);
	free(l.path.s);
	lpd_program_free(p);
	return (NULL);
}

/*
 * Find the object that patch p changes in root (a file's parsed text): the
 * top object, or the node entry of p->group; NULL after adding an error.
 */
static json_t *
patch_target(json_t *root, const struct lpd_program_patch *p,
    struct sbuf *errs, const char *path)
{
	json_t	*nodes, *item;
	size_t	 i;

	if (p->group == NULL)
		return (root);
	nodes = json_object_get(root, "nodes");
	json_array_foreach(nodes, i, item) {
		if (string_is(json_object_get(item, "group"), p->group) &&
		    json_is_object(item))
			return (item);
	}
	lpd_sbuf_printf(errs, "%s%s: override %s.%s: no group \"%s\"",
	    errs->len != 0 ? "\n" : "", path, p->group, p->key, p->group);
	return (NULL);
}

/*
 * Load a program file changed before it is checked (the test harness's
 * overrides: fewer replicas, run disabled, a config value), as if the file
 * said so: it is checked whole after the changes, and relative paths are
 * still the file's. A file that cannot be read or parsed is reported as
 * lpd_program_load reports it.
 */
struct lpd_program *
lpd_program_load_with(const char *path, const char *name,
    const struct lpd_program_patch *patches, size_t n, char **cause)
{
	const struct lpd_program_patch	*p;
	struct lpd_program		*prog;
	struct sbuf			 errs = { NULL, 0, 0 };
	json_error_t			 jerr;
	json_t				*root, *obj, *v, *next;
	char				*key, *part, *dot, *text, *abs, *why;
	size_t				 i;

	root = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &jerr);
	if (root == NULL || !json_is_object(root) ||
	    (abs = realpath(path, NULL)) == NULL) {
		json_decref(root);
		return (lpd_program_load(path, name, cause));
	}
	for (i = 0; i < n; i++) {
		p = &patches[i];
		if ((obj = patch_target(root, p, &errs, path)) == NULL)
			continue;
		if ((v = json_loads(p->json, JSON_DECODE_ANY, &jerr)) == NULL) {
			why = one_line(jerr.text);
			lpd_sbuf_printf(&errs, "%s%s: override %s%s%s: not "
			    "JSON: %s", errs.len != 0 ? "\n" : "", path,
			    p->group != NULL ? p->group : "",
			    p->group != NULL ? "." : "", p->key, why);
			free(why);
			continue;
		}
		/* "config.rounds": objects on the way are made if missing. */
		key = xstrdup(p->key);
		for (part = key; (dot = strchr(part, '.')) != NULL;
		    part = dot + 1) {
			*dot = '\0';
			if ((next = json_object_get(obj, part)) == NULL) {
				next = json_object();
				json_object_set_new(obj, part, next);
			}
			if (!json_is_object(next))
				break;
			obj = next;
		}
		if (dot != NULL) {
			lpd_sbuf_printf(&errs, "%s%s: override %s%s%s: %s is "
			    "not an object", errs.len != 0 ? "\n" : "", path,
			    p->group != NULL ? p->group : "",
			    p->group != NULL ? "." : "", p->key, part);
			json_decref(v);
		} else if (json_object_set_new(obj, part, v) != 0)
			fatalx("%s: out of memory", __func__);
		free(key);
	}
	if (errs.len != 0) {
		if (cause != NULL)
			*cause = lpd_sbuf_take(&errs);
		else
			free(errs.s);
		json_decref(root);
		free(abs);
		return (NULL);
	}
	if ((text = json_dumps(root, JSON_COMPACT)) == NULL)
		fatalx("%s: out of memory", __func__);
	json_decref(root);
	prog = lpd_program_load_text(abs, text, strlen(text), name, NULL, NULL,
	    cause);
	free(text);
	free(abs);
	return (prog);
}

/* Free a NULL-terminated array of strings. */
static void
free_strings(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Free a program and everything it owns (NULL is fine). */
void
lpd_program_free(struct lpd_program *p)
{
	struct program_private	*priv;
	struct lpd_group	*g;
	size_t			 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ngroups; i++) {
		g = &p->groups[i];
		free(g->name);
		free_strings(g->argv);
		free(g->path);
		free_strings(g->env);
		free(g->cwd);
		free(g->edges);
	}
	free(p->groups);
	if ((priv = p->config) != NULL) {
		if (priv->configs != NULL) {
			for (i = 0; i < p->ngroups; i++)
				json_decref(priv->configs[i]);
			free(priv->configs);
		}
		json_decref(priv->byname);
		free(priv);
	}
	free(p->name);
	free(p->file);
	free(p->dir);
	free(p);
}

/* Whether name is a valid program or group name. */
bool
lpd_program_name_valid(const char *name)
{
	return (name != NULL && name_valid(name, strlen(name)));
}

/* The index of the group called name, or -1. */
int
lpd_program_find_group(const struct lpd_program *p, const char *name)
{
	struct program_private	*priv = p->config;
	json_t			*v;

	if (name == NULL || (v = json_object_get(priv->byname, name)) == NULL)
		return (-1);
	return ((int)json_integer_value(v));
}
