/*
 * fdio.c: the one retry loop for reading and writing whole buffers (see fdio.h).
 * off < 0 selects read()/write() at the file position.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fdio.h"

static ssize_t fdio_rw_once(int fd, void *buf, size_t len, int64_t off, int wr)
{
	if (wr)
		return off < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, (off_t)off);
	return off < 0 ? read(fd, buf, len) : pread(fd, buf, len, (off_t)off);
}

static int fdio_loop(int fd, void *buf, size_t len, int64_t off, int wr, size_t *got)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = fdio_rw_once(fd, (uint8_t *)buf + done, len - done,
					 off < 0 ? off : off + (int64_t)done, wr);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return 0;
}

int fdio_read(int fd, void *buf, size_t len, size_t *got)
{
	return fdio_loop(fd, buf, len, -1, 0, got);
}

int fdio_pread(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	if (off > INT64_MAX)
		return -EINVAL;
	return fdio_loop(fd, buf, len, (int64_t)off, 0, got);
}

int fdio_write(int fd, const void *buf, size_t len)
{
	size_t got = 0;
	int ret = fdio_loop(fd, (void *)buf, len, -1, 1, &got);

	return ret ? ret : (got == len ? 0 : -EIO);
}

int fdio_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	int ret;

	if (off > INT64_MAX)
		return -EINVAL;
	ret = fdio_loop(fd, (void *)buf, len, (int64_t)off, 1, &got);
	return ret ? ret : (got == len ? 0 : -EIO);
}

int fdio_pwritev(int fd, const struct iovec *iov, int n, uint64_t off)
{
	size_t total = 0, skip;
	ssize_t w;

	if (n < 0 || n > 8 || off > INT64_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	do
		w = pwritev(fd, iov, n, (off_t)off);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w == total)
		return 0;
	/* Short: finish buffer by buffer from where the kernel stopped. */
	skip = (size_t)w;
	for (int i = 0; i < n; i++) {
		size_t l = iov[i].iov_len;
		int ret;

		if (skip >= l) {
			skip -= l;
			off += l;
			continue;
		}
		ret = fdio_pwrite(fd, (const uint8_t *)iov[i].iov_base + skip, l - skip, off + skip);
		if (ret)
			return ret;
		off += l;
		skip = 0;
	}
	return 0;
}

int fdio_opendir(int dirfd, DIR **out)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return -errno;
	*out = fdopendir(fd);
	if (!*out) {
		int e = errno;

		close(fd);
		return -e;
	}
	return 0;
}

int fdio_replace(int dirfd, const char *tmp, const char *name, const void *buf, size_t len,
		 unsigned mode)
{
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	int ret;

	if (fd < 0)
		return -errno;
	ret = fdio_write(fd, buf, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && renameat(dirfd, tmp, dirfd, name) < 0)
		ret = -errno;
	/* The rename is durable only once the directory is synced. */
	if (!ret && syncfs(dirfd) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dirfd, tmp, 0);
	return ret;
}
