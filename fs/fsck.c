/*
 * fsck.c: walks a cipher directory with the volume's keys and checks every
 * promise of docs/FORMAT.md: each directory has its id, each name decrypts,
 * long names have their side files, each file header authenticates and every
 * block opens (fileio_verify), each symlink target decrypts; orphaned side
 * files, half-built directories and empty directories without an id are
 * counted as crash leftovers. It only reads — except that, like a mount, it first
 * undoes writes a crash interrupted (journal.c); repairs are separate.
 * Problems are reported with backing (ciphertext) paths; plaintext paths are
 * passed too, for callers that were asked to show them. A file with several
 * hard links is verified (and reported) once.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "fileio.h"
#include "fsck.h"
#include "journal.h"
#include "redo.h"
#include "names.h"

struct walk {
	struct volume *v;
	const struct fsck_cb *cb;
	struct fsck_stats *st;
	char backing[PATH_MAX];
	char plain[PATH_MAX];
	const uint8_t *cur_id;
	void *linked;                /* tsearch tree of inode numbers with nlink > 1 */
};

static int ino_cmp(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

	return x < y ? -1 : x > y;
}

/* 1 if this multiply-linked inode was already verified under another name. */
static int seen_link(struct walk *w, const struct stat *st)
{
	ino_t *key, **found;

	if (st->st_nlink < 2)
		return 0;
	key = malloc(sizeof(*key));
	if (!key)
		return 0;   /* verify it again rather than skip it */
	*key = st->st_ino;
	found = tsearch(key, &w->linked, ino_cmp);
	if (found && *found != key) {
		free(key);
		return 1;
	}
	if (!found)
		free(key);
	return 0;
}

static void problem(struct walk *w, const uint8_t *id, int64_t block, const char *what)
{
	struct fsck_problem p = { w->backing, w->plain[0] ? w->plain : "/", id, block, what };

	w->st->problems++;
	if (w->cb->problem)
		w->cb->problem(w->cb->arg, &p);
}

static void block_problem(void *arg, uint64_t blockno, const char *what)
{
	struct walk *w = arg;

	problem(w, w->cur_id, (int64_t)blockno, what);
}

/* Push a path component; returns the old lengths for pop. */
static int push(struct walk *w, const char *bname, const char *pname, size_t *bl, size_t *pl)
{
	*bl = strlen(w->backing);
	*pl = strlen(w->plain);
	if (*bl + strlen(bname) + 2 > sizeof(w->backing) ||
	    *pl + strlen(pname) + 2 > sizeof(w->plain))
		return -ENAMETOOLONG;
	snprintf(w->backing + *bl, sizeof(w->backing) - *bl, "/%s", bname);
	snprintf(w->plain + *pl, sizeof(w->plain) - *pl, "/%s", pname);
	return 0;
}

static void pop(struct walk *w, size_t bl, size_t pl)
{
	w->backing[bl] = '\0';
	w->plain[pl] = '\0';
}

static void check_file(struct walk *w, int dirfd, const char *bname)
{
	struct fileio *f = NULL;
	uint64_t size = 0;
	int fd, ret;

	w->st->files++;
	fd = openat(dirfd, bname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		problem(w, NULL, -1, "cannot open backing file");
		return;
	}
	ret = fileio_open(fd, w->v->keys, 0, &f);
	if (ret == -EKEYREVOKED) {
		w->st->shredded++;     /* §12.5: crypto-shredded (e.g. put back from a backup) */
		return;
	}
	if (ret) {
		problem(w, NULL, -1, ret == -ENOKEY ? "wrapped under a key version that is not unlocked"
						    : "header does not authenticate");
		return;
	}
	w->cur_id = fileio_file_id(f);
	ret = fileio_verify(f, block_problem, w);
	if (ret < 0)
		problem(w, w->cur_id, -1, "could not be verified");
	if (fileio_size(f, &size) == 0)
		w->st->bytes += size;
	w->cur_id = NULL;
	fileio_close(f);
}

static void check_symlink(struct walk *w, int dirfd, const char *bname)
{
	char *enc = malloc(2 * PATH_MAX), *plain = malloc(PATH_MAX);
	ssize_t n;

	w->st->symlinks++;
	if (!enc || !plain) {
		problem(w, NULL, -1, "out of memory");
		goto out;
	}
	n = readlinkat(dirfd, bname, enc, 2 * PATH_MAX - 1);
	if (n < 0) {
		problem(w, NULL, -1, "cannot read symlink");
		goto out;
	}
	enc[n] = '\0';
	if (names_symlink_decrypt(keys_names_key(w->v->keys), enc, plain, PATH_MAX))
		problem(w, NULL, -1, "symlink target does not decrypt");
out:
	free(enc);
	free(plain);
}

