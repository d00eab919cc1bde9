/*
 * check-frame.c: framing edge cases over real Unix sockets.
 *
 * Server side: a courier server runs in the test process and a raw socket
 * talks to it with the frame codec of courier-internal.h, sending what no
 * well-behaved client would (frames byte by byte, oversized headers,
 * garbage, half frames, nesting bombs, frames of the wrong kind). Each test
 * ends by showing that a new connection is still served.
 *
 * Client side: a fake server on a raw listening socket, run by a thread,
 * answers a courier client's call with garbage, an oversized header, half a
 * frame, a stray reply or replies in reverse order.
 *
 * Nothing here asserts a wall-clock time: a call that should fail at once
 * has a 5 s timeout, and a failure by DEADLINE_EXCEEDED shows that it hung.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"
#include "courier.pb-c.h"
#include "harness.h"

/* How long a raw read may block before the test gives up on it. */
#define READ_GUARD_SEC	30
/* How long the fake server waits for the client, likewise. */
#define FAKE_GUARD_MS	30000

static char		 tmpdir[64];
static char		 sock_path[128];
static char		 address[160];
static courier_server	*server;

/* A raw connection to the server. */
struct peer {
	int			 fd;
	struct courier_buf	 in;
	struct courier_arena	 arena;
};

/* What one frame from the server said. */
struct reply {
	uint64_t		 id;
	int			 kind;		/* COURIER__FRAME__BODY_* */
	int			 code;
	char			*message;
	courier_value		*value;
	uint32_t		 version;
};

/* xorshift64*: deterministic garbage. */
static uint64_t
prng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dULL);
}

/* The echo method: its first argument back, or null. */
static courier_value *
echo(void *self, courier_request *req, courier_error **err)
{
	const courier_value	*a = courier_request_arg(req, 0);

	(void)self;
	(void)err;
	return (a != NULL ? courier_value_ref(a) : courier_null());
}

/* Limits for the next server_up, set by the fixtures; 0 keeps defaults. */
static struct {
	unsigned	 conns;
	unsigned	 per_user;
	int		 idle_ms;
	size_t		 buffered;
} limits;

/* Start a server on a fresh socket; max_frame 0 keeps the default. */
static void
server_up(size_t max_frame)
{
	char	*cause = NULL;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-frame.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof sock_path, "%s/s", tmpdir);
	snprintf(address, sizeof address, "unix:%s", sock_path);
	server = courier_server_new();
	if (max_frame != 0)
		ck_assert_int_eq(courier_server_set_max_frame(server,
		    max_frame), 0);
	if (limits.conns != 0 || limits.per_user != 0)
		ck_assert_int_eq(courier_server_set_max_conns(server,
		    limits.conns, limits.per_user), 0);
	if (limits.idle_ms != 0)
		ck_assert_int_eq(courier_server_set_idle_timeout(server,
		    limits.idle_ms), 0);
	if (limits.buffered != 0)
		ck_assert_int_eq(courier_server_set_max_buffered(server,
		    limits.buffered), 0);
	ck_assert_int_eq(courier_server_add_method(server, "echo", echo,
	    NULL, 0, &cause), 0);
	ck_assert_int_eq(courier_server_add_method(server, "iecho", echo,
	    NULL, COURIER_METHOD_INLINE, &cause), 0);
	ck_assert_msg(courier_server_listen(server, address, &cause) == 0,
	    "listen: %s", cause);
	ck_assert_msg(courier_server_start(server, &cause) == 0, "start: %s",
	    cause);
}

static void
setup(void)
{
	server_up(0);
}

/* A server that refuses frames over 4096 bytes. */
static void
setup_small(void)
{
	server_up(4096);
}

/* A server with 3 connections in all, 2 per user. */
static void
setup_conns(void)
{
	limits.conns = 3;
	limits.per_user = 0;
	server_up(0);
}

static void
setup_per_user(void)
{
	limits.per_user = 2;
	server_up(0);
}

/* A server whose connections may idle mid-frame for 200 ms. */
static void
setup_idle(void)
{
	limits.idle_ms = 200;
	server_up(0);
}

/* A server that buffers at most 1 MiB for all its connections. */
static void
setup_budget(void)
{
	limits.buffered = 1024 * 1024;
	server_up(0);
}

static void
teardown(void)
{
	courier_server_free(server);
	server = NULL;
	memset(&limits, 0, sizeof limits);
	unlink(sock_path);
	rmdir(tmpdir);
}

/* Fill a Unix socket address with path. */
static void
sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof sun->sun_path);
	memcpy(sun->sun_path, path, strlen(path) + 1);
}

/* Connect a raw socket to path. */
static void
peer_open(struct peer *p, const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { READ_GUARD_SEC, 0 };

	memset(p, 0, sizeof *p);
	courier_arena_init(&p->arena);
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->fd, 0);
	sun_fill(&sun, path);
	ck_assert_msg(connect(p->fd, (struct sockaddr *)&sun, sizeof sun) ==
	    0, "connect %s: %s", path, strerror(errno));
	/* A guard against a hang, not a time that is asserted. */
	ck_assert_int_eq(setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof tv), 0);
}

static void
peer_close(struct peer *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	courier_buf_free(&p->in);
	courier_arena_free(&p->arena);
}

/* Write all of buf; false if the peer went away first. */
static bool
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*q = buf;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, q, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (false);
		q += n;
		len -= (size_t)n;
	}
	return (true);
}

static void
peer_write(struct peer *p, const void *buf, size_t len)
{
	ck_assert_msg(write_all(p->fd, buf, len), "write: %s",
	    strerror(errno));
}

/* Append a hello frame to b. */
static void
pack_hello(struct courier_buf *b, uint32_t version)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Hello	 h = COURIER__HELLO__INIT;

	h.protocol_version = version;
	h.agent = (char *)"check-frame";
	f.body_case = COURIER__FRAME__BODY_HELLO;
	f.hello = &h;
	courier_frame_pack(b, &f);
}

/*
 * Append a call frame to b: args (a list) and kwargs (a dict or NULL) are
 * taken. Returns the size of the frame without its header.
 */
