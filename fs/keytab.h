/*
 * keytab.h: the open key table of a volume (docs/FORMAT.md §12): slot
 * reservation and slot secrets for keys.c, a new epoch for crypto-shredding
 * (keytab_shred.c), figures for `phifs info` and fsck.
 */
#ifndef PHIFS_KEYTAB_H
#define PHIFS_KEYTAB_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "keytab_format.h"

struct keytab;

/* Slots reserved with one fsync (§12.3). */
#define KEYTAB_BATCH 256

/* What keys.c calls (arg: the struct keytab). */
extern const struct keys_keytab_ops keytab_ops;

/* The URI of the KEK that wraps TK_epoch, beside the volume's KMS (§12.4):
 * local:PATH → local:PATH.keytab.<epoch>. -EOPNOTSUPP for other providers. */
int keytab_kek_uri(const char *vol_uri, uint64_t epoch, char *out, size_t cap);
/* Opens phifs.keytab in the cipher dir rootfd (any fd naming it, O_PATH too):
 * header, TK_e from the epoch's KEK, header MAC. -ENOENT no table,
 * -EKEYREVOKED the epoch's KEK was destroyed (an old copy of the table),
 * -EBADMSG corrupt or another volume's, -EOPNOTSUPP provider. Message in err. */
int keytab_open(int rootfd, const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN],
		struct keytab **out, char *err, size_t errcap);
void keytab_close(struct keytab *kt);
/* The header of dir's phifs.keytab without any key (MAC unchecked, like
 * `phifs info` reads the config): for info, status, backup warnings. */
int keytab_peek(const char *dir, struct keytab_header *h);
/* Locking a mounted volume (session.c): the table key and its derived keys
 * are wiped; the next use loads the table again (its KEK from the KMS). */
void keytab_evict(struct keytab *kt);
/* A fresh header copy (after re-reading the file when the table changed). */
int keytab_header_get(struct keytab *kt, struct keytab_header *h);
/* 0: slot holds a secret; -EKEYREVOKED: shredded; -ERANGE: never handed out. */
int keytab_slot_state(struct keytab *kt, uint32_t slot);

/* `phifs-keys enable-shred`: a new empty table at epoch 1 (its KEK created).
 * -EEXIST when one exists. */
int keytab_create(int rootfd, const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN],
		  char *err, size_t errcap);

/* enable-shred (keytab_enable.c): the table at epoch 1, then the KEYTAB flag
 * in v's config. -EALREADY when enabled, -EOPNOTSUPP passphrase volume. */
struct volume;
int keytab_enable(struct volume *v, const char *kms_override, char *err, size_t errcap);

/* Crypto-shredding (§12.4, keytab_shred.c): zeroes slots[0..n) in a new
 * table sealed under a fresh TK_{e+1} wrapped by a new KEK, puts it in place
 * atomically, then destroys the KEK of every older epoch. Idempotent: with
 * nothing left to zero it only finishes the destruction. Takes the flock. */
struct keytab_shred_result {
	uint64_t old_epoch, new_epoch;  /* equal when no new epoch was needed */
	uint32_t newly_destroyed;       /* slots zeroed by this call */
	unsigned int keks_destroyed;    /* older epochs' KEKs destroyed by this call */
};
int keytab_shred(int rootfd, const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN],
		 const uint32_t *slots, size_t n, struct keytab_shred_result *r, char *err,
		 size_t errcap);

/* A kill -9 when PHIFS_SHRED_TEST_KILL names this point (tests/sh/shred.sh). */
void keytab_test_kill(const char *point);

/* Internal to keytab*.c: the flock of phifs.keytab.lock serialising rewrites.
 * 0 with *lockfd open (keytab_unlock drops it), or with *lockfd -1 for a
 * shared lock in a read-only cipher dir (no writer to wait for); -errno. */
int keytab_lock(int rootfd, int exclusive, int *lockfd);
void keytab_unlock(int lockfd);

#endif
