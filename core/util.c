/*
 * util.c: small pieces that lpd, lpctl and the core share.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"
#include "lpd.h"

/*
 * mkdir -p: make path and the folders above it that are missing, those
 * with mode 0755 and path itself with mode (umask applies). Returns 0, or
 * -1 with errno set for the folder that failed.
 */
int
lpd_mkdir_p(const char *path, mode_t mode)
{
	char	*copy, *p;
	int	 saved;

	copy = xstrdup(path);
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(copy, saved == '\0' ? mode : 0755) != 0 &&
		    errno != EEXIST) {
			saved = errno;
			free(copy);
			errno = saved;
			return (-1);
		}
		if (saved == '\0')
			break;
		*p = (char)saved;
	}
	free(copy);
	return (0);
}

/* Wall-clock seconds, for the times people read (started, ended). */
double
lpd_realtime_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* "10M", "512k", "1048576": bytes (at least 1k), or 0 if not valid. */
size_t
lpd_parse_size(const char *s)
{
	unsigned long long	 n;
	char			*end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return (0);
	switch (*end) {
	case 'k': case 'K':
		n *= 1024;
		end++;
		break;
	case 'm': case 'M':
		n *= 1024 * 1024;
		end++;
		break;
	case 'g': case 'G':
		n *= 1024ULL * 1024 * 1024;
		end++;
		break;
	}
	if (*end != '\0' || n < 1024)
		return (0);
	return ((size_t)n);
}
