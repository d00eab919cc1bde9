/*
 * replay-config.c: the replay node's config, as the program file gives it:
 *   { "tables": [ { "name", "sampler", "remover", "max_size",
 *                   "max_times_sampled", "priority_exponent", "seed",
 *                   "rate_limiter": { "min_size_to_sample",
 *                       "samples_per_insert", "error_buffer" } or
 *                       { "queue": N } } ... ],
 *     "checkpoint": { "dir", "every_s" } }
 * A missing rate_limiter is Reverb's MinSize(1). Every error names its
 * place ("tables[1].rate_limiter: ..."), unknown keys are errors, so
 * that a misspelt option is not silently ignored, and every table is
 * checked: lpctl validate shows all that is wrong at once, not one
 * error per try.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "replay-config.h"
#include "replay-int.h"

#define SELECTOR_LIST	"uniform, fifo, lifo, prioritized, max_heap, min_heap"
#define QUOTE_MAX	32	/* bytes of a bad value a message quotes */

static const char *selector_names[REPLAY_SELECTOR_COUNT] = {
	"uniform", "fifo", "lifo", "prioritized", "max_heap", "min_heap",
};

/* The name of a selector. */
const char *
replay_selector_name(enum replay_selector s)
{
	if ((unsigned)s >= REPLAY_SELECTOR_COUNT)
		return (NULL);
	return (selector_names[s]);
}

/* The selector of a name, or -1. */
int
replay_selector_from_name(const char *name)
{
	int	i;

	for (i = 0; i < REPLAY_SELECTOR_COUNT; i++) {
		if (strcmp(name, selector_names[i]) == 0)
			return (i);
	}
	return (-1);
}

/* Check a table's configuration, however it was made. */
int
replay_table_config_check(const struct replay_table_config *c, char **cause)
{
	char	*why = NULL;

	if (c->name == NULL || *c->name == '\0') {
		set_cause(cause, "a table needs a name");
		return (-1);
	}
	if (replay_selector_name(c->sampler) == NULL ||
	    replay_selector_name(c->remover) == NULL) {
		set_cause(cause, "table %s: unknown sampler or remover",
		    c->name);
		return (-1);
	}
	if (c->max_size == 0) {
		set_cause(cause, "table %s: max_size is 0", c->name);
		return (-1);
	}
	if (!isfinite(c->priority_exponent) || c->priority_exponent < 0) {
		set_cause(cause, "table %s: priority_exponent %g is not a "
		    "number >= 0", c->name, c->priority_exponent);
		return (-1);
	}
	if (replay_limiter_check(&c->limiter, &why) != 0) {
		set_cause(cause, "table %s: %s", c->name, why);
		free(why);
		return (-1);
	}
	return (0);
}

/* Add a line to *cause (the caller may want no text: NULL). */
static void COMMON_PRINTF(2, 3)
add_cause(char **cause, const char *fmt, ...)
{
	va_list	 ap;
	char	*line, *all;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	if (*cause == NULL)
		*cause = line;
	else {
		xasprintf(&all, "%s\n%s", *cause, line);
		free(*cause);
		free(line);
		*cause = all;
	}
}

/* Whether s may be quoted in a one-line message as it is. */
static bool
quotable(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++) {
		if (n == QUOTE_MAX || !isprint((unsigned char)*s) ||
		    *s == '"' || *s == '\\')
			return (false);
	}
	return (true);
}

/* Refuse every key of dict that is not in allowed (NULL-ended). */
static int
check_keys(const courier_value *dict, const char *const *allowed,
    const char *where, char **cause)
{
	const char	*key;
	size_t		 i, j;
	int		 rc = 0;

	for (i = 0; i < courier_dict_len(dict); i++) {
		key = courier_dict_key(dict, i);
		for (j = 0; allowed[j] != NULL; j++) {
			if (strcmp(key, allowed[j]) == 0)
				break;
		}
		if (allowed[j] == NULL) {
			if (quotable(key))
				add_cause(cause, "%s: unknown key \"%s\"",
				    where, key);
			else
				add_cause(cause, "%s: an unknown key", where);
			rc = -1;
		}
	}
	return (rc);
}

