/*
 * check-program.c: unit tests of the program file: good files and their
 * defaults, a node's "resources", command and cwd resolution, handle
 * references and the edges they draw, node configs with addresses, the
 * DOT graph, and a corpus of bad files (tests/data/bad/NAME.json) whose
 * expected errors are listed in NAME.err, one substring per line, in
 * order.
 */
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"
#include "lpd.h"

/* Bad files the corpus must at least hold. */
#define BAD_FILES_MIN	40

/* A scratch folder for program files written by a test. */
static char	 tmpdir[PATH_MAX];

/* The test data folder: $TEST_DATA_DIR, else the one meson compiled in. */
static const char *
data_dir(void)
{
	const char	*s;

	if ((s = getenv("TEST_DATA_DIR")) != NULL && *s != '\0')
		return (s);
	return (TEST_DATA_DIR);
}

/* Make the scratch folder. */
static void
tmp_setup(void)
{
	const char	*base;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/check-program.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Remove one entry of the scratch folder (nftw callback). */
static int
tmp_remove_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return (remove(path));
}

/* Remove the scratch folder and all it holds. */
static void
tmp_teardown(void)
{
	nftw(tmpdir, tmp_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to NAME in the scratch folder; the caller frees the path. */
static char *
tmp_write(const char *name, const char *text, mode_t mode)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return (path);
}

/* Make folder NAME in the scratch folder. */
static void
tmp_mkdir(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/%s", tmpdir, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	free(path);
}

/* Load path, which must succeed. */
static struct lpd_program *
load_ok(const char *path, const char *name)
{
	struct lpd_program	*p;
	char			*cause = NULL;

	p = lpd_program_load(path, name, &cause);
	ck_assert_msg(p != NULL, "loading %s: %s", path,
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return (p);
}

/* Load text as a program file in the scratch folder; must succeed. */
static struct lpd_program *
text_ok(const char *text)
{
	struct lpd_program	*p;
	char			*path;

	path = tmp_write("prog.json", text, 0644);
	p = load_ok(path, NULL);
	free(path);
	return (p);
}

/* Load text as a program file, which must fail; the caller frees. */
static char *
text_fails(const char *text)
{
	struct lpd_program	*p;
	char			*path, *cause = NULL;

	path = tmp_write("prog.json", text, 0644);
	p = lpd_program_load(path, NULL, &cause);
	ck_assert_msg(p == NULL, "loading %s should fail", text);
	ck_assert_ptr_nonnull(cause);
	free(path);
	return (cause);
}

/* Load a file of the data folder, which must succeed. */
static struct lpd_program *
data_ok(const char *name)
{
	struct lpd_program	*p;
	char			*path;

	xasprintf(&path, "%s/%s", data_dir(), name);
	p = load_ok(path, NULL);
	free(path);
	return (p);
}

/* A fake address: "addr:GROUP/INDEX" (a static buffer of arg's). */
static const char *
fake_addr(void *arg, size_t group, unsigned index)
{
	char	*buf = arg;

	snprintf(buf, 64, "addr:%zu/%u", group, index);
	return (buf);
}

/* The config of node (group, index) with fake addresses; caller frees. */
static char *
config_of(const struct lpd_program *p, size_t group, unsigned index)
{
	char	 buf[64];

	return (lpd_program_node_config(p, group, index, fake_addr, buf));
}

/* The number of lines of s (none if empty). */
static size_t
count_lines(const char *s)
{
	size_t	 n;

	if (*s == '\0')
		return (0);
	for (n = 1; *s != '\0'; s++) {
		if (*s == '\n')
			n++;
	}
	return (n);
}

/* Whether s ends with suffix. */
static bool
ends_with(const char *s, const char *suffix)
{
	size_t	 ls = strlen(s), lx = strlen(suffix);

	return (ls >= lx && strcmp(s + ls - lx, suffix) == 0);
}

START_TEST(test_program_example)
{
	struct lpd_program	*p;
	struct lpd_group	*g;
	char			*s, *dir;

	p = data_ok("good/consumer_producers.json");
	xasprintf(&dir, "%s/good", data_dir());
	ck_assert_str_eq(p->name, "consumer_producers");
	ck_assert_int_eq(p->file[0], '/');
	ck_assert(ends_with(p->file, "/good/consumer_producers.json"));
	ck_assert(ends_with(p->dir, "/good"));
	ck_assert(p->grace_s == 10.0);
	ck_assert_uint_eq(p->ngroups, 2);
	ck_assert_uint_eq(p->nnodes, 3);

	g = &p->groups[0];
	ck_assert_str_eq(g->name, "producer");
	ck_assert_int_eq(g->type, LPD_TYPE_COURIER);
	ck_assert_uint_eq(g->replicas, 2);
	ck_assert_str_eq(g->argv[0], "producer");
	ck_assert_ptr_null(g->argv[1]);
	xasprintf(&s, "%s/producer", p->dir);
	ck_assert_str_eq(g->path, s);
	free(s);
	ck_assert_uint_eq(g->nedges, 0);

	g = &p->groups[1];
	ck_assert_str_eq(g->name, "consumer");
	ck_assert_str_eq(g->argv[0], "sh");
	ck_assert_str_eq(g->argv[1], "-c");
	ck_assert_str_eq(g->argv[2], "exit 0");
	ck_assert_ptr_null(g->argv[3]);
	ck_assert_int_eq(g->path[0], '/');
	ck_assert(ends_with(g->path, "/sh"));
	ck_assert_uint_eq(g->nedges, 1);
	ck_assert_uint_eq(g->edges[0].target, 0);
	ck_assert_int_eq(g->edges[0].index, -1);

	s = config_of(p, 1, 0);
	ck_assert_str_eq(s,
	    "{\"producers\":[\"addr:0/0\",\"addr:0/1\"],\"rounds\":3}");
	free(s);
	s = config_of(p, 0, 1);
	ck_assert_str_eq(s, "null");
	free(s);

	ck_assert_int_eq(lpd_program_find_group(p, "producer"), 0);
	ck_assert_int_eq(lpd_program_find_group(p, "consumer"), 1);
	ck_assert_int_eq(lpd_program_find_group(p, "nobody"), -1);
	ck_assert_int_eq(lpd_program_find_group(p, NULL), -1);
	free(dir);
	lpd_program_free(p);
}
END_TEST

/*
 * A replay node: a courier node whose command is lpd's replay node
 * ($LPD_REPLAY_NODE here) unless the file names one, that handles may
 * point at; its config is checked by the node's own rules.
 */
START_TEST(test_program_replay)
{
	struct lpd_program	*p;
	struct lpd_group	*g;
	char			*node, *cause, *dot, *missing;

	node = tmp_write("replay-node", "#!/bin/sh\n", 0755);
	ck_assert_int_eq(setenv("LPD_REPLAY_NODE", node, 1), 0);
	p = text_ok("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"replay\", \"type\": \"replay\", \"config\": "
	    "{\"tables\": [{\"name\": \"q\", \"sampler\": \"fifo\"}]}},"
	    "{\"group\": \"own\", \"type\": \"replay\", \"command\": "
	    "[\"true\", \"-x\"], \"config\": {\"tables\": "
	    "[{\"name\": \"q\"}]}},"
	    "{\"group\": \"learner\", \"type\": \"process\", "
	    "\"command\": [\"true\"], \"config\": "
	    "{\"r\": {\"$handle\": \"replay\"}}}]}");
	g = &p->groups[0];
	ck_assert_int_eq(g->type, LPD_TYPE_REPLAY);
	ck_assert_str_eq(g->path, node);
	ck_assert_str_eq(g->argv[0], node);
	ck_assert_ptr_null(g->argv[1]);
	g = &p->groups[1];
	ck_assert_int_eq(g->type, LPD_TYPE_REPLAY);
	ck_assert_str_eq(g->argv[1], "-x");
	ck_assert(ends_with(g->path, "/true"));
	g = &p->groups[2];
	ck_assert_uint_eq(g->nedges, 1);
	ck_assert_uint_eq(g->edges[0].target, 0);
	dot = lpd_program_graph(p);
	ck_assert_msg(strstr(dot, "replay (replay)") != NULL, "%s", dot);
	free(dot);
	lpd_program_free(p);

	/* Not there: the error says how to get one. */
	xasprintf(&missing, "%s/none", tmpdir);
	ck_assert_int_eq(setenv("LPD_REPLAY_NODE", missing, 1), 0);
	cause = text_fails("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"replay\", \"type\": \"replay\", \"config\": "
	    "{\"tables\": [{\"name\": \"q\"}]}}]}");
	ck_assert_msg(strstr(cause, "nodes[0]: lpd's replay node") != NULL &&
	    strstr(cause, "/none is missing") != NULL &&
	    strstr(cause, "LPD_REPLAY_NODE") != NULL, "%s", cause);
	free(cause);
	unsetenv("LPD_REPLAY_NODE");
	free(missing);
	free(node);
}
END_TEST

START_TEST(test_program_defaults)
{
	struct lpd_program	*p;
	struct lpd_group	*g;
	char			*s;

	p = text_ok("{\"nodes\": [{\"group\": \"a\", \"type\": \"process\", "
	    "\"command\": [\"true\"]}], \"program\": \"d\"}");
	ck_assert_str_eq(p->name, "d");
	ck_assert(p->grace_s == LPD_GRACE_DEFAULT);
	ck_assert_uint_eq(p->ngroups, 1);
	ck_assert_uint_eq(p->nnodes, 1);
	g = &p->groups[0];
	ck_assert_int_eq(g->type, LPD_TYPE_PROCESS);
	ck_assert_uint_eq(g->replicas, 1);
	ck_assert(g->run);
	ck_assert_int_eq(g->restart, LPD_RESTART_NEVER);
	ck_assert_uint_eq(g->max_restarts, LPD_RESTARTS_DEFAULT);
	ck_assert_int_eq(g->on_failure, LPD_ON_FAILURE_STOP);
	ck_assert_ptr_nonnull(g->env);
	ck_assert_ptr_null(g->env[0]);
	ck_assert_str_eq(g->cwd, p->dir);
	ck_assert_uint_eq(g->nedges, 0);
	/* No "resources": one CPU, Slurm's default memory, no GPU. */
	ck_assert_uint_eq(g->cpus, 1);
	ck_assert_uint_eq(g->mem_mb, 0);
	ck_assert_uint_eq(g->gpus, 0);
	s = config_of(p, 0, 0);
	ck_assert_str_eq(s, "null");
	free(s);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_fields)
{
	struct lpd_program	*p;
	struct lpd_group	*g;

	p = text_ok(
	    "{\"program\": \"f\", \"stop\": {\"grace_s\": 0.5},\n"
	    "\"nodes\": [{\"group\": \"a.b-c_1\", \"type\": \"courier\",\n"
	    "\"command\": [\"true\", \"x\"], \"run\": false,\n"
	    "\"restart\": \"always\", \"max_restarts\": 5,\n"
	    "\"on_failure\": \"ignore\", \"replicas\": 3},\n"
	    "{\"group\": \"b\", \"type\": \"process\", \"command\": [\"true\"],"
	    "\"max_restarts\": 0, \"restart\": \"on-failure\"}]}\n");
	ck_assert(p->grace_s == 0.5);
	ck_assert_uint_eq(p->nnodes, 4);
	g = &p->groups[0];
	ck_assert_str_eq(g->name, "a.b-c_1");
	ck_assert_uint_eq(g->replicas, 3);
	ck_assert(!g->run);
	ck_assert_int_eq(g->restart, LPD_RESTART_ALWAYS);
	ck_assert_uint_eq(g->max_restarts, 5);
	ck_assert_int_eq(g->on_failure, LPD_ON_FAILURE_IGNORE);
	ck_assert_str_eq(g->argv[1], "x");
	g = &p->groups[1];
	ck_assert_int_eq(g->restart, LPD_RESTART_ON_FAILURE);
	ck_assert_uint_eq(g->max_restarts, 0);
	lpd_program_free(p);

	p = text_ok("{\"program\": \"g\", \"stop\": {\"grace_s\": 0},"
	    "\"nodes\": [{\"group\": \"a\", \"type\": \"process\","
	    "\"command\": [\"true\"]}]}");
	ck_assert(p->grace_s == 0.0);
	lpd_program_free(p);
}
END_TEST

/*
 * "resources": what each node of a group needs of a host, stored in the
 * group for the Slurm backend; keys left out keep their defaults.
 */
START_TEST(test_program_resources)
{
	struct lpd_program	*p;
	struct lpd_group	*g;

	p = text_ok("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"true\"], \"replicas\": 2,"
	    " \"resources\": {\"cpus\": 2, \"mem_mb\": 4096, \"gpus\": 1}},"
	    "{\"group\": \"b\", \"type\": \"courier\","
	    " \"command\": [\"true\"], \"resources\": {\"mem_mb\": 512}},"
	    "{\"group\": \"c\", \"type\": \"process\","
	    " \"command\": [\"true\"], \"resources\": {}},"
	    "{\"group\": \"d\", \"type\": \"process\","
	    " \"command\": [\"true\"], \"resources\": {\"cpus\": 4096,"
	    " \"mem_mb\": 4294967296, \"gpus\": 1024}}]}");
	ck_assert_uint_eq(p->ngroups, 4);
	g = &p->groups[0];
	ck_assert_uint_eq(g->cpus, 2);
	ck_assert_uint_eq(g->mem_mb, 4096);
	ck_assert_uint_eq(g->gpus, 1);
	ck_assert_uint_eq(g->replicas, 2);
	g = &p->groups[1];
	ck_assert_uint_eq(g->cpus, 1);
	ck_assert_uint_eq(g->mem_mb, 512);
	ck_assert_uint_eq(g->gpus, 0);
	g = &p->groups[2];
	ck_assert_uint_eq(g->cpus, 1);
	ck_assert_uint_eq(g->mem_mb, 0);
	ck_assert_uint_eq(g->gpus, 0);
	/* The largest of each, mem_mb past 32 bits. */
	g = &p->groups[3];
	ck_assert_uint_eq(g->cpus, LPD_CPUS_MAX);
	ck_assert(g->mem_mb == (uint64_t)LPD_MEM_MB_MAX);
	ck_assert_uint_eq(g->gpus, LPD_GPUS_MAX);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_cwd)
{
	struct lpd_program	*p;
	char			*want, *real;

	tmp_mkdir("work");
	tmp_mkdir("work/inner");
	p = text_ok("{\"program\": \"c\", \"nodes\": ["
	    "{\"group\": \"rel\", \"type\": \"process\","
	    " \"command\": [\"true\"],"
	    " \"cwd\": \"work/inner\"},"
	    "{\"group\": \"dot\", \"type\": \"process\","
	    " \"command\": [\"true\"],"
	    " \"cwd\": \".\"},"
	    "{\"group\": \"abs\", \"type\": \"process\","
	    " \"command\": [\"true\"],"
	    " \"cwd\": \"/\"},"
	    "{\"group\": \"up\", \"type\": \"process\","
	    " \"command\": [\"true\"],"
	    " \"cwd\": \"work/inner/..\"},"
	    "{\"group\": \"none\", \"type\": \"process\","
	    " \"command\": [\"true\"]}]}");
	ck_assert_ptr_nonnull(real = realpath(tmpdir, NULL));
	ck_assert_str_eq(p->dir, real);
	xasprintf(&want, "%s/work/inner", real);
	ck_assert_str_eq(p->groups[0].cwd, want);
	free(want);
	ck_assert_str_eq(p->groups[1].cwd, real);
	ck_assert_str_eq(p->groups[2].cwd, "/");
	xasprintf(&want, "%s/work", real);
	ck_assert_str_eq(p->groups[3].cwd, want);
	free(want);
	ck_assert_str_eq(p->groups[4].cwd, real);
	free(real);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_env)
{
	struct lpd_program	*p;
	char		       **env;

	p = text_ok("{\"program\": \"e\", \"nodes\": [{\"group\": \"a\","
	    "\"type\": \"process\", \"command\": [\"true\"], \"env\": "
	    "{\"Z\": \"1\", \"A\": \"x=y\", \"EMPTY\": \"\", "
	    "\"SP ACE\": \"caf\\u00e9\"}}]}");
	env = p->groups[0].env;
	ck_assert_str_eq(env[0], "Z=1");
	ck_assert_str_eq(env[1], "A=x=y");
	ck_assert_str_eq(env[2], "EMPTY=");
	ck_assert_str_eq(env[3], "SP ACE=caf\xc3\xa9");
	ck_assert_ptr_null(env[4]);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_command)
{
	struct lpd_program	*p;
	char			*path, *want, *real;

	/* Next to the file comes before PATH, even for "true". */
	free(tmp_write("true", "#!/bin/sh\nexit 0\n", 0755));
	tmp_mkdir("bin");
	free(tmp_write("bin/tool", "#!/bin/sh\nexit 0\n", 0755));
	p = text_ok("{\"program\": \"c\", \"nodes\": ["
	    "{\"group\": \"near\", \"type\": \"process\","
	    " \"command\": [\"true\"]},"
	    "{\"group\": \"rel\", \"type\": \"process\","
	    " \"command\": [\"bin/tool\", \"-v\"]},"
	    "{\"group\": \"path\", \"type\": \"process\","
	    " \"command\": [\"sh\"]},"
	    "{\"group\": \"abs\", \"type\": \"process\","
	    " \"command\": [\"/bin/sh\"]}]}");
	ck_assert_ptr_nonnull(real = realpath(tmpdir, NULL));
	xasprintf(&want, "%s/true", real);
	ck_assert_str_eq(p->groups[0].path, want);
	ck_assert_str_eq(p->groups[0].argv[0], "true");
	free(want);
	xasprintf(&want, "%s/bin/tool", real);
	ck_assert_str_eq(p->groups[1].path, want);
	ck_assert_str_eq(p->groups[1].argv[0], "bin/tool");
	ck_assert_str_eq(p->groups[1].argv[1], "-v");
	free(want);
	ck_assert_int_eq(p->groups[2].path[0], '/');
	ck_assert(ends_with(p->groups[2].path, "/sh"));
	ck_assert_int_eq(access(p->groups[2].path, X_OK), 0);
	ck_assert_str_eq(p->groups[3].path, "/bin/sh");
	free(real);
	lpd_program_free(p);

	/* A relative path is never looked up on PATH. */
	path = text_fails("{\"program\": \"c\", \"nodes\": [{\"group\": \"a\","
	    " \"type\": \"process\", \"command\": [\"bin/sh\"]}]}");
	ck_assert_msg(strstr(path, "nodes[0].command[0]: \"bin/sh\" not "
	    "found next to ") != NULL, "%s", path);
	ck_assert_ptr_null(strstr(path, "PATH"));
	free(path);
}
END_TEST

/*
 * A relative PATH entry is resolved from the cwd given (the user's folder,
 * which lpctl launch sends), not from the loader's own folder.
 */
START_TEST(test_program_path_cwd)
{
	struct lpd_program	*p;
	const char		*text;
	char			*path, *cause = NULL, *want, *real;

	tmp_mkdir("user");
	tmp_mkdir("user/bin");
	free(tmp_write("user/bin/tool", "#!/bin/sh\nexit 0\n", 0755));
	tmp_mkdir("files");
	text = "{\"program\": \"c\", \"nodes\": [{\"group\": \"a\","
	    " \"type\": \"process\", \"command\": [\"tool\"]}]}";
	ck_assert_ptr_nonnull(real = realpath(tmpdir, NULL));
	xasprintf(&path, "%s/files/p.json", real);
	xasprintf(&want, "%s/user", real);
	p = lpd_program_load_text(path, text, strlen(text), NULL, "bin", want,
	    &cause);
	ck_assert_msg(p != NULL, "not loaded: %s", cause);
	free(want);
	xasprintf(&want, "%s/user/bin/tool", real);
	ck_assert_str_eq(p->groups[0].path, want);
	lpd_program_free(p);
	free(want);
	free(path);
	free(real);
}
END_TEST

START_TEST(test_program_replicas)
{
	struct lpd_program	*p;
	char			*s;

	p = text_ok("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"courier\", \"replicas\": 100000,"
	    " \"command\": [\"true\"]}]}");
	ck_assert_uint_eq(p->groups[0].replicas, 100000);
	ck_assert_uint_eq(p->nnodes, 100000);
	s = config_of(p, 0, 99999);
	ck_assert_str_eq(s, "null");
	free(s);
	lpd_program_free(p);

	p = text_ok("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"courier\", \"replicas\": 3,"
	    " \"command\": [\"true\"]},"
	    "{\"group\": \"b\", \"type\": \"process\", \"replicas\": 2,"
	    " \"command\": [\"true\"], \"config\": {\"all\": {\"$handles\":"
	    " \"a\"}, \"last\": {\"$handle\": \"a/2\"}}}]}");
	ck_assert_uint_eq(p->nnodes, 5);
	s = config_of(p, 1, 1);
	ck_assert_str_eq(s, "{\"all\":[\"addr:0/0\",\"addr:0/1\","
	    "\"addr:0/2\"],\"last\":\"addr:0/2\"}");
	free(s);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_edges)
{
	struct lpd_program	*p;
	struct lpd_group	*g;
	char			*text, *refs, *item;
	int			 i;

	/* 1000 references to the same nodes keep one edge each. */
	refs = xstrdup("[");
	for (i = 0; i < 1000; i++) {
		xasprintf(&item, "%s%s{\"$handle\": \"b/1\"},"
		    "{\"$handle\": \"a\"}", refs, i == 0 ? "" : ",");
		free(refs);
		refs = item;
	}
	xasprintf(&text, "{\"program\": \"e\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"courier\", \"command\": [\"true\"],"
	    " \"config\": {\"refs\": %s], \"one\": {\"$handle\": \"c/0\"},"
	    " \"c\": {\"$handles\": \"c\"}, \"c1\": {\"$handle\": \"c/1\"}}},"
	    "{\"group\": \"b\", \"type\": \"courier\", \"replicas\": 2,"
	    " \"command\": [\"true\"]},"
	    "{\"group\": \"c\", \"type\": \"courier\", \"replicas\": 2,"
	    " \"command\": [\"true\"]}]}", refs);
	free(refs);
	p = text_ok(text);
	free(text);

	/*
	 * Sorted by target, whole group first; c/0 and c/1 are covered by
	 * the whole of c.
	 */
	g = &p->groups[0];
	ck_assert_uint_eq(g->nedges, 3);
	ck_assert_uint_eq(g->edges[0].target, 0);
	ck_assert_int_eq(g->edges[0].index, 0);
	ck_assert_uint_eq(g->edges[1].target, 1);
	ck_assert_int_eq(g->edges[1].index, 1);
	ck_assert_uint_eq(g->edges[2].target, 2);
	ck_assert_int_eq(g->edges[2].index, -1);
	ck_assert_uint_eq(p->groups[1].nedges, 0);
	ck_assert_uint_eq(p->groups[2].nedges, 0);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_node_config)
{
	struct lpd_program	*p;
	char			*s;

	p = text_ok("{\"program\": \"n\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"courier\", \"command\": [\"true\"],"
	    " \"config\": {\"z\": 1, \"a\": [true, false, null, -7,"
	    " 9223372036854775807], \"reals\": [0.1, 1.0, -0.0, 1e300, 2.5e-7,"
	    " 123456789.125], \"s\": \"q\\\"b\\\\s/\\n\\t\\u0001\\u0000"
	    "caf\\u00e9\\u2603\", \"\": {}, \"e\": [],"
	    " \"deep\": [[{\"me\": {\"$handle\": \"a\"}}]],"
	    " \"b\": {\"$handle\": \"b/1\"}, \"all\": {\"$handles\": \"b\"},"
	    " \"blob\": {\"$bytes\": \"aGk=\"}}},"
	    "{\"group\": \"b\", \"type\": \"courier\", \"replicas\": 2,"
	    " \"command\": [\"true\"], \"config\": \"just a string\"},"
	    "{\"group\": \"c\", \"type\": \"process\", \"command\": [\"true\"],"
	    " \"config\": {\"$handles\": \"b\"}},"
	    "{\"group\": \"d\", \"type\": \"process\", \"command\": [\"true\"],"
	    " \"config\": {\"x/y~\": {\"$handle\": \"a\"}}}]}");
	s = config_of(p, 0, 0);
	ck_assert_str_eq(s, "{\"z\":1,\"a\":[true,false,null,-7,"
	    "9223372036854775807],\"reals\":[0.1,1.0,-0.0,1e+300,2.5e-07,"
	    "123456789.125],\"s\":\"q\\\"b\\\\s/\\n\\t\\u0001\\u0000"
	    "caf\xc3\xa9\xe2\x98\x83\",\"\":{},\"e\":[],"
	    "\"deep\":[[{\"me\":\"addr:0/0\"}]],"
	    "\"b\":\"addr:1/1\",\"all\":[\"addr:1/0\",\"addr:1/1\"],"
	    "\"blob\":{\"$bytes\":\"aGk=\"}}");
	free(s);
	s = config_of(p, 1, 1);
	ck_assert_str_eq(s, "\"just a string\"");
	free(s);
	s = config_of(p, 2, 0);
	ck_assert_str_eq(s, "[\"addr:1/0\",\"addr:1/1\"]");
	free(s);

	/* LP_HANDLES: where the addresses land, JSON Pointer's escapes. */
	s = lpd_program_handle_paths(p, 0);
	ck_assert_str_eq(s, "[\"deep/0/0/me\",\"b\",\"all/0\",\"all/1\"]");
	free(s);
	s = lpd_program_handle_paths(p, 1);
	ck_assert_str_eq(s, "[]");
	free(s);
	s = lpd_program_handle_paths(p, 2);
	ck_assert_str_eq(s, "[\"0\",\"1\"]");
	free(s);
	s = lpd_program_handle_paths(p, 3);
	ck_assert_str_eq(s, "[\"x~1y~0\"]");
	free(s);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_depth)
{
	struct lpd_program	*p;
	char			*text, *open, *close, *cause;
	size_t			 n = 101;

	/*
	 * The config object, 98 arrays and a reference object: 100 levels,
	 * the limit.
	 */
	open = xcalloc(n, 1);
	close = xcalloc(n, 1);
	memset(open, '[', n - 1);
	memset(close, ']', n - 1);
	xasprintf(&text, "{\"program\": \"d\", \"nodes\": [{\"group\": \"a\","
	    " \"type\": \"courier\", \"command\": [\"true\"], \"config\":"
	    " {\"x\": %s{\"$handle\": \"a\"}%s}}]}", open + 2, close + 2);
	p = text_ok(text);
	ck_assert_uint_eq(p->groups[0].nedges, 1);
	lpd_program_free(p);
	free(text);

	/* The config object and 100 arrays: one level too deep. */
	xasprintf(&text, "{\"program\": \"d\", \"nodes\": [{\"group\": \"a\","
	    " \"type\": \"courier\", \"command\": [\"true\"], \"config\":"
	    " {\"x\": %s1%s}}]}", open, close);
	cause = text_fails(text);
	ck_assert_msg(strstr(cause, "nests deeper than 100 levels") != NULL,
	    "%s", cause);
	ck_assert_uint_eq(count_lines(cause), 1);
	free(cause);
	free(text);
	free(open);
	free(close);
}
END_TEST

START_TEST(test_program_cycles)
{
	struct lpd_program	*p;
	char			*s;

	p = text_ok("{\"program\": \"ring\", \"nodes\": ["
	    "{\"group\": \"ping\", \"type\": \"courier\", \"command\":"
	    " [\"true\"], \"config\": {\"peer\": {\"$handle\": \"pong\"},"
	    " \"self\": {\"$handle\": \"ping\"}}},"
	    "{\"group\": \"pong\", \"type\": \"courier\", \"command\":"
	    " [\"true\"], \"config\": {\"peer\": {\"$handle\": \"ping\"}}}]}");
	ck_assert_uint_eq(p->groups[0].nedges, 2);
	ck_assert_uint_eq(p->groups[0].edges[0].target, 0);
	ck_assert_int_eq(p->groups[0].edges[0].index, 0);
	ck_assert_uint_eq(p->groups[0].edges[1].target, 1);
	ck_assert_uint_eq(p->groups[1].nedges, 1);
	ck_assert_uint_eq(p->groups[1].edges[0].target, 0);
	s = config_of(p, 0, 0);
	ck_assert_str_eq(s, "{\"peer\":\"addr:1/0\",\"self\":\"addr:0/0\"}");
	free(s);
	s = config_of(p, 1, 0);
	ck_assert_str_eq(s, "{\"peer\":\"addr:0/0\"}");
	free(s);
	s = lpd_program_graph(p);
	ck_assert_ptr_nonnull(strstr(s, "\t\"ping/0\" -> \"pong/0\";\n"));
	ck_assert_ptr_nonnull(strstr(s, "\t\"pong/0\" -> \"ping/0\";\n"));
	ck_assert_ptr_nonnull(strstr(s, "\t\"ping/0\" -> \"ping/0\";\n"));
	free(s);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_graph)
{
	struct lpd_program	*p;
	char			*s;

	p = data_ok("good/consumer_producers.json");
	s = lpd_program_graph(p);
	ck_assert_msg(strncmp(s, "digraph \"consumer_producers\" {\n",
	    31) == 0, "%s", s);
	ck_assert_ptr_nonnull(strstr(s,
	    "\tsubgraph \"cluster_producer\" {\n"
	    "\t\tlabel=\"producer (courier)\";\n"
	    "\t\t\"producer/0\";\n"
	    "\t\t\"producer/1\";\n"
	    "\t}\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "\tsubgraph \"cluster_consumer\" {\n"
	    "\t\tlabel=\"consumer (courier)\";\n"
	    "\t\t\"consumer/0\";\n"
	    "\t}\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "\t\"consumer/0\" -> \"producer/0\";\n"
	    "\t\"consumer/0\" -> \"producer/1\";\n"
	    "}\n"));
	ck_assert_ptr_null(strstr(s, "\"producer/0\" ->"));
	free(s);
	lpd_program_free(p);

	/* Each node of a holding group, and a process group's label. */
	p = text_ok("{\"program\": \"g\", \"nodes\": ["
	    "{\"group\": \"w\", \"type\": \"process\", \"replicas\": 2,"
	    " \"command\": [\"true\"], \"config\": {\"$handle\": \"s/1\"}},"
	    "{\"group\": \"s\", \"type\": \"courier\", \"replicas\": 3,"
	    " \"command\": [\"true\"]}]}");
	s = lpd_program_graph(p);
	ck_assert_ptr_nonnull(strstr(s, "label=\"w (process)\";"));
	ck_assert_ptr_nonnull(strstr(s, "\t\"w/0\" -> \"s/1\";\n"
	    "\t\"w/1\" -> \"s/1\";\n}\n"));
	ck_assert_ptr_null(strstr(s, "\"s/0\" ->"));
	ck_assert_ptr_null(strstr(s, "-> \"s/0\""));
	free(s);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_big)
{
	struct lpd_program	*p;
	FILE			*f;
	char			*path, *s, *c;
	size_t			 len, n, ngroups = 300;
	size_t			 i, j;

	/* 300 groups, each holding every group: 90000 edges. */
	xasprintf(&path, "%s/big.json", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "{\"program\": \"big\", \"nodes\": [");
	for (i = 0; i < ngroups; i++) {
		fprintf(f, "%s{\"group\": \"g%zu\", \"type\": \"courier\","
		    " \"command\": [\"true\"], \"config\": [",
		    i == 0 ? "" : ",", i);
		for (j = 0; j < ngroups; j++) {
			fprintf(f, "%s{\"$handles\": \"g%zu\"}",
			    j == 0 ? "" : ",", (i + j) % ngroups);
		}
		fprintf(f, "]}");
	}
	fprintf(f, "]}\n");
	ck_assert_int_eq(fclose(f), 0);
	p = load_ok(path, NULL);
	free(path);
	ck_assert_uint_eq(p->ngroups, ngroups);
	for (i = 0; i < ngroups; i++) {
		ck_assert_uint_eq(p->groups[i].nedges, ngroups);
		for (j = 0; j < ngroups; j++)
			ck_assert_uint_eq(p->groups[i].edges[j].target, j);
	}
	s = lpd_program_graph(p);
	len = strlen(s);
	/* Counted by hand: ASan's strstr reads the rest of s each time. */
	for (n = 0, c = s; *c != '\0'; c++) {
		if (c[0] == '-' && c[1] == '>')
			n++;
	}
	ck_assert_uint_eq(n, ngroups * ngroups);
	ck_assert_ptr_nonnull(strstr(s, "\t\"g299/0\" -> \"g0/0\";\n"));
	ck_assert_int_eq(s[len - 1], '\n');
	free(s);
	lpd_program_free(p);
}
END_TEST

START_TEST(test_program_name)
{
	struct lpd_program	*p;
	char			*path, *cause = NULL;

	ck_assert(lpd_program_name_valid("a"));
	ck_assert(lpd_program_name_valid("A.b-c_9"));
	ck_assert(lpd_program_name_valid("0123456789012345678901234567890"
	    "123456789012345678901234567890123"));
	ck_assert(!lpd_program_name_valid("0123456789012345678901234567890"
	    "1234567890123456789012345678901234"));
	ck_assert(!lpd_program_name_valid(""));
	ck_assert(!lpd_program_name_valid(NULL));
	ck_assert(!lpd_program_name_valid("a b"));
	ck_assert(!lpd_program_name_valid("a/b"));
	ck_assert(!lpd_program_name_valid("caf\xc3\xa9"));

	xasprintf(&path, "%s/good/consumer_producers.json", data_dir());
	p = load_ok(path, "other.name");
	ck_assert_str_eq(p->name, "other.name");
	lpd_program_free(p);

	p = lpd_program_load(path, "bad name", &cause);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, ": --name: \"bad name\" is not a valid "
	    "name") != NULL, "%s", cause);
	ck_assert_uint_eq(count_lines(cause), 1);
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0, "%s", cause);
	free(cause);

	/* NULL cause is allowed. */
	ck_assert_ptr_null(lpd_program_load(path, "", NULL));
	free(path);
}
END_TEST

