/*
 * fileio_verify.c: the fsck walk over one file (docs/FORMAT.md §5.3–§5.5).
 * Every block is authenticated; every zero slot must be covered by the gap of
 * the data block after it; the file must end in a LAST block and not inside a
 * slot's overhead; a header with HAS_DATA needs a block. The header itself was
 * authenticated by fileio_open. Reasons are short and fixed: "tag mismatch",
 * "zeroed block", "truncated", "torn extend", "bad tail".
 *
 * Unlike a read it does not stop at the first problem, and it does not call
 * the integrity hook: the caller (fsck) owns reporting.
 */
#include "config.h"

#include <errno.h>

#include "fdio.h"
#include "fileio_int.h"
#include "secmem.h"

#define NO_RUN UINT64_MAX

struct vwalk {
	const struct fileio *f;
	uint64_t size, nb;
	fileio_problem_fn cb;
	void *arg;
	int count;
	uint64_t zrun;                  /* first zero slot not yet judged, or NO_RUN */
	uint8_t pt[FORMAT_BLOCK_LEN];
};

static void problem(struct vwalk *v, uint64_t blockno, const char *what)
{
	v->count++;
	if (v->cb)
		v->cb(v->arg, blockno, what);
}

/* Zero slots [zrun, k) before data block k: holes up to its gap, else zeroed. */
static void judge_run(struct vwalk *v, uint64_t k, uint32_t gap)
{
	uint64_t run = gap <= k ? k - gap : 0;

	for (uint64_t z = v->zrun; z < k && z < run; z++)
		problem(v, z, "zeroed block");
	v->zrun = NO_RUN;
}

static void check_data(struct vwalk *v, uint64_t i, const uint8_t *slot, size_t len)
{
	const char *why = "tag mismatch";
	uint32_t gap;
	int ret = fileio_open_data(v->f, v->nb, i, slot, len, v->pt, &gap, &why);

	if (ret == 1)
		problem(v, i, "torn extend");
	if (ret < 0) {
		/* The run before a bad block cannot be judged; the block is the finding. */
		problem(v, i, why);
		v->zrun = NO_RUN;
		return;
	}
	if (v->zrun != NO_RUN)
		judge_run(v, i, gap);
}

/* The final block is always sealed data; the run before it cannot be judged. */
static void final_zero(struct vwalk *v)
{
	problem(v, v->nb - 1, "zeroed block");
	v->zrun = NO_RUN;
}

/* One window of slots from `first`; *stop when the backing ends early. */
static int check_window(struct vwalk *v, uint64_t first, uint64_t last, int *stop)
{
	uint64_t start = block_slot_offset(v->f->cipher, first);
	size_t bytes = block_slot_offset(v->f->cipher, last) - start +
		       block_slot_len(v->f->cipher, fileio_blen(v->size, last)), got;
	uint8_t *io = fileio_iobuf(bytes);
	int ret;

	if (!io)
		return -ENOMEM;
	ret = fdio_pread(v->f->fd, io, bytes, start, &got);
	if (ret)
		return ret;
	for (uint64_t i = first; i <= last; i++) {
		size_t off = (size_t)((i - first) * FORMAT_GCM_SLOT_LEN);
		size_t len = fileio_blen(v->size, i), need = len + FORMAT_GCM_OVERHEAD;

		if (off + need > got) {
			problem(v, i, "truncated");
			*stop = 1;
			return 0;
		}
		if (!block_is_zero(io + off, need))
			check_data(v, i, io + off, len);
		else if (i + 1 == v->nb)
			final_zero(v);
		else if (v->zrun == NO_RUN)
			v->zrun = i;
	}
	return 0;
}

static int walk_blocks(struct vwalk *v)
{
	uint64_t i = 0;
	int ret, stop = 0;

	while (i < v->nb && !stop) {
		uint64_t last = i + FILEIO_CHUNK_SLOTS - 3;

		if (last >= v->nb)
			last = v->nb - 1;
		ret = check_window(v, i, last, &stop);
		if (ret)
			return ret;
		i = last + 1;
		/* Inside a run of zeros: jump over sparse backing ranges. */
		if (v->zrun != NO_RUN && i < v->nb) {
			ret = fileio_next_data(v->f, v->size, i, &i);
			if (ret)
				return ret;
		}
	}
	/* Zeros (or a sparse range) ran to the end of the file. */
	if (v->zrun != NO_RUN && !stop)
		final_zero(v);
	return 0;
}

int fileio_verify(struct fileio *f, fileio_problem_fn cb, void *arg)
{
	struct vwalk *v = NULL;
	int ret, tail_bad = 0;
	uint64_t backing;

	/* XTS carries no integrity data: there is nothing to check. */
	if (f->cipher != FORMAT_CIPHER_GCM)
		return 0;
	v = secmem_alloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	pthread_rwlock_rdlock(&f->lock);
	*v = (struct vwalk){ .f = f, .size = f->size, .nb = fileio_nblocks(f->size), .cb = cb,
			     .arg = arg, .zrun = NO_RUN };
	ret = fileio_backing_size(f, &backing, &tail_bad);
	if (ret)
		goto out;
	if (v->nb == 0 && (f->hdr.flags & FORMAT_HDR_HAS_DATA))
		problem(v, 0, "truncated");
	ret = walk_blocks(v);
	if (!ret && tail_bad)
		problem(v, v->nb, "bad tail");
	if (!ret)
		ret = v->count;
out:
	pthread_rwlock_unlock(&f->lock);
	secmem_free(v);
	return ret;
}