static size_t
pack_call_timeout(struct courier_buf *b, uint64_t id, const char *method,
    courier_value *args, courier_value *kwargs, int64_t timeout_us)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__CallRequest	 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments	 ca = COURIER__CALL_ARGUMENTS__INIT;
	struct courier_arena	 a;
	char			*cause = NULL;
	size_t			 size;

	ck_assert_ptr_nonnull(args);
	if (kwargs == NULL)
		kwargs = courier_dict_new();
	courier_arena_init(&a);
	ck_assert_int_eq(courier_call_args_to_pb(args, kwargs, &ca, &a,
	    &cause), 0);
	call.method = (char *)method;
	call.arguments = &ca;
	call.timeout_us = timeout_us;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_CALL;
	f.call = &call;
	size = courier__frame__get_packed_size(&f);
	courier_frame_pack(b, &f);
	courier_arena_free(&a);
	courier_value_unref(args);
	courier_value_unref(kwargs);
	return (size);
}

/* Append a call frame with no deadline; see pack_call_timeout. */
static size_t
pack_call(struct courier_buf *b, uint64_t id, const char *method,
    courier_value *args, courier_value *kwargs)
{
	return (pack_call_timeout(b, id, method, args, kwargs, 0));
}

/* Send what b holds and empty it. */
static void
peer_flush(struct peer *p, struct courier_buf *b)
{
	peer_write(p, b->data + b->off, courier_buf_used(b));
	courier_buf_free(b);
}

static void
peer_hello(struct peer *p, uint32_t version)
{
	struct courier_buf	 b = { 0 };

	pack_hello(&b, version);
	peer_flush(p, &b);
}

static void
peer_call(struct peer *p, uint64_t id, const char *method,
    courier_value *args)
{
	struct courier_buf	 b = { 0 };

	pack_call(&b, id, method, args, NULL);
	peer_flush(p, &b);
}

/* Send a frame built by the caller. */
static void
peer_send(struct peer *p, const Courier__Frame *f)
{
	struct courier_buf	 b = { 0 };

	courier_frame_pack(&b, f);
	peer_flush(p, &b);
}

static void
reply_clear(struct reply *r)
{
	free(r->message);
	courier_value_unref(r->value);
	memset(r, 0, sizeof *r);
}

/*
 * Read the next frame from the server into r. Returns 1, or 0 once the
 * server has closed the connection (a reset counts: the server may close
 * with our bytes unread).
 */
static int
peer_read(struct peer *p, struct reply *r)
{
	Courier__Frame	*f;
	char		*cause = NULL, *why = NULL;
	size_t		 need = 0, used;
	ssize_t		 n;
	int		 rv;

	memset(r, 0, sizeof *r);
	for (;;) {
		rv = courier_frame_next(&p->in, COURIER_MAX_FRAME_DEFAULT,
		    &p->arena, &f, &need, &cause);
		ck_assert_msg(rv >= 0, "a bad frame from the server: %s",
		    cause);
		if (rv == 1)
			break;
		used = courier_buf_used(&p->in);
		n = courier_buf_read(&p->in, p->fd, need > used ?
		    need - used : 0);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return (0);
		if (n == -1 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "read: %s (did the server hang?)",
		    strerror(errno));
	}
	r->id = f->call_id;
	r->kind = f->body_case;
	switch (f->body_case) {
	case COURIER__FRAME__BODY_HELLO:
		r->version = f->hello->protocol_version;
		break;
	case COURIER__FRAME__BODY_ERROR:
		r->code = f->error->code;
		r->message = xstrdup(f->error->message);
		break;
	case COURIER__FRAME__BODY_RESULT:
		if (f->result->result == NULL ||
		    f->result->result->result == NULL)
			r->value = courier_null();
		else {
			r->value = courier_value_from_pb(
			    f->result->result->result, &why);
			ck_assert_msg(r->value != NULL, "result: %s", why);
		}
		break;
	case COURIER__FRAME__BODY_METHODS:
		r->value = courier_list_new();
		for (used = 0; used < f->methods->n_methods; used++)
			courier_list_append(r->value,
			    courier_string(f->methods->methods[used]));
		break;
	default:
		ck_abort_msg("a frame of kind %d from the server",
		    (int)f->body_case);
	}
	courier_arena_reset(&p->arena);
	return (1);
}

/* The server's hello, which comes before anything else. */
static void
expect_hello(struct peer *p)
{
	struct reply	 r;

	ck_assert_int_eq(peer_read(p, &r), 1);
	ck_assert_int_eq(r.kind, COURIER__FRAME__BODY_HELLO);
	ck_assert_uint_eq(r.id, 0);
	ck_assert_uint_eq(r.version, COURIER_PROTOCOL_VERSION);
	reply_clear(&r);
}

/* A result for call id equal to want (taken). */
static void
expect_result(struct peer *p, uint64_t id, courier_value *want)
{
	struct reply	 r;

	ck_assert_int_eq(peer_read(p, &r), 1);
	ck_assert_msg(r.kind == COURIER__FRAME__BODY_RESULT, "frame of kind "
	    "%d (%s), not a result", r.kind, r.message != NULL ? r.message :
	    "");
	ck_assert_uint_eq(r.id, id);
	ck_assert(courier_value_equal(r.value, want));
	reply_clear(&r);
	courier_value_unref(want);
}

/* An error frame for call id with code and a message containing want. */
static void
expect_error(struct peer *p, uint64_t id, enum courier_code code,
    const char *want)
{
	struct reply	 r;

	ck_assert_int_eq(peer_read(p, &r), 1);
	ck_assert_int_eq(r.kind, COURIER__FRAME__BODY_ERROR);
	ck_assert_uint_eq(r.id, id);
	ck_assert_msg(r.code == (int)code, "code %s, not %s: %s",
	    courier_code_name(r.code), courier_code_name(code), r.message);
	ck_assert_msg(strstr(r.message, want) != NULL, "message \"%s\" does "
	    "not mention \"%s\"", r.message, want);
	reply_clear(&r);
}

/* The server closed the connection, with nothing more. */
static void
expect_eof(struct peer *p)
{
	struct reply	 r;

	ck_assert_msg(peer_read(p, &r) == 0, "a frame of kind %d where the "
	    "connection should have closed", r.kind);
}

/* The server closes the connection, maybe after its hello or an error
 * about the connection (call id 0). */
static void
expect_closed(struct peer *p)
{
	struct reply	 r;
	int		 n;

	for (n = 0; peer_read(p, &r) == 1; n++) {
		ck_assert_int_lt(n, 2);
		ck_assert_uint_eq(r.id, 0);
		ck_assert(r.kind == COURIER__FRAME__BODY_HELLO ||
		    r.kind == COURIER__FRAME__BODY_ERROR);
		reply_clear(&r);
	}
}

