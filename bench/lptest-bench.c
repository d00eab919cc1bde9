/*
 * lptest-bench.c: how long a test takes to launch consumer_producers with
 * the harness (lptest) until every courier node serves, until its first
 * successful call (the consumer's round, through every producer), and to
 * tear it down, in-process and as processes, for 2 and 100 producers.
 * The process figures are set against the fork/exec/wait floor of the
 * same number of processes that launch-bench measures.
 *
 * usage: lptest-bench [-r REPEATS] [-n PRODUCERS]... PROGRAM_FILE
 *
 * Each figure is the median of the repeats. The nodes in-process are the
 * example's consumer.c and producer.c, built in without main().
 */
#include <sys/resource.h>

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "floor.h"
#include "lptest.h"

LP_NODE_DEF_DECLARE(consumer);
LP_NODE_DEF_DECLARE(producer);

#define REPEATS_MAX	101

struct sample {
	int64_t		 launch;	/* to all serving */
	int64_t		 first;		/* to the first call's answer */
	int64_t		 teardown;	/* stop and free */
};

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

static int64_t
median(int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_i64);
	return (v[n / 2]);
}

/* One launch, first call and teardown; 0 or -1. */
static int
one(const char *program, enum lp_test_mode mode, unsigned producers,
    struct sample *s)
{
	static const char *const off[] = { "consumer", NULL };
	const struct lp_test_def defs[] = {
		{ "consumer", lp_node_def_consumer() },
		{ "producer", lp_node_def_producer() },
		{ NULL, NULL },
	};
	struct lp_test_override	 ov[2];
	struct lp_test_opts	 o;
	lp_test			*t;
	courier_client		*c;
	courier_value		*v;
	courier_error		*err = NULL;
	char			 replicas[16], *cause = NULL;
	int64_t			 t0;
	int			 st;

	snprintf(replicas, sizeof replicas, "%u", producers);
	memset(ov, 0, sizeof ov);
	ov[0].group = "producer";
	ov[0].key = "replicas";
	ov[0].json = replicas;
	memset(&o, 0, sizeof o);
	o.program = program;
	o.mode = mode;
	o.disable_run = off;
	o.overrides = ov;
	o.defs = defs;

	t0 = mono_ns();
	if ((t = lp_test_launch(&o, &cause)) == NULL) {
		fprintf(stderr, "lptest-bench: %s\n", cause);
		free(cause);
		return (-1);
	}
	s->launch = mono_ns() - t0;
	if ((c = lp_test_client(t, "consumer", &cause)) == NULL)
		fatalx("%s", cause);
	v = courier_call(c, "round", courier_args(courier_int(0)), &err);
	s->first = mono_ns() - t0;
	if (v == NULL || courier_list_len(v) != producers) {
		fprintf(stderr, "lptest-bench: round: %s\n", v == NULL ?
		    courier_error_message(err) : "a wrong answer");
		courier_error_free(err);
		courier_value_unref(v);
		lp_test_free(t);
		return (-1);
	}
	courier_value_unref(v);

	t0 = mono_ns();
	st = lp_test_stop(t, &cause);
	lp_test_free(t);
	s->teardown = mono_ns() - t0;
	if (st != LP_TEST_OK) {
		fprintf(stderr, "lptest-bench: %s\n", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/* The folder of this program, to find bench-node beside it. */
static char *
self_dir(void)
{
	char	 buf[PATH_MAX];
	ssize_t	 len;

	if ((len = readlink("/proc/self/exe", buf, sizeof buf - 1)) < 0)
		fatal("readlink /proc/self/exe");
	buf[len] = '\0';
	*strrchr(buf, '/') = '\0';
	return (xstrdup(buf));
}

int
main(int argc, char **argv)
{
	static const char *const mode_names[] = { "in-process", "processes" };
	struct rlimit	 rl;
	struct sample	 s;
	int64_t		 launch[REPEATS_MAX], first[REPEATS_MAX];
	int64_t		 down[REPEATS_MAX], fl[REPEATS_MAX], f;
	unsigned	 sizes[8], nsizes = 0, i, m;
	unsigned long	 v;
	char		*node, *dir;
	int		 ch, r, repeats = 5, rc = 0;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			v = strtoul(optarg, NULL, 10);
			if (v == 0 || v > 10000 || nsizes == nitems(sizes))
				fatalx("-n %s: 1 to 10000, 8 sizes at most",
				    optarg);
			sizes[nsizes++] = (unsigned)v;
			break;
		case 'r':
			repeats = atoi(optarg);
			if (repeats < 1 || repeats > REPEATS_MAX)
				fatalx("-r %s: 1 to %d", optarg, REPEATS_MAX);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if (nsizes == 0) {
		sizes[nsizes++] = 2;
		sizes[nsizes++] = 100;
	}
	dir = self_dir();
	xasprintf(&node, "%s/bench-node", dir);
	free(dir);
	if (access(node, X_OK) != 0)
		fatal("%s", node);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	printf("lptest-bench: consumer_producers launched by lptest with the "
	    "consumer's run off;\nlaunch: until every courier node serves; "
	    "first call: until consumer.round\nanswers (through every "
	    "producer); teardown: stop and free. Medians of %d.\nfloor: "
	    "fork, exec and wait of as many processes (launch-bench's).\n",
	    repeats);
	printf("%-10s  %5s  %10s  %10s  %10s  %10s  %6s\n", "mode", "prod",
	    "launch ms", "first ms", "down ms", "floor ms", "ratio");
	for (i = 0; i < nsizes; i++) {
		for (m = 0; m < 2; m++) {
			for (r = 0; r < repeats; r++) {
				if (one(argv[optind], (enum lp_test_mode)m,
				    sizes[i], &s) != 0) {
					rc = 1;
					break;
				}
				launch[r] = s.launch;
				first[r] = s.first;
				down[r] = s.teardown;
				fl[r] = floor_ns(node, sizes[i] + 1);
			}
			if (r != repeats)
				continue;
			f = median(fl, (size_t)repeats);
			printf("%-10s  %5u  %10.1f  %10.1f  %10.1f  %10.1f  ",
			    mode_names[m], sizes[i],
			    ms(median(launch, (size_t)repeats)),
			    ms(median(first, (size_t)repeats)),
			    ms(median(down, (size_t)repeats)), ms(f));
			if (m == 1) {
				printf("%6.2f\n", (double)median(launch,
				    (size_t)repeats) / (double)f);
			} else
				printf("%6s\n", "-");
			fflush(stdout);
		}
	}
	printf("targets: in-process launch of 100 courier nodes < 100 ms; "
	    "processes' launch ratio <= 2.0\n");
	free(node);
	return (rc);

usage:
	fprintf(stderr, "usage: lptest-bench [-r REPEATS] [-n PRODUCERS]... "
	    "PROGRAM_FILE\n");
	return (2);
}
