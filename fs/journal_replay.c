/*
 * journal_replay.c: the mount-time (and fsck) half of the write journal,
 * docs/FORMAT.md §5.6: every valid record another process left behind is
 * undone (UNDO, PHJ1) or redone (REDO), then voided and its file removed.
 * PHJ2 records name the file by inode, so the cipher tree is walked once
 * (only after a crash: records exist, or a dead process's journal files or
 * live marker); PHJ1 records (older builds) name it by backing path. The
 * same walk finishes truncations a crash interrupted (§5.5). Nothing is touched unless the file's header opens
 * under the volume keys with the record's file id and the record's HMAC
 * verifies under that file's header-MAC key. It runs under the volume lock,
 * so the writers of these records are gone.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio.h"
#include "format.h"
#include "journal.h"
#include "journal_int.h"
#include "keys.h"
#include "secmem.h"

#define J_WALK_DEPTH 256

struct jrec {
	char name[NAME_MAX + 1];        /* journal file holding it */
	char path[PATH_MAX];            /* PHJ1: backing path; PHJ2: "" */
	uint64_t ino;                   /* PHJ2 */
	int kind;
	uint8_t *rec;                   /* the whole record, owned */
	const uint8_t *id, *data, *mac;
	uint64_t old_end, off;
	size_t len, signed_len;
	int done;                       /* applied or found not to apply */
};

struct jset {
	struct jrec *r;
	size_t n, cap;
	size_t pending;                 /* PHJ2 records not yet matched to a file */
	int crashed;                    /* another process's journal files were left */
};

/* ---- parsing ------------------------------------------------------------ */

/* An UNDO of a write that began past the old end (an extension over a gap)
 * saves no old bytes: off lies beyond old_end, and the record is valid. */
static int undo_past_end(const struct jrec *r)
{
	return r->kind == J_KIND_UNDO && r->len == 0;
}

/* The tail shared by both layouts: id | old size | off | L | L bytes | MAC. */
static int parse_tail(const uint8_t *p, size_t avail, size_t before, struct jrec *r)
{
	r->id = p;
	r->old_end = le_get(p + FORMAT_ID_LEN, 8);
	r->off = le_get(p + FORMAT_ID_LEN + 8, 8);
	r->len = (size_t)le_get(p + FORMAT_ID_LEN + 16, 4);
	r->data = p + FORMAT_ID_LEN + 20;
	/* The file may be longer: an earlier, larger record's tail. */
	if (r->len > J_MAX_DATA || avail < FORMAT_ID_LEN + 20 + r->len + CIPHER_HMAC_LEN ||
	    r->off < FORMAT_HEADER_LEN || r->old_end < FORMAT_HEADER_LEN)
		return -EBADMSG;
	if (r->kind == J_KIND_HOLE ? journal_hole_check(r->data, r->len, r->off, r->old_end) != 0
				   : r->off + r->len > r->old_end && !undo_past_end(r))
		return -EBADMSG;
	r->signed_len = before + FORMAT_ID_LEN + 20 + r->len;
	r->mac = r->data + r->len;
	return 0;
}

static int parse_v1(const uint8_t *rec, size_t n, struct jrec *r)
{
	size_t pl;

	if (n < J_FIXED1)
		return -EBADMSG;
	pl = (size_t)le_get(rec + 4, 2);
	if (pl == 0 || pl >= sizeof(r->path) || n < J_FIXED1 + pl)
		return -EBADMSG;
	memcpy(r->path, rec + 6, pl);
	r->path[pl] = '\0';
	if (memchr(r->path, '\0', pl) || r->path[0] == '/' || strstr(r->path, ".."))
		return -EBADMSG;
	r->kind = J_KIND_UNDO;
	return parse_tail(rec + 6 + pl, n - 6 - pl, 6 + pl, r);
}

static int parse_v2(const uint8_t *rec, size_t n, struct jrec *r)
{
	if (n < J_FIXED2 || rec[5] || rec[6] || rec[7] ||
	    (rec[4] != J_KIND_UNDO && rec[4] != J_KIND_REDO && rec[4] != J_KIND_HOLE))
		return -EBADMSG;
	r->kind = rec[4];
	r->ino = le_get(rec + 8, 8);
	r->path[0] = '\0';
	return parse_tail(rec + 16, n - 16, 16, r);
}

static int journal_parse(const uint8_t *rec, size_t n, struct jrec *r)
{
	if (n >= 4 && memcmp(rec, J_MAGIC1, 4) == 0)
		return parse_v1(rec, n, r);
	if (n >= 4 && memcmp(rec, J_MAGIC2, 4) == 0)
		return parse_v2(rec, n, r);
	return -ENODATA;
}

