/*
 * replay-node.c: the replay node (Launchpad's ReverbNode): tables of items
 * served as courier methods
 *   insert(item, priorities)       -> the item's key
 *   sample(table, n)               -> n draws {key, item, priority,
 *                                     times_sampled, probability}, made
 *                                     all at once when the limiter admits
 *                                     all n, so that a call that times
 *                                     out has used no item up
 *   update_priorities(table, updates), delete(table, keys) -> a count
 *   info()                         -> per table: size, counts, selectors,
 *                                     can_sample, can_insert, and the
 *                                     calls waiting for the limiter
 *   reset(table), checkpoint()     -> null, the checkpoint's path
 * with positional or keyword arguments. Inserts and samples that a rate
 * limiter holds back wait without a thread (node-wait.c).
 *
 * With "checkpoint": {"dir"} in the config, the node starts from the
 * newest checkpoint there that reads back whole (a damaged one is named
 * on stderr and the next older tried), writes one every every_s seconds,
 * on request and at a graceful stop, and keeps the last two.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"
#include "replay-node.h"

#define CKPT_PREFIX	"replay-"
#define CKPT_SUFFIX	".ckpt"
#define CKPT_KEEP	2
#define SAMPLE_MAX	1000000

/* A table's name. */
static const char *
table_name(const struct replay_table *t)
{
	return (replay_table_config(t)->name);
}

/* The positional argument i or the keyword argument name. */
static const courier_value *
arg(courier_request *req, size_t i, const char *name)
{
	const courier_value	*v = courier_request_arg(req, i);

	return (v != NULL ? v : courier_request_kwarg(req, name));
}

/* The table named by argument 0 ("table"), or NULL with *err. */
static struct replay_table *
table_arg(struct replay_node *rn, courier_request *req, courier_error **err)
{
	const char	*name;
	size_t		 i;

	name = courier_value_string(arg(req, 0, "table"), NULL);
	if (name == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "%s: the "
		    "first argument, table, is a table's name",
		    courier_request_method(req));
		return (NULL);
	}
	for (i = 0; i < rn->ntables; i++) {
		if (strcmp(table_name(rn->tables[i]), name) == 0)
			return (rn->tables[i]);
	}
	courier_error_set(err, COURIER_NOT_FOUND, "no table %s", name);
	return (NULL);
}

/* Whether v is an int or a double. */
static bool
is_number(const courier_value *v)
{
	return (courier_value_type(v) == COURIER_INT ||
	    courier_value_type(v) == COURIER_DOUBLE);
}

/* insert(item, priorities): the item into every table named. */
static courier_value *
method_insert(void *self, courier_request *req, courier_error **err)
{
	struct replay_node	 *rn = self;
	const courier_value	 *item = arg(req, 0, "item");
	const courier_value	 *prio = arg(req, 1, "priorities");
	struct replay_table	**tables;
	courier_value		 *v;
	double			 *p;
	size_t			  n, i, j;

	if (item == NULL || prio == NULL ||
	    courier_value_type(prio) != COURIER_DICT ||
	    (n = courier_dict_len(prio)) == 0) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "insert takes "
		    "an item and priorities, a dict of table name -> number");
		return (NULL);
	}
	tables = xcalloc(n, sizeof *tables);
	p = xcalloc(n, sizeof *p);
	for (i = 0; i < n; i++) {
		for (j = 0; j < rn->ntables; j++) {
			if (strcmp(table_name(rn->tables[j]),
			    courier_dict_key(prio, i)) == 0)
				tables[i] = rn->tables[j];
		}
		if (tables[i] == NULL ||
		    !is_number(courier_dict_value(prio, i))) {
			courier_error_set(err, tables[i] == NULL ?
			    COURIER_NOT_FOUND : COURIER_INVALID_ARGUMENT,
			    tables[i] == NULL ? "no table %s" : "priority of "
			    "%s: not a number", courier_dict_key(prio, i));
			free(tables);
			free(p);
			return (NULL);
		}
		p[i] = courier_value_double(courier_dict_value(prio, i));
	}
	v = pending_insert(rn, req, replay_store_new_key(rn->store), item,
	    tables, p, n, err);
	free(tables);
	free(p);
	return (v);
}

/* sample(table, n): n draws. */
static courier_value *
method_sample(void *self, courier_request *req, courier_error **err)
{
	struct replay_node	*rn = self;
	struct replay_table	*t;
	const courier_value	*nv = arg(req, 1, "n");
	int64_t			 n = 1;

	if ((t = table_arg(rn, req, err)) == NULL)
		return (NULL);
	if (nv != NULL)
		n = courier_value_type(nv) == COURIER_INT ?
		    courier_value_int(nv) : 0;
	if (n < 1 || n > SAMPLE_MAX) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT, "sample: n "
		    "is an integer from 1 to %d", SAMPLE_MAX);
		return (NULL);
	}
	return (pending_sample(rn, req, t, (size_t)n, err));
}

