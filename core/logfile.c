/*
 * logfile.c: a node's log file, DIR/GROUP/INDEX.log, with a size cap: when
 * lines would take it over, INDEX.log becomes INDEX.log.1 (.1 becomes .2,
 * and so on up to the number kept) and a new file starts. The one log
 * writer: the core writes lpctl run's logs with it, and lpd its own.
 *
 * Readers (lpctl logs -f) hold a cursor: the count of bytes written since
 * the log was opened, across rotations. The current file holds the cursors
 * from base (end minus the file's size) to the end; what rotated away
 * before a reader caught up is skipped.
 *
 * A full disk loses lines, never the node: a line that cannot be written
 * is counted and dropped, and the first one written after that is
 * preceded by a line saying how many were lost. A file that cannot be
 * opened (no room for it, or for its folder) is tried again at most once
 * a second, as lines come.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "logfile.h"
#include "lpd.h"

static int	 log_append(struct lpd_log *, const char *, size_t, bool,
		    uint64_t);

/* The most a reply carries at once; a follower asks again for more. */
#define LOG_READ_MAX	(4 * 1024 * 1024)
/* The most pieces one writev of a block of lines takes. */
#define LOG_IOV		256
/* How often a file that cannot be opened is tried again. */
#define LOG_RETRY_NS	NSEC_PER_SEC

struct lpd_log {
	char		*path;
	int		 fd;		/* -1: closed, or not open yet */
	bool		 closed;	/* the run ended: no more lines */
	size_t		 max;
	unsigned	 keep;
	uint64_t	 size;		/* of the current file */
	uint64_t	 total;		/* written since open */
	int		 error;		/* why lines are lost; 0: none are */
	double		 since;		/* when the first was lost */
	uint64_t	 lost;		/* lines lost since */
	int64_t		 retry;		/* fd -1: when to open again */
	bool		 partial;	/* the file ends inside a line */
	time_t		 stamp_sec;	/* the second stamp_day formats */
	char		 stamp_day[24];	/* "2026-11-30T16:22:27" */
};

/* Whether error says the disk (or the user's quota) is full. */
bool
lpd_log_no_space(int error)
{
	return (error == ENOSPC || error == EDQUOT);
}

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
		/* One that cannot move is overwritten by the next. */
		(void)rename(from, to);
		free(from);
		free(to);
	}
}

/*
 * Make the folders above path that are missing, 0700 as a launch makes
 * them: a launch on a full disk may not have made them. 0, or -1 with
 * errno set.
 */
static int
make_parents(const char *path)
{
	char	*dir, *slash;
	int	 r = -1, saved;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) == 0 || errno == EEXIST)
			r = 0;
		else if (errno == ENOENT && make_parents(dir) == 0 &&
		    (mkdir(dir, 0700) == 0 || errno == EEXIST))
			r = 0;
	}
	saved = errno;
	free(dir);
	errno = saved;
	return (r);
}

/* Open a file for appending, and its folders if they are missing. */
static int
log_open_fd(const char *path)
{
	int	fd, flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;

	fd = open(path, flags, 0640);
	if (fd == -1 && errno == ENOENT && make_parents(path) == 0)
		fd = open(path, flags, 0640);
	return (fd);
}

/* Lines are lost: count them; LPD_LOG_BROKE if they are the first. */
static int
log_lost(struct lpd_log *log, int error, uint64_t nlines)
{
	log->lost += nlines;
	if (log->error != 0)
		return (LPD_LOG_LOST);
	log->error = error != 0 ? error : EIO;
	log->since = lpd_realtime_now();
	return (LPD_LOG_BROKE);
}

/* (Re)open the file; -1 with errno set, and a time to try again. */
static int
log_file_reopen(struct lpd_log *log)
{
	if ((log->fd = log_open_fd(log->path)) == -1) {
		log->retry = mono_ns() + LOG_RETRY_NS;
		return (-1);
	}
	log->size = 0;
	log->partial = false;
	return (0);
}

/*
 * Start a node's log for a new run: an earlier run's file is rotated away,
 * so INDEX.log is always this run's. On a full disk the log starts without
 * a file and opens it once it can (lpd_log_error says so); other errors
 * return NULL with *cause. The caller frees with lpd_log_free.
 */
struct lpd_log *
lpd_log_open(const char *path, size_t max, unsigned keep, char **cause)
{
	struct stat	 sb;

	if (stat(path, &sb) == 0 && sb.st_size > 0)
		lpd_log_rotate_file(path, keep);
	return (lpd_log_open_append(path, max, keep, cause));
}

/*
 * The same, going on after what the file holds: a node that ended and
 * was started again by hand writes on in its log.
 */