/* For the fuzz harness: 0 when rec parses as a record (journal_int.h). */
int journal_record_check(const uint8_t *rec, size_t n)
{
	struct jrec r;

	memset(&r, 0, sizeof(r));
	return journal_parse(rec, n, &r);
}

/* ---- applying ----------------------------------------------------------- */

/* Puts the old bytes back and the old size (UNDO) or writes the new bytes
 * again (REDO): 1, or -errno. */
static int journal_undo_redo(int fd, const struct jrec *r)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (r->kind == J_KIND_REDO) {
		/* An overwrite never changed the size; if it differs, this is not
		 * the state the record was made for. */
		if ((uint64_t)st.st_size != r->old_end)
			return 0;
		return fdio_pwrite(fd, r->data, r->len, r->off) ? -EIO : 1;
	}
	if (r->kind == J_KIND_HOLE) {
		/* Other threads' appends may have grown the file meanwhile; the
		 * range must still be there. */
		if ((uint64_t)st.st_size < r->off + le_get(r->data, 4))
			return 0;
		return journal_hole_restore(fd, r->off, r->data, r->len) ? -EIO : 1;
	}
	if (r->len && fdio_pwrite(fd, r->data, r->len, r->off) != 0)
		return -EIO;
	if ((uint64_t)st.st_size > r->old_end && ftruncate(fd, (off_t)r->old_end) < 0)
		return -errno;
	return 1;
}

/* Applies one record to the open backing file fd if its header and the MAC
 * agree: 1 applied, 0 not this file's (or torn), -errno. */
static int journal_apply(const struct keys_volume *kv, int fd, const struct jrec *r)
{
	uint8_t hdr[FORMAT_HEADER_LEN], mac[CIPHER_HMAC_LEN];
	struct format_header h;
	struct keys_file *fk = NULL;
	size_t got = 0;
	int ret;

	ret = fdio_pread(fd, hdr, sizeof(hdr), 0, &got);
	if (!ret && got == sizeof(hdr) && keys_file_open(kv, hdr, sizeof(hdr), &h, &fk) == 0 &&
	    secmem_equal(fk->file_id, r->id, FORMAT_ID_LEN) &&
	    cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), r->rec,
			       r->signed_len, mac) == 0 &&
	    secmem_equal(mac, r->mac, CIPHER_HMAC_LEN))
		ret = journal_undo_redo(fd, r);
	else
		ret = 0;
	keys_file_free(fk);
	return ret;
}

