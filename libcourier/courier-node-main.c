/*
 * courier-node-main.c: lp_node_main(), the main() of a node that is a
 * process of its own: the node from the LP_* environment, its life on
 * the main thread, and the process's one piece of process-wide state, the
 * bridge from SIGTERM and SIGINT to the node's stop: a signalfd, so that
 * no code of ours runs in a signal handler, read by the main thread's wait
 * in a node without a run function and by a thread of its own otherwise.
 */
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-node.h"

/* What lp_node_main()'s signal thread watches. */
struct bridge {
	lp_node		*node;
	int		 sig_fd;	/* SIGTERM and SIGINT */
	int		 exit_fd;	/* readable when the node is done */
};

/*
 * Turn the first SIGTERM or SIGINT into the node's stop. Later ones are
 * taken and dropped: the node is stopping already, and a supervisor that
 * runs out of patience sends SIGKILL.
 */
static void *
bridge_main(void *arg)
{
	struct bridge		*b = arg;
	struct pollfd		 pfd[2];

	pfd[0].fd = b->sig_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = b->exit_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n",
			    lp_node_name(b->node), strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			break;
		if (pfd[0].revents & POLLIN)
			node_signalled(b->node, b->sig_fd);
	}
	return (NULL);
}

/* main() of a node that is a process of its own. */
int
lp_node_main(const lp_node_def *def, int argc, char **argv)
{
	struct bridge	 b;
	sigset_t	 set, old;
	pthread_t	 thread;
	lp_node		*node;
	const char	*who;
	char		*cause = NULL;
	uint64_t	 one = 1;
	int		 status, error;
	bool		 waits;

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
	/*
	 * A node without a run function waits for its stop on this thread,
	 * and reads the signalfd itself there (node_wait()); one that runs
	 * code of its own here needs a thread to turn signals into its stop.
	 */
	waits = !node_runs(node);
	b.node = node;
	b.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	b.exit_fd = waits ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b.sig_fd == -1 || (!waits && b.exit_fd == -1)) {
		fprintf(stderr, "%s: cannot watch SIGTERM: %s\n",
		    node->name, strerror(errno));
		goto fail;
	}
	if (waits) {
		node->sig_fd = b.sig_fd;
		status = lp_node_exec(node);
		close(b.sig_fd);
		lp_node_free(node);
		return (status);	/* the signals stay blocked: see below */
	}
	if ((error = pthread_create(&thread, NULL, bridge_main, &b)) != 0) {
		fprintf(stderr, "%s: cannot start the signal thread: %s\n",
		    node->name, strerror(error));
		goto fail;
	}

	status = lp_node_exec(node);

	while (write(b.exit_fd, &one, sizeof one) == -1 && errno == EINTR)
		continue;
	pthread_join(thread, NULL);
	close(b.sig_fd);
	close(b.exit_fd);
	lp_node_free(node);
	/*
	 * The signals stay blocked: the process is about to exit, and a late
	 * SIGTERM must not turn a clean exit into a death by signal.
	 */
	return (status);

fail:
	if (b.sig_fd != -1)
		close(b.sig_fd);
	if (b.exit_fd != -1)
		close(b.exit_fd);
	lp_node_free(node);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (1);
}
