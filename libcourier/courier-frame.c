/*
 * courier-frame.c: the one frame codec, used by the server and the client
 * alike. A frame is a 4-byte big-endian length and one courier.Frame.
 *
 * Reading goes through a growable buffer owned by one thread at a time.
 * When a frame's header says how long it is, the buffer grows to hold all of
 * it, so a large frame is read straight into place by the kernel and then
 * unpacked without another copy of the whole.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"

/* Read at least this much at a time. */
#define BUF_READ_MIN	(64 * 1024)
/* Bytes left to send that move between buffers rather than copy. */
#define BUF_MOVE_MIN	(64 * 1024)
/* The most a buffer marked keep_big keeps while it is used. */
#define BUF_RETAIN_MAX	(16 * 1024 * 1024)
/* An idle buffer bigger than this is given back. */
#define BUF_KEEP_MAX	(256 * 1024)

/* Free a buffer's memory. */
void
courier_buf_free(struct courier_buf *b)
{
	bool	keep_big = b->keep_big;

	if (!b->borrowed)
		free(b->data);
	memset(b, 0, sizeof *b);
	b->keep_big = keep_big;
}

/*
 * Move unread bytes to the front, and give back a big idle buffer. A
 * buffer marked keep_big (a client's, a pool thread's; a server's
 * connection's while the server is well within its budget) that a
 * quarter of was used since the last time is kept, up to BUF_RETAIN_MAX:
 * calls of a megabyte in a row would fault in fresh pages for every frame
 * otherwise.
 */
void
courier_buf_compact(struct courier_buf *b)
{
	size_t	 used = b->len - b->off;

	if (used == 0 && b->cap > BUF_KEEP_MAX && !b->borrowed) {
		if (!b->keep_big || b->peak < b->cap / 4 ||
		    b->cap > BUF_RETAIN_MAX) {
			courier_buf_free(b);
			return;
		}
		b->peak = 0;
	}
	if (b->off == 0)
		return;
	if (used != 0)
		memmove(b->data, b->data + b->off, used);
	b->off = 0;
	b->len = used;
}

/* Room for n more bytes after len; returns where they go. */
void *
courier_buf_reserve(struct courier_buf *b, size_t n)
{
	uint8_t	*p;
	size_t	 want;

	if (b->len + n > b->peak)
		b->peak = b->len + n;
	if (b->cap - b->len >= n)
		return (b->data + b->len);
	if (b->off != 0) {
		courier_buf_compact(b);
		if (b->cap - b->len >= n)
			return (b->data + b->len);
	}
	if (__builtin_add_overflow(b->len, n, &want))
		fatalx("courier_buf_reserve: overflow");
	if (want < 2 * b->cap)
		want = 2 * b->cap;
	if (want < 4096)
		want = 4096;
	if (b->borrowed) {
		/* Leave the caller's array for the heap. */
		p = xmalloc(want);
		memcpy(p, b->data, b->len);
		b->data = p;
		b->borrowed = false;
	} else
		b->data = xrealloc(b->data, want);
	b->cap = want;
	return (b->data + b->len);
}

/*
 * Put from's unread bytes after to's, and empty from. A big frame that
 * the socket did not all take moves to an empty to without a copy: the
 * two swap their memory.
 */
void
courier_buf_move(struct courier_buf *to, struct courier_buf *from)
{
	struct courier_buf	 t;
	void			*p;
	size_t			 n = courier_buf_used(from);

	if (n == 0)
		return;
	if (courier_buf_used(to) == 0 && !from->borrowed &&
	    n >= BUF_MOVE_MIN && !to->borrowed) {
		t = *to;
		*to = *from;
		*from = t;
		/* The memory moves; what each owner keeps does not. */
		to->keep_big = from->keep_big;
		from->keep_big = t.keep_big;
		from->off = from->len = 0;
		return;
	}
	p = courier_buf_reserve(to, n);
	memcpy(p, from->data + from->off, n);
	to->len += n;
	from->off = from->len = 0;
}

/* Read what fd has, with room for at least want bytes; read(2)'s result. */
ssize_t
courier_buf_read(struct courier_buf *b, int fd, size_t want)
{
	ssize_t	 n;

	if (want < BUF_READ_MIN)
		want = BUF_READ_MIN;
	courier_buf_reserve(b, want);
	n = read(fd, b->data + b->len, b->cap - b->len);
	if (n > 0)
		b->len += (size_t)n;
	return (n);
}

