/*
 * program.h: what the program file's parts share (program.c and its
 * program-diag.c, program-refs.c and program-replay.c check a file;
 * program-config.c writes a node's config; program-dot.c draws the
 * graph): a growing string, and what a program keeps of its file.
 * Private to the core.
 */
#ifndef LPD_PROGRAM_H
#define LPD_PROGRAM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common.h"
#include "lpd.h"

#define KEY_HANDLE		"$handle"
#define KEY_HANDLES		"$handles"
#define KEY_BYTES		"$bytes"
#define KEY_TENSOR		"$tensor"

/* A growing string. */
struct sbuf {
	char		*s;
	size_t		 len;
	size_t		 cap;
};

/* What a program keeps of its file: struct lpd_program's config. */
struct program_private {
	json_t		 *byname;	/* group name -> index */
	json_t		**configs;	/* per group, NULL if none */
};

/* sbuf.c */
void	 lpd_sbuf_add(struct sbuf *, const char *, size_t);
void	 lpd_sbuf_puts(struct sbuf *, const char *);
void	 lpd_sbuf_printf(struct sbuf *, const char *, ...) COMMON_PRINTF(2, 3);
void	 lpd_sbuf_truncate(struct sbuf *, size_t);
char	*lpd_sbuf_take(struct sbuf *);
void	 lpd_sbuf_json_string(struct sbuf *, const char *, size_t);

/* program-refs.c */
size_t	 lpd_program_reference_split(const char *, long *);
bool	 lpd_program_is_reference(json_t *, bool *, json_t **);

/* program-replay.c */
char	*lpd_program_replay_check(json_t *, bool,
	    void (*)(void *, const char *, const char *), void *);

/* program-config.c */
void	 lpd_program_emit(struct sbuf *, json_t *, const struct lpd_program *,
	    lpd_address_fn, void *);

#endif /* LPD_PROGRAM_H */