/* update_priorities(table, updates): keys (as strings) -> priorities. */
static courier_value *
method_update(void *self, courier_request *req, courier_error **err)
{
	struct replay_table	*t;
	const courier_value	*u = arg(req, 1, "updates");
	const char		*k;
	char			*end, *cause = NULL;
	unsigned long long	 key;
	size_t			 i;
	int64_t			 done = 0;

	if ((t = table_arg(self, req, err)) == NULL)
		return (NULL);
	if (u == NULL || courier_value_type(u) != COURIER_DICT) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "update_priorities: updates is a dict key -> priority");
		return (NULL);
	}
	for (i = 0; i < courier_dict_len(u); i++) {
		k = courier_dict_key(u, i);
		errno = 0;
		key = strtoull(k, &end, 10);
		if (*k == '\0' || *end != '\0' || errno != 0 ||
		    !is_number(courier_dict_value(u, i))) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "update_priorities: %s: a key and a number", k);
			return (NULL);
		}
		/* A key sampled away meanwhile is no error (as Reverb). */
		switch (replay_table_update(t, key,
		    courier_value_double(courier_dict_value(u, i)), &cause)) {
		case REPLAY_DONE:
			done++;
			break;
		default:
			if (strstr(cause, "has no key") == NULL) {
				courier_error_set(err,
				    COURIER_INVALID_ARGUMENT, "%s", cause);
				free(cause);
				return (NULL);
			}
			free(cause);
			cause = NULL;
		}
	}
	return (courier_int(done));
}

/* delete(table, keys). */
static courier_value *
method_delete(void *self, courier_request *req, courier_error **err)
{
	struct replay_table	*t;
	const courier_value	*keys = arg(req, 1, "keys"), *k;
	size_t			 i;
	int64_t			 done = 0;

	if ((t = table_arg(self, req, err)) == NULL)
		return (NULL);
	if (keys == NULL || courier_value_type(keys) != COURIER_LIST) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "delete: keys is a list of keys");
		return (NULL);
	}
	for (i = 0; i < courier_list_len(keys); i++) {
		k = courier_list_get(keys, i);
		if (courier_value_type(k) != COURIER_INT) {
			courier_error_set(err, COURIER_INVALID_ARGUMENT,
			    "delete: keys[%zu] is not an integer", i);
			return (NULL);
		}
		if (replay_table_delete(t, (uint64_t)courier_value_int(k)))
			done++;
	}
	return (courier_int(done));
}

/* info(): every table's size, counts, selectors and limiter state. */
static courier_value *
method_info(void *self, courier_request *req, courier_error **err)
{
	struct replay_node		*rn = self;
	const struct replay_table_config *c;
	struct replay_table_info	 ti;
	courier_value			*out = courier_dict_new(), *d;
	size_t				 i;

	for (i = 0; i < rn->ntables; i++) {
		c = replay_table_config(rn->tables[i]);
		replay_table_info(rn->tables[i], &ti);
		d = courier_dict_new();
		courier_dict_set(d, "size", courier_int((int64_t)ti.size));
		courier_dict_set(d, "max_size",
		    courier_int((int64_t)ti.max_size));
		courier_dict_set(d, "inserts", courier_int(ti.inserts));
		courier_dict_set(d, "samples", courier_int(ti.samples));
		courier_dict_set(d, "deletes", courier_int(ti.deletes));
		courier_dict_set(d, "sampler",
		    courier_string(replay_selector_name(c->sampler)));
		courier_dict_set(d, "remover",
		    courier_string(replay_selector_name(c->remover)));
		courier_dict_set(d, "can_sample", courier_bool(ti.can_sample));
		courier_dict_set(d, "can_insert", courier_bool(ti.can_insert));
		courier_dict_set(d, "waiting_inserts",
		    courier_int((int64_t)ti.waiting_inserts));
		courier_dict_set(d, "waiting_samples",
		    courier_int((int64_t)ti.waiting_samples));
		courier_dict_set(out, c->name, d);
	}
	return (out);
}

/* reset(table). */
static courier_value *
method_reset(void *self, courier_request *req, courier_error **err)
{
	struct replay_table	*t;

	if ((t = table_arg(self, req, err)) == NULL)
		return (NULL);
	replay_table_reset(t);
	return (NULL);
}

