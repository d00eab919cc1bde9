/*
 * courier-node-main.c: lp_node_main(), the main() of a node that is a
 * process of its own: the node from the LP_* environment, its life on
 * the main thread, and the process's one piece of process-wide state, the
 * bridge from SIGTERM and SIGINT to the node's stop: a signalfd, so that
 * no code of ours runs in a signal handler, read by the main thread's wait
 * in a node without a run function and by a thread of its own otherwise.
 * The process exits when the node is done.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-node.h"

/*
 * The node of this process, once it runs: exit() leaves it to the kernel,
 * and a leak checker at exit finds it reachable from here.
 */
static lp_node	*process_node;

/*
 * The signal thread: turn the first SIGTERM or SIGINT into the node's
 * stop. Later ones are taken and dropped: the node is stopping already,
 * and a supervisor that runs out of patience sends SIGKILL. It runs until
 * the process exits.
 */
static void *
bridge_main(void *arg)
{
	lp_node		*node = arg;
	struct pollfd	 pfd;

	pfd.fd = node->sig_fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n", lp_node_name(node),
			    strerror(errno));
			return (NULL);
		}
		if (pfd.revents & POLLIN)
			node_signalled(node, node->sig_fd);
	}
}

/* main() of a node that is a process of its own. */
int
lp_node_main(const lp_node_def *def, int argc, char **argv)
{
	sigset_t	 set, old;
	pthread_t	 thread;
	lp_node		*node;
	const char	*who;
	char		*cause = NULL;
	int		 sig_fd, error;

	if (def != NULL && def->name != NULL)
		who = def->name;
	else if (argc > 0 && argv[0] != NULL)
		who = argv[0];
	else
		who = "node";

	/*
	 * Block the signals before any thread exists, so that every thread
	 * (the courier pools included) inherits the mask and only the
	 * signalfd sees them.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);

	if ((node = lp_node_init(def, &cause)) == NULL) {
		fprintf(stderr, "%s: %s\n", who, cause);
		free(cause);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return (2);
	}
	if ((sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		fprintf(stderr, "%s: cannot watch SIGTERM: %s\n",
		    node->name, strerror(errno));
		goto fail;
	}
	node->sig_fd = sig_fd;
	/*
	 * A node without a run function waits for its stop on this thread,
	 * and reads the signalfd itself there (node_wait()); one that runs
	 * code of its own here needs a thread to turn signals into its stop.
	 */
	if (node_runs(node) && (error = pthread_create(&thread, NULL,
	    bridge_main, node)) != 0) {
		fprintf(stderr, "%s: cannot start the signal thread: %s\n",
		    node->name, strerror(error));
		node->sig_fd = -1;
		close(sig_fd);
		goto fail;
	}

	/*
	 * The process ends with the node: lp_node_exec() stops the server
	 * and waits for its handlers, and exit() does the rest. Joining
	 * threads and freeing memory one piece at a time would cost more
	 * than the rest of the stop, for a program of many nodes. The
	 * signals stay blocked: a late SIGTERM must not turn a clean exit
	 * into a death by signal.
	 */
	node->exits = true;
	process_node = node;
	exit(lp_node_exec(node));

fail:
	lp_node_free(node);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (1);
}
