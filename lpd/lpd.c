/*
 * lpd.c: main of lpd, the daemon: many programs at once on one event_base,
 * driven by lpctl over a Unix socket (tmux's server, in the role of a
 * supervisor).
 *
 * Everything that can fail for a reason the user should see (the state
 * folder and its lock, the socket, the records of a previous lpd) is done
 * before the daemon detaches, so that lpd's exit status says whether it
 * runs. SIGTERM and SIGINT stop every program cleanly before lpd exits;
 * a second one kills what is left at once.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "common.h"
#include "ctl-server.h"
#include "daemon.h"
#include "log.h"
#include "logfile.h"
#include "notify.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: lpd [-fvV] [-S|--socket PATH] [-s|--state-dir DIR] "
	    "[-g|--group GROUP]\n"
	    "           [--log-max BYTES] [--log-keep N] [--max-connections N]\n"
	    "           [--max-connections-per-user N]\n"
	    "\n"
	    "  -f, --foreground     stay in the foreground, log to stderr\n"
	    "  -S, --socket PATH    the control socket (default "
	    "$XDG_RUNTIME_DIR/lpd/lpd.sock,\n"
	    "                       /run/lpd/lpd.sock for root; or "
	    "LPD_SOCKET)\n"
	    "  -s, --state-dir DIR  logs and program records (default "
	    "$XDG_STATE_HOME/lpd,\n"
	    "                       /var/lib/lpd for root)\n"
	    "  -g, --group GROUP    make the socket 0660 for GROUP\n"
	    "      --log-max BYTES  a node's log file size before rotation "
	    "(default 10M)\n"
	    "      --log-keep N     rotated log files kept (default 3)\n"
	    "      --max-connections N\n"
	    "                       connections to the socket at once "
	    "(default 1024)\n"
	    "      --max-connections-per-user N\n"
	    "                       ... from one user (default 128)\n"
	    "  -v, --verbose        log more\n");
}

/* An absolute path: the daemon's folder becomes "/" once it detaches. */
static char *
absolute(char *path)
{
	char	 cwd[PATH_MAX], *abs;

	if (path == NULL || path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return (path);
	xasprintf(&abs, "%s/%s", cwd, path);
	free(path);
	return (abs);
}

/* The default state folder, or NULL if there is no home to put it in. */
static char *
default_state_dir(void)
{
	const char	*state, *home;
	char		*dir;

	if (geteuid() == 0)
		return (xstrdup("/var/lib/lpd"));
	if ((state = getenv("XDG_STATE_HOME")) != NULL && *state == '/')
		xasprintf(&dir, "%s/lpd", state);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		xasprintf(&dir, "%s/.local/state/lpd", home);
	else
		return (NULL);
	return (dir);
}

/* Hold the state folder's lock: one lpd per state folder. */
static int
lock_state(const char *dir)
{
	char	*path, pid[32];
	int	 fd;

	xasprintf(&path, "%s/lpd.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "lpd: %s: %s\n", path, strerror(errno));
		free(path);
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		memset(pid, 0, sizeof pid);
		/* Nothing read leaves "unknown" below. */
		if (read(fd, pid, sizeof pid - 1) == -1)
			pid[0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fprintf(stderr, "lpd: another lpd (pid %s) uses the state "
		    "folder %s; stop it first, or give this one another "
		    "--state-dir\n", *pid != '\0' ? pid : "unknown", dir);
		close(fd);
		free(path);
		return (-1);
	}
	free(path);
	return (fd);
}

/* Write our pid into the lock file (again after detaching). */
static void
lock_write_pid(int fd)
{
	char	buf[32];
	int	len;

	len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	/* The pid is for people; the lock works without it. */
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, buf, (size_t)len, 0) != (ssize_t)len)
		log_warn("cannot write the pid into the lock file");
}

