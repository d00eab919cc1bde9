/*
 * fuzz-value-json.c: libFuzzer target for JSON text to a courier value,
 * the parser lpctl call uses for each argument, and back: a value that
 * parses must print, parse again to an equal value and print the same
 * way, and must survive the protobuf codec too (fuzz-common.c).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Parse the input as JSON text; check what comes of it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	courier_value	*v;
	char		*text, *cause = NULL;

	/* The parser takes a C string: a NUL ends the text early. */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if ((v = courier_value_from_json(text, &cause)) == NULL) {
		if (cause == NULL)
			fuzz_fail("from_json failed without a cause");
		free(cause);
	} else {
		fuzz_value_roundtrip(v);
		courier_value_unref(v);
	}
	free(text);
	return (0);
}
