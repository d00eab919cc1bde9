/*
 * courier-time.c: deadlines on the monotonic clock, for poll() and for
 * condition variables that must not jump with the wall clock.
 */
#include <limits.h>
#include <time.h>

#include "courier-internal.h"

/* The deadline timeout_ms from now; DEADLINE_NONE for a negative one. */
int64_t
courier_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return (DEADLINE_NONE);
	return (mono_ns() + (int64_t)timeout_ms * NSEC_PER_MSEC);
}

/* The poll() timeout that ends at deadline, rounded up to whole ms. */
int
courier_poll_timeout(int64_t deadline)
{
	int64_t	 left;

	if (deadline == DEADLINE_NONE)
		return (-1);
	left = deadline - mono_ns();
	if (left <= 0)
		return (0);
	left = (left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	if (left > INT_MAX)
		return (INT_MAX);
	return ((int)left);
}

/* The absolute CLOCK_MONOTONIC time of deadline. */
void
courier_abstime(int64_t deadline, struct timespec *ts)
{
	ts->tv_sec = deadline / NSEC_PER_SEC;
	ts->tv_nsec = deadline % NSEC_PER_SEC;
}

/* A condition variable timed on CLOCK_MONOTONIC. */
void
courier_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t	 attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(cv, &attr) != 0)
		fatalx("pthread_cond_init");
	pthread_condattr_destroy(&attr);
}

/* Wait on cv until signalled or deadline passes. */
void
courier_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mtx, int64_t deadline)
{
	struct timespec	 ts;

	if (deadline == DEADLINE_NONE) {
		pthread_cond_wait(cv, mtx);
		return;
	}
	courier_abstime(deadline, &ts);
	pthread_cond_timedwait(cv, mtx, &ts);
}
