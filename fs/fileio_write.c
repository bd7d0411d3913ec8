/*
 * fileio_write.c: changing an encrypted file (docs/FORMAT.md §5.3, §5.5):
 * writes with read-modify-write of partial edge blocks, extension (append in
 * place in one pwrite, or the three steps past a gap), splitting a hole,
 * truncation up, down (TRUNC_PENDING) and to zero, and fallocate.
 *
 * The order of syscalls here is the crash-consistency argument: after each
 * one, every block reads as old or new data and the end of the file stays
 * authenticated. A write never trusts an unauthenticated gap above 0 (a gap
 * of 0 vouches for nothing) and never re-seals a block it could not open.
 * Callers hold f->lock exclusively.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio_int.h"
#include "secmem.h"

/* An old block a write must carry forward (content, gap, hole-ness). */
struct wedge {
	struct fileio_blk b;
	uint8_t pt[FORMAT_BLOCK_LEN];   /* old content, zero-padded to a full block */
};

/* One write of at most FILEIO_CHUNK bytes, planned before anything is written. */
struct wplan {
	struct fileio *f;
	const uint8_t *src;
	uint64_t off, end;              /* plaintext byte range written */
	uint64_t size, nb;              /* before the write */
	uint64_t size2, nb2;            /* after it */
	uint64_t a, b;                  /* first and last block written */
	uint32_t gap_a;                 /* holes right before block a afterwards */
	int reseal_final;               /* old final block lies before a: re-seal without LAST */
	int split;                      /* b was a hole: the next data block's gap shrinks */
	uint64_t k;                     /* that next data block */
	struct fileio_holes hc;
	struct wedge ea, eb, ef, ek;    /* blocks a, b, old final, k */
};

static int covers(const struct wplan *w, uint64_t i)
{
	uint64_t bstart = i * FORMAT_BLOCK_LEN;

	return w->off <= bstart && w->end >= bstart + fileio_blen(w->size2, i);
}

/* Block i of the old file as needed by the write: content only when the
 * write does not cover it whole. */
static int load_edge(struct wplan *w, uint64_t i, struct wedge *e)
{
	int whole = covers(w, i);
	int ret;

	memset(&e->b, 0, sizeof(e->b));
	if (i >= w->nb) {
		memset(e->pt, 0, sizeof(e->pt));
		return 0;
	}
	ret = fileio_load(w->f, w->size, i, e->pt, !whole, &w->hc, &e->b);
	if (!ret && !whole)
		memset(e->pt + e->b.len, 0, sizeof(e->pt) - e->b.len);
	return ret;
}

static int load_full(struct wplan *w, uint64_t i, struct wedge *e)
{
	struct fileio_holes hc = { 0 };
	int ret = fileio_load(w->f, w->size, i, e->pt, 1, &hc, &e->b);

	if (!ret)
		memset(e->pt + e->b.len, 0, sizeof(e->pt) - e->b.len);
	return ret;
}

static int plan_write(struct wplan *w)
{
	struct fileio *f = w->f;
	int gcm = f->cipher == FORMAT_CIPHER_GCM;
	const struct wedge *eb = w->a == w->b ? &w->ea : &w->eb;
	int ret;

	ret = load_edge(w, w->a, &w->ea);
	if (!ret && w->b != w->a)
		ret = load_edge(w, w->b, &w->eb);
	if (ret)
		return ret;
	w->reseal_final = w->nb > 0 && w->a > w->nb - 1;
	if (w->reseal_final) {
		ret = load_full(w, w->nb - 1, &w->ef);
		if (ret)
			return ret;
	}
	if (w->a < w->nb) {
		w->gap_a = w->ea.b.gap;
	} else {
		if (w->a - w->nb > UINT32_MAX)
			return -EFBIG;
		w->gap_a = (uint32_t)(w->a - w->nb);
	}
	/* Holes are never final, so b being a hole means data follows it. */
	w->split = gcm && w->b < w->nb && eb->b.hole;
	if (w->split) {
		w->k = w->hc.next;
		if (w->k <= w->b || w->k >= w->nb)
			return -EIO;
		ret = load_full(w, w->k, &w->ek);
	}
	return ret;
}

/* Plaintext of block i (new length) for sealing: edges merge into their
 * old content, covered blocks come straight from the caller's buffer. */