START_TEST(test_program_unreadable)
{
	struct lpd_program	*p;
	char			*path, *want, *cause = NULL;

	xasprintf(&path, "%s/no-such-file.json", tmpdir);
	p = lpd_program_load(path, NULL, &cause);
	ck_assert_ptr_null(p);
	xasprintf(&want, "%s: No such file or directory", path);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
	free(path);

	p = lpd_program_load(tmpdir, NULL, &cause);
	ck_assert_ptr_null(p);
	xasprintf(&want, "%s: Is a directory", tmpdir);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
}
END_TEST

START_TEST(test_program_syntax)
{
	char	*cause, *want;

	cause = text_fails("{\"program\": \"x\",\n  \"nodes\": [1,]\n}\n");
	xasprintf(&want, "%s/prog.json:2:15: ", tmpdir);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0, "%s", cause);
	ck_assert_uint_eq(count_lines(cause), 1);
	free(want);
	free(cause);
}
END_TEST

START_TEST(test_program_suggest)
{
	char	*cause;

	/* Near names are suggested, far or tiny ones are not. */
	cause = text_fails("{\"program\": \"s\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"courier\", \"command\":"
	    " [\"true\"], \"config\": [{\"$handle\": \"zz\"},"
	    " {\"$handle\": \"learner\"}, {\"$handle\": \"lerner\"}]},"
	    "{\"group\": \"learners\", \"type\": \"courier\","
	    " \"command\": [\"true\"], \"comand\": 1, \"xyz\": 2}]}");
	ck_assert_uint_eq(count_lines(cause), 5);
	ck_assert_msg(strstr(cause, "nodes[0].config[0]: no group \"zz\"\n")
	    != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "nodes[0].config[1]: no group \"learner\""
	    " (did you mean \"learners\"?)\n") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "nodes[0].config[2]: no group \"lerner\""
	    " (did you mean \"learners\"?)\n") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "nodes[1].comand: unknown key \"comand\""
	    " (did you mean \"command\"?)\n") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "nodes[1].xyz: unknown key \"xyz\"") !=
	    NULL, "%s", cause);
	ck_assert_ptr_null(strstr(strstr(cause, "xyz"), "did you mean"));
	free(cause);
}
END_TEST

