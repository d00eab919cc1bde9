/*
 * launch-bench.c: how long the supervisor core takes to start a program of
 * N courier nodes until every node serves, and to stop it until every
 * process is reaped, against a plain fork/exec/wait loop of N processes of
 * the same binary measured in the same run (the floor). The stop is set
 * against its own floor: N processes of that binary, each in a group of
 * its own, waiting for SIGTERM, signalled and reaped. Also the
 * supervisor's memory per node.
 *
 * usage: launch-bench [-n N]... [--node PATH]
 *
 * It embeds the core as `lpctl run` does (same library, same calls), so the
 * figures are lpctl run's without its terminal output.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "floor.h"
#include "lpd.h"

struct bench {
	struct event_base	*base;
	size_t			 nnodes;
	size_t			 nready;
	size_t			 nerrors;
	int64_t			 t_all_ready;
	int64_t			 t_done;
	bool			 done;
	int			 status;
	size_t			 heap_ready;
};

static size_t
heap_in_use(void)
{
	struct mallinfo2	mi = mallinfo2();

	return (mi.uordblks + mi.hblkhd);
}

/* Resident set size of this process, in KiB. */
static long
rss_kib(void)
{
	FILE	*f;
	char	 line[256];
	long	 kib = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return (kib);
}

static void
output_cb(void *arg, struct lpd_node *n, bool err, const char *line,
    size_t len)
{
	fprintf(stderr, "[%s] %.*s\n", n->name, (int)len, line);
}

static void
event_cb(void *arg, struct lpd_node *n, enum lpd_event ev, const char *msg)
{
	struct bench	*b = arg;

	switch (ev) {
	case LPD_EV_READY:
		if (++b->nready == b->nnodes) {
			b->t_all_ready = mono_ns();
			b->heap_ready = heap_in_use();
			event_base_loopbreak(b->base);
		}
		break;
	case LPD_EV_ERROR:
		b->nerrors++;
		fprintf(stderr, "launch-bench: %s: %s\n",
		    n != NULL ? n->name : "program", msg);
		break;
	case LPD_EV_EXITED:
		if (n->state == LPD_NODE_FAILED && !b->done)
			fprintf(stderr, "launch-bench: %s: %s\n", n->name, msg);
		break;
	default:
		break;
	}
}

static void
done_cb(void *arg, struct lpd_run *run, int status)
{
	struct bench	*b = arg;

	b->done = true;
	b->status = status;
	b->t_done = mono_ns();
	event_base_loopbreak(b->base);
}

