/*
 * p11_keys.h: the versions of one KEK on a PKCS#11 token (p11_keys.c).
 * A KEK is every AES secret key with the configured CKA_LABEL; its version
 * is its CKA_ID read as a big-endian number (empty: 0), and the newest
 * active version is the one new wraps use (docs/FORMAT.md §8).
 */
#ifndef PHIFS_P11_KEYS_H
#define PHIFS_P11_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "p11_blob.h"
#include "p11_module.h"

#define P11_KEYS_MAX 16   /* versions of one label we look at */

struct p11_key {
	CK_OBJECT_HANDLE h;        /* valid while the session is open */
	uint8_t id[P11_ID_MAX];    /* CKA_ID */
	size_t id_len;
	uint64_t version;
	int active;                /* CKA_ENCRYPT or CKA_WRAP still true */
	int64_t created;           /* CKA_START_DATE as Unix seconds; 0 when unset */
};

/* The highest active version: 0, -ENOKEY when the label has none, -EINVAL
 * when two keys share the highest version (ambiguous). */
int p11_keys_current(struct p11 *p, const char *label, struct p11_key *out);
/* The version with exactly this CKA_ID: 0 or -ENOKEY. */
int p11_keys_by_id(struct p11 *p, const char *label, const uint8_t *id, size_t id_len,
		   struct p11_key *out);
/* The highest version of any state, or -ENOKEY. */
int p11_keys_newest(struct p11 *p, const char *label, uint64_t *version);
/* A new non-extractable AES-256 token key with CKA_ID of `version`. */
int p11_keys_generate(struct p11 *p, const char *label, uint64_t version, struct p11_key *out);
/* CKA_ENCRYPT and CKA_WRAP false: no new wraps, old blobs still unwrap. */
int p11_keys_retire(struct p11 *p, const struct p11_key *k);
/* C_DestroyObject: the key is gone from the token (crypto-shredding). */
int p11_keys_destroy(struct p11 *p, const struct p11_key *k);

#endif