/* The server still serves: a new connection gets its echo. */
static void
server_works(void)
{
	struct peer	 p;

	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	peer_call(&p, 42, "echo", courier_args(courier_string("alive")));
	expect_result(&p, 42, courier_string("alive"));
	peer_call(&p, 43, "iecho", courier_args(courier_int(43)));
	expect_result(&p, 43, courier_int(43));
	peer_close(&p);
}

/* Write varint x just before *p, moving *p back. */
static void
put_varint_back(uint8_t **p, uint64_t x)
{
	uint8_t	 tmp[10];
	size_t	 n = 0;

	do {
		tmp[n] = (uint8_t)(x & 0x7f);
		x >>= 7;
		if (x != 0)
			tmp[n] |= 0x80;
		n++;
	} while (x != 0);
	*p -= n;
	memcpy(*p, tmp, n);
}

/*
 * A raw call frame (header included) to method echo whose one argument is
 * n lists nested inside each other, built as wire format from the inside
 * out. The caller frees.
 */
static uint8_t *
bomb_frame(size_t n, uint64_t id, size_t *len)
{
	uint8_t	*buf, *end, *p;
	size_t	 cap, i, size;

	cap = n * 12 + 64;
	buf = xmalloc(cap);
	end = p = buf + cap;
	*--p = 0x00;
	*--p = 0x2a;			/* SerializedObject.list_value */
	for (i = 1; i < n; i++) {
		put_varint_back(&p, (uint64_t)(end - p));
		*--p = 0x0a;		/* SerializedList.items */
		put_varint_back(&p, (uint64_t)(end - p));
		*--p = 0x2a;
	}
	put_varint_back(&p, (uint64_t)(end - p));
	*--p = 0x0a;			/* CallArguments.args */
	put_varint_back(&p, (uint64_t)(end - p));
	*--p = 0x12;			/* CallRequest.arguments */
	p -= 4;
	memcpy(p, "echo", 4);
	*--p = 0x04;
	*--p = 0x0a;			/* CallRequest.method */
	put_varint_back(&p, (uint64_t)(end - p));
	*--p = 0x1a;			/* Frame.call */
	put_varint_back(&p, id);
	*--p = 0x08;			/* Frame.call_id */
	size = (size_t)(end - p);
	p -= 4;
	p[0] = (uint8_t)(size >> 24);
	p[1] = (uint8_t)(size >> 16);
	p[2] = (uint8_t)(size >> 8);
	p[3] = (uint8_t)size;
	*len = (size_t)(end - p);
	memmove(buf, p, *len);
	return (buf);
}

/*
 * A peer that sends calls and never reads their replies until the server
 * stops reading it (its replies back up), then closes: the server closes
 * its end too, so neither the descriptor nor the queued replies stay.
 */
START_TEST(test_frame_flood_then_close)
{
	struct courier_buf	 b = { 0 };
	struct peer		 p;
	struct pollfd		 pfd;
	char			*payload;
	size_t			 sent = 0;
	ssize_t			 n;
	int			 base, round, i;

	base = harness_count_fds();
	payload = xcalloc(1, 64 * 1024);
	for (round = 0; round < 3; round++) {
		peer_open(&p, sock_path);
		pack_hello(&b, COURIER_PROTOCOL_VERSION);
		/* 64 KiB calls until the server stops reading (>= 16 MiB of
		 * replies unread, plus what the socket buffers hold). */
		for (i = 0; i < 2000; i++) {
			if (courier_buf_used(&b) == 0)
				pack_call(&b, (uint64_t)i + 1, "iecho",
				    courier_args(courier_bytes(payload,
				    64 * 1024)), NULL);
			n = send(p.fd, b.data + b.off, courier_buf_used(&b),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				b.off += (size_t)n;
				sent += (size_t)n;
				if (courier_buf_used(&b) != 0)
					i--;	/* the rest of this call */
				else
					b.off = b.len = 0;
				continue;
			}
			ck_assert_msg(n == -1 && errno == EAGAIN, "send: %s",
			    strerror(errno));
			/* Full: the server paused if it stays full. */
			pfd.fd = p.fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 500) == 0)
				break;
			i--;
		}
		ck_assert_msg(i < 2000, "the server read %zu bytes of calls "
		    "whose replies went unread, and never paused", sent);
		courier_buf_free(&b);
		peer_close(&p);
		ck_assert_msg(harness_wait_down_to(harness_count_fds, base),
		    "round %d: %d descriptors open, %d before: the server "
		    "kept the connection of a peer that closed while it was "
		    "paused", round,
		    harness_count_fds(), base);
	}
	free(payload);
	server_works();
}
END_TEST

/* Deadlines too far to add to the clock are no deadline, not passed. */
START_TEST(test_frame_huge_deadline)
{
	struct courier_buf	 b = { 0 };
	struct peer		 p;

	static const int64_t	 huge[] = { INT64_MAX, (int64_t)1 << 62,
				    INT64_MAX / 1000 + 1 };
	size_t			 i;

	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	for (i = 0; i < nitems(huge); i++) {
		/* One at a time: replies may come in any order. */
		pack_call_timeout(&b, 2 * i + 1, "echo", courier_args(
		    courier_int((int64_t)i)), NULL, huge[i]);
		peer_flush(&p, &b);
		expect_result(&p, 2 * i + 1, courier_int((int64_t)i));
		pack_call_timeout(&b, 2 * i + 2, "iecho", courier_args(
		    courier_int((int64_t)i)), NULL, huge[i]);
		peer_flush(&p, &b);
		expect_result(&p, 2 * i + 2, courier_int((int64_t)i));
	}
	peer_close(&p);
}
END_TEST

/* A peer that said hello and got the server's. */
static void
peer_up(struct peer *p)
{
	peer_open(p, sock_path);
	peer_hello(p, COURIER_PROTOCOL_VERSION);
	expect_hello(p);
}

/*
 * Connections past the limit get an error saying so and are closed; once
 * one closes, a new one is served.
 */
