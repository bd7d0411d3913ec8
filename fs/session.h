/*
 * session.h: the mounted daemon's key session (docs/OPERATIONS.md, "Unlock
 * sessions"). The volume keys are evicted from the daemon's memory when the
 * operator runs `phifs lock`, when the `phifs unlock` session the mount came
 * from expires, or after idle_timeout seconds without any operation. While
 * evicted, every operation that needs a volume key (lookup, open, create,
 * readdir, rename, ...) fails with EACCES; handles already open keep reading
 * and writing (their per-file keys stay until closed). Keys come back from the
 * kernel keyring after `phifs unlock`.
 */
#ifndef PHIFS_SESSION_H
#define PHIFS_SESSION_H

#include "volume.h"

/* Starts the 1 Hz watcher thread. idle_s 0: no idle timeout. */
int session_start(struct volume *v, unsigned idle_s);
void session_stop(void);
/* Around every FUSE operation (fuse_ops.c op_enter/op_leave): enter returns 0
 * or -EACCES (keys evicted and not restorable); *held tells leave whether this
 * operation counted as a key user. */
int session_enter(const char *op, int *held);
void session_leave(int held);

#endif
