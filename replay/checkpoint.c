/*
 * checkpoint.c: the tables of a store and their items, to a file and back.
 *
 * The file is a header, a body and a trailer, little-endian throughout:
 *   header   "LPDRPLAY" | u32 version | u32 flags (0)
 *   body     u64 next key
 *            u64 items, each: u64 key | u64 length | the value encoded
 *                as courier.SerializedObject (the wire's own codec)
 *            u64 tables, each: u32 name length | name | u8 sampler |
 *                u8 remover | f64 priority_exponent | u64 max_size |
 *                u32 max_times_sampled | f64 samples_per_insert |
 *                i64 min_size_to_sample | f64 min_diff | f64 max_diff |
 *                i64 inserts, samples, deletes | u64 rng[4] |
 *                u64 entries, in insertion order, each: u64 key |
 *                f64 priority | u32 times_sampled | u64 seq | u64 upd |
 *                u64 place in the sampler | u64 place in the remover
 *   trailer  u64 FNV-1a of header and body
 * The checksum is checked over the whole file before anything is parsed,
 * and every length against the bytes left, so a damaged file is refused
 * before it can ask for memory; a file is loaded whole or not at all.
 *
 * Writing takes a snapshot of every table at once (the locks are held
 * for pointer copies only) and encodes outside the locks.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay-int.h"

#define CKPT_MAGIC	"LPDRPLAY"
#define CKPT_HEADER	16
#define CKPT_TRAILER	8
#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

/* FNV-1a over len bytes, continuing from h. */
static uint64_t
fnv1a(uint64_t h, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return (h);
}

/* A file being written, hashing as it goes. */
struct wfile {
	FILE		*f;
	uint64_t	 hash;
};

/* Write len bytes and hash them. */
static void
put(struct wfile *w, const void *buf, size_t len)
{
	w->hash = fnv1a(w->hash, buf, len);
	fwrite(buf, 1, len, w->f);
}

/* Write a little-endian u64. */
static void
put_u64(struct wfile *w, uint64_t x)
{
	uint8_t	b[8];
	int	i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(x >> (8 * i));
	put(w, b, 8);
}

/* Write a little-endian u32. */
static void
put_u32(struct wfile *w, uint32_t x)
{
	uint8_t	b[4];
	int	i;

	for (i = 0; i < 4; i++)
		b[i] = (uint8_t)(x >> (8 * i));
	put(w, b, 4);
}

/* Write a double as its IEEE 754 bits. */
static void
put_f64(struct wfile *w, double d)
{
	uint64_t	x;

	memcpy(&x, &d, sizeof x);
	put_u64(w, x);
}

/* A table as the snapshot saw it. */
struct snap_entry {
	uint64_t	 key;
	double		 priority;
	uint32_t	 times_sampled;
	uint64_t	 seq;
	uint64_t	 upd;
	uint64_t	 pos[2];	/* places in sampler, remover */
};

struct snap_table {
	struct replay_table_config cfg;
	struct replay_limiter	 limiter;
	struct rng		 rng;
	struct snap_entry	*entries;
	size_t			 n;
};

