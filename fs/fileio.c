/*
 * fileio.c: one open encrypted regular file (docs/FORMAT.md §4, §5.4, §5.5):
 * creating and opening it (header, key unwrap through keys.c), finishing a
 * truncation that a crash interrupted, the header rewrites that order writes
 * for crash consistency, and the per-thread I/O buffers of the hot path.
 *
 * Reading, writing, truncation and the fsck walk live in fileio_read.c,
 * fileio_write.c and fileio_verify.c; fileio_int.h is what they share.
 * The cached plaintext size assumes one struct fileio per backing inode at a
 * time (the inode table shares it); two would each believe their own size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio_int.h"
#include "hdrlock.h"
#include "journal.h"
#include "hook.h"
#include "keys.h"
#include "secmem.h"

/* ---- per-thread buffers: ciphertext only, so never wiped ------------------ */

struct fileio_tls {
	uint8_t *io;                    /* up to FILEIO_CHUNK_SLOTS slots */
	size_t io_cap;                  /* bytes */
	uint8_t *scan;                  /* FILEIO_SCAN_SLOTS slots */
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_err;

static void tls_free(void *p)
{
	struct fileio_tls *t = p;

	if (!t)
		return;
	free(t->io);
	free(t->scan);
	free(t);
}

static void tls_init(void)
{
	tls_err = pthread_key_create(&tls_key, tls_free);
}

static struct fileio_tls *tls_get(void)
{
	struct fileio_tls *t;

