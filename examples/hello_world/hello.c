/*
 * hello.c: the smallest node, a process that prints its greeting and exits.
 * The program ends when every node has exited 0 (Launchpad's hello_world).
 */
#include <stdio.h>

#include <courier/node.h>

static int
hello_setup(lp_node *node, void **self)
{
	return (0);
}

static int
hello_run(lp_node *node, void *self)
{
	const courier_value	*greeting;

	greeting = lp_node_config_get(node, "greeting");
	if (courier_value_type(greeting) != COURIER_STRING) {
		lp_node_fail(node, "config.greeting: not a string");
		return (1);
	}
	printf("%s\n", courier_value_string(greeting, NULL));
	return (0);
}

static const lp_node_def hello = {
	.name = "hello",
	.setup = hello_setup,
	.run = hello_run,
};
LP_NODE_MAIN(hello)