/* Order entries by insertion. */
static int
snap_entry_cmp(const void *a, const void *b)
{
	const struct snap_entry	*x = a, *y = b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Copy table t's state; values it holds go into items (key -> value). */
static void
snap_take(struct replay_table *t, struct snap_table *st, struct keymap *items)
{
	struct replay_entry	*e;
	size_t			 i = 0;

	st->cfg = t->cfg;
	st->limiter = t->limiter;
	st->rng = t->rng;
	st->n = 0;
	st->entries = xreallocarray(NULL, t->entries.len + 1,
	    sizeof *st->entries);
	while ((e = keymap_next(&t->entries, &i)) != NULL) {
		st->entries[st->n++] = (struct snap_entry){ e->item->key,
		    e->priority, e->times_sampled, e->seq, e->upd,
		    { e->link[0].idx, e->link[1].idx } };
		if (keymap_get(items, e->item->key) == NULL)
			keymap_put(items, e->item->key,
			    courier_value_ref(e->item->value));
	}
}

/* Write the header, body and trailer. */
static int
write_body(struct wfile *w, struct replay_store *store,
    struct snap_table *snaps, size_t n, struct keymap *items, char **cause)
{
	courier_value	*v;
	uint8_t		*buf;
	size_t		 i = 0, j, len;
	struct rng	*r;

	put(w, CKPT_MAGIC, 8);
	put_u32(w, REPLAY_CHECKPOINT_VERSION);
	put_u32(w, 0);
	put_u64(w, store == NULL ? 1 : replay_store_new_key(store));
	put_u64(w, items->len);
	while ((v = keymap_next(items, &i)) != NULL) {
		if (courier_value_encode(v, &buf, &len, cause) != 0)
			return (-1);
		put_u64(w, items->slots[i - 1].key);
		put_u64(w, len);
		put(w, buf, len);
		free(buf);
	}
	put_u64(w, n);
	for (i = 0; i < n; i++) {
		len = strlen(snaps[i].cfg.name);
		put_u32(w, (uint32_t)len);
		put(w, snaps[i].cfg.name, len);
		put(w, &(uint8_t){ (uint8_t)snaps[i].cfg.sampler }, 1);
		put(w, &(uint8_t){ (uint8_t)snaps[i].cfg.remover }, 1);
		put_f64(w, snaps[i].cfg.priority_exponent);
		put_u64(w, snaps[i].cfg.max_size);
		put_u32(w, snaps[i].cfg.max_times_sampled);
		put_f64(w, snaps[i].limiter.cfg.samples_per_insert);
		put_u64(w, (uint64_t)snaps[i].limiter.cfg.min_size_to_sample);
		put_f64(w, snaps[i].limiter.cfg.min_diff);
		put_f64(w, snaps[i].limiter.cfg.max_diff);
		put_u64(w, (uint64_t)snaps[i].limiter.inserts);
		put_u64(w, (uint64_t)snaps[i].limiter.samples);
		put_u64(w, (uint64_t)snaps[i].limiter.deletes);
		r = &snaps[i].rng;
		for (j = 0; j < 4; j++)
			put_u64(w, r->s[j]);
		qsort(snaps[i].entries, snaps[i].n, sizeof *snaps[i].entries,
		    snap_entry_cmp);
		put_u64(w, snaps[i].n);
		for (j = 0; j < snaps[i].n; j++) {
			put_u64(w, snaps[i].entries[j].key);
			put_f64(w, snaps[i].entries[j].priority);
			put_u32(w, snaps[i].entries[j].times_sampled);
			put_u64(w, snaps[i].entries[j].seq);
			put_u64(w, snaps[i].entries[j].upd);
			put_u64(w, snaps[i].entries[j].pos[0]);
			put_u64(w, snaps[i].entries[j].pos[1]);
		}
	}
	put_u64(w, w->hash);
	return (0);
}

/* fsync the folder that holds path, so that a rename in it lasts. */
static int
sync_dir(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd, rc = -1;

	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return (rc);
}

/* Write the tables to path atomically. */
int
replay_checkpoint_write(const char *path, struct replay_table **tables,
    size_t n, char **cause)
{
	struct snap_table	*snaps = xcalloc(n + 1, sizeof *snaps);
	struct replay_table	**sorted;
	struct keymap		 items;
	struct wfile		 w = { NULL, FNV_OFFSET };
	courier_value		*v;
	char			*tmp = NULL;
	size_t			 i;
	int			 fd = -1, rc = -1, saved;

	keymap_init(&items);
	sorted = xcalloc(n + 1, sizeof *sorted);
	replay_tables_lock(tables, n, sorted);
	for (i = 0; i < n; i++)
		snap_take(tables[i], &snaps[i], &items);
	replay_tables_unlock(sorted, n);
	free(sorted);

	xasprintf(&tmp, "%s.tmp.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((w.f = fdopen(fd, "w")) == NULL) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto fail_unlink;
	}
	if (write_body(&w, n == 0 ? NULL : tables[0]->store, snaps, n,
	    &items, cause) != 0)
		goto fail_close;
	if (fflush(w.f) != 0 || ferror(w.f) || fsync(fd) != 0) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto fail_close;
	}
	if (fclose(w.f) != 0) {
		w.f = NULL;
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto fail_unlink;
	}
	w.f = NULL;
	if (rename(tmp, path) != 0 || sync_dir(path) != 0) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	rc = 0;
	goto out;

fail_close:
	fclose(w.f);
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
out:
	free(tmp);
	i = 0;
	while ((v = keymap_next(&items, &i)) != NULL)
		courier_value_unref(v);
	keymap_clear(&items);
	for (i = 0; i < n; i++)
		free(snaps[i].entries);
	free(snaps);
	return (rc);
}

/* A file being read from memory: a cursor that never passes the end. */
struct rfile {
	const uint8_t	*p;
	size_t		 left;
	bool		 short_read;
};

/* The next len bytes, or NULL (and short_read) past the end. */
static const uint8_t *
get(struct rfile *r, size_t len)
{
	const uint8_t	*p = r->p;

	if (r->short_read || len > r->left) {
		r->short_read = true;
		return (NULL);
	}
	r->p += len;
	r->left -= len;
	return (p);
}

