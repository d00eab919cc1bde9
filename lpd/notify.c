/*
 * notify.c: what lpd tells systemd and how it gets its socket.
 *
 * sd_notify is systemd's NOTIFY_SOCKET protocol, done by hand so that lpd
 * needs no libsystemd: one datagram of "KEY=VALUE" lines to the Unix
 * socket named in NOTIFY_SOCKET ('@' starts an abstract name). Socket
 * activation is LISTEN_PID and LISTEN_FDS: the socket is fd 3.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "notify.h"

#define SD_LISTEN_FDS_START	3

/* Tell systemd something ("READY=1"); nothing if it is not listening. */
void
lpd_notify(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 sl;
	va_list			 ap;
	char			*msg;
	size_t			 len;
	int			 fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof sun.sun_path) {
		log_warn("NOTIFY_SOCKET %s: not a socket path; not telling "
		    "systemd", path);
		return;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@') {
		/* Abstract: the name has no NUL end; its length is exact. */
		sun.sun_path[0] = '\0';
		sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else
		sl = (socklen_t)sizeof sun;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sl) == -1)
		log_warn("telling systemd at %s: %s", path, strerror(errno));
	else
		log_debug("told systemd: %s", msg);
	if (fd != -1)
		close(fd);
	free(msg);
}

/*
 * The socket systemd passed (lpd.socket), or -1 if none. The variables
 * are removed so that nodes do not see them.
 */
int
lpd_listen_activated(void)
{
	const char	*pid_s, *fds_s;
	char		*end;
	long		 pid, fds;

	pid_s = getenv("LISTEN_PID");
	fds_s = getenv("LISTEN_FDS");
	if (pid_s == NULL || fds_s == NULL)
		return (-1);
	pid = strtol(pid_s, &end, 10);
	if (*end != '\0' || pid != (long)getpid())
		return (-1);
	fds = strtol(fds_s, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end != '\0' || fds < 1)
		return (-1);
	if (fds > 1)
		log_warn("socket activation: %ld sockets passed; using the "
		    "first", fds);
	return (SD_LISTEN_FDS_START);
}

/*
 * Whether a path is a socket a live server listens on. A socket file that
 * refuses connections is a dead lpd's: false, and the caller removes it.
 */
static int
socket_alive(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd, r;

	if (lstat(path, &sb) != 0)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket; remove it or "
		    "give lpd another with --socket", path);
		return (-1);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (r == 0) {
		xasprintf(cause, "another lpd already listens on %s; stop it "
		    "first, or give this one another --socket", path);
		return (1);
	}
	return (0);
}

/*
 * Make the socket's folder (0700, or 0750 with a group) and listen on
 * path: 0600, or 0660 with group gid (-1 none). A stale socket from a
 * dead lpd is removed; a live one is an error. Returns the listening fd.
 */
int
lpd_listen(const char *path, gid_t gid, bool make_dir, char **cause)
{
	struct sockaddr_un	 sun;
	char			*dir, *slash;
	mode_t			 mask;
	int			 fd, saved;

	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path %s is too long (at most %zu "
		    "bytes)", path, sizeof sun.sun_path - 1);
		return (-1);
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (make_dir && mkdir(dir, gid != (gid_t)-1 ? 0750 : 0700) == 0 &&
		    gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) != 0)
			log_warn("cannot give %s to its group: chown: %s", dir,
			    strerror(errno));
	}
	free(dir);

	switch (socket_alive(path, cause)) {
	case 0:
		break;
	case 1:
		return (-1);
	default:
		if (*cause == NULL)
			xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		xasprintf(cause, "cannot remove the stale socket %s: %s",
		    path, strerror(errno));
		return (-1);
	}

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	/* No moment where the socket is open to others. */
	mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		saved = errno;
		umask(mask);
		close(fd);
		xasprintf(cause, "cannot bind %s: %s", path, strerror(saved));
		return (-1);
	}
	umask(mask);
	if (gid != (gid_t)-1 &&
	    (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0660) != 0)) {
		saved = errno;
		close(fd);
		unlink(path);
		xasprintf(cause, "cannot give %s to group %ld: %s", path,
		    (long)gid, strerror(saved));
		return (-1);
	}
	if (listen(fd, 128) != 0) {
		saved = errno;
		close(fd);
		unlink(path);
		xasprintf(cause, "cannot listen on %s: %s", path,
		    strerror(saved));
		return (-1);
	}
	return (fd);
}
