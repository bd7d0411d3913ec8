/*
 * backend.h: where a backup repository's objects live — a local/NFS directory
 * (backend_dir.c) or an S3-compatible object store (backend_s3.c). The
 * repository code (repo_*.c) sees only named, immutable byte strings; it never
 * knows which store holds them. docs/BACKUP_FORMAT.md names the objects.
 *
 * Object names are relative, '/'-separated, [A-Za-z0-9._-] per component, e.g.
 * "config", "keys/<hex>", "data/<2 hex>/<64 hex>", "index/<64 hex>",
 * "snapshots/<64 hex>", "locks/<hex>". A name is never reused for other bytes
 * (except "locks/..." which may be deleted and "config" which is written once).
 *
 * Every function returns 0 or -errno: -ENOENT no such object, -EACCES refused
 * credentials/permissions (S3 403), -EIO transport or server failure after
 * retries, -EEXIST from backend_put_new when the object exists.
 */
#ifndef PHIFS_BACKUP_BACKEND_H
#define PHIFS_BACKUP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct backend;

struct backend_ops {
	/* Stores all of buf under name, atomically: a reader sees the whole
	 * object or none (dir: temp file + fsync + rename; S3: one PUT). */
	int (*put)(struct backend *b, const char *name, const void *buf, size_t len);
	/* Whole object into a malloc'd buffer (caller frees). */
	int (*get)(struct backend *b, const char *name, uint8_t **buf, size_t *len);
	/* len bytes at off (a pack's blob; S3: Range GET). */
	int (*get_range)(struct backend *b, const char *name, uint64_t off, size_t len, uint8_t *out);
	/* Size of an object, -ENOENT if absent. */
	int (*stat)(struct backend *b, const char *name, uint64_t *size);
	/* Every object whose name starts with prefix (all pages), in any order;
	 * cb returning non-zero stops the walk and is returned. */
	int (*list)(struct backend *b, const char *prefix,
		    int (*cb)(void *arg, const char *name, uint64_t size), void *arg);
	int (*del)(struct backend *b, const char *name);
	void (*close)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	char *url;          /* as given, for messages: never holds credentials */
	int concurrency;    /* puts the caller may run in parallel (dir 4, S3 8) */
};

/* "s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX][?region=R]" → S3, anything else a
 * directory path. create: make the directory / accept an empty bucket. */
int backend_open(const char *url, int create, struct backend **out);
int backend_s3_open(const char *url, struct backend **out);
int backend_dir_open(const char *path, int create, struct backend **out);

static inline int backend_put(struct backend *b, const char *n, const void *p, size_t l)
{ return b->ops->put(b, n, p, l); }
static inline int backend_get(struct backend *b, const char *n, uint8_t **p, size_t *l)
{ return b->ops->get(b, n, p, l); }
static inline int backend_get_range(struct backend *b, const char *n, uint64_t o, size_t l, uint8_t *p)
{ return b->ops->get_range(b, n, o, l, p); }
static inline int backend_stat(struct backend *b, const char *n, uint64_t *s)
{ return b->ops->stat(b, n, s); }
static inline int backend_list(struct backend *b, const char *pfx,
			       int (*cb)(void *, const char *, uint64_t), void *arg)
{ return b->ops->list(b, pfx, cb, arg); }
static inline int backend_del(struct backend *b, const char *n)
{ return b->ops->del(b, n); }
static inline void backend_close(struct backend *b)
{ if (b) b->ops->close(b); }

#endif
