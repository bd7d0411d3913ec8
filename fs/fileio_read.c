/*
 * fileio_read.c: turning slots back into plaintext (docs/FORMAT.md §5.1–§5.3,
 * §5.5): which flags each block must open with, when an all-zero slot may read
 * as a hole (only where the next data block's authenticated gap says so),
 * scanning past sparse backing ranges, the read path itself and
 * SEEK_DATA/SEEK_HOLE in plaintext terms.
 *
 * Every authentication failure is reported exactly once per failing block
 * through hook.c and turned into -EIO for the call; other calls go on working.
 * A read moves each contiguous run of up to 1 MiB with one pread into a
 * per-thread buffer and decrypts whole blocks straight into the caller's buffer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio_int.h"
#include "secmem.h"

int fileio_seal(const struct fileio *f, uint64_t i, uint32_t flags, uint32_t gap,
		const uint8_t *pt, size_t len, uint8_t *slot)
{
	if (f->cipher == FORMAT_CIPHER_XTS)
		return block_xts_encrypt(f->fk->block_key, f->fk->tail_key, i, pt, len, slot);
	return block_gcm_seal(f->fk->block_key, f->fk->file_id, i, flags, gap, pt, len, slot);
}

/*
 * Opens GCM data block i of a file of nb blocks: 0, 1 when accepted as a torn
 * extension (§5.5), -EBADMSG with *why set, or another -errno.
 */
int fileio_open_data(const struct fileio *f, uint64_t nb, uint64_t i, const uint8_t *slot,
		     size_t len, uint8_t *pt, uint32_t *gap, const char **why)
{
	const uint8_t *key = f->fk->block_key, *id = f->fk->file_id;
	size_t sl = len + FORMAT_GCM_OVERHEAD;
	int final = i + 1 == nb;
	int ret;

	ret = block_gcm_open(key, id, i, final ? FORMAT_BLOCK_LAST : 0, slot, sl, pt, gap);
	if (ret != -EBADMSG)
		return ret;
	*why = "tag mismatch";
	if (!final) {
		/* Authentic data of an extension that stopped before step (3). */
		ret = block_gcm_open(key, id, i, FORMAT_BLOCK_LAST, slot, sl, pt, gap);
		return ret == 0 ? 1 : ret;
	}
	/* A final block sealed without LAST is how a cut at a block boundary looks. */
	ret = block_gcm_open(key, id, i, 0, slot, sl, pt, gap);
	if (ret == 0) {
		secmem_wipe(pt, len);
		*why = "truncated";
		ret = -EBADMSG;
	}
	return ret;
}

/*
 * A slot of zeros is a hole — except an XTS final block: every write and every
 * extension writes the final block, and a short XTS tail is XORed with a pad,
 * so for 1 in 256 one-byte tails its ciphertext is really 0x00.
 */
static int slot_is_hole(const struct fileio *f, uint64_t size, uint64_t i, const uint8_t *slot,
			size_t need)
{
	if (f->cipher == FORMAT_CIPHER_XTS && i + 1 == fileio_nblocks(size))
		return 0;
	return block_is_zero(slot, need);
}

static void window_slot(const struct fileio *f, const struct fileio_window *w, uint64_t i,
			const uint8_t **slot, size_t *avail)
{
	uint64_t off = (i - w->first) * fileio_stride(f);

	*slot = off < w->got ? w->buf + off : w->buf;
	*avail = off < w->got ? w->got - (size_t)off : 0;
}

/* First slot of [j, j + FILEIO_SCAN_SLOTS) that is not wholly present and
 * zero: 1 with *k set, or 0 and *next = the slot after the batch. */
static int scan_batch(const struct fileio *f, uint64_t size, uint64_t j, uint8_t *sb,
		      uint64_t *k, uint64_t *next)
{
	uint64_t nb = fileio_nblocks(size), last = j + FILEIO_SCAN_SLOTS - 1, start;
	struct fileio_window w;
	size_t bytes, got;
	int ret;

	if (last >= nb)
		last = nb - 1;
	start = block_slot_offset(f->cipher, j);
	bytes = block_slot_offset(f->cipher, last) - start +
		block_slot_len(f->cipher, fileio_blen(size, last));
	ret = fdio_pread(f->fd, sb, bytes, start, &got);
	if (ret)
		return ret;
	w = (struct fileio_window){ j, sb, got };
	for (uint64_t m = j; m <= last; m++) {
		size_t need = block_slot_len(f->cipher, fileio_blen(size, m)), avail;
		const uint8_t *slot;

		window_slot(f, &w, m, &slot, &avail);
		if (avail < need || !slot_is_hole(f, size, m, slot, need)) {
			*k = m;
			return 1;
		}
	}
	*next = last + 1;
	return 0;
}

