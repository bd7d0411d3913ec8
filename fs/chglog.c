/*
 * chglog.c: the daemon side of the change record (docs/FORMAT.md §7.1): an
 * in-memory region bitmap per open file, filled by the write paths, and the
 * `user.phifs.chg` xattr on the backing file, written at fsync, at the
 * last close and every chg_interval while a file stays open
 * (chglog_tick.c) — never per write. The record is what lets phifs-backup read
 * only changed regions, so every rule here is about never vouching for a
 * change it did not see:
 *  - before the first change of a generation the record is marked WRITING
 *    (a daemon killed before the store leaves an untrusted record);
 *  - a record continues its lineage only while the backing file's mtime and
 *    size are exactly what it recorded; anything else (an offline tool, a
 *    copy, a journal replay) starts a new random lineage;
 *  - it is stored only once the coarse clock has passed the file's mtime, so
 *    any later change, by whatever path, gives a different mtime.
 * Callers (fileio*.c) hold the file's lock exclusively. Does not own the
 * layout (chglog_rec.c) or the backup's use of it (cmd_backup.c).
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>

#include "chglog.h"
#include "chglog_rec.h"
#include "cipher.h"
#include "hdrlock.h"
#include "log.h"

/* A coarse tick is 1–10 ms. An mtime further ahead (set by utimensat) is
 * not waited for: the record then stays WRITING, untrusted. */
#define RACY_WAIT_MS 20

/* rec and dirty (~40 KiB) exist only while a generation is open, so files
 * opened without writing cost a few bytes. */
struct chglog {
	int off;                     /* not tracked (no user xattrs, or no memory) */
	int writing;                 /* a generation is open: rec and dirty are allocated */
	int renew;                   /* the next store starts a new lineage */
	struct chglog_rec *rec;      /* the record as it will be stored */
	struct chglog_bits *dirty;   /* regions written in the open generation */
};

struct chglog *chglog_new(void)
{
	return calloc(1, sizeof(struct chglog));
}

static void close_gen(struct chglog *c)
{
	free(c->rec);
	free(c->dirty);
	c->rec = NULL;
	c->dirty = NULL;
	c->writing = 0;
}

void chglog_free(struct chglog *c)
{
	if (c)
		close_gen(c);
	free(c);
}

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Once per daemon: the backing file system cannot hold the record. */
static void unsupported(struct chglog *c)
{
	static atomic_int said;

	c->off = 1;
	if (!atomic_exchange(&said, 1))
		log_msg(LOG_NOTICE, "backing file system has no user xattrs: no change records, "
			"backups read changed files whole");
}

static int put_raw(int fd, const struct chglog_rec *r)
{
	uint8_t buf[CHGLOG_REC_MAX];
	size_t len;
	int ret = chglog_rec_encode(r, buf, sizeof(buf), &len);

	if (ret)
		return ret;
	return fsetxattr(fd, CHGLOG_XATTR, buf, len, 0) == 0 ? 0 : -errno;
}

static int put(struct chglog *c, int fd, const struct chglog_rec *r)
{
	int ret = put_raw(fd, r);

	if (ret == -ENOTSUP)
		unsupported(c);
	return ret;
}

static int load(int fd, struct chglog_rec *r)
{
	uint8_t buf[CHGLOG_REC_MAX];
	ssize_t n = fgetxattr(fd, CHGLOG_XATTR, buf, sizeof(buf));

	return n > 0 && chglog_rec_decode(buf, (size_t)n, r) == 0;
}

static int fresh(struct chglog_rec *r)
{
	memset(r, 0, sizeof(*r));
	return cipher_random(r->id, sizeof(r->id));
}

/* The first change of a generation: continue the lineage only when the
 * backing file is exactly as the record says, then mark it WRITING. Under the
 * header lock, so that a header rewrite (chglog_hdr_prepare/commit) sees
 * either this WRITING mark or no generation at all: without the lock the
 * write fails, as the rewrite could vouch for it. */
static int begin(struct chglog *c, int fd)
{
	struct stat st;
	int ret = hdrlock_acquire(fd);

	if (ret)
		return ret;
	c->rec = calloc(1, sizeof(*c->rec));
	c->dirty = calloc(1, sizeof(*c->dirty));
	ret = !c->rec || !c->dirty ? -ENOMEM : fstat(fd, &st) < 0 ? -errno : 0;
	if (!ret && (!load(fd, c->rec) ||
		     !chglog_rec_vouches(c->rec, ns(st.st_mtim), (uint64_t)st.st_size)))
		ret = fresh(c->rec);
	if (!ret) {
		c->rec->flags |= CHGLOG_F_WRITING;
		ret = put(c, fd, c->rec);
	}
	if (!ret) {
		c->writing = 1;
		goto out;
	}
	close_gen(c);
	if (c->off) {
		ret = 0;            /* ENOTSUP: untracked from now on */
	} else if (fremovexattr(fd, CHGLOG_XATTR) == 0 || errno == ENODATA) {
		c->off = 1;         /* no record is as safe as a WRITING one */
		ret = 0;
	}
out:
	hdrlock_release(fd);
	return ret;
}