START_TEST(test_frame_conn_limit)
{
	struct peer	 p[3], extra;
	int		 i;

	for (i = 0; i < 3; i++)
		peer_up(&p[i]);
	peer_open(&extra, sock_path);
	expect_error(&extra, 0, COURIER_RESOURCE_EXHAUSTED, "limit");
	expect_eof(&extra);
	peer_close(&extra);
	/* The three are served still. */
	for (i = 0; i < 3; i++) {
		peer_call(&p[i], 1, "echo", courier_args(courier_int(i)));
		expect_result(&p[i], 1, courier_int(i));
	}
	peer_close(&p[0]);
	/* The server sees the close when its loop runs: poll for it. */
	for (i = 0; i < 1000; i++) {
		peer_open(&extra, sock_path);
		peer_hello(&extra, COURIER_PROTOCOL_VERSION);
		struct reply r;
		ck_assert_int_eq(peer_read(&extra, &r), 1);
		if (r.kind == COURIER__FRAME__BODY_HELLO) {
			reply_clear(&r);
			break;
		}
		ck_assert_int_eq(r.code, COURIER_RESOURCE_EXHAUSTED);
		reply_clear(&r);
		peer_close(&extra);
		usleep(10000);
	}
	ck_assert_int_lt(i, 1000);
	peer_call(&extra, 2, "iecho", courier_args(courier_int(2)));
	expect_result(&extra, 2, courier_int(2));
	peer_close(&extra);
	peer_close(&p[1]);
	peer_close(&p[2]);
}
END_TEST

/* One user's connections past its limit are refused, naming the user. */
START_TEST(test_frame_per_user_limit)
{
	struct peer	 p[2], extra;

	peer_up(&p[0]);
	peer_up(&p[1]);
	peer_open(&extra, sock_path);
	expect_error(&extra, 0, COURIER_RESOURCE_EXHAUSTED, "per-user limit");
	expect_eof(&extra);
	peer_close(&extra);
	peer_call(&p[1], 1, "echo", courier_args(courier_int(1)));
	expect_result(&p[1], 1, courier_int(1));
	peer_close(&p[0]);
	peer_close(&p[1]);
}
END_TEST

/*
 * A peer that never says hello, or stops in the middle of a frame, is
 * closed after the idle timeout with the reason; a peer idle between
 * calls is not.
 */
START_TEST(test_frame_idle_timeout)
{
	static const uint8_t	 half[6] = { 0x00, 0x00, 0x00, 0x40, 0x08,
				    0x01 };
	struct peer		 silent, stalled, quiet;

	peer_open(&silent, sock_path);
	peer_up(&stalled);
	peer_write(&stalled, half, sizeof half);
	peer_up(&quiet);

	expect_error(&silent, 0, COURIER_DEADLINE_EXCEEDED, "hello");
	expect_eof(&silent);
	expect_error(&stalled, 0, COURIER_DEADLINE_EXCEEDED, "half-sent");
	expect_eof(&stalled);
	/* Both are gone, after at least 200 ms: quiet idled as long. */
	peer_call(&quiet, 1, "echo", courier_args(courier_int(1)));
	expect_result(&quiet, 1, courier_int(1));
	usleep(600 * 1000);
	peer_call(&quiet, 2, "echo", courier_args(courier_int(2)));
	expect_result(&quiet, 2, courier_int(2));
	peer_close(&silent);
	peer_close(&stalled);
	peer_close(&quiet);
}
END_TEST

/*
 * Over the budget of bytes buffered: a frame too big for what is left,
 * and replies that a peer leaves unread, close that peer's connection
 * with RESOURCE_EXHAUSTED; a peer beside it is served all along.
 */
START_TEST(test_frame_buffer_budget)
{
	static const uint8_t	 big[4] = { 0x00, 0x20, 0x00, 0x00 };
	struct courier_buf	 b = { 0 };
	struct peer		 p, other;
	char			*payload;
	int			 i;

	peer_up(&other);

	/* A 2 MiB frame does not fit in a 1 MiB budget. */
	peer_up(&p);
	peer_write(&p, big, sizeof big);
	expect_error(&p, 0, COURIER_RESOURCE_EXHAUSTED, "budget");
	expect_eof(&p);
	peer_close(&p);
	peer_call(&other, 1, "echo", courier_args(courier_int(1)));
	expect_result(&other, 1, courier_int(1));

	/* 64 KiB replies left unread pass it: that peer is cut off. */
	payload = xcalloc(1, 64 * 1024);
	peer_up(&p);
	for (i = 0; i < 64; i++) {
		pack_call(&b, (uint64_t)i + 1, "iecho", courier_args(
		    courier_bytes(payload, 64 * 1024)), NULL);
		if (!write_all(p.fd, b.data + b.off, courier_buf_used(&b)))
			break;		/* cut off already */
		courier_buf_free(&b);
	}
	courier_buf_free(&b);
	free(payload);
	/* Whatever replies it got, the connection ends. */
	{
		struct reply	 r;

		for (i = 0; i < 64 && peer_read(&p, &r) == 1; i++)
			reply_clear(&r);
		ck_assert_int_lt(i, 64);
	}
	peer_close(&p);
	peer_call(&other, 2, "echo", courier_args(courier_int(2)));
	expect_result(&other, 2, courier_int(2));
	peer_close(&other);
	server_works();
}
END_TEST

/* A call sent one byte at a time is answered. */
START_TEST(test_frame_byte_at_a_time)
{
	struct courier_buf	 b = { 0 };
	struct peer		 p;
	size_t			 i;

	peer_open(&p, sock_path);
	pack_hello(&b, COURIER_PROTOCOL_VERSION);
	pack_call(&b, 7, "echo", courier_args(courier_string("slow")), NULL);
	pack_call(&b, 8, "iecho", courier_args(courier_int(8)), NULL);
	for (i = b.off; i < b.len; i++) {
		peer_write(&p, b.data + i, 1);
		usleep(1000);
	}
	courier_buf_free(&b);
	expect_hello(&p);
	expect_result(&p, 7, courier_string("slow"));
	expect_result(&p, 8, courier_int(8));
	peer_close(&p);
}
END_TEST

/* Several calls in one write are all answered, matched by call id. */
START_TEST(test_frame_pipelined)
{
	struct courier_buf	 b = { 0 };
	struct peer		 p;
	struct reply		 r;
	bool			 seen[4] = { false };
	int			 i;

	peer_open(&p, sock_path);
	pack_hello(&b, COURIER_PROTOCOL_VERSION);
	pack_call(&b, 1, "echo", courier_args(courier_int(101)), NULL);
	pack_call(&b, 2, "echo", courier_args(courier_int(102)), NULL);
	pack_call(&b, 3, "iecho", courier_args(courier_int(103)), NULL);
	peer_flush(&p, &b);
	expect_hello(&p);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(peer_read(&p, &r), 1);
		ck_assert_int_eq(r.kind, COURIER__FRAME__BODY_RESULT);
		ck_assert(r.id >= 1 && r.id <= 3);
		ck_assert(!seen[r.id]);
		seen[r.id] = true;
		ck_assert_int_eq(courier_value_int(r.value), 100 + (int)r.id);
		reply_clear(&r);
	}
	peer_close(&p);
	server_works();
}
END_TEST

