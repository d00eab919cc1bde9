/*
 * run-setup.c: what a run makes ready before its first node starts, each
 * of which can fail for reasons of the machine: the environment nodes
 * get, the runtime folder (on memory where one is shared), every courier
 * node's listening socket, the log files, the limit on open files, and
 * the user nodes run as. supervisor.c calls them in order and fails the
 * whole start on the first error.
 */
#include <sys/vfs.h>

#include <linux/magic.h>

#include "run.h"

/* Whether an environment entry sets a variable that we set. */
static bool
env_is_ours(const char *e)
{
	static const char *const ours[] = {
		"LP_PROGRAM=", "LP_NODE=", "LP_ADDRESS=", "LP_LISTEN_FD=",
		"LP_CONFIG=", "LP_CONTROL=", "LP_RUN=", "LP_HANDLES=",
	};
	size_t	 i;

	for (i = 0; i < nitems(ours); i++) {
		if (strncmp(e, ours[i], strlen(ours[i])) == 0)
			return (true);
	}
	return (false);
}

/* Whether "K=V" a and b set the same K. */
static bool
env_same_key(const char *a, const char *b)
{
	size_t	 la = strcspn(a, "="), lb = strcspn(b, "=");

	return (la == lb && memcmp(a, b, la) == 0);
}

/* Copy the base environment, and merge each group's over it. */
void
lpd_setup_env(struct lpd_run *run, char *const *base)
{
	struct lpd_group	*g;
	size_t			 n = 0, i, j, k, m, gn;
	char			**e;

	if (base == NULL)
		base = environ;
	while (base != NULL && base[n] != NULL)
		n++;
	run->env = xcalloc(n + 1, sizeof *run->env);
	for (i = 0, k = 0; i < n; i++) {
		if (strchr(base[i], '=') != NULL && !env_is_ours(base[i]))
			run->env[k++] = xstrdup(base[i]);
	}
	n = k;

	run->genv = xcalloc(run->p->ngroups, sizeof *run->genv);
	run->gnenv = xcalloc(run->p->ngroups, sizeof *run->gnenv);
	for (i = 0; i < run->p->ngroups; i++) {
		g = &run->p->groups[i];
		gn = 0;
		while (g->env != NULL && g->env[gn] != NULL)
			gn++;
		e = xcalloc(n + gn + 1, sizeof *e);
		k = 0;
		for (j = 0; j < n; j++) {
			for (m = 0; m < gn; m++) {
				if (env_same_key(run->env[j], g->env[m]))
					break;
			}
			if (m == gn)
				e[k++] = run->env[j];
		}
		for (j = 0; j < gn; j++) {
			if (!env_is_ours(g->env[j]))
				e[k++] = g->env[j];
		}
		run->genv[i] = e;
		run->gnenv[i] = k;
	}
}

/* Whether path is a folder on a tmpfs that anyone may make folders in. */
static bool
shared_tmpfs(const char *path)
{
	struct statfs	 sfs;
	struct stat	 sb;

	return (statfs(path, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
	    stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & S_ISVTX) && (sb.st_mode & S_IWOTH));
}

/*
 * Where runtime folders go: $XDG_RUNTIME_DIR; else /tmp, or /dev/shm where
 * /tmp is on a disk and /dev/shm is memory. Every courier node's socket is
 * an inode there: on a journalled disk its bind took 0.7 ms (a launch of
 * 1000 nodes spent 0.74 s binding), on tmpfs a few microseconds.
 */
static const char *
runtime_base(void)
{
	const char	*base;

	base = getenv("XDG_RUNTIME_DIR");
	if (base != NULL && *base == '/')
		return (base);
	if (!shared_tmpfs("/tmp") && shared_tmpfs("/dev/shm"))
		return ("/dev/shm");
	return ("/tmp");
}

/*
 * Make the runtime folder (or use the one given), checking first that
 * socket paths inside it fit in sun_path.
 */
