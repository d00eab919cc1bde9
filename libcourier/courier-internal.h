/*
 * courier-internal.h: what libcourier's files share. The supervisor core
 * also binds sockets with courier_addr_*, so that one parser reads every
 * address; besides it, only the tests and the fuzz targets, which test
 * these internals, include this.
 * Prototypes are grouped by the file that defines them, as in tmux.h.
 */
#ifndef COURIER_INTERNAL_H
#define COURIER_INTERNAL_H

#include <sys/types.h>
#include <sys/uio.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "courier/courier.h"
#include "courier.pb-c.h"

#include "common.h"

#define COURIER_NORETURN COMMON_NORETURN
#if defined(__GNUC__)
#define COURIER_UNUSED __attribute__((unused))
#else
#define COURIER_UNUSED
#endif

/* courier-time.c: deadlines on the monotonic clock (common.h's mono_ns). */
#define DEADLINE_NONE	INT64_MAX
/* now + timeout_ms, or DEADLINE_NONE for COURIER_FOREVER. */
int64_t	 courier_deadline(int timeout_ms);
/* Milliseconds from now until deadline for poll(): -1 for none, >= 0. */
int	 courier_poll_timeout(int64_t deadline);
/* Fill a timespec for pthread_cond_timedwait (CLOCK_MONOTONIC). */
void	 courier_abstime(int64_t deadline, struct timespec *);
/* A condition variable that waits on CLOCK_MONOTONIC. */
void	 courier_cond_init(pthread_cond_t *);
/* Wait until signalled or deadline (DEADLINE_NONE: no limit). */
void	 courier_cond_wait(pthread_cond_t *, pthread_mutex_t *, int64_t);

/* courier-error.c */
courier_error	*courier_error_newv(enum courier_code, const char *, va_list)
		    COURIER_PRINTF(2, 0);
courier_error	*courier_error_copy(const courier_error *);

/* courier-value.c */
bool	 courier_utf8_valid(const char *, size_t);
/* A string of len bytes taken from buf (malloc'd, NUL at buf[len]). */
courier_value *courier_string_take(char *, size_t);
/*
 * Values that borrow their data from a block of memory instead of holding
 * a copy: the block is an owner, a bytes value of no length that frees mem
 * with its last reference (or, with a home, gives the cap bytes at mem
 * back to it), and each value that borrows holds one. The frame reader
 * lends a big frame's buffer this way (courier-frame.c).
 */
struct courier_blocks;
courier_value *courier_owner_new(void *mem, size_t cap,
	    struct courier_blocks *home);
/* Drop the last reference to an owner, leaving its memory to the caller. */
void	 courier_owner_forget(courier_value *owner);
courier_value *courier_bytes_borrow(courier_value *owner, const void *,
	    size_t);
/* As courier_tensor_new, borrowing data from owner (NULL: a copy). */
courier_value *courier_tensor_make(enum courier_dtype, size_t,
	    const int64_t *, const void *, size_t, courier_value *, char **);

/*
 * courier-arena.c: a bump allocator for the short-lived trees of one frame
 * (protobuf-c's unpacked messages and the messages built to pack one).
 * Reset frees everything at once and keeps the first block.
 */
struct arena_block;
struct courier_arena {
	struct arena_block	*head;
	char			*ptr;
	size_t			 left;
	ProtobufCAllocator	 pb;	/* allocates from this arena */
};
void	 courier_arena_init(struct courier_arena *);
void	*courier_arena_alloc(struct courier_arena *, size_t);
void	 courier_arena_reset(struct courier_arena *);
void	 courier_arena_free(struct courier_arena *);

/* courier-codec.c: values to and from courier.SerializedObject. */
/* Nesting levels of messages a frame may hold: two per value level. */
#define COURIER_MAX_PB_DEPTH	(2 * COURIER_MAX_DEPTH + 8)
/*
 * Walk len bytes of wire format as desc and check that it is well formed
 * and nests no deeper than max_depth, before protobuf-c (which recurses
 * without a limit) unpacks it.
 */
int	 courier_pb_check(const ProtobufCMessageDescriptor *, const uint8_t *,
	    size_t, unsigned, char **);
/*
 * Fill out (a message the caller initialised) from v; sub-messages come
 * from the arena and data is borrowed from v, which must outlive out.
 */
int	 courier_value_to_pb(const courier_value *, Courier__SerializedObject *,
	    struct courier_arena *, char **);
