/*
 * fuzz-common.c: the invariants shared by the fuzz targets. A value that a
 * decoder accepted must come back equal through every codec that can
 * carry it; a difference is a finding, reported by abort() like a crash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Say what broke, then abort so that libFuzzer saves the input. */
void
fuzz_fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* v through courier_value_encode and courier_value_decode. */
static void
pb_roundtrip(const courier_value *v)
{
	courier_value	*w;
	uint8_t		*buf;
	size_t		 len;
	char		*cause = NULL;

	if (courier_value_encode(v, &buf, &len, &cause) != 0)
		fuzz_fail("a decoded value does not encode: %s", cause);
	if ((w = courier_value_decode(buf, len, &cause)) == NULL)
		fuzz_fail("an encoded value does not decode: %s", cause);
	if (!courier_value_equal(v, w))
		fuzz_fail("a value differs after encode and decode");
	courier_value_unref(w);
	free(buf);
}

/* v through courier_value_to_json and back, compact or indented. */
static void
json_roundtrip(const courier_value *v, bool pretty)
{
	courier_value	*w;
	char		*text, *again, *cause = NULL;

	/* NaN, infinities and the keys "$bytes" and "$tensor" have none. */
	if ((text = courier_value_to_json(v, pretty, &cause)) == NULL) {
		free(cause);
		return;
	}
	if ((w = courier_value_from_json(text, &cause)) == NULL)
		fuzz_fail("JSON made from a value does not parse: %s: %s",
		    cause, text);
	if (!courier_value_equal(v, w))
		fuzz_fail("a value differs after JSON and back: %s", text);
	if ((again = courier_value_to_json(w, pretty, &cause)) == NULL)
		fuzz_fail("a value read from JSON has no JSON form: %s", cause);
	if (strcmp(text, again) != 0)
		fuzz_fail("JSON differs the second time: %s then %s", text,
		    again);
	free(again);
	courier_value_unref(w);
	free(text);
}

/* Check that v comes back equal through both codecs. */
void
fuzz_value_roundtrip(const courier_value *v)
{
	pb_roundtrip(v);
	json_roundtrip(v, false);
	json_roundtrip(v, true);
}
