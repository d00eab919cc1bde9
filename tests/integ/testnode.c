/*
 * testnode.c: a courier node for the integration tests, steered by its
 * config:
 *   "call": {"$handle": ...}, "method": "NAME"  run calls that method of
 *                                               that node, then returns
 *   "wait": true                                after that, run waits for
 *                                               the stop instead
 *   "exit": N                                   run returns N at once
 *   "print_env": true                           setup prints LP_ADDRESS,
 *                                               LP_LISTEN_FD and LP_RUN
 * It serves "ping" (returns "pong from GROUP/INDEX") and "stop_program",
 * which calls lp_stop_program() on the handler's thread.
 */
#include <stdio.h>
#include <stdlib.h>

#include <courier/node.h>

static courier_value *
ping(void *self, courier_request *req, courier_error **err)
{
	lp_node	*node = self;

	return (courier_stringf("pong from %s", lp_node_name(node)));
}

/* Its arguments back, positional and keyword: [args, kwargs]. */
static courier_value *
echo(void *self, courier_request *req, courier_error **err)
{
	return (courier_args(courier_value_ref(courier_request_args(req)),
	    courier_value_ref(courier_request_kwargs(req))));
}

static courier_value *
stop_program(void *self, courier_request *req, courier_error **err)
{
	lp_node	*node = self;

	printf("stop_program called\n");
	fflush(stdout);
	lp_stop_program(node);
	return (courier_string("stopping"));
}

static int
testnode_setup(lp_node *node, void **self)
{
	static const char *const	 vars[] = {
		"LP_ADDRESS", "LP_LISTEN_FD", "LP_RUN", "LP_HANDLES"
	};
	const courier_value		*v;
	const char			*value;
	size_t				 i;

	v = lp_node_config_get(node, "print_env");
	if (v != NULL && courier_value_bool(v)) {
		for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
			value = getenv(vars[i]);
			printf("%s=%s\n", vars[i], value != NULL ? value : "");
		}
		fflush(stdout);
	}
	*self = node;
	if (lp_node_method(node, "ping", ping, 0) != 0 ||
	    lp_node_method(node, "echo", echo, 0) != 0 ||
	    lp_node_method(node, "stop_program", stop_program, 0) != 0)
		return (-1);
	return (0);
}

static int
testnode_run(lp_node *node, void *self)
{
	const courier_value	*v, *method;
	courier_client		*peer;
	courier_value		*reply;
	courier_error		*err = NULL;
	char			*cause = NULL, *json;

	if ((v = lp_node_config_get(node, "exit")) != NULL)
		return ((int)courier_value_int(v));
	if (lp_node_config_get(node, "call") != NULL) {
		if ((peer = lp_node_handle(node, "call", &cause)) == NULL) {
			lp_node_fail(node, "%s", cause);
			free(cause);
			return (1);
		}
		method = lp_node_config_get(node, "method");
		reply = courier_call(peer, courier_value_string(method, NULL),
		    courier_list_new(), &err);
		if (reply == NULL) {
			lp_node_fail(node, "%s: %s",
			    courier_code_name(courier_error_code(err)),
			    courier_error_message(err));
			courier_error_free(err);
			return (1);
		}
		json = courier_value_to_json(reply, false, NULL);
		printf("reply: %s\n", json);
		fflush(stdout);
		free(json);
		courier_value_unref(reply);
	}
	if ((v = lp_node_config_get(node, "wait")) != NULL &&
	    courier_value_bool(v))
		lp_wait_for_stop(node, COURIER_FOREVER);
	return (0);
}

static const lp_node_def testnode = {
	.name = "testnode",
	.setup = testnode_setup,
	.run = testnode_run,
};
LP_NODE_MAIN(testnode)
