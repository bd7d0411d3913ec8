/*
 * node.c: namespace operations (create, mkdir, mknod, symlink, link, unlink,
 * rmdir, rename, readlink) on the backing tree, with the name rules of
 * docs/FORMAT.md §6: every name encrypted under its parent's dir id, long names
 * through side files (written before the entry, removed after it), a dir id in
 * every new directory. New objects are chowned to the caller, because the
 * daemon runs as root for allow_other volumes. It never replies to FUSE
 * (fuse_ops.c does) and never touches file contents (fileio.c does).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "block.h"
#include "fdio.h"
#include "node.h"

int node_backing_name(struct node_ctx *c, struct inode *dir, const char *name,
		      char out[NAME_MAX + 1], int *is_long, char *enc, size_t enc_cap)
{
	uint8_t dirid[NAMES_DIRID_LEN];
	int ret = inode_dirid(dir, dirid);

	if (ret)
		return ret == -ENOENT ? -EIO : ret;
	return names_to_backing(keys_names_key(c->vol->keys), dirid, name, out, is_long, enc,
				enc_cap);
}

static int symlink_plain_len(struct node_ctx *c, struct inode *i, off_t *len)
{
	char *buf = malloc(PATH_MAX);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = node_readlink(c, i, buf, PATH_MAX);
	if (!ret)
		*len = (off_t)strlen(buf);
	free(buf);
	return ret;
}

int node_fix_stat(struct node_ctx *c, struct inode *i, struct stat *st)
{
	uint64_t size = 0;

	if (S_ISREG(st->st_mode)) {
		struct fileio *fio = NULL;

		pthread_mutex_lock(&i->lock);
		fio = i->fio;
		if (fio)
			(void)fileio_size(fio, &size);
		pthread_mutex_unlock(&i->lock);
		if (!fio)
			(void)block_plain_size(c->vol->cipher, (uint64_t)st->st_size, &size);
		st->st_size = (off_t)size;
	} else if (S_ISLNK(st->st_mode)) {
		off_t len = 0;

		if (symlink_plain_len(c, i, &len) == 0)
			st->st_size = len;
	}
	return 0;
}

int node_getattr(struct node_ctx *c, struct inode *i, struct stat *st)
{
	if (fstatat(i->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return node_fix_stat(c, i, st);
}

int node_lookup(struct node_ctx *c, struct inode *dir, const char *name, struct inode **out,
		struct stat *st)
{
	char bname[NAME_MAX + 1], enc[NAMES_ENC_MAX];
	int is_long, ret;

	ret = node_backing_name(c, dir, name, bname, &is_long, enc, sizeof(enc));
	if (ret)
		return ret;
	ret = inode_lookup(c->table, dir, bname, out, st);
	if (ret)
		return ret;
	return node_fix_stat(c, *out, st);
}

/* Group of a new object: the parent's if it is setgid (BSD semantics), else the caller's. */
static gid_t new_gid(struct inode *dir, const struct node_caller *who)
{
	struct stat st;

	if (fstatat(dir->fd, "", &st, AT_EMPTY_PATH) == 0 && (st.st_mode & S_ISGID))
		return st.st_gid;
	return who->gid;
}

