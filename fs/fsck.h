/* fsck.h: verifying a whole volume offline (see fsck.c). */
#ifndef PHIFS_FSCK_H
#define PHIFS_FSCK_H

#include <stdint.h>
#include "volume.h"

struct fsck_problem {
	const char *backing;         /* path under the cipher dir (ciphertext names only) */
	const char *plain;           /* plaintext path, or NULL when unknown */
	const uint8_t *file_id;      /* FORMAT_ID_LEN bytes, or NULL */
	int64_t block;               /* block number, or -1 */
	const char *what;            /* short static reason */
};

struct fsck_stats {
	uint64_t dirs, files, symlinks, others;
	uint64_t bytes;              /* plaintext bytes verified */
	uint64_t problems;
	uint64_t leftovers;          /* what a crash between two steps of §6.1/§6.3 leaves:
					orphaned side files, half-built phifs.mk.* dirs
					(harmless, never listed; not problems) */
	uint64_t replayed;           /* interrupted writes undone, rekeys finished (journal) */
	uint64_t shredded;           /* files whose key-table slot is destroyed (FORMAT.md
					§12.5): unreadable by design, not corruption */
	int mounted;                 /* a daemon holds the volume lock: its journal was left
					alone, and its in-flight writes may show as problems */
};

struct fsck_cb {
	void (*problem)(void *arg, const struct fsck_problem *p);
	void (*progress)(void *arg, const struct fsck_stats *s);   /* may be NULL */
	void *arg;
};

/* 0 when the walk completed (problems are counted in st), -errno otherwise. */
int fsck_run(struct volume *v, const struct fsck_cb *cb, struct fsck_stats *st);

#endif
