/*
 * journal.c: see journal.h; the record layouts are in journal_int.h and
 * docs/FORMAT.md §5.6, replay in journal_replay.c. Before a write that could
 * tear, the thread's journal file receives one record, in one pwritev at
 * offset 0 (reused: one file per writing thread, phifs.journal/t<pid>.<tid>):
 *
 *  - a REDO record — the new bytes — when the write lies wholly inside the
 *    backing file (an overwrite: random writes, re-sealed final blocks).
 *    Replay writes them again: the write completes. Nothing is read first.
 *  - an UNDO record — the old size and the old bytes below it — when the
 *    write extends the file (appends: usually one slot of old bytes, not a
 *    second copy of the data). Replay puts them back and cuts the file.
 *
 * Either way an interrupted write ends whole, never torn. The file is named
 * by its inode (replay walks the tree: it runs only after a crash) and the
 * record carries the file id, checked against the header before anything is
 * touched. A torn record fails its HMAC (under the file's header-MAC key) and
 * is ignored: the in-place write had not started. Voiding overwrites the
 * magic (4 bytes in one page: cannot tear). Replaying twice gives the same
 * result. Records hold ciphertext only. Not fsynced: power loss is outside §5.5.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cipher.h"
#include "fdio.h"
#include "journal.h"
#include "journal_int.h"

#define J_PAGE 4096u

static int j_dirfd = -1;          /* JOURNAL_DIR */
static int j_rootfd = -1;         /* the cipher root */
static int j_rootlock = -1;       /* the volume lock without a JOURNAL_DIR (read-only) */
static _Thread_local int j_fd = -1;
static pthread_key_t j_key;
static pthread_once_t j_once = PTHREAD_ONCE_INIT;

int journal_void(int fd)
{
	static const uint8_t zero[4];

	return fdio_pwrite(fd, zero, sizeof(zero), 0);
}

/* ---- set-up ------------------------------------------------------------- */

/* The volume lock: flock on JOURNAL_DIR, held for the process's life. The
 * kernel drops it only once every thread of a killed daemon has left its
 * syscalls, so whoever gets it knows no in-flight write remains. */
static int journal_lock(int fd, int wait_s)
{
	for (int i = 0;; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (i >= wait_s * 10)
			return -EBUSY;
		(void)usleep(100000);
	}
}

