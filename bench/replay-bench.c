/*
 * replay-bench.c: the replay tables alone, in one process: inserts and
 * samples per second of 64 B and 64 KiB items in uniform and prioritized
 * tables of a million items, and the time of one prioritized draw.
 *
 * A table keeps references, never copies, so what an item weighs matters
 * only where a value is built. 64 B items are all distinct; a million
 * distinct 64 KiB items would need 64 GiB, so the large-item tables share
 * a pool of 4096 values between their keys, and a separate line measures
 * inserts that build a fresh 64 KiB value each (the copy included) into
 * a full table that evicts as it goes.
 *
 * Times are this thread's CPU time, not the wall clock: the machines it
 * runs on are shared, and time spent descheduled is not the table's.
 * Then the same over a Unix socket: the replay node in a child process
 * of its own, called with futures, 64 in flight, set against courier's
 * own floor measured the same way a moment before: an echo method of a
 * plain courier server (another child) with the same payload. Over the
 * socket a 64 KiB item is decoded into memory of its own, so those
 * tables hold 16384 items (1 GiB).
 *
 * It prints figures and asserts nothing. Usage:
 *   replay-bench [-i] [-n ITEMS] [-s SAMPLES]
 * -i measures the tables in-process only.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "courier/node.h"
#include "replay-int.h"

LP_NODE_DEF_DECLARE(replay);

#define POOL	4096
#define BATCH	64
#define DEPTH	64		/* calls in flight over the socket */
#define BIG_CAP	16384		/* 64 KiB items a socket table holds */

/* This thread's CPU time in nanoseconds. */
static int64_t
cpu_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
}

static size_t	nitems_opt = 1000000;
static size_t	nsamples_opt = 1000000;

/* A table over store, MinSize(1), fifo remover. */
static struct replay_table *
bench_table(struct replay_store *store, enum replay_selector sampler,
    uint64_t max_size)
{
	struct replay_table_config	 cfg = {
		.name = "bench", .sampler = sampler, .remover = REPLAY_FIFO,
		.priority_exponent = 0.6, .max_size = max_size, .seed = 1,
	};
	struct replay_table		*t;
	char				*cause = NULL;

	replay_limiter_min_size(&cfg.limiter, 1, NULL);
	if ((t = replay_table_new(store, &cfg, &cause)) == NULL)
		fatalx("%s", cause);
	return (t);
}

static double
per_sec(size_t n, int64_t ns)
{
	return ((double)n * 1e9 / (double)(ns > 0 ? ns : 1));
}

