/*
 * notify.h: systemd's notify and socket activation, and lpd's socket
 * (notify.c), with no libsystemd.
 */
#ifndef LPD_NOTIFY_H
#define LPD_NOTIFY_H

#include <sys/types.h>

#include <stdbool.h>

#include "common.h"

/* notify.c: systemd's notify and socket activation, our socket. */
void		 lpd_notify(const char *, ...) COMMON_PRINTF(1, 2);
int		 lpd_listen_activated(void);
int		 lpd_listen(const char *, gid_t, bool, char **);

#endif /* LPD_NOTIFY_H */
