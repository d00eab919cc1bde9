/*
 * node-config.c: the replay node's config, as the program file gives it:
 *   { "tables": [ { "name", "sampler", "remover", "max_size",
 *                   "max_times_sampled", "priority_exponent", "seed",
 *                   "rate_limiter": { "min_size_to_sample",
 *                       "samples_per_insert", "error_buffer" } or
 *                       { "queue": N } } ... ],
 *     "checkpoint": { "dir", "every_s" } }
 * A missing rate_limiter is Reverb's MinSize(1). Every error names its
 * place ("tables[1].rate_limiter: ..."), and unknown keys are errors, so
 * that a misspelt option is not silently ignored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "replay-node.h"

/* Refuse a key of dict that is not in allowed (NULL-ended). */
static int
check_keys(const courier_value *dict, const char *const *allowed,
    const char *where, char **cause)
{
	const char	*key;
	size_t		 i, j;

	for (i = 0; i < courier_dict_len(dict); i++) {
		key = courier_dict_key(dict, i);
		for (j = 0; allowed[j] != NULL; j++) {
			if (strcmp(key, allowed[j]) == 0)
				break;
		}
		if (allowed[j] == NULL) {
			set_cause(cause, "%s: unknown key \"%s\"", where, key);
			return (-1);
		}
	}
	return (0);
}

/* A number of dict[key], or def if absent. */
static int
get_number(const courier_value *dict, const char *key, double def,
    double *out, const char *where, char **cause)
{
	const courier_value	*v = courier_dict_get(dict, key);

	if (v == NULL) {
		*out = def;
		return (0);
	}
	if (courier_value_type(v) != COURIER_INT &&
	    courier_value_type(v) != COURIER_DOUBLE) {
		set_cause(cause, "%s.%s: not a number", where, key);
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

	if (v == NULL) {
		*out = def;
		return (0);
	}
	if (courier_value_type(v) != COURIER_INT || courier_value_int(v) < 0) {
		set_cause(cause, "%s.%s: not an integer >= 0", where, key);
		return (-1);
	}
	*out = courier_value_int(v);
	return (0);
}

/* A sampler or remover of dict[key], or def if absent. */
static int
get_selector(const courier_value *dict, const char *key,
    enum replay_selector def, enum replay_selector *out, const char *where,
    char **cause)
{
	const courier_value	*v = courier_dict_get(dict, key);
	const char		*s;
	int			 sel;

	if (v == NULL) {
		*out = def;
		return (0);
	}
	if ((s = courier_value_string(v, NULL)) == NULL ||
	    (sel = replay_selector_from_name(s)) == -1) {
		set_cause(cause, "%s.%s: not one of uniform, fifo, lifo, "
		    "prioritized, max_heap, min_heap", where, key);
		return (-1);
	}
	*out = sel;
	return (0);
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
		return (replay_limiter_min_size(c, 1, cause));
	if (courier_value_type(rl) != COURIER_DICT) {
		set_cause(cause, "%s: not an object", where);
		return (-1);
	}
	if (check_keys(rl, keys, where, cause) != 0 ||
	    get_count(rl, "queue", 0, &queue, where, cause) != 0 ||
	    get_count(rl, "min_size_to_sample", 1, &min_size, where,
	    cause) != 0 ||
	    get_number(rl, "samples_per_insert", NAN, &spi, where, cause) != 0)
		return (-1);
	eb = courier_dict_get(rl, "error_buffer");
	if (courier_dict_get(rl, "queue") != NULL) {
		if (courier_dict_len(rl) != 1) {
			set_cause(cause, "%s: queue goes alone", where);
			return (-1);
		}
		rc = replay_limiter_queue(c, queue, &why);
	} else if (isnan(spi) != (eb == NULL)) {
		set_cause(cause, "%s: samples_per_insert and error_buffer go "
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
		set_cause(cause, "%s.error_buffer: a number or [min, max]",
		    where);
		return (-1);
	}
	if (rc != 0) {
		set_cause(cause, "%s: %s", where, why);
		free(why);
	}
	return (rc);
}

/* One table of the list. */
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
		set_cause(cause, "%s: not an object", where);
		return (-1);
	}
	if (check_keys(t, keys, where, cause) != 0)
		return (-1);
	name = courier_value_string(courier_dict_get(t, "name"), NULL);
	if (name == NULL || *name == '\0') {
		set_cause(cause, "%s.name: missing", where);
		return (-1);
	}
	c->name = xstrdup(name);
	if (get_selector(t, "sampler", REPLAY_UNIFORM, &c->sampler, where,
	    cause) != 0 ||
	    get_selector(t, "remover", REPLAY_FIFO, &c->remover, where,
	    cause) != 0 ||
	    get_count(t, "max_size", 1000000, &max_size, where, cause) != 0 ||
	    get_count(t, "max_times_sampled", 0, &mts, where, cause) != 0 ||
	    get_count(t, "seed", -1, &seed, where, cause) != 0 ||
	    get_number(t, "priority_exponent", 1, &c->priority_exponent,
	    where, cause) != 0)
		return (-1);
	if (max_size == 0) {
		set_cause(cause, "%s.max_size: 0", where);
		return (-1);
	}
	if (mts > UINT32_MAX) {
		set_cause(cause, "%s.max_times_sampled: too big", where);
		return (-1);
	}
	c->max_size = (uint64_t)max_size;
	c->max_times_sampled = (uint32_t)mts;
	/* No seed: one that differs from run to run. */
	c->seed = seed >= 0 ? (uint64_t)seed :
	    (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)time(NULL);
	xasprintf(&rl_where, "%s.rate_limiter", where);
	rc = parse_limiter(courier_dict_get(t, "rate_limiter"), &c->limiter,
	    rl_where, cause);
	free(rl_where);
	if (rc == 0 && replay_table_config_check(c, &why) != 0) {
		set_cause(cause, "%s: %s", where, why);
		free(why);
		rc = -1;
	}
	return (rc);
}

