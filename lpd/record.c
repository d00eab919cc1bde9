/*
 * record.c: a program's record, STATE/NAME/record.json, and what lpd does
 * with the records it finds when it starts.
 *
 * The record is the program as lpctl status --json shows it (without the
 * uptimes) plus the record's version and the pid of the lpd that wrote
 * it. It is written whole to a temporary file, synced and renamed over
 * the old one, so that a crash leaves the old record or the new one,
 * never half of either. It is JSON through courier's values, which keeps
 * jansson inside program.c.
 *
 * Recovery. A record still "running" or "stopping" at start belongs to an
 * lpd that died. The supervisor core's keeper has most likely killed the
 * nodes already; we make sure: every process in a recorded node's process
 * group is killed, but only if the group is still that node's. A pid is
 * reused, so a group leader must have started when the record says its
 * node did; members of a group whose leader is gone hold the pgid, which
 * the kernel does not hand out again while they live, so they are ours
 * if they started after the program.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "record.h"

#define RECORD_FILE	"record.json"
#define RECORD_MAX	(64 * 1024 * 1024)
/* How far a recorded start may be from /proc's (clock ticks, rounding). */
#define START_SLACK_S	2.0

/* Write a whole buffer. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Write the record: tmp, fsync, rename, fsync the folder. 0, or -1 with
 * *cause and errno set; the record on disk is then the one before, whole
 * (or the new one, if only the folder's sync failed). The program's
 * folder is made if it is missing (a launch on a full disk could not).
 */
int
lpd_record_write(const char *dir, const courier_value *v, char **cause)
{
	courier_value	*rec;
	char		*json, *tmp, *path, *why = NULL;
	size_t		 i;
	int		 fd, saved;

	rec = courier_dict_new();
	courier_dict_set(rec, "version", courier_int(LPD_RECORD_VERSION));
	courier_dict_set(rec, "lpd_pid", courier_int(getpid()));
	for (i = 0; i < courier_dict_len(v); i++) {
		courier_dict_set(rec, courier_dict_key(v, i),
		    courier_value_ref(courier_dict_value(v, i)));
	}
	json = courier_value_to_json(rec, true, &why);
	courier_value_unref(rec);
	if (json == NULL) {
		xasprintf(cause, "cannot format the record: %s", why);
		free(why);
		errno = EINVAL;
		return (-1);
	}

	xasprintf(&tmp, "%s/.%s.tmp", dir, RECORD_FILE);
	xasprintf(&path, "%s/%s", dir, RECORD_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 && errno == ENOENT && mkdir(dir, 0700) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, json, strlen(json)) != 0 ||
	    write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		saved = errno;
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(saved));
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		xasprintf(cause, "cannot rename %s to %s: %s", tmp, path,
		    strerror(saved));
		goto fail;
	}
	/*
	 * The rename is durable once the folder is synced (a file system
	 * that cannot sync folders says EINVAL: nothing more to do there).
	 */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (fsync(fd) != 0 && errno != EINVAL)) {
		saved = errno;
		if (fd != -1)
			close(fd);
		xasprintf(cause, "cannot sync folder %s after writing %s: %s",
		    dir, RECORD_FILE, strerror(saved));
		goto fail;
	}
	close(fd);
	free(json);
	free(tmp);
	free(path);
	return (0);

fail:
	free(json);
	free(tmp);
	free(path);
	errno = saved;
	return (-1);
}

/* A string field, copied, or NULL. */
static char *
get_string(const courier_value *v, const char *key)
{
	const char	*s;

	s = courier_value_string(courier_dict_get(v, key), NULL);
	return (s != NULL ? xstrdup(s) : NULL);
}

/* A number field (int or double), or def. */
static double
get_number(const courier_value *v, const char *key, double def)
{
	const courier_value	*f = courier_dict_get(v, key);

	if (f == NULL || (courier_value_type(f) != COURIER_INT &&
	    courier_value_type(f) != COURIER_DOUBLE))
		return (def);
	return (courier_value_double(f));
}

