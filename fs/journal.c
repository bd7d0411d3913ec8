/*
 * journal.c: see journal.h. An UNDO journal: before a write that could tear,
 * the thread's journal file receives the backing size and the old bytes the
 * write will overwrite; replay puts them back and cuts the file to the old
 * size, so an interrupted write is undone as a whole — it was never
 * acknowledged. Appends therefore cost a few hundred bytes of journal, not a
 * second copy of the data. One file per writing thread,
 * phifs.journal/t<pid>.<tid>, reused; a record is one pwrite at offset 0
 * (little-endian):
 *
 *   "PHJ1" | u16 path length P | backing path relative to the cipher root (P) |
 *   file id (16) | u64 old backing size | u64 offset | u32 length L |
 *   L old bytes at offset | HMAC-SHA256(header-MAC key of the file, all before)
 *
 * A torn record fails its MAC and is ignored: the in-place write had not
 * started. Voiding overwrites the magic (4 bytes in one page: cannot tear).
 * Replaying twice gives the same result. Replay checks that the file at the
 * path still has the record's file id. Records hold ciphertext only; the path
 * is the encrypted backing path. Not fsynced: power loss is outside §5.5.
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
#include "secmem.h"

#define J_MAGIC "PHJ1"
#define J_FIXED (4 + 2 + FORMAT_ID_LEN + 8 + 8 + 4 + CIPHER_HMAC_LEN)
#define J_MAX_DATA (4u << 20)     /* far above one write's 1 MiB + 2 slots */
#define J_PAGE 4096u

static int j_dirfd = -1;          /* JOURNAL_DIR */
static int j_rootfd = -1;         /* the cipher root */
static char j_root[PATH_MAX];     /* its path, to make backing paths relative */
static _Thread_local int j_fd = -1;
static pthread_key_t j_key;
static pthread_once_t j_once = PTHREAD_ONCE_INIT;

/* ---- byte helpers ------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int journal_void(int fd)
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

int journal_open(int rootfd, int create, int wait_s)
{
	char self[64];
	ssize_t n;
	int fd, ret;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", rootfd);
	n = readlink(self, j_root, sizeof(j_root) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	j_root[n] = '\0';
	if (create && mkdirat(rootfd, JOURNAL_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(rootfd, JOURNAL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && !create ? 0 : -errno;
	ret = journal_lock(fd, wait_s);
	if (ret) {
		close(fd);
		return ret;
	}
	j_dirfd = fd;
	j_rootfd = rootfd;
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
	long tid = (long)gettid();

	if (j_fd >= 0)
		return j_fd;
	if (pthread_once(&j_once, journal_key_make) != 0)
		return -EIO;
	snprintf(name, sizeof(name), "t%d.%ld", getpid(), tid);
	j_fd = openat(j_dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (j_fd < 0)
		return -errno;
	(void)pthread_setspecific(j_key, (void *)(intptr_t)tid);
	return j_fd;
}

/* The backing path of fd relative to the cipher root. */
static int journal_relpath(int fd, char *out, size_t cap)
{
	char self[64], abs[PATH_MAX];
	size_t rl = strlen(j_root);
	ssize_t n;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, abs, sizeof(abs) - 1);
	if (n <= 0)
		return -EIO;
	abs[n] = '\0';
	if (strncmp(abs, j_root, rl) != 0 || abs[rl] != '/' || strlen(abs + rl + 1) >= cap ||
	    strlen(abs + rl + 1) > UINT16_MAX)
		return -ENOENT;   /* unlinked (" (deleted)") or outside: nothing to protect */
	snprintf(out, cap, "%s", abs + rl + 1);
	return 0;
}

/* Writes the undo record: old_end, and the old bytes of [off, off + len) that
 * lie below old_end. */