int
lpd_setup_dir(struct lpd_run *run, const char *dir, char **cause)
{
	const char	*base;
	char		*path, num[32];
	size_t		 longest;

	if (dir != NULL)
		path = xstrdup(dir);
	else {
		base = runtime_base();
		/* Keep it short: socket paths have 107 bytes in all. */
		xasprintf(&path, "%s/lpd-%.20s-XXXXXX", base, run->p->name);
	}
	snprintf(num, sizeof num, "/n%zu", run->nnodes);
	longest = strlen("/control");
	if (!run->tcp && strlen(num) > longest)
		longest = strlen(num);
	if (strlen(path) + longest >= SUN_PATH_MAX) {
		xasprintf(cause, "runtime folder %s: too long for Unix socket "
		    "paths (%zu bytes; at most %zu here); %s", path,
		    strlen(path), SUN_PATH_MAX - 1 - longest, dir != NULL ?
		    "give a shorter one" : "set XDG_RUNTIME_DIR to a shorter "
		    "folder");
		free(path);
		return (-1);
	}
	if (dir == NULL) {
		if (mkdtemp(path) == NULL) {
			xasprintf(cause, "cannot make runtime folder %s: %s",
			    path, strerror(errno));
			free(path);
			return (-1);
		}
		run->made_dir = true;
	} else if (mkdir(path, 0700) == 0)
		run->made_dir = true;
	else if (errno != EEXIST) {
		xasprintf(cause, "cannot make runtime folder %s: %s", path,
		    strerror(errno));
		free(path);
		return (-1);
	}
	run->dir = path;
	return (0);
}

/* Bind and listen on every courier node's address. */
int
lpd_setup_bind(struct lpd_run *run, char **cause)
{
	struct courier_addr	 a;
	struct run_node		*sn;
	char			*addr, *why = NULL;
	size_t			 i;
	int			 fd;

	if (run->shared)
		return (0);	/* the caller bound them */
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (!lpd_type_serves(run->p->groups[sn->n.group].type))
			continue;
		if (run->tcp)
			addr = xstrdup("tcp:127.0.0.1:0");
		else {
			xasprintf(&sn->sock_path, "%s/n%zu", run->dir, i);
			xasprintf(&addr, "unix:%s", sn->sock_path);
		}
		if (courier_addr_parse(addr, &a, &why) != 0 ||
		    (fd = courier_addr_listen(&a, &why)) == -1) {
			courier_addr_clear(&a);
			xasprintf(cause, "%s: cannot listen: %s", sn->n.name,
			    why);
			free(why);
			free(addr);
			/* Not ours: a server was there before us. */
			free(sn->sock_path);
			sn->sock_path = NULL;
			return (-1);
		}
		courier_addr_clear(&a);
		sn->listen_fd = fd;
		if (run->tcp) {
			free(addr);
			if ((addr = courier_addr_of_fd(fd)) == NULL) {
				xasprintf(cause, "%s: getsockname: %s",
				    sn->n.name, strerror(errno));
				return (-1);
			}
		}
		sn->n.address = addr;
	}
	return (0);
}

/*
 * Take a share of the program (opts->local): the addresses and sockets
 * the caller made, and the nodes that run elsewhere, which are final from
 * the start and never started.
 */
void
lpd_setup_share(struct lpd_run *run, const struct lpd_run_opts *opts)
{
	struct run_node	*sn;
	size_t		 i;

	run->shared = true;
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (lpd_type_serves(run->p->groups[sn->n.group].type)) {
			if (opts->addresses == NULL ||
			    opts->addresses[i] == NULL)
				fatalx("%s: %s has no address", __func__,
				    sn->n.name);
			sn->n.address = xstrdup(opts->addresses[i]);
		}
		if (opts->local[i]) {
			if (opts->listen_fds != NULL)
				sn->listen_fd = opts->listen_fds[i];
			continue;
		}
		sn->remote = true;
		sn->final = true;
		run->nlive--;
	}
}