/* Read a whole file (at most RECORD_MAX); NULL with *cause. */
static char *
read_all(const char *path, char **cause)
{
	struct stat	 sb;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &sb) != 0 || sb.st_size > RECORD_MAX) {
		xasprintf(cause, "%s: %s", path, sb.st_size > RECORD_MAX ?
		    "too large" : strerror(errno));
		close(fd);
		return (NULL);
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (buf);
}

/*
 * Read STATE/NAME/record.json into prog, a program with no run and no
 * nodes yet (NAME is its name). 0, or -1 with *cause unless there is no
 * record at all.
 */
int
lpd_record_read(struct lpd_prog *prog, const char *state_dir, char **cause)
{
	struct lpd_prog_node	*pn;
	const courier_value	*nodes, *n, *sa;
	courier_value		*v;
	char			*path, *text, *why = NULL, *state;
	size_t			 i;
	double			 version;

	xasprintf(&path, "%s/%s/%s", state_dir, prog->name, RECORD_FILE);
	if ((text = read_all(path, cause)) == NULL) {
		free(path);
		return (-1);
	}
	v = courier_value_from_json(text, &why);
	free(text);
	if (v == NULL || courier_value_type(v) != COURIER_DICT) {
		xasprintf(cause, "%s: not a record: %s; ignored", path,
		    why != NULL ? why : "not an object");
		free(why);
		courier_value_unref(v);
		free(path);
		return (-1);
	}
	version = get_number(v, "version", 0);
	if (version != LPD_RECORD_VERSION) {
		xasprintf(cause, "%s: record version %g, not %d; ignored",
		    path, version, LPD_RECORD_VERSION);
		courier_value_unref(v);
		free(path);
		return (-1);
	}
	free(path);

	prog->file = get_string(v, "file");
	prog->uid = (uid_t)get_number(v, "uid", 0);
	prog->gid = (gid_t)get_number(v, "gid", 0);
	prog->status = (int)get_number(v, "status", -1);
	prog->cause = get_string(v, "cause");
	prog->started = get_number(v, "started", 0);
	prog->ended = get_number(v, "ended", 0);
	prog->job = get_string(v, "job");
	sa = courier_dict_get(v, "slurm_args");
	if (sa != NULL && courier_value_type(sa) == COURIER_LIST)
		prog->slurm_args = courier_value_ref(sa);
	prog->slurm_timeout = get_number(v, "slurm_timeout", 0);
	if ((state = get_string(v, "backend")) != NULL)
		prog->backend_slurm = strcmp(state, "slurm") == 0;
	free(state);
	state = get_string(v, "state");
	prog->state = LPD_PROG_LOST;
	if (state != NULL) {
		if (strcmp(state, "running") == 0)
			prog->state = LPD_PROG_RUNNING;
		else if (strcmp(state, "stopping") == 0)
			prog->state = LPD_PROG_STOPPING;
		else if (strcmp(state, "exited") == 0)
			prog->state = LPD_PROG_EXITED;
		else if (strcmp(state, "failed") == 0)
			prog->state = LPD_PROG_FAILED;
	}
	free(state);

	nodes = courier_dict_get(v, "nodes");
	prog->nnodes = courier_list_len(nodes);
	prog->nodes = xcalloc(prog->nnodes, sizeof *prog->nodes);
	for (i = 0; i < prog->nnodes; i++) {
		n = courier_list_get(nodes, i);
		pn = &prog->nodes[i];
		if ((pn->name = get_string(n, "name")) == NULL)
			xasprintf(&pn->name, "node/%zu", i);
		if ((pn->group = get_string(n, "group")) == NULL)
			pn->group = xstrdup("");
		pn->index = (unsigned)get_number(n, "index", 0);
		if ((pn->type = get_string(n, "type")) == NULL)
			pn->type = xstrdup("");
		if ((pn->state = get_string(n, "state")) == NULL)
			pn->state = xstrdup("lost");
		pn->address = get_string(n, "address");
		pn->host = get_string(n, "host");
		/* A pid on another host is not ours to find, nor to kill:
		 * its agent stopped it when this lpd died. */
		pn->pid = pn->host != NULL ? 0 : (pid_t)get_number(n, "pid",
		    0);
		pn->status = (int)get_number(n, "wait_status", -1);
		pn->restarts = (unsigned)get_number(n, "restarts", 0);
		pn->started = get_number(n, "started", 0);
		if ((pn->log = get_string(n, "log")) == NULL)
			xasprintf(&pn->log, "%s/%s.log", prog->dir, pn->name);
	}
	courier_value_unref(v);
	return (0);
}