/*
 * The first block >= from whose slot is not all zeros (nb if none). Sparse
 * backing ranges are skipped with SEEK_DATA, so a hole of gigabytes costs a
 * few syscalls; a slot missing at EOF counts as data (its check fails later).
 */
int fileio_next_data(const struct fileio *f, uint64_t size, uint64_t from, uint64_t *k)
{
	uint64_t nb = fileio_nblocks(size), j = from;
	uint8_t *sb = fileio_scanbuf();
	int ret;

	if (!sb)
		return -ENOMEM;
	while (j < nb) {
		uint64_t off = block_slot_offset(f->cipher, j);
		off_t d = lseek(f->fd, (off_t)off, SEEK_DATA);

		if (d < 0 && errno == ENXIO)
			break;
		if (d < 0 && errno != EINVAL)
			return -errno;
		/* Slots ending at or before d lie wholly in a backing hole. */
		if (d > (off_t)off) {
			uint64_t jd = ((uint64_t)d - FORMAT_HEADER_LEN) / fileio_stride(f);

			if (jd > j)
				j = jd;
			if (j >= nb)
				break;
		}
		ret = scan_batch(f, size, j, sb, k, &j);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	*k = nb;
	return 0;
}

/* Authenticates data block k (from w when it holds it) and returns its gap. */
static int auth_gap_in(const struct fileio *f, uint64_t size, uint64_t k,
		       const struct fileio_window *w, uint32_t *gap)
{
	size_t len = fileio_blen(size, k), need = len + FORMAT_GCM_OVERHEAD, avail = 0;
	uint8_t buf[FORMAT_GCM_SLOT_LEN], pt[FORMAT_BLOCK_LEN];
	const uint8_t *slot = buf;
	const char *why;
	int ret = 0;

	if (w && k >= w->first)
		window_slot(f, w, k, &slot, &avail);
	if (avail < need) {
		slot = buf;
		ret = fdio_pread(f->fd, buf, need, block_slot_offset(f->cipher, k), &avail);
		if (!ret && avail < need)
			ret = -EBADMSG;
	}
	if (!ret)
		ret = fileio_open_data(f, fileio_nblocks(size), k, slot, len, pt, gap, &why);
	secmem_wipe(pt, sizeof(pt));
	return ret < 0 ? ret : 0;
}

int fileio_auth_gap(const struct fileio *f, uint64_t size, uint64_t k, uint32_t *gap)
{
	return auth_gap_in(f, size, k, NULL, gap);
}

/* Next non-zero slot after i inside w: 1 with *k, or 0 with *resume = first
 * slot not wholly in w. */
static int window_next_data(const struct fileio *f, uint64_t size,
			    const struct fileio_window *w, uint64_t i, uint64_t *k,
			    uint64_t *resume)
{
	uint64_t nb = fileio_nblocks(size);

	for (uint64_t j = i + 1; j < nb; j++) {
		size_t need = block_slot_len(f->cipher, fileio_blen(size, j)), avail;
		const uint8_t *slot;

		window_slot(f, w, j, &slot, &avail);
		if (avail < need) {
			*resume = j;
			return 0;
		}
		if (!block_is_zero(slot, need)) {
			*k = j;
			return 1;
		}
	}
	*k = nb;
	return 1;
}

/*
 * §5.3: a zero slot at i is a hole only if the next data block k carries
 * gap >= k - i. Fills hc with the proven run; -EBADMSG when no authentic data
 * block ends the run. One proof serves every later candidate before k.
 */
static int prove_hole(const struct fileio *f, uint64_t size, uint64_t i,
		      const struct fileio_window *w, struct fileio_holes *hc)
{
	uint64_t nb = fileio_nblocks(size), k, resume;
	uint32_t gap;
	int ret;

	if (hc->next && hc->from <= i && i < hc->next)
		return 0;
	if (!window_next_data(f, size, w, i, &k, &resume)) {
		ret = fileio_next_data(f, size, resume, &k);
		if (ret)
			return ret;
	}
	if (k >= nb)
		return -EBADMSG;
	ret = auth_gap_in(f, size, k, w, &gap);
	if (ret)
		return ret;
	if (gap > k)
		return -EBADMSG;
	hc->from = i;
	hc->run = k - gap;
	hc->next = k;
	return 0;
}

static int decode_hole(const struct fileio *f, uint64_t size, uint64_t i,
		       const struct fileio_window *w, uint8_t *pt, struct fileio_holes *hc,
		       struct fileio_blk *b)
{
	int ret = 0;

	b->hole = 1;
	if (f->cipher == FORMAT_CIPHER_GCM) {
		/* The final block is always sealed data: zeros there are never a hole. */
		ret = i + 1 < fileio_nblocks(size) ? prove_hole(f, size, i, w, hc) : -EBADMSG;
		if (!ret && i < hc->run)
			ret = -EBADMSG;
		if (ret == -EBADMSG) {
			fileio_report(f, i, "zeroed block");
			return -EIO;
		}
		if (ret)
			return ret;
		b->gap = (uint32_t)(i - hc->run);
	}
	memset(pt, 0, b->len);
	return 0;
}

/*
 * Block i of a file of `size` bytes, its slot inside w, into pt (b->len
 * bytes). -EIO, reported once, when it does not authenticate.
 */
int fileio_decode(const struct fileio *f, uint64_t size, uint64_t i,
		  const struct fileio_window *w, uint8_t *pt, struct fileio_holes *hc,
		  struct fileio_blk *b)
{
	size_t len = fileio_blen(size, i), need = block_slot_len(f->cipher, len), avail;
	const char *why = "tag mismatch";
	const uint8_t *slot;
	int ret;

	b->len = len;
	b->gap = 0;
	b->hole = 0;
	window_slot(f, w, i, &slot, &avail);
	if (avail < need) {
		fileio_report(f, i, "truncated");
		return -EIO;
	}
	if (slot_is_hole(f, size, i, slot, need))
		return decode_hole(f, size, i, w, pt, hc, b);
	if (f->cipher == FORMAT_CIPHER_XTS)
		return block_xts_decrypt(f->fk->block_key, f->fk->tail_key, i, slot, len, pt);
	ret = fileio_open_data(f, fileio_nblocks(size), i, slot, len, pt, &b->gap, &why);
	if (ret == -EBADMSG) {
		fileio_report(f, i, why);
		return -EIO;
	}
	return ret < 0 ? ret : 0;
}

/*
 * One block with its own pread (edges of a write, truncation). need_pt 0: the
 * caller overwrites it whole and wants only its gap and whether it is a hole;
 * a data slot whose gap field is 0 is then taken without decrypting, since a
 * gap of 0 vouches for nothing.
 */
int fileio_load(const struct fileio *f, uint64_t size, uint64_t i, uint8_t *pt, int need_pt,
		struct fileio_holes *hc, struct fileio_blk *b)
{
	size_t len = fileio_blen(size, i), need = block_slot_len(f->cipher, len), got;
	uint8_t slot[FORMAT_GCM_SLOT_LEN];
	struct fileio_window w;
	int ret;

	ret = fdio_pread(f->fd, slot, need, block_slot_offset(f->cipher, i), &got);
	if (ret)
		return ret;
	if (!need_pt && got == need && !slot_is_hole(f, size, i, slot, need) &&
	    (f->cipher == FORMAT_CIPHER_XTS || block_gcm_slot_gap(slot) == 0)) {
		*b = (struct fileio_blk){ .len = len };
		return 0;
	}
	w = (struct fileio_window){ i, slot, got };
	return fileio_decode(f, size, i, &w, pt, hc, b);
}

/* How far ahead of a sequential reader the backing file is prefetched. */
#define READ_AHEAD_BYTES (8u << 20)

/*
 * A cold sequential read is bound by the backing disk's queue, not by the
 * crypto: the kernel's FUSE readahead asks for one chunk at a time, so the
 * backing file sees one pread in flight. When reads follow each other, tell
 * the backing file to fetch the next READ_AHEAD_BYTES (POSIX_FADV_WILLNEED
 * starts the I/O and returns), half a window at a time. Runs under the
 * shared lock: the two offsets are atomics, and a lost race only costs an
 * extra or a missing hint.
 */
static void read_ahead(struct fileio *f, uint64_t start, uint64_t end)
{
	uint64_t next = atomic_exchange_explicit(&f->ra_next, end, memory_order_relaxed);
	uint64_t until = atomic_load_explicit(&f->ra_until, memory_order_relaxed);

	if (start != next)
		return;
	if (until >= end + READ_AHEAD_BYTES / 2)
		return;
	if (until < end)
		until = end;
	atomic_store_explicit(&f->ra_until, until + READ_AHEAD_BYTES, memory_order_relaxed);
	(void)posix_fadvise(f->fd, (off_t)until, READ_AHEAD_BYTES, POSIX_FADV_WILLNEED);
}

/* [off, off + len) within one chunk: one pread, then block by block. */
static int read_chunk(struct fileio *f, uint64_t size, uint8_t *dst, size_t len,
		      uint64_t off, struct fileio_holes *hc)
{
	uint64_t first = off / FORMAT_BLOCK_LEN, last = (off + len - 1) / FORMAT_BLOCK_LEN;
	uint64_t start = block_slot_offset(f->cipher, first);
	size_t bytes = block_slot_offset(f->cipher, last) - start +
		       block_slot_len(f->cipher, fileio_blen(size, last));
	uint8_t tmp[FORMAT_BLOCK_LEN], *io = fileio_iobuf(bytes);
	struct fileio_window w;
	struct fileio_blk b;
	size_t got;
	int ret;

	if (!io)
		return -ENOMEM;
	ret = fdio_pread(f->fd, io, bytes, start, &got);
	if (!ret)
		read_ahead(f, start, start + got);
	w = (struct fileio_window){ first, io, got };
	for (uint64_t i = first; i <= last && !ret; i++) {
		uint64_t bstart = i * FORMAT_BLOCK_LEN;
		size_t blen = fileio_blen(size, i);
		size_t lo = off > bstart ? (size_t)(off - bstart) : 0;
		size_t hi = (off + len < bstart + blen ? (size_t)(off + len - bstart) : blen);
		int whole = lo == 0 && hi == blen;

		/* Whole blocks decrypt straight into the caller's buffer. */
		ret = fileio_decode(f, size, i, &w, whole ? dst + (bstart - off) : tmp, hc, &b);
		if (!ret && !whole)
			memcpy(dst + (bstart + lo - off), tmp + lo, hi - lo);
	}
	secmem_wipe(tmp, sizeof(tmp));
	return ret;
}

ssize_t fileio_read(struct fileio *f, void *buf, size_t len, uint64_t off)
{
	ssize_t ret;

	if (len == 0)
		return 0;
	pthread_rwlock_rdlock(&f->lock);
	ret = fileio_read_locked(f, buf, len, off);
	pthread_rwlock_unlock(&f->lock);
	return ret;
}

ssize_t fileio_read_locked(struct fileio *f, void *buf, size_t len, uint64_t off)
{
	struct fileio_holes hc = { 0 };
	ssize_t ret = 0;
	uint64_t size = f->size;
	size_t done = 0;

	/* §5.3: HAS_DATA but no block: the file was cut to its header. */
	if (f->cipher == FORMAT_CIPHER_GCM && size == 0 && (f->hdr.flags & FORMAT_HDR_HAS_DATA)) {
		fileio_report(f, 0, "truncated");
		ret = -EIO;
		goto out;
	}
	if (off >= size)
		goto out;
	if (len > size - off)
		len = (size_t)(size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (done < len) {
		uint64_t o = off + done;
		/* Chunks after the first start on a block boundary. */
		size_t n = FILEIO_CHUNK - (size_t)(o % FORMAT_BLOCK_LEN);
		int r;

		if (n > len - done)
			n = len - done;
		r = read_chunk(f, size, (uint8_t *)buf + done, n, o, &hc);
		if (r) {
			ret = r;
			goto out;
		}
		done += n;
	}
	ret = (ssize_t)done;
out:
	return ret;
}

/* First slot >= from that lies in a backing hole region and reads as zeros. */
static int next_zero_slot(const struct fileio *f, uint64_t size, uint64_t from, uint64_t *j)
{
	uint64_t nb = fileio_nblocks(size), at = from;
	uint8_t slot[FORMAT_GCM_SLOT_LEN];
	int ret;

	while (at < nb) {
		uint64_t off = block_slot_offset(f->cipher, at), jh;
		off_t h = lseek(f->fd, (off_t)off, SEEK_HOLE);
		size_t need, got;

		if (h < 0 && errno == ENXIO)
			break;
		if (h < 0 && errno != EINVAL)
			return -errno;
		if (h < (off_t)off)
			h = (off_t)off;
		/* A hole may begin inside a slot whose first bytes share a data page. */
		jh = ((uint64_t)h - FORMAT_HEADER_LEN) / fileio_stride(f);
		if (jh >= nb)
			break;
		need = block_slot_len(f->cipher, fileio_blen(size, jh));
		ret = fdio_pread(f->fd, slot, need, block_slot_offset(f->cipher, jh), &got);
		if (ret)
			return ret;
		if (got == need && slot_is_hole(f, size, jh, slot, need)) {
			*j = jh;
			return 0;
		}
		at = jh + 1;
	}
	*j = nb;
	return 0;
}

static int seek_data(const struct fileio *f, uint64_t size, uint64_t off, uint64_t *res)
{
	uint64_t i = off / FORMAT_BLOCK_LEN, nb = fileio_nblocks(size), k;
	uint32_t gap;
	int ret;

	ret = fileio_next_data(f, size, i, &k);
	if (ret)
		return ret;
	*res = off;
	if (k == i)
		return 0;
	if (f->cipher == FORMAT_CIPHER_XTS) {
		if (k >= nb)
			return -ENXIO;
		*res = k * FORMAT_BLOCK_LEN;
		return 0;
	}
	/* GCM always ends in data; zeros not covered by a gap are (bad) data too. */
	if (k >= nb)
		return 0;
	ret = fileio_auth_gap(f, size, k, &gap);
	if (ret == -EBADMSG)
		return 0;
	if (ret)
		return ret;
	if (gap <= k && k - gap <= i)
		*res = k * FORMAT_BLOCK_LEN;
	return 0;
}

static int seek_hole(const struct fileio *f, uint64_t size, uint64_t off, uint64_t *res)
{
	uint64_t nb = fileio_nblocks(size), i = off / FORMAT_BLOCK_LEN, j, k, run;
	uint32_t gap;
	int ret;

	*res = size;
	while (i < nb) {
		ret = next_zero_slot(f, size, i, &j);
		if (ret || j >= nb)
			return ret;
		if (f->cipher == FORMAT_CIPHER_XTS) {
			*res = j * FORMAT_BLOCK_LEN > off ? j * FORMAT_BLOCK_LEN : off;
			return 0;
		}
		if (j + 1 >= nb)
			return 0;
		ret = fileio_next_data(f, size, j + 1, &k);
		if (ret || k >= nb)
			return ret;
		ret = fileio_auth_gap(f, size, k, &gap);
		if (ret && ret != -EBADMSG)
			return ret;
		run = !ret && gap <= k ? k - gap : k;
		if (run <= j) {
			*res = j * FORMAT_BLOCK_LEN > off ? j * FORMAT_BLOCK_LEN : off;
			return 0;
		}
		if (run < k) {
			*res = run * FORMAT_BLOCK_LEN;
			return 0;
		}
		i = k + 1;
	}
	return 0;
}

int fileio_lseek(struct fileio *f, uint64_t off, int whence, uint64_t *result)
{
	int ret;

	pthread_rwlock_rdlock(&f->lock);
	ret = fileio_lseek_locked(f, off, whence, result);
	pthread_rwlock_unlock(&f->lock);
	return ret;
}

int fileio_lseek_locked(struct fileio *f, uint64_t off, int whence, uint64_t *result)
{
	if (off >= f->size)
		return -ENXIO;
	if (whence == SEEK_DATA)
		return seek_data(f, f->size, off, result);
	if (whence == SEEK_HOLE)
		return seek_hole(f, f->size, off, result);
	return -EINVAL;
}
