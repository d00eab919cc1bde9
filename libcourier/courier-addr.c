/*
 * courier-addr.c: the two kinds of address, "unix:PATH" and
 * "tcp:HOST:PORT", and the sockets behind them. Every socket is
 * non-blocking and close-on-exec from the start.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "courier-internal.h"

#define SUN_PATH_MAX	(sizeof ((struct sockaddr_un *)0)->sun_path)

/* Parse an address; fills a, which courier_addr_clear() empties. */
int
courier_addr_parse(const char *address, struct courier_addr *a, char **cause)
{
	const char	*rest, *colon, *host, *port;
	char		*end;
	size_t		 hostlen;
	unsigned long	 n;

	memset(a, 0, sizeof *a);
	if (address == NULL) {
		set_cause(cause, "no address");
		return (-1);
	}
	if (strncmp(address, "unix:", 5) == 0) {
		rest = address + 5;
		if (*rest == '\0' || (rest[0] == '@' && rest[1] == '\0')) {
			set_cause(cause, "%s: the path is empty", address);
			return (-1);
		}
		if (strlen(rest) >= SUN_PATH_MAX) {
			set_cause(cause, "%s: the path is longer than %zu "
			    "bytes; use a shorter folder", address,
			    SUN_PATH_MAX - 1);
			return (-1);
		}
		a->family = AF_UNIX;
		a->path = xstrdup(rest);
		return (0);
	}
	if (strncmp(address, "tcp:", 4) == 0) {
		rest = address + 4;
		if ((colon = strrchr(rest, ':')) == NULL) {
			set_cause(cause, "%s: expected tcp:HOST:PORT",
			    address);
			return (-1);
		}
		host = rest;
		hostlen = (size_t)(colon - rest);
		if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']') {
			host++;
			hostlen -= 2;
		} else if (memchr(host, ':', hostlen) != NULL) {
			set_cause(cause, "%s: put an IPv6 address in brackets, "
			    "as tcp:[::1]:PORT", address);
			return (-1);
		}
		if (hostlen == 0) {
			set_cause(cause, "%s: the host is empty", address);
			return (-1);
		}
		port = colon + 1;
		errno = 0;
		n = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || errno != 0 ||
		    n > 65535 || *port == '-' || *port == '+') {
			set_cause(cause, "%s: the port must be a number from "
			    "0 to 65535", address);
			return (-1);
		}
		a->family = AF_INET;	/* or AF_INET6: getaddrinfo decides */
		a->host = xstrndup(host, hostlen);
		a->port = xstrdup(port);
		return (0);
	}
	set_cause(cause, "%s: an address starts with unix: or tcp:", address);
	return (-1);
}

/* Free what courier_addr_parse() filled. */
void
courier_addr_clear(struct courier_addr *a)
{
	free(a->path);
	free(a->host);
	free(a->port);
	memset(a, 0, sizeof *a);
}

/* Check an address's form. */
bool
courier_address_valid(const char *address, char **cause)
{
	struct courier_addr	 a;

	if (courier_addr_parse(address, &a, cause) != 0)
		return (false);
	courier_addr_clear(&a);
	return (true);
}

/* Fill a sockaddr_un for a path ('@' first: abstract); returns its size. */
static socklen_t
unix_sockaddr(const char *path, struct sockaddr_un *sun)
{
	size_t	 len = strlen(path);

	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	if (path[0] == '@') {
		sun->sun_path[0] = '\0';
		return ((socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len));
	}
	return ((socklen_t)sizeof *sun);
}

