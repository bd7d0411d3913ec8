/* repo_lock.h: the two locks of a repository (repo_lock.c,
 * docs/BACKUP_FORMAT.md §10.1). */
#ifndef PHIFS_BACKUP_REPO_LOCK_H
#define PHIFS_BACKUP_REPO_LOCK_H

#include <stdint.h>

#include "backend.h"

#define REPO_LOCK_STALE 1800      /* seconds without a refresh */
#define REPO_LOCK_REFRESH 300     /* seconds between refreshes */

struct repo_lock;

/* Takes the local flock and writes a lock object; -EAGAIN when another job
 * holds a conflicting lock (here or in the repository). */
int repo_lock_take(struct backend *be, const char *url, int exclusive, struct repo_lock **out);
/* Rewrites the lock object when REPO_LOCK_REFRESH has passed (long runs). */
int repo_lock_refresh(struct repo_lock *l);
void repo_lock_release(struct repo_lock *l);

#endif