/* A frame of exactly the limit is served; a header over it closes the
 * connection with RESOURCE_EXHAUSTED and harms nothing else. */
START_TEST(test_frame_over_limit)
{
	static const uint8_t	 over[4] = { 0x00, 0x00, 0x10, 0x01 };
	static const uint8_t	 huge[4] = { 0xff, 0xff, 0xff, 0xff };
	struct courier_buf	 b = { 0 };
	struct peer		 p;
	courier_value		*kw;
	char			*pad;
	size_t			 padlen = 4000, size = 0;
	int			 tries;

	/* Find the padding that makes a call frame exactly 4096 bytes. */
	pad = xmalloc(8192);
	memset(pad, 'x', 8192);
	for (tries = 0; tries < 8 && size != 4096; tries++) {
		kw = courier_dict_new();
		courier_dict_set(kw, "pad", courier_bytes(pad, padlen));
		size = pack_call(&b, 5, "echo", courier_args(courier_int(5)),
		    kw);
		courier_buf_free(&b);
		padlen = padlen + 4096 - size;
	}
	ck_assert_uint_eq(size, 4096);

	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	kw = courier_dict_new();
	courier_dict_set(kw, "pad", courier_bytes(pad, padlen));
	pack_call(&b, 5, "echo", courier_args(courier_int(5)), kw);
	peer_flush(&p, &b);
	expect_result(&p, 5, courier_int(5));

	/* One byte more, announced by the header alone. */
	peer_write(&p, over, sizeof over);
	expect_error(&p, 0, COURIER_RESOURCE_EXHAUSTED, "limit");
	expect_eof(&p);
	peer_close(&p);

	/* The largest header there is, before the hello. */
	peer_open(&p, sock_path);
	peer_write(&p, huge, sizeof huge);
	expect_error(&p, 0, COURIER_RESOURCE_EXHAUSTED, "limit");
	expect_eof(&p);
	peer_close(&p);

	free(pad);
	server_works();
}
END_TEST

/* Garbage, after a hello or instead of one, closes the connection. */
START_TEST(test_frame_garbage)
{
	struct peer	 p;
	uint8_t		 junk[260];
	uint64_t	 s = 0x1234567887654321ULL;
	size_t		 i;
	int		 round;

	for (round = 0; round < 6; round++) {
		for (i = 0; i < sizeof junk; i++)
			junk[i] = (uint8_t)prng_next(&s);
		peer_open(&p, sock_path);
		if (round % 2 == 0) {
			peer_hello(&p, COURIER_PROTOCOL_VERSION);
			expect_hello(&p);
		}
		if (round < 4) {
			/* A header that fits, then 256 random bytes. */
			junk[0] = junk[1] = 0x00;
			junk[2] = 0x01;
			junk[3] = 0x00;
		}
		/* Else all random: the header is what it is. */
		(void)write_all(p.fd, junk, sizeof junk);
		expect_closed(&p);
		peer_close(&p);
	}
	server_works();
}
END_TEST

/* A call before the hello is refused with FAILED_PRECONDITION. */
START_TEST(test_frame_no_hello)
{
	struct peer	 p;

	peer_open(&p, sock_path);
	peer_call(&p, 1, "echo", courier_args(courier_int(1)));
	expect_error(&p, 0, COURIER_FAILED_PRECONDITION, "hello");
	expect_eof(&p);
	peer_close(&p);
	server_works();
}
END_TEST

/* A hello with protocol version 0 is refused with UNIMPLEMENTED. */
START_TEST(test_frame_bad_version)
{
	struct peer	 p;

	peer_open(&p, sock_path);
	peer_hello(&p, 0);
	expect_error(&p, 0, COURIER_UNIMPLEMENTED, "version");
	expect_eof(&p);
	peer_close(&p);
	server_works();
}
END_TEST

/* A second hello closes the connection. */
START_TEST(test_frame_hello_twice)
{
	struct peer	 p;

	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_error(&p, 0, COURIER_INVALID_ARGUMENT, "hello");
	expect_eof(&p);
	peer_close(&p);
	server_works();
}
END_TEST

/* A peer that sends half a frame and goes away harms nothing. */
START_TEST(test_frame_half_frame)
{
	static const uint8_t	 half[14] = { 0x00, 0x00, 0x01, 0x00, 0x08,
	    0x01, 0x1a, 0x40, 0x0a, 0x04, 'e', 'c', 'h', 'o' };
	struct peer		 p;

	/* Half a frame, then the end of the stream: the server closes. */
	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	peer_write(&p, half, sizeof half);
	ck_assert_int_eq(shutdown(p.fd, SHUT_WR), 0);
	expect_eof(&p);
	peer_close(&p);

	/* Half a frame, then close. */
	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	peer_write(&p, half, sizeof half);
	peer_close(&p);

	/* Half a header, then close. */
	peer_open(&p, sock_path);
	peer_write(&p, half, 2);
	peer_close(&p);

	server_works();
}
END_TEST

/* Deeply nested arguments are refused without a crash. */
START_TEST(test_frame_nesting_bomb)
{
	struct peer	 p;
	uint8_t		*buf;
	size_t		 len;

	/* 200,000 levels: the frame itself is refused; the connection
	 * closes. */
	buf = bomb_frame(200000, 9, &len);
	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	peer_write(&p, buf, len);
	expect_error(&p, 0, COURIER_INVALID_ARGUMENT, "nest");
	expect_eof(&p);
	peer_close(&p);
	free(buf);

	/* One level over the value limit: that call fails and the
	 * connection goes on. */
	buf = bomb_frame(COURIER_MAX_DEPTH + 1, 10, &len);
	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	peer_write(&p, buf, len);
	expect_error(&p, 10, COURIER_INVALID_ARGUMENT, "nest");
	peer_call(&p, 11, "echo", courier_args(courier_int(11)));
	expect_result(&p, 11, courier_int(11));
	peer_close(&p);
	free(buf);

	server_works();
}
END_TEST

