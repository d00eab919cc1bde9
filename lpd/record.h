/*
 * record.h: a program's record, STATE/NAME/record.json (record.c),
 * written from and read into the daemon's struct lpd_prog.
 */
#ifndef LPD_RECORD_H
#define LPD_RECORD_H

#include "daemon.h"

/* The record's format version. */
#define LPD_RECORD_VERSION	1

/* record.c: a program's record, STATE/NAME/record.json. */
int		 lpd_record_write(const char *, const courier_value *, char **);
int		 lpd_record_read(struct lpd_prog *, const char *, char **);
unsigned	 lpd_record_recover(struct lpd_prog *);

#endif /* LPD_RECORD_H */
