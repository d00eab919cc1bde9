/*
 * harness.c: what the unit tests share; see harness.h.
 */
#include <check.h>
#include <dirent.h>
#include <unistd.h>

#include "harness.h"

void
gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mtx, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->open = false;
	g->running = g->max_running = g->entered = 0;
}

void
gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mtx);
}

void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mtx);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mtx);
}

void
gate_wait_entered(struct gate *g, int n)
{
	pthread_mutex_lock(&g->mtx);
	while (g->entered < n)
		pthread_cond_wait(&g->cv, &g->mtx);
	pthread_mutex_unlock(&g->mtx);
}

void
gate_pass(struct gate *g)
{
	pthread_mutex_lock(&g->mtx);
	g->entered++;
	if (++g->running > g->max_running)
		g->max_running = g->running;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mtx);
	g->running--;
	pthread_mutex_unlock(&g->mtx);
}

int
harness_count_entries(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return (n);
}

int
harness_count_fds(void)
{
	return (harness_count_entries("/proc/self/fd") - 1);	/* opendir's */
}

int
harness_count_threads(void)
{
	return (harness_count_entries("/proc/self/task"));
}

bool
harness_wait_down_to(int (*count)(void), int want)
{
	int	 i;

	for (i = 0; i < 1000; i++) {
		if (count() <= want)
			return (true);
		usleep(10000);
	}
	return (false);
}