struct lpd_log *
lpd_log_open_append(const char *path, size_t max, unsigned keep,
    char **cause)
{
	struct lpd_log	*log;
	struct stat	 sb;
	int		 fd, error = 0;

	if ((fd = log_open_fd(path)) == -1) {
		error = errno;
		if (!lpd_log_no_space(error)) {
			xasprintf(cause, "cannot open log %s: %s", path,
			    strerror(error));
			return (NULL);
		}
	}
	log = xcalloc(1, sizeof *log);
	log->path = xstrdup(path);
	log->fd = fd;
	log->max = max;
	log->keep = keep;
	if (fd != -1 && fstat(fd, &sb) == 0) {
		log->size = (uint64_t)sb.st_size;
		log->total = log->size;
	}
	if (fd == -1) {
		log->error = error;
		log->since = lpd_realtime_now();
		log->retry = mono_ns() + LOG_RETRY_NS;
	}
	return (log);
}

/* Where a short write of iov stopped: inside a line, or after one. */
static bool
ends_inside_line(const struct iovec *iov, int niov, size_t n)
{
	const char	*p;
	int		 i;

	for (i = 0; i < niov && n > iov[i].iov_len; i++)
		n -= iov[i].iov_len;
	if (i == niov || n == 0)
		return (false);
	p = iov[i].iov_base;
	return (p[n - 1] != '\n');
}

/*
 * Append one line and its newline, rotating first if it would not fit.
 * Returns 0 when it is written; LPD_LOG_MENDED when it is the first
 * written after some were lost; LPD_LOG_BROKE when it is lost and the one
 * before was not; LPD_LOG_LOST when it is lost after others.
 */
int
lpd_log_write(struct lpd_log *log, const char *line, size_t len)
{
	return (log_append(log, line, len, true, 1));
}

/*
 * Append nlines whole lines, newlines included (a block gathered by the
 * caller, written at once); as lpd_log_write otherwise. The cap may be
 * passed by one block.
 */
int
lpd_log_write_lines(struct lpd_log *log, const char *data, size_t len,
    uint64_t nlines)
{
	return (log_append(log, data, len, false, nlines));
}

/*
 * The stamp at the head of every line: when lpd read it, in UTC to the
 * microsecond, as RFC 3339 writes it ("2026-11-30T16:22:27.123456Z "). The
 * formatted second is kept, so most lines cost a clock read.
 */
static void
log_stamp(struct lpd_log *log, char *stamp)
{
	struct timespec	 ts;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != log->stamp_sec || log->stamp_day[0] == '\0') {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(log->stamp_day, sizeof log->stamp_day,
		    "%Y-%m-%dT%H:%M:%S", &tm);
		log->stamp_sec = ts.tv_sec;
	}
	snprintf(stamp, LPD_LOG_STAMP_LEN + 1, "%.19s.%06uZ ", log->stamp_day,
	    (unsigned)(ts.tv_nsec / 1000) % 1000000);
}

/*
 * Write iov[0 .. *niov) and empty it. 0 when all of it went; otherwise
 * -1 with errno (ENOSPC for a short write, which leaves log->partial
 * saying whether the file now ends inside a line).
 */
static int
log_flush(struct lpd_log *log, struct iovec *iov, int *niov)
{
	size_t	 want = 0;
	ssize_t	 n;
	int	 i;

	for (i = 0; i < *niov; i++)
		want += iov[i].iov_len;
	while ((n = writev(log->fd, iov, *niov)) == -1 && errno == EINTR)
		continue;
	if (n == -1)
		return (-1);
	log->size += (uint64_t)n;
	log->total += (uint64_t)n;
	if ((size_t)n < want) {
		if (n != 0)
			log->partial = ends_inside_line(iov, *niov, (size_t)n);
		errno = ENOSPC;
		return (-1);
	}
	log->partial = false;
	*niov = 0;
	return (0);
}

/*
 * Append data (and a newline, if newline); nlines is how many lines it
 * holds. Every line gets the stamp of now: a block is what one read of the
 * node's output gave, so its lines arrived together.
 */
