/*
 * node-output.c: a node's output. Each pipe is read line by line (one
 * read per wake-up, through the run's one buffer); each line goes to the
 * embedder's output callback, to the node's log (gathered per read into
 * one write, through logfile.c's writer: capped, rotated, and counting
 * what a full disk loses) and to its ring of last lines, which says why a
 * node failed. A line too long comes in pieces of at most 4 KiB.
 */
#include "run.h"

/* Write the log lines gathered for one node; say when lines are lost. */
void
lpd_output_flush(struct lpd_run *run)
{
	struct run_node	*sn = run->logowner;
	int		 error;

	if (sn != NULL && sn->log != NULL && run->loglen != 0) {
		switch (lpd_log_write_lines(sn->log, run->logbuf, run->loglen,
		    run->loglines)) {
		case LPD_LOG_BROKE:
			error = lpd_log_error(sn->log, NULL);
			lpd_run_eventf(run, sn, LPD_EV_LOG, "its log cannot be "
			    "written: %s; lines are lost until it can be",
			    strerror(error != 0 ? error : EIO));
			break;
		case LPD_LOG_MENDED:
			lpd_run_event(run, sn, LPD_EV_LOG, "its log is written "
			    "again; it says how many lines were lost");
			break;
		}
	}
	run->loglen = 0;
	run->loglines = 0;
	run->logowner = NULL;
}

/* Add "line\n" to a node's log, through the run's buffer. */
static void
log_add(struct run_node *sn, const char *line, size_t len)
{
	struct lpd_run	*run = sn->n.run;

	if (sn->log == NULL)
		return;
	if (run->logowner != sn || run->loglen + len + 1 > LOGBUF_SIZE)
		lpd_output_flush(run);
	run->logowner = sn;
	memcpy(run->logbuf + run->loglen, line, len);
	run->loglen += len;
	run->logbuf[run->loglen++] = '\n';
	run->loglines++;
}

/* Keep a line in the node's ring of last lines. */
static void
ring_add(struct run_node *sn, const char *line, size_t len)
{
	unsigned		 cap = sn->n.run->log_lines;
	struct ring_line	*l;

	if (sn->ring == NULL)
		sn->ring = xcalloc(cap, sizeof *sn->ring);
	if (sn->ring_count < cap)
		l = &sn->ring[(sn->ring_head + sn->ring_count++) % cap];
	else {
		l = &sn->ring[sn->ring_head];
		sn->ring_head = (sn->ring_head + 1) % cap;
	}
	if (len > RING_LINE_MAX)
		len = RING_LINE_MAX;
	l->s = xrealloc(l->s, len + 1);
	memcpy(l->s, line, len);
	l->s[len] = '\0';
	l->len = len;
}

/* One line from a node: to the embedder, the log and the ring. */
static void
stream_line(struct stream *st, const char *line, size_t len)
{
	struct run_node	*sn = st->node;
	struct lpd_run	*run = sn->n.run;

	log_add(sn, line, len);
	ring_add(sn, line, len);
	if (run->cb.output != NULL)
		run->cb.output(run->arg, &sn->n, st->err, line, len);
}

/* A line a node wrote on another host; see lpd.h. */
void
lpd_run_node_output(struct lpd_run *run, struct lpd_node *n, bool err,
    const char *line, size_t len)
{
	struct run_node	*sn = n->priv;

	if (sn->n.run != run)
		fatalx("%s: %s is not a node of this run", __func__, n->name);
	stream_line(&sn->out[err ? 1 : 0], line, len);
}

/* Append n bytes to the partial line, which then holds at most a piece. */
static void
stream_append(struct stream *st, const char *p, size_t n)
{
	if (st->buf == NULL)
		st->buf = xmalloc(LINE_PIECE_MAX);
	memcpy(st->buf + st->len, p, n);
	st->len += n;
}

/* Split what a pipe gave into lines; a line too long comes in pieces. */
static void
stream_feed(struct stream *st, const char *p, size_t len)
{
	const char	*nl;
	size_t		 n, c;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (st->len == 0 && nl != NULL && n <= LINE_PIECE_MAX) {
			/* The common case: a whole line, used in place. */
			if (n != 0 || !st->cut)
				stream_line(st, p, n);
			st->cut = false;
			p += n + 1;
			len -= n + 1;
			continue;
		}
		while (n > 0) {
			c = LINE_PIECE_MAX - st->len;
			if (c > n)
				c = n;
			stream_append(st, p, c);
			p += c;
			len -= c;
			n -= c;
			st->cut = false;
			if (st->len == LINE_PIECE_MAX) {
				stream_line(st, st->buf, st->len);
				st->len = 0;
				st->cut = true;
			}
		}
		if (nl != NULL) {
			if (st->len != 0 || !st->cut)
				stream_line(st, st->buf, st->len);
			st->len = 0;
			st->cut = false;
			p++;
			len--;
		}
	}
}

/* Close a pipe at its end, delivering the line it did not end. */
static void
stream_close(struct stream *st)
{
	if (st->fd == -1)
		return;
	if (st->len != 0)
		stream_line(st, st->buf, st->len);
	lpd_output_flush(st->node->n.run);
	event_free(st->ev);
	st->ev = NULL;
	close(st->fd);
	st->fd = -1;
	free(st->buf);
	st->buf = NULL;
	st->len = 0;
	st->cut = false;
}

/* A node's pipe is readable: one read per wake-up, for fairness. */
void
lpd_stream_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*st = arg;
	struct lpd_run	*run = st->node->n.run;
	ssize_t		 n;

	n = read(fd, run->rbuf, READ_SIZE);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		stream_feed(st, run->rbuf, (size_t)n);
		lpd_output_flush(run);
		return;
	}
	stream_close(st);
}

/* Read what a reaped node left in a pipe, then close it. */
void
lpd_stream_drain(struct stream *st)
{
	struct lpd_run	*run = st->node->n.run;
	size_t		 total = 0;
	ssize_t		 n;

	while (st->fd != -1 && total < DRAIN_MAX) {
		n = read(st->fd, run->rbuf, READ_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		stream_feed(st, run->rbuf, (size_t)n);
		total += (size_t)n;
	}
	stream_close(st);
}

/* The last lines of a node's output, oldest first. */
char *
lpd_run_last_lines(const struct lpd_node *n)
{
	const struct run_node	*sn = n->priv;
	const struct ring_line	*l;
	unsigned		 cap = n->run->log_lines, i;
	size_t			 size = 1, off = 0;
	char			*s;

	for (i = 0; i < sn->ring_count; i++)
		size += sn->ring[(sn->ring_head + i) % cap].len + 1;
	s = xmalloc(size);
	for (i = 0; i < sn->ring_count; i++) {
		l = &sn->ring[(sn->ring_head + i) % cap];
		if (i != 0)
			s[off++] = '\n';
		memcpy(s + off, l->s, l->len);
		off += l->len;
	}
	s[off] = '\0';
	return (s);
}
