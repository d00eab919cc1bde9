/*
 * program.c: the program file. Load a JSON program description and check
 * all of it before anything starts, reporting every error at once with its
 * place (nodes[1].config.producers); resolve each group's command and
 * working directory; record the handle references of each group's config
 * as the edges of the graph (program-refs.c), saying what is wrong where
 * (program-diag.c). program-config.c later hands each node its config
 * with the references replaced by addresses, and program-dot.c draws the
 * program as Graphviz DOT. jansson is used in these files and nowhere
 * else in lpd.
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

#include "program-load.h"

#define GRACE_MAX		86400	/* stop.grace_s */
#define RESTARTS_MAX		1000000	/* max_restarts */

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

	qp = pl_quote(path, strlen(path));
	/* The path only when it says more than the name (q is quoted). */
	if (strcmp(q, qp) == 0)
		pl_error_at(l, "%s is not %s", q, why == 2 ? "a regular file" :
		    "executable; chmod +x it, or name another command");
	else if (why == 2)
		pl_error_at(l, "%s (%s) is not a regular file", q, qp);
	else
		pl_error_at(l, "%s (%s) is not executable; chmod +x it, or "
		    "name another command", q, qp);
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

	q = pl_quote(cmd, strlen(cmd));
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
			pl_error_at(l, "%s not found", q);
		else
			pl_error_at(l, "%s not found next to %s", q, l->file);
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
		pl_error_at(l, "%s not found next to %s nor on PATH", q,
		    l->file);
	free(bad);
	free(q);
}

