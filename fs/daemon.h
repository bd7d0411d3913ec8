/* daemon.h: running a mounted volume (see daemon.c). */
#ifndef PHIFS_DAEMON_H
#define PHIFS_DAEMON_H

#include <stddef.h>
#include "audit.h"
#include "kms.h"

struct daemon_opts {
	const char *cipherdir;
	const char *mountpoint;
	int foreground;
	int debug;               /* libfuse request trace (no names are logged by phifs) */
	int allow_other;
	int readonly;
	int writeback;           /* kernel writeback cache */
	int direct_io;
	int threads;             /* max worker threads; 1 = single-threaded loop */
	double timeout;          /* attr/entry cache seconds */
	const char *kms_override;
	struct kms_opts kms;
	const char *fuse_extra;  /* extra comma-separated libfuse mount options */
	const char *pidfile;     /* written once mounted, removed at unmount */
	int readahead_kb;        /* kernel readahead for the mount; 0 = kernel default */
	unsigned idle_timeout_s; /* evict the volume keys after this long idle; 0 = never */
	unsigned chg_interval_s; /* store open files' change records this often; 0 = 60 */
	struct audit_opts audit; /* audit=, audit_keys=, audit_mode=, ... (spool_dir checked) */
};

/* Returns 0 after a clean unmount, or -errno with err filled before mounting. */
int daemon_run(const struct daemon_opts *o, char *err, size_t errcap);

#endif