/* Fill, insert at capacity, sample one at a time and in batches. */
static void
run(enum replay_selector sampler, size_t size)
{
	struct replay_store	*store = replay_store_new();
	struct replay_table	*t = bench_table(store, sampler, nitems_opt);
	struct replay_sample	*s = xcalloc(BATCH, sizeof *s);
	courier_value		**pool;
	struct rng		 r;
	char			*buf = xcalloc(1, size);
	size_t			 npool = size > 64 ? POOL : 0, i, got, drawn;
	int64_t			 t0, fill, full, one, batch;
	courier_value		*v;

	rng_seed(&r, 9);
	pool = xcalloc(npool + 1, sizeof *pool);
	for (i = 0; i < npool; i++) {
		memcpy(buf, &i, sizeof i);
		pool[i] = courier_bytes(buf, size);
	}

	/* Fill from empty to nitems. */
	t0 = cpu_ns();
	for (i = 0; i < nitems_opt; i++) {
		if (npool != 0)
			v = courier_value_ref(pool[i % npool]);
		else {
			memcpy(buf, &i, sizeof i);
			v = courier_bytes(buf, size);
		}
		replay_table_insert(t, i + 1, v, rng_double(&r) * 100, NULL,
		    NULL);
		courier_value_unref(v);
	}
	fill = cpu_ns() - t0;

	/* Insert into the full table: each insert evicts the oldest. */
	t0 = cpu_ns();
	for (i = 0; i < nsamples_opt / 4; i++) {
		v = courier_value_ref(npool != 0 ? pool[i % npool] : pool[0]);
		if (npool == 0) {
			courier_value_unref(v);
			memcpy(buf, &i, sizeof i);
			v = courier_bytes(buf, size);
		}
		replay_table_insert(t, nitems_opt + i + 1, v,
		    rng_double(&r) * 100, NULL, NULL);
		courier_value_unref(v);
	}
	full = cpu_ns() - t0;

	/* One item per call. */
	t0 = cpu_ns();
	for (i = 0; i < nsamples_opt; i++) {
		replay_table_sample(t, 1, s, &got, NULL, NULL);
		courier_value_unref(s[0].value);
	}
	one = cpu_ns() - t0;

	/* BATCH items per call. */
	t0 = cpu_ns();
	for (drawn = 0; drawn < nsamples_opt; drawn += got) {
		replay_table_sample(t, BATCH, s, &got, NULL, NULL);
		replay_samples_clear(s, got);
	}
	batch = cpu_ns() - t0;

	printf("%-11s %6zu B  fill %9.0f/s  insert@full %9.0f/s  "
	    "sample %9.0f/s (%5.0f ns)  sample x%d %10.0f items/s\n",
	    replay_selector_name(sampler), size,
	    per_sec(nitems_opt, fill), per_sec(nsamples_opt / 4, full),
	    per_sec(nsamples_opt, one), (double)one / (double)nsamples_opt,
	    BATCH, per_sec(drawn, batch));
	fflush(stdout);

	replay_table_free(t);
	for (i = 0; i < npool; i++)
		courier_value_unref(pool[i]);
	free(pool);
	free(buf);
	free(s);
	replay_store_free(store);
}

/* Inserts that each build a fresh 64 KiB value, into a full table. */
static void
run_fresh(void)
{
	struct replay_store	*store = replay_store_new();
	struct replay_table	*t = bench_table(store, REPLAY_UNIFORM, POOL);
	char			*buf = xcalloc(1, 65536);
	courier_value		*v;
	size_t			 i, n = nsamples_opt / 4;
	int64_t			 t0, ns;

	t0 = cpu_ns();
	for (i = 0; i < POOL + n; i++) {
		if (i == POOL)
			t0 = cpu_ns();
		memcpy(buf, &i, sizeof i);
		v = courier_bytes(buf, 65536);
		replay_table_insert(t, i + 1, v, 1, NULL, NULL);
		courier_value_unref(v);
	}
	ns = cpu_ns() - t0;
	printf("uniform      65536 B  insert@full of a fresh value "
	    "(copy included), %d items: %9.0f/s\n", POOL, per_sec(n, ns));
	replay_table_free(t);
	free(buf);
	replay_store_free(store);
}

/*
 * The latency of one prioritized draw from a full table, alone and with
 * a priority update between draws (what a learner does).
 */
static void
run_latency(void)
{
	struct replay_store	*store = replay_store_new();
	struct replay_table	*t = bench_table(store, REPLAY_PRIORITIZED,
				    nitems_opt);
	struct replay_sample	 s;
	courier_value		*v = courier_bytes("", 0);
	struct rng		 r;
	size_t			 i, got;
	int64_t			 t0, alone, upd;

	rng_seed(&r, 5);
	for (i = 0; i < nitems_opt; i++)
		replay_table_insert(t, i + 1, v, rng_double(&r) * 100, NULL,
		    NULL);
	t0 = cpu_ns();
	for (i = 0; i < nsamples_opt; i++) {
		replay_table_sample(t, 1, &s, &got, NULL, NULL);
		courier_value_unref(s.value);
	}
	alone = cpu_ns() - t0;
	t0 = cpu_ns();
	for (i = 0; i < nsamples_opt; i++) {
		replay_table_sample(t, 1, &s, &got, NULL, NULL);
		courier_value_unref(s.value);
		replay_table_update(t, s.key, rng_double(&r) * 100, NULL);
	}
	upd = cpu_ns() - t0;
	printf("prioritized draw of one item from %zu: %.0f ns; "
	    "with an update after each: %.0f ns\n", nitems_opt,
	    (double)alone / (double)nsamples_opt,
	    (double)upd / (double)nsamples_opt);
	courier_value_unref(v);
	replay_table_free(t);
	replay_store_free(store);
}

