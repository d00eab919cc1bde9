/*
 * courier-node-config.c: what a node was given, and what it reaches
 * through it: its names and address, its self, its config, and the
 * clients of the nodes its handles name, one client per address, shared
 * and cached under the node's mutex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "courier-node.h"

/* LP_NODE. */
const char *
lp_node_name(const lp_node *node)
{
	return (node->name);
}

/* LP_PROGRAM. */
const char *
lp_node_program(const lp_node *node)
{
	return (node->program);
}

/* The address the node was given to serve on, or NULL. */
const char *
lp_node_address(const lp_node *node)
{
	return (node->address);
}

/* The node's self. */
void *
lp_node_self(const lp_node *node)
{
	lp_node	*n = (lp_node *)node;
	void	*self;

	pthread_mutex_lock(&n->mtx);
	self = n->self;
	pthread_mutex_unlock(&n->mtx);
	return (self);
}

/* The whole config. */
const courier_value *
lp_node_config(const lp_node *node)
{
	return (node->config);
}

/* config[key], or NULL. */
const courier_value *
lp_node_config_get(const lp_node *node, const char *key)
{
	if (key == NULL)
		return (NULL);
	return (courier_dict_get(node->config, key));
}

/* config[key] or NULL with *cause saying why there is none. */
static const courier_value *
config_lookup(const lp_node *node, const char *key, char **cause)
{
	const courier_value	*v;

	if (key == NULL) {
		set_cause(cause, "no config key given");
		return (NULL);
	}
	if ((v = lp_node_config_get(node, key)) != NULL)
		return (v);
	if (courier_value_type(node->config) != COURIER_DICT)
		set_cause(cause, "config has no key \"%s\" (the config is %s, "
		    "not a dict)", key,
		    courier_type_name(courier_value_type(node->config)));
	else
		set_cause(cause, "config has no key \"%s\"", key);
	return (NULL);
}

/* The client of address, made if need be; mtx held. */
static courier_client *
client_get_locked(lp_node *node, const char *address, char **cause)
{
	courier_client	*c;
	size_t		 i;

	for (i = 0; i < node->nclients; i++) {
		if (strcmp(node->clients[i].address, address) == 0)
			return (node->clients[i].client);
	}
	/* courier_client_new() connects nothing: quick under the lock. */
	if ((c = courier_client_new(address, cause)) == NULL)
		return (NULL);
	courier_client_set_wait_for_ready(c, true);
	courier_client_set_cancel_fd(c, node->stop_fd);
	node->clients = xreallocarray(node->clients, node->nclients + 1,
	    sizeof *node->clients);
	node->clients[node->nclients].address = xstrdup(address);
	node->clients[node->nclients].client = c;
	node->nclients++;
	return (c);
}

/* A client of any address, shared per address. */
courier_client *
lp_node_client(lp_node *node, const char *address, char **cause)
{
	courier_client	*c;

	if (address == NULL) {
		set_cause(cause, "no address given");
		return (NULL);
	}
	pthread_mutex_lock(&node->mtx);
	c = client_get_locked(node, address, cause);
	pthread_mutex_unlock(&node->mtx);
	return (c);
}

/* The client of the node whose address is config[key]. */
courier_client *
lp_node_handle(lp_node *node, const char *key, char **cause)
{
	const courier_value	*v;
	const char		*address;
	courier_client		*c;
	char			*why = NULL;

	if ((v = config_lookup(node, key, cause)) == NULL)
		return (NULL);
	if ((address = courier_value_string(v, NULL)) == NULL) {
		set_cause(cause, "%s: not an address (a \"$handle\" in the "
		    "program file) but a %s", key,
		    courier_type_name(courier_value_type(v)));
		return (NULL);
	}
	pthread_mutex_lock(&node->mtx);
	c = client_get_locked(node, address, &why);
	pthread_mutex_unlock(&node->mtx);
	if (c == NULL) {
		set_cause(cause, "%s: %s", key, why);
		free(why);
	}
	return (c);
}

/* The clients of the nodes whose addresses are the list config[key]. */
courier_client **
lp_node_handles(lp_node *node, const char *key, size_t *n, char **cause)
{
	const courier_value	*v, *item;
	struct cached_handles	*h;
	courier_client		**clients = NULL;
	const char		*address;
	char			*why = NULL;
	size_t			 len, i;

	*n = 0;
	if ((v = config_lookup(node, key, cause)) == NULL)
		return (NULL);
	if (courier_value_type(v) != COURIER_LIST) {
		set_cause(cause, "%s: not a list of addresses (a \"$handles\" "
		    "in the program file) but a %s", key,
		    courier_type_name(courier_value_type(v)));
		return (NULL);
	}
	len = courier_list_len(v);
	for (i = 0; i < len; i++) {
		item = courier_list_get(v, i);
		if (courier_value_type(item) != COURIER_STRING) {
			set_cause(cause, "%s[%zu]: not an address (a "
			    "\"$handles\" in the program file) but a %s", key,
			    i, courier_type_name(courier_value_type(item)));
			return (NULL);
		}
	}

	pthread_mutex_lock(&node->mtx);
	for (i = 0; i < node->nhandles; i++) {
		h = &node->handles[i];
		if (strcmp(h->key, key) == 0) {
			*n = h->n;
			pthread_mutex_unlock(&node->mtx);
			return (h->clients);
		}
	}
	/* One more than needed: an empty list is an array, not NULL. */
	clients = xcalloc(len + 1, sizeof *clients);
	for (i = 0; i < len; i++) {
		address = courier_value_string(courier_list_get(v, i), NULL);
		if ((clients[i] = client_get_locked(node, address,
		    &why)) == NULL) {
			pthread_mutex_unlock(&node->mtx);
			set_cause(cause, "%s[%zu]: %s", key, i, why);
			free(why);
			free(clients);
			return (NULL);
		}
	}
	node->handles = xreallocarray(node->handles, node->nhandles + 1,
	    sizeof *node->handles);
	h = &node->handles[node->nhandles++];
	h->key = xstrdup(key);
	h->clients = clients;
	h->n = len;
	pthread_mutex_unlock(&node->mtx);
	*n = len;
	return (clients);
}
