/*
 * courier-frame.c: the one frame codec, used by the server and the client
 * alike. A frame is a 4-byte big-endian length and one courier.Frame.
 *
 * Reading goes through a growable buffer owned by one thread at a time.
 * When a frame's header says how long it is, the buffer grows to hold all of
 * it, so a large frame is read straight into place by the kernel and then
 * unpacked without another copy of the whole; its big payloads may borrow
 * that memory (courier_frame_take). Writing gathers a buffer's bytes and
 * its segments, big payloads sent from the values that hold them.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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
/* Pieces gathered by one sendmsg. */
#define BUF_IOV_MAX	64

/* Drop the segments not yet sent. */
static void
buf_drop_segs(struct courier_buf *b)
{
	size_t	i;

	for (i = b->seg0; i < b->nsegs; i++)
		courier_value_unref(b->segs[i].owner);
	b->nsegs = b->seg0 = b->seg_off = b->seg_bytes = 0;
}

/*
 * Lent blocks come back to the buffer that lent them (courier_blocks), up
 * to BLOCKS_KEEP of them and BUF_RETAIN_MAX bytes: a stream of big frames
 * then reads each into memory already faulted in, where the heap would
 * hand out fresh pages (or trim, then fault again) for every frame. Eight
 * is what a client keeping eight 1 MiB calls in flight needs: with two,
 * the server still faulted ~9 times per call, against ~1 for a loop that
 * reuses one buffer.
 */
#define BLOCKS_KEEP	8

struct courier_blocks {
	pthread_mutex_t	 mtx;
	atomic_size_t	 refs;
	/*
	 * Lent blocks that come back stay. Written under mtx, by the thread
	 * that owns the buffer only, which thus reads it without the lock.
	 */
	atomic_bool	 keep;
	size_t		 n;
	size_t		 bytes;		/* kept */
	struct {
		void	*mem;
		size_t	 cap;
	}		 kept[BLOCKS_KEEP];
};

static struct courier_blocks *
blocks_new(void)
{
	struct courier_blocks	*h;

	h = xcalloc(1, sizeof *h);
	pthread_mutex_init(&h->mtx, NULL);
	atomic_init(&h->refs, 1);
	atomic_init(&h->keep, false);
	return (h);
}

/* See courier-internal.h. */
struct courier_blocks *
courier_blocks_ref(struct courier_blocks *h)
{
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	return (h);
}

static void
blocks_unref(struct courier_blocks *h)
{
	size_t	i;

	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < h->n; i++)
		free(h->kept[i].mem);
	pthread_mutex_destroy(&h->mtx);
	free(h);
}

/* Whether blocks that come back stay; the buffer's thread only. */
static bool
blocks_keeping(struct courier_blocks *h)
{
	return (atomic_load_explicit(&h->keep, memory_order_relaxed));
}

/* Keep the blocks that come back from now on. */
static void
blocks_keep(struct courier_blocks *h)
{
	if (blocks_keeping(h))
		return;
	pthread_mutex_lock(&h->mtx);
	atomic_store_explicit(&h->keep, true, memory_order_relaxed);
	pthread_mutex_unlock(&h->mtx);
}

/* Free the kept blocks, and those that come back from now on. */
static void
blocks_drain(struct courier_blocks *h)
{
	void	*mem[BLOCKS_KEEP];
	size_t	 n, i;

	if (!blocks_keeping(h))
		return;		/* nothing kept, nor will be */
	pthread_mutex_lock(&h->mtx);
	n = h->n;
	for (i = 0; i < n; i++)
		mem[i] = h->kept[i].mem;
	h->n = h->bytes = 0;
	atomic_store_explicit(&h->keep, false, memory_order_relaxed);
	pthread_mutex_unlock(&h->mtx);
	for (i = 0; i < n; i++)
		free(mem[i]);
}

/* See courier-internal.h. */
void
courier_blocks_put(struct courier_blocks *h, void *mem, size_t cap)
{
	if (mem != NULL) {
		pthread_mutex_lock(&h->mtx);
		if (atomic_load_explicit(&h->keep, memory_order_relaxed) &&
		    h->n < BLOCKS_KEEP &&
		    cap <= BUF_RETAIN_MAX - h->bytes) {
			h->kept[h->n].mem = mem;
			h->kept[h->n++].cap = cap;
			h->bytes += cap;
			mem = NULL;
		}
		pthread_mutex_unlock(&h->mtx);
	}
	free(mem);
	blocks_unref(h);
}