/* The checkpoint settings. */
static int
parse_checkpoint(const courier_value *ck, struct node_config *nc,
    char **cause)
{
	static const char *const keys[] = { "dir", "every_s", NULL };
	const char	*dir;
	int64_t		 every;

	if (ck == NULL)
		return (0);
	if (courier_value_type(ck) != COURIER_DICT) {
		set_cause(cause, "checkpoint: not an object");
		return (-1);
	}
	if (check_keys(ck, keys, "checkpoint", cause) != 0 ||
	    get_count(ck, "every_s", 0, &every, "checkpoint", cause) != 0)
		return (-1);
	dir = courier_value_string(courier_dict_get(ck, "dir"), NULL);
	if (dir == NULL || *dir == '\0') {
		set_cause(cause, "checkpoint.dir: missing");
		return (-1);
	}
	if (every > 86400 * 365) {
		set_cause(cause, "checkpoint.every_s: too big");
		return (-1);
	}
	nc->ckpt_dir = xstrdup(dir);
	nc->ckpt_every_s = (int)every;
	return (0);
}

/* Parse the node's config whole. */
int
node_config_parse(const courier_value *cfg, struct node_config *nc,
    char **cause)
{
	static const char *const keys[] = { "tables", "checkpoint", NULL };
	const courier_value	*tables;
	char			*where;
	size_t			 i, j;
	int			 rc;

	memset(nc, 0, sizeof *nc);
	if (courier_value_type(cfg) != COURIER_DICT) {
		set_cause(cause, "config: not an object with \"tables\"");
		return (-1);
	}
	if (check_keys(cfg, keys, "config", cause) != 0)
		return (-1);
	tables = courier_dict_get(cfg, "tables");
	if (tables == NULL || courier_value_type(tables) != COURIER_LIST ||
	    courier_list_len(tables) == 0) {
		set_cause(cause, "tables: not a list of one table or more");
		return (-1);
	}
	nc->ntables = courier_list_len(tables);
	nc->tables = xcalloc(nc->ntables, sizeof *nc->tables);
	for (i = 0; i < nc->ntables; i++) {
		xasprintf(&where, "tables[%zu]", i);
		rc = parse_table(courier_list_get(tables, i), &nc->tables[i],
		    where, cause);
		free(where);
		if (rc != 0)
			goto fail;
		for (j = 0; j < i; j++) {
			if (strcmp(nc->tables[j].name, nc->tables[i].name) ==
			    0) {
				set_cause(cause, "tables[%zu].name: \"%s\" "
				    "again", i, nc->tables[i].name);
				goto fail;
			}
		}
	}
	if (parse_checkpoint(courier_dict_get(cfg, "checkpoint"), nc,
	    cause) != 0)
		goto fail;
	return (0);

fail:
	node_config_clear(nc);
	return (-1);
}

/* Free what parsing made. */
void
node_config_clear(struct node_config *nc)
{
	size_t	i;

	for (i = 0; i < nc->ntables; i++)
		free((char *)nc->tables[i].name);
	free(nc->tables);
	free(nc->ckpt_dir);
	memset(nc, 0, sizeof *nc);
}