static int chown_new(struct inode *dir, const char *bname, const struct node_caller *who)
{
	if (fchownat(dir->fd, bname, who->uid, new_gid(dir, who), AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* Reserve a name: for long names the side file must exist before the entry. */
static int prepare_name(struct node_ctx *c, struct inode *dir, const char *name,
			char bname[NAME_MAX + 1], int *is_long)
{
	char enc[NAMES_ENC_MAX];
	int ret;

	if (c->readonly)
		return -EROFS;
	ret = node_backing_name(c, dir, name, bname, is_long, enc, sizeof(enc));
	if (ret)
		return ret;
	if (*is_long)
		ret = names_longside_write(dir->fd, bname, enc);
	return ret;
}

/* Undo prepare_name after a failed create, unless the entry exists (EEXIST). */
static void unprepare_name(struct inode *dir, const char *bname, int is_long, int err)
{
	if (is_long && err != -EEXIST)
		(void)names_longside_remove(dir->fd, bname);
}

/*
 * The new file's header is written before the file has a name: an unnamed
 * O_TMPFILE inode, linked into place (refusing an existing name, as O_EXCL)
 * once complete. A crash (kill -9) in between leaves nothing, never a listed
 * file without a header that every read would fail. A backing file system
 * without O_TMPFILE gets the header right after an O_EXCL create instead.
 */
static int create_unnamed(struct inode *dir, const struct node_caller *who, mode_t mode,
			  int *fd)
{
	*fd = openat(dir->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
	if (*fd < 0)
		return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ? 1 : -errno;
	if (fchown(*fd, who->uid, new_gid(dir, who)) < 0) {
		int ret = -errno;

		close(*fd);
		*fd = -1;
		return ret;
	}
	return 0;
}

/* Gives the O_TMPFILE inode fd its name (EEXIST if taken). AT_EMPTY_PATH
 * needs CAP_DAC_READ_SEARCH; a daemon without it links through /proc. */
static int link_unnamed(int fd, int dirfd, const char *bname)
{
	char proc[64];

	if (linkat(fd, "", dirfd, bname, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, bname, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

static int create_named(struct inode *dir, const struct node_caller *who, const char *bname,
			mode_t mode, int *fd)
{
	int ret;

	/* The daemon opens O_RDWR whatever the caller asked: blocks are read-modify-write. */
	*fd = openat(dir->fd, bname, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC,
		     mode & 07777);
	if (*fd < 0)
		return -errno;
	ret = chown_new(dir, bname, who);
	if (ret) {
		close(*fd);
		*fd = -1;
		(void)unlinkat(dir->fd, bname, 0);
	}
	return ret;
}

int node_create(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
		const char *name, mode_t mode, struct inode **out, struct stat *st,
		struct fileio **fio)
{
	char bname[NAME_MAX + 1];
	int is_long = 0, fd = -1, unnamed, ret;
	struct fileio *f = NULL;

	ret = prepare_name(c, dir, name, bname, &is_long);
	if (ret)
		return ret;
	ret = create_unnamed(dir, who, mode, &fd);   /* 1: no O_TMPFILE here */
	unnamed = ret == 0;
	if (ret == 1)
		ret = create_named(dir, who, bname, mode, &fd);
	if (ret)
		goto out;
	ret = fileio_create(fd, c->vol->keys, c->vol->cipher, &f);
	if (ret) {
		fd = -1;   /* fileio_create owns fd, also on failure */
		if (!unnamed)
			(void)unlinkat(dir->fd, bname, 0);
		goto out;
	}
	/* f owns fd from here; the descriptor stays valid until fileio_close. */
	if (unnamed)
		ret = link_unnamed(fd, dir->fd, bname);
	fd = -1;
	if (!ret)
		ret = inode_lookup(c->table, dir, bname, out, st);
	if (ret)
		goto out;
	inode_file_set(*out, f);
	*fio = f;
	f = NULL;
	ret = node_fix_stat(c, *out, st);
out:
	if (f)
		fileio_close(f);
	else if (fd >= 0)
		close(fd);
	if (ret)
		unprepare_name(dir, bname, is_long, ret);
	return ret;
}

/* A fresh reserved name for a directory being built (§6.1): never listed. */
static int mkdir_temp_name(char out[NAME_MAX + 1])
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	snprintf(out, NAME_MAX + 1, "%s%016llx", NAMES_MKDIR_PREFIX, (unsigned long long)r);
	return 0;
}

/* Puts the finished directory tmp in place as bname, refusing an existing
 * name like mkdir does (the kernel serializes namespace changes in dir, so
 * the check-then-rename fallback for file systems without RENAME_NOREPLACE
 * cannot race another phifs operation). */
static int mkdir_place(int dirfd, const char *tmp, const char *bname)
{
	if (renameat2(dirfd, tmp, dirfd, bname, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (faccessat(dirfd, bname, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	return renameat(dirfd, tmp, dirfd, bname) < 0 ? -errno : 0;
}

/*
 * The directory is built under a reserved temporary name — made 0700, its
 * dir id written, its mode and owner set — and only then renamed into
 * place: a crash (kill -9) never leaves a listed directory without its id,
 * whose entries nobody could read. A crash leaves at most an empty
 * phifs.mk.* directory, which rmdir of the parent clears and fsck counts as
 * a leftover.
 */
int node_mkdir(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
	       const char *name, mode_t mode, struct inode **out, struct stat *st)
{
	char bname[NAME_MAX + 1], tmp[NAME_MAX + 1];
	int is_long = 0, fd = -1, placed = 0, ret;

	ret = prepare_name(c, dir, name, bname, &is_long);
	if (ret)
		return ret;
	ret = mkdir_temp_name(tmp);
	if (ret)
		goto out;
	if (mkdirat(dir->fd, tmp, 0700) < 0) {
		ret = -errno;
		goto out;
	}
	fd = openat(dir->fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto undo;
	}
	ret = names_dirid_create(fd);
	if (!ret && fchmod(fd, mode & 07777) < 0)
		ret = -errno;
	if (!ret)
		ret = chown_new(dir, tmp, who);
	if (!ret)
		ret = mkdir_place(dir->fd, tmp, bname);
	if (ret)
		goto undo;
	placed = 1;
	ret = inode_lookup(c->table, dir, bname, out, st);
	if (!ret)
		goto out;
undo:
	if (fd >= 0)
		(void)unlinkat(fd, NAMES_DIRID_FILE, 0);
	(void)unlinkat(dir->fd, placed ? bname : tmp, AT_REMOVEDIR);
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		unprepare_name(dir, bname, is_long, ret);
	return ret;
}

int node_mknod(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
	       const char *name, mode_t mode, dev_t rdev, struct inode **out, struct stat *st)
{
	char bname[NAME_MAX + 1];
	int is_long = 0, ret;

	/* Regular files need a header (create); devices are refused on PHI volumes. */
	if (!S_ISFIFO(mode) && !S_ISSOCK(mode))
		return S_ISREG(mode) ? -ENOSYS : -EPERM;
	ret = prepare_name(c, dir, name, bname, &is_long);
	if (ret)
		return ret;
	if (mknodat(dir->fd, bname, mode, rdev) < 0) {
		ret = -errno;
		goto out;
	}
	ret = chown_new(dir, bname, who);
	if (!ret)
		ret = inode_lookup(c->table, dir, bname, out, st);
	if (ret)
		(void)unlinkat(dir->fd, bname, 0);
out:
	if (ret)
		unprepare_name(dir, bname, is_long, ret);
	return ret;
}

int node_symlink(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
		 const char *name, const char *target, struct inode **out, struct stat *st)
{
	char bname[NAME_MAX + 1];
	char *etarget = malloc(2 * PATH_MAX);
	int is_long = 0, ret;

	if (!etarget)
		return -ENOMEM;
	ret = names_symlink_encrypt(keys_names_key(c->vol->keys), target, etarget, 2 * PATH_MAX);
	if (ret) {
		free(etarget);
		return ret;
	}
	ret = prepare_name(c, dir, name, bname, &is_long);
	if (ret) {
		free(etarget);
		return ret;
	}
	if (symlinkat(etarget, dir->fd, bname) < 0) {
		ret = -errno;
		goto out;
	}
	ret = chown_new(dir, bname, who);
	if (!ret)
		ret = inode_lookup(c->table, dir, bname, out, st);
	if (!ret)
		ret = node_fix_stat(c, *out, st);
	if (ret)
		(void)unlinkat(dir->fd, bname, 0);
out:
	free(etarget);
	if (ret)
		unprepare_name(dir, bname, is_long, ret);
	return ret;
}

int node_link(struct node_ctx *c, struct inode *i, struct inode *dir, const char *name,
	      struct inode **out, struct stat *st)
{
	char bname[NAME_MAX + 1];
	int is_long = 0, ret;

	ret = prepare_name(c, dir, name, bname, &is_long);
	if (ret)
		return ret;
	if (linkat(i->fd, "", dir->fd, bname, AT_EMPTY_PATH) < 0) {
		ret = -errno;
		goto out;
	}
	ret = inode_lookup(c->table, dir, bname, out, st);
	if (!ret)
		ret = node_fix_stat(c, *out, st);
out:
	if (ret)
		unprepare_name(dir, bname, is_long, ret);
	return ret;
}

/* A regular file about to lose its last link by a name in dirfd (dev/ino in
 * *st, else st_nlink = 0: nothing to tell the inode table afterwards). */
static void victim_probe(int dirfd, const char *bname, struct stat *st)
{
	if (fstatat(dirfd, bname, st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st->st_mode) ||
	    st->st_nlink != 1)
		st->st_nlink = 0;
}

static void victim_gone(struct node_ctx *c, const struct stat *st)
{
	if (st->st_nlink)
		inode_unlinked(c->table, st->st_dev, st->st_ino);
}

int node_unlink(struct node_ctx *c, struct inode *dir, const char *name)
{
	char bname[NAME_MAX + 1], enc[NAMES_ENC_MAX];
	struct stat victim;
	int is_long, ret;

	if (c->readonly)
		return -EROFS;
	ret = node_backing_name(c, dir, name, bname, &is_long, enc, sizeof(enc));
	if (ret)
		return ret;
	victim_probe(dir->fd, bname, &victim);
	if (unlinkat(dir->fd, bname, 0) < 0)
		return -errno;
	if (is_long)
		(void)names_longside_remove(dir->fd, bname);
	victim_gone(c, &victim);
	return 0;
}

/* A directory a crash left half-built by node_mkdir: its dir id, then itself. */
static int remove_mkdir_leftover(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		(void)unlinkat(fd, NAMES_DIRID_FILE, 0);
		close(fd);
	}
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Remove reserved leftovers (dir id, orphaned side files, half-built
 * directories) so rmdir can succeed. */
static int clear_reserved(int dirfd)
{
	struct dirent *e;
	DIR *d;
	int ret = fdio_opendir(dirfd, &d);

	if (ret)
		return ret;
	while ((e = readdir(d))) {
		if (!names_is_reserved(e->d_name))
			continue;
		if (!strncmp(e->d_name, NAMES_MKDIR_PREFIX, sizeof(NAMES_MKDIR_PREFIX) - 1))
			ret = remove_mkdir_leftover(dirfd, e->d_name);
		else if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT)
			ret = -errno;
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

int node_rmdir(struct node_ctx *c, struct inode *dir, const char *name)
{
	char bname[NAME_MAX + 1], enc[NAMES_ENC_MAX];
	int is_long, fd = -1, ret;

	if (c->readonly)
		return -EROFS;
	ret = node_backing_name(c, dir, name, bname, &is_long, enc, sizeof(enc));
	if (ret)
		return ret;
	fd = openat(dir->fd, bname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	/* The kernel holds the victim's lock, so no entry can appear meanwhile. */
	ret = names_dir_empty(fd);
	if (!ret)
		ret = clear_reserved(fd);
	if (ret)
		goto out;
	if (unlinkat(dir->fd, bname, AT_REMOVEDIR) < 0) {
		ret = -errno;
		/* Give a failed rmdir its identity back so its names stay readable. */
		(void)names_dirid_create(fd);
		goto out;
	}
	if (is_long)
		(void)names_longside_remove(dir->fd, bname);
out:
	close(fd);
	return ret;
}

/*
 * rename over an existing directory: the backing target still holds its dir id,
 * so empty it of reserved files first (only if it has no user entries). *victim
 * stays open so a failed rename can restore the dir id.
 */
static int empty_target_dir(int dirfd, const char *bname, int *victim)
{
	int fd = openat(dirfd, bname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return 0;   /* absent or not a directory: the kernel's rules apply */
	ret = names_dir_empty(fd);
	if (!ret)
		ret = clear_reserved(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	*victim = fd;
	return 0;
}

int node_rename(struct node_ctx *c, struct inode *dir, const char *name, struct inode *newdir,
		const char *newname, unsigned int flags)
{
	char oldb[NAME_MAX + 1], newb[NAME_MAX + 1], enc[NAMES_ENC_MAX];
	int old_long, new_long = 0, victim = -1, ret;
	struct stat replaced = { .st_nlink = 0 };

	if (c->readonly)
		return -EROFS;
	ret = node_backing_name(c, dir, name, oldb, &old_long, enc, sizeof(enc));
	if (ret)
		return ret;
	ret = prepare_name(c, newdir, newname, newb, &new_long);
	if (ret)
		return ret;
	if (!(flags & RENAME_EXCHANGE)) {
		ret = empty_target_dir(newdir->fd, newb, &victim);
		if (ret)
			return ret;
		victim_probe(newdir->fd, newb, &replaced);
	}
	if (renameat2(dir->fd, oldb, newdir->fd, newb, flags) < 0) {
		ret = -errno;
		if (victim >= 0) {
			(void)names_dirid_create(victim);
			close(victim);
		}
		/* Keep a side file that still names an existing entry. */
		if (new_long && ret != -EEXIST && faccessat(newdir->fd, newb, F_OK,
							     AT_SYMLINK_NOFOLLOW) != 0)
			(void)names_longside_remove(newdir->fd, newb);
		return ret;
	}
	if (victim >= 0)
		close(victim);
	victim_gone(c, &replaced);
	/* After an exchange both names still exist; otherwise the old name is gone. */
	if (old_long && !(flags & RENAME_EXCHANGE) &&
	    !(dir == newdir && !strcmp(oldb, newb)))
		(void)names_longside_remove(dir->fd, oldb);
	return 0;
}

int node_readlink(struct node_ctx *c, struct inode *i, char *out, size_t cap)
{
	char *enc = malloc(2 * PATH_MAX);
	ssize_t n;
	int ret;

	if (!enc)
		return -ENOMEM;
	n = readlinkat(i->fd, "", enc, 2 * PATH_MAX - 1);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	enc[n] = '\0';
	ret = names_symlink_decrypt(keys_names_key(c->vol->keys), enc, out, cap);
out:
	free(enc);
	return ret;
}
