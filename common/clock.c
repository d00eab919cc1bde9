/*
 * clock.c: the monotonic clock, which never jumps with the wall clock.
 */
#include <time.h>

#include "common.h"

/* Nanoseconds on the monotonic clock. */
int64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
}