/*
 * A kept block for want bytes, or NULL: at least want, and at most twice
 * that, so that the frame read into it may lend it in turn.
 */
static void *
blocks_get(struct courier_blocks *h, size_t want, size_t *cap)
{
	void	*mem = NULL;
	size_t	 i;

	pthread_mutex_lock(&h->mtx);
	for (i = 0; i < h->n; i++) {
		if (h->kept[i].cap < want || h->kept[i].cap / 2 > want)
			continue;
		mem = h->kept[i].mem;
		*cap = h->kept[i].cap;
		h->bytes -= *cap;
		h->kept[i] = h->kept[--h->n];
		break;
	}
	pthread_mutex_unlock(&h->mtx);
	return (mem);
}

/* Free a buffer's memory, keeping its marks and its blocks. */
static void
buf_release(struct courier_buf *b)
{
	struct courier_blocks	*home = b->home;
	bool			 keep_big = b->keep_big, lent = b->lent;

	if (b->segs != NULL) {
		buf_drop_segs(b);
		free(b->segs);
	}
	if (!b->borrowed)
		free(b->data);
	memset(b, 0, sizeof *b);
	b->keep_big = keep_big;
	b->home = home;
	b->lent = lent;
}

/* Free a buffer's memory and let its lent blocks go when they come back. */
void
courier_buf_free(struct courier_buf *b)
{
	struct courier_blocks	*home = b->home;

	buf_release(b);
	b->home = NULL;
	b->lent = false;
	if (home != NULL) {
		blocks_drain(home);
		blocks_unref(home);
	}
}

/* See courier-internal.h. */
void
courier_buf_clear(struct courier_buf *b)
{
	if (b->nsegs != 0)
		buf_drop_segs(b);
	b->off = b->len = 0;
}

/* Add a segment; it takes the reference owner is. */
static void
buf_add_seg(struct courier_buf *b, size_t at, const uint8_t *p, size_t len,
    courier_value *owner)
{
	struct courier_seg	*sg;

	if (b->nsegs == b->segcap) {
		b->segcap = b->segcap == 0 ? 4 : 2 * b->segcap;
		b->segs = xreallocarray(b->segs, b->segcap, sizeof *b->segs);
	}
	sg = &b->segs[b->nsegs++];
	sg->at = at;
	sg->p = p;
	sg->len = len;
	sg->owner = owner;
	b->seg_bytes += len;
}

/* See courier-internal.h. */
void
courier_buf_splice(struct courier_buf *b, size_t at, const void *p,
    size_t len, const courier_value *owner)
{
	buf_add_seg(b, at, p, len, courier_value_ref(owner));
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
	size_t	 used = b->len - b->off, i;

	if (b->seg0 == b->nsegs)
		b->seg0 = b->nsegs = 0;
	if (used == 0 && b->nsegs == 0 && b->cap > BUF_KEEP_MAX &&
	    !b->borrowed) {
		if (!b->keep_big || b->peak < b->cap / 4 ||
		    b->cap > BUF_RETAIN_MAX) {
			buf_release(b);
			return;
		}
		b->peak = 0;
	}
	/*
	 * Kept blocks go when a round (from one compact of an empty buffer
	 * to the next) lent no frame, and when keep_big is off. The lock is
	 * taken only when that changes, not every round.
	 */
	if (b->home != NULL && used == 0 && b->nsegs == 0) {
		if (!b->keep_big || !b->lent)
			blocks_drain(b->home);
		b->lent = false;
	}
	if (b->off == 0)
		return;
	if (used != 0)
		memmove(b->data, b->data + b->off, used);
	for (i = b->seg0; i < b->nsegs; i++)
		b->segs[i].at -= b->off;
	b->off = 0;
	b->len = used;
}

/*
 * Room for n more bytes after len; returns where they go. The buffer at
 * least doubles when it grows, unless exact.
 */
