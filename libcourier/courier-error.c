/*
 * courier-error.c: status codes and the errors that carry them.
 */
#include <stdlib.h>
#include <string.h>

#include "courier-internal.h"

struct courier_error {
	enum courier_code	 code;
	char			*message;
};

static const char *const code_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
	"DATA_LOSS", "UNAUTHENTICATED",
};

/* The name of a status code. */
const char *
courier_code_name(enum courier_code code)
{
	if ((unsigned)code >= nitems(code_names))
		return ("UNKNOWN");
	return (code_names[code]);
}

/* An error from a code and a va_list message. */
courier_error *
courier_error_newv(enum courier_code code, const char *fmt, va_list ap)
{
	courier_error	*e;

	e = xmalloc(sizeof *e);
	e->code = code;
	xvasprintf(&e->message, fmt, ap);
	return (e);
}

/* An error from a code and a printf-style message. */
courier_error *
courier_error_new(enum courier_code code, const char *fmt, ...)
{
	courier_error	*e;
	va_list		 ap;

	va_start(ap, fmt);
	e = courier_error_newv(code, fmt, ap);
	va_end(ap);
	return (e);
}

/* Set *err unless the caller passed no place or it is already set. */
void
courier_error_set(courier_error **err, enum courier_code code,
    const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || *err != NULL)
		return;
	va_start(ap, fmt);
	*err = courier_error_newv(code, fmt, ap);
	va_end(ap);
}

/* A copy of an error. */
courier_error *
courier_error_copy(const courier_error *e)
{
	return (courier_error_new(e->code, "%s", e->message));
}

/* Free an error. */
void
courier_error_free(courier_error *e)
{
	if (e == NULL)
		return;
	free(e->message);
	free(e);
}

/* The code of an error. */
enum courier_code
courier_error_code(const courier_error *e)
{
	return (e->code);
}

/* The message of an error. */
const char *
courier_error_message(const courier_error *e)
{
	return (e->message);
}