/*
 * Load a program whose second node entry has "resources": res (JSON
 * text), which must fail with one error; the caller frees it.
 */
static char *
resources_fail(const char *res)
{
	char	*text, *cause;

	xasprintf(&text, "{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"true\"], \"resources\": {\"cpus\": 2}},"
	    "{\"group\": \"b\", \"type\": \"process\","
	    " \"command\": [\"true\"], \"resources\": %s}]}", res);
	cause = text_fails(text);
	free(text);
	ck_assert_msg(count_lines(cause) == 1, "%s: %s", res, cause);
	return (cause);
}

/* Check that res fails with want, at its place, after the file's path. */
static void
check_resources_error(const char *res, const char *want)
{
	char	*cause, *path;

	cause = resources_fail(res);
	xasprintf(&path, "%s/prog.json: ", tmpdir);
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0,
	    "%s: %s", res, cause);
	ck_assert_msg(strcmp(cause + strlen(path), want) == 0,
	    "%s: \"%s\", not \"%s\"", res, cause + strlen(path), want);
	free(path);
	free(cause);
}

/* Bad "resources", each named by its place and what it must be. */
START_TEST(test_program_resources_errors)
{
	char	*cause;

	check_resources_error("{\"cpus\": 0}", "nodes[1].resources.cpus: "
	    "must be an integer from 1 to 4096, not 0");
	check_resources_error("{\"cpus\": \"2\"}", "nodes[1].resources.cpus: "
	    "must be an integer from 1 to 4096, not \"2\"");
	check_resources_error("{\"cpus\": 1.5}", "nodes[1].resources.cpus: "
	    "must be an integer from 1 to 4096, not 1.5");
	check_resources_error("{\"cpus\": 4097}", "nodes[1].resources.cpus: "
	    "must be an integer from 1 to 4096, not 4097");
	check_resources_error("{\"cpus\": null}", "nodes[1].resources.cpus: "
	    "must be an integer from 1 to 4096, not null");
	check_resources_error("{\"cpu\": 2}", "nodes[1].resources.cpu: "
	    "unknown key \"cpu\" (did you mean \"cpus\"?)");
	check_resources_error("{\"gpu\": 1}", "nodes[1].resources.gpu: "
	    "unknown key \"gpu\" (did you mean \"gpus\"?)");
	check_resources_error("[2]", "nodes[1].resources: must be an object "
	    "such as {\"cpus\": 2, \"mem_mb\": 4096, \"gpus\": 1}, "
	    "not an array");
	check_resources_error("2", "nodes[1].resources: must be an object "
	    "such as {\"cpus\": 2, \"mem_mb\": 4096, \"gpus\": 1}, not 2");
	check_resources_error("{\"gpus\": -1}", "nodes[1].resources.gpus: "
	    "must be an integer from 0 to 1024, not -1");
	check_resources_error("{\"gpus\": 1025}", "nodes[1].resources.gpus: "
	    "must be an integer from 0 to 1024, not 1025");
	check_resources_error("{\"mem_mb\": 4294967297}",
	    "nodes[1].resources.mem_mb: must be an integer from 0 to "
	    "4294967296 (MiB), not 4294967297");
	check_resources_error("{\"mem_mb\": -1}",
	    "nodes[1].resources.mem_mb: must be an integer from 0 to "
	    "4294967296 (MiB), not -1");

	/* Every bad key of one object is reported, in the file's order. */
	cause = text_fails("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"true\"],"
	    " \"resources\": {\"cpus\": 0, \"gpus\": -1}}]}");
	ck_assert_uint_eq(count_lines(cause), 2);
	ck_assert_msg(strstr(cause, "nodes[0].resources.cpus: must be an "
	    "integer from 1 to 4096, not 0\n") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "nodes[0].resources.gpus: must be an "
	    "integer from 0 to 1024, not -1") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "resources.cpus") <
	    strstr(cause, "resources.gpus"), "%s", cause);
	free(cause);
}
END_TEST

