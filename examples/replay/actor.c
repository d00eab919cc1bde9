/*
 * actor.c: an actor of the replay example. It plays a toy environment
 * (a random walk whose reward is how near it stays to 0) and inserts
 * each transition into the replay node's table, a dict of the
 * observation (a float32 tensor), the action, the reward and where it
 * came from. The table's rate limiter holds its inserts back while the
 * learner lags; it acts until the program stops.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <courier/node.h>
#include <courier/replay.h>

#define OBS_DIM		4
#define INSERT_MS	1000	/* per try: the stop is checked between */
#define STOP_WAIT_MS	10000	/* for the stop, once the replay node went */

struct actor {
	courier_client	*replay;
	const char	*table;
	int64_t		 id;
	uint64_t	 rng;
};

/* A random number in [0, 1) (xorshift64*: enough for a toy). */
static double
uniform(struct actor *a)
{
	a->rng ^= a->rng >> 12;
	a->rng ^= a->rng << 25;
	a->rng ^= a->rng >> 27;
	return ((double)((a->rng * 2685821657736338717ULL) >> 11) /
	    9007199254740992.0);
}

/* One transition: the state before, the action taken, its reward. */
static courier_value *
transition(struct actor *a, const float *obs, int64_t step, int64_t action,
    double reward)
{
	static const int64_t	 shape[1] = { OBS_DIM };
	courier_value		*t = courier_dict_new(), *o;

	o = courier_tensor_new(COURIER_DT_FLOAT, 1, shape, obs,
	    OBS_DIM * sizeof *obs, NULL);
	if (o == NULL || courier_dict_set(t, "observation", o) != 0 ||
	    courier_dict_set(t, "action", courier_int(action)) != 0 ||
	    courier_dict_set(t, "reward", courier_double(reward)) != 0 ||
	    courier_dict_set(t, "actor", courier_int(a->id)) != 0 ||
	    courier_dict_set(t, "step", courier_int(step)) != 0) {
		courier_value_unref(t);
		return (NULL);
	}
	return (t);
}

static int
actor_setup(lp_node *node, void **self)
{
	struct actor		*a;
	const courier_value	*table;
	const char		*slash;
	char			*cause = NULL;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return (-1);
	if ((a->replay = lp_node_handle(node, "replay", &cause)) == NULL) {
		lp_node_fail(node, "%s", cause);
		free(cause);
		free(a);
		return (-1);
	}
	table = lp_node_config_get(node, "table");
	if ((a->table = courier_value_string(table, NULL)) == NULL) {
		lp_node_fail(node, "config.table: the replay table's name, "
		    "a string");
		free(a);
		return (-1);
	}
	slash = strrchr(lp_node_name(node), '/');
	a->id = slash != NULL ? strtoll(slash + 1, NULL, 10) : 0;
	a->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(a->id + 1);
	*self = a;
	return (0);
}

static int
actor_run(lp_node *node, void *self)
{
	struct actor	*a = self;
	courier_value	*item;
	courier_error	*err = NULL;
	float		 obs[OBS_DIM] = { 0 };
	double		 reward, prio = 1;
	int64_t		 step, action;
	uint64_t	 key;
	size_t		 i;
	int		 rc, code;

	for (step = 0; !lp_stopping(node); step++) {
		action = uniform(a) < 0.5 ? -1 : 1;
		reward = 0;
		for (i = 0; i < OBS_DIM; i++)
			reward -= fabs((double)obs[i]);
		if ((item = transition(a, obs, step, action, reward)) == NULL) {
			lp_node_fail(node, "out of memory");
			return (1);
		}
		/* Held back by the limiter: try again, unless stopping. */
		do {
			rc = courier_replay_insert(a->replay, item, &a->table,
			    &prio, 1, INSERT_MS, &key, &err);
			if (rc != 0 && courier_error_code(err) ==
			    COURIER_DEADLINE_EXCEEDED && !lp_stopping(node)) {
				courier_error_free(err);
				err = NULL;
				continue;
			}
			break;
		} while (1);
		courier_value_unref(item);
		if (rc != 0) {
			/*
			 * The stop cancels the calls in flight, and the
			 * replay node may stop before this node hears of it.
			 */
			code = courier_error_code(err);
			if ((code == COURIER_CANCELLED ||
			    code == COURIER_UNAVAILABLE) &&
			    lp_wait_for_stop(node, STOP_WAIT_MS)) {
				courier_error_free(err);
				break;
			}
			lp_node_fail(node, "insert: %s: %s",
			    courier_code_name(courier_error_code(err)),
			    courier_error_message(err));
			courier_error_free(err);
			return (1);
		}
		obs[step % OBS_DIM] += (float)action * 0.1f;
	}
	printf("%s: %lld transitions\n", lp_node_name(node), (long long)step);
	fflush(stdout);
	return (0);
}

static void
actor_teardown(lp_node *node, void *self)
{
	free(self);
}

static const lp_node_def actor = {
	.name = "actor",
	.setup = actor_setup,
	.run = actor_run,
	.teardown = actor_teardown,
};
LP_NODE_MAIN(actor)
