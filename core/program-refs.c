/*
 * program-refs.c: a group's config: its values checked (depth, the
 * special forms $bytes and $tensor) and its handle references ($handle,
 * $handles) resolved against the groups, each recorded as an edge of the
 * program's graph.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program-load.h"

#define CONFIG_DEPTH_MAX	COURIER_MAX_DEPTH /* nested containers */
#define INDEX_DIGITS_MAX	9	/* of GROUP/INDEX, at most */

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
void
pl_edges_finish(struct lpd_group *g)
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
		pl_error_at(l, "\"%s\" must be the only key of its object",
		    key);
		return;
	}
	if (!pl_is_cstring(v)) {
		q = pl_describe(v);
		pl_error_at(l, "\"%s\" must be a string naming %s, not %s", key,
		    all ? "a group" : "a group or a node (GROUP/INDEX)", q);
		free(q);
		return;
	}
	s = json_string_value(v);
	len = lpd_program_reference_split(s, &index);
	if (all && index != -1) {
		q = pl_quote(s, strlen(s));
		pl_error_at(l, "\"%s\" takes a group name, not %s; for one "
		    "node use {\"%s\": %s}", key, q, KEY_HANDLE, q);
		free(q);
		return;
	}
	if (index == -2) {
		q = pl_quote(s, strlen(s));
		pl_error_at(l, "bad node %s: the index after '/' must be a "
		    "number from 0", q);
		free(q);
		return;
	}

	name = xstrndup(s, len);
	q = pl_quote(name, len);
	if ((t = json_object_get(l->priv->byname, name)) == NULL) {
		hint = pl_errors_shown(l) ? pl_suggest_group(l, name) :
		    xstrdup("");
		pl_error_at(l, "no group %s%s", q, hint);
		free(hint);
		goto out;
	}
	ti = (size_t)json_integer_value(t);
	e = &l->entries[ti];
	if (e->type == LPD_TYPE_PROCESS) {
		pl_error_at(l, "group %s is a process node; handles point at "
		    "courier nodes only", q);
		goto out;
	}
	if (index >= 0) {
		if (e->replicas != 0 && (unsigned long)index >= e->replicas) {
			pl_error_at(l, "no node %ld in group %s: it has %u "
			    "node%s (index 0 to %u)", index, q, e->replicas,
			    e->replicas == 1 ? "" : "s", e->replicas - 1);
			goto out;
		}
		if (index >= LPD_REPLICAS_MAX) {
			pl_error_at(l, "no node %ld in group %s", index, q);
			goto out;
		}
	} else if (!all && e->replicas > 1) {
		pl_error_at(l, "group %s has %u nodes: name one with "
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
void
pl_check_config(struct loader *l, json_t *v, unsigned level)
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
		pl_error_at(l, "nests deeper than %d levels", CONFIG_DEPTH_MAX);
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			old = pl_path_push_index(l, i);
			pl_check_config(l, item, level + 1);
			pl_path_pop(l, old);
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
		old = pl_path_push_key(l, key);
		if (key[0] == '$') {
			hint = pl_errors_shown(l) ? pl_suggest(key, dollar,
			    nitems(dollar)) : xstrdup("");
			q = pl_quote(key, strlen(key));
			pl_error_at(l, "unknown key %s%s: keys starting with "
			    "'$' are reserved", q, hint);
			free(q);
			free(hint);
		} else
			pl_check_config(l, item, level + 1);
		pl_path_pop(l, old);
	}
}

/*
 * Have libcourier read the config as the node will (bytes, tensors): an
 * error there is an error of the file. Its place, "$.x[1]: ...", is made
 * one of ours.
 */
void
pl_check_values(struct loader *l, json_t *config)
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
		pl_error_at(l, "cannot be read");
		return;
	}
	c = cause;
	end = NULL;
	if (*c == '$') {
		for (c++; *c == '.' || *c == '['; /* nothing */) {
			if (*c == '.') {
				for (c++; pl_key_char(*c); c++)
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
		pl_error_at(l, "%s", cause);
		free(cause);
		return;
	}
	old = l->path.len;
	lpd_sbuf_add(&l->path, cause + 1, (size_t)(end - cause - 1));
	pl_error_at(l, "%s", end + 2);
	pl_path_pop(l, old);
	free(cause);
}
