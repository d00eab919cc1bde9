/*
 * fuzz-program.c: libFuzzer target for the program-file parser. The input
 * is a program file's text, loaded as lpd loads what lpctl sends
 * (lpd_program_load_text) from a fixed folder, which holds stub commands
 * under the names that the examples and tests use. A file that loads gets
 * each node's config emitted with addresses and its DOT graph drawn; a
 * file that does not must say why, file and place first.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "lpd.h"

/* The most node configs emitted for one input. */
#define CONFIGS_MAX	64
/* The most addresses one config or the DOT graph may hold. */
#define EMIT_MAX	20000

static char	 folder[PATH_MAX];	/* the file's place */
static char	 file[PATH_MAX];	/* folder/prog.json */
static char	 pathenv[PATH_MAX + 32];

/* Make a file in the folder with mode. */
static void
folder_add(const char *name, mode_t mode)
{
	char	 path[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof path, "%s/%s", folder, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    mode)) == -1)
		fuzz_fail("cannot make %s: %s", path, strerror(errno));
	(void)write(fd, "#!/bin/sh\nexit 0\n", 17);
	close(fd);
	if (chmod(path, mode) != 0)
		fuzz_fail("cannot chmod %s: %s", path, strerror(errno));
}

/* Make a folder that may exist already, if it is ours. */
static void
folder_make(const char *path)
{
	struct stat	 sb;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		fuzz_fail("cannot make %s: %s", path, strerror(errno));
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid())
		fuzz_fail("%s is not a folder of ours", path);
}

/*
 * Make the folder: stub commands, a bin/ on PATH, a file and a folder.
 * Its name is fixed, TMPDIR/lpd-fuzz-program-UID, so that messages are
 * the same from run to run; it is kept, for runs at once to share and
 * for a run that crashes to leave nothing new.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const	 stubs[] = {
		"producer", "consumer", "circle", "hello", "worker", "node",
		"bin/worker", "bin/tool",
	};
	const char			*tmp;
	char				 path[PATH_MAX];
	size_t				 i;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(folder, sizeof folder, "%s/lpd-fuzz-program-%lu", tmp,
	    (unsigned long)geteuid());
	folder_make(folder);
	snprintf(path, sizeof path, "%s/bin", folder);
	folder_make(path);
	snprintf(path, sizeof path, "%s/dir", folder);
	folder_make(path);
	for (i = 0; i < nitems(stubs); i++)
		folder_add(stubs[i], 0755);
	folder_add("notexec", 0644);
	snprintf(file, sizeof file, "%s/prog.json", folder);
	snprintf(pathenv, sizeof pathenv, "%s/bin:/usr/bin:/bin", folder);
	return (0);
}

/* A node's address, as a run would give it; process nodes have none. */
static const char *
address(void *arg, size_t group, unsigned index)
{
	const struct lpd_program	*p = arg;
	static char			 buf[64];

	if (group >= p->ngroups || index >= p->groups[group].replicas)
		fuzz_fail("address asked for no node: %zu/%u", group, index);
	if (p->groups[group].type == LPD_TYPE_PROCESS)
		return (NULL);
	snprintf(buf, sizeof buf, "unix:/run/fuzz/n%zu.%u", group, index);
	return (buf);
}

/* How many addresses group g's config holds, at most. */
static size_t
group_addresses(const struct lpd_program *p, const struct lpd_group *g)
{
	size_t	 k, n = 0;

	for (k = 0; k < g->nedges; k++) {
		if (g->edges[k].index == -1)
			n += p->groups[g->edges[k].target].replicas;
		else
			n++;
	}
	return (n);
}

/* Whether an edge leads to a group, and to a node of it if it names one. */
static bool
edge_valid(const struct lpd_program *p, const struct lpd_edge *e)
{
	if (e->target >= p->ngroups)
		return (false);
	if (e->index == -1)
		return (true);
	return (e->index >= 0 &&
	    (unsigned)e->index < p->groups[e->target].replicas);
}

