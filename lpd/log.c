/*
 * log.c: lpd's own messages, as tmux's log.c: to stderr in the foreground
 * (systemd's journal takes them there), else to a file in the state
 * folder. Each message starts with the function that says it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "log.h"

static FILE	*log_file;
static char	*log_path;	/* NULL: stderr */
static int	 log_level;

static void	 log_vwrite(int, const char *, va_list) COMMON_PRINTF(2, 0);

/* Open the log: path NULL is stderr. level 0 info, 1 debug. */
void
log_open(const char *path, int level)
{
	log_level = level;
	free(log_path);
	log_path = path != NULL ? xstrdup(path) : NULL;
	log_reopen();
}

/* Reopen the log file (SIGHUP, after logrotate moved it). */
void
log_reopen(void)
{
	FILE	*f;

	if (log_path == NULL) {
		log_file = stderr;
		return;
	}
	if ((f = fopen(log_path, "ae")) == NULL)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file != NULL && log_file != stderr)
		fclose(log_file);
	log_file = f;
}

void
log_close(void)
{
	if (log_file != NULL && log_file != stderr)
		fclose(log_file);
	log_file = NULL;
	free(log_path);
	log_path = NULL;
}

static void
log_vwrite(int level, const char *fmt, va_list ap)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32];
	FILE		*f = log_file != NULL ? log_file : stderr;
	int		 saved = errno;

	if (level > log_level)
		return;
	/* The journal stamps stderr itself; a file needs its own. */
	if (f != stderr) {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(f, "%s.%03ld ", when, ts.tv_nsec / 1000000);
	}
	fputs("lpd: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(1, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(-1, fmt, ap);
	va_end(ap);
}