/* A number of dict[key], or def if absent. */
static int
get_number(const courier_value *dict, const char *key, double def,
    double *out, const char *where, char **cause)
{
	const courier_value	*v = courier_dict_get(dict, key);

	*out = def;
	if (v == NULL)
		return (0);
	if (courier_value_type(v) != COURIER_INT &&
	    courier_value_type(v) != COURIER_DOUBLE) {
		add_cause(cause, "%s.%s: not a number", where, key);
		return (-1);
	}
	*out = courier_value_double(v);
	return (0);
}

/* A non-negative integer of dict[key], or def if absent. */
static int
get_count(const courier_value *dict, const char *key, int64_t def,
    int64_t *out, const char *where, char **cause)
{
	const courier_value	*v = courier_dict_get(dict, key);

	*out = def;
	if (v == NULL)
		return (0);
	if (courier_value_type(v) != COURIER_INT || courier_value_int(v) < 0) {
		add_cause(cause, "%s.%s: not an integer >= 0", where, key);
		return (-1);
	}
	*out = courier_value_int(v);
	return (0);
}

/* The edit distance of a and b, when both are short: typo hints. */
static size_t
distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, d, row[QUOTE_MAX + 1];
	size_t	 diag, up;

	if (la > QUOTE_MAX || lb > QUOTE_MAX)
		return (SIZE_MAX);
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			d = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < d)
				d = up + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			row[j] = d;
			diag = up;
		}
	}
	return (row[lb]);
}

/* A sampler or remover of dict[key], or def if absent. */
static int
get_selector(const courier_value *dict, const char *key,
    enum replay_selector def, enum replay_selector *out, const char *where,
    char **cause)
{
	const courier_value	*v = courier_dict_get(dict, key);
	const char		*s, *best = NULL;
	size_t			 d, bestd = 3;
	int			 sel, i;

	*out = def;
	if (v == NULL)
		return (0);
	if ((s = courier_value_string(v, NULL)) == NULL) {
		add_cause(cause, "%s.%s: must be a string, one of "
		    SELECTOR_LIST, where, key);
		return (-1);
	}
	if ((sel = replay_selector_from_name(s)) != -1) {
		*out = sel;
		return (0);
	}
	if (!quotable(s)) {
		add_cause(cause, "%s.%s: unknown %s: one of " SELECTOR_LIST,
		    where, key, key);
		return (-1);
	}
	for (i = 0; i < REPLAY_SELECTOR_COUNT; i++) {
		if ((d = distance(s, selector_names[i])) < bestd) {
			best = selector_names[i];
			bestd = d;
		}
	}
	if (best != NULL)
		add_cause(cause, "%s.%s: unknown %s \"%s\" (did you mean "
		    "\"%s\"?): one of " SELECTOR_LIST, where, key, key, s,
		    best);
	else
		add_cause(cause, "%s.%s: unknown %s \"%s\": one of "
		    SELECTOR_LIST, where, key, key, s);
	return (-1);
}

