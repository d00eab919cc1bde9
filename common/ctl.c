/*
 * ctl.c: what lpd and lpctl compute alike for the control protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* The default socket; see ctl.h. */
char *
lpd_ctl_default_socket(void)
{
	const char	*env, *xdg;
	char		*path;

	if ((env = getenv("LPD_SOCKET")) != NULL && *env != '\0')
		return (strdup(env));
	if (geteuid() == 0)
		return (strdup(LPD_CTL_SOCKET_ROOT));
	if ((xdg = getenv("XDG_RUNTIME_DIR")) != NULL && *xdg == '/') {
		if (asprintf(&path, "%s/lpd/lpd.sock", xdg) == -1)
			return (NULL);
	} else if (asprintf(&path, "/tmp/lpd-%lu/lpd.sock",
	    (unsigned long)geteuid()) == -1)
		return (NULL);
	return (path);
}
