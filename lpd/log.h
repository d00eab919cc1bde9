/*
 * log.h: lpd's own messages (log.c), to stderr or STATE/lpd.log.
 */
#ifndef LPD_LOG_H
#define LPD_LOG_H

#include "common.h"

/* log.c: lpd's own messages. */
void	 log_open(const char *, int);
void	 log_close(void);
void	 log_reopen(void);
void	 log_debug(const char *, ...) COMMON_PRINTF(1, 2);
void	 log_info(const char *, ...) COMMON_PRINTF(1, 2);
void	 log_warn(const char *, ...) COMMON_PRINTF(1, 2);

#endif /* LPD_LOG_H */