/* Read a little-endian u64 (0 past the end). */
static uint64_t
get_u64(struct rfile *r)
{
	const uint8_t	*b = get(r, 8);
	uint64_t	 x = 0;
	int		 i;

	for (i = 0; b != NULL && i < 8; i++)
		x |= (uint64_t)b[i] << (8 * i);
	return (x);
}

/* Read a little-endian u32 (0 past the end). */
static uint32_t
get_u32(struct rfile *r)
{
	const uint8_t	*b = get(r, 4);
	uint32_t	 x = 0;
	int		 i;

	for (i = 0; b != NULL && i < 4; i++)
		x |= (uint32_t)b[i] << (8 * i);
	return (x);
}

/* Read a double from its bits. */
static double
get_f64(struct rfile *r)
{
	uint64_t	x = get_u64(r);
	double		d;

	memcpy(&d, &x, sizeof d);
	return (d);
}

/* Read a byte (0 past the end). */
static uint8_t
get_u8(struct rfile *r)
{
	const uint8_t	*b = get(r, 1);

	return (b == NULL ? 0 : *b);
}

/* Read one table and its entries into store; NULL with *cause. */
static struct replay_table *
read_table(struct rfile *r, struct replay_store *store, struct keymap *items,
    char **cause)
{
	struct replay_table_config	 cfg;
	struct replay_table		*t;
	struct replay_limiter		 l;
	struct rng			 rng;
	const uint8_t			*name;
	courier_value			*v;
	struct replay_entry		**order = NULL;
	uint64_t			*pos[2] = { NULL, NULL };
	char				*s;
	uint64_t			 n, i, key, seq, upd;
	uint32_t			 len, times;
	double				 priority;
	int				 j;

	memset(&cfg, 0, sizeof cfg);
	len = get_u32(r);
	if ((name = get(r, len)) == NULL)
		return (NULL);
	s = xstrndup((const char *)name, len);
	cfg.name = s;
	cfg.sampler = get_u8(r);
	cfg.remover = get_u8(r);
	cfg.priority_exponent = get_f64(r);
	cfg.max_size = get_u64(r);
	cfg.max_times_sampled = get_u32(r);
	cfg.limiter.samples_per_insert = get_f64(r);
	cfg.limiter.min_size_to_sample = (int64_t)get_u64(r);
	cfg.limiter.min_diff = get_f64(r);
	cfg.limiter.max_diff = get_f64(r);
	l.inserts = (int64_t)get_u64(r);
	l.samples = (int64_t)get_u64(r);
	l.deletes = (int64_t)get_u64(r);
	for (j = 0; j < 4; j++)
		rng.s[j] = get_u64(r);
	n = get_u64(r);
	if (r->short_read || strlen(s) != len) {
		set_cause(cause, "table %s: malformed", s);
		free(s);
		return (NULL);
	}
	t = replay_table_new(store, &cfg, cause);
	free(s);
	if (t == NULL)
		return (NULL);
	t->limiter.inserts = l.inserts;
	t->limiter.samples = l.samples;
	t->limiter.deletes = l.deletes;
	t->rng = rng;
	if (n > r->left / 44) {
		set_cause(cause, "table %s: malformed", t->name);
		goto fail;
	}
	order = xcalloc(n + 1, sizeof *order);
	pos[0] = xcalloc(n + 1, sizeof *pos[0]);
	pos[1] = xcalloc(n + 1, sizeof *pos[1]);
	for (i = 0; i < n; i++) {
		key = get_u64(r);
		priority = get_f64(r);
		times = get_u32(r);
		seq = get_u64(r);
		upd = get_u64(r);
		pos[0][i] = get_u64(r);
		pos[1][i] = get_u64(r);
		if (r->short_read) {
			set_cause(cause, "table %s: malformed", t->name);
			goto fail;
		}
		if ((v = keymap_get(items, key)) == NULL ||
		    keymap_get(&t->entries, key) != NULL) {
			set_cause(cause, "table %s: key %llu is %s", t->name,
			    (unsigned long long)key, v == NULL ?
			    "not an item of the file" : "there twice");
			goto fail;
		}
		replay_table_restore(t, replay_store_acquire(store, key, v),
		    priority, times, seq, upd);
		order[i] = keymap_get(&t->entries, key);
	}
	if (selector_arrange(&t->sampler, order, pos[0], n) != 0 ||
	    selector_arrange(&t->remover, order, pos[1], n) != 0) {
		set_cause(cause, "table %s: malformed places", t->name);
		goto fail;
	}
	free(order);
	free(pos[0]);
	free(pos[1]);
	return (t);

fail:
	free(order);
	free(pos[0]);
	free(pos[1]);
	replay_table_free(t);
	return (NULL);
}

