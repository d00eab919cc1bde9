/*
 * logfile.h: a node's log file, capped and rotated, with cursors for
 * logs -f (logfile.c): the one log writer, the core's and lpd's.
 */
#ifndef LPD_LOGFILE_H
#define LPD_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPD_LOG_MAX_DEFAULT	(10 * 1024 * 1024)	/* bytes per file */
#define LPD_LOG_KEEP_DEFAULT	3			/* INDEX.log.1 .. .3 */
/* Every line starts with its time: "2026-11-30T16:22:27.123456Z ". */
#define LPD_LOG_STAMP_LEN	28

struct lpd_log;

/* logfile.c: a node's log file, capped and rotated. */
#define LPD_LOG_BROKE	1	/* lpd_log_write: lost, the first one */
#define LPD_LOG_LOST	2	/* ... lost, after others */
#define LPD_LOG_MENDED	3	/* ... written, the first after a loss */
struct lpd_log	*lpd_log_open(const char *, size_t, unsigned, char **);
struct lpd_log	*lpd_log_open_append(const char *, size_t, unsigned, char **);
int		 lpd_log_write(struct lpd_log *, const char *, size_t);
int		 lpd_log_write_lines(struct lpd_log *, const char *, size_t,
		    uint64_t);
int		 lpd_log_error(const struct lpd_log *, double *);
bool		 lpd_log_no_space(int);
uint64_t	 lpd_log_base(const struct lpd_log *);
void		 lpd_log_close(struct lpd_log *);
void		 lpd_log_free(struct lpd_log *);
void		 lpd_log_rotate_file(const char *, unsigned);
char		*lpd_log_tail(const char *, long, uint64_t, size_t *,
		    uint64_t *);
char		*lpd_log_since(const char *, uint64_t, uint64_t, size_t *,
		    uint64_t *);
bool		 lpd_log_is_stamp(const char *, size_t);
size_t		 lpd_log_unstamp(char *, size_t);

#endif /* LPD_LOGFILE_H */