/* checkpoint(): write one now. */
static courier_value *
method_checkpoint(void *self, courier_request *req, courier_error **err)
{
	struct replay_node	*rn = self;
	courier_value		*v;
	char			*path, *cause = NULL;

	if (rn->cfg.ckpt_dir == NULL) {
		courier_error_set(err, COURIER_FAILED_PRECONDITION, "this "
		    "replay node has no checkpoint dir in its config");
		return (NULL);
	}
	if ((path = node_checkpoint(rn, &cause)) == NULL) {
		courier_error_set(err, COURIER_INTERNAL, "%s", cause);
		free(cause);
		return (NULL);
	}
	v = courier_string(path);
	free(path);
	return (v);
}

/* The sequence number of a checkpoint's file name, or 0 if it is not one. */
static uint64_t
ckpt_seq_of(const char *name)
{
	unsigned long long	 seq;
	char			*end;
	size_t			 len = strlen(name);

	if (strncmp(name, CKPT_PREFIX, strlen(CKPT_PREFIX)) != 0 ||
	    len <= strlen(CKPT_PREFIX CKPT_SUFFIX) ||
	    strcmp(name + len - strlen(CKPT_SUFFIX), CKPT_SUFFIX) != 0)
		return (0);
	seq = strtoull(name + strlen(CKPT_PREFIX), &end, 10);
	if (end != name + len - strlen(CKPT_SUFFIX))
		return (0);
	return (seq);
}

/* Newest first. */
static int
seq_cmp_desc(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y ? -1 : x < y);
}

/* The checkpoints of the folder, newest first; *n of them. */
static uint64_t *
ckpt_list(const char *dir, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*seqs = NULL, seq;
	size_t		 cap = 0;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return (NULL);
	while ((de = readdir(d)) != NULL) {
		if ((seq = ckpt_seq_of(de->d_name)) == 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			seqs = xreallocarray(seqs, cap, sizeof *seqs);
		}
		seqs[(*n)++] = seq;
	}
	closedir(d);
	if (*n != 0)
		qsort(seqs, *n, sizeof *seqs, seq_cmp_desc);
	return (seqs);
}

/* The path of checkpoint seq in dir. */
static char *
ckpt_path(const char *dir, uint64_t seq)
{
	char	*path;

	xasprintf(&path, "%s/" CKPT_PREFIX "%020llu" CKPT_SUFFIX, dir,
	    (unsigned long long)seq);
	return (path);
}

/* Write a checkpoint, then drop all but the newest CKPT_KEEP. */
char *
node_checkpoint(struct replay_node *rn, char **cause)
{
	uint64_t	*seqs;
	size_t		 n, i;
	char		*path, *old;

	pthread_mutex_lock(&rn->ckpt_lock);
	path = ckpt_path(rn->cfg.ckpt_dir, ++rn->ckpt_seq);
	if (replay_checkpoint_write(path, rn->tables, rn->ntables,
	    cause) != 0) {
		pthread_mutex_unlock(&rn->ckpt_lock);
		free(path);
		return (NULL);
	}
	seqs = ckpt_list(rn->cfg.ckpt_dir, &n);
	for (i = CKPT_KEEP; i < n; i++) {
		old = ckpt_path(rn->cfg.ckpt_dir, seqs[i]);
		unlink(old);
		free(old);
	}
	free(seqs);
	pthread_mutex_unlock(&rn->ckpt_lock);
	return (path);
}

/*
 * Whether the tables of a checkpoint are the ones the config names; put
 * them in the config's order if so.
 */
static bool
ckpt_matches(struct replay_node *rn, struct replay_table **tables, size_t n)
{
	struct replay_table	*tmp;
	size_t			 i, j;

	if (n != rn->cfg.ntables)
		return (false);
	for (i = 0; i < n; i++) {
		for (j = i; j < n; j++) {
			if (strcmp(table_name(tables[j]),
			    rn->cfg.tables[i].name) == 0)
				break;
		}
		if (j == n)
			return (false);
		tmp = tables[i];
		tables[i] = tables[j];
		tables[j] = tmp;
	}
	return (true);
}

/* Start from the newest checkpoint that reads back whole and fits. */
static void
ckpt_restore(struct replay_node *rn)
{
	struct replay_table	**tables;
	struct replay_store	 *store;
	uint64_t		 *seqs;
	size_t			  n, i, j, nt;
	char			 *path, *cause = NULL;

	seqs = ckpt_list(rn->cfg.ckpt_dir, &n);
	if (n != 0)
		rn->ckpt_seq = seqs[0];
	for (i = 0; i < n && rn->tables == NULL; i++) {
		path = ckpt_path(rn->cfg.ckpt_dir, seqs[i]);
		if (replay_checkpoint_read(path, &store, &tables, &nt,
		    &cause) != 0) {
			fprintf(stderr, "%s: checkpoint refused: %s\n",
			    lp_node_name(rn->node), cause);
			free(cause);
			cause = NULL;
		} else if (!ckpt_matches(rn, tables, nt)) {
			fprintf(stderr, "%s: checkpoint %s holds other tables "
			    "than the config: not used\n",
			    lp_node_name(rn->node), path);
			for (j = 0; j < nt; j++)
				replay_table_free(tables[j]);
			free(tables);
			replay_store_free(store);
		} else {
			fprintf(stderr, "%s: starting from checkpoint %s\n",
			    lp_node_name(rn->node), path);
			rn->store = store;
			rn->tables = tables;
			rn->ntables = nt;
		}
		free(path);
	}
	free(seqs);
}