static const uint8_t *block_src(struct wplan *w, uint64_t i)
{
	uint64_t bstart = i * FORMAT_BLOCK_LEN;
	struct wedge *e;
	size_t lo, hi;

	if (covers(w, i))
		return w->src + (bstart - w->off);
	e = i == w->a ? &w->ea : &w->eb;
	lo = w->off > bstart ? (size_t)(w->off - bstart) : 0;
	hi = w->end < bstart + FORMAT_BLOCK_LEN ? (size_t)(w->end - bstart) : FORMAT_BLOCK_LEN;
	memcpy(e->pt + lo, w->src + (bstart + lo - w->off), hi - lo);
	return e->pt;
}

static int seal_store(struct wplan *w, uint64_t i, uint32_t flags, uint32_t gap,
		      const uint8_t *pt, size_t len)
{
	uint8_t slot[FORMAT_GCM_SLOT_LEN];
	int ret = fileio_seal(w->f, i, flags, gap, pt, len, slot);

	if (!ret)
		ret = fileio_put(w->f, slot, block_slot_len(w->f->cipher, len),
					 block_slot_offset(w->f->cipher, i));
	return ret;
}

/* Seals slots lo..b into one buffer and writes them with one pwrite. */
static int write_run(struct wplan *w, uint64_t lo)
{
	struct fileio *f = w->f;
	uint64_t stride = fileio_stride(f), fin = w->nb - 1;
	size_t bytes = (size_t)((w->b - lo) * stride) +
		       block_slot_len(f->cipher, fileio_blen(w->size2, w->b));
	uint8_t *io = fileio_iobuf(bytes);
	int ret = 0;

	if (!io)
		return -ENOMEM;
	for (uint64_t i = lo; i <= w->b && !ret; i++) {
		uint8_t *slot = io + (i - lo) * stride;

		if (w->reseal_final && i == fin) {
			/* Append in place: the old final block, padded, loses LAST. */
			ret = fileio_seal(f, i, 0, w->ef.b.gap, w->ef.pt, FORMAT_BLOCK_LEN, slot);
			continue;
		}
		ret = fileio_seal(f, i, i + 1 == w->nb2 ? FORMAT_BLOCK_LAST : 0,
				  i == w->a ? w->gap_a : 0, block_src(w, i),
				  fileio_blen(w->size2, i), slot);
	}
	if (!ret)
		ret = fileio_put(f, io, bytes, block_slot_offset(f->cipher, lo));
	return ret;
}

/* §5.5: append in place, or extend past a gap in three steps. */
static int write_blocks(struct wplan *w)
{
	uint64_t fin = w->nb - 1;
	int three = w->reseal_final && w->a > fin + 1;
	int ret;

	if (w->reseal_final && !three)
		return write_run(w, fin);
	if (three && w->ef.b.len < FORMAT_BLOCK_LEN) {
		/* (1) pad the old final block, still LAST, so its slot is full size. */
		ret = seal_store(w, fin, FORMAT_BLOCK_LAST, w->ef.b.gap, w->ef.pt, FORMAT_BLOCK_LEN);
		if (ret)
			return ret;
	}
	ret = write_run(w, w->a);                          /* (2) the new blocks */
	/* (3) drop LAST; XTS has no flags and its padded block is already final. */
	if (!ret && three && w->f->cipher == FORMAT_CIPHER_GCM)
		ret = seal_store(w, fin, 0, w->ef.b.gap, w->ef.pt, FORMAT_BLOCK_LEN);
	return ret;
}

/* §5.3: after writing into a hole, the next data block keeps only the holes
 * still in front of it. Done last: until then its larger gap is harmless. */
static int write_split(struct wplan *w)
{
	uint64_t gap = w->k - w->b - 1;

	return seal_store(w, w->k, w->k + 1 == w->nb ? FORMAT_BLOCK_LAST : 0, (uint32_t)gap,
			  w->ek.pt, w->ek.b.len);
}

static int write_prepare_header(struct fileio *f)
{
	if (f->cipher != FORMAT_CIPHER_GCM)
		return 0;
	/* §5.3: HAS_DATA but no block is a file cut to its header. */
	if (f->size == 0 && (f->hdr.flags & FORMAT_HDR_HAS_DATA)) {
		fileio_report(f, 0, "truncated");
		return -EIO;
	}
	return 0;
}

/* §5.3: HAS_DATA is set once the first block exists. Set before it, a kill
 * -9 in between would leave "HAS_DATA, no block" — a file that reads as cut
 * to its header; after it, blocks without HAS_DATA, which an open for
 * writing marks (fileio_open), as after an interrupted truncate to zero. */