/* Read the items into items (key -> value). */
static int
read_items(struct rfile *r, struct keymap *items, char **cause)
{
	const uint8_t	*buf;
	courier_value	*v;
	uint64_t	 n, i, key, len;
	char		*why = NULL;

	n = get_u64(r);
	for (i = 0; i < n; i++) {
		key = get_u64(r);
		len = get_u64(r);
		if ((buf = get(r, len)) == NULL) {
			set_cause(cause, "item %llu: malformed",
			    (unsigned long long)i);
			return (-1);
		}
		if ((v = courier_value_decode(buf, len, &why)) == NULL) {
			set_cause(cause, "item %llu: %s",
			    (unsigned long long)key, why);
			free(why);
			return (-1);
		}
		if (keymap_put(items, key, v) != NULL) {
			set_cause(cause, "item %llu is there twice",
			    (unsigned long long)key);
			return (-1);
		}
	}
	return (0);
}

/* Check the header and the checksum of a mapped file. */
static int
check_file(const uint8_t *p, size_t size, char **cause)
{
	struct rfile	 r = { p + size - CKPT_TRAILER, CKPT_TRAILER, false };
	uint32_t	 version;

	if (size < CKPT_HEADER + CKPT_TRAILER ||
	    memcmp(p, CKPT_MAGIC, 8) != 0) {
		set_cause(cause, "not a replay checkpoint");
		return (-1);
	}
	version = (uint32_t)p[8] | (uint32_t)p[9] << 8 |
	    (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24;
	if (version != REPLAY_CHECKPOINT_VERSION) {
		set_cause(cause, "format version %u, but this build reads "
		    "version %u", version, REPLAY_CHECKPOINT_VERSION);
		return (-1);
	}
	if (fnv1a(FNV_OFFSET, p, size - CKPT_TRAILER) != get_u64(&r)) {
		set_cause(cause, "checksum mismatch: the file is damaged or "
		    "truncated");
		return (-1);
	}
	return (0);
}

/* Parse a checked file into a new store and tables. */
static int
parse(const uint8_t *p, size_t size, struct replay_store **storep,
    struct replay_table ***tablesp, size_t *np, char **cause)
{
	struct rfile		  r = { p + CKPT_HEADER,
				    size - CKPT_HEADER - CKPT_TRAILER, false };
	struct replay_store	 *store = replay_store_new();
	struct replay_table	**tables = NULL;
	struct keymap		  items;
	courier_value		 *v;
	uint64_t		  next_key, n = 0, i, j;
	int			  rc = -1;

	keymap_init(&items);
	next_key = get_u64(&r);
	if (read_items(&r, &items, cause) != 0)
		goto out;
	n = get_u64(&r);
	if (r.short_read || n > r.left) {
		set_cause(cause, "malformed table count");
		n = 0;
		goto out;
	}
	tables = xcalloc(n + 1, sizeof *tables);
	for (i = 0; i < n; i++) {
		if ((tables[i] = read_table(&r, store, &items, cause)) == NULL)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(tables[j]->name, tables[i]->name) == 0) {
				set_cause(cause, "table %s is there twice",
				    tables[i]->name);
				goto out;
			}
		}
	}
	if (r.left != 0) {
		set_cause(cause, "%zu bytes after the last table", r.left);
		goto out;
	}
	if (next_key > 0)
		replay_store_seen(store, next_key - 1);
	rc = 0;

out:
	i = 0;
	while ((v = keymap_next(&items, &i)) != NULL)
		courier_value_unref(v);
	keymap_clear(&items);
	if (rc != 0) {
		for (i = 0; i < n; i++)
			replay_table_free(tables[i]);
		free(tables);
		replay_store_free(store);
		return (-1);
	}
	*storep = store;
	*tablesp = tables;
	*np = n;
	return (0);
}

/* Read a checkpoint whole, or nothing of it. */
int
replay_checkpoint_read(const char *path, struct replay_store **storep,
    struct replay_table ***tablesp, size_t *np, char **cause)
{
	struct stat	 sb;
	void		*p;
	char		*why = NULL;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) != 0) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	if ((size_t)sb.st_size < CKPT_HEADER + CKPT_TRAILER) {
		set_cause(cause, "%s: not a replay checkpoint (%lld bytes)",
		    path, (long long)sb.st_size);
		close(fd);
		return (-1);
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (check_file(p, (size_t)sb.st_size, &why) == 0)
		rc = parse(p, (size_t)sb.st_size, storep, tablesp, np, &why);
	munmap(p, (size_t)sb.st_size);
	if (rc != 0) {
		set_cause(cause, "%s: %s", path, why);
		free(why);
	}
	return (rc);
}