/* Open every node's log, DIR/GROUP/INDEX.log, emptied. */
int
lpd_setup_logs(struct lpd_run *run, const char *dir, char **cause)
{
	struct run_node	*sn;
	char		*path;
	size_t		 i;

	for (i = 0; i < run->p->ngroups; i++) {
		xasprintf(&path, "%s/%s", dir, run->p->groups[i].name);
		if (lpd_mkdir_p(path, 0755) != 0) {
			xasprintf(cause, "cannot make log folder %s: %s",
			    path, strerror(errno));
			free(path);
			return (-1);
		}
		free(path);
	}
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		xasprintf(&path, "%s/%s/%u.log", dir,
		    run->p->groups[sn->n.group].name, sn->n.index);
		/* The last run's log, if any, becomes INDEX.log.1. */
		sn->log = lpd_log_open(path, run->log_max, run->log_keep,
		    cause);
		sn->log_path = path;
		if (sn->log == NULL)
			return (-1);
	}
	return (0);
}

/*
 * Raise the soft limit on open files if the program needs more (a node
 * holds up to six fds here); children get the embedder's limit, or the
 * one we found.
 */
void
lpd_setup_limits(struct lpd_run *run, const struct rlimit *node)
{
	struct rlimit	 cur, rl;
	rlim_t		 need;

	if (getrlimit(RLIMIT_NOFILE, &cur) != 0)
		return;
	/* What nodes get: the embedder's original, else what we have. */
	run->nofile = node != NULL ? *node : cur;
	need = (rlim_t)run->nnodes * 6 + 64;
	if (cur.rlim_cur != RLIM_INFINITY && cur.rlim_cur < need) {
		rl = cur;
		rl.rlim_cur = need;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur > cur.rlim_cur &&
		    setrlimit(RLIMIT_NOFILE, &rl) == 0)
			cur = rl;
	}
	run->nofile_raised = cur.rlim_cur != run->nofile.rlim_cur ||
	    cur.rlim_max != run->nofile.rlim_max;
}

/*
 * Nodes run as another user: note the uid, gid and the user's groups
 * (looked up now: the child may not call getgrouplist after fork).
 */
void
lpd_setup_ids(struct lpd_run *run, uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	int		 n = 64;

	run->set_ids = true;
	run->uid = uid;
	run->gid = gid;
	if ((pw = getpwuid(uid)) != NULL) {
		for (;;) {
			run->groups = xreallocarray(run->groups, (size_t)n,
			    sizeof *run->groups);
			if (getgrouplist(pw->pw_name, gid, run->groups,
			    &n) != -1)
				break;
		}
		run->ngroups = (size_t)n;
	} else {
		/* No passwd entry: the gid alone. */
		run->groups = xmalloc(sizeof *run->groups);
		run->groups[0] = gid;
		run->ngroups = 1;
	}
}

/*
 * The runtime folder and its sockets become the nodes' user's, so that
 * nodes can reach each other and the control socket; the folder stays 0700
 * and the supervisor, root, still reaches everything.
 */
int
lpd_setup_give_files(struct lpd_run *run, char **cause)
{
	struct run_node	*sn;
	char		*path;
	size_t		 i;

	if (!run->set_ids)
		return (0);
	if (chown(run->dir, run->uid, run->gid) != 0) {
		xasprintf(cause, "cannot give %s to uid %lu: %s", run->dir,
		    (unsigned long)run->uid, strerror(errno));
		return (-1);
	}
	xasprintf(&path, "%s/control", run->dir);
	if (chown(path, run->uid, run->gid) != 0) {
		xasprintf(cause, "cannot give %s to uid %lu: %s", path,
		    (unsigned long)run->uid, strerror(errno));
		free(path);
		return (-1);
	}
	free(path);
	for (i = 0; i < run->nnodes; i++) {
		sn = &run->nodes[i];
		if (sn->sock_path != NULL &&
		    chown(sn->sock_path, run->uid, run->gid) != 0) {
			xasprintf(cause, "cannot give %s to uid %lu: %s",
			    sn->sock_path, (unsigned long)run->uid,
			    strerror(errno));
			return (-1);
		}
	}
	return (0);
}