/* A value from a decoded message; cause names the place of an error. */
courier_value *courier_value_from_pb(const Courier__SerializedObject *,
	    char **);

/*
 * courier-pool.c and courier-server.c: a client about to wait (until a
 * deadline) on a server's pool thread lets the server hand its loop to
 * another thread; a node lends its thread to its server; a process about
 * to exit stops its server without joining its threads.
 */
void	 courier_srv_blocking(int64_t);
void	 courier_srv_quiesce(courier_server *);
/* The calling thread serves (before start: will serve) until fds read. */
void	 courier_srv_will_lend(courier_server *);
void	 courier_srv_lend(courier_server *, const int *, int);

/* courier-addr.c: addresses and sockets. */
struct courier_addr {
	int			 family;	/* AF_UNIX or AF_INET(6) */
	char			*path;		/* unix; '@' first: abstract */
	char			*host;		/* tcp */
	char			*port;		/* tcp */
};
int	 courier_addr_parse(const char *, struct courier_addr *, char **);
void	 courier_addr_clear(struct courier_addr *);
/* Bind and listen; the fd is non-blocking and close-on-exec. */
int	 courier_addr_listen(const struct courier_addr *, char **);
/* Start a non-blocking connect; 0 connected, 1 in progress, -1 error. */
int	 courier_addr_connect(const struct courier_addr *, int *, char **);
/* The address a listening fd is bound to, as "unix:..." or "tcp:...". */
char	*courier_addr_of_fd(int);
void	 courier_socket_tune(int);

/*
 * courier-frame.c: the frame codec. A frame is a 4-byte big-endian length
 * and a courier.Frame. Reading is by a growable buffer that one thread at
 * a time owns; writing packs into a buffer the caller provides.
 */
#define FRAME_HEADER	4

/*
 * An output buffer may send some stretches from where they live instead of
 * holding a copy: a big bytes or tensor payload is a segment, a reference
 * to its value and the place in data it goes before. Writing gathers data
 * and segments with one sendmsg.
 */
struct courier_seg {
	size_t		 at;		/* goes before data[at] */
	const uint8_t	*p;
	size_t		 len;
	courier_value	*owner;		/* a reference */
};

struct courier_buf {
	uint8_t		*data;
	size_t		 off;		/* start of unread/unwritten bytes */
	size_t		 len;		/* end of them */
	size_t		 cap;
	size_t		 peak;		/* most held since the last compact */
	bool		 borrowed;	/* data is the caller's (a stack array) */
	bool		 keep_big;	/* keep a big buffer that is used */
	struct courier_blocks *home;	/* lent blocks come back here */
	bool		 lent;		/* since the last compact when empty */

	struct courier_seg *segs;	/* output only */
	size_t		 nsegs;
	size_t		 segcap;
	size_t		 seg0;		/* the first unsent */
	size_t		 seg_off;	/* bytes of segs[seg0] sent */
	size_t		 seg_bytes;	/* unsent bytes in segments */
};
/* Free b's memory; its kept blocks go now, those still lent when back. */
void	 courier_buf_free(struct courier_buf *);
/*
 * Where a reading buffer's lent blocks come back when the values that
 * borrow them are gone, for its next big frame (reference counted: the
 * buffer and each owner hold one). Put may run on any thread.
 */
struct courier_blocks *courier_blocks_ref(struct courier_blocks *);
/* Give back mem (may be NULL) of cap bytes, dropping one reference. */
void	 courier_blocks_put(struct courier_blocks *, void *, size_t);
void	*courier_buf_reserve(struct courier_buf *, size_t);
void	 courier_buf_compact(struct courier_buf *);
void	 courier_buf_move(struct courier_buf *, struct courier_buf *);
/* Drop what b holds, unsent or unread; keep its memory. */
void	 courier_buf_clear(struct courier_buf *);
/* Send len bytes at p, which owner keeps alive, before data[at]. */
void	 courier_buf_splice(struct courier_buf *, size_t, const void *, size_t,
	    const courier_value *);
static inline size_t
courier_buf_used(const struct courier_buf *b)
{
	return (b->len - b->off + b->seg_bytes);
}

/* Append one packed frame to b. */
void	 courier_frame_pack(struct courier_buf *, const Courier__Frame *);
/*
 * Take the next whole frame from b, unpacked from the arena.
 * Returns 1 with *out set, 0 if b holds no whole frame yet (*need says how
 * many bytes it does need in all), FRAME_MALFORMED or FRAME_TOO_BIG (both
 * negative) with *cause set: the connection must close.
 */