/* Turn off Nagle on TCP sockets: calls are small and latency matters. */
void
courier_socket_tune(int fd)
{
	int	 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Whether a server answers at a Unix socket path. */
static bool
unix_alive(const struct sockaddr_un *sun, socklen_t len)
{
	int	 fd, alive;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (false);
	alive = connect(fd, (const struct sockaddr *)sun, len) == 0;
	close(fd);
	return (alive);
}

/* Bind and listen on a Unix socket, replacing a stale socket file. */
static int
listen_unix(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	socklen_t		 len;
	int			 fd, saved;

	len = unix_sockaddr(path, &sun);
	if (path[0] != '@' && lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			set_cause(cause, "unix:%s: the path exists and is not "
			    "a socket", path);
			return (-1);
		}
		if (unix_alive(&sun, len)) {
			set_cause(cause, "unix:%s: address in use: a server "
			    "is listening there", path);
			return (-1);
		}
		if (unlink(path) != 0 && errno != ENOENT) {
			set_cause(cause, "unix:%s: cannot remove the stale "
			    "socket: %s", path, strerror(errno));
			return (-1);
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		set_cause(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		saved = errno;
		close(fd);
		set_cause(cause, "unix:%s: %s", path, strerror(saved));
		return (-1);
	}
	return (fd);
}

/* Bind and listen on the first address HOST:PORT resolves to. */
static int
listen_tcp(const char *host, const char *port, char **cause)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, error, one = 1, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		set_cause(cause, "tcp:%s:%s: %s", host, port,
		    gai_strerror(error));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		set_cause(cause, "tcp:%s:%s: %s", host, port, strerror(saved));
	return (fd);
}

/* Bind and listen on an address; the fd, or -1 with *cause. */
int
courier_addr_listen(const struct courier_addr *a, char **cause)
{
	if (a->family == AF_UNIX)
		return (listen_unix(a->path, cause));
	return (listen_tcp(a->host, a->port, cause));
}

/*
 * Start connecting to a; *fdp gets a non-blocking socket. Returns 0 once
 * connected, 1 while in progress (wait for POLLOUT, then SO_ERROR), or -1
 * with errno and *cause.
 */
int
courier_addr_connect(const struct courier_addr *a, int *fdp, char **cause)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res, *ai;
	socklen_t		 len;
	int			 fd, error, saved = ECONNREFUSED;

	*fdp = -1;
	if (a->family == AF_UNIX) {
		len = unix_sockaddr(a->path, &sun);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1) {
			saved = errno;
			set_cause(cause, "socket: %s", strerror(saved));
			errno = saved;
			return (-1);
		}
		if (connect(fd, (struct sockaddr *)&sun, len) != 0) {
			/* EAGAIN is a full backlog: the caller retries. */
			saved = errno;
			close(fd);
			set_cause(cause, "unix:%s: %s", a->path,
			    strerror(saved));
			errno = saved;
			return (-1);
		}
		*fdp = fd;
		return (0);
	}

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
		set_cause(cause, "tcp:%s:%s: %s", a->host, a->port,
		    gai_strerror(error));
		errno = EHOSTUNREACH;
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		courier_socket_tune(fd);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			freeaddrinfo(res);
			*fdp = fd;
			return (0);
		}
		saved = errno;
		if (saved == EINPROGRESS) {
			freeaddrinfo(res);
			*fdp = fd;
			return (1);
		}
		close(fd);
	}
	freeaddrinfo(res);
	set_cause(cause, "tcp:%s:%s: %s", a->host, a->port, strerror(saved));
	errno = saved;
	return (-1);
}

/* The address a bound socket has, in the form courier_addr_parse() reads. */
char *
courier_addr_of_fd(int fd)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = sizeof ss;
	char			 host[INET6_ADDRSTRLEN], *s;
	size_t			 plen;

	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return (NULL);
	switch (ss.ss_family) {
	case AF_UNIX:
		plen = len - offsetof(struct sockaddr_un, sun_path);
		if (plen > 0 && sun->sun_path[0] == '\0') {
			xasprintf(&s, "unix:@%.*s", (int)plen - 1,
			    sun->sun_path + 1);
			return (s);
		}
		xasprintf(&s, "unix:%.*s", (int)strnlen(sun->sun_path,
		    plen), sun->sun_path);
		return (s);
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		xasprintf(&s, "tcp:%s:%u", host, ntohs(sin->sin_port));
		return (s);
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		xasprintf(&s, "tcp:[%s]:%u", host, ntohs(sin6->sin6_port));
		return (s);
	}
	return (NULL);
}
