/*
 * worker.c: a process node that does config.steps steps of config.step_ms
 * milliseconds each and exits 0. Nobody calls lp_stop_program: the program
 * ends when every worker has exited 0 (Launchpad's program_wait example).
 * A stop ends the wait at once.
 */
#include <stdio.h>

#include <courier/node.h>

/* config[key] as an int within [min, max], or -1 after lp_node_fail. */
static int64_t
config_int(lp_node *node, const char *key, int64_t min, int64_t max)
{
	const courier_value	*v = lp_node_config_get(node, key);

	if (v == NULL || courier_value_type(v) != COURIER_INT ||
	    courier_value_int(v) < min || courier_value_int(v) > max) {
		lp_node_fail(node, "config.%s: not an int from %lld to %lld",
		    key, (long long)min, (long long)max);
		return (-1);
	}
	return (courier_value_int(v));
}

static int
worker_setup(lp_node *node, void **self)
{
	return (0);
}

static int
worker_run(lp_node *node, void *self)
{
	int64_t	steps, step_ms, i;

	if ((steps = config_int(node, "steps", 0, 1000000)) < 0 ||
	    (step_ms = config_int(node, "step_ms", 0, 3600000)) < 0)
		return (1);
	for (i = 0; i < steps; i++) {
		/* Waiting on the stop event doubles as the step's work. */
		if (lp_wait_for_stop(node, (int)step_ms)) {
			printf("stopped after %lld of %lld steps\n",
			    (long long)i, (long long)steps);
			return (0);
		}
		printf("step %lld of %lld done\n", (long long)i + 1,
		    (long long)steps);
		fflush(stdout);
	}
	printf("%s: all done\n", lp_node_name(node));
	return (0);
}

static const lp_node_def worker = {
	.name = "worker",
	.setup = worker_setup,
	.run = worker_run,
};
LP_NODE_MAIN(worker)
