/*
 * program-replay.c: what the program file says of a replay node ("type":
 * "replay"): its default command, lpd's own replay node, and its config,
 * checked by the node's own code (replay_config_parse, a library that
 * the node and the core both link) so that lpctl validate refuses, with
 * the place, every config the node would refuse at its start.
 */
#include <sys/stat.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "courier-internal.h"
#include "lpd.h"
#include "program.h"
#include "replay-config.h"

#ifndef LPD_REPLAY_NODE_PATH
#define LPD_REPLAY_NODE_PATH	"/usr/libexec/lpd/lpd-replay-node"
#endif

/*
 * The replay node's binary: $LPD_REPLAY_NODE (a build tree's, for its
 * tests), else where meson installed it.
 */
static const char *
replay_command(void)
{
	const char	*s;

	if ((s = getenv("LPD_REPLAY_NODE")) != NULL && *s != '\0')
		return (s);
	return (LPD_REPLAY_NODE_PATH);
}

/*
 * Check a replay node's config as the node will read it. A config
 * libcourier cannot read was reported already (check_values).
 */
static void
check_config(json_t *config, void (*fn)(void *, const char *, const char *),
    void *arg)
{
	struct sbuf		 b = { NULL, 0, 0 };
	struct replay_config	 rc;
	courier_value		*v;
	char			*cause = NULL, *line, *next, *sep, *place;

	lpd_program_emit(&b, config, NULL, NULL, NULL);
	v = courier_value_from_json(b.s, NULL);
	free(b.s);
	if (v == NULL)
		return;
	if (replay_config_parse(v, &rc, &cause) == 0) {
		replay_config_clear(&rc);
		courier_value_unref(v);
		return;
	}
	courier_value_unref(v);
	/* "tables[0].sampler: what" is config.tables[0].sampler's. */
	for (line = cause; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((sep = strstr(line, ": ")) == NULL) {
			fn(arg, "config", line);
			continue;
		}
		*sep = '\0';
		if (strcmp(line, "config") == 0)
			place = xstrdup("config");
		else
			xasprintf(&place, "config.%s", line);
		fn(arg, place, sep + 2);
		free(place);
	}
	free(cause);
}

/*
 * Check a replay node's entry (obj) beyond what every node's has: its
 * config, which it cannot do without (config_ok: no error found in it so
 * far), and its command. fn gets each error with its place inside the
 * entry ("config.tables[0].sampler"; "" for the entry itself). Returns
 * the default command's path (caller frees) if the entry names none and
 * it can run, else NULL.
 */
char *
lpd_program_replay_check(json_t *obj, bool config_ok,
    void (*fn)(void *, const char *, const char *), void *arg)
{
	struct stat	 sb;
	json_t		*config;
	const char	*path;
	char		*msg;

	if ((config = json_object_get(obj, "config")) == NULL) {
		fn(arg, "config", "missing: a replay node's config names its "
		    "tables, {\"tables\": [{\"name\": ...}]}");
	} else if (config_ok)
		check_config(config, fn, arg);
	if (json_object_get(obj, "command") != NULL)
		return (NULL);
	path = replay_command();
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, X_OK) == 0)
		return (xstrdup(path));
	xasprintf(&msg, "lpd's replay node %s %s: install it, point "
	    "LPD_REPLAY_NODE at it, or name a \"command\"", path,
	    stat(path, &sb) != 0 ? "is missing" : "cannot run");
	fn(arg, "", msg);
	free(msg);
	return (NULL);
}
