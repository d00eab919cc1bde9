/*
 * common.h: what every part of lpd shares (libcourier, the supervisor
 * core, the daemon, lpctl, lptest): allocation that never returns NULL,
 * the fatal exits, causes for errors, the monotonic clock, and a few
 * macros. It is linked into each part's internal archive and exported by
 * none of them.
 */
#ifndef LPD_COMMON_H
#define LPD_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define COMMON_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define COMMON_NORETURN		__attribute__((noreturn))
#else
#define COMMON_PRINTF(a, b)
#define COMMON_NORETURN
#endif

#define nitems(a) (sizeof (a) / sizeof (a)[0])

/* glibc's sys/queue.h lacks the _SAFE iterators of the BSDs. */
#include <sys/queue.h>
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) != NULL && ((tvar) = TAILQ_NEXT((var), field), 1);	\
	    (var) = (tvar))
#endif

/* xmalloc.c: allocation that aborts on exhaustion, and fatal errors. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) COMMON_PRINTF(2, 3);
int	 xvasprintf(char **, const char *, va_list) COMMON_PRINTF(2, 0);
void	 fatal(const char *, ...) COMMON_PRINTF(1, 2) COMMON_NORETURN;
void	 fatalx(const char *, ...) COMMON_PRINTF(1, 2) COMMON_NORETURN;
/* Set *cause (if cause is not NULL) to a formatted message. */
void	 set_cause(char **, const char *, ...) COMMON_PRINTF(2, 3);

/* clock.c: the monotonic clock, in nanoseconds. */
#define NSEC_PER_MSEC	1000000LL
#define NSEC_PER_SEC	1000000000LL
int64_t	 mono_ns(void);

#endif /* LPD_COMMON_H */
