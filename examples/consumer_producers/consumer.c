/*
 * consumer.c: the consumer of Launchpad's consumer_producers example. Each
 * round it calls work(context) on every producer at once through futures
 * and sums the results; after config.rounds rounds it stops the program.
 *
 * It also serves "round" (one round, on demand, returning its results),
 * so that a test can launch the program with the consumer's run disabled
 * and drive it through a client.
 */
#include <stdio.h>
#include <stdlib.h>

#include <courier/node.h>

struct consumer {
	courier_client	**producers;
	size_t		  nproducers;
	int64_t		  rounds;
};

/*
 * One round: work(base + i) on producer i, all in flight at once. Returns
 * the list of results, or NULL with *err set.
 */
static courier_value *
consume(struct consumer *c, int64_t base, courier_error **err)
{
	courier_future	**f;
	courier_value	 *results, *v;
	courier_error	 *e;
	size_t		  i;

	f = calloc(c->nproducers, sizeof *f);
	if (f == NULL) {
		courier_error_set(err, COURIER_RESOURCE_EXHAUSTED,
		    "out of memory");
		return (NULL);
	}
	for (i = 0; i < c->nproducers; i++) {
		f[i] = courier_call_async(c->producers[i], "work",
		    courier_args(courier_int(base + (int64_t)i)));
	}
	results = courier_list_new();
	for (i = 0; i < c->nproducers; i++) {
		e = NULL;
		if ((v = courier_future_wait(f[i], COURIER_FOREVER, &e)) != NULL)
			courier_list_append(results, v);
		else if (*err == NULL)
			*err = e;	/* the first failure tells */
		else
			courier_error_free(e);
		courier_future_free(f[i]);
	}
	free(f);
	if (*err != NULL) {
		courier_value_unref(results);
		return (NULL);
	}
	return (results);
}

/* round(base): one round on demand; the list of the producers' results. */
static courier_value *
round_method(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*base = courier_request_arg(req, 0);

	if (base != NULL && courier_value_type(base) != COURIER_INT) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "round takes an int (the first context), not a %s",
		    courier_type_name(courier_value_type(base)));
		return (NULL);
	}
	return (consume(self, base == NULL ? 0 : courier_value_int(base),
	    err));
}

static int
consumer_setup(lp_node *node, void **self)
{
	struct consumer		*c;
	const courier_value	*rounds;
	char			*cause = NULL;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return (-1);
	c->producers = lp_node_handles(node, "producers", &c->nproducers,
	    &cause);
	if (c->producers == NULL) {
		lp_node_fail(node, "%s", cause);
		free(cause);
		free(c);
		return (-1);
	}
	rounds = lp_node_config_get(node, "rounds");
	c->rounds = 1;
	if (rounds != NULL) {
		if (courier_value_type(rounds) != COURIER_INT ||
		    courier_value_int(rounds) < 1) {
			lp_node_fail(node, "config.rounds: not an int >= 1");
			free(c);
			return (-1);
		}
		c->rounds = courier_value_int(rounds);
	}
	*self = c;
	return (lp_node_method(node, "round", round_method, 0));
}

static int
consumer_run(lp_node *node, void *self)
{
	struct consumer	*c = self;
	courier_error	*err = NULL;
	courier_value	*results;
	char		*json;
	int64_t		 r, sum;
	size_t		 i;

	for (r = 0; r < c->rounds; r++) {
		results = consume(c, r * (int64_t)c->nproducers, &err);
		if (results == NULL) {
			lp_node_fail(node, "round %lld: %s: %s", (long long)r,
			    courier_code_name(courier_error_code(err)),
			    courier_error_message(err));
			courier_error_free(err);
			return (1);
		}
		sum = 0;
		for (i = 0; i < courier_list_len(results); i++)
			sum += courier_value_int(courier_list_get(results, i));
		json = courier_value_to_json(results, false, NULL);
		printf("round %lld: results %s, sum %lld\n", (long long)r,
		    json, (long long)sum);
		free(json);
		courier_value_unref(results);
	}
	fflush(stdout);
	lp_stop_program(node);
	return (0);
}

static void
consumer_teardown(lp_node *node, void *self)
{
	free(self);
}

static const lp_node_def consumer = {
	.name = "consumer",
	.setup = consumer_setup,
	.run = consumer_run,
	.teardown = consumer_teardown,
};
LP_NODE_MAIN(consumer)