START_TEST(test_program_many_errors)
{
	struct lpd_program	*p;
	FILE			*f;
	char			*path, *cause = NULL, *last;
	size_t			 i;

	/* 150 bad groups: 100 errors shown, then a count of the rest. */
	xasprintf(&path, "%s/many.json", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "{\"program\": \"many\", \"nodes\": [");
	for (i = 0; i < 150; i++) {
		fprintf(f, "%s{\"group\": \"g%zu\", \"type\": \"courier\","
		    " \"command\": [\"true\"], \"replicas\": 0}",
		    i == 0 ? "" : ",", i);
	}
	fprintf(f, "]}\n");
	ck_assert_int_eq(fclose(f), 0);
	p = lpd_program_load(path, NULL, &cause);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(count_lines(cause), 101);
	ck_assert_ptr_nonnull(strstr(cause, "nodes[99].replicas: "));
	ck_assert_ptr_null(strstr(cause, "nodes[100].replicas: "));
	last = strrchr(cause, '\n') + 1;
	ck_assert_msg(strstr(last, ": 50 more errors not shown") != NULL,
	    "%s", last);
	free(cause);
	free(path);
}
END_TEST

START_TEST(test_program_free_null)
{
	lpd_program_free(NULL);
}
END_TEST

/* Read a whole file (which must exist); the caller frees. */
static char *
read_text(const char *path)
{
	FILE	*f;
	char	*text;
	long	 len;

	ck_assert_msg((f = fopen(path, "r")) != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_ge(len = ftell(f), 0);
	rewind(f);
	text = xcalloc(1, (size_t)len + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return (text);
}

/* Check one bad file against its .err: those errors, in order, only. */
static void
check_bad_file(const char *dir, const char *name)
{
	struct lpd_program	*p;
	char			*path, *errpath, *want, *line, *next;
	char			*cause;
	const char		*at;
	size_t			 nwant = 0, len = strlen(name);

	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&errpath, "%s/%.*s.err", dir, (int)(len - 5), name);
	want = read_text(errpath);
	cause = NULL;
	p = lpd_program_load(path, NULL, &cause);
	ck_assert_msg(p == NULL, "%s: loaded, but should fail", name);
	ck_assert_msg(cause != NULL, "%s: no cause", name);
	ck_assert_msg(cause[strlen(cause) - 1] != '\n',
	    "%s: cause ends with a newline", name);

	at = cause;
	for (line = want; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		nwant++;
		ck_assert_msg(strstr(at, line) != NULL,
		    "%s: error \"%s\" missing (or out of order) in:\n%s",
		    name, line, cause);
		/* Each expected error is on its own line, in order. */
		at = strstr(at, line);
		at = strchr(at, '\n') != NULL ? strchr(at, '\n') + 1 :
		    at + strlen(at);
	}
	ck_assert_msg(count_lines(cause) == nwant,
	    "%s: %zu errors expected, got %zu:\n%s", name, nwant,
	    count_lines(cause), cause);
	free(cause);
	free(want);
	free(errpath);
	free(path);
}

/* Compare names for qsort. */
static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

START_TEST(test_program_bad_files)
{
	DIR		*d;
	struct dirent	*de;
	char		*dir, **names = NULL;
	size_t		 n = 0, i, len;

	xasprintf(&dir, "%s/bad", data_dir());
	ck_assert_msg((d = opendir(dir)) != NULL, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (i = 0; i < n; i++) {
		check_bad_file(dir, names[i]);
		free(names[i]);
	}
	free(names);
	free(dir);
	ck_assert_msg(n >= BAD_FILES_MIN, "only %zu bad files checked", n);
}
END_TEST

/* The suite: one case per behaviour. */
static Suite *
program_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("program");

	tc = tcase_create("good");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_program_example);
	tcase_add_test(tc, test_program_defaults);
	tcase_add_test(tc, test_program_fields);
	tcase_add_test(tc, test_program_resources);
	tcase_add_test(tc, test_program_replay);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_program_cwd);
	tcase_add_test(tc, test_program_env);
	tcase_add_test(tc, test_program_command);
	tcase_add_test(tc, test_program_path_cwd);
	suite_add_tcase(s, tc);

	tc = tcase_create("handles");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_program_replicas);
	tcase_add_test(tc, test_program_edges);
	tcase_add_test(tc, test_program_node_config);
	tcase_add_test(tc, test_program_depth);
	tcase_add_test(tc, test_program_cycles);
	suite_add_tcase(s, tc);

	tc = tcase_create("graph");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_program_graph);
	tcase_add_test(tc, test_program_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_program_name);
	tcase_add_test(tc, test_program_unreadable);
	tcase_add_test(tc, test_program_syntax);
	tcase_add_test(tc, test_program_suggest);
	tcase_add_test(tc, test_program_resources_errors);
	tcase_add_test(tc, test_program_many_errors);
	tcase_add_test(tc, test_program_free_null);
	tcase_add_test(tc, test_program_bad_files);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(program_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
