/*
 * peer.c: a hostile courier peer for the integration tests, aimed at a
 * Unix socket (lpd's control socket, a node's).
 *
 *	peer flood SOCKET METHOD
 *		say hello, then send calls of METHOD without reading any
 *		reply until the server stops reading (the socket stays full
 *		for 500 ms), then close. Exit 0 if the server paused, 1 if it
 *		read 1 GiB and never did.
 *	peer hold SOCKET N
 *		open N connections and say hello on each; print "accepted A
 *		refused R" and the first refusal's message, then keep them
 *		open until standard input ends.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"
#include "courier.pb-c.h"

#define FLOOD_MAX	(1024LL * 1024 * 1024)

/* Connect to a Unix socket; -1 on failure (said on stderr). */
static int
connect_unix(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "peer: %s: path too long\n", path);
		return (-1);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "peer: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	return (fd);
}

/* Append a hello frame to b. */
static void
pack_hello(struct courier_buf *b)
{
	Courier__Frame	 f = COURIER__FRAME__INIT;
	Courier__Hello	 h = COURIER__HELLO__INIT;

	h.protocol_version = COURIER_PROTOCOL_VERSION;
	h.agent = (char *)"peer";
	f.body_case = COURIER__FRAME__BODY_HELLO;
	f.hello = &h;
	courier_frame_pack(b, &f);
}

/* Append a call of method with no arguments to b. */
static void
pack_call(struct courier_buf *b, uint64_t id, const char *method)
{
	Courier__Frame		 f = COURIER__FRAME__INIT;
	Courier__CallRequest	 call = COURIER__CALL_REQUEST__INIT;
	Courier__CallArguments	 ca = COURIER__CALL_ARGUMENTS__INIT;

	call.method = (char *)method;
	call.arguments = &ca;
	f.call_id = id;
	f.body_case = COURIER__FRAME__BODY_CALL;
	f.call = &call;
	courier_frame_pack(b, &f);
}

/* Write all of b, blocking. */
static int
write_buf(int fd, struct courier_buf *b)
{
	ssize_t	 n;

	while (courier_buf_used(b) != 0) {
		n = send(fd, b->data + b->off, courier_buf_used(b),
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		b->off += (size_t)n;
	}
	b->off = b->len = 0;
	return (0);
}

static int
flood(const char *path, const char *method)
{
	struct courier_buf	 b = { 0 }, calls = { 0 };
	struct pollfd		 pfd;
	long long		 sent = 0;
	uint64_t		 id;
	ssize_t			 n;
	int			 fd;

	if ((fd = connect_unix(path)) == -1)
		return (2);
	pack_hello(&b);
	if (write_buf(fd, &b) != 0) {
		fprintf(stderr, "peer: hello: %s\n", strerror(errno));
		return (2);
	}
	/* A batch of calls, sent again and again. */
	for (id = 1; id <= 256; id++)
		pack_call(&calls, id, method);
	while (sent < FLOOD_MAX) {
		n = send(fd, calls.data + calls.off, courier_buf_used(&calls),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			sent += n;
			calls.off += (size_t)n;
			if (calls.off == calls.len)
				calls.off = 0;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "peer: send: %s\n", strerror(errno));
			close(fd);
			return (1);
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 500) == 0) {
			printf("paused after %lld bytes of calls\n", sent);
			close(fd);
			courier_buf_free(&b);
			courier_buf_free(&calls);
			return (0);
		}
	}
	fprintf(stderr, "peer: sent %lld bytes and the server never "
	    "paused\n", sent);
	close(fd);
	return (1);
}

static int
hold(const char *path, int n)
{
	struct courier_buf	 b = { 0 }, in = { 0 };
	struct courier_arena	 a;
	Courier__Frame		*f;
	char			*cause = NULL, *first = NULL, c;
	size_t			 need = 0;
	ssize_t			 got;
	int			 i, fd, r, accepted = 0, refused = 0;

	courier_arena_init(&a);
	for (i = 0; i < n; i++) {
		if ((fd = connect_unix(path)) == -1)
			return (2);
		pack_hello(&b);
		(void)write_buf(fd, &b);
		/* The server's first frame: its hello or why not. */
		for (;;) {
			r = courier_frame_next(&in, COURIER_MAX_FRAME_DEFAULT,
			    &a, &f, &need, &cause);
			if (r != 0)
				break;
			got = courier_buf_read(&in, fd, need);
			if (got <= 0) {
				r = -1;
				cause = xstrdup("closed with no frame");
				break;
			}
		}
		if (r == 1 && f->body_case == COURIER__FRAME__BODY_HELLO)
			accepted++;
		else {
			refused++;
			if (first == NULL)
				first = xstrdup(r == 1 && f->body_case ==
				    COURIER__FRAME__BODY_ERROR ?
				    f->error->message : cause);
			close(fd);
		}
		free(cause);
		cause = NULL;
		courier_arena_reset(&a);
		in.off = in.len = 0;
	}
	printf("accepted %d refused %d\n", accepted, refused);
	if (first != NULL)
		printf("%s\n", first);
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		/* nothing */;
	free(first);
	courier_buf_free(&b);
	courier_buf_free(&in);
	courier_arena_free(&a);
	return (0);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "flood") == 0)
		return (flood(argv[2], argv[3]));
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return (hold(argv[2], atoi(argv[3])));
	fprintf(stderr, "usage: peer flood SOCKET METHOD | "
	    "peer hold SOCKET N\n");
	return (2);
}