/* An unknown method is NOT_FOUND, named, and the connection stays. */
START_TEST(test_frame_unknown_method)
{
	struct peer	 p;

	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	peer_call(&p, 3, "no_such_method", courier_args(courier_int(1)));
	expect_error(&p, 3, COURIER_NOT_FOUND, "no_such_method");
	peer_call(&p, 4, "echo", courier_args(courier_int(4)));
	expect_result(&p, 4, courier_int(4));
	peer_close(&p);
}
END_TEST

/* ListMethods over a raw connection lists both methods. */
START_TEST(test_frame_list_methods)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__ListMethodsRequest	 lm =
	    COURIER__LIST_METHODS_REQUEST__INIT;
	struct peer			 p;
	struct reply			 r;
	courier_value			*want;

	peer_open(&p, sock_path);
	peer_hello(&p, COURIER_PROTOCOL_VERSION);
	expect_hello(&p);
	f.call_id = 6;
	f.body_case = COURIER__FRAME__BODY_LIST_METHODS;
	f.list_methods = &lm;
	peer_send(&p, &f);
	ck_assert_int_eq(peer_read(&p, &r), 1);
	ck_assert_int_eq(r.kind, COURIER__FRAME__BODY_METHODS);
	ck_assert_uint_eq(r.id, 6);
	want = courier_args(courier_string("echo"), courier_string("iecho"));
	ck_assert(courier_value_equal(r.value, want));
	courier_value_unref(want);
	reply_clear(&r);
	peer_close(&p);
}
END_TEST

/* A valid frame of a kind a client must not send closes the connection. */
START_TEST(test_frame_unexpected_kind)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__Status			 st = COURIER__STATUS__INIT;
	Courier__ListMethodsResponse	 lm =
	    COURIER__LIST_METHODS_RESPONSE__INIT;
	struct peer			 p;
	int				 round;

	for (round = 0; round < 4; round++) {
		memset(&f, 0, sizeof f);
		courier__frame__init(&f);
		f.call_id = 3;
		switch (round) {
		case 0:
			f.body_case = COURIER__FRAME__BODY_RESULT;
			f.result = &resp;
			break;
		case 1:
			f.body_case = COURIER__FRAME__BODY_ERROR;
			f.error = &st;
			break;
		case 2:
			f.body_case = COURIER__FRAME__BODY_METHODS;
			f.methods = &lm;
			break;
		default:
			/* No body at all. */
			break;
		}
		peer_open(&p, sock_path);
		peer_hello(&p, COURIER_PROTOCOL_VERSION);
		expect_hello(&p);
		peer_send(&p, &f);
		expect_error(&p, 0, COURIER_INVALID_ARGUMENT, "unexpected");
		expect_eof(&p);
		peer_close(&p);
	}
	server_works();
}
END_TEST

/* ------------------------------------------------------------------ */
/* The client against a fake server                                    */
/* ------------------------------------------------------------------ */

enum fake_mode {
	FAKE_GARBAGE,		/* a frame whose body is not protobuf */
	FAKE_OVERSIZE,		/* a header over the client's limit */
	FAKE_HALF,		/* half a frame, then close */
	FAKE_STRAY,		/* replies to unknown ids, then the real one */
	FAKE_REVERSE,		/* two calls answered last first */
	FAKE_GOODBYE,		/* an error for the connection, then close */
	FAKE_BAD_HELLO,		/* a hello with protocol version 0 */
};

struct fake {
	int		 lfd;
	enum fake_mode	 mode;
	int		 ncalls;	/* calls to read before answering */
	pthread_t	 thread;
	bool		 started;
	char		*error;		/* what went wrong in the thread */
};

static struct fake	 fake;

/* Listen on a fresh socket for the fake server. */
static void
fake_setup(void)
{
	struct sockaddr_un	 sun;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/check-frame.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof sock_path, "%s/f", tmpdir);
	snprintf(address, sizeof address, "unix:%s", sock_path);
	memset(&fake, 0, sizeof fake);
	fake.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fake.lfd, 0);
	sun_fill(&sun, sock_path);
	ck_assert_int_eq(bind(fake.lfd, (struct sockaddr *)&sun, sizeof sun),
	    0);
	ck_assert_int_eq(listen(fake.lfd, 4), 0);
}

static void
fake_teardown(void)
{
	if (fake.started)
		pthread_join(fake.thread, NULL);
	free(fake.error);
	close(fake.lfd);
	unlink(sock_path);
	rmdir(tmpdir);
}

/* Send one frame; false if the client went away. */
static bool
fake_send(int fd, const Courier__Frame *f)
{
	struct courier_buf	 b = { 0 };
	bool			 ok;

	courier_frame_pack(&b, f);
	ok = write_all(fd, b.data, courier_buf_used(&b));
	courier_buf_free(&b);
	return (ok);
}

static bool
fake_hello(int fd, uint32_t version)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Hello	 h = COURIER__HELLO__INIT;

	h.protocol_version = version;
	f.body_case = COURIER__FRAME__BODY_HELLO;
	f.hello = &h;
	return (fake_send(fd, &f));
}

/* Answer call id with v. */
static bool
fake_result(int fd, uint64_t id, const courier_value *v)
{
	Courier__Frame			 f = COURIER__FRAME__INIT;
	Courier__CallResponse		 resp = COURIER__CALL_RESPONSE__INIT;
	Courier__CallResult		 res = COURIER__CALL_RESULT__INIT;
	Courier__SerializedObject	 o = COURIER__SERIALIZED_OBJECT__INIT;
	struct courier_arena		 a;
	char				*cause = NULL;
	bool				 ok;

	courier_arena_init(&a);
	if (courier_value_to_pb(v, &o, &a, &cause) != 0) {
		free(cause);
		courier_arena_free(&a);
		return (false);
	}
	res.result = &o;
	resp.result = &res;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_RESULT;
	f.result = &resp;
	ok = fake_send(fd, &f);
	courier_arena_free(&a);
	return (ok);
}

/* An error frame for call id. */
static bool
fake_error(int fd, uint64_t id, enum courier_code code, const char *msg)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Status	 st = COURIER__STATUS__INIT;

	st.code = code;
	st.message = (char *)msg;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_ERROR;
	f.error = &st;
	return (fake_send(fd, &f));
}

/* Wait until fd is readable; false after the guard time. */
static bool
fake_wait(int fd)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		n = poll(&pfd, 1, FAKE_GUARD_MS);
	while (n == -1 && errno == EINTR);
	return (n == 1);
}

/*
 * Read the client's hello and fk->ncalls calls; their ids and first
 * arguments go in ids and vals. false with fk->error set on failure.
 */
