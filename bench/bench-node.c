/*
 * bench-node.c: the node of the launch benchmark, a courier node with one
 * inline method and no run function: it serves until the stop. With
 * --exit it returns at once, for the fork/exec floor; with --wait-term it
 * says so on fd 3 and returns at the first SIGTERM, for the stop's floor.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <courier/node.h>

static courier_value *
ping(void *self, courier_request *req, courier_error **err)
{
	return (courier_int(1));
}

static int
bench_setup(lp_node *node, void **self)
{
	return (lp_node_method(node, "ping", ping, COURIER_METHOD_INLINE));
}

static const lp_node_def bench_node = {
	.name = "bench-node",
	.setup = bench_setup,
};

int
main(int argc, char **argv)
{
	sigset_t	set;
	int		sig;

	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return (0);
	if (argc > 1 && strcmp(argv[1], "--wait-term") == 0) {
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		(void)write(3, "", 1);	/* the floor's; a node has no fd 3 */
		return (sigwait(&set, &sig) == 0 ? 0 : 1);
	}
	return (lp_node_main(&bench_node, argc, argv));
}
