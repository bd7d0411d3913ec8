/*
 * readahead.h: raising the kernel's readahead window for our own mount. FUSE
 * caps it at the bdi default (128 KiB), so sequential reads arrive as 128 KiB
 * requests however large max_read is; 1 MiB requests amortise the per-request
 * cost of the daemon (measured in docs/PERFORMANCE.md).
 */
#ifndef PHIFS_READAHEAD_H
#define PHIFS_READAHEAD_H

/* Sets /sys/class/bdi/<dev>/read_ahead_kb of the mount at mountpoint
 * (absolute path, as in /proc/self/mountinfo). Never touches the mount
 * itself, so it is safe before the session loop runs. 0 or -errno. */
int readahead_set(const char *mountpoint, unsigned int kib);

#endif