#define FRAME_MALFORMED	(-1)
#define FRAME_TOO_BIG	(-2)
int	 courier_frame_next(struct courier_buf *, size_t, struct courier_arena *,
	    Courier__Frame **, size_t *, char **);
/*
 * A frame as the call path takes it: a call or a result decoded straight
 * into values (courier-wire.c), or any frame as protobuf-c unpacked it.
 */
enum courier_frame_kind {
	COURIER_FRAME_PB,	/* pb: protobuf-c's, from the arena */
	COURIER_FRAME_CALL,	/* method (arena), args, kwargs, timeout_us */
	COURIER_FRAME_RESULT,	/* value */
};
struct courier_frame {
	enum courier_frame_kind	 kind;
	uint64_t		 id;
	Courier__Frame		*pb;
	const char		*method;
	courier_value		*args;		/* the taker's to release */
	courier_value		*kwargs;	/* ditto */
	int64_t			 timeout_us;
	courier_value		*value;		/* ditto */
};
/* As courier_frame_next, into a struct courier_frame. */
int	 courier_frame_take(struct courier_buf *, size_t,
	    struct courier_arena *, struct courier_frame *, size_t *, char **);
/*
 * Frames of at least this many bytes may lend their buffer to the bytes
 * and tensors decoded from them (struct courier_lend); payloads of at
 * least COURIER_BORROW_MIN are sent as segments, and borrow.
 */
#define FRAME_LEND_MIN		(64 * 1024)
#define COURIER_BORROW_MIN	(16 * 1024)
/*
 * Read from socket fd into b (room for at least want bytes): read(2)'s
 * result, and it blocks if fd does; _now never blocks.
 */
ssize_t	 courier_buf_read(struct courier_buf *, int, size_t);
ssize_t	 courier_buf_read_now(struct courier_buf *, int, size_t);
/* Write from b; advances off. Returns bytes written or -1 (errno). */
ssize_t	 courier_buf_write(struct courier_buf *, int);
/* Write all of b: 0 done, 1 the socket is full, -1 error (errno). */
int	 courier_buf_flush(struct courier_buf *, int);

/*
 * courier-wire.c: the call path's frames by hand. A call's or a result's
 * frame is measured once (its size without the 4-byte header in frame,
 * and the sizes of its nested messages, which packing needs again), then
 * appended to b; and the decoder: true with *out filled (kind CALL or
 * RESULT) for a frame it takes, false (nothing allocated) for one that is
 * protobuf-c's to unpack.
 */
struct courier_wire_size {
	size_t		 frame;
	size_t		 body;		/* CallRequest; a result's CallResult */
	size_t		 args;		/* CallArguments; a result's value */
	size_t		 spliced;	/* of frame, sent as segments */
};
void	 courier_wire_call_size(uint64_t, const char *, const courier_value *,
	    const courier_value *, int64_t, struct courier_wire_size *);
void	 courier_wire_pack_call(struct courier_buf *, uint64_t, const char *,
	    const courier_value *, const courier_value *, int64_t,
	    const struct courier_wire_size *);
void	 courier_wire_result_size(uint64_t, const courier_value *,
	    struct courier_wire_size *);
void	 courier_wire_pack_result(struct courier_buf *, uint64_t,
	    const courier_value *, const struct courier_wire_size *);
/*
 * Decoding may lend: with base not NULL (the start of the malloc'd block
 * of cap bytes that holds the frame), a payload of at least min bytes
 * (the reader says COURIER_BORROW_MIN) and a quarter of the block
 * borrows from it; the first to do so makes owner, which the
 * caller then holds a reference to. So at most four values share a
 * block, and none keeps more than four times its size alive.
 */
struct courier_lend {
	void			*base;
	size_t			 cap;
	size_t			 min;	/* the least that borrows: BORROW_MIN */
	struct courier_blocks	*home;	/* for courier_owner_new */
	courier_value		*owner;
};
bool	 courier_wire_decode(const uint8_t *, size_t, struct courier_frame *,
	    struct courier_arena *, struct courier_lend *);

/* Build the args/kwargs of a request frame; 0 or -1 with *cause. */
int	 courier_call_args_to_pb(const courier_value *, const courier_value *,
	    Courier__CallArguments *, struct courier_arena *, char **);
/* Take args and kwargs out of a request: list and dict, never NULL. */
int	 courier_call_args_from_pb(const Courier__CallArguments *,
	    courier_value **, courier_value **, char **);

#endif /* COURIER_INTERNAL_H */
