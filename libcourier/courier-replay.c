/*
 * courier-replay.c: the replay node's methods as typed C calls. Every
 * answer is checked for the shape the node gives, so a wrong address (a
 * node that is not a replay node) ends in an error, not a crash.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "courier/replay.h"

/* The arguments of insert: the item and {table: priority, ...}. */
static courier_value *
insert_args(const courier_value *item, const char *const *tables,
    const double *priorities, size_t n)
{
	courier_value	*prios = courier_dict_new();
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (courier_dict_set(prios, tables[i],
		    courier_double(priorities[i])) != 0) {
			courier_value_unref(prios);
			return (NULL);	/* the call fails: INVALID_ARGUMENT */
		}
	}
	return (courier_args(courier_value_ref(item), prios));
}

/* Start an insert. */
courier_future *
courier_replay_insert_async(courier_client *c, const courier_value *item,
    const char *const *tables, const double *priorities, size_t n,
    int timeout_ms)
{
	return (courier_call_async_kw(c, "insert", insert_args(item, tables,
	    priorities, n), NULL, timeout_ms));
}

/* The key an insert answered with. */
static int
insert_key(courier_value *v, uint64_t *key, courier_error **err)
{
	if (v == NULL)
		return (-1);
	if (courier_value_type(v) != COURIER_INT || courier_value_int(v) < 0) {
		courier_error_set(err, COURIER_INTERNAL, "insert answered "
		    "with a %s, not a key", courier_type_name(
		    courier_value_type(v)));
		courier_value_unref(v);
		return (-1);
	}
	*key = (uint64_t)courier_value_int(v);
	courier_value_unref(v);
	return (0);
}

/* Wait for an insert's future. */
int
courier_replay_insert_result(courier_future *f, int timeout_ms, uint64_t *key,
    courier_error **err)
{
	return (insert_key(courier_future_wait(f, timeout_ms, err), key, err));
}

/* Insert and wait. */
int
courier_replay_insert(courier_client *c, const courier_value *item,
    const char *const *tables, const double *priorities, size_t n,
    int timeout_ms, uint64_t *key, courier_error **err)
{
	return (insert_key(courier_call_kw(c, "insert", insert_args(item,
	    tables, priorities, n), NULL, timeout_ms, err), key, err));
}

/* Start a sample. */
courier_future *
courier_replay_sample_async(courier_client *c, const char *table, size_t n,
    int timeout_ms)
{
	return (courier_call_async_kw(c, "sample", courier_args(
	    courier_string(table), courier_int((int64_t)n)), NULL,
	    timeout_ms));
}

/* Unpack n draws from a sample's answer into out. */
static int
sample_draws(courier_value *v, size_t n, struct courier_replay_draw *out,
    courier_error **err)
{
	const courier_value	*d, *key, *item, *ts;
	size_t			 i;

	if (v == NULL)
		return (-1);
	if (courier_list_len(v) != n)
		goto bad;
	for (i = 0; i < n; i++) {
		d = courier_list_get(v, i);
		key = courier_dict_get(d, "key");
		item = courier_dict_get(d, "item");
		ts = courier_dict_get(d, "times_sampled");
		if (courier_value_type(key) != COURIER_INT || item == NULL ||
		    courier_value_type(ts) != COURIER_INT)
			goto bad;
	}
	for (i = 0; i < n; i++) {
		d = courier_list_get(v, i);
		out[i].key = (uint64_t)courier_value_int(courier_dict_get(d,
		    "key"));
		out[i].item = courier_value_ref(courier_dict_get(d, "item"));
		out[i].priority = courier_value_double(courier_dict_get(d,
		    "priority"));
		out[i].probability = courier_value_double(courier_dict_get(d,
		    "probability"));
		out[i].times_sampled = courier_value_int(courier_dict_get(d,
		    "times_sampled"));
	}
	courier_value_unref(v);
	return (0);

bad:
	courier_error_set(err, COURIER_INTERNAL, "sample answered with "
	    "something other than %zu draws", n);
	courier_value_unref(v);
	return (-1);
}

/* Wait for a sample's future. */
int
courier_replay_sample_result(courier_future *f, int timeout_ms, size_t n,
    struct courier_replay_draw *out, courier_error **err)
{
	return (sample_draws(courier_future_wait(f, timeout_ms, err), n, out,
	    err));
}

/* Sample and wait. */
int
courier_replay_sample(courier_client *c, const char *table, size_t n,
    int timeout_ms, struct courier_replay_draw *out, courier_error **err)
{
	return (sample_draws(courier_call_kw(c, "sample", courier_args(
	    courier_string(table), courier_int((int64_t)n)), NULL,
	    timeout_ms, err), n, out, err));
}

/* Drop the items of n draws. */
void
courier_replay_draws_clear(struct courier_replay_draw *out, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		courier_value_unref(out[i].item);
		out[i].item = NULL;
	}
}

/* Update priorities; keys travel as strings (dict keys). */
int64_t
courier_replay_update(courier_client *c, const char *table,
    const uint64_t *keys, const double *priorities, size_t n,
    int timeout_ms, courier_error **err)
{
	courier_value	*u = courier_dict_new(), *v;
	char		 buf[24];
	int64_t		 done;
	size_t		 i;

	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "%" PRIu64, keys[i]);
		courier_dict_set(u, buf, courier_double(priorities[i]));
	}
	v = courier_call_kw(c, "update_priorities", courier_args(
	    courier_string(table), u), NULL, timeout_ms, err);
	if (v == NULL)
		return (-1);
	if (courier_value_type(v) != COURIER_INT) {
		courier_error_set(err, COURIER_INTERNAL, "update_priorities "
		    "answered with a %s", courier_type_name(
		    courier_value_type(v)));
		courier_value_unref(v);
		return (-1);
	}
	done = courier_value_int(v);
	courier_value_unref(v);
	return (done);
}

/* info(). */
courier_value *
courier_replay_info(courier_client *c, int timeout_ms, courier_error **err)
{
	courier_value	*v;

	v = courier_call_kw(c, "info", courier_list_new(), NULL, timeout_ms,
	    err);
	if (v != NULL && courier_value_type(v) != COURIER_DICT) {
		courier_error_set(err, COURIER_INTERNAL, "info answered with "
		    "a %s", courier_type_name(courier_value_type(v)));
		courier_value_unref(v);
		return (NULL);
	}
	return (v);
}
