/*
 * readahead.c: see readahead.h. The mount's device number comes from
 * /proc/self/mountinfo (stat() on the mount point would call into our own,
 * not yet serving, daemon). The last entry for the mount point wins: it is the
 * mount just made, even if an older one lies beneath it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "readahead.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void readahead_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		unsigned int c;

		if (s[0] == '\\' && sscanf(s + 1, "%3o", &c) == 1 && c < 256) {
			*o++ = (char)c;
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static int readahead_find_dev(const char *mountpoint, char *dev, size_t cap)
{
	char line[8192], mnt[4096], d[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %63s %*s %4095s", d, mnt) != 2)
			continue;
		readahead_unescape(mnt);
		if (strcmp(mnt, mountpoint) == 0) {
			snprintf(dev, cap, "%s", d);
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

int readahead_set(const char *mountpoint, unsigned int kib)
{
	char dev[64], path[128], val[16];
	int fd, ret, n;

	ret = readahead_find_dev(mountpoint, dev, sizeof(dev));
	if (ret)
		return ret;
	if (strchr(dev, '/'))
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(val, sizeof(val), "%u\n", kib);
	ret = fdio_write(fd, val, (size_t)n);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}