static int write_mark_has_data(struct fileio *f)
{
	if (f->cipher != FORMAT_CIPHER_GCM || (f->hdr.flags & FORMAT_HDR_HAS_DATA))
		return 0;
	return fileio_header_store(f, f->hdr.flags | FORMAT_HDR_HAS_DATA, f->hdr.pending_size, 0);
}

static void wplan_wipe(struct wplan *w)
{
	secmem_wipe(w->ea.pt, sizeof(w->ea.pt));
	secmem_wipe(w->eb.pt, sizeof(w->eb.pt));
	secmem_wipe(w->ef.pt, sizeof(w->ef.pt));
	secmem_wipe(w->ek.pt, sizeof(w->ek.pt));
}

/* After a failed syscall the file may hold part of the change: believe the disk. */
static void size_resync(struct fileio *f)
{
	uint64_t size;

	if (fileio_backing_size(f, &size, NULL) == 0)
		f->size = size;
}

static int write_one(struct fileio *f, const uint8_t *src, size_t len, uint64_t off)
{
	struct wplan w = { .f = f, .src = src, .off = off, .end = off + len };
	int ret;

	w.size = f->size;
	w.nb = fileio_nblocks(w.size);
	w.size2 = w.end > w.size ? w.end : w.size;
	w.nb2 = fileio_nblocks(w.size2);
	w.a = off / FORMAT_BLOCK_LEN;
	w.b = (w.end - 1) / FORMAT_BLOCK_LEN;
	ret = write_prepare_header(f);
	if (!ret)
		ret = plan_write(&w);
	if (ret)
		goto out;
	ret = write_blocks(&w);
	if (!ret && w.split)
		ret = write_split(&w);
	if (!ret) {
		f->size = w.size2;
		ret = write_mark_has_data(f);
		goto out;
	}
	size_resync(f);
out:
	wplan_wipe(&w);
	return ret;
}

/* Pushes a sequential writer's completed window to the disk (writebehind.c).
 * Runs after f->lock is dropped, so a full device queue stalls only this
 * request. A failure is ignored: the pages stay dirty for the usual writeback. */
static void write_behind(struct fileio *f, uint64_t off, uint64_t end)
{
	uint64_t from, to, bfrom, bto;

	if (!wb_step(&f->wb, off, end, FORMAT_BLOCK_LEN, &from, &to))
		return;
	bfrom = block_slot_offset(f->cipher, from / FORMAT_BLOCK_LEN);
	bto = block_slot_offset(f->cipher, to / FORMAT_BLOCK_LEN);
	(void)sync_file_range(f->fd, (off_t)bfrom, (off_t)(bto - bfrom), SYNC_FILE_RANGE_WRITE);
}

ssize_t fileio_write(struct fileio *f, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	int ret = 0;

	if (!f->writable)
		return -EROFS;
	if (len == 0)
		return 0;
	if (off > FILEIO_MAX_SIZE || len > FILEIO_MAX_SIZE - off)
		return -EFBIG;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	pthread_rwlock_wrlock(&f->lock);
	while (done < len) {
		uint64_t o = off + done;
		/* Each piece is a complete, crash-consistent write of its own. */
		size_t n = FILEIO_CHUNK - (size_t)(o % FORMAT_BLOCK_LEN);

		if (n > len - done)
			n = len - done;
		ret = write_one(f, (const uint8_t *)buf + done, n, o);
		if (ret)
			break;
		done += n;
	}
	pthread_rwlock_unlock(&f->lock);
	if (done)
		write_behind(f, off, off + done);
	return done ? (ssize_t)done : ret;
}

/* Growing the file is writing its new last byte (a zero): same ordering. */
static int extend_to(struct fileio *f, uint64_t size)
{
	static const uint8_t zero;

	return write_one(f, &zero, 1, size - 1);
}

/*
 * §5.5 steps (2)–(4) of a truncation down to `size`: seal the new final block
 * (skipped when pt is NULL: recovery found it in place), cut, clear the intent.
 */