/* The stop: every waiting call ends with CANCELLED. */
static void
replay_stop_cb(lp_node *node, void *arg)
{
	struct replay_node	*rn = arg;
	size_t			 i;

	for (i = 0; i < rn->ntables; i++)
		replay_table_stop(rn->tables[i]);
}

/* Free the node's state. */
static void
replay_free(struct replay_node *rn)
{
	size_t	i;

	node_timer_stop(rn);
	for (i = 0; i < rn->ntables; i++)
		replay_table_free(rn->tables[i]);
	free(rn->tables);
	replay_store_free(rn->store);
	replay_config_clear(&rn->cfg);
	free(rn->heap);
	pthread_mutex_destroy(&rn->lock);
	pthread_cond_destroy(&rn->cond);
	pthread_mutex_destroy(&rn->ckpt_lock);
	free(rn);
}

/*
 * Every method but checkpoint (file I/O) only takes a table's lock for
 * a moment and never waits, so it runs on the I/O thread: no hand-over
 * to a handler thread, and its answer joins the loop's batched writes.
 */
static const struct {
	const char		*name;
	courier_method_fn	 fn;
	int			 flags;
} methods[] = {
	{ "insert", method_insert, COURIER_METHOD_INLINE },
	{ "sample", method_sample, COURIER_METHOD_INLINE },
	{ "update_priorities", method_update, COURIER_METHOD_INLINE },
	{ "delete", method_delete, COURIER_METHOD_INLINE },
	{ "info", method_info, COURIER_METHOD_INLINE },
	{ "reset", method_reset, COURIER_METHOD_INLINE },
	{ "checkpoint", method_checkpoint, 0 },
};

/* Read the config, make or restore the tables, register the methods. */
static int
replay_setup(lp_node *node, void **self)
{
	struct replay_node	*rn = xcalloc(1, sizeof *rn);
	size_t			 i;
	char			*cause = NULL;

	rn->node = node;
	pthread_mutex_init(&rn->lock, NULL);
	courier_cond_init(&rn->cond);
	pthread_mutex_init(&rn->ckpt_lock, NULL);
	if (replay_config_parse(lp_node_config(node), &rn->cfg, &cause) != 0)
		goto fail;
	if (rn->cfg.ckpt_dir != NULL) {
		if (mkdir(rn->cfg.ckpt_dir, 0700) != 0 && errno != EEXIST) {
			set_cause(&cause, "checkpoint.dir %s: %s",
			    rn->cfg.ckpt_dir, strerror(errno));
			goto fail;
		}
		ckpt_restore(rn);
	}
	if (rn->tables == NULL) {
		rn->store = replay_store_new();
		rn->tables = xcalloc(rn->cfg.ntables, sizeof *rn->tables);
		for (i = 0; i < rn->cfg.ntables; i++) {
			rn->tables[i] = replay_table_new(rn->store,
			    &rn->cfg.tables[i], &cause);
			if (rn->tables[i] == NULL)
				goto fail;
			rn->ntables++;
		}
	}
	for (i = 0; i < nitems(methods); i++) {
		if (lp_node_method(node, methods[i].name, methods[i].fn,
		    methods[i].flags) != 0)
			goto fail;
	}
	if (node_timer_start(rn, &cause) != 0)
		goto fail;
	lp_on_stop(node, replay_stop_cb, rn);
	*self = rn;
	return (0);

fail:
	if (cause != NULL) {
		lp_node_fail(node, "%s", cause);
		free(cause);
	}
	replay_free(rn);
	return (-1);
}

/* After the server stopped: a last checkpoint, then free everything. */
static void
replay_teardown(lp_node *node, void *self)
{
	struct replay_node	*rn = self;
	char			*path, *cause = NULL;

	node_timer_stop(rn);
	if (rn->cfg.ckpt_dir != NULL) {
		if ((path = node_checkpoint(rn, &cause)) == NULL) {
			fprintf(stderr, "%s: checkpoint at the stop: %s\n",
			    lp_node_name(node), cause);
			free(cause);
		}
		free(path);
	}
	replay_free(rn);
}

static const lp_node_def replay = {
	.name = "replay",
	.setup = replay_setup,
	.teardown = replay_teardown,
};
LP_NODE_MAIN(replay)