/* Fork a child that runs fn(arg) and never returns; dies with us. */
static pid_t
child(void (*fn)(const char *), const char *arg)
{
	pid_t	pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(arg);
		_exit(0);
	}
	return (pid);
}

static courier_value *
echo(void *self, courier_request *req, courier_error **err)
{
	return (courier_value_ref(courier_request_arg(req, 0)));
}

/* The floor: a plain courier server with one echo method. */
static void
echo_main(const char *addr)
{
	courier_server	*s = courier_server_new();
	char		*cause = NULL;

	if (courier_server_add_method(s, "echo", echo, NULL,
	    COURIER_METHOD_INLINE, &cause) != 0 ||
	    courier_server_listen(s, addr, &cause) != 0 ||
	    courier_server_start(s, &cause) != 0)
		fatalx("echo server: %s", cause);
	for (;;)
		pause();
}

/* The replay node, with small and big tables of both samplers. */
static void
node_main(const char *addr)
{
	struct lp_node_params	 p = {
		.program = "bench", .name = "replay/0", .address = addr,
		.listen_fd = -1, .run = true,
	};
	lp_node			*node;
	char			*config, *cause = NULL;

	xasprintf(&config, "{\"tables\": ["
	    "{\"name\": \"uniform\", \"max_size\": %zu, \"seed\": 1},"
	    "{\"name\": \"prioritized\", \"sampler\": \"prioritized\","
	    " \"priority_exponent\": 0.6, \"max_size\": %zu, \"seed\": 2},"
	    "{\"name\": \"uniform-big\", \"max_size\": %d, \"seed\": 3},"
	    "{\"name\": \"prioritized-big\", \"sampler\": "
	    "\"prioritized\", \"max_size\": %d, \"seed\": 4}]}",
	    nitems_opt, nitems_opt, BIG_CAP, BIG_CAP);
	p.config = config;
	if ((node = lp_node_new(lp_node_def_replay(), &p, &cause)) == NULL)
		fatalx("replay node: %s", cause);
	_exit(lp_node_exec(node));
}

/* The arguments of call i of a kind: echo, insert or sample. */
static courier_value *
call_args(const char *method, const char *table, const courier_value *pv,
    size_t i)
{
	courier_value	*prios;

	if (strcmp(method, "echo") == 0)
		return (courier_args(courier_value_ref(pv)));
	if (strcmp(method, "sample") == 0)
		return (courier_args(courier_string(table)));
	prios = courier_dict_new();
	courier_dict_set(prios, table, courier_double((double)(i % 100)));
	return (courier_args(courier_value_ref(pv), prios));
}

/* n calls with DEPTH in flight; calls per second of wall time. */
static double
window(courier_client *c, const char *method, const char *table,
    size_t size, size_t n)
{
	courier_future	*f[DEPTH];
	courier_value	*pv, *v;
	courier_error	*err = NULL;
	char		*buf = xcalloc(1, size);
	size_t		 issued = 0, done, head = 0;
	int64_t		 t0;

	pv = courier_bytes(buf, size);
	t0 = mono_ns();
	while (issued < DEPTH && issued < n) {
		f[issued] = courier_call_async(c, method,
		    call_args(method, table, pv, issued));
		issued++;
	}
	for (done = 0; done < n; done++) {
		if ((v = courier_future_wait(f[head], COURIER_FOREVER,
		    &err)) == NULL)
			fatalx("%s: %s", method, courier_error_message(err));
		courier_value_unref(v);
		courier_future_free(f[head]);
		if (issued < n) {
			f[head] = courier_call_async(c, method,
			    call_args(method, table, pv, issued));
			issued++;
		}
		head = (head + 1) % DEPTH;
	}
	t0 = mono_ns() - t0;
	courier_value_unref(pv);
	free(buf);
	return ((double)n * 1e9 / (double)t0);
}

