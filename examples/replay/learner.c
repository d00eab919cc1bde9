/*
 * learner.c: the learner of the replay example. Each step it samples a
 * batch of transitions from the replay node's table and "learns" from
 * it (a running mean of the reward, the stand-in for a gradient step);
 * the table's rate limiter (samples_per_insert) makes it wait for the
 * actors, or them for it. After config.steps steps it prints the
 * table's counts and stops the program, as a Launchpad learner does.
 */
#include <stdio.h>
#include <stdlib.h>

#include <courier/node.h>
#include <courier/replay.h>

#define SAMPLE_MS	1000	/* per try: the stop is checked between */

struct learner {
	courier_client		 *replay;
	const char		 *table;
	int64_t			  steps;
	int64_t			  batch;
	struct courier_replay_draw *draws;
};

/* config[key], an integer >= 1, or def if absent; -1 if invalid. */
static int64_t
config_count(lp_node *node, const char *key, int64_t def)
{
	const courier_value	*v = lp_node_config_get(node, key);

	if (v == NULL)
		return (def);
	if (courier_value_type(v) != COURIER_INT || courier_value_int(v) < 1) {
		lp_node_fail(node, "config.%s: not an int >= 1", key);
		return (-1);
	}
	return (courier_value_int(v));
}

static int
learner_setup(lp_node *node, void **self)
{
	struct learner	*l;
	char		*cause = NULL;

	if ((l = calloc(1, sizeof *l)) == NULL)
		return (-1);
	if ((l->replay = lp_node_handle(node, "replay", &cause)) == NULL) {
		lp_node_fail(node, "%s", cause);
		free(cause);
		goto fail;
	}
	l->table = courier_value_string(lp_node_config_get(node, "table"),
	    NULL);
	if (l->table == NULL) {
		lp_node_fail(node, "config.table: the replay table's name, "
		    "a string");
		goto fail;
	}
	if ((l->steps = config_count(node, "steps", 100)) == -1 ||
	    (l->batch = config_count(node, "batch_size", 16)) == -1)
		goto fail;
	if ((l->draws = calloc((size_t)l->batch, sizeof *l->draws)) == NULL)
		goto fail;
	*self = l;
	return (0);

fail:
	free(l);
	return (-1);
}

/* One batch, waiting for the limiter as long as it takes; 0 or -1. */
static int
sample(lp_node *node, struct learner *l, courier_error **err)
{
	while (courier_replay_sample(l->replay, l->table, (size_t)l->batch,
	    SAMPLE_MS, l->draws, err) != 0) {
		if (courier_error_code(*err) != COURIER_DEADLINE_EXCEEDED ||
		    lp_stopping(node))
			return (-1);
		courier_error_free(*err);
		*err = NULL;
	}
	return (0);
}

static int
learner_run(lp_node *node, void *self)
{
	struct learner		*l = self;
	const courier_value	*reward, *t;
	courier_value		*info;
	courier_error		*err = NULL;
	double			 mean = 0;
	int64_t			 step, n = 0, i;

	for (step = 0; step < l->steps; step++) {
		if (sample(node, l, &err) != 0) {
			lp_node_fail(node, "step %lld: sample: %s: %s",
			    (long long)step,
			    courier_code_name(courier_error_code(err)),
			    courier_error_message(err));
			courier_error_free(err);
			return (1);
		}
		for (i = 0; i < l->batch; i++) {
			reward = courier_dict_get(l->draws[i].item, "reward");
			if (courier_value_type(reward) != COURIER_DOUBLE) {
				lp_node_fail(node, "step %lld: an item with "
				    "no reward", (long long)step);
				courier_replay_draws_clear(l->draws,
				    (size_t)l->batch);
				return (1);
			}
			n++;
			mean += (courier_value_double(reward) - mean) /
			    (double)n;
		}
		courier_replay_draws_clear(l->draws, (size_t)l->batch);
		if ((step + 1) % (l->steps < 10 ? 1 : l->steps / 10) == 0)
			printf("step %lld: mean reward %.3f\n",
			    (long long)step + 1, mean);
	}
	if ((info = courier_replay_info(l->replay, SAMPLE_MS, &err)) == NULL) {
		lp_node_fail(node, "info: %s", courier_error_message(err));
		courier_error_free(err);
		return (1);
	}
	t = courier_dict_get(info, l->table);
	printf("learner: %lld steps of %lld: %lld inserts, %lld samples\n",
	    (long long)l->steps, (long long)l->batch,
	    (long long)courier_value_int(courier_dict_get(t, "inserts")),
	    (long long)courier_value_int(courier_dict_get(t, "samples")));
	fflush(stdout);
	courier_value_unref(info);
	lp_stop_program(node);
	return (0);
}

static void
learner_teardown(lp_node *node, void *self)
{
	struct learner	*l = self;

	free(l->draws);
	free(l);
}

static const lp_node_def learner = {
	.name = "learner",
	.setup = learner_setup,
	.run = learner_run,
	.teardown = learner_teardown,
};
LP_NODE_MAIN(learner)
