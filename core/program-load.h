/*
 * program-load.h: one load of a program file, as the files that check it
 * share it: program.c (the keys and the load), program-diag.c (messages
 * with their place, suggestions) and program-refs.c (handle references
 * and config values, the edges of the graph). Private to them.
 */
#ifndef LPD_PROGRAM_LOAD_H
#define LPD_PROGRAM_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "courier-internal.h"
#include "lpd.h"
#include "program.h"

#define ERRORS_MAX		100	/* error lines, then a count */

/* What the first pass learns of a node entry, for handle references. */
struct entry {
	int		 type;		/* -1: unknown */
	unsigned	 replicas;	/* 0 unknown */
};

/* The state of one load. */
struct loader {
	const char		*file;		/* as given */
	const char		*pathenv;	/* PATH to resolve commands on */
	const char		*cwd;		/* for PATH's relative entries */
	struct lpd_program	*p;
	struct program_private	*priv;
	struct entry		*entries;	/* one per nodes[i] */
	struct sbuf		 path;		/* the current place */
	struct sbuf		 errors;
	size_t			 nerrors;
	struct lpd_group	*g;		/* the group being checked */
	size_t			 gi;
	size_t			 edges_cap;
	unsigned long		 nnodes;
	bool			 config_ok;	/* the group's, so far */
};

/* A key of an object in the file, and what checks its value. */
struct key {
	const char	*name;
	bool		 required;
	void		(*fn)(struct loader *, json_t *, json_t *);
};

/* program-diag.c */
char	*pl_quote(const char *, size_t);
char	*pl_one_line(const char *);
char	*pl_describe(json_t *);
bool	 pl_name_valid(const char *, size_t);
bool	 pl_is_cstring(json_t *);
bool	 pl_string_is(json_t *, const char *);
char	*pl_suggest(const char *, const char *const *, size_t);
char	*pl_suggest_group(struct loader *, const char *);
bool	 pl_errors_shown(struct loader *);
void	 pl_error_line(struct loader *, const char *, ...)
	    COURIER_PRINTF(2, 3);
void	 pl_error_at(struct loader *, const char *, ...)
	    COURIER_PRINTF(2, 3);
void	 pl_error_type(struct loader *, json_t *, const char *);
bool	 pl_key_char(char);
size_t	 pl_path_push_key(struct loader *, const char *);
size_t	 pl_path_push_index(struct loader *, size_t);
void	 pl_path_pop(struct loader *, size_t);
void	 pl_check_keys(struct loader *, json_t *, const struct key *,
	    size_t);

/* program-resources.c */
void	 pl_node_resources(struct loader *, json_t *, json_t *);

/* program-refs.c */
void	 pl_edges_finish(struct lpd_group *);
void	 pl_check_config(struct loader *, json_t *, unsigned);
void	 pl_check_values(struct loader *, json_t *);

#endif /* LPD_PROGRAM_LOAD_H */
