/*
 * test-nodes.c: small nodes, one per behaviour the harness must handle:
 * one that serves, one whose setup fails, one whose run fails, one that
 * never returns by itself, one that ignores its stop, one that crashes on
 * request, one that prints and ends, one that stops the program.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test-nodes.h"

bool	 test_node_is_process;

/* echo(x): x. */
static courier_value *
echo(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*v = courier_request_arg(req, 0);

	return (v != NULL ? courier_value_ref(v) : NULL);
}

/* whoami(): the node's name and its config's "tag", if any. */
static courier_value *
whoami(void *self, courier_request *req, courier_error **err)
{
	lp_node			*node = self;
	const courier_value	*tag = lp_node_config_get(node, "tag");
	courier_value		*d = courier_dict_new();

	courier_dict_set(d, "name", courier_string(lp_node_name(node)));
	courier_dict_set(d, "tag", tag != NULL ? courier_value_ref(tag) :
	    courier_null());
	return (d);
}

static int
echo_setup(lp_node *node, void **self)
{
	*self = node;
	if (lp_node_method(node, "echo", echo, COURIER_METHOD_INLINE) != 0)
		return (-1);
	return (lp_node_method(node, "whoami", whoami, COURIER_METHOD_INLINE));
}

static const lp_node_def echo_def = { .name = "echo", .setup = echo_setup };

/* Setup fails, saying why. */
static int
fail_setup_setup(lp_node *node, void **self)
{
	lp_node_fail(node, "config.size: missing, and it has no default");
	return (-1);
}

static const lp_node_def fail_setup_def = {
	.name = "fail_setup", .setup = fail_setup_setup,
};

/* Serves echo, so that every courier test node has a method. */
static int
plain_setup(lp_node *node, void **self)
{
	return (lp_node_method(node, "echo", echo, COURIER_METHOD_INLINE));
}

/* Run fails, saying why. */
static int
fail_run_run(lp_node *node, void *self)
{
	lp_node_fail(node, "the work failed: disk on fire");
	return (3);
}

static const lp_node_def fail_run_def = {
	.name = "fail_run", .setup = plain_setup, .run = fail_run_run,
};

/* Never returns by itself: it waits for its stop. */
static int
hang_run(lp_node *node, void *self)
{
	(void)lp_wait_for_stop(node, COURIER_FOREVER);
	return (0);
}

static const lp_node_def hang_def = {
	.name = "hang", .setup = plain_setup, .run = hang_run,
};

/* Ignores its stop (processes only: a thread like it cannot be ended). */
static int
stubborn_run(lp_node *node, void *self)
{
	for (;;)
		pause();
	return (0);
}

static const lp_node_def stubborn_def = {
	.name = "stubborn", .setup = plain_setup, .run = stubborn_run,
};

/*
 * crash(): as a process, abort() at once; in-process, where that would
 * take the test with it, run fails instead.
 */
struct crasher {
	lp_node		*node;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	bool		 crash;
};

static courier_value *
crash(void *self, courier_request *req, courier_error **err)
{
	struct crasher	*c = self;

	if (test_node_is_process)
		abort();
	pthread_mutex_lock(&c->mtx);
	c->crash = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
	return (NULL);
}

static void
crasher_stopping(lp_node *node, void *arg)
{
	struct crasher	*c = arg;

	pthread_mutex_lock(&c->mtx);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
}

static int
crasher_setup(lp_node *node, void **self)
{
	struct crasher	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return (-1);
	c->node = node;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cv, NULL);
	*self = c;
	lp_on_stop(node, crasher_stopping, c);
	if (lp_node_method(node, "echo", echo, COURIER_METHOD_INLINE) != 0)
		return (0);	/* the node fails after teardown */
	(void)lp_node_method(node, "crash", crash, 0);
	return (0);
}

static int
crasher_run(lp_node *node, void *self)
{
	struct crasher	*c = self;
	bool		 crashed;

	pthread_mutex_lock(&c->mtx);
	while (!c->crash && !lp_stopping(node))
		pthread_cond_wait(&c->cv, &c->mtx);
	crashed = c->crash;
	pthread_mutex_unlock(&c->mtx);
	if (crashed) {
		lp_node_fail(node, "crashed on request");
		return (1);
	}
	return (0);
}

static void
crasher_teardown(lp_node *node, void *self)
{
	struct crasher	*c = self;

	pthread_mutex_destroy(&c->mtx);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static const lp_node_def crasher_def = {
	.name = "crasher", .setup = crasher_setup, .run = crasher_run,
	.teardown = crasher_teardown,
};

/* Prints a line with its config's "text", and ends well. */
static int
talker_run(lp_node *node, void *self)
{
	const courier_value	*text = lp_node_config_get(node, "text");

	printf("%s says %s\n", lp_node_name(node), text != NULL &&
	    courier_value_type(text) == COURIER_STRING ?
	    courier_value_string(text, NULL) : "nothing");
	fflush(stdout);
	return (0);
}

static const lp_node_def talker_def = {
	.name = "talker", .setup = plain_setup, .run = talker_run,
};

/* Asks for the program's stop, as a consumer does when it is done. */
static int
stopper_run(lp_node *node, void *self)
{
	lp_stop_program(node);
	return (0);
}

static const lp_node_def stopper_def = {
	.name = "stopper", .setup = plain_setup, .run = stopper_run,
};

const struct test_node test_nodes[] = {
	{ "echo", &echo_def },
	{ "fail_setup", &fail_setup_def },
	{ "fail_run", &fail_run_def },
	{ "hang", &hang_def },
	{ "stubborn", &stubborn_def },
	{ "crasher", &crasher_def },
	{ "talker", &talker_def },
	{ "stopper", &stopper_def },
	{ NULL, NULL },
};
