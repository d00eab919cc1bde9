/*
 * lpd.h: the supervisor core, shared by lpd (the daemon) and lpctl run.
 * Prototypes are grouped by the file that defines them, as in tmux.h.
 * Everything here builds into the lpd_core static library.
 */
#ifndef LPD_H
#define LPD_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* program.c: the program file. */

#define LPD_NAME_MAX		64	/* program and group names */
#define LPD_REPLICAS_MAX	100000	/* replicas of one group */
#define LPD_NODES_MAX		100000	/* nodes of one program */
#define LPD_GRACE_DEFAULT	10.0	/* stop.grace_s */
#define LPD_RESTARTS_DEFAULT	10	/* max_restarts */

enum lpd_node_type {
	LPD_TYPE_COURIER,
	LPD_TYPE_PROCESS,
};

enum lpd_restart {
	LPD_RESTART_NEVER,
	LPD_RESTART_ON_FAILURE,
	LPD_RESTART_ALWAYS,
};

enum lpd_on_failure {
	LPD_ON_FAILURE_STOP,		/* "stop_program" */
	LPD_ON_FAILURE_IGNORE,
};

/* A handle reference in a group's config: an edge of the graph. */
struct lpd_edge {
	size_t			 target;	/* group index */
	int			 index;		/* node index, -1: the group */
};

/* A group of nodes (one entry of "nodes"). */
struct lpd_group {
	char			*name;
	enum lpd_node_type	 type;
	unsigned		 replicas;
	char			**argv;		/* NULL-terminated */
	char			*path;		/* argv[0] resolved, absolute */
	char			**env;		/* "K=V", NULL-terminated */
	char			*cwd;		/* absolute */
	bool			 run;
	enum lpd_restart	 restart;
	unsigned		 max_restarts;
	enum lpd_on_failure	 on_failure;
	struct lpd_edge		*edges;		/* handles its config holds */
	size_t			 nedges;
};

/* A program, checked whole: every field below is valid. */
struct lpd_program {
	char			*name;
	char			*file;		/* absolute path of the file */
	char			*dir;		/* the file's folder */
	double			 grace_s;
	struct lpd_group	*groups;
	size_t			 ngroups;
	size_t			 nnodes;	/* sum of replicas */
	void			*config;	/* private to program.c */
};

/* Resolves node (group, index) to its address, for handle references. */
typedef const char *(*lpd_address_fn)(void *arg, size_t group,
    unsigned index);

/*
 * Load and check a program file. name, if not NULL, overrides the file's
 * "program". On failure return NULL and set *cause (caller frees) to every
 * error found, one per line, each naming the file and the place:
 *   prog.json: nodes[1].config.producers: no group "producr"
 */
struct lpd_program *lpd_program_load(const char *path, const char *name,
	    char **cause);
void	 lpd_program_free(struct lpd_program *);
/* Whether name is a valid program or group name. */
bool	 lpd_program_name_valid(const char *);
/* The group called name, or -1. */
int	 lpd_program_find_group(const struct lpd_program *, const char *);
/*
 * The config of node (group, index) as JSON text (caller frees), with each
 * handle reference replaced by the address (or list of addresses, in index
 * order) that addr gives. "null" if the group has no config.
 */
char	*lpd_program_node_config(const struct lpd_program *, size_t,
	    unsigned, lpd_address_fn, void *);
/* The program as a Graphviz DOT digraph (caller frees). */
char	*lpd_program_graph(const struct lpd_program *);

#endif /* LPD_H */