int fileio_trunc_finish(struct fileio *f, uint64_t size, const uint8_t *pt, uint32_t gap)
{
	uint64_t k = (size - 1) / FORMAT_BLOCK_LEN;
	uint8_t slot[FORMAT_GCM_SLOT_LEN];
	size_t len = fileio_blen(size, k);
	int ret = 0;

	if (pt) {
		ret = fileio_seal(f, k, FORMAT_BLOCK_LAST, gap, pt, len, slot);
		if (!ret)
			ret = fileio_put(f, slot, block_slot_len(f->cipher, len),
						 block_slot_offset(f->cipher, k));
	}
	if (!ret && ftruncate(f->fd, (off_t)block_backing_size(f->cipher, size)) < 0)
		ret = -errno;
	if (!ret && (f->hdr.flags & FORMAT_HDR_TRUNC_PENDING))
		ret = fileio_header_store(f, f->hdr.flags & ~FORMAT_HDR_TRUNC_PENDING, 0, 0);
	if (!ret)
		f->size = size;
	return ret;
}

static int truncate_down(struct fileio *f, uint64_t size)
{
	uint64_t k = (size - 1) / FORMAT_BLOCK_LEN;
	struct fileio_holes hc = { 0 };
	uint8_t pt[FORMAT_BLOCK_LEN];
	struct fileio_blk b;
	int ret;

	ret = fileio_load(f, f->size, k, pt, 1, &hc, &b);
	if (ret)
		goto out;
	/* (1) the intent, durable before any block changes: recovery needs it. */
	if (f->cipher == FORMAT_CIPHER_GCM) {
		ret = fileio_header_store(f, f->hdr.flags | FORMAT_HDR_TRUNC_PENDING, size, 1);
		if (ret)
			goto out;
	}
	ret = fileio_trunc_finish(f, size, pt, b.gap);
	if (ret)
		size_resync(f);
out:
	secmem_wipe(pt, sizeof(pt));
	return ret;
}

/* §5.5: (1) clear HAS_DATA, (2) cut to the header. */
static int truncate_zero(struct fileio *f)
{
	uint32_t flags = f->hdr.flags & ~(FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING);
	int ret = 0;

	if (flags != f->hdr.flags)
		ret = fileio_header_store(f, flags, 0, 0);
	if (!ret && ftruncate(f->fd, FORMAT_HEADER_LEN) < 0)
		ret = -errno;
	if (!ret)
		f->size = 0;
	return ret;
}

/* For the change record: every block between the old and the new end
 * changes (cut, or a new hole), and the size does (chglog.h). */
static int touch_between(struct fileio *f, uint64_t size)
{
	uint64_t lo = size < f->size ? size : f->size, hi = size > f->size ? size : f->size;

	return lo == hi ? 0 : chglog_touch(f->chg, f->fd, lo / FORMAT_BLOCK_LEN, fileio_nblocks(hi) - 1);
}

int fileio_truncate(struct fileio *f, uint64_t size)
{
	int ret;

	if (!f->writable)
		return -EROFS;
	if (size > FILEIO_MAX_SIZE)
		return -EFBIG;
	pthread_rwlock_wrlock(&f->lock);
	ret = touch_between(f, size);
	if (ret)
		goto out;
	if (size == 0)
		ret = truncate_zero(f);
	else if (size == f->size)
		ret = 0;
	else if (size > f->size)
		ret = extend_to(f, size);
	else
		ret = truncate_down(f, size);
out:
	pthread_rwlock_unlock(&f->lock);
	return ret;
}

/* Reserves backing space for the slots of [off, end) without changing the
 * backing size (the layout of §5.4 depends on it), then extends if needed. */
int fileio_fallocate(struct fileio *f, int mode, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, size2, a, b, start, stop;
	int ret = 0;

	if (mode != 0)
		return -EOPNOTSUPP;
	if (!f->writable)
		return -EROFS;
	if (len == 0)
		return -EINVAL;
	if (off > FILEIO_MAX_SIZE || len > FILEIO_MAX_SIZE - off)
		return -EFBIG;
	pthread_rwlock_wrlock(&f->lock);
	size2 = end > f->size ? end : f->size;
	ret = chglog_touch(f->chg, f->fd, 1, 0);       /* the allocation may move the mtime */
	if (!ret)
		ret = touch_between(f, size2);
	a = off / FORMAT_BLOCK_LEN;
	b = (end - 1) / FORMAT_BLOCK_LEN;
	start = block_slot_offset(f->cipher, a);
	stop = block_slot_offset(f->cipher, b) + block_slot_len(f->cipher, fileio_blen(size2, b));
	if (!ret && fallocate(f->fd, FALLOC_FL_KEEP_SIZE, (off_t)start, (off_t)(stop - start)) < 0 &&
	    errno != EOPNOTSUPP)
		ret = -errno;
	if (!ret && end > f->size)
		ret = extend_to(f, end);
	pthread_rwlock_unlock(&f->lock);
	return ret;
}
