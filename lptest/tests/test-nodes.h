/*
 * test-nodes.h: the nodes that the harness's own tests launch, in-process
 * (check-lptest links them) and as processes (lptest-node runs them).
 */
#ifndef TEST_NODES_H
#define TEST_NODES_H

#include <stdbool.h>

#include <courier/node.h>

/* Set by lptest-node's main: the node is a process of its own. */
extern bool			 test_node_is_process;

/* Every test node, ended by a NULL name: group names are these. */
struct test_node {
	const char		*name;
	const lp_node_def	*def;
};
extern const struct test_node	 test_nodes[];

#endif /* TEST_NODES_H */
