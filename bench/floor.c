/*
 * floor.c: the fork/exec floor of the launch benchmarks.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "floor.h"

extern char **environ;

/* The floor: fork and exec n processes of path, then wait for them all. */
int64_t
floor_ns(const char *path, size_t n)
{
	char *const	 argv[] = { (char *)path, (char *)"--exit", NULL };
	int64_t		 t0;
	size_t		 i;

	t0 = mono_ns();
	for (i = 0; i < n; i++) {
		switch (fork()) {
		case -1:
			fatal("fork");
		case 0:
			execve(path, argv, environ);
			_exit(127);
		}
	}
	for (i = 0; i < n; i++) {
		if (wait(NULL) == -1)
			fatal("wait");
	}
	return (mono_ns() - t0);
}

/*
 * The stop's floor: n processes of path (run with --wait-term), each in a
 * process group of its own as nodes are, waiting for SIGTERM; the time to
 * signal every group and reap every process.
 */
int64_t
stop_floor_ns(const char *path, size_t n)
{
	char *const	 argv[] = { (char *)path, (char *)"--wait-term", NULL };
	pid_t		*pids;
	int64_t		 t0;
	size_t		 i;
	char		 c;
	int		 fds[2];

	pids = xcalloc(n, sizeof *pids);
	if (pipe(fds) == -1)
		fatal("pipe");
	for (i = 0; i < n; i++) {
		switch ((pids[i] = fork())) {
		case -1:
			fatal("fork");
		case 0:
			setpgid(0, 0);
			if (dup2(fds[1], 3) == -1)
				_exit(127);
			execve(path, argv, environ);
			_exit(127);
		}
		setpgid(pids[i], pids[i]);	/* before the kill, either way */
	}
	close(fds[1]);
	for (i = 0; i < n; i++) {
		if (read(fds[0], &c, 1) != 1)
			fatalx("%s --wait-term: %zu of %zu said they wait", path,
			    i, n);
	}
	close(fds[0]);
	t0 = mono_ns();
	for (i = 0; i < n; i++)
		killpg(pids[i], SIGTERM);
	for (i = 0; i < n; i++) {
		if (wait(NULL) == -1)
			fatal("wait");
	}
	free(pids);
	return (mono_ns() - t0);
}

double
ms(int64_t ns)
{
	return ((double)ns / 1e6);
}