static void *
buf_reserve(struct courier_buf *b, size_t n, bool exact)
{
	uint8_t	*p;
	size_t	 want, kept;

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
	if (want < 2 * b->cap && !exact)
		want = 2 * b->cap;
	if (want < 4096)
		want = 4096;
	if (exact && b->home != NULL && (p = blocks_get(b->home, want,
	    &kept)) != NULL) {
		if (b->len != 0)
			memcpy(p, b->data, b->len);
		if (!b->borrowed)
			free(b->data);
		b->data = p;
		b->borrowed = false;
		want = kept;
	} else if (b->borrowed) {
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

/* Room for n more bytes after len; returns where they go. */
void *
courier_buf_reserve(struct courier_buf *b, size_t n)
{
	if (b->cap - b->len >= n) {	/* the usual case, inline */
		if (b->len + n > b->peak)
			b->peak = b->len + n;
		return (b->data + b->len);
	}
	return (buf_reserve(b, n, false));
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
	struct courier_seg	*sg;
	uint8_t			*p;
	size_t			 n = from->len - from->off, end, skip, i;

	if (courier_buf_used(from) == 0)
		return;
	if (courier_buf_used(to) == 0 && !from->borrowed &&
	    n >= BUF_MOVE_MIN && !to->borrowed) {
		courier_buf_clear(to);
		t = *to;
		*to = *from;
		*from = t;
		/* The memory moves; what each owner keeps does not. */
		to->keep_big = from->keep_big;
		from->keep_big = t.keep_big;
		to->home = from->home;
		from->home = t.home;
		to->lent = from->lent;
		from->lent = t.lent;
		return;
	}
	p = courier_buf_reserve(to, n);
	if (n != 0)
		memcpy(p, from->data + from->off, n);
	end = to->len;
	to->len += n;
	/* The segments go along, their references with them. */
	skip = from->seg_off;
	for (i = from->seg0; i < from->nsegs; i++) {
		sg = &from->segs[i];
		buf_add_seg(to, end + (sg->at - from->off), sg->p + skip,
		    sg->len - skip, sg->owner);
		skip = 0;
	}
	from->nsegs = from->seg0 = from->seg_off = from->seg_bytes = 0;
	from->off = from->len = 0;
}

/* Read what fd has, with room for at least want bytes; recv(2)'s result. */
static ssize_t
buf_recv(struct courier_buf *b, int fd, size_t want, int flags)
{
	ssize_t	 n;

	/*
	 * The rest of a big frame gets exactly the room it needs: a buffer
	 * the size of its frame may lend it whole (courier_frame_take).
	 */
	if (want != 0 && b->len - b->off + want >= FRAME_LEND_MIN)
		buf_reserve(b, want, true);
	else
		buf_reserve(b, want < BUF_READ_MIN ? BUF_READ_MIN : want,
		    false);
	n = recv(fd, b->data + b->len, b->cap - b->len, flags);
	if (n > 0)
		b->len += (size_t)n;
	return (n);
}

/* See courier-internal.h. */
ssize_t
courier_buf_read(struct courier_buf *b, int fd, size_t want)
{
	return (buf_recv(b, fd, want, 0));
}

/* See courier-internal.h. */
ssize_t
courier_buf_read_now(struct courier_buf *b, int fd, size_t want)
{
	return (buf_recv(b, fd, want, MSG_DONTWAIT));
}

/* Count n bytes sent from b's data and segments, in their order. */
static void
buf_sent(struct courier_buf *b, size_t n)
{
	struct courier_seg	*sg;
	size_t			 k;

	while (n > 0) {
		sg = b->seg0 < b->nsegs ? &b->segs[b->seg0] : NULL;
		if (sg == NULL || sg->at > b->off) {
			k = (sg != NULL ? sg->at : b->len) - b->off;
			if (k > n)
				k = n;
			b->off += k;
			n -= k;
			continue;
		}
		k = sg->len - b->seg_off;
		if (k > n)
			k = n;
		b->seg_off += k;
		b->seg_bytes -= k;
		n -= k;
		if (b->seg_off == sg->len) {
			courier_value_unref(sg->owner);
			b->seg0++;
			b->seg_off = 0;
		}
	}
	if (b->off == b->len && b->seg0 == b->nsegs) {
		b->off = b->len = 0;
		b->seg0 = b->nsegs = 0;
	}
}

/* Send what b holds without SIGPIPE; sendmsg(2)'s result. */
ssize_t
courier_buf_write(struct courier_buf *b, int fd)
{
	struct iovec	 iov[BUF_IOV_MAX];
	struct msghdr	 msg;
	size_t		 pos = b->off, i = b->seg0, skip = b->seg_off, next;
	int		 n = 0;
	ssize_t		 w;

	if (b->seg0 == b->nsegs) {		/* no segments: one piece */
		if (b->len == b->off)
			return (0);	/* data may be NULL: no pointer to make */
		w = send(fd, b->data + b->off, b->len - b->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0 && (b->off += (size_t)w) == b->len)
			b->off = b->len = b->seg0 = b->nsegs = 0;
		return (w);
	}
	while (n < BUF_IOV_MAX) {
		if (i < b->nsegs && b->segs[i].at == pos) {
			iov[n].iov_base = (void *)(b->segs[i].p + skip);
			iov[n++].iov_len = b->segs[i].len - skip;
			skip = 0;
			i++;
			continue;
		}
		if (pos == b->len)
			break;
		next = i < b->nsegs ? b->segs[i].at : b->len;
		iov[n].iov_base = b->data + pos;
		iov[n++].iov_len = next - pos;
		pos = next;
	}
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)n;
	w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w > 0)
		buf_sent(b, (size_t)w);
	return (w);
}