/* Detach: double fork, new session, /dev/null for stdio, "/" for cwd. */
static int
detach(void)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) == -1)
		return (-1);
	if (pid != 0)
		_exit(0);
	if (setsid() == -1)
		return (-1);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid != 0)
		_exit(0);
	if (chdir("/") != 0)
		return (-1);
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return (-1);
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return (0);
}

/*
 * Several programs, several descriptors per node: lift the soft limit to
 * the hard one, keeping the limit we started with for the nodes.
 */
static void
raise_nofile(struct lpd_daemon *d)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	d->node_nofile = rl;
	d->has_node_nofile = true;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
signal_cb(evutil_socket_t signo, short what, void *arg)
{
	struct lpd_daemon	*d = arg;

	if (signo == SIGHUP) {
		log_info("SIGHUP: reopening lpd's log");
		log_reopen();
		return;
	}
	log_info("SIG%s: %s", sigabbrev_np(signo), d->exiting ?
	    "killing what is left" : "stopping every program");
	if (!d->exiting)
		lpd_notify("STOPPING=1\nSTATUS=stopping every program");
	lpd_daemon_stop_all(d);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 'S' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "log-max", required_argument, NULL, 'M' },
		{ "log-keep", required_argument, NULL, 'K' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "max-connections-per-user", required_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lpd_daemon		 d;
	struct event			*sigev[3];
	const int			 signos[3] = { SIGTERM, SIGINT, SIGHUP };
	struct lpd_prog			*prog;
	struct group			*gr;
	gid_t				 gid = (gid_t)-1;
	char				*cause = NULL, *logpath, *end;
	bool				 foreground = false, made_socket = false;
	int				 ch, verbose = 0, fd, lockfd = -1, i;
	unsigned long			 keep, n;

	memset(&d, 0, sizeof d);
	TAILQ_INIT(&d.progs);
	d.uid = geteuid();
	d.log_max = LPD_LOG_MAX_DEFAULT;
	d.log_keep = LPD_LOG_KEEP_DEFAULT;
	d.max_conns = LPD_CONNS_MAX_DEFAULT;
	d.max_conns_per_user = LPD_CONNS_PER_USER_DEFAULT;
	while ((ch = getopt_long(argc, argv, "fS:s:g:vVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			foreground = true;
			break;
		case 'S':
			free(d.socket_path);
			d.socket_path = xstrdup(optarg);
			break;
		case 's':
			free(d.state_dir);
			d.state_dir = xstrdup(optarg);
			break;
		case 'g':
			if ((gr = getgrnam(optarg)) == NULL) {
				fprintf(stderr, "lpd: --group %s: no such "
				    "group\n", optarg);
				goto badopt;
			}
			gid = gr->gr_gid;
			break;
		case 'M':
			if ((d.log_max = lpd_parse_size(optarg)) == 0) {
				fprintf(stderr, "lpd: --log-max %s: give a "
				    "size of at least 1k, as 10M or 512k\n",
				    optarg);
				goto badopt;
			}
			break;
		case 'K':
			errno = 0;
			keep = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    keep > 100) {
				fprintf(stderr, "lpd: --log-keep %s: give a "
				    "number from 0 to 100\n", optarg);
				goto badopt;
			}
			d.log_keep = (unsigned)keep;
			break;
		case 'C':
		case 'U':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    n < 1 || n > 1000000) {
				fprintf(stderr, "lpd: --max-connections%s %s: "
				    "give a number from 1 to 1000000\n",
				    ch == 'U' ? "-per-user" : "", optarg);
				goto badopt;
			}
			if (ch == 'C')
				d.max_conns = (unsigned)n;
			else
				d.max_conns_per_user = (unsigned)n;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("lpd %s\n", LPD_VERSION);
			return (0);
		case 'h':
			usage(stdout);
			return (0);
		default:
			usage(stderr);
			goto badopt;
		}
	}
	if (optind != argc) {
		usage(stderr);
		goto badopt;
	}

	d.socket_path = absolute(d.socket_path);
	d.state_dir = absolute(d.state_dir);
	/* systemd's socket first: LISTEN_PID names this process. */
	fd = lpd_listen_activated();
	if (d.state_dir == NULL && (d.state_dir = default_state_dir()) ==
	    NULL) {
		fprintf(stderr, "lpd: no HOME nor XDG_STATE_HOME to keep "
		    "state in; give --state-dir DIR\n");
		goto fail;
	}
	if (lpd_mkdir_p(d.state_dir, 0700) != 0) {
		fprintf(stderr, "lpd: cannot make the state folder %s: %s\n",
		    d.state_dir, strerror(errno));
		goto fail;
	}
	if ((lockfd = lock_state(d.state_dir)) == -1)
		goto fail;
	lock_write_pid(lockfd);
	if (foreground)
		log_open(NULL, verbose);
	else {
		xasprintf(&logpath, "%s/lpd.log", d.state_dir);
		log_open(logpath, verbose);
		free(logpath);
	}

	if (fd == -1) {
		if (d.socket_path == NULL)
			if ((d.socket_path = lpd_ctl_default_socket()) == NULL)
				fatal("lpd_ctl_default_socket");
		/* Only the default folder is ours to make. */
		fd = lpd_listen(d.socket_path, gid, true, &cause);
		if (fd == -1) {
			fprintf(stderr, "lpd: %s\n", cause);
			free(cause);
			goto fail;
		}
		made_socket = true;
	} else {
		free(d.socket_path);
		d.socket_path = NULL;
	}

	signal(SIGPIPE, SIG_IGN);		/* children get SIG_DFL back */
	raise_nofile(&d);
	/* The loop's base is shared with threads answering calls. */
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads failed");
	if ((d.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	lpd_daemon_load(&d);

	if (!foreground) {
		if (detach() != 0) {
			fprintf(stderr, "lpd: cannot detach: %s\n",
			    strerror(errno));
			return (1);
		}
		lock_write_pid(lockfd);
		/* The base was made before the forks: epoll needs a new fd. */
		if (event_reinit(d.base) != 0)
			fatalx("event_reinit failed");
	}

	for (i = 0; i < 3; i++) {
		sigev[i] = evsignal_new(d.base, signos[i], signal_cb, &d);
		event_add(sigev[i], NULL);
	}
	if (lpd_ctl_start(&d, fd, &cause) != 0) {
		log_warn("cannot serve: %s", cause);
		free(cause);
		return (1);
	}
	log_info("lpd %s, pid %ld, uid %lu: listening on %s, state in %s",
	    LPD_VERSION, (long)getpid(), (unsigned long)d.uid,
	    d.socket_path != NULL ? d.socket_path : "the socket systemd gave",
	    d.state_dir);
	lpd_notify("READY=1\nSTATUS=listening on %s\nMAINPID=%ld",
	    d.socket_path != NULL ? d.socket_path : "systemd's socket",
	    (long)getpid());

	event_base_dispatch(d.base);

	log_info("exiting");
	lpd_daemon_flush(&d);
	lpd_ctl_stop(&d);
	while ((prog = TAILQ_FIRST(&d.progs)) != NULL) {
		TAILQ_REMOVE(&d.progs, prog, entry);
		lpd_prog_free(prog);
	}
	for (i = 0; i < 3; i++)
		event_free(sigev[i]);
	if (made_socket)
		unlink(d.socket_path);
	event_base_free(d.base);
	close(lockfd);
	free(d.socket_path);
	free(d.state_dir);
	log_close();
	return (0);

fail:
	/* Before the loop: nothing runs yet, only the paths are ours. */
	if (lockfd != -1)
		close(lockfd);
	free(d.socket_path);
	free(d.state_dir);
	log_close();
	return (1);

badopt:
	/* A bad option: exit 2, as lpctl does for usage errors. */
	free(d.socket_path);
	free(d.state_dir);
	return (2);
}