static int
log_append(struct lpd_log *log, const char *data, size_t len, bool newline,
    uint64_t nlines)
{
	struct iovec	 iov[LOG_IOV];
	char		 marker[128], stamp[LPD_LOG_STAMP_LEN + 1];
	const char	*p, *end = data + len, *eol;
	uint64_t	 written = 0, done = 0;	/* lines queued, written */
	int		 niov = 0;

	if (log->closed)
		return (0);
	if (log->fd == -1) {
		if (mono_ns() < log->retry)
			return (log_lost(log, log->error, nlines));
		if (log_file_reopen(log) != 0)
			return (log_lost(log, errno, nlines));
	}
	if (log->size != 0 &&
	    log->size + len + 1 + nlines * LPD_LOG_STAMP_LEN > log->max) {
		close(log->fd);
		lpd_log_rotate_file(log->path, log->keep);
		if (log_file_reopen(log) != 0)
			return (log_lost(log, errno, nlines));
	}
	log_stamp(log, stamp);

	/* After a loss: end the cut line, and say what is missing. */
	if (log->partial) {
		iov[niov].iov_base = (void *)(uintptr_t)"\n";
		iov[niov++].iov_len = 1;
	}
	if (log->lost != 0) {
		snprintf(marker, sizeof marker, "lpd: %llu line%s lost: %s\n",
		    (unsigned long long)log->lost, log->lost == 1 ? "" : "s",
		    strerror(log->error));
		iov[niov].iov_base = stamp;
		iov[niov++].iov_len = LPD_LOG_STAMP_LEN;
		iov[niov].iov_base = marker;
		iov[niov++].iov_len = strlen(marker);
	}
	/* A stamp before each line; one writev for up to LOG_IOV / 2. */
	p = data;
	do {
		if (niov + 3 > LOG_IOV) {
			if (log_flush(log, iov, &niov) != 0)
				return (log_lost(log, errno, nlines - done));
			done = written;
		}
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol != NULL ? eol + 1 : end;
		iov[niov].iov_base = stamp;
		iov[niov++].iov_len = LPD_LOG_STAMP_LEN;
		iov[niov].iov_base = (void *)(uintptr_t)p;
		iov[niov++].iov_len = (size_t)(eol - p);
		if (written < nlines)
			written++;
		p = eol;
	} while (p < end);
	if (newline) {
		iov[niov].iov_base = (void *)(uintptr_t)"\n";
		iov[niov++].iov_len = 1;
	}
	if (log_flush(log, iov, &niov) != 0)
		return (log_lost(log, errno, nlines - done));
	if (log->error == 0)
		return (0);
	log->error = 0;
	log->lost = 0;
	return (LPD_LOG_MENDED);
}

/*
 * Why lines of this log are lost (an errno), with when that began, or 0
 * if none are.
 */
int
lpd_log_error(const struct lpd_log *log, double *since)
{
	if (since != NULL)
		*since = log->since;
	return (log->closed ? 0 : log->error);
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
	log->closed = true;
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

/* Open a log file to read, with its size; -1 if it cannot be. */
static int
open_sized(const char *path, uint64_t *size)
{
	struct stat	 sb;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return (-1);
	}
	*size = (uint64_t)sb.st_size;
	return (fd);
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
	uint64_t	 size, off;
	char		*buf, *p;
	size_t		 got;
	long		 lines;
	int		 fd;

	*len = 0;
	*next = base;
	if ((fd = open_sized(path, &size)) == -1)
		return (xstrdup(""));
	off = size > LOG_READ_MAX ? size - LOG_READ_MAX : 0;
	buf = read_range(fd, off, (size_t)(size - off), &got);
	close(fd);
	*next = base + off + got;
	/* Cut before the file's start: begin at the first whole line. */
	if (off != 0 && (p = memchr(buf, '\n', got)) != NULL) {
		got -= (size_t)(p + 1 - buf);
		memmove(buf, p + 1, got + 1);
	}
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
	uint64_t	 off, size;
	size_t		 want;
	char		*buf, *p;
	int		 fd;

	*len = 0;
	*next = from;
	if ((fd = open_sized(path, &size)) == -1)
		return (xstrdup(""));
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
	/* Cut before the file's end: end on a line, the rest comes next. */
	if (want < size - off && (p = memrchr(buf, '\n', *len)) != NULL) {
		*len = (size_t)(p + 1 - buf);
		buf[*len] = '\0';
	}
	*next = base + off + *len;
	return (buf);
}

/* Whether p (len bytes on) starts with a line's stamp. */
bool
lpd_log_is_stamp(const char *p, size_t len)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ ";
	size_t			 i;

	if (len < LPD_LOG_STAMP_LEN)
		return (false);
	for (i = 0; i < LPD_LOG_STAMP_LEN; i++) {
		if (shape[i] == 'd' ? p[i] < '0' || p[i] > '9' :
		    p[i] != shape[i])
			return (false);
	}
	return (true);
}

/*
 * Take the stamps off the lines of buf, in place; returns the new length.
 * A line without one (a file an older lpd wrote) is kept as it is.
 */
size_t
lpd_log_unstamp(char *buf, size_t len)
{
	const char	*r = buf, *end = buf + len, *eol;
	char		*w = buf;
	size_t		 n;

	while (r < end) {
		if (lpd_log_is_stamp(r, (size_t)(end - r)))
			r += LPD_LOG_STAMP_LEN;
		eol = memchr(r, '\n', (size_t)(end - r));
		n = (size_t)((eol != NULL ? eol + 1 : end) - r);
		memmove(w, r, n);
		w += n;
		r += n;
	}
	if (w < end)
		*w = '\0';
	return ((size_t)(w - buf));
}
