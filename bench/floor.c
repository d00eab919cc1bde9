/*
 * floor.c: the fork/exec floor of the launch benchmarks.
 */
#include <sys/wait.h>

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

double
ms(int64_t ns)
{
	return ((double)ns / 1e6);
}