/* Over the socket: echo floor, inserts, samples, for each size. */
static void
run_socket(void)
{
	static const struct {
		size_t		 size;
		const char	*suffix;
	} sizes[] = { { 64, "" }, { 65536, "-big" } };
	char		 dir[] = "/tmp/replay-bench-XXXXXX";
	char		*echo_addr, *node_addr;
	char		*table, *cause = NULL;
	pid_t		 echo_pid, node_pid;
	courier_client	*ce, *cn;
	double		 floor, ins, smp;
	size_t		 i, j, n;

	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	xasprintf(&echo_addr, "unix:%s/echo.sock", dir);
	xasprintf(&node_addr, "unix:%s/replay.sock", dir);
	echo_pid = child(echo_main, echo_addr);
	node_pid = child(node_main, node_addr);
	if ((ce = courier_client_new(echo_addr, &cause)) == NULL ||
	    (cn = courier_client_new(node_addr, &cause)) == NULL)
		fatalx("client: %s", cause);
	courier_client_set_timeout(ce, 60000);
	courier_client_set_timeout(cn, 60000);

	printf("over a Unix socket, %d calls in flight, the node in a child "
	    "process; floor: courier echo of the same payload\n", DEPTH);
	for (i = 0; i < nitems(sizes); i++) {
		n = sizes[i].size > 64 ? BIG_CAP : nitems_opt;
		for (j = 0; j < 2; j++) {
			xasprintf(&table, "%s%s", j == 0 ? "uniform" :
			    "prioritized", sizes[i].suffix);
			floor = window(ce, "echo", NULL, sizes[i].size,
			    n / 4 + DEPTH);
			ins = window(cn, "insert", table, sizes[i].size, n);
			smp = window(cn, "sample", table, sizes[i].size,
			    nsamples_opt / 4);
			printf("%-15s %6zu B  echo %8.0f/s  insert %8.0f/s "
			    "(%.2fx echo's time)  sample %8.0f/s (%.2fx), "
			    "%zu items\n", table, sizes[i].size, floor, ins,
			    floor / ins, smp, floor / smp, n);
			fflush(stdout);
			free(table);
		}
	}
	courier_client_free(ce);
	courier_client_free(cn);
	kill(echo_pid, SIGKILL);
	kill(node_pid, SIGKILL);
	waitpid(echo_pid, NULL, 0);
	waitpid(node_pid, NULL, 0);
	unlink(echo_addr + 5);
	unlink(node_addr + 5);
	rmdir(dir);
	free(echo_addr);
	free(node_addr);
}

int
main(int argc, char **argv)
{
	int	c;
	bool	socket = true;

	while ((c = getopt(argc, argv, "in:s:")) != -1) {
		switch (c) {
		case 'i':
			socket = false;
			break;
		case 'n':
			nitems_opt = strtoul(optarg, NULL, 10);
			break;
		case 's':
			nsamples_opt = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: replay-bench [-i] [-n ITEMS] "
			    "[-s SAMPLES]\n");
			return (2);
		}
	}
	if (nitems_opt == 0 || nsamples_opt < 4) {
		fprintf(stderr, "replay-bench: -n and -s must be positive\n");
		return (2);
	}
	printf("replay tables in one process: %zu items, %zu draws, one "
	    "thread\n", nitems_opt, nsamples_opt);
	run(REPLAY_UNIFORM, 64);
	run(REPLAY_PRIORITIZED, 64);
	run(REPLAY_UNIFORM, 65536);
	run(REPLAY_PRIORITIZED, 65536);
	run_fresh();
	run_latency();
	if (socket)
		run_socket();
	return (0);
}
