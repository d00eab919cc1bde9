/*
 * sbuf.c: a growing string, for messages, configs and DOT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"

/* Make room for n more bytes and a NUL. */
static void
lpd_sbuf_grow(struct sbuf *b, size_t n)
{
	size_t	 want;

	if (n > SIZE_MAX - b->len - 1)
		fatalx("%s: string too long", __func__);
	want = b->len + n + 1;
	if (want <= b->cap)
		return;
	if (b->cap < 64)
		b->cap = 64;
	while (b->cap < want)
		b->cap = b->cap > SIZE_MAX / 2 ? want : b->cap * 2;
	b->s = xrealloc(b->s, b->cap);
}

/* Append n bytes. */
void
lpd_sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	lpd_sbuf_grow(b, n);
	if (n != 0)
		memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Append a C string. */
void
lpd_sbuf_puts(struct sbuf *b, const char *s)
{
	lpd_sbuf_add(b, s, strlen(s));
}

/* Append formatted text. */
void
lpd_sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	lpd_sbuf_puts(b, s);
	free(s);
}

/* Cut back to len bytes. */
void
lpd_sbuf_truncate(struct sbuf *b, size_t len)
{
	b->len = len;
	if (b->s != NULL)
		b->s[len] = '\0';
}

/* Hand the string over (never NULL) and empty the buffer. */
char *
lpd_sbuf_take(struct sbuf *b)
{
	char	*s;

	s = b->s != NULL ? b->s : xstrdup("");
	memset(b, 0, sizeof *b);
	return (s);
}

/* Append len bytes of s as a JSON string. */
void
lpd_sbuf_json_string(struct sbuf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*e;
	char			 u[7];
	unsigned char		 c;
	size_t			 i, start = 0;

	lpd_sbuf_add(b, "\"", 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		lpd_sbuf_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 0xf];
			u[6] = '\0';
			e = u;
			break;
		}
		lpd_sbuf_puts(b, e);
	}
	lpd_sbuf_add(b, s + start, len - start);
	lpd_sbuf_add(b, "\"", 1);
}