static int apply_by_path(const struct keys_volume *kv, struct jrec *r)
{
	int fd = openat(journal_rootfd(), r->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return 0;   /* the file is gone: nothing left to complete */
	ret = journal_apply(kv, fd, r);
	close(fd);
	return ret;
}

/* ---- the walk for PHJ2 records ------------------------------------------ */

static int apply_matches(const struct keys_volume *kv, struct jset *s, int dirfd,
			 const char *name, uint64_t ino, int *applied)
{
	int fd = -1, ret = 0;

	for (size_t i = 0; i < s->n && ret >= 0; i++) {
		struct jrec *r = &s->r[i];
		int a;

		if (r->done || r->path[0] || r->ino != ino)
			continue;
		if (fd < 0)
			fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			break;
		a = journal_apply(kv, fd, r);
		if (a < 0)
			ret = a;
		if (a > 0) {
			*applied += 1;
			r->done = 1;
			s->pending--;
		}
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * §5.5: a truncate down a crash interrupted leaves TRUNC_PENDING in the
 * header; opening the file for writing finishes it. Done here, after a
 * crash, rather than at the first open: the kernel would otherwise take the
 * old size from the first stat and read the cut-off tail as zeros until its
 * attribute cache expires. 1 finished, 0 nothing pending, -errno.
 */
static int finish_truncate(const struct keys_volume *kv, int dirfd, const char *name)
{
	uint8_t hdr[FORMAT_HEADER_LEN];
	struct format_header h;
	struct fileio *f = NULL;
	size_t got = 0;
	int fd, ret;

	fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fdio_pread(fd, hdr, sizeof(hdr), 0, &got) != 0 || got != sizeof(hdr) ||
	    format_header_decode(hdr, sizeof(hdr), &h) != 0 ||
	    !(h.flags & FORMAT_HDR_TRUNC_PENDING)) {
		close(fd);
		return 0;   /* not pending, or not a header: fsck's business */
	}
	ret = fileio_open(fd, kv, 1, &f);   /* owns fd; finishes the truncation */
	fileio_close(f);
	return ret ? 0 : 1;
}

static int visit_file(const struct keys_volume *kv, struct jset *s, int dirfd,
		      const char *name, uint64_t ino, int *applied)
{
	int ret = 0;

	if (s->pending)
		ret = apply_matches(kv, s, dirfd, name, ino, applied);
	if (ret >= 0 && s->crashed)
		*applied += finish_truncate(kv, dirfd, name);
	return ret;
}

static int walk(const struct keys_volume *kv, struct jset *s, int dirfd, int depth,
		int *applied)
{
	struct dirent *e;
	DIR *d = NULL;
	int ret;

	if (depth > J_WALK_DEPTH)
		return 0;
	ret = fdio_opendir(dirfd, &d);
	if (ret)
		return ret;
	while ((s->pending || s->crashed) && ret >= 0 && (e = readdir(d))) {
		unsigned char t = e->d_type;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (depth == 0 && !strcmp(e->d_name, JOURNAL_DIR)))
			continue;
		/* st_ino, not d_ino: they differ on overlayfs. Only after a crash. */
		if (t == DT_UNKNOWN || t == DT_REG) {
			if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		}
		if (t == DT_REG) {
			ret = visit_file(kv, s, dirfd, e->d_name, (uint64_t)st.st_ino, applied);
		} else if (t == DT_DIR) {
			int sub = openat(dirfd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				ret = walk(kv, s, sub, depth + 1, applied);
				close(sub);
			}
		}
	}
	closedir(d);
	return ret;
}

/* ---- journal files ------------------------------------------------------ */

static int own_journal(const char *name)
{
	long pid;

	return sscanf(name, "t%ld.", &pid) == 1 && pid == (long)getpid();
}

/* Reads journal file `name`: a valid-looking record is added to s. */
static int collect(struct jset *s, const char *name)
{
	struct jrec r = { 0 };
	struct stat st;
	size_t got = 0;
	int jfd, ret = 0;

	if (!own_journal(name))
		s->crashed = 1;
	jfd = openat(journal_dirfd(), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (jfd < 0)
		return errno == EACCES ? 0 : -errno;
	if (fstat(jfd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)(J_MAX_DATA + J_FIXED1 + PATH_MAX) || st.st_size < 4)
		goto out;
	r.rec = malloc((size_t)st.st_size);
	if (!r.rec) {
		ret = -ENOMEM;
		goto out;
	}
	if (fdio_pread(jfd, r.rec, (size_t)st.st_size, 0, &got) != 0 ||
	    journal_parse(r.rec, got, &r) != 0)
		goto out;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct jrec *nr = realloc(s->r, cap * sizeof(*nr));

		if (!nr) {
			ret = -ENOMEM;
			goto out;
		}
		s->r = nr;
		s->cap = cap;
	}
	snprintf(r.name, sizeof(r.name), "%s", name);
	s->r[s->n++] = r;
	if (!r.path[0])
		s->pending++;
	r.rec = NULL;
out:
	free(r.rec);
	close(jfd);
	return ret;
}

/* Voids journal file `name` (applied, ignored or empty) and removes it if
 * another process's; this process's threads keep theirs. */
static int void_one(struct jset *s, const char *name)
{
	int fd = openat(journal_dirfd(), name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	int ret = 0;

	(void)s;
	if (fd >= 0) {
		ret = journal_void(fd) ? -EIO : 0;
		close(fd);
	} else if (errno != EROFS && errno != EACCES) {
		ret = -errno;
	}
	if (ret == 0 && !own_journal(name))
		(void)unlinkat(journal_dirfd(), name, 0);
	return ret;
}

/* fn on every undo file (t<pid>.<tid>; rk.* belong to fs/redo.c) until one fails. */
static int for_each_journal(struct jset *s, int (*fn)(struct jset *s, const char *name))
{
	struct dirent *e;
	DIR *d;
	int ret;

	ret = fdio_opendir(journal_dirfd(), &d);
	if (ret)
		return ret;
	while (ret == 0 && (e = readdir(d)))
		if (e->d_name[0] == 't')
			ret = fn(s, e->d_name);
	closedir(d);
	return ret;
}

int journal_replay_all(const struct keys_volume *kv)
{
	struct jset s = { 0 };
	int applied = 0, ret;

	if (journal_dirfd() < 0)
		return 0;
	ret = for_each_journal(&s, collect);
	for (size_t i = 0; ret >= 0 && i < s.n; i++) {
		if (s.r[i].path[0]) {
			int a = apply_by_path(kv, &s.r[i]);

			if (a < 0)
				ret = a;
			applied += a > 0;
		}
	}
	if (ret >= 0 && (s.pending || s.crashed))
		ret = walk(kv, &s, journal_rootfd(), 0, &applied);
	/* A record that failed to apply stays for the next mount. */
	if (ret >= 0)
		ret = for_each_journal(&s, void_one);
	for (size_t i = 0; i < s.n; i++)
		free(s.r[i].rec);
	free(s.r);
	return ret < 0 ? ret : applied;
}
