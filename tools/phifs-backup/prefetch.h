/* prefetch.h: asks the kernel for the next files of a directory before a
 * backup reads them (prefetch.c, docs/PERFORMANCE.md "Backups"). */
#ifndef PHIFS_BACKUP_PREFETCH_H
#define PHIFS_BACKUP_PREFETCH_H

#include <stddef.h>
#include <sys/types.h>

struct prefetch;

/* Starts a thread over names[0..n) of dirfd (which, and names, must stay
 * valid until prefetch_stop): regular files on device dev get their inode
 * and first bytes read in, at most PREFETCH_AHEAD names past the caller's.
 * NULL when there is nothing to do or no thread (the backup is the same,
 * only slower). */
struct prefetch *prefetch_start(int dirfd, char *const *names, size_t n, dev_t dev);
/* The caller has reached names[i]. */
void prefetch_at(struct prefetch *pf, size_t i);
/* Stops and joins the thread; takes NULL. */
void prefetch_stop(struct prefetch *pf);
/* Asks for the first bytes of the file name in dirfd (a regular file: the
 * caller has seen its stat), without waiting for them. */
void prefetch_file(int dirfd, const char *name);

#endif
