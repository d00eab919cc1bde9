/*
 * program-config.c: a node's config as it receives it in LP_CONFIG: the
 * group's config from the file, as compact JSON, with each handle
 * reference replaced by the address of the node it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"

/* Append a double as JSON, with the fewest digits that read back. */
static void
emit_real(struct sbuf *b, double d)
{
	char	 buf[64];
	int	 precision;

	for (precision = 15; precision < 17; precision++) {
		snprintf(buf, sizeof buf, "%.*g", precision, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	snprintf(buf, sizeof buf, "%.*g", precision, d);
	lpd_sbuf_puts(b, buf);
	if (strpbrk(buf, ".eE") == NULL)
		lpd_sbuf_puts(b, ".0");
}

/* Append an address as a JSON string (null if there is none). */
static void
emit_address(struct sbuf *b, const char *address)
{
	if (address == NULL)
		lpd_sbuf_puts(b, "null");
	else
		lpd_sbuf_json_string(b, address, strlen(address));
}

/*
 * Append the addresses a reference stands for; with no program (the check
 * at load time), a placeholder of the same shape.
 */
static void
emit_reference(struct sbuf *b, bool all, json_t *v,
    const struct lpd_program *p, lpd_address_fn addr, void *arg)
{
	const char	*s = json_string_value(v);
	size_t		 len;
	long		 index;
	unsigned	 i;
	char		*name;
	int		 t;

	if (p == NULL) {
		lpd_sbuf_puts(b, all ? "[\"unix:check\"]" : "\"unix:check\"");
		return;
	}
	len = lpd_program_reference_split(s, &index);
	name = xstrndup(s, len);
	if ((t = lpd_program_find_group(p, name)) == -1)
		fatalx("%s: no group %s", __func__, name);
	free(name);
	if (!all) {
		emit_address(b, addr(arg, (size_t)t,
		    index >= 0 ? (unsigned)index : 0));
		return;
	}
	lpd_sbuf_add(b, "[", 1);
	for (i = 0; i < p->groups[t].replicas; i++) {
		if (i != 0)
			lpd_sbuf_add(b, ",", 1);
		emit_address(b, addr(arg, (size_t)t, i));
	}
	lpd_sbuf_add(b, "]", 1);
}

/* Append v as compact JSON with its references resolved. */
void
lpd_program_emit(struct sbuf *b, json_t *v, const struct lpd_program *p,
    lpd_address_fn addr, void *arg)
{
	const char	*key;
	json_t		*item;
	size_t		 i;
	bool		 all, first = true;

	switch (json_typeof(v)) {
	case JSON_NULL:
		lpd_sbuf_puts(b, "null");
		break;
	case JSON_TRUE:
		lpd_sbuf_puts(b, "true");
		break;
	case JSON_FALSE:
		lpd_sbuf_puts(b, "false");
		break;
	case JSON_INTEGER:
		lpd_sbuf_printf(b, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		emit_real(b, json_real_value(v));
		break;
	case JSON_STRING:
		lpd_sbuf_json_string(b, json_string_value(v),
		    json_string_length(v));
		break;
	case JSON_ARRAY:
		lpd_sbuf_add(b, "[", 1);
		json_array_foreach(v, i, item) {
			if (i != 0)
				lpd_sbuf_add(b, ",", 1);
			lpd_program_emit(b, item, p, addr, arg);
		}
		lpd_sbuf_add(b, "]", 1);
		break;
	case JSON_OBJECT:
		if (lpd_program_is_reference(v, &all, &item)) {
			emit_reference(b, all, item, p, addr, arg);
			break;
		}
		lpd_sbuf_add(b, "{", 1);
		json_object_foreach(v, key, item) {
			if (!first)
				lpd_sbuf_add(b, ",", 1);
			first = false;
			lpd_sbuf_json_string(b, key, strlen(key));
			lpd_sbuf_add(b, ":", 1);
			lpd_program_emit(b, item, p, addr, arg);
		}
		lpd_sbuf_add(b, "}", 1);
		break;
	}
}

/* Append path, and a component of it (a key, escaped, or an index). */
static size_t
path_push(struct sbuf *path, const char *key, size_t index)
{
	size_t	 old = path->len;
	const char *c;

	if (path->len != 0)
		lpd_sbuf_add(path, "/", 1);
	if (key == NULL) {
		lpd_sbuf_printf(path, "%zu", index);
		return (old);
	}
	for (c = key; *c != '\0'; c++) {
		if (*c == '~')
			lpd_sbuf_puts(path, "~0");
		else if (*c == '/')
			lpd_sbuf_puts(path, "~1");
		else
			lpd_sbuf_add(path, c, 1);
	}
	return (old);
}

/* Add the path where a handle lands to the list in out. */
static void
path_out(struct sbuf *out, const struct sbuf *path)
{
	lpd_sbuf_add(out, out->len > 1 ? "," : "", out->len > 1 ? 1 : 0);
	lpd_sbuf_json_string(out, path->s != NULL ? path->s : "", path->len);
}

/* Walk v for handle references, adding where each address lands. */
static void
handle_paths(json_t *v, const struct lpd_program *p, struct sbuf *path,
    struct sbuf *out)
{
	const char	*key;
	json_t		*item;
	size_t		 i, old;
	long		 index;
	bool		 all;
	char		*name;
	int		 t;

	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			old = path_push(path, NULL, i);
			handle_paths(item, p, path, out);
			lpd_sbuf_truncate(path, old);
		}
		return;
	}
	if (!json_is_object(v))
		return;
	if (lpd_program_is_reference(v, &all, &item)) {
		if (!all) {
			path_out(out, path);
			return;
		}
		name = xstrndup(json_string_value(item),
		    lpd_program_reference_split(json_string_value(item),
		    &index));
		t = lpd_program_find_group(p, name);
		free(name);
		for (i = 0; t != -1 && i < p->groups[t].replicas; i++) {
			old = path_push(path, NULL, i);
			path_out(out, path);
			lpd_sbuf_truncate(path, old);
		}
		return;
	}
	json_object_foreach(v, key, item) {
		old = path_push(path, key, 0);
		handle_paths(item, p, path, out);
		lpd_sbuf_truncate(path, old);
	}
}

/* Where a group's config holds handles; see lpd.h. */
char *
lpd_program_handle_paths(const struct lpd_program *p, size_t group)
{
	struct program_private	*priv = p->config;
	struct sbuf		 path = { NULL, 0, 0 }, out = { NULL, 0, 0 };

	if (group >= p->ngroups)
		fatalx("%s: no group %zu", __func__, group);
	lpd_sbuf_add(&out, "[", 1);
	if (priv->configs[group] != NULL)
		handle_paths(priv->configs[group], p, &path, &out);
	lpd_sbuf_add(&out, "]", 1);
	free(lpd_sbuf_take(&path));
	return (lpd_sbuf_take(&out));
}

/*
 * The config of node (group, index) as compact JSON (the caller frees),
 * each reference replaced by the address addr gives, "$handles" by the
 * list of its group's addresses in index order.
 */
char *
lpd_program_node_config(const struct lpd_program *p, size_t group,
    unsigned index, lpd_address_fn addr, void *arg)
{
	struct program_private	*priv = p->config;
	struct sbuf		 b = { NULL, 0, 0 };

	if (group >= p->ngroups || index >= p->groups[group].replicas)
		fatalx("%s: no node %zu/%u", __func__, group, index);
	if (priv->configs[group] == NULL)
		return (xstrdup("null"));
	lpd_program_emit(&b, priv->configs[group], p, addr, arg);
	return (lpd_sbuf_take(&b));
}
