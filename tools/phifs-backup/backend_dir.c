/*
 * backend_dir.c: a backup repository in a local or NFS directory (backend.h).
 * An object "a/b" is the file DIR/a/b. A put is atomic: a temp file in the
 * object's directory, written, fsynced, renamed over the name, and the
 * directory fsynced, so a reader (or a crash) sees the whole object or none.
 * Temp files are named ".tmp.<random>" and never listed; a killed put leaves
 * one behind, which `prune` removes. It does not know what objects mean
 * (docs/BACKUP_FORMAT.md §2). A page-aligned buffer (the packer's) is
 * written past the page cache (O_DIRECT) where the file system allows: a
 * backup writes each pack once and does not read it back, and the copy
 * into the cache cost a fifth of a backup's CPU (docs/PERFORMANCE.md
 * "Backups").
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cipher.h"
#include "fdio.h"

#define DIR_MAX_OBJECT ((size_t)1 << 32)  /* bytes: larger than any object we write */
#define DIR_DIRECT_ALIGN 4096             /* bytes: buffer, offset and length of a direct write */

struct backend_dir {
	struct backend b;
	int dirfd;            /* O_DIRECTORY on the repository root */
};

static struct backend_dir *bd(struct backend *b)
{
	return (struct backend_dir *)b;
}

