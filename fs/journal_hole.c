/*
 * journal_hole.c: the HOLE record of the write journal (docs/FORMAT.md §5.6).
 *
 * A write that fills a gap (§5.3) lies inside the backing file, so it would
 * be journaled as REDO — a second copy of every byte. That is the common case
 * under the multithreaded daemon: the kernel's writeback sends a sequential
 * stream as concurrent writes, and one that lands ahead of its predecessor
 * extends the file past a gap the predecessor then fills. The old content of
 * such a write is mostly a hole of the backing file, whose bytes are zeros by
 * definition, so the record keeps only what is not hole: the bytes before the
 * hole (the re-sealed previous block, up to the file-system block where the
 * hole starts) and everything from the first data block after it on (the
 * re-sealed next data block). Undoing it punches the hole again (or
 * writes zeros: an all-zero slot reads like a sparse one, §5.3) and puts the
 * saved bytes back. Payload: u32 write length | u32 h | h head bytes | the
 * suffix bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "journal_int.h"

#define J_HOLE_MIN (64u << 10)        /* a shorter hole is journaled as REDO */
#define J_HOLE_HEAD_MAX (64u << 10)   /* so is one behind more data than this */

int journal_hole_split(int fd, const struct stat *st, size_t len, uint64_t off, uint32_t *h,
		       uint32_t *s)
{
	uint64_t blk = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 4096u;
	uint64_t end = off + len, hs, he;
	off_t q, d;

	q = lseek(fd, (off_t)off, SEEK_HOLE);
	if (q < 0)
		return 0;
	hs = ((uint64_t)q + blk - 1) / blk * blk;
	if (hs >= end || hs - off > J_HOLE_HEAD_MAX)
		return 0;
	d = lseek(fd, (off_t)hs, SEEK_DATA);
	if (d < 0 && errno != ENXIO)
		return 0;
	he = d < 0 || (uint64_t)d >= end ? end : (uint64_t)d / blk * blk;
	if (he < hs + J_HOLE_MIN)
		return 0;
	*h = (uint32_t)(hs - off);
	*s = (uint32_t)(end - he);
	return 1;
}

int journal_hole_payload(int fd, uint64_t off, size_t len, uint32_t h, uint32_t s,
			 uint8_t **out, size_t *plen)
{
	size_t n = 8 + (size_t)h + s, got = 0;
	uint8_t *p = malloc(n);
	int ret = 0;

	if (!p)
		return -ENOMEM;
	le_put(p, len, 4);
	le_put(p + 4, h, 4);
	if (h)
		ret = fdio_pread(fd, p + 8, h, off, &got);
	if (!ret && got != h)
		ret = -EIO;
	got = 0;
	if (!ret && s)
		ret = fdio_pread(fd, p + 8 + h, s, off + len - s, &got);
	if (!ret && got != s)
		ret = -EIO;
	if (ret) {
		free(p);
		return ret;
	}
	*out = p;
	*plen = n;
	return 0;
}

int journal_hole_check(const uint8_t *p, size_t plen, uint64_t off, uint64_t old_end)
{
	uint64_t wlen, h;

	if (plen < 8)
		return -EBADMSG;
	wlen = le_get(p, 4);
	h = le_get(p + 4, 4);
	if (h > plen - 8 || plen - 8 > wlen || off + wlen > old_end)
		return -EBADMSG;
	return 0;
}

/* Zeros over [off, off + n): a punched hole where the file system can. */
static int zero_range(int fd, uint64_t off, uint64_t n)
{
	static const uint8_t zero[65536];

	if (n == 0 || fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				(off_t)n) == 0)
		return 0;
	while (n) {
		size_t k = n < sizeof(zero) ? (size_t)n : sizeof(zero);
		int ret = fdio_pwrite(fd, zero, k, off);

		if (ret)
			return ret;
		off += k;
		n -= k;
	}
	return 0;
}

int journal_hole_restore(int fd, uint64_t off, const uint8_t *p, size_t plen)
{
	uint64_t wlen = le_get(p, 4), h = le_get(p + 4, 4);
	uint64_t s = plen - 8 - h;
	int ret = zero_range(fd, off + h, wlen - h - s);

	if (!ret && h)
		ret = fdio_pwrite(fd, p + 8, (size_t)h, off);
	if (!ret && s)
		ret = fdio_pwrite(fd, p + 8 + h, (size_t)s, off + wlen - s);
	return ret;
}