/*
 * Send what b holds until all is sent (0), the socket takes no more (1),
 * or it fails (-1, errno set). After a short write it tries again rather
 * than wait for poll to say so: the reader may have drained the socket
 * meanwhile (stopping at a short write measured no faster).
 */
int
courier_buf_flush(struct courier_buf *b, int fd)
{
	ssize_t	 n;

	while (courier_buf_used(b) != 0) {
		n = courier_buf_write(b, fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (1);
		if (n == 0)
			errno = EPIPE;	/* a stream socket takes something */
		if (n <= 0)
			return (-1);
	}
	return (0);
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
 * After a frame was taken with lend (owner made): give b's memory to the
 * values that borrow it, b keeping a copy of the bytes after the frame (a
 * read sized to the frame brings none or few). A frame the call path did
 * not take has no borrower left, and b keeps its memory.
 */
static void
buf_lend(struct courier_buf *b, struct courier_lend *lend, bool taken)
{
	size_t	 used = b->len - b->off;
	uint8_t	*p = NULL;

	if (!taken) {
		courier_owner_forget(lend->owner);
		return;
	}
	if (used != 0) {
		p = xmalloc(used);
		memcpy(p, b->data + b->off, used);
	}
	b->data = p;
	b->cap = b->len = used;
	b->off = b->peak = 0;
	b->lent = true;
	if (lend->home != NULL)
		blocks_keep(lend->home);
	courier_value_unref(lend->owner);
}

/*
 * The same for the call path: a call or a result straight into values
 * where courier-wire.c takes it, else protobuf-c's message.
 *
 * A big frame that fills most of its buffer lends the buffer to its big
 * bytes and tensors, which then keep no copy of their own: the kernel's
 * read is the one copy of such a payload on this side. Only a payload of
 * a quarter of the buffer or more borrows: a smaller one copies, so that
 * no value keeps a block many times its size alive.
 */
int
courier_frame_take(struct courier_buf *b, size_t max_frame,
    struct courier_arena *a, struct courier_frame *out, size_t *need,
    char **cause)
{
	struct courier_lend	 lend;
	const uint8_t		*p;
	size_t			 size;
	bool			 taken;
	int			 r;

	if ((r = frame_peek(b, max_frame, &p, &size, need, cause)) != 1)
		return (r);
	memset(&lend, 0, sizeof lend);
	if (size >= FRAME_LEND_MIN && !b->borrowed &&
	    b->cap / 2 <= FRAME_HEADER + size) {
		lend.base = b->data;
		lend.cap = b->cap;
		lend.min = COURIER_BORROW_MIN;
		if (b->keep_big && b->home == NULL)
			b->home = blocks_new();
		if (b->keep_big)
			lend.home = b->home;
	}
	r = 1;
	if (!(taken = courier_wire_decode(p, size, out, a,
	    lend.base != NULL ? &lend : NULL))) {
		memset(out, 0, sizeof *out);
		if ((r = frame_unpack(p, size, a, &out->pb, cause)) == 1) {
			out->kind = COURIER_FRAME_PB;
			out->id = out->pb->call_id;
		}
	}
	if (r == 1)
		frame_consume(b, size);
	if (lend.owner != NULL)
		buf_lend(b, &lend, taken);
	return (r);
}
