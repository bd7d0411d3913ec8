/* prewalk.h: reads a whole directory tree's metadata into the cache on
 * several threads, ahead of an incremental backup's walk (prewalk.c,
 * docs/PERFORMANCE.md "Backups"). */
#ifndef PHIFS_BACKUP_PREWALK_H
#define PHIFS_BACKUP_PREWALK_H

#include <sys/stat.h>
#include <sys/types.h>

struct prewalk;

/* Called on a walker thread for each regular file: 1 when the backup will
 * read it (then its first bytes are asked for too). path is relative to
 * the top, '/'-separated, as in the backup's tree. Must be thread-safe. */
typedef int (*prewalk_read_fn)(void *arg, const char *path, const struct stat *st);

/* Starts `threads` threads over the tree below dirfd (a dup is taken) on
 * device dev, skipping `skip` (names at the top). NULL when no thread
 * could start (the backup is the same, only slower). */
struct prewalk *prewalk_start(int dirfd, dev_t dev, unsigned threads, const char *const *skip,
			      prewalk_read_fn will_read, void *arg);
/* Stops and joins the threads; takes NULL. */
void prewalk_stop(struct prewalk *pw);

#endif