/* Send what b holds without SIGPIPE; send(2)'s result. */
ssize_t
courier_buf_write(struct courier_buf *b, int fd)
{
	ssize_t	 n;

	if (b->len == b->off)
		return (0);	/* data may be NULL: no pointer to make */
	n = send(fd, b->data + b->off, b->len - b->off,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		b->off += (size_t)n;
		if (b->off == b->len)
			b->off = b->len = 0;
	}
	return (n);
}

/* Append frame f, packed, to b. */
void
courier_frame_pack(struct courier_buf *b, const Courier__Frame *f)
{
	uint8_t	*p;
	size_t	 size;

	size = courier__frame__get_packed_size(f);
	if (size > UINT32_MAX)
		fatalx("courier_frame_pack: frame of %zu bytes", size);
	p = courier_buf_reserve(b, FRAME_HEADER + size);
	p[0] = (uint8_t)(size >> 24);
	p[1] = (uint8_t)(size >> 16);
	p[2] = (uint8_t)(size >> 8);
	p[3] = (uint8_t)size;
	courier__frame__pack(f, p + FRAME_HEADER);
	b->len += FRAME_HEADER + size;
}

/*
 * The next whole frame in b: 1 with *p and *size, 0 (*need set) if it is
 * not all there, or FRAME_TOO_BIG with *cause.
 */
static int
frame_peek(struct courier_buf *b, size_t max_frame, const uint8_t **pp,
    size_t *sizep, size_t *need, char **cause)
{
	const uint8_t	*p;
	size_t		 used = b->len - b->off, size;

	if (used < FRAME_HEADER) {
		*need = FRAME_HEADER;
		return (0);
	}
	p = b->data + b->off;	/* not before: data is NULL when empty */
	size = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
	if (size > max_frame) {
		set_cause(cause, "frame of %zu bytes is over the limit of %zu "
		    "bytes", size, max_frame);
		return (FRAME_TOO_BIG);
	}
	if (used < FRAME_HEADER + size) {
		*need = FRAME_HEADER + size;
		return (0);
	}
	*pp = p + FRAME_HEADER;
	*sizep = size;
	return (1);
}

/* Unpack a frame's bytes with protobuf-c, after the guard. */
static int
frame_unpack(const uint8_t *p, size_t size, struct courier_arena *a,
    Courier__Frame **out, char **cause)
{
	char	*why = NULL;

	if (courier_pb_check(&courier__frame__descriptor, p, size,
	    COURIER_MAX_PB_DEPTH, &why) != 0) {
		set_cause(cause, "malformed frame: %s", why);
		free(why);
		return (FRAME_MALFORMED);
	}
	*out = courier__frame__unpack(&a->pb, size, p);
	if (*out == NULL) {
		set_cause(cause, "malformed frame of %zu bytes", size);
		return (FRAME_MALFORMED);
	}
	return (1);
}

/* Past the frame of size bytes at the head of b. */
static void
frame_consume(struct courier_buf *b, size_t size)
{
	b->off += FRAME_HEADER + size;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* Take the next whole frame out of b; see courier-internal.h. */
int
courier_frame_next(struct courier_buf *b, size_t max_frame,
    struct courier_arena *a, Courier__Frame **out, size_t *need, char **cause)
{
	const uint8_t	*p;
	size_t		 size;
	int		 r;

	if ((r = frame_peek(b, max_frame, &p, &size, need, cause)) != 1)
		return (r);
	if ((r = frame_unpack(p, size, a, out, cause)) != 1)
		return (r);
	frame_consume(b, size);
	return (1);
}

/*
 * The same for the call path: a call or a result straight into values
 * where courier-wire.c takes it, else protobuf-c's message.
 */
int
courier_frame_take(struct courier_buf *b, size_t max_frame,
    struct courier_arena *a, struct courier_frame *out, size_t *need,
    char **cause)
{
	const uint8_t	*p;
	size_t		 size;
	int		 r;

	if ((r = frame_peek(b, max_frame, &p, &size, need, cause)) != 1)
		return (r);
	if (!courier_wire_decode(p, size, out, a)) {
		memset(out, 0, sizeof *out);
		if ((r = frame_unpack(p, size, a, &out->pb, cause)) != 1)
			return (r);
		out->kind = COURIER_FRAME_PB;
		out->id = out->pb->call_id;
	}
	frame_consume(b, size);
	return (1);
}