static int journal_record(int jfd, const struct keys_file *fk, const char *rel, int fd,
			  size_t len, uint64_t off, uint64_t old_end)
{
	size_t keep = off >= old_end ? 0 : (size_t)(old_end - off < len ? old_end - off : len);
	size_t pl = strlen(rel), total = J_FIXED + pl + keep, got = 0;
	uint8_t *rec = malloc(total), *p = rec;
	int ret;

	if (!rec)
		return -ENOMEM;
	memcpy(p, J_MAGIC, 4);
	put_le(p + 4, pl, 2);
	memcpy(p + 6, rel, pl);
	p += 6 + pl;
	memcpy(p, fk->file_id, FORMAT_ID_LEN);
	put_le(p + FORMAT_ID_LEN, old_end, 8);
	put_le(p + FORMAT_ID_LEN + 8, off, 8);
	put_le(p + FORMAT_ID_LEN + 16, keep, 4);
	ret = fdio_pread(fd, p + FORMAT_ID_LEN + 20, keep, off, &got);
	if (!ret && got != keep)
		ret = -EIO;
	if (!ret)
		ret = cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), rec,
					 total - CIPHER_HMAC_LEN, rec + total - CIPHER_HMAC_LEN);
	if (!ret)
		ret = fdio_pwrite(jfd, rec, total, 0);
	free(rec);
	return ret;
}

int journal_pwrite(const struct keys_file *fk, int fd, const void *buf, size_t len,
		   uint64_t off)
{
	int tearable = len > 0 && off / J_PAGE != (off + len - 1) / J_PAGE;
	char rel[PATH_MAX];
	struct stat st;
	int jfd, ret;

	if (j_dirfd < 0 || !tearable || len > J_MAX_DATA || journal_relpath(fd, rel, sizeof(rel)))
		return fdio_pwrite(fd, buf, len, off);
	if (fstat(fd, &st) < 0)
		return -errno;
	jfd = journal_thread_fd();
	if (jfd < 0)
		return jfd;
	ret = journal_record(jfd, fk, rel, fd, len, off, (uint64_t)st.st_size);
	if (ret)
		return ret;
	ret = fdio_pwrite(fd, buf, len, off);
	/* Void it even after a failed write: a valid record left behind would
	 * undo later writes that did not go through it. */
	if (journal_void(jfd) != 0 && !ret)
		ret = -EIO;
	return ret;
}

/* ---- replay ------------------------------------------------------------- */

struct jrec {
	char path[PATH_MAX];
	const uint8_t *id, *data, *mac;
	uint64_t old_end, off;
	size_t len, signed_len;
};

static int journal_parse(const uint8_t *rec, size_t n, struct jrec *r)
{
	size_t pl;

	if (n < J_FIXED || memcmp(rec, J_MAGIC, 4) != 0)
		return -ENODATA;
	pl = (size_t)get_le(rec + 4, 2);
	if (pl == 0 || pl >= sizeof(r->path) || n < J_FIXED + pl)
		return -EBADMSG;
	memcpy(r->path, rec + 6, pl);
	r->path[pl] = '\0';
	if (memchr(r->path, '\0', pl) || r->path[0] == '/' || strstr(r->path, ".."))
		return -EBADMSG;
	r->id = rec + 6 + pl;
	r->old_end = get_le(r->id + FORMAT_ID_LEN, 8);
	r->off = get_le(r->id + FORMAT_ID_LEN + 8, 8);
	r->len = (size_t)get_le(r->id + FORMAT_ID_LEN + 16, 4);
	r->data = r->id + FORMAT_ID_LEN + 20;
	/* The file may be longer: an earlier, larger record's tail. */
	if (r->len > J_MAX_DATA || n < J_FIXED + pl + r->len || r->off < FORMAT_HEADER_LEN ||
	    r->old_end < FORMAT_HEADER_LEN || r->off + r->len > r->old_end)
		return -EBADMSG;
	r->signed_len = J_FIXED + pl + r->len - CIPHER_HMAC_LEN;
	r->mac = rec + r->signed_len;
	return 0;
}