static bool
fake_read_calls(struct fake *fk, int fd, uint64_t *ids, courier_value **vals)
{
	struct courier_buf	 in = { 0 };
	struct courier_arena	 a;
	Courier__Frame		*f;
	courier_value		*args, *kwargs;
	char			*cause = NULL;
	size_t			 need = 0, used;
	ssize_t			 n;
	int			 r, ncalls = 0;
	bool			 hello = false;

	courier_arena_init(&a);
	while (fk->error == NULL && (!hello || ncalls < fk->ncalls)) {
		r = courier_frame_next(&in, COURIER_MAX_FRAME_DEFAULT, &a, &f,
		    &need, &cause);
		if (r < 0) {
			xasprintf(&fk->error, "fake: bad frame: %s", cause);
			free(cause);
			break;
		}
		if (r == 0) {
			used = courier_buf_used(&in);
			if (!fake_wait(fd) || (n = courier_buf_read(&in, fd,
			    need > used ? need - used : 0)) <= 0)
				xasprintf(&fk->error, "fake: the client sent "
				    "no call");
			continue;
		}
		if (f->body_case == COURIER__FRAME__BODY_HELLO && !hello &&
		    f->hello->protocol_version == COURIER_PROTOCOL_VERSION)
			hello = true;
		else if (f->body_case == COURIER__FRAME__BODY_CALL && hello &&
		    ncalls < 2) {
			if (courier_call_args_from_pb(f->call->arguments,
			    &args, &kwargs, &cause) != 0) {
				xasprintf(&fk->error, "fake: %s", cause);
				free(cause);
			} else {
				ids[ncalls] = f->call_id;
				vals[ncalls++] = courier_value_ref(
				    courier_list_get(args, 0));
				courier_value_unref(args);
				courier_value_unref(kwargs);
			}
		} else
			xasprintf(&fk->error, "fake: unexpected frame of kind "
			    "%d", (int)f->body_case);
		courier_arena_reset(&a);
	}
	courier_buf_free(&in);
	courier_arena_free(&a);
	return (fk->error == NULL);
}

