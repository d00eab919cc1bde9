/*
 * faults.c: an LD_PRELOAD library for the integration tests, which makes
 * fork() and clone() (how lpd starts its keeper and its nodes) fail or
 * stop in the process that loads it (lpd), as the machine would: a full
 * process table, or a kill that lands in the middle of a launch. Each
 * fault comes from the environment, and counts forks and clones alike:
 *
 *   FAULTS_FORK_FAIL=PATH	a fork fails with EAGAIN while PATH exists
 *   FAULTS_FORK_STOP=N		the Nth fork stops the process (SIGSTOP)
 *				before it forks, for a test to kill it there
 *   FAULTS_FSYNC_DIR_FAIL=PATH	fsync of a folder fails with EIO while
 *				PATH exists (a disk that fails the sync
 *				that makes a rename durable)
 *
 * A node does not inherit these: lpd gives nodes the environment lpctl
 * sent, not its own.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static pid_t		(*real_fork)(void);
static int		(*real_clone)(int (*)(void *), void *, int, void *,
			    ...);
static int		(*real_fsync)(int);
static const char	*fail_path;
static const char	*fsync_dir_path;
static unsigned long	 stop_at;
static unsigned long	 nforks;

/* Read the faults once, before main. */
__attribute__((constructor)) static void
faults_init(void)
{
	const char	*s;

	/* POSIX's way to take a function from dlsym's void *. */
	*(void **)&real_fork = dlsym(RTLD_NEXT, "fork");
	*(void **)&real_clone = dlsym(RTLD_NEXT, "clone");
	*(void **)&real_fsync = dlsym(RTLD_NEXT, "fsync");
	if ((s = getenv("FAULTS_FSYNC_DIR_FAIL")) != NULL && *s != '\0')
		fsync_dir_path = s;
	if ((s = getenv("FAULTS_FORK_FAIL")) != NULL && *s != '\0')
		fail_path = s;
	if ((s = getenv("FAULTS_FORK_STOP")) != NULL)
		stop_at = strtoul(s, NULL, 10);
}

/*
 * Whether this fork fails; it may stop first. Called with every signal
 * blocked (lpd's spawn does that): SIGSTOP cannot be, and access is safe.
 */
static int
fork_fails(void)
{
	if (fail_path != NULL && access(fail_path, F_OK) == 0) {
		errno = EAGAIN;
		return (1);
	}
	if (stop_at != 0 && ++nforks == stop_at)
		raise(SIGSTOP);
	return (0);
}

/* fork, with the faults asked for. */
pid_t
fork(void)
{
	if (real_fork == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	return (fork_fails() ? -1 : real_fork());
}

/* clone, with the same faults; lpd passes four arguments. */
int
clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	if (real_clone == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	return (fork_fails() ? -1 : real_clone(fn, stack, flags, arg));
}

/* fsync, failing for a folder while FAULTS_FSYNC_DIR_FAIL's path exists. */
int
fsync(int fd)
{
	struct stat	 sb;

	if (real_fsync == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	if (fsync_dir_path != NULL && access(fsync_dir_path, F_OK) == 0 &&
	    fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		errno = EIO;
		return (-1);
	}
	return (real_fsync(fd));
}
