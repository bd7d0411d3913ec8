/*
 * fdio.h: whole-buffer read/write on a file descriptor, retrying short
 * transfers and EINTR. Every module that moves bytes through an fd (fileio,
 * names, volume config, the local key file) uses these instead of its own loop.
 */
#ifndef PHIFS_FDIO_H
#define PHIFS_FDIO_H

#include <dirent.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>

/* Read until len bytes or EOF; *got says how many arrived. 0 or -errno. */
int fdio_read(int fd, void *buf, size_t len, size_t *got);
int fdio_pread(int fd, void *buf, size_t len, uint64_t off, size_t *got);
/* Write all len bytes: 0, -errno, or -EIO when the kernel accepts nothing. */
int fdio_write(int fd, const void *buf, size_t len);
int fdio_pwrite(int fd, const void *buf, size_t len, uint64_t off);
/* All of iov[0..n) at off: one pwritev, then single pwrites for whatever a
 * short transfer left (n <= 8). 0 or -errno. */
int fdio_pwritev(int fd, const struct iovec *iov, int n, uint64_t off);

/* Replaces dirfd/name with buf atomically: written to dirfd/tmp (mode),
 * fsync'd, renamed over name, and the rename made durable. 0 or -errno. */
int fdio_replace(int dirfd, const char *tmp, const char *name, const void *buf, size_t len,
		 unsigned mode);

/* A DIR stream over the directory dirfd names (any fd, O_PATH too), with
 * its own descriptor; closedir() releases it. 0 or -errno. */
int fdio_opendir(int dirfd, DIR **out);

#endif
