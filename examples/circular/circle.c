/*
 * circle.c: one of two courier nodes that hold handles to each other, a
 * cycle that needs no trick because every address is known before any
 * node starts. Each says hello to its peer, and waits until its peer has
 * said hello to it before it ends; the program ends when both exited 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <courier/node.h>

struct circle {
	lp_node		*node;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 greeted;	/* hellos received */
};

/* hello(from): a greeting back, and one more hello counted. */
static courier_value *
hello(void *self, courier_request *req, courier_error **err)
{
	struct circle		*c = self;
	const courier_value	*from = courier_request_arg(req, 0);

	if (from == NULL || courier_value_type(from) != COURIER_STRING) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "hello takes the caller's name");
		return (NULL);
	}
	pthread_mutex_lock(&c->mtx);
	c->greeted++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	return (courier_stringf("hello %s, from %s",
	    courier_value_string(from, NULL), lp_node_name(c->node)));
}

/* The stop wakes run's wait. */
static void
circle_stopping(lp_node *node, void *arg)
{
	struct circle	*c = arg;

	pthread_mutex_lock(&c->mtx);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
}

static int
circle_setup(lp_node *node, void **self)
{
	struct circle	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return (-1);
	c->node = node;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	*self = c;
	lp_on_stop(node, circle_stopping, c);
	return (lp_node_method(node, "hello", hello, 0));
}

static int
circle_run(lp_node *node, void *self)
{
	struct circle	*c = self;
	courier_client	*peer;
	courier_value	*reply;
	courier_error	*err = NULL;
	char		*cause = NULL;

	if ((peer = lp_node_handle(node, "peer", &cause)) == NULL) {
		lp_node_fail(node, "%s", cause);
		free(cause);
		return (1);
	}
	reply = courier_call(peer, "hello",
	    courier_args(courier_string(lp_node_name(node))), &err);
	if (reply == NULL) {
		lp_node_fail(node, "hello to %s: %s",
		    courier_client_address(peer), courier_error_message(err));
		courier_error_free(err);
		return (1);
	}
	printf("%s\n", courier_value_string(reply, NULL));
	fflush(stdout);
	courier_value_unref(reply);

	/* Serve until the peer has greeted us too, so that its call ends. */
	pthread_mutex_lock(&c->mtx);
	while (c->greeted == 0 && !lp_stopping(node))
		pthread_cond_wait(&c->cond, &c->mtx);
	pthread_mutex_unlock(&c->mtx);
	return (0);
}

static void
circle_teardown(lp_node *node, void *self)
{
	struct circle	*c = self;

	pthread_mutex_destroy(&c->mtx);
	pthread_cond_destroy(&c->cond);
	free(c);
}

static const lp_node_def circle = {
	.name = "circle",
	.setup = circle_setup,
	.run = circle_run,
	.teardown = circle_teardown,
};
LP_NODE_MAIN(circle)
