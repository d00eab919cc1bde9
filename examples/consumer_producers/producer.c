/*
 * producer.c: a courier node serving one method, work(context), which
 * returns its context (Launchpad's consumer_producers example).
 */
#include <courier/node.h>

static courier_value *
work(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*context;

	if ((context = courier_request_arg(req, 0)) == NULL) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "work takes one argument, its context");
		return (NULL);
	}
	return (courier_value_ref(context));
}

static int
producer_setup(lp_node *node, void **self)
{
	return (lp_node_method(node, "work", work, COURIER_METHOD_INLINE));
}

static const lp_node_def producer = {
	.name = "producer",
	.setup = producer_setup,
};
LP_NODE_MAIN(producer)