/* The boot time, in seconds since the epoch. */
static double
boot_time(void)
{
	FILE		*f;
	char		 line[256];
	long long	 btime = 0;

	if ((f = fopen("/proc/stat", "re")) == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	}
	fclose(f);
	return ((double)btime);
}

/* A process's pgid and start time (epoch seconds); -1 if it is gone. */
static int
proc_stat(pid_t pid, double btime, pid_t *pgid, double *start)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 starttime;
	long			 ticks;
	int			 fd, pgrp, i;
	ssize_t			 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: skip to its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	/* Fields after it: 3 state, 4 ppid, 5 pgrp, ..., 22 starttime. */
	if (sscanf(p + 1, " %*c %*d %d", &pgrp) != 1)
		return (-1);
	for (i = 3; i <= 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &starttime) != 1)
		return (-1);
	if ((ticks = sysconf(_SC_CLK_TCK)) <= 0)
		ticks = 100;
	*pgid = (pid_t)pgrp;
	*start = btime + (double)starttime / (double)ticks;
	return (0);
}

/*
 * Kill what is left of a program an earlier lpd ran, and mark it lost.
 * Returns the number of processes killed.
 */
unsigned
lpd_record_recover(struct lpd_prog *prog)
{
	struct lpd_prog_node	*pn;
	DIR			*dir;
	struct dirent		*de;
	double			 btime, start, lstart;
	pid_t			 pid, pgid, lpgid;
	unsigned		 killed = 0;
	size_t			 i;
	bool			*leader_ok, *leader_gone;
	char			*end;

	btime = boot_time();
	leader_ok = xcalloc(prog->nnodes, sizeof *leader_ok);
	leader_gone = xcalloc(prog->nnodes, sizeof *leader_gone);
	for (i = 0; i < prog->nnodes; i++) {
		pn = &prog->nodes[i];
		if (pn->pid <= 0)
			continue;
		if (proc_stat(pn->pid, btime, &lpgid, &lstart) != 0)
			leader_gone[i] = true;
		else if (lpgid == pn->pid &&
		    fabs(lstart - pn->started) <= START_SLACK_S)
			leader_ok[i] = true;
	}

	if ((dir = opendir("/proc")) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid = (pid_t)strtol(de->d_name, &end, 10);
			if (*end != '\0' || pid <= 1 || pid == getpid())
				continue;
			if (proc_stat(pid, btime, &pgid, &start) != 0)
				continue;
			for (i = 0; i < prog->nnodes; i++) {
				pn = &prog->nodes[i];
				if (pn->pid <= 0 || pgid != pn->pid)
					continue;
				if (leader_ok[i] || (leader_gone[i] &&
				    start >= prog->started - START_SLACK_S)) {
					if (kill(pid, SIGKILL) == 0) {
						log_info("%s: %s: killed pid "
						    "%ld left from before",
						    prog->name, pn->name,
						    (long)pid);
						killed++;
					}
				}
				break;
			}
		}
		closedir(dir);
	}
	free(leader_ok);
	free(leader_gone);

	for (i = 0; i < prog->nnodes; i++) {
		pn = &prog->nodes[i];
		if (strcmp(pn->state, "exited") != 0 &&
		    strcmp(pn->state, "failed") != 0) {
			free(pn->state);
			pn->state = xstrdup("lost");
		}
		pn->pid = 0;
	}
	prog->state = LPD_PROG_LOST;
	prog->status = LPD_STATUS_FAILED;
	/* When lpd died is unknown; when we found out is not. */
	prog->ended = lpd_realtime_now();
	free(prog->cause);
	prog->cause = xstrdup("lost: lpd restarted; the program's nodes were "
	    "stopped when the lpd running it died");
	return (killed);
}
