/*
 * redo.h: the rekey redo record (docs/FORMAT.md §5.7). A rekey writes a
 * complete re-encrypted copy of a file into phifs.journal/, makes it durable,
 * then a record saying "this copy replaces that file"; only then does it copy
 * the new bytes over the original in place. A crash during that copy leaves a
 * file that is neither old nor new: mounting (and fsck) finishes the copy
 * from the record. A crash before the record leaves the original untouched.
 */
#ifndef PHIFS_REDO_H
#define PHIFS_REDO_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"
#include "keys.h"

#define REDO_MAGIC "PHR1"
/* magic | file id | u64 backing length of the copy | HMAC-SHA256 */
#define REDO_REC_LEN (4 + FORMAT_ID_LEN + 8 + 32)
/* "rk." + 32 hex digits + ".orig" + NUL, with room to spare. */
#define REDO_NAME_MAX 48

/* The three journal entries of one rekey, by suffix. */
enum redo_part { REDO_COPY, REDO_LINK, REDO_RECORD };

/* phifs.journal/ name of a part: rk.<hex id>.new, .orig (a hard link to the
 * original backing file, immune to renames), .redo. */
void redo_name(const uint8_t id[FORMAT_ID_LEN], enum redo_part part, char out[REDO_NAME_MAX]);

/* Encode and check a record. fk: the keys of the copy (its header-MAC key
 * signs the record). Parse gives -ENODATA (not a record), -EBADMSG (torn or
 * forged: the in-place copy never started). */
int redo_encode(const struct keys_file *fk, uint64_t copy_len, uint8_t out[REDO_REC_LEN]);
int redo_parse(const uint8_t *rec, size_t n, const struct keys_file *fk, uint64_t *copy_len);

/* Step 2: the record, written and fsynced in dirfd. */
int redo_record_write(int dirfd, const struct keys_file *fk, uint64_t copy_len);
/* Step 3: the copy's bytes over dst in place (its holes punched), cut to
 * len, fsynced; under the header lock. Idempotent. */
int redo_apply(int dst, int src, uint64_t len);
/* Step 4: the record goes first, then the link and the copy. */
int redo_clear(int dirfd, const uint8_t id[FORMAT_ID_LEN]);

/* At mount and before fsck walks, holding the volume lock (after
 * journal_replay_all): finishes every rekey whose record is valid, discards
 * the rest. Returns how many were finished, or -errno (a record whose copy's
 * key is not unlocked: nothing is discarded). */
int redo_replay_all(const struct keys_volume *kv);

#endif
