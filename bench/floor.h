/*
 * floor.h: the fork/exec floor that launch-bench and lptest-bench set
 * their launch figures against, measured the same way in both.
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>

/* Fork and exec n processes of path (with --exit), then wait for them all:
 * the nanoseconds it took. */
int64_t	 floor_ns(const char *, size_t);
int64_t	 stop_floor_ns(const char *, size_t);
/* Nanoseconds as milliseconds, for printing. */
double	 ms(int64_t);

#endif /* BENCH_FLOOR_H */