/* The rate limiter of a table. */
static int
parse_limiter(const courier_value *rl, struct replay_limiter_config *c,
    const char *where, char **cause)
{
	static const char *const keys[] = { "min_size_to_sample",
	    "samples_per_insert", "error_buffer", "queue", NULL };
	const courier_value	*eb;
	int64_t			 min_size, queue;
	double			 spi, lo, hi;
	char			*why = NULL;
	int			 rc;

	if (rl == NULL)
		return (replay_limiter_min_size(c, 1, NULL));
	if (courier_value_type(rl) != COURIER_DICT) {
		add_cause(cause, "%s: not an object", where);
		return (-1);
	}
	rc = check_keys(rl, keys, where, cause);
	rc |= get_count(rl, "queue", 0, &queue, where, cause);
	rc |= get_count(rl, "min_size_to_sample", 1, &min_size, where, cause);
	rc |= get_number(rl, "samples_per_insert", NAN, &spi, where, cause);
	if (rc != 0)
		return (-1);
	eb = courier_dict_get(rl, "error_buffer");
	if (courier_dict_get(rl, "queue") != NULL) {
		if (courier_dict_len(rl) != 1) {
			add_cause(cause, "%s: queue goes alone", where);
			return (-1);
		}
		rc = replay_limiter_queue(c, queue, &why);
	} else if (isnan(spi) != (eb == NULL)) {
		add_cause(cause, "%s: samples_per_insert and error_buffer go "
		    "together", where);
		return (-1);
	} else if (eb == NULL)
		rc = replay_limiter_min_size(c, min_size, &why);
	else if (courier_value_type(eb) == COURIER_LIST &&
	    courier_list_len(eb) == 2) {
		lo = courier_value_double(courier_list_get(eb, 0));
		hi = courier_value_double(courier_list_get(eb, 1));
		rc = replay_limiter_ratio_range(c, spi, min_size, lo, hi, &why);
	} else if (courier_value_type(eb) == COURIER_INT ||
	    courier_value_type(eb) == COURIER_DOUBLE)
		rc = replay_limiter_ratio(c, spi, min_size,
		    courier_value_double(eb), &why);
	else {
		add_cause(cause, "%s.error_buffer: a number or [min, max]",
		    where);
		return (-1);
	}
	if (rc != 0) {
		add_cause(cause, "%s: %s", where, why);
		free(why);
	}
	return (rc);
}

/* One table of the list; every error of it, but one of each key. */
static int
parse_table(const courier_value *t, struct replay_table_config *c,
    const char *where, char **cause)
{
	static const char *const keys[] = { "name", "sampler", "remover",
	    "max_size", "max_times_sampled", "priority_exponent", "seed",
	    "rate_limiter", NULL };
	const char	*name;
	char		*rl_where, *why = NULL;
	int64_t		 max_size, mts, seed;
	int		 rc;

	if (courier_value_type(t) != COURIER_DICT) {
		add_cause(cause, "%s: not an object", where);
		return (-1);
	}
	rc = check_keys(t, keys, where, cause);
	name = courier_value_string(courier_dict_get(t, "name"), NULL);
	if (name == NULL || *name == '\0') {
		add_cause(cause, "%s.name: missing", where);
		rc = -1;
	} else
		c->name = xstrdup(name);
	rc |= get_selector(t, "sampler", REPLAY_UNIFORM, &c->sampler, where,
	    cause);
	rc |= get_selector(t, "remover", REPLAY_FIFO, &c->remover, where,
	    cause);
	if (get_count(t, "max_size", 1000000, &max_size, where, cause) != 0)
		rc = -1;
	else if (max_size == 0) {
		add_cause(cause, "%s.max_size: 0; a table holds one item or "
		    "more", where);
		rc = -1;
	}
	if (get_count(t, "max_times_sampled", 0, &mts, where, cause) != 0)
		rc = -1;
	else if (mts > UINT32_MAX) {
		add_cause(cause, "%s.max_times_sampled: too big", where);
		rc = -1;
	}
	rc |= get_count(t, "seed", -1, &seed, where, cause);
	rc |= get_number(t, "priority_exponent", 1, &c->priority_exponent,
	    where, cause);
	xasprintf(&rl_where, "%s.rate_limiter", where);
	rc |= parse_limiter(courier_dict_get(t, "rate_limiter"), &c->limiter,
	    rl_where, cause);
	free(rl_where);
	if (rc != 0)
		return (-1);
	c->max_size = (uint64_t)max_size;
	c->max_times_sampled = (uint32_t)mts;
	/* No seed: one that differs from run to run. */
	c->seed = seed >= 0 ? (uint64_t)seed :
	    (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)time(NULL);
	if (replay_table_config_check(c, &why) != 0) {
		add_cause(cause, "%s: %s", where, why);
		free(why);
		return (-1);
	}
	return (0);
}