/* Puts the old bytes back and the old size: 1, or -errno. */
static int journal_undo(int fd, const struct jrec *r)
{
	struct stat st;

	if (r->len && fdio_pwrite(fd, r->data, r->len, r->off) != 0)
		return -EIO;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > r->old_end && ftruncate(fd, (off_t)r->old_end) < 0)
		return -errno;
	return 1;
}

/* Applies one parsed record if the file's header and the MAC agree: 1 applied, 0 not. */
static int journal_apply(const struct keys_volume *kv, const uint8_t *rec, const struct jrec *r)
{
	uint8_t hdr[FORMAT_HEADER_LEN], mac[CIPHER_HMAC_LEN];
	struct format_header h;
	struct keys_file *fk = NULL;
	size_t got = 0;
	int fd, ret;

	fd = openat(j_rootfd, r->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;   /* the file is gone: nothing left to complete */
	ret = fdio_pread(fd, hdr, sizeof(hdr), 0, &got);
	if (!ret && got == sizeof(hdr) && keys_file_open(kv, hdr, sizeof(hdr), &h, &fk) == 0 &&
	    secmem_equal(fk->file_id, r->id, FORMAT_ID_LEN) &&
	    cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), rec,
			       r->signed_len, mac) == 0 &&
	    secmem_equal(mac, r->mac, CIPHER_HMAC_LEN))
		ret = journal_undo(fd, r);
	else
		ret = 0;    /* torn record, or not this file's: the write never started */
	keys_file_free(fk);
	close(fd);
	return ret;
}

static int own_journal(const char *name)
{
	long pid;

	return sscanf(name, "t%ld.", &pid) == 1 && pid == (long)getpid();
}

static int journal_replay_one(const struct keys_volume *kv, const char *name)
{
	int jfd, ret = 0;
	struct jrec r;
	struct stat st;
	uint8_t *rec = NULL;
	size_t got = 0;

	jfd = openat(j_dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (jfd < 0)
		return errno == EROFS || errno == EACCES ? 0 : -errno;
	if (fstat(jfd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)(J_MAX_DATA + J_FIXED + PATH_MAX))
		goto out;
	rec = malloc((size_t)st.st_size + 1);
	if (!rec) {
		ret = -ENOMEM;
		goto out;
	}
	if (fdio_pread(jfd, rec, (size_t)st.st_size, 0, &got) == 0 &&
	    journal_parse(rec, got, &r) == 0)
		ret = journal_apply(kv, rec, &r);
	if (ret >= 0 && journal_void(jfd) != 0)
		ret = -EIO;
out:
	free(rec);
	close(jfd);
	/* Another process's leftovers go; this process's own threads keep theirs. */
	if (ret >= 0 && !own_journal(name))
		(void)unlinkat(j_dirfd, name, 0);
	return ret;
}

int journal_replay_all(const struct keys_volume *kv)
{
	int done = 0, ret;
	struct dirent *e;
	DIR *d;

	if (j_dirfd < 0)
		return 0;
	ret = fdio_opendir(j_dirfd, &d);
	if (ret)
		return ret;
	while ((e = readdir(d)) && ret >= 0) {
		int r;

		/* Only undo files (t<pid>.<tid>); rk.* belong to fs/redo.c. */
		if (e->d_name[0] != 't')
			continue;
		r = journal_replay_one(kv, e->d_name);
		if (r < 0)
			ret = r;
		else
			done += r;
	}
	closedir(d);
	return ret < 0 ? ret : done;
}

int journal_dirfd(void)
{
	return j_dirfd;
}

void journal_close(void)
{
	if (j_fd >= 0)
		journal_thread_end((void *)(intptr_t)gettid());
	if (j_dirfd >= 0)
		close(j_dirfd);
	j_dirfd = -1;
	j_rootfd = -1;
}
