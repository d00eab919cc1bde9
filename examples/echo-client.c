/*
 * echo-client.c: call echo-server's methods and print the results as JSON.
 *
 * usage: echo-client ADDRESS [MESSAGE...]
 *
 * Calls "echo" with each MESSAGE as a string, then "add" with 2 and 40, then
 * lists the server's methods. Exits 0 on success, 1 when a call fails
 * (printing the error's code and message) and 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>

#include <courier/courier.h>

#define TIMEOUT_MS 5000

/* Print label and v as JSON; release v. Return 0, or -1 if v cannot be. */
static int
print_json(const char *label, courier_value *v)
{
	char	*json, *cause = NULL;

	json = courier_value_to_json(v, false, &cause);
	courier_value_unref(v);
	if (json == NULL) {
		fprintf(stderr, "echo-client: %s: %s\n", label, cause);
		free(cause);
		return (-1);
	}
	printf("%s: %s\n", label, json);
	free(json);
	return (0);
}

/* Report a failed call and free its error. */
static void
call_failed(const char *method, courier_error *err)
{
	fprintf(stderr, "echo-client: %s: %s: %s\n", method,
	    courier_code_name(courier_error_code(err)),
	    courier_error_message(err));
	courier_error_free(err);
}

/* Print usage and exit 2. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: echo-client ADDRESS [MESSAGE...]\n");
	exit(2);
}

/* Call echo for each message, then add, then list the methods. */
int
main(int argc, char **argv)
{
	courier_client	*c;
	courier_value	*msg, *v;
	courier_error	*err = NULL;
	char		*cause = NULL;
	int		 i;

	if (argc < 2 || argv[1][0] == '-')
		usage();
	/* Check every message before the first call. */
	for (i = 2; i < argc; i++) {
		if ((msg = courier_string(argv[i])) == NULL) {
			fprintf(stderr, "echo-client: message %d is not "
			    "UTF-8\n", i - 1);
			usage();
		}
		courier_value_unref(msg);
	}
	if ((c = courier_client_new(argv[1], &cause)) == NULL) {
		fprintf(stderr, "echo-client: %s\n", cause);
		free(cause);
		usage();
	}
	courier_client_set_timeout(c, TIMEOUT_MS);

	for (i = 2; i < argc; i++) {
		v = courier_call(c, "echo",
		    courier_args(courier_string(argv[i])), &err);
		if (v == NULL) {
			call_failed("echo", err);
			goto fail;
		}
		if (print_json("echo", v) == -1)
			goto fail;
	}

	v = courier_call(c, "add", courier_args(courier_int(2),
	    courier_int(40)), &err);
	if (v == NULL) {
		call_failed("add", err);
		goto fail;
	}
	if (print_json("add", v) == -1)
		goto fail;

	if ((v = courier_list_methods(c, TIMEOUT_MS, &err)) == NULL) {
		call_failed("list_methods", err);
		goto fail;
	}
	if (print_json("methods", v) == -1)
		goto fail;

	courier_client_free(c);
	return (0);

fail:
	courier_client_free(c);
	return (1);
}