/* The fake server: accept one client, read its calls, misbehave. */
static void *
fake_main(void *arg)
{
	static const uint8_t	 garbage[12] = { 0x00, 0x00, 0x00, 0x08,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t	 oversize[8] = { 0x00, 0x10, 0x00, 0x00,
	    0x08, 0x01, 0x22, 0x00 };
	static const uint8_t	 half[12] = { 0x00, 0x00, 0x01, 0x00,
	    0x08, 0x01, 0x22, 0x40, 0x0a, 0x3e, 0x0a, 0x3c };
	struct fake		*fk = arg;
	courier_value		*vals[2] = { NULL, NULL }, *stray;
	uint64_t		 ids[2] = { 0, 0 };
	uint8_t			 sink[4096];
	ssize_t			 n;
	int			 fd;
	bool			 drain = true;

	if (!fake_wait(fk->lfd) ||
	    (fd = accept4(fk->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		xasprintf(&fk->error, "fake: no client came");
		return (NULL);
	}
	if (!fake_read_calls(fk, fd, ids, vals))
		goto out;

	switch (fk->mode) {
	case FAKE_GARBAGE:
		fake_hello(fd, COURIER_PROTOCOL_VERSION);
		write_all(fd, garbage, sizeof garbage);
		break;
	case FAKE_OVERSIZE:
		fake_hello(fd, COURIER_PROTOCOL_VERSION);
		write_all(fd, oversize, sizeof oversize);
		break;
	case FAKE_HALF:
		fake_hello(fd, COURIER_PROTOCOL_VERSION);
		write_all(fd, half, sizeof half);
		drain = false;
		break;
	case FAKE_STRAY:
		fake_hello(fd, COURIER_PROTOCOL_VERSION);
		stray = courier_string("stray");
		fake_result(fd, ids[0] + 1000, stray);
		fake_error(fd, ids[0] + 2000, COURIER_INTERNAL, "stray");
		courier_value_unref(stray);
		fake_result(fd, ids[0], vals[0]);
		break;
	case FAKE_REVERSE:
		fake_hello(fd, COURIER_PROTOCOL_VERSION);
		fake_result(fd, ids[1], vals[1]);
		fake_result(fd, ids[0], vals[0]);
		break;
	case FAKE_GOODBYE:
		fake_hello(fd, COURIER_PROTOCOL_VERSION);
		fake_error(fd, 0, COURIER_RESOURCE_EXHAUSTED,
		    "your frame is too big for me");
		drain = false;
		break;
	case FAKE_BAD_HELLO:
		fake_hello(fd, 0);
		break;
	}

	/* Wait for the client to hang up: on error, or when freed. */
	while (drain && fake_wait(fd) &&
	    ((n = read(fd, sink, sizeof sink)) > 0 ||
	    (n == -1 && errno == EINTR)))
		continue;
out:
	close(fd);
	courier_value_unref(vals[0]);
	courier_value_unref(vals[1]);
	return (NULL);
}

static void
fake_start(enum fake_mode mode, int ncalls)
{
	fake.mode = mode;
	fake.ncalls = ncalls;
	ck_assert_int_eq(pthread_create(&fake.thread, NULL, fake_main,
	    &fake), 0);
	fake.started = true;
}

/* Wait for the fake server to end; it must have seen what it expected. */
static void
fake_join(void)
{
	ck_assert(fake.started);
	pthread_join(fake.thread, NULL);
	fake.started = false;
	ck_assert_msg(fake.error == NULL, "%s", fake.error);
}

/* A client of the fake server. */
static courier_client *
fake_client(void)
{
	courier_client	*c;
	char		*cause = NULL;

	c = courier_client_new(address, &cause);
	ck_assert_msg(c != NULL, "client: %s", cause);
	return (c);
}

/* Make one call that must fail with code (or alt) and a message
 * containing want. */
static void
call_fails(courier_client *c, enum courier_code code, enum courier_code alt,
    const char *want)
{
	courier_value	*v;
	courier_error	*err = NULL;

	v = courier_call_kw(c, "echo", courier_args(courier_string("x")),
	    NULL, 5000, &err);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(courier_error_code(err) == code ||
	    courier_error_code(err) == alt, "code %s: %s",
	    courier_code_name(courier_error_code(err)),
	    courier_error_message(err));
	ck_assert_msg(strstr(courier_error_message(err), want) != NULL,
	    "message \"%s\" does not mention \"%s\"",
	    courier_error_message(err), want);
	courier_error_free(err);
}

/* A reply of garbage fails the call at once, saying why. */
START_TEST(test_frame_client_garbage)
{
	courier_client	*c;

	fake_start(FAKE_GARBAGE, 1);
	c = fake_client();
	call_fails(c, COURIER_INTERNAL, COURIER_UNAVAILABLE, "malformed");
	courier_client_free(c);
	fake_join();
}
END_TEST

/* A reply over the client's frame limit is RESOURCE_EXHAUSTED. */
START_TEST(test_frame_client_oversize)
{
	courier_client	*c;

	fake_start(FAKE_OVERSIZE, 1);
	c = fake_client();
	courier_client_set_max_frame(c, 4096);
	call_fails(c, COURIER_RESOURCE_EXHAUSTED, COURIER_RESOURCE_EXHAUSTED,
	    "limit");
	courier_client_free(c);
	fake_join();
}
END_TEST

/* A server that closes in the middle of a frame fails the call with
 * UNAVAILABLE. */
START_TEST(test_frame_client_half)
{
	courier_client	*c;

	fake_start(FAKE_HALF, 1);
	c = fake_client();
	call_fails(c, COURIER_UNAVAILABLE, COURIER_UNAVAILABLE, address + 5);
	courier_client_free(c);
	fake_join();
}
END_TEST

/* Replies to unknown call ids are dropped; the real one is taken. */
START_TEST(test_frame_client_stray)
{
	courier_client	*c;
	courier_value	*v;
	courier_error	*err = NULL;

	fake_start(FAKE_STRAY, 1);
	c = fake_client();
	v = courier_call_kw(c, "echo", courier_args(courier_string("real")),
	    NULL, 5000, &err);
	ck_assert_msg(v != NULL, "call: %s", courier_error_message(err));
	ck_assert_str_eq(courier_value_string(v, NULL), "real");
	courier_value_unref(v);
	courier_client_free(c);
	fake_join();
}
END_TEST

/* Two pipelined calls answered in reverse order get their own results. */
START_TEST(test_frame_client_reverse)
{
	courier_client	*c;
	courier_future	*f1, *f2;
	courier_value	*v1, *v2;
	courier_error	*err = NULL;

	fake_start(FAKE_REVERSE, 2);
	c = fake_client();
	courier_client_set_timeout(c, 5000);
	f1 = courier_call_async(c, "echo", courier_args(courier_int(1)));
	f2 = courier_call_async(c, "echo", courier_args(courier_int(2)));
	v2 = courier_future_wait(f2, COURIER_FOREVER, &err);
	ck_assert_msg(v2 != NULL, "call 2: %s", courier_error_message(err));
	v1 = courier_future_wait(f1, COURIER_FOREVER, &err);
	ck_assert_msg(v1 != NULL, "call 1: %s", courier_error_message(err));
	ck_assert_int_eq(courier_value_int(v1), 1);
	ck_assert_int_eq(courier_value_int(v2), 2);
	courier_value_unref(v1);
	courier_value_unref(v2);
	courier_future_free(f1);
	courier_future_free(f2);
	courier_client_free(c);
	fake_join();
}
END_TEST

/* The server's error for the connection (call id 0) reaches the call. */
START_TEST(test_frame_client_goodbye)
{
	courier_client	*c;

	fake_start(FAKE_GOODBYE, 1);
	c = fake_client();
	call_fails(c, COURIER_RESOURCE_EXHAUSTED, COURIER_RESOURCE_EXHAUSTED,
	    "too big for me");
	courier_client_free(c);
	fake_join();
}
END_TEST

/* A server hello with protocol version 0 fails the call. */
START_TEST(test_frame_client_bad_hello)
{
	courier_client	*c;

	fake_start(FAKE_BAD_HELLO, 1);
	c = fake_client();
	call_fails(c, COURIER_INTERNAL, COURIER_UNAVAILABLE, "version");
	courier_client_free(c);
	fake_join();
}
END_TEST

/* The suite: one case per behaviour. */
static Suite *
frame_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("frame");
#define CASE(name, fn, set, down) do {					\
	tc = tcase_create(name);					\
	tcase_add_checked_fixture(tc, set, down);			\
	tcase_add_test(tc, fn);						\
	suite_add_tcase(s, tc);						\
} while (0)
	CASE("byte_at_a_time", test_frame_byte_at_a_time, setup, teardown);
	CASE("pipelined", test_frame_pipelined, setup, teardown);
	CASE("over_limit", test_frame_over_limit, setup_small, teardown);
	CASE("garbage", test_frame_garbage, setup, teardown);
	CASE("no_hello", test_frame_no_hello, setup, teardown);
	CASE("bad_version", test_frame_bad_version, setup, teardown);
	CASE("hello_twice", test_frame_hello_twice, setup, teardown);
	CASE("half_frame", test_frame_half_frame, setup, teardown);
	CASE("nesting_bomb", test_frame_nesting_bomb, setup, teardown);
	CASE("unknown_method", test_frame_unknown_method, setup, teardown);
	CASE("list_methods", test_frame_list_methods, setup, teardown);
	CASE("unexpected_kind", test_frame_unexpected_kind, setup, teardown);
	CASE("flood_then_close", test_frame_flood_then_close, setup, teardown);
	CASE("huge_deadline", test_frame_huge_deadline, setup, teardown);
	CASE("conn_limit", test_frame_conn_limit, setup_conns, teardown);
	CASE("per_user_limit", test_frame_per_user_limit, setup_per_user,
	    teardown);
	CASE("idle_timeout", test_frame_idle_timeout, setup_idle, teardown);
	CASE("buffer_budget", test_frame_buffer_budget, setup_budget,
	    teardown);
	CASE("client_garbage", test_frame_client_garbage, fake_setup,
	    fake_teardown);
	CASE("client_oversize", test_frame_client_oversize, fake_setup,
	    fake_teardown);
	CASE("client_half", test_frame_client_half, fake_setup,
	    fake_teardown);
	CASE("client_stray", test_frame_client_stray, fake_setup,
	    fake_teardown);
	CASE("client_reverse", test_frame_client_reverse, fake_setup,
	    fake_teardown);
	CASE("client_goodbye", test_frame_client_goodbye, fake_setup,
	    fake_teardown);
	CASE("client_bad_hello", test_frame_client_bad_hello, fake_setup,
	    fake_teardown);
#undef CASE
	return (s);
}

/* Run the suite; fail if any test did. */
int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(frame_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