	if (pthread_once(&tls_once, tls_init) != 0 || tls_err)
		return NULL;
	t = pthread_getspecific(tls_key);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (t && pthread_setspecific(tls_key, t) != 0) {
		free(t);
		t = NULL;
	}
	return t;
}

/* A buffer of at least len bytes, reused by this thread's later calls. */
uint8_t *fileio_iobuf(size_t len)
{
	struct fileio_tls *t = tls_get();
	size_t cap;
	uint8_t *p;

	if (!t)
		return NULL;
	if (t->io_cap >= len)
		return t->io;
	/* Grow geometrically up to one chunk so small reads don't realloc often. */
	cap = t->io_cap * 2;
	if (cap < 64 * 1024)
		cap = 64 * 1024;
	if (cap > FILEIO_CHUNK_SLOTS * FORMAT_GCM_SLOT_LEN)
		cap = FILEIO_CHUNK_SLOTS * FORMAT_GCM_SLOT_LEN;
	if (cap < len)
		cap = len;
	p = realloc(t->io, cap);
	if (!p)
		return NULL;
	t->io = p;
	t->io_cap = cap;
	return p;
}

uint8_t *fileio_scanbuf(void)
{
	struct fileio_tls *t = tls_get();

	if (!t)
		return NULL;
	if (!t->scan)
		t->scan = malloc(FILEIO_SCAN_SLOTS * FORMAT_GCM_SLOT_LEN);
	return t->scan;
}

/* ---- syscalls ------------------------------------------------------------ */

void fileio_report(const struct fileio *f, uint64_t blockno, const char *what)
{
	hook_integrity_failure(f->fk->file_id, blockno, what);
}

/* Plaintext size implied by the backing file now; *tail_bad when it ends
 * inside a slot's overhead (§5.4). */
int fileio_backing_size(const struct fileio *f, uint64_t *plain, int *tail_bad)
{
	struct stat st;
	int ret;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	ret = block_plain_size(f->cipher, (uint64_t)st.st_size, plain);
	if (tail_bad)
		*tail_bad = 0;
	if (ret == -EBADMSG && (uint64_t)st.st_size >= FORMAT_HEADER_LEN) {
		/* A cut final slot: the size stops before it and reading it fails. */
		if (tail_bad)
			*tail_bad = 1;
		ret = 0;
	}
	return ret == -EBADMSG ? -EIO : ret;
}

/*
 * Rewrites the header with new flags and pending size (one pwrite, §4.2),
 * under the header lock that phifs-keys also takes. A file still wrapped
 * under an older volume key moves to the primary one on the way (a rotation
 * running while mounted must never see the daemon put the old wrapping back).
 */
int fileio_header_store(struct fileio *f, uint32_t flags, uint64_t pending, int sync)
{
	struct format_header h = f->hdr;
	uint8_t enc[FORMAT_HEADER_LEN];
	uint32_t primary = f->kv ? keys_volume_primary(f->kv) : 0;
	int ret;

	h.flags = flags;
	h.pending_size = pending;
	ret = chglog_touch(f->chg, f->fd, 1, 0);
	if (!ret)
		ret = hdrlock_acquire(f->fd);
	if (ret)
		return ret;
	/* Per-file KMS headers (§4.4) are under no volume key: left as they are. */
	if (primary && h.wrap_kind == FORMAT_WRAP_VOLUME && h.wrap_key_version != primary)
		ret = keys_file_rewrap(f->kv, primary, f->fk, &h);
	if (!ret)
		ret = keys_header_seal(f->fk, &h, enc);
	if (!ret)
		ret = fdio_pwrite(f->fd, enc, sizeof(enc), 0);
	hdrlock_release(f->fd);
	if (!ret && sync && fdatasync(f->fd) < 0)
		ret = -errno;
	if (!ret)
		f->hdr = h;
	return ret;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int fileio_alloc(int fd, int writable, struct fileio **out)
{
	struct fileio *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	if (pthread_rwlock_init(&f->lock, NULL) != 0) {
		free(f);
		return -ENOMEM;
	}
	f->fd = fd;
	f->writable = writable;
	/* No kernel readahead on the backing file: a write's edge and hole-proof
	 * reads would each pull in (and zero-fill, in a hole) a window nobody
	 * reads; sequential reads are prefetched by fileio_read.c instead. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	*out = f;
	return 0;
}

int fileio_put(struct fileio *f, const void *buf, size_t len, uint64_t off)
{
	uint64_t stride = fileio_stride(f), first = 1, last = 0;
	int ret;

	if (len && off + len > FORMAT_HEADER_LEN) {     /* the slots the bytes fall in */
		first = (off > FORMAT_HEADER_LEN ? off - FORMAT_HEADER_LEN : 0) / stride;
		last = (off + len - 1 - FORMAT_HEADER_LEN) / stride;
	}
	ret = chglog_touch(f->chg, f->fd, first, last);
	return ret ? ret : journal_pwrite(f->fk, f->fd, buf, len, off);
}

void fileio_close(struct fileio *f)
{
	if (!f)
		return;
	chglog_tick_del(f->tick);
	chglog_store(f->chg, f->fd, fileio_nblocks(f->size));
	chglog_free(f->chg);
	if (f->fd >= 0)
		close(f->fd);
	keys_file_free(f->fk);
	pthread_rwlock_destroy(&f->lock);
	free(f);
}

/* The periodic store (chglog_tick.c), as fsync's. The lock is waited for a
 * bounded time: a file busy that long is asked again a second later. */
static int chg_tick(void *arg)
{
	struct fileio *f = arg;
	struct timespec until;
	int ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CHGLOG_TICK_RETRY_S;
	if (pthread_rwlock_timedwrlock(&f->lock, &until))
		return -EAGAIN;
	ret = chglog_store_now(f->chg, f->fd, fileio_nblocks(f->size));
	pthread_rwlock_unlock(&f->lock);
	return ret;
}

/* A writable file gets a change record, stored periodically while open. */
static void chg_track(struct fileio *f)
{
	f->chg = chglog_new();
	if (f->chg)
		f->tick = chglog_tick_add(chg_tick, f);
}

int fileio_create(int fd, const struct keys_volume *kv, uint8_t cipher, struct fileio **out)
{
	int ret = fileio_create_as(fd, kv, cipher, NULL, out);

	if (!ret)
		chg_track(*out);
	return ret;
}

int fileio_create_as(int fd, const struct keys_volume *kv, uint8_t cipher,
		     const uint8_t *file_id, struct fileio **out)
{
	struct fileio *f = NULL;
	uint8_t enc[FORMAT_HEADER_LEN];
	struct stat st;
	int ret;

	*out = NULL;
	ret = fileio_alloc(fd, 1, &f);
	if (ret) {
		close(fd);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	/* A header written over old bytes would adopt them as blocks. */
	if (st.st_size != 0) {
		ret = -EINVAL;
		goto out;
	}
	f->kv = kv;
	ret = keys_file_create_as(kv, cipher, file_id, &f->hdr, &f->fk);
	if (ret)
		goto out;
	f->cipher = f->hdr.cipher;
	ret = keys_header_seal(f->fk, &f->hdr, enc);
	if (!ret)
		ret = fdio_pwrite(fd, enc, sizeof(enc), 0);
	if (ret)
		goto out;
	*out = f;
	f = NULL;
out:
	fileio_close(f);
	return ret;
}

/* Slot k holds the new final block of a truncation to `size` (§5.5 step 2 done). */
static int pending_step2_done(struct fileio *f, uint64_t size, uint8_t *pt)
{
	uint64_t k = (size - 1) / FORMAT_BLOCK_LEN;
	size_t len = fileio_blen(size, k), got;
	uint8_t slot[FORMAT_GCM_SLOT_LEN];
	uint32_t gap;
	int ret;

	ret = fdio_pread(f->fd, slot, len + FORMAT_GCM_OVERHEAD,
				block_slot_offset(f->cipher, k), &got);
	if (ret)
		return ret;
	if (got < len + FORMAT_GCM_OVERHEAD)
		return 0;
	ret = block_gcm_open(f->fk->block_key, f->fk->file_id, k, FORMAT_BLOCK_LAST, slot,
			     len + FORMAT_GCM_OVERHEAD, pt, &gap);
	return ret == 0 ? 1 : ret == -EBADMSG ? 0 : ret;
}

/*
 * §5.5: a header with TRUNC_PENDING means a truncation to pending_size was
 * interrupted. Writable: finish it. Read-only: present the size the file has
 * now (the new one once its final block is in place, the old one before).
 */
static int pending_resolve(struct fileio *f)
{
	uint64_t target = f->hdr.pending_size, k;
	struct fileio_holes hc = { 0 };
	struct fileio_blk b;
	uint8_t pt[FORMAT_BLOCK_LEN];
	int ret, done;

	if (target == 0 || target > FILEIO_MAX_SIZE)
		return -EBADMSG;
	k = (target - 1) / FORMAT_BLOCK_LEN;
	done = pending_step2_done(f, target, pt);
	if (done < 0) {
		ret = done;
		goto out;
	}
	if (!f->writable) {
		if (done)
			f->size = target;
		ret = 0;
		goto out;
	}
	if (done) {
		/* Only ftruncate and the header remain; the block is already sealed. */
		ret = fileio_trunc_finish(f, target, NULL, 0);
		goto out;
	}
	if (target >= f->size) {
		/* Step 2 missing yet nothing to cut: the file was shortened behind our back. */
		fileio_report(f, k, "truncated");
		ret = -EIO;
		goto out;
	}
	ret = fileio_load(f, f->size, k, pt, 1, &hc, &b);
	if (!ret)
		ret = fileio_trunc_finish(f, target, pt, b.gap);
out:
	secmem_wipe(pt, sizeof(pt));
	return ret;
}

static int fileio_read_header(struct fileio *f, const struct keys_volume *kv)
{
	uint8_t hdr[FORMAT_HEADER_LEN];
	struct stat st;
	size_t got;
	int ret;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	/* §5.4: a regular file shorter than its header is corrupt. */
	if (st.st_size < FORMAT_HEADER_LEN)
		return -EIO;
	ret = fdio_pread(f->fd, hdr, sizeof(hdr), 0, &got);
	if (!ret && got != sizeof(hdr))
		ret = -EIO;
	if (!ret)
		ret = keys_file_open(kv, hdr, sizeof(hdr), &f->hdr, &f->fk);
	if (!ret)
		f->cipher = f->hdr.cipher;
	return ret;
}

int fileio_open(int fd, const struct keys_volume *kv, int writable, struct fileio **out)
{
	struct fileio *f = NULL;
	int ret;

	*out = NULL;
	ret = fileio_alloc(fd, writable, &f);
	if (ret) {
		close(fd);
		goto out;
	}
	f->kv = kv;
	ret = fileio_read_header(f, kv);
	if (!ret)
		ret = fileio_backing_size(f, &f->size, NULL);
	if (ret)
		goto out;
	if (f->cipher == FORMAT_CIPHER_GCM && (f->hdr.flags & FORMAT_HDR_TRUNC_PENDING)) {
		ret = pending_resolve(f);
		if (ret)
			goto out;
	}
	/* Blocks without HAS_DATA: a truncate to zero that stopped after step 1.
	 * The data is intact; restore the flag so cutting the file stays visible. */
	if (writable && f->cipher == FORMAT_CIPHER_GCM && f->size > 0 &&
	    !(f->hdr.flags & FORMAT_HDR_HAS_DATA)) {
		ret = fileio_header_store(f, f->hdr.flags | FORMAT_HDR_HAS_DATA, f->hdr.pending_size, 0);
		if (ret)
			goto out;
	}
	if (writable)        /* after recovery: its writes are not this session's */
		chg_track(f);
	*out = f;
	f = NULL;
out:
	fileio_close(f);
	return ret;
}

/* ---- small accessors ----------------------------------------------------- */

int fileio_size(struct fileio *f, uint64_t *size)
{
	pthread_rwlock_rdlock(&f->lock);
	*size = f->size;
	pthread_rwlock_unlock(&f->lock);
	return 0;
}

int fileio_fsync(struct fileio *f, int datasync)
{
	int ret = datasync ? fdatasync(f->fd) : fsync(f->fd);

	if (ret < 0)
		return -errno;
	pthread_rwlock_wrlock(&f->lock);
	chglog_store(f->chg, f->fd, fileio_nblocks(f->size));
	pthread_rwlock_unlock(&f->lock);
	return 0;
}

const uint8_t *fileio_file_id(const struct fileio *f)
{
	return f->fk->file_id;
}

int fileio_fd(const struct fileio *f)
{
	return f->fd;
}
