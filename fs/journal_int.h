/*
 * journal_int.h: what journal.c (records written around tearable writes) and
 * journal_replay.c (records undone or redone at mount and by fsck) share —
 * the record layouts of docs/FORMAT.md §5.6.
 */
#ifndef PHIFS_JOURNAL_INT_H
#define PHIFS_JOURNAL_INT_H

#include <stdint.h>
#include <sys/stat.h>
#include "cipher.h"
#include "format.h"
#include "le.h"

/* PHJ1 (written by builds before PHJ2; replayed, never written):
 * "PHJ1" | u16 P | backing path (P) | file id | u64 old size | u64 off | u32 L | L | HMAC */
#define J_MAGIC1 "PHJ1"
#define J_FIXED1 (4 + 2 + FORMAT_ID_LEN + 8 + 8 + 4 + CIPHER_HMAC_LEN)
/* PHJ2: "PHJ2" | u8 kind | 3 zero | u64 inode | file id | u64 old size |
 *       u64 off | u32 L | L bytes | HMAC */
#define J_MAGIC2 "PHJ2"
#define J_HEAD2 (4 + 4 + 8 + FORMAT_ID_LEN + 8 + 8 + 4)
#define J_FIXED2 (J_HEAD2 + CIPHER_HMAC_LEN)
#define J_KIND_UNDO 0     /* L = the old bytes below the old size: put back, cut to old size */
#define J_KIND_REDO 1     /* L = the new bytes of a write inside the old size: write again */
#define J_KIND_HOLE 2     /* L = a write inside the old size over a backing hole: what is
			     not hole (journal_hole.c); undone: zeros back, saved bytes back */
#define J_MAX_DATA (4u << 20)     /* far above one write's 1 MiB + 2 slots */

/* journal_hole.c: 1 when the write [off, off + len) inside the file is over
 * a hole of at least 64 KiB, with h bytes before it and s after it to keep. */
int journal_hole_split(int fd, const struct stat *st, size_t len, uint64_t off, uint32_t *h,
		       uint32_t *s);
/* The HOLE payload (malloc'd) for that split, read from fd. */
int journal_hole_payload(int fd, uint64_t off, size_t len, uint32_t h, uint32_t s,
			 uint8_t **out, size_t *plen);
/* 0 when a HOLE payload is well formed for a record at off in a file of old_end. */
int journal_hole_check(const uint8_t *p, size_t plen, uint64_t off, uint64_t old_end);
/* Undoes a HOLE record's write in fd: the hole, then the saved bytes. */
int journal_hole_restore(int fd, uint64_t off, const uint8_t *p, size_t plen);

/* 0 when rec (n bytes, a journal file's content) parses as a PHJ1 or PHJ2
 * record; what replay checks before any key is used. For fuzzing. */
int journal_record_check(const uint8_t *rec, size_t n);

/* The cipher root journal_open was given (-1 before). */
int journal_rootfd(void);
/* Voids the record of journal file fd (its magic becomes zero). */
int journal_void(int fd);

#endif