int chglog_touch(struct chglog *c, int fd, uint64_t first, uint64_t last)
{
	int ret = 0;

	if (!c || c->off)
		return 0;
	if (!c->writing)
		ret = begin(c, fd);
	if (!ret && c->writing)
		chglog_bits_mark(c->dirty, first, last);
	return ret;
}

int chglog_touch_all(struct chglog *c, int fd)
{
	int ret = chglog_touch(c, fd, 1, 0);

	if (c)
		c->renew = 1;
	return ret;
}

/* Until the coarse clock (the one file times come from) is past the mtime:
 * a change after that cannot leave the mtime as recorded. */
static int wait_past(int64_t mtime_ns, int wait_ms, int64_t *now_ns)
{
	struct timespec t, nap = { 0, 1000000 };

	for (int i = 0;; i++) {
		clock_gettime(CLOCK_REALTIME_COARSE, &t);
		*now_ns = ns(t);
		if (*now_ns > mtime_ns)
			return 0;
		if (i >= wait_ms)
			return -EAGAIN;
		nanosleep(&nap, NULL);
	}
}

static void cover(struct chglog_bits *b, uint64_t nblocks)
{
	uint64_t n;

	if (!nblocks)
		return;
	while (((nblocks - 1) >> b->shift) >= CHGLOG_REGIONS)
		chglog_bits_coarsen(b, b->shift + 1u);
	n = ((nblocks - 1) >> b->shift) + 1;
	if (n > b->nreg)
		b->nreg = (uint32_t)n;
}

static int store(struct chglog *c, int fd, uint64_t nblocks, int wait_ms)
{
	struct chglog_rec *n = NULL;
	struct stat st;
	int64_t now;
	int ret;

	if (!c || c->off || !c->writing)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	ret = wait_past(ns(st.st_mtim), wait_ms, &now);
	if (ret)
		return ret;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *c->rec;
	ret = c->renew ? fresh(n) : 0;
	if (ret)
		goto out;
	cover(c->dirty, nblocks);
	chglog_rec_append(n, c->dirty, (uint64_t)(now / 1000000000));
	chglog_rec_fit(n);
	n->flags &= (uint8_t)~CHGLOG_F_WRITING;
	n->mtime_ns = ns(st.st_mtim);
	n->size = (uint64_t)st.st_size;
	n->stored_ns = now;
	ret = put(c, fd, n);
	if (ret)
		goto out;
	c->renew = 0;
	close_gen(c);
out:
	free(n);
	return ret;
}

/* Header rewrites outside the write paths (FORMAT.md §7.1 rule 6). */
struct chglog_rec *chglog_hdr_prepare(int fd)
{
	struct chglog_rec *r = malloc(sizeof(*r));
	struct stat st;

	if (r && fstat(fd, &st) == 0 && load(fd, r) &&
	    chglog_rec_vouches(r, ns(st.st_mtim), (uint64_t)st.st_size))
		return r;
	free(r);
	return NULL;
}

void chglog_hdr_commit(int fd, struct chglog_rec *r, int written)
{
	struct chglog_bits *none = NULL;
	struct stat st;
	int64_t now;

	if (!r || !written || fstat(fd, &st) < 0 || r->size != (uint64_t)st.st_size ||
	    wait_past(ns(st.st_mtim), RACY_WAIT_MS, &now) || !(none = calloc(1, sizeof(*none))))
		goto out;
	chglog_rec_append(r, none, (uint64_t)(now / 1000000000));
	chglog_rec_fit(r);
	r->mtime_ns = ns(st.st_mtim);
	r->stored_ns = now;
	(void)put_raw(fd, r);   /* failing, the record names the old mtime: read whole */
out:
	free(none);
	free(r);
}

void chglog_store(struct chglog *c, int fd, uint64_t nblocks)
{
	(void)store(c, fd, nblocks, RACY_WAIT_MS);
}

int chglog_store_now(struct chglog *c, int fd, uint64_t nblocks)
{
	int ret = store(c, fd, nblocks, 0);

	return ret == -EAGAIN ? ret : 0;
}
