/*
 * echo-server.c: a courier server with two methods, as a node would be.
 *
 * usage: echo-server ADDRESS [--workers N]
 *
 * "echo" returns its first argument (or null); "add" adds two ints. The
 * server prints "serving on ADDRESS" once it accepts calls, and serves until
 * SIGINT or SIGTERM, when it stops gracefully.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <courier/courier.h>

/* echo: the first argument back, or null if there is none. */
static courier_value *
echo_method(void *self, courier_request *req, courier_error **err)
{
	return (courier_value_ref(courier_request_arg(req, 0)));
}

/* add: the sum of two ints. */
static courier_value *
add_method(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*a, *b;
	int64_t			 sum;
	size_t			 n;

	n = courier_list_len(courier_request_args(req));
	if (n != 2) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "add takes 2 ints, got %zu arguments", n);
		return (NULL);
	}
	a = courier_request_arg(req, 0);
	b = courier_request_arg(req, 1);
	if (courier_value_type(a) != COURIER_INT ||
	    courier_value_type(b) != COURIER_INT) {
		courier_error_set(err, COURIER_INVALID_ARGUMENT,
		    "add takes 2 ints, got %s and %s",
		    courier_type_name(courier_value_type(a)),
		    courier_type_name(courier_value_type(b)));
		return (NULL);
	}
	if (__builtin_add_overflow(courier_value_int(a), courier_value_int(b),
	    &sum)) {
		courier_error_set(err, COURIER_OUT_OF_RANGE,
		    "add: %" PRId64 " + %" PRId64 " overflows int64",
		    courier_value_int(a), courier_value_int(b));
		return (NULL);
	}
	return (courier_int(sum));
}

/* Print usage and exit 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: echo-server ADDRESS [--workers N]\n");
	exit(2);
}

/* Serve echo and add on ADDRESS until SIGINT or SIGTERM. */
int
main(int argc, char **argv)
{
	courier_server	*s;
	sigset_t	 set;
	const char	*address = NULL;
	char		*cause = NULL, *end;
	unsigned long	 workers = 0;
	bool		 set_workers = false;
	int		 i, sig;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--workers") == 0) {
			if (++i == argc)
				usage();
			errno = 0;
			workers = strtoul(argv[i], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[i] ||
			    argv[i][0] == '-' || workers > 1024) {
				fprintf(stderr, "echo-server: bad --workers: "
				    "%s\n", argv[i]);
				usage();
			}
			set_workers = true;
		} else if (argv[i][0] == '-' || address != NULL)
			usage();
		else
			address = argv[i];
	}
	if (address == NULL)
		usage();
	if (!courier_address_valid(address, &cause)) {
		fprintf(stderr, "echo-server: %s\n", cause);
		free(cause);
		usage();
	}

	/*
	 * Blocked before the server starts its threads, so that they inherit
	 * the mask and sigwait() below is the only taker.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		perror("echo-server: sigprocmask");
		return (1);
	}

	if ((s = courier_server_new()) == NULL) {
		fprintf(stderr, "echo-server: courier_server_new failed\n");
		return (1);
	}
	if (set_workers && courier_server_set_workers(s, workers) == -1) {
		fprintf(stderr, "echo-server: cannot set %lu workers\n",
		    workers);
		goto fail;
	}
	if (courier_server_add_method(s, "echo", echo_method, NULL, 0,
	    &cause) == -1 ||
	    courier_server_add_method(s, "add", add_method, NULL,
	    COURIER_METHOD_INLINE, &cause) == -1 ||
	    courier_server_listen(s, address, &cause) == -1 ||
	    courier_server_start(s, &cause) == -1) {
		fprintf(stderr, "echo-server: %s\n", cause);
		free(cause);
		goto fail;
	}
	printf("serving on %s\n", courier_server_address(s));
	fflush(stdout);

	for (;;) {
		if (sigwait(&set, &sig) == 0 &&
		    (sig == SIGINT || sig == SIGTERM))
			break;
	}
	courier_server_stop(s, 5000);
	courier_server_free(s);
	return (0);

fail:
	courier_server_free(s);
	return (1);
}
