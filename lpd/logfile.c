/*
 * logfile.c: a node's log file, STATE/PROGRAM/GROUP/INDEX.log, with a size
 * cap: when a line would take it over, INDEX.log becomes INDEX.log.1 (.1
 * becomes .2, and so on up to the number kept) and a new file starts.
 *
 * Readers (lpctl logs -f) hold a cursor: the count of bytes written since
 * the log was opened, across rotations. The current file holds the cursors
 * from base (end minus the file's size) to the end; what rotated away
 * before a reader caught up is skipped.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"
#include "daemon.h"

/* The most a reply carries at once; a follower asks again for more. */
#define LOG_READ_MAX	(4 * 1024 * 1024)

struct lpd_log {
	char		*path;
	int		 fd;
	size_t		 max;
	unsigned	 keep;
	uint64_t	 size;		/* of the current file */
	uint64_t	 total;		/* written since open */
	bool		 warned;
};

/* Shift path.N-1 to path.N, ..., path to path.1; the oldest goes. */
void
lpd_log_rotate_file(const char *path, unsigned keep)
{
	char		*from, *to;
	unsigned	 i;

	if (keep == 0) {
		(void)unlink(path);
		return;
	}
	for (i = keep; i > 0; i--) {
		xasprintf(&to, "%s.%u", path, i);
		if (i == 1)
			from = xstrdup(path);
		else
			xasprintf(&from, "%s.%u", path, i - 1);
		if (rename(from, to) != 0 && errno != ENOENT)
			log_warn("%s: rename %s: %s", __func__, from,
			    strerror(errno));
		free(from);
		free(to);
	}
}

/* Open a file for appending; -1 with *cause. */
static int
log_open_fd(const char *path, char **cause)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd == -1)
		xasprintf(cause, "cannot open log %s: %s", path,
		    strerror(errno));
	return (fd);
}

/*
 * Start a node's log for a new run: an earlier run's file is rotated away,
 * so INDEX.log is always this run's. The caller frees with lpd_log_free.
 */
struct lpd_log *
lpd_log_open(const char *path, size_t max, unsigned keep, char **cause)
{
	struct lpd_log	*log;
	struct stat	 sb;
	int		 fd;

	if (stat(path, &sb) == 0 && sb.st_size > 0)
		lpd_log_rotate_file(path, keep);
	if ((fd = log_open_fd(path, cause)) == -1)
		return (NULL);
	log = xcalloc(1, sizeof *log);
	log->path = xstrdup(path);
	log->fd = fd;
	log->max = max;
	log->keep = keep;
	return (log);
}

/* Append one line and its newline, rotating first if it would not fit. */
void
lpd_log_write(struct lpd_log *log, const char *line, size_t len)
{
	struct iovec	 iov[2];
	char		*cause = NULL;
	ssize_t		 n;

	if (log->fd == -1)
		return;
	if (log->size != 0 && log->size + len + 1 > log->max) {
		close(log->fd);
		lpd_log_rotate_file(log->path, log->keep);
		if ((log->fd = log_open_fd(log->path, &cause)) == -1) {
			log_warn("%s: %s", __func__, cause);
			free(cause);
			return;
		}
		log->size = 0;
	}
	iov[0].iov_base = (void *)(uintptr_t)line;
	iov[0].iov_len = len;
	iov[1].iov_base = (void *)(uintptr_t)"\n";
	iov[1].iov_len = 1;
	while ((n = writev(log->fd, iov, 2)) == -1 && errno == EINTR)
		continue;
	if (n == -1) {
		/* A full disk loses lines, not the program: say so once. */
		if (!log->warned)
			log_warn("%s: %s: %s", __func__, log->path,
			    strerror(errno));
		log->warned = true;
		return;
	}
	log->size += (uint64_t)n;
	log->total += (uint64_t)n;
}

/* The cursor of the current file's first byte. */
uint64_t
lpd_log_base(const struct lpd_log *log)
{
	return (log->total - log->size);
}

/* The run ended: close the file, keep the cursors. */
void
lpd_log_close(struct lpd_log *log)
{
	if (log->fd != -1)
		close(log->fd);
	log->fd = -1;
}

void
lpd_log_free(struct lpd_log *log)
{
	if (log == NULL)
		return;
	lpd_log_close(log);
	free(log->path);
	free(log);
}

/* Read [off, off + want) of a file; NULL if it cannot be read. */
static char *
read_range(int fd, uint64_t off, size_t want, size_t *len)
{
	char	*buf;
	size_t	 got = 0;
	ssize_t	 n;

	buf = xmalloc(want + 1);
	while (got < want) {
		n = pread(fd, buf + got, want - got, (off_t)(off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return (buf);
}

/*
 * The last n lines (n < 0: all) of a log file, at most LOG_READ_MAX
 * bytes, and in *next the cursor after them (base is the file's first).
 * A missing file has no lines. The caller frees.
 */
char *
lpd_log_tail(const char *path, long n, uint64_t base, size_t *len,
    uint64_t *next)
{
	struct stat	 sb;
	uint64_t	 size, off;
	char		*buf, *p;
	size_t		 got;
	long		 lines;
	int		 fd;

	*len = 0;
	*next = base;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (xstrdup(""));
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return (xstrdup(""));
	}
	size = (uint64_t)sb.st_size;
	off = size > LOG_READ_MAX ? size - LOG_READ_MAX : 0;
	buf = read_range(fd, off, (size_t)(size - off), &got);
	close(fd);
	*next = base + off + got;
	if (n < 0 || got == 0) {
		*len = got;
		return (buf);
	}
	/* Walk back over n newlines; the last byte's newline ends a line. */
	lines = 0;
	for (p = buf + got - 1; p > buf; p--) {
		if (p[-1] == '\n' && ++lines == n)
			break;
	}
	if (n == 0)
		p = buf + got;
	*len = got - (size_t)(p - buf);
	memmove(buf, p, *len);
	buf[*len] = '\0';
	return (buf);
}

/*
 * What a log file holds from cursor from on (base is the cursor of its
 * first byte), at most LOG_READ_MAX bytes; *next is the cursor after it.
 */
char *
lpd_log_since(const char *path, uint64_t base, uint64_t from, size_t *len,
    uint64_t *next)
{
	struct stat	 sb;
	uint64_t	 off, size;
	size_t		 want;
	char		*buf;
	int		 fd;

	*len = 0;
	*next = from;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (xstrdup(""));
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return (xstrdup(""));
	}
	size = (uint64_t)sb.st_size;
	/* Rotated away before the reader came back: start at the file's. */
	off = from > base ? from - base : 0;
	if (off >= size) {
		close(fd);
		*next = base + size > from ? base + size : from;
		return (xstrdup(""));
	}
	want = size - off > LOG_READ_MAX ? LOG_READ_MAX : (size_t)(size - off);
	buf = read_range(fd, off, want, len);
	close(fd);
	*next = base + off + *len;
	return (buf);
}