/* One launch and stop of n nodes; prints a line. Returns 0 or -1. */
static int
one(const char *node, const char *tmp, size_t n, int64_t floor,
    int64_t stop_floor)
{
	struct bench		 b;
	struct lpd_program	*p;
	struct lpd_run		*run;
	struct lpd_run_opts	 opts;
	struct lpd_run_cb	 cb = { output_cb, event_cb, done_cb };
	char			*path, *cause = NULL;
	FILE			*f;
	size_t			 heap0;
	long			 rss0, rss1;
	int64_t			 t0, t_stop;

	xasprintf(&path, "%s/bench-%zu.json", tmp, n);
	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fprintf(f, "{\"program\": \"bench%zu\", \"stop\": {\"grace_s\": 10},"
	    " \"nodes\": [{\"group\": \"n\", \"type\": \"courier\","
	    " \"replicas\": %zu, \"command\": [\"%s\"]}]}\n", n, n, node);
	if (fclose(f) != 0)
		fatal("%s", path);

	memset(&b, 0, sizeof b);
	b.nnodes = n;
	if ((b.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	memset(&opts, 0, sizeof opts);
	opts.grace_s = -1;

	heap0 = heap_in_use();
	rss0 = rss_kib();
	t0 = mono_ns();
	if ((p = lpd_program_load(path, NULL, &cause)) == NULL)
		fatalx("%s", cause);
	unlink(path);
	if ((run = lpd_run_start(b.base, p, &opts, &cb, &b, &cause)) == NULL)
		fatalx("%s", cause);
	while (b.nready < n && !b.done && b.nerrors == 0)
		event_base_loop(b.base, EVLOOP_ONCE);
	if (b.nready < n) {
		fprintf(stderr, "launch-bench: %zu of %zu nodes ready\n",
		    b.nready, n);
		lpd_run_stop(run, true, "the benchmark failed");
		while (!b.done)
			event_base_loop(b.base, EVLOOP_ONCE);
		lpd_run_free(run);
		event_base_free(b.base);
		free(path);
		return (-1);
	}
	rss1 = rss_kib();

	t_stop = mono_ns();
	lpd_run_stop(run, false, "the benchmark is done");
	while (!b.done)
		event_base_loop(b.base, EVLOOP_ONCE);

	printf("%6zu  %10.1f  %10.1f  %6.2f  %10.1f  %10.1f  %6.2f  %10.1f  "
	    "%10.1f\n", n, ms(floor), ms(b.t_all_ready - t0),
	    (double)(b.t_all_ready - t0) / (double)floor,
	    ms(stop_floor), ms(b.t_done - t_stop),
	    (double)(b.t_done - t_stop) / (double)stop_floor,
	    (double)(b.heap_ready - heap0) / 1024.0 / (double)n,
	    (double)(rss1 - rss0) / (double)n);
	fflush(stdout);
	if (b.status != LPD_STATUS_OK)
		fprintf(stderr, "launch-bench: the program did not end well: "
		    "%s\n", lpd_run_cause(run));
	lpd_run_free(run);
	event_base_free(b.base);
	free(path);
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
	static const struct option	 longopts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "node", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	size_t				 sizes[16], nsizes = 0, i;
	char				*node = NULL, *dir, tmp[] =
	    "/tmp/launch-bench.XXXXXX";
	unsigned long			 v;
	int				 ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "n:N:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			v = strtoul(optarg, NULL, 10);
			if (v == 0 || v > LPD_NODES_MAX || nsizes == 16)
				fatalx("-n %s: 1 to %d nodes, 16 sizes at most",
				    optarg, LPD_NODES_MAX);
			sizes[nsizes++] = v;
			break;
		case 'N':
			free(node);
			node = xstrdup(optarg);
			break;
		default:
			fprintf(stderr, "usage: launch-bench [-n N]... "
			    "[--node PATH]\n");
			return (2);
		}
	}
	if (nsizes == 0) {
		sizes[nsizes++] = 100;
		sizes[nsizes++] = 1000;
	}
	if (node == NULL) {
		dir = self_dir();
		xasprintf(&node, "%s/bench-node", dir);
		free(dir);
	}
	if (access(node, X_OK) != 0)
		fatal("%s", node);

	if (mkdtemp(tmp) == NULL)
		fatal("mkdtemp");

	printf("launch-bench: N courier nodes (%s), started by the supervisor "
	    "core until all serve,\nthen stopped until all are reaped; the "
	    "floor forks and execs N of the same binary\nand waits for them "
	    "(it exits at once); the stop's floor signals N of them waiting "
	    "for SIGTERM\nand reaps them.\n", node);
	printf("%6s  %10s  %10s  %6s  %10s  %10s  %6s  %10s  %10s\n", "N",
	    "floor ms", "launch ms", "ratio", "stop floor", "stop ms", "ratio",
	    "heap KiB/n", "rss KiB/n");
	for (i = 0; i < nsizes; i++) {
		if (one(node, tmp, sizes[i], floor_ns(node, sizes[i]),
		    stop_floor_ns(node, sizes[i])) != 0)
			rc = 1;
	}
	printf("targets: launch ratio <= 2.0; stop of 1000 nodes < 300 ms; "
	    "supervisor memory < 64 KiB per node\n");
	rmdir(tmp);
	free(node);
	return (rc);
}