static int walk_dir(struct walk *w, int dirfd);

static void check_entry(struct walk *w, int dirfd, const uint8_t dirid[NAMES_DIRID_LEN],
			const char *bname)
{
	char pname[NAME_MAX + 1];
	struct stat st;
	size_t bl, pl;
	int ret, sub;

	ret = names_from_backing(keys_names_key(w->v->keys), dirfd, dirid, bname, pname,
				 sizeof(pname));
	if (ret == -ENOENT && !names_is_long(bname))
		return;   /* reserved entry; side files are checked separately */
	if (ret)
		snprintf(pname, sizeof(pname), "?%s", "undecryptable");
	if (push(w, bname, pname, &bl, &pl))
		return;
	if (ret) {
		problem(w, NULL, -1, ret == -ENOENT ? "long name has no side file"
						    : "name does not decrypt");
		goto out;
	}
	if (fstatat(dirfd, bname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		problem(w, NULL, -1, "cannot stat");
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		sub = openat(dirfd, bname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			problem(w, NULL, -1, "cannot open directory");
			goto out;
		}
		(void)walk_dir(w, sub);
		close(sub);
	} else if (S_ISREG(st.st_mode)) {
		if (!seen_link(w, &st))
			check_file(w, dirfd, bname);
	} else if (S_ISLNK(st.st_mode)) {
		check_symlink(w, dirfd, bname);
	} else {
		w->st->others++;
	}
out:
	pop(w, bl, pl);
	if (w->cb->progress)
		w->cb->progress(w->cb->arg, w->st);
}

/* Crash leftovers (§6.1, §6.3): a phifs.ln.<h>.name side file whose entry
 * was never made or is gone, a phifs.mk.* directory that was never renamed
 * into place. Both are reserved (never listed) and cleared by rmdir of
 * their directory: counted, not problems. */
static void check_leftover(struct walk *w, int dirfd, const char *bname)
{
	char entry[NAME_MAX + 1];
	size_t len = strlen(bname), sl = strlen(NAMES_LONG_SUFFIX);

	if (!strncmp(bname, NAMES_MKDIR_PREFIX, strlen(NAMES_MKDIR_PREFIX))) {
		w->st->leftovers++;
		return;
	}
	if (strncmp(bname, NAMES_LONG_PREFIX, strlen(NAMES_LONG_PREFIX)) || len <= sl ||
	    strcmp(bname + len - sl, NAMES_LONG_SUFFIX))
		return;
	snprintf(entry, sizeof(entry), "%.*s", (int)(len - sl), bname);
	if (faccessat(dirfd, entry, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		w->st->leftovers++;
}

static int walk_dir(struct walk *w, int dirfd)
{
	uint8_t dirid[NAMES_DIRID_LEN];
	struct dirent *e;
	DIR *d;
	int ret;

	w->st->dirs++;
	ret = names_dirid_read(dirfd, dirid);
	if (ret == -ENOENT && names_dir_empty(dirfd) == 0) {
		w->st->leftovers++;   /* healed by the daemon on first use (names_dirid_heal) */
		return 0;
	}
	if (ret) {
		problem(w, NULL, -1, "directory id missing or unreadable");
		return 0;
	}
	ret = fdio_opendir(dirfd, &d);
	if (ret)
		return ret;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		check_leftover(w, dirfd, e->d_name);
		check_entry(w, dirfd, dirid, e->d_name);
	}
	closedir(d);
	return 0;
}

/* The undo journal, then interrupted rekeys (§5.6, §5.7): how many of each. */
static int replay_journals(struct volume *v)
{
	int undone = journal_replay_all(v->keys), redone;

	if (undone < 0)
		return undone;
	redone = redo_replay_all(v->keys);
	return redone < 0 ? redone : undone + redone;
}

int fsck_run(struct volume *v, const struct fsck_cb *cb, struct fsck_stats *st)
{
	struct walk *w = calloc(1, sizeof(*w));
	int fd, ret;

	if (!w)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	w->v = v;
	w->cb = cb;
	w->st = st;
	/* Undo writes a crash interrupted, as a mount would (like e2fsck
	 * replaying ext4's journal): verify what the volume will read back. */
	ret = journal_open(v->rootfd, 0, 0);
	if (ret == -EBUSY)
		st->mounted = 1;   /* a daemon owns the journal: verify what is there */
	else if (!ret)
		ret = replay_journals(v);
	if (ret < 0 && ret != -EBUSY)
		goto out;
	st->replayed = ret > 0 ? (uint64_t)ret : 0;
	fd = openat(v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = walk_dir(w, fd);
	close(fd);
out:
	journal_close();
	tdestroy(w->linked, free);
	free(w);
	return ret;
}
