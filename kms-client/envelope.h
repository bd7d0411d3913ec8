/*
 * envelope.h: nonce(12) ‖ AES-256-GCM ct ‖ tag(16) under a 32-byte KEK, the
 * sealed part shared by the local and passphrase blobs (docs/FORMAT.md §8).
 */
#ifndef PHIFS_KMS_ENVELOPE_H
#define PHIFS_KMS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include "cipher.h"

#define ENVELOPE_OVERHEAD (CIPHER_GCM_NONCE_LEN + CIPHER_GCM_TAG_LEN)

/* out: len + ENVELOPE_OVERHEAD bytes. 0 or -EIO. */
int envelope_seal(const uint8_t kek[CIPHER_KEY_LEN], const void *aad, size_t aad_len,
		  const uint8_t *secret, size_t len, uint8_t *out);
/* in: len + ENVELOPE_OVERHEAD bytes. 0, -EKEYREJECTED (wrong KEK, AAD or
 * tampered; secret wiped) or -EIO. */
int envelope_open(const uint8_t kek[CIPHER_KEY_LEN], const void *aad, size_t aad_len,
		  const uint8_t *in, uint8_t *secret, size_t len);

#endif