/* Check a loaded program, emit configs and draw its graph. */
static void
program_check(const struct lpd_program *p)
{
	const struct lpd_group	*g;
	courier_value		*v;
	size_t			 i, k, nnodes = 0, nedges = 0, nconfigs = 0;
	unsigned		 j, idx[2];
	char			*text, *cause = NULL;

	if (!lpd_program_name_valid(p->name))
		fuzz_fail("loaded a program with an invalid name");
	if (p->ngroups == 0 || p->file == NULL || p->dir == NULL)
		fuzz_fail("loaded a program with no groups or no file");
	for (i = 0; i < p->ngroups; i++) {
		g = &p->groups[i];
		if (lpd_program_find_group(p, g->name) != (int)i)
			fuzz_fail("group %s is not found where it is", g->name);
		if (g->replicas == 0 || g->argv == NULL || g->argv[0] == NULL ||
		    g->path == NULL || g->path[0] != '/' || g->cwd == NULL ||
		    g->cwd[0] != '/')
			fuzz_fail("group %s is not whole", g->name);
		for (k = 0; k < g->nedges; k++) {
			if (!edge_valid(p, &g->edges[k]))
				fuzz_fail("group %s: edge %zu leads nowhere",
				    g->name, k);
		}
		nnodes += g->replicas;
		nedges += g->replicas * group_addresses(p, g);
	}
	if (nnodes != p->nnodes || nnodes > LPD_NODES_MAX)
		fuzz_fail("%zu nodes counted, %zu said", nnodes, p->nnodes);

	/* The first and the last node of each group, as lpd starts them. */
	for (i = 0; i < p->ngroups && nconfigs < CONFIGS_MAX; i++) {
		g = &p->groups[i];
		if (group_addresses(p, g) > EMIT_MAX)
			continue;
		idx[0] = 0;
		idx[1] = g->replicas - 1;
		for (j = 0; j < (g->replicas > 1 ? 2 : 1); j++, nconfigs++) {
			text = lpd_program_node_config(p, i, idx[j], address,
			    (void *)p);
			/* What the node runtime does with LP_CONFIG. */
			if ((v = courier_value_from_json(text, &cause)) == NULL)
				fuzz_fail("config of %s/%u does not parse: "
				    "%s: %s", g->name, idx[j], cause, text);
			courier_value_unref(v);
			free(text);
		}
	}

	/* The graph has an edge per address of every config. */
	if (nedges <= EMIT_MAX) {
		text = lpd_program_graph(p);
		if (strncmp(text, "digraph ", 8) != 0 ||
		    strlen(text) < 2 || strcmp(text + strlen(text) - 2,
		    "}\n") != 0)
			fuzz_fail("a graph that is not one: %s", text);
		free(text);
	}
}

/*
 * Check that each line of a load's errors names the file first: one
 * error a line, whatever the file holds (a key or a token with a newline
 * in it is escaped).
 */
static void
cause_check(const char *cause)
{
	const char	*line, *nl;
	size_t		 flen = strlen(file);

	if (cause == NULL || *cause == '\0')
		fuzz_fail("a load failed without saying why");
	for (line = cause; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (strncmp(line, file, flen) != 0 || line[flen] != ':')
			fuzz_fail("an error line without its file: %.*s",
			    nl != NULL ? (int)(nl - line) : (int)strlen(line),
			    line);
	}
}

/* Load the input as a program file's text. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lpd_program	*p;
	char			*cause = NULL;

	p = lpd_program_load_text(file, (const char *)data, size, NULL,
	    pathenv, folder, &cause);
	if (p == NULL) {
		cause_check(cause);
		free(cause);
		return (0);
	}
	if (cause != NULL)
		fuzz_fail("a load succeeded with a cause: %s", cause);
	program_check(p);
	lpd_program_free(p);
	return (0);
}