/* The directory name in dirfd, opened and locked (journal_lock) into *out. */
static int lock_dir(int dirfd, const char *name, int wait_s, int *out)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = journal_lock(fd, wait_s);
	if (ret) {
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

int journal_open(int rootfd, int create, int wait_s)
{
	int fd = -1, ret;

	if (create && mkdirat(rootfd, JOURNAL_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	ret = lock_dir(rootfd, JOURNAL_DIR, wait_s, &fd);
	/* A read-only mount of a volume never mounted read-write has no
	 * JOURNAL_DIR: the cipher root itself carries the volume lock, so that
	 * `phifs umount` can still wait for the daemon (and its last audit
	 * records) to be gone. */
	if (ret == -ENOENT && !create)
		return lock_dir(rootfd, ".", wait_s, &j_rootlock);
	if (ret)
		return ret;
	j_dirfd = fd;
	j_rootfd = rootfd;
	/* The live marker t<pid>.0 (no thread has id 0): a writer that dies
	 * before any journaled write still leaves proof of a crash, so the next
	 * replay walks for interrupted truncations (journal_replay.c). */
	if (create) {
		char name[64];
		int m;

		snprintf(name, sizeof(name), "t%d.0", getpid());
		m = openat(fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (m >= 0)
			close(m);
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

/* A thread's journal file goes when the thread does (libfuse retires idle
 * workers); its record is void by then. */
static void journal_thread_end(void *p)
{
	char name[64];

	snprintf(name, sizeof(name), "t%d.%ld", getpid(), (long)(intptr_t)p);
	if (j_fd >= 0)
		close(j_fd);
	j_fd = -1;
	(void)unlinkat(j_dirfd, name, 0);
}

static void journal_key_make(void)
{
	(void)pthread_key_create(&j_key, journal_thread_end);
}

static int journal_thread_fd(void)
{
	char name[64];
	long tid;

	if (j_fd >= 0)
		return j_fd;
	tid = (long)gettid();
	if (pthread_once(&j_once, journal_key_make) != 0)
		return -EIO;
	snprintf(name, sizeof(name), "t%d.%ld", getpid(), tid);
	j_fd = openat(j_dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (j_fd < 0)
		return -errno;
	(void)pthread_setspecific(j_key, (void *)(intptr_t)tid);
	return j_fd;
}

/* What a record holds besides its head: the kind and the bytes (payload). */
struct jpay {
	int kind;
	const uint8_t *bytes;
	size_t len;
	uint8_t *owned;        /* malloc'd payload (UNDO, HOLE), freed by the caller */
};

/* Whether the backing file may have holes: allocated blocks short of its
 * size. A file without (the common case of an overwrite) skips the hole
 * search (an lseek per write) and the reservation. Erring towards "no holes"
 * (extent-tree blocks counted in st_blocks) only turns a HOLE record into a
 * REDO one, the full copy, which is always correct. */
static int journal_sparse(const struct stat *st)
{
	return (uint64_t)st->st_blocks * 512 < (uint64_t)st->st_size;
}

/* The payload for a write of buf (len bytes at off) into a backing file now
 * st->st_size long: the new bytes (REDO), what a hole leaves (HOLE), or the
 * old bytes below the old size (UNDO, for a write that extends the file). */
static int journal_payload(int fd, const struct stat *st, const void *buf, size_t len,
			   uint64_t off, struct jpay *p)
{
	uint64_t old_end = (uint64_t)st->st_size;
	size_t keep = off >= old_end ? 0 : (size_t)(old_end - off), got = 0;
	uint32_t h, sfx;
	int ret;

	memset(p, 0, sizeof(*p));
	if (off + len <= old_end && journal_sparse(st) &&
	    journal_hole_split(fd, st, len, off, &h, &sfx)) {
		p->kind = J_KIND_HOLE;
		ret = journal_hole_payload(fd, off, len, h, sfx, &p->owned, &p->len);
		p->bytes = p->owned;
		return ret;
	}
	if (off + len <= old_end) {
		*p = (struct jpay){ .kind = J_KIND_REDO, .bytes = buf, .len = len };
		return 0;
	}
	p->kind = J_KIND_UNDO;
	if (!keep)
		return 0;
	p->owned = malloc(keep);
	if (!p->owned)
		return -ENOMEM;
	ret = fdio_pread(fd, p->owned, keep, off, &got);
	if (!ret && got != keep)
		ret = -EIO;
	p->bytes = p->owned;
	p->len = keep;
	return ret;
}

/* Writes the record (head, payload, HMAC) for a write at off. */
static int journal_record(int jfd, const struct keys_file *fk, const struct stat *st,
			  uint64_t off, const struct jpay *p)
{
	uint8_t head[J_HEAD2], mac[CIPHER_HMAC_LEN];
	struct iovec v[3];
	int ret;

	memcpy(head, J_MAGIC2, 4);
	head[4] = (uint8_t)p->kind;
	memset(head + 5, 0, 3);
	le_put(head + 8, (uint64_t)st->st_ino, 8);
	memcpy(head + 16, fk->file_id, FORMAT_ID_LEN);
	le_put(head + 16 + FORMAT_ID_LEN, (uint64_t)st->st_size, 8);
	le_put(head + 24 + FORMAT_ID_LEN, off, 8);
	le_put(head + 32 + FORMAT_ID_LEN, p->len, 4);
	v[0] = (struct iovec){ .iov_base = head, .iov_len = sizeof(head) };
	v[1] = (struct iovec){ .iov_base = (void *)p->bytes, .iov_len = p->len };
	ret = cipher_hmac_sha256_iov(fk->header_mac_key, sizeof(fk->header_mac_key), v, 2, mac);
	v[2] = (struct iovec){ .iov_base = mac, .iov_len = sizeof(mac) };
	if (!ret)
		ret = fdio_pwritev(jfd, v, 3, 0);
	return ret;
}

/* A slot write that failed part-way (ENOSPC, EIO: the bytes before the
 * failing page landed) is put back now, as replay would after a crash: an
 * extension is undone (cut to the old size first, which frees space, then
 * the old bytes), a write over a hole too (the hole, then the bytes around
 * it); the file is left as it was. A failed overwrite cannot be undone (its
 * record holds the new bytes): journal_preallocate keeps it from failing
 * half-way for lack of space. */
static void journal_rollback(int fd, const struct stat *st, const struct jpay *p, uint64_t off)
{
	if (p->kind == J_KIND_HOLE) {
		(void)journal_hole_restore(fd, off, p->bytes, p->len);
		return;
	}
	if (ftruncate(fd, st->st_size) < 0)
		return;
	if (p->len)
		(void)fdio_pwrite(fd, p->bytes, p->len, off);
}

/* An overwrite of a sparse backing file may land in a hole, which needs new
 * blocks: reserve them first, so a full disk refuses the write before any
 * byte of it lands. A file without holes (st_blocks covers st_size) skips
 * the call; a file system without fallocate keeps the old behaviour. */
static int journal_preallocate(int fd, const struct stat *st, size_t len, uint64_t off)
{
	if (!journal_sparse(st))
		return 0;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOSYS ? 0 : -errno;
}

int journal_pwrite(const struct keys_file *fk, int fd, const void *buf, size_t len,
		   uint64_t off)
{
	int tearable = len > 0 && off / J_PAGE != (off + len - 1) / J_PAGE;
	struct jpay p = { 0 };
	struct stat st;
	int jfd, ret;

	if (j_dirfd < 0 || !tearable || len > J_MAX_DATA)
		return fdio_pwrite(fd, buf, len, off);
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_nlink == 0 || off < FORMAT_HEADER_LEN)
		return fdio_pwrite(fd, buf, len, off);   /* unlinked: nothing to protect */
	jfd = journal_thread_fd();
	if (jfd < 0)
		return jfd;
	ret = journal_payload(fd, &st, buf, len, off, &p);
	if (!ret && p.kind == J_KIND_REDO)
		ret = journal_preallocate(fd, &st, len, off);
	if (!ret)
		ret = journal_record(jfd, fk, &st, off, &p);
	if (ret)
		goto out;
	ret = fdio_pwrite(fd, buf, len, off);
	if (ret && p.kind != J_KIND_REDO)
		journal_rollback(fd, &st, &p, off);
	/* Void it even after a failed write: a valid record left behind would
	 * replay over later writes that did not go through it. */
	if (journal_void(jfd) != 0 && !ret)
		ret = -EIO;
out:
	free(p.owned);
	return ret;
}

int journal_rootfd(void)
{
	return j_rootfd;
}

int journal_dirfd(void)
{
	return j_dirfd;
}

void journal_close(void)
{
	if (j_fd >= 0)
		journal_thread_end((void *)(intptr_t)gettid());
	if (j_dirfd >= 0) {
		char name[64];

		snprintf(name, sizeof(name), "t%d.0", getpid());
		(void)unlinkat(j_dirfd, name, 0);
		close(j_dirfd);
	}
	if (j_rootlock >= 0)
		close(j_rootlock);
	j_dirfd = -1;
	j_rootfd = -1;
	j_rootlock = -1;
}