/* Object names are relative, without "." / ".." components or odd bytes. */
static int name_ok(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/')
		return 0;
	for (; *p; p++) {
		if (!(*p == '/' || *p == '.' || *p == '_' || *p == '-' ||
		      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			return 0;
		if ((p == name || p[-1] == '/') && *p == '.')
			return 0;
		if (*p == '/' && (p[1] == '/' || p[1] == '\0'))
			return 0;
	}
	return 1;
}

/* mkdir -p of name's parent directories below the root. */
static int make_parents(int dirfd, const char *name)
{
	char path[512];
	size_t n = strlen(name);

	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, name, n + 1);
	for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, path, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

static int fsync_parent(int dirfd, const char *name)
{
	char path[512];
	const char *slash = strrchr(name, '/');
	int fd, ret = 0;

	if (!slash) {
		snprintf(path, sizeof(path), ".");
	} else {
		if ((size_t)(slash - name) >= sizeof(path))
			return -ENAMETOOLONG;
		snprintf(path, sizeof(path), "%.*s", (int)(slash - name), name);
	}
	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

/* The aligned prefix of an aligned buffer, with O_DIRECT when the file
 * system takes it; *done bytes written (0 when it did not). The caller
 * writes the rest through the cache. 0 or -errno. */
static int write_direct(int fd, const uint8_t *buf, size_t len, size_t *done)
{
	size_t want = len / DIR_DIRECT_ALIGN * DIR_DIRECT_ALIGN;
	int flags = fcntl(fd, F_GETFL), ret = 0;
	ssize_t n;

	*done = 0;
	if ((uintptr_t)buf % DIR_DIRECT_ALIGN || !want || flags < 0 ||
	    fcntl(fd, F_SETFL, flags | O_DIRECT) < 0)
		return 0;
	while (*done < want) {
		n = write(fd, buf + *done, want - *done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EINVAL)   /* EINVAL: not here; the cache takes it all */
			ret = -errno;
		if (n <= 0)
			break;
		*done += (size_t)n;
		if (n % DIR_DIRECT_ALIGN)
			break;
	}
	if (fcntl(fd, F_SETFL, flags) < 0 && !ret)
		ret = -errno;
	return ret;
}

static int dir_put(struct backend *b, const char *name, const void *buf, size_t len)
{
	int dirfd = bd(b)->dirfd, fd = -1, ret;
	char tmp[600], hex[17];
	size_t done;
	uint8_t rnd[8];
	const char *slash = strrchr(name, '/');

	if (!name_ok(name))
		return -EINVAL;
	ret = make_parents(dirfd, name);
	if (ret)
		return ret;
	cipher_random(rnd, sizeof(rnd));
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(tmp, sizeof(tmp), "%.*s.tmp.%s", slash ? (int)(slash - name + 1) : 0, name, hex);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = write_direct(fd, buf, len, &done);
	if (!ret)
		ret = fdio_write(fd, (const uint8_t *)buf + done, len - done);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dirfd, tmp, 0);
	else
		ret = fsync_parent(dirfd, name);
	return ret;
}

static int open_obj(struct backend *b, const char *name, int *fd)
{
	if (!name_ok(name))
		return -EINVAL;
	*fd = openat(bd(b)->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

static int dir_get(struct backend *b, const char *name, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;
	int fd = -1, ret;

	*buf = NULL;
	*len = 0;
	ret = open_obj(b, name, &fd);
	if (ret)
		return ret;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size >= DIR_MAX_OBJECT) {
		ret = -EIO;
		goto out;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fdio_read(fd, p, (size_t)st.st_size, &got);
	if (!ret && got != (size_t)st.st_size)
		ret = -EIO;
	if (!ret) {
		*buf = p;
		*len = got;
		p = NULL;
	}
out:
	free(p);
	close(fd);
	return ret;
}

static int dir_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
			 uint8_t *out)
{
	size_t got = 0;
	int fd = -1, ret;

	ret = open_obj(b, name, &fd);
	if (ret)
		return ret;
	ret = fdio_pread(fd, out, len, off, &got);
	if (!ret && got != len)
		ret = -EIO;
	close(fd);
	return ret;
}

static int dir_stat(struct backend *b, const char *name, uint64_t *size)
{
	struct stat st;

	if (!name_ok(name))
		return -EINVAL;
	if (fstatat(bd(b)->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*size = (uint64_t)st.st_size;
	return 0;
}

struct walk {
	const char *prefix;
	int (*cb)(void *arg, const char *name, uint64_t size);
	void *arg;
};

/* Lists directory `rel` ("" = root) recursively, objects matching the prefix. */
static int walk_dir(int dirfd, const char *rel, struct walk *w)
{
	DIR *d = NULL;
	struct dirent *e;
	char path[512];
	int fd, ret = 0;

	fd = openat(dirfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (!ret && (errno = 0, e = readdir(d)) != NULL) {
		struct stat st;
		size_t plen = strlen(w->prefix);

		if (e->d_name[0] == '.')
			continue;          /* ".", "..", and ".tmp.*" of unfinished puts */
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		/* prune subtrees that cannot match the prefix */
		if (strncmp(path, w->prefix, strlen(path) < plen ? strlen(path) : plen) != 0)
			continue;
		if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			ret = walk_dir(dirfd, path, w);
		else if (S_ISREG(st.st_mode) && strncmp(path, w->prefix, plen) == 0)
			ret = w->cb(w->arg, path, (uint64_t)st.st_size);
	}
	if (!ret && errno)
		ret = -errno;
	closedir(d);
	return ret;
}

static int dir_list(struct backend *b, const char *prefix,
		    int (*cb)(void *arg, const char *name, uint64_t size), void *arg)
{
	struct walk w = { prefix, cb, arg };

	return walk_dir(bd(b)->dirfd, "", &w);
}

static int dir_del(struct backend *b, const char *name)
{
	if (!name_ok(name))
		return -EINVAL;
	if (unlinkat(bd(b)->dirfd, name, 0) < 0)
		return -errno;
	return fsync_parent(bd(b)->dirfd, name);
}

static void dir_close(struct backend *b)
{
	if (!b)
		return;
	if (bd(b)->dirfd >= 0)
		close(bd(b)->dirfd);
	free(b->url);
	free(b);
}

static const struct backend_ops dir_ops = {
	dir_put, dir_get, dir_get_range, dir_stat, dir_list, dir_del, dir_close,
};

int backend_dir_open(const char *path, int create, struct backend **out)
{
	struct backend_dir *d;

	*out = NULL;
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->b.ops = &dir_ops;
	d->b.concurrency = 4;        /* puts share nothing but the root fd */
	d->b.url = strdup(path);
	d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0 || !d->b.url) {
		int ret = d->b.url ? -errno : -ENOMEM;

		dir_close(&d->b);
		return ret;
	}
	*out = &d->b;
	return 0;
}
