/*
 * hdrlock.h: the lock on a backing file's 176-byte header, shared by the
 * daemon (fileio_header_store) and phifs-keys (re-wrapping headers of a
 * mounted volume), so a rotation's read-modify-write of a header never
 * overwrites a flag change the daemon made meanwhile (TRUNC_PENDING is a
 * crash-recovery intent). An open-file-description lock (F_OFD_SETLKW): held
 * per open file, released by the kernel when the holder dies.
 */
#ifndef PHIFS_HDRLOCK_H
#define PHIFS_HDRLOCK_H

/* 0 or -errno. Blocks until the other side lets go. */
int hdrlock_acquire(int fd);
void hdrlock_release(int fd);

#endif
