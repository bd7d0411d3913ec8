/*
 * journal.h: the write journal (docs/FORMAT.md §5.6). Linux stops a buffered
 * write() between pages when the writer gets SIGKILL, so one pwrite of
 * several slots can land half old, half new — leaving a slot no key opens, or
 * a partial final slot that reads as a truncation attack. Before every write
 * of slot data that crosses a page boundary, the bytes it overwrites and the
 * old backing size go, MACed, to the writing thread's journal file in
 * phifs.journal/; then the write; then the record is voided. Mounting (and
 * fsck) undoes the write of any valid record left behind.
 */
#ifndef PHIFS_JOURNAL_H
#define PHIFS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"

#define JOURNAL_DIR "phifs.journal"

/* Installs the journal of the volume whose cipher root is rootfd (O_PATH ok),
 * creating JOURNAL_DIR if create is set, and takes the volume lock (an
 * exclusive flock on JOURNAL_DIR, kept until journal_close or exit), waiting
 * up to wait_s seconds for a dying daemon to let go: -EBUSY when another
 * process (a mounted daemon) still holds it. Without a call (unit tests of
 * single files) writes are not journaled. One volume per process. */
int journal_open(int rootfd, int create, int wait_s);
/* Undoes the write of every valid record of other processes (only dead ones:
 * we hold the lock; kv unlocks the files' keys), voids and removes their
 * journal files. Returns how many writes were undone, or -errno. */
int journal_replay_all(const struct keys_volume *kv);
/* The open JOURNAL_DIR (the redo records of fs/redo.c live beside the undo
 * files), or -1 when journal_open was not called or found no directory. */
int journal_dirfd(void);
/* Removes this process's journal files at a clean unmount (all void). */
void journal_close(void);

/* Writes buf at off of backing file fd (whose keys are fk), through the
 * calling thread's journal when the write could tear. 0 or -errno. */
int journal_pwrite(const struct keys_file *fk, int fd, const void *buf, size_t len,
		   uint64_t off);

#endif
