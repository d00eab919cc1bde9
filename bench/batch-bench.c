/*
 * batch-bench.c: calls per second of a batched method against the same
 * method unbatched, 64 calls in flight over a Unix socket.
 *
 * Two handlers: "echo", which does nothing (what batching costs when a
 * call is cheap), and "model", which spins for a fixed time per run of
 * the handler plus a little per caller, the shape of an inference step
 * that batching exists for. Each is served plain (on the pool) and
 * batched (max_batch 64, max_wait 1 ms).
 *
 *	batch-bench [-n CALLS] [-u SPIN_US]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <courier/courier.h>

#define DEPTH		64
#define MAX_BATCH	64
#define MAX_WAIT_MS	1

static int	spin_us = 200;

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
spin(double us)
{
	double	end = now_s() + us / 1e6;

	while (now_s() < end)
		continue;
}

static courier_value *
m_echo(void *self, courier_request *req, courier_error **err)
{
	return (courier_value_ref(courier_request_arg(req, 0)));
}

static courier_value *
m_model(void *self, courier_request *req, courier_error **err)
{
	spin(spin_us + 1);
	return (courier_value_ref(courier_request_arg(req, 0)));
}

static courier_value *
b_echo(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	return (courier_value_ref(courier_list_get(args, 0)));
}

static courier_value *
b_model(void *self, const courier_value *args, const courier_value *kwargs,
    size_t n, courier_error **err)
{
	spin(spin_us + (double)n);
	return (courier_value_ref(courier_list_get(args, 0)));
}

/* Calls per second of method, DEPTH futures in flight. */
static double
rate(courier_client *c, const char *method, unsigned calls)
{
	courier_future	*f[DEPTH];
	courier_value	*v;
	courier_error	*err = NULL;
	unsigned	 sent = 0, done = 0, i;
	double		 t0;

	t0 = now_s();
	for (i = 0; i < DEPTH && sent < calls; i++)
		f[i] = courier_call_async(c, method,
		    courier_args(courier_int(sent++)));
	while (done < calls) {
		i = done % DEPTH;
		v = courier_future_wait(f[i], COURIER_FOREVER, &err);
		if (v == NULL) {
			fprintf(stderr, "batch-bench: %s: %s\n", method,
			    courier_error_message(err));
			exit(1);
		}
		courier_value_unref(v);
		courier_future_free(f[i]);
		done++;
		if (sent < calls)
			f[i] = courier_call_async(c, method,
			    courier_args(courier_int(sent++)));
	}
	return (calls / (now_s() - t0));
}

int
main(int argc, char **argv)
{
	courier_server	*s;
	courier_client	*c;
	char		 dir[] = "/tmp/batch-bench.XXXXXX", addr[128];
	char		*cause = NULL;
	unsigned	 calls = 20000;
	int		 ch;
	double		 plain, batched;

	while ((ch = getopt(argc, argv, "n:u:")) != -1) {
		switch (ch) {
		case 'n':
			calls = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'u':
			spin_us = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: batch-bench [-n CALLS] "
			    "[-u SPIN_US]\n");
			return (2);
		}
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	snprintf(addr, sizeof addr, "unix:%s/s", dir);
	s = courier_server_new();
	if (courier_server_add_method(s, "echo", m_echo, NULL, 0,
	    &cause) != 0 ||
	    courier_server_add_method(s, "model", m_model, NULL, 0,
	    &cause) != 0 ||
	    courier_server_add_batched_method(s, "echo_batched", b_echo, NULL,
	    MAX_BATCH, MAX_WAIT_MS, &cause) != 0 ||
	    courier_server_add_batched_method(s, "model_batched", b_model,
	    NULL, MAX_BATCH, MAX_WAIT_MS, &cause) != 0 ||
	    courier_server_listen(s, addr, &cause) != 0 ||
	    courier_server_start(s, &cause) != 0) {
		fprintf(stderr, "batch-bench: %s\n", cause);
		return (1);
	}
	if ((c = courier_client_new(addr, &cause)) == NULL) {
		fprintf(stderr, "batch-bench: %s\n", cause);
		return (1);
	}
	printf("batch-bench: %u calls, %d in flight, Unix socket; batches of "
	    "at most %d, %d ms wait\n", calls, DEPTH, MAX_BATCH, MAX_WAIT_MS);
	printf("%-38s %12s %12s %7s\n", "handler", "plain c/s", "batched c/s",
	    "ratio");
	(void)rate(c, "echo", calls / 10);		/* warm up */
	plain = rate(c, "echo", calls);
	batched = rate(c, "echo_batched", calls);
	printf("%-38s %12.0f %12.0f %7.2f\n", "echo (no work)", plain, batched,
	    batched / plain);
	plain = rate(c, "model", calls / 10);
	batched = rate(c, "model_batched", calls);
	printf("model (%4d us a run + 1 us a caller) %12.0f %12.0f %7.2f\n",
	    spin_us, plain, batched, batched / plain);
	courier_client_free(c);
	courier_server_free(s);
	snprintf(addr, sizeof addr, "%s/s", dir);
	unlink(addr);
	rmdir(dir);
	return (0);
}
