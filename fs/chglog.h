/*
 * chglog.h: the daemon's change tracking for one open regular file
 * (docs/FORMAT.md §7.1, chglog.c). fileio*.c call these under the file's
 * exclusive lock: chglog_touch before any change to the backing file,
 * chglog_store at fsync and at the last close, chglog_store_now from the
 * periodic store of files held open (chglog_tick.c).
 */
#ifndef PHIFS_CHGLOG_H
#define PHIFS_CHGLOG_H

#include <stdint.h>

#include "chglog_rec.h"

struct chglog;

/* NULL on allocation failure: the file is then simply not tracked. */
struct chglog *chglog_new(void);
void chglog_free(struct chglog *c);
/* Before the slots of plaintext blocks [first, last] of fd change (first >
 * last: only the header or the size). Marks the backing file "being
 * written" on the first change of a generation. 0 or -errno: a caller must
 * not write when it fails (the record could vouch for bytes it did not see). */
int chglog_touch(struct chglog *c, int fd, uint64_t first, uint64_t last);
/* Every block changes and continuity is lost (a rekey): the next store
 * starts a new lineage, so no reader trusts older generations. */
int chglog_touch_all(struct chglog *c, int fd);
/* Ends the generation: records the changed regions with the backing file's
 * mtime and size. Failures leave the file marked "being written" (readers
 * read it whole) and are not errors of the caller's operation. */
void chglog_store(struct chglog *c, int fd, uint64_t nblocks);
/* The same for the periodic store (chglog_tick.c): never sleeps; -EAGAIN
 * when the coarse clock has not yet passed the file's mtime (try again
 * later), 0 otherwise (stored, nothing to store, or a failure that leaves
 * the record WRITING as chglog_store does). */
int chglog_store_now(struct chglog *c, int fd, uint64_t nblocks);

/* A header rewritten by a tool (phifs-keys re-wrapping, rewrap.c), the
 * blocks untouched, while holding the header lock (hdrlock.h) across both
 * calls and the write: prepare before the write returns the record when it
 * vouches for the file as it is (else NULL); commit after it, with written,
 * appends a generation that changed no region and names the new mtime, so a
 * backup reads only the header (FORMAT.md §7.1 rule 6). commit frees r and
 * takes NULL. Best effort: a failure leaves a record that no longer matches
 * the file, which readers do not trust. */
struct chglog_rec *chglog_hdr_prepare(int fd);
void chglog_hdr_commit(int fd, struct chglog_rec *r, int written);

#endif
