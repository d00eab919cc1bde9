/*
 * harness.h: what the unit tests share. A gate that handlers block on
 * until the test opens it (so that a test shows a call did not wait for
 * something without timing it), and counts of what this process holds
 * (descriptors, threads), to show that something was given back.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <pthread.h>
#include <stdbool.h>

/* A gate handlers block on until the test opens it. */
struct gate {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	bool		 open;
	int		 running;	/* handlers inside */
	int		 max_running;	/* the most at once */
	int		 entered;	/* handlers that ever entered */
};

void	gate_init(struct gate *);
void	gate_destroy(struct gate *);
/* Let every handler through, now and later. */
void	gate_open(struct gate *);
/* Wait until at least n handlers have entered the gate. */
void	gate_wait_entered(struct gate *, int);
/* A handler's side: enter, wait for the gate to open, leave. */
void	gate_pass(struct gate *);

/* Entries of a folder such as /proc/self/fd, not counting . and .. */
int	harness_count_entries(const char *);
/* Descriptors this process has open (the count's own excluded). */
int	harness_count_fds(void);
/* Threads this process has. */
int	harness_count_threads(void);
/*
 * Wait until count() is at most want, for about 10 s; false if it is
 * still above.
 */
bool	harness_wait_down_to(int (*)(void), int);

#endif /* TESTS_HARNESS_H */