/* The checkpoint settings. */
static int
parse_checkpoint(const courier_value *ck, struct replay_config *rc,
    char **cause)
{
	static const char *const keys[] = { "dir", "every_s", NULL };
	const char	*dir;
	int64_t		 every;
	int		 bad;

	if (ck == NULL)
		return (0);
	if (courier_value_type(ck) != COURIER_DICT) {
		add_cause(cause, "checkpoint: not an object");
		return (-1);
	}
	bad = check_keys(ck, keys, "checkpoint", cause);
	if (get_count(ck, "every_s", 0, &every, "checkpoint", cause) != 0)
		bad = -1;
	else if (every > 86400 * 365) {
		add_cause(cause, "checkpoint.every_s: too big (a year at "
		    "most)");
		bad = -1;
	}
	dir = courier_value_string(courier_dict_get(ck, "dir"), NULL);
	if (dir == NULL || *dir == '\0') {
		add_cause(cause, "checkpoint.dir: missing: the folder of the "
		    "checkpoint files");
		bad = -1;
	}
	if (bad != 0)
		return (-1);
	rc->ckpt_dir = xstrdup(dir);
	rc->ckpt_every_s = (int)every;
	return (0);
}

/* Whether table i's name differs from those before it. */
static int
check_unique(const struct replay_config *rc, size_t i, char **cause)
{
	const char	*name = rc->tables[i].name;
	size_t		 j;

	for (j = 0; j < i && name != NULL; j++) {
		if (rc->tables[j].name == NULL ||
		    strcmp(rc->tables[j].name, name) != 0)
			continue;
		if (quotable(name))
			add_cause(cause, "tables[%zu].name: \"%s\" again "
			    "(first in tables[%zu])", i, name, j);
		else
			add_cause(cause, "tables[%zu].name: the same as "
			    "tables[%zu]'s", i, j);
		return (-1);
	}
	return (0);
}

/*
 * Parse the node's config whole: every table and the checkpoint
 * settings are checked, each error a line of *cause.
 */
int
replay_config_parse(const courier_value *cfg, struct replay_config *rc,
    char **cause)
{
	static const char *const keys[] = { "tables", "checkpoint", NULL };
	const courier_value	*tables;
	char			*where;
	size_t			 i;
	int			 bad;

	memset(rc, 0, sizeof *rc);
	if (cause != NULL)
		*cause = NULL;
	if (courier_value_type(cfg) != COURIER_DICT) {
		add_cause(cause, "config: not an object with \"tables\"");
		return (-1);
	}
	bad = check_keys(cfg, keys, "config", cause);
	tables = courier_dict_get(cfg, "tables");
	if (tables == NULL || courier_value_type(tables) != COURIER_LIST ||
	    courier_list_len(tables) == 0) {
		add_cause(cause, "tables: not a list of one table or more");
		bad = -1;
	} else {
		rc->ntables = courier_list_len(tables);
		rc->tables = xcalloc(rc->ntables, sizeof *rc->tables);
	}
	for (i = 0; i < rc->ntables; i++) {
		xasprintf(&where, "tables[%zu]", i);
		if (parse_table(courier_list_get(tables, i), &rc->tables[i],
		    where, cause) != 0)
			bad = -1;
		free(where);
		if (check_unique(rc, i, cause) != 0)
			bad = -1;
	}
	if (parse_checkpoint(courier_dict_get(cfg, "checkpoint"), rc,
	    cause) != 0)
		bad = -1;
	if (bad != 0) {
		replay_config_clear(rc);
		return (-1);
	}
	return (0);
}

/* Free what parsing made. */
void
replay_config_clear(struct replay_config *rc)
{
	size_t	i;

	for (i = 0; i < rc->ntables; i++)
		free((char *)rc->tables[i].name);
	free(rc->tables);
	free(rc->ckpt_dir);
	memset(rc, 0, sizeof *rc);
}
