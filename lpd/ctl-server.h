/*
 * ctl-server.h: the control API, courier methods on lpd's socket
 * (ctl.c), speaking common/ctl.h's protocol.
 */
#ifndef LPD_CTL_SERVER_H
#define LPD_CTL_SERVER_H

#include "ctl.h"
#include "daemon.h"

/* ctl.c: the control API, courier methods on lpd's socket. */
int		 lpd_ctl_start(struct lpd_daemon *, int, char **);
void		 lpd_ctl_stop(struct lpd_daemon *);

#endif /* LPD_CTL_SERVER_H */
