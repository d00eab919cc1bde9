/*
 * lptest-node.c: a test node as a process of its own. usage: lptest-node
 * NAME, where NAME is one of test-nodes.c's.
 */
#include <stdio.h>
#include <string.h>

#include "test-nodes.h"

int
main(int argc, char **argv)
{
	const struct test_node	*t;

	for (t = test_nodes; argc > 1 && t->name != NULL; t++) {
		if (strcmp(t->name, argv[1]) == 0) {
			test_node_is_process = true;
			return (lp_node_main(t->def, argc, argv));
		}
	}
	fprintf(stderr, "usage: lptest-node NAME (a node of test-nodes.c)\n");
	return (2);
}
