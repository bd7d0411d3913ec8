/*
 * audit_io.h: what one open handle read and wrote, coalesced (see audit_io.c).
 * Spec: issue 4 "Events" (per-handle summaries), docs/OPERATIONS.md "Audit".
 */
#ifndef PHIFS_AUDIT_IO_H
#define PHIFS_AUDIT_IO_H

#include <stdint.h>
#include <time.h>

/* Ranges kept per direction; past this the two closest are joined. */
#define AUDIT_IO_RANGES 32

struct audit_io_dir {
	uint64_t ops;                           /* calls */
	uint64_t bytes;                         /* bytes served or written */
	unsigned n;                             /* ranges used */
	uint64_t r[AUDIT_IO_RANGES + 1][2];     /* [offset, length], sorted, disjoint,
						 * never touching; one spare for insertion */
};

struct audit_io {
	struct audit_io_dir rd, wr;
	struct timespec first, last;            /* CLOCK_REALTIME of the first/last call */
};

/* One call of `len` bytes at `off` (len 0: counted, no range). No allocation. */
void audit_io_add(struct audit_io_dir *d, uint64_t off, uint64_t len);
/* As audit_io_add on io->rd or io->wr, with first/last time set from now. */
void audit_io_note(struct audit_io *io, int write, uint64_t off, uint64_t len,
		   const struct timespec *now);
int audit_io_empty(const struct audit_io *io);
void audit_io_reset(struct audit_io *io);

#endif