/* "program": the program's name. */
static void
top_program(struct loader *l, json_t *obj, json_t *v)
{
	char	*q;

	if (!json_is_string(v)) {
		pl_error_type(l, v, "a string");
		return;
	}
	if (!pl_name_valid(json_string_value(v), json_string_length(v))) {
		q = pl_describe(v);
		pl_error_at(l, "%s is not a valid name: 1 to %d letters, "
		    "digits, '_', '.' or '-'", q, LPD_NAME_MAX);
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
		pl_error_type(l, v, "a string");
		return;
	}
	s = json_string_value(v);
	q = pl_describe(v);
	if (!pl_name_valid(s, json_string_length(v))) {
		pl_error_at(l, "%s is not a valid name: 1 to %d letters, "
		    "digits, '_', '.' or '-'", q, LPD_NAME_MAX);
		free(q);
		return;
	}
	first = json_object_get(l->priv->byname, s);
	fi = first != NULL ? (size_t)json_integer_value(first) : l->gi;
	if (fi != l->gi)
		pl_error_at(l, "duplicate group %s (first in nodes[%zu])", q,
		    fi);
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
		if (pl_string_is(v, names[i]))
			return ((int)i);
	}
	if (!json_is_string(v)) {
		pl_error_type(l, v, what);
		return (-1);
	}
	q = pl_describe(v);
	hint = pl_is_cstring(v) ? pl_suggest(json_string_value(v), names, n) :
	    xstrdup("");
	pl_error_at(l, "unknown %s %s%s: it must be %s", noun, q, hint, what);
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
		pl_error_type(l, v, what);
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
		pl_error_type(l, v, "an array of strings (argv)");
		return;
	}
	if ((n = json_array_size(v)) == 0) {
		pl_error_at(l, "must not be empty: the first string is the "
		    "program to run");
		return;
	}
	json_array_foreach(v, i, item) {
		old = pl_path_push_index(l, i);
		if (!json_is_string(item)) {
			pl_error_type(l, item, "a string");
			ok = false;
		} else if (json_string_length(item) == 0) {
			pl_error_at(l, "must not be empty");
			ok = false;
		} else if (!pl_is_cstring(item)) {
			pl_error_at(l, "must not contain a NUL byte");
			ok = false;
		} else if (i == 0) {
			resolve_command(l, json_string_value(item));
			ok = ok && l->g->path != NULL;
		}
		pl_path_pop(l, old);
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
		pl_error_type(l, v, "an object of strings");
		return;
	}
	env = xcalloc(json_object_size(v) + 1, sizeof *env);
	json_object_foreach(v, key, item) {
		old = pl_path_push_key(l, key);
		if (*key == '\0')
			pl_error_at(l, "a variable name must not be empty");
		else if (strchr(key, '=') != NULL)
			pl_error_at(l, "a variable name must not contain '='");
		else if (strncmp(key, "LP_", 3) == 0) {
			pl_error_at(l, "LP_ variables are set by lpd, not by "
			    "the program file");
		} else if (!json_is_string(item))
			pl_error_type(l, item, "a string");
		else if (!pl_is_cstring(item))
			pl_error_at(l, "must not contain a NUL byte");
		else {
			xasprintf(&env[n++], "%s=%s", key,
			    json_string_value(item));
		}
		pl_path_pop(l, old);
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
		pl_error_type(l, v, "a string");
		return;
	}
	if (json_string_length(v) == 0 || !pl_is_cstring(v)) {
		pl_error_at(l, "must be a folder's path, not %s",
		    json_string_length(v) == 0 ? "empty" : "with a NUL byte");
		return;
	}
	s = json_string_value(v);
	if (s[0] == '/')
		path = xstrdup(s);
	else
		xasprintf(&path, "%s/%s", l->p->dir, s);
	q = pl_quote(s, strlen(s));
	if (stat(path, &sb) != 0)
		pl_error_at(l, "%s: %s", q, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		pl_error_at(l, "%s is not a directory", q);
	else {
		free(l->g->cwd);
		l->g->cwd = realpath(path, NULL);
		if (l->g->cwd == NULL)
			pl_error_at(l, "%s: %s", q, strerror(errno));
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
	pl_error_at(l, "%s", msg);
	pl_path_pop(l, old);
}

/* "config" of a node entry: any JSON, with handle references. */
static void
node_config(struct loader *l, json_t *obj, json_t *v)
{
	size_t	 before = l->nerrors;

	pl_check_config(l, v, 0);
	if (l->nerrors == before)
		pl_check_values(l, v);
	l->config_ok = l->nerrors == before;
	l->priv->configs[l->gi] = json_incref(v);
}

/* "run" of a node entry. */
static void
node_run(struct loader *l, json_t *obj, json_t *v)
{
	if (!json_is_boolean(v)) {
		pl_error_type(l, v, "true or false");
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
		pl_error_type(l, v, what);
		return;
	}
	r = json_object_get(obj, "restart");
	if (r == NULL || pl_string_is(r, "never")) {
		pl_error_at(l, "has no effect with restart \"never\"%s: set "
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
	{ "resources",		false,	pl_node_resources },
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
	g->cpus = 1;
	if (!json_is_object(v)) {
		pl_error_type(l, v, "an object (a node group)");
		return;
	}
	l->g = g;
	l->gi = i;
	l->edges_cap = 0;
	l->config_ok = false;
	pl_check_keys(l, v, node_keys, nitems(node_keys));
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
	pl_edges_finish(g);
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
		pl_error_type(l, v, "an array of node groups");
		return;
	}
	if (json_array_size(v) == 0) {
		pl_error_at(l, "must hold at least one node group");
		return;
	}
	json_array_foreach(v, i, item) {
		old = pl_path_push_index(l, i);
		check_node(l, i, item);
		pl_path_pop(l, old);
	}
	if (l->nnodes > LPD_NODES_MAX) {
		pl_error_at(l, "%lu nodes in all (the sum of replicas), at "
		    "most %d", l->nnodes, LPD_NODES_MAX);
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
		pl_error_type(l, v, what);
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
		pl_error_type(l, v, "an object");
		return;
	}
	pl_check_keys(l, v, stop_keys, nitems(stop_keys));
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
		    pl_name_valid(json_string_value(v),
		    json_string_length(v)) &&
		    json_object_get(l->priv->byname,
		    json_string_value(v)) == NULL) {
			if (json_object_set_new(l->priv->byname,
			    json_string_value(v), json_integer((json_int_t)i))
			    != 0)
				fatalx("%s: out of memory", __func__);
		}
		v = json_object_get(item, "type");
		if (pl_string_is(v, "courier"))
			e->type = LPD_TYPE_COURIER;
		else if (pl_string_is(v, "process"))
			e->type = LPD_TYPE_PROCESS;
		else if (pl_string_is(v, "replay"))
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
		why = pl_one_line(jerr.text);
		pl_error_line(l, "%s:%d:%d: %s", path, jerr.line, jerr.column,
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
		pl_error_line(l, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fileno(f), &sb) != 0) {
		pl_error_line(l, "%s: %s", path, strerror(errno));
		fclose(f);
		return (NULL);
	}
	if (S_ISDIR(sb.st_mode)) {
		pl_error_line(l, "%s: %s", path, strerror(EISDIR));
		fclose(f);
		return (NULL);
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	fclose(f);
	if (root == NULL) {
		why = pl_one_line(jerr.text);
		pl_error_line(l, "%s:%d:%d: %s", path, jerr.line, jerr.column,
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

	if (name != NULL && !pl_name_valid(name, strlen(name))) {
		q = pl_quote(name, strlen(name));
		pl_error_line(&l, "%s: --name: %s is not a valid name: 1 to %d "
		    "letters, digits, '_', '.' or '-'", path, q, LPD_NAME_MAX);
		free(q);
	}
	if (text != NULL) {
		if (path[0] != '/') {
			pl_error_line(&l, "%s: not an absolute path", path);
			goto fail;
		}
		if ((root = read_text(&l, path, text, len)) == NULL)
			goto fail;
		p->file = xstrdup(path);
	} else {
		if ((root = read_file(&l, path)) == NULL)
			goto fail;
		if ((p->file = realpath(path, NULL)) == NULL) {
			pl_error_line(&l, "%s: %s", path, strerror(errno));
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
		pl_error_type(&l, root, "an object with \"program\" and "
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
	pl_check_keys(&l, root, top_keys, nitems(top_keys));
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
		if (pl_string_is(json_object_get(item, "group"), p->group) &&
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
			why = pl_one_line(jerr.text);
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
	return (name != NULL && pl_name_valid(name, strlen(name)));
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
