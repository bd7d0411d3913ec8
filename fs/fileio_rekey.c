/*
 * fileio_rekey.c: a new data key for one open file and every block
 * re-encrypted under it, while the volume stays mounted (docs/FORMAT.md
 * §5.7; `phifs-keys rekey` asks for it through fuse_ops.c). The file's
 * readers and writers wait on f->lock for the duration; other files do not.
 *
 * 1. A complete copy under a fresh DK and the SAME file id (every block's AAD
 *    binds it) is written through a second fileio into phifs.journal/, holes
 *    kept, and fsynced; the original is hard-linked there too.
 * 2. The redo record (redo.c) says the copy replaces the original.
 * 3. The copy's bytes go over the original in place: same inode, so hard
 *    links, st_ino and the daemon's O_PATH fds stay valid.
 * 4. The fileio takes the new keys and header; the journal entries go.
 * kill -9 before 2 leaves the original untouched; after it, mounting
 * finishes 3. This file owns the order; redo.c owns the record.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio_int.h"
#include "hook.h"
#include "journal.h"
#include "redo.h"
#include "secmem.h"

static int copy_plain(struct fileio *f, struct fileio *t, uint64_t from, uint64_t to,
		      uint8_t *buf)
{
	while (from < to) {
		size_t n = to - from < FILEIO_CHUNK ? (size_t)(to - from) : FILEIO_CHUNK;
		ssize_t r = fileio_read_locked(f, buf, n, from);

		if (r >= 0 && (size_t)r != n)
			r = -EIO;
		if (r >= 0)
			r = fileio_write(t, buf, n, from);
		if (r >= 0 && (size_t)r != n)
			r = -EIO;
		if (r < 0)
			return (int)r;
		from += n;
	}
	return 0;
}

/* Step 1: the plaintext of every data run of f into t; holes stay holes. */
static int copy_file(struct fileio *f, struct fileio *t)
{
	uint8_t *buf = malloc(FILEIO_CHUNK);
	uint64_t off = 0, d, h;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (off < f->size) {
		ret = fileio_lseek_locked(f, off, SEEK_DATA, &d);
		if (ret == -ENXIO) {
			ret = 0;
			break;
		}
		if (!ret)
			ret = fileio_lseek_locked(f, d, SEEK_HOLE, &h);
		if (!ret && (h <= d || h > f->size))
			ret = -EIO;
		if (!ret)
			ret = copy_plain(f, t, d, h, buf);
		if (ret)
			goto out;
		off = h;
	}
	/* A file ending in a hole: truncate up writes the sealed final block. */
	if (t->size < f->size)
		ret = fileio_truncate(t, f->size);
	if (!ret && t->size != f->size)
		ret = -EIO;
out:
	secmem_wipe(buf, FILEIO_CHUNK);
	free(buf);
	return ret;
}

/* The original's name in phifs.journal/, for a replay that renames cannot fool. */
static int link_original(const struct fileio *f, int dirfd)
{
	char self[64], name[REDO_NAME_MAX];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", f->fd);
	redo_name(f->fk->file_id, REDO_LINK, name);
	if (linkat(AT_FDCWD, self, dirfd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;   /* ENOENT: unlinked meanwhile, nothing left to protect */
	return 0;
}

/* A record left by a copy in place that failed waits for the next mount:
 * starting over would delete it. */
static int start_clean(int dirfd, const uint8_t *id)
{
	char name[REDO_NAME_MAX];

	redo_name(id, REDO_RECORD, name);
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -EUCLEAN;
	return redo_clear(dirfd, id);
}

/* Steps 1 and 2: the copy, durable, and its record. *len: its backing size. */
static int write_copy(struct fileio *f, int dirfd, struct fileio **out, uint64_t *len)
{
	char name[REDO_NAME_MAX];
	struct stat st;
	int fd, ret;

	redo_name(f->fk->file_id, REDO_COPY, name);
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = fileio_create_as(fd, f->kv, f->cipher, f->fk->file_id, out);
	if (!ret)
		ret = copy_file(f, *out);
	if (!ret)
		ret = fileio_fsync(*out, 0);
	if (!ret && fstat(fileio_fd(*out), &st) < 0)
		ret = -errno;
	if (!ret)
		*len = (uint64_t)st.st_size;
	if (!ret)
		ret = link_original(f, dirfd);
	if (!ret)
		ret = redo_record_write(dirfd, (*out)->fk, *len);
	return ret;
}

/* Step 4: same file id and size; new DK, derived keys and header. */
static void adopt(struct fileio *f, const struct fileio *t)
{
	memcpy(f->fk, t->fk, sizeof(*f->fk));
	f->hdr = t->hdr;
}

static void report(const uint8_t *id, const struct format_header *h, int ret)
{
	char hex[2 * FORMAT_ID_LEN + 1], to[16];

	for (int i = 0; i < FORMAT_ID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	snprintf(to, sizeof(to), "v%u", h->wrap_key_version);
	hook_key_op("rekey", hex, ret ? NULL : to, ret);
}

int fileio_rekey(struct fileio *f)
{
	int dirfd = journal_dirfd(), ret, started = 0;
	struct fileio *t = NULL;
	uint64_t len = 0;

	if (dirfd < 0)
		return -EOPNOTSUPP;
	pthread_rwlock_wrlock(&f->lock);
	ret = f->writable ? start_clean(dirfd, f->fk->file_id) : -EROFS;
	if (ret)
		goto out;
	started = 1;
	ret = write_copy(f, dirfd, &t, &len);
	if (ret)
		goto out;
	started = 0;     /* the record is durable: only step 4 or a mount clears it */
	ret = chglog_touch_all(f->chg, f->fd);
	if (!ret)
		ret = redo_apply(f->fd, fileio_fd(t), len);
	if (ret) {
		/* Neither old nor new now: no writes until a mount finishes it. */
		f->writable = 0;
		goto out;
	}
	adopt(f, t);
	ret = redo_clear(dirfd, f->fk->file_id);
out:
	if (started)
		(void)redo_clear(dirfd, f->fk->file_id);
	report(f->fk->file_id, &f->hdr, ret);
	fileio_close(t);
	pthread_rwlock_unlock(&f->lock);
	return ret;
}
