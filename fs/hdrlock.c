/*
 * hdrlock.c: the header lock (hdrlock.h) — a write lock on bytes [0, 176) of
 * the backing file through F_OFD_SETLKW.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "format.h"
#include "hdrlock.h"

static int hdrlock_set(int fd, short type, int cmd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = FORMAT_HEADER_LEN;
	while (fcntl(fd, cmd, &fl) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int hdrlock_acquire(int fd)
{
	return hdrlock_set(fd, F_WRLCK, F_OFD_SETLKW);
}

void hdrlock_release(int fd)
{
	(void)hdrlock_set(fd, F_UNLCK, F_OFD_SETLK);
}
